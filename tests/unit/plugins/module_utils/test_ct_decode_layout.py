# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The decoder's layout cache, malformed input, and encoder -> decoder round trips."""

from __future__ import annotations

import struct

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import encode as E
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.decode import Decoder
from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink.framing import iter_messages
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError
from ansible_collections.netfilter.conntrack.tests.unit.plugins.module_utils.ctmsg import (
    ct_attrs, ct_message, decode, message)

V4, V6 = C.AF_INET, C.AF_INET6
EST = 0b1110


def tup(src, dst, sport, dport):
    return {'src': src, 'dst': dst, 'sport': sport, 'dport': dport}


def pair(src, dst, sport, dport):
    """An un-NATed (orig, reply) pair."""
    orig = tup(src, dst, sport, dport)
    reply = {'src': dst, 'dst': src, 'sport': dport, 'dport': sport}
    return orig, reply


# -- layout cache ---------------------------------------------------------------------

def test_same_layout_different_values():
    dec = Decoder()
    a = ct_message(V4, 6, *pair('10.0.0.1', '10.0.0.2', 1000, 80), status=EST, timeout=10, mark=1, ct_id=1,
                   pstate=3, counters=((1, 2), (3, 4)), labels=[1], helper='ftp')
    b = ct_message(V4, 6, *pair('10.9.9.9', '10.8.8.8', 2000, 443), status=1 << 3, timeout=20, mark=2,
                   ct_id=2, pstate=7, counters=((5, 6), (7, 8)), labels=[2], helper='irc')
    assert len(a) == len(b)
    ea, eb = decode(dec, a), decode(dec, b)
    assert dec._nlayouts == 1  # the second message reused the first one's compiled layout
    assert (ea['orig'], ea['timeout'], ea['mark'], ea['id'], ea['proto_state'], ea['labels'], ea['helper']) == (
        tup('10.0.0.1', '10.0.0.2', 1000, 80), 10, 1, 1, 'ESTABLISHED', [1], 'ftp')
    assert (eb['orig'], eb['timeout'], eb['mark'], eb['id'], eb['proto_state'], eb['labels'], eb['helper']) == (
        tup('10.9.9.9', '10.8.8.8', 2000, 443), 20, 2, 2, 'TIME_WAIT', [2], 'irc')
    assert eb['counters'] == {'orig': {'packets': 5, 'bytes': 6}, 'reply': {'packets': 7, 'bytes': 8}}
    assert (eb['status'], eb['ctstate']) == (['CONFIRMED'], 'NEW')
    assert decode(dec, a) == ea


def _same_length(a, b):
    assert len(a) == len(b), 'test setup: the two messages must have the same length'
    return a, b


