# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """Common options (plugins/module_utils/_argspec.py common_spec) and requirements."""

    DOCUMENTATION = r'''
options:
  netns:
    description:
      - Network namespace to work in, without moving the Ansible process.
      - A name under C(/run/netns) (as C(ip netns add) creates), or an absolute path such
        as C(/proc/1234/ns/net).
      - An empty value (an undefined variable) is an error, not the module's own namespace.
      - A namespace that does not exist is an error; it is never created.
      - When omitted, the namespace of the module process (usually the host's).
    type: str
requirements:
  - Python >= 3.9 on the managed node.
  - pyroute2 >= 0.5.14 (>= 0.6.13 on Python 3.12 and newer) on the managed node, used to open
    the netlink socket inside O(netns) only.
    When the Python running the module lacks it but the system Python has it (for example
    Debian's C(python3-pyroute2)), the module re-runs itself under C(/usr/bin/python3).
  - Linux with nf_conntrack and nf_conntrack_netlink (ctnetlink).
  - "root or CAP_NET_ADMIN (use C(become: true))."
notes:
  - Talks ctnetlink directly; the C(conntrack) command is never run.
'''
