// SPDX-License-Identifier: Apache-2.0
/*
 * policy.c - network policy objects: rule lists and policies, the profiles
 * and default policy, the builder that turns the `--net*` flags into a policy
 * with the reference's conflict rules and messages (spec/network.md §3), and
 * the one-line human text of a decision.
 */
#include <assert.h>
#include <stdio.h>

#include "net/policy.h"
#include "util.h"

/* ---- containers ---------------------------------------------------------------- */

void net_rules_push(struct net_rules *rules, const struct net_rule *rule)
{
	if (rules->n == rules->cap) {
		rules->cap = rules->cap ? rules->cap * 2 : 8;
		rules->v = xrealloc(rules->v, rules->cap * sizeof(*rules->v));
	}
	rules->v[rules->n++] = *rule;
}

void net_rules_extend(struct net_rules *dst, const struct net_rules *src)
{
	for (size_t i = 0; src && i < src->n; i++)
		net_rules_push(dst, &src->v[i]);
}

void net_rules_free(struct net_rules *rules)
{
	free(rules->v);
	*rules = (struct net_rules){ 0 };
}

void net_policy_init(struct net_policy *p)
{
	*p = (struct net_policy){ .default_egress = NET_ACTION_DENY, .default_ingress = NET_ACTION_DENY };
}

void net_policy_free(struct net_policy *p)
{
	net_rules_free(&p->rules);
	net_policy_init(p);
}

void net_policy_copy(struct net_policy *dst, const struct net_policy *src)
{
	net_policy_init(dst);
	dst->default_egress = src->default_egress;
	dst->default_ingress = src->default_ingress;
	dst->gw = src->gw;
	net_rules_extend(&dst->rules, &src->rules);
}

void net_policy_set_gateway(struct net_policy *p, const struct net_addr *v4, const struct net_addr *v6)
{
	memset(&p->gw, 0, sizeof(p->gw));
	if (v4) {
		p->gw.v4 = *v4;
		net_addr_normalize(&p->gw.v4);
	}
	if (v6) {
		p->gw.v6 = *v6;
		net_addr_normalize(&p->gw.v6);
	}
}

/* ---- profiles ------------------------------------------------------------------- */

static const char *const profile_names[NET_PROFILE_COUNT] = {
	[NET_PROFILE_PUBLIC] = "public", [NET_PROFILE_PRIVATE] = "private", [NET_PROFILE_HOST] = "host",
	[NET_PROFILE_ALL] = "all",       [NET_PROFILE_NONE] = "none",
};
static_assert(ARRAY_SIZE(profile_names) == NET_PROFILE_COUNT, "profile table");

/* `allow@<group>`, egress, any protocol and port. */
static void push_allow_group(struct net_rules *rules, enum net_group g)
{
	struct net_rule r = {
		.action = NET_ACTION_ALLOW, .dir = NET_DIR_EGRESS, .dest = NET_DEST_GROUP, .group = g
	};
	net_rules_push(rules, &r);
}

/* The rules of a non-empty set of composable profiles (dns first, then fixed order). */
static void push_profile_rules(struct net_rules *rules, unsigned mask)
{
	static const struct {
		enum net_profile profile;
		enum net_group group;
	} order[] = {
		{ NET_PROFILE_PUBLIC, NET_GROUP_PUBLIC },
		{ NET_PROFILE_PRIVATE, NET_GROUP_PRIVATE },
		{ NET_PROFILE_HOST, NET_GROUP_HOST },
	};
	const struct net_rule dns = {
		.action = NET_ACTION_ALLOW,
		.dir = NET_DIR_EGRESS,
		.dest = NET_DEST_GROUP,
		.group = NET_GROUP_HOST,
		.protos = NET_PROTO_BIT(NET_PROTO_UDP) | NET_PROTO_BIT(NET_PROTO_TCP),
		.has_ports = true,
		.port_lo = 53,
		.port_hi = 53,
	};

	if (!(mask & (NET_PROFILE_BIT(NET_PROFILE_PUBLIC) | NET_PROFILE_BIT(NET_PROFILE_PRIVATE) |
		      NET_PROFILE_BIT(NET_PROFILE_HOST))))
		return;
	net_rules_push(rules, &dns);
	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		if (mask & NET_PROFILE_BIT(order[i].profile))
			push_allow_group(rules, order[i].group);
}

