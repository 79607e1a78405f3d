// SPDX-License-Identifier: Apache-2.0
/*
 * policy_eval.c - addresses, destination groups and the evaluators of
 * spec/network.md §2-§4: first-match evaluation of new flows (with the
 * CacheOnly, Sni and Deferred ways of matching domain rules), the DNS query
 * policy, and the rebinding-protection exemption check.
 *
 * Nothing here allocates or keeps state: every evaluator is a single walk
 * over the rule array (plus, for a domain rule, over the names pinned to the
 * address), so a flow costs O(rules x pinned names) and can run in the
 * supervisor's event loop.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <strings.h>

#include "net/policy.h"
#include "util.h"

/* ---- addresses ---------------------------------------------------------------- */

int net_addr_parse(const char *s, struct net_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->b) == 1) {
		out->family = NET_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->b) == 1) {
		out->family = NET_AF_INET6;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -1;
}

void net_addr_set(struct net_addr *a, int family, const void *bytes)
{
	memset(a, 0, sizeof(*a));
	if (family == NET_AF_INET || family == NET_AF_INET6) {
		a->family = (uint8_t)family;
		memcpy(a->b, bytes, family == NET_AF_INET ? 4 : 16);
	}
}

void net_addr_normalize(struct net_addr *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (a->family != NET_AF_INET6 || memcmp(a->b, mapped, sizeof(mapped)) != 0)
		return;
	memmove(a->b, a->b + 12, 4);
	memset(a->b + 4, 0, 12);
	a->family = NET_AF_INET;
}

