# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""conntrack_expect's option validation, comparison and attribute encoding."""

from __future__ import annotations

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import encode as E
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_expect import (
    build_spec, desired_view, differences)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError
from ansible_collections.netfilter.conntrack.tests.unit.plugins.module_utils.ctmsg import be, parse, tree

MASTER = {'proto': 'tcp', 'src': '192.0.2.1', 'dst': '192.0.2.2', 'sport': 40000, 'dport': 21}
TUPLE = {'src': '192.0.2.1', 'dst': '192.0.2.2', 'dport': 31000}
ONES4 = '255.255.255.255'
ONES6 = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'


def spec_of(**params):
    params.setdefault('master', MASTER)
    params.setdefault('tuple', TUPLE)
    return build_spec(params)


def master_entry(**over):
    entry = {'family': 'ipv4', 'proto': 'tcp', 'proto_num': 6, 'helper': 'ftp', 'zone': 0,
             'orig': {'src': '192.0.2.1', 'dst': '192.0.2.2', 'sport': 40000, 'dport': 21}}
    entry.update(over)
    return entry


# -- build_spec -------------------------------------------------------------------------

def test_defaults_match_what_the_ftp_helper_creates():
    spec, warnings = spec_of()
    assert warnings == []
    assert spec['family'] == C.AF_INET and spec['proto'] == 6 and spec['master_proto'] == 6
    assert spec['master'] == {'src': '192.0.2.1', 'dst': '192.0.2.2', 'sport': 40000, 'dport': 21}
    assert spec['tuple'] == {'src': '192.0.2.1', 'dst': '192.0.2.2', 'sport': 0, 'dport': 31000}
    # exact source address, any source port, the destination always exact
    assert spec['mask'] == {'src': ONES4, 'dst': ONES4, 'sport': 0, 'dport': 0xFFFF}
    assert spec['zone'] == 0 and spec['flags'] == 0 and spec['class'] == 0
    assert spec['timeout'] is None and spec['fn'] is None and spec['nat'] is None


def test_no_source_means_any_source_ipv6():
    spec, _w = build_spec({'master': dict(MASTER, src='2001:db8::1', dst='2001:db8::2'),
                           'tuple': {'dst': '2001:db8::2', 'sport': 1024, 'dport': 31000}})
    assert spec['family'] == C.AF_INET6
    assert spec['tuple']['src'] == '::'
    assert spec['mask'] == {'src': '::', 'dst': ONES6, 'sport': 0xFFFF, 'dport': 0xFFFF}


@pytest.mark.parametrize('mask, want', [
    ({'src': 24}, '255.255.255.0'),
    ({'src': '16'}, '255.255.0.0'),
    ({'src': '255.255.255.128'}, '255.255.255.128'),
    ({'src': 0}, '0.0.0.0'),
])
def test_source_mask_as_length_or_address(mask, want):
    assert spec_of(mask=mask)[0]['mask']['src'] == want


def test_all_ones_destination_mask_is_accepted():
    spec, _w = spec_of(mask={'dst': ONES4, 'dport': 65535, 'sport': 0xFF00})
    assert spec['mask']['sport'] == 0xFF00


@pytest.mark.parametrize('params, option', [
    ({'tuple': None}, 'tuple'),
    ({'master': None}, 'master'),
    ({'master': dict(MASTER, proto=None)}, 'master.proto'),
    ({'master': dict(MASTER, dport=None)}, 'master.dport'),
    ({'master': dict(MASTER, src='nonsense')}, 'master.src'),
    ({'tuple': dict(TUPLE, dst=None)}, 'tuple.dst'),
    ({'tuple': dict(TUPLE, dport=None)}, 'tuple.dport'),
    ({'tuple': dict(TUPLE, dport=70000)}, 'tuple.dport'),
    ({'tuple': dict(TUPLE, dst='2001:db8::2')}, 'tuple.dst'),
    ({'tuple': dict(TUPLE, proto='icmp')}, 'tuple.proto'),
    ({'tuple': dict(TUPLE, proto='bogus')}, 'tuple.proto'),
    ({'mask': {'dst': '255.255.255.0'}}, 'mask.dst'),
    ({'mask': {'dport': 255}}, 'mask.dport'),
    ({'mask': {'src': 33}}, 'mask.src'),
    ({'zone': 5, 'master': dict(MASTER, zone=6)}, 'zone'),
    ({'zone': 70000}, 'zone'),
    ({'timeout': 0}, 'timeout'),
    ({'flags': ['FOREVER']}, 'flags'),
    ({'helper': ' '}, 'helper'),
    ({'nat': {'dir': 'sideways', 'tuple': {'src': '198.51.100.7'}}}, 'nat.dir'),
    ({'nat': {'tuple': {'src': '2001:db8::7'}}}, 'nat.tuple.src'),
])
def test_bad_input_names_the_option(params, option):
    with pytest.raises(ConntrackError) as exc:
        spec_of(**params)
    assert exc.value.msg.startswith(option)


