# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Netlink framing: the message header, the netlink constants, and the one loop that
walks the messages of a receive buffer.

Every reader of netlink buffers (dumps, requests, batches, events, the receiving child,
socket diagnostics) walks them with ``messages``; a message whose length is below a
header or runs past the buffer raises ConntrackError there, and nowhere else.
"""

from __future__ import annotations

import struct

from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

NETLINK_NETFILTER = 12
NETLINK_SOCK_DIAG = 4

# nlmsghdr flags and types (linux/netlink.h)
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP_INTR = 0x10
NLM_F_ROOT = 0x100
NLM_F_MATCH = 0x200
NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLMSG_ERROR = 2
NLMSG_DONE = 3

# socket options
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NETLINK_DROP_MEMBERSHIP = 2
NETLINK_NO_ENOBUFS = 5
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NETLINK_GET_STRICT_CHK = 12
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33

# struct nlmsghdr: length, type, flags, sequence number, port id
NLMSG = struct.Struct('=IHHII')
NLMSG_HDRLEN = NLMSG.size
# struct nfgenmsg (family, version, res_id: __be16), after the header of nfnetlink messages
NFGEN = struct.Struct('>BBH')
_ERRNO = struct.Struct('=i')


def messages(buf, length, what='netlink'):
    """Yield (offset, length, type, flags, seq) of each message in buf[:length].

    A header announcing less than a header or more than the buffer holds raises
    ConntrackError('<what>: malformed netlink message ...'); a tail shorter than a
    header is left alone (nothing follows it).
    """
    unpack = NLMSG.unpack_from
    off = 0
    while off + 16 <= length:
        mlen, mtype, mflags, mseq, _pid = unpack(buf, off)
        if mlen < 16 or off + mlen > length:
            raise ConntrackError('%s: malformed netlink message header at offset %d'
                                 % (what, off))
        yield off, mlen, mtype, mflags, mseq
        off += (mlen + 3) & ~3


def iter_messages(buf, length):
    """(offset, length, type, flags) of each message in buf[:length] (see messages)."""
    for off, mlen, mtype, mflags, _seq in messages(buf, length):
        yield off, mlen, mtype, mflags


def error_code(buf, off):
    """The errno (positive; 0 for an ACK) of the NLMSG_ERROR message at ``off``."""
    return -_ERRNO.unpack_from(buf, off + 16)[0]


def header(mlen, mtype, flags, seq, portid=0):
    """A netlink message header."""
    return NLMSG.pack(mlen, mtype, flags, seq, portid)


def nlmsg(subsys, msg, flags, seq, family=0, payload=b'', version=0, res_id=0):
    """A complete nfnetlink message: header, nfgenmsg, payload."""
    body = NFGEN.pack(family, version, res_id) + payload
    return NLMSG.pack(16 + len(body), (subsys << 8) | msg, flags, seq, 0) + body
