# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""What every module's main() does: build, gate pyroute2, run, translate errors."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netfilter.conntrack.plugins.module_utils._argspec import (
    common_spec, filter_params)
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_client import ConntrackClient
from ansible_collections.netfilter.conntrack.plugins.module_utils._deps import (
    require_pyroute2, require_python)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError


class _Module(AnsibleModule):
    """AnsibleModule whose argument errors name the option.

    ansible-core lists the values of no_log options before it checks types: a string
    given to a dict option with suboptions (``top: orig.src``) makes that step fail
    first, and the user sees only "dictionary requested, could not parse JSON or
    key=value".  The type error that names the option comes right after it.
    """

    def fail_json(self, msg, **kwargs):
        result = getattr(self, 'validation_result', None)
        errors = getattr(getattr(result, 'errors', None), 'errors', None) or []
        if errors and msg == errors[0].msg and type(errors[0]).__name__ == 'NoLogError':
            named = [e.msg for e in errors[1:] if type(e).__name__ != 'NoLogError']
            if named:
                msg = named[0]
        super().fail_json(msg=msg, **kwargs)


def build_module(argument_spec, **kwargs):
    """AnsibleModule with the common options merged in."""
    spec = common_spec()
    spec.update(argument_spec)
    return _Module(argument_spec=spec, **kwargs)


def run_module(module, action):
    """Call action(module, client) inside a client for module.params['netns'].

    action returns the result dict; ConntrackError becomes fail_json with its message.
    """
    require_python(module)
    if module.params.get('netns'):
        require_pyroute2(module)
    try:
        with ConntrackClient(module.params.get('netns')) as client:
            result = action(module, client)
    except ConntrackError as exc:
        extra = {'errno': exc.errno} if exc.errno else {}
        module.fail_json(msg=exc.msg, **extra)
    module.exit_json(**result)


def run_filter_module(argument_spec, logic):
    """main() of a module that takes the filter options: builds it (check mode supported)
    and returns logic(client, filters, params, check_mode)."""
    module = build_module(argument_spec, supports_check_mode=True)
    run_module(module, lambda mod, client: logic(client, filter_params(mod.params), mod.params,
                                                 mod.check_mode))
