// SPDX-License-Identifier: Apache-2.0
/*
 * netproxy.c - the TCP side of the supervisor's network chokepoint.
 *
 * Theory of Operation
 * -------------------
 * The boot helper left four sockets inside the sandbox's network namespace
 * (ns/net.c): TCP listeners on 127.0.0.1 and [::1], to which nftables
 * redirects every TCP connection the workload makes that is not to its own
 * loopback, and two UDP sockets that receive every DNS datagram. They live
 * here, in the supervisor's one epoll loop, next to the agent channel.
 *
 * For each accepted connection, in this order:
 *   1. the original destination is read from conntrack (SO_ORIGINAL_DST,
 *      IP6T_SO_ORIGINAL_DST); a connection that was not redirected (someone
 *      connected to the listener's loopback port directly) is reset;
 *   2. destination port 53 goes to the DNS interceptor (dnsproxy.c);
 *   3. the policy decides (net_policy_eval(), names from the pin set) and
 *      the decision is logged; a denial resets the connection (SO_LINGER 0)
 *      and no host-side socket is ever created for it;
 *   4. an allowed flow is connected non-blockingly from the host side: to
 *      the destination itself, or, for the gateway addresses (the `host`
 *      group), to the host's loopback at the same port;
 *   5. once connected, bytes move with splice(2) through one pipe per
 *      direction: socket -> pipe -> socket, in the kernel, no copy to user
 *      space and no allocation. A read EOF becomes shutdown(SHUT_WR) on the
 *      other socket (half-close); an error on either side resets both.
 *
 * Epoll interest is recomputed after every step: a socket is watched for
 * input only while its direction's pipe is empty, for output only while the
 * other direction's pipe holds bytes, and is removed from epoll when neither
 * (so a hung-up socket cannot spin the loop).
 *
 * The seam for the TLS layer (spec/network.md §5) is step 5: flow_start()
 * picks what handles an allowed, connected flow; today it is always the
 * splice relay.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

#include "config.h"
#include "net/netcfg.h"
#include "net/tls_sni.h"
#include "netproxy.h"

/* <linux/netfilter_ipv4.h> and <linux/netfilter_ipv6/ip6_tables.h>; their headers clash with libc's */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

static uint64_t ev_tag(struct netproxy *np, uint32_t idx)
{
	return ((uint64_t)(uint32_t)np->kind << 32) | idx;
}

