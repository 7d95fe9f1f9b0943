#!/usr/bin/env bash
# migrig.sh - two routers in front of one backend, for moving a VIP with its conntrack state.
#
#   migrig.sh up PREFIX            build PREFIX-{cli,rtr1,rtr2,be} (removes leftovers first),
#                                  the VIP on rtr1, the echo server in be
#   migrig.sh release PREFIX RTR   remove the VIP from router RTR (rtr1|rtr2)
#   migrig.sh take PREFIX RTR [STAMP]  put the VIP on RTR, point the client's route to the
#                                  VIP and the backend's route back to the clients at RTR;
#                                  the time it is done (epoch seconds) goes to file STAMP
#   migrig.sh invalid PREFIX RTR   packets RTR dropped as INVALID (the nft counters)
#   migrig.sh down PREFIX          stop every process in the namespaces, delete them
#
# Topology (documentation addresses only):
#   PREFIX-cli  br0 192.0.2.2/24 (ports to rtr1 and rtr2)
#        rtr1 eth0 192.0.2.1/24      rtr2 eth0 192.0.2.3/24      (+ VIP 203.0.113.10/32, active)
#        rtr1 eth1 198.51.100.1/24   rtr2 eth1 198.51.100.3/24
#   PREFIX-be   br0 198.51.100.20/24 (ports to rtr1 and rtr2), echo server on :8080
# Each router DNATs 203.0.113.10:80 to 198.51.100.20:8080 (no SNAT: the backend routes the
# clients' network through the active router) and drops what conntrack calls INVALID on
# its input and forward paths, as production routers do. nf_conntrack_tcp_loose=0 on both:
# with the default 1, conntrack would pick up a mid-stream TCP packet on the new router as
# a new connection, and (since the DNAT rule matches it again) the move would work without
# the state; with 0 such a packet is INVALID, so only a loaded entry lets it through.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=${MIGRIG_PYTHON:-$(command -v python3)}
VIP=203.0.113.10 VIP_PORT=80
CLI=192.0.2.2 BE=198.51.100.20 BE_PORT=8080
declare -A OUT_IP=([rtr1]=192.0.2.1 [rtr2]=192.0.2.3) IN_IP=([rtr1]=198.51.100.1 [rtr2]=198.51.100.3)

die() { echo "migrig: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: migrig.sh up|release|take|invalid|down PREFIX [rtr1|rtr2]"
CMD=$1 P=$2
[[ $P =~ ^nct[_.0-9-][A-Za-z0-9_.-]{0,20}$ ]] || die "bad PREFIX '$P'"
ROLES=(cli rtr1 rtr2 be)
nsx() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }
router() { [[ ${1:-} == rtr1 || ${1:-} == rtr2 ]] || die "router must be rtr1 or rtr2, not '${1:-}'"; }

ruleset() {
    cat <<EOF
table inet nct_mig {
    chain nat_pre {
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr $VIP tcp dport $VIP_PORT dnat ip to $BE:$BE_PORT
    }
    # without a conntrack entry a mid-stream packet is INVALID (tcp_loose=0): dropped, no RST
    chain input {
        type filter hook input priority filter; policy accept;
        ct state invalid counter drop
    }
    chain forward {
        type filter hook forward priority filter; policy accept;
        ct state invalid counter drop
    }
}
EOF
}

do_down() {
    local r ns pids
    for r in "${ROLES[@]}"; do
        ns=$P-$r
        [ -e "/run/netns/$ns" ] || continue
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        # shellcheck disable=SC2086
        [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
        ip netns del "$ns"
    done
}

do_up() {
    local r
    do_down
    for r in "${ROLES[@]}"; do
        ip netns add "$P-$r"
        nsx "$r" ip link set lo up
    done
    for r in rtr1 rtr2; do
        ip link add "$r" netns "$P-cli" type veth peer name eth0 netns "$P-$r"
        ip link add "$r" netns "$P-be" type veth peer name eth1 netns "$P-$r"
        nsx "$r" ip addr add "${OUT_IP[$r]}/24" dev eth0
        nsx "$r" ip addr add "${IN_IP[$r]}/24" dev eth1
        nsx "$r" ip link set eth0 up
        nsx "$r" ip link set eth1 up
        nsx "$r" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
            net.ipv4.conf.default.rp_filter=0
        ruleset | nsx "$r" nft -f -
        # after the ruleset: the nat chain loads conntrack in the namespace
        nsx "$r" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0
    done
    for r in cli be; do
        nsx "$r" ip link add br0 type bridge stp_state 0
        nsx "$r" ip link set rtr1 master br0
        nsx "$r" ip link set rtr2 master br0
        nsx "$r" ip link set rtr1 up
        nsx "$r" ip link set rtr2 up
        nsx "$r" ip link set br0 up
    done
    nsx cli ip addr add "$CLI/24" dev br0
    nsx be ip addr add "$BE/24" dev br0
    do_take rtr1
    setsid ip netns exec "$P-be" "$PY" "$HERE/echo_peer.py" server --bind "$BE" --port "$BE_PORT" \
        >/dev/null 2>&1 </dev/null &
    for _ in $(seq 100); do
        nsx be ss -Hltn "sport = :$BE_PORT" | grep -q . && return 0
        sleep 0.1
    done
    die "echo server not listening"
}

do_release() { nsx "$1" ip addr del "$VIP/32" dev eth0; }

do_take() {
    nsx "$1" ip addr add "$VIP/32" dev eth0
    nsx cli ip route replace "$VIP/32" via "${OUT_IP[$1]}"
    nsx be ip route replace 192.0.2.0/24 via "${IN_IP[$1]}"
    [ -z "${2:-}" ] || date +%s.%N > "$2"
}

case $CMD in
    up) do_up ;;
    down) do_down ;;
    release) router "${3:-}"; do_release "$3" ;;
    take) router "${3:-}"; do_take "$3" "${4:-}" ;;
    invalid) router "${3:-}"; nsx "$3" nft list table inet nct_mig | awk '/invalid counter/ {n += $6} END {print n + 0}' ;;
    *) die "unknown command '$CMD'" ;;
esac
