#!/usr/bin/env python
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The test oracle: `conntrack -L -o extended,id` of a namespace, as JSON.

  ctoracle.py NETNS [conntrack -L options ...]

Runs the Debian conntrack CLI (never the collection's code) and prints
{"count": N, "entries": [...]}; each entry has family, proto, timeout, state, orig and
reply (src, dst, sport, dport, type, code, id, srckey, dstkey, packets, bytes: null
where the protocol has none), flags ([ASSURED] ...), mark, zone, use, id, and two fields derived from the
tuples alone (the CLI's own NAT matching is unreliable for IPv6): dnat (the address the
connection was DNATed to: reply src when it differs from orig dst, else null) and snat
(reply dst when it differs from orig src, else null), plus key (family, proto, original
tuple and zone as one string, to compare tables across namespaces), id_key (key and the
kernel id: one entry, to compare listings of one namespace over time) and line (the text).
"""

from __future__ import annotations

import json
import subprocess
import sys

TUPLE_KEYS = frozenset(('src', 'dst', 'sport', 'dport', 'type', 'code', 'id', 'srckey',
                        'dstkey', 'packets', 'bytes'))
INT_KEYS = frozenset(('sport', 'dport', 'type', 'code', 'id', 'packets', 'bytes', 'mark',
                      'zone', 'use', 'timeout'))


def value(key, raw):
    if key in INT_KEYS:
        try:
            return int(raw, 0)
        except ValueError:
            return raw
    return raw


def parse(line):
    tok = line.split()
    entry = {'family': tok[0], 'proto': tok[2], 'timeout': int(tok[4]), 'state': None,
             'orig': {}, 'reply': {}, 'flags': [], 'mark': 0, 'zone': 0, 'line': line}
    side = None  # None: header, 'orig', 'reply', then 'top'
    for t in tok[5:]:
        if t.startswith('[') and t.endswith(']'):
            entry['flags'].append(t[1:-1])
            continue
        key, sep, raw = t.partition('=')
        if not sep:
            if side is None:
                entry['state'] = t
            continue
        if key == 'src' and side in (None, 'orig'):
            side = 'orig' if side is None else 'reply'
        elif side == 'reply' and key not in TUPLE_KEYS:
            side = 'top'
        if side in ('orig', 'reply') and key in TUPLE_KEYS:
            entry[side][key] = value(key, raw)
        else:
            entry[key] = value(key, raw)
    orig, reply = entry['orig'], entry['reply']
    for side in (orig, reply):  # every key present, so that templates can test them
        for key in TUPLE_KEYS:
            side.setdefault(key, None)
    entry['dnat'] = reply.get('src') if reply.get('src') != orig.get('dst') else None
    entry['snat'] = reply.get('dst') if reply.get('dst') != orig.get('src') else None
    ident = ' '.join('%s=%s' % (k, orig[k]) for k in ('src', 'dst', 'sport', 'dport', 'type',
                                                      'code', 'id', 'srckey', 'dstkey')
                     if orig[k] is not None and k not in ('packets', 'bytes'))
    entry['key'] = '%s %s %s zone=%s' % (entry['family'], entry['proto'], ident, entry['zone'])
    # the kernel's ids are 32-bit hashes (a collision or two per 100,000 entries)
    entry['id_key'] = '%s id=%s' % (entry['key'], entry.get('id'))
    return entry


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    cmd = ['ip', 'netns', 'exec', argv[1], 'conntrack', '-L', '-o', 'extended,id'] + argv[2:]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
                          universal_newlines=True)
    if proc.returncode != 0:
        sys.stderr.write('%s: exit %d: %s' % (' '.join(cmd), proc.returncode, proc.stderr))
        return 1
    entries = [parse(line) for line in proc.stdout.splitlines() if line.strip()]
    json.dump({'count': len(entries), 'entries': entries}, sys.stdout)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
