#!/usr/bin/env bash
# nsrig.sh - network-namespace rig that gives integration tests a real conntrack table.
#
#   nsrig.sh up PREFIX            build PREFIX-{cli,rtr,be1,be2} (removes leftovers first)
#   nsrig.sh traffic PREFIX       start servers (once) and one more batch of client flows
#   nsrig.sh dnat PREFIX be1|be2  point the VIP's DNAT rules at that backend (v4 and v6)
#   nsrig.sh ftp PREFIX           vsftpd in be1 + an FTP session through the VIP
#   nsrig.sh stop-traffic PREFIX  stop every process started by traffic/ftp
#   nsrig.sh down PREFIX          stop processes, delete the 4 namespaces and /run/nsrig/PREFIX
#   nsrig.sh cleanup PREFIX       down + delete EVERY namespace whose name starts with PREFIX
#   nsrig.sh status PREFIX        namespaces, processes, DNAT backend
#   nsrig.sh facts PREFIX         names, addresses and ports as JSON (for the Ansible role)
#
# Topology (all addresses are documentation ranges):
#   PREFIX-cli eth0 198.51.100.2/24 2001:db8:51::2/64
#        |  veth
#   PREFIX-rtr cli0 198.51.100.1/24 2001:db8:51::1/64  + VIP 198.51.100.100 2001:db8:51::100
#              br0  203.0.113.1/24  2001:db8:113::1/64 (bridge with ports be1, be2)
#        |  veth          |  veth
#   PREFIX-be1 eth0 .11/::11     PREFIX-be2 eth0 .12/::12
#
# Environment: NSRIG_TCP (held TCP connections per VIP family, default 5),
#   NSRIG_UDP_ROUNDS (2: a second UDP exchange after 2 s makes UDP entries ASSURED; 1 = faster),
#   NSRIG_CT_TIMEOUT (udp/icmp conntrack timeouts in rtr, default 600 s so that short-lived
#   entries survive a test run; 0 keeps the kernel defaults), NSRIG_RUN_DIR (/run/nsrig),
#   NSRIG_PYTHON (python3).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN_BASE=${NSRIG_RUN_DIR:-/run/nsrig}
PY=${NSRIG_PYTHON:-$(command -v python3 || echo /usr/bin/python3)}
NSRIG_TCP=${NSRIG_TCP:-5}
NSRIG_UDP_ROUNDS=${NSRIG_UDP_ROUNDS:-2}
NSRIG_CT_TIMEOUT=${NSRIG_CT_TIMEOUT:-600}

CLI4=198.51.100.2    CLI6=2001:db8:51::2
RTR_CLI4=198.51.100.1 RTR_CLI6=2001:db8:51::1
VIP4=198.51.100.100  VIP6=2001:db8:51::100
RTR_BE4=203.0.113.1  RTR_BE6=2001:db8:113::1
BE1_4=203.0.113.11   BE1_6=2001:db8:113::11
BE2_4=203.0.113.12   BE2_6=2001:db8:113::12
TCP_PORT=8080 UDP_PORT=5353 DIRECT_PORT=9000 DEAD_PORT=5999

die() { echo "nsrig: $*" >&2; exit 1; }
log() { echo "nsrig: $*" >&2; }

usage() {
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

[ $# -ge 2 ] || usage
CMD=$1 P=$2
# The prefix becomes part of namespace and directory names: keep it tame.
[[ $P =~ ^[A-Za-z0-9][A-Za-z0-9_.]{0,30}$ ]] || die "bad PREFIX '$P' (letters, digits, _ and ., at most 31)"
RUN=$RUN_BASE/$P
case $CMD in status | facts) ;; *)
    [ "$(id -u)" = 0 ] || die "needs root (network namespaces, nftables)"
    { command -v ip && command -v nft; } >/dev/null || die "needs ip (iproute2) and nft (nftables)"
esac
CLI=$P-cli RTR=$P-rtr BE1=$P-be1 BE2=$P-be2
ROLES=(cli rtr be1 be2)

