# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Encode netlink attributes and ctnetlink requests with plain struct (about 1 us each)."""

from __future__ import annotations

import socket
import struct

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.slots import (
    ID, O_DPORT, O_DST, O_ICODE, O_IID, O_ITYPE, O_PROTO, O_SPORT, O_SRC, O_ZONE, ZONE)
from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink.framing import (  # noqa: F401 pylint: disable=unused-import
    nlmsg)

_HDR = struct.Struct('=HH')
_BE16 = struct.Struct('>H')
_BE32 = struct.Struct('>I')
_BE64 = struct.Struct('>Q')
_U32 = struct.Struct('=I')


def nla(atype, payload):
    """One attribute, padded to 4 bytes."""
    n = 4 + len(payload)
    return _HDR.pack(n, atype) + payload + b'\0' * (-n & 3)


def nest(atype, *children):
    return nla(atype | C.NLA_F_NESTED, b''.join(children))


def u8(atype, v):
    return nla(atype, bytes((v,)))


def be16(atype, v):
    return nla(atype, _BE16.pack(v))


def be32(atype, v):
    return nla(atype, _BE32.pack(v))


def u32(atype, v):
    return nla(atype, _U32.pack(v))


def be64(atype, v):
    return nla(atype, _BE64.pack(v))


def name_attr(atype, name):
    """A NUL-terminated name (helper, expectfn)."""
    return nla(atype, name.encode() + b'\0')


def _optional(spec, fields):
    """The attributes of the optional keys of ``spec`` named in ``fields`` ((key,
    encoder, type) each, in order): a 32-bit value when it is not None, a zone or a name
    when it is not 0 or empty."""
    return [enc(atype, spec[key]) for key, enc, atype in fields
            if (spec.get(key) is not None if enc is be32 else spec.get(key))]


def addr_bytes(family, addr):
    return socket.inet_pton(socket.AF_INET if family == C.AF_INET else socket.AF_INET6, addr)


def tuple_attrs(family, tup, proto):
    """Body of a CTA_TUPLE_* attribute from a tuple dict (src, dst, ports/icmp/keys, zone).

    Missing keys are left out, so the same function encodes full tuples (create, get,
    delete) and partial ones (CTA_FILTER).
    """
    parts = []
    ip = []
    v6 = family == C.AF_INET6
    if tup.get('src') is not None:
        ip.append(nla(C.CTA_IP_V6_SRC if v6 else C.CTA_IP_V4_SRC, addr_bytes(family, tup['src'])))
    if tup.get('dst') is not None:
        ip.append(nla(C.CTA_IP_V6_DST if v6 else C.CTA_IP_V4_DST, addr_bytes(family, tup['dst'])))
    if ip:
        parts.append(nest(C.CTA_TUPLE_IP, *ip))
    if proto is not None:
        pp = [u8(C.CTA_PROTO_NUM, proto)]
        if proto in C.ICMP_PROTOS:
            six = proto == 58
            if tup.get('icmp_type') is not None:
                pp.append(u8(C.CTA_PROTO_ICMPV6_TYPE if six else C.CTA_PROTO_ICMP_TYPE,
                             tup['icmp_type']))
            if tup.get('icmp_code') is not None:
                pp.append(u8(C.CTA_PROTO_ICMPV6_CODE if six else C.CTA_PROTO_ICMP_CODE,
                             tup['icmp_code']))
            if tup.get('icmp_id') is not None:
                pp.append(be16(C.CTA_PROTO_ICMPV6_ID if six else C.CTA_PROTO_ICMP_ID,
                               tup['icmp_id']))
        elif proto == C.GRE_PROTO:
            if tup.get('src_key') is not None:
                pp.append(be16(C.CTA_PROTO_SRC_PORT, tup['src_key']))
            if tup.get('dst_key') is not None:
                pp.append(be16(C.CTA_PROTO_DST_PORT, tup['dst_key']))
        else:
            if tup.get('sport') is not None:
                pp.append(be16(C.CTA_PROTO_SRC_PORT, tup['sport']))
            if tup.get('dport') is not None:
                pp.append(be16(C.CTA_PROTO_DST_PORT, tup['dport']))
        parts.append(nest(C.CTA_TUPLE_PROTO, *pp))
    if tup.get('zone') is not None:
        parts.append(be16(C.CTA_TUPLE_ZONE, tup['zone']))
    return b''.join(parts)


