# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The end-to-end (ansible-playbook), peak-RSS and profile sections of the benchmark."""

from __future__ import annotations

import cProfile
import functools
import gc
import io
import json
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time

from nctbench.fixtures import HERE, MiB, ROOT, med


# --------------------------------------------------------------------- end to end
def e2e_tasks(b):
    t = b.table
    ns = b.ns
    tasks = [
        ('trivial task (ansible.builtin.ping)', 'ansible.builtin.ping', {}, None, None),
        ('conntrack_info gather count', 'netfilter.conntrack.conntrack_info',
         {'netns': ns, 'gather': ['count']}, None, 'count, no filter'),
        ('conntrack_info count_by proto + top orig.src, limit 0',
         'netfilter.conntrack.conntrack_info',
         {'netns': ns, 'count_by': ['proto'], 'top': {'key': 'orig.src', 'n': 10}, 'limit': 0},
         None, 'count_by proto over the dump (conntrack_info count_by)'),
    ]
    if t.n <= b.args.e2e_entries_max:
        tasks.append(('conntrack_info entries (whole table returned)',
                      'netfilter.conntrack.conntrack_info', {'netns': ns, 'gather': ['entries']},
                      None, 'full dump -> entries (ConntrackClient.entries)'))
    tasks += [  # destructive: the deleted slice is put back after each run
        ('conntrack_flush orig_src exact', 'netfilter.conntrack.conntrack_flush',
         {'netns': ns, 'orig_src': t.exact}, {'orig_src': t.exact},
         'delete orig_src exact (conntrack_flush logic)'),
        ('conntrack_flush orig_src CIDR', 'netfilter.conntrack.conntrack_flush',
         {'netns': ns, 'orig_src': t.cidr}, {'orig_src': t.cidr},
         'delete orig_src CIDR (conntrack_flush logic)'),
    ]
    return tasks


def sec_e2e(b, rows_so_far):
    runs = b.args.runs
    pb_bin = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not os.path.exists(pb_bin):
        pb_bin = shutil.which('ansible-playbook')
    if not pb_bin:
        return [{'op': 'end to end', 'error': 'ansible-playbook not found'}]
    work = os.path.join(b.tmp, 'e2e')
    os.makedirs(work, exist_ok=True)
    inv = os.path.join(work, 'inventory.ini')
    with open(inv, 'w', encoding='utf-8') as fh:
        fh.write('localhost ansible_connection=local ansible_python_interpreter=%s\n'
                 % sys.executable)
    env = dict(os.environ)
    for key in list(env):
        if key.startswith('ANSIBLE_'):
            del env[key]
    timer_out = os.path.join(work, 'timer.json')
    env.update(ANSIBLE_COLLECTIONS_PATH=b.lib.coll,
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, 'callback_plugins'),
               ANSIBLE_CALLBACKS_ENABLED='bench_timer', NCTB_TIMER_OUT=timer_out,
               ANSIBLE_LOCALHOST_WARNING='False', ANSIBLE_INVENTORY_UNPARSED_WARNING='False',
               ANSIBLE_RETRY_FILES_ENABLED='False', ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCAL_TEMP=os.path.join(work, 'tmp'),
               ANSIBLE_REMOTE_TEMP=os.path.join(work, 'rtmp'))
    env.pop('PYTHONPATH', None)
    ref = {r['op']: r for r in rows_so_far}
    out = []
    for name, module, margs, deletes, ref_op in e2e_tasks(b):
        play = os.path.join(work, 'play.yml')
        with open(play, 'w', encoding='utf-8') as fh:
            fh.write('- hosts: localhost\n  gather_facts: false\n  tasks:\n'
                     '    - name: %s\n      %s: %s\n'
                     % (json.dumps(name), module, json.dumps(margs)))
        runs_out = []
        for _run in range(runs):
            if os.path.exists(timer_out):
                os.unlink(timer_out)
            t0 = time.perf_counter()
            proc = subprocess.run([pb_bin, '-i', inv, play], cwd=work, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  check=False)
            wall = time.perf_counter() - t0
            if deletes:
                b.restore(deletes, b.remaining())
            try:
                with open(timer_out, encoding='utf-8') as fh:
                    task = json.load(fh)[0]
            except (OSError, ValueError, IndexError):
                task = {'status': 'no timing', 'seconds': None, 'result': {}}
            rec = {'wall': wall, 'task': task['seconds'], 'status': task['status'],
                   'rc': proc.returncode, 'result': task.get('result', {}),
                   'entries_returned': task.get('entries_returned')}
            if proc.returncode or task['status'] != 'ok':
                rec['output'] = proc.stdout[-2000:]
            runs_out.append(rec)
        ok = [r for r in runs_out if r['status'] == 'ok' and r['task'] is not None]
        rec = {'op': name, 'module': module, 'args': margs,
               'task': med([r['task'] for r in ok]), 'wall': med([r['wall'] for r in ok]),
               'task_runs': [r['task'] for r in runs_out], 'wall_runs': [r['wall'] for r in runs_out],
               'result': runs_out[-1]['result'],
               'entries_returned': runs_out[-1]['entries_returned'],
               'client_time': ref[ref_op]['ours'] if ref_op in ref else None}
        if len(ok) != len(runs_out):
            rec['errors'] = [r.get('output') for r in runs_out if r not in ok]
        out.append(rec)
    base = out[0]
    for rec in out[1:]:
        if rec['task'] is not None and base['task'] is not None:
            rec['over_trivial'] = rec['task'] - base['task']
    return out


