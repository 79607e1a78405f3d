// SPDX-License-Identifier: Apache-2.0
/*
 * spawn.c - decode an EXEC request and start the command.
 *
 * The child runs, in order: new session (so it cannot push keystrokes into
 * any terminal it did not get: TIOCSTI), controlling pty or pipes, working
 * directory, user and groups, rlimits, the restricted profile, then execve
 * with an environment built only from the request. Any failure is reported to
 * the parent over a CLOEXEC pipe as {errno, stage} and the child exits 127;
 * the parent turns that into a FAILED frame.
 */
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

#include "agent.h"
#include "util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

void agent_conf_load(struct agent_conf *c, int argc, char **argv)
{
	memset(c, 0, sizeof(*c));
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--restricted") == 0)
			c->restricted = true;
}

static char **strv_from_fields(const struct proto_msg *m, uint16_t tag, bool *ok)
{
	size_t n = proto_count(m, tag), k = 0;
	char **v = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < m->n; i++) {
		if (m->f[i].tag != tag)
			continue;
		if (!proto_field_is_str(&m->f[i]))
			*ok = false;
		v[k++] = xstrndup((const char *)m->f[i].val, m->f[i].len);
	}
	return v;
}

static void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

void agent_exec_req_free(struct agent_exec_req *req)
{
	strv_free(req->argv);
	strv_free(req->envp);
	free(req->cwd);
	free(req->user);
	memset(req, 0, sizeof(*req));
}

static char *opt_str(const struct proto_msg *m, uint16_t tag, bool *ok)
{
	const struct proto_field *f = proto_get(m, tag);
	if (!f)
		return NULL;
	if (!proto_field_is_str(f) || f->len == 0) {
		*ok = false;
		return NULL;
	}
	return xstrndup((const char *)f->val, f->len);
}

static int decode_rlimits(const struct proto_msg *m, struct agent_exec_req *req)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct proto_field *f = &m->f[i];
		const uint8_t *p = f->val;
		if (f->tag != T_RLIMIT)
			continue;
		if (f->len != 20 || req->n_rlimits >= AGENT_MAX_RLIMITS)
			return -1;
		req->rlimits[req->n_rlimits].resource = (int)(((uint32_t)p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]);
		req->rlimits[req->n_rlimits].soft = 0;
		req->rlimits[req->n_rlimits].hard = 0;
		for (int b = 0; b < 8; b++) {
			req->rlimits[req->n_rlimits].soft = (req->rlimits[req->n_rlimits].soft << 8) | p[4 + b];
			req->rlimits[req->n_rlimits].hard = (req->rlimits[req->n_rlimits].hard << 8) | p[12 + b];
		}
		req->n_rlimits++;
	}
	return 0;
}

int agent_exec_req_decode(const struct proto_msg *m, struct agent_exec_req *req, char *msg, size_t msglen)
{
	bool ok = true;
	uint32_t v;

	memset(req, 0, sizeof(*req));
	req->argv = strv_from_fields(m, T_ARG, &ok);
	req->envp = strv_from_fields(m, T_ENV, &ok);
	req->cwd = opt_str(m, T_CWD, &ok);
	req->user = opt_str(m, T_USER, &ok);
	req->tty = proto_get(m, T_TTY) != NULL;
	req->stdin_null = proto_get(m, T_STDIN_NULL) != NULL;
	req->rows = proto_get_u32(m, T_ROWS, &v) == 0 && v && v < 65536 ? (unsigned short)v : 24;
	req->cols = proto_get_u32(m, T_COLS, &v) == 0 && v && v < 65536 ? (unsigned short)v : 80;
	if (!ok || !req->argv[0] || !req->argv[0][0]) {
		snprintf(msg, msglen, "malformed exec request: %s", !ok ? "bad string field" : "empty command");
		return -EINVAL;
	}
	for (char **e = req->envp; *e; e++) {
		if (!strchr(*e, '=') || **e == '=') {
			snprintf(msg, msglen, "malformed environment entry \"%s\"", *e);
			return -EINVAL;
		}
	}
	if (decode_rlimits(m, req) < 0) {
		snprintf(msg, msglen, "malformed rlimit in exec request");
		return -EINVAL;
	}
	return 0;
}

static const char *env_get(char **envp, const char *key)
{
	size_t kl = strlen(key);
	for (char **e = envp; *e; e++)
		if (strncmp(*e, key, kl) == 0 && (*e)[kl] == '=')
			return *e + kl + 1;
	return NULL;
}

