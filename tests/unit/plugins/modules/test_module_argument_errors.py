# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_module._Module: an argument error names the option even where ansible-core's first
error (its no_log pass) does not."""

from __future__ import annotations

import contextlib
import json
from unittest import mock

import pytest

from ansible.module_utils import basic

from ansible_collections.netfilter.conntrack.plugins.module_utils import _module
from ansible_collections.netfilter.conntrack.plugins.modules import conntrack_info

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    @contextlib.contextmanager
    def patch_module_args(args=None):
        with mock.patch.object(basic, '_ANSIBLE_ARGS',
                               json.dumps({'ANSIBLE_MODULE_ARGS': args or {}}).encode()):
            yield


class FailJson(Exception):
    pass


def fail_msg(args):
    def fail_json(_module, msg=None, **_kwargs):
        raise FailJson(msg)
    with mock.patch.multiple(basic.AnsibleModule, fail_json=fail_json), \
            patch_module_args(args), pytest.raises(FailJson) as err:
        _module.build_module(conntrack_info.argument_spec(), supports_check_mode=True)
    return err.value.args[0]


def test_top_given_a_string_names_the_option():
    msg = fail_msg({'top': 'orig.src'})
    assert msg.startswith("argument 'top' is of type")
    assert 'dict' in msg


def test_other_errors_are_left_alone():
    assert 'table' in fail_msg({'table': 'raw'})
    assert 'bogus' in fail_msg({'bogus': 1})


def test_named_argument_error_keeps_a_message_it_does_not_know():
    spec = conntrack_info.argument_spec()
    assert _module._named_argument_error(spec, {'top': 'orig.src'}, 'other') == 'other'
