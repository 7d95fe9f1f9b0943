#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: conntrack_entry
short_description: Create, update or delete one connection-tracking entry
version_added: 0.1.0
description:
  - Declares one connection of the Linux conntrack table, named by its original tuple
    (protocol, addresses, ports, ICMP fields or GRE keys) and its zone, like C(conntrack -I),
    C(-U), C(-D) and C(-G) on one entry, over netlink.
  - O(state=present) creates the entry, or changes only the attributes that differ (O(mark),
    O(labels), O(status), O(proto_state), and O(timeout) with O(refresh_timeout=true)).
    A second identical run reports no change; the kernel's falling timeout alone is not a
    difference.
  - O(state=absent) deletes the entry; an entry already gone is no change.
  - To read one entry (C(conntrack -G)) use M(netfilter.conntrack.conntrack_info) with its
    full tuple. In check mode with diff, this module shows the entry as it is and as the
    task would make it.
author:
  - netfilter.conntrack team (@netfilter-conntrack)
extends_documentation_fragment:
  - netfilter.conntrack.common
attributes:
  check_mode:
    support: full
    description: Reports the entry the change would give (RV(entry)) and changes nothing.
  diff_mode:
    support: full
    description: The entry before and after, as RV(entry) shows it (V(null) when absent).
  idempotent:
    support: full
    description: >-
      The kernel's falling timeout is not a difference, unless O(refresh_timeout=true).
options:
  state:
    description:
      - V(present) creates the entry or updates it; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  proto:
    description:
      - Layer 4 protocol, by name (V(tcp), V(udp), V(udplite), V(sctp), V(dccp), V(icmp),
        V(icmpv6), V(gre)) or number (other numbers are tracked by addresses only).
    type: raw
    required: true
  orig_src:
    description: Source address of the original direction (IPv4 or IPv6; sets the family).
    type: str
    required: true
  orig_dst:
    description: Destination address of the original direction, of the same family.
    type: str
    required: true
  orig_port_src:
    description: Source port of the original direction; required for tcp, udp, udplite, sctp and dccp.
    type: int
    aliases: [sport]
  orig_port_dst:
    description: Destination port of the original direction; required for tcp, udp, udplite, sctp and dccp.
    type: int
    aliases: [dport]
  icmp_type:
    description:
      - ICMP or ICMPv6 type; required for V(icmp) and V(icmpv6). The kernel tracks only
        query types (ICMP 0, 8, 13-18; ICMPv6 128, 129, 139, 140).
    type: int
  icmp_code:
    description: ICMP or ICMPv6 code (V(icmp)/V(icmpv6) only; default V(0)).
    type: int
  icmp_id:
    description: ICMP or ICMPv6 identifier; required for V(icmp) and V(icmpv6).
    type: int
  gre_src_key:
    description: GRE source key (call ID) of the original direction (V(gre) only; default V(0)).
    type: int
  gre_dst_key:
    description: GRE destination key (call ID) of the original direction (V(gre) only; default V(0)).
    type: int
  reply_src:
    description:
      - Source address of the reply direction, when it is not O(orig_dst) (a connection
        translated some other way). Default from O(dst_nat), else O(orig_dst).
      - When none of O(reply_src), O(reply_dst), O(reply_port_src), O(reply_port_dst),
        O(src_nat), O(dst_nat) is given, the reply tuple of an existing entry is not compared.
    type: str
  reply_dst:
    description: Destination address of the reply direction. Default from O(src_nat), else O(orig_src).
    type: str
  reply_port_src:
    description: Source port of the reply direction. Default O(orig_port_dst).
    type: int
  reply_port_dst:
    description: Destination port of the reply direction. Default O(orig_port_src).
    type: int
  zone:
    description:
      - Conntrack zone of both directions (default V(0)). With O(orig_zone) or O(reply_zone)
        the zone of one direction only; the kernel keeps one zone id per entry, so a non-zero
        O(orig_zone) and a different non-zero O(reply_zone) cannot be combined.
      - The original tuple and the original-direction zone name the entry.
    type: int
  orig_zone:
    description: Zone of the original direction only (the reply direction stays in zone V(0)).
    type: int
  reply_zone:
    description: Zone of the reply direction only (the original direction stays in zone V(0)).
    type: int
  timeout:
    description:
      - Seconds the entry lives without traffic. Required to create an entry.
      - On an existing entry it is applied only with O(refresh_timeout=true). The kernel caps
        it at about 8.5 million seconds (INT_MAX jiffies) and refuses to change the timeout of an
        entry with status V(FIXED_TIMEOUT).
    type: int
  refresh_timeout:
    description:
      - Set the timeout of an existing entry back to O(timeout) whenever it differs (it
        always does a second later, so the task then always reports a change).
    type: bool
    default: false
  mark:
    description:
      - Connection mark, an integer or V(VALUE/MASK) (decimal or 0x hex). With a mask only
        the masked bits are compared and set, the others are kept.
    type: raw
  labels:
    description:
      - The connection labels, exactly (an empty list removes them all). Names from
        C(/etc/xtables/connlabel.conf) or bit numbers 0-127.
      - The kernel keeps labels only in a network namespace where something uses them, such
        as an nftables rule with C(ct label set); elsewhere the module fails and says so.
    type: list
    elements: raw
  status:
    description:
      - Status flags that must be set. The kernel only ever adds flags to an entry (it
        refuses to clear V(SEEN_REPLY) and V(ASSURED) and keeps V(FIXED_TIMEOUT)), so flags the
        entry has beyond these are kept; delete the entry to start over.
      - NAT flags come with O(src_nat) / O(dst_nat); V(CONFIRMED) is always set.
    type: list
    elements: str
    choices: [ASSURED, CONFIRMED, FIXED_TIMEOUT, SEEN_REPLY]
  proto_state:
    description:
      - Protocol state of a V(tcp) (V(SYN_SENT), V(ESTABLISHED), V(TIME_WAIT), ...), V(sctp)
        (V(COOKIE_WAIT), V(ESTABLISHED), ...) or V(dccp) entry. An SCTP entry keeps its
        verification tags.
    type: str
  src_nat:
    description:
      - Create the entry already source-NATed to this address (the reply destination).
    type: str
  dst_nat:
    description:
      - Create the entry already destination-NATed to this address (the reply source), as
        DNAT to a backend does.
    type: str
  helper:
    description:
      - Conntrack helper to attach when creating (for example V(ftp); its kernel module must
        be loaded). The kernel cannot change the helper of an existing entry.
    type: str
  recreate:
    description:
      - When an existing entry differs in what the kernel cannot change (reply tuple, NAT,
        reply zone, helper), delete it and create it again instead of failing. Its mark,
        labels, settable status flags, protocol state, helper and remaining timeout are kept
        unless given.
    type: bool
    default: false