# ICMP / ICMPv6 types the kernel tracks, with their answer (nf_conntrack_proto_icmp*.c invmap)
ICMP_INVERSE = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17}
ICMPV6_INVERSE = {128: 129, 129: 128, 139: 140, 140: 139}


def mirror(tup, proto):
    """The reply tuple of an un-NATed connection."""
    out = {'src': tup.get('dst'), 'dst': tup.get('src')}
    if proto in C.ICMP_PROTOS:
        # echo request (8 / 128) is answered by echo reply (0 / 129), and so on
        itype = tup.get('icmp_type')
        out['icmp_type'] = (ICMPV6_INVERSE if proto == 58 else ICMP_INVERSE).get(itype, itype)
        out['icmp_code'] = tup.get('icmp_code')
        out['icmp_id'] = tup.get('icmp_id')
    elif proto == C.GRE_PROTO:
        out['src_key'], out['dst_key'] = tup.get('dst_key'), tup.get('src_key')
    else:
        out['sport'], out['dport'] = tup.get('dport'), tup.get('sport')
    return out


def status_bits(names):
    bits = 0
    for name in names or ():
        bits |= 1 << C.STATUS_BITS[name]
    return bits


def labels_bytes(bits, size=16):
    value = 0
    for b in bits:
        value |= 1 << b
    return value.to_bytes(size, 'little')


def nat_attr(atype, family, addr):
    v6 = family == C.AF_INET6
    raw = addr_bytes(family, addr)
    return nest(atype,
                nla(C.CTA_NAT_V6_MINIP if v6 else C.CTA_NAT_V4_MINIP, raw),
                nla(C.CTA_NAT_V6_MAXIP if v6 else C.CTA_NAT_V4_MAXIP, raw))


def entry_attrs(spec, create):
    """CTA_* attributes that create or update one entry.

    ``spec`` keys: family (number), proto (number), orig, reply (tuple dicts), zone,
    orig_zone, reply_zone, and optional timeout, mark, status (bits), labels (bit list),
    proto_state (number), sctp_vtags ((orig, reply), sent with an SCTP state), dccp_role
    (sent with a DCCP state), src_nat, dst_nat, helper, id.
    """
    fam, proto = spec['family'], spec['proto']
    orig = dict(spec['orig'])
    reply = dict(spec['reply'])
    if spec.get('orig_zone') is not None:
        orig['zone'] = spec['orig_zone']
    if spec.get('reply_zone') is not None:
        reply['zone'] = spec['reply_zone']
    parts = [nest(C.CTA_TUPLE_ORIG, tuple_attrs(fam, orig, proto)),
             nest(C.CTA_TUPLE_REPLY, tuple_attrs(fam, reply, proto))]
    parts += _optional(spec, (('zone', be16, C.CTA_ZONE), ('id', be32, C.CTA_ID),
                              ('timeout', be32, C.CTA_TIMEOUT)))
    if spec.get('status') is not None:
        bits = spec['status']
        if create:
            bits |= C.IPS_CONFIRMED  # the kernel answers EBUSY without it
        parts.append(be32(C.CTA_STATUS, bits))
    if spec.get('mark') is not None:
        parts.append(be32(C.CTA_MARK, spec['mark']))
    if spec.get('labels') is not None:
        parts.append(nla(C.CTA_LABELS, labels_bytes(spec['labels'])))
        if not create:
            parts.append(nla(C.CTA_LABELS_MASK, labels_bytes(range(128))))
    if spec.get('proto_state') is not None and proto in C.PROTOINFO_ATTR:
        info = [u8(1, spec['proto_state'])]
        if proto == 132:
            # the kernel refuses an SCTP state without both verification tags (EINVAL)
            vtag_orig, vtag_reply = spec.get('sctp_vtags') or (0, 0)
            info += [be32(C.CTA_PROTOINFO_SCTP_VTAG_ORIGINAL, vtag_orig),
                     be32(C.CTA_PROTOINFO_SCTP_VTAG_REPLY, vtag_reply)]
        elif proto == 33:
            # ... and a DCCP state without the role (0 client, 1 server)
            info.append(u8(C.CTA_PROTOINFO_DCCP_ROLE, spec.get('dccp_role') or 0))
        parts.append(nest(C.CTA_PROTOINFO, nest(C.PROTOINFO_ATTR[proto], *info)))
    if create and spec.get('src_nat'):
        parts.append(nat_attr(C.CTA_NAT_SRC, fam, spec['src_nat']))
    if create and spec.get('dst_nat'):
        parts.append(nat_attr(C.CTA_NAT_DST, fam, spec['dst_nat']))
    if create and spec.get('helper'):
        parts.append(nest(C.CTA_HELP, name_attr(C.CTA_HELP_NAME, spec['helper'])))
    return b''.join(parts)


