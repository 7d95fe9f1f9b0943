# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""conntrack_save's logic: the matching entries streamed from the dump into a temporary
file beside ``dest`` (one line per entry as it is decoded: memory stays flat), then
renamed over it.  A failure removes the temporary file and leaves the old one."""

from __future__ import annotations

import json
import os
import tempfile
import time

from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import compile_filter
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.cost import fit
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_format_doc import (
    XML_FOOTER, XML_HEADER, DocFormatter)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

FORMATS = ('jsonl', 'save', 'xml')
JSONL_VERSION = 1


def parse_mode(mode):
    """An octal permission string ("0600", "600") or an int, as the file module takes it."""
    if isinstance(mode, int):
        value = mode
    else:
        text = str(mode).strip()
        try:
            value = int(text, 8)
        except ValueError:
            raise ConntrackError('mode: invalid value %r: expected an octal string such as '
                                 '"0600"' % (mode,), option='mode')
    if not 0 <= value <= 0o7777:
        raise ConntrackError('mode: invalid value %r: out of range' % (mode,), option='mode')
    return value


class _Writer:
    """Renders one entry per call into an open text file, in one of FORMATS."""

    def __init__(self, fh, fmt, label_map, now):
        self.fh = fh
        self.fmt = fmt
        self.doc = DocFormatter(frozenset(), now, label_map, extra=True)
        self.now = now
        self.count = 0

    def start(self):
        self.fh.seek(0)
        self.fh.truncate()
        self.count = 0
        if self.fmt == 'jsonl':
            self.fh.write('{"conntrack_save": %d, "time": %d}\n' % (JSONL_VERSION, self.now))
        elif self.fmt == 'xml':
            self.fh.write('\n'.join(XML_HEADER) + '\n')

    def __call__(self, entry):
        self.count += 1
        if self.fmt == 'jsonl':
            self.fh.write(json.dumps(entry, separators=(', ', ': ')) + '\n')
        elif self.fmt == 'save':
            self.fh.write('\n'.join(self.doc.save_lines(entry)) + '\n')
        else:
            self.fh.write(self.doc.xml_flow(entry) + '\n')

    def finish(self):
        if self.fmt == 'xml':
            self.fh.write(XML_FOOTER + '\n')


def save_table(client, filters, params, check_mode=False, diff_mode=False, warn=None):
    """The conntrack_save result: ``dest`` written (not in check mode) with the entries."""
    fmt = params.get('format') or 'jsonl'
    if fmt not in FORMATS:
        raise ConntrackError('format: invalid value %r: expected one of %s'
                             % (fmt, ', '.join(FORMATS)), option='format')
    dest = params.get('dest')
    if not dest:
        raise ConntrackError('dest: a path is required', option='dest')
    dest = os.path.abspath(os.path.expanduser(dest))
    folder = os.path.dirname(dest)
    if not os.path.isdir(folder):
        raise ConntrackError('dest: invalid value %r: the folder %s does not exist'
                             % (params.get('dest'), folder), option='dest')
    if os.path.isdir(dest):
        raise ConntrackError('dest: invalid value %r: is a directory' % params.get('dest'),
                             option='dest')
    mode = parse_mode(params.get('mode') if params.get('mode') is not None else '0600')
    cfilter = fit(compile_filter(filters, client.label_map), client)
    result = {'changed': True, 'dest': dest, 'format': fmt, 'count': 0, 'size': 0}
    if check_mode:
        result['count'] = client.count(cfilter)
        return result
    now = int(time.time())
    try:
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(dest), suffix='.tmp',
                                   dir=folder)
    except OSError as exc:
        raise ConntrackError('dest: cannot write in %s: %s' % (folder, exc.strerror or exc),
                             option='dest')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8', buffering=1 << 20) as fh:
            writer = _Writer(fh, fmt, client.label_map, now)
            writer.start()
            # a dump the kernel interrupted starts again: so does the file
            client.walk(cfilter, on_entry=writer, on_reset=writer.start)
            writer.finish()
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        os.rename(tmp, dest)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise ConntrackError('dest: cannot write %s: %s (the old file is left as it was)'
                                 % (dest, exc.strerror or exc), option='dest')
        raise
    result['count'] = writer.count
    result['size'] = os.path.getsize(dest)
    return result
