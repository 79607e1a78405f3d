// SPDX-License-Identifier: Apache-2.0
/*
 * archive.c - msb_image_load / msb_image_save: docker-archive and OCI-layout
 * tarballs (spec/runtime.md §5.3), and the registry login wrappers.
 *
 * Load treats the archive as hostile, like a registry: the outer tar is read
 * with libarchive but only plain files with short, clean names are kept
 * (spooled into a private directory under tmp/, metadata capped at 16 MiB),
 * every blob the OCI layout names is hashed against its digest, every
 * config is parsed with the manifest rules, and every layer goes through the
 * same verified unpack as a pull (its stream must hash to the config's
 * diff_id). Save regenerates uncompressed layers from the store, so their
 * digests (and the config's diff_ids) are recomputed.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "image/creds.h"
#include "image/imgstore.h"
#include "image/install.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "image/tarpath.h"
#include "image/unpack.h"
#include "ns/ns.h"
#include "sandbox.h"

#define ARCHIVE_META_MAX  (16u << 20)
#define ARCHIVE_ENTRIES_MAX 100000
#define ARCHIVE_NEST_MAX 32

/* ---- hashing ------------------------------------------------------------------ */

static int fd_sha256(int fd, char out[IMG_DIGEST_LEN + 1], uint64_t *size)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char buf[1 << 16], dig[32];
	uint64_t total = 0;
	ssize_t n;

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		EVP_DigestUpdate(md, buf, (size_t)n);
		total += (uint64_t)n;
	}
	EVP_DigestFinal_ex(md, dig, NULL);
	EVP_MD_CTX_free(md);
	if (n < 0)
		return -errno;
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", dig[i]);
	if (size)
		*size = total;
	return lseek(fd, 0, SEEK_SET) < 0 ? -errno : 0;
}

static void mem_sha256(const void *p, size_t len, char out[IMG_DIGEST_LEN + 1])
{
	unsigned char dig[32];
	EVP_Digest(p, len, dig, NULL, EVP_sha256(), NULL);
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", dig[i]);
}

static int sniff_compression(int fd)
{
	unsigned char m[4] = {0};
	ssize_t n = pread(fd, m, sizeof(m), 0);
	if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		return IMG_COMP_GZIP;
	if (n == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		return IMG_COMP_ZSTD;
	return IMG_COMP_NONE;
}

/* ---- load: spool the outer tar ----------------------------------------------------- */

struct spool {
	int images_fd;
	char name[64]; /* tmp/<name> */
	int dfd;
};

/*
 * May @e be spooled? A compressed outer tar expands without bound, so each
 * file is held to the layer limit before a byte is written (libarchive never
 * returns more data than the header declares), and no file may eat into the
 * last 5% of the filesystem that holds $MSB_HOME, so the spool as a whole
 * cannot fill it either.
 */
static int spool_room(struct spool *sp, struct archive_entry *e, msb_error *err)
{
	la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
	struct statvfs vfs;

	if (size < 0 || size > IMG_LAYER_SIZE_MAX)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "image archive entry of %lld bytes exceeds the %lld-byte layer limit", (long long)size,
				   (long long)IMG_LAYER_SIZE_MAX);
	if (fstatvfs(sp->dfd, &vfs) == 0 &&
	    (uint64_t)size + (uint64_t)vfs.f_blocks * vfs.f_frsize / 20 > (uint64_t)vfs.f_bavail * vfs.f_frsize)
		return msb_err_set(err, MSB_ERR_SYSTEM, ENOSPC,
				   "image archive entry of %lld bytes would fill the filesystem of the image store",
				   (long long)size);
	return 0;
}

