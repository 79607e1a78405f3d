// SPDX-License-Identifier: Apache-2.0
/*
 * imgstore.c - the local image store: references, image records, layers.
 * See imgstore.h for the layout and its crash-safety rules.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "image/imgstore.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "ns/ns.h"
#include "sandbox.h"
#include "sha256.h"

static const char *const subdirs[] = {"refs", "manifests", "layers", "tmp", "locks"};

int imgstore_open(struct msb_ctx *ctx, msb_error *err)
{
	int fd;

	if (mkdirat(ctx->home_fd, IMGSTORE_DIR, 0700) < 0 && errno != EEXIST)
		return msb_err_sys(err, errno, "cannot create %s/%s", ctx->home, IMGSTORE_DIR);
	fd = openat(ctx->home_fd, IMGSTORE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return msb_err_sys(err, errno, "cannot open %s/%s", ctx->home, IMGSTORE_DIR);
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++)
		if (mkdirat(fd, subdirs[i], 0700) < 0 && errno != EEXIST) {
			int e = errno;
			close(fd);
			return msb_err_sys(err, e, "cannot create %s/%s/%s", ctx->home, IMGSTORE_DIR, subdirs[i]);
		}
	/* layers must be searchable by the sandbox's ids (rootless boots bind them by path) */
	fchmodat(fd, "layers", 0711, 0);
	return fd;
}

int imgstore_lock(int images_fd, const char *kind, const char *key, int op, msb_error *err)
{
	char name[160];
	int fd;

	snprintf(name, sizeof(name), "locks/%s-%.100s.lock", kind, key);
	fd = openat(images_fd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return msb_err_sys(err, errno, "cannot open image lock %s", name);
	while (flock(fd, op) < 0)
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return msb_err_sys(err, e, "cannot lock %s", name);
		}
	return fd;
}

const char *imgstore_hex(const char *digest)
{
	return strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest;
}

static void ref_file(const char *canonical, char out[96])
{
	char hex[2 * SHA256_DIGEST_LEN + 1];
	sha256_hex(canonical, strlen(canonical), hex);
	snprintf(out, 96, "refs/%s.json", hex);
}

