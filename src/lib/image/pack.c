// SPDX-License-Identifier: Apache-2.0
/*
 * pack.c - write a directory tree (an unpacked layer, or a sandbox's upper
 * directory for `msb save`) back out as an uncompressed layer tar.
 *
 * The walk is depth-first with each directory's names sorted bytewise, and
 * every header carries only what img_unpack_layer() restores (type, mode,
 * ids, mtime, size, link target, user.* and security.capability xattrs), so
 * the same tree gives the same bytes and therefore the same diff_id. Overlay
 * markers are turned back into the OCI spelling: a char device 0:0 becomes
 * ".wh.NAME", a directory with user.overlay.opaque=y gets a
 * "DIR/.wh..wh..opq" entry right after its own. Regular files with more than
 * one link become hard links to the first path written. Everything is opened
 * relative to a directory fd with O_NOFOLLOW; symlinks are recorded, never
 * followed.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "image/ref.h"
#include "image/tarpath.h"
#include "image/unpack.h"
#include "util.h"

#define PK_BLOCK  (64u * 1024)
#define PK_COPY   (1u << 20)
#define PK_XATTRS 65536 /* bytes of xattr names (the kernel's XATTR_LIST_MAX) */

/* First path of an inode with several links. */
struct pk_link {
	dev_t dev;
	ino_t ino;
	char *path; /* NULL = free slot */
};

struct pk_ctx {
	struct archive *a;
	struct archive_entry *ae; /* reused for every entry */
	EVP_MD_CTX *md;
	int out;
	unsigned flags;
	uint64_t bytes;
	int write_errno;
	struct img_unpack_stats *st;
	msb_error *err;
	char *buf; /* PK_COPY bytes */
	struct pk_link *links;
	size_t nlinks, caplinks; /* caplinks: a power of two */
};

static int pk_fail(struct pk_ctx *c, int sys, const char *path, const char *what)
{
	char q[300];
	img_quote(q, sizeof(q), path, strlen(path));
	if (sys)
		return msb_err_sys(c->err, sys, "packing %s: %s", q, what);
	return msb_err_set(c->err, MSB_ERR_INVALID, 0, "packing %s: %s", q, what);
}

static int pk_archive_fail(struct pk_ctx *c, const char *path)
{
	if (c->write_errno)
		return pk_fail(c, c->write_errno, path, "write");
	return pk_fail(c, 0, path, archive_error_string(c->a));
}

static la_ssize_t pk_write_cb(struct archive *a, void *opaque, const void *buf, size_t n)
{
	struct pk_ctx *c = opaque;
	int r = util_write_all(c->out, buf, n);

	if (r < 0) {
		c->write_errno = -r;
		archive_set_error(a, -r, "write: %s", strerror(-r));
		return -1;
	}
	EVP_DigestUpdate(c->md, buf, n);
	c->bytes += n;
	return (la_ssize_t)n;
}

/* ---- hard links ---- */

static size_t pk_link_slot(const struct pk_ctx *c, dev_t dev, ino_t ino)
{
	size_t h = ((size_t)ino * 0x9E3779B97F4A7C15ull) ^ (size_t)dev, mask = c->caplinks - 1;
	for (h &= mask; c->links[h].path && !(c->links[h].dev == dev && c->links[h].ino == ino); h = (h + 1) & mask)
		;
	return h;
}

/* The first path of @sb's inode, or NULL after recording @path as that first path. */
static const char *pk_link_seen(struct pk_ctx *c, const struct stat *sb, const char *path)
{
	size_t h;

	if (c->nlinks * 2 >= c->caplinks) {
		struct pk_link *old = c->links;
		size_t oldcap = c->caplinks;
		c->caplinks = oldcap ? oldcap * 2 : 64;
		c->links = xcalloc(c->caplinks, sizeof(*c->links));
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].path)
				c->links[pk_link_slot(c, old[i].dev, old[i].ino)] = old[i];
		free(old);
	}
	h = pk_link_slot(c, sb->st_dev, sb->st_ino);
	if (c->links[h].path)
		return c->links[h].path;
	c->links[h] = (struct pk_link){sb->st_dev, sb->st_ino, xstrdup(path)};
	c->nlinks++;
	return NULL;
}

/* ---- xattrs ---- */

