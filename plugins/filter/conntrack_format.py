# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: conntrack_format
short_description: Render conntrack entries as the lines C(conntrack -L -o ...) prints
version_added: 0.1.0
author:
  - netfilter.conntrack team (@netfilter-conntrack)
description:
  - Renders each entry exactly as C(conntrack -L) of conntrack-tools 1.4.7
    (libnetfilter_conntrack 1.0.9) prints it, character for character, so that the
    output can be grepped, diffed and read like what people already know. Column padding,
    C([UNREPLIED]), C([ASSURED]) (C([OFFLOAD]), C([HW_OFFLOAD])), counters, C(zone-orig=),
    C(zone-reply=), C(mark=), C(zone=), C(delta-time=), C(helper=), C(use=) all come where
    the command puts them.
  - The lines come in the order of the input; the command prints in hash-table order, so
    compare the two as sets, or sort both.
  - Entries must come from a table dump (M(netfilter.conntrack.conntrack_info)); the
    timeout, state and counters are printed as they were at that moment.
positional: _input, output
options:
  _input:
    description:
      - The entries, or the registered result of M(netfilter.conntrack.conntrack_info).
    type: list
    elements: dict
    required: true
  output:
    description:
      - The command's C(-o) value, a comma-separated string or a list.
      - V(extended) adds the layer 3 columns (C(ipv4     2)); V(id) appends C(id=); V(ktimestamp)
        adds C([start=...]) and C([stop=...]) in the controller's local time; V(labels)
        appends the connection labels that have names; V(timestamp) is accepted and, as with
        C(conntrack -L), changes nothing (it stamps C(-E) events only).
      - An empty string, an empty list or V(default) is the command's default output (no C(-o)).
      - V(xml) renders the whole document C(-o xml) prints, one list item per line (the
        C(<?xml ...?>) and C(<conntrack>) header, one C(<flow>) per entry, C(</conntrack>)),
        so that joining them with newlines (the join filter) gives the document; with it
        V(ktimestamp) adds the C(<timestamp>) element, V(labels) the named labels, and V(id) and V(timestamp)
        change nothing (C(<id>) is always there).
      - V(save) renders the C(conntrack) argument lines C(-o save) prints (C(-A -t ... -u ...
        -s ...)), without mark and labels as the command writes them; see
        M(netfilter.conntrack.conntrack_save) for lines that keep them.
    type: raw
    default: extended
  now:
    description:
      - The time, in seconds since the epoch, that C(delta-time=) of a live entry counts to
        (the command uses its clock when it prints). Default the current time.
    type: int
  labelmap:
    description:
      - Whether the host that listed the entries has a C(/etc/xtables/connlabel.conf). With
        one, V(labels) prints C(labels=NAME,...) (named bits only), and a bare C(labels) for
        an entry whose bits all lack names (a quirk of the command); without one the command
        prints no labels at all.
      - Default guessed from the entries (a label name anywhere means the file exists).
    type: bool
notes:
  - C(-o xml) prints SCTP and DCCP states with the TCP state names of the same number
    (a quirk of libnetfilter_conntrack); so does this filter.
  - V(save) lines of SCTP entries lack C(--orig-vtag) and C(--reply-vtag), which an entry
    does not hold.
seealso:
  - module: netfilter.conntrack.conntrack_info
'''

EXAMPLES = r'''
- name: Read the table
  netfilter.conntrack.conntrack_info:
  register: ct

- name: Show it as conntrack -L -o extended does
  ansible.builtin.debug:
    msg: "{{ ct.entries | netfilter.conntrack.conntrack_format }}"

- name: The same as one text, with ids, into a file to diff later
  ansible.builtin.copy:
    content: "{{ ct.entries | netfilter.conntrack.conntrack_format('extended,id') | sort | join('\n') }}\n"
    dest: /tmp/conntrack.txt
    mode: "0644"
  delegate_to: localhost

- name: The table as the XML document conntrack -L -o xml prints
  ansible.builtin.copy:
    content: "{{ ct.entries | netfilter.conntrack.conntrack_format('xml') | join('\n') }}\n"
    dest: /tmp/conntrack.xml
    mode: "0644"
  delegate_to: localhost

- name: The awk recipes of old work on the rendered lines
  ansible.builtin.debug:
    msg: "{{ ct.entries | netfilter.conntrack.conntrack_format(['extended', 'id']) | select('search', 'dport=443 ') | list }}"
'''

RETURN = r'''
_value:
  description: One line (without newline) per entry, in input order.
  type: list
  elements: str
  sample:
    - >-
      ipv4     2 tcp      6 431999 ESTABLISHED src=198.51.100.2 dst=198.51.100.100
      sport=49168 dport=8080 packets=4 bytes=222 src=203.0.113.11 dst=203.0.113.1
      sport=8080 dport=49168 packets=3 bytes=174 [ASSURED] mark=0 delta-time=6 use=1
    - >-
      ipv4     2 udp      17 595 src=198.51.100.2 dst=203.0.113.11 sport=55633 dport=5999
      packets=1 bytes=36 [UNREPLIED] src=203.0.113.11 dst=203.0.113.1 sport=5999 dport=55633
      packets=0 bytes=0 mark=0 delta-time=5 use=1
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_format import format_entries
from ansible_collections.netfilter.conntrack.plugins.plugin_utils._filter_args import (
    entries_arg, filter_errors, int_arg)

_NAME = 'conntrack_format'


def conntrack_format(entries, output='extended', now=None, labelmap=None):
    """The lines `conntrack -L -o OUTPUT` prints for the entries."""
    entries = entries_arg(_NAME, entries)
    if now is not None:
        now = int_arg(_NAME, now, 'now', low=0)
    if labelmap is not None and not isinstance(labelmap, bool):
        raise AnsibleFilterError('%s: labelmap must be a boolean, not %.80r' % (_NAME, labelmap))
    with filter_errors(_NAME):
        return format_entries(entries, output, now=now, labelmap=labelmap)


class FilterModule:
    def filters(self):
        return {_NAME: conntrack_format}
