# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test oracle: `conntrack -L expect` of a namespace (IPv4 and IPv6), as JSON.

  expect_oracle.py NETNS

Runs the Debian conntrack CLI (never the collection's code). It lists one family at a
time (IPv4 without -f), so both are asked. Prints {"count": N, "expectations": [...]};
each has family, timeout, proto (number), tuple, mask, master ({src, dst, sport, dport}),
flags (list), class, helper and line (the text). A line such as
  296 proto=6 src=A dst=B sport=0 dport=30528 mask-src=M mask-dst=M sport=0 dport=65535
      master-src=A master-dst=B sport=42842 dport=21 PERMANENT class=0 helper=ftp
"""

import json
import subprocess
import sys


def parse(line, family):
    tok = line.split()
    exp = {'family': family, 'timeout': int(tok[0]), 'proto': None, 'tuple': {}, 'mask': {},
           'master': {}, 'flags': [], 'class': None, 'helper': None, 'line': line}
    section = 'tuple'
    for t in tok[1:]:
        key, sep, val = t.partition('=')
        if not sep:
            exp['flags'].extend(f for f in t.split(',') if f)
            continue
        if key == 'proto':
            exp['proto'] = int(val)
        elif key in ('src', 'dst'):
            section = 'tuple'
            exp['tuple'][key] = val
        elif key in ('mask-src', 'mask-dst'):
            section = 'mask'
            exp['mask'][key[5:]] = val
        elif key in ('master-src', 'master-dst'):
            section = 'master'
            exp['master'][key[7:]] = val
        elif key in ('sport', 'dport'):
            exp[section][key] = int(val)
        elif key == 'class':
            exp['class'] = int(val)
        else:
            exp[key] = val
    return exp


def main():
    netns = sys.argv[1]
    out = []
    for family, flag in (('ipv4', 'ipv4'), ('ipv6', 'ipv6')):
        res = subprocess.run(['ip', 'netns', 'exec', netns, 'conntrack', '-L', 'expect',
                              '-f', flag], capture_output=True, text=True, check=False)
        if res.returncode != 0:
            sys.stderr.write(res.stderr)
            return 1
        out.extend(parse(line, family) for line in res.stdout.splitlines() if line.strip())
    print(json.dumps({'count': len(out), 'expectations': out}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
