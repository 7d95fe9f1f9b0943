# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""conntrack_expect's logic: one expectation, declared.

What the kernel (6.x, ctnetlink_create_expect / ctnetlink_alloc_expect) does with an
IPCTNL_MSG_EXP_NEW, and therefore what this module checks before it asks:
  * the master is looked up by tuple in the expectation's zone (ENOENT without one);
  * the master must carry a helper (a help extension), else EOPNOTSUPP: create it with
    a helper (conntrack_entry helper=ftp) or let an nftables ``ct helper`` rule assign one;
  * every tuple (master, expected, mask, NAT) is parsed in full;
  * only the source address and source port of the mask are masks; the destination is
    always matched exactly (dumps show all ones there);
  * CTA_EXPECT_TIMEOUT is ignored on create (the master helper's policy sets it, 300 s
    for ftp) and is the only thing a later EXP_NEW without NLM_F_EXCL changes;
  * CTA_EXPECT_FLAGS loses USERSPACE; CTA_EXPECT_CLASS must not exceed the class
    maximum of the master's helper (EINVAL; ftp has one class);
  * CTA_EXPECT_HELP_NAME once named a helper for the *expected* connection; kernels with
    "ctnetlink: ignore explicit helper on new expectations" (2026 stable updates, this
    6.18) ignore it, even an unknown name.  Dumps show the *master's* helper, so the
    module's ``helper`` is that one: a check on the master, compared like the rest.  The
    attribute is sent only with a class, which older kernels ignored without it;
  * the NAT part keeps the source address and port and the direction; only an expectfn
    (``nat-follow-master``) uses it;
  * a helper limits the expectations per master (ftp: 1), evicting the oldest.
