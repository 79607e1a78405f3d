// SPDX-License-Identifier: Apache-2.0
/*
 * parse.c - the value grammars of spec/cli.md §4, shared by the CLI flags,
 * msb_config_set() and the configuration loaders. Each grammar is a small
 * hand-written recogniser over the raw bytes; none uses strtol/strtoull,
 * whose silent acceptance of signs, leading spaces and locale digits would
 * widen the grammar. See parse.h for the error-message contract.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "parse.h"
#include "sha256.h"
#include "util.h"

/* Enough for a 128-byte name shown in full, or any value shown in part. */
#define QUOTE_MAX 320

enum quote_style {
	QUOTE_RAW,   /* bytes as they are, control bytes escaped */
	QUOTE_DEBUG, /* "…" with \" and \\ escaped too, like the reference's {:?} */
};

/**
 * quote() - render a value for an error message.
 * @buf: output buffer of QUOTE_MAX bytes
 * @s: the value (need not be NUL-terminated)
 * @len: its length in bytes
 * @style: enum quote_style
 *
 * Control bytes become \n, \t, \r or \xNN so a hostile value cannot send
 * escape sequences to the terminal the error is printed on; bytes >= 0x80
 * pass through so UTF-8 stays readable. Long values end in "...".
 *
 * Return: @buf.
 */
static const char *quote(char buf[QUOTE_MAX], const char *s, size_t len, int style)
{
	size_t o = 0, i;

	if (style == QUOTE_DEBUG)
		buf[o++] = '"';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[5];
		size_t n;

		if (c == '\n')
			n = (size_t)snprintf(esc, sizeof(esc), "\\n");
		else if (c == '\t')
			n = (size_t)snprintf(esc, sizeof(esc), "\\t");
		else if (c == '\r')
			n = (size_t)snprintf(esc, sizeof(esc), "\\r");
		else if (c < 0x20 || c == 0x7f)
			n = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", c);
		else if (style == QUOTE_DEBUG && (c == '"' || c == '\\'))
			n = (size_t)snprintf(esc, sizeof(esc), "\\%c", c);
		else
			esc[0] = (char)c, esc[1] = '\0', n = 1;
		if (o + n + 5 > QUOTE_MAX) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, esc, n);
		o += n;
	}
	if (style == QUOTE_DEBUG)
		buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static const char *quote_str(char buf[QUOTE_MAX], const char *s)
{
	return quote(buf, s, strlen(s), QUOTE_RAW);
}

static bool is_ascii_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Shrink [*b, *e) past ASCII whitespace at both ends. */
static void trim(const char **b, const char **e)
{
	while (*b < *e && is_ascii_space(**b))
		(*b)++;
	while (*e > *b && is_ascii_space((*e)[-1]))
		(*e)--;
}

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!len)
		return -EINVAL;
	/* Check every byte first so "99999999999999999999x" is junk, not overflow. */
	for (i = 0; i < len; i++)
		if (!is_digit(s[i]))
			return -EINVAL;
	for (i = 0; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (d > max || v > (max - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* ---- names ---------------------------------------------------------------- */

MSB_EXPORT int msb_name_valid(const char *name, msb_error *err)
{
	char q[QUOTE_MAX];
	size_t len, i;

	if (!name || !*name)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "sandbox name must not be empty");
	len = strlen(name);
	if (len > MSB_NAME_MAX)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "sandbox name is too long (%zu bytes, maximum %d): '%s'", len, MSB_NAME_MAX,
				   quote_str(q, name));
	if (!is_alnum(name[0]))
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "invalid sandbox name '%s': must start with a letter or digit",
				   quote_str(q, name));
	for (i = 1; i < len; i++) {
		char c = name[i];
		if (!is_alnum(c) && c != '.' && c != '_' && c != '-')
			return msb_err_set(err, MSB_ERR_INVALID, 0,
					   "invalid sandbox name '%s': only letters, digits, '.', '_' and '-' "
					   "are allowed",
					   quote_str(q, name));
	}
	return 0;
}

void parse_auto_name(uint32_t rnd, char out[PARSE_AUTO_NAME_LEN + 1])
{
	snprintf(out, PARSE_AUTO_NAME_LEN + 1, "msb-%08x", (unsigned)rnd);
}

