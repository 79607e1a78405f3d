// SPDX-License-Identifier: Apache-2.0
/*
 * policy_parse.c - the `--net-rule` token grammar of spec/network.md §1: the
 * parser with every error kind and message of the reference, the Levenshtein
 * "Did you mean" suggestions, domain-name validation, comma lists, and the
 * renderer that turns a rule back into canonical token text.
 *
 * The parser works on slices of the caller's string and never copies it; the
 * order of the checks is the order of the spec's parse algorithm, because that
 * order decides which error a malformed token reports.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <strings.h>

#include "net/policy.h"
#include "util.h"

/* ---- keyword tables -------------------------------------------------------- */

static const char *const action_names[NET_ACTION_COUNT] = {
	[NET_ACTION_ALLOW] = "allow",
	[NET_ACTION_DENY] = "deny",
};
static_assert(ARRAY_SIZE(action_names) == NET_ACTION_COUNT, "action table");

static const char *const dir_names[NET_DIR_COUNT] = {
	[NET_DIR_EGRESS] = "egress",
	[NET_DIR_INGRESS] = "ingress",
	[NET_DIR_ANY] = "any",
};
static_assert(ARRAY_SIZE(dir_names) == NET_DIR_COUNT, "direction table");

static const char *const proto_names[NET_PROTO_COUNT] = {
	[NET_PROTO_TCP] = "tcp",
	[NET_PROTO_UDP] = "udp",
	[NET_PROTO_ICMPV4] = "icmpv4",
	[NET_PROTO_ICMPV6] = "icmpv6",
};
static_assert(ARRAY_SIZE(proto_names) == NET_PROTO_COUNT, "protocol table");

static const char *const group_names[NET_GROUP_COUNT] = {
	[NET_GROUP_PUBLIC] = "public",
	[NET_GROUP_PRIVATE] = "private",
	[NET_GROUP_LOOPBACK] = "loopback",
	[NET_GROUP_LINK_LOCAL] = "link-local",
	[NET_GROUP_META] = "meta",
	[NET_GROUP_MULTICAST] = "multicast",
	[NET_GROUP_HOST] = "host",
};
static_assert(ARRAY_SIZE(group_names) == NET_GROUP_COUNT, "group table");

/*
 * Candidate lists for the suggestions, per slot, in the reference's order:
 * on a tie the earlier entry wins, so the order is part of the behaviour.
 */
static const char *const suggest_targets[] = {
	"dns", "public", "private", "loopback", "link-local", "meta", "multicast", "host",
};
static const char *const suggest_protos[] = { "any", "tcp", "udp", "icmpv4", "icmpv6" };

const char *net_action_name(int action)
{
	return action >= 0 && action < NET_ACTION_COUNT ? action_names[action] : "?";
}

const char *net_dir_name(int dir)
{
	return dir >= 0 && dir < NET_DIR_COUNT ? dir_names[dir] : "?";
}

const char *net_proto_name(int proto)
{
	return proto >= 0 && proto < NET_PROTO_COUNT ? proto_names[proto] : "?";
}

const char *net_group_name(int group)
{
	if (group == NET_GROUP_NONE)
		return "none";
	return group >= 0 && group < NET_GROUP_COUNT ? group_names[group] : "?";
}

/* ---- message quoting ----------------------------------------------------------- */

const char *net_quote(char buf[NET_QUOTE_MAX], const char *s, size_t len, bool debug)
{
	size_t o = 0;

	if (debug)
		buf[o++] = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		int n;

		if (c == '\n')
			n = snprintf(esc, sizeof(esc), "\\n");
		else if (c == '\t')
			n = snprintf(esc, sizeof(esc), "\\t");
		else if (c == '\r')
			n = snprintf(esc, sizeof(esc), "\\r");
		else if (c < 0x20 || c == 0x7f)
			n = snprintf(esc, sizeof(esc), "\\x%02x", c);
		else if (debug && (c == '"' || c == '\\'))
			n = snprintf(esc, sizeof(esc), "\\%c", c);
		else
			n = snprintf(esc, sizeof(esc), "%c", c);
		/* Keep room for "...", the closing quote and the NUL. */
		if (o + (size_t)n + 5 > NET_QUOTE_MAX) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, esc, (size_t)n);
		o += (size_t)n;
	}
	if (debug)
		buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* ---- slices ----------------------------------------------------------------- */

