# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""The module filters over a list of entries (the conntrack_select filter plugin).

Matching is CompiledFilter.matches: the very predicates conntrack_info and
conntrack_flush apply to a dump, so a filter set means the same thing everywhere.
"""

from __future__ import annotations

from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import (
    compile_filter)
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.labels import (
    load_label_map, MAX_LABEL_BIT)


def _wanted_label_names(filters):
    out = []
    labels = filters.get('labels')
    for lab in labels if isinstance(labels, (list, tuple)) else [labels]:
        if isinstance(lab, str) and lab.strip() and not lab.strip().isdigit():
            out.append(lab)
    excl = filters.get('exclude')
    for sub in excl if isinstance(excl, (list, tuple)) else [excl]:
        if isinstance(sub, dict):
            out.extend(_wanted_label_names(sub))
    return out


def label_map_for(filters, entries, base=None):
    """{bit: name} for matching ``filters`` against ``entries`` away from the host that
    listed them.

    Entries carry label names (from that host's connlabel.conf) and bit numbers (for
    unnamed bits).  Names are resolved with ``base`` (default: this host's
    connlabel.conf); a name the filters ask for that ``base`` lacks gets a bit no entry
    uses, so that names still match names.
    """
    base = dict(load_label_map() if base is None else base)
    missing = [n for n in dict.fromkeys(_wanted_label_names(filters)) if n not in base.values()]
    if not missing:
        return base
    used = set(base)
    for entry in entries:
        labels = entry.get('labels') if isinstance(entry, dict) else None
        for lab in labels if isinstance(labels, (list, tuple)) else ():
            if isinstance(lab, int):
                used.add(lab)
    free = [b for b in range(MAX_LABEL_BIT + 1) if b not in used]
    for name, bit in zip(missing, free):
        base[bit] = name
    return base


def select_entries(entries, filters, label_map=None):
    """The entries that match every filter of ``filters`` (SPEC filter options)."""
    cfilter = compile_filter(filters, label_map_for(filters, entries, label_map))
    matches = cfilter.matches
    return [e for e in entries if matches(e)]
