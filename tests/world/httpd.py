#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""HTTP/HTTPS server for the test world.

One process serves every --listen given, each in its own thread:

    httpd.py --listen http:192.0.2.10:80 --listen https:[2001:db8:10::10]:443 \
             --cert server.pem --key server.key [--body TEXT]

Answers (GET/HEAD/POST/PUT):
  /headers     the request line and headers, one "Name: value" per line
  /echo        the request body, verbatim
  /bytes/N     N bytes of 'x' (downloads for benchmarks; N <= 1 GiB)
  /status/N    an empty answer with status N
  anything     "hello from <local address> <path>\n" (or --body TEXT + "\n")
"""
import argparse
import socket
import socketserver
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "msbworld-httpd"
    sys_version = ""
    fixed_body = None

    def log_message(self, fmt, *args):  # quiet: tests read answers, not logs
        pass

    def _send(self, code, body, ctype="text/plain; charset=utf-8"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _handle(self):
        req = self._body() if self.command in ("POST", "PUT") else b""
        path = self.path.split("?", 1)[0]
        if path == "/headers":
            lines = ["%s %s %s" % (self.command, self.path, self.request_version)]
            lines += ["%s: %s" % (k, v) for k, v in self.headers.items()]
            return self._send(200, ("\n".join(lines) + "\n").encode())
        if path == "/echo":
            return self._send(200, req, "application/octet-stream")
        if path.startswith("/bytes/"):
            try:
                n = int(path[len("/bytes/"):])
            except ValueError:
                n = -1
            if n < 0 or n > (1 << 30):
                return self._send(400, b"bad size\n")
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            if self.command != "HEAD":
                chunk = b"x" * 65536
                while n > 0:
                    self.wfile.write(chunk[: min(n, len(chunk))])
                    n -= min(n, len(chunk))
            return None
        if path.startswith("/status/"):
            try:
                return self._send(int(path[len("/status/"):]), b"")
            except ValueError:
                return self._send(400, b"bad status\n")
        if self.fixed_body is not None:
            text = self.fixed_body
        else:
            text = "hello from %s %s" % (self.connection.getsockname()[0], self.path)
        return self._send(200, (text + "\n").encode())

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _handle


def parse_listen(spec):
    scheme, _, rest = spec.partition(":")
    if scheme not in ("http", "https"):
        raise SystemExit("bad --listen %r (want http:ADDR:PORT or https:ADDR:PORT)" % spec)
    addr, _, port = rest.rpartition(":")
    addr = addr.strip("[]")
    return scheme, addr, int(port)


def make_server(scheme, addr, port, handler, ctx):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET

    class Server(ThreadingHTTPServer):
        address_family = family
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 128

        def server_bind(self):
            # HTTPServer.server_bind does a reverse lookup (getfqdn): skip it,
            # these namespaces have no resolver.
            socketserver.TCPServer.server_bind(self)
            self.server_name, self.server_port = addr, port

    srv = Server((addr, port), handler)
    if scheme == "https":
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    return srv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", action="append", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--body")
    a = ap.parse_args()

    handler = type("H", (Handler,), {"fixed_body": a.body})
    ctx = None
    listens = [parse_listen(s) for s in a.listen]
    if any(s == "https" for s, _, _ in listens):
        if not a.cert or not a.key:
            raise SystemExit("https needs --cert and --key")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        ctx.set_alpn_protocols(["http/1.1"])
    servers = [make_server(s, addr, port, handler, ctx) for s, addr, port in listens]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    print("httpd: serving %s" % " ".join(a.listen), flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    sys.exit(main())