/* Environment = request env, plus PATH, HOME and TERM defaults where absent. */
static char **build_env(const struct agent_exec_req *req, const struct agent_user *u)
{
	size_t n = 0;
	char **env;
	for (char **e = req->envp; *e; e++)
		n++;
	env = xcalloc(n + 4, sizeof(char *));
	n = 0;
	for (char **e = req->envp; *e; e++)
		env[n++] = *e;
	if (!env_get(req->envp, "PATH"))
		env[n++] = (char *)"PATH=" DEFAULT_PATH;
	if (!env_get(req->envp, "HOME") && u->home[0])
		env[n++] = xasprintf("HOME=%s", u->home);
	if (req->tty && !env_get(req->envp, "TERM"))
		env[n++] = (char *)"TERM=xterm";
	return env;
}

/* execvpe() searches the *caller's* PATH; search the command's own PATH instead. */
static void exec_search(const char *file, char **argv, char **envp)
{
	const char *path = env_get(envp, "PATH");
	char buf[4096];
	int last = ENOENT;

	if (strchr(file, '/')) {
		execve(file, argv, envp);
		return;
	}
	if (!path)
		path = DEFAULT_PATH;
	while (*path) {
		const char *end = strchrnul(path, ':');
		size_t dl = (size_t)(end - path);
		/* an empty component means ".": count the byte it takes */
		if ((dl ? dl : 1) + 1 + strlen(file) + 1 <= sizeof(buf)) {
			memcpy(buf, path, dl);
			if (dl == 0)
				buf[dl++] = '.';
			buf[dl] = '/';
			strcpy(buf + dl + 1, file);
			execve(buf, argv, envp);
			if (errno != ENOENT && errno != ENOTDIR)
				last = errno;
		}
		path = *end ? end + 1 : end;
	}
	errno = last;
}

/* The restricted profile: no_new_privs and CAP_SYS_ADMIN gone from every set. */
static int apply_restricted(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	d[0].effective &= ~(1u << CAP_SYS_ADMIN);
	d[0].permitted &= ~(1u << CAP_SYS_ADMIN);
	d[0].inheritable &= ~(1u << CAP_SYS_ADMIN);
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	return 0;
}

static const char *const stage_names[] = {"setsid", "pty", "stdio", "user", "cwd", "rlimit", "security", "exec"};

struct child_err {
	int err;
	char stage[16];
	char msg[200];
};

static _Noreturn void child_fail(int pipefd, int e, const char *stage, const char *msg)
{
	struct child_err ce = {.err = e};
	snprintf(ce.stage, sizeof(ce.stage), "%s", stage);
	snprintf(ce.msg, sizeof(ce.msg), "%s", msg ? msg : "");
	(void)!write(pipefd, &ce, sizeof(ce));
	_exit(127);
}

