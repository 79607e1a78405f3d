// SPDX-License-Identifier: Apache-2.0
/*
 * pull.c - msb_image_pull(): registry -> verified blobs -> unpacked layers
 * -> image record (spec/runtime.md §5.2, docs/images.md).
 *
 * Order of work, and why it is crash-safe:
 *   1. "store-pull" shared (garbage collection waits for us), the
 *      reference's lock exclusive (two pulls of one image do the work once);
 *   2. manifest (and index -> platform manifest), each hashed by us; a
 *      pinned reference must hash to its pin;
 *   3. config blob (verified), parsed against the manifest;
 *   4. the locks of the missing layers, in diff_id order (no deadlock
 *      between pulls of images sharing layers), then a re-check: another
 *      pull may have finished some meanwhile;
 *   5. blobs downloaded in parallel to tmp/<hex>.part (resumable), verified,
 *      renamed to tmp/<hex>.blob;
 *   6. each unpacked into a fresh tmp/ directory, its stream hashed to its
 *      diff_id; syncfs; renamed into layers/ (a layer directory exists only
 *      complete and verified); the blob deleted;
 *   7. the record, then the reference (imgstore_put).
 * Anything interrupted leaves only tmp/ debris, which prune clears, and
 * .part files, which the next pull resumes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "image/creds.h"
#include "image/imgstore.h"
#include "image/install.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "image/registry.h"
#include "image/unpack.h"
#include "ns/ns.h"
#include "sandbox.h"
#include "sha256.h"

#define INDEX_DEPTH_MAX 2

struct pull {
	struct msb_ctx *ctx;
	const msb_pull_opts *o;
	struct img_ref ref;
	int images_fd;
	struct reg_client *client;
	char *manifest_raw, *config_raw;
	size_t manifest_len, config_len;
	char manifest_digest[IMG_DIGEST_LEN + 1];
	char *index_digest;
	struct img_manifest *m;
	struct img_config *cfg;
	int n_layers;
};

static void progress(struct pull *p, const char *what, int layer, uint64_t done, uint64_t total)
{
	if (p->o && p->o->progress)
		p->o->progress(p->o->progress_arg, what, layer, p->n_layers, done, total);
}

static void blob_progress(void *arg, int i, uint64_t done, uint64_t total)
{
	progress(arg, "downloading", i, done, total);
}

/* $MSB_HOME/config.json (or $MSB_CONFIG_PATH): registries.hosts.<host>.insecure, registries.ca_certs. */
static void registry_settings(struct pull *p, bool *insecure, char **ca_file)
{
	const char *path = getenv("MSB_CONFIG_PATH");
	char *def = NULL;
	json_t *root, *reg;

	if (!path || !*path)
		path = def = xasprintf("%s/config.json", p->ctx->home);
	root = json_load_file(path, 0, NULL);
	free(def);
	reg = json_object_get(root, "registries");
	if (json_is_true(json_object_get(json_object_get(json_object_get(reg, "hosts"), p->ref.registry), "insecure")))
		*insecure = true;
	if (json_string_value(json_object_get(reg, "ca_certs")))
		*ca_file = xstrdup(json_string_value(json_object_get(reg, "ca_certs")));
	json_decref(root);
	if (getenv("MSB_REGISTRY_CA_CERTS") && *getenv("MSB_REGISTRY_CA_CERTS")) {
		free(*ca_file);
		*ca_file = xstrdup(getenv("MSB_REGISTRY_CA_CERTS"));
	}
}

static bool loopback_registry(const char *host)
{
	return strncmp(host, "localhost", 9) == 0 || strncmp(host, "127.", 4) == 0 || strncmp(host, "[::1]", 5) == 0;
}

static int connect_registry(struct pull *p, bool insecure, msb_error *err)
{
	struct reg_opts ro = {.registry = img_ref_api_host(&p->ref),
			      .insecure = insecure || (p->o && p->o->insecure),
			      .user_agent = "msb/" MSB_VERSION,
			      .parallel = REG_PARALLEL_DEFAULT,
			      .progress = blob_progress,
			      .progress_arg = p};
	char *user = NULL, *pass = NULL, *ca = NULL;
	int r;

	registry_settings(p, &ro.insecure, &ca);
	ro.ca_file = ca;
	if (creds_load(p->ctx->home, p->ref.registry, &user, &pass, NULL) == 0) {
		ro.username = user;
		ro.password = pass;
	}
	r = reg_client_new(&ro, &p->client, err);
	if (pass)
		explicit_bzero(pass, strlen(pass));
	free(user);
	free(pass);
	free(ca);
	return r;
}

