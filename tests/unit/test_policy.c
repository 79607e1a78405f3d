// SPDX-License-Identifier: Apache-2.0
/*
 * test_policy.c - unit tests of the network policy engine (src/lib/net/policy*.c):
 * every rule form and every parse error of spec/network.md §1 with its exact
 * message, group membership of edge addresses (§2), profiles and flag
 * interactions (§3), first-match evaluation with domain rules in each match
 * mode, the DNS query policy and the rebinding exemption (§4), and rendering.
 */
#include <stdio.h>
#include <stdlib.h>

#include "net/policy.h"
#include "tap.h"
#include "util.h"

/* ---- helpers ------------------------------------------------------------------ */

static struct net_addr A(const char *s)
{
	struct net_addr a;
	if (net_addr_parse(s, &a) < 0) {
		printf("Bail out! bad test address %s\n", s);
		exit(2);
	}
	return a;
}

/* Parse @tok, expect success and the canonical rendering @canon; re-parse it and compare. */
static void parse_ok(const char *tok, const char *canon)
{
	struct net_rule r, back;
	msb_error err = { 0 };
	char buf[NET_RULE_STRLEN];
	int ret = net_rule_parse(tok, &r, &err);

	ok(ret == 0, "parse `%s`%s%s", tok, ret ? ": " : "", ret ? err.msg : "");
	if (ret)
		return;
	net_rule_format(&r, buf, sizeof(buf));
	is_str(buf, canon, "render `%s`", tok);
	ret = net_rule_parse(buf, &back, &err);
	ok(ret == 0 && net_rule_equal(&r, &back), "`%s` round-trips", buf);
}

/* Parse @tok, expect failure with exactly @msg. */
static void parse_err(const char *tok, const char *msg)
{
	struct net_rule r;
	msb_error err = { 0 };
	char q[NET_QUOTE_MAX];
	int ret = net_rule_parse(tok, &r, &err);

	/* TAP descriptions are one line: show the token escaped. */
	net_quote(q, tok, strlen(tok), false);
	is_int(ret, -MSB_ERR_INVALID, "`%s` is rejected", q);
	is_int(err.code, MSB_ERR_INVALID, "`%s` error code", q);
	is_str(err.msg, msg, "`%s` message", q);
}

static struct net_rule R(const char *tok)
{
	struct net_rule r;
	msb_error err = { 0 };
	if (net_rule_parse(tok, &r, &err) < 0) {
		printf("Bail out! bad test rule %s: %s\n", tok, err.msg);
		exit(2);
	}
	return r;
}

/* A policy with the rules of @list (a --net-rule value) and the given defaults. */
static void mkpolicy(struct net_policy *p, const char *list, enum net_action eg, enum net_action in)
{
	msb_error err = { 0 };
	net_policy_init(p);
	if (list && net_rules_parse_list(&p->rules, list, &err) < 0) {
		printf("Bail out! bad test list %s: %s\n", list, err.msg);
		exit(2);
	}
	p->default_egress = eg;
	p->default_ingress = in;
}

static struct net_flow flow(enum net_dir dir, enum net_proto proto, const char *ip, unsigned port)
{
	return (struct net_flow){ .dir = dir, .proto = proto, .addr = A(ip), .port = (uint16_t)port };
}

static enum net_verdict ev(const struct net_policy *p, enum net_dir dir, enum net_proto proto, const char *ip,
			   unsigned port, struct net_decision *d)
{
	struct net_flow f = flow(dir, proto, ip, port);
	return net_policy_eval(p, &f, d);
}

static enum net_verdict evn(const struct net_policy *p, const char *ip, const char *const *names, size_t n,
			    enum net_match m, const char *sni, struct net_decision *d)
{
	struct net_flow f = flow(NET_DIR_EGRESS, NET_PROTO_TCP, ip, 443);
	f.names = names;
	f.n_names = n;
	f.match = m;
	f.sni = sni;
	return net_policy_eval(p, &f, d);
}

/* Render every rule of @p joined by ", " into @buf. */
static const char *rules_text(const struct net_policy *p, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < p->rules.n && off < len; i++) {
		if (i)
			off += (size_t)snprintf(buf + off, len - off, ", ");
		if (off < len)
			off += (size_t)net_rule_format(&p->rules.v[i], buf + off, len - off);
	}
	return buf;
}

/* ---- §1 grammar: every form ------------------------------------------------------- */

static void test_forms(void)
{
	/* actions and directions */
	parse_ok("allow@public", "allow@public");
	parse_ok("deny@public", "deny@public");
	parse_ok("allow:egress@public", "allow@public");
	parse_ok("allow:ingress@public", "allow:ingress@public");
	parse_ok("deny:any@host", "deny:any@host");
	/* any and every group */
	parse_ok("allow@any", "allow@any");
	parse_ok("allow@private", "allow@private");
	parse_ok("allow@loopback", "allow@loopback");
	parse_ok("allow@link-local", "allow@link-local");
	parse_ok("deny@meta", "deny@meta");
	parse_ok("allow@multicast", "allow@multicast");
	parse_ok("allow@host", "allow@host");
	/* IPv4, CIDR (host bits kept, netmask form), IPv6 */
	parse_ok("deny@198.51.100.5", "deny@198.51.100.5");
	parse_ok("allow@10.0.0.0/8", "allow@10.0.0.0/8");
	parse_ok("allow@10.0.0.1/8", "allow@10.0.0.1/8");
	parse_ok("allow@10.0.0.0/255.0.0.0", "allow@10.0.0.0/8");
	parse_ok("allow@0.0.0.0/0", "allow@0.0.0.0/0");
	parse_ok("allow@1.2.3.4/32", "allow@1.2.3.4");
	parse_ok("allow@10.0.0.0/+08", "allow@10.0.0.0/8");
	parse_ok("allow@[::1]", "allow@[::1]");
	parse_ok("allow@[2001:DB8::1]", "allow@[2001:db8::1]");
	parse_ok("allow@[fc00::/7]", "allow@[fc00::/7]");
	parse_ok("allow@[::/0]:tcp:443", "allow@[::/0]:tcp:443");
	parse_ok("allow@[::1/128]", "allow@[::1]");
	parse_ok("allow@[::ffff:1.2.3.4]", "allow@[::ffff:1.2.3.4]");
	parse_ok("allow@[::1]:udp", "allow@[::1]:udp");
	/* domains and suffixes */
	parse_ok("allow@example.com", "allow@example.com");
	parse_ok("allow@Example.COM.", "allow@example.com");
	parse_ok("allow@.example.com", "allow@example.com");
	parse_ok("allow@_http._tcp.example.com", "allow@_http._tcp.example.com");
	parse_ok("allow@1.2.3", "allow@1.2.3");
	parse_ok("allow@dns.example.com", "allow@dns.example.com");
	parse_ok("allow@domain=example.com", "allow@example.com");
	parse_ok("allow@domain=public", "allow@domain=public");
	parse_ok("allow@domain=localhost", "allow@domain=localhost");
	parse_ok("allow@domain=1.2.3.4", "allow@domain=1.2.3.4");
	parse_ok("allow@domain=999.1.1.1", "allow@999.1.1.1");
	parse_ok("deny@*.ads.example.com", "deny@*.ads.example.com");
	parse_ok("deny@suffix=corp.internal", "deny@*.corp.internal");
	parse_ok("deny@suffix=.Corp.Internal.", "deny@*.corp.internal");
	parse_ok("allow@*.co.uk", "allow@*.co.uk");
}

static void test_forms_fields(void)
{
	/* protocols */
	parse_ok("allow@public:any", "allow@public");
	parse_ok("allow@public:tcp", "allow@public:tcp");
	parse_ok("allow@public:udp", "allow@public:udp");
	parse_ok("allow@public:icmpv4", "allow@public:icmpv4");
	parse_ok("allow:egress@public:icmpv6", "allow@public:icmpv6");
	/* ports */
	parse_ok("allow@public:tcp:443", "allow@public:tcp:443");
	parse_ok("allow@public:tcp:80-443", "allow@public:tcp:80-443");
	parse_ok("allow@public:tcp:any", "allow@public:tcp");
	parse_ok("allow@public:any:any", "allow@public");
	parse_ok("allow@public:any:53", "allow@public:any:53");
	parse_ok("allow@public:tcp:0", "allow@public:tcp:0");
	parse_ok("allow@public:tcp:65535", "allow@public:tcp:65535");
	parse_ok("allow@public:tcp:0-65535", "allow@public:tcp:0-65535");
	parse_ok("allow@public:tcp:+80", "allow@public:tcp:80");
	parse_ok("allow@public:tcp:0080", "allow@public:tcp:80");
	parse_ok("allow@public:tcp:80-80", "allow@public:tcp:80");
	parse_ok("allow:ingress@private:tcp:8080", "allow:ingress@private:tcp:8080");
	parse_ok("allow@example.com:tcp:443", "allow@example.com:tcp:443");
}

static void test_forms_dns(void)
{
	/* the dns macro */
	parse_ok("allow@dns", "allow@dns");
	parse_ok("deny@dns", "deny@dns");
	parse_ok("allow:egress@dns", "allow@dns");
	parse_ok("allow@dns:", "allow@dns");
	parse_ok("allow@dns:any", "allow@dns");
	parse_ok("allow@dns:any:53", "allow@dns");
	parse_ok("allow@dns::", "allow@dns");
	parse_ok("allow@dns:udp", "allow@host:udp:53");
	parse_ok("deny@dns:tcp:any", "deny@host:tcp:53");
	parse_ok("allow@host:udp:53", "allow@host:udp:53");

	struct net_rule r = R("allow@dns");
	is_int(r.dest, NET_DEST_GROUP, "dns is a group rule");
	is_int(r.group, NET_GROUP_HOST, "dns targets host");
	is_int(r.protos, NET_PROTO_BIT(NET_PROTO_UDP) | NET_PROTO_BIT(NET_PROTO_TCP), "dns is udp+tcp");
	ok(r.has_ports && r.port_lo == 53 && r.port_hi == 53, "dns is port 53");
	r = R("allow@10.0.0.1/8");
	is_int(r.prefix, 8, "prefix kept");
	ok(net_addr_equal(&r.addr, &(struct net_addr){ NET_AF_INET, { 10, 0, 0, 1 } }), "host bits kept");
	r = R("allow@Example.COM");
	is_str(r.name, "example.com", "domain stored lower-case");
	is_int(r.dest, NET_DEST_DOMAIN, "dotted bare name is a domain");
	r = R("deny@*.Ads.Example.com");
	is_int(r.dest, NET_DEST_SUFFIX, "*.x is a suffix");
	is_str(r.name, "ads.example.com", "suffix name");
	r = R("allow@public");
	ok(!r.protos && !r.has_ports, "absent proto and ports mean any");
	is_int(r.dir, NET_DIR_EGRESS, "direction defaults to egress");
}

