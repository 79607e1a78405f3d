// SPDX-License-Identifier: Apache-2.0
/*
 * test_tarpath.c - the safety verdict on tar entry names: normalisation,
 * escapes ("..", absolute names), limits (length, component length, depth),
 * NUL bytes, directory spellings, whiteouts and opaque markers, hard-link
 * targets and symlink reporting.
 */
#include <stdio.h>

#include "image/ref.h"
#include "image/tarpath.h"
#include "tap.h"
#include "util.h"

static const struct {
	const char *name;
	int type;
	int action;
	const char *path;
	unsigned depth;
} good[] = {
	{"a", IMG_TAR_FILE, IMG_TAR_CREATE, "a", 1},
	{"./a/./b", IMG_TAR_FILE, IMG_TAR_CREATE, "a/b", 2},
	{"a//b///c", IMG_TAR_FILE, IMG_TAR_CREATE, "a/b/c", 3},
	{"././a", IMG_TAR_FILE, IMG_TAR_CREATE, "a", 1},
	{".//a", IMG_TAR_FILE, IMG_TAR_CREATE, "a", 1},
	{"usr/bin/", IMG_TAR_DIR, IMG_TAR_CREATE, "usr/bin", 2},
	{"usr/bin/.", IMG_TAR_DIR, IMG_TAR_CREATE, "usr/bin", 2},
	{"usr//", IMG_TAR_DIR, IMG_TAR_CREATE, "usr", 1},
	{".", IMG_TAR_DIR, IMG_TAR_ROOT, "", 0},
	{"./", IMG_TAR_DIR, IMG_TAR_ROOT, "", 0},
	{".//./", IMG_TAR_DIR, IMG_TAR_ROOT, "", 0},
	{"...", IMG_TAR_FILE, IMG_TAR_CREATE, "...", 1},
	{"a/..b/c..", IMG_TAR_FILE, IMG_TAR_CREATE, "a/..b/c..", 3},
	{".hidden", IMG_TAR_FILE, IMG_TAR_CREATE, ".hidden", 1},
	{".whx", IMG_TAR_FILE, IMG_TAR_CREATE, ".whx", 1},
	{"a.wh.b", IMG_TAR_FILE, IMG_TAR_CREATE, "a.wh.b", 1},
	{"dev/null", IMG_TAR_CHAR, IMG_TAR_CREATE, "dev/null", 2},
	{"dev/sda", IMG_TAR_BLOCK, IMG_TAR_CREATE, "dev/sda", 2},
	{"run/fifo", IMG_TAR_FIFO, IMG_TAR_CREATE, "run/fifo", 2},
	{"line\nbreak", IMG_TAR_FILE, IMG_TAR_CREATE, "line\nbreak", 1},
	/* whiteouts */
	{".wh.foo", IMG_TAR_FILE, IMG_TAR_WHITEOUT, "foo", 1},
	{"./.wh.foo", IMG_TAR_FILE, IMG_TAR_WHITEOUT, "foo", 1},
	{"dir/sub/.wh.bar", IMG_TAR_FILE, IMG_TAR_WHITEOUT, "dir/sub/bar", 3},
	{"dir/.wh..hidden", IMG_TAR_FILE, IMG_TAR_WHITEOUT, "dir/.hidden", 2},
	{"dir/.wh....", IMG_TAR_FILE, IMG_TAR_WHITEOUT, "dir/...", 2},
	{".wh.foo/", IMG_TAR_DIR, IMG_TAR_WHITEOUT, "foo", 1},
	{".wh.x", IMG_TAR_CHAR, IMG_TAR_WHITEOUT, "x", 1},
	{"dir/.wh..wh..opq", IMG_TAR_FILE, IMG_TAR_OPAQUE, "dir", 1},
	{"a/b/.wh..wh..opq", IMG_TAR_FILE, IMG_TAR_OPAQUE, "a/b", 2},
	{".wh..wh..opq", IMG_TAR_FILE, IMG_TAR_OPAQUE, "", 0},
	{"./.wh..wh..opq", IMG_TAR_FILE, IMG_TAR_OPAQUE, "", 0},
	{".wh..wh.plnk", IMG_TAR_DIR, IMG_TAR_SKIP, ".wh..wh.plnk", 1},
	{".wh..wh.plnk/123.456", IMG_TAR_FILE, IMG_TAR_SKIP, ".wh..wh.plnk/123.456", 2},
	{"a/.wh..wh.aufs", IMG_TAR_FILE, IMG_TAR_SKIP, "a/.wh..wh.aufs", 2},
};