void parse_hostname_from_name(const char *name, char out[PARSE_HOSTNAME_MAX + 1])
{
	/* 55 + '-' + 8 hex digits = 64 = PARSE_HOSTNAME_MAX */
	enum { PREFIX = 55, HEX = 8 };
	char hex[2 * SHA256_DIGEST_LEN + 1];
	size_t len = strlen(name);

	static_assert(PREFIX + 1 + HEX == PARSE_HOSTNAME_MAX, "derived hostname length");
	if (len <= PARSE_HOSTNAME_MAX) {
		memcpy(out, name, len + 1);
		return;
	}
	sha256_hex(name, len, hex);
	memcpy(out, name, PREFIX);
	out[PREFIX] = '-';
	memcpy(out + PREFIX + 1, hex, HEX);
	out[PARSE_HOSTNAME_MAX] = '\0';
}

int parse_hostname_valid(const char *s, msb_error *err)
{
	char q[QUOTE_MAX];
	size_t len = strlen(s), i, label = 0;

	if (!len)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "hostname must not be empty");
	if (len > PARSE_HOSTNAME_MAX)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "hostname is too long (%zu bytes, maximum %d): '%s'",
				   len, PARSE_HOSTNAME_MAX, quote_str(q, s));
	for (i = 0; i <= len; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			/* RFC 1123 §2.1: labels are 1-63 characters and neither start nor end with '-'. */
			if (label == 0 || s[i - label] == '-' || s[i - 1] == '-')
				return msb_err_set(err, MSB_ERR_INVALID, 0,
						   "invalid hostname '%s': each dot-separated label must be "
						   "non-empty and must not start or end with '-'",
						   quote_str(q, s));
			if (label > 63)
				return msb_err_set(err, MSB_ERR_INVALID, 0,
						   "invalid hostname '%s': a label is longer than 63 bytes",
						   quote_str(q, s));
			label = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-')
			return msb_err_set(err, MSB_ERR_INVALID, 0,
					   "invalid hostname '%s': only letters, digits, '-' and '.' are allowed",
					   quote_str(q, s));
		label++;
	}
	return 0;
}

/* ---- durations and sizes ------------------------------------------------------ */

/**
 * duration_do() - the shared DURATION recogniser.
 * @s: the value
 * @unit: 1 for a result in seconds, 1000 for milliseconds
 * @allow_ms: accept the `ms` suffix
 * @out: receives the duration in @unit-ths of a second
 * @err: error out
 *
 * Grammar, as the reference's parse_duration_secs / parse_duration: outer
 * whitespace and whitespace between number and suffix are ignored; the
 * number is a plain unsigned integer; a bare number means seconds.
 *
 * Return: 0 or -MSB_ERR_INVALID.
 */
static int duration_do(const char *s, uint64_t unit, bool allow_ms, uint64_t *out, msb_error *err)
{
	const char *b = s, *e = s + strlen(s);
	uint64_t mult = unit, v;
	char q[QUOTE_MAX];
	int r;

	trim(&b, &e);
	if (allow_ms && e - b >= 2 && e[-2] == 'm' && e[-1] == 's')
		mult = 1, e -= 2;
	else if (e > b && e[-1] == 's')
		e--;
	else if (e > b && e[-1] == 'm')
		mult = 60 * unit, e--;
	else if (e > b && e[-1] == 'h')
		mult = 3600 * unit, e--;
	trim(&b, &e);

	r = parse_u64(b, (size_t)(e - b), UINT64_MAX, &v);
	if (r == -EINVAL)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid duration: '%s' (expected e.g. %s)",
				   quote_str(q, s), allow_ms ? "500ms, 30s, 5m, 1h" : "30s, 5m, 1h");
	if (r < 0 || v > UINT64_MAX / mult)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "duration too large: '%s'", quote_str(q, s));
	*out = v * mult;
	return 0;
}

MSB_EXPORT int msb_parse_duration_s(const char *s, uint64_t *out, msb_error *err)
{
	return duration_do(s, 1, false, out, err);
}

MSB_EXPORT int msb_parse_duration_ms(const char *s, uint64_t *out, msb_error *err)
{
	return duration_do(s, 1000, true, out, err);
}

/*
 * floor(1024 * 0.F) for the fraction digits F of `N.FG`. Digits past the
 * 15th cannot change the result: 1024·F₁₅ is a multiple of 1024 and so is
 * 10¹⁵, hence 1024·F₁₅ mod 10¹⁵ <= 10¹⁵ - 1024 and the ignored tail, worth
 * less than 1024 units of 10⁻¹⁵, never carries into the integer part.
 */
