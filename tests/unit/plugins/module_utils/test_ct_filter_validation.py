# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The filter compiler refuses bad input with a message naming the option and the value."""

from __future__ import annotations

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import (
    compile_filter)
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.options import (
    FILTER_KEYS, parse_mark)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

LABELS = {0: 'blue', 5: 'red'}

# (filter params, option named, value shown in the message)
BAD = [
    ({'orig_src': '10.0.0.300'}, 'orig_src', '10.0.0.300'),
    ({'orig_dst': 'example.com'}, 'orig_dst', 'example.com'),
    ({'reply_src': '10.0.0.0/33'}, 'reply_src', '10.0.0.0/33'),
    ({'reply_dst': 'fd00::/129'}, 'reply_dst', 'fd00::/129'),
    ({'orig_src': ['10.0.0.1', 'nope']}, 'orig_src', 'nope'),
    ({'orig_src': 17}, 'orig_src', '17'),
    ({'src_nat': '1.2.3'}, 'src_nat', '1.2.3'),
    ({'dst_nat': 'x'}, 'dst_nat', 'x'),
    ({'any_nat': '::g'}, 'any_nat', '::g'),
    ({'orig_src': ['10.0.0.1', 'fd00::1']}, 'orig_src', 'fd00::1'),
    ({'orig_src': '10.0.0.1', 'orig_dst': 'fd00::1'}, 'orig_dst', 'fd00::1'),
    ({'family': 'ipv6', 'orig_src': '10.0.0.1'}, 'family', 'ipv6'),
    ({'family': 'ipv5'}, 'family', 'ipv5'),
    ({'family': 4}, 'family', '4'),
    ({'proto': 'tcpp'}, 'proto', 'tcpp'),
    ({'proto': 256}, 'proto', '256'),
    ({'proto': -1}, 'proto', '-1'),
    ({'proto': '-1'}, 'proto', '-1'),
    ({'proto': True}, 'proto', 'True'),
    ({'proto': ['tcp', 'bogus']}, 'proto', 'bogus'),
    ({'orig_port_src': 0}, 'orig_port_src', '0'),
    ({'orig_port_dst': 65536}, 'orig_port_dst', '65536'),
    ({'reply_port_src': 'abc'}, 'reply_port_src', 'abc'),
    ({'reply_port_dst': True}, 'reply_port_dst', 'True'),
    ({'sport': -5}, 'orig_port_src', '-5'),
    ({'dport': [80, 70000]}, 'orig_port_dst', '70000'),
    ({'dport': 1.5}, 'orig_port_dst', '1.5'),
    ({'proto': 'icmp', 'dport': 80}, 'orig_port_dst', '80'),
    ({'proto': 'gre', 'sport': 80}, 'orig_port_src', '80'),
    ({'proto': 'tcp', 'icmp_type': 8}, 'icmp_type', '8'),
    ({'proto': 'udp', 'icmp_code': 0}, 'icmp_code', '0'),
    ({'proto': 6, 'icmp_id': 1}, 'icmp_id', '1'),
    ({'icmp_type': 256}, 'icmp_type', '256'),
    ({'icmp_id': 65536}, 'icmp_id', '65536'),
    ({'icmp_code': 'x'}, 'icmp_code', 'x'),
    ({'mark': '0x'}, 'mark', '0x'),
    ({'mark': '1/'}, 'mark', '1/'),
    ({'mark': '/0xff'}, 'mark', '/0xff'),
    ({'mark': 2 ** 32}, 'mark', str(2 ** 32)),
    ({'mark': -1}, 'mark', '-1'),
    ({'mark': '0x10/0x1ffffffff'}, 'mark', '0x1ffffffff'),
    ({'mark': 'ten'}, 'mark', 'ten'),
    ({'mark': True}, 'mark', 'True'),
    ({'mark': [1]}, 'mark', '[1]'),
    ({'zone': 65536}, 'zone', '65536'),
    ({'zone': -1}, 'zone', '-1'),
    ({'orig_zone': 70000}, 'orig_zone', '70000'),
    ({'reply_zone': 'z'}, 'reply_zone', 'z'),
    ({'labels': ['green']}, 'labels', 'green'),
    ({'labels': [128]}, 'labels', '128'),
    ({'labels': [-1]}, 'labels', '-1'),
    ({'proto_state': ['ESTABLISHED', 'BOGUS']}, 'proto_state', 'BOGUS'),
    ({'proto_state': [3]}, 'proto_state', '3'),
    ({'ctstate': ['INVALID']}, 'ctstate', 'INVALID'),
    ({'status': ['ASSURED', 'NOPE']}, 'status', 'NOPE'),
    ({'nat': 'both'}, 'nat', 'both'),
    ({'nat': ['src', 'dst']}, 'nat', 'src'),
    ({'exclude': 'orig_src=10.0.0.1'}, 'exclude', 'orig_src=10.0.0.1'),
    ({'exclude': [{'orig_src': 'bad'}]}, 'exclude', 'bad'),
    ({'exclude': [{'bogus': 1}]}, 'exclude', 'bogus'),
]