/* A borrowed piece of the token being parsed; @p is never NUL-terminated at @n. */
struct slice {
	const char *p;
	size_t n;
};

#define SL(s) (int)(s).n, (s).p
/* A slice quoted for a message; the buffer lives until the end of the enclosing block. */
#define QS(s) net_quote((char[NET_QUOTE_MAX]){ 0 }, (s).p, (s).n, false)

static struct slice sl_make(const char *p, size_t n)
{
	return (struct slice){ .p = p, .n = n };
}

static bool sl_eq(struct slice s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool sl_starts(struct slice s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n >= n && memcmp(s.p, lit, n) == 0;
}

/* Index of the first @c in @s, or -1. */
static long sl_find(struct slice s, char c)
{
	const char *q = s.n ? memchr(s.p, c, s.n) : NULL;
	return q ? q - s.p : -1;
}

static struct slice sl_from(struct slice s, size_t off)
{
	return sl_make(s.p + off, s.n - off);
}

/* Copy into a NUL-terminated buffer; false when it does not fit. */
static bool sl_copy(struct slice s, char *buf, size_t len)
{
	if (s.n >= len)
		return false;
	memcpy(buf, s.p, s.n);
	buf[s.n] = '\0';
	return true;
}

/*
 * Split @s at the first @max - 1 colons into @parts (like Rust's splitn):
 * the last part keeps any further colons. Returns how many parts there are.
 */
static size_t sl_splitn(struct slice s, size_t max, struct slice *parts)
{
	size_t k = 0;
	while (k + 1 < max) {
		long c = sl_find(s, ':');
		if (c < 0)
			break;
		parts[k++] = sl_make(s.p, (size_t)c);
		s = sl_from(s, (size_t)c + 1);
	}
	parts[k++] = s;
	return k;
}

/* ---- numbers ---------------------------------------------------------------- */

/*
 * Parse an unsigned decimal the way the reference's integer parser does: an
 * optional `+`, then at least one ASCII digit; leading zeros are fine.
 */
static bool parse_uint(struct slice s, unsigned max, unsigned *out)
{
	size_t i = 0;
	unsigned v = 0;

	if (s.n && s.p[0] == '+')
		i = 1;
	if (i == s.n)
		return false;
	for (; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s.p[i] - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

static bool all_digits(struct slice s)
{
	if (!s.n)
		return false;
	for (size_t i = 0; i < s.n; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	return true;
}

/* `443` or `80-443` with plain digits that fit a port: the user wrote host:port. */
static bool looks_like_port(struct slice s)
{
	unsigned v;
	long dash;

	if (all_digits(s))
		return parse_uint(s, 65535, &v);
	dash = sl_find(s, '-');
	if (dash < 0)
		return false;
	struct slice lo = sl_make(s.p, (size_t)dash), hi = sl_from(s, (size_t)dash + 1);
	return all_digits(lo) && all_digits(hi) && parse_uint(lo, 65535, &v) && parse_uint(hi, 65535, &v);
}

/* ---- suggestions -------------------------------------------------------------- */

#define LEV_MAX_UNITS 16

/*
 * Decode up to @max characters of UTF-8 into code points. A byte that does not
 * start a valid sequence counts as one character of its own (mapped above the
 * Unicode range so it equals no keyword character). Returns the count, or
 * @max + 1 when the text is longer.
 */
static size_t utf8_units(struct slice s, uint32_t *out, size_t max)
{
	size_t i = 0, k = 0;

	while (i < s.n) {
		const unsigned char *u = (const unsigned char *)s.p + i;
		size_t left = s.n - i, len = 0;
		uint32_t cp = 0;

		if (u[0] < 0x80)
			len = 1, cp = u[0];
		else if ((u[0] & 0xe0) == 0xc0)
			len = 2, cp = u[0] & 0x1f;
		else if ((u[0] & 0xf0) == 0xe0)
			len = 3, cp = u[0] & 0x0f;
		else if ((u[0] & 0xf8) == 0xf0)
			len = 4, cp = u[0] & 0x07;
		for (size_t j = 1; len && j < len; j++) {
			if (j >= left || (u[j] & 0xc0) != 0x80) {
				len = 0;
				break;
			}
			cp = cp << 6 | (u[j] & 0x3f);
		}
		if (!len)
			len = 1, cp = 0x110000u + u[0];
		if (k == max)
			return max + 1;
		out[k++] = cp;
		i += len;
	}
	return k;
}

/* Levenshtein distance between decoded @a and ASCII keyword @kw (both short). */
static size_t levenshtein(const uint32_t *a, size_t na, const char *kw)
{
	size_t nb = strlen(kw), prev[LEV_MAX_UNITS + 1], cur[LEV_MAX_UNITS + 1];

	assert(nb <= LEV_MAX_UNITS);
	for (size_t j = 0; j <= nb; j++)
		prev[j] = j;
	for (size_t i = 0; i < na; i++) {
		cur[0] = i + 1;
		for (size_t j = 0; j < nb; j++) {
			size_t sub = prev[j] + (a[i] != (unsigned char)kw[j]);
			size_t del = prev[j + 1] + 1, ins = cur[j] + 1;
			size_t m = sub < del ? sub : del;
			cur[j + 1] = m < ins ? m : ins;
		}
		memcpy(prev, cur, (nb + 1) * sizeof(prev[0]));
	}
	return prev[nb];
}

/*
 * suggest() - the closest keyword within distance 2, or "" when none is.
 * The result is a ready-made message suffix: ". Did you mean `X`?".
 */
static const char *suggest(struct slice s, const char *const *kws, size_t n, char *buf, size_t len)
{
	uint32_t units[LEV_MAX_UNITS];
	size_t na = utf8_units(s, units, LEV_MAX_UNITS), best_d = 3;
	const char *best = NULL;

	/* Keywords are at most 10 characters, so longer input is never within 2. */
	if (na > LEV_MAX_UNITS)
		return "";
	for (size_t i = 0; i < n; i++) {
		size_t d = levenshtein(units, na, kws[i]);
		if (d <= 2 && d < best_d)
			best = kws[i], best_d = d;
	}
	if (!best)
		return "";
	snprintf(buf, len, ". Did you mean `%s`?", best);
	return buf;
}

#define SUGGEST(s, list, buf) suggest((s), (list), ARRAY_SIZE(list), (buf), sizeof(buf))

/* ---- domain names --------------------------------------------------------------- */

static bool label_char_ok(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c == '_' || c == '-';
}

/* Check one label; on failure write the reason into @why. */
static bool label_ok(struct slice l, char *why, size_t len)
{
	if (!l.n) {
		snprintf(why, len, "invalid domain name: empty label");
		return false;
	}
	if (l.n > NET_LABEL_MAX) {
		snprintf(why, len, "invalid domain name: label of %zu bytes (at most %d)", l.n,
			 NET_LABEL_MAX);
		return false;
	}
	for (size_t i = 0; i < l.n; i++) {
		unsigned char c = (unsigned char)l.p[i];
		if (!label_char_ok(c)) {
			if (c > 0x20 && c < 0x7f)
				snprintf(why, len, "invalid domain name: character `%c` is not allowed", c);
			else
				snprintf(why, len, "invalid domain name: byte 0x%02x is not allowed", c);
			return false;
		}
	}
	if (l.p[0] == '-') {
		snprintf(why, len, "invalid domain name: label `%.*s` starts with `-`", SL(l));
		return false;
	}
	return true;
}

/*
 * Validate @s as a domain name; on success write the canonical form to @out,
 * on failure the reason to @why. No allocation: the DNS path uses this too.
 */
static bool name_canon(struct slice s, char out[NET_NAME_MAX + 1], char *why, size_t len)
{
	while (s.n && s.p[0] == '.')
		s = sl_from(s, 1);
	while (s.n && s.p[s.n - 1] == '.')
		s.n--;
	if (!s.n) {
		snprintf(why, len, "domain name is empty");
		return false;
	}
	if (s.n > NET_NAME_MAX) {
		snprintf(why, len, "invalid domain name: %zu bytes long (at most %d)", s.n, NET_NAME_MAX);
		return false;
	}
	for (struct slice rest = s;;) {
		long dot = sl_find(rest, '.');
		struct slice l = sl_make(rest.p, dot < 0 ? rest.n : (size_t)dot);
		if (!label_ok(l, why, len))
			return false;
		if (dot < 0)
			break;
		rest = sl_from(rest, (size_t)dot + 1);
	}
	for (size_t i = 0; i < s.n; i++) {
		char c = s.p[i];
		out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	out[s.n] = '\0';
	return true;
}

int net_name_canonical(const char *s, size_t n, char out[NET_NAME_MAX + 1], msb_error *err)
{
	char why[160];

	if (!name_canon(sl_make(s, n), out, why, sizeof(why)))
		return msb_err_set(err, MSB_ERR_INVALID, 0, "%s", why);
	return 0;
}

/* ---- addresses ---------------------------------------------------------------------- */

/* Parse an IPv4 or IPv6 address from a slice. */
static bool addr_from(struct slice s, struct net_addr *a)
{
	char buf[64];

	memset(a, 0, sizeof(*a));
	if (!sl_copy(s, buf, sizeof(buf)))
		return false;
	if (inet_pton(AF_INET, buf, a->b) == 1) {
		a->family = NET_AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, buf, a->b) == 1) {
		a->family = NET_AF_INET6;
		return true;
	}
	memset(a, 0, sizeof(*a));
	return false;
}

/* A dotted netmask to its prefix length; false when the ones are not contiguous. */
static bool mask_to_prefix(const struct net_addr *m, unsigned *prefix)
{
	uint32_t v = (uint32_t)m->b[0] << 24 | (uint32_t)m->b[1] << 16 | (uint32_t)m->b[2] << 8 | m->b[3];
	unsigned ones = 0;

	while (ones < 32 && (v & (0x80000000u >> ones)))
		ones++;
	if (ones < 32 && (v << ones) != 0)
		return false;
	*prefix = ones;
	return true;
}

/*
 * parse_cidr() - ADDR/PREFIX as the reference's network parser reads it.
 * Exactly one `/`; the address is IPv4 or IPv6; the IPv4 prefix is a decimal
 * up to 32 or a contiguous dotted netmask, the IPv6 one a decimal up to 128.
 * Host bits are kept as written.
 */
static bool parse_cidr(struct slice s, struct net_rule *r)
{
	long slash = sl_find(s, '/');
	struct slice a, p;
	struct net_addr mask;
	unsigned prefix;

	if (slash < 0)
		return false;
	a = sl_make(s.p, (size_t)slash);
	p = sl_from(s, (size_t)slash + 1);
	if (sl_find(p, '/') >= 0 || !addr_from(a, &r->addr))
		return false;
	if (r->addr.family == NET_AF_INET) {
		if (addr_from(p, &mask) && mask.family == NET_AF_INET) {
			if (!mask_to_prefix(&mask, &prefix))
				return false;
		} else if (!parse_uint(p, 32, &prefix)) {
			return false;
		}
	} else if (!parse_uint(p, 128, &prefix)) {
		return false;
	}
	r->prefix = (uint8_t)prefix;
	r->dest = NET_DEST_CIDR;
	return true;
}

/* ---- the grammar ----------------------------------------------------------------------- */

/* Keyword lookup in a name table; -1 when absent. */
static int keyword(struct slice s, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (sl_eq(s, names[i]))
			return (int)i;
	return -1;
}

static int parse_action_dir(struct slice left, struct net_rule *r, msb_error *err)
{
	long colon = sl_find(left, ':');
	struct slice act = colon < 0 ? left : sl_make(left.p, (size_t)colon);
	char sug[64];
	int k;

	k = keyword(act, action_names, NET_ACTION_COUNT);
	if (k < 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "`%s` is not a recognized action. Expected `allow` or `deny`%s", QS(act),
				   SUGGEST(act, action_names, sug));
	r->action = (enum net_action)k;
	r->dir = NET_DIR_EGRESS;
	if (colon < 0)
		return 0;
	struct slice dir = sl_from(left, (size_t)colon + 1);
	k = keyword(dir, dir_names, NET_DIR_COUNT);
	if (k < 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "`%s` is not a recognized direction. Expected `egress`, `ingress`, or `any`%s",
				   QS(dir), SUGGEST(dir, dir_names, sug));
	r->dir = (enum net_dir)k;
	return 0;
}

/*
 * parse_dns() - the `dns` macro: egress to `host`, UDP+TCP (or one of them),
 * port 53. @tok is the whole token, named by the errors that lack a field.
 */
static int parse_dns(struct slice right, struct slice tok, struct net_rule *r, msb_error *err)
{
	struct slice parts[4];
	size_t n;

	if (r->dir != NET_DIR_EGRESS)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "the `dns` target only supports egress rules; omit the direction or use "
				   "`allow:egress@dns`/`deny:egress@dns` (in rule token `%s`)",
				   QS(tok));
	n = sl_splitn(right, 4, parts);
	if (n == 4)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "rule token `%s` has trailing fields after `<ports>`; if this is an IPv6 "
				   "address, wrap it as `[<addr>]`",
				   QS(tok));
	if (n < 2 || sl_eq(parts[1], "") || sl_eq(parts[1], "any"))
		r->protos = NET_PROTO_BIT(NET_PROTO_UDP) | NET_PROTO_BIT(NET_PROTO_TCP);
	else if (sl_eq(parts[1], "udp"))
		r->protos = NET_PROTO_BIT(NET_PROTO_UDP);
	else if (sl_eq(parts[1], "tcp"))
		r->protos = NET_PROTO_BIT(NET_PROTO_TCP);
	else
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "the `dns` target supports `tcp`, `udp`, or `any`, not `%s`", QS(parts[1]));
	if (n == 3 && !sl_eq(parts[2], "") && !sl_eq(parts[2], "any") && !sl_eq(parts[2], "53"))
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "the `dns` target is fixed to port 53; omit the port or use `53`/`any` "
				   "(got `%s` in rule token `%s`)",
				   QS(parts[2]), QS(tok));
	r->dest = NET_DEST_GROUP;
	r->group = NET_GROUP_HOST;
	r->has_ports = true;
	r->port_lo = r->port_hi = 53;
	return 0;
}

