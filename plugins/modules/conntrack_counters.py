#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: conntrack_counters
short_description: Read and zero the packet and byte counters of connection-tracking entries
version_added: 0.1.0
description:
  - Reads the packet and byte counters of the matching conntrack entries and zeroes them,
    like C(conntrack -L -z), for accounting that is read and reset, for example once
    per billing period.
  - The kernel reads and resets the counters of each entry in one step, so no packet is
    counted twice or lost between two runs. When the kernel applies the whole filter
    (family, exact IPv4 addresses, protocol, ports, ICMP fields, mark/mask, zone, status)
    it zeroes in its dump. Any other filter part (a CIDR, an IPv6 address, O(proto_state),
    O(ctstate), O(labels), O(exclude), ...) is matched on the managed node during a plain
    dump; the matching entries with counters above zero are then zeroed (batched, by
    original tuple, zone and conntrack id) and return the counters the kernel read as it
    zeroed them. An entry whose counters were zero in that dump is left alone, and what
    it counts from then on stays for the next run.
  - Only entries whose counters were not zero count as a change (RV(zeroed)); a second run
    right after the first reports C(changed=false) unless traffic went on meanwhile.
author:
  - netfilter.conntrack team (@netfilter-conntrack)
extends_documentation_fragment:
  - netfilter.conntrack.common
  - netfilter.conntrack.filters
attributes:
  check_mode:
    support: full
    description: A plain dump that zeroes nothing; RV(zeroed) and C(changed) tell what would be zeroed.
  diff_mode:
    support: none
    description: No diff is returned; RV(entries) show the counters that were (or would be) zeroed.
  idempotent:
    support: full
    description: Entries whose counters are zero already are not a change.
options:
  limit:
    description:
      - Return at most this many entries in RV(entries). Every matching entry is zeroed
        and counted in RV(count) and RV(zeroed), whatever the limit.
      - V(0) returns no entry, which keeps large tables from travelling to the controller.
    type: int
notes:
  - Counters exist only for entries created while accounting was on in the entry's network
    namespace (C(sysctl net.netfilter.nf_conntrack_acct=1); the role
    C(netfilter.conntrack.conntrack_tuning) sets it). Entries created while it was off have
    no counters (C(counters) is null), are left as they are, are not counted in RV(zeroed),
    and the module warns how many there were. Turning accounting on later does not give
    existing entries counters.
  - Only the conntrack table has counters (expectations and the dying and unconfirmed
    lists do not).
seealso:
  - module: netfilter.conntrack.conntrack_info
'''

EXAMPLES = r'''
- name: Read and reset the traffic counters of the connections to one web server (conntrack -L -z -d ADDR -p tcp --dport 443)
  netfilter.conntrack.conntrack_counters:
    orig_dst: 203.0.113.10
    proto: tcp
    dport: 443
  register: billing

- name: Bytes sent to the clients since the last reset
  ansible.builtin.debug:
    msg: "{{ billing.entries | map(attribute='counters.reply.bytes') | sum }} bytes in {{ billing.count }} connections"

- name: Zero the counters of a whole client network inside a namespace, returning none
  netfilter.conntrack.conntrack_counters:
    netns: router
    orig_src: 198.51.100.0/24
    limit: 0
  register: reset

- name: What would be zeroed (check mode zeroes nothing)
  netfilter.conntrack.conntrack_counters:
    proto: udp
  check_mode: true
  register: would
'''

RETURN = r'''
entries:
  description:
    - The matching entries (at most O(limit)), in conntrack_info's shape, with C(counters)
      as they were just before zeroing (C(orig) and C(reply), each C(packets) and
      C(bytes)); C(counters) is null for an entry without accounting.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 3821301824
      family: ipv4
      proto: tcp
      proto_num: 6
      orig: {src: 198.51.100.2, dst: 203.0.113.10, sport: 40000, dport: 443}
      reply: {src: 203.0.113.10, dst: 198.51.100.2, sport: 443, dport: 40000}
      proto_state: ESTABLISHED
      timeout: 431995
      status: [ASSURED, CONFIRMED, SEEN_REPLY]
      ctstate: ESTABLISHED
      mark: 0
      zone: 0
      use: 1
      labels: []
      nat: {src: false, dst: false}
      counters: {orig: {packets: 10, bytes: 800}, reply: {packets: 9, bytes: 5000}}
      timestamp: null
      helper: null
count:
  description: Number of matching entries (all of them, whatever O(limit)).
  returned: always
  type: int
  sample: 12
zeroed:
  description:
    - Number of matching entries whose counters were not zero, and were (or, in check
      mode, would be) zeroed. C(changed) is true when this is above 0.
  returned: always
  type: int
  sample: 9
kernel_filter:
  description:
    - The filter parts the kernel applied; when these are the whole filter, the kernel
      zeroed the counters in its dump, otherwise the entries were zeroed by key.
  returned: always
  type: list
  elements: str
  sample: [family, orig_tuple]
'''

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_counters import (
    argument_spec, zero_counters)
from ansible_collections.netfilter.conntrack.plugins.module_utils._module import build_module, run_logic


def main():
    module = build_module(argument_spec(), supports_check_mode=True)
    run_logic(module, zero_counters, filters=True)


if __name__ == '__main__':
    main()
