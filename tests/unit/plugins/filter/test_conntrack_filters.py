# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import os
from collections import Counter

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.netfilter.conntrack.plugins.filter import conntrack_query as query_plugin
from ansible_collections.netfilter.conntrack.plugins.filter.conntrack_count_by import (
    FilterModule as CountByModule, conntrack_count_by)
from ansible_collections.netfilter.conntrack.plugins.filter.conntrack_diff import conntrack_diff
from ansible_collections.netfilter.conntrack.plugins.filter.conntrack_format import conntrack_format
from ansible_collections.netfilter.conntrack.plugins.filter.conntrack_query import conntrack_query
from ansible_collections.netfilter.conntrack.plugins.filter.conntrack_select import conntrack_select
from ansible_collections.netfilter.conntrack.plugins.filter.conntrack_top import conntrack_top
from ansible_collections.netfilter.conntrack.plugins.plugin_utils import _filter_args

FIXTURE = os.path.join(os.path.dirname(__file__), '..', 'module_utils', 'fixtures',
                       'ct_format_cli.json')


@pytest.fixture(scope='module')
def real():
    """Entries of real tables (synthetic variety + a rig with real traffic) and the lines
    `conntrack -L -o extended,id` printed for them."""
    with open(FIXTURE, encoding='utf-8') as fh:
        cases = json.load(fh)['cases']
    entries, lines = [], []
    for case in cases:
        if case['output'] == 'extended,id':
            entries += case['before']
            lines += case['lines']
    assert len(entries) > 50
    return entries, lines


def test_filter_modules_export_their_names():
    assert CountByModule().filters() == {'conntrack_count_by': conntrack_count_by}


# -- the seed page's shell recipes, on the lines the real command printed -------------
def awk_count(lines, field, pattern=None):
    """awk '[/pattern/] {sum[$field]++}'"""
    return dict(Counter(line.split()[field - 1] for line in lines
                        if pattern is None or pattern in line))


def test_recipe_by_l4_protocol(real):
    """Equal, except that the command prints every protocol it has no name for as
    "unknown" (one bucket), where an entry's proto is the number ("50")."""
    entries, lines = real
    ours = conntrack_count_by(entries, 'proto')
    assert ours.pop('50') == 1
    ours['unknown'] = 1
    assert ours == awk_count(lines, 3)


def test_recipe_by_l3_protocol(real):
    entries, lines = real
    assert conntrack_count_by(entries, 'family') == awk_count(lines, 1)


def test_recipe_tcp_states(real):
    entries, lines = real
    tcp_states = conntrack_count_by(conntrack_select(entries, proto='tcp'), 'proto_state')
    assert tcp_states == awk_count(lines, 6, 'tcp')
    assert len(tcp_states) > 3


def test_recipe_top_sources(real):
    """awk '{print $7}' | cut -d= -f2 | sort | uniq -c | sort -nr | head -n 10

    Field 7 is the source only where a state column exists (tcp, sctp, dccp): for udp,
    icmp, gre it is "dst=" -- the recipe counts destinations there.  conntrack_top counts
    sources; the two agree on the entries with a state column."""
    entries, lines = real
    stateful = [line for line in lines if line.split()[6].startswith('src=')]
    shell = Counter(line.split()[6].split('=', 1)[1] for line in stateful)
    ours = conntrack_top([e for e in entries if e['proto_state'] is not None], 'orig.src', 1000)
    assert {d['value']: d['count'] for d in ours} == dict(shell)
    assert any(line.split()[6].startswith('dst=') for line in lines)  # the recipe's blind spot
    top10 = conntrack_top(entries, 'orig.src', 10)
    assert len(top10) == 10 and top10 == sorted(top10, key=lambda d: -d['count'])


def test_format_renders_the_same_lines(real):
    entries, lines = real
    rendered = conntrack_format(entries, 'extended,id', now=0)
    assert len(rendered) == len(lines)
    strip = [' '.join(w for w in line.split() if not w.startswith('delta-time=')) for line in lines]
    mine = [' '.join(w for w in line.split() if not w.startswith('delta-time=')) for line in rendered]
    # timeouts may differ by the ticks between the reads (test_ct_format checks exactly)
    assert sorted(' '.join(x.split()[:4] + x.split()[5:]) for x in strip) == \
        sorted(' '.join(x.split()[:4] + x.split()[5:]) for x in mine)


