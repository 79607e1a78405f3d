// SPDX-License-Identifier: Apache-2.0
/*
 * test_manifest.c - manifests, indexes and configs as JSON strings: digest
 * and media type helpers, type sniffing (Content-Type agreement, ambiguity,
 * schema 1), platform selection (attestations, variants, no match), manifest
 * validation (descriptors, limits, layer compression) and image configs
 * (fields, diff_id count). JSON in this file uses single quotes for
 * readability; J() turns them into double quotes.
 */
#include <stdio.h>

#include "image/manifest.h"
#include "tap.h"
#include "util.h"

#define H16(c) c c c c c c c c c c c c c c c c
#define H64(c) H16(c) H16(c) H16(c) H16(c)
#define D1     "sha256:" H64("1")
#define D2     "sha256:" H64("2")
#define D3     "sha256:" H64("3")
#define D4     "sha256:" H64("4")
#define DC     "sha256:" H64("c")

#define OCI_LAYER_GZ "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_LAYER_ZS "application/vnd.oci.image.layer.v1.tar+zstd"
#define DK_LAYER     "application/vnd.docker.image.rootfs.diff.tar.gzip"

static char *ring[8];

/* Single-quoted JSON to real JSON; the result is owned by a small ring. */
static const char *J(const char *s)
{
	static unsigned n;
	char *d = xstrdup(s), *p;

	for (p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	free(ring[n % 8]);
	ring[n++ % 8] = d;
	return d;
}

static int sniff(const char *sq, const char *ct, msb_error *err)
{
	const char *j = J(sq);
	return img_manifest_sniff(j, strlen(j), ct, err);
}

static int mparse(const char *sq, const char *ct, struct img_manifest **m, msb_error *err)
{
	const char *j = J(sq);
	return img_manifest_parse(j, strlen(j), ct, m, err);
}

static int iparse(const char *sq, const char *ct, struct img_index **idx, msb_error *err)
{
	const char *j = J(sq);
	return img_index_parse(j, strlen(j), ct, idx, err);
}

static int cparse(const char *sq, const struct img_manifest *m, struct img_config **c, msb_error *err)
{
	const char *j = J(sq);
	return img_config_parse(j, strlen(j), m, c, err);
}

/* Expect failure with @code and a message containing @sub. */
#define FAILS(expr, ecode, sub, ...)                                                                          \
	do {                                                                                                  \
		msb_error _e = {0};                                                                           \
		msb_error *ferr = &_e;                                                                        \
		int _r = (expr);                                                                              \
		ok(_r == -(ecode) && _e.code == (ecode) && strstr(_e.msg, sub), __VA_ARGS__);                 \
		if (!strstr(_e.msg, sub))                                                                     \
			printf("#   message: %s\n#   wanted:  %s\n", _e.msg, sub);                        \
	} while (0)

static void test_digest(void)
{
	msb_error err = {0};

	ok(img_digest_check(D1, &err) == 0, "valid digest");
	ok(img_digest_valid(DC), "valid digest (hex letters)");
	ok(!img_digest_valid(NULL) && !img_digest_valid("") && !img_digest_valid("sha256:"), "empty digests");
	ok(!img_digest_valid("sha256:" H64("A")), "uppercase hex rejected");
	ok(!img_digest_valid("sha256:" H64("1") "1") && !img_digest_valid("sha256:" H16("1")), "wrong length");
	ok(!img_digest_valid("SHA256:" H64("1")), "algorithm is case-sensitive");
	ok(!img_digest_valid(H64("1")), "bare hex is not a digest");
	ok(!img_digest_valid("sha256:" H64("g")), "non-hex rejected");
	FAILS(img_digest_check("sha512:" H64("1") H64("1"), ferr), MSB_ERR_INVALID,
	      "unsupported digest algorithm \"sha512\"", "sha512 named as unsupported");
	FAILS(img_digest_check("sha256:1234", ferr), MSB_ERR_INVALID, "4 hex digits, expected 64",
	      "short digest counted");
	FAILS(img_digest_check("sha256:" H16("1") "\n", ferr), MSB_ERR_INVALID, "\\x0a", "control bytes escaped");
}

static void test_media_types(void)
{
	msb_error err = {0};

	is_int(img_mt_from_string(IMG_MT_OCI_INDEX_STR), IMG_MT_OCI_INDEX, "OCI index type");
	is_int(img_mt_from_string(" application/vnd.OCI.image.manifest.v1+json ; charset=utf-8"),
	       IMG_MT_OCI_MANIFEST, "parameters, blanks and case ignored");
	is_int(img_mt_from_string(IMG_MT_DOCKER_LIST_STR), IMG_MT_DOCKER_LIST, "docker list type");
	is_int(img_mt_from_string(IMG_MT_DOCKER_MANIFEST_STR), IMG_MT_DOCKER_MANIFEST, "docker manifest type");
	is_int(img_mt_from_string("application/json"), IMG_MT_UNKNOWN, "generic JSON is unknown");
	is_int(img_mt_from_string(NULL), IMG_MT_UNKNOWN, "NULL is unknown");
	is_int(img_mt_from_string(IMG_MT_OCI_INDEX_STR "x"), IMG_MT_UNKNOWN, "no prefix matching");
	is_str(img_mt_name(IMG_MT_DOCKER_LIST), IMG_MT_DOCKER_LIST_STR, "mt name");
	is_str(img_mt_name(99), "unknown", "mt name out of range");

	is_int(img_layer_compression(OCI_LAYER_GZ, &err), IMG_COMP_GZIP, "oci gzip layer");
	is_int(img_layer_compression(OCI_LAYER_ZS, &err), IMG_COMP_ZSTD, "oci zstd layer");
	is_int(img_layer_compression("application/vnd.oci.image.layer.v1.tar", &err), IMG_COMP_NONE, "oci tar");
	is_int(img_layer_compression(DK_LAYER, &err), IMG_COMP_GZIP, "docker gzip layer");
	is_int(img_layer_compression("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", &err),
	       IMG_COMP_GZIP, "docker foreign layer");
	is_int(img_layer_compression("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", &err),
	       IMG_COMP_ZSTD, "oci non-distributable zstd");
	FAILS(img_layer_compression("application/vnd.oci.image.layer.v1.tar+bzip2", ferr), MSB_ERR_INVALID,
	      "unsupported layer media type \"application/vnd.oci.image.layer.v1.tar+bzip2\"", "bzip2 rejected");
	FAILS(img_layer_compression("application/vnd.oci.image.layer.v1.tar+gzip+encrypted", ferr),
	      MSB_ERR_INVALID, "encrypted layers are not supported", "encrypted layer rejected");
	FAILS(img_layer_compression("text/plain", ferr), MSB_ERR_INVALID, "unsupported layer media type",
	      "non-layer rejected");
}

#define MANIFEST_BODY                                                                                         \
	"'config':{'mediaType':'application/vnd.oci.image.config.v1+json','digest':'" DC "','size':1234},"    \
	"'layers':[{'mediaType':'" OCI_LAYER_GZ "','digest':'" D1 "','size':100},"                            \
	"{'mediaType':'" OCI_LAYER_ZS "','digest':'" D2 "','size':200,'urls':['https://x']}]"
#define OCI_MANIFEST "{'schemaVersion':2," MANIFEST_BODY "}"
#define OCI_MANIFEST_MT "{'schemaVersion':2,'mediaType':'" IMG_MT_OCI_MANIFEST_STR "'," MANIFEST_BODY "}"

#define ENTRY(digest, plat) "{'mediaType':'" IMG_MT_OCI_MANIFEST_STR "','digest':'" digest "','size':500" plat "}"
#define PLAT(os, arch) ",'platform':{'os':'" os "','architecture':'" arch "'}"
#define PLATV(os, arch, v) ",'platform':{'os':'" os "','architecture':'" arch "','variant':'" v "'}"
#define ATTEST_ANN ",'annotations':{'vnd.docker.reference.type':'attestation-manifest','vnd.docker.reference.digest':'" D1 "'}"

static void test_sniff(void)
{
	const char *ct_list = IMG_MT_DOCKER_LIST_STR;

	is_int(sniff(OCI_MANIFEST, NULL, NULL), IMG_MT_OCI_MANIFEST, "manifest sniffed from shape");
	is_int(sniff("{'schemaVersion':2,'manifests':[]}", NULL, NULL), IMG_MT_OCI_INDEX, "index sniffed from shape");
	is_int(sniff("{'schemaVersion':2,'mediaType':'" IMG_MT_DOCKER_LIST_STR "','manifests':[]}", NULL, NULL),
	       IMG_MT_DOCKER_LIST, "docker list from mediaType");
	is_int(sniff("{'schemaVersion':2,'manifests':[]}", ct_list, NULL), IMG_MT_DOCKER_LIST,
	       "Content-Type decides when the document has no mediaType");
	is_int(sniff(OCI_MANIFEST, "application/json; charset=utf-8", NULL), IMG_MT_OCI_MANIFEST,
	       "generic Content-Type falls back to sniffing");
	is_int(sniff(OCI_MANIFEST_MT, IMG_MT_OCI_MANIFEST_STR, NULL), IMG_MT_OCI_MANIFEST, "agreeing types");
	FAILS(sniff(OCI_MANIFEST_MT, IMG_MT_OCI_INDEX_STR, ferr), MSB_ERR_INVALID,
	      "Content-Type " IMG_MT_OCI_INDEX_STR " does not match", "Content-Type disagreeing with mediaType");
	FAILS(sniff("{'schemaVersion':1,'name':'x','tag':'y','fsLayers':[]}", NULL, ferr), MSB_ERR_INVALID,
	      "schema 1 is not supported", "schema 1 rejected");
	FAILS(sniff("{'schemaVersion':2,'layers':[]}", "application/vnd.docker.distribution.manifest.v1+prettyjws",
		    ferr),
	      MSB_ERR_INVALID, "schema 1", "schema 1 Content-Type rejected");
	FAILS(sniff("{'schemaVersion':2,'manifests':[]," MANIFEST_BODY "}", NULL, ferr), MSB_ERR_INVALID,
	      "ambiguous", "index + manifest fields rejected (CVE-2021-41190)");
	FAILS(sniff("{'schemaVersion':2,'mediaType':'" IMG_MT_OCI_INDEX_STR "','layers':[]}", NULL, ferr),
	      MSB_ERR_INVALID, "has \"config\"/\"layers\"", "index with layers rejected");
	FAILS(sniff("{'schemaVersion':2,'manifests':[]}", IMG_MT_OCI_MANIFEST_STR, ferr), MSB_ERR_INVALID,
	      "has \"manifests\"", "manifest Content-Type on an index rejected");
	FAILS(sniff("{'mediaType':'" IMG_MT_OCI_MANIFEST_STR "','layers':[]}", NULL, ferr), MSB_ERR_INVALID,
	      "schemaVersion: missing", "missing schemaVersion");
	FAILS(sniff("{'schemaVersion':'2','layers':[]}", NULL, ferr), MSB_ERR_INVALID, "schemaVersion: must be 2",
	      "string schemaVersion");
	FAILS(sniff("{'schemaVersion':3,'layers':[]}", NULL, ferr), MSB_ERR_INVALID, "must be 2", "schemaVersion 3");
	FAILS(sniff("{'schemaVersion':2,'mediaType':'application/vnd.oci.artifact.manifest.v1+json'}", NULL, ferr),
	      MSB_ERR_INVALID, "unsupported media type \"application/vnd.oci.artifact.manifest.v1+json\"",
	      "artifact manifest rejected");
	FAILS(sniff("{'schemaVersion':2,'mediaType':5,'layers':[]}", NULL, ferr), MSB_ERR_INVALID,
	      "mediaType: must be a string", "numeric mediaType");
	FAILS(sniff("{'schemaVersion':2}", NULL, ferr), MSB_ERR_INVALID, "cannot tell", "shapeless document");
	FAILS(sniff("[1,2]", NULL, ferr), MSB_ERR_INVALID, "not a JSON object", "array top level");
	FAILS(sniff("{'schemaVersion':2,", NULL, ferr), MSB_ERR_INVALID, "not valid JSON", "truncated JSON");
	FAILS(sniff("{'schemaVersion':2,'layers':[],'layers':[]}", NULL, ferr), MSB_ERR_INVALID,
	      "duplicate", "duplicate keys rejected");
	FAILS(img_manifest_sniff("{\"a\":\"\\u0000\"}", 14, NULL, ferr), MSB_ERR_INVALID, "not valid JSON",
	      "NUL in a JSON string rejected");
	FAILS(img_manifest_sniff("", 0, NULL, ferr), MSB_ERR_INVALID, "not valid JSON", "empty input");
	FAILS(img_manifest_sniff("{}", (size_t)IMG_MANIFEST_MAX + 1, NULL, ferr), MSB_ERR_INVALID,
	      "(max 4194304)", "oversized document rejected before parsing");
}

#define MULTI_INDEX                                                                                           \
	"{'schemaVersion':2,'mediaType':'" IMG_MT_DOCKER_LIST_STR "','manifests':["                           \
	"{'mediaType':'" IMG_MT_DOCKER_MANIFEST_STR "','digest':'" D1 "','size':500" PLAT("unknown", "unknown") \
		ATTEST_ANN "},"                                                                               \
	"{'mediaType':'" IMG_MT_DOCKER_MANIFEST_STR "','digest':'" D2 "','size':501" PLAT("linux", "amd64") "}," \
	"{'mediaType':'" IMG_MT_DOCKER_MANIFEST_STR "','digest':'" D3 "','size':502" PLATV("linux", "arm64",  \
											   "v8") "},"          \
	"{'mediaType':'" IMG_MT_DOCKER_MANIFEST_STR "','digest':'" D4 "','size':503" PLATV("linux", "arm",    \
											   "v6") "},"          \
	"{'mediaType':'" IMG_MT_DOCKER_MANIFEST_STR "','digest':'" DC "','size':504" PLATV("linux", "arm",    \
											   "v7") "}]}"

static int select_for(const struct img_index *idx, const char *plat, msb_error *err)
{
	struct img_platform p;
	int r = img_platform_parse(plat, &p, err);
	return r < 0 ? r : img_index_select(idx, &p, err);
}

static void test_index(void)
{
	struct img_index *idx = NULL;
	struct img_platform host;
	msb_error err = {0};

	ok(iparse(MULTI_INDEX, NULL, &idx, &err) == 0, "multi-platform manifest list parses: %s", err.msg);
	is_int(idx->media_type, IMG_MT_DOCKER_LIST, "  media type");
	is_int(idx->n_entries, 5, "  five entries");
	ok(idx->entries[0].attestation && !idx->entries[1].attestation, "  attestation flagged");
	is_str(idx->entries[2].platform.variant, "v8", "  variant read");
	is_str(idx->entries[4].desc.digest, DC, "  digest read");
	is_int(idx->entries[4].desc.size, 504, "  size read");
	is_int(idx->entries[1].kind, IMG_MT_DOCKER_MANIFEST, "  entry kind");
	is_int(select_for(idx, "linux/amd64", &err), 1, "linux/amd64 selected, attestation skipped");
	is_int(select_for(idx, "linux/arm64", &err), 2, "linux/arm64 selected");
	is_int(select_for(idx, "linux/arm64/v8", &err), 2, "linux/arm64/v8 selected");
	is_int(select_for(idx, "linux/aarch64", &err), 2, "aarch64 alias");
	is_int(select_for(idx, "linux/arm/v7", &err), 4, "exact variant wins over an earlier arch match");
	is_int(select_for(idx, "linux/arm/v6", &err), 3, "linux/arm/v6 selected");
	is_int(select_for(idx, "linux/arm/v5", &err), 3, "no exact variant: first arch match");
	is_int(select_for(idx, "linux/arm", &err), 3, "no variant requested: first arch match");
	FAILS(select_for(idx, "linux/s390x", ferr), MSB_ERR_NOT_FOUND,
	      "no image for platform linux/s390x in the index (available: linux/amd64, linux/arm64/v8, "
	      "linux/arm/v6, linux/arm/v7)",
	      "no match lists what is available (without the attestation)");
	FAILS(select_for(idx, "windows/amd64", ferr), MSB_ERR_NOT_FOUND, "windows/amd64", "os must match");
	FAILS(select_for(idx, "unknown/unknown", ferr), MSB_ERR_NOT_FOUND, "unknown/unknown",
	      "attestations are never selected");
	img_platform_host(&host);
	is_str(host.os, "linux", "host os");
	if (strcmp(host.architecture, "amd64") == 0)
		is_int(img_index_select(idx, NULL, &err), 1, "NULL platform = host (linux/amd64)");
	else
		ok(img_index_select(idx, NULL, &err) != 1 || strcmp(host.architecture, "amd64") == 0,
		   "NULL platform = host (%s)", host.architecture);
	img_index_free(idx);

	/* an attestation with a real-looking platform is still skipped by its annotation */
	ok(iparse("{'schemaVersion':2,'manifests':[" ENTRY(D1, PLAT("linux", "amd64") ATTEST_ANN) "," ENTRY(
			  D2, PLAT("linux", "amd64")) "]}",
		  NULL, &idx, &err) == 0,
	   "OCI index without mediaType parses");
	is_int(idx->media_type, IMG_MT_OCI_INDEX, "  sniffed as OCI index");
	is_int(img_index_select(idx, &(struct img_platform){"linux", "amd64", ""}, &err), 1,
	       "attestation annotation skipped even with a platform");
	img_index_free(idx);

	/* entries that are not images, or have no platform, are never chosen */
	ok(iparse("{'schemaVersion':2,'manifests':["
		  "{'mediaType':'application/vnd.example.sbom+json','digest':'" D1 "','size':1" PLAT("linux", "amd64") "},"
		  ENTRY(D2, "") "," ENTRY(D3, PLAT("linux", "amd64")) "]}",
		  NULL, &idx, &err) == 0,
	   "index with an artifact and a platform-less entry parses");
	is_int(img_index_select(idx, &(struct img_platform){"linux", "amd64", ""}, &err), 2,
	       "artifact and platform-less entries skipped");
	img_index_free(idx);

	/* a nested index is selectable; the caller recurses */
	ok(iparse("{'schemaVersion':2,'manifests':[{'mediaType':'" IMG_MT_OCI_INDEX_STR "','digest':'" D1
		  "','size':10" PLAT("linux", "amd64") "}]}",
		  NULL, &idx, &err) == 0,
	   "nested index entry parses");
	is_int(img_index_select(idx, &(struct img_platform){"linux", "amd64", ""}, &err), 0, "nested index selected");
	is_int(idx->entries[0].kind, IMG_MT_OCI_INDEX, "  its kind says index");
	img_index_free(idx);

	ok(iparse("{'schemaVersion':2,'manifests':[]}", NULL, &idx, &err) == 0, "empty index parses");
	FAILS(img_index_select(idx, NULL, ferr), MSB_ERR_NOT_FOUND, "available: none", "empty index selects nothing");
	img_index_free(idx);

	ok(iparse("{'schemaVersion':2,'manifests':[" ENTRY(D1, PLATV("linux", "arm64", "")) "]}", NULL, &idx,
		  &err) == 0,
	   "empty variant accepted as no variant");
	is_int(select_for(idx, "linux/arm64/v8", &err), 0, "arm64 without variant matches arm64/v8");
	img_index_free(idx);
}

static void test_index_errors(void)
{
	struct img_index *idx = (struct img_index *)1;
	struct buf b = {0};
	size_t i;

	FAILS(iparse("{'schemaVersion':2,'manifests':[" ENTRY(D1, PLAT("linux", "amd64")) ",{'mediaType':'"
		     IMG_MT_OCI_MANIFEST_STR "','digest':'sha256:abc','size':1}]}", NULL, &idx, ferr),
	      MSB_ERR_INVALID, "invalid image index: manifests[1].digest: invalid digest \"sha256:abc\"",
	      "bad digest names the entry");
	ok(idx == NULL, "  output NULL on failure");
	FAILS(iparse("{'schemaVersion':2,'manifests':[{'mediaType':'" IMG_MT_OCI_MANIFEST_STR "','digest':'" D1
		     "'}]}", NULL, &idx, ferr),
	      MSB_ERR_INVALID, "manifests[0].size: missing", "missing size");
	FAILS(iparse("{'schemaVersion':2,'manifests':[{'mediaType':'" IMG_MT_OCI_MANIFEST_STR "','digest':'" D1
		     "','size':-1}]}", NULL, &idx, ferr),
	      MSB_ERR_INVALID, "manifests[0].size: must be a non-negative integer (got -1)", "negative size");
	FAILS(iparse("{'schemaVersion':2,'manifests':[{'mediaType':'" IMG_MT_OCI_MANIFEST_STR "','digest':'" D1
		     "','size':1.5}]}", NULL, &idx, ferr),
	      MSB_ERR_INVALID, "must be a non-negative integer", "fractional size");
	FAILS(iparse("{'schemaVersion':2,'manifests':[{'mediaType':'" IMG_MT_OCI_MANIFEST_STR "','digest':'" D1
		     "','size':99999999}]}", NULL, &idx, ferr),
	      MSB_ERR_INVALID, "exceeds the limit", "manifest size above the manifest limit");
	FAILS(iparse("{'schemaVersion':2,'manifests':[{'digest':'" D1 "','size':1}]}", NULL, &idx, ferr),
	      MSB_ERR_INVALID, "manifests[0].mediaType: missing", "missing mediaType");
	FAILS(iparse("{'schemaVersion':2,'manifests':[{'mediaType':'bogus','digest':'" D1 "','size':1}]}", NULL,
		     &idx, ferr),
	      MSB_ERR_INVALID, "malformed media type \"bogus\"", "malformed mediaType");
	FAILS(iparse("{'schemaVersion':2,'manifests':[" ENTRY(D1, ",'platform':{'os':'linux'}") "]}", NULL, &idx, ferr),
	      MSB_ERR_INVALID, "manifests[0].platform.architecture", "platform without architecture");
	FAILS(iparse("{'schemaVersion':2,'manifests':[" ENTRY(D1, PLAT("linux", "amd/64")) "]}", NULL, &idx, ferr),
	      MSB_ERR_INVALID, "invalid value \"amd/64\"", "platform field with '/'");
	FAILS(iparse("{'schemaVersion':2,'manifests':[" ENTRY(D1, ",'platform':'linux/amd64'") "]}", NULL, &idx, ferr),
	      MSB_ERR_INVALID, "platform: must be an object", "platform as a string");
	FAILS(iparse("{'schemaVersion':2,'manifests':[" ENTRY(D1, ",'annotations':[]") "]}", NULL, &idx, ferr),
	      MSB_ERR_INVALID, "annotations: must be an object", "annotations as an array");
	FAILS(iparse("{'schemaVersion':2,'manifests':{}}", NULL, &idx, ferr), MSB_ERR_INVALID,
	      "manifests: must be an array", "manifests as an object");
	FAILS(iparse("{'schemaVersion':2,'manifests':[5]}", NULL, &idx, ferr), MSB_ERR_INVALID,
	      "manifests[0]: must be an object", "entry not an object");
	FAILS(iparse(OCI_MANIFEST, NULL, &idx, ferr), MSB_ERR_INVALID, "expected an image index, got " IMG_MT_OCI_MANIFEST_STR,
	      "a manifest is not an index");

	buf_printf(&b, "{\"schemaVersion\":2,\"manifests\":[");
	for (i = 0; i <= IMG_INDEX_ENTRIES_MAX; i++)
		buf_printf(&b, "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":1}", i ? "," : "",
			   IMG_MT_OCI_MANIFEST_STR, D1);
	buf_printf(&b, "]}");
	FAILS(img_index_parse(b.data, b.len, NULL, &idx, ferr), MSB_ERR_INVALID, "1025 entries (max 1024)",
	      "too many index entries");
	buf_free(&b);
}

