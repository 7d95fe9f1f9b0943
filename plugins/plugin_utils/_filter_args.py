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

from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError


def _kind(value):
    return type(value).__name__.lstrip('_').replace('AnsibleTagged', '').replace(
        'AnsibleLazyTemplate', '') or 'value'


def entries_arg(name, value, arg='_input'):
    """The list of entries in ``value``: a list of entry dicts, or a registered
    conntrack_info / conntrack_flush result (its ``entries``)."""
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