static uint64_t fraction_mib(const char *f, size_t n)
{
	uint64_t num = 0, den = 1;
	size_t i;

	for (i = 0; i < n && i < 15; i++) {
		num = num * 10 + (uint64_t)(f[i] - '0');
		den *= 10;
	}
	return num * 1024 / den;
}

MSB_EXPORT int msb_parse_size_mib(const char *s, uint64_t *out, msb_error *err)
{
	size_t len = strlen(s), ilen, flen = 0;
	const char *dot, *frac = NULL;
	char q[QUOTE_MAX];
	uint64_t v;
	int r;

	if (len && (s[len - 1] == 'G' || s[len - 1] == 'g')) {
		len--;
		dot = memchr(s, '.', len);
		ilen = dot ? (size_t)(dot - s) : len;
		if (dot) {
			frac = dot + 1;
			flen = len - ilen - 1;
			/* The fraction must be digits, at least one. */
			if (parse_u64(frac, flen, UINT64_MAX, &v) == -EINVAL)
				goto invalid;
		}
		r = parse_u64(s, ilen, UINT32_MAX / 1024, &v);
		if (r == -EINVAL)
			goto invalid;
		if (r < 0)
			goto too_large;
		/* v <= 4194303 so v·1024 + fraction (< 1024) <= UINT32_MAX. */
		*out = v * 1024 + (frac ? fraction_mib(frac, flen) : 0);
		return 0;
	}
	if (len && (s[len - 1] == 'M' || s[len - 1] == 'm'))
		len--;
	/* Capped at the reference's u32 MiB (4 PiB): larger is a typo, not a machine. */
	r = parse_u64(s, len, UINT32_MAX, &v);
	if (r == -EINVAL)
		goto invalid;
	if (r < 0)
		goto too_large;
	*out = v;
	return 0;

invalid:
	return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid size (expected e.g. 512M, 1G): '%s'",
			   quote_str(q, s));
too_large:
	return msb_err_set(err, MSB_ERR_INVALID, 0, "size too large: '%s'", quote_str(q, s));
}

/* ---- rlimits -------------------------------------------------------------------- */

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{"cpu", RLIMIT_CPU},         {"fsize", RLIMIT_FSIZE},
	{"data", RLIMIT_DATA},       {"stack", RLIMIT_STACK},
	{"core", RLIMIT_CORE},       {"rss", RLIMIT_RSS},
	{"nproc", RLIMIT_NPROC},     {"nofile", RLIMIT_NOFILE},
	{"memlock", RLIMIT_MEMLOCK}, {"as", RLIMIT_AS},
	{"locks", RLIMIT_LOCKS},     {"sigpending", RLIMIT_SIGPENDING},
	{"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
	{"rtprio", RLIMIT_RTPRIO},   {"rttime", RLIMIT_RTTIME},
};

/* ASCII case-insensitive equality of [s, s+len) and NUL-terminated @lower (already lowercase). */
static bool ascii_ieq(const char *s, size_t len, const char *lower)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!lower[i] || ascii_lower(s[i]) != lower[i])
			return false;
	return lower[len] == '\0';
}

static int rlimit_resource_n(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rlimit_names); i++)
		if (ascii_ieq(name, len, rlimit_names[i].name))
			return rlimit_names[i].resource;
	return -1;
}

int parse_rlimit_resource(const char *name)
{
	return rlimit_resource_n(name, strlen(name));
}

const char *parse_rlimit_resource_name(int resource)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rlimit_names); i++)
		if (rlimit_names[i].resource == resource)
			return rlimit_names[i].name;
	return NULL;
}

/*
 * RES=SOFT[:HARD]. Checks run in the reference's order (format, soft, hard,
 * separators, soft <= hard, then the resource name) so the same bad input
 * gets the same first complaint.
 */
