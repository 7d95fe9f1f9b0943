# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import struct

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import encode as E
from ansible_collections.netfilter.conntrack.tests.unit.plugins.module_utils.ctmsg import be, parse, tree

V4, V6 = C.AF_INET, C.AF_INET6


# -- attribute primitives -------------------------------------------------------------

@pytest.mark.parametrize('payload, expected', [
    (b'', b'\x04\x00\x07\x00'),
    (b'a', b'\x05\x00\x07\x00a\x00\x00\x00'),
    (b'abc', b'\x07\x00\x07\x00abc\x00'),
    (b'abcd', b'\x08\x00\x07\x00abcd'),
    (b'abcde', b'\x09\x00\x07\x00abcde\x00\x00\x00'),
])
def test_nla_length_and_padding(payload, expected):
    out = E.nla(7, payload)
    assert out == expected
    assert len(out) % 4 == 0


def test_nest_sets_nested_flag_and_wraps_children():
    out = E.nest(C.CTA_TUPLE_ORIG, E.u8(1, 6), E.be16(2, 80))
    alen, atype = struct.unpack_from('=HH', out)
    assert atype == C.CTA_TUPLE_ORIG | C.NLA_F_NESTED == 0x8001
    assert alen == 4 + 8 + 8 == len(out)
    assert parse(out[4:]) == [(1, False, b'\x06'), (2, False, b'\x00\x50')]


@pytest.mark.parametrize('fn, value, payload', [
    (E.u8, 0xAB, b'\xab'),
    (E.be16, 0x1234, b'\x12\x34'),
    (E.be32, 0x12345678, b'\x12\x34\x56\x78'),
    (E.u32, 0x12345678, struct.pack('=I', 0x12345678)),
    (E.be64, 0x0102030405060708, bytes(range(1, 9))),
])
def test_scalar_attributes(fn, value, payload):
    assert parse(fn(3, value)) == [(3, False, payload)]


def test_nlmsg_header_layout():
    body = E.be32(C.CTA_MARK, 5)
    msg = E.nlmsg(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_DELETE, C.NLM_F_REQUEST | C.NLM_F_ACK, 42,
                  family=V6, payload=body, version=1)
    length, mtype, flags, seq, pid = struct.unpack_from('=IHHII', msg)
    assert length == len(msg) == 16 + 4 + 8
    assert mtype == (1 << 8) | 2
    assert flags == C.NLM_F_REQUEST | C.NLM_F_ACK
    assert (seq, pid) == (42, 0)
    assert msg[16:20] == bytes((V6, 1, 0, 0))
    assert msg[20:] == body


def test_nlmsg_res_id_is_big_endian():
    # struct nfgenmsg { __u8 nfgen_family; __u8 version; __be16 res_id; }
    msg = E.nlmsg(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET, C.NLM_F_REQUEST, 1, res_id=0x0102)
    assert msg[18:20] == b'\x01\x02'


def test_nlmsg_without_payload():
    msg = E.nlmsg(C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_GET, C.NLM_F_REQUEST | C.NLM_F_DUMP, 7)
    assert len(msg) == 20
    assert struct.unpack_from('=IH', msg) == (20, (2 << 8) | 1)
    assert msg[16] == C.AF_UNSPEC


# -- tuples ---------------------------------------------------------------------------

def _tuple(family, tup, proto):
    return tree(E.tuple_attrs(family, tup, proto))


@pytest.mark.parametrize('family, src, dst, src_type, dst_type', [
    (V4, '10.0.0.1', '192.0.2.7', C.CTA_IP_V4_SRC, C.CTA_IP_V4_DST),
    (V6, '2001:db8::1', 'fd00::7', C.CTA_IP_V6_SRC, C.CTA_IP_V6_DST),
])
@pytest.mark.parametrize('proto', [6, 17, 132, 33, 136])
def test_tuple_attrs_ports(family, src, dst, src_type, dst_type, proto):
    t = _tuple(family, {'src': src, 'dst': dst, 'sport': 40000, 'dport': 443}, proto)
    assert set(t) == {C.CTA_TUPLE_IP, C.CTA_TUPLE_PROTO}
    assert t[C.CTA_TUPLE_IP] == {src_type: E.addr_bytes(family, src), dst_type: E.addr_bytes(family, dst)}
    assert t[C.CTA_TUPLE_PROTO] == {C.CTA_PROTO_NUM: bytes((proto,)),
                                    C.CTA_PROTO_SRC_PORT: b'\x9c\x40', C.CTA_PROTO_DST_PORT: b'\x01\xbb'}


