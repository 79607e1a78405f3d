// SPDX-License-Identifier: Apache-2.0
/*
 * nft.c - the sandbox's nftables ruleset, sent as one nf_tables netlink batch.
 *
 * The ruleset (docs/network.md) is small and fixed but for four ports:
 *
 *   table inet msb {
 *     chain nat_out { type nat hook output priority -100; policy accept;
 *       oifname "lo" return
 *       meta nfproto ipv4 udp dport 53 redirect to :UDP4
 *       meta nfproto ipv4 meta l4proto tcp redirect to :TCP4
 *       (the same for ipv6) }
 *     chain filter_out { type filter hook output priority 0; policy drop;
 *       oifname "lo" accept
 *       ct status dnat accept }
 *   }
 *
 * Writing it as nf_tables netlink messages here, instead of handing the text
 * to libnftables, keeps the boot inside the static binary: running a
 * libnftables client (a dynamic program that initialises a whole parser and
 * cache) cost several milliseconds per sandbox, more than the rest of the
 * network setup. The messages are what `nft --debug=netlink` shows for the
 * text above; the batch is applied atomically (all or nothing) by the kernel.
 */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include "ns/ns.h"

#define NFT_BUF 8192
#define REG NFT_REG_1

struct nft_batch {
	char buf[NFT_BUF] __attribute__((aligned(8)));
	size_t len;
	uint32_t seq;
	bool overflow;
	struct nlmsghdr *cur;
};

static void *put_raw(struct nft_batch *b, const void *data, size_t len)
{
	size_t need = NLMSG_ALIGN(len);
	void *p;
	if (b->overflow || b->len + need > sizeof(b->buf)) {
		b->overflow = true;
		return NULL;
	}
	p = b->buf + b->len;
	memset(p, 0, need);
	if (data)
		memcpy(p, data, len);
	b->len += need;
	return p;
}

static void msg_begin(struct nft_batch *b, uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id)
{
	struct nlmsghdr h = {.nlmsg_type = type, .nlmsg_flags = NLM_F_REQUEST | flags, .nlmsg_seq = ++b->seq};
	struct nfgenmsg g = {.nfgen_family = family, .version = NFNETLINK_V0, .res_id = htons(res_id)};
	size_t off = b->len;
	if (!put_raw(b, &h, sizeof(h)) || !put_raw(b, &g, sizeof(g)))
		return;
	b->cur = (struct nlmsghdr *)(void *)(b->buf + off);
}

static void msg_end(struct nft_batch *b)
{
	if (!b->overflow && b->cur)
		b->cur->nlmsg_len = (uint32_t)(b->buf + b->len - (char *)b->cur);
	b->cur = NULL;
}

static void attr(struct nft_batch *b, uint16_t type, const void *data, size_t len)
{
	struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type};
	if (put_raw(b, &a, sizeof(a)) && len)
		put_raw(b, data, len);
}

static void attr_str(struct nft_batch *b, uint16_t type, const char *s)
{
	attr(b, type, s, strlen(s) + 1);
}

static void attr_be32(struct nft_batch *b, uint16_t type, uint32_t v)
{
	uint32_t n = htonl(v);
	attr(b, type, &n, sizeof(n));
}

static size_t nest_begin(struct nft_batch *b, uint16_t type)
{
	size_t off = b->len;
	struct nlattr a = {.nla_len = NLA_HDRLEN, .nla_type = (uint16_t)(type | NLA_F_NESTED)};
	put_raw(b, &a, sizeof(a));
	return off;
}

static void nest_end(struct nft_batch *b, size_t off)
{
	if (!b->overflow)
		((struct nlattr *)(void *)(b->buf + off))->nla_len = (uint16_t)(b->len - off);
}

/* ---- expressions ---------------------------------------------------------------- */

static size_t expr_begin(struct nft_batch *b, const char *name)
{
	size_t elem = nest_begin(b, NFTA_LIST_ELEM);
	attr_str(b, NFTA_EXPR_NAME, name);
	(void)nest_begin(b, NFTA_EXPR_DATA);
	return elem;
}

/* close EXPR_DATA (the last nest opened after @elem) and the list element */
static void expr_end(struct nft_batch *b, size_t elem)
{
	/* the EXPR_DATA nest starts right after the name attribute */
	struct nlattr *name = (struct nlattr *)(void *)(b->buf + elem + NLA_HDRLEN);
	size_t data_off = elem + NLA_HDRLEN + NLA_ALIGN(name->nla_len);
	nest_end(b, data_off);
	nest_end(b, elem);
}

static void e_meta(struct nft_batch *b, uint32_t key)
{
	size_t e = expr_begin(b, "meta");
	attr_be32(b, NFTA_META_KEY, key);
	attr_be32(b, NFTA_META_DREG, REG);
	expr_end(b, e);
}

