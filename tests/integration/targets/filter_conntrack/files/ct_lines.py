#!/usr/bin/env python
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compare the lines of `conntrack -L` with conntrack_format's, and parse shell recipes.

  ct_lines.py compare   stdin {"cli": [...], "ours": [...], "cli_after": [...],
                               "seconds": N}
  ct_lines.py counts    stdin {"text": "awk output: VALUE COUNT per line"}
  ct_lines.py uniq      stdin {"text": "sort | uniq -c output: COUNT VALUE per line"}

compare: the lines must be equal character for character, except the two numbers that
move with the clock: the timeout (4th/5th column) and delta-time=.  Ours were rendered
from entries read after `cli` and before `cli_after`, so each timeout must lie between
the two CLI readings of the same line, and delta-time within `seconds` of the CLI's
(ours count to the clock read just before the first listing; the CLI to its own).
Prints {"ok", "exact", "checked", "failures"}.
"""

from __future__ import annotations

import json
import re
import sys

_TIMEOUT = re.compile(r'^((?:ipv[46]\s+\d+\s+)?\S+\s+\d+ )(\d+)( )')
_DELTA = re.compile(r'( delta-time=)(\d+)( |$)')


def split(line):
    """(line with the clock-driven numbers blanked, timeout, delta-time)."""
    timeout = delta = None
    m = _TIMEOUT.match(line)
    if m:
        timeout = int(m.group(2))
        line = line[:m.start(2)] + 'T' + line[m.end(2):]
    m = _DELTA.search(line)
    if m:
        delta = int(m.group(2))
        line = line[:m.start(2)] + 'D' + line[m.end(2):]
    return line, timeout, delta


def compare(data):
    cli, ours = data['cli'], data['ours']
    later = {}
    for line in data.get('cli_after') or cli:
        key, timeout, delta = split(line)
        later.setdefault(key, []).append((timeout, delta))
    first = {}
    for line in cli:
        key, timeout, delta = split(line)
        first.setdefault(key, []).append((timeout, delta))
    failures = []
    exact = len(set(cli) & set(ours))
    seen = {}
    for line in ours:
        key, timeout, delta = split(line)
        if key not in first:
            failures.append('not printed by conntrack -L: %s' % line)
            continue
        seen[key] = seen.get(key, 0) + 1
        lows = [t for t, _d in later.get(key, first[key])]
        highs = [t for t, _d in first[key]]
        if timeout is not None and not min(lows) <= timeout <= max(highs):
            failures.append('timeout %s not within %s..%s: %s' % (timeout, min(lows), max(highs), line))
        deltas = [d for _t, d in first[key] if d is not None]
        if delta is not None and not any(abs(delta - d) <= data['seconds'] for d in deltas):
            failures.append('delta-time %s not within %ss of %s: %s' % (delta, data['seconds'], deltas, line))
    for key, items in first.items():
        if seen.get(key, 0) != len(items):
            failures.append('printed %d time(s) by conntrack -L, rendered %d time(s): %s'
                            % (len(items), seen.get(key, 0), key))
    return {'ok': not failures and len(cli) == len(ours), 'exact': exact, 'checked': len(ours),
            'cli': len(cli), 'failures': failures[:20]}


def pairs(text, count_first):
    out = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) != 2:
            continue
        count, value = (words[0], words[1]) if count_first else (words[1], words[0])
        out[value] = int(count)
    return out


def main(argv):
    data = json.load(sys.stdin)
    if argv[1] == 'compare':
        result = compare(data)
    elif argv[1] == 'counts':
        result = pairs(data['text'], False)
    elif argv[1] == 'uniq':
        # keep the order: `sort -nr | head` output, most first
        result = [{'value': line.split()[1], 'count': int(line.split()[0])}
                  for line in data['text'].splitlines() if len(line.split()) == 2]
    else:
        raise SystemExit('usage: ct_lines.py compare|counts|uniq < JSON')
    print(json.dumps(result))


if __name__ == '__main__':
    main(sys.argv)
