# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""conntrack_load's sources: a jsonl file of conntrack_save, a file of ``conntrack``
argument lines (``conntrack -L -o save``, or conntrack_save's ``save`` with ``-m``,
``--label-add`` and ``# labels N,M`` comments), or a list of entries.  Each yields
entries in conntrack_info's shape (the fields a load uses), with the line number."""

from __future__ import annotations

import json

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.encode import mirror
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

_NAMES = {'tcp': 6, 'udp': 17, 'udplite': 136, 'icmp': 1, 'icmpv6': 58, 'sctp': 132,
          'dccp': 33, 'gre': 47}
_STATUS_WORDS = {'ASSURED', 'SEEN_REPLY', 'FIXED_TIMEOUT', 'EXPECTED', 'OFFLOAD',
                 'HW_OFFLOAD'}

# option -> (entry field path, kind)
_OPTS = {
    '-t': ('timeout', 'int'), '--timeout': ('timeout', 'int'),
    '-u': ('status', 'status'), '--status': ('status', 'status'),
    '-m': ('mark', 'int'), '--mark': ('mark', 'int'),
    '-w': ('zone', 'int'), '--zone': ('zone', 'int'),
    '--orig-zone': ('orig_zone', 'int'), '--reply-zone': ('reply_zone', 'int'),
    '-s': ('orig.src', 'addr'), '--src': ('orig.src', 'addr'), '--orig-src': ('orig.src', 'addr'),
    '-d': ('orig.dst', 'addr'), '--dst': ('orig.dst', 'addr'), '--orig-dst': ('orig.dst', 'addr'),
    '-r': ('reply.src', 'addr'), '--reply-src': ('reply.src', 'addr'),
    '-q': ('reply.dst', 'addr'), '--reply-dst': ('reply.dst', 'addr'),
    '-g': ('reply.src', 'dnat'), '--dst-nat': ('reply.src', 'dnat'),
    '-n': ('reply.dst', 'snat'), '--src-nat': ('reply.dst', 'snat'),
    '-p': ('proto', 'proto'), '--proto': ('proto', 'proto'),
    '--sport': ('orig.sport', 'int'), '--orig-port-src': ('orig.sport', 'int'),
    '--dport': ('orig.dport', 'int'), '--orig-port-dst': ('orig.dport', 'int'),
    '--reply-port-src': ('reply.sport', 'int'), '--reply-port-dst': ('reply.dport', 'int'),
    '--state': ('proto_state', 'word'),
    '--icmp-type': ('orig.icmp_type', 'int'), '--icmp-code': ('orig.icmp_code', 'int'),
    '--icmp-id': ('orig.icmp_id', 'int'),
    '--icmpv6-type': ('orig.icmp_type', 'int'), '--icmpv6-code': ('orig.icmp_code', 'int'),
    '--icmpv6-id': ('orig.icmp_id', 'int'),
    '--srckey': ('orig.src_key', 'int'), '--dstkey': ('orig.dst_key', 'int'),
    '--reply-key-src': ('reply.src_key', 'int'), '--reply-key-dst': ('reply.dst_key', 'int'),
    '--label-add': ('labels', 'labels'), '--label': ('labels', 'labels'),
    '--orig-vtag': ('sctp_vtag_orig', 'int'), '--reply-vtag': ('sctp_vtag_reply', 'int'),
    '--role': ('dccp_role', 'word'), '-c': ('secmark', 'int'), '--secmark': ('secmark', 'int'),
}


def _int(text):
    return int(text, 0)


def parse_save_line(line):
    """The entry of one ``-A ...`` line; ValueError says what is wrong."""
    words = line.split()
    if not words or words[0] not in ('-A', '--add', '-I', '--create'):
        raise ValueError('expected a line starting with -A (as conntrack -L -o save writes)')
    entry = {'orig': {}, 'reply': {}, 'status': [], 'labels': []}
    nat = set()
    i = 1
    while i < len(words):
        opt = words[i]
        if opt not in _OPTS:
            raise ValueError('unknown option %r' % opt)
        if i + 1 >= len(words):
            raise ValueError('option %s needs a value' % opt)
        value = words[i + 1]
        i += 2
        path, kind = _OPTS[opt]
        try:
            if kind == 'int':
                val = _int(value)
            elif kind == 'status':
                val = [] if value == 'UNSET' else value.split(',')
                bad = [w for w in val if w not in _STATUS_WORDS]
                if bad:
                    raise ValueError('unknown status %r' % bad[0])
            elif kind == 'proto':
                val = _NAMES.get(value.lower())
                if val is None:
                    val = _int(value)
            elif kind == 'labels':
                val = [_int(w) if w.isdigit() else w for w in value.split(',') if w]
            else:
                val = value
        except ValueError as exc:
            raise ValueError('%s %s: %s' % (opt, value, exc))
        if kind in ('dnat', 'snat'):
            nat.add(kind)
        if '.' in path:
            side, key = path.split('.')
            entry[side][key] = val
        else:
            entry[path] = val
    missing = [o for o, p in (('-s', 'src'), ('-d', 'dst')) if p not in entry['orig']]
    if 'proto' not in entry:
        missing.append('-p')
    if missing:
        raise ValueError('missing %s' % ', '.join(missing))
    proto = entry['proto']
    if not 0 <= proto <= 255:
        raise ValueError('-p %d: not a protocol number' % proto)
    # what the line leaves out of the reply tuple is the mirror of the original one
    orig, reply = entry['orig'], entry['reply']
    reply.setdefault('src', orig['dst'])
    reply.setdefault('dst', orig['src'])
    if proto in C.ICMP_PROTOS:
        for key, val in mirror(orig, proto).items():
            if key.startswith('icmp'):
                reply.setdefault(key, val)
    elif proto == C.GRE_PROTO:
        reply.setdefault('src_key', orig.get('dst_key'))
        reply.setdefault('dst_key', orig.get('src_key'))
    elif 'sport' in orig or 'dport' in orig:
        reply.setdefault('sport', orig.get('dport'))
        reply.setdefault('dport', orig.get('sport'))
    status = set(entry['status'])
    # -g/-n: the command writes them for a NATed entry (its NAT_DONE bits)
    if 'dnat' in nat:
        status.update(('DST_NAT', 'DST_NAT_DONE'))
    if 'snat' in nat:
        status.update(('SRC_NAT', 'SRC_NAT_DONE'))
    status.add('CONFIRMED')
    entry['status'] = sorted(status)
    entry['family'] = 'ipv6' if ':' in orig['src'] else 'ipv4'
    entry['proto_num'] = proto
    entry['proto'] = C.PROTO_NAMES.get(proto) or str(proto)
    if entry.get('proto_state') == '(null)':
        # the command's name for an SCTP state its table lacks (HEARTBEAT_SENT)
        del entry['proto_state']
    if entry.get('proto_state') is not None:
        states = C.PROTO_STATES.get(proto)
        if not states or entry['proto_state'] not in states:
            raise ValueError('--state %s: not a state of %s'
                             % (entry['proto_state'], entry['proto']))
    entry.setdefault('mark', 0)
    entry.setdefault('zone', 0)
    return entry


def _comment_labels(line):
    """Bits of a ``# labels N,M`` comment line, or None for any other comment."""
    words = line[1:].split()
    if len(words) == 2 and words[0] == 'labels':
        return [int(w) for w in words[1].split(',') if w.isdigit()]
    return None


def detect_format(path):
    """'jsonl' or 'save' from the first line that is not empty (or a comment)."""
    try:
        with open(path, encoding='utf-8') as fh:
            for line in fh:
                text = line.strip()
                if not text or text.startswith('#'):
                    continue
                if text.startswith('{'):
                    return 'jsonl'
                if text.startswith('-'):
                    return 'save'
                break
            else:
                return 'save'   # empty: nothing to load, either way
    except OSError as exc:
        raise ConntrackError('src: cannot read %s: %s' % (path, exc.strerror or exc),
                             option='src')
    except UnicodeDecodeError:
        pass
    raise ConntrackError('src: %s is neither a conntrack_save jsonl file nor conntrack '
                         'save lines (its first line starts with neither "{" nor "-"); '
                         'give format' % path, option='src')


def read_file(path, fmt):
    """(saved_at or None, iterator of (line number, entry)).  Errors name the line."""
    try:
        fh = open(path, encoding='utf-8')
    except OSError as exc:
        raise ConntrackError('src: cannot read %s: %s' % (path, exc.strerror or exc),
                             option='src')
    header = {}
    if fmt == 'jsonl':
        # the header is the first non-empty line
        pos = fh.tell()
        first = fh.readline()
        lineno = 1
        while first and not first.strip():
            first = fh.readline()
            lineno += 1
        try:
            head = json.loads(first) if first.strip() else {}
        except ValueError:
            head = None
        if isinstance(head, dict) and 'conntrack_save' in head:
            header = head
            start = lineno
        else:
            fh.seek(pos)
            start = 0
        return header.get('time'), _jsonl(fh, path, start)
    return None, _save(fh, path)


def _bad(path, lineno, why):
    return ConntrackError('src: %s line %d: %s' % (path, lineno, why), option='src')


def _jsonl(fh, path, start):
    with fh:
        for lineno, line in enumerate(fh, start + 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError as exc:
                raise _bad(path, lineno, 'not JSON (%s)' % exc)
            if not isinstance(entry, dict):
                raise _bad(path, lineno, 'not an entry (a JSON object)')
            yield lineno, entry


def _save(fh, path):
    with fh:
        pending = None
        for lineno, line in enumerate(fh, 1):
            text = line.strip()
            if not text:
                continue
            if text.startswith('#'):
                bits = _comment_labels(text)
                if bits is not None and pending is not None:
                    pending[1]['labels'] = pending[1]['labels'] + bits
                continue
            try:
                entry = parse_save_line(text)
            except ValueError as exc:
                raise _bad(path, lineno, str(exc))
            if pending is not None:
                yield pending
            pending = (lineno, entry)
        if pending is not None:
            yield pending
