#!/usr/bin/env python
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Record the conntrack event messages the kernel sends, for the socket-filter unit tests.

  ct_events_capture.py --out FIXTURE.json

In a namespace of its own (nct_evcap, removed at the end) it subscribes to every
conntrack event group with no filter, creates, updates and deletes entries of both
families and several protocols (NAT, zones, marks, labels-free) with `conntrack`, and
writes every message received as hex.
"""

import argparse
import json
import os
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'build'))  # ansible_collections/ layout

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_events import EventListener  # noqa: E402

NS = 'nct_evcap'
ENTRIES = [
    '-p tcp -s 203.0.113.5 -d 192.0.2.10 --sport 40000 --dport 80 --state ESTABLISHED -u ASSURED',
    '-p udp -s 203.0.113.17 -d 192.0.2.10 --sport 5353 --dport 53',
    '-p udp -s 203.0.113.3 -d 192.0.2.11 --sport 1000 --dport 53 -r 198.51.100.7 -q 203.0.113.3 '
    '--reply-port-src 53 --reply-port-dst 1000',
    '-p icmp -s 203.0.113.9 -d 192.0.2.10 --icmp-type 8 --icmp-code 0 --icmp-id 77',
    '-p sctp -s 203.0.113.6 -d 192.0.2.12 --sport 9 --dport 10 --state ESTABLISHED',
    '-p tcp -s 2001:db8::5 -d 2001:db8:1::10 --sport 40001 --dport 443 --state SYN_SENT',
    '-p udp -s 2001:db8::17 -d 2001:db8:1::10 --sport 5000 --dport 53 --zone 7',
    '-p icmpv6 -s 2001:db8::9 -d 2001:db8:1::10 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 5',
    '-p udp -s 192.0.2.99 -d 203.0.113.1 --sport 7 --dport 8 -m 42',
]


def ct(*args):
    subprocess.run(['ip', 'netns', 'exec', NS, 'conntrack'] + list(args), check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    args = ap.parse_args()
    subprocess.run(['ip', 'netns', 'add', NS], check=True)
    try:
        out = []
        with EventListener(NS) as lst:
            for spec in ENTRIES:
                argv = spec.split()
                ct('-I', *(argv + ['-t', '100']))
                ct('-U', *(argv[:argv.index('-s') + 4] + ['-t', '200']))
                ct('-D', *argv[:argv.index('-s') + 4])
            lst.unsubscribe()
            lst.sock.setblocking(False)
            while True:
                try:
                    n = lst.sock.recv_into(lst._buf)
                except (BlockingIOError, socket.timeout):
                    break
                out.append(bytes(lst._buf[:n]).hex())
        with open(args.out, 'w', encoding='ascii') as fh:
            json.dump({'byteorder': sys.byteorder, 'messages': out}, fh, indent=0)
            fh.write('\n')
        print('%d messages' % len(out))
    finally:
        subprocess.run(['ip', 'netns', 'del', NS], check=False)


if __name__ == '__main__':
    os.environ.setdefault('LC_ALL', 'C')
    main()
