#!/usr/bin/env bash
# Runs every example of playbooks/ on the namespace rig with real traffic: facts.yml,
# ci_check.yml (passes, then fails after the VIP moves), failover.yml (check mode, real,
# again), and checks the results with the conntrack CLI.
set -eu
cd "$(dirname "$0")"
COLL_ROOT=$(ansible-galaxy collection list netfilter.conntrack 2>/dev/null \
    | awk '/^# /{p=$2} /^netfilter\.conntrack /{print p"/netfilter/conntrack"; exit}')
[ -f "$COLL_ROOT/playbooks/facts.yml" ] || { echo "examples: collection not found"; exit 1; }
RIG=../setup_conntrack/files/nsrig.sh
P=nct_examples
RTR=$P-rtr
LOG=$(mktemp)
trap 'bash "$RIG" down "$P" >/dev/null 2>&1 || true; rm -f "$LOG"' EXIT
bash "$RIG" up "$P" >/dev/null
NSRIG_TCP=3 bash "$RIG" traffic "$P" >/dev/null

play() {  # play NAME ARGS...: run playbooks/NAME on the rig's router, output in $LOG
    ansible-playbook -i localhost, -c local "$COLL_ROOT/playbooks/$1" -e router_netns="$RTR" \
        -e ansible_python_interpreter="$(command -v python)" -e ansible_become=false "${@:2}" \
        > "$LOG" 2>&1
}
fail() { cat "$LOG"; echo "examples: FAIL: $*"; exit 1; }
count() { ip netns exec "$RTR" conntrack -L "$@" 2>/dev/null | grep -c . || true; }

play facts.yml || fail "facts.yml"
grep -q "entries: .*% of nf_conntrack_max" "$LOG" || fail "facts.yml printed no fill ratio"
play facts.yml -e conntrack_facts_max_percent=0 && fail "facts.yml accepted a full table"
grep -q "conntrack table .* full" "$LOG" || fail "facts.yml: no clear message"

BACKENDS='{"backends": ["203.0.113.11", "2001:db8:113::11"]}'
play ci_check.yml -e vip=198.51.100.100 -e "$BACKENDS" || fail "ci_check.yml v4"
play ci_check.yml -e vip=2001:db8:51::100 -e "$BACKENDS" || fail "ci_check.yml v6"
bash "$RIG" dnat "$P" be2 >/dev/null
NSRIG_TCP=3 bash "$RIG" traffic "$P" >/dev/null
play ci_check.yml -e vip=198.51.100.100 -e "$BACKENDS" && fail "ci_check.yml missed be2"
grep -q "expected" "$LOG" || fail "ci_check.yml: no clear message"

DEAD4=$(count -r 203.0.113.11 -p tcp)
[ "$DEAD4" -gt 0 ] || fail "no connection on be1 before the failover"
TOTAL=$(ip netns exec "$RTR" conntrack -C)
VARS=(-e dead_backend=203.0.113.11 -e dead_backend6=2001:db8:113::11 -e drain_timeout=0)
play failover.yml "${VARS[@]}" --check || fail "failover.yml --check"
[ "$(ip netns exec "$RTR" conntrack -C)" -eq "$TOTAL" ] || fail "check mode deleted entries"
play failover.yml "${VARS[@]}" || fail "failover.yml"
grep -qE "localhost +: .*changed=[1-9]" "$LOG" || fail "failover.yml changed nothing"
[ "$(count -r 203.0.113.11 -p tcp)" -eq 0 ] || fail "be1 TCP connections left"
[ "$(count -r 203.0.113.12 -p tcp)" -gt 0 ] || fail "be2 connections gone"
play failover.yml "${VARS[@]}" || fail "failover.yml again"
grep -qE "localhost +: .*changed=0" "$LOG" || fail "failover.yml rerun changed something"

# demo/playbook.yml, as demo/run.sh runs it (new connections on be1 first: the demo moves
# the VIP to be2 and flushes be1's)
[ -f "$COLL_ROOT/demo/playbook.yml" ] || fail "demo/playbook.yml not found"
bash "$RIG" dnat "$P" be1 >/dev/null
NSRIG_TCP=3 bash "$RIG" traffic "$P" >/dev/null
ansible-playbook -i localhost, -c local "$COLL_ROOT/demo/playbook.yml" -e rig_prefix="$P" \
    -e rig_script="$(cd "$(dirname "$RIG")" && pwd)/nsrig.sh" \
    -e ansible_python_interpreter="$(command -v python)" > "$LOG" 2>&1 || fail "demo/playbook.yml"
grep -q '"TCP states: {.*ESTABLISHED' "$LOG" || fail "demo: no TCP states"
grep '"TCP states: ' "$LOG" | grep -q null && fail "demo: TCP states with a null key (non-TCP entries)"
grep -q "'invalid' counts packets" "$LOG" || fail "demo: the invalid counter is not explained"
grep -q "be2's are the IPv4 connections made after" "$LOG" || fail "demo: be2's count is not explained"
echo "examples: facts, ci_check, failover and the demo's playbook passed"
