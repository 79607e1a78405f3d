# SPDX-License-Identifier: Apache-2.0
"""msb cp (host <-> sandbox, docker cp semantics) and msb logs (exec.log:
human view, --tail, --json, --source)."""
import json
import os
import re
import stat

import pytest


@pytest.fixture
def dev(msb):
    p = msb.run("create", "host", "--name", "dev")
    assert p.returncode == 0, p.err
    return "dev"


def own(msb, *paths):
    """Give host paths (recursively) to the user msb runs as."""
    uid = msb.host_uid()
    gid = os.stat(msb.home).st_gid
    for top in paths:
        os.lchown(top, uid, gid)
        if os.path.isdir(top) and not os.path.islink(top):
            for root, dirs, files in os.walk(top):
                for n in dirs + files:
                    os.lchown(os.path.join(root, n), uid, gid)


def write(path, data, mode):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def guest_stat(msb, path):
    """(octal mode, size, file type) of a path in the sandbox."""
    p = msb.ok("exec", "dev", "--", "stat", "-c", "%a %s %F", path)
    mode, size, kind = p.out.strip().split(" ", 2)
    return mode, int(size), kind


def guest_read(msb, path):
    return msb.ok("exec", "dev", "--", "cat", path).stdout


def make_tree(top):
    """A small tree with nested dirs, modes, an empty dir, a binary file and a symlink."""
    os.makedirs(os.path.join(top, "sub", "deeper"))
    os.makedirs(os.path.join(top, "empty"))
    write(os.path.join(top, "a.txt"), b"alpha\n", 0o644)
    write(os.path.join(top, "sub", "b.bin"), bytes(range(256)) * 64, 0o600)
    write(os.path.join(top, "sub", "deeper", "run.sh"), b"#!/bin/sh\necho ran\n", 0o755)
    os.chmod(os.path.join(top, "sub"), 0o750)
    os.symlink("a.txt", os.path.join(top, "link"))


def assert_tree(msb, top):
    """Check the tree of make_tree() at top inside the sandbox."""
    assert guest_read(msb, top + "/a.txt") == b"alpha\n"
    assert guest_read(msb, top + "/sub/b.bin") == bytes(range(256)) * 64
    assert guest_stat(msb, top + "/sub/b.bin")[0] == "600"
    assert guest_stat(msb, top + "/sub")[0] == "750"
    assert guest_stat(msb, top + "/sub/deeper/run.sh")[0] == "755"
    assert guest_stat(msb, top + "/empty")[2] == "directory"
    assert msb.ok("exec", "dev", "--", top + "/sub/deeper/run.sh").out == "ran\n"
    assert msb.ok("exec", "dev", "--", "readlink", top + "/link").out == "a.txt\n"


# -- host -> sandbox -> host -------------------------------------------------------

def test_cp_file_roundtrip(msb, dev, scratch):
    src = os.path.join(scratch, "f")
    data = os.urandom(300 * 1024) + b"tail"
    write(src, data, 0o640)
    own(msb, src)
    p = msb.run("cp", src, "dev:/tmp/f")
    assert p.returncode == 0, p.err
    assert p.out == ""
    assert guest_read(msb, "/tmp/f") == data
    assert guest_stat(msb, "/tmp/f")[:2] == ("640", len(data))

    back = os.path.join(scratch, "g")
    p = msb.run("cp", "dev:/tmp/f", back)
    assert p.returncode == 0, p.err
    with open(back, "rb") as f:
        assert f.read() == data
    st = os.stat(back)
    assert stat.S_IMODE(st.st_mode) == 0o640
    # the copy lands as the user who ran msb, not as a sandbox uid
    assert st.st_uid == msb.host_uid()


