# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""conntrack_load's logic: make the entries of a source present in a table.

1. One dump of the table keeps, per entry, two integers: a hash of its key (family,
   original tuple, zone) and a hash of what a load may change (mark, labels, protocol
   state) with four bits (SEEN_REPLY, ASSURED, FIXED_TIMEOUT, has labels): ~100 bytes an
   entry, nothing decoded whole.
2. The source is read once: every entry validated, filtered, aged, compared, and its
   CT_NEW message encoded (_codec.encode.entry_attrs, the encoder every module uses) into
   a spool file.  A bad line fails the load here, before anything was written.
3. The spool goes to the kernel BATCH messages per sendmsg (ConntrackClient.batch).
"""

from __future__ import annotations

import errno
import os
import struct
import tempfile
import time

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import encode as E
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink.transport import BATCH
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.slots import entry_values
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import compile_filter
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_load_source import (
    detect_format, read_file)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

_SR, _AS, _FT = C.IPS_SEEN_REPLY, C.IPS_ASSURED, 1 << C.STATUS_BITS['FIXED_TIMEOUT']
_EXPECTED = 1 << C.STATUS_BITS['EXPECTED']
# status bits a load sets on create (with CONFIRMED, which the kernel needs)
_CREATE_BITS = (1 << C.STATUS_BITS['EXPECTED']) | _SR | _AS | _FT
_NAT_BITS = {'SRC_NAT': 'src_nat', 'DST_NAT': 'dst_nat'}
_KEY_SLOTS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 18, 20, 23, 24, 32)
_REC = struct.Struct('=BBHI')   # action, family, description length, payload length
_CREATE, _UPDATE = 1, 2
MAX_FAILURES = 10


def _status3(status):
    """SEEN_REPLY, ASSURED, FIXED_TIMEOUT of a status word, as 3 bits."""
    return (status >> 1) & 3 | (4 if status & _FT else 0)


def _key(fam, v):
    oz = v[8] if v[8] is not None else (v[23] or 0)
    return hash((fam, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], oz))


def _value(v, proto):
    labels = int.from_bytes(v[32], 'little') if v[32] else 0
    # an SCTP state cannot be sent without its verification tags: not compared
    pstate = None if proto == 132 else v[24]
    return hash((v[20] or 0, pstate, labels)) << 4 | (8 if labels else 0) | _status3(v[18] or 0)


def table_map(client):
    """{key hash: value hash} of every entry in the namespace's table."""
    out = {}

    def on_values(dec, vals, fam, buf, off, mlen):
        out[_key(fam, vals)] = _value(vals, vals[2])
    client.walk(None, on_values=on_values, on_reset=out.clear, lazy=True, slots=_KEY_SLOTS)
    return out


def _describe(entry):
    o = entry.get('orig') or {}

    def port(p):
        return '' if p is None else ':%s' % p
    return '%s %s%s -> %s%s zone %s' % (entry.get('proto'), o.get('src'), port(o.get('sport')),
                                        o.get('dst'), port(o.get('dport')),
                                        entry.get('zone') or 0)


class Plan:
    """The entries read from the source, sorted into what to create and update."""

    def __init__(self):
        self.count = self.created = self.updated = self.unchanged = self.expired = 0
        self.labelled = None   # (family, proto, orig, zone) of a created entry with labels
        self.spool = tempfile.TemporaryFile()

    def add(self, action, family, payload, desc):
        d = desc.encode('utf-8', 'replace')[:400]
        self.spool.write(_REC.pack(action, family, len(d), len(payload)) + d + payload)

    def records(self):
        self.spool.seek(0)
        read = self.spool.read
        while True:
            head = read(_REC.size)
            if len(head) < _REC.size:
                return
            action, family, dlen, plen = _REC.unpack(head)
            desc = read(dlen).decode('utf-8', 'replace')
            yield action, family, desc, read(plen)


