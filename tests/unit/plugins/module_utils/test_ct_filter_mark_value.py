# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A bad VALUE/MASK mark names the option and the whole value (found by the conntrack_info
integration target, which expected "0x10/zz" in the message and got only "zz")."""

from __future__ import annotations

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import (
    compile_filter)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError


@pytest.mark.parametrize('mark', ['0x10/zz', 'zz/0xf0', '0x10/0x100000000', '-1/0xff', '1/'])
def test_bad_value_mask_names_the_whole_value(mark):
    with pytest.raises(ConntrackError) as exc:
        compile_filter({'mark': mark})
    assert exc.value.msg.startswith('mark: ')
    assert repr(mark) in exc.value.msg


@pytest.mark.parametrize('mark, expected', [
    ('0x10/0xf0', (0x10, 0xF0)),
    ('0x1f/0xf0', (0x10, 0xF0)),
    ('17/255', (17, 255)),
    (42, (42, 0xFFFFFFFF)),
])
def test_good_value_mask(mark, expected):
    assert compile_filter({'mark': mark}).mark == expected
