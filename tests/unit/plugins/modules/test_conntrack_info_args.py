# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""conntrack_info: argument validation only (no socket is ever opened here)."""

from __future__ import annotations

import contextlib
import json
from unittest import mock

import pytest

from ansible.module_utils import basic

from ansible_collections.netfilter.conntrack.plugins.module_utils import _module
from ansible_collections.netfilter.conntrack.plugins.module_utils._argspec import filter_params
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import (
    compile_filter)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError
from ansible_collections.netfilter.conntrack.plugins.modules import conntrack_info

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
        return _module.build_module(conntrack_info.argument_spec(), supports_check_mode=True)


def fail_msg(args):
    with pytest.raises(FailJson) as err:
        build(args)
    return err.value.args[0]['msg']


def test_defaults():
    p = build({}).params
    assert p['table'] == 'conntrack'
    assert p['gather'] == ['entries', 'count']
    assert p['family'] == 'any'
    assert p['zero_counters'] is False
    assert p['count_by'] == []
    assert p['limit'] is None and p['top'] is None and p['netns'] is None
    assert filter_params(p) == {}


def test_aliases_and_raw_filter_values_reach_the_compiler():
    p = build({'sport': 1000, 'dport': '80', 'proto': 'tcp', 'orig_src': ['10.0.0.0/8'], 'mark': '0x10/0xf0',
               'netns': 'nct-x'}).params
    assert (p['orig_port_src'], p['orig_port_dst']) == (1000, '80')
    assert p['netns'] == 'nct-x'
    given = filter_params(p)
    assert given == {'orig_port_src': 1000, 'orig_port_dst': '80', 'proto': 'tcp', 'orig_src': ['10.0.0.0/8'],
                     'mark': '0x10/0xf0'}
    assert compile_filter(given).matches({'family': 'ipv4', 'proto_num': 6, 'mark': 0x1f,
                                          'orig': {'src': '10.1.1.1', 'sport': 1000, 'dport': 80}})


def test_family_is_kept_when_not_any():
    assert filter_params(build({'family': 'ipv6'}).params) == {'family': 'ipv6'}


def test_top_defaults_n():
    assert build({'top': {'key': 'orig.src'}}).params['top'] == {'key': 'orig.src', 'n': 10}


def test_list_options_accept_a_comma_string():
    p = build({'gather': 'count,stats', 'ctstate': 'NEW', 'count_by': 'proto'}).params
    assert (p['gather'], p['ctstate'], p['count_by']) == (['count', 'stats'], ['NEW'], ['proto'])


@pytest.mark.parametrize('args, words', [
    ({'table': 'raw'}, ['table', 'raw']),
    ({'gather': ['entries', 'bogus']}, ['gather', 'bogus']),
    ({'family': 'ipv5'}, ['family', 'ipv5']),
    ({'ctstate': ['INVALID']}, ['ctstate', 'INVALID']),
    ({'status': ['NOPE']}, ['status', 'NOPE']),
    ({'nat': 'both'}, ['nat', 'both']),
    ({'limit': 'many'}, ['limit']),
    ({'zero_counters': 'maybe'}, ['zero_counters']),
    ({'icmp_type': 'echo'}, ['icmp_type']),
    ({'zone': 'z'}, ['zone']),
    ({'top': {'n': 3}}, ['key']),
    ({'top': {'key': 'proto', 'n': 'x'}}, ['n']),
    ({'top': {'key': 'proto', 'extra': 1}}, ['extra']),
    ({'top': 'proto'}, ['dictionary']),  # ansible-core's own message does not name the option
    ({'exclude': 'x'}, ['exclude']),
    ({'bogus': 1}, ['bogus']),
    ({'state': 'present'}, ['state']),
])
def test_bad_arguments_fail_naming_the_option(args, words):
    msg = fail_msg(args)
    for word in words:
        assert word in msg


def test_main_fails_on_bad_arguments_before_opening_a_socket():
    with patch_module_args({'table': 'raw'}), \
            mock.patch('ansible_collections.netfilter.conntrack.plugins.module_utils._module.ConntrackClient') as client:
        with pytest.raises(FailJson):
            conntrack_info.main()
    client.assert_not_called()


@pytest.mark.parametrize('args, option', [
    ({'orig_src': 'bogus'}, 'orig_src'),
    ({'dport': 70000}, 'orig_port_dst'),
    ({'mark': '1/'}, 'mark'),
    ({'labels': ['nope']}, 'labels'),
    ({'exclude': [{'proto': 'nope'}]}, 'exclude'),
])
def test_filter_values_are_checked_by_the_compiler(args, option):
    given = filter_params(build(args).params)
    with pytest.raises(ConntrackError) as err:
        compile_filter(given)
    assert option in err.value.msg


def test_argument_spec_is_a_fresh_dict_each_call():
    spec = conntrack_info.argument_spec()
    spec['table']['choices'].append('x')
    spec['gather']['default'].append('x')
    del spec['proto']
    again = conntrack_info.argument_spec()
    assert 'x' not in again['table']['choices'] and 'x' not in again['gather']['default']
    assert 'proto' in again
