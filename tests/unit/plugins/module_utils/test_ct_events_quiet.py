# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""conntrack_events explains an empty recording where nf_conntrack_events=2 is why."""

from __future__ import annotations

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_events import quiet_warning

ALL = ['NEW', 'UPDATE', 'DESTROY']


def _never():
    raise AssertionError('the sysctl was read although the hint cannot apply')


def test_nothing_seen_with_events_2_warns_naming_the_namespace():
    hint = quiet_warning({'count': 0, 'event_mask': ALL}, 'conntrack', lambda: 2, 'nct_x')
    assert "nf_conntrack_events is 2 in network namespace 'nct_x'" in hint
    assert 'no DESTROY event' in hint and 'nobody listened' in hint


@pytest.mark.parametrize('result, table, value', [
    ({'count': 3, 'event_mask': ALL}, 'conntrack', _never),       # something was seen
    ({'count': 0, 'event_mask': ['NEW']}, 'conntrack', _never),   # no DESTROY asked for
    ({'count': 0, 'event_mask': ALL}, 'expect', _never),          # another table
    ({'count': 0, 'event_mask': ALL}, 'conntrack', lambda: 1),    # every entry reports
    ({'count': 0, 'event_mask': ALL}, 'conntrack', lambda: None),  # unreadable: no guess
])
def test_no_warning_where_the_sysctl_is_not_why(result, table, value):
    assert quiet_warning(result, table, value, None) is None
