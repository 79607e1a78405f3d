// SPDX-License-Identifier: Apache-2.0
/*
 * registry_parse.c - the pure parts of the registry client: the
 * WWW-Authenticate challenge parser and URL building. No I/O, no libcurl, so
 * the fuzz target (tests/fuzz/fuzz_wwwauth.c) links this file alone.
 *
 * Grammar (RFC 9110 §11.6.1 and §5.6):
 *   challenges  = challenge *( OWS "," OWS challenge )
 *   challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param  = token BWS "=" BWS ( token / quoted-string )
 *   quoted-string = DQUOTE *( qdtext / "\" octet ) DQUOTE
 * A list may hold empty elements (",,"), which are skipped.
 */
#include <stdio.h>
#include <strings.h>

#include "image/ref.h"
#include "image/registry.h"
#include "util.h"

/* a cursor over the header text; every read is bounded by @end */
struct cur {
	const char *p, *end;
};

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void skip_ows(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/* Skip blanks and empty list elements. */
static void skip_ows_commas(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == ','))
		c->p++;
}

/* Read a token; returns its length (0 = none) and leaves the cursor after it. */
static size_t read_token(struct cur *c, const char **tok)
{
	const char *s = c->p;

	while (c->p < c->end && is_tchar((unsigned char)*c->p))
		c->p++;
	*tok = s;
	return (size_t)(c->p - s);
}

/*
 * Read a token or quoted-string value into @out (NUL-terminated, @size bytes).
 * @out == NULL discards the value. Returns 0, or -MSB_ERR_INVALID.
 */
static int read_value(struct cur *c, char *out, size_t size, const char *name, msb_error *err)
{
	size_t n = 0;
	char q[64];

	if (c->p < c->end && *c->p == '"') {
		c->p++;
		for (;;) {
			unsigned char ch;
			if (c->p >= c->end)
				return msb_err_set(err, MSB_ERR_INVALID, 0,
						   "WWW-Authenticate: unterminated quoted value of %s",
						   img_quote(q, sizeof(q), name, strlen(name)));
			ch = (unsigned char)*c->p++;
			if (ch == '"')
				break;
			if (ch == '\\') {
				if (c->p >= c->end)
					continue; /* reported as unterminated on the next round */
				ch = (unsigned char)*c->p++;
			}
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return msb_err_set(err, MSB_ERR_INVALID, 0,
						   "WWW-Authenticate: control character in the value of %s",
						   img_quote(q, sizeof(q), name, strlen(name)));
			if (out) {
				if (n + 1 >= size)
					goto too_long;
				out[n++] = (char)ch;
			}
		}
	} else {
		const char *tok;
		size_t tl = read_token(c, &tok);
		/* token68 padding and empty values ("a=") are tolerated as empty tokens */
		if (out) {
			if (tl + 1 > size)
				goto too_long;
			memcpy(out, tok, tl);
			n = tl;
		}
	}
	if (out)
		out[n] = '\0';
	return 0;
too_long:
	return msb_err_set(err, MSB_ERR_INVALID, 0, "WWW-Authenticate: value of %s is longer than %zu bytes",
			   img_quote(q, sizeof(q), name, strlen(name)), size - 1);
}

/* Where a parameter of this name goes in @ch (NULL = ignored); @seen tracks duplicates. */
static char *param_slot(struct reg_challenge *ch, const char *name, size_t nl, size_t *size, unsigned *bit)
{
	static const struct {
		const char *name;
		size_t off, size;
	} slots[] = {
		{"realm", offsetof(struct reg_challenge, realm), REG_CHALLENGE_REALM_MAX},
		{"service", offsetof(struct reg_challenge, service), REG_CHALLENGE_SERVICE_MAX},
		{"scope", offsetof(struct reg_challenge, scope), REG_CHALLENGE_SCOPE_MAX},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(slots); i++)
		if (strlen(slots[i].name) == nl && strncasecmp(name, slots[i].name, nl) == 0) {
			*size = slots[i].size;
			*bit = 1u << i;
			return (char *)ch + slots[i].off;
		}
	return NULL;
}

static bool is_t68char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-._~+/", c));
}

/*
 * A token68 right after the scheme ("Basic dXNlcg=="): consume it when the
 * run of token68 characters and '=' padding ends the challenge.
 * Returns true when consumed.
 */
static bool skip_token68(struct cur *c)
{
	struct cur t = *c;
	const char *start;

	skip_ows(&t);
	start = t.p;
	while (t.p < t.end && is_t68char((unsigned char)*t.p))
		t.p++;
	if (t.p == start)
		return false;
	while (t.p < t.end && *t.p == '=')
		t.p++;
	skip_ows(&t);
	if (t.p < t.end && *t.p != ',')
		return false;
	c->p = t.p;
	return true;
}