def test_tuple_attrs_addresses_are_network_order():
    t = _tuple(V4, {'src': '10.1.2.3', 'dst': '192.168.0.1'}, None)
    assert t[C.CTA_TUPLE_IP][C.CTA_IP_V4_SRC] == b'\x0a\x01\x02\x03'
    t = _tuple(V6, {'src': '2001:db8::1'}, None)
    assert t[C.CTA_TUPLE_IP][C.CTA_IP_V6_SRC] == b'\x20\x01\x0d\xb8' + b'\0' * 11 + b'\x01'


@pytest.mark.parametrize('family, proto, types', [
    (V4, 1, (C.CTA_PROTO_ICMP_TYPE, C.CTA_PROTO_ICMP_CODE, C.CTA_PROTO_ICMP_ID)),
    (V6, 58, (C.CTA_PROTO_ICMPV6_TYPE, C.CTA_PROTO_ICMPV6_CODE, C.CTA_PROTO_ICMPV6_ID)),
])
def test_tuple_attrs_icmp(family, proto, types):
    src = '10.0.0.1' if family == V4 else '::1'
    t = _tuple(family, {'src': src, 'dst': src, 'icmp_type': 8, 'icmp_code': 3, 'icmp_id': 0x1234,
                        'sport': 1, 'dport': 2}, proto)
    assert t[C.CTA_TUPLE_PROTO] == {C.CTA_PROTO_NUM: bytes((proto,)), types[0]: b'\x08', types[1]: b'\x03',
                                    types[2]: b'\x12\x34'}


@pytest.mark.parametrize('family', [V4, V6])
def test_tuple_attrs_gre_keys_travel_as_ports(family):
    t = _tuple(family, {'src_key': 0x0102, 'dst_key': 0x0304, 'sport': 9, 'dport': 9}, 47)
    assert t == {C.CTA_TUPLE_PROTO: {C.CTA_PROTO_NUM: b'\x2f', C.CTA_PROTO_SRC_PORT: b'\x01\x02',
                                     C.CTA_PROTO_DST_PORT: b'\x03\x04'}}


@pytest.mark.parametrize('tup, proto, expected', [
    ({}, None, {}),
    ({'src': '10.0.0.1'}, None, {C.CTA_TUPLE_IP: {C.CTA_IP_V4_SRC: b'\x0a\0\0\x01'}}),
    ({'dst': '10.0.0.2'}, 17, {C.CTA_TUPLE_IP: {C.CTA_IP_V4_DST: b'\x0a\0\0\x02'},
                               C.CTA_TUPLE_PROTO: {C.CTA_PROTO_NUM: b'\x11'}}),
    ({'dport': 53}, 17, {C.CTA_TUPLE_PROTO: {C.CTA_PROTO_NUM: b'\x11', C.CTA_PROTO_DST_PORT: b'\x00\x35'}}),
    ({'icmp_type': 0}, 1, {C.CTA_TUPLE_PROTO: {C.CTA_PROTO_NUM: b'\x01', C.CTA_PROTO_ICMP_TYPE: b'\x00'}}),
    ({'src': None, 'zone': 7}, None, {C.CTA_TUPLE_ZONE: b'\x00\x07'}),
    ({'sport': 80}, None, {}),  # ports without a protocol cannot be encoded
])
def test_tuple_attrs_partial(tup, proto, expected):
    assert _tuple(V4, tup, proto) == expected


def test_tuple_attrs_zero_port_and_zone_are_kept():
    t = _tuple(V4, {'sport': 0, 'zone': 0}, 6)
    assert t[C.CTA_TUPLE_PROTO][C.CTA_PROTO_SRC_PORT] == b'\0\0'
    assert t[C.CTA_TUPLE_ZONE] == b'\0\0'


# -- mirror ---------------------------------------------------------------------------

@pytest.mark.parametrize('tup, proto, expected', [
    ({'src': 'a', 'dst': 'b', 'sport': 1, 'dport': 2}, 6, {'src': 'b', 'dst': 'a', 'sport': 2, 'dport': 1}),
    ({'src': 'a', 'dst': 'b', 'sport': 1, 'dport': 2}, 132, {'src': 'b', 'dst': 'a', 'sport': 2, 'dport': 1}),
    ({'src': 'a', 'dst': 'b'}, 17, {'src': 'b', 'dst': 'a', 'sport': None, 'dport': None}),
    ({'src': 'a', 'dst': 'b', 'icmp_type': 8, 'icmp_code': 0, 'icmp_id': 9}, 1,
     {'src': 'b', 'dst': 'a', 'icmp_type': 0, 'icmp_code': 0, 'icmp_id': 9}),
    ({'src': 'a', 'dst': 'b', 'icmp_type': 13, 'icmp_code': 0, 'icmp_id': 9}, 1,
     {'src': 'b', 'dst': 'a', 'icmp_type': 14, 'icmp_code': 0, 'icmp_id': 9}),
    ({'src': 'a', 'dst': 'b', 'icmp_type': 3, 'icmp_code': 1, 'icmp_id': 0}, 1,
     {'src': 'b', 'dst': 'a', 'icmp_type': 3, 'icmp_code': 1, 'icmp_id': 0}),
    ({'src': 'a', 'dst': 'b', 'icmp_type': 128, 'icmp_code': 0, 'icmp_id': 5}, 58,
     {'src': 'b', 'dst': 'a', 'icmp_type': 129, 'icmp_code': 0, 'icmp_id': 5}),
    ({'src': 'a', 'dst': 'b', 'src_key': 1, 'dst_key': 2}, 47, {'src': 'b', 'dst': 'a', 'src_key': 2, 'dst_key': 1}),
])
def test_mirror(tup, proto, expected):
    before = dict(tup)
    assert E.mirror(tup, proto) == expected
    assert tup == before