"""

from __future__ import annotations

import errno
import ipaddress

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.options import (
    fail as _fail, parse_int, parse_proto)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

NAT_DIRS = {'original': 0, 'reply': 1}
DEFAULT_FN_WITH_NAT = 'nat-follow-master'
SETTABLE_FLAGS = ('PERMANENT', 'INACTIVE')

_CREATE_HINTS = {
    errno.ENOENT: 'the master connection vanished',
    errno.EOPNOTSUPP: 'the master connection has no helper',
    errno.ESHUTDOWN: 'the master connection has no helper',
    errno.EBUSY: 'it clashes with another expectation that covers the same connections',
    errno.EALREADY: 'an expectation with this tuple exists for another master or class',
    errno.EMFILE: "too many expectations: the master helper's limit per connection, or "
                  'nf_conntrack_expect_max, is reached',
    errno.EINVAL: 'the kernel refused an attribute (a class above the maximum of helper '
                  '%(helper)s, or an unknown fn?)',
}


def _addr(option, value, version=None):
    if not isinstance(value, str) or not value.strip():
        _fail(option, value, 'expected an IPv4 or IPv6 address')
    try:
        addr = ipaddress.ip_address(value.strip())
    except ValueError:
        _fail(option, value, 'not an IPv4 or IPv6 address')
    if version is not None and addr.version != version:
        _fail(option, value, 'an IPv%d address is needed here (the master is IPv%d)'
              % (version, version))
    return addr


def _port(option, value, required):
    if value is None:
        if required:
            raise ConntrackError('%s: required for this protocol' % option, option=option)
        return None
    return parse_int(option, value, 0, 65535)


def _uses_ports(proto):
    return proto in C.PORT_PROTOS or proto == C.GRE_PROTO


def _check_proto(option, proto):
    if proto in C.ICMP_PROTOS:
        _fail(option, C.PROTO_NAMES[proto], 'the kernel has no expectations for ICMP')
    return proto


def _mask_addr(option, value, version):
    """Mask as an address string, from an address ("255.255.255.0") or a prefix length."""
    bits = 32 if version == 4 else 128
    if isinstance(value, int) and not isinstance(value, bool) or \
            isinstance(value, str) and value.strip().isdigit():
        plen = parse_int(option, value, 0, bits)
        return str(ipaddress.ip_network('%s/%d' % ('0.0.0.0' if version == 4 else '::', plen)
                                        ).netmask)
    return str(_addr(option, value, version))


def build_spec(params):
    """Validate the module's options; returns (spec, warnings).

    spec: family (number), master_proto, proto (numbers), master, tuple, mask (tuple
    dicts with string addresses), zone, timeout, helper, flags (bits), flag_names, class,
    fn, nat ({dir, src, sport}) -- what _ct_encode.expect_attrs takes, plus the names.
    """
    warnings = []
    state = params.get('state') or 'present'
    master_p = params.get('master') or {}
    tuple_p = params.get('tuple') or {}
    mask_p = params.get('mask') or {}
    if not tuple_p:
        raise ConntrackError('tuple: required (the expected connection)', option='tuple')
    if state == 'present' and not master_p:
        raise ConntrackError('master: required with state=present (the master connection)',
                             option='master')

    # protocols
    mproto = None
    if master_p.get('proto') is not None:
        mproto = _check_proto('master.proto', parse_proto('master.proto', master_p['proto']))
    elif master_p:
        raise ConntrackError('master.proto: required', option='master.proto')
    if tuple_p.get('proto') is not None:
        proto = _check_proto('tuple.proto', parse_proto('tuple.proto', tuple_p['proto']))
    elif mproto is not None:
        proto = mproto
    else:
        raise ConntrackError('tuple.proto: required when master is not given', option='tuple.proto')

    # addresses: the family is the master's (or the expected destination's)
    if tuple_p.get('dst') is None:
        raise ConntrackError('tuple.dst: required', option='tuple.dst')
    first = _addr('master.src', master_p['src']) if master_p.get('src') is not None else \
        _addr('tuple.dst', tuple_p['dst'])
    version = first.version
    family = C.AF_INET if version == 4 else C.AF_INET6
    zero = '0.0.0.0' if version == 4 else '::'
    ones = '255.255.255.255' if version == 4 else 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'

    master = None
    if master_p:
        for key in ('src', 'dst'):
            if master_p.get(key) is None:
                raise ConntrackError('master.%s: required' % key, option='master.' + key)
        master = {'src': str(_addr('master.src', master_p['src'], version)),
                  'dst': str(_addr('master.dst', master_p['dst'], version))}
        if _uses_ports(mproto):
            master['sport'] = _port('master.sport', master_p.get('sport'), True)
            master['dport'] = _port('master.dport', master_p.get('dport'), True)
        elif master_p.get('sport') is not None or master_p.get('dport') is not None:
            raise ConntrackError('master.sport/dport: protocol %s has no ports'
                                 % C.PROTO_NAMES.get(mproto, mproto), option='master.sport')

    src_given = tuple_p.get('src') is not None
    tup = {'src': str(_addr('tuple.src', tuple_p['src'], version)) if src_given else zero,
           'dst': str(_addr('tuple.dst', tuple_p['dst'], version))}
    mask = {'src': ones if src_given else zero, 'dst': ones}
    if _uses_ports(proto):
        sport = _port('tuple.sport', tuple_p.get('sport'), False)
        tup['sport'] = sport or 0
        tup['dport'] = _port('tuple.dport', tuple_p.get('dport'), True)
        mask['sport'] = 0xFFFF if sport else 0
        mask['dport'] = 0xFFFF
    elif tuple_p.get('sport') is not None or tuple_p.get('dport') is not None:
        raise ConntrackError('tuple.sport/dport: protocol %s has no ports'
                             % C.PROTO_NAMES.get(proto, proto), option='tuple.sport')

    # the mask: only the source side is a mask in the kernel
    if mask_p.get('src') is not None:
        mask['src'] = _mask_addr('mask.src', mask_p['src'], version)
    if mask_p.get('sport') is not None:
        if not _uses_ports(proto):
            raise ConntrackError('mask.sport: protocol %s has no ports'
                                 % C.PROTO_NAMES.get(proto, proto), option='mask.sport')
        mask['sport'] = parse_int('mask.sport', mask_p['sport'], 0, 0xFFFF)
    if mask_p.get('dst') is not None and _mask_addr('mask.dst', mask_p['dst'], version) != ones:
        _fail('mask.dst', mask_p['dst'], 'the kernel always matches the destination exactly; '
              'leave it out or give %s' % ones)
    if mask_p.get('dport') is not None and parse_int('mask.dport', mask_p['dport'], 0,
                                                     0xFFFF) != 0xFFFF:
        _fail('mask.dport', mask_p['dport'], 'the kernel always matches the destination port '
              'exactly; leave it out or give 65535')

    # zone: the expectation's zone is its master's
    zone = params.get('zone')
    mzone = master_p.get('zone')
    if zone is not None and mzone is not None and zone != mzone:
        raise ConntrackError('zone (%s) and master.zone (%s) differ: an expectation lives in '
                             "its master's zone; give one of them" % (zone, mzone),
                             option='zone')
    zone = parse_int('zone', zone if zone is not None else (mzone or 0), 0, 65535)

    timeout = params.get('timeout')
    if timeout is not None:
        timeout = parse_int('timeout', timeout, 1, 0x7FFFFFFF // 1000)
    helper = params.get('helper')
    if helper is not None and (not isinstance(helper, str) or not helper.strip()):
        _fail('helper', helper, 'expected a helper name such as ftp')
    flag_names = []
    for name in params.get('flags') or ():
        key = str(name).strip().upper()
        if key == 'USERSPACE':
            warnings.append('flags: USERSPACE is set by the kernel itself and removed from '
                            'requests; it is ignored')
        elif key in SETTABLE_FLAGS:
            if key not in flag_names:
                flag_names.append(key)
        else:
            _fail('flags', name, 'expected PERMANENT, INACTIVE or USERSPACE')
    klass = parse_int('class', params.get('class') or 0, 0, 0xFFFFFFFF)
    fn = params.get('fn')
    nat = None
    nat_p = params.get('nat')
    if nat_p:
        ntup = nat_p.get('tuple') or {}
        ndir = nat_p.get('dir') or 'original'
        if ndir not in NAT_DIRS:
            _fail('nat.dir', ndir, 'expected original or reply')
        if ntup.get('src') is None:
            raise ConntrackError('nat.tuple.src: required', option='nat.tuple.src')
        nat = {'dir': NAT_DIRS[ndir],
               'src': str(_addr('nat.tuple.src', ntup['src'], version)),
               'sport': parse_int('nat.tuple.sport', ntup.get('sport') or 0, 0, 65535)}
        if fn is None:
            fn = DEFAULT_FN_WITH_NAT
    bits = 0
    for name in flag_names:
        bits |= C.EXPECT_FLAGS[name]
    spec = {'family': family, 'master_proto': mproto, 'proto': proto, 'master': master,
            'tuple': tup, 'mask': mask, 'zone': zone, 'timeout': timeout,
            'helper': helper.strip() if helper else None, 'flags': bits,
            'flag_names': sorted(flag_names), 'class': klass, 'fn': fn or None, 'nat': nat}
    return spec, warnings


def _norm_addr(value):
    try:
        return str(ipaddress.ip_address(value))
    except (TypeError, ValueError):
        return value


def _tuple_cmp(tup, keys=('src', 'dst', 'sport', 'dport')):
    return {k: _norm_addr(tup.get(k)) if k in ('src', 'dst') else tup.get(k) for k in keys
            if k in tup}


def desired_view(spec, master_entry=None):
    """The expectation dict (conntrack_info table=expect shape) the spec describes."""
    family = C.FAMILY_NAMES[spec['family']]
    zero = '0.0.0.0' if spec['family'] == C.AF_INET else '::'

    def with_proto(tup, proto):
        out = dict(tup)
        out['proto'] = C.PROTO_NAMES.get(proto, str(proto))
        out['proto_num'] = proto
        return out
    master = spec['master'] or {}
    if master_entry is not None:
        master = dict(master_entry['orig'])
    nat = None
    if spec['nat']:
        nat = {'dir': 'reply' if spec['nat']['dir'] else 'original',
               'tuple': with_proto({'src': spec['nat']['src'], 'dst': zero,
                                    'sport': spec['nat']['sport'], 'dport': 0},
                                   spec['master_proto'])}
    return {'id': None, 'family': family,
            'master': with_proto(master, spec['master_proto']) if master else {},
            'tuple': with_proto(spec['tuple'], spec['proto']), 'mask': dict(spec['mask']),
            'timeout': spec['timeout'],
            'helper': master_entry.get('helper') if master_entry is not None else None,
            'zone': spec['zone'], 'flags': list(spec['flag_names']), 'class': spec['class'],
            'nat': nat, 'fn': spec['fn'], 'proto': C.PROTO_NAMES.get(spec['proto'],
                                                                     str(spec['proto'])),
            'proto_num': spec['proto']}


def differences(current, spec, master_entry):
    """Names of what differs between a kernel expectation and the spec: not the timeout,
    which falls; the helper is the master's, checked when the master is looked up."""
    out = []
    if master_entry is not None:
        want = _tuple_cmp(master_entry['orig'])
        if _tuple_cmp(current.get('master') or {}, tuple(want)) != want or \
                (current.get('master') or {}).get('proto_num') != master_entry['proto_num']:
            out.append('master')
    if _tuple_cmp(current.get('tuple') or {}) != _tuple_cmp(spec['tuple']) or \
            current.get('proto_num') != spec['proto']:
        out.append('tuple')
    cur_mask = current.get('mask') or {}
    if _norm_addr(cur_mask.get('src')) != _norm_addr(spec['mask']['src']) or \
            (cur_mask.get('sport') or 0) != (spec['mask'].get('sport') or 0):
        out.append('mask')
    if sorted(f for f in current.get('flags') or () if f != 'USERSPACE') != spec['flag_names']:
        out.append('flags')
    if (current.get('class') or 0) != spec['class']:
        out.append('class')
    if (current.get('fn') or None) != spec['fn']:
        out.append('fn')
    cur_nat = current.get('nat')
    if spec['nat'] is None:
        if cur_nat:
            out.append('nat')
    elif not cur_nat or NAT_DIRS.get(cur_nat.get('dir')) != spec['nat']['dir'] or \
            _norm_addr((cur_nat.get('tuple') or {}).get('src')) != spec['nat']['src'] or \
            ((cur_nat.get('tuple') or {}).get('sport') or 0) != spec['nat']['sport']:
        out.append('nat')
    return out