MSB_EXPORT int msb_parse_rlimit(const char *s, struct msb_rlimit *out, msb_error *err)
{
	const char *eq = strchr(s, '='), *lim, *c1, *c2 = NULL, *soft_end;
	uint64_t soft, hard;
	char q[QUOTE_MAX];
	int res;

	if (!eq)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "rlimit must be in format RESOURCE=LIMIT (got '%s')",
				   quote_str(q, s));
	lim = eq + 1;
	c1 = strchr(lim, ':');
	soft_end = c1 ? c1 : lim + strlen(lim);
	if (parse_u64(lim, (size_t)(soft_end - lim), UINT64_MAX, &soft) < 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid soft limit: '%s'",
				   quote(q, lim, (size_t)(soft_end - lim), QUOTE_RAW));
	hard = soft;
	if (c1) {
		const char *h = c1 + 1, *h_end;
		c2 = strchr(h, ':');
		h_end = c2 ? c2 : h + strlen(h);
		if (parse_u64(h, (size_t)(h_end - h), UINT64_MAX, &hard) < 0)
			return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid hard limit: '%s'",
					   quote(q, h, (size_t)(h_end - h), QUOTE_RAW));
	}
	if (c2)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "too many ':' separators (got '%s')", quote_str(q, s));
	if (soft > hard)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "soft limit cannot exceed hard limit (got '%s')",
				   quote_str(q, s));
	res = rlimit_resource_n(s, (size_t)(eq - s));
	if (res < 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "unknown rlimit resource: '%s'",
				   quote(q, s, (size_t)(eq - s), QUOTE_RAW));
	out->resource = res;
	out->soft = soft;
	out->hard = hard;
	return 0;
}

/* ---- env and labels ------------------------------------------------------------- */

int parse_env(const char *spec, char **out, msb_error *err)
{
	const char *eq = strchr(spec, '='), *val;
	char q[QUOTE_MAX];

	if (eq == spec || !*spec)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "environment variable name must not be empty (got '%s')",
				   quote_str(q, spec));
	if (eq) {
		*out = xstrdup(spec);
		return 0;
	}
	val = getenv(spec);
	if (!val)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "environment variable '%s' not set", quote_str(q, spec));
	*out = xasprintf("%s=%s", spec, val);
	return 0;
}

int parse_label_key_valid(const char *key, msb_error *err)
{
	/* Reserved for attributes the runtime itself attaches to a sandbox's metrics. */
	static const char *const reserved[] = {"sandbox.", "microsandbox.", "service."};
	char q[QUOTE_MAX];
	size_t i;

	if (!*key)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "label key must not be empty");
	for (i = 0; i < ARRAY_SIZE(reserved); i++)
		if (!strncmp(key, reserved[i], strlen(reserved[i])))
			return msb_err_set(err, MSB_ERR_INVALID, 0,
					   "label key '%s' uses the reserved prefix '%s' (keys may not start "
					   "with sandbox., microsandbox. or service.)",
					   quote_str(q, key), reserved[i]);
	return 0;
}

int parse_label(const char *spec, char **key_out, char **value_out, msb_error *err)
{
	const char *eq = strchr(spec, '=');
	_cleanup_free_ char *key = eq ? xstrndup(spec, (size_t)(eq - spec)) : xstrdup(spec);
	char q[QUOTE_MAX];

	if (!*key)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "label key must not be empty (got '%s')",
				   quote_str(q, spec));
	if (parse_label_key_valid(key, err) < 0)
		return -MSB_ERR_INVALID;
	*value_out = xstrdup(eq ? eq + 1 : "");
	*key_out = steal_ptr(&key);
	return 0;
}

/* ---- shell, profiles, pull policy ----------------------------------------------- */

/*
 * Length of the Unicode White_Space character (beyond ASCII) encoded at @p,
 * or 0. Rust's char::is_whitespace, which the reference uses, counts these.
 */
static size_t utf8_space_len(const unsigned char *p)
{
	if (p[0] == 0xc2 && (p[1] == 0x85 || p[1] == 0xa0))
		return 2; /* U+0085 NEL, U+00A0 NBSP */
	if (p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80)
		return 3; /* U+1680 */
	if (p[0] == 0xe2 && p[1] == 0x80 && ((p[2] >= 0x80 && p[2] <= 0x8a) || p[2] == 0xa8 || p[2] == 0xa9 ||
					     p[2] == 0xaf))
		return 3; /* U+2000-U+200A, U+2028, U+2029, U+202F */
	if (p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f)
		return 3; /* U+205F */
	if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
		return 3; /* U+3000 */
	return 0;
}

