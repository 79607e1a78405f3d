/* SPDX-License-Identifier: Apache-2.0 */
/*
 * registry.h - client for the OCI distribution API (image pull).
 *
 * Fetches manifests and blobs from one registry over HTTPS (or plain HTTP
 * for registries marked insecure) with libcurl. Everything the registry sends
 * is untrusted: manifest and config bodies are size-limited and hashed here
 * (the Docker-Content-Digest header is never believed), blobs are streamed
 * through SHA-256 into a ".part" file and only renamed to their final name
 * once digest and size match the descriptor exactly.
 *
 * Theory of Operation
 *
 * Auth: every request goes out anonymously (or with the cached credential)
 * first. A 401 carries a WWW-Authenticate challenge, parsed by
 * reg_challenge_parse(). "Bearer" means: GET the realm with service and
 * scope=repository:<repo>:pull (with HTTP basic auth when credentials were
 * given), take "token" or "access_token" from the JSON, and send it as
 * "Authorization: Bearer" from then on; the token is cached per client and
 * shared by every blob of the repository. "Basic" means: send the credentials.
 * Credentials never go over plain HTTP to a host other than the registry, and
 * the Authorization header is never forwarded on a redirect to another host
 * (blob downloads are commonly redirected to object storage): libcurl since
 * 7.58 (CVE-2018-1000007) and 7.83 (CVE-2022-27776) drops custom
 * Authorization headers when a redirect changes host, port or scheme, which
 * tests/registry/test_client.sh checks against a redirecting server.
 *
 * Blobs: reg_get_blobs() runs up to @parallel transfers on one curl multi
 * handle in the calling thread. A transfer whose part file already holds bytes
 * re-hashes them and asks for the rest with "Range: bytes=N-"; a 200 answer
 * (the server ignored the range) truncates the part file and starts over.
 * Bytes beyond the descriptor's size abort the transfer.
 *
 * A client holds one cached credential and one connection for serial
 * requests: use it from one thread at a time.
 */
#ifndef MSB_IMAGE_REGISTRY_H
#define MSB_IMAGE_REGISTRY_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/manifest.h"
#include "msb.h"

/* err->sys_errno of a failed TLS handshake or certificate check (the message says what to configure) */
#define REG_ERRNO_TLS EPROTO

#define REG_PARALLEL_DEFAULT 4
#define REG_PARALLEL_MAX     16
#define REG_CONNECT_TIMEOUT_S 15
#define REG_LOW_SPEED_BYTES  1024 /* abort a transfer slower than this ... */
#define REG_LOW_SPEED_TIME_S 60   /* ... for this many seconds */
#define REG_TOKEN_MAX        (1u << 20) /* bytes of token-service JSON */

#define REG_CHALLENGE_REALM_MAX   2048 /* incl. NUL */
#define REG_CHALLENGE_SERVICE_MAX 512
#define REG_CHALLENGE_SCOPE_MAX   1024

/**
 * struct reg_opts - how to reach one registry; all strings borrowed for the
 * duration of reg_client_new() only (the client copies them).
 * @registry: "host[:port]" as in struct img_ref; "docker.io" is contacted
 *            as "index.docker.io"
 * @insecure: plain HTTP instead of HTTPS
 * @ca_file: PEM file of extra trusted roots, or NULL; the system roots stay trusted
 * @username: credentials for basic auth or the token service; NULL = anonymous
 * @password: the password or access token that goes with @username
 * @user_agent: User-Agent header, or NULL for "msb"
 * @parallel: most concurrent blob downloads; 0 = REG_PARALLEL_DEFAULT
 * @progress: called from the calling thread while reg_get_blobs() runs, with
 *            the blob's index, bytes held (including resumed bytes) and its size
 * @progress_arg: first argument of @progress
 */
struct reg_opts {
	const char *registry;
	bool insecure;
	const char *ca_file;
	const char *username;
	const char *password;
	const char *user_agent;
	int parallel;
	void (*progress)(void *arg, int blob_index, uint64_t done, uint64_t total);
	void *progress_arg;
};

struct reg_client;

/**
 * reg_client_new() - create a client for one registry.
 * @o: options (see struct reg_opts)
 * @out: receives the client; free with reg_client_free()
 * @err: error out
 *
 * No network traffic happens here. @o->ca_file is read now, so a missing or
 * malformed file is reported before any download starts.
 *
 * Return: 0, -MSB_ERR_INVALID (bad registry name, option or CA file) or
 * -MSB_ERR_SYSTEM.
 */
int reg_client_new(const struct reg_opts *o, struct reg_client **out, msb_error *err);

/**
 * reg_client_free() - release a client and its cached token. NULL is a no-op.
 * @c: the client
 */
void reg_client_free(struct reg_client *c);

/**
 * reg_get_manifest() - fetch a manifest or index.
 * @c: the client
 * @repository: e.g. "library/alpine"
 * @reference: a tag or "sha256:<hex>"
 * @body: receives the document (malloc'd, NUL-terminated, at most IMG_MANIFEST_MAX bytes)
 * @len: receives its length
 * @content_type: receives the Content-Type (malloc'd, "" when absent); may be NULL
 * @digest: receives "sha256:<hex>" of the body bytes, computed here
 * @err: error out
 *
 * Asks for OCI index/manifest and Docker manifest list/v2 media types. When
 * @reference is a digest the body must hash to it.
 *
 * Return: 0; -MSB_ERR_NOT_FOUND ("image not found in registry: repo:ref");
 * -MSB_ERR_PERMISSION (authentication required/failed, access denied);
 * -MSB_ERR_INVALID (digest mismatch, body too large, bad arguments);
 * -MSB_ERR_TIMEOUT; -MSB_ERR_SYSTEM (connection, TLS, other HTTP status).
 */