class Loader:
    def __init__(self, client, params, filters):
        self.client = client
        self.label_map = client.label_map
        self.names = {name: bit for bit, name in self.label_map.items()}
        self.cfilter = compile_filter(filters, self.label_map) if filters else None
        rewrite = params.get('rewrite') or {}
        self.rw_zone = rewrite.get('zone')
        self.rw_mark = rewrite.get('mark')
        self.rw_timeout = rewrite.get('timeout')
        for opt, val, hi in (('zone', self.rw_zone, 65535), ('mark', self.rw_mark, 0xffffffff),
                             ('timeout', self.rw_timeout, 0xffffffff)):
            if val is not None and not 0 <= val <= hi:
                raise ConntrackError('rewrite.%s: invalid value %r: must be 0 to %d'
                                     % (opt, val, hi), option='rewrite')

    # -- one entry ----------------------------------------------------------------------
    def _bits(self, entry):
        status = 0
        for name in entry.get('status') or ():
            bit = C.STATUS_BITS.get(name)
            if bit is None:
                raise ValueError('status %r is not a status flag' % (name,))
            status |= 1 << bit
        labels = []
        for lab in entry.get('labels') or ():
            if isinstance(lab, int) and not isinstance(lab, bool) and 0 <= lab <= 127:
                labels.append(lab)
            elif isinstance(lab, str) and lab in self.names:
                labels.append(self.names[lab])
            else:
                raise ValueError('label %r: neither a bit number (0-127) nor a name of this '
                                 "host's connlabel.conf" % (lab,))
        return status, labels

    def rewrite(self, entry):
        if self.rw_zone is None and self.rw_mark is None:
            return entry
        entry = dict(entry)
        if self.rw_zone is not None:
            entry['zone'] = self.rw_zone
            entry.pop('orig_zone', None)
            entry.pop('reply_zone', None)
        if self.rw_mark is not None:
            entry['mark'] = self.rw_mark
        return entry

    def spec(self, entry, status, labels, timeout):
        fam = C.FAMILY_NUMBERS.get(entry.get('family'))
        if fam not in (C.AF_INET, C.AF_INET6):
            raise ValueError('family %r is neither ipv4 nor ipv6' % (entry.get('family'),))
        proto = entry.get('proto_num')
        if proto is None:
            proto = C.PROTO_NUMBERS.get(entry.get('proto'))
            if proto is None and str(entry.get('proto')).isdigit():
                proto = int(entry['proto'])
        if not isinstance(proto, int) or not 0 <= proto <= 255:
            raise ValueError('proto %r is not a protocol' % (entry.get('proto'),))
        orig, reply = entry.get('orig'), entry.get('reply')
        if not isinstance(orig, dict) or not isinstance(reply, dict):
            raise ValueError('orig and reply must be tuples ({src, dst, ...})')
        spec = {'family': fam, 'proto': proto, 'orig': orig, 'reply': reply,
                'timeout': timeout, 'mark': entry.get('mark') or 0, 'labels': labels,
                'status': (status & _CREATE_BITS)}
        zone = entry.get('zone') or 0
        oz, rz = entry.get('orig_zone', zone), entry.get('reply_zone', zone)
        if oz == rz:
            spec['zone'] = oz
        elif oz:
            spec['orig_zone'] = oz
        else:
            spec['reply_zone'] = rz
        pstate = entry.get('proto_state')
        if pstate is not None and proto in C.PROTO_STATES:
            states = C.PROTO_STATES[proto]
            if pstate not in states:
                raise ValueError('proto_state %r is not a state of %s' % (pstate, proto))
            spec['proto_state'] = states.index(pstate)
            if proto == 132:
                spec['sctp_vtags'] = (entry.get('sctp_vtag_orig') or 0,
                                      entry.get('sctp_vtag_reply') or 0)
        nat = [key for name, key in _NAT_BITS.items() if status & (1 << C.STATUS_BITS[name])]
        if nat:
            # Packets are translated only where the kernel set the NAT up itself
            # (CTA_NAT_*, which sets SRC_NAT/DST_NAT): it is given the un-NATed reply and
            # computes the NATed one from the addresses and ports.
            spec['reply'] = E.mirror(orig, proto)
            ports = proto in C.PORT_PROTOS
            if 'dst_nat' in nat:
                spec['dst_nat'] = reply['src']
                spec['dst_nat_port'] = reply.get('sport') if ports else None
            if 'src_nat' in nat:
                spec['src_nat'] = reply['dst']
                spec['src_nat_port'] = reply.get('dport') if ports else None
        if entry.get('helper'):
            spec['helper'] = entry['helper']
        return spec

    def plan(self, source, saved_at, existing, check_mode):
        plan = Plan()
        age = max(0, int(time.time()) - int(saved_at)) if saved_at else 0
        cfilter = self.cfilter
        for where, raw in source:
            try:
                if not isinstance(raw, dict):
                    raise ValueError('not an entry (a dict)')
                vals, fam = entry_values(raw, self.label_map)
                # the filters select from the source, before the rewrite
                if cfilter is not None and not cfilter.matches_values(vals, fam):
                    continue
                entry = self.rewrite(raw)
                if entry is not raw:
                    vals, fam = entry_values(entry, self.label_map)
            except (TypeError, ValueError, AttributeError, IndexError) as exc:
                raise ConntrackError('%s: %s' % (where, exc))
            plan.count += 1
            try:
                status, labels = self._bits(entry)
                timeout = entry.get('timeout')
                if self.rw_timeout is not None:
                    timeout = self.rw_timeout
                elif timeout is None:
                    raise ValueError('timeout missing (or give rewrite.timeout)')
                elif age:
                    timeout -= age
                    if timeout <= 0:
                        plan.expired += 1
                        continue
                spec = self.spec(entry, status, labels, timeout)
                have = existing.get(_key(fam, vals))
                if have is None:
                    action = _CREATE
                    payload = E.entry_attrs(spec, create=True)
                else:
                    lab_int = 0
                    for b in labels:
                        lab_int |= 1 << b
                    pstate = None if spec['proto'] == 132 else spec.get('proto_state')
                    want3 = _status3(status) | (have & 3)   # SEEN_REPLY/ASSURED stay set
                    if have >> 4 == hash((spec['mark'], pstate, lab_int)) and \
                            want3 == have & 7:
                        plan.unchanged += 1
                        continue
                    action = _UPDATE
                    upd = dict(spec)
                    if want3 == have & 7:
                        del upd['status']
                    else:
                        # the kernel answers EBUSY when CONFIRMED or EXPECTED would change
                        upd['status'] = (((want3 & 3) << 1) | (_FT if want3 & 4 else 0)
                                         | C.IPS_CONFIRMED | (status & _EXPECTED))
                    if not labels and not have & 8:
                        # no labels either side: nothing to send (and a namespace without
                        # a connlabel user refuses any CTA_LABELS, even all zero)
                        del upd['labels']
                    if self.rw_timeout is None:
                        upd.pop('timeout')
                    if spec['proto'] == 132:
                        upd.pop('proto_state', None)
                    for key in ('src_nat', 'dst_nat', 'helper'):
                        upd.pop(key, None)
                    payload = E.entry_attrs(upd, create=False)
            except (KeyError, TypeError, ValueError, OSError, struct.error,
                    OverflowError) as exc:
                raise ConntrackError('%s: %s' % (where, exc or type(exc).__name__))
            if action == _CREATE:
                plan.created += 1
                if labels and plan.labelled is None:
                    plan.labelled = (spec['family'], spec['proto'], spec['orig'],
                                     spec.get('zone'))
            else:
                plan.updated += 1
            if not check_mode:
                plan.add(action, spec['family'], payload, _describe(entry))
        return plan

    # -- the writes ---------------------------------------------------------------------
    def apply(self, plan):
        failures, failed = [], 0
        created = updated = 0
        chunk, descs = [], []

        def flush():
            nonlocal failed, created, updated
            res = self.client.batch(chunk, what='loading entries')
            for (_s, _m, flags, _f, _p), desc, err in zip(chunk, descs, res):
                is_create = bool(flags & C.NLM_F_EXCL)
                if not err:
                    if is_create:
                        created += 1
                    else:
                        updated += 1
                    continue
                failed += 1
                if len(failures) < MAX_FAILURES:
                    failures.append({'entry': desc, 'msg': _errmsg(err, is_create)})
            del chunk[:]
            del descs[:]

        for action, family, desc, payload in plan.records():
            flags = C.NLM_F_CREATE | C.NLM_F_EXCL if action == _CREATE else 0
            chunk.append((C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_NEW, flags, family, payload))
            descs.append(desc)
            if len(chunk) >= BATCH:
                flush()
        if chunk:
            flush()
        return created, updated, failed, failures

    def labels_kept(self, plan):
        """False when the kernel dropped the labels of a created entry (no ct label user)."""
        if plan.labelled is None:
            return True
        fam, proto, orig, zone = plan.labelled
        got = self.client.get(fam, proto, orig, zone)
        return got is None or bool(got.get('labels'))


