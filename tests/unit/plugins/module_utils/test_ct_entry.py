# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""conntrack_entry's pure parts: options -> wanted entry, comparison, predictions, specs."""

from __future__ import annotations

import struct

import pytest
import yaml

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import encode as E
from ansible_collections.netfilter.conntrack.plugins.module_utils import _ct_entry as M
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError
from ansible_collections.netfilter.conntrack.plugins.modules import conntrack_entry

LABELS = {1: 'web', 3: 'db'}
TCP = {'proto': 'tcp', 'orig_src': '10.0.0.1', 'orig_dst': '10.0.0.2',
       'orig_port_src': 40000, 'orig_port_dst': 80}


def want(**kw):
    params = dict(TCP)
    params.update(kw)
    return M.build_want({k: v for k, v in params.items() if v is not None}, LABELS)


def entry(**kw):
    """An entry dict as the decoder returns it for TCP (overridable)."""
    out = {'id': 7, 'family': 'ipv4', 'proto': 'tcp', 'proto_num': 6,
           'orig': {'src': '10.0.0.1', 'dst': '10.0.0.2', 'sport': 40000, 'dport': 80},
           'reply': {'src': '10.0.0.2', 'dst': '10.0.0.1', 'sport': 80, 'dport': 40000},
           'proto_state': 'ESTABLISHED', 'timeout': 95, 'status': ['CONFIRMED'],
           'ctstate': 'NEW', 'mark': 0, 'zone': 0, 'use': 1, 'labels': [],
           'nat': {'src': False, 'dst': False}, 'counters': None, 'timestamp': None,
           'helper': None}
    out.update(kw)
    return out


# -- options -> wanted entry -------------------------------------------------------------

def test_tcp_v4_tuple_and_mirror():
    w = want(timeout=60)
    assert w['family'] == C.AF_INET and w['proto'] == 6
    assert w['orig'] == {'src': '10.0.0.1', 'dst': '10.0.0.2', 'sport': 40000, 'dport': 80}
    assert w['reply'] == w['reply_create'] == {'src': '10.0.0.2', 'dst': '10.0.0.1',
                                               'sport': 80, 'dport': 40000}
    assert w['reply_fixed'] == {}
    assert (w['zone_orig'], w['zone_reply'], w['timeout']) == (0, 0, 60)
    assert w['state'] == 'present'


def test_aliases_sport_dport():
    w = M.build_want({'proto': 'udp', 'orig_src': '10.0.0.1', 'orig_dst': '10.0.0.2',
                      'sport': 5, 'dport': '0x35'})
    assert w['orig']['sport'] == 5 and w['orig']['dport'] == 53 and w['proto'] == 17


def test_ipv6_addresses_are_canonical():
    w = want(orig_src='FD00:0:0::1', orig_dst='fd00::0002')
    assert w['family'] == C.AF_INET6
    assert w['orig']['src'] == 'fd00::1' and w['orig']['dst'] == 'fd00::2'


@pytest.mark.parametrize('proto, itype, reply_type', [
    ('icmp', 8, 0), ('icmp', 0, 8), ('icmp', 13, 14), ('icmp', 17, 18),
    ('icmpv6', 128, 129), ('icmpv6', 129, 128), ('icmpv6', 139, 140),
])
def test_icmp_tuple(proto, itype, reply_type):
    six = proto == 'icmpv6'
    w = M.build_want({'proto': proto, 'orig_src': 'fd00::1' if six else '10.0.0.1',
                      'orig_dst': 'fd00::2' if six else '10.0.0.2', 'icmp_type': itype,
                      'icmp_id': 77})
    assert w['orig']['icmp_type'] == itype and w['orig']['icmp_code'] == 0
    assert w['orig']['icmp_id'] == 77
    assert w['reply']['icmp_type'] == reply_type and w['reply']['icmp_id'] == 77


def test_gre_keys_default_and_swap():
    w = M.build_want({'proto': 'gre', 'orig_src': '10.0.0.1', 'orig_dst': '10.0.0.2',
                      'gre_src_key': 10})
    assert w['orig'] == {'src': '10.0.0.1', 'dst': '10.0.0.2', 'src_key': 10, 'dst_key': 0}
    assert w['reply'] == {'src': '10.0.0.2', 'dst': '10.0.0.1', 'src_key': 0, 'dst_key': 10}


