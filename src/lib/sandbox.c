// SPDX-License-Identifier: Apache-2.0
/*
 * sandbox.c - the lifecycle: create, start, stop, remove, get, list.
 *
 * Ordering that keeps the store consistent under crashes and races:
 *   create: validate -> INSERT row (the name's UNIQUE constraint arbitrates
 *           concurrent creates) -> make the directory -> spawn the supervisor
 *           and wait for "ready". Any failure after the INSERT removes both the
 *           directory and the row, so nothing half-made remains.
 *   stop:   ask the supervisor over the control socket; it records Stopped.
 *           If it is unreachable or too slow it is killed, and the sandbox dies
 *           with it (PR_SET_PDEATHSIG); then the CLI records Stopped.
 *   get:    a row that says Running whose supervisor is gone is reconciled to
 *           Crashed on the next look (ephemeral ones are removed).
 */
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "config.h"
#include "image/imgstore.h"
#include "image/ref.h"
#include "ns/ns.h"
#include "msb.h"
#include "parse.h"
#include "proto.h"
#include "sandbox.h"

static const char *self_exe(char *buf, size_t len)
{
	const char *env = getenv("MSB_PATH");
	ssize_t n;
	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", buf, len - 1);
	if (n > 0) {
		buf[n] = '\0';
		const char *base = strrchr(buf, '/');
		if (base && strcmp(base + 1, "msb") == 0)
			return buf;
	}
	return "msb";
}

int sandbox_ctl_connect(struct msb_ctx *ctx, const char *name, msb_error *err)
{
	char *dir = msb_sandbox_dir(ctx, name);
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd;
	free(dir);
	if (dfd < 0)
		return msb_err_set(err, MSB_ERR_NOT_FOUND, errno, "sandbox \"%s\" has no directory", name);
	fd = fs_unix_connect_at(dfd, CTL_SOCK_NAME);
	close(dfd);
	if (fd < 0)
		return msb_err_set(err, MSB_ERR_STATE, -fd, "sandbox \"%s\" is not running (control socket: %s)", name,
				   strerror(-fd));
	return fd;
}

/*
 * Spawn `msb sandbox` detached (double fork, new session) and read its
 * verdict from a pipe: "ok" once the agent said hello, or an error message.
 */
/* Is the calling process single-threaded (num_threads, field 20 of /proc/self/stat)? */
static bool single_threaded(void)
{
	char buf[1024], *p;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	long threads = 0;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %ld", &threads) != 1)
		return false;
	return threads == 1;
}

/*
 * Spawn the supervisor (double fork, new session) and read its verdict from
 * a pipe: "ok" once its agent said hello, or an error message. The config
 * socket carries the configuration (exec path: JSON then a NUL) and then the
 * gate: one byte, 'R' once the sandbox's record exists, after @record ran
 * while the sandbox boots; anything else cancels the boot.
 */
