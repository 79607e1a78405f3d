// SPDX-License-Identifier: Apache-2.0
/*
 * supervisor.c - the per-sandbox host process (`msb sandbox`, hidden).
 *
 * Theory of operation. The supervisor is started detached by msb_create or
 * msb_start. It boots the sandbox (ns/boot.c), waits for agentd's HELLO,
 * records the sandbox Running and tells its starter "ok" over the ready
 * pipe. Then one epoll loop serves:
 *   - the control socket (0600, in the sandbox dir): clients speak the same
 *     framed protocol as agentd; session-opening frames get a fresh global
 *     session id, the rest are routed by (client, client session id);
 *   - the agent channel: replies are routed back to the client that owns the
 *     session, and exec output is appended to logs/exec.log;
 *   - a signalfd (SIGCHLD: the sandbox is gone; SIGTERM/SIGINT: stop);
 *   - a timerfd for the stop grace period.
 * Writes never block: each peer has an output queue, flushed on EPOLLOUT.
 * A client that disconnects has its exec sessions killed; the client that
 * registered as owner (an attached `msb run`) takes the sandbox with it.
 *
 * When the helper process exits the sandbox is gone: the supervisor records
 * Stopped (or Crashed when nobody asked), removes ephemeral sandboxes and
 * exits. If the supervisor itself is killed, the sandbox dies with it
 * (PR_SET_PDEATHSIG) and the next `msb` command records Crashed.
 */
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include "config.h"
#include "execlog.h"
#include "image/imgstore.h"
#include "image/manifest.h"
#include "msb.h"
#include "netproxy.h"
#include "ns/ns.h"
#include "parse.h"
#include "proto.h"
#include "sandbox.h"

#define MAX_CLIENTS 128
#define MAX_ROUTES  1024
#define OUTQ_HIGH   (32u << 20) /* stop reading the agent while a client is this far behind */

enum { EV_LISTEN = 1, EV_CHAN, EV_SIGNAL, EV_TIMER, EV_CLIENT, EV_LIFE, EV_DRAIN, EV_NET };

struct peer {
	int fd;
	struct proto_reader rd;
	struct buf outq;
	size_t outq_off;
	bool used, owner, stop_waiter, want_out;
};

struct route {
	bool used, exec, tty;
	uint32_t gid;	 /* id on the agent channel */
	int client;	 /* -1: the supervisor's own (detached workload) or orphaned */
	uint32_t csid;	 /* the client's session id */
	uint32_t log_id; /* exec.log session id */
};

struct sup {
	struct msb_ctx *ctx;
	const char *name;
	json_t *cfg;
	int epfd, sfd, tfd, listen_fd;
	int lfd;		 /* lifetime timer: --max-duration deadline and --idle-timeout checks */
	int dfd;		 /* records Draining when a stop takes a while */
	uint64_t started_ms;	 /* monotonic start, for --max-duration */
	uint64_t last_activity;	 /* monotonic ms of the last frame that counts as activity */
	const char *stop_reason; /* recorded as the run's termination reason */
	bool forgotten;		 /* the owner removed the record: finish() leaves the store alone */
	int gate;		 /* the starter's go-ahead (record_running), or -1 */
	bool cancelled;		 /* the starter could not write the record: do not start */
	struct peer chan;
	struct peer clients[MAX_CLIENTS];
	struct route routes[MAX_ROUTES];
	uint32_t next_gid, next_log_id;
	pid_t helper;
	bool stopping, chan_paused;
	struct execlog log;
	struct proto_enc enc;
	struct ns_net_fds net_fds; /* the chokepoint's sockets in the sandbox's namespace (netproxy.c) */
	struct netproxy *net;
	int pub_fds[NP_MAX_PUBLISH]; /* published ports' listeners, bound before boot (netports.c) */
	int n_pub;
};

static struct proto_msg msgbuf;

static uint64_t tag(int kind, int idx)
{
	return ((uint64_t)kind << 32) | (uint32_t)idx;
}

static void ep_set(struct sup *s, int fd, int kind, int idx, uint32_t events, int op)
{
	struct epoll_event ev = {.events = events, .data.u64 = tag(kind, idx)};
	epoll_ctl(s->epfd, op, fd, &ev);
}

static void peer_update(struct sup *s, struct peer *p, int kind, int idx)
{
	bool want = p->outq.len > p->outq_off;
	uint32_t in = (kind == EV_CHAN && s->chan_paused) ? 0 : EPOLLIN;
	if (want != p->want_out || kind == EV_CHAN) {
		p->want_out = want;
		ep_set(s, p->fd, kind, idx, in | (want ? EPOLLOUT : 0), EPOLL_CTL_MOD);
	}
}

/* Try to write queued bytes; returns -1 if the peer is broken. */
static int peer_flush(struct peer *p)
{
	while (p->outq.len > p->outq_off) {
		ssize_t n = write(p->fd, p->outq.data + p->outq_off, p->outq.len - p->outq_off);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -1;
		}
		p->outq_off += (size_t)n;
	}
	if (p->outq_off == p->outq.len) {
		p->outq.len = 0;
		p->outq_off = 0;
	} else if (p->outq_off > (1u << 20)) {
		memmove(p->outq.data, p->outq.data + p->outq_off, p->outq.len - p->outq_off);
		p->outq.len -= p->outq_off;
		p->outq_off = 0;
	}
	return 0;
}

static void queue_enc(struct sup *s, struct peer *p, int kind, int idx)
{
	buf_append(&p->outq, s->enc.buf, s->enc.len);
	proto_enc_reset(&s->enc);
	if (peer_flush(p) == 0)
		peer_update(s, p, kind, idx);
}

