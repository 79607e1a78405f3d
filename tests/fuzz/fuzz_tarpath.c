// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_tarpath.c - libFuzzer target for the tar entry safety check.
 *
 * Input layout: byte 0 is the entry type (values past the enum test the
 * type check), bytes 1-2 the name length (little endian, clamped to what is
 * left), then the name, then the link target. Names and targets may hold any
 * byte, NUL included, as pax headers allow. Every accepted entry is checked
 * against the promises of tarpath.h: the path is relative, free of empty,
 * "." and ".." components, within the length and depth limits, and a hard
 * link's target obeys the same rules; the target traps when one is broken.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Iinclude -Isrc/lib \
 *        tests/fuzz/fuzz_tarpath.c src/lib/image/{ref,manifest,tarpath}.c src/lib/util.c -ljansson
 */
#include <stdint.h>
#include <stdio.h>

#include "image/tarpath.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                              \
	do {                                                                                                  \
		if (!(c)) {                                                                                   \
			fprintf(stderr, "property failed: %s (%s:%d)\n", #c, __FILE__, __LINE__);            \
			__builtin_trap();                                                                     \
		}                                                                                             \
	} while (0)

/* Check the normalised-path promises; returns the number of components. */
static unsigned check_clean_path(const char *p)
{
	unsigned depth = 0;
	const char *c = p;

	CHECK(strlen(p) < IMG_TAR_PATH_MAX);
	if (!*p)
		return 0;
	CHECK(p[0] != '/' && p[strlen(p) - 1] != '/');
	for (;;) {
		const char *slash = strchr(c, '/');
		size_t n = slash ? (size_t)(slash - c) : strlen(c);
		CHECK(n > 0 && n <= IMG_TAR_NAME_MAX);
		CHECK(!(n == 1 && c[0] == '.'));
		CHECK(!(n == 2 && c[0] == '.' && c[1] == '.'));
		depth++;
		if (!slash)
			break;
		c = slash + 1;
	}
	CHECK(depth <= IMG_TAR_DEPTH_MAX);
	return depth;
}

static bool any_component_starts(const char *p, const char *prefix)
{
	const char *c = p;

	for (;;) {
		if (strncmp(c, prefix, strlen(prefix)) == 0)
			return true;
		c = strchr(c, '/');
		if (!c)
			return false;
		c++;
	}
}

static void check_entry(const struct img_tar_entry *e, int r, int type, size_t link_len)
{
	CHECK(r == e->action && r >= 0 && r < IMG_TAR_ACTION_COUNT);
	CHECK(e->type == type);
	CHECK(e->path != NULL);
	CHECK(check_clean_path(e->path) == e->depth);
	switch (r) {
	case IMG_TAR_CREATE:
		CHECK(e->path[0]);
		CHECK(!any_component_starts(e->path, ".wh."));
		if (type == IMG_TAR_HARDLINK) {
			CHECK(e->link && e->link[0]);
			check_clean_path(e->link);
			CHECK(strcmp(e->link, e->path) != 0);
			CHECK(!any_component_starts(e->link, ".wh."));
		} else if (type == IMG_TAR_SYMLINK) {
			CHECK(e->link && strlen(e->link) == link_len && link_len > 0);
			CHECK(e->link_absolute == (e->link[0] == '/'));
		} else {
			CHECK(e->link == NULL);
		}
		break;
	case IMG_TAR_ROOT:
		CHECK(e->path[0] == '\0' && type == IMG_TAR_DIR);
		break;
	case IMG_TAR_WHITEOUT:
		CHECK(e->path[0] && e->link == NULL);
		CHECK(!any_component_starts(e->path, ".wh..wh."));
		break;
	case IMG_TAR_OPAQUE:
		CHECK(e->link == NULL && !any_component_starts(e->path, ".wh."));
		break;
	case IMG_TAR_SKIP:
		CHECK(any_component_starts(e->path, ".wh..wh."));
		break;
	default:
		CHECK(0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct img_tar_entry e;
	const char *name, *link;
	size_t name_len, link_len;
	msb_error err;
	int type, r;

	if (size < 3)
		return 0;
	type = (int)(data[0] % (IMG_TAR_TYPE_COUNT + 1));
	name_len = (size_t)data[1] | (size_t)data[2] << 8;
	if (name_len > size - 3)
		name_len = size - 3;
	name = (const char *)data + 3;
	link = name + name_len;
	link_len = size - 3 - name_len;

	r = img_tarpath_check(name, name_len, type, link_len ? link : NULL, link_len, &e, &err);
	if (r < 0) {
		CHECK(r == -MSB_ERR_INVALID && err.code == MSB_ERR_INVALID);
		CHECK(strncmp(err.msg, "unsafe tar entry \"", 18) == 0);
		CHECK(e.path == NULL && e.link == NULL);
		return 0;
	}
	check_entry(&e, r, type, link_len);
	img_tar_entry_clear(&e);
	return 0;
}
