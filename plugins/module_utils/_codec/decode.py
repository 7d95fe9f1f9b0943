# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Decode ctnetlink conntrack messages into the SPEC's entry dicts, fast.

The kernel emits every entry of the same kind (family, protocol, enabled extensions)
with the same attribute layout.  The first message of a layout is walked attribute by
attribute; the walk is compiled into a header mask and template (an integer) and a
struct for the big-endian values, plus an itemgetter that puts the values in a
canonical order.  Every later message of that layout costs
one masked integer compare of its attribute headers (they must be identical, so a
message that only looks alike is walked again), one ``unpack_from`` and the dict
construction.  Filters and aggregates that read a few fields use ``prober``: the same
header check, and only those fields unpacked.
"""

from __future__ import annotations

import operator
import socket
import struct

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.slots import (
    C_OBY, C_OPK, C_RBY, C_RPK, HELPER, ID, LABELS, MARK, NSLOTS, O_DPORT, O_DST, O_ICODE,
    O_IID, O_ITYPE, O_PROTO, O_SPORT, O_SRC, O_ZONE, PSTATE, R_DPORT, R_DST, R_ICODE, R_IID,
    R_ITYPE, R_SPORT, R_SRC, R_ZONE, SLOTS, STATUS, TIMEOUT, TS_START, TS_STOP, USE, ZONE)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

_DEFAULTS = (None,) * NSLOTS
# the slots of one tuple, from its first (O_SRC or R_SRC)
_TUPLE_AT = {O_SRC: (O_SRC, O_DST, O_SPORT, O_DPORT, O_ITYPE, O_ICODE, O_IID),
             R_SRC: (R_SRC, R_DST, R_SPORT, R_DPORT, R_ITYPE, R_ICODE, R_IID)}

_FAMILY = C.FAMILY_NAMES
_PROTO = C.PROTO_NAMES

_HDR = struct.Struct('=HH')

# (parent path, attribute type) -> (struct code, slot) for leaves; nested attributes map
# to the path of their children.
_TUPLE_IP = {C.CTA_IP_V4_SRC: ('4s', 'src'), C.CTA_IP_V4_DST: ('4s', 'dst'),
             C.CTA_IP_V6_SRC: ('16s', 'src'), C.CTA_IP_V6_DST: ('16s', 'dst')}
_TUPLE_PROTO = {C.CTA_PROTO_NUM: ('B', 'proto'), C.CTA_PROTO_SRC_PORT: ('H', 'sport'),
                C.CTA_PROTO_DST_PORT: ('H', 'dport'),
                C.CTA_PROTO_ICMP_ID: ('H', 'iid'), C.CTA_PROTO_ICMP_TYPE: ('B', 'itype'),
                C.CTA_PROTO_ICMP_CODE: ('B', 'icode'), C.CTA_PROTO_ICMPV6_ID: ('H', 'iid'),
                C.CTA_PROTO_ICMPV6_TYPE: ('B', 'itype'),
                C.CTA_PROTO_ICMPV6_CODE: ('B', 'icode')}
_TOP_LEAVES = {C.CTA_STATUS: ('I', 'status'), C.CTA_TIMEOUT: ('I', 'timeout'),
               C.CTA_MARK: ('I', 'mark'), C.CTA_USE: ('I', 'use'), C.CTA_ID: ('I', 'id'),
               C.CTA_ZONE: ('H', 'zone')}
_COUNTERS = {C.CTA_COUNTERS_ORIG: ('c_opk', 'c_oby'), C.CTA_COUNTERS_REPLY: ('c_rpk', 'c_rby')}


def children(buf, start, end):
    """Yield (offset, length, type) of the attributes in buf[start:end]."""
    off = start
    while off + 4 <= end:
        alen, atype = _HDR.unpack_from(buf, off)
        if alen < 4 or off + alen > end:
            raise ConntrackError('malformed netlink attribute at offset %d' % off)
        yield off, alen, atype
        off += (alen + 3) & ~3


def walk_tuple(buf, start, end, prefix, heads, leaves):
    # Every header walked goes into ``heads``, known or not: a later message may carry a
    # known attribute where this one had an unknown one of the same size.
    for off, alen, atype in children(buf, start, end):
        heads.append(off)
        t = atype & C.NLA_TYPE_MASK
        if t == C.CTA_TUPLE_IP or t == C.CTA_TUPLE_PROTO:
            table = _TUPLE_IP if t == C.CTA_TUPLE_IP else _TUPLE_PROTO
            for coff, clen, ctype in children(buf, off + 4, off + alen):
                heads.append(coff)
                spec = table.get(ctype & C.NLA_TYPE_MASK)
                if spec is None:
                    continue
                code, name = spec
                if clen - 4 < struct.calcsize('>' + code):
                    raise ConntrackError('truncated tuple attribute')
                leaves.append((coff + 4, code, prefix + name))
        elif t == C.CTA_TUPLE_ZONE and alen >= 6:
            leaves.append((off + 4, 'H', prefix + 'zone'))


def _walk(buf, start, end):
    """Walk one message's attributes: header offsets and (offset, code, slot) leaves."""
    heads, leaves = [], []
    for off, alen, atype in children(buf, start, end):
        heads.append(off)  # every header, known or not (see walk_tuple)
        t = atype & C.NLA_TYPE_MASK
        body, bend = off + 4, off + alen
        if t == C.CTA_TUPLE_ORIG or t == C.CTA_TUPLE_REPLY:
            walk_tuple(buf, body, bend, 'o_' if t == C.CTA_TUPLE_ORIG else 'r_', heads, leaves)
        elif t in _TOP_LEAVES:
            code, name = _TOP_LEAVES[t]
            if alen - 4 < struct.calcsize('>' + code):
                raise ConntrackError('truncated attribute %d' % t)
            leaves.append((body, code, name))
        elif t == C.CTA_PROTOINFO:
            for poff, plen, ptype in children(buf, body, bend):
                heads.append(poff)
                for soff, slen, stype in children(buf, poff + 4, poff + plen):
                    heads.append(soff)
                    if stype & C.NLA_TYPE_MASK == 1 and slen >= 5:  # *_STATE
                        leaves.append((soff + 4, 'B', 'pstate'))
        elif t in _COUNTERS:
            names = _COUNTERS[t]
            for coff, clen, ctype in children(buf, body, bend):
                heads.append(coff)
                ct = ctype & C.NLA_TYPE_MASK
                if ct in (C.CTA_COUNTERS_PACKETS, C.CTA_COUNTERS_BYTES) and clen >= 12:
                    leaves.append((coff + 4, 'Q', names[ct - 1]))
        elif t == C.CTA_TIMESTAMP:
            for coff, clen, ctype in children(buf, body, bend):
                heads.append(coff)
                ct = ctype & C.NLA_TYPE_MASK
                if ct in (C.CTA_TIMESTAMP_START, C.CTA_TIMESTAMP_STOP) and clen >= 12:
                    leaves.append((coff + 4, 'Q', 'ts_start' if ct == 1 else 'ts_stop'))
        elif t == C.CTA_HELP:
            for coff, clen, ctype in children(buf, body, bend):
                heads.append(coff)
                if ctype & C.NLA_TYPE_MASK == C.CTA_HELP_NAME and clen > 4:
                    leaves.append((coff + 4, '%ds' % (clen - 4), 'helper'))
        elif t == C.CTA_LABELS and alen > 4:
            leaves.append((body, '%ds' % (alen - 4), 'labels'))
    return heads, leaves