int sandbox_spawn_supervisor(struct msb_ctx *ctx, const char *name, const char *config_json,
			     int (*record)(void *arg), void *record_arg, msb_error *err)
{
	char exe[4096], fdarg[16], buf[1100];
	const char *path = self_exe(exe, sizeof(exe));
	bool in_process = single_threaded();
	int pfd[2], cfd[2], st, r = 0;
	ssize_t n;
	pid_t c;

	/*
	 * SQLite state must not cross fork(): its per-process lock bookkeeping
	 * would make the child's own connection wait on locks only the parent
	 * holds. Close ours; it reopens lazily on the next store call.
	 */
	if (in_process)
		store_close(ctx);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return msb_err_sys(err, errno, "pipe");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cfd) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return msb_err_sys(err, errno, "socketpair");
	}
	c = fork();
	if (c < 0) {
		close(pfd[0]);
		close(pfd[1]);
		close(cfd[0]);
		close(cfd[1]);
		return msb_err_sys(err, errno, "fork");
	}
	if (c == 0) {
		int nul, logfd;
		char *logp = xasprintf("%s/sandboxes/%s/logs/runtime.log", ctx->home, name);
		setsid();
		if (fork() != 0)
			_exit(0);
		nul = open("/dev/null", O_RDWR);
		logfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		dup2(nul, 0);
		dup2(logfd >= 0 ? logfd : nul, 1);
		dup2(logfd >= 0 ? logfd : nul, 2);
		/* the supervisor inherits stdio, the ready pipe (fd 3) and the config socket (fd 4), nothing else */
		int rfd = 3;
		if (dup2(pfd[1], rfd) < 0 || dup2(cfd[1], 4) < 0)
			_exit(127);
		syscall(SYS_close_range, 5, ~0u, 0);
		snprintf(fdarg, sizeof(fdarg), "%d", rfd);
		if (in_process) {
			/*
			 * We are a fork of a single-threaded caller (the CLI): become
			 * the supervisor here and save an exec. A threaded caller (an
			 * SDK embedding libmsb) gets a clean exec of msb below.
			 */
			prctl(PR_SET_NAME, "msb-sandbox");
			_exit(supervisor_run(ctx->home, name, config_json, rfd, 4));
		}
		execl(path, "msb", "sandbox", "--home", ctx->home, "--name", name, "--ready-fd", fdarg, "--config-fd", "4",
		      (char *)NULL);
		dprintf(rfd, "cannot execute %s: %s", path, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	close(cfd[1]);
	if (!in_process && config_json)
		(void)!send(cfd[0], config_json, strlen(config_json) + 1, MSG_NOSIGNAL);
	/* the record is written while the sandbox boots; the gate byte tells the supervisor how it went */
	if (record)
		r = record(record_arg);
	(void)!send(cfd[0], r == 0 ? "R" : "A", 1, MSG_NOSIGNAL);
	close(cfd[0]);
	while (waitpid(c, &st, 0) < 0 && errno == EINTR)
		;
	n = util_read_full(pfd[0], buf, sizeof(buf) - 1);
	close(pfd[0]);
	if (r < 0)
		return r;
	if (n < 0)
		return msb_err_sys(err, (int)-n, "reading the supervisor's status");
	buf[n > 0 ? n : 0] = '\0';
	if (strcmp(buf, "ok") == 0)
		return 0;
	return msb_err_set(err, MSB_ERR_SYSTEM, 0, "sandbox \"%s\" failed to start: %s", name,
			   n > 0 ? buf : "the supervisor exited without a status (see its runtime.log)");
}

int sandbox_remove_dir(struct msb_ctx *ctx, const char *name, msb_error *err)
{
	int sfd = openat(ctx->home_fd, "sandboxes", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;
	if (sfd < 0)
		return msb_err_sys(err, errno, "open %s/sandboxes", ctx->home);
	r = ns_rm_rf_at(sfd, name); /* files of subordinate ids: as the sandbox's root */
	close(sfd);
	if (r < 0)
		return msb_err_sys(err, -r, "cannot remove the directory of sandbox \"%s\"", name);
	return 0;
}

char *sandbox_trash_dir(struct msb_ctx *ctx, const char *name)
{
	char *from = xasprintf("sandboxes/%s", name), *to;
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)getpid();
	mkdirat(ctx->home_fd, "trash", 0700);
	to = xasprintf("%s.%08x", name, r);
	{
		char *dst = xasprintf("trash/%s", to);
		if (renameat(ctx->home_fd, from, ctx->home_fd, dst) < 0) {
			free(to);
			to = NULL;
		}
		free(dst);
	}
	free(from);
	return to;
}

void sandbox_remove_trash(struct msb_ctx *ctx, const char *trash_name)
{
	int tfd = openat(ctx->home_fd, "trash", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0)
		return;
	ns_rm_rf_at(tfd, trash_name);
	close(tfd);
}

static void random_name(char out[MSB_NAME_MAX + 1])
{
	uint32_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)util_wall_ms() ^ (uint32_t)getpid();
	snprintf(out, MSB_NAME_MAX + 1, "msb-%08x", v);
}

/*
 * Claim @name by creating its directory: mkdir is atomic, so of two
 * concurrent creates exactly one succeeds, before either has written the
 * store. EEXIST means the name is taken (or left by an interrupted create,
 * which `msb rm` clears).
 */