static void send_chan(struct sup *s)
{
	queue_enc(s, &s->chan, EV_CHAN, 0);
}

/* Re-encode a frame with a new session id, copying all fields. */
static void reframe(struct sup *s, const struct proto_msg *m, uint32_t session)
{
	proto_enc_begin(&s->enc, m->hdr.type, session);
	for (size_t i = 0; i < m->n; i++)
		proto_enc_bytes(&s->enc, m->f[i].tag, m->f[i].val, m->f[i].len);
	proto_enc_end(&s->enc);
}

static struct route *route_new(struct sup *s, int client, uint32_t csid)
{
	for (int i = 0; i < MAX_ROUTES; i++) {
		struct route *r = &s->routes[i];
		if (!r->used) {
			memset(r, 0, sizeof(*r));
			r->used = true;
			r->client = client;
			r->csid = csid;
			r->gid = ++s->next_gid;
			return r;
		}
	}
	return NULL;
}

static struct route *route_by_client(struct sup *s, int client, uint32_t csid)
{
	for (int i = 0; i < MAX_ROUTES; i++)
		if (s->routes[i].used && s->routes[i].client == client && s->routes[i].csid == csid)
			return &s->routes[i];
	return NULL;
}

static struct route *route_by_gid(struct sup *s, uint32_t gid)
{
	for (int i = 0; i < MAX_ROUTES; i++)
		if (s->routes[i].used && s->routes[i].gid == gid)
			return &s->routes[i];
	return NULL;
}

static bool env_has_key(const json_t *arr, const char *kv)
{
	size_t kl = strcspn(kv, "=");
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		const char *e = json_string_value(v);
		if (e && strncmp(e, kv, kl) == 0 && e[kl] == '=')
			return true;
	}
	return false;
}

/*
 * Compose an EXEC for the agent: sandbox env under the request's env (by
 * key), default cwd and user from the sandbox config.
 */
static void compose_exec(struct sup *s, const struct proto_msg *m, uint32_t gid)
{
	json_t *req_env = json_array();
	const char *wd = config_str(s->cfg, "workdir"), *user = config_str(s->cfg, "user");
	size_t i;
	json_t *v;

	for (i = 0; i < m->n; i++)
		if (m->f[i].tag == T_ENV && proto_field_is_str(&m->f[i]))
			json_array_append_new(req_env, json_stringn((const char *)m->f[i].val, m->f[i].len));
	proto_enc_begin(&s->enc, PROTO_EXEC, gid);
	json_array_foreach(json_object_get(s->cfg, "env"), i, v)
	{
		const char *e = json_string_value(v);
		if (e && !env_has_key(req_env, e))
			proto_enc_str(&s->enc, T_ENV, e);
	}
	for (i = 0; i < m->n; i++) {
		const struct proto_field *f = &m->f[i];
		if (f->tag == T_CWD)
			wd = NULL;
		if (f->tag == T_USER)
			user = NULL;
		proto_enc_bytes(&s->enc, f->tag, f->val, f->len);
	}
	if (wd)
		proto_enc_str(&s->enc, T_CWD, wd);
	if (user)
		proto_enc_str(&s->enc, T_USER, user);
	proto_enc_end(&s->enc);
	json_decref(req_env);
}

static void client_close(struct sup *s, int idx);
static _Noreturn void finish(struct sup *s, bool helper_reaped, int status);

static int stop_signal(struct sup *s);

static void begin_stop(struct sup *s, uint64_t timeout_ms)
{
	struct itimerspec its = {0};
	if (s->stopping)
		return;
	s->stopping = true;
	/*
	 * Most stops finish within a few milliseconds; record Draining only if
	 * this one is still going after 100 ms, to keep a write off the path.
	 */
	{
		struct itimerspec d = {.it_value = {.tv_nsec = 100 * 1000000L}};
		timerfd_settime(s->dfd, 0, &d, NULL);
	}
	if (timeout_ms == 0) {
		kill(s->helper, SIGKILL);
		return;
	}
	proto_enc_begin(&s->enc, PROTO_SHUTDOWN, 0);
	if (stop_signal(s))
		proto_enc_u32(&s->enc, T_SIGNAL, (uint32_t)stop_signal(s));
	proto_enc_end(&s->enc);
	send_chan(s);
	its.it_value.tv_sec = (time_t)(timeout_ms / 1000);
	its.it_value.tv_nsec = (long)(timeout_ms % 1000) * 1000000;
	timerfd_settime(s->tfd, 0, &its, NULL);
}

/* The image's StopSignal ("SIGINT", "INT", "2"), or 0 for the default SIGTERM. */
static int stop_signal(struct sup *s)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {{"HUP", SIGHUP},	{"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL}, {"USR1", SIGUSR1},
		     {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"WINCH", SIGWINCH}, {"PWR", SIGPWR}, {"STOP", SIGSTOP}};
	const char *v = config_str(s->cfg, "stop_signal");
	char *end;
	long n;

	if (!v || !*v)
		return 0;
	if (strncmp(v, "SIG", 3) == 0)
		v += 3;
	n = strtol(v, &end, 10);
	if (*end == '\0' && end != v)
		return n > 0 && n < 65 && n != SIGSTOP ? (int)n : 0;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcasecmp(v, names[i].name) == 0)
			return names[i].sig == SIGSTOP ? 0 : names[i].sig;
	return 0;
}

