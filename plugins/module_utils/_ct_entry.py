# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""conntrack_entry's logic: one connection declared present or absent.

``build_want`` turns the options into a validated description of the wanted entry (pure),
``plan`` compares it with the entry the kernel has (pure), ``ensure_entry`` runs the whole
thing against a ConntrackClient.  Other plugins (roles, action plugins) call ensure_entry.

Kernel behaviour this relies on (checked on Linux 6.18 against `conntrack -L`):
- status: on create the kernel sets ASSURED, SEEN_REPLY, FIXED_TIMEOUT (and HELPER) and
  ignores the NAT/offload bits; on update it only ever adds those bits, answers EBUSY to
  clearing SEEN_REPLY or ASSURED, and wants the current EXPECTED/CONFIRMED/DYING bits
  repeated exactly (EBUSY otherwise).
- timeout: EPERM on an entry with FIXED_TIMEOUT; values are capped at INT_MAX jiffies.
- labels: silently dropped on create, ENOSPC on update, unless the namespace uses connlabels
  (an nftables rule with `ct label set`); CTA_LABELS + CTA_LABELS_MASK replace them exactly.
- zones: one zone id per entry, for both directions (CTA_ZONE) or one (CTA_TUPLE_ZONE);
  an orig zone and a different reply zone together are EINVAL.  Get/delete find an entry
  by its original tuple and original-direction zone.
- helper: set on create only (EBUSY/EOPNOTSUPP to change it later).
- an SCTP state needs both verification tags, a DCCP state the role; kernels without DCCP
  tracking (6.16+) store DCCP entries without ports.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct

from ansible_collections.netfilter.conntrack.plugins.module_utils import _nl_const as C
from ansible_collections.netfilter.conntrack.plugins.module_utils import _ct_encode as E
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_decode import find_attr
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_filter import (
    parse_helper, parse_int, parse_labels, parse_mark, parse_network, parse_proto)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

# Status flags a user may ask for (CONFIRMED is always there; accepted as a no-op).
SETTABLE_STATUS = ('ASSURED', 'CONFIRMED', 'FIXED_TIMEOUT', 'SEEN_REPLY')
MAX_TIMEOUT = 0xFFFFFFFF
# Get-then-write rounds against other writers of the same entry (each round is cheap).
RACE_ATTEMPTS = 4
_BE32 = struct.Struct('>I')
_DCCP_SYSCTL = '/proc/sys/net/netfilter/nf_conntrack_dccp_timeout_request'
_CT_SYSCTL = '/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established'


def entry_argument_spec():
    """conntrack_entry's options (besides the common netns); a fresh dict per call."""
    return {
        'state': {'type': 'str', 'choices': ['present', 'absent'], 'default': 'present'},
        'proto': {'type': 'raw', 'required': True},
        'orig_src': {'type': 'str', 'required': True},
        'orig_dst': {'type': 'str', 'required': True},
        'orig_port_src': {'type': 'int', 'aliases': ['sport']},
        'orig_port_dst': {'type': 'int', 'aliases': ['dport']},
        'icmp_type': {'type': 'int'},
        'icmp_code': {'type': 'int'},
        'icmp_id': {'type': 'int'},
        'gre_src_key': {'type': 'int', 'no_log': False},
        'gre_dst_key': {'type': 'int', 'no_log': False},
        'reply_src': {'type': 'str'},
        'reply_dst': {'type': 'str'},
        'reply_port_src': {'type': 'int'},
        'reply_port_dst': {'type': 'int'},
        'zone': {'type': 'int'},
        'orig_zone': {'type': 'int'},
        'reply_zone': {'type': 'int'},
        'timeout': {'type': 'int'},
        'refresh_timeout': {'type': 'bool', 'default': False},
        'mark': {'type': 'raw'},
        'labels': {'type': 'list', 'elements': 'raw'},
        'status': {'type': 'list', 'elements': 'str', 'choices': list(SETTABLE_STATUS)},
        'proto_state': {'type': 'str'},
        'src_nat': {'type': 'str'},
        'dst_nat': {'type': 'str'},
        'helper': {'type': 'str'},
        'recreate': {'type': 'bool', 'default': False},
    }


def _fail(option, value, why):
    raise ConntrackError('%s: invalid value %r: %s' % (option, value, why), option=option)


