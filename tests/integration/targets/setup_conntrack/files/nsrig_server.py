"""Backend server of the conntrack test rig (runs inside PREFIX-be1 / PREFIX-be2).

- TCP on every --tcp port: accepts and keeps each connection open until the peer
  closes it; answers every chunk it reads with "<name> <data>" so that a client
  can tell which backend it reached (i.e. where the DNAT pointed).
- UDP echo on every --udp port, with the same "<name> " prefix.
Sockets are bound to [::] with IPV6_V6ONLY=0, so one socket serves IPv4 and IPv6.
Only the standard library is used.
"""
import argparse
import resource
import selectors
import signal
import socket
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--tcp", type=int, action="append", default=[])
    ap.add_argument("--udp", type=int, action="append", default=[])
    args = ap.parse_args()
    prefix = args.name.encode() + b" "

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # thousands of held connections (NSRIG_TCP=5000 for a benchmark) need fds
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sel = selectors.DefaultSelector()

    def bind(kind, port):
        s = socket.socket(socket.AF_INET6, kind)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::", port))
        s.setblocking(False)
        return s

    for port in args.tcp:
        s = bind(socket.SOCK_STREAM, port)
        s.listen(1024)
        sel.register(s, selectors.EVENT_READ, "listen")
    for port in args.udp:
        sel.register(bind(socket.SOCK_DGRAM, port), selectors.EVENT_READ, "udp")
    print("server %s ready tcp=%s udp=%s" % (args.name, args.tcp, args.udp), flush=True)

    while True:
        for key, _mask in sel.select():
            sock, kind = key.fileobj, key.data
            try:
                if kind == "listen":
                    conn, _addr = sock.accept()
                    conn.setblocking(False)
                    sel.register(conn, selectors.EVENT_READ, "conn")
                elif kind == "conn":
                    data = sock.recv(4096)
                    if not data:
                        sel.unregister(sock)
                        sock.close()
                    else:
                        sock.send(prefix + data)
                else:  # udp
                    data, addr = sock.recvfrom(4096)
                    sock.sendto(prefix + data, addr)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                if kind == "conn":
                    sel.unregister(sock)
                    sock.close()


if __name__ == "__main__":
    main()
