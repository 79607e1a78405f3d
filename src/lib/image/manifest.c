// SPDX-License-Identifier: Apache-2.0
/*
 * manifest.c - parse and validate OCI / Docker manifests, indexes and configs.
 *
 * Every document here comes from a registry or an archive we do not trust, so
 * parsing is strict: duplicate JSON keys are refused (two parsers must never
 * read different values from one document), every required field must be
 * present with the right JSON type, integers must be integers, digests must be
 * sha256 in canonical form, and every count and size has a ceiling. Errors
 * name the document and the field ("invalid image manifest: layers[2].size:
 * must be a non-negative integer").
 *
 * Media type resolution (img_manifest_sniff): a known Content-Type and the
 * document's own "mediaType" must agree; either one decides the kind; with
 * neither, the shape decides. A document that carries both "manifests" and
 * "config"/"layers" is refused whatever it claims, which closes the
 * index/manifest confusion of CVE-2021-41190: the same bytes must not mean
 * one image to us and another to a different client.
 */
#include <jansson.h>
#include <stdio.h>
#include <strings.h>

#include "image/manifest.h"
#include "image/ref.h"
#include "util.h"

/* The architecture of this build in OCI (GOARCH) spelling. */
#if defined(__x86_64__)
#define HOST_ARCH "amd64"
#elif defined(__aarch64__)
#define HOST_ARCH "arm64"
#elif defined(__i386__)
#define HOST_ARCH "386"
#elif defined(__arm__)
#define HOST_ARCH "arm"
#elif defined(__riscv) && __riscv_xlen == 64
#define HOST_ARCH "riscv64"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_ARCH "ppc64le"
#elif defined(__s390x__)
#define HOST_ARCH "s390x"
#else
#define HOST_ARCH "unknown"
#endif

/* ASCII only: <ctype.h> answers depend on the locale. */
static bool ascii_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void mf_json_decrefp(json_t **j)
{
	json_decref(*j);
}
#define _cleanup_json_ __attribute__((cleanup(mf_json_decrefp)))

/* "invalid <doc>: <detail>" */
__attribute__((format(printf, 3, 4))) static void doc_fail_do(msb_error *err, const char *doc, const char *fmt, ...)
{
	char detail[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	msb_err_set(err, MSB_ERR_INVALID, 0, "invalid %s: %s", doc, detail);
}

/* Fill the error and evaluate to -MSB_ERR_INVALID (a macro, so analyzers see the constant). */
#define doc_fail(...) (doc_fail_do(__VA_ARGS__), -MSB_ERR_INVALID)

/* Quote a JSON string value for a message (it may hold control characters). */
static const char *jq(char *buf, size_t size, const char *s)
{
	return img_quote(buf, size, s, strlen(s));
}

/* ---- digests and media types --------------------------------------------- */

int img_digest_check(const char *s, msb_error *err)
{
	char q[200];
	size_t i;

	if (!s)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid digest: missing");
	if (strncmp(s, "sha256:", 7) != 0) {
		const char *colon = strchr(s, ':');
		if (colon && colon != s)
			return msb_err_set(err, MSB_ERR_INVALID, 0,
					   "unsupported digest algorithm %s (only sha256 is supported)",
					   img_quote(q, sizeof(q), s, (size_t)(colon - s)));
		return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid digest %s: expected sha256:<64 hex digits>",
				   jq(q, sizeof(q), s));
	}
	for (i = 7; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return msb_err_set(err, MSB_ERR_INVALID, 0,
					   "invalid digest %s: expected 64 lowercase hex digits after \"sha256:\"",
					   jq(q, sizeof(q), s));
	if (i != IMG_DIGEST_LEN)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid digest %s: %zu hex digits, expected 64",
				   jq(q, sizeof(q), s), i - 7);
	return 0;
}

bool img_digest_valid(const char *s)
{
	return img_digest_check(s, NULL) == 0;
}

static const char *const mt_names[IMG_MT_COUNT] = {
	[IMG_MT_UNKNOWN] = "unknown",
	[IMG_MT_OCI_INDEX] = IMG_MT_OCI_INDEX_STR,
	[IMG_MT_OCI_MANIFEST] = IMG_MT_OCI_MANIFEST_STR,
	[IMG_MT_DOCKER_LIST] = IMG_MT_DOCKER_LIST_STR,
	[IMG_MT_DOCKER_MANIFEST] = IMG_MT_DOCKER_MANIFEST_STR,
};
_Static_assert(ARRAY_SIZE(mt_names) == IMG_MT_COUNT, "mt_names matches enum img_mt");

