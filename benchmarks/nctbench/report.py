# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmark's report: the table of ratios printed after each table size."""

from __future__ import annotations

import sys


# ------------------------------------------------------------------------ reporting
def fmt_s(v):
    return '-' if v is None else ('%.3f' % v if v < 10 else '%.1f' % v)


def fmt_ratio(v):
    return '-' if v is None else '%.2f' % v


def print_report(result, stream=sys.stdout):
    w = stream.write
    meta = result['meta']
    w('\nnetfilter.conntrack benchmark: N=%d (%s table), median of %d runs, %s\n'
      % (result['n'], result['table'], meta['runs'], meta['date']))
    w('host: %s; kernel %s; %s; load before %s, after %s\n'
      % (meta['host_cpus'], meta['kernel'], meta['cli_version'], result['load_before'],
         result['load_after']))
    w('conntrack objects in all namespaces (nf_conntrack slab, approximate; every dump walks them all): '
      '%s before, %s after (this table included)\n'
      % (result.get('host_conntrack_objects_before'), result.get('host_conntrack_objects_after')))
    w('table: %s\n' % result['table_description'])
    w('fill: %.2f s (%.0f entries/s)\n\n' % (result['fill_seconds'],
                                             result['n'] / result['fill_seconds']))
    hdr = ('operation', 'ours s', 'ref s', 'ours/ref', 'target', 'met', 'path: method [kernel filter]',
           'matched', 'ref')
    table = [hdr]
    for r in result['rows']:
        path = r.get('method') or ''
        if r.get('kernel_filter'):
            path += ' [%s]' % ','.join(r['kernel_filter'])
        met = '' if r.get('met') is None else ('yes' if r['met'] else 'MISSED')
        table.append((r['op'], fmt_s(r['ours']), fmt_s(r['ref']), fmt_ratio(r['ratio']),
                      r.get('target_text', ''), met, path,
                      '' if r.get('matched') is None else str(r['matched']),
                      r['ref_label']))
    widths = [max(len(x[i]) for x in table) for i in range(len(hdr))]
    for i, line in enumerate(table):
        w('  '.join(cell.ljust(widths[j]) if j in (0, 4, 5, 6, 8) else cell.rjust(widths[j])
                    for j, cell in enumerate(line)).rstrip() + '\n')
        if i == 0:
            w('  '.join('-' * x for x in widths) + '\n')
    notes = [(r['op'].strip(), r['note']) for r in result['rows'] if r.get('note')]
    notes += [(r['op'].strip(), 'ERRORS: %s' % r['errors']) for r in result['rows']
              if r.get('errors')]
    for op, note in notes:
        w('  * %s: %s\n' % (op, note))
    if result.get('e2e'):
        w('\nend to end (ansible-playbook, one task; task = callback start->result, '
          'wall = whole ansible-playbook process)\n')
        t = [('task', 'task s', 'wall s', 'task - trivial', 'client time s', 'result')]
        for r in result['e2e']:
            res = r.get('result') or {}
            desc = ', '.join('%s=%s' % (k, res[k])
                             for k in ('count', 'matched', 'deleted', 'method') if k in res)
            if r.get('entries_returned'):
                desc += ', %d entries returned' % r['entries_returned']
            if r.get('errors'):
                desc += ' ERRORS'
            t.append((r['op'], fmt_s(r.get('task')), fmt_s(r.get('wall')),
                      fmt_s(r.get('over_trivial')), fmt_s(r.get('client_time')), desc))
        widths = [max(len(x[i]) for x in t) for i in range(len(t[0]))]
        for i, line in enumerate(t):
            w('  '.join(c.ljust(widths[j]) if j in (0, 5) else c.rjust(widths[j])
                        for j, c in enumerate(line)).rstrip() + '\n')
            if i == 0:
                w('  '.join('-' * x for x in widths) + '\n')
    if result.get('rss'):
        w('\npeak RSS of the conntrack_info module process (run directly, ru_maxrss)\n')
        for r in result['rss']:
            tgt = '' if r['target_mib'] is None else ('  target < %d MiB: %s' % (
                r['target_mib'], 'yes' if r['met'] else 'MISSED'))
            w('  %-42s %7.1f MiB  %6s s  output %9d bytes%s%s\n'
              % (r['op'], r['peak_rss_mib'], fmt_s(r['wall']), r['output_bytes'], tgt,
                 '' if r['ok'] else '  FAILED: %s' % r['error']))
    for title, text in (result.get('profiles') or {}).items():
        w('\ncProfile of %s (one run, profiler overhead included):\n' % title)
        w(text + '\n')
