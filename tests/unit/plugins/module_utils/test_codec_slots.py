# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The value tuple's slots: their names are the one definition the decoder, the encoder,
the filters and the aggregates read."""

from __future__ import annotations

import socket

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import slots as S
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.decode import Decoder


def test_named_slots_are_the_positions_of_their_names():
    for name in S.SLOTS:
        assert getattr(S, name.upper()) == S.SLOT[name]
    assert S.NSLOTS == len(S.SLOTS) == len(set(S.SLOTS))


def test_tuple_slot_names_both_sides():
    assert S.TUPLE_SLOT[('orig', 'src')] == S.O_SRC
    assert S.TUPLE_SLOT[('reply', 'dport')] == S.R_DPORT
    assert S.TUPLE_SLOT[('reply', 'dst_key')] == S.R_DPORT   # GRE keys in the port slots
    assert S.TUPLE_SLOT[('orig', 'icmp_id')] == S.O_IID


def test_decoder_entry_reads_every_slot_by_its_name():
    """A value tuple with a distinct value per slot: each lands in the entry field its
    slot names (a slot moved in SLOTS and not in the decoder would show here)."""
    v = [None] * S.NSLOTS
    addr = {S.O_SRC: '192.0.2.1', S.O_DST: '192.0.2.2', S.R_SRC: '198.51.100.3',
            S.R_DST: '198.51.100.4'}
    for slot, text in addr.items():
        v[slot] = socket.inet_aton(text)
    v[S.O_PROTO] = v[S.R_PROTO] = 6
    v[S.O_SPORT], v[S.O_DPORT], v[S.R_SPORT], v[S.R_DPORT] = 1001, 1002, 1003, 1004
    v[S.STATUS], v[S.TIMEOUT], v[S.MARK], v[S.USE] = 2, 30, 40, 5
    v[S.ID], v[S.ZONE], v[S.PSTATE] = 60, 7, 3
    v[S.C_OPK], v[S.C_OBY], v[S.C_RPK], v[S.C_RBY] = 81, 82, 83, 84
    v[S.TS_START], v[S.TS_STOP], v[S.HELPER] = 91, 92, b'ftp\0'
    v[S.LABELS] = (2).to_bytes(16, 'little')
    e = Decoder({1: 'blue'}).entry(tuple(v), socket.AF_INET)
    assert e['orig'] == {'src': '192.0.2.1', 'dst': '192.0.2.2', 'sport': 1001, 'dport': 1002}
    assert e['reply'] == {'src': '198.51.100.3', 'dst': '198.51.100.4', 'sport': 1003,
                          'dport': 1004}
    assert (e['timeout'], e['mark'], e['use'], e['id'], e['zone']) == (30, 40, 5, 60, 7)
    assert e['ctstate'] == 'ESTABLISHED' and e['proto_state'] == 'ESTABLISHED'
    assert e['counters'] == {'orig': {'packets': 81, 'bytes': 82},
                             'reply': {'packets': 83, 'bytes': 84}}
    assert e['timestamp'] == {'start': 91, 'stop': 92}
    assert e['helper'] == 'ftp' and e['labels'] == ['blue']
    assert e['nat'] == {'src': True, 'dst': True}
    back, fam = S.entry_values(e, {1: 'blue'})
    assert fam == socket.AF_INET
    for slot in (S.O_SRC, S.R_DPORT, S.STATUS, S.MARK, S.ID, S.ZONE, S.PSTATE, S.LABELS):
        assert back[slot] == v[slot]
