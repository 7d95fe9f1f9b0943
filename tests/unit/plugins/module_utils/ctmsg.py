# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Test helpers: build ctnetlink messages as the kernel lays them out, parse attributes back.

The parser here is deliberately independent of _ct_decode (a plain recursive walk), so
that encoder tests do not check the encoder against the decoder under test.
"""

from __future__ import annotations

import socket
import struct

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import encode as E

CTA_COUNTERS_PAD = 3
CTA_SECMARK = C.CTA_SECMARK


def parse(buf):
    """[(type, nested_flag, payload)] of the attributes in buf (no recursion)."""
    out, off = [], 0
    while off < len(buf):
        alen, atype = struct.unpack_from('=HH', buf, off)
        assert alen >= 4 and off + alen <= len(buf), 'bad attribute at %d' % off
        out.append((atype & C.NLA_TYPE_MASK, bool(atype & C.NLA_F_NESTED), bytes(buf[off + 4:off + alen])))
        off += (alen + 3) & ~3
    assert off == len(buf), 'trailing bytes'
    return out


def tree(buf, nested_types=()):
    """{type: payload or subtree}; types in nested_types (or flagged nested) are recursed."""
    out = {}
    for atype, nested, payload in parse(buf):
        out[atype] = tree(payload) if nested or atype in nested_types else payload
    return out


def be(payload):
    return int.from_bytes(payload, 'big')


# -- building messages the way ctnetlink_fill_info() does ------------------------------

def _addr(family, addr):
    return socket.inet_pton(socket.AF_INET6 if family == C.AF_INET6 else socket.AF_INET, addr)


def kernel_tuple(family, proto, tup, zone=None):
    """A tuple body in the kernel's order: IP {src, dst}, PROTO {num, ports | id, type, code}."""
    v6 = family == C.AF_INET6
    ip = E.nest(C.CTA_TUPLE_IP,
                E.nla(C.CTA_IP_V6_SRC if v6 else C.CTA_IP_V4_SRC, _addr(family, tup['src'])),
                E.nla(C.CTA_IP_V6_DST if v6 else C.CTA_IP_V4_DST, _addr(family, tup['dst'])))
    pp = [E.u8(C.CTA_PROTO_NUM, proto)]
    if proto == 1:
        pp += [E.be16(C.CTA_PROTO_ICMP_ID, tup['icmp_id']), E.u8(C.CTA_PROTO_ICMP_TYPE, tup['icmp_type']),
               E.u8(C.CTA_PROTO_ICMP_CODE, tup['icmp_code'])]
    elif proto == 58:
        pp += [E.be16(C.CTA_PROTO_ICMPV6_ID, tup['icmp_id']), E.u8(C.CTA_PROTO_ICMPV6_TYPE, tup['icmp_type']),
               E.u8(C.CTA_PROTO_ICMPV6_CODE, tup['icmp_code'])]
    elif proto == 47:
        pp += [E.be16(C.CTA_PROTO_SRC_PORT, tup['src_key']), E.be16(C.CTA_PROTO_DST_PORT, tup['dst_key'])]
    elif 'sport' in tup:
        pp += [E.be16(C.CTA_PROTO_SRC_PORT, tup['sport']), E.be16(C.CTA_PROTO_DST_PORT, tup['dport'])]
    parts = [ip, E.nest(C.CTA_TUPLE_PROTO, *pp)]
    if zone:
        parts.append(E.be16(C.CTA_TUPLE_ZONE, zone))
    return b''.join(parts)


def protoinfo(proto, state):
    if proto == 6:
        inner = E.nest(C.CTA_PROTOINFO_TCP, E.u8(C.CTA_PROTOINFO_TCP_STATE, state),
                       E.u8(C.CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, 7), E.u8(C.CTA_PROTOINFO_TCP_WSCALE_REPLY, 7),
                       E.nla(C.CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, b'\x23\x23'),
                       E.nla(C.CTA_PROTOINFO_TCP_FLAGS_REPLY, b'\x23\x23'))
    elif proto == 132:
        inner = E.nest(C.CTA_PROTOINFO_SCTP, E.u8(C.CTA_PROTOINFO_SCTP_STATE, state),
                       E.be32(2, 0x11223344), E.be32(3, 0x55667788))
    else:  # dccp
        inner = E.nest(C.CTA_PROTOINFO_DCCP, E.u8(C.CTA_PROTOINFO_DCCP_STATE, state), E.u8(2, 0),
                       E.be64(3, 12345))
    return E.nest(C.CTA_PROTOINFO, inner)


def ct_attrs(family, proto, orig, reply, status=0, timeout=None, mark=None, use=None, ct_id=None,
             zone=None, orig_zone=None, reply_zone=None, counters=None, timestamp=None, pstate=None,
             labels=None, helper=None, extra=None):
    """{name: encoded attribute} for one conntrack entry (None values are left out)."""
    a = {'orig': E.nest(C.CTA_TUPLE_ORIG, kernel_tuple(family, proto, orig, orig_zone)),
         'reply': E.nest(C.CTA_TUPLE_REPLY, kernel_tuple(family, proto, reply, reply_zone))}
    if zone:
        a['zone'] = E.be16(C.CTA_ZONE, zone)
    a['status'] = E.be32(C.CTA_STATUS, status)
    if counters is not None:
        (opk, oby), (rpk, rby) = counters
        a['counters_orig'] = E.nest(C.CTA_COUNTERS_ORIG, E.be64(C.CTA_COUNTERS_PACKETS, opk),
                                    E.be64(C.CTA_COUNTERS_BYTES, oby))
        a['counters_reply'] = E.nest(C.CTA_COUNTERS_REPLY, E.be64(C.CTA_COUNTERS_PACKETS, rpk),
                                     E.be64(C.CTA_COUNTERS_BYTES, rby))
    if timestamp is not None:
        start, stop = timestamp
        ts = [E.be64(C.CTA_TIMESTAMP_START, start)]
        if stop is not None:
            ts.append(E.be64(C.CTA_TIMESTAMP_STOP, stop))
        a['timestamp'] = E.nest(C.CTA_TIMESTAMP, *ts)
    if helper is not None:
        a['helper'] = E.nest(C.CTA_HELP, E.nla(C.CTA_HELP_NAME, helper.encode() + b'\0'))
    if labels is not None:
        a['labels'] = E.nla(C.CTA_LABELS, E.labels_bytes(labels))
    if timeout is not None:
        a['timeout'] = E.be32(C.CTA_TIMEOUT, timeout)
    if pstate is not None:
        a['protoinfo'] = protoinfo(proto, pstate)
    if mark is not None:
        a['mark'] = E.be32(C.CTA_MARK, mark)
    if ct_id is not None:
        a['id'] = E.be32(C.CTA_ID, ct_id)
    if use is not None:
        a['use'] = E.be32(C.CTA_USE, use)
    a.update(extra or {})
    return a


def message(attrs, family, order=None, msg=C.IPCTNL_MSG_CT_NEW, flags=C.NLM_F_MULTI):
    """A complete nfnetlink message from ct_attrs() output, in insertion order or ``order``."""
    names = order or list(attrs)
    return E.nlmsg(C.NFNL_SUBSYS_CTNETLINK, msg, flags, 1, family, b''.join(attrs[n] for n in names))


def ct_message(family, proto, orig, reply, order=None, **kw):
    return message(ct_attrs(family, proto, orig, reply, **kw), family, order)


def decode(dec, buf):
    """Decoder.entry of one complete message, as the client calls it."""
    return dec.entry(dec.values(buf, 20, len(buf)), buf[16])
