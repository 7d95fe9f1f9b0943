# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""conntrack_expect and conntrack_events: argument validation only (no socket opened)."""

from __future__ import annotations

import contextlib
import json
from unittest import mock

import pytest

from ansible.module_utils import basic

from ansible_collections.netfilter.conntrack.plugins.module_utils import _module
from ansible_collections.netfilter.conntrack.plugins.module_utils._argspec import filter_params
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_events import DEFAULT_BUFFER
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_expect import build_spec
from ansible_collections.netfilter.conntrack.plugins.modules import conntrack_events, conntrack_expect

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    @contextlib.contextmanager
    def patch_module_args(args=None):
        with mock.patch.object(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': args or {}}).encode()):
            yield


class FailJson(Exception):
    pass


def _fail_json(_module, msg=None, **kwargs):
    raise FailJson(msg)


@pytest.fixture(autouse=True)
def no_exit():
    with mock.patch.multiple(basic.AnsibleModule, fail_json=_fail_json):
        yield


MASTER = {'proto': 'tcp', 'src': '192.0.2.1', 'dst': '192.0.2.2', 'sport': 40000, 'dport': 21}
TUPLE = {'src': '192.0.2.1', 'dst': '192.0.2.2', 'dport': 31000}


def build_expect(args):
    with patch_module_args(args):
        return conntrack_expect.build_module(conntrack_expect.argument_spec(), supports_check_mode=True,
                                             required_if=[('state', 'present', ['master'])])


def build_events(args):
    with patch_module_args(args):
        return _module.build_module(conntrack_events.argument_spec(), supports_check_mode=True)


def test_expect_defaults_reach_build_spec():
    p = build_expect({'master': MASTER, 'tuple': TUPLE}).params
    assert p['state'] == 'present' and p['class'] == 0 and p['refresh_timeout'] is False
    spec, warnings = build_spec(p)
    assert warnings == [] and spec['tuple']['dport'] == 31000 and spec['mask']['sport'] == 0


def test_expect_nat_suboptions_default():
    p = build_expect({'master': MASTER, 'tuple': TUPLE, 'nat': {'tuple': {'src': '198.51.100.7'}}}).params
    assert p['nat'] == {'dir': 'original', 'tuple': {'src': '198.51.100.7', 'sport': 0}}


@pytest.mark.parametrize('args, words', [
    ({'tuple': TUPLE}, ['master']),                                   # present needs a master
    ({'master': MASTER}, ['tuple']),
    ({'master': MASTER, 'tuple': TUPLE, 'state': 'gone'}, ['state']),
    ({'master': MASTER, 'tuple': TUPLE, 'flags': ['FOREVER']}, ['flags']),
    ({'master': dict(MASTER, proto_num=6), 'tuple': TUPLE}, ['proto_num']),
    ({'master': MASTER, 'tuple': {'src': '192.0.2.1', 'dport': 1}}, ['dst']),
    ({'master': MASTER, 'tuple': TUPLE, 'nat': {'dir': 'up', 'tuple': {'src': '1.2.3.4'}}}, ['dir']),
    ({'master': MASTER, 'tuple': TUPLE, 'timeout': 'long'}, ['timeout']),
])
def test_expect_bad_arguments_fail_naming_the_option(args, words):
    with pytest.raises(FailJson) as err:
        build_expect(args)
    for word in words:
        assert word in str(err.value)


def test_expect_absent_needs_no_master():
    assert build_expect({'state': 'absent', 'tuple': dict(TUPLE, proto='tcp')}).params['master'] is None


def test_events_defaults():
    p = build_events({}).params
    assert p['table'] == 'conntrack'
    assert p['event_mask'] == ['NEW', 'UPDATE', 'DESTROY']
    assert p['duration'] == 10 and p['max_events'] is None
    assert p['buffer_size'] == DEFAULT_BUFFER and p['ready_file'] is None
    assert filter_params(p) == {}


def test_events_filters_and_aliases():
    p = build_events({'dport': 443, 'proto': 'tcp', 'event_mask': 'NEW,DESTROY', 'duration': '2.5'}).params
    assert filter_params(p) == {'orig_port_dst': 443, 'proto': 'tcp'}
    assert p['event_mask'] == ['NEW', 'DESTROY'] and p['duration'] == 2.5


@pytest.mark.parametrize('args, words', [
    ({'event_mask': ['CREATE']}, ['event_mask', 'CREATE']),
    ({'table': 'dying'}, ['table', 'dying']),
    ({'duration': 'soon'}, ['duration']),
    ({'buffer_size': 'big'}, ['buffer_size']),
])
def test_events_bad_arguments_fail_naming_the_option(args, words):
    with pytest.raises(FailJson) as err:
        build_events(args)
    for word in words:
        assert word in str(err.value)