/* A domain or suffix destination from @raw (the text after `domain=`, `*.`, ...). */
static int parse_name(struct slice raw, bool suffix, struct net_rule *r, msb_error *err)
{
	char why[160];

	if (!name_canon(raw, r->name, why, sizeof(why)))
		return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid domain `%s`: %s", QS(raw), why);
	if (suffix && !strchr(r->name, '.'))
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "invalid domain `%s`: suffix `%s` is a single DNS label and would match every "
				   "domain under that TLD; use at least two labels (e.g. `*.example.com`)",
				   QS(raw), r->name);
	r->dest = suffix ? NET_DEST_SUFFIX : NET_DEST_DOMAIN;
	return 0;
}

/* The unbracketed target, in the spec's order of forms. */
static int parse_target(struct slice t, struct net_rule *r, msb_error *err)
{
	char sug[64];
	int g;

	if (!t.n)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "`` is not a valid target. Expected: any, dns, a group name (public, private, "
				   "loopback, link-local, meta, multicast, host), an IP, a CIDR, a domain (with dot), "
				   "domain=<name>, or suffix=<domain>");
	if (sl_eq(t, "any")) {
		r->dest = NET_DEST_ANY;
		return 0;
	}
	g = keyword(t, group_names, NET_GROUP_COUNT);
	if (g >= 0) {
		r->dest = NET_DEST_GROUP;
		r->group = (enum net_group)g;
		return 0;
	}
	if (sl_starts(t, "*."))
		return parse_name(sl_from(t, 2), true, r, err);
	if (sl_starts(t, "suffix="))
		return parse_name(sl_from(t, 7), true, r, err);
	if (sl_starts(t, "domain="))
		return parse_name(sl_from(t, 7), false, r, err);
	if (sl_find(t, '/') >= 0) {
		if (!parse_cidr(t, r))
			return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid CIDR `%s`", QS(t));
		return 0;
	}
	if (addr_from(t, &r->addr)) {
		r->dest = NET_DEST_CIDR;
		r->prefix = r->addr.family == NET_AF_INET ? 32 : 128;
		return 0;
	}
	if (sl_find(t, '.') >= 0)
		return parse_name(t, false, r, err);
	return msb_err_set(err, MSB_ERR_INVALID, 0,
			   "`%s` is ambiguous (looks like a single-label hostname or a typoed keyword). Use "
			   "`domain=%s` to target a literal hostname%s",
			   QS(t), QS(t), SUGGEST(t, suggest_targets, sug));
}

