/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest.h - OCI and Docker image manifests, indexes and configs.
 *
 * A registry (or an image archive) hands us JSON it controls. This module
 * parses that JSON into owned C structs and refuses anything malformed before
 * the rest of msb acts on it: the media type is pinned down (from the
 * Content-Type or sniffed from the document) and must agree with the
 * document's shape; descriptors must carry a media type, a sha256 digest and a
 * bounded size; layer counts, blob sizes and document sizes are limited; an
 * image config's rootfs.diff_ids must match the manifest's layers one to one.
 * It also picks the platform entry out of a multi-platform index, skipping
 * attestation manifests. Pure: no network, no files, no hashing (callers
 * verify blob digests as they download).
 */
#ifndef MSB_IMAGE_MANIFEST_H
#define MSB_IMAGE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msb.h"

#define IMG_MANIFEST_MAX     (4u << 20)         /* bytes of manifest or index JSON */
#define IMG_CONFIG_MAX       (16u << 20)        /* bytes of image config JSON */
#define IMG_LAYERS_MAX       1024               /* layers per manifest */
#define IMG_INDEX_ENTRIES_MAX 1024              /* entries per index */
#define IMG_LAYER_SIZE_MAX   (10ll << 30)       /* bytes of one (compressed) layer blob */
#define IMG_PLATFORM_FIELD_MAX 64               /* os / architecture / variant incl. NUL */

#define IMG_DIGEST_LEN 71 /* strlen("sha256:") + 64 */

#define IMG_MT_OCI_INDEX_STR       "application/vnd.oci.image.index.v1+json"
#define IMG_MT_OCI_MANIFEST_STR    "application/vnd.oci.image.manifest.v1+json"
#define IMG_MT_DOCKER_LIST_STR     "application/vnd.docker.distribution.manifest.list.v2+json"
#define IMG_MT_DOCKER_MANIFEST_STR "application/vnd.docker.distribution.manifest.v2+json"
#define IMG_MT_OCI_CONFIG_STR      "application/vnd.oci.image.config.v1+json"
#define IMG_MT_DOCKER_CONFIG_STR   "application/vnd.docker.container.image.v1+json"

/* The kinds of top-level document this module understands. */
enum img_mt {
	IMG_MT_UNKNOWN = 0,
	IMG_MT_OCI_INDEX,
	IMG_MT_OCI_MANIFEST,
	IMG_MT_DOCKER_LIST,
	IMG_MT_DOCKER_MANIFEST,
	IMG_MT_COUNT
};

enum img_compression {
	IMG_COMP_NONE = 0,
	IMG_COMP_GZIP,
	IMG_COMP_ZSTD,
	IMG_COMP_COUNT
};

/**
 * struct img_descriptor - a content descriptor; strings owned.
 * @media_type: the blob's media type
 * @digest: "sha256:<64 lowercase hex>"
 * @size: blob size in bytes, 0 <= size <= the limit for the blob's role
 */
struct img_descriptor {
	char *media_type;
	char *digest;
	int64_t size;
};

/* os/architecture/variant of an index entry or of a selection request; "" when absent. */
struct img_platform {
	char os[IMG_PLATFORM_FIELD_MAX];
	char architecture[IMG_PLATFORM_FIELD_MAX];
	char variant[IMG_PLATFORM_FIELD_MAX];
};

/**
 * struct img_index_entry - one entry of an image index / manifest list.
 * @desc: the entry's descriptor
 * @kind: enum img_mt of @desc.media_type; IMG_MT_UNKNOWN for other artifacts
 * @has_platform: the entry carried a "platform" object
 * @platform: its platform (all "" without one)
 * @attestation: a build attestation (buildkit), never a runnable image
 */
struct img_index_entry {
	struct img_descriptor desc;
	int kind;
	bool has_platform;
	struct img_platform platform;
	bool attestation;
};

/* A parsed image index or Docker manifest list; free with img_index_free(). */
struct img_index {
	int media_type; /* IMG_MT_OCI_INDEX or IMG_MT_DOCKER_LIST */
	struct img_index_entry *entries;
	size_t n_entries;
};

/* One layer of a manifest. */
struct img_layer {
	struct img_descriptor desc;
	int compression; /* enum img_compression, from desc.media_type */
};

/* A parsed image manifest; free with img_manifest_free(). */
struct img_manifest {
	int media_type; /* IMG_MT_OCI_MANIFEST or IMG_MT_DOCKER_MANIFEST */
	struct img_descriptor config;
	struct img_layer *layers;
	size_t n_layers;
	uint64_t total_size; /* sum of layer sizes (cannot overflow: bounded by the limits) */
};

struct img_label {
	char *key;
	char *value;
};

/**
 * struct img_config - the runtime-relevant part of an image config; strings owned.
 * @os, @architecture: required by the OCI spec and required here
 * @variant: NULL when absent
 * @env: "KEY=VALUE" strings, @n_env of them, NULL-terminated
 * @entrypoint, @cmd: argv arrays, NULL-terminated (n == 0: absent or empty)
 * @working_dir, @user, @stop_signal: NULL when absent or empty
 * @labels: @n_labels key/value pairs in document order
 * @diff_ids: sha256 digests of the uncompressed layers, bottom first
 */
struct img_config {
	char *os;
	char *architecture;
	char *variant;
	char **env;
	size_t n_env;
	char **entrypoint;
	size_t n_entrypoint;
	char **cmd;
	size_t n_cmd;
	char *working_dir;
	char *user;
	char *stop_signal;
	struct img_label *labels;
	size_t n_labels;
	char **diff_ids;
	size_t n_diff_ids;
};