static int pk_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add the xattrs the unpacker accepts (sorted by name); set *@opaque when user.overlay.opaque=y. */
static int pk_xattrs(struct pk_ctx *c, int fd, const char *path, bool *opaque)
{
	_cleanup_free_ char *names = xmalloc(PK_XATTRS);
	const char *keep[256];
	size_t nkeep = 0;
	ssize_t len = flistxattr(fd, names, PK_XATTRS);
	char *val = c->buf;

	if (len < 0)
		return errno == ENOTSUP ? 0 : pk_fail(c, errno, path, "list xattrs");
	for (char *n = names; n < names + len; n += strlen(n) + 1) {
		if (strcmp(n, "user.overlay.opaque") == 0) {
			ssize_t v = fgetxattr(fd, n, val, PK_COPY);
			*opaque = v == 1 && val[0] == 'y';
		}
		if (strncmp(n, "user.overlay.", 13) == 0)
			continue;
		if ((strncmp(n, "user.", 5) == 0 || strcmp(n, "security.capability") == 0) && nkeep < ARRAY_SIZE(keep))
			keep[nkeep++] = n;
	}
	qsort(keep, nkeep, sizeof(*keep), pk_strcmp);
	for (size_t i = 0; i < nkeep; i++) {
		ssize_t v = fgetxattr(fd, keep[i], val, PK_COPY);
		if (v < 0)
			return pk_fail(c, errno, path, "read xattr");
		archive_entry_xattr_add_entry(c->ae, keep[i], val, (size_t)v);
	}
	return 0;
}

/* ---- entries ---- */

/* Reset the shared entry to @path with @sb's mode, owner and mtime. */
static void pk_entry(struct pk_ctx *c, const char *path, const struct stat *sb)
{
	archive_entry_clear(c->ae);
	archive_entry_copy_pathname(c->ae, path);
	archive_entry_set_mode(c->ae, sb->st_mode);
	archive_entry_set_mtime(c->ae, sb->st_mtim.tv_sec, sb->st_mtim.tv_nsec);
	if (c->flags & IMG_UNPACK_OWNERS) {
		archive_entry_set_uid(c->ae, sb->st_uid);
		archive_entry_set_gid(c->ae, sb->st_gid);
	}
}

static int pk_header(struct pk_ctx *c, const char *path)
{
	if (archive_write_header(c->a, c->ae) < ARCHIVE_OK)
		return pk_archive_fail(c, path);
	c->st->entries++;
	return 0;
}

/* An empty regular file entry: the whiteout and opaque markers. */
static int pk_marker(struct pk_ctx *c, const char *path, const struct stat *sb)
{
	pk_entry(c, path, sb);
	archive_entry_set_filetype(c->ae, AE_IFREG);
	archive_entry_set_perm(c->ae, 0);
	archive_entry_set_size(c->ae, 0);
	return pk_header(c, path);
}

static int pk_file(struct pk_ctx *c, int dfd, const char *name, const char *path, const struct stat *sb)
{
	_cleanup_close_ int fd = -1;
	bool opaque = false;
	const char *first;
	int r;

	pk_entry(c, path, sb);
	if (sb->st_nlink > 1 && (first = pk_link_seen(c, sb, path))) {
		archive_entry_copy_hardlink(c->ae, first);
		archive_entry_set_size(c->ae, 0);
		return pk_header(c, path);
	}
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return pk_fail(c, errno, path, "open");
	r = pk_xattrs(c, fd, path, &opaque);
	if (r < 0)
		return r;
	archive_entry_set_size(c->ae, sb->st_size);
	r = pk_header(c, path);
	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = TEMP_FAILURE_RETRY_INT(read(fd, c->buf, PK_COPY));
		if (n < 0)
			return pk_fail(c, errno, path, "read");
		if (n == 0)
			break;
		if (archive_write_data(c->a, c->buf, (size_t)n) < 0)
			return pk_archive_fail(c, path);
		c->st->files_bytes += (uint64_t)n;
	}
	return 0;
}

static int pk_tree(struct pk_ctx *c, int dfd, char *path, size_t plen, unsigned depth);

static int pk_dir(struct pk_ctx *c, int dfd, const char *name, char *path, size_t plen, const struct stat *sb,
		  unsigned depth)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	bool opaque = false;
	int r;

	if (fd < 0)
		return pk_fail(c, errno, path, "open directory");
	if (depth > IMG_TAR_DEPTH_MAX)
		return pk_fail(c, 0, path, "directory tree too deep");
	pk_entry(c, path, sb);
	r = pk_xattrs(c, fd, path, &opaque);
	if (r < 0 || (r = pk_header(c, path)) < 0)
		return r;
	if (opaque) {
		size_t n = strlen(path);
		snprintf(path + n, IMG_TAR_PATH_MAX - n, "/%s", IMG_WHITEOUT_OPAQUE);
		r = pk_marker(c, path, sb);
		path[n] = '\0';
		if (r < 0)
			return r;
	}
	return pk_tree(c, fd, path, plen, depth);
}

