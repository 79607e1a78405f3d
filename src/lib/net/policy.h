/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy.h - the network policy engine: the `--net-rule` grammar, destination
 * groups, profiles and the `--net*` flag interactions, first-match evaluation
 * of flows and of DNS queries, and rendering rules back to their token text.
 *
 * The module is pure: no I/O, no clock, no globals that change. Parsing and
 * building allocate (and abort on OOM like the rest of libmsb); evaluation
 * never allocates and costs O(rules x names pinned to the address) per call.
 * docs/network-policy.md explains the semantics and the choices made where
 * spec/network.md is silent.
 *
 * Theory of Operation
 * -------------------
 * A policy is two default actions (egress, ingress) and an ordered list of
 * rules. A flow is walked against the rules of its direction (rules whose
 * direction is that one or `any`); the first rule whose protocol set, port
 * range and destination all match decides. If none does, the direction's
 * default decides. Addresses are normalised first (::ffff:a.b.c.d becomes
 * a.b.c.d), so IPv4 rules and groups see mapped addresses as IPv4.
 *
 * Domain and suffix rules cannot be decided from an IP address. They match
 * through the names the DNS interceptor pinned to the address (the names the
 * sandbox resolved that answered with it) and, for TLS, the SNI; the caller
 * passes both in and picks how they are used with &enum net_match.
 */
#ifndef MSB_NET_POLICY_H
#define MSB_NET_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msb.h"

/* Longest canonical domain name: 255 octets on the wire = 253 characters of text. */
#define NET_NAME_MAX 253
/* Longest label of a domain name. */
#define NET_LABEL_MAX 63
/* Buffer size that always holds net_addr_format() output. */
#define NET_ADDR_STRLEN 48
/* Buffer size that always holds net_rule_format() output. */
#define NET_RULE_STRLEN 1280
/* Buffer size of net_quote(); longer values are cut and end in "...". */
#define NET_QUOTE_MAX 320

enum net_action {
	NET_ACTION_ALLOW,
	NET_ACTION_DENY,
	NET_ACTION_COUNT
};

enum net_dir {
	NET_DIR_EGRESS,
	NET_DIR_INGRESS,
	NET_DIR_ANY, /* rules only: applies to both walks */
	NET_DIR_COUNT
};

enum net_proto {
	NET_PROTO_TCP,
	NET_PROTO_UDP,
	NET_PROTO_ICMPV4,
	NET_PROTO_ICMPV6,
	NET_PROTO_COUNT
};
/* Protocol sets are bit masks of NET_PROTO_BIT(); the empty set means "any". */
#define NET_PROTO_BIT(p) (1u << (p))

/* Destination groups, in the order the `--net-rule` grammar lists them. */
enum net_group {
	NET_GROUP_NONE = -1, /* classification only: 0.0.0.0 and :: belong to no group */
	NET_GROUP_PUBLIC,
	NET_GROUP_PRIVATE,
	NET_GROUP_LOOPBACK,
	NET_GROUP_LINK_LOCAL,
	NET_GROUP_META,
	NET_GROUP_MULTICAST,
	NET_GROUP_HOST,
	NET_GROUP_COUNT
};

enum net_dest {
	NET_DEST_ANY,
	NET_DEST_GROUP,
	NET_DEST_CIDR,
	NET_DEST_DOMAIN, /* exact name */
	NET_DEST_SUFFIX, /* the name and every label-aligned subdomain */
	NET_DEST_COUNT
};

/* Address families of struct net_addr. */
enum net_af {
	NET_AF_NONE = 0, /* unset (an inactive gateway family) */
	NET_AF_INET = 4,
	NET_AF_INET6 = 6,
};

/**
 * struct net_addr - an IPv4 or IPv6 address in network byte order.
 * @family: enum net_af
 * @b: the address; IPv4 uses b[0..3], the rest stays zero
 */
struct net_addr {
	uint8_t family;
	uint8_t b[16];
};

/**
 * struct net_gateway - the sandbox's gateway addresses, which form the `host` group.
 * @v4: IPv4 gateway, family NET_AF_NONE when the sandbox has no IPv4
 * @v6: IPv6 gateway, family NET_AF_NONE when the sandbox has no IPv6
 */
struct net_gateway {
	struct net_addr v4, v6;
};

