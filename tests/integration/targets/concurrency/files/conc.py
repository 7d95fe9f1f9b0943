#!/usr/bin/env python
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Concurrency and interruption scenarios for the concurrency target; prints one JSON object.

  conc.py race --netns NS --flush ARGS [--flush ARGS ...] [--create]
      Runs the conntrack_flush modules (the module files themselves, one process each,
      arguments as Ansible passes them: a JSON file) at the same moment; with --create a
      writer creates new entries the whole time, from 198.51.100.3 (inside every filter
      the target uses) and 198.51.100.9 (outside them all).
  conc.py kill --netns NS --module NAME --args ARGS --at child|ready|delay:S [--after S]
               [--parent-only]
      Starts the module in a session of its own, waits until it is in the middle of its
      work (child: its receiving child process exists, i.e. a large dump is under way;
      falling: the table shrinks, i.e. a flush's deletes are under way; ready: its
      ready_file exists; delay:S: S seconds), then SIGKILLs its process group
      (or the module process alone) and reports what is left.
  conc.py census --netns NS --cidr CIDR
      How many entries come from inside and outside that CIDR (orig source).
  conc.py procs --tag TAG
      The processes whose environment holds NCT_CONC_TAG=TAG (the `timeout:` tasks).

Oracle: the CLI (`conntrack -L -o id`) before and after, compared by kernel id and tuple; a filter is
its orig_src (an address or a CIDR), which the oracle evaluates itself.
Every module runs with TMPDIR set to an empty directory of its own, checked afterwards.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

LINE = re.compile(r'^(\S+)\s+\d+\s+.*?src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+).* id=(\d+)')
CREATE_IN, CREATE_OUT, CREATE_DST = '198.51.100.3', '198.51.100.9', '203.0.113.200'


def snapshot(netns):
    """{(id, tuple): (src, dst, sport, dport)} of the namespace's TCP/UDP entries, by the
    CLI.  The kernel's ids are 32-bit hashes: among 100,000 entries two or so share one,
    so an entry is its id and its tuple.

    Taken again (up to 5 times) until it holds as many entries as `conntrack -C` counts:
    the kernel's dump walks the hash table all namespaces share, which other tests grow
    and shrink meanwhile, and a listing may then miss an entry.  Only for quiet tables.
    """
    for _attempt in range(5):
        out = subprocess.run(['ip', 'netns', 'exec', netns, 'conntrack', '-L', '-o', 'id'],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False,
                             universal_newlines=True).stdout
        total = count(netns)
        table = {}
        for line in out.splitlines():
            m = LINE.match(line)
            if m:
                tup = (m.group(2), m.group(3), int(m.group(4)), int(m.group(5)))
                table[(int(m.group(6)),) + tup] = tup
        if len(table) == total:
            break
    return table


def count(netns):
    out = subprocess.run(['ip', 'netns', 'exec', netns, 'conntrack', '-C'],
                         stdout=subprocess.PIPE, check=False, universal_newlines=True).stdout
    return int(out.strip() or 0)


def matcher(args):
    nets = [ipaddress.ip_network(args['orig_src'], strict=False)]
    return lambda tup: any(ipaddress.ip_address(tup[0]) in net for net in nets)


def module_cmd(name, args, workdir, tag):
    path = os.path.join(workdir, '%s-%s.json' % (name, tag))
    with open(path, 'w', encoding='utf-8') as fh:
        json.dump({'ANSIBLE_MODULE_ARGS': args}, fh)
    return [sys.executable, '-m',
            'ansible_collections.netfilter.conntrack.plugins.modules.' + name, path]


def module_env(tmpdir):
    env = dict(os.environ, TMPDIR=tmpdir)
    return env


def parse_result(out):
    try:
        res = json.loads(out[out.index('{'):])
    except ValueError:
        return {'failed': True, 'msg': 'no JSON result: %r' % out[-300:]}
    res.pop('entries', None)
    res.pop('invocation', None)
    return res


