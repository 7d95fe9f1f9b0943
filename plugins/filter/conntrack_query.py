# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: conntrack_query
short_description: Query conntrack entries with a JMESPath expression
version_added: 0.1.0
author:
  - netfilter.conntrack team (@netfilter-conntrack)
description:
  - Evaluates a JMESPath expression (U(https://jmespath.org)) over the list of entries,
    for projections and conditions the other filters do not cover.
  - The expression sees the entries as a list of dicts with the keys described in
    M(netfilter.conntrack.conntrack_info) (C(orig), C(reply), C(proto), C(status), ...).
requirements:
  - jmespath (Python library, on the controller)
positional: _input, expression
options:
  _input:
    description:
      - The entries, or the registered result of M(netfilter.conntrack.conntrack_info).
    type: list
    elements: dict
    required: true
  expression:
    description: The JMESPath expression.
    type: str
    required: true
seealso:
  - plugin: community.general.json_query
    plugin_type: filter
  - plugin: netfilter.conntrack.conntrack_select
    plugin_type: filter
'''

EXAMPLES = r'''
- name: Read the table
  netfilter.conntrack.conntrack_info:
  register: ct

- name: Source ports of the connections DNATed to one backend
  ansible.builtin.debug:
    msg: >-
      {{ ct.entries | netfilter.conntrack.conntrack_query("[?reply.src=='203.0.113.11'].orig.sport") }}

- name: "'src:sport -> dst:dport' of unreplied UDP flows"
  ansible.builtin.debug:
    msg: "{{ ct.entries | netfilter.conntrack.conntrack_query(unreplied) }}"
  vars:
    unreplied: >-
      [?proto=='udp' && !contains(status, 'SEEN_REPLY')].join('', [orig.src, ':',
      to_string(orig.sport), ' -> ', orig.dst, ':', to_string(orig.dport)])

- name: The entries with the most bytes in the reply direction (accounting on)
  ansible.builtin.debug:
    msg: "{{ ct.entries | netfilter.conntrack.conntrack_query('reverse(sort_by([?counters], &counters.reply.bytes))[:5]') }}"
'''

RETURN = r'''
_value:
  description: Whatever the expression yields (a list, a dict, a scalar, or null).
  type: raw
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.netfilter.conntrack.plugins.plugin_utils._ct_query import (
    HAS_JMESPATH, JMESPATH_IMPORT_ERROR, query_entries)
from ansible_collections.netfilter.conntrack.plugins.plugin_utils._filter_args import (
    entries_arg, filter_errors)

_NAME = 'conntrack_query'


def conntrack_query(entries, expression):
    """The result of a JMESPath expression over the entries."""
    if not HAS_JMESPATH:
        raise AnsibleFilterError('%s needs the jmespath Python library on the controller '
                                 '(pip install jmespath): %s' % (_NAME, JMESPATH_IMPORT_ERROR))
    entries = entries_arg(_NAME, entries)
    if not isinstance(expression, str) or not expression.strip():
        raise AnsibleFilterError('%s: expression must be a JMESPath expression (a string), '
                                 'not %.80r' % (_NAME, expression))
    with filter_errors(_NAME):
        return query_entries(entries, expression)


class FilterModule:
    def filters(self):
        return {_NAME: conntrack_query}