static json_t *load_json_at(int dirfd, const char *path, size_t max)
{
	size_t len;
	char *s = util_read_file_at(dirfd, path, max, &len);
	json_t *j;
	if (!s)
		return NULL;
	j = json_loadb(s, len, 0, NULL);
	free(s);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

json_t *imgstore_record(int images_fd, const char *digest)
{
	char path[128];
	json_t *rec;
	if (!img_digest_valid(digest))
		return NULL;
	snprintf(path, sizeof(path), "manifests/%s.json", imgstore_hex(digest));
	rec = load_json_at(images_fd, path, 64u << 20);
	if (rec && !json_is_array(json_object_get(rec, "layers"))) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

bool imgstore_has_layer(int images_fd, const char *diff_id)
{
	char path[128];
	struct stat st;
	if (!img_digest_valid(diff_id))
		return false;
	snprintf(path, sizeof(path), "layers/%s", imgstore_hex(diff_id));
	return fstatat(images_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

bool imgstore_complete(int images_fd, const json_t *rec)
{
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(rec, "layers"), i, l)
	if (!imgstore_has_layer(images_fd, json_string_value(json_object_get(l, "diff_id"))))
		return false;
	return true;
}

/*
 * Does the verified record @rec answer to the pin @digest? Its manifest
 * digest (hashed by us when it was pulled or loaded) or the index a pull
 * selected it from. A reference file is only a name: it must never vouch
 * for a pin on its own.
 */
bool imgstore_pin_matches(const json_t *rec, const char *digest)
{
	const char *md = json_string_value(json_object_get(rec, "manifest_digest"));
	const char *id = json_string_value(json_object_get(rec, "index_digest"));

	if (!digest)
		return true;
	return (md && strcmp(md, digest) == 0) || (id && strcmp(id, digest) == 0);
}

int imgstore_find(struct msb_ctx *ctx, const char *text, char **canonical_out, json_t **rec_out, msb_error *err)
{
	struct img_ref ref;
	char path[96];
	json_t *rf = NULL, *rec = NULL;
	int fd, r = 0;

	*rec_out = NULL;
	if (img_ref_parse(text, &ref, err) < 0)
		return -MSB_ERR_INVALID;
	fd = imgstore_open(ctx, err);
	if (fd < 0) {
		img_ref_clear(&ref);
		return fd;
	}
	ref_file(ref.canonical, path);
	rf = load_json_at(fd, path, 1u << 20);
	if (rf)
		rec = imgstore_record(fd, json_string_value(json_object_get(rf, "manifest_digest")));
	if (!rec || !imgstore_complete(fd, rec) || !imgstore_pin_matches(rec, ref.digest)) {
		r = msb_err_set(err, MSB_ERR_NOT_FOUND, 0, "image not found: %s", ref.familiar);
		json_decref(rec);
	} else {
		*rec_out = rec;
		if (canonical_out)
			*canonical_out = xstrdup(ref.canonical);
	}
	json_decref(rf);
	close(fd);
	img_ref_clear(&ref);
	return r;
}

static int put_json(int dirfd, const char *path, const json_t *j, msb_error *err)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	int r = util_write_file_at(dirfd, path, s, strlen(s), 0600);
	free(s);
	return r < 0 ? msb_err_sys(err, -r, "cannot write image store file %s", path) : 0;
}

int imgstore_put(int images_fd, const char *canonical, const json_t *rec, msb_error *err)
{
	const char *digest = json_string_value(json_object_get(rec, "manifest_digest"));
	char path[128];
	json_t *rf;
	int r;

	if (!img_digest_valid(digest))
		return msb_err_set(err, MSB_ERR_INVALID, 0, "image record without a valid manifest digest");
	{
		struct img_ref ref;
		bool ok;
		if (img_ref_parse(canonical, &ref, err) < 0)
			return -MSB_ERR_INVALID;
		ok = imgstore_pin_matches(rec, ref.digest);
		img_ref_clear(&ref);
		if (!ok)
			return msb_err_set(err, MSB_ERR_INVALID, 0,
					   "image name %s pins a digest, but the image's manifest digest is %s", canonical,
					   digest);
	}
	snprintf(path, sizeof(path), "manifests/%s.json", imgstore_hex(digest));
	r = put_json(images_fd, path, rec, err);
	if (r < 0)
		return r;
	rf = json_pack("{s:s, s:s, s:I}", "reference", canonical, "manifest_digest", digest, "created_at",
		       (json_int_t)util_wall_ms());
	ref_file(canonical, path);
	r = put_json(images_fd, path, rf, err);
	json_decref(rf);
	return r;
}

char *imgstore_layer_path(struct msb_ctx *ctx, const char *diff_id)
{
	return xasprintf("%s/%s/layers/%s", ctx->home, IMGSTORE_DIR, imgstore_hex(diff_id));
}

json_t *imgstore_refs(int images_fd)
{
	json_t *out = json_array();
	int dfd = openat(images_fd, "refs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return out;
	}
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		json_t *rf;
		if (n < 6 || strcmp(e->d_name + n - 5, ".json"))
			continue;
		rf = load_json_at(dirfd(d), e->d_name, 1u << 20);
		if (rf && json_string_value(json_object_get(rf, "reference")) &&
		    img_digest_valid(json_string_value(json_object_get(rf, "manifest_digest"))))
			json_array_append_new(out, rf);
		else
			json_decref(rf);
	}
	closedir(d);
	return out;
}

int imgstore_unref(int images_fd, const char *canonical)
{
	char path[96];
	ref_file(canonical, path);
	return unlinkat(images_fd, path, 0) < 0 ? -errno : 0;
}

/* Move layer @name out of layers/ in one step, to a tmp/ name that no reader trusts. */
struct mv_args {
	int images_fd;
	const char *from, *to;
};

static int mv_in_userns(void *arg)
{
	struct mv_args *a = arg;
	return renameat(a->images_fd, a->from, a->images_fd, a->to) < 0 ? 1 : 0;
}

/*
 * Remove layer directory @name. A recursive delete interrupted by a crash
 * would leave layers/<diff_id> half-empty, and the existence of that name is
 * all a later pull or load checks: rename it into tmp/ first (atomic), and
 * delete it there (tmp/ debris is cleared by the next collection).
 */
static int remove_layer(int images_fd, const char *name)
{
	char from[300], to[160];
	struct mv_args a = {images_fd, from, to};

	snprintf(from, sizeof(from), "layers/%s", name);
	snprintf(to, sizeof(to), "tmp/gc-%.80s-%d", name, (int)getpid());
	if (renameat(images_fd, from, images_fd, to) < 0 &&
	    (geteuid() == 0 || ns_userns_call(mv_in_userns, &a, NULL) != 0))
		return -1; /* left in place, whole: still a valid layer */
	return ns_rm_rf_at(images_fd, to);
}

static void note_layers(json_t *keep, const json_t *rec)
{
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(rec, "layers"), i, l)
	{
		const char *d = json_string_value(json_object_get(l, "diff_id"));
		if (d)
			json_object_set_new(keep, imgstore_hex(d), json_true());
	}
}

