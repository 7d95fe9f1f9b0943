#!/usr/bin/env bash
# The demo of netfilter.conntrack, on a fresh Debian machine, as root:
#   sudo ./demo/run.sh
# Installs what it needs (./tests/run.sh setup: the Debian packages and .venv only), builds
# four network namespaces (a client, a NAT router with a VIP, two backends; documentation
# addresses only), makes real TCP/UDP/ICMP traffic through the router, then runs
# demo/playbook.yml against the router's conntrack table: facts, a backend failover
# flush, idempotence. Always tears the namespaces down.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
echo "demo: what netfilter.conntrack sees on a NAT router carrying real traffic (counts, protocols,"
echo "demo: TCP states, top sources), then a failover: the VIP moves from backend be1 to be2 and"
echo "demo: be1's stale connections are flushed (check mode first, then for real, then again: no change)."
echo "demo: 1/3 installing what it needs (Debian packages, .venv: first run only)"
./tests/run.sh setup
RIG="$ROOT/tests/integration/targets/setup_conntrack/files/nsrig.sh"
PREFIX=nct_demo
trap 'bash "$RIG" down "$PREFIX" >/dev/null 2>&1 || true' EXIT
echo "demo: 2/3 building the namespaces $PREFIX-{cli,rtr,be1,be2} and making traffic through the router"
bash "$RIG" up "$PREFIX"
NSRIG_TCP=20 bash "$RIG" traffic "$PREFIX"
echo "demo: 3/3 demo/playbook.yml on the router's table ($PREFIX-rtr)"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/build/test" ANSIBLE_NOCOLOR="${ANSIBLE_NOCOLOR:-}"
"$ROOT/.venv/bin/ansible-playbook" -i localhost, -c local "$ROOT/demo/playbook.yml" \
    -e "rig_prefix=$PREFIX" -e "rig_script=$RIG" \
    -e "ansible_python_interpreter=$ROOT/.venv/bin/python"