void net_policy_from_profiles(struct net_policy *out, unsigned mask)
{
	net_policy_init(out);
	if (mask & NET_PROFILE_BIT(NET_PROFILE_ALL)) {
		out->default_egress = out->default_ingress = NET_ACTION_ALLOW;
		return;
	}
	if (mask & NET_PROFILE_BIT(NET_PROFILE_NONE))
		return;
	out->default_egress = NET_ACTION_DENY;
	out->default_ingress = NET_ACTION_ALLOW;
	push_profile_rules(&out->rules, mask);
}

void net_policy_default(struct net_policy *out)
{
	net_policy_from_profiles(out, NET_PROFILE_BIT(NET_PROFILE_PUBLIC));
}

/* ---- flags ------------------------------------------------------------------------ */

#define FB(f) (1u << (f))

/*
 * The flags, as the reference's argument parser declares them: the display
 * form used in its messages, whether repeating is allowed, and the conflicts
 * (symmetric: each pair is listed on both sides).
 */
static const struct {
	const char *name;
	const char *display;
	bool repeatable;
	unsigned conflicts;
} flag_table[NET_FLAG_COUNT] = {
	[NET_FLAG_NET] = { "net", "--net <PROFILE>", true,
			   FB(NET_FLAG_NO_NET) | FB(NET_FLAG_DEFAULT) | FB(NET_FLAG_DEFAULT_EGRESS) |
				   FB(NET_FLAG_DEFAULT_INGRESS) },
	[NET_FLAG_RULE] = { "net-rule", "--net-rule <TOKENS>", true, 0 },
	[NET_FLAG_NO_NET] = { "no-net", "--no-net", false,
			      FB(NET_FLAG_NET) | FB(NET_FLAG_DEFAULT) | FB(NET_FLAG_DEFAULT_EGRESS) |
				      FB(NET_FLAG_DEFAULT_INGRESS) },
	[NET_FLAG_DEFAULT] = { "net-default", "--net-default <ACTION>", false,
			       FB(NET_FLAG_NET) | FB(NET_FLAG_NO_NET) | FB(NET_FLAG_DEFAULT_EGRESS) |
				       FB(NET_FLAG_DEFAULT_INGRESS) },
	[NET_FLAG_DEFAULT_EGRESS] = { "net-default-egress", "--net-default-egress <ACTION>", false,
				      FB(NET_FLAG_NET) | FB(NET_FLAG_NO_NET) | FB(NET_FLAG_DEFAULT) },
	[NET_FLAG_DEFAULT_INGRESS] = { "net-default-ingress", "--net-default-ingress <ACTION>", false,
				       FB(NET_FLAG_NET) | FB(NET_FLAG_NO_NET) | FB(NET_FLAG_DEFAULT) },
};
static_assert(ARRAY_SIZE(flag_table) == NET_FLAG_COUNT, "flag table");

int net_flag_lookup(const char *name)
{
	if (name[0] == '-' && name[1] == '-')
		name += 2;
	for (int i = 0; i < NET_FLAG_COUNT; i++)
		if (strcmp(name, flag_table[i].name) == 0)
			return i;
	return -1;
}

/*
 * check_usage() - the argument parser's checks, before any value is looked
 * at: a single-use flag given twice, then the first flag (in order of first
 * appearance) that conflicts with a later-or-earlier one present.
 */
static int check_usage(const struct net_flag_arg *args, size_t n, unsigned *present, msb_error *err)
{
	int order[NET_FLAG_COUNT], n_order = 0;

	*present = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned f = (unsigned)args[i].flag;
		if (f >= NET_FLAG_COUNT)
			return msb_err_set(err, MSB_ERR_INVALID, 0, "unknown network flag %u", f);
		if (f != NET_FLAG_NO_NET && !args[i].value)
			return msb_err_set(err, MSB_ERR_INVALID, 0, "a value is required for '%s'",
					   flag_table[f].display);
		if (*present & FB(f)) {
			if (!flag_table[f].repeatable)
				return msb_err_set(err, MSB_ERR_INVALID, 0,
						   "the argument '%s' cannot be used multiple times",
						   flag_table[f].display);
			continue;
		}
		*present |= FB(f);
		order[n_order++] = (int)f;
	}
	for (int i = 0; i < n_order; i++) {
		unsigned clash = flag_table[order[i]].conflicts & *present;
		if (!clash)
			continue;
		for (int j = 0; j < n_order; j++)
			if (clash & FB(order[j]))
				return msb_err_set(err, MSB_ERR_INVALID, 0,
						   "the argument '%s' cannot be used with '%s'",
						   flag_table[order[i]].display,
						   flag_table[order[j]].display);
	}
	return 0;
}

