# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hypothesis properties over the netlink decoder, the encoder and the filter compiler.

Shared by the unit stage (tests/unit/plugins/module_utils/test_fuzz_*.py: a few thousand
cases, derandomized) and the dedicated run (tests/fuzz/run.py --examples 100000).

PROPERTIES maps a name to (strategy, check, weight): ``check(drawn)`` must return or
raise ConntrackError; anything else (IndexError, TypeError, struct.error, OSError,
a wrong round trip) is a finding.  ``weight`` shares a total number of cases out.
"""

from __future__ import annotations

import socket
import struct

from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import encode as E
from ansible_collections.netfilter.conntrack.plugins.module_utils._aggregate import (
    _VALUE_GETTERS, CountBy, _hashable, count_by, key_getter, top)
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.decode import (
    Decoder, find_attr)
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.expect import (
    decode_expect)
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.slots import (
    entry_values, NAT_SLOTS)
from ansible_collections.netfilter.conntrack.plugins.plugin_utils._ct_diff import diff_entries
from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink.framing import iter_messages
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import (
    compile_filter)
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.options import (
    ALIASES, FILTER_KEYS)
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_format import format_entries
from ansible_collections.netfilter.conntrack.plugins.plugin_utils._ct_select import select_entries
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError
from ansible_collections.netfilter.conntrack.tests.unit.plugins.module_utils.ctmsg import (
    ct_message, parse)

V4, V6 = C.AF_INET, C.AF_INET6
_NLMSG_HDR = 20   # nlmsghdr + nfgenmsg

# -- valid entries ----------------------------------------------------------------------

U8 = st.integers(0, 0xFF)
U16 = st.integers(0, 0xFFFF)
U32 = st.integers(0, 0xFFFFFFFF)
U64 = st.integers(0, 2 ** 64 - 1)
HELPER_NAMES = st.from_regex(r'[a-z0-9][a-z0-9_.-]{0,14}', fullmatch=True)
GENERIC_PROTOS = (0, 2, 4, 41, 50, 115, 200, 255)


def _addr(fam):
    return st.ip_addresses(v=4 if fam == V4 else 6).map(str)


def _networks(version):
    """'ADDR/LEN' strings (host bits may be set: the filters are not strict)."""
    return st.tuples(st.ip_addresses(v=version),
                     st.integers(0, 32 if version == 4 else 128)).map(lambda t: '%s/%d' % t)


@st.composite
def entry_specs(draw):
    """A random valid entry, as a dict of the fields both encoders take.

    Keys: family, proto, orig, reply (tuple dicts shaped as the decoder shapes them),
    status (bits), timeout, mark, zone, orig_zone, reply_zone, labels (bit list),
    pstate (number), helper, id, use, counters, timestamp; None = attribute absent.
    """
    fam = draw(st.sampled_from((V4, V6)))
    proto = draw(st.sampled_from((6, 17, 33, 132, 136, 47, 1 if fam == V4 else 58)
                                 + GENERIC_PROTOS))
    addr = _addr(fam)
    orig = {'src': draw(addr), 'dst': draw(addr)}
    nat = draw(st.booleans())
    reply = {'src': draw(addr) if nat else orig['dst'], 'dst': draw(addr) if nat else orig['src']}
    if proto in C.PORT_PROTOS:
        orig.update(sport=draw(U16), dport=draw(U16))
        reply.update(sport=draw(U16) if nat else orig['dport'],
                     dport=draw(U16) if nat else orig['sport'])
    elif proto in C.ICMP_PROTOS:
        for tup in (orig, reply):
            tup.update(icmp_type=draw(U8), icmp_code=draw(U8), icmp_id=draw(U16))
    elif proto == C.GRE_PROTO:
        orig.update(src_key=draw(U16), dst_key=draw(U16))
        reply.update(src_key=orig['dst_key'], dst_key=orig['src_key'])
    states = C.PROTO_STATES.get(proto)
    return {
        'family': fam, 'proto': proto, 'orig': orig, 'reply': reply,
        'status': draw(st.integers(0, 0xFFFF)),
        'timeout': draw(st.none() | U32), 'mark': draw(st.none() | U32),
        'zone': draw(st.none() | st.integers(1, 0xFFFF)),
        'orig_zone': draw(st.none() | U16), 'reply_zone': draw(st.none() | U16),
        'labels': draw(st.none() | st.lists(st.integers(0, 127), max_size=4, unique=True)),
        'pstate': draw(st.none() | st.integers(0, len(states) - 1)) if states else None,
        'helper': draw(st.none() | HELPER_NAMES),
        'id': draw(st.none() | U32), 'use': draw(st.none() | U32),
        'counters': draw(st.none() | st.tuples(st.tuples(U64, U64), st.tuples(U64, U64))),
        'timestamp': draw(st.none() | st.tuples(U64, st.none() | U64)),
    }


def kernel_message(spec):
    """The spec as the kernel lays a dump reply out (ctnetlink_fill_info order)."""
    return ct_message(spec['family'], spec['proto'], spec['orig'], spec['reply'],
                      status=spec['status'], timeout=spec['timeout'], mark=spec['mark'],
                      use=spec['use'], ct_id=spec['id'], zone=spec['zone'],
                      orig_zone=spec['orig_zone'], reply_zone=spec['reply_zone'],
                      counters=spec['counters'], timestamp=spec['timestamp'],
                      pstate=spec['pstate'], labels=spec['labels'], helper=spec['helper'])


def encoder_message(spec):
    """The spec through the collection's own encoder (a create request), as one message."""
    enc = {'family': spec['family'], 'proto': spec['proto'], 'orig': spec['orig'],
           'reply': spec['reply'], 'zone': spec['zone'], 'orig_zone': spec['orig_zone'],
           'reply_zone': spec['reply_zone'], 'timeout': spec['timeout'], 'mark': spec['mark'],
           'status': spec['status'], 'labels': spec['labels'], 'proto_state': spec['pstate'],
           'helper': spec['helper'], 'id': spec['id']}
    return E.nlmsg(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_NEW, 0, 1, spec['family'],
                   E.entry_attrs(enc, create=True))