/* Fetch the manifest, following an index to the wanted platform. */
static int fetch_manifest(struct pull *p, msb_error *err)
{
	struct img_platform want;
	char *reference = xstrdup(p->ref.digest ? p->ref.digest : p->ref.tag);
	int r = 0;

	if (p->o && p->o->platform)
		r = img_platform_parse(p->o->platform, &want, err);
	else
		img_platform_host(&want);
	for (int depth = 0; r == 0; depth++) {
		struct img_index *idx = NULL;
		char *ctype = NULL;
		int kind;

		free(p->manifest_raw);
		p->manifest_raw = NULL;
		/* by tag, or by a digest the body must hash to (reg_get_manifest checks) */
		r = reg_get_manifest(p->client, p->ref.repository, reference, &p->manifest_raw, &p->manifest_len, &ctype,
				     p->manifest_digest, err);
		kind = r < 0 ? r : img_manifest_sniff(p->manifest_raw, p->manifest_len, ctype, err);
		if (kind == IMG_MT_OCI_MANIFEST || kind == IMG_MT_DOCKER_MANIFEST) {
			r = img_manifest_parse(p->manifest_raw, p->manifest_len, ctype, &p->m, err);
			free(ctype);
			break;
		}
		if (kind < 0)
			r = kind;
		else if (depth >= INDEX_DEPTH_MAX)
			r = msb_err_set(err, MSB_ERR_INVALID, 0, "image index nested deeper than %d levels",
					INDEX_DEPTH_MAX);
		else
			r = img_index_parse(p->manifest_raw, p->manifest_len, ctype, &idx, err);
		if (r == 0) {
			r = img_index_select(idx, &want, err);
			if (r >= 0) {
				free(reference);
				reference = xstrdup(idx->entries[r].desc.digest);
				if (!p->index_digest)
					p->index_digest = xstrdup(p->manifest_digest);
				r = 0;
			}
		}
		img_index_free(idx);
		free(ctype);
	}
	free(reference);
	return r;
}

/* ---- layers ---------------------------------------------------------------- */

/* The result of a job run by img_as_store_owner(), in memory shared with the child that ran it. */
struct owner_call {
	int (*fn)(void *arg, bool owners, msb_error *err);
	int r;
	msb_error err;
	char arg[]; /* a copy of the caller's argument block */
};

static int owner_call_run(void *p)
{
	struct owner_call *c = p;
	c->r = c->fn(c->arg, true, &c->err);
	return c->r == 0 ? 0 : 1;
}

/*
 * The store holds each layer's files with the owners the sandboxes need: as
 * root, the image's own ids (sandboxes see them through id-mapped mounts);
 * rootless with subordinate ids, the host ids of the sandboxes' map, which
 * only a process inside a user namespace with that map can write or read
 * back; rootless without them, the user (the sandbox's only id).
 */
int img_as_store_owner(int (*fn)(void *arg, bool owners, msb_error *err), void *arg, size_t size, msb_error *err)
{
	struct ns_idmap m;
	struct owner_call *c;
	size_t len = sizeof(*c) + size;
	int r;

	if (geteuid() == 0 || ns_idmap_plan(&m, NULL) < 0 || !m.multi)
		return fn(arg, geteuid() == 0, err);
	c = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED)
		return msb_err_sys(err, errno, "mmap");
	c->fn = fn;
	c->r = -MSB_ERR_SYSTEM;
	snprintf(c->err.msg, sizeof(c->err.msg), "the image worker in the user namespace died");
	memcpy(c->arg, arg, size);
	r = ns_userns_call(owner_call_run, c, err);
	if (c->r < 0) {
		if (err)
			*err = c->err;
		r = c->r;
	}
	memcpy(arg, c->arg, size);
	munmap(c, len);
	return r;
}