/* ---- §1 grammar: every error -------------------------------------------------------- */

#define TARGET_HELP                                                                                           \
	"Expected: any, dns, a group name (public, private, loopback, link-local, meta, multicast, host), an "  \
	"IP, a CIDR, a domain (with dot), domain=<name>, or suffix=<domain>"
#define PROTO_HELP "Expected `any`, `tcp`, `udp`, `icmpv4`, or `icmpv6`"
#define PORTS_HELP "Expected `any`, `<port>`, or `<lo>-<hi>`"
#define JUNK "has trailing fields after `<ports>`; if this is an IPv6 address, wrap it as `[<addr>]`"
#define AMBIG(x) "`" x "` is ambiguous (looks like a single-label hostname or a typoed keyword). Use `domain=" x "` to target a literal hostname"

static void test_errors(void)
{
	/* MissingAt */
	parse_err("allow public",
		  "rule token `allow public` is missing `@`; expected `<action>[:<direction>]@<target>[:<proto>[:<ports>]]`");
	parse_err("allow:egress:x", "rule token `allow:egress:x` is missing `@`; expected "
				    "`<action>[:<direction>]@<target>[:<proto>[:<ports>]]`");
	/* InvalidAction with and without a suggestion */
	parse_err("alow@public", "`alow` is not a recognized action. Expected `allow` or `deny`. Did you mean `allow`?");
	parse_err("deni@public", "`deni` is not a recognized action. Expected `allow` or `deny`. Did you mean `deny`?");
	parse_err("permit@public", "`permit` is not a recognized action. Expected `allow` or `deny`");
	parse_err("Allow@public", "`Allow` is not a recognized action. Expected `allow` or `deny`. Did you mean `allow`?");
	parse_err("@public", "`` is not a recognized action. Expected `allow` or `deny`");
	parse_err("allöw@public", "`allöw` is not a recognized action. Expected `allow` or `deny`. Did you mean `allow`?");
	/* InvalidDirection */
	parse_err("allow:iingress@public", "`iingress` is not a recognized direction. Expected `egress`, `ingress`, "
					   "or `any`. Did you mean `ingress`?");
	parse_err("allow:egress:x@public", "`egress:x` is not a recognized direction. Expected `egress`, `ingress`, "
					   "or `any`. Did you mean `egress`?");
	parse_err("allow:outbound@public",
		  "`outbound` is not a recognized direction. Expected `egress`, `ingress`, or `any`");
	parse_err("allow:@public", "`` is not a recognized direction. Expected `egress`, `ingress`, or `any`");
	parse_err("allow:an@public", "`an` is not a recognized direction. Expected `egress`, `ingress`, or `any`. "
				     "Did you mean `any`?");
}

static void test_errors_target(void)
{
	/* InvalidTarget */
	parse_err("allow@", "`` is not a valid target. " TARGET_HELP);
	parse_err("allow@:tcp", "`` is not a valid target. " TARGET_HELP);
	/* AmbiguousBareToken */
	parse_err("allow@localhost", AMBIG("localhost"));
	parse_err("allow@*", AMBIG("*"));
	parse_err("allow@Public", AMBIG("Public") ". Did you mean `public`?");
	parse_err("allow@dnsx", AMBIG("dnsx") ". Did you mean `dns`?");
	parse_err("allow@piublic", AMBIG("piublic") ". Did you mean `public`?");
	parse_err("allow@hots", AMBIG("hots") ". Did you mean `host`?");
	parse_err("allow@linklocal", AMBIG("linklocal") ". Did you mean `link-local`?");
	parse_err("allow@https://example.com", AMBIG("https"));
	/* InvalidDomain, including SuffixTooBroad */
	parse_err("allow@domain=", "invalid domain ``: domain name is empty");
	parse_err("allow@domain=...", "invalid domain `...`: domain name is empty");
	parse_err("allow@*.", "invalid domain ``: domain name is empty");
	parse_err("allow@a..b.com", "invalid domain `a..b.com`: invalid domain name: empty label");
	parse_err("allow@foo bar.com", "invalid domain `foo bar.com`: invalid domain name: byte 0x20 is not allowed");
	parse_err("allow@user@example.com", "invalid domain `user@example.com`: invalid domain name: character `@` is not allowed");
	parse_err("allow@example.com?q=1", "invalid domain `example.com?q=1`: invalid domain name: character `?` is not allowed");
	parse_err("allow@example.com#frag", "invalid domain `example.com#frag`: invalid domain name: character `#` is not allowed");
	parse_err("allow@-bad.example.com", "invalid domain `-bad.example.com`: invalid domain name: label `-bad` starts with `-`");
	parse_err("allow@exämple.com", "invalid domain `exämple.com`: invalid domain name: byte 0xc3 is not allowed");
	parse_err("allow@*.*.example.com", "invalid domain `*.example.com`: invalid domain name: character `*` is not allowed");
	parse_err("deny@*.com", "invalid domain `com`: suffix `com` is a single DNS label and would match every domain "
				"under that TLD; use at least two labels (e.g. `*.example.com`)");
	parse_err("deny@suffix=local", "invalid domain `local`: suffix `local` is a single DNS label and would match "
				       "every domain under that TLD; use at least two labels (e.g. `*.example.com`)");
	parse_err("deny@suffix=.Com.", "invalid domain `.Com.`: suffix `com` is a single DNS label and would match "
				       "every domain under that TLD; use at least two labels (e.g. `*.example.com`)");
	{
		char tok[400], msg[600], label[70];
		memset(label, 'a', 64);
		label[64] = '\0';
		snprintf(tok, sizeof(tok), "allow@%s.com", label);
		snprintf(msg, sizeof(msg), "invalid domain `%s.com`: invalid domain name: label of 64 bytes (at most 63)",
			 label);
		parse_err(tok, msg);
		label[63] = '\0';
		snprintf(tok, sizeof(tok), "allow@%s.com", label);
		parse_ok(tok, tok);
		/* 4 x 63 + 3 dots = 255 > 253; 3 x 63 + 61 + 3 dots = 253 is the longest name */
		char name[300];
		snprintf(name, sizeof(name), "%s.%s.%s.%s", label, label, label, label);
		snprintf(tok, sizeof(tok), "allow@%s", name);
		snprintf(msg, sizeof(msg), "invalid domain `%s`: invalid domain name: 255 bytes long (at most 253)", name);
		parse_err(tok, msg);
		name[253] = '\0';
		snprintf(tok, sizeof(tok), "allow@%s", name);
		parse_ok(tok, tok);
	}
}

static void test_errors_address(void)
{
	/* InvalidCidr */
	parse_err("allow@10.0.0.0/33", "invalid CIDR `10.0.0.0/33`");
	parse_err("allow@10.0.0.0/", "invalid CIDR `10.0.0.0/`");
	parse_err("allow@10.0.0.0/8/8", "invalid CIDR `10.0.0.0/8/8`");
	parse_err("allow@10.0.0.0/255.0.255.0", "invalid CIDR `10.0.0.0/255.0.255.0`");
	parse_err("allow@10/8", "invalid CIDR `10/8`");
	parse_err("allow@example.com/path", "invalid CIDR `example.com/path`");
	parse_err("allow@[::/129]", "invalid CIDR `::/129`");
	parse_err("allow@[::/ff]", "invalid CIDR `::/ff`");
	/* InvalidIp */
	parse_err("allow@[::g]", "invalid IP address `::g`");
	parse_err("allow@[]", "invalid IP address ``");
	parse_err("allow@[fe80::1%eth0]", "invalid IP address `fe80::1%eth0`");
	/* BracketedNotIpv6 (checked before what follows the bracket) */
	parse_err("allow@[1.2.3.4]", "`1.2.3.4` is not an IPv6 address or CIDR; only IPv6 forms belong inside `[...]`");
	parse_err("allow@[10.0.0.0/8]", "`10.0.0.0/8` is not an IPv6 address or CIDR; only IPv6 forms belong inside `[...]`");
	parse_err("allow@[1.2.3.4]junk", "`1.2.3.4` is not an IPv6 address or CIDR; only IPv6 forms belong inside `[...]`");
	/* UnclosedBracket, UnexpectedAfterBracket */
	parse_err("allow@[::1", "unclosed `[` in rule token `allow@[::1`; IPv6 addresses must be wrapped as `[<addr>]`");
	parse_err("allow@[::1]x", "rule token `allow@[::1]x` has unexpected content after `]`; expected `:<proto>` or end of token");
	parse_err("allow@[::1]/64", "rule token `allow@[::1]/64` has unexpected content after `]`; expected `:<proto>` or end of token");
	/* TrailingJunk */
	parse_err("allow@2001:db8::1", "rule token `allow@2001:db8::1` " JUNK);
	parse_err("allow@x.com:tcp:80:extra", "rule token `allow@x.com:tcp:80:extra` " JUNK);
	parse_err("allow@[::1]:tcp:80:x", "rule token `allow@[::1]:tcp:80:x` " JUNK);
	parse_err("allow@dns:udp:53:x", "rule token `allow@dns:udp:53:x` " JUNK);
	parse_err("allow@x.com:443:zzz:q", "rule token `allow@x.com:443:zzz:q` " JUNK);
	/* PortInProtocolSlot: before the target is even looked at */
	parse_err("allow@example.com:443", "`443` is a port, not a protocol; did you mean `example.com:tcp:443`? port "
					   "numbers don't belong in the target");
	parse_err("allow@example.com:80-443", "`80-443` is a port, not a protocol; did you mean "
					      "`example.com:tcp:80-443`? port numbers don't belong in the target");
	parse_err("allow@bad!target:0", "`0` is a port, not a protocol; did you mean `bad!target:tcp:0`? port numbers "
					"don't belong in the target");
	parse_err("allow@::1", "`` is not a valid target. " TARGET_HELP);
}