static void reply_error(struct sup *s, int idx, uint32_t csid, const char *msg)
{
	proto_enc_begin(&s->enc, PROTO_ERROR, csid);
	proto_enc_str(&s->enc, T_MSG, msg);
	proto_enc_end(&s->enc);
	queue_enc(s, &s->clients[idx], EV_CLIENT, idx);
}

static void client_frame(struct sup *s, int idx, const struct proto_msg *m)
{
	struct route *r;
	uint64_t t;

	/* a ping is not activity (spec/runtime.md §3.1), unless it is a touch */
	if (m->hdr.type != PROTO_PING || proto_get(m, T_TOUCH))
		s->last_activity = util_now_ms();
	switch (m->hdr.type) {
	case PROTO_EXEC:
	case PROTO_FS_GET:
	case PROTO_FS_PUT:
	case PROTO_FS_STAT:
	case PROTO_PING:
		if (s->stopping) {
			reply_error(s, idx, m->hdr.session, "sandbox is stopping");
			return;
		}
		if (route_by_client(s, idx, m->hdr.session) || !(r = route_new(s, idx, m->hdr.session))) {
			reply_error(s, idx, m->hdr.session, "session id in use or too many sessions");
			return;
		}
		if (m->hdr.type == PROTO_EXEC) {
			r->exec = true;
			r->tty = proto_get(m, T_TTY) != NULL;
			r->log_id = ++s->next_log_id;
			compose_exec(s, m, r->gid);
		} else {
			reframe(s, m, r->gid);
		}
		send_chan(s);
		break;
	case PROTO_STDIN:
	case PROTO_RESIZE:
	case PROTO_SIGNAL:
	case PROTO_FS_DATA:
		r = route_by_client(s, idx, m->hdr.session);
		if (!r)
			return; /* session already ended */
		reframe(s, m, r->gid);
		send_chan(s);
		break;
	case PROTO_CTL_STOP:
		s->clients[idx].stop_waiter = true;
		/* the owner of an ephemeral sandbox deletes its row meanwhile: skip the store at the end */
		if (s->clients[idx].owner && proto_get(m, T_FORGET) &&
		    json_is_true(json_object_get(s->cfg, "ephemeral")))
			s->forgotten = true;
		if (proto_get_u64(m, T_TIMEOUT_MS, &t) < 0)
			t = 10000;
		begin_stop(s, t);
		break;
	case PROTO_CTL_OWN:
		s->clients[idx].owner = true;
		break;
	default:
		reply_error(s, idx, m->hdr.session, "unsupported message type");
	}
}

static void client_readable(struct sup *s, int idx)
{
	struct peer *c = &s->clients[idx];
	long n = proto_reader_fill(&c->rd, c->fd);
	if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR)) {
		client_close(s, idx);
		return;
	}
	for (;;) {
		int r = proto_reader_next(&c->rd, &msgbuf);
		if (r == 0)
			return;
		if (r < 0) {
			client_close(s, idx);
			return;
		}
		client_frame(s, idx, &msgbuf);
		proto_reader_consume(&c->rd, &msgbuf);
	}
}

static void client_close(struct sup *s, int idx)
{
	struct peer *c = &s->clients[idx];
	bool owner = c->owner;
	if (!c->used)
		return;
	for (int i = 0; i < MAX_ROUTES; i++) {
		struct route *r = &s->routes[i];
		if (!r->used || r->client != idx)
			continue;
		if (r->exec) { /* nobody will read its output any more: end it */
			proto_enc_begin(&s->enc, PROTO_SIGNAL, r->gid);
			proto_enc_i32(&s->enc, T_SIGNAL, SIGKILL);
			proto_enc_end(&s->enc);
			send_chan(s);
		}
		r->client = -1;
	}
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	proto_reader_free(&c->rd);
	buf_free(&c->outq);
	memset(c, 0, sizeof(*c));
	if (owner)
		begin_stop(s, 10000);
}

static bool is_terminal(uint16_t type)
{
	return type == PROTO_EXITED || type == PROTO_FAILED || type == PROTO_FS_END || type == PROTO_FS_ERR ||
	       type == PROTO_PONG || type == PROTO_ERROR;
}

static void log_exec_event(struct sup *s, struct route *r, const struct proto_msg *m)
{
	const struct proto_field *f;
	char line[600];
	int32_t code = 0, sig = 0;

	switch (m->hdr.type) {
	case PROTO_STDOUT:
	case PROTO_STDERR:
		f = proto_get(m, T_DATA);
		if (f)
			execlog_write(&s->log, r->tty ? "output" : m->hdr.type == PROTO_STDOUT ? "stdout" : "stderr",
				      r->log_id, f->val, f->len);
		break;
	case PROTO_EXITED:
		if (r->client < 0) {
			proto_get_i32(m, T_CODE, &code);
			proto_get_i32(m, T_SIGNAL, &sig);
			snprintf(line, sizeof(line), "--- command exited (code %d, signal %d) ---\n", code, sig);
			execlog_write(&s->log, "system", 0, line, strlen(line));
		}
		break;
	case PROTO_FAILED:
		f = proto_get(m, T_MSG);
		snprintf(line, sizeof(line), "--- command failed to start: %.*s ---\n", f ? (int)f->len : 0,
			 f ? (const char *)f->val : "");
		execlog_write(&s->log, "system", 0, line, strlen(line));
		break;
	}
}

