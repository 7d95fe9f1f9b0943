#!/usr/bin/env bash
# The demo of netfilter.conntrack, on a fresh Debian machine, as root:
#   sudo ./demo/run.sh
# Installs what it needs (./tests/run.sh setup), builds four network namespaces (a client,
# a NAT router with a VIP, two backends; documentation addresses only), makes real
# TCP/UDP/ICMP traffic through the router, then runs demo/playbook.yml against the
# router's conntrack table: facts, a backend failover flush, idempotence. Always tears
# the namespaces down.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
./tests/run.sh setup
RIG="$ROOT/tests/integration/targets/setup_conntrack/files/nsrig.sh"
PREFIX=nct_demo
trap 'bash "$RIG" down "$PREFIX" >/dev/null 2>&1 || true' EXIT
bash "$RIG" up "$PREFIX"
NSRIG_TCP=20 bash "$RIG" traffic "$PREFIX"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/build/test" ANSIBLE_NOCOLOR="${ANSIBLE_NOCOLOR:-}"
"$ROOT/.venv/bin/ansible-playbook" -i localhost, -c local "$ROOT/demo/playbook.yml" \
    -e "rig_prefix=$PREFIX" -e "rig_script=$RIG" \
    -e "ansible_python_interpreter=$ROOT/.venv/bin/python"