/**
 * img_digest_check() - validate a digest string.
 * @s: candidate, e.g. "sha256:0123..."
 * @err: error out, names @s
 *
 * Only sha256 is accepted, with exactly 64 lowercase hex digits.
 *
 * Return: 0, or -MSB_ERR_INVALID.
 */
int img_digest_check(const char *s, msb_error *err);

/**
 * img_digest_valid() - img_digest_check() without an error object.
 * @s: candidate (NULL allowed: not valid)
 */
bool img_digest_valid(const char *s);

/**
 * img_mt_from_string() - map a media type or Content-Type value to enum img_mt.
 * @s: e.g. "application/vnd.oci.image.index.v1+json; charset=utf-8", or NULL
 *
 * Parameters after ';' and surrounding blanks are ignored; the comparison is
 * case-insensitive (RFC 9110 §8.3.1).
 *
 * Return: enum img_mt; IMG_MT_UNKNOWN for NULL, empty, generic JSON types and
 * anything else this module does not parse.
 */
int img_mt_from_string(const char *s);

/**
 * img_mt_name() - the media type string of @mt.
 * @mt: enum img_mt
 *
 * Return: static string; "unknown" for IMG_MT_UNKNOWN or out-of-range values.
 */
const char *img_mt_name(int mt);

/**
 * img_manifest_sniff() - tell what kind of document @data is.
 * @data, @len: the JSON as received (need not be NUL-terminated)
 * @content_type: the HTTP Content-Type, or NULL/"" when absent or not trusted
 * @err: error out
 *
 * A recognised @content_type must agree with the document's own "mediaType"
 * when that is present; otherwise the "mediaType" field decides, else the
 * shape ("manifests" = index, "config"/"layers" = manifest). Documents that
 * look like both an index and a manifest are refused (the ambiguity behind
 * CVE-2021-41190), as are Docker schema 1 manifests.
 *
 * Return: enum img_mt (> 0), or -MSB_ERR_INVALID.
 */
int img_manifest_sniff(const char *data, size_t len, const char *content_type, msb_error *err);

/**
 * img_index_parse() - parse an OCI image index or Docker manifest list.
 * @data, @len: the JSON
 * @content_type: as for img_manifest_sniff()
 * @out: receives the index (caller frees with img_index_free())
 * @err: error out
 *
 * Return: 0, or -MSB_ERR_INVALID (also when @data is a manifest, not an index).
 */
int img_index_parse(const char *data, size_t len, const char *content_type, struct img_index **out,
		    msb_error *err);
void img_index_free(struct img_index *idx);

/**
 * img_platform_parse() - parse "os/arch[/variant]".
 * @s: e.g. "linux/arm64/v8"
 * @out: receives the fields
 * @err: error out
 *
 * Return: 0, or -MSB_ERR_INVALID.
 */
int img_platform_parse(const char *s, struct img_platform *out, msb_error *err);

/**
 * img_platform_host() - the platform of this build: linux and its architecture
 * in OCI spelling ("amd64", "arm64", ...).
 * @out: receives the fields
 */
void img_platform_host(struct img_platform *out);

/**
 * img_index_select() - pick the manifest for a platform from an index.
 * @idx: the index
 * @want: os and architecture to match exactly, optional variant; NULL = host
 * @err: error out; on no match lists the platforms the index offers
 *
 * Attestation entries and entries whose media type is neither a manifest nor
 * an index are skipped. Among entries with the wanted os and architecture,
 * one whose variant equals the wanted variant wins (for arm64 no variant and
 * "v8" are the same); otherwise the first such entry is taken. When the
 * chosen entry is itself an index the caller fetches it and selects again,
 * with a depth limit of its own.
 *
 * Return: index into @idx->entries (>= 0), or -MSB_ERR_NOT_FOUND.
 */
int img_index_select(const struct img_index *idx, const struct img_platform *want, msb_error *err);

/**
 * img_manifest_parse() - parse an OCI image manifest or Docker v2 schema 2 manifest.
 * @data, @len: the JSON
 * @content_type: as for img_manifest_sniff()
 * @out: receives the manifest (caller frees with img_manifest_free())
 * @err: error out, naming the field (e.g. "layers[2].digest")
 *
 * Return: 0, or -MSB_ERR_INVALID (also for indexes and schema 1).
 */
int img_manifest_parse(const char *data, size_t len, const char *content_type, struct img_manifest **out,
		       msb_error *err);
void img_manifest_free(struct img_manifest *m);

/**
 * img_layer_compression() - the compression of a layer from its media type.
 * @media_type: e.g. "application/vnd.oci.image.layer.v1.tar+zstd"
 * @err: error out, names @media_type when unknown
 *
 * Return: enum img_compression (>= 0), or -MSB_ERR_INVALID for media types
 * that are not image layers (including encrypted layers).
 */
int img_layer_compression(const char *media_type, msb_error *err);

/**
 * img_config_parse() - parse an image config.
 * @data, @len: the JSON
 * @m: the manifest that referenced this config, or NULL; when given,
 *     rootfs.diff_ids must have exactly @m->n_layers entries
 * @out: receives the config (caller frees with img_config_free())
 * @err: error out, naming the field
 *
 * Return: 0, or -MSB_ERR_INVALID.
 */
int img_config_parse(const char *data, size_t len, const struct img_manifest *m, struct img_config **out,
		     msb_error *err);
void img_config_free(struct img_config *cfg);

#endif
