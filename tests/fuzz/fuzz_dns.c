// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_dns.c - libFuzzer target for the DNS parser and builder
 * (src/lib/net/dns.c).
 *
 * Each input is fed to both parsers as a whole message, split into DNS over
 * TCP frames, and read as name text. Whatever parses is pushed through the
 * builders and the result parsed again, and the invariants dns.h promises
 * are checked (names round-trip between text and wire, indexes stay in
 * range, replies echo what they must); a broken invariant aborts so the
 * fuzzer reports it. Seeds live in tests/fuzz/corpus/dns/.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc/lib \
 *        tests/fuzz/fuzz_dns.c src/lib/net/dns.c -o fuzz_dns
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                          \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "fuzz_dns: invariant failed at %s:%d: %s\n", __FILE__, __LINE__,     \
			        #cond);                                                                      \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

static struct dns_query q;
static struct dns_response r, r2;
static uint8_t out[DNS_MSG_MAX];

static void check_err(int rc)
{
	CHECK(rc <= 0 && rc > -DNS_E_COUNT);
	CHECK(dns_strerror(rc) != NULL);
}

/* The text of a name encodes back to its wire form with letters lowercased. */
static void check_name(const char *text, size_t text_len, const uint8_t *wire, size_t wire_len)
{
	uint8_t w[DNS_NAME_WIRE_MAX];
	int wl;

	CHECK(strlen(text) == text_len && text_len < DNS_NAME_TEXT_MAX);
	CHECK(text_len == 0 || text[text_len - 1] != '.' || (text_len >= 2 && text[text_len - 2] == '\\'));
	CHECK(dns_name_eq(text, text));
	CHECK(dns_name_in_zone(text, text));
	CHECK(dns_name_in_zone(text, ""));
	wl = dns_name_to_wire(text, w, sizeof(w));
	CHECK(wl > 0);
	if (!wire)
		return;
	CHECK((size_t)wl == wire_len && wire_len <= DNS_NAME_WIRE_MAX && wire[wire_len - 1] == 0);
	for (size_t i = 0; i < wire_len; i++) {
		uint8_t b = wire[i];

		if (b >= 'A' && b <= 'Z')
			b = (uint8_t)(b - 'A' + 'a');
		/* length octets are below 'A', so lowercasing never touches them */
		CHECK(w[i] == b);
	}
}

static void check_response(const struct dns_response *p)
{
	CHECK(p->n_addrs <= DNS_MAX_ADDRS && p->n_cnames <= DNS_MAX_CNAMES && p->n_names <= DNS_MAX_NAMES);
	CHECK(p->pool_used <= DNS_NAME_POOL);
	for (size_t i = 0; i < p->n_names; i++) {
		const struct dns_name_ref *n = &p->names[i];
		const char *t = dns_response_name(p, (uint16_t)i);

		CHECK((size_t)n->off + n->len < p->pool_used && t[n->len] == '\0');
		check_name(t, n->len, NULL, 0);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(t, dns_response_name(p, (uint16_t)j)) != 0);
	}
	if (p->has_question) {
		check_name(p->question.name, p->question.name_len, p->question.wire, p->question.wire_len);
		CHECK(p->n_names >= 1 && strcmp(dns_response_name(p, 0), p->question.name) == 0);
	}
	for (size_t i = 0; i < p->n_addrs; i++) {
		const struct dns_addr *a = &p->addrs[i];

		CHECK(a->owner < p->n_names);
		CHECK(a->ip.family == AF_INET || a->ip.family == AF_INET6);
		CHECK(a->section >= DNS_SECTION_ANSWER && a->section <= DNS_SECTION_ADDITIONAL);
		CHECK(!a->in_chain || (a->section == DNS_SECTION_ANSWER && p->names[a->owner].in_chain));
		CHECK(a->chain_ttl <= a->ttl && a->ttl <= DNS_TTL_MAX);
	}
	for (size_t i = 0; i < p->n_cnames; i++)
		CHECK(p->cnames[i].owner < p->n_names && p->cnames[i].target < p->n_names);
	CHECK(p->rcode == (p->hdr.rcode | p->edns.ext_rcode << 4));
}

