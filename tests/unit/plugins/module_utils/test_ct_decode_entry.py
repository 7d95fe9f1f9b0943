# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Decoder.entry over synthetic ctnetlink messages: every protocol gives the SPEC's entry."""

from __future__ import annotations

import random

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.decode import Decoder
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.slots import SLOT
from ansible_collections.netfilter.conntrack.tests.unit.plugins.module_utils.ctmsg import (
    ct_attrs, ct_message, decode, message)

V4, V6 = C.AF_INET, C.AF_INET6
EST = (1 << 1) | (1 << 2) | (1 << 3)  # SEEN_REPLY | ASSURED | CONFIRMED


def spec_entry(**kw):
    """The SPEC's entry with the values every case below shares."""
    out = {
        'id': 1001, 'family': 'ipv4', 'proto': 'tcp', 'proto_num': 6, 'proto_state': None,
        'timeout': 300, 'status': ['ASSURED', 'CONFIRMED', 'SEEN_REPLY'], 'ctstate': 'ESTABLISHED',
        'mark': 0, 'zone': 0, 'use': 1, 'labels': [], 'nat': {'src': False, 'dst': False},
        'counters': None, 'timestamp': None, 'helper': None,
    }
    out.update(kw)
    return out


def msg(family, proto, orig, reply, **kw):
    base = {'status': EST, 'timeout': 300, 'mark': 0, 'use': 1, 'ct_id': 1001}
    base.update(kw)
    return ct_message(family, proto, orig, reply, **base)


T4 = ({'src': '10.0.0.1', 'dst': '10.0.0.2', 'sport': 40000, 'dport': 80},
      {'src': '10.0.0.2', 'dst': '10.0.0.1', 'sport': 80, 'dport': 40000})
T6 = ({'src': '2001:db8::1', 'dst': '2001:db8::2', 'sport': 40000, 'dport': 443},
      {'src': '2001:db8::2', 'dst': '2001:db8::1', 'sport': 443, 'dport': 40000})
ICMP4 = ({'src': '10.0.0.1', 'dst': '10.0.0.2', 'icmp_type': 8, 'icmp_code': 0, 'icmp_id': 4321},
         {'src': '10.0.0.2', 'dst': '10.0.0.1', 'icmp_type': 0, 'icmp_code': 0, 'icmp_id': 4321})
ICMP6 = ({'src': 'fd00::1', 'dst': 'fd00::2', 'icmp_type': 128, 'icmp_code': 0, 'icmp_id': 7},
         {'src': 'fd00::2', 'dst': 'fd00::1', 'icmp_type': 129, 'icmp_code': 0, 'icmp_id': 7})
GRE4 = ({'src': '10.0.0.1', 'dst': '10.0.0.2', 'src_key': 0x1111, 'dst_key': 0x2222},
        {'src': '10.0.0.2', 'dst': '10.0.0.1', 'src_key': 0x2222, 'dst_key': 0x1111})

