# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the filter compiler pushes into the kernel request, and what it leaves to Python."""

from __future__ import annotations

import struct

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.slots import entry_values
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import (
    compile_filter)
from ansible_collections.netfilter.conntrack.tests.unit.plugins.module_utils.ctmsg import tree

V0, V4, V6 = C.AF_UNSPEC, C.AF_INET, C.AF_INET6


def u32(v):
    return struct.pack('=I', v)


def b32(v):
    return struct.pack('>I', v)


def b16(v):
    return struct.pack('>H', v)


def ip4(a):
    return bytes(int(x) for x in a.split('.'))


def proto(num, **fields):
    out = {C.CTA_PROTO_NUM: bytes((num,))}
    for key, value in fields.items():
        attr = getattr(C, 'CTA_PROTO_' + key.upper())
        out[attr] = bytes((value,)) if 'TYPE' in key.upper() or 'CODE' in key.upper() else b16(value)
    return {C.CTA_TUPLE_PROTO: out}


def flt(orig=None, reply=None):
    out = {}
    if orig is not None:
        out[C.CTA_FILTER_ORIG_FLAGS] = u32(orig)
    if reply is not None:
        out[C.CTA_FILTER_REPLY_FLAGS] = u32(reply)
    return {C.CTA_FILTER: out}


F = C  # flag names read better as F.FILTER_*