def key_attrs(family, proto, orig, zone=None, ct_id=None):
    """Attributes naming one entry (get / delete): original tuple, zone, optional id."""
    parts = [nest(C.CTA_TUPLE_ORIG, tuple_attrs(family, orig, proto))]
    if zone:
        parts.append(be16(C.CTA_ZONE, zone))
    if ct_id is not None:
        parts.append(be32(C.CTA_ID, ct_id))
    return b''.join(parts)


def key_from_values(family, v):
    """Delete/get attributes for a decoded value tuple (see slots.SLOTS): the
    original tuple, zone and id, straight from the dump's raw values."""
    v6 = family == C.AF_INET6
    parts = [nest(C.CTA_TUPLE_IP, nla(C.CTA_IP_V6_SRC if v6 else C.CTA_IP_V4_SRC, v[O_SRC]),
                  nla(C.CTA_IP_V6_DST if v6 else C.CTA_IP_V4_DST, v[O_DST]))]
    proto = v[O_PROTO]
    pp = [u8(C.CTA_PROTO_NUM, proto)]
    if proto in C.ICMP_PROTOS:
        six = proto == 58
        pp.append(u8(C.CTA_PROTO_ICMPV6_TYPE if six else C.CTA_PROTO_ICMP_TYPE, v[O_ITYPE] or 0))
        pp.append(u8(C.CTA_PROTO_ICMPV6_CODE if six else C.CTA_PROTO_ICMP_CODE, v[O_ICODE] or 0))
        pp.append(be16(C.CTA_PROTO_ICMPV6_ID if six else C.CTA_PROTO_ICMP_ID, v[O_IID] or 0))
    elif v[O_SPORT] is not None:
        pp.append(be16(C.CTA_PROTO_SRC_PORT, v[O_SPORT]))
        pp.append(be16(C.CTA_PROTO_DST_PORT, v[O_DPORT]))
    parts.append(nest(C.CTA_TUPLE_PROTO, *pp))
    if v[O_ZONE] is not None:
        parts.append(be16(C.CTA_TUPLE_ZONE, v[O_ZONE]))
    return nest(C.CTA_TUPLE_ORIG, *parts) + _zone_id(v)


def _zone_id(v):
    """CTA_ZONE (when not 0) and CTA_ID of value tuple v."""
    out = be16(C.CTA_ZONE, v[ZONE]) if v[ZONE] else b''
    if v[ID] is not None:
        out += be32(C.CTA_ID, v[ID])
    return out


