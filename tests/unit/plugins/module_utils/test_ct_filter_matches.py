# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""CompiledFilter.matches over hand-made SPEC entries (what conntrack_select relies on)."""

from __future__ import annotations

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.decode import Decoder
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.slots import entry_values
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import (
    compile_filter)
from ansible_collections.netfilter.conntrack.tests.unit.plugins.module_utils.ctmsg import ct_message

LABELS = {0: 'blue', 5: 'red'}


def entry(**kw):
    out = {
        'id': 1, 'family': 'ipv4', 'proto': 'tcp', 'proto_num': 6,
        'orig': {'src': '10.0.0.1', 'dst': '10.0.0.2', 'sport': 40000, 'dport': 80},
        'reply': {'src': '10.0.0.2', 'dst': '10.0.0.1', 'sport': 80, 'dport': 40000},
        'proto_state': 'ESTABLISHED', 'timeout': 100, 'status': ['ASSURED', 'CONFIRMED', 'SEEN_REPLY'],
        'ctstate': 'ESTABLISHED', 'mark': 0x12, 'zone': 0, 'use': 1, 'labels': [],
        'nat': {'src': False, 'dst': False}, 'counters': None, 'timestamp': None, 'helper': None,
    }
    out.update(kw)
    return out


TCP = entry()
V6 = entry(family='ipv6', orig={'src': 'fd00::1', 'dst': 'fd00::2', 'sport': 40000, 'dport': 443},
           reply={'src': 'fd00::2', 'dst': 'fd00::1', 'sport': 443, 'dport': 40000})
UDP = entry(proto='udp', proto_num=17, proto_state=None, status=['CONFIRMED'], ctstate='NEW')
ICMP = entry(proto='icmp', proto_num=1, proto_state=None,
             orig={'src': '10.0.0.1', 'dst': '10.0.0.2', 'icmp_type': 8, 'icmp_code': 0, 'icmp_id': 77},
             reply={'src': '10.0.0.2', 'dst': '10.0.0.1', 'icmp_type': 0, 'icmp_code': 0, 'icmp_id': 77})
GRE = entry(proto='gre', proto_num=47, proto_state=None,
            orig={'src': '10.0.0.1', 'dst': '10.0.0.2', 'src_key': 80, 'dst_key': 80},
            reply={'src': '10.0.0.2', 'dst': '10.0.0.1', 'src_key': 80, 'dst_key': 80})
SCTP = entry(proto='sctp', proto_num=132)
RELATED = entry(status=['ASSURED', 'CONFIRMED', 'EXPECTED', 'SEEN_REPLY'], ctstate='RELATED', helper='ftp')
# DNAT to a backend: client 10.0.0.1 -> VIP 192.0.2.10:80, backend 10.1.0.5:8080
DNAT = entry(orig={'src': '10.0.0.1', 'dst': '192.0.2.10', 'sport': 40000, 'dport': 80},
             reply={'src': '10.1.0.5', 'dst': '10.0.0.1', 'sport': 8080, 'dport': 40000},
             status=['ASSURED', 'CONFIRMED', 'DST_NAT', 'DST_NAT_DONE', 'SEEN_REPLY'], nat={'src': False, 'dst': True})
# SNAT (masquerade): 10.0.0.1 leaves as 203.0.113.1
SNAT = entry(orig={'src': '10.0.0.1', 'dst': '198.51.100.7', 'sport': 40000, 'dport': 443},
             reply={'src': '198.51.100.7', 'dst': '203.0.113.1', 'sport': 443, 'dport': 61000},
             nat={'src': True, 'dst': False})
SNAT_PORT_ONLY = entry(reply={'src': '10.0.0.2', 'dst': '10.0.0.1', 'sport': 80, 'dport': 61000})
DNAT6 = entry(family='ipv6', orig={'src': 'fd00::1', 'dst': 'fd00:100::10', 'sport': 1, 'dport': 80},
              reply={'src': 'fd00:200::5', 'dst': 'fd00::1', 'sport': 80, 'dport': 1})
ZONED = entry(zone=5)
DIR_ZONE = entry(orig_zone=5, reply_zone=0)
LABELLED = entry(labels=['blue', 3])

