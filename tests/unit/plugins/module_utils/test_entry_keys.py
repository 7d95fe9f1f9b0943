# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""count_by / top refuse a key no entry can have, naming the keys there are (conntrack_info
here; the filter plugins in tests/unit/plugins/filter/test_entry_keys_filters.py: one check
in _aggregate)."""

from __future__ import annotations

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils import _entry_keys
from ansible_collections.netfilter.conntrack.plugins.module_utils._aggregate import CountBy, Top
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_info import gather_info
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

ENTRY = {'id': 1, 'family': 'ipv4', 'proto': 'tcp', 'proto_num': 6,
         'orig': {'src': '192.0.2.1', 'dst': '192.0.2.2', 'sport': 1000, 'dport': 80},
         'reply': {'src': '192.0.2.2', 'dst': '192.0.2.1', 'sport': 80, 'dport': 1000},
         'proto_state': 'ESTABLISHED', 'timeout': 5, 'status': ['CONFIRMED'], 'ctstate': 'NEW',
         'mark': 0, 'zone': 0, 'use': 1, 'labels': [], 'nat': {'src': False, 'dst': False},
         'counters': None, 'timestamp': None, 'helper': None}


def test_every_key_of_a_decoded_entry_is_known():
    def paths(d, prefix=''):
        for k, v in d.items():
            yield prefix + k
            if isinstance(v, dict):
                yield from paths(v, prefix + k + '.')
    entry = dict(ENTRY, counters={'orig': {'packets': 1, 'bytes': 2},
                                  'reply': {'packets': 1, 'bytes': 2}},
                 timestamp={'start': 1, 'stop': None}, orig_zone=1, reply_zone=2)
    assert set(paths(entry)) <= _entry_keys.KEYS['conntrack']
    for key in ('orig.icmp_type', 'reply.src_key', 'counters.reply.bytes', 'timestamp.stop'):
        CountBy(key, 'conntrack')
    for key in ('master.src', 'tuple.dport', 'mask.src', 'flags', 'class', 'nat.dir'):
        CountBy(key, 'expect')


@pytest.mark.parametrize('agg, table, option', [
    (lambda: CountBy('orig.scr', 'conntrack', option='count_by'), 'conntrack', 'count_by'),
    (lambda: Top('master.scr', 3, table='expect', option='top.key'), 'expect', 'top.key'),
    (lambda: CountBy('master.src', 'dying', option='count_by'), 'conntrack', 'count_by'),
])
def test_module_aggregates_name_the_option_and_the_tables_keys(agg, table, option):
    with pytest.raises(ConntrackError) as exc:
        agg()
    assert exc.value.option == option and exc.value.msg.startswith(option + ': unknown key')
    other = '{master,' if table == 'conntrack' else '{orig,'
    assert other not in exc.value.msg


class _NoKernel:
    """gather_info must refuse the key before it asks the kernel anything."""
    label_map = {}

    def __getattr__(self, name):
        raise AssertionError('the kernel was asked (%s) before the key was checked' % name)


@pytest.mark.parametrize('table', ['conntrack', 'expect'])
@pytest.mark.parametrize('params, option', [
    ({'count_by': ['protoo']}, 'count_by'),
    ({'top': {'key': 'orig.scr', 'n': 3}}, 'top.key'),
])
def test_conntrack_info_refuses_before_the_dump(params, option, table):
    with pytest.raises(ConntrackError) as exc:
        gather_info(_NoKernel(), {}, dict(params, table=table))
    assert exc.value.option == option