# -- status, labels -------------------------------------------------------------------

@pytest.mark.parametrize('names, bits', [
    (None, 0),
    ([], 0),
    (['EXPECTED'], 1),
    (['SEEN_REPLY', 'ASSURED'], 6),
    (['ASSURED', 'CONFIRMED', 'SEEN_REPLY'], 14),
    (['SRC_NAT', 'DST_NAT', 'SRC_NAT_DONE', 'DST_NAT_DONE'], 0x1B0),
    (['HW_OFFLOAD'], 1 << 15),
])
def test_status_bits(names, bits):
    assert E.status_bits(names) == bits


@pytest.mark.parametrize('bits, expected', [
    ([], b'\0' * 16),
    ([0], b'\x01' + b'\0' * 15),
    ([1, 9], b'\x02\x02' + b'\0' * 14),
    ([127], b'\0' * 15 + b'\x80'),
    ([0, 0], b'\x01' + b'\0' * 15),
])
def test_labels_bytes_little_endian_128_bits(bits, expected):
    assert E.labels_bytes(bits) == expected


# -- whole requests -------------------------------------------------------------------

TCP_SPEC = {
    'family': V4, 'proto': 6,
    'orig': {'src': '10.0.0.1', 'dst': '10.0.0.2', 'sport': 40000, 'dport': 80},
    'reply': {'src': '10.0.0.2', 'dst': '10.0.0.1', 'sport': 80, 'dport': 40000},
}


def _top(attrs):
    return {t: p for t, _n, p in parse(attrs)}


def test_entry_attrs_minimal_has_both_tuples_only():
    out = parse(E.entry_attrs(TCP_SPEC, create=True))
    assert [(t, n) for t, n, _p in out] == [(C.CTA_TUPLE_ORIG, True), (C.CTA_TUPLE_REPLY, True)]
    assert out[0][2] == E.tuple_attrs(V4, TCP_SPEC['orig'], 6)
    assert out[1][2] == E.tuple_attrs(V4, TCP_SPEC['reply'], 6)


@pytest.mark.parametrize('create, expected', [(True, 14), (False, 6)])
def test_entry_attrs_create_adds_confirmed(create, expected):
    spec = dict(TCP_SPEC, status=E.status_bits(['SEEN_REPLY', 'ASSURED']))
    assert be(_top(E.entry_attrs(spec, create))[C.CTA_STATUS]) == expected


def test_entry_attrs_create_all_attributes():
    spec = dict(TCP_SPEC, zone=3, id=77, timeout=120, status=0, mark=0x10, labels=[2], proto_state=3,
                src_nat='192.0.2.1', dst_nat='192.0.2.2', helper='ftp', orig_zone=4, reply_zone=5)
    top = _top(E.entry_attrs(spec, create=True))
    assert be(top[C.CTA_ZONE]) == 3
    assert be(top[C.CTA_ID]) == 77
    assert be(top[C.CTA_TIMEOUT]) == 120
    assert be(top[C.CTA_STATUS]) == C.IPS_CONFIRMED
    assert be(top[C.CTA_MARK]) == 0x10
    assert top[C.CTA_LABELS] == E.labels_bytes([2])
    assert C.CTA_LABELS_MASK not in top
    assert tree(top[C.CTA_PROTOINFO]) == {C.CTA_PROTOINFO_TCP: {C.CTA_PROTOINFO_TCP_STATE: b'\x03'}}
    assert tree(top[C.CTA_NAT_SRC]) == {C.CTA_NAT_V4_MINIP: b'\xc0\x00\x02\x01', C.CTA_NAT_V4_MAXIP: b'\xc0\x00\x02\x01'}
    assert tree(top[C.CTA_NAT_DST]) == {C.CTA_NAT_V4_MINIP: b'\xc0\x00\x02\x02', C.CTA_NAT_V4_MAXIP: b'\xc0\x00\x02\x02'}
    assert tree(top[C.CTA_HELP]) == {C.CTA_HELP_NAME: b'ftp\0'}
    assert tree(top[C.CTA_TUPLE_ORIG])[C.CTA_TUPLE_ZONE] == b'\x00\x04'
    assert tree(top[C.CTA_TUPLE_REPLY])[C.CTA_TUPLE_ZONE] == b'\x00\x05'
    assert spec['orig'] == TCP_SPEC['orig']  # the caller's tuple is not modified


