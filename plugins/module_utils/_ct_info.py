# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""conntrack_info's logic: what to dump, what to decode, what to return."""

from __future__ import annotations

from ansible_collections.netfilter.conntrack.plugins.module_utils._aggregate import CountBy, Top
from ansible_collections.netfilter.conntrack.plugins.module_utils._argspec import filter_spec
from ansible_collections.netfilter.conntrack.plugins.module_utils._ops.sinks import Sample
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter import cost
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import compile_filter
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_fields import (
    ValueProjection, project_dicts)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError


def argument_spec():
    """conntrack_info's options (besides the common netns); a fresh dict per call."""
    spec = filter_spec()
    spec.update(
        table={'type': 'str', 'default': 'conntrack',
               'choices': ['conntrack', 'expect', 'dying', 'unconfirmed']},
        gather={'type': 'list', 'elements': 'str', 'default': ['entries', 'count'],
                'choices': ['entries', 'count', 'stats', 'limits']},
        limit={'type': 'int'},
        count_by={'type': 'list', 'elements': 'str', 'default': []},
        fields={'type': 'list', 'elements': 'str'},
        top={'type': 'dict', 'options': {'key': {'type': 'str', 'required': True, 'no_log': False},
                                         'n': {'type': 'int', 'default': 10}}},
    )
    return spec


def gather_info(client, filters, params, check_mode=False, diff_mode=False, warn=None):
    """The conntrack_info result for ``filters`` and the module's other ``params``.

    Read-only (zeroing counters is _ct_counters): check_mode changes nothing here.
    """
    table = params.get('table') or 'conntrack'
    gather = set(params.get('gather') or ('entries', 'count'))
    limit = params.get('limit')
    if limit is not None and limit < 0:
        raise ConntrackError('limit: invalid value %r: must be 0 or more' % limit, option='limit')
    fields = params.get('fields')
    project = None
    if fields is not None:   # checked before anything is read
        if table == 'expect':
            project_dicts((), fields, table)
        else:
            project = ValueProjection(fields)
    cfilter = compile_filter(filters, client.label_map)
    counts = [CountBy(key, table, option='count_by') for key in params.get('count_by') or ()]
    top_opt = params.get('top')
    top = None
    if top_opt:
        if (top_opt.get('n') or 0) < 1:
            raise ConntrackError('top.n: invalid value %r: must be 1 or more' % top_opt.get('n'),
                                 option='top')
        top = Top(top_opt['key'], top_opt.get('n') or 10, table=table, option='top.key')
    if table == 'conntrack':
        # one request instead of several on small tables
        cfilter = cost.fit(cfilter, client)
    aggs = counts + ([top] if top else [])

    result = {'changed': False, 'entries': [], 'count': None, 'counts': {}, 'top': [],
              'stats': {}, 'limits': {},
              'kernel_filter': cfilter.describe_kernel() if table in ('conntrack', 'expect')
              else []}
    want_entries = 'entries' in gather
    if (want_entries and limit != 0) or aggs:
        keep = (limit if limit is not None else None) if want_entries else 0
        by_values = table != 'expect' and all(agg.value_slots is not None for agg in aggs)
        if not by_values:
            sink = client.entries(cfilter, table, limit=keep, aggregators=aggs)
            if fields is not None:
                sink.entries = project_dicts(sink.entries, fields, table)
        else:
            # decode only the entries returned (limit): the rest is only counted, and
            # aggregated on the few fields the keys read; with nothing to count, the dump
            # stops at the limit
            enough = keep if keep is not None and not aggs and 'count' not in gather else None
            sink = Sample(float('inf') if keep is None else keep, keys=False,
                          aggregators=aggs, stop_after=enough, project=project)
            if enough != 0:
                client.walk(cfilter, table, on_values=sink, on_reset=sink.reset, lazy=True,
                            slots=sink.slots)
            sink.finish()
        result['entries'] = sink.entries
        if 'count' in gather:
            result['count'] = sink.count
    elif 'count' in gather and table == 'conntrack' and not filters:
        # the kernel's own counter (what conntrack -C reads): no walk of the table
        result['count'] = client.global_counts()[0]
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