static void agent_frame(struct sup *s, const struct proto_msg *m)
{
	struct route *r = route_by_gid(s, m->hdr.session);
	if (m->hdr.type != PROTO_PONG)
		s->last_activity = util_now_ms();
	if (!r)
		return;
	if (r->exec)
		log_exec_event(s, r, m);
	if (r->client >= 0) {
		struct peer *c = &s->clients[r->client];
		reframe(s, m, r->csid);
		queue_enc(s, c, EV_CLIENT, r->client);
		if (c->outq.len > OUTQ_HIGH && !s->chan_paused) {
			s->chan_paused = true;
			peer_update(s, &s->chan, EV_CHAN, 0);
		}
	}
	if (is_terminal(m->hdr.type))
		r->used = false;
}

static void chan_readable(struct sup *s)
{
	long n = proto_reader_fill(&s->chan.rd, s->chan.fd);
	if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR)) {
		/* the agent is gone, and with it the whole sandbox */
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->chan.fd, NULL);
		if (s->stopping)
			finish(s, false, 0);
		return; /* unexpected: the helper's exit status decides Crashed */
	}
	for (;;) {
		int r = proto_reader_next(&s->chan.rd, &msgbuf);
		if (r == 0)
			return;
		if (r < 0) {
			/* a malformed frame from the sandbox side: stop trusting the channel */
			execlog_write(&s->log, "system", 0, "--- agent sent a malformed frame ---\n", 37);
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->chan.fd, NULL);
			begin_stop(s, 0);
			return;
		}
		agent_frame(s, &msgbuf);
		proto_reader_consume(&s->chan.rd, &msgbuf);
	}
}

static void accept_clients(struct sup *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int idx = -1;
		if (fd < 0)
			return;
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (!s->clients[i].used) {
				idx = i;
				break;
			}
		if (idx < 0) {
			close(fd);
			continue;
		}
		memset(&s->clients[idx], 0, sizeof(s->clients[idx]));
		s->clients[idx].used = true;
		s->clients[idx].fd = fd;
		ep_set(s, fd, EV_CLIENT, idx, EPOLLIN, EPOLL_CTL_ADD);
	}
}

static void resume_chan_if_drained(struct sup *s)
{
	if (!s->chan_paused)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s->clients[i].used && s->clients[i].outq.len > OUTQ_HIGH / 2)
			return;
	s->chan_paused = false;
	peer_update(s, &s->chan, EV_CHAN, 0);
}

/* Reap the boot helper (whose exit ends the sandbox's namespaces); SIGKILL it if it lingers 5 s. */
static void wait_helper(struct sup *s, bool reaped, int *status)
{
	struct timespec ts = {.tv_sec = 5};
	sigset_t set;
	if (reaped)
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (waitpid(s->helper, status, WNOHANG) == 0 && sigtimedwait(&set, NULL, &ts) < 0)
		kill(s->helper, SIGKILL);
	waitpid(s->helper, status, 0);
}

/*
 * The sandbox is gone (agentd exited: every process of the PID namespace is
 * gone with it, since agentd exits only once it has no children left, and
 * its exit ends the namespace): record it, tell the clients, and only then
 * do the slow part (namespace teardown, removal of an ephemeral tree) off the
 * clients' critical path.
 */
static _Noreturn void finish(struct sup *s, bool helper_reaped, int status)
{
	bool ephemeral = json_is_true(json_object_get(s->cfg, "ephemeral"));
	int code = helper_reaped && WIFEXITED(status) ? WEXITSTATUS(status) : 0;
	bool crashed = !s->stopping && helper_reaped && code != 0;
	char *trash = NULL;

	execlog_write(&s->log, "system", 0, "--- sandbox stopped ---\n", 24);
	execlog_close(&s->log);
	if (s->forgotten)
		goto release;
	store_begin(s->ctx);
	store_set_status(s->ctx, s->name, crashed ? MSB_STATUS_CRASHED : MSB_STATUS_STOPPED, 0, 0, NULL);
	store_run_end(s->ctx, s->name,
		      s->stop_reason ? s->stop_reason
		      : s->stopping  ? "ShutdownRequested"
		      : crashed      ? "Failed"
				     : "Completed",
		      code, NULL);
	if (ephemeral)
		store_delete_sandbox(s->ctx, s->name, NULL);
	store_commit(s->ctx);
release:
	/* out of the way at once; the slow removal happens after the clients are released */
	if (ephemeral)
		trash = sandbox_trash_dir(s->ctx, s->name);
	close(s->listen_fd);
	/*
	 * A named sandbox can be started again at once, on the same upper and work
	 * directories: the old mount namespace must be gone first (overlayfs
	 * refuses layers in use) and so must the old control socket. Wait for the
	 * helper, whose exit ends that namespace, then release the clients.
	 * Ephemeral trees were moved to trash/ above and can go in the background.
	 */
	if (!ephemeral) {
		wait_helper(s, helper_reaped, &status);
		helper_reaped = true;
		char *dir = msb_sandbox_dir(s->ctx, s->name);
		char *sock = xasprintf("%s/%s", dir, CTL_SOCK_NAME);
		unlink(sock);
		free(sock);
		free(dir);
	}
	/* stop waiters learn the outcome from EOF, after the state is recorded */
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s->clients[i].used)
			close(s->clients[i].fd);
	if (!helper_reaped)
		wait_helper(s, helper_reaped, &status);
	store_checkpoint(s->ctx);
	ns_cgroup_remove(s->name);
	if (trash) {
		sandbox_remove_trash(s->ctx, trash);
		free(trash);
	} else if (ephemeral) {
		sandbox_remove_dir(s->ctx, s->name, NULL);
	}
	exit(0);
}