/* Keep only plain files whose normalised names are short relative paths of a handful of components. */
static int spool_archive(struct spool *sp, int in_fd, msb_error *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	unsigned entries = 0;
	int r = 0, ar;

	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_none(a);
	if (archive_read_open_fd(a, in_fd, 1 << 16) != ARCHIVE_OK) {
		r = msb_err_set(err, MSB_ERR_INVALID, 0, "not a tar archive: %s", archive_error_string(a));
		goto out;
	}
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		struct img_tar_entry te = {0};
		char *slash;
		int fd;

		if (++entries > ARCHIVE_ENTRIES_MAX) {
			r = msb_err_set(err, MSB_ERR_INVALID, 0, "image archive has more than %d entries",
					ARCHIVE_ENTRIES_MAX);
			break;
		}
		if (archive_entry_filetype(e) != AE_IFREG)
			continue; /* directories are implied; links and devices have no place in an image archive */
		r = spool_room(sp, e, err);
		if (r < 0)
			break;
		if (!name || img_tarpath_check(name, strlen(name), IMG_TAR_FILE, NULL, 0, &te, err) != IMG_TAR_CREATE ||
		    te.depth > 4) {
			img_tar_entry_clear(&te);
			r = msb_err_set(err, MSB_ERR_INVALID, 0, "image archive entry with an unsafe name");
			break;
		}
		/* create parents (no symlinks ever exist in the spool) */
		for (slash = strchr(te.path, '/'); slash; slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			if (mkdirat(sp->dfd, te.path, 0700) < 0 && errno != EEXIST)
				r = msb_err_sys(err, errno, "spool %s", te.path);
			*slash = '/';
		}
		fd = r < 0 ? -1 : openat(sp->dfd, te.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0 && r == 0)
			r = msb_err_sys(err, errno, "spool %s", te.path);
		if (fd >= 0) {
			if (archive_read_data_into_fd(a, fd) != ARCHIVE_OK)
				r = msb_err_set(err, MSB_ERR_INVALID, 0, "image archive entry %s: %s", te.path,
						archive_error_string(a));
			close(fd);
		}
		img_tar_entry_clear(&te);
		if (r < 0)
			break;
	}
	if (r == 0 && ar != ARCHIVE_EOF)
		r = msb_err_set(err, MSB_ERR_INVALID, 0, "damaged image archive: %s", archive_error_string(a));
out:
	archive_read_free(a);
	return r;
}

static char *spool_read(struct spool *sp, const char *path, size_t *len, msb_error *err)
{
	struct img_tar_entry te = {0};
	char *s = NULL;
	if (img_tarpath_check(path, strlen(path), IMG_TAR_FILE, NULL, 0, &te, err) == IMG_TAR_CREATE)
		s = util_read_file_at(sp->dfd, te.path, ARCHIVE_META_MAX, len);
	if (!s)
		msb_err_set(err, MSB_ERR_INVALID, 0, "image archive lacks %s (or it is over %u MiB)", path,
			    ARCHIVE_META_MAX >> 20);
	img_tar_entry_clear(&te);
	return s;
}