def _canon(fam, addr):
    af = socket.AF_INET if fam == V4 else socket.AF_INET6
    return socket.inet_ntop(af, socket.inet_pton(af, addr))


def expected_entry(spec, status, zero_tuple_zone=True):
    """What Decoder.entry must give for ``spec`` (fields the encoder carries).

    zero_tuple_zone: whether a per-direction zone 0 is in the message (the encoder sends
    it; the kernel, whose zone 0 is no zone, never does).
    """
    fam, proto = spec['family'], spec['proto']
    oz_spec, rz_spec = spec['orig_zone'], spec['reply_zone']
    if not zero_tuple_zone:
        oz_spec, rz_spec = oz_spec or None, rz_spec or None

    def tup(t):
        out = dict(t)
        out['src'], out['dst'] = _canon(fam, t['src']), _canon(fam, t['dst'])
        return out
    states = C.PROTO_STATES.get(proto)
    exp = {'family': C.FAMILY_NAMES[fam], 'proto_num': proto,
           'proto': C.PROTO_NAMES.get(proto, str(proto)),
           'orig': tup(spec['orig']), 'reply': tup(spec['reply']),
           'timeout': spec['timeout'], 'mark': spec['mark'] or 0, 'zone': spec['zone'] or 0,
           'status': sorted(C.STATUS_NAMES.get(b, 'BIT%d' % b)
                            for b in range(32) if status >> b & 1),
           'labels': sorted(spec['labels']) if spec['labels'] else [],
           'proto_state': states[spec['pstate']] if spec['pstate'] is not None else None,
           'helper': spec['helper'], 'id': spec['id']}
    if oz_spec is not None or rz_spec is not None:
        oz, rz = oz_spec or 0, rz_spec or 0
        if oz != rz or oz != exp['zone']:
            exp['orig_zone'], exp['reply_zone'] = oz, rz
    return exp


