#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: conntrack_flush
short_description: Delete the connection-tracking entries that match filters, or all of them
version_added: 0.1.0
description:
  - Deletes every conntrack entry the filters match (C(conntrack -D) with filters), or the
    whole table with O(all=true) (C(conntrack -F)); O(table=expect) works on expectations.
  - Safe by default. Without any filter and without O(all=true) the module fails and
    deletes nothing, so that a filter variable that resolved to C(omit) never empties a
    production table. O(max_delete) refuses, and deletes nothing, when more entries match.
  - Fast. When the kernel can express the whole filter (family, exact IPv4 addresses,
    protocol, ports, ICMP fields, mark/mask, zone, status) one kernel-side filtered flush
    deletes the entries (RV(method=kernel_filtered_flush)), or, when they are few, deletes
    by the keys of the kernel-filtered dump that counted them (see O(method)). Lists of such values (and IPv4
    CIDRs of up to 8 addresses) take one kernel flush per value, up to 8 in all (RV(kernel_filter)
    then says how many requests; the dump that counts the matches first uses one request
    on tables too small to repay several). Otherwise (larger CIDRs, IPv6 addresses, states, NAT,
    labels, helpers, exclusions) a kernel-prefiltered dump selects the entries and deletes
    are batched 1000 per netlink send (RV(method=dump_delete)).
  - Entries that expire or are deleted by someone else during the flush are not an error
    (RV(vanished)). Each batched delete names the entry's id, so an entry re-created with
    the same tuple meanwhile is not touched.
author:
  - netfilter.conntrack team (@netfilter-conntrack)
extends_documentation_fragment:
  - netfilter.conntrack.common
  - netfilter.conntrack.filters
attributes:
  check_mode:
    support: full
    description: Reports how many entries match (RV(matched)) and deletes nothing.
  diff_mode:
    support: none
    description: No diff is returned; RV(entries) shows what matched.
  idempotent:
    support: full
    description: A second run reports C(changed=false) unless new matching entries appeared.
options:
  table:
    description: V(conntrack) entries, or V(expect) expectations.
    type: str
    choices: [conntrack, expect]
    default: conntrack
  all:
    description:
      - Flush the whole table. Must be given explicitly and cannot be combined with filters.
    type: bool
    default: false
  max_delete:
    description:
      - Refuse, and delete nothing, when more entries than this match.
      - With O(method=auto) the module then deletes exactly the entries it counted
        (RV(method=dump_delete)), so that entries that start to match during the flush
        cannot push the deletion past the limit.
    type: int
  return_entries:
    description: How many of the matching (deleted) entries to return in RV(entries).
    type: int
    default: 10
  method:
    description:
      - V(auto) uses the kernel-side filtered flush when the filter allows it and the running
        kernel is 6.12 or newer (older kernels ignore some flush filter attributes), else the
        dump-and-delete path. The kernel path counts the matches with a kernel-filtered dump
        first; when they are at most a tenth of the namespace's entries (or 1000), V(auto)
        deletes them by the keys that dump returned (RV(method=dump_delete)), which spares
        the flush's second walk of the kernel's table.
      - V(kernel) forces the kernel flush where the filter allows it, V(dump) forces the
        dump-and-delete path.
    type: str
    choices: [auto, kernel, dump]
    default: auto
  exact_count:
    description:
      - V(false) trades the exact count for speed on the kernel path
        (RV(method=kernel_filtered_flush)). The dump that counts the matches stops as soon
        as it has returned O(return_entries) of them (at least one) and one more, and the
        kernel's flush follows at once. RV(matched) and RV(deleted) are then how far the
        namespace's entry count fell over the flush, which connections starting or ending
        meanwhile skew (and entries that wait on the dying list for a listener of
        reliable events, such as conntrackd, are still counted), and RV(exact_count) is
        V(false). C(changed) stays exact - true only when a match was seen - so it can
        come with a RV(deleted) of 0. On 250,000 entries this takes
        the flush of a tenth of them from about 2.2 to about 1.1 times the time of the
        kernel's flush alone (C(benchmarks/README.md)).
      - When no more entries match than that, the dump has counted them all and the
        result is exact; other paths, and check mode, always count exactly. The dump walks
        the whole table when nothing matches, as the exact count does.
      - Cannot be combined with O(max_delete), which needs the exact count.
    type: bool
    default: true
seealso:
  - module: netfilter.conntrack.conntrack_info
  - module: netfilter.conntrack.conntrack_entry
'''

EXAMPLES = r'''
- name: Drop the connections DNATed to a dead backend (IPv4 or IPv6 address)
  netfilter.conntrack.conntrack_flush:
    dst_nat: 203.0.113.11
  become: true

- name: Stale UDP entries to a VIP whose backend is not one of the serving endpoints (kube-proxy style)
  netfilter.conntrack.conntrack_flush:
    proto: udp
    orig_dst: 198.51.100.100
    exclude:
      - reply_src: 203.0.113.12
      - reply_src: 203.0.113.13

- name: Everything from a client network, but never more than 5000 entries
  netfilter.conntrack.conntrack_flush:
    netns: router
    orig_src: 198.51.100.0/24
    max_delete: 5000
  check_mode: true
  register: would

- name: Failover on a large table - drop what was DNATed to the old backend, fast
  netfilter.conntrack.conntrack_flush:
    dst_nat: 203.0.113.11
    exact_count: false   # deleted is then the fall of the table's entry count
    return_entries: 0

- name: Flush the whole table (conntrack -F)
  netfilter.conntrack.conntrack_flush:
    all: true

- name: Flush the expectations of the FTP helper
  netfilter.conntrack.conntrack_flush:
    table: expect
    helper: ftp
'''

RETURN = r'''
matched:
  description:
    - Number of entries the filters matched when the flush started.
    - With RV(exact_count=false), the fall of the namespace's entry count over the flush.
  returned: always
  type: int
  sample: 2500
deleted:
  description:
    - Number of entries deleted (0 in check mode).
    - With RV(exact_count=false), the fall of the namespace's entry count over the flush.
  returned: always
  type: int
  sample: 2500
vanished:
  description: Matched entries that were gone when their delete arrived (expired, or deleted by someone else).
  returned: always
  type: int
  sample: 0
entries:
  description: Up to O(return_entries) of the matched entries, as conntrack_info returns them.
  returned: always
  type: list
  elements: dict
method:
  description: The path taken, V(kernel_flush_all), V(kernel_filtered_flush) or V(dump_delete).
  returned: always
  type: str
  sample: kernel_filtered_flush
exact_count:
  description:
    - Whether RV(matched) and RV(deleted) are exact counts; V(false) only when
      O(exact_count=false) stopped the counting dump early.
  returned: always
  type: bool
  sample: true
kernel_filter:
  description:
    - The filter parts the kernel applied (V(family), V(orig_tuple), V(reply_tuple),
      V(mark), V(status), V(zone)), and V(N requests) when a list became that many kernel
      requests.
  returned: always
  type: list
  elements: str
  sample: [family, reply_tuple]
'''

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_flush import argument_spec, flush
from ansible_collections.netfilter.conntrack.plugins.module_utils._module import build_module, run_logic


def main():
    module = build_module(argument_spec(), supports_check_mode=True)
    run_logic(module, flush, filters=True)


if __name__ == '__main__':
    main()
