# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The events' socket filters (_filter.bpf) against the Python filter, through an exact
cBPF interpreter (cbpf.py): on recorded kernel events, generated events, damaged
messages, and hypothesis-generated filters near the entries they judge.

Two properties:
- sound: the program rejects only messages the Python filter rejects (or cannot decode);
- exact: where the program decides the whole filter, on well-formed events it accepts
  exactly what the Python filter accepts.
"""

from __future__ import annotations

import ipaddress
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import encode as E
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.bpf import event_program
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.decode import Decoder
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_event_stream import event_type
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import compile_filter
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError
from ansible_collections.netfilter.conntrack.tests.unit.plugins.module_utils import cbpf
from ansible_collections.netfilter.conntrack.tests.unit.plugins.module_utils.ctmsg import (
    ct_attrs, ct_message, message)
from ansible_collections.netfilter.conntrack.tests.unit.plugins.module_utils.fuzz_props import (
    entry_specs, kernel_message, mutated_messages)

V4, V6 = C.AF_INET, C.AF_INET6
FIXTURE = os.path.join(os.path.dirname(__file__), 'fixtures', 'ct_events_recorded.json')


def python_verdict(cf, msg):
    """What conntrack_events' listen() does with one message: True/False, or None when
    it is not an event or does not decode."""
    if len(msg) < 20:
        return None
    mtype, mflags = int.from_bytes(msg[4:6], 'little'), int.from_bytes(msg[6:8], 'little')
    if event_type(mtype, mflags) is None or mtype >> 8 != C.NFNL_SUBSYS_CTNETLINK:
        return None
    try:
        vals = Decoder().values(msg, 20, len(msg))
    except ConntrackError:
        return None
    return cf.matches_values(vals, msg[16])


def bpf_verdict(prog, msg):
    return cbpf.run(prog.insns, msg) != 0


def agree(cf, prog, msg, exact):
    py = python_verdict(cf, msg)
    kern = bpf_verdict(prog, msg)
    if not kern:
        assert py is not True, ('the kernel would drop a match', cf.params, msg.hex())
    if exact and py is not None:
        assert kern == py, (cf.params, prog.applied, msg.hex(), kern, py)


def compiled(params):
    cf = compile_filter(params)
    prog = event_program(cf)
    if prog is not None:
        cbpf.check(prog.insns)
    return cf, prog


def event(spec, kind='NEW'):
    msg, flags = {'NEW': (C.IPCTNL_MSG_CT_NEW, C.NLM_F_CREATE | C.NLM_F_EXCL),
                  'UPDATE': (C.IPCTNL_MSG_CT_NEW, 0),
                  'DESTROY': (C.IPCTNL_MSG_CT_DELETE, 0)}[kind]
    spec = dict(spec)
    fam = spec.pop('family')
    proto = spec.pop('proto')
    return message(ct_attrs(fam, proto, spec.pop('orig'), spec.pop('reply'), **spec), fam,
                   msg=msg, flags=flags)


def udp(src, dst='192.0.2.10', sport=5353, dport=53, fam=V4, **kw):
    return dict(family=fam, proto=17, orig={'src': src, 'dst': dst, 'sport': sport, 'dport': dport},
                reply={'src': dst, 'dst': src, 'sport': dport, 'dport': sport}, **kw)


# -- fixed cases ------------------------------------------------------------------------

FILTERS = [
    {'orig_src': '203.0.113.0/28', 'proto': 'udp'},
    {'orig_src': '203.0.113.5'},
    {'orig_dst': ['192.0.2.10', '192.0.2.0/30'], 'dport': [53, 80]},
    {'reply_src': '198.51.100.7', 'reply_port_dst': 1000},
    {'family': 'ipv6'},
    {'family': 'ipv4', 'proto': ['udp', 'icmp']},
    {'orig_src': '2001:db8::/120'},
    {'orig_src': '2001:db8::5', 'proto': 'tcp', 'sport': 40001},
    {'orig_dst': '2001:db8:1::/48', 'reply_dst': '2001:db8::/33'},
    {'status': ['ASSURED']},
    {'proto': 'udp', 'exclude': [{'orig_src': '203.0.113.3'}, {'reply_src': '198.51.100.7'}]},
    {'proto': 'udp', 'orig_dst': '192.0.2.10', 'exclude': [{'reply_src': '192.0.2.10'}]},
    {'orig_src': '0.0.0.0/0'},
    {'orig_src': '::/0', 'dport': 53},
    {'orig_src': '203.0.113.0/25', 'mark': 42},            # mark stays in Python
    {'proto': 'udp', 'exclude': [{'mark': 42}]},           # an exclude the kernel cannot do
]


def test_programs_pass_the_checker_and_report_terms():
    for params in FILTERS:
        _cf, prog = compiled(params)
        assert prog is not None, params
        assert 0 < len(prog.insns) <= 4096
    assert compiled({'orig_src': '203.0.113.0/28', 'proto': 'udp'})[1].applied == [
        'family', 'orig_tuple']
    assert compiled({'reply_src': '2001:db8::1'})[1].applied == ['family', 'reply_tuple']
    assert compiled({'status': 'ASSURED'})[1].applied == ['status']
    assert compiled({'proto': 'udp', 'exclude': [{'orig_src': '203.0.113.3'}]})[1].applied == [
        'orig_tuple', 'exclude']
    assert compiled({'proto': 'udp', 'exclude': [{'mark': 1}]})[1].applied == ['orig_tuple']
    assert compiled({'mark': 5, 'proto_state': 'ESTABLISHED'})[1] is None
    assert not compiled({'mark': 5, 'proto': 'udp'})[1].complete
    assert compiled({'orig_src': '203.0.113.0/28', 'proto': 'udp'})[1].complete


def _recorded():
    with open(FIXTURE, encoding='ascii') as fh:
        data = json.load(fh)
    if data['byteorder'] != 'little':   # recorded on x86_64; host-order headers
        pytest.fail('fixture byte order %s' % data['byteorder'])
    return [bytes.fromhex(m) for m in data['messages']]


@pytest.mark.parametrize('params', FILTERS)
def test_recorded_kernel_events(params):
    cf, prog = compiled(params)
    msgs = _recorded()
    assert len(msgs) >= 20
    verdicts = set()
    for msg in msgs:
        agree(cf, prog, msg, prog.complete)
        verdicts.add(bpf_verdict(prog, msg))
    # the recorded set has matches for most filters and misses for all but the catch-alls
    if params not in ({'orig_src': '0.0.0.0/0'},):
        assert False in verdicts, params


def test_the_flood_filter_on_generated_events():
    cf, prog = compiled({'orig_src': '203.0.113.0/28', 'proto': 'udp'})
    cases = [(udp('203.0.113.%d' % i), 0 <= i < 16) for i in (0, 5, 15, 16, 17, 200)]
    cases += [(dict(udp('203.0.113.5'), proto=6), False),
              (udp('2001:db8::5', dst='2001:db8::1', fam=V6), False)]
    for spec, want in cases:
        for kind in ('NEW', 'UPDATE', 'DESTROY'):
            msg = event(spec, kind)
            assert bpf_verdict(prog, msg) is want, (spec, kind)
            assert python_verdict(cf, msg) is want


def test_ipv6_words_and_prefixes():
    # a /120 compares three whole words and a masked fourth: a difference in any word misses
    cf, prog = compiled({'orig_src': '2001:db8:0:0:1:2:3:400/120'})
    base = ipaddress.ip_address('2001:db8:0:0:1:2:3:400')
    for delta, want in ((0, True), (0xFF, True), (0x100, False), (1 << 32, False),
                        (1 << 64, False), (1 << 100, False)):
        spec = udp(str(base + delta), dst='2001:db8::1', fam=V6)
        assert bpf_verdict(prog, event(spec)) is want, hex(delta)
        assert python_verdict(cf, event(spec)) is want


def _tuple_with(family, proto, tup, extra_ip=b'', extra_proto=b''):
    src = E.nla(C.CTA_IP_V4_SRC if family == V4 else C.CTA_IP_V6_SRC, ipaddress.ip_address(
        tup['src']).packed)
    dst = E.nla(C.CTA_IP_V4_DST if family == V4 else C.CTA_IP_V6_DST, ipaddress.ip_address(
        tup['dst']).packed)
    ip = E.nest(C.CTA_TUPLE_IP, src, dst, extra_ip)
    pp = E.nest(C.CTA_TUPLE_PROTO, E.u8(C.CTA_PROTO_NUM, proto), E.be16(C.CTA_PROTO_SRC_PORT, 1),
                E.be16(C.CTA_PROTO_DST_PORT, 53), extra_proto)
    return ip + pp


def _raw_event(*attrs, family=V4):
    return E.nlmsg(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_NEW, 0, 1, family, b''.join(attrs))


def test_what_the_program_cannot_read_is_passed_on():
    """Missing, short or doubled attributes: never a rejection the decoder would not make."""
    cf, prog = compiled({'orig_src': '203.0.113.0/28', 'proto': 'udp'})
    tup = {'src': '192.0.2.1', 'dst': '192.0.2.2'}
    inside = E.nla(C.CTA_IP_V4_SRC, ipaddress.ip_address('203.0.113.1').packed)
    reply = E.nest(C.CTA_TUPLE_REPLY, _tuple_with(V4, 17, tup))
    cases = [
        # a second source address after the first: the decoder takes the last one
        _raw_event(E.nest(C.CTA_TUPLE_ORIG, _tuple_with(V4, 17, tup, extra_ip=inside)), reply),
        # an IPv6 source beside the IPv4 one
        _raw_event(E.nest(C.CTA_TUPLE_ORIG, _tuple_with(V4, 17, tup, extra_ip=E.nla(
            C.CTA_IP_V6_SRC, b'\x20\x01' + b'\0' * 14)))),
        # a second original tuple
        _raw_event(E.nest(C.CTA_TUPLE_ORIG, _tuple_with(V4, 17, tup)),
                   E.nest(C.CTA_TUPLE_ORIG, _tuple_with(V4, 17, {'src': '203.0.113.2',
                                                                 'dst': '192.0.2.2'}))),
        # a second protocol number
        _raw_event(E.nest(C.CTA_TUPLE_ORIG, _tuple_with(V4, 6, {'src': '203.0.113.2', 'dst': '192.0.2.2'},
                                                        extra_proto=E.u8(C.CTA_PROTO_NUM, 17)))),
        # a short address attribute
        _raw_event(E.nest(C.CTA_TUPLE_ORIG, E.nest(C.CTA_TUPLE_IP, E.nla(C.CTA_IP_V4_SRC, b'\xcb\x00')))),
        # no tuple at all, only a status
        _raw_event(E.be32(C.CTA_STATUS, 8)),
        # too short for an nfgenmsg; another subsystem; a message type that is no event
        b'\x10\0\0\0\0\x01\0\0' + b'\0' * 8,
        E.nlmsg(C.NFNL_SUBSYS_CTNETLINK_EXP, 0, 0, 1, V4, b''),
        E.nlmsg(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET, 0, 1, V4, b''),
    ]
    for msg in cases:
        assert bpf_verdict(prog, msg), msg.hex()
        agree(cf, prog, msg, False)


def test_long_lists_and_far_jumps():
    nets = ['198.51.100.%d' % i for i in range(0, 120, 2)]
    cf, prog = compiled({'orig_src': nets, 'dport': list(range(1, 60)), 'proto': 'udp'})
    assert len(prog.insns) > 300   # jumps beyond 255 instructions go through JA
    for last in range(0, 130, 3):
        for dport in (1, 59, 60):
            msg = event(udp('198.51.100.%d' % last, dport=dport))
            assert bpf_verdict(prog, msg) is (last % 2 == 0 and last < 120 and dport < 60)
            agree(cf, prog, msg, True)


# -- hypothesis: filters drawn near the entries -----------------------------------------

def _near_net(draw, addr):
    ip = ipaddress.ip_address(addr)
    bits = ip.max_prefixlen
    if draw(st.booleans()):
        ip = ipaddress.ip_address(int(ip) ^ (1 << draw(st.integers(0, bits - 1))))
    return '%s/%d' % (ip, draw(st.integers(0, bits)))


@st.composite
def near_filter(draw, spec, depth=1):
    """A filter over what the program decides, built from the entry's own values (so
    that matches and near misses are both common), sometimes with a Python-only term."""
    fam, proto = spec['family'], spec['proto']
    out = {}
    keys = draw(st.lists(st.sampled_from(('family', 'proto', 'orig_src', 'orig_dst',
                                          'reply_src', 'reply_dst', 'sport', 'dport',
                                          'reply_port_src', 'reply_port_dst', 'status', 'mark')),
                         max_size=4, unique=True))
    for key in keys:
        if key == 'family':
            out[key] = draw(st.sampled_from(('ipv4', 'ipv6', 'any')))
        elif key == 'proto':
            out[key] = draw(st.lists(st.sampled_from((proto, 6, 17, 1, 58, 132)), min_size=1,
                                     max_size=3))
        elif key in ('orig_src', 'orig_dst', 'reply_src', 'reply_dst'):
            side, field = key.split('_')
            addr = spec[side][field]
            out[key] = [_near_net(draw, addr) for _i in range(draw(st.integers(1, 3)))]
        elif key == 'status':
            out[key] = draw(st.lists(st.sampled_from(sorted(C.STATUS_BITS)), min_size=1,
                                     max_size=2))
        elif key == 'mark':
            out[key] = draw(st.sampled_from((0, 1, spec['mark'] or 0)))
        else:
            side = 'reply' if key.startswith('reply') else 'orig'
            field = 'sport' if key in ('sport', 'reply_port_src') else 'dport'
            own = spec[side].get(field) or 1
            out[key] = draw(st.lists(st.sampled_from((own, max(1, own ^ 1), 53)), min_size=1,
                                     max_size=2))
    if depth and draw(st.integers(0, 2)) == 0:
        out['exclude'] = draw(st.lists(near_filter(spec, 0), min_size=1, max_size=2))
    if draw(st.booleans()) and fam == V4:
        out.pop('family', None)
    return out


@st.composite
def near_cases(draw):
    spec = draw(entry_specs())
    params = draw(near_filter(spec))
    kind = draw(st.sampled_from(('NEW', 'UPDATE', 'DESTROY')))
    return params, spec, kind


def _event_of(spec, kind):
    msg = bytearray(kernel_message(spec))
    mtype = {'DESTROY': C.IPCTNL_MSG_CT_DELETE}.get(kind, C.IPCTNL_MSG_CT_NEW)
    msg[4:6] = ((C.NFNL_SUBSYS_CTNETLINK << 8) | mtype).to_bytes(2, 'little')
    msg[6:8] = (C.NLM_F_CREATE | C.NLM_F_EXCL if kind == 'NEW' else 0).to_bytes(2, 'little')
    return bytes(msg)


def _settings(n):
    return settings(max_examples=n, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


@_settings(300)
@given(near_cases())
def test_fuzz_generated_events_agree(case):
    params, spec, kind = case
    try:
        cf, prog = compiled(params)
    except ConntrackError:
        return
    if prog is None:
        return
    agree(cf, prog, _event_of(spec, kind), prog.complete)


@_settings(250)
@given(st.sampled_from(FILTERS + [{'orig_src': '10.0.0.0/8'}, {'orig_dst': '2001:db8::/32'},
                                  {'proto': 'tcp', 'sport': 1}]),
       mutated_messages())
def test_fuzz_damaged_messages_are_never_dropped_wrongly(params, buf):
    cf, prog = compiled(params)
    # the kernel hands a filter one message per skb: its first message, as long as it says
    msg = buf
    if len(buf) >= 16:
        mlen = int.from_bytes(buf[:4], 'little')
        if 20 <= mlen <= len(buf):
            msg = buf[:mlen]
    agree(cf, prog, msg, False)
    agree(cf, prog, buf, False)


def test_ct_message_helper_is_an_event_too():
    """ctmsg's dump-shaped messages (NLM_F_MULTI) are judged as UPDATE events."""
    cf, prog = compiled({'orig_src': '203.0.113.0/28'})
    msg = ct_message(V4, 17, {'src': '203.0.113.1', 'dst': '192.0.2.1', 'sport': 1, 'dport': 2},
                     {'src': '192.0.2.1', 'dst': '203.0.113.1', 'sport': 2, 'dport': 1})
    assert bpf_verdict(prog, msg) and python_verdict(cf, msg)
