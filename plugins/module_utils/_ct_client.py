# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""The one netlink client of the collection.

A NETLINK_NETFILTER socket (opened inside a network namespace through pyroute2 when
asked, without moving this process), requests encoded with struct, replies decoded by
_ct_decode.  Every module and filter goes through this class.
"""

from __future__ import annotations

import ctypes
import errno
import gc
import os
import socket
import struct
from collections import Counter

from ansible_collections.netfilter.conntrack.plugins.module_utils import _nl_const as C
from ansible_collections.netfilter.conntrack.plugins.module_utils import _ct_encode as E
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_decode import (
    SLOT, Decoder, decode_expect, expect_view)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import (
    ConntrackError, kernel_error)
from ansible_collections.netfilter.conntrack.plugins.module_utils._labels import load_label_map
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_receiver import (
    ChildReceiver, available as _can_fork)

_NLMSG = struct.Struct('=IHHII')
_ERR = struct.Struct('=i')
_NFGEN = struct.Struct('=BBH')
_HDR = struct.Struct('=HH')
_BE32 = struct.Struct('>I')
NETLINK_CAP_ACK = 10
SO_RCVBUFFORCE = 33
SO_SNDBUFFORCE = 32
DUMP_RETRIES = 5
BATCH = 1000
# Receive buffers (about 130 entries each) read in this process before the rest of a
# dump goes to a child receiver (_ct_receiver): small dumps never fork.
FORK_AFTER = 8


class StopDump(Exception):
    """Raised by a dump's consumer that has seen enough: the dump is abandoned (its
    socket replaced) and the walk returns normally, unless the kernel had marked it
    interrupted (``interrupted``, set by _dump): then it is run again."""

    interrupted = False


_TABLE_MSG = {
    'conntrack': (C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET),
    'dying': (C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET_DYING),
    'unconfirmed': (C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET_UNCONFIRMED),
    'expect': (C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_GET),
}


def netns_path(netns):
    """/run/netns/NAME for a bare name, else the path itself (which must be absolute).

    An empty or blank name (an undefined variable) is an error, never "this process's
    namespace": that would run a flush meant for a test or container namespace on the host.
    """
    if not isinstance(netns, str) or not netns.strip():
        raise ConntrackError('netns: invalid value %r: empty (an undefined variable?); leave '
                             'the option out to use the namespace of the module' % (netns,),
                             option='netns')
    if '\0' in netns:
        raise ConntrackError('netns: invalid value %r: contains a NUL byte' % (netns,),
                             option='netns')
    if '/' in netns:
        if not os.path.isabs(netns):
            raise ConntrackError('netns: invalid value %r: a path must be absolute, such as '
                                 '/proc/PID/ns/net; a bare name is looked up in /run/netns'
                                 % (netns,), option='netns')
        return netns
    if netns in ('.', '..'):
        raise ConntrackError('netns: invalid value %r: not a namespace name' % (netns,),
                             option='netns')
    return os.path.join('/run/netns', netns)


def open_socket(netns=None, protocol=C.NETLINK_NETFILTER):
    """A netlink socket (NETLINK_NETFILTER unless told) in ``netns`` (None: this
    process's namespace)."""
    if netns is not None:
        path = netns_path(netns)
        if not os.path.exists(path):
            raise ConntrackError('netns: network namespace %r not found (%s does not exist)'
                                 % (netns, path), option='netns')
        try:
            from pyroute2 import netns as pyroute2_netns  # lazy: only namespaces need it
        except ImportError as exc:
            raise ConntrackError('netns: the pyroute2 Python library is required to enter a '
                                 'network namespace: %s' % exc, option='netns')
        try:
            return _open_socket_setns(pyroute2_netns, path, protocol)
        except ConntrackError:
            raise
        except OSError as exc:
            raise ConntrackError('netns: cannot enter network namespace %r: %s'
                                 % (netns, exc), errno_num=exc.errno, option='netns')
        except Exception as exc:  # pyroute2 wraps child failures in its own types
            raise ConntrackError('netns: cannot enter network namespace %r: %s'
                                 % (netns, exc), option='netns')
    try:
        return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, protocol)
    except OSError as exc:
        raise kernel_error(exc.errno, 'opening a netlink socket (protocol %d)' % protocol)