const char *img_mt_name(int mt)
{
	if (mt <= IMG_MT_UNKNOWN || mt >= IMG_MT_COUNT)
		return mt_names[IMG_MT_UNKNOWN];
	return mt_names[mt];
}

/* Is [s, s+n) equal to @want, ignoring case? */
static bool span_eq(const char *s, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(s, want, n) == 0;
}

/* The bare media type of a Content-Type value: blanks trimmed, parameters dropped. */
static const char *mt_span(const char *s, size_t *n)
{
	const char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = strchr(s, ';');
	if (!e)
		e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*n = (size_t)(e - s);
	return s;
}

int img_mt_from_string(const char *s)
{
	size_t n;
	int i;

	if (!s)
		return IMG_MT_UNKNOWN;
	s = mt_span(s, &n);
	for (i = IMG_MT_UNKNOWN + 1; i < IMG_MT_COUNT; i++)
		if (span_eq(s, n, mt_names[i]))
			return i;
	return IMG_MT_UNKNOWN;
}

static bool mt_is_schema1(const char *s)
{
	size_t n;

	if (!s)
		return false;
	s = mt_span(s, &n);
	return span_eq(s, n, "application/vnd.docker.distribution.manifest.v1+json") ||
	       span_eq(s, n, "application/vnd.docker.distribution.manifest.v1+prettyjws");
}

static bool mt_is_index(int mt)
{
	return mt == IMG_MT_OCI_INDEX || mt == IMG_MT_DOCKER_LIST;
}

static bool mt_is_manifest(int mt)
{
	return mt == IMG_MT_OCI_MANIFEST || mt == IMG_MT_DOCKER_MANIFEST;
}

/* RFC 6838 §4.2: type "/" subtype, each 1-127 restricted-name characters. */
static bool media_type_valid(const char *s)
{
	const char *slash = strchr(s, '/');
	size_t i, tn, sn;

	if (!slash)
		return false;
	tn = (size_t)(slash - s);
	sn = strlen(slash + 1);
	if (tn == 0 || tn > 127 || sn == 0 || sn > 127 || !ascii_alnum((unsigned char)s[0]) ||
	    !ascii_alnum((unsigned char)slash[1]))
		return false;
	for (i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (&s[i] == slash)
			continue;
		if (!ascii_alnum(c) && !strchr("!#$&-^_.+", c))
			return false;
	}
	return true;
}

static const struct {
	const char *media_type;
	int compression;
} layer_types[] = {
	{"application/vnd.oci.image.layer.v1.tar", IMG_COMP_NONE},
	{"application/vnd.oci.image.layer.v1.tar+gzip", IMG_COMP_GZIP},
	{"application/vnd.oci.image.layer.v1.tar+zstd", IMG_COMP_ZSTD},
	{"application/vnd.oci.image.layer.nondistributable.v1.tar", IMG_COMP_NONE},
	{"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", IMG_COMP_GZIP},
	{"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", IMG_COMP_ZSTD},
	{"application/vnd.docker.image.rootfs.diff.tar", IMG_COMP_NONE},
	{"application/vnd.docker.image.rootfs.diff.tar.gzip", IMG_COMP_GZIP},
	{"application/vnd.docker.image.rootfs.diff.tar.zstd", IMG_COMP_ZSTD},
	{"application/vnd.docker.image.rootfs.foreign.diff.tar", IMG_COMP_NONE},
	{"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", IMG_COMP_GZIP},
};

int img_layer_compression(const char *media_type, msb_error *err)
{
	char q[300];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(layer_types); i++)
		if (strcasecmp(media_type, layer_types[i].media_type) == 0)
			return layer_types[i].compression;
	if (strstr(media_type, "+encrypted"))
		return msb_err_set(err, MSB_ERR_INVALID, 0, "encrypted layers are not supported (media type %s)",
				   jq(q, sizeof(q), media_type));
	return msb_err_set(err, MSB_ERR_INVALID, 0, "unsupported layer media type %s", jq(q, sizeof(q), media_type));
}

/* ---- JSON field helpers --------------------------------------------------- */

/*
 * Load @len bytes of JSON (at most @max) as an object. Duplicate keys are an
 * error; jansson already refuses NUL in strings and caps nesting depth.
 */