/**
 * struct net_rule - one parsed rule. Plain data: copy it by assignment.
 * @action: what a match decides
 * @dir: which walks see the rule
 * @dest: which of the destination fields below applies
 * @group: the group when @dest is NET_DEST_GROUP
 * @protos: NET_PROTO_BIT() set; 0 = any protocol
 * @has_ports: false = any port; true = only @port_lo..@port_hi (inclusive)
 * @port_lo: first port of the range
 * @port_hi: last port of the range
 * @addr: CIDR base as written (host bits are kept) when @dest is NET_DEST_CIDR
 * @prefix: CIDR prefix length (0..32 or 0..128)
 * @name: lower-case name without leading/trailing dots for DOMAIN and SUFFIX
 */
struct net_rule {
	enum net_action action;
	enum net_dir dir;
	enum net_dest dest;
	enum net_group group;
	unsigned protos;
	bool has_ports;
	uint16_t port_lo, port_hi;
	struct net_addr addr;
	uint8_t prefix;
	char name[NET_NAME_MAX + 1];
};

/**
 * struct net_rules - a growable, ordered rule list.
 * @v: the rules
 * @n: how many are used
 * @cap: how many fit before the next reallocation
 */
struct net_rules {
	struct net_rule *v;
	size_t n, cap;
};

/**
 * struct net_policy - defaults, ordered rules and the gateway for `host`.
 * @default_egress: decides egress flows no rule matched
 * @default_ingress: decides ingress flows no rule matched
 * @rules: evaluated in order, first match wins
 * @gw: the sandbox's gateway addresses (config time; may stay unset)
 */
struct net_policy {
	enum net_action default_egress, default_ingress;
	struct net_rules rules;
	struct net_gateway gw;
};

/* ---- containers ----------------------------------------------------------- */

/* Append a copy of @rule. */
void net_rules_push(struct net_rules *rules, const struct net_rule *rule);
/* Append copies of all of @src. */
void net_rules_extend(struct net_rules *dst, const struct net_rules *src);
void net_rules_free(struct net_rules *rules);

/* An empty policy that denies both directions (the fail-closed default for incomplete input). */
void net_policy_init(struct net_policy *p);
void net_policy_free(struct net_policy *p);
/* Deep copy; @dst must not hold rules (call net_policy_init or net_policy_free first). */
void net_policy_copy(struct net_policy *dst, const struct net_policy *src);
/* Record the gateway addresses (either may be NULL for an inactive family); they are normalised. */
void net_policy_set_gateway(struct net_policy *p, const struct net_addr *v4, const struct net_addr *v6);

/* ---- keywords --------------------------------------------------------------- */

/* The grammar's spelling of a value ("allow", "ingress", "icmpv6", "link-local"); "?" if out of range. */
const char *net_action_name(int action);
const char *net_dir_name(int dir);
const char *net_proto_name(int proto);
const char *net_group_name(int group); /* NET_GROUP_NONE gives "none" */

/*
 * net_quote() - a value made safe to echo in an error message: control bytes
 * become \n, \t, \r or \xNN so a hostile value cannot drive the terminal the
 * message is printed on; bytes >= 0x80 pass through (UTF-8 stays readable).
 * @debug wraps it in double quotes and escapes `"` and `\` (the reference's
 * "{:?}" style). Returns @buf.
 */
const char *net_quote(char buf[NET_QUOTE_MAX], const char *s, size_t len, bool debug);

/* ---- rule grammar (spec/network.md §1) ----------------------------------------- */

/**
 * net_rule_parse() - parse one rule token, e.g. `allow:egress@example.com:tcp:443`.
 * @token: the token exactly as given (the list splitter trims; this does not)
 * @out: receives the rule (fully overwritten, even on error)
 * @err: error out; the message names the offending token or field
 *
 * Every error of the spec's grammar is reported with the reference's message,
 * including the Levenshtein "Did you mean" suggestions.
 *
 * Return: 0, or -MSB_ERR_INVALID.
 */
int net_rule_parse(const char *token, struct net_rule *out, msb_error *err);

/**
 * net_rules_parse_list() - parse one `--net-rule` value and append its rules.
 * @rules: list to append to
 * @value: comma-separated tokens; pieces are trimmed and empty pieces skipped
 * @err: error out
 *
 * Call once per `--net-rule` flag, in argv order. The append is atomic: on
 * error @rules is left as it was.
 *
 * Return: number of rules appended (>= 0), or -MSB_ERR_INVALID at the first bad token.
 */
