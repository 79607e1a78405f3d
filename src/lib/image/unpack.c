// SPDX-License-Identifier: Apache-2.0
/*
 * unpack.c - extract an untrusted layer tarball into a directory.
 *
 * Theory of Operation
 *
 * zstream.c reads the blob, undoes gzip/zstd (libarchive's "raw" format
 * and one filter), counts the bytes against max_total_bytes and hashes them,
 * in a thread of its own; its blocks feed, without a copy, the read callback
 * of a second libarchive reader (tar format, no filters) here. When the tar
 * reader reports the end of the archive, the rest of the stream is drained
 * into the hash too, so the digest covers exactly the uncompressed blob,
 * trailing bytes included, and is compared with the diff_id before the
 * directories get their final modes.
 *
 * libarchive only parses. For each header, img_tarpath_check() validates and
 * normalises the name; the parent directory is then opened with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
 * relative to the destination (so a symlink the layer planted earlier, say
 * "evil -> /", makes "evil/x" fail with ELOOP instead of writing through it),
 * and the last component is created with an *at() call that never follows
 * it (O_CREAT|O_EXCL|O_NOFOLLOW, mkdirat, symlinkat, mknodat, linkat). An
 * EEXIST means a later tar entry replaces an earlier one: the old one is
 * removed (recursively for a directory, without following symlinks) unless
 * both are directories. Kernels without openat2 (< 5.6) get the same
 * semantics from a component-by-component walk with O_NOFOLLOW.
 *
 * The last parent directory opened is cached: tar lists a directory's files
 * together, so most entries need no path walk at all. Any removal
 * invalidates the cache, because the cached directory may be the one
 * removed (its fd stays open until the next lookup replaces it, as the
 * caller may still hold it).
 *
 * Directories are created 0700 and get their real mode and times only at
 * the end, deepest first: creating children would otherwise bump the mtime,
 * and a read-only directory (0555) would stop an unprivileged caller from
 * filling it. For files the order is data, owner, mode (chown clears
 * setuid), xattrs (a write or chown would clear security.capability), times.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "image/ref.h"
#include "image/tarpath.h"
#include "image/unpack.h"
#include "image/zstream.h"
#include "sandbox.h"
#include "util.h"

#define UP_OPAQUE_XATTR "user.overlay.opaque"
/*
 * Memory for the directories finished at the end: their paths are kept, and
 * 1 M entries of 4 KiB paths (within the limits, from a few hundred KiB of
 * compressed layer) would otherwise take 4 GiB. Real layers use a few MiB.
 */
#define UP_DIRS_MEM_MAX (256u << 20)
/*
 * A layer expands up to max_total_bytes (10 GiB) from a few MiB, and an
 * image may have 1024 layers: before each file, and every UP_SPACE_EVERY
 * bytes of stream, check that the destination's filesystem keeps
 * UP_SPACE_RESERVE_PCT % free.
 */
#define UP_SPACE_EVERY       (8u << 20)
#define UP_SPACE_RESERVE_PCT 5

/* One directory whose mode and times are applied at the end. */
struct up_dir {
	char *path; /* normalised, "" = the root */
	unsigned depth;
	size_t seq; /* order of appearance: a later entry for the same path wins */
	mode_t mode;
	struct timespec ts[2];
};

/* Would writing @need more bytes beneath @fd leave less than the reserve free? */
static bool up_space_short(int fd, uint64_t need)
{
	struct statvfs vfs;
	uint64_t avail, reserve;

	if (fstatvfs(fd, &vfs) < 0 || vfs.f_blocks == 0)
		return false;
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	reserve = (uint64_t)vfs.f_blocks * vfs.f_frsize / 100 * UP_SPACE_RESERVE_PCT;
	return need + reserve > avail;
}

struct up_ctx {
	struct img_zstream *in;
	struct archive *tar;
	int dest;
	unsigned flags;
	struct img_unpack_limits lim;
	struct img_unpack_stats *st;
	msb_error *err;
	/* the parent-directory cache */
	int pfd;
	bool pvalid;
	char ppath[IMG_TAR_PATH_MAX];
	/* directories to finish */
	struct up_dir *dirs;
	size_t ndirs, capdirs;
	size_t dirs_mem; /* bytes held by dirs, against UP_DIRS_MEM_MAX */
	uint64_t read_bytes, space_checked; /* decompressed bytes read; at the last free-space check */
};