static void test_platform(void)
{
	struct img_platform p;

	ok(img_platform_parse("linux/amd64", &p, NULL) == 0 && !strcmp(p.os, "linux") &&
		   !strcmp(p.architecture, "amd64") && !p.variant[0],
	   "linux/amd64");
	ok(img_platform_parse("linux/arm64/v8", &p, NULL) == 0 && !strcmp(p.variant, "v8"), "linux/arm64/v8");
	ok(img_platform_parse("Linux/X86_64", &p, NULL) == 0 && !strcmp(p.os, "linux") &&
		   !strcmp(p.architecture, "amd64"),
	   "case folded, x86_64 alias");
	FAILS(img_platform_parse("linux", &p, ferr), MSB_ERR_INVALID, "expected OS/ARCH", "os alone");
	FAILS(img_platform_parse("linux/", &p, ferr), MSB_ERR_INVALID, "invalid platform \"linux/\"", "empty arch");
	FAILS(img_platform_parse("a/b/c/d", &p, ferr), MSB_ERR_INVALID, "too many '/'", "four parts");
	FAILS(img_platform_parse("", &p, ferr), MSB_ERR_INVALID, "invalid platform", "empty");
	FAILS(img_platform_parse("linux/a b", &p, ferr), MSB_ERR_INVALID, "invalid platform", "space");
}

