# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""conntrack_counters: argument validation, and main() into its logic (no socket)."""

from __future__ import annotations

import contextlib
import json
from unittest import mock

import pytest

from ansible.module_utils import basic

from ansible_collections.netfilter.conntrack.plugins.module_utils import _module
from ansible_collections.netfilter.conntrack.plugins.module_utils._argspec import (
    filter_params, filter_spec)
from ansible_collections.netfilter.conntrack.plugins.modules import conntrack_counters

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    @contextlib.contextmanager
    def patch_module_args(args=None):
        with mock.patch.object(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': args or {}}).encode()):
            yield


class ExitJson(Exception):
    pass


class FailJson(Exception):
    pass


def _exit_json(_module, **kwargs):
    raise ExitJson(kwargs)


def _fail_json(_module, msg=None, **kwargs):
    kwargs['msg'] = msg
    raise FailJson(kwargs)


@pytest.fixture(autouse=True)
def no_exit():
    with mock.patch.multiple(basic.AnsibleModule, exit_json=_exit_json, fail_json=_fail_json):
        yield


def build(args):
    with patch_module_args(args):
        return _module.build_module(conntrack_counters.argument_spec(), supports_check_mode=True)


def test_options_are_the_filters_netns_and_limit():
    assert set(conntrack_counters.argument_spec()) == set(filter_spec()) | {'limit'}
    p = build({}).params
    assert p['limit'] is None and p['netns'] is None
    assert filter_params(p) == {}


def test_filters_reach_the_logic_with_aliases_resolved():
    p = build({'proto': 'udp', 'dport': 53, 'orig_src': '198.51.100.0/24', 'limit': 0}).params
    assert filter_params(p) == {'proto': 'udp', 'orig_port_dst': 53, 'orig_src': '198.51.100.0/24'}
    assert p['limit'] == 0


@pytest.mark.parametrize('args, words', [
    ({'limit': 'many'}, ['limit']),
    ({'family': 'ipv5'}, ['family', 'ipv5']),
    ({'table': 'expect'}, ['Unsupported parameters', 'table']),
    ({'zero_counters': True}, ['Unsupported parameters', 'zero_counters']),
    ({'gather': ['count']}, ['Unsupported parameters', 'gather']),
])
def test_bad_arguments_fail_naming_the_option(args, words):
    with pytest.raises(FailJson) as err:
        build(args)
    for word in words:
        assert word in err.value.args[0]['msg']


def test_main_calls_the_logic_with_filters_check_mode_and_warn():
    seen = {}

    def logic(client, filters, params, check_mode=False, diff_mode=False, warn=None):
        seen.update(client=client, filters=filters, limit=params['limit'], check_mode=check_mode)
        warn('a warning')
        return {'changed': False, 'entries': [], 'count': 0, 'zeroed': 0, 'kernel_filter': []}

    client = mock.MagicMock()
    client.return_value.__enter__.return_value = 'the client'
    with patch_module_args({'proto': 'tcp', 'limit': 2, '_ansible_check_mode': True}), \
            mock.patch.object(_module, 'ConntrackClient', client), \
            mock.patch.object(conntrack_counters, 'zero_counters', logic), \
            mock.patch.object(basic.AnsibleModule, 'warn') as warn:
        with pytest.raises(ExitJson) as res:
            conntrack_counters.main()
    assert seen == {'client': 'the client', 'filters': {'proto': 'tcp'}, 'limit': 2, 'check_mode': True}
    assert res.value.args[0]['zeroed'] == 0
    warn.assert_called_once_with('a warning')


def test_main_fails_on_bad_arguments_before_opening_a_socket():
    with patch_module_args({'limit': 'x'}), mock.patch.object(_module, 'ConntrackClient') as client:
        with pytest.raises(FailJson):
            conntrack_counters.main()
    client.assert_not_called()
