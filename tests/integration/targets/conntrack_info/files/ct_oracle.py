# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test oracle of the conntrack_info target: the conntrack CLI, parsed, vs module results.

    python ct_oracle.py COMMAND NETNS < JSON > JSON

Runs `ip netns exec NETNS conntrack ...` (Debian's conntrack-tools, never the collection's
code), parses its text and compares it with conntrack_info results given on stdin.
Every command prints {"ok": bool, "failures": [str], ...}; each failure names the case
and the entry (id and tuple) that differs.

  compare   {"cases": [CASE], "runs": [RESULT], "since": epoch seconds}
            CASE: {"name", "filters", "count": bool, and "cli": [conntrack -L arguments]
            or "oracle": {conditions over the CLI's unfiltered listing}}; runs: the
            registered loop results of conntrack_info over (case, "entries") for every
            case (gather [entries, count]) and (case, "count") for the cases with count
            (gather [count]); since: a time before the first of them.
            Compares entry by entry by id, and both counts.
  aggregate {"cli": [args], "count_by": [keys], "top": {"key", "n"}, "result": RESULT}
  kernel    {"result": RESULT (gather stats + limits), "expect_stats": RESULT}
  snapshot  {} -> {"entries": [parsed entries of the whole table]}
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time

# tuple keys printed by `conntrack -o extended` between "src=" and the next tuple
TUPLE_KEYS = {'src', 'dst', 'sport', 'dport', 'type', 'code', 'id', 'srckey', 'dstkey',
              'zone-orig', 'zone-reply', 'packets', 'bytes'}
TIMEOUT_SLACK = 2       # rounding (whole seconds) and jitter
DELTA_SLACK = 3         # delta-time (whole seconds, printed by the CLI) vs timestamp.start


class OracleError(Exception):
    pass


def run_cli(netns, args):
    """(stdout, time after the run) of `conntrack ARGS` in the namespace; raises on error."""
    proc = subprocess.run(['ip', 'netns', 'exec', netns, 'conntrack'] + [str(a) for a in args],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise OracleError('conntrack %s: exit %d: %s'
                          % (' '.join(str(a) for a in args), proc.returncode, proc.stderr.strip()))
    return proc.stdout, time.time()


def list_cli(netns, args=()):
    """`conntrack -L ARGS -o extended,id` (a table name must come right after -L)."""
    return run_cli(netns, ['-L'] + list(args) + ['-o', 'extended,id'])


def parse_line(line):
    """One `conntrack -L -o extended,id` line -> dict (or raise ValueError)."""
    tok = line.split()
    if len(tok) < 6:
        raise ValueError('short line')
    ent = {'family': tok[0], 'family_num': int(tok[1]), 'proto': tok[2],
           'proto_num': int(tok[3]), 'timeout': int(tok[4]), 'state': None,
           'orig': {}, 'reply': {}, 'flags': set(), 'extra': {}, 'line': line}
    i = 5
    if '=' not in tok[i] and not tok[i].startswith('['):
        ent['state'] = tok[i]
        i += 1
    side = None
    for t in tok[i:]:
        key, eq, val = t.partition('=')
        if t.startswith('['):
            ent['flags'].add(t.strip('[]'))
            if side == 'reply':
                side = 'done'
            continue
        if not eq:
            raise ValueError('unexpected token %r' % t)
        if key == 'src' and side is None:
            side = 'orig'
        elif key == 'src' and side == 'orig':
            side = 'reply'
        elif side in ('orig', 'reply') and (key not in TUPLE_KEYS or key in ent[side]):
            side = 'done'
        if side in ('orig', 'reply'):
            ent[side][key] = val
        else:
            ent['extra'][key] = val
    if not ent['orig'] or not ent['reply'] or 'id' not in ent['extra']:
        raise ValueError('no orig/reply tuple or no id')
    ent['id'] = int(ent['extra']['id'])
    return ent


def parse(text):
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            out.append(parse_line(line))
        except (ValueError, IndexError) as exc:
            raise OracleError('cannot parse CLI line %r: %s' % (line, exc))
    return out


def describe(ent):
    """Short name of an entry (module dict or parsed CLI) for messages."""
    o = ent.get('orig') or {}
    ports = ''
    if 'sport' in o:
        ports = ' sport=%s dport=%s' % (o.get('sport'), o.get('dport'))
    return 'id=%s %s %s src=%s dst=%s%s' % (ent.get('id'), ent.get('family'), ent.get('proto'),
                                            o.get('src'), o.get('dst'), ports)


def _addr(a):
    return str(ipaddress.ip_address(a)) if a is not None else None


def expected_tuple(cli_tuple, proto):
    """The module's tuple dict as the CLI's text says it must be."""
    t = {'src': _addr(cli_tuple.get('src')), 'dst': _addr(cli_tuple.get('dst'))}
    if proto in ('icmp', 'icmpv6'):
        for cli_key, key in (('type', 'icmp_type'), ('code', 'icmp_code'), ('id', 'icmp_id')):
            t[key] = int(cli_tuple[cli_key]) if cli_key in cli_tuple else None
    elif proto == 'gre':
        t['src_key'] = int(cli_tuple['srckey'], 0) if 'srckey' in cli_tuple else None
        t['dst_key'] = int(cli_tuple['dstkey'], 0) if 'dstkey' in cli_tuple else None
    elif 'sport' in cli_tuple or 'dport' in cli_tuple:
        t['sport'] = int(cli_tuple['sport']) if 'sport' in cli_tuple else None
        t['dport'] = int(cli_tuple['dport']) if 'dport' in cli_tuple else None
    return t


def nat_of(cli):
    """(src NAT, dst NAT) from the CLI's tuples: what `conntrack` itself derives."""
    o, r = cli['orig'], cli['reply']
    snat = o['src'] != r['dst'] or o.get('sport') != r.get('dport')
    dnat = o['dst'] != r['src'] or o.get('dport') != r.get('sport')
    return snat, dnat


def zones_of(cli):
    """(zone, orig zone, reply zone) of a CLI entry; a tuple without zone-orig/zone-reply
    is in the entry's zone."""
    zone = int(cli['extra'].get('zone', 0))
    return (zone, int(cli['orig'].get('zone-orig', zone)),
            int(cli['reply'].get('zone-reply', zone)))


def compare_entry(mod, cli, cli_time, since):
    """Differences (list of str) between one module entry and one parsed CLI line.

    ``since``: epoch time before the module read, ``cli_time``: after the CLI's; timeouts
    fall by the time between the two reads."""
    diffs = []

    def same(what, got, want):
        if got != want:
            diffs.append('%s: module %r, CLI %r' % (what, got, want))

    same('family', mod.get('family'), cli['family'])
    same('proto_num', mod.get('proto_num'), cli['proto_num'])
    if cli['proto'] != 'unknown':
        same('proto', mod.get('proto'), cli['proto'])
    for side in ('orig', 'reply'):
        same(side, mod.get(side), expected_tuple(cli[side], cli['proto']))
    same('proto_state', mod.get('proto_state'), cli['state'])
    timeout = mod.get('timeout')
    elapsed = max(0, int(cli_time - since)) if since else 0
    if not isinstance(timeout, int) or not (
            cli['timeout'] - TIMEOUT_SLACK <= timeout <= cli['timeout'] + elapsed + TIMEOUT_SLACK):
        diffs.append('timeout: module %r, CLI %r (read at most %d s later)'
                     % (timeout, cli['timeout'], elapsed))
    status = set(mod.get('status') or ())
    flags = cli['flags']
    same('ASSURED in status', 'ASSURED' in status, 'ASSURED' in flags)
    same('SEEN_REPLY in status (CLI: not [UNREPLIED])', 'SEEN_REPLY' in status,
         'UNREPLIED' not in flags)
    same('OFFLOAD in status', 'OFFLOAD' in status, 'OFFLOAD' in flags)
    same('HW_OFFLOAD in status', 'HW_OFFLOAD' in status, 'HW_OFFLOAD' in flags)
    same('CONFIRMED in status', 'CONFIRMED' in status, True)
    snat, dnat = nat_of(cli)
    same('SRC_NAT in status (CLI tuples)', 'SRC_NAT' in status, snat)
    same('DST_NAT in status (CLI tuples)', 'DST_NAT' in status, dnat)
    same('nat', mod.get('nat'), {'src': snat, 'dst': dnat})
    ctstate = ('RELATED' if 'EXPECTED' in status
               else 'ESTABLISHED' if 'UNREPLIED' not in flags else 'NEW')
    same('ctstate', mod.get('ctstate'), ctstate)
    extra = cli['extra']
    same('mark', mod.get('mark'), int(extra.get('mark', 0)))
    same('zone', mod.get('zone'), int(extra.get('zone', 0)))
    if 'zone-orig' in cli['orig'] or 'zone-reply' in cli['reply']:
        _zone, ozone, rzone = zones_of(cli)
        same('orig_zone', mod.get('orig_zone'), ozone)
        same('reply_zone', mod.get('reply_zone'), rzone)
    else:
        same('orig_zone', mod.get('orig_zone'), None)
        same('reply_zone', mod.get('reply_zone'), None)
    same('use', mod.get('use'), int(extra['use']) if 'use' in extra else None)
    same('helper', mod.get('helper'), extra.get('helper'))
    if 'packets' in cli['orig']:
        same('counters', mod.get('counters'), {
            side: {'packets': int(cli[side]['packets']), 'bytes': int(cli[side]['bytes'])}
            for side in ('orig', 'reply')})
    else:
        same('counters', mod.get('counters'), None)
    if 'delta-time' in extra:
        start = (mod.get('timestamp') or {}).get('start')
        if not isinstance(start, int):
            diffs.append('timestamp: module %r, CLI delta-time=%s'
                         % (mod.get('timestamp'), extra['delta-time']))
        else:
            age = cli_time - start / 1e9
            if abs(age - int(extra['delta-time'])) > DELTA_SLACK:
                diffs.append('timestamp.start: %.1f s old when the CLI printed delta-time=%s'
                             % (age, extra['delta-time']))
    return diffs


def compare_sets(name, mod_entries, cli_entries, cli_time, since, failures):
    """Entry-by-entry comparison by id; appends failures."""
    mod_by_id = {}
    for ent in mod_entries:
        if ent.get('id') in mod_by_id:
            failures.append('%s: module returned id %s twice' % (name, ent.get('id')))
        mod_by_id[ent.get('id')] = ent
    cli_by_id = {ent['id']: ent for ent in cli_entries}
    for i in sorted(set(cli_by_id) - set(mod_by_id)):
        failures.append('%s: missing from the module: %s' % (name, cli_by_id[i]['line']))
    for i in sorted(set(mod_by_id) - set(cli_by_id)):
        failures.append('%s: only in the module: %s' % (name, describe(mod_by_id[i])))
    for i in sorted(set(mod_by_id) & set(cli_by_id)):
        for diff in compare_entry(mod_by_id[i], cli_by_id[i], cli_time, since):
            failures.append('%s: %s: %s' % (name, describe(cli_by_id[i]), diff))


# -- conditions over the CLI's entries, for what the CLI cannot filter (right) -------------
def _in(addr, value):
    a = ipaddress.ip_address(addr)
    nets = [ipaddress.ip_network(v, strict=False)
            for v in (value if isinstance(value, list) else [value])]
    return any(a.version == n.version and a in n for n in nets)


def oracle_match(cli, cond):
    """Whether a parsed CLI entry meets every condition of an oracle dict."""
    snat, dnat = nat_of(cli)
    zone, ozone, rzone = zones_of(cli)
    for key, value in cond.items():
        if key == 'family':
            ok = cli['family'] == value
        elif key == 'proto':
            ok = cli['proto'] in (value if isinstance(value, list) else [value])
        elif key == 'nat':
            ok = {'src': snat, 'dst': dnat, 'any': snat or dnat}[value]
        elif key == 'src_nat':
            ok = snat and _in(cli['reply']['dst'], value)
        elif key == 'dst_nat':
            ok = dnat and _in(cli['reply']['src'], value)
        elif key == 'any_nat':
            ok = (snat and _in(cli['reply']['dst'], value)) or (
                dnat and _in(cli['reply']['src'], value))
        elif key in ('orig_src', 'orig_dst', 'reply_src', 'reply_dst'):
            side, field = key.split('_')
            ok = _in(cli[side][field], value)
        elif key in ('orig_port_src', 'orig_port_dst'):
            field = 'sport' if key.endswith('src') else 'dport'
            ok = cli['orig'].get(field) == str(value)
        elif key == 'ctstate':
            ok = ('ESTABLISHED' if 'UNREPLIED' not in cli['flags'] else 'NEW') in value
        elif key == 'mark':
            ok = int(cli['extra'].get('mark', 0)) == value
        elif key == 'zone_id':      # the kernel's zone id, whatever its direction
            ok = (zone or ozone or rzone) == value
        elif key == 'orig_zone':
            ok = ozone == value
        elif key == 'reply_zone':
            ok = rzone == value
        elif key == 'flags':        # [ASSURED] ... printed by the CLI, all of them
            ok = set(value) <= cli['flags']
        elif key == 'none':
            ok = False
        elif key == 'not':
            ok = not any(oracle_match(cli, sub) for sub in value)
        elif key == 'any':
            ok = any(oracle_match(cli, sub) for sub in value)
        else:
            raise OracleError('unknown oracle condition %r' % key)
        if not ok:
            return False
    return True


# -- commands ------------------------------------------------------------------------------
def cmd_compare(netns, doc):
    failures, checked = [], {}
    since = float(doc['since'])
    full_text, full_time = list_cli(netns)
    full = parse(full_text)
    runs = {}
    for res in doc['runs']:
        item = res.get('item') or ['?', '?']
        runs[(item[0]['name'], item[1])] = res
    for case in doc['cases']:
        name = case['name']
        info, count = runs.get((name, 'entries')), runs.get((name, 'count'))
        results = [('conntrack_info', info)]
        if case.get('count'):
            results.append(('conntrack_info gather [count]', count))
        elif count is not None:
            failures.append('%s: unexpected gather [count] run' % name)
        bad = False
        for what, res in results:
            if not res or res.get('failed') or res.get('skipped'):
                failures.append('%s: %s failed or did not run: %s'
                                % (name, what, (res or {}).get('msg')))
                bad = True
        if bad:
            continue
        if 'oracle' in case:
            want = [e for e in full if oracle_match(e, case['oracle'])]
            cli_time = full_time
        else:
            text, cli_time = list_cli(netns, case['cli'])
            want = parse(text)
        compare_sets(name, info.get('entries') or [], want, cli_time, since, failures)
        checked[name] = len(want)
        for what, res in results:
            if res.get('count') != len(want):
                failures.append('%s: %s: count is %r, the CLI lists %d'
                                % (name, what, res.get('count'), len(want)))
            if res.get('changed'):
                failures.append('%s: %s: a read reported changed' % (name, what))
        if count and count.get('entries'):
            failures.append('%s: gather [count] returned entries' % name)
    return {'ok': not failures, 'failures': failures, 'checked': checked,
            'table': len(full)}


def _dotted(ent, key):
    """The value of a dotted key of a parsed CLI entry, as the module reports it."""
    if key == 'proto_state':
        return ent['state']
    if key in ('family', 'proto'):
        return ent[key]
    if key == 'ctstate':
        return 'ESTABLISHED' if 'UNREPLIED' not in ent['flags'] else 'NEW'
    if key == 'mark':
        return int(ent['extra'].get('mark', 0))
    side, _dot, field = key.partition('.')
    if side in ('orig', 'reply') and field in ('src', 'dst'):
        return _addr(ent[side][field])
    if side in ('orig', 'reply') and field in ('sport', 'dport'):
        return int(ent[side][field]) if field in ent[side] else None
    raise OracleError('aggregate key %r is not known to the oracle' % key)


def cmd_aggregate(netns, doc):
    failures = []
    ents = parse(list_cli(netns, doc.get('cli') or [])[0])
    result = doc['result']
    counts = {}
    for key in doc.get('count_by') or ():
        tally = {}
        for ent in ents:
            val = _dotted(ent, key)
            val = 'null' if val is None else str(val)
            tally[val] = tally.get(val, 0) + 1
        counts[key] = tally
        got = {str(k): v for k, v in (result.get('counts', {}).get(key) or {}).items()}
        if got != tally:
            failures.append('count_by %s: module %r, CLI %r' % (key, got, tally))
    top = doc.get('top')
    if top:
        tally = {}
        for ent in ents:
            val = _dotted(ent, top['key'])
            tally[val] = tally.get(val, 0) + 1
        got = result.get('top') or []
        if len(got) != min(top['n'], len(tally)):
            failures.append('top %s: %d values, expected %d'
                            % (top['key'], len(got), min(top['n'], len(tally))))
        for row in got:
            if tally.get(row.get('value')) != row.get('count'):
                failures.append('top %s: %r counted %r by the module, %r by the CLI'
                                % (top['key'], row.get('value'), row.get('count'),
                                   tally.get(row.get('value'))))
        got_counts = [row.get('count') for row in got]
        if got_counts != sorted(got_counts, reverse=True):
            failures.append('top %s: not most first: %r' % (top['key'], got))
        shown = {row.get('value') for row in got}
        left_out = [c for v, c in tally.items() if v not in shown]
        if got_counts and left_out and max(left_out) > min(got_counts):
            failures.append('top %s: a value counted %d was left out of %r'
                            % (top['key'], max(left_out), got))
    if result.get('count') != len(ents):
        failures.append('count: module %r, CLI %d' % (result.get('count'), len(ents)))
    if result.get('entries'):
        failures.append('limit 0 returned entries')
    return {'ok': not failures, 'failures': failures, 'counts': counts}


def parse_stats(text, prefix=''):
    """`conntrack -S` lines -> {cpu: {key: value}} (keys without ``prefix``)."""
    out = {}
    for line in text.splitlines():
        fields = dict(tok.split('=', 1) for tok in line.split() if '=' in tok)
        if 'cpu' in fields:
            cpu = int(fields.pop('cpu'))
            out[cpu] = {k[len(prefix):] if k.startswith(prefix) else k: int(v)
                        for k, v in fields.items()}
    return out


def _check_stats(what, got, cli, failures):
    """got: the module's stats (read before the CLI's); counters only grow."""
    rows = {row.get('cpu'): row for row in got.get('per_cpu') or []}
    if sorted(rows) != sorted(cli):
        failures.append('%s: CPUs %r, the CLI shows %r' % (what, sorted(rows), sorted(cli)))
        return
    total = {}
    for cpu, want in cli.items():
        row = {k: v for k, v in rows[cpu].items() if k != 'cpu'}
        if set(row) != set(want):
            failures.append('%s cpu %d: keys %r, the CLI shows %r'
                            % (what, cpu, sorted(row), sorted(want)))
            continue
        for key, val in row.items():
            if not isinstance(val, int) or val > want[key]:
                failures.append('%s cpu %d: %s is %r, the CLI (read after) shows %d'
                                % (what, cpu, key, val, want[key]))
            total[key] = total.get(key, 0) + val
    if total and got.get('total') != total:
        failures.append('%s: total %r is not the sum over CPUs %r'
                        % (what, got.get('total'), total))


def _sysctl(netns, name):
    proc = subprocess.run(['ip', 'netns', 'exec', netns, 'sysctl', '-n',
                           'net.netfilter.' + name], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout.strip())


def cmd_kernel(netns, doc):
    failures = []
    result = doc['result']
    _check_stats('stats', result.get('stats') or {}, parse_stats(run_cli(netns, ['-S'])[0]),
                 failures)
    _check_stats('expect stats', doc['expect_stats'].get('stats') or {},
                 parse_stats(run_cli(netns, ['-S', 'expect'])[0], 'expect_'), failures)
    limits = result.get('limits') or {}
    want = {'count': int(run_cli(netns, ['-C'])[0]),
            'expect_count': int(run_cli(netns, ['-C', 'expect'])[0]),
            'max': _sysctl(netns, 'nf_conntrack_max'),
            'buckets': _sysctl(netns, 'nf_conntrack_buckets'),
            'expect_max': _sysctl(netns, 'nf_conntrack_expect_max')}
    for key, val in want.items():
        if limits.get(key) != val:
            failures.append('limits.%s: module %r, CLI/sysctl %r' % (key, limits.get(key), val))
    if want['max'] and limits.get('usage_percent') != round(100.0 * want['count'] / want['max'], 2):
        failures.append('limits.usage_percent: %r for %d of %d'
                        % (limits.get('usage_percent'), want['count'], want['max']))
    return {'ok': not failures, 'failures': failures, 'limits': want}


def cmd_snapshot(netns, _doc):
    ents = parse(list_cli(netns)[0])
    return {'ok': True, 'failures': [], 'entries': [dict(e, flags=sorted(e['flags']))
                                                    for e in ents]}


COMMANDS = {'compare': cmd_compare, 'aggregate': cmd_aggregate, 'kernel': cmd_kernel,
            'snapshot': cmd_snapshot}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in COMMANDS:
        sys.exit('usage: ct_oracle.py %s NETNS < JSON' % '|'.join(sorted(COMMANDS)))
    doc = json.load(sys.stdin)
    try:
        out = COMMANDS[sys.argv[1]](sys.argv[2], doc)
    except (OracleError, subprocess.CalledProcessError) as exc:
        out = {'ok': False, 'failures': ['oracle error: %s' % exc]}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
