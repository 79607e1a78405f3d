// SPDX-License-Identifier: Apache-2.0
/*
 * netpin.c - the per-sandbox pin set (spec/network.md §4): for each name the
 * sandbox resolved, the addresses the upstream actually answered, until
 * their TTL runs out. Domain rules admit a connection only to an address
 * pinned to a matching name (net_policy_eval(), NET_MATCH_CACHE_ONLY).
 *
 * A fixed table of NP_MAX_PINS entries of up to NP_PIN_IPS addresses per
 * (name, family); when full, the entry closest to expiry is replaced. Lookup
 * by address is a linear scan: it runs once per new flow, not per packet.
 */
#include <stdio.h>

#include "netproxy.h"

static struct np_pin *find(struct netproxy *np, const char *name, int family)
{
	for (size_t i = 0; i < NP_MAX_PINS; i++) {
		struct np_pin *p = &np->pins[i];
		if (p->used && p->n && p->ip[0].family == family && !strcmp(p->name, name))
			return p;
	}
	return NULL;
}

/*
 * The key a query name is pinned under: its canonical form (spec §4: lowercased,
 * no trailing dot). Only a valid domain name gets one. The text of a wire name
 * may hold escapes ("\\001", "\\.") and be ~1000 bytes long: copying it into
 * the 254-byte slot would cut it, and a cut "<pad>.github.com.<junk>.evil.com"
 * is "<pad>.github.com", which an allow rule for *.github.com would accept.
 */
static bool pin_key(const char *qname, char key[NET_NAME_MAX + 1])
{
	return net_name_canonical(qname, strlen(qname), key, NULL) == 0;
}

void np_pin_clear(struct netproxy *np, const char *qname, int family)
{
	char key[NET_NAME_MAX + 1];
	struct np_pin *p;

	if (!pin_key(qname, key))
		return;
	while ((p = find(np, key, family)))
		p->used = false;
}

void np_pin_update(struct netproxy *np, const char *qname, int family, const struct dns_response *r, uint64_t now)
{
	struct np_pin *p = NULL, *oldest = NULL;
	uint64_t ttl = UINT64_MAX;
	uint8_t n = 0;
	struct net_addr ips[NP_PIN_IPS];
	char key[NET_NAME_MAX + 1];

	if (!pin_key(qname, key))
		return; /* not a domain name: no domain rule may ever match it */
	for (size_t i = 0; i < r->n_addrs && n < NP_PIN_IPS; i++) {
		const struct dns_addr *a = &r->addrs[i];
		int fam = a->ip.family == AF_INET ? NET_AF_INET : NET_AF_INET6;
		if (!a->in_chain || fam != family)
			continue;
		net_addr_set(&ips[n], fam, a->ip.addr);
		net_addr_normalize(&ips[n]);
		n++;
		ttl = (a->chain_ttl < 1 ? 1 : a->chain_ttl) < ttl ? (a->chain_ttl < 1 ? 1 : a->chain_ttl) : ttl;
	}
	np_pin_clear(np, key, family);
	if (!n)
		return;
	for (size_t i = 0; i < NP_MAX_PINS && !p; i++) {
		struct np_pin *c = &np->pins[i];
		if (!c->used || c->expires_ms <= now)
			p = c;
		else if (!oldest || c->expires_ms < oldest->expires_ms)
			oldest = c;
	}
	if (!p)
		p = oldest;
	p->used = true;
	p->n = n;
	memcpy(p->name, key, strlen(key) + 1);
	memcpy(p->ip, ips, sizeof(ips[0]) * n);
	p->expires_ms = now + ttl * 1000;
}

size_t np_pin_names(struct netproxy *np, const struct net_addr *a, const char **names, size_t max, uint64_t now)
{
	size_t k = 0;

	for (size_t i = 0; i < NP_MAX_PINS && k < max; i++) {
		struct np_pin *p = &np->pins[i];
		if (!p->used || p->expires_ms <= now)
			continue;
		for (uint8_t j = 0; j < p->n; j++)
			if (net_addr_equal(&p->ip[j], a)) {
				names[k++] = p->name;
				break;
			}
	}
	return k;
}