def test_entry_attrs_update_sends_label_mask_and_no_create_only_attributes():
    spec = dict(TCP_SPEC, labels=[1], src_nat='192.0.2.1', dst_nat='192.0.2.2', helper='ftp', mark=0)
    top = _top(E.entry_attrs(spec, create=False))
    assert top[C.CTA_LABELS_MASK] == b'\xff' * 16
    assert be(top[C.CTA_MARK]) == 0
    for absent in (C.CTA_NAT_SRC, C.CTA_NAT_DST, C.CTA_HELP, C.CTA_ZONE, C.CTA_STATUS):
        assert absent not in top


def test_entry_attrs_v6_nat():
    spec = {'family': V6, 'proto': 17, 'orig': {'src': 'fd00::1', 'dst': 'fd00::2', 'sport': 1, 'dport': 2},
            'reply': {'src': 'fd00::9', 'dst': 'fd00::1', 'sport': 2, 'dport': 1}, 'dst_nat': 'fd00::9'}
    top = _top(E.entry_attrs(spec, create=True))
    raw = E.addr_bytes(V6, 'fd00::9')
    assert tree(top[C.CTA_NAT_DST]) == {C.CTA_NAT_V6_MINIP: raw, C.CTA_NAT_V6_MAXIP: raw}


@pytest.mark.parametrize('proto, extra, expected', [
    (6, {}, {C.CTA_PROTOINFO_TCP: {1: b'\x04'}}),
    # the kernel refuses an SCTP state without both verification tags, DCCP without the role
    (132, {}, {C.CTA_PROTOINFO_SCTP: {1: b'\x04', C.CTA_PROTOINFO_SCTP_VTAG_ORIGINAL: b'\0\0\0\0',
                                      C.CTA_PROTOINFO_SCTP_VTAG_REPLY: b'\0\0\0\0'}}),
    (132, {'sctp_vtags': (0x01020304, 0x0a0b0c0d)},
     {C.CTA_PROTOINFO_SCTP: {1: b'\x04', C.CTA_PROTOINFO_SCTP_VTAG_ORIGINAL: b'\x01\x02\x03\x04',
                             C.CTA_PROTOINFO_SCTP_VTAG_REPLY: b'\x0a\x0b\x0c\x0d'}}),
    (33, {}, {C.CTA_PROTOINFO_DCCP: {1: b'\x04', C.CTA_PROTOINFO_DCCP_ROLE: b'\x00'}}),
    (33, {'dccp_role': 1}, {C.CTA_PROTOINFO_DCCP: {1: b'\x04', C.CTA_PROTOINFO_DCCP_ROLE: b'\x01'}}),
])
def test_entry_attrs_proto_state(proto, extra, expected):
    spec = dict(TCP_SPEC, proto=proto, proto_state=4, **extra)
    assert tree(_top(E.entry_attrs(spec, True))[C.CTA_PROTOINFO]) == expected


def test_entry_attrs_proto_state_ignored_for_udp():
    spec = dict(TCP_SPEC, proto=17, proto_state=3)
    assert C.CTA_PROTOINFO not in _top(E.entry_attrs(spec, True))


@pytest.mark.parametrize('zone, ct_id, expected', [
    (None, None, [C.CTA_TUPLE_ORIG]),
    (0, None, [C.CTA_TUPLE_ORIG]),
    (9, None, [C.CTA_TUPLE_ORIG, C.CTA_ZONE]),
    (9, 1234, [C.CTA_TUPLE_ORIG, C.CTA_ZONE, C.CTA_ID]),
    (None, 0, [C.CTA_TUPLE_ORIG, C.CTA_ID]),
])
def test_key_attrs(zone, ct_id, expected):
    out = parse(E.key_attrs(V4, 6, TCP_SPEC['orig'], zone, ct_id))
    assert [t for t, _n, _p in out] == expected
    assert out[0][2] == E.tuple_attrs(V4, TCP_SPEC['orig'], 6)
    top = {t: p for t, _n, p in out}
    if zone:
        assert be(top[C.CTA_ZONE]) == zone
    if ct_id is not None:
        assert be(top[C.CTA_ID]) == ct_id
