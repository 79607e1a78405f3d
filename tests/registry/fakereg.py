#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fakereg.py - a scripted registry for what docker-registry cannot show.

Serves one repository "test/r" with Bearer token auth (token service on the
same server, HTTP basic credentials u/p), a manifest, and blobs that are
redirected to a second listener on 127.0.0.2 (another host, same port), which
ignores Range headers. Every request is appended to LOG as one line:
"<path> host=<Host> auth=<Authorization or -> range=<Range or ->".

usage: fakereg.py PORT BLOBFILE LOG    (listens on 127.0.0.1:PORT and 127.0.0.2:PORT)
"""
import base64
import hashlib
import http.server
import json
import sys
import threading

PORT, BLOBFILE, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]
BLOB = open(BLOBFILE, "rb").read()
DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
CONFIG = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}' % DIGEST.encode()
CONFIG_DIGEST = "sha256:" + hashlib.sha256(CONFIG).hexdigest()
MANIFEST = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": CONFIG_DIGEST, "size": len(CONFIG)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": DIGEST, "size": len(BLOB)}],
}).encode()
TOKEN = "tok-123.abc"
BASIC = "Basic " + base64.b64encode(b"u:p").decode()
lock = threading.Lock()


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock, open(LOG, "a") as f:
            f.write("%s host=%s auth=%s range=%s\n" % (self.path, self.headers.get("Host"),
                    self.headers.get("Authorization", "-"), self.headers.get("Range", "-")))
        host = self.server.server_address[0]
        if host == "127.0.0.2":  # the "object storage": no auth, ignores Range
            return self.send(200, BLOB) if self.path.startswith("/storage/") else self.send(404)
        if self.path.startswith("/token"):
            if self.headers.get("Authorization") != BASIC:
                return self.send(401, b'{"details":"bad credentials"}')
            return self.send(200, json.dumps({"access_token": TOKEN}).encode())
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            realm = "http://127.0.0.1:%d/token" % PORT
            chal = 'Bearer realm="%s",service="fake",scope="repository:test/r:pull"' % realm
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                             [("WWW-Authenticate", chal)])
        if self.path == "/v2/test/r/manifests/1":
            return self.send(200, MANIFEST, [("Content-Type", "application/vnd.oci.image.manifest.v1+json")])
        if self.path == "/v2/test/r/blobs/" + CONFIG_DIGEST:
            return self.send(200, CONFIG)
        if self.path == "/v2/test/r/blobs/" + DIGEST:
            return self.send(307, b"redirecting to storage\n", [("Location", "http://127.0.0.2:%d/storage/%s" % (PORT, DIGEST))])
        return self.send(404, b'{"errors":[{"code":"NOT_FOUND","message":"no such thing"}]}')


for addr in ("127.0.0.2", "127.0.0.1"):
    srv = http.server.ThreadingHTTPServer((addr, PORT), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
print(DIGEST, len(BLOB), flush=True)
threading.Event().wait()