/* -------------------------------------------------------------------------- */
/* errors                                                                      */

/* `tar entry "<path>": <detail>`, with strerror(@sys) appended when non-zero. */
__attribute__((format(printf, 5, 6))) static int up_fail(struct up_ctx *c, int code, int sys, const char *path,
							 const char *fmt, ...)
{
	char q[300], detail[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	img_quote(q, sizeof(q), path, strlen(path));
	if (sys)
		return msb_err_sys(c->err, sys, "tar entry %s: %s", q, detail);
	return msb_err_set(c->err, code, 0, "tar entry %s: %s", q, detail);
}

/* Why the tar reader failed: the stream's own error when it has one. */
static const char *up_tar_error(struct up_ctx *c)
{
	const char *e = img_zstream_error(c->in);
	return *e ? e : archive_error_string(c->tar);
}

/* -------------------------------------------------------------------------- */
/* path resolution beneath the destination                                     */

static int up_openat2_state; /* 0 unknown, 1 works, -1 ENOSYS: use the walk */

/* Fallback for kernels without openat2: walk @path one component at a time, refusing symlinks. */
static int up_walk_beneath(int root, const char *path, int flags)
{
	char buf[IMG_TAR_PATH_MAX], *save = NULL, *comp;
	_cleanup_close_ int cur = -1;
	struct stat sb;

	snprintf(buf, sizeof(buf), "%s", path);
	cur = openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return -errno;
	for (comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		int next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return -errno;
		close(cur);
		cur = next;
		if (fstat(cur, &sb) < 0)
			return -errno;
		if (S_ISLNK(sb.st_mode))
			return -ELOOP;
		if (!S_ISDIR(sb.st_mode))
			return -ENOTDIR;
	}
	if (flags & O_PATH)
		return util_steal_fd(&cur);
	int fd = openat(cur, ".", flags | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/**
 * up_open_dir() - open directory @path ("" = @root) beneath @root, never following a symlink.
 * @root: the layer root
 * @path: normalised relative path
 * @flags: O_PATH or O_RDONLY
 *
 * Return: a new fd, or -errno: -ELOOP when a component is a symlink, -ENOTDIR
 * when one is not a directory, -ENOENT when one is missing.
 */
static int up_open_dir(int root, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_DIRECTORY | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	const char *p = *path ? path : ".";
	long fd;

	if (up_openat2_state >= 0) {
		do
			fd = syscall(SYS_openat2, root, p, &how, sizeof(how));
		while (fd < 0 && (errno == EINTR || errno == EAGAIN));
		if (fd >= 0 || errno != ENOSYS) {
			up_openat2_state = 1;
			return fd >= 0 ? (int)fd : -errno;
		}
		up_openat2_state = -1;
	}
	return up_walk_beneath(root, path, flags);
}

/* Create the missing directories of @path (0755, caller-owned) one by one, then return it opened O_PATH. */
static int up_make_dirs(struct up_ctx *c, const char *path)
{
	char buf[IMG_TAR_PATH_MAX], *save = NULL, *comp;
	_cleanup_close_ int cur = openat(c->dest, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (cur < 0)
		return -errno;
	snprintf(buf, sizeof(buf), "%s", path);
	for (comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		int next;
		if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST)
			return -errno;
		next = up_open_dir(cur, comp, O_PATH);
		if (next < 0)
			return next;
		close(cur);
		cur = next;
	}
	return util_steal_fd(&cur);
}

/* Explain a failed parent lookup. */
static int up_parent_error(struct up_ctx *c, const char *entry, int r)
{
	if (r == -ELOOP)
		return up_fail(c, MSB_ERR_INVALID, 0, entry, "parent directory is a symlink (write through symlink)");
	if (r == -ENOTDIR)
		return up_fail(c, MSB_ERR_INVALID, 0, entry, "a parent is not a directory");
	if (r == -EXDEV)
		return up_fail(c, MSB_ERR_INVALID, 0, entry, "path escapes the layer root");
	return up_fail(c, MSB_ERR_SYSTEM, -r, entry, "cannot open parent directory");
}

/**
 * up_parent() - the directory that holds @path, and its last component.
 * @c: context (the cache lives here)
 * @path: normalised, non-empty
 * @name: receives a pointer to the last component inside @path
 *
 * Return: a borrowed fd (the destination or the cached parent), or -MSB_ERR_*.
 */
static int up_parent(struct up_ctx *c, const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	size_t len;
	int fd;

	if (!slash) {
		*name = path;
		return c->dest;
	}
	*name = slash + 1;
	len = (size_t)(slash - path);
	if (c->pvalid && strlen(c->ppath) == len && memcmp(c->ppath, path, len) == 0)
		return c->pfd;
	memcpy(c->ppath, path, len);
	c->ppath[len] = '\0';
	fd = up_open_dir(c->dest, c->ppath, O_PATH);
	if (fd == -ENOENT)
		fd = up_make_dirs(c, c->ppath);
	if (fd < 0) {
		c->pvalid = false;
		return up_parent_error(c, path, fd);
	}
	if (c->pfd >= 0)
		close(c->pfd);
	c->pfd = fd;
	c->pvalid = true;
	return fd;
}

/* Remove whatever is at @pfd/@name (a directory recursively, symlinks never followed). */
static int up_remove(struct up_ctx *c, int pfd, const char *name, const char *entry)
{
	int r = fs_rm_rf_at(pfd, name);

	c->pvalid = false;
	if (r < 0)
		return up_fail(c, MSB_ERR_SYSTEM, -r, entry, "cannot replace the earlier entry");
	return 0;
}

/* -------------------------------------------------------------------------- */
/* metadata                                                                    */

enum { UP_XA_IGNORE, UP_XA_APPLY, UP_XA_TRY, UP_XA_REFUSE };

/* Which tar xattrs reach the disk: user.* (not user.overlay.*), and file capabilities. */
static int up_xattr_policy(const char *name)
{
	if (strncmp(name, "user.overlay.", 13) == 0)
		return UP_XA_REFUSE;
	if (strncmp(name, "user.", 5) == 0)
		return UP_XA_APPLY;
	if (strcmp(name, "security.capability") == 0)
		return UP_XA_TRY;
	return UP_XA_IGNORE;
}

/* Refuse an entry carrying overlay metadata before anything is created for it. */
static int up_check_xattrs(struct up_ctx *c, struct archive_entry *ae, const char *entry)
{
	const char *name;
	const void *val;
	size_t size;

	if (archive_entry_xattr_reset(ae) == 0)
		return 0;
	while (archive_entry_xattr_next(ae, &name, &val, &size) == ARCHIVE_OK)
		if (up_xattr_policy(name) == UP_XA_REFUSE) {
			char q[300];
			return up_fail(c, MSB_ERR_INVALID, 0, entry, "xattr %s is reserved for overlayfs",
				       img_quote(q, sizeof(q), name, strlen(name)));
		}
	return 0;
}

/* Apply the allowed xattrs of @ae to the open file or directory @fd. */
static int up_apply_xattrs(struct up_ctx *c, int fd, struct archive_entry *ae, const char *entry)
{
	const char *name;
	const void *val;
	size_t size;

	if (archive_entry_xattr_reset(ae) == 0)
		return 0;
	while (archive_entry_xattr_next(ae, &name, &val, &size) == ARCHIVE_OK) {
		int pol = up_xattr_policy(name);
		if (pol == UP_XA_IGNORE) {
			c->st->xattrs_ignored++;
			continue;
		}
		if (fsetxattr(fd, name, val, size, 0) == 0)
			continue;
		if (pol == UP_XA_TRY && (errno == EPERM || errno == EINVAL || errno == ENOTSUP)) {
			c->st->xattrs_ignored++;
			continue;
		}
		return up_fail(c, MSB_ERR_SYSTEM, errno, entry, "cannot set xattr %s", name);
	}
	return 0;
}

/* Count the xattrs of an entry type that cannot carry them (symlinks, FIFOs). */
static void up_skip_xattrs(struct up_ctx *c, struct archive_entry *ae)
{
	c->st->xattrs_ignored += (uint64_t)archive_entry_xattr_count(ae);
}

/* The entry's mode bits as they will be applied. */
static mode_t up_mode(const struct up_ctx *c, struct archive_entry *ae)
{
	mode_t m = archive_entry_perm(ae) & 07777;
	if (!(c->flags & IMG_UNPACK_OWNERS))
		m &= ~(mode_t)(S_ISUID | S_ISGID);
	return m;
}

/* The entry's owner, clamped to the ids a sandbox maps. */
static void up_owner(struct up_ctx *c, struct archive_entry *ae, uid_t *uid, gid_t *gid)
{
	la_int64_t u = archive_entry_uid(ae), g = archive_entry_gid(ae);
	bool clamped = false;

	if (u < 0 || u >= IMG_UNPACK_ID_LIMIT)
		u = IMG_UNPACK_NOBODY, clamped = true;
	if (g < 0 || g >= IMG_UNPACK_ID_LIMIT)
		g = IMG_UNPACK_NOBODY, clamped = true;
	if (clamped)
		c->st->ids_clamped++;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
}

static void up_times(struct archive_entry *ae, struct timespec ts[2])
{
	ts[1].tv_sec = archive_entry_mtime(ae);
	ts[1].tv_nsec = archive_entry_mtime_nsec(ae);
	if (archive_entry_atime_is_set(ae)) {
		ts[0].tv_sec = archive_entry_atime(ae);
		ts[0].tv_nsec = archive_entry_atime_nsec(ae);
	} else {
		ts[0] = ts[1];
	}
	for (int i = 0; i < 2; i++)
		if (ts[i].tv_nsec < 0 || ts[i].tv_nsec > 999999999)
			ts[i].tv_nsec = 0;
}

/* Owner of @pfd/@name (not followed), when asked to. */
static int up_chown_at(struct up_ctx *c, int pfd, const char *name, struct archive_entry *ae, const char *entry)
{
	uid_t uid;
	gid_t gid;

	if (!(c->flags & IMG_UNPACK_OWNERS))
		return 0;
	up_owner(c, ae, &uid, &gid);
	if (fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH)) < 0)
		return up_fail(c, MSB_ERR_SYSTEM, errno, entry, "cannot change owner to %u:%u", uid, gid);
	return 0;
}

/* -------------------------------------------------------------------------- */
/* entry kinds                                                                 */

/* Copy the entry's data into @fd, holes (sparse entries) included. */
static int up_copy_data(struct up_ctx *c, int fd, struct archive_entry *ae, const char *entry)
{
	la_int64_t size = archive_entry_size(ae), pos = 0, off;
	const void *buf;
	size_t n;
	int r;

	while ((r = archive_read_data_block(c->tar, &buf, &n, &off)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN)
			return up_fail(c, MSB_ERR_INVALID, 0, entry, "reading data: %s",
				       up_tar_error(c));
		if (off < 0 || (uint64_t)off + n > c->lim.max_file_bytes)
			return up_fail(c, MSB_ERR_INVALID, 0, entry, "data beyond %llu bytes (limit max_file_bytes)",
				       (unsigned long long)c->lim.max_file_bytes);
		if (off != pos && lseek(fd, off, SEEK_SET) < 0)
			return up_fail(c, MSB_ERR_SYSTEM, errno, entry, "seek");
		r = util_write_all(fd, buf, n);
		if (r < 0)
			return up_fail(c, MSB_ERR_SYSTEM, -r, entry, "write");
		pos = off + (la_int64_t)n;
		c->st->files_bytes += n;
	}
	if (size > pos && ftruncate(fd, size) < 0)
		return up_fail(c, MSB_ERR_SYSTEM, errno, entry, "truncate");
	return 0;
}

static int up_file(struct up_ctx *c, int pfd, const char *name, struct archive_entry *ae, const char *entry)
{
	_cleanup_close_ int fd = -1;
	struct timespec ts[2];
	la_int64_t size = archive_entry_size(ae);
	int r;

	if (size < 0 || (uint64_t)size > c->lim.max_file_bytes)
		return up_fail(c, MSB_ERR_INVALID, 0, entry, "file of %lld bytes exceeds max_file_bytes (%llu)",
			       (long long)size, (unsigned long long)c->lim.max_file_bytes);
	if (up_space_short(c->dest, (uint64_t)size))
		return up_fail(c, MSB_ERR_SYSTEM, ENOSPC, entry,
			       "file of %lld bytes would leave the image store's filesystem less than %d%% free",
			       (long long)size, UP_SPACE_RESERVE_PCT);
	for (int tries = 0; fd < 0; tries++) {
		fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && (errno != EEXIST || tries))
			return up_fail(c, MSB_ERR_SYSTEM, errno, entry, "cannot create file");
		if (fd < 0 && (r = up_remove(c, pfd, name, entry)) < 0)
			return r;
	}
	r = up_copy_data(c, fd, ae, entry);
	if (r < 0)
		return r;
	r = up_chown_at(c, fd, "", ae, entry);
	if (r < 0)
		return r;
	if (fchmod(fd, up_mode(c, ae)) < 0)
		return up_fail(c, MSB_ERR_SYSTEM, errno, entry, "chmod");
	r = up_apply_xattrs(c, fd, ae, entry);
	if (r < 0)
		return r;
	up_times(ae, ts);
	if (futimens(fd, ts) < 0)
		return up_fail(c, MSB_ERR_SYSTEM, errno, entry, "set times");
	return 0;
}