int net_rules_parse_list(struct net_rules *rules, const char *value, msb_error *err);

/**
 * net_rule_format() - render a rule as canonical token text.
 * @r: the rule
 * @buf: output, NUL-terminated (may be NULL when @len is 0)
 * @len: size of @buf; NET_RULE_STRLEN always suffices
 *
 * The text parses back (net_rules_parse_list) to rules equal to @r, with the
 * default direction omitted and `any` fields dropped when nothing follows.
 * `host` egress port 53 over UDP+TCP renders as `dns`; any other protocol set
 * of more than one protocol (not producible by the grammar) renders as one
 * token per protocol, joined by commas.
 *
 * Return: the length of the full text (as snprintf).
 */
int net_rule_format(const struct net_rule *r, char *buf, size_t len);

/* Field-wise equality (the bytes of @name after its NUL are ignored). */
bool net_rule_equal(const struct net_rule *a, const struct net_rule *b);

/**
 * net_name_canonical() - validate a domain name and return its canonical form.
 * @s: the name; leading and trailing dots are stripped
 * @n: its length in bytes
 * @out: receives the lower-case name
 * @err: error out (may be NULL), message "domain name is empty" or "invalid domain name: ..."
 *
 * The rules: ASCII letters, digits, `_` and `-` (not first in a label);
 * labels 1-63 bytes; at most 253 bytes in all. Anything else (spaces, `:port`,
 * `user@`, `scheme://`, `/`, `?`, `#`, `*`, non-ASCII) is rejected.
 *
 * Return: 0, or -MSB_ERR_INVALID.
 */
int net_name_canonical(const char *s, size_t n, char out[NET_NAME_MAX + 1], msb_error *err);

/* ---- addresses and groups (spec/network.md §2) ---------------------------------- */

/* Parse a plain IPv4 dotted quad or IPv6 text address (no brackets, no zone). Return 0 or -1. */
int net_addr_parse(const char *s, struct net_addr *out);
/* Build from raw bytes: 4 bytes for NET_AF_INET, 16 for NET_AF_INET6. */
void net_addr_set(struct net_addr *a, int family, const void *bytes);
/* Turn ::ffff:a.b.c.d into a.b.c.d; leave anything else alone. */
void net_addr_normalize(struct net_addr *a);
/* inet_ntop text of @a into @buf (NET_ADDR_STRLEN); "?" for an unset address. Returns @buf. */
const char *net_addr_format(const struct net_addr *a, char *buf, size_t len);
bool net_addr_equal(const struct net_addr *a, const struct net_addr *b);
/* True when @a is in @base/@prefix of the same family (no normalisation here). */
bool net_addr_in_cidr(const struct net_addr *a, const struct net_addr *base, unsigned prefix);

/**
 * net_addr_classify() - the destination group of an address.
 * @a: the address (normalised internally, not modified)
 * @gw: the sandbox gateways for `host`, or NULL when unknown
 *
 * Groups are disjoint; the first hit of: unspecified (no group), host, meta,
 * loopback, private, link-local, multicast, public (everything else).
 *
 * Return: the group, or NET_GROUP_NONE for 0.0.0.0, :: and unset addresses.
 */
enum net_group net_addr_classify(const struct net_addr *a, const struct net_gateway *gw);

/* Reserved for DNS rebinding protection (spec/network.md §4); mapped addresses use the IPv4 list. */
bool net_addr_is_reserved(const struct net_addr *a);

/* ---- profiles and flags (spec/network.md §3) --------------------------------------- */

enum net_profile {
	NET_PROFILE_PUBLIC,
	NET_PROFILE_PRIVATE,
	NET_PROFILE_HOST,
	NET_PROFILE_ALL,  /* terminal: allow both directions, no rules */
	NET_PROFILE_NONE, /* terminal: deny both directions, no rules */
	NET_PROFILE_COUNT
};
#define NET_PROFILE_BIT(p) (1u << (p))

/**
 * net_policy_from_profiles() - the policy of a set of profiles.
 * @out: receives the policy (initialised here; free with net_policy_free)
 * @mask: NET_PROFILE_BIT() set of public/private/host, or exactly one of all/none
 *
 * A non-empty composable set gives `allow@dns` then `allow@public`,
 * `allow@private`, `allow@host` (requested ones, in that order), egress deny,
 * ingress allow. The empty set gives no rules with the same defaults.
 */
