// SPDX-License-Identifier: Apache-2.0
/*
 * copy.c - `msb cp`: files and directory trees between the host and a
 * sandbox, through agentd's FS_* frames (the sandbox side resolves paths in
 * its own root). Everything that comes back from the sandbox is hostile:
 * directory entry names must be plain names (no '/', not "." or ".."), and
 * the host side creates children only relative to directory fds it opened,
 * never following symlinks, so a planted entry cannot escape the
 * destination. Symlinks are copied as symlinks, never followed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "msb.h"
#include "proto.h"
#include "sandbox.h"

#define COPY_MAX_DEPTH 256

struct conn {
	int fd;
	uint32_t sid;
	struct proto_reader rd;
	struct proto_msg *msg;
	bool pending;
	const char *name;
};

static int conn_open(struct conn *c, msb_ctx *ctx, const char *name, msb_error *err)
{
	memset(c, 0, sizeof(*c));
	c->fd = sandbox_ctl_connect(ctx, name, err);
	if (c->fd < 0)
		return c->fd;
	c->msg = xmalloc(sizeof(*c->msg));
	c->name = name;
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	proto_reader_free(&c->rd);
	free(c->msg);
}

static int conn_send(struct conn *c, struct proto_enc *e, msb_error *err)
{
	int r = proto_write_enc(c->fd, e);
	return r < 0 ? msb_err_sys(err, -r, "writing to sandbox \"%s\"", c->name) : 0;
}

static int conn_next(struct conn *c, msb_error *err)
{
	if (c->pending) {
		proto_reader_consume(&c->rd, c->msg);
		c->pending = false;
	}
	for (;;) {
		int r = proto_reader_next(&c->rd, c->msg);
		long n;
		if (r < 0)
			return msb_err_set(err, MSB_ERR_PROTOCOL, 0, "malformed frame from the sandbox");
		if (r == 1) {
			c->pending = true;
			if (c->msg->hdr.session != c->sid)
				continue;
			return 0;
		}
		n = proto_reader_fill(&c->rd, c->fd);
		if (n == 0)
			return msb_err_set(err, MSB_ERR_STATE, 0, "sandbox \"%s\" stopped during the copy", c->name);
		if (n < 0 && n != -EINTR)
			return msb_err_sys(err, (int)-n, "reading from sandbox \"%s\"", c->name);
	}
}

static int frame_error(struct conn *c, msb_error *err)
{
	char msg[900] = "unexpected reply";
	int32_t e = 0;
	proto_get_str(c->msg, T_MSG, msg, sizeof(msg));
	proto_get_i32(c->msg, T_ERRNO, &e);
	return msb_err_set(err, e == ENOENT ? MSB_ERR_NOT_FOUND : MSB_ERR_SYSTEM, e, "in sandbox \"%s\": %s", c->name,
			   msg);
}

/* Wait for FS_END; anything else is an error. */
static int expect_end(struct conn *c, msb_error *err)
{
	int r = conn_next(c, err);
	if (r < 0)
		return r;
	return c->msg->hdr.type == PROTO_FS_END ? 0 : frame_error(c, err);
}

struct gstat {
	uint32_t kind, mode;
	uint64_t size;
	char target[4097];
};

/* Issue FS_STAT or FS_GET and read the FS_STATR reply. Returns MSB_ERR_NOT_FOUND when absent. */
static int guest_begin(struct conn *c, uint16_t type, const char *path, struct gstat *st, msb_error *err)
{
	struct proto_enc e = {0};
	int r;
	c->sid++;
	proto_enc_begin(&e, type, c->sid);
	proto_enc_str(&e, T_PATH, path);
	proto_enc_end(&e);
	r = conn_send(c, &e, err);
	proto_enc_free(&e);
	if (r < 0 || (r = conn_next(c, err)) < 0)
		return r;
	if (c->msg->hdr.type != PROTO_FS_STATR)
		return frame_error(c, err);
	memset(st, 0, sizeof(*st));
	if (proto_get_u32(c->msg, T_KIND, &st->kind) < 0 || proto_get_u32(c->msg, T_MODE, &st->mode) < 0)
		return msb_err_set(err, MSB_ERR_PROTOCOL, 0, "malformed stat reply from the sandbox");
	proto_get_u64(c->msg, T_SIZE, &st->size);
	if (st->kind == FS_KIND_SYMLINK && proto_get_str(c->msg, T_TARGET, st->target, sizeof(st->target)) < 0)
		return msb_err_set(err, MSB_ERR_PROTOCOL, 0, "malformed symlink reply from the sandbox");
	return 0;
}