# params -> (families, describe_kernel(), kernel_complete, {family: kernel_attrs tree})
CASES = {
    'nothing': ({}, [V0], [], True, {V0: {}}),
    'family-ipv4': ({'family': 'ipv4'}, [V4], ['family'], True, {V4: {}}),
    'family-ipv6': ({'family': 'ipv6'}, [V6], ['family'], True, {V6: {}}),
    'orig-src-exact': (
        {'orig_src': '10.0.0.1'}, [V4], ['family', 'orig_tuple'], True,
        {V4: {C.CTA_TUPLE_ORIG: {C.CTA_TUPLE_IP: {C.CTA_IP_V4_SRC: ip4('10.0.0.1')}}, **flt(F.FILTER_IP_SRC)}}),
    'orig-dst-slash-32': (
        {'orig_dst': '10.0.0.2/32'}, [V4], ['family', 'orig_tuple'], True,
        {V4: {C.CTA_TUPLE_ORIG: {C.CTA_TUPLE_IP: {C.CTA_IP_V4_DST: ip4('10.0.0.2')}}, **flt(F.FILTER_IP_DST)}}),
    'orig-src-cidr-not-pushed': ({'orig_src': '10.0.0.0/8'}, [V4], ['family'], False, {V4: {}}),
    'orig-src-list-two-requests': ({'orig_src': ['10.0.0.1', '10.0.0.2']}, [V4],
                                   ['family', 'orig_tuple', '2 requests'], True, {V4: {}}),
    'orig-src-big-cidr-not-pushed': ({'orig_src': '10.0.0.0/28'}, [V4], ['family'], False, {V4: {}}),
    'orig-src-ipv6-not-pushed': ({'orig_src': 'fd00::1'}, [V6], ['family'], False, {V6: {}}),
    'proto-any-family-two-dumps': (
        {'proto': 'tcp'}, [V4, V6], ['family', 'orig_tuple'], True,
        {V4: {C.CTA_TUPLE_ORIG: proto(6), **flt(F.FILTER_PROTO_NUM)},
         V6: {C.CTA_TUPLE_ORIG: proto(6), **flt(F.FILTER_PROTO_NUM)},
         V0: {}}),
    'proto-ipv6-one-dump': (
        {'proto': 'udp', 'family': 'ipv6'}, [V6], ['family', 'orig_tuple'], True,
        {V6: {C.CTA_TUPLE_ORIG: proto(17), **flt(F.FILTER_PROTO_NUM)}}),
    'proto-list-four-requests': ({'proto': ['tcp', 'udp']}, [V4, V6], ['family', 'orig_tuple', '4 requests'],
                                 True, {V0: {}}),
    'proto-list-too-many': ({'proto': ['tcp', 'udp', 'sctp', 'gre', 'icmp']}, [V0], [], False, {V0: {}}),
    'proto-and-port': (
        {'proto': 'tcp', 'dport': 80, 'family': 'ipv4'}, [V4], ['family', 'orig_tuple'], True,
        {V4: {C.CTA_TUPLE_ORIG: proto(6, dst_port=80), **flt(F.FILTER_PROTO_NUM | F.FILTER_PROTO_DST_PORT)}}),
    'proto-and-both-ports': (
        {'proto': 'sctp', 'sport': '5000', 'orig_port_dst': 6000, 'family': 'ipv4'}, [V4],
        ['family', 'orig_tuple'], True,
        {V4: {C.CTA_TUPLE_ORIG: proto(132, src_port=5000, dst_port=6000),
              **flt(F.FILTER_PROTO_NUM | F.FILTER_PROTO_SRC_PORT | F.FILTER_PROTO_DST_PORT)}}),
    'port-list-two-requests': (
        {'proto': 'tcp', 'dport': [80, 443], 'family': 'ipv4'}, [V4], ['family', 'orig_tuple', '2 requests'], True,
        {V4: {C.CTA_TUPLE_ORIG: proto(6), **flt(F.FILTER_PROTO_NUM)}}),
    'port-without-proto-not-pushed': ({'dport': 80}, [V0], [], False, {V0: {}}),
    'reply-src-with-proto': (
        {'proto': 'udp', 'reply_src': '10.0.0.5'}, [V4], ['family', 'orig_tuple', 'reply_tuple'], True,
        {V4: {C.CTA_TUPLE_ORIG: proto(17),
              C.CTA_TUPLE_REPLY: {C.CTA_TUPLE_IP: {C.CTA_IP_V4_SRC: ip4('10.0.0.5')}, **proto(17)},
              **flt(F.FILTER_PROTO_NUM, F.FILTER_IP_SRC | F.FILTER_PROTO_NUM)}}),
    'reply-dst-and-port': (
        {'proto': 'tcp', 'reply_dst': '10.0.0.1', 'reply_port_dst': 40000}, [V4],
        ['family', 'orig_tuple', 'reply_tuple'], True,
        {V4: {C.CTA_TUPLE_ORIG: proto(6),
              C.CTA_TUPLE_REPLY: {C.CTA_TUPLE_IP: {C.CTA_IP_V4_DST: ip4('10.0.0.1')}, **proto(6, dst_port=40000)},
              **flt(F.FILTER_PROTO_NUM, F.FILTER_IP_DST | F.FILTER_PROTO_DST_PORT | F.FILTER_PROTO_NUM)}}),
    'reply-dst-without-proto': (
        {'reply_dst': '10.0.0.1'}, [V4], ['family', 'reply_tuple'], True,
        {V4: {C.CTA_TUPLE_REPLY: {C.CTA_TUPLE_IP: {C.CTA_IP_V4_DST: ip4('10.0.0.1')}}, **flt(None, F.FILTER_IP_DST)}}),
    'icmp-fields': (
        {'proto': 'icmp', 'icmp_type': 8, 'icmp_code': 0, 'icmp_id': 7}, [V4, V6], ['family', 'orig_tuple'], True,
        {V4: {C.CTA_TUPLE_ORIG: proto(1, icmp_type=8, icmp_code=0, icmp_id=7),
              **flt(F.FILTER_PROTO_NUM | F.FILTER_ICMP_TYPE | F.FILTER_ICMP_CODE | F.FILTER_ICMP_ID)}}),
    'icmpv6-fields': (
        {'proto': 'icmpv6', 'icmp_type': 128, 'family': 'ipv6'}, [V6], ['family', 'orig_tuple'], True,
        {V6: {C.CTA_TUPLE_ORIG: proto(58, icmpv6_type=128), **flt(F.FILTER_PROTO_NUM | F.FILTER_ICMPV6_TYPE)}}),
    'icmp-field-without-proto-not-pushed': ({'icmp_type': 8}, [V0], [], False, {V0: {}}),
    'mark-mask': ({'mark': '0x10/0xf0'}, [V0], ['mark'], True,
                  {V0: {C.CTA_MARK: b32(0x10), C.CTA_MARK_MASK: b32(0xF0)}}),
    'mark-zero': ({'mark': 0}, [V0], ['mark'], True, {V0: {C.CTA_MARK: b32(0), C.CTA_MARK_MASK: b32(0xFFFFFFFF)}}),
    'status': ({'status': ['ASSURED', 'SEEN_REPLY']}, [V0], ['status'], True,
               {V0: {C.CTA_STATUS: b32(6), C.CTA_STATUS_MASK: b32(6)}}),
    'zone': ({'zone': 5}, [V0], ['zone'], True, {V0: {C.CTA_ZONE: b16(5)}}),
    'mark-status-zone-tuple': (
        {'mark': 1, 'status': ['ASSURED'], 'zone': 2, 'orig_src': '10.0.0.1'}, [V4],
        ['family', 'orig_tuple', 'mark', 'status', 'zone'], True,
        {V4: {C.CTA_MARK: b32(1), C.CTA_MARK_MASK: b32(0xFFFFFFFF), C.CTA_STATUS: b32(4),
              C.CTA_STATUS_MASK: b32(4), C.CTA_ZONE: b16(2),
              C.CTA_TUPLE_ORIG: {C.CTA_TUPLE_IP: {C.CTA_IP_V4_SRC: ip4('10.0.0.1')}}, **flt(F.FILTER_IP_SRC)}}),
    'src-nat-prefilters-reply-dst': (
        {'src_nat': '203.0.113.1'}, [V4], ['family', 'reply_tuple'], False,
        {V4: {C.CTA_TUPLE_REPLY: {C.CTA_TUPLE_IP: {C.CTA_IP_V4_DST: ip4('203.0.113.1')}},
              **flt(None, F.FILTER_IP_DST)}}),
    'dst-nat-prefilters-reply-src': (
        {'dst_nat': '10.1.0.5', 'proto': 'tcp'}, [V4], ['family', 'orig_tuple', 'reply_tuple'], False,
        {V4: {C.CTA_TUPLE_ORIG: proto(6),
              C.CTA_TUPLE_REPLY: {C.CTA_TUPLE_IP: {C.CTA_IP_V4_SRC: ip4('10.1.0.5')}, **proto(6)},
              **flt(F.FILTER_PROTO_NUM, F.FILTER_IP_SRC | F.FILTER_PROTO_NUM)}}),
    'python-only-options': (
        {'proto_state': ['ESTABLISHED'], 'ctstate': ['NEW'], 'labels': [1], 'nat': 'src', 'helper': 'ftp',
         'orig_zone': 1, 'reply_zone': 2, 'any_nat': '10.0.0.0/8', 'exclude': [{'mark': 1}]},
        [V4], ['family'], False, {V4: {}}),
}