static void test_errors_fields(void)
{
	/* InvalidProtocol (not a port: too big, signed, bracketed) */
	parse_err("allow@example.com:65536", "`65536` is not a recognized protocol. " PROTO_HELP);
	parse_err("allow@example.com:+80", "`+80` is not a recognized protocol. " PROTO_HELP);
	parse_err("allow@[::1]:443", "`443` is not a recognized protocol. " PROTO_HELP);
	parse_err("allow@public:tpc:443", "`tpc` is not a recognized protocol. " PROTO_HELP ". Did you mean `tcp`?");
	parse_err("allow@public:TCP", "`TCP` is not a recognized protocol. " PROTO_HELP);
	parse_err("allow@public:", "`` is not a recognized protocol. " PROTO_HELP);
	parse_err("allow@public::80", "`` is not a recognized protocol. " PROTO_HELP);
	/* ties go to the earlier keyword: `icmp` is 2 from both `tcp` and `icmpv4` */
	parse_err("allow@public:icmp", "`icmp` is not a recognized protocol. " PROTO_HELP ". Did you mean `tcp`?");
	parse_err("allow@public:icmpv", "`icmpv` is not a recognized protocol. " PROTO_HELP ". Did you mean `icmpv4`?");
	parse_err("allow@public:icmpv66", "`icmpv66` is not a recognized protocol. " PROTO_HELP ". Did you mean `icmpv6`?");
	parse_err("allow@public:ucp", "`ucp` is not a recognized protocol. " PROTO_HELP ". Did you mean `tcp`?");
	parse_err("allow@public:bogus:99999", "`bogus` is not a recognized protocol. " PROTO_HELP);
	/* InvalidPorts, InvalidPortRange */
	parse_err("allow@public:tcp:http", "`http` is not a valid ports value. " PORTS_HELP);
	parse_err("allow@public:tcp:65536", "`65536` is not a valid ports value. " PORTS_HELP);
	parse_err("allow@public:tcp:", "`` is not a valid ports value. " PORTS_HELP);
	parse_err("allow@public:tcp:80-", "`80-` is not a valid ports value. " PORTS_HELP);
	parse_err("allow@public:tcp:-1", "`-1` is not a valid ports value. " PORTS_HELP);
	parse_err("allow@public:tcp: 80", "` 80` is not a valid ports value. " PORTS_HELP);
	parse_err("allow@public:tcp:1-2-3", "`1-2-3` is not a valid ports value. " PORTS_HELP);
	parse_err("allow@public:tcp:+", "`+` is not a valid ports value. " PORTS_HELP);
	parse_err("allow@public:tcp:443-80", "invalid port range 443..80; lo must be <= hi");
	/* IngressDoesNotSupportIcmp (after the ports are parsed) */
	parse_err("allow:ingress@public:icmpv4", "ingress and any-direction rules do not support ICMP; only TCP (and "
						 "UDP when UDP publishing lands) (in rule token `allow:ingress@public:icmpv4`)");
	parse_err("allow:any@public:icmpv6:any", "ingress and any-direction rules do not support ICMP; only TCP (and "
						 "UDP when UDP publishing lands) (in rule token `allow:any@public:icmpv6:any`)");
	parse_err("allow:ingress@public:icmpv4:x", "`x` is not a valid ports value. " PORTS_HELP);
}

static void test_errors_dns(void)
{
	/* the dns macro */
	parse_err("allow:ingress@dns", "the `dns` target only supports egress rules; omit the direction or use "
				       "`allow:egress@dns`/`deny:egress@dns` (in rule token `allow:ingress@dns`)");
	parse_err("deny:any@dns:udp:999", "the `dns` target only supports egress rules; omit the direction or use "
					  "`allow:egress@dns`/`deny:egress@dns` (in rule token `deny:any@dns:udp:999`)");
	parse_err("allow@dns:icmpv4", "the `dns` target supports `tcp`, `udp`, or `any`, not `icmpv4`");
	parse_err("allow@dns:udp:5353", "the `dns` target is fixed to port 53; omit the port or use `53`/`any` (got "
					"`5353` in rule token `allow@dns:udp:5353`)");
	parse_err("allow@dns:udp:053", "the `dns` target is fixed to port 53; omit the port or use `53`/`any` (got "
				       "`053` in rule token `allow@dns:udp:053`)");
	parse_err("allow@dns:foo:5353", "the `dns` target supports `tcp`, `udp`, or `any`, not `foo`");
	/* values are echoed with control bytes escaped, and long ones are cut */
	parse_err("allow@foo\x1b[31m.com", "invalid domain `foo\\x1b[31m.com`: invalid domain name: byte 0x1b is not allowed");
	parse_err("allow@a\tb", AMBIG("a\\tb"));
	parse_err("alo\n@x", "`alo\\n` is not a recognized action. Expected `allow` or `deny`. Did you mean `allow`?");
	{
		char tok[600], q[400];
		struct net_rule r;
		msb_error err = { 0 };
		memcpy(tok, "allow@", 6);
		memset(tok + 6, 'a', 500);
		tok[506] = '\0';
		memset(q, 'a', 315);
		memcpy(q + 315, "...`", 5);
		ok(net_rule_parse(tok, &r, &err) < 0 && strstr(err.msg, q) && strlen(err.msg) < sizeof(err.msg) - 1 &&
			   strstr(err.msg, "to target a literal hostname"),
		   "a long value is cut, the message is whole");
	}
	/* earliest check wins */
	parse_err("allow:bogus@[::1", "`bogus` is not a recognized direction. Expected `egress`, `ingress`, or `any`");
	parse_err("bogus:bogus@x", "`bogus` is not a recognized action. Expected `allow` or `deny`");
}

/* ---- lists ------------------------------------------------------------------------- */

static void test_lists(void)
{
	struct net_rules rules = { 0 };
	msb_error err = { 0 };
	char buf[NET_RULE_STRLEN];

	is_int(net_rules_parse_list(&rules, "deny@198.51.100.5,allow@public", &err), 2, "two tokens");
	is_int(rules.n, 2, "two rules");
	is_int(rules.v[0].action, NET_ACTION_DENY, "argv order kept (first)");
	is_int(rules.v[1].action, NET_ACTION_ALLOW, "argv order kept (second)");
	is_int(net_rules_parse_list(&rules, " allow@private ,, ,\tallow@host\n,", &err), 2, "trimmed, empties skipped");
	is_int(rules.n, 4, "repeated values concatenate");
	net_rule_format(&rules.v[3], buf, sizeof(buf));
	is_str(buf, "allow@host", "fourth rule");
	is_int(net_rules_parse_list(&rules, "", &err), 0, "empty value: no rules");
	is_int(net_rules_parse_list(&rules, " , ", &err), 0, "only separators: no rules");
	is_int(net_rules_parse_list(&rules, "allow@any,alow@x,allow@public", &err), -MSB_ERR_INVALID,
	       "first error aborts");
	is_str(err.msg, "`alow` is not a recognized action. Expected `allow` or `deny`. Did you mean `allow`?",
	       "error of the bad piece");
	is_int(rules.n, 4, "a failed list appends nothing");
	is_int(net_rules_parse_list(&rules, "allow@[::1]:tcp, deny@x.com", &err), 2, "brackets inside lists");
	net_rules_free(&rules);
}

/* ---- rendering ---------------------------------------------------------------------- */

static void test_render(void)
{
	struct net_rule r = R("allow@public");
	char buf[NET_RULE_STRLEN], small[8];

	r.protos = NET_PROTO_BIT(NET_PROTO_TCP) | NET_PROTO_BIT(NET_PROTO_UDP);
	net_rule_format(&r, buf, sizeof(buf));
	is_str(buf, "allow@public:tcp,allow@public:udp", "multi-protocol rule expands to a list");
	r = R("deny:any@example.com:tcp:1-2");
	r.protos |= NET_PROTO_BIT(NET_PROTO_UDP);
	net_rule_format(&r, buf, sizeof(buf));
	is_str(buf, "deny:any@example.com:tcp:1-2,deny:any@example.com:udp:1-2", "with ports and direction");
	r = R("allow@dns");
	r.dir = NET_DIR_ANY;
	net_rule_format(&r, buf, sizeof(buf));
	is_str(buf, "allow:any@host:tcp:53,allow:any@host:udp:53", "dns shape needs egress");

	r = R("allow@example.com:tcp:443");
	is_int(net_rule_format(&r, small, sizeof(small)), (int)strlen("allow@example.com:tcp:443"),
	       "format returns the full length");
	is_str(small, "allow@e", "format truncates safely");
	is_int(net_rule_format(&r, NULL, 0), (int)strlen("allow@example.com:tcp:443"), "format sizes with len 0");

	ok(!net_rule_equal(&(struct net_rule){ 0 }, &r), "different rules differ");
	struct net_rule a = R("allow@10.0.0.0/8"), b = R("allow@10.0.0.0/9");
	ok(!net_rule_equal(&a, &b), "prefix matters");
	a = R("allow@public:tcp:80");
	b = R("allow@public:tcp:81");
	ok(!net_rule_equal(&a, &b), "ports matter");
	is_str(net_group_name(NET_GROUP_NONE), "none", "group none name");
	is_str(net_group_name(99), "?", "bad group name");
	is_str(net_proto_name(NET_PROTO_ICMPV6), "icmpv6", "proto name");
	is_str(net_dir_name(NET_DIR_ANY), "any", "dir name");
	is_str(net_action_name(NET_ACTION_DENY), "deny", "action name");
	is_str(net_verdict_name(NET_VERDICT_DEFER), "defer", "verdict name");
}

/* ---- §2 groups ---------------------------------------------------------------------- */

struct group_case {
	const char *ip;
	int group;
};

