# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""JMESPath over entries (the conntrack_query filter); jmespath is optional."""

from __future__ import annotations

import traceback

from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

try:
    import jmespath
    import jmespath.exceptions
    import jmespath.functions
except ImportError:
    HAS_JMESPATH = False
    JMESPATH_IMPORT_ERROR = traceback.format_exc().strip().splitlines()[-1]
else:
    HAS_JMESPATH = True
    JMESPATH_IMPORT_ERROR = None

# jmespath checks function argument types by class *name*; Ansible hands templates
# subclasses of str/list/dict (names differ between ansible-core versions).  Teach it
# those names, as community.general's json_query does; this only widens what it accepts.
_ANSIBLE_TYPE_NAMES = {
    'string': ('AnsibleUnicode', 'AnsibleUnsafeText', 'NativeJinjaUnsafeText', 'NativeJinjaText',
               '_AnsibleTaggedStr'),
    'array': ('AnsibleSequence', '_AnsibleTaggedList', '_AnsibleLazyTemplateList',
              '_AnsibleTaggedTuple', '_AnsibleLazyAccessTuple', 'tuple'),
    'object': ('AnsibleMapping', '_AnsibleTaggedDict', '_AnsibleLazyTemplateDict'),
    'number': ('_AnsibleTaggedInt', '_AnsibleTaggedFloat'),
}


def _register_type_names():
    rev, fwd = jmespath.functions.REVERSE_TYPES_MAP, jmespath.functions.TYPES_MAP
    for jtype, names in _ANSIBLE_TYPE_NAMES.items():
        missing = tuple(n for n in names if n not in rev.get(jtype, ()))
        if missing:
            rev[jtype] = tuple(rev.get(jtype, ())) + missing
        for name in names:
            fwd.setdefault(name, jtype)


def query_entries(entries, expression):
    """jmespath.search(expression, entries), errors as ConntrackError."""
    if not HAS_JMESPATH:
        raise ConntrackError('the jmespath Python library is required: %s' % JMESPATH_IMPORT_ERROR)
    _register_type_names()
    try:
        compiled = jmespath.compile(expression)
    except jmespath.exceptions.ParseError as exc:
        raise ConntrackError('expression: invalid JMESPath expression %r: %s'
                             % (expression, exc), option='expression')
    try:
        return compiled.search(entries)
    except jmespath.exceptions.JMESPathError as exc:
        raise ConntrackError('expression: evaluating %r failed: %s' % (expression, exc),
                             option='expression')
