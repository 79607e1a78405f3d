// SPDX-License-Identifier: Apache-2.0
/*
 * net.c - the sandbox's network namespace, configured by the boot helper H
 * (ns/boot.c) right after it creates the namespace and before any sandbox
 * process exists (DESIGN.md §4, docs/network.md).
 *
 * Theory of Operation
 * -------------------
 * The namespace gets `lo` and a veth pair whose both ends stay inside it:
 * eth0 carries the guest addresses and the default routes via the gateway
 * addresses, its peer msb0 has no address. Nothing links the namespace to
 * any other one, so a packet that is not redirected has nowhere to go.
 *
 * H then creates four sockets inside the namespace: TCP listeners on
 * 127.0.0.1 and [::1] and UDP sockets on the same two addresses, on ports
 * the kernel picks. An nftables table (one nf_tables netlink batch, nft.c)
 * redirects every TCP
 * connection and every UDP datagram to port 53 that is not routed to `lo`
 * to those sockets, and a filter chain drops every other packet that would
 * leave through eth0. The four sockets go to the supervisor over the boot
 * socket with SCM_RIGHTS; H keeps no copy. The supervisor, in the host's
 * namespaces, relays what the policy allows.
 *
 * All of this belongs to user namespace U1. The workload runs in U2, which
 * owns nothing, so it cannot change the addresses, routes or rules, nor
 * open raw or packet sockets in this namespace.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "net/netcfg.h"
#include "ns/netlink.h"
#include "ns/ns.h"

static int link_up(struct nl_sock *nl, const char *name)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
	struct nl_msg m;

	ifi.ifi_index = (int)if_nametoindex(name);
	if (!ifi.ifi_index)
		return -ENODEV;
	nl_begin(&m, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
	return nl_talk(nl, &m);
}

/* eth0 <-> msb0, both in this namespace. */
static int veth_create(struct nl_sock *nl)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	const uint8_t mac[6] = NET_GUEST_MAC;
	const uint32_t mtu = NET_MTU;
	struct rtattr *info, *data, *peer;
	struct nl_msg m;

	nl_begin(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
	nl_put(&m, IFLA_IFNAME, NET_GUEST_IF, sizeof(NET_GUEST_IF));
	nl_put(&m, IFLA_ADDRESS, mac, sizeof(mac));
	nl_put(&m, IFLA_MTU, &mtu, sizeof(mtu));
	info = nl_nest_begin(&m, IFLA_LINKINFO);
	nl_put(&m, IFLA_INFO_KIND, "veth", 4);
	data = nl_nest_begin(&m, IFLA_INFO_DATA);
	peer = nl_nest_begin(&m, VETH_INFO_PEER);
	/* the peer's attributes follow its own ifinfomsg header */
	if (!m.overflow && NLMSG_ALIGN(m.h.nlmsg_len) + sizeof(ifi) <= sizeof(m.buf)) {
		memcpy((char *)&m.h + m.h.nlmsg_len, &ifi, sizeof(ifi));
		m.h.nlmsg_len += NLMSG_ALIGN(sizeof(ifi));
	} else {
		m.overflow = true;
	}
	nl_put(&m, IFLA_IFNAME, NET_PEER_IF, sizeof(NET_PEER_IF));
	nl_nest_end(&m, peer);
	nl_nest_end(&m, data);
	nl_nest_end(&m, info);
	return nl_talk(nl, &m);
}