/* Edge addresses of every group: first and last of each range and their neighbours. */
static const struct group_case group_cases[] = {
	{ "0.0.0.0", NET_GROUP_NONE },
	{ "0.0.0.1", NET_GROUP_PUBLIC },
	{ "0.255.255.255", NET_GROUP_PUBLIC },
	{ "9.255.255.255", NET_GROUP_PUBLIC },
	{ "10.0.0.0", NET_GROUP_PRIVATE },
	{ "10.255.255.255", NET_GROUP_PRIVATE },
	{ "11.0.0.0", NET_GROUP_PUBLIC },
	{ "100.63.255.255", NET_GROUP_PUBLIC },
	{ "100.64.0.0", NET_GROUP_PRIVATE },
	{ "100.127.255.255", NET_GROUP_PRIVATE },
	{ "100.128.0.0", NET_GROUP_PUBLIC },
	{ "126.255.255.255", NET_GROUP_PUBLIC },
	{ "127.0.0.0", NET_GROUP_LOOPBACK },
	{ "127.0.0.1", NET_GROUP_LOOPBACK },
	{ "127.255.255.255", NET_GROUP_LOOPBACK },
	{ "128.0.0.0", NET_GROUP_PUBLIC },
	{ "169.253.255.255", NET_GROUP_PUBLIC },
	{ "169.254.0.0", NET_GROUP_LINK_LOCAL },
	{ "169.254.169.253", NET_GROUP_LINK_LOCAL },
	{ "169.254.169.254", NET_GROUP_META },
	{ "169.254.169.255", NET_GROUP_LINK_LOCAL },
	{ "169.254.255.255", NET_GROUP_LINK_LOCAL },
	{ "169.255.0.0", NET_GROUP_PUBLIC },
	{ "172.15.255.255", NET_GROUP_PUBLIC },
	{ "172.16.0.0", NET_GROUP_PRIVATE },
	{ "172.31.255.255", NET_GROUP_PRIVATE },
	{ "172.32.0.0", NET_GROUP_PUBLIC },
	{ "192.0.0.1", NET_GROUP_PUBLIC },
	{ "192.0.2.1", NET_GROUP_PUBLIC },
	{ "192.88.99.1", NET_GROUP_PUBLIC },
	{ "192.167.255.255", NET_GROUP_PUBLIC },
	{ "192.168.0.0", NET_GROUP_PRIVATE },
	{ "192.168.255.255", NET_GROUP_PRIVATE },
	{ "192.169.0.0", NET_GROUP_PUBLIC },
	{ "198.18.0.1", NET_GROUP_PUBLIC },
	{ "198.51.100.1", NET_GROUP_PUBLIC },
	{ "203.0.113.1", NET_GROUP_PUBLIC },
	{ "223.255.255.255", NET_GROUP_PUBLIC },
	{ "224.0.0.0", NET_GROUP_MULTICAST },
	{ "239.255.255.255", NET_GROUP_MULTICAST },
	{ "240.0.0.0", NET_GROUP_PUBLIC },
	{ "255.255.255.255", NET_GROUP_PUBLIC },
	{ "::", NET_GROUP_NONE },
	{ "::1", NET_GROUP_LOOPBACK },
	{ "::2", NET_GROUP_PUBLIC },
	{ "::ffff:0.0.0.0", NET_GROUP_NONE },
	{ "::ffff:127.0.0.1", NET_GROUP_LOOPBACK },
	{ "::ffff:10.1.2.3", NET_GROUP_PRIVATE },
	{ "::ffff:169.254.169.254", NET_GROUP_META },
	{ "::ffff:8.8.8.8", NET_GROUP_PUBLIC },
	{ "::127.0.0.1", NET_GROUP_PUBLIC },
	{ "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NET_GROUP_PUBLIC },
	{ "fc00::", NET_GROUP_PRIVATE },
	{ "fd00:ec2::254", NET_GROUP_PRIVATE },
	{ "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NET_GROUP_PRIVATE },
	{ "fe00::", NET_GROUP_PUBLIC },
	{ "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NET_GROUP_PUBLIC },
	{ "fe80::", NET_GROUP_LINK_LOCAL },
	{ "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NET_GROUP_LINK_LOCAL },
	{ "fec0::1", NET_GROUP_PUBLIC },
	{ "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NET_GROUP_PUBLIC },
	{ "ff00::", NET_GROUP_MULTICAST },
	{ "ff02::1", NET_GROUP_MULTICAST },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NET_GROUP_MULTICAST },
	{ "2001:db8::1", NET_GROUP_PUBLIC },
	{ "64:ff9b::1.2.3.4", NET_GROUP_PUBLIC },
	{ "2002::1", NET_GROUP_PUBLIC },
	{ "100::1", NET_GROUP_PUBLIC },
	{ "2606:4700:4700::1111", NET_GROUP_PUBLIC },
};

static void test_groups(void)
{
	struct net_gateway gw = { .v4 = A("172.16.0.1"), .v6 = A("fd42:6d73:62::1") };
	struct net_gateway gw4 = { .v4 = A("172.16.0.1") };
	struct net_addr a;

	for (size_t i = 0; i < ARRAY_SIZE(group_cases); i++) {
		a = A(group_cases[i].ip);
		is_str(net_group_name(net_addr_classify(&a, NULL)), net_group_name(group_cases[i].group), "%s is %s",
		       group_cases[i].ip, net_group_name(group_cases[i].group));
		is_int(net_addr_classify(&a, &gw), group_cases[i].group, "%s with gateways", group_cases[i].ip);
	}
	a = A("172.16.0.1");
	is_int(net_addr_classify(&a, &gw), NET_GROUP_HOST, "IPv4 gateway is host (before private)");
	is_int(net_addr_classify(&a, NULL), NET_GROUP_PRIVATE, "without a gateway it is private");
	a = A("::ffff:172.16.0.1");
	is_int(net_addr_classify(&a, &gw), NET_GROUP_HOST, "mapped gateway is host");
	a = A("172.16.0.2");
	is_int(net_addr_classify(&a, &gw), NET_GROUP_PRIVATE, "the guest is not host");
	a = A("fd42:6d73:62::1");
	is_int(net_addr_classify(&a, &gw), NET_GROUP_HOST, "IPv6 gateway is host");
	is_int(net_addr_classify(&a, &gw4), NET_GROUP_PRIVATE, "inactive IPv6 family: not host");
	a = (struct net_addr){ 0 };
	is_int(net_addr_classify(&a, &gw4), NET_GROUP_NONE, "unset address has no group");

	a = A("::ffff:1.2.3.4");
	net_addr_normalize(&a);
	ok(a.family == NET_AF_INET && net_addr_equal(&a, &(struct net_addr){ NET_AF_INET, { 1, 2, 3, 4 } }),
	   "::ffff:1.2.3.4 normalises to 1.2.3.4");
	a = A("::1.2.3.4");
	net_addr_normalize(&a);
	is_int(a.family, NET_AF_INET6, "::1.2.3.4 stays IPv6");
	char buf[NET_ADDR_STRLEN];
	a = A("2001:db8::1");
	is_str(net_addr_format(&a, buf, sizeof(buf)), "2001:db8::1", "format v6");
	a = (struct net_addr){ 0 };
	is_str(net_addr_format(&a, buf, sizeof(buf)), "?", "format unset");
	ok(net_addr_parse("1.2.3", &a) < 0 && net_addr_parse("01.2.3.4", &a) < 0 && net_addr_parse("[::1]", &a) < 0,
	   "bad addresses are rejected");
	uint8_t raw[4] = { 192, 0, 2, 7 };
	net_addr_set(&a, NET_AF_INET, raw);
	is_str(net_addr_format(&a, buf, sizeof(buf)), "192.0.2.7", "net_addr_set");
	struct net_addr base = A("10.0.0.0");
	a = A("10.1.2.3");
	ok(net_addr_in_cidr(&a, &base, 8) && !net_addr_in_cidr(&a, &base, 16) && net_addr_in_cidr(&a, &base, 0),
	   "cidr containment");
	ok(!net_addr_in_cidr(&a, &base, 33), "bad prefix never matches");
	base = A("::");
	ok(!net_addr_in_cidr(&a, &base, 0), "families never mix");
}

/* ---- §3 profiles and flags -------------------------------------------------------------- */

/* Build from flags; returns the code and fills @text with the rules and defaults, or the error. */
static int flags(const struct net_flag_arg *args, size_t n, const struct net_policy *existing,
		 const struct net_rules *kept, char *text, size_t len)
{
	struct net_policy p;
	msb_error err = { 0 };
	char rules[2048];
	int ret = net_policy_from_flags(args, n, existing, kept, &p, &err);

	if (ret < 0) {
		snprintf(text, len, "%s", err.msg);
		return ret;
	}
	snprintf(text, len, "egress=%s ingress=%s rules=[%s]", net_action_name(p.default_egress),
		 net_action_name(p.default_ingress), rules_text(&p, rules, sizeof(rules)));
	net_policy_free(&p);
	return 0;
}

#define F(flag, v) ((struct net_flag_arg){ (flag), (v) })
#define FLAGS_OK(expect, ...)                                                                                 \
	do {                                                                                                  \
		const struct net_flag_arg a_[] = { __VA_ARGS__ };                                             \
		char t_[4096];                                                                                \
		int r_ = flags(a_, ARRAY_SIZE(a_), existing, kept, t_, sizeof(t_));                           \
		is_int(r_, 0, "flags ok: %s", expect);                                                        \
		is_str(t_, expect, "policy");                                                                 \
	} while (0)
#define FLAGS_ERR(expect, ...)                                                                                \
	do {                                                                                                  \
		const struct net_flag_arg a_[] = { __VA_ARGS__ };                                             \
		char t_[4096];                                                                                \
		int r_ = flags(a_, ARRAY_SIZE(a_), existing, kept, t_, sizeof(t_));                           \
		is_int(r_, -MSB_ERR_INVALID, "flags rejected: %s", expect);                                   \
		is_str(t_, expect, "message");                                                                \
	} while (0)

static void test_profiles(void)
{
	struct net_policy p;
	char buf[1024];

	net_policy_default(&p);
	is_str(rules_text(&p, buf, sizeof(buf)), "allow@dns, allow@public", "default policy = public profile");
	ok(p.default_egress == NET_ACTION_DENY && p.default_ingress == NET_ACTION_ALLOW, "default: egress deny, ingress allow");
	net_policy_free(&p);
	net_policy_from_profiles(&p, NET_PROFILE_BIT(NET_PROFILE_HOST) | NET_PROFILE_BIT(NET_PROFILE_PUBLIC) |
					     NET_PROFILE_BIT(NET_PROFILE_PRIVATE));
	is_str(rules_text(&p, buf, sizeof(buf)), "allow@dns, allow@public, allow@private, allow@host", "fixed order");
	net_policy_free(&p);
	net_policy_from_profiles(&p, 0);
	ok(p.rules.n == 0 && p.default_egress == NET_ACTION_DENY && p.default_ingress == NET_ACTION_ALLOW,
	   "empty profile set: no rules");
	net_policy_free(&p);
	net_policy_from_profiles(&p, NET_PROFILE_BIT(NET_PROFILE_ALL));
	ok(p.rules.n == 0 && p.default_egress == NET_ACTION_ALLOW && p.default_ingress == NET_ACTION_ALLOW, "all");
	net_policy_free(&p);
	net_policy_from_profiles(&p, NET_PROFILE_BIT(NET_PROFILE_NONE));
	ok(p.rules.n == 0 && p.default_egress == NET_ACTION_DENY && p.default_ingress == NET_ACTION_DENY, "none");
	net_policy_free(&p);
	net_policy_init(&p);
	ok(p.default_egress == NET_ACTION_DENY && p.default_ingress == NET_ACTION_DENY, "init fails closed");

	is_int(net_flag_lookup("--net-rule"), NET_FLAG_RULE, "lookup --net-rule");
	is_int(net_flag_lookup("no-net"), NET_FLAG_NO_NET, "lookup no-net");
	is_int(net_flag_lookup("--net-default-ingress"), NET_FLAG_DEFAULT_INGRESS, "lookup --net-default-ingress");
	is_int(net_flag_lookup("--network"), -1, "lookup unknown");
}

static void test_flags(void)
{
	const struct net_policy *existing = NULL;
	const struct net_rules *kept = NULL;
	struct net_policy custom;
	struct net_rules file_rules = { 0 };
	msb_error err = { 0 };

	/* no flag: the existing policy, or the public profile */
	{
		char t[256];
		is_int(flags(NULL, 0, NULL, NULL, t, sizeof(t)), 0, "no flags");
		is_str(t, "egress=deny ingress=allow rules=[allow@dns, allow@public]", "no flags: public profile");
	}
	FLAGS_OK("egress=deny ingress=allow rules=[deny@198.51.100.5, allow@dns, allow@public]",
		 F(NET_FLAG_RULE, "deny@198.51.100.5"));
	FLAGS_OK("egress=deny ingress=allow rules=[deny@1.2.3.4, allow@x.com, deny@y.com, allow@dns, allow@public]",
		 F(NET_FLAG_RULE, "deny@1.2.3.4,allow@x.com"), F(NET_FLAG_RULE, "deny@y.com"));
	/* --net */
	FLAGS_OK("egress=deny ingress=allow rules=[allow@dns, allow@public, allow@private]", F(NET_FLAG_NET, "private"),
		 F(NET_FLAG_NET, "public"));
	FLAGS_OK("egress=deny ingress=allow rules=[allow@dns, allow@public, allow@host]",
		 F(NET_FLAG_NET, " host , public,public"));
	FLAGS_OK("egress=deny ingress=allow rules=[allow@x.com, allow@dns, allow@public]", F(NET_FLAG_NET, "public"),
		 F(NET_FLAG_RULE, "allow@x.com"));
	FLAGS_OK("egress=allow ingress=allow rules=[deny@meta]", F(NET_FLAG_NET, "all"), F(NET_FLAG_RULE, "deny@meta"));
	FLAGS_OK("egress=deny ingress=deny rules=[allow@x.com]", F(NET_FLAG_RULE, "allow@x.com"), F(NET_FLAG_NET, "none"));
	/* --no-net, --net-default* */
	FLAGS_OK("egress=deny ingress=deny rules=[]", F(NET_FLAG_NO_NET, NULL));
	FLAGS_OK("egress=deny ingress=deny rules=[allow@intranet.host]", F(NET_FLAG_NO_NET, NULL),
		 F(NET_FLAG_RULE, "allow@intranet.host"));
	FLAGS_OK("egress=allow ingress=allow rules=[deny@meta]", F(NET_FLAG_DEFAULT, "allow"), F(NET_FLAG_RULE, "deny@meta"));
	FLAGS_OK("egress=deny ingress=deny rules=[]", F(NET_FLAG_DEFAULT, "deny"));
	FLAGS_OK("egress=allow ingress=allow rules=[]", F(NET_FLAG_DEFAULT_EGRESS, "allow"));
	FLAGS_OK("egress=deny ingress=allow rules=[]", F(NET_FLAG_DEFAULT_EGRESS, "deny"));
	FLAGS_OK("egress=deny ingress=deny rules=[]", F(NET_FLAG_DEFAULT_INGRESS, "deny"));
	FLAGS_OK("egress=allow ingress=deny rules=[allow@x.com]", F(NET_FLAG_DEFAULT_INGRESS, "deny"),
		 F(NET_FLAG_DEFAULT_EGRESS, "allow"), F(NET_FLAG_RULE, "allow@x.com"));

	/* an existing policy is refined by rules alone and replaced by the rest */
	mkpolicy(&custom, "allow@private,deny@meta", NET_ACTION_ALLOW, NET_ACTION_DENY);
	custom.gw.v4 = A("172.16.0.1");
	net_rules_parse_list(&file_rules, "deny@evil.example.com", &err);
	existing = &custom;
	kept = &file_rules;
	{
		char t[256];
		is_int(flags(NULL, 0, &custom, &file_rules, t, sizeof(t)), 0, "no flags, existing");
		is_str(t, "egress=allow ingress=deny rules=[allow@private, deny@meta]", "existing kept as is");
	}
	FLAGS_OK("egress=allow ingress=deny rules=[allow@x.com, allow@private, deny@meta]", F(NET_FLAG_RULE, "allow@x.com"));
	FLAGS_OK("egress=deny ingress=allow rules=[allow@x.com, deny@evil.example.com, allow@dns, allow@public]",
		 F(NET_FLAG_RULE, "allow@x.com"), F(NET_FLAG_NET, "public"));
	FLAGS_OK("egress=deny ingress=deny rules=[deny@evil.example.com]", F(NET_FLAG_NO_NET, NULL));
	FLAGS_OK("egress=allow ingress=allow rules=[deny@evil.example.com]", F(NET_FLAG_NET, "all"));
	FLAGS_OK("egress=deny ingress=allow rules=[deny@evil.example.com]", F(NET_FLAG_DEFAULT_EGRESS, "deny"));
	{
		struct net_policy out;
		const struct net_flag_arg a[] = { F(NET_FLAG_NO_NET, NULL) };
		is_int(net_policy_from_flags(a, 1, &custom, NULL, &out, &err), 0, "gateways survive");
		ok(net_addr_equal(&out.gw.v4, &custom.gw.v4), "gateway copied from the existing policy");
		net_policy_free(&out);
	}
	net_policy_free(&custom);
	net_rules_free(&file_rules);
}

static void test_flags_errors(void)
{
	const struct net_policy *existing = NULL;
	const struct net_rules *kept = NULL;
	msb_error err = { 0 };

	/* --net value errors */
	FLAGS_ERR("empty --net profile; expected public, private, host, all, or none", F(NET_FLAG_NET, ""));
	FLAGS_ERR("empty --net profile; expected public, private, host, all, or none", F(NET_FLAG_NET, "public,"));
	FLAGS_ERR("empty --net profile; expected public, private, host, all, or none", F(NET_FLAG_NET, "public, ,host"));
	FLAGS_ERR("unknown --net profile \"open\"; expected public, private, host, all, or none", F(NET_FLAG_NET, "open"));
	FLAGS_ERR("unknown --net profile \"Public\"; expected public, private, host, all, or none",
		  F(NET_FLAG_NET, "Public"));
	FLAGS_ERR("unknown --net profile \"a\\\"b\\\\c\\nd\\x01\"; expected public, private, host, all, or none",
		  F(NET_FLAG_NET, "a\"b\\c\nd\001 "));
	FLAGS_ERR("--net `all` may only be specified once", F(NET_FLAG_NET, "all,all"));
	FLAGS_ERR("--net `none` may only be specified once", F(NET_FLAG_NET, "none"), F(NET_FLAG_NET, "none"));
	FLAGS_ERR("--net terminal profiles `all` and `none` cannot be combined", F(NET_FLAG_NET, "all,none"));
	FLAGS_ERR("--net terminal profiles `all` and `none` cannot be combined", F(NET_FLAG_NET, "none"),
		  F(NET_FLAG_NET, "all"));
	FLAGS_ERR("--net `all` cannot be combined with public, private, or host", F(NET_FLAG_NET, "all,public"));
	FLAGS_ERR("--net `none` cannot be combined with public, private, or host", F(NET_FLAG_NET, "host"),
		  F(NET_FLAG_NET, "none"));
	/* ACTION value errors */
	FLAGS_ERR("unknown --net-default value \"maybe\"; expected `allow` or `deny`", F(NET_FLAG_DEFAULT, "maybe"));
	FLAGS_ERR("unknown --net-default-egress value \"Allow\"; expected `allow` or `deny`",
		  F(NET_FLAG_DEFAULT_EGRESS, "Allow"));
	FLAGS_ERR("unknown --net-default-ingress value \"\"; expected `allow` or `deny`", F(NET_FLAG_DEFAULT_EGRESS, "allow"),
		  F(NET_FLAG_DEFAULT_INGRESS, ""));
	/* conflicts, reported for the flag that came first */
	FLAGS_ERR("the argument '--no-net' cannot be used with '--net-default <ACTION>'", F(NET_FLAG_NO_NET, NULL),
		  F(NET_FLAG_DEFAULT, "allow"));
	FLAGS_ERR("the argument '--net-default-egress <ACTION>' cannot be used with '--no-net'",
		  F(NET_FLAG_DEFAULT_EGRESS, "allow"), F(NET_FLAG_NO_NET, NULL));
	FLAGS_ERR("the argument '--no-net' cannot be used with '--net-default-ingress <ACTION>'", F(NET_FLAG_NO_NET, NULL),
		  F(NET_FLAG_DEFAULT_INGRESS, "deny"));
	FLAGS_ERR("the argument '--net <PROFILE>' cannot be used with '--no-net'", F(NET_FLAG_NET, "public"),
		  F(NET_FLAG_NO_NET, NULL));
	FLAGS_ERR("the argument '--net-default <ACTION>' cannot be used with '--net <PROFILE>'",
		  F(NET_FLAG_RULE, "allow@any"), F(NET_FLAG_DEFAULT, "deny"), F(NET_FLAG_NET, "public"));
	FLAGS_ERR("the argument '--net <PROFILE>' cannot be used with '--net-default-egress <ACTION>'",
		  F(NET_FLAG_NET, "public"), F(NET_FLAG_DEFAULT_EGRESS, "deny"));
	FLAGS_ERR("the argument '--net <PROFILE>' cannot be used with '--net-default-ingress <ACTION>'",
		  F(NET_FLAG_NET, "none"), F(NET_FLAG_DEFAULT_INGRESS, "deny"));
	FLAGS_ERR("the argument '--net-default <ACTION>' cannot be used with '--net-default-egress <ACTION>'",
		  F(NET_FLAG_DEFAULT, "allow"), F(NET_FLAG_DEFAULT_EGRESS, "deny"));
	FLAGS_ERR("the argument '--net-default-ingress <ACTION>' cannot be used with '--net-default <ACTION>'",
		  F(NET_FLAG_DEFAULT_INGRESS, "allow"), F(NET_FLAG_DEFAULT, "deny"));
	/* single-use flags */
	FLAGS_ERR("the argument '--no-net' cannot be used multiple times", F(NET_FLAG_NO_NET, NULL), F(NET_FLAG_NO_NET, NULL));
	FLAGS_ERR("the argument '--net-default <ACTION>' cannot be used multiple times", F(NET_FLAG_DEFAULT, "allow"),
		  F(NET_FLAG_DEFAULT, "allow"));
	FLAGS_ERR("the argument '--net-default-egress <ACTION>' cannot be used multiple times",
		  F(NET_FLAG_DEFAULT_EGRESS, "allow"), F(NET_FLAG_DEFAULT_EGRESS, "deny"));
	FLAGS_ERR("a value is required for '--net-rule <TOKENS>'", F(NET_FLAG_RULE, NULL));
	FLAGS_ERR("unknown network flag 99", F((enum net_flag)99, "x"));
	/* the order in which problems are reported */
	FLAGS_ERR("the argument '--no-net' cannot be used multiple times", F(NET_FLAG_NO_NET, NULL),
		  F(NET_FLAG_DEFAULT, "x"), F(NET_FLAG_NO_NET, NULL));
	FLAGS_ERR("the argument '--no-net' cannot be used with '--net-default <ACTION>'", F(NET_FLAG_RULE, "bad"),
		  F(NET_FLAG_NO_NET, NULL), F(NET_FLAG_DEFAULT, "x"));
	FLAGS_ERR("rule token `bad` is missing `@`; expected `<action>[:<direction>]@<target>[:<proto>[:<ports>]]`",
		  F(NET_FLAG_NET, "bogus"), F(NET_FLAG_RULE, "allow@any"), F(NET_FLAG_RULE, "bad"));
	FLAGS_ERR("rule token `bad` is missing `@`; expected `<action>[:<direction>]@<target>[:<proto>[:<ports>]]`",
		  F(NET_FLAG_DEFAULT_EGRESS, "bogus"), F(NET_FLAG_RULE, "bad"));
	FLAGS_ERR("unknown --net-default-egress value \"x\"; expected `allow` or `deny`", F(NET_FLAG_DEFAULT_INGRESS, "y"),
		  F(NET_FLAG_DEFAULT_EGRESS, "x"));
	{
		struct net_policy out;
		const struct net_flag_arg a[] = { F(NET_FLAG_NET, "bogus") };
		mkpolicy(&out, "allow@any", NET_ACTION_ALLOW, NET_ACTION_ALLOW);
		struct net_rule *before = out.rules.v;
		ok(net_policy_from_flags(a, 1, NULL, NULL, &out, &err) < 0 && out.rules.v == before && out.rules.n == 1,
		   "out is untouched on error");
		net_policy_free(&out);
	}
}

/* ---- §3 evaluation ------------------------------------------------------------------- */

static void test_first_match(void)
{
	struct net_policy p;
	struct net_decision d;
	char buf[512];

	mkpolicy(&p, "deny@198.51.100.5,allow@public", NET_ACTION_DENY, NET_ACTION_ALLOW);
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "198.51.100.5", 443, &d), NET_VERDICT_DENY, "earlier deny wins");
	is_int(d.rule, 0, "rule 0 decided");
	is_int(d.why, NET_WHY_RULE, "why: rule");
	is_str(d.reason, "matched rule", "reason text");
	is_int(d.group, NET_GROUP_PUBLIC, "group reported");
	net_decision_format(&p, &d, buf, sizeof(buf));
	is_str(buf, "deny: rule[0] `deny@198.51.100.5` matched", "decision text");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "198.51.100.6", 443, &d), NET_VERDICT_ALLOW, "others reach allow@public");
	is_int(d.rule, 1, "rule 1 decided");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "10.0.0.1", 443, &d), NET_VERDICT_DENY, "private: egress default");
	is_int(d.rule, -1, "no rule");
	is_int(d.why, NET_WHY_DEFAULT_EGRESS, "why: egress default");
	net_decision_format(&p, &d, buf, sizeof(buf));
	is_str(buf, "deny: no rule matched; egress default is deny", "default text");
	is_int(ev(&p, NET_DIR_INGRESS, NET_PROTO_TCP, "198.51.100.5", 8080, &d), NET_VERDICT_ALLOW,
	       "egress rules do not apply to ingress");
	is_int(d.why, NET_WHY_DEFAULT_INGRESS, "why: ingress default");
	net_decision_format(&p, &d, buf, sizeof(buf));
	is_str(buf, "allow: no rule matched; ingress default is allow", "ingress default text");
	net_policy_free(&p);

	mkpolicy(&p, "allow@public,deny@198.51.100.5", NET_ACTION_DENY, NET_ACTION_ALLOW);
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "198.51.100.5", 443, NULL), NET_VERDICT_ALLOW,
	       "reversed: the broad allow wins");
	net_policy_free(&p);

	/* directions */
	mkpolicy(&p, "deny:ingress@private,allow:any@loopback,allow@host", NET_ACTION_ALLOW, NET_ACTION_DENY);
	is_int(ev(&p, NET_DIR_INGRESS, NET_PROTO_TCP, "10.1.1.1", 80, &d), NET_VERDICT_DENY, "ingress rule, ingress flow");
	is_int(d.rule, 0, "ingress rule index");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "10.1.1.1", 80, &d), NET_VERDICT_ALLOW, "ingress rule skipped on egress");
	is_int(d.rule, -1, "egress default");
	is_int(ev(&p, NET_DIR_INGRESS, NET_PROTO_TCP, "127.0.0.1", 80, &d), NET_VERDICT_ALLOW, "any rule on ingress");
	is_int(d.rule, 1, "any rule index (ingress)");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_UDP, "127.0.0.1", 80, &d), NET_VERDICT_ALLOW, "any rule on egress");
	is_int(d.rule, 1, "any rule index (egress)");
	is_int(ev(&p, NET_DIR_INGRESS, NET_PROTO_TCP, "8.8.8.8", 80, &d), NET_VERDICT_DENY, "ingress default deny");
	net_policy_free(&p);
}