/* Replies built for a query read back as responses that echo it. */
static void check_builders(const struct dns_query *qq)
{
	static const unsigned rcodes[] = {DNS_RCODE_NXDOMAIN, DNS_RCODE_REFUSED, DNS_RCODE_SERVFAIL,
	                                  DNS_RCODE_NOTIMP, DNS_RCODE_FORMERR};
	int len, rc;

	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++) {
		len = dns_build_error(qq, rcodes[i], out, sizeof(out));
		CHECK(len >= DNS_HEADER_LEN);
		CHECK(dns_build_error(qq, rcodes[i], out, (size_t)len - 1) == -DNS_E_NOSPACE);
		len = dns_build_error(qq, rcodes[i], out, sizeof(out));
		rc = dns_parse_response(out, (size_t)len, &r2);
		CHECK(r2.hdr.id == qq->hdr.id && (r2.hdr.flags & DNS_FLAG_QR) &&
		      (r2.hdr.flags & DNS_FLAG_RA));
		CHECK((r2.hdr.flags & DNS_FLAG_RD) == (qq->hdr.flags & DNS_FLAG_RD));
		CHECK(r2.hdr.opcode == qq->hdr.opcode && r2.hdr.rcode == rcodes[i]);
		if (qq->hdr.opcode != DNS_OPCODE_QUERY) {
			CHECK(rc == -DNS_E_OPCODE);
			continue;
		}
		CHECK(rc == 0);
		check_response(&r2);
		CHECK(r2.has_question == qq->has_question);
		CHECK(!qq->has_question || dns_question_eq(&r2.question, &qq->question));
		CHECK(!qq->has_question ||
		      memcmp(r2.question.wire, qq->question.wire, qq->question.wire_len) == 0);
	}

	len = dns_build_truncated(qq, out, sizeof(out));
	CHECK(len == DNS_HEADER_LEN);
	if (qq->hdr.opcode == DNS_OPCODE_QUERY) {
		CHECK(dns_parse_response(out, (size_t)len, &r2) == 0);
		CHECK((r2.hdr.flags & DNS_FLAG_TC) && !r2.has_question && r2.hdr.id == qq->hdr.id);
	}

	if (qq->has_question && qq->hdr.opcode == DNS_OPCODE_QUERY && qq->question.qclass == DNS_CLASS_IN &&
	    (qq->question.qtype == DNS_TYPE_A || qq->question.qtype == DNS_TYPE_AAAA)) {
		static const struct dns_ip ips[] = {
		    {.family = AF_INET, .addr = {172, 16, 0, 1}},
		    {.family = AF_INET6, .addr = {0xfd, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
		    {.family = AF_INET, .addr = {127, 0, 0, 1}},
		};
		size_t want = qq->question.qtype == DNS_TYPE_A ? 2 : 1;

		len = dns_build_answer(qq, ips, 3, 60, out, sizeof(out));
		CHECK(len > 0);
		CHECK(dns_parse_response(out, (size_t)len, &r2) == 0);
		check_response(&r2);
		CHECK(r2.n_addrs == want && (r2.hdr.flags & DNS_FLAG_AA) && r2.rcode == 0);
		for (size_t i = 0; i < r2.n_addrs; i++)
			CHECK(r2.addrs[i].in_chain && r2.addrs[i].chain_ttl == 60 && r2.addrs[i].owner == 0);
		CHECK(dns_question_eq(&r2.question, &qq->question));
	} else {
		CHECK(dns_build_answer(qq, NULL, 0, 60, out, sizeof(out)) == -DNS_E_INVALID);
	}
}

static void fuzz_query(const uint8_t *data, size_t size)
{
	int rc = dns_parse_query(data, size, &q);

	check_err(rc);
	if (rc == 0) {
		CHECK(q.has_question && q.hdr.qdcount == 1 && q.hdr.opcode == DNS_OPCODE_QUERY);
		CHECK(dns_query_udp_limit(&q) >= DNS_UDP_MIN);
		check_name(q.question.name, q.question.name_len, q.question.wire, q.question.wire_len);
	}
	if (q.has_question)
		check_name(q.question.name, q.question.name_len, q.question.wire, q.question.wire_len);
	if (rc == 0 || dns_err_rcode(rc) >= 0)
		check_builders(&q);
	/* rebuilding the question as a fresh query parses to the same question */
	if (rc == 0) {
		struct dns_question first = q.question;
		int len = dns_build_query(q.hdr.id, first.name, first.qtype, true, out, sizeof(out));

		CHECK(len > 0);
		if (first.qclass == DNS_CLASS_IN) {
			CHECK(dns_parse_query(out, (size_t)len, &q) == 0);
			CHECK(dns_question_eq(&q.question, &first));
		}
	}
}

static void fuzz_response(const uint8_t *data, size_t size)
{
	int rc = dns_parse_response(data, size, &r);

	check_err(rc);
	if (rc == 0)
		check_response(&r);
}

static void fuzz_tcp(const uint8_t *data, size_t size)
{
	const uint8_t *msg;
	size_t mlen;
	int n;

	while ((n = dns_tcp_frame(data, size, DNS_MSG_MAX, &msg, &mlen)) > 0) {
		CHECK((size_t)n == mlen + 2 && (size_t)n <= size && msg == data + 2);
		fuzz_query(msg, mlen);
		fuzz_response(msg, mlen);
		data += n;
		size -= (size_t)n;
	}
	check_err(n);
}

/* Treat the input as name text: whatever encodes must parse back canonically. */
static void fuzz_text(const uint8_t *data, size_t size)
{
	char text[2048];
	uint8_t wire[DNS_NAME_WIRE_MAX];
	int wl, len;

	if (size >= sizeof(text))
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	(void)dns_name_eq(text, "example.com");
	(void)dns_name_in_zone(text, "example.com");
	(void)dns_name_in_zone("a.example.com", text);
	wl = dns_name_to_wire(text, wire, sizeof(wire));
	check_err(wl < 0 ? wl : 0);
	if (wl < 0)
		return;
	len = dns_build_query(0x1234, text, DNS_TYPE_A, false, out, sizeof(out));
	CHECK(len == DNS_HEADER_LEN + wl + 4);
	CHECK(dns_parse_query(out, (size_t)len, &q) == 0);
	CHECK(q.question.wire_len == (size_t)wl && memcmp(q.question.wire, wire, (size_t)wl) == 0);
	check_name(q.question.name, q.question.name_len, q.question.wire, q.question.wire_len);
	/* the text form is canonical: same name, same text, wherever it came from */
	CHECK(dns_name_in_zone(q.question.name, q.question.name));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	fuzz_query(data, size);
	fuzz_response(data, size);
	fuzz_tcp(data, size);
	fuzz_text(data, size);

	/* rewriting the id changes nothing else */
	if (size >= DNS_HEADER_LEN && size <= DNS_MSG_MAX) {
		int a = dns_parse_response(data, size, &r), b;

		copy = malloc(size);
		if (!copy)
			abort();
		memcpy(copy, data, size);
		CHECK(dns_set_id(copy, size, (uint16_t)~r.hdr.id) == 0);
		b = dns_parse_response(copy, size, &r2);
		CHECK(a == b && r2.hdr.id == (uint16_t)~r.hdr.id);
		free(copy);
	}
	return 0;
}