static int make_dirs(struct msb_ctx *ctx, const char *name, msb_error *err)
{
	char *dir = msb_sandbox_dir(ctx, name);
	char *p;
	int r = 0;
	if (mkdir(dir, 0700) < 0)
		r = errno == EEXIST ? msb_err_set(err, MSB_ERR_EXISTS, EEXIST,
						  "sandbox \"%s\" already exists (use --replace to recreate it, or "
						  "pick another name)",
						  name)
				    : msb_err_sys(err, errno, "cannot create %s", dir);
	for (const char *const *s = (const char *const[]){"logs", "fs", NULL}; r == 0 && *s; s++) {
		p = xasprintf("%s/%s", dir, *s);
		if (mkdir(p, 0700) < 0)
			r = msb_err_sys(err, errno, "cannot create %s", p);
		free(p);
	}
	free(dir);
	return r;
}

/* An exclusive lock for one sandbox name (sandboxes/.NAME.lock); released by closing the fd. */
static int name_lock(struct msb_ctx *ctx, const char *name)
{
	char *p = xasprintf("sandboxes/.%s.lock", name);
	int fd = openat(ctx->home_fd, p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	free(p);
	if (fd >= 0)
		while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
			;
	return fd;
}

struct insert_args {
	struct msb_ctx *ctx;
	const char *name, *image, *json;
	int ephemeral;
	const char *const *kv;
	size_t nkv;
	msb_error *err;
	bool inserted;
};

static int insert_record(void *p)
{
	struct insert_args *a = p;
	int r = store_insert_sandbox(a->ctx, a->name, a->image, a->json, a->ephemeral, a->kv, a->nkv, a->err);
	a->inserted = r == 0;
	return r;
}

/*
 * As root, give each sandbox its own 65536 host ids: a random slot of a pool
 * of 32768 ranges above NS_ROOT_ID_BASE, so one sandbox's ids are not
 * another's (files in a shared bind, signals). Random, not searched: reading
 * every record would put the store on the start-up path. Two sandboxes draw
 * the same range with probability 1/32768 per pair, and then merely share
 * ids, as every root sandbox did before ranges were per sandbox.
 */
static uint64_t pick_id_base(void)
{
	uint32_t slot = 0;
	if (getrandom(&slot, sizeof(slot), 0) != sizeof(slot))
		slot = (uint32_t)util_now_ms() * 2654435761u ^ (uint32_t)getpid();
	return NS_ROOT_ID_BASE + (uint64_t)(slot % NS_ROOT_ID_SLOTS) * NS_ID_COUNT;
}

MSB_EXPORT int msb_running(msb_ctx *ctx, const char *name);

/* Merge image ENV under the sandbox's own env, by key. */
static void merge_env(json_t *obj, const json_t *image_env)
{
	json_t *mine = json_object_get(obj, "env"), *out = json_array(), *v;
	size_t i, j;

	json_array_foreach(image_env, i, v)
	{
		const char *e = json_string_value(v), *eq = e ? strchr(e, '=') : NULL;
		bool overridden = false;
		json_t *m;
		if (!eq)
			continue;
		json_array_foreach(mine, j, m)
		{
			const char *me = json_string_value(m);
			if (me && strncmp(me, e, (size_t)(eq - e) + 1) == 0)
				overridden = true;
		}
		if (!overridden)
			json_array_append(out, v);
	}
	json_array_extend(out, mine ? mine : json_array());
	json_object_set_new(obj, "env", out);
}

/*
 * Resolve the image of a new sandbox. `host` is built in; anything else must
 * be in the image store (the CLI pulls first, per --pull). The sandbox pins
 * the manifest digest and its layers, and takes the image config's defaults
 * (spec/runtime.md §5): ENV under its own env, WorkingDir and User unless
 * given, Entrypoint/Cmd for the command, StopSignal.
 */
static int resolve_image(struct msb_ctx *ctx, json_t *obj, msb_error *err)
{
	const char *image = config_str(obj, "image");
	json_t *rec = NULL, *cfg, *layers, *l;
	char *canonical = NULL;
	size_t i;
	int r;

	if (strcmp(image, "host") == 0)
		return 0;
	if (img_ref_is_local_path(image))
		return msb_err_set(err, MSB_ERR_UNSUPPORTED, 0,
				   "image \"%s\" is a local path: rootfs directories and disk images are not supported "
				   "yet; use an OCI image (msb pull / msb load) or `host`",
				   image);
	r = imgstore_find(ctx, image, &canonical, &rec, err);
	if (r < 0) {
		if (r == -MSB_ERR_NOT_FOUND)
			msb_err_set(err, MSB_ERR_NOT_FOUND, 0, "image not found: %s (pull it first: msb pull %s)", image,
				    image);
		return r;
	}
	cfg = json_object_get(rec, "config");
	json_object_set_new(obj, "image_ref", json_string(canonical));
	json_object_set(obj, "image_digest", json_object_get(rec, "manifest_digest"));
	layers = json_array();
	json_array_foreach(json_object_get(rec, "layers"), i, l)
		json_array_append(layers, json_object_get(l, "diff_id"));
	json_object_set_new(obj, "layers", layers);
	merge_env(obj, json_object_get(cfg, "env"));
	if (!config_str(obj, "workdir") && json_string_value(json_object_get(cfg, "working_dir")))
		json_object_set(obj, "workdir", json_object_get(cfg, "working_dir"));
	if (!config_str(obj, "user") && json_string_value(json_object_get(cfg, "user")))
		json_object_set(obj, "user", json_object_get(cfg, "user"));
	if (json_is_array(json_object_get(cfg, "entrypoint")))
		json_object_set(obj, "image_entrypoint", json_object_get(cfg, "entrypoint"));
	if (json_is_array(json_object_get(cfg, "cmd")))
		json_object_set(obj, "image_cmd", json_object_get(cfg, "cmd"));
	if (json_string_value(json_object_get(cfg, "stop_signal")))
		json_object_set(obj, "stop_signal", json_object_get(cfg, "stop_signal"));
	free(canonical);
	json_decref(rec);
	return 0;
}

static int replace_existing(struct msb_ctx *ctx, const char *name, const json_t *cfg, msb_error *err)
{
	msb_sandbox_info info;
	uint64_t ms = config_u64(cfg, "replace_timeout_ms", 10000);
	int r = sandbox_get(ctx, name, &info, NULL);
	if (r < 0)
		return 0;
	msb_sandbox_info_clear(&info);
	r = msb_stop(ctx, name, (unsigned)((ms + 999) / 1000), ms == 0, err);
	if (r < 0 && err && err->code != MSB_ERR_STATE)
		return r;
	return msb_remove(ctx, name, 1, err);
}

MSB_EXPORT int msb_create(msb_ctx *ctx, const msb_config *cfg, char name_out[MSB_NAME_MAX + 1], msb_error *err)
{
	json_t *obj = json_deep_copy(cfg->obj);
	const char *image, *name;
	char gen[MSB_NAME_MAX + 1], host[MSB_NAME_MAX + 1];
	char *json = NULL, **kv = NULL;
	size_t nkv = 0;
	const char *k;
	json_t *v, *labels;
	int r, lockfd = -1;

	if (!json_string_value(json_object_get(obj, "image")))
		json_object_set_new(obj, "image", json_string("host"));
	image = config_str(obj, "image");
	r = resolve_image(ctx, obj, err);
	if (r < 0)
		goto out;
	name = config_str(obj, "name");
	if (!name) {
		random_name(gen);
		json_object_set_new(obj, "name", json_string(gen));
		name = config_str(obj, "name");
	}
	if (!config_str(obj, "hostname")) {
		parse_hostname_from_name(name, host);
		json_object_set_new(obj, "hostname", json_string(host));
	}
	if (json_is_true(json_object_get(obj, "replace"))) {
		/* racing --replace creates of one name take turns: stop, remove and claim as one step */
		lockfd = name_lock(ctx, name);
		r = replace_existing(ctx, name, obj, err);
		if (r < 0)
			goto out;
	}
	labels = json_object_get(obj, "labels");
	json_object_foreach(labels, k, v)
	{
		kv = xrealloc(kv, (nkv + 1) * 2 * sizeof(char *));
		kv[2 * nkv] = (char *)k;
		kv[2 * nkv + 1] = (char *)json_string_value(v);
		nkv++;
	}
	if (geteuid() == 0)
		json_object_set_new(obj, "id_base", json_integer((json_int_t)pick_id_base()));
	json = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	r = make_dirs(ctx, name, err);
	if (r < 0) {
		if (r != -MSB_ERR_EXISTS)
			sandbox_remove_dir(ctx, name, NULL);
		goto out;
	}
	{
		/* the record is written while the sandbox boots (see sandbox_spawn_supervisor) */
		struct insert_args ia = {ctx, name, image, json, json_is_true(json_object_get(obj, "ephemeral")),
					 (const char *const *)kv, nkv, err, false};
		r = sandbox_spawn_supervisor(ctx, name, json, insert_record, &ia, err);
		if (r < 0) {
			sandbox_remove_dir(ctx, name, NULL);
			if (ia.inserted)
				store_delete_sandbox(ctx, name, NULL);
			goto out;
		}
	}
	if (name_out)
		snprintf(name_out, MSB_NAME_MAX + 1, "%s", name);
out:
	if (lockfd >= 0)
		close(lockfd);
	free(kv);
	free(json);
	json_decref(obj);
	return r;
}

int sandbox_get(struct msb_ctx *ctx, const char *name, msb_sandbox_info *out, msb_error *err)
{
	uint64_t start = 0;
	int r = store_get_sandbox(ctx, name, out, &start, err);
	if (r < 0)
		return r;
	if ((out->status == MSB_STATUS_RUNNING || out->status == MSB_STATUS_DRAINING ||
	     out->status == MSB_STATUS_STARTING) &&
	    !proc_alive(out->supervisor_pid, start)) {
		int st = out->status == MSB_STATUS_DRAINING ? MSB_STATUS_STOPPED : MSB_STATUS_CRASHED;
		store_set_status(ctx, name, st, 0, 0, NULL);
		store_run_end(ctx, name, st == MSB_STATUS_CRASHED ? "InternalError" : "ShutdownRequested", -1, NULL);
		out->status = st;
		out->supervisor_pid = 0;
	}
	return 0;
}

MSB_EXPORT int msb_get(msb_ctx *ctx, const char *name, msb_sandbox_info *out, msb_error *err)
{
	int r = msb_name_valid(name, err);
	return r < 0 ? r : sandbox_get(ctx, name, out, err);
}

MSB_EXPORT int msb_list(msb_ctx *ctx, msb_sandbox_info **out, size_t *n, msb_error *err)
{
	msb_sandbox_info *v;
	size_t k;
	int r = store_list_sandboxes(ctx, &v, &k, err);
	if (r < 0)
		return r;
	/* reconcile each row the same way msb_get does */
	for (size_t i = 0; i < k; i++) {
		msb_sandbox_info fresh;
		if (sandbox_get(ctx, v[i].name, &fresh, NULL) == 0) {
			msb_sandbox_info_clear(&v[i]);
			v[i] = fresh;
		}
	}
	*out = v;
	*n = k;
	return 0;
}

MSB_EXPORT int msb_start(msb_ctx *ctx, const char *name, msb_error *err)
{
	msb_sandbox_info info;
	char *config;
	int r = msb_get(ctx, name, &info, err);
	if (r < 0)
		return r;
	r = info.status;
	config = steal_ptr(&info.config_json);
	msb_sandbox_info_clear(&info);
	if (r == MSB_STATUS_RUNNING || r == MSB_STATUS_DRAINING) {
		free(config);
		return msb_err_set(err, MSB_ERR_STATE, 0, "sandbox \"%s\" is already running", name);
	}
	if (r != MSB_STATUS_STOPPED && r != MSB_STATUS_CRASHED && r != MSB_STATUS_CREATED) {
		free(config);
		return msb_err_set(err, MSB_ERR_STATE, 0, "sandbox '%s' is in state %s and cannot be started", name,
				   msb_status_name(r));
	}
	r = sandbox_spawn_supervisor(ctx, name, config, NULL, NULL, err);
	free(config);
	return r;
}

/*
 * Wait until @pid (identified by @start) is gone, up to @ms. Return true if it is gone.
 * A pidfd becomes readable when the process exits, even while it is a zombie
 * its parent has not reaped yet, which kill(pid, 0) would still report alive.
 */
static bool wait_gone(pid_t pid, uint64_t start, uint64_t ms)
{
	uint64_t until = util_now_ms() + ms;
	int pfd;

	if (!proc_alive(pid, start))
		return true;
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd >= 0) {
		struct pollfd p = {.fd = pfd, .events = POLLIN};
		int r;
		/* the pid may have been reused between the check and pidfd_open */
		if (start && proc_start_time(pid) != start) {
			close(pfd);
			return true;
		}
		do
			r = poll(&p, 1, (int)ms);
		while (r < 0 && errno == EINTR);
		close(pfd);
		return r > 0;
	}
	while (util_now_ms() < until) {
		if (!proc_alive(pid, start))
			return true;
		usleep(5000);
	}
	return !proc_alive(pid, start);
}