@pytest.mark.parametrize('params, option, shown', BAD, ids=[repr(b[0]) for b in BAD])
def test_bad_value_names_option_and_value(params, option, shown):
    with pytest.raises(ConntrackError) as err:
        compile_filter(params, LABELS)
    assert option in err.value.msg
    assert shown in err.value.msg
    assert err.value.option == option


@pytest.mark.parametrize('key', [k for k in FILTER_KEYS if k != 'family'] + ['sport', 'dport'])
@pytest.mark.parametrize('value', ['', '   '])
def test_empty_string_is_refused(key, value):
    with pytest.raises(ConntrackError) as err:
        compile_filter({key: value})
    option = {'sport': 'orig_port_src', 'dport': 'orig_port_dst'}.get(key, key)
    assert option in err.value.msg and 'empty' in err.value.msg


@pytest.mark.parametrize('key', ['proto', 'orig_src', 'orig_port_dst', 'proto_state', 'ctstate', 'status',
                                 'labels', 'helper', 'src_nat'])
def test_empty_list_is_refused(key):
    with pytest.raises(ConntrackError) as err:
        compile_filter({key: []})
    assert key in err.value.msg and 'empty list' in err.value.msg


@pytest.mark.parametrize('key', ['bogus', 'src', 'port', 'Proto'])
def test_unknown_option(key):
    with pytest.raises(ConntrackError) as err:
        compile_filter({key: 1})
    assert repr(key) in err.value.msg and err.value.option == key


def test_none_values_are_not_given():
    f = compile_filter({k: None for k in FILTER_KEYS})
    assert f.checks == [] and f.kernel_complete and f.families == [C.AF_UNSPEC]


def test_unknown_label_without_label_map_says_so():
    with pytest.raises(ConntrackError) as err:
        compile_filter({'labels': ['blue']})
    assert 'blue' in err.value.msg and 'connlabel.conf' in err.value.msg


@pytest.mark.parametrize('params', [
    {'family': 'ipv4'}, {'family': 'ipv6'}, {'family': 'any'}, {'family': ''},
    {'proto': 'TCP'}, {'proto': ' udp '}, {'proto': '17'}, {'proto': 0}, {'proto': 255}, {'proto': ['tcp', 'udp']},
    {'orig_src': '10.0.0.0/8'}, {'orig_src': '10.1.2.3/8'}, {'orig_dst': ['fd00::/64', 'fd01::1']},
    {'sport': 1}, {'dport': '65535'}, {'dport': [80, '443']},
    {'proto': 'icmp', 'icmp_type': 8, 'icmp_code': 0, 'icmp_id': 65535}, {'proto': 'icmpv6', 'icmp_type': '128'},
    {'proto': ['tcp', 'icmp'], 'dport': 80},
    {'mark': 0}, {'mark': '0x10'}, {'mark': '16/0xf0'}, {'mark': ' 0x10 / 0xf0 '}, {'mark': 0xFFFFFFFF},
    {'zone': 0}, {'zone': '65535'}, {'orig_zone': 1}, {'reply_zone': 2},
    {'labels': ['blue', 5, '7']}, {'labels': 127},
    {'proto_state': ['established', 'TIME_WAIT', 'COOKIE_WAIT', 'PARTOPEN']}, {'proto_state': 'ESTABLISHED'},
    {'ctstate': ['new', 'RELATED']}, {'status': ['ASSURED', 'seen_reply']},
    {'nat': 'SRC'}, {'nat': 'any'}, {'src_nat': '192.0.2.1'}, {'dst_nat': 'fd00::5'}, {'any_nat': '10.0.0.0/8'},
    {'helper': 'ftp'}, {'helper': ['ftp', 'sip']},
    {'exclude': [{'reply_src': '10.0.0.1'}, {'mark': 1}]}, {'exclude': {'proto': 'udp'}}, {'exclude': []},
])
def test_good_values_compile(params):
    compile_filter(params, LABELS)


@pytest.mark.parametrize('value, expected', [
    (5, (5, 0xFFFFFFFF)), ('5', (5, 0xFFFFFFFF)), ('0x10', (16, 0xFFFFFFFF)),
    ('0x10/0xf0', (0x10, 0xF0)), ('0x11/0xf0', (0x10, 0xF0)), ('3/1', (1, 1)), ('0/0', (0, 0)),
])
def test_parse_mark(value, expected):
    assert parse_mark('mark', value) == expected