static int spool_open(struct spool *sp, const char *path, msb_error *err)
{
	struct img_tar_entry te = {0};
	int fd = -1;
	if (img_tarpath_check(path, strlen(path), IMG_TAR_FILE, NULL, 0, &te, err) == IMG_TAR_CREATE)
		fd = openat(sp->dfd, te.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	img_tar_entry_clear(&te);
	return fd >= 0 ? fd : msb_err_set(err, MSB_ERR_INVALID, 0, "image archive lacks %s", path);
}

/* An OCI blob by digest, verified. */
static char *spool_blob(struct spool *sp, const char *digest, size_t *len, msb_error *err)
{
	char path[128], got[IMG_DIGEST_LEN + 1];
	char *s;
	if (!img_digest_valid(digest)) {
		msb_err_set(err, MSB_ERR_INVALID, 0, "image archive names a bad digest");
		return NULL;
	}
	snprintf(path, sizeof(path), "blobs/sha256/%s", imgstore_hex(digest));
	s = spool_read(sp, path, len, err);
	if (!s)
		return NULL;
	mem_sha256(s, *len, got);
	if (strcmp(got, digest)) {
		msb_err_set(err, MSB_ERR_INVALID, 0, "image archive blob %s does not match its digest (got %s)", digest,
			    got);
		free(s);
		return NULL;
	}
	return s;
}

/* ---- load: one image ------------------------------------------------------------------ */

struct loaded {
	char **refs;
	size_t n;
	json_t *seen; /* OCI layout: indexes and (manifest, name) pairs already done */
};

/*
 * First visit of @key? Nested indexes may name one blob many times (a chain
 * of 32 indexes of two entries each is 2^32 visits from a 40 KiB archive).
 */
static bool first_visit(struct loaded *out, const char *key, const char *name)
{
	char *k = xasprintf("%s %s", key, name ? name : "");
	bool first = !json_object_get(out->seen, k);

	if (first)
		json_object_set_new(out->seen, k, json_true());
	free(k);
	return first;
}

static int store_image(struct spool *sp, const char *name, const char *manifest_digest, const char *raw_m, size_t mlen,
		       const char *raw_c, size_t clen, const struct img_manifest *m, const struct img_config *c,
		       struct loaded *out, msb_error *err)
{
	struct img_ref ref;
	json_t *rec;
	int r = img_ref_parse(name, &ref, err);
	if (r < 0)
		return r;
	rec = img_record_new(manifest_digest, raw_m, mlen, raw_c, clen, m, c);
	r = imgstore_put(sp->images_fd, ref.canonical, rec, err);
	json_decref(rec);
	if (r == 0) {
		out->refs = xrealloc(out->refs, (out->n + 1) * sizeof(char *));
		out->refs[out->n++] = xstrdup(ref.canonical);
	}
	img_ref_clear(&ref);
	return r;
}

/* Install the layers of @m (files opened by @open_layer) against the config's diff_ids. */
static int install_layers(struct spool *sp, const struct img_manifest *m, const struct img_config *c,
			  const char *const *paths, bool verify_blob, int64_t *sizes, msb_error *err)
{
	for (size_t i = 0; i < c->n_diff_ids; i++) {
		int fd = spool_open(sp, paths[i], err), r;
		struct stat st;
		if (fd < 0)
			return fd;
		if (sizes && fstat(fd, &st) == 0)
			sizes[i] = st.st_size;
		if (verify_blob) {
			char got[IMG_DIGEST_LEN + 1];
			uint64_t size;
			r = fd_sha256(fd, got, &size);
			if (r == 0 && (strcmp(got, m->layers[i].desc.digest) || (int64_t)size != m->layers[i].desc.size)) {
				close(fd);
				return msb_err_set(err, MSB_ERR_INVALID, 0,
						   "image archive layer %s does not match its digest (got %s)",
						   m->layers[i].desc.digest, got);
			}
		}
		r = img_layer_install(sp->images_fd, fd, verify_blob ? m->layers[i].compression : sniff_compression(fd),
				      c->diff_ids[i], err);
		close(fd);
		if (r < 0)
			return msb_err_wrap(err, "layer %zu", i + 1);
	}
	return 0;
}

static int load_docker(struct spool *sp, const char *const *tags, size_t n_tags, struct loaded *out, msb_error *err)
{
	size_t len, i;
	char *text = spool_read(sp, "manifest.json", &len, err);
	json_t *arr = text ? json_loadb(text, len, 0, NULL) : NULL, *item;
	int r = 0;

	free(text);
	if (!json_is_array(arr) || !json_array_size(arr)) {
		json_decref(arr);
		return msb_err_set(err, MSB_ERR_INVALID, 0, "docker archive manifest.json is not a non-empty array");
	}
	json_array_foreach(arr, i, item)
	{
		const char *cfg_path = json_string_value(json_object_get(item, "Config"));
		json_t *layers = json_object_get(item, "Layers"), *tagv = json_object_get(item, "RepoTags"), *l;
		struct img_config *c = NULL;
		struct img_manifest m = {.media_type = IMG_MT_DOCKER_MANIFEST};
		char *raw_c = NULL, *raw_m = NULL, cdig[IMG_DIGEST_LEN + 1], mdig[IMG_DIGEST_LEN + 1];
		const char **paths;
		int64_t *sizes = NULL;
		size_t clen, j, n = json_array_size(layers);
		json_t *mj;

		if (!cfg_path || !json_is_array(layers) || n > IMG_LAYERS_MAX) {
			r = msb_err_set(err, MSB_ERR_INVALID, 0, "docker archive manifest.json entry %zu is malformed", i);
			break;
		}
		raw_c = spool_read(sp, cfg_path, &clen, err);
		r = raw_c ? img_config_parse(raw_c, clen, NULL, &c, err) : -MSB_ERR_INVALID;
		if (r == 0 && c->n_diff_ids != n)
			r = msb_err_set(err, MSB_ERR_INVALID, 0, "docker archive image %zu: %zu layers but %zu diff_ids", i,
					n, c->n_diff_ids);
		paths = xcalloc(n + 1, sizeof(char *));
		sizes = xcalloc(n + 1, sizeof(int64_t));
		json_array_foreach(layers, j, l) paths[j] = json_string_value(l) ?: "";
		if (r == 0)
			r = install_layers(sp, &m, c, paths, false, sizes, err);
		if (r == 0) {
			/* a Docker v2 manifest describing the image as stored: uncompressed layers = their diff_ids */
			mem_sha256(raw_c, clen, cdig);
			m.layers = xcalloc(n + 1, sizeof(struct img_layer));
			m.n_layers = n;
			m.config = (struct img_descriptor){(char *)IMG_MT_DOCKER_CONFIG_STR, cdig, (int64_t)clen};
			mj = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:[]}", "schemaVersion", 2, "mediaType",
				       IMG_MT_DOCKER_MANIFEST_STR, "config", "mediaType", IMG_MT_DOCKER_CONFIG_STR, "digest",
				       cdig, "size", (json_int_t)clen, "layers");
			for (j = 0; j < n; j++) {
				m.layers[j].desc = (struct img_descriptor){(char *)"application/vnd.docker.image.rootfs.diff.tar",
									   c->diff_ids[j], sizes[j]};
				m.total_size += (uint64_t)sizes[j];
				json_array_append_new(json_object_get(mj, "layers"),
						      json_pack("{s:s, s:s, s:I}", "mediaType",
								m.layers[j].desc.media_type, "digest", c->diff_ids[j],
								"size", (json_int_t)sizes[j]));
			}
			raw_m = json_dumps(mj, JSON_COMPACT);
			json_decref(mj);
			mem_sha256(raw_m, strlen(raw_m), mdig);
			/* names: --tag for the first image, else its RepoTags */
			if (i == 0 && n_tags) {
				for (j = 0; r == 0 && j < n_tags; j++)
					r = store_image(sp, tags[j], mdig, raw_m, strlen(raw_m), raw_c, clen, &m, c, out, err);
			} else if (json_array_size(tagv)) {
				json_array_foreach(tagv, j, l) if (r == 0 && json_string_value(l)) r =
					store_image(sp, json_string_value(l), mdig, raw_m, strlen(raw_m), raw_c, clen, &m,
						    c, out, err);
			} else {
				r = msb_err_set(err, MSB_ERR_INVALID, 0,
						"docker archive image %zu has no name (RepoTags): load it with --tag", i);
			}
			free(m.layers);
		}
		free(paths);
		free(sizes);
		free(raw_c);
		free(raw_m);
		img_config_free(c);
		if (r < 0)
			break;
	}
	json_decref(arr);
	return r;
}