def _open_socket_setns(pyroute2_netns, path, protocol, opener=None):
    """Move this thread into the namespace, open the socket there, move back.

    The socket stays in the namespace it was opened in. flags=0: never create a missing
    namespace. The way back is verified: a module left in another namespace is an error
    that ends it. pyroute2's netns.create_socket (0.8+) does the same in a forked child,
    which costs 8 ms per socket against 0.07 ms here (measured), paid again whenever an
    abandoned dump makes the client replace its socket. ``opener`` opens something else
    there instead (a file of /proc/sys/net, which shows the opener's namespace).
    """
    libc = _libc()
    home = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
    try:
        was = os.fstat(home)
        pyroute2_netns.setns(path, flags=0, libc=libc)
        sock = None
        try:
            sock = opener() if opener else socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                                         protocol)
        finally:
            try:
                pyroute2_netns.setns(home, flags=0, libc=libc)
                now = os.stat('/proc/thread-self/ns/net')
                back = (now.st_dev, now.st_ino) == (was.st_dev, was.st_ino)
            except OSError:
                back = False
            if not back:
                if sock is not None:
                    sock.close()
                raise ConntrackError('netns: could not return to the namespace the module '
                                     'started in after opening a socket in %s; stopping'
                                     % path)
        return sock
    finally:
        os.close(home)


def _libc():
    """glibc by its soname; None lets pyroute2 search (musl and other systems)."""
    try:
        return ctypes.CDLL('libc.so.6', use_errno=True)
    except OSError:
        return None


class Sample:
    """A walk(lazy=True) consumer: counts matches, decodes only the first ``keep``,
    optionally records delete keys (the dump's own original-tuple bytes, zone and id)
    and counts the raw fields of aggregators (_aggregate.CountBy.raw_getter/add_raw)."""

    def __init__(self, keep, keys, aggregators=(), max_keys=None, stop_after=None):
        self.keep = keep
        self.stop_after = stop_after   # this many matches seen: abandon the walk
        self.want_keys = keys
        self.max_keys = max_keys   # more matches than this: keys None (not kept)
        self.aggregators = aggregators
        self._getters = [agg.raw_getter() for agg in aggregators]
        self._dec = None
        # what __call__ reads from vals: id and zone for the delete keys, the aggregates'
        slots = {SLOT['id'], SLOT['zone']} if keys else set()
        for agg in aggregators:
            slots.update(agg.value_slots)
        self.slots = tuple(sorted(slots))
        self.reset()

    def reset(self):
        self.count = 0
        self.stopped = False
        self.entries = []
        self.keys = []
        self._raw = [(get, Counter()) for get in self._getters]
        for agg in self.aggregators:
            agg.reset()

    def __call__(self, dec, vals, fam, buf, off, mlen):
        self.count += 1
        if len(self.entries) < self.keep:
            self.entries.append(dec.entry(dec.values(buf, off + 20, off + mlen), fam))
        if self._raw:
            self._dec = dec
            for get, counts in self._raw:
                counts[fam if get is None else get(vals)] += 1
        if self.stop_after is not None and self.count >= self.stop_after:
            self.stopped = True
            raise StopDump()
        if self.want_keys and self.keys is not None:
            if self.max_keys is not None and len(self.keys) >= self.max_keys:
                self.keys = None
                return
            self.keys.append((fam, E.key_from_message(
                buf, off, fam, vals, lambda: dec.values(buf, off + 20, off + mlen))))

    def finish(self):
        """Hand the raw counts to the aggregators (after the walk)."""
        for agg, (_get, counts) in zip(self.aggregators, self._raw):
            agg.add_raw(counts, self._dec)
            counts.clear()


class EntrySink:
    """Collects up to ``limit`` entries, counts all, feeds optional aggregators."""

    def __init__(self, limit=None, aggregators=()):
        self.limit = limit
        self.aggregators = aggregators
        self.reset()

    def reset(self):
        self.count = 0
        self.entries = []
        for agg in self.aggregators:
            agg.reset()

    def add(self, entry):
        self.count += 1
        if self.limit is None or len(self.entries) < self.limit:
            self.entries.append(entry)
        for agg in self.aggregators:
            agg.add(entry)


