# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter plugins conntrack_count_by / conntrack_top refuse a key no entry can have,
naming the keys there are (controller side: ansible.errors is not importable in the
module_utils unit tests of ansible-core 2.21)."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.netfilter.conntrack.plugins.filter.conntrack_count_by import conntrack_count_by
from ansible_collections.netfilter.conntrack.plugins.filter.conntrack_top import conntrack_top

ENTRY = {'id': 1, 'family': 'ipv4', 'proto': 'tcp', 'proto_num': 6,
         'orig': {'src': '192.0.2.1', 'dst': '192.0.2.2', 'sport': 1000, 'dport': 80},
         'reply': {'src': '192.0.2.2', 'dst': '192.0.2.1', 'sport': 80, 'dport': 1000},
         'proto_state': 'ESTABLISHED', 'timeout': 5, 'status': ['CONFIRMED'], 'ctstate': 'NEW',
         'mark': 0, 'zone': 0, 'use': 1, 'labels': [], 'nat': {'src': False, 'dst': False},
         'counters': None, 'timestamp': None, 'helper': None}


@pytest.mark.parametrize('call, key, close', [
    (lambda k: conntrack_top([ENTRY], k), 'orig.scr', 'orig.src'),
    (lambda k: conntrack_count_by([ENTRY], k), 'protoo', 'proto'),
    (lambda k: conntrack_count_by([], k), 'protoo', 'proto'),
])
def test_filter_plugins_refuse_unknown_keys(call, key, close):
    with pytest.raises(AnsibleFilterError) as exc:
        call(key)
    msg = str(exc.value)
    assert repr(key) in msg and 'did you mean %s?' % close in msg
    # the keys there are, of both kinds of entries
    assert '{orig,reply}.{src,dst,sport,dport' in msg and 'proto_state' in msg
    assert '{master,tuple,mask,nat.tuple}.{src,dst' in msg


def test_the_users_own_keys_are_accepted_by_the_filters():
    """A list of other dicts (e.g. events) counts by the keys those dicts have."""
    events = [{'type': 'NEW', 'entry': ENTRY}, {'type': 'DESTROY', 'entry': ENTRY}]
    assert conntrack_count_by(events, 'type') == {'NEW': 1, 'DESTROY': 1}
    assert conntrack_count_by(events, 'entry.proto') == {'tcp': 2}