static void test_manifest(void)
{
	struct img_manifest *m = NULL;
	msb_error err = {0};

	ok(mparse(OCI_MANIFEST, NULL, &m, &err) == 0, "OCI manifest parses: %s", err.msg);
	is_int(m->media_type, IMG_MT_OCI_MANIFEST, "  type");
	is_str(m->config.digest, DC, "  config digest");
	is_int(m->config.size, 1234, "  config size");
	is_int(m->n_layers, 2, "  two layers");
	is_str(m->layers[0].desc.digest, D1, "  layer 0 digest");
	is_int(m->layers[0].compression, IMG_COMP_GZIP, "  layer 0 gzip");
	is_int(m->layers[1].compression, IMG_COMP_ZSTD, "  layer 1 zstd");
	is_int(m->layers[1].desc.size, 200, "  layer 1 size");
	is_int(m->total_size, 300, "  total size");
	img_manifest_free(m);

	ok(mparse("{'schemaVersion':2,'mediaType':'" IMG_MT_DOCKER_MANIFEST_STR "','config':{'mediaType':'"
		  IMG_MT_DOCKER_CONFIG_STR "','digest':'" DC "','size':7},'layers':[{'mediaType':'" DK_LAYER
		  "','digest':'" D1 "','size':0}]}",
		  IMG_MT_DOCKER_MANIFEST_STR, &m, &err) == 0,
	   "Docker v2 schema 2 manifest parses: %s", err.msg);
	is_int(m->media_type, IMG_MT_DOCKER_MANIFEST, "  type");
	is_int(m->layers[0].compression, IMG_COMP_GZIP, "  docker gzip layer");
	is_int(m->layers[0].desc.size, 0, "  zero-size layer allowed");
	img_manifest_free(m);

	ok(mparse("{'schemaVersion':2,'config':{'mediaType':'" IMG_MT_OCI_CONFIG_STR "','digest':'" DC
		  "','size':7},'layers':[]}",
		  NULL, &m, &err) == 0 &&
		   m->n_layers == 0,
	   "manifest without layers parses");
	img_manifest_free(m);
}

