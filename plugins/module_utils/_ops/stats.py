# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""The kernel's statistics and limits: per-CPU counters of both tables, the namespace's
entry count and maximum, the hash table's size and the global sysctls.  These are the
table-size inputs of the cost model (_filter/cost.py).

A mixin of ConntrackClient (_ct_client).
"""

from __future__ import annotations

import struct

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C

_HDR = struct.Struct('=HH')
_BE32 = struct.Struct('>I')


class StatsOps:
    """stats, global_counts, buckets, limits."""

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


def _read_sysctl(name):
    """Global netfilter sysctls (same value in every namespace); None if unreadable."""
    try:
        with open('/proc/sys/net/netfilter/' + name, encoding='ascii') as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None
