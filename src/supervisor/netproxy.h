/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netproxy.h - the supervisor's network chokepoint (docs/network.md): the
 * TCP relay (netproxy.c), the DNS interceptor (dnsproxy.c), the pin set
 * (netpin.c) and the decision log (netlog.c), all driven by the
 * supervisor's one epoll loop.
 */
#ifndef MSB_SUPERVISOR_NETPROXY_H
#define MSB_SUPERVISOR_NETPROXY_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "execlog.h"
#include "net/dns.h"
#include "net/policy.h"
#include "ns/ns.h"
#include "util.h"

#define NP_MAX_FLOWS     4096 /* TCP connections (relayed and DNS over TCP): --max-connections' ceiling */
#define NP_MAX_QUERIES   256  /* DNS queries waiting for an upstream answer */
#define NP_MAX_UPSTREAMS 8
#define NP_MAX_PINS      2048
#define NP_PIN_IPS       8
#define NP_PIPE_SIZE     (1u << 20) /* the default pipe-max-size: unprivileged users get it too */
/*
 * Host memory a sandbox can pin by relaying without reading: the first
 * NP_BIG_FLOWS relayed flows get 1 MiB pipes and autotuned socket buffers
 * (throughput); every further flow 64 KiB pipes and NP_SMALL_SOCKBUF socket
 * buffers on both sides, so thousands of stalled flows cost tens of MiB,
 * not gigabytes.
 */
#define NP_BIG_FLOWS     16
#define NP_SMALL_SOCKBUF (128u << 10)
/*
 * Rootless, every pipe page counts against the user's fs.pipe-user-pages-soft
 * (64 MiB), shared by all of the user's sandboxes and programs: 4 big flows
 * with 256 KiB pipes and one-page pipes for the rest keep a sandbox at the
 * default 256 connections near 1000 pages (~6% of it).
 */
#define NP_BIG_FLOWS_ROOTLESS 4
#define NP_PIPE_SIZE_ROOTLESS (256u << 10)
#define NP_PIPE_SIZE_SMALL_ROOTLESS 4096u
#define NP_DNS_TCP_IDLE_MS 30000
#define NP_DNS_TCP_OUT_MAX (64u << 10) /* unsent answers on one DNS-over-TCP stream before it is no longer read */
#define NP_DEFAULT_MAX_CONN 256 /* --max-connections default (spec/network.md §7) */
#define NP_MAX_PUBLISH   64	/* -p mappings per sandbox */

/* epoll tag: the supervisor passes ((uint64_t)kind << 32) | idx through; idx = type << 28 | slot. */
enum np_tag {
	NP_T_LISTEN = 1, /* slot: NS_NET_* */
	NP_T_TIMER,
	NP_T_GUEST,    /* slot: flow */
	NP_T_UPSTREAM, /* slot: flow */
	NP_T_QUERY,    /* slot: pending DNS query */
	NP_T_PUBLISH,  /* slot: published port (netports.c) */
	NP_T_CTL,      /* H's socket service (netports.c) */
	NP_T_RATE,     /* the rate limiter's timer (netrate.c) */
};
#define NP_TAG(type, slot) (((uint32_t)(type) << 28) | (uint32_t)(slot))

enum np_flow_kind {
	NP_FLOW_FREE,
	NP_FLOW_PEEK,       /* the policy waits for the TLS ClientHello's server name */
	NP_FLOW_CONNECTING, /* policy allowed; waiting for the host-side connect */
	NP_FLOW_SPLICE,     /* relaying both directions with splice(2) */
	NP_FLOW_DNS_TCP,    /* the guest speaks DNS over TCP to us */
	NP_FLOW_IN_SOCKET,  /* published port: waiting for H to create the socket into the sandbox */
	NP_FLOW_IN_CONNECTING, /* published port: connecting into the sandbox (gfd) */
};

