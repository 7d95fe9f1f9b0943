# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import errno

import pytest

from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import (
    ConntrackError, errno_message, kernel_error)


@pytest.mark.parametrize('num, words', [
    (errno.EPERM, ['CAP_NET_ADMIN', 'root', 'become', 'EPERM']),
    (errno.EACCES, ['CAP_NET_ADMIN', 'EACCES']),
    (errno.ENOENT, ['no such entry', 'ENOENT']),
    (errno.EEXIST, ['already exists', 'EEXIST']),
    (errno.ENOMEM, ['table is full', 'nf_conntrack_max', 'ENOMEM']),
    (errno.ENOSPC, ['label', 'ENOSPC']),
    (errno.EOPNOTSUPP, ['not supported', 'EOPNOTSUPP']),
    (errno.EINVAL, ['invalid argument', 'EINVAL']),
    (errno.EBUSY, ['CONFIRMED', 'EBUSY']),
    (errno.ENOBUFS, ['lost', 'ENOBUFS']),
    (errno.EPROTONOSUPPORT, ['nf_conntrack_netlink', 'EPROTONOSUPPORT']),
    (errno.ETIMEDOUT, ['ETIMEDOUT']),   # no hint: the system's text
    (9999, ['E9999']),                  # not an errno at all
])
def test_errno_message(num, words):
    msg = errno_message(num, 'dumping the conntrack table')
    assert msg.startswith('dumping the conntrack table failed: ')
    for word in words:
        assert word in msg


def test_kernel_error_names_the_namespace():
    exc = kernel_error(errno.EPERM, 'flushing', netns='nct-x')
    assert isinstance(exc, ConntrackError)
    assert exc.errno == errno.EPERM and exc.option is None
    assert "in network namespace 'nct-x'" in exc.msg and 'CAP_NET_ADMIN' in exc.msg
    assert str(exc) == exc.msg


def test_kernel_error_without_namespace():
    exc = kernel_error(errno.ENOENT, 'deleting an entry')
    assert 'namespace' not in exc.msg and exc.errno == errno.ENOENT


def test_conntrack_error_fields():
    exc = ConntrackError('zone: invalid value 70000', option='zone')
    assert (exc.msg, exc.errno, exc.option) == ('zone: invalid value 70000', None, 'zone')
    with pytest.raises(ConntrackError, match='70000'):
        raise exc
