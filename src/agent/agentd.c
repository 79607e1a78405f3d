// SPDX-License-Identifier: Apache-2.0
/*
 * agentd.c - PID 1 of a sandbox.
 *
 * Theory of operation: the supervisor builds the sandbox (namespaces, root,
 * mounts) and execs this static binary as PID 1 of the sandbox's PID
 * namespace, inside the nested user namespace, with one inherited fd: the
 * channel (fd 3). agentd announces itself with HELLO and then serves frames:
 * EXEC spawns a command (pipes or a pty), streams its output, forwards stdin,
 * resize and signals, and reports the exit status; FS_* frames read and write
 * files for `msb cp`; SHUTDOWN terminates every process and exits, which tears
 * the PID namespace down. As PID 1 it also reaps orphans.
 *
 * agentd sits on the untrusted side: it holds no secret and no capability over
 * the network or the mounts. It still validates every frame: the host is
 * trusted, but a malformed frame must never crash the sandbox's init.
 */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

#include "agent.h"
#include "proto.h"
#include "util.h"

#define CHANNEL_FD   3
#define MAX_SESSIONS 256
#define EXIT_GRACE_MS 200 /* after the command exits, how long to wait for its output pipes to close */

enum ev_kind { EV_CHANNEL = 1, EV_SIGNAL, EV_OUT, EV_ERR, EV_IN };

struct session {
	bool used;
	uint32_t id;
	pid_t pid;
	bool tty;
	int out_fd, err_fd, in_fd; /* in_fd == out_fd for a pty master */
	bool exited;
	int status;
	uint64_t exit_at;
	struct buf inq; /* stdin not yet written */
	bool in_close_pending;
	int put_fd; /* FS_PUT in progress */
	char *put_path;
};

static struct session sessions[MAX_SESSIONS];
static int epfd = -1;
static bool shutting_down;
static struct proto_enc out;
static struct agent_conf conf;

static uint64_t ev_tag(enum ev_kind k, int idx)
{
	return ((uint64_t)k << 32) | (uint32_t)idx;
}

static void send_flush(void)
{
	if (out.len && util_write_all(CHANNEL_FD, out.buf, out.len) < 0)
		_exit(1); /* host gone: nothing left to serve */
	proto_enc_reset(&out);
}

static void send_error(uint32_t session, const char *msg)
{
	proto_enc_begin(&out, PROTO_ERROR, session);
	proto_enc_str(&out, T_MSG, msg);
	proto_enc_end(&out);
	send_flush();
}

static void send_fs_err(uint32_t session, int e, const char *what)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(e));
	proto_enc_begin(&out, PROTO_FS_ERR, session);
	proto_enc_i32(&out, T_ERRNO, e);
	proto_enc_str(&out, T_MSG, msg);
	proto_enc_end(&out);
	send_flush();
}

static struct session *find_session(uint32_t id)
{
	for (int i = 0; i < MAX_SESSIONS; i++)
		if (sessions[i].used && sessions[i].id == id)
			return &sessions[i];
	return NULL;
}

static struct session *new_session(uint32_t id)
{
	if (find_session(id))
		return NULL;
	for (int i = 0; i < MAX_SESSIONS; i++) {
		if (!sessions[i].used) {
			struct session *s = &sessions[i];
			memset(s, 0, sizeof(*s));
			s->used = true;
			s->id = id;
			s->out_fd = s->err_fd = s->in_fd = s->put_fd = -1;
			return s;
		}
	}
	return NULL;
}

static int session_index(const struct session *s)
{
	return (int)(s - sessions);
}

static void close_fd_ep(int *fd)
{
	if (*fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, *fd, NULL);
		close(*fd);
	}
	*fd = -1;
}

static void session_free(struct session *s)
{
	if (s->in_fd == s->out_fd)
		s->in_fd = -1;
	close_fd_ep(&s->out_fd);
	close_fd_ep(&s->err_fd);
	close_fd_ep(&s->in_fd);
	if (s->put_fd >= 0)
		close(s->put_fd);
	free(s->put_path);
	buf_free(&s->inq);
	s->used = false;
}