static int guest_stat(struct conn *c, const char *path, struct gstat *st, msb_error *err)
{
	int r = guest_begin(c, PROTO_FS_STAT, path, st, err);
	if (r == 0)
		r = expect_end(c, err);
	return r;
}

static bool safe_entry_name(const char *n)
{
	return n[0] && strcmp(n, ".") != 0 && strcmp(n, "..") != 0 && !strchr(n, '/');
}

static int put_begin(struct conn *c, const char *path, uint32_t kind, uint32_t mode, const char *target,
		     msb_error *err)
{
	struct proto_enc e = {0};
	int r;
	c->sid++;
	proto_enc_begin(&e, PROTO_FS_PUT, c->sid);
	proto_enc_str(&e, T_PATH, path);
	proto_enc_u32(&e, T_KIND, kind);
	proto_enc_u32(&e, T_MODE, mode & 07777);
	if (target)
		proto_enc_str(&e, T_TARGET, target);
	proto_enc_end(&e);
	r = conn_send(c, &e, err);
	proto_enc_free(&e);
	return r;
}

static int put_file_data(struct conn *c, int fd, const char *hpath, msb_error *err)
{
	static uint8_t chunk[PROTO_CHUNK];
	struct proto_enc e = {0};
	ssize_t n;
	int r = 0;
	while (r == 0 && (n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = msb_err_sys(err, errno, "read %s", hpath);
			break;
		}
		proto_enc_begin(&e, PROTO_FS_DATA, c->sid);
		proto_enc_bytes(&e, T_DATA, chunk, (size_t)n);
		proto_enc_end(&e);
		r = conn_send(c, &e, err);
	}
	/* the empty chunk ends the file, also after an error (the agent closes it) */
	proto_enc_begin(&e, PROTO_FS_DATA, c->sid);
	proto_enc_bytes(&e, T_DATA, NULL, 0);
	proto_enc_end(&e);
	if (conn_send(c, &e, r < 0 ? NULL : err) < 0 && r == 0)
		r = -MSB_ERR_SYSTEM;
	proto_enc_free(&e);
	if (r == 0)
		r = expect_end(c, err);
	return r;
}

/* Copy host @dirfd/@name (or the path itself when dirfd == AT_FDCWD) to guest @gpath. */
static int copy_in_at(struct conn *c, int dfd, const char *name, const char *gpath, int depth, msb_error *err)
{
	struct stat st;
	int fd, r;

	if (depth > COPY_MAX_DEPTH)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "directory tree deeper than %d levels", COPY_MAX_DEPTH);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return msb_err_sys(err, errno, "stat %s", name);
	if (S_ISLNK(st.st_mode)) {
		char target[4097];
		ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return msb_err_sys(err, errno, "readlink %s", name);
		target[n] = '\0';
		r = put_begin(c, gpath, FS_KIND_SYMLINK, 0777, target, err);
		return r < 0 ? r : expect_end(c, err);
	}
	if (S_ISREG(st.st_mode)) {
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return msb_err_sys(err, errno, "open %s", name);
		r = put_begin(c, gpath, FS_KIND_FILE, st.st_mode, NULL, err);
		if (r == 0)
			r = put_file_data(c, fd, name, err);
		close(fd);
		return r;
	}
	if (S_ISDIR(st.st_mode)) {
		DIR *d;
		struct dirent *de;
		r = put_begin(c, gpath, FS_KIND_DIR, st.st_mode | 0700, NULL, err);
		if (r == 0)
			r = expect_end(c, err);
		if (r < 0)
			return r;
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || !(d = fdopendir(fd))) {
			if (fd >= 0)
				close(fd);
			return msb_err_sys(err, errno, "open directory %s", name);
		}
		while (r == 0 && (de = readdir(d))) {
			char *sub;
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			sub = xasprintf("%s/%s", strcmp(gpath, "/") == 0 ? "" : gpath, de->d_name);
			r = copy_in_at(c, dirfd(d), de->d_name, sub, depth + 1, err);
			free(sub);
		}
		closedir(d);
		return r;
	}
	return msb_err_set(err, MSB_ERR_INVALID, 0, "%s: only files, directories and symlinks can be copied", name);
}

