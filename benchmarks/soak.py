#!/usr/bin/env python
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Soak: the modules' logic for hours on a router with live traffic; the CLI checks it.

  sudo .venv/bin/python benchmarks/soak.py [--minutes 60] [--report-minutes 5]
                                           [--flush-every 3] [--prefix ncts]

Brings up the namespace rig (tests/integration/targets/setup_conntrack/files/nsrig.sh,
PREFIX-cli -> PREFIX-rtr (NAT) -> PREFIX-be1/-be2) and runs, all at once, for --minutes:
  traffic   a generator in PREFIX-cli opening and closing TCP flows (to the VIP, DNATed to
            be1, and to be1/be2 directly) and UDP flows (answered, and to a dead port) from
            20 client addresses, without pause; 8 TCP connections to be2:9000 stay open
            the whole time: the router marks them 42 (protected: no flush may touch them);
  listener  conntrack_events' listener (EventListener, the default 8 MiB buffer) in a
            process of its own, decoding every event, for the whole run;
  flushes   conntrack_flush's logic (_ct_flush.flush, the module's entry point minus
            AnsibleModule) every --flush-every seconds, with a rotating filter: an exact
            address (kernel path), a CIDR, dst_nat, a TCP state, and exclusions;
  entries   conntrack_entry's logic (ensure_entry) creating, updating and deleting synthetic
            entries (192.0.2.0/24) once a second;
  info      conntrack_info's logic (gather_info: count, count_by proto, top orig.src)
            every 10 s.
conntrack_save/conntrack_load cycles: HOOK, not in the collection when this was written.

Checks (any failure makes the exit status 1):
  - each flush: every entry it matched is gone (CLI, by kernel id and tuple); deleted +
    vanished == matched; every entry the CLI listed just before it that the filter matches
    (evaluated here on the CLI's fields) is gone or was about to expire; nothing the CLI
    listed outside the filter is gone ("wrong deletions");
  - the protected connections keep their entries (same id) to the end;
  - every entry a flush deleted reaches the listener as a DESTROY event ("lost events"),
    and the listener's socket drops nothing (sk_drops, ENOBUFS);
  - the listener's RSS grows by less than 5 MiB and its open fds stay constant (after a
    one-minute warm-up);
  - no module operation fails; no process of the run and no temporary file is left.
Prints a line of figures every --report-minutes and one summary line (JSON with --json).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(HERE)
NSRIG = os.path.join(CHECKOUT, 'tests', 'integration', 'targets', 'setup_conntrack', 'files',
                     'nsrig.sh')
VIP, BE1, BE2, SNAT = '198.51.100.100', '203.0.113.11', '203.0.113.12', '203.0.113.1'
CLIENTS = ['198.51.100.%d' % i for i in range(10, 30)]
TCP_PORT, UDP_PORT, DIRECT_PORT, DEAD_PORT, MARK = 8080, 5353, 9000, 5999, 42
PROTECTED = 8
RSS_LIMIT_KIB = 5 * 1024
EXPIRING = 5   # seconds: an entry this close to its timeout may expire during a flush


def _import_root():
    """A directory holding ansible_collections/netfilter/conntrack -> this checkout."""
    parts = CHECKOUT.split(os.sep)
    if len(parts) > 3 and parts[-3] == 'ansible_collections':
        return os.sep.join(parts[:-3]), None
    top = tempfile.mkdtemp(prefix='soak-import-')
    os.makedirs(os.path.join(top, 'ansible_collections', 'netfilter'))
    os.symlink(CHECKOUT, os.path.join(top, 'ansible_collections', 'netfilter', 'conntrack'))
    return top, top