@pytest.mark.parametrize('name', sorted(CASES))
def test_kernel_pushdown(name):
    params, families, described, complete, attrs = CASES[name]
    f = compile_filter(params)
    assert f.families == families
    assert f.describe_kernel() == described
    assert f.kernel_complete is complete
    assert (f.residual() is None) is complete
    assert (f.residual_values() is None) is complete
    for family, expected in attrs.items():
        assert tree(f.kernel_attrs(family)) == expected


def test_unspec_dump_never_carries_a_tuple_filter():
    f = compile_filter({'proto': 'tcp', 'dport': 22, 'mark': 3})
    assert tree(f.kernel_attrs(V0)) == {C.CTA_MARK: b32(3), C.CTA_MARK_MASK: b32(0xFFFFFFFF)}


def _entry(src, state, mark=0):
    return {'family': 'ipv4', 'proto': 'tcp', 'proto_num': 6, 'orig': {'src': src, 'dst': '10.0.0.2', 'sport': 1,
            'dport': 2}, 'reply': {'src': '10.0.0.2', 'dst': src, 'sport': 2, 'dport': 1},
            'proto_state': state, 'status': ['ASSURED'], 'mark': mark, 'zone': 0, 'labels': []}


def test_residual_only_holds_what_the_kernel_did_not_do():
    f = compile_filter({'orig_src': '10.0.0.1', 'proto_state': ['ESTABLISHED'], 'mark': 7})
    assert len(f.residual_checks) == 1
    res = f.residual()
    other_src_wrong_mark = _entry('10.9.9.9', 'ESTABLISHED', mark=1)
    assert res(other_src_wrong_mark) is True       # address and mark were the kernel's job
    assert f.matches(other_src_wrong_mark) is False
    assert res(_entry('10.0.0.1', 'TIME_WAIT', mark=7)) is False
    assert f.matches(_entry('10.0.0.1', 'ESTABLISHED', mark=7)) is True


