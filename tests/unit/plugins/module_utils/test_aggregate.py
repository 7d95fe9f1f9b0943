# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._aggregate import (
    CountBy, Top, count_by, key_getter, top)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError


def e(proto, src, state=None, labels=(), obytes=None, family='ipv4'):
    out = {'family': family, 'proto': proto, 'orig': {'src': src, 'dst': '10.0.0.254'}, 'proto_state': state,
           'labels': list(labels), 'counters': None}
    if obytes is not None:
        out['counters'] = {'orig': {'packets': 1, 'bytes': obytes}, 'reply': {'packets': 1, 'bytes': 0}}
    return out


ENTRIES = [
    e('tcp', '10.0.0.1', 'ESTABLISHED', ['blue'], 100),
    e('tcp', '10.0.0.1', 'TIME_WAIT', [], 100),
    e('tcp', '10.0.0.2', 'ESTABLISHED', ['blue', 3], 300),
    e('udp', '10.0.0.1', None, [], None),
    e('udp', '10.0.0.3', None, ['blue'], None),
    e('icmpv6', 'fd00::1', None, [], None, family='ipv6'),
]


@pytest.mark.parametrize('key, expected', [
    ('proto', {'tcp': 3, 'udp': 2, 'icmpv6': 1}),
    (' proto ', {'tcp': 3, 'udp': 2, 'icmpv6': 1}),
    ('family', {'ipv4': 5, 'ipv6': 1}),
    ('orig.src', {'10.0.0.1': 3, '10.0.0.2': 1, '10.0.0.3': 1, 'fd00::1': 1}),
    ('proto_state', {'null': 3, 'ESTABLISHED': 2, 'TIME_WAIT': 1}),
    ('counters.orig.bytes', {'null': 3, '100': 2, '300': 1}),
    ('labels', {'': 3, 'blue': 2, 'blue,3': 1}),
])
def test_count_by(key, expected):
    got = count_by(ENTRIES, key)
    assert got == expected
    assert list(got.values()) == sorted(got.values(), reverse=True)  # most first


@pytest.mark.parametrize('key, n, expected', [
    ('orig.src', 10, [{'value': '10.0.0.1', 'count': 3}, {'value': '10.0.0.2', 'count': 1},
                      {'value': '10.0.0.3', 'count': 1}, {'value': 'fd00::1', 'count': 1}]),
    ('orig.src', 1, [{'value': '10.0.0.1', 'count': 3}]),
    ('proto', 2, [{'value': 'tcp', 'count': 3}, {'value': 'udp', 'count': 2}]),
    ('proto_state', 1, [{'value': None, 'count': 3}]),
    ('counters.orig.bytes', 3, [{'value': None, 'count': 3}, {'value': 100, 'count': 2}, {'value': 300, 'count': 1}]),
    ('labels', 2, [{'value': [], 'count': 3}, {'value': ['blue'], 'count': 2}]),
])
def test_top(key, n, expected):
    assert top(ENTRIES, key, n) == expected


@pytest.mark.parametrize('key', ['missing', 'orig.missing', 'proto.deeper',
                                 'counters.orig.bytes.x'])
def test_a_key_no_entry_can_have_is_an_error_not_nulls(key):
    for fn in (count_by, top):
        with pytest.raises(ConntrackError) as err:
            fn(ENTRIES, key)
        assert repr(key) in err.value.msg and '{orig,reply}.{src,dst' in err.value.msg


def test_top_default_n_is_ten():
    entries = [{'orig': {'src': '10.0.0.%d' % i}} for i in range(15)]
    assert len(top(entries, 'orig.src')) == 10


def test_empty_input():
    assert count_by([], 'proto') == {}
    assert top([], 'proto') == []


def test_non_dict_items_count_as_missing():
    assert count_by([None, 'x', {'proto': 'tcp'}], 'proto') == {'null': 2, 'tcp': 1}
    assert count_by([{'orig': 'x'}], 'orig.src') == {'null': 1}


def test_streaming_aggregators_match_list_functions():
    cb, tp = CountBy('orig.src'), Top('orig.src', 2)
    for entry in ENTRIES:
        cb.add(entry)
        tp.add(entry)
    assert cb.result() == count_by(ENTRIES, 'orig.src')
    assert tp.result() == top(ENTRIES, 'orig.src', 2)
    cb.reset()
    assert cb.result() == {}


@pytest.mark.parametrize('key', [None, '', '   ', 5, ['proto'], {'key': 'proto'}, True,
                                 'orig..src', '.proto', 'proto.', '.'])
def test_bad_key(key):
    with pytest.raises(ConntrackError) as err:
        key_getter(key)
    assert 'key' in err.value.msg and repr(key) in err.value.msg
    assert err.value.option == 'key'
    with pytest.raises(ConntrackError):
        count_by(ENTRIES, key)
    with pytest.raises(ConntrackError):
        top(ENTRIES, key)


@pytest.mark.parametrize('key', ['orig', 'counters.orig'])
def test_key_of_a_mapping_is_refused(key):
    """A dotted key must end on a value: counting by a whole tuple dict is an error, not a crash."""
    for fn in (count_by, top):
        with pytest.raises(ConntrackError) as err:
            fn(ENTRIES[:1], key)
        assert repr(key) in err.value.msg and err.value.option == 'key'
    agg = CountBy(key)
    with pytest.raises(ConntrackError):
        agg.add(ENTRIES[0])
