# SPDX-License-Identifier: Apache-2.0
"""The network chokepoint (DESIGN.md §4, spec/network.md §1-4, docs/network.md),
proved from inside sandboxes of the `host` image against the test world
(DESIGN.md §10, docs/test-world.md). Every test needs pytest to run inside the
world's network namespace (scripts/integration.sh does that), so that no
packet can leave the machine; elsewhere they are skipped.

The world's "public" hosts live on documentation ranges, which DNS rebinding
protection counts as reserved (spec/network.md §4): under policies without
an address-only rule that admits them (anything but the public profile),
answers for their names are NXDOMAIN'd by design. Tests of name-based rules
therefore run with --no-dns-rebind-protection, or look at record types that
carry no address."""
import json
import os
import socket
import textwrap
import time
import uuid

import pytest

GW4 = "172.16.0.1"

# A raw DNS client: `name[/TYPE][@server][+tcp]` -> "name rcode ancount" per argument.
DNSQ = textwrap.dedent(r'''
    import random, socket, struct, sys
    TYPES = {"A": 1, "AAAA": 28, "TXT": 16}
    def query(name, qtype, server, tcp):
        qid = random.randrange(65536)
        msg = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
        msg += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
        msg += struct.pack("!HH", qtype, 1)
        try:
            if tcp:
                s = socket.create_connection((server, 53), timeout=4)
                s.sendall(struct.pack("!H", len(msg)) + msg)
                d = b""
                while len(d) < 2 or len(d) < 2 + struct.unpack("!H", d[:2])[0]:
                    c = s.recv(4096)
                    if not c:
                        return "closed"
                    d += c
                d = d[2:]
            else:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.settimeout(4)
                s.sendto(msg, (server, 53))
                d = s.recv(4096)
        except socket.timeout:
            return "timeout"
        except OSError as e:
            return "error:%s" % e.errno
        rid, flags, qd, an = struct.unpack("!HHHH", d[:8])
        assert rid == qid
        return "%d %d" % (flags & 15, an)
    for arg in sys.argv[1:]:
        tcp = arg.endswith("+tcp")
        arg = arg[:-4] if tcp else arg
        server = "''' + GW4 + r'''"
        if "@" in arg:
            arg, server = arg.split("@")
        name, _, t = arg.partition("/")
        print(name, query(name, TYPES[t or "A"], server, tcp), flush=True)
''')


@pytest.fixture(scope="module")
def w(world):
    if not world.inside():
        pytest.skip("network tests run only inside the test world (scripts/integration.sh)")
    return world


def run(msb, flags, *cmd, timeout=60):
    return msb.run("run", *flags, "host", "--", *cmd, timeout=timeout)


def curl(msb, flags, url, *args):
    """curl inside a fresh sandbox; (exit status, body)."""
    p = run(msb, flags, "curl", "-sS", "-k", "--max-time", "5", *args, url)
    return p.returncode, p.out


def reachable(msb, flags, *urls):
    """One sandbox, several URLs: {url: body or None}."""
    script = "; ".join("echo \"@@$(curl -sS -k --max-time 5 %s 2>/dev/null)\"" % u for u in urls)
    p = run(msb, flags, "sh", "-c", script)
    assert p.returncode == 0, p.err
    lines = [ln[2:] for ln in p.out.splitlines() if ln.startswith("@@")]
    assert len(lines) == len(urls), p.out
    return {u: (ln or None) for u, ln in zip(urls, lines)}


def dns(msb, flags, *queries):
    p = run(msb, flags, "python3", "-c", DNSQ, *queries)
    assert p.returncode == 0, p.out + p.err
    return {ln.split(" ", 1)[0]: ln.split(" ", 1)[1] for ln in p.out.splitlines()}


def test_public_allowed_private_meta_loopback_host_denied_by_default(msb, w):
    urls = ["http://%s/a" % w.PUB1_V4, "http://[%s]/b" % w.PUB2_V6, "https://%s/c" % w.NAME_PUB3,
            "http://%s/" % w.LAN_V4, "http://[%s]/" % w.LAN_V6, "http://%s/" % w.META_V4,
            "http://host.microsandbox.internal:%s/" % w.LOOPBACK_PORT, "http://127.0.0.1:%s/" % w.LOOPBACK_PORT,
            "http://%s/" % w.OUTSIDE_V4]
    got = reachable(msb, [], *urls)
    assert got[urls[0]] == "hello from %s /a" % w.PUB1_V4
    assert got[urls[1]] == "hello from %s /b" % w.PUB2_V6
    assert got[urls[2]] == "hello from %s /c" % w.PUB3_V4
    assert [got[u] for u in urls[3:]] == [None] * 6