class Creator(threading.Thread):
    """Creates entries from CREATE_IN and CREATE_OUT, alternately, until stopped."""

    def __init__(self, netns):
        super().__init__(daemon=True)
        self.netns, self.stop, self.created, self.errors = netns, threading.Event(), [], 0
        self.started = threading.Event()

    def run(self):
        from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_client import (
            ConntrackClient)
        port = 20000
        with ConntrackClient(self.netns) as client:
            while not self.stop.is_set():
                specs = []
                for _pair in range(50):
                    for src in (CREATE_IN, CREATE_OUT):
                        orig = {'src': src, 'dst': CREATE_DST, 'sport': port, 'dport': 80}
                        specs.append({'family': 2, 'proto': 6, 'timeout': 3600,
                                      'status': 0x6, 'proto_state': 3, 'orig': orig,
                                      'reply': {'src': CREATE_DST, 'dst': src, 'sport': 80,
                                                'dport': port}})
                    port += 1
                res = client.create_many(specs)
                for spec, err in zip(specs, res):
                    if err:
                        self.errors += 1
                    else:
                        o = spec['orig']
                        self.created.append((o['src'], o['dst'], o['sport'], o['dport']))
                self.started.set()
                time.sleep(0.01)


def race(args):
    flushes = [json.loads(a) for a in args.flush]
    for f in flushes:
        f.setdefault('netns', args.netns)
        f.setdefault('return_entries', 0)
    work = tempfile.mkdtemp(prefix='nct_conc-')
    tmpdir = os.path.join(work, 'tmp')
    os.mkdir(tmpdir)
    try:
        before = snapshot(args.netns)
        creator = None
        if args.create:
            creator = Creator(args.netns)
            creator.start()
            creator.started.wait(30)
        cmds = [module_cmd('conntrack_flush', f, work, str(i)) for i, f in enumerate(flushes)]
        t0 = time.monotonic()
        procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=module_env(tmpdir), universal_newlines=True)
                 for c in cmds]
        outs, spans = [], []
        for p in procs:
            out, err = p.communicate()
            spans.append(round(time.monotonic() - t0, 3))
            res = parse_result(out)
            if p.returncode and not res.get('failed'):
                res.update(failed=True, msg=err[-300:])
            outs.append(res)
        if creator is not None:
            time.sleep(0.2)   # a few more creations after the flushes
            creator.stop.set()
            creator.join(30)
        after = snapshot(args.netns)
        leftovers = os.listdir(tmpdir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    match = [matcher(f) for f in flushes]

    def hits(tup):
        return sum(1 for m in match if m(tup))

    gone = [i for i in before if i not in after]
    report = {
        'results': outs, 'ended_after': spans,
        'before': len(before), 'after': len(after), 'gone': len(gone),
        'gone_outside': sum(1 for i in gone if not hits(before[i])),
        'matching_before': sum(1 for t in before.values() if hits(t)),
        'overlap_before': sum(1 for t in before.values() if hits(t) > 1),
        'left_matching': sum(1 for i, t in before.items() if hits(t) and i in after),
        'sum_matched': sum(r.get('matched', 0) for r in outs),
        'sum_deleted': sum(r.get('deleted', 0) for r in outs),
        'sum_vanished': sum(r.get('vanished', 0) for r in outs),
        'tmp_left': leftovers,
    }
    if creator is not None:
        now = set(after.values())
        made_in = [t for t in creator.created if hits(t)]
        made_out = [t for t in creator.created if not hits(t)]
        report.update(
            created=len(creator.created), create_errors=creator.errors,
            created_matching=len(made_in),
            created_matching_gone=sum(1 for t in made_in if t not in now),
            created_outside_missing=sum(1 for t in made_out if t not in now))
    # what left the table: the matching entries that existed before, and those the
    # writer created meanwhile and the flushes took
    report['deleted_total'] = report['gone'] + report.get('created_matching_gone', 0)
    return report


def pgroup(pgid):
    """Pids of the live (non-zombie) processes of a process group."""
    pids = []
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name, encoding='ascii', errors='replace') as fh:
                fields = fh.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != 'Z':
            pids.append(int(name))
    return pids


