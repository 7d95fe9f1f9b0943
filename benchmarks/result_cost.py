#!/usr/bin/env python
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the time of a large conntrack_info listing goes, step by step, in one process.

The steps ansible-core runs on a module's result, called here as ansible-core calls them
(the installed ansible-core of this interpreter: run it with each venv's Python):

  module  dump+decode     the collection: ConntrackClient walk + Decoder (or fields)
  module  remove_values   AnsibleModule.exit_json's no_log scrub (walks every value)
  module  json encode     exit_json's json.dumps with the module-to-controller encoder
  ctrl    json decode     ActionBase._parse_returned_data: _filter_non_json_lines + loads
                          with the module-to-controller decoder

  sudo .venv/bin/python benchmarks/result_cost.py --netns NS [--fields orig.src,orig.dst,proto_state]
  sudo build/venv-2.21/bin/python benchmarks/result_cost.py --netns NS    (another ansible-core)

Reads the table of NS (fill it with tools/ctfill.py first).  Not a test.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'tools'))


def _collection():
    import ctfill  # noqa: F401  (puts the collection on sys.path)
    from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_client import ConntrackClient
    from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_info import gather_info
    return ConntrackClient, gather_info


def timed(fn, *args):
    gc.collect()
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--netns', required=True)
    ap.add_argument('--fields', default='')
    ap.add_argument('--limit', type=int, default=None, help='return at most this many entries')
    args = ap.parse_args()
    ConntrackClient, gather_info = _collection()
    from ansible.module_utils.common.parameters import remove_values
    from ansible.module_utils.common import json as mjson
    from ansible.module_utils.json_utils import _filter_non_json_lines   # _parse_returned_data's
    from ansible.release import __version__ as core_version
    encoder = mjson.get_module_encoder('legacy', mjson.Direction.MODULE_TO_CONTROLLER)
    decoder = mjson.get_module_decoder('legacy', mjson.Direction.MODULE_TO_CONTROLLER)
    params = {'gather': ['entries'], 'limit': args.limit}
    if args.fields:
        params['fields'] = args.fields.split(',')
    rows = []
    with ConntrackClient(args.netns) as client:
        result, t = timed(gather_info, client, {}, params)
    rows.append(('module', 'dump+decode (the collection)', t))
    n = len(result['entries'])
    scrubbed, t = timed(remove_values, result, set())
    rows.append(('module', 'remove_values (exit_json no_log scrub)', t))
    text, t = timed(lambda: '\n' + json.dumps(scrubbed, cls=encoder))
    rows.append(('module', 'json encode (exit_json)', t))
    data, t = timed(lambda: json.loads(_filter_non_json_lines(text, objects_only=True)[0],
                                       cls=decoder))
    rows.append(('controller', 'json decode (_parse_returned_data)', t))
    assert len(data['entries']) == n
    print('ansible-core %s, Python %s; %d entries%s, %.1f MB of JSON, loadavg %.2f' % (
        core_version,
        sys.version.split()[0], n, ' (fields: %s)' % args.fields if args.fields else '',
        len(text) / 1e6, os.getloadavg()[0]))
    for side, what, t in rows:
        print('  %-10s %-42s %7.2f s  %5.1f us/entry' % (side, what, t, t / max(n, 1) * 1e6))


if __name__ == '__main__':
    main()
