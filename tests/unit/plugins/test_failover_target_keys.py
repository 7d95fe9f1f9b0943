# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The keys the conntrack_failover role accepts in a target are the ones it passes on."""

from __future__ import annotations

import pathlib
import re

import yaml

ROLE = pathlib.Path(__file__).resolve().parents[3] / 'roles' / 'conntrack_failover'


def test_allowed_keys_are_what_target_yml_passes_on_and_what_the_spec_documents():
    allowed = yaml.safe_load((ROLE / 'vars' / 'main.yml').read_text())[
        'conntrack_failover__target_keys']
    passed = set(re.findall(r'_cf\.([a-z_]+)', (ROLE / 'tasks' / 'target.yml').read_text()))
    spec = yaml.safe_load((ROLE / 'meta' / 'argument_specs.yml').read_text())
    documented = set(spec['argument_specs']['main']['options']['conntrack_failover_targets']
                     ['options'])
    assert allowed == sorted(allowed)
    assert set(allowed) == passed == documented