int parse_shell_valid(const char *s, msb_error *err)
{
	const unsigned char *p;
	char q[QUOTE_MAX];

	if (!*s)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "--shell must not be empty");
	/* Whitespace splits a shebang line; the multi-byte checks stop at the NUL (it never matches). */
	for (p = (const unsigned char *)s; *p; p++)
		if (is_ascii_space((char)*p) || utf8_space_len(p))
			return msb_err_set(err, MSB_ERR_INVALID, 0,
					   "--shell must not contain whitespace or NUL (got %s); use --script-raw "
					   "or --script-path if you need a custom shebang",
					   quote(q, s, strlen(s), QUOTE_DEBUG));
	if (!strcmp(s, "/"))
		return msb_err_set(err, MSB_ERR_INVALID, 0, "--shell \"/\" is not a valid interpreter");
	return 0;
}

static const char *const security_names[] = {
	[PARSE_SECURITY_DEFAULT] = "default",
	[PARSE_SECURITY_RESTRICTED] = "restricted",
};
static_assert(ARRAY_SIZE(security_names) == PARSE_SECURITY_COUNT, "security_names");

static const char *const pull_names[] = {
	[PARSE_PULL_ALWAYS] = "always",
	[PARSE_PULL_IF_MISSING] = "if-missing",
	[PARSE_PULL_NEVER] = "never",
};
static_assert(ARRAY_SIZE(pull_names) == PARSE_PULL_COUNT, "pull_names");

static int lookup(const char *const *names, int n, const char *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

int parse_security(const char *s, msb_error *err)
{
	char q[QUOTE_MAX];
	int i = lookup(security_names, PARSE_SECURITY_COUNT, s);

	if (i < 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "invalid security profile: %s (expected: default, restricted)", quote_str(q, s));
	return i;
}

const char *parse_security_name(int profile)
{
	return profile >= 0 && profile < PARSE_SECURITY_COUNT ? security_names[profile] : NULL;
}

int parse_pull_policy(const char *s, msb_error *err)
{
	char q[QUOTE_MAX];
	int i = lookup(pull_names, PARSE_PULL_COUNT, s);

	if (i < 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "invalid pull policy: %s (expected: always, if-missing, never)", quote_str(q, s));
	return i;
}

const char *parse_pull_policy_name(int policy)
{
	return policy >= 0 && policy < PARSE_PULL_COUNT ? pull_names[policy] : NULL;
}

/* ---- ports ------------------------------------------------------------------------- */

/* Parse [s, s+len) as an IPv6 or IPv4 literal into @out. Return: 0 or -1. */
static int parse_ip(const char *s, size_t len, struct parse_port *out)
{
	char buf[INET6_ADDRSTRLEN];

	if (len >= sizeof(buf) || memchr(s, '\0', len))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET6, buf, &out->bind.v6) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	if (inet_pton(AF_INET, buf, &out->bind.v4) == 1) {
		out->family = AF_INET;
		return 0;
	}
	return -1;
}

/* A port number 1-65535: 0 would make the host side pick a port nobody is told about. */
static int parse_port_num(const char *s, size_t len, uint16_t *out)
{
	uint64_t v;

	if (parse_u64(s, len, 65535, &v) < 0 || v == 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* Split `[ADDR]:HOST:GUEST` (leading '[' already seen) into its three parts. */
static int port_split_v6(const char *p, const char *end, const char *spec, const char **bind, size_t *bind_len,
			 const char **host, msb_error *err)
{
	const char *close = NULL, *c, *colon;
	char q[QUOTE_MAX];

	for (c = p + 1; c + 1 < end; c++)
		if (c[0] == ']' && c[1] == ':') {
			close = c;
			break;
		}
	if (!close)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "IPv6 port bind must be in format [ADDR]:HOST:GUEST[/udp] (got '%s')",
				   quote_str(q, spec));
	colon = memchr(close + 2, ':', (size_t)(end - close - 2));
	if (!colon)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "port must be in format [ADDR]:HOST:GUEST[/udp] (got '%s')", quote_str(q, spec));
	*bind = p + 1;
	*bind_len = (size_t)(close - p - 1);
	*host = close + 2;
	return 0;
}