/* Bring @fd's registration to @want (0 = not in epoll at all). */
void np_epoll(struct netproxy *np, int fd, uint32_t tag, uint32_t *cur, uint32_t want)
{
	struct epoll_event ev = {.events = want, .data.u64 = ev_tag(np, tag)};

	if (want == *cur)
		return;
	if (!want)
		epoll_ctl(np->epfd, EPOLL_CTL_DEL, fd, NULL);
	else
		epoll_ctl(np->epfd, *cur ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
	*cur = want;
}

static void close_reset(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

void np_flow_close(struct netproxy *np, int i, bool reset)
{
	struct np_flow *f = &np->flows[i];

	if (f->kind == NP_FLOW_FREE)
		return;
	if (f->kind == NP_FLOW_DNS_TCP)
		np_dns_flow_closed(np, i);
	np_epoll(np, f->gfd, NP_TAG(NP_T_GUEST, i), &f->ev_g, 0);
	if (f->ufd >= 0)
		np_epoll(np, f->ufd, NP_TAG(NP_T_UPSTREAM, i), &f->ev_u, 0);
	if (reset) {
		close_reset(f->gfd);
		close_reset(f->ufd);
	} else {
		close(f->gfd);
		if (f->ufd >= 0)
			close(f->ufd);
	}
	if (f->big)
		np->n_big--;
	for (int d = 0; d < 2; d++)
		for (int k = 0; k < 2; k++)
			if (f->pipe[d][k] >= 0)
				close(f->pipe[d][k]);
	if (f->dns) {
		buf_free(&f->dns->out);
		free(f->dns);
	}
	{
		uint32_t gen = f->gen;
		memset(f, 0, sizeof(*f));
		f->gen = gen + 1;
	}
	f->gfd = f->ufd = -1;
	f->pipe[0][0] = f->pipe[0][1] = f->pipe[1][0] = f->pipe[1][1] = -1;
	f->kind = NP_FLOW_FREE;
	np->n_flows--;
}

/* ---- the splice relay ------------------------------------------------------------ */

/*
 * Move what can be moved in direction @d: fill the pipe from the source while
 * it has room and drain it into the sink, until neither makes progress.
 * Return -1 when the flow broke.
 */
static int pump(struct netproxy *np, struct np_flow *f, int d)
{
	int src = d == 0 ? f->gfd : f->ufd, dst = d == 0 ? f->ufd : f->gfd;

	for (;;) {
		bool progress = false;
		ssize_t n;
		size_t room = f->pipe_cap - f->inpipe[d];
		if (room && np->rate[d].on && !f->rd_eof[d])
			room = np_rate_room(np, f, d, room); /* a bucket check, nothing more (netrate.c) */
		if (!f->rd_eof[d] && room) {
			n = splice(src, NULL, f->pipe[d][1], NULL, room, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n == 0) {
				f->rd_eof[d] = true;
			} else if (n > 0) {
				if (np->rate[d].on)
					np_rate_take(np, d, (size_t)n);
				f->inpipe[d] += (size_t)n;
				progress = true;
			} else if (errno != EAGAIN && errno != EINTR) {
				return -1;
			}
		}
		if (f->inpipe[d]) {
			n = splice(f->pipe[d][0], NULL, dst, NULL, f->inpipe[d], SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				f->inpipe[d] -= (size_t)n;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				return -1;
			}
		}
		if (f->rd_eof[d] && !f->inpipe[d] && !f->shut[d]) {
			shutdown(dst, SHUT_WR); /* half-close travels on */
			f->shut[d] = true;
		}
		if (!progress)
			return 0;
	}
}

static void relay(struct netproxy *np, int i)
{
	struct np_flow *f = &np->flows[i];
	uint32_t wg = 0, wu = 0;

	if (pump(np, f, 0) < 0 || pump(np, f, 1) < 0) {
		np_flow_close(np, i, true);
		return;
	}
	if (f->shut[0] && f->shut[1]) {
		np_flow_close(np, i, false);
		return;
	}
	if (!f->rd_eof[0] && f->inpipe[0] < f->pipe_cap && !f->throttled[0])
		wg |= EPOLLIN;
	if (f->inpipe[1])
		wg |= EPOLLOUT;
	if (!f->rd_eof[1] && f->inpipe[1] < f->pipe_cap && !f->throttled[1])
		wu |= EPOLLIN;
	if (f->inpipe[0])
		wu |= EPOLLOUT;
	np_epoll(np, f->gfd, NP_TAG(NP_T_GUEST, i), &f->ev_g, wg);
	np_epoll(np, f->ufd, NP_TAG(NP_T_UPSTREAM, i), &f->ev_u, wu);
}

/*
 * flow_start() - an allowed flow's host side is connected: pick its handler.
 * The TLS interception layer will take flows to its ports here.
 */
static void flow_start(struct netproxy *np, int i)
{
	struct np_flow *f = &np->flows[i];

	f->big = np->n_big < (np->rootless ? NP_BIG_FLOWS_ROOTLESS : NP_BIG_FLOWS);
	if (f->big) {
		np->n_big++;
	} else {
		int sz = NP_SMALL_SOCKBUF;
		setsockopt(f->gfd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(f->gfd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		setsockopt(f->ufd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(f->ufd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	for (int d = 0; d < 2; d++) {
		if (pipe2(f->pipe[d], O_CLOEXEC | O_NONBLOCK) < 0) {
			np_flow_close(np, i, true);
			return;
		}
		/* best effort: any size works */
		if (f->big)
			fcntl(f->pipe[d][1], F_SETPIPE_SZ, np->rootless ? NP_PIPE_SIZE_ROOTLESS : NP_PIPE_SIZE);
		else if (np->rootless)
			fcntl(f->pipe[d][1], F_SETPIPE_SZ, NP_PIPE_SIZE_SMALL_ROOTLESS);
	}
	{
		int cap = fcntl(f->pipe[0][1], F_GETPIPE_SZ), cap1 = fcntl(f->pipe[1][1], F_GETPIPE_SZ);
		f->pipe_cap = (size_t)(cap > 0 && cap1 > 0 ? (cap < cap1 ? cap : cap1) : 65536);
	}
	f->kind = NP_FLOW_SPLICE;
	relay(np, i);
}

static void connected(struct netproxy *np, int i)
{
	struct np_flow *f = &np->flows[i];
	int e = 0;
	socklen_t el = sizeof(e);

	if (getsockopt(f->ufd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) {
		np_flow_close(np, i, true); /* upstream refused or unreachable: the guest sees a reset */
		return;
	}
	flow_start(np, i);
}

/* ---- accepting and deciding -------------------------------------------------------- */

static void sa_to_addr(const struct sockaddr_storage *ss, struct net_addr *a, uint16_t *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		net_addr_set(a, NET_AF_INET, &in->sin_addr);
		*port = ntohs(in->sin_port);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		net_addr_set(a, NET_AF_INET6, &in6->sin6_addr);
		*port = ntohs(in6->sin6_port);
	}
}

static socklen_t addr_to_sa(const struct net_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == NET_AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, a->b, 4);
		in->sin_port = htons(port);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	in6->sin6_family = AF_INET6;
	memcpy(&in6->sin6_addr, a->b, 16);
	in6->sin6_port = htons(port);
	return sizeof(*in6);
}

static int original_dst(int fd, bool v6, struct net_addr *a, uint16_t *port)
{
	struct sockaddr_storage ss = {0};
	socklen_t len = sizeof(ss);

	if (getsockopt(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IP6T_SO_ORIGINAL_DST : SO_ORIGINAL_DST, &ss, &len) < 0)
		return -errno;
	sa_to_addr(&ss, a, port);
	net_addr_normalize(a);
	return 0;
}

/* Connect the host side of allowed flow @i; @group decides where the gateway leads. */
static void connect_upstream(struct netproxy *np, int i, enum net_group group)
{
	struct np_flow *f = &np->flows[i];
	struct net_addr target = f->dst;
	struct sockaddr_storage ss;
	socklen_t sl;

	/* the gateway is the host: its loopback, same family, same port (spec/network.md §8, #1379) */
	if (group == NET_GROUP_HOST)
		net_addr_parse(f->dst.family == NET_AF_INET ? "127.0.0.1" : "::1", &target);
	sl = addr_to_sa(&target, f->dport, &ss);
	f->ufd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->ufd < 0) {
		np_flow_close(np, i, true);
		return;
	}
	f->kind = NP_FLOW_CONNECTING;
	np_epoll(np, f->gfd, NP_TAG(NP_T_GUEST, i), &f->ev_g, 0);
	if (connect(f->ufd, (struct sockaddr *)&ss, sl) == 0)
		flow_start(np, i);
	else if (errno == EINPROGRESS)
		np_epoll(np, f->ufd, NP_TAG(NP_T_UPSTREAM, i), &f->ev_u, EPOLLOUT);
	else
		np_flow_close(np, i, true);
}

/* Evaluate flow @i in mode @match (with @sni for NET_MATCH_SNI); returns the verdict, logged. */
static enum net_verdict decide(struct netproxy *np, int i, enum net_match match, const char *sni,
			       struct net_decision *d)
{
	struct np_flow *f = &np->flows[i];
	const char *names[16];
	struct net_flow fl = {.dir = NET_DIR_EGRESS, .proto = NET_PROTO_TCP, .addr = f->dst, .port = f->dport,
			      .names = names, .sni = sni, .match = match};

	fl.n_names = np_pin_names(np, &f->dst, names, ARRAY_SIZE(names), util_now_ms());
	net_policy_eval(&np->pol, &fl, d);
	if (d->verdict != NET_VERDICT_DEFER)
		np_log(np, "egress", "tcp", &f->dst, f->dport, sni ? sni : d->name ? d->name : (fl.n_names ? names[0] : NULL),
		       d, d->verdict == NET_VERDICT_ALLOW ? "allow" : "deny", NULL);
	return d->verdict;
}

/*
 * A new connection: decide before any host-side socket exists. With domain
 * rules the decision may wait for the TLS server name (spec/network.md §3):
 * the flow then peeks at the guest's first bytes (they stay in the socket
 * for the relay) for up to NET_SNI_PEEK_MAX bytes and NET_SNI_PEEK_MS.
 */
static void start_egress(struct netproxy *np, int i)
{
	struct np_flow *f = &np->flows[i];
	struct net_decision d;
	enum net_verdict v = decide(np, i, net_policy_has_domain_rules(&np->pol) ? NET_MATCH_DEFERRED
										   : NET_MATCH_CACHE_ONLY, NULL, &d);

	if (v == NET_VERDICT_ALLOW) {
		connect_upstream(np, i, d.group);
	} else if (v == NET_VERDICT_DEFER) {
		f->kind = NP_FLOW_PEEK;
		f->last_ms = util_now_ms();
		/* edge-triggered: peeked bytes stay readable, only new bytes should wake us */
		np_epoll(np, f->gfd, NP_TAG(NP_T_GUEST, i), &f->ev_g, EPOLLIN | EPOLLRDHUP | EPOLLET);
		np_timer_arm(np, true);
	} else {
		np_flow_close(np, i, true);
	}
}

static uint8_t peek_buf[NET_SNI_PEEK_MAX];

/* Decide a peeked flow: deny closes with a FIN (the guest's handshake completed), allow connects. */
static void peek_decide(struct netproxy *np, int i, const char *sni)
{
	struct net_decision d;
	enum net_verdict v = decide(np, i, sni ? NET_MATCH_SNI : NET_MATCH_CACHE_ONLY, sni, &d);

	if (v == NET_VERDICT_ALLOW) {
		connect_upstream(np, i, d.group);
		return;
	}
	/* a policy denial after the handshake is a FIN (spec/network.md §8, #905): unread bytes would make it a RST */
	shutdown(np->flows[i].gfd, SHUT_RD);
	while (recv(np->flows[i].gfd, peek_buf, sizeof(peek_buf), MSG_DONTWAIT) > 0)
		;
	np_flow_close(np, i, false);
}

void np_peek_expired(struct netproxy *np, int i)
{
	peek_decide(np, i, NULL);
}

static void peek(struct netproxy *np, int i)
{
	uint8_t *buf = peek_buf;
	char sni[NET_NAME_MAX + 1];
	ssize_t n = recv(np->flows[i].gfd, buf, sizeof(peek_buf), MSG_PEEK | MSG_DONTWAIT);
	int r;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		np_flow_close(np, i, n < 0); /* gone before saying anything */
		return;
	}
	r = net_tls_sni(buf, (size_t)n, sni);
	if (r == NET_SNI_MORE && (size_t)n < sizeof(peek_buf))
		return;
	peek_decide(np, i, r == NET_SNI_FOUND ? sni : NULL);
}

static int flow_alloc(struct netproxy *np, int gfd)
{
	if (np->n_flows >= np->max_flows)
		return -1;
	for (unsigned i = 0; i <= np->flows_init && i < NP_MAX_FLOWS; i++) {
		struct np_flow *f = &np->flows[i];
		if (i == np->flows_init) { /* first use of this slot */
			f->gfd = f->ufd = -1;
			f->pipe[0][0] = f->pipe[0][1] = f->pipe[1][0] = f->pipe[1][1] = -1;
			np->flows_init++;
		}
		if (f->kind == NP_FLOW_FREE && f->gfd < 0) {
			f->gfd = gfd;
			f->kind = NP_FLOW_CONNECTING;
			f->last_ms = util_now_ms();
			np->n_flows++;
			return (int)i;
		}
	}
	return -1;
}

static void accept_tcp(struct netproxy *np, int which)
{
	int lfd = np->fds.fd[which];
	bool v6 = which == NS_NET_TCP6;

	for (;;) {
		struct net_addr dst = {0};
		uint16_t port = 0;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), i;

		if (fd < 0)
			return; /* EAGAIN, or a transient error: the listener stays armed */
		/* not redirected (a direct connection to this loopback port): nothing to relay */
		if (original_dst(fd, v6, &dst, &port) < 0 ||
		    net_addr_classify(&dst, NULL) == NET_GROUP_LOOPBACK) {
			close_reset(fd);
			continue;
		}
		i = flow_alloc(np, fd);
		if (i < 0) {
			struct net_decision d = {.rule = -1, .reason = "connection limit reached"};
			np_log(np, "egress", "tcp", &dst, port, NULL, &d, "deny", "connection limit");
			close_reset(fd); /* over the cap */
			continue;
		}
		np->flows[i].dst = dst;
		np->flows[i].dport = port;
		if (port == 53) {
			np_dns_tcp_start(np, i);
			continue;
		}
		start_egress(np, i);
	}
}

/* ---- for netports.c ------------------------------------------------------------ */

int np_flow_new(struct netproxy *np, int gfd)
{
	return flow_alloc(np, gfd);
}

void np_flow_relay_start(struct netproxy *np, int i)
{
	flow_start(np, i);
}

void np_close_reset(int fd)
{
	close_reset(fd);
}

void np_relay(struct netproxy *np, int i)
{
	relay(np, i);
}

/* ---- configuration ------------------------------------------------------------- */

static int policy_from_cfg(struct netproxy *np, const json_t *cfg, msb_error *err)
{
	json_t *arr = json_object_get(cfg, "net_flags"), *v;
	size_t n = json_array_size(arr), i;
	struct net_flag_arg *args = xcalloc(n + 1, sizeof(*args));
	struct net_policy base;
	int r = 0;

	json_array_foreach(arr, i, v)
	{
		int fl = net_flag_lookup(json_string_value(json_array_get(v, 0)));
		if (fl < 0) {
			free(args);
			return msb_err_set(err, MSB_ERR_INVALID, 0, "stored network flag is unknown");
		}
		args[i].flag = (enum net_flag)fl;
		args[i].value = json_string_value(json_array_get(v, 1));
	}
	net_policy_default(&base);
	net_policy_set_gateway(&base, &np->gw4, np->v6 ? &np->gw6 : NULL);
	r = net_policy_from_flags(args, n, &base, NULL, &np->pol, err);
	net_policy_free(&base);
	free(args);
	return r;
}

bool netproxy_wanted(const json_t *cfg)
{
	(void)cfg;
	return true;
}

struct netproxy *netproxy_new(int epfd, int kind, const struct ns_net_fds *fds, const json_t *cfg, int logs_dirfd,
			      msb_error *err)
{
	struct netproxy *np = xcalloc(1, sizeof(*np));
	struct rlimit rl;

	np->epfd = epfd;
	np->kind = kind;
	np->rootless = geteuid() != 0;
	np->fds = *fds;
	np->v6 = fds->v6;
	np->log.fd = np->log.dirfd = -1;
	np->ctl = -1;
	np->rfd = -1;
	np->max_flows = (unsigned)config_u64(cfg, "max_connections", NP_DEFAULT_MAX_CONN);
	if (np->max_flows == 0 || np->max_flows > NP_MAX_FLOWS)
		np->max_flows = NP_DEFAULT_MAX_CONN;
	for (unsigned k = 0; k < NP_MAX_PUBLISH; k++)
		np->pub[k].fd = -1;
	net_addr_parse(NET_GW4, &np->gw4);
	net_addr_parse(NET_GW6, &np->gw6);
	/* flows are set up on first use (flow_alloc); a query's ufd when it is taken (dnsproxy.c) */
	if (policy_from_cfg(np, cfg, err) < 0 || np_dns_config(np, cfg, err) < 0) {
		free(np);
		return NULL;
	}
	if (np_rate_config(np, cfg, err) < 0) {
		net_policy_free(&np->pol);
		free(np);
		return NULL;
	}
	/* each relayed connection holds six fds */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (logs_dirfd >= 0) {
		int dfd = fcntl(logs_dirfd, F_DUPFD_CLOEXEC, 0);
		if (dfd >= 0)
			rotlog_open(&np->log, dfd, "network.log");
	}
	np->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (np->tfd < 0) {
		msb_err_sys(err, errno, "network timer");
		netproxy_free(np);
		return NULL;
	}
	{
		uint32_t cur = 0;
		np_epoll(np, np->tfd, NP_TAG(NP_T_TIMER, 0), &cur, EPOLLIN);
	}
	for (int i = 0; i < NS_NET_NFDS; i++) {
		uint32_t cur = 0;
		if (np->fds.fd[i] >= 0)
			np_epoll(np, np->fds.fd[i], NP_TAG(NP_T_LISTEN, i), &cur, EPOLLIN);
	}
	return np;
}

void netproxy_free(struct netproxy *np)
{
	if (!np)
		return;
	for (unsigned i = 0; i < np->flows_init; i++)
		np_flow_close(np, (int)i, true);
	np_ports_free(np);
	np_rate_free(np);
	for (int i = 0; i < NS_NET_NFDS; i++)
		if (np->fds.fd[i] >= 0)
			close(np->fds.fd[i]);
	if (np->tfd >= 0)
		close(np->tfd);
	execlog_close(&np->log);
	if (np->log.dirfd >= 0)
		close(np->log.dirfd);
	net_policy_free(&np->pol);
	free(np);
}

/* ---- dispatch ---------------------------------------------------------------------- */

void netproxy_event(struct netproxy *np, uint32_t idx, uint32_t events)
{
	uint32_t type = idx >> 28, slot = idx & 0x0fffffffu;
	uint64_t exp;

	switch (type) {
	case NP_T_LISTEN:
		if (slot == NS_NET_TCP4 || slot == NS_NET_TCP6)
			accept_tcp(np, (int)slot);
		else
			np_dns_udp_readable(np, (int)slot);
		break;
	case NP_T_TIMER:
		while (read(np->tfd, &exp, sizeof(exp)) == sizeof(exp))
			;
		np_dns_tick(np, util_now_ms());
		break;
	case NP_T_GUEST:
	case NP_T_UPSTREAM:
		if (slot >= NP_MAX_FLOWS)
			break;
		switch (np->flows[slot].kind) {
		case NP_FLOW_PEEK:
			if (type == NP_T_GUEST)
				peek(np, (int)slot);
			break;
		case NP_FLOW_CONNECTING:
			if (type == NP_T_UPSTREAM)
				connected(np, (int)slot);
			break;
		case NP_FLOW_SPLICE:
			relay(np, (int)slot);
			break;
		case NP_FLOW_DNS_TCP:
			np_dns_tcp_event(np, (int)slot, events);
			break;
		case NP_FLOW_IN_CONNECTING:
			if (type == NP_T_GUEST)
				np_ports_connected(np, (int)slot);
			break;
		case NP_FLOW_IN_SOCKET:
		case NP_FLOW_FREE:
			break;
		}
		break;
	case NP_T_QUERY:
		if (slot < NP_MAX_QUERIES)
			np_dns_query_event(np, (int)slot);
		break;
	case NP_T_PUBLISH:
		if (slot < np->n_pub)
			np_ports_accept(np, (int)slot);
		break;
	case NP_T_CTL:
		np_ports_ctl(np);
		break;
	case NP_T_RATE:
		np_rate_tick(np);
		break;
	}
}
