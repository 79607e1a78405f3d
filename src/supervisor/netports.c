// SPDX-License-Identifier: Apache-2.0
/*
 * netports.c - published ports (`-p [BIND:]HOST:GUEST[/tcp]`) with the
 * ingress policy (spec/network.md §7, docs/network.md).
 *
 * Theory of Operation
 * -------------------
 * The supervisor binds every host-side listener before the sandbox boots,
 * so a port already in use fails the start with a message naming it. For
 * each accepted connection, in this order:
 *   1. the connection cap (--max-connections) is checked; over it, reset;
 *   2. the ingress policy decides (net_policy_eval(), direction ingress,
 *      peer = the real host-side source address, port = the guest port) and
 *      the decision is logged; a denial resets the connection, and nothing
 *      is opened inside the sandbox;
 *   3. a socket of the sandbox's network namespace is requested from H, the
 *      boot helper that lives there (ns_net_serve(): a SOCK_SEQPACKET pair,
 *      the socket comes back with SCM_RIGHTS). The supervisor's end is
 *      non-blocking and the answer is an epoll event like any other, so the
 *      loop never waits for H;
 *   4. that socket connects non-blockingly to the guest's address
 *      (172.16.0.2) at the guest port; traffic to the sandbox's own address
 *      stays on its `lo`, untouched by the redirect;
 *   5. once connected, the flow is an ordinary splice relay (netproxy.c),
 *      rate limits included; the guest side is the socket into the sandbox.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/epoll.h>

#include "config.h"
#include "net/netcfg.h"
#include "netproxy.h"

int np_ports_bind(const json_t *cfg, int *fds, msb_error *err)
{
	json_t *arr = json_object_get(cfg, "ports"), *v;
	size_t i;
	int n = 0;

	json_array_foreach(arr, i, v)
	{
		const char *ip = json_string_value(json_object_get(v, "host_ip"));
		int port = (int)json_integer_value(json_object_get(v, "host_port")), one = 1, fd;
		struct sockaddr_storage ss = {0};
		socklen_t sl;

		if (n >= NP_MAX_PUBLISH) {
			msb_err_set(err, MSB_ERR_INVALID, 0, "too many published ports (at most %d)", NP_MAX_PUBLISH);
			goto fail;
		}
		if (!ip)
			ip = "127.0.0.1";
		if (strchr(ip, ':')) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons((uint16_t)port);
			inet_pton(AF_INET6, ip, &in6->sin6_addr);
			sl = sizeof(*in6);
		} else {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			in->sin_family = AF_INET;
			in->sin_port = htons((uint16_t)port);
			inet_pton(AF_INET, ip, &in->sin_addr);
			sl = sizeof(*in);
		}
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			msb_err_sys(err, errno, "published port %s:%d: socket", ip, port);
			goto fail;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ss.ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 128) < 0) {
			int e = errno;
			close(fd);
			if (e == EADDRINUSE)
				msb_err_set(err, MSB_ERR_STATE, 0,
					    "cannot publish port %d: %s:%d is already in use on the host", port, ip,
					    port);
			else
				msb_err_sys(err, e, "cannot publish port %d on %s", port, ip);
			goto fail;
		}
		fds[n++] = fd;
	}
	return n;
fail:
	while (n > 0)
		close(fds[--n]);
	return -err->code;
}

void np_ports_start(struct netproxy *np, const json_t *cfg, const int *fds, int n, int ctl)
{
	json_t *arr = json_object_get(cfg, "ports");

	np->ctl = ctl;
	if (ctl >= 0) {
		fcntl(ctl, F_SETFL, O_NONBLOCK);
		np_epoll(np, ctl, NP_TAG(NP_T_CTL, 0), &np->ctl_ev, EPOLLIN);
	}
	for (int k = 0; k < n && k < NP_MAX_PUBLISH; k++) {
		json_t *v = json_array_get(arr, (size_t)k);
		struct np_publish *p = &np->pub[np->n_pub++];
		uint32_t cur = 0;
		const char *ip = json_string_value(json_object_get(v, "host_ip"));
		p->fd = fds[k];
		net_addr_parse(ip ? ip : "127.0.0.1", &p->bind);
		p->host_port = (uint16_t)json_integer_value(json_object_get(v, "host_port"));
		p->guest_port = (uint16_t)json_integer_value(json_object_get(v, "guest_port"));
		np_epoll(np, p->fd, NP_TAG(NP_T_PUBLISH, np->n_pub - 1), &cur, EPOLLIN);
	}
}

void np_ports_free(struct netproxy *np)
{
	for (unsigned k = 0; k < np->n_pub; k++)
		if (np->pub[k].fd >= 0)
			close(np->pub[k].fd);
	np->n_pub = 0;
	if (np->ctl >= 0)
		close(np->ctl);
	np->ctl = -1;
}

static uint32_t req_id(struct netproxy *np, int i)
{
	return ((np->flows[i].gen & 0xffffu) << 16) | (uint32_t)i;
}

/* Ask H for a socket for flow @i. */
static int request_socket(struct netproxy *np, int i)
{
	struct ns_sock_req req = {.id = req_id(np, i), .family = AF_INET};

	if (np->ctl < 0)
		return -1;
	return send(np->ctl, &req, sizeof(req), MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)sizeof(req) ? 0 : -1;
}