static void data_value(struct nft_batch *b, uint16_t type, const void *v, size_t len)
{
	size_t d = nest_begin(b, type);
	attr(b, NFTA_DATA_VALUE, v, len);
	nest_end(b, d);
}

static void e_cmp(struct nft_batch *b, uint32_t op, const void *v, size_t len)
{
	size_t e = expr_begin(b, "cmp");
	attr_be32(b, NFTA_CMP_SREG, REG);
	attr_be32(b, NFTA_CMP_OP, op);
	data_value(b, NFTA_CMP_DATA, v, len);
	expr_end(b, e);
}

static void e_payload_th(struct nft_batch *b, uint32_t offset, uint32_t len)
{
	size_t e = expr_begin(b, "payload");
	attr_be32(b, NFTA_PAYLOAD_DREG, REG);
	attr_be32(b, NFTA_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
	attr_be32(b, NFTA_PAYLOAD_OFFSET, offset);
	attr_be32(b, NFTA_PAYLOAD_LEN, len);
	expr_end(b, e);
}

static void e_verdict(struct nft_batch *b, int32_t code)
{
	size_t e = expr_begin(b, "immediate"), d, v;
	attr_be32(b, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
	d = nest_begin(b, NFTA_IMMEDIATE_DATA);
	v = nest_begin(b, NFTA_DATA_VERDICT);
	attr_be32(b, NFTA_VERDICT_CODE, (uint32_t)code);
	nest_end(b, v);
	nest_end(b, d);
	expr_end(b, e);
}

static void e_redirect(struct nft_batch *b, uint16_t port)
{
	uint16_t p = htons(port);
	size_t e = expr_begin(b, "immediate");
	attr_be32(b, NFTA_IMMEDIATE_DREG, REG);
	data_value(b, NFTA_IMMEDIATE_DATA, &p, sizeof(p));
	expr_end(b, e);
	e = expr_begin(b, "redir");
	attr_be32(b, NFTA_REDIR_REG_PROTO_MIN, REG);
	attr_be32(b, NFTA_REDIR_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
	expr_end(b, e);
}

/* ct status & dnat != 0 */
static void e_ct_dnat(struct nft_batch *b)
{
	uint32_t mask = IPS_DST_NAT, zero = 0;
	size_t e = expr_begin(b, "ct");
	attr_be32(b, NFTA_CT_KEY, NFT_CT_STATUS);
	attr_be32(b, NFTA_CT_DREG, REG);
	expr_end(b, e);
	e = expr_begin(b, "bitwise");
	attr_be32(b, NFTA_BITWISE_SREG, REG);
	attr_be32(b, NFTA_BITWISE_DREG, REG);
	attr_be32(b, NFTA_BITWISE_LEN, sizeof(uint32_t));
	data_value(b, NFTA_BITWISE_MASK, &mask, sizeof(mask)); /* host order: ct status is */
	data_value(b, NFTA_BITWISE_XOR, &zero, sizeof(zero));
	expr_end(b, e);
	e_cmp(b, NFT_CMP_NEQ, &zero, sizeof(zero));
}

static void e_oif_lo(struct nft_batch *b)
{
	char lo[IFNAMSIZ] = "lo";
	e_meta(b, NFT_META_OIFNAME);
	e_cmp(b, NFT_CMP_EQ, lo, sizeof(lo));
}

/* ---- objects -------------------------------------------------------------------- */

#define NFT_TYPE(m) ((uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | (m)))

static void new_chain(struct nft_batch *b, const char *name, const char *type, int32_t prio, uint32_t policy)
{
	size_t h;
	msg_begin(b, NFT_TYPE(NFT_MSG_NEWCHAIN), NLM_F_CREATE, NFPROTO_INET, 0);
	attr_str(b, NFTA_CHAIN_TABLE, "msb");
	attr_str(b, NFTA_CHAIN_NAME, name);
	h = nest_begin(b, NFTA_CHAIN_HOOK);
	attr_be32(b, NFTA_HOOK_HOOKNUM, NF_INET_LOCAL_OUT);
	attr_be32(b, NFTA_HOOK_PRIORITY, (uint32_t)prio);
	nest_end(b, h);
	attr_be32(b, NFTA_CHAIN_POLICY, policy);
	attr_str(b, NFTA_CHAIN_TYPE, type);
	msg_end(b);
}

/* Start a rule in @chain; the caller adds expressions, then rule_end(). Returns the list nest. */
static size_t rule_begin(struct nft_batch *b, const char *chain)
{
	msg_begin(b, NFT_TYPE(NFT_MSG_NEWRULE), NLM_F_CREATE | NLM_F_APPEND, NFPROTO_INET, 0);
	attr_str(b, NFTA_RULE_TABLE, "msb");
	attr_str(b, NFTA_RULE_CHAIN, chain);
	return nest_begin(b, NFTA_RULE_EXPRESSIONS);
}

static void rule_end(struct nft_batch *b, size_t list)
{
	nest_end(b, list);
	msg_end(b);
}

static void redirect_rule(struct nft_batch *b, uint8_t nfproto, bool udp53, uint16_t port)
{
	size_t l = rule_begin(b, "nat_out");
	uint8_t proto = udp53 ? IPPROTO_UDP : IPPROTO_TCP;
	uint16_t dport = htons(53);
	e_meta(b, NFT_META_NFPROTO);
	e_cmp(b, NFT_CMP_EQ, &nfproto, 1);
	e_meta(b, NFT_META_L4PROTO);
	e_cmp(b, NFT_CMP_EQ, &proto, 1);
	if (udp53) {
		e_payload_th(b, 2, 2);
		e_cmp(b, NFT_CMP_EQ, &dport, 2);
	}
	e_redirect(b, port);
	rule_end(b, l);
}

static void build(struct nft_batch *b, const uint16_t port[NS_NET_NFDS], bool v6)
{
	size_t l;

	msg_begin(b, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
	msg_end(b);
	msg_begin(b, NFT_TYPE(NFT_MSG_NEWTABLE), NLM_F_CREATE, NFPROTO_INET, 0);
	attr_str(b, NFTA_TABLE_NAME, "msb");
	msg_end(b);

	new_chain(b, "nat_out", "nat", -100, NF_ACCEPT);
	l = rule_begin(b, "nat_out");
	e_oif_lo(b);
	e_verdict(b, NFT_RETURN);
	rule_end(b, l);
	redirect_rule(b, NFPROTO_IPV4, true, port[NS_NET_UDP4]);
	redirect_rule(b, NFPROTO_IPV4, false, port[NS_NET_TCP4]);
	if (v6) {
		redirect_rule(b, NFPROTO_IPV6, true, port[NS_NET_UDP6]);
		redirect_rule(b, NFPROTO_IPV6, false, port[NS_NET_TCP6]);
	}

	new_chain(b, "filter_out", "filter", 0, NF_DROP);
	l = rule_begin(b, "filter_out");
	e_oif_lo(b);
	e_verdict(b, NF_ACCEPT);
	rule_end(b, l);
	l = rule_begin(b, "filter_out");
	e_ct_dnat(b);
	e_verdict(b, NF_ACCEPT);
	rule_end(b, l);

	msg_begin(b, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
	msg_end(b);
}

/*
 * Send the batch and collect the kernel's answers: an error for any failed
 * message, and one ACK per message that asked for it (NLM_F_ACK on every
 * object message, so success is known, not assumed).
 */
int ns_nft_apply(const uint16_t port[NS_NET_NFDS], bool v6)
{
	static struct nft_batch b;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	char rbuf[8192] __attribute__((aligned(8)));
	unsigned want = 0, got = 0;
	int fd, r = 0;

	memset(&b, 0, sizeof(b));
	build(&b, port, v6);
	if (b.overflow)
		return -E2BIG;
	/* every message between the batch markers asks for an ACK */
	for (size_t off = 0; off < b.len;) {
		struct nlmsghdr *h = (struct nlmsghdr *)(void *)(b.buf + off);
		if (h->nlmsg_type != NFNL_MSG_BATCH_BEGIN && h->nlmsg_type != NFNL_MSG_BATCH_END) {
			h->nlmsg_flags |= NLM_F_ACK;
			want++;
		}
		off += NLMSG_ALIGN(h->nlmsg_len);
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0)
		return -errno;
	if (sendto(fd, b.buf, b.len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) != (ssize_t)b.len) {
		r = -errno;
		goto out;
	}
	while (got < want && r == 0) {
		ssize_t n = recv(fd, rbuf, sizeof(rbuf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		/* by offset, not NLMSG_NEXT (whose char * cast -Wcast-align rejects); rbuf is aligned */
		for (size_t off = 0; n > 0 && off + sizeof(struct nlmsghdr) <= (size_t)n;) {
			struct nlmsghdr *h = (struct nlmsghdr *)(void *)(rbuf + off);
			if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > (size_t)n - off)
				break;
			off += NLMSG_ALIGN(h->nlmsg_len);
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
				r = -EPROTO;
				break;
			}
			if (((struct nlmsgerr *)NLMSG_DATA(h))->error) {
				r = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
				break;
			}
			got++;
		}
	}
out:
	close(fd);
	return r;
}