#define CFG_OK "'config':{'mediaType':'" IMG_MT_OCI_CONFIG_STR "','digest':'" DC "','size':7}"
#define LAYER(mt, d, size) "{'mediaType':'" mt "','digest':'" d "','size':" size "}"

static void test_manifest_errors(void)
{
	struct img_manifest *m = (struct img_manifest *)1;
	struct buf b = {0};
	size_t i;

	FAILS(mparse("{'schemaVersion':2,'layers':[]}", NULL, &m, ferr), MSB_ERR_INVALID,
	      "invalid image manifest: config: missing", "missing config");
	ok(m == NULL, "  output NULL on failure");
	FAILS(mparse("{'schemaVersion':2,'config':{'mediaType':'application/vnd.cncf.helm.config.v1+json','digest':'" DC
		     "','size':7},'layers':[]}", NULL, &m, ferr),
	      MSB_ERR_INVALID, "config.mediaType \"application/vnd.cncf.helm.config.v1+json\" is not a container image",
	      "non-image config rejected");
	FAILS(mparse("{'schemaVersion':2," CFG_OK "}", NULL, &m, ferr), MSB_ERR_INVALID, "layers: missing",
	      "missing layers");
	FAILS(mparse("{'schemaVersion':2," CFG_OK ",'layers':{}}", NULL, &m, ferr), MSB_ERR_INVALID,
	      "layers: must be an array", "layers not an array");
	FAILS(mparse("{'schemaVersion':2," CFG_OK ",'layers':[{'digest':'" D1 "','size':1}]}", NULL, &m, ferr),
	      MSB_ERR_INVALID, "layers[0].mediaType: missing", "layer without mediaType");
	FAILS(mparse("{'schemaVersion':2," CFG_OK ",'layers':[" LAYER(OCI_LAYER_GZ, D1, "1") "," LAYER(
		     OCI_LAYER_GZ, "sha256:" H64("Z"), "1") "]}", NULL, &m, ferr),
	      MSB_ERR_INVALID, "layers[1].digest: invalid digest", "bad layer digest names the layer");
	FAILS(mparse("{'schemaVersion':2," CFG_OK ",'layers':[" LAYER(OCI_LAYER_GZ, D1, "-5") "]}", NULL, &m, ferr),
	      MSB_ERR_INVALID, "layers[0].size: must be a non-negative integer", "negative layer size");
	FAILS(mparse("{'schemaVersion':2," CFG_OK ",'layers':[" LAYER(OCI_LAYER_GZ, D1, "'12'") "]}", NULL, &m, ferr),
	      MSB_ERR_INVALID, "layers[0].size: must be a non-negative integer", "string layer size");
	FAILS(mparse("{'schemaVersion':2," CFG_OK ",'layers':[" LAYER(OCI_LAYER_GZ, D1, "10737418241") "]}", NULL,
		     &m, ferr),
	      MSB_ERR_INVALID, "exceeds the limit", "layer over 10 GiB");
	FAILS(mparse("{'schemaVersion':2," CFG_OK ",'layers':[" LAYER(OCI_LAYER_GZ, D1,
								     "99999999999999999999999") "]}",
		     NULL, &m, ferr),
	      MSB_ERR_INVALID, "not valid JSON", "integer overflow in size");
	FAILS(mparse("{'schemaVersion':2," CFG_OK ",'layers':[" LAYER("application/vnd.oci.image.layer.v1.tar+lz4", D1,
								     "1") "]}",
		     NULL, &m, ferr),
	      MSB_ERR_INVALID, "layers[0].mediaType: unsupported layer media type", "unknown layer type");
	FAILS(mparse("{'schemaVersion':2,'config':{'mediaType':'" IMG_MT_OCI_CONFIG_STR "','digest':'" DC
		     "','size':16777217},'layers':[]}", NULL, &m, ferr),
	      MSB_ERR_INVALID, "config.size: 16777217 bytes exceeds", "config over 16 MiB");
	FAILS(mparse("{'schemaVersion':2,'config':{'mediaType':'" IMG_MT_OCI_CONFIG_STR "','size':7},'layers':[]}",
		     NULL, &m, ferr),
	      MSB_ERR_INVALID, "config.digest: missing", "config without digest");
	FAILS(mparse("{'schemaVersion':2,'config':{'mediaType':'" IMG_MT_OCI_CONFIG_STR "','digest':7,'size':7},"
		     "'layers':[]}", NULL, &m, ferr),
	      MSB_ERR_INVALID, "config.digest: must be a string", "numeric digest");
	FAILS(mparse(MULTI_INDEX, NULL, &m, ferr), MSB_ERR_INVALID, "expected an image manifest, got " IMG_MT_DOCKER_LIST_STR,
	      "an index is not a manifest");
	FAILS(mparse("{'schemaVersion':1,'fsLayers':[]}", NULL, &m, ferr), MSB_ERR_INVALID, "schema 1",
	      "schema 1 manifest rejected by the parser");

	for (i = 0; i <= IMG_LAYERS_MAX; i++) {
		if (i == IMG_LAYERS_MAX) {
			struct img_manifest *ok_m = NULL;
			char *s = xasprintf("%s]}", b.data);
			ok(img_manifest_parse(s, strlen(s), NULL, &ok_m, NULL) == 0 && ok_m->n_layers == IMG_LAYERS_MAX,
			   "1024 layers accepted");
			img_manifest_free(ok_m);
			free(s);
		}
		if (i == 0)
			buf_printf(&b, "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"%s\",\"digest\":\"%s\","
				       "\"size\":7},\"layers\":[", IMG_MT_OCI_CONFIG_STR, DC);
		buf_printf(&b, "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}", i ? "," : "",
			   OCI_LAYER_GZ, D1, i);
	}
	buf_printf(&b, "]}");
	FAILS(img_manifest_parse(b.data, b.len, NULL, &m, ferr), MSB_ERR_INVALID, "1025 layers (max 1024)",
	      "1025 layers rejected");
	buf_free(&b);
}