static json_t *load_object(const char *data, size_t len, size_t max, const char *doc, msb_error *err)
{
	json_error_t jerr;
	json_t *root;
	char *p;

	if (len > max) {
		doc_fail_do(err, doc, "document is %zu bytes (max %zu)", len, max);
		return NULL;
	}
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		/* jansson may echo input bytes in its message: keep them printable */
		for (p = jerr.text; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '?';
		doc_fail_do(err, doc, "not valid JSON (line %d, column %d): %s", jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		doc_fail_do(err, doc, "top level is not a JSON object");
		return NULL;
	}
	return root;
}

/*
 * Read string field @key of @obj into *@out (borrowed from @obj). A missing or
 * null field leaves *@out NULL and is an error only when @required.
 */
static int get_str(json_t *obj, const char *key, bool required, const char **out, const char *doc,
		   const char *ctx, msb_error *err)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return doc_fail(err, doc, "%s%s%s: missing", ctx, *ctx ? "." : "", key);
		return 0;
	}
	if (!json_is_string(v))
		return doc_fail(err, doc, "%s%s%s: must be a string", ctx, *ctx ? "." : "", key);
	*out = json_string_value(v);
	return 0;
}

/* Like get_str() for a required, non-empty string. */
static int get_str_nonempty(json_t *obj, const char *key, const char **out, const char *doc, const char *ctx,
			    msb_error *err)
{
	int r = get_str(obj, key, true, out, doc, ctx, err);
	if (r < 0)
		return r;
	if (!*out || !**out)
		return doc_fail(err, doc, "%s%s%s: must not be empty", ctx, *ctx ? "." : "", key);
	return 0;
}

static int get_size(json_t *obj, const char *key, int64_t max, int64_t *out, const char *doc, const char *ctx,
		    msb_error *err)
{
	json_t *v = json_object_get(obj, key);
	json_int_t n;

	if (!v)
		return doc_fail(err, doc, "%s.%s: missing", ctx, key);
	if (!json_is_integer(v))
		return doc_fail(err, doc, "%s.%s: must be a non-negative integer", ctx, key);
	n = json_integer_value(v);
	if (n < 0)
		return doc_fail(err, doc, "%s.%s: must be a non-negative integer (got %lld)", ctx, key, (long long)n);
	if (n > max)
		return doc_fail(err, doc, "%s.%s: %lld bytes exceeds the limit of %lld", ctx, key, (long long)n,
				(long long)max);
	*out = (int64_t)n;
	return 0;
}

static void descriptor_clear(struct img_descriptor *d)
{
	free(d->media_type);
	free(d->digest);
	memset(d, 0, sizeof(*d));
}

/* Parse the descriptor object @o named @ctx; @max bounds its size. */
static int parse_descriptor(json_t *o, int64_t max, struct img_descriptor *d, const char *doc, const char *ctx,
			    msb_error *err)
{
	const char *mt, *digest;
	char q[300];
	msb_error derr;
	int r;

	if (!json_is_object(o))
		return doc_fail(err, doc, "%s: must be an object", ctx);
	r = get_str_nonempty(o, "mediaType", &mt, doc, ctx, err);
	if (r < 0)
		return r;
	if (!media_type_valid(mt))
		return doc_fail(err, doc, "%s.mediaType: malformed media type %s", ctx, jq(q, sizeof(q), mt));
	r = get_str(o, "digest", true, &digest, doc, ctx, err);
	if (r < 0)
		return r;
	if (img_digest_check(digest, &derr) < 0)
		return doc_fail(err, doc, "%s.digest: %s", ctx, derr.msg);
	r = get_size(o, "size", max, &d->size, doc, ctx, err);
	if (r < 0)
		return r;
	d->media_type = xstrdup(mt);
	d->digest = xstrdup(digest);
	return 0;
}

/* ---- sniffing ------------------------------------------------------------- */

