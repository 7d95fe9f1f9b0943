# -*- coding: utf-8 -*-
# Copyright: contributors to netfilter.conntrack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""conntrack_entry's messages say which thing is missing: the entry, not the namespace."""

from __future__ import annotations

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils import _ct_entry as M
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError


class _Client:
    """Only what EntryManager reads before it asks the kernel anything."""
    label_map = {}

    def __init__(self, netns):
        self.netns = netns


def _want():
    return M.build_want({'proto': 'tcp', 'orig_src': '198.51.100.77', 'orig_dst': '203.0.113.80',
                         'orig_port_src': 45001, 'orig_port_dst': 8443}, {})


@pytest.mark.parametrize('netns, tail', [
    ('nu_r', "(no such entry in network namespace 'nu_r')"),
    (None, '(no such entry)'),
])
def test_missing_timeout_names_the_entry_not_the_namespace(netns, tail):
    manager = M.EntryManager(_Client(netns), _want())
    with pytest.raises(ConntrackError) as exc:
        manager._present_new(manager.want)
    msg = str(exc.value)
    assert msg == ('timeout: required to create the entry tcp 198.51.100.77:45001 -> '
                   '203.0.113.80:8443 ' + tail)
    assert 'does not exist' not in msg
    assert exc.value.option == 'timeout'