def test_other_protocol_number_is_addresses_only():
    w = M.build_want({'proto': 50, 'orig_src': '10.0.0.1', 'orig_dst': '10.0.0.2'})
    assert w['proto'] == 50 and w['orig'] == {'src': '10.0.0.1', 'dst': '10.0.0.2'}


@pytest.mark.parametrize('kw, zones', [
    ({}, (0, 0)),
    ({'zone': 5}, (5, 5)),
    ({'orig_zone': 6}, (6, 0)),
    ({'reply_zone': 7}, (0, 7)),
    ({'orig_zone': 4, 'reply_zone': 4}, (4, 4)),
    ({'zone': 5, 'orig_zone': 0}, (0, 5)),
    ({'zone': 5, 'reply_zone': 5}, (5, 5)),
])
def test_zones(kw, zones):
    w = want(**kw)
    assert (w['zone_orig'], w['zone_reply']) == zones


@pytest.mark.parametrize('zones, fields', [
    ((0, 0), {'zone': 0}), ((5, 5), {'zone': 5}), ((6, 0), {'orig_zone': 6}),
    ((0, 7), {'reply_zone': 7}),
])
def test_zone_fields_of_create_spec(zones, fields):
    w = want(timeout=1, orig_zone=zones[0], reply_zone=zones[1])
    spec = M.create_spec(w)
    assert {k: spec[k] for k in ('zone', 'orig_zone', 'reply_zone') if k in spec} == fields


def test_reply_options_and_nat():
    w = want(reply_port_src=8080, dst_nat='203.0.113.11', src_nat='198.51.100.1')
    assert w['reply'] == {'src': '203.0.113.11', 'dst': '198.51.100.1', 'sport': 8080,
                          'dport': 40000}
    # a create sends the tuple before NAT: the kernel's NAT setup rewrites it
    assert w['reply_create'] == {'src': '10.0.0.2', 'dst': '10.0.0.1', 'sport': 8080,
                                 'dport': 40000}
    assert w['reply_fixed'] == {'src': '203.0.113.11', 'dst': '198.51.100.1', 'sport': 8080}
    assert (w['dst_nat'], w['src_nat']) == ('203.0.113.11', '198.51.100.1')


def test_reply_src_equal_to_dst_nat_is_accepted():
    w = want(reply_src='203.0.113.11', dst_nat='203.0.113.11')
    assert w['reply']['src'] == '203.0.113.11'


def test_labels_names_bits_and_empty():
    assert want(labels=['db', 1, '7']).get('labels') == [1, 3, 7]
    assert want(labels=[]).get('labels') == []
    assert want().get('labels') is None


def test_status_normalised():
    assert want(status=['seen_reply', 'ASSURED', 'ASSURED'])['status'] == ['ASSURED',
                                                                           'SEEN_REPLY']


@pytest.mark.parametrize('proto, state', [('tcp', 'time_wait'), ('sctp', 'COOKIE_WAIT'),
                                          ('dccp', 'OPEN')])
def test_proto_state(proto, state):
    assert want(proto=proto, proto_state=state)['proto_state'] == state.upper()


def test_mark_value_and_mask():
    assert want(mark=5)['mark'] == (5, 0xFFFFFFFF)
    assert want(mark='0x10/0xf0')['mark'] == (0x10, 0xF0)