nsx() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }
ns_exists() { [ -e "/run/netns/$1" ]; }

# --- process handling -------------------------------------------------------------
# Fields of /proc/PID/stat after "(comm)": $1 is the state, $20 the start time.
proc_stat() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null; }

# A killed process counts as gone once it is a zombie: it was reparented to PID 1,
# which may take seconds to reap it.
pid_alive() {
    local st
    st=$(proc_stat "$1" | cut -d' ' -f1)
    [ -n "$st" ] && [ "$st" != Z ]
}

# Pid files hold "PID STARTTIME", so that a recycled PID is never killed.
pidfile_pid() {  # pidfile_pid FILE: print the PID if that very process still runs
    local pid start
    # (no file yet is the usual case: a process not started; say nothing then)
    [ -e "$1" ] || return 1
    read -r pid start 2>/dev/null <"$1" || return 1
    [ -n "$pid" ] && pid_alive "$pid" && [ "$(proc_stat "$pid" | cut -d' ' -f20)" = "$start" ] && echo "$pid"
}

stop_pids() {  # stop_pids PID...: TERM, wait up to 3 s, then KILL
    local pid alive
    [ $# -gt 0 ] || return 0
    kill -TERM "$@" 2>/dev/null || true
    for _ in $(seq 30); do
        alive=()
        for pid in "$@"; do pid_alive "$pid" && alive+=("$pid"); done
        [ ${#alive[@]} -eq 0 ] && return 0
        sleep 0.1
    done
    kill -KILL "${alive[@]}" 2>/dev/null || true
}

stop_pidfiles() {  # processes recorded in $RUN/*.pid
    local f pid pids=()
    [ -d "$RUN" ] || return 0
    for f in "$RUN"/*.pid; do
        [ -e "$f" ] || continue
        pid=$(pidfile_pid "$f") && pids+=("$pid")
        rm -f "$f"
    done
    stop_pids "${pids[@]}"
    rm -f "$RUN"/*.ready
}

stop_all() {  # pid files, then whatever else still runs in the rig (e.g. vsftpd sessions)
    local r
    stop_pidfiles
    for r in "${ROLES[@]}"; do
        # shellcheck disable=SC2046
        ns_exists "$P-$r" && stop_pids $(ip netns pids "$P-$r" 2>/dev/null || true)
    done
    return 0
}

delete_ns() {  # delete_ns NAME: kill whatever still runs in it, then delete it
    local ns=$1
    ns_exists "$ns" || return 0
    # shellcheck disable=SC2046
    stop_pids $(ip netns pids "$ns" 2>/dev/null || true)
    ip netns del "$ns" 2>/dev/null || true
    ! ns_exists "$ns" || die "could not delete namespace $ns"
}

do_down() {
    local r
    stop_pidfiles
    for r in "${ROLES[@]}"; do delete_ns "$P-$r"; done
    rm -rf "$RUN"
    # the last rig down leaves no empty /run/nsrig behind (another rig's files keep it)
    rmdir "$RUN_BASE" 2>/dev/null || true
}

do_cleanup() {
    local ns
    do_down
    # every namespace whose name starts with PREFIX (crashed runs, other layouts)
    for ns in $(ip netns list | awk '{print $1}'); do
        [[ $ns == "$P"* ]] && { log "removing leftover namespace $ns"; delete_ns "$ns"; }
    done
    return 0
}

# --- nftables in the router ---------------------------------------------------------
dnat_rules() {  # dnat_rules be1|be2 -> the rules of chain nat_pre
    local b4 b6
    case $1 in
        be1) b4=$BE1_4 b6=$BE1_6 ;;
        be2) b4=$BE2_4 b6=$BE2_6 ;;
        *) die "dnat target must be be1 or be2, not '$1'" ;;
    esac
    cat <<EOF
add rule inet ncrig nat_pre ip daddr $VIP4 tcp dport { 21, $TCP_PORT } dnat ip to $b4
add rule inet ncrig nat_pre ip daddr $VIP4 udp dport $UDP_PORT dnat ip to $b4
add rule inet ncrig nat_pre ip6 daddr $VIP6 tcp dport { 21, $TCP_PORT } dnat ip6 to $b6
add rule inet ncrig nat_pre ip6 daddr $VIP6 udp dport $UDP_PORT dnat ip6 to $b6
EOF
}

nft_ruleset() {
    cat <<EOF
table inet ncrig {
    # conntrack helper for FTP, assigned explicitly (automatic assignment is gone)
    ct helper ftp-std {
        type "ftp" protocol tcp
        l3proto inet
    }
    chain helpers {
        type filter hook prerouting priority filter; policy accept;
        tcp dport 21 ct helper set "ftp-std"
    }
    chain nat_pre {
        type nat hook prerouting priority dstnat; policy accept;
    }
    chain nat_post {
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr 198.51.100.0/24 ip daddr 203.0.113.0/24 snat ip to $RTR_BE4
        ip6 saddr 2001:db8:51::/64 ip6 daddr 2001:db8:113::/64 snat ip6 to $RTR_BE6
    }
    chain filter_fwd {
        type filter hook forward priority filter; policy accept;
        # A ct label rule turns connlabels on in this namespace (without one the kernel
        # drops labels set over netlink). The direct cli->be2 flows get label bit 1 and
        # mark 0x2a, so that label/mark filters have something to find.
        tcp dport $DIRECT_PORT ct label set 1 ct mark set 0x2a
    }
}
EOF
}

set_dnat() {
    { echo "flush chain inet ncrig nat_pre"; dnat_rules "$1"; } | nsx rtr nft -f -
    echo "$1" > "$RUN/backend"
}

# --- up -------------------------------------------------------------------------------
do_up() {
    local r dev
    do_down
    mkdir -p "$RUN"
    for r in "${ROLES[@]}"; do
        ip netns add "$P-$r"
        nsx "$r" ip link set lo up
        # No duplicate address detection: addresses must work at once, link-locals too.
        nsx "$r" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    done
    # veths are created with both ends directly inside the namespaces: no name clash in
    # the host namespace with other rigs running at the same time.
    ip link add eth0 netns "$CLI" type veth peer name cli0 netns "$RTR"
    ip link add eth0 netns "$BE1" type veth peer name be1 netns "$RTR"
    ip link add eth0 netns "$BE2" type veth peer name be2 netns "$RTR"
    nsx rtr ip link add br0 type bridge stp_state 0 mcast_snooping 0
    nsx rtr ip link set be1 master br0
    nsx rtr ip link set be2 master br0

    nsx cli ip addr add "$CLI4/24" dev eth0
    nsx cli ip addr add "$CLI6/64" dev eth0 nodad
    nsx rtr ip addr add "$RTR_CLI4/24" dev cli0
    nsx rtr ip addr add "$VIP4/32" dev cli0
    nsx rtr ip addr add "$RTR_CLI6/64" dev cli0 nodad
    nsx rtr ip addr add "$VIP6/128" dev cli0 nodad
    nsx rtr ip addr add "$RTR_BE4/24" dev br0
    nsx rtr ip addr add "$RTR_BE6/64" dev br0 nodad
    nsx be1 ip addr add "$BE1_4/24" dev eth0
    nsx be1 ip addr add "$BE1_6/64" dev eth0 nodad
    nsx be2 ip addr add "$BE2_4/24" dev eth0
    nsx be2 ip addr add "$BE2_6/64" dev eth0 nodad
    nsx cli ip link set eth0 up
    nsx be1 ip link set eth0 up
    nsx be2 ip link set eth0 up
    for dev in cli0 be1 be2 br0; do nsx rtr ip link set "$dev" up; done
    nsx cli ip route add default via "$RTR_CLI4"
    nsx cli ip -6 route add default via "$RTR_CLI6"
    for r in be1 be2; do
        nsx "$r" ip route add default via "$RTR_BE4"
        nsx "$r" ip -6 route add default via "$RTR_BE6"
    done

    nsx rtr sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
        net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
        net.netfilter.nf_conntrack_acct=1 net.netfilter.nf_conntrack_timestamp=1
    if [ "$NSRIG_CT_TIMEOUT" != 0 ]; then
        nsx rtr sysctl -qw net.netfilter.nf_conntrack_udp_timeout="$NSRIG_CT_TIMEOUT" \
            net.netfilter.nf_conntrack_udp_timeout_stream="$NSRIG_CT_TIMEOUT" \
            net.netfilter.nf_conntrack_icmp_timeout="$NSRIG_CT_TIMEOUT" \
            net.netfilter.nf_conntrack_icmpv6_timeout="$NSRIG_CT_TIMEOUT"
    fi
    nft_ruleset | nsx rtr nft -f -
    set_dnat be1
    log "up: $CLI $RTR $BE1 $BE2"
}

need_up() {
    local r
    for r in "${ROLES[@]}"; do ns_exists "$P-$r" || die "namespace $P-$r missing: run 'nsrig.sh up $P' first"; done
    mkdir -p "$RUN"
}

# start NAME ROLE CMD...: background process in namespace ROLE, pid in $RUN/NAME.pid.
# Every process is started with "setsid ip netns exec NS python3 ..."; setsid does not
# fork when the caller is not a group leader and ip netns exec execs, so $! is the
# python process. Its stdout/stderr go to $RUN/*.log so that Ansible's command module
# does not wait for them.
start() {
    local name=$1 role=$2
    shift 2
    setsid ip netns exec "$P-$role" "$@" >"$RUN/$name.log" 2>&1 </dev/null &
    echo "$! $(proc_stat $! | cut -d' ' -f20)" >"$RUN/$name.pid"
}

alive() { pidfile_pid "$RUN/$1.pid" >/dev/null; }

wait_for() {  # wait_for NAME SECONDS TEST...: until TEST succeeds; fail if NAME died
    local name=$1 secs=$2
    shift 2
    for _ in $(seq $((secs * 10))); do
        "$@" && return 0
        alive "$name" || { cat "$RUN/$name.log" >&2; die "$name exited"; }
        sleep 0.1
    done
    cat "$RUN/$name.log" >&2
    die "$name not ready after ${secs}s"
}

# --- traffic --------------------------------------------------------------------------
do_traffic() {
    local b n
    need_up
    for b in be1 be2; do
        alive "server-$b" && continue
        start "server-$b" "$b" "$PY" "$HERE/nsrig_server.py" --name "$b" \
            --tcp "$TCP_PORT" --tcp "$DIRECT_PORT" --udp "$UDP_PORT"
        wait_for "server-$b" 10 grep -q ready "$RUN/server-$b.log"
    done
    # each call adds one more batch of client flows (client-1, client-2, ...)
    n=1
    while [ -e "$RUN/client-$n.pid" ]; do n=$((n + 1)); done
    start "client-$n" cli "$PY" "$HERE/nsrig_client.py" --ready "$RUN/client-$n.ready" \
        --udp-rounds "$NSRIG_UDP_ROUNDS" \
        --tcp "$VIP4" "$TCP_PORT" "$NSRIG_TCP" --tcp "$VIP6" "$TCP_PORT" "$NSRIG_TCP" \
        --tcp "$BE2_4" "$DIRECT_PORT" 1 --tcp "$BE2_6" "$DIRECT_PORT" 1 \
        --udp "$VIP4" "$UDP_PORT" --udp "$VIP6" "$UDP_PORT" \
        --udp-noreply "$BE1_4" "$DEAD_PORT" --udp-noreply "$BE1_6" "$DEAD_PORT" \
        --ping "$VIP4" --ping "$VIP6" --ping "$RTR_CLI4" --ping "$RTR_CLI6" \
        --ping "$BE1_4" --ping "$BE1_6"
    wait_for "client-$n" 30 test -e "$RUN/client-$n.ready"
    log "traffic: batch client-$n ready (backend $(cat "$RUN/backend" 2>/dev/null || echo '?'))"
    cat "$RUN/client-$n.log" >&2
}

# --- ftp (vsftpd in be1, session from cli through the VIP) -------------------------------
do_ftp() {
    need_up
    mkdir -p "$RUN/ftproot"
    echo "nsrig ftp test file" >"$RUN/ftproot/hello.txt"
    chmod 755 "$RUN/ftproot"
    sed "s|@ANON_ROOT@|$RUN/ftproot|" "$HERE/vsftpd.conf" >"$RUN/vsftpd.conf"
    if ! alive vsftpd; then
        start vsftpd be1 vsftpd "$RUN/vsftpd.conf"
        wait_for vsftpd 10 nsx be1 sh -c "ss -Hltn 'sport = :21' | grep -q ."
    fi
    if alive ftpclient; then stop_pids "$(pidfile_pid "$RUN/ftpclient.pid")"; fi
    rm -f "$RUN/ftpclient.ready"
    start ftpclient cli "$PY" "$HERE/nsrig_client.py" --ready "$RUN/ftpclient.ready" \
        --ftp "$VIP4" --ftp "$VIP6"
    wait_for ftpclient 30 test -e "$RUN/ftpclient.ready"
    cat "$RUN/ftpclient.log" >&2
}

do_facts() {  # one JSON object; keys become rig_<key> facts in the role
    cat <<EOF
{"prefix": "$P", "run_dir": "$RUN", "script": "$HERE/nsrig.sh",
 "ns_cli": "$CLI", "ns_rtr": "$RTR", "ns_be1": "$BE1", "ns_be2": "$BE2",
 "cli4": "$CLI4", "cli6": "$CLI6", "rtr_cli4": "$RTR_CLI4", "rtr_cli6": "$RTR_CLI6",
 "vip4": "$VIP4", "vip6": "$VIP6", "snat4": "$RTR_BE4", "snat6": "$RTR_BE6",
 "rtr_be4": "$RTR_BE4", "rtr_be6": "$RTR_BE6",
 "be1_4": "$BE1_4", "be1_6": "$BE1_6", "be2_4": "$BE2_4", "be2_6": "$BE2_6",
 "net_cli4": "198.51.100.0/24", "net_cli6": "2001:db8:51::/64",
 "net_be4": "203.0.113.0/24", "net_be6": "2001:db8:113::/64",
 "tcp_port": $TCP_PORT, "udp_port": $UDP_PORT, "direct_port": $DIRECT_PORT,
 "dead_port": $DEAD_PORT, "ftp_port": 21, "direct_mark": 42, "direct_label": 1,
 "tcp_connections": $NSRIG_TCP}
EOF
}

do_status() {
    local r f
    for r in "${ROLES[@]}"; do
        if ns_exists "$P-$r"; then echo "ns $P-$r: present"; else echo "ns $P-$r: absent"; fi
    done
    echo "backend: $(cat "$RUN/backend" 2>/dev/null || echo none)"
    for f in "$RUN"/*.pid; do
        [ -e "$f" ] || continue
        if pidfile_pid "$f" >/dev/null; then echo "$(basename "$f" .pid): running"; else echo "$(basename "$f" .pid): dead"; fi
    done
}

case $CMD in
    up) do_up ;;
    traffic) do_traffic ;;
    dnat)
        [ $# -eq 3 ] || usage
        [[ $3 == be1 || $3 == be2 ]] || die "dnat target must be be1 or be2, not '$3'"
        need_up
        set_dnat "$3"
        log "dnat: VIP -> $3"
        ;;
    ftp) do_ftp ;;
    stop-traffic) stop_all ;;
    down) do_down ;;
    cleanup) do_cleanup ;;
    status) do_status ;;
    facts) do_facts ;;
    *) usage ;;
esac
