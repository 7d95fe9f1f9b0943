#!/usr/bin/env bash
# Failover across a fleet: FLEET_HOSTS (50) inventory hosts, each a network namespace with
# its own conntrack table of synthetic NATed entries, one playbook running the
# netfilter.conntrack.conntrack_failover role on all of them with FLEET_FORKS (10) forks,
# in check mode first, then for real. Host nct6_h13 has no namespace and nct6_h27 a bad
# value in its host vars: they must fail alone, with a clear message, and the recap must
# say exactly that. Every other host's table is verified with the conntrack CLI.
set -eu
cd "$(dirname "$0")"
HOSTS=${FLEET_HOSTS:-50}
FORKS=${FLEET_FORKS:-10}
# FLEET_STRATEGY=mitogen_linear: the same under Mitogen (benchmarks/fleet.sh, pip install mitogen)
STRATEGY=${FLEET_STRATEGY:-linear}
if [ "$STRATEGY" != linear ]; then
    ANSIBLE_STRATEGY_PLUGINS="$(python -c 'import ansible_mitogen, os; print(os.path.dirname(ansible_mitogen.__file__))')/plugins/strategy"
    export ANSIBLE_STRATEGY_PLUGINS ANSIBLE_STRATEGY=$STRATEGY
fi
PREFIX=nct6_h
WORK=$(mktemp -d /tmp/nct6-fleet.XXXXXX)
# The collection: ansible-test runs a copy of this directory, so look on the collections
# path it sets (ANSIBLE_COLLECTIONS_PATH), then above this directory (a checkout).
COLL_ROOT=""
IFS=: read -ra _paths <<< "${ANSIBLE_COLLECTIONS_PATH:-}:${ANSIBLE_COLLECTIONS_PATHS:-}"
for _p in "${_paths[@]}" "$(cd ../../../.. && pwd)"; do
    for _c in "$_p/ansible_collections/netfilter/conntrack" "$_p"; do
        if [ -n "$_p" ] && [ -f "$_c/tools/ctfill.py" ]; then COLL_ROOT=$_c; break 2; fi
    done
done
[ -n "$COLL_ROOT" ] || { echo "fleet_failover: cannot find the collection (tools/ctfill.py)"; exit 1; }

BAD_NS=13    # no namespace
BAD_VAR=27   # dst_nat: not an address
if [ "$HOSTS" -lt 30 ]; then BAD_NS=0; BAD_VAR=0; fi   # small fleets (timing runs): all good