SAME_LENGTH = {
    # mark in one message, timeout in the other (same size, different type)
    'mark-vs-timeout': _same_length(
        ct_message(V4, 17, *pair('10.0.0.1', '10.0.0.2', 1, 2), mark=5),
        ct_message(V4, 17, *pair('10.0.0.1', '10.0.0.2', 1, 2), timeout=5)),
    # an attribute the decoder does not know, then one it does, at the same place
    'unknown-vs-mark': _same_length(
        ct_message(V4, 17, *pair('10.0.0.1', '10.0.0.2', 1, 2), extra={'x': E.be32(C.CTA_SECMARK, 5)}),
        ct_message(V4, 17, *pair('10.0.0.1', '10.0.0.2', 1, 2), mark=5)),
    'unknown-vs-zone': _same_length(
        ct_message(V4, 17, *pair('10.0.0.1', '10.0.0.2', 1, 2), extra={'x': E.be16(63, 5)}),
        ct_message(V4, 17, *pair('10.0.0.1', '10.0.0.2', 1, 2), zone=5)),
    # udp with a zone vs tcp with a 1-byte state (both 8 bytes on the wire): different nests
    'tcp-protoinfo-vs-labels': _same_length(
        ct_message(V4, 6, *pair('10.0.0.1', '10.0.0.2', 1, 2),
                   extra={'p': E.nest(C.CTA_PROTOINFO, E.nest(C.CTA_PROTOINFO_TCP, E.u8(1, 3)))}),
        ct_message(V4, 6, *pair('10.0.0.1', '10.0.0.2', 1, 2), extra={'l': E.nla(C.CTA_LABELS, b'\x01' * 12)})),
    # the same attributes in another order
    'order': _same_length(
        ct_message(V4, 17, *pair('10.0.0.1', '10.0.0.2', 1, 2), mark=5, timeout=9),
        ct_message(V4, 17, *pair('10.0.0.1', '10.0.0.2', 1, 2), mark=5, timeout=9,
                   order=['orig', 'reply', 'status', 'mark', 'timeout'])),
    # v4 tuple plus 24 bytes of extra vs v6 tuple
    'family': _same_length(
        ct_message(V4, 17, *pair('10.0.0.1', '10.0.0.2', 1, 2),
                   extra={'x': E.nla(63, b'\0' * 20), 'y': E.nla(62, b'\0' * 20)}),
        ct_message(V6, 17, *pair('fd00::1', 'fd00::2', 1, 2))),
    # icmp vs udp with padding: different proto children
    'icmp-vs-udp': _same_length(
        ct_message(V4, 1, {'src': '10.0.0.1', 'dst': '10.0.0.2', 'icmp_type': 8, 'icmp_code': 0, 'icmp_id': 9},
                   {'src': '10.0.0.2', 'dst': '10.0.0.1', 'icmp_type': 0, 'icmp_code': 0, 'icmp_id': 9}),
        ct_message(V4, 17, *pair('10.0.0.1', '10.0.0.2', 1, 2), extra={'x': E.nla(63, b'\0' * 12)})),
}


@pytest.mark.parametrize('name', sorted(SAME_LENGTH))
@pytest.mark.parametrize('first', [0, 1])
def test_same_length_different_structure(name, first):
    msgs = SAME_LENGTH[name]
    expected = [decode(Decoder(), m) for m in msgs]  # each decoded by a fresh decoder
    assert expected[0] != expected[1] or name == 'order'
    dec = Decoder()
    order = [first, 1 - first, first, 1 - first]
    assert [decode(dec, msgs[i]) for i in order] == [expected[i] for i in order]


def test_layout_cache_is_bounded():
    dec = Decoder()
    dec.MAX_LAYOUTS = 3
    for extra in range(6):
        buf = ct_message(V4, 17, *pair('10.0.0.1', '10.0.0.2', 1, 2), mark=extra,
                         extra={'x': E.nla(63, b'\0' * (4 * extra))})
        assert decode(dec, buf)['mark'] == extra
    assert dec._nlayouts == 3


# -- malformed input ------------------------------------------------------------------

GOOD = ct_message(V4, 6, *pair('10.0.0.1', '10.0.0.2', 1000, 80), status=EST, timeout=10, mark=1, ct_id=1,
                  pstate=3, counters=((1, 2), (3, 4)), timestamp=(1, 2), labels=[1], helper='ftp', zone=2)


def _patched(buf, off, data):
    out = bytearray(buf)
    out[off:off + len(data)] = data
    return bytes(out)


def _attr_offset(buf, atype):
    off = 20
    while off < len(buf):
        alen, t = struct.unpack_from('=HH', buf, off)
        if t & C.NLA_TYPE_MASK == atype:
            return off
        off += (alen + 3) & ~3
    raise AssertionError('attribute %d not found' % atype)


def _truncated_leaf(atype, keep):
    """GOOD with attribute ``atype`` shortened to ``keep`` payload bytes (length field only)."""
    off = _attr_offset(GOOD, atype)
    return _patched(GOOD, off, struct.pack('=H', 4 + keep))


