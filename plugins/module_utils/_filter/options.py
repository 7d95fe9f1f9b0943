# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Option values as the modules and filters take them: integers, protocols, networks,
marks, labels, helper names.  Each error names the option and the value (``fail``).
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.netfilter.conntrack.plugins.module_utils._argspec import filter_spec
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.labels import MAX_LABEL_BIT
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

# the filter options and their aliases, as the argument spec declares them
FILTER_KEYS = tuple(filter_spec())
ALIASES = {alias: key for key, spec in filter_spec().items() for alias in spec.get('aliases', ())}


def fail(option, value, why):
    raise ConntrackError('%s: invalid value %r: %s' % (option, value, why), option=option)


def as_list(option, value):
    if isinstance(value, (list, tuple)):
        if not value:
            fail(option, value, 'an empty list matches nothing; leave the option out')
        return list(value)
    return [value]


def parse_int(option, value, lo, hi):
    """An integer in [lo, hi] from an int or a decimal/0x-hex string (YAML gives both)."""
    if isinstance(value, bool):
        fail(option, value, 'expected an integer, got a boolean')
    if isinstance(value, int):
        num = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        # int() alone would also take '1_000' and non-ASCII digits ('\u0665' = 5)
        if not text.isascii() or '_' in text:
            fail(option, value, 'expected an integer (decimal or 0x hex digits)')
        try:
            num = int(text, 0)
        except ValueError:
            fail(option, value, 'expected an integer')
    else:
        fail(option, value, 'expected an integer')
    if not lo <= num <= hi:
        fail(option, value, 'must be between %d and %d' % (lo, hi))
    return num


def parse_proto(option, value):
    if isinstance(value, str) and value.strip().lower() in C.PROTO_NUMBERS:
        return C.PROTO_NUMBERS[value.strip().lower()]
    if isinstance(value, str) and not (value.strip().isascii() and value.strip().isdigit()):
        fail(option, value, 'unknown protocol; use one of %s or a number'
             % ', '.join(sorted(C.PROTO_NUMBERS)))
    return parse_int(option, value, 0, 255)


def parse_network(option, value):
    if not isinstance(value, str) or not value.strip():
        fail(option, value, 'expected an IPv4/IPv6 address or CIDR network')
    if '%' in value:
        # ipaddress accepts 'fe80::1%eth0'; conntrack tuples carry no scope id
        fail(option, value, 'a scope id (%interface) has no meaning in a conntrack tuple')
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        fail(option, value, 'not an IPv4/IPv6 address or CIDR network')


# The kernel's helper names (ftp, Q.931, netbios-ns, snmp_trap ...) fit NF_CT_HELPER_NAME_LEN
# (16 with the NUL); userspace helpers are named within the same limit.
_HELPER_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,14}')


def parse_helper(option, value):
    """A conntrack helper name (a string YAML gave as a list or a dict is not one)."""
    if not isinstance(value, str) or not _HELPER_RE.fullmatch(value.strip()):
        fail(option, value, 'expected a conntrack helper name such as ftp, sip or tftp '
             '(letters, digits, _ . -, at most 15 characters)')
    return value.strip()


def parse_mark(option, value):
    """(value, mask) from 5, "5", "0x5", "0x10/0xf0"."""
    if isinstance(value, str) and '/' in value:
        val, _sep, mask = value.partition('/')
        if not val.strip() or not mask.strip():
            fail(option, value, 'expected VALUE/MASK')
        try:
            v = parse_int(option, val, 0, 0xFFFFFFFF)
            m = parse_int(option, mask, 0, 0xFFFFFFFF)
        except ConntrackError:
            # name the whole value, not the half that failed
            fail(option, value, 'expected VALUE/MASK, two 32-bit integers (decimal or 0x hex)')
        return v & m, m
    return parse_int(option, value, 0, 0xFFFFFFFF), 0xFFFFFFFF


def parse_labels(option, values, label_map):
    names = {name: bit for bit, name in (label_map or {}).items()}
    bits = []
    for v in as_list(option, values):
        if isinstance(v, str) and v in names:
            bits.append(names[v])
        elif isinstance(v, int) or (isinstance(v, str) and v.strip().isascii()
                                    and v.strip().isdigit()):
            bits.append(parse_int(option, v, 0, MAX_LABEL_BIT))
        else:
            known = ', '.join(sorted(names)) or 'none (no connlabel.conf)'
            fail(option, v, 'unknown label; known names: %s' % known)
    return sorted(set(bits))


def choice(option, values, allowed, upper=True):
    out = []
    for v in as_list(option, values):
        if not isinstance(v, str):
            fail(option, v, 'expected one of %s' % ', '.join(sorted(allowed)))
        key = v.strip().upper() if upper else v.strip().lower()
        if key not in allowed:
            fail(option, v, 'expected one of %s' % ', '.join(sorted(allowed)))
        out.append(key)
    return out
