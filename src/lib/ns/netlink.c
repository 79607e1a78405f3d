// SPDX-License-Identifier: Apache-2.0
/*
 * netlink.c - the one small rtnetlink helper (STYLE.md rule 20): build a
 * request in a fixed buffer with every attribute append bounded, send it,
 * and read the ACK whose sequence number matches. Used during boot inside
 * the sandbox's network namespace (ns/net.c); never allocates.
 */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "ns/netlink.h"

int nl_open(struct nl_sock *nl)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};

	nl->seq = 1;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0)
		return -errno;
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(nl->fd);
		nl->fd = -1;
		return -e;
	}
	return 0;
}

void nl_close(struct nl_sock *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
}

void *nl_begin(struct nl_msg *m, uint16_t type, uint16_t flags, const void *hdr, size_t hdr_len)
{
	memset(m, 0, sizeof(*m));
	m->h.nlmsg_len = NLMSG_LENGTH(hdr_len);
	m->h.nlmsg_type = type;
	m->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	if (NLMSG_LENGTH(hdr_len) > sizeof(m->buf)) {
		m->overflow = true;
		return NULL;
	}
	memcpy(NLMSG_DATA(&m->h), hdr, hdr_len);
	return NLMSG_DATA(&m->h);
}

struct rtattr *nl_put(struct nl_msg *m, uint16_t type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(m->h.nlmsg_len);
	struct rtattr *rta;

	if (m->overflow || off + RTA_SPACE(len) > sizeof(m->buf)) {
		m->overflow = true;
		return NULL;
	}
	rta = (struct rtattr *)(void *)((char *)&m->h + off);
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	m->h.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
	return rta;
}

struct rtattr *nl_nest_begin(struct nl_msg *m, uint16_t type)
{
	return nl_put(m, type, NULL, 0);
}

void nl_nest_end(struct nl_msg *m, struct rtattr *nest)
{
	if (nest)
		nest->rta_len = (unsigned short)((char *)&m->h + m->h.nlmsg_len - (char *)nest);
}

int nl_talk(struct nl_sock *nl, struct nl_msg *m)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	char rbuf[4096] __attribute__((aligned(8)));
	ssize_t n;

	if (m->overflow)
		return -EMSGSIZE;
	m->h.nlmsg_seq = ++nl->seq;
	if (TEMP_FAILURE_RETRY_INT(sendto(nl->fd, &m->h, m->h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa))) < 0)
		return -errno;
	for (;;) {
		n = TEMP_FAILURE_RETRY_INT(recv(nl->fd, rbuf, sizeof(rbuf), 0));
		if (n < 0)
			return -errno;
		for (size_t off = 0; off + sizeof(struct nlmsghdr) <= (size_t)n;) {
			const struct nlmsghdr *h = (const struct nlmsghdr *)(void *)(rbuf + off);
			if (h->nlmsg_len < sizeof(*h) || off + h->nlmsg_len > (size_t)n)
				break;
			off += NLMSG_ALIGN(h->nlmsg_len);
			if (h->nlmsg_seq != nl->seq)
				continue; /* a stale answer to an earlier request */
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EPROTO;
				return e->error; /* 0 = ACK, else -errno */
			}
		}
	}
}