def test_profiles_admit_exactly_their_groups(msb, w):
    lan, pub, host = "http://%s/" % w.LAN_V4, "http://%s/p" % w.PUB1_V4, \
        "http://%s:%s/" % (GW4, w.LOOPBACK_PORT)
    meta = "http://%s/" % w.META_V4
    got = reachable(msb, ["--net", "private"], lan, pub, host, meta)
    assert got[lan] and not got[pub] and not got[host] and not got[meta]
    got = reachable(msb, ["--net", "public,host"], lan, pub, host, meta)
    assert not got[lan] and got[pub] and got[host] == w.LOOPBACK_BODY and not got[meta]
    got = reachable(msb, ["--net", "all"], lan, pub, host, meta)
    assert got[lan] and got[pub] and got[host] and got[meta] == w.META_BODY
    got = reachable(msb, ["--net", "none"], lan, pub, host, meta)
    assert not any(got.values())


def test_deny_meta_wins_under_allow_by_default(msb, w):
    meta, lan, pub = "http://%s/" % w.META_V4, "http://%s/" % w.LAN_V4, "http://%s/x" % w.PUB2_V4
    got = reachable(msb, ["--net-default-egress", "allow", "--net-rule", "deny@meta"], meta, lan, pub)
    assert got[meta] is None
    assert got[lan] and got[pub] == "hello from %s /x" % w.PUB2_V4


def test_seed_deny_by_default_https_and_dns_only(msb, w):
    flags = ["--net-default-egress", "deny", "--net-rule", "allow@public:tcp:443,allow@host:udp:53"]
    https, http = "https://%s/ok" % w.PUB1_V4, "http://%s/no" % w.PUB1_V4
    lan = "https://%s/" % w.LAN_V4
    got = reachable(msb, flags, https, http, lan)
    assert got == {https: "hello from %s /ok" % w.PUB1_V4, http: None, lan: None}
    # DNS via the gateway over UDP is allowed (a TXT question: no address to rebind-check) ...
    r = dns(msb, flags, "%s/TXT" % w.NAME_PUB1, "%s/TXT+tcp" % w.NAME_PUB2)
    assert r[w.NAME_PUB1] != "3 0"
    assert r[w.NAME_PUB2] == "3 0"  # the rule names UDP only
    # ... and without the DNS rule, the same question is denied
    r = dns(msb, ["--net-default-egress", "deny", "--net-rule", "allow@public:tcp:443"], "%s/TXT" % w.NAME_PUB1)
    assert r == {w.NAME_PUB1: "3 0"}


def test_domain_allowlist_pins_names_to_answers(msb, w):
    flags = ["--no-dns-rebind-protection", "--net-default", "deny", "--net-rule", "allow@%s" % w.NAME_PUB3]
    script = " ; ".join([
        # the allowed name, by name (resolved, pinned, SNI matches)
        "echo \"1@$(curl -sS -k --max-time 5 https://%s/ok)\"" % w.NAME_PUB3,
        # plain HTTP to the pinned address: no SNI, the pin decides
        "echo \"2@$(curl -sS --max-time 5 http://%s/plain)\"" % w.NAME_PUB3,
        # a hard-coded address that was never resolved
        "echo \"3@$(curl -sS -k --max-time 5 https://%s/never)\"" % w.PUB2_V4,
        # another name on the same address (its own lookup is denied; force the address)
        "echo \"4@$(curl -sS -k --max-time 5 --resolve %s:443:%s https://%s/other)\"" % (
            w.NAME_SAME_IP, w.PUB3_V4, w.NAME_SAME_IP),
        "echo \"5@$(getent hosts %s)\"" % w.NAME_SAME_IP,
    ])
    p = run(msb, flags, "sh", "-c", script)
    out = dict(ln.split("@", 1) for ln in p.out.splitlines() if "@" in ln[:2])
    assert out["1"] == "hello from %s /ok" % w.PUB3_V4, p.out + p.err
    assert out["2"] == "hello from %s /plain" % w.PUB3_V4
    assert out["3"] == "" and out["4"] == "" and out["5"] == "", p.out


