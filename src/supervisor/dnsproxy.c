// SPDX-License-Identifier: Apache-2.0
/*
 * dnsproxy.c - the DNS interceptor (spec/network.md §4, docs/dns.md).
 *
 * Every DNS query the workload sends, UDP or TCP to port 53 of any address,
 * arrives here (ns/net.c redirects it). Per query:
 *   1. parse (net/dns.c); unparseable -> no reply, or FORMERR/NOTIMP where
 *      dns_err_rcode() says the header and question were readable;
 *   2. query policy (net_policy_dns_query()); denied -> NXDOMAIN, logged,
 *      never sent upstream;
 *   3. AAAA while the sandbox has no IPv6 -> empty NOERROR;
 *      host.microsandbox.internal A/AAAA -> the gateway, answered here;
 *   4. forwarded over UDP to the upstream nameservers in order, each
 *      attempt bounded by --dns-query-timeout-ms, failing over on timeout
 *      or transport error only; none answered -> SERVFAIL;
 *   5. the answer is checked for rebinding (a reserved address the policy's
 *      address rules do not allow -> NXDOMAIN), pinned (net/pin set), given
 *      back the guest's id, and, for UDP, replaced by a TC reply when larger
 *      than the guest accepts.
 * Pending queries live in a fixed table; each has its own connected UDP
 * socket to the upstream (a fresh source port per query). One timerfd
 * drives timeouts while anything is pending.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/timerfd.h>

#include "config.h"
#include "net/netcfg.h"
#include "net/tls_sni.h"
#include "netproxy.h"

#define DNS_TICK_MS 100

static uint8_t rxbuf[DNS_MSG_MAX];
static uint8_t txbuf[DNS_MSG_MAX];

/* ---- configuration --------------------------------------------------------------- */

/* IP, IP:PORT, bare IPv6, [IPv6]:PORT. Hostnames are not accepted (no resolver in a static binary). */
static int parse_upstream(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *port = NULL;
	struct net_addr a;
	unsigned long p = 53;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || (size_t)(end - s - 1) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1])
			return -1;
	} else {
		const char *c = strchr(s, ':');
		if (snprintf(host, sizeof(host), "%s", s) >= (int)sizeof(host))
			return -1;
		if (c && !strchr(c + 1, ':')) {
			host[c - s] = '\0';
			port = c + 1;
		}
	}
	if (port) {
		char *end;
		p = strtoul(port, &end, 10);
		if (!*port || *end || p == 0 || p > 65535)
			return -1;
	}
	if (net_addr_parse(host, &a) < 0)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (a.family == NET_AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, a.b, 4);
		in->sin_port = htons((uint16_t)p);
		*len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, a.b, 16);
		in6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*in6);
	}
	return 0;
}

static void add_upstream(struct netproxy *np, const char *s)
{
	if (np->n_up < NP_MAX_UPSTREAMS && parse_upstream(s, &np->up[np->n_up], &np->up_len[np->n_up]) == 0)
		np->n_up++;
}

/* The host's resolvers: `nameserver` lines of /etc/resolv.conf, in order. */
static void host_resolvers(struct netproxy *np)
{
	size_t len;
	char *text = util_read_file_at(AT_FDCWD, "/etc/resolv.conf", 1u << 20, &len), *save = NULL;

	if (!text)
		return;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char ns[128];
		if (sscanf(line, " nameserver %127s", ns) == 1) {
			char *pct = strchr(ns, '%'); /* a zone index: not usable from here */
			if (pct)
				*pct = '\0';
			add_upstream(np, ns);
		}
	}
	free(text);
}

int np_dns_config(struct netproxy *np, const json_t *cfg, msb_error *err)
{
	size_t n;
	const char **v = config_strv(cfg, "dns_nameservers", &n);

	for (size_t i = 0; i < n; i++)
		add_upstream(np, v[i]);
	free(v);
	if (!n)
		host_resolvers(np);
	np->dns_timeout_ms = (unsigned)config_u64(cfg, "dns_query_timeout_ms", 5000);
	if (!np->dns_timeout_ms)
		np->dns_timeout_ms = 5000;
	np->rebind_protect = !json_is_true(json_object_get(cfg, "no_dns_rebind_protection"));
	(void)err;
	return 0;
}

