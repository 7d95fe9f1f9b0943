# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.decode import Decoder
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_fields import (
    CONNTRACK_KEYS, ValueProjection, project_dicts)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError
from ansible_collections.netfilter.conntrack.tests.unit.plugins.module_utils.ctmsg import (
    ct_message)

V4, V6 = 2, 10
EST = (1 << 1) | (1 << 2) | (1 << 3)
TCP4 = ({'src': '198.51.100.1', 'dst': '203.0.113.2', 'sport': 40000, 'dport': 80},
        {'src': '192.0.2.11', 'dst': '198.51.100.1', 'sport': 8080, 'dport': 40000})
TCP6 = ({'src': '2001:db8::1', 'dst': '2001:db8::2', 'sport': 40000, 'dport': 443},
        {'src': '2001:db8::2', 'dst': '2001:db8::1', 'sport': 443, 'dport': 40000})
ICMP4 = ({'src': '198.51.100.1', 'dst': '203.0.113.2', 'icmp_type': 8, 'icmp_code': 0,
          'icmp_id': 4321},
         {'src': '203.0.113.2', 'dst': '198.51.100.1', 'icmp_type': 0, 'icmp_code': 0,
          'icmp_id': 4321})
GRE4 = ({'src': '198.51.100.1', 'dst': '203.0.113.2', 'src_key': 0x1111, 'dst_key': 0x2222},
        {'src': '203.0.113.2', 'dst': '198.51.100.1', 'src_key': 0x2222, 'dst_key': 0x1111})

MESSAGES = [
    ct_message(V4, 6, *TCP4, status=EST | (1 << 5), timeout=300, mark=5, use=1, ct_id=7,
               pstate=3, counters=((3, 180), (2, 120)), timestamp=(10, None), labels=[0, 3]),
    ct_message(V6, 6, *TCP6, status=EST, timeout=120, ct_id=8, pstate=7, zone=4),
    ct_message(V4, 1, *ICMP4, status=EST, timeout=30, ct_id=9),
    ct_message(V4, 47, *GRE4, status=EST, timeout=30, ct_id=10, helper='pptp'),
]
FIELD_SETS = [
    ['orig.src', 'orig.dst', 'proto_state'],
    ['orig', 'reply.src', 'status', 'labels'],
    ['family', 'proto', 'counters.orig.bytes', 'counters.reply.packets', 'timestamp.start'],
    ['nat.dst', 'nat.src', 'orig.sport', 'orig.icmp_id', 'reply.dst_key', 'mark', 'zone'],
    ['id', 'helper', 'ctstate', 'timeout', 'use', 'proto_num'],
    [k for k in CONNTRACK_KEYS if k not in ('orig', 'reply')],
]


@pytest.mark.parametrize('fields', FIELD_SETS, ids=lambda f: ','.join(f)[:40])
def test_projection_from_values_equals_projection_of_the_entry(fields):
    """What a dump builds from the few slots it unpacks is what the whole decoded entry
    projected to the same keys holds."""
    proj = ValueProjection(fields)
    dec = Decoder({0: 'lbl0', 3: 'blue'})
    probe = dec.prober(proj.slots)
    for msg in MESSAGES:
        entry = dec.entry(dec.values(msg, 20, len(msg)), msg[16])
        got = proj(probe(msg, 20, len(msg)), msg[16], dec)
        assert got == project_dicts([entry], fields)[0]
        assert list(got) == list(dict.fromkeys(f.split('.')[0] for f in fields))


def test_projection_keeps_the_entry_nesting():
    dec = Decoder()
    msg = MESSAGES[0]
    proj = ValueProjection(['orig.src', 'orig.dst', 'proto_state'])
    got = proj(dec.prober(proj.slots)(msg, 20, len(msg)), msg[16], dec)
    assert got == {'orig': {'src': '198.51.100.1', 'dst': '203.0.113.2'},
                   'proto_state': 'ESTABLISHED'}


@pytest.mark.parametrize('fields, text', [
    (['orig.bogus'], "unknown key 'orig.bogus'; the keys there are: counters.orig.bytes"),
    (['orig_src'], "unknown key 'orig_src'"),
    ([''], "unknown key ''"),
    ([5], 'unknown key 5'),
    ([], 'a non-empty list'),
    (['orig', 'orig.src'], "'orig' and 'orig.src' overlap"),
])
def test_bad_fields(fields, text):
    with pytest.raises(ConntrackError) as exc:
        ValueProjection(fields)
    assert text in exc.value.msg
    assert exc.value.option == 'fields'


def test_expectation_keys():
    exp = {'id': 1, 'master': {'src': '198.51.100.1', 'dport': 21}, 'helper': 'ftp',
           'tuple': {'dst': '203.0.113.2'}}
    assert project_dicts([exp], ['master.src', 'helper', 'tuple.sport'], 'expect') == [
        {'master': {'src': '198.51.100.1'}, 'helper': 'ftp', 'tuple': {'sport': None}}]
    with pytest.raises(ConntrackError) as exc:
        project_dicts([exp], ['orig.src'], 'expect')
    assert 'the keys there are: class, family' in exc.value.msg


def test_duplicates_are_returned_once():
    assert ValueProjection(['proto', 'proto']).paths == [('proto',)]