/* `[v6]` or `[v6/prefix]`: @inner is the text between the brackets. */
static int parse_bracketed_target(struct slice inner, struct net_rule *r, msb_error *err)
{
	if (sl_find(inner, '/') >= 0) {
		if (!parse_cidr(inner, r))
			return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid CIDR `%s`", QS(inner));
	} else {
		if (!addr_from(inner, &r->addr))
			return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid IP address `%s`", QS(inner));
		r->dest = NET_DEST_CIDR;
		r->prefix = 128;
	}
	if (r->addr.family != NET_AF_INET6)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "`%s` is not an IPv6 address or CIDR; only IPv6 forms belong inside `[...]`",
				   QS(inner));
	return 0;
}

/* Protocol and ports slots, as the parse algorithm hands them over (absent = n 0, p NULL). */
struct tail {
	bool has_proto, has_ports;
	struct slice proto, ports;
};

static int parse_bracketed(struct slice right, struct slice tok, struct net_rule *r, struct tail *t,
			   msb_error *err)
{
	struct slice after_open = sl_from(right, 1), parts[3];
	long close = sl_find(after_open, ']');
	size_t n;
	int ret;

	if (close < 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "unclosed `[` in rule token `%s`; IPv6 addresses must be wrapped as `[<addr>]`",
				   QS(tok));
	ret = parse_bracketed_target(sl_make(after_open.p, (size_t)close), r, err);
	if (ret < 0)
		return ret;
	struct slice rest = sl_from(after_open, (size_t)close + 1);
	if (!rest.n)
		return 0;
	if (rest.p[0] != ':')
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "rule token `%s` has unexpected content after `]`; expected `:<proto>` or end "
				   "of token",
				   QS(tok));
	n = sl_splitn(sl_from(rest, 1), 3, parts);
	if (n == 3)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "rule token `%s` has trailing fields after `<ports>`; if this is an IPv6 "
				   "address, wrap it as `[<addr>]`",
				   QS(tok));
	t->has_proto = true, t->proto = parts[0];
	if (n == 2)
		t->has_ports = true, t->ports = parts[1];
	return 0;
}