# -- expectations ---------------------------------------------------------------------
def _exp_tuple(tup, proto):
    """A tuple dict for tuple_attrs: expectations name GRE keys sport/dport, no zone."""
    out = {k: v for k, v in (tup or {}).items() if k != 'zone'}
    if proto == C.GRE_PROTO:
        out.setdefault('src_key', out.get('sport'))
        out.setdefault('dst_key', out.get('dport'))
    return out


def expect_key_attrs(family, proto, tup, zone=None, exp_id=None):
    """Attributes naming one expectation (get / delete): expected tuple, zone, optional id."""
    parts = [nest(C.CTA_EXPECT_TUPLE, tuple_attrs(family, _exp_tuple(tup, proto), proto))]
    if zone:
        parts.append(be16(C.CTA_EXPECT_ZONE, zone))
    if exp_id is not None:
        parts.append(be32(C.CTA_EXPECT_ID, exp_id))
    return b''.join(parts)


def expect_attrs(spec):
    """CTA_EXPECT_* attributes that create one expectation (IPCTNL_MSG_EXP_NEW).

    ``spec`` keys: family, master_proto, master (original tuple of the master), proto,
    tuple (expected), mask (tuple dict: src/sport matter, dst/dport must be all ones),
    and optional zone, timeout, helper, flags (bits), class, fn, nat ({dir: 0 or 1,
    src, sport}).  Every tuple must be complete (the kernel parses all of them in full).
    The kernel ignores the timeout on create (the master's helper policy sets it); sent
    again on an existing expectation it is the only thing the kernel changes.
    """
    fam, proto, mproto = spec['family'], spec['proto'], spec['master_proto']
    parts = [nest(C.CTA_EXPECT_MASTER, tuple_attrs(fam, _exp_tuple(spec['master'], mproto),
                                                   mproto)),
             nest(C.CTA_EXPECT_TUPLE, tuple_attrs(fam, _exp_tuple(spec['tuple'], proto), proto)),
             nest(C.CTA_EXPECT_MASK, tuple_attrs(fam, _exp_tuple(spec['mask'], proto), proto))]
    parts += _optional(spec, (('zone', be16, C.CTA_EXPECT_ZONE),
                              ('timeout', be32, C.CTA_EXPECT_TIMEOUT),
                              ('flags', be32, C.CTA_EXPECT_FLAGS),
                              ('helper', name_attr, C.CTA_EXPECT_HELP_NAME),
                              ('class', be32, C.CTA_EXPECT_CLASS),
                              ('fn', name_attr, C.CTA_EXPECT_FN)))
    nat = spec.get('nat')
    if nat:
        zero = '::' if fam == C.AF_INET6 else '0.0.0.0'
        ntup = {'src': nat.get('src') or zero, 'dst': zero, 'sport': nat.get('sport') or 0,
                'dport': 0}
        parts.append(nest(C.CTA_EXPECT_NAT, be32(C.CTA_EXPECT_NAT_DIR, nat.get('dir') or 0),
                          nest(C.CTA_EXPECT_NAT_TUPLE,
                               tuple_attrs(fam, _exp_tuple(ntup, mproto), mproto))))
    return b''.join(parts)


def key_from_message(buf, off, family, v, full=None):
    """Delete attributes for a dumped message at buf[off:]: its CTA_TUPLE_ORIG copied as
    it came (about 1 us), plus zone and id (v needs only those two slots).  Falls back to
    key_from_values on every value (full(): the complete value tuple)."""
    alen, atype = _HDR.unpack_from(buf, off + 20)
    if v is None or atype & C.NLA_TYPE_MASK != C.CTA_TUPLE_ORIG:
        v = full() if full is not None else v
    if atype & C.NLA_TYPE_MASK != C.CTA_TUPLE_ORIG:
        return key_from_values(family, v)
    return bytes(buf[off + 20:off + 20 + ((alen + 3) & ~3)]) + _zone_id(v)