def _subset(entry, keys):
    return {k: entry.get(k) for k in keys}


def check_roundtrip_encoder(spec):
    """_ct_encode.entry_attrs -> Decoder: every field comes back."""
    msg = encoder_message(spec)
    got = Decoder().decode(msg, _NLMSG_HDR, len(msg), msg[16])
    exp = expected_entry(spec, spec['status'] | C.IPS_CONFIRMED)
    if not spec['helper']:
        exp['helper'] = None
    assert _subset(got, exp) == exp, (got, exp)
    assert ('orig_zone' in got) == ('orig_zone' in exp), (got, exp)


def check_roundtrip_kernel(specs):
    """Kernel-layout dump messages -> one shared Decoder (layout cache) and a fresh one
    each: the same entries, equal to the spec; the delete key built from the decoded
    values names the same original tuple, zone and id."""
    shared = Decoder()
    for spec in specs:
        msg = kernel_message(spec)
        got = shared.decode(msg, _NLMSG_HDR, len(msg), msg[16])
        assert got == Decoder().decode(msg, _NLMSG_HDR, len(msg), msg[16])
        exp = expected_entry(spec, spec['status'], zero_tuple_zone=False)
        assert _subset(got, exp) == exp, (got, exp)
        assert ('orig_zone' in got) == ('orig_zone' in exp), (got, exp)
        vals = shared.values(msg, _NLMSG_HDR, len(msg))
        key = E.nlmsg(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_DELETE, 0, 2, spec['family'],
                      E.key_from_values(spec['family'], vals))
        kv = Decoder().values(key, _NLMSG_HDR, len(key))
        assert kv[:9] == vals[:9], (kv, vals)
        assert kv[22] == vals[22] and (kv[23] or 0) == (vals[23] or 0)


# -- malformed messages ------------------------------------------------------------------

