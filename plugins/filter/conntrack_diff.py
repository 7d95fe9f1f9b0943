# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: conntrack_diff
short_description: Compare two conntrack dumps connection by connection
version_added: 0.1.0
author:
  - netfilter.conntrack team (@netfilter-conntrack)
description:
  - Matches the entries of two dumps by connection identity, as the kernel does (family,
    protocol, original tuple, zone), and tells which connections appeared, which went away
    and which are still there; for checking what a failover, a flush or a rule change did.
  - The reply tuple is not part of the identity, so a connection that now goes to another
    backend with the same original tuple is C(kept); compare C(reply) of the kept entries
    for that.
positional: _input, after
options:
  _input:
    description:
      - The entries before (or the registered result of
        M(netfilter.conntrack.conntrack_info)).
    type: list
    elements: dict
    required: true
  after:
    description: The entries after (or a registered result).
    type: list
    elements: dict
    required: true
seealso:
  - module: netfilter.conntrack.conntrack_info
  - module: netfilter.conntrack.conntrack_flush
'''

EXAMPLES = r'''
- name: Before the failover
  netfilter.conntrack.conntrack_info:
    orig_dst: 198.51.100.100
  register: before

- name: Move the VIP to the standby backend (your own change)
  ansible.builtin.command: nft -f /etc/nftables.d/vip-standby.nft
  changed_when: true

- name: After
  netfilter.conntrack.conntrack_info:
    orig_dst: 198.51.100.100
  register: after

- name: What changed
  ansible.builtin.set_fact:
    changes: "{{ before.entries | netfilter.conntrack.conntrack_diff(after.entries) }}"

- name: No connection may still go to the old backend
  ansible.builtin.assert:
    that:
      - changes.kept | netfilter.conntrack.conntrack_select(reply_src='203.0.113.11') | length == 0
    fail_msg: "{{ changes.kept | netfilter.conntrack.conntrack_format | join('\n') }}"
'''

RETURN = r'''
_value:
  description: The three lists.
  type: dict
  contains:
    added:
      description: Entries of O(after) whose connection is not in O(_input).
      type: list
      elements: dict
    removed:
      description: Entries of O(_input) whose connection is not in O(after).
      type: list
      elements: dict
    kept:
      description: Entries of O(after) whose connection was in O(_input) (their new state).
      type: list
      elements: dict
'''

from ansible_collections.netfilter.conntrack.plugins.plugin_utils._ct_diff import diff_entries
from ansible_collections.netfilter.conntrack.plugins.plugin_utils._filter_args import (
    entries_arg, filter_errors)

_NAME = 'conntrack_diff'


def conntrack_diff(before, after):
    """{added, removed, kept} between two lists of entries."""
    before = entries_arg(_NAME, before, '_input (before)')
    after = entries_arg(_NAME, after, 'after')
    with filter_errors(_NAME):
        return diff_entries(before, after)


class FilterModule:
    def filters(self):
        return {_NAME: conntrack_diff}
