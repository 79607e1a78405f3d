#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""TCP echo and discard servers for the test world (benchmarks, relay tests).

    tcpsvc.py --echo 203.0.113.10:7 --echo [2001:db8:30::10]:7 --discard 203.0.113.10:9

A thread per connection; echo sends back every byte it reads, discard reads
and drops until EOF.
"""
import argparse
import socket
import threading


def parse(spec):
    addr, _, port = spec.rpartition(":")
    return addr.strip("[]"), int(port)


def echo(conn):
    with conn:
        while True:
            data = conn.recv(262144)
            if not data:
                return
            conn.sendall(data)


def discard(conn):
    with conn:
        while conn.recv(262144):
            pass


def serve(addr, port, fn):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(128)
    while True:
        conn, _ = s.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=fn, args=(conn,), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--echo", action="append", default=[])
    ap.add_argument("--discard", action="append", default=[])
    a = ap.parse_args()
    threads = []
    for specs, fn in ((a.echo, echo), (a.discard, discard)):
        for spec in specs:
            addr, port = parse(spec)
            threads.append(threading.Thread(target=serve, args=(addr, port, fn), daemon=True))
    for t in threads:
        t.start()
    print("tcpsvc: echo %s discard %s" % (a.echo, a.discard), flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