notes:
  - The kernel drops connection labels unless something in the namespace uses them; an
    nftables rule such as C(ct label set 127) in a chain without a hook is enough.
  - Kernels 6.16 and newer have no DCCP connection tracking; O(proto=dccp) then fails.
seealso:
  - module: netfilter.conntrack.conntrack_info
  - module: netfilter.conntrack.conntrack_flush
'''

EXAMPLES = r'''
- name: A TCP connection, ESTABLISHED and marked (conntrack -I -p tcp ... -m 5)
  netfilter.conntrack.conntrack_entry:
    proto: tcp
    orig_src: 198.51.100.2
    orig_dst: 198.51.100.100
    sport: 40000
    dport: 8080
    proto_state: ESTABLISHED
    status: [SEEN_REPLY, ASSURED]
    mark: 5
    timeout: 3600

- name: Pre-create a connection already DNATed to a backend, in a network namespace
  netfilter.conntrack.conntrack_entry:
    netns: router
    proto: udp
    orig_src: 198.51.100.2
    orig_dst: 198.51.100.100
    sport: 5353
    dport: 5353
    dst_nat: 203.0.113.11
    timeout: 120

- name: Set bit 3 of the mark only, keep the other bits (conntrack -U --mark 0x8/0x8)
  netfilter.conntrack.conntrack_entry:
    proto: tcp
    orig_src: 198.51.100.2
    orig_dst: 198.51.100.100
    sport: 40000
    dport: 8080
    mark: 0x8/0x8

- name: An ICMPv6 echo entry in zone 7
  netfilter.conntrack.conntrack_entry:
    proto: icmpv6
    orig_src: 2001:db8:51::2
    orig_dst: 2001:db8:51::100
    icmp_type: 128
    icmp_id: 4242
    zone: 7
    timeout: 30

- name: Keep an entry alive (its timeout is set back to 600 s on every run)
  netfilter.conntrack.conntrack_entry:
    proto: gre
    orig_src: 192.0.2.1
    orig_dst: 192.0.2.2
    gre_src_key: 10
    gre_dst_key: 20
    timeout: 600
    refresh_timeout: true

- name: Remove one connection (conntrack -D on one tuple)
  netfilter.conntrack.conntrack_entry:
    state: absent
    proto: tcp
    orig_src: 198.51.100.2
    orig_dst: 198.51.100.100
    sport: 40000
    dport: 8080

- name: What would a new mark change? (the entry before and after, nothing written)
  netfilter.conntrack.conntrack_entry:
    proto: tcp
    orig_src: 198.51.100.2
    orig_dst: 198.51.100.100
    sport: 40000
    dport: 8080
    mark: 6
  check_mode: true
  diff: true
  register: ct
'''

RETURN = r'''
entry:
  description:
    - The entry after the task (in check mode, the predicted entry); V(null) when it does
      not exist (O(state=absent)).
    - The same shape as the entries of M(netfilter.conntrack.conntrack_info). A predicted
      entry has C(id) V(null).
  returned: always
  type: dict
  sample:
    id: 3821301824
    family: ipv4
    proto: tcp
    proto_num: 6
    orig: {src: 198.51.100.2, dst: 198.51.100.100, sport: 40000, dport: 8080}
    reply: {src: 203.0.113.11, dst: 198.51.100.2, sport: 8080, dport: 40000}
    proto_state: ESTABLISHED
    timeout: 3600
    status: [ASSURED, CONFIRMED, DST_NAT, DST_NAT_DONE, SEEN_REPLY, SRC_NAT_DONE]
    ctstate: ESTABLISHED
    mark: 5
    zone: 0
    use: 1
    labels: []
    nat: {src: false, dst: true}
    counters: null
    timestamp: null
    helper: null
changes:
  description:
    - What changed (or in check mode would change) - V(created), V(deleted), V(recreated),
      or the updated attributes (V(labels), V(mark), V(proto_state), V(status), V(timeout)).
  returned: always
  type: list
  elements: str
  sample: [mark, status]
diff:
  description: The entry before and after (V(null) for a missing one).
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: The entry before the task, or V(null).
      type: dict
    after:
      description: The entry after the task (predicted in check mode), or V(null).
      type: dict
'''

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_entry import argument_spec, ensure_entry
from ansible_collections.netfilter.conntrack.plugins.module_utils._module import build_module, run_logic


def main():
    module = build_module(argument_spec(), supports_check_mode=True)
    run_logic(module, ensure_entry)


if __name__ == '__main__':
    main()
