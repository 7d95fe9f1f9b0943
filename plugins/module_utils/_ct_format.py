# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Render entries as the text lines ``conntrack -L [-o OUTPUT]`` (conntrack-tools 1.4.7,
libnetfilter_conntrack 1.0.9) prints, character for character.

The layout, checked against the real command on real entries (see the unit tests'
fixtures), is::

  [L3NAME(%-8s) L3NUM ]L4NAME(%-8s) L4NUM TIMEOUT [STATE ]src=.. dst=.. PROTO [zone-orig=N ]
  [packets=N bytes=N ][[UNREPLIED] ]src=.. dst=.. PROTO [zone-reply=N ][packets=N bytes=N ]
  [[HW_OFFLOAD] | [OFFLOAD] | [ASSURED] ]mark=N [secctx=S ][zone=N ][delta-time=N ]
  [[start=CTIME] [stop=CTIME] ][helper=NAME ]use=N[ id=N][ labels=A,B]

where PROTO is ``sport=N dport=N`` (tcp, udp, udplite, sctp, dccp), ``srckey=0xN
dstkey=0xN`` (gre) or ``type=N code=N id=N`` (icmp, icmpv6), and nothing for other
protocols.  Output flags, as the command's ``-o``: ``extended`` (the layer 3 columns),
``id``, ``ktimestamp`` (start/stop times), ``labels`` (named labels); ``timestamp``
is accepted and, as with ``conntrack -L``, changes nothing (it stamps ``-E`` events only).
"""

from __future__ import annotations

import time

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

OUTPUT_FLAGS = ('extended', 'id', 'timestamp', 'ktimestamp', 'labels')

# libnetfilter_conntrack's protocol names; anything else prints as "unknown".
_L4_NAMES = {1: 'icmp', 6: 'tcp', 17: 'udp', 33: 'dccp', 47: 'gre', 58: 'icmpv6',
             132: 'sctp', 136: 'udplite'}
_L3 = {'ipv4': ('ipv4     2 ', C.AF_INET), 'ipv6': ('ipv6     10 ', C.AF_INET6)}
_PORTS = frozenset((6, 17, 33, 132, 136))
_NSEC = 1000000000


def parse_output(output):
    """The set of output flags of ``output``: "extended,id", a list, or empty/None."""
    if output is None:
        return frozenset()
    if isinstance(output, str):
        parts = [p.strip() for p in output.split(',')]
    elif isinstance(output, (list, tuple)):
        parts = []
        for item in output:
            if not isinstance(item, str):
                raise ConntrackError('output: invalid value %r: expected a string such as '
                                     '"extended,id" or a list of them' % (output,),
                                     option='output')
            parts.extend(p.strip() for p in item.split(','))
    else:
        raise ConntrackError('output: invalid value %r: expected a string such as '
                             '"extended,id" or a list of them' % (output,), option='output')
    flags = set()
    for part in parts:
        if not part or part == 'default':
            continue
        if part not in OUTPUT_FLAGS:
            raise ConntrackError('output: invalid value %r: %r is not one of %s (or default)'
                                 % (output, part, ', '.join(OUTPUT_FLAGS)), option='output')
        flags.add(part)
    return frozenset(flags)


def _l4_text(tup, proto):
    # Missing fields print as 0, as the command prints the unset attribute (a DCCP entry
    # of a kernel without the DCCP tracker has no ports: "sport=0 dport=0").
    get = tup.get
    if proto in _PORTS:
        return 'sport=%d dport=%d ' % (get('sport') or 0, get('dport') or 0)
    if proto == 1 or proto == 58:
        return 'type=%d code=%d id=%d ' % (get('icmp_type') or 0, get('icmp_code') or 0,
                                           get('icmp_id') or 0)
    if proto == 47:
        return 'srckey=0x%x dstkey=0x%x ' % (get('src_key') or 0, get('dst_key') or 0)
    return ''


def _ctime(nsec):
    return time.ctime(nsec // _NSEC)


class Formatter:
    """Formats entries for one set of output flags.

    ``now`` (epoch seconds) is the time ``delta-time`` counts to for live entries (the
    command uses its clock at printing time).  ``labelmap`` says whether the host that
    listed the entries has a connlabel.conf: with one, the command prints
    ``labels=NAME,...`` (named bits only) and a bare ``labels`` for an entry whose bits
    all lack a name; without one it prints no labels at all.  None: guess it from the
    entries (a label name anywhere means the file exists).
    """

    def __init__(self, output='extended', now=None, labelmap=None):
        self.flags = parse_output(output)
        self.labelmap = labelmap
        self.extended = 'extended' in self.flags
        self.with_id = 'id' in self.flags
        self.ktimestamp = 'ktimestamp' in self.flags
        self.labels = 'labels' in self.flags
        self.now = int(time.time()) if now is None else int(now)

    def line(self, entry):
        """One entry's line (no newline)."""
        try:
            return self._line(entry)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConntrackError('cannot render entry %s: it lacks the fields of a conntrack '
                                 'entry (%s: %s)' % (_short(entry), type(exc).__name__, exc))

    def _line(self, e):
        proto = e.get('proto_num')
        if proto is None:
            proto = C.PROTO_NUMBERS[e['proto']]
        out = []
        if self.extended:
            fam = e['family']
            l3 = _L3.get(fam)
            out.append(l3[0] if l3 else 'unknown  0 ')
        out.append('%-8s %d ' % (_L4_NAMES.get(proto, 'unknown'), proto))
        timeout = e.get('timeout')
        if timeout is not None:
            out.append('%d ' % timeout)
        pstate = e.get('proto_state')
        if pstate is not None:
            out.append('%s ' % pstate)
        orig, reply = e['orig'], e['reply']
        status = e.get('status')
        out.append('src=%s dst=%s ' % (orig['src'], orig['dst']))
        out.append(_l4_text(orig, proto))
        if e.get('orig_zone'):
            out.append('zone-orig=%d ' % e['orig_zone'])
        counters = e.get('counters')
        if counters:
            out.append('packets=%d bytes=%d ' % (counters['orig']['packets'],
                                                 counters['orig']['bytes']))
        if status is not None and 'SEEN_REPLY' not in status:
            out.append('[UNREPLIED] ')
        out.append('src=%s dst=%s ' % (reply['src'], reply['dst']))
        out.append(_l4_text(reply, proto))
        if e.get('reply_zone'):
            out.append('zone-reply=%d ' % e['reply_zone'])
        if counters:
            out.append('packets=%d bytes=%d ' % (counters['reply']['packets'],
                                                 counters['reply']['bytes']))
        if status:
            if 'HW_OFFLOAD' in status:
                out.append('[HW_OFFLOAD] ')
            elif 'OFFLOAD' in status:
                out.append('[OFFLOAD] ')
            elif 'ASSURED' in status:
                out.append('[ASSURED] ')
        mark = e.get('mark')
        if mark is not None:
            out.append('mark=%d ' % mark)
        if e.get('secctx'):
            out.append('secctx=%s ' % e['secctx'])
        if e.get('zone'):
            out.append('zone=%d ' % e['zone'])
        ts = e.get('timestamp')
        if ts and ts.get('start') is not None:
            start = ts['start']
            stop = ts.get('stop')
            end = stop // _NSEC if stop else self.now
            out.append('delta-time=%d ' % (end - start // _NSEC))
            if self.ktimestamp:
                out.append('[start=%s] ' % _ctime(start))
                if stop:
                    out.append('[stop=%s] ' % _ctime(stop))
        if e.get('helper'):
            out.append('helper=%s ' % e['helper'])
        use = e.get('use')
        if use is not None:
            out.append('use=%d ' % use)
        if self.with_id and e.get('id') is not None:
            out.append('id=%d ' % e['id'])
        if self.labels and self.labelmap:
            labels = e.get('labels')
            if labels:
                names = [lb for lb in labels if isinstance(lb, str) and lb]
                # the command's quirk: "labels=" loses its "=" when no bit has a name
                out.append('labels=%s ' % ','.join(names) if names else 'labels ')
        return ''.join(out)[:-1]

    def lines(self, entries):
        if self.labels and self.labelmap is None:
            self.labelmap = any(isinstance(lb, str) for e in entries if isinstance(e, dict)
                                and isinstance(e.get('labels'), (list, tuple))
                                for lb in e['labels'])
        line = self.line
        return [line(e) for e in entries]


def _short(entry):
    text = repr(entry)
    return text if len(text) <= 120 else text[:117] + '...'


def format_entries(entries, output='extended', now=None, labelmap=None):
    """The lines ``conntrack -L -o OUTPUT`` prints for ``entries`` (a list of str)."""
    return Formatter(output, now, labelmap).lines(entries)
