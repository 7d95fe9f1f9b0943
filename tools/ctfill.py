#!/usr/bin/env python
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fill a network namespace's conntrack table with synthetic entries, fast.

Batched raw CT_NEW messages through the collection's own client (1000 per send).
Addresses are documentation ranges only; nothing is sent on any wire.

  ctfill.py --netns NS --count 250000 [--mix] [--seed 1]

--mix: mixed protocols (tcp/udp/icmp/sctp/gre), ~10% IPv6, zones, marks and DNAT/SNAT,
deterministic for a seed so that tables are identical between runs.  Without --mix: TCP
ESTABLISHED IPv4 entries from 10 sources 198.51.100.1..10 (10% each).
"""

import argparse
import os
import sys
import time

import atexit
import shutil
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def _import_path():
    """Make ansible_collections.netfilter.conntrack importable: the tree this file is in
    when it is one (ansible-test's copy, an installed collection), else a private tree
    with a symlink to this checkout."""
    coll = os.path.dirname(HERE)
    parts = coll.split(os.sep)
    if len(parts) > 3 and parts[-3] == 'ansible_collections':
        return os.sep.join(parts[:-3])
    top = tempfile.mkdtemp(prefix='ctfill-')
    atexit.register(shutil.rmtree, top, True)
    os.makedirs(os.path.join(top, 'ansible_collections', 'netfilter'))
    os.symlink(coll, os.path.join(top, 'ansible_collections', 'netfilter', 'conntrack'))
    return top


sys.path.insert(0, _import_path())

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C  # noqa: E402
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_client import ConntrackClient  # noqa: E402


def tcp_plain(i):
    """10 sources x many ports; 10% of the table per source address."""
    src = '198.51.100.%d' % (i % 10 + 1)
    sport = 1024 + (i // 10) % 60000
    dst = '203.0.113.%d' % ((i // 600000) % 250 + 1)
    dport = 80 + (i // 6000000)
    orig = {'src': src, 'dst': dst, 'sport': sport, 'dport': dport}
    return {'family': C.AF_INET, 'proto': 6, 'orig': orig,
            'reply': {'src': dst, 'dst': src, 'sport': dport, 'dport': sport},
            'timeout': 3600, 'status': C.IPS_SEEN_REPLY | C.IPS_ASSURED, 'proto_state': 3}


def mixed(i):
    """Mixed protocols, families, zones, marks and NAT; deterministic in i."""
    k = i % 20
    six = k == 0 or k == 10
    fam = C.AF_INET6 if six else C.AF_INET
    host = i // 20
    if six:
        src = '2001:db8:51::%x' % (host % 4000 + 1)
        dst = '2001:db8:113::%x' % (i % 7 + 1)
    else:
        src = '198.51.%d.%d' % (100 + host % 4, (host // 4) % 250 + 1)
        dst = '203.0.113.%d' % (i % 7 + 1)
    sport = 1024 + (host % 60000)
    proto = (6, 6, 6, 6, 6, 6, 17, 17, 17, 1, 6, 6, 6, 17, 17, 132, 6, 47, 17, 6)[k]
    spec = {'family': fam, 'proto': proto, 'timeout': 1800 + i % 1000,
            'mark': (i % 4) * 16, 'zone': 7 if i % 25 == 0 else 0}
    if proto == 1:
        orig = {'src': src, 'dst': dst, 'icmp_type': 8, 'icmp_code': 0, 'icmp_id': host % 65535 + 1}
        reply = {'src': dst, 'dst': src, 'icmp_type': 0, 'icmp_code': 0, 'icmp_id': orig['icmp_id']}
    elif proto == 47:
        orig = {'src': src, 'dst': dst, 'src_key': host % 65535, 'dst_key': 1}
        reply = {'src': dst, 'dst': src, 'src_key': 1, 'dst_key': host % 65535}
    else:
        dport = (80, 443, 53, 5353, 8080)[i % 5]
        orig = {'src': src, 'dst': dst, 'sport': sport, 'dport': dport}
        reply = {'src': dst, 'dst': src, 'sport': dport, 'dport': sport}
        if i % 3 == 0:  # DNAT to one of two backends
            backend = ('2001:db8:200::11', '2001:db8:200::12') if six else ('192.0.2.11', '192.0.2.12')
            reply['src'] = backend[i % 2]
    if proto == 6:
        spec['proto_state'] = 3
        spec['status'] = C.IPS_SEEN_REPLY | C.IPS_ASSURED
    spec['orig'], spec['reply'] = orig, reply
    return spec


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--netns', required=True, action='append',
                    help='namespace to fill (repeat to fill several with the same entries)')
    ap.add_argument('--count', type=int, default=10000)
    ap.add_argument('--start', type=int, default=0, help='first index (to grow a table)')
    ap.add_argument('--mix', action='store_true')
    args = ap.parse_args()
    make = mixed if args.mix else tcp_plain
    t0 = time.perf_counter()
    res = []
    for netns in args.netns:
        with ConntrackClient(netns) as client:
            res += client.create_many(make(i) for i in range(args.start, args.start + args.count))
    bad = [r for r in res if r]
    elapsed = time.perf_counter() - t0
    print('created %d of %d entries in %.2f s (%.0f/s)%s' % (
        len(res) - len(bad), len(res), elapsed, len(res) / elapsed if elapsed else 0,
        ', errors: %s' % sorted(set(bad)) if bad else ''))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