void net_policy_from_profiles(struct net_policy *out, unsigned mask);

/* The policy used when no network flag is given: the `public` profile. */
void net_policy_default(struct net_policy *out);

enum net_flag {
	NET_FLAG_NET,             /* --net PROFILE[,PROFILE...] (repeatable) */
	NET_FLAG_RULE,            /* --net-rule TOKENS (repeatable) */
	NET_FLAG_NO_NET,          /* --no-net (value ignored) */
	NET_FLAG_DEFAULT,         /* --net-default ACTION */
	NET_FLAG_DEFAULT_EGRESS,  /* --net-default-egress ACTION */
	NET_FLAG_DEFAULT_INGRESS, /* --net-default-ingress ACTION */
	NET_FLAG_COUNT
};

/**
 * struct net_flag_arg - one network flag occurrence, in argv order.
 * @flag: which flag
 * @value: its value (borrowed); NULL for --no-net
 */
struct net_flag_arg {
	enum net_flag flag;
	const char *value;
};

/* Map a long option name ("net-rule" or "--net-rule") to its enum net_flag; -1 if it is not one. */
int net_flag_lookup(const char *name);

/**
 * net_policy_from_flags() - build the sandbox policy from the `--net*` flags.
 * @args: the flags in argv order
 * @n_args: how many
 * @existing: the configured policy the flags refine or replace; NULL = the public profile
 * @kept: config-file rules that survive a replacing flag (appended after the
 *        CLI rules, before profile rules); NULL = none
 * @out: receives the policy (initialised here; untouched on error)
 * @err: error out
 *
 * Checks, in the reference's order: single-use flags given twice, conflicting
 * flags, the `--net-rule` tokens, the `--net` profiles, the ACTION values.
 * Then: no flag -> @existing; only rules -> rules prepended to @existing;
 * `--net` -> rules ++ @kept ++ profile rules with the profile defaults
 * (`all`/`none`: both allow/deny); `--no-net` -> both deny; `--net-default A`
 * -> both A; `--net-default-egress/-ingress` -> as given, unset egress deny,
 * unset ingress allow. Gateways are copied from @existing.
 *
 * Return: 0, or -MSB_ERR_INVALID.
 */
int net_policy_from_flags(const struct net_flag_arg *args, size_t n_args, const struct net_policy *existing,
			  const struct net_rules *kept, struct net_policy *out, msb_error *err);

/* ---- evaluation (spec/network.md §3) ----------------------------------------------- */

enum net_verdict {
	NET_VERDICT_ALLOW,
	NET_VERDICT_DENY,
	NET_VERDICT_DEFER, /* NET_MATCH_DEFERRED only: decide again once the TLS SNI is known */
	NET_VERDICT_COUNT
};

/* How domain and suffix rules use the names of a flow (spec/network.md §3). */
enum net_match {
	/* UDP, ICMP, ingress, plain TCP without SNI: a pinned name must match. */
	NET_MATCH_CACHE_ONLY,
	/* A TLS ClientHello was seen: allow rules need the SNI and a pinned name to
	 * match (for suffixes, a sibling name counts); deny rules need the SNI alone.
	 * Without an SNI this behaves as NET_MATCH_CACHE_ONLY. */
	NET_MATCH_SNI,
	/* A new TCP connection, before any payload: an allow rule with a matching
	 * pinned name defers; a deny rule defers if a later rule or the default
	 * could still allow the flow, and denies now otherwise. */
	NET_MATCH_DEFERRED,
	NET_MATCH_COUNT
};

/**
 * struct net_flow - what is known about a new flow.
 * @dir: NET_DIR_EGRESS or NET_DIR_INGRESS
 * @proto: its protocol
 * @addr: egress: the destination; ingress: the peer
 * @port: egress: destination port; ingress: the guest port; ignored for ICMP
 * @names: names pinned to @addr (borrowed; case and one trailing dot ignored)
 * @n_names: how many
 * @sni: TLS server name for NET_MATCH_SNI, else NULL (borrowed)
 * @match: enum net_match
 */
struct net_flow {
	enum net_dir dir;
	enum net_proto proto;
	struct net_addr addr;
	uint16_t port;
	const char *const *names;
	size_t n_names;
	const char *sni;
	enum net_match match;
};