static void handle_signals(struct sup *s)
{
	struct signalfd_siginfo si;
	while (read(s->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGHUP)
			begin_stop(s, 10000);
	}
	for (;;) {
		int status;
		pid_t p = waitpid(-1, &status, WNOHANG);
		if (p <= 0)
			break;
		if (p == s->helper)
			finish(s, true, status);
	}
}

/*
 * --max-duration ends the sandbox at once when its time is up (counted from
 * the supervisor's start, boot included). --idle-timeout stops it gracefully
 * once no frame has counted as activity for that long and no command is
 * running (a running exec is never idle). Checked once a second.
 */
static void lifetime_tick(struct sup *s)
{
	uint64_t now = util_now_ms(), exp;
	uint64_t max_s = config_u64(s->cfg, "max_duration_s", 0), idle_s = config_u64(s->cfg, "idle_timeout_s", 0);

	while (read(s->lfd, &exp, sizeof(exp)) == sizeof(exp))
		;
	if (max_s && now - s->started_ms >= max_s * 1000) {
		s->stop_reason = "MaxDurationExceeded";
		execlog_write(&s->log, "system", 0, "--- max duration exceeded ---\n", 30);
		s->stopping = true;
		kill(s->helper, SIGKILL);
		return;
	}
	if (idle_s && !s->stopping && now - s->last_activity >= idle_s * 1000) {
		for (int i = 0; i < MAX_ROUTES; i++)
			if (s->routes[i].used && s->routes[i].exec) {
				s->last_activity = now; /* a running command keeps the sandbox busy */
				return;
			}
		s->stop_reason = "IdleTimeout";
		execlog_write(&s->log, "system", 0, "--- idle timeout ---\n", 21);
		begin_stop(s, 2000);
	}
}

static void dispatch(struct sup *s, uint64_t t, uint32_t events)
{
	int kind = (int)(t >> 32), idx = (int)(uint32_t)t;
	uint64_t exp;

	switch (kind) {
	case EV_LISTEN:
		accept_clients(s);
		break;
	case EV_CHAN:
		if (events & EPOLLOUT) {
			peer_flush(&s->chan);
			peer_update(s, &s->chan, EV_CHAN, 0);
		}
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			chan_readable(s);
		break;
	case EV_SIGNAL:
		handle_signals(s);
		break;
	case EV_TIMER:
		if (read(s->tfd, &exp, sizeof(exp)) == sizeof(exp))
			kill(s->helper, SIGKILL);
		break;
	case EV_LIFE:
		lifetime_tick(s);
		break;
	case EV_NET:
		netproxy_event(s->net, (uint32_t)idx, events);
		break;
	case EV_DRAIN:
		if (read(s->dfd, &exp, sizeof(exp)) == sizeof(exp))
			store_set_status(s->ctx, s->name, MSB_STATUS_DRAINING, getpid(), proc_start_time(getpid()), NULL);
		break;
	case EV_CLIENT:
		if (!s->clients[idx].used)
			break;
		if (events & EPOLLOUT) {
			if (peer_flush(&s->clients[idx]) < 0) {
				client_close(s, idx);
				break;
			}
			peer_update(s, &s->clients[idx], EV_CLIENT, idx);
			resume_chan_if_drained(s);
		}
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			client_readable(s, idx);
		break;
	}
}

static void start_workload(struct sup *s)
{
	size_t n;
	const char **cmd = config_strv(s->cfg, "cmd", &n);
	struct route *r;

	if (n == 0 || n >= PROTO_MAX_FIELDS || !(r = route_new(s, -1, 0))) {
		free(cmd);
		return;
	}
	r->exec = true;
	r->log_id = ++s->next_log_id;
	/* a client-style request with no stdin, composed like any other */
	msgbuf.hdr = (struct proto_hdr){.type = PROTO_EXEC};
	msgbuf.n = 0;
	for (size_t i = 0; i < n; i++)
		msgbuf.f[msgbuf.n++] = (struct proto_field){T_ARG, (uint32_t)strlen(cmd[i]), (const uint8_t *)cmd[i]};
	msgbuf.f[msgbuf.n++] = (struct proto_field){T_STDIN_NULL, 0, NULL};
	compose_exec(s, &msgbuf, r->gid);
	send_chan(s);
	free(cmd);
}

/* ---- boot ------------------------------------------------------------------ */

static int fd_high(int fd)
{
	int n;
	if (fd < 0)
		return fd;
	n = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	close(fd);
	return n;
}

