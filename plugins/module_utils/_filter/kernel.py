# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""The kernel part of a compiled filter: what goes into the dump/flush requests
(CTA_FILTER tuples and flags, mark, zone, status), the alternatives that become one
request each, the one-request fallback, and how kernel_filter describes it.

A mixin of CompiledFilter (compile.py), which sets the attributes it reads.
"""

from __future__ import annotations

import copy
import itertools

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import encode as E
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter import cost
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.cost import MAX_KERNEL_REQUESTS


class KernelRequests:
    """Kernel alternatives, requests and their attributes."""

    def _alt(self, side, field, values, flag, check=True):
        """Offer several exact values of one tuple field as kernel alternatives; the
        last check added becomes the kernel's if they are taken (_settle_alternatives)."""
        target = self.orig if side == 'orig' else self.reply
        if field in target or any(a[0] == side and a[1] == field for a in self.alts):
            return
        if len(values) > MAX_KERNEL_REQUESTS:
            return
        self.alts.append((side, field, list(values), flag))
        if check:
            self._alt_checks.append(len(self.checks) - 1)

    def _alt_addrs(self, side, field, net_list, check=True):
        """IPv4 addresses and networks of at most MAX_KERNEL_REQUESTS addresses in all, as
        kernel alternatives (IPv6: never, see _push_addr)."""
        if any(n.version != 4 for n in net_list):
            return
        if sum(n.num_addresses for n in net_list) > MAX_KERNEL_REQUESTS:
            return
        addrs = sorted({a for n in net_list for a in
                        ([n.network_address] if n.num_addresses == 1 else list(n))})
        self._alt(side, field, [str(a) for a in addrs],
                  C.FILTER_IP_SRC if field == 'src' else C.FILTER_IP_DST, check)

    def single_request(self):
        """This filter with its kernel alternatives matched here instead: one kernel
        request (self when it has no alternatives)."""
        if not self.alts:
            return self
        one = copy.copy(self)
        one.alts = []
        one._alt_checks = []
        one.checks = list(self.checks)
        for idx in self._alt_checks:
            one.checks[idx] = (False, self.checks[idx][1])
        one.families = self._families_alone
        return one

    def _settle_alternatives(self):
        """Take the kernel alternatives when the requests they make stay few."""
        if not self.alts:
            return
        families = self._families_alone = self.families
        if families == [C.AF_UNSPEC]:
            families = [C.AF_INET, C.AF_INET6]   # a tuple filter needs a family
        total = len(families)
        for alt in self.alts:
            total *= len(alt[2])
        if total > MAX_KERNEL_REQUESTS:
            self.alts = []
            self._alt_checks = []
            return
        self.families = families
        for idx in self._alt_checks:
            self.checks[idx] = (True, self.checks[idx][1])

    def _push_addr(self, side, field, net_list):
        """Push one exact address into the kernel tuple filter, if the slot is free."""
        if len(net_list) != 1 or net_list[0].prefixlen != net_list[0].max_prefixlen:
            return False
        if net_list[0].version == 6:
            # Measured on 6.18: the kernel's IPv6 CTA_FILTER address match is inverted
            # (!ipv6_addr_cmp): it returns and flushes every entry EXCEPT the address.
            # IPv6 addresses are therefore always matched here, never in the kernel.
            return False
        target = self.orig if side == 'orig' else self.reply
        if field in target or any(a[0] == side and a[1] == field for a in self.alts):
            return False
        self._push(side, field, str(net_list[0].network_address),
                   C.FILTER_IP_SRC if field == 'src' else C.FILTER_IP_DST)
        return True

    def _push(self, side, field, value, flag):
        if side == 'orig':
            self.orig[field] = value
            self.orig_flags |= flag
        else:
            self.reply[field] = value
            self.reply_flags |= flag
            if 'proto' in self.orig and not self.reply_flags & C.FILTER_PROTO_NUM:
                self.reply_flags |= C.FILTER_PROTO_NUM

    def worth_requests(self, entries, buckets):
        """Whether this filter's kernel requests repay their walks (cost.worth_requests)."""
        return cost.worth_requests(len(self.requests()), entries, buckets)

    def requests(self):
        """[(nfgenmsg family, attributes)]: the kernel requests (dumps or flushes) that
        together select what the kernel part of this filter selects, each entry once."""
        combos = list(itertools.product(*[alt[2] for alt in self.alts]))
        return [(family, self.kernel_attrs(family, combo))
                for family in self.families for combo in combos]

    def kernel_attrs(self, family, combo=()):
        """Dump/flush request attributes for one nfgenmsg family (and one value of each
        kernel alternative)."""
        orig, reply = self.orig, self.reply
        orig_flags, reply_flags = self.orig_flags, self.reply_flags
        if combo:
            orig, reply = dict(orig), dict(reply)
            for (side, field, _values, flag), value in zip(self.alts, combo):
                if side == 'orig':
                    orig[field] = value
                    orig_flags |= flag
                else:
                    reply[field] = value
                    reply_flags |= flag
        parts = []
        if self.mark is not None:
            parts.append(E.be32(C.CTA_MARK, self.mark[0]))
            parts.append(E.be32(C.CTA_MARK_MASK, self.mark[1]))
        if self.status:
            parts.append(E.be32(C.CTA_STATUS, self.status))
            parts.append(E.be32(C.CTA_STATUS_MASK, self.status))
        if self.zone is not None:
            parts.append(E.be16(C.CTA_ZONE, self.zone))
        if family != C.AF_UNSPEC and (orig_flags or reply_flags):
            proto = orig.get('proto')
            if reply_flags and proto is not None:
                reply_flags |= C.FILTER_PROTO_NUM
            if orig_flags:
                parts.append(E.nest(C.CTA_TUPLE_ORIG, E.tuple_attrs(family, orig, proto)))
            if reply_flags:
                parts.append(E.nest(C.CTA_TUPLE_REPLY, E.tuple_attrs(family, reply, proto)))
            fparts = []
            if orig_flags:
                fparts.append(E.u32(C.CTA_FILTER_ORIG_FLAGS, orig_flags))
            if reply_flags:
                fparts.append(E.u32(C.CTA_FILTER_REPLY_FLAGS, reply_flags))
            parts.append(E.nest(C.CTA_FILTER, *fparts))
        return b''.join(parts)

    def describe_kernel(self):
        """What the kernel filters, for `method` and debugging."""
        out = []
        if self.families != [C.AF_UNSPEC]:
            out.append('family')
        sides = {alt[0] for alt in self.alts}
        if self.orig_flags or 'orig' in sides:
            out.append('orig_tuple')
        if self.reply_flags or 'reply' in sides:
            out.append('reply_tuple')
        if self.mark is not None:
            out.append('mark')
        if self.status:
            out.append('status')
        if self.zone is not None:
            out.append('zone')
        if self.alts:
            out.append('%d requests' % len(self.requests()))
        return out
