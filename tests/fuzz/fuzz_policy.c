// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_policy.c - libFuzzer target for the network policy engine
 * (src/lib/net/policy*.c).
 *
 * Input: a `--net-rule` value, handed over as a C string (an embedded NUL
 * ends it, as it would on a command line). Besides crashes and sanitizer
 * reports, the target checks invariants that hold for every input:
 *  - a failure leaves the rule list as it was and carries MSB_ERR_INVALID
 *    with a non-empty message free of raw control bytes;
 *  - every parsed rule is well formed, renders to text that fits
 *    NET_RULE_STRLEN and parses back to an equal rule;
 *  - evaluating the rules (flows built from the input's bytes, pinned to the
 *    rules' own names, in every match mode), the DNS query policy and the
 *    rebinding check give in-range results;
 *  - the same text as a `--net` or ACTION value fails or succeeds cleanly.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE
 *        -Iinclude -Isrc/lib tests/fuzz/fuzz_policy.c src/lib/net/policy*.c src/lib/util.c
 * Seeds: tests/fuzz/corpus/policy/
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/policy.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                                                                                           \
	do {                                                                                                  \
		if (!(cond)) {                                                                                \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);         \
			abort();                                                                              \
		}                                                                                             \
	} while (0)

static void check_error(int r, const msb_error *err)
{
	check(r == -MSB_ERR_INVALID && err->code == MSB_ERR_INVALID);
	check(err->msg[0] != '\0');
	for (size_t i = 0; err->msg[i]; i++)
		check((unsigned char)err->msg[i] >= 0x20 && (unsigned char)err->msg[i] != 0x7f);
}

/* The shape every parsed rule must have. */
static void check_rule(const struct net_rule *r)
{
	const unsigned icmp = NET_PROTO_BIT(NET_PROTO_ICMPV4) | NET_PROTO_BIT(NET_PROTO_ICMPV6);
	char canon[NET_NAME_MAX + 1];

	check((unsigned)r->action < NET_ACTION_COUNT && (unsigned)r->dir < NET_DIR_COUNT);
	check((unsigned)r->dest < NET_DEST_COUNT);
	check(!(r->protos & ~((1u << NET_PROTO_COUNT) - 1)));
	check(r->dir == NET_DIR_EGRESS || !(r->protos & icmp));
	check(!r->has_ports || r->port_lo <= r->port_hi);
	switch (r->dest) {
	case NET_DEST_GROUP:
		check(r->group >= 0 && r->group < NET_GROUP_COUNT);
		break;
	case NET_DEST_CIDR:
		check(r->addr.family == NET_AF_INET || r->addr.family == NET_AF_INET6);
		check(r->prefix <= (r->addr.family == NET_AF_INET ? 32 : 128));
		break;
	case NET_DEST_DOMAIN:
	case NET_DEST_SUFFIX:
		check(net_name_canonical(r->name, strlen(r->name), canon, NULL) == 0);
		check(strcmp(canon, r->name) == 0);
		check(r->dest == NET_DEST_DOMAIN || strchr(r->name, '.'));
		break;
	default:
		break;
	}
}

/* Render and re-parse: the canonical text must describe the same rule. */
static void check_round_trip(const struct net_rule *r)
{
	char text[NET_RULE_STRLEN];
	struct net_rules back = { 0 };
	msb_error err = { 0 };
	int n = net_rule_format(r, text, sizeof(text));

	check(n > 0 && (size_t)n < sizeof(text) && strlen(text) == (size_t)n);
	if (net_rules_parse_list(&back, text, &err) != 1) {
		fprintf(stderr, "re-parse of `%s` failed: %s\n", text, err.msg);
		abort();
	}
	check(net_rule_equal(r, &back.v[0]));
	net_rules_free(&back);
}

static void check_decision(const struct net_policy *p, enum net_verdict v, const struct net_decision *d,
			   bool may_defer)
{
	check(v == d->verdict && (unsigned)v < NET_VERDICT_COUNT);
	check(may_defer || v != NET_VERDICT_DEFER);
	check(d->rule >= -1 && (d->rule < 0 || (size_t)d->rule < p->rules.n));
	check((unsigned)d->why < NET_WHY_COUNT && d->reason && d->reason[0]);
	check(d->group >= NET_GROUP_NONE && d->group < NET_GROUP_COUNT);
}

