# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Event-Driven Ansible source (extensions/eda/plugins/event_source/conntrack_events.py)
driven through main() with an asyncio queue, over a scripted stream; and the stream's
own logic (arguments, LOST accounting) over a scripted listener."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils import _ct_event_source as S
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

SOURCE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'extensions', 'eda',
                      'plugins', 'event_source', 'conntrack_events.py')


def load_source():
    spec = importlib.util.spec_from_file_location('nct_eda_conntrack_events', SOURCE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.POLL = 0.01
    return mod


class Script:
    """A stand-in for EventStream: ``plan`` is a list of steps, each 'absent' (open()
    fails: no namespace), or a list of reads (each a list of events) after which the
    namespace is gone."""

    def __init__(self, plan):
        self.plan = list(plan)
        self.netns = 'ns1'
        self.opens = 0
        self.closes = 0
        self.reads = []
        self.a, self.b = socket.socketpair()
        self.is_open = False

    def open(self):
        self.opens += 1
        step = self.plan.pop(0) if self.plan else []
        if step == 'absent':
            return False
        self.reads = list(step)
        self.is_open = True
        self.b.send(b'x')   # wake the reader
        return True

    def fileno(self):
        return self.a.fileno()

    def read(self):
        try:
            self.a.recv(100)
        except BlockingIOError:
            pass
        out = self.reads.pop(0) if self.reads else []
        if self.reads:
            self.b.send(b'x')
        return out

    def gone(self):
        return not self.reads and self.plan != [] and self.plan[0] != 'stay'

    def close(self):
        if self.is_open:
            self.closes += 1
        self.is_open = False


def drive(mod, script, want, monkeypatch):
    """Run main() until ``want`` events are on the queue; cancel it; the events."""
    script.a.setblocking(False)
    monkeypatch.setattr(mod, 'EventStream', lambda args: script)

    async def run():
        queue = asyncio.Queue()
        task = asyncio.ensure_future(mod.main(queue, {'netns': 'ns1'}))
        got = []
        while len(got) < want:
            got.append(await asyncio.wait_for(queue.get(), 5))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert queue.empty()
        return got
    return asyncio.run(run())


NEW = {'type': 'NEW', 'entry': {'id': 1}}
DESTROY = {'type': 'DESTROY', 'entry': {'id': 1}}
LOST = {'type': 'LOST', 'lost': 7}


def test_events_in_order_then_cancelled_and_closed(monkeypatch):
    mod = load_source()
    script = Script([[[NEW], [LOST, DESTROY]], 'stay'])
    script.plan.append('stay')
    got = drive(mod, script, 3, monkeypatch)
    assert got == [NEW, LOST, DESTROY]
    assert script.closes == 1 and not script.is_open


def test_a_namespace_that_goes_is_waited_for_and_reentered(monkeypatch):
    mod = load_source()
    script = Script([[[NEW]], 'absent', 'absent', [[DESTROY]], 'stay'])
    got = drive(mod, script, 4, monkeypatch)
    assert got == [NEW, {'type': 'NETNS_GONE', 'netns': 'ns1'},
                   {'type': 'NETNS_BACK', 'netns': 'ns1'}, DESTROY]
    assert script.opens == 4


def test_a_namespace_missing_at_the_start(monkeypatch):
    mod = load_source()
    script = Script(['absent', [[NEW]], 'stay'])
    got = drive(mod, script, 3, monkeypatch)
    assert got == [{'type': 'NETNS_GONE', 'netns': 'ns1'},
                   {'type': 'NETNS_BACK', 'netns': 'ns1'}, NEW]


def test_replaced_between_two_looks_is_gone_and_back(monkeypatch):
    # gone() true while open() succeeds again at once: GONE then BACK, nothing lost
    mod = load_source()
    script = Script([[[NEW]], [[DESTROY]], 'stay'])
    got = drive(mod, script, 4, monkeypatch)
    assert got == [NEW, {'type': 'NETNS_GONE', 'netns': 'ns1'},
                   {'type': 'NETNS_BACK', 'netns': 'ns1'}, DESTROY]


def test_the_source_puts_its_collections_root_on_sys_path():
    mod = load_source()
    root = mod._collections_root()
    if root is not None:   # run from an ansible_collections/ tree (ansible-test's copy)
        assert os.path.isdir(os.path.join(root, 'ansible_collections', 'netfilter', 'conntrack'))
    assert mod.DOCUMENTATION and mod.EXAMPLES


@pytest.mark.parametrize('args, option', [
    ({'duration': 5}, 'duration'), ({'max_events': 1}, 'max_events'), ({'bogus': 1}, 'bogus'),
    ({'table': 'dying'}, 'table'), ({'event_mask': ['NEW', 'GONE']}, 'event_mask'),
    ({'buffer_size': 10}, 'buffer_size'),
])
def test_bad_arguments_name_the_argument(args, option):
    with pytest.raises(ConntrackError) as exc:
        S.parse_args(args)
    assert exc.value.option == option
    assert option in str(exc.value.msg)


def test_arguments_split_into_filters_and_options():
    filters, options = S.parse_args({'netns': 'x', 'proto': 'udp', 'sport': 53,
                                     'event_mask': ['DESTROY']})
    assert filters == {'proto': 'udp', 'sport': 53}
    assert options == {'netns': 'x', 'event_mask': ['DESTROY'], 'table': 'conntrack',
                       'buffer_size': 8 << 20}


class FakeListener:
    def __init__(self, steps):
        self.steps = steps   # [(messages, overruns, drops)]
        self.overruns = 0
        self._drops = None

    def messages(self, _deadline, drain=False):
        assert drain
        msgs, self.overruns, self._drops = self.steps.pop(0)
        return iter(msgs)

    def drops(self):
        return self._drops


def test_lost_counts_the_kernel_drops_since_the_last_lost():
    stream = S.EventStream({'proto': 'udp'})
    assert stream.kernel_filter == ['orig_tuple']
    stream.listener = FakeListener([([], 0, 0), ([], 1, 40), ([], 1, 40), ([], 3, 45),
                                    ([], 4, None)])
    stream.classify = lambda *msg: None
    assert stream.read() == []
    assert stream.read() == [{'type': 'LOST', 'lost': 40}]
    assert stream.read() == []               # no new overrun: nothing more was lost
    assert stream.read() == [{'type': 'LOST', 'lost': 5}]
    assert stream.read() == [{'type': 'LOST', 'lost': 1}]   # no counter: one per overrun
    stream.listener = None
