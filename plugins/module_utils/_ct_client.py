# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""The conntrack client: the netlink transport (_netlink) of one network namespace with
the operations on its tables (_ops): the conntrack table, the expectations, the
statistics and limits.  The modules' logic and the tools use it; the event listener
(_ct_events) opens its own socket through _netlink.
"""

from __future__ import annotations

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.decode import Decoder
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.labels import load_label_map
from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink.transport import Transport
from ansible_collections.netfilter.conntrack.plugins.module_utils._ops.conntrack import ConntrackOps
from ansible_collections.netfilter.conntrack.plugins.module_utils._ops.expect import ExpectOps
from ansible_collections.netfilter.conntrack.plugins.module_utils._ops.stats import StatsOps


class ConntrackClient(ConntrackOps, ExpectOps, StatsOps, Transport):
    """Talks ctnetlink in one network namespace.  Use as a context manager."""

    def __init__(self, netns=None, rcvbuf=16 << 20):
        super().__init__(netns, rcvbuf)
        self._buckets = None
        self.label_map = load_label_map()

    def decoder(self):
        return Decoder(self.label_map)
