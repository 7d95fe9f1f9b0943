# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The hostile-input fixes of issue 9, one by one (the integration target hostile_input
runs the whole table against a real namespace)."""

from __future__ import annotations

import contextlib
import json
from unittest import mock

import pytest

from ansible.module_utils import basic

from ansible_collections.netfilter.conntrack.plugins.module_utils import _module
from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink.sockets import netns_path
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_entry import build_want
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_events import _validate
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import (
    compile_filter)
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.options import (
    parse_helper, parse_int)
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_format import format_entries
from ansible_collections.netfilter.conntrack.plugins.plugin_utils._ct_select import select_entries
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError
from ansible_collections.netfilter.conntrack.plugins.modules import conntrack_info

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    @contextlib.contextmanager
    def patch_module_args(args=None):
        with mock.patch.object(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': args or {}}).encode()):
            yield


def fails(fn, *args):
    with pytest.raises(ConntrackError) as err:
        fn(*args)
    return err.value.msg


# -- netns ------------------------------------------------------------------------------

@pytest.mark.parametrize('value, words', [
    ('', ['netns', 'empty']), ('  ', ['netns', 'empty']), (None, ['netns', 'empty']),
    ('proc/1/ns/net', ['absolute']), ('../x', ['absolute']), ('..', ["'..'"]), ('.', ["'.'"]),
    ('a\0b', ['NUL']),
])
def test_netns_values_that_would_not_name_a_namespace(value, words):
    msg = fails(netns_path, value)
    assert all(w in msg for w in words), msg


def test_netns_names_and_paths():
    assert netns_path('edge') == '/run/netns/edge'
    assert netns_path('/proc/1/ns/net') == '/proc/1/ns/net'


# -- values -----------------------------------------------------------------------------

@pytest.mark.parametrize('value', ['1_000', '\u0665', '\uff11', '0x', ' ', True, 1.5, [1]])
def test_parse_int_refuses(value):
    assert 'mark' in fails(parse_int, 'mark', value, 0, 0xFFFFFFFF)


@pytest.mark.parametrize('value, num', [('17', 17), (' 0x10 ', 16), ('+5', 5), (7, 7)])
def test_parse_int_accepts(value, num):
    assert parse_int('mark', value, 0, 0xFFFFFFFF) == num


@pytest.mark.parametrize('params, words', [
    ({'orig_src': 'fe80::1%eth0'}, ['orig_src', 'scope']),
    ({'proto': '\u0666'}, ['proto']),
    ({'labels': ['\u0661']}, ['labels']),
    ({'proto': ['icmp', 'gre'], 'dport': 80}, ['orig_port_dst', 'icmp or gre']),
    ({'proto': ['tcp', 'udp'], 'icmp_type': 8}, ['icmp_type', 'tcp or udp']),
    ({'helper': "['ftp']"}, ['helper']),
    ({'helper': ['ftp', {'a': 1}]}, ['helper', "'a'"]),
    ({'helper': 'x' * 16}, ['helper']),
])
def test_filter_refuses(params, words):
    msg = fails(compile_filter, params)
    assert all(w in msg for w in words), msg


def test_filter_accepts_port_protocols_among_others():
    cf = compile_filter({'proto': ['tcp', 'icmp'], 'dport': 80, 'helper': ['ftp', 'Q.931']})
    assert cf.matches({'family': 'ipv4', 'proto_num': 6, 'helper': 'ftp',
                       'orig': {'src': '10.0.0.1', 'dst': '10.0.0.2', 'sport': 1, 'dport': 80}})


@pytest.mark.parametrize('value', ['ftp', 'Q.931', 'netbios-ns', 'snmp_trap', 'x' * 15])
def test_helper_names(value):
    assert parse_helper('helper', value) == value


def test_entry_refuses_scope_and_bad_helper():
    base = {'proto': 'tcp', 'orig_src': '2001:db8::1', 'orig_dst': '2001:db8::2', 'sport': 1,
            'dport': 2, 'timeout': 10}
    assert 'scope' in fails(build_want, dict(base, orig_src='fe80::1%eth0'))
    assert 'helper' in fails(build_want, dict(base, helper='x' * 100))
    assert build_want(dict(base, helper=' ftp '))['helper'] == 'ftp'


@pytest.mark.parametrize('params, words', [
    ({'duration': float('inf')}, ['duration', 'inf']),
    ({'duration': 1e12}, ['duration']),
    ({'duration': float('nan')}, ['duration']),
    ({'duration': 1, 'buffer_size': 2 ** 31}, ['buffer_size', '2147483648']),
    ({'duration': 1, 'buffer_size': 10 ** 30}, ['buffer_size']),
])
def test_events_bounds(params, words):
    msg = fails(_validate, dict({'event_mask': None, 'table': 'conntrack'}, **params))
    assert all(w in msg for w in words), msg


# -- filter plugins on hand-made entries -------------------------------------------------

@pytest.mark.parametrize('entry', [
    {'family': 'ipv4', 'proto': 'tcp', 'status': 5, 'orig': {'src': '10.0.0.1'}},
    {'family': ['ipv4'], 'orig': {}},
    {'proto': {'a': 1}},
    {'labels': 7, 'orig': {}},
])
def test_select_on_wrong_types(entry):
    msg = fails(select_entries, [entry], {'status': ['ASSURED'], 'labels': ['blue']})
    assert 'not a conntrack entry' in msg


def test_format_on_labels_not_a_list():
    assert 'cannot render entry' in fails(format_entries, [{'labels': 5}], 'extended,labels')


# -- argument errors name the option ------------------------------------------------------

class FailJson(Exception):
    pass


def _fail_json(_module, msg=None, **kwargs):
    raise FailJson(msg)


def test_dict_option_given_a_string_names_the_option():
    with mock.patch.object(basic.AnsibleModule, 'fail_json', _fail_json):
        with patch_module_args({'top': 'orig.src'}):
            with pytest.raises(FailJson) as err:
                _module.build_module(conntrack_info.argument_spec())
    assert "'top'" in str(err.value), err.value
