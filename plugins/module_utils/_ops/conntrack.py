# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Operations on the conntrack table (and the dying and unconfirmed lists): filtered
walks that count, decode or hand raw values to a consumer; gets, creates, updates and
deletes by tuple; batched creates, deletes and counter zeroing; kernel-side flushes.

A mixin of ConntrackClient (_ct_client): it runs on the client's transport (dump,
request, batch) and decoder.
"""

from __future__ import annotations

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import encode as E
from ansible_collections.netfilter.conntrack.plugins.module_utils._ops.sinks import EntrySink

TABLE_MSG = {
    'conntrack': (C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET),
    'dying': (C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET_DYING),
    'unconfirmed': (C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET_UNCONFIRMED),
}


class ConntrackOps:
    """walk/count/entries, get/create/update/delete and their batches, flush."""

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
        if table == 'expect':
            self.walk_expect(cfilter, on_entry, on_reset)
            return None
        subsys, msg = TABLE_MSG[table]
        if zero:
            msg = C.IPCTNL_MSG_CT_GET_CTRZERO
        pushed = cfilter is not None and table == 'conntrack'
        dec = self.decoder()
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
        if on_values is None and on_entry is None:
            return counter[0]
        return None

    def count(self, cfilter=None, table='conntrack'):
        """Number of matching entries; builds no dict (walk's count mode), and unpacks
        nothing when the kernel filters everything."""
        if table == 'expect':
            return self.count_expect(cfilter)
        return self.walk(cfilter, table)

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

    def flush(self, cfilter=None, table='conntrack'):
        """Kernel-side flush of everything the kernel part of cfilter matches.

        Expectations: the kernel flushes all of them (every family) and knows no filter
        (a filtered flush of expectations deletes its matches by key: expect_delete_many).
        """
        if table == 'expect':
            self.expect_flush()
            return
        subsys, msg = C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_DELETE
        for family, payload in (cfilter.requests() if cfilter is not None
                                else [(C.AF_UNSPEC, b'')]):
            # version 1: the kernel honours the nfgenmsg family on flush
            self.request(subsys, msg, family, payload, version=1,
                         what='flushing the %s table' % table)


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
