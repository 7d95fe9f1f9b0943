# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Decode ctnetlink conntrack messages into entry dicts (docs/entry.md), fast.

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

from ansible_collections.netfilter.conntrack.plugins.module_utils import _nl_const as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

# Canonical value slots of one conntrack message.
SLOTS = (
    'o_src', 'o_dst', 'o_proto', 'o_sport', 'o_dport', 'o_itype', 'o_icode', 'o_iid', 'o_zone',
    'r_src', 'r_dst', 'r_proto', 'r_sport', 'r_dport', 'r_itype', 'r_icode', 'r_iid', 'r_zone',
    'status', 'timeout', 'mark', 'use', 'id', 'zone', 'pstate',
    'c_opk', 'c_oby', 'c_rpk', 'c_rby', 'ts_start', 'ts_stop', 'helper', 'labels',
)
SLOT = {name: i for i, name in enumerate(SLOTS)}
_NSLOTS = len(SLOTS)
_DEFAULTS = (None,) * _NSLOTS

_FAMILY = C.FAMILY_NAMES
_PROTO = C.PROTO_NAMES

_HDR = struct.Struct('=HH')
_NLMSG = struct.Struct('=IHHII')

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


def _children(buf, start, end):
    """Yield (offset, length, type) of the attributes in buf[start:end]."""
    off = start
    while off + 4 <= end:
        alen, atype = _HDR.unpack_from(buf, off)
        if alen < 4 or off + alen > end:
            raise ConntrackError('malformed netlink attribute at offset %d' % off)
        yield off, alen, atype
        off += (alen + 3) & ~3


def _walk_tuple(buf, start, end, prefix, heads, leaves):
    # Every header walked goes into ``heads``, known or not: a later message may carry a
    # known attribute where this one had an unknown one of the same size.
    for off, alen, atype in _children(buf, start, end):
        heads.append(off)
        t = atype & C.NLA_TYPE_MASK
        if t == C.CTA_TUPLE_IP or t == C.CTA_TUPLE_PROTO:
            table = _TUPLE_IP if t == C.CTA_TUPLE_IP else _TUPLE_PROTO
            for coff, clen, ctype in _children(buf, off + 4, off + alen):
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
    for off, alen, atype in _children(buf, start, end):
        heads.append(off)  # every header, known or not (see _walk_tuple)
        t = atype & C.NLA_TYPE_MASK
        body, bend = off + 4, off + alen
        if t == C.CTA_TUPLE_ORIG or t == C.CTA_TUPLE_REPLY:
            _walk_tuple(buf, body, bend, 'o_' if t == C.CTA_TUPLE_ORIG else 'r_', heads, leaves)
        elif t in _TOP_LEAVES:
            code, name = _TOP_LEAVES[t]
            if alen - 4 < struct.calcsize('>' + code):
                raise ConntrackError('truncated attribute %d' % t)
            leaves.append((body, code, name))
        elif t == C.CTA_PROTOINFO:
            for poff, plen, ptype in _children(buf, body, bend):
                heads.append(poff)
                for soff, slen, stype in _children(buf, poff + 4, poff + plen):
                    heads.append(soff)
                    if stype & C.NLA_TYPE_MASK == 1 and slen >= 5:  # *_STATE
                        leaves.append((soff + 4, 'B', 'pstate'))
        elif t in _COUNTERS:
            names = _COUNTERS[t]
            for coff, clen, ctype in _children(buf, body, bend):
                heads.append(coff)
                ct = ctype & C.NLA_TYPE_MASK
                if ct in (C.CTA_COUNTERS_PACKETS, C.CTA_COUNTERS_BYTES) and clen >= 12:
                    leaves.append((coff + 4, 'Q', names[ct - 1]))
        elif t == C.CTA_TIMESTAMP:
            for coff, clen, ctype in _children(buf, body, bend):
                heads.append(coff)
                ct = ctype & C.NLA_TYPE_MASK
                if ct in (C.CTA_TIMESTAMP_START, C.CTA_TIMESTAMP_STOP) and clen >= 12:
                    leaves.append((coff + 4, 'Q', 'ts_start' if ct == 1 else 'ts_stop'))
        elif t == C.CTA_HELP:
            for coff, clen, ctype in _children(buf, body, bend):
                heads.append(coff)
                if ctype & C.NLA_TYPE_MASK == C.CTA_HELP_NAME and clen > 4:
                    leaves.append((coff + 4, '%ds' % (clen - 4), 'helper'))
        elif t == C.CTA_LABELS and alen > 4:
            leaves.append((body, '%ds' % (alen - 4), 'labels'))
    return heads, leaves