static int addr_add(struct nl_sock *nl, int family, const char *text, unsigned prefix, int ifindex)
{
	struct ifaddrmsg ifa = {.ifa_family = (uint8_t)family, .ifa_prefixlen = (uint8_t)prefix,
				.ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = (uint32_t)ifindex};
	uint8_t a[16];
	uint32_t flags = IFA_F_NODAD; /* no duplicate address detection: nobody else is on the link */
	size_t alen = family == AF_INET ? 4 : 16;
	struct nl_msg m;

	if (inet_pton(family, text, a) != 1)
		return -EINVAL;
	nl_begin(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
	nl_put(&m, IFA_LOCAL, a, alen);
	nl_put(&m, IFA_ADDRESS, a, alen);
	if (family == AF_INET6)
		nl_put(&m, IFA_FLAGS, &flags, sizeof(flags));
	return nl_talk(nl, &m);
}

static int route_default(struct nl_sock *nl, int family, const char *gw, int ifindex)
{
	struct rtmsg rt = {.rtm_family = (uint8_t)family, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
			   .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
	uint32_t oif = (uint32_t)ifindex;
	uint8_t a[16];
	struct nl_msg m;

	if (inet_pton(family, gw, a) != 1)
		return -EINVAL;
	nl_begin(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof(rt));
	nl_put(&m, RTA_GATEWAY, a, family == AF_INET ? 4 : 16);
	nl_put(&m, RTA_OIF, &oif, sizeof(oif));
	return nl_talk(nl, &m);
}

/* A socket on the loopback address of @family, port picked by the kernel. Returns fd or -errno; *port set. */
static int loopback_socket(int family, int type, uint16_t *port)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1, e;

	if (fd < 0)
		return -errno;
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		len = sizeof(*in6);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || (type == SOCK_STREAM && listen(fd, 512) < 0) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/* The four sockets and the socket service's end travel in one message. */
#define NS_NET_SENT (NS_NET_NFDS + 1)

static int send_fds(int sock, const int fds[NS_NET_SENT], const struct ns_net_info *info)
{
	char cbuf[CMSG_SPACE(sizeof(int) * NS_NET_SENT)] = {0};
	struct iovec iov = {.iov_base = (void *)info, .iov_len = sizeof(*info)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * NS_NET_SENT);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * NS_NET_SENT);
	return TEMP_FAILURE_RETRY_INT(sendmsg(sock, &mh, MSG_NOSIGNAL)) == (ssize_t)sizeof(*info) ? 0 : -EPIPE;
}

int ns_net_setup(int sock, int *ctl_out, const char **what)
{
	struct nl_sock nl = {.fd = -1};
	struct ns_net_info info = {.magic = NS_NET_MAGIC};
	uint16_t port[NS_NET_NFDS] = {0};
	int fds[NS_NET_SENT] = {-1, -1, -1, -1, -1}, r, ifindex, ctl[2] = {-1, -1};

	*ctl_out = -1;

	*what = "netlink socket";
	r = nl_open(&nl);
	if (r < 0)
		return r;
	*what = "bring up lo";
	r = link_up(&nl, "lo");
	if (r == 0) {
		*what = "create " NET_GUEST_IF;
		r = veth_create(&nl);
	}
	if (r == 0) {
		*what = "bring up " NET_GUEST_IF;
		r = link_up(&nl, NET_GUEST_IF);
		if (r == 0)
			r = link_up(&nl, NET_PEER_IF);
	}
	ifindex = (int)if_nametoindex(NET_GUEST_IF);
	if (r == 0) {
		*what = "guest IPv4 address and route";
		r = addr_add(&nl, AF_INET, NET_GUEST4, NET_PREFIX4, ifindex);
		if (r == 0)
			r = route_default(&nl, AF_INET, NET_GW4, ifindex);
	}
	/* IPv6 is optional: a host with IPv6 disabled gives an IPv4-only sandbox */
	if (r == 0 && addr_add(&nl, AF_INET6, NET_GUEST6, NET_PREFIX6, ifindex) == 0 &&
	    route_default(&nl, AF_INET6, NET_GW6, ifindex) == 0)
		info.v6 = 1;
	nl_close(&nl);
	if (r < 0)
		return r;
	*what = "supervisor sockets in the sandbox network namespace";
	for (int i = 0; i < NS_NET_NFDS && r >= 0; i++) {
		int fam = (i == NS_NET_TCP4 || i == NS_NET_UDP4) ? AF_INET : AF_INET6;
		if (fam == AF_INET6 && !info.v6)
			continue;
		r = fds[i] = loopback_socket(fam, i == NS_NET_TCP4 || i == NS_NET_TCP6 ? SOCK_STREAM : SOCK_DGRAM,
					     &port[i]);
	}
	if (r >= 0) {
		*what = "apply nftables rules";
		r = ns_nft_apply(port, info.v6);
	}
	if (r >= 0) {
		*what = "socket service pair";
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0)
			r = -errno;
		else
			fds[NS_NET_NFDS] = ctl[0];
	}
	if (r >= 0) {
		*what = "hand the network sockets to the supervisor";
		/* an inactive family travels as a socket nobody listens on: SCM_RIGHTS needs real fds */
		for (int i = 0; i < NS_NET_NFDS; i++)
			if (fds[i] < 0)
				fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		r = send_fds(sock, fds, &info);
	}
	for (int i = 0; i < NS_NET_SENT; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (r < 0 && ctl[1] >= 0)
		close(ctl[1]);
	else
		*ctl_out = ctl[1];
	return r < 0 ? r : 0;
}

int ns_net_receive(int sock, struct ns_net_fds *out)
{
	char cbuf[CMSG_SPACE(sizeof(int) * NS_NET_SENT)];
	struct ns_net_info info = {0};
	struct iovec iov = {.iov_base = &info, .iov_len = sizeof(info)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c;
	int fds[NS_NET_SENT];
	ssize_t n = TEMP_FAILURE_RETRY_INT(recvmsg(sock, &mh, MSG_CMSG_CLOEXEC));

	for (int i = 0; i < NS_NET_NFDS; i++)
		out->fd[i] = -1;
	out->ctl = -1;
	if (n <= 0)
		return -EPIPE; /* the helper failed; its reason is on the error pipe */
	c = CMSG_FIRSTHDR(&mh);
	if (n != sizeof(info) || info.magic != NS_NET_MAGIC || !c || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int) * NS_NET_SENT)) {
		if (c && c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(fds, CMSG_DATA(c), sizeof(int) * (k < NS_NET_SENT ? k : NS_NET_SENT));
			for (size_t i = 0; i < k && i < NS_NET_SENT; i++)
				close(fds[i]);
		}
		return -EPROTO;
	}
	memcpy(fds, CMSG_DATA(c), sizeof(int) * NS_NET_SENT);
	memcpy(out->fd, fds, sizeof(int) * NS_NET_NFDS);
	out->ctl = fds[NS_NET_NFDS];
	out->v6 = info.v6;
	if (!out->v6) {
		close(out->fd[NS_NET_TCP6]);
		close(out->fd[NS_NET_UDP6]);
		out->fd[NS_NET_TCP6] = out->fd[NS_NET_UDP6] = -1;
	}
	return 0;
}

