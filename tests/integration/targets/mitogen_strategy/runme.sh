#!/usr/bin/env bash
# The modules under Mitogen (strategy: mitogen_linear), which runs every task of a host in
# one reused interpreter: a task that entered a network namespace (netns) must leave
# nothing behind. The playbook runs inside a namespace of its own ("home", with its own
# entries), so that "no netns" means that table and not the host's.
set -eu
cd "$(dirname "$0")"
PREFIX=nct8_mito
MITOGEN=$(python -c 'import ansible_mitogen, os; print(os.path.dirname(ansible_mitogen.__file__))') \
    || { echo "mitogen_strategy: mitogen is not installed for this controller (pip install mitogen)"; exit 1; }

cleanup() {
    for ns in $(ip netns list | awk '{print $1}' | grep "^${PREFIX}-" || true); do
        ip netns del "$ns" || true
    done
}
trap cleanup EXIT
cleanup
sport=43000
for ns in home a b; do
    ip netns add "$PREFIX-$ns"
    sport=$((sport + 1))
    ip netns exec "$PREFIX-$ns" conntrack -I -p udp -s 198.51.100.80 -d 203.0.113.80 \
        --sport "$sport" --dport 53 -t 600
done
HOME_NS=$(ip netns exec "$PREFIX-home" readlink /proc/self/ns/net)

ANSIBLE_STRATEGY_PLUGINS="$MITOGEN/plugins/strategy" ANSIBLE_STRATEGY=mitogen_linear ANSIBLE_LIBRARY=library \
    ip netns exec "$PREFIX-home" ansible-playbook -i localhost, mitogen.yml \
    -e "mito_prefix=$PREFIX home_ns='$HOME_NS'" "$@"