# -- the filters themselves -------------------------------------------------------------
ENTRY = {'family': 'ipv4', 'proto': 'udp', 'proto_num': 17, 'id': 1,
         'orig': {'src': '10.0.0.1', 'dst': '10.0.0.2', 'sport': 1, 'dport': 53},
         'reply': {'src': '10.0.0.2', 'dst': '10.0.0.1', 'sport': 53, 'dport': 1},
         'status': ['CONFIRMED'], 'ctstate': 'NEW', 'proto_state': None, 'mark': 0, 'zone': 0,
         'timeout': 30, 'use': 1, 'labels': [],
         'counters': {'orig': {'packets': 1, 'bytes': 60}, 'reply': {'packets': 0, 'bytes': 0}}}


def other(**kw):
    e = json.loads(json.dumps(ENTRY))
    e.update(kw)
    return e


def test_count_by_dotted_null_and_list_values():
    entries = [ENTRY, other(proto_state='ESTABLISHED', status=['ASSURED', 'SEEN_REPLY']),
               other(counters=None)]
    assert conntrack_count_by(entries, 'counters.orig.bytes') == {'60': 2, 'null': 1}
    assert conntrack_count_by(entries, 'proto_state') == {'null': 2, 'ESTABLISHED': 1}
    assert conntrack_count_by(entries, 'status') == {'CONFIRMED': 2, 'ASSURED,SEEN_REPLY': 1}
    assert conntrack_count_by([], 'proto') == {}


def test_registered_result_is_accepted():
    result = {'changed': False, 'entries': [ENTRY, ENTRY], 'count': 2}
    assert conntrack_count_by(result, 'proto') == {'udp': 2}
    assert conntrack_top(result, 'orig.src') == [{'value': '10.0.0.1', 'count': 2}]
    assert conntrack_select(result, proto='udp') == [ENTRY, ENTRY]


def test_top_order_and_n():
    entries = [other(orig=dict(ENTRY['orig'], src=s)) for s in 'abacbcc']
    assert conntrack_top(entries, 'orig.src', 2) == [{'value': 'c', 'count': 3},
                                                     {'value': 'a', 'count': 2}]
    assert conntrack_top(entries, 'orig.src', '1') == [{'value': 'c', 'count': 3}]
    assert conntrack_top(entries, 'mark') == [{'value': 0, 'count': 7}]


def test_select_kwargs_and_aliases():
    assert conntrack_select([ENTRY], proto='udp', dport=53, sport='1') == [ENTRY]
    assert conntrack_select([ENTRY], orig_dst='10.0.0.0/30', ctstate=['NEW']) == [ENTRY]
    assert conntrack_select([ENTRY], family='ipv6') == []


def test_diff_filter():
    out = conntrack_diff([ENTRY], {'entries': [other(timeout=5), other(orig=dict(ENTRY['orig'], sport=9))]})
    assert [len(out[k]) for k in ('added', 'removed', 'kept')] == [1, 0, 1]


def test_format_filter():
    assert conntrack_format([ENTRY], now=0) == [
        'ipv4     2 udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=53 packets=1 bytes=60 '
        '[UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1 packets=0 bytes=0 mark=0 use=1']
    assert conntrack_format([ENTRY], ['id'], now=0)[0].endswith(' use=1 id=1')


def test_query_filter():
    entries = [ENTRY, other(proto='tcp', proto_num=6, status=['SEEN_REPLY'])]
    assert conntrack_query(entries, "[?proto=='udp'].orig.dport") == [53]
    assert conntrack_query(entries, "[?!contains(status, 'SEEN_REPLY')] | length(@)") == 1
    assert conntrack_query({'entries': entries}, 'max_by(@, &proto_num).proto') == 'udp'


