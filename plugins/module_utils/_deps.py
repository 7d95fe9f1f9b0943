# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""The managed node's gates: its Python and pyroute2 (doc fragment
netfilter.conntrack.common, requirements).

pyroute2 is looked up, not imported: importing it costs ~0.2 s per task and it is only
needed to open a socket inside another network namespace (_ct_client imports it then).

When the interpreter running the module lacks pyroute2 but the distribution's Python has
it (Debian/Ubuntu python3-pyroute2, Fedora/RHEL python3-pyroute2), the module is re-run
under that Python, as ansible.posix's firewalld module does for its bindings.
"""

from __future__ import annotations

import importlib.util
import platform
import re
import sys

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.respawn import (
    has_respawned,
    probe_interpreters_for_module,
    respawn_module,
)

# The oldest versions tests/integration/targets/platform_smoke proved (README, support
# matrix); older ones are refused with a message that names what to install.
PYTHON_MIN = (3, 9)
PYROUTE2_MIN = '0.5.14'
# Python 3.12 removed distutils, which pyroute2 0.5 imports; 0.6.13 is the oldest proven there.
PYROUTE2_MIN_PY312 = '0.6.13'

# Where distributions install the Python their python3-pyroute2 package is built for,
# probed in this order.
SYSTEM_PYTHONS = (
    '/usr/bin/python3',
    '/usr/libexec/platform-python',
)


def _running():
    return 'Python %s (%s)' % (platform.python_version(), sys.executable)


def require_python(module):
    """Fail with both versions named when this Python is older than PYTHON_MIN."""
    if sys.version_info[:2] >= PYTHON_MIN:
        return
    want = '.'.join(map(str, PYTHON_MIN))
    module.fail_json(msg='netfilter.conntrack needs Python >= %s on the managed node; this is %s. '
                         'Set ansible_python_interpreter to a Python %s or newer.'
                         % (want, _running(), want))


def version_tuple(version):
    """'0.7.12' -> (0, 7, 12); the leading numbers only ('0.9.1.post1' -> (0, 9, 1))."""
    return tuple(int(n) for n in re.findall(r'\d+', version.split('+')[0])[:3])


def pyroute2_min():
    """The oldest pyroute2 that works on this Python."""
    return PYROUTE2_MIN_PY312 if sys.version_info[:2] >= (3, 12) else PYROUTE2_MIN


def pyroute2_version():
    """The installed pyroute2's version from its metadata (no import), or None."""
    try:
        from importlib.metadata import version
        return version('pyroute2')
    except Exception:  # no metadata (a source checkout): not refused for lack of it
        return None


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
        found, want = pyroute2_version(), pyroute2_min()
        if found is None or version_tuple(found) >= version_tuple(want):
            return
        module.fail_json(msg='netns: pyroute2 %s on %s is too old: netfilter.conntrack needs '
                             'pyroute2 >= %s there to enter a network namespace. Install a newer '
                             "one (pip install 'pyroute2>=%s', or the distribution's python3-pyroute2)."
                             % (found, _running(), want, want))
    reason = 'to open a socket inside a network namespace (netns)'
    if not has_respawned():
        interpreter = probe_interpreters_for_module(SYSTEM_PYTHONS, 'pyroute2')
        if interpreter:
            respawn_module(interpreter)  # does not return
        reason += '; none of %s has it either' % ', '.join(SYSTEM_PYTHONS)
    module.fail_json(msg=missing_required_lib('pyroute2 >= %s' % PYROUTE2_MIN, reason=reason,
                                              url='https://pypi.org/project/pyroute2/'))