/* ---- replies ------------------------------------------------------------------------ */

struct reply_to {
	bool tcp;
	int flow;
	uint32_t gen;
	int lfd;
	const struct sockaddr_storage *peer;
	socklen_t peer_len;
};

void np_timer_arm(struct netproxy *np, bool on)
{
	struct itimerspec its = {0};
	if (on == np->timer_armed)
		return;
	if (on)
		its.it_value.tv_nsec = its.it_interval.tv_nsec = DNS_TICK_MS * 1000000L;
	timerfd_settime(np->tfd, 0, &its, NULL);
	np->timer_armed = on;
}

static void tcp_update(struct netproxy *np, int i)
{
	struct np_flow *f = &np->flows[i];
	struct np_dns_tcp *t = f->dns;
	/* a guest that does not read its answers stops being read (bounded memory per stream) */
	uint32_t want = (t->eof || t->out.len - t->out_off >= NP_DNS_TCP_OUT_MAX ? 0 : EPOLLIN) |
			(t->out.len > t->out_off ? EPOLLOUT : 0);

	if (t->eof && !t->pending && t->out.len == t->out_off) {
		np_flow_close(np, i, false);
		return;
	}
	np_epoll(np, f->gfd, NP_TAG(NP_T_GUEST, i), &f->ev_g, want);
}

static void tcp_flush(struct netproxy *np, int i)
{
	struct np_dns_tcp *t = np->flows[i].dns;
	while (t->out.len > t->out_off) {
		ssize_t n = send(np->flows[i].gfd, t->out.data + t->out_off, t->out.len - t->out_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			t->eof = true;
			t->out.len = t->out_off = 0;
			return;
		}
		t->out_off += (size_t)n;
	}
	/* keep only what is unsent, so a slow reader cannot grow the buffer with sent bytes */
	if (t->out_off) {
		memmove(t->out.data, t->out.data + t->out_off, t->out.len - t->out_off);
		t->out.len -= t->out_off;
		t->out_off = 0;
	}
}

/* Send @msg to whoever asked; UDP answers larger than @udp_limit become a TC reply. */
static void reply(struct netproxy *np, const struct reply_to *to, const struct dns_query *q, const uint8_t *msg,
		  size_t len, size_t udp_limit)
{
	if (to->tcp) {
		struct np_flow *f = &np->flows[to->flow];
		uint8_t pfx[2];
		if (f->kind != NP_FLOW_DNS_TCP || f->gen != to->gen || dns_tcp_put_len(pfx, len) < 0)
			return;
		buf_append(&f->dns->out, pfx, 2);
		buf_append(&f->dns->out, msg, len);
		tcp_flush(np, to->flow);
		tcp_update(np, to->flow);
		return;
	}
	if (len > udp_limit) {
		int n = dns_build_truncated(q, txbuf, sizeof(txbuf));
		if (n < 0)
			return;
		msg = txbuf;
		len = (size_t)n;
	}
	sendto(to->lfd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)to->peer, to->peer_len);
}

static void reply_rcode(struct netproxy *np, const struct reply_to *to, const struct dns_query *q, unsigned rcode)
{
	uint8_t out[DNS_QUERY_MAX + 64];
	int n = dns_build_error(q, rcode, out, sizeof(out));
	if (n > 0)
		reply(np, to, q, out, (size_t)n, SIZE_MAX);
}

static void log_query(struct netproxy *np, const struct reply_to *to, const char *qname,
		      const struct net_decision *d, const char *action, const char *note)
{
	np_log(np, "egress", to->tcp ? "dns/tcp" : "dns/udp", &np->gw4, 53, qname, d, action, note);
}

/* ---- forwarding -------------------------------------------------------------------- */

