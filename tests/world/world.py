# SPDX-License-Identifier: Apache-2.0
"""The test world (DESIGN.md §10) for pytest suites.

    from world import World, world_fixture   # conftest: registers fixture `world`

`World` holds the world's addresses and names (from world.env), the paths of
its CA and state, and runs commands inside the world's network namespace
(directly when this process is already inside it, as when
scripts/integration.sh runs pytest through `scripts/world.sh exec`, else
through `ip netns exec`, which needs root).

Run as a program inside the world, `world.py status [-q]` checks that every
service answers (scripts/world.sh status uses it).
"""
import http.client
import os
import socket
import ssl
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
WORLD_SH = os.path.join(REPO, "scripts", "world.sh")
ENV_FILE = os.path.join(HERE, "world.env")


def load_env(path=ENV_FILE):
    """Parse world.env: KEY=VALUE lines, comments and blanks ignored."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            env[k.strip()] = v.strip()
    return env


class World:
    """Addresses, names and helpers of the test world."""

    def __init__(self):
        self.env = load_env()
        e = self.env
        self.ns = os.environ.get("MSB_WORLD") or e["WORLD_NS"]
        self.dir = os.environ.get("MSB_WORLD_DIR") or "/run/" + self.ns
        self.ca = os.path.join(self.dir, "ca.pem")
        self.ca_key = os.path.join(self.dir, "ca.key")
        self.cert = os.path.join(self.dir, "server.pem")
        self.key = os.path.join(self.dir, "server.key")
        self.dns_log = os.path.join(self.dir, "dnsmasq.log")
        self.images_dir = os.path.join(self.dir, "images")
        self.hostile_dir = os.path.join(self.dir, "hostile")
        # Public hosts: name -> (v4, v6)
        self.public = {
            e["NAME_PUB1"]: (e["PUB1_V4"], e["PUB1_V6"]),
            e["NAME_PUB2"]: (e["PUB2_V4"], e["PUB2_V6"]),
            e["NAME_PUB3"]: (e["PUB3_V4"], e["PUB3_V6"]),
        }
        # Every DNS name the world's dnsmasq answers -> list of addresses.
        self.dns = {
            e["NAME_PUB1"]: [e["PUB1_V4"], e["PUB1_V6"]],
            e["NAME_PUB2"]: [e["PUB2_V4"], e["PUB2_V6"]],
            e["NAME_PUB3"]: [e["PUB3_V4"], e["PUB3_V6"]],
            e["NAME_SAME_IP"]: [e["PUB3_V4"]],
            e["NAME_LAN"]: [e["LAN_V4"], e["LAN_V6"]],
            e["NAME_REBIND"]: [e["LAN_V4"]],
            e["NAME_META"]: [e["META_V4"]],
            e["NAME_V6ONLY"]: [e["PUB1_V6"]],
            e["NAME_GITHUB"]: [e["PUB2_V4"], e["PUB2_V6"]],
            e["NAME_GH_API"]: [e["PUB3_V4"], e["PUB3_V6"]],
            e["NAME_GH_RAW"]: [e["PUB3_V4"], e["PUB3_V6"]],
            e["NAME_MALWARE"]: [e["PUB1_V4"]],
            e["NAME_TRACKING"]: [e["PUB1_V4"]],
        }
        self.registry = "%s:%s" % (e["REGISTRY_HOST"], e["REGISTRY_HTTP_PORT"])
        self.registry_tls = "%s:%s" % (e["REGISTRY_HOST"], e["REGISTRY_TLS_PORT"])
        self.registry_auth = "%s:%s" % (e["REGISTRY_HOST"], e["REGISTRY_AUTH_PORT"])
        self.registry_user = e["REGISTRY_USER"]
        self.registry_password = e["REGISTRY_PASSWORD"]

    def __getattr__(self, name):
        """w.PUB1_V4, w.NAME_REBIND, ...: any world.env key."""
        env = self.__dict__.get("env") or {}
        if name in env:
            return env[name]
        raise AttributeError(name)

    # ---- where are we -----------------------------------------------------
    def is_up(self):
        return os.path.exists("/run/netns/" + self.ns) and os.path.exists(self.ca)

    def inside(self):
        """True when this process is in the world's network namespace."""
        try:
            a = os.stat("/proc/self/ns/net")
            b = os.stat("/run/netns/" + self.ns)
        except OSError:
            return False
        return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)

    # ---- control ----------------------------------------------------------
    def _sh(self, *args, **kw):
        return subprocess.run([WORLD_SH] + list(args), env=self._env(), **kw)

    def _env(self):
        return dict(os.environ, MSB_WORLD=self.ns, MSB_WORLD_DIR=self.dir)

    def ensure_up(self):
        """Bring the world up if needed (root only)."""
        if not self.is_up() or self.status(quiet=True) != 0:
            if os.geteuid() != 0:
                raise RuntimeError("the test world %s is not up and only root can start it" % self.ns)
            self._sh("up", check=True)
        return self

    def ensure_images(self):
        """Build and push the test images unless already there (root only)."""
        stamp = os.path.join(self.images_dir, ".done")
        if not os.path.exists(stamp):
            self._sh("images", check=True)
        return self

    def status(self, quiet=False):
        argv = [sys.executable, os.path.abspath(__file__), "status"] + (["-q"] if quiet else [])
        return self.run(argv, capture_output=quiet).returncode

    def argv(self, argv):
        """argv to run a command inside the world's network namespace."""
        if self.inside():
            return list(argv)
        return [WORLD_SH, "exec"] + list(argv)

    def run(self, argv, **kw):
        """subprocess.run inside the world's network namespace."""
        if not self.inside():
            kw["env"] = dict(self._env(), **(kw.get("env") or {}))
        return subprocess.run(self.argv(argv), **kw)

    def curl(self, url, *args, timeout=10):
        """curl URL inside the world (CA trusted); returns CompletedProcess (text)."""
        argv = ["curl", "-sS", "--noproxy", "*", "--max-time", str(timeout), "--cacert", self.ca] + list(args) + [url]
        return self.run(argv, capture_output=True, text=True, timeout=timeout + 5)


