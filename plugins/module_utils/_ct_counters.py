# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""conntrack_counters' logic (conntrack -L -z): read the packet and byte counters of the
matching entries and zero them.

The kernel reads and resets an entry's counters in one step (IPCTNL_MSG_CT_GET_CTRZERO):
in a dump, when the kernel applies the whole filter, or per entry by original tuple, zone
and id (a filter part matched here: CIDR, states, exclude, ...), right after a plain dump;
its answer to each of those requests carries the counters it read as it zeroed them,
which then replace what the plain dump read a moment earlier.
"""

from __future__ import annotations

import errno

from ansible_collections.netfilter.conntrack.plugins.module_utils._argspec import filter_spec
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import encode as E
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.slots import SLOT
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import compile_filter
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import (
    ConntrackError, kernel_error)

_COUNTERS = tuple(SLOT[name] for name in ('c_opk', 'c_oby', 'c_rpk', 'c_rby'))
_ID = SLOT['id']
_NO_ACCT = ('%d matching entries have no counters: accounting was off in that namespace when '
            'they were created (net.netfilter.nf_conntrack_acct=0); they were left as they are '
            'and are not counted in zeroed')


def argument_spec():
    """conntrack_counters' options (besides the common netns); a fresh dict per call."""
    spec = filter_spec()
    spec.update(limit={'type': 'int'})
    return spec


class CounterSink:
    """A walk(lazy=True) consumer: counts the matches, decodes the first ``keep``, and
    counts those with a counter above zero (``nonzero``) and those without counters
    (``uncounted``: created while accounting was off).

    keys=True records, for each entry with a counter above zero, the attributes that name
    it (its dumped original tuple, zone and id) to zero it by key after the dump
    (``keys``), and the returned entry it belongs to, or None (``key_entries``).
    merge=True serves the zeroing dump: a dump the kernel marks interrupted runs again,
    and the counters the first run read are gone from the kernel (zeroed), so a rerun adds
    what it reads to them instead of starting over; entries are told apart by their id.
    """

    slots = tuple(sorted(_COUNTERS + (_ID, SLOT['zone'])))

    def __init__(self, keep=None, keys=False, merge=False):
        self.keep = float('inf') if keep is None else keep
        self.want_keys = keys
        self.merge = merge
        self._clear()

    def _clear(self):
        self.count = 0
        self.nonzero = 0
        self.uncounted = 0
        self.entries = []
        self.keys = []
        self.key_entries = []
        self._seen = {}   # merge: id -> [the returned entry or None, counters above zero]

    def reset(self):
        """Called before a dump runs again: starts over, unless what was read is zeroed."""
        if not self.merge:
            self._clear()

    def __call__(self, dec, vals, fam, buf, off, mlen):
        opk, oby, rpk, rby = [vals[i] for i in _COUNTERS]
        counted = opk is not None or rpk is not None
        above = bool(opk or oby or rpk or rby)
        ct_id = vals[_ID] if self.merge else None
        if ct_id is not None and ct_id in self._seen:
            # read again (rerun or resize): the kernel counted this since it zeroed it
            seen = self._seen[ct_id]
            counters = seen[0]['counters'] if seen[0] is not None else None
            if counters:
                for side, pk, by in (('orig', opk, oby), ('reply', rpk, rby)):
                    counters[side]['packets'] += pk or 0
                    counters[side]['bytes'] += by or 0
            if above and not seen[1]:
                seen[1] = True
                self.nonzero += 1
            return
        self.count += 1
        entry = None
        if len(self.entries) < self.keep:
            entry = dec.entry(dec.values(buf, off + 20, off + mlen), fam)
            self.entries.append(entry)
        if not counted:
            self.uncounted += 1
        elif above:
            self.nonzero += 1
            if self.want_keys:
                self.keys.append((fam, E.key_from_message(
                    buf, off, fam, vals, lambda: dec.values(buf, off + 20, off + mlen))))
                self.key_entries.append(entry)
        if ct_id is not None:
            self._seen[ct_id] = [entry, above]


def zero_by_key(client, keys, entries=None):
    """Zero the counters of the entries named by ``keys`` ((family, attributes) as
    CounterSink records them), batched; returns how many were zeroed.  An entry gone
    meanwhile (ENOENT: expired, deleted, or its id reused) is not an error.
    ``entries`` (one per key, or None) get the counters the kernel read as it zeroed."""
    probe = client.decoder().prober(_COUNTERS)

    def reply(i, buf, off, mlen):
        entry = entries[i] if entries else None
        if entry is None or not entry.get('counters'):
            return
        opk, oby, rpk, rby = [probe(buf, off + 20, off + mlen)[s] for s in _COUNTERS]
        if opk is not None:
            entry['counters'] = {'orig': {'packets': opk, 'bytes': oby},
                                 'reply': {'packets': rpk, 'bytes': rby}}

    results = client.batch(((C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET_CTRZERO, 0, fam,
                             payload) for fam, payload in keys), what='zeroing counters',
                           on_reply=reply)
    for num in results:
        if num and num != errno.ENOENT:
            raise kernel_error(num, 'zeroing counters')
    return results.count(0)


def zero_counters(client, filters, params, check_mode=False, diff_mode=False, warn=None):
    """The conntrack_counters result for ``filters`` and the module's other ``params``."""
    limit = params.get('limit')
    if limit is not None and limit < 0:
        raise ConntrackError('limit: invalid value %r: must be 0 or more' % limit, option='limit')
    cfilter = compile_filter(filters, client.label_map)
    # Zeroing in the dump is exact only when the kernel applies the whole filter (it
    # zeroes every entry it sends); otherwise the matches are zeroed by key after a plain
    # dump. Check mode is a plain dump.
    in_dump = not check_mode and cfilter.kernel_complete
    by_key = not check_mode and not in_dump
    sink = CounterSink(limit, keys=by_key, merge=in_dump)
    client.walk(cfilter, 'conntrack', on_values=sink, on_reset=sink.reset, zero=in_dump,
                lazy=True, slots=sink.slots)
    zeroed = sink.nonzero
    if by_key and sink.keys:
        zeroed = zero_by_key(client, sink.keys, sink.key_entries)
    if sink.uncounted and warn is not None:
        warn(_NO_ACCT % sink.uncounted)
    return {'changed': zeroed > 0, 'entries': sink.entries, 'count': sink.count,
            'zeroed': zeroed, 'kernel_filter': cfilter.describe_kernel()}