static int parse_unbracketed(struct slice right, struct slice tok, struct net_rule *r, struct tail *t,
			     msb_error *err)
{
	struct slice parts[4];
	size_t n = sl_splitn(right, 4, parts);

	if (n == 4)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "rule token `%s` has trailing fields after `<ports>`; if this is an IPv6 "
				   "address, wrap it as `[<addr>]`",
				   QS(tok));
	/* Checked before the target: `example.com:443` is the classic mistake. */
	if (n >= 2 && looks_like_port(parts[1]))
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "`%s` is a port, not a protocol; did you mean `%s:tcp:%s`? port numbers "
				   "don't belong in the target",
				   QS(parts[1]), QS(parts[0]), QS(parts[1]));
	if (n >= 2)
		t->has_proto = true, t->proto = parts[1];
	if (n >= 3)
		t->has_ports = true, t->ports = parts[2];
	return parse_target(parts[0], r, err);
}

static int parse_proto(struct slice s, struct net_rule *r, msb_error *err)
{
	char sug[64];
	int k;

	if (sl_eq(s, "any"))
		return 0;
	k = keyword(s, proto_names, NET_PROTO_COUNT);
	if (k < 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "`%s` is not a recognized protocol. Expected `any`, `tcp`, `udp`, `icmpv4`, or "
				   "`icmpv6`%s",
				   QS(s), SUGGEST(s, suggest_protos, sug));
	r->protos = NET_PROTO_BIT(k);
	return 0;
}