def _find_master(client, spec):
    """The master conntrack entry, or a clear error."""
    master = spec['master']
    entry = client.get(spec['family'], spec['master_proto'], master, spec['zone'] or None)
    where = ' in zone %d' % spec['zone'] if spec['zone'] else ''
    if client.netns:
        where += ' of network namespace %r' % client.netns
    desc = '%s %s -> %s' % (C.PROTO_NAMES.get(spec['master_proto'], spec['master_proto']),
                            _endpoint(master, 'src', 'sport'), _endpoint(master, 'dst', 'dport'))
    if entry is None:
        raise ConntrackError('master: no conntrack entry %s%s; an expectation needs an existing '
                             'master connection' % (desc, where), errno_num=errno.ENOENT,
                             option='master')
    if not entry.get('helper'):
        raise ConntrackError('master: the conntrack entry %s%s has no helper; the kernel attaches '
                             'expectations only to connections with a helper (create the master '
                             'with helper: ftp, or assign one with an nftables ct helper rule)'
                             % (desc, where), errno_num=errno.EOPNOTSUPP, option='master')
    if spec['helper'] and entry['helper'] != spec['helper']:
        raise ConntrackError('helper: the master connection %s%s has helper %s, not %s (an '
                             "expectation's helper is its master's)"
                             % (desc, where, entry['helper'], spec['helper']), option='helper')
    return entry


