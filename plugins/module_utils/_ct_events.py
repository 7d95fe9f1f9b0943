# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""conntrack_events' logic: subscribe to ctnetlink event groups, listen, classify,
filter, and count what the kernel could not deliver.

Events are multicast netlink messages, one per event: IPCTNL_MSG_CT_NEW with
NLM_F_CREATE|NLM_F_EXCL is a new connection, IPCTNL_MSG_CT_NEW without them an update,
IPCTNL_MSG_CT_DELETE a destroyed one (the same for IPCTNL_MSG_EXP_* on the expectation
groups; the kernel sends no expectation updates).  When the socket's receive buffer is
full the kernel drops events, counts them in the socket's sk_drops and makes the next
recv() fail with ENOBUFS once; sk_drops is read back through NETLINK_SOCK_DIAG, so that
``lost`` is the number of events dropped, not the number of ENOBUFS errors.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import time

from ansible_collections.netfilter.conntrack.plugins.module_utils._argspec import filter_spec
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_event_stream import (
    EventClassifier, kernel_program)
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import (
    compile_filter)
from ansible_collections.netfilter.conntrack.plugins.module_utils._netns_sysctl import (
    read_netfilter_sysctl)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import (
    ConntrackError, kernel_error)
from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink import framing as F
from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink.sockets import (
    SocketOwner, open_socket, set_rcvbuf)
from ansible_collections.netfilter.conntrack.plugins.module_utils._orphan import controller_gone

GROUPS = {
    'conntrack': {'NEW': C.NFNLGRP_CONNTRACK_NEW, 'UPDATE': C.NFNLGRP_CONNTRACK_UPDATE,
                  'DESTROY': C.NFNLGRP_CONNTRACK_DESTROY},
    'expect': {'NEW': C.NFNLGRP_CONNTRACK_EXP_NEW, 'UPDATE': C.NFNLGRP_CONNTRACK_EXP_UPDATE,
               'DESTROY': C.NFNLGRP_CONNTRACK_EXP_DESTROY},
}
DEFAULT_BUFFER = 8 << 20
MIN_BUFFER = 4096
MAX_BUFFER = 0x7FFFFFFF        # SO_RCVBUF takes a C int
MAX_DURATION = 366 * 86400.0   # a year; socket timeouts overflow long before inf
# How often (seconds) a listener checks that its result is still awaited (_orphan).
ORPHAN_CHECK = 1.0

# NETLINK_SOCK_DIAG (linux/sock_diag.h, linux/netlink_diag.h)
SOCK_DIAG_BY_FAMILY = 20
NDIAG_SHOW_MEMINFO = 1
NETLINK_DIAG_MEMINFO = 0
SK_MEMINFO_DROPS = 8
_DIAG_REQ = struct.Struct('=BBHII2I')
_DIAG_MSG = struct.Struct('=BBBBIIII2I')
_HDR = struct.Struct('=HH')


def parse_event_mask(value):
    """The event types to listen to, validated and upper-cased (None/empty: all)."""
    if value is None:
        return list(C.EVENT_TYPES)
    if isinstance(value, str):
        value = [v for v in value.split(',') if v.strip()]
    if not value:
        raise ConntrackError('event_mask: invalid value []: an empty list listens to nothing; '
                             'leave the option out to get every event', option='event_mask')
    out = []
    for item in value:
        key = str(item).strip().upper()
        if key == 'ALL':
            return list(C.EVENT_TYPES)
        if key not in C.EVENT_TYPES:
            raise ConntrackError('event_mask: invalid value %r: expected NEW, UPDATE or DESTROY'
                                 % (item,), option='event_mask')
        if key not in out:
            out.append(key)
    return out


def group_bits(table, types):
    """The bind() group bitmap for event ``types`` of ``table``."""
    groups = GROUPS.get(table)
    if groups is None:
        raise ConntrackError('table: invalid value %r: events exist for conntrack and expect'
                             % (table,), option='table')
    bits = 0
    for name in types:
        bits |= 1 << (groups[name] - 1)
    return bits