struct unpack_job {
	int blob_fd, dest_fd, compression;
	const char *diff_id;
	struct img_unpack_stats st;
};

static int unpack_run(void *arg, bool owners, msb_error *err)
{
	struct unpack_job *j = arg;
	return img_unpack_layer(j->blob_fd, j->compression, j->dest_fd, j->diff_id, owners ? IMG_UNPACK_OWNERS : 0,
				NULL, &j->st, err);
}

static int cmp_hex(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void remove_tmp(int images_fd, const char *name)
{
	char path[160];
	snprintf(path, sizeof(path), "tmp/%s", name);
	ns_rm_rf_at(images_fd, path); /* rootless debris belongs to subordinate ids */
}

int img_layer_install(int images_fd, int blob_fd, int compression, const char *diff_id, msb_error *err)
{
	char dir[160], tmp[176], final[128];
	struct unpack_job job = {.diff_id = diff_id, .compression = compression, .blob_fd = blob_fd};
	int r;

	if (!img_digest_valid(diff_id))
		return msb_err_set(err, MSB_ERR_INVALID, 0, "bad layer diff_id");
	if (imgstore_has_layer(images_fd, diff_id))
		return 0;
	snprintf(dir, sizeof(dir), "unpack-%s-%d", imgstore_hex(diff_id), (int)getpid());
	remove_tmp(images_fd, dir);
	snprintf(tmp, sizeof(tmp), "tmp/%s", dir);
	if (mkdirat(images_fd, tmp, 0755) < 0 ||
	    (job.dest_fd = openat(images_fd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return msb_err_sys(err, errno, "create a directory to unpack layer %s", diff_id);
	r = img_as_store_owner(unpack_run, &job, sizeof(job), err);
	close(job.dest_fd);
	if (r < 0) {
		remove_tmp(images_fd, dir);
		return r;
	}
	/* content durable before the name that vouches for it */
	syncfs(images_fd);
	snprintf(final, sizeof(final), "layers/%s", imgstore_hex(diff_id));
	if (renameat(images_fd, tmp, images_fd, final) < 0 && !imgstore_has_layer(images_fd, diff_id)) {
		r = msb_err_sys(err, errno, "store layer %s", diff_id);
		remove_tmp(images_fd, dir);
		return r;
	}
	remove_tmp(images_fd, dir); /* only there if the rename lost a race */
	return 0;
}

static int unpack_one(struct pull *p, size_t i, msb_error *err)
{
	const struct img_layer *l = &p->m->layers[i];
	char blob[128];
	int fd, r;

	snprintf(blob, sizeof(blob), "tmp/%s.blob", imgstore_hex(l->desc.digest));
	fd = openat(p->images_fd, blob, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return msb_err_sys(err, errno, "open downloaded layer %s", l->desc.digest);
	progress(p, "unpacking", (int)i, 0, (uint64_t)l->desc.size);
	r = img_layer_install(p->images_fd, fd, l->compression, p->cfg->diff_ids[i], err);
	close(fd);
	if (r < 0)
		return msb_err_wrap(err, "layer %zu (%s)", i + 1, l->desc.digest);
	unlinkat(p->images_fd, blob, 0);
	progress(p, "done", (int)i, (uint64_t)l->desc.size, (uint64_t)l->desc.size);
	return 0;
}

static int fetch_layers(struct pull *p, msb_error *err)
{
	size_t n = p->m->n_layers, k = 0;
	const char **order = xcalloc(n + 1, sizeof(char *));
	int *locks = xcalloc(n + 1, sizeof(int));
	struct img_descriptor *want = xcalloc(n + 1, sizeof(*want));
	char **parts = xcalloc(n + 1, sizeof(char *)), **finals = xcalloc(n + 1, sizeof(char *));
	size_t *which = xcalloc(n + 1, sizeof(size_t));
	int r = 0;

	for (size_t i = 0; i < n; i++)
		locks[i] = -1;
	for (size_t i = 0; i < n; i++)
		order[i] = p->cfg->diff_ids[i]; /* all "sha256:": sorted by their hex */
	qsort(order, n, sizeof(char *), cmp_hex);
	for (size_t i = 0; i < n && r >= 0; i++) {
		if (i && strcmp(order[i], order[i - 1]) == 0)
			continue; /* the same layer twice in one image */
		if (imgstore_has_layer(p->images_fd, order[i]))
			continue;
		locks[i] = imgstore_lock(p->images_fd, "layer", imgstore_hex(order[i]), LOCK_EX, err);
		r = locks[i];
	}
	if (r < 0)
		goto out;
	r = 0;
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		if (imgstore_has_layer(p->images_fd, p->cfg->diff_ids[i]))
			continue;
		for (size_t j = 0; j < k; j++)
			dup |= strcmp(want[j].digest, p->m->layers[i].desc.digest) == 0;
		if (dup)
			continue;
		want[k] = p->m->layers[i].desc;
		parts[k] = xasprintf("tmp/%s.part", imgstore_hex(want[k].digest));
		finals[k] = xasprintf("tmp/%s.blob", imgstore_hex(want[k].digest));
		which[k++] = i;
	}
	if (k) {
		r = reg_get_blobs(p->client, p->ref.repository, want, k, p->images_fd, (const char *const *)parts,
				  (const char *const *)finals, err);
		for (size_t j = 0; r == 0 && j < k; j++)
			r = unpack_one(p, which[j], err);
	}
out:
	for (size_t i = 0; i < n; i++)
		if (locks[i] >= 0)
			close(locks[i]);
	for (size_t j = 0; j < k; j++) {
		free(parts[j]);
		free(finals[j]);
	}
	free(parts);
	free(finals);
	free(which);
	free(want);
	free(order);
	free(locks);
	return r;
}

/* ---- the record -------------------------------------------------------------- */

static json_t *strv_json(char **v, size_t n, bool null_when_empty)
{
	json_t *a;
	if (!n && null_when_empty)
		return json_null();
	a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *img_record_new(const char *manifest_digest, const char *raw_manifest, size_t manifest_len,
		       const char *raw_config, size_t config_len, const struct img_manifest *m,
		       const struct img_config *c)
{
	json_t *labels = json_object(), *layers = json_array(), *cfg, *rec;

	for (size_t i = 0; i < c->n_labels; i++)
		json_object_set_new(labels, c->labels[i].key, json_string(c->labels[i].value));
	cfg = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "env", strv_json(c->env, c->n_env, false), "cmd",
			strv_json(c->cmd, c->n_cmd, true), "entrypoint", strv_json(c->entrypoint, c->n_entrypoint, true),
			"working_dir", opt_str(c->working_dir), "user", opt_str(c->user), "labels", labels,
			"stop_signal", opt_str(c->stop_signal));
	for (size_t i = 0; i < m->n_layers; i++)
		json_array_append_new(layers, json_pack("{s:s, s:s, s:s, s:I}", "diff_id", c->diff_ids[i], "blob_digest",
							m->layers[i].desc.digest, "media_type",
							m->layers[i].desc.media_type, "size",
							(json_int_t)m->layers[i].desc.size));
	rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:s%, s:s%}", "manifest_digest",
			manifest_digest, "media_type", img_mt_name(m->media_type), "config_digest", m->config.digest,
			"architecture", c->architecture, "os", c->os, "size_bytes", (json_int_t)m->total_size,
			"created_at", (json_int_t)util_wall_ms(), "config", cfg, "layers", layers, "raw_manifest",
			raw_manifest, manifest_len, "raw_config", raw_config, config_len);
	return rec;
}

static void pull_clear(struct pull *p)
{
	reg_client_free(p->client);
	free(p->manifest_raw);
	free(p->config_raw);
	free(p->index_digest);
	img_manifest_free(p->m);
	img_config_free(p->cfg);
	img_ref_clear(&p->ref);
	if (p->images_fd >= 0)
		close(p->images_fd);
}

static int fill_info(struct msb_ctx *ctx, const char *ref, msb_image_info *out, msb_error *err)
{
	return out ? msb_image_get(ctx, ref, out, err) : 0;
}

MSB_EXPORT int msb_image_pull(msb_ctx *ctx, const char *text, const msb_pull_opts *o, msb_image_info *out,
			      msb_error *err)
{
	struct pull p = {.ctx = ctx, .o = o, .images_fd = -1};
	int policy = o ? o->policy : MSB_PULL_IF_MISSING, pull_lock = -1, ref_lock = -1, r;
	msb_error local = {0};
	char key[2 * 32 + 1];
	json_t *rec = NULL;

	if (!err)
		err = &local;
	if (out)
		memset(out, 0, sizeof(*out));
	r = img_ref_parse(text, &p.ref, err);
	if (r < 0)
		return r;
	if (img_ref_is_local_path(text)) {
		r = msb_err_set(err, MSB_ERR_INVALID, 0, "\"%s\" is a local path, not an image reference", text);
		goto out;
	}
	p.images_fd = imgstore_open(ctx, err);
	if (p.images_fd < 0) {
		r = p.images_fd;
		goto out;
	}
	pull_lock = imgstore_lock(p.images_fd, "store", "pull", LOCK_SH, err);
	sha256_hex(p.ref.canonical, strlen(p.ref.canonical), key);
	ref_lock = pull_lock < 0 ? pull_lock : imgstore_lock(p.images_fd, "ref", key, LOCK_EX, err);
	if (ref_lock < 0) {
		r = ref_lock;
		goto out;
	}
	if (policy != MSB_PULL_ALWAYS && imgstore_find(ctx, text, NULL, &rec, NULL) == 0) {
		json_decref(rec);
		r = fill_info(ctx, text, out, err);
		goto out;
	}
	if (policy == MSB_PULL_NEVER) {
		r = msb_err_set(err, MSB_ERR_NOT_FOUND, 0, "image not found: %s (and the pull policy is never)", text);
		goto out;
	}
	progress(&p, "resolve", -1, 0, 0);
	r = connect_registry(&p, false, err);
	if (r == 0)
		r = fetch_manifest(&p, err);
	if (r < 0 && loopback_registry(p.ref.registry) && !(o && o->insecure) &&
	    err->sys_errno == REG_ERRNO_TLS) {
		/* like docker: a registry on this machine may speak plain HTTP; if not, the TLS error stands */
		msb_error tls_err = *err;
		reg_client_free(p.client);
		p.client = NULL;
		r = connect_registry(&p, true, err);
		if (r == 0)
			r = fetch_manifest(&p, err);
		/* a plain-HTTP answer that is not a refusal (auth, not found) means the port speaks TLS */
		if (r < 0 && r != -MSB_ERR_PERMISSION && r != -MSB_ERR_NOT_FOUND)
			*err = tls_err;
	}
	if (r == 0)
		r = reg_get_blob_mem(p.client, p.ref.repository, &p.m->config, IMG_CONFIG_MAX, &p.config_raw,
				     &p.config_len, err);
	if (r == 0)
		r = img_config_parse(p.config_raw, p.config_len, p.m, &p.cfg, err);
	if (r == 0 && o && o->platform) {
		/* a single-platform image must be the platform asked for */
		struct img_platform want;
		if (img_platform_parse(o->platform, &want, NULL) == 0 &&
		    (strcmp(want.os, p.cfg->os) || strcmp(want.architecture, p.cfg->architecture)))
			r = msb_err_set(err, MSB_ERR_NOT_FOUND, 0, "image %s is %s/%s, not the requested platform %s", text,
					p.cfg->os, p.cfg->architecture, o->platform);
	}
	if (r < 0)
		goto out;
	p.n_layers = (int)p.m->n_layers;
	progress(&p, "layers", -1, 0, 0);
	r = fetch_layers(&p, err);
	if (r < 0)
		goto out;
	rec = img_record_new(p.manifest_digest, p.manifest_raw, p.manifest_len, p.config_raw, p.config_len, p.m,
			     p.cfg);
	if (p.index_digest)
		json_object_set_new(rec, "index_digest", json_string(p.index_digest));
	r = imgstore_put(p.images_fd, p.ref.canonical, rec, err);
	json_decref(rec);
	if (r == 0)
		r = fill_info(ctx, text, out, err);
out:
	if (ref_lock >= 0)
		close(ref_lock);
	if (pull_lock >= 0)
		close(pull_lock);
	pull_clear(&p);
	return r;
}