@pytest.mark.parametrize('kw, option, value', [
    ({'proto': 'tcpx'}, 'proto', 'tcpx'),
    ({'proto': None}, 'proto', None),
    ({'orig_src': None}, 'orig_src', None),
    ({'orig_src': '10.0.0.0/24'}, 'orig_src', '10.0.0.0/24'),
    ({'orig_src': 'fd00::1'}, 'orig_dst', '10.0.0.2'),
    ({'orig_src': ''}, 'orig_src', ''),
    ({'orig_port_dst': None}, 'orig_port_dst', None),
    ({'orig_port_src': 0}, 'orig_port_src', '0'),
    ({'orig_port_src': 70000}, 'orig_port_src', '70000'),
    ({'icmp_type': 8}, 'icmp_type', '8'),
    ({'gre_dst_key': 1}, 'gre_dst_key', '1'),
    ({'proto': 'icmp', 'icmp_type': 8, 'icmp_id': 1}, 'orig_port_src', '40000'),
    ({'proto': 'gre', 'orig_port_src': None, 'orig_port_dst': 9}, 'orig_port_dst', '9'),
    ({'proto': 'udp', 'reply_port_src': 0}, 'reply_port_src', '0'),
    ({'reply_src': 'fd00::1'}, 'reply_src', 'fd00::1'),
    ({'dst_nat': '10.0.0.0/8'}, 'dst_nat', '10.0.0.0/8'),
    ({'dst_nat': '10.9.9.9', 'reply_src': '10.1.1.1'}, 'dst_nat', '10.9.9.9'),
    ({'src_nat': '10.9.9.9', 'reply_dst': '10.1.1.1'}, 'src_nat', '10.9.9.9'),
    ({'zone': 65536}, 'zone', '65536'),
    ({'orig_zone': 6, 'reply_zone': 7}, 'reply_zone', '7'),
    ({'timeout': 0}, 'timeout', '0'),
    ({'mark': 'x'}, 'mark', 'x'),
    ({'labels': ['nosuch']}, 'labels', 'nosuch'),
    ({'labels': [128]}, 'labels', '128'),
    ({'status': ['SRC_NAT']}, 'status', 'SRC_NAT'),
    ({'status': ['EXPECTED']}, 'status', 'EXPECTED'),
    ({'proto_state': 'BOGUS'}, 'proto_state', 'BOGUS'),
    ({'proto': 'udp', 'proto_state': 'ESTABLISHED'}, 'proto_state', 'ESTABLISHED'),
    ({'proto': 'dccp', 'proto_state': 'IGNORE'}, 'proto_state', 'IGNORE'),
    ({'helper': ' '}, 'helper', ' '),
])
def test_bad_options_name_option_and_value(kw, option, value):
    params = dict(TCP)
    params.update(kw)
    with pytest.raises(ConntrackError) as exc:
        M.build_want(params, LABELS)
    assert exc.value.option == option
    assert exc.value.msg.startswith(option + ':')
    if value is not None:
        assert value in exc.value.msg


@pytest.mark.parametrize('params, option', [
    ({'proto': 'icmp', 'orig_src': '10.0.0.1', 'orig_dst': '10.0.0.2', 'icmp_id': 1},
     'icmp_type'),
    ({'proto': 'icmp', 'orig_src': '10.0.0.1', 'orig_dst': '10.0.0.2', 'icmp_type': 8},
     'icmp_id'),
    ({'proto': 'icmp', 'orig_src': '10.0.0.1', 'orig_dst': '10.0.0.2', 'icmp_type': 3,
      'icmp_id': 1}, 'icmp_type'),
    ({'proto': 'icmp', 'orig_src': 'fd00::1', 'orig_dst': 'fd00::2', 'icmp_type': 8,
      'icmp_id': 1}, 'proto'),
    ({'proto': 'icmpv6', 'orig_src': '10.0.0.1', 'orig_dst': '10.0.0.2', 'icmp_type': 128,
      'icmp_id': 1}, 'proto'),
    ({'proto': 'icmpv6', 'orig_src': 'fd00::1', 'orig_dst': 'fd00::2', 'icmp_type': 8,
      'icmp_id': 1}, 'icmp_type'),
    ({'proto': 'udp', 'orig_src': '10.0.0.1', 'orig_dst': '10.0.0.2', 'sport': 1, 'dport': 2,
      'gre_src_key': 1}, 'gre_src_key'),
    ({'proto': 47, 'orig_src': '10.0.0.1', 'orig_dst': '10.0.0.2', 'icmp_code': 1},
     'icmp_code'),
    ({'proto': 50, 'orig_src': '10.0.0.1', 'orig_dst': '10.0.0.2', 'dport': 1},
     'orig_port_dst'),
])
def test_options_not_valid_for_the_protocol(params, option):
    with pytest.raises(ConntrackError) as exc:
        M.build_want(params)
    assert exc.value.option == option and exc.value.msg.startswith(option + ':')


# -- comparison ---------------------------------------------------------------------------

