# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""count_by / top over entries, streamed (modules) or over a list (filter plugins)."""

from __future__ import annotations

import operator
from collections import Counter

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.decode import (
    ctstate_of, helper_name, pstate_name)
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.slots import (
    C_OBY, C_OPK, C_RBY, C_RPK, HELPER, ID, LABELS, MARK, NAT_SLOTS, O_PROTO, PSTATE, STATUS,
    TIMEOUT, TS_START, TS_STOP, TUPLE_SLOT, USE, ZONE, nat_dst, nat_src)
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
# _codec.slots.SLOTS that fn reads, for Decoder.prober.

def _side_getters(name):
    def slot(key):
        return TUPLE_SLOT[(name, key)]

    def addr(i):
        return (i,), lambda v, fam, dec: dec.addr(v[i])

    def port(i):
        # the dict has sport/dport for every protocol but icmp/icmpv6 (icmp_*) and gre (*_key)
        return (O_PROTO, i), lambda v, fam, dec: (
            None if v[O_PROTO] in C.ICMP_PROTOS or v[O_PROTO] == C.GRE_PROTO else v[i])

    def icmp(i):
        return (O_PROTO, i), lambda v, fam, dec: v[i] if v[O_PROTO] in C.ICMP_PROTOS else None

    def gre(i):
        return (O_PROTO, i), lambda v, fam, dec: v[i] if v[O_PROTO] == C.GRE_PROTO else None
    out = {name + '.src': addr(slot('src')), name + '.dst': addr(slot('dst'))}
    for key in ('sport', 'dport'):
        out[name + '.' + key] = port(slot(key))
    for key in ('src_key', 'dst_key'):
        out[name + '.' + key] = gre(slot(key))
    for key in ('icmp_type', 'icmp_code', 'icmp_id'):
        out[name + '.' + key] = icmp(slot(key))
    return out


def _counter(i):
    return (C_OPK, i), lambda v, fam, dec: None if v[C_OPK] is None else v[i]


def _stamp(i):
    return (TS_START, i), lambda v, fam, dec: None if v[TS_START] is None else v[i]


_VALUE_GETTERS = {
    # fn reads the family only when the slots are empty (see CountBy.add_raw)
    'family': ((), lambda v, fam, dec: C.FAMILY_NAMES.get(fam) or str(fam)),
    'proto': ((O_PROTO,), lambda v, fam, dec: C.PROTO_NAMES.get(v[O_PROTO]) or str(v[O_PROTO])),
    'proto_num': ((O_PROTO,), lambda v, fam, dec: v[O_PROTO]),
    'proto_state': ((O_PROTO, PSTATE), lambda v, fam, dec: pstate_name(v[O_PROTO], v[PSTATE])),
    'ctstate': ((STATUS,), lambda v, fam, dec: ctstate_of(v[STATUS] or 0)),
    'status': ((STATUS,), lambda v, fam, dec: tuple(dec.status_names(v[STATUS] or 0))),
    'timeout': ((TIMEOUT,), lambda v, fam, dec: v[TIMEOUT]),
    'mark': ((MARK,), lambda v, fam, dec: v[MARK] or 0),
    'use': ((USE,), lambda v, fam, dec: v[USE]),
    'id': ((ID,), lambda v, fam, dec: v[ID]),
    'zone': ((ZONE,), lambda v, fam, dec: v[ZONE] or 0),
    'labels': ((LABELS,), lambda v, fam, dec: tuple(dec.labels(v[LABELS]))),
    'helper': ((HELPER,), lambda v, fam, dec: helper_name(v[HELPER])),
    'nat.src': (NAT_SLOTS, lambda v, fam, dec: nat_src(v)),
    'nat.dst': (NAT_SLOTS, lambda v, fam, dec: nat_dst(v)),
    'counters.orig.packets': _counter(C_OPK), 'counters.orig.bytes': _counter(C_OBY),
    'counters.reply.packets': _counter(C_RPK), 'counters.reply.bytes': _counter(C_RBY),
    'timestamp.start': _stamp(TS_START), 'timestamp.stop': _stamp(TS_STOP),
}
_VALUE_GETTERS.update(_side_getters('orig'))
_VALUE_GETTERS.update(_side_getters('reply'))


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

    def __init__(self, key):
        self.key = key
        self.get = key_getter(key)
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

    def __init__(self, key, n=10):
        super().__init__(key)
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
    return _fill(CountBy(key), entries)


def top(entries, key, n=10):
    return _fill(Top(key, n), entries)