/* Why a decision came out as it did; net_why_text() gives the short human reason. */
enum net_why {
	NET_WHY_RULE,            /* rule @rule matched */
	NET_WHY_DEFAULT_EGRESS,  /* no rule matched an egress flow */
	NET_WHY_DEFAULT_INGRESS, /* no rule matched an ingress flow */
	NET_WHY_DEFER_PINNED,    /* deferred: allow rule @rule matches a pinned name, SNI decides */
	NET_WHY_DEFER_SNI,       /* deferred: deny rule @rule depends on the SNI */
	NET_WHY_DENY_NO_ALLOW,   /* deferred: deny rule @rule, and nothing later could allow */
	NET_WHY_INVALID,         /* the flow had an impossible direction, protocol or mode */
	NET_WHY_COUNT
};
const char *net_why_text(int why);

/**
 * struct net_decision - the outcome of an evaluation.
 * @verdict: allow, deny or defer
 * @rule: index into the policy's rules of the deciding rule, -1 when a default decided
 * @why: enum net_why
 * @reason: net_why_text(@why), a static string
 * @group: classification of the flow's address (NET_GROUP_NONE for DNS queries)
 * @name: the name that matched a domain or suffix rule (borrowed from the input), else NULL
 */
struct net_decision {
	enum net_verdict verdict;
	int rule;
	enum net_why why;
	const char *reason;
	enum net_group group;
	const char *name;
};
const char *net_verdict_name(int verdict); /* "allow", "deny", "defer" */

/**
 * net_policy_eval() - decide a new flow; first match wins.
 * @p: the policy
 * @f: the flow
 * @d: receives the decision (may be NULL)
 *
 * Never allocates. Rules of the other direction, rules whose protocol set
 * lacks the flow's protocol, rules whose port range lacks the port (and, for
 * ICMP, every rule with ports) are skipped.
 *
 * Return: the verdict.
 */
enum net_verdict net_policy_eval(const struct net_policy *p, const struct net_flow *f,
				 struct net_decision *d);

/* How the guest sent a DNS query: UDP/53, TCP/53, or DNS over TLS on TCP/853. */
enum net_dns_transport {
	NET_DNS_UDP,
	NET_DNS_TCP,
	NET_DNS_DOT,
	NET_DNS_TRANSPORT_COUNT
};

/**
 * net_policy_dns_query() - the query policy: may the guest resolve @qname?
 * @p: the policy
 * @qname: the queried name (one trailing dot and case are ignored)
 * @transport: how it was sent
 * @d: receives the decision (may be NULL)
 *
 * Egress and `any` rules, first match, else the egress default. Domain and
 * suffix rules match the name whatever their protocol and ports; `any` and
 * `host` rules match through their protocol/port filters against the
 * transport; every other rule never matches. A name that is not a valid
 * domain name is matched by `any` and `host` rules only. A deny verdict means
 * the interceptor answers NXDOMAIN.
 *
 * Return: NET_VERDICT_ALLOW or NET_VERDICT_DENY.
 */
enum net_verdict net_policy_dns_query(const struct net_policy *p, const char *qname, int transport,
				      struct net_decision *d);

/**
 * net_policy_rebind_allows() - does the policy let a DNS answer carry this reserved address?
 * @p: the policy
 * @a: an address from an A/AAAA answer
 *
 * True when, for TCP or for UDP, the first address-only rule that matches @a
 * allows it. Address-only rules are egress or `any` rules with a CIDR or
 * group destination, no ports, and a protocol set that is empty or contains
 * the protocol. Defaults, `any`, domain and port-scoped rules never count.
 * The caller checks net_addr_is_reserved() first.
 */
bool net_policy_rebind_allows(const struct net_policy *p, const struct net_addr *a);

/* True when some rule has a domain or suffix destination (the proxy then peeks for a ClientHello). */
bool net_policy_has_domain_rules(const struct net_policy *p);

/**
 * net_decision_format() - one line of human text for a decision.
 * @p: the policy that was evaluated
 * @d: its decision
 * @buf: output, NUL-terminated
 * @len: size of @buf
 *
 * E.g. "allow: rule[1] `allow@public` matched" or "deny: no rule matched; egress default is deny";
 * rule numbers are 0-based indexes, as in &struct net_decision.
 *
 * Return: the length of the full text (as snprintf).
 */
int net_decision_format(const struct net_policy *p, const struct net_decision *d, char *buf, size_t len);

#endif