static int query_send(struct netproxy *np, int slot)
{
	struct np_query *qq = &np->queries[slot];
	uint32_t cur = 0;

	if (qq->ufd >= 0)
		close(qq->ufd);
	for (; qq->upstream < np->n_up; qq->upstream++) {
		const struct sockaddr_storage *up = &np->up[qq->upstream];
		qq->ufd = socket(up->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (qq->ufd < 0)
			continue;
		if (connect(qq->ufd, (const struct sockaddr *)up, np->up_len[qq->upstream]) == 0 &&
		    send(qq->ufd, qq->msg, qq->len, 0) == (ssize_t)qq->len) {
			qq->deadline_ms = util_now_ms() + np->dns_timeout_ms;
			np_epoll(np, qq->ufd, NP_TAG(NP_T_QUERY, slot), &cur, EPOLLIN);
			return 0;
		}
		close(qq->ufd); /* transport error: next upstream */
		qq->ufd = -1;
	}
	qq->ufd = -1;
	return -1;
}

static void query_done(struct netproxy *np, int slot)
{
	struct np_query *qq = &np->queries[slot];

	if (qq->ufd >= 0)
		close(qq->ufd); /* also leaves epoll */
	if (qq->tcp && np->flows[qq->flow].kind == NP_FLOW_DNS_TCP && np->flows[qq->flow].gen == qq->gen &&
	    np->flows[qq->flow].dns->pending) {
		np->flows[qq->flow].dns->pending--;
		tcp_update(np, qq->flow);
	}
	qq->used = false;
	qq->ufd = -1;
}

static void query_fail(struct netproxy *np, int slot)
{
	struct np_query *qq = &np->queries[slot];
	struct reply_to to = {.tcp = qq->tcp, .flow = qq->flow, .gen = qq->gen, .lfd = qq->lfd, .peer = &qq->peer,
			      .peer_len = qq->peer_len};
	reply_rcode(np, &to, &qq->q, DNS_RCODE_SERVFAIL);
	query_done(np, slot);
}

static void forward(struct netproxy *np, const struct reply_to *to, const struct dns_query *q, const uint8_t *msg,
		    size_t len)
{
	struct np_query *qq = NULL;
	int slot = -1;

	if (!np->n_up) {
		/* no forwarder: UDP queries are dropped, TCP streams closed (spec/network.md §4) */
		if (to->tcp)
			np->flows[to->flow].dns->eof = true;
		return;
	}
	for (int i = 0; i < NP_MAX_QUERIES && slot < 0; i++)
		if (!np->queries[i].used)
			slot = i;
	if (slot < 0) {
		reply_rcode(np, to, q, DNS_RCODE_SERVFAIL);
		return;
	}
	qq = &np->queries[slot];
	qq->used = true;
	qq->tcp = to->tcp;
	qq->flow = to->flow;
	qq->gen = to->gen;
	qq->lfd = to->lfd;
	if (!to->tcp) {
		memcpy(&qq->peer, to->peer, to->peer_len);
		qq->peer_len = to->peer_len;
	}
	qq->q = *q;
	memcpy(qq->msg, msg, len);
	qq->len = len;
	qq->guest_id = q->hdr.id;
	if (getrandom(&qq->up_id, sizeof(qq->up_id), GRND_NONBLOCK) != sizeof(qq->up_id))
		qq->up_id = (uint16_t)(util_now_ms() ^ (uint64_t)slot);
	dns_set_id(qq->msg, qq->len, qq->up_id);
	qq->upstream = 0;
	qq->ufd = -1;
	if (to->tcp)
		np->flows[to->flow].dns->pending++;
	if (query_send(np, slot) < 0) {
		query_fail(np, slot);
		return;
	}
	np_timer_arm(np, true);
}

/* An address answered for a public name must not be reserved unless an address rule allows it. */
static bool rebinding(struct netproxy *np, const struct dns_response *r)
{
	if (!np->rebind_protect)
		return false;
	for (size_t i = 0; i < r->n_addrs; i++) {
		struct net_addr a;
		if (r->addrs[i].section != DNS_SECTION_ANSWER)
			continue;
		net_addr_set(&a, r->addrs[i].ip.family == AF_INET ? NET_AF_INET : NET_AF_INET6, r->addrs[i].ip.addr);
		net_addr_normalize(&a);
		if (net_addr_is_reserved(&a) && !net_policy_rebind_allows(&np->pol, &a))
			return true;
	}
	return false;
}

void np_dns_query_event(struct netproxy *np, int slot)
{
	struct np_query *qq = &np->queries[slot];
	struct dns_response *r = &np->resp;
	struct reply_to to = {.tcp = qq->tcp, .flow = qq->flow, .gen = qq->gen, .lfd = qq->lfd, .peer = &qq->peer,
			      .peer_len = qq->peer_len};
	ssize_t n;
	uint16_t qt;

	if (!qq->used || qq->ufd < 0)
		return;
	for (;;) {
		n = recv(qq->ufd, rxbuf, sizeof(rxbuf), 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			/* ICMP unreachable and friends: a transport error, try the next upstream */
			qq->upstream++;
			if (query_send(np, slot) < 0)
				query_fail(np, slot);
			return;
		}
		if (dns_parse_response(rxbuf, (size_t)n, r) < 0 || r->hdr.id != qq->up_id || !r->has_question ||
		    !dns_question_eq(&r->question, &qq->q.question))
			continue; /* not the answer to our question: keep waiting until the deadline */
		break;
	}
	qt = qq->q.question.qtype;
	if (rebinding(np, r)) {
		log_query(np, &to, qq->q.question.name, NULL, "deny", "DNS rebinding: reserved address in the answer");
		reply_rcode(np, &to, &qq->q, DNS_RCODE_NXDOMAIN);
		query_done(np, slot);
		return;
	}
	if (qt == DNS_TYPE_A || qt == DNS_TYPE_AAAA) {
		int fam = qt == DNS_TYPE_A ? NET_AF_INET : NET_AF_INET6;
		if (r->rcode == DNS_RCODE_NOERROR)
			np_pin_update(np, qq->q.question.name, fam, r, util_now_ms());
		else
			np_pin_clear(np, qq->q.question.name, fam);
	}
	dns_set_id(rxbuf, (size_t)n, qq->guest_id);
	reply(np, &to, &qq->q, rxbuf, (size_t)n, dns_query_udp_limit(&qq->q));
	query_done(np, slot);
}

void np_dns_tick(struct netproxy *np, uint64_t now)
{
	bool busy = false;

	for (int i = 0; i < NP_MAX_QUERIES; i++) {
		struct np_query *qq = &np->queries[i];
		if (!qq->used)
			continue;
		if (qq->deadline_ms <= now) {
			qq->upstream++;
			if (query_send(np, i) < 0) {
				log_query(np, &(struct reply_to){.tcp = qq->tcp}, qq->q.question.name, NULL, "allow",
					  "no upstream nameserver answered (SERVFAIL)");
				query_fail(np, i);
				continue;
			}
		}
		busy = true;
	}
	for (int i = 0; i < (int)np->flows_init; i++) {
		struct np_flow *f = &np->flows[i];
		if (f->kind == NP_FLOW_PEEK) {
			if (now - f->last_ms >= NET_SNI_PEEK_MS)
				np_peek_expired(np, i);
			else
				busy = true;
			continue;
		}
		if (f->kind != NP_FLOW_DNS_TCP)
			continue;
		if (!f->dns->pending && now - f->last_ms >= NP_DNS_TCP_IDLE_MS)
			np_flow_close(np, i, false);
		else
			busy = true;
	}
	np_timer_arm(np, busy);
}

/* ---- one query ------------------------------------------------------------------ */

static void handle_query(struct netproxy *np, const struct reply_to *to, const uint8_t *msg, size_t len)
{
	struct dns_query q;
	struct net_decision d;
	int r = dns_parse_query(msg, len, &q), rc;
	const char *qname;

	if (r < 0) {
		rc = dns_err_rcode(r);
		if (rc >= 0)
			reply_rcode(np, to, &q, (unsigned)rc);
		return;
	}
	qname = q.question.name;
	if (net_policy_dns_query(&np->pol, qname, to->tcp ? NET_DNS_TCP : NET_DNS_UDP, &d) != NET_VERDICT_ALLOW) {
		log_query(np, to, qname, &d, "deny", NULL);
		reply_rcode(np, to, &q, DNS_RCODE_NXDOMAIN);
		return;
	}
	log_query(np, to, qname, &d, "allow", NULL);
	if (q.question.qclass == DNS_CLASS_IN && (q.question.qtype == DNS_TYPE_A || q.question.qtype == DNS_TYPE_AAAA)) {
		bool aaaa = q.question.qtype == DNS_TYPE_AAAA;
		bool local = dns_name_eq(qname, NET_HOST_NAME);
		if ((aaaa && !np->v6) || local) {
			struct dns_ip ip = {.family = aaaa ? AF_INET6 : AF_INET};
			int n;
			memcpy(ip.addr, aaaa ? np->gw6.b : np->gw4.b, aaaa ? 16 : 4);
			if (!local)
				np_pin_clear(np, qname, NET_AF_INET6);
			n = dns_build_answer(&q, &ip, local ? 1 : 0, 60, txbuf, sizeof(txbuf));
			if (n > 0)
				reply(np, to, &q, txbuf, (size_t)n, dns_query_udp_limit(&q));
			return;
		}
	}
	forward(np, to, &q, msg, len);
}

void np_dns_udp_readable(struct netproxy *np, int which)
{
	int lfd = np->fds.fd[which];

	for (int budget = 0; budget < 64; budget++) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		ssize_t n = recvfrom(lfd, rxbuf, DNS_QUERY_MAX + 1, MSG_DONTWAIT, (struct sockaddr *)&peer, &pl);
		struct reply_to to = {.lfd = lfd, .peer = &peer, .peer_len = pl};
		uint8_t msg[DNS_QUERY_MAX];

		if (n < 0)
			return;
		if ((size_t)n > DNS_QUERY_MAX)
			continue;
		memcpy(msg, rxbuf, (size_t)n); /* rxbuf is reused for upstream answers */
		handle_query(np, &to, msg, (size_t)n);
	}
}