# ------------------------------------------------------------------------ traffic role
def traffic(out):
    """Runs in PREFIX-cli until OUT/stop appears; OUT/protected lists the held flows."""
    held = []
    for i in range(PROTECTED):
        s = socket.create_connection((BE2, DIRECT_PORT), timeout=10,
                                     source_address=(CLIENTS[i % len(CLIENTS)], 0))
        held.append(s)
    with open(os.path.join(out, 'protected.tmp'), 'w', encoding='ascii') as fh:
        json.dump([s.getsockname()[:2] for s in held], fh)
    os.rename(os.path.join(out, 'protected.tmp'), os.path.join(out, 'protected'))
    flows = 0
    stop = os.path.join(out, 'stop')
    rnd = random.Random(1)
    last = time.monotonic()
    while not os.path.exists(stop):
        src = rnd.choice(CLIENTS)
        kind = rnd.randrange(5)
        try:
            if kind < 3:
                dst = (VIP, BE1, BE2)[kind]
                with socket.create_connection((dst, TCP_PORT), timeout=2,
                                              source_address=(src, 0)) as s:
                    s.sendall(b'soak\n')
                    s.recv(100)
            else:
                dst, port = ((VIP, UDP_PORT), (BE1, DEAD_PORT))[kind - 3]
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.bind((src, 0))
                    s.settimeout(0.5)
                    s.sendto(b'soak\n', (dst, port))
                    if port == UDP_PORT:
                        s.recv(100)
            flows += 1
        except OSError:
            pass
        if time.monotonic() - last > 10:
            last = time.monotonic()
            for s in held:
                s.sendall(b'.')
                s.recv(100)
            with open(os.path.join(out, 'flows'), 'w', encoding='ascii') as fh:
                fh.write('%d\n' % flows)
        time.sleep(0.01)
    for s in held:
        s.close()
    return 0


# ----------------------------------------------------------------------- listener role
def listen_role(netns):
    """conntrack_events' listener, for ever; one line per DESTROY (id) on stdout, and a
    status line (S drops overruns events) every second."""
    from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.decode import Decoder
    from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_events import (
        EventListener)
    from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_event_stream import (
        event_type)
    dec = Decoder(None)
    counts = {'NEW': 0, 'UPDATE': 0, 'DESTROY': 0}
    out = sys.stdout
    with EventListener(netns) as lst:
        next_status = time.monotonic()
        while True:
            for buf, off, mlen, mtype, mflags in lst.messages(time.monotonic() + 1.0):
                kind = event_type(mtype, mflags)
                if kind is None:
                    continue
                counts[kind] += 1
                entry = dec.entry(dec.values(buf, off + 20, off + mlen), buf[off + 16])
                if kind == 'DESTROY':
                    out.write('D %s %s %s\n' % (entry['id'], entry['orig'].get('src'),
                                                entry['orig'].get('sport')))
            if lst.orphaned:
                return 0
            if time.monotonic() >= next_status:
                next_status += 1.0
                out.write('S %s %d %d %d %d\n' % (lst.drops(), lst.overruns, counts['NEW'],
                                                  counts['UPDATE'], counts['DESTROY']))
            out.flush()


# --------------------------------------------------------------------------- the CLI
ENTRY = re.compile(r'^ipv4\s+2\s+(\S+)\s+\d+\s+(\d+)\s+(\S*)\s*src=(\S+) dst=(\S+) '
                   r'sport=(\d+) dport=(\d+).*? src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)'
                   r'.*? mark=(\d+).* id=(\d+)')


