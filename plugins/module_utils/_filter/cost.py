# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""The cost model: how many kernel requests a filter may become, whether they repay
their walks of the kernel's table, and which path a flush takes.

Its inputs are the table's size: the namespace's entry count (IPCTNL_MSG_CT_GET_STATS)
and the hash table's buckets (nf_conntrack_buckets), which ``fit`` and
``delete_keys_limit`` read from the client (_ops.stats).  The figures were measured on
this project's reference machine (benchmarks/README.md).
"""

from __future__ import annotations

# A filter the kernel can express only as several exact values (a list of addresses, a
# small IPv4 CIDR, a list of ports or protocols) becomes that many kernel requests (dumps
# or flushes), each of them a walk of the kernel's whole conntrack hash table (about
# 0.07 s per 250,000 entries here) but sending only matches, where one unfiltered dump
# sends every entry (about 0.5 s per 250,000): worth it up to this many requests.
MAX_KERNEL_REQUESTS = 8
# What a kernel request costs besides its matches, and what a message costs: the walk
# visits every bucket of the hash table (global, nf_conntrack_buckets) and every entry in
# it; each entry that a dump sends costs the kernel's message and this process's receive
# and check.
WALK_NS_PER_BUCKET = 30
WALK_NS_PER_ENTRY = 220
SEND_NS_PER_ENTRY = 2000
# A walk of the kernel's table costs about what deleting a tenth of it by key costs
# (0.07 s on 250,000 entries), so up to that share of the namespace's entries the dump's
# own keys win (exact address: 0.18 s against 0.21 s; a /30: 0.38 against 0.57).
DELETE_BY_KEYS_SHARE = 0.1
DELETE_BY_KEYS_MIN = 1000
# Flushes that honour CTA_FILTER / CTA_STATUS / CTA_ZONE: older kernels would ignore some
# of these attributes and flush more than asked, so they get dump_delete instead.
KERNEL_FLUSH_MIN = (6, 12)


def worth_requests(requests, entries, buckets):
    """Whether ``requests`` kernel requests cost less than one request whose every entry
    comes here: each extra request walks the whole hash table again (``buckets`` buckets,
    about ``entries`` entries), which small tables in a big hash table do not repay
    (10,000 entries, 262,144 buckets: a /30's 4 requests 53 ms, one dump 38 ms)."""
    extra = requests - 1
    if extra <= 0:
        return True
    walk = (buckets or 0) * WALK_NS_PER_BUCKET + entries * WALK_NS_PER_ENTRY
    return extra * walk < entries * SEND_NS_PER_ENTRY


def fit(cfilter, client):
    """cfilter, or its one-request form (single_request) when the table of ``client``'s
    namespace is too small to repay the walks of several kernel requests."""
    if cfilter is None or len(cfilter.requests()) < 2:
        return cfilter
    if cfilter.worth_requests(client.global_counts()[0], client.buckets()):
        return cfilter
    return cfilter.single_request()


def delete_keys_limit(entries):
    """Up to how many matches a flush deletes by the keys its counting dump kept, in a
    namespace of ``entries`` entries (more: the kernel's flush)."""
    return max(DELETE_BY_KEYS_MIN, int(entries * DELETE_BY_KEYS_SHARE))


def flush_path(method, all_, kernel_complete, max_delete, release):
    """The path a conntrack flush starts on (see _ct_flush): kernel_flush_all,
    kernel_filtered_flush or dump_delete, for the ``method`` option, ``all``, whether the
    kernel can express the whole filter, ``max_delete`` and the kernel's (major, minor).

    With max_delete, auto deletes exactly the entries it counted (dump_delete): a kernel
    flush would also take what matched after the count, past the limit.
    """
    if method == 'dump' or (max_delete is not None and method == 'auto'):
        return 'dump_delete'
    if all_:
        return 'kernel_flush_all'
    if kernel_complete and (method == 'kernel' or release >= KERNEL_FLUSH_MIN):
        return 'kernel_filtered_flush'
    return 'dump_delete'
