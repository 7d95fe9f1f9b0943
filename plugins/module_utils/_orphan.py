# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Whether anybody still waits for this module's result.

When a task's ``timeout:`` fires, ansible-core gives up on the module but neither kills
nor signals it: the module runs on to its natural end, and a listener with a long
``duration`` keeps its subscription (and its ready file) for minutes.  What does change
is the module's stdout: the pipe's reader (the worker process) is gone, and poll()
reports POLLERR on the write end.  A long-running module asks this now and then and
stops early.  Anything but a pipe (a file, a terminal: a manual run) never counts as gone.
"""

from __future__ import annotations

import os
import select
import stat


def controller_gone(fd=1):
    """True when ``fd`` is a pipe whose read end was closed."""
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
        poller = select.poll()
        poller.register(fd, 0)   # POLLERR and POLLHUP are reported whatever the mask
        return any(ev & (select.POLLERR | select.POLLHUP) for _fd, ev in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False
