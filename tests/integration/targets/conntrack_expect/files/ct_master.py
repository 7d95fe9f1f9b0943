# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test fixture: create one ESTABLISHED TCP conntrack entry WITH a helper, in the
current network namespace (run it with `ip netns exec NS python3 ct_master.py ...`).

  ct_master.py SRC DST SPORT DPORT [--helper ftp] [--zone N] [--timeout S]

The conntrack CLI cannot give an entry a helper, and the kernel attaches expectations
only to connections with one. Plain struct and socket, nothing of the collection.
Exits 0 on success (or when the entry exists already), else prints the errno and exits 1.
"""

import argparse
import errno
import socket
import struct
import sys


def nla(atype, payload):
    n = 4 + len(payload)
    return struct.pack('=HH', n, atype) + payload + b'\0' * (-n & 3)


def nest(atype, *parts):
    return nla(atype | 0x8000, b''.join(parts))


def tuple_attr(atype, src, dst, sport, dport):
    fam = socket.AF_INET6 if ':' in src else socket.AF_INET
    v6 = fam == socket.AF_INET6
    ip = nest(1, nla(3 if v6 else 1, socket.inet_pton(fam, src)),
              nla(4 if v6 else 2, socket.inet_pton(fam, dst)))
    proto = nest(2, nla(1, bytes((6,))), nla(2, struct.pack('>H', sport)),
                 nla(3, struct.pack('>H', dport)))
    return fam, nest(atype, ip, proto)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('src')
    ap.add_argument('dst')
    ap.add_argument('sport', type=int)
    ap.add_argument('dport', type=int)
    ap.add_argument('--helper', default='ftp')
    ap.add_argument('--zone', type=int, default=0)
    ap.add_argument('--timeout', type=int, default=3600)
    a = ap.parse_args()
    fam, orig = tuple_attr(1, a.src, a.dst, a.sport, a.dport)
    _fam, reply = tuple_attr(2, a.dst, a.src, a.dport, a.sport)
    attrs = orig + reply
    attrs += nla(3, struct.pack('>I', 0x2 | 0x4 | 0x8))        # SEEN_REPLY ASSURED CONFIRMED
    attrs += nla(7, struct.pack('>I', a.timeout))               # CTA_TIMEOUT
    attrs += nest(4, nest(1, nla(1, bytes((3,)))))              # TCP ESTABLISHED
    if a.zone:
        attrs += nla(18, struct.pack('>H', a.zone))             # CTA_ZONE
    if a.helper:
        attrs += nest(5, nla(1, a.helper.encode() + b'\0'))     # CTA_HELP {CTA_HELP_NAME}
    body = struct.pack('=BBH', fam, 0, 0) + attrs
    # IPCTNL_MSG_CT_NEW on NFNL_SUBSYS_CTNETLINK, REQUEST|ACK|CREATE|EXCL
    msg = struct.pack('=IHHII', 16 + len(body), (1 << 8) | 0, 0x1 | 0x4 | 0x400 | 0x200, 1, 0)
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)
    sock.bind((0, 0))
    sock.send(msg + body)
    reply_msg = sock.recv(65536)
    err = -struct.unpack_from('=i', reply_msg, 16)[0]
    if err and err != errno.EEXIST:
        print('creating the master failed: %s' % errno.errorcode.get(err, err))
        return 1
    print('master %s:%d -> %s:%d helper=%s zone=%d: %s' % (
        a.src, a.sport, a.dst, a.dport, a.helper, a.zone, 'exists' if err else 'created'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