/* ---- DNS over TCP from the guest ------------------------------------------------------ */

void np_dns_tcp_start(struct netproxy *np, int i)
{
	struct np_flow *f = &np->flows[i];

	f->kind = NP_FLOW_DNS_TCP;
	f->dns = xcalloc(1, sizeof(*f->dns));
	f->last_ms = util_now_ms();
	np_epoll(np, f->gfd, NP_TAG(NP_T_GUEST, i), &f->ev_g, EPOLLIN);
	np_timer_arm(np, true);
}

void np_dns_tcp_event(struct netproxy *np, int i, uint32_t events)
{
	struct np_flow *f = &np->flows[i];
	struct np_dns_tcp *t = f->dns;

	f->last_ms = util_now_ms();
	if (events & EPOLLOUT)
		tcp_flush(np, i);
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !t->eof && t->out.len - t->out_off < NP_DNS_TCP_OUT_MAX) {
		ssize_t n = recv(f->gfd, t->in + t->in_len, sizeof(t->in) - t->in_len, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			t->eof = true;
		else if (n > 0)
			t->in_len += (size_t)n;
		for (;;) {
			const uint8_t *msg;
			size_t mlen;
			uint32_t gen = f->gen;
			int fr = dns_tcp_frame(t->in, t->in_len, DNS_QUERY_MAX, &msg, &mlen);
			if (fr < 0) {
				np_flow_close(np, i, true); /* cannot resynchronise */
				return;
			}
			if (fr == 0)
				break;
			{
				struct reply_to to = {.tcp = true, .flow = i, .gen = gen};
				uint8_t copy[DNS_QUERY_MAX];
				memcpy(copy, msg, mlen);
				memmove(t->in, t->in + fr, t->in_len - (size_t)fr);
				t->in_len -= (size_t)fr;
				handle_query(np, &to, copy, mlen);
			}
			if (f->kind != NP_FLOW_DNS_TCP || f->gen != gen)
				return; /* closed while answering */
		}
	}
	tcp_update(np, i);
}

void np_dns_flow_closed(struct netproxy *np, int i)
{
	/* pending queries of the stream notice the new generation and drop their answer */
	(void)np;
	(void)i;
}