def test_wildcard_allowlist_like_the_docs(msb, w):
    flags = ["--no-dns-rebind-protection", "--net-default", "deny", "--net-rule",
             "allow@%s,allow@*.githubusercontent.com" % w.NAME_GITHUB]
    urls = ["https://%s/gh" % w.NAME_GITHUB, "https://%s/raw" % w.NAME_GH_RAW, "https://%s/x" % w.NAME_PUB1]
    got = reachable(msb, flags, *urls)
    assert got[urls[0]] == "hello from %s /gh" % w.PUB2_V4
    assert got[urls[1]] == "hello from %s /raw" % w.PUB3_V4
    assert got[urls[2]] is None


def test_rebinding_name_gets_nxdomain(msb, w):
    r = dns(msb, [], w.NAME_REBIND, w.NAME_PUB1, w.NAME_META, w.NAME_LAN)
    assert r[w.NAME_REBIND] == "3 0"
    assert r[w.NAME_META] == "3 0"
    assert r[w.NAME_PUB1] == "0 1"  # TEST-NET answers pass under the public profile (spec §4)
    assert r[w.NAME_LAN] == "3 0"
    # an address rule that admits the private range lets the answer through
    r = dns(msb, ["--net", "public,private"], w.NAME_REBIND)
    assert r[w.NAME_REBIND] == "0 1"


def test_blocked_names_never_reach_dnsmasq(msb, w):
    with open(w.dns_log) as f:
        f.seek(0, os.SEEK_END)
        start = f.tell()
    tag = uuid.uuid4().hex[:10]
    flags = ["--no-dns-rebind-protection", "--net-default", "allow", "--net-rule",
             "deny@%s,deny@*.tracking.com" % w.NAME_MALWARE]
    r = dns(msb, flags, w.NAME_MALWARE, w.NAME_TRACKING, "t%s.tracking.com+tcp" % tag, w.NAME_PUB1,
            "%s@%s" % (w.NAME_PUB2, w.DNS_V4))
    assert r[w.NAME_MALWARE] == "3 0" and r[w.NAME_TRACKING] == "3 0" and r["t%s.tracking.com" % tag] == "3 0"
    assert r[w.NAME_PUB1] == "0 1" and r[w.NAME_PUB2] == "0 1"
    time.sleep(0.5)
    with open(w.dns_log) as f:
        f.seek(start)
        log = f.read()
    assert "query[A] %s" % w.NAME_PUB1 in log  # allowed queries do reach it
    assert w.NAME_MALWARE not in log and "tracking.com" not in log


def test_no_net_blocks_everything_including_dns(msb, w):
    got = reachable(msb, ["--no-net"], "http://%s/" % w.PUB1_V4, "http://%s:%s/" % (GW4, w.LOOPBACK_PORT),
                    "http://%s/" % w.LAN_V4)
    assert not any(got.values())
    r = dns(msb, ["--no-net"], w.NAME_PUB1, "%s+tcp" % w.NAME_PUB2, "%s/TXT@%s" % (w.NAME_PUB3, w.DNS_V4))
    assert set(r.values()) == {"3 0"}


def test_udp_icmp_and_bypass_attempts_fail(msb, w):
    script = textwrap.dedent('''
        import socket, subprocess
        def attempt(what, fn):
            try:
                fn()
                print(what, "OK")
            except OSError as e:
                print(what, "FAIL", e.errno)
        def udp():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.sendto(b"x", ("%(pub)s", 9))
        attempt("udp", udp)
        attempt("raw", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
        attempt("packet", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0))
        attempt("ping", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP))
        for name, argv in [("addr", ["ip", "addr", "add", "%(lan)s/24", "dev", "eth0"]),
                           ("route", ["ip", "route", "add", "10.0.0.0/8", "via", "%(gw)s"]),
                           ("link", ["ip", "link", "set", "eth0", "down"]),
                           ("nft", ["nft", "flush", "ruleset"]),
                           ("nftadd", ["nft", "add", "table", "inet", "x"])]:
            r = subprocess.run(argv, capture_output=True)
            print(name, "OK" if r.returncode == 0 else "FAIL", r.returncode)
        ''') % {"pub": w.PUB1_V4, "lan": "10.77.0.99", "gw": GW4}
    p = run(msb, [], "sh", "-c", "python3 -c '%s'; curl -sS --max-time 5 http://%s/ && echo LAN-REACHED" % (
        script.replace("'", "'\"'\"'"), w.LAN_V4))
    res = {ln.split()[0]: ln.split()[1] for ln in p.out.splitlines() if ln.split() and ln.split()[0] in
           ("udp", "raw", "packet", "ping", "addr", "route", "link", "nft", "nftadd")}
    assert res == dict.fromkeys(["udp", "raw", "packet", "ping", "addr", "route", "link", "nft", "nftadd"],
                                "FAIL"), p.out + p.err
    assert "LAN-REACHED" not in p.out


