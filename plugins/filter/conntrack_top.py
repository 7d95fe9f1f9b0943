# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: conntrack_top
short_description: The most frequent values of one key among conntrack entries (top talkers)
version_added: 0.1.0
author:
  - netfilter.conntrack team (@netfilter-conntrack)
description:
  - The O(n) most frequent values of a dotted key with their counts, most first; the
    one-filter answer to
    C(conntrack -L -o extended | awk '{print $7}' | cut -d "=" -f 2 | sort | uniq -c | sort -nr | head -n 10).
  - The same code as the O(netfilter.conntrack.conntrack_info#module:top) option of
    M(netfilter.conntrack.conntrack_info), which computes it on the managed node; prefer
    that for very large tables.
  - Values keep their type (an address is a string, a mark an integer); values with the
    same count come in the order they were first seen.
positional: _input, key, n
options:
  _input:
    description:
      - The entries, or the registered result of M(netfilter.conntrack.conntrack_info).
    type: list
    elements: dict
    required: true
  key:
    description:
      - A dotted path into the entry, for example V(orig.src) (top sources), V(orig.dst),
        V(reply.src) (backends), V(orig.dport).
      - A key no entry can have (a typo such as V(orig.scr)) is an error that names the
        keys there are, unless one of the given dicts has it.
    type: str
    required: true
  n:
    description: How many values to return.
    type: int
    default: 10
seealso:
  - plugin: netfilter.conntrack.conntrack_count_by
    plugin_type: filter
  - module: netfilter.conntrack.conntrack_info
'''

EXAMPLES = r'''
- name: Read the table
  netfilter.conntrack.conntrack_info:
  register: ct

- name: Top 10 sources
  ansible.builtin.debug:
    msg: "{{ ct.entries | netfilter.conntrack.conntrack_top('orig.src', 10) }}"
  # [{"value": "198.51.100.2", "count": 812}, {"value": "198.51.100.7", "count": 40}, ...]

- name: The three busiest backends behind a VIP
  ansible.builtin.debug:
    msg: >-
      {{ ct.entries | netfilter.conntrack.conntrack_select(orig_dst='198.51.100.100')
         | netfilter.conntrack.conntrack_top('reply.src', n=3) }}
'''

RETURN = r'''
_value:
  description: "C([{value, count}]), most frequent first, at most O(n) items."
  type: list
  elements: dict
'''

from ansible_collections.netfilter.conntrack.plugins.module_utils._aggregate import top
from ansible_collections.netfilter.conntrack.plugins.plugin_utils._filter_args import (
    entries_arg, filter_errors, int_arg, key_arg)

_NAME = 'conntrack_top'


def conntrack_top(entries, key, n=10):
    """[{value, count}] of the n most frequent values of one dotted key."""
    entries = entries_arg(_NAME, entries)
    key = key_arg(_NAME, key)
    n = int_arg(_NAME, n, 'n', low=1)
    with filter_errors(_NAME):
        return top(entries, key, n)


class FilterModule:
    def filters(self):
        return {_NAME: conntrack_top}