/* Decide what @root is; see img_manifest_sniff(). */
static int sniff_json(json_t *root, const char *content_type, msb_error *err)
{
	static const char doc[] = "manifest";
	json_t *sv = json_object_get(root, "schemaVersion");
	json_t *mtv = json_object_get(root, "mediaType");
	bool has_index_shape = json_object_get(root, "manifests") != NULL;
	bool has_manifest_shape = json_object_get(root, "config") || json_object_get(root, "layers");
	int ct = img_mt_from_string(content_type), mt = IMG_MT_UNKNOWN, kind;
	char q[300];

	if (mt_is_schema1(content_type) || (json_is_integer(sv) && json_integer_value(sv) == 1) ||
	    (json_is_string(mtv) && mt_is_schema1(json_string_value(mtv))))
		return doc_fail(err, doc, "Docker image manifest schema 1 is not supported (deprecated; "
					  "re-push the image with a current client)");
	if (!sv)
		return doc_fail(err, doc, "schemaVersion: missing");
	if (!json_is_integer(sv) || json_integer_value(sv) != 2)
		return doc_fail(err, doc, "schemaVersion: must be 2");
	if (mtv) {
		if (!json_is_string(mtv))
			return doc_fail(err, doc, "mediaType: must be a string");
		mt = img_mt_from_string(json_string_value(mtv));
		if (mt == IMG_MT_UNKNOWN)
			return doc_fail(err, doc, "unsupported media type %s", jq(q, sizeof(q), json_string_value(mtv)));
	}
	if (ct != IMG_MT_UNKNOWN && mt != IMG_MT_UNKNOWN && ct != mt)
		return doc_fail(err, doc, "Content-Type %s does not match the document's mediaType %s",
				img_mt_name(ct), img_mt_name(mt));
	if (has_index_shape && has_manifest_shape)
		return doc_fail(err, doc, "has both \"manifests\" and \"config\"/\"layers\"; refusing an "
					  "ambiguous document");
	kind = mt != IMG_MT_UNKNOWN ? mt : ct;
	if (kind == IMG_MT_UNKNOWN) {
		if (has_index_shape)
			return IMG_MT_OCI_INDEX;
		if (has_manifest_shape)
			return IMG_MT_OCI_MANIFEST;
		return doc_fail(err, doc, "no mediaType and neither \"manifests\" nor \"config\"/\"layers\": "
					  "cannot tell what it is");
	}
	if (mt_is_index(kind) && has_manifest_shape)
		return doc_fail(err, doc, "%s has \"config\"/\"layers\"", img_mt_name(kind));
	if (mt_is_manifest(kind) && has_index_shape)
		return doc_fail(err, doc, "%s has \"manifests\"", img_mt_name(kind));
	return kind;
}

int img_manifest_sniff(const char *data, size_t len, const char *content_type, msb_error *err)
{
	_cleanup_json_ json_t *root = load_object(data, len, IMG_MANIFEST_MAX, "manifest", err);

	if (!root)
		return -MSB_ERR_INVALID;
	return sniff_json(root, content_type, err);
}

/* ---- platforms and indexes ------------------------------------------------ */

/* Platform fields: [a-z0-9._-], 1..63 characters. */
static bool platform_field_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n >= IMG_PLATFORM_FIELD_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!ascii_alnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

static int parse_platform(json_t *p, struct img_platform *out, const char *doc, const char *ctx, msb_error *err)
{
	static const char *const keys[] = {"os", "architecture", "variant"};
	char *dst[] = {out->os, out->architecture, out->variant};
	char q[300];
	size_t i;

	if (!json_is_object(p))
		return doc_fail(err, doc, "%s.platform: must be an object", ctx);
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *v;
		int r = get_str(p, keys[i], i < 2, &v, doc, ctx, err);
		if (r < 0)
			return doc_fail(err, doc, "%s.platform.%s: missing or not a string", ctx, keys[i]);
		if (!v || (i == 2 && !*v))
			continue; /* an empty variant is no variant */
		if (!platform_field_valid(v, strlen(v)))
			return doc_fail(err, doc, "%s.platform.%s: invalid value %s", ctx, keys[i],
					jq(q, sizeof(q), v));
		memcpy(dst[i], v, strlen(v) + 1);
	}
	return 0;
}

static bool entry_is_attestation(json_t *e, const struct img_index_entry *ent)
{
	json_t *ann = json_object_get(e, "annotations");
	json_t *t = json_object_get(ann, "vnd.docker.reference.type");

	if (json_is_string(t) && strstr(json_string_value(t), "attestation"))
		return true;
	return strcmp(ent->platform.os, "unknown") == 0 && strcmp(ent->platform.architecture, "unknown") == 0;
}

static int parse_index_entry(json_t *e, struct img_index_entry *ent, const char *doc, const char *ctx,
			     msb_error *err)
{
	json_t *p, *ann;
	int r;

	r = parse_descriptor(e, IMG_MANIFEST_MAX, &ent->desc, doc, ctx, err);
	if (r < 0)
		return r;
	ent->kind = img_mt_from_string(ent->desc.media_type);
	p = json_object_get(e, "platform");
	if (p && !json_is_null(p)) {
		r = parse_platform(p, &ent->platform, doc, ctx, err);
		if (r < 0)
			return r;
		ent->has_platform = true;
	}
	ann = json_object_get(e, "annotations");
	if (ann && !json_is_null(ann) && !json_is_object(ann))
		return doc_fail(err, doc, "%s.annotations: must be an object", ctx);
	ent->attestation = entry_is_attestation(e, ent);
	return 0;
}

