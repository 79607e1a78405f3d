/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netlink.h - minimal rtnetlink requests with bounded attribute appends and
 * sequence-checked ACKs (ns/netlink.c).
 */
#ifndef MSB_NS_NETLINK_H
#define MSB_NS_NETLINK_H

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>

#include "util.h"

struct nl_sock {
	int fd;
	uint32_t seq;
};

/* One request; an append that does not fit sets @overflow and nl_talk() refuses it. */
struct nl_msg {
	union {
		struct nlmsghdr h;
		char buf[1024];
	};
	bool overflow;
};

int nl_open(struct nl_sock *nl);
void nl_close(struct nl_sock *nl);
/* Start a request of @type with the family header @hdr; returns the copied header or NULL on overflow. */
void *nl_begin(struct nl_msg *m, uint16_t type, uint16_t flags, const void *hdr, size_t hdr_len);
/* Append one attribute; NULL (and @m->overflow) when it does not fit. */
struct rtattr *nl_put(struct nl_msg *m, uint16_t type, const void *data, size_t len);
struct rtattr *nl_nest_begin(struct nl_msg *m, uint16_t type);
void nl_nest_end(struct nl_msg *m, struct rtattr *nest);
/* Send @m and wait for its ACK. Return 0 or the kernel's -errno. */
int nl_talk(struct nl_sock *nl, struct nl_msg *m);

#endif
