# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Compare two lists of entries by connection identity (the conntrack_diff filter)."""

from __future__ import annotations

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

# The fields of an original tuple that identify a connection, per protocol kind.
_PORT_FIELDS = ('src', 'dst', 'sport', 'dport')
_ICMP_FIELDS = ('src', 'dst', 'icmp_type', 'icmp_code', 'icmp_id')
_GRE_FIELDS = ('src', 'dst', 'src_key', 'dst_key')


def entry_identity(entry):
    """What names one connection, as the kernel's hash does: family, protocol, the
    original tuple and the zone (the original direction's zone when it differs).

    The id, the reply tuple (a NAT target), the state, timeout, mark and counters are
    not part of it: an entry whose backend changed is the same connection.
    """
    proto = entry.get('proto_num')
    if proto is None:
        proto = entry.get('proto')
        proto = C.PROTO_NUMBERS.get(proto, proto)
    orig = entry['orig']
    if proto in C.ICMP_PROTOS:
        fields = _ICMP_FIELDS
    elif proto == C.GRE_PROTO:
        fields = _GRE_FIELDS
    else:
        fields = _PORT_FIELDS
    zone = entry.get('zone') or 0
    return (entry.get('family'), proto, tuple(orig.get(f) for f in fields), zone,
            entry.get('orig_zone', zone))


def _index(entries, what):
    out = {}
    for pos, entry in enumerate(entries):
        try:
            out[entry_identity(entry)] = entry
        except (KeyError, TypeError, AttributeError):
            raise ConntrackError('%s: item %d is not a conntrack entry (it needs family, '
                                 'proto_num or proto, and an orig tuple): %.100r'
                                 % (what, pos, entry), option=what)
    return out


def diff_entries(before, after):
    """{added, removed, kept}: entries of ``after`` whose connection is not in ``before``,
    entries of ``before`` whose connection is gone from ``after``, and the entries of
    ``after`` whose connection was already in ``before`` (their current state).

    Each list keeps the order of its input; an entry listed twice counts once (the last).
    """
    old = _index(before, 'before')
    new = _index(after, 'after')
    return {
        'added': [e for k, e in new.items() if k not in old],
        'removed': [e for k, e in old.items() if k not in new],
        'kept': [e for k, e in new.items() if k in old],
    }