static int load_oci_manifest(struct spool *sp, const char *digest, const char *name, struct loaded *out,
			     msb_error *err)
{
	struct img_manifest *m = NULL;
	struct img_config *c = NULL;
	char *raw_m = NULL, *raw_c = NULL;
	size_t mlen = 0, clen = 0;
	const char **paths = NULL;
	int r;

	raw_m = spool_blob(sp, digest, &mlen, err);
	r = raw_m ? img_manifest_parse(raw_m, mlen, NULL, &m, err) : -MSB_ERR_INVALID;
	if (r == 0) {
		raw_c = spool_blob(sp, m->config.digest, &clen, err);
		r = raw_c ? img_config_parse(raw_c, clen, m, &c, err) : -MSB_ERR_INVALID;
	}
	if (r == 0) {
		paths = xcalloc(m->n_layers + 1, sizeof(char *));
		for (size_t i = 0; i < m->n_layers; i++)
			paths[i] = xasprintf("blobs/sha256/%s", imgstore_hex(m->layers[i].desc.digest));
		r = install_layers(sp, m, c, paths, true, NULL, err);
		for (size_t i = 0; i < m->n_layers; i++)
			free((char *)paths[i]);
		free(paths);
	}
	if (r == 0)
		r = store_image(sp, name, digest, raw_m, mlen, raw_c, clen, m, c, out, err);
	img_manifest_free(m);
	img_config_free(c);
	free(raw_m);
	free(raw_c);
	return r;
}

