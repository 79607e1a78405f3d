// SPDX-License-Identifier: Apache-2.0
/*
 * session.c - attach this terminal (or these pipes) to a command running in
 * a sandbox: stdin streams in, stdout/stderr stream out as they arrive, the
 * window size follows SIGWINCH, and with a pty the local terminal is in raw
 * mode so ^C and line editing happen in the sandbox. Without a pty, SIGINT,
 * SIGTERM and SIGHUP are forwarded to the command.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static struct termios saved_tio;
static bool raw_on;

static void restore_tty(void)
{
	if (raw_on)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
	raw_on = false;
}

static void raw_mode(void)
{
	struct termios t;
	if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return;
	t = saved_tio;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) == 0) {
		raw_on = true;
		atexit(restore_tty);
	}
}

static int write_out(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int exit_status_for_error(const msb_error *err)
{
	if (err->code != MSB_ERR_EXEC)
		return EXIT_PRESTART;
	if (err->sys_errno == ENOENT)
		return EXIT_NOTFOUND;
	if (err->sys_errno == EACCES || err->sys_errno == EPERM || err->sys_errno == ENOEXEC ||
	    err->sys_errno == EISDIR || err->sys_errno == ETXTBSY)
		return EXIT_NOEXEC;
	return 1;
}

int cli_run_session(struct cli_session *s)
{
	msb_error err = {0};
	struct msb_exec_event ev;
	msb_exec *ex = NULL;
	bool stdin_open = s->forward_stdin, killed = false;
	unsigned long long deadline = 0;
	sigset_t mask;
	int sfd, status = -1;

	if (s->opts.tty && isatty(STDIN_FILENO)) {
		struct winsize ws;
		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row) {
			s->opts.rows = ws.ws_row;
			s->opts.cols = ws.ws_col;
		}
	}
	if (!s->forward_stdin)
		s->opts.stdin_null = 1;
	if (msb_exec_start(cli_ctx(), s->name, &s->opts, &ex, &err) < 0) {
		cli_error(&err);
		return exit_status_for_error(&err);
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGWINCH);
	if (!s->opts.tty) {
		sigaddset(&mask, SIGINT);
		sigaddset(&mask, SIGTERM);
		sigaddset(&mask, SIGHUP);
	}
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->opts.tty && s->forward_stdin && isatty(STDIN_FILENO))
		raw_mode();
	if (s->timeout_s)
		deadline = (unsigned long long)time(NULL) * 1000ULL + s->timeout_s * 1000ULL;

	while (status < 0) {
		struct pollfd p[3] = {{.fd = msb_exec_fd(ex), .events = POLLIN},
				      {.fd = sfd, .events = POLLIN},
				      {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN}};
		int wait = -1, r;
		if (deadline) {
			unsigned long long now = (unsigned long long)time(NULL) * 1000ULL;
			wait = now >= deadline ? 0 : (int)(deadline - now);
		}
		/* drain whatever is already buffered before sleeping */
		while ((r = msb_exec_next(ex, &ev, 0, &err)) == 1) {
			if (ev.type == MSB_EV_STDOUT)
				write_out(STDOUT_FILENO, ev.data, ev.len);
			else if (ev.type == MSB_EV_STDERR)
				write_out(STDERR_FILENO, ev.data, ev.len);
			else if (ev.type == MSB_EV_EXITED) {
				status = ev.signal ? 128 + ev.signal : ev.exit_code;
				break;
			}
		}
		if (r < 0) {
			restore_tty();
			cli_error(&err);
			status = EXIT_MSB;
			break;
		}
		if (status >= 0)
			break;
		r = poll(p, 3, wait);
		if (r == 0 && deadline) {
			msb_exec_signal(ex, SIGKILL, NULL);
			killed = true;
			deadline = (unsigned long long)time(NULL) * 1000ULL + 5000;
			continue;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				struct winsize ws;
				if (si.ssi_signo == SIGWINCH && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
					msb_exec_resize(ex, ws.ws_row, ws.ws_col, NULL);
				else if (si.ssi_signo != SIGWINCH)
					msb_exec_signal(ex, (int)si.ssi_signo, NULL);
			}
		}
		if (stdin_open && (p[2].revents & (POLLIN | POLLHUP | POLLERR))) {
			char buf[65536];
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n > 0) {
				msb_exec_write_stdin(ex, buf, (size_t)n, NULL);
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				stdin_open = false;
				msb_exec_close_stdin(ex, NULL);
			}
		}
	}
	restore_tty();
	msb_exec_free(ex);
	close(sfd);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
	if (killed) {
		cli_errorf("%s after %llus", s->timeout_msg ? s->timeout_msg : "command timed out", s->timeout_s);
		return EXIT_TIMEOUT;
	}
	return status;
}
