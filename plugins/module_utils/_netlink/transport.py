# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Netlink transport over one NETLINK_NETFILTER socket: a request with its ACK, a dump
(run again when the kernel marks it interrupted), batches of requests with one ACK per
send, a dump's later buffers received by a child process, kernel errors as
ConntrackError.  It knows message types and payloads only as numbers and bytes."""

from __future__ import annotations

import errno
import gc

from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import (
    ConntrackError, kernel_error)
from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink import framing as F
from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink.receiver import (
    ChildReceiver, available as _can_fork)
from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink.sockets import (
    SocketOwner, open_socket, set_rcvbuf, set_sndbuf)

DUMP_RETRIES = 5
BATCH = 1000
# Receive buffers (about 130 entries each) read in this process before the rest of a
# dump goes to a child receiver (receiver.py): small dumps never fork.
FORK_AFTER = 8


class StopDump(Exception):
    """Raised by a dump's consumer that has seen enough: the dump is abandoned (its
    socket replaced) and the walk returns normally, unless the kernel had marked it
    interrupted (``interrupted``, set by _dump): then it is run again."""

    interrupted = False


class Transport(SocketOwner):
    """Requests, dumps and batches on a netlink socket in one network namespace."""

    def __init__(self, netns=None, rcvbuf=16 << 20):
        self.netns = netns
        self.sock = open_socket(netns)
        self._seq = 0
        self._buf = bytearray(1 << 20)
        self._rcvbuf = rcvbuf
        self.fork_after = FORK_AFTER if _can_fork() else None
        self.forked_dumps = 0
        self._setup()

    def _setup(self):
        set_rcvbuf(self.sock, self._rcvbuf)
        set_sndbuf(self.sock, 4 << 20)
        try:
            self.sock.setsockopt(F.SOL_NETLINK, F.NETLINK_CAP_ACK, 1)
        except OSError:
            pass
        self.sock.bind((0, 0))

    def _reopen(self):
        self.close()
        self.sock = open_socket(self.netns)
        self._setup()

    def _next_seq(self):
        self._seq = (self._seq + 1) & 0xFFFFFFFF or 1
        return self._seq

    def _error(self, num, what):
        return kernel_error(num, what, self.netns)

    def _recv(self, what):
        try:
            return self.sock.recv_into(self._buf)
        except OSError as exc:
            raise self._error(exc.errno or errno.EIO, what)

    def _send(self, data, what):
        try:
            self.sock.send(data)
        except OSError as exc:
            raise self._error(exc.errno or errno.EIO, what)

    # -- dumps ----------------------------------------------------------------------
    def dump(self, subsys, msg, family, payload, on_msg, on_reset=None, what='dump'):
        """Run one dump; on_msg(buf, off, mlen, mtype) per reply message.

        A dump the kernel marks interrupted (NLM_F_DUMP_INTR) is run again after
        on_reset(), at most DUMP_RETRIES times.
        """
        self.dump_many(subsys, msg, [(family, payload)], on_msg, on_reset, what)

    def dump_many(self, subsys, msg, requests, on_msg, on_reset=None, what='dump'):
        """Run one dump per (family, payload) of ``requests``, one after the other, into
        the same on_msg.  If the kernel marks one of them interrupted, all of them run
        again after on_reset() (their results are one answer), at most DUMP_RETRIES times.
        """
        # Bulk decoding allocates millions of objects: the cyclic GC would walk them
        # again and again (measured: 1.4x on a 250k full dump). Nothing here makes cycles.
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            for _attempt in range(DUMP_RETRIES):
                interrupted = False
                try:
                    for family, payload in requests:
                        if self._dump(subsys, msg, family, payload, on_msg, what):
                            interrupted = True
                except StopDump as stop:
                    # the consumer has seen enough (_dump replaced the socket); what it
                    # saw of an interrupted dump may hold an entry twice: again
                    if not (interrupted or stop.interrupted):
                        return
                    interrupted = True
                if not interrupted:
                    return
                if on_reset is not None:
                    on_reset()
        finally:
            if gc_was_on:
                gc.enable()
        raise ConntrackError('%s: the kernel interrupted the dump %d times (table changing '
                             'too fast); try again' % (what, DUMP_RETRIES))

    def _dump(self, subsys, msg, family, payload, on_msg, what):
        """One dump; True when the kernel marked it interrupted.

        The first FORK_AFTER receive buffers are read here; a dump that goes on is
        received by a child process (receiver.py) while this one decodes.
        """
        seq = self._next_seq()
        self._send(F.nlmsg(subsys, msg, F.NLM_F_REQUEST | F.NLM_F_DUMP, seq, family,
                           payload), what)
        state = [False]   # interrupted
        reads = 0
        while True:
            if self.fork_after is not None and reads >= self.fork_after:
                rx = ChildReceiver(self.sock, len(self._buf), seq, what, self._error)
                try:
                    rx.start()
                except OSError:
                    self.fork_after = None   # no fork here (limits, seccomp): go on alone
                else:
                    break
            n = self._recv(what)
            reads += 1
            try:
                if self._parse(self._buf, n, seq, on_msg, state, what):
                    return state[0]
            except StopDump as stop:
                self._reopen()   # the abandoned dump would go on answering on this socket
                stop.interrupted = state[0]
                raise
        try:
            with rx:
                self.forked_dumps += 1
                for data, n in rx:
                    if self._parse(data, n, seq, on_msg, state, what):
                        rx.finished = True
                        break
        except StopDump as stop:
            stop.interrupted = state[0]
            raise
        finally:
            if not rx.finished:
                self._reopen()   # the abandoned dump would go on answering on this socket
        return state[0]

    def _parse(self, buf, n, seq, on_msg, state, what):
        """Hand the dump's messages in buf[:n] to on_msg; True at the dump's end."""
        done = False
        for off, mlen, mtype, mflags, mseq in F.messages(buf, n, what):
            if mseq == seq:
                if mflags & F.NLM_F_DUMP_INTR:
                    state[0] = True
                if mtype == F.NLMSG_DONE:
                    done = True
                elif mtype == F.NLMSG_ERROR:
                    err = F.error_code(buf, off)
                    if err:
                        raise self._error(err, what)
                    done = True
                else:
                    on_msg(buf, off, mlen, mtype)
        return done

    # -- requests -------------------------------------------------------------------
    def request(self, subsys, msg, family, payload, flags=0, what='request', version=0,
                res_id=0):
        """One request with ACK; returns the reply messages as bytes (without errors)."""
        seq = self._next_seq()
        self._send(F.nlmsg(subsys, msg, F.NLM_F_REQUEST | F.NLM_F_ACK | flags, seq, family,
                           payload, version, res_id), what)
        out = []
        while True:
            n = self._recv(what)
            buf = self._buf
            for off, mlen, mtype, _mflags, mseq in F.messages(buf, n, what):
                if mseq == seq:
                    if mtype == F.NLMSG_ERROR:
                        err = F.error_code(buf, off)
                        if err:
                            raise self._error(err, what)
                        return out
                    if mtype == F.NLMSG_DONE:
                        return out
                    out.append(bytes(buf[off:off + mlen]))

    def request_unless_gone(self, subsys, msg, family, payload, what='request'):
        """request(), but None instead of an error when the object does not exist
        (ENOENT: never there, expired, or deleted by someone else)."""
        try:
            return self.request(subsys, msg, family, payload, what=what)
        except ConntrackError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise

    def batch(self, messages, what='batch'):
        """Send (subsys, msg, flags, family, payload) requests, BATCH per sendmsg.

        Returns a list of errno values (0 = success), one per message, in order.
        Errors are returned, not raised: the caller decides which ones matter.
        Only the last request of each sendmsg asks for an ACK: the kernel answers a
        failed request with an error whatever its flags, and handles the requests of one
        sendmsg in order, so that ACK closes the chunk (a request without an error before
        it succeeded).  One reply per failure instead of one per request.
        """
        results = []
        chunk = []
        for item in messages:
            chunk.append(item)
            if len(chunk) >= BATCH:
                results.extend(self._flush_batch(chunk, what))
                chunk = []
        if chunk:
            results.extend(self._flush_batch(chunk, what))
        return results

    def _flush_batch(self, chunk, what):
        seqs = {}
        out = []
        last = len(chunk) - 1
        for i, (subsys, msg, flags, family, payload) in enumerate(chunk):
            seq = self._next_seq()
            seqs[seq] = i
            out.append(F.nlmsg(subsys, msg,
                               F.NLM_F_REQUEST | flags | (F.NLM_F_ACK if i == last else 0),
                               seq, family, payload))
        self._send(b''.join(out), what)
        res = [0] * len(chunk)
        while True:
            n = self._recv(what)
            buf = self._buf
            for off, _mlen, mtype, _f, mseq in F.messages(buf, n, what):
                idx = seqs.get(mseq)
                if mtype == F.NLMSG_ERROR and idx is not None:
                    res[idx] = F.error_code(buf, off)
                    if idx == last:
                        return res
