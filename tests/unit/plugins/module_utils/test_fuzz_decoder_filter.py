# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Property-based tests (hypothesis), small settings for every unit run.

About 1,500 cases in all, derandomized so that a run is reproducible; the same
properties run with 100,000 cases and a random seed through tests/fuzz/run.py.
"""

from __future__ import annotations

import pytest

from ansible_collections.netfilter.conntrack.tests.unit.plugins.module_utils.fuzz_props import (
    PROPERTIES, run_property, share)

UNIT_EXAMPLES = share(1500)


@pytest.mark.parametrize('name', sorted(PROPERTIES))
def test_property(name):
    run_property(name, UNIT_EXAMPLES[name], derandomize=True)