# what nat_src / nat_dst read: the addresses and ports of both tuples
NAT_SLOTS = (0, 1, 3, 4, 9, 10, 12, 13)


def nat_src(v):
    """Source NAT, derived from the tuples as `conntrack` does: orig src != reply dst."""
    return v[0] != v[10] or v[3] != v[13]


def nat_dst(v):
    """Destination NAT: orig dst != reply src (or the ports differ)."""
    return v[1] != v[9] or v[4] != v[12]


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
        """orig (base 0) or reply (base 9) tuple dict of value tuple v."""
        addr = self.addr
        if proto in C.ICMP_PROTOS:
            return {'src': addr(v[base]), 'dst': addr(v[base + 1]), 'icmp_type': v[base + 5],
                    'icmp_code': v[base + 6], 'icmp_id': v[base + 7]}
        if proto == C.GRE_PROTO:
            return {'src': addr(v[base]), 'dst': addr(v[base + 1]), 'src_key': v[base + 3],
                    'dst_key': v[base + 4]}
        if v[base + 3] is not None:
            return {'src': addr(v[base]), 'dst': addr(v[base + 1]), 'sport': v[base + 3],
                    'dport': v[base + 4]}
        return {'src': addr(v[base]), 'dst': addr(v[base + 1])}

    def entry(self, v, family):
        """The entry dict (docs/entry.md) from a canonical value tuple."""
        proto = v[2]
        if proto in C.PORT_PROTOS and v[3] is not None:
            get = self._addr.get
            o_src, o_dst, r_src, r_dst = get(v[0]), get(v[1]), get(v[9]), get(v[10])
            if o_src is None or o_dst is None or r_src is None or r_dst is None:
                addr = self.addr
                o_src, o_dst, r_src, r_dst = addr(v[0]), addr(v[1]), addr(v[9]), addr(v[10])
            orig = {'src': o_src, 'dst': o_dst, 'sport': v[3], 'dport': v[4]}
            reply = {'src': r_src, 'dst': r_dst, 'sport': v[12], 'dport': v[13]}
        else:
            orig = self.tuple_dict(v, 0, proto)
            reply = self.tuple_dict(v, 9, proto)
        status = v[18] or 0
        names = self._status.get(status) or self.status_names(status)
        entry = {
            'id': v[22],
            'family': _FAMILY.get(family) or str(family),
            'proto': _PROTO.get(proto) or str(proto),
            'proto_num': proto,
            'orig': orig,
            'reply': reply,
            'proto_state': None if v[24] is None else pstate_name(proto, v[24]),
            'timeout': v[19],
            'status': names,
            'ctstate': 'RELATED' if status & 1 else 'ESTABLISHED' if status & 2 else 'NEW',
            'mark': v[20] or 0,
            'zone': v[23] or 0,
            'use': v[21],
            'labels': [] if v[32] is None else self.labels(v[32]),
            'nat': {'src': v[0] != v[10] or v[3] != v[13], 'dst': v[1] != v[9] or v[4] != v[12]},
            'counters': None if v[25] is None else {
                'orig': {'packets': v[25], 'bytes': v[26]},
                'reply': {'packets': v[27], 'bytes': v[28]}},
            'timestamp': None if v[29] is None else {'start': v[29], 'stop': v[30]},
            'helper': None if v[31] is None else helper_name(v[31]),
        }
        if v[8] is not None or v[17] is not None:
            oz, rz = v[8] or 0, v[17] or 0
            if oz != rz or oz != entry['zone']:
                entry['orig_zone'] = oz
                entry['reply_zone'] = rz
        return entry

    def decode(self, buf, start, end, family):
        return self.entry(self.values(buf, start, end), family)


