// SPDX-License-Identifier: Apache-2.0
/*
 * check.c - msb_policy_check(): build a sandbox policy from `--net*` flags
 * and explain how it decides one destination. No network I/O: it is the
 * policy engine answering a question, the same code the proxy will consult.
 */
#include <stdio.h>

#include "msb.h"
#include "net/netcfg.h"
#include "net/policy.h"
#include "util.h"

/* A sandbox's gateway, for the `host` group (the same addresses the network setup will use). */
#define CHECK_GW4 NET_GW4
#define CHECK_GW6 NET_GW6

/* DEST = ADDR[:PORT][/PROTO], IPv6 in brackets when a port follows. */
static int parse_dest(const char *dest, struct net_flow *f, msb_error *err)
{
	char buf[256], *addr = buf, *slash, *colon = NULL;

	if (snprintf(buf, sizeof(buf), "%s", dest) >= (int)sizeof(buf))
		return msb_err_set(err, MSB_ERR_INVALID, 0, "destination too long");
	f->proto = NET_PROTO_TCP;
	slash = strrchr(buf, '/');
	if (slash) {
		*slash++ = '\0';
		if (!strcmp(slash, "tcp"))
			f->proto = NET_PROTO_TCP;
		else if (!strcmp(slash, "udp"))
			f->proto = NET_PROTO_UDP;
		else if (!strcmp(slash, "icmpv4"))
			f->proto = NET_PROTO_ICMPV4;
		else if (!strcmp(slash, "icmpv6"))
			f->proto = NET_PROTO_ICMPV6;
		else
			return msb_err_set(err, MSB_ERR_INVALID, 0,
					   "invalid protocol \"%s\" in destination \"%s\" (expected tcp, udp, icmpv4, "
					   "icmpv6)",
					   slash, dest);
	}
	if (buf[0] == '[') {
		char *end = strchr(buf, ']');
		if (!end)
			return msb_err_set(err, MSB_ERR_INVALID, 0, "unclosed '[' in destination \"%s\"", dest);
		*end = '\0';
		addr = buf + 1;
		if (end[1] == ':')
			colon = end + 1;
		else if (end[1])
			return msb_err_set(err, MSB_ERR_INVALID, 0, "unexpected text after ']' in \"%s\"", dest);
	} else if (strchr(buf, ':') == strrchr(buf, ':')) {
		colon = strchr(buf, ':'); /* one colon: IPv4 with a port; more: a bare IPv6 address */
	}
	f->port = 0;
	if (colon) {
		char *end;
		unsigned long p;
		*colon++ = '\0';
		p = strtoul(colon, &end, 10);
		if (!*colon || *end || p > 65535 || *colon == '-' || *colon == '+')
			return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid port \"%s\" in destination \"%s\"", colon,
					   dest);
		f->port = (uint16_t)p;
	}
	if (net_addr_parse(addr, &f->addr) < 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "invalid address \"%s\" in destination \"%s\" (expected ADDR[:PORT][/PROTO], IPv6 "
				   "as [ADDR]:PORT)",
				   addr, dest);
	return 0;
}

MSB_EXPORT int msb_policy_check(const char *const *flags, const char *const *values, size_t n, const char *dest,
				const char *name, int ingress, char **report, msb_error *err)
{
	struct net_flag_arg *args = xcalloc(n + 1, sizeof(*args));
	struct net_policy base, pol;
	struct net_addr gw4, gw6;
	struct net_flow f = {0};
	struct net_decision d;
	struct buf out = {0};
	char line[NET_RULE_STRLEN + 128];
	const char *names[1] = {name};
	int r;

	for (size_t i = 0; i < n; i++) {
		int fl = net_flag_lookup(flags[i]);
		if (fl < 0) {
			free(args);
			return msb_err_set(err, MSB_ERR_INVALID, 0, "\"%s\" is not a network flag", flags[i]);
		}
		args[i].flag = (enum net_flag)fl;
		args[i].value = values[i];
	}
	net_policy_default(&base);
	net_addr_parse(CHECK_GW4, &gw4);
	net_addr_parse(CHECK_GW6, &gw6);
	net_policy_set_gateway(&base, &gw4, &gw6);
	r = net_policy_from_flags(args, n, &base, NULL, &pol, err);
	free(args);
	net_policy_free(&base);
	if (r < 0)
		return r;
	r = parse_dest(dest, &f, err);
	if (r < 0) {
		net_policy_free(&pol);
		return r;
	}
	f.dir = ingress ? NET_DIR_INGRESS : NET_DIR_EGRESS;
	f.names = name ? names : NULL;
	f.n_names = name ? 1 : 0;
	f.match = NET_MATCH_CACHE_ONLY;
	net_policy_eval(&pol, &f, &d);

	buf_printf(&out, "policy: egress default %s, ingress default %s, %zu rule%s\n",
		   pol.default_egress == NET_ACTION_ALLOW ? "allow" : "deny",
		   pol.default_ingress == NET_ACTION_ALLOW ? "allow" : "deny", pol.rules.n,
		   pol.rules.n == 1 ? "" : "s");
	for (size_t i = 0; i < pol.rules.n; i++) {
		net_rule_format(&pol.rules.v[i], line, sizeof(line));
		buf_printf(&out, "  [%zu] %s%s\n", i, line, (int)i == d.rule ? "   <- decides" : "");
	}
	net_addr_format(&f.addr, line, sizeof(line));
	buf_printf(&out, "destination: %s %s%s%s port %u, group %s%s%s\n", ingress ? "ingress from" : "egress to",
		   line, "", "", f.port, net_group_name(d.group), name ? ", name " : "", name ? name : "");
	net_decision_format(&pol, &d, line, sizeof(line));
	buf_printf(&out, "%s\n", line);
	*report = out.data;
	r = d.verdict == NET_VERDICT_ALLOW ? 0 : 1;
	net_policy_free(&pol);
	return r;
}
