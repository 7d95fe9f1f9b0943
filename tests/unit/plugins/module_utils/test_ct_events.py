# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""conntrack_events: event classification, groups, the listening loop, drop counts."""

from __future__ import annotations

import struct

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import encode as E
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_event_stream import event_type
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_events import (
    GROUPS, NETLINK_DIAG_MEMINFO, SOCK_DIAG_BY_FAMILY, _DIAG_MSG, group_bits,
    listen, parse_diag_drops, parse_event_mask, _validate)
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import (
    compile_filter)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

CT = C.NFNL_SUBSYS_CTNETLINK << 8
EXP = C.NFNL_SUBSYS_CTNETLINK_EXP << 8
NEW_FLAGS = C.NLM_F_CREATE | C.NLM_F_EXCL


@pytest.mark.parametrize('mtype, flags, kind', [
    (CT | C.IPCTNL_MSG_CT_NEW, NEW_FLAGS, 'NEW'),
    (CT | C.IPCTNL_MSG_CT_NEW, 0, 'UPDATE'),
    (CT | C.IPCTNL_MSG_CT_DELETE, 0, 'DESTROY'),
    (EXP | C.IPCTNL_MSG_EXP_NEW, NEW_FLAGS, 'NEW'),
    (EXP | C.IPCTNL_MSG_EXP_DELETE, 0, 'DESTROY'),
    (CT | C.IPCTNL_MSG_CT_GET, 0, None),
    (C.NLMSG_ERROR, 0, None),
])
def test_event_type(mtype, flags, kind):
    assert event_type(mtype, flags) == kind


@pytest.mark.parametrize('value, want', [
    (None, ['NEW', 'UPDATE', 'DESTROY']),
    (['destroy'], ['DESTROY']),
    (['NEW', 'new', 'DESTROY'], ['NEW', 'DESTROY']),
    ('NEW,DESTROY', ['NEW', 'DESTROY']),
    (['ALL'], ['NEW', 'UPDATE', 'DESTROY']),
])
def test_parse_event_mask(value, want):
    assert parse_event_mask(value) == want


@pytest.mark.parametrize('value', [[], ['CREATE'], ['NEW', 5]])
def test_bad_event_mask(value):
    with pytest.raises(ConntrackError) as exc:
        parse_event_mask(value)
    assert exc.value.option == 'event_mask'


def test_group_bits():
    assert group_bits('conntrack', ['NEW', 'UPDATE', 'DESTROY']) == 0b111
    assert group_bits('conntrack', ['DESTROY']) == 0b100
    assert group_bits('expect', ['NEW', 'DESTROY']) == (1 << 3) | (1 << 5)
    assert set(GROUPS) == {'conntrack', 'expect'}
    with pytest.raises(ConntrackError):
        group_bits('dying', ['NEW'])


@pytest.mark.parametrize('params, option', [
    ({'duration': 0}, 'duration'),
    ({'duration': -1}, 'duration'),
    ({'duration': 1, 'max_events': 0}, 'max_events'),
    ({'duration': 1, 'buffer_size': 100}, 'buffer_size'),
    ({'duration': 1, 'table': 'unconfirmed'}, 'table'),
    ({'duration': 1, 'event_mask': []}, 'event_mask'),
])
def test_validation(params, option):
    with pytest.raises(ConntrackError) as exc:
        _validate(params)
    assert exc.value.option == option


# -- the listening loop, over messages built with the encoder -----------------------------

def entry_msg(kind, sport, family=C.AF_INET, proto=6):
    src, dst = ('10.0.0.1', '10.0.0.2') if family == C.AF_INET else ('fd00::1', 'fd00::2')
    spec = {'family': family, 'proto': proto,
            'orig': {'src': src, 'dst': dst, 'sport': sport, 'dport': 80},
            'reply': {'src': dst, 'dst': src, 'sport': 80, 'dport': sport},
            'timeout': 60, 'status': C.IPS_SEEN_REPLY, 'id': sport}
    msg = {'NEW': C.IPCTNL_MSG_CT_NEW, 'UPDATE': C.IPCTNL_MSG_CT_NEW,
           'DESTROY': C.IPCTNL_MSG_CT_DELETE}[kind]
    flags = NEW_FLAGS if kind == 'NEW' else 0
    return E.nlmsg(C.NFNL_SUBSYS_CTNETLINK, msg, flags, 0, family, E.entry_attrs(spec, True))


class FakeListener:
    """Stands in for EventListener: replays messages, one per receive."""

    table = 'conntrack'

    def __init__(self, messages, types=('NEW', 'UPDATE', 'DESTROY'), drops=0, overruns=0,
                 queued=()):
        self.msgs = [bytearray(m) for m in messages]
        self.queued = [bytearray(m) for m in queued]   # still queued when the window ends
        self.types = list(types)
        self._drops = drops
        self.overruns = overruns
        self.buffer_size = 8192
        self.unsubscribed = False

    def messages(self, deadline, clock, drain=False):
        assert drain == self.unsubscribed, 'drain only after unsubscribe'
        for buf in self.queued if drain else self.msgs:
            mlen, mtype, mflags, _s, _p = struct.unpack_from('=IHHII', buf, 0)
            yield buf, 0, mlen, mtype, mflags

    def unsubscribe(self):
        self.unsubscribed = True

    def drops(self):
        return self._drops


