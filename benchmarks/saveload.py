#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark conntrack_save / conntrack_load against the conntrack CLI, side by side.

  sudo .venv/bin/python benchmarks/saveload.py --entries 10000 --entries 100000

For each size: a namespace (nctb-sl-PID-src) is filled with tools/ctfill.py's mixed
table; then, each operation in a child process of its own (its time is the client time
of the call, its peak RSS the child's), beside the CLI in the same run:

  save: conntrack_save format save, jsonl, xml    vs  conntrack -L -o save > FILE
  load: conntrack_load of our save file into an empty namespace
                                                  vs  conntrack -R FILE (same file, CLI
                                                      lines without -m)
  reload: conntrack_load of the same file into the table that holds it (all unchanged)
                                                  vs  a full decoded dump (client.entries)

Namespaces are removed at the end.  Prints the figures and `uptime` (the machine is
shared).  Needs root, the `conntrack` CLI and pyroute2 (the repository's .venv).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _collection(tmp):
    coll = os.path.join(tmp, 'collections')
    os.makedirs(os.path.join(coll, 'ansible_collections', 'netfilter'), exist_ok=True)
    link = os.path.join(coll, 'ansible_collections', 'netfilter', 'conntrack')
    if not os.path.exists(link):
        os.symlink(ROOT, link)
    return coll


def child(op, netns, path):
    """One operation in this (child) process: prints {seconds, rss_mib, result}."""
    base = 'ansible_collections.netfilter.conntrack.plugins.module_utils.'
    client_mod = __import__(base + '_ct_client', fromlist=['x'])
    with client_mod.ConntrackClient(netns) as client:
        t0 = time.perf_counter()
        if op.startswith('save-'):
            save = __import__(base + '_ct_save', fromlist=['x'])
            res = save.save_table(client, {}, {'dest': path, 'format': op[5:]})
        elif op == 'load':
            load = __import__(base + '_ct_load', fromlist=['x'])
            res = load.load_table(client, {}, {'src': path})
            res['failures'] = res['failures'][:1]
        elif op == 'dump':
            res = {'count': len(client.entries().entries)}
        else:
            raise SystemExit('unknown op %s' % op)
        elapsed = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({'seconds': elapsed, 'rss_mib': rss, 'result': res}))


def run_child(coll, op, netns, path):
    env = dict(os.environ, PYTHONPATH=coll)
    argv = [sys.executable, os.path.abspath(__file__), '--child', op, '--netns', netns,
            '--file', path]
    out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def cli(argv, stdout=None):
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=stdout, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def ns_fresh(name):
    if os.path.exists('/run/netns/' + name):
        subprocess.run(['ip', 'netns', 'delete', name], check=True)
    subprocess.run(['ip', 'netns', 'add', name], check=True)


def bench(coll, tmp, n):
    src, dst = 'nctb-sl-%d-src' % os.getpid(), 'nctb-sl-%d-dst' % os.getpid()
    ns_fresh(src)
    env = dict(os.environ, PYTHONPATH=coll)
    subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'ctfill.py'), '--netns', src,
                    '--count', str(n), '--mix'], env=env, check=True, stdout=subprocess.DEVNULL)
    rows = []
    f_cli = os.path.join(tmp, 'cli.save')
    with open(f_cli, 'w') as fh:
        t_cli = cli(['ip', 'netns', 'exec', src, 'conntrack', '-L', '-o', 'save'], fh)
    rows.append(('conntrack -L -o save > file', t_cli, None, n))
    for fmt in ('save', 'jsonl', 'xml'):
        r = run_child(coll, 'save-' + fmt, src, os.path.join(tmp, 'ours.' + fmt))
        rows.append(('conntrack_save format=%s' % fmt, r['seconds'], r['rss_mib'],
                     r['result']['count']))
    # load into an empty table: the CLI and ours, each from our save file's lines
    ns_fresh(dst)
    t = cli(['ip', 'netns', 'exec', dst, 'conntrack', '-R', os.path.join(tmp, 'ours.save')])
    cnt = int(subprocess.run(['ip', 'netns', 'exec', dst, 'conntrack', '-C'], check=True,
                             capture_output=True, text=True).stdout)
    rows.append(('conntrack -R file (empty table)', t, None, cnt))
    ns_fresh(dst)
    r = run_child(coll, 'load', dst, os.path.join(tmp, 'ours.save'))
    rows.append(('conntrack_load save file (empty table)', r['seconds'], r['rss_mib'],
                 r['result']['created']))
    r = run_child(coll, 'load', dst, os.path.join(tmp, 'ours.save'))
    rows.append(('conntrack_load again (all unchanged)', r['seconds'], r['rss_mib'],
                 r['result']['unchanged']))
    ns_fresh(dst)
    r = run_child(coll, 'load', dst, os.path.join(tmp, 'ours.jsonl'))
    rows.append(('conntrack_load jsonl file (empty table)', r['seconds'], r['rss_mib'],
                 r['result']['created']))
    r = run_child(coll, 'dump', dst, '')
    rows.append(('full decoded dump (client.entries)', r['seconds'], r['rss_mib'],
                 r['result']['count']))
    for name in (src, dst):
        subprocess.run(['ip', 'netns', 'delete', name], check=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--entries', type=int, action='append')
    ap.add_argument('--child')
    ap.add_argument('--netns')
    ap.add_argument('--file')
    args = ap.parse_args()
    if args.child:
        return child(args.child, args.netns, args.file)
    tmp = tempfile.mkdtemp(prefix='nctb-sl-')
    try:
        coll = _collection(tmp)
        for n in args.entries or [10000]:
            load = subprocess.run(['uptime'], capture_output=True, text=True,
                                  check=False).stdout.strip()
            print('== %d entries   (%s)' % (n, load))
            rows = bench(coll, tmp, n)
            print('%-42s %9s %9s %9s' % ('operation', 'seconds', 'peak MiB', 'entries'))
            for name, sec, rss, cnt in rows:
                mib = '-' if rss is None else '%.1f' % rss
                print('%-42s %9.3f %9s %9d' % (name, sec, mib, cnt))
            base = {r[0]: r[1] for r in rows}
            print('ratios: save/cli %.2f  jsonl/cli %.2f  load/-R %.2f  reload/dump %.2f' % (
                base['conntrack_save format=save'] / base['conntrack -L -o save > file'],
                base['conntrack_save format=jsonl'] / base['conntrack -L -o save > file'],
                base['conntrack_load save file (empty table)'] /
                base['conntrack -R file (empty table)'],
                base['conntrack_load again (all unchanged)'] /
                base['full decoded dump (client.entries)']))
            sys.stdout.flush()
    finally:
        shutil.rmtree(tmp, True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