static int stop_via_socket(struct msb_ctx *ctx, const char *name, unsigned timeout_s, msb_error *err)
{
	struct proto_enc e = {0};
	int fd = sandbox_ctl_connect(ctx, name, err);
	char c;
	if (fd < 0)
		return fd;
	proto_enc_begin(&e, PROTO_CTL_STOP, 0);
	proto_enc_u64(&e, T_TIMEOUT_MS, (uint64_t)timeout_s * 1000);
	proto_enc_end(&e);
	proto_write_enc(fd, &e);
	proto_enc_free(&e);
	/* the supervisor closes the connection when it exits */
	{
		struct pollfd p = {.fd = fd, .events = POLLIN};
		poll(&p, 1, (int)(timeout_s * 1000 + 5000));
		while (read(fd, &c, 1) > 0) {
		}
	}
	close(fd);
	return 0;
}

MSB_EXPORT int msb_stop(msb_ctx *ctx, const char *name, unsigned timeout_s, int force, msb_error *err)
{
	msb_sandbox_info info;
	uint64_t start = 0;
	pid_t pid;
	int r = msb_get(ctx, name, &info, err);

	if (r < 0)
		return r;
	r = info.status;
	msb_sandbox_info_clear(&info);
	if (r != MSB_STATUS_RUNNING && r != MSB_STATUS_DRAINING)
		return msb_err_set(err, MSB_ERR_STATE, 0, "sandbox \"%s\" is not running (status %s)", name,
				   msb_status_name(r));
	store_get_sandbox(ctx, name, &info, &start, NULL);
	pid = info.supervisor_pid;
	msb_sandbox_info_clear(&info);
	if (!force && timeout_s > 0) {
		stop_via_socket(ctx, name, timeout_s, NULL);
		/* the supervisor records the outcome before it closes the socket */
		if (store_get_sandbox(ctx, name, &info, NULL, NULL) < 0)
			return 0; /* ephemeral: already removed */
		r = info.status;
		msb_sandbox_info_clear(&info);
		if (r == MSB_STATUS_STOPPED || wait_gone(pid, start, 2000))
			goto done;
	}
	if (proc_alive(pid, start))
		kill(pid, SIGKILL);
	if (!wait_gone(pid, start, 5000))
		return msb_err_set(err, MSB_ERR_TIMEOUT, 0, "sandbox \"%s\" did not stop (supervisor pid %d)", name,
				   (int)pid);
done:
	/* the supervisor records Stopped itself; after a kill we do it */
	if (store_get_sandbox(ctx, name, &info, NULL, NULL) == 0) {
		if (info.status == MSB_STATUS_RUNNING || info.status == MSB_STATUS_DRAINING) {
			store_set_status(ctx, name, MSB_STATUS_STOPPED, 0, 0, NULL);
			store_run_end(ctx, name, "Signal", -1, NULL);
		}
		if (info.ephemeral) {
			sandbox_remove_dir(ctx, name, NULL);
			store_delete_sandbox(ctx, name, NULL);
		}
		msb_sandbox_info_clear(&info);
	}
	return 0;
}