def test_listen_classifies_keeps_order_and_applies_the_mask():
    msgs = [entry_msg('NEW', 1), entry_msg('UPDATE', 1), entry_msg('NEW', 2), entry_msg('DESTROY', 1)]
    res = listen(FakeListener(msgs, types=['NEW', 'DESTROY']), 5)
    assert [(e['type'], e['entry']['orig']['sport']) for e in res['events']] == \
        [('NEW', 1), ('NEW', 2), ('DESTROY', 1)]
    assert res['count'] == 3 and res['seen'] == 3
    assert res['lost'] == 0 and res['lost_exact'] and res['stopped_by'] == 'duration'
    assert res['events'][0]['entry']['ctstate'] == 'ESTABLISHED'


def test_listen_applies_filters():
    msgs = [entry_msg('NEW', 1), entry_msg('NEW', 2, family=C.AF_INET6), entry_msg('NEW', 3, proto=17)]
    res = listen(FakeListener(msgs), 5, cfilter=compile_filter({'family': 'ipv6'}))
    assert [e['entry']['orig']['sport'] for e in res['events']] == [2]
    res = listen(FakeListener(msgs), 5, cfilter=compile_filter({'proto': 'udp', 'sport': 3}))
    assert [e['entry']['proto'] for e in res['events']] == ['udp']
    assert res['seen'] == 3


def test_events_queued_when_the_window_closes_are_read_after_unsubscribing():
    res = listen(FakeListener([entry_msg('NEW', 1)], queued=[entry_msg('NEW', 2), entry_msg('DESTROY', 1)]), 5)
    assert [(e['type'], e['entry']['orig']['sport']) for e in res['events']] == \
        [('NEW', 1), ('NEW', 2), ('DESTROY', 1)]
    assert res['stopped_by'] == 'duration'
    res = listen(FakeListener([entry_msg('NEW', 1)], queued=[entry_msg('NEW', 2), entry_msg('NEW', 3)]), 5,
                 max_events=2)
    assert res['count'] == 2 and res['stopped_by'] == 'max_events'


def test_listen_stops_at_max_events():
    msgs = [entry_msg('NEW', i) for i in range(1, 10)]
    res = listen(FakeListener(msgs), 5, max_events=4)
    assert res['count'] == 4 and res['stopped_by'] == 'max_events'


@pytest.mark.parametrize('drops, overruns, lost, exact', [
    (0, 0, 0, True),
    (4480, 10, 4480, True),
    (0, 2, 2, True),        # an overrun that dropped nothing we counted: never report 0
    (None, 3, 3, False),    # no drop counter: the overruns, marked inexact
])
def test_lost_is_never_silently_zero(drops, overruns, lost, exact):
    listener = FakeListener([entry_msg('NEW', 1)], drops=drops, overruns=overruns)
    res = listen(listener, 5)
    assert res['lost'] == lost and res['lost_exact'] is exact and res['overruns'] == overruns
    assert listener.unsubscribed


def test_ready_callback_runs_before_the_first_event():
    calls = []
    listen(FakeListener([entry_msg('NEW', 1)]), 5, on_ready=lambda: calls.append('ready'))
    assert calls == ['ready']


# -- sock_diag reply parsing ----------------------------------------------------------------

def diag_reply(portid, drops, other_portid=None):
    def one(pid, dr):
        meminfo = struct.pack('=9I', 0, 0, 0, 0, 0, 0, 0, 0, dr)
        body = _DIAG_MSG.pack(16, 3, C.NETLINK_NETFILTER, 7, pid, 0, 0, 1234, 0, 0) + \
            E.nla(NETLINK_DIAG_MEMINFO, meminfo)
        return struct.pack('=IHHII', 16 + len(body), SOCK_DIAG_BY_FAMILY, C.NLM_F_MULTI, 1, 0) + body
    out = b''
    if other_portid is not None:
        out += one(other_portid, 99)
    out += one(portid, drops)
    done = struct.pack('=IHHII', 20, C.NLMSG_DONE, C.NLM_F_MULTI, 1, 0) + b'\0' * 4
    return out + done


def test_parse_diag_drops_finds_our_socket():
    buf = diag_reply(4242, 17, other_portid=1)
    assert parse_diag_drops(buf, len(buf), 4242) == 17
    assert parse_diag_drops(buf, len(buf), 5) is None


def test_parse_diag_drops_raises_on_error():
    err = struct.pack('=IHHII', 36, C.NLMSG_ERROR, 0, 1, 0) + struct.pack('=i', -1) + b'\0' * 16
    with pytest.raises(OSError):
        parse_diag_drops(err, len(err), 1)
