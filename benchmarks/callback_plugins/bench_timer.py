# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Used by benchmarks/bench.py only; not part of the collection's plugins.
"""Aggregate callback: the duration of every task, written as JSON for the benchmark."""

from __future__ import annotations

DOCUMENTATION = r'''
name: bench_timer
type: aggregate
short_description: Write each task's duration to a JSON file (benchmarks/bench.py)
description:
  - Measures from the start of each task to its result (module start, transfer, run,
    result serialisation and processing) and writes one JSON list to the file named by the
    E(NCTB_TIMER_OUT) environment variable when the playbook ends.
  - Used only by the netfilter.conntrack benchmark; enable it with
    E(ANSIBLE_CALLBACK_PLUGINS) pointing at this directory and
    E(ANSIBLE_CALLBACKS_ENABLED=bench_timer).
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase

# result keys the benchmark reads back (small values only)
_KEEP = ('count', 'matched', 'deleted', 'vanished', 'method', 'kernel_filter', 'msg',
         'counts')


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._start = {}
        self._rows = []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start[task._uuid] = (task.get_name(), time.perf_counter())

    def _done(self, result, status):
        name, start = self._start.get(result._task._uuid, (result._task.get_name(), None))
        res = result._result
        self._rows.append({
            'task': name, 'status': status,
            'seconds': None if start is None else time.perf_counter() - start,
            'result': {k: res[k] for k in _KEEP if k in res},
            'entries_returned': len(res.get('entries') or ()),
        })
        if isinstance(res.get('stdout'), str):   # shell tasks (benchmarks/e2e.py)
            self._rows[-1].update(stdout_head=res['stdout'][:200],
                                  stdout_lines=res['stdout'].count('\n') + 1)

    def v2_runner_on_ok(self, result):
        self._done(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._done(result, 'failed')

    def v2_runner_on_unreachable(self, result):
        self._done(result, 'unreachable')

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get('NCTB_TIMER_OUT')
        if path:
            with open(path, 'w', encoding='utf-8') as fh:
                json.dump(self._rows, fh)
