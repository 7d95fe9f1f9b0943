# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""conntrack_expect's mask takes the same keys as its tuple: a copy of the tuple is a mask;
its protocol must be the tuple's."""

from __future__ import annotations

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_expect import build_spec
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError
from ansible_collections.netfilter.conntrack.plugins.modules import conntrack_expect

MASTER = {'proto': 'tcp', 'src': '192.0.2.1', 'dst': '192.0.2.2', 'sport': 40000, 'dport': 21}
TUPLE = {'proto': 'tcp', 'src': '192.0.2.1', 'dst': '192.0.2.2', 'dport': 31000}


def test_mask_has_the_tuples_keys():
    spec = conntrack_expect.argument_spec()
    assert set(spec['mask']['options']) == set(spec['tuple']['options'])


@pytest.mark.parametrize('proto', ['tcp', 6, '6', 'TCP'])
def test_mask_proto_equal_to_the_tuples_is_accepted(proto):
    mask = dict(TUPLE, proto=proto, src='255.255.255.0', sport=0, dst='255.255.255.255',
                dport=65535)
    spec, _warnings = build_spec({'master': MASTER, 'tuple': TUPLE, 'mask': mask})
    assert spec['mask']['src'] == '255.255.255.0'
    # the same as without the protocol
    plain, _w = build_spec({'master': MASTER, 'tuple': TUPLE,
                            'mask': {k: v for k, v in mask.items() if k != 'proto'}})
    assert spec == plain


def test_mask_proto_defaults_to_the_masters_protocol_like_the_tuple():
    tup = {k: v for k, v in TUPLE.items() if k != 'proto'}
    spec, _w = build_spec({'master': MASTER, 'tuple': tup, 'mask': {'proto': 'tcp'}})
    assert spec['proto'] == 6


@pytest.mark.parametrize('proto', ['udp', 17, 'nosuch'])
def test_mask_proto_differing_from_the_tuples_is_a_clear_error(proto):
    with pytest.raises(ConntrackError) as exc:
        build_spec({'master': MASTER, 'tuple': TUPLE, 'mask': {'proto': proto}})
    assert exc.value.option == 'mask.proto' and str(proto) in exc.value.msg
    if proto != 'nosuch':
        assert "protocol is tcp" in exc.value.msg