/* agentd lives next to msb (build tree) or in ../lib/msb (installed); MSB_AGENTD overrides. */
static int open_agentd(msb_error *err)
{
	const char *env = getenv("MSB_AGENTD");
	char exe[4096], *slash, *cand;
	ssize_t n;
	int fd;

	if (env && *env) {
		fd = open(env, O_PATH | O_CLOEXEC);
		return fd >= 0 ? fd : msb_err_sys(err, errno, "cannot open agentd at %s (MSB_AGENTD)", env);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return msb_err_sys(err, errno, "readlink /proc/self/exe");
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	*slash = '\0';
	cand = xasprintf("%s/agentd", exe);
	fd = open(cand, O_PATH | O_CLOEXEC);
	free(cand);
	if (fd >= 0)
		return fd;
	cand = xasprintf("%s/../lib/msb/agentd", exe);
	fd = open(cand, O_PATH | O_CLOEXEC);
	free(cand);
	return fd >= 0 ? fd : msb_err_set(err, MSB_ERR_NOT_FOUND, 0, "cannot find agentd next to %s/msb or in "
							       "%s/../lib/msb (set MSB_AGENTD)", exe, exe);
}

static int prepare_fs(struct sup *s, struct ns_boot *b, msb_error *err)
{
	char *dir = msb_sandbox_dir(s->ctx, s->name);
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), fs = -1, r = 0;

	free(dir);
	if (dfd < 0)
		return msb_err_sys(err, errno, "open sandbox directory");
	if (b->ephemeral) {
		/*
		 * Everything lives in a tmpfs the sandbox mounts over fs/ (mounts.c):
		 * boot runs from the sandbox directory, which the sandbox's ids may
		 * search (mode 0711) but not list; nothing is created on disk.
		 */
		int sd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(dfd);
		if (sd < 0 || fchmod(sd, 0711) < 0) {
			r = msb_err_sys(err, errno, "prepare sandbox directory");
			if (sd >= 0)
				close(sd);
			return r;
		}
		b->fs_dirfd = fd_high(sd);
		return 0;
	}
	fs = openat(dfd, "fs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(dfd);
	if (fs < 0)
		return msb_err_sys(err, errno, "open sandbox fs directory");
	if (!b->map.rootless && fchown(fs, b->map.root_uid, b->map.root_gid) < 0) {
		r = msb_err_sys(err, errno, "chown fs");
		goto out;
	}
	for (const char *const *d = (const char *const[]){"lower", "merged", "upper", "work", NULL}; *d; d++) {
		if (mkdirat(fs, *d, 0755) < 0 && errno != EEXIST) {
			r = msb_err_sys(err, errno, "create fs/%s", *d);
			goto out;
		}
		if (!b->map.rootless && fchownat(fs, *d, b->map.root_uid, b->map.root_gid, AT_SYMLINK_NOFOLLOW) < 0) {
			r = msb_err_sys(err, errno, "chown fs/%s", *d);
			goto out;
		}
	}
	b->fs_dirfd = fd_high(fs);
	return 0;
out:
	close(fs);
	return r;
}

static int wait_hello(struct sup *s, int timeout_ms, msb_error *err)
{
	uint64_t until = util_now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		struct pollfd p = {.fd = s->chan.fd, .events = POLLIN};
		uint64_t now = util_now_ms();
		long n;
		int r;
		if (now >= until)
			return msb_err_set(err, MSB_ERR_TIMEOUT, 0, "the sandbox agent did not start within %d ms",
					   timeout_ms);
		if (poll(&p, 1, (int)(until - now)) <= 0)
			continue;
		n = proto_reader_fill(&s->chan.rd, s->chan.fd);
		if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR))
			return msb_err_set(err, MSB_ERR_SYSTEM, 0, "the sandbox agent exited during start-up "
								   "(see logs/runtime.log)");
		r = proto_reader_next(&s->chan.rd, &msgbuf);
		if (r < 0 || (r == 1 && msgbuf.hdr.type != PROTO_HELLO))
			return msb_err_set(err, MSB_ERR_PROTOCOL, 0, "the sandbox agent sent a bad greeting");
		if (r == 1) {
			uint32_t v = 0;
			proto_get_u32(&msgbuf, T_VERSION, &v);
			proto_reader_consume(&s->chan.rd, &msgbuf);
			if (v != PROTO_VERSION)
				return msb_err_set(err, MSB_ERR_PROTOCOL, 0, "agent protocol version %u, expected %u",
						   v, PROTO_VERSION);
			return 0;
		}
	}
}

/*
 * Record the run while the sandbox boots; a failed boot rewrites it. First
 * wait at the gate: the starter writes the sandbox's row meanwhile and says
 * 'R' when it exists; anything else cancels the boot.
 */
static void record_running(void *arg)
{
	struct sup *s = arg;
	if (s->gate >= 0) {
		struct pollfd p = {.fd = s->gate, .events = POLLIN};
		char c = 0;
		if (poll(&p, 1, 30000) != 1 || read(s->gate, &c, 1) != 1 || c != 'R') {
			s->cancelled = true;
			return;
		}
	}
	store_begin(s->ctx);
	store_set_status(s->ctx, s->name, MSB_STATUS_RUNNING, getpid(), proc_start_time(getpid()), NULL);
	store_run_begin(s->ctx, s->name, getpid(), NULL);
	store_commit(s->ctx);
}

/*
 * An OCI image's layers, pinned in the sandbox config at create (diff_ids,
 * bottom first), as paths in the image store. A layer removed from under a
 * stopped sandbox (`msb rmi --force`, prune) makes the start fail clearly.
 */
static int image_layers(struct sup *s, struct ns_boot *b, msb_error *err)
{
	json_t *layers = json_object_get(s->cfg, "layers"), *l;
	char **paths;
	size_t i;

	if (!json_string_value(json_object_get(s->cfg, "image_digest")))
		return 0;
	b->host_image = false;
	if (json_array_size(layers) > IMG_LAYERS_MAX)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "the sandbox's image has too many layers");
	paths = xcalloc(json_array_size(layers) + 1, sizeof(char *));
	b->layer_fds = xcalloc(json_array_size(layers) + 1, sizeof(int));
	json_array_foreach(layers, i, l)
	{
		const char *d = json_string_value(l);
		struct stat st;
		if (!img_digest_valid(d))
			return msb_err_set(err, MSB_ERR_INVALID, 0, "the sandbox's config names a bad layer digest");
		paths[i] = imgstore_layer_path(s->ctx, d);
		b->layer_fds[i] = -1;
		if (stat(paths[i], &st) < 0 || !S_ISDIR(st.st_mode))
			return msb_err_set(err, MSB_ERR_NOT_FOUND, 0,
					   "layer %s of image %s is no longer in the image store (pull the image "
					   "again: msb pull %s)",
					   d, config_str(s->cfg, "image"), config_str(s->cfg, "image"));
	}
	b->layers = (const char *const *)paths;
	b->n_layers = json_array_size(layers);
	return 0;
}

