#!/usr/bin/env bash
# Wall time of the conntrack_failover role on a fleet of 1, 10 and 50 hosts (each a network
# namespace with 600 synthetic entries), with several fork counts, with Ansible's linear
# strategy and with Mitogen's mitogen_linear (mitogen is in requirements-test.txt). Not a
# test: it runs the fleet_failover integration target's script and collects its timing lines.
#   sudo ./benchmarks/fleet.sh            (after ./tests/run.sh setup)
#   FLEET_COMBOS="50:10" FLEET_STRATEGIES="linear mitogen_linear" ./benchmarks/fleet.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/build/test"
NCT_SANITY_OLDEST=0 NCT_LINT=0 NCT_PLATFORMS=0 "$ROOT/tests/run.sh" setup >/dev/null  # .venv and a fresh copy
TARGET="$ANSIBLE_COLLECTIONS_PATH/ansible_collections/netfilter/conntrack/tests/integration/targets/fleet_failover"
OUT=$(mktemp)
uptime
for combo in ${FLEET_COMBOS:-1:1 10:1 10:10 50:10 50:25 50:50}; do
    for strategy in ${FLEET_STRATEGIES:-linear mitogen_linear}; do
        FLEET_HOSTS=${combo%%:*} FLEET_FORKS=${combo##*:} FLEET_STRATEGY=$strategy FLEET_TIMING_FILE=$OUT \
            "$TARGET/runme.sh" > /dev/null
    done
done
uptime
printf '%-6s %-6s %-15s %-8s %s\n' hosts forks strategy run wall
sed -E 's/fleet-timing: hosts=([0-9]+) forks=([0-9]+) strategy=([a-z_]+) run=([a-z]+) wall=([0-9.]+) s/\1 \2 \3 \4 \5/' "$OUT" \
    | awk '{printf "%-6s %-6s %-15s %-8s %6.2f s  (%.3f s/host)\n", $1, $2, $3, $4, $5, $5 / $1}'
rm -f "$OUT"
