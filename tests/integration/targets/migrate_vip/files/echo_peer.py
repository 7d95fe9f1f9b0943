"""One TCP connection held open through the VIP while it moves.

  echo_peer.py server --bind ADDR --port PORT
      echoes every line back, on every connection, forever.
  echo_peer.py client --host VIP --port PORT --log FILE [--interval 0.2] [--timeout 5]
                      [--stop FILE] [--count N]
      sends a numbered line every INTERVAL seconds on ONE connection and checks that each
      comes back; logs "echo SEQ WALLTIME" per echo. Stops with exit 0 ("done") once the
      file STOP exists or after N echoes; exits 1 with "error KIND WALLTIME MESSAGE" on a
      reset, a close, a wrong echo or no echo within TIMEOUT seconds.
  echo_peer.py summary --log FILE --since WALLTIME
      the client's log measured from WALLTIME (the move) on, as JSON.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time


def serve(args):
    lsock = socket.create_server((args.bind, args.port), reuse_port=False)
    while True:
        conn = lsock.accept()[0]
        threading.Thread(target=echo, args=(conn,), daemon=True).start()


def echo(conn):
    with conn:
        while True:
            data = conn.recv(4096)
            if not data:
                return
            conn.sendall(data)


def client(args):
    with open(args.log, "a", buffering=1, encoding="utf-8") as log:
        hold(args, log)


def hold(args, log):
    def stop(kind, msg=""):
        log.write("%s %s %.3f %s\n" % ("done" if kind == "done" else "error", kind, time.time(), msg))
        sys.exit(0 if kind == "done" else 1)

    try:
        sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
    except OSError as exc:
        stop("connect", str(exc))
    log.write("connected %s:%d %.3f\n" % (sock.getsockname() + (time.time(),)))
    sock.settimeout(args.timeout)
    buf, seq = b"", 0
    while True:
        if (args.stop and os.path.exists(args.stop)) or (args.count and seq >= args.count):
            stop("done")
        seq += 1
        line = b"line %d\n" % seq
        try:
            sock.sendall(line)
            while b"\n" not in buf:
                data = sock.recv(4096)
                if not data:
                    stop("closed", "the peer closed the connection")
                buf += data
        except ConnectionResetError as exc:
            stop("rst", str(exc))
        except socket.timeout:
            stop("timeout", "no echo of line %d within %ss" % (seq, args.timeout))
        except OSError as exc:
            stop("oserror", str(exc))
        got, buf = buf.split(b"\n", 1)
        if got + b"\n" != line:
            stop("wrong", "sent %r, got %r" % (line, got))
        log.write("echo %d %.3f\n" % (seq, time.time()))
        time.sleep(args.interval)


def summary(args):
    echoes, end = [], {"kind": None, "at": None, "msg": ""}
    with open(args.log, encoding="utf-8") as log:
        for line in log:
            word = line.split(None, 4)
            if word[0] == "echo":
                echoes.append(float(word[2]))
            elif word[0] in ("done", "error"):
                end = {"kind": word[1], "at": float(word[2]), "msg": " ".join(word[3:]).strip()}
    after = [t for t in echoes if t > args.since]
    print(json.dumps({
        "echoes_before": len(echoes) - len(after),
        "echoes_after": len(after),
        "first_echo_after_s": round(after[0] - args.since, 3) if after else None,
        "last_echo_after_s": round(after[-1] - args.since, 3) if after else None,
        "end": end["kind"],
        "end_after_s": round(end["at"] - args.since, 3) if end["at"] else None,
        "end_msg": end["msg"],
    }))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    srv = sub.add_parser("server")
    srv.add_argument("--bind", required=True)
    srv.add_argument("--port", type=int, required=True)
    cli = sub.add_parser("client")
    cli.add_argument("--host", required=True)
    cli.add_argument("--port", type=int, required=True)
    cli.add_argument("--log", required=True)
    cli.add_argument("--interval", type=float, default=0.2)
    cli.add_argument("--timeout", type=float, default=5.0)
    cli.add_argument("--stop")
    cli.add_argument("--count", type=int, default=0)
    summ = sub.add_parser("summary")
    summ.add_argument("--log", required=True)
    summ.add_argument("--since", type=float, required=True)
    args = parser.parse_args()
    {"server": serve, "client": client, "summary": summary}[args.mode](args)


if __name__ == "__main__":
    main()