MALFORMED = {
    'attr-length-below-header': _patched(GOOD, 20, b'\x02\x00'),
    'attr-length-zero': _patched(GOOD, 20, b'\x00\x00'),
    'attr-overruns-message': _patched(GOOD, 20, b'\xff\x0f'),
    'cut-in-the-middle': GOOD[:60],
    'cut-inside-last-attr': GOOD[:-3],
    'mark-too-short': _truncated_leaf(C.CTA_MARK, 2),
    'zone-too-short': _truncated_leaf(C.CTA_ZONE, 1),
    'status-empty': _truncated_leaf(C.CTA_STATUS, 0),
    'nested-child-overruns-nest': _patched(GOOD, 24, b'\xf0\x00'),
    'tuple-ip-truncated-address': _patched(GOOD, 28, b'\x06\x00'),
}


@pytest.mark.parametrize('name', sorted(MALFORMED))
@pytest.mark.parametrize('warm', [False, True])
def test_malformed_raises_conntrack_error(name, warm):
    dec = Decoder()
    if warm:
        decode(dec, GOOD)
    buf = MALFORMED[name]
    with pytest.raises(ConntrackError):
        decode(dec, buf)


def test_every_truncation_raises_conntrack_error_or_decodes():
    """Cutting a message anywhere never leaks struct.error / IndexError / other exceptions."""
    dec = Decoder()
    for cut in range(20, len(GOOD)):
        buf = bytearray(GOOD[:cut])
        struct.pack_into('=I', buf, 0, cut)
        try:
            decode(dec, bytes(buf))
        except ConntrackError:
            pass


def test_every_corrupted_length_raises_conntrack_error_or_decodes():
    dec = Decoder()
    decode(dec, GOOD)
    for off in range(20, len(GOOD) - 1):
        for val in (0, 1, 3, 4, 5, 7, 255, 0xFFFF):
            buf = _patched(GOOD, off, struct.pack('=H', val))
            try:
                decode(dec, buf)
            except ConntrackError:
                pass


@pytest.mark.parametrize('buf, length', [
    (b'\x10\x00\x00\x00' + b'\0' * 8, 12),           # shorter than a header: nothing yielded
    (b'\x08\x00\x00\x00' + b'\0' * 12, 16),          # length below 16
    (b'\x40\x00\x00\x00' + b'\0' * 12, 16),          # length beyond the buffer
])
def test_iter_messages_malformed(buf, length):
    try:
        got = list(iter_messages(buf, length))
    except ConntrackError:
        return
    assert got == [] and length < 16


def test_iter_messages_walks_padded_messages():
    a = ct_message(V4, 17, *pair('10.0.0.1', '10.0.0.2', 1, 2), mark=1)
    done = struct.pack('=IHHII', 20, C.NLMSG_DONE, C.NLM_F_MULTI, 1, 0) + b'\0' * 4
    buf = a + a + done
    got = list(iter_messages(buf, len(buf)))
    assert [(off, mlen, mtype) for off, mlen, mtype, _f in got] == [
        (0, len(a), (C.NFNL_SUBSYS_CTNETLINK << 8) | C.IPCTNL_MSG_CT_NEW),
        (len(a), len(a), (C.NFNL_SUBSYS_CTNETLINK << 8) | C.IPCTNL_MSG_CT_NEW),
        (2 * len(a), 20, C.NLMSG_DONE)]


# -- round trip: what the encoder sends is what the decoder reads ---------------------