int imgstore_gc(struct msb_ctx *ctx, int images_fd, const json_t *keep_layers, size_t *removed, msb_error *err)
{
	json_t *refs = imgstore_refs(images_fd), *keep = json_object(), *live = json_object(), *rf;
	int lk = imgstore_lock(images_fd, "store", "pull", LOCK_EX, err), dfd; /* waits for running pulls */
	size_t i, n = 0;
	DIR *d;
	struct dirent *e;

	if (lk < 0)
		goto out;
	if (keep_layers)
		json_object_update(keep, (json_t *)keep_layers);
	json_array_foreach(refs, i, rf)
	{
		const char *md = json_string_value(json_object_get(rf, "manifest_digest"));
		json_t *rec = imgstore_record(images_fd, md);
		json_object_set_new(live, imgstore_hex(md), json_true());
		if (rec)
			note_layers(keep, rec);
		json_decref(rec);
	}
	/* manifests no reference names */
	dfd = openat(images_fd, "manifests", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0 && (d = fdopendir(dfd))) {
		while ((e = readdir(d))) {
			char hex[80];
			size_t len = strlen(e->d_name);
			if (len != 64 + 5 || strcmp(e->d_name + 64, ".json"))
				continue;
			snprintf(hex, sizeof(hex), "%.64s", e->d_name);
			if (!json_object_get(live, hex))
				unlinkat(dirfd(d), e->d_name, 0);
		}
		closedir(d);
	} else if (dfd >= 0)
		close(dfd);
	/* layers no live manifest or sandbox uses; left-overs in tmp/ */
	dfd = openat(images_fd, "layers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0 && (d = fdopendir(dfd))) {
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.' || json_object_get(keep, e->d_name))
				continue;
			if (remove_layer(images_fd, e->d_name) == 0)
				n++;
		}
		closedir(d);
	} else if (dfd >= 0)
		close(dfd);
	dfd = openat(images_fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0 && (d = fdopendir(dfd))) {
		/* no pull runs (we hold its lock exclusively): what is left in tmp/ is debris */
		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				ns_rm_rf_at(dirfd(d), e->d_name);
		closedir(d);
	} else if (dfd >= 0)
		close(dfd);
	if (removed)
		*removed = n;
out:
	if (lk >= 0)
		close(lk);
	json_decref(refs);
	json_decref(keep);
	json_decref(live);
	return lk < 0 ? lk : 0;
}
