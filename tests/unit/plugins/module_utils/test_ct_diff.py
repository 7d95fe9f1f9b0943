# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.netfilter.conntrack.plugins.plugin_utils._ct_diff import (
    diff_entries, entry_identity)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError


def tcp(sport, reply_src='10.0.0.2', zone=0, family='ipv4', **kw):
    e = {'id': sport * 10, 'family': family, 'proto': 'tcp', 'proto_num': 6,
         'orig': {'src': '10.0.0.1', 'dst': '10.0.0.2', 'sport': sport, 'dport': 80},
         'reply': {'src': reply_src, 'dst': '10.0.0.1', 'sport': 80, 'dport': sport},
         'zone': zone, 'timeout': 100, 'proto_state': 'ESTABLISHED'}
    e.update(kw)
    return e


def test_added_removed_kept():
    before = [tcp(1), tcp(2), tcp(3)]
    after = [tcp(2, timeout=50), tcp(3, reply_src='10.0.0.9'), tcp(4)]
    out = diff_entries(before, after)
    assert [e['orig']['sport'] for e in out['added']] == [4]
    assert [e['orig']['sport'] for e in out['removed']] == [1]
    # kept: the entries as they are after; the reply tuple (NAT target) is not identity
    assert out['kept'] == [after[0], after[1]]


def test_identity_ignores_id_and_state_but_not_zone_family_proto():
    base = tcp(1)
    assert entry_identity(base) == entry_identity(tcp(1, id=99, proto_state='TIME_WAIT', mark=3))
    assert entry_identity(base) != entry_identity(tcp(1, zone=7))
    assert entry_identity(base) != entry_identity(tcp(1, orig_zone=5, reply_zone=0))
    assert entry_identity(base) != entry_identity(tcp(1, proto='udp', proto_num=17))
    assert entry_identity(base) != entry_identity(tcp(1, family='ipv6'))
    # proto by name only works too
    named = tcp(1)
    del named['proto_num']
    assert entry_identity(named) == entry_identity(base)


def test_icmp_and_gre_identity():
    def icmp(ident):
        return {'family': 'ipv4', 'proto_num': 1, 'orig': {'src': 'a', 'dst': 'b', 'icmp_type': 8,
                                                           'icmp_code': 0, 'icmp_id': ident}}
    assert diff_entries([icmp(1)], [icmp(1), icmp(2)])['added'] == [icmp(2)]

    def gre(key):
        return {'family': 'ipv4', 'proto_num': 47, 'orig': {'src': 'a', 'dst': 'b', 'src_key': key,
                                                            'dst_key': 1}}
    assert diff_entries([gre(1), gre(2)], [gre(2)])['removed'] == [gre(1)]


def test_empty_and_duplicates():
    assert diff_entries([], []) == {'added': [], 'removed': [], 'kept': []}
    out = diff_entries([tcp(1), tcp(1, timeout=5)], [tcp(1, timeout=7)])
    assert out == {'added': [], 'removed': [], 'kept': [tcp(1, timeout=7)]}


@pytest.mark.parametrize('bad', [{'family': 'ipv4'}, {'orig': None, 'proto': 'tcp'}, 5])
def test_not_an_entry(bad):
    with pytest.raises(ConntrackError, match=r'after: item 1 is not a conntrack entry'):
        diff_entries([tcp(1)], [tcp(1), bad])