CASES = {
    'tcp4-established': (
        msg(V4, 6, *T4, pstate=3),
        spec_entry(orig=T4[0], reply=T4[1], proto_state='ESTABLISHED')),
    'tcp6-time-wait': (
        msg(V6, 6, *T6, pstate=7, status=EST, timeout=119),
        spec_entry(family='ipv6', orig=T6[0], reply=T6[1], proto_state='TIME_WAIT', timeout=119)),
    'tcp4-syn-sent-new': (
        msg(V4, 6, *T4, pstate=1, status=1 << 3),
        spec_entry(orig=T4[0], reply=T4[1], proto_state='SYN_SENT', status=['CONFIRMED'], ctstate='NEW')),
    'udp4-new': (
        msg(V4, 17, *T4, status=1 << 3),
        spec_entry(proto='udp', proto_num=17, orig=T4[0], reply=T4[1], status=['CONFIRMED'], ctstate='NEW')),
    'udp6': (
        msg(V6, 17, *T6),
        spec_entry(family='ipv6', proto='udp', proto_num=17, orig=T6[0], reply=T6[1])),
    'udplite4': (
        msg(V4, 136, *T4),
        spec_entry(proto='udplite', proto_num=136, orig=T4[0], reply=T4[1])),
    'icmp4': (
        msg(V4, 1, *ICMP4, timeout=29),
        spec_entry(proto='icmp', proto_num=1, orig=ICMP4[0], reply=ICMP4[1], timeout=29)),
    'icmpv6': (
        msg(V6, 58, *ICMP6),
        spec_entry(family='ipv6', proto='icmpv6', proto_num=58, orig=ICMP6[0], reply=ICMP6[1])),
    'sctp4': (
        msg(V4, 132, *T4, pstate=4),
        spec_entry(proto='sctp', proto_num=132, orig=T4[0], reply=T4[1], proto_state='ESTABLISHED')),
    'sctp6-cookie-wait': (
        msg(V6, 132, *T6, pstate=2),
        spec_entry(family='ipv6', proto='sctp', proto_num=132, orig=T6[0], reply=T6[1],
                   proto_state='COOKIE_WAIT')),
    'dccp4': (
        msg(V4, 33, *T4, pstate=4),
        spec_entry(proto='dccp', proto_num=33, orig=T4[0], reply=T4[1], proto_state='OPEN')),
    'dccp6-request': (
        msg(V6, 33, *T6, pstate=1),
        spec_entry(family='ipv6', proto='dccp', proto_num=33, orig=T6[0], reply=T6[1], proto_state='REQUEST')),
    'gre4': (
        msg(V4, 47, *GRE4),
        spec_entry(proto='gre', proto_num=47, orig=GRE4[0], reply=GRE4[1])),
    'unnamed-proto': (
        msg(V4, 99, {'src': '10.0.0.1', 'dst': '10.0.0.2'}, {'src': '10.0.0.2', 'dst': '10.0.0.1'}),
        spec_entry(proto='99', proto_num=99, orig={'src': '10.0.0.1', 'dst': '10.0.0.2'},
                   reply={'src': '10.0.0.2', 'dst': '10.0.0.1'})),
    'counters-timestamp-running': (
        msg(V4, 17, *T4, counters=((10, 800), (9, 5000)), timestamp=(1732560000000000000, None)),
        spec_entry(proto='udp', proto_num=17, orig=T4[0], reply=T4[1],
                   counters={'orig': {'packets': 10, 'bytes': 800}, 'reply': {'packets': 9, 'bytes': 5000}},
                   timestamp={'start': 1732560000000000000, 'stop': None})),
    'counters-big-timestamp-stopped': (
        msg(V6, 6, *T6, pstate=3, counters=((2 ** 40, 2 ** 63), (0, 0)), timestamp=(5, 9)),
        spec_entry(family='ipv6', orig=T6[0], reply=T6[1], proto_state='ESTABLISHED',
                   counters={'orig': {'packets': 2 ** 40, 'bytes': 2 ** 63}, 'reply': {'packets': 0, 'bytes': 0}},
                   timestamp={'start': 5, 'stop': 9})),
    'mark-use-id-max': (
        msg(V4, 6, *T4, pstate=3, mark=0xFFFFFFFF, use=2, ct_id=0xFFFFFFFF),
        spec_entry(orig=T4[0], reply=T4[1], proto_state='ESTABLISHED', mark=0xFFFFFFFF, use=2, id=0xFFFFFFFF)),
    'zone': (
        msg(V4, 17, *T4, zone=42),
        spec_entry(proto='udp', proto_num=17, orig=T4[0], reply=T4[1], zone=42)),
    'zone-orig-direction': (
        msg(V4, 17, *T4, orig_zone=5),
        spec_entry(proto='udp', proto_num=17, orig=T4[0], reply=T4[1], orig_zone=5, reply_zone=0)),
    'zone-reply-direction': (
        msg(V6, 17, *T6, reply_zone=6),
        spec_entry(family='ipv6', proto='udp', proto_num=17, orig=T6[0], reply=T6[1], orig_zone=0,
                   reply_zone=6)),
    'zone-both-directions-differ': (
        msg(V4, 17, *T4, orig_zone=1, reply_zone=2),
        spec_entry(proto='udp', proto_num=17, orig=T4[0], reply=T4[1], orig_zone=1, reply_zone=2)),
    'labels-unnamed': (
        msg(V4, 6, *T4, pstate=3, labels=[0, 5, 127]),
        spec_entry(orig=T4[0], reply=T4[1], proto_state='ESTABLISHED', labels=[0, 5, 127])),
    'helper-ftp': (
        msg(V4, 6, *T4, pstate=3, helper='ftp'),
        spec_entry(orig=T4[0], reply=T4[1], proto_state='ESTABLISHED', helper='ftp')),
    'related-expected': (
        msg(V4, 6, *T4, pstate=3, status=EST | 1),
        spec_entry(orig=T4[0], reply=T4[1], proto_state='ESTABLISHED',
                   status=['ASSURED', 'CONFIRMED', 'EXPECTED', 'SEEN_REPLY'], ctstate='RELATED')),
    'related-unreplied': (
        msg(V4, 17, *T4, status=(1 << 3) | 1),
        spec_entry(proto='udp', proto_num=17, orig=T4[0], reply=T4[1], status=['CONFIRMED', 'EXPECTED'],
                   ctstate='RELATED')),
    'status-all-named-and-unknown-bit': (
        msg(V4, 17, *T4, status=0xFFFF | (1 << 20)),
        spec_entry(proto='udp', proto_num=17, orig=T4[0], reply=T4[1], ctstate='RELATED',
                   status=sorted(list(C.STATUS_BITS) + ['BIT20']))),
    'dnat': (
        msg(V4, 6, {'src': '10.0.0.1', 'dst': '192.0.2.10', 'sport': 40000, 'dport': 80},
            {'src': '10.1.0.5', 'dst': '10.0.0.1', 'sport': 8080, 'dport': 40000}, pstate=3,
            status=EST | (1 << 5) | (1 << 8)),
        spec_entry(orig={'src': '10.0.0.1', 'dst': '192.0.2.10', 'sport': 40000, 'dport': 80},
                   reply={'src': '10.1.0.5', 'dst': '10.0.0.1', 'sport': 8080, 'dport': 40000},
                   proto_state='ESTABLISHED', nat={'src': False, 'dst': True},
                   status=['ASSURED', 'CONFIRMED', 'DST_NAT', 'DST_NAT_DONE', 'SEEN_REPLY'])),
    'snat-port-only': (
        msg(V4, 17, {'src': '10.0.0.1', 'dst': '10.0.0.2', 'sport': 5000, 'dport': 53},
            {'src': '10.0.0.2', 'dst': '10.0.0.1', 'sport': 53, 'dport': 61000}),
        spec_entry(proto='udp', proto_num=17, orig={'src': '10.0.0.1', 'dst': '10.0.0.2', 'sport': 5000, 'dport': 53},
                   reply={'src': '10.0.0.2', 'dst': '10.0.0.1', 'sport': 53, 'dport': 61000},
                   nat={'src': True, 'dst': False})),
    'snat-and-dnat-v6': (
        msg(V6, 6, {'src': 'fd00::1', 'dst': 'fd00::100', 'sport': 1000, 'dport': 80},
            {'src': 'fd00:1::5', 'dst': 'fd00:2::1', 'sport': 80, 'dport': 1000}, pstate=3),
        spec_entry(family='ipv6', orig={'src': 'fd00::1', 'dst': 'fd00::100', 'sport': 1000, 'dport': 80},
                   reply={'src': 'fd00:1::5', 'dst': 'fd00:2::1', 'sport': 80, 'dport': 1000},
                   proto_state='ESTABLISHED', nat={'src': True, 'dst': True})),
    'no-optional-attributes': (
        ct_message(V4, 17, *T4),
        spec_entry(proto='udp', proto_num=17, orig=T4[0], reply=T4[1], id=None, timeout=None, use=None,
                   status=[], ctstate='NEW')),
}


