# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How a captured `conntrack -L` case is checked (test_ct_format.py, tools/ct_format_capture.py)."""

from __future__ import annotations

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_format import format_entries


def unexplained_lines(case):
    """The command's lines that no entry of the case renders to.

    An entry may render with any timeout between its two reads and any clock between
    the two readings of it; everything else must match character for character.
    """
    after = {e['id']: e for e in case['after']}  # only the entries that changed
    now0, now1 = case['now']
    rendered = set()
    for entry in case['before']:
        later = after.get(entry['id'], entry)
        low = min(entry['timeout'], later['timeout'])
        high = max(entry['timeout'], later['timeout'])
        for version in (entry, later):
            for timeout in range(low, high + 1):
                variant = dict(version, timeout=timeout)
                for now in range(now0, now1 + 1):
                    rendered.update(format_entries([variant], case['output'], now,
                                                   case['labelmap']))
    return [line for line in case['lines'] if line not in rendered]