def parse_diag_drops(buf, length, portid):
    """sk_drops of the netlink socket ``portid`` from a NETLINK_SOCK_DIAG dump reply, or
    None when the reply does not list it.  Raises on an error message."""
    for off, mlen, mtype, _flags, _seq in F.messages(buf, length, 'reading socket drops'):
        if mtype == F.NLMSG_ERROR:
            err = F.error_code(buf, off)
            if err:
                raise OSError(err, os.strerror(err))
        elif mtype == SOCK_DIAG_BY_FAMILY and mlen >= 16 + _DIAG_MSG.size:
            msg = _DIAG_MSG.unpack_from(buf, off + 16)
            if msg[4] == portid:
                aoff, end = off + 16 + _DIAG_MSG.size, off + mlen
                while aoff + 4 <= end:
                    alen, atype = _HDR.unpack_from(buf, aoff)
                    if alen < 4:
                        break
                    if atype & C.NLA_TYPE_MASK == NETLINK_DIAG_MEMINFO and \
                            alen >= 4 + 4 * (SK_MEMINFO_DROPS + 1):
                        return struct.unpack_from('=I', buf, aoff + 4 + 4 * SK_MEMINFO_DROPS)[0]
                    aoff += (alen + 3) & ~3
    return None


class EventListener(SocketOwner):
    """A NETLINK_NETFILTER socket subscribed to the event groups of one table."""

    def __init__(self, netns=None, table='conntrack', event_mask=None, buffer_size=None,
                 program=None):
        self.netns = netns
        self.table = table
        self.types = parse_event_mask(event_mask)
        bits = group_bits(table, self.types)
        if buffer_size is None:
            buffer_size = DEFAULT_BUFFER
        if not MIN_BUFFER <= buffer_size <= MAX_BUFFER:
            raise ConntrackError('buffer_size: invalid value %r: between %d and %d bytes'
                                 % (buffer_size, MIN_BUFFER, MAX_BUFFER), option='buffer_size')
        self.sock = open_socket(netns)
        try:
            set_rcvbuf(self.sock, buffer_size)
            self.buffer_size = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            if program is not None:
                program.attach(self.sock)   # before bind: no event passes unfiltered
            self.sock.bind((0, bits))
        except OSError as exc:
            self.close()
            raise kernel_error(exc.errno or errno.EIO, 'subscribing to conntrack events', netns)
        self.portid = self.sock.getsockname()[0]
        self.overruns = 0
        self.orphaned = False
        self.gone = controller_gone
        self._buf = bytearray(1 << 16)

    def unsubscribe(self):
        for group in GROUPS[self.table].values():
            try:
                self.sock.setsockopt(F.SOL_NETLINK, F.NETLINK_DROP_MEMBERSHIP, group)
            except OSError:
                pass

    def drops(self):
        """Events the kernel dropped for this socket (sk_drops), or None if unreadable."""
        try:
            diag = open_socket(self.netns, protocol=F.NETLINK_SOCK_DIAG)
        except ConntrackError:
            return None
        try:
            req = _DIAG_REQ.pack(socket.AF_NETLINK, C.NETLINK_NETFILTER, 0, 0,
                                 NDIAG_SHOW_MEMINFO, 0xFFFFFFFF, 0xFFFFFFFF)
            diag.send(F.header(16 + len(req), SOCK_DIAG_BY_FAMILY,
                               F.NLM_F_REQUEST | F.NLM_F_DUMP, 1) + req)
            buf = bytearray(1 << 16)
            found = None
            while True:
                n = diag.recv_into(buf)
                drops = parse_diag_drops(buf, n, self.portid)
                if drops is not None:
                    found = drops
                if n < 16 or _done(buf, n):
                    return found
        except (OSError, ConntrackError):
            return None
        finally:
            diag.close()

    def messages(self, deadline, clock=time.monotonic, drain=False):
        """Yield (buffer, offset, length, type, flags) of event messages until ``deadline``
        or, with ``drain``, until the receive queue is empty (after unsubscribe()).

        ENOBUFS (events dropped) is counted in self.overruns and listening goes on.
        """
        sock, buf = self.sock, self._buf
        if drain:
            sock.setblocking(False)
        check = clock() + ORPHAN_CHECK
        while True:
            if not drain:
                now = clock()
                left = deadline - now
                if left <= 0:
                    return
                if now >= check:
                    check = now + ORPHAN_CHECK
                    if self.gone():   # the task timed out: nobody reads our result
                        self.orphaned = True
                        return
                sock.settimeout(min(left, ORPHAN_CHECK))
            try:
                n = sock.recv_into(buf)
            except (socket.timeout, BlockingIOError):
                if drain:
                    return
                continue
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:
                    self.overruns += 1
                    continue
                if exc.errno == errno.EINTR:
                    continue
                raise kernel_error(exc.errno or errno.EIO, 'receiving conntrack events',
                                   self.netns)
            for off, mlen, mtype, mflags, _seq in F.messages(buf, n, 'receiving events'):
                if mtype >= 16 and mlen >= 20:  # not NLMSG_ERROR/DONE: an nfnetlink message
                    yield buf, off, mlen, mtype, mflags


