# SPDX-License-Identifier: Apache-2.0
"""Sandbox lifecycle through the real msb binary: run (ephemeral and
detached), create, ls/ps/inspect, stop/start/restart, rm, --replace,
labels, logs -f of a detached workload, names, concurrent creates, and a
supervisor crash."""
import json
import os
import re
import select
import signal
import subprocess
import time
import uuid

import pytest


def host_procs():
    """{pid: (ppid, state, cmdline)} of every host process."""
    procs = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                rest = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue
        procs[int(d)] = (int(rest[1]), rest[0], cmd)
    return procs


def live(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def host_pids(needle):
    return [p for p, (_, st, cmd) in host_procs().items() if st != "Z" and needle in cmd and p != os.getpid()]


def supervisors(msb):
    """Supervisor processes (and their boot helpers) of this home: named msb-sandbox, MSB_HOME=home."""
    out = []
    for p, (_, st, cmd) in host_procs().items():
        if st == "Z":
            continue
        try:
            with open("/proc/%d/comm" % p) as f:
                comm = f.read().strip()
            with open("/proc/%d/environ" % p, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if comm == "msb-sandbox" and ("MSB_HOME=" + msb.home).encode() in env:
            out.append(p)
    return out


def supervisor_tree(msb, name):
    """(supervisor pid, all pids of its process tree) for sandbox name."""
    procs = host_procs()
    info = json.loads(msb.ok("inspect", name, "--format", "json").out)
    sup = info.get("pid")
    assert sup and live(sup), "no supervisor process for %s in %s" % (name, msb.home)
    cands = supervisors(msb)
    assert sup in cands, (sup, cands)
    tops = [p for p in cands if procs[p][0] not in cands]
    assert sup in tops, (cands, tops)
    tree = {sup}
    grew = True
    while grew:
        grew = False
        for p, (pp, _, _) in procs.items():
            if pp in tree and p not in tree:
                tree.add(p)
                grew = True
    return tops[0], tree


def wait_until(pred, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def ls_json(msb, *args):
    p = msb.ok("ls", "--format", "json", *args)
    v = json.loads(p.out)
    assert isinstance(v, list), p.out
    return v


def status_of(msb, name):
    rows = [r for r in ls_json(msb) if r["name"] == name]
    assert len(rows) == 1, rows
    return rows[0]["status"]


def sandbox_dirs(msb):
    d = os.path.join(msb.home, "sandboxes")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


# -- msb run ------------------------------------------------------------------------

def test_run_hello(msb):
    p = msb.run("run", "host", "--", "sh", "-c", "echo hello; id; cat /etc/os-release")
    assert p.returncode == 0, p.err
    lines = p.out.splitlines()
    assert lines[0] == "hello"
    assert lines[1].startswith("uid=0(root) gid=0(root)"), lines[1]
    host_id = None
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        if os.path.exists(path):
            with open(path) as f:
                host_id = [l for l in f.read().splitlines() if l.startswith("ID=")]
            break
    assert host_id and host_id[0] in lines, p.out
    assert any(l.startswith("PRETTY_NAME=") for l in lines), p.out


@pytest.mark.parametrize(
    "cmd,code",
    [
        (["sh", "-c", "exit 3"], 3),
        (["sh", "-c", "kill -9 $$"], 137),
        (["no-such-command-msbit"], 127),
        (["/etc/passwd"], 126),
    ],
    ids=["exit3", "sigkill", "notfound", "notexec"],
)
def test_run_exit_codes(msb, cmd, code):
    p = msb.run("run", "host", "--", *cmd)
    assert p.returncode == code, (p.out, p.err)
    assert msb.ok("ls", "-q").out == ""


def test_run_ephemeral_leaves_nothing(msb):
    p = msb.run("run", "host", "--", "sh", "-c", "echo x > /tmp/f; cat /tmp/f")
    assert p.returncode == 0 and p.out == "x\n", p.err
    assert msb.ok("ls", "-q").out == ""
    assert ls_json(msb) == []
    assert sandbox_dirs(msb) == []
    assert wait_until(lambda: not supervisors(msb), 3)
    # a failing run cleans up just the same
    p = msb.run("run", "host", "--", "sh", "-c", "exit 4")
    assert p.returncode == 4
    assert msb.ok("ls", "-q").out == ""
    assert sandbox_dirs(msb) == []


def test_run_named_is_kept(msb):
    p = msb.run("run", "--name", "keep", "host", "--", "sh", "-c", "echo kept > /root/k")
    assert p.returncode == 0, p.err
    assert msb.ok("ls", "-q").out.split() == ["keep"]
    assert status_of(msb, "keep") == "Stopped"
    msb.ok("start", "keep")
    assert msb.ok("exec", "keep", "--", "cat", "/root/k").out == "kept\n"


def test_run_does_not_forward_host_env(msb):
    p = msb.run("run", "host", "--", "env", env={"MSBIT_SECRET": "leak"})
    assert p.returncode == 0, p.err
    assert "MSBIT_SECRET" not in p.out and "MSB_HOME" not in p.out


# -- create, ls, ps, inspect -------------------------------------------------------

def test_create_named_prints_nothing(msb):
    p = msb.run("create", "host", "--name", "dev")
    assert p.returncode == 0, p.err
    assert p.out == ""
    assert msb.ok("ls", "-q").out.split() == ["dev"]
    assert msb.ok("exec", "dev", "--", "hostname").out == "dev\n"


def test_create_unnamed_prints_generated_name(msb):
    p = msb.run("create", "host")
    assert p.returncode == 0, p.err
    name = p.out.strip()
    assert re.fullmatch(r"msb-[0-9a-f]{8}", name), p.out
    assert p.out == name + "\n"
    assert msb.ok("ls", "-q").out.split() == [name]
    assert msb.ok("exec", name, "--", "echo", "hi").out == "hi\n"


def test_create_existing_name_refused(msb):
    msb.ok("create", "host", "--name", "dev")
    msb.ok("exec", "dev", "--", "touch", "/root/marker")
    p = msb.run("create", "host", "--name", "dev")
    assert p.returncode == 1, (p.out, p.err)
    assert "already exists" in p.err
    # the existing sandbox is untouched
    assert msb.ok("exec", "dev", "--", "test", "-e", "/root/marker").returncode == 0


def test_ls_ps_inspect(msb):
    msb.ok("create", "host", "--name", "dev")
    msb.ok("create", "host", "--name", "other")
    p = msb.ok("ls")
    head = p.out.splitlines()[0].split()
    assert head == ["NAME", "IMAGE", "STATUS", "CREATED"], p.out
    rows = {l.split()[0]: l.split() for l in p.out.splitlines()[1:]}
    assert set(rows) == {"dev", "other"}
    assert rows["dev"][1:3] == ["host", "running"]

    js = ls_json(msb)
    assert sorted(r["name"] for r in js) == ["dev", "other"]
    for r in js:
        assert {"name", "status", "created_at", "image"} <= set(r), r
        assert r["status"] == "Running"
        assert r["image"] == "host"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)", r["created_at"]), r

    assert sorted(msb.ok("ls", "-q").out.split()) == ["dev", "other"]

    p = msb.ok("ps")
    assert p.out.splitlines()[0].split()[:2] == ["NAME", "IMAGE"]
    assert "STATUS" in p.out.splitlines()[0]
    assert sorted(l.split()[0] for l in p.out.splitlines()[1:]) == ["dev", "other"]
    assert sorted(msb.ok("ps", "-q").out.split()) == ["dev", "other"]
    ps = json.loads(msb.ok("ps", "--format", "json").out)
    assert sorted(r["name"] for r in ps) == ["dev", "other"]
    assert all(r["status"] == "Running" for r in ps)

    info = json.loads(msb.ok("inspect", "dev", "--format", "json").out)
    assert info["name"] == "dev"
    assert info["status"] == "Running"
    assert isinstance(info["config"], dict)
    assert info["config"].get("image") == "host"
    p = msb.ok("inspect", "dev")
    assert re.search(r"^Name:\s+dev$", p.out, re.M), p.out
    assert re.search(r"^Status:\s+Running$", p.out, re.M), p.out


def test_ps_shows_only_running(msb):
    msb.ok("create", "host", "--name", "up")
    msb.ok("create", "host", "--name", "down")
    msb.ok("stop", "down")
    assert msb.ok("ps", "-q").out.split() == ["up"]
    assert sorted(msb.ok("ps", "-a", "-q").out.split()) == ["down", "up"]
    assert msb.ok("ls", "--running", "-q").out.split() == ["up"]
    assert msb.ok("ls", "--stopped", "-q").out.split() == ["down"]


def test_empty_listings(msb):
    p = msb.ok("ls")
    assert p.out == ""
    assert json.loads(msb.ok("ls", "--format", "json").out) == []
    assert msb.ok("ps", "-q").out == ""


def test_inspect_unknown(msb):
    p = msb.run("inspect", "nosuch")
    assert p.returncode == 1
    assert "nosuch" in p.err and "not found" in p.err


# -- stop, start, restart, rm -----------------------------------------------------------

def test_stop_start_restart_keep_files(msb):
    msb.ok("create", "host", "--name", "dev")
    msb.ok("exec", "dev", "--", "sh", "-c", "echo persisted > /root/state; echo t > /tmp/t")
    sup1, tree1 = supervisor_tree(msb, "dev")

    msb.ok("stop", "dev")
    assert status_of(msb, "dev") == "Stopped"
    assert json.loads(msb.ok("inspect", "dev", "--format", "json").out)["status"] == "Stopped"
    assert msb.ok("ps", "-q").out == ""
    assert wait_until(lambda: not any(live(p) for p in tree1), 3), "sandbox processes survived stop"

    msb.ok("start", "dev")
    assert status_of(msb, "dev") == "Running"
    assert msb.ok("exec", "dev", "--", "cat", "/root/state").out == "persisted\n"

    sup2, _ = supervisor_tree(msb, "dev")
    msb.ok("restart", "dev")
    assert status_of(msb, "dev") == "Running"
    sup3, _ = supervisor_tree(msb, "dev")
    assert sup3 != sup2, "restart did not restart the supervisor"
    assert not live(sup2)
    assert msb.ok("exec", "dev", "--", "cat", "/root/state").out == "persisted\n"


def test_start_running_and_stop_stopped(msb):
    msb.ok("create", "host", "--name", "dev")
    p = msb.run("start", "dev")
    assert p.returncode == 1 and "already running" in p.err, (p.out, p.err)
    msb.ok("stop", "dev")
    p = msb.run("exec", "dev", "--", "echo", "x")
    # exec on a stopped sandbox starts it for the command and stops it again
    assert p.returncode == 0 and p.out == "x\n", p.err
    assert status_of(msb, "dev") == "Stopped"


def test_restart_stopped_starts_it(msb):
    msb.ok("create", "host", "--name", "dev")
    msb.ok("stop", "dev")
    msb.ok("restart", "dev")
    assert status_of(msb, "dev") == "Running"


def test_rm_refused_while_running(msb):
    msb.ok("create", "host", "--name", "dev")
    p = msb.run("rm", "dev")
    assert p.returncode == 1, (p.out, p.err)
    assert "dev" in p.err and "running" in p.err.lower()
    assert status_of(msb, "dev") == "Running"
    assert msb.ok("exec", "dev", "--", "true").returncode == 0

    _, tree = supervisor_tree(msb, "dev")
    msb.ok("rm", "-f", "dev")
    assert msb.ok("ls", "-q").out == ""
    assert sandbox_dirs(msb) == []
    assert wait_until(lambda: not any(live(p) for p in tree), 3), "sandbox processes survived rm -f"
    p = msb.run("exec", "dev", "--", "true")
    assert p.returncode == 1 and "not found" in p.err


def test_rm_stopped(msb):
    msb.ok("create", "host", "--name", "dev")
    msb.ok("stop", "dev")
    msb.ok("rm", "dev")
    assert msb.ok("ls", "-q").out == ""
    assert sandbox_dirs(msb) == []
    p = msb.run("rm", "dev")
    assert p.returncode == 1 and "not found" in p.err


def test_rm_several_continues_past_failures(msb):
    msb.ok("create", "host", "--name", "a1")
    msb.ok("create", "host", "--name", "a2")
    p = msb.run("rm", "-f", "a1", "missing", "a2")
    assert p.returncode == 1
    assert "missing" in p.err
    assert msb.ok("ls", "-q").out == ""


def test_replace_recreates(msb):
    msb.ok("create", "host", "--name", "dev")
    msb.ok("exec", "dev", "--", "touch", "/root/old")
    sup1, tree1 = supervisor_tree(msb, "dev")
    p = msb.run("create", "host", "--name", "dev", "--replace")
    assert p.returncode == 0, p.err
    assert msb.ok("ls", "-q").out.split() == ["dev"]
    assert status_of(msb, "dev") == "Running"
    assert msb.run("exec", "dev", "--", "test", "-e", "/root/old").returncode == 1
    assert wait_until(lambda: not any(live(p) for p in tree1), 3)
    # --replace of a name that does not exist just creates it
    msb.ok("create", "host", "--name", "fresh", "--replace")
    assert sorted(msb.ok("ls", "-q").out.split()) == ["dev", "fresh"]


def test_labels(msb):
    msb.ok("create", "host", "--name", "a", "--label", "team=a", "--label", "tier=web")
    msb.ok("create", "host", "--name", "b", "--label", "team=b", "--label", "tier=web")
    msb.ok("create", "host", "--name", "c")
    assert msb.ok("ls", "--label", "team=a", "-q").out.split() == ["a"]
    assert [r["name"] for r in ls_json(msb, "--label", "team=b")] == ["b"]
    assert sorted(msb.ok("ls", "--label", "tier=web", "-q").out.split()) == ["a", "b"]
    # repeated selectors are AND-matched
    assert msb.ok("ls", "--label", "tier=web", "--label", "team=b", "-q").out.split() == ["b"]
    p = msb.run("ls", "--label", "team=z", "-q")
    assert p.returncode == 0 and p.out == ""
    assert re.search(r"^\s+team=a$", msb.ok("inspect", "a").out, re.M)
    # labels select targets of other commands too
    msb.ok("stop", "--label", "team=a")
    assert status_of(msb, "a") == "Stopped"
    assert status_of(msb, "b") == "Running"


def test_invalid_label_key(msb):
    p = msb.run("create", "host", "--name", "l", "--label", "sandbox.x=1")
    assert p.returncode in (1, 2), (p.out, p.err)
    assert "sandbox." in p.err
    assert msb.ok("ls", "-q").out == ""


# -- detached run and logs -f -----------------------------------------------------------

DATE = re.compile(r"\d\d:\d\d:\d\d")


def test_run_detached_and_follow_logs(msb):
    p = msb.run("run", "-d", "--name", "w", "host", "--", "sh", "-c", "while sleep 1; do date; done")
    assert p.returncode == 0, p.err
    assert p.out.strip() == "w"
    assert status_of(msb, "w") == "Running"

    def dates():
        return [l for l in msb.ok("logs", "w").out.splitlines() if DATE.search(l)]

    assert wait_until(lambda: len(dates()) >= 2, 6), msb.run("logs", "w").out
    before = len(dates())

    f = msb.popen("logs", "-f", "w", stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out = b""
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            n = len([l for l in out.decode(errors="replace").splitlines() if DATE.search(l)])
            if n >= before + 2:
                break
            r, _, _ = select.select([f.stdout], [], [], 0.2)
            if r:
                chunk = os.read(f.stdout.fileno(), 65536)
                if not chunk:
                    break
                out += chunk
        lines = [l for l in out.decode(errors="replace").splitlines() if DATE.search(l)]
        assert len(lines) >= before + 2, "logs -f did not stream new lines: %r" % out
        assert f.poll() is None, "logs -f exited on its own"
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if f.poll() is None:
                try:
                    os.killpg(f.pid, sig)
                    f.wait(timeout=3)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass


def test_run_detached_unnamed_prints_name(msb):
    p = msb.run("run", "-d", "host", "--", "sleep", "30")
    assert p.returncode == 0, p.err
    name = p.out.strip()
    assert re.fullmatch(r"msb-[0-9a-f]{8}", name), p.out
    assert status_of(msb, name) == "Running"


# -- names -----------------------------------------------------------------------------

BAD_NAMES = ["-bad", ".dot", "a/b", "../x", "has space", "a:b", "", "x" * 129, "caf\u00e9", "a\nb"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=lambda n: repr(n)[:20])
def test_invalid_names_rejected(msb, name):
    # msb's own failures: 1 (error) or 2 (usage); `run` documents 125 for
    # "msb failed before the command ran" (src/cli/cli.h, like docker run),
    # so it cannot be confused with the command's own status 1 or 2.
    for cmd, codes in (
        (("create", "host", "--name", name), (1, 2)),
        (("run", "--name", name, "host", "--", "true"), (1, 2, 125)),
        (("run", "-d", "--name", name, "host", "--", "true"), (1, 2, 125)),
    ):
        p = msb.run(*cmd)
        assert p.returncode in codes, (cmd, p.returncode, p.out, p.err)
        assert "name" in p.err.lower(), p.err
        assert p.out == ""
    assert msb.ok("ls", "-q").out == ""
    assert sandbox_dirs(msb) == []


def test_valid_name_edges(msb):
    for name in ("a", "A.b_c-1", "9" + "x" * 127):
        p = msb.run("create", "host", "--name", name)
        assert p.returncode == 0, (name, p.err)
    assert sorted(msb.ok("ls", "-q").out.split()) == sorted(["a", "A.b_c-1", "9" + "x" * 127])


@pytest.mark.parametrize("fresh_home", [True, False], ids=["fresh-home", "initialised-home"])
@pytest.mark.parametrize("racers", [2, 2, 4], ids=["2a", "2b", "4"])
def test_concurrent_create_same_name(msb, racers, fresh_home):
    if not fresh_home:
        msb.ok("ls")  # the state database exists before the race
    procs = [
        msb.popen("create", "host", "--name", "x", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(racers)
    ]
    res = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        res.append((p.returncode, out.decode(), err.decode()))
    winners = [r for r in res if r[0] == 0]
    losers = [r for r in res if r[0] != 0]
    assert len(winners) == 1, res
    assert winners[0][1] == ""
    for r in losers:
        assert r[0] == 1, res
        assert "already exists" in r[2], res
    assert msb.ok("ls", "-q").out.split() == ["x"]
    assert [r["status"] for r in ls_json(msb)] == ["Running"]
    assert sandbox_dirs(msb) == ["x"]
    assert msb.ok("exec", "x", "--", "echo", "one").out == "one\n"
    supervisor_tree(msb, "x")  # exactly one supervisor


def test_concurrent_first_use_of_a_home(msb):
    """The very first commands on a fresh MSB_HOME may run in parallel too:
    every racer either wins or gets the clear "already exists" error, never
    a state-database failure. Repeated on fresh homes because the window is
    small."""
    st = os.stat(msb.home)
    homes = []
    try:
        for i in range(10):
            sub = os.path.join(msb.home, "h%d" % i)
            os.mkdir(sub, 0o700)
            os.chown(sub, st.st_uid, st.st_gid)
            m = type(msb)(sub, msb.mode)
            homes.append(m)
            procs = [
                m.popen("create", "host", "--name", "x", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for _ in range(4)
            ]
            res = []
            for p in procs:
                out, err = p.communicate(timeout=60)
                res.append((p.returncode, err.decode()))
            assert [r[0] for r in res].count(0) == 1, (i, res)
            for code, err in res:
                assert code == 0 or (code == 1 and "already exists" in err), (i, res)
            assert m.ok("ls", "-q").out.split() == ["x"]
    finally:
        for m in homes:
            for name in m.run("ls", "-q").out.split():
                m.run("rm", "-f", name)


def test_concurrent_creates_distinct_names(msb):
    names = ["p%d" % i for i in range(4)]
    procs = [msb.popen("create", "host", "--name", n, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for n in names]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    assert sorted(msb.ok("ls", "-q").out.split()) == names
    for n in names:
        assert msb.ok("exec", n, "--", "hostname").out == n + "\n"


# -- supervisor crash ------------------------------------------------------------------

def test_supervisor_sigkill_leaves_nothing_and_shows_crashed(msb):
    tag = "1000.%d" % (uuid.uuid4().int % 10**6)  # unique sleep argument
    p = msb.run("run", "-d", "--name", "x", "host", "--", "sleep", tag)
    assert p.returncode == 0, p.err
    assert wait_until(lambda: host_pids("sleep " + tag), 5), "workload never started"
    # and one started by exec, in the background
    msb.ok("exec", "x", "--", "sh", "-c", "sleep %s1 >/dev/null 2>&1 &" % tag)
    assert wait_until(lambda: host_pids("sleep %s1" % tag), 5)

    sup, tree = supervisor_tree(msb, "x")
    assert len(tree) >= 3, tree
    os.kill(sup, signal.SIGKILL)

    gone = wait_until(lambda: not any(live(p) for p in tree), 5)
    assert gone, "still alive: %s" % {p: host_procs().get(p) for p in tree if live(p)}
    assert not host_pids("sleep " + tag)

    # the sandbox is dead: the next look must say so (even while the dead
    # supervisor is still an unreaped zombie of its parent)
    sup_state = host_procs().get(sup, (None, "gone", ""))[1]
    assert status_of(msb, "x") == "Crashed", "supervisor %d state: %s" % (sup, sup_state)
    assert json.loads(msb.ok("inspect", "x", "--format", "json").out)["status"] == "Crashed"
    assert msb.ok("ps", "-q").out == ""

    # and it can be started again
    msb.ok("start", "x")
    assert status_of(msb, "x") == "Running"
    assert msb.ok("exec", "x", "--", "echo", "back").out == "back\n"


def test_quick_restarts_keep_the_sandbox_usable(msb):
    """Stop returns only when the old namespaces are gone: an immediate start can mount the same
    layers and bind the control socket, over and over."""
    msb.ok("create", "host", "--name", "rr")
    msb.ok("exec", "rr", "--", "sh", "-c", "echo kept > /root/k")
    for _ in range(5):
        msb.ok("restart", "rr")
        assert msb.ok("exec", "rr", "--", "cat", "/root/k").out == "kept\n"


def test_each_root_sandbox_has_its_own_id_range(msb):
    if msb.mode != "root":
        pytest.skip("rootless sandboxes all use the user's one subordinate range")
    ids = []
    for n in ("ida", "idb"):
        msb.ok("create", "host", "--name", n)
        msb.ok("exec", n, "--", "touch", "/root/owned")
        ids.append(os.stat(os.path.join(msb.home, "sandboxes", n, "fs", "upper", "root", "owned")).st_uid)
    assert ids[0] != ids[1], ids
    assert all(i >= 1000000000 for i in ids), ids


def test_concurrent_replace_leaves_one_tracked_sandbox(msb):
    """Racing `create --replace` of one name take turns: one sandbox remains, tracked, and removable."""
    procs = [msb.popen("create", "host", "--name", "rep", "--replace", "-q",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(6)]
    for p in procs:
        p.communicate(timeout=120)
    assert msb.ok("ls", "-q").out.split() == ["rep"]
    sup, tree = supervisor_tree(msb, "rep")
    assert len([p for p in supervisors(msb) if p not in tree]) == 0, "an untracked supervisor survived"
    msb.ok("rm", "-f", "rep")
    assert wait_until(lambda: not supervisors(msb), 5)