static void test_filters(void)
{
	struct net_policy p;
	struct net_decision d;

	mkpolicy(&p, "allow@public:tcp:80-443,deny@public:udp,allow@public:icmpv4,deny@any:any:0", NET_ACTION_DENY,
		 NET_ACTION_DENY);
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "8.8.8.8", 80, &d), NET_VERDICT_ALLOW, "port at range start");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "8.8.8.8", 443, &d), NET_VERDICT_ALLOW, "port at range end");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "8.8.8.8", 79, &d), NET_VERDICT_DENY, "port below range");
	is_int(d.rule, -1, "below range: default");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "8.8.8.8", 444, &d), NET_VERDICT_DENY, "port above range");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_UDP, "8.8.8.8", 443, &d), NET_VERDICT_DENY, "udp skips the tcp rule");
	is_int(d.rule, 1, "udp rule decided");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_ICMPV4, "8.8.8.8", 0, &d), NET_VERDICT_ALLOW, "icmp rule without ports");
	is_int(d.rule, 2, "icmp rule index");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_ICMPV6, "2606:4700::1", 0, &d), NET_VERDICT_DENY,
	       "icmpv6 skips icmpv4 rule and every rule with ports");
	is_int(d.rule, -1, "icmpv6 reaches the default, not the port-0 rule");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "10.0.0.1", 0, &d), NET_VERDICT_DENY, "port 0 rule for tcp");
	is_int(d.rule, 3, "port 0 matches tcp/0");
	net_policy_free(&p);

	mkpolicy(&p, "allow@any:icmpv4:any,allow@any:tcp:22", NET_ACTION_DENY, NET_ACTION_DENY);
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_ICMPV4, "1.1.1.1", 0, NULL), NET_VERDICT_ALLOW, "ports `any` is no port filter");
	net_policy_free(&p);
}

