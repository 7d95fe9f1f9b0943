#!/usr/bin/env python
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Background traffic for the flush-under-load test (runs inside PREFIX-cli).

  ctload.py --out DIR [--tcp ADDR PORT]... [--udp ADDR PORT]... [--expect NAME]
            [--ready-after N] [--interval S] [--max-flows N] [--max-seconds S]

Opens new flows round-robin over the given destinations until DIR/stop exists (or a
limit is reached): each TCP flow connects, exchanges one line and stays open; each UDP
flow is a new socket that sends one datagram and reads the answer. Every answer must
start with --expect (the backend the DNAT is supposed to reach). Writes DIR/ready once
N flows exist, DIR/progress (flow count) as it goes, and at the stop DIR/done: JSON
{"flows": N, "keys": [...]}, one key per flow in the oracle's format
("ipv4 tcp src=A dst=B sport=P dport=Q zone=0"), or {"error": "..."}. The TCP flows
stay open until DIR/release exists (or --max-seconds passed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import sys
import time

TIMEOUT = 5.0


def write(path, text):
    tmp = path + '.tmp'
    with open(tmp, 'w') as fh:
        fh.write(text)
    os.rename(tmp, path)


def flow(kind, addr, port, expect, held):
    fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_STREAM if kind == 'tcp' else socket.SOCK_DGRAM)
    sock.settimeout(TIMEOUT)
    if kind == 'tcp':
        sock.connect((addr, port))
        sock.sendall(b'load\n')
        answer = sock.recv(100)
        held.append(sock)
    else:
        sock.connect((addr, port))
        answer = b''
        for _attempt in range(3):
            sock.send(b'load\n')
            try:
                answer = sock.recv(100)
                break
            except socket.timeout:
                continue
    src, sport = sock.getsockname()[:2]
    if kind == 'udp':
        sock.close()
    if expect and not answer.startswith(expect.encode() + b' '):
        raise RuntimeError('%s [%s]:%d answered %r, expected %s' % (kind, addr, port, answer, expect))
    return '%s %s src=%s dst=%s sport=%d dport=%d zone=0' % (
        'ipv6' if fam == socket.AF_INET6 else 'ipv4', kind, src, addr, sport, port)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--tcp', nargs=2, action='append', default=[], metavar=('ADDR', 'PORT'))
    ap.add_argument('--udp', nargs=2, action='append', default=[], metavar=('ADDR', 'PORT'))
    ap.add_argument('--expect', default='')
    ap.add_argument('--ready-after', type=int, default=20)
    ap.add_argument('--interval', type=float, default=0.01)
    ap.add_argument('--max-flows', type=int, default=3000)
    ap.add_argument('--max-seconds', type=float, default=120)
    args = ap.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    dests = [('tcp', a, int(p)) for a, p in args.tcp] + [('udp', a, int(p)) for a, p in args.udp]
    stop = os.path.join(args.out, 'stop')
    held, keys = [], []
    deadline = time.time() + args.max_seconds
    result = {}
    try:
        while not os.path.exists(stop) and len(keys) < args.max_flows and time.time() < deadline:
            kind, addr, port = dests[len(keys) % len(dests)]
            keys.append(flow(kind, addr, port, args.expect, held))
            if len(keys) == args.ready_after:
                write(os.path.join(args.out, 'ready'), 'ready\n')
            if len(keys) % 10 == 0:
                write(os.path.join(args.out, 'progress'), '%d\n' % len(keys))
            time.sleep(args.interval)
        result = {'flows': len(keys), 'keys': keys, 'stopped': os.path.exists(stop)}
    except Exception as exc:  # reported to the test through the done file
        result = {'error': '%s: %s' % (type(exc).__name__, exc), 'flows': len(keys)}
    write(os.path.join(args.out, 'done'), json.dumps(result))
    # keep the TCP flows open until DIR/release exists, so that their entries stay
    while not os.path.exists(os.path.join(args.out, 'release')) and time.time() < deadline:
        time.sleep(0.05)
    for sock in held:
        sock.close()
    return 1 if 'error' in result else 0


if __name__ == '__main__':
    sys.exit(main())