/* One `--net` profile name (already trimmed) into the running state. */
static int add_profile(const char *s, size_t n, unsigned *mask, int *terminal, msb_error *err)
{
	char q[NET_QUOTE_MAX];
	int p = -1;

	if (!n)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "empty --net profile; expected public, private, host, all, or none");
	for (int i = 0; i < NET_PROFILE_COUNT; i++)
		if (strlen(profile_names[i]) == n && memcmp(profile_names[i], s, n) == 0)
			p = i;
	if (p < 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "unknown --net profile %s; expected public, private, host, all, or none",
				   net_quote(q, s, n, true));
	if (p == NET_PROFILE_ALL || p == NET_PROFILE_NONE) {
		if (*terminal == p)
			return msb_err_set(err, MSB_ERR_INVALID, 0, "--net `%s` may only be specified once",
					   profile_names[p]);
		if (*terminal >= 0)
			return msb_err_set(err, MSB_ERR_INVALID, 0,
					   "--net terminal profiles `all` and `none` cannot be combined");
		*terminal = p;
		return 0;
	}
	*mask |= NET_PROFILE_BIT(p);
	return 0;
}

static bool is_trim_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* All `--net` values (comma lists) into a profile mask; terminal ones stand alone. */
static int parse_profiles(const struct net_flag_arg *args, size_t n, unsigned *mask, msb_error *err)
{
	int terminal = -1, ret;

	*mask = 0;
	for (size_t i = 0; i < n; i++) {
		if (args[i].flag != NET_FLAG_NET)
			continue;
		for (const char *s = args[i].value;;) {
			const char *comma = strchr(s, ',');
			size_t len = comma ? (size_t)(comma - s) : strlen(s);
			const char *t = s;

			while (len && is_trim_space(t[0]))
				t++, len--;
			while (len && is_trim_space(t[len - 1]))
				len--;
			ret = add_profile(t, len, mask, &terminal, err);
			if (ret < 0)
				return ret;
			if (!comma)
				break;
			s = comma + 1;
		}
	}
	if (terminal >= 0 && *mask)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "--net `%s` cannot be combined with public, private, or host",
				   profile_names[terminal]);
	if (terminal >= 0)
		*mask = NET_PROFILE_BIT(terminal);
	return 0;
}

/* The value of single-use @flag as an action into @out; untouched when the flag is absent. */
static int flag_action(const struct net_flag_arg *args, size_t n, enum net_flag flag, enum net_action *out,
		       msb_error *err)
{
	char q[NET_QUOTE_MAX];

	for (size_t i = 0; i < n; i++) {
		const char *v = args[i].value;
		if (args[i].flag != flag)
			continue;
		if (strcmp(v, "allow") == 0)
			*out = NET_ACTION_ALLOW;
		else if (strcmp(v, "deny") == 0)
			*out = NET_ACTION_DENY;
		else
			return msb_err_set(err, MSB_ERR_INVALID, 0,
					   "unknown --%s value %s; expected `allow` or `deny`", flag_table[flag].name,
					   net_quote(q, v, strlen(v), true));
	}
	return 0;
}

/* The defaults of the replacing modes other than `--net`. */
static int replacing_defaults(const struct net_flag_arg *args, size_t n, unsigned present,
			      struct net_policy *p, msb_error *err)
{
	enum net_action both = NET_ACTION_DENY;
	int ret;

	p->default_egress = NET_ACTION_DENY;
	p->default_ingress = NET_ACTION_ALLOW;
	if (present & FB(NET_FLAG_NO_NET)) {
		p->default_egress = p->default_ingress = NET_ACTION_DENY;
		return 0;
	}
	if (present & FB(NET_FLAG_DEFAULT)) {
		ret = flag_action(args, n, NET_FLAG_DEFAULT, &both, err);
		if (ret < 0)
			return ret;
		p->default_egress = p->default_ingress = both;
		return 0;
	}
	ret = flag_action(args, n, NET_FLAG_DEFAULT_EGRESS, &p->default_egress, err);
	if (ret < 0)
		return ret;
	return flag_action(args, n, NET_FLAG_DEFAULT_INGRESS, &p->default_ingress, err);
}