def test_cp_file_made_in_sandbox(msb, dev, scratch):
    msb.ok("exec", "dev", "--", "sh", "-c", "printf 'made inside' > /root/m; chmod 604 /root/m")
    dst = os.path.join(scratch, "m")
    msb.ok("cp", "dev:/root/m", dst)
    with open(dst, "rb") as f:
        assert f.read() == b"made inside"
    st = os.stat(dst)
    assert stat.S_IMODE(st.st_mode) == 0o604
    assert st.st_uid == msb.host_uid()


def test_cp_overwrites_existing_file(msb, dev, scratch):
    msb.ok("exec", "dev", "--", "sh", "-c", "echo old-old-old-old > /tmp/f")
    src = os.path.join(scratch, "f")
    write(src, b"new\n", 0o644)
    own(msb, src)
    msb.ok("cp", src, "dev:/tmp/f")
    assert guest_read(msb, "/tmp/f") == b"new\n"


def test_cp_empty_file(msb, dev, scratch):
    src = os.path.join(scratch, "empty")
    write(src, b"", 0o644)
    own(msb, src)
    msb.ok("cp", src, "dev:/tmp/empty")
    assert guest_stat(msb, "/tmp/empty")[1] == 0
    back = os.path.join(scratch, "empty2")
    msb.ok("cp", "dev:/tmp/empty", back)
    assert os.path.getsize(back) == 0


def test_cp_directory_tree(msb, dev, scratch):
    src = os.path.join(scratch, "tree")
    make_tree(src)
    own(msb, src)
    p = msb.run("cp", src, "dev:/tmp/tree")
    assert p.returncode == 0, p.err
    assert_tree(msb, "/tmp/tree")

    back = os.path.join(scratch, "back")
    p = msb.run("cp", "dev:/tmp/tree", back)
    assert p.returncode == 0, p.err
    for rel in ("a.txt", "sub/b.bin", "sub/deeper/run.sh"):
        with open(os.path.join(src, rel), "rb") as a, open(os.path.join(back, rel), "rb") as b:
            assert a.read() == b.read(), rel
        assert stat.S_IMODE(os.stat(os.path.join(back, rel)).st_mode) == stat.S_IMODE(
            os.stat(os.path.join(src, rel)).st_mode), rel
    assert stat.S_IMODE(os.stat(os.path.join(back, "sub")).st_mode) == 0o750
    assert os.path.isdir(os.path.join(back, "empty"))
    assert os.path.islink(os.path.join(back, "link"))
    assert os.readlink(os.path.join(back, "link")) == "a.txt"
    for root, dirs, files in os.walk(back):
        for n in dirs + files:
            assert os.lstat(os.path.join(root, n)).st_uid == msb.host_uid(), n


def test_cp_into_existing_directory(msb, dev, scratch):
    f = os.path.join(scratch, "f.txt")
    write(f, b"file\n", 0o644)
    tree = os.path.join(scratch, "tree")
    make_tree(tree)
    own(msb, f, tree)
    msb.ok("exec", "dev", "--", "mkdir", "/tmp/into")
    # host -> existing sandbox dir: lands under the source's basename
    msb.ok("cp", f, "dev:/tmp/into")
    msb.ok("cp", tree, "dev:/tmp/into")
    assert guest_read(msb, "/tmp/into/f.txt") == b"file\n"
    assert_tree(msb, "/tmp/into/tree")
    assert msb.ok("exec", "dev", "--", "ls", "/tmp/into").out.split() == ["f.txt", "tree"]
    # sandbox -> existing host dir: the same
    hostdir = os.path.join(scratch, "hostdir")
    os.mkdir(hostdir)
    own(msb, hostdir)
    msb.ok("cp", "dev:/tmp/into/f.txt", hostdir)
    msb.ok("cp", "dev:/tmp/into/tree", hostdir)
    assert sorted(os.listdir(hostdir)) == ["f.txt", "tree"]
    with open(os.path.join(hostdir, "f.txt"), "rb") as fh:
        assert fh.read() == b"file\n"
    with open(os.path.join(hostdir, "tree", "sub", "b.bin"), "rb") as fh:
        assert fh.read() == bytes(range(256)) * 64