const char *net_addr_format(const struct net_addr *a, char *buf, size_t len)
{
	int af = a->family == NET_AF_INET ? AF_INET : a->family == NET_AF_INET6 ? AF_INET6 : -1;

	if (af < 0 || !inet_ntop(af, a->b, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

bool net_addr_equal(const struct net_addr *a, const struct net_addr *b)
{
	size_t n = a->family == NET_AF_INET ? 4 : 16;
	return a->family == b->family && memcmp(a->b, b->b, n) == 0;
}

bool net_addr_in_cidr(const struct net_addr *a, const struct net_addr *base, unsigned prefix)
{
	unsigned bits = a->family == NET_AF_INET ? 32 : 128, whole, rest;

	if (a->family == NET_AF_NONE || a->family != base->family || prefix > bits)
		return false;
	whole = prefix / 8;
	rest = prefix % 8;
	if (memcmp(a->b, base->b, whole) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a->b[whole] & mask) == (base->b[whole] & mask);
}

/* ---- groups ------------------------------------------------------------------- */

/* One row of an ordered CIDR table: family, base address bytes, prefix. */
struct cidr_row {
	int group;
	uint8_t family;
	uint8_t b[16];
	uint8_t prefix;
};

#define V4(g, a, b_, c, d, p) { (g), NET_AF_INET, { (a), (b_), (c), (d) }, (p) }
/* An IPv6 row from its first three 16-bit groups (the rest are zero). */
#define V6(g, h0, h1, h2, p)                                                                          \
	{ (g), NET_AF_INET6, { (h0) >> 8, (h0) & 0xff, (h1) >> 8, (h1) & 0xff, (h2) >> 8, (h2) & 0xff }, (p) }

/*
 * The static groups, first hit wins (spec/network.md §2). `meta` precedes
 * `link-local` because 169.254.169.254 is inside 169.254/16; `host` is handled
 * before this table because the gateways sit in private ranges.
 */
static const struct cidr_row group_table[] = {
	V4(NET_GROUP_META, 169, 254, 169, 254, 32),
	V4(NET_GROUP_LOOPBACK, 127, 0, 0, 0, 8),
	{ NET_GROUP_LOOPBACK, NET_AF_INET6, { [15] = 1 }, 128 },
	V4(NET_GROUP_PRIVATE, 10, 0, 0, 0, 8),
	V4(NET_GROUP_PRIVATE, 172, 16, 0, 0, 12),
	V4(NET_GROUP_PRIVATE, 192, 168, 0, 0, 16),
	V4(NET_GROUP_PRIVATE, 100, 64, 0, 0, 10),
	V6(NET_GROUP_PRIVATE, 0xfc00, 0, 0, 7),
	V4(NET_GROUP_LINK_LOCAL, 169, 254, 0, 0, 16),
	V6(NET_GROUP_LINK_LOCAL, 0xfe80, 0, 0, 10),
	V4(NET_GROUP_MULTICAST, 224, 0, 0, 0, 4),
	V6(NET_GROUP_MULTICAST, 0xff00, 0, 0, 8),
};

/* Reserved answers for rebinding protection (spec/network.md §4). */
static const struct cidr_row reserved_table[] = {
	V4(0, 0, 0, 0, 0, 8),
	V4(0, 127, 0, 0, 0, 8),
	V4(0, 10, 0, 0, 0, 8),
	V4(0, 172, 16, 0, 0, 12),
	V4(0, 192, 168, 0, 0, 16),
	V4(0, 100, 64, 0, 0, 10),
	V4(0, 169, 254, 0, 0, 16),
	V4(0, 192, 0, 0, 0, 24),
	V4(0, 192, 0, 2, 0, 24),
	V4(0, 192, 88, 99, 0, 24),
	V4(0, 198, 18, 0, 0, 15),
	V4(0, 198, 51, 100, 0, 24),
	V4(0, 203, 0, 113, 0, 24),
	V4(0, 224, 0, 0, 0, 4),
	V4(0, 240, 0, 0, 0, 4),
	{ 0, NET_AF_INET6, { [15] = 1 }, 128 },
	{ 0, NET_AF_INET6, { 0 }, 128 },
	V6(0, 0xff00, 0, 0, 8),
	V6(0, 0xfc00, 0, 0, 7),
	V6(0, 0xfe80, 0, 0, 10),
	V6(0, 0xfec0, 0, 0, 10),
	V6(0, 0x0100, 0, 0, 64),
	V6(0, 0x0064, 0xff9b, 0x0001, 48),
	V6(0, 0x2001, 0x0db8, 0, 32),
	V6(0, 0x3fff, 0, 0, 20),
};

static const struct cidr_row *cidr_lookup(const struct cidr_row *t, size_t n, const struct net_addr *a)
{
	for (size_t i = 0; i < n; i++) {
		struct net_addr base;
		net_addr_set(&base, t[i].family, t[i].b);
		if (net_addr_in_cidr(a, &base, t[i].prefix))
			return &t[i];
	}
	return NULL;
}

static bool addr_is_zero(const struct net_addr *a)
{
	static const uint8_t zero[16];
	return memcmp(a->b, zero, a->family == NET_AF_INET ? 4 : 16) == 0;
}

/* Classify an already normalised address. */
static enum net_group classify(const struct net_addr *a, const struct net_gateway *gw)
{
	const struct cidr_row *row;

	if (a->family != NET_AF_INET && a->family != NET_AF_INET6)
		return NET_GROUP_NONE;
	if (addr_is_zero(a))
		return NET_GROUP_NONE;
	if (gw && (net_addr_equal(a, &gw->v4) || net_addr_equal(a, &gw->v6)))
		return NET_GROUP_HOST;
	row = cidr_lookup(group_table, ARRAY_SIZE(group_table), a);
	return row ? (enum net_group)row->group : NET_GROUP_PUBLIC;
}

enum net_group net_addr_classify(const struct net_addr *a, const struct net_gateway *gw)
{
	struct net_addr n = *a;

	net_addr_normalize(&n);
	return classify(&n, gw);
}

bool net_addr_is_reserved(const struct net_addr *a)
{
	struct net_addr n = *a;

	net_addr_normalize(&n);
	return cidr_lookup(reserved_table, ARRAY_SIZE(reserved_table), &n) != NULL;
}

/* ---- matching ----------------------------------------------------------------- */

static const char *const why_texts[NET_WHY_COUNT] = {
	[NET_WHY_RULE] = "matched rule",
	[NET_WHY_DEFAULT_EGRESS] = "no rule matched; egress default",
	[NET_WHY_DEFAULT_INGRESS] = "no rule matched; ingress default",
	[NET_WHY_DEFER_PINNED] = "allow rule matches a pinned name; the TLS SNI decides",
	[NET_WHY_DEFER_SNI] = "deny rule depends on the TLS SNI",
	[NET_WHY_DENY_NO_ALLOW] = "deny rule may match the TLS SNI and nothing later could allow",
	[NET_WHY_INVALID] = "invalid flow",
};
static_assert(ARRAY_SIZE(why_texts) == NET_WHY_COUNT, "why table");

static const char *const verdict_names[NET_VERDICT_COUNT] = {
	[NET_VERDICT_ALLOW] = "allow",
	[NET_VERDICT_DENY] = "deny",
	[NET_VERDICT_DEFER] = "defer",
};
static_assert(ARRAY_SIZE(verdict_names) == NET_VERDICT_COUNT, "verdict table");

const char *net_why_text(int why)
{
	return why >= 0 && why < NET_WHY_COUNT ? why_texts[why] : "?";
}

const char *net_verdict_name(int verdict)
{
	return verdict >= 0 && verdict < NET_VERDICT_COUNT ? verdict_names[verdict] : "?";
}

static bool is_domain_rule(const struct net_rule *r)
{
	return r->dest == NET_DEST_DOMAIN || r->dest == NET_DEST_SUFFIX;
}

/* Direction, protocol and port filters of @r against one flow. ICMP has no port. */
static bool rule_applies(const struct net_rule *r, enum net_dir dir, enum net_proto proto, uint16_t port)
{
	if (r->dir != NET_DIR_ANY && r->dir != dir)
		return false;
	if (r->protos && !(r->protos & NET_PROTO_BIT(proto)))
		return false;
	if (!r->has_ports)
		return true;
	if (proto == NET_PROTO_ICMPV4 || proto == NET_PROTO_ICMPV6)
		return false;
	return port >= r->port_lo && port <= r->port_hi;
}

/* Address destinations (any, group, CIDR) against a normalised address in group @g. */
static bool dest_addr_match(const struct net_rule *r, const struct net_addr *a, enum net_group g)
{
	switch (r->dest) {
	case NET_DEST_ANY:
		return true;
	case NET_DEST_GROUP:
		return g != NET_GROUP_NONE && r->group == g;
	case NET_DEST_CIDR:
		return net_addr_in_cidr(a, &r->addr, r->prefix);
	default:
		return false;
	}
}

/*
 * name_match() - does @name (any case, trailing dots ignored) match a domain
 * rule? A suffix matches its apex and label-aligned subdomains only, so
 * `example.com` never matches `evilexample.com`.
 */
static bool name_match(const struct net_rule *r, const char *name)
{
	size_t n = strlen(name), rn = strlen(r->name);

	while (n && name[n - 1] == '.')
		n--;
	if (n == rn)
		return rn && strncasecmp(name, r->name, rn) == 0;
	if (r->dest != NET_DEST_SUFFIX || n < rn + 1)
		return false;
	return name[n - rn - 1] == '.' && strncasecmp(name + n - rn, r->name, rn) == 0;
}

/* The first pinned name of @f matching @r, or NULL. */
static const char *pinned_match(const struct net_rule *r, const struct net_flow *f)
{
	for (size_t i = 0; i < f->n_names; i++)
		if (f->names[i] && name_match(r, f->names[i]))
			return f->names[i];
	return NULL;
}

/*
 * domain_match() - a domain rule under NET_MATCH_CACHE_ONLY or NET_MATCH_SNI.
 * Returns the name that made it match, or NULL.
 */
static const char *domain_match(const struct net_rule *r, const struct net_flow *f)
{
	if (f->match != NET_MATCH_SNI || !f->sni)
		return pinned_match(r, f);
	if (!name_match(r, f->sni))
		return NULL;
	/* An allow needs the pin too: the SNI alone is what the guest claims. */
	if (r->action == NET_ACTION_ALLOW && !pinned_match(r, f))
		return NULL;
	return f->sni;
}

static enum net_verdict decide(struct net_decision *d, enum net_verdict v, int rule, enum net_why why,
			       const char *name)
{
	d->verdict = v;
	d->rule = rule;
	d->why = why;
	d->reason = why_texts[why];
	d->name = name;
	return v;
}

static enum net_verdict verdict_of(enum net_action a)
{
	return a == NET_ACTION_ALLOW ? NET_VERDICT_ALLOW : NET_VERDICT_DENY;
}

static enum net_verdict decide_default(const struct net_policy *p, enum net_dir dir, struct net_decision *d)
{
	if (dir == NET_DIR_EGRESS)
		return decide(d, verdict_of(p->default_egress), -1, NET_WHY_DEFAULT_EGRESS, NULL);
	return decide(d, verdict_of(p->default_ingress), -1, NET_WHY_DEFAULT_INGRESS, NULL);
}

/*
 * could_allow() - under NET_MATCH_DEFERRED, is there an SNI for which the rest
 * of the walk (from rule @from) allows @f? Deny domain rules may or may not
 * match that SNI, so the walk goes past them; an allow domain rule can only
 * match with a pinned name; an address rule that matches ends the walk.
 */
static bool could_allow(const struct net_policy *p, const struct net_flow *f, const struct net_addr *a,
			enum net_group g, size_t from)
{
	for (size_t i = from; i < p->rules.n; i++) {
		const struct net_rule *r = &p->rules.v[i];

		if (!rule_applies(r, f->dir, f->proto, f->port))
			continue;
		if (is_domain_rule(r)) {
			if (r->action == NET_ACTION_ALLOW && pinned_match(r, f))
				return true;
			continue;
		}
		if (dest_addr_match(r, a, g))
			return r->action == NET_ACTION_ALLOW;
	}
	return (f->dir == NET_DIR_EGRESS ? p->default_egress : p->default_ingress) == NET_ACTION_ALLOW;
}

/* A domain rule met during a NET_MATCH_DEFERRED walk; returns -1 to keep walking. */
static int deferred_step(const struct net_policy *p, const struct net_flow *f, const struct net_addr *a,
			 enum net_group g, size_t i, struct net_decision *d)
{
	const struct net_rule *r = &p->rules.v[i];
	const char *name;

	if (r->action == NET_ACTION_ALLOW) {
		name = pinned_match(r, f);
		if (!name)
			return -1;
		return (int)decide(d, NET_VERDICT_DEFER, (int)i, NET_WHY_DEFER_PINNED, name);
	}
	if (could_allow(p, f, a, g, i + 1))
		return (int)decide(d, NET_VERDICT_DEFER, (int)i, NET_WHY_DEFER_SNI, NULL);
	return (int)decide(d, NET_VERDICT_DENY, (int)i, NET_WHY_DENY_NO_ALLOW, NULL);
}

static bool flow_valid(const struct net_flow *f)
{
	if (f->dir != NET_DIR_EGRESS && f->dir != NET_DIR_INGRESS)
		return false;
	return (unsigned)f->proto < NET_PROTO_COUNT && (unsigned)f->match < NET_MATCH_COUNT &&
	       (f->n_names == 0 || f->names);
}

enum net_verdict net_policy_eval(const struct net_policy *p, const struct net_flow *f, struct net_decision *d)
{
	struct net_decision scratch;
	struct net_addr a = f->addr;
	enum net_group g;

	if (!d)
		d = &scratch;
	net_addr_normalize(&a);
	d->group = g = classify(&a, &p->gw);
	if (!flow_valid(f))
		return decide(d, NET_VERDICT_DENY, -1, NET_WHY_INVALID, NULL);
	for (size_t i = 0; i < p->rules.n; i++) {
		const struct net_rule *r = &p->rules.v[i];
		const char *name;

		if (!rule_applies(r, f->dir, f->proto, f->port))
			continue;
		if (!is_domain_rule(r)) {
			if (dest_addr_match(r, &a, g))
				return decide(d, verdict_of(r->action), (int)i, NET_WHY_RULE, NULL);
			continue;
		}
		if (f->match == NET_MATCH_DEFERRED) {
			int v = deferred_step(p, f, &a, g, i, d);
			if (v >= 0)
				return (enum net_verdict)v;
			continue;
		}
		name = domain_match(r, f);
		if (name)
			return decide(d, verdict_of(r->action), (int)i, NET_WHY_RULE, name);
	}
	return decide_default(p, f->dir, d);
}

/* ---- DNS ---------------------------------------------------------------------- */

/* The protocol and port each DNS transport presents to the rules. */
static const struct dns_via {
	enum net_proto proto;
	uint16_t port;
} dns_transports[NET_DNS_TRANSPORT_COUNT] = {
	[NET_DNS_UDP] = { NET_PROTO_UDP, 53 },
	[NET_DNS_TCP] = { NET_PROTO_TCP, 53 },
	[NET_DNS_DOT] = { NET_PROTO_TCP, 853 },
};
static_assert(ARRAY_SIZE(dns_transports) == NET_DNS_TRANSPORT_COUNT, "DNS transport table");

enum net_verdict net_policy_dns_query(const struct net_policy *p, const char *qname, int transport,
				      struct net_decision *d)
{
	struct net_decision scratch;
	char canon[NET_NAME_MAX + 1];
	const struct dns_via *via;
	bool valid;

	if (!d)
		d = &scratch;
	d->group = NET_GROUP_NONE;
	if (transport < 0 || transport >= NET_DNS_TRANSPORT_COUNT || !qname)
		return decide(d, NET_VERDICT_DENY, -1, NET_WHY_INVALID, NULL);
	via = &dns_transports[transport];
	/* Names that are not valid domain names can only meet `any` and `host` rules. */
	valid = net_name_canonical(qname, strlen(qname), canon, NULL) == 0;
	for (size_t i = 0; i < p->rules.n; i++) {
		const struct net_rule *r = &p->rules.v[i];

		if (r->dir == NET_DIR_INGRESS)
			continue;
		if (is_domain_rule(r)) {
			if (valid && name_match(r, canon))
				return decide(d, verdict_of(r->action), (int)i, NET_WHY_RULE, qname);
			continue;
		}
		if (r->dest != NET_DEST_ANY && !(r->dest == NET_DEST_GROUP && r->group == NET_GROUP_HOST))
			continue;
		if (rule_applies(r, NET_DIR_EGRESS, via->proto, via->port))
			return decide(d, verdict_of(r->action), (int)i, NET_WHY_RULE, NULL);
	}
	return decide_default(p, NET_DIR_EGRESS, d);
}

/* Is @r an address-only rule for @proto (spec/network.md §4, rebind protection)? */
static bool address_only(const struct net_rule *r, enum net_proto proto)
{
	if (r->dir == NET_DIR_INGRESS || r->has_ports)
		return false;
	if (r->dest != NET_DEST_CIDR && r->dest != NET_DEST_GROUP)
		return false;
	return !r->protos || (r->protos & NET_PROTO_BIT(proto));
}

bool net_policy_rebind_allows(const struct net_policy *p, const struct net_addr *addr)
{
	static const enum net_proto protos[] = { NET_PROTO_TCP, NET_PROTO_UDP };
	struct net_addr a = *addr;
	enum net_group g;

	net_addr_normalize(&a);
	g = classify(&a, &p->gw);
	for (size_t k = 0; k < ARRAY_SIZE(protos); k++) {
		for (size_t i = 0; i < p->rules.n; i++) {
			const struct net_rule *r = &p->rules.v[i];
			if (!address_only(r, protos[k]) || !dest_addr_match(r, &a, g))
				continue;
			if (r->action == NET_ACTION_ALLOW)
				return true;
			break;
		}
	}
	return false;
}

bool net_policy_has_domain_rules(const struct net_policy *p)
{
	for (size_t i = 0; i < p->rules.n; i++)
		if (is_domain_rule(&p->rules.v[i]))
			return true;
	return false;
}
