/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unpack.h - turn an untrusted layer tarball into a directory that overlayfs
 * can use as a lower layer, and write such a directory back out as a layer.
 *
 * libarchive parses the tar format and undoes gzip/zstd; it decides nothing
 * about what is written. Every entry is first judged by tarpath.h, then
 * created by this module with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)
 * for its parent directory and an O_EXCL/O_NOFOLLOW-style call for the last
 * component, so nothing can be written outside the destination, and never
 * through a symlink the layer itself planted.
 *
 * The on-disk result follows the overlayfs conventions for a mount with the
 * "userxattr" option, which msb uses everywhere (rootless and as root alike,
 * so one layer cache serves both): a whiteout is a character device 0:0, and
 * an opaque directory carries the xattr "user.overlay.opaque" = "y". The
 * trusted.* namespace would need CAP_SYS_ADMIN in the initial user namespace
 * and is ignored by a userxattr mount, which is why the user.* one is used.
 */
#ifndef MSB_IMAGE_UNPACK_H
#define MSB_IMAGE_UNPACK_H

#include <stdint.h>

#include "image/manifest.h"
#include "msb.h"

/* Limits from the pull spec: 10 GiB of uncompressed tar, 5 GiB in one file, 1 M entries. */
#define IMG_UNPACK_MAX_TOTAL_BYTES (10ULL << 30)
#define IMG_UNPACK_MAX_FILE_BYTES  (5ULL << 30)
#define IMG_UNPACK_MAX_ENTRIES     (1ULL << 20)

/* Ids at or above this are not mapped in a sandbox; they become IMG_UNPACK_NOBODY. */
#define IMG_UNPACK_ID_LIMIT 65536U
#define IMG_UNPACK_NOBODY   65534U

/* img_unpack_layer() / img_pack_layer() flags */
enum {
	/*
	 * Unpack: lchown every entry to the tar's uid/gid (the caller is root or
	 * root of a user namespace holding the sandbox's id map). Without it the
	 * files belong to the caller and setuid/setgid bits are dropped.
	 * Pack: record the files' uid/gid; without it every entry is 0:0.
	 */
	IMG_UNPACK_OWNERS = 1u << 0,
};

/**
 * struct img_unpack_limits - resource bounds for one layer; all must be > 0.
 * @max_total_bytes: bytes of the uncompressed tar stream (headers, padding and
 *                   trailing data included, so it also bounds file content)
 * @max_file_bytes: size of one regular file
 * @max_entries: tar entries (of any kind, whiteouts and skipped ones included)
 */
struct img_unpack_limits {
	uint64_t max_total_bytes;
	uint64_t max_file_bytes;
	uint64_t max_entries;
};

/* The spec's defaults. */
#define IMG_UNPACK_LIMITS_DEFAULT                                                                             \
	((struct img_unpack_limits){IMG_UNPACK_MAX_TOTAL_BYTES, IMG_UNPACK_MAX_FILE_BYTES, IMG_UNPACK_MAX_ENTRIES})

/**
 * struct img_unpack_stats - what one unpack or pack saw.
 * @entries: tar entries read (unpack) or written (pack)
 * @bytes: size of the uncompressed tar stream
 * @files_bytes: bytes of regular file content
 * @devices_skipped: unpack: char/block device entries not created (a
 *                   sandbox's /dev comes from the runtime, never a layer);
 *                   pack: sockets and unreadable special files left out
 * @ids_clamped: unpack with IMG_UNPACK_OWNERS: uids or gids >= 65536 that
 *               were written as 65534 (each entry counts once)
 * @xattrs_ignored: xattrs not applied (other namespaces, or a
 *                  security.capability the kernel would not take)
 * @diff_id: "sha256:<hex>" of the uncompressed tar stream
 */
struct img_unpack_stats {
	uint64_t entries;
	uint64_t bytes;
	uint64_t files_bytes;
	uint64_t devices_skipped;
	uint64_t ids_clamped;
	uint64_t xattrs_ignored;
	char diff_id[IMG_DIGEST_LEN + 1];
};

/**
 * img_unpack_layer() - extract one layer into an empty directory.
 * @in_fd: the layer blob, read sequentially to its end (borrowed)
 * @compression: enum img_compression of the blob
 * @dest_dirfd: the empty destination directory (borrowed; O_PATH is enough)
 * @expect_diff_id: "sha256:<hex>" the uncompressed stream must hash to, or
 *                  NULL to only compute it
 * @flags: IMG_UNPACK_OWNERS
 * @lim: limits, or NULL for IMG_UNPACK_LIMITS_DEFAULT
 * @st: receives the counters and the computed diff_id (may be NULL); filled
 *      as far as the unpack got, also on failure
 * @err: error out; names the offending entry, the limit hit, or expected vs
 *       computed diff_id
 *
 * Per entry: names are checked by img_tarpath_check(); a parent path that
 * runs through a symlink is refused ("write through symlink"), missing
 * parents are created 0755; a later entry for an existing name replaces it
 * (a directory over a directory keeps it and takes the new metadata).
 * Regular files, directories, symlinks (target verbatim), FIFOs and hard
 * links (to a regular file of this layer, found without following symlinks)
 * are created; char/block devices are skipped and counted. ".wh.NAME"
 * becomes a char device 0:0 NAME, ".wh..wh..opq" the xattr
 * user.overlay.opaque=y on its directory. Modes are masked to 07777;
 * setuid/setgid are dropped without IMG_UNPACK_OWNERS. mtimes are kept (a
 * directory's after its children). Of the tar's xattrs only user.* and
 * security.capability are applied (the latter best effort), and
 * user.overlay.* is refused: a layer must not forge overlay metadata.
 * Nothing is fsync'ed; the caller publishes the directory by rename.
 *
 * Return: 0, or -MSB_ERR_INVALID (unsafe or malformed tar, limit, diff_id
 * mismatch), -MSB_ERR_SYSTEM, -MSB_ERR_PERMISSION (a whiteout device could
 * not be created), -MSB_ERR_UNSUPPORTED (no user xattrs on the file system).
 * On failure @dest_dirfd may be partly filled: the caller deletes it (its
 * directories are still 0700 and the caller's, so fs_rm_rf_at() can, even
 * unprivileged).
 */
int img_unpack_layer(int in_fd, int compression, int dest_dirfd, const char *expect_diff_id, unsigned flags,
		     const struct img_unpack_limits *lim, struct img_unpack_stats *st, msb_error *err);

/**
 * img_pack_layer() - write a directory tree out as an uncompressed layer tar.
 * @src_dirfd: the tree's root (borrowed)
 * @out_fd: where the tar goes (borrowed; written sequentially)
 * @flags: IMG_UNPACK_OWNERS
 * @st: receives entries, bytes and diff_id (may be NULL)
 * @err: error out, names the path that failed
 *
 * The inverse of img_unpack_layer(): char devices 0:0 become ".wh.NAME",
 * user.overlay.opaque=y becomes "DIR/.wh..wh..opq", files sharing an inode
 * become hard links. Names are sorted bytewise, directories before their
 * contents, and only mode, ids, mtime, size, link targets and the xattrs the
 * unpacker accepts are recorded, so the same tree always gives the same
 * bytes. Symlinks are never followed.
 *
 * Return: 0, -MSB_ERR_SYSTEM or -MSB_ERR_INVALID.
 */
int img_pack_layer(int src_dirfd, int out_fd, unsigned flags, struct img_unpack_stats *st, msb_error *err);

#endif