static _Noreturn void child_main(const struct agent_conf *conf, const struct agent_exec_req *req, int errfd,
				 int in_r, int out_w, int err_w, int pty_slave)
{
	struct agent_user u = {0};
	char msg[300];
	sigset_t none;
	char **env;

	/* agentd only ignores SIGPIPE and blocks the signals it reads from a signalfd: undo both */
	sigemptyset(&none);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (setsid() < 0)
		child_fail(errfd, errno, "setsid", NULL);
	if (pty_slave >= 0) {
		if (ioctl(pty_slave, TIOCSCTTY, 0) < 0)
			child_fail(errfd, errno, "pty", "cannot make the pty the controlling terminal");
		in_r = out_w = err_w = pty_slave;
	}
	if (dup2(in_r, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
		child_fail(errfd, errno, "stdio", NULL);
	/* nothing but stdio and the error pipe crosses exec */
	syscall(SYS_close_range, 3, ~0u, CLOSE_RANGE_CLOEXEC);
	if (req->user && agent_resolve_user(req->user, &u, msg, sizeof(msg)) < 0)
		child_fail(errfd, EINVAL, "user", msg);
	if (!req->user) {
		u.uid = 0;
		u.gid = 0;
		agent_resolve_user("0", &u, msg, sizeof(msg));
	}
	if (req->cwd && chdir(req->cwd) < 0)
		child_fail(errfd, errno, "cwd", req->cwd);
	if (!req->cwd && chdir("/") < 0)
		child_fail(errfd, errno, "cwd", "/");
	for (size_t i = 0; i < req->n_rlimits; i++) {
		struct rlimit rl = {.rlim_cur = req->rlimits[i].soft, .rlim_max = req->rlimits[i].hard};
		if (setrlimit(req->rlimits[i].resource, &rl) < 0)
			child_fail(errfd, errno, "rlimit", NULL);
	}
	if (conf->restricted) {
		int r = apply_restricted();
		if (r < 0)
			child_fail(errfd, -r, "security", "cannot apply the restricted profile");
	}
	if (req->user) {
		/* with a single mapped id (no subordinate ids on the host) setgroups is denied */
		if (u.known ? setgroups((size_t)u.n_groups, u.groups) < 0 : setgroups(0, NULL) < 0)
			child_fail(errfd, errno, "user",
				   "cannot switch user: this sandbox maps only uid 0 (no subordinate ids on the host)");
		if (setresgid(u.gid, u.gid, u.gid) < 0 || setresuid(u.uid, u.uid, u.uid) < 0)
			child_fail(errfd, errno, "user", "cannot switch to the requested user: its id is not mapped");
	}
	env = build_env(req, &u);
	exec_search(req->argv[0], req->argv, env);
	child_fail(errfd, errno, "exec", req->argv[0]);
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int spawn_fail(struct agent_spawn_result *res, const char *stage, int e, char *msg, size_t msglen,
		      const char *what)
{
	res->stage = stage;
	snprintf(msg, msglen, "%s: %s", what, strerror(e));
	return -e;
}

int agent_spawn(const struct agent_conf *conf, const struct agent_exec_req *req, struct agent_spawn_result *res,
		char *msg, size_t msglen)
{
	int ep[2], in[2] = {-1, -1}, o[2] = {-1, -1}, e[2] = {-1, -1}, master = -1, slave = -1;
	struct child_err ce;
	ssize_t n;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	res->out_fd = res->err_fd = res->in_fd = -1;
	if (pipe2(ep, O_CLOEXEC) < 0)
		return spawn_fail(res, "fork", errno, msg, msglen, "pipe");
	if (req->tty) {
		struct winsize ws = {.ws_row = req->rows, .ws_col = req->cols};
		if (openpty(&master, &slave, NULL, NULL, &ws) < 0) {
			close(ep[0]);
			close(ep[1]);
			return spawn_fail(res, "pty", errno, msg, msglen, "openpty");
		}
		fcntl(master, F_SETFD, FD_CLOEXEC);
	} else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0) {
		int er = errno;
		for (int *p = &in[0]; p <= &e[1]; p++)
			if (*p >= 0)
				close(*p);
		close(ep[0]);
		close(ep[1]);
		return spawn_fail(res, "fork", er, msg, msglen, "pipe");
	}
	pid = fork();
	if (pid == 0) {
		close(ep[0]);
		child_main(conf, req, ep[1], in[0], o[1], e[1], slave);
	}
	close(ep[1]);
	if (req->tty) {
		close(slave);
	} else {
		close(in[0]);
		close(o[1]);
		close(e[1]);
	}
	if (pid < 0) {
		int er = errno;
		close(ep[0]);
		if (req->tty)
			close(master);
		else {
			close(in[1]);
			close(o[0]);
			close(e[0]);
		}
		return spawn_fail(res, "fork", er, msg, msglen, "fork");
	}
	n = util_read_full(ep[0], &ce, sizeof(ce));
	close(ep[0]);
	if (n == (ssize_t)sizeof(ce)) {
		waitpid(pid, NULL, 0);
		if (req->tty)
			close(master);
		else {
			close(in[1]);
			close(o[0]);
			close(e[0]);
		}
		res->stage = "exec";
		for (size_t i = 0; i < ARRAY_SIZE(stage_names); i++)
			if (strcmp(ce.stage, stage_names[i]) == 0)
				res->stage = stage_names[i];
		snprintf(msg, msglen, "%s%s%s", ce.msg, ce.msg[0] ? ": " : "", strerror(ce.err));
		return -ce.err;
	}
	res->pid = pid;
	res->tty = req->tty;
	if (req->tty) {
		set_nonblock(master);
		res->out_fd = res->in_fd = master;
	} else {
		set_nonblock(o[0]);
		set_nonblock(e[0]);
		set_nonblock(in[1]);
		res->out_fd = o[0];
		res->err_fd = e[0];
		res->in_fd = in[1];
		if (req->stdin_null) {
			close(in[1]);
			res->in_fd = -1;
		}
	}
	return 0;
}