static char *base_name(const char *p)
{
	char *tmp = xstrdup(p), *b;
	size_t l = strlen(tmp);
	while (l > 1 && tmp[l - 1] == '/')
		tmp[--l] = '\0';
	b = xstrdup(basename(tmp));
	free(tmp);
	return b;
}

/* Both directions: the sandbox path must be absolute; then connect. */
static int copy_begin(struct conn *c, msb_ctx *ctx, const char *name, const char *guest_path, msb_error *err)
{
	if (!guest_path || guest_path[0] != '/')
		return msb_err_set(err, MSB_ERR_INVALID, 0, "sandbox path must be absolute: %s", guest_path);
	return conn_open(c, ctx, name, err);
}

MSB_EXPORT int msb_copy_in(msb_ctx *ctx, const char *name, const char *host_path, const char *guest_path,
			   msb_error *err)
{
	struct conn c;
	struct gstat gs;
	char *dst;
	int r;

	r = copy_begin(&c, ctx, name, guest_path, err);
	if (r < 0)
		return r;
	/* docker cp: an existing directory (or a trailing '/') receives the source under its own name */
	if ((guest_stat(&c, guest_path, &gs, NULL) == 0 && gs.kind == FS_KIND_DIR) ||
	    guest_path[strlen(guest_path) - 1] == '/') {
		char *b = base_name(host_path);
		dst = xasprintf("%s%s%s", guest_path, guest_path[strlen(guest_path) - 1] == '/' ? "" : "/", b);
		free(b);
	} else {
		dst = xstrdup(guest_path);
	}
	r = copy_in_at(&c, AT_FDCWD, host_path, dst, 0, err);
	free(dst);
	conn_close(&c);
	return r;
}

static int write_host_file(struct conn *c, int fd, msb_error *err)
{
	for (;;) {
		const struct proto_field *f;
		int r = conn_next(c, err);
		if (r < 0)
			return r;
		if (c->msg->hdr.type == PROTO_FS_END)
			return 0;
		if (c->msg->hdr.type != PROTO_FS_DATA)
			return frame_error(c, err);
		f = proto_get(c->msg, T_DATA);
		if (f && util_write_all(fd, f->val, f->len) < 0)
			return msb_err_sys(err, errno, "write");
	}
}

/* Read the FS_ENTRY names that follow a directory's FS_STATR. */
static int read_entries(struct conn *c, char ***names, size_t *n, msb_error *err)
{
	*names = NULL;
	*n = 0;
	for (;;) {
		char nm[256];
		int r = conn_next(c, err);
		if (r < 0)
			return r;
		if (c->msg->hdr.type == PROTO_FS_END)
			return 0;
		if (c->msg->hdr.type != PROTO_FS_ENTRY)
			return frame_error(c, err);
		if (proto_get_str(c->msg, T_NAME, nm, sizeof(nm)) < 0 || !safe_entry_name(nm))
			return msb_err_set(err, MSB_ERR_PROTOCOL, 0, "the sandbox sent an unsafe directory entry name");
		*names = xrealloc(*names, (*n + 1) * sizeof(char *));
		(*names)[(*n)++] = xstrdup(nm);
	}
}

