# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""conntrack_counters' logic on recorded-shape messages: which path zeroes (the kernel's
zeroing dump or zeroing by key), what is returned and counted, an interrupted zeroing
dump, entries without accounting.  The client's walk runs for real; only the socket
(dump_many's replies, batch's answers) is scripted."""

from __future__ import annotations

import errno

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_client import ConntrackClient
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_counters import (
    CounterSink, zero_counters)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

from ansible_collections.netfilter.conntrack.tests.unit.plugins.module_utils.ctmsg import ct_message, parse


def udp(n, counters=((3, 300), (2, 200)), src='198.51.100.2', ct_id=None):
    """One UDP entry from src port 40000+n; counters None = no accounting."""
    orig = {'src': src, 'dst': '203.0.113.11', 'sport': 40000 + n, 'dport': 53}
    reply = {'src': '203.0.113.11', 'dst': src, 'sport': 53, 'dport': 40000 + n}
    return ct_message(C.AF_INET, 17, orig, reply, status=0xE, timeout=30, mark=0, use=1,
                      ct_id=1000 + n if ct_id is None else ct_id, counters=counters)


class ScriptedClient(ConntrackClient):
    """No socket: dump_many hands each run's messages to the walk's consumer (a run after
    the first follows on_reset(), as after a dump the kernel marked interrupted); batch
    records its requests and answers them with ``errnos`` (default all 0) and the
    messages of ``replies`` (one per request, or None)."""

    def __init__(self, runs, errnos=None, replies=None):
        self.label_map = {}
        self.runs = runs
        self.errnos = errnos
        self.replies = replies
        self.dumps = []     # the message type of each dump
        self.batched = []   # (msg, family, payload) of each batched request

    def dump_many(self, subsys, msg, requests, on_msg, on_reset=None, what='dump'):
        for i, run in enumerate(self.runs):
            if i and on_reset is not None:
                on_reset()
            self.dumps.append(msg)
            for raw in run:
                on_msg(raw, 0, len(raw), msg)

    def batch(self, messages, what='batch', on_reply=None):
        items = list(messages)
        self.batched.extend((msg, fam, payload) for _s, msg, _f, fam, payload in items)
        for i, raw in enumerate(self.replies or ()):
            if raw is not None:
                on_reply(i, raw, 0, len(raw))
        return list(self.errnos) if self.errnos is not None else [0] * len(items)


def run(runs, filters=None, check_mode=False, errnos=None, replies=None, **params):
    client = ScriptedClient(runs, errnos, replies)
    warnings = []
    result = zero_counters(client, filters or {}, params, check_mode, warn=warnings.append)
    return client, result, warnings


TABLE = [udp(1), udp(2, counters=((0, 0), (0, 0))), udp(3, counters=((7, 700), (0, 0)))]


def test_kernel_filter_zeroes_in_the_dump():
    client, res, warnings = run([TABLE], {'proto': 'udp'})
    assert client.dumps == [C.IPCTNL_MSG_CT_GET_CTRZERO]
    assert client.batched == []
    assert (res['changed'], res['count'], res['zeroed']) == (True, 3, 2)
    assert [e['counters']['orig']['packets'] for e in res['entries']] == [3, 0, 7]
    assert res['entries'][0]['counters'] == {'orig': {'packets': 3, 'bytes': 300},
                                             'reply': {'packets': 2, 'bytes': 200}}
    assert res['kernel_filter'] and warnings == []


def test_check_mode_is_a_plain_dump_and_reports_what_would_be_zeroed():
    client, res, _w = run([TABLE], {'proto': 'udp'}, check_mode=True)
    assert client.dumps == [C.IPCTNL_MSG_CT_GET]
    assert client.batched == []
    assert (res['changed'], res['count'], res['zeroed']) == (True, 3, 2)


def test_a_filter_part_matched_here_zeroes_the_nonzero_matches_by_key():
    table = TABLE + [udp(4, src='192.0.2.9')]
    client, res, _w = run([table], {'orig_src': '198.51.100.0/24'})
    assert client.dumps == [C.IPCTNL_MSG_CT_GET]   # the CIDR is matched here: plain dump
    assert [m for m, _f, _p in client.batched] == [C.IPCTNL_MSG_CT_GET_CTRZERO] * 2
    assert (res['changed'], res['count'], res['zeroed']) == (True, 3, 2)
    # each request names its entry by original tuple and id (a reused tuple is not zeroed)
    ids = [dict((t, p) for t, _n, p in parse(payload))[C.CTA_ID]
           for _m, _f, payload in client.batched]
    assert [int.from_bytes(i, 'big') for i in ids] == [1001, 1003]


def test_zeroing_by_key_returns_the_counters_the_kernel_read_as_it_zeroed():
    # between the dump and the zeroing entry 1 counted 2 packets more: the kernel's
    # answer to the zeroing request says so, and that is what was zeroed
    replies = [udp(1, counters=((5, 500), (2, 200))), udp(3, counters=((7, 700), (0, 0)))]
    _c, res, _w = run([TABLE], {'orig_src': '198.51.100.0/24'}, replies=replies, limit=2)
    assert res['entries'][0]['counters'] == {'orig': {'packets': 5, 'bytes': 500},
                                             'reply': {'packets': 2, 'bytes': 200}}
    assert res['entries'][1]['counters']['orig'] == {'packets': 0, 'bytes': 0}
    assert (res['count'], res['zeroed'], len(res['entries'])) == (3, 2, 2)


def test_an_entry_gone_before_zeroing_by_key_is_not_counted():
    _c, res, _w = run([TABLE], {'orig_src': '198.51.100.0/24'}, errnos=[errno.ENOENT, 0])
    assert (res['changed'], res['zeroed'], res['count']) == (True, 1, 3)


def test_a_kernel_refusal_while_zeroing_by_key_fails():
    with pytest.raises(ConntrackError, match='zeroing counters failed.*EPERM'):
        run([TABLE], {'orig_src': '198.51.100.0/24'}, errnos=[0, errno.EPERM])


def test_all_zero_is_no_change():
    zero = [udp(1, counters=((0, 0), (0, 0))), udp(2, counters=((0, 0), (0, 0)))]
    for filters in ({}, {'orig_src': '198.51.100.0/24'}):
        client, res, _w = run([zero], filters)
        assert (res['changed'], res['zeroed'], res['count']) == (False, 0, 2)
        assert client.batched == []


def test_limit_caps_the_entries_not_the_zeroing():
    client, res, _w = run([TABLE], {'orig_src': '198.51.100.0/24'}, limit=1)
    assert (len(res['entries']), res['count'], res['zeroed']) == (1, 3, 2)
    assert len(client.batched) == 2
    _c, res, _w = run([TABLE], limit=0)
    assert (res['entries'], res['count'], res['zeroed']) == ([], 3, 2)


def test_negative_limit_fails_naming_it():
    with pytest.raises(ConntrackError, match='limit: invalid value -1'):
        run([TABLE], limit=-1)


def test_entries_without_accounting_are_left_out_of_zeroed_with_a_warning():
    table = [udp(1), udp(2, counters=None), udp(3, counters=None)]
    client, res, warnings = run([table], {'orig_src': '198.51.100.0/24'})
    assert (res['count'], res['zeroed']) == (3, 1)
    assert res['entries'][1]['counters'] is None
    assert len(client.batched) == 1
    assert len(warnings) == 1 and warnings[0].startswith('2 matching entries have no counters')
    assert 'nf_conntrack_acct' in warnings[0]


def test_an_interrupted_zeroing_dump_adds_the_rerun_to_what_it_read():
    # first run zeroed entries 1 and 3 and saw 2 twice (a resize); the rerun reads what
    # was counted since (entry 1: 1 packet more), and a new entry 5
    first = [udp(1), udp(2, counters=((0, 0), (0, 0))), udp(2, counters=((1, 10), (0, 0))),
             udp(3, counters=((7, 700), (0, 0)))]
    again = [udp(1, counters=((1, 100), (0, 0))), udp(2, counters=((0, 0), (0, 0))),
             udp(3, counters=((0, 0), (0, 0))), udp(5, counters=((0, 0), (0, 0)))]
    _c, res, _w = run([first, again], {'proto': 'udp'})
    assert res['count'] == 4
    assert res['zeroed'] == 3
    by_id = {e['id']: e['counters'] for e in res['entries']}
    assert by_id[1001] == {'orig': {'packets': 4, 'bytes': 400}, 'reply': {'packets': 2, 'bytes': 200}}
    assert by_id[1002]['orig'] == {'packets': 1, 'bytes': 10}
    assert by_id[1003]['orig'] == {'packets': 7, 'bytes': 700}
    assert by_id[1005]['orig'] == {'packets': 0, 'bytes': 0}


def test_an_interrupted_plain_dump_starts_over():
    _c, res, _w = run([TABLE, TABLE[:1]], {'proto': 'udp'}, check_mode=True)
    assert (res['count'], res['zeroed'], len(res['entries'])) == (1, 1, 1)


def test_merge_beyond_the_limit_counts_each_entry_once():
    sink = CounterSink(keep=1, merge=True)
    client = ScriptedClient([[udp(1), udp(2, counters=((0, 0), (0, 0)))],
                             [udp(1), udp(2, counters=((5, 5), (0, 0)))]])
    client.walk(None, 'conntrack', on_values=sink, on_reset=sink.reset, zero=True, lazy=True,
                slots=sink.slots)
    assert (sink.count, sink.nonzero, len(sink.entries)) == (2, 2, 1)
    assert sink.entries[0]['counters']['orig']['packets'] == 6