static int parse_ports(struct slice s, struct net_rule *r, msb_error *err)
{
	long dash = sl_find(s, '-');
	unsigned lo = 0, hi = 0;
	bool ok;

	if (sl_eq(s, "any"))
		return 0;
	if (dash >= 0)
		ok = parse_uint(sl_make(s.p, (size_t)dash), 65535, &lo) &&
		     parse_uint(sl_from(s, (size_t)dash + 1), 65535, &hi);
	else
		ok = parse_uint(s, 65535, &lo) && (hi = lo, true);
	if (!ok)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "`%s` is not a valid ports value. Expected `any`, `<port>`, or `<lo>-<hi>`",
				   QS(s));
	if (lo > hi)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid port range %u..%u; lo must be <= hi", lo,
				   hi);
	r->has_ports = true;
	r->port_lo = (uint16_t)lo;
	r->port_hi = (uint16_t)hi;
	return 0;
}

/* parse_token() - the whole parse algorithm of spec/network.md §1 on one token. */
static int parse_token(struct slice tok, struct net_rule *r, msb_error *err)
{
	const unsigned icmp = NET_PROTO_BIT(NET_PROTO_ICMPV4) | NET_PROTO_BIT(NET_PROTO_ICMPV6);
	long at = sl_find(tok, '@');
	struct tail t = { 0 };
	int ret;

	memset(r, 0, sizeof(*r));
	r->group = NET_GROUP_NONE;
	if (at < 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "rule token `%s` is missing `@`; expected "
				   "`<action>[:<direction>]@<target>[:<proto>[:<ports>]]`",
				   QS(tok));
	ret = parse_action_dir(sl_make(tok.p, (size_t)at), r, err);
	if (ret < 0)
		return ret;
	struct slice right = sl_from(tok, (size_t)at + 1);
	if (sl_eq(right, "dns") || sl_starts(right, "dns:"))
		return parse_dns(right, tok, r, err);
	if (right.n && right.p[0] == '[')
		ret = parse_bracketed(right, tok, r, &t, err);
	else
		ret = parse_unbracketed(right, tok, r, &t, err);
	if (ret < 0)
		return ret;
	if (t.has_proto && (ret = parse_proto(t.proto, r, err)) < 0)
		return ret;
	if (t.has_ports && (ret = parse_ports(t.ports, r, err)) < 0)
		return ret;
	if (r->dir != NET_DIR_EGRESS && (r->protos & icmp))
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "ingress and any-direction rules do not support ICMP; only TCP (and UDP when UDP "
				   "publishing lands) (in rule token `%s`)",
				   QS(tok));
	return 0;
}

