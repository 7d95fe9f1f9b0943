# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Netlink sockets, opened in this process's network namespace or in another one
(entered with setns(2) without moving this process), and their buffers."""

from __future__ import annotations

import ctypes
import os
import socket

from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import (
    ConntrackError, kernel_error)
from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink import framing as F


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


def open_socket(netns=None, protocol=F.NETLINK_NETFILTER, opener=None):
    """A netlink socket (NETLINK_NETFILTER unless told) in ``netns`` (None: this
    process's namespace). ``opener`` opens something else there instead (a file of
    /proc/sys/net, which shows the namespace of the thread that opens it)."""
    if netns is not None:
        path = netns_path(netns)
        if not os.path.exists(path):
            raise ConntrackError('netns: network namespace %r not found (%s does not exist)'
                                 % (netns, path), option='netns')
        setns = _kernel_setns()
        if setns is None:
            try:
                from pyroute2 import netns as pyroute2_netns  # only where libc lacks setns
            except ImportError as exc:
                raise ConntrackError('netns: the pyroute2 Python library is required to enter a '
                                     'network namespace: %s' % exc, option='netns')
            libc = _libc()

            def setns(fd):
                pyroute2_netns.setns(fd, flags=0, libc=libc)
        try:
            return _open_socket_setns(setns, path, protocol, opener)
        except ConntrackError:
            raise
        except OSError as exc:
            raise ConntrackError('netns: cannot enter network namespace %r: %s'
                                 % (netns, exc), errno_num=exc.errno, option='netns')
        except Exception as exc:  # pyroute2 wraps child failures in its own types
            raise ConntrackError('netns: cannot enter network namespace %r: %s'
                                 % (netns, exc), option='netns')
    if opener is not None:
        return opener()
    try:
        return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, protocol)
    except OSError as exc:
        raise kernel_error(exc.errno, 'opening a netlink socket (protocol %d)' % protocol)


def _open_socket_setns(setns, path, protocol, opener=None):
    """Move this thread into the namespace, open the socket there, move back.

    The socket stays in the namespace it was opened in. The path is opened, never
    created (a missing namespace is an error). The way back is verified: a module left in
    another namespace is an error that ends it. pyroute2's netns.create_socket (0.8+) does
    the same in a forked child, which costs 8 ms per socket against 0.07 ms here
    (measured), paid again whenever an abandoned dump makes the client replace its socket.
    ``opener`` opens something else there instead of the socket.
    """
    home = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
    try:
        was = os.fstat(home)
        target = os.open(path, os.O_RDONLY)
        try:
            setns(target)
        finally:
            os.close(target)
        sock = None
        try:
            sock = opener() if opener else socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                                         protocol)
        finally:
            try:
                setns(home)
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


CLONE_NEWNET = 0x40000000


def _kernel_setns():
    """setns(fd) into a network namespace without pyroute2 (whose import costs more than
    the rest of a small task: 0.1-0.3 s): os.setns (Python 3.12+) or libc's setns(2)
    through ctypes; None when neither is there."""
    if hasattr(os, 'setns'):
        return lambda fd: os.setns(fd, CLONE_NEWNET)
    libc = _libc()
    call = getattr(libc, 'setns', None) if libc is not None else None
    if call is None:
        return None

    def setns(fd):
        if call(fd, CLONE_NEWNET) != 0:
            num = ctypes.get_errno()
            raise OSError(num, os.strerror(num))
    return setns


def _libc():
    """glibc by its soname; None lets pyroute2 search (musl and other systems)."""
    try:
        return ctypes.CDLL('libc.so.6', use_errno=True)
    except OSError:
        return None


def set_rcvbuf(sock, size):
    """Receive buffer of ``size`` bytes: beyond rmem_max when allowed (SO_RCVBUFFORCE)."""
    _set_buf(sock, socket.SO_RCVBUF, F.SO_RCVBUFFORCE, size)


def set_sndbuf(sock, size):
    """Send buffer of ``size`` bytes: beyond wmem_max when allowed (SO_SNDBUFFORCE)."""
    _set_buf(sock, socket.SO_SNDBUF, F.SO_SNDBUFFORCE, size)


def _set_buf(sock, opt, force, size):
    try:
        sock.setsockopt(socket.SOL_SOCKET, force, size)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, opt, size)


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
