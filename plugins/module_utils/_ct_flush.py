# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""conntrack_flush's logic: choose the fastest safe path, count, guard, delete.

Paths (reported as ``method``):
  kernel_flush_all       -F: one IPCTNL_MSG_CT_DELETE without attributes.
  kernel_filtered_flush  the kernel can express the whole filter: a filtered dump counts
                         the matches (and decodes only return_entries of them), then one
                         IPCTNL_MSG_CT_DELETE carrying the same filter deletes them.
                         With method auto, that dump also keeps the matches' delete keys
                         while they are few (DELETE_BY_KEYS_*): those are deleted by key
                         (dump_delete, _filter/cost.py), which spares the flush's second walk of the
                         kernel's whole table; many matches go to the kernel's flush,
                         which needs no netlink message per entry.
                         exact_count=false: that dump stops once it has returned
                         return_entries matches (at least one) and one more; the flush
                         follows and the counts are the fall in the namespace's entry
                         count, since the exact count costs a walk of the table nearly
                         as long as the flush (the kernel's flush reports no count).
  dump_delete            a kernel-prefiltered dump, the rest of the filter applied here,
                         then deletes by original tuple + zone + id, BATCH per sendmsg.
                         The id makes each delete race-safe: an entry re-created with the
                         same tuple in the meantime is not touched.
"""

from __future__ import annotations

import errno
import os

from ansible_collections.netfilter.conntrack.plugins.module_utils._argspec import filter_spec
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError, errno_message
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter import cost
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import compile_filter
from ansible_collections.netfilter.conntrack.plugins.module_utils._ops.sinks import Sample

METHODS = ('auto', 'kernel', 'dump')
TABLES = ('conntrack', 'expect')
RETURN_ENTRIES = 10


def kernel_release():
    try:
        parts = os.uname().release.split('-')[0].split('.')
        return int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        return (0, 0)


def argument_spec():
    """conntrack_flush's options (besides the common netns); a fresh dict per call."""
    spec = filter_spec()
    spec.update(
        table={'type': 'str', 'default': 'conntrack', 'choices': list(TABLES)},
        all={'type': 'bool', 'default': False},
        max_delete={'type': 'int'},
        return_entries={'type': 'int', 'default': RETURN_ENTRIES},
        method={'type': 'str', 'default': 'auto', 'choices': list(METHODS)},
        exact_count={'type': 'bool', 'default': True},
    )
    return spec


def flush(client, filters, params, check_mode=False, diff_mode=False, warn=None):
    """The conntrack_flush result; deletes nothing in check mode.

    Called with the module's params, or directly (the benchmarks, the tests): the checks
    below refuse what the argument spec would, with the same choices (METHODS, TABLES).
    """
    table = params.get('table') or 'conntrack'
    all_ = bool(params.get('all'))
    max_delete = params.get('max_delete')
    keep = params.get('return_entries')
    keep = RETURN_ENTRIES if keep is None else keep
    method = params.get('method') or 'auto'
    exact_count = params.get('exact_count') is not False
    if keep < 0:
        raise ConntrackError('return_entries: invalid value %r: must be 0 or more' % keep,
                             option='return_entries')
    if max_delete is not None and max_delete < 0:
        raise ConntrackError('max_delete: invalid value %r: must be 0 or more' % max_delete,
                             option='max_delete')
    if method not in METHODS:
        raise ConntrackError('method: invalid value %r: expected one of %s'
                             % (method, ', '.join(METHODS)), option='method')
    if all_ and filters:
        raise ConntrackError('all: true flushes the whole table and cannot be combined with '
                             'filters (%s); remove one or the other'
                             % ', '.join(sorted(filters)), option='all')
    if not all_ and not filters:
        raise ConntrackError('no filter given: refusing to flush the whole %s table; give '
                             'filters, or all: true to flush everything' % table, option='all')
    if not exact_count and max_delete is not None:
        raise ConntrackError('exact_count: false cannot be combined with max_delete: the '
                             'limit needs the exact count of the matches', option='exact_count')
    if table not in TABLES:
        raise ConntrackError('table: invalid value %r: only conntrack and expect can be '
                             'flushed' % table, option='table')
    cfilter = None if all_ else compile_filter(filters, client.label_map)

    if table == 'expect':
        # expectations are few and the kernel filters none of them: dump, match, delete
        sink = client.entries(cfilter, table='expect')
        path = 'kernel_flush_all' if all_ else 'dump_delete'
        count, entries, kernel_filter = sink.count, sink.entries[:keep], ['all'] if all_ else []

        def delete():
            return client.expect_delete_many(sink.entries)
    else:
        path = cost.flush_path(method, all_, cfilter is not None and cfilter.kernel_complete,
                               max_delete, kernel_release())
        adaptive = path == 'kernel_filtered_flush' and method == 'auto'
        stop_after = None
        if path == 'kernel_flush_all':
            stop_after = keep   # a sample of the table; its size comes from the stats
        elif path == 'kernel_filtered_flush' and not exact_count and not check_mode:
            # stop once the entries to return (at least one) and one more are known
            # (fewer: the count is complete, and exact); check mode always counts
            stop_after = max(keep, 1) + 1
        max_keys = None
        if adaptive:
            max_keys = cost.delete_keys_limit(client.global_counts()[0])
        # check mode deletes nothing: no delete keys (the path is decided by the count)
        collect = Sample(keep, keys=(path == 'dump_delete' or adaptive) and not check_mode,
                         max_keys=max_keys, stop_after=stop_after)
        walked = cfilter
        if path == 'kernel_flush_all':
            # the first entries of the table, the dump stopped there; its size from one
            # stats request
            if keep:
                client.walk(None, on_values=collect, on_reset=collect.reset, lazy=True,
                            slots=collect.slots)
            collect.count = client.global_counts()[0]
        else:
            # the counting (and key-collecting) dump: one request on small tables; a
            # kernel flush still needs every request (the kernel has no CIDR)
            walked = cost.fit(cfilter, client)
            client.walk(walked, on_values=collect, on_reset=collect.reset, lazy=True,
                        slots=collect.slots)
        count, entries = collect.count, collect.entries
        if adaptive and count <= max_keys and not collect.stopped:
            path = 'dump_delete'   # few matches: their keys are at hand
        if cfilter is None:
            kernel_filter = ['all']
        else:   # what the kernel did for the path taken: the dump's, or the flush's
            kernel_filter = (walked if path == 'dump_delete' else cfilter).describe_kernel()

        def delete():
            return client.delete_raw(collect.keys)

    stopped = path == 'kernel_filtered_flush' and collect.stopped
    result = {'changed': False, 'matched': count, 'deleted': 0, 'vanished': 0,
              'entries': entries, 'method': path, 'kernel_filter': kernel_filter,
              'exact_count': not stopped}
    if stopped:
        # at least stop_after match: flush, and count what left the namespace's table
        before = client.global_counts()[0]
        client.flush(cfilter, table=table)
        fell = max(0, before - client.global_counts()[0])
        result.update(changed=True, matched=fell, deleted=fell)
        return result
    if max_delete is not None and count > max_delete:
        raise ConntrackError('max_delete: %d entries match, more than max_delete=%d: nothing '
                             'was deleted' % (count, max_delete), option='max_delete')
    if count == 0:
        return result
    result['changed'] = True
    if check_mode:
        return result
    if path == 'dump_delete':
        result['deleted'], result['vanished'] = _tally(delete())
    else:
        client.flush(cfilter, table=table)
        result['deleted'] = count
    return result


def _tally(results):
    """(deleted, vanished) of a batch; any other kernel error is raised."""
    deleted = vanished = 0
    for res in results:
        if res == 0:
            deleted += 1
        elif res == errno.ENOENT:
            vanished += 1  # expired or deleted by someone else meanwhile: not an error
        else:
            raise ConntrackError('deleted %d entries, then: %s'
                                 % (deleted, errno_message(res, 'deleting an entry')),
                                 errno_num=res)
    return deleted, vanished
