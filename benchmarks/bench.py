#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark netfilter.conntrack against Debian's conntrack CLI on large tables.

  sudo .venv/bin/python benchmarks/bench.py --entries 250000

Fills a fresh network namespace (nctb-bench-PID) with N synthetic entries made by
tools/ctfill.py's generators, then measures, median of --runs runs on identical tables,
the collection's code (client time, in this process) beside the `conntrack` CLI run in
the same namespace in the same run:

  1 full dump decoded into entries        vs  conntrack -L -o extended > /dev/null
  2 filtered counts                       vs  conntrack -L <filter> | wc -l
  3 filtered delete of a ~10% slice       vs  conntrack -D <filter>  (+ the kernel's own flush)
  4 flush all                             vs  conntrack -F
  5 count_by / top over the full dump     vs  the seed's awk pipelines
  6 end to end: ansible-playbook tasks (task duration, process wall time, trivial task)
  7 peak RSS of the module process (full dump, counts)

Destructive operations run on a table refilled before every run (flush + fill, checked
by count), and every delete is verified by counting what is left.  Prints a table of the
ratios and writes it as JSON to benchmarks/results/<date>-<N>.json.  Nothing is sent on
any wire: the entries are created over netlink in a namespace of their own, which is
always removed at the end.  Needs root, the `conntrack` CLI, and a Python with pyroute2
(the repository's .venv).

The code: nctbench/fixtures.py (tables, namespace, timing), nctbench/sections.py
(dump, count, delete, flush, aggregate), nctbench/e2e.py (end to end, RSS, profiles),
nctbench/report.py (the printed table); this file is the command line.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from nctbench.fixtures import (
    HERE, Bench, Table, conntrack_objects, load_collection, loadavg, meta, remove_leftovers)
from nctbench.sections import sec_aggregate, sec_count, sec_delete, sec_dump, sec_flush_all
from nctbench.e2e import profiles, sec_e2e, sec_rss
from nctbench.report import print_report


def run_one(b, n, sections):
    b.table = Table(b.lib, b.args.table, n)
    result = {'n': n, 'table': b.args.table, 'table_description': b.table.describe(),
              'load_before': loadavg(), 'host_conntrack_objects_before': conntrack_objects(),
              'uptime_before': subprocess.run(
                  ['uptime'], stdout=subprocess.PIPE, text=True, check=False).stdout.strip()}
    print('N=%d: filling %s ...' % (n, b.ns), flush=True)
    result['fill_seconds'] = b.fill()
    rows = []
    for name, fn in (('dump', sec_dump), ('count', sec_count), ('aggregate', sec_aggregate),
                     ('delete', sec_delete), ('flush', sec_flush_all)):
        if name in sections:
            print('  %s ...' % name, flush=True)
            if b.remaining() != n:
                b.fill()
            rows.extend(fn(b))
    if b.remaining() != n:
        b.fill()
    result['rows'] = rows
    if 'rss' in sections:
        print('  rss ...', flush=True)
        result['rss'] = sec_rss(b)
    if 'profile' in sections:
        print('  profile ...', flush=True)
        result['profiles'] = profiles(b)
    if 'e2e' in sections:
        print('  e2e ...', flush=True)
        result['e2e'] = sec_e2e(b, rows)
    result['load_after'] = loadavg()
    result['host_conntrack_objects_after'] = conntrack_objects()
    return result


SECTIONS = ('dump', 'count', 'aggregate', 'delete', 'flush', 'e2e', 'rss', 'profile')


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog='\n'.join(__doc__.splitlines()[2:]))
    ap.add_argument('--entries', default='250000',
                    help='table sizes, comma-separated (default 250000; e.g. 10000,100000,250000)')
    ap.add_argument('--runs', type=int, default=3, help='runs per measurement (median; >= 3)')
    ap.add_argument('--table', choices=('mix', 'plain'), default='mix',
                    help='mix: ctfill --mix entries with 10%% slices (default); '
                         'plain: ctfill TCP-only entries (no NAT: no dst_nat rows)')
    ap.add_argument('--only', help='comma-separated sections (%s)' % ','.join(SECTIONS))
    ap.add_argument('--skip', help='comma-separated sections to leave out')
    ap.add_argument('--e2e-entries-max', type=int, default=10000,
                    help='returning the whole table end to end only up to this N '
                         '(ansible carries ~5k entries/s back)')
    ap.add_argument('--out-dir', default=os.path.join(HERE, 'results'))
    ap.add_argument('--json', help='also write all results to this file')
    args = ap.parse_args(argv)
    try:
        args.sizes = [int(x) for x in args.entries.split(',') if x.strip()]
    except ValueError:
        ap.error('--entries: expected integers such as 10000,100000,250000')
    if not args.sizes or min(args.sizes) < 100:
        ap.error('--entries: at least 100 entries')
    if args.runs < 1:
        ap.error('--runs: at least 1')
    sections = set(SECTIONS)
    if args.only:
        sections = {s.strip() for s in args.only.split(',') if s.strip()}
    if args.skip:
        sections -= {s.strip() for s in args.skip.split(',')}
    unknown = sections - set(SECTIONS)
    if unknown:
        ap.error('unknown sections: %s' % ', '.join(sorted(unknown)))
    args.sections = sections
    return args


def main(argv=None):
    args = parse_args(argv)
    if os.geteuid() != 0:
        sys.exit('bench.py: needs root (network namespaces, CAP_NET_ADMIN): run it with sudo')
    for tool in ('conntrack', 'nsenter', 'ip'):
        if not shutil.which(tool):
            sys.exit('bench.py: %s not found (apt-get install conntrack util-linux iproute2)'
                     % tool)
    owner = os.getpid()

    def on_term(*_sig):
        # pyroute2 forks helpers that inherit this handler: only the owner cleans up
        if os.getpid() != owner:
            os._exit(143)
        sys.exit(143)
    signal.signal(signal.SIGTERM, on_term)
    tmp = tempfile.mkdtemp(prefix='nctb-bench-')
    bench = None
    results = []
    try:
        lib = load_collection(tmp)
        bench = Bench(lib, args, tmp)
        remove_leftovers()
        subprocess.run(['ip', 'netns', 'add', bench.ns], check=True)
        with bench.client() as c:   # imports pyroute2 once, outside every measurement
            _count, maximum = c.global_counts()
        if maximum and max(args.sizes) > maximum:
            sys.exit('bench.py: nf_conntrack_max is %d in the namespace, below %d'
                     % (maximum, max(args.sizes)))
        info = meta(args)
        print('netfilter.conntrack benchmark in namespace %s; %s' % (bench.ns, info['uptime']))
        os.makedirs(args.out_dir, exist_ok=True)
        stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S')
        for n in args.sizes:
            res = run_one(bench, n, args.sections)
            res['meta'] = info
            print_report(res)
            path = os.path.join(args.out_dir, '%s-%d.json' % (stamp, n))
            with open(path, 'w', encoding='utf-8') as fh:
                json.dump(res, fh, indent=1)
            print('\nwritten %s' % os.path.relpath(path))
            results.append(res)
        if args.json:
            with open(args.json, 'w', encoding='utf-8') as fh:
                json.dump(results if len(results) > 1 else results[0], fh, indent=1)
        print('\nload at the end: %s' % subprocess.run(
            ['uptime'], stdout=subprocess.PIPE, text=True, check=False).stdout.strip())
    finally:
        if os.getpid() != owner:  # a forked helper unwinding: leave everything alone
            os._exit(1)
        if bench is not None and os.path.exists(bench.nspath):
            subprocess.run(['ip', 'netns', 'del', bench.ns], check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
