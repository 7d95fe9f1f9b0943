# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""conntrack_flush: option checks that refuse before the kernel is asked anything."""

from __future__ import annotations

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_flush import flush
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError
from ansible_collections.netfilter.conntrack.plugins.modules import conntrack_flush


class UntouchableClient:
    """Any use of the client fails the test: these checks come before the kernel."""

    label_map = None

    def __getattr__(self, name):
        raise AssertionError('the client was used (%s) before the options were checked' % name)


@pytest.mark.parametrize('filters, params, option, words', [
    ({'orig_src': '192.0.2.1'}, {'exact_count': False, 'max_delete': 10},
     'exact_count', 'cannot be combined with max_delete'),
    ({'orig_src': '192.0.2.1'}, {'return_entries': -1}, 'return_entries', 'must be 0 or more'),
    ({'orig_src': '192.0.2.1'}, {'max_delete': -1}, 'max_delete', 'must be 0 or more'),
    ({'orig_src': '192.0.2.1'}, {'method': 'fast'}, 'method', 'expected one of'),
    ({'orig_src': '192.0.2.1'}, {'all': True}, 'all', 'cannot be combined with filters'),
    ({}, {}, 'all', 'refusing to flush the whole conntrack table'),
    ({'orig_src': '192.0.2.1'}, {'table': 'dying'}, 'table', 'only conntrack and expect'),
])
def test_refused_before_the_kernel(filters, params, option, words):
    with pytest.raises(ConntrackError) as info:
        flush(UntouchableClient(), filters, params)
    assert info.value.option == option
    assert words in str(info.value)


def test_exact_count_is_a_bool_defaulting_to_true():
    spec = conntrack_flush.argument_spec()['exact_count']
    assert spec == {'type': 'bool', 'default': True}