#define FULL_CONFIG                                                                                           \
	"{'architecture':'arm64','variant':'v8','os':'linux','created':'2024-01-01T00:00:00Z',"               \
	"'config':{'User':'app:app','Env':['PATH=/usr/bin:/bin','EMPTY='],'Entrypoint':['/bin/entry','--x'],"  \
	"'Cmd':['serve'],'WorkingDir':'/srv','StopSignal':'SIGQUIT','Labels':{'a':'1','org.x':''},"           \
	"'ExposedPorts':{'80/tcp':{}}},"                                                                     \
	"'rootfs':{'type':'layers','diff_ids':['" D3 "','" D4 "']},'history':[{'created_by':'x'}]}"

static void test_config(void)
{
	struct img_manifest *m = NULL;
	struct img_config *c = NULL;
	msb_error err = {0};

	ok(mparse(OCI_MANIFEST, NULL, &m, &err) == 0, "manifest for config tests");
	ok(cparse(FULL_CONFIG, m, &c, &err) == 0, "full config parses: %s", err.msg);
	is_str(c->os, "linux", "  os");
	is_str(c->architecture, "arm64", "  architecture");
	is_str(c->variant, "v8", "  variant");
	is_str(c->user, "app:app", "  User");
	is_int(c->n_env, 2, "  two Env entries");
	is_str(c->env[0], "PATH=/usr/bin:/bin", "  Env[0]");
	is_str(c->env[1], "EMPTY=", "  Env[1] with empty value");
	ok(c->env[2] == NULL, "  Env NULL-terminated");
	is_int(c->n_entrypoint, 2, "  Entrypoint");
	is_str(c->entrypoint[1], "--x", "  Entrypoint[1]");
	is_int(c->n_cmd, 1, "  Cmd");
	is_str(c->cmd[0], "serve", "  Cmd[0]");
	is_str(c->working_dir, "/srv", "  WorkingDir");
	is_str(c->stop_signal, "SIGQUIT", "  StopSignal");
	is_int(c->n_labels, 2, "  two labels");
	is_str(c->labels[0].key, "a", "  label key");
	is_str(c->labels[1].value, "", "  empty label value kept");
	is_int(c->n_diff_ids, 2, "  two diff_ids");
	is_str(c->diff_ids[1], D4, "  diff_id order kept");
	img_config_free(c);

	ok(cparse("{'architecture':'amd64','os':'linux','config':{'Entrypoint':'/bin/sh','Cmd':null,'Env':null,"
		  "'Labels':null,'WorkingDir':''},'rootfs':{'type':'layers','diff_ids':['" D3 "','" D4 "']}}",
		  m, &c, &err) == 0,
	   "config with nulls and a string Entrypoint: %s", err.msg);
	is_int(c->n_entrypoint, 1, "  string Entrypoint becomes one element");
	is_str(c->entrypoint[0], "/bin/sh", "  its value");
	ok(c->n_cmd == 0 && c->cmd == NULL && c->n_env == 0 && c->n_labels == 0, "  nulls are empty");
	ok(c->working_dir == NULL && c->user == NULL && c->variant == NULL, "  empty strings are NULL");
	img_config_free(c);

	ok(cparse("{'architecture':'amd64','os':'linux','rootfs':{'type':'layers','diff_ids':[]}}", NULL, &c, &err) ==
		   0,
	   "config without 'config' and without a manifest to check against");
	img_config_free(c);
	img_manifest_free(m);
}

