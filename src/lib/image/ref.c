// SPDX-License-Identifier: Apache-2.0
/*
 * ref.c - parse and normalise image references (docker/distribution grammar).
 *
 * The grammar, as implemented here:
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path
 *   domain    := host [ ":" port ]
 *   host      := dcomp ( "." dcomp )* | "[" IPv6 "]"
 *   dcomp     := [A-Za-z0-9] | [A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]
 *   port      := 1-65535, decimal, at most 5 digits
 *   path      := pcomp ( "/" pcomp )*
 *   pcomp     := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest    := "sha256:" 64 lowercase hex digits
 *
 * The first '/'-separated component is a domain only if it contains '.' or
 * ':', starts with '[', or is "localhost"; otherwise the whole name is a path
 * on docker.io. The tag is what follows the last ':' that has no '/' after it,
 * so "localhost:5000/x" has a port and no tag. The normalised name
 * (domain "/" path) is at most 255 characters. Work happens on a copy of the
 * input in fixed-size buffers; nothing here allocates until the result is
 * built.
 */
#include <arpa/inet.h>
#include <stdio.h>

#include "image/manifest.h"
#include "image/ref.h"
#include "util.h"

const char *img_quote(char *buf, size_t size, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	buf[o++] = '"';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[4];
		size_t n;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			n = 2;
		} else if (c < 0x20 || c >= 0x7f) {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 15];
			n = 4;
		} else {
			esc[0] = (char)c;
			n = 1;
		}
		/* keep room for an escape, "...", the closing quote and NUL */
		if (o + n + 5 > size) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, esc, n);
		o += n;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* "invalid image reference "<input>": <detail>" */
