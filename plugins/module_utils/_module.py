# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""What every module's main() does: build, gate pyroute2, run, translate errors."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netfilter.conntrack.plugins.module_utils._argspec import common_spec
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_client import ConntrackClient
from ansible_collections.netfilter.conntrack.plugins.module_utils._deps import require_pyroute2
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError


def build_module(argument_spec, **kwargs):
    """AnsibleModule with the common options merged in."""
    spec = common_spec()
    spec.update(argument_spec)
    return AnsibleModule(argument_spec=spec, **kwargs)


def run_module(module, action):
    """Call action(module, client) inside a client for module.params['netns'].

    action returns the result dict; ConntrackError becomes fail_json with its message.
    """
    if module.params.get('netns'):
        require_pyroute2(module)
    try:
        with ConntrackClient(module.params.get('netns')) as client:
            result = action(module, client)
    except ConntrackError as exc:
        extra = {'errno': exc.errno} if exc.errno else {}
        module.fail_json(msg=exc.msg, **extra)
    module.exit_json(**result)