static int index_parse_do(json_t *root, int kind, struct img_index *idx, msb_error *err)
{
	static const char doc[] = "image index";
	json_t *arr = json_object_get(root, "manifests");
	size_t i;

	idx->media_type = kind;
	if (!arr)
		return doc_fail(err, doc, "manifests: missing");
	if (!json_is_array(arr))
		return doc_fail(err, doc, "manifests: must be an array");
	if (json_array_size(arr) > IMG_INDEX_ENTRIES_MAX)
		return doc_fail(err, doc, "manifests: %zu entries (max %d)", json_array_size(arr),
				IMG_INDEX_ENTRIES_MAX);
	idx->entries = xcalloc(json_array_size(arr), sizeof(*idx->entries));
	for (i = 0; i < json_array_size(arr); i++) {
		char ctx[48];
		int r;

		snprintf(ctx, sizeof(ctx), "manifests[%zu]", i);
		idx->n_entries = i + 1;
		r = parse_index_entry(json_array_get(arr, i), &idx->entries[i], doc, ctx, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int img_index_parse(const char *data, size_t len, const char *content_type, struct img_index **out,
		    msb_error *err)
{
	_cleanup_json_ json_t *root = NULL;
	struct img_index *idx;
	int kind, r;

	*out = NULL;
	root = load_object(data, len, IMG_MANIFEST_MAX, "image index", err);
	if (!root)
		return -MSB_ERR_INVALID;
	kind = sniff_json(root, content_type, err);
	if (kind < 0)
		return kind;
	if (!mt_is_index(kind))
		return doc_fail(err, "image index", "expected an image index, got %s", img_mt_name(kind));
	idx = xcalloc(1, sizeof(*idx));
	r = index_parse_do(root, kind, idx, err);
	if (r < 0) {
		img_index_free(idx);
		return r;
	}
	*out = idx;
	return 0;
}

void img_index_free(struct img_index *idx)
{
	size_t i;

	if (!idx)
		return;
	for (i = 0; i < idx->n_entries; i++)
		descriptor_clear(&idx->entries[i].desc);
	free(idx->entries);
	free(idx);
}

/* Common aliases to OCI (GOARCH) names. */
static const char *arch_alias(const char *a)
{
	static const char *const alias[][2] = {
		{"x86_64", "amd64"}, {"x86-64", "amd64"}, {"aarch64", "arm64"}, {"i386", "386"}, {"i686", "386"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(alias); i++)
		if (strcmp(a, alias[i][0]) == 0)
			return alias[i][1];
	return a;
}

int img_platform_parse(const char *s, struct img_platform *out, msb_error *err)
{
	char *dst[] = {out->os, out->architecture, out->variant};
	const char *p = s, *alias;
	char q[300];
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < ARRAY_SIZE(dst); i++) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p), j;

		if (!platform_field_valid(p, n))
			return msb_err_set(err, MSB_ERR_INVALID, 0,
					   "invalid platform %s: expected OS/ARCH[/VARIANT], e.g. linux/arm64",
					   jq(q, sizeof(q), s));
		for (j = 0; j < n; j++)
			dst[i][j] = ascii_lower(p[j]);
		dst[i][n] = '\0';
		if (!slash) {
			if (i == 0)
				return msb_err_set(err, MSB_ERR_INVALID, 0,
						   "invalid platform %s: expected OS/ARCH[/VARIANT]", jq(q, sizeof(q), s));
			break;
		}
		if (i == ARRAY_SIZE(dst) - 1)
			return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid platform %s: too many '/'",
					   jq(q, sizeof(q), s));
		p = slash + 1;
	}
	alias = arch_alias(out->architecture);
	if (alias != out->architecture)
		snprintf(out->architecture, sizeof(out->architecture), "%s", alias);
	return 0;
}

void img_platform_host(struct img_platform *out)
{
	memset(out, 0, sizeof(*out));
	strcpy(out->os, "linux");
	strcpy(out->architecture, HOST_ARCH);
}

/* Variants equal, treating arm64 without a variant as arm64/v8. */
static bool variant_eq(const char *arch, const char *a, const char *b)
{
	if (strcmp(arch, "arm64") == 0) {
		if (!*a)
			a = "v8";
		if (!*b)
			b = "v8";
	}
	return strcmp(a, b) == 0;
}