def cli_list(netns):
    """{(id, src, sport, dst, dport, proto): entry} of the router's TCP/UDP IPv4 entries."""
    out = subprocess.run(['ip', 'netns', 'exec', netns, 'conntrack', '-L', '-o',
                          'extended,id'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         universal_newlines=True, check=False).stdout
    table = {}
    for line in out.splitlines():
        m = ENTRY.match(line)
        if not m:
            continue
        proto, timeout, state = m.group(1), int(m.group(2)), m.group(3)
        e = {'proto': proto, 'timeout': timeout,
             'state': state if proto == 'tcp' else None,
             'src': m.group(4), 'dst': m.group(5), 'sport': int(m.group(6)),
             'dport': int(m.group(7)), 'rsrc': m.group(8), 'rdst': m.group(9),
             'mark': int(m.group(12)), 'id': int(m.group(13))}
        table[(e['id'], e['src'], e['sport'], e['dst'], e['dport'], proto)] = e
    return table


def settled(e):
    """Whether the filters' view of an entry cannot change while a flush runs: not about
    to expire, not a synthetic entry of the entries worker (which deletes its own), not a
    TCP flow in flight (its state moves on within milliseconds)."""
    if e['timeout'] <= EXPIRING or e['src'].startswith('192.0.2.'):
        return False
    return e['proto'] != 'tcp' or e['mark'] == MARK or e['state'] in ('TIME_WAIT', 'CLOSE')


def key_of(entry):
    """The CLI key of an entry as the collection returns it."""
    o = entry['orig']
    return (entry['id'], o['src'], o.get('sport'), o['dst'], o.get('dport'), entry['proto'])


def in_net(addr, net):
    return ipaddress.ip_address(addr) in ipaddress.ip_network(net)


# The rotating filters: the module's options, and the oracle's own reading of them on the
# CLI's fields. Every filter leaves the protected (mark 42) connections alone.
def rotation(rnd):
    addr = rnd.choice(CLIENTS)
    return [
        ('exact address', {'orig_src': addr, 'mark': 0},
         lambda e: e['src'] == addr and e['mark'] == 0),
        ('exact address (kernel)', {'orig_src': addr, 'mark': 0, 'method': 'kernel'},
         lambda e: e['src'] == addr and e['mark'] == 0),
        ('CIDR', {'orig_src': '198.51.100.16/29', 'exclude': [{'mark': MARK}]},
         lambda e: in_net(e['src'], '198.51.100.16/29') and e['mark'] != MARK),
        ('dst_nat', {'dst_nat': BE1, 'exclude': [{'mark': MARK}]},
         lambda e: e['rsrc'] == BE1 and e['dst'] != BE1 and e['mark'] != MARK),
        ('state', {'proto': 'tcp', 'proto_state': ['TIME_WAIT'], 'exclude': [{'mark': MARK}]},
         lambda e: e['proto'] == 'tcp' and e['state'] == 'TIME_WAIT' and e['mark'] != MARK),
        ('exclude', {'orig_src': '198.51.100.0/24', 'proto': 'udp',
                     'exclude': [{'orig_dst': VIP}, {'mark': MARK}]},
         lambda e: (in_net(e['src'], '198.51.100.0/24') and e['proto'] == 'udp'
                    and e['dst'] != VIP and e['mark'] != MARK)),
    ]


class Soak:
    def __init__(self, args):
        self.args = args
        self.p = args.prefix
        self.rtr, self.cli = self.p + '-rtr', self.p + '-cli'
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.failures = []
        self.stats = {'flushes': 0, 'deleted': 0, 'vanished': 0, 'wrong_deletions': 0,
                      'missed_matches': 0, 'not_gone': 0, 'lost_events': 0,
                      'entry_ops': 0, 'info_calls': 0, 'protected_lost': 0, 'errors': 0,
                      'methods': {}}
        self.destroyed = {}          # id -> monotonic time of its DESTROY event
        self.pending = []            # (deadline, keys) a flush deleted, awaiting events
        self.listener_status = None
        self.rss0 = self.fds0 = None
        self.rss_max = 0

    def fail(self, what):
        with self.lock:
            if len(self.failures) < 50:
                self.failures.append(what)
            self.stats['errors'] += 1

    # -- the rig --------------------------------------------------------------------
    def sh(self, *cmd, **kw):
        return subprocess.run(list(cmd), check=True, **kw)

    def up(self):
        env = dict(os.environ, NSRIG_CT_TIMEOUT='120', NSRIG_TCP='1')
        self.sh('bash', NSRIG, 'cleanup', self.p, env=env, stderr=subprocess.DEVNULL)
        self.sh('bash', NSRIG, 'up', self.p, env=env, stderr=subprocess.DEVNULL)
        for a in CLIENTS:
            self.sh('ip', 'netns', 'exec', self.cli, 'ip', 'addr', 'add', a + '/24', 'dev',
                    'eth0')

    def rig_traffic(self):
        env = dict(os.environ, NSRIG_CT_TIMEOUT='120', NSRIG_TCP='1')
        self.sh('bash', NSRIG, 'traffic', self.p, env=env, stderr=subprocess.DEVNULL)

    def down(self):
        subprocess.run(['bash', NSRIG, 'cleanup', self.p], check=False,
                       stderr=subprocess.DEVNULL)

    # -- workers --------------------------------------------------------------------
    def start_traffic(self):
        self.traffic = subprocess.Popen(
            ['ip', 'netns', 'exec', self.cli, sys.executable, os.path.abspath(__file__),
             '--role', 'traffic', '--out', self.work], stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.work, 'traffic.log'), 'w', encoding='utf-8'))
        for _attempt in range(300):
            if os.path.exists(os.path.join(self.work, 'protected')):
                break
            time.sleep(0.1)
        with open(os.path.join(self.work, 'protected'), encoding='ascii') as fh:
            held = json.load(fh)
        table = cli_list(self.rtr)
        self.protected = {}
        for src, sport in held:
            keys = [k for k, e in table.items() if e['src'] == src and e['sport'] == sport
                    and e['dport'] == DIRECT_PORT]
            if len(keys) != 1 or table[keys[0]]['mark'] != MARK:
                raise RuntimeError('protected flow %s:%s: %r' % (src, sport, keys))
            self.protected[keys[0]] = src

    def start_listener(self):
        env = dict(os.environ, PYTHONPATH=self.root, TMPDIR=self.tmp)
        self.listener = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), '--role', 'listen', '--netns',
             self.rtr], stdout=subprocess.PIPE, env=env, universal_newlines=True, bufsize=1)
        threading.Thread(target=self.read_listener, daemon=True).start()
        for _attempt in range(100):
            if self.listener_status is not None:
                return
            time.sleep(0.1)
        raise RuntimeError('the listener did not start')

    def read_listener(self):
        for line in self.listener.stdout:
            part = line.split()
            if part[0] == 'D':
                with self.lock:
                    self.destroyed[int(part[1])] = time.monotonic()
            elif part[0] == 'S':
                self.listener_status = part[1:]

    def proc_figures(self, pid):
        with open('/proc/%d/status' % pid, encoding='ascii') as fh:
            rss = int(re.search(r'VmRSS:\s+(\d+)', fh.read()).group(1))
        return rss, len(os.listdir('/proc/%d/fd' % pid))

    def flusher(self):
        from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_client import (
            ConntrackClient)
        from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_flush import flush
        rnd = random.Random(2)
        n = 0
        with ConntrackClient(self.rtr) as client:
            while not self.stop.wait(self.args.flush_every):
                filters = rotation(rnd)
                name, opts, match = filters[n % len(filters)]
                n += 1
                opts = dict(opts)
                params = {'return_entries': 1000000, 'method': opts.pop('method', 'auto')}
                before = cli_list(self.rtr)
                try:
                    res = flush(client, opts, params)
                except Exception as exc:  # pylint: disable=broad-except
                    self.fail('flush %s: %r' % (name, exc))
                    continue
                after = cli_list(self.rtr)
                self.check_flush(name, opts, match, res, before, after)

    def check_flush(self, name, opts, match, res, before, after):
        st = self.stats
        took = {key_of(e) for e in res['entries']}
        with self.lock:
            st['flushes'] += 1
            st['deleted'] += res['deleted']
            st['vanished'] += res['vanished']
            st['methods'][res['method']] = st['methods'].get(res['method'], 0) + 1
        if len(took) != res['matched']:
            self.fail('%s: %d entries returned, matched %d' % (name, len(took), res['matched']))
        if res['deleted'] + res['vanished'] != res['matched']:
            self.fail('%s: deleted %d + vanished %d != matched %d' % (
                name, res['deleted'], res['vanished'], res['matched']))
        not_gone = [k for k in took if k in after]
        gone = {k for k in before if k not in after}
        sure = {k for k, e in before.items() if settled(e)}
        wrong = [k for k in gone & sure if not match(before[k])]
        wrong += [k for k in took & sure if not match(before[k])]
        missed = [k for k in sure if match(before[k]) and k in after]
        with self.lock:
            st['not_gone'] += len(not_gone)
            st['wrong_deletions'] += len(set(wrong))
            st['missed_matches'] += len(missed)
            gone_ids = [k[0] for k in took if k not in after]
            self.pending.append((time.monotonic() + 10, gone_ids))
        for what, keys in (('still listed', not_gone), ('deleted outside the filter', wrong),
                           ('matching, left', missed)):
            if keys:
                self.fail('%s (%s): %d %s, e.g. %s' % (name, json.dumps(opts), len(keys),
                                                       what, sorted(keys)[:3]))
        lost = [k for k in self.protected if k not in after]
        if lost:
            with self.lock:
                st['protected_lost'] += len(lost)
            self.fail('%s: protected connections gone: %s' % (name, lost))

    def entries(self):
        from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_client import (
            ConntrackClient)
        from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_entry import (
            argument_spec, ensure_entry)
        defaults = {k: v.get('default') for k, v in argument_spec().items()}
        i = 0
        with ConntrackClient(self.rtr) as client:
            while not self.stop.wait(1.0):
                host = '192.0.2.%d' % (i % 50 + 1)
                base = dict(defaults, proto='tcp', orig_src=host, orig_dst='203.0.113.50',
                            orig_port_src=40000 + i % 1000, orig_port_dst=443)
                steps = [(dict(base, state='present', timeout=600, mark=7), True),
                         (dict(base, state='present', mark=8), True),
                         (dict(base, state='present', mark=8), False),
                         (dict(base, state='absent'), True)]
                for params, changed in steps:
                    try:
                        res = ensure_entry(client, {}, params)
                    except Exception as exc:  # pylint: disable=broad-except
                        self.fail('entry %s: %r' % (params['state'], exc))
                        break
                    if res.get('changed') != changed:
                        self.fail('entry %s: changed=%s' % (params, res.get('changed')))
                    with self.lock:
                        self.stats['entry_ops'] += 1
                i += 1

    def info(self):
        from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_client import (
            ConntrackClient)
        from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_info import (
            gather_info)
        with ConntrackClient(self.rtr) as client:
            while not self.stop.wait(10.0):
                try:
                    res = gather_info(client, {}, {'gather': ['count'], 'count_by': ['proto'],
                                                   'top': {'key': 'orig.src', 'n': 5}})
                    by_proto = res['counts'].get('proto') or {}
                    if sum(by_proto.values()) != res['count']:
                        self.fail('info: count_by proto %r != count %r'
                                  % (by_proto, res['count']))
                except Exception as exc:  # pylint: disable=broad-except
                    self.fail('info: %r' % exc)
                with self.lock:
                    self.stats['info_calls'] += 1

    def check_events(self, final=False):
        """Each id a flush deleted must have come back as a DESTROY event."""
        now = time.monotonic()
        with self.lock:
            due = [p for p in self.pending if final or p[0] <= now]
            self.pending = [p for p in self.pending if p not in due]
            for _deadline, ids in due:
                missing = [i for i in ids if i not in self.destroyed]
                self.stats['lost_events'] += len(missing)
                if missing:
                    self.failures.append('no DESTROY event for %d deleted entries, e.g. %s'
                                         % (len(missing), missing[:3]))
            # keep the memory of this process bounded: a minute of DESTROY events
            old = [i for i, t in self.destroyed.items() if t < now - 60]
            for i in old:
                del self.destroyed[i]

    # -- the run --------------------------------------------------------------------
    def figures(self, started):
        rss, fds = self.proc_figures(self.listener.pid)
        self.rss_max = max(self.rss_max, rss)
        st = self.listener_status or ['?'] * 5
        try:
            with open(os.path.join(self.work, 'flows'), encoding='ascii') as fh:
                flows = int(fh.read())
        except (OSError, ValueError):
            flows = 0
        table = subprocess.run(['ip', 'netns', 'exec', self.rtr, 'conntrack', '-C'],
                               stdout=subprocess.PIPE, universal_newlines=True,
                               check=False).stdout.strip()
        s = self.stats
        return {
            'minutes': round((time.monotonic() - started) / 60, 1), 'flows': flows,
            'table': int(table or 0), 'flushes': s['flushes'], 'deleted': s['deleted'],
            'vanished': s['vanished'], 'wrong_deletions': s['wrong_deletions'],
            'missed_matches': s['missed_matches'], 'not_gone': s['not_gone'],
            'protected_lost': s['protected_lost'], 'lost_events': s['lost_events'],
            'sk_drops': st[0], 'overruns': st[1], 'events': sum(int(x) for x in st[2:]
                                                                if x.isdigit()),
            'listener_rss_kib': rss,
            'rss_growth_kib': rss - self.rss0 if self.rss0 is not None else 0,
            'listener_fds': fds, 'fds_at_start': self.fds0,
            'entry_ops': s['entry_ops'], 'info_calls': s['info_calls'],
            'errors': s['errors'], 'methods': s['methods'],
            'load': os.getloadavg()[0]}

    def run(self):
        a = self.args
        self.root, self.import_tmp = _import_root()
        sys.path.insert(0, self.root)
        self.work = tempfile.mkdtemp(prefix='soak-')
        self.tmp = os.path.join(self.work, 'tmp')
        os.mkdir(self.tmp)
        os.environ['TMPDIR'] = self.tmp
        tempfile.tempdir = None
        started = time.monotonic()
        threads = []
        fig = {}
        try:
            self.up()
            self.start_listener()   # first: only entries made while it listens send DESTROY
            self.rig_traffic()
            self.start_traffic()
            for fn in (self.flusher, self.entries, self.info):
                t = threading.Thread(target=fn, daemon=True)
                t.start()
                threads.append(t)
            end = started + a.minutes * 60
            warm = started + min(60, a.minutes * 60 / 4)
            next_report = started + a.report_minutes * 60
            while time.monotonic() < end:
                if a.stop_on_failure and self.failures:
                    break
                time.sleep(1)
                self.check_events()
                if self.listener.poll() is not None:
                    self.fail('the listener died (exit %s)' % self.listener.returncode)
                    break
                if self.traffic.poll() is not None:
                    self.fail('the traffic generator died (exit %s)' % self.traffic.returncode)
                    break
                if self.rss0 is None and time.monotonic() >= warm:
                    self.rss0, self.fds0 = self.proc_figures(self.listener.pid)
                if time.monotonic() >= next_report:
                    next_report += a.report_minutes * 60
                    print('soak %s' % json.dumps(self.figures(started)), flush=True)
            self.stop.set()
            for t in threads:
                t.join(60)
            time.sleep(3)
            self.check_events(final=True)
            fig = self.figures(started)
            table = cli_list(self.rtr)
            lost = [k for k in self.protected if k not in table]
            if lost:
                self.fail('protected connections gone at the end: %s' % lost)
            if fig['rss_growth_kib'] >= RSS_LIMIT_KIB:
                self.fail('listener RSS grew by %d KiB' % fig['rss_growth_kib'])
            if self.fds0 is not None and fig['listener_fds'] != self.fds0:
                self.fail('listener fds %d, %d at the start' % (fig['listener_fds'], self.fds0))
            if self.listener_status and (self.listener_status[0] not in ('0', 'None')
                                         or self.listener_status[1] != '0'):
                self.fail('the listener lost events: sk_drops %s, ENOBUFS %s'
                          % tuple(self.listener_status[:2]))
            if self.listener_status and self.listener_status[0] == 'None':
                self.fail('sk_drops unreadable')
        finally:
            self.stop.set()
            self.teardown()
        fig['processes_left'] = self.leftovers()
        fig['tmp_left'] = sorted(os.listdir(self.tmp)) if os.path.isdir(self.tmp) else []
        if fig['processes_left']:
            self.fail('processes left: %s' % fig['processes_left'])
        if fig['tmp_left']:
            self.fail('temporary files left: %s' % fig['tmp_left'])
        shutil.rmtree(self.work, ignore_errors=True)
        if self.import_tmp:
            shutil.rmtree(self.import_tmp, ignore_errors=True)
        fig['rss_max_kib'] = self.rss_max
        fig['failures'] = self.failures
        fig['ok'] = not self.failures
        print('soak summary %s' % json.dumps(fig), flush=True)
        return 0 if fig['ok'] else 1

    def teardown(self):
        for proc in (getattr(self, 'traffic', None), getattr(self, 'listener', None)):
            if proc is not None and proc.poll() is None:
                if proc is self.traffic:
                    open(os.path.join(self.work, 'stop'), 'w', encoding='ascii').close()
                else:
                    proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.down()

    def leftovers(self):
        """Processes still running this script's roles or inside the rig."""
        mine = []
        me = os.path.abspath(__file__)
        for name in os.listdir('/proc'):
            if not name.isdigit() or int(name) == os.getpid():
                continue
            try:
                with open('/proc/%s/cmdline' % name, 'rb') as fh:
                    cmd = fh.read().split(b'\0')
            except OSError:
                continue
            if me.encode() in cmd and b'--role' in cmd:
                mine.append(int(name))
        netns = [n for n in os.listdir('/run/netns') if n.startswith(self.p + '-')] \
            if os.path.isdir('/run/netns') else []
        return mine + netns


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--minutes', type=float, default=60)
    ap.add_argument('--report-minutes', type=float, default=5)
    ap.add_argument('--flush-every', type=float, default=3)
    ap.add_argument('--prefix', default='ncts',
                    help='rig namespace prefix (not nct- or nct_: other test runs remove '
                         'those after 5 minutes)')
    ap.add_argument('--stop-on-failure', action='store_true')
    ap.add_argument('--role', choices=['traffic', 'listen'], help=argparse.SUPPRESS)
    ap.add_argument('--out', help=argparse.SUPPRESS)
    ap.add_argument('--netns', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role == 'traffic':
        return traffic(args.out)
    if args.role == 'listen':
        return listen_role(args.netns)
    print('soak: load %s; %s' % (' '.join('%.2f' % x for x in os.getloadavg()),
                                 time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())), flush=True)
    return Soak(args).run()


if __name__ == '__main__':
    sys.exit(main())