def test_residual_of_cidr_checks_the_address():
    f = compile_filter({'orig_src': '10.0.0.0/24', 'mark': 7})
    res = f.residual()
    assert res(_entry('10.0.0.9', None, mark=1)) is True   # mark pushed, CIDR not
    assert res(_entry('10.0.1.9', None, mark=7)) is False


def test_exclude_filters_are_compiled_but_never_pushed():
    f = compile_filter({'proto': 'udp', 'orig_dst': '10.96.0.10',
                        'exclude': [{'reply_src': '10.244.0.5'}, {'reply_src': '10.244.0.6', 'mark': 1}]})
    assert f.describe_kernel() == ['family', 'orig_tuple']
    assert not f.kernel_complete
    assert len(f.excludes) == 2
    attrs = tree(f.kernel_attrs(V4))
    assert C.CTA_TUPLE_REPLY not in attrs and C.CTA_MARK not in attrs


def _requests(params):
    return [(fam, tree(attrs)) for fam, attrs in compile_filter(params).requests()]


def _src(a):
    return {C.CTA_TUPLE_ORIG: {C.CTA_TUPLE_IP: {C.CTA_IP_V4_SRC: ip4(a)}}, **flt(F.FILTER_IP_SRC)}


def test_requests_one_per_alternative():
    src = _src
    assert _requests({'orig_src': ['10.0.0.2', '10.0.0.1']}) == [(V4, src('10.0.0.1')), (V4, src('10.0.0.2'))]
    # a small CIDR: every address of it, network and broadcast included
    assert _requests({'orig_src': '10.0.0.4/30'}) == [
        (V4, src('10.0.0.4')), (V4, src('10.0.0.5')), (V4, src('10.0.0.6')), (V4, src('10.0.0.7'))]
    assert _requests({'proto': 'tcp', 'dport': [443, 80], 'family': 'ipv4'}) == [
        (V4, {C.CTA_TUPLE_ORIG: proto(6, dst_port=80), **flt(F.FILTER_PROTO_NUM | F.FILTER_PROTO_DST_PORT)}),
        (V4, {C.CTA_TUPLE_ORIG: proto(6, dst_port=443), **flt(F.FILTER_PROTO_NUM | F.FILTER_PROTO_DST_PORT)})]
    assert _requests({'proto': ['udp', 'tcp']}) == [
        (V4, {C.CTA_TUPLE_ORIG: proto(6), **flt(F.FILTER_PROTO_NUM)}),
        (V4, {C.CTA_TUPLE_ORIG: proto(17), **flt(F.FILTER_PROTO_NUM)}),
        (V6, {C.CTA_TUPLE_ORIG: proto(6), **flt(F.FILTER_PROTO_NUM)}),
        (V6, {C.CTA_TUPLE_ORIG: proto(17), **flt(F.FILTER_PROTO_NUM)})]


def test_requests_product_stays_small():
    f = compile_filter({'orig_src': ['10.0.0.1', '10.0.0.2'], 'orig_dst': ['10.0.1.1', '10.0.1.2']})
    assert len(f.requests()) == 4 and f.kernel_complete
    f = compile_filter({'orig_src': ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
                        'orig_dst': ['10.0.1.1', '10.0.1.2', '10.0.1.3']})
    assert f.alts == [] and not f.kernel_complete and f.requests() == [(V4, b'')]


def test_nat_lists_only_narrow_the_dump():
    f = compile_filter({'dst_nat': ['10.1.0.5', '10.1.0.6']})
    assert len(f.requests()) == 2 and not f.kernel_complete   # the NAT test stays here
    assert f.residual_slots() == (0, 1, 3, 4, 9, 10, 12, 13)


def test_a_field_is_pushed_once():
    # reply src taken by the list: dst_nat's single address does not overwrite it
    f = compile_filter({'reply_src': ['10.1.0.5', '10.1.0.6'], 'dst_nat': '10.1.0.7'})
    reqs = _requests({'reply_src': ['10.1.0.5', '10.1.0.6'], 'dst_nat': '10.1.0.7'})
    assert [r[C.CTA_TUPLE_REPLY][C.CTA_TUPLE_IP][C.CTA_IP_V4_SRC] for _f, r in reqs] == [
        ip4('10.1.0.5'), ip4('10.1.0.6')]
    assert not f.kernel_complete


