# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Netlink sockets, opened in this process's network namespace or in another one
(entered through pyroute2's setns without moving this process), and their buffers."""

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


def open_socket(netns=None, protocol=F.NETLINK_NETFILTER):
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


def _open_socket_setns(pyroute2_netns, path, protocol):
    """Move this thread into the namespace, open the socket there, move back.

    The socket stays in the namespace it was opened in. flags=0: never create a missing
    namespace. The way back is verified: a module left in another namespace is an error
    that ends it. pyroute2's netns.create_socket (0.8+) does the same in a forked child,
    which costs 8 ms per socket against 0.07 ms here (measured), paid again whenever an
    abandoned dump makes the client replace its socket.
    """
    libc = _libc()
    home = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
    try:
        was = os.fstat(home)
        pyroute2_netns.setns(path, flags=0, libc=libc)
        sock = None
        try:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, protocol)
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