def test_absent_needs_no_master_but_a_protocol():
    spec, _w = build_spec({'state': 'absent', 'tuple': dict(TUPLE, proto='udp')})
    assert spec['master'] is None and spec['proto'] == 17
    with pytest.raises(ConntrackError) as exc:
        build_spec({'state': 'absent', 'tuple': TUPLE})
    assert exc.value.option == 'tuple.proto'


def test_userspace_flag_is_ignored_with_a_warning():
    spec, warnings = spec_of(flags=['permanent', 'USERSPACE', 'PERMANENT'])
    assert spec['flags'] == C.EXPECT_FLAGS['PERMANENT']
    assert spec['flag_names'] == ['PERMANENT']
    assert len(warnings) == 1 and 'USERSPACE' in warnings[0]


def test_nat_defaults_fn_to_follow_master():
    spec, _w = spec_of(nat={'dir': 'reply', 'tuple': {'src': '198.51.100.7', 'sport': 2121}})
    assert spec['nat'] == {'dir': 1, 'src': '198.51.100.7', 'sport': 2121}
    assert spec['fn'] == 'nat-follow-master'
    assert spec_of(nat={'tuple': {'src': '198.51.100.7'}}, fn='other')[0]['fn'] == 'other'


def test_zone_from_master_or_option():
    assert spec_of(master=dict(MASTER, zone=5))[0]['zone'] == 5
    assert spec_of(zone=5)[0]['zone'] == 5
    assert spec_of(zone=5, master=dict(MASTER, zone=5))[0]['zone'] == 5


# -- comparison ---------------------------------------------------------------------------

def test_the_desired_view_compares_equal_to_itself():
    spec, _w = spec_of(flags=['PERMANENT'], nat={'tuple': {'src': '198.51.100.7', 'sport': 5}})
    view = desired_view(spec, master_entry())
    assert view['helper'] == 'ftp' and view['zone'] == 0 and view['proto'] == 'tcp'
    assert view['nat']['dir'] == 'original' and view['nat']['tuple']['src'] == '198.51.100.7'
    assert differences(view, spec, master_entry()) == []


@pytest.mark.parametrize('change, key', [
    (lambda v: v['tuple'].update(dport=31001), 'tuple'),
    (lambda v: v['master'].update(sport=1), 'master'),
    (lambda v: v['mask'].update(src='255.255.255.0'), 'mask'),
    (lambda v: v['mask'].update(sport=1), 'mask'),
    (lambda v: v.update(flags=['INACTIVE']), 'flags'),
    (lambda v: v.update({'class': 1}), 'class'),
    (lambda v: v.update(fn='nat-follow-master'), 'fn'),
    (lambda v: v.update(nat={'dir': 'original', 'tuple': {'src': '0.0.0.0', 'sport': 1}}), 'nat'),
])
def test_each_difference_is_named(change, key):
    spec, _w = spec_of()
    view = desired_view(spec, master_entry())
    change(view)
    assert differences(view, spec, master_entry()) == [key]


def test_what_is_not_a_difference():
    spec, _w = spec_of(timeout=100)
    view = desired_view(spec, master_entry())
    view.update(timeout=3, id=12345, flags=['USERSPACE'])   # falling timeout, kernel-only flag
    view['tuple']['src'] = '192.0.2.001'.replace('001', '1')
    assert differences(view, spec, master_entry()) == []