def _done(buf, n):
    """Whether buf[:n] ends a dump (its DONE or an error), or cannot be walked."""
    try:
        for _off, _mlen, mtype, _f, _s in F.messages(buf, n):
            if mtype in (F.NLMSG_DONE, F.NLMSG_ERROR):
                return True
    except ConntrackError:
        return True
    return False


def listen(listener, duration, max_events=None, cfilter=None, label_map=None,
           on_ready=None, resolve_zone=None, clock=time.monotonic, wall=time.time):
    """Collect the matching events for ``duration`` seconds or until ``max_events``.

    resolve_zone(expectation) fills in an expectation's zone (events do not carry it)
    before the filter sees it.  Returns the conntrack_events result (events, count,
    lost, overruns, ...).
    """
    classify = EventClassifier(listener.types, listener.table, cfilter, label_map, resolve_zone)
    events = []
    started = clock()
    deadline = started + duration
    if on_ready is not None:
        on_ready()
    stopped_by = 'duration'

    def take(messages):
        """Record the events of ``messages``; True once max_events are recorded."""
        for msg in messages:
            got = classify(*msg)
            if got is None:
                continue
            events.append({'type': got[0], 'time': round(wall(), 6), 'entry': got[1]})
            if max_events is not None and len(events) >= max_events:
                return True
        return False

    if take(listener.messages(deadline, clock)):
        stopped_by = 'max_events'
    elif getattr(listener, 'orphaned', False):
        stopped_by = 'controller_gone'
    # The window closes: no new events from here on; those the kernel queued before are
    # still ours (under load the reader lags behind), and so is what it dropped.
    listener.unsubscribe()
    if stopped_by != 'max_events' and take(listener.messages(deadline, clock, drain=True)):
        stopped_by = 'max_events'
    elapsed = clock() - started
    drops = listener.drops()
    overruns = listener.overruns
    if drops is None:
        lost, exact = overruns, False
    else:
        lost, exact = max(drops, overruns), True
    return {'changed': False, 'events': events, 'count': len(events), 'seen': classify.seen,
            'lost': lost, 'lost_exact': exact, 'overruns': overruns,
            'buffer_size': listener.buffer_size, 'elapsed': round(elapsed, 3),
            'stopped_by': stopped_by}


