# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Dump consumers: Sample (counts, decodes the first few, keeps delete keys, feeds raw
aggregates, can stop the dump) and EntrySink (collects decoded entries)."""

from __future__ import annotations

from collections import Counter

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import encode as E
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.slots import ID, ZONE
from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink.transport import StopDump


class Sample:
    """A walk(lazy=True) consumer: counts matches, decodes only the first ``keep``,
    optionally records delete keys (the dump's own original-tuple bytes, zone and id)
    and counts the raw fields of aggregators (_aggregate.CountBy.raw_getter/add_raw)."""

    def __init__(self, keep, keys, aggregators=(), max_keys=None, stop_after=None):
        self.keep = keep
        self.stop_after = stop_after   # this many matches seen: abandon the walk
        self.want_keys = keys
        self.max_keys = max_keys   # more matches than this: keys None (not kept)
        self.aggregators = aggregators
        self._getters = [agg.raw_getter() for agg in aggregators]
        self._dec = None
        # what __call__ reads from vals: id and zone for the delete keys, the aggregates'
        slots = {ID, ZONE} if keys else set()
        for agg in aggregators:
            slots.update(agg.value_slots)
        self.slots = tuple(sorted(slots))
        self.reset()

    def reset(self):
        self.count = 0
        self.stopped = False
        self.entries = []
        self.keys = []
        self._raw = [(get, Counter()) for get in self._getters]
        for agg in self.aggregators:
            agg.reset()

    def __call__(self, dec, vals, fam, buf, off, mlen):
        self.count += 1
        if len(self.entries) < self.keep:
            self.entries.append(dec.entry(dec.values(buf, off + 20, off + mlen), fam))
        if self._raw:
            self._dec = dec
            for get, counts in self._raw:
                counts[fam if get is None else get(vals)] += 1
        if self.stop_after is not None and self.count >= self.stop_after:
            self.stopped = True
            raise StopDump()
        if self.want_keys and self.keys is not None:
            if self.max_keys is not None and len(self.keys) >= self.max_keys:
                self.keys = None
                return
            self.keys.append((fam, E.key_from_message(
                buf, off, fam, vals, lambda: dec.values(buf, off + 20, off + mlen))))

    def finish(self):
        """Hand the raw counts to the aggregators (after the walk)."""
        for agg, (_get, counts) in zip(self.aggregators, self._raw):
            agg.add_raw(counts, self._dec)
            counts.clear()


class EntrySink:
    """Collects up to ``limit`` entries, counts all, feeds optional aggregators."""

    def __init__(self, limit=None, aggregators=()):
        self.limit = limit
        self.aggregators = aggregators
        self.reset()

    def reset(self):
        self.count = 0
        self.entries = []
        for agg in self.aggregators:
            agg.reset()

    def add(self, entry):
        self.count += 1
        if self.limit is None or len(self.entries) < self.limit:
            self.entries.append(entry)
        for agg in self.aggregators:
            agg.add(entry)