/* Remember a directory's mode and times for the end. */
static int up_dir_defer(struct up_ctx *c, const char *path, unsigned depth, struct archive_entry *ae)
{
	struct up_dir *d;

	c->dirs_mem += sizeof(*d) + strlen(path) + 1;
	if (c->dirs_mem > UP_DIRS_MEM_MAX)
		return up_fail(c, MSB_ERR_INVALID, 0, path,
			       "the layer's directory entries need more than %u MiB to track (repeated or very "
			       "long directory names)",
			       UP_DIRS_MEM_MAX >> 20);

	if (c->ndirs == c->capdirs) {
		c->capdirs = c->capdirs ? c->capdirs * 2 : 256;
		c->dirs = xrealloc(c->dirs, c->capdirs * sizeof(*c->dirs));
	}
	d = &c->dirs[c->ndirs];
	d->path = xstrdup(path);
	d->depth = depth;
	d->seq = c->ndirs++;
	d->mode = up_mode(c, ae);
	up_times(ae, d->ts);
	return 0;
}

/* Owner and xattrs of directory @pfd/@name ("" = @pfd itself); mode and times are deferred. */
static int up_dir_meta(struct up_ctx *c, int pfd, const char *name, const struct img_tar_entry *e,
		       struct archive_entry *ae)
{
	int r = up_chown_at(c, pfd, name, ae, e->path);
	if (r < 0)
		return r;
	if (archive_entry_xattr_count(ae) > 0) {
		_cleanup_close_ int fd = openat(pfd, *name ? name : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return up_fail(c, MSB_ERR_SYSTEM, errno, e->path, "cannot open directory");
		r = up_apply_xattrs(c, fd, ae, e->path);
		if (r < 0)
			return r;
	}
	return up_dir_defer(c, e->path, e->depth, ae);
}

static int up_dir(struct up_ctx *c, int pfd, const char *name, const struct img_tar_entry *e,
		  struct archive_entry *ae)
{
	struct stat sb;
	int r;