int parse_port(const char *spec, struct parse_port *out, msb_error *err)
{
	size_t len = strlen(spec), bind_len = 0;
	const char *end, *bind = NULL, *host = spec, *guest, *c1, *c2, *c3;
	struct parse_port pm = {.family = AF_INET, .proto = IPPROTO_TCP};
	char q[QUOTE_MAX];
	int r;

	pm.bind.v4.s_addr = htonl(INADDR_LOOPBACK);
	if (len >= 4 && !strcmp(spec + len - 4, "/udp"))
		pm.proto = IPPROTO_UDP, len -= 4;
	else if (len >= 4 && !strcmp(spec + len - 4, "/tcp"))
		len -= 4;
	end = spec + len;

	if (len && spec[0] == '[') {
		r = port_split_v6(spec, end, spec, &bind, &bind_len, &host, err);
		if (r < 0)
			return r;
	} else {
		c1 = memchr(spec, ':', len);
		c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
		c3 = c2 ? memchr(c2 + 1, ':', (size_t)(end - c2 - 1)) : NULL;
		if (!c1 || c3)
			return msb_err_set(err, MSB_ERR_INVALID, 0,
					   "port must be in format HOST:GUEST[/udp] or BIND_ADDR:HOST:GUEST[/udp] "
					   "(got '%s')",
					   quote_str(q, spec));
		if (c2)
			bind = spec, bind_len = (size_t)(c1 - spec), host = c1 + 1;
	}
	if (bind && parse_ip(bind, bind_len, &pm) < 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid bind address: '%s'",
				   quote(q, bind, bind_len, QUOTE_RAW));
	c1 = memchr(host, ':', (size_t)(end - host));
	guest = c1 + 1;
	if (parse_port_num(host, (size_t)(c1 - host), &pm.host_port) < 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid host port: '%s'",
				   quote(q, host, (size_t)(c1 - host), QUOTE_RAW));
	if (parse_port_num(guest, (size_t)(end - guest), &pm.guest_port) < 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid guest port: '%s'",
				   quote(q, guest, (size_t)(end - guest), QUOTE_RAW));
	*out = pm;
	return 0;
}

/* ---- detach keys ---------------------------------------------------------------- */

/* The byte for one trimmed key [p, p+n), or -1. */
static int detach_key(const char *p, size_t n)
{
	static const char punct[] = "][\\^_@";
	static const uint8_t punct_byte[] = {0x1d, 0x1b, 0x1c, 0x1e, 0x1f, 0x00};
	const char *hit;
	char c;

	if (n == 1)
		return (unsigned char)p[0] < 0x80 ? (unsigned char)p[0] : -1;
	if (n != 6 || memcmp(p, "ctrl-", 5) != 0)
		return -1;
	c = p[5];
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 1;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 1;
	hit = c ? strchr(punct, c) : NULL;
	return hit ? punct_byte[hit - punct] : -1;
}

int parse_detach_keys(const char *spec, struct parse_detach_keys *out, msb_error *err)
{
	struct parse_detach_keys k = {.len = 0};
	const char *p = spec;
	char q[QUOTE_MAX];

	for (;;) {
		const char *comma = strchr(p, ','), *e = comma ? comma : p + strlen(p), *b = p;
		int byte;

		trim(&b, &e);
		byte = detach_key(b, (size_t)(e - b));
		if (byte < 0)
			return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid detach key: '%s'",
					   quote(q, b, (size_t)(e - b), QUOTE_RAW));
		if (k.len == PARSE_DETACH_KEYS_MAX)
			return msb_err_set(err, MSB_ERR_INVALID, 0, "too many detach keys (maximum %d): '%s'",
					   PARSE_DETACH_KEYS_MAX, quote_str(q, spec));
		k.seq[k.len++] = (uint8_t)byte;
		if (!comma)
			break;
		p = comma + 1;
	}
	*out = k;
	return 0;
}

/* ---- log time points ----------------------------------------------------------------- */

/* Read exactly @n digits at *p into *v and advance. Return: false if any is not a digit. */
static bool digits(const char **p, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!is_digit((*p)[i]))
			return false;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return true;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

/**
 * rfc3339_ms() - parse an RFC 3339 date-time (section 5.6).
 * @s: the text
 * @out: receives unix milliseconds
 *
 * Accepts what chrono's parse_from_rfc3339 (the reference's parser) accepts:
 * 'T', 't' or ' ' as separator, any number of fraction digits (kept to the
 * millisecond, truncated), 'Z', 'z' or ±HH:MM, and second 60 (a leap
 * second, counted as the first second of the next minute).
 *
 * Return: true on success.
 */
