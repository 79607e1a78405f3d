/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tarpath.h - is one tar entry of an image layer safe to extract, and what is it?
 *
 * Layer tarballs come from registries and archives we do not trust. Before the
 * extractor touches the filesystem it asks this module about each entry: the
 * name is normalised to a clean relative path ("./a//b/." -> "a/b"), names that
 * could leave the layer root (absolute, "..", over-long, too deep, NUL) are
 * refused, hard-link targets get the same treatment, symlink targets are
 * reported, and overlay whiteouts are recognised (".wh.NAME" deletes NAME,
 * ".wh..wh..opq" makes its directory opaque). This is the first line of
 * defence; the extractor's second is to resolve every path with
 * openat2(RESOLVE_IN_ROOT) and to refuse to write through symlinks. Pure: no
 * I/O, and no state across entries.
 */
#ifndef MSB_IMAGE_TARPATH_H
#define MSB_IMAGE_TARPATH_H

#include <stdbool.h>
#include <stddef.h>

#include "msb.h"

#define IMG_TAR_PATH_MAX  4096 /* PATH_MAX: an entry name must be shorter (room for the NUL) */
#define IMG_TAR_NAME_MAX  255  /* NAME_MAX: one component */
#define IMG_TAR_DEPTH_MAX 128  /* components in a normalised path */
#define IMG_TAR_LINK_MAX  4096 /* a symlink target must be shorter */

#define IMG_WHITEOUT_PREFIX ".wh."
#define IMG_WHITEOUT_OPAQUE ".wh..wh..opq"

/* The entry's file type, as the tar reader reports it. */
enum img_tar_type {
	IMG_TAR_FILE = 0,
	IMG_TAR_DIR,
	IMG_TAR_SYMLINK,
	IMG_TAR_HARDLINK,
	IMG_TAR_CHAR,
	IMG_TAR_BLOCK,
	IMG_TAR_FIFO,
	IMG_TAR_TYPE_COUNT
};

/* What the extractor should do with the entry. */
enum img_tar_action {
	IMG_TAR_CREATE = 0, /* create @path as @type (replacing what a lower layer had there) */
	IMG_TAR_ROOT,       /* the layer root itself ("./"): create nothing, metadata only */
	IMG_TAR_WHITEOUT,   /* delete @path as seen in the layers below; create nothing */
	IMG_TAR_OPAQUE,     /* directory @path ("" = root) hides everything below it in lower layers */
	IMG_TAR_SKIP,       /* AUFS bookkeeping (".wh..wh.*" other than the opaque marker): ignore */
	IMG_TAR_ACTION_COUNT
};

/**
 * struct img_tar_entry - the verdict on one entry; strings owned.
 * @action: enum img_tar_action
 * @type: enum img_tar_type, as passed in
 * @path: normalised relative path: no leading or trailing '/', no empty, "."
 *        or ".." components. For WHITEOUT the path to delete, for OPAQUE the
 *        directory (both already stripped of the marker), for SKIP the
 *        name as it is. "" only for ROOT and for OPAQUE at the layer root.
 * @depth: number of components in @path
 * @link: HARDLINK: the normalised target (a path inside the layer root, never
 *        @path itself); SYMLINK: the target exactly as stored, which may be
 *        absolute or contain ".." (it is only ever resolved inside the root);
 *        NULL otherwise
 * @link_absolute: SYMLINK target starts with '/'
 * @link_dotdot: SYMLINK target has a ".." component
 */
struct img_tar_entry {
	int action;
	int type;
	char *path;
	unsigned depth;
	char *link;
	bool link_absolute;
	bool link_dotdot;
};

/**
 * img_tarpath_check() - validate and classify one tar entry.
 * @name, @name_len: the entry name as stored (pax "path" may hold any byte)
 * @type: enum img_tar_type
 * @link, @link_len: hard-link or symlink target as stored; NULL/0 otherwise
 * @out: receives the verdict (zeroed on failure); release with img_tar_entry_clear()
 * @err: error out: `unsafe tar entry "<name>": <reason>`
 *
 * Refused: empty names; NUL bytes; names of IMG_TAR_PATH_MAX bytes or more;
 * absolute names; any ".." component; components longer than
 * IMG_TAR_NAME_MAX; more than IMG_TAR_DEPTH_MAX components; a trailing '/'
 * on anything but a directory; ".wh." names with no real name after the
 * prefix (".wh.", ".wh..", ".wh..."); ".wh." components that are not last;
 * hard links whose target is empty, escapes the root by the rules above,
 * names a whiteout or is the entry itself; symlinks with an empty or
 * over-long target. A whiteout's own type and link are ignored.
 *
 * Return: enum img_tar_action (>= 0), or -MSB_ERR_INVALID.
 */
int img_tarpath_check(const char *name, size_t name_len, int type, const char *link, size_t link_len,
		      struct img_tar_entry *out, msb_error *err);

/**
 * img_tar_entry_clear() - free the strings of @e and zero it. Safe on a zeroed struct.
 * @e: entry to clear
 */
void img_tar_entry_clear(struct img_tar_entry *e);

#endif