ROUND_TRIP = [
    {'family': V4, 'proto': 6, 'orig': tup('10.0.0.1', '10.0.0.2', 40000, 80),
     'reply': tup('10.0.0.2', '10.0.0.1', 80, 40000), 'timeout': 120, 'mark': 0x42,
     'status': E.status_bits(['SEEN_REPLY', 'ASSURED']), 'proto_state': 3, 'id': 9, 'labels': [3]},
    {'family': V6, 'proto': 17, 'orig': tup('fd00::1', 'fd00::2', 5353, 53),
     'reply': tup('fd00::2', 'fd00::1', 53, 5353), 'timeout': 30, 'zone': 7, 'status': 0, 'helper': 'tftp'},
    {'family': V4, 'proto': 1, 'orig': {'src': '10.0.0.1', 'dst': '10.0.0.2', 'icmp_type': 8, 'icmp_code': 0,
                                        'icmp_id': 77},
     'reply': E.mirror({'src': '10.0.0.1', 'dst': '10.0.0.2', 'icmp_type': 8, 'icmp_code': 0, 'icmp_id': 77}, 1),
     'timeout': 30, 'mark': 0, 'orig_zone': 3},
    {'family': V6, 'proto': 58, 'orig': {'src': 'fd00::1', 'dst': 'fd00::2', 'icmp_type': 128, 'icmp_code': 0,
                                         'icmp_id': 1},
     'reply': {'src': 'fd00::2', 'dst': 'fd00::1', 'icmp_type': 129, 'icmp_code': 0, 'icmp_id': 1},
     'timeout': 30, 'reply_zone': 4},
    {'family': V4, 'proto': 47, 'orig': {'src': '10.0.0.1', 'dst': '10.0.0.2', 'src_key': 1, 'dst_key': 2},
     'reply': {'src': '10.0.0.2', 'dst': '10.0.0.1', 'src_key': 2, 'dst_key': 1}, 'timeout': 60},
    {'family': V4, 'proto': 132, 'orig': tup('10.0.0.1', '10.0.0.2', 1, 2), 'reply': tup('10.0.0.2', '10.0.0.1', 2, 1),
     'timeout': 60, 'proto_state': 4, 'status': E.status_bits(['SEEN_REPLY'])},
    {'family': V6, 'proto': 33, 'orig': tup('fd00::1', 'fd00::2', 1, 2), 'reply': tup('fd00::2', 'fd00::1', 2, 1),
     'timeout': 60, 'proto_state': 4},
]


@pytest.mark.parametrize('create', [True, False])
@pytest.mark.parametrize('spec', ROUND_TRIP, ids=lambda s: '%s-%d' % (C.FAMILY_NAMES[s['family']], s['proto']))
def test_round_trip(spec, create):
    buf = E.nlmsg(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_NEW, C.NLM_F_REQUEST, 1, spec['family'],
                  E.entry_attrs(spec, create))
    entry = decode(Decoder(), buf)
    assert entry['family'] == C.FAMILY_NAMES[spec['family']]
    assert entry['proto_num'] == spec['proto']
    assert entry['orig'] == spec['orig']
    assert entry['reply'] == spec['reply']
    assert entry['timeout'] == spec['timeout']
    assert entry['mark'] == spec.get('mark', 0)
    assert entry['zone'] == spec.get('zone', 0)
    assert entry.get('orig_zone') == spec.get('orig_zone', 0 if spec.get('reply_zone') else None)
    assert entry.get('reply_zone') == spec.get('reply_zone', 0 if spec.get('orig_zone') else None)
    assert entry['id'] == spec.get('id')
    status = spec.get('status')
    if status is None:
        assert entry['status'] == []
    else:
        want = status | (C.IPS_CONFIRMED if create else 0)
        assert entry['status'] == sorted(n for n, b in C.STATUS_BITS.items() if want >> b & 1)
    if 'proto_state' in spec:
        assert entry['proto_state'] == C.PROTO_STATES[spec['proto']][spec['proto_state']]
    assert entry['labels'] == spec.get('labels', [])
    assert entry['helper'] == (spec.get('helper') if create else None)
    assert entry['nat'] == {'src': False, 'dst': False}


def test_round_trip_key_attrs():
    orig = tup('10.0.0.1', '10.0.0.2', 40000, 80)
    buf = E.nlmsg(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET, C.NLM_F_REQUEST, 1, V4,
                  E.key_attrs(V4, 6, orig, zone=12, ct_id=99))
    entry = decode(Decoder(), buf)
    assert (entry['orig'], entry['zone'], entry['id']) == (orig, 12, 99)


def test_round_trip_all_attributes_in_kernel_layout():
    attrs = ct_attrs(V6, 6, *pair('fd00::1', 'fd00::2', 1, 2), status=EST, timeout=5, mark=3, use=1,
                     ct_id=8, zone=9, pstate=3, counters=((1, 2), (3, 4)), timestamp=(5, None),
                     labels=[0], helper='ftp')
    assert decode(Decoder(), message(attrs, V6))['zone'] == 9
