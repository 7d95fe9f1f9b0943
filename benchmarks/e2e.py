#!/usr/bin/env python
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""End to end: every module task against the shell task doing the same with the CLI.

One ansible-playbook run per repetition holds every pair (module task, then
``ansible.builtin.shell: ip netns exec NS conntrack ...``, or the other way round on
every other repetition), so that both sides of a ratio share the machine's load.  Task
times come from the bench_timer callback (task start to result, in the controller);
flushes are followed by a refill (tools/ctfill.py, not timed).

  sudo .venv/bin/python benchmarks/e2e.py [--entries 200000] [--runs 3] [--only count,list]

Prints a table (module, shell, ratio, target, what each side answered) and writes JSON
with every run to --json.  Uses the namespace ncte-perf-e2e (created and removed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NS = os.environ.get('NCT_E2E_NETNS', 'ncte-perf-e2e')   # not nct[-_.0-9]*: test runs remove those

# Slices of tools/ctfill.py --mix (documentation ranges only)
EXACT = '198.51.100.1'             # 1 in 1,000 IPv4 entries
NET = '198.51.100.0/24'            # a quarter of the IPv4 entries
NET_CLI = '-s 198.51.100.0 --mask-src 255.255.255.0'
DNAT = '192.0.2.11'                # a sixth of the IPv4 entries (backend 1)
FIELDS = ['orig.src', 'orig.dst', 'proto_state']
AWK_BY_PROTO = "awk '{n[$1]++} END {for (p in n) print p, n[p]}'"


def pairs(ns, only):
    """(group, name, module task, shell command, target ratio, refill after each side)."""
    cli = 'ip netns exec %s conntrack ' % ns
    info = 'netfilter.conntrack.conntrack_info'
    flush = 'netfilter.conntrack.conntrack_flush'
    out = [
        # the floor of any module task: the smallest module there is
        ('base', 'ansible.builtin.ping', {'ansible.builtin.ping': {}}, cli + '-C', None, False),
        ('count', 'count, no filter', {info: {'netns': ns, 'gather': ['count']}},
         cli + '-C', 1.0, False),
        ('count', 'count, exact address',
         {info: {'netns': ns, 'orig_src': EXACT, 'gather': ['count']}},
         cli + '-L -s %s 2>/dev/null | wc -l' % EXACT, 1.0, False),
        # the CLI's --dst-nat ADDR needs the DST_NAT status bit, which synthetic entries
        # lack: -r (reply source = the backend) is what selects the same entries
        ('count', 'count, dst_nat', {info: {'netns': ns, 'dst_nat': DNAT, 'gather': ['count']}},
         cli + '-L -r %s 2>/dev/null | wc -l' % DNAT, 1.0, False),
        ('count', 'count, /24', {info: {'netns': ns, 'orig_src': NET, 'gather': ['count']}},
         cli + '-L %s 2>/dev/null | wc -l' % NET_CLI, 1.0, False),
        ('count', 'count_by proto', {info: {'netns': ns, 'count_by': ['proto'], 'limit': 0,
                                            'gather': ['count']}},
         cli + '-L 2>/dev/null | ' + AWK_BY_PROTO, 1.0, False),
        ('list', 'listing, whole entries', {info: {'netns': ns, 'gather': ['entries']}},
         cli + '-L -o extended 2>/dev/null', 2.0, False),
        ('list', 'listing, fields: 3 keys', {info: {'netns': ns, 'gather': ['entries'],
                                                    'fields': FIELDS}},
         cli + '-L -o extended 2>/dev/null', 1.0, False),
        ('flush', 'flush, exact address', {flush: {'netns': ns, 'orig_src': EXACT}},
         cli + '-D -s %s 2>&1 >/dev/null | tail -1' % EXACT, 1.0, True),
        ('flush', 'flush, /24', {flush: {'netns': ns, 'orig_src': NET}},
         cli + '-D %s 2>&1 >/dev/null | tail -1' % NET_CLI, 1.0, True),
        ('flush', 'flush, dst_nat', {flush: {'netns': ns, 'dst_nat': DNAT}},
         cli + '-D -r %s 2>&1 >/dev/null | tail -1' % DNAT, 1.0, True),
    ]
    return [p for p in out if not only or p[0] in only]


def playbook(ns, entries, runs, only, python):
    refill = {'ansible.builtin.command': {'argv': [python, os.path.join(ROOT, 'tools', 'ctfill.py'),
                                                   '--netns', ns, '--count', str(entries),
                                                   '--mix']},
              'name': 'refill', 'changed_when': False, 'failed_when': False}
    tasks = []
    for run in range(runs):
        for _group, name, mod, shell, _target, destructive in pairs(ns, only):
            mtask = dict(mod, name='%d module %s' % (run, name))
            stask = {'name': '%d shell %s' % (run, name), 'ansible.builtin.shell': shell,
                     'changed_when': False}
            for task in ((mtask, stask) if run % 2 == 0 else (stask, mtask)):
                tasks.append(task)
                if destructive:
                    tasks.append(refill)
    return [{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}]


def med(values):
    values = sorted(v for v in values if v is not None)
    return values[len(values) // 2] if values else None


def answer(row):
    res = row.get('result') or {}
    if res.get('deleted') is not None:
        return 'deleted=%s' % res['deleted']
    if row.get('entries_returned'):
        return '%d entries' % row['entries_returned']
    if res.get('count') is not None:
        return 'count=%s' % res['count']
    if res.get('counts'):
        return 'counts=%s' % res['counts']
    head = row.get('stdout_head')
    if head is not None:
        lines = row.get('stdout_lines', 0)
        if lines > 3:
            return '%d lines' % lines
        return head.replace('\n', ' ').replace('conntrack v1.4.7 (conntrack-tools): ', '')[:60]
    return row.get('status')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--entries', type=int, default=200000)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--only', default='', help='groups: base,count,list,flush (default all)')
    ap.add_argument('--json', default=None, help='write every run here')
    ap.add_argument('--keep', action='store_true', help='keep the namespace')
    args = ap.parse_args()
    only = {g for g in args.only.split(',') if g}
    python = sys.executable
    pb_bin = os.path.join(os.path.dirname(python), 'ansible-playbook')
    work = tempfile.mkdtemp(prefix='nct_perf-e2e.')
    coll = os.path.join(work, 'collections', 'ansible_collections', 'netfilter')
    os.makedirs(coll)
    os.symlink(ROOT, os.path.join(coll, 'conntrack'))
    try:
        if subprocess.run(['ip', 'netns', 'add', NS], check=False).returncode:
            sys.exit('e2e: namespace %s exists (another run?); remove it first' % NS)
        fill = subprocess.run([python, os.path.join(ROOT, 'tools', 'ctfill.py'), '--netns', NS,
                               '--count', str(args.entries), '--mix'],
                              stdout=subprocess.PIPE, text=True, check=True)
        print(fill.stdout.strip())
        play = os.path.join(work, 'play.yml')
        with open(play, 'w', encoding='utf-8') as fh:
            json.dump(playbook(NS, args.entries, args.runs, only, python), fh)
        inv = os.path.join(work, 'inventory.ini')
        with open(inv, 'w', encoding='utf-8') as fh:
            fh.write('localhost ansible_connection=local ansible_python_interpreter=%s\n' % python)
        env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_')}
        env.pop('PYTHONPATH', None)
        timer = os.path.join(work, 'timer.json')
        env.update(ANSIBLE_COLLECTIONS_PATH=os.path.join(work, 'collections'),
                   ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, 'callback_plugins'),
                   ANSIBLE_CALLBACKS_ENABLED='bench_timer', NCTB_TIMER_OUT=timer,
                   ANSIBLE_LOCALHOST_WARNING='False', ANSIBLE_NOCOLOR='1',
                   ANSIBLE_INVENTORY_UNPARSED_WARNING='False',
                   ANSIBLE_LOCAL_TEMP=os.path.join(work, 'tmp'))
        load_before = os.getloadavg()
        t0 = time.perf_counter()
        proc = subprocess.run([pb_bin, '-i', inv, play], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, check=False)
        wall = time.perf_counter() - t0
        if proc.returncode:
            print(proc.stdout[-3000:])
        with open(timer, encoding='utf-8') as fh:
            rows = json.load(fh)
        core = subprocess.run([pb_bin, '--version'], stdout=subprocess.PIPE, text=True,
                              check=False).stdout.splitlines()[0]
        report(rows, args, load_before, os.getloadavg(), wall, core)
        if args.json:
            with open(args.json, 'w', encoding='utf-8') as fh:
                json.dump({'entries': args.entries, 'runs': args.runs, 'rows': rows,
                           'load': [load_before, os.getloadavg()], 'core': core}, fh, indent=1)
    finally:
        if not args.keep:
            subprocess.run(['ip', 'netns', 'del', NS], check=False)
        shutil.rmtree(work, ignore_errors=True)