@pytest.mark.parametrize('name', sorted(CASES))
def test_entry(name):
    buf, expected = CASES[name]
    assert decode(Decoder(), buf) == expected


@pytest.mark.parametrize('name', sorted(CASES))
def test_entry_from_shared_decoder(name):
    """One decoder over every case, twice (layout and string caches in use)."""
    dec = Decoder()
    for _round in range(2):
        for other in sorted(CASES):
            decode(dec, CASES[other][0])
        assert decode(dec, CASES[name][0]) == CASES[name][1]


def test_attribute_order_does_not_matter():
    attrs = ct_attrs(V4, 6, *T4, status=EST, timeout=300, mark=7, use=1, ct_id=1001, zone=3, pstate=3,
                     counters=((1, 2), (3, 4)), timestamp=(10, None), labels=[1], helper='ftp')
    expected = decode(Decoder(), message(attrs, V4))
    assert expected['mark'] == 7 and expected['helper'] == 'ftp' and expected['labels'] == [1]
    names = list(attrs)
    rng = random.Random(4)
    dec = Decoder()
    for _i in range(20):
        rng.shuffle(names)
        assert decode(dec, message(attrs, V4, order=names)) == expected


def test_unknown_attributes_are_skipped():
    unknown = {'secmark': b'\x08\x00\x11\x00\x00\x00\x00\x01',  # CTA_SECMARK
               'seq_adj': b'\x0c\x00\x0f\x80\x08\x00\x01\x00\x00\x00\x00\x05',  # CTA_SEQ_ADJ_ORIG
               'future': b'\x05\x00\x3f\x00\xff\x00\x00\x00'}
    buf = msg(V4, 6, *T4, pstate=3, extra=unknown)
    assert decode(Decoder(), buf) == spec_entry(orig=T4[0], reply=T4[1], proto_state='ESTABLISHED')