def test_falling_timeout_is_no_change():
    assert M.changes(want(timeout=100), entry(timeout=37)) == {}


def test_refresh_timeout_makes_a_difference():
    assert M.changes(want(timeout=100, refresh_timeout=True), entry(timeout=37)) \
        == {'timeout': 100}
    assert M.changes(want(timeout=100, refresh_timeout=True), entry(timeout=100)) == {}
    assert M.changes(want(refresh_timeout=True), entry(timeout=37)) == {}


@pytest.mark.parametrize('mark, have, new', [
    (5, 5, None), (5, 4, 5), (0, 4, 0), ('0x10/0xf0', 0x15, None), ('0x10/0xf0', 0x25, 0x15),
    ('0/0xff', 0xFF01, 0xFF00),
])
def test_mark(mark, have, new):
    diff = M.changes(want(mark=mark), entry(mark=have))
    assert diff == ({} if new is None else {'mark': new})


def test_labels_exact_with_names():
    assert M.changes(want(labels=['web', 3]), entry(labels=['db', 'web']), LABELS) == {}
    assert M.changes(want(labels=[1]), entry(labels=['db', 'web']), LABELS) \
        == {'labels': ['web']}
    assert M.changes(want(labels=[]), entry(labels=[9]), LABELS) == {'labels': []}
    assert M.changes(want(labels=[9]), entry(labels=[]), LABELS) == {'labels': [9]}
    assert M.changes(want(), entry(labels=[9]), LABELS) == {}


def test_status_only_adds():
    have = ['ASSURED', 'CONFIRMED', 'SEEN_REPLY']
    assert M.changes(want(status=['ASSURED']), entry(status=have)) == {}
    assert M.changes(want(status=['CONFIRMED']), entry(status=['CONFIRMED'])) == {}
    assert M.changes(want(status=['FIXED_TIMEOUT']), entry(status=have)) \
        == {'status': ['ASSURED', 'CONFIRMED', 'FIXED_TIMEOUT', 'SEEN_REPLY']}


def test_proto_state_change():
    assert M.changes(want(proto_state='ESTABLISHED'), entry()) == {}
    assert M.changes(want(proto_state='TIME_WAIT'), entry()) == {'proto_state': 'TIME_WAIT'}


def test_reply_tuple_not_compared_unless_given():
    natted = entry(reply={'src': '203.0.113.11', 'dst': '10.0.0.1', 'sport': 80,
                          'dport': 40000})
    assert M.conflicts(want(), natted) == []
    assert M.conflicts(want(dst_nat='203.0.113.11'), natted) == []
    assert M.conflicts(want(dst_nat='203.0.113.12'), natted) \
        == [('dst_nat', '203.0.113.12', '203.0.113.11')]
    assert M.conflicts(want(reply_port_src=81), natted) == [('reply_port_src', 81, 80)]
    assert M.conflicts(want(src_nat='10.5.5.5'), natted) \
        == [('src_nat', '10.5.5.5', '10.0.0.1')]


def test_conflicts_zone_and_helper():
    assert M.conflicts(want(zone=5), entry(zone=5)) == []
    assert M.conflicts(want(orig_zone=5), entry(zone=0, orig_zone=5, reply_zone=0)) == []
    assert M.conflicts(want(zone=5), entry(zone=0, orig_zone=5, reply_zone=0)) \
        == [('reply_zone', 5, 0)]
    assert M.conflicts(want(helper='ftp'), entry()) == [('helper', 'ftp', None)]
    assert M.conflicts(want(helper='ftp'), entry(helper='ftp')) == []


def test_entry_zones():
    assert M.entry_zones(entry(zone=3)) == (3, 3)
    assert M.entry_zones(entry(zone=0, orig_zone=0, reply_zone=7)) == (0, 7)


# -- predictions ---------------------------------------------------------------------------