def report(rows, args, load_before, load_after, wall, core):
    by = {}
    for row in rows:
        parts = row['task'].split(' ', 2)
        if len(parts) == 3 and parts[0].isdigit():
            by.setdefault((parts[2], parts[1]), []).append(row)
    print('\n%s; %d entries (tools/ctfill.py --mix), namespace %s, medians of %d, '
          'loadavg %.2f -> %.2f, playbook wall %.0f s' % (
              core, args.entries, NS, args.runs, load_before[0], load_after[0], wall))
    print('%-26s %9s %9s %7s %7s  %-30s %s' % ('task', 'module', 'shell', 'ratio', 'target',
                                               'module answered', 'shell answered'))
    for _group, name, _mod, _shell, target, _d in pairs(NS, {g for g in args.only.split(',') if g}):
        mod, sh = by.get((name, 'module'), []), by.get((name, 'shell'), [])
        m = med([r['seconds'] for r in mod if r['status'] == 'ok'])
        s = med([r['seconds'] for r in sh if r['status'] == 'ok'])
        ratio = m / s if m and s else None
        print('%-26s %8.2fs %8.2fs %7s %7s  %-30s %s' % (
            name, m or 0, s or 0, '%.2f' % ratio if ratio else '-',
            '%.1fx' % target if target else 'floor',
            answer(mod[-1]) if mod else '-', answer(sh[-1]) if sh else '-'))


if __name__ == '__main__':
    main()
