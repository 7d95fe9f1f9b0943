# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A module's output pipe without reader (a timed-out task), and the listener that stops."""

from __future__ import annotations

import itertools
import os
import socket

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_events import (
    EventListener, listen)
from ansible_collections.netfilter.conntrack.plugins.module_utils._orphan import controller_gone


def test_a_pipe_is_gone_once_its_reader_closed():
    rfd, wfd = os.pipe()
    try:
        assert controller_gone(wfd) is False
        os.close(rfd)
        rfd = None
        assert controller_gone(wfd) is True
    finally:
        os.close(wfd)
        if rfd is not None:
            os.close(rfd)


def test_files_and_bad_descriptors_are_never_gone(tmp_path):
    with open(tmp_path / 'out', 'w', encoding='ascii') as fh:
        assert controller_gone(fh.fileno()) is False
    rfd, wfd = os.pipe()
    os.close(rfd)
    os.close(wfd)
    assert controller_gone(wfd) is False   # closed: not a pipe of ours any more


def _listener(gone):
    """An EventListener on an idle socket pair (no netlink, no events)."""
    lst = EventListener.__new__(EventListener)
    lst.sock, peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    lst.netns, lst.table, lst.types = None, 'conntrack', ['NEW', 'UPDATE', 'DESTROY']
    lst.overruns, lst.orphaned, lst.buffer_size, lst.gone = 0, False, 4096, gone
    lst._buf = bytearray(1 << 16)
    lst.unsubscribe = lambda: None
    lst.drops = lambda: 0
    return lst, peer


def test_the_listener_stops_when_nobody_waits_any_more():
    ticks = itertools.count(0, 0.6)   # every clock() call: 0.6 s later
    calls = []
    lst, peer = _listener(lambda: calls.append(1) or len(calls) >= 2)
    try:
        res = listen(lst, 3600, clock=lambda: next(ticks))
    finally:
        lst.sock.close()
        peer.close()
    assert res['stopped_by'] == 'controller_gone' and lst.orphaned
    assert len(calls) == 2 and res['elapsed'] < 10


def test_the_listener_listens_its_duration_while_awaited():
    ticks = itertools.count(0, 0.6)
    lst, peer = _listener(lambda: False)
    try:
        res = listen(lst, 5, clock=lambda: next(ticks))
    finally:
        lst.sock.close()
        peer.close()
    assert res['stopped_by'] == 'duration' and not lst.orphaned
