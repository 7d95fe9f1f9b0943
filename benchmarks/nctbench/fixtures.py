# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The table, the namespace and the measuring helpers of the benchmark: the slices
of the synthetic tables, the collection loaded from this checkout, the Bench (fill,
clients, timed runs of ours and of the CLI) and the facts about the host."""

from __future__ import annotations

import datetime
import gc
import importlib
import importlib.util
import ipaddress
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
import types


# benchmarks/, the directory of bench.py (this package sits in it)
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(HERE)
PREFIX = 'nctb-bench'
MiB = 1024 * 1024

# Slices of the mixed table (documentation/benchmark ranges only).
MIX_EXACT = '198.18.0.1'         # orig src of i % 10 == 5: 10% of the table
MIX_CIDR = '198.19.0.0/24'       # orig src of i % 10 == 7 (250 addresses): 10%
MIX_SMALL = '198.18.0.0/30'      # holds MIX_EXACT only: a small CIDR, 4 kernel requests
MIX_DNAT = '192.0.2.11'          # ctfill.mixed's DNAT backend 1: ~13% of the table
PLAIN_EXACT = '198.51.100.1'     # ctfill.tcp_plain: 10 sources, 10% each
PLAIN_CIDR = '198.51.100.0/31'   # holds only .1 of the 10 sources: 10%
NO_MATCH = '192.0.2.254'         # no entry has it: a filtered dump that returns nothing

SEED_BY_PROTO = "awk '{sum[$3]++} END {for(i in sum) print i, sum[i]}'"
SEED_TOP_SRC = ("awk '{print $7}' | cut -d \"=\" -f 2 | sort | uniq -c | sort -nr "
                "| head -n 10")


# ----------------------------------------------------------------------------- setup
def load_collection(tmp):
    """Import the collection from this checkout through a private ansible_collections tree."""
    coll = os.path.join(tmp, 'collections')
    os.makedirs(os.path.join(coll, 'ansible_collections', 'netfilter'))
    os.symlink(ROOT, os.path.join(coll, 'ansible_collections', 'netfilter', 'conntrack'))
    sys.path.insert(0, coll)
    base = 'ansible_collections.netfilter.conntrack.plugins.module_utils.'
    lib = types.SimpleNamespace(coll=coll)
    for attr, name in (('nl_const', '_codec.constants'), ('ct_client', '_ct_client'),
                       ('ct_filter', '_filter.compile'), ('cost', '_filter.cost'),
                       ('ct_flush', '_ct_flush'),
                       ('ct_info', '_ct_info'), ('aggregate', '_aggregate')):
        setattr(lib, attr, importlib.import_module(base + name))
    # tools/ctfill.py: the table generators (it puts build/ on sys.path for its own use)
    saved = list(sys.path)
    spec = importlib.util.spec_from_file_location('nctb_ctfill',
                                                  os.path.join(ROOT, 'tools', 'ctfill.py'))
    lib.ctfill = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lib.ctfill)
    sys.path[:] = saved
    return lib


class Table:
    """What to fill and which slices the filtered operations select."""

    def __init__(self, lib, kind, n):
        self.lib, self.kind, self.n = lib, kind, n
        self._slices = {}
        if kind == 'mix':
            self.exact, self.cidr, self.dnat = MIX_EXACT, MIX_CIDR, MIX_DNAT
            self.small = MIX_SMALL
        else:
            self.exact, self.cidr, self.dnat = PLAIN_EXACT, PLAIN_CIDR, None
            self.small = None   # PLAIN_CIDR is small already

    def spec(self, i):
        if self.kind == 'plain':
            return self.lib.ctfill.tcp_plain(i)
        spec = self.lib.ctfill.mixed(i)
        orig, reply = spec['orig'], spec['reply']
        if i % 10 in (5, 7):  # tcp/sctp/gre IPv4 entries: re-source two 10% slices
            src = MIX_EXACT if i % 10 == 5 else '198.19.0.%d' % (i // 10 % 250 + 1)
            orig['src'] = reply['dst'] = src
        if reply['src'] != orig['dst']:
            # ctfill's DNAT entries, created through the kernel's NAT setup (CTA_NAT_DST)
            # so that they carry the DST_NAT status bits as real DNATed connections do
            # (the CLI's --dst-nat needs them); the reply tuple comes out the same.
            spec['dst_nat'] = reply['src']
            reply['src'] = orig['dst']
        return spec

    def slice_index(self, filters):
        """Indexes of the specs a delete by ``filters`` (orig_src or dst_nat) removes."""
        key = tuple(sorted(filters.items()))
        if key not in self._slices:
            (name, value), = filters.items()
            if name == 'orig_src':
                net = ipaddress.ip_network(value)

                def pred(spec):
                    return ipaddress.ip_address(spec['orig']['src']) in net
            elif name == 'dst_nat':
                def pred(spec):
                    return spec.get('dst_nat') == value
            else:
                raise ValueError('no slice for %r' % (filters,))
            self._slices[key] = [i for i in range(self.n) if pred(self.spec(i))]
        return self._slices[key]

    def describe(self):
        if self.kind == 'plain':
            return ('ctfill.tcp_plain: IPv4 TCP ESTABLISHED from 10 sources (10%% each); '
                    'slices: orig_src %s, orig_src %s' % (self.exact, self.cidr))
        return ('ctfill.mixed (tcp/udp/icmp/sctp/gre, 10%% IPv6, zones, marks, 1/3 DNATed, '
                'created with CTA_NAT_DST) with two IPv4 10%% slices re-sourced: orig_src '
                '%s (i %% 10 == 5) and %s (i %% 10 == 7); dst_nat slice %s'
                % (self.exact, self.cidr, self.dnat))


class Bench:
    def __init__(self, lib, args, tmp):
        self.lib, self.args, self.tmp = lib, args, tmp
        self.ns = '%s-%d' % (PREFIX, os.getpid())
        self.nspath = '/run/netns/' + self.ns
        self.table = None

    # -- namespace and table ----------------------------------------------------------
    def client(self):
        return self.lib.ct_client.ConntrackClient(self.ns)

    def fill(self):
        """Empty the table and fill it with N entries; returns seconds."""
        t0 = time.perf_counter()
        with self.client() as c:
            c.flush()
            res = c.create_many(self.table.spec(i) for i in range(self.table.n))
            bad = sorted({r for r in res if r})
            count = c.count()
        if bad or count != self.table.n:
            raise RuntimeError('fill: %d entries in the table, %d wanted; errors %s'
                               % (count, self.table.n, bad))
        return time.perf_counter() - t0

    def remaining(self):
        with self.client() as c:
            return c.count()

    def cli(self, args, tail='> /dev/null 2>&1'):
        return 'nsenter --net=%s conntrack %s %s' % (shlex.quote(self.nspath), args, tail)

    # -- timing ---------------------------------------------------------------------
    @staticmethod
    def timed(fn):
        """(seconds, info) of fn() -> (info, keepalive); keepalive is freed after timing."""
        gc.collect()
        t0 = time.perf_counter()
        info, keep = fn()
        dt = time.perf_counter() - t0
        del keep
        return dt, info

    @staticmethod
    def sh(cmd):
        t0 = time.perf_counter()
        proc = subprocess.run(['/bin/sh', '-c', cmd], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, check=False)
        return time.perf_counter() - t0, proc

    def sh_timed(self, cmd):
        dt, proc = self.sh(cmd)
        return dt, {'rc': proc.returncode, 'stdout': proc.stdout}

    # -- measurements ---------------------------------------------------------------
    def compare(self, sides, runs, after=None):
        """Run each side `runs` times, interleaved; {name: [(seconds, info)]}.

        after(name, info) -> extra info runs after each destructive run (check, refill).
        """
        out = {name: [] for name in sides}
        for _run in range(runs):
            for name, fn in sides.items():
                dt, info = fn()
                if after is not None:
                    info = dict(info, **after(name, info))
                out[name].append((dt, info))
        return out

    def restore(self, filters, left):
        """Put back what a delete by ``filters`` removed (the same entries, re-created
        from the same specs), or refill everything; ends with exactly N entries."""
        idx = self.table.slice_index(filters) if filters else None
        if idx is None or left + len(idx) != self.table.n:
            self.fill()
            return
        with self.client() as c:
            bad = [r for r in c.create_many(self.table.spec(i) for i in idx) if r]
        if bad:  # something else than the slice was deleted: start again from scratch
            self.fill()


def med(values):
    return statistics.median(values) if values else None


def row(section, op, ours, ref, ref_label, target=None, target_text='', note=''):
    """A result row: ours/ref are [(seconds, info)] lists."""
    o = [dt for dt, _info in ours]
    r = [dt for dt, _info in ref] if ref else []
    info = ours[-1][1] if ours else {}
    ratio = med(o) / med(r) if r and med(r) else None
    out = {'section': section, 'op': op, 'ours_runs': o, 'ref_runs': r,
           'ours': med(o), 'ref': med(r), 'ratio': ratio, 'ref_label': ref_label,
           'method': info.get('method', ''), 'kernel_filter': info.get('kernel_filter', []),
           'matched': info.get('matched'),
           'ref_matched': ref[-1][1].get('matched') if ref else None,
           'target': target, 'target_text': target_text,
           'met': None if target is None or ratio is None else ratio <= target,
           'note': note}
    bad = [i for _dt, i in (ours + (ref or [])) if i.get('ok') is False]
    if bad:
        out['errors'] = [b.get('error') for b in bad]
    return out


def conntrack_objects():
    """Conntrack entries of all namespaces (the nf_conntrack slab): every dump walks the
    one global hash table, so other namespaces' entries slow every dump down."""
    try:
        with open('/proc/slabinfo', encoding='ascii') as fh:
            for line in fh:
                if line.startswith('nf_conntrack '):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def loadavg():
    return ' '.join('%.2f' % x for x in os.getloadavg())