static const struct {
	const char *name;
	int type;
	const char *msg;
} bad[] = {
	{"../x", IMG_TAR_FILE, "unsafe tar entry \"../x\": name has a \"..\" component"},
	{"a/../../x", IMG_TAR_FILE, "name has a \"..\" component"},
	{"a/../b", IMG_TAR_FILE, "name has a \"..\" component"},
	{"a/..", IMG_TAR_DIR, "name has a \"..\" component"},
	{"..", IMG_TAR_DIR, "name has a \"..\" component"},
	{"./../x", IMG_TAR_FILE, "\"..\" component"},
	{"/etc/passwd", IMG_TAR_FILE, "unsafe tar entry \"/etc/passwd\": name is an absolute path"},
	{"/", IMG_TAR_DIR, "absolute path"},
	{"//a", IMG_TAR_FILE, "absolute path"},
	{"", IMG_TAR_FILE, "empty name"},
	{"", IMG_TAR_DIR, "empty name"},
	{".", IMG_TAR_FILE, "empty name"},
	{"./", IMG_TAR_SYMLINK, "empty name"},
	{"a/", IMG_TAR_FILE, "trailing '/' on a non-directory"},
	{"a/.", IMG_TAR_SYMLINK, "trailing '/' on a non-directory"},
	{".wh.", IMG_TAR_FILE, "malformed whiteout: \".wh.\" does not name a file"},
	{".wh..", IMG_TAR_FILE, "malformed whiteout: \".wh..\""},
	{".wh...", IMG_TAR_FILE, "malformed whiteout: \".wh...\""},
	{"dir/.wh.", IMG_TAR_FILE, "malformed whiteout"},
	{"a/.wh.b/c", IMG_TAR_FILE, "whiteout name used as a directory"},
	{".wh.x/y", IMG_TAR_DIR, "whiteout name used as a directory"},
	{"a\n/../b", IMG_TAR_FILE, "unsafe tar entry \"a\\x0a/../b\""},
};

static void test_good(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		struct img_tar_entry e;
		msb_error err = {0};
		int r = img_tarpath_check(good[i].name, strlen(good[i].name), good[i].type, NULL, 0, &e, &err);

		char q[64];

		img_quote(q, sizeof(q), good[i].name, strlen(good[i].name));
		is_int(r, good[i].action, "%s type %d%s%s", q, good[i].type, r < 0 ? ": " : "", r < 0 ? err.msg : "");
		is_str(e.path, good[i].path, "  path");
		is_int(e.depth, good[i].depth, "  depth");
		is_int(e.action, good[i].action, "  action field");
		img_tar_entry_clear(&e);
	}
}

static void test_bad(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct img_tar_entry e;
		msb_error err = {0};
		int r = img_tarpath_check(bad[i].name, strlen(bad[i].name), bad[i].type, NULL, 0, &e, &err);

		char q[64];

		img_quote(q, sizeof(q), bad[i].name, strlen(bad[i].name));
		is_int(r, -MSB_ERR_INVALID, "reject %s type %d", q, bad[i].type);
		ok(err.code == MSB_ERR_INVALID && strstr(err.msg, bad[i].msg), "  message: %s", err.msg);
		ok(e.path == NULL && e.link == NULL, "  output zeroed");
	}
}

static int check(const char *name, size_t len, int type, const char *link, size_t link_len, struct img_tar_entry *e,
		 msb_error *err)
{
	return img_tarpath_check(name, len, type, link, link_len, e, err);
}

