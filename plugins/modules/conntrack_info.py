#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: conntrack_info
short_description: List, count and summarise connection-tracking entries
version_added: 0.1.0
description:
  - Reads the Linux conntrack table over netlink, like C(conntrack -L), C(-G), C(-C), C(-S)
    and C(-L -z), and returns structured entries, counts, aggregates, kernel statistics and
    table limits.
  - Filters that the kernel can apply (family, exact addresses, protocol, ports, ICMP
    fields, mark/mask, zone, status) are sent with the dump request; the rest is applied
    on the managed node while the dump streams, so only matching entries are decoded and
    only what you ask for travels back to the controller.
  - Use O(count_by) and O(top) to aggregate large tables on the managed node.
author:
  - netfilter.conntrack team (@netfilter-conntrack)
extends_documentation_fragment:
  - netfilter.conntrack.common
  - netfilter.conntrack.filters
attributes:
  check_mode:
    support: full
    description: With O(zero_counters=true), reports what would be zeroed and zeroes nothing.
  diff_mode:
    support: none
    description: No diff is returned; RV(entries) shows what matched.
  idempotent:
    support: full
    description: Read-only unless O(zero_counters=true).
options:
  table:
    description:
      - Which table to read. V(expect) lists expectations; V(dying) and V(unconfirmed) are the
        kernel's transient lists (filtered on the managed node).
      - For V(expect) the filters see the master connection as the original direction
        (O(orig_src), O(orig_port_dst), ...) and the expected connection as the reply
        direction (O(reply_dst), O(reply_port_dst), ...); O(helper) is the master's helper
        and O(zone) the master's zone.
    type: str
    choices: [conntrack, expect, dying, unconfirmed]
    default: conntrack
  gather:
    description:
      - What to return. V(entries) the matching entries (see O(limit)), V(count) how many
        match, V(stats) the kernel's per-CPU counters (C(conntrack -S)), V(limits) the table
        fill (count, max, buckets, expectations).
    type: list
    elements: str
    choices: [entries, count, stats, limits]
    default: [entries, count]
  limit:
    description:
      - Return at most this many entries; RV(count) still counts every match.
      - Without V(count) in O(gather) (and without O(count_by), O(top) and
        O(zero_counters)) the dump stops as soon as this many entries matched, which
        makes a look at a few entries of a large table cheap.
    type: int
  zero_counters:
    description:
      - Zero the packet and byte counters of the matching entries after reading them
        (C(conntrack -L -z)). RV(entries) hold the values before zeroing.
    type: bool
    default: false
  count_by:
    description:
      - Dotted keys of the entry (V(proto), V(orig.src), V(proto_state), V(family),
        V(ctstate), ...) to count matching entries by, on the managed node. See RV(counts).
    type: list
    elements: str
    default: []
  top:
    description:
      - The O(top.n) most frequent values of one dotted key among the matching entries
        (top talkers), computed on the managed node. See RV(top).
    type: dict
    suboptions:
      key:
        description: Dotted key, for example V(orig.src).
        type: str
        required: true
      n:
        description: How many values to return.
        type: int
        default: 10
notes:
  - For large tables, gather only V(count) or use O(count_by) and O(top) with O(limit=0).
    Carrying hundreds of thousands of entries back to the controller takes ansible-core
    tens of seconds.
seealso:
  - module: netfilter.conntrack.conntrack_flush
  - module: netfilter.conntrack.conntrack_entry
'''

EXAMPLES = r'''
- name: All TCP connections from one client in state ESTABLISHED (conntrack -L -p tcp --state ESTABLISHED -s ADDR)
  netfilter.conntrack.conntrack_info:
    proto: tcp
    proto_state: [ESTABLISHED]
    orig_src: 198.51.100.2
  register: ct

- name: Count connections DNATed to a backend, inside a network namespace
  netfilter.conntrack.conntrack_info:
    netns: router
    dst_nat: 203.0.113.11
    gather: [count]
  register: backend

- name: Facts for a dashboard, without carrying the table to the controller
  netfilter.conntrack.conntrack_info:
    gather: [count, stats, limits]
    limit: 0
    count_by: [proto, family, proto_state]
    top:
      key: orig.src
      n: 10
  register: facts

