#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: conntrack_expect
short_description: Create or delete one connection-tracking expectation
version_added: 0.1.0
description:
  - Declares one expectation of the Linux conntrack C(expect) table, the kernel's note that
    a connection (for example the data connection of FTP) is about to arrive and belongs to
    an existing I(master) connection. A connection that matches an expectation is tracked
    as C(RELATED) to its master (C(conntrack -I expect) and C(-D expect), done right;
    C(conntrack) 1.4.7 creates broken expectations).
  - O(state=present) creates the expectation, or reports no change when one with the same
    expected tuple and the same master, mask, flags, class, NAT and O(fn) exists. One that
    differs is deleted and created again. O(state=absent) deletes it by its expected tuple.
  - The master connection must exist and carry a conntrack helper (an nftables C(ct helper)
    rule assigns one to real traffic; M(netfilter.conntrack.conntrack_entry) with
    C(helper=ftp) creates one). Without either the module fails before changing anything.
  - To list expectations use M(netfilter.conntrack.conntrack_info) with O(netfilter.conntrack.conntrack_info#module:table=expect);
    to delete many, M(netfilter.conntrack.conntrack_flush) with O(netfilter.conntrack.conntrack_flush#module:table=expect).
author:
  - netfilter.conntrack team (@netfilter-conntrack)
extends_documentation_fragment:
  - netfilter.conntrack.common
attributes:
  check_mode:
    support: full
    description: Looks up the expectation and its master, reports what would change, changes nothing.
  diff_mode:
    support: full
    description: Returns the expectation before and after (as conntrack_info lists it).
  idempotent:
    support: full
    description: >-
      A second run reports C(changed=false); the falling timeout is not a difference unless
      O(refresh_timeout=true).
options:
  state:
    description: Whether the expectation should exist.
    type: str
    choices: [present, absent]
    default: present
  master:
    description:
      - The master connection, by its original tuple (as C(conntrack -L) shows it first).
        Required with O(state=present); not needed to delete.
    type: dict
    suboptions:
      proto:
        description: Protocol of the master, by name (V(tcp), V(udp), V(sctp), ...) or number.
        type: raw
        required: true
      src:
        description: Source address of the master's original direction. Sets the family.
        type: str
        required: true
      dst:
        description: Destination address of the master's original direction.
        type: str
        required: true
      sport:
        description: Source port (GRE key) of the master; required for port protocols.
        type: int
      dport:
        description: Destination port (GRE key) of the master; required for port protocols.
        type: int
      zone:
        description: Conntrack zone of the master (the same as O(zone)).
        type: int
  tuple:
    description:
      - The expected connection's original tuple. It names the expectation.
    type: dict
    required: true
    suboptions:
      src:
        description:
          - Source address of the expected connection. Leave it out to accept any source
            (the mask's source is then 0).
        type: str
      dst:
        description: Destination address of the expected connection.
        type: str
        required: true
      proto:
        description: Protocol of the expected connection; defaults to the master's.
        type: raw
      sport:
        description:
          - Source port of the expected connection; leave it out (or 0) for any source port.
        type: int
      dport:
        description: Destination port of the expected connection; required for port protocols.
        type: int
  mask:
    description:
      - Which bits of the expected tuple must match. The kernel masks only the source
        address and source port; the destination always matches exactly.
      - Defaults to an exact O(tuple.src) and O(tuple.sport) when they are given, and to
        any source address / port when they are not (what the FTP helper does).
    type: dict
    suboptions:
      src:
        description: Source address mask, as an address (V(255.255.255.0)) or a prefix length (V(24)).
        type: raw
      sport:
        description: Source port mask (0-65535).
        type: int
      dst:
        description: Only V(255.255.255.255) (or the IPv6 all-ones mask) is accepted; the kernel matches the destination exactly.
        type: str
      dport:
        description: Only V(65535) is accepted.
        type: int
  zone:
    description: The conntrack zone of the expectation, which is the zone of its master.
    type: int
  timeout:
    description:
      - Seconds until the expectation expires. Without it the kernel uses the master helper's
        policy (300 s for ftp). Set right after the creation (the kernel ignores a timeout
        in the create request).
    type: int
  refresh_timeout:
    description:
      - Set O(timeout) again on an existing, otherwise equal expectation (reported as a change).
    type: bool
    default: false
  helper:
    description:
      - The helper of the expectation, which is the helper of its master connection (what
        listings show as C(helper)). When given, the module checks that the master carries
        this helper and fails, before changing anything, when it does not.
      - No other helper can be given to the expected connection. Kernels with the 2026
        stable change "ctnetlink - ignore explicit helper on new expectations" (this
        module was tested on 6.18) ignore a helper requested over netlink, and the
        connection that uses an expectation gets no helper of its own.
    type: str
  flags:
    description:
      - V(PERMANENT) (the expectation survives its first match), V(INACTIVE) (it matches
        nothing until activated). V(USERSPACE) is accepted for symmetry with listings but
        ignored with a warning (the kernel sets it itself and removes it from requests).
    type: list
    elements: str
    choices: [PERMANENT, INACTIVE, USERSPACE]
  class:
    description:
      - Expectation class of the master's helper (for example the audio/video classes of
        the SIP helper). The kernel refuses a class above that helper's maximum (ftp has
        only class 0).
    type: int
    default: 0
  fn:
    description:
      - Name of the kernel function to run when the expected connection arrives, such as
        V(nat-follow-master) (what the FTP NAT helper sets). Defaults to V(nat-follow-master)
        when O(nat) is given, since nothing else uses the NAT data.
    type: str
  nat:
    description:
      - NAT data of the expectation (C(CTA_EXPECT_NAT)), as the NAT helpers store it.
    type: dict
    suboptions:
      dir:
        description: Direction of the master the expected connection is NATed like.
        type: str
        choices: [original, reply]
        default: original
      tuple:
        description: The saved address and port; the kernel keeps only the source part.
        type: dict
        required: true
        suboptions:
          src:
            description: Saved address.
            type: str
            required: true
          sport:
            description: Saved port (for V(nat-follow-master) the port the connection is NATed to).
            type: int
            default: 0
notes:
  - The master's helper limits the expectations per master connection and evicts the oldest
    (ftp allows one), so creating an expectation for a live FTP control connection replaces
    the one the helper made, and the next FTP command replaces this one.
  - Dumps do not carry the zone of an expectation; the module proves it with a lookup in
    O(zone), and M(netfilter.conntrack.conntrack_info) finds it through the master.
  - ICMP expectations do not exist in the kernel.
seealso:
  - module: netfilter.conntrack.conntrack_info
  - module: netfilter.conntrack.conntrack_flush
  - module: netfilter.conntrack.conntrack_entry
  - module: netfilter.conntrack.conntrack_events
'''

EXAMPLES = r'''
- name: Expect the passive-mode data connection of an FTP session (any source port)
  netfilter.conntrack.conntrack_expect:
    netns: router
    master:
      proto: tcp
      src: 198.51.100.2
      dst: 198.51.100.100
      sport: 42842
      dport: 21
    tuple:
      src: 198.51.100.2
      dst: 198.51.100.100
      dport: 30528
    timeout: 120
  become: true

- name: Accept the data connection from any host of a /24, kept after its first use
  netfilter.conntrack.conntrack_expect:
    master: {proto: tcp, src: 192.0.2.1, dst: 192.0.2.2, sport: 40000, dport: 21}
    tuple: {src: 203.0.113.0, dst: 192.0.2.2, dport: 31000}
    mask: {src: 24}
    flags: [PERMANENT]

- name: Remove it again
  netfilter.conntrack.conntrack_expect:
    state: absent
    tuple: {proto: tcp, src: 203.0.113.0, dst: 192.0.2.2, dport: 31000}
'''

RETURN = r'''
expect:
  description:
    - The expectation after the run (before it, in check mode, for what stays), as
      M(netfilter.conntrack.conntrack_info) lists it; empty when absent.
    - C(helper) is the master's helper, as the kernel reports it.
  returned: always
  type: dict
  sample:
    id: 3821434802
    family: ipv4
    master: {src: 198.51.100.2, dst: 198.51.100.100, proto: tcp, proto_num: 6, sport: 42842, dport: 21}
    tuple: {src: 198.51.100.2, dst: 198.51.100.100, proto: tcp, proto_num: 6, sport: 0, dport: 30528}
    mask: {src: 255.255.255.255, dst: 255.255.255.255, sport: 0, dport: 65535}
    timeout: 119
    helper: ftp
    zone: 0
    flags: []
    class: 0
    nat: null
    fn: null
    proto: tcp
    proto_num: 6
differences:
  description:
    - What made the module act. V(state) when the expectation did not exist; otherwise the
      keys that differed (V(master), V(tuple), V(mask), V(flags), V(class), V(fn), V(nat)),
      or V(timeout) for O(refresh_timeout). Empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: [flags]
'''

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_expect import REQUIRED_IF, argument_spec, ensure
from ansible_collections.netfilter.conntrack.plugins.module_utils._module import build_module, run_logic


def main():
    module = build_module(argument_spec(), supports_check_mode=True, required_if=REQUIRED_IF)
    run_logic(module, ensure)


if __name__ == '__main__':
    main()
