// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_unpack.c - libFuzzer target for the layer extractor.
 *
 * Input layout: byte 0 selects how the rest reaches img_unpack_layer():
 * bits 0-1: 0 = a plain tar, 1 = gzip-compressed here first (so the tar
 * parser sees the bytes through the gzip path), 2 = the raw bytes declared
 * gzip (the decompressor sees garbage), 3 = declared zstd; bit 2 sets
 * IMG_UNPACK_OWNERS. Each run unpacks into a fresh directory "d" of a
 * private root that also holds a canary directory with one file, then
 * checks that the root still holds exactly "d" and "canary", that the canary
 * is untouched, and that nothing under "d" is a device other than a
 * whiteout (0:0); the target traps when one is broken. "d" is deleted after
 * every run. Small limits keep runs fast.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Iinclude -Isrc/lib tests/fuzz/fuzz_unpack.c \
 *        src/lib/image/{unpack,zstream,ref,manifest,tarpath}.c src/lib/fsutil.c src/lib/util.c \
 *        -larchive -lcrypto -ljansson
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "image/unpack.h"
#include "sandbox.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                              \
	do {                                                                                                  \
		if (!(c)) {                                                                                   \
			fprintf(stderr, "property failed: %s (%s:%d)\n", #c, __FILE__, __LINE__);            \
			__builtin_trap();                                                                     \
		}                                                                                             \
	} while (0)

static char root[256];

static int chmod_dirs(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	if (flag == FTW_D)
		chmod(p, 0700);
	return 0;
}
static int root_fd = -1;

static void teardown(void)
{
	nftw(root, chmod_dirs, 16, FTW_PHYS);
	fs_rm_rf_at(AT_FDCWD, root);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int fd;

	snprintf(root, sizeof(root), "%s/fuzz_unpack.XXXXXX", tmp);
	CHECK(mkdtemp(root));
	root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(root_fd >= 0);
	CHECK(mkdirat(root_fd, "canary", 0755) == 0);
	fd = openat(root_fd, "canary/file", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && write(fd, "canary", 6) == 6);
	close(fd);
	atexit(teardown);
}

/* Entries of directory @path under the root, "." and ".." excluded. */
static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	CHECK(d);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static int check_node(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	if (S_ISBLK(sb->st_mode) || (S_ISCHR(sb->st_mode) && sb->st_rdev != makedev(0, 0)))
		CHECK(!"a device node was created");
	if (flag == FTW_D)
		chmod(p, 0700); /* so the cleanup can empty read-only directories */
	return 0;
}

static void check_and_clean(void)
{
	char p[300];
	struct stat sb;

	CHECK(count_entries(root) == 2);
	snprintf(p, sizeof(p), "%s/canary", root);
	CHECK(count_entries(p) == 1);
	CHECK(fstatat(root_fd, "canary/file", &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
	      sb.st_size == 6);
	snprintf(p, sizeof(p), "%s/d", root);
	nftw(p, check_node, 16, FTW_PHYS);
	CHECK(fs_rm_rf_at(root_fd, "d") == 0);
}

/* @data gzip-compressed into a malloc'd buffer. */
static char *gzip(const uint8_t *data, size_t size, size_t *len)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	size_t cap = size + size / 2 + 4096;
	char *buf = xmalloc(cap);

	archive_write_set_format_raw(a);
	archive_write_add_filter_gzip(a);
	archive_write_set_bytes_in_last_block(a, 1);
	CHECK(archive_write_open_memory(a, buf, cap, len) == ARCHIVE_OK);
	archive_entry_set_filetype(ae, AE_IFREG);
	CHECK(archive_write_header(a, ae) == ARCHIVE_OK);
	if (size)
		CHECK(archive_write_data(a, data, size) == (la_ssize_t)size);
	CHECK(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(ae);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int comp_of[4] = {IMG_COMP_NONE, IMG_COMP_GZIP, IMG_COMP_GZIP, IMG_COMP_ZSTD};
	const struct img_unpack_limits lim = {64 << 20, 8 << 20, 10000};
	_cleanup_free_ char *z = NULL;
	struct img_unpack_stats st;
	msb_error err = {0};
	int in, dest, mode, r;
	size_t len;

	if (root_fd < 0)
		setup();
	if (size < 1)
		return 0;
	mode = data[0];
	data++, size--;
	if ((mode & 3) == 1)
		z = gzip(data, size, &len);
	in = memfd_create("layer", MFD_CLOEXEC);
	CHECK(in >= 0);
	CHECK(util_write_all(in, z ? (const void *)z : data, z ? len : size) == 0);
	lseek(in, 0, SEEK_SET);
	CHECK(mkdirat(root_fd, "d", 0755) == 0);
	dest = openat(root_fd, "d", O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(dest >= 0);
	r = img_unpack_layer(in, comp_of[mode & 3], dest, NULL, (mode & 4) ? IMG_UNPACK_OWNERS : 0, &lim, &st, &err);
	CHECK(r == 0 || (r < 0 && err.code == -r && err.msg[0]));
	CHECK(r < 0 || strncmp(st.diff_id, "sha256:", 7) == 0);
	close(dest);
	close(in);
	check_and_clean();
	return 0;
}