def _proto_name(proto):
    return C.PROTO_NAMES.get(proto, str(proto))


def canon_addr(addr):
    """An address as the decoder prints it (inet_ntop), for comparisons and predictions."""
    af = socket.AF_INET6 if ':' in addr else socket.AF_INET
    return socket.inet_ntop(af, socket.inet_pton(af, addr))


def _parse_addr(option, value, version=None):
    net = parse_network(option, value)
    if net.prefixlen != net.max_prefixlen:
        _fail(option, value, 'expected one address, not a network')
    if version is not None and net.version != version:
        _fail(option, value, 'orig_src is IPv%d: all addresses of one entry must be of the '
              'same family' % version)
    return canon_addr(str(net.network_address)), net.version


def _tuple_keys(proto):
    """The keys of a tuple dict for ``proto``, as the decoder shapes them."""
    if proto in C.ICMP_PROTOS:
        return ('src', 'dst', 'icmp_type', 'icmp_code', 'icmp_id')
    if proto == C.GRE_PROTO:
        return ('src', 'dst', 'src_key', 'dst_key')
    if proto in C.PORT_PROTOS:
        return ('src', 'dst', 'sport', 'dport')
    return ('src', 'dst')


def build_want(params, label_map=None):
    """Validate the options and describe the wanted entry (a plain dict).

    Keys: state, family, proto, orig, reply (the full reply tuple the entry will have),
    reply_create (the reply tuple a create sends: before NAT), reply_fixed (the reply fields
    an option decided), zone_orig, zone_reply, timeout, refresh_timeout, mark
    ((value, mask) or None), labels (bit list or None), status (names or None), proto_state
    (name or None), src_nat, dst_nat, helper, recreate.  Raises ConntrackError naming the
    option and the value.
    """
    p = dict(params)
    for alias, key in (('sport', 'orig_port_src'), ('dport', 'orig_port_dst')):
        if p.get(alias) is not None and p.get(key) is None:
            p[key] = p[alias]
    for key, value in p.items():
        if isinstance(value, str) and not value.strip():
            _fail(key, value, 'empty string (an undefined variable?)')
    state = p.get('state') or 'present'
    if p.get('proto') is None:
        raise ConntrackError('proto: required (tcp, udp, udplite, sctp, dccp, icmp, icmpv6, '
                             'gre or a number)', option='proto')
    proto = parse_proto('proto', p['proto'])
    for key in ('orig_src', 'orig_dst'):
        if p.get(key) is None:
            raise ConntrackError('%s: required: the original tuple names the entry' % key,
                                 option=key)
    src, version = _parse_addr('orig_src', p['orig_src'])
    dst, _v = _parse_addr('orig_dst', p['orig_dst'], version)
    family = C.AF_INET if version == 4 else C.AF_INET6
    name = _proto_name(proto)
    if proto == 1 and version == 6:
        _fail('proto', p['proto'], 'icmp is IPv4; use icmpv6 with IPv6 addresses')
    if proto == 58 and version == 4:
        _fail('proto', p['proto'], 'icmpv6 is IPv6; use icmp with IPv4 addresses')

    def forbid(keys, why):
        for key in keys:
            if p.get(key) is not None:
                _fail(key, p[key], why)

    ports = ('orig_port_src', 'orig_port_dst', 'reply_port_src', 'reply_port_dst')
    icmp = ('icmp_type', 'icmp_code', 'icmp_id')
    gre = ('gre_src_key', 'gre_dst_key')
    orig = {'src': src, 'dst': dst}
    if proto in C.PORT_PROTOS:
        forbid(icmp, 'ICMP fields need proto icmp or icmpv6, not %s' % name)
        forbid(gre, 'GRE keys need proto gre, not %s' % name)
        for key, field in (('orig_port_src', 'sport'), ('orig_port_dst', 'dport')):
            if p.get(key) is None:
                raise ConntrackError('%s: required with proto %s (the original tuple names the '
                                     'entry)' % (key, name), option=key)
            orig[field] = parse_int(key, p[key], 1, 65535)
    elif proto in C.ICMP_PROTOS:
        forbid(ports, 'ports need proto tcp, udp, udplite, sctp or dccp, not %s' % name)
        forbid(gre, 'GRE keys need proto gre, not %s' % name)
        inverse = E.ICMPV6_INVERSE if proto == 58 else E.ICMP_INVERSE
        for key in ('icmp_type', 'icmp_id'):
            if p.get(key) is None:
                raise ConntrackError('%s: required with proto %s' % (key, name), option=key)
        itype = parse_int('icmp_type', p['icmp_type'], 0, 255)
        if itype not in inverse:
            _fail('icmp_type', p['icmp_type'], 'the kernel tracks only %s types %s'
                  % (name, ', '.join(str(t) for t in sorted(inverse))))
        orig['icmp_type'] = itype
        orig['icmp_code'] = parse_int('icmp_code', p.get('icmp_code') or 0, 0, 255)
        orig['icmp_id'] = parse_int('icmp_id', p['icmp_id'], 0, 65535)
    elif proto == C.GRE_PROTO:
        forbid(ports, 'ports need proto tcp, udp, udplite, sctp or dccp, not gre; use '
               'gre_src_key / gre_dst_key')
        forbid(icmp, 'ICMP fields need proto icmp or icmpv6, not gre')
        orig['src_key'] = parse_int('gre_src_key', p.get('gre_src_key') or 0, 0, 65535)
        orig['dst_key'] = parse_int('gre_dst_key', p.get('gre_dst_key') or 0, 0, 65535)
    else:
        forbid(ports, 'ports need proto tcp, udp, udplite, sctp or dccp, not %s' % name)
        forbid(icmp, 'ICMP fields need proto icmp or icmpv6, not %s' % name)
        forbid(gre, 'GRE keys need proto gre, not %s' % name)

    # The reply tuple: the mirror, then what reply_* and NAT options decide.
    reply = E.mirror(orig, proto)
    fixed = {}
    for key, field in (('reply_src', 'src'), ('reply_dst', 'dst')):
        if p.get(key) is not None:
            fixed[field] = (key, _parse_addr(key, p[key], version)[0])
    for key, field in (('reply_port_src', 'sport'), ('reply_port_dst', 'dport')):
        if p.get(key) is not None:
            fixed[field] = (key, parse_int(key, p[key], 1, 65535))
    nat = {}
    for key, field in (('dst_nat', 'src'), ('src_nat', 'dst')):
        if p.get(key) is None:
            continue
        addr = _parse_addr(key, p[key], version)[0]
        if field in fixed and fixed[field][1] != addr:
            raise ConntrackError('%s: %r contradicts %s: %r (%s NAT makes the reply %s)'
                                 % (key, p[key], fixed[field][0], p[fixed[field][0]],
                                    key[:3], field), option=key)
        nat[key] = addr
        fixed[field] = (key, addr)
    reply_fixed = {field: value for field, (_key, value) in fixed.items()}
    # A create sends the reply tuple before NAT: the kernel's NAT setup rewrites it and sets
    # the SRC_NAT/DST_NAT flags only when it had something to rewrite.
    reply_create = dict(reply)
    reply_create.update({field: value for field, (key, value) in fixed.items()
                         if key.startswith('reply_')})
    reply.update(reply_fixed)

    # Zones: one id, for both directions or for one of them.
    zone = parse_int('zone', p['zone'], 0, 65535) if p.get('zone') is not None else 0
    zo = parse_int('orig_zone', p['orig_zone'], 0, 65535) \
        if p.get('orig_zone') is not None else zone
    zr = parse_int('reply_zone', p['reply_zone'], 0, 65535) \
        if p.get('reply_zone') is not None else zone
    if zo and zr and zo != zr:
        key = 'reply_zone' if p.get('reply_zone') is not None else 'orig_zone'
        _fail(key, p[key], 'the kernel keeps one zone id per entry, for both directions (zone) '
              'or for one (orig_zone or reply_zone), but the original direction would be in '
              'zone %d and the reply direction in zone %d' % (zo, zr))

    timeout = None
    if p.get('timeout') is not None:
        timeout = parse_int('timeout', p['timeout'], 1, MAX_TIMEOUT)
    mark = parse_mark('mark', p['mark']) if p.get('mark') is not None else None
    labels = None
    if p.get('labels') is not None:
        labels = [] if p['labels'] == [] else parse_labels('labels', p['labels'], label_map)
    status = None
    if p.get('status') is not None:
        status = []
        for flag in p['status']:
            key = flag.strip().upper() if isinstance(flag, str) else flag
            if key not in SETTABLE_STATUS:
                _fail('status', flag, 'settable flags are %s (NAT flags come with src_nat / '
                      'dst_nat; the kernel sets or refuses the others)'
                      % ', '.join(SETTABLE_STATUS))
            status.append(key)
        status = sorted(set(status))
    proto_state = None
    if p.get('proto_state') is not None:
        states = C.PROTO_STATES.get(proto)
        if states is None:
            _fail('proto_state', p['proto_state'], 'only tcp, sctp and dccp entries have a '
                  'protocol state, not %s' % name)
        allowed = states[:8] if proto == 33 else states  # DCCP: IGNORE/INVALID are refused
        ps = str(p['proto_state']).strip().upper()
        if ps not in allowed:
            _fail('proto_state', p['proto_state'], 'expected one of %s' % ', '.join(allowed))
        proto_state = ps
    helper = p.get('helper')
    if helper is not None:
        helper = parse_helper('helper', helper)
    return {
        'state': state, 'family': family, 'proto': proto, 'orig': orig, 'reply': reply,
        'reply_create': reply_create, 'reply_fixed': reply_fixed, 'zone_orig': zo, 'zone_reply': zr, 'timeout': timeout,
        'refresh_timeout': bool(p.get('refresh_timeout')), 'mark': mark, 'labels': labels,
        'status': status, 'proto_state': proto_state, 'src_nat': nat.get('src_nat'),
        'dst_nat': nat.get('dst_nat'), 'helper': helper, 'recreate': bool(p.get('recreate')),
    }