# ---- checks (run inside the world) ------------------------------------------
def _http(host, port, path="/", tls=False, ca=None, timeout=3):
    if tls:
        ctx = ssl.create_default_context(cafile=ca)
        c = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
    else:
        c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


def checks(w):
    """Yields (what, ok, detail) for every service of the world."""
    e = w.env

    def probe(what, fn, expect):
        try:
            got = fn()
            ok = expect(got)
            return what, ok, repr(got)[:120]
        except Exception as ex:  # noqa: BLE001 - report anything
            return what, False, "%s: %s" % (type(ex).__name__, ex)

    for name, (v4, v6) in w.public.items():
        for a in (v4, v6):
            yield probe("http %s" % a, lambda a=a: _http(a, int(e["HTTP_PORT"]), "/s"),
                        lambda g, a=a: g == (200, "hello from %s /s\n" % a))
            yield probe("https %s" % a, lambda a=a: _http(a, int(e["HTTPS_PORT"]), "/s", True, w.ca),
                        lambda g, a=a: g == (200, "hello from %s /s\n" % a))
    for name in (e["NAME_PUB1"], e["NAME_LAN"]):
        yield probe("dns %s" % name,
                    lambda name=name: sorted({ai[4][0] for ai in socket.getaddrinfo(name, 80, proto=socket.IPPROTO_TCP)}),
                    lambda g, name=name: g == sorted(w.dns[name]))
    yield probe("metadata", lambda: _http(e["META_V4"], int(e["META_PORT"])), lambda g: g == (200, e["META_BODY"] + "\n"))
    yield probe("lan", lambda: _http(e["LAN_V4"], int(e["HTTP_PORT"]), "/l"),
                lambda g: g == (200, "hello from %s /l\n" % e["LAN_V4"]))
    yield probe("loopback", lambda: _http(e["LOOPBACK_V4"], int(e["LOOPBACK_PORT"])),
                lambda g: g == (200, e["LOOPBACK_BODY"] + "\n"))

    def echo():
        with socket.create_connection((e["PUB3_V4"], int(e["ECHO_PORT"])), timeout=3) as s:
            s.sendall(b"ping")
            return s.recv(16)
    yield probe("echo", echo, lambda g: g == b"ping")
    yield probe("iperf3", lambda: socket.create_connection((e["PUB3_V4"], int(e["IPERF_PORT"])), timeout=3).close(),
                lambda g: True)
    yield probe("registry", lambda: _http(e["REGISTRY_HOST"], int(e["REGISTRY_HTTP_PORT"]), "/v2/")[0], lambda g: g == 200)
    yield probe("registry-tls", lambda: _http("localhost", int(e["REGISTRY_TLS_PORT"]), "/v2/", True, w.ca)[0],
                lambda g: g == 200)
    yield probe("registry-auth", lambda: _http(e["REGISTRY_HOST"], int(e["REGISTRY_AUTH_PORT"]), "/v2/")[0],
                lambda g: g == 401)


def main(args):
    if not args or args[0] != "status":
        print("usage: world.py status [-q]", file=sys.stderr)
        return 2
    quiet = "-q" in args
    w = World()
    if not w.inside():
        print("world.py status: not inside the world namespace %s" % w.ns, file=sys.stderr)
        return 1
    bad = 0
    for what, ok, detail in checks(w):
        bad += not ok
        if not quiet or not ok:
            if quiet:
                continue
            print("%-4s %-28s %s" % ("ok" if ok else "FAIL", what, "" if ok else detail))
    return 1 if bad else 0


# ---- pytest ------------------------------------------------------------------
try:
    import pytest

    @pytest.fixture(scope="session", name="world")
    def world_fixture():
        """The test world, up (started if needed and we are root; else skipped)."""
        w = World()
        try:
            w.ensure_up()
        except (RuntimeError, subprocess.CalledProcessError) as ex:
            pytest.skip("test world unavailable: %s" % ex)
        return w
except ImportError:  # used as a plain program
    pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