int net_rule_parse(const char *token, struct net_rule *out, msb_error *err)
{
	return parse_token(sl_make(token, strlen(token)), out, err);
}

static bool is_trim_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int net_rules_parse_list(struct net_rules *rules, const char *value, msb_error *err)
{
	size_t old = rules->n;
	struct slice rest = sl_make(value, strlen(value));
	struct net_rule r;

	for (;;) {
		long comma = sl_find(rest, ',');
		struct slice piece = sl_make(rest.p, comma < 0 ? rest.n : (size_t)comma);

		while (piece.n && is_trim_space(piece.p[0]))
			piece = sl_from(piece, 1);
		while (piece.n && is_trim_space(piece.p[piece.n - 1]))
			piece.n--;
		if (piece.n) {
			int ret = parse_token(piece, &r, err);
			if (ret < 0) {
				rules->n = old;
				return ret;
			}
			net_rules_push(rules, &r);
		}
		if (comma < 0)
			break;
		rest = sl_from(rest, (size_t)comma + 1);
	}
	return (int)(rules->n - old);
}

/* ---- rendering ------------------------------------------------------------------------- */

/* Bounded text builder: @pos counts the full length even past @len, like snprintf. */
struct sbuf {
	char *buf;
	size_t len, pos;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room = b->pos < b->len ? b->len - b->pos : 0;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? b->buf + b->pos : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->pos += (size_t)n;
}