static void test_limits(void)
{
	static char p[IMG_TAR_PATH_MAX + 16];
	struct img_tar_entry e;
	msb_error err = {0};
	size_t i;

	ok(check("a\0b", 3, IMG_TAR_FILE, NULL, 0, &e, &err) < 0 && strstr(err.msg, "name contains a NUL byte") &&
		   strstr(err.msg, "\"a\\x00b\""),
	   "NUL inside the name rejected and shown: %s", err.msg);
	ok(check("a\0", 2, IMG_TAR_FILE, NULL, 0, &e, &err) < 0, "trailing NUL inside the length rejected");

	/* 4095 bytes: "a/" repeated, components of 1, but that is too deep; use 255-byte components */
	for (i = 0; i < 15; i++) {
		memset(p + i * 256, 'x', 255);
		p[i * 256 + 255] = '/';
	}
	memset(p + 15 * 256, 'y', IMG_TAR_PATH_MAX - 1 - 15 * 256);
	p[IMG_TAR_PATH_MAX - 1] = '\0';
	ok(check(p, IMG_TAR_PATH_MAX - 1, IMG_TAR_FILE, NULL, 0, &e, &err) == IMG_TAR_CREATE && e.depth == 16,
	   "4095-byte name accepted: %s", err.msg);
	img_tar_entry_clear(&e);
	p[IMG_TAR_PATH_MAX - 1] = 'y';
	p[IMG_TAR_PATH_MAX] = '\0';
	ok(check(p, IMG_TAR_PATH_MAX, IMG_TAR_FILE, NULL, 0, &e, &err) < 0 &&
		   strstr(err.msg, "name is 4096 bytes long (max 4095)"),
	   "4096-byte name rejected");
	ok(strlen(err.msg) < sizeof(err.msg) && strstr(err.msg, "...\""), "  message quotes it truncated");

	memset(p, 'c', 255);
	p[255] = '\0';
	ok(check(p, 255, IMG_TAR_FILE, NULL, 0, &e, &err) == IMG_TAR_CREATE, "255-byte component accepted");
	img_tar_entry_clear(&e);
	p[255] = 'c';
	p[256] = '\0';
	ok(check(p, 256, IMG_TAR_FILE, NULL, 0, &e, &err) < 0 && strstr(err.msg, "longer than 255 bytes"),
	   "256-byte component rejected");

	for (i = 0; i < 128; i++) {
		p[2 * i] = 'd';
		p[2 * i + 1] = '/';
	}
	p[255] = '\0'; /* 128 components, no trailing '/' */
	ok(check(p, 255, IMG_TAR_FILE, NULL, 0, &e, &err) == IMG_TAR_CREATE && e.depth == 128,
	   "128 levels accepted");
	img_tar_entry_clear(&e);
	p[255] = '/';
	p[256] = 'd';
	p[257] = '\0';
	ok(check(p, 257, IMG_TAR_FILE, NULL, 0, &e, &err) < 0 && strstr(err.msg, "more than 128 levels deep"),
	   "129 levels rejected");
	ok(check("./././././././././././././a", 27, IMG_TAR_FILE, NULL, 0, &e, &err) == IMG_TAR_CREATE && e.depth == 1,
	   "many \"./\" collapse");
	img_tar_entry_clear(&e);
	ok(check("a", 1, 42, NULL, 0, &e, &err) < 0 && strstr(err.msg, "unsupported entry type 42"),
	   "unknown type rejected");
	ok(check("a", 1, -1, NULL, 0, &e, NULL) == -MSB_ERR_INVALID, "negative type rejected, NULL err ok");
}

static void test_hardlinks(void)
{
	static const struct {
		const char *name, *target, *want, *msg;
	} t[] = {
		{"b", "a", "a", NULL},
		{"usr/bin/perl", "./usr/bin/./perl5.36", "usr/bin/perl5.36", NULL},
		{"x", "a//b/", "a/b", NULL},
		{"b", "../etc/shadow", NULL, "hard link target \"../etc/shadow\" has a \"..\" component"},
		{"b", "/etc/shadow", NULL, "hard link target \"/etc/shadow\" is an absolute path"},
		{"b", "a/../../x", NULL, "has a \"..\" component"},
		{"b", "a/../a", NULL, "has a \"..\" component"},
		{"b", "", NULL, "empty hard link target"},
		{"b", ".", NULL, "is the layer root"},
		{"b", "./", NULL, "is the layer root"},
		{"a/b", "./a/b", NULL, "hard link to itself"},
		{"b", ".wh.a", NULL, "is a whiteout name"},
		{"b", "d/.wh..wh..opq", NULL, "is a whiteout name"},
		{"b/", "a", NULL, "trailing '/' on a non-directory"},
		{"../b", "a", NULL, "name has a \"..\" component"},
	};
	struct img_tar_entry e;
	msb_error err = {0};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		int r = check(t[i].name, strlen(t[i].name), IMG_TAR_HARDLINK, t[i].target, strlen(t[i].target), &e,
			      &err);
		if (t[i].want) {
			is_int(r, IMG_TAR_CREATE, "hard link %s -> %s%s%s", t[i].name, t[i].target, r < 0 ? ": " : "",
			       r < 0 ? err.msg : "");
			is_str(e.link, t[i].want, "  normalised target");
		} else {
			is_int(r, -MSB_ERR_INVALID, "hard link %s -> %s rejected", t[i].name, t[i].target);
			ok(strstr(err.msg, t[i].msg) != NULL, "  message: %s", err.msg);
		}
		img_tar_entry_clear(&e);
	}
	ok(check("b", 1, IMG_TAR_HARDLINK, NULL, 0, &e, &err) < 0 && strstr(err.msg, "hard link without a target"),
	   "hard link without target rejected");
	ok(check("b", 1, IMG_TAR_HARDLINK, "a\0b", 3, &e, &err) < 0 && strstr(err.msg, "contains a NUL byte"),
	   "NUL in hard link target rejected");
	/* whiteouts ignore their type and link: the marker is the name */
	ok(check(".wh.x", 5, IMG_TAR_HARDLINK, "../../etc", 9, &e, &err) == IMG_TAR_WHITEOUT && e.link == NULL,
	   "whiteout spelled as a hard link is still a whiteout, target dropped");
	img_tar_entry_clear(&e);
}

