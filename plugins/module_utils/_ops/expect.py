# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Operations on the expectation table: gets, creates, updates and deletes by tuple,
batched deletes, the flush, and the walk that fills in each expectation's zone (which
dumps do not report) from its master's entries.

A mixin of ConntrackClient (_ct_client), above the filter compiler: the zone inference
looks the masters up with a compiled filter.
"""

from __future__ import annotations

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import encode as E
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.expect import decode_expect, expect_view
from ansible_collections.netfilter.conntrack.plugins.module_utils._codec.slots import ZONE
from ansible_collections.netfilter.conntrack.plugins.module_utils._filter.compile import (
    compile_filter)


class ExpectOps:
    """expect_* operations and the filtered walk of the expectation table."""

    def walk_expect(self, cfilter=None, on_entry=None, on_reset=None):
        """Each expectation that passes cfilter, decoded with its zone, to on_entry.

        Expectations are few: collect, fill in the zones (which the kernel does not
        report), then filter.
        """
        dec = self.decoder()
        exps = []

        def reset():
            del exps[:]
            if on_reset is not None:
                on_reset()

        def handle(buf, off, mlen, _mtype):
            exps.append(decode_expect(dec, buf, off + 20, off + mlen, buf[off + 16]))
        self.dump(C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_GET, C.AF_UNSPEC, b'', handle,
                  reset, what='dumping the expect table')
        self.expect_zones(exps)
        pred = cfilter.matches if cfilter is not None else None
        for exp in exps:
            if pred is None or pred(expect_view(exp)):
                on_entry(exp)

    def count_expect(self, cfilter=None):
        """Number of (matching) expectations; without a filter nothing is decoded."""
        if cfilter is not None:
            # their zones resolved, then filtered (walk_expect)
            return self.entries(cfilter, 'expect', limit=0).count
        counter = [0]
        self.dump(C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_GET, C.AF_UNSPEC, b'',
                  lambda *_msg: counter.__setitem__(0, counter[0] + 1),
                  lambda: counter.__setitem__(0, 0), what='counting the expect table')
        return counter[0]

    def expect_get(self, family, proto, tup, zone=None, exp_id=None):
        """One expectation by expected tuple (in ``zone``), decoded, or None."""
        msgs = self.request_unless_gone(C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_GET,
                                        family,
                                        E.expect_key_attrs(family, proto, tup, zone, exp_id),
                                        what='getting an expectation')
        for raw in msgs or ():
            exp = decode_expect(self.decoder(), raw, 20, len(raw), raw[16])
            exp['zone'] = zone or 0  # the kernel does not report it; the get proved it
            return exp
        return None

    def expect_create(self, spec):
        """Create one expectation (spec: see _ct_encode.expect_attrs)."""
        self.request(C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_NEW, spec['family'],
                     E.expect_attrs(spec), C.NLM_F_CREATE | C.NLM_F_EXCL,
                     what='creating an expectation')

    def expect_update(self, spec):
        """Change an existing expectation: the kernel applies only ``timeout``."""
        self.request(C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_NEW, spec['family'],
                     E.expect_attrs(spec), what='updating an expectation')

    def expect_delete(self, family, proto, tup, zone=None, exp_id=None):
        """Delete one expectation by expected tuple (and id); False when already gone."""
        return self.request_unless_gone(
            C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_DELETE, family,
            E.expect_key_attrs(family, proto, tup, zone, exp_id),
            what='deleting an expectation') is not None

    def expect_zones(self, exps):
        """Fill in the ``zone`` of decoded expectations, which dumps do not carry.

        An expectation lives in its master's zone.  One batch of gets by tuple + id in
        zone 0 settles most of them; for the others the zones of the conntrack entries
        with the master's tuple are the candidates (tried by get when there are several).
        An expectation whose master vanished meanwhile gets zone None.
        """
        if not exps:
            return
        keys = [(C.FAMILY_NUMBERS.get(e['family']), e) for e in exps]
        res = self.batch(((C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_GET, 0, fam,
                           E.expect_key_attrs(fam, e['proto_num'], e['tuple'], 0, e['id']))
                          for fam, e in keys), what='reading the zones of expectations')
        for (fam, exp), err in zip(keys, res):
            if not err:
                exp['zone'] = 0
                continue
            exp['zone'] = None
            zones = self._master_zones(fam, exp['master'])
            if len(zones) == 1:
                exp['zone'] = zones[0]
                continue
            for zone in zones:
                if zone and self.expect_get(fam, exp['proto_num'], exp['tuple'], zone,
                                            exp['id']) is not None:
                    exp['zone'] = zone
                    break

    def _master_zones(self, family, master):
        """Zones of the conntrack entries whose original tuple is ``master``."""
        params = {'family': C.FAMILY_NAMES[family], 'proto': master.get('proto_num'),
                  'orig_src': master.get('src'), 'orig_dst': master.get('dst')}
        if master.get('proto_num') in C.PORT_PROTOS:
            params.update(orig_port_src=master.get('sport') or None,
                          orig_port_dst=master.get('dport') or None)
        zones = set()
        self.walk(compile_filter(params, self.label_map),
                  on_values=lambda _d, v, _f: zones.add(v[ZONE] or 0), on_reset=zones.clear)
        return sorted(zones)

    def expect_delete_many(self, exps):
        """Delete decoded expectations by tuple + zone + id (race-safe); the errno list."""
        return self.batch(((C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_DELETE, 0,
                            C.FAMILY_NUMBERS[e['family']],
                            E.expect_key_attrs(C.FAMILY_NUMBERS[e['family']], e['proto_num'],
                                               e['tuple'], e.get('zone'), e.get('id')))
                           for e in exps), what='deleting expectations')

    def expect_flush(self):
        """Delete every expectation (every family): the kernel's flush."""
        self.request(C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_DELETE, C.AF_UNSPEC, b'',
                     what='flushing the expect table')