# -- comparing -----------------------------------------------------------------------------
def entry_zones(entry):
    """(original-direction zone, reply-direction zone) of an entry dict."""
    zone = entry.get('zone') or 0
    return entry.get('orig_zone', zone), entry.get('reply_zone', zone)


def label_bits(labels, label_map=None):
    """Bit numbers of an entry's labels (names through the connlabel map)."""
    names = {name: bit for bit, name in (label_map or {}).items()}
    out = set()
    for lab in labels or ():
        if isinstance(lab, int):
            out.add(lab)
        elif lab in names:
            out.add(names[lab])
    return sorted(out)


def label_names(bits, label_map=None):
    """An entry's labels as the decoder shows them."""
    return [(label_map or {}).get(b, b) for b in sorted(bits)]


def conflicts(want, entry):
    """What differs in parts the kernel cannot change: [(option, wanted, actual)]."""
    out = []
    reply = entry.get('reply') or {}
    names = {'src': 'reply_src', 'dst': 'reply_dst', 'sport': 'reply_port_src',
             'dport': 'reply_port_dst'}
    for field, value in sorted(want['reply_fixed'].items()):
        have = reply.get(field)
        if field in ('src', 'dst') and have is not None:
            have = canon_addr(have)
        if have != value:
            option = names[field]
            if field == 'src' and want['dst_nat'] is not None:
                option = 'dst_nat'
            elif field == 'dst' and want['src_nat'] is not None:
                option = 'src_nat'
            out.append((option, value, have))
    zr = entry_zones(entry)[1]
    if zr != want['zone_reply']:
        out.append(('reply_zone', want['zone_reply'], zr))
    if want['helper'] is not None and (entry.get('helper') or '') != want['helper']:
        out.append(('helper', want['helper'], entry.get('helper')))
    return out


