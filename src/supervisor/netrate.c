// SPDX-License-Identifier: Apache-2.0
/*
 * netrate.c - rate limits in the relay (spec/network.md §7):
 * `--net-{egress,ingress}-bandwidth SIZE[/DUR]`, `-bandwidth-burst SIZE`,
 * `--net-{egress,ingress}-ops N[/DUR]`, `-ops-burst N`.
 *
 * Theory of Operation
 * -------------------
 * One limiter per direction for the whole sandbox: egress is the bytes the
 * relay reads from the guest side, ingress the bytes it reads from the host
 * side, whoever opened the connection. Each limiter has up to two token
 * buckets: bytes, and frames (the relay moves a byte stream, so a read of n
 * bytes counts ceil(n / NP_RATE_SEG) frames). A bucket starts full, refills
 * continuously at size tokens per interval up to size, and a one-time burst
 * is spent before the bucket and never refilled.
 *
 * The relay asks np_rate_room() before each read from a source and reads at
 * most that much; afterwards np_rate_take() charges what was read. Nothing
 * else happens per read: no allocation, no syscall but the clock. When the
 * buckets are dry the flow's direction is marked throttled, drops its
 * EPOLLIN interest (relay() in netproxy.c) and a one-shot timer is armed for
 * when enough tokens will be there; the timer re-runs every throttled flow.
 */
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>

#include "config.h"
#include "netproxy.h"

/* Do not wake a throttled flow for less than this (or the bucket size, if smaller). */
#define RATE_QUANTUM 16384

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void bucket_cfg(struct np_bucket *b, const json_t *rate, const json_t *burst)
{
	if (!json_is_object(rate))
		return;
	b->size = (uint64_t)json_integer_value(json_object_get(rate, "size"));
	b->interval_ms = (uint64_t)json_integer_value(json_object_get(rate, "interval_ms"));
	if (!b->size || !b->interval_ms)
		return;
	b->on = true;
	b->tokens = (double)b->size;
	b->burst = json_is_integer(burst) ? (uint64_t)json_integer_value(burst) : 0;
}

int np_rate_config(struct netproxy *np, const json_t *cfg, msb_error *err)
{
	static const char *const keys[2][4] = {
		{"net_egress_bandwidth", "net_egress_bandwidth_burst", "net_egress_ops", "net_egress_ops_burst"},
		{"net_ingress_bandwidth", "net_ingress_bandwidth_burst", "net_ingress_ops", "net_ingress_ops_burst"}};

	np->rfd = -1;
	for (int d = 0; d < 2; d++) {
		struct np_rate *r = &np->rate[d];
		bucket_cfg(&r->bw, json_object_get(cfg, keys[d][0]), json_object_get(cfg, keys[d][1]));
		bucket_cfg(&r->ops, json_object_get(cfg, keys[d][2]), json_object_get(cfg, keys[d][3]));
		r->on = r->bw.on || r->ops.on;
		r->last_ns = now_ns();
	}
	if (!np->rate[0].on && !np->rate[1].on)
		return 0;
	np->rfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (np->rfd < 0)
		return msb_err_sys(err, errno, "rate limiter timer");
	{
		uint32_t cur = 0;
		np_epoll(np, np->rfd, NP_TAG(NP_T_RATE, 0), &cur, EPOLLIN);
	}
	return 0;
}

void np_rate_free(struct netproxy *np)
{
	if (np->rfd >= 0)
		close(np->rfd);
	np->rfd = -1;
}

static void refill(struct np_rate *r)
{
	uint64_t now = now_ns(), dt = now - r->last_ns;

	r->last_ns = now;
	for (int k = 0; k < 2; k++) {
		struct np_bucket *b = k ? &r->ops : &r->bw;
		if (!b->on)
			continue;
		b->tokens += (double)dt * (double)b->size / ((double)b->interval_ms * 1e6);
		if (b->tokens > (double)b->size)
			b->tokens = (double)b->size;
	}
}

/* Tokens of @b available now (burst first). */
static double avail(const struct np_bucket *b)
{
	return (double)b->burst + (b->tokens > 0 ? b->tokens : 0);
}

/* Nanoseconds until @b holds @want tokens again (0 if it does). */
static uint64_t wait_ns(const struct np_bucket *b, double want)
{
	double have = avail(b);
	if (have >= want)
		return 0;
	return (uint64_t)((want - have) * (double)b->interval_ms * 1e6 / (double)b->size) + 1;
}

static void arm(struct netproxy *np, uint64_t ns)
{
	struct itimerspec its = {0};

	if (np->rate_armed)
		return;
	if (ns < 1000000)
		ns = 1000000; /* at most one wake-up per millisecond */
	its.it_value.tv_sec = (time_t)(ns / 1000000000ull);
	its.it_value.tv_nsec = (long)(ns % 1000000000ull);
	if (timerfd_settime(np->rfd, 0, &its, NULL) == 0)
		np->rate_armed = true;
}

size_t np_rate_room(struct netproxy *np, struct np_flow *f, int d, size_t room)
{
	struct np_rate *r = &np->rate[d];
	double can = (double)room;
	uint64_t w = 0;

	refill(r);
	if (r->bw.on) {
		double a = avail(&r->bw), want = r->bw.size < RATE_QUANTUM ? (double)r->bw.size : RATE_QUANTUM;
		if (a < want)
			w = wait_ns(&r->bw, want);
		else if (a < can)
			can = a;
	}
	if (r->ops.on) {
		double a = (double)(uint64_t)avail(&r->ops);
		if (a < 1) {
			uint64_t w2 = wait_ns(&r->ops, 1);
			w = w2 > w ? w2 : w;
		} else if (a * NP_RATE_SEG < can) {
			can = a * NP_RATE_SEG;
		}
	}
	if (w) {
		f->throttled[d] = true;
		arm(np, w);
		return 0;
	}
	return (size_t)can;
}

static void charge(struct np_bucket *b, double n)
{
	double from_burst = n < (double)b->burst ? n : (double)b->burst;

	b->burst -= (uint64_t)from_burst;
	b->tokens -= n - from_burst; /* may go below zero by rounding: the debt is waited off */
}

void np_rate_take(struct netproxy *np, int d, size_t n)
{
	struct np_rate *r = &np->rate[d];

	if (r->bw.on)
		charge(&r->bw, (double)n);
	if (r->ops.on)
		charge(&r->ops, (double)((n + NP_RATE_SEG - 1) / NP_RATE_SEG));
}

void np_rate_tick(struct netproxy *np)
{
	uint64_t exp;

	while (read(np->rfd, &exp, sizeof(exp)) == sizeof(exp))
		;
	np->rate_armed = false;
	for (int i = 0; i < (int)np->flows_init; i++) {
		struct np_flow *f = &np->flows[i];
		if (f->kind != NP_FLOW_SPLICE || (!f->throttled[0] && !f->throttled[1]))
			continue;
		f->throttled[0] = f->throttled[1] = false;
		np_relay(np, i);
	}
}