def test_ipv6_addresses_compare_by_value():
    spec, _w = build_spec({'master': dict(MASTER, src='2001:db8:0::1', dst='2001:DB8::2'),
                           'tuple': {'src': '2001:db8::1', 'dst': '2001:db8::2', 'dport': 1}})
    entry = master_entry(family='ipv6', orig={'src': '2001:db8::1', 'dst': '2001:db8::2',
                                              'sport': 40000, 'dport': 21})
    view = desired_view(spec, entry)
    view['tuple']['src'] = '2001:0db8::1'
    assert differences(view, spec, entry) == []


# -- encoding -----------------------------------------------------------------------------

def test_expect_attrs_carry_complete_tuples():
    spec, _w = spec_of(timeout=120, flags=['PERMANENT'], zone=5,
                       nat={'dir': 'reply', 'tuple': {'src': '198.51.100.7', 'sport': 2121}})
    attrs = tree(E.expect_attrs(spec))
    assert set(attrs) == {C.CTA_EXPECT_MASTER, C.CTA_EXPECT_TUPLE, C.CTA_EXPECT_MASK,
                          C.CTA_EXPECT_ZONE, C.CTA_EXPECT_TIMEOUT, C.CTA_EXPECT_FLAGS,
                          C.CTA_EXPECT_CLASS, C.CTA_EXPECT_FN, C.CTA_EXPECT_NAT}
    for key in (C.CTA_EXPECT_MASTER, C.CTA_EXPECT_TUPLE, C.CTA_EXPECT_MASK):
        proto = attrs[key][C.CTA_TUPLE_PROTO]
        # every tuple complete: the kernel parses each in full; no zone inside a tuple
        assert set(proto) == {C.CTA_PROTO_NUM, C.CTA_PROTO_SRC_PORT, C.CTA_PROTO_DST_PORT}
        assert set(attrs[key]) == {C.CTA_TUPLE_IP, C.CTA_TUPLE_PROTO}
    assert be(attrs[C.CTA_EXPECT_MASK][C.CTA_TUPLE_PROTO][C.CTA_PROTO_DST_PORT]) == 0xFFFF
    assert be(attrs[C.CTA_EXPECT_ZONE]) == 5
    assert be(attrs[C.CTA_EXPECT_TIMEOUT]) == 120
    assert be(attrs[C.CTA_EXPECT_FLAGS]) == 1
    assert attrs[C.CTA_EXPECT_FN] == b'nat-follow-master\0'
    nat = attrs[C.CTA_EXPECT_NAT]
    assert be(nat[C.CTA_EXPECT_NAT_DIR]) == 1
    assert be(nat[C.CTA_EXPECT_NAT_TUPLE][C.CTA_TUPLE_PROTO][C.CTA_PROTO_SRC_PORT]) == 2121
    assert nat[C.CTA_EXPECT_NAT_TUPLE][C.CTA_TUPLE_IP][C.CTA_IP_V4_SRC] == bytes((198, 51, 100, 7))
    assert nat[C.CTA_EXPECT_NAT_TUPLE][C.CTA_TUPLE_IP][C.CTA_IP_V4_DST] == bytes(4)


def test_expect_key_attrs_name_the_expected_tuple():
    out = parse(E.expect_key_attrs(C.AF_INET6, 6, {'src': '::', 'dst': '2001:db8::2', 'sport': 0,
                                                   'dport': 9, 'zone': 3}, zone=3, exp_id=77))
    assert [a[0] for a in out] == [C.CTA_EXPECT_TUPLE, C.CTA_EXPECT_ZONE, C.CTA_EXPECT_ID]
    assert C.CTA_TUPLE_ZONE not in tree(out[0][2])
    assert be(out[2][2]) == 77


def test_gre_expectations_use_the_keys():
    spec, _w = build_spec({'master': dict(MASTER, sport=5000, dport=1723),
                           'tuple': {'proto': 'gre', 'src': '192.0.2.2', 'dst': '192.0.2.1',
                                     'sport': 7, 'dport': 9}})
    assert spec['proto'] == C.GRE_PROTO
    attrs = tree(E.expect_attrs(spec))
    proto = attrs[C.CTA_EXPECT_TUPLE][C.CTA_TUPLE_PROTO]
    assert be(proto[C.CTA_PROTO_NUM]) == 47
    assert be(proto[C.CTA_PROTO_SRC_PORT]) == 7 and be(proto[C.CTA_PROTO_DST_PORT]) == 9