	if (mkdirat(pfd, name, 0700) < 0) {
		if (errno != EEXIST)
			return up_fail(c, MSB_ERR_SYSTEM, errno, e->path, "cannot create directory");
		if (fstatat(pfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			return up_fail(c, MSB_ERR_SYSTEM, errno, e->path, "stat");
		if (!S_ISDIR(sb.st_mode)) {
			if ((r = up_remove(c, pfd, name, e->path)) < 0)
				return r;
			if (mkdirat(pfd, name, 0700) < 0)
				return up_fail(c, MSB_ERR_SYSTEM, errno, e->path, "cannot create directory");
		}
	}
	return up_dir_meta(c, pfd, name, e, ae);
}

/* Evaluate @call (symlinkat, mknodat, linkat) once, and on EEXIST again after removing the earlier entry. */
#define UP_CREATE(c, pfd, name, entry, what, call)                                                            \
	({                                                                                                    \
		int _r = 0;                                                                                   \
		if ((call) < 0) {                                                                             \
			if (errno != EEXIST)                                                                  \
				_r = up_fail(c, MSB_ERR_SYSTEM, errno, entry, "cannot create " what);         \
			else if ((_r = up_remove(c, pfd, name, entry)) == 0 && (call) < 0)                    \
				_r = up_fail(c, MSB_ERR_SYSTEM, errno, entry, "cannot create " what);         \
		}                                                                                             \
		_r;                                                                                           \
	})

static int up_symlink(struct up_ctx *c, int pfd, const char *name, const struct img_tar_entry *e,
		      struct archive_entry *ae)
{
	struct timespec ts[2];
	int r = UP_CREATE(c, pfd, name, e->path, "symlink", symlinkat(e->link, pfd, name));

	if (r < 0)
		return r;
	r = up_chown_at(c, pfd, name, ae, e->path);
	if (r < 0)
		return r;
	up_skip_xattrs(c, ae);
	up_times(ae, ts);
	if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return up_fail(c, MSB_ERR_SYSTEM, errno, e->path, "set times");
	return 0;
}

static int up_fifo(struct up_ctx *c, int pfd, const char *name, const struct img_tar_entry *e,
		   struct archive_entry *ae)
{
	struct timespec ts[2];
	int r = UP_CREATE(c, pfd, name, e->path, "fifo", mknodat(pfd, name, S_IFIFO | 0600, 0));

	if (r < 0)
		return r;
	r = up_chown_at(c, pfd, name, ae, e->path);
	if (r < 0)
		return r;
	/* fchmodat follows symlinks, but @name is the FIFO just made in a directory no one else writes */
	if (fchmodat(pfd, name, up_mode(c, ae), 0) < 0)
		return up_fail(c, MSB_ERR_SYSTEM, errno, e->path, "chmod");
	up_skip_xattrs(c, ae);
	up_times(ae, ts);
	if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return up_fail(c, MSB_ERR_SYSTEM, errno, e->path, "set times");
	return 0;
}

/* A hard link: the target must be a regular file of this layer, reached without symlinks. */
static int up_hardlink(struct up_ctx *c, int pfd, const char *name, const struct img_tar_entry *e)
{
	const char *slash = strrchr(e->link, '/'), *tname = slash ? slash + 1 : e->link;
	char tdir[IMG_TAR_PATH_MAX];
	_cleanup_close_ int tfd = -1;
	struct stat sb;
	char q[300];

	snprintf(tdir, sizeof(tdir), "%.*s", slash ? (int)(slash - e->link) : 0, e->link);
	tfd = up_open_dir(c->dest, tdir, O_PATH);
	if (tfd < 0 && tfd != -ENOENT)
		return up_parent_error(c, e->path, tfd);
	if (tfd < 0 || fstatat(tfd, tname, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return up_fail(c, MSB_ERR_INVALID, 0, e->path, "hard link target %s does not exist",
			       img_quote(q, sizeof(q), e->link, strlen(e->link)));
	if (!S_ISREG(sb.st_mode))
		return up_fail(c, MSB_ERR_INVALID, 0, e->path, "hard link target %s is not a regular file",
			       img_quote(q, sizeof(q), e->link, strlen(e->link)));
	return UP_CREATE(c, pfd, name, e->path, "hard link", linkat(tfd, tname, pfd, name, 0));
}

/* ".wh.NAME": a char device 0:0 that hides NAME of the layers below. */
static int up_whiteout(struct up_ctx *c, int pfd, const char *name, const struct img_tar_entry *e)
{
	if (mknodat(pfd, name, S_IFCHR, makedev(0, 0)) == 0)
		return 0;
	if (errno == EPERM)
		return msb_err_set(c->err, MSB_ERR_PERMISSION, EPERM,
				   "tar entry whiteout of \"%s\": cannot create a whiteout device (needs root, or a user "
				   "namespace on Linux >= 5.8)",
				   e->path);
	return UP_CREATE(c, pfd, name, e->path, "whiteout", mknodat(pfd, name, S_IFCHR, makedev(0, 0)));
}

/* ".wh..wh..opq": mark directory @e->path opaque, creating it if the marker comes first. */
static int up_opaque(struct up_ctx *c, const struct img_tar_entry *e)
{
	_cleanup_close_ int fd = -1;
	const char *name = NULL;
	int pfd = c->dest;

	if (*e->path) {
		pfd = up_parent(c, e->path, &name);
		if (pfd < 0)
			return pfd;
		if (mkdirat(pfd, name, 0755) < 0 && errno != EEXIST)
			return up_fail(c, MSB_ERR_SYSTEM, errno, e->path, "cannot create directory");
	}
	fd = openat(pfd, name ? name : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ENOTDIR || errno == ELOOP))
		return up_fail(c, MSB_ERR_INVALID, 0, e->path, "opaque marker in a non-directory");
	if (fd < 0)
		return up_fail(c, MSB_ERR_SYSTEM, errno, e->path, "cannot open directory");
	if (fsetxattr(fd, UP_OPAQUE_XATTR, "y", 1, 0) < 0)
		return up_fail(c, errno == ENOTSUP ? MSB_ERR_UNSUPPORTED : MSB_ERR_SYSTEM, errno, e->path,
			       "cannot set " UP_OPAQUE_XATTR);
	return 0;
}

/* -------------------------------------------------------------------------- */
/* one entry                                                                   */

/* libarchive's view of the type, as tarpath's enum; -1 for sockets and unknown types. */
static int up_type(struct archive_entry *ae)
{
	if (archive_entry_hardlink(ae))
		return IMG_TAR_HARDLINK;
	switch (archive_entry_filetype(ae)) {
	case AE_IFREG:
		return IMG_TAR_FILE;
	case AE_IFDIR:
		return IMG_TAR_DIR;
	case AE_IFLNK:
		return IMG_TAR_SYMLINK;
	case AE_IFCHR:
		return IMG_TAR_CHAR;
	case AE_IFBLK:
		return IMG_TAR_BLOCK;
	case AE_IFIFO:
		return IMG_TAR_FIFO;
	default:
		return -1;
	}
}

static int up_create(struct up_ctx *c, const struct img_tar_entry *e, struct archive_entry *ae)
{
	const char *name;
	int pfd;

	if (e->type == IMG_TAR_CHAR || e->type == IMG_TAR_BLOCK) {
		c->st->devices_skipped++;
		return 0;
	}
	pfd = up_parent(c, e->path, &name);
	if (pfd < 0)
		return pfd;
	switch (e->type) {
	case IMG_TAR_FILE:
		return up_file(c, pfd, name, ae, e->path);
	case IMG_TAR_DIR:
		return up_dir(c, pfd, name, e, ae);
	case IMG_TAR_SYMLINK:
		return up_symlink(c, pfd, name, e, ae);
	case IMG_TAR_HARDLINK:
		return up_hardlink(c, pfd, name, e);
	case IMG_TAR_FIFO:
		return up_fifo(c, pfd, name, e, ae);
	default:
		abort();
	}
}

static int up_entry(struct up_ctx *c, struct archive_entry *ae)
{
	struct img_tar_entry e = {0};
	const char *name = archive_entry_pathname(ae), *link;
	int type = up_type(ae), act, r;

	if (!name)
		name = archive_entry_pathname_utf8(ae);
	if (!name)
		return msb_err_set(c->err, MSB_ERR_INVALID, 0, "tar entry %llu has no usable name",
				   (unsigned long long)c->st->entries);
	if (type < 0)
		return up_fail(c, MSB_ERR_INVALID, 0, name, "unsupported file type 0%o",
			       (unsigned)archive_entry_filetype(ae));
	link = type == IMG_TAR_HARDLINK ? archive_entry_hardlink(ae)
	       : type == IMG_TAR_SYMLINK ? archive_entry_symlink(ae)
					 : NULL;
	if (type == IMG_TAR_SYMLINK && !link)
		link = archive_entry_symlink_utf8(ae);
	act = img_tarpath_check(name, strlen(name), type, link, link ? strlen(link) : 0, &e, c->err);
	if (act < 0)
		return act;
	r = up_check_xattrs(c, ae, e.path);
	if (r == 0) {
		switch (act) {
		case IMG_TAR_CREATE:
			r = up_create(c, &e, ae);
			break;
		case IMG_TAR_ROOT:
			r = up_dir_meta(c, c->dest, "", &e, ae);
			break;
		case IMG_TAR_WHITEOUT: {
			const char *last;
			int pfd = up_parent(c, e.path, &last);
			r = pfd < 0 ? pfd : up_whiteout(c, pfd, last, &e);
			break;
		}
		case IMG_TAR_OPAQUE:
			r = up_opaque(c, &e);
			break;
		default: /* IMG_TAR_SKIP */
			break;
		}
	}
	img_tar_entry_clear(&e);
	return r;
}

/* -------------------------------------------------------------------------- */
/* directories last                                                            */

static int up_dir_cmp(const void *a, const void *b)
{
	const struct up_dir *x = a, *y = b;
	if (x->depth != y->depth)
		return x->depth > y->depth ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Mode and times of every directory entry, deepest first; ones replaced since are skipped. */
static int up_finish_dirs(struct up_ctx *c)
{
	if (c->ndirs)
		qsort(c->dirs, c->ndirs, sizeof(*c->dirs), up_dir_cmp);
	for (size_t i = 0; i < c->ndirs; i++) {
		struct up_dir *d = &c->dirs[i];
		_cleanup_close_ int fd = up_open_dir(c->dest, d->path, O_RDONLY);
		if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP)
			continue;
		if (fd < 0)
			return up_fail(c, MSB_ERR_SYSTEM, -fd, d->path, "cannot open directory");
		if (fchmod(fd, d->mode) < 0)
			return up_fail(c, MSB_ERR_SYSTEM, errno, d->path, "chmod");
		if (futimens(fd, d->ts) < 0)
			return up_fail(c, MSB_ERR_SYSTEM, errno, d->path, "set times");
	}
	return 0;
}

/* -------------------------------------------------------------------------- */
/* the stream                                                                  */

/*
 * The tar reader's read callback: the next block of the decompressed stream.
 * Every UP_SPACE_EVERY bytes it checks that the store's filesystem keeps its
 * reserve, so no layer (and no image of many layers) can fill the disk.
 */
static la_ssize_t up_read_cb(struct archive *a, void *opaque, const void **buf)
{
	struct up_ctx *c = opaque;
	ssize_t n = img_zstream_read(c->in, buf);

	if (n < 0) {
		archive_set_error(a, EIO, "%s", img_zstream_error(c->in));
		return n;
	}
	c->read_bytes += (uint64_t)n;
	if (c->read_bytes - c->space_checked >= UP_SPACE_EVERY) {
		c->space_checked = c->read_bytes;
		if (up_space_short(c->dest, 0)) {
			archive_set_error(a, ENOSPC,
					  "the filesystem of the image store is less than %d%% free (after %llu bytes "
					  "of this layer)",
					  UP_SPACE_RESERVE_PCT, (unsigned long long)c->read_bytes);
			return -1;
		}
	}
	return n;
}

/* Hash the rest of the stream, then compare with @expect. */
static int up_verify(struct up_ctx *c, const char *expect)
{
	int r = img_zstream_finish(c->in, c->st->diff_id, &c->st->bytes, c->err);

	if (r < 0)
		return r;
	if (expect && strcmp(expect, c->st->diff_id) != 0)
		return msb_err_set(c->err, MSB_ERR_INVALID, 0, "layer diff_id mismatch: expected %s, computed %s",
				   expect, c->st->diff_id);
	return 0;
}

/* The tar loop: one header at a time until the end-of-archive marker. */
static int up_entries(struct up_ctx *c)
{
	struct archive_entry *ae;
	int r;

	while ((r = archive_read_next_header(c->tar, &ae)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN)
			return msb_err_set(c->err, MSB_ERR_INVALID, 0, "reading layer tar after %llu entries: %s",
					   (unsigned long long)c->st->entries,
					   up_tar_error(c));
		if (++c->st->entries > c->lim.max_entries)
			return msb_err_set(c->err, MSB_ERR_INVALID, 0,
					   "layer has more than %llu entries (limit max_entries)",
					   (unsigned long long)c->lim.max_entries);
		r = up_entry(c, ae);
		if (r < 0)
			return r;
	}
	return 0;
}

static void up_ctx_free(struct up_ctx *c)
{
	if (c->tar)
		archive_read_free(c->tar);
	img_zstream_free(c->in);
	if (c->pfd >= 0)
		close(c->pfd);
	for (size_t i = 0; i < c->ndirs; i++)
		free(c->dirs[i].path);
	free(c->dirs);
}

int img_unpack_layer(int in_fd, int compression, int dest_dirfd, const char *expect_diff_id, unsigned flags,
		     const struct img_unpack_limits *lim, struct img_unpack_stats *st, msb_error *err)
{
	struct img_unpack_stats local;
	struct up_ctx c = {.dest = dest_dirfd, .flags = flags, .err = err, .pfd = -1};
	int r;

	c.st = st ? st : &local;
	memset(c.st, 0, sizeof(*c.st));
	c.lim = lim ? *lim : IMG_UNPACK_LIMITS_DEFAULT;
	r = img_zstream_open(&c.in, in_fd, compression, c.lim.max_total_bytes, err);
	if (r == 0) {
		c.tar = archive_read_new();
		if (!c.tar)
			abort();
		archive_read_support_format_tar(c.tar);
		if (archive_read_open(c.tar, &c, NULL, up_read_cb, NULL) != ARCHIVE_OK)
			r = msb_err_set(err, MSB_ERR_INVALID, 0, "reading layer tar: %s",
					up_tar_error(&c));
	}
	if (r == 0)
		r = up_entries(&c);
	/* verify before the final modes: a rejected tree is still all 0700 directories, easy to delete */
	if (r == 0)
		r = up_verify(&c, expect_diff_id);
	if (r == 0)
		r = up_finish_dirs(&c);
	up_ctx_free(&c);
	return r;
}
