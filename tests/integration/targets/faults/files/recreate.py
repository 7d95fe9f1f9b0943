#!/usr/bin/env python
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Another writer for the race tests: delete and re-create entries, over and over.

  recreate.py --netns NS --tools DIR --slice START:STOP:STEP --out DIR [--seconds 60]

Takes the entries tools/ctfill.py (in --tools) creates for the indexes of the slice (its
TCP entries: index i has source 198.51.100.(i % 10 + 1)), and until
DIR/stop exists deletes each one and creates it again (a new conntrack id for the same
tuple), round-robin. A flush that dumped the old entry then finds its id gone: the
delete answers ENOENT and the flush counts the entry as vanished. Writes DIR/ready once
running (DIR/ready-START_STOP_STEP) and DIR/done-START_STOP_STEP (JSON: cycles, errors)
at the end. Run with PYTHONPATH pointing at the directory that holds ansible_collections/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--netns', required=True)
    ap.add_argument('--tools', required=True)
    ap.add_argument('--slice', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--seconds', type=float, default=60)
    args = ap.parse_args()
    sys.path.insert(0, args.tools)
    # pylint: disable=import-outside-toplevel
    from ctfill import tcp_plain
    from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_client import (
        ConntrackClient)
    from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import (
        ConntrackError)
    start, stop_, step = (int(x) for x in args.slice.split(':'))
    specs = [tcp_plain(i) for i in range(start, stop_, step)]
    cycles = errors = 0
    stop = os.path.join(args.out, 'stop')
    deadline = time.monotonic() + args.seconds
    with ConntrackClient(args.netns) as client:
        tag = args.slice.replace(':', '_')
        with open(os.path.join(args.out, 'ready-' + tag), 'w', encoding='ascii') as fh:
            fh.write('ready\n')
        while not os.path.exists(stop) and time.monotonic() < deadline:
            for spec in specs:
                try:
                    client.delete(spec['family'], spec['proto'], spec['orig'])
                    client.create(spec)
                    cycles += 1
                except ConntrackError:
                    errors += 1
    with open(os.path.join(args.out, 'done-' + tag), 'w', encoding='ascii') as fh:
        json.dump({'cycles': cycles, 'errors': errors}, fh)
    return 0


if __name__ == '__main__':
    sys.exit(main())
