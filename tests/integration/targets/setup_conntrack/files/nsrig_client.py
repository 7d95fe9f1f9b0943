"""Client of the conntrack test rig (runs inside PREFIX-cli).

Creates a known set of conntrack entries in the router, then writes --ready and
keeps the TCP connections open until SIGTERM (so they stay ESTABLISHED):
  --tcp ADDR PORT COUNT   COUNT held-open TCP connections (one request/answer each)
  --udp ADDR PORT         a UDP flow that gets answers; a second exchange after
                          >2 s makes the kernel mark it ASSURED (UDP streams are
                          only assured once they lived 2 s, nf_conntrack_proto_udp.c)
  --udp-noreply ADDR PORT one datagram nobody answers (entry stays UNREPLIED)
  --ping ADDR             two ICMP / ICMPv6 echo requests (raw socket, needs root)
  --ftp ADDR              anonymous FTP session: a passive and an active listing
                          (RELATED data connections), then a PASV/EPSV that is never
                          used, so the router keeps a pending expectation while the
                          control connection is held open
Every answer is logged as "<kind> <addr> <port> <local port> -> <answer>"; any
failure exits 1 before --ready is written, so the caller can tell.
"""
import argparse
import resource
import ftplib
import os
import select
import signal
import socket
import struct
import sys
import time

TIMEOUT = 5.0


def fam(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def log(*a):
    print(*a, flush=True)


def readable(sock, timeout):
    # poll, not select: with thousands of held connections fds exceed FD_SETSIZE
    p = select.poll()
    p.register(sock, select.POLLIN)
    return bool(p.poll(max(0.0, timeout) * 1000))


def tcp_hold(addr, port, count, held):
    for _unused in range(count):
        s = socket.socket(fam(addr), socket.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        s.connect((addr, port))
        s.sendall(b"hello\n")
        log("tcp", addr, port, s.getsockname()[1], "->", s.recv(100).decode().strip())
        held.append(s)


def udp_exchange(socks, rounds):
    # socks: list of (sock, addr, port); each round sends once on every flow and
    # waits for every answer (retrying the lost ones a few times).
    for rnd in range(rounds):
        if rnd:
            time.sleep(2.3)
        for s, addr, port in socks:
            for _attempt in range(3):
                s.sendto(b"ping %d\n" % rnd, (addr, port))
                if readable(s, TIMEOUT / 3):
                    data, _addr = s.recvfrom(100)
                    log("udp", addr, port, s.getsockname()[1], "->", data.decode().strip())
                    break
            else:
                raise RuntimeError("no UDP answer from [%s]:%d" % (addr, port))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ping(addr, ident, count=2):
    v6 = fam(addr) == socket.AF_INET6
    proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
    req, rep = (128, 129) if v6 else (8, 0)
    s = socket.socket(fam(addr), socket.SOCK_RAW, proto)
    for seq in range(1, count + 1):
        hdr = struct.pack("!BBHHH", req, 0, 0, ident, seq) + b"nsrig"
        if not v6:  # the kernel computes the ICMPv6 checksum itself
            hdr = hdr[:2] + struct.pack("!H", checksum(hdr)) + hdr[4:]
        s.sendto(hdr, (addr, 0))
        deadline = time.time() + TIMEOUT
        while True:
            if not readable(s, deadline - time.time()):
                raise RuntimeError("no echo reply from %s" % addr)
            data = s.recv(1500)
            if not v6:
                data = data[(data[0] & 0x0F) * 4:]  # raw IPv4 sockets include the IP header
            t, _c, _ck, rid, rseq = struct.unpack("!BBHHH", data[:8])
            if t == rep and rid == ident and rseq == seq:
                log("icmp", addr, "id", ident, "seq", seq, "-> reply")
                break
    s.close()


def ftp_session(addr, held):
    f = ftplib.FTP(addr, timeout=TIMEOUT)
    f.login()
    for passive in (True, False):
        f.set_pasv(passive)
        log("ftp", addr, "passive" if passive else "active", "->", f.nlst())
    # ftplib speaks EPSV on IPv6, PASV on IPv4; the helper expects a data connection
    log("ftp", addr, "pending ->", f.sendcmd("EPSV" if ":" in addr else "PASV"))
    held.append(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tcp", nargs=3, action="append", default=[], metavar=("ADDR", "PORT", "COUNT"))
    ap.add_argument("--udp", nargs=2, action="append", default=[], metavar=("ADDR", "PORT"))
    ap.add_argument("--udp-noreply", nargs=2, action="append", default=[], metavar=("ADDR", "PORT"))
    ap.add_argument("--ping", action="append", default=[])
    ap.add_argument("--ftp", action="append", default=[])
    ap.add_argument("--udp-rounds", type=int, default=2)
    ap.add_argument("--ready", required=True)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # thousands of held connections (NSRIG_TCP=5000 for a benchmark) need fds
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    held = []
    try:
        for addr, port, count in args.tcp:
            tcp_hold(addr, int(port), int(count), held)
        for i, addr in enumerate(args.ping):
            ping(addr, (os.getpid() + i) & 0xFFFF)
        for addr, port in args.udp_noreply:
            s = socket.socket(fam(addr), socket.SOCK_DGRAM)
            s.sendto(b"anyone?\n", (addr, int(port)))
            log("udp-noreply", addr, port, s.getsockname()[1])
            s.close()
        for addr in args.ftp:
            ftp_session(addr, held)
        udp = [(socket.socket(fam(a), socket.SOCK_DGRAM), a, int(p)) for a, p in args.udp]
        udp_exchange(udp, args.udp_rounds)
        for s, _a, _p in udp:
            s.close()
    except Exception as exc:  # report and fail: the shell prints this log
        log("FAILED:", repr(exc))
        sys.exit(1)

    with open(args.ready + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(args.ready + ".tmp", args.ready)
    log("ready, holding %d TCP/FTP connections" % len(held))
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
