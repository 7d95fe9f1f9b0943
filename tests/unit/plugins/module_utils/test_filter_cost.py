# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The cost model on synthetic table sizes: the request plan a filter gets (fit), the
share of matches a flush deletes by key, and the path a flush starts on."""

from __future__ import annotations

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._filter import cost
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import (
    compile_filter)


class Table:
    """What fit reads of a client: the namespace's entry count and the hash buckets."""

    def __init__(self, entries, buckets):
        self.entries, self._buckets = entries, buckets

    def global_counts(self):
        return self.entries, 262144

    def buckets(self):
        return self._buckets


@pytest.mark.parametrize('params, entries, buckets, plan', [
    # a /30: 4 exact-address requests on a big table, one request on a small one
    ({'orig_src': '192.0.2.4/30'}, 250000, 262144, 4),
    ({'orig_src': '192.0.2.4/30'}, 10000, 262144, 1),
    ({'orig_src': '192.0.2.4/30'}, 10000, 16384, 4),   # a small hash table: cheap walks
    # two protocols: two requests, or one with the protocols checked here
    ({'family': 'ipv4', 'proto': ['tcp', 'udp']}, 250000, 262144, 2),
    ({'family': 'ipv4', 'proto': ['tcp', 'udp']}, 0, 262144, 1),
    # one request stays one request whatever the table
    ({'orig_src': '192.0.2.4'}, 5, 262144, 1),
    # a /28 (16 addresses) is beyond MAX_KERNEL_REQUESTS: one request from the start
    ({'orig_src': '192.0.2.0/28'}, 250000, 262144, 1),
])
def test_fit_request_plan(params, entries, buckets, plan):
    cfilter = cost.fit(compile_filter(params), Table(entries, buckets))
    assert len(cfilter.requests()) == plan
    # the single-request form matches what the whole filter matches
    assert cfilter.matches({'family': 'ipv4', 'proto': 'tcp', 'proto_num': 6,
                            'orig': {'src': '192.0.2.4', 'dst': '203.0.113.1',
                                     'sport': 1, 'dport': 2},
                            'reply': {'src': '203.0.113.1', 'dst': '192.0.2.4',
                                      'sport': 2, 'dport': 1}})


def test_fit_leaves_no_filter_alone():
    assert cost.fit(None, Table(10, 10)) is None


@pytest.mark.parametrize('entries, limit', [
    (0, cost.DELETE_BY_KEYS_MIN), (5000, cost.DELETE_BY_KEYS_MIN),
    (250000, 25000), (1000000, 100000)])
def test_delete_keys_limit(entries, limit):
    assert cost.delete_keys_limit(entries) == limit


@pytest.mark.parametrize('method, all_, complete, max_delete, release, path', [
    ('auto', True, False, None, (6, 12), 'kernel_flush_all'),
    ('auto', False, True, None, (6, 12), 'kernel_filtered_flush'),
    ('auto', False, True, None, (6, 1), 'dump_delete'),       # old kernel: never trusted
    ('kernel', False, True, None, (6, 1), 'kernel_filtered_flush'),   # asked for
    ('auto', False, False, None, (6, 18), 'dump_delete'),     # the kernel cannot filter it all
    ('kernel', False, False, None, (6, 18), 'dump_delete'),
    ('auto', False, True, 100, (6, 18), 'dump_delete'),       # max_delete: exactly those counted
    ('auto', True, False, 100, (6, 18), 'dump_delete'),
    ('kernel', False, True, 100, (6, 18), 'kernel_filtered_flush'),
    ('dump', True, False, None, (6, 18), 'dump_delete'),
    ('dump', False, True, None, (6, 18), 'dump_delete'),
])
def test_flush_path(method, all_, complete, max_delete, release, path):
    assert cost.flush_path(method, all_, complete, max_delete, release) == path


def test_worth_requests_counts_the_extra_walks():
    # 4 requests on 250,000 entries in 262,144 buckets: 3 extra walks of
    # 262144*30 + 250000*220 ns = 62.9 ms each, against 500 ms of messages
    assert cost.worth_requests(4, 250000, 262144)
    assert not cost.worth_requests(4, 10000, 262144)
    assert cost.worth_requests(1, 0, 262144)
