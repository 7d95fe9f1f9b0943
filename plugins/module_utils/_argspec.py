# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Argument-spec factories (each call returns a fresh dict), mirrored by doc_fragments."""

from __future__ import annotations

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C


def common_spec():
    """Options every module has (doc fragment netfilter.conntrack.common)."""
    return {'netns': {'type': 'str'}}


def filter_spec():
    """The SPEC's filter options (doc fragment netfilter.conntrack.filters).

    Values are validated by the filter compiler, which names the option and the value.
    """
    return {
        'family': {'type': 'str', 'choices': ['ipv4', 'ipv6', 'any'], 'default': 'any'},
        'proto': {'type': 'raw'},
        'orig_src': {'type': 'raw'},
        'orig_dst': {'type': 'raw'},
        'reply_src': {'type': 'raw'},
        'reply_dst': {'type': 'raw'},
        'orig_port_src': {'type': 'raw', 'aliases': ['sport']},
        'orig_port_dst': {'type': 'raw', 'aliases': ['dport']},
        'reply_port_src': {'type': 'raw'},
        'reply_port_dst': {'type': 'raw'},
        'icmp_type': {'type': 'int'},
        'icmp_code': {'type': 'int'},
        'icmp_id': {'type': 'int'},
        'proto_state': {'type': 'list', 'elements': 'str'},
        'ctstate': {'type': 'list', 'elements': 'str', 'choices': list(C.CTSTATES)},
        'status': {'type': 'list', 'elements': 'str', 'choices': sorted(C.STATUS_BITS)},
        'mark': {'type': 'raw'},
        'zone': {'type': 'int'},
        'orig_zone': {'type': 'int'},
        'reply_zone': {'type': 'int'},
        'labels': {'type': 'list', 'elements': 'raw'},
        'nat': {'type': 'str', 'choices': ['src', 'dst', 'any']},
        'src_nat': {'type': 'raw'},
        'dst_nat': {'type': 'raw'},
        'any_nat': {'type': 'raw'},
        'helper': {'type': 'str'},
        'exclude': {'type': 'list', 'elements': 'dict'},
    }


FILTER_OPTION_NAMES = tuple(filter_spec())


def filter_params(params):
    """The filter options a module was given (None, and family "any", = not given)."""
    out = {k: params.get(k) for k in FILTER_OPTION_NAMES if params.get(k) is not None}
    if out.get('family') == 'any':
        del out['family']
    return out
