# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test oracle of the conntrack_counters target: each entry's counters as Debian's
`conntrack -L -o extended,id` prints them (never the collection's code).

    python ctr_oracle.py snapshot NETNS < {}      -> {"entries": [ENTRY]}
    python ctr_oracle.py check NETNS < JSON       -> {"ok", "failures", "matched", "nonzero"}

ENTRY: {id, family, proto, src (original source), counters: [[opk, oby], [rpk, rby]] or
null (the CLI prints no packets=/bytes= without accounting), line}.

check's JSON: {"before": snapshot, "result": a conntrack_counters result, "match": COND,
"zeroed": bool}:
- each entry of the result has, for its id, the counters `before` shows (the counters
  just before zeroing), and the CLI knows every id;
- a new listing now: with zeroed, an entry of `before` meeting COND has packets=0 bytes=0
  both ways (or still no counters); every other one kept its counters (the table is idle);
- matched: how many entries of `before` meet COND; nonzero: how many of them had a
  counter above zero.
COND (all must hold): {"family": "ipv4", "proto": "tcp", "orig_src": CIDR, "none": true}.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys


def listing(netns):
    proc = subprocess.run(['ip', 'netns', 'exec', netns, 'conntrack', '-L', '-o', 'extended,id'],
                          capture_output=True, text=True, check=True)
    return [parse(line) for line in proc.stdout.splitlines() if line.strip()]


def parse(line):
    words = line.split()
    pairs = [w.split('=', 1) for w in words if '=' in w]
    src = next(v for k, v in pairs if k == 'src')
    packets = [int(v) for k, v in pairs if k == 'packets']
    nbytes = [int(v) for k, v in pairs if k == 'bytes']
    # ICMP tuples print id= too: the conntrack id is the last one
    ct_id = [int(v) for k, v in pairs if k == 'id'][-1]
    counters = [[packets[0], nbytes[0]], [packets[1], nbytes[1]]] if len(packets) == 2 else None
    return {'id': ct_id, 'family': words[0], 'proto': words[2], 'src': src,
            'counters': counters, 'line': line}


def meets(ent, cond):
    for key, value in cond.items():
        if key == 'none':
            ok = False
        elif key == 'orig_src':
            ok = ipaddress.ip_address(ent['src']) in ipaddress.ip_network(value)
        else:
            ok = ent[key] == value
        if not ok:
            return False
    return True


def module_counters(ent):
    c = ent.get('counters')
    if c is None:
        return None
    return [[c['orig']['packets'], c['orig']['bytes']], [c['reply']['packets'], c['reply']['bytes']]]


def cmd_snapshot(netns, _doc):
    return {'ok': True, 'failures': [], 'entries': listing(netns)}


def cmd_check(netns, doc):
    failures = []
    before = {e['id']: e for e in doc['before']['entries']}
    for ent in (doc.get('result') or {}).get('entries', []):
        old = before.get(ent['id'])
        if old is None:
            failures.append('returned entry %s unknown to the CLI: %s' % (ent['id'], ent['orig']))
        elif module_counters(ent) != old['counters']:
            failures.append('returned counters %r, the CLI showed %r: %s'
                            % (module_counters(ent), old['counters'], old['line']))
    now = {e['id']: e for e in listing(netns)}
    matched = nonzero = 0
    for ct_id, old in before.items():
        ent = now.get(ct_id)
        if ent is None:
            failures.append('entry gone since the snapshot: %s' % old['line'])
            continue
        want = old['counters']
        if meets(old, doc['match']):
            matched += 1
            nonzero += bool(want and any(any(side) for side in want))
            if doc['zeroed'] and want is not None:
                want = [[0, 0], [0, 0]]
        if ent['counters'] != want:
            if want == [[0, 0], [0, 0]]:
                failures.append('not zeroed: %s' % ent['line'])
            else:
                failures.append('counters changed from %r: %s' % (want, ent['line']))
    return {'ok': not failures, 'failures': failures, 'matched': matched, 'nonzero': nonzero}


COMMANDS = {'snapshot': cmd_snapshot, 'check': cmd_check}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in COMMANDS:
        sys.exit('usage: ctr_oracle.py %s NETNS < JSON' % '|'.join(sorted(COMMANDS)))
    doc = json.load(sys.stdin)
    try:
        out = COMMANDS[sys.argv[1]](sys.argv[2], doc)
    except (subprocess.CalledProcessError, ValueError, IndexError, StopIteration) as exc:
        out = {'ok': False, 'failures': ['oracle error: %s' % exc]}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
