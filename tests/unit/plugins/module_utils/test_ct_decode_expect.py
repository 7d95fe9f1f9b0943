# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""decode_expect over synthetic IPCTNL_MSG_EXP_NEW messages."""

from __future__ import annotations

import struct

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import encode as E
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.decode import Decoder
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.expect import (
    decode_expect, expect_view)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError
from ansible_collections.netfilter.conntrack.tests.unit.plugins.module_utils.ctmsg import kernel_tuple

V4, V6 = C.AF_INET, C.AF_INET6


def ftp_expect(family=V4, nat=False, fn=None, flags=0, zone=None, helper='ftp'):
    """An FTP data-connection expectation as ctnetlink_exp_dump_expect() lays it out."""
    if family == V4:
        cli, srv, ones = '10.0.0.1', '10.0.0.2', '255.255.255.255'
    else:
        cli, srv, ones = 'fd00::1', 'fd00::2', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'
    parts = [
        E.nest(C.CTA_EXPECT_MASTER, kernel_tuple(family, 6, {'src': cli, 'dst': srv, 'sport': 40000, 'dport': 21})),
        E.nest(C.CTA_EXPECT_TUPLE, kernel_tuple(family, 6, {'src': cli, 'dst': srv, 'sport': 0, 'dport': 50123})),
        E.nest(C.CTA_EXPECT_MASK, kernel_tuple(family, 6, {'src': ones, 'dst': ones, 'sport': 0, 'dport': 0xFFFF})),
    ]
    if nat:
        parts.append(E.nest(C.CTA_EXPECT_NAT, E.be32(C.CTA_EXPECT_NAT_DIR, 1),
                            E.nest(C.CTA_EXPECT_NAT_TUPLE,
                                   kernel_tuple(family, 6, {'src': srv, 'dst': srv, 'sport': 2121, 'dport': 0}))))
    parts += [E.be32(C.CTA_EXPECT_TIMEOUT, 299), E.be32(C.CTA_EXPECT_ID, 0xDEADBEEF),
              E.be32(C.CTA_EXPECT_FLAGS, flags), E.be32(C.CTA_EXPECT_CLASS, 0)]
    if helper:
        parts.append(E.nla(C.CTA_EXPECT_HELP_NAME, helper.encode() + b'\0'))
    if fn:
        parts.append(E.nla(C.CTA_EXPECT_FN, fn.encode() + b'\0'))
    if zone is not None:
        parts.append(E.be16(C.CTA_EXPECT_ZONE, zone))
    return E.nlmsg(C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_NEW, C.NLM_F_MULTI, 1, family, b''.join(parts))


def _decode(buf):
    return decode_expect(Decoder(), buf, 20, len(buf), buf[16])


def test_decode_expect_v4():
    assert _decode(ftp_expect()) == {
        'id': 0xDEADBEEF, 'family': 'ipv4', 'proto': 'tcp', 'proto_num': 6,
        'master': {'src': '10.0.0.1', 'dst': '10.0.0.2', 'proto': 'tcp', 'proto_num': 6, 'sport': 40000,
                   'dport': 21},
        'tuple': {'src': '10.0.0.1', 'dst': '10.0.0.2', 'proto': 'tcp', 'proto_num': 6, 'sport': 0, 'dport': 50123},
        'mask': {'src': '255.255.255.255', 'dst': '255.255.255.255', 'sport': 0, 'dport': 65535},
        'timeout': 299, 'helper': 'ftp', 'zone': 0, 'flags': [], 'class': 0, 'nat': None, 'fn': None,
    }


def test_decode_expect_v6_nat_fn_flags_zone():
    exp = _decode(ftp_expect(V6, nat=True, fn='nf_nat_follow_master', flags=5, zone=3))
    assert exp['family'] == 'ipv6'
    assert exp['master']['src'] == 'fd00::1' and exp['tuple']['dport'] == 50123
    assert exp['mask']['src'] == 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'
    assert exp['nat'] == {'dir': 'reply', 'tuple': {'src': 'fd00::2', 'dst': 'fd00::2', 'proto': 'tcp',
                                                    'proto_num': 6, 'sport': 2121, 'dport': 0}}
    assert exp['fn'] == 'nf_nat_follow_master'
    assert exp['flags'] == ['PERMANENT', 'USERSPACE']
    assert exp['zone'] == 3


@pytest.mark.parametrize('flags, names', [(0, []), (1, ['PERMANENT']), (2, ['INACTIVE']), (7, ['INACTIVE', 'PERMANENT', 'USERSPACE'])])
def test_decode_expect_flags(flags, names):
    assert _decode(ftp_expect(flags=flags))['flags'] == names


def test_decode_expect_without_helper():
    assert _decode(ftp_expect(helper=None))['helper'] is None


def test_expect_view_maps_master_and_expected_tuple():
    exp = _decode(ftp_expect())
    view = expect_view(exp)
    assert view['orig'] == exp['master'] and view['reply'] == exp['tuple']
    assert (view['family'], view['proto_num'], view['helper'], view['zone']) == ('ipv4', 6, 'ftp', 0)


def _cut_length(buf, off, value):
    out = bytearray(buf)
    struct.pack_into('=H', out, off, value)
    return bytes(out)


GOOD = ftp_expect(nat=True, fn='x', zone=1)


@pytest.mark.parametrize('buf', [
    _cut_length(GOOD, 20, 2),            # attribute shorter than its header
    _cut_length(GOOD, 20, 0x0FFF),       # attribute beyond the message
    _cut_length(GOOD, 24, 0x00F0),       # tuple child beyond its nest
    _cut_length(GOOD, 28, 6),            # IPv4 address of 2 bytes
    GOOD[:45],                           # message cut inside a nest
], ids=['short-attr', 'overrun', 'child-overrun', 'short-address', 'cut'])
def test_decode_expect_malformed(buf):
    with pytest.raises(ConntrackError):
        _decode(buf)


def test_decode_expect_every_truncation():
    for cut in range(20, len(GOOD)):
        try:
            _decode(GOOD[:cut])
        except ConntrackError:
            pass
