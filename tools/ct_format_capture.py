#!/usr/bin/env python
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Capture `conntrack -L -o OUTPUT` lines together with the entries the collection's
client decodes from the same table, for the conntrack_format unit tests.

  ct_format_capture.py --netns NS [--netns NS2 ...] --out FIXTURE.json [--labelmap]

For each namespace and output the table is read three times: the client, the command,
the client again.  Timeouts tick between the reads (every entry at its own phase), so
each case keeps both client reads and the clock before and after the command: every
line the command printed must be the rendering of an entry read just before or just
after it, with a timeout and a clock between the two reads (test_ct_format.py).  Run it as root with TZ=UTC (ktimestamp prints local time).  --labelmap records
that /etc/xtables/connlabel.conf exists (run it in a mount namespace that provides one,
e.g. unshare -m with an overlay on /etc).
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'build'))  # ansible_collections/ layout

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_client import ConntrackClient  # noqa: E402
from ansible_collections.netfilter.conntrack.tests.unit.plugins.module_utils.ct_format_check import (  # noqa: E402
    unexplained_lines)

OUTPUTS = ('default', 'extended,id', 'ktimestamp', 'timestamp')
# ct_format_doc_cli.json: --output xml --output xml,ktimestamp --output xml,id,timestamp
# --output save, and with --labelmap: xml,labels, xml,extended,id,ktimestamp,labels, save,labels


def capture(netns, output, labelmap, attempts=20):
    for _attempt in range(attempts):
        with ConntrackClient(netns) as client:
            before = client.entries().entries
        argv = ['ip', 'netns', 'exec', netns, 'conntrack', '-L']
        if output != 'default':
            argv += ['-o', output]
        now = int(time.time())
        lines = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()
        now_after = int(time.time())
        with ConntrackClient(netns) as client:
            after = client.entries().entries
        # xml: a header of two lines and a footer around one line per entry
        entry_lines = len(lines) - 3 if 'xml' in output.split(',') else len(lines)
        if sorted(e['id'] for e in before) == sorted(e['id'] for e in after) and \
                entry_lines == len(before):
            first = {e['id']: e for e in before}
            return {'netns': netns, 'output': output, 'now': [now, now_after],
                    'labelmap': labelmap, 'before': before,
                    'after': [e for e in after if e != first[e['id']]],
                    'lines': sorted(lines)}
    raise SystemExit('%s -o %s: the table kept changing' % (netns, output))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--netns', action='append', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--labelmap', action='store_true')
    ap.add_argument('--output', action='append', help='default: %s' % ', '.join(OUTPUTS))
    args = ap.parse_args()
    cases = []
    if os.path.exists(args.out):
        with open(args.out, encoding='utf-8') as fh:
            cases = json.load(fh)['cases']
    for ns in args.netns:
        for output in args.output or OUTPUTS:
            case = capture(ns, output, args.labelmap)
            bad = unexplained_lines(case)
            print('%s -o %s: %d lines, %s' % (ns, output, len(case['lines']),
                                              'all rendered' if not bad else
                                              '%d NOT RENDERED, e.g. %s' % (len(bad), bad[0])))
            cases.append(case)
    version = subprocess.run(['conntrack', '--version'], capture_output=True,
                             text=True, check=True).stdout.strip()
    with open(args.out, 'w', encoding='utf-8') as fh:
        fh.write(dump(version, cases))


def dump(version, cases):
    """JSON with one entry or line per text line, for readable diffs."""
    out = ['{"conntrack": %s, "tz": "UTC", "cases": [' % json.dumps(version)]
    for n, case in enumerate(cases):
        out.append(' {' + ', '.join('"%s": %s' % (k, json.dumps(case[k])) for k in
                                    ('netns', 'output', 'now', 'labelmap')) + ',')
        for key in ('before', 'after', 'lines'):
            items = [json.dumps(x, sort_keys=True) for x in case[key]]
            out.append('  "%s": [' % key + ('\n   ' + ',\n   '.join(items) + '\n  ' if items else '')
                       + ']' + (',' if key != 'lines' else ''))
        out.append(' }' + (',' if n + 1 < len(cases) else ''))
    out.append(']}')
    return '\n'.join(out) + '\n'


if __name__ == '__main__':
    main()
