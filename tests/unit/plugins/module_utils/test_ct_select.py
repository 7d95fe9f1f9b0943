# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import (
    compile_filter)
from ansible_collections.netfilter.conntrack.plugins.plugin_utils._ct_select import (
    label_map_for, select_entries)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError


def entry(src, dst='198.51.100.100', proto='tcp', num=6, sport=40000, dport=8080, state='ESTABLISHED',
          reply_src=None, status=('ASSURED', 'CONFIRMED', 'SEEN_REPLY'), labels=(), family='ipv4',
          mark=0, zone=0):
    return {
        'id': sport, 'family': family, 'proto': proto, 'proto_num': num,
        'orig': {'src': src, 'dst': dst, 'sport': sport, 'dport': dport},
        'reply': {'src': reply_src or dst, 'dst': src, 'sport': dport, 'dport': sport},
        'proto_state': state if num == 6 else None, 'timeout': 100, 'status': list(status),
        'ctstate': 'ESTABLISHED' if 'SEEN_REPLY' in status else 'NEW', 'mark': mark, 'zone': zone,
        'use': 1, 'labels': list(labels), 'helper': None, 'counters': None, 'timestamp': None,
    }


ENTRIES = [
    entry('198.51.100.2', sport=1, reply_src='203.0.113.11'),
    entry('198.51.100.2', sport=2, reply_src='203.0.113.12'),
    entry('198.51.100.3', sport=3, state='TIME_WAIT'),
    entry('198.51.100.2', proto='udp', num=17, sport=4, dport=5353, reply_src='203.0.113.11'),
    entry('198.51.100.2', proto='udp', num=17, sport=5, dport=5353, status=('CONFIRMED',)),
    entry('10.1.2.3', sport=6, mark=0x2a, labels=['direct', 5]),
    entry('2001:db8::2', dst='2001:db8::100', sport=7, family='ipv6', zone=3),
]


def sports(entries):
    return [e['orig']['sport'] for e in entries]


@pytest.mark.parametrize('filters, expected', [
    ({}, [1, 2, 3, 4, 5, 6, 7]),
    ({'proto': 'tcp'}, [1, 2, 3, 6, 7]),
    ({'proto': ['udp', 6], 'family': 'ipv4'}, [1, 2, 3, 4, 5, 6]),
    ({'proto': 'tcp', 'proto_state': ['ESTABLISHED'], 'orig_src': '198.51.100.2'}, [1, 2]),
    ({'orig_src': '198.51.100.0/24'}, [1, 2, 3, 4, 5]),
    ({'orig_src': ['10.0.0.0/8', '198.51.100.3']}, [3, 6]),
    ({'dport': 5353}, [4, 5]),
    ({'ctstate': ['NEW']}, [5]),
    ({'status': ['ASSURED', 'SEEN_REPLY'], 'proto': 'udp'}, [4]),
    ({'dst_nat': '203.0.113.11'}, [1, 4]),
    ({'nat': 'dst'}, [1, 2, 4]),
    ({'proto': 'udp', 'orig_dst': '198.51.100.100',
      'exclude': [{'reply_src': '203.0.113.11'}, {'reply_src': '203.0.113.12'}]}, [5]),
    ({'mark': '0x20/0xf0'}, [6]),
    ({'zone': 3}, [7]),
    ({'family': 'ipv6'}, [7]),
    ({'labels': ['direct']}, [6]),
    ({'labels': [5]}, [6]),
    ({'labels': ['direct', 5]}, [6]),
    ({'labels': ['nosuchlabel']}, []),
    ({'exclude': [{'labels': ['direct']}], 'proto': 'tcp'}, [1, 2, 3, 7]),
])
def test_select_is_the_module_filter(filters, expected):
    got = select_entries(ENTRIES, filters, label_map={})
    assert sports(got) == expected
    # the very predicate conntrack_info/conntrack_flush compile, given the same label map
    cfilter = compile_filter(filters, label_map_for(filters, ENTRIES, {}))
    assert got == [e for e in ENTRIES if cfilter.matches(e)]


def test_label_map_keeps_known_names_and_avoids_used_bits():
    assert label_map_for({'labels': ['a']}, ENTRIES, {0: 'a'}) == {0: 'a'}
    out = label_map_for({'labels': ['direct'], 'exclude': [{'labels': ['x']}]}, ENTRIES, {0: 'a'})
    assert out[0] == 'a' and sorted(out.values()) == ['a', 'direct', 'x']
    assert 5 not in out  # bit 5 is used, unnamed, by an entry


@pytest.mark.parametrize('filters, message', [
    ({'proto': 'tcpx'}, "proto: invalid value 'tcpx'"),
    ({'orig_src': 'not-an-address'}, 'orig_src: invalid value'),
    ({'bogus': 1}, "unknown filter option 'bogus'"),
    ({'orig_src': ''}, 'orig_src: invalid value'),
    ({'dport': 70000}, 'orig_port_dst: invalid value 70000'),
])
def test_bad_filters(filters, message):
    with pytest.raises(ConntrackError) as exc:
        select_entries(ENTRIES, filters, label_map={})
    assert message in exc.value.msg
