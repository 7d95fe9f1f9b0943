# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The netlink layer on constructed reply buffers: framing, requests and their ACKs,
errors, multi-part dumps, DUMP_INTR, batches, malformed and truncated messages.

The socket is a script of receive buffers (what the kernel's replies look like on the
wire, built with the same header layout); what is tested is how the transport walks
them, not what the kernel does."""

from __future__ import annotations

import errno
import struct

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError
from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink import framing as F
from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink.receiver import dump_done
from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink.transport import (
    DUMP_RETRIES, StopDump, Transport)

CT_NEW = (1 << 8) | 0   # NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW


def msg(mtype, seq, flags=0, payload=b'\0' * 4):
    return F.header(16 + len(payload), mtype, flags, seq) + payload + b'\0' * (-len(payload) & 3)


def entry(seq, tag, flags=F.NLM_F_MULTI):
    return msg(CT_NEW, seq, flags, bytes((2, 0, 0, 0)) + struct.pack('=I', tag))


def done(seq, flags=F.NLM_F_MULTI):
    return msg(F.NLMSG_DONE, seq, flags, struct.pack('=i', 0))


def error(seq, num, request=b'\0' * 16):
    return msg(F.NLMSG_ERROR, seq, 0, struct.pack('=i', -num) + request)


class ScriptedSocket:
    """recv_into() hands out the scripted buffers in order; send() records."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.sent = []
        self.closed = False

    def send(self, data):
        self.sent.append(bytes(data))
        return len(data)

    def recv_into(self, buf):
        data = self.replies.pop(0)
        if isinstance(data, OSError):
            raise data
        buf[:len(data)] = data
        return len(data)

    def close(self):
        self.closed = True


class ScriptedTransport(Transport):
    """A Transport over a ScriptedSocket: seq numbers start at 1; a reopened socket
    takes the next script of ``later``."""

    def __init__(self, *scripts):   # pylint: disable=super-init-not-called
        self.netns = None
        self.scripts = [ScriptedSocket(s) for s in scripts]
        self.sock = self.scripts[0]
        self._seq = 0
        self._buf = bytearray(1 << 16)
        self.fork_after = None
        self.forked_dumps = 0
        self.reopened = 0

    def _reopen(self):
        self.reopened += 1
        self.sock = self.scripts[self.reopened]


# -- framing ---------------------------------------------------------------------------
def test_messages_walks_padded_messages_with_their_seq():
    buf = msg(CT_NEW, 7, payload=b'\1' * 5) + done(7)
    got = list(F.messages(buf, len(buf)))
    assert [(o, m, t, s) for o, m, t, _f, s in got] == [(0, 21, CT_NEW, 7), (24, 20, F.NLMSG_DONE, 7)]


@pytest.mark.parametrize('buf', [
    F.header(8, CT_NEW, 0, 1) + b'\0' * 8,               # length below a header
    F.header(64, CT_NEW, 0, 1) + b'\0' * 8,              # length beyond the buffer
    entry(1, 1) + F.header(40, CT_NEW, 0, 1) + b'\0' * 4,  # the second one truncated
], ids=['short', 'beyond', 'second-truncated'])
def test_messages_malformed_raises_naming_the_operation(buf):
    with pytest.raises(ConntrackError, match='dumping: malformed netlink message header'):
        list(F.messages(buf, len(buf), 'dumping'))


def test_messages_leaves_a_short_tail_alone():
    buf = entry(1, 1) + b'\0' * 8
    assert len(list(F.messages(buf, len(buf)))) == 1


def test_nlmsg_and_error_code():
    raw = F.nlmsg(1, 2, F.NLM_F_REQUEST, 9, 2, b'abcd', version=1, res_id=3)
    assert F.NLMSG.unpack_from(raw) == (24, 0x102, F.NLM_F_REQUEST, 9, 0)
    assert raw[16:20] == b'\x02\x01\x00\x03'
    assert F.error_code(error(1, errno.ENOENT), 0) == errno.ENOENT
    assert F.error_code(error(1, 0), 0) == 0


# -- requests --------------------------------------------------------------------------
def test_request_returns_replies_until_the_ack():
    t = ScriptedTransport([entry(1, 5, 0) + error(1, 0)])
    out = t.request(1, 1, 2, b'')
    assert len(out) == 1 and struct.unpack_from('=I', out[0], 20)[0] == 5
    flags = F.NLMSG.unpack_from(t.sock.sent[0])[2]
    assert flags == F.NLM_F_REQUEST | F.NLM_F_ACK


def test_request_skips_other_sequence_numbers_and_reads_on():
    t = ScriptedTransport([entry(99, 1, 0), error(99, errno.EPERM) + error(1, 0)])
    assert t.request(1, 1, 2, b'') == []