def test_cp_does_not_follow_guest_symlink_out_of_sandbox(msb, dev, scratch):
    # a symlink planted in the sandbox pointing at a host path must be copied
    # as a link, not dereferenced on the host
    secret = os.path.join(scratch, "host-secret")
    write(secret, b"host only\n", 0o600)
    own(msb, secret)  # readable by msb in both modes, so only msb's care protects it
    msb.ok("exec", "dev", "--", "ln", "-s", secret, "/tmp/evil")
    dst = os.path.join(scratch, "evil-copy")
    p = msb.run("cp", "dev:/tmp/evil", dst)
    assert p.returncode == 0, p.err  # symlinks are copied as symlinks
    assert os.path.islink(dst) and os.readlink(dst) == secret
    # and copying *into* the link does not write the host file
    src = os.path.join(scratch, "payload")
    write(src, b"overwritten\n", 0o644)
    own(msb, src)
    msb.run("cp", src, "dev:/tmp/evil")
    with open(secret, "rb") as f:
        assert f.read() == b"host only\n"


def test_cp_with_stopped_sandbox(msb, dev, scratch):
    # like exec, cp starts a stopped sandbox for the copy and stops it again
    msb.ok("exec", "dev", "--", "sh", "-c", "echo kept > /root/k")
    msb.ok("stop", "dev")
    src = os.path.join(scratch, "in")
    write(src, b"while stopped\n", 0o644)
    own(msb, src)
    p = msb.run("cp", src, "dev:/root/in")
    assert p.returncode == 0, p.err
    out = os.path.join(scratch, "k")
    p = msb.run("cp", "dev:/root/k", out)
    assert p.returncode == 0, p.err
    with open(out, "rb") as f:
        assert f.read() == b"kept\n"
    assert msb.ok("ps", "-q").out == ""  # stopped again
    msb.ok("start", "dev")
    assert guest_read(msb, "/root/in") == b"while stopped\n"


# -- errors --------------------------------------------------------------------------

def test_cp_missing_host_source(msb, dev, scratch):
    missing = os.path.join(scratch, "nope")
    p = msb.run("cp", missing, "dev:/tmp/x")
    assert p.returncode == 1, (p.out, p.err)
    assert missing in p.err
    assert msb.run("exec", "dev", "--", "test", "-e", "/tmp/x").returncode == 1


def test_cp_missing_sandbox_source(msb, dev, scratch):
    dst = os.path.join(scratch, "x")
    p = msb.run("cp", "dev:/no/such/file", dst)
    assert p.returncode == 1, (p.out, p.err)
    assert "/no/such/file" in p.err
    assert not os.path.exists(dst)


def test_cp_relative_sandbox_path_rejected(msb, dev, scratch):
    src = os.path.join(scratch, "f")
    write(src, b"x", 0o644)
    own(msb, src)
    p = msb.run("cp", src, "dev:tmp/x")
    assert p.returncode in (1, 2), (p.out, p.err)
    assert "dev:tmp/x" in p.err and "absolute" in p.err
    p = msb.run("cp", "dev:tmp/x", os.path.join(scratch, "y"))
    assert p.returncode in (1, 2), (p.out, p.err)
    assert "absolute" in p.err
    assert not os.path.exists(os.path.join(scratch, "y"))


def test_cp_needs_a_sandbox_endpoint(msb, scratch):
    src = os.path.join(scratch, "f")
    write(src, b"x", 0o644)
    own(msb, src)
    p = msb.run("cp", src, os.path.join(scratch, "g"))
    assert p.returncode in (1, 2), (p.out, p.err)
    assert "sandbox" in p.err
    assert not os.path.exists(os.path.join(scratch, "g"))


def test_cp_unknown_sandbox(msb, scratch):
    src = os.path.join(scratch, "f")
    write(src, b"x", 0o644)
    own(msb, src)
    p = msb.run("cp", src, "ghost:/tmp/f")
    assert p.returncode == 1, (p.out, p.err)
    assert "ghost" in p.err and "not found" in p.err