def changes(want, entry, label_map=None):
    """Updatable attributes that differ: {name: new value} (entry-dict form).

    The kernel's falling timeout alone is not a difference; with refresh_timeout a timeout
    other than the wanted one is.
    """
    out = {}
    if want['timeout'] is not None and want['refresh_timeout'] \
            and entry.get('timeout') != want['timeout']:
        out['timeout'] = want['timeout']
    if want['mark'] is not None:
        value, mask = want['mark']
        have = entry.get('mark') or 0
        if have & mask != value:
            out['mark'] = (have & ~mask & 0xFFFFFFFF) | value
    if want['labels'] is not None and label_bits(entry.get('labels'), label_map) \
            != want['labels']:
        out['labels'] = label_names(want['labels'], label_map)
    if want['status'] is not None:
        have = set(entry.get('status') or ())
        if not set(want['status']) <= have:
            out['status'] = sorted(have | set(want['status']))
    if want['proto_state'] is not None and entry.get('proto_state') != want['proto_state']:
        out['proto_state'] = want['proto_state']
    return out


def _ctstate(status):
    if 'EXPECTED' in status:
        return 'RELATED'
    if 'SEEN_REPLY' in status:
        return 'ESTABLISHED'
    return 'NEW'


def _nat_of(orig, reply):
    return {'src': orig['src'] != reply['dst'] or orig.get('sport') != reply.get('dport'),
            'dst': orig['dst'] != reply['src'] or orig.get('dport') != reply.get('sport')}


