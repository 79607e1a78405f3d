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


FORK_BOMB = """
import os, sys, time
def bomb(limit):
    n = 0
    try:
        for _ in range(limit):
            if os.fork() == 0:
                time.sleep(6); os._exit(0)
            n += 1
    except OSError as e:
        return n, e.errno
    return n, 0
first, err1 = bomb(2500)
# a second uid inside must not get a fresh budget: the cap is the sandbox's
r, w = os.pipe()
if os.fork() == 0:
    os.setgid(1000); os.setuid(1000)
    n, e = bomb(4000)
    os.write(w, b"%d %d" % (n, e)); os._exit(0)
os.close(w)
second, err2 = map(int, os.read(r, 100).split())
print("first", first, err1, "second", second, err2)
"""


def test_default_process_cap_stops_fork_bombs(msb):
    p = msb.run("run", "host", "--", "python3", "-c", FORK_BOMB, timeout=120)
    assert p.out.startswith("first"), (p.out, p.err)
    _, first, err1, _, second, err2 = p.out.split()
    assert int(first) == 2500 and int(err1) == 0
    assert int(err2) == 11  # EAGAIN
    assert int(first) + int(second) < 4096


def test_touch_counts_as_activity_ping_does_not(msb):
    msb.ok("create", "host", "--name", "tt", "--idle-timeout", "2")
    for _ in range(4):  # 4 s of touches, twice the idle timeout
        time.sleep(1)
        msb.ok("touch", "tt")
    assert status(msb, "tt") == "Running"
    for _ in range(3):
        msb.ok("ping", "tt")
        time.sleep(0.5)
    assert wait_status(msb, "tt", "Stopped", 6)
    assert reasons(msb)[-1] == "IdleTimeout"