MSB_EXPORT int msb_remove(msb_ctx *ctx, const char *name, int force, msb_error *err)
{
	msb_sandbox_info info;
	int r = msb_get(ctx, name, &info, err);
	int st;
	if (r == -MSB_ERR_NOT_FOUND) {
		/* a directory left by an interrupted create has no record: clear it */
		char *dir = msb_sandbox_dir(ctx, name);
		struct stat sb;
		bool leftover = lstat(dir, &sb) == 0;
		free(dir);
		if (leftover) {
			/* a live supervisor without a record is an orphan: end it before removing its tree */
			if (msb_running(ctx, name)) {
				stop_via_socket(ctx, name, 1, NULL);
				usleep(100000);
			}
			return sandbox_remove_dir(ctx, name, err);
		}
	}
	if (r < 0)
		return r;
	st = info.status;
	msb_sandbox_info_clear(&info);
	if (st == MSB_STATUS_RUNNING || st == MSB_STATUS_DRAINING || st == MSB_STATUS_PAUSED) {
		if (!force)
			return msb_err_set(err, MSB_ERR_STATE, 0,
					   "sandbox still running: cannot remove sandbox \"%s\": status is %s "
					   "(stop it first, or use --force)",
					   name, msb_status_name(st));
		r = msb_stop(ctx, name, 0, 1, err);
		if (r < 0)
			return r;
	}
	r = sandbox_remove_dir(ctx, name, err);
	if (r < 0)
		return r;
	return store_delete_sandbox(ctx, name, err);
}

