# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Events as a stream: what conntrack_events' listen() and the Event-Driven Ansible source
share.

- EventClassifier turns one event message into (type, entry) when it is of a wanted type
  and matches the filter;
- EventStream owns the listener of a namespace that may come and go: it opens the
  socket with the kernel filter, reads what is queued, turns the kernel's drop counter
  into LOST counts, and tells when the namespace it listens in is gone or back.
"""

from __future__ import annotations

import os

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink.sockets import netns_path
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.decode import Decoder
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.expect import decode_expect, expect_view
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.bpf import event_program


def event_type(mtype, mflags):
    """'NEW', 'UPDATE', 'DESTROY' (or None) for a ctnetlink event message header."""
    subsys, msg = mtype >> 8, mtype & 0xFF
    if subsys == C.NFNL_SUBSYS_CTNETLINK:
        if msg == C.IPCTNL_MSG_CT_NEW:
            return 'NEW' if mflags & C.NLM_F_CREATE else 'UPDATE'
        if msg == C.IPCTNL_MSG_CT_DELETE:
            return 'DESTROY'
    elif subsys == C.NFNL_SUBSYS_CTNETLINK_EXP:
        if msg == C.IPCTNL_MSG_EXP_NEW:
            return 'NEW' if mflags & C.NLM_F_CREATE else 'UPDATE'
        if msg == C.IPCTNL_MSG_EXP_DELETE:
            return 'DESTROY'
    return None


def kernel_program(cfilter, table):
    """The socket filter deciding what it can of ``cfilter`` in the kernel (conntrack
    events only: expectation events carry no zone, see resolve_zone), or None."""
    if cfilter is None or table != 'conntrack':
        return None
    return event_program(cfilter)


class EventClassifier:
    """(type, entry) of an event message of a wanted type that matches ``cfilter``, else
    None; ``seen`` counts the events of the wanted types, before the filter.

    resolve_zone(expectation) fills in an expectation's zone (events do not carry it)
    before the filter sees it."""

    def __init__(self, types, table, cfilter=None, label_map=None, resolve_zone=None):
        self.wanted = frozenset(types)
        self.expect = table == 'expect'
        self.cfilter = cfilter
        self.resolve_zone = resolve_zone
        self.dec = Decoder(label_map)
        self.seen = 0

    def __call__(self, buf, off, mlen, mtype, mflags):
        kind = event_type(mtype, mflags)
        if kind is None or kind not in self.wanted:
            return None
        self.seen += 1
        fam = buf[off + 16]
        dec, cfilter = self.dec, self.cfilter
        if self.expect:
            entry = decode_expect(dec, buf, off + 20, off + mlen, fam)
            if self.resolve_zone is not None:
                self.resolve_zone(entry)
            if cfilter is not None and not cfilter.matches(expect_view(entry)):
                return None
            return kind, entry
        vals = dec.values(buf, off + 20, off + mlen)
        if cfilter is not None and not cfilter.matches_values(vals, fam):
            return None
        return kind, dec.entry(vals, fam)


def netns_identity(netns):
    """(st_dev, st_ino) of the namespace ``netns`` names now, or None when it is gone."""
    if netns is None:
        return None
    try:
        st = os.stat(netns_path(netns))
    except OSError:
        return None
    return st.st_dev, st.st_ino