def test_cp_into_missing_sandbox_dir(msb, dev, scratch):
    src = os.path.join(scratch, "f")
    write(src, b"x", 0o644)
    own(msb, src)
    p = msb.run("cp", src, "dev:/no/such/dir/f")
    assert p.returncode == 1, (p.out, p.err)
    assert "/no/such/dir" in p.err


# -- logs ------------------------------------------------------------------------------

def test_logs_show_exec_output(msb, dev):
    msb.ok("exec", "dev", "--", "echo", "first-line")
    msb.ok("exec", "dev", "--", "sh", "-c", "echo to-stdout; echo to-stderr >&2")
    msb.ok("exec", "dev", "--", "echo", "last-line")
    p = msb.ok("logs", "dev")
    lines = p.out.splitlines()
    for want in ("first-line", "to-stdout", "to-stderr", "last-line"):
        assert want in lines, p.out
    assert lines.index("first-line") < lines.index("to-stdout") < lines.index("last-line")
    assert lines[-1] == "last-line"


def test_logs_tail(msb, dev):
    for i in range(5):
        msb.ok("exec", "dev", "--", "echo", "line%d" % i)
    assert msb.ok("logs", "--tail", "2", "dev").out == "line3\nline4\n"
    assert msb.ok("logs", "--tail", "1", "dev").out == "line4\n"
    assert msb.ok("logs", "--tail", "100", "dev").out.splitlines()[-5:] == ["line%d" % i for i in range(5)]


def test_logs_json(msb, dev):
    msb.ok("exec", "dev", "--", "sh", "-c", "echo jout; echo jerr >&2")
    msb.ok("exec", "dev", "--", "echo", "second")
    p = msb.ok("logs", "--json", "dev")
    entries = [json.loads(l) for l in p.out.splitlines()]
    assert entries, p.out
    for e in entries:
        assert set(e) == {"t", "s", "d", "id", "e"}, e
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e["t"]), e
        assert e["s"] in ("stdout", "stderr", "output", "system"), e
    by_d = {e["d"]: e for e in entries}
    assert by_d["jout\n"]["s"] == "stdout"
    assert by_d["jerr\n"]["s"] == "stderr"
    assert by_d["second\n"]["s"] == "stdout"
    assert isinstance(by_d["jout\n"]["id"], int)
    assert by_d["jout\n"]["id"] == by_d["jerr\n"]["id"]  # one session
    assert by_d["second\n"]["id"] > by_d["jout\n"]["id"]
    assert by_d["jout\n"]["e"] is None


def test_logs_source_filter(msb, dev):
    msb.ok("exec", "dev", "--", "sh", "-c", "echo only-out; echo only-err >&2")
    p = msb.ok("logs", "--source", "stderr", "dev")
    assert "only-err" in p.out
    assert "only-out" not in p.out
    p = msb.ok("logs", "--source", "stdout", "dev")
    assert "only-out" in p.out
    assert "only-err" not in p.out
    js = [json.loads(l) for l in msb.ok("logs", "--json", "--source", "stderr", "dev").out.splitlines()]
    assert js and all(e["s"] == "stderr" for e in js)


def test_logs_binary_output_roundtrip(msb, dev):
    msb.ok("exec", "dev", "--", "printf", "\\377\\376bin\\n")
    p = msb.ok("logs", "dev")
    assert b"\xff\xfebin\n" in p.stdout


def test_logs_survive_stop(msb, dev):
    msb.ok("exec", "dev", "--", "echo", "before-stop")
    msb.ok("stop", "dev")
    assert "before-stop" in msb.ok("logs", "dev").out.splitlines()


def test_logs_unknown_sandbox(msb):
    p = msb.run("logs", "ghost")
    assert p.returncode == 1
    assert "ghost" in p.err
