# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""count_by / top over entries, streamed (modules) or over a list (filter plugins)."""

from __future__ import annotations

import operator
from collections import Counter

from ansible_collections.netfilter.conntrack.plugins.module_utils import _nl_const as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_decode import (
    NAT_SLOTS, ctstate_of, helper_name, nat_dst, nat_src, pstate_name)
from ansible_collections.netfilter.conntrack.plugins.module_utils._entry_keys import check_key
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError


def key_getter(key):
    """A function returning the value at dotted path ``key`` of an entry (None if absent)."""
    if not isinstance(key, str) or not key.strip():
        raise ConntrackError('key: invalid value %r: expected a dotted path such as '
                             'proto, orig.src or counters.orig.bytes' % (key,), option='key')
    parts = key.strip().split('.')
    if not all(parts):
        raise ConntrackError('key: invalid value %r: an empty part in the dotted path' % (key,),
                             option='key')
    if len(parts) == 1:
        name = parts[0]
        return lambda e: e.get(name) if isinstance(e, dict) else None

    def get(entry):
        cur = entry
        for part in parts:
            if not isinstance(cur, dict):
                return None
            cur = cur.get(part)
        return cur
    return get


# -- the same keys over a dump's value tuples (no entry dict built) ---------------------
# value_getter(key) -> (slots, fn(v, family, decoder)) answering exactly what
# key_getter(key) answers on Decoder.entry(v, family), for the keys listed here; other
# keys (dicts, orig_zone...) go through the entry dicts.  The slots are those of
# _ct_decode.SLOTS that fn reads, for Decoder.prober.

def _side_getters(name, base):
    def addr(i):
        return (i,), lambda v, fam, dec: dec.addr(v[i])

    def port(i):
        # the dict has sport/dport for every protocol but icmp/icmpv6 (icmp_*) and gre (*_key)
        return (2, i), lambda v, fam, dec: (None if v[2] in C.ICMP_PROTOS or v[2] == C.GRE_PROTO
                                            else v[i])

    def icmp(i):
        return (2, i), lambda v, fam, dec: v[i] if v[2] in C.ICMP_PROTOS else None

    def gre(i):
        return (2, i), lambda v, fam, dec: v[i] if v[2] == C.GRE_PROTO else None
    return {name + '.src': addr(base), name + '.dst': addr(base + 1),
            name + '.sport': port(base + 3), name + '.dport': port(base + 4),
            name + '.src_key': gre(base + 3), name + '.dst_key': gre(base + 4),
            name + '.icmp_type': icmp(base + 5), name + '.icmp_code': icmp(base + 6),
            name + '.icmp_id': icmp(base + 7)}


def _counter(i):
    return (25, i), lambda v, fam, dec: None if v[25] is None else v[i]


def _stamp(i):
    return (29, i), lambda v, fam, dec: None if v[29] is None else v[i]


_VALUE_GETTERS = {
    # fn reads the family only when the slots are empty (see CountBy.add_raw)
    'family': ((), lambda v, fam, dec: C.FAMILY_NAMES.get(fam) or str(fam)),
    'proto': ((2,), lambda v, fam, dec: C.PROTO_NAMES.get(v[2]) or str(v[2])),
    'proto_num': ((2,), lambda v, fam, dec: v[2]),
    'proto_state': ((2, 24), lambda v, fam, dec: pstate_name(v[2], v[24])),
    'ctstate': ((18,), lambda v, fam, dec: ctstate_of(v[18] or 0)),
    'status': ((18,), lambda v, fam, dec: tuple(dec.status_names(v[18] or 0))),
    'timeout': ((19,), lambda v, fam, dec: v[19]),
    'mark': ((20,), lambda v, fam, dec: v[20] or 0),
    'use': ((21,), lambda v, fam, dec: v[21]),
    'id': ((22,), lambda v, fam, dec: v[22]),
    'zone': ((23,), lambda v, fam, dec: v[23] or 0),
    'labels': ((32,), lambda v, fam, dec: tuple(dec.labels(v[32]))),
    'helper': ((31,), lambda v, fam, dec: helper_name(v[31])),
    'nat.src': (NAT_SLOTS, lambda v, fam, dec: nat_src(v)),
    'nat.dst': (NAT_SLOTS, lambda v, fam, dec: nat_dst(v)),
    'counters.orig.packets': _counter(25), 'counters.orig.bytes': _counter(26),
    'counters.reply.packets': _counter(27), 'counters.reply.bytes': _counter(28),
    'timestamp.start': _stamp(29), 'timestamp.stop': _stamp(30),
}
_VALUE_GETTERS.update(_side_getters('orig', 0))
_VALUE_GETTERS.update(_side_getters('reply', 9))