def predict_created(want, label_map=None):
    """The entry a create should give (what check mode reports)."""
    proto = want['proto']
    keys = _tuple_keys(proto)
    orig = {k: want['orig'].get(k) for k in keys}
    reply = {k: want['reply'].get(k) for k in keys}
    status = {'CONFIRMED'} | set(want['status'] or ())
    if want['src_nat'] or want['dst_nat']:
        # the kernel sets up both manips; a flag only when the address really changes
        status |= {'SRC_NAT_DONE', 'DST_NAT_DONE'}
        if want['src_nat'] and want['src_nat'] != want['reply_create']['dst']:
            status.add('SRC_NAT')
        if want['dst_nat'] and want['dst_nat'] != want['reply_create']['src']:
            status.add('DST_NAT')
    if want['helper']:
        status.add('HELPER')
    states = C.PROTO_STATES.get(proto)
    zo, zr = want['zone_orig'], want['zone_reply']
    entry = {
        'id': None,
        'family': C.FAMILY_NAMES[want['family']],
        'proto': _proto_name(proto),
        'proto_num': proto,
        'orig': orig,
        'reply': reply,
        'proto_state': want['proto_state'] or (states[0] if states else None),
        'timeout': want['timeout'],
        'status': sorted(status),
        'ctstate': _ctstate(status),
        'mark': want['mark'][0] if want['mark'] else 0,
        'zone': zo if zo == zr else 0,
        'use': 1,
        'labels': label_names(want['labels'] or (), label_map),
        'nat': _nat_of(orig, reply),
        'counters': None,
        'timestamp': None,
        'helper': want['helper'] or None,
    }
    if zo != zr:
        entry['orig_zone'], entry['reply_zone'] = zo, zr
    return entry


def predict_updated(entry, diff):
    """``entry`` with the changes of ``changes()`` applied."""
    out = dict(entry)
    out.update(diff)
    if 'status' in diff:
        out['ctstate'] = _ctstate(diff['status'])
    return out


def recreate_want(want, entry, label_map=None):
    """``want`` completed with what the old entry had, for a delete + create."""
    out = dict(want)
    if out['timeout'] is None:
        out['timeout'] = max(int(entry.get('timeout') or 1), 1)
    if out['mark'] is None and entry.get('mark'):
        out['mark'] = (entry['mark'], 0xFFFFFFFF)
    if out['labels'] is None and entry.get('labels'):
        out['labels'] = label_bits(entry['labels'], label_map)
    kept = sorted(set(entry.get('status') or ()) & {'ASSURED', 'FIXED_TIMEOUT', 'SEEN_REPLY'})
    if kept:
        out['status'] = sorted(set(out['status'] or ()) | set(kept))
    if out['proto_state'] is None and C.PROTO_STATES.get(want['proto']) \
            and entry.get('proto_state') not in (None, 'NONE'):
        out['proto_state'] = entry['proto_state']
    if out['helper'] is None and entry.get('helper'):
        out['helper'] = entry['helper']
    return out


# -- kernel requests ---------------------------------------------------------------------
def _zone_fields(want):
    zo, zr = want['zone_orig'], want['zone_reply']
    if zo == zr:
        return {'zone': zo}
    return {'orig_zone': zo} if zo else {'reply_zone': zr}


def create_spec(want):
    """The _ct_encode.entry_attrs spec that creates ``want``."""
    spec = {'family': want['family'], 'proto': want['proto'], 'orig': dict(want['orig']),
            'reply': dict(want['reply_create']), 'timeout': want['timeout']}
    spec.update(_zone_fields(want))
    if want['mark'] is not None:
        spec['mark'] = want['mark'][0]
    if want['labels']:
        spec['labels'] = want['labels']
    if want['status']:
        spec['status'] = E.status_bits(want['status'])
    if want['proto_state'] is not None:
        spec['proto_state'] = C.PROTO_STATES[want['proto']].index(want['proto_state'])
    for key in ('src_nat', 'dst_nat', 'helper'):
        if want[key]:
            spec[key] = want[key]
    return spec


