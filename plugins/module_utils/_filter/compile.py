# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""The filter compiler: the filter options -> kernel dump/flush attributes + predicate.

One compiled filter serves conntrack_info, conntrack_flush, conntrack_events and the
conntrack_select filter plugin.  The option values are parsed by options.py; whether
several kernel requests repay their walks is decided by cost.py; the kernel requests
are built by kernel.py.  ``matches`` evaluates every condition (for entries that
never saw a kernel); ``residual`` only what the kernel could not do for us.
"""

from __future__ import annotations

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import encode as E
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.decode import (
    ctstate_of, helper_name)
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.slots import (
    HELPER, LABELS, MARK, NAT_SLOTS, O_PROTO, O_ZONE, PSTATE, R_DST, R_SRC, R_ZONE, STATUS,
    TUPLE_SLOT, ZONE, entry_values, nat_dst, nat_src)
from ansible_collections.netfilter.conntrack.plugins.module_utils._errors import ConntrackError
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.kernel import KernelRequests
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.options import (
    ALIASES, FILTER_KEYS, as_list, choice, fail, parse_helper, parse_int, parse_labels,
    parse_mark, parse_network, parse_proto)

ALL_PROTO_STATES = frozenset(C.TCP_STATES + C.SCTP_STATES + C.DCCP_STATES)
_ADDR_KEYS = ('orig_src', 'orig_dst', 'reply_src', 'reply_dst', 'src_nat', 'dst_nat', 'any_nat')
_PORT_KEYS = {'orig_port_src': ('orig', 'sport'), 'orig_port_dst': ('orig', 'dport'),
              'reply_port_src': ('reply', 'sport'), 'reply_port_dst': ('reply', 'dport')}


class _AddrMatch:
    """Membership of a packed address (4 or 16 bytes) in a set of networks."""

    def __init__(self, nets):
        self.nets = nets
        self.exact = frozenset(n.network_address.packed for n in nets
                               if n.prefixlen == n.max_prefixlen)
        ranges = [n for n in nets if n.prefixlen != n.max_prefixlen]
        # byte-aligned prefixes (/8, /16, /24, /48, /64 ...) compare a bytes slice
        self.prefixes = [(n.prefixlen // 8, n.network_address.packed[:n.prefixlen // 8],
                          len(n.network_address.packed))
                         for n in ranges if n.prefixlen % 8 == 0]
        self.ranges = [(len(n.network_address.packed), int(n.network_address), int(n.netmask))
                       for n in ranges if n.prefixlen % 8]
        single = not self.ranges and not self.exact and len(self.prefixes) == 1
        self._fast = self.prefixes[0] if single else None

    def __call__(self, raw):
        if raw is None:
            return False
        if raw in self.exact:
            return True
        for size, prefix, alen in self.prefixes:
            if raw[:size] == prefix and len(raw) == alen:
                return True
        if self.ranges:
            num = int.from_bytes(raw, 'big')
            size = len(raw)
            for rsize, net, mask in self.ranges:
                if rsize == size and num & mask == net:
                    return True
        return False

    def func(self):
        """The fastest callable for this set (one byte-aligned prefix: a slice compare)."""
        if self._fast is not None:
            size, prefix, alen = self._fast
            return lambda raw: raw is not None and raw[:size] == prefix and len(raw) == alen
        return self.__call__


# Predicates take (v, fam): v the canonical value tuple of _codec.slots, fam the family
# number.  Dumps hand them the decoder's tuples; entry dicts go through entry_values().
_PROTO, _STATUS, _MARK, _ZONE, _PSTATE = O_PROTO, STATUS, MARK, ZONE, PSTATE
_HELPER, _LABELS = HELPER, LABELS
_O_ZONE, _R_ZONE = O_ZONE, R_ZONE


def _union(slot_lists):
    """The slots read by all of several checks; None when one of them may read any."""
    out = set()
    for group in slot_lists:
        for slots in group:
            if slots is None:
                return None
            out.update(slots)
    return tuple(sorted(out))


def _proto_names(protos):
    return ' or '.join(str(C.PROTO_NAMES.get(n, n)) for n in protos)


def _slot(side, field):
    return TUPLE_SLOT[(side, field)]


class CompiledFilter(KernelRequests):
    """A compiled filter set.

    Attributes:
      families: nfgenmsg families to dump (one dump each).
      orig, reply, orig_flags, reply_flags, mark, zone, status: what is pushed into the
        kernel requests (kernel_attrs; describe_kernel names it for ``kernel_filter``).
      alts: kernel alternatives (side, field, values, flag): one request per value.
      checks: list of (kernel_done, fn) predicates over value tuples, with check_slots
        the slots each of them reads.
    """

    def __init__(self, params, label_map=None):
        self.label_map = label_map or {}
        p = {}
        for key, value in (params or {}).items():
            key = ALIASES.get(key, key)
            if key not in FILTER_KEYS:
                raise ConntrackError('unknown filter option %r; known: %s'
                                     % (key, ', '.join(FILTER_KEYS)), option=key)
            if value is None:
                continue
            if isinstance(value, str) and not value.strip() and key != 'family':
                fail(key, value, 'empty string (an undefined variable?)')
            p[key] = value
        self.params = p
        self.checks = []
        self.check_slots = []
        # what each check decides, as data (None: only the predicate knows): for code
        # generators such as the events' socket filter (_filter.bpf), so they never re-parse
        self.check_terms = []
        self.orig = {}       # kernel tuple filter, original direction
        self.reply = {}
        self.orig_flags = 0
        self.reply_flags = 0
        self.mark = None     # (value, mask)
        self.zone = None
        self.status = 0
        self.excludes = []
        self.alts = []       # (side, field, [values], flag): one kernel request per value
        self._alt_checks = []
        self._compile()
        self._settle_alternatives()

    # -- building -----------------------------------------------------------------
    def _check(self, fn, kernel=False, slots=None, term=None):
        """Add predicate fn(v, fam); ``slots``: the canonical value slots it reads (None:
        any of them), so that a dump unpacks only those (Decoder.prober); ``term``: what
        it decides as a tuple (see check_terms)."""
        self.checks.append((kernel, fn))
        self.check_slots.append(slots)
        self.check_terms.append(term)

    def _compile(self):
        p = self.params
        fam = p.get('family', 'any')
        if fam in (None, ''):
            fam = 'any'
        if fam not in ('ipv4', 'ipv6', 'any'):
            fail('family', fam, 'expected ipv4, ipv6 or any')
        versions = set()
        nets = {}
        first = None   # (option, value, version) of the first address: it sets the family
        for key in _ADDR_KEYS:
            if key in p:
                nets[key] = []
                for value in as_list(key, p[key]):
                    net = parse_network(key, value)
                    if first is None:
                        first = (key, value, net.version)
                    elif net.version != first[2]:
                        fail(key, value, 'IPv%d, but %s %r is IPv%d: one filter set matches '
                             'one family' % (net.version, first[0], first[1], first[2]))
                    nets[key].append(net)
                versions.update(n.version for n in nets[key])
        if versions:
            implied = 'ipv4' if 4 in versions else 'ipv6'
            if fam != 'any' and fam != implied:
                fail('family', fam, 'the address filters are %s' % implied)
            fam = implied
        self.family = fam
        if fam == 'any':
            self.families = [C.AF_UNSPEC]
        else:
            self.families = [C.FAMILY_NUMBERS[fam]]
            self._check(lambda v, fa, f=C.FAMILY_NUMBERS[fam]: fa == f, kernel=True, slots=(),
                        term=('family', C.FAMILY_NUMBERS[fam]))

        protos = None
        if 'proto' in p:
            protos = sorted({parse_proto('proto', v) for v in as_list('proto', p['proto'])})
            single = len(protos) == 1
            pset = frozenset(protos)
            self._check(lambda v, fa: v[_PROTO] in pset, kernel=single, slots=(_PROTO,),
                        term=('proto', pset))
            if single:
                self.orig['proto'] = protos[0]
                self.orig_flags |= C.FILTER_PROTO_NUM
            else:
                self._alt('orig', 'proto', protos, C.FILTER_PROTO_NUM)
        one_proto = protos[0] if protos and len(protos) == 1 else None

        for key in ('orig_src', 'orig_dst', 'reply_src', 'reply_dst'):
            if key in nets:
                self._addr_filter(key, nets[key])

        for key, (side, field) in _PORT_KEYS.items():
            if key in p:
                if protos is not None and not C.PORT_PROTOS.intersection(protos):
                    fail(key, p[key], 'ports need proto tcp, udp, udplite, sctp or dccp, '
                         'not %s' % _proto_names(protos))
                ports = frozenset(parse_int(key, v, 1, 65535) for v in as_list(key, p[key]))
                kernel = one_proto is not None and len(ports) == 1
                self._check(lambda v, fa, i=_slot(side, field), ps=ports: v[_PROTO] in C.PORT_PROTOS
                            and v[i] in ps, kernel, slots=(_PROTO, _slot(side, field)),
                            term=('port', side, field, ports))
                flag = C.FILTER_PROTO_SRC_PORT if field == 'sport' else C.FILTER_PROTO_DST_PORT
                if kernel:
                    self._push(side, field, next(iter(ports)), flag)
                elif one_proto is not None:
                    self._alt(side, field, sorted(ports), flag)

        for key, lim in (('icmp_type', 255), ('icmp_code', 255), ('icmp_id', 65535)):
            if key in p:
                if protos is not None and not C.ICMP_PROTOS.intersection(protos):
                    fail(key, p[key], 'needs proto icmp or icmpv6, not %s'
                         % _proto_names(protos))
                val = parse_int(key, p[key], 0, lim)
                kernel = one_proto is not None
                self._check(lambda v, fa, i=_slot('orig', key), x=val: v[_PROTO] in C.ICMP_PROTOS
                            and v[i] == x, kernel, slots=(_PROTO, _slot('orig', key)))
                if kernel:
                    six = one_proto == 58
                    flag = {'icmp_type': C.FILTER_ICMPV6_TYPE if six else C.FILTER_ICMP_TYPE,
                            'icmp_code': C.FILTER_ICMPV6_CODE if six else C.FILTER_ICMP_CODE,
                            'icmp_id': C.FILTER_ICMPV6_ID if six else C.FILTER_ICMP_ID}[key]
                    self._push('orig', key, val, flag)

        if 'proto_state' in p:
            states = frozenset(choice('proto_state', p['proto_state'], ALL_PROTO_STATES))
            allowed = frozenset((proto, num) for proto, names in C.PROTO_STATES.items()
                                for num, name in enumerate(names) if name in states)
            self._check(lambda v, fa: (v[_PROTO], v[_PSTATE]) in allowed, slots=(_PROTO, _PSTATE))
        if 'ctstate' in p:
            cts = frozenset(choice('ctstate', p['ctstate'], frozenset(C.CTSTATES)))
            self._check(lambda v, fa: ctstate_of(v[_STATUS] or 0) in cts, slots=(_STATUS,))
        if 'status' in p:
            flags = choice('status', p['status'], frozenset(C.STATUS_BITS))
            self.status = E.status_bits(flags)
            need = self.status
            self._check(lambda v, fa: (v[_STATUS] or 0) & need == need, kernel=True,
                        slots=(_STATUS,), term=('status', need))
        if 'mark' in p:
            val, mask = parse_mark('mark', p['mark'])
            self.mark = (val, mask)
            self._check(lambda v, fa: (v[_MARK] or 0) & mask == val, kernel=True,
                        slots=(_MARK,))
        if 'zone' in p:
            self.zone = parse_int('zone', p['zone'], 0, 65535)
            # The zone id whatever its direction, as the kernel's CTA_ZONE filter compares it
            # (nf_ct_zone_equal_any): an entry zoned in one direction only has no CTA_ZONE but
            # a CTA_TUPLE_ZONE in that tuple.
            self._check(lambda v, fa, z=self.zone: (v[_ZONE] or v[_O_ZONE] or v[_R_ZONE] or 0) == z,
                        kernel=True, slots=(_ZONE, _O_ZONE, _R_ZONE))
        for key in ('orig_zone', 'reply_zone'):
            if key in p:
                z = parse_int(key, p[key], 0, 65535)
                self._check(lambda v, fa, i=_slot(key.split('_', maxsplit=1)[0], 'zone'), z=z:
                            ((v[_ZONE] or 0) if v[i] is None else v[i]) == z,
                            slots=(_ZONE, _slot(key.split('_', maxsplit=1)[0], 'zone')))
        if 'labels' in p:
            bits = parse_labels('labels', p['labels'], self.label_map)
            want = sum(1 << b for b in bits)
            self._check(lambda v, fa: v[_LABELS] is not None
                        and int.from_bytes(v[_LABELS], 'little') & want == want, slots=(_LABELS,))
        if 'nat' in p:
            kind = choice('nat', p['nat'], frozenset(('src', 'dst', 'any')), upper=False)
            if len(kind) != 1:
                fail('nat', p['nat'], 'expected one of src, dst, any')
            kind = kind[0]
            if kind == 'any':
                self._check(lambda v, fa: nat_src(v) or nat_dst(v), slots=NAT_SLOTS)
            else:
                self._check(lambda v, fa, n=nat_src if kind == 'src' else nat_dst: n(v),
                            slots=NAT_SLOTS)
        for key, kind, side, field in (('src_nat', 'src', 'reply', 'dst'),
                                       ('dst_nat', 'dst', 'reply', 'src')):
            if key in nets:
                match = _AddrMatch(nets[key]).func()
                nat = nat_src if kind == 'src' else nat_dst
                self._check(lambda v, fa, n=nat, i=_slot(side, field), m=match: n(v) and m(v[i]),
                            slots=NAT_SLOTS)
                if not self._push_addr(side, field, nets[key]):
                    # the NAT test stays here: the kernel only narrows the dump
                    self._alt_addrs(side, field, nets[key], check=False)
        if 'any_nat' in nets:
            m = _AddrMatch(nets['any_nat']).func()
            self._check(lambda v, fa: (nat_src(v) and m(v[R_DST])) or (nat_dst(v) and m(v[R_SRC])),
                        slots=NAT_SLOTS)
        if 'helper' in p:
            helpers = frozenset(parse_helper('helper', h) for h in as_list('helper', p['helper']))
            self._check(lambda v, fa: helper_name(v[_HELPER]) in helpers, slots=(_HELPER,))
        if 'exclude' in p:
            ex = p['exclude']
            if isinstance(ex, dict):
                ex = [ex]
            if not isinstance(ex, list) or not all(isinstance(x, dict) for x in ex):
                fail('exclude', ex, 'expected a list of filter sets (dicts)')
            for sub in ex:
                try:
                    self.excludes.append(CompiledFilter(sub, self.label_map))
                except ConntrackError as exc:
                    raise ConntrackError('exclude: %s' % exc.msg, option='exclude')
            excl = self.excludes
            self._check(lambda v, fa: not any(x.matches_values(v, fa) for x in excl),
                        slots=_union(x.check_slots for x in excl), term=('exclude', tuple(excl)))

        if fam == 'any' and (self.orig_flags or self.reply_flags):
            # CTA_FILTER is refused on AF_UNSPEC dumps: one dump per family.
            self.families = [C.AF_INET, C.AF_INET6]

    def _addr_filter(self, key, net_list):
        side, field = key.split('_')
        side = 'orig' if side == 'orig' else 'reply'
        match = _AddrMatch(net_list).func()
        pushed = self._push_addr(side, field, net_list)
        self._check(lambda v, fa, i=_slot(side, field): match(v[i]), kernel=pushed,
                    slots=(_slot(side, field),), term=('addr', side, field, tuple(net_list)))
        if not pushed:
            self._alt_addrs(side, field, net_list)

    @property
    def residual_checks(self):
        return [fn for kernel, fn in self.checks if not kernel]

    def residual_slots(self):
        """The value slots residual_values() reads (a tuple), or None for any."""
        return _union([[slots for (kernel, _fn), slots in zip(self.checks, self.check_slots)
                        if not kernel]])

    def all_slots(self):
        """The value slots matches_values() reads (a tuple), or None for any."""
        return _union([self.check_slots])

    @property
    def kernel_complete(self):
        return not self.residual_checks

    def matches_values(self, v, fam):
        for _kernel, fn in self.checks:
            if not fn(v, fam):
                return False
        return True

    def matches(self, entry):
        """Whether an entry dict matches every condition (no kernel involved)."""
        if not isinstance(entry, dict):
            return False
        try:
            return self.matches_values(*entry_values(entry, self.label_map))
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            raise _not_an_entry(entry, exc)

    def residual_values(self):
        """Predicate (v, fam) for what the kernel did not filter, or None when it did it all."""
        fns = self.residual_checks
        if not fns:
            return None
        if len(fns) == 1:
            return fns[0]

        def pred(v, fam):
            for fn in fns:
                if not fn(v, fam):
                    return False
            return True
        return pred

    def residual(self):
        """The same over entry dicts."""
        pred = self.residual_values()
        if pred is None:
            return None

        def residual(entry):
            try:
                return pred(*entry_values(entry, self.label_map))
            except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
                raise _not_an_entry(entry, exc)
        return residual


def _not_an_entry(entry, exc):
    """The error for a dict whose fields have the wrong types (a hand-made "entry")."""
    return ConntrackError('not a conntrack entry (%s: %s): %.200r'
                          % (type(exc).__name__, exc, entry))


def compile_filter(params, label_map=None):
    return CompiledFilter(params, label_map)