static void test_symlinks(void)
{
	static char big[IMG_TAR_LINK_MAX + 1];
	struct img_tar_entry e;
	msb_error err = {0};

	ok(check("etc/localtime", 13, IMG_TAR_SYMLINK, "/usr/share/zoneinfo/UTC", 23, &e, &err) == IMG_TAR_CREATE,
	   "absolute symlink target allowed");
	is_str(e.link, "/usr/share/zoneinfo/UTC", "  reported as stored");
	ok(e.link_absolute && !e.link_dotdot, "  flagged absolute");
	img_tar_entry_clear(&e);

	ok(check("a/b", 3, IMG_TAR_SYMLINK, "../../../../etc/passwd", 22, &e, &err) == IMG_TAR_CREATE,
	   "escaping symlink target allowed (resolved in root at runtime)");
	ok(!e.link_absolute && e.link_dotdot, "  flagged dotdot");
	img_tar_entry_clear(&e);

	ok(check("lib", 3, IMG_TAR_SYMLINK, "usr/lib", 7, &e, &err) == IMG_TAR_CREATE && !e.link_absolute &&
		   !e.link_dotdot,
	   "plain relative symlink");
	img_tar_entry_clear(&e);
	ok(check("x", 1, IMG_TAR_SYMLINK, "a/..b/c..", 9, &e, &err) == IMG_TAR_CREATE && !e.link_dotdot,
	   "\"..b\" is not a dotdot component");
	img_tar_entry_clear(&e);
	ok(check("x", 1, IMG_TAR_SYMLINK, "..", 2, &e, &err) == IMG_TAR_CREATE && e.link_dotdot, "\"..\" alone");
	img_tar_entry_clear(&e);
	ok(check("x", 1, IMG_TAR_SYMLINK, "a/..", 4, &e, &err) == IMG_TAR_CREATE && e.link_dotdot, "trailing \"..\"");
	img_tar_entry_clear(&e);

	ok(check("x", 1, IMG_TAR_SYMLINK, "", 0, &e, &err) < 0 && strstr(err.msg, "symlink without a target"),
	   "empty symlink target rejected");
	ok(check("x", 1, IMG_TAR_SYMLINK, NULL, 0, &e, &err) < 0, "missing symlink target rejected");
	ok(check("x", 1, IMG_TAR_SYMLINK, "a\0b", 3, &e, &err) < 0 && strstr(err.msg, "symlink target contains a NUL"),
	   "NUL in symlink target rejected");
	memset(big, 'l', IMG_TAR_LINK_MAX);
	ok(check("x", 1, IMG_TAR_SYMLINK, big, IMG_TAR_LINK_MAX - 1, &e, &err) == IMG_TAR_CREATE,
	   "4095-byte symlink target accepted");
	img_tar_entry_clear(&e);
	ok(check("x", 1, IMG_TAR_SYMLINK, big, IMG_TAR_LINK_MAX, &e, &err) < 0 && strstr(err.msg, "(max 4095)"),
	   "4096-byte symlink target rejected");
	ok(check("x", 1, IMG_TAR_FILE, "ignored", 7, &e, &err) == IMG_TAR_CREATE && e.link == NULL,
	   "link ignored for regular files");
	img_tar_entry_clear(&e);
	img_tar_entry_clear(&e);
	ok(e.path == NULL, "clear twice is harmless");
}

int main(void)
{
	test_good();
	test_bad();
	test_limits();
	test_hardlinks();
	test_symlinks();
	return tap_done();
}