M = [
    # (entry, filter, expected)
    (TCP, {}, True),
    (TCP, {'family': 'ipv4'}, True),
    (TCP, {'family': 'ipv6'}, False),
    (V6, {'family': 'ipv6'}, True),
    (TCP, {'family': 'any'}, True),
    (TCP, {'proto': 'tcp'}, True),
    (TCP, {'proto': 6}, True),
    (TCP, {'proto': '6'}, True),
    (TCP, {'proto': 'udp'}, False),
    (TCP, {'proto': ['udp', 'tcp']}, True),
    (UDP, {'proto': ['icmp', 'tcp']}, False),
    # addresses and CIDR, v4
    (TCP, {'orig_src': '10.0.0.1'}, True),
    (TCP, {'orig_src': '10.0.0.1/32'}, True),
    (TCP, {'orig_src': '10.0.0.2'}, False),
    (TCP, {'orig_src': '10.0.0.0/8'}, True),
    (TCP, {'orig_src': '10.0.0.0/31'}, True),
    (TCP, {'orig_src': '10.0.0.0/29'}, True),
    (TCP, {'orig_src': '10.0.0.8/29'}, False),
    (TCP, {'orig_src': '11.0.0.0/8'}, False),
    (TCP, {'orig_src': '10.0.0.0/24'}, True),
    (TCP, {'orig_src': '10.0.1.0/24'}, False),
    (TCP, {'orig_src': ['192.0.2.1', '10.0.0.0/30']}, True),
    (TCP, {'orig_src': ['192.0.2.1', '10.0.0.4/30']}, False),
    (TCP, {'orig_src': '0.0.0.0/0'}, True),
    (TCP, {'orig_dst': '10.0.0.2'}, True),
    (TCP, {'reply_src': '10.0.0.2'}, True),
    (TCP, {'reply_dst': '10.0.0.1'}, True),
    (TCP, {'reply_dst': '10.0.0.2'}, False),
    (TCP, {'orig_src': '10.0.0.1', 'orig_dst': '10.0.0.3'}, False),
    (V6, {'orig_src': '10.0.0.0/8'}, False),
    (TCP, {'orig_src': '::/0'}, False),
    # addresses and CIDR, v6
    (V6, {'orig_src': 'fd00::1'}, True),
    (V6, {'orig_src': 'FD00:0::1'}, True),
    (V6, {'orig_src': 'fd00::/64'}, True),
    (V6, {'orig_src': 'fd00:0:0:1::/64'}, False),
    (V6, {'orig_src': 'fc00::/7'}, True),
    (V6, {'orig_src': 'fe80::/10'}, False),
    (V6, {'orig_src': 'fd00::/127'}, True),
    (V6, {'orig_src': 'fd00::2/127'}, False),
    (V6, {'orig_dst': ['fd00::3', 'fd00::2/128']}, True),
    (V6, {'reply_dst': 'fd00::1'}, True),
    # ports
    (TCP, {'sport': 40000}, True),
    (TCP, {'orig_port_src': '40000'}, True),
    (TCP, {'dport': 80}, True),
    (TCP, {'dport': 443}, False),
    (TCP, {'dport': [443, 80]}, True),
    (TCP, {'dport': [443, 8443]}, False),
    (TCP, {'reply_port_src': 80}, True),
    (TCP, {'reply_port_dst': 40000}, True),
    (TCP, {'reply_port_dst': 80}, False),
    (SNAT_PORT_ONLY, {'reply_port_dst': 61000}, True),
    (SCTP, {'proto': 'sctp', 'dport': 80}, True),
    (ICMP, {'dport': 80}, False),
    (GRE, {'dport': 80}, False),
    # icmp
    (ICMP, {'icmp_type': 8}, True),
    (ICMP, {'proto': 'icmp', 'icmp_type': 8, 'icmp_code': 0, 'icmp_id': 77}, True),
    (ICMP, {'icmp_type': 0}, False),
    (ICMP, {'icmp_id': 78}, False),
    (TCP, {'icmp_type': 8}, False),
    # states
    (TCP, {'proto_state': ['ESTABLISHED']}, True),
    (TCP, {'proto_state': ['established']}, True),
    (TCP, {'proto_state': 'ESTABLISHED'}, True),
    (TCP, {'proto_state': ['TIME_WAIT', 'SYN_SENT']}, False),
    (SCTP, {'proto_state': ['ESTABLISHED']}, True),
    (SCTP, {'proto_state': ['COOKIE_WAIT']}, False),
    (UDP, {'proto_state': ['ESTABLISHED']}, False),
    (entry(proto='dccp', proto_num=33, proto_state='OPEN'), {'proto_state': ['OPEN']}, True),
    (TCP, {'ctstate': ['ESTABLISHED']}, True),
    (TCP, {'ctstate': ['NEW']}, False),
    (TCP, {'ctstate': ['new', 'established']}, True),
    (UDP, {'ctstate': ['NEW']}, True),
    (RELATED, {'ctstate': ['RELATED']}, True),
    (RELATED, {'ctstate': ['ESTABLISHED']}, False),
    # status flags: all given must be set
    (TCP, {'status': ['ASSURED']}, True),
    (TCP, {'status': ['ASSURED', 'SEEN_REPLY']}, True),
    (TCP, {'status': ['ASSURED', 'DST_NAT']}, False),
    (DNAT, {'status': ['DST_NAT']}, True),
    (UDP, {'status': ['ASSURED']}, False),
    # mark
    (TCP, {'mark': 0x12}, True),
    (TCP, {'mark': 18}, True),
    (TCP, {'mark': '0x12'}, True),
    (TCP, {'mark': 0}, False),
    (TCP, {'mark': '0x10/0xf0'}, True),
    (TCP, {'mark': '0x20/0xf0'}, False),
    (TCP, {'mark': '2/0xf'}, True),
    (TCP, {'mark': '0/0'}, True),
    (entry(mark=0), {'mark': 0}, True),
    # zones
    (TCP, {'zone': 0}, True),
    (TCP, {'zone': 5}, False),
    (ZONED, {'zone': 5}, True),
    (ZONED, {'orig_zone': 5}, True),
    (ZONED, {'reply_zone': 5}, True),
    (ZONED, {'orig_zone': 0}, False),
    # `zone` is the conntrack zone id whatever its direction, as the kernel's CTA_ZONE dump and
    # flush filter compares it (nf_ct_zone_equal_any; measured on 6.18: a zone-5 filter returns
    # an entry zoned 5 in the original direction only, a zone-0 filter does not)
    (DIR_ZONE, {'zone': 5}, True),
    (DIR_ZONE, {'zone': 0}, False),
    (entry(orig_zone=0, reply_zone=7), {'zone': 7}, True),
    (entry(orig_zone=0, reply_zone=7), {'zone': 0}, False),
    (DIR_ZONE, {'orig_zone': 5}, True),
    (DIR_ZONE, {'reply_zone': 0}, True),
    (DIR_ZONE, {'reply_zone': 5}, False),
    (DIR_ZONE, {'orig_zone': 0}, False),
    # labels: names (through the label map) and bits, all must be set
    (LABELLED, {'labels': ['blue']}, True),
    (LABELLED, {'labels': [0]}, True),
    (LABELLED, {'labels': ['0']}, True),
    (LABELLED, {'labels': [3]}, True),
    (LABELLED, {'labels': ['blue', 3]}, True),
    (LABELLED, {'labels': ['red']}, False),
    (LABELLED, {'labels': [3, 'red']}, False),
    (LABELLED, {'labels': [5]}, False),
    (TCP, {'labels': ['blue']}, False),
    (entry(labels=[0, 5]), {'labels': ['red', 'blue']}, True),
    # nat, derived from the tuples (not from the status bits)
    (TCP, {'nat': 'any'}, False),
    (TCP, {'nat': 'src'}, False),
    (DNAT, {'nat': 'dst'}, True),
    (DNAT, {'nat': 'src'}, False),
    (DNAT, {'nat': 'any'}, True),
    (SNAT, {'nat': 'src'}, True),
    (SNAT, {'nat': 'dst'}, False),
    (SNAT_PORT_ONLY, {'nat': 'src'}, True),
    (DNAT6, {'nat': 'dst'}, True),
    (entry(status=['DST_NAT', 'SRC_NAT']), {'nat': 'any'}, False),
    (DNAT, {'dst_nat': '10.1.0.5'}, True),
    (DNAT, {'dst_nat': '10.1.0.0/16'}, True),
    (DNAT, {'dst_nat': '10.1.0.6'}, False),
    (DNAT, {'src_nat': '10.1.0.5'}, False),
    (SNAT, {'src_nat': '203.0.113.1'}, True),
    (SNAT, {'src_nat': '203.0.113.0/24'}, True),
    (SNAT, {'dst_nat': '198.51.100.7'}, False),
    (TCP, {'dst_nat': '10.0.0.2'}, False),       # un-NATed: reply src is the original dst
    (TCP, {'src_nat': '10.0.0.1'}, False),
    (DNAT, {'any_nat': '10.1.0.5'}, True),
    (SNAT, {'any_nat': '203.0.113.1'}, True),
    (SNAT, {'any_nat': '10.1.0.5'}, False),
    (TCP, {'any_nat': '10.0.0.0/8'}, False),
    (DNAT6, {'dst_nat': 'fd00:200::5'}, True),
    (DNAT6, {'dst_nat': 'fd00:200::/32'}, True),
    (DNAT6, {'dst_nat': 'fd00:300::5'}, False),
    # helper
    (RELATED, {'helper': 'ftp'}, True),
    (RELATED, {'helper': ['sip', 'ftp']}, True),
    (RELATED, {'helper': 'sip'}, False),
    (TCP, {'helper': 'ftp'}, False),
    # exclude
    (TCP, {'proto': 'tcp', 'exclude': [{'reply_src': '10.0.0.2'}]}, False),
    (TCP, {'proto': 'tcp', 'exclude': [{'reply_src': '10.0.0.9'}]}, True),
    (TCP, {'exclude': {'dport': 80}}, False),
    (TCP, {'exclude': [{'dport': 443}, {'mark': 0x12}]}, False),
    (TCP, {'exclude': [{'dport': 443}, {'mark': 0x13}]}, True),
    (TCP, {'exclude': [{'family': 'ipv6'}]}, True),
    (TCP, {'exclude': []}, True),
    (TCP, {'exclude': [{'exclude': [{'dport': 80}]}]}, True),
]