# ------------------------------------------------------------------------------ RSS
# Starts the module from a small process: a child's ru_maxrss counts the memory of the
# process it was forked from (the kernel takes the old mm's high-water mark at exec), and
# this benchmark's own process holds whole tables.
_RSS_WRAPPER = '''
import os, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:])
_pid, status, usage = os.wait4(proc.pid, 0)
sys.stderr.write('\\nNCTB rss_kib=%d rc=%d wall=%.6f\\n' % (
    usage.ru_maxrss, os.waitstatus_to_exitcode(status), time.perf_counter() - t0))
'''


def module_rss(b, module, margs):
    """(peak RSS bytes, seconds, ok, output bytes, error) of the module run as its own
    process (started by a small wrapper process)."""
    path = os.path.join(ROOT, 'plugins', 'modules', module + '.py')
    env = dict(os.environ, PYTHONPATH=b.lib.coll)
    out_path = os.path.join(b.tmp, 'module.out')
    with open(out_path, 'wb') as out, tempfile.TemporaryFile() as err:
        subprocess.run([sys.executable, '-c', _RSS_WRAPPER, sys.executable, path,
                        json.dumps({'ANSIBLE_MODULE_ARGS': margs})],
                       stdout=out, stderr=err, env=env, check=False)
        err.seek(0)
        errtext = err.read().decode('utf-8', 'replace')
    m = re.search(r'NCTB rss_kib=(\d+) rc=(-?\d+) wall=([0-9.]+)', errtext)
    if not m:
        return 0, None, False, 0, 'no measurement: %s' % errtext[-500:]
    rss, returncode, wall = int(m.group(1)) * 1024, int(m.group(2)), float(m.group(3))
    errtext = errtext[:m.start()][-1000:]
    size = os.path.getsize(out_path)
    with open(out_path, 'rb') as fh:
        if size < 4 * MiB:
            try:
                res = json.loads(fh.read())
            except ValueError:
                res = {'failed': True, 'msg': 'output is not JSON'}
        else:  # a whole table: too big to parse here; the module writes failures short
            res = {'failed': not fh.read(4096).lstrip().startswith(b'{"changed"')}
    os.unlink(out_path)
    ok = returncode == 0 and not res.get('failed')
    return (rss, wall, ok, size,
            '' if ok else 'rc %s: %s %s' % (returncode, res.get('msg', ''), errtext))


def sec_rss(b):
    ns, t = b.ns, b.table
    cases = [
        ('baseline: conntrack_info gather stats', {'gather': ['stats']}, None),
        ('count, no filter', {'gather': ['count']}, 80),
        ('count orig_src CIDR (residual filter)', {'gather': ['count'], 'orig_src': t.cidr}, 80),
        ('count_by proto + top orig.src, limit 0',
         {'count_by': ['proto'], 'top': {'key': 'orig.src', 'n': 10}, 'limit': 0}, None),
        ('full dump returned (gather entries)', {'gather': ['entries']}, None),
    ]
    out = []
    for name, margs, target in cases:
        runs = [module_rss(b, 'conntrack_info', dict(margs, netns=ns))
                for _run in range(b.args.runs)]
        rss = med([r[0] for r in runs])
        out.append({'op': name, 'args': margs, 'peak_rss_mib': rss / MiB,
                    'wall': med([r[1] for r in runs]), 'output_bytes': runs[-1][3],
                    'ok': all(r[2] for r in runs), 'error': runs[-1][4],
                    'target_mib': target,
                    'met': None if target is None else rss / MiB < target})
    return out


# -------------------------------------------------------------------------- profile
def profiles(b):
    """{title: cProfile top functions} of the full decode and of a CIDR delete."""
    out = {}
    with b.client() as c:
        out['ConntrackClient.entries() (full dump into entries)'] = _profile(b, c.entries)
    cidr = {'orig_src': b.table.cidr}
    with b.client() as c:
        out['conntrack_flush logic, orig_src %s (dump_delete)' % b.table.cidr] = _profile(
            b, functools.partial(b.lib.ct_flush.flush, c, dict(cidr), {}))
    b.restore(cidr, b.remaining())
    return out


def _profile(b, fn):
    prof = cProfile.Profile()
    gc.collect()
    prof.enable()
    res = fn()
    prof.disable()
    del res
    text = io.StringIO()
    stats = pstats.Stats(prof, stream=text)
    stats.sort_stats('tottime').print_stats(14)
    lines = text.getvalue().splitlines()
    keep = [ln for ln in lines if ln.strip() and not ln.startswith('   Ordered by')]
    return '\n'.join(ln.replace(ROOT + '/', '').replace(b.lib.coll + '/', '')
                     for ln in keep)