def test_counters_with_pad_attribute():
    attrs = ct_attrs(V4, 17, *T4, status=EST)
    pad = b'\x04\x00\x03\x00'  # CTA_COUNTERS_PAD, as on architectures that align 64-bit values
    attrs['counters_orig'] = (b'\x20\x00\x09\x80' + pad + b'\x0c\x00\x01\x00' + (5).to_bytes(8, 'big')
                              + b'\x0c\x00\x02\x00' + (500).to_bytes(8, 'big'))
    entry = decode(Decoder(), message(attrs, V4))
    assert entry['counters'] == {'orig': {'packets': 5, 'bytes': 500}, 'reply': {'packets': None, 'bytes': None}}


@pytest.mark.parametrize('label_names, expected', [
    (None, [1, 3, 100]),
    ({}, [1, 3, 100]),
    ({1: 'blue', 100: 'red'}, ['blue', 3, 'red']),
    ({1: 'blue', 3: 'green', 100: 'red', 4: 'unused'}, ['blue', 'green', 'red']),
])
def test_labels_with_and_without_label_map(label_names, expected):
    buf = msg(V4, 17, *T4, labels=[1, 3, 100])
    dec = Decoder(label_names)
    assert decode(dec, buf)['labels'] == expected
    assert decode(dec, buf)['labels'] == expected  # from the decoder's cache


def test_unknown_proto_state_number_is_kept_as_text():
    entry = decode(Decoder(), msg(V4, 6, *T4, pstate=42))
    assert entry['proto_state'] == '42'


def test_helper_name_stops_at_nul():
    attrs = ct_attrs(V4, 6, *T4, status=EST)
    attrs['helper'] = b'\x10\x00\x05\x80' + b'\x0c\x00\x01\x00' + b'sip\x00xxxx'
    assert decode(Decoder(), message(attrs, V4))['helper'] == 'sip'


def test_values_slots():
    dec = Decoder()
    buf = msg(V4, 6, *T4, pstate=3, zone=4)
    v = dec.values(buf, 20, len(buf))
    assert len(v) == len(SLOT)
    assert v[SLOT['o_src']] == b'\x0a\x00\x00\x01' and v[SLOT['r_dst']] == b'\x0a\x00\x00\x01'
    assert (v[SLOT['o_sport']], v[SLOT['o_dport']], v[SLOT['r_sport']], v[SLOT['r_dport']]) == (40000, 80, 80, 40000)
    assert (v[SLOT['o_proto']], v[SLOT['status']], v[SLOT['zone']], v[SLOT['pstate']]) == (6, EST, 4, 3)
    assert v[SLOT['c_opk']] is None and v[SLOT['labels']] is None


def test_decode_method_equals_values_then_entry():
    dec = Decoder()
    buf = CASES['dnat'][0]
    assert dec.decode(buf, 20, len(buf), buf[16]) == CASES['dnat'][1]