@pytest.mark.parametrize('ent, params, expected', M, ids=['%d-%r' % (i, m[1]) for i, m in enumerate(M)])
def test_matches(ent, params, expected):
    assert compile_filter(params, LABELS).matches(ent) is expected


# kube-proxy's reconcile: UDP to the VIP whose backend is not one of the serving endpoints
VIP, EP1, EP2, EP3 = '10.96.0.10', '10.244.0.5', '10.244.0.6', '10.244.0.7'


def _udp(dst, backend):
    return entry(proto='udp', proto_num=17, proto_state=None,
                 orig={'src': '10.0.0.1', 'dst': dst, 'sport': 5000, 'dport': 53},
                 reply={'src': backend, 'dst': '10.0.0.1', 'sport': 53, 'dport': 5000})


@pytest.mark.parametrize('ent, stale', [
    (_udp(VIP, EP1), False), (_udp(VIP, EP2), False), (_udp(VIP, EP3), True),
    (_udp('10.96.0.11', EP3), False), (entry(orig={'src': '10.0.0.1', 'dst': VIP, 'sport': 1, 'dport': 53},
                                             reply={'src': EP3, 'dst': '10.0.0.1', 'sport': 53, 'dport': 1}), False),
])
def test_exclude_kube_proxy_reconcile(ent, stale):
    f = compile_filter({'proto': 'udp', 'orig_dst': VIP, 'exclude': [{'reply_src': EP1}, {'reply_src': EP2}]})
    assert f.matches(ent) is stale