def _raw_u32(raw, path):
    data = find_attr(raw, 20, len(raw), path) if raw else None
    return _BE32.unpack_from(data)[0] if data and len(data) >= 4 else None


def update_spec(want, entry, diff, raw=None):
    """The entry_attrs spec that applies ``diff`` to ``entry`` (raw: its get reply)."""
    spec = {'family': want['family'], 'proto': want['proto'], 'orig': dict(want['orig']),
            'reply': dict(entry['reply']), 'zone': want['zone_orig']}
    if 'timeout' in diff:
        spec['timeout'] = diff['timeout']
    if 'mark' in diff:
        spec['mark'] = diff['mark']
    if 'labels' in diff:
        spec['labels'] = list(want['labels'])
    if 'status' in diff:
        # The kernel wants the current EXPECTED/CONFIRMED/DYING bits repeated; the bits it
        # cannot change are ignored, so the current value OR the wanted flags is exact.
        current = _raw_u32(raw, (C.CTA_STATUS,))
        if current is None:
            current = E.status_bits(n for n in entry.get('status') or () if n in C.STATUS_BITS)
        spec['status'] = current | E.status_bits(want['status'])
    if 'proto_state' in diff:
        spec['proto_state'] = C.PROTO_STATES[want['proto']].index(want['proto_state'])
        if want['proto'] == 132:
            base = (C.CTA_PROTOINFO, C.CTA_PROTOINFO_SCTP)
            spec['sctp_vtags'] = (
                _raw_u32(raw, base + (C.CTA_PROTOINFO_SCTP_VTAG_ORIGINAL,)) or 0,
                _raw_u32(raw, base + (C.CTA_PROTOINFO_SCTP_VTAG_REPLY,)) or 0)
        elif want['proto'] == 33:
            role = find_attr(raw, 20, len(raw), (C.CTA_PROTOINFO, C.CTA_PROTOINFO_DCCP,
                                                 C.CTA_PROTOINFO_DCCP_ROLE)) if raw else None
            spec['dccp_role'] = role[0] if role else 0
    return spec


def _describe(want):
    """A short text naming the entry, for messages and diff headers."""
    o = want['orig']
    text = '%s %s -> %s' % (_proto_name(want['proto']), o['src'], o['dst'])
    if 'sport' in o:
        text = '%s %s:%s -> %s:%s' % (_proto_name(want['proto']), o['src'], o['sport'],
                                      o['dst'], o['dport'])
    elif 'icmp_type' in o:
        text += ' type %s code %s id %s' % (o['icmp_type'], o['icmp_code'], o['icmp_id'])
    elif 'src_key' in o:
        text += ' keys %s/%s' % (o['src_key'], o['dst_key'])
    if want['zone_orig']:
        text += ' zone %d' % want['zone_orig']
    return text


def _dccp_untracked():
    """True when this kernel surely has no DCCP connection tracking (removed in 6.16)."""
    return os.path.exists(_CT_SYSCTL) and not os.path.exists(_DCCP_SYSCTL)


