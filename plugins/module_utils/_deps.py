# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""The pyroute2 gate (doc fragment netfilter.conntrack.common, requirements).

pyroute2 is looked up, not imported: importing it costs ~0.2 s per task and it is only
needed to open a socket inside another network namespace (_ct_client imports it then).

When the interpreter running the module lacks pyroute2 but the distribution's Python has
it (Debian/Ubuntu python3-pyroute2, Fedora/RHEL python3-pyroute2), the module is re-run
under that Python, as ansible.posix's firewalld module does for its bindings.
"""

from __future__ import annotations

import importlib.util

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.respawn import (
    has_respawned,
    probe_interpreters_for_module,
    respawn_module,
)

PYROUTE2_MIN = '0.7.0'

# Where distributions install the Python their python3-pyroute2 package is built for,
# probed in this order.
SYSTEM_PYTHONS = (
    '/usr/bin/python3',
    '/usr/libexec/platform-python',
)


def pyroute2_available():
    try:
        return importlib.util.find_spec('pyroute2') is not None
    except (ImportError, ValueError):
        return False


def require_pyroute2(module):
    """Return when pyroute2 can be imported; otherwise respawn or fail.

    Respawn: when this interpreter lacks pyroute2 and one of SYSTEM_PYTHONS has it, the
    module is run again under that interpreter (same arguments) and this process exits
    with its result; only once (a respawned module that still lacks it fails).
    Fail: Ansible's standard missing-library message.
    """
    if pyroute2_available():
        return
    reason = 'to open a socket inside a network namespace (netns)'
    if not has_respawned():
        interpreter = probe_interpreters_for_module(SYSTEM_PYTHONS, 'pyroute2')
        if interpreter:
            respawn_module(interpreter)  # does not return
        reason += '; none of %s has it either' % ', '.join(SYSTEM_PYTHONS)
    module.fail_json(msg=missing_required_lib('pyroute2 >= %s' % PYROUTE2_MIN, reason=reason,
                                              url='https://pypi.org/project/pyroute2/'))