class SocketOwner:
    """close() and the context manager for classes holding a netlink socket in .sock."""

    sock = None

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ConntrackClient(SocketOwner):
    """Talks ctnetlink in one network namespace.  Use as a context manager."""

    def __init__(self, netns=None, rcvbuf=16 << 20):
        self.netns = netns
        self.sock = open_socket(netns)
        self._seq = 0
        self._buf = bytearray(1 << 20)
        self._rcvbuf = rcvbuf
        self.fork_after = FORK_AFTER if _can_fork() else None
        self.forked_dumps = 0
        self._buckets = None
        self.label_map = load_label_map()
        self._setup()

    def _setup(self):
        for opt, force, size in ((socket.SO_RCVBUF, SO_RCVBUFFORCE, self._rcvbuf),
                                 (socket.SO_SNDBUF, SO_SNDBUFFORCE, 4 << 20)):
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, force, size)
            except OSError:
                self.sock.setsockopt(socket.SOL_SOCKET, opt, size)
        try:
            self.sock.setsockopt(C.SOL_NETLINK, NETLINK_CAP_ACK, 1)
        except OSError:
            pass
        self.sock.bind((0, 0))

    def decoder(self):
        return Decoder(self.label_map)

    def _next_seq(self):
        self._seq = (self._seq + 1) & 0xFFFFFFFF or 1
        return self._seq

    def _error(self, num, what):
        return kernel_error(num, what, self.netns)

    # -- low level ----------------------------------------------------------------
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
        received by a child process (_ct_receiver) while this one decodes.
        """
        seq = self._next_seq()
        self._send(E.nlmsg(subsys, msg, C.NLM_F_REQUEST | C.NLM_F_DUMP, seq, family,
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
        unpack = _NLMSG.unpack_from
        off = 0
        done = False
        while off + 16 <= n:
            mlen, mtype, mflags, mseq, _pid = unpack(buf, off)
            if mlen < 16 or off + mlen > n:
                raise ConntrackError('%s: malformed netlink reply' % what)
            if mseq == seq:
                if mflags & C.NLM_F_DUMP_INTR:
                    state[0] = True
                if mtype == C.NLMSG_DONE:
                    done = True
                elif mtype == C.NLMSG_ERROR:
                    err = -_ERR.unpack_from(buf, off + 16)[0]
                    if err:
                        raise self._error(err, what)
                    done = True
                else:
                    on_msg(buf, off, mlen, mtype)
            off += (mlen + 3) & ~3
        return done

    def request(self, subsys, msg, family, payload, flags=0, what='request', version=0,
                res_id=0):
        """One request with ACK; returns the reply messages as bytes (without errors)."""
        seq = self._next_seq()
        self._send(E.nlmsg(subsys, msg, C.NLM_F_REQUEST | C.NLM_F_ACK | flags, seq, family,
                           payload, version, res_id), what)
        out = []
        while True:
            n = self._recv(what)
            off = 0
            while off + 16 <= n:
                mlen, mtype, _mflags, mseq, _pid = _NLMSG.unpack_from(self._buf, off)
                if mlen < 16 or off + mlen > n:
                    raise ConntrackError('%s: malformed netlink reply' % what)
                if mseq == seq:
                    if mtype == C.NLMSG_ERROR:
                        err = -_ERR.unpack_from(self._buf, off + 16)[0]
                        if err:
                            raise self._error(err, what)
                        return out
                    if mtype == C.NLMSG_DONE:
                        return out
                    out.append(bytes(self._buf[off:off + mlen]))
                off += (mlen + 3) & ~3

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
            out.append(E.nlmsg(subsys, msg,
                               C.NLM_F_REQUEST | flags | (C.NLM_F_ACK if i == last else 0),
                               seq, family, payload))
        self._send(b''.join(out), what)
        res = [0] * len(chunk)
        while True:
            n = self._recv(what)
            off = 0
            while off + 16 <= n:
                mlen, mtype, _f, mseq, _pid = _NLMSG.unpack_from(self._buf, off)
                if mlen < 16 or off + mlen > n:
                    raise ConntrackError('%s: malformed netlink reply' % what)
                idx = seqs.get(mseq)
                if mtype == C.NLMSG_ERROR and idx is not None:
                    res[idx] = -_ERR.unpack_from(self._buf, off + 16)[0]
                    if idx == last:
                        return res
                off += (mlen + 3) & ~3

    # -- conntrack table ------------------------------------------------------------
    def walk(self, cfilter=None, table='conntrack', on_values=None, on_entry=None,
             on_reset=None, zero=False, lazy=False, slots=None):
        """Dump ``table`` with the kernel part of ``cfilter``.

        Each entry that passes the whole filter goes to on_values(decoder, vals, family)
        as its canonical value tuple (no dict built), or to on_entry(entry) as a dict.
        lazy=True: on_values(decoder, vals, family, buf, off, mlen), where vals holds only
        the slots named in ``slots`` (and those the filter read; the rest are None), or is
        None when nothing was unpacked: the consumer decodes what it keeps itself
        (decoder.values(buf, off + 20, off + mlen)) and can copy raw attributes.
        The filter's predicates unpack only the fields they read (Decoder.prober).
        """
        subsys, msg = _TABLE_MSG[table]
        if zero:
            msg = C.IPCTNL_MSG_CT_GET_CTRZERO
        pushed = cfilter is not None and table == 'conntrack'
        dec = self.decoder()
        if table == 'expect':
            # Expectations are few: collect, fill in the zones (which the kernel does not
            # report), then filter.
            exps = []

            def reset():
                del exps[:]
                if on_reset is not None:
                    on_reset()

            def handle(buf, off, mlen, _mtype):
                exps.append(decode_expect(dec, buf, off + 20, off + mlen, buf[off + 16]))
            self.dump(subsys, msg, C.AF_UNSPEC, b'', handle, reset,
                      what='dumping the expect table')
            self.expect_zones(exps)
            pred = cfilter.matches if cfilter is not None else None
            for exp in exps:
                if pred is None or pred(expect_view(exp)):
                    on_entry(exp)
            return
        else:
            if cfilter is None:
                pred, read = None, ()
            elif pushed:
                pred, read = cfilter.residual_values(), cfilter.residual_slots()
            else:
                # dying/unconfirmed dumps take no kernel filter: match everything here
                pred, read = cfilter.matches_values, cfilter.all_slots()
            values = dec.values
            if on_values is None and on_entry is None:
                counter = [0]   # count mode: nothing unpacked beyond the predicate's needs
                probe = dec.prober(read)

                def handle(buf, off, mlen, _mtype):
                    if pred is None or pred(probe(buf, off + 20, off + mlen), buf[off + 16]):
                        counter[0] += 1
                on_reset = _chain(on_reset, lambda: counter.__setitem__(0, 0))
            elif lazy:
                if slots is None or read is None:
                    probe = dec.prober(None)
                else:
                    probe = dec.prober(tuple(slots) + read)
                unpack = pred is not None or bool(slots)

                def handle(buf, off, mlen, _mtype):
                    fam = buf[off + 16]
                    vals = probe(buf, off + 20, off + mlen) if unpack else None
                    if pred is None or pred(vals, fam):
                        on_values(dec, vals, fam, buf, off, mlen)
            else:
                # the predicate reads its few fields; only a match is decoded whole
                probe = dec.prober(read)
                make = dec.entry

                def handle(buf, off, mlen, _mtype):
                    fam = buf[off + 16]
                    if pred is not None and not pred(probe(buf, off + 20, off + mlen), fam):
                        return
                    vals = values(buf, off + 20, off + mlen)
                    if on_values is not None:
                        on_values(dec, vals, fam)
                    else:
                        on_entry(make(vals, fam))

        self.dump_many(subsys, msg, cfilter.requests() if pushed else [(C.AF_UNSPEC, b'')],
                       handle, on_reset, what='dumping the %s table' % table)
        if table != 'expect' and on_values is None and on_entry is None:
            return counter[0]
        return None

    def fit(self, cfilter):
        """cfilter, or its one-request form (single_request) when this namespace's table
        is too small to repay the walks of several kernel requests (worth_requests)."""
        if cfilter is None or len(cfilter.requests()) < 2:
            return cfilter
        if cfilter.worth_requests(self.global_counts()[0], self.buckets()):
            return cfilter
        return cfilter.single_request()

    def count(self, cfilter=None, table='conntrack'):
        """Number of matching entries; builds no dict (walk's count mode), and unpacks
        nothing when the kernel filters everything."""
        if table != 'expect':
            return self.walk(cfilter, table)
        if cfilter is not None:
            # expectations: their zones resolved, then filtered (walk's expect branch)
            return self.entries(cfilter, table, limit=0).count
        counter = [0]
        subsys, msg = _TABLE_MSG[table]
        self.dump(subsys, msg, C.AF_UNSPEC, b'',
                  lambda *_msg: counter.__setitem__(0, counter[0] + 1),
                  lambda: counter.__setitem__(0, 0), what='counting the expect table')
        return counter[0]

    def entries(self, cfilter=None, table='conntrack', limit=None, aggregators=(),
                zero=False):
        """EntrySink with the matching entries (up to limit), the count, aggregates."""
        sink = EntrySink(limit, aggregators)
        self.walk(cfilter, table, on_entry=sink.add, on_reset=sink.reset, zero=zero)
        return sink

    def get_message(self, family, proto, orig, zone=None):
        """The kernel's reply message (bytes) for one entry by original tuple, or None."""
        msgs = self.request_unless_gone(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET, family,
                                        E.key_attrs(family, proto, orig, zone),
                                        what='getting an entry')
        return msgs[0] if msgs else None

    def _reopen(self):
        self.close()
        self.sock = open_socket(self.netns)
        self._setup()

    def get_by_reply(self, family, proto, reply, zone=None):
        """The entry whose reply tuple is ``reply`` (the one a create would clash with)."""
        payload = E.nest(C.CTA_TUPLE_REPLY, E.tuple_attrs(family, reply, proto))
        if zone:
            payload += E.be16(C.CTA_ZONE, zone)
        msgs = self.request_unless_gone(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET, family,
                                        payload, what='getting an entry by reply tuple')
        if not msgs:
            return None
        return self.decoder().decode(msgs[0], 20, len(msgs[0]), msgs[0][16])

    def get(self, family, proto, orig, zone=None):
        """One entry by original tuple, or None."""
        raw = self.get_message(family, proto, orig, zone)
        if raw is None:
            return None
        return self.decoder().decode(raw, 20, len(raw), raw[16])

    def create(self, spec):
        self.request(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_NEW, spec['family'],
                     E.entry_attrs(spec, create=True), C.NLM_F_CREATE | C.NLM_F_EXCL,
                     what='creating an entry')

    def update(self, spec):
        self.request(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_NEW, spec['family'],
                     E.entry_attrs(spec, create=False), what='updating an entry')

    def delete(self, family, proto, orig, zone=None, ct_id=None):
        """Delete one entry; False when it was already gone."""
        return self.request_unless_gone(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_DELETE, family,
                                        E.key_attrs(family, proto, orig, zone, ct_id),
                                        what='deleting an entry') is not None

    def create_many(self, specs, update=False):
        """Create (or update) many entries, BATCH per send; returns the errno list."""
        flags = 0 if update else C.NLM_F_CREATE | C.NLM_F_EXCL
        return self.batch(((C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_NEW, flags, s['family'],
                            E.entry_attrs(s, create=not update)) for s in specs),
                          what='creating entries')

    def zero_counters(self, keys):
        """Zero the counters of entries given by entry_key(); returns the errno list."""
        return self.batch(((C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET_CTRZERO, 0, fam,
                            E.key_attrs(fam, proto, orig, zone, ct_id))
                           for fam, proto, orig, zone, ct_id in keys), what='zeroing counters')

    def delete_raw(self, keys):
        """Delete entries given as (family, attribute bytes); returns the errno list."""
        return self.batch(((C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_DELETE, 0, fam, payload)
                           for fam, payload in keys), what='deleting entries')

    # -- expectations ---------------------------------------------------------------
    def expect_get(self, family, proto, tup, zone=None, exp_id=None):
        """One expectation by expected tuple (in ``zone``), decoded, or None."""
        msgs = self.request_unless_gone(C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_GET,
                                        family,
                                        E.expect_key_attrs(family, proto, tup, zone, exp_id),
                                        what='getting an expectation')
        for raw in msgs or ():
            exp = decode_expect(self.decoder(), raw, 20, len(raw), raw[16])
            exp['zone'] = zone or 0  # the kernel does not report it; the get proved it
            return exp
        return None

    def expect_create(self, spec):
        """Create one expectation (spec: see _ct_encode.expect_attrs)."""
        self.request(C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_NEW, spec['family'],
                     E.expect_attrs(spec), C.NLM_F_CREATE | C.NLM_F_EXCL,
                     what='creating an expectation')

    def expect_update(self, spec):
        """Change an existing expectation: the kernel applies only ``timeout``."""
        self.request(C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_NEW, spec['family'],
                     E.expect_attrs(spec), what='updating an expectation')

    def expect_delete(self, family, proto, tup, zone=None, exp_id=None):
        """Delete one expectation by expected tuple (and id); False when already gone."""
        return self.request_unless_gone(
            C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_DELETE, family,
            E.expect_key_attrs(family, proto, tup, zone, exp_id),
            what='deleting an expectation') is not None

    def expect_zones(self, exps):
        """Fill in the ``zone`` of decoded expectations, which dumps do not carry.

        An expectation lives in its master's zone.  One batch of gets by tuple + id in
        zone 0 settles most of them; for the others the zones of the conntrack entries
        with the master's tuple are the candidates (tried by get when there are several).
        An expectation whose master vanished meanwhile gets zone None.
        """
        if not exps:
            return
        keys = [(C.FAMILY_NUMBERS.get(e['family']), e) for e in exps]
        res = self.batch(((C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_GET, 0, fam,
                           E.expect_key_attrs(fam, e['proto_num'], e['tuple'], 0, e['id']))
                          for fam, e in keys), what='reading the zones of expectations')
        for (fam, exp), err in zip(keys, res):
            if not err:
                exp['zone'] = 0
                continue
            exp['zone'] = None
            zones = self._master_zones(fam, exp['master'])
            if len(zones) == 1:
                exp['zone'] = zones[0]
                continue
            for zone in zones:
                if zone and self.expect_get(fam, exp['proto_num'], exp['tuple'], zone,
                                            exp['id']) is not None:
                    exp['zone'] = zone
                    break

    def _master_zones(self, family, master):
        """Zones of the conntrack entries whose original tuple is ``master``."""
        from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_filter import (
            compile_filter)  # here: _ct_filter is not needed by most client users
        params = {'family': C.FAMILY_NAMES[family], 'proto': master.get('proto_num'),
                  'orig_src': master.get('src'), 'orig_dst': master.get('dst')}
        if master.get('proto_num') in C.PORT_PROTOS:
            params.update(orig_port_src=master.get('sport') or None,
                          orig_port_dst=master.get('dport') or None)
        zones = set()
        zslot = SLOT['zone']
        self.walk(compile_filter(params, self.label_map),
                  on_values=lambda _d, v, _f: zones.add(v[zslot] or 0), on_reset=zones.clear)
        return sorted(zones)

    def expect_delete_many(self, exps):
        """Delete decoded expectations by tuple + zone + id (race-safe); the errno list."""
        return self.batch(((C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_DELETE, 0,
                            C.FAMILY_NUMBERS[e['family']],
                            E.expect_key_attrs(C.FAMILY_NUMBERS[e['family']], e['proto_num'],
                                               e['tuple'], e.get('zone'), e.get('id')))
                           for e in exps), what='deleting expectations')

    def flush(self, cfilter=None, table='conntrack'):
        """Kernel-side flush of everything the kernel part of cfilter matches.

        Expectations: the kernel flushes all of them (every family) or one by tuple, and
        knows no other filter; a filter is applied to a dump and the matches deleted one
        by one (ENOENT, vanished meanwhile, is not an error).
        """
        if table == 'expect':
            if cfilter is None or not cfilter.checks:
                self.request(C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_DELETE,
                             C.AF_UNSPEC, b'', what='flushing the expect table')
                return
            matches = self.entries(cfilter, table='expect').entries
            for res in self.expect_delete_many(matches):
                if res and res != errno.ENOENT:
                    raise self._error(res, 'deleting an expectation')
            return
        subsys, msg = C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_DELETE
        for family, payload in (cfilter.requests() if cfilter is not None
                                else [(C.AF_UNSPEC, b'')]):
            # version 1: the kernel honours the nfgenmsg family on flush
            self.request(subsys, msg, family, payload, version=1,
                         what='flushing the %s table' % table)

    # -- statistics -----------------------------------------------------------------
    def _stat_attrs(self, buf, start, end, names):
        out = {}
        off = start
        while off + 4 <= end:
            alen, atype = _HDR.unpack_from(buf, off)
            if alen < 4 or off + alen > end:
                break
            name = names.get(atype & C.NLA_TYPE_MASK)
            if name and alen >= 8:
                out[name] = _BE32.unpack_from(buf, off + 4)[0]
            off += (alen + 3) & ~3
        return out

    def stats(self, table='conntrack'):
        """{'total': {...}, 'per_cpu': [{cpu, ...}]} of the kernel's counters."""
        if table == 'expect':
            subsys, msg, names = (C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_GET_STATS_CPU,
                                  C.STATS_EXP_CPU_NAMES)
        else:
            subsys, msg, names = (C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET_STATS_CPU,
                                  C.STATS_CPU_NAMES)
        per_cpu = []

        def handle(buf, off, mlen, _mtype):
            cpu = struct.unpack_from('>H', buf, off + 18)[0]
            row = {'cpu': cpu}
            row.update(self._stat_attrs(buf, off + 20, off + mlen, names))
            per_cpu.append(row)
        self.dump(subsys, msg, C.AF_UNSPEC, b'', handle, per_cpu.clear,
                  what='reading statistics')
        total = {}
        for row in per_cpu:
            for key, val in row.items():
                if key != 'cpu':
                    total[key] = total.get(key, 0) + val
        return {'total': total, 'per_cpu': sorted(per_cpu, key=lambda r: r['cpu'])}

    def global_counts(self):
        """(entries, max entries) of this namespace from IPCTNL_MSG_CT_GET_STATS."""
        msgs = self.request(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET_STATS, C.AF_UNSPEC,
                            b'', what='reading the table size')
        out = {}
        for raw in msgs:
            out.update(self._stat_attrs(raw, 20, len(raw), {
                C.CTA_STATS_GLOBAL_ENTRIES: 'count', C.CTA_STATS_GLOBAL_MAX_ENTRIES: 'max'}))
        return out.get('count', 0), out.get('max', 0)

    def buckets(self):
        """The size of the kernel's conntrack hash table (global; read once)."""
        if self._buckets is None:
            self._buckets = _read_sysctl('nf_conntrack_buckets') or 0
        return self._buckets

    def limits(self):
        count, maximum = self.global_counts()
        out = {'count': count, 'max': maximum,
               'buckets': self.buckets() or None,
               'usage_percent': round(100.0 * count / maximum, 2) if maximum else None,
               'expect_count': self.count(table='expect'),
               'expect_max': _read_sysctl('nf_conntrack_expect_max')}
        return out


def entry_key(entry):
    """(family number, proto number, orig tuple, zone, id): what names one entry."""
    orig = dict(entry['orig'])
    if 'orig_zone' in entry:
        orig['zone'] = entry['orig_zone']
    return (C.FAMILY_NUMBERS[entry['family']], entry['proto_num'], orig, entry.get('zone'),
            entry.get('id'))


def _chain(first, second):
    if first is None:
        return second

    def both():
        first()
        second()
    return both


def _read_sysctl(name):
    """Global netfilter sysctls (same value in every namespace); None if unreadable."""
    try:
        with open('/proc/sys/net/netfilter/' + name, encoding='ascii') as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None
