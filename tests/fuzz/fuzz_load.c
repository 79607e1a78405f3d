// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_load.c - libFuzzer target for msb_image_load(), the docker-archive and
 * OCI-layout importer (src/lib/image/archive.c).
 *
 * Input layout: the whole input is the archive, as `msb image load` reads it
 * (a tar, plain or gzip/zstd-compressed). The seeds are written by
 * tests/fuzz/load_seeds.py.
 *
 * Once per process the target makes a private root under $TMPDIR (or /tmp)
 * holding an msb home "home" and a canary directory "canary" with one file,
 * and opens the home with msb_open(). Each input is loaded twice: without a
 * tag from a memfd, then with two tags from a pipe (from a memfd when the
 * input does not fit in the pipe). After each load the target checks, and
 * traps when one fails, that:
 *  - a failure returns a negative code with that code and a message in the
 *    error, and no references;
 *  - a success returns at least one reference, each canonical and present
 *    in the store (msb_image_get), the first being the first tag when tags
 *    were given;
 *  - home/images/tmp is empty (the loader removed its spool);
 *  - the root still holds exactly "home" and "canary", and the canary is
 *    untouched (nothing was written outside the home);
 *  - no file descriptor was leaked.
 * After each load, msb_image_prune(all=1) must succeed and leave no image and
 * no layer, so the store does not grow from one input to the next.
 *
 * FUZZ_LOAD_VERBOSE=1 prints the result of each load.
 *
 * As root, layers are unpacked in this process. Run it as root: rootless with
 * subordinate ids the loader forks into a user namespace for each layer.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Iinclude -Isrc/lib -Ibuild-fuzz/gen tests/fuzz/fuzz_load.c \
 *        src/lib/ *.c src/lib/ns/ *.c src/lib/net/ *.c src/lib/image/ *.c src/supervisor/ *.c \
 *        -lsqlite3 -ljansson -lcurl -lssl -lcrypto -larchive -lseccomp
 *        (no space before "*.c"; build-fuzz/gen/seccomp_bpf.h comes from
 *        `make BUILD=build-fuzz build-fuzz/gen/seccomp_bpf.h`, which scripts/fuzz.sh runs)
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "image/manifest.h"
#include "image/ref.h"
#include "msb.h"
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
static int root_fd = -1;
static msb_ctx *ctx;
static bool verbose;

static void teardown(void)
{
	if (ctx)
		msb_close(ctx);
	ctx = NULL;
	fs_rm_rf_at(AT_FDCWD, root);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	msb_error err = {0};
	char home[300];
	int fd;

	snprintf(root, sizeof(root), "%s/fuzz_load.XXXXXX", tmp);
	CHECK(mkdtemp(root));
	root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(root_fd >= 0);
	CHECK(mkdirat(root_fd, "canary", 0755) == 0);
	fd = openat(root_fd, "canary/file", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && write(fd, "canary", 6) == 6);
	close(fd);
	verbose = getenv("FUZZ_LOAD_VERBOSE") != NULL;
	snprintf(home, sizeof(home), "%s/home", root);
	if (msb_open(&ctx, home, &err) < 0) {
		fprintf(stderr, "msb_open %s: %s\n", home, err.msg);
		CHECK(!"msb_open");
	}
	atexit(teardown);
}

/* Entries of @path (relative to the root), "." and ".." excluded; -1 when it does not exist. */
static int count_entries(const char *path)
{
	int fd = openat(root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	struct dirent *de;
	int n = 0;
	DIR *d;

	if (fd < 0)
		return -1;
	d = fdopendir(fd);
	CHECK(d);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	CHECK(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void check_outside(void)
{
	struct stat sb;

	CHECK(count_entries(".") == 2);
	CHECK(count_entries("canary") == 1);
	CHECK(fstatat(root_fd, "canary/file", &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
	      sb.st_size == 6);
	CHECK(fstatat(root_fd, "home", &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode));
}

static const char *const tags[] = {"fuzz.test/load/first:one", "second"};

static void load(int fd, const char *const *t, size_t n_tags)
{
	msb_error err = {0};
	char **refs = (char **)1;
	size_t n_refs = 99, i;
	int r, fds = count_fds();

	r = msb_image_load(ctx, fd, t, n_tags, &refs, &n_refs, &err);
	if (verbose) {
		fprintf(stderr, "load (%zu tags): %d %s", n_tags, r, r < 0 ? err.msg : "");
		for (i = 0; r == 0 && i < n_refs; i++)
			fprintf(stderr, " %s", refs[i]);
		fputc('\n', stderr);
	}
	if (r < 0) {
		CHECK(err.code == -r && err.msg[0]);
		CHECK(refs == NULL && n_refs == 0);
	} else {
		CHECK(r == 0 && n_refs >= 1 && refs);
		for (i = 0; i < n_refs; i++) {
			msb_image_info info = {0};
			CHECK(refs[i] && refs[i][0]);
			CHECK(msb_image_get(ctx, refs[i], &info, &err) == 0);
			CHECK(info.reference && strcmp(info.reference, refs[i]) == 0);
			CHECK(info.layer_count <= IMG_LAYERS_MAX);
			msb_image_info_clear(&info);
		}
		if (n_tags) {
			struct img_ref ref;
			CHECK(img_ref_parse(t[0], &ref, NULL) == 0);
			CHECK(strcmp(refs[0], ref.canonical) == 0);
			img_ref_clear(&ref);
		}
		msb_strv_free(refs, n_refs);
	}
	CHECK(count_entries("home/images/tmp") == 0);
	check_outside();
	CHECK(count_fds() == fds);
	if (r == 0 || count_entries("home/images/layers") > 0) {
		msb_image_info *list = NULL;
		size_t n = 99;
		CHECK(msb_image_prune(ctx, 1, NULL, NULL, &err) == 0);
		CHECK(msb_image_list(ctx, &list, &n, &err) == 0 && n == 0);
		msb_image_list_free(list, n);
		CHECK(count_entries("home/images/layers") == 0);
		CHECK(count_entries("home/images/tmp") == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd, p[2];

	if (root_fd < 0)
		setup();

	fd = memfd_create("archive", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(util_write_all(fd, data, size) == 0);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	load(fd, NULL, 0);
	close(fd);

	/* a pipe, as `msb image load < file` from a shell pipeline sees it, when the input fits */
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	if (size <= (size_t)fcntl(p[1], F_GETPIPE_SZ) ||
	    (size <= (1u << 20) && fcntl(p[1], F_SETPIPE_SZ, (int)size) >= (int)size)) {
		CHECK(util_write_all(p[1], data, size) == 0);
		close(p[1]);
		load(p[0], tags, ARRAY_SIZE(tags));
		close(p[0]);
	} else {
		close(p[0]);
		close(p[1]);
		fd = memfd_create("archive", MFD_CLOEXEC);
		CHECK(fd >= 0 && util_write_all(fd, data, size) == 0 && lseek(fd, 0, SEEK_SET) == 0);
		load(fd, tags, ARRAY_SIZE(tags));
		close(fd);
	}
	return 0;
}