def _pack(addr):
    if not isinstance(addr, str):
        return None
    try:
        return socket.inet_pton(socket.AF_INET6 if ':' in addr else socket.AF_INET, addr)
    except OSError:
        return None


def _tuple_values(tup, proto):
    """(src, dst, sport, dport, itype, icode, iid, zone) slots of a tuple dict."""
    if not isinstance(tup, dict):
        tup = {}
    if proto == C.GRE_PROTO:
        sport, dport = tup.get('src_key'), tup.get('dst_key')
    else:
        sport, dport = tup.get('sport'), tup.get('dport')
    return (_pack(tup.get('src')), _pack(tup.get('dst')), proto, sport, dport,
            tup.get('icmp_type'), tup.get('icmp_code'), tup.get('icmp_id'))


def entry_values(entry, label_map=None):
    """(canonical values, family number) of an entry dict: the inverse of Decoder.entry.

    Lets one set of predicates (over value tuples) serve dumps and entry lists alike.
    """
    proto = entry.get('proto_num')
    if proto is None:
        proto = C.PROTO_NUMBERS.get(entry.get('proto'))
    zone = entry.get('zone') or 0
    status = 0
    for name in entry.get('status') or ():
        bit = C.STATUS_BITS.get(name)
        if bit is not None:
            status |= 1 << bit
    states = C.PROTO_STATES.get(proto)
    pstate = entry.get('proto_state')
    pnum = states.index(pstate) if states and pstate in states else None
    labels = None
    if entry.get('labels'):
        names = {n: b for b, n in (label_map or {}).items()}
        bits = 0
        for lab in entry['labels']:
            bit = lab if isinstance(lab, int) else names.get(lab)
            if bit is not None and 0 <= bit < 128:
                bits |= 1 << bit
        labels = bits.to_bytes(16, 'little')
    helper = entry.get('helper')
    vals = (_tuple_values(entry.get('orig'), proto) + (entry.get('orig_zone', zone),)
            + _tuple_values(entry.get('reply'), proto) + (entry.get('reply_zone', zone),)
            + (status, entry.get('timeout'), entry.get('mark') or 0, entry.get('use'),
               entry.get('id'), zone, pnum, None, None, None, None, None, None,
               helper.encode() if isinstance(helper, str) else None, labels))
    return vals, C.FAMILY_NUMBERS.get(entry.get('family'), C.AF_UNSPEC)


def find_attr(buf, start, end, path):
    """Payload (bytes) of the attribute reached by ``path`` (attribute types, outermost
    first) among buf[start:end], or None.  For the rare attributes the entry dict leaves
    out (SCTP verification tags, DCCP role)."""
    for atype in path:
        for off, alen, t in _children(buf, start, end):
            if t & C.NLA_TYPE_MASK == atype:
                start, end = off + 4, off + alen
                break
        else:
            return None
    return bytes(buf[start:end])


def iter_messages(buf, length):
    """Yield (offset, msglen, type, flags) for each netlink message in buf[:length]."""
    off = 0
    while off + 16 <= length:
        mlen, mtype, mflags, _seq, _pid = _NLMSG.unpack_from(buf, off)
        if mlen < 16 or off + mlen > length:
            raise ConntrackError('malformed netlink message header at offset %d' % off)
        yield off, mlen, mtype, mflags
        off += (mlen + 3) & ~3


# -- expectations (low volume: decoded attribute by attribute) ------------------------
_EXP_TUPLES = {C.CTA_EXPECT_MASTER: 'master', C.CTA_EXPECT_TUPLE: 'tuple',
               C.CTA_EXPECT_MASK: 'mask'}
_EXP_U32 = {C.CTA_EXPECT_TIMEOUT: 'timeout', C.CTA_EXPECT_ID: 'id',
            C.CTA_EXPECT_FLAGS: 'flags', C.CTA_EXPECT_CLASS: 'class'}


