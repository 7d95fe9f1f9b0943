# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""The ``-o xml`` document and the ``-o save`` lines of ``conntrack -L`` (conntrack-tools
1.4.7, libnetfilter_conntrack 1.0.9), character for character, one entry at a time so
that conntrack_save can stream them.

xml: a header (``<?xml ...?>`` and ``<conntrack>``), one ``<flow>`` line per entry, the
footer ``</conntrack>``.  The ``id`` flag changes nothing (the library prints ``<id>``
whenever the kernel sent one), ``timestamp`` neither (it stamps events), ``ktimestamp``
adds ``<timestamp><start>NS</start>[<stop>NS</stop>]</timestamp>``, ``labels`` adds
``<labels><label>NAME</label>...</labels>`` (named bits only) when the host has a
connlabel.conf.  The library prints SCTP and DCCP states with the TCP state names of
the same number (its ``states[]`` table): copied, so that the text is the command's.

save: ``-A -t TIMEOUT -u STATUS [-w ZONE] [--orig-zone N] [--reply-zone N] -s A -d B
-r|-g C -q|-n D -p PROTO [protocol options]``; ``-g``/``-n`` replace ``-r``/``-q`` when
the entry carries DST_NAT_DONE/SRC_NAT_DONE and the address differs from the mirror.
``extra=True`` adds what the command's save forgets, for conntrack_save: the mark as
``-m N`` after ``-u`` (before it the 1.4.7 CLI stores the status bits as the mark), the
labels that have a connlabel.conf name as ``--label-add A,B``, and a comment line
``# labels N,M`` for bits without a name (conntrack_load reads it, the CLI skips it).
"""

from __future__ import annotations

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C

XML_HEADER = ('<?xml version="1.0" encoding="utf-8"?>', '<conntrack>')
XML_FOOTER = '</conntrack>'

_L3_XML = {'ipv4': '<layer3 protonum="2" protoname="ipv4">',
           'ipv6': '<layer3 protonum="10" protoname="ipv6">'}
_L4_NAMES = {1: 'icmp', 6: 'tcp', 17: 'udp', 33: 'dccp', 47: 'gre', 58: 'icmpv6',
             132: 'sctp', 136: 'udplite'}
_PORTS = frozenset((6, 17, 33, 132, 136))
_NSEC = 1000000000

# -u: the status bits conntrack's save knows, in bit order (conntrack_status_map)
_SAVE_STATUS = (('EXPECTED', 'EXPECTED'), ('SEEN_REPLY', 'SEEN_REPLY'),
                ('ASSURED', 'ASSURED'), ('FIXED_TIMEOUT', 'FIXED_TIMEOUT'))
# SCTP states conntrack 1.4.7's save table has no name for (it prints "(null)")
_SCTP_UNNAMED = frozenset(('HEARTBEAT_SENT',))
_ICMP_OPTS = {1: ('--icmp-type', '--icmp-code', '--icmp-id'),
              58: ('--icmpv6-type', '--icmpv6-code', '--icmpv6-id')}


def _proto(e):
    proto = e.get('proto_num')
    return C.PROTO_NUMBERS[e['proto']] if proto is None else proto


def _pstate_number(proto, name):
    states = C.PROTO_STATES.get(proto)
    if states and name in states:
        return states.index(name)
    return None


class DocFormatter:
    """xml flows and save lines for one set of output flags (see _ct_format.parse_output).

    ``labelmap``: {bit: name} of connlabel.conf for ``labels`` (xml) and ``extra`` (save);
    None or empty: the host has none (xml then prints no labels).
    """

    def __init__(self, flags=frozenset(), now=None, labelmap=None, extra=False):
        self.ktimestamp = 'ktimestamp' in flags
        self.labels = 'labels' in flags
        self.labelmap = labelmap
        self.extra = extra
        self.now = now

    # -- xml ------------------------------------------------------------------------
    def _xml_dir(self, e, tup, direction, zone, counters, proto, l4open):
        out = ['<meta direction="%s">' % direction, _L3_XML.get(e['family']) or
               '<layer3 protonum="0" protoname="unknown">',
               '<src>%s</src><dst>%s</dst></layer3>' % (tup['src'], tup['dst']), l4open]
        if proto in _PORTS:
            out.append('<sport>%d</sport><dport>%d</dport>'
                       % (tup.get('sport') or 0, tup.get('dport') or 0))
        elif proto == 47:
            out.append('<srckey>0x%x</srckey><dstkey>0x%x</dstkey>' % (
                tup.get('src_key') or 0, tup.get('dst_key') or 0))
        out.append('</layer4>')
        if zone:
            out.append('<zone>%d</zone>' % zone)
        if counters:
            out.append('<counters><packets>%d</packets><bytes>%d</bytes></counters>'
                       % (counters['packets'], counters['bytes']))
        out.append('</meta>')
        return ''.join(out)

    def xml_flow(self, e):
        """One entry's ``<flow>...</flow>`` line."""
        proto = _proto(e)
        l4open = '<layer4 protonum="%d" protoname="%s">' % (proto,
                                                            _L4_NAMES.get(proto, 'unknown'))
        counters = e.get('counters') or {}
        out = ['<flow>',
               self._xml_dir(e, e['orig'], 'original', e.get('orig_zone'),
                             counters.get('orig'), proto, l4open),
               self._xml_dir(e, e['reply'], 'reply', e.get('reply_zone'),
                             counters.get('reply'), proto, l4open),
               '<meta direction="independent">']
        pstate = e.get('proto_state')
        if pstate is not None:
            num = _pstate_number(proto, pstate)
            # the library's TCP names for every protocol's state number
            out.append('<state>%s</state>' % (C.TCP_STATES[num] if num is not None
                                              and num < len(C.TCP_STATES) else pstate))
        if e.get('timeout') is not None:
            out.append('<timeout>%d</timeout>' % e['timeout'])
        if e.get('mark') is not None:
            out.append('<mark>%d</mark>' % e['mark'])
        labels = e.get('labels')
        if self.labels and self.labelmap and labels:
            out.append('<labels>%s</labels>' % ''.join(
                '<label>%s</label>' % lb for lb in labels if isinstance(lb, str) and lb))
        if e.get('secctx'):
            out.append('<secctx>%s</secctx>' % e['secctx'])
        if e.get('zone'):
            out.append('<zone>%d</zone>' % e['zone'])
        if e.get('use') is not None:
            out.append('<use>%d</use>' % e['use'])
        if e.get('id') is not None:
            out.append('<id>%d</id>' % e['id'])
        status = e.get('status')
        if status is not None:
            if 'ASSURED' in status:
                out.append('<assured/>')
            if 'SEEN_REPLY' not in status:
                out.append('<unreplied/>')
        ts = e.get('timestamp')
        if ts and ts.get('start') is not None:
            start, stop = ts['start'], ts.get('stop')
            if self.ktimestamp:
                out.append('<timestamp><start>%d</start>%s</timestamp>' % (
                    start, '<stop>%d</stop>' % stop if stop else ''))
            if stop:
                delta = (stop - start) // _NSEC
            else:
                delta = self.now - start // _NSEC
            out.append('<deltatime>%d</deltatime>' % delta)
        out.append('</meta>')
        if e.get('helper'):
            out.append('<helper>%s</helper>' % e['helper'])
        out.append('</flow>')
        return ''.join(out)

    # -- save -----------------------------------------------------------------------
    def save_lines(self, e):
        """One entry's ``-A ...`` line, and with ``extra`` its ``# labels`` comment line
        when it has label bits without a name (a list of one or two strings)."""
        proto = _proto(e)
        orig, reply = e['orig'], e['reply']
        status = e.get('status') or ()
        out = ['-A']
        if e.get('timeout') is not None:
            out.append('-t %d' % e['timeout'])
        bits = [name for name, flag in _SAVE_STATUS if flag in status]
        out.append('-u ' + (','.join(bits) if bits else 'UNSET'))
        comment = None
        if self.extra:
            if e.get('mark'):
                out.append('-m %d' % e['mark'])
            named, unnamed = self._split_labels(e.get('labels') or ())
            if named:
                out.append('--label-add ' + ','.join(named))
            if unnamed:
                comment = '# labels ' + ','.join('%d' % b for b in unnamed)
        if e.get('zone'):
            out.append('-w %d' % e['zone'])
        if e.get('orig_zone'):
            out.append('--orig-zone %d' % e['orig_zone'])
        if e.get('reply_zone'):
            out.append('--reply-zone %d' % e['reply_zone'])
        dnat = 'DST_NAT_DONE' in status and reply['src'] != orig['dst']
        snat = 'SRC_NAT_DONE' in status and reply['dst'] != orig['src']
        out.append('-s %s -d %s %s %s %s %s' % (orig['src'], orig['dst'], '-g' if dnat else '-r',
                                                reply['src'], '-n' if snat else '-q',
                                                reply['dst']))
        name = _L4_NAMES.get(proto)
        if name is None:
            out.append('-p %d' % proto)
        else:
            out.append('-p ' + name)
            out.extend(self._save_l4(e, proto, orig, reply, self.extra))
        line = ' '.join(out)
        return [line] if comment is None else [line, comment]

    @staticmethod
    def _save_l4(e, proto, orig, reply, extra):
        out = []
        if proto in _PORTS:
            for opt, tup, key in (('--sport', orig, 'sport'), ('--dport', orig, 'dport'),
                                  ('--reply-port-src', reply, 'sport'),
                                  ('--reply-port-dst', reply, 'dport')):
                if tup.get(key) is not None:
                    out.append('%s %d' % (opt, tup[key]))
            pstate = e.get('proto_state')
            if pstate is not None and proto != 17 and proto != 136:
                if proto == 132 and pstate in _SCTP_UNNAMED and not extra:
                    pstate = '(null)'   # the command's table has no name for it
                out.append('--state %s' % pstate)
                if proto == 132:
                    # conntrack -R refuses an SCTP state without both tags; an entry does
                    # not hold them (0, as a kernel without SCTP traffic reports them)
                    out.append('--orig-vtag %d --reply-vtag %d' % (
                        e.get('sctp_vtag_orig') or 0, e.get('sctp_vtag_reply') or 0))
        elif proto in _ICMP_OPTS:
            for opt, key in zip(_ICMP_OPTS[proto], ('icmp_type', 'icmp_code', 'icmp_id')):
                if orig.get(key) is not None:
                    out.append('%s %d' % (opt, orig[key]))
        elif proto == 47:
            for opt, tup, key in (('--srckey', orig, 'src_key'), ('--dstkey', orig, 'dst_key'),
                                  ('--reply-key-src', reply, 'src_key'),
                                  ('--reply-key-dst', reply, 'dst_key')):
                if tup.get(key) is not None:
                    out.append('%s %d' % (opt, tup[key]))
        return out

    def _split_labels(self, labels):
        named, unnamed = [], []
        for lb in labels:
            if isinstance(lb, str):
                if lb.isdigit():
                    unnamed.append(int(lb))
                elif lb:
                    named.append(lb)
            elif isinstance(lb, int):
                name = (self.labelmap or {}).get(lb)
                if name:
                    named.append(name)
                else:
                    unnamed.append(lb)
        return named, unnamed