@pytest.mark.parametrize('call, message', [
    (lambda: conntrack_count_by('x', 'proto'), "conntrack_count_by: _input must be a list of conntrack entries"),
    (lambda: conntrack_count_by(None, 'proto'), 'not a NoneType'),
    (lambda: conntrack_count_by([ENTRY, 3], 'proto'), 'but item 1 is a int: 3'),
    (lambda: conntrack_count_by([ENTRY], ''), 'conntrack_count_by: key must be a dotted key'),
    (lambda: conntrack_count_by([ENTRY], ['proto']), 'key must be a dotted key'),
    (lambda: conntrack_top([ENTRY], 'proto', 0), 'conntrack_top: n must be 1 or more, not 0'),
    (lambda: conntrack_top([ENTRY], 'proto', 'ten'), "conntrack_top: n must be an integer, not 'ten'"),
    (lambda: conntrack_top([ENTRY], 'proto', True), 'n must be an integer'),
    (lambda: conntrack_select([ENTRY], proto='tcpx'), "conntrack_select: proto: invalid value 'tcpx'"),
    (lambda: conntrack_select([ENTRY], nosuch=1), "conntrack_select: unknown filter option 'nosuch'"),
    (lambda: conntrack_select({'a': 1}, proto='tcp'), 'conntrack_select: _input must be a list'),
    (lambda: conntrack_format([ENTRY], 'xml,save'), "conntrack_format: output: invalid value 'xml,save'"),
    (lambda: conntrack_format([ENTRY], now='soon'), 'conntrack_format: now must be an integer'),
    (lambda: conntrack_format([ENTRY], labelmap='yes'), 'conntrack_format: labelmap must be a boolean'),
    (lambda: conntrack_format([{'x': 1}]), 'conntrack_format: cannot render entry'),
    (lambda: conntrack_diff([ENTRY], 'x'), 'conntrack_diff: after must be a list'),
    (lambda: conntrack_diff([{'x': 1}], []), 'conntrack_diff: before: item 0 is not a conntrack entry'),
    (lambda: conntrack_query([ENTRY], '[?'), "conntrack_query: expression: invalid JMESPath expression '[?'"),
    (lambda: conntrack_query([ENTRY], ''), 'conntrack_query: expression must be a JMESPath expression'),
    (lambda: conntrack_query([ENTRY], 'abs(proto)'), "conntrack_query: expression: evaluating 'abs(proto)' failed"),
])
def test_errors_name_filter_and_argument(call, message):
    with pytest.raises(AnsibleFilterError) as exc:
        call()
    assert message in str(exc.value)


def test_query_without_jmespath(monkeypatch):
    monkeypatch.setattr(query_plugin, 'HAS_JMESPATH', False)
    with pytest.raises(AnsibleFilterError, match='conntrack_query needs the jmespath Python library'):
        conntrack_query([ENTRY], 'length(@)')


# -- ansible-core 2.19 lazy containers ---------------------------------------------------
class FakeLazyList(list):
    """Stands in for ansible-core's lazy list: raw contents via _non_lazy_copy()."""

    def __init__(self, raw):
        super().__init__()
        self.raw = raw
        self.copies = 0

    def _non_lazy_copy(self):
        self.copies += 1
        return list(self.raw)


def test_native_uses_raw_contents_when_nothing_is_a_template():
    if _filter_args.is_trusted_as_template is None:
        pytest.skip('ansible-core without data tagging')
    lazy = FakeLazyList([ENTRY, other(orig=FakeLazyList(['nested']))])
    out = _filter_args.native(lazy)
    assert not isinstance(out, FakeLazyList) and out[0] is ENTRY and lazy.copies == 1
    assert not isinstance(out[1]['orig'], FakeLazyList)  # nested lazy containers are unwrapped too
    assert conntrack_count_by(FakeLazyList([ENTRY]), 'proto') == {'udp': 1}


def test_native_keeps_lazy_container_when_a_template_hides_inside():
    if _filter_args.is_trusted_as_template is None:
        pytest.skip('ansible-core without data tagging')
    from ansible.template import trust_as_template
    lazy = FakeLazyList([ENTRY, other(orig={'src': trust_as_template('{{ addr }}')})])
    assert _filter_args.native(lazy) is lazy
    # a "{" that is not a trusted template is plain data
    plain = FakeLazyList([other(helper='{{ not trusted }}')])
    assert _filter_args.native(plain) == [other(helper='{{ not trusted }}')]
    assert _filter_args.native([ENTRY]) == [ENTRY]