/* A bare name is only safe when it has a dot and does not read as an IPv4 address. */
static bool name_is_bare_safe(const char *name)
{
	struct net_addr a;
	return strchr(name, '.') && !addr_from(sl_make(name, strlen(name)), &a);
}

static void format_target(struct sbuf *b, const struct net_rule *r)
{
	char a[NET_ADDR_STRLEN];
	bool v6;

	switch (r->dest) {
	case NET_DEST_ANY:
		sb_printf(b, "any");
		break;
	case NET_DEST_GROUP:
		sb_printf(b, "%s", net_group_name(r->group));
		break;
	case NET_DEST_CIDR:
		net_addr_format(&r->addr, a, sizeof(a));
		v6 = r->addr.family == NET_AF_INET6;
		sb_printf(b, "%s%s", v6 ? "[" : "", a);
		if (r->prefix != (v6 ? 128 : 32))
			sb_printf(b, "/%u", (unsigned)r->prefix);
		sb_printf(b, "%s", v6 ? "]" : "");
		break;
	case NET_DEST_DOMAIN:
		sb_printf(b, "%s%s", name_is_bare_safe(r->name) ? "" : "domain=", r->name);
		break;
	case NET_DEST_SUFFIX:
		sb_printf(b, "*.%s", r->name);
		break;
	default:
		sb_printf(b, "?");
		break;
	}
}

/* One token with at most one protocol (@proto < 0: any). */
static void format_one(struct sbuf *b, const struct net_rule *r, int proto)
{
	sb_printf(b, "%s", net_action_name(r->action));
	if (r->dir != NET_DIR_EGRESS)
		sb_printf(b, ":%s", net_dir_name(r->dir));
	sb_printf(b, "@");
	format_target(b, r);
	if (r->has_ports) {
		sb_printf(b, ":%s", proto < 0 ? "any" : net_proto_name(proto));
		if (r->port_lo == r->port_hi)
			sb_printf(b, ":%u", (unsigned)r->port_lo);
		else
			sb_printf(b, ":%u-%u", (unsigned)r->port_lo, (unsigned)r->port_hi);
	} else if (proto >= 0) {
		sb_printf(b, ":%s", net_proto_name(proto));
	}
}

int net_rule_format(const struct net_rule *r, char *buf, size_t len)
{
	const unsigned both = NET_PROTO_BIT(NET_PROTO_UDP) | NET_PROTO_BIT(NET_PROTO_TCP);
	struct sbuf b = { .buf = buf, .len = len };
	bool first = true;

	if (len)
		buf[0] = '\0';
	if (r->dest == NET_DEST_GROUP && r->group == NET_GROUP_HOST && r->dir == NET_DIR_EGRESS &&
	    r->has_ports && r->port_lo == 53 && r->port_hi == 53 && r->protos == both) {
		sb_printf(&b, "%s@dns", net_action_name(r->action));
		return (int)b.pos;
	}
	if (!r->protos || !(r->protos & (r->protos - 1))) {
		format_one(&b, r, r->protos ? __builtin_ctz(r->protos) : -1);
		return (int)b.pos;
	}
	for (int p = 0; p < NET_PROTO_COUNT; p++) {
		if (!(r->protos & NET_PROTO_BIT(p)))
			continue;
		if (!first)
			sb_printf(&b, ",");
		format_one(&b, r, p);
		first = false;
	}
	return (int)b.pos;
}

bool net_rule_equal(const struct net_rule *a, const struct net_rule *b)
{
	if (a->action != b->action || a->dir != b->dir || a->dest != b->dest || a->protos != b->protos ||
	    a->has_ports != b->has_ports)
		return false;
	if (a->has_ports && (a->port_lo != b->port_lo || a->port_hi != b->port_hi))
		return false;
	switch (a->dest) {
	case NET_DEST_GROUP:
		return a->group == b->group;
	case NET_DEST_CIDR:
		return a->prefix == b->prefix && net_addr_equal(&a->addr, &b->addr);
	case NET_DEST_DOMAIN:
	case NET_DEST_SUFFIX:
		return strcmp(a->name, b->name) == 0;
	default:
		return true;
	}
}