static void test_addresses_eval(void)
{
	struct net_policy p;
	struct net_decision d;
	struct net_addr gw4 = A("172.16.0.1"), gw6 = A("fd42:6d73:62::1");
	struct net_flow f;

	mkpolicy(&p, "deny@[::ffff:1.2.3.4],allow@1.2.3.0/24,allow@[2001:db8::/32],allow@public", NET_ACTION_DENY,
		 NET_ACTION_DENY);
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "::ffff:1.2.3.4", 80, &d), NET_VERDICT_ALLOW,
	       "mapped flow meets IPv4 rules; the mapped rule never matches");
	is_int(d.rule, 1, "IPv4 CIDR matched the mapped address");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "2001:db8:ffff::1", 80, &d), NET_VERDICT_ALLOW, "IPv6 CIDR");
	is_int(d.rule, 2, "IPv6 CIDR index");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "0.0.0.0", 80, &d), NET_VERDICT_DENY, "0.0.0.0 is not public");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "::", 80, &d), NET_VERDICT_DENY, ":: is not public");
	is_int(d.group, NET_GROUP_NONE, ":: has no group");
	net_policy_free(&p);

	mkpolicy(&p, "allow@0.0.0.0/8,deny@any", NET_ACTION_ALLOW, NET_ACTION_ALLOW);
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "0.0.0.0", 80, NULL), NET_VERDICT_ALLOW, "a CIDR can name 0.0.0.0");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "::", 80, &d), NET_VERDICT_DENY, "any matches ::");
	is_int(d.rule, 1, "any rule");
	net_policy_free(&p);

	/* host: the gateways, only once set; ahead of private */
	mkpolicy(&p, "allow@host,deny@private", NET_ACTION_ALLOW, NET_ACTION_ALLOW);
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "172.16.0.1", 80, &d), NET_VERDICT_DENY, "no gateway: private");
	net_policy_set_gateway(&p, &gw4, &gw6);
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "172.16.0.1", 80, &d), NET_VERDICT_ALLOW, "IPv4 gateway is host");
	is_int(d.group, NET_GROUP_HOST, "host group reported");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "fd42:6d73:62::1", 80, &d), NET_VERDICT_ALLOW, "IPv6 gateway is host");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "172.16.0.2", 80, &d), NET_VERDICT_DENY, "guest address is private");
	net_policy_set_gateway(&p, &gw4, NULL);
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "fd42:6d73:62::1", 80, &d), NET_VERDICT_DENY, "inactive family");
	net_policy_free(&p);

	/* the default policy: DNS to the gateway and public only */
	net_policy_default(&p);
	net_policy_set_gateway(&p, &gw4, &gw6);
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_UDP, "172.16.0.1", 53, &d), NET_VERDICT_ALLOW, "public profile: DNS");
	is_int(d.rule, 0, "allow@dns");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "172.16.0.1", 22, &d), NET_VERDICT_DENY, "gateway other ports");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "192.0.2.10", 443, &d), NET_VERDICT_ALLOW, "TEST-NET is public");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "169.254.169.254", 80, &d), NET_VERDICT_DENY, "metadata denied");
	is_int(ev(&p, NET_DIR_EGRESS, NET_PROTO_TCP, "127.0.0.1", 80, &d), NET_VERDICT_DENY, "loopback denied");
	is_int(ev(&p, NET_DIR_INGRESS, NET_PROTO_TCP, "127.0.0.1", 8080, &d), NET_VERDICT_ALLOW, "ingress allowed");
	net_policy_free(&p);

	/* an impossible flow fails closed */
	mkpolicy(&p, "allow@any", NET_ACTION_ALLOW, NET_ACTION_ALLOW);
	f = flow(NET_DIR_ANY, NET_PROTO_TCP, "1.1.1.1", 1);
	is_int(net_policy_eval(&p, &f, &d), NET_VERDICT_DENY, "direction any is not a flow");
	is_int(d.why, NET_WHY_INVALID, "why: invalid");
	f = flow(NET_DIR_EGRESS, (enum net_proto)9, "1.1.1.1", 1);
	is_int(net_policy_eval(&p, &f, NULL), NET_VERDICT_DENY, "bad protocol");
	f = flow(NET_DIR_EGRESS, NET_PROTO_TCP, "1.1.1.1", 1);
	f.n_names = 1;
	is_int(net_policy_eval(&p, &f, NULL), NET_VERDICT_DENY, "names count without names");
	net_policy_free(&p);
}