MSB_EXPORT int msb_own(msb_ctx *ctx, const char *name, msb_error *err)
{
	struct proto_enc e = {0};
	int fd = sandbox_ctl_connect(ctx, name, err);
	if (fd < 0)
		return fd;
	proto_enc_begin(&e, PROTO_CTL_OWN, 0);
	proto_enc_end(&e);
	if (proto_write_enc(fd, &e) < 0) {
		close(fd);
		fd = msb_err_sys(err, errno, "cannot hold sandbox \"%s\"", name);
	}
	proto_enc_free(&e);
	return fd;
}

MSB_EXPORT int msb_running(msb_ctx *ctx, const char *name)
{
	int fd;
	if (msb_name_valid(name, NULL) < 0)
		return 0;
	fd = sandbox_ctl_connect(ctx, name, NULL);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

MSB_EXPORT int msb_release(msb_ctx *ctx, int fd, const char *name, unsigned timeout_s, msb_error *err)
{
	struct proto_enc e = {0};
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint64_t until = util_now_ms() + (uint64_t)timeout_s * 1000 + 5000;
	char buf[256];
	int r = 0;

	proto_enc_begin(&e, PROTO_CTL_STOP, 0);
	proto_enc_u64(&e, T_TIMEOUT_MS, (uint64_t)timeout_s * 1000);
	proto_enc_bytes(&e, T_FORGET, NULL, 0);
	proto_enc_end(&e);
	if (proto_write_enc(fd, &e) < 0)
		r = msb_err_sys(err, errno, "cannot ask the sandbox to stop");
	proto_enc_free(&e);
	/*
	 * While it stops, remove the record ourselves (the supervisor skips the
	 * store for an ephemeral sandbox whose owner said so; for any other it
	 * records the outcome as usual and this is a no-op on a kept row).
	 */
	if (r == 0 && name)
		store_delete_ephemeral(ctx, name);
	/* the supervisor records the outcome, then closes every connection */
	while (r == 0) {
		uint64_t now = util_now_ms();
		ssize_t n;
		if (now >= until) {
			r = msb_err_set(err, MSB_ERR_TIMEOUT, 0, "the sandbox did not stop in time");
			break;
		}
		if (poll(&p, 1, (int)(until - now)) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			break;
	}
	close(fd);
	return r;
}