@pytest.mark.parametrize('value', [None, [], 'entry', 5])
def test_non_dict_never_matches(value):
    assert compile_filter({}).matches(value) is False


def test_entry_missing_keys_does_not_raise():
    f = compile_filter({'orig_src': '10.0.0.0/8', 'dport': 80, 'proto_state': ['ESTABLISHED'], 'mark': 1,
                        'labels': [1], 'nat': 'any', 'helper': 'ftp', 'zone': 1, 'orig_zone': 1})
    assert f.matches({}) is False
    assert f.matches({'orig': None, 'reply': 'x'}) is False


# -- the dict path and the dump path agree ------------------------------------------

def _msgs():
    t4 = ({'src': '10.0.0.1', 'dst': '192.0.2.10', 'sport': 40000, 'dport': 80},
          {'src': '10.1.0.5', 'dst': '10.0.0.1', 'sport': 8080, 'dport': 40000})
    t6 = ({'src': 'fd00::1', 'dst': 'fd00::2', 'sport': 1, 'dport': 53},
          {'src': 'fd00::2', 'dst': 'fd00::1', 'sport': 53, 'dport': 1})
    icmp = ({'src': '10.0.0.1', 'dst': '10.0.0.2', 'icmp_type': 8, 'icmp_code': 0, 'icmp_id': 77},
            {'src': '10.0.0.2', 'dst': '10.0.0.1', 'icmp_type': 0, 'icmp_code': 0, 'icmp_id': 77})
    return [
        ct_message(C.AF_INET, 6, *t4, status=0b100101110, timeout=9, mark=0x12, use=1, ct_id=1, pstate=3,
                   labels=[0, 3], helper='ftp'),
        ct_message(C.AF_INET6, 17, *t6, status=0b1000, timeout=9, mark=0, use=1, ct_id=2, zone=5),
        ct_message(C.AF_INET6, 17, *t6, status=0b1001, timeout=9, mark=1, use=1, ct_id=3, orig_zone=5),
        ct_message(C.AF_INET, 1, *icmp, status=0b1110, timeout=9, use=1, ct_id=4),
        ct_message(C.AF_INET, 132, *t4, status=0b1110, pstate=4, ct_id=5, labels=[5]),
    ]