def _tuple_at(dec, buf, start, end, mask=False):
    """A tuple attribute's body as {src, dst, proto, sport, dport | icmp_*}."""
    heads, leaves = [], []
    _walk_tuple(buf, start, end, '', heads, leaves)
    out = {}
    for off, code, name in leaves:
        val = struct.unpack_from('>' + code, buf, off)[0]
        if name in ('src', 'dst'):
            val = socket.inet_ntop(socket.AF_INET if len(val) == 4 else socket.AF_INET6, val)
        elif name == 'proto':
            if mask:
                continue  # the kernel puts the expected protocol here, not a mask
            out['proto_num'] = val
            val = C.PROTO_NAMES.get(val, str(val))
        elif name.startswith('i'):
            name = {'itype': 'icmp_type', 'icode': 'icmp_code', 'iid': 'icmp_id'}[name]
        out[name] = val
    return out


def decode_expect(dec, buf, start, end, family):
    """One expectation message -> the expectation dict of docs/entry.md.

    What the kernel sends (ctnetlink_exp_dump_expect): the master's original tuple, the
    expected tuple, the mask (only src and sport are masks; dst and dport are always
    all ones), timeout, id, flags, class, the master's helper, the NAT saved address and
    port with their direction (dst and dport are 0), the expectfn name.  It sends no
    zone: ``zone`` stays 0 here; ConntrackClient.expect_zones finds the real one.
    """
    exp = {'id': None, 'family': C.FAMILY_NAMES.get(family, str(family)), 'master': {},
           'tuple': {}, 'mask': {}, 'timeout': None, 'helper': None, 'zone': 0, 'flags': [],
           'class': 0, 'nat': None, 'fn': None}
    try:
        for off, alen, atype in _children(buf, start, end):
            t = atype & C.NLA_TYPE_MASK
            body, bend = off + 4, off + alen
            if t in _EXP_TUPLES:
                exp[_EXP_TUPLES[t]] = _tuple_at(dec, buf, body, bend, t == C.CTA_EXPECT_MASK)
            elif t in _EXP_U32 and alen >= 8:
                exp[_EXP_U32[t]] = struct.unpack_from('>I', buf, body)[0]
            elif t == C.CTA_EXPECT_ZONE and alen >= 6:
                exp['zone'] = struct.unpack_from('>H', buf, body)[0]
            elif t in (C.CTA_EXPECT_HELP_NAME, C.CTA_EXPECT_FN):
                name = bytes(buf[body:bend]).split(b'\0', 1)[0].decode('ascii', 'replace')
                exp['helper' if t == C.CTA_EXPECT_HELP_NAME else 'fn'] = name
            elif t == C.CTA_EXPECT_NAT:
                nat = {}
                for noff, nlen, ntype in _children(buf, body, bend):
                    nt = ntype & C.NLA_TYPE_MASK
                    if nt == C.CTA_EXPECT_NAT_DIR and nlen >= 8:
                        nat['dir'] = 'reply' if struct.unpack_from('>I', buf, noff + 4)[0] \
                            else 'original'
                    elif nt == C.CTA_EXPECT_NAT_TUPLE:
                        nat['tuple'] = _tuple_at(dec, buf, noff + 4, noff + nlen)
                exp['nat'] = nat
    except struct.error as exc:
        raise ConntrackError('malformed expectation message: %s' % exc)
    flags = exp['flags'] if isinstance(exp['flags'], int) else 0
    exp['flags'] = sorted(name for name, bit in C.EXPECT_FLAGS.items() if flags & bit)
    exp['proto'] = exp['tuple'].get('proto') or exp['master'].get('proto')
    exp['proto_num'] = exp['tuple'].get('proto_num') or exp['master'].get('proto_num')
    return exp


def expect_view(exp):
    """The filter view of an expectation: orig_* = master tuple, reply_* = expected tuple."""
    return {'family': exp['family'], 'proto_num': exp['proto_num'], 'orig': exp['master'],
            'reply': exp['tuple'], 'helper': exp['helper'], 'zone': exp['zone'], 'mark': 0,
            'status': [], 'labels': [], 'ctstate': None, 'proto_state': None}