def _endpoint(tup, addr, port):
    if tup.get(port) is None:
        return tup.get(addr)
    if ':' in (tup.get(addr) or ''):
        return '[%s]:%s' % (tup[addr], tup[port])
    return '%s:%s' % (tup[addr], tup[port])


def _create(client, spec, master_entry):
    # the helper name goes along only with a class (see the module docstring)
    spec = dict(spec, helper=master_entry['helper'] if spec['class'] else None)
    try:
        client.expect_create(spec)
    except ConntrackError as exc:
        hint = _CREATE_HINTS.get(exc.errno)
        if hint:
            raise ConntrackError('%s: %s' % (exc.msg, hint % {'helper': master_entry['helper']}),
                                 errno_num=exc.errno)
        raise
    if spec['timeout'] is not None:
        client.expect_update(spec)


def _tuple_options(required_dst):
    return {'src': {'type': 'str'},
            'dst': {'type': 'str', 'required': required_dst},
            'proto': {'type': 'raw'},
            'sport': {'type': 'int'},
            'dport': {'type': 'int'}}


def argument_spec():
    """conntrack_expect's options (besides the common netns); a fresh dict per call."""
    return {
        'state': {'type': 'str', 'default': 'present', 'choices': ['present', 'absent']},
        'master': {'type': 'dict', 'options': {
            'proto': {'type': 'raw', 'required': True},
            'src': {'type': 'str', 'required': True},
            'dst': {'type': 'str', 'required': True},
            'sport': {'type': 'int'},
            'dport': {'type': 'int'},
            'zone': {'type': 'int'}}},
        'tuple': {'type': 'dict', 'required': True, 'options': _tuple_options(True)},
        'mask': {'type': 'dict', 'options': {
            'src': {'type': 'raw'}, 'sport': {'type': 'int'},
            'dst': {'type': 'str'}, 'dport': {'type': 'int'}}},
        'zone': {'type': 'int'},
        'timeout': {'type': 'int'},
        'refresh_timeout': {'type': 'bool', 'default': False},
        'helper': {'type': 'str'},
        'flags': {'type': 'list', 'elements': 'str',
                  'choices': ['PERMANENT', 'INACTIVE', 'USERSPACE']},
        'class': {'type': 'int', 'default': 0},
        'fn': {'type': 'str'},
        'nat': {'type': 'dict', 'options': {
            'dir': {'type': 'str', 'default': 'original', 'choices': ['original', 'reply']},
            'tuple': {'type': 'dict', 'required': True, 'options': {
                'src': {'type': 'str', 'required': True},
                'sport': {'type': 'int', 'default': 0}}}}},
    }