cleanup() {
    for ns in $(ip netns list | awk '{print $1}' | grep "^${PREFIX}[0-9]" || true); do
        ip netns del "$ns" || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
cleanup_leftovers() { cleanup; WORK=$(mktemp -d /tmp/nct6-fleet.XXXXXX); }
cleanup_leftovers

# Namespaces and entries: 600 mixed entries per host (tools/ctfill.py --mix), among them
# IPv4 and IPv6 connections DNATed to 192.0.2.11 / 2001:db8:200::11 (the dead backend)
# and to .12 / ::12 (the live one).
NSARGS=()
{
    echo "fleet:"
    echo "  vars: {ansible_connection: local, ansible_python_interpreter: '{{ ansible_playbook_python }}'}"
    echo "  hosts:"
    for i in $(seq 1 "$HOSTS"); do
        h=$(printf '%s%02d' "$PREFIX" "$i")
        if [ "$i" -ne "$BAD_NS" ]; then
            ip netns add "$h"
            NSARGS+=(--netns "$h")
        fi
        if [ "$i" -eq "$BAD_VAR" ]; then
            echo "    $h: {conntrack_failover_netns: $h, fleet_dead_backend4: 192.0.2.999}"
        else
            echo "    $h: {conntrack_failover_netns: $h}"
        fi
    done
} > "$WORK/inventory.yml"
python "$COLL_ROOT/tools/ctfill.py" "${NSARGS[@]}" --count 600 --mix

count() {  # count NS FAMILY REPLY_SRC: entries whose reply source is REPLY_SRC
    ip netns exec "$1" conntrack -L -f "$2" -r "$3" 2>/dev/null | grep -c . || true
}
GOOD=$(printf '%s%02d' "$PREFIX" 1)
BEFORE_DEAD4=$(count "$GOOD" ipv4 192.0.2.11)
BEFORE_DEAD6=$(count "$GOOD" ipv6 2001:db8:200::11)
BEFORE_LIVE4=$(count "$GOOD" ipv4 192.0.2.12)
BEFORE_TOTAL=$(ip netns exec "$GOOD" conntrack -C)
[ "$BEFORE_DEAD4" -gt 0 ] && [ "$BEFORE_DEAD6" -gt 0 ] && [ "$BEFORE_LIVE4" -gt 0 ]

run() {  # run LOG ARGS...: ansible-playbook; returns its exit code
    local log=$1; shift
    local rc=0 t0 t1
    t0=$(date +%s.%N)
    ansible-playbook -i "$WORK/inventory.yml" -f "$FORKS" failover.yml "$@" > "$log" 2>&1 || rc=$?
    t1=$(date +%s.%N)
    cat "$log"
    # read by benchmarks/fleet.sh
    printf 'fleet-timing: hosts=%s forks=%s strategy=%s run=%s wall=%.2f s\n' "$HOSTS" "$FORKS" "$STRATEGY" \
        "$(basename "$log" .log)" "$(awk "BEGIN {print $t1 - $t0}")" | tee -a "${FLEET_TIMING_FILE:-/dev/null}"
    return "$rc"
}
expect_recap() {  # expect_recap LOG CHANGED_WANTED: good hosts ok, bad hosts failed
    local log=$1 changed=$2 i h line
    for i in $(seq 1 "$HOSTS"); do
        h=$(printf '%s%02d' "$PREFIX" "$i")
        line=$(grep -E "^$h +:" "$log")
        if [ "$i" -eq "$BAD_NS" ] || [ "$i" -eq "$BAD_VAR" ]; then
            echo "$line" | grep -q "failed=1" || { echo "FAIL: $h should have failed: $line"; exit 1; }
        else
            echo "$line" | grep -q "failed=0" || { echo "FAIL: $h failed: $line"; exit 1; }
            if [ "$changed" = yes ]; then
                echo "$line" | grep -q "changed=0" && { echo "FAIL: $h changed nothing: $line"; exit 1; }
            elif [ "$changed" = no ]; then
                echo "$line" | grep -q "changed=0" || { echo "FAIL: $h changed: $line"; exit 1; }
            fi
        fi
    done
    if [ "$BAD_NS" -gt 0 ]; then
        grep -q "network namespace '${PREFIX}13' not found" "$log" || { echo "FAIL: no clear message for the missing namespace"; exit 1; }
        grep -q "dst_nat: invalid value '192.0.2.999'" "$log" || { echo "FAIL: no clear message for the bad host var"; exit 1; }
    fi
}
want_rc() { [ "$1" -eq "$2" ] || { echo "FAIL: ansible-playbook exit $1, expected $2"; exit 1; }; }
BAD_RC=0; [ "$BAD_NS" -gt 0 ] && BAD_RC=2

rc=0; run "$WORK/check.log" --check || rc=$?
want_rc "$rc" "$BAD_RC"; expect_recap "$WORK/check.log" yes
[ "$(ip netns exec "$GOOD" conntrack -C)" -eq "$BEFORE_TOTAL" ] || { echo "FAIL: check mode deleted entries"; exit 1; }

rc=0; run "$WORK/real.log" || rc=$?
want_rc "$rc" "$BAD_RC"; expect_recap "$WORK/real.log" yes

rc=0; run "$WORK/again.log" || rc=$?
want_rc "$rc" "$BAD_RC"; expect_recap "$WORK/again.log" no

# Every good host: the dead backend's entries are gone (v4 and v6), the rest is intact.
for i in $(seq 1 "$HOSTS"); do
    h=$(printf '%s%02d' "$PREFIX" "$i")
    { [ "$i" -eq "$BAD_NS" ] || [ "$i" -eq "$BAD_VAR" ]; } && continue
    d4=$(count "$h" ipv4 192.0.2.11); d6=$(count "$h" ipv6 2001:db8:200::11)
    l4=$(count "$h" ipv4 192.0.2.12); total=$(ip netns exec "$h" conntrack -C)
    if [ "$d4" -ne 0 ] || [ "$d6" -ne 0 ] || [ "$l4" -ne "$BEFORE_LIVE4" ] \
       || [ "$total" -ne $((BEFORE_TOTAL - BEFORE_DEAD4 - BEFORE_DEAD6)) ]; then
        echo "FAIL: $h dead4=$d4 dead6=$d6 live4=$l4 (want $BEFORE_LIVE4) total=$total"; exit 1
    fi
done
# The host with the bad value kept everything.
if [ "$BAD_VAR" -gt 0 ]; then
    h=$(printf '%s%02d' "$PREFIX" "$BAD_VAR")
    [ "$(ip netns exec "$h" conntrack -C)" -eq "$BEFORE_TOTAL" ] || { echo "FAIL: $h lost entries"; exit 1; }
fi
echo "fleet_failover: $HOSTS hosts, $FORKS forks: all checks passed"