class EntryManager:
    """Runs one conntrack_entry request against a ConntrackClient."""

    def __init__(self, client, want, check_mode=False):
        self.client = client
        self.want = want
        self.check_mode = check_mode
        self.label_map = client.label_map
        self.what = _describe(want)
        if client.netns:
            self.where = ' in network namespace %r' % client.netns
        else:
            self.where = ''

    # -- reading -----------------------------------------------------------------------
    def fetch(self):
        """(entry dict, raw reply) of the wanted original tuple, or (None, None)."""
        w = self.want
        raw = self.client.get_message(w['family'], w['proto'], w['orig'], w['zone_orig'])
        if raw is None:
            return None, None
        return self.client.decoder().decode(raw, 20, len(raw), raw[16]), raw

    # -- writing -----------------------------------------------------------------------
    def _create(self, want):
        try:
            self.client.create(create_spec(want))
        except ConntrackError as exc:
            raise self._explain(exc, want)

    def _explain(self, exc, want, diff=None):
        """A kernel error of a create (diff None) or an update, in the user's terms."""
        num = exc.errno
        creating = diff is None
        if num == errno.ENOSPC and want['labels'] is not None:
            return ConntrackError(self._labels_msg(), errno_num=num, option='labels')
        if num == errno.EPERM and not creating and 'timeout' in diff:
            return ConntrackError('timeout: the kernel refuses to change the timeout of %s%s: '
                                  'it has status FIXED_TIMEOUT (EPERM)'
                                  % (self.what, self.where), errno_num=num, option='timeout')
        if num == errno.EOPNOTSUPP and creating and (want['helper'] or want['src_nat']
                                                     or want['dst_nat']):
            parts = []
            if want['helper']:
                parts.append('helper: no conntrack helper %r for %s/%s (is nf_conntrack_%s '
                             'loaded?)' % (want['helper'], C.FAMILY_NAMES[want['family']],
                                           _proto_name(want['proto']), want['helper']))
            if want['src_nat'] or want['dst_nat']:
                parts.append('src_nat/dst_nat: the kernel may lack NAT support (nf_nat)')
            return ConntrackError('creating %s%s failed (EOPNOTSUPP): %s'
                                  % (self.what, self.where, '; '.join(parts)), errno_num=num,
                                  option='helper' if want['helper'] else 'dst_nat')
        if num == errno.ENOMEM and creating:
            return ConntrackError('creating %s%s failed (ENOMEM): %s'
                                  % (self.what, self.where, self._table_size()), errno_num=num)
        return exc

    def _table_size(self):
        """Why a create may get ENOMEM: the table's fill against nf_conntrack_max."""
        try:
            count, maximum = self.client.global_counts()
        except ConntrackError:
            return 'out of memory, or the conntrack table is full (nf_conntrack_max reached)'
        if maximum and count >= maximum:
            return ('the conntrack table is full: %d entries, nf_conntrack_max is %d (the '
                    'kernel evicts only entries that are not ASSURED to make room)'
                    % (count, maximum))
        return ('out of memory (the table holds %d entries, nf_conntrack_max is %d)'
                % (count, maximum))

    def _labels_msg(self):
        return ('labels: the kernel keeps no connection labels%s: labels need an nftables rule '
                'that uses them in that namespace (for example a chain with '
                '"ct label set 127"); the kernel answered ENOSPC or dropped them'
                % (self.where or ' in this network namespace'))

    def _verify_created(self, after, want):
        """Undo and fail when the kernel silently left out what was asked."""
        problem = None
        if want['labels'] and label_bits(after.get('labels'), self.label_map) != want['labels']:
            problem = ConntrackError(self._labels_msg(), option='labels')
        elif want['proto'] == 33 and 'sport' not in after['orig']:
            problem = ConntrackError('proto: %r: the running kernel has no DCCP connection '
                                     'tracking (it stores DCCP entries without ports); nothing '
                                     'was created' % _proto_name(want['proto']), option='proto')
        if problem is not None:
            self.client.delete(want['family'], want['proto'], want['orig'], want['zone_orig'],
                               after.get('id'))
            raise problem

    def _read_back(self, fallback):
        after, _raw = self.fetch()
        return after if after is not None else fallback

    # -- the two states ----------------------------------------------------------------
    def absent(self, before):
        if before is None:
            return False, None, []
        if self.check_mode:
            return True, None, ['deleted']
        gone = self.client.delete(self.want['family'], self.want['proto'], self.want['orig'],
                                  self.want['zone_orig'], before.get('id'))
        # False: it vanished on its own between the get and the delete
        return gone, None, ['deleted'] if gone else []

    def present(self, before, raw):
        want = self.want
        if before is None:
            return self._present_new(want)
        bad = conflicts(want, before)
        if bad:
            if not want['recreate']:
                raise ConntrackError(
                    '%s%s exists and differs where the kernel cannot change it: %s; delete it '
                    'first or set recreate=true' % (self.what, self.where, '; '.join(
                        '%s wanted %r, has %r' % b for b in bad)), option=bad[0][0])
            new = recreate_want(want, before, self.label_map)
            if self.check_mode:
                return True, predict_created(new, self.label_map), ['recreated']
            self.client.delete(want['family'], want['proto'], want['orig'], want['zone_orig'],
                               before.get('id'))
            self._create(new)
            after = self._read_back(predict_created(new, self.label_map))
            self._verify_created(after, new)
            return True, after, ['recreated']
        diff = changes(want, before, self.label_map)
        if not diff:
            return False, before, []
        if 'timeout' in diff and 'FIXED_TIMEOUT' in (before.get('status') or ()):
            raise ConntrackError('timeout: the kernel refuses to change the timeout of %s%s: it '
                                 'has status FIXED_TIMEOUT' % (self.what, self.where),
                                 option='timeout')
        predicted = predict_updated(before, diff)
        if self.check_mode:
            return True, predicted, sorted(diff)
        try:
            self.client.update(update_spec(want, before, diff, raw))
        except ConntrackError as exc:
            if exc.errno == errno.ENOENT:
                raise _Vanished()
            raise self._explain(exc, want, diff)
        return True, self._read_back(predicted), sorted(diff)

    def _present_new(self, want):
        if want['timeout'] is None:
            # "the entry" first: the parenthesis must not read as if the namespace were missing
            raise ConntrackError('timeout: required to create the entry %s (no such entry%s)'
                                 % (self.what, self.where), option='timeout')
        predicted = predict_created(want, self.label_map)
        if self.check_mode:
            return True, predicted, ['created']
        try:
            self._create(want)
        except ConntrackError as exc:
            if exc.errno == errno.EEXIST:
                raise _Appeared()
            raise
        after = self._read_back(predicted)
        self._verify_created(after, want)
        return True, after, ['created']

    def run(self):
        """(changed, before, after, changes); tried again when the entry races with us."""
        if self.want['proto'] == 33 and _dccp_untracked():
            # such a kernel ignores DCCP ports: a get or delete would hit another connection
            raise ConntrackError('proto: %r: the running kernel has no DCCP connection tracking '
                                 '(no nf_conntrack_dccp_* sysctls): it ignores DCCP ports, so '
                                 'one connection cannot be named' % 'dccp', option='proto')
        for attempt in range(RACE_ATTEMPTS):
            last = attempt == RACE_ATTEMPTS - 1
            before, raw = self.fetch()
            try:
                if self.want['state'] == 'absent':
                    changed, after, what = self.absent(before)
                else:
                    changed, after, what = self.present(before, raw)
                return changed, before, after, what
            except _Vanished:
                if last:
                    raise ConntrackError('%s%s keeps vanishing while being updated'
                                         % (self.what, self.where), errno_num=errno.ENOENT)
            except _Appeared:
                # EEXIST on a create: another writer created the entry since the get (a
                # race: go again, it is an update now), or another entry holds the same
                # reply tuple, which stays: only a clash that outlasts every attempt is one.
                if last and self.fetch()[0] is None and self._reply_clash():
                    raise ConntrackError(
                        'creating %s%s failed: the kernel has an entry with the same reply '
                        'tuple %s (EEXIST); give reply_src / reply_dst / reply_port_* to make '
                        'the reply tuple unique, or delete that entry'
                        % (self.what, self.where, _tuple_text(self.want['reply'])),
                        errno_num=errno.EEXIST, option='reply_src')
        raise ConntrackError('%s%s: giving up after a race with another writer'
                             % (self.what, self.where))

    def _reply_clash(self):
        """Whether another connection (another original tuple) holds our reply tuple."""
        w = self.want
        holder = self.client.get_by_reply(w['family'], w['proto'], w['reply'],
                                          w.get('zone_reply') or w.get('zone_orig'))
        if holder is None:
            return False
        theirs = holder['orig']
        return any(k in theirs and not _same_value(theirs[k], v)
                   for k, v in w['orig'].items() if v is not None)


def _same_value(a, b):
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


class _Vanished(Exception):
    """The entry disappeared between the get and the update."""


class _Appeared(Exception):
    """The create found an entry already there (EEXIST)."""


def _tuple_text(tup):
    return ' '.join('%s=%s' % (k, v) for k, v in tup.items() if v is not None)


def ensure_entry(client, params, check_mode=False, diff_mode=False):
    """The conntrack_entry result for the module options ``params``."""
    want = build_want(params, client.label_map)
    mgr = EntryManager(client, want, check_mode)
    changed, before, after, what = mgr.run()
    result = {'changed': changed, 'entry': after, 'changes': what}
    if diff_mode:
        result['diff'] = {'before': before, 'after': after,
                          'before_header': mgr.what, 'after_header': mgr.what}
    return result
