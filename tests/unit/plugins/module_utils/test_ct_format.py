# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""conntrack_format's renderer against lines the real `conntrack -L` (1.4.7) printed.

fixtures/ct_format_cli.json was captured with tools/ct_format_capture.py from real
tables: synthetic entries of every protocol, state, zone kind, mark, label and helper,
and a namespace rig with real traffic (NAT, counters, FTP helper, TIME_WAIT).  Each case
holds the entries read just before and just after the command and the clock around it;
only the timeout and delta-time may fall between those two reads.
"""

from __future__ import annotations

import copy
import json
import os
import time

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_format import (
    Formatter, format_entries, parse_output)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError
from ansible_collections.netfilter.conntrack.tests.unit.plugins.module_utils.ct_format_check import (
    unexplained_lines)

FIXTURE = os.path.join(os.path.dirname(__file__), 'fixtures', 'ct_format_cli.json')


def _load():
    with open(FIXTURE, encoding='utf-8') as fh:
        return json.load(fh)


@pytest.fixture(scope='module')
def fixture():
    return _load()


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """ktimestamp prints local time, as the command does: the fixture is in UTC."""
    monkeypatch.setenv('TZ', 'UTC')
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _case_ids():
    return ['%s -o %s%s' % (c['netns'], c['output'], ' (connlabel.conf)' if c['labelmap'] else '')
            for c in _load()['cases']]


@pytest.mark.parametrize('index', range(len(_case_ids())), ids=_case_ids())
def test_cli_lines(fixture, index):
    case = fixture['cases'][index]
    assert len(case['lines']) == len(case['before']) > 0
    assert unexplained_lines(case) == []


def test_fixture_covers_the_cli_features(fixture):
    """The captured lines show every feature the renderer claims to reproduce."""
    text = '\n'.join(line for case in fixture['cases'] for line in case['lines'])
    for needle in ('ipv4     2 tcp      6 ', 'ipv6     10 ', 'udp      17 ', 'icmp     1 ',
                   'icmpv6   58 ', 'sctp     132 ', 'gre      47 ', 'udplite  136 ',
                   'unknown  50 ', 'dccp     33 ', '[UNREPLIED]', '[ASSURED]', 'zone=',
                   'zone-orig=', 'zone-reply=', 'mark=42 ', 'mark=4294967295', 'helper=ftp',
                   'srckey=0x', 'type=128 code=0', 'packets=', 'delta-time=', '[start=',
                   ' id=', 'labels=', 'SYN_SENT2', 'TIME_WAIT', 'HEARTBEAT_SENT',
                   'COOKIE_ECHOED', 'use=1'):
        assert needle in text, needle
    assert any(line.endswith(' labels') for line in text.splitlines())


ENTRY = {
    'id': 7, 'family': 'ipv4', 'proto': 'tcp', 'proto_num': 6,
    'orig': {'src': '10.0.0.1', 'dst': '10.0.0.2', 'sport': 40000, 'dport': 80},
    'reply': {'src': '10.0.0.2', 'dst': '10.0.0.1', 'sport': 80, 'dport': 40000},
    'proto_state': 'ESTABLISHED', 'timeout': 300, 'status': ['ASSURED', 'CONFIRMED', 'SEEN_REPLY'],
    'ctstate': 'ESTABLISHED', 'mark': 0, 'zone': 0, 'use': 1, 'labels': [],
    'nat': {'src': False, 'dst': False}, 'counters': None, 'timestamp': None, 'helper': None,
}
BASE = ('tcp      6 300 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=80 '
        'src=10.0.0.2 dst=10.0.0.1 sport=80 dport=40000 [ASSURED] mark=0 use=1')


def entry(**changes):
    out = copy.deepcopy(ENTRY)
    out.update(changes)
    return out


@pytest.mark.parametrize('output, line', [
    ('default', BASE),
    ('', BASE),
    ([], BASE),
    (None, BASE),
    ('timestamp', BASE),
    ('extended', 'ipv4     2 ' + BASE),
    ('id', BASE + ' id=7'),
    (['extended', 'id'], 'ipv4     2 ' + BASE + ' id=7'),
    (' extended , id ', 'ipv4     2 ' + BASE + ' id=7'),
])
def test_outputs(output, line):
    assert format_entries([entry()], output) == [line]


def test_stopped_entry_counts_delta_to_stop_and_prints_stop():
    start, stop = 1700000000 * 10 ** 9 + 5, 1700000042 * 10 ** 9 + 999
    line = Formatter('ktimestamp', now=1).line(entry(timestamp={'start': start, 'stop': stop}))
    assert line.endswith('mark=0 delta-time=42 [start=Tue Nov 14 22:13:20 2023] '
                         '[stop=Tue Nov 14 22:14:02 2023] use=1')


def test_live_entry_counts_delta_to_now():
    line = Formatter('default', now=1700000100).line(
        entry(timestamp={'start': 1700000000 * 10 ** 9, 'stop': None}))
    assert 'mark=0 delta-time=100 use=1' in line
    assert '[start=' not in line


@pytest.mark.parametrize('status, tag', [
    (['ASSURED', 'SEEN_REPLY', 'OFFLOAD'], '[OFFLOAD] '),
    (['ASSURED', 'SEEN_REPLY', 'OFFLOAD', 'HW_OFFLOAD'], '[HW_OFFLOAD] '),
    (['SEEN_REPLY'], ''),
])
def test_offload_replaces_assured(status, tag):
    line = format_entries([entry(status=status)], 'default')[0]
    assert 'dport=40000 %smark=0' % tag in line
    assert line.count('[') == (1 if tag else 0)


def test_unreplied_goes_between_the_tuples():
    line = format_entries([entry(status=['CONFIRMED'])], 'default')[0]
    assert 'dport=80 [UNREPLIED] src=10.0.0.2' in line


def test_optional_fields_in_command_order():
    line = format_entries([entry(
        zone=3, mark=5, secctx='system_u:object_r:unlabeled_t:s0', helper='ftp', use=2,
        counters={'orig': {'packets': 1, 'bytes': 60}, 'reply': {'packets': 2, 'bytes': 120}},
        timestamp={'start': 10 * 10 ** 9, 'stop': None}, labels=['a', 3, 'b'])],
        'extended,id,labels', now=15)[0]
    assert line == (
        'ipv4     2 tcp      6 300 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=80 '
        'packets=1 bytes=60 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=40000 packets=2 bytes=120 '
        '[ASSURED] mark=5 secctx=system_u:object_r:unlabeled_t:s0 zone=3 delta-time=5 '
        'helper=ftp use=2 id=7 labels=a,b')


def test_direction_zones():
    line = format_entries([entry(orig_zone=5, reply_zone=0)], 'default')[0]
    assert 'dport=80 zone-orig=5 src=' in line and 'zone-reply' not in line
    assert ' zone=' not in line
    line = format_entries([entry(orig_zone=0, reply_zone=6)], 'default')[0]
    assert 'dport=40000 zone-reply=6 [ASSURED]' in line


@pytest.mark.parametrize('labels, labelmap, tail', [
    (['web', 4], None, ' labels=web'),
    ([4], None, ''),          # no name anywhere: the host had no connlabel.conf
    ([4], True, ' labels'),   # connlabel.conf without a name for the bit: the bare word
    (['web'], False, ''),
    ([], True, ''),
])
def test_labels(labels, labelmap, tail):
    line = format_entries([entry(labels=labels)], 'labels', labelmap=labelmap)[0]
    assert line == BASE + tail


def test_labels_guess_looks_at_all_entries():
    lines = format_entries([entry(labels=[4]), entry(labels=['web'])], 'labels')
    assert lines == [BASE + ' labels', BASE + ' labels=web']


@pytest.mark.parametrize('proto, num, orig, text', [
    ('icmp', 1, {'icmp_type': 8, 'icmp_code': 0, 'icmp_id': 9}, 'type=8 code=0 id=9'),
    ('gre', 47, {'src_key': 0xabc, 'dst_key': 0}, 'srckey=0xabc dstkey=0x0'),
    ('dccp', 33, {}, 'sport=0 dport=0'),
    ('50', 50, {}, ''),
])
def test_protocol_columns(proto, num, orig, text):
    tup = {'src': '10.0.0.1', 'dst': '10.0.0.2'}
    tup.update(orig)
    line = format_entries([entry(proto=proto, proto_num=num, orig=tup, reply=dict(tup),
                                 proto_state=None)], 'default')[0]
    name = {'50': 'unknown'}.get(proto, proto)
    assert line.startswith('%-8s %d 300 src=10.0.0.1 dst=10.0.0.2 %s' % (name, num, text))


def test_proto_name_without_number_and_ipv6_extended():
    e = entry(family='ipv6', orig={'src': '2001:db8::1', 'dst': '2001:db8::2', 'sport': 1, 'dport': 2},
              reply={'src': '2001:db8::2', 'dst': '2001:db8::1', 'sport': 2, 'dport': 1})
    del e['proto_num']
    assert format_entries([e], 'extended')[0].startswith(
        'ipv6     10 tcp      6 300 ESTABLISHED src=2001:db8::1 dst=2001:db8::2 sport=1 dport=2 ')


@pytest.mark.parametrize('output', ['xml,save', 'extended,bogus', 5, ['extended', 3], {'a': 1}])
def test_bad_output(output):
    with pytest.raises(ConntrackError) as exc:
        parse_output(output)
    assert exc.value.msg.startswith('output: invalid value')


def test_entry_without_fields():
    with pytest.raises(ConntrackError, match='cannot render entry'):
        format_entries([{'family': 'ipv4'}])
