#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The dedicated fuzz run: the hypothesis properties of the unit stage, many more cases.

  python tests/fuzz/run.py --examples 100000 [--seed N] [--only NAME ...] [--no-shrink]

The properties live in tests/unit/plugins/module_utils/fuzz_props.py (the unit stage runs
them with ~1,500 cases, derandomized): the netlink decoder (Decoder.values/entry,
decode_expect, iter_messages, find_attr) on truncated, oversized, damaged and random
messages; its layout cache against fresh decoders; encoder -> decoder round trips of
random valid entries (_ct_encode.entry_attrs and the kernel's own layout, plus the delete
key built from decoded values); the filter compiler on random option dicts (only
ConntrackError; kernel attributes well formed; an entry dict judged as its dump values);
and the filter plugins' module_utils on junk entries.  --examples is shared out by weight.

Not part of the default test run (100,000 cases take tens of minutes).  Prints one line
per property (cases, seconds, result) and a total; exit status 1 on any finding, with
the shrunk failing input above it.  Needs hypothesis (requirements-test.txt).
"""

import argparse
import os
import random
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def collection_path():
    """A directory with ansible_collections/netfilter/conntrack -> this checkout."""
    parts = ROOT.split(os.sep)
    if parts[-3:] == ['ansible_collections', 'netfilter', 'conntrack']:
        return os.sep.join(parts[:-3])
    base = tempfile.mkdtemp(prefix='nct-fuzz-')
    os.makedirs(os.path.join(base, 'ansible_collections', 'netfilter'))
    os.symlink(ROOT, os.path.join(base, 'ansible_collections', 'netfilter', 'conntrack'))
    return base


def _counting(check, calls):
    def counted(drawn):
        calls[0] += 1
        check(drawn)
    return counted


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--examples', type=int, default=100000, help='total cases (default 100000)')
    ap.add_argument('--seed', type=int, help='random seed (default: a random one, printed)')
    ap.add_argument('--only', nargs='*', help='property names (default: all)')
    ap.add_argument('--no-shrink', action='store_true',
                    help='report the first failing input as found (faster)')
    args = ap.parse_args()
    sys.path.insert(0, collection_path())
    # pylint: disable=import-outside-toplevel
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from ansible_collections.netfilter.conntrack.tests.unit.plugins.module_utils import (
        fuzz_props as F)

    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    shares = F.share(args.examples)
    names = args.only or sorted(F.PROPERTIES)
    print('fuzz: seed %d, %d cases over %s'
          % (seed, sum(shares[n] for n in names), ', '.join(names)), flush=True)
    total_cases = total_failed = 0
    t_all = time.perf_counter()
    for name in names:
        strategy, check, _weight = F.PROPERTIES[name]
        calls = [0]
        counted = _counting(check, calls)
        phases = [Phase.explicit, Phase.generate] + ([] if args.no_shrink else [Phase.shrink])
        test = settings(max_examples=shares[name], deadline=None, database=None,
                        phases=phases, print_blob=True,
                        suppress_health_check=list(HealthCheck))(given(strategy)(counted))
        test = hseed(seed)(test)
        t0 = time.perf_counter()
        try:
            test()
            verdict = 'ok'
        except Exception:  # pylint: disable=broad-except
            traceback.print_exc()
            verdict = 'FAILED'
            total_failed += 1
        elapsed = time.perf_counter() - t0
        total_cases += calls[0]
        print('fuzz: %-18s %7d cases %8.1f s  %s' % (name, calls[0], elapsed, verdict),
              flush=True)
    print('fuzz: %d cases in %.1f s, seed %d: %d passed, %d failed'
          % (total_cases, time.perf_counter() - t_all, seed, len(names) - total_failed,
             total_failed))
    return 1 if total_failed else 0


if __name__ == '__main__':
    sys.exit(main())