def test_request_error_is_a_conntrack_error_with_errno():
    t = ScriptedTransport([error(1, errno.ENOENT)])
    with pytest.raises(ConntrackError, match='getting failed: no such entry') as info:
        t.request(1, 1, 2, b'', what='getting')
    assert info.value.errno == errno.ENOENT
    t = ScriptedTransport([error(1, errno.ENOENT)])
    assert t.request_unless_gone(1, 1, 2, b'') is None


def test_receive_error_is_a_conntrack_error():
    t = ScriptedTransport([OSError(errno.ENOBUFS, 'no buffer space')])
    with pytest.raises(ConntrackError, match='netlink buffer overrun') as info:
        t.request(1, 1, 2, b'')
    assert info.value.errno == errno.ENOBUFS


def test_request_malformed_reply():
    t = ScriptedTransport([F.header(200, F.NLMSG_ERROR, 0, 1) + b'\0' * 4])
    with pytest.raises(ConntrackError, match='malformed'):
        t.request(1, 1, 2, b'', what='req')


# -- dumps -----------------------------------------------------------------------------
def collect(t, requests=((2, b''),)):
    got, resets = [], []
    t.dump_many(1, 1, list(requests),
                lambda buf, off, _mlen, _t: got.append(struct.unpack_from('=I', buf, off + 20)[0]),
                lambda: (resets.append(1), got.clear()))
    return got, len(resets)


def test_multi_part_dump_over_several_buffers():
    t = ScriptedTransport([entry(1, 1) + entry(1, 2), entry(1, 3), entry(1, 4) + done(1)])
    assert collect(t) == ([1, 2, 3, 4], 0)
    assert F.NLMSG.unpack_from(t.sock.sent[0])[2] == F.NLM_F_REQUEST | F.NLM_F_DUMP


def test_dumps_of_several_requests_go_to_one_consumer():
    t = ScriptedTransport([entry(1, 1) + done(1), entry(2, 2) + done(2)])
    assert collect(t, [(2, b''), (10, b'')]) == ([1, 2], 0)
    assert [s[16] for s in t.sock.sent] == [2, 10]


def test_dump_error_raises():
    t = ScriptedTransport([entry(1, 1), error(1, errno.EPERM)])
    with pytest.raises(ConntrackError, match='operation not permitted') as info:
        collect(t)
    assert info.value.errno == errno.EPERM


def test_dump_ended_by_an_ack():
    t = ScriptedTransport([entry(1, 1) + error(1, 0)])
    assert collect(t) == ([1], 0)


def test_dump_intr_runs_the_dump_again_after_a_reset():
    t = ScriptedTransport([entry(1, 1) + entry(1, 2, F.NLM_F_MULTI | F.NLM_F_DUMP_INTR),
                           done(1, F.NLM_F_MULTI | F.NLM_F_DUMP_INTR),
                           entry(2, 1) + entry(2, 2) + done(2)])
    assert collect(t) == ([1, 2], 1)
    assert len(t.sock.sent) == 2


def test_dump_intr_every_time_is_an_error():
    intr = F.NLM_F_MULTI | F.NLM_F_DUMP_INTR
    t = ScriptedTransport([entry(i, 1, intr) + done(i, intr) for i in range(1, DUMP_RETRIES + 1)])
    with pytest.raises(ConntrackError, match='interrupted the dump %d times' % DUMP_RETRIES):
        collect(t)


def test_dump_malformed_message_raises():
    t = ScriptedTransport([entry(1, 1) + F.header(100, CT_NEW, F.NLM_F_MULTI, 1)])
    with pytest.raises(ConntrackError, match='malformed netlink message'):
        collect(t)


def test_stopped_dump_replaces_the_socket():
    t = ScriptedTransport([entry(1, 1) + entry(1, 2)], [])
    seen = []

    def on_msg(*_msg):
        seen.append(1)
        raise StopDump()
    t.dump(1, 1, 2, b'', on_msg)
    assert seen == [1] and t.reopened == 1


# -- batches ---------------------------------------------------------------------------
def test_batch_acks_only_the_last_and_reports_errors_per_request():
    t = ScriptedTransport([error(2, errno.ENOENT) + error(3, 0)])
    res = t.batch([(1, 2, 0, 2, b''), (1, 2, 0, 2, b''), (1, 2, 0, 2, b'')])
    assert res == [0, errno.ENOENT, 0]
    sent = t.sock.sent[0]
    flags = [F.NLMSG.unpack_from(sent, off)[2] for off, *_rest in F.messages(sent, len(sent))]
    assert flags == [F.NLM_F_REQUEST, F.NLM_F_REQUEST, F.NLM_F_REQUEST | F.NLM_F_ACK]


# -- the receiving child's end-of-dump test --------------------------------------------
def test_dump_done():
    assert not dump_done(entry(3, 1), 20 + 4, 3)
    assert dump_done(entry(3, 1) + done(3), 24 + 20, 3)
    assert not dump_done(done(4), 20, 3)          # another dump's DONE
    assert dump_done(error(3, errno.EPERM), 36, 3)
    assert dump_done(F.header(99, CT_NEW, 0, 3), 16, 3)   # malformed: the parent reports it
