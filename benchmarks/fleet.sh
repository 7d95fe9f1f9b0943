#!/usr/bin/env bash
# Fleet benchmarks (not tests), in one run so that every ratio shares the machine's load:
#  1. the conntrack_failover role on 1, 10 and 50 hosts with several fork counts, with
#     Ansible's linear strategy and with Mitogen's mitogen_linear (the fleet_failover
#     integration target's script and its timing lines: FLEET_COMBOS, FLEET_STRATEGIES);
#  2. per-host cost, side by side: a play of three ansible.builtin.ping tasks, a play of
#     three conntrack_flush tasks and a play of the conntrack_failover role (two targets),
#     on FLEET_CMP_HOSTS (50) namespace hosts of 600 entries each, at each of
#     FLEET_CMP_FORKS (10 25), FLEET_CMP_RUNS (2) times, the plays' order alternating.
#     The tables are refilled (not timed) before each flush or role play.
#   sudo ./benchmarks/fleet.sh            (after ./tests/run.sh setup)
#   FLEET_COMBOS= sudo ./benchmarks/fleet.sh    (part 2 only)
#   FLEET_COMBOS="50:10" FLEET_STRATEGIES="linear mitogen_linear" FLEET_CMP_HOSTS=0 ./benchmarks/fleet.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/build/test"
NCT_SANITY_OLDEST=0 NCT_LINT=0 NCT_PLATFORMS=0 "$ROOT/tests/run.sh" setup >/dev/null  # .venv and a fresh copy
COLL="$ANSIBLE_COLLECTIONS_PATH/ansible_collections/netfilter/conntrack"
TARGET="$COLL/tests/integration/targets/fleet_failover"
OUT=$(mktemp)
uptime
if [ -n "${FLEET_COMBOS-1:1 10:1 10:10 50:10 50:25 50:50}" ]; then
    for combo in ${FLEET_COMBOS-1:1 10:1 10:10 50:10 50:25 50:50}; do
        for strategy in ${FLEET_STRATEGIES:-linear mitogen_linear}; do
            FLEET_HOSTS=${combo%%:*} FLEET_FORKS=${combo##*:} FLEET_STRATEGY=$strategy FLEET_TIMING_FILE=$OUT \
                "$TARGET/runme.sh" > /dev/null
        done
    done
    uptime
    printf '%-6s %-6s %-15s %-8s %s\n' hosts forks strategy run wall
    sed -E 's/fleet-timing: hosts=([0-9]+) forks=([0-9]+) strategy=([a-z_]+) run=([a-z]+) wall=([0-9.]+) s/\1 \2 \3 \4 \5/' "$OUT" \
        | awk '{printf "%-6s %-6s %-15s %-8s %6.2f s  (%.3f s/host)\n", $1, $2, $3, $4, $5, $5 / $1}'
fi
rm -f "$OUT"

# ------------------------------------------------------------- 2. ping / flush / role
HOSTS=${FLEET_CMP_HOSTS:-50}
[ "$HOSTS" -gt 0 ] || exit 0
PREFIX=ncte-pf-h   # not nct[-_.0-9]*: test runs remove those as leftovers
WORK=$(mktemp -d /tmp/ncte-pf.XXXXXX)
cleanup() {
    for ns in $(ip netns list | awk '{print $1}' | grep "^${PREFIX}[0-9]" || true); do
        ip netns del "$ns" || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
cleanup; mkdir -p "$WORK"
NSARGS=()
{
    echo "fleet:"
    echo "  vars: {ansible_connection: local, ansible_python_interpreter: '{{ ansible_playbook_python }}'}"
    echo "  hosts:"
    for i in $(seq 1 "$HOSTS"); do
        h=$(printf '%s%02d' "$PREFIX" "$i")
        ip netns add "$h"
        NSARGS+=(--netns "$h")
        echo "    $h: {ns: $h}"
    done
} > "$WORK/inventory.yml"
fill() { python "$COLL/tools/ctfill.py" "${NSARGS[@]}" --count 600 --mix > /dev/null || true; }
fill
cat > "$WORK/ping.yml" <<'PLAY'
- hosts: fleet
  gather_facts: false
  tasks:
    - ansible.builtin.ping:
    - ansible.builtin.ping:
    - ansible.builtin.ping:
PLAY
cat > "$WORK/flush.yml" <<'PLAY'
- hosts: fleet
  gather_facts: false
  tasks:
    - netfilter.conntrack.conntrack_flush: {netns: "{{ ns }}", dst_nat: 192.0.2.11}
    - netfilter.conntrack.conntrack_flush: {netns: "{{ ns }}", dst_nat: "2001:db8:200::11"}
    - netfilter.conntrack.conntrack_flush: {netns: "{{ ns }}", orig_src: 198.51.100.0/24}
PLAY
cat > "$WORK/role.yml" <<'PLAY'
- hosts: fleet
  gather_facts: false
  roles:
    - role: netfilter.conntrack.conntrack_failover
      vars:
        conntrack_failover_netns: "{{ ns }}"
        conntrack_failover_targets:
          - {name: dead backend (IPv4), dst_nat: 192.0.2.11}
          - {name: dead backend (IPv6), dst_nat: "2001:db8:200::11"}
        conntrack_failover_max_delete: 10000
PLAY
RES="$WORK/results"
for run in $(seq 1 "${FLEET_CMP_RUNS:-2}"); do
    for forks in ${FLEET_CMP_FORKS:-10 25}; do
        plays="ping flush role"; [ $((run % 2)) -eq 0 ] && plays="role flush ping"
        for play in $plays; do
            [ "$play" = ping ] || fill
            t0=$(date +%s.%N)
            rc=0
            ansible-playbook -i "$WORK/inventory.yml" -f "$forks" "$WORK/$play.yml" > "$WORK/$play.log" 2>&1 || rc=$?
            t1=$(date +%s.%N)
            echo "$forks $play $(awk "BEGIN {print $t1 - $t0}")" >> "$RES"
            if [ "$rc" -ne 0 ]; then   # timed all the same; say which hosts failed and why
                echo "fleet: $play at forks $forks exited $rc:"
                grep -E '^(fatal|failed):' "$WORK/$play.log" | cut -c1-300 | head -5
                grep -E 'failed=[1-9]|unreachable=[1-9]' "$WORK/$play.log" | head -5
            fi
        done
    done
done
uptime
echo "$HOSTS hosts (network namespaces, connection local, 600 entries each); medians of ${FLEET_CMP_RUNS:-2} runs"
printf '%-6s %-28s %9s %9s %8s\n' forks play wall per-host "vs ping"
for forks in ${FLEET_CMP_FORKS:-10 25}; do
    ping=$(awk -v f="$forks" '$1 == f && $2 == "ping" {print $3}' "$RES" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}')
    for play in ping flush role; do
        w=$(awk -v f="$forks" -v p="$play" '$1 == f && $2 == p {print $3}' "$RES" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}')
        case $play in
            ping) name="3 x ansible.builtin.ping" ;;
            flush) name="3 x conntrack_flush" ;;
            role) name="conntrack_failover (2 targets)" ;;
        esac
        awk -v f="$forks" -v n="$name" -v w="$w" -v p="$ping" -v h="$HOSTS" \
            'BEGIN {printf "%-6s %-28s %8.1fs %8.3fs %7.2fx\n", f, n, w, w / h, w / p}'
    done
done