def test_half_close_and_bulk_relay(msb, w):
    script = textwrap.dedent('''
        import socket
        s = socket.create_connection(("%s", %s), timeout=10)
        data = bytes(range(256)) * 4096
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            got += c
        print("echo", len(got), got == data)
        ''') % (w.PUB3_V4, w.ECHO_PORT)
    p = run(msb, [], "python3", "-c", script)
    assert "echo 1048576 True" in p.out, p.out + p.err
    code, body = curl(msb, [], "http://%s/bytes/5000000" % w.PUB1_V4, "-o", "/dev/null", "-w", "%{size_download}")
    assert code == 0 and body == "5000000"


def test_resolver_files_and_dns_over_tcp(msb, w):
    p = run(msb, [], "sh", "-c", "cat /etc/resolv.conf /etc/hosts; getent hosts host.microsandbox.internal")
    assert "nameserver %s" % GW4 in p.out
    assert "%s\thost.microsandbox.internal" % GW4 in p.out
    r = dns(msb, [], "%s+tcp" % w.NAME_PUB1, "%s@%s" % (w.NAME_PUB2, w.OUTSIDE_V4), "host.microsandbox.internal")
    assert r == {w.NAME_PUB1: "0 1", w.NAME_PUB2: "0 1", "host.microsandbox.internal": "0 1"}


def test_decision_log(msb, w):
    name = "netlog-%s" % uuid.uuid4().hex[:6]
    msb.ok("create", "--name", name, "--net-rule", "deny@%s" % w.NAME_MALWARE, "host")
    try:
        msb.run("exec", name, "--", "sh", "-c", "curl -sS --max-time 5 http://%s/; curl -sS --max-time 5 http://%s/;"
                " getent hosts %s" % (w.PUB1_V4, w.LAN_V4, w.NAME_MALWARE))
        path = os.path.join(msb.home, "sandboxes", name, "logs", "network.log")
        entries = [json.loads(ln) for ln in open(path)]
        shown = msb.ok("logs", name, "--source", "network").out
        both = msb.ok("logs", name, "--source", "network,stdout").out
    finally:
        msb.run("rm", "-f", name)
    by = {(e["proto"], e["dst"], e["port"]): e for e in entries}
    pub = by[("tcp", w.PUB1_V4, 80)]
    assert pub["action"] == "allow" and pub["dir"] == "egress" and pub["rule"] == 2  # allow@public
    lan = by[("tcp", w.LAN_V4, 80)]
    assert lan["action"] == "deny" and lan["reason"]
    mal = [e for e in entries if e["name"] == w.NAME_MALWARE]
    assert mal and all(e["action"] == "deny" and e["rule"] == 0 and e["proto"].startswith("dns") for e in mal)
    assert all(e["s"] == "network" and e["t"].endswith("Z") for e in entries)
    assert "allow egress tcp %s:80 (rule 2)\n" % w.PUB1_V4 in shown
    assert "deny egress tcp %s:80" % w.LAN_V4 in shown
    # merged in time order with the command's output
    assert both.index("allow egress tcp %s:80" % w.PUB1_V4) < both.index("hello from %s /" % w.PUB1_V4) < \
        both.index("deny egress tcp %s:80" % w.LAN_V4)


# ---- published ports, connection caps, rate limits (spec/network.md §7) ----

def http_get(port, path="/", timeout=5):
    """GET from the host side of a published port: (status, body bytes) or (None, error)."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.sendall(b"GET %s HTTP/1.0\r\nHost: x\r\n\r\n" % path.encode())
        d = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            d += c
        s.close()
    except OSError as e:
        return None, str(e)
    head, _, body = d.partition(b"\r\n\r\n")
    if not head:
        return None, "empty reply"
    return int(head.split()[1]), body


def wait_http(port, path="/", secs=15):
    deadline = time.time() + secs
    while True:
        st, body = http_get(port, path)
        if st == 200 or time.time() > deadline:
            return st, body
        time.sleep(0.2)


def serve(msb, name, flags, port=8000, prep=""):
    """A detached sandbox running python's http.server on @port inside (files in /srv)."""
    cmd = "mkdir -p /srv && cd /srv && %s exec python3 -m http.server %d" % (prep, port)
    p = msb.run("run", "-d", "--name", name, *flags, "host", "--", "sh", "-c", cmd)
    assert p.returncode == 0, p.out + p.err