static void list_platforms(const struct img_index *idx, char *buf, size_t size)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < idx->n_entries && o + 1 < size; i++) {
		const struct img_index_entry *e = &idx->entries[i];
		int n;
		if (e->attestation || !e->has_platform)
			continue;
		n = snprintf(buf + o, size - o, "%s%s/%s%s%s", o ? ", " : "", e->platform.os,
			     e->platform.architecture, *e->platform.variant ? "/" : "", e->platform.variant);
		if (n < 0)
			break;
		o += (size_t)n;
	}
	if (o >= size && size > 4)
		strcpy(buf + size - 4, "...");
	if (!buf[0])
		snprintf(buf, size, "none");
}

int img_index_select(const struct img_index *idx, const struct img_platform *want, msb_error *err)
{
	struct img_platform host;
	char avail[400];
	int first = -1;
	size_t i;

	if (!want) {
		img_platform_host(&host);
		want = &host;
	}
	for (i = 0; i < idx->n_entries; i++) {
		const struct img_index_entry *e = &idx->entries[i];

		if (e->attestation || !e->has_platform || !(mt_is_manifest(e->kind) || mt_is_index(e->kind)))
			continue;
		if (strcmp(e->platform.os, want->os) != 0 ||
		    strcmp(e->platform.architecture, want->architecture) != 0)
			continue;
		if (!*want->variant)
			return (int)i;
		if (variant_eq(want->architecture, e->platform.variant, want->variant))
			return (int)i;
		if (first < 0)
			first = (int)i;
	}
	if (first >= 0)
		return first;
	list_platforms(idx, avail, sizeof(avail));
	return msb_err_set(err, MSB_ERR_NOT_FOUND, 0, "no image for platform %s/%s%s%s in the index (available: %s)",
			   want->os, want->architecture, *want->variant ? "/" : "", want->variant, avail);
}

/* ---- manifests ------------------------------------------------------------ */

static int manifest_parse_do(json_t *root, int kind, struct img_manifest *m, msb_error *err)
{
	static const char doc[] = "image manifest";
	json_t *cfg = json_object_get(root, "config"), *arr = json_object_get(root, "layers");
	char q[300];
	size_t i;
	int r;

	m->media_type = kind;
	if (!cfg)
		return doc_fail(err, doc, "config: missing");
	r = parse_descriptor(cfg, IMG_CONFIG_MAX, &m->config, doc, "config", err);
	if (r < 0)
		return r;
	if (strcasecmp(m->config.media_type, IMG_MT_OCI_CONFIG_STR) != 0 &&
	    strcasecmp(m->config.media_type, IMG_MT_DOCKER_CONFIG_STR) != 0)
		return doc_fail(err, doc, "config.mediaType %s is not a container image config",
				jq(q, sizeof(q), m->config.media_type));
	if (!arr)
		return doc_fail(err, doc, "layers: missing");
	if (!json_is_array(arr))
		return doc_fail(err, doc, "layers: must be an array");
	if (json_array_size(arr) > IMG_LAYERS_MAX)
		return doc_fail(err, doc, "layers: %zu layers (max %d)", json_array_size(arr), IMG_LAYERS_MAX);
	m->layers = xcalloc(json_array_size(arr), sizeof(*m->layers));
	for (i = 0; i < json_array_size(arr); i++) {
		struct img_layer *l = &m->layers[i];
		msb_error cerr;
		char ctx[48];

		snprintf(ctx, sizeof(ctx), "layers[%zu]", i);
		m->n_layers = i + 1;
		r = parse_descriptor(json_array_get(arr, i), IMG_LAYER_SIZE_MAX, &l->desc, doc, ctx, err);
		if (r < 0)
			return r;
		r = img_layer_compression(l->desc.media_type, &cerr);
		if (r < 0)
			return doc_fail(err, doc, "%s.mediaType: %s", ctx, cerr.msg);
		l->compression = r;
		m->total_size += (uint64_t)l->desc.size;
	}
	return 0;
}

