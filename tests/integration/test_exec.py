# SPDX-License-Identifier: Apache-2.0
"""msb exec: output, exit codes, stdin, env, workdir, user, big streams,
timeouts and interactive pty sessions, against a running `host` sandbox."""
import hashlib
import os
import re
import time
import uuid

import pytest

from ptyhelper import PtySession


def host_pids(needle):
    """Pids of live (non-zombie) host processes whose command line contains needle."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ")
            with open("/proc/%s/stat" % d) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and needle.encode() in cmd:
            pids.append(int(d))
    return pids


def wait_until(pred, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


@pytest.fixture
def dev(msb):
    p = msb.run("create", "host", "--name", "dev")
    assert p.returncode == 0, p.err
    return "dev"


# -- output and exit codes ---------------------------------------------------

def test_exec_prints_output(msb, dev):
    p = msb.run("exec", "dev", "--", "python3", "-c", "print(6*7)")
    assert p.returncode == 0, p.err
    assert p.out == "42\n"


def test_exec_separates_stdout_and_stderr(msb, dev):
    p = msb.run("exec", "dev", "--", "sh", "-c", "echo out; echo err >&2; exit 0")
    assert p.returncode == 0, p.err
    assert p.out == "out\n"
    assert "err\n" in p.err
    assert "out" not in p.err


@pytest.mark.parametrize(
    "cmd,code",
    [
        (["sh", "-c", "exit 3"], 3),
        (["sh", "-c", "exit 255"], 255),
        (["false"], 1),
        (["sh", "-c", "kill -9 $$"], 128 + 9),
        (["sh", "-c", "kill -TERM $$"], 128 + 15),
        (["sh", "-c", "kill -INT $$"], 128 + 2),
    ],
    ids=["exit3", "exit255", "false", "sigkill", "sigterm", "sigint"],
)
def test_exec_exit_code_propagates(msb, dev, cmd, code):
    p = msb.run("exec", "dev", "--", *cmd)
    assert p.returncode == code, (p.out, p.err)


def test_exec_command_not_found_is_127(msb, dev):
    p = msb.run("exec", "dev", "--", "no-such-command-msbit")
    assert p.returncode == 127, (p.out, p.err)
    assert "no-such-command-msbit" in p.err
    assert p.out == ""


@pytest.mark.parametrize("path", ["/etc/passwd", "/tmp"], ids=["regular-file", "directory"])
def test_exec_not_executable_is_126(msb, dev, path):
    p = msb.run("exec", "dev", "--", path)
    assert p.returncode == 126, (p.out, p.err)
    assert path in p.err


def test_exec_unknown_sandbox(msb):
    p = msb.run("exec", "nosuch", "--", "true")
    assert p.returncode == 1, (p.out, p.err)
    assert "nosuch" in p.err and "not found" in p.err


def test_exec_sandbox_survives_failed_commands(msb, dev):
    for cmd in (["sh", "-c", "kill -9 $$"], ["no-such-command-msbit"]):
        msb.run("exec", "dev", "--", *cmd)
    p = msb.run("exec", "dev", "--", "echo", "still-here")
    assert p.returncode == 0 and p.out == "still-here\n", p.err


# -- stdin ---------------------------------------------------------------------

def test_exec_stdin_streamed(msb, dev):
    p = msb.run("exec", "dev", "--", "wc", "-c", input=b"abc")
    assert p.returncode == 0, p.err
    assert p.out.strip() == "3"


def test_exec_empty_stdin_gives_eof(msb, dev):
    p = msb.run("exec", "dev", "--", "wc", "-c", input=b"", timeout=15)
    assert p.returncode == 0, p.err
    assert p.out.strip() == "0"


def test_exec_large_stdin_roundtrip(msb, dev):
    data = os.urandom(6 * 1024 * 1024 + 12345)
    p = msb.run("exec", "dev", "--", "cat", input=data, timeout=60)
    assert p.returncode == 0, p.err
    assert len(p.stdout) == len(data)
    assert p.stdout == data
    p = msb.run("exec", "dev", "--", "sha256sum", input=data, timeout=60)
    assert p.returncode == 0, p.err
    assert p.out.split()[0] == hashlib.sha256(data).hexdigest()


def test_exec_large_stdout_intact(msb, dev):
    n = 20 * 1024 * 1024
    script = "import sys\nb = bytes(range(256)) * 4096\nfor _ in range(%d):\n    sys.stdout.buffer.write(b)\n" % (
        n // (256 * 4096)
    )
    p = msb.run("exec", "dev", "--", "python3", "-c", script, timeout=60)
    assert p.returncode == 0, p.err
    assert len(p.stdout) == n
    assert p.stdout == bytes(range(256)) * (n // 256)


def test_exec_large_stderr_intact(msb, dev):
    n = 3 * 1024 * 1024
    p = msb.run("exec", "dev", "--", "sh", "-c", "head -c %d /dev/zero | tr '\\0' e >&2; echo done" % n, timeout=60)
    assert p.returncode == 0
    assert p.out == "done\n"
    assert len(p.stderr) == n
    assert p.stderr == b"e" * n


# -- env, workdir, user -----------------------------------------------------------

def test_exec_env(msb, dev):
    p = msb.run(
        "exec", "-e", "A=1", "-e", "B=x=y", "-e", "C=with space", "dev", "--",
        "sh", "-c", 'printf "%s|%s|%s\\n" "$A" "$B" "$C"',
    )
    assert p.returncode == 0, p.err
    assert p.out == "1|x=y|with space\n"


def test_exec_env_bare_key_copies_host_value(msb, dev):
    p = msb.run("exec", "-e", "MSBIT_HOSTVAR", "dev", "--", "sh", "-c", 'echo "[$MSBIT_HOSTVAR]"',
                env={"MSBIT_HOSTVAR": "from host"})
    assert p.returncode == 0, p.err
    assert p.out == "[from host]\n"


def test_exec_env_bare_key_unset_is_an_error(msb, dev):
    p = msb.run("exec", "-e", "MSBIT_SURELY_UNSET", "dev", "--", "true")
    assert p.returncode == 1, (p.out, p.err)
    assert "MSBIT_SURELY_UNSET" in p.err and "not set" in p.err


def test_exec_env_does_not_leak_host_env(msb, dev):
    p = msb.run("exec", "dev", "--", "env", env={"MSBIT_SECRET": "leak"})
    assert p.returncode == 0, p.err
    assert "MSBIT_SECRET" not in p.out
    assert "MSB_HOME" not in p.out


def test_sandbox_env_and_workdir_defaults(msb):
    msb.ok("create", "host", "--name", "d2", "-e", "FOO=sandbox", "-e", "KEEP=k", "-w", "/tmp")
    p = msb.ok("exec", "d2", "--", "sh", "-c", 'echo "$FOO $KEEP"; pwd')
    assert p.out == "sandbox k\n/tmp\n"
    # exec-level values win over the sandbox defaults
    p = msb.ok("exec", "-e", "FOO=exec", "-w", "/usr", "d2", "--", "sh", "-c", 'echo "$FOO $KEEP"; pwd')
    assert p.out == "exec k\n/usr\n"


def test_exec_workdir(msb, dev):
    assert msb.ok("exec", "dev", "--", "pwd").out == "/\n"
    assert msb.ok("exec", "-w", "/tmp", "dev", "--", "pwd").out == "/tmp\n"
    assert msb.ok("exec", "--workdir", "/usr/bin", "dev", "--", "pwd").out == "/usr/bin\n"


def test_exec_workdir_missing_fails(msb, dev):
    p = msb.run("exec", "-w", "/no/such/dir", "dev", "--", "pwd")
    assert p.returncode != 0
    assert p.out == ""
    assert "/no/such/dir" in p.err


def test_exec_user(msb, dev):
    assert msb.ok("exec", "dev", "--", "id", "-u").out == "0\n"
    assert msb.ok("exec", "-u", "1000", "dev", "--", "id", "-u").out == "1000\n"
    p = msb.ok("exec", "-u", "nobody", "dev", "--", "sh", "-c", "id -un; id -u")
    assert p.out == "nobody\n65534\n"
    p = msb.ok("exec", "-u", "1000:1000", "dev", "--", "sh", "-c", "id -u; id -g")
    assert p.out == "1000\n1000\n"
    # a numeric uid with no passwd entry is allowed
    assert msb.ok("exec", "-u", "4242", "dev", "--", "id", "-u").out == "4242\n"


def test_exec_user_cannot_write_root_files(msb, dev):
    p = msb.run("exec", "-u", "nobody", "dev", "--", "sh", "-c", "echo x > /root/f")
    assert p.returncode != 0
    assert msb.run("exec", "dev", "--", "test", "-e", "/root/f").returncode == 1


def test_exec_unknown_user_fails(msb, dev):
    p = msb.run("exec", "-u", "no-such-user", "dev", "--", "id")
    assert p.returncode != 0
    assert p.out == ""
    assert "no-such-user" in p.err


# -- timeout -------------------------------------------------------------------------

def test_exec_timeout(msb, dev):
    tag = "10.%d" % (uuid.uuid4().int % 10**6)  # a unique sleep argument
    t0 = time.monotonic()
    p = msb.run("exec", "dev", "--timeout", "2s", "--", "sleep", tag, timeout=30)
    elapsed = time.monotonic() - t0
    assert p.returncode == 124, (p.out, p.err)
    assert "timed out" in p.err
    assert 1.5 <= elapsed < 8, elapsed
    # the command was killed inside, not left running
    assert wait_until(lambda: not host_pids("sleep " + tag), 2), host_pids("sleep " + tag)
    # and the sandbox still works
    assert msb.ok("exec", "dev", "--", "echo", "ok").out == "ok\n"


def test_exec_timeout_not_reached(msb, dev):
    p = msb.run("exec", "dev", "--timeout", "5s", "--", "sh", "-c", "echo quick; exit 7")
    assert p.returncode == 7
    assert p.out == "quick\n"
    assert "timed out" not in p.err


def test_exec_timeout_invalid(msb, dev):
    p = msb.run("exec", "dev", "--timeout", "soon", "--", "true")
    assert p.returncode in (1, 2), (p.out, p.err)
    assert "soon" in p.err


# -- interactive pty -------------------------------------------------------------------

PROMPT = rb"[#$] $"


def test_pty_interactive_shell(msb, dev):
    with PtySession(msb, "exec", "-t", "dev", "--", "sh", rows=33, cols=111) as s:
        s.expect(PROMPT, timeout=10)
        s.send("echo $((6*7))\n")
        s.expect(rb"\r?\n42\r?\n")
        s.expect(PROMPT)
        # the window size of our terminal is the sandbox terminal's size
        s.send("stty size\n")
        s.expect(rb"\r?\n33 111\r?\n")
        s.expect(PROMPT)
        # the terminal is a real tty inside
        s.send("tty\n")
        s.expect(rb"\r?\n/dev/pts/\d+\r?\n")
        s.expect(PROMPT)
        # line editing happens in the sandbox's terminal: DEL erases a char
        s.send("echo abX\x7fc\n")
        s.expect(rb"\r?\nabc\r?\n")
        s.expect(PROMPT)
        s.send("exit 5\n")
        assert s.wait(10) == 5, s.text()


def test_pty_resize_propagates(msb, dev):
    with PtySession(msb, "exec", "-t", "dev", "--", "sh", rows=24, cols=80) as s:
        s.expect(PROMPT, timeout=10)
        s.send("stty size\n")
        s.expect(rb"\r?\n24 80\r?\n")
        s.expect(PROMPT)
        s.resize(40, 100)
        seen = False
        for _ in range(10):
            time.sleep(0.2)
            s.send("stty size\n")
            m = s.expect(rb"\r?\n(\d+ \d+)\r?\n")
            s.expect(PROMPT)
            if m.group(1) == b"40 100":
                seen = True
                break
        assert seen, "window size change never reached the sandbox: %r" % s.text()
        s.send("exit\n")
        assert s.wait(10) == 0


def test_pty_ctrl_c_interrupts_child_not_msb(msb, dev):
    with PtySession(msb, "exec", "-t", "dev", "--", "sh") as s:
        s.expect(PROMPT, timeout=10)
        s.send("sleep 30; echo slept\n")
        s.expect(rb"sleep 30; echo slept\r?\n")
        time.sleep(0.5)  # let sleep start
        t0 = time.monotonic()
        s.send("\x03")
        s.expect(PROMPT, timeout=5)
        assert time.monotonic() - t0 < 5
        assert s.proc.poll() is None, "msb itself died on ^C"
        s.send("echo after$((1+1))\n")
        s.expect(rb"\r?\nafter2\r?\n")
        assert not re.search(rb"\nslept\r?\n", s.buf), s.text()  # the list was interrupted
        s.send("exit 0\n")
        assert s.wait(10) == 0


def test_pty_auto_when_stdin_is_terminal(msb, dev):
    # no -t: a terminal on stdin is enough to get a pty inside
    with PtySession(msb, "exec", "dev", "--", "sh", "-c", "tty; stty size", rows=21, cols=77) as s:
        s.expect(rb"/dev/pts/\d+\r?\n")
        s.expect(rb"21 77\r?\n")
        assert s.wait(10) == 0


def test_pty_exit_status_and_output_of_command(msb, dev):
    with PtySession(msb, "exec", "-t", "dev", "--", "sh", "-c", "echo hi-from-pty; exit 9") as s:
        s.expect(rb"hi-from-pty\r?\n")
        assert s.wait(10) == 9


def test_no_tty_with_terminal_stdin(msb, dev):
    with PtySession(msb, "exec", "--no-tty", "dev", "--", "sh", "-c", "tty; cat; echo end") as s:
        s.expect(rb"not a tty")
        s.expect(rb"end")
        assert s.wait(10) == 0  # the status of `echo end`


def test_run_entrypoint_takes_the_args_after_dashdash(msb):
    p = msb.run("run", "--entrypoint", "echo", "host", "--", "a", "b")
    assert p.returncode == 0 and p.out == "a b\n", (p.out, p.err)
    p = msb.run("run", "--entrypoint", "no-such-program", "host")
    assert p.returncode == 127 and "no-such-program" in p.err
