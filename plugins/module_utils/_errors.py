# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""The one error type of the collection, and errno -> message translation."""

from __future__ import annotations

import errno
import os


class ConntrackError(Exception):
    """Any failure the collection can foresee: bad input, kernel refusal, bad netlink data."""

    def __init__(self, msg, errno_num=None, option=None):
        super().__init__(msg)
        self.msg = msg
        self.errno = errno_num
        self.option = option


_HINTS = {
    errno.EPERM: 'operation not permitted: needs root or CAP_NET_ADMIN (use become: true)',
    errno.EACCES: 'permission denied: needs root or CAP_NET_ADMIN (use become: true)',
    errno.ENOENT: 'no such entry',
    errno.EEXIST: 'the entry already exists',
    errno.ENOMEM: 'out of memory, or the conntrack table is full (nf_conntrack_max reached)',
    errno.ENOSPC: 'no space: labels need a ct label rule in this namespace (connlabels)',
    errno.EOPNOTSUPP: 'not supported by the running kernel',
    errno.EINVAL: 'invalid argument (the kernel refused the request)',
    errno.EBUSY: 'busy (an explicit status must include CONFIRMED)',
    errno.ENOBUFS: 'netlink buffer overrun: events or replies were lost',
    errno.EPROTONOSUPPORT: 'protocol not supported (is nf_conntrack_netlink available?)',
}


# errno.errorcode gives ENOTSUP for 95 on Linux; the kernel (and its docs) say EOPNOTSUPP.
_NAMES = {errno.EOPNOTSUPP: 'EOPNOTSUPP'}


def errno_message(num, what):
    """Describe a kernel errno for operation ``what``."""
    name = _NAMES.get(num) or errno.errorcode.get(num, 'E%d' % num)
    hint = _HINTS.get(num) or os.strerror(num)
    return '%s failed: %s (%s)' % (what, hint, name)


def kernel_error(num, what, netns=None):
    msg = errno_message(num, what)
    if netns:
        msg += ' in network namespace %r' % netns
    return ConntrackError(msg, errno_num=num)
