# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Connection label names, as iptables/nftables and `conntrack` read them."""

from __future__ import annotations

LABEL_FILES = ('/etc/xtables/connlabel.conf', '/etc/connlabel.conf')
MAX_LABEL_BIT = 127


def load_label_map(paths=LABEL_FILES):
    """{bit: name} from the first readable connlabel.conf ("BIT NAME" lines, # comments)."""
    for path in paths:
        try:
            with open(path, encoding='utf-8') as fh:
                lines = fh.read().splitlines()
        except OSError:
            continue
        out = {}
        for line in lines:
            fields = line.split('#', 1)[0].split()
            if len(fields) >= 2 and fields[0].isdigit() and int(fields[0]) <= MAX_LABEL_BIT:
                out.setdefault(int(fields[0]), fields[1])
        return out
    return {}
