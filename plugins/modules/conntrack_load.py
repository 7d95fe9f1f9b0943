#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: conntrack_load
short_description: Make the entries of a saved file or a list present in the connection-tracking table
version_added: 0.2.0
description:
  - Loads a file written by M(netfilter.conntrack.conntrack_save) (V(jsonl) or V(save)) or
    by C(conntrack -L -o save), or a list of entries as M(netfilter.conntrack.conntrack_info)
    returns them (C(conntrack -R FILE), C(-A)).
  - Merges. Entries missing from the table are created; existing ones (same original tuple
    and zone) are updated where they differ in mark, labels (they end with exactly the
    source's), the status bits userspace may set (C(SEEN_REPLY), C(ASSURED),
    C(FIXED_TIMEOUT); the kernel never clears the first two) and the protocol state; the
    timeout of an existing entry changes only through O(rewrite.timeout). The rest of the
    table is left alone.
  - NAT is carried by the tuples. An entry with C(SRC_NAT)/C(DST_NAT) among its status
    flags (V(save) lines with C(-n)/C(-g)) is created NATed, so that its packets are still
    translated.
  - Validated first. Every entry of the source is read, checked and encoded before the
    first write; a line that does not parse fails the load and names the file and the
    line number, and nothing is written.
  - Batched. Creates and updates go to the kernel 1000 per netlink send. The table is read
    once, keeping two integers per entry.
author:
  - netfilter.conntrack team (@netfilter-conntrack)
extends_documentation_fragment:
  - netfilter.conntrack.common
  - netfilter.conntrack.filters
attributes:
  check_mode:
    support: full
    description: Reports what would be created, updated, left unchanged or skipped as expired; writes nothing.
  diff_mode:
    support: none
    description: No diff is returned; the counts say what changed.
  idempotent:
    support: full
    description: A second identical run reports C(changed=false) and RV(unchanged) = RV(count).
options:
  src:
    description:
      - A file on the managed node. Mutually exclusive with O(entries).
    type: path
  entries:
    description:
      - Entries as M(netfilter.conntrack.conntrack_info) returns them. Mutually exclusive
        with O(src).
    type: list
    elements: dict
  format:
    description:
      - Format of O(src). V(auto) detects it from the first line that is not empty
        (C({) jsonl, C(-) save lines).
    type: str
    choices: [auto, jsonl, save]
    default: auto
  rewrite:
    description:
      - Values given to every loaded entry instead of its own. The man page's copy of zone
        11 into zone 12 is O(zone=11) with O(rewrite.zone=12).
    type: dict
    suboptions:
      zone:
        description: Zone of every loaded entry (both directions).
        type: int
      mark:
        description: Mark of every loaded entry.
        type: int
      timeout:
        description:
          - Timeout (seconds) of every loaded entry, created or updated. An entry that
            differs in nothing else is not updated for it.
        type: int
notes:
  - A jsonl file records when it was saved; that time is taken off each entry's timeout,
    and entries whose time ran out are skipped and counted in RV(expired).
  - Labels need a user of connection labels in the namespace (an nftables rule with
    C(ct label)); without one the kernel drops them on create (the module warns) and
    refuses updates of labels (RV(failures)).
  - Label names are those of this host's C(/etc/xtables/connlabel.conf).
  - A table that fills up (C(nf_conntrack_max)) fails the task with RV(refused) and
    RV(failures) (the entries before were loaded); nothing is lost silently.
seealso:
  - module: netfilter.conntrack.conntrack_save
'''

EXAMPLES = r'''
- name: Load what the other router saved
  netfilter.conntrack.conntrack_load:
    src: /var/tmp/conntrack.jsonl

- name: Copy zone 11 into zone 12 (conntrack -L -w 11 -o save | sed | conntrack -R)
  netfilter.conntrack.conntrack_load:
    src: /var/tmp/conntrack.jsonl
    zone: 11
    rewrite:
      zone: 12

- name: Load entries read with conntrack_info on another host
  netfilter.conntrack.conntrack_load:
    entries: "{{ hostvars['rtr1'].ct.entries }}"
'''

RETURN = r'''
count:
  description: Entries read from the source after the filters.
  returned: always
  type: int
  sample: 25000
created:
  description: Entries created (in check mode, that would be created).
  returned: always
  type: int
  sample: 24990
updated:
  description: Existing entries updated.
  returned: always
  type: int
  sample: 10
unchanged:
  description: Existing entries that already were as the source says.
  returned: always
  type: int
  sample: 0
expired:
  description: Entries of a jsonl source whose timeout ran out since it was saved (skipped).
  returned: always
  type: int
  sample: 0
refused:
  description:
    - Entries the kernel refused (for example a full table). When not 0 the task fails and
      still returns every count, and C(msg) says C(N of M entries were refused ...) with the
      first refusal. (Named C(refused), not C(failed), which Ansible keeps for itself.)
  returned: always
  type: int
  sample: 0
failures:
  description: The first ten refusals, C({entry, msg}) with the kernel's reason in words.
  returned: always
  type: list
  elements: dict
  sample: [{entry: "tcp 198.51.100.7:40000 -> 203.0.113.10:443 zone 0",
            msg: "the table is full (nf_conntrack_max reached): ENOMEM"}]
'''

from ansible_collections.netfilter.conntrack.plugins.module_utils._argspec import filter_spec
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_load import load_table
from ansible_collections.netfilter.conntrack.plugins.module_utils._module import (
    build_module, run_logic)


def argument_spec():
    spec = filter_spec()
    spec.update(
        src={'type': 'path'},
        entries={'type': 'list', 'elements': 'dict'},
        format={'type': 'str', 'default': 'auto', 'choices': ['auto', 'jsonl', 'save']},
        rewrite={'type': 'dict', 'options': {'zone': {'type': 'int'}, 'mark': {'type': 'int'},
                                             'timeout': {'type': 'int'}}},
    )
    return spec


def main():
    module = build_module(argument_spec(), supports_check_mode=True,
                          mutually_exclusive=[('src', 'entries')],
                          required_one_of=[('src', 'entries')])
    run_logic(module, load_table, filters=True)


if __name__ == '__main__':
    main()