def net_log(msb, name):
    path = os.path.join(msb.home, "sandboxes", name, "logs", "network.log")
    return [json.loads(ln) for ln in open(path)] if os.path.exists(path) else []


def test_published_port_serves_http(msb, w):
    msb.ok("run", "-d", "--name", "api", "-p", "18080:8000", "host", "--", "python3", "-m", "http.server", "8000")
    st, body = wait_http(18080)
    assert st == 200 and b"Directory listing" in body, body
    ps = msb.ok("ps").out
    assert "127.0.0.1:18080->8000/tcp" in ps, ps
    js = json.loads(msb.ok("ps", "api", "--format", "json").out)
    assert js["ports"] == [{"host_ip": "127.0.0.1", "host_port": 18080, "guest_port": 8000, "protocol": "tcp"}]
    assert "127.0.0.1:18080->8000/tcp" in msb.ok("inspect", "api").out
    ins = json.loads(msb.ok("inspect", "api", "--format", "json").out)
    assert ins["config"]["ports"][0]["host_port"] == 18080
    ing = [e for e in net_log(msb, "api") if e["dir"] == "ingress"]
    assert ing and all(e["action"] == "allow" and e["dst"] == "127.0.0.1" and e["port"] == 8000 for e in ing)
    # nothing listens on a published guest port: the client is reset, the sandbox unharmed
    msb.ok("run", "-d", "--name", "nolisten", "-p", "18089:9", "host", "--", "sleep", "60")
    st, err = http_get(18089)
    assert st is None, err
    msb.run("rm", "-f", "api", "nolisten")
    # the listener goes with the sandbox
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", 18080), timeout=2)


def test_published_port_honours_ingress_rules(msb, w):
    serve(msb, "denied", ["-p", "18083:8000", "--net-rule", "deny:ingress@loopback"])
    serve(msb, "denied2", ["-p", "18084:8000", "--net-default-ingress", "deny"])
    serve(msb, "allowed", ["-p", "18085:8000", "--net-rule", "deny:ingress@loopback:tcp:9000"])
    assert wait_http(18085)[0] == 200
    time.sleep(0.5)
    for port in (18083, 18084):
        st, err = http_get(port)
        assert st is None, (port, err)
    den = [e for e in net_log(msb, "denied") if e["dir"] == "ingress"]
    assert den and all(e["action"] == "deny" and e["rule"] == 0 for e in den), den
    den2 = [e for e in net_log(msb, "denied2") if e["dir"] == "ingress"]
    assert den2 and all(e["action"] == "deny" and e["rule"] is None for e in den2), den2
    shown = msb.ok("logs", "denied", "--source", "network").out
    assert "deny ingress tcp 127.0.0.1:8000 (rule 0)" in shown, shown


def test_published_port_errors(msb, w):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 18086))
    s.listen(1)
    try:
        p = msb.run("create", "--name", "busy", "-p", "18086:80", "host")
    finally:
        s.close()
    assert p.returncode != 0
    assert "18086" in p.err and "already in use" in p.err, p.err
    p = msb.run("create", "--name", "u", "-p", "18087:53/udp", "host")
    assert p.returncode != 0 and "UDP" in p.err, p.err
    p = msb.run("create", "--name", "d", "-p", "18087:80", "-p", "18087:81", "host")
    assert p.returncode != 0 and "duplicate host port 18087" in p.err, p.err
    p = msb.run("create", "--name", "x", "-p", "80", "host")
    assert p.returncode != 0 and "port must be in format" in p.err, p.err
    p = msb.run("create", "--name", "c", "--max-connections", "5000", "host")
    assert p.returncode != 0 and "4096" in p.err, p.err
    p = msb.run("create", "--name", "b", "--net-egress-bandwidth-burst", "1M", "host")
    assert p.returncode != 0 and "requires --net-egress-bandwidth" in p.err, p.err
    p = msb.run("create", "--name", "b", "--net-egress-bandwidth", "1.5M", "host")
    assert p.returncode != 0 and "invalid size" in p.err, p.err