static int load_oci_index(struct spool *sp, const char *raw, size_t len, int depth, const char *const *tags,
			  size_t n_tags, struct loaded *out, msb_error *err)
{
	struct img_index *idx = NULL;
	struct img_platform want;
	int r = img_index_parse(raw, len, NULL, &idx, err);
	/* the names (annotations) are not in struct img_index: parse the document once more, once */
	json_t *root = r == 0 ? json_loadb(raw, len, JSON_REJECT_DUPLICATES, NULL) : NULL;

	img_platform_host(&want);
	if (r == 0 && !root)
		r = msb_err_set(err, MSB_ERR_INVALID, 0, "OCI layout index is not valid JSON");
	for (size_t i = 0; r == 0 && i < idx->n_entries; i++) {
		const struct img_index_entry *e = &idx->entries[i];
		const char *name = NULL;
		json_t *ann = json_object_get(json_object_get(json_array_get(json_object_get(root, "manifests"), i),
							      "annotations"),
					      "org.opencontainers.image.ref.name");
		if (e->attestation || (e->has_platform && (strcmp(e->platform.os, want.os) ||
							   strcmp(e->platform.architecture, want.architecture))))
			continue;
		if (e->kind == IMG_MT_OCI_INDEX || e->kind == IMG_MT_DOCKER_LIST) {
			size_t sl;
			char *sub;
			if (!first_visit(out, e->desc.digest, NULL))
				continue;
			sub = depth < ARCHIVE_NEST_MAX ? spool_blob(sp, e->desc.digest, &sl, err) : NULL;
			r = sub ? load_oci_index(sp, sub, sl, depth + 1, out->n ? NULL : tags, out->n ? 0 : n_tags, out, err)
				: msb_err_set(err, MSB_ERR_INVALID, 0, "OCI layout index nested too deep or missing");
			free(sub);
		} else if (e->kind == IMG_MT_OCI_MANIFEST || e->kind == IMG_MT_DOCKER_MANIFEST) {
			name = json_string_value(ann);
			if (!out->n && n_tags) {
				for (size_t j = 0; r == 0 && j < n_tags; j++)
					r = load_oci_manifest(sp, e->desc.digest, tags[j], out, err);
			} else if (name) {
				if (first_visit(out, e->desc.digest, name))
					r = load_oci_manifest(sp, e->desc.digest, name, out, err);
			} else {
				r = msb_err_set(err, MSB_ERR_INVALID, 0,
						"OCI layout image %s has no name (org.opencontainers.image.ref.name): load "
						"it with --tag",
						e->desc.digest);
			}
		}
	}
	json_decref(root);
	img_index_free(idx);
	return r;
}

