# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""dump_many's bookkeeping when a consumer stops a dump (StopDump) and when the kernel
marked a dump interrupted: pure control flow over scripted _dump outcomes (no socket)."""

from __future__ import annotations

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_client import ConntrackClient
from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink.transport import (
    StopDump)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError


class ScriptedClient(ConntrackClient):
    """_dump answers from a script, one item per request: 'ok', 'intr' (the kernel marked
    it interrupted), 'stop' (the consumer stopped it) or 'stop-intr' (stopped after the
    kernel had marked it interrupted)."""

    def __init__(self, script):   # no socket: only dump_many's logic runs
        self.script = list(script)
        self.calls = 0

    def _dump(self, subsys, msg, family, payload, on_msg, what):
        self.calls += 1
        step = self.script.pop(0)
        if step.startswith('stop'):
            stop = StopDump()
            stop.interrupted = step == 'stop-intr'
            raise stop
        return step == 'intr'


def run(script, requests=1):
    client = ScriptedClient(script)
    resets = []
    client.dump_many(0, 0, [(2, b'')] * requests, None, lambda: resets.append(1))
    return client, len(resets)


@pytest.mark.parametrize('script, requests, calls, resets', [
    (['ok'], 1, 1, 0),
    (['stop'], 1, 1, 0),                      # stopped: done, nothing run again
    (['stop'], 2, 1, 0),                      # the later requests are not sent
    (['intr', 'ok'], 1, 2, 1),                # interrupted: reset, run again
    (['stop-intr', 'ok'], 1, 2, 1),           # stopped in an interrupted dump: again
    (['intr', 'stop', 'ok', 'ok'], 2, 4, 1),  # an earlier request was interrupted: again
    (['ok', 'stop'], 2, 2, 0),
])
def test_stop_and_interrupt(script, requests, calls, resets):
    client, n_resets = run(script, requests)
    assert (client.calls, n_resets) == (calls, resets)
    assert client.script == []


def test_interrupted_every_time_is_an_error():
    with pytest.raises(ConntrackError, match='interrupted the dump 5 times'):
        run(['stop-intr'] * 5)
