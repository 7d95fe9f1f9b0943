# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: conntrack_count_by
short_description: Count conntrack entries per value of one key
version_added: 0.1.0
author:
  - netfilter.conntrack team (@netfilter-conntrack)
description:
  - Counts the entries per value of a dotted key, most frequent first; the one-filter
    answer to the shell recipes that count one column of C(conntrack -L) with
    C(awk '{sum[$N]++} END ...').
  - The same code as the O(netfilter.conntrack.conntrack_info#module:count_by) option of
    M(netfilter.conntrack.conntrack_info), which counts on the managed node without
    carrying the entries to the controller; prefer it for very large tables.
  - Values become strings (mapping keys); a null value (or a key an entry lacks, such as
    C(counters) with accounting off) counts as V(null); a list value (such as C(status))
    counts as its comma-joined items.
  - A key no entry can have (a typo such as V(orig.scr) or V(protoo)) is an error that
    names the keys there are, unless one of the given dicts has it (lists of other dicts,
    such as the events of M(netfilter.conntrack.conntrack_events), count by their own keys).
positional: _input, key
options:
  _input:
    description:
      - The entries, or the registered result of M(netfilter.conntrack.conntrack_info).
    type: list
    elements: dict
    required: true
  key:
    description:
      - A dotted path into the entry, for example V(proto) (by L4 protocol), V(family) (by
        L3 protocol), V(proto_state), V(ctstate), V(orig.src), V(reply.src), V(mark),
        V(zone), V(counters.orig.bytes).
    type: str
    required: true
seealso:
  - plugin: netfilter.conntrack.conntrack_top
    plugin_type: filter
  - module: netfilter.conntrack.conntrack_info
'''

EXAMPLES = r'''
- name: Read the table
  netfilter.conntrack.conntrack_info:
  register: ct

- name: By L4 protocol (awk '{sum[$3]++}' over conntrack -L -o extended)
  ansible.builtin.debug:
    msg: "{{ ct.entries | netfilter.conntrack.conntrack_count_by('proto') }}"
  # {"tcp": 1200, "udp": 310, "icmp": 4}

- name: By L3 protocol (awk '{sum[$1]++}')
  ansible.builtin.debug:
    msg: "{{ ct.entries | netfilter.conntrack.conntrack_count_by('family') }}"
  # {"ipv4": 1400, "ipv6": 114}

- name: TCP states (awk '/tcp/ {sum[$6]++}')
  ansible.builtin.debug:
    msg: "{{ ct.entries | netfilter.conntrack.conntrack_select(proto='tcp') | netfilter.conntrack.conntrack_count_by('proto_state') }}"
  # {"ESTABLISHED": 1100, "TIME_WAIT": 90, "SYN_SENT": 10}

- name: The registered result works as well
  ansible.builtin.debug:
    msg: "{{ ct | netfilter.conntrack.conntrack_count_by('ctstate') }}"
'''

RETURN = r'''
_value:
  description: "C({value: count}), most frequent value first."
  type: dict
'''

from ansible_collections.netfilter.conntrack.plugins.module_utils._aggregate import count_by
from ansible_collections.netfilter.conntrack.plugins.plugin_utils._filter_args import (
    entries_arg, filter_errors, key_arg)

_NAME = 'conntrack_count_by'


def conntrack_count_by(entries, key):
    """{value: count} over the entries for one dotted key."""
    entries = entries_arg(_NAME, entries)
    key = key_arg(_NAME, key)
    with filter_errors(_NAME):
        return count_by(entries, key)


class FilterModule:
    def filters(self):
        return {_NAME: conntrack_count_by}
