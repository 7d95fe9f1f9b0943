# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""count_by / top over entries, streamed (modules) or over a list (filter plugins)."""

from __future__ import annotations

from collections import Counter

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

    def reset(self):
        self.counter = Counter()

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
