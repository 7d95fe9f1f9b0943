#!/usr/bin/env python
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The child receiver of large dumps (_ct_receiver), on the real kernel.

  child_receiver.py --netns NS     (PYTHONPATH: the directory holding ansible_collections)

On a filled namespace: the same dumps received in this process only (fork_after None)
and through a child process (fork_after 1) give the same entries; a consumer that fails
in the middle of a forked dump gets its own error, leaves no child behind, and the client
works on; a child killed in the middle of a dump is an error, not a short answer; where
fork fails, the dump is received in this process.
Prints JSON.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_client import ConntrackClient
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import (
    compile_filter)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError


class Stop(Exception):
    pass


def children():
    out = []
    for task in os.listdir('/proc/self/task'):
        with open('/proc/self/task/%s/children' % task) as f:
            out += [int(p) for p in f.read().split()]
    return out


def keys(client, params=None):
    sink = client.entries(compile_filter(params or {}))
    return sorted((e['id'], e['family'], e['proto'], json.dumps(e['orig'], sort_keys=True))
                  for e in sink.entries)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--netns', required=True)
    args = ap.parse_args()
    out = {}
    with ConntrackClient(args.netns) as plain, ConntrackClient(args.netns) as forked:
        plain.fork_after = None
        forked.fork_after = 1
        for name, params in (('all', {}), ('cidr', {'orig_src': '198.51.100.0/24'}),
                             ('tcp_est', {'proto': 'tcp', 'proto_state': 'ESTABLISHED'})):
            a, b = keys(plain, params), keys(forked, params)
            out[name] = {'plain': len(a), 'forked': len(b), 'same': a == b,
                         'count_plain': plain.count(compile_filter(params)),
                         'count_forked': forked.count(compile_filter(params))}
        out['forked_dumps'] = forked.forked_dumps
        out['plain_forked_dumps'] = plain.forked_dumps

        # a consumer error in the forked phase
        seen = [0]

        def failing(*_a):
            seen[0] += 1
            if seen[0] == 2000:
                raise Stop()
        try:
            forked.walk(None, on_values=lambda *_a: failing())
            out['consumer_error'] = 'none raised'
        except Stop:
            out['consumer_error'] = 'raised'
        out['children_after_consumer_error'] = children()
        out['count_after_consumer_error'] = forked.count()

        # the child killed in the middle of a dump
        killed = []

        def kill_child(*_a):
            if not killed:
                for pid in children():
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
        try:
            forked.walk(None, on_values=lambda *_a: kill_child())
            out['killed_child'] = 'no error'
        except ConntrackError as exc:
            out['killed_child'] = str(exc)
        out['killed'] = len(killed)
        out['children_after_kill'] = children()
        out['count_after_kill'] = forked.count()

    # no fork possible (process limits, seccomp): the dump goes on in this process
    real_fork = os.fork

    def no_fork():
        raise OSError(errno.EAGAIN, 'fork refused by the test')
    with ConntrackClient(args.netns) as client:   # (pyroute2 forks to enter the netns)
        client.fork_after = 1
        os.fork = no_fork
        try:
            out['count_without_fork'] = client.count()
            out['fork_after_without_fork'] = client.fork_after
        finally:
            os.fork = real_fork
    print(json.dumps(out, sort_keys=True))


if __name__ == '__main__':
    main()