def _errmsg(err, is_create):
    if err == errno.ENOMEM:
        return 'the table is full (nf_conntrack_max reached): ENOMEM'
    if err == errno.EEXIST:
        return 'the entry appeared meanwhile (EEXIST)'
    if err == errno.ENOENT and not is_create:
        return 'the entry expired or was deleted meanwhile (ENOENT)'
    if err == errno.ENOSPC:
        return ('labels need a connlabel user in this namespace (an nftables rule with '
                '"ct label"): ENOSPC')
    if err == errno.EOPNOTSUPP:
        return 'the kernel does not support this here (NAT or helper not loaded?): EOPNOTSUPP'
    return '%s: %s' % (errno.errorcode.get(err, err), os.strerror(err))


def load_table(client, filters, params, check_mode=False, diff_mode=False, warn=None):
    """The conntrack_load result."""
    src, entries = params.get('src'), params.get('entries')
    if (src is None) == (entries is None):
        raise ConntrackError('src, entries: give exactly one of them', option='src')
    loader = Loader(client, params, filters)
    if src is not None:
        fmt = params.get('format') or 'auto'
        if fmt == 'auto':
            fmt = detect_format(src)
        if fmt not in ('jsonl', 'save'):
            raise ConntrackError('format: invalid value %r: expected auto, jsonl or save'
                                 % fmt, option='format')
        saved_at, rows = read_file(src, fmt)
        source = (('src: %s line %d' % (src, n), e) for n, e in rows)
    else:
        saved_at = None
        source = (('entries[%d]' % i, e) for i, e in enumerate(entries))
    existing = table_map(client)
    plan = loader.plan(source, saved_at, existing, check_mode)
    del existing
    result = {'changed': bool(plan.created or plan.updated), 'count': plan.count,
              'created': plan.created, 'updated': plan.updated, 'unchanged': plan.unchanged,
              'expired': plan.expired, 'refused': 0, 'failures': []}
    if check_mode:
        return result
    created, updated, refused, failures = loader.apply(plan)
    result.update(created=created, updated=updated, refused=refused, failures=failures,
                  changed=bool(created or updated))
    if refused:
        # none lost silently: a refusal fails the task, with every count kept. The count is
        # `refused`, not `failed`: ansible-core keeps `failed` for itself (a bool; 2.21
        # converts an int there to a bool with a warning)
        result['failed'] = True
        result['msg'] = ('%d of %d entries were refused (%d created, %d updated): %s'
                         % (refused, plan.count, created, updated, failures[0]['msg']))
    if created and warn is not None and not loader.labels_kept(plan):
        warn('the kernel dropped the labels of the created entries: labels need a connlabel '
             'user in the namespace (an nftables rule with "ct label")')
    return result