/* One directory entry @name of @dfd, whose path in the tar is @path. */
static int pk_one(struct pk_ctx *c, int dfd, const char *name, char *path, size_t plen, unsigned depth)
{
	struct stat sb;
	char target[IMG_TAR_LINK_MAX + 1];
	ssize_t n;

	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return pk_fail(c, errno, path, "stat");
	switch (sb.st_mode & S_IFMT) {
	case S_IFREG:
		return pk_file(c, dfd, name, path, &sb);
	case S_IFDIR:
		return pk_dir(c, dfd, name, path, plen, &sb, depth + 1);
	case S_IFLNK:
		n = readlinkat(dfd, name, target, sizeof(target));
		if (n < 0 || (size_t)n >= sizeof(target))
			return pk_fail(c, n < 0 ? errno : ENAMETOOLONG, path, "readlink");
		target[n] = '\0';
		pk_entry(c, path, &sb);
		archive_entry_copy_symlink(c->ae, target);
		return pk_header(c, path);
	case S_IFCHR:
		if (sb.st_rdev == makedev(0, 0)) {
			char wh[IMG_TAR_PATH_MAX];
			const char *slash = strrchr(path, '/');
			int pre = slash ? (int)(slash - path + 1) : 0;
			if (snprintf(wh, sizeof(wh), "%.*s" IMG_WHITEOUT_PREFIX "%s", pre, path, name) >= (int)sizeof(wh))
				return pk_fail(c, 0, path, "name too long");
			return pk_marker(c, wh, &sb);
		}
		/* a real device: recorded (the unpacker skips it) */
		__attribute__((fallthrough));
	case S_IFBLK:
	case S_IFIFO:
		pk_entry(c, path, &sb);
		archive_entry_set_rdev(c->ae, sb.st_rdev);
		return pk_header(c, path);
	default: /* sockets */
		c->st->devices_skipped++;
		return 0;
	}
}

/* Every entry of the open directory @dfd, sorted; @path holds its tar path (@plen bytes, "" at the root). */
static int pk_tree(struct pk_ctx *c, int dfd, char *path, size_t plen, unsigned depth)
{
	_cleanup_close_ int dup_fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	if (dup_fd < 0 || !(d = fdopendir(dup_fd)))
		return pk_fail(c, errno, *path ? path : ".", "open directory");
	util_steal_fd(&dup_fd);
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap)
			names = xrealloc(names, (cap = cap ? cap * 2 : 32) * sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), pk_strcmp);
	for (size_t i = 0; i < n && r == 0; i++) {
		int len = snprintf(path + plen, IMG_TAR_PATH_MAX - plen, "%s%s", plen ? "/" : "", names[i]);
		if (len < 0 || plen + (size_t)len >= IMG_TAR_PATH_MAX)
			r = pk_fail(c, 0, path, "path too long");
		else
			r = pk_one(c, dfd, names[i], path, plen + (size_t)len, depth);
		path[plen] = '\0';
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

static void pk_finish_digest(struct pk_ctx *c)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char *p;

	EVP_DigestFinal_ex(c->md, md, &mdlen);
	p = c->st->diff_id + sprintf(c->st->diff_id, "sha256:");
	for (unsigned i = 0; i < mdlen; i++)
		p += sprintf(p, "%02x", md[i]);
	c->st->bytes = c->bytes;
}

int img_pack_layer(int src_dirfd, int out_fd, unsigned flags, struct img_unpack_stats *st, msb_error *err)
{
	struct img_unpack_stats local;
	struct pk_ctx c = {.out = out_fd, .flags = flags, .err = err};
	char path[IMG_TAR_PATH_MAX] = "";
	struct stat sb;
	bool opaque = false;
	int r = 0;

	c.st = st ? st : &local;
	memset(c.st, 0, sizeof(*c.st));
	c.a = archive_write_new();
	c.ae = archive_entry_new();
	c.md = EVP_MD_CTX_new();
	if (!c.a || !c.ae || !c.md || EVP_DigestInit_ex(c.md, EVP_sha256(), NULL) != 1)
		abort();
	c.buf = xmalloc(PK_COPY);
	archive_write_set_format_pax_restricted(c.a);
	archive_write_set_bytes_per_block(c.a, PK_BLOCK);
	archive_write_set_bytes_in_last_block(c.a, 1);
	if (archive_write_open(c.a, &c, NULL, pk_write_cb, NULL) != ARCHIVE_OK)
		r = pk_archive_fail(&c, ".");
	/* the root itself is not an entry; only its opaque marker is */
	if (r == 0 && fstat(src_dirfd, &sb) == 0) {
		_cleanup_close_ int fd = openat(src_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		archive_entry_clear(c.ae);
		if (fd >= 0 && (r = pk_xattrs(&c, fd, ".", &opaque)) == 0 && opaque)
			r = pk_marker(&c, IMG_WHITEOUT_OPAQUE, &sb);
	}
	if (r == 0)
		r = pk_tree(&c, src_dirfd, path, 0, 0);
	if (r == 0 && archive_write_close(c.a) != ARCHIVE_OK)
		r = pk_archive_fail(&c, ".");
	if (r == 0)
		pk_finish_digest(&c);
	archive_write_free(c.a);
	archive_entry_free(c.ae);
	EVP_MD_CTX_free(c.md);
	for (size_t i = 0; i < c.caplinks; i++)
		free(c.links[i].path);
	free(c.links);
	free(c.buf);
	return r;
}