int img_manifest_parse(const char *data, size_t len, const char *content_type, struct img_manifest **out,
		       msb_error *err)
{
	_cleanup_json_ json_t *root = NULL;
	struct img_manifest *m;
	int kind, r;

	*out = NULL;
	root = load_object(data, len, IMG_MANIFEST_MAX, "image manifest", err);
	if (!root)
		return -MSB_ERR_INVALID;
	kind = sniff_json(root, content_type, err);
	if (kind < 0)
		return kind;
	if (!mt_is_manifest(kind))
		return doc_fail(err, "image manifest", "expected an image manifest, got %s", img_mt_name(kind));
	m = xcalloc(1, sizeof(*m));
	r = manifest_parse_do(root, kind, m, err);
	if (r < 0) {
		img_manifest_free(m);
		return r;
	}
	*out = m;
	return 0;
}

void img_manifest_free(struct img_manifest *m)
{
	size_t i;

	if (!m)
		return;
	descriptor_clear(&m->config);
	for (i = 0; i < m->n_layers; i++)
		descriptor_clear(&m->layers[i].desc);
	free(m->layers);
	free(m);
}

/* ---- image config --------------------------------------------------------- */

static void strv_free(char **v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * Copy a JSON array of strings (or, when @allow_string, a single string, as
 * docker's strslice accepts) into a NULL-terminated vector. Absent or null
 * gives an empty vector (NULL, 0).
 */
static int get_strv(json_t *obj, const char *key, bool allow_string, char ***out, size_t *n, const char *doc,
		    const char *ctx, msb_error *err)
{
	json_t *v = json_object_get(obj, key), *e;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!v || json_is_null(v))
		return 0;
	if (allow_string && json_is_string(v)) {
		*out = xcalloc(2, sizeof(char *));
		(*out)[0] = xstrdup(json_string_value(v));
		*n = 1;
		return 0;
	}
	if (!json_is_array(v))
		return doc_fail(err, doc, "%s.%s: must be an array of strings", ctx, key);
	*out = xcalloc(json_array_size(v) + 1, sizeof(char *));
	json_array_foreach (v, i, e) {
		if (!json_is_string(e))
			return doc_fail(err, doc, "%s.%s[%zu]: must be a string", ctx, key, i);
		(*out)[i] = xstrdup(json_string_value(e));
		*n = i + 1;
	}
	return 0;
}

/* Optional string: NULL when absent, null or empty. */
static int get_opt_str(json_t *obj, const char *key, char **out, const char *doc, const char *ctx,
		       msb_error *err)
{
	const char *v;
	int r = get_str(obj, key, false, &v, doc, ctx, err);

	if (r < 0)
		return r;
	*out = v && *v ? xstrdup(v) : NULL;
	return 0;
}

static int parse_labels(json_t *c, struct img_config *cfg, const char *doc, msb_error *err)
{
	json_t *labels = json_object_get(c, "Labels"), *v;
	const char *k;
	size_t i = 0;

	if (!labels || json_is_null(labels))
		return 0;
	if (!json_is_object(labels))
		return doc_fail(err, doc, "config.Labels: must be an object");
	cfg->labels = xcalloc(json_object_size(labels), sizeof(*cfg->labels));
	json_object_foreach (labels, k, v) {
		char q[300];
		if (!json_is_string(v))
			return doc_fail(err, doc, "config.Labels[%s]: must be a string", jq(q, sizeof(q), k));
		cfg->labels[i].key = xstrdup(k);
		cfg->labels[i].value = xstrdup(json_string_value(v));
		cfg->n_labels = ++i;
	}
	return 0;
}

/* The "config" object: the runtime defaults of the image. */
static int parse_exec_config(json_t *c, struct img_config *cfg, const char *doc, msb_error *err)
{
	size_t i;
	int r;

	if (!c || json_is_null(c))
		return 0;
	if (!json_is_object(c))
		return doc_fail(err, doc, "config: must be an object");
	r = get_strv(c, "Env", false, &cfg->env, &cfg->n_env, doc, "config", err);
	for (i = 0; r == 0 && i < cfg->n_env; i++) {
		const char *eq = strchr(cfg->env[i], '=');
		char q[300];
		if (!eq || eq == cfg->env[i])
			return doc_fail(err, doc, "config.Env[%zu]: %s is not KEY=VALUE", i,
					jq(q, sizeof(q), cfg->env[i]));
	}
	if (r == 0)
		r = get_strv(c, "Entrypoint", true, &cfg->entrypoint, &cfg->n_entrypoint, doc, "config", err);
	if (r == 0)
		r = get_strv(c, "Cmd", true, &cfg->cmd, &cfg->n_cmd, doc, "config", err);
	if (r == 0)
		r = get_opt_str(c, "WorkingDir", &cfg->working_dir, doc, "config", err);
	if (r == 0)
		r = get_opt_str(c, "User", &cfg->user, doc, "config", err);
	if (r == 0)
		r = get_opt_str(c, "StopSignal", &cfg->stop_signal, doc, "config", err);
	if (r == 0)
		r = parse_labels(c, cfg, doc, err);
	return r;
}

static int parse_rootfs(json_t *root, struct img_config *cfg, const struct img_manifest *m, const char *doc,
			msb_error *err)
{
	json_t *rootfs = json_object_get(root, "rootfs");
	const char *type;
	size_t i;
	int r;

	if (!rootfs)
		return doc_fail(err, doc, "rootfs: missing");
	if (!json_is_object(rootfs))
		return doc_fail(err, doc, "rootfs: must be an object");
	r = get_str(rootfs, "type", true, &type, doc, "rootfs", err);
	if (r < 0)
		return r;
	if (!type || strcmp(type, "layers") != 0) {
		char q[300];
		return doc_fail(err, doc, "rootfs.type: must be \"layers\", not %s", jq(q, sizeof(q), type ? type : ""));
	}
	if (!json_object_get(rootfs, "diff_ids"))
		return doc_fail(err, doc, "rootfs.diff_ids: missing");
	r = get_strv(rootfs, "diff_ids", false, &cfg->diff_ids, &cfg->n_diff_ids, doc, "rootfs", err);
	if (r < 0)
		return r;
	if (cfg->n_diff_ids > IMG_LAYERS_MAX)
		return doc_fail(err, doc, "rootfs.diff_ids: %zu entries (max %d)", cfg->n_diff_ids, IMG_LAYERS_MAX);
	for (i = 0; i < cfg->n_diff_ids; i++) {
		msb_error derr;
		if (img_digest_check(cfg->diff_ids[i], &derr) < 0)
			return doc_fail(err, doc, "rootfs.diff_ids[%zu]: %s", i, derr.msg);
	}
	if (m && cfg->n_diff_ids != m->n_layers)
		return doc_fail(err, doc, "rootfs.diff_ids has %zu entries but the manifest has %zu layers",
				cfg->n_diff_ids, m->n_layers);
	return 0;
}

static int config_parse_do(json_t *root, const struct img_manifest *m, struct img_config *cfg, msb_error *err)
{
	static const char doc[] = "image config";
	const char *os = NULL, *arch = NULL;
	char q[300];
	int r;

	r = get_str_nonempty(root, "os", &os, doc, "", err);
	if (r == 0)
		r = get_str_nonempty(root, "architecture", &arch, doc, "", err);
	if (r < 0)
		return r;
	if (!platform_field_valid(os, strlen(os)))
		return doc_fail(err, doc, "os: invalid value %s", jq(q, sizeof(q), os));
	if (!platform_field_valid(arch, strlen(arch)))
		return doc_fail(err, doc, "architecture: invalid value %s", jq(q, sizeof(q), arch));
	cfg->os = xstrdup(os);
	cfg->architecture = xstrdup(arch);
	r = get_opt_str(root, "variant", &cfg->variant, doc, "", err);
	if (r == 0)
		r = parse_exec_config(json_object_get(root, "config"), cfg, doc, err);
	if (r == 0)
		r = parse_rootfs(root, cfg, m, doc, err);
	return r;
}

int img_config_parse(const char *data, size_t len, const struct img_manifest *m, struct img_config **out,
		     msb_error *err)
{
	_cleanup_json_ json_t *root = NULL;
	struct img_config *cfg;
	int r;

	*out = NULL;
	root = load_object(data, len, IMG_CONFIG_MAX, "image config", err);
	if (!root)
		return -MSB_ERR_INVALID;
	cfg = xcalloc(1, sizeof(*cfg));
	r = config_parse_do(root, m, cfg, err);
	if (r < 0) {
		img_config_free(cfg);
		return r;
	}
	*out = cfg;
	return 0;
}

void img_config_free(struct img_config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	free(cfg->os);
	free(cfg->architecture);
	free(cfg->variant);
	strv_free(cfg->env, cfg->n_env);
	strv_free(cfg->entrypoint, cfg->n_entrypoint);
	strv_free(cfg->cmd, cfg->n_cmd);
	free(cfg->working_dir);
	free(cfg->user);
	free(cfg->stop_signal);
	for (i = 0; i < cfg->n_labels; i++) {
		free(cfg->labels[i].key);
		free(cfg->labels[i].value);
	}
	free(cfg->labels);
	strv_free(cfg->diff_ids, cfg->n_diff_ids);
	free(cfg);
}
