# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""The logic of the Event-Driven Ansible source netfilter.conntrack.conntrack_events
(extensions/eda/plugins/event_source/), without asyncio: arguments, and an EventStream
that listens in a namespace which may disappear and come back.

The source's arguments are conntrack_events' options but duration and max_events; its
events are ``{type: NEW|UPDATE|DESTROY, entry}``, ``{type: LOST, lost: N}`` (N events the
kernel dropped for a full buffer since the last LOST), ``{type: NETNS_GONE, netns}`` and
``{type: NETNS_BACK, netns}``.

A socket keeps its namespace alive: after `ip netns delete` it still works, in a
namespace where nothing happens any more.  So the namespace is watched by its identity
(the device and inode of its nsfs file): when the name is gone or names another
namespace, the stream closes and reopens in whatever the name names when it is back.
"""

from __future__ import annotations

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_client import ConntrackClient
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_event_stream import (
    EventClassifier, kernel_program, netns_identity)
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_events import (
    DEFAULT_BUFFER, EventListener, _validate)
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import compile_filter
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.options import ALIASES, FILTER_KEYS
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.labels import load_label_map

OPTIONS = ('netns', 'table', 'event_mask', 'buffer_size')


def parse_args(args):
    """(filters, options) from the source's arguments; ConntrackError names a bad one."""
    filters, options = {}, {}
    for key, value in (args or {}).items():
        if key in OPTIONS:
            options[key] = value
        elif key in FILTER_KEYS or key in ALIASES:
            filters[key] = value
        elif key in ('duration', 'max_events'):
            raise ConntrackError('%s: not an argument of the event source: it listens until '
                                 'the rulebook ends' % key, option=key)
        else:
            raise ConntrackError('unknown argument %r; known: %s'
                                 % (key, ', '.join(OPTIONS + FILTER_KEYS)), option=key)
    options.setdefault('table', 'conntrack')
    options.setdefault('buffer_size', DEFAULT_BUFFER)
    check = dict(options, duration=1)
    _validate(check)
    return filters, options


class EventStream:
    """The events of one namespace (None: this process's), read without blocking."""

    def __init__(self, args):
        filters, options = parse_args(args)
        self.netns = options.get('netns')
        self.table = options['table']
        self.event_mask = options.get('event_mask')
        self.buffer_size = options['buffer_size']
        self.label_map = load_label_map()
        self.cfilter = compile_filter(filters, self.label_map) if filters else None
        self.program = kernel_program(self.cfilter, self.table)
        self.listener = None
        self.client = None
        self.identity = None
        self._overruns = 0
        self._drops = 0

    @property
    def kernel_filter(self):
        return self.program.applied if self.program is not None else []

    def open(self):
        """Listen (again); False when the namespace is not there (nothing opened)."""
        self.close()
        ident = netns_identity(self.netns)
        if self.netns is not None and ident is None:
            return False
        try:
            self.listener = EventListener(self.netns, self.table, self.event_mask,
                                          self.buffer_size, self.program)
            if self.table == 'expect':
                self.client = ConntrackClient(self.netns)
        except ConntrackError:
            self.close()
            if self.netns is not None and netns_identity(self.netns) != ident:
                return False   # gone (or replaced) while we entered it: look again later
            raise
        self.identity = ident
        self._overruns = self._drops = 0
        resolve = self._resolve_zone if self.client is not None else None
        self.classify = EventClassifier(self.listener.types, self.table, self.cfilter,
                                        self.label_map, resolve)
        self.listener.sock.setblocking(False)
        return True

    def _resolve_zone(self, exp):
        self.client.expect_zones([exp])

    def fileno(self):
        return self.listener.sock.fileno()

    def read(self):
        """The events queued now (and a LOST event when the kernel dropped some)."""
        out = []
        for msg in self.listener.messages(0, drain=True):
            got = self.classify(*msg)
            if got is not None:
                out.append({'type': got[0], 'entry': got[1]})
        if self.listener.overruns != self._overruns:
            new_overruns = self.listener.overruns - self._overruns
            self._overruns = self.listener.overruns
            drops = self.listener.drops()
            if drops is None:
                lost = new_overruns   # at least one event per overrun
            else:
                lost, self._drops = drops - self._drops, drops
            if lost > 0:
                out.append({'type': 'LOST', 'lost': lost})
        return out

    def gone(self):
        """Whether the namespace listened in is no longer the one its name names."""
        return self.netns is not None and netns_identity(self.netns) != self.identity

    def close(self):
        for owner in (self.listener, self.client):
            if owner is not None:
                owner.close()
        self.listener = self.client = None