static int boot(struct sup *s, msb_error *err)
{
	struct ns_boot b = {.log_fd = -1, .host_image = true};
	const char *sec = config_str(s->cfg, "security");
	int sv[2], r;

	/* published ports first: a port in use fails the start before anything is built */
	s->n_pub = np_ports_bind(s->cfg, s->pub_fds, err);
	if (s->n_pub < 0) {
		s->n_pub = 0;
		return -err->code;
	}
	r = image_layers(s, &b, err);
	if (r < 0)
		return r;

	b.ephemeral = json_is_true(json_object_get(s->cfg, "ephemeral"));
	r = ns_idmap_plan(&b.map, err);
	if (r < 0)
		return r;
	/* as root, each sandbox has its own id range, chosen at create and kept in its configuration */
	if (!b.map.rootless && config_u64(s->cfg, "id_base", 0)) {
		uint64_t base = config_u64(s->cfg, "id_base", 0);
		if (base < NS_ROOT_ID_BASE || base > NS_ROOT_ID_LAST || (base - NS_ROOT_ID_BASE) % NS_ID_COUNT)
			return msb_err_set(err, MSB_ERR_INVALID, 0, "stored id range %llu is out of bounds",
					   (unsigned long long)base);
		b.map.root_uid = (uid_t)base;
		b.map.root_gid = (gid_t)base;
		b.map.sub_uid = (uid_t)base + 1;
		b.map.sub_gid = (gid_t)base + 1;
	}
	if (b.map.warning[0])
		fprintf(stderr, "warn: %s\n", b.map.warning);
	r = prepare_fs(s, &b, err);
	if (r < 0)
		return r;
	b.agentd_fd = fd_high(open_agentd(err));
	if (b.agentd_fd < 0)
		return -err->code;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return msb_err_sys(err, errno, "socketpair");
	s->chan.fd = fd_high(sv[0]);
	b.chan_fd = fd_high(sv[1]);
	b.log_fd = 2;
	b.hostname = config_str(s->cfg, "hostname");
	if (!b.hostname)
		b.hostname = s->name;
	b.restricted = sec && strcmp(sec, "restricted") == 0;
	b.ephemeral = json_is_true(json_object_get(s->cfg, "ephemeral"));
	b.cgroup_name = s->name;
	b.while_booting = record_running;
	b.while_booting_arg = s;
	b.limits.cpus = (unsigned)config_u64(s->cfg, "cpus", 0);
	b.limits.memory_mib = config_u64(s->cfg, "memory_mib", 0);
	b.limits.pids = NS_DEFAULT_PIDS; /* enforced with RLIMIT_NPROC, no cgroup needed (boot.c) */
	if (netproxy_wanted(s->cfg)) {
		b.net = true;
		b.net_out = &s->net_fds;
	}
	r = ns_boot_start(&b, &s->helper, err);
	if (r == 0 && b.net && s->net_fds.fd[NS_NET_TCP4] < 0)
		r = msb_err_set(err, MSB_ERR_SYSTEM, 0, "sandbox network setup failed");
	if (r == 0 && s->cancelled) {
		kill(s->helper, SIGKILL);
		waitpid(s->helper, NULL, 0);
		r = msb_err_set(err, MSB_ERR_STATE, 0, "creation cancelled by its starter");
	}
	close(b.chan_fd);
	close(b.agentd_fd);
	close(b.fs_dirfd);
	if (r < 0)
		return r;
	r = wait_hello(s, 30000, err);
	if (r < 0) {
		kill(s->helper, SIGKILL);
		waitpid(s->helper, NULL, 0);
		return r;
	}
	fcntl(s->chan.fd, F_SETFL, O_NONBLOCK);
	return 0;
}

static int setup_loop(struct sup *s, msb_error *err)
{
	char *dir = msb_sandbox_dir(s->ctx, s->name);
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), logs;
	sigset_t mask;

	free(dir);
	if (dfd < 0)
		return msb_err_sys(err, errno, "open sandbox directory");
	logs = openat(dfd, "logs", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (logs < 0 || execlog_open(&s->log, logs) < 0)
		s->log.fd = -1;
	s->listen_fd = fs_unix_listen_at(dfd, CTL_SOCK_NAME);
	close(dfd);
	if (s->listen_fd < 0)
		return msb_err_sys(err, -s->listen_fd, "cannot listen on the control socket");
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	s->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->sfd < 0 || s->tfd < 0 || s->epfd < 0)
		return msb_err_sys(err, errno, "event loop setup");
	ep_set(s, s->listen_fd, EV_LISTEN, 0, EPOLLIN, EPOLL_CTL_ADD);
	ep_set(s, s->chan.fd, EV_CHAN, 0, EPOLLIN, EPOLL_CTL_ADD);
	ep_set(s, s->sfd, EV_SIGNAL, 0, EPOLLIN, EPOLL_CTL_ADD);
	ep_set(s, s->tfd, EV_TIMER, 0, EPOLLIN, EPOLL_CTL_ADD);
	s->dfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->dfd < 0)
		return msb_err_sys(err, errno, "event loop setup");
	ep_set(s, s->dfd, EV_DRAIN, 0, EPOLLIN, EPOLL_CTL_ADD);
	if (s->net_fds.fd[NS_NET_TCP4] >= 0) {
		s->net = netproxy_new(s->epfd, EV_NET, &s->net_fds, s->cfg, logs, err);
		if (!s->net)
			return -err->code;
		np_ports_start(s->net, s->cfg, s->pub_fds, s->n_pub, s->net_fds.ctl);
		s->n_pub = 0;
		s->net_fds.ctl = -1;
	}
	s->last_activity = util_now_ms();
	if (config_u64(s->cfg, "max_duration_s", 0) || config_u64(s->cfg, "idle_timeout_s", 0)) {
		struct itimerspec its = {.it_value = {.tv_sec = 1}, .it_interval = {.tv_sec = 1}};
		s->lfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (s->lfd < 0 || timerfd_settime(s->lfd, 0, &its, NULL) < 0)
			return msb_err_sys(err, errno, "lifetime timer");
		ep_set(s, s->lfd, EV_LIFE, 0, EPOLLIN, EPOLL_CTL_ADD);
	}
	return 0;
}

