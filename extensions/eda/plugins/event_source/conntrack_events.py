# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An ansible-rulebook event source: the kernel's conntrack events."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

DOCUMENTATION = r"""
---
short_description: Receive connection-tracking events from the kernel.
description:
  - An ansible-rulebook event source plugin that listens to the Linux kernel's conntrack
    events (what C(conntrack -E) prints) over netlink, in this host's network namespace
    or another one, and puts one event on the queue per conntrack event.
  - The filters are the netfilter.conntrack.conntrack_events module's; what a classic
    BPF socket filter can decide (family, protocols, addresses and networks, ports,
    status, excludes made of these) is decided in the kernel, so that a narrow filter on
    a busy host does not lose events to a full buffer.
  - Events are V({type, entry}), C(type) one of V(NEW), V(UPDATE), V(DESTROY), C(entry)
    the connection as netfilter.conntrack.conntrack_info returns it. V({type: LOST, lost})
    says that the kernel dropped C(lost) events since the last such event (the receive
    buffer was full). V({type: NETNS_GONE, netns}) and V({type: NETNS_BACK, netns}) say
    that the namespace disappeared (it is waited for) and is listened to again.
  - Runs until the rulebook ends; then it closes its socket. Needs root (CAP_NET_ADMIN)
    and, for O(netns), the pyroute2 Python library.
options:
  netns:
    description:
      - The network namespace to listen in, a name under C(/run/netns) or a path such as
        C(/proc/PID/ns/net). Default this host's namespace.
    type: str
  table:
    description:
      - V(conntrack) (connections) or V(expect) (expectations).
    type: str
    default: conntrack
  event_mask:
    description:
      - The event types to receive, a list of V(NEW), V(UPDATE), V(DESTROY).
    type: list
    elements: str
    default: [NEW, UPDATE, DESTROY]
  buffer_size:
    description:
      - The receive buffer in bytes (the kernel doubles it).
    type: int
    default: 8388608
  family:
    description: V(ipv4), V(ipv6) or V(any).
    type: str
  proto:
    description: A protocol name or number, or a list of them.
    type: raw
  orig_src:
    description:
      - Original source address or CIDR network (a list: any of them). Likewise
        C(orig_dst), C(reply_src), C(reply_dst), C(src_nat), C(dst_nat), C(any_nat).
    type: raw
  orig_port_src:
    description:
      - Original source port (alias C(sport); a list: any of them). Likewise
        C(orig_port_dst) (alias C(dport)), C(reply_port_src), C(reply_port_dst).
    type: raw
  exclude:
    description:
      - A list of filter sets; an event whose entry matches any of them is left out.
      - Every other filter of the netfilter.conntrack.conntrack_events module
        (C(icmp_type), C(icmp_code), C(icmp_id), C(proto_state), C(ctstate), C(status),
        C(mark), C(zone), C(orig_zone), C(reply_zone), C(labels), C(nat), C(helper)) is
        an argument too, with the same meaning.
    type: list
    elements: dict
notes:
  - The arguments C(duration) and C(max_events) of the module do not exist here.
"""

EXAMPLES = r"""
- name: Connections to the VIP destroyed
  netfilter.conntrack.conntrack_events:
    netns: lb
    event_mask: [DESTROY]
    proto: tcp
    orig_dst: 192.0.2.10
    dport: 443

- name: Every new UDP flow from a network, with a small buffer
  netfilter.conntrack.conntrack_events:
    event_mask: [NEW]
    proto: udp
    orig_src: 203.0.113.0/28
    buffer_size: 65536
"""


def _collections_root() -> str | None:
    """The directory holding ansible_collections/ (a source plugin is loaded from its
    file: the collection is not importable until this is on sys.path)."""
    here = os.path.dirname(os.path.abspath(__file__))
    parts = here.split(os.sep)
    # <root>/ansible_collections/netfilter/conntrack/extensions/eda/plugins/event_source
    if len(parts) > 7 and parts[-7] == "ansible_collections":
        return os.sep.join(parts[:-7])
    return None


_ROOT = _collections_root()
if _ROOT and _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

# pylint: disable-next=wrong-import-position
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_event_source import (  # noqa: E402
    EventStream)

POLL = 0.5   # seconds between looks at the namespace (and at the socket, besides its wake-ups)


async def _pump(queue: asyncio.Queue[Any], stream: EventStream, poll: float) -> None:
    """Put the stream's events on the queue until its namespace is gone."""
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    fd = stream.fileno()
    loop.add_reader(fd, ready.set)
    try:
        while True:
            # woken by the socket or after ``poll`` (to look at the namespace); not
            # asyncio.wait_for, which can swallow a cancellation before Python 3.12
            timer = loop.call_later(poll, ready.set)
            try:
                await ready.wait()
            finally:
                timer.cancel()
            ready.clear()
            for event in stream.read():
                await queue.put(event)
            if stream.gone():
                return
    finally:
        loop.remove_reader(fd)


async def main(queue: asyncio.Queue[Any], args: dict[str, Any]) -> None:
    """Put conntrack events on the queue until cancelled.

    Args:
    ----
        queue (asyncio.Queue): The queue to which the events are added.
        args (dict[str, Any]): The arguments (see DOCUMENTATION).

    """
    poll = POLL
    stream = EventStream(args)
    netns = stream.netns
    gone = False
    try:
        while True:
            if not stream.open():
                if not gone:
                    await queue.put({"type": "NETNS_GONE", "netns": netns})
                    gone = True
                await asyncio.sleep(poll)
                continue
            if gone:
                await queue.put({"type": "NETNS_BACK", "netns": netns})
                gone = False
            await _pump(queue, stream, poll)
            stream.close()
            await queue.put({"type": "NETNS_GONE", "netns": netns})
            gone = True
    finally:
        stream.close()


if __name__ == "__main__":

    class MockQueue(asyncio.Queue[Any]):
        """A queue that prints the events."""

        async def put(self, event: Any) -> None:
            print(event)  # noqa: T201

    asyncio.run(main(MockQueue(), {"event_mask": ["NEW", "DESTROY"]}))
