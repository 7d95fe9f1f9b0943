# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tools/ctfill.py: documentation addresses only, and the options its docstring shows."""

from __future__ import annotations

import importlib.util
import ipaddress
import pathlib
import re

import pytest

PATH = pathlib.Path(__file__).resolve().parents[3] / 'tools' / 'ctfill.py'
_SPEC = importlib.util.spec_from_file_location('ctfill_under_test', PATH)
ctfill = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(ctfill)

DOC_NETS = [ipaddress.ip_network(n) for n in
            ('192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32')]


def _addresses(spec):
    for side in ('orig', 'reply'):
        for key in ('src', 'dst'):
            yield ipaddress.ip_address(spec[side][key])


@pytest.mark.parametrize('make', ['mixed', 'tcp_plain'])
def test_every_address_is_a_documentation_address(make):
    fn = getattr(ctfill, make)
    bad = sorted({str(a) for i in range(0, 30000, 7) for a in _addresses(fn(i))
                  if not any(a in net for net in DOC_NETS)})
    assert not bad, bad[:10]


def test_the_docstrings_options_are_accepted():
    shown = set(re.findall(r'(--[a-z]+)', ctfill.__doc__))
    known = {opt for action in ctfill.parser()._actions for opt in action.option_strings}
    assert shown and shown <= known, shown - known


def test_seed_is_deterministic_and_changes_the_layout():
    args = ctfill.parser().parse_args(['--netns', 'x', '--mix', '--seed', '3'])
    assert args.seed == 3
    shift = ctfill.seed_offset(3)
    assert shift == ctfill.seed_offset(3) and ctfill.seed_offset(0) == 0
    one = [ctfill.mixed(i, shift) for i in range(100)]
    assert one == [ctfill.mixed(i, shift) for i in range(100)]
    assert one != [ctfill.mixed(i) for i in range(100)]
    # tuples stay unique under a shift
    keys = {(e['orig']['src'], e['orig'].get('sport'), e['orig']['dst'], e['orig'].get('dport'),
             e['proto'], e.get('zone')) for e in (ctfill.tcp_plain(i, shift) for i in range(5000))}
    assert len(keys) == 5000