def helper_name(raw):
    """The helper's name from its NUL-padded CTA_HELP_NAME bytes (None: no helper)."""
    return None if raw is None else raw.split(b'\0', 1)[0].decode('ascii', 'replace')


def pstate_name(proto, pstate):
    """The name of protocol state number ``pstate`` (None when the protocol has none)."""
    states = C.PROTO_STATES.get(proto)
    if pstate is None or states is None:
        return None
    return states[pstate] if pstate < len(states) else str(pstate)


def ctstate_of(status):
    if status & C.IPS_EXPECTED:
        return 'RELATED'
    if status & C.IPS_SEEN_REPLY:
        return 'ESTABLISHED'
    return 'NEW'


class _Layout:
    """A compiled message layout: verify headers, extract values in slot order.

    ``slots``: the canonical slots to extract (None: all); the others come out None.
    The headers are verified as one masked integer compare (about twice as fast as
    unpacking them): every attribute header of the message, whatever is extracted.
    """

    __slots__ = ('mask', 'tmpl', 'size', 'vstruct', 'pick', 'start')

    def __init__(self, buf, start, end, slots=None):
        heads, leaves = _walk(buf, start, end)
        self.start = start
        self.size = end - start
        mask = 0
        for off in heads:  # one u32 per header (length and type together)
            mask |= 0xFFFFFFFF << ((off - start) * 8)
        self.mask = mask
        self.tmpl = int.from_bytes(buf[start:end], 'little') & mask
        names = SLOTS
        if slots is not None:
            # a prober's tuple ends at the last slot asked for
            names = SLOTS[:max(slots) + 1] if slots else ()
            wanted = {SLOTS[i] for i in slots}
            leaves = [leaf for leaf in leaves if leaf[2] in wanted]
        leaves.sort()
        fmt, pos, order = ['>'], start, []
        for off, code, name in leaves:
            if off > pos:
                fmt.append('%dx' % (off - pos))
            fmt.append(code)
            pos = off + struct.calcsize('>' + code)
            order.append(name)
        self.vstruct = struct.Struct(''.join(fmt))
        nvals = len(order)
        index = {name: i for i, name in enumerate(order)}
        picks = [index.get(name, nvals + i) for i, name in enumerate(names)]
        if picks == list(range(len(picks))) and len(picks) == nvals:
            self.pick = tuple   # the values come out in slot order already
        elif len(picks) == 1:
            self.pick = lambda vals, i=picks[0]: (vals[i],)
        elif not picks:
            self.pick = lambda vals: ()
        else:
            self.pick = operator.itemgetter(*picks)

    def values(self, buf, start):
        if int.from_bytes(buf[start:start + self.size], 'little') & self.mask != self.tmpl:
            return None
        return self.pick(self.vstruct.unpack_from(buf, start) + _DEFAULTS)