/* stdin may be a pipe: libarchive reads it as a stream, so no spooling of the outer tar is needed */
MSB_EXPORT int msb_image_load(msb_ctx *ctx, int fd, const char *const *tags, size_t n_tags, char ***refs,
			      size_t *n_refs, msb_error *err)
{
	struct spool sp = {.images_fd = -1, .dfd = -1};
	struct loaded out = {.seen = json_object()};
	char path[96];
	int r, pull_lock = -1;

	*refs = NULL;
	*n_refs = 0;
	for (size_t i = 0; i < n_tags; i++) {
		struct img_ref t;
		r = img_ref_parse(tags[i], &t, err);
		img_ref_clear(&t);
		if (r < 0)
			return r;
	}
	sp.images_fd = imgstore_open(ctx, err);
	if (sp.images_fd < 0)
		return sp.images_fd;
	pull_lock = imgstore_lock(sp.images_fd, "store", "pull", LOCK_SH, err);
	if (pull_lock < 0) {
		r = pull_lock;
		goto out;
	}
	snprintf(sp.name, sizeof(sp.name), "load-%d-%llu", (int)getpid(), (unsigned long long)util_now_ms());
	snprintf(path, sizeof(path), "tmp/%s", sp.name);
	if (mkdirat(sp.images_fd, path, 0700) < 0 ||
	    (sp.dfd = openat(sp.images_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		r = msb_err_sys(err, errno, "create %s", path);
		goto out;
	}
	r = spool_archive(&sp, fd, err);
	if (r == 0) {
		struct stat st;
		if (fstatat(sp.dfd, "manifest.json", &st, 0) == 0) {
			r = load_docker(&sp, tags, n_tags, &out, err);
		} else if (fstatat(sp.dfd, "index.json", &st, 0) == 0) {
			size_t len;
			char *idx = spool_read(&sp, "index.json", &len, err);
			r = idx ? load_oci_index(&sp, idx, len, 0, tags, n_tags, &out, err) : -MSB_ERR_INVALID;
			free(idx);
		} else {
			r = msb_err_set(err, MSB_ERR_INVALID, 0,
					"not an image archive: no manifest.json (docker) or index.json (OCI layout)");
		}
		if (r == 0 && !out.n)
			r = msb_err_set(err, MSB_ERR_INVALID, 0, "the image archive holds no image for this platform");
	}
out:
	if (sp.dfd >= 0)
		close(sp.dfd);
	if (sp.images_fd >= 0 && sp.name[0]) {
		snprintf(path, sizeof(path), "tmp/%s", sp.name);
		fs_rm_rf_at(sp.images_fd, path);
	}
	if (pull_lock >= 0)
		close(pull_lock);
	if (sp.images_fd >= 0)
		close(sp.images_fd);
	json_decref(out.seen);
	if (r < 0) {
		for (size_t i = 0; i < out.n; i++)
			free(out.refs[i]);
		free(out.refs);
		return r;
	}
	*refs = out.refs;
	*n_refs = out.n;
	return 0;
}

/* ---- save --------------------------------------------------------------------------------- */

struct pack_job {
	int src_fd, out_fd;
	struct img_unpack_stats st;
};

static int pack_run(void *arg, bool owners, msb_error *err)
{
	struct pack_job *j = arg;
	return img_pack_layer(j->src_fd, j->out_fd, owners ? IMG_UNPACK_OWNERS : 0, &j->st, err);
}

static int add_entry(struct archive *a, const char *name, const void *data, size_t len, int fd, uint64_t fsize)
{
	struct archive_entry *e = archive_entry_new();
	int r = 0;

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)(data ? len : fsize));
	archive_entry_set_mtime(e, 0, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		r = -1;
	if (r == 0 && data && len && archive_write_data(a, data, len) != (la_ssize_t)len)
		r = -1;
	if (r == 0 && !data) {
		char buf[1 << 16];
		ssize_t n;
		lseek(fd, 0, SEEK_SET);
		while (r == 0 && (n = read(fd, buf, sizeof(buf))) > 0)
			if (archive_write_data(a, buf, (size_t)n) != n)
				r = -1;
	}
	archive_entry_free(e);
	return r;
}

static int add_dir(struct archive *a, const char *name)
{
	struct archive_entry *e = archive_entry_new();
	int r;
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_mtime(e, 0, 0);
	r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -1;
	archive_entry_free(e);
	return r;
}

static int save_image(msb_ctx *ctx, int images_fd, struct archive *a, const char *text, bool oci, json_t *docker_manifest,
		      json_t *oci_index, msb_error *err)
{
	json_t *rec = NULL, *layers, *l, *cfg = NULL, *diff_ids, *ldesc = json_array(), *docker_layers = json_array();
	char *canonical = NULL, *raw_c = NULL, *raw_m = NULL, cdig[IMG_DIGEST_LEN + 1], mdig[IMG_DIGEST_LEN + 1];
	size_t i;
	int r;

	r = imgstore_find(ctx, text, &canonical, &rec, err);
	if (r < 0)
		goto out;
	cfg = json_loads(json_string_value(json_object_get(rec, "raw_config")) ?: "", 0, NULL);
	if (!json_is_object(cfg)) {
		r = msb_err_set(err, MSB_ERR_INVALID, 0, "image %s has no stored config: pull it again", text);
		goto out;
	}
	diff_ids = json_array();
	layers = json_object_get(rec, "layers");
	json_array_foreach(layers, i, l)
	{
		const char *d = json_string_value(json_object_get(l, "diff_id"));
		char path[128], tmpn[96], name[160];
		struct pack_job job = {.out_fd = -1};
		if (!img_digest_valid(d)) {
			r = msb_err_set(err, MSB_ERR_INVALID, 0, "image %s: bad layer record", text);
			break;
		}
		snprintf(path, sizeof(path), "layers/%s", imgstore_hex(d));
		snprintf(tmpn, sizeof(tmpn), "tmp/save-%d-%zu.tar", (int)getpid(), i);
		job.src_fd = openat(images_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		job.out_fd = openat(images_fd, tmpn, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		unlinkat(images_fd, tmpn, 0);
		if (job.src_fd < 0 || job.out_fd < 0)
			r = msb_err_sys(err, errno, "image %s: open layer %s", text, d);
		else
			r = img_as_store_owner(pack_run, &job, sizeof(job), err);
		if (r == 0) {
			const char *hex = imgstore_hex(job.st.diff_id);
			json_array_append_new(diff_ids, json_string(job.st.diff_id));
			if (oci) {
				snprintf(name, sizeof(name), "blobs/sha256/%s", hex);
				json_array_append_new(ldesc, json_pack("{s:s, s:s, s:I}", "mediaType",
								       "application/vnd.oci.image.layer.v1.tar", "digest",
								       job.st.diff_id, "size", (json_int_t)job.st.bytes));
			} else {
				snprintf(name, sizeof(name), "%s/layer.tar", hex);
				add_dir(a, hex);
				json_array_append_new(docker_layers, json_string(name));
			}
			if (add_entry(a, name, NULL, 0, job.out_fd, job.st.bytes) < 0)
				r = msb_err_set(err, MSB_ERR_SYSTEM, 0, "write the archive: %s", archive_error_string(a));
		}
		if (job.src_fd >= 0)
			close(job.src_fd);
		if (job.out_fd >= 0)
			close(job.out_fd);
		if (r < 0)
			break;
	}
	if (r < 0) {
		json_decref(diff_ids);
		goto out;
	}
	json_object_set_new(json_object_get(cfg, "rootfs") ?: cfg, "diff_ids", diff_ids);
	raw_c = json_dumps(cfg, JSON_COMPACT);
	mem_sha256(raw_c, strlen(raw_c), cdig);
	if (oci) {
		char name[160];
		json_t *mj = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:O}", "schemaVersion", 2, "mediaType",
				       IMG_MT_OCI_MANIFEST_STR, "config", "mediaType", IMG_MT_OCI_CONFIG_STR, "digest",
				       cdig, "size", (json_int_t)strlen(raw_c), "layers", ldesc);
		struct img_ref ref;
		raw_m = json_dumps(mj, JSON_COMPACT);
		json_decref(mj);
		mem_sha256(raw_m, strlen(raw_m), mdig);
		snprintf(name, sizeof(name), "blobs/sha256/%s", imgstore_hex(cdig));
		r = add_entry(a, name, raw_c, strlen(raw_c), -1, 0);
		snprintf(name, sizeof(name), "blobs/sha256/%s", imgstore_hex(mdig));
		if (r == 0)
			r = add_entry(a, name, raw_m, strlen(raw_m), -1, 0);
		img_ref_parse(canonical, &ref, NULL);
		json_array_append_new(json_object_get(oci_index, "manifests"),
				      json_pack("{s:s, s:s, s:I, s:{s:s, s:s}, s:{s:s}}", "mediaType",
						IMG_MT_OCI_MANIFEST_STR, "digest", mdig, "size", (json_int_t)strlen(raw_m),
						"platform", "os", json_string_value(json_object_get(rec, "os")) ?: "linux",
						"architecture", json_string_value(json_object_get(rec, "architecture")) ?: "amd64",
						"annotations", "org.opencontainers.image.ref.name", ref.familiar ? ref.familiar : canonical));
		img_ref_clear(&ref);
	} else {
		char name[96];
		struct img_ref ref;
		snprintf(name, sizeof(name), "%s.json", imgstore_hex(cdig));
		r = add_entry(a, name, raw_c, strlen(raw_c), -1, 0);
		img_ref_parse(canonical, &ref, NULL);
		json_array_append_new(docker_manifest, json_pack("{s:s, s:[s], s:O}", "Config", name, "RepoTags",
								 ref.familiar ? ref.familiar : canonical, "Layers",
								 docker_layers));
		img_ref_clear(&ref);
	}
	if (r < 0 && !err->msg[0])
		msb_err_set(err, MSB_ERR_SYSTEM, 0, "write the archive: %s", archive_error_string(a));
out:
	free(canonical);
	free(raw_c);
	free(raw_m);
	json_decref(cfg);
	json_decref(rec);
	json_decref(ldesc);
	json_decref(docker_layers);
	return r;
}

MSB_EXPORT int msb_image_save(msb_ctx *ctx, const char *const *refs, size_t n, int oci, int fd, msb_error *err)
{
	struct archive *a;
	json_t *dm = json_array(), *idx = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType",
						     IMG_MT_OCI_INDEX_STR, "manifests");
	int images_fd = imgstore_open(ctx, err), r = 0;
	msb_error local = {0};

	if (!err)
		err = &local;
	if (images_fd < 0) {
		json_decref(dm);
		json_decref(idx);
		return images_fd;
	}
	a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK)
		r = msb_err_set(err, MSB_ERR_SYSTEM, 0, "cannot write the archive: %s", archive_error_string(a));
	if (r == 0 && oci)
		r = add_dir(a, "blobs") | add_dir(a, "blobs/sha256");
	for (size_t i = 0; r == 0 && i < n; i++)
		r = save_image(ctx, images_fd, a, refs[i], oci, dm, idx, err);
	if (r == 0) {
		char *s = json_dumps(oci ? idx : dm, JSON_COMPACT);
		if (oci) {
			const char *layout = "{\"imageLayoutVersion\":\"1.0.0\"}";
			r = add_entry(a, "oci-layout", layout, strlen(layout), -1, 0);
			if (r == 0)
				r = add_entry(a, "index.json", s, strlen(s), -1, 0);
		} else {
			r = add_entry(a, "manifest.json", s, strlen(s), -1, 0);
		}
		free(s);
		if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
			r = -1;
		if (r < 0 && !err->msg[0])
			r = msb_err_set(err, MSB_ERR_SYSTEM, 0, "cannot write the archive: %s", archive_error_string(a));
	}
	archive_write_free(a);
	close(images_fd);
	json_decref(dm);
	json_decref(idx);
	return r < 0 ? -(err->code ? err->code : MSB_ERR_SYSTEM) : 0;
}