def test_predict_created_plain():
    e = M.predict_created(want(timeout=60, mark=5, labels=[1, 9], status=['SEEN_REPLY'],
                               proto_state='ESTABLISHED'), LABELS)
    assert e['id'] is None and e['family'] == 'ipv4' and e['proto'] == 'tcp'
    assert e['status'] == ['CONFIRMED', 'SEEN_REPLY'] and e['ctstate'] == 'ESTABLISHED'
    assert e['labels'] == ['web', 9] and e['mark'] == 5 and e['timeout'] == 60
    assert e['proto_state'] == 'ESTABLISHED' and e['nat'] == {'src': False, 'dst': False}
    assert e['zone'] == 0 and 'orig_zone' not in e
    assert set(e) >= {'id', 'family', 'proto', 'proto_num', 'orig', 'reply', 'proto_state',
                      'timeout', 'status', 'ctstate', 'mark', 'zone', 'use', 'labels', 'nat',
                      'counters', 'timestamp', 'helper'}


def test_predict_created_default_state_and_none():
    assert M.predict_created(want(timeout=1))['proto_state'] == 'NONE'
    udp = M.predict_created(want(proto='udp', timeout=1))
    assert udp['proto_state'] is None and udp['ctstate'] == 'NEW'


def test_predict_created_nat():
    e = M.predict_created(want(timeout=1, dst_nat='203.0.113.11'))
    assert e['reply']['src'] == '203.0.113.11'
    assert e['status'] == ['CONFIRMED', 'DST_NAT', 'DST_NAT_DONE', 'SRC_NAT_DONE']
    assert e['nat'] == {'src': False, 'dst': True}
    e = M.predict_created(want(timeout=1, src_nat='198.51.100.1'))
    assert e['status'] == ['CONFIRMED', 'DST_NAT_DONE', 'SRC_NAT', 'SRC_NAT_DONE']
    assert e['nat'] == {'src': True, 'dst': False}


@pytest.mark.parametrize('kw, zone, oz, rz', [
    ({'zone': 5}, 5, None, None), ({'orig_zone': 6}, 0, 6, 0), ({'reply_zone': 7}, 0, 0, 7),
])
def test_predict_created_zones(kw, zone, oz, rz):
    e = M.predict_created(want(timeout=1, **kw))
    assert e['zone'] == zone and e.get('orig_zone') == oz and e.get('reply_zone') == rz


def test_predict_created_icmp_shape():
    w = M.build_want({'proto': 'icmp', 'orig_src': '10.0.0.1', 'orig_dst': '10.0.0.2',
                      'icmp_type': 8, 'icmp_id': 3, 'timeout': 30})
    e = M.predict_created(w)
    assert e['orig'] == {'src': '10.0.0.1', 'dst': '10.0.0.2', 'icmp_type': 8, 'icmp_code': 0,
                         'icmp_id': 3}
    assert e['reply']['icmp_type'] == 0 and e['proto_state'] is None


def test_predict_updated():
    before = entry()
    after = M.predict_updated(before, {'status': ['CONFIRMED', 'SEEN_REPLY'], 'mark': 3})
    assert after['ctstate'] == 'ESTABLISHED' and after['mark'] == 3
    assert before['mark'] == 0 and before['ctstate'] == 'NEW'


def test_recreate_keeps_what_was_not_given():
    old = entry(mark=9, labels=['db'], status=['ASSURED', 'CONFIRMED', 'DST_NAT'],
                proto_state='ESTABLISHED', timeout=77, helper='ftp')
    new = M.recreate_want(want(dst_nat='203.0.113.11'), old, LABELS)
    assert new['timeout'] == 77 and new['mark'] == (9, 0xFFFFFFFF) and new['labels'] == [3]
    assert new['status'] == ['ASSURED'] and new['proto_state'] == 'ESTABLISHED'
    assert new['helper'] == 'ftp'
    given = M.recreate_want(want(timeout=5, mark=1, labels=[], proto_state='TIME_WAIT'), old)
    assert given['timeout'] == 5 and given['mark'] == (1, 0xFFFFFFFF)
    assert given['labels'] == [] and given['proto_state'] == 'TIME_WAIT'


# -- request specs -------------------------------------------------------------------------

def _raw_message(attrs, family=C.AF_INET):
    return E.nlmsg(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_NEW, 0, 1, family, attrs)