def test_connection_cap(msb, w):
    serve(msb, "capped", ["-p", "18088:8000", "--max-connections", "2"])
    assert wait_http(18088)[0] == 200
    time.sleep(0.5)  # the probes above are closed on both sides
    held = [socket.create_connection(("127.0.0.1", 18088), timeout=5) for _ in range(2)]
    time.sleep(0.5)  # both relayed: the cap is reached
    try:
        extra = socket.create_connection(("127.0.0.1", 18088), timeout=5)
        extra.sendall(b"GET / HTTP/1.0\r\n\r\n")
        got = extra.recv(100)
    except OSError:  # reset, possibly before connect() returned
        got = b""
    assert got == b"", got  # the N+1th connection is reset, never served
    for h in held:  # the held connections still work
        h.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert h.recv(12).startswith(b"HTTP/1.0 200")
        h.close()
    time.sleep(0.5)
    assert wait_http(18088)[0] == 200  # below the cap again
    caps = [e for e in net_log(msb, "capped") if e.get("reason") == "connection limit"]
    assert caps and caps[0]["action"] == "deny", net_log(msb, "capped")


def test_bandwidth_limits_slow_transfers(msb, w):
    size = 5 * 1024 * 1024
    # egress (guest -> host bytes): a 5 MiB download from a published port at 1 MiB/s
    serve(msb, "slow", ["-p", "18090:8000", "--net-egress-bandwidth", "1M/1s"],
          prep="head -c %d /dev/zero > big &&" % size)
    assert wait_http(18090)[0] == 200
    t0 = time.time()
    st, body = http_get(18090, "/big", timeout=30)
    took = time.time() - t0
    assert st == 200 and len(body) == size
    # the bucket starts full (1 MiB), the other 4 MiB need 4 s; 2 s leaves generous slack
    assert took >= 2.0, took
    # ingress (host -> guest bytes): a 5 MiB download from inside at 1 MiB/s, a 1 MiB burst on top
    p = run(msb, ["--net-ingress-bandwidth", "1M", "--net-ingress-bandwidth-burst", "1M"], "curl", "-sS",
            "--max-time", "30", "-o", "/dev/null", "-w", "%{size_download} %{time_total}",
            "http://%s/bytes/%d" % (w.PUB1_V4, size))
    n, secs = p.out.split()
    assert int(n) == size, p.out + p.err
    assert float(secs) >= 1.5, p.out  # (5 - 1 - 1) MiB at 1 MiB/s = 3 s
    # an ops limit paces too: 200 frames/s of ~1448 bytes is ~290 KB/s
    p = run(msb, ["--net-ingress-ops", "200/1s"], "curl", "-sS", "--max-time", "30", "-o", "/dev/null", "-w",
            "%{size_download} %{time_total}", "http://%s/bytes/%d" % (w.PUB1_V4, 1024 * 1024))
    n, secs = p.out.split()
    assert int(n) == 1024 * 1024 and float(secs) >= 1.5, p.out + p.err


def test_logs_rotate(msb, w):
    """exec.log and network.log share one rotating log: past 10 MiB each moves to .1 and starts again."""
    name = "rot-%s" % uuid.uuid4().hex[:6]
    flood = textwrap.dedent("""
        import socket, struct, sys
        name, gw = sys.argv[1], sys.argv[2]
        qname = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\\0"
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        for i in range(70000):
            s.sendto(struct.pack(">HHHHHH", i & 0xffff, 0x100, 1, 0, 0, 0) + qname + b"\\0\\1\\0\\1", (gw, 53))
            s.recv(512)  # denied: answered locally with NXDOMAIN, one log line each
        """)
    msb.ok("create", "--name", name, "--net-rule", "deny@%s" % w.NAME_MALWARE, "host")
    logs = os.path.join(msb.home, "sandboxes", name, "logs")
    try:
        msb.ok("exec", name, "--", "sh", "-c", "head -c 11000000 /dev/zero | tr '\\0' x", timeout=120)
        msb.ok("exec", name, "--", "python3", "-c", flood, w.NAME_MALWARE, GW4, timeout=240)
        files = sorted(os.listdir(logs))
    finally:
        msb.run("rm", "-f", name)
    assert "exec.log.1" in files and "exec.log" in files, files
    assert "network.log.1" in files and "network.log" in files, files