/* Send EXITED once the process is reaped and its output drained (or the grace passed). */
static void session_maybe_finish(struct session *s, bool force)
{
	if (!s->exited || (!force && (s->out_fd >= 0 || s->err_fd >= 0)))
		return;
	proto_enc_begin(&out, PROTO_EXITED, s->id);
	if (WIFSIGNALED(s->status)) {
		proto_enc_i32(&out, T_CODE, -1);
		proto_enc_i32(&out, T_SIGNAL, WTERMSIG(s->status));
	} else {
		proto_enc_i32(&out, T_CODE, WEXITSTATUS(s->status));
		proto_enc_i32(&out, T_SIGNAL, 0);
	}
	proto_enc_end(&out);
	send_flush();
	session_free(s);
}

static void pump_output(struct session *s, int *fd, uint16_t type)
{
	static uint8_t chunk[PROTO_CHUNK];
	ssize_t n = read(*fd, chunk, sizeof(chunk));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) { /* EOF, or EIO on a pty master whose slave is closed */
		if (s->in_fd == *fd)
			s->in_fd = -1;
		close_fd_ep(fd);
		session_maybe_finish(s, false);
		return;
	}
	proto_enc_begin(&out, type, s->id);
	proto_enc_bytes(&out, T_DATA, chunk, (size_t)n);
	proto_enc_end(&out);
	send_flush();
}

static void update_in_interest(struct session *s)
{
	struct epoll_event ev = {.events = 0, .data.u64 = ev_tag(EV_IN, session_index(s))};
	if (s->in_fd < 0 || s->tty)
		return;
	if (s->inq.len)
		ev.events = EPOLLOUT;
	epoll_ctl(epfd, EPOLL_CTL_MOD, s->in_fd, &ev);
}

static void flush_stdin(struct session *s)
{
	while (s->inq.len && s->in_fd >= 0) {
		ssize_t n = write(s->in_fd, s->inq.data, s->inq.len);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			/* the command closed its stdin: drop what it will never read */
			s->inq.len = 0;
			break;
		}
		memmove(s->inq.data, s->inq.data + n, s->inq.len - (size_t)n);
		s->inq.len -= (size_t)n;
	}
	if (!s->inq.len && s->in_close_pending && !s->tty)
		close_fd_ep(&s->in_fd);
	else
		update_in_interest(s);
}

static void add_ep(int fd, enum ev_kind k, int idx, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.u64 = ev_tag(k, idx)};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		_exit(1);
}

static void handle_exec(const struct proto_msg *m)
{
	struct agent_exec_req req;
	struct agent_spawn_result res = {0};
	struct session *s = new_session(m->hdr.session);
	char msg[600];
	int r;

	if (!s) {
		send_error(m->hdr.session, "exec: session id in use or too many sessions");
		return;
	}
	r = agent_exec_req_decode(m, &req, msg, sizeof(msg));
	if (r == 0)
		r = agent_spawn(&conf, &req, &res, msg, sizeof(msg));
	agent_exec_req_free(&req);
	if (r < 0) {
		proto_enc_begin(&out, PROTO_FAILED, s->id);
		proto_enc_i32(&out, T_ERRNO, -r);
		proto_enc_str(&out, T_STAGE, res.stage ? res.stage : "request");
		proto_enc_str(&out, T_MSG, msg);
		proto_enc_end(&out);
		send_flush();
		s->used = false;
		return;
	}
	s->pid = res.pid;
	s->tty = res.tty;
	s->out_fd = res.out_fd;
	s->err_fd = res.err_fd;
	s->in_fd = res.in_fd;
	add_ep(s->out_fd, EV_OUT, session_index(s), EPOLLIN);
	if (s->err_fd >= 0)
		add_ep(s->err_fd, EV_ERR, session_index(s), EPOLLIN);
	if (s->in_fd >= 0 && !s->tty)
		add_ep(s->in_fd, EV_IN, session_index(s), 0);
	proto_enc_begin(&out, PROTO_STARTED, s->id);
	proto_enc_i32(&out, T_PID, s->pid);
	proto_enc_end(&out);
	send_flush();
}