static void test_config_errors(void)
{
	struct img_manifest *m = NULL;
	struct img_config *c = (struct img_config *)1;

	ok(mparse(OCI_MANIFEST, NULL, &m, NULL) == 0, "manifest for config error tests");
	FAILS(cparse("{'architecture':'amd64','os':'linux','rootfs':{'type':'layers','diff_ids':['" D3 "']}}", m, &c,
		     ferr),
	      MSB_ERR_INVALID, "rootfs.diff_ids has 1 entries but the manifest has 2 layers", "diff_id count mismatch");
	ok(c == NULL, "  output NULL on failure");
	FAILS(cparse("{'architecture':'amd64','os':'linux','rootfs':{'type':'layers','diff_ids':['" D3
		     "','sha256:x']}}", m, &c, ferr),
	      MSB_ERR_INVALID, "rootfs.diff_ids[1]: invalid digest", "bad diff_id");
	FAILS(cparse("{'architecture':'amd64','os':'linux'}", m, &c, ferr), MSB_ERR_INVALID, "rootfs: missing",
	      "missing rootfs");
	FAILS(cparse("{'architecture':'amd64','os':'linux','rootfs':{'type':'zfs','diff_ids':[]}}", m, &c, ferr),
	      MSB_ERR_INVALID, "rootfs.type: must be \"layers\", not \"zfs\"", "wrong rootfs type");
	FAILS(cparse("{'architecture':'amd64','os':'linux','rootfs':{'type':'layers'}}", m, &c, ferr), MSB_ERR_INVALID,
	      "rootfs.diff_ids: missing", "missing diff_ids");
	FAILS(cparse("{'architecture':'amd64','rootfs':{'type':'layers','diff_ids':[]}}", NULL, &c, ferr),
	      MSB_ERR_INVALID, "invalid image config: os: missing", "missing os");
	FAILS(cparse("{'architecture':'','os':'linux','rootfs':{'type':'layers','diff_ids':[]}}", NULL, &c, ferr),
	      MSB_ERR_INVALID, "architecture: must not be empty", "empty architecture");
	FAILS(cparse("{'architecture':'amd64','os':'linux','config':{'Env':['NOEQUALS']},'rootfs':{'type':'layers',"
		     "'diff_ids':[]}}", NULL, &c, ferr),
	      MSB_ERR_INVALID, "config.Env[0]: \"NOEQUALS\" is not KEY=VALUE", "Env entry without '='");
	FAILS(cparse("{'architecture':'amd64','os':'linux','config':{'Env':'A=B'},'rootfs':{'type':'layers',"
		     "'diff_ids':[]}}", NULL, &c, ferr),
	      MSB_ERR_INVALID, "config.Env: must be an array of strings", "Env as a string");
	FAILS(cparse("{'architecture':'amd64','os':'linux','config':{'Cmd':['a',1]},'rootfs':{'type':'layers',"
		     "'diff_ids':[]}}", NULL, &c, ferr),
	      MSB_ERR_INVALID, "config.Cmd[1]: must be a string", "non-string Cmd element");
	FAILS(cparse("{'architecture':'amd64','os':'linux','config':{'Labels':{'a':1}},'rootfs':{'type':'layers',"
		     "'diff_ids':[]}}", NULL, &c, ferr),
	      MSB_ERR_INVALID, "config.Labels[\"a\"]: must be a string", "non-string label");
	FAILS(cparse("{'architecture':'amd64','os':'linux','config':{'User':5},'rootfs':{'type':'layers',"
		     "'diff_ids':[]}}", NULL, &c, ferr),
	      MSB_ERR_INVALID, "config.User: must be a string", "numeric User");
	FAILS(cparse("{'architecture':'amd64','os':'linux','config':[],'rootfs':{'type':'layers','diff_ids':[]}}",
		     NULL, &c, ferr),
	      MSB_ERR_INVALID, "config: must be an object", "config as an array");
	FAILS(cparse("{'architecture':'amd64','os':'linux','os':'linux','rootfs':{'type':'layers','diff_ids':[]}}",
		     NULL, &c, ferr),
	      MSB_ERR_INVALID, "duplicate", "duplicate key in config");
	img_manifest_free(m);
}

int main(void)
{
	test_digest();
	test_media_types();
	test_sniff();
	test_index();
	test_index_errors();
	test_platform();
	test_manifest();
	test_manifest_errors();
	test_config();
	test_config_errors();
	for (size_t i = 0; i < ARRAY_SIZE(ring); i++)
		free(ring[i]);
	return tap_done();
}
