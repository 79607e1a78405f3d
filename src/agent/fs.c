// SPDX-License-Identifier: Apache-2.0
/*
 * fs.c - the sandbox side of `msb cp`: stat, read a file or list a directory
 * (FS_GET/FS_STAT), and create a file, directory or symlink (FS_PUT +
 * FS_DATA). Paths resolve inside the sandbox's own root, since agentd lives
 * there; symlinks are never followed for the final component.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "agent.h"
#include "util.h"

static void fs_err(struct proto_enc *out, uint32_t session, int e, const char *what, const char *path)
{
	char msg[1200];
	snprintf(msg, sizeof(msg), "%s %s: %s", what, path, strerror(e));
	proto_enc_begin(out, PROTO_FS_ERR, session);
	proto_enc_i32(out, T_ERRNO, e);
	proto_enc_str(out, T_MSG, msg);
	proto_enc_end(out);
}

static void fs_end(struct proto_enc *out, uint32_t session)
{
	proto_enc_begin(out, PROTO_FS_END, session);
	proto_enc_end(out);
}

static int get_path(const struct proto_msg *m, char *path, size_t len)
{
	if (proto_get_str(m, T_PATH, path, len) < 0 || path[0] != '/')
		return -EINVAL;
	return 0;
}

static void send_stat(struct proto_enc *out, uint32_t session, const char *path, const struct stat *st)
{
	uint32_t kind = S_ISREG(st->st_mode)   ? FS_KIND_FILE
			: S_ISDIR(st->st_mode) ? FS_KIND_DIR
			: S_ISLNK(st->st_mode) ? FS_KIND_SYMLINK
					       : FS_KIND_OTHER;
	proto_enc_begin(out, PROTO_FS_STATR, session);
	proto_enc_u32(out, T_KIND, kind);
	proto_enc_u32(out, T_MODE, st->st_mode & 07777);
	proto_enc_u64(out, T_SIZE, (uint64_t)st->st_size);
	if (kind == FS_KIND_SYMLINK) {
		char target[4097];
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n >= 0) {
			target[n] = '\0';
			proto_enc_str(out, T_TARGET, target);
		}
	}
	proto_enc_end(out);
}

static void stream_file(struct proto_enc *out, uint32_t session, const char *path, int chan_fd)
{
	static uint8_t chunk[PROTO_CHUNK];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	ssize_t n;

	if (fd < 0) {
		fs_err(out, session, errno, "open", path);
		return;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		proto_enc_begin(out, PROTO_FS_DATA, session);
		proto_enc_bytes(out, T_DATA, chunk, (size_t)n);
		proto_enc_end(out);
		if (util_write_all(chan_fd, out->buf, out->len) < 0)
			_exit(1);
		proto_enc_reset(out);
	}
	if (n < 0)
		fs_err(out, session, errno, "read", path);
	else
		fs_end(out, session);
	close(fd);
}

static void list_dir(struct proto_enc *out, uint32_t session, const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	if (!d) {
		fs_err(out, session, errno, "opendir", path);
		return;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		proto_enc_begin(out, PROTO_FS_ENTRY, session);
		proto_enc_str(out, T_NAME, de->d_name);
		proto_enc_end(out);
	}
	closedir(d);
	fs_end(out, session);
}

void agent_fs_get(const struct proto_msg *m, struct proto_enc *out, int chan_fd)
{
	uint32_t session = m->hdr.session;
	char path[4097];
	struct stat st;

	if (get_path(m, path, sizeof(path)) < 0) {
		fs_err(out, session, EINVAL, "bad path in", "request");
		return;
	}
	if (lstat(path, &st) < 0) {
		fs_err(out, session, errno, "stat", path);
		return;
	}
	send_stat(out, session, path, &st);
	if (m->hdr.type == PROTO_FS_STAT || S_ISLNK(st.st_mode) || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
		fs_end(out, session);
		return;
	}
	if (S_ISREG(st.st_mode))
		stream_file(out, session, path, chan_fd);
	else
		list_dir(out, session, path);
}

void agent_fs_put_begin(const struct proto_msg *m, int *fd, char **pathp, struct proto_enc *out)
{
	uint32_t session = m->hdr.session, kind = 0, mode = 0644;
	char path[4097], target[4097];
	struct stat st;

	*fd = -1;
	if (get_path(m, path, sizeof(path)) < 0 || proto_get_u32(m, T_KIND, &kind) < 0) {
		fs_err(out, session, EINVAL, "bad path or kind in", "request");
		return;
	}
	proto_get_u32(m, T_MODE, &mode);
	mode &= 07777;
	switch (kind) {
	case FS_KIND_DIR:
		if (mkdir(path, mode) < 0 && !(errno == EEXIST && lstat(path, &st) == 0 && S_ISDIR(st.st_mode)))
			fs_err(out, session, errno, "mkdir", path);
		else
			fs_end(out, session);
		return;
	case FS_KIND_SYMLINK:
		if (proto_get_str(m, T_TARGET, target, sizeof(target)) < 0) {
			fs_err(out, session, EINVAL, "bad symlink target for", path);
			return;
		}
		if (symlink(target, path) < 0)
			fs_err(out, session, errno, "symlink", path);
		else
			fs_end(out, session);
		return;
	case FS_KIND_FILE:
		*fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
		if (*fd < 0) {
			fs_err(out, session, errno, "create", path);
			return;
		}
		*pathp = xstrdup(path);
		return; /* data follows; FS_END after the empty chunk */
	default:
		fs_err(out, session, EINVAL, "unsupported file kind for", path);
	}
}

void agent_fs_put_data(uint32_t session, int *fd, char **pathp, const struct proto_msg *m, struct proto_enc *out)
{
	const struct proto_field *f = proto_get(m, T_DATA);
	int r = 0;

	if (*fd < 0)
		return;
	if (f && f->len) {
		r = util_write_all(*fd, f->val, f->len);
		if (r == 0)
			return;
		fs_err(out, session, -r, "write", *pathp);
	} else if (close(*fd) < 0) {
		*fd = -1;
		fs_err(out, session, errno, "close", *pathp);
	} else {
		*fd = -1;
		fs_end(out, session);
	}
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	free(*pathp);
	*pathp = NULL;
}