/* Evaluate flows built from the input's bytes against the parsed rules. */
static void check_eval(const struct net_rules *rules, const uint8_t *data, size_t size)
{
	const char *names[8];
	size_t n_names = 0;
	uint8_t seed[16] = { 0 };
	struct net_policy p;
	struct net_decision d;
	char text[NET_RULE_STRLEN + 128];

	memcpy(seed, data, size < sizeof(seed) ? size : sizeof(seed));
	net_policy_init(&p);
	net_rules_extend(&p.rules, rules);
	p.default_egress = seed[0] & 1 ? NET_ACTION_ALLOW : NET_ACTION_DENY;
	p.default_ingress = seed[0] & 2 ? NET_ACTION_ALLOW : NET_ACTION_DENY;
	net_policy_set_gateway(&p, &(struct net_addr){ NET_AF_INET, { 172, 16, 0, 1 } }, NULL);
	for (size_t i = 0; i < rules->n && n_names < ARRAY_SIZE(names); i++)
		if (rules->v[i].dest == NET_DEST_DOMAIN || rules->v[i].dest == NET_DEST_SUFFIX)
			names[n_names++] = rules->v[i].name;

	for (size_t i = 0; i < rules->n + 2; i++) {
		struct net_flow f = { 0 };
		/* Aim at each CIDR rule's base, else at an address made of the input. */
		if (i < rules->n && rules->v[i].dest == NET_DEST_CIDR)
			f.addr = rules->v[i].addr;
		else
			net_addr_set(&f.addr, seed[1] & 1 ? NET_AF_INET6 : NET_AF_INET, seed);
		f.dir = seed[2] & 1 ? NET_DIR_INGRESS : NET_DIR_EGRESS;
		f.proto = (enum net_proto)(seed[3] % NET_PROTO_COUNT);
		f.port = i < rules->n && rules->v[i].has_ports ? rules->v[i].port_hi : (uint16_t)(seed[4] << 8 | seed[5]);
		f.names = names;
		f.n_names = n_names;
		f.sni = n_names ? names[i % n_names] : NULL;
		for (int m = 0; m < NET_MATCH_COUNT; m++) {
			f.match = (enum net_match)m;
			enum net_verdict v = net_policy_eval(&p, &f, &d);
			check_decision(&p, v, &d, m == NET_MATCH_DEFERRED);
			check(net_decision_format(&p, &d, text, sizeof(text)) > 0);
		}
		(void)net_policy_rebind_allows(&p, &f.addr);
		(void)net_addr_is_reserved(&f.addr);
	}
	for (size_t i = 0; i < n_names; i++)
		for (int t = 0; t < NET_DNS_TRANSPORT_COUNT; t++) {
			enum net_verdict v = net_policy_dns_query(&p, names[i], t, &d);
			check_decision(&p, v, &d, false);
		}
	net_policy_free(&p);
}

/* The same text as a --net value and as an ACTION value. */
static void check_flags(const char *s)
{
	static const enum net_flag kinds[] = { NET_FLAG_NET, NET_FLAG_DEFAULT, NET_FLAG_DEFAULT_EGRESS };
	struct net_policy out;

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		const struct net_flag_arg args[] = { { kinds[i], s }, { NET_FLAG_RULE, "allow@any" } };
		msb_error err = { 0 };
		int r = net_policy_from_flags(args, ARRAY_SIZE(args), NULL, NULL, &out, &err);
		if (r < 0) {
			check_error(r, &err);
			continue;
		}
		check(out.rules.n >= 1 && out.rules.v[0].dest == NET_DEST_ANY);
		net_policy_free(&out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	struct net_rules rules = { 0 };
	msb_error err = { 0 };
	int r = net_rules_parse_list(&rules, s, &err);

	if (r < 0) {
		check_error(r, &err);
		check(rules.n == 0);
	} else {
		check(err.code == 0 && err.msg[0] == '\0');
		check((size_t)r == rules.n);
		for (size_t i = 0; i < rules.n; i++) {
			check_rule(&rules.v[i]);
			check_round_trip(&rules.v[i]);
		}
		check_eval(&rules, data, size);
	}
	/* A single token without separators parses the same on its own. */
	if (!strchr(s, ',') && (unsigned char)s[0] > ' ' && (unsigned char)s[strlen(s) - 1] > ' ') {
		struct net_rule one;
		msb_error e1 = { 0 };
		int r1 = net_rule_parse(s, &one, &e1);
		check((r1 == 0) == (r == 1));
		if (r1 == 0)
			check(net_rule_equal(&one, &rules.v[0]));
		else
			check(strcmp(e1.msg, err.msg) == 0);
	}
	check_flags(s);
	net_rules_free(&rules);
	free(s);
	return 0;
}