def test_create_spec():
    w = want(timeout=60, mark='0x10/0xf0', labels=[1], status=['ASSURED'],
             proto_state='ESTABLISHED', dst_nat='203.0.113.11', helper='ftp')
    spec = M.create_spec(w)
    assert spec['reply'] == w['reply_create'] and spec['timeout'] == 60
    assert spec['mark'] == 0x10 and spec['labels'] == [1]
    assert spec['status'] == 1 << C.STATUS_BITS['ASSURED']
    assert spec['proto_state'] == C.TCP_STATES.index('ESTABLISHED')
    assert spec['dst_nat'] == '203.0.113.11' and spec['helper'] == 'ftp'
    assert 'src_nat' not in spec
    E.entry_attrs(spec, create=True)  # encodes


def test_update_spec_status_keeps_current_bits():
    current = C.IPS_CONFIRMED | C.IPS_DST_NAT | (1 << 7) | (1 << 8)
    raw = _raw_message(E.be32(C.CTA_STATUS, current))
    w = want(status=['ASSURED'])
    e = entry(status=['CONFIRMED', 'DST_NAT', 'DST_NAT_DONE', 'SRC_NAT_DONE'])
    spec = M.update_spec(w, e, M.changes(w, e), raw)
    assert spec['status'] == current | C.IPS_ASSURED
    assert 'timeout' not in spec and 'mark' not in spec and 'labels' not in spec
    assert spec['reply'] == e['reply'] and spec['zone'] == 0


def test_update_spec_status_from_names_without_raw():
    w = want(status=['SEEN_REPLY'])
    e = entry(status=['CONFIRMED', 'EXPECTED'])
    spec = M.update_spec(w, e, M.changes(w, e))
    assert spec['status'] == C.IPS_CONFIRMED | C.IPS_EXPECTED | C.IPS_SEEN_REPLY


def test_update_spec_sctp_keeps_vtags():
    info = E.nest(C.CTA_PROTOINFO, E.nest(C.CTA_PROTOINFO_SCTP, E.u8(1, 4),
                                          E.be32(C.CTA_PROTOINFO_SCTP_VTAG_ORIGINAL, 11),
                                          E.be32(C.CTA_PROTOINFO_SCTP_VTAG_REPLY, 22)))
    raw = _raw_message(E.be32(C.CTA_STATUS, C.IPS_CONFIRMED) + info)
    w = want(proto='sctp', proto_state='SHUTDOWN_SENT', labels=[2], mark=1,
             timeout=9, refresh_timeout=True)
    e = entry(proto='sctp', proto_num=132, proto_state='ESTABLISHED')
    diff = M.changes(w, e)
    assert sorted(diff) == ['labels', 'mark', 'proto_state', 'timeout']
    spec = M.update_spec(w, e, diff, raw)
    assert spec['sctp_vtags'] == (11, 22)
    assert spec['proto_state'] == C.SCTP_STATES.index('SHUTDOWN_SENT')
    assert spec['labels'] == [2] and spec['mark'] == 1 and spec['timeout'] == 9
    body = E.entry_attrs(spec, create=False)
    assert struct.pack('>I', 11) in body and struct.pack('>I', 22) in body


def test_update_spec_dccp_keeps_role():
    info = E.nest(C.CTA_PROTOINFO, E.nest(C.CTA_PROTOINFO_DCCP, E.u8(1, 4),
                                          E.u8(C.CTA_PROTOINFO_DCCP_ROLE, 1)))
    raw = _raw_message(info)
    w = want(proto='dccp', proto_state='CLOSING')
    e = entry(proto='dccp', proto_num=33, proto_state='OPEN')
    spec = M.update_spec(w, e, M.changes(w, e), raw)
    assert spec['dccp_role'] == 1


# -- module documentation matches the argument spec ---------------------------------------

def test_documentation_matches_argument_spec():
    doc = yaml.safe_load(conntrack_entry.DOCUMENTATION)['options']
    spec = M.entry_argument_spec()
    assert set(doc) == set(spec)
    for name, opt in spec.items():
        d = doc[name]
        assert d['type'] == opt['type'], name
        assert d.get('default') == opt.get('default'), name
        assert d.get('required', False) == opt.get('required', False), name
        assert d.get('aliases') == opt.get('aliases'), name
        assert d.get('choices') == opt.get('choices'), name
        assert d.get('elements') == opt.get('elements'), name
    for key in ('EXAMPLES', 'RETURN'):
        assert yaml.safe_load(getattr(conntrack_entry, key))
