#!/usr/bin/env python
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A conntrack event flood against a narrow filter: received and lost, with and without
the kernel filter, beside `conntrack -E` with the same filter.

  events_flood.py [--entries 200000] [--rounds 1] [--buffer 65536] [--json OUT]

In a namespace of its own (nctb-evflood-PID, removed at the end) a generator creates
``--entries`` synthetic entries over raw ctnetlink (batched CT_NEW, 1000 per send, as
tools/ctfill.py does) and deletes them again (one flush), as fast as this machine goes:
2 events per entry.  1% of the entries are UDP from 203.0.113.0/28 (the filter:
``proto: udp, orig_src: 203.0.113.0/28``), 1% TCP from the same network, the rest UDP
from 198.51.100.0/24.  Each listener hears its own flood, one after the other:

  kernel     conntrack_events' listener with the BPF socket filter (the module's path)
  python     the same listener and filter, matched in Python only (no socket filter)
  cli        conntrack -E -p udp -s 203.0.113.0/28 -b BUFFER (lines printed)

For each: matching events received (2 per matching entry: NEW and DESTROY),
lost (the kernel's drop counter; the CLI reports none, its shortfall is shown), the
listener's CPU time (user+system, from wait4), and the flood's rate.  The load
(/proc/loadavg) is printed beside the figures: the machine is shared.
"""

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tools'))
# ctfill puts the collection on sys.path
import ctfill  # noqa: E402,F401  pylint: disable=unused-import

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C  # noqa: E402
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_client import ConntrackClient  # noqa: E402
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_events import (  # noqa: E402
    EventListener, kernel_program, listen)
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import compile_filter  # noqa: E402

FILTER = {'proto': 'udp', 'orig_src': '203.0.113.0/28'}
CLI_ARGS = ['-p', 'udp', '-s', '203.0.113.0/28']


def spec(i):
    k = i % 100
    if k == 0 or k == 50:
        src, proto = '203.0.113.%d' % (i // 100 % 16), 17 if k == 0 else 6
    else:
        src, proto = '198.51.100.%d' % (i % 250 + 1), 17
    sport, dport = 1024 + i // 250 % 60000, 53 + i // 15000000
    out = {'family': C.AF_INET, 'proto': proto, 'timeout': 600,
           'orig': {'src': src, 'dst': '192.0.2.53', 'sport': sport, 'dport': dport},
           'reply': {'src': '192.0.2.53', 'dst': src, 'sport': dport, 'dport': sport}}
    if proto == 6:
        out.update(proto_state=3, status=C.IPS_SEEN_REPLY | C.IPS_ASSURED)
    return out


def matching(entries):
    return sum(1 for i in range(entries) if i % 100 == 0)


def flood(netns, entries):
    """Create and flush ``entries`` entries; (seconds, events/s of the creates, of the
    flush)."""
    with ConntrackClient(netns) as client:
        t0 = time.perf_counter()
        bad = [r for r in client.create_many(spec(i) for i in range(entries)) if r]
        t1 = time.perf_counter()
        client.flush()
        t2 = time.perf_counter()
    if bad:
        raise SystemExit('flood: %d creates failed: %s' % (len(bad), sorted(set(bad))[:3]))
    return t2 - t0, (entries / (t1 - t0), entries / (t2 - t1))


SENTINEL_PORT = 65535   # the entry that closes a listener's window: not counted


def sentinel(netns):
    """One matching entry created and deleted: its events wake the listeners after the
    flood (the kernel-filtered one hears nothing else then)."""
    with ConntrackClient(netns) as client:
        client.create_many([{'family': C.AF_INET, 'proto': 17, 'timeout': 60,
                             'orig': {'src': '203.0.113.1', 'dst': '192.0.2.53',
                                      'sport': SENTINEL_PORT, 'dport': 53},
                             'reply': {'src': '192.0.2.53', 'dst': '203.0.113.1',
                                       'sport': 53, 'dport': SENTINEL_PORT}}])
        client.flush()


def _child_listener(netns, kernel, buffer, out_fd):
    cfilter = compile_filter(FILTER)
    program = kernel_program(cfilter, 'conntrack') if kernel else None
    done = []
    signal.signal(signal.SIGUSR1, lambda *_a: done.append(time.monotonic()))

    def clock():
        # the window closes at the first event after the parent said the flood is over
        return time.monotonic() + (1e9 if done else 0)
    with EventListener(netns, 'conntrack', None, buffer, program) as lst:
        os.write(out_fd, b'R')   # subscribed
        res = listen(lst, 3600, None, cfilter, clock=clock)
    got = [e for e in res['events'] if e['entry']['orig']['sport'] != SENTINEL_PORT]
    res = {'count': len(got), 'lost': res['lost'], 'lost_exact': res['lost_exact'],
           'seen': res['seen'], 'kernel_filter': program.applied if program else []}
    os.write(out_fd, json.dumps(res).encode())
    os._exit(0)


def run_module(netns, kernel, args):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            _child_listener(netns, kernel, args.buffer, w)
        finally:
            os._exit(1)
    os.close(w)
    assert os.read(r, 1) == b'R'
    secs, rate = flood(netns, args.entries)
    time.sleep(1.0)
    os.kill(pid, signal.SIGUSR1)
    sentinel(netns)
    chunks = []
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    _pid, status, ru = os.wait4(pid, 0)
    res = json.loads(b''.join(chunks))
    res.update(flood_s=round(secs, 3), flood_rate=[round(r) for r in rate],
               cpu_s=round(ru.ru_utime + ru.ru_stime, 3), exit=status)
    return res


def run_cli(netns, args):
    proc = subprocess.Popen(['ip', 'netns', 'exec', netns, 'conntrack', '-E', '-b', str(args.buffer)]
                            + CLI_ARGS, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.0)   # the CLI has no ready signal: give it time to subscribe
    secs, rate = flood(netns, args.entries)
    time.sleep(args.listen)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate()
    lines = [ln for ln in out.decode('ascii', 'replace').splitlines() if ln.strip().startswith('[')]
    return {'count': len(lines), 'lost': None, 'stderr': err.decode('ascii', 'replace').strip()[-200:],
            'flood_s': round(secs, 3), 'flood_rate': [round(r) for r in rate]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--entries', type=int, default=200000)
    ap.add_argument('--rounds', type=int, default=1)
    ap.add_argument('--buffer', type=int, default=65536)
    ap.add_argument('--listen', type=float, default=2.0,
                    help='seconds the CLI listens after the flood (the module listeners stop '
                    'at a sentinel entry made after it)')
    ap.add_argument('--only', choices=('kernel', 'python', 'cli'), action='append')
    ap.add_argument('--json')
    args = ap.parse_args()
    netns = 'nctb-evflood-%d' % os.getpid()
    subprocess.run(['ip', 'netns', 'add', netns], check=True)
    rows = []
    try:
        with open('/proc/loadavg', encoding='ascii') as fh:
            load = fh.read().split()[:3]
        want = 2 * matching(args.entries)
        print('entries %d (events %d), matching events %d, buffer %d, loadavg %s'
              % (args.entries, 2 * args.entries, want, args.buffer, ' '.join(load)))
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        for rnd in range(args.rounds):
            for name in args.only or ('kernel', 'python', 'cli'):
                if name == 'cli':
                    res = run_cli(netns, args)
                    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
                    res['cpu_s'] = round(ru.ru_utime + ru.ru_stime - cpu_before.ru_utime
                                         - cpu_before.ru_stime, 3)
                else:
                    res = run_module(netns, name == 'kernel', args)
                cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
                res.update(listener=name, round=rnd, want=want)
                rows.append(res)
                print('%-7s round %d: received %5d of %d, lost %8s, listener CPU %.2f s; '
                      'flood %.2f s (creates %d/s, flush %d/s)%s'
                      % (name, rnd, res['count'], want, res['lost'] if res['lost'] is not None
                         else 'n/a', res['cpu_s'], res['flood_s'], res['flood_rate'][0],
                         res['flood_rate'][1],
                         ', kernel_filter %s' % res['kernel_filter'] if res.get('kernel_filter')
                         else ''))
        with open('/proc/loadavg', encoding='ascii') as fh:
            print('loadavg after: %s' % ' '.join(fh.read().split()[:3]))
    finally:
        subprocess.run(['ip', 'netns', 'del', netns], check=False)
    if args.json:
        with open(args.json, 'w', encoding='ascii') as fh:
            json.dump({'load': load, 'rows': rows, 'args': vars(args)}, fh, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