class Decoder:
    """Turns conntrack messages into canonical value tuples and entry dicts.

    One Decoder per dump: it caches layouts and address strings.
    """

    MAX_LAYOUTS = 512

    def __init__(self, label_names=None):
        self._layouts = {}
        self._probes = {}
        self._nlayouts = 0
        self._addr = {}
        self._status = {}
        self._labels = {}
        self.label_names = label_names or {}

    def values(self, buf, start, end):
        """Canonical value tuple of the attributes in buf[start:end] (after nfgenmsg)."""
        return self._values(self._layouts, None, buf, start, end)

    def prober(self, slots):
        """values() restricted to ``slots`` (canonical indexes).

        For predicates and aggregates that read a few fields of every message: only
        those are unpacked.  The tuple ends at the last slot asked for; the slots not
        asked for are None.  slots None: every slot (values itself).
        """
        if slots is None:
            return self.values
        slots = tuple(sorted(set(slots)))
        layouts = self._probes.setdefault(slots, {})
        values = self._values
        # size -> the first layout of that size, unpacked into locals: one dict lookup
        # and no method call for the common case of one layout per message size
        first = {}
        from_bytes = int.from_bytes

        def probe(buf, start, end):
            hit = first.get(end - start)
            if hit is not None:
                mask, tmpl, unpack, pick, size = hit
                if from_bytes(buf[start:start + size], 'little') & mask == tmpl:
                    try:
                        return pick(unpack(buf, start) + _DEFAULTS)
                    except struct.error:
                        pass
            vals = values(layouts, slots, buf, start, end)
            cands = layouts.get(end - start)
            if cands and end - start not in first:
                lay = cands[0]
                first[end - start] = (lay.mask, lay.tmpl, lay.vstruct.unpack_from, lay.pick,
                                      lay.size)
            return vals
        return probe

    def _values(self, layouts, slots, buf, start, end):
        cands = layouts.get(end - start)
        if cands:
            for lay in cands:
                try:
                    vals = lay.values(buf, start)
                except struct.error:
                    vals = None
                if vals is not None:
                    return vals
        try:
            lay = _Layout(buf, start, end, slots)
            vals = lay.values(buf, start)
        except struct.error as exc:
            raise ConntrackError('malformed conntrack message: %s' % exc)
        if self._nlayouts < self.MAX_LAYOUTS:
            layouts.setdefault(end - start, []).append(lay)
            self._nlayouts += 1
        return vals

    def addr(self, raw):
        s = self._addr.get(raw)
        if s is None:
            if raw is None:
                return None
            if len(self._addr) > 200000:
                self._addr.clear()
            s = socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)
            self._addr[raw] = s
        return s

    # status and labels lists are cached and shared between entries: treat them as
    # read-only (JSON serialisation and the filters never modify them).
    def status_names(self, status):
        names = self._status.get(status)
        if names is None:
            names = sorted(C.STATUS_NAMES.get(b, 'BIT%d' % b)
                           for b in range(32) if status >> b & 1)
            self._status[status] = names
        return names

    def labels(self, raw):
        if raw is None:
            return []
        out = self._labels.get(raw)
        if out is None:
            bits = int.from_bytes(raw, 'little')
            out = [self.label_names.get(b, b) for b in range(len(raw) * 8) if bits >> b & 1]
            self._labels[raw] = out
        return out

    def tuple_dict(self, v, base, proto):
        """orig (base O_SRC) or reply (base R_SRC) tuple dict of value tuple v."""
        addr = self.addr
        src, dst, sport, dport, itype, icode, iid = _TUPLE_AT[base]
        if proto in C.ICMP_PROTOS:
            return {'src': addr(v[src]), 'dst': addr(v[dst]), 'icmp_type': v[itype],
                    'icmp_code': v[icode], 'icmp_id': v[iid]}
        if proto == C.GRE_PROTO:
            return {'src': addr(v[src]), 'dst': addr(v[dst]), 'src_key': v[sport],
                    'dst_key': v[dport]}
        if v[sport] is not None:
            return {'src': addr(v[src]), 'dst': addr(v[dst]), 'sport': v[sport],
                    'dport': v[dport]}
        return {'src': addr(v[src]), 'dst': addr(v[dst])}

    def entry(self, v, family):
        """The SPEC's entry dict from a canonical value tuple."""
        proto = v[O_PROTO]
        if proto in C.PORT_PROTOS and v[O_SPORT] is not None:
            get = self._addr.get
            o_src, o_dst, r_src, r_dst = get(v[O_SRC]), get(v[O_DST]), get(v[R_SRC]), get(v[R_DST])
            if o_src is None or o_dst is None or r_src is None or r_dst is None:
                addr = self.addr
                o_src, o_dst = addr(v[O_SRC]), addr(v[O_DST])
                r_src, r_dst = addr(v[R_SRC]), addr(v[R_DST])
            orig = {'src': o_src, 'dst': o_dst, 'sport': v[O_SPORT], 'dport': v[O_DPORT]}
            reply = {'src': r_src, 'dst': r_dst, 'sport': v[R_SPORT], 'dport': v[R_DPORT]}
        else:
            orig = self.tuple_dict(v, O_SRC, proto)
            reply = self.tuple_dict(v, R_SRC, proto)
        status = v[STATUS] or 0
        names = self._status.get(status) or self.status_names(status)
        entry = {
            'id': v[ID],
            'family': _FAMILY.get(family) or str(family),
            'proto': _PROTO.get(proto) or str(proto),
            'proto_num': proto,
            'orig': orig,
            'reply': reply,
            'proto_state': None if v[PSTATE] is None else pstate_name(proto, v[PSTATE]),
            'timeout': v[TIMEOUT],
            'status': names,
            'ctstate': 'RELATED' if status & 1 else 'ESTABLISHED' if status & 2 else 'NEW',
            'mark': v[MARK] or 0,
            'zone': v[ZONE] or 0,
            'use': v[USE],
            'labels': [] if v[LABELS] is None else self.labels(v[LABELS]),
            'nat': {'src': v[O_SRC] != v[R_DST] or v[O_SPORT] != v[R_DPORT],
                    'dst': v[O_DST] != v[R_SRC] or v[O_DPORT] != v[R_SPORT]},
            'counters': None if v[C_OPK] is None else {
                'orig': {'packets': v[C_OPK], 'bytes': v[C_OBY]},
                'reply': {'packets': v[C_RPK], 'bytes': v[C_RBY]}},
            'timestamp': None if v[TS_START] is None else {'start': v[TS_START],
                                                           'stop': v[TS_STOP]},
            'helper': None if v[HELPER] is None else helper_name(v[HELPER]),
        }
        if v[O_ZONE] is not None or v[R_ZONE] is not None:
            oz, rz = v[O_ZONE] or 0, v[R_ZONE] or 0
            if oz != rz or oz != entry['zone']:
                entry['orig_zone'] = oz
                entry['reply_zone'] = rz
        return entry

    def decode(self, buf, start, end, family):
        return self.entry(self.values(buf, start, end), family)


def find_attr(buf, start, end, path):
    """Payload (bytes) of the attribute reached by ``path`` (attribute types, outermost
    first) among buf[start:end], or None.  For the rare attributes the entry dict leaves
    out (SCTP verification tags, DCCP role)."""
    for atype in path:
        for off, alen, t in children(buf, start, end):
            if t & C.NLA_TYPE_MASK == atype:
                start, end = off + 4, off + alen
                break
        else:
            return None
    return bytes(buf[start:end])
