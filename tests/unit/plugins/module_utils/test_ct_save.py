# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""conntrack_save's file handling (the dump itself is tested on real tables by the
conntrack_save_load integration target): atomic replace, mode, a dump that restarts,
a failure that leaves the old file and no temporary file."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._ct_save import save_table
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError

ENTRY = {'family': 'ipv4', 'proto': 'udp', 'proto_num': 17, 'timeout': 30, 'mark': 0,
         'orig': {'src': '192.0.2.1', 'dst': '192.0.2.2', 'sport': 1, 'dport': 2},
         'reply': {'src': '192.0.2.2', 'dst': '192.0.2.1', 'sport': 2, 'dport': 1},
         'status': ['CONFIRMED'], 'labels': [], 'zone': 0}


class Client:
    """Stands in for the dump: hands out entries, restarts once, or fails midway."""
    label_map = {}

    def __init__(self, n, restart=False, fail=False):
        self.n, self.restart, self.fail = n, restart, fail

    def global_counts(self):
        return (self.n, 0)

    def buckets(self):
        return 1024

    def count(self, cfilter):
        return self.n

    def walk(self, cfilter, on_entry, on_reset):
        if self.restart:
            on_entry(ENTRY)
            on_reset()
        for _i in range(self.n):
            on_entry(ENTRY)
        if self.fail:
            raise ConntrackError('dumping the conntrack table: ENOBUFS')


def test_writes_atomically_with_mode(tmp_path):
    dest = tmp_path / 'ct.jsonl'
    res = save_table(Client(3, restart=True), {}, {'dest': str(dest), 'mode': '0640'})
    lines = dest.read_text().splitlines()
    assert res['count'] == 3 and len(lines) == 4 and res['size'] == dest.stat().st_size
    assert json.loads(lines[0])['conntrack_save'] == 1
    assert oct(dest.stat().st_mode & 0o777) == '0o640'
    assert os.listdir(tmp_path) == ['ct.jsonl']


def test_failure_keeps_old_file(tmp_path):
    dest = tmp_path / 'ct.save'
    dest.write_text('old\n')
    with pytest.raises(ConntrackError, match='ENOBUFS'):
        save_table(Client(5, fail=True), {}, {'dest': str(dest), 'format': 'save'})
    assert dest.read_text() == 'old\n' and os.listdir(tmp_path) == ['ct.save']


def test_check_mode_writes_nothing(tmp_path):
    res = save_table(Client(7), {}, {'dest': str(tmp_path / 'x')}, check_mode=True)
    assert res['count'] == 7 and res['changed'] and os.listdir(tmp_path) == []


@pytest.mark.parametrize('params, msg', [
    ({'dest': '/nonexistent-dir/x'}, 'does not exist'),
    ({'dest': '/tmp'}, 'is a directory'),
    ({'dest': '/tmp/x', 'format': 'csv'}, 'format'),
])
def test_bad_params(params, msg):
    with pytest.raises(ConntrackError, match=msg):
        save_table(Client(1), {}, params)