def value_getter(key):
    """(slots, fn(v, family, decoder)) for a key a dump answers from value tuples, or None."""
    return _VALUE_GETTERS.get(key.strip()) if isinstance(key, str) else None


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


def _unhashable(key, value):
    """The error for a key that ends on a mapping (e.g. orig): count a value, not a dict."""
    return ConntrackError('key: invalid value %r: it names a %s, not a value; use a dotted path '
                          'to one field such as orig.src'
                          % (key, 'dict' if isinstance(value, dict) else type(value).__name__),
                          option='key')


class CountBy:
    """Counts entries per value of one dotted key."""

    def __init__(self, key, table=None, entries=None, option='key'):
        """``table``: the entries' table (None: any); ``entries``: the filter plugins' list,
        whose own keys are allowed too; ``option`` names the key in an error."""
        self.key = key
        self.get = key_getter(key)
        check_key(key, table, entries, option)
        self.counter = Counter()
        # value_slots: what the value function reads (None: this key needs entry dicts)
        self.value_slots, self.value_fn = value_getter(key) or (None, None)

    def reset(self):
        self.counter = Counter()

    def raw_getter(self):
        """For a dump: get(v) -> the raw slot values this key reads from a value tuple
        (None: the key reads only the family).  Counting those raw values and turning
        each distinct one into the key's value afterwards (add_raw) costs one C call
        per entry."""
        slots = self.value_slots
        return operator.itemgetter(*slots) if slots else None

    def add_raw(self, raw_counts, dec):
        """Merge {raw slot values (or family): count} from raw_getter() counting."""
        slots, fn = self.value_slots, self.value_fn
        for raw, num in raw_counts.items():
            if not slots:
                value = fn(None, raw, dec)
            else:
                v = [None] * (slots[-1] + 1)
                for i, x in zip(slots, (raw,) if len(slots) == 1 else raw):
                    v[i] = x
                value = fn(v, None, dec)
            self.counter[value] += num

    def add(self, entry):
        value = _hashable(self.get(entry))
        try:
            self.counter[value] += 1
        except TypeError:
            raise _unhashable(self.key, value) from None

    def result(self):
        """{value: count}, values as strings (YAML/JSON mapping keys), most first."""
        return {_label(v): n for v, n in self.counter.most_common()}


class Top(CountBy):
    """The n most frequent values of one key: [{value, count}]."""

    def __init__(self, key, n=10, **kw):
        super().__init__(key, **kw)
        self.n = n

    def result(self):
        return [{'value': list(v) if isinstance(v, tuple) else v, 'count': c}
                for v, c in self.counter.most_common(self.n)]


def _label(value):
    if isinstance(value, tuple):
        return ','.join(str(v) for v in value)
    return 'null' if value is None else str(value)


def _fill(agg, entries):
    get, counter = agg.get, agg.counter
    for entry in entries:
        value = _hashable(get(entry))
        try:
            counter[value] += 1
        except TypeError:
            raise _unhashable(agg.key, value) from None
    return agg.result()


def count_by(entries, key):
    return _fill(CountBy(key, entries=entries), entries)


def top(entries, key, n=10):
    return _fill(Top(key, n, entries=entries), entries)