__attribute__((format(printf, 3, 4))) static void ref_fail_do(msb_error *err, const char *input, const char *fmt,
							   ...)
{
	char q[300], detail[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	img_quote(q, sizeof(q), input, strlen(input));
	msb_err_set(err, MSB_ERR_INVALID, 0, "invalid image reference %s: %s", q, detail);
}

/* Fill the error and evaluate to -MSB_ERR_INVALID (a macro, so analyzers see the constant). */
#define ref_fail(...) (ref_fail_do(__VA_ARGS__), -MSB_ERR_INVALID)

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_word(char c)
{
	return is_alnum(c) || c == '_';
}

/* One path component, pcomp above. Returns NULL when valid, else why not. */
static const char *check_path_component(const char *c, size_t n)
{
	size_t i = 0;

	if (n == 0)
		return "empty path component";
	for (;;) {
		size_t start = i;
		while (i < n && is_lower_alnum(c[i]))
			i++;
		if (i == start)
			return "path components must start and end with a letter or digit and use only "
			       "'.', '_', '__' or dashes between them";
		if (i == n)
			return NULL;
		if (c[i] == '.') {
			i++;
		} else if (c[i] == '_') {
			i++;
			if (i < n && c[i] == '_')
				i++;
		} else if (c[i] == '-') {
			while (i < n && c[i] == '-')
				i++;
		} else {
			return "path components may contain only a-z, 0-9, '.', '_' and '-'";
		}
		if (i == n)
			return "path components must start and end with a letter or digit and use only "
			       "'.', '_', '__' or dashes between them";
	}
}

/* A DNS-style host: dcomp ("." dcomp)*. */
static bool host_valid(const char *h, size_t n)
{
	size_t i = 0;

	if (n == 0)
		return false;
	while (i < n) {
		size_t start = i;
		while (i < n && (is_alnum(h[i]) || h[i] == '-'))
			i++;
		if (i == start || h[start] == '-' || h[i - 1] == '-')
			return false;
		if (i < n) {
			if (h[i] != '.')
				return false;
			i++;
			if (i == n)
				return false; /* trailing dot */
		}
	}
	return true;
}

static bool port_valid(const char *p, size_t n)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* "[v6]" with only hex digits and ':' inside, accepted by inet_pton. */
static bool ipv6_valid(const char *h, size_t n)
{
	char addr[64];
	unsigned char bin[16];
	size_t i;

	if (n < 3 || h[0] != '[' || h[n - 1] != ']' || n - 2 >= sizeof(addr))
		return false;
	for (i = 1; i < n - 1; i++)
		if (!is_hex(h[i]) && h[i] != ':')
			return false;
	memcpy(addr, h + 1, n - 2);
	addr[n - 2] = '\0';
	return inet_pton(AF_INET6, addr, bin) == 1;
}

static int check_domain(const char *input, const char *d, size_t n, msb_error *err)
{
	char q[300];
	const char *colon;
	size_t hlen;

	if (d[0] == '[') {
		const char *close = memchr(d, ']', n);
		if (!close || !ipv6_valid(d, (size_t)(close - d) + 1))
			return ref_fail(err, input, "invalid IPv6 registry host %s",
					img_quote(q, sizeof(q), d, close ? (size_t)(close - d) + 1 : n));
		hlen = (size_t)(close - d) + 1;
		if (hlen < n && d[hlen] != ':')
			return ref_fail(err, input, "invalid registry %s: expected ':' and a port after ']'",
					img_quote(q, sizeof(q), d, n));
	} else {
		colon = memchr(d, ':', n);
		hlen = colon ? (size_t)(colon - d) : n;
		if (!host_valid(d, hlen))
			return ref_fail(err, input, "invalid registry host %s", img_quote(q, sizeof(q), d, hlen));
	}
	if (hlen < n && !port_valid(d + hlen + 1, n - hlen - 1))
		return ref_fail(err, input, "invalid port %s in registry host (expected 1-65535)",
				img_quote(q, sizeof(q), d + hlen + 1, n - hlen - 1));
	return 0;
}

static int check_tag(const char *input, const char *t, msb_error *err)
{
	char q[300];
	size_t n = strlen(t), i;

	if (n == 0)
		return ref_fail(err, input, "empty tag after ':'");
	if (n > IMG_REF_TAG_MAX)
		return ref_fail(err, input, "tag is %zu characters long (max %d)", n, IMG_REF_TAG_MAX);
	if (!is_word(t[0]))
		return ref_fail(err, input, "invalid tag %s: must start with a letter, digit or '_'",
				img_quote(q, sizeof(q), t, n));
	for (i = 1; i < n; i++)
		if (!is_word(t[i]) && t[i] != '.' && t[i] != '-')
			return ref_fail(err, input, "invalid tag %s: only letters, digits, '_', '.' and '-' allowed",
					img_quote(q, sizeof(q), t, n));
	return 0;
}

static int check_path(const char *input, const char *p, msb_error *err)
{
	char q[300];
	const char *c = p;

	for (const char *s = p; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return ref_fail(err, input, "repository name must be lowercase");
	for (;;) {
		const char *slash = strchr(c, '/');
		size_t n = slash ? (size_t)(slash - c) : strlen(c);
		const char *why = check_path_component(c, n);
		if (why && n == 0)
			return ref_fail(err, input, "%s in repository %s", why, img_quote(q, sizeof(q), p, strlen(p)));
		if (why)
			return ref_fail(err, input, "invalid path component %s: %s", img_quote(q, sizeof(q), c, n),
					why);
		if (!slash)
			return 0;
		c = slash + 1;
	}
}

static bool is_hex64_id(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

/* Reject empty, over-long, and non-printable input before looking at structure. */
static int check_text(const char *s, msb_error *err)
{
	size_t n = strlen(s), i;
	char q[32];

	if (n == 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid image reference \"\": empty");
	if (n > IMG_REF_INPUT_MAX)
		return ref_fail(err, s, "%zu characters long (max %d)", n, IMG_REF_INPUT_MAX);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f)
			return ref_fail(err, s, "invalid character %s at offset %zu", img_quote(q, sizeof(q), s + i, 1),
					i);
	}
	if (n == 64 && is_hex64_id(s))
		return ref_fail(err, s, "a 64-character hex string is an image ID, not a reference");
	return 0;
}

/* Would @path's first component be read as a registry host if it came first? */
static bool looks_like_domain(const char *path)
{
	size_t n = strcspn(path, "/");

	return path[n] == '/' &&
	       (memchr(path, '.', n) || memchr(path, ':', n) || (n == 9 && strncmp(path, "localhost", 9) == 0));
}

/*
 * Fill @out. The familiar form drops "docker.io/" (and "library/" of
 * one-component official images) only when the result parses back to the
 * same reference: "docker.io/a.b/c" stays as it is, since "a.b/c" names
 * registry a.b.
 */
static void ref_build(struct img_ref *out, const char *domain, const char *path, const char *tag,
		      const char *digest)
{
	const char *fam = path;
	bool hub = strcmp(domain, IMG_REF_DOCKER_HUB) == 0 && !looks_like_domain(path);

	out->registry = xstrdup(domain);
	out->repository = xstrdup(path);
	out->tag = tag ? xstrdup(tag) : NULL;
	out->digest = digest ? xstrdup(digest) : NULL;
	out->canonical = xasprintf("%s/%s%s%s%s%s", domain, path, tag ? ":" : "", tag ? tag : "",
				   digest ? "@" : "", digest ? digest : "");
	if (hub && strncmp(path, "library/", 8) == 0 && !strchr(path + 8, '/'))
		fam = path + 8;
	out->familiar = xasprintf("%s%s%s%s%s%s%s", hub ? "" : domain, hub ? "" : "/", fam, tag ? ":" : "",
				  tag ? tag : "", digest ? "@" : "", digest ? digest : "");
}

int img_ref_parse(const char *s, struct img_ref *out, msb_error *err)
{
	char name[IMG_REF_INPUT_MAX + 1], domain[IMG_REF_INPUT_MAX + 1], path[IMG_REF_INPUT_MAX + 16];
	const char *digest = NULL, *tag = NULL, *at, *first_slash, *rest;
	char *colon, *last_slash;
	int r;

	memset(out, 0, sizeof(*out));
	r = check_text(s, err);
	if (r < 0)
		return r;

	/* split off "@digest" */
	at = strchr(s, '@');
	if (at) {
		msb_error derr;
		if (strchr(at + 1, '@'))
			return ref_fail(err, s, "more than one '@'");
		digest = at + 1;
		if (img_digest_check(digest, &derr) < 0)
			return ref_fail(err, s, "%s", derr.msg);
	}
	memcpy(name, s, at ? (size_t)(at - s) : strlen(s) + 1);
	name[at ? (size_t)(at - s) : strlen(s)] = '\0';
	if (!name[0])
		return ref_fail(err, s, "missing repository name before '@'");

	/* split off ":tag": the last ':' with no '/' after it */
	colon = strrchr(name, ':');
	last_slash = strrchr(name, '/');
	if (colon && (!last_slash || colon > last_slash)) {
		*colon = '\0';
		tag = colon + 1;
		r = check_tag(s, tag, err);
		if (r < 0)
			return r;
		if (!name[0])
			return ref_fail(err, s, "missing repository name before ':'");
	}

	/* split the domain from the path */
	rest = name;
	first_slash = strchr(name, '/');
	if (first_slash &&
	    (memchr(name, '.', (size_t)(first_slash - name)) || memchr(name, ':', (size_t)(first_slash - name)) ||
	     name[0] == '[' || (first_slash - name == 9 && strncmp(name, "localhost", 9) == 0))) {
		size_t dn = (size_t)(first_slash - name);
		r = check_domain(s, name, dn, err);
		if (r < 0)
			return r;
		memcpy(domain, name, dn);
		domain[dn] = '\0';
		if (strcmp(domain, IMG_REF_DOCKER_HUB_API) == 0)
			strcpy(domain, IMG_REF_DOCKER_HUB);
		rest = first_slash + 1;
	} else {
		strcpy(domain, IMG_REF_DOCKER_HUB);
	}
	snprintf(path, sizeof(path), "%s%s", strcmp(domain, IMG_REF_DOCKER_HUB) == 0 && !strchr(rest, '/') ?
						     "library/" : "", rest);

	r = check_path(s, path, err);
	if (r < 0)
		return r;
	if (strlen(domain) + 1 + strlen(path) > IMG_REF_NAME_MAX)
		return ref_fail(err, s, "name %s/... is %zu characters long (max %d)", domain,
				strlen(domain) + 1 + strlen(path), IMG_REF_NAME_MAX);

	if (!tag && !digest)
		tag = IMG_REF_DEFAULT_TAG;
	ref_build(out, domain, path, tag, digest);
	return 0;
}

void img_ref_clear(struct img_ref *ref)
{
	if (!ref)
		return;
	free(ref->registry);
	free(ref->repository);
	free(ref->tag);
	free(ref->digest);
	free(ref->canonical);
	free(ref->familiar);
	memset(ref, 0, sizeof(*ref));
}

const char *img_ref_api_host(const struct img_ref *ref)
{
	if (strcmp(ref->registry, IMG_REF_DOCKER_HUB) == 0)
		return IMG_REF_DOCKER_HUB_API;
	return ref->registry;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int img_local_kind(const char *s)
{
	if (!s)
		return IMG_LOCAL_NONE;
	if (!(strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || s[0] == '/' || strncmp(s, "./", 2) == 0 ||
	      strncmp(s, "../", 3) == 0))
		return IMG_LOCAL_NONE;
	if (has_suffix(s, ".qcow2") || has_suffix(s, ".raw") || has_suffix(s, ".vmdk"))
		return IMG_LOCAL_DISK;
	return IMG_LOCAL_DIR;
}

bool img_ref_is_local_path(const char *s)
{
	return img_local_kind(s) != IMG_LOCAL_NONE;
}
