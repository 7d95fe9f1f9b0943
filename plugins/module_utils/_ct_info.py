# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""conntrack_info's logic: what to dump, what to decode, what to return."""

from __future__ import annotations

from ansible_collections.netfilter.conntrack.plugins.module_utils._aggregate import CountBy, Top
from ansible_collections.netfilter.conntrack.plugins.module_utils._argspec import filter_spec
from ansible_collections.netfilter.conntrack.plugins.module_utils._ops.conntrack import entry_key
from ansible_collections.netfilter.conntrack.plugins.module_utils._ops.sinks import Sample
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter import cost
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import compile_filter
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError


class _NonZeroCounters:
    """Aggregator: the matching entries that have a packet or byte counter above zero."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.count = 0
        self.keys = []

    def add(self, entry):
        counters = entry.get('counters')
        if counters and any(v for d in counters.values() for v in d.values()):
            self.count += 1
            self.keys.append(entry_key(entry))


def argument_spec():
    """conntrack_info's options (besides the common netns); a fresh dict per call."""
    spec = filter_spec()
    spec.update(
        table={'type': 'str', 'default': 'conntrack',
               'choices': ['conntrack', 'expect', 'dying', 'unconfirmed']},
        gather={'type': 'list', 'elements': 'str', 'default': ['entries', 'count'],
                'choices': ['entries', 'count', 'stats', 'limits']},
        limit={'type': 'int'},
        zero_counters={'type': 'bool', 'default': False},
        count_by={'type': 'list', 'elements': 'str', 'default': []},
        top={'type': 'dict', 'options': {'key': {'type': 'str', 'required': True, 'no_log': False},
                                         'n': {'type': 'int', 'default': 10}}},
    )
    return spec


def gather_info(client, filters, params, check_mode=False, diff_mode=False, warn=None):
    """The conntrack_info result for ``filters`` and the module's other ``params``."""
    table = params.get('table') or 'conntrack'
    gather = set(params.get('gather') or ('entries', 'count'))
    limit = params.get('limit')
    if limit is not None and limit < 0:
        raise ConntrackError('limit: invalid value %r: must be 0 or more' % limit, option='limit')
    cfilter = compile_filter(filters, client.label_map)
    if table == 'conntrack' and not params.get('zero_counters'):
        # one request instead of several on small tables (not when zeroing: only a
        # filter the kernel applies whole zeroes in the dump itself, exactly)
        cfilter = cost.fit(cfilter, client)
    counts = [CountBy(key) for key in params.get('count_by') or ()]
    top_opt = params.get('top')
    top = None
    if top_opt:
        if (top_opt.get('n') or 0) < 1:
            raise ConntrackError('top.n: invalid value %r: must be 1 or more' % top_opt.get('n'),
                                 option='top')
        top = Top(top_opt['key'], top_opt.get('n') or 10)
    aggs = counts + ([top] if top else [])
    zero = bool(params.get('zero_counters'))
    nonzero = _NonZeroCounters() if zero else None
    if nonzero:
        aggs.append(nonzero)
    if zero and table != 'conntrack':
        raise ConntrackError('zero_counters: only the conntrack table has counters, not %r'
                             % table, option='zero_counters')

    result = {'changed': False, 'entries': [], 'count': None, 'counts': {}, 'top': [],
              'stats': {}, 'limits': {}, 'zeroed': 0,
              'kernel_filter': cfilter.describe_kernel() if table in ('conntrack', 'expect')
              else []}
    want_entries = 'entries' in gather
    if want_entries or aggs or zero:
        keep = (limit if limit is not None else None) if want_entries else 0
        # Zeroing in the dump itself is exact only when the kernel filtered everything.
        zero_in_dump = zero and not check_mode and cfilter.kernel_complete
        by_values = (not zero and table != 'expect'
                     and all(agg.value_slots is not None for agg in aggs))
        if not by_values:
            sink = client.entries(cfilter, table, limit=keep, aggregators=aggs,
                                  zero=zero_in_dump)
        else:
            # decode only the entries returned (limit): the rest is only counted, and
            # aggregated on the few fields the keys read; with nothing to count, the dump
            # stops at the limit
            enough = keep if keep is not None and not aggs and 'count' not in gather else None
            sink = Sample(float('inf') if keep is None else keep, keys=False,
                          aggregators=aggs, stop_after=enough)
            if enough != 0:
                client.walk(cfilter, table, on_values=sink, on_reset=sink.reset, lazy=True,
                            slots=sink.slots)
            sink.finish()
        if zero:
            # a change only where a counter was not zero already
            result['zeroed'] = nonzero.count
            result['changed'] = nonzero.count > 0
            if not check_mode and not zero_in_dump and nonzero.keys:
                client.zero_counters(nonzero.keys)
        result['entries'] = sink.entries
        if 'count' in gather:
            result['count'] = sink.count
    elif 'count' in gather:
        result['count'] = client.count(cfilter, table)
    result['counts'] = {agg.key: agg.result() for agg in counts}
    if top:
        result['top'] = top.result()
    if 'stats' in gather:
        result['stats'] = client.stats('expect' if table == 'expect' else 'conntrack')
    if 'limits' in gather:
        result['limits'] = client.limits()
    return result
