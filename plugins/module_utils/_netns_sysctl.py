# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""A net.netfilter sysctl as a network namespace sees it (/proc/sys/net shows the
namespace of the thread that opens the file)."""

from __future__ import annotations

from ansible_collections.netfilter.conntrack.plugins.module_utils._netlink.sockets import (
    open_socket)


def read_netfilter_sysctl(netns, name):
    """The integer value of net.netfilter.``name`` in ``netns`` (None: this process's
    namespace), or None when it cannot be read."""
    path = '/proc/sys/net/netfilter/' + name

    def opener():
        return open(path, 'rb')  # pylint: disable=consider-using-with
    try:
        with open_socket(netns, None, opener=opener) as fh:
            return int(fh.read().split()[0])
    except Exception:  # pylint: disable=broad-exception-caught
        return None  # a hint only: never fail the module for it