static void handle_stdin(struct session *s, const struct proto_msg *m)
{
	const struct proto_field *f = proto_get(m, T_DATA);
	if (!f)
		return;
	if (f->len == 0) {
		if (s->tty) { /* a pty has no half-close: send the terminal's EOF character */
			buf_append(&s->inq, "\x04", 1);
		} else {
			s->in_close_pending = true;
		}
	} else if (s->in_fd >= 0) {
		buf_append(&s->inq, f->val, f->len);
	}
	if (s->tty) {
		if (s->in_fd >= 0 && s->inq.len)
			(void)!write(s->in_fd, s->inq.data, s->inq.len);
		s->inq.len = 0;
		return;
	}
	flush_stdin(s);
}

static void handle_session_msg(const struct proto_msg *m)
{
	struct session *s = find_session(m->hdr.session);
	uint32_t a = 0, b = 0;
	int32_t sig;

	if (!s)
		return; /* races with exit are normal: the session is already gone */
	switch (m->hdr.type) {
	case PROTO_STDIN:
		handle_stdin(s, m);
		break;
	case PROTO_RESIZE:
		if (s->tty && proto_get_u32(m, T_ROWS, &a) == 0 && proto_get_u32(m, T_COLS, &b) == 0) {
			struct winsize ws = {.ws_row = (unsigned short)a, .ws_col = (unsigned short)b};
			ioctl(s->out_fd, TIOCSWINSZ, &ws);
		}
		break;
	case PROTO_SIGNAL:
		if (proto_get_i32(m, T_SIGNAL, &sig) == 0 && sig > 0 && sig < 65 && s->pid > 0 && !s->exited)
			kill(-s->pid, sig);
		break;
	case PROTO_FS_DATA:
		agent_fs_put_data(s->id, &s->put_fd, &s->put_path, m, &out);
		send_flush();
		if (s->put_fd < 0)
			s->used = false;
		break;
	default:
		break;
	}
}

static void reap(void);

static void handle_frame(const struct proto_msg *m)
{
	struct session *s;

	switch (m->hdr.type) {
	case PROTO_EXEC:
		if (shutting_down) {
			send_error(m->hdr.session, "sandbox is shutting down");
			return;
		}
		handle_exec(m);
		break;
	case PROTO_PING:
		proto_enc_begin(&out, PROTO_PONG, m->hdr.session);
		proto_enc_end(&out);
		send_flush();
		break;
	case PROTO_SHUTDOWN: {
		/* the image's StopSignal, if it named one */
		uint32_t sig = SIGTERM;
		if (proto_get_u32(m, T_SIGNAL, &sig) < 0 || sig == 0 || sig > 64 || sig == SIGSTOP)
			sig = SIGTERM;
		shutting_down = true;
		kill(-1, (int)sig);
		reap(); /* with nothing left to wait for, exit now */
		break;
	}
	case PROTO_FS_GET:
	case PROTO_FS_STAT:
		agent_fs_get(m, &out, CHANNEL_FD);
		send_flush();
		break;
	case PROTO_FS_PUT:
		s = new_session(m->hdr.session);
		if (!s) {
			send_fs_err(m->hdr.session, EBUSY, "put");
			return;
		}
		agent_fs_put_begin(m, &s->put_fd, &s->put_path, &out);
		send_flush();
		if (s->put_fd < 0)
			s->used = false;
		break;
	case PROTO_STDIN:
	case PROTO_RESIZE:
	case PROTO_SIGNAL:
	case PROTO_FS_DATA:
		handle_session_msg(m);
		break;
	default:
		send_error(m->hdr.session, "unsupported message type");
		break;
	}
}

static void reap(void)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0) {
			if (pid < 0 && errno == ECHILD && shutting_down) {
				/* no sync(): the root's upper layer is host storage the host flushes itself */
				_exit(0);
			}
			return;
		}
		for (int i = 0; i < MAX_SESSIONS; i++) {
			struct session *s = &sessions[i];
			if (s->used && s->pid == pid && !s->exited) {
				s->exited = true;
				s->status = status;
				s->exit_at = util_now_ms();
				session_maybe_finish(s, false);
			}
		}
	}
}