/* Copy guest @gpath into host @dirfd/@name. */
static int copy_out_at(struct conn *c, const char *gpath, int dfd, const char *name, int depth, msb_error *err)
{
	struct gstat gs;
	int r, fd;

	if (depth > COPY_MAX_DEPTH)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "directory tree deeper than %d levels", COPY_MAX_DEPTH);
	r = guest_begin(c, PROTO_FS_GET, gpath, &gs, err);
	if (r < 0)
		return r;
	switch (gs.kind) {
	case FS_KIND_FILE:
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, gs.mode & 0777);
		if (fd < 0)
			return msb_err_sys(err, errno, "create %s", name);
		r = write_host_file(c, fd, err);
		if (r == 0)
			fchmod(fd, gs.mode & 0777);
		close(fd);
		return r;
	case FS_KIND_SYMLINK:
		r = expect_end(c, err);
		if (r == 0 && symlinkat(gs.target, dfd, name) < 0)
			r = msb_err_sys(err, errno, "symlink %s", name);
		return r;
	case FS_KIND_DIR: {
		char **names;
		size_t n;
		r = read_entries(c, &names, &n, err);
		if (r == 0 && mkdirat(dfd, name, (gs.mode & 0777) | 0700) < 0 && errno != EEXIST)
			r = msb_err_sys(err, errno, "mkdir %s", name);
		fd = r == 0 ? openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
		if (r == 0 && fd < 0)
			r = msb_err_sys(err, errno, "open %s", name);
		for (size_t i = 0; i < n; i++) {
			if (r == 0) {
				char *sub = xasprintf("%s/%s", strcmp(gpath, "/") == 0 ? "" : gpath, names[i]);
				r = copy_out_at(c, sub, fd, names[i], depth + 1, err);
				free(sub);
			}
			free(names[i]);
		}
		free(names);
		if (fd >= 0)
			close(fd);
		return r;
	}
	default:
		expect_end(c, NULL);
		return msb_err_set(err, MSB_ERR_INVALID, 0, "%s: only files, directories and symlinks can be copied",
				   gpath);
	}
}

MSB_EXPORT int msb_copy_out(msb_ctx *ctx, const char *name, const char *guest_path, const char *host_path,
			    msb_error *err)
{
	struct conn c;
	struct stat st;
	char *dst;
	int r;

	r = copy_begin(&c, ctx, name, guest_path, err);
	if (r < 0)
		return r;
	if (stat(host_path, &st) == 0 && S_ISDIR(st.st_mode)) {
		char *b = base_name(guest_path);
		dst = xasprintf("%s/%s", host_path, b);
		free(b);
	} else {
		dst = xstrdup(host_path);
	}
	r = copy_out_at(&c, guest_path, AT_FDCWD, dst, 0, err);
	free(dst);
	conn_close(&c);
	return r;
}

static int64_t ping_do(msb_ctx *ctx, const char *name, bool touch, msb_error *err);

MSB_EXPORT int64_t msb_ping(msb_ctx *ctx, const char *name, msb_error *err)
{
	return ping_do(ctx, name, false, err);
}

MSB_EXPORT int msb_touch(msb_ctx *ctx, const char *name, msb_error *err)
{
	int64_t r = ping_do(ctx, name, true, err);
	return r < 0 ? (int)r : 0;
}

static int64_t ping_do(msb_ctx *ctx, const char *name, bool touch, msb_error *err)
{
	struct conn c;
	struct proto_enc e = {0};
	struct timespec a, b;
	int r = conn_open(&c, ctx, name, err);
	if (r < 0)
		return r;
	clock_gettime(CLOCK_MONOTONIC, &a);
	c.sid = 1;
	proto_enc_begin(&e, PROTO_PING, c.sid);
	if (touch)
		proto_enc_bytes(&e, T_TOUCH, NULL, 0);
	proto_enc_end(&e);
	r = conn_send(&c, &e, err);
	proto_enc_free(&e);
	if (r == 0)
		r = conn_next(&c, err);
	if (r == 0 && c.msg->hdr.type != PROTO_PONG)
		r = frame_error(&c, err);
	clock_gettime(CLOCK_MONOTONIC, &b);
	conn_close(&c);
	if (r < 0)
		return r;
	return (int64_t)(b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
}
