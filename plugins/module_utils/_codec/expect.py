# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Decode ctnetlink expectation messages into the SPEC's expectation dicts (few and low
volume: attribute by attribute, no layout compiling)."""

from __future__ import annotations

import socket
import struct

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.decode import children, walk_tuple
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

_EXP_TUPLES = {C.CTA_EXPECT_MASTER: 'master', C.CTA_EXPECT_TUPLE: 'tuple',
               C.CTA_EXPECT_MASK: 'mask'}
_EXP_U32 = {C.CTA_EXPECT_TIMEOUT: 'timeout', C.CTA_EXPECT_ID: 'id',
            C.CTA_EXPECT_FLAGS: 'flags', C.CTA_EXPECT_CLASS: 'class'}


def _tuple_at(dec, buf, start, end, mask=False):
    """A tuple attribute's body as {src, dst, proto, sport, dport | icmp_*}."""
    heads, leaves = [], []
    walk_tuple(buf, start, end, '', heads, leaves)
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
    """One expectation message -> the SPEC's expectation dict.

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
        for off, alen, atype in children(buf, start, end):
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
                for noff, nlen, ntype in children(buf, body, bend):
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
