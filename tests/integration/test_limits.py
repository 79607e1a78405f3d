# SPDX-License-Identifier: Apache-2.0
"""Lifetime timers and resource caps, driven through the real binary."""
import json
import sqlite3
import time

import pytest


def status(msb, name):
    for s in json.loads(msb.ok("ls", "--format", "json").out):
        if s["name"] == name:
            return s["status"]
    return None


def reasons(msb):
    db = sqlite3.connect("file:%s/msb.db?mode=ro" % msb.home, uri=True)
    try:
        return [r[0] for r in db.execute("SELECT termination_reason FROM run ORDER BY id")]
    finally:
        db.close()


def wait_status(msb, name, want, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if status(msb, name) == want:
            return True
        time.sleep(0.2)
    return False


def test_max_duration_ends_the_sandbox(msb):
    msb.ok("create", "host", "--name", "short", "--max-duration", "2s")
    assert status(msb, "short") == "Running"
    assert wait_status(msb, "short", "Stopped", 8)
    assert reasons(msb)[-1] == "MaxDurationExceeded"
    # and it really is gone: exec needs a restart, which works
    assert msb.run("exec", "short", "--", "true").returncode == 0


def test_idle_timeout_spares_running_commands(msb):
    msb.ok("create", "host", "--name", "idle", "--idle-timeout", "2")
    # a command running longer than the timeout keeps the sandbox busy
    p = msb.run("exec", "idle", "--", "sleep", "3")
    assert p.returncode == 0
    assert status(msb, "idle") == "Running"
    assert wait_status(msb, "idle", "Stopped", 8)
    assert reasons(msb)[-1] == "IdleTimeout"


def test_bad_durations_are_rejected(msb):
    for bad in ("5d", "1.5s", "-1", "abc", "10ms"):
        p = msb.run("create", "host", "--name", "x", "--max-duration", bad)
        assert p.returncode != 0, bad
        assert bad in p.err or "duration" in p.err.lower(), (bad, p.err)
    assert msb.ok("ls", "-q").out.strip() == ""


def test_memory_cap(msb):
    if msb.mode == "user":
        # without a delegated cgroup the cap cannot be applied: refused, never ignored
        p = msb.run("run", "-m", "64M", "host", "--", "true")
        assert p.returncode != 0
        assert "cap" in p.err
        assert msb.ok("ls", "-q").out.strip() == ""
        return
    big = "x = bytearray(256 * 1024 * 1024); print('allocated')"
    p = msb.run("run", "-m", "64M", "host", "--", "python3", "-c", big)
    assert p.returncode == 128 + 9, (p.returncode, p.out, p.err)  # OOM-killed
    p = msb.run("run", "host", "--", "python3", "-c", big)
    assert p.returncode == 0 and "allocated" in p.out


def test_default_pids_cap_stops_fork_bombs(msb):
    if msb.mode == "user":
        pytest.skip("rootless without a delegated cgroup has no pids cap (SECURITY.md)")
    # try to create far more processes than the cap; the sandbox survives and says so
    script = (
        "import os, time\n"
        "n = 0\n"
        "try:\n"
        "    for _ in range(6000):\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(5); os._exit(0)\n"
        "        n += 1\n"
        "except OSError as e:\n"
        "    print('refused after', n, e.errno)\n"
    )
    p = msb.run("run", "host", "--", "python3", "-c", script, timeout=120)
    assert "refused after" in p.out, (p.out, p.err)
    n = int(p.out.split()[2])
    assert n < 4096
