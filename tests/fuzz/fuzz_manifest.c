// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_manifest.c - libFuzzer target for the image document parsers and the
 * reference parser.
 *
 * The first input byte picks the parser (and a Content-Type), the rest is the
 * document. Beyond "no crash, no leak, no UB" the target checks properties
 * of every accepted result and traps when one fails: digests are canonical,
 * sizes and counts are within the limits, selection returns a matching
 * entry, and a parsed reference's canonical and familiar forms parse back to
 * the same canonical form. References are fuzzed here too because they also
 * arrive inside untrusted archives (RepoTags, org.opencontainers.image.ref.name).
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Iinclude -Isrc/lib \
 *        tests/fuzz/fuzz_manifest.c src/lib/image/{ref,manifest,tarpath}.c src/lib/util.c -ljansson
 */
#include <stdint.h>
#include <stdio.h>

#include "image/manifest.h"
#include "image/ref.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                              \
	do {                                                                                                  \
		if (!(c)) {                                                                                   \
			fprintf(stderr, "property failed: %s (%s:%d)\n", #c, __FILE__, __LINE__);            \
			__builtin_trap();                                                                     \
		}                                                                                             \
	} while (0)

static const char *const content_types[] = {
	NULL,
	"",
	"application/json",
	IMG_MT_OCI_INDEX_STR,
	IMG_MT_OCI_MANIFEST_STR,
	IMG_MT_DOCKER_LIST_STR,
	IMG_MT_DOCKER_MANIFEST_STR "; charset=utf-8",
	"application/vnd.docker.distribution.manifest.v1+prettyjws",
};

static void check_desc(const struct img_descriptor *d, int64_t max)
{
	CHECK(d->media_type && d->media_type[0]);
	CHECK(img_digest_valid(d->digest));
	CHECK(d->size >= 0 && d->size <= max);
}

static void fuzz_sniff(const char *doc, size_t len, const char *ct)
{
	msb_error err;
	int r = img_manifest_sniff(doc, len, ct, &err);

	CHECK(r == -MSB_ERR_INVALID || (r > IMG_MT_UNKNOWN && r < IMG_MT_COUNT));
	if (r < 0)
		CHECK(err.code == MSB_ERR_INVALID && err.msg[0]);
}

static void check_selected(const struct img_index *idx, const struct img_platform *want, int r)
{
	const struct img_index_entry *e;

	if (r < 0)
		return;
	CHECK((size_t)r < idx->n_entries);
	e = &idx->entries[r];
	CHECK(!e->attestation && e->has_platform);
	CHECK(strcmp(e->platform.os, want->os) == 0);
	CHECK(strcmp(e->platform.architecture, want->architecture) == 0);
	CHECK(e->kind != IMG_MT_UNKNOWN);
}

static void fuzz_index(const char *doc, size_t len, const char *ct)
{
	static const char *const plats[] = {"linux/amd64", "linux/arm64/v8", "linux/arm/v7", "windows/amd64"};
	struct img_index *idx = NULL;
	msb_error err;
	size_t i;

	if (img_index_parse(doc, len, ct, &idx, &err) < 0) {
		CHECK(idx == NULL);
		return;
	}
	CHECK(idx->media_type == IMG_MT_OCI_INDEX || idx->media_type == IMG_MT_DOCKER_LIST);
	CHECK(idx->n_entries <= IMG_INDEX_ENTRIES_MAX);
	for (i = 0; i < idx->n_entries; i++)
		check_desc(&idx->entries[i].desc, IMG_MANIFEST_MAX);
	for (i = 0; i < ARRAY_SIZE(plats); i++) {
		struct img_platform p;
		CHECK(img_platform_parse(plats[i], &p, NULL) == 0);
		check_selected(idx, &p, img_index_select(idx, &p, &err));
	}
	check_selected(idx, &(struct img_platform){"linux", "amd64", ""},
		       img_index_select(idx, &(struct img_platform){"linux", "amd64", ""}, NULL));
	img_index_free(idx);
}

static void fuzz_manifest(const char *doc, size_t len, const char *ct)
{
	struct img_manifest *m = NULL;
	struct img_config *cfg = NULL;
	msb_error err;
	uint64_t total = 0;
	size_t i;

	if (img_manifest_parse(doc, len, ct, &m, &err) < 0) {
		CHECK(m == NULL);
		return;
	}
	CHECK(m->media_type == IMG_MT_OCI_MANIFEST || m->media_type == IMG_MT_DOCKER_MANIFEST);
	check_desc(&m->config, IMG_CONFIG_MAX);
	CHECK(m->n_layers <= IMG_LAYERS_MAX);
	for (i = 0; i < m->n_layers; i++) {
		check_desc(&m->layers[i].desc, IMG_LAYER_SIZE_MAX);
		CHECK(m->layers[i].compression >= 0 && m->layers[i].compression < IMG_COMP_COUNT);
		CHECK(img_layer_compression(m->layers[i].desc.media_type, NULL) == m->layers[i].compression);
		total += (uint64_t)m->layers[i].desc.size;
	}
	CHECK(total == m->total_size);
	/* the same bytes as a config, checked against this manifest: must not crash */
	if (img_config_parse(doc, len, m, &cfg, NULL) == 0)
		CHECK(cfg->n_diff_ids == m->n_layers);
	img_config_free(cfg);
	img_manifest_free(m);
}

static void fuzz_config(const char *doc, size_t len)
{
	struct img_config *c = NULL;
	msb_error err;
	size_t i;

	if (img_config_parse(doc, len, NULL, &c, &err) < 0) {
		CHECK(c == NULL && err.code == MSB_ERR_INVALID);
		return;
	}
	CHECK(c->os && c->os[0] && c->architecture && c->architecture[0]);
	CHECK(c->n_diff_ids <= IMG_LAYERS_MAX);
	for (i = 0; i < c->n_diff_ids; i++)
		CHECK(img_digest_valid(c->diff_ids[i]));
	CHECK(c->diff_ids == NULL || c->diff_ids[c->n_diff_ids] == NULL);
	for (i = 0; i < c->n_env; i++)
		CHECK(strchr(c->env[i], '=') && c->env[i][0] != '=');
	CHECK(c->env == NULL || c->env[c->n_env] == NULL);
	CHECK(c->cmd == NULL || c->cmd[c->n_cmd] == NULL);
	CHECK(c->entrypoint == NULL || c->entrypoint[c->n_entrypoint] == NULL);
	for (i = 0; i < c->n_labels; i++)
		CHECK(c->labels[i].key && c->labels[i].value);
	CHECK(!c->working_dir || c->working_dir[0]);
	img_config_free(c);
}

static void fuzz_ref(const char *s)
{
	struct img_ref r, again;
	msb_error err;

	if (img_ref_parse(s, &r, &err) < 0) {
		CHECK(r.canonical == NULL && err.code == MSB_ERR_INVALID);
		return;
	}
	CHECK(r.registry && r.repository && r.canonical && r.familiar);
	CHECK(r.tag || r.digest);
	CHECK(!r.digest || img_digest_valid(r.digest));
	CHECK(strlen(r.registry) + 1 + strlen(r.repository) <= IMG_REF_NAME_MAX);
	CHECK(!r.tag || strlen(r.tag) <= IMG_REF_TAG_MAX);
	CHECK(img_ref_parse(r.canonical, &again, &err) == 0);
	CHECK(strcmp(again.canonical, r.canonical) == 0);
	img_ref_clear(&again);
	CHECK(img_ref_parse(r.familiar, &again, &err) == 0);
	CHECK(strcmp(again.canonical, r.canonical) == 0);
	img_ref_clear(&again);
	CHECK(!img_ref_is_local_path(r.canonical));
	img_ref_clear(&r);
}

static void fuzz_platform(const char *s)
{
	struct img_platform p;

	if (img_platform_parse(s, &p, NULL) == 0)
		CHECK(p.os[0] && p.architecture[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *doc = (const char *)data + 1, *ct;
	size_t len;
	char *s;

	if (size < 1)
		return 0;
	len = size - 1;
	ct = content_types[(data[0] >> 3) % ARRAY_SIZE(content_types)];
	switch (data[0] & 7) {
	case 0:
		fuzz_sniff(doc, len, ct);
		break;
	case 1:
		fuzz_index(doc, len, ct);
		break;
	case 2:
		fuzz_manifest(doc, len, ct);
		break;
	case 3:
		fuzz_config(doc, len);
		break;
	case 4:
	case 5:
		s = xstrndup(doc, len); /* stops at a NUL: the CLI sees C strings */
		fuzz_ref(s);
		free(s);
		break;
	case 6:
		s = xstrndup(doc, len);
		fuzz_platform(s);
		img_local_kind(s);
		free(s);
		break;
	default:
		fuzz_index(doc, len, NULL);
		fuzz_manifest(doc, len, NULL);
		break;
	}
	return 0;
}