def _ready_file(path):
    """on_ready callback that creates ``path`` (atomically, with our pid)."""
    def ready():
        tmp = '%s.%d.tmp' % (path, os.getpid())
        try:
            with open(tmp, 'w', encoding='ascii') as fh:
                fh.write('%d\n' % os.getpid())
            os.rename(tmp, path)
        except OSError as exc:
            raise ConntrackError('ready_file: cannot create %r: %s' % (path, exc),
                                 option='ready_file')
    return ready


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def argument_spec():
    """conntrack_events' options (besides the common netns); a fresh dict per call."""
    spec = filter_spec()
    spec.update(
        table={'type': 'str', 'default': 'conntrack', 'choices': ['conntrack', 'expect']},
        event_mask={'type': 'list', 'elements': 'str', 'default': ['NEW', 'UPDATE', 'DESTROY'],
                    'choices': ['NEW', 'UPDATE', 'DESTROY']},
        duration={'type': 'float', 'default': 10},
        max_events={'type': 'int'},
        buffer_size={'type': 'int', 'default': DEFAULT_BUFFER},
        ready_file={'type': 'path'},
    )
    return spec


def run(client, filters, params, check_mode=False, diff_mode=False, warn=None):
    """The whole conntrack_events run: validate, subscribe, listen.

    With ``ready_file`` the file exists exactly while the module listens.
    """
    _validate(params)
    cfilter = compile_filter(filters, client.label_map) if filters else None
    ready_file = params.get('ready_file')
    if ready_file:
        _remove(ready_file)
        try:
            return _run(client, cfilter, params, _ready_file(ready_file), warn)
        finally:
            _remove(ready_file)
    return _run(client, cfilter, params, None, warn)


def _validate(params):
    duration = params.get('duration')
    if duration is None or not duration > 0:
        raise ConntrackError('duration: invalid value %r: seconds, more than 0' % (duration,),
                             option='duration')
    if not duration <= MAX_DURATION:
        raise ConntrackError('duration: invalid value %r: at most %d seconds'
                             % (duration, MAX_DURATION), option='duration')
    max_events = params.get('max_events')
    if max_events is not None and max_events < 1:
        raise ConntrackError('max_events: invalid value %r: 1 or more (leave it out for no '
                             'limit)' % (max_events,), option='max_events')
    parse_event_mask(params.get('event_mask'))
    group_bits(params.get('table') or 'conntrack', ())
    size = params.get('buffer_size')
    if size is not None and not MIN_BUFFER <= size <= MAX_BUFFER:
        raise ConntrackError('buffer_size: invalid value %r: between %d and %d bytes'
                             % (size, MIN_BUFFER, MAX_BUFFER), option='buffer_size')


def _run(client, cfilter, params, ready, warn=None):
    table = params.get('table') or 'conntrack'
    duration = params.get('duration')
    max_events = params.get('max_events')
    program = kernel_program(cfilter, table)
    with EventListener(client.netns, table, params.get('event_mask'),
                       params.get('buffer_size'), program) as listener:
        result = listen(listener, float(duration), max_events, cfilter, client.label_map,
                        on_ready=ready, resolve_zone=lambda exp: client.expect_zones([exp]))
    result['event_mask'] = listener.types
    result['kernel_filter'] = program.applied if program is not None else []
    hint = quiet_warning(result, table, lambda: read_netfilter_sysctl(
        client.netns, 'nf_conntrack_events'), client.netns)
    if hint and warn:
        warn(hint)
    return result


def quiet_warning(result, table, events_sysctl, netns):
    """The warning for a recording that saw nothing where the kernel's default
    (nf_conntrack_events=2) sends no DESTROY for entries created while nobody listened:
    the first experiment anyone makes. ``events_sysctl`` reads the value (only then)."""
    if result.get('count') or table != 'conntrack' or 'DESTROY' not in result['event_mask']:
        return None
    if events_sysctl() != 2:
        return None
    where = 'network namespace %r' % netns if netns else "this host's namespace"
    return ('no event was seen, and net.netfilter.nf_conntrack_events is 2 in %s: the '
            'kernel then sends no DESTROY event for an entry that was created while nobody '
            'listened (set it to 1 for entries created from then on)' % where)