REQUIRED_IF = [('state', 'present', ['master'])]


def ensure(client, filters, params, check_mode=False, diff_mode=False, warn=None):
    """The conntrack_expect result for the module's params."""
    spec, warnings = build_spec(params)
    for msg in warnings:
        if warn is not None:
            warn(msg)
    state = params.get('state') or 'present'
    fam, proto, zone = spec['family'], spec['proto'], spec['zone']
    current = client.expect_get(fam, proto, spec['tuple'], zone or None)
    result = {'changed': False, 'expect': current or {}, 'differences': []}
    if state == 'absent':
        if current is not None:
            result['changed'] = True
            if not check_mode:
                client.expect_delete(fam, proto, spec['tuple'], zone or None, current.get('id'))
            result['expect'] = {}
        if diff_mode:
            result['diff'] = {'before': current or {}, 'after': {}}
        return result

    master_entry = _find_master(client, spec)
    if current is not None:
        result['differences'] = differences(current, spec, master_entry)
    if current is not None and not result['differences']:
        after = current
        if params.get('refresh_timeout') and spec['timeout'] is not None:
            result['changed'] = True
            result['differences'] = ['timeout']
            if check_mode:
                after = dict(current, timeout=spec['timeout'])
            else:
                client.expect_update(spec)
                after = client.expect_get(fam, proto, spec['tuple'], zone or None) or current
        result['expect'] = after
        if diff_mode:
            result['diff'] = {'before': current, 'after': after}
        return result

    result['changed'] = True
    if current is None:
        result['differences'] = ['state']
    after = desired_view(spec, master_entry)
    if not check_mode:
        if current is not None:
            client.expect_delete(fam, proto, spec['tuple'], zone or None, current.get('id'))
        _create(client, spec, master_entry)
        after = client.expect_get(fam, proto, spec['tuple'], zone or None)
        if after is None:
            raise ConntrackError('the expectation was created but is gone at once (timed out, '
                                 'or already used by a matching connection)')
        left = differences(after, spec, master_entry)
        if left and warn is not None:
            warn('the kernel stored the expectation differently from what was asked: %s'
                 % ', '.join(left))
    result['expect'] = after
    if diff_mode:
        result['diff'] = {'before': current or {}, 'after': after}
    return result
