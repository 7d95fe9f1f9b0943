#!/usr/bin/env python
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Does the kernel mark a conntrack dump interrupted (NLM_F_DUMP_INTR) under churn?

  dump_intr.py --dumps 30   (run inside the namespace: ip netns exec NS dump_intr.py)

Plain sockets and struct only (no collection code): dumps the conntrack table
(IPCTNL_MSG_CT_GET, NLM_F_DUMP) again and again with a small receive buffer, so that
every dump spans many kernel callbacks, while something else changes the table.
Prints JSON: dumps, messages, messages flagged NLM_F_DUMP_INTR, entries seen twice in
one dump (same original tuple and zone), and the smallest and largest dump.
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import sys

NETLINK_NETFILTER = 12
NLM_F_REQUEST, NLM_F_DUMP, NLM_F_DUMP_INTR = 0x1, 0x300, 0x10
NLMSG_ERROR, NLMSG_DONE = 2, 3
CT_GET = (1 << 8) | 1          # NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET
CTA_TUPLE_ORIG, CTA_ZONE = 1, 18


def entry_key(buf, off, end):
    """The original tuple and zone attributes' bytes: one entry (CTA_ID is a 32-bit hash,
    and two live entries can share it)."""
    pos = off + 20             # nlmsghdr (16) + nfgenmsg (4)
    parts = []
    while pos + 4 <= end:
        alen, atype = struct.unpack_from('=HH', buf, pos)
        if alen < 4:
            break
        if atype & 0x3FFF in (CTA_TUPLE_ORIG, CTA_ZONE):
            parts.append(bytes(buf[pos:pos + alen]))
        pos += (alen + 3) & ~3
    return b''.join(parts)


def one_dump(sock, seq):
    req = struct.pack('=IHHII', 20, CT_GET, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + bytes(4)
    sock.send(req)
    msgs = intr = dups = 0
    seen = set()
    while True:
        buf = sock.recv(1 << 16)
        off = 0
        while off + 16 <= len(buf):
            mlen, mtype, mflags, mseq, _pid = struct.unpack_from('=IHHII', buf, off)
            if mlen < 16:
                raise SystemExit('malformed reply')
            if mseq == seq:
                if mflags & NLM_F_DUMP_INTR:
                    intr += 1
                if mtype == NLMSG_DONE:
                    return msgs, intr, dups
                if mtype == NLMSG_ERROR:
                    err = struct.unpack_from('=i', buf, off + 16)[0]
                    raise SystemExit('dump failed: errno %d' % -err)
                msgs += 1
                key = entry_key(buf, off, off + mlen)
                if key in seen:
                    dups += 1
                seen.add(key)
            off += (mlen + 3) & ~3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dumps', type=int, default=30)
    args = ap.parse_args()
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
    sock.bind((0, 0))
    sizes, total, intr_total, dup_total, intr_dumps = [], 0, 0, 0, 0
    for seq in range(1, args.dumps + 1):
        msgs, intr, dups = one_dump(sock, seq)
        sizes.append(msgs)
        total += msgs
        intr_total += intr
        dup_total += dups
        intr_dumps += 1 if intr else 0
    print(json.dumps({'dumps': args.dumps, 'messages': total, 'intr_messages': intr_total,
                      'intr_dumps': intr_dumps, 'duplicates': dup_total,
                      'min_entries': min(sizes), 'max_entries': max(sizes)}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