/*
 * Parse the auth-params (or token68) after a scheme. Stops before the next
 * challenge's scheme, or at the end. @ch receives known params when not NULL.
 */
static int parse_params(struct cur *c, struct reg_challenge *ch, msb_error *err)
{
	unsigned seen = 0;

	if (c->p < c->end && (*c->p == ' ' || *c->p == '\t') && skip_token68(c))
		return 0;
	for (;;) {
		const char *save, *name;
		size_t nl, size = 0;
		unsigned bit = 0;
		char *slot, nm[32];
		int r;

		skip_ows_commas(c);
		if (c->p >= c->end)
			return 0;
		save = c->p;
		nl = read_token(c, &name);
		if (nl == 0) {
			char q[48];
			return msb_err_set(err, MSB_ERR_INVALID, 0, "WWW-Authenticate: unexpected %s",
					   img_quote(q, sizeof(q), c->p, (size_t)(c->end - c->p)));
		}
		skip_ows(c);
		if (c->p >= c->end || *c->p != '=') {
			c->p = save; /* a token without '=': the next challenge's scheme */
			return 0;
		}
		c->p++;
		skip_ows(c);
		snprintf(nm, sizeof(nm), "%.*s", (int)(nl < 31 ? nl : 31), name);
		slot = ch ? param_slot(ch, name, nl, &size, &bit) : NULL;
		if (slot && (seen & bit))
			return msb_err_set(err, MSB_ERR_INVALID, 0, "WWW-Authenticate: parameter \"%s\" repeated", nm);
		seen |= bit;
		r = read_value(c, slot, size, nm, err);
		if (r < 0)
			return r;
		skip_ows(c);
		if (c->p < c->end && *c->p != ',') {
			char q[48];
			return msb_err_set(err, MSB_ERR_INVALID, 0,
					   "WWW-Authenticate: expected ',' after parameter \"%s\", found %s", nm,
					   img_quote(q, sizeof(q), c->p, (size_t)(c->end - c->p)));
		}
	}
}

/* A Bearer realm must be an absolute http(s) URL with nothing that could split a request. */
static int check_realm(const char *realm, msb_error *err)
{
	const char *p;
	char q[96];

	if (strncasecmp(realm, "https://", 8) != 0 && strncasecmp(realm, "http://", 7) != 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "WWW-Authenticate: Bearer realm %s is not an http:// or https:// URL",
				   img_quote(q, sizeof(q), realm, strlen(realm)));
	for (p = realm; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return msb_err_set(err, MSB_ERR_INVALID, 0,
					   "WWW-Authenticate: Bearer realm %s contains a blank or non-ASCII byte",
					   img_quote(q, sizeof(q), realm, strlen(realm)));
	if (strchr(realm, '#'))
		return msb_err_set(err, MSB_ERR_INVALID, 0, "WWW-Authenticate: Bearer realm %s has a fragment",
				   img_quote(q, sizeof(q), realm, strlen(realm)));
	return 0;
}

static int challenge_parse_do(const char *s, size_t len, struct reg_challenge *out, msb_error *err)
{
	struct cur c = {s, s + len};
	struct reg_challenge tmp;
	int r;

	memset(out, 0, sizeof(*out));
	for (;;) {
		const char *scheme;
		size_t sl;
		int kind = REG_AUTH_NONE;

		skip_ows_commas(&c);
		if (c.p >= c.end)
			break;
		sl = read_token(&c, &scheme);
		if (sl == 0) {
			char q[48];
			return msb_err_set(err, MSB_ERR_INVALID, 0, "WWW-Authenticate: expected an auth scheme at %s",
					   img_quote(q, sizeof(q), c.p, (size_t)(c.end - c.p)));
		}
		if (sl == 6 && strncasecmp(scheme, "bearer", 6) == 0)
			kind = REG_AUTH_BEARER;
		else if (sl == 5 && strncasecmp(scheme, "basic", 5) == 0)
			kind = REG_AUTH_BASIC;
		if (c.p < c.end && *c.p != ' ' && *c.p != '\t' && *c.p != ',') {
			char q[48];
			return msb_err_set(err, MSB_ERR_INVALID, 0, "WWW-Authenticate: unexpected %s after auth scheme",
					   img_quote(q, sizeof(q), c.p, (size_t)(c.end - c.p)));
		}
		/* parse into a scratch struct; keep it when it beats what we have */
		memset(&tmp, 0, sizeof(tmp));
		r = parse_params(&c, kind ? &tmp : NULL, err);
		if (r < 0)
			return r;
		if (kind == REG_AUTH_NONE || out->scheme == REG_AUTH_BEARER ||
		    (out->scheme == REG_AUTH_BASIC && kind == REG_AUTH_BASIC))
			continue;
		tmp.scheme = kind;
		*out = tmp;
	}
	if (out->scheme == REG_AUTH_NONE)
		return msb_err_set(err, MSB_ERR_UNSUPPORTED, 0,
				   "the registry asks for an authentication scheme msb does not speak (only Basic and Bearer)");
	if (out->scheme == REG_AUTH_BEARER)
		return out->realm[0] ? check_realm(out->realm, err)
				     : msb_err_set(err, MSB_ERR_INVALID, 0, "WWW-Authenticate: Bearer challenge without a realm");
	return 0;
}

int reg_challenge_parse(const char *s, size_t len, struct reg_challenge *out, msb_error *err)
{
	int r = challenge_parse_do(s, len, out, err);

	if (r < 0)
		memset(out, 0, sizeof(*out));
	return r;
}

/* host[:port] as the reference grammar allows it: domain, IPv4 or [IPv6], optional port. */
static bool registry_plausible(const char *r)
{
	const char *p = r, *colon;
	size_t n = strlen(r);

	if (n == 0 || n > IMG_REF_NAME_MAX)
		return false;
	if (*p == '[') {
		const char *close = strchr(p, ']');
		if (!close || close == p + 1)
			return false;
		for (p++; p < close; p++)
			if (!strchr("0123456789abcdefABCDEF:.", *p))
				return false;
		p = close + 1;
		colon = *p ? p : NULL;
		if (colon && *colon != ':')
			return false;
	} else {
		for (; *p && *p != ':'; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			      *p == '.' || *p == '-'))
				return false;
		if (p == r)
			return false;
		colon = *p ? p : NULL;
	}
	if (colon) {
		const char *d = colon + 1;
		if (!*d || strlen(d) > 5)
			return false;
		for (; *d; d++)
			if (*d < '0' || *d > '9')
				return false;
		if (atoi(colon + 1) < 1 || atoi(colon + 1) > 65535)
			return false;
	}
	return true;
}

