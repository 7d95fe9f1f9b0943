# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Argument checks shared by the collection's filter plugins (controller side).

The logic of every filter lives in plugins/module_utils; this file only checks what a
playbook handed over and turns the collection's ConntrackError into AnsibleFilterError.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager

from ansible.errors import AnsibleFilterError

try:
    from ansible.template import is_trusted_as_template
except ImportError:  # ansible-core < 2.19: no lazy containers, nothing to unwrap
    is_trusted_as_template = None

from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError


def _kind(value):
    return type(value).__name__.lstrip('_').replace('AnsibleTagged', '').replace(
        'AnsibleLazyTemplate', '') or 'value'


class _Template(Exception):
    pass


_SCALARS = frozenset((int, float, bool, type(None)))


def _check_str(value):
    if '{' in value and is_trusted_as_template(value):
        raise _Template()


def _unlazy(value):
    """``value`` without ansible-core's lazy template containers, or _Template."""
    copy = getattr(value, '_non_lazy_copy', None)
    if copy is not None:
        value = copy()  # pylint: disable=not-callable
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        if isinstance(value, str):
            _check_str(value)
        return value
    out = None
    for key, item in items:
        kind = type(item)
        if kind is str:
            if '{' in item:
                _check_str(item)
            continue
        if kind in _SCALARS:
            continue
        if kind is dict:
            # the common case, unrolled: a plain dict of plain values (an entry's tuples)
            plain = True
            for sub in item.values():
                sub_kind = type(sub)
                if sub_kind is str:
                    if '{' in sub:
                        _check_str(sub)
                elif sub_kind not in _SCALARS:
                    plain = False
                    break
            if plain:
                continue
        new = _unlazy(item)
        if new is not item:
            if out is None:
                out = dict(value) if isinstance(value, dict) else list(value)
            out[key] = new
    return value if out is None else out


def native(value):
    """The plain data behind one of ansible-core's lazy template containers.

    Since 2.19 a filter receives lists and dicts that template every value on access:
    about 40 microseconds per value, minutes for a 250,000-entry dump.  Entries hold
    addresses, names and numbers, never templates: when nothing in ``value`` is a
    template (a string trusted as one that contains "{"), its raw contents are used as
    they are; otherwise the lazy container itself, so templates still render.
    """
    if is_trusted_as_template is None or getattr(value, '_non_lazy_copy', None) is None:
        return value
    try:
        return _unlazy(value)
    except _Template:
        return value
    except Exception:  # pylint: disable=broad-exception-caught
        return value  # a future ansible-core changed its internals: take the slow way


def entries_arg(name, value, arg='_input'):
    """The list of entries in ``value``: a list of entry dicts, or a registered
    conntrack_info / conntrack_flush result (its ``entries``)."""
    value = native(value)
    if isinstance(value, Mapping) and isinstance(value.get('entries'), list):
        value = value['entries']
    if not isinstance(value, (list, tuple)):
        raise AnsibleFilterError(
            '%s: %s must be a list of conntrack entries (the "entries" of '
            'netfilter.conntrack.conntrack_info) or a registered conntrack_info result, '
            'not a %s: %.80r' % (name, arg, _kind(value), value))
    for pos, entry in enumerate(value):
        if not isinstance(entry, Mapping):
            raise AnsibleFilterError(
                '%s: %s must be a list of conntrack entries (dicts), but item %d is a %s: '
                '%.80r' % (name, arg, pos, _kind(entry), entry))
    return value


def key_arg(name, value, arg='key'):
    if not isinstance(value, str) or not value.strip():
        raise AnsibleFilterError(
            '%s: %s must be a dotted key of an entry such as proto, orig.src, proto_state '
            'or counters.orig.bytes, not %.80r' % (name, arg, value))
    return value.strip()


def int_arg(name, value, arg, low=None):
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        else:
            raise AnsibleFilterError('%s: %s must be an integer, not %.80r' % (name, arg, value))
    if low is not None and value < low:
        raise AnsibleFilterError('%s: %s must be %d or more, not %d' % (name, arg, low, value))
    return value


@contextmanager
def filter_errors(name):
    """Re-raise the collection's errors as AnsibleFilterError, named after the filter."""
    try:
        yield
    except ConntrackError as exc:
        raise AnsibleFilterError('%s: %s' % (name, exc.msg), orig_exc=exc) from exc
