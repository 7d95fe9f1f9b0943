# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""The slots of the decoder's value tuple: the one definition of what sits where.

Decoder.values() returns one tuple per conntrack message in this order; predicates,
aggregates and key encoders read it by these names, never by number.
"""

from __future__ import annotations

import socket

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C

SLOTS = (
    'o_src', 'o_dst', 'o_proto', 'o_sport', 'o_dport', 'o_itype', 'o_icode', 'o_iid', 'o_zone',
    'r_src', 'r_dst', 'r_proto', 'r_sport', 'r_dport', 'r_itype', 'r_icode', 'r_iid', 'r_zone',
    'status', 'timeout', 'mark', 'use', 'id', 'zone', 'pstate',
    'c_opk', 'c_oby', 'c_rpk', 'c_rby', 'ts_start', 'ts_stop', 'helper', 'labels',
)
SLOT = {name: i for i, name in enumerate(SLOTS)}
NSLOTS = len(SLOTS)

(O_SRC, O_DST, O_PROTO, O_SPORT, O_DPORT, O_ITYPE, O_ICODE, O_IID, O_ZONE,
 R_SRC, R_DST, R_PROTO, R_SPORT, R_DPORT, R_ITYPE, R_ICODE, R_IID, R_ZONE,
 STATUS, TIMEOUT, MARK, USE, ID, ZONE, PSTATE,
 C_OPK, C_OBY, C_RPK, C_RBY, TS_START, TS_STOP, HELPER, LABELS) = (SLOT[n] for n in SLOTS)

# (side, tuple dict key) -> slot; GRE keys travel in the port slots
_TUPLE_KEYS = {'src': 'src', 'dst': 'dst', 'sport': 'sport', 'dport': 'dport',
               'src_key': 'sport', 'dst_key': 'dport', 'icmp_type': 'itype',
               'icmp_code': 'icode', 'icmp_id': 'iid', 'zone': 'zone'}
TUPLE_SLOT = {(side, key): SLOT[prefix + name]
              for side, prefix in (('orig', 'o_'), ('reply', 'r_'))
              for key, name in _TUPLE_KEYS.items()}

# what nat_src / nat_dst read: the addresses and ports of both tuples
NAT_SLOTS = (O_SRC, O_DST, O_SPORT, O_DPORT, R_SRC, R_DST, R_SPORT, R_DPORT)


def nat_src(v):
    """Source NAT, derived from the tuples as `conntrack` does: orig src != reply dst."""
    return v[O_SRC] != v[R_DST] or v[O_SPORT] != v[R_DPORT]


def nat_dst(v):
    """Destination NAT: orig dst != reply src (or the ports differ)."""
    return v[O_DST] != v[R_SRC] or v[O_DPORT] != v[R_SPORT]


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
    vals = [None] * NSLOTS
    vals[O_SRC:O_ZONE] = _tuple_values(entry.get('orig'), proto)
    vals[O_ZONE] = entry.get('orig_zone', zone)
    vals[R_SRC:R_ZONE] = _tuple_values(entry.get('reply'), proto)
    vals[R_ZONE] = entry.get('reply_zone', zone)
    vals[STATUS], vals[TIMEOUT], vals[MARK] = status, entry.get('timeout'), entry.get('mark') or 0
    vals[USE], vals[ID], vals[ZONE], vals[PSTATE] = entry.get('use'), entry.get('id'), zone, pnum
    vals[HELPER] = helper.encode() if isinstance(helper, str) else None
    vals[LABELS] = labels
    vals = tuple(vals)
    return vals, C.FAMILY_NUMBERS.get(entry.get('family'), C.AF_UNSPEC)
