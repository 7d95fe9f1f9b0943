# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""conntrack_entry's logic: one connection declared present or absent.

``build_want`` turns the options into a validated description of the wanted entry, and
``conflicts``/``changes`` compare it with the entry the kernel has (both pure, in
_ct_entry_want, imported here with the rest of that module's API); EntryManager gets,
creates, updates or re-creates the entry through a ConntrackClient, and ``ensure_entry``
is the module's logic.

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

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_entry_want import (  # noqa: F401 pylint: disable=unused-import
    SETTABLE_STATUS, _proto_name, build_want, changes, conflicts, create_spec, entry_zones,
    label_bits, predict_created, predict_updated, recreate_want, update_spec)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

# Get-then-write rounds against other writers of the same entry (each round is cheap).
RACE_ATTEMPTS = 4
_DCCP_SYSCTL = '/proc/sys/net/netfilter/nf_conntrack_dccp_timeout_request'
_CT_SYSCTL = '/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established'


def argument_spec():
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


entry_argument_spec = argument_spec   # its name before every module's spec was argument_spec


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
            raise ConntrackError('timeout: required to create %s%s (it does not exist)'
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


def ensure_entry(client, filters, params, check_mode=False, diff_mode=False, warn=None):
    """The conntrack_entry result for the module options ``params``."""
    want = build_want(params, client.label_map)
    mgr = EntryManager(client, want, check_mode)
    changed, before, after, what = mgr.run()
    result = {'changed': changed, 'entry': after, 'changes': what}
    if diff_mode:
        result['diff'] = {'before': before, 'after': after,
                          'before_header': mgr.what, 'after_header': mgr.what}
    return result
