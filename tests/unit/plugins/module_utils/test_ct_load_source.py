# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""conntrack_load's sources: format detection, the jsonl header, save lines with their
``# labels`` comments, and errors that name the file and the line."""

from __future__ import annotations

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_load_source import (
    detect_format, read_file)
from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_save import parse_mode
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

LINE = ('-A -t 300 -u SEEN_REPLY -m 7 -s 192.0.2.1 -d 192.0.2.2 -p udp --sport 1 --dport 2 '
        '--reply-port-src 2 --reply-port-dst 1')


def _write(tmp_path, text, name='f'):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_detect(tmp_path):
    assert detect_format(_write(tmp_path, '\n\n{"conntrack_save": 1, "time": 5}\n')) == 'jsonl'
    assert detect_format(_write(tmp_path, '# c\n' + LINE + '\n')) == 'save'
    with pytest.raises(ConntrackError, match='neither'):
        detect_format(_write(tmp_path, 'hello\n'))
    with pytest.raises(ConntrackError, match='cannot read'):
        detect_format(str(tmp_path / 'missing'))


def test_jsonl_header_and_line_numbers(tmp_path):
    path = _write(tmp_path, '{"conntrack_save": 1, "time": 1700000000}\n{"a": 1}\n\n[1]\n')
    saved_at, rows = read_file(path, 'jsonl')
    assert saved_at == 1700000000
    assert next(rows) == (2, {'a': 1})
    with pytest.raises(ConntrackError, match=r'f line 4: not an entry'):
        next(rows)


def test_jsonl_without_header(tmp_path):
    saved_at, rows = read_file(_write(tmp_path, '{"a": 1}\n'), 'jsonl')
    assert saved_at is None and list(rows) == [(1, {'a': 1})]


def test_save_lines_and_label_comments(tmp_path):
    path = _write(tmp_path, '%s --label-add web\n# labels 3,9\n# other\n%s\n' % (LINE, LINE))
    saved_at, rows = read_file(path, 'save')
    rows = list(rows)
    assert saved_at is None
    assert [n for n, _e in rows] == [1, 4]
    assert rows[0][1]['labels'] == ['web', 3, 9] and rows[1][1]['labels'] == []
    assert rows[0][1]['mark'] == 7 and rows[0][1]['reply']['sport'] == 2


def test_save_bad_line_names_it(tmp_path):
    path = _write(tmp_path, LINE + '\n\n-A -s 192.0.2.1 -d 192.0.2.2 -p tcp --sport x\n')
    with pytest.raises(ConntrackError, match=r'f line 3: --sport x'):
        list(read_file(path, 'save')[1])


@pytest.mark.parametrize('mode, want', [('0600', 0o600), ('644', 0o644), (0o640, 0o640)])
def test_mode(mode, want):
    assert parse_mode(mode) == want


@pytest.mark.parametrize('mode', ['rw', '99999', -1])
def test_bad_mode(mode):
    with pytest.raises(ConntrackError, match='mode'):
        parse_mode(mode)
