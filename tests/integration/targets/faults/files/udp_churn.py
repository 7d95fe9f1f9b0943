#!/usr/bin/env python
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""New UDP flows, round-robin over destinations, until told to stop (runs in PREFIX-cli).

  udp_churn.py --out DIR --to ADDR PORT [--to ADDR PORT ...] [--interval 0.005]
               [--ready-after 100] [--max-seconds 120]

Each flow is a new socket (a new source port) sending one datagram: one new conntrack
entry in the router per flow, answered or not. Writes DIR/ready once --ready-after flows
exist, DIR/progress (flows so far) every 50 flows, and when DIR/stop appears DIR/done:
{"flows": N, "keys": {ADDR: [key, ...]}} with one key per flow in the oracle's format
("ipv4 udp src=A dst=B sport=P dport=Q zone=0").
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time


def write(path, text):
    with open(path + '.tmp', 'w', encoding='ascii') as fh:
        fh.write(text)
    os.rename(path + '.tmp', path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--to', nargs=2, action='append', required=True, metavar=('ADDR', 'PORT'))
    ap.add_argument('--interval', type=float, default=0.005)
    ap.add_argument('--ready-after', type=int, default=100)
    ap.add_argument('--max-seconds', type=float, default=120)
    args = ap.parse_args()
    keys = {addr: [] for addr, _port in args.to}
    flows = 0
    stop = os.path.join(args.out, 'stop')
    deadline = time.monotonic() + args.max_seconds
    while not os.path.exists(stop) and time.monotonic() < deadline:
        addr, port = args.to[flows % len(args.to)]
        fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
        with socket.socket(fam, socket.SOCK_DGRAM) as sock:
            sock.connect((addr, int(port)))
            sock.send(b'churn\n')
            src, sport = sock.getsockname()[:2]
        keys[addr].append('%s udp src=%s dst=%s sport=%d dport=%d zone=0' % (
            'ipv6' if fam == socket.AF_INET6 else 'ipv4', src, addr, sport, int(port)))
        flows += 1
        if flows == args.ready_after:
            write(os.path.join(args.out, 'ready'), 'ready\n')
        if flows % 50 == 0:
            write(os.path.join(args.out, 'progress'), '%d\n' % flows)
        time.sleep(args.interval)
    write(os.path.join(args.out, 'done'), json.dumps({'flows': flows, 'keys': keys}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
