# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The filter options (plugins/module_utils/_argspec.py filter_spec)."""

    DOCUMENTATION = r'''
options:
  family:
    description:
      - Address family. An address filter implies its family.
    type: str
    choices: [ipv4, ipv6, any]
    default: any
  proto:
    description:
      - Layer 4 protocol, by name (V(tcp), V(udp), V(udplite), V(icmp), V(icmpv6), V(sctp),
        V(dccp), V(gre)) or number. A list matches any of its values.
    type: raw
  orig_src:
    description:
      - Source address of the original direction (C(conntrack -s)); an address or a CIDR
        network (C(--mask-src)), or a list of them (any).
    type: raw
  orig_dst:
    description: Destination address of the original direction (C(-d)); address, CIDR or list.
    type: raw
  reply_src:
    description: Source address of the reply direction (C(-r)); address, CIDR or list.
    type: raw
  reply_dst:
    description: Destination address of the reply direction (C(-q)); address, CIDR or list.
    type: raw
  orig_port_src:
    description: Source port of the original direction (1-65535), or a list (any).
    type: raw
    aliases: [sport]
  orig_port_dst:
    description: Destination port of the original direction (1-65535), or a list (any).
    type: raw
    aliases: [dport]
  reply_port_src:
    description: Source port of the reply direction, or a list.
    type: raw
  reply_port_dst:
    description: Destination port of the reply direction, or a list.
    type: raw
  icmp_type:
    description: ICMP/ICMPv6 type of the original direction.
    type: int
  icmp_code:
    description: ICMP/ICMPv6 code of the original direction.
    type: int
  icmp_id:
    description: ICMP/ICMPv6 identifier of the original direction.
    type: int
  proto_state:
    description:
      - TCP, SCTP or DCCP states (V(ESTABLISHED), V(TIME_WAIT), V(SYN_SENT), ...); any of them.
    type: list
    elements: str
  ctstate:
    description:
      - V(RELATED) (status EXPECTED), else V(ESTABLISHED) (SEEN_REPLY), else V(NEW); any of them.
      - INVALID and UNTRACKED packets never create entries, so they cannot be listed.
    type: list
    elements: str
    choices: [NEW, ESTABLISHED, RELATED]
  status:
    description: Status flags that must all be set (V(ASSURED), V(SEEN_REPLY), V(SRC_NAT), ...).
    type: list
    elements: str
    choices: [ASSURED, CONFIRMED, DST_NAT, DST_NAT_DONE, DYING, EXPECTED, FIXED_TIMEOUT,
              HELPER, HW_OFFLOAD, OFFLOAD, SEEN_REPLY, SEQ_ADJUST, SRC_NAT, SRC_NAT_DONE,
              TEMPLATE, UNTRACKED]
  mark:
    description:
      - Connection mark, an integer or V(VALUE/MASK) (decimal or 0x hex); with a mask,
        entries whose C(mark & MASK == VALUE & MASK) match.
    type: raw
  zone:
    description:
      - Conntrack zone id (0-65535), whatever direction the zone applies to, as the kernel's own
        zone filter compares it. An entry zoned in one direction only (its C(orig_zone) or
        C(reply_zone) differs from its C(zone)) matches its zone id here, not 0.
      - Use O(orig_zone) / O(reply_zone) to match one direction.
    type: int
  orig_zone:
    description: Zone of the original direction (per-direction zones).
    type: int
  reply_zone:
    description: Zone of the reply direction.
    type: int
  labels:
    description:
      - Connection labels that must all be set, by name (from C(/etc/xtables/connlabel.conf))
        or bit number (0-127).
    type: list
    elements: raw
  nat:
    description:
      - V(src) matches source-NATed connections, V(dst) destination-NATed ones, V(any) either.
      - NAT is derived from the tuples, as the C(conntrack) command does.
    type: str
    choices: [src, dst, any]
  src_nat:
    description:
      - Connections source-NATed to this address or CIDR (the reply destination), or a list.
    type: raw
  dst_nat:
    description:
      - Connections destination-NATed to this address or CIDR (the reply source, e.g. the
        backend behind a VIP), or a list.
    type: raw
  any_nat:
    description: Connections source- or destination-NATed to/from this address, CIDR or list.
    type: raw
  helper:
    description: Name of the connection's helper (V(ftp), V(sip), V(tftp), ...).
    type: str
  exclude:
    description:
      - A list of filter sets (dicts of the options above); an entry that matches any of them
        is left out (kept, for a flush).
    type: list
    elements: dict
'''
