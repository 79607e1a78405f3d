# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the integration suites.

Every test drives the real `msb` binary with a private MSB_HOME. The mode is
chosen by MSB_TEST_MODE: `root` runs msb as root; `user` runs it as the
unprivileged account MSB_TEST_USER (default `msbtest`, created with
subordinate ids by scripts/integration.sh) through runuser.
"""
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "world"))
from world import world_fixture  # noqa: E402,F401  (the session fixture `world`)
MSB = os.environ.get("MSB_BIN", os.path.join(REPO, "build", "msb"))
MODE = os.environ.get("MSB_TEST_MODE", "root")
TEST_USER = os.environ.get("MSB_TEST_USER", "msbtest")


class Msb:
    """Runs msb (as root or as the test user) against one MSB_HOME."""

    def __init__(self, home, mode):
        self.home = home
        self.mode = mode
        self.bin = MSB

    def env(self, extra=None):
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "MSB_HOME": self.home,
            "HOME": self.home,
            "LANG": "C.UTF-8",
        }
        if extra:
            env.update(extra)
        return env

    def argv(self, args, env=None):
        full = [self.bin] + list(args)
        if self.mode == "user":
            envs = ["%s=%s" % kv for kv in self.env(env).items()]
            return ["runuser", "-u", TEST_USER, "--", "env", "-i"] + envs + full
        return full

    def run(self, *args, input=None, timeout=60, env=None, check=False):
        """Run msb with args; returns CompletedProcess with text output."""
        p = subprocess.run(
            self.argv(args, env),
            input=input,
            capture_output=True,
            timeout=timeout,
            env=self.env(env),
            cwd="/tmp",
        )
        p.out = p.stdout.decode("utf-8", "replace")
        p.err = p.stderr.decode("utf-8", "replace")
        if check and p.returncode != 0:
            raise AssertionError("msb %s failed (%d): %s%s" % (" ".join(args), p.returncode, p.out, p.err))
        return p

    def ok(self, *args, **kw):
        kw["check"] = True
        return self.run(*args, **kw)

    def popen(self, *args, **kw):
        return subprocess.Popen(self.argv(args), env=self.env(), cwd="/tmp", **kw)

    def host_uid(self):
        return 0 if self.mode == "root" else pwd.getpwnam(TEST_USER).pw_uid


@pytest.fixture
def msb():
    base = "/tmp/msb-it"
    os.makedirs(base, mode=0o755, exist_ok=True)
    os.chmod(base, 0o755)
    home = os.path.join(base, uuid.uuid4().hex[:12])
    os.makedirs(home, mode=0o700)
    if MODE == "user":
        pw = pwd.getpwnam(TEST_USER)
        os.chown(home, pw.pw_uid, pw.pw_gid)
    m = Msb(home, MODE)
    yield m
    # tear down every sandbox of this home, then the home itself
    p = m.run("ls", "-q", timeout=30)
    for name in p.out.split():
        m.run("rm", "-f", name, timeout=30)
    if MODE == "user":
        subprocess.run(["runuser", "-u", TEST_USER, "--", "rm", "-rf", home], capture_output=True)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def scratch(msb):
    """A host directory the msb user can read and write."""
    d = tempfile.mkdtemp(prefix="msb-scratch-", dir="/tmp")
    if MODE == "user":
        pw = pwd.getpwnam(TEST_USER)
        os.chown(d, pw.pw_uid, pw.pw_gid)
    yield d
    shutil.rmtree(d, ignore_errors=True)
