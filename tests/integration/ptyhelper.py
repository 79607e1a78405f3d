# SPDX-License-Identifier: Apache-2.0
"""Drive msb on a pseudo-terminal from a test.

PtySession starts `msb ARGS` (as root or as the test user, through the
conftest runner's argv/env) with stdin, stdout and stderr on the slave side
of a fresh pty that is also its controlling terminal, so msb sees a real
interactive terminal: raw mode, window size, SIGWINCH. The test writes
keystrokes to the master side and reads everything msb prints.
"""
import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time


def set_winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class PtySession:
    def __init__(self, msb, *args, rows=24, cols=80, env=None):
        self.master, slave = pty.openpty()
        set_winsize(self.master, rows, cols)

        def make_ctty():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        full_env = msb.env(dict({"TERM": "xterm"}, **(env or {})))
        argv = msb.argv(args, dict({"TERM": "xterm"}, **(env or {})))
        self.proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=full_env,
            cwd="/tmp",
            preexec_fn=make_ctty,
            close_fds=True,
        )
        os.close(slave)
        self.buf = b""  # everything read so far
        self.pos = 0  # expect() searches from here
        self.eof = False

    # -- input/output -------------------------------------------------------
    def _read(self, timeout):
        """Read what is available within timeout; return False at EOF."""
        if self.eof:
            return False
        r, _, _ = select.select([self.master], [], [], max(0.0, timeout))
        if not r:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the last slave fd is closed
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        os.write(self.master, data)

    def expect(self, pattern, timeout=5.0):
        """Wait until `pattern` (bytes regex) matches output after the last
        match; return the match. Fails with the output seen so far."""
        if isinstance(pattern, str):
            pattern = pattern.encode()
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0 or (not self._read(min(left, 0.2)) and self.eof):
                raise AssertionError(
                    "pty: %r not seen within %.1fs; output after last match: %r"
                    % (pattern, timeout, self.buf[self.pos:])
                )

    def resize(self, rows, cols):
        set_winsize(self.master, rows, cols)

    def text(self):
        return self.buf.decode("utf-8", "replace")

    # -- end ------------------------------------------------------------------
    def wait(self, timeout=10.0):
        """Drain output until msb exits; return its exit status."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.1)
        while self._read(0.05):  # whatever is still buffered
            pass
        return self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))

    def close(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.close(self.master)
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