/* ---- registry logins ----------------------------------------------------------------------- */

MSB_EXPORT int msb_registry_login(msb_ctx *ctx, const char *registry, const char *username, const char *password,
				  msb_error *err)
{
	return creds_save(ctx->home, registry, username, password, err);
}

MSB_EXPORT int msb_registry_logout(msb_ctx *ctx, const char *registry, msb_error *err)
{
	return creds_remove(ctx->home, registry, err);
}

MSB_EXPORT void msb_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

MSB_EXPORT int msb_registry_list(msb_ctx *ctx, char ***registries, char ***users, size_t *n, msb_error *err)
{
	char **hosts = NULL;
	size_t k = 0;
	int r = creds_list(ctx->home, &hosts, &k, err);

	*registries = NULL;
	*users = NULL;
	*n = 0;
	if (r < 0)
		return r;
	*registries = xcalloc(k + 1, sizeof(char *));
	*users = xcalloc(k + 1, sizeof(char *));
	for (size_t i = 0; i < k; i++) {
		char *user = NULL, *pass = NULL;
		(*registries)[i] = xstrdup(hosts[i]);
		if (creds_load(ctx->home, hosts[i], &user, &pass, NULL) == 0)
			(*users)[i] = user;
		else
			(*users)[i] = xstrdup("");
		if (pass) {
			explicit_bzero(pass, strlen(pass));
			free(pass);
		}
	}
	*n = k;
	creds_list_free(hosts);
	return 0;
}
