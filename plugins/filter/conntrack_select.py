# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: conntrack_select
short_description: Keep the conntrack entries that match the module filters
version_added: 0.1.0
author:
  - netfilter.conntrack team (@netfilter-conntrack)
description:
  - Applies the filter options of M(netfilter.conntrack.conntrack_info) and
    M(netfilter.conntrack.conntrack_flush) to a list of entries on the controller, with
    exactly their semantics (the same compiled filter code); all given options must hold,
    a list-valued option matches any of its values, addresses may be CIDR networks, and
    O(exclude) leaves out what any of its filter sets matches.
  - Use it to slice one registered dump several ways without asking the kernel again.
  - Label names are matched by name. Bit numbers match unnamed bits, or named ones when
    the controller's C(/etc/xtables/connlabel.conf) names them as the managed node's does.
positional: _input
extends_documentation_fragment:
  - netfilter.conntrack.filters
options:
  _input:
    description:
      - The entries, as RV(netfilter.conntrack.conntrack_info#module:entries) returns them, or
        the registered result of M(netfilter.conntrack.conntrack_info) itself.
    type: list
    elements: dict
    required: true
seealso:
  - module: netfilter.conntrack.conntrack_info
  - plugin: netfilter.conntrack.conntrack_count_by
    plugin_type: filter
'''

EXAMPLES = r'''
- name: Read the table once
  netfilter.conntrack.conntrack_info:
  register: ct

- name: TCP connections from one client in state ESTABLISHED (conntrack -L -p tcp --state ESTABLISHED -s ADDR)
  ansible.builtin.debug:
    msg: "{{ ct.entries | netfilter.conntrack.conntrack_select(proto='tcp', proto_state=['ESTABLISHED'], orig_src='198.51.100.2') }}"

- name: UDP to the VIP whose backend is not a serving endpoint (kube-proxy's stale entries)
  ansible.builtin.set_fact:
    stale: >-
      {{ ct.entries | netfilter.conntrack.conntrack_select(
           proto='udp', orig_dst='198.51.100.100',
           exclude=[{'reply_src': '203.0.113.11'}, {'reply_src': '203.0.113.12'}]) }}

- name: TCP states, as awk '/tcp/ {sum[$6]++}' counts them
  ansible.builtin.debug:
    msg: "{{ ct.entries | netfilter.conntrack.conntrack_select(proto='tcp') | netfilter.conntrack.conntrack_count_by('proto_state') }}"
'''

RETURN = r'''
_value:
  description: The matching entries, in their input order.
  type: list
  elements: dict
'''

from ansible_collections.netfilter.conntrack.plugins.plugin_utils._ct_select import select_entries
from ansible_collections.netfilter.conntrack.plugins.plugin_utils._filter_args import (
    entries_arg, filter_errors)

_NAME = 'conntrack_select'


def conntrack_select(entries, **filters):
    """The entries that match every given filter option."""
    entries = entries_arg(_NAME, entries)
    with filter_errors(_NAME):
        return select_entries(entries, filters)


class FilterModule:
    def filters(self):
        return {_NAME: conntrack_select}