def children(pid):
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid), encoding='ascii') as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def kill(args):
    margs = json.loads(args.args)
    margs.setdefault('netns', args.netns)
    work = tempfile.mkdtemp(prefix='nct_conc-')
    tmpdir = os.path.join(work, 'tmp')
    os.mkdir(tmpdir)
    oracle = matcher(margs) if margs.get('orig_src') else None
    try:
        before = snapshot(args.netns) if oracle else {}
        cmd = module_cmd(args.module, margs, work, 'kill')
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=module_env(tmpdir), start_new_session=True)
        reached, child = None, []
        deadline = time.monotonic() + 60
        kind, _sep, value = args.at.partition(':')
        if kind == 'delay':
            time.sleep(float(value))
            reached = proc.poll() is None and 'running'
        while reached is None and time.monotonic() < deadline and proc.poll() is None:
            if kind == 'child':
                child = children(proc.pid)
                if child:
                    reached = 'child'
            elif kind == 'ready' and os.path.exists(margs['ready_file']):
                reached = 'ready'
            elif kind == 'falling' and count(args.netns) < len(before):
                reached = 'falling'   # its deletes are under way
            if reached is None:
                time.sleep(0.002)
        if reached and args.after:
            time.sleep(args.after)   # further into the work (a flush: into its deletes)
        if proc.poll() is None:
            if args.parent_only:
                os.kill(proc.pid, signal.SIGKILL)
            else:
                os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        # the group must empty (a receiving child killed with it, or leaving on its own
        # once its parent is gone)
        left = pgroup(proc.pid)
        end = time.monotonic() + 10
        while left and time.monotonic() < end:
            time.sleep(0.05)
            left = pgroup(proc.pid)
        after = snapshot(args.netns) if oracle else {}
        tmp_left = os.listdir(tmpdir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {'reached': reached, 'returncode': proc.returncode, 'child_seen': child,
              'procs_left': left, 'tmp_left': tmp_left}
    if oracle:
        gone = [i for i in before if i not in after]
        report.update(before=len(before), after=len(after), gone=len(gone),
                      gone_outside=sum(1 for i in gone if not oracle(before[i])),
                      matching_before=sum(1 for t in before.values() if oracle(t)))
    if args.module == 'conntrack_entry':   # the entry, whole or absent: what the CLI shows
        report['entry_lines'] = subprocess.run(
            ['ip', 'netns', 'exec', args.netns, 'conntrack', '-L', '-s', margs['orig_src'],
             '-d', margs['orig_dst'], '-p', margs['proto'], '--sport', str(margs['sport']),
             '--dport', str(margs['dport'])], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, check=False, universal_newlines=True).stdout.splitlines()
    ready = margs.get('ready_file')
    if ready:
        report['ready_file_left'] = os.path.exists(ready)
        if report['ready_file_left']:
            with open(ready, encoding='ascii') as fh:
                pid = int(fh.read().split()[0])
            report['ready_file_pid_alive'] = os.path.exists('/proc/%d' % pid) and bool(
                pgroup(proc.pid))
            os.unlink(ready)
    return report


def census(args):
    """How many TCP/UDP entries are inside and outside a CIDR of orig sources."""
    net = ipaddress.ip_network(args.cidr, strict=False)
    table = snapshot(args.netns)
    inside = sum(1 for t in table.values() if ipaddress.ip_address(t[0]) in net)
    return {'inside': inside, 'outside': len(table) - inside}


def procs(args):
    want = ('NCT_CONC_TAG=%s' % args.tag).encode()
    found = []
    for name in os.listdir('/proc'):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open('/proc/%s/environ' % name, 'rb') as fh:
                env = fh.read().split(b'\0')
            with open('/proc/%s/cmdline' % name, 'rb') as fh:
                cmdline = fh.read().replace(b'\0', b' ').decode('utf-8', 'replace')
        except OSError:
            continue
        if want in env and 'conc.py' not in cmdline:
            found.append({'pid': int(name), 'cmdline': cmdline[:200]})
    return {'procs': found}


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('race')
    r.add_argument('--netns', required=True)
    r.add_argument('--flush', action='append', required=True)
    r.add_argument('--create', action='store_true')
    k = sub.add_parser('kill')
    k.add_argument('--netns', required=True)
    k.add_argument('--module', required=True)
    k.add_argument('--args', required=True)
    k.add_argument('--at', required=True)
    k.add_argument('--after', type=float, default=0, help='seconds more after --at')
    k.add_argument('--parent-only', action='store_true')
    c = sub.add_parser('census')
    c.add_argument('--netns', required=True)
    c.add_argument('--cidr', required=True)
    p = sub.add_parser('procs')
    p.add_argument('--tag', required=True)
    args = ap.parse_args()
    print(json.dumps({'race': race, 'kill': kill, 'census': census, 'procs': procs}[args.cmd](args)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