static void test_domains(void)
{
	struct net_policy p;
	struct net_decision d;
	const char *pinned[] = { "Example.COM." };
	const char *other[] = { "other.com", "example.org" };
	const char *sub[] = { "cdn.x.com", "a.b.example.com" };
	const char *apex[] = { "example.com" };
	const char *evil[] = { "evilexample.com", "example.com.evil.net" };
	char buf[512];

	mkpolicy(&p, "allow@example.com", NET_ACTION_DENY, NET_ACTION_DENY);
	is_int(evn(&p, "93.184.216.34", NULL, 0, NET_MATCH_CACHE_ONLY, NULL, &d), NET_VERDICT_DENY,
	       "a domain rule never matches an address alone");
	is_int(evn(&p, "93.184.216.34", other, 2, NET_MATCH_CACHE_ONLY, NULL, &d), NET_VERDICT_DENY, "other names");
	is_int(evn(&p, "93.184.216.34", pinned, 1, NET_MATCH_CACHE_ONLY, NULL, &d), NET_VERDICT_ALLOW,
	       "pinned name matches (case and trailing dot ignored)");
	is_int(d.rule, 0, "domain rule index");
	is_str(d.name, "Example.COM.", "the matching name is reported");
	net_decision_format(&p, &d, buf, sizeof(buf));
	is_str(buf, "allow: rule[0] `allow@example.com` matched (name `Example.COM.`)", "text names the name");
	is_int(evn(&p, "93.184.216.34", sub, 2, NET_MATCH_CACHE_ONLY, NULL, &d), NET_VERDICT_DENY,
	       "a domain rule does not match subdomains");
	net_policy_free(&p);

	mkpolicy(&p, "allow@*.example.com", NET_ACTION_DENY, NET_ACTION_DENY);
	is_int(evn(&p, "1.1.1.1", sub, 2, NET_MATCH_CACHE_ONLY, NULL, &d), NET_VERDICT_ALLOW, "suffix: subdomain");
	is_str(d.name, "a.b.example.com", "second pinned name matched");
	is_int(evn(&p, "1.1.1.1", apex, 1, NET_MATCH_CACHE_ONLY, NULL, &d), NET_VERDICT_ALLOW, "suffix: apex");
	is_int(evn(&p, "1.1.1.1", evil, 2, NET_MATCH_CACHE_ONLY, NULL, &d), NET_VERDICT_DENY, "suffix: label aligned only");
	net_policy_free(&p);

	/* ingress and UDP use pins too (CacheOnly) */
	mkpolicy(&p, "deny:any@peer.example.net", NET_ACTION_ALLOW, NET_ACTION_ALLOW);
	{
		const char *peer[] = { "peer.example.net" };
		struct net_flow f = flow(NET_DIR_INGRESS, NET_PROTO_TCP, "203.0.113.9", 8080);
		f.names = peer;
		f.n_names = 1;
		is_int(net_policy_eval(&p, &f, &d), NET_VERDICT_DENY, "ingress peer by pinned name");
		f.dir = NET_DIR_EGRESS;
		f.proto = NET_PROTO_UDP;
		is_int(net_policy_eval(&p, &f, &d), NET_VERDICT_DENY, "udp by pinned name");
	}
	net_policy_free(&p);

	/* SNI: allow needs SNI and pin; deny needs SNI only */
	mkpolicy(&p, "deny@blocked.example.com,allow@*.example.com", NET_ACTION_DENY, NET_ACTION_DENY);
	{
		const char *www[] = { "www.example.com" };
		const char *none[] = { "unrelated.net" };
		is_int(evn(&p, "1.1.1.1", www, 1, NET_MATCH_SNI, "api.example.com", &d), NET_VERDICT_ALLOW,
		       "SNI allow: sibling pinned name counts");
		is_str(d.name, "api.example.com", "the SNI is reported");
		is_int(evn(&p, "1.1.1.1", none, 1, NET_MATCH_SNI, "api.example.com", &d), NET_VERDICT_DENY,
		       "SNI allow needs a matching pin");
		is_int(evn(&p, "1.1.1.1", www, 1, NET_MATCH_SNI, "evil.net", &d), NET_VERDICT_DENY,
		       "SNI allow needs the SNI to match");
		is_int(evn(&p, "1.1.1.1", NULL, 0, NET_MATCH_SNI, "BLOCKED.example.com.", &d), NET_VERDICT_DENY,
		       "SNI deny without any pin");
		is_int(d.rule, 0, "deny rule index");
		is_int(evn(&p, "1.1.1.1", www, 1, NET_MATCH_SNI, NULL, &d), NET_VERDICT_ALLOW,
		       "no SNI: behaves as CacheOnly");
	}
	net_policy_free(&p);
}

static void test_deferred(void)
{
	struct net_policy p;
	struct net_decision d;
	const char *pinned[] = { "api.example.com" };
	char buf[512];

	mkpolicy(&p, "allow@api.example.com", NET_ACTION_DENY, NET_ACTION_DENY);
	is_int(evn(&p, "1.1.1.1", pinned, 1, NET_MATCH_DEFERRED, NULL, &d), NET_VERDICT_DEFER, "pinned allow defers");
	is_int(d.why, NET_WHY_DEFER_PINNED, "why: pinned");
	net_decision_format(&p, &d, buf, sizeof(buf));
	is_str(buf, "defer: rule[0] `allow@api.example.com` matches a pinned name; the TLS SNI decides (name `api.example.com`)",
	       "defer text");
	is_int(evn(&p, "1.1.1.1", NULL, 0, NET_MATCH_DEFERRED, NULL, &d), NET_VERDICT_DENY, "unpinned allow is skipped");
	is_int(d.rule, -1, "default decided");
	net_policy_free(&p);

	mkpolicy(&p, "deny@ads.example.com", NET_ACTION_ALLOW, NET_ACTION_ALLOW);
	is_int(evn(&p, "1.1.1.1", NULL, 0, NET_MATCH_DEFERRED, NULL, &d), NET_VERDICT_DEFER,
	       "deny domain defers when the default allows");
	is_int(d.why, NET_WHY_DEFER_SNI, "why: SNI decides");
	net_policy_free(&p);

	mkpolicy(&p, "deny@ads.example.com", NET_ACTION_DENY, NET_ACTION_DENY);
	is_int(evn(&p, "1.1.1.1", NULL, 0, NET_MATCH_DEFERRED, NULL, &d), NET_VERDICT_DENY,
	       "deny domain with nothing that could allow denies now");
	is_int(d.why, NET_WHY_DENY_NO_ALLOW, "why: nothing could allow");
	is_int(d.rule, 0, "the deny rule is reported");
	net_policy_free(&p);

	mkpolicy(&p, "deny@ads.example.com,allow@public", NET_ACTION_DENY, NET_ACTION_DENY);
	is_int(evn(&p, "1.1.1.1", NULL, 0, NET_MATCH_DEFERRED, NULL, &d), NET_VERDICT_DEFER, "a later allow could allow");
	is_int(evn(&p, "10.0.0.1", NULL, 0, NET_MATCH_DEFERRED, NULL, &d), NET_VERDICT_DENY,
	       "a later allow that cannot match this address does not count");
	net_policy_free(&p);

	mkpolicy(&p, "deny@ads.example.com,deny@public,allow@any", NET_ACTION_ALLOW, NET_ACTION_ALLOW);
	is_int(evn(&p, "1.1.1.1", NULL, 0, NET_MATCH_DEFERRED, NULL, &d), NET_VERDICT_DENY,
	       "a later address deny ends the look-ahead");
	net_policy_free(&p);

	mkpolicy(&p, "deny@ads.example.com,deny@x.example.com,allow@api.example.com", NET_ACTION_DENY, NET_ACTION_DENY);
	is_int(evn(&p, "1.1.1.1", pinned, 1, NET_MATCH_DEFERRED, NULL, &d), NET_VERDICT_DEFER,
	       "look-ahead passes deny domains and finds a pinned allow");
	is_int(evn(&p, "1.1.1.1", NULL, 0, NET_MATCH_DEFERRED, NULL, &d), NET_VERDICT_DENY, "unpinned allow cannot allow");
	net_policy_free(&p);

	mkpolicy(&p, "allow@public:tcp:80,deny@ads.example.com", NET_ACTION_ALLOW, NET_ACTION_ALLOW);
	is_int(evn(&p, "1.1.1.1", NULL, 0, NET_MATCH_DEFERRED, NULL, &d), NET_VERDICT_DEFER,
	       "address rules for other ports are skipped");
	net_policy_free(&p);
}