def ns_list():
    proc = subprocess.run(['ip', 'netns', 'list'], stdout=subprocess.PIPE, text=True,
                          check=False)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


def remove_leftovers():
    """Remove nctb-bench-PID namespaces whose benchmark process is gone."""
    for name in ns_list():
        m = re.match(r'^%s-(\d+)$' % re.escape(PREFIX), name)
        if not m:
            continue
        pid = int(m.group(1))
        try:
            os.kill(pid, 0)
            alive = pid != os.getpid()
        except OSError:
            alive = False
        if not alive:
            subprocess.run(['ip', 'netns', 'del', name], check=False)
            print('removed leftover namespace %s' % name)


def meta(args):
    def out(cmd):
        try:
            return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, check=False, cwd=ROOT).stdout.strip()
        except OSError:
            return ''
    try:
        import pyroute2
        pyr = pyroute2.__version__
    except ImportError:
        pyr = None
    try:
        from ansible.release import __version__ as ans
    except ImportError:
        ans = None
    sysctl = {}
    for name in ('nf_conntrack_max', 'nf_conntrack_buckets'):
        try:
            with open('/proc/sys/net/netfilter/' + name, encoding='ascii') as fh:
                sysctl[name] = int(fh.read())
        except (OSError, ValueError):
            pass
    return {'date': datetime.datetime.now().isoformat(timespec='seconds'),
            'runs': args.runs, 'kernel': platform.release(),
            'host_cpus': '%d CPUs' % os.cpu_count(), 'python': platform.python_version(),
            'pyroute2': pyr, 'ansible_core': ans,
            'cli_version': out(['conntrack', '--version']),
            'commit': out(['git', 'rev-parse', '--short', 'HEAD']),
            'dirty': bool(out(['git', 'status', '--porcelain', '--', 'plugins', 'tools',
                               'benchmarks'])),
            'uptime': out(['uptime']), 'sysctl': sysctl,
            'command': ' '.join(shlex.quote(a) for a in sys.argv)}