struct np_dns_tcp {
	uint8_t in[DNS_QUERY_MAX + 2];
	size_t in_len;
	struct buf out;
	size_t out_off;
	unsigned pending; /* queries of this stream waiting upstream */
	bool eof;
};

/**
 * struct np_flow - one accepted guest TCP connection.
 * Per-flow state is allocated once (the pipes, the DNS buffers); the relay
 * itself never allocates.
 */
struct np_flow {
	enum np_flow_kind kind;
	uint32_t gen;		 /* bumped on every reuse; DNS queries remember it */
	int gfd, ufd;		 /* guest side (in the sandbox's namespace), host side */
	int pipe[2][2];		 /* [dir][read, write]; dir 0 guest->host, 1 host->guest */
	size_t inpipe[2];	 /* bytes in each pipe */
	size_t pipe_cap;	 /* capacity of the smaller pipe */
	bool rd_eof[2], shut[2]; /* read EOF seen on the source of dir; SHUT_WR sent to its sink */
	uint32_t ev_g, ev_u;	 /* events registered (0 = not in epoll) */
	uint64_t last_ms;	 /* DNS over TCP idle timeout; start of the ClientHello peek */
	struct net_addr dst;	 /* original destination */
	uint16_t dport;
	struct np_dns_tcp *dns;
	bool throttled[2];	 /* dir waits for rate-limit tokens (netrate.c) */
	bool big;		 /* one of the NP_BIG_FLOWS with full-size buffers */
};

/* A token bucket (spec/network.md §7): starts full, refills continuously, the one-time burst is spent first. */
struct np_bucket {
	bool on;
	uint64_t size, interval_ms; /* size tokens per interval_ms; also the capacity */
	double tokens;
	uint64_t burst; /* one-time tokens, never refilled */
};
/* One direction's limiter: bytes and frames (a relayed TCP byte stream counts one frame per NP_RATE_SEG bytes). */
struct np_rate {
	bool on;
	struct np_bucket bw, ops;
	uint64_t last_ns;
};
#define NP_RATE_SEG 1448 /* TCP payload of a 1500-byte frame with timestamps */

/* A published port (-p): a host-side listener. */
struct np_publish {
	int fd;
	struct net_addr bind;
	uint16_t host_port, guest_port;
};

/* One DNS question forwarded upstream. */
struct np_query {
	bool used;
	bool tcp;			/* answer on flow @flow (gen @gen), else by UDP to @peer via @lfd */
	int flow;
	uint32_t gen;
	int lfd;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	int ufd;			/* the socket to the current upstream */
	unsigned upstream;		/* index of the upstream being tried */
	uint16_t guest_id, up_id;
	uint64_t deadline_ms;
	struct dns_query q;
	uint8_t msg[DNS_QUERY_MAX];
	size_t len;
};

struct np_pin {
	bool used;
	uint8_t n;
	char name[NET_NAME_MAX + 1];
	uint64_t expires_ms;
	struct net_addr ip[NP_PIN_IPS];
};

struct netproxy {
	int epfd, kind, tfd;
	struct execlog log; /* logs/network.log (its dirfd is our own dup) */
	bool timer_armed;
	struct ns_net_fds fds;
	struct net_policy pol;
	bool v6;
	struct net_addr gw4, gw6;
	struct sockaddr_storage up[NP_MAX_UPSTREAMS];
	socklen_t up_len[NP_MAX_UPSTREAMS];
	unsigned n_up;
	unsigned dns_timeout_ms;
	bool rebind_protect;
	unsigned n_flows;
	unsigned n_big; /* flows relaying with full-size buffers (flow_start) */
	bool rootless;  /* pipes count against the user's pipe quota */
	/*
	 * flows[0..flows_init) have been set up (fds -1 when free); the rest is
	 * untouched zeroed memory, so a new sandbox does not fault in the whole
	 * table on its start-up path.
	 */
	unsigned flows_init;
	struct np_flow flows[NP_MAX_FLOWS];
	struct np_query queries[NP_MAX_QUERIES];
	struct np_pin pins[NP_MAX_PINS];
	uint64_t pins_swept_ms;
	struct dns_response resp; /* scratch for upstream answers (large) */
	/* connection cap, published ports and rate limits (netports.c, netrate.c) */
	unsigned max_flows;
	struct np_publish pub[NP_MAX_PUBLISH];
	unsigned n_pub;
	int ctl; /* H's socket service */
	uint32_t ctl_ev;
	struct np_rate rate[2]; /* [0] egress (guest -> host bytes), [1] ingress */
	int rfd;		/* rate timer */
	bool rate_armed;
};