# filter -> which of the five messages above it matches
FILTERS = [
    ({}, 'TTTTT'), ({'family': 'ipv6'}, 'FTTFF'), ({'proto': 'udp'}, 'FTTFF'),
    ({'orig_src': '10.0.0.0/8'}, 'TFFTT'), ({'dst_nat': '10.1.0.5'}, 'TFFFT'), ({'nat': 'dst'}, 'TFFFT'),
    ({'nat': 'src'}, 'FFFFF'), ({'labels': ['blue']}, 'TFFFF'), ({'labels': [3]}, 'TFFFF'),
    ({'labels': ['red']}, 'FFFFT'), ({'zone': 5}, 'FTTFF'), ({'zone': 0}, 'TFFTT'), ({'orig_zone': 5}, 'FTTFF'),
    ({'reply_zone': 5}, 'FTFFF'), ({'reply_zone': 0}, 'TFTTT'), ({'ctstate': ['RELATED']}, 'FFTFF'),
    ({'ctstate': ['NEW']}, 'FTFFF'), ({'status': ['DST_NAT']}, 'TFFFF'),
    ({'proto_state': ['ESTABLISHED']}, 'TFFFT'), ({'helper': 'ftp'}, 'TFFFF'), ({'icmp_type': 8}, 'FFFTF'),
    ({'mark': '0x10/0xf0'}, 'TFFFF'), ({'dport': 80}, 'TFFFT'), ({'reply_port_src': 8080}, 'TFFFT'),
    ({'exclude': [{'proto': 'udp'}]}, 'TFFTT'), ({'any_nat': '10.1.0.0/16'}, 'TFFFT'),
]


@pytest.mark.parametrize('params, expected', FILTERS, ids=[repr(p) for p, _e in FILTERS])
def test_matches_on_decoded_entry_equals_matches_values(params, expected):
    f = compile_filter(params, LABELS)
    dec = Decoder(LABELS)
    hits = ''
    for buf in _msgs():
        v = dec.values(buf, 20, len(buf))
        fam = buf[16]
        by_values = f.matches_values(v, fam)
        assert f.matches(dec.entry(v, fam)) is by_values
        hits += 'T' if by_values else 'F'
    assert hits == expected


# -- the predicates read only the slots they declare (what Decoder.prober unpacks) ------

def _only(v, slots):
    return tuple(x if i in slots else None for i, x in enumerate(v))


@pytest.mark.parametrize('ent, params, expected', M, ids=['%d-%r' % (i, m[1]) for i, m in enumerate(M)])
def test_declared_slots_suffice(ent, params, expected):
    f = compile_filter(params, LABELS)
    v, fam = entry_values(ent, LABELS)
    slots = f.all_slots()
    if slots is not None:
        assert f.matches_values(_only(v, slots), fam) is expected
    residual, rslots = f.residual_values(), f.residual_slots()
    if residual is not None and rslots is not None:
        assert bool(residual(_only(v, rslots), fam)) is bool(residual(v, fam))


@pytest.mark.parametrize('params, expected', FILTERS, ids=[repr(p) for p, _e in FILTERS])
def test_prober_judges_as_the_full_decode(params, expected):
    f = compile_filter(params, LABELS)
    dec = Decoder(LABELS)
    probe = dec.prober(f.all_slots())
    hits = ''
    for buf in _msgs():
        part = probe(buf, 20, len(buf))
        hits += 'T' if f.matches_values(part, buf[16]) else 'F'
    assert hits == expected


def test_slots_of_a_filter():
    assert compile_filter({'orig_src': '10.0.0.0/8'}).residual_slots() == (0,)
    assert compile_filter({'orig_src': '10.0.0.1'}).residual_slots() == ()
    assert compile_filter({'proto': 'tcp', 'proto_state': 'ESTABLISHED'}).residual_slots() == (2, 24)
    assert compile_filter({'exclude': [{'dport': 80}]}).residual_slots() == (2, 4)
