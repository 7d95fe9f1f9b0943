#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test helper: the network namespace of every thread of the interpreter running it."""

from __future__ import annotations

DOCUMENTATION = r'''
module: ns_probe
short_description: The network namespace of every thread of the module's interpreter
description: [Test helper of the mitogen_strategy target.]
author: netfilter.conntrack contributors
options: {}
'''

import os
import sys

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    threads = {}
    for tid in os.listdir('/proc/self/task'):
        try:
            threads[tid] = os.readlink('/proc/self/task/%s/ns/net' % tid)
        except OSError:  # a thread that ended meanwhile
            pass
    module.exit_json(changed=False, pid=os.getpid(), mitogen='mitogen' in sys.modules,
                     namespaces=sorted(set(threads.values())), threads=len(threads))


if __name__ == '__main__':
    main()