static void report(int fd, const char *msg)
{
	if (fd < 0)
		return;
	(void)!write(fd, msg, strlen(msg));
	close(fd);
}

/*
 * Run the supervisor: @config is the sandbox's configuration as JSON (NULL:
 * read it from the store); @ready receives "ok" or the reason boot failed.
 * Returns only on failure; on success the process exits when the sandbox is gone.
 */
int supervisor_run(const char *home, const char *name, const char *config, int ready, int gate)
{
	static struct sup sup;
	struct sup *s = &sup;
	msb_sandbox_info info;
	msb_error err = {0};
	sigset_t mask;

	if (ready >= 0)
		fcntl(ready, F_SETFD, FD_CLOEXEC);
	/* one recognisable name for supervisors however they were started (ps, pgrep -x msb-sandbox) */
	prctl(PR_SET_NAME, "msb-sandbox");
	/* signals are events: block them before any child exists */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	s->name = name;
	s->chan.fd = -1;
	s->lfd = -1;
	for (int i = 0; i < NS_NET_NFDS; i++)
		s->net_fds.fd[i] = -1;
	s->net_fds.ctl = -1;
	s->gate = gate;
	if (gate >= 0)
		fcntl(gate, F_SETFD, FD_CLOEXEC);
	s->started_ms = util_now_ms();
	if (msb_open(&s->ctx, home, &err) < 0) {
		report(ready, err.msg);
		return 1;
	}
	if (config) {
		s->cfg = json_loads(config, 0, NULL);
	} else {
		if (store_get_sandbox(s->ctx, name, &info, NULL, &err) < 0) {
			report(ready, err.msg);
			return 1;
		}
		s->cfg = json_loads(info.config_json, 0, NULL);
		msb_sandbox_info_clear(&info);
	}
	if (!s->cfg) {
		report(ready, "stored sandbox configuration is not valid JSON");
		return 1;
	}
	if (boot(s, &err) < 0 || setup_loop(s, &err) < 0) {
		if (!s->cancelled) {
			store_set_status(s->ctx, name, MSB_STATUS_STOPPED, 0, 0, NULL);
			store_run_end(s->ctx, name, "Failed", -1, NULL);
		}
		if (s->helper > 0) {
			kill(s->helper, SIGKILL);
			waitpid(s->helper, NULL, 0);
		}
		fprintf(stderr, "error: %s\n", err.msg);
		report(ready, err.msg);
		return 1;
	}
	execlog_write(&s->log, "system", 0, "--- sandbox started ---\n", 24);
	start_workload(s);
	report(ready, "ok");
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(s->epfd, evs, ARRAY_SIZE(evs), -1);
		if (n < 0 && errno != EINTR)
			break;
		/* exits first: a dead sandbox's late output no longer matters */
		for (int i = 0; i < n; i++)
			dispatch(s, evs[i].data.u64, evs[i].events);
	}
	kill(s->helper, SIGKILL);
	return 1;
}


MSB_EXPORT int msb_supervisor_main(int argc, char **argv)
{
	static const struct option opts[] = {{"home", required_argument, NULL, 'h'},
					     {"name", required_argument, NULL, 'n'},
					     {"ready-fd", required_argument, NULL, 'r'},
					     {"config-fd", required_argument, NULL, 'c'},
					     {NULL, 0, NULL, 0}};
	const char *home = NULL, *name = NULL;
	char *config = NULL;
	int ready = -1, cfgfd = -1, c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'h')
			home = optarg;
		else if (c == 'n')
			name = optarg;
		else if (c == 'r')
			ready = atoi(optarg);
		else if (c == 'c')
			cfgfd = atoi(optarg);
		else
			return 2;
	}
	if (!home || !name) {
		report(ready, "internal: supervisor needs --home and --name");
		return 2;
	}
	if (cfgfd >= 0) {
		/*
		 * The starter sends the configuration (no store round trip at boot)
		 * as JSON up to a NUL; the gate byte follows on the same socket, so
		 * read one byte at a time and stop at the NUL.
		 */
		struct buf b = {0};
		char ch;
		while (read(cfgfd, &ch, 1) == 1 && ch != '\0' && b.len < (16u << 20))
			buf_append(&b, &ch, 1);
		buf_append(&b, "", 0);
		config = b.data;
	}
	return supervisor_run(home, name, config, ready, cfgfd);
}
