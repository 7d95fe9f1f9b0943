# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The xml document and the save lines against what the real `conntrack -L -o xml|save`
(1.4.7) printed, and the save lines read back (conntrack_load's parser).

fixtures/ct_format_doc_cli.json was captured with tools/ct_format_capture.py from a
namespace holding the 58 entries of ct_format_cli.json's synthetic table (loaded with
conntrack_load) and five NATed ones, with accounting and timestamps on.
"""

from __future__ import annotations

import json
import os
import time
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_format import format_entries
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_format_doc import DocFormatter
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_load_source import (
    parse_save_line)
from ansible_collections.netfilter.conntrack.tests.unit.plugins.module_utils.ct_format_check import (
    unexplained_lines)

FIXTURE = os.path.join(os.path.dirname(__file__), 'fixtures', 'ct_format_doc_cli.json')


def _load():
    with open(FIXTURE, encoding='utf-8') as fh:
        return json.load(fh)


@pytest.fixture(scope='module')
def fixture():
    return _load()


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    monkeypatch.setenv('TZ', 'UTC')
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _ids():
    return ['-o %s%s' % (c['output'], ' (connlabel.conf)' if c['labelmap'] else '')
            for c in _load()['cases']]


@pytest.mark.parametrize('index', range(len(_ids())), ids=_ids())
def test_cli_document(fixture, index):
    case = fixture['cases'][index]
    assert unexplained_lines(case) == []
    if case['output'] == 'save':
        assert len(case['lines']) == len(case['before'])
    else:
        # (the fixture's lines are sorted)
        heads = [line for line in case['lines'] if not line.startswith('<flow>')]
        assert sorted(heads) == ['</conntrack>', '<?xml version="1.0" encoding="utf-8"?>',
                                 '<conntrack>']


def test_fixture_covers(fixture):
    text = '\n'.join(line for case in fixture['cases'] for line in case['lines'])
    for needle in ('<zone>6</zone>', '<assured/>', '<unreplied/>', '<helper>ftp</helper>',
                   '<labels><label>', '<timestamp><start>', '<deltatime>', '<counters>',
                   'protoname="ipv6"', 'protoname="unknown"', '<srckey>0x', ' -g ', ' -n ',
                   '-u UNSET', '-u SEEN_REPLY,ASSURED', '--icmpv6-type', '--srckey',
                   '--orig-zone', '--reply-zone', '-w 7', 'FIXED_TIMEOUT', '--orig-vtag 0',
                   '--state (null)', '<state>FIN_WAIT</state>'):
        assert needle in text, needle


def test_xml_parses_back(fixture):
    """The document is well-formed and says what the entries hold."""
    case = next(c for c in fixture['cases'] if c['output'] == 'xml,extended,id,ktimestamp,labels')
    root = ET.fromstring('\n'.join(format_entries(case['before'], case['output'],
                                                  case['now'][0], True)))
    flows = root.findall('flow')
    assert len(flows) == len(case['before'])
    for flow, entry in zip(flows, case['before']):
        orig, reply, ind = flow.findall('meta')
        assert orig.get('direction') == 'original' and ind.get('direction') == 'independent'
        assert orig.find('layer3/src').text == entry['orig']['src']
        assert reply.find('layer3/dst').text == entry['reply']['dst']
        assert int(orig.find('layer4').get('protonum')) == entry['proto_num']
        if 'sport' in entry['orig']:
            assert int(orig.find('layer4/sport').text) == entry['orig']['sport']
        assert int(ind.find('id').text) == entry['id']
        assert int(ind.find('mark').text) == entry['mark']
        assert int(ind.find('timeout').text) == entry['timeout']
        assert (ind.find('assured') is not None) == ('ASSURED' in entry['status'])
        names = [lb for lb in entry['labels'] if isinstance(lb, str)]
        if entry['labels']:
            assert [e.text for e in ind.findall('labels/label')] == names
        assert int(ind.find('timestamp/start').text) == entry['timestamp']['start']


ENTRY = {'family': 'ipv4', 'proto': 'tcp', 'proto_num': 6, 'timeout': 300,
         'orig': {'src': '198.51.100.1', 'dst': '203.0.113.1', 'sport': 40000, 'dport': 80},
         'reply': {'src': '192.0.2.5', 'dst': '198.51.100.1', 'sport': 8080, 'dport': 40000},
         'proto_state': 'ESTABLISHED', 'mark': 42, 'zone': 3, 'labels': ['direct', 9],
         'status': ['ASSURED', 'CONFIRMED', 'DST_NAT', 'DST_NAT_DONE', 'SEEN_REPLY',
                    'SRC_NAT_DONE']}


def test_save_extra_mark_labels_comment():
    lines = DocFormatter(labelmap={1: 'direct'}, extra=True).save_lines(ENTRY)
    assert lines == ['-A -t 300 -u SEEN_REPLY,ASSURED -m 42 --label-add direct -w 3 '
                     '-s 198.51.100.1 -d 203.0.113.1 -g 192.0.2.5 -q 198.51.100.1 -p tcp '
                     '--sport 40000 --dport 80 --reply-port-src 8080 --reply-port-dst 40000 '
                     '--state ESTABLISHED', '# labels 9']
    # the command's own save: no mark, no labels
    assert format_entries([ENTRY], 'save') == [lines[0].replace('-m 42 --label-add direct ', '')]


def test_save_line_read_back():
    line = DocFormatter(extra=True).save_lines(ENTRY)[0]
    got = parse_save_line(line)
    assert got['orig'] == ENTRY['orig'] and got['reply'] == ENTRY['reply']
    got_fields = (got['mark'], got['zone'], got['timeout'], got['proto_state'])
    assert got_fields == (42, 3, 300, 'ESTABLISHED')
    assert got['labels'] == ['direct']   # bit 9 is on the comment line
    assert set(got['status']) >= {'ASSURED', 'SEEN_REPLY', 'DST_NAT', 'CONFIRMED'}


@pytest.mark.parametrize('line, why', [
    ('-I nonsense', 'unknown option'),
    ('-A -t 5 -s 192.0.2.1 -d 192.0.2.2', 'missing -p'),
    ('-A -t x -s 192.0.2.1 -d 192.0.2.2 -p tcp', '-t x'),
    ('-A -u BOGUS -s 192.0.2.1 -d 192.0.2.2 -p tcp', 'unknown status'),
    ('-A -s 192.0.2.1 -d 192.0.2.2 -p udp --state ESTABLISHED', 'not a state'),
    ('conntrack -A', 'starting with -A'),
])
def test_save_line_errors(line, why):
    with pytest.raises(ValueError, match=why):
        parse_save_line(line)


def test_cli_lines_read_back(fixture):
    """Every line the command saved parses, into the tuples of its entry."""
    case = next(c for c in fixture['cases'] if c['output'] == 'save')
    by_orig = {json.dumps(e['orig'], sort_keys=True): e for e in case['before']}
    for line in case['lines']:
        got = parse_save_line(line)
        entry = by_orig[json.dumps(got['orig'], sort_keys=True)]
        assert got['reply'] == entry['reply'], line
        assert got['proto_num'] == entry['proto_num']
        assert got.get('proto_state') == entry['proto_state'] or entry['proto_num'] != 6
