#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: conntrack_save
short_description: Write the connection-tracking entries that match filters to a file
version_added: 0.2.0
description:
  - Writes the matching entries to a file on the managed node (C(conntrack -L -o save > FILE),
    C(-o xml)), for M(netfilter.conntrack.conntrack_load) on this or another host, for
    C(conntrack -R), or to keep.
  - Streamed. Each entry is written as the dump decodes it, so memory does not grow with
    the table.
  - Atomic. The file is written beside O(dest) under a temporary name and renamed over it
    at the end; a failure leaves the old file as it was and no temporary file.
author:
  - netfilter.conntrack team (@netfilter-conntrack)
extends_documentation_fragment:
  - netfilter.conntrack.common
  - netfilter.conntrack.filters
attributes:
  check_mode:
    support: full
    description: Counts the matching entries (RV(count)) and writes nothing.
  diff_mode:
    support: none
    description: No diff is returned.
  idempotent:
    support: none
    description: The table changes all the time (timeouts tick); every run writes the file.
options:
  dest:
    description:
      - Path of the file on the managed node. Its folder must exist.
    type: path
    required: true
  mode:
    description:
      - Permissions of the file, an octal string as the M(ansible.builtin.file) module takes it.
    type: raw
    default: '0600'
  format:
    description:
      - V(jsonl) (lossless) writes a first line, a JSON object with the keys C(conntrack_save)
        (the format's version, 1) and C(time) (when it was saved, in seconds since the
        epoch), then one entry per line as M(netfilter.conntrack.conntrack_info) returns it.
      - V(save) writes the lines C(conntrack -L -o save) prints (C(-A -t ... -u ... -s ...)),
        which C(conntrack -R) loads, plus what the command's own save drops. The mark is
        written as C(-m N) after C(-u) (before it the 1.4.7 command stores the status bits as
        the mark), labels named in C(/etc/xtables/connlabel.conf) as C(--label-add A,B), and
        label bits without a name as a comment line C(# labels N,M) after their entry,
        which M(netfilter.conntrack.conntrack_load) reads and the command skips.
      - V(xml) writes the document C(conntrack -L -o xml) prints.
    type: str
    choices: [jsonl, save, xml]
    default: jsonl
notes:
  - SCTP verification tags and the DCCP role are not part of an entry; V(save) lines of such
    entries lack C(--orig-vtag), C(--reply-vtag) and C(--role).
  - C(conntrack -R) of the 1.4.7 command crashes on a file that holds a line with
    C(--label-add) among other lines; M(netfilter.conntrack.conntrack_load) reads such files.
seealso:
  - module: netfilter.conntrack.conntrack_load
  - module: netfilter.conntrack.conntrack_info
'''

EXAMPLES = r'''
- name: Save the table losslessly before a maintenance
  netfilter.conntrack.conntrack_save:
    dest: /var/tmp/conntrack.jsonl

- name: Save the TCP entries to the VIP as conntrack -R loads them
  netfilter.conntrack.conntrack_save:
    dest: /var/tmp/vip.save
    format: save
    proto: tcp
    orig_dst: 203.0.113.10

- name: The table as conntrack -L -o xml prints it
  netfilter.conntrack.conntrack_save:
    dest: /var/tmp/conntrack.xml
    format: xml
    mode: '0640'
'''

RETURN = r'''
count:
  description: Entries written (in check mode, that would be written).
  returned: always
  type: int
  sample: 25000
dest:
  description: The absolute path of the file.
  returned: always
  type: str
  sample: /var/tmp/conntrack.jsonl
format:
  description: The format written.
  returned: always
  type: str
  sample: jsonl
size:
  description: Size of the file in bytes (0 in check mode).
  returned: always
  type: int
  sample: 7340032
'''

from ansible_collections.netfilter.conntrack.plugins.module_utils._argspec import filter_spec
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_save import save_table
from ansible_collections.netfilter.conntrack.plugins.module_utils._module import run_filter_module


def argument_spec():
    spec = filter_spec()
    spec.update(
        dest={'type': 'path', 'required': True},
        mode={'type': 'raw', 'default': '0600'},
        format={'type': 'str', 'default': 'jsonl', 'choices': ['jsonl', 'save', 'xml']},
    )
    return spec


def main():
    run_filter_module(argument_spec(), save_table)


if __name__ == '__main__':
    main()
