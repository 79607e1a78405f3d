// SPDX-License-Identifier: Apache-2.0
/*
 * image_api.c - msb_image_get/list/remove/prune: the store-only image
 * operations (no network, no archives), so the static msb binary has them.
 */
#include <stdio.h>

#include "image/imgstore.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "msb.h"

static void info_from(msb_image_info *out, const char *reference, const json_t *rec, int64_t created_ms)
{
	memset(out, 0, sizeof(*out));
	out->reference = xstrdup(reference);
	out->digest = xstrdup(json_string_value(json_object_get(rec, "manifest_digest")));
	out->size_bytes = (uint64_t)json_integer_value(json_object_get(rec, "size_bytes"));
	out->architecture = xstrdup(json_string_value(json_object_get(rec, "architecture")) ?: "");
	out->os = xstrdup(json_string_value(json_object_get(rec, "os")) ?: "");
	out->layer_count = (unsigned)json_array_size(json_object_get(rec, "layers"));
	out->created_at = created_ms / 1000;
	out->record_json = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
}

MSB_EXPORT void msb_image_info_clear(msb_image_info *info)
{
	if (!info)
		return;
	free(info->reference);
	free(info->digest);
	free(info->architecture);
	free(info->os);
	free(info->record_json);
	memset(info, 0, sizeof(*info));
}

MSB_EXPORT void msb_image_list_free(msb_image_info *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++)
		msb_image_info_clear(&list[i]);
	free(list);
}

MSB_EXPORT int msb_image_get(msb_ctx *ctx, const char *ref, msb_image_info *out, msb_error *err)
{
	char *canonical = NULL;
	json_t *rec = NULL;
	int r = imgstore_find(ctx, ref, &canonical, &rec, err);
	if (r < 0)
		return r;
	info_from(out, canonical, rec, json_integer_value(json_object_get(rec, "created_at")));
	free(canonical);
	json_decref(rec);
	return 0;
}

static int by_created_desc(const void *a, const void *b)
{
	const msb_image_info *x = a, *y = b;
	if (x->created_at != y->created_at)
		return x->created_at < y->created_at ? 1 : -1;
	return strcmp(x->reference, y->reference);
}

MSB_EXPORT int msb_image_list(msb_ctx *ctx, msb_image_info **out, size_t *n, msb_error *err)
{
	int fd = imgstore_open(ctx, err);
	json_t *refs, *rf;
	size_t i, k = 0;

	*out = NULL;
	*n = 0;
	if (fd < 0)
		return fd;
	refs = imgstore_refs(fd);
	*out = xcalloc(json_array_size(refs) + 1, sizeof(msb_image_info));
	json_array_foreach(refs, i, rf)
	{
		json_t *rec = imgstore_record(fd, json_string_value(json_object_get(rf, "manifest_digest")));
		if (rec && imgstore_complete(fd, rec))
			info_from(&(*out)[k++], json_string_value(json_object_get(rf, "reference")), rec,
				  json_integer_value(json_object_get(rf, "created_at")));
		json_decref(rec);
	}
	qsort(*out, k, sizeof(msb_image_info), by_created_desc);
	*n = k;
	json_decref(refs);
	close(fd);
	return 0;
}

/*
 * What sandboxes pin: the manifest digests (an image in use) and their layers
 * (kept even when a forced removal drops the image, so the sandbox still starts).
 */
static int sandbox_pins(msb_ctx *ctx, json_t *digests, json_t *layers, msb_error *err)
{
	msb_sandbox_info *list;
	size_t n;
	int r = msb_list(ctx, &list, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		json_t *cfg = list[i].config_json ? json_loads(list[i].config_json, 0, NULL) : NULL, *l;
		const char *d = json_string_value(json_object_get(cfg, "image_digest"));
		size_t j;
		if (d && digests)
			json_object_set_new(digests, d, json_string(list[i].name));
		json_array_foreach(json_object_get(cfg, "layers"), j, l)
			if (json_string_value(l))
				json_object_set_new(layers, imgstore_hex(json_string_value(l)), json_true());
		json_decref(cfg);
	}
	msb_sandbox_list_free(list, n);
	return 0;
}

MSB_EXPORT int msb_image_remove(msb_ctx *ctx, const char *ref, int force, msb_error *err)
{
	json_t *rec = NULL, *digests = json_object(), *layers = json_object();
	char *canonical = NULL;
	int fd = -1, r;

	r = imgstore_find(ctx, ref, &canonical, &rec, err);
	if (r == -MSB_ERR_NOT_FOUND) {
		/* an incomplete image (interrupted pull) can still be removed by name */
		struct img_ref p;
		if (img_ref_parse(ref, &p, NULL) == 0 && (fd = imgstore_open(ctx, NULL)) >= 0 &&
		    imgstore_unref(fd, p.canonical) == 0) {
			img_ref_clear(&p);
			/* sandboxes still pin their layers, whatever became of the image's name */
			r = sandbox_pins(ctx, NULL, layers, err);
			if (r == 0)
				r = imgstore_gc(ctx, fd, layers, NULL, err);
			goto out;
		}
		img_ref_clear(&p);
		r = msb_err_set(err, MSB_ERR_NOT_FOUND, 0, "image not found: %s", ref);
	}
	if (r < 0)
		goto out;
	r = sandbox_pins(ctx, digests, layers, err);
	if (r < 0)
		goto out;
	{
		const char *d = json_string_value(json_object_get(rec, "manifest_digest"));
		const char *user = json_string_value(json_object_get(digests, d));
		if (user && !force) {
			r = msb_err_set(err, MSB_ERR_STATE, 0,
					"image %s is used by sandbox '%s' (remove the sandbox first, or use --force)", ref,
					user);
			goto out;
		}
	}
	fd = imgstore_open(ctx, err);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	if (imgstore_unref(fd, canonical) < 0 && errno != ENOENT) {
		r = msb_err_sys(err, errno, "cannot remove image %s", ref);
		goto out;
	}
	r = imgstore_gc(ctx, fd, layers, NULL, err);
out:
	if (fd >= 0)
		close(fd);
	free(canonical);
	json_decref(rec);
	json_decref(digests);
	json_decref(layers);
	return r;
}

MSB_EXPORT int msb_image_prune(msb_ctx *ctx, int all, size_t *images_removed, size_t *layers_removed, msb_error *err)
{
	json_t *digests = json_object(), *layers = json_object(), *refs = NULL, *rf;
	size_t i, n = 0;
	int fd, r;

	r = sandbox_pins(ctx, digests, layers, err);
	fd = r < 0 ? r : imgstore_open(ctx, err);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	if (all) {
		refs = imgstore_refs(fd);
		json_array_foreach(refs, i, rf)
		{
			const char *d = json_string_value(json_object_get(rf, "manifest_digest"));
			if (json_object_get(digests, d))
				continue;
			if (imgstore_unref(fd, json_string_value(json_object_get(rf, "reference"))) == 0)
				n++;
		}
	}
	r = imgstore_gc(ctx, fd, layers, layers_removed, err);
	close(fd);
out:
	if (images_removed)
		*images_removed = n;
	json_decref(refs);
	json_decref(digests);
	json_decref(layers);
	return r;
}
