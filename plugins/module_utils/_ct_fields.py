# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""conntrack_info's ``fields``: entries projected to a few dotted keys.

A projected entry keeps the entry's nesting (``orig.src`` comes back as
``{'orig': {'src': ...}}``), so that a template written for whole entries reads it the
same way.  During a dump it is built straight from the message's value tuple
(_aggregate.value_getter: only the slots the keys read are unpacked, no whole entry dict
is made); entries that exist only as dicts (expectations, the dict paths of
conntrack_info) are projected with the same keys from the dict.
"""

from __future__ import annotations

from ansible_collections.netfilter.conntrack.plugins.module_utils._aggregate import (
    value_getter, _VALUE_GETTERS)
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.slots import (
    O_PROTO, O_SRC, R_SRC)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

# whole tuples: built by the decoder as the entry has them
_TUPLES = {'orig': O_SRC, 'reply': R_SRC}


def _tuple_getter(base):
    # src, dst, proto, sport, dport, icmp type/code/id: the tuple's first eight slots
    slots = (O_PROTO,) + tuple(range(base, base + 8))
    return slots, lambda v, fam, dec: dec.tuple_dict(v, base, v[O_PROTO])


CONNTRACK_KEYS = tuple(sorted(set(_VALUE_GETTERS) | set(_TUPLES)))
EXPECT_KEYS = ('class', 'family', 'flags', 'fn', 'helper', 'id', 'mask', 'master', 'nat',
               'proto', 'proto_num', 'timeout', 'tuple', 'zone')


def _parse(fields, known, nested_ok):
    """The list of (path parts) of ``fields``; an unknown key is an error naming the
    known ones.  nested_ok: a key below a known top-level key is accepted (expectations,
    whose dicts are projected as they are)."""
    if not isinstance(fields, (list, tuple)) or not fields:
        raise ConntrackError('fields: invalid value %r: a non-empty list of dotted keys such as '
                             'orig.src' % (fields,), option='fields')
    paths = []
    for key in fields:
        name = key.strip() if isinstance(key, str) else None
        top = name.split('.')[0] if name else None
        ok = name in known or (nested_ok and top in known and all(name.split('.')))
        if not ok:
            raise ConntrackError('fields: unknown key %r; the keys there are: %s'
                                 % (key, ', '.join(known)), option='fields')
        parts = tuple(name.split('.'))
        if parts not in paths:
            paths.append(parts)
    for parts in paths:
        for other in paths:
            if other != parts and other[:len(parts)] == parts:
                raise ConntrackError('fields: %r and %r overlap: give one of them'
                                     % ('.'.join(parts), '.'.join(other)), option='fields')
    return paths


def _plan(items):
    """[(path, leaf)] -> [(name, leaf or sub-plan, is_leaf)] grouped by first part, in
    the order given."""
    order, groups = [], {}
    for path, leaf in items:
        if path[0] not in groups:
            order.append(path[0])
            groups[path[0]] = []
        groups[path[0]].append((path[1:], leaf))
    plan = []
    for name in order:
        sub = groups[name]
        if len(sub) == 1 and not sub[0][0]:
            plan.append((name, sub[0][1], True))
        else:
            plan.append((name, _plan(sub), False))
    return plan


def _listed(value):
    # value_getter answers status/labels as tuples (hashable, for counting): lists here
    return list(value) if isinstance(value, tuple) else value


class ValueProjection:
    """Projected entries of conntrack messages, from value tuples.

    ``slots``: the canonical slots read (for the dump's prober); ``__call__(v, family,
    decoder)`` returns the projected dict.
    """

    def __init__(self, fields):
        paths = _parse(fields, CONNTRACK_KEYS, nested_ok=False)
        slots = set()
        items = []
        for parts in paths:
            key = '.'.join(parts)
            if key in _TUPLES:
                need, fn = _tuple_getter(_TUPLES[key])
            else:
                need, fn = value_getter(key)
            slots.update(need)
            items.append((parts, fn))
        self.slots = tuple(sorted(slots))
        self.paths = paths
        self._plan = _plan(items)
        flat = [(name, fn) for name, fn, leaf in self._plan if leaf]
        if len(flat) == len(self._plan):
            # no nesting: one dict comprehension, no recursion
            self._make = lambda v, fam, dec: {name: _listed(fn(v, fam, dec))
                                              for name, fn in flat}
        else:
            self._make = lambda v, fam, dec: self._build(self._plan, v, fam, dec)

    def _build(self, plan, v, fam, dec):
        return {name: _listed(part(v, fam, dec)) if leaf else self._build(part, v, fam, dec)
                for name, part, leaf in plan}

    def __call__(self, v, fam, dec):
        return self._make(v, fam, dec)


def project_dicts(entries, fields, table='conntrack'):
    """The same projection over entry dicts (expectations, dict-only paths)."""
    if table == 'expect':
        paths = _parse(fields, EXPECT_KEYS, nested_ok=True)
    else:
        paths = _parse(fields, CONNTRACK_KEYS, nested_ok=False)
    return [_project_one(entry, paths) for entry in entries]


def _project_one(entry, paths):
    out = {}
    for parts in paths:
        cur = entry
        for part in parts:
            cur = cur.get(part) if isinstance(cur, dict) else None
        dst = out
        for part in parts[:-1]:
            dst = dst.setdefault(part, {})
        dst[parts[-1]] = cur
    return out
