#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: conntrack_events
short_description: Record connection-tracking events for a while
version_added: 0.1.0
description:
  - Subscribes to the kernel's conntrack event groups (C(conntrack -E)), or to the
    expectation groups with O(table=expect), inside the chosen network namespace, and
    records the events for O(duration) seconds or until O(max_events) matching events
    arrived.
  - Only what happens while it listens is recorded. With the kernel's default
    C(net.netfilter.nf_conntrack_events=2), an entry created while nobody listened sends no
    DESTROY event when it goes, so deleting older entries records nothing; when nothing
    was seen and that sysctl is 2 in the namespace, the module says so in a warning.
    C(sysctl -w net.netfilter.nf_conntrack_events=1) in that namespace gives those events
    for the entries created from then on.
  - O(event_mask) selects the event types (C(-e)); every filter option of the collection
    applies to the entry each event carries.
  - What a classic BPF socket filter can decide on an event message is decided in the
    kernel before the event is queued (family, protocols, original and reply addresses
    and CIDR networks, ports, status, lists of these, and O(exclude) sets made only of
    these; RV(kernel_filter)), so that a narrow filter on a busy host does not fill the
    buffer with events it drops; the rest is matched in the module. An event the socket
    filter cannot read is passed to the module, never dropped.
  - Returns the events in arrival order as C({type, time, entry}), with C(entry) in the
    shape M(netfilter.conntrack.conntrack_info) returns.
  - When the socket's receive buffer (O(buffer_size), C(-b)) overflows the kernel drops
    events; RV(lost) says how many (read from the socket's drop counter), it is never
    silently 0, and listening goes on.
  - Made for Ansible's C(async)/C(poll) so that a play records events while later tasks
    make traffic; O(ready_file) tells those tasks when the subscription is in place.
author:
  - netfilter.conntrack team (@netfilter-conntrack)
extends_documentation_fragment:
  - netfilter.conntrack.common
  - netfilter.conntrack.filters
attributes:
  check_mode:
    support: full
    description: Listening changes nothing; the module runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
  idempotent:
    support: full
    description: Read-only; C(changed) is always false.
  async:
    support: full
    description: Run it with C(async) and C(poll=0), then collect the result with M(ansible.builtin.async_status).
options:
  table:
    description: V(conntrack) connection events, or V(expect) expectation events.
    type: str
    choices: [conntrack, expect]
    default: conntrack
  event_mask:
    description:
      - Event types to record (C(conntrack -e)). V(NEW) a connection (expectation) was
        created, V(UPDATE) its state, mark, labels, helper, ... changed, V(DESTROY) it was
        deleted or expired. The kernel sends no V(UPDATE) for expectations.
    type: list
    elements: str
    choices: [NEW, UPDATE, DESTROY]
    default: [NEW, UPDATE, DESTROY]
  duration:
    description: How long to listen, in seconds (fractions allowed), at most a year.
    type: float
    default: 10
  max_events:
    description: Stop as soon as this many matching events were recorded.
    type: int
  buffer_size:
    description:
      - Receive buffer of the event socket in bytes (C(conntrack -b)), set with
        C(SO_RCVBUFFORCE); the kernel doubles it for bookkeeping (see RV(buffer_size)).
      - Each buffered event takes about 1 KiB; a small buffer loses events under load
        (see RV(lost)).
      - Between 4096 and 2147483647.
    type: int
    default: 8388608
  ready_file:
    description:
      - A path on the managed node that the module creates (with its pid) once it listens,
        and removes when it stops. With C(async), a later task can M(ansible.builtin.wait_for)
        it before it makes traffic, instead of sleeping.
    type: path
notes:
  - With the default C(net.netfilter.nf_conntrack_events=2), the kernel attaches event
    data only to connections created while someone listens, so connections that existed
    before the subscription send no V(DESTROY) event.
  - V(DESTROY) events carry counters and timestamps but no protocol state, timeout or
    helper, so filters on those (O(proto_state), O(helper)) do not match them.
  - V(UPDATE) events carry only what changed (plus the tuples, status and id).
  - Expectation events carry no zone; the module finds it through the master (when the
    master is gone, C(zone) is null).
seealso:
  - module: netfilter.conntrack.conntrack_info
  - module: netfilter.conntrack.conntrack_expect
'''

EXAMPLES = r'''
- name: What is destroyed in the next 10 seconds (conntrack -E -e DESTROY)
  netfilter.conntrack.conntrack_events:
    event_mask: [DESTROY]
    duration: 10
  become: true
  register: destroyed

- name: Record the TCP connections to port 443 while the next tasks make traffic
  netfilter.conntrack.conntrack_events:
    netns: router
    proto: tcp
    dport: 443
    event_mask: [NEW, DESTROY]
    duration: 60
    max_events: 1000
    ready_file: /run/conntrack-events.ready
  async: 90
  poll: 0
  register: recorder

- name: Wait until the recorder listens
  ansible.builtin.wait_for:
    path: /run/conntrack-events.ready
    timeout: 30

- name: Make traffic
  ansible.builtin.command: ip netns exec client curl -s https://198.51.100.100/
  changed_when: false

- name: Collect the events
  ansible.builtin.async_status:
    jid: "{{ recorder.ansible_job_id }}"
  register: recorded
  until: recorded.finished
  retries: 60
  delay: 2

- name: Fail when the kernel dropped events
  ansible.builtin.assert:
    that: recorded.lost == 0
    fail_msg: "{{ recorded.lost }} events lost: raise buffer_size"

- name: The FTP data connections the helper expects (expectation events)
  netfilter.conntrack.conntrack_events:
    table: expect
    helper: ftp
    event_mask: [NEW]
    duration: 30
'''

RETURN = r'''
events:
  description:
    - The matching events in arrival order.
    - C(type) is V(NEW), V(UPDATE) or V(DESTROY); C(time) the receive time (seconds since
      the epoch); C(entry) the connection (or expectation) as conntrack_info returns it,
      with what the event carried.
  returned: always
  type: list
  elements: dict
  sample:
    - type: NEW
      time: 1732560000.123456
      entry:
        id: 3821301824
        family: ipv4
        proto: tcp
        proto_num: 6
        orig: {src: 10.0.0.1, dst: 10.0.0.2, sport: 40000, dport: 443}
        reply: {src: 10.0.0.2, dst: 10.0.0.1, sport: 443, dport: 40000}
        proto_state: SYN_SENT
        timeout: 120
        status: []
        ctstate: NEW
        mark: 0
        zone: 0
        use: null
        labels: []
        nat: {src: false, dst: false}
        counters: null
        timestamp: null
        helper: null
count:
  description: Number of events returned.
  returned: always
  type: int
  sample: 42
seen:
  description: Events of the chosen types received, before the filters.
  returned: always
  type: int
  sample: 120
lost:
  description:
    - Events the kernel dropped because the receive buffer was full (the socket's drop
      counter; at least the number of RV(overruns)). Not 0 whenever events were lost.
  returned: always
  type: int
  sample: 0
lost_exact:
  description: Whether RV(lost) comes from the kernel's drop counter (true) or is only the number of overruns (false).
  returned: always
  type: bool
  sample: true
overruns:
  description: How many times the kernel reported an overrun (ENOBUFS) while listening.
  returned: always
  type: int
  sample: 0
buffer_size:
  description: The receive buffer the kernel granted, in bytes (twice O(buffer_size)).
  returned: always
  type: int
  sample: 16777216
elapsed:
  description: Seconds spent listening.
  returned: always
  type: float
  sample: 10.001
stopped_by:
  description:
    - V(duration), V(max_events), or V(controller_gone) when nobody waited for the result
      any more. After a task's C(timeout) fires, ansible-core neither stops nor signals the
      module; the module notices within a second that its output pipe has no reader, stops
      listening and removes O(ready_file).
  returned: always
  type: str
  sample: duration
kernel_filter:
  description:
    - What the kernel filtered before an event reached the socket (a classic BPF socket
      filter, in conntrack_info's terms), V(family), V(orig_tuple), V(reply_tuple),
      V(status), V(exclude); the rest of the filter is matched in the module. Empty
      when the kernel filtered nothing (no filter, or O(table=expect)).
    - An event the kernel filter rejects never takes room in the receive buffer and is
      not counted in RV(lost).
  returned: always
  type: list
  elements: str
  sample: [family, orig_tuple]
event_mask:
  description: The event types listened to.
  returned: always
  type: list
  elements: str
  sample: [NEW, UPDATE, DESTROY]
'''

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_events import argument_spec, run
from ansible_collections.netfilter.conntrack.plugins.module_utils._module import build_module, run_logic


def main():
    module = build_module(argument_spec(), supports_check_mode=True)
    run_logic(module, run, filters=True)


if __name__ == '__main__':
    main()
