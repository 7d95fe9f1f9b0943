# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils import _deps


class Failed(Exception):
    pass


class Respawned(Exception):
    pass


class FakeModule:
    def fail_json(self, **kwargs):
        raise Failed(kwargs['msg'])


@pytest.fixture
def gate(monkeypatch):
    """require_pyroute2 with pyroute2 missing here; records probes and respawns."""
    calls = {'probe': [], 'respawn': []}
    state = {'available': False, 'respawned': False, 'system': None}

    def probe(paths, name):
        calls['probe'].append((tuple(paths), name))
        return state['system']

    def respawn(interpreter):
        calls['respawn'].append(interpreter)
        raise Respawned(interpreter)   # the real one exits the process

    monkeypatch.setattr(_deps, 'pyroute2_available', lambda: state['available'])
    monkeypatch.setattr(_deps, 'has_respawned', lambda: state['respawned'])
    monkeypatch.setattr(_deps, 'probe_interpreters_for_module', probe)
    monkeypatch.setattr(_deps, 'respawn_module', respawn)
    return state, calls


def test_available_no_probe(gate):
    state, calls = gate
    state['available'] = True
    _deps.require_pyroute2(FakeModule())
    assert calls == {'probe': [], 'respawn': []}


def test_respawns_under_the_system_python_that_has_it(gate):
    state, calls = gate
    state['system'] = '/usr/bin/python3'
    with pytest.raises(Respawned):
        _deps.require_pyroute2(FakeModule())
    assert calls['probe'] == [(_deps.SYSTEM_PYTHONS, 'pyroute2')]
    assert calls['respawn'] == ['/usr/bin/python3']


def test_no_system_python_has_it_fails_naming_them(gate):
    state, calls = gate
    with pytest.raises(Failed) as exc:
        _deps.require_pyroute2(FakeModule())
    msg = str(exc.value)
    assert 'pyroute2 >= %s' % _deps.PYROUTE2_MIN in msg
    assert all(p in msg for p in _deps.SYSTEM_PYTHONS)
    assert calls['respawn'] == []


def test_respawned_process_never_respawns_again(gate):
    state, calls = gate
    state['respawned'] = True
    state['system'] = '/usr/bin/python3'
    with pytest.raises(Failed) as exc:
        _deps.require_pyroute2(FakeModule())
    assert calls == {'probe': [], 'respawn': []}
    assert 'none of' not in str(exc.value)


def test_pyroute2_available_matches_import():
    try:
        import pyroute2  # noqa: F401  pylint: disable=unused-import
        expected = True
    except ImportError:
        expected = False
    assert _deps.pyroute2_available() is expected
