# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""The conntrack client: the netlink transport (_netlink) with the operations on the
conntrack and expectation tables, their statistics and limits, in one network namespace.
The modules, the dump consumers and the tools use it; the event listener (_ct_events)
opens its own socket through _netlink.
"""

from __future__ import annotations

import errno
import struct
from collections import Counter

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import encode as E
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.decode import Decoder
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.expect import (
    decode_expect, expect_view)
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.slots import SLOT
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.labels import (
    load_label_map)
from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink.transport import (
    StopDump, Transport)

_HDR = struct.Struct('=HH')
_BE32 = struct.Struct('>I')


_TABLE_MSG = {
    'conntrack': (C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET),
    'dying': (C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET_DYING),
    'unconfirmed': (C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET_UNCONFIRMED),
    'expect': (C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_GET),
}


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
        slots = {SLOT['id'], SLOT['zone']} if keys else set()
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


class ConntrackClient(Transport):
    """Talks ctnetlink in one network namespace.  Use as a context manager."""

    def __init__(self, netns=None, rcvbuf=16 << 20):
        super().__init__(netns, rcvbuf)
        self._buckets = None
        self.label_map = load_label_map()

    def decoder(self):
        return Decoder(self.label_map)

    # -- conntrack table ------------------------------------------------------------
    def walk(self, cfilter=None, table='conntrack', on_values=None, on_entry=None,
             on_reset=None, zero=False, lazy=False, slots=None):
        """Dump ``table`` with the kernel part of ``cfilter``.

        Each entry that passes the whole filter goes to on_values(decoder, vals, family)
        as its canonical value tuple (no dict built), or to on_entry(entry) as a dict.
        lazy=True: on_values(decoder, vals, family, buf, off, mlen), where vals holds only
        the slots named in ``slots`` (and those the filter read; the rest are None), or is
        None when nothing was unpacked: the consumer decodes what it keeps itself
        (decoder.values(buf, off + 20, off + mlen)) and can copy raw attributes.
        The filter's predicates unpack only the fields they read (Decoder.prober).
        """
        subsys, msg = _TABLE_MSG[table]
        if zero:
            msg = C.IPCTNL_MSG_CT_GET_CTRZERO
        pushed = cfilter is not None and table == 'conntrack'
        dec = self.decoder()
        if table == 'expect':
            # Expectations are few: collect, fill in the zones (which the kernel does not
            # report), then filter.
            exps = []

            def reset():
                del exps[:]
                if on_reset is not None:
                    on_reset()

            def handle(buf, off, mlen, _mtype):
                exps.append(decode_expect(dec, buf, off + 20, off + mlen, buf[off + 16]))
            self.dump(subsys, msg, C.AF_UNSPEC, b'', handle, reset,
                      what='dumping the expect table')
            self.expect_zones(exps)
            pred = cfilter.matches if cfilter is not None else None
            for exp in exps:
                if pred is None or pred(expect_view(exp)):
                    on_entry(exp)
            return
        else:
            if cfilter is None:
                pred, read = None, ()
            elif pushed:
                pred, read = cfilter.residual_values(), cfilter.residual_slots()
            else:
                # dying/unconfirmed dumps take no kernel filter: match everything here
                pred, read = cfilter.matches_values, cfilter.all_slots()
            values = dec.values
            if on_values is None and on_entry is None:
                counter = [0]   # count mode: nothing unpacked beyond the predicate's needs
                probe = dec.prober(read)

                def handle(buf, off, mlen, _mtype):
                    if pred is None or pred(probe(buf, off + 20, off + mlen), buf[off + 16]):
                        counter[0] += 1
                on_reset = _chain(on_reset, lambda: counter.__setitem__(0, 0))
            elif lazy:
                if slots is None or read is None:
                    probe = dec.prober(None)
                else:
                    probe = dec.prober(tuple(slots) + read)
                unpack = pred is not None or bool(slots)

                def handle(buf, off, mlen, _mtype):
                    fam = buf[off + 16]
                    vals = probe(buf, off + 20, off + mlen) if unpack else None
                    if pred is None or pred(vals, fam):
                        on_values(dec, vals, fam, buf, off, mlen)
            else:
                # the predicate reads its few fields; only a match is decoded whole
                probe = dec.prober(read)
                make = dec.entry

                def handle(buf, off, mlen, _mtype):
                    fam = buf[off + 16]
                    if pred is not None and not pred(probe(buf, off + 20, off + mlen), fam):
                        return
                    vals = values(buf, off + 20, off + mlen)
                    if on_values is not None:
                        on_values(dec, vals, fam)
                    else:
                        on_entry(make(vals, fam))

        self.dump_many(subsys, msg, cfilter.requests() if pushed else [(C.AF_UNSPEC, b'')],
                       handle, on_reset, what='dumping the %s table' % table)
        if table != 'expect' and on_values is None and on_entry is None:
            return counter[0]
        return None

    def count(self, cfilter=None, table='conntrack'):
        """Number of matching entries; builds no dict (walk's count mode), and unpacks
        nothing when the kernel filters everything."""
        if table != 'expect':
            return self.walk(cfilter, table)
        if cfilter is not None:
            # expectations: their zones resolved, then filtered (walk's expect branch)
            return self.entries(cfilter, table, limit=0).count
        counter = [0]
        subsys, msg = _TABLE_MSG[table]
        self.dump(subsys, msg, C.AF_UNSPEC, b'',
                  lambda *_msg: counter.__setitem__(0, counter[0] + 1),
                  lambda: counter.__setitem__(0, 0), what='counting the expect table')
        return counter[0]

    def entries(self, cfilter=None, table='conntrack', limit=None, aggregators=(),
                zero=False):
        """EntrySink with the matching entries (up to limit), the count, aggregates."""
        sink = EntrySink(limit, aggregators)
        self.walk(cfilter, table, on_entry=sink.add, on_reset=sink.reset, zero=zero)
        return sink

    def get_message(self, family, proto, orig, zone=None):
        """The kernel's reply message (bytes) for one entry by original tuple, or None."""
        msgs = self.request_unless_gone(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET, family,
                                        E.key_attrs(family, proto, orig, zone),
                                        what='getting an entry')
        return msgs[0] if msgs else None

    def get_by_reply(self, family, proto, reply, zone=None):
        """The entry whose reply tuple is ``reply`` (the one a create would clash with)."""
        payload = E.nest(C.CTA_TUPLE_REPLY, E.tuple_attrs(family, reply, proto))
        if zone:
            payload += E.be16(C.CTA_ZONE, zone)
        msgs = self.request_unless_gone(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET, family,
                                        payload, what='getting an entry by reply tuple')
        if not msgs:
            return None
        return self.decoder().decode(msgs[0], 20, len(msgs[0]), msgs[0][16])

    def get(self, family, proto, orig, zone=None):
        """One entry by original tuple, or None."""
        raw = self.get_message(family, proto, orig, zone)
        if raw is None:
            return None
        return self.decoder().decode(raw, 20, len(raw), raw[16])

    def create(self, spec):
        self.request(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_NEW, spec['family'],
                     E.entry_attrs(spec, create=True), C.NLM_F_CREATE | C.NLM_F_EXCL,
                     what='creating an entry')

    def update(self, spec):
        self.request(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_NEW, spec['family'],
                     E.entry_attrs(spec, create=False), what='updating an entry')

    def delete(self, family, proto, orig, zone=None, ct_id=None):
        """Delete one entry; False when it was already gone."""
        return self.request_unless_gone(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_DELETE, family,
                                        E.key_attrs(family, proto, orig, zone, ct_id),
                                        what='deleting an entry') is not None

    def create_many(self, specs, update=False):
        """Create (or update) many entries, BATCH per send; returns the errno list."""
        flags = 0 if update else C.NLM_F_CREATE | C.NLM_F_EXCL
        return self.batch(((C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_NEW, flags, s['family'],
                            E.entry_attrs(s, create=not update)) for s in specs),
                          what='creating entries')

    def zero_counters(self, keys):
        """Zero the counters of entries given by entry_key(); returns the errno list."""
        return self.batch(((C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET_CTRZERO, 0, fam,
                            E.key_attrs(fam, proto, orig, zone, ct_id))
                           for fam, proto, orig, zone, ct_id in keys), what='zeroing counters')

    def delete_raw(self, keys):
        """Delete entries given as (family, attribute bytes); returns the errno list."""
        return self.batch(((C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_DELETE, 0, fam, payload)
                           for fam, payload in keys), what='deleting entries')

    # -- expectations ---------------------------------------------------------------
    def expect_get(self, family, proto, tup, zone=None, exp_id=None):
        """One expectation by expected tuple (in ``zone``), decoded, or None."""
        msgs = self.request_unless_gone(C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_GET,
                                        family,
                                        E.expect_key_attrs(family, proto, tup, zone, exp_id),
                                        what='getting an expectation')
        for raw in msgs or ():
            exp = decode_expect(self.decoder(), raw, 20, len(raw), raw[16])
            exp['zone'] = zone or 0  # the kernel does not report it; the get proved it
            return exp
        return None

    def expect_create(self, spec):
        """Create one expectation (spec: see _ct_encode.expect_attrs)."""
        self.request(C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_NEW, spec['family'],
                     E.expect_attrs(spec), C.NLM_F_CREATE | C.NLM_F_EXCL,
                     what='creating an expectation')

    def expect_update(self, spec):
        """Change an existing expectation: the kernel applies only ``timeout``."""
        self.request(C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_NEW, spec['family'],
                     E.expect_attrs(spec), what='updating an expectation')

    def expect_delete(self, family, proto, tup, zone=None, exp_id=None):
        """Delete one expectation by expected tuple (and id); False when already gone."""
        return self.request_unless_gone(
            C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_DELETE, family,
            E.expect_key_attrs(family, proto, tup, zone, exp_id),
            what='deleting an expectation') is not None

    def expect_zones(self, exps):
        """Fill in the ``zone`` of decoded expectations, which dumps do not carry.

        An expectation lives in its master's zone.  One batch of gets by tuple + id in
        zone 0 settles most of them; for the others the zones of the conntrack entries
        with the master's tuple are the candidates (tried by get when there are several).
        An expectation whose master vanished meanwhile gets zone None.
        """
        if not exps:
            return
        keys = [(C.FAMILY_NUMBERS.get(e['family']), e) for e in exps]
        res = self.batch(((C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_GET, 0, fam,
                           E.expect_key_attrs(fam, e['proto_num'], e['tuple'], 0, e['id']))
                          for fam, e in keys), what='reading the zones of expectations')
        for (fam, exp), err in zip(keys, res):
            if not err:
                exp['zone'] = 0
                continue
            exp['zone'] = None
            zones = self._master_zones(fam, exp['master'])
            if len(zones) == 1:
                exp['zone'] = zones[0]
                continue
            for zone in zones:
                if zone and self.expect_get(fam, exp['proto_num'], exp['tuple'], zone,
                                            exp['id']) is not None:
                    exp['zone'] = zone
                    break

    def _master_zones(self, family, master):
        """Zones of the conntrack entries whose original tuple is ``master``."""
        from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import (
            compile_filter)  # here: _ct_filter is not needed by most client users
        params = {'family': C.FAMILY_NAMES[family], 'proto': master.get('proto_num'),
                  'orig_src': master.get('src'), 'orig_dst': master.get('dst')}
        if master.get('proto_num') in C.PORT_PROTOS:
            params.update(orig_port_src=master.get('sport') or None,
                          orig_port_dst=master.get('dport') or None)
        zones = set()
        zslot = SLOT['zone']
        self.walk(compile_filter(params, self.label_map),
                  on_values=lambda _d, v, _f: zones.add(v[zslot] or 0), on_reset=zones.clear)
        return sorted(zones)

    def expect_delete_many(self, exps):
        """Delete decoded expectations by tuple + zone + id (race-safe); the errno list."""
        return self.batch(((C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_DELETE, 0,
                            C.FAMILY_NUMBERS[e['family']],
                            E.expect_key_attrs(C.FAMILY_NUMBERS[e['family']], e['proto_num'],
                                               e['tuple'], e.get('zone'), e.get('id')))
                           for e in exps), what='deleting expectations')

    def flush(self, cfilter=None, table='conntrack'):
        """Kernel-side flush of everything the kernel part of cfilter matches.

        Expectations: the kernel flushes all of them (every family) or one by tuple, and
        knows no other filter; a filter is applied to a dump and the matches deleted one
        by one (ENOENT, vanished meanwhile, is not an error).
        """
        if table == 'expect':
            if cfilter is None or not cfilter.checks:
                self.request(C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_DELETE,
                             C.AF_UNSPEC, b'', what='flushing the expect table')
                return
            matches = self.entries(cfilter, table='expect').entries
            for res in self.expect_delete_many(matches):
                if res and res != errno.ENOENT:
                    raise self._error(res, 'deleting an expectation')
            return
        subsys, msg = C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_DELETE
        for family, payload in (cfilter.requests() if cfilter is not None
                                else [(C.AF_UNSPEC, b'')]):
            # version 1: the kernel honours the nfgenmsg family on flush
            self.request(subsys, msg, family, payload, version=1,
                         what='flushing the %s table' % table)

    # -- statistics -----------------------------------------------------------------
    def _stat_attrs(self, buf, start, end, names):
        out = {}
        off = start
        while off + 4 <= end:
            alen, atype = _HDR.unpack_from(buf, off)
            if alen < 4 or off + alen > end:
                break
            name = names.get(atype & C.NLA_TYPE_MASK)
            if name and alen >= 8:
                out[name] = _BE32.unpack_from(buf, off + 4)[0]
            off += (alen + 3) & ~3
        return out

    def stats(self, table='conntrack'):
        """{'total': {...}, 'per_cpu': [{cpu, ...}]} of the kernel's counters."""
        if table == 'expect':
            subsys, msg, names = (C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_GET_STATS_CPU,
                                  C.STATS_EXP_CPU_NAMES)
        else:
            subsys, msg, names = (C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET_STATS_CPU,
                                  C.STATS_CPU_NAMES)
        per_cpu = []

        def handle(buf, off, mlen, _mtype):
            cpu = struct.unpack_from('>H', buf, off + 18)[0]
            row = {'cpu': cpu}
            row.update(self._stat_attrs(buf, off + 20, off + mlen, names))
            per_cpu.append(row)
        self.dump(subsys, msg, C.AF_UNSPEC, b'', handle, per_cpu.clear,
                  what='reading statistics')
        total = {}
        for row in per_cpu:
            for key, val in row.items():
                if key != 'cpu':
                    total[key] = total.get(key, 0) + val
        return {'total': total, 'per_cpu': sorted(per_cpu, key=lambda r: r['cpu'])}

    def global_counts(self):
        """(entries, max entries) of this namespace from IPCTNL_MSG_CT_GET_STATS."""
        msgs = self.request(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET_STATS, C.AF_UNSPEC,
                            b'', what='reading the table size')
        out = {}
        for raw in msgs:
            out.update(self._stat_attrs(raw, 20, len(raw), {
                C.CTA_STATS_GLOBAL_ENTRIES: 'count', C.CTA_STATS_GLOBAL_MAX_ENTRIES: 'max'}))
        return out.get('count', 0), out.get('max', 0)

    def buckets(self):
        """The size of the kernel's conntrack hash table (global; read once)."""
        if self._buckets is None:
            self._buckets = _read_sysctl('nf_conntrack_buckets') or 0
        return self._buckets

    def limits(self):
        count, maximum = self.global_counts()
        out = {'count': count, 'max': maximum,
               'buckets': self.buckets() or None,
               'usage_percent': round(100.0 * count / maximum, 2) if maximum else None,
               'expect_count': self.count(table='expect'),
               'expect_max': _read_sysctl('nf_conntrack_expect_max')}
        return out


def entry_key(entry):
    """(family number, proto number, orig tuple, zone, id): what names one entry."""
    orig = dict(entry['orig'])
    if 'orig_zone' in entry:
        orig['zone'] = entry['orig_zone']
    return (C.FAMILY_NUMBERS[entry['family']], entry['proto_num'], orig, entry.get('zone'),
            entry.get('id'))


def _chain(first, second):
    if first is None:
        return second

    def both():
        first()
        second()
    return both


def _read_sysctl(name):
    """Global netfilter sysctls (same value in every namespace); None if unreadable."""
    try:
        with open('/proc/sys/net/netfilter/' + name, encoding='ascii') as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None