/*
 * build() - compose the policy once the usage and the rule tokens are known
 * good. @cli holds the `--net-rule` rules; @base is the existing policy.
 */
static int build(const struct net_flag_arg *args, size_t n, unsigned present, const struct net_policy *base,
		 const struct net_rules *kept, const struct net_rules *cli, struct net_policy *out,
		 msb_error *err)
{
	struct net_policy prof;
	unsigned mask;
	int ret;

	net_policy_init(out);
	out->gw = base->gw;
	if (!(present & ~FB(NET_FLAG_RULE))) {
		/* Refining mode: the CLI rules go in front of the configured ones. */
		out->default_egress = base->default_egress;
		out->default_ingress = base->default_ingress;
		net_rules_extend(&out->rules, cli);
		net_rules_extend(&out->rules, &base->rules);
		return 0;
	}
	if (present & FB(NET_FLAG_NET)) {
		ret = parse_profiles(args, n, &mask, err);
		if (ret < 0)
			return ret;
		net_policy_from_profiles(&prof, mask);
		out->default_egress = prof.default_egress;
		out->default_ingress = prof.default_ingress;
	} else {
		net_policy_init(&prof);
		ret = replacing_defaults(args, n, present, out, err);
		if (ret < 0) {
			net_policy_free(&prof);
			return ret;
		}
	}
	net_rules_extend(&out->rules, cli);
	net_rules_extend(&out->rules, kept);
	net_rules_extend(&out->rules, &prof.rules);
	net_policy_free(&prof);
	return 0;
}

int net_policy_from_flags(const struct net_flag_arg *args, size_t n_args, const struct net_policy *existing,
			  const struct net_rules *kept, struct net_policy *out, msb_error *err)
{
	struct net_rules cli = { 0 };
	struct net_policy def, tmp;
	unsigned present;
	int ret;

	ret = check_usage(args, n_args, &present, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n_args; i++) {
		if (args[i].flag != NET_FLAG_RULE)
			continue;
		ret = net_rules_parse_list(&cli, args[i].value, err);
		if (ret < 0) {
			net_rules_free(&cli);
			return ret;
		}
	}
	net_policy_default(&def);
	ret = build(args, n_args, present, existing ? existing : &def, kept, &cli, &tmp, err);
	net_policy_free(&def);
	net_rules_free(&cli);
	if (ret < 0) {
		net_policy_free(&tmp);
		return ret;
	}
	*out = tmp;
	return 0;
}

/* ---- decisions ----------------------------------------------------------------------- */

int net_decision_format(const struct net_policy *p, const struct net_decision *d, char *buf, size_t len)
{
	char rule[NET_RULE_STRLEN] = "?";
	const char *v = net_verdict_name(d->verdict);
	int n;

	if (d->rule >= 0 && (size_t)d->rule < p->rules.n)
		net_rule_format(&p->rules.v[d->rule], rule, sizeof(rule));
	switch (d->why) {
	case NET_WHY_RULE:
		n = snprintf(buf, len, "%s: rule[%d] `%s` matched", v, d->rule, rule);
		break;
	case NET_WHY_DEFAULT_EGRESS:
		n = snprintf(buf, len, "%s: no rule matched; egress default is %s", v,
			     net_action_name(p->default_egress));
		break;
	case NET_WHY_DEFAULT_INGRESS:
		n = snprintf(buf, len, "%s: no rule matched; ingress default is %s", v,
			     net_action_name(p->default_ingress));
		break;
	case NET_WHY_DEFER_PINNED:
		n = snprintf(buf, len, "%s: rule[%d] `%s` matches a pinned name; the TLS SNI decides", v,
			     d->rule, rule);
		break;
	case NET_WHY_DEFER_SNI:
		n = snprintf(buf, len, "%s: rule[%d] `%s` depends on the TLS SNI", v, d->rule, rule);
		break;
	case NET_WHY_DENY_NO_ALLOW:
		n = snprintf(buf, len, "%s: rule[%d] `%s` may match the TLS SNI and nothing later could allow",
			     v, d->rule, rule);
		break;
	default:
		n = snprintf(buf, len, "%s: %s", v, net_why_text(d->why));
		break;
	}
	if (d->name && n >= 0) {
		size_t off = (size_t)n < len ? (size_t)n : len ? len - 1 : 0;
		n += snprintf(len ? buf + off : NULL, len - off, " (name `%s`)", d->name);
	}
	return n;
}
