# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""conntrack_entry's pure part: the options -> the wanted entry (``build_want``, which
validates them and names the option at fault); how an entry of the kernel differs from
it (``conflicts``: only a re-create fixes it, ``changes``: an update does); what the
entry will look like (``predict_*``, for check mode and diffs); the create and update
requests (``create_spec``, ``update_spec``, for _codec.encode.entry_attrs).
"""

from __future__ import annotations

import socket
import struct

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import encode as E
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.decode import find_attr
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.options import (
    fail as _fail, parse_helper, parse_int, parse_labels, parse_mark, parse_network, parse_proto)

# Status flags a user may ask for (CONFIRMED is always there; accepted as a no-op).
SETTABLE_STATUS = ('ASSURED', 'CONFIRMED', 'FIXED_TIMEOUT', 'SEEN_REPLY')
MAX_TIMEOUT = 0xFFFFFFFF
_BE32 = struct.Struct('>I')


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