/* One request: a new TCP socket of the namespace, sent back with the request's id. */
static void serve_one(int ctl)
{
	struct ns_sock_req req;
	struct ns_sock_rep rep = {0};
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = &rep, .iov_len = sizeof(rep)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n = recv(ctl, &req, sizeof(req), MSG_DONTWAIT);
	int fd = -1;

	if (n != (ssize_t)sizeof(req))
		return;
	rep.id = req.id;
	if (req.family != AF_INET && req.family != AF_INET6)
		rep.err = EAFNOSUPPORT;
	else if ((fd = socket(req.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		rep.err = errno;
	if (fd >= 0) {
		struct cmsghdr *c;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	(void)!TEMP_FAILURE_RETRY_INT(sendmsg(ctl, &mh, MSG_NOSIGNAL));
	if (fd >= 0)
		close(fd);
}

int ns_net_serve(int ctl, pid_t child)
{
	int pfd = (int)syscall(SYS_pidfd_open, child, 0), status = 0;

	/* without pidfds (Linux < 5.3) there is no service: published ports then fail per connection */
	while (pfd >= 0 && ctl >= 0) {
		struct pollfd p[2] = {{.fd = pfd, .events = POLLIN}, {.fd = ctl, .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break; /* the sandbox's init is gone */
		if (p[1].revents & (POLLHUP | POLLERR | POLLNVAL))
			break; /* the supervisor is gone */
		if (p[1].revents & POLLIN)
			serve_one(ctl);
	}
	if (pfd >= 0)
		close(pfd);
	if (ctl >= 0)
		close(ctl);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}