static bool rfc3339_ms(const char *s, int64_t *out)
{
	const char *p = s;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, ms = 0, scale = 100, sign = 0;
	int64_t t;

	if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) || !expect(&p, '-') ||
	    !digits(&p, 2, &d))
		return false;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return false;
	p++;
	if (!digits(&p, 2, &h) || !expect(&p, ':') || !digits(&p, 2, &mi) || !expect(&p, ':') ||
	    !digits(&p, 2, &sec))
		return false;
	if (expect(&p, '.')) {
		if (!is_digit(*p))
			return false;
		for (; is_digit(*p); p++, scale /= 10)
			ms += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (!digits(&p, 2, &oh) || !expect(&p, ':') || !digits(&p, 2, &om) || oh > 23 || om > 59)
			return false;
	} else {
		return false;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
		return false;
	t = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec -
	    (int64_t)sign * (oh * 3600 + om * 60);
	*out = t * 1000 + ms;
	return true;
}

/* `N[smhd]` before @now_ms. Return: true on success. */
static bool relative_ms(const char *s, int64_t now_ms, int64_t *out)
{
	static const struct {
		char unit;
		uint64_t ms;
	} units[] = {{'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}};
	size_t len = strlen(s), i;
	uint64_t n;

	if (len < 2 || parse_u64(s, len - 1, UINT64_MAX, &n) < 0)
		return false;
	for (i = 0; i < ARRAY_SIZE(units); i++) {
		if (s[len - 1] != units[i].unit)
			continue;
		if (n > (uint64_t)INT64_MAX / units[i].ms)
			return false;
		n *= units[i].ms;
		/* n <= INT64_MAX now; now_ms - n must not go below INT64_MIN. */
		if (now_ms < 0 && n > (uint64_t)(now_ms - INT64_MIN))
			return false;
		*out = now_ms - (int64_t)n;
		return true;
	}
	return false;
}

int parse_time_point(const char *s, int64_t now_ms, int64_t *out_ms, msb_error *err)
{
	char q[QUOTE_MAX];

	if (rfc3339_ms(s, out_ms) || relative_ms(s, now_ms, out_ms))
		return 0;
	return msb_err_set(err, MSB_ERR_INVALID, 0, "could not parse time %s (expected RFC 3339 or `5m` etc.)",
			   quote(q, s, strlen(s), QUOTE_DEBUG));
}

/* ---- rate limits (spec/network.md §7) ---------------------------------------------- */

int parse_size_bytes(const char *s, uint64_t *out, msb_error *err)
{
	size_t len = strlen(s);
	uint64_t v, mult = 1;
	char q[QUOTE_MAX];

	if (len) {
		char c = s[len - 1];
		if (c == 'k' || c == 'K')
			mult = 1024, len--;
		else if (c == 'm' || c == 'M')
			mult = 1024 * 1024, len--;
		else if (c == 'g' || c == 'G')
			mult = 1024 * 1024 * 1024, len--;
	}
	if (parse_u64(s, len, UINT64_MAX / mult, &v) < 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "invalid size `%s` (expected raw bytes or K/M/G suffix): e.g. 1048576, 512K, 10M",
				   quote_str(q, s));
	*out = v * mult;
	return 0;
}

int parse_rate(const char *s, bool bytes, struct parse_rate *out, msb_error *err)
{
	const char *slash = strchr(s, '/');
	char amount[64], q[QUOTE_MAX];
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t v, ms = 1000;
	int r;

	if (alen >= sizeof(amount))
		return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid rate limit `%s`", quote_str(q, s));
	memcpy(amount, s, alen);
	amount[alen] = '\0';
	if (bytes) {
		r = parse_size_bytes(amount, &v, err);
		if (r < 0)
			return r;
	} else if (parse_u64(amount, alen, UINT64_MAX, &v) < 0) {
		return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid count `%s` (expected a whole number)",
				   quote_str(q, amount));
	}
	if (v == 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid rate limit `%s`: the amount must be > 0",
				   quote_str(q, s));
	if (slash) {
		r = msb_parse_duration_ms(slash + 1, &ms, err);
		if (r < 0)
			return r;
		if (ms == 0)
			return msb_err_set(err, MSB_ERR_INVALID, 0,
					   "invalid rate limit `%s`: the interval must be at least 1ms", quote_str(q, s));
	}
	out->amount = v;
	out->interval_ms = ms;
	return 0;
}
