# SPDX-License-Identifier: Apache-2.0
"""Smoke test of the test world itself (DESIGN.md §10), from inside the world
namespace (not from a sandbox): every service answers, names resolve through
the world's dnsmasq, and nothing outside the test ranges is reachable."""
import textwrap
import time
import uuid


def curl(world, url, *args):
    p = world.curl(url, *args)
    assert p.returncode == 0, "curl %s: %s" % (url, p.stderr)
    return p.stdout


def py(world, code, *args, timeout=20):
    """Run python code inside the world; returns CompletedProcess (text)."""
    return world.run(["/usr/bin/python3", "-c", textwrap.dedent(code)] + list(args),
                     capture_output=True, text=True, timeout=timeout)


def test_public_hosts_http_and_https(world):
    for name, (v4, v6) in world.public.items():
        for host in (v4, "[%s]" % v6):
            addr = host.strip("[]")
            assert curl(world, "http://%s/x" % host) == "hello from %s /x\n" % addr
            assert curl(world, "https://%s/y" % host) == "hello from %s /y\n" % addr
        # by name: DNS, SNI and certificate check against the test CA
        assert curl(world, "https://%s/z" % name, "-4") == "hello from %s /z\n" % v4
        assert curl(world, "https://%s/z" % name, "-6") == "hello from %s /z\n" % v6


def test_headers_echoed(world):
    out = curl(world, "http://%s/headers" % world.NAME_PUB1, "-H", "X-Msb-Test: 42")
    assert "X-Msb-Test: 42" in out
    assert "Host: %s" % world.NAME_PUB1 in out


def test_https_needs_the_test_ca(world):
    p = world.run(["curl", "-sS", "--max-time", "5", "--cacert", "/etc/ssl/certs/ca-certificates.crt",
                   "https://%s/" % world.NAME_PUB1], capture_output=True, text=True)
    assert p.returncode != 0


def test_dns_through_dnsmasq(world):
    for name, addrs in world.dns.items():
        p = world.run(["getent", "ahosts", name], capture_output=True, text=True)
        assert p.returncode == 0, name
        got = {line.split()[0] for line in p.stdout.splitlines()}
        assert got == set(addrs), (name, got)
    # the rebinding name is public-looking but answers the LAN address
    assert world.dns[world.NAME_REBIND] == [world.LAN_V4]
    # a name nobody defined: NXDOMAIN (no upstream), and the query is logged
    unique = "nx-%s.%s" % (uuid.uuid4().hex[:12], world.NAME_PUB1.split(".", 1)[1])
    p = world.run(["getent", "hosts", unique], capture_output=True, text=True)
    assert p.returncode != 0
    deadline = time.time() + 5
    while time.time() < deadline:
        with open(world.dns_log) as f:
            if "query[A] %s" % unique in f.read():
                break
        time.sleep(0.1)
    else:
        raise AssertionError("query for %s not in %s" % (unique, world.dns_log))


def test_real_names_do_not_resolve(world):
    for name in ("example.com", "debian.org"):
        p = world.run(["getent", "hosts", name], capture_output=True, text=True, timeout=10)
        assert p.returncode != 0, name


def test_metadata_lan_and_loopback(world):
    assert curl(world, "http://%s/latest/meta-data/" % world.META_V4) == world.META_BODY + "\n"
    assert curl(world, "http://%s/" % world.NAME_META) == world.META_BODY + "\n"
    assert curl(world, "http://%s/l" % world.LAN_V4) == "hello from %s /l\n" % world.LAN_V4
    assert curl(world, "http://[%s]/l" % world.LAN_V6) == "hello from %s /l\n" % world.LAN_V6
    assert curl(world, "http://%s/r" % world.NAME_REBIND) == "hello from %s /r\n" % world.LAN_V4
    url = "http://%s:%s/" % (world.LOOPBACK_V4, world.LOOPBACK_PORT)
    assert curl(world, url) == world.LOOPBACK_BODY + "\n"


def test_benchmark_services(world):
    p = py(world, """
        import socket, sys
        a, echo, discard, iperf = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        with socket.create_connection((a, echo), timeout=3) as s:
            s.sendall(b"x" * 100000)
            got = b""
            while len(got) < 100000:
                got += s.recv(65536)
        assert got == b"x" * 100000
        with socket.create_connection((a, discard), timeout=3) as s:
            s.sendall(b"y" * 100000)
        socket.create_connection((a, iperf), timeout=3).close()
        print("ok")
        """, world.PUB3_V4, world.ECHO_PORT, world.DISCARD_PORT, world.IPERF_PORT)
    assert p.stdout.strip() == "ok", p.stderr


def test_no_way_out(world):
    """Addresses outside the test ranges fail at once; no packet leaves."""
    p = py(world, """
        import socket, sys, time
        for a in sys.argv[1:]:
            t = time.time()
            try:
                socket.create_connection((a, 443), timeout=5).close()
                print("REACHED", a)
            except OSError as e:
                print(a, type(e).__name__, round(time.time() - t, 2))
                assert time.time() - t < 2, a
        """, world.OUTSIDE_V4, world.OUTSIDE2_V4, world.OUTSIDE_V6, "93.184.216.34")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "REACHED" not in p.stdout
    # the world has only its loopback, its uplink to the router and the LAN
    p = world.run(["ip", "-o", "link", "show"], capture_output=True, text=True)
    names = sorted(line.split(":")[1].strip().split("@")[0] for line in p.stdout.splitlines())
    assert names == ["lan0", "lo", "up0"]


def test_registries(world):
    def code(url, *args):
        p = world.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                       "--cacert", world.ca] + list(args) + [url], capture_output=True, text=True)
        return p.stdout
    assert code("http://%s/v2/" % world.registry) == "200"
    assert code("https://localhost:%s/v2/" % world.REGISTRY_TLS_PORT) == "200"
    assert code("https://%s/v2/" % world.registry_tls) == "200"
    assert code("http://%s/v2/" % world.registry_auth) == "401"
    assert code("http://%s/v2/" % world.registry_auth, "-u", "%s:wrong" % world.registry_user) == "401"
    auth = "%s:%s" % (world.registry_user, world.registry_password)
    assert code("http://%s/v2/" % world.registry_auth, "-u", auth) == "200"
