# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""What every module's main() does: build, gate pyroute2, run its logic, translate errors.

Every module's logic has one signature::

    logic(client, filters, params, check_mode=False, diff_mode=False, warn=None)

``filters``: the filter options given (_argspec.filter_params; {} for the modules that
take none), ``params``: all the module's options, ``warn``: AnsibleModule.warn.  It
returns the result dict and raises ConntrackError naming the option at fault.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import NoLogError

from ansible_collections.netfilter.conntrack.plugins.module_utils._argspec import (
    common_spec, filter_params)
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_client import ConntrackClient
from ansible_collections.netfilter.conntrack.plugins.module_utils._deps import require_pyroute2
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError


class _Module(AnsibleModule):
    """AnsibleModule whose argument errors name the option.

    ansible-core lists the values of no_log options before it checks types: a string
    given to a dict option with suboptions (``top: orig.src``) makes that step fail
    first, and the user sees only "dictionary requested, could not parse JSON or
    key=value".  The type error that names the option comes right after it: while the
    arguments are checked, a failure that is such a NoLogError is replaced by the next
    error of the same validation (ansible-core's public ArgumentSpecValidator).
    """

    _checking_arguments = False

    def __init__(self, *args, **kwargs):
        self._checking_arguments = True
        super().__init__(*args, **kwargs)
        self._checking_arguments = False

    def fail_json(self, msg, **kwargs):
        if self._checking_arguments:
            msg = _named_argument_error(self.argument_spec, self.params, msg)
        super().fail_json(msg=msg, **kwargs)


def _named_argument_error(spec, params, msg):
    """The first argument error after the no_log one that is ``msg``, else msg."""
    try:
        errors = list(ArgumentSpecValidator(spec).validate(dict(params)).errors)
    except Exception:  # pylint: disable=broad-except  # the original message stands
        return msg
    if errors and isinstance(errors[0], NoLogError) and errors[0].msg == msg:
        for err in errors[1:]:
            if not isinstance(err, NoLogError):
                return err.msg
    return msg


def build_module(argument_spec, **kwargs):
    """AnsibleModule with the common options merged in."""
    spec = common_spec()
    spec.update(argument_spec)
    return _Module(argument_spec=spec, **kwargs)


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


def run_logic(module, logic, filters=False):
    """Run logic(client, filters, params, check_mode, diff_mode, warn) for a built module
    and exit with its result; ``filters``: whether the module takes the filter options."""
    run_module(module, lambda mod, client: logic(
        client, filter_params(mod.params) if filters else {}, mod.params,
        check_mode=mod.check_mode, diff_mode=mod._diff, warn=mod.warn))


def run_filter_module(argument_spec, logic):
    """main() of a module that takes the filter options: build it, run its logic."""
    run_logic(build_module(argument_spec, supports_check_mode=True), logic, filters=True)