def test_ipv6_lists_never_reach_the_kernel():
    f = compile_filter({'orig_src': ['fd00::1', 'fd00::2']})
    assert f.alts == [] and f.requests() == [(V6, b'')] and not f.kernel_complete


@pytest.mark.parametrize('params', [
    {'orig_src': '10.0.0.4/30'},
    {'proto': ['udp', 'tcp']},
    {'proto': 'tcp', 'dport': [443, 80], 'family': 'ipv4', 'proto_state': 'ESTABLISHED'},
    {'reply_src': ['10.1.0.5', '10.1.0.6'], 'mark': 16},
])
def test_single_request_matches_the_same(params):
    """One request, the alternatives matched here: same answers, the original untouched."""
    multi = compile_filter(params)
    one = multi.single_request()
    assert len(multi.requests()) > 1 and len(one.requests()) == 1
    assert not one.kernel_complete and one.alts == []
    assert 'requests' not in ' '.join(one.describe_kernel())
    # the one request keeps what every alternative shares (family, mark, proto...)
    fams = {fam for fam, _attrs in multi.requests()}
    assert {fam for fam, _attrs in one.requests()} == (fams if len(fams) == 1 else {V0})
    passed = 0
    for fields in ({'src': '10.0.0.5', 'dst': '10.9.9.9', 'proto': 'tcp', 'dport': 80, 'rsrc': '10.1.0.6'},
                   {'src': '10.0.0.9', 'dst': '10.9.9.9', 'proto': 'udp', 'dport': 53, 'rsrc': '10.1.0.7'},
                   {'src': '10.0.0.4', 'dst': '10.9.9.9', 'proto': 'sctp', 'dport': 443, 'rsrc': '10.1.0.5'}):
        entry = _flow(fields)
        assert one.matches(entry) == multi.matches(entry)
        # what the one request's kernel part lets through, its residual decides as the
        # multi-request filter does
        if _kernel_ok(one, entry):
            passed += 1
            assert one.residual()(entry) == multi.matches(entry)
    assert passed > 0
    assert multi.single_request() is not multi and multi.requests() == compile_filter(params).requests()
    assert compile_filter({'orig_src': '10.0.0.1'}).single_request().requests() == \
        compile_filter({'orig_src': '10.0.0.1'}).requests()


def _kernel_ok(cf, entry):
    """Whether the one request's kernel part (family, mark, proto...) lets entry through."""
    return all(fn(*entry_values(entry, {})) for kernel, fn in cf.checks if kernel)


def _flow(f):
    proto_num = {'tcp': 6, 'udp': 17, 'sctp': 132}[f['proto']]
    entry = {'family': 'ipv4', 'proto': f['proto'], 'proto_num': proto_num, 'mark': 16,
             'orig': {'src': f['src'], 'dst': f['dst'], 'sport': 40000, 'dport': f['dport']},
             'reply': {'src': f['rsrc'], 'dst': f['src'], 'sport': f['dport'], 'dport': 40000}}
    if f['proto'] == 'tcp':
        entry['proto_state'] = 'ESTABLISHED'
    return entry


@pytest.mark.parametrize('params, entries, buckets, worth', [
    # a /30 (4 requests): one dump on small tables in a big hash table, 4 on big tables
    ({'orig_src': '10.0.0.4/30'}, 2000, 262144, False),
    ({'orig_src': '10.0.0.4/30'}, 10000, 262144, False),
    ({'orig_src': '10.0.0.4/30'}, 60000, 262144, True),
    ({'orig_src': '10.0.0.4/30'}, 250000, 262144, True),
    # a small hash table makes each walk cheap
    ({'orig_src': '10.0.0.4/30'}, 10000, 16384, True),
    # 8 requests need a larger table to pay
    ({'orig_src': '10.0.0.0/29'}, 100000, 262144, False),
    ({'orig_src': '10.0.0.0/29'}, 250000, 262144, True),
    # one request is always worth it; an unknown bucket count counts entries only
    ({'orig_src': '10.0.0.4'}, 10, 262144, True),
    ({'orig_src': '10.0.0.4/30'}, 2000, None, True),
    # an empty table: nothing to send either way, the walks are the cost
    ({'proto': ['udp', 'tcp']}, 0, 262144, False),
])
def test_worth_requests(params, entries, buckets, worth):
    assert compile_filter(params).worth_requests(entries, buckets) is worth