char *reg_base_url(const char *registry, bool insecure, msb_error *err)
{
	char q[IMG_REF_NAME_MAX + 16];

	if (!registry || !registry_plausible(registry)) {
		msb_err_set(err, MSB_ERR_INVALID, 0, "invalid registry %s: expected host[:port]",
			    registry ? img_quote(q, sizeof(q), registry, strlen(registry)) : "(none)");
		return NULL;
	}
	if (strcasecmp(registry, IMG_REF_DOCKER_HUB) == 0)
		registry = IMG_REF_DOCKER_HUB_API;
	return xasprintf("%s://%s", insecure ? "http" : "https", registry);
}

/* repository: components of [a-z0-9] separated by [._-] runs, joined by '/' (checked loosely but safely). */
static bool repository_ok(const char *s)
{
	size_t n = strlen(s);
	const char *p;

	if (n == 0 || n > IMG_REF_NAME_MAX || s[0] == '/' || s[n - 1] == '/' || strstr(s, "//"))
		return false;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("._-/", *p)))
			return false;
	/* no "." or ".." component: it would change the path */
	for (p = s; p; p = strchr(p, '/')) {
		if (*p == '/')
			p++;
		if ((p[0] == '.' && (p[1] == '/' || !p[1])) || (p[0] == '.' && p[1] == '.' && (p[2] == '/' || !p[2])))
			return false;
	}
	return true;
}

static bool tag_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > IMG_REF_TAG_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      strchr("_.-", s[i])))
			return false;
	return true;
}

char *reg_url(const char *base, const char *repository, const char *kind, const char *reference, msb_error *err)
{
	char q[IMG_REF_NAME_MAX + 16];

	if (!repository || !repository_ok(repository)) {
		msb_err_set(err, MSB_ERR_INVALID, 0, "invalid repository name %s",
			    repository ? img_quote(q, sizeof(q), repository, strlen(repository)) : "(none)");
		return NULL;
	}
	if (!reference || (!img_digest_valid(reference) && !tag_ok(reference))) {
		msb_err_set(err, MSB_ERR_INVALID, 0, "invalid tag or digest %s",
			    reference ? img_quote(q, sizeof(q), reference, strlen(reference)) : "(none)");
		return NULL;
	}
	return xasprintf("%s/v2/%s/%s/%s", base, repository, kind, reference);
}