/* ---- §4 DNS ------------------------------------------------------------------------- */

static void test_dns(void)
{
	struct net_policy p;
	struct net_decision d;
	char buf[512];

	net_policy_default(&p);
	is_int(net_policy_dns_query(&p, "example.com", NET_DNS_UDP, &d), NET_VERDICT_ALLOW, "public profile: udp query");
	is_int(d.rule, 0, "allowed by allow@dns");
	is_int(net_policy_dns_query(&p, "example.com", NET_DNS_TCP, &d), NET_VERDICT_ALLOW, "tcp query");
	is_int(net_policy_dns_query(&p, "example.com", NET_DNS_DOT, &d), NET_VERDICT_DENY, "DoT needs an explicit rule");
	is_int(d.rule, -1, "egress default");
	net_policy_free(&p);

	mkpolicy(&p, "allow@host:tcp:853", NET_ACTION_DENY, NET_ACTION_DENY);
	is_int(net_policy_dns_query(&p, "example.com", NET_DNS_DOT, NULL), NET_VERDICT_ALLOW, "host tcp/853 allows DoT");
	is_int(net_policy_dns_query(&p, "example.com", NET_DNS_UDP, NULL), NET_VERDICT_DENY, "but not udp/53");
	net_policy_free(&p);

	/* --no-net --net-rule allow@intranet.host */
	mkpolicy(&p, "allow@intranet.host", NET_ACTION_DENY, NET_ACTION_DENY);
	is_int(net_policy_dns_query(&p, "Intranet.Host.", NET_DNS_UDP, &d), NET_VERDICT_ALLOW, "allowed name resolves");
	is_str(d.name, "Intranet.Host.", "queried name reported");
	is_int(net_policy_dns_query(&p, "example.com", NET_DNS_UDP, &d), NET_VERDICT_DENY, "others: NXDOMAIN");
	net_policy_free(&p);

	mkpolicy(&p, "deny@*.ads.example.com,allow@example.com:tcp:443,allow@public,allow@any:udp", NET_ACTION_DENY,
		 NET_ACTION_DENY);
	is_int(net_policy_dns_query(&p, "x.ads.example.com", NET_DNS_UDP, &d), NET_VERDICT_DENY, "suffix deny");
	is_int(d.rule, 0, "deny rule index");
	net_decision_format(&p, &d, buf, sizeof(buf));
	is_str(buf, "deny: rule[0] `deny@*.ads.example.com` matched (name `x.ads.example.com`)", "query decision text");
	is_int(net_policy_dns_query(&p, "ads.example.com", NET_DNS_TCP, &d), NET_VERDICT_DENY, "suffix apex");
	is_int(net_policy_dns_query(&p, "example.com", NET_DNS_UDP, &d), NET_VERDICT_ALLOW,
	       "domain rules ignore their proto and ports");
	is_int(d.rule, 1, "domain allow index");
	is_int(net_policy_dns_query(&p, "other.org", NET_DNS_TCP, &d), NET_VERDICT_DENY,
	       "group rules never match; any:udp does not match tcp");
	is_int(net_policy_dns_query(&p, "other.org", NET_DNS_UDP, &d), NET_VERDICT_ALLOW, "any:udp matches udp");
	is_int(d.rule, 3, "any rule index");
	is_int(net_policy_dns_query(&p, "bad name!", NET_DNS_UDP, &d), NET_VERDICT_ALLOW,
	       "invalid names still meet any rules");
	is_int(net_policy_dns_query(&p, "bad name!", NET_DNS_TCP, &d), NET_VERDICT_DENY, "and nothing else");
	net_policy_free(&p);

	mkpolicy(&p, "deny:ingress@example.com,deny:any@evil.com", NET_ACTION_ALLOW, NET_ACTION_ALLOW);
	is_int(net_policy_dns_query(&p, "example.com", NET_DNS_UDP, NULL), NET_VERDICT_ALLOW, "ingress rules ignored");
	is_int(net_policy_dns_query(&p, "evil.com", NET_DNS_UDP, NULL), NET_VERDICT_DENY, "any-direction rules count");
	is_int(net_policy_dns_query(&p, "evil.com", 7, &d), NET_VERDICT_DENY, "bad transport fails closed");
	is_int(d.why, NET_WHY_INVALID, "why: invalid");
	net_policy_free(&p);

	mkpolicy(&p, NULL, NET_ACTION_DENY, NET_ACTION_ALLOW);
	is_int(net_policy_dns_query(&p, "example.com", NET_DNS_UDP, NULL), NET_VERDICT_DENY,
	       "--net-default-egress deny alone blocks DNS");
	net_policy_free(&p);
}

static void test_rebind(void)
{
	static const char *const reserved[] = {
		"0.1.2.3",     "127.0.0.1",     "10.0.0.1",      "172.16.5.4",    "192.168.1.1",    "100.64.0.1",
		"169.254.1.1", "192.0.0.8",     "192.0.2.1",     "192.88.99.1",   "198.19.255.255", "198.51.100.7",
		"203.0.113.1", "224.0.0.251",   "240.0.0.1",     "255.255.255.255", "::1",           "::",
		"ff02::fb",    "fd00::1",       "fe80::1",       "fec0::1",       "100::1",         "64:ff9b:1::1",
		"2001:db8::1", "3fff::1",       "::ffff:10.0.0.1",
	};
	static const char *const unreserved[] = {
		"1.1.1.1", "8.8.8.8", "198.20.0.0", "100.128.0.1", "64:ff9b::1", "2606:4700::1", "3fff:1000::1",
		"100:0:0:1::", "::ffff:8.8.8.8",
	};
	struct net_policy p;
	struct net_addr a;

	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++) {
		a = A(reserved[i]);
		ok(net_addr_is_reserved(&a), "%s is reserved", reserved[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(unreserved); i++) {
		a = A(unreserved[i]);
		ok(!net_addr_is_reserved(&a), "%s is not reserved", unreserved[i]);
	}

	net_policy_from_profiles(&p, NET_PROFILE_BIT(NET_PROFILE_PRIVATE));
	a = A("10.1.2.3");
	ok(net_policy_rebind_allows(&p, &a), "private profile admits 10.x answers");
	a = A("127.0.0.1");
	ok(!net_policy_rebind_allows(&p, &a), "but not 127.0.0.1");
	a = A("169.254.1.1");
	ok(!net_policy_rebind_allows(&p, &a), "nor link-local");
	a = A("0.0.0.0");
	ok(!net_policy_rebind_allows(&p, &a), "nor 0.0.0.0");
	net_policy_free(&p);

	mkpolicy(&p, "deny@10.20.30.40/32,allow@private", NET_ACTION_ALLOW, NET_ACTION_ALLOW);
	a = A("10.20.30.40");
	ok(!net_policy_rebind_allows(&p, &a), "an earlier address deny wins");
	a = A("10.20.30.41");
	ok(net_policy_rebind_allows(&p, &a), "neighbour allowed by private");
	net_policy_free(&p);

	net_policy_from_profiles(&p, NET_PROFILE_BIT(NET_PROFILE_ALL));
	a = A("10.1.2.3");
	ok(!net_policy_rebind_allows(&p, &a), "allow-all defaults do not count");
	net_policy_free(&p);

	mkpolicy(&p, "allow@dns,allow@any,allow@10.0.0.0/8:tcp:80,allow@intranet.example.com", NET_ACTION_ALLOW,
		 NET_ACTION_ALLOW);
	a = A("10.1.2.3");
	ok(!net_policy_rebind_allows(&p, &a), "port-scoped, any and domain rules do not count");
	net_policy_free(&p);

	mkpolicy(&p, "deny@10.0.0.0/8:udp,allow@10.0.0.0/8:tcp", NET_ACTION_DENY, NET_ACTION_DENY);
	a = A("::ffff:10.1.2.3");
	ok(net_policy_rebind_allows(&p, &a), "tcp or udp: a tcp allow is enough (mapped address)");
	net_policy_free(&p);

	mkpolicy(&p, "allow@10.0.0.0/8:icmpv4,allow:ingress@private", NET_ACTION_DENY, NET_ACTION_DENY);
	a = A("10.1.2.3");
	ok(!net_policy_rebind_allows(&p, &a), "icmp-only and ingress rules do not count");
	net_policy_free(&p);
}

static void test_misc(void)
{
	struct net_policy p, q;
	char canon[NET_NAME_MAX + 1];
	msb_error err = { 0 };

	mkpolicy(&p, "allow@public,allow@*.example.com", NET_ACTION_DENY, NET_ACTION_ALLOW);
	ok(net_policy_has_domain_rules(&p), "has domain rules");
	net_policy_copy(&q, &p);
	ok(q.rules.n == 2 && q.rules.v != p.rules.v && net_rule_equal(&q.rules.v[1], &p.rules.v[1]), "deep copy");
	net_policy_free(&p);
	ok(!net_policy_has_domain_rules(&p), "freed policy is empty");
	net_policy_free(&q);
	net_policy_default(&p);
	ok(!net_policy_has_domain_rules(&p), "default policy has no domain rules");
	net_policy_free(&p);

	is_int(net_name_canonical("WWW.Example.com.", 16, canon, &err), 0, "canonical name");
	is_str(canon, "www.example.com", "canonical text");
	is_int(net_name_canonical("a b", 3, canon, &err), -MSB_ERR_INVALID, "bad name");
	is_str(err.msg, "invalid domain name: byte 0x20 is not allowed", "bad name message");
	is_int(net_name_canonical("..", 2, canon, NULL), -MSB_ERR_INVALID, "empty name, no error object");
	is_str(net_why_text(NET_WHY_DEFER_SNI), "deny rule depends on the TLS SNI", "why text");
	is_str(net_why_text(-1), "?", "bad why");
}

int main(void)
{
	test_forms();
	test_forms_fields();
	test_forms_dns();
	test_errors();
	test_errors_target();
	test_errors_address();
	test_errors_fields();
	test_errors_dns();
	test_lists();
	test_render();
	test_groups();
	test_profiles();
	test_flags();
	test_flags_errors();
	test_first_match();
	test_filters();
	test_addresses_eval();
	test_domains();
	test_deferred();
	test_dns();
	test_rebind();
	test_misc();
	return tap_done();
}
