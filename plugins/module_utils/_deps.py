# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""The pyroute2 gate (doc fragment netfilter.conntrack.requirements).

pyroute2 is looked up, not imported: importing it costs ~0.2 s per task and it is only
needed to open a socket inside another network namespace (_ct_client imports it then).
"""

from __future__ import annotations

import importlib.util

from ansible.module_utils.basic import missing_required_lib

PYROUTE2_MIN = '0.7.0'


def pyroute2_available():
    try:
        return importlib.util.find_spec('pyroute2') is not None
    except (ImportError, ValueError):
        return False


def require_pyroute2(module):
    """Fail the module with Ansible's standard message when pyroute2 is missing."""
    if not pyroute2_available():
        module.fail_json(msg=missing_required_lib('pyroute2 >= %s' % PYROUTE2_MIN,
                                                  url='https://pypi.org/project/pyroute2/'))
