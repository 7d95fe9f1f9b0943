# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""The dotted keys an entry can have, so that a typo (orig.scr, protoo) is an error
naming the keys there are instead of a silent column of nulls (count_by, top)."""

from __future__ import annotations

import difflib

from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

# (prefixes, names): the keys are prefix + name, and the message lists them so, compactly.
_SIDE = ('src', 'dst', 'sport', 'dport', 'icmp_type', 'icmp_code', 'icmp_id', 'src_key',
         'dst_key')
_EXP_TUPLE = ('src', 'dst', 'proto', 'proto_num', 'sport', 'dport', 'icmp_type', 'icmp_code',
              'icmp_id')
_GROUPS = {
    'conntrack': (
        (('',), ('id', 'family', 'proto', 'proto_num', 'orig', 'reply', 'proto_state',
                 'timeout', 'status', 'ctstate', 'mark', 'zone', 'orig_zone', 'reply_zone',
                 'use', 'labels', 'nat', 'counters', 'timestamp', 'helper')),
        (('orig.', 'reply.'), _SIDE), (('nat.',), ('src', 'dst')),
        (('counters.',), ('orig', 'reply')),
        (('counters.orig.', 'counters.reply.'), ('packets', 'bytes')),
        (('timestamp.',), ('start', 'stop')),
    ),
    'expect': (
        (('',), ('id', 'family', 'proto', 'proto_num', 'master', 'tuple', 'mask', 'timeout',
                 'helper', 'zone', 'flags', 'class', 'nat', 'fn')),
        (('master.', 'tuple.', 'mask.', 'nat.tuple.'), _EXP_TUPLE), (('nat.',), ('dir', 'tuple')),
    ),
}
KEYS = {table: frozenset(prefix + name for prefixes, names in groups for prefix in prefixes
                         for name in names)
        for table, groups in _GROUPS.items()}


def _listing(table):
    parts = []
    for prefixes, names in _GROUPS[table]:
        if prefixes == ('',):
            parts.append(', '.join(names))
            continue
        head = prefixes[0] if len(prefixes) == 1 else '{%s}.' % ','.join(
            p.rstrip('.') for p in prefixes)
        parts.append('%s{%s}' % (head, ','.join(names)))
    return ', '.join(parts)


def _resolves(key, entries):
    """True when the dotted key reaches a value in one of ``entries`` (the user's dicts)."""
    parts = key.split('.')
    for entry in entries:
        cur = entry
        for part in parts:
            cur = cur.get(part) if isinstance(cur, dict) else None
        if cur is not None:
            return True
    return False


def check_key(key, table=None, entries=None, option='key'):
    """Raise ConntrackError unless ``key`` is a key an entry of ``table`` can have (None:
    a conntrack entry or an expectation, or a key one of ``entries`` has: the filter
    plugins also take dicts of the user's own)."""
    key = key.strip()
    if table is None:
        tables = tuple(KEYS)
    else:  # dying and unconfirmed hold conntrack entries
        tables = ('expect' if table == 'expect' else 'conntrack',)
    if any(key in KEYS[t] for t in tables) or (entries and _resolves(key, entries)):
        return
    known = sorted(set().union(*(KEYS[t] for t in tables)))
    close = difflib.get_close_matches(key, known, n=1)
    hint = ' (did you mean %s?)' % close[0] if close else ''
    have = '; '.join('of %s: %s' % ('an expectation' if t == 'expect' else 'a conntrack entry',
                                    _listing(t)) for t in tables)
    raise ConntrackError('%s: unknown key %r%s: no entry has it. The keys %s'
                         % (option, key, hint, have), option=option)