@st.composite
def mutated_messages(draw):
    """A valid message (or a few back to back) damaged by truncation, byte flips,
    insertions, deletions and forged attribute lengths; or plain random bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=700))
    specs = draw(st.lists(entry_specs(), min_size=1, max_size=3))
    buf = bytearray(b''.join(kernel_message(s) for s in specs))
    for _step in range(draw(st.integers(1, 6))):
        if not buf:
            break
        op = draw(st.sampled_from(('trunc', 'flip', 'ins', 'del', 'len16', 'len32', 'type')))
        i = draw(st.integers(0, len(buf) - 1))
        if op == 'trunc':
            del buf[i:]
        elif op == 'flip':
            buf[i] = draw(U8)
        elif op == 'ins':
            buf[i:i] = draw(st.binary(min_size=1, max_size=40))
        elif op == 'del':
            del buf[i:i + draw(st.integers(1, 40))]
        elif op == 'len16' and i + 2 <= len(buf):
            struct.pack_into('=H', buf, i, draw(st.sampled_from((0, 1, 3, 4, 5, 8, 0xFFFF))
                                                | U16))
        elif op == 'len32' and i + 4 <= len(buf):
            struct.pack_into('=I', buf, i, draw(st.sampled_from((0, 15, 16, 20, 0xFFFFFFFF))
                                                | U32))
        elif op == 'type' and i + 4 <= len(buf):
            struct.pack_into('=H', buf, i + 2, draw(U16))
    return bytes(buf)


def _try(fn, *args):
    try:
        return fn(*args)
    except ConntrackError:
        return ConntrackError


def check_malformed(buf):
    """Damaged input: the walkers and decoders return or raise ConntrackError."""
    dec = Decoder()
    msgs = _try(lambda: list(iter_messages(buf, len(buf))))
    if msgs is not ConntrackError:
        for off, mlen, _mtype, _flags in msgs:
            if mlen >= _NLMSG_HDR:
                vals = _try(dec.values, buf, off + _NLMSG_HDR, off + mlen)
                if vals is not ConntrackError:
                    entry = dec.entry(vals, buf[off + 16])
                    assert isinstance(entry, dict)
                _try(decode_expect, dec, buf, off + _NLMSG_HDR, off + mlen, buf[off + 16])
    # the body as if it were one message's attributes, whatever the headers say
    start = min(_NLMSG_HDR, len(buf))
    vals = _try(dec.values, buf, start, len(buf))
    if vals is not ConntrackError:
        fresh = _try(Decoder().values, buf, start, len(buf))
        assert fresh == vals
        dec.entry(vals, C.AF_INET6)
    exp = _try(decode_expect, dec, buf, start, len(buf), C.AF_INET)
    assert exp is ConntrackError or isinstance(exp, dict)
    _try(find_attr, buf, start, len(buf), (C.CTA_TUPLE_ORIG, C.CTA_TUPLE_PROTO, C.CTA_PROTO_NUM))


def check_cache_consistency(bufs):
    """A Decoder shared by damaged and valid messages decodes each like a fresh one."""
    shared = Decoder()
    for buf in bufs:
        start = min(_NLMSG_HDR, len(buf))
        a = _try(shared.values, buf, start, len(buf))
        b = _try(Decoder().values, buf, start, len(buf))
        assert a == b, (buf, a, b)
        # a prober shares the layouts' rules: same error, same values in its slots
        for slots in ((0,), (2, 24), (18, 22, 23), NAT_SLOTS):
            c = _try(shared.prober(slots), buf, start, len(buf))
            if a is ConntrackError:
                assert c is ConntrackError, (buf, slots, c)
            else:
                assert c is not ConntrackError and all(c[i] == a[i] for i in slots), (buf, c, a)


# -- the filter compiler -----------------------------------------------------------------

INTERESTING = (
    '', ' ', '10.0.0.1', '10.0.0.0/8', '198.51.100.2', '0.0.0.0/0', '10.0.0.256', '1.2.3.4/33',
    '2001:db8::1', '2001:db8::/32', '::/0', 'fe80::1%eth0', '::ffff:10.0.0.1', 'tcp', 'TCP',
    'udp', 'icmp', 'icmpv6', 'gre', 'sctp', 'dccp', 'udplite', '6', '17', '256', '-1', '0', '80',
    '65535', '65536', '0x10', '0x10/0xf0', '1/', '/0xff', '0x', '4294967296', '1_0', '\u0665',
    'ESTABLISHED', 'TIME_WAIT', 'SYN_SENT', 'OPEN', 'NEW', 'RELATED', 'ASSURED', 'SEEN_REPLY',
    'DYING', 'src', 'dst', 'any', 'ipv4', 'ipv6', 'ftp', 'sip', "['ftp']", 'lbl0', 'x' * 300,
)
SCALARS = (st.none() | st.booleans() | st.integers(-2 ** 33, 2 ** 33)
           | st.integers(-5, 70000) | st.floats(allow_nan=True, allow_infinity=True)
           | st.sampled_from(INTERESTING) | st.text(max_size=20))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(('a', 'orig_src', 'proto')), inner,
                                        max_size=2), max_leaves=6)
FILTER_NAMES = FILTER_KEYS + tuple(ALIASES) + ('bogus', '')
LABEL_MAPS = st.dictionaries(st.integers(0, 127), st.sampled_from(('lbl0', 'lbl1', 'blue')),
                             max_size=3)


def _filter_dicts(depth):
    values = VALUES if depth == 0 else VALUES | st.lists(_filter_dicts(depth - 1), max_size=2)
    return st.dictionaries(st.sampled_from(FILTER_NAMES), values, max_size=5)


# Values per option that usually compile, so that compiled filters get exercised too.
GOOD = {
    'family': st.sampled_from(('ipv4', 'ipv6', 'any')),
    'proto': st.sampled_from(('tcp', 'udp', 'icmp', 'icmpv6', 'gre', 'sctp', 6, 17, 255))
    | st.lists(st.sampled_from(('tcp', 'udp', 'icmp', 47)), min_size=1, max_size=3),
    'orig_src': st.sampled_from(('10.0.0.1', '10.0.0.0/8', '2001:db8::1', '2001:db8::/32')),
    'orig_dst': st.ip_addresses(v=4).map(str) | st.sampled_from(('203.0.113.0/24', '::/0')),
    'reply_src': _networks(4),
    'reply_dst': _networks(6),
    'orig_port_src': st.integers(1, 65535), 'orig_port_dst': st.integers(1, 65535)
    | st.lists(st.integers(1, 65535), min_size=1, max_size=3),
    'reply_port_src': st.integers(1, 65535), 'reply_port_dst': st.integers(1, 65535),
    'icmp_type': U8, 'icmp_code': U8, 'icmp_id': U16,
    'proto_state': st.lists(st.sampled_from(('ESTABLISHED', 'TIME_WAIT', 'OPEN', 'CLOSED')),
                            min_size=1, max_size=2),
    'ctstate': st.lists(st.sampled_from(C.CTSTATES), min_size=1, max_size=2),
    'status': st.lists(st.sampled_from(sorted(C.STATUS_BITS)), min_size=1, max_size=2),
    'mark': U32 | st.tuples(U32, U32).map(lambda t: '%#x/%#x' % t),
    'zone': U16, 'orig_zone': U16, 'reply_zone': U16,
    'labels': st.lists(st.integers(0, 127) | st.sampled_from(('lbl0', 'lbl1')), min_size=1,
                       max_size=2),
    'nat': st.sampled_from(('src', 'dst', 'any')),
    'src_nat': _networks(4), 'dst_nat': st.ip_addresses(v=4).map(str),
    'any_nat': st.ip_addresses(v=6).map(str),
    'helper': HELPER_NAMES,
}


@st.composite
def good_filters(draw, depth=1):
    keys = draw(st.lists(st.sampled_from(sorted(GOOD)), max_size=4, unique=True))
    out = {k: draw(GOOD[k]) for k in keys}
    if depth and draw(st.integers(0, 4)) == 0:
        out['exclude'] = draw(st.lists(good_filters(depth - 1), min_size=1, max_size=2))
    return out


FILTERS = _filter_dicts(1) | good_filters()


def _junk_entries():
    return st.lists(st.dictionaries(st.sampled_from(('family', 'proto', 'proto_num', 'orig',
                                                     'reply', 'status', 'labels', 'zone',
                                                     'mark', 'helper', 'proto_state',
                                                     'orig_zone', 'id', 'timeout')),
                                    VALUES, max_size=8), max_size=3)


def check_filter(case):
    """compile_filter raises only ConntrackError; a compiled filter builds its kernel
    attributes, and judges an entry dict exactly as it judges the dump values."""
    params, label_map, specs, junk = case
    cf = _try(compile_filter, params, label_map)
    if cf is ConntrackError:
        return
    for _fam, attrs in cf.requests():
        parse(attrs)   # well-formed attributes
    assert isinstance(cf.describe_kernel(), list)
    residual = cf.residual()
    dec = Decoder(label_map)
    for spec in specs:
        msg = kernel_message(spec)
        vals = dec.values(msg, _NLMSG_HDR, len(msg))
        entry = dec.entry(vals, msg[16])
        verdict = cf.matches(entry)
        assert verdict is cf.matches_values(vals, msg[16]), (params, entry)
        assert verdict is cf.matches_values(*entry_values(entry, label_map)), (params, entry)
        if residual is not None and not verdict:
            kernel_ok = all(fn(vals, msg[16]) for kern, fn in cf.checks if kern)
            assert not kernel_ok or not residual(entry)
        # the predicates read only the slots they declare: a dump that unpacks just
        # those (Decoder.prober) judges every message as the full decode does
        for slots, pred in ((cf.all_slots(), cf.matches_values),
                            (cf.residual_slots(), cf.residual_values())):
            if pred is None:
                continue
            part = dec.prober(slots)(msg, _NLMSG_HDR, len(msg))
            if slots is not None:
                assert all(part[i] == vals[i] for i in slots), (slots, part, vals)
                assert all(part[i] is None for i in range(len(part)) if i not in slots)
            assert bool(pred(part, msg[16])) is bool(pred(vals, msg[16])), (params, slots)
    for entry in junk:
        assert _try(cf.matches, entry) in (True, False, ConntrackError)


def check_plugins(case):
    """What the filter plugins hand to module_utils: junk entries and options raise
    ConntrackError or give an answer."""
    params, entries, key, output = case
    _try(select_entries, entries, params)
    _try(count_by, entries, key)
    _try(top, entries, key, 3)
    _try(format_entries, entries, output)
    _try(diff_entries, entries, entries[::-1])


def _decoded(spec):
    msg = kernel_message(spec)
    return Decoder().decode(msg, _NLMSG_HDR, len(msg), spec['family'])


_DECODED = entry_specs().map(_decoded)


def check_value_getters(specs):
    """Every key an aggregate reads from value tuples (only its slots unpacked) gives what
    the same key gives on the decoded entry dict."""
    dec = Decoder({0: 'lbl0', 3: 'blue'})
    for spec in specs:
        msg = kernel_message(spec)
        vals = dec.values(msg, _NLMSG_HDR, len(msg))
        entry = dec.entry(vals, msg[16])
        for key, (slots, fn) in _VALUE_GETTERS.items():
            part = dec.prober(slots)(msg, _NLMSG_HDR, len(msg))
            want = _hashable(key_getter(key)(entry))
            assert fn(part, msg[16], dec) == want, (key, entry)
            # and through raw counting (what a dump does)
            agg = CountBy(key)
            get = agg.raw_getter()
            agg.add_raw({msg[16] if get is None else get(part): 2}, dec)
            assert dict(agg.counter) == {want: 2}, (key, entry, agg.counter)


_KEYS = (st.sampled_from(('proto', 'orig.src', 'orig', 'counters.orig.bytes', 'a..b', '', 'labels'))
         | st.text(max_size=10))
_OUTPUTS = st.sampled_from(('extended', 'extended,id,labels,ktimestamp', '', 'bogus')) | VALUES

PROPERTIES = {
    'roundtrip_encoder': (entry_specs(), check_roundtrip_encoder, 2),
    'roundtrip_kernel': (st.lists(entry_specs(), min_size=1, max_size=4), check_roundtrip_kernel, 2),
    'malformed': (mutated_messages(), check_malformed, 5),
    'cache_consistency': (st.lists(mutated_messages(), min_size=2, max_size=6),
                          check_cache_consistency, 2),
    'filter': (st.tuples(FILTERS, LABEL_MAPS, st.lists(entry_specs(), max_size=3),
                         _junk_entries()), check_filter, 5),
    'value_getters': (st.lists(entry_specs(), min_size=1, max_size=4), check_value_getters, 2),
    'plugins': (st.tuples(FILTERS, _junk_entries() | st.lists(_DECODED, max_size=3), _KEYS,
                          _OUTPUTS), check_plugins, 2),
}


def run_property(name, examples, seed=None, derandomize=False, database=None):
    """Run one property for ``examples`` cases (raises the first finding, shrunk)."""
    strategy, check, _weight = PROPERTIES[name]
    test = given(strategy)(check)
    test = settings(max_examples=examples, deadline=None, database=database,
                    derandomize=derandomize, print_blob=True,
                    suppress_health_check=list(HealthCheck))(test)
    if seed is not None:
        from hypothesis import seed as hseed
        test = hseed(seed)(test)
    test()


def share(total):
    """{name: examples} sharing ``total`` cases by weight."""
    weights = sum(w for _s, _c, w in PROPERTIES.values())
    return {name: max(1, total * w // weights) for name, (_s, _c, w) in PROPERTIES.items()}