- name: Show the fill ratio
  ansible.builtin.debug:
    msg: "{{ facts.limits.usage_percent }}% of {{ facts.limits.max }} ({{ facts.counts.proto }})"

- name: Expectations of the FTP helper
  netfilter.conntrack.conntrack_info:
    table: expect
    helper: ftp
'''

RETURN = r'''
entries:
  description:
    - The matching entries (at most O(limit)); empty unless V(entries) is in O(gather).
    - Each entry has C(id), C(family), C(proto), C(proto_num), C(orig) and C(reply) tuples,
      C(proto_state), C(timeout), C(status), C(ctstate), C(mark), C(zone), C(use), C(labels),
      C(nat), C(counters), C(timestamp), C(helper).
    - With O(table=expect) each entry is an expectation, as C(conntrack -L expect) shows it
      (both families), with C(id), C(family), C(proto), C(proto_num), C(master) (the master's
      original tuple), C(tuple) (the expected connection), C(mask) (only C(src) and
      C(sport) are masks), C(timeout), C(helper) (the master's), C(zone) (found through
      the master, as dumps do not carry it; null when the master vanished meanwhile),
      C(flags), C(class), C(nat) (C(dir) and the saved C(tuple)) and C(fn).
  returned: always
  type: list
  elements: dict
  sample:
    - id: 3821301824
      family: ipv4
      proto: tcp
      proto_num: 6
      orig: {src: 198.51.100.2, dst: 198.51.100.100, sport: 40000, dport: 8080}
      reply: {src: 203.0.113.11, dst: 203.0.113.1, sport: 8080, dport: 40000}
      proto_state: ESTABLISHED
      timeout: 431995
      status: [ASSURED, CONFIRMED, DST_NAT, DST_NAT_DONE, SEEN_REPLY, SRC_NAT, SRC_NAT_DONE]
      ctstate: ESTABLISHED
      mark: 0
      zone: 0
      use: 1
      labels: []
      nat: {src: true, dst: true}
      counters: {orig: {packets: 10, bytes: 800}, reply: {packets: 9, bytes: 5000}}
      timestamp: {start: 1732560000000000000, stop: null}
      helper: null
count:
  description: Number of matching entries (all of them, whatever O(limit)); null unless V(count) is gathered.
  returned: always
  type: int
  sample: 1234
counts:
  description: For each O(count_by) key, the number of matching entries per value.
  returned: always
  type: dict
  sample: {proto: {tcp: 1000, udp: 200, icmp: 34}}
top:
  description: The O(top.n) most frequent values of O(top.key), most first.
  returned: always
  type: list
  elements: dict
  sample: [{value: 198.51.100.2, count: 500}, {value: 198.51.100.3, count: 20}]
stats:
  description: The kernel's conntrack counters (C(conntrack -S)); empty unless gathered.
  returned: always
  type: dict
  contains:
    total:
      description: Sum over CPUs (found, invalid, insert, insert_failed, drop, early_drop, error, search_restart, clash_resolve, chaintoolong).
      type: dict
    per_cpu:
      description: One dict per CPU, with C(cpu).
      type: list
      elements: dict
limits:
  description: Table size and limits; empty unless gathered.
  returned: always
  type: dict
  sample: {count: 1234, max: 262144, buckets: 65536, usage_percent: 0.47, expect_count: 0, expect_max: 4096}
zeroed:
  description:
    - Number of matching entries whose counters were not zero and were (or, in check mode,
      would be) zeroed. O(zero_counters) reports C(changed) only when this is above 0.
  returned: always
  type: int
  sample: 0
kernel_filter:
  description:
    - The filter parts the kernel applied (the rest was applied on the managed node), and
      V(N requests) when a list of addresses, ports or protocols (or a small IPv4 CIDR)
      became that many kernel-filtered dumps. That happens only when the namespace's table
      is large enough to repay a walk of the kernel's hash table per request; on a small
      table one dump carries the rest of the filter, which is then matched here.
  returned: always
  type: list
  elements: str
  sample: [family, orig_tuple, mark]
'''

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_info import argument_spec, gather_info
from ansible_collections.netfilter.conntrack.plugins.module_utils._module import build_module, run_logic


def main():
    module = build_module(argument_spec(), supports_check_mode=True)
    run_logic(module, gather_info, filters=True)


if __name__ == '__main__':
    main()
