# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import sys

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


def test_old_pyroute2_fails_naming_both_versions_and_what_to_install(gate, monkeypatch):
    state, calls = gate
    state['available'] = True
    monkeypatch.setattr(_deps, 'pyroute2_version', lambda: '0.5.13')
    with pytest.raises(Failed) as exc:
        _deps.require_pyroute2(FakeModule())
    msg = str(exc.value)
    assert 'pyroute2 0.5.13' in msg
    assert 'Python %d.%d.' % sys.version_info[:2] in msg
    assert "pip install 'pyroute2>=%s'" % _deps.pyroute2_min() in msg
    assert calls == {'probe': [], 'respawn': []}


@pytest.mark.parametrize('version_info, floor', [
    ((3, 9, 18), _deps.PYROUTE2_MIN), ((3, 11, 7), _deps.PYROUTE2_MIN),
    ((3, 12, 1), _deps.PYROUTE2_MIN_PY312), ((3, 13, 0), _deps.PYROUTE2_MIN_PY312)])
def test_floor_by_python(monkeypatch, version_info, floor):
    monkeypatch.setattr(_deps.sys, 'version_info', version_info)
    assert _deps.pyroute2_min() == floor


def test_pyroute2_0_5_refused_on_python_3_12(gate, monkeypatch):
    state, calls = gate
    state['available'] = True
    monkeypatch.setattr(_deps.sys, 'version_info', (3, 12, 1, 'final', 0))
    monkeypatch.setattr(_deps, 'pyroute2_version', lambda: _deps.PYROUTE2_MIN)
    with pytest.raises(Failed) as exc:
        _deps.require_pyroute2(FakeModule())
    assert "pyroute2>=%s" % _deps.PYROUTE2_MIN_PY312 in str(exc.value)


@pytest.mark.parametrize('found', [None, '0.9.7', '0.9.1.post1', '10.0'])
def test_floor_or_newer_or_unknown_passes(gate, monkeypatch, found):
    state, calls = gate
    state['available'] = True
    monkeypatch.setattr(_deps, 'pyroute2_version', lambda: found)
    _deps.require_pyroute2(FakeModule())


def test_floor_itself_passes(gate, monkeypatch):
    state, calls = gate
    state['available'] = True
    monkeypatch.setattr(_deps, 'pyroute2_version', _deps.pyroute2_min)
    _deps.require_pyroute2(FakeModule())


@pytest.mark.parametrize('version, expected', [
    ('0.7.2', (0, 7, 2)), ('0.9.1.post1', (0, 9, 1)), ('0.6.13+local', (0, 6, 13)), ('1', (1,))])
def test_version_tuple(version, expected):
    assert _deps.version_tuple(version) == expected


def test_pyroute2_version_matches_metadata():
    try:
        from importlib.metadata import version
        expected = version('pyroute2')
    except Exception:
        expected = None
    assert _deps.pyroute2_version() == expected


def test_this_python_passes():
    _deps.require_python(FakeModule())


def test_old_python_fails_naming_both_versions(monkeypatch):
    monkeypatch.setattr(_deps.sys, 'version_info', (3, 8, 18, 'final', 0))
    monkeypatch.setattr(_deps.platform, 'python_version', lambda: '3.8.18')
    with pytest.raises(Failed) as exc:
        _deps.require_python(FakeModule())
    msg = str(exc.value)
    assert 'Python >= 3.9' in msg
    assert 'Python 3.8.18' in msg
    assert 'ansible_python_interpreter' in msg