/* netproxy.c */
struct netproxy *netproxy_new(int epfd, int kind, const struct ns_net_fds *fds, const json_t *cfg, int logs_dirfd,
			      msb_error *err);
void netproxy_event(struct netproxy *np, uint32_t idx, uint32_t events);
void netproxy_free(struct netproxy *np);
/* Whether the sandbox gets a network namespace with the chokepoint (always, today). */
bool netproxy_wanted(const json_t *cfg);
void np_epoll(struct netproxy *np, int fd, uint32_t tag, uint32_t *cur, uint32_t want);
void np_flow_close(struct netproxy *np, int i, bool reset);
void np_timer_arm(struct netproxy *np, bool on);
/* A peeking flow whose ClientHello did not come in time: decide without a server name. */
void np_peek_expired(struct netproxy *np, int i);

/* netproxy.c, for netports.c */
int np_flow_new(struct netproxy *np, int gfd);
void np_flow_relay_start(struct netproxy *np, int i);
void np_close_reset(int fd);
void np_relay(struct netproxy *np, int i);

/* netports.c: published ports (-p) and ingress policy */
/* In the supervisor before boot: bind every -p listener of @cfg; fds into @fds (NP_MAX_PUBLISH). Count or -err. */
int np_ports_bind(const json_t *cfg, int *fds, msb_error *err);
/* Hand the listeners (ownership) and H's socket service to @np. */
void np_ports_start(struct netproxy *np, const json_t *cfg, const int *fds, int n, int ctl);
void np_ports_accept(struct netproxy *np, int slot);
void np_ports_ctl(struct netproxy *np);
void np_ports_connected(struct netproxy *np, int i);
void np_ports_free(struct netproxy *np);

/* netrate.c: token buckets in the relay */
int np_rate_config(struct netproxy *np, const json_t *cfg, msb_error *err);
/* How many bytes dir @d of flow @f may read now (<= @room); 0 marks it throttled and arms the timer. */
size_t np_rate_room(struct netproxy *np, struct np_flow *f, int d, size_t room);
void np_rate_take(struct netproxy *np, int d, size_t n);
void np_rate_tick(struct netproxy *np);
void np_rate_free(struct netproxy *np);

/* dnsproxy.c */
int np_dns_config(struct netproxy *np, const json_t *cfg, msb_error *err);
void np_dns_udp_readable(struct netproxy *np, int which);
void np_dns_tcp_start(struct netproxy *np, int flow);
void np_dns_tcp_event(struct netproxy *np, int flow, uint32_t events);
void np_dns_query_event(struct netproxy *np, int slot);
void np_dns_tick(struct netproxy *np, uint64_t now);
void np_dns_flow_closed(struct netproxy *np, int flow);

/* netpin.c: the pin set (spec/network.md §4) */
void np_pin_update(struct netproxy *np, const char *qname, int family, const struct dns_response *r, uint64_t now);
void np_pin_clear(struct netproxy *np, const char *qname, int family);
size_t np_pin_names(struct netproxy *np, const struct net_addr *a, const char **names, size_t max, uint64_t now);

/* netlog.c: one JSON line per decision in logs/network.log */
void np_log(struct netproxy *np, const char *dir, const char *proto, const struct net_addr *dst, unsigned port,
	    const char *name, const struct net_decision *d, const char *action, const char *note);

#endif