static int next_timeout(void)
{
	uint64_t now = util_now_ms();
	int t = -1;
	for (int i = 0; i < MAX_SESSIONS; i++) {
		struct session *s = &sessions[i];
		if (s->used && s->exited) {
			uint64_t due = s->exit_at + EXIT_GRACE_MS;
			int left = due > now ? (int)(due - now) : 0;
			if (t < 0 || left < t)
				t = left;
		}
	}
	return t;
}

static void expire_sessions(void)
{
	uint64_t now = util_now_ms();
	for (int i = 0; i < MAX_SESSIONS; i++) {
		struct session *s = &sessions[i];
		if (s->used && s->exited && now >= s->exit_at + EXIT_GRACE_MS)
			session_maybe_finish(s, true);
	}
}

static void channel_readable(struct proto_reader *rd)
{
	static struct proto_msg msg;
	long n = proto_reader_fill(rd, CHANNEL_FD);

	if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR)) {
		/* host gone: the sandbox cannot be reached any more, end it */
		kill(-1, SIGKILL);
		_exit(0);
	}
	for (;;) {
		int r = proto_reader_next(rd, &msg);
		if (r == 0)
			break;
		if (r < 0) {
			send_error(0, "malformed frame; closing channel");
			_exit(1);
		}
		handle_frame(&msg);
		proto_reader_consume(rd, &msg);
	}
}

static void dispatch(uint64_t tag, uint32_t events, struct proto_reader *rd, int sfd)
{
	enum ev_kind k = (enum ev_kind)(tag >> 32);
	int idx = (int)(uint32_t)tag;
	struct session *s = idx >= 0 && idx < MAX_SESSIONS ? &sessions[idx] : NULL;

	switch (k) {
	case EV_CHANNEL:
		channel_readable(rd);
		break;
	case EV_SIGNAL: {
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			/*
			 * Only a signal from outside our PID namespace (sender pid 0
			 * here) may end the sandbox; in-sandbox root can send SIGTERM
			 * to PID 1, and the kernel's PID-1 protection does not apply to
			 * signals we read from a signalfd.
			 */
			if (si.ssi_signo == SIGTERM && si.ssi_pid == 0 && !shutting_down) {
				shutting_down = true;
				kill(-1, SIGTERM);
			}
		}
		reap();
		break;
	}
	case EV_OUT:
		if (s && s->used && s->out_fd >= 0)
			pump_output(s, &s->out_fd, PROTO_STDOUT);
		break;
	case EV_ERR:
		if (s && s->used && s->err_fd >= 0)
			pump_output(s, &s->err_fd, PROTO_STDERR);
		break;
	case EV_IN:
		if (s && s->used)
			flush_stdin(s);
		break;
	}
	(void)events;
}

int main(int argc, char **argv)
{
	struct proto_reader rd = {0};
	struct epoll_event evs[64];
	sigset_t mask;
	int sfd;

	if (getpid() != 1 && !getenv("MSB_AGENTD_TEST")) {
		fprintf(stderr, "agentd: must run as PID 1 of a sandbox (started by msb)\n");
		return 2;
	}
	agent_conf_load(&conf, argc, argv);
	/* No one in the sandbox may read our memory or /proc/1/environ. */
	prctl(PR_SET_DUMPABLE, 0);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || epfd < 0)
		return 1;
	fcntl(CHANNEL_FD, F_SETFD, FD_CLOEXEC);
	add_ep(CHANNEL_FD, EV_CHANNEL, 0, EPOLLIN);
	add_ep(sfd, EV_SIGNAL, 0, EPOLLIN);

	proto_enc_begin(&out, PROTO_HELLO, 0);
	proto_enc_u32(&out, T_VERSION, PROTO_VERSION);
	proto_enc_i32(&out, T_PID, getpid());
	proto_enc_end(&out);
	send_flush();

	for (;;) {
		int n = epoll_wait(epfd, evs, ARRAY_SIZE(evs), next_timeout());
		if (n < 0 && errno != EINTR)
			return 1;
		/* exit statuses before more output: read the signalfd first in each batch */
		reap();
		for (int i = 0; i < n; i++)
			dispatch(evs[i].data.u64, evs[i].events, &rd, sfd);
		expire_sessions();
	}
}