int reg_get_manifest(struct reg_client *c, const char *repository, const char *reference, char **body,
		     size_t *len, char **content_type, char digest[IMG_DIGEST_LEN + 1], msb_error *err);

/**
 * reg_get_blob_mem() - fetch a small blob (an image config) into memory.
 * @c: the client
 * @repository: the repository
 * @desc: the blob's descriptor; its digest and exact size are checked
 * @max_len: refuse a descriptor larger than this (e.g. IMG_CONFIG_MAX)
 * @body: receives the bytes (malloc'd, NUL-terminated)
 * @len: receives their count (== @desc->size)
 * @err: error out
 *
 * Return: 0, or the errors of reg_get_manifest(); -MSB_ERR_INVALID names
 * the blob on a digest or size mismatch.
 */
int reg_get_blob_mem(struct reg_client *c, const char *repository, const struct img_descriptor *desc,
		     size_t max_len, char **body, size_t *len, msb_error *err);

/**
 * reg_get_blobs() - download blobs into files, in parallel, verified.
 * @c: the client
 * @repository: the repository
 * @descs: @n descriptors; sizes must be within IMG_LAYER_SIZE_MAX; each blob once
 * @n: number of blobs
 * @dirfd: directory for the part and final files
 * @part_names: per blob, the name of its part file in @dirfd; an existing
 *              part file is resumed
 * @final_names: per blob, the name it gets once verified (fsync + renameat)
 * @err: error out
 *
 * On a digest or size mismatch the part file is removed and the error names
 * the blob's expected and actual digest. On any failure the remaining
 * transfers are stopped; part files of unfinished blobs stay for a later
 * resume, and no final file exists that was not verified. Final files of
 * blobs that completed before the failure stay (they are verified).
 *
 * Return: 0, or the errors of reg_get_manifest().
 */
int reg_get_blobs(struct reg_client *c, const char *repository, const struct img_descriptor *descs, size_t n,
		  int dirfd, const char *const *part_names, const char *const *final_names, msb_error *err);

/* -- pure helpers, exposed for unit tests and the fuzz target -- */

enum reg_auth_scheme {
	REG_AUTH_NONE = 0,
	REG_AUTH_BASIC,
	REG_AUTH_BEARER,
	REG_AUTH_COUNT
};

/**
 * struct reg_challenge - the challenge msb answers, from WWW-Authenticate.
 * @scheme: enum reg_auth_scheme
 * @realm: Bearer: the token service URL (http:// or https://); Basic: the realm text or ""
 * @service: the "service" parameter or ""
 * @scope: the "scope" parameter or ""
 */
struct reg_challenge {
	int scheme;
	char realm[REG_CHALLENGE_REALM_MAX];
	char service[REG_CHALLENGE_SERVICE_MAX];
	char scope[REG_CHALLENGE_SCOPE_MAX];
};

/**
 * reg_challenge_parse() - parse a WWW-Authenticate header value (RFC 9110 §11.6.1).
 * @s: the value (need not be NUL-terminated; several header fields may be
 *     joined with ", ")
 * @len: its length
 * @out: receives the chosen challenge; zeroed on failure
 * @err: error out, quotes the offending part
 *
 * Accepts several challenges, parameters as tokens or quoted strings with
 * backslash escapes, and token68 credentials (ignored). Picks the first
 * Bearer challenge, else the first Basic one; other schemes are skipped.
 * A Bearer challenge needs a realm that is an http(s) URL without blanks or
 * control characters. Parameter names are case-insensitive; a repeated
 * parameter is an error.
 *
 * Return: 0; -MSB_ERR_INVALID for malformed text or over-long values;
 * -MSB_ERR_UNSUPPORTED when no Basic or Bearer challenge is present.
 */
int reg_challenge_parse(const char *s, size_t len, struct reg_challenge *out, msb_error *err);

/**
 * reg_base_url() - the URL prefix of a registry's API.
 * @registry: "host[:port]"; "docker.io" maps to "index.docker.io"
 * @insecure: http instead of https
 * @err: error out
 *
 * Return: "https://host[:port]" (malloc'd), or NULL with -MSB_ERR_INVALID in
 * @err when @registry is not a plausible host[:port].
 */
char *reg_base_url(const char *registry, bool insecure, msb_error *err);

/**
 * reg_url() - the URL of a manifest or blob.
 * @base: from reg_base_url()
 * @repository: "name/space", lowercase components of [a-z0-9._-]
 * @kind: "manifests" or "blobs"
 * @reference: tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}) or "sha256:<64 hex>"
 * @err: error out
 *
 * The arguments are checked so that nothing can change the URL's path or add
 * a query.
 *
 * Return: "<base>/v2/<repository>/<kind>/<reference>" (malloc'd), or NULL
 * with -MSB_ERR_INVALID in @err.
 */
char *reg_url(const char *base, const char *repository, const char *kind, const char *reference, msb_error *err);

#endif