void np_ports_accept(struct netproxy *np, int slot)
{
	struct np_publish *p = &np->pub[slot];
	char note[80], bind[NET_ADDR_STRLEN];

	net_addr_format(&p->bind, bind, sizeof(bind));
	snprintf(note, sizeof(note), "published %s%s%s:%u", p->bind.family == NET_AF_INET6 ? "[" : "", bind,
		 p->bind.family == NET_AF_INET6 ? "]" : "", p->host_port);
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct net_addr peer = {0};
		uint16_t pport = 0;
		struct net_decision d;
		struct net_flow fl = {.dir = NET_DIR_INGRESS, .proto = NET_PROTO_TCP, .match = NET_MATCH_CACHE_ONLY};
		int fd = accept4(p->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC), i;

		if (fd < 0)
			return;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			net_addr_set(&peer, NET_AF_INET, &in->sin_addr);
			pport = ntohs(in->sin_port);
		} else {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
			net_addr_set(&peer, NET_AF_INET6, &in6->sin6_addr);
			pport = ntohs(in6->sin6_port);
		}
		(void)pport;
		net_addr_normalize(&peer);
		if (np->n_flows >= np->max_flows) {
			struct net_decision cap = {.rule = -1, .reason = "connection limit reached"};
			np_log(np, "ingress", "tcp", &peer, p->guest_port, NULL, &cap, "deny", "connection limit");
			np_close_reset(fd);
			continue;
		}
		fl.addr = peer;
		fl.port = p->guest_port;
		net_policy_eval(&np->pol, &fl, &d);
		if (d.verdict != NET_VERDICT_ALLOW) {
			np_log(np, "ingress", "tcp", &peer, p->guest_port, NULL, &d, "deny", NULL);
			np_close_reset(fd); /* the client sees a reset; nothing was opened in the sandbox */
			continue;
		}
		np_log(np, "ingress", "tcp", &peer, p->guest_port, NULL, &d, "allow", NULL);
		i = np_flow_new(np, -1);
		if (i < 0) {
			np_close_reset(fd);
			continue;
		}
		np->flows[i].ufd = fd;
		np->flows[i].kind = NP_FLOW_IN_SOCKET;
		net_addr_parse(NET_GUEST4, &np->flows[i].dst);
		np->flows[i].dport = p->guest_port;
		if (request_socket(np, i) < 0)
			np_flow_close(np, i, true);
	}
}

/* Flow @i got its socket @fd into the sandbox: connect it to the guest. */
static void connect_guest(struct netproxy *np, int i, int fd)
{
	struct np_flow *f = &np->flows[i];
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(f->dport)};

	memcpy(&in.sin_addr, f->dst.b, 4);
	f->gfd = fd;
	f->kind = NP_FLOW_IN_CONNECTING;
	if (connect(fd, (struct sockaddr *)&in, sizeof(in)) == 0)
		np_flow_relay_start(np, i);
	else if (errno == EINPROGRESS)
		np_epoll(np, fd, NP_TAG(NP_T_GUEST, i), &f->ev_g, EPOLLOUT);
	else
		np_flow_close(np, i, true); /* nothing listens on the guest port: the client sees a reset */
}

void np_ports_ctl(struct netproxy *np)
{
	for (;;) {
		struct ns_sock_rep rep;
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = {.iov_base = &rep, .iov_len = sizeof(rep)};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		struct cmsghdr *c;
		ssize_t n = recvmsg(np->ctl, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		int fd = -1, i;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			/* H is gone (the sandbox is ending): no more published connections */
			np_epoll(np, np->ctl, NP_TAG(NP_T_CTL, 0), &np->ctl_ev, 0);
			close(np->ctl);
			np->ctl = -1;
			return;
		}
		c = CMSG_FIRSTHDR(&mh);
		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
		i = (int)(rep.id & 0xffffu);
		if (n != (ssize_t)sizeof(rep) || i >= NP_MAX_FLOWS || np->flows[i].kind != NP_FLOW_IN_SOCKET ||
		    req_id(np, i) != rep.id) {
			if (fd >= 0)
				close(fd); /* the client left meanwhile */
			continue;
		}
		if (rep.err || fd < 0) {
			if (fd >= 0)
				close(fd);
			np_flow_close(np, i, true);
			continue;
		}
		connect_guest(np, i, fd);
	}
}

void np_ports_connected(struct netproxy *np, int i)
{
	struct np_flow *f = &np->flows[i];
	int e = 0;
	socklen_t el = sizeof(e);

	np_epoll(np, f->gfd, NP_TAG(NP_T_GUEST, i), &f->ev_g, 0);
	if (getsockopt(f->gfd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) {
		np_flow_close(np, i, true);
		return;
	}
	np_flow_relay_start(np, i);
}
