// SPDX-License-Identifier: Apache-2.0
/*
 * test_dns.c - unit tests for the DNS parser and builder (src/lib/net/dns.c).
 *
 * Valid queries and responses are written out byte by byte, with compression,
 * so the tests do not depend on our own builder being right; variations
 * (long names, many records, bad pointers) come from a tiny message writer
 * below. Every rejection dns.h documents has a case, every prefix of each
 * valid message must be rejected without crashing, and the builders'
 * output is read back through the parsers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/dns.h"
#include "tap.h"

/* ---- a minimal message writer for the variations ------------------------------------ */

struct mb {
	uint8_t b[70000];
	size_t n;
};

static void mb_bytes(struct mb *m, const void *p, size_t n)
{
	if (m->n + n > sizeof(m->b))
		abort();
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void mb8(struct mb *m, unsigned v)
{
	uint8_t b = (uint8_t)v;

	mb_bytes(m, &b, 1);
}

static void mb16(struct mb *m, unsigned v)
{
	mb8(m, v >> 8);
	mb8(m, v);
}

static void mb32(struct mb *m, uint32_t v)
{
	mb16(m, v >> 16);
	mb16(m, v & 0xffff);
}

static void mb_hdr(struct mb *m, unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns,
                   unsigned ar)
{
	m->n = 0;
	mb16(m, id);
	mb16(m, flags);
	mb16(m, qd);
	mb16(m, an);
	mb16(m, ns);
	mb16(m, ar);
}

/* Plain dotted name, no escapes, written uncompressed. */
static void mb_name(struct mb *m, const char *s)
{
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);

		mb8(m, (unsigned)n);
		mb_bytes(m, s, n);
		s += n;
		if (*s == '.')
			s++;
	}
	mb8(m, 0);
}

static void mb_ptr(struct mb *m, unsigned off)
{
	mb16(m, 0xc000 | off);
}

/* Fixed part of a record after its owner name. */
static void mb_rr(struct mb *m, unsigned type, unsigned cls, uint32_t ttl, unsigned rdlen)
{
	mb16(m, type);
	mb16(m, cls);
	mb32(m, ttl);
	mb16(m, rdlen);
}

static void mb_question(struct mb *m, const char *name, unsigned qtype)
{
	mb_name(m, name);
	mb16(m, qtype);
	mb16(m, DNS_CLASS_IN);
}

/* A label of @n copies of @c. */
static void mb_label(struct mb *m, size_t n, char c)
{
	mb8(m, (unsigned)n);
	for (size_t i = 0; i < n; i++)
		mb8(m, (unsigned char)c);
}

static struct dns_query q;
static struct dns_response r;
static struct mb m;

/* ---- hand-written messages ------------------------------------------------------------- */

/* The byte arrays are laid out one field per row. */
/* clang-format off */

/* id 0x1234, RD, one question www.Example.COM A IN */
static const uint8_t query_a[] = {
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	3, 'w', 'w', 'w', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'C', 'O', 'M', 0,
	0x00, 0x01, 0x00, 0x01,
};

/* id 0xbeef, RD+AD, example.org AAAA IN, OPT: payload 4096, DO, version 0 */
static const uint8_t query_edns[] = {
	0xbe, 0xef, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0,
	0x00, 0x1c, 0x00, 0x01,
	0, 0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
};

/*
 * A response with compression everywhere. Offsets: question name at 12
 * ("example.com" at 16); answers from 33.
 *   33 www.example.com CNAME cdn.example.com    (owner C00C, target "cdn"+C010 at 45)
 *   51 cdn.example.com A 192.0.2.1   ttl 60     (owner C02D)
 *   67 cdn.example.com A 10.0.0.5    ttl 120    (owner C02D)
 *   83 other.example.com AAAA 2001:db8::1       (owner "other"+C010, not in the chain)
 *  117 www.example.com TXT "hello"              (skipped)
 * authority
 *  135 example.com SOA ns.example.com example.com ...   (skipped)
 * additional
 *  174 OPT payload 1232
 * end 185
 */
static const uint8_t response_chain[] = {
	/* header: id 0x1234, QR RD RA, qd 1, an 5, ns 1, ar 1 */
	0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x05, 0x00, 0x01, 0x00, 0x01,
	/* 12: question */
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0x00, 0x01, 0x00, 0x01,
	/* 33: CNAME, ttl 300, rdlen 6 */
	0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x06,
	/* 45: */ 3, 'c', 'd', 'n', 0xc0, 0x10,
	/* 51: A ttl 60 */
	0xc0, 0x2d, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 192, 0, 2, 1,
	/* 67: A ttl 120 */
	0xc0, 0x2d, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x04, 10, 0, 0, 5,
	/* 83: AAAA ttl 30 */
	5, 'o', 't', 'h', 'e', 'r', 0xc0, 0x10, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x1e, 0x00, 0x10,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	/* 117: TXT ttl 5 */
	0xc0, 0x0c, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x06, 5, 'h', 'e', 'l', 'l', 'o',
	/* 135: SOA ttl 3600, rdlen 27 */
	0xc0, 0x10, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x1b,
	2, 'n', 's', 0xc0, 0x10, 0xc0, 0x10,
	0, 0, 0, 1, 0, 0, 0x0e, 0x10, 0, 0, 0x03, 0x84, 0, 0x09, 0x3a, 0x80, 0, 0, 0x01, 0x2c,
	/* 174: OPT */
	0, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* clang-format on */

/* ---- queries ---------------------------------------------------------------------------- */

static void test_query_valid(void)
{
	int rc = dns_parse_query(query_a, sizeof(query_a), &q);

	is_int(rc, 0, "query: parses");
	is_int(q.hdr.id, 0x1234, "query: id");
	ok(q.hdr.flags & DNS_FLAG_RD, "query: RD");
	is_int(q.hdr.opcode, DNS_OPCODE_QUERY, "query: opcode");
	is_int(q.hdr.qdcount, 1, "query: qdcount");
	ok(q.has_question, "query: has question");
	is_str(q.question.name, "www.example.com", "query: name lowercased, no trailing dot");
	is_int(q.question.name_len, 15, "query: name_len");
	is_int(q.question.qtype, DNS_TYPE_A, "query: qtype");
	is_int(q.question.qclass, DNS_CLASS_IN, "query: qclass");
	is_int(q.question.wire_len, 17, "query: wire length");
	ok(memcmp(q.question.wire, query_a + 12, 17) == 0, "query: wire keeps the original case");
	ok(!q.edns.present, "query: no EDNS");
	is_int(dns_query_udp_limit(&q), 512, "query: UDP limit 512 without EDNS");

	rc = dns_parse_query(query_edns, sizeof(query_edns), &q);
	is_int(rc, 0, "query+OPT: parses");
	is_str(q.question.name, "example.org", "query+OPT: name");
	is_int(q.question.qtype, DNS_TYPE_AAAA, "query+OPT: qtype AAAA");
	ok(q.edns.present, "query+OPT: EDNS present");
	is_int(q.edns.udp_size, 4096, "query+OPT: payload size");
	ok(q.edns.dnssec_ok, "query+OPT: DO bit");
	is_int(q.edns.version, 0, "query+OPT: version");
	is_int(dns_query_udp_limit(&q), 4096, "query+OPT: UDP limit from OPT");

	/* a tiny advertised payload is clamped up */
	memcpy(m.b, query_edns, sizeof(query_edns));
	m.n = sizeof(query_edns);
	m.b[32] = 0x00;
	m.b[33] = 0x64;
	is_int(dns_parse_query(m.b, m.n, &q), 0, "query+OPT 100: parses");
	is_int(dns_query_udp_limit(&q), 512, "query+OPT 100: UDP limit clamped to 512");

	/* root name */
	mb_hdr(&m, 7, 0, 1, 0, 0, 0);
	mb8(&m, 0);
	mb16(&m, DNS_TYPE_NS);
	mb16(&m, DNS_CLASS_IN);
	is_int(dns_parse_query(m.b, m.n, &q), 0, "root query: parses");
	is_str(q.question.name, "", "root query: name is empty text");
	is_int(q.question.wire_len, 1, "root query: wire is one octet");

	/* a query carrying an answer-section record is still a query */
	mb_hdr(&m, 7, 0, 1, 1, 0, 0);
	mb_question(&m, "a.example", DNS_TYPE_SOA);
	mb_ptr(&m, 12);
	mb_rr(&m, DNS_TYPE_SOA, DNS_CLASS_IN, 0, 0);
	is_int(dns_parse_query(m.b, m.n, &q), 0, "query with an answer record: parses");
}

static void test_query_text(void)
{
	/* labels: "A.b", "\\", " ", "\0", "\xff", "x_Y-9*" */
	mb_hdr(&m, 1, 0, 1, 0, 0, 0);
	mb8(&m, 3);
	mb_bytes(&m, "A.b", 3);
	mb8(&m, 1);
	mb8(&m, '\\');
	mb8(&m, 1);
	mb8(&m, ' ');
	mb8(&m, 1);
	mb8(&m, 0);
	mb8(&m, 1);
	mb8(&m, 0xff);
	mb8(&m, 6);
	mb_bytes(&m, "x_Y-9*", 6);
	mb8(&m, 0);
	mb16(&m, DNS_TYPE_A);
	mb16(&m, DNS_CLASS_IN);
	is_int(dns_parse_query(m.b, m.n, &q), 0, "escapes: parses");
	is_str(q.question.name, "a\\.b.\\\\.\\032.\\000.\\255.x_y-9*", "escapes: text is unambiguous");

	uint8_t wire[DNS_NAME_WIRE_MAX];
	int wl = dns_name_to_wire(q.question.name, wire, sizeof(wire));

	is_int(wl, q.question.wire_len, "escapes: text encodes back to the same length");
	for (size_t i = 12; i < m.n; i++) /* the parser lowercased letters */
		if (m.b[i] >= 'A' && m.b[i] <= 'Z')
			m.b[i] = (uint8_t)(m.b[i] - 'A' + 'a');
	ok(wl > 0 && memcmp(wire, m.b + 12, (size_t)wl) == 0,
	   "escapes: text encodes back to the lowercased wire");
	ok(!dns_name_in_zone(q.question.name, "b"), "escapes: escaped dot is no label boundary");
}

static void test_query_rejects(void)
{
	uint8_t big[DNS_QUERY_MAX + 1];
	int rc;

	for (size_t n = 0; n < DNS_HEADER_LEN; n++)
		is_int(dns_parse_query(query_a, n, &q), -DNS_E_TRUNCATED, "query of %zu bytes: truncated", n);

	memset(big, 0, sizeof(big));
	memcpy(big, query_a, sizeof(query_a));
	is_int(dns_parse_query(big, sizeof(big), &q), -DNS_E_TOOBIG, "query over DNS_QUERY_MAX: too big");
	is_int(dns_err_rcode(-DNS_E_TOOBIG), -1, "too big: dropped");

	memcpy(m.b, query_a, sizeof(query_a));
	m.n = sizeof(query_a);
	m.b[2] |= 0x80;
	is_int(dns_parse_query(m.b, m.n, &q), -DNS_E_QR, "QR set: not a query");
	is_int(dns_err_rcode(-DNS_E_QR), -1, "QR set: dropped");

	static const unsigned opcodes[] = {DNS_OPCODE_IQUERY, DNS_OPCODE_STATUS, 3,
	                                   DNS_OPCODE_NOTIFY, DNS_OPCODE_UPDATE, 15};
	for (size_t i = 0; i < sizeof(opcodes) / sizeof(opcodes[0]); i++) {
		memcpy(m.b, query_a, sizeof(query_a));
		m.b[2] = (uint8_t)(opcodes[i] << 3 | 0x01);
		rc = dns_parse_query(m.b, m.n, &q);
		is_int(rc, -DNS_E_OPCODE, "opcode %u: refused", opcodes[i]);
		is_int(dns_err_rcode(rc), DNS_RCODE_NOTIMP, "opcode %u: answer NOTIMP", opcodes[i]);
		is_int(q.hdr.opcode, opcodes[i], "opcode %u: reported", opcodes[i]);
		ok(q.has_question, "opcode %u: question still read for the echo", opcodes[i]);
	}
	mb_hdr(&m, 9, DNS_OPCODE_UPDATE << 11, 0, 0, 0, 0);
	is_int(dns_parse_query(m.b, m.n, &q), -DNS_E_OPCODE, "UPDATE without question: refused");
	ok(!q.has_question, "UPDATE without question: no question");

	mb_hdr(&m, 0x4242, 0x0100, 0, 0, 0, 0);
	rc = dns_parse_query(m.b, m.n, &q);
	is_int(rc, -DNS_E_QDCOUNT, "qdcount 0: refused");
	is_int(dns_err_rcode(rc), DNS_RCODE_FORMERR, "qdcount 0: answer FORMERR");
	is_int(q.hdr.id, 0x4242, "qdcount 0: header still read");
	ok(!q.has_question, "qdcount 0: no question");

	mb_hdr(&m, 0x4243, 0x0100, 2, 0, 0, 0);
	mb_question(&m, "a.example", DNS_TYPE_A);
	mb_question(&m, "b.example", DNS_TYPE_A);
	rc = dns_parse_query(m.b, m.n, &q);
	is_int(rc, -DNS_E_QDCOUNT, "qdcount 2: refused");
	is_int(dns_err_rcode(rc), DNS_RCODE_FORMERR, "qdcount 2: answer FORMERR");

	/* label lengths: 63 fine, 64 and 0x80 are reserved label types */
	mb_hdr(&m, 1, 0, 1, 0, 0, 0);
	mb_label(&m, 63, 'a');
	mb8(&m, 0);
	mb16(&m, 1);
	mb16(&m, 1);
	is_int(dns_parse_query(m.b, m.n, &q), 0, "label of 63: accepted");
	is_int(q.question.name_len, 63, "label of 63: text length");
	m.b[12] = 64;
	is_int(dns_parse_query(m.b, m.n, &q), -DNS_E_LABEL, "label of 64: refused");
	m.b[12] = 0x80;
	is_int(dns_parse_query(m.b, m.n, &q), -DNS_E_LABEL, "label type 0x80: refused");
	m.b[12] = 0x7f;
	is_int(dns_parse_query(m.b, m.n, &q), -DNS_E_LABEL, "label of 127: refused");

	/* name length: 3*64 + 62 + 1 = 255 octets fine, 256 refused */
	mb_hdr(&m, 1, 0, 1, 0, 0, 0);
	for (int i = 0; i < 3; i++)
		mb_label(&m, 63, 'a' + (char)i);
	mb_label(&m, 61, 'd');
	mb8(&m, 0);
	mb16(&m, 1);
	mb16(&m, 1);
	is_int(dns_parse_query(m.b, m.n, &q), 0, "name of 255 octets: accepted");
	is_int(q.question.wire_len, 255, "name of 255 octets: wire length");
	is_int(q.question.name_len, 253, "name of 255 octets: text length");
	mb_hdr(&m, 1, 0, 1, 0, 0, 0);
	for (int i = 0; i < 3; i++)
		mb_label(&m, 63, 'a');
	mb_label(&m, 62, 'd');
	mb8(&m, 0);
	mb16(&m, 1);
	mb16(&m, 1);
	is_int(dns_parse_query(m.b, m.n, &q), -DNS_E_NAMELEN, "name of 256 octets: refused");
	mb_hdr(&m, 1, 0, 1, 0, 0, 0);
	for (int i = 0; i < 130; i++)
		mb_label(&m, 1, 'x');
	mb8(&m, 0);
	mb16(&m, 1);
	mb16(&m, 1);
	is_int(dns_parse_query(m.b, m.n, &q), -DNS_E_NAMELEN, "130 one-octet labels: refused");

	/* compression pointers in the question: nothing valid to point at */
	static const struct {
		const char *what;
		uint8_t name[6];
		size_t n;
	} ptrs[] = {
	    {"pointer into the header", {0xc0, 0x00}, 2},
	    {"pointer to itself", {0xc0, 0x0c}, 2},
	    {"forward pointer", {0xc0, 0x0e, 0x01, 'a', 0x00}, 5},
	    {"pointer past the end", {0xc0, 0xff}, 2},
	    {"pointer 0x3fff", {0xff, 0xff}, 2},
	    {"label then pointer back to the name", {0x01, 'a', 0xc0, 0x0c}, 4},
	    {"label then pointer to itself", {0x01, 'a', 0xc0, 0x0e}, 4},
	};
	for (size_t i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++) {
		mb_hdr(&m, 1, 0, 1, 0, 0, 0);
		mb_bytes(&m, ptrs[i].name, ptrs[i].n);
		mb16(&m, 1);
		mb16(&m, 1);
		rc = dns_parse_query(m.b, m.n, &q);
		is_int(rc, -DNS_E_POINTER, "question with %s: refused", ptrs[i].what);
		is_int(dns_err_rcode(rc), -1, "question with %s: dropped", ptrs[i].what);
	}
	mb_hdr(&m, 1, 0, 1, 0, 0, 0);
	mb8(&m, 0xc0);
	is_int(dns_parse_query(m.b, m.n, &q), -DNS_E_TRUNCATED, "half a pointer: truncated");

	memcpy(m.b, query_a, sizeof(query_a));
	m.n = sizeof(query_a);
	mb8(&m, 0);
	is_int(dns_parse_query(m.b, m.n, &q), -DNS_E_TRAILING, "trailing byte: refused");

	/* OPT rules */
	mb_hdr(&m, 1, 0, 1, 0, 0, 2);
	mb_question(&m, "a.example", DNS_TYPE_A);
	mb8(&m, 0);
	mb_rr(&m, DNS_TYPE_OPT, 1232, 0, 0);
	mb8(&m, 0);
	mb_rr(&m, DNS_TYPE_OPT, 1232, 0, 0);
	rc = dns_parse_query(m.b, m.n, &q);
	is_int(rc, -DNS_E_OPT, "two OPT records: refused");
	is_int(dns_err_rcode(rc), DNS_RCODE_FORMERR, "two OPT records: answer FORMERR");
	ok(q.has_question, "two OPT records: question known for the FORMERR echo");

	mb_hdr(&m, 1, 0, 1, 0, 0, 1);
	mb_question(&m, "a.example", DNS_TYPE_A);
	mb_ptr(&m, 12);
	mb_rr(&m, DNS_TYPE_OPT, 1232, 0, 0);
	is_int(dns_parse_query(m.b, m.n, &q), -DNS_E_OPT, "OPT not owned by root: refused");

	mb_hdr(&m, 1, 0, 1, 1, 0, 0);
	mb_question(&m, "a.example", DNS_TYPE_A);
	mb8(&m, 0);
	mb_rr(&m, DNS_TYPE_OPT, 1232, 0, 0);
	is_int(dns_parse_query(m.b, m.n, &q), -DNS_E_OPT, "OPT in the answer section: refused");

	mb_hdr(&m, 1, 0, 1, 0, 0, 1);
	mb_question(&m, "a.example", DNS_TYPE_A);
	mb8(&m, 0);
	mb_rr(&m, DNS_TYPE_OPT, 1232, 0, 4);
	mb16(&m, 10);
	is_int(dns_parse_query(m.b, m.n, &q), -DNS_E_TRUNCATED, "OPT data past the end: truncated");

	mb_hdr(&m, 1, 0, 1, 0, 0, 3);
	mb_question(&m, "a.example", DNS_TYPE_A);
	mb8(&m, 0);
	mb_rr(&m, DNS_TYPE_OPT, 1232, 0, 0);
	is_int(dns_parse_query(m.b, m.n, &q), -DNS_E_TRUNCATED, "arcount beyond the records: truncated");

	mb_hdr(&m, 1, 0, 1, 0xffff, 0xffff, 0xffff);
	mb_question(&m, "a.example", DNS_TYPE_A);
	is_int(dns_parse_query(m.b, m.n, &q), -DNS_E_TRUNCATED, "huge counts, no records: truncated");
}

/* Every proper prefix of a valid message is rejected. */
static void prefixes_query(const uint8_t *msg, size_t len, const char *what)
{
	size_t bad = 0;

	for (size_t n = 0; n < len; n++) {
		uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees any overread */

		memcpy(copy, msg, n);
		if (dns_parse_query(copy, n, &q) >= 0)
			bad++;
		free(copy);
	}
	is_int(bad, 0, "%s: all %zu truncations rejected", what, len);
}

static void prefixes_response(const uint8_t *msg, size_t len, const char *what)
{
	size_t bad = 0;

	for (size_t n = 0; n < len; n++) {
		uint8_t *copy = malloc(n ? n : 1);

		memcpy(copy, msg, n);
		if (dns_parse_response(copy, n, &r) >= 0)
			bad++;
		free(copy);
	}
	is_int(bad, 0, "%s: all %zu truncations rejected", what, len);
}

/* ---- responses ----------------------------------------------------------------------------- */

static const struct dns_addr *find_addr(const uint8_t *ip, size_t n)
{
	for (size_t i = 0; i < r.n_addrs; i++)
		if (memcmp(r.addrs[i].ip.addr, ip, n) == 0)
			return &r.addrs[i];
	return NULL;
}

static void test_response_valid(void)
{
	static const uint8_t ip1[4] = {192, 0, 2, 1}, ip2[4] = {10, 0, 0, 5};
	static const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	const struct dns_addr *a;
	int rc = dns_parse_response(response_chain, sizeof(response_chain), &r);

	is_int(sizeof(response_chain), 185, "response fixture is 185 bytes");
	is_int(rc, 0, "response: parses (%s)", dns_strerror(rc));
	is_int(r.hdr.id, 0x1234, "response: id");
	is_int(r.rcode, DNS_RCODE_NOERROR, "response: rcode");
	ok(r.has_question, "response: question");
	is_str(r.question.name, "www.example.com", "response: qname");
	is_str(dns_response_name(&r, 0), "www.example.com", "response: names[0] is the qname");
	ok(r.edns.present, "response: EDNS");
	is_int(r.edns.udp_size, 1232, "response: EDNS payload");
	is_int(r.n_cnames, 1, "response: one CNAME");
	is_str(dns_response_name(&r, r.cnames[0].owner), "www.example.com", "response: CNAME owner");
	is_str(dns_response_name(&r, r.cnames[0].target), "cdn.example.com",
	       "response: CNAME target (compressed)");
	is_int(r.cnames[0].ttl, 300, "response: CNAME ttl");
	is_int(r.n_addrs, 3, "response: three addresses");

	a = find_addr(ip1, 4);
	ok(a != NULL, "response: 192.0.2.1 collected");
	if (a) {
		is_int(a->ip.family, AF_INET, "192.0.2.1: AF_INET");
		is_str(dns_response_name(&r, a->owner), "cdn.example.com", "192.0.2.1: owner");
		is_int(a->ttl, 60, "192.0.2.1: ttl");
		ok(a->in_chain, "192.0.2.1: reached from the qname");
		is_int(a->chain_ttl, 60, "192.0.2.1: chain ttl is the smaller");
		is_int(a->section, DNS_SECTION_ANSWER, "192.0.2.1: answer section");
	}
	a = find_addr(ip2, 4);
	ok(a != NULL, "response: private 10.0.0.5 collected for the rebind check");
	if (a) {
		ok(a->in_chain, "10.0.0.5: in chain");
		is_int(a->chain_ttl, 120, "10.0.0.5: chain ttl");
		is_int(a->owner, r.addrs[0].owner, "10.0.0.5: owner interned once");
	}
	a = find_addr(ip6, 16);
	ok(a != NULL, "response: AAAA collected");
	if (a) {
		is_int(a->ip.family, AF_INET6, "2001:db8::1: AF_INET6");
		is_str(dns_response_name(&r, a->owner), "other.example.com", "2001:db8::1: owner");
		ok(!a->in_chain, "2001:db8::1: unrelated owner is not in the chain");
		is_int(a->ttl, 30, "2001:db8::1: ttl");
	}
	is_str(dns_response_name(&r, 999), "", "out-of-range name index gives \"\"");

	/* the question of a response matches the query that asked it */
	dns_parse_query(query_a, sizeof(query_a), &q);
	ok(dns_question_eq(&q.question, &r.question),
	   "response question equals the query's (case-insensitive)");
	dns_parse_query(query_edns, sizeof(query_edns), &q);
	ok(!dns_question_eq(&q.question, &r.question), "different question differs");

	prefixes_response(response_chain, sizeof(response_chain), "response with chain");
}

static void test_response_chain_cases(void)
{
	int rc;

	/* CNAME loop a -> b -> a, plus an address for b: terminates, b's address in chain */
	mb_hdr(&m, 1, 0x8180, 1, 3, 0, 0);
	mb_question(&m, "a.test", DNS_TYPE_A); /* 12..19 name, 20..23 */
	mb_ptr(&m, 12);
	mb_rr(&m, DNS_TYPE_CNAME, DNS_CLASS_IN, 50, 4);
	size_t b_at = m.n;
	mb8(&m, 1);
	mb8(&m, 'b');
	mb_ptr(&m, 14); /* "test" */
	mb_ptr(&m, (unsigned)b_at);
	mb_rr(&m, DNS_TYPE_CNAME, DNS_CLASS_IN, 40, 2);
	mb_ptr(&m, 12);
	mb_ptr(&m, (unsigned)b_at);
	mb_rr(&m, DNS_TYPE_A, DNS_CLASS_IN, 90, 4);
	mb32(&m, 0xc0000202);
	rc = dns_parse_response(m.b, m.n, &r);
	is_int(rc, 0, "CNAME loop: parses (%s)", dns_strerror(rc));
	is_int(r.n_cnames, 2, "CNAME loop: two CNAMEs");
	ok(r.n_addrs == 1 && r.addrs[0].in_chain, "CNAME loop: address of b in chain");
	is_int(r.addrs[0].chain_ttl, 40, "CNAME loop: chain ttl is the smallest on the way");

	/* chain through two hops; TTL above 2^31-1 reads as 0 */
	mb_hdr(&m, 1, 0x8180, 1, 3, 0, 0);
	mb_question(&m, "q.test", DNS_TYPE_A);
	mb_ptr(&m, 12);
	mb_rr(&m, DNS_TYPE_CNAME, DNS_CLASS_IN, 500, 9);
	mb_name(&m, "x.other");
	size_t x_at = m.n - 9;
	mb_ptr(&m, (unsigned)x_at);
	mb_rr(&m, DNS_TYPE_CNAME, DNS_CLASS_IN, 0x80000000u, 5);
	mb8(&m, 2);
	mb_bytes(&m, "yy", 2);
	mb_ptr(&m, (unsigned)x_at + 2); /* "other" */
	size_t y_at = m.n - 5;
	mb_ptr(&m, (unsigned)y_at);
	mb_rr(&m, DNS_TYPE_A, DNS_CLASS_IN, 70, 4);
	mb32(&m, 0x7f000001);
	rc = dns_parse_response(m.b, m.n, &r);
	is_int(rc, 0, "two-hop chain: parses (%s)", dns_strerror(rc));
	is_str(dns_response_name(&r, r.cnames[1].target), "yy.other", "two-hop chain: second target");
	is_int(r.cnames[1].ttl, 0, "TTL with the top bit set reads as 0");
	ok(r.n_addrs == 1 && r.addrs[0].in_chain, "two-hop chain: 127.0.0.1 in chain");
	is_int(r.addrs[0].chain_ttl, 0, "two-hop chain: chain ttl 0");

	/* addresses outside the answer section are collected but never in chain */
	mb_hdr(&m, 1, 0x8180, 1, 0, 1, 1);
	mb_question(&m, "q.test", DNS_TYPE_NS);
	mb_ptr(&m, 12);
	mb_rr(&m, DNS_TYPE_A, DNS_CLASS_IN, 10, 4);
	mb32(&m, 0x0a000001);
	mb_ptr(&m, 12);
	mb_rr(&m, DNS_TYPE_AAAA, DNS_CLASS_IN, 10, 16);
	mb32(&m, 0xfe800000);
	mb32(&m, 0);
	mb32(&m, 0);
	mb32(&m, 1);
	is_int(dns_parse_response(m.b, m.n, &r), 0, "glue: parses");
	ok(r.n_addrs == 2 && r.addrs[0].section == DNS_SECTION_AUTHORITY &&
	       r.addrs[1].section == DNS_SECTION_ADDITIONAL,
	   "glue: sections recorded");
	ok(!r.addrs[0].in_chain && !r.addrs[1].in_chain, "glue: not in chain");

	/* no question: allowed, nothing is in chain */
	mb_hdr(&m, 1, 0x8182, 0, 1, 0, 0);
	mb_name(&m, "a.test");
	mb_rr(&m, DNS_TYPE_A, DNS_CLASS_IN, 10, 4);
	mb32(&m, 1);
	is_int(dns_parse_response(m.b, m.n, &r), 0, "no question: parses");
	ok(!r.has_question && r.n_addrs == 1 && !r.addrs[0].in_chain,
	   "no question: address kept, not in chain");
	is_int(r.rcode, DNS_RCODE_SERVFAIL, "no question: rcode");

	/* class CH "A" of odd size is not an address and is skipped */
	mb_hdr(&m, 1, 0x8180, 1, 1, 0, 0);
	mb_question(&m, "q.test", DNS_TYPE_A);
	mb_ptr(&m, 12);
	mb_rr(&m, DNS_TYPE_A, 3, 10, 5);
	mb_bytes(&m, "abcde", 5);
	is_int(dns_parse_response(m.b, m.n, &r), 0, "CH A: skipped");
	is_int(r.n_addrs, 0, "CH A: no address");

	/* extended rcode from OPT */
	mb_hdr(&m, 1, 0x8180, 1, 0, 0, 1);
	mb_question(&m, "q.test", DNS_TYPE_A);
	mb8(&m, 0);
	mb_rr(&m, DNS_TYPE_OPT, 1232, 0x01000000, 0);
	is_int(dns_parse_response(m.b, m.n, &r), 0, "BADVERS: parses");
	is_int(r.rcode, 16, "BADVERS: 12-bit rcode");

	/* exactly DNS_MAX_ADDRS addresses fit; one more is refused, not cut */
	for (int extra = 0; extra < 2; extra++) {
		unsigned n = DNS_MAX_ADDRS + (unsigned)extra;

		mb_hdr(&m, 1, 0x8180, 1, n, 0, 0);
		mb_question(&m, "many.test", DNS_TYPE_A);
		for (unsigned i = 0; i < n; i++) {
			mb_ptr(&m, 12);
			mb_rr(&m, DNS_TYPE_A, DNS_CLASS_IN, 10, 4);
			mb32(&m, 0x0a000000 + i);
		}
		rc = dns_parse_response(m.b, m.n, &r);
		if (extra) {
			is_int(rc, -DNS_E_LIMIT, "%u addresses: refused", n);
		} else {
			is_int(rc, 0, "%u addresses: accepted", n);
			is_int(r.n_names, 1, "%u addresses: one interned name", n);
		}
	}
	for (int extra = 0; extra < 2; extra++) {
		unsigned n = DNS_MAX_CNAMES + (unsigned)extra;

		mb_hdr(&m, 1, 0x8180, 1, n, 0, 0);
		mb_question(&m, "c.test", DNS_TYPE_A);
		for (unsigned i = 0; i < n; i++) {
			mb_ptr(&m, 12);
			mb_rr(&m, DNS_TYPE_CNAME, DNS_CLASS_IN, 10, 4);
			mb8(&m, 1);
			mb8(&m, 'a' + i % 26);
			mb_ptr(&m, 14);
		}
		rc = dns_parse_response(m.b, m.n, &r);
		is_int(rc, extra ? -DNS_E_LIMIT : 0, "%u CNAMEs: %s", n, extra ? "refused" : "accepted");
	}
	/* many distinct long names exhaust the text pool: refused */
	mb_hdr(&m, 1, 0x8180, 1, DNS_MAX_ADDRS, 0, 0);
	mb_question(&m, "p.test", DNS_TYPE_A);
	for (unsigned i = 0; i < DNS_MAX_ADDRS; i++) {
		mb_label(&m, 60, (char)('a' + i % 26));
		mb_label(&m, 60, (char)('a' + i / 26));
		mb_label(&m, 60, 'z');
		mb8(&m, 0);
		mb_rr(&m, DNS_TYPE_A, DNS_CLASS_IN, 10, 4);
		mb32(&m, i);
	}
	is_int(dns_parse_response(m.b, m.n, &r), -DNS_E_LIMIT, "name pool exhausted: refused");
}

static void test_response_rejects(void)
{
	int rc;

	for (size_t n = 0; n < DNS_HEADER_LEN; n++)
		is_int(dns_parse_response(response_chain, n, &r), -DNS_E_TRUNCATED,
		       "response of %zu bytes: truncated", n);
	memcpy(m.b, response_chain, sizeof(response_chain));
	m.n = sizeof(response_chain);
	m.b[2] &= 0x7f;
	is_int(dns_parse_response(m.b, m.n, &r), -DNS_E_QR, "QR clear: not a response");
	memcpy(m.b, response_chain, sizeof(response_chain));
	m.b[2] |= DNS_OPCODE_NOTIFY << 3;
	is_int(dns_parse_response(m.b, m.n, &r), -DNS_E_OPCODE, "NOTIFY response: refused");
	memcpy(m.b, response_chain, sizeof(response_chain));
	m.b[5] = 2;
	is_int(dns_parse_response(m.b, m.n, &r), -DNS_E_QDCOUNT, "two questions: refused");
	memcpy(m.b, response_chain, sizeof(response_chain));
	m.b[2] |= DNS_FLAG_TC >> 8;
	m.b[11] = 2;
	rc = dns_parse_response(m.b, m.n, &r);
	is_int(rc, -DNS_E_TRUNCATED, "one record short: truncated");
	ok(r.hdr.flags & DNS_FLAG_TC, "after a failure the header (TC) is still readable");
	memcpy(m.b, response_chain, sizeof(response_chain));
	mb8(&m, 0);
	is_int(dns_parse_response(m.b, m.n, &r), -DNS_E_TRAILING, "trailing byte: refused");
	uint8_t big[DNS_MSG_MAX + 1] = {0};
	is_int(dns_parse_response(big, sizeof(big), &r), -DNS_E_TOOBIG, "over 65535 bytes: too big");

	/* compression in answer owners: self, forward, outside, header, 2-cycle */
	static const struct {
		const char *what;
		unsigned target; /* 0xffff: the pointer's own offset */
	} bad[] = {
	    {"to itself", 0xffff},
	    {"forward", 40},
	    {"past the end", 0x3fff},
	    {"into the header", 4},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mb_hdr(&m, 1, 0x8180, 1, 1, 0, 0);
		mb_question(&m, "q.test", DNS_TYPE_A);
		mb_ptr(&m, bad[i].target == 0xffff ? (unsigned)m.n : bad[i].target);
		mb_rr(&m, DNS_TYPE_A, DNS_CLASS_IN, 1, 4);
		mb32(&m, 1);
		is_int(dns_parse_response(m.b, m.n, &r), -DNS_E_POINTER, "answer owner pointer %s: refused",
		       bad[i].what);
	}
	/* record 1 (TXT) carries "\1b" + pointer to record 2's owner, which points back: a loop */
	mb_hdr(&m, 1, 0x8180, 1, 2, 0, 0);
	mb_question(&m, "q.test", DNS_TYPE_A);
	mb_ptr(&m, 12);
	mb_rr(&m, DNS_TYPE_TXT, DNS_CLASS_IN, 1, 4);
	size_t rd = m.n;
	mb8(&m, 1);
	mb8(&m, 'b');
	mb_ptr(&m, (unsigned)m.n + 2);
	mb_ptr(&m, (unsigned)rd);
	mb_rr(&m, DNS_TYPE_A, DNS_CLASS_IN, 1, 4);
	mb32(&m, 1);
	is_int(dns_parse_response(m.b, m.n, &r), -DNS_E_POINTER, "two-pointer loop: refused");
	/* pointer inside the name's own labels */
	mb_hdr(&m, 1, 0x8180, 1, 1, 0, 0);
	mb_question(&m, "q.test", DNS_TYPE_A);
	size_t own = m.n;
	mb8(&m, 1);
	mb8(&m, 'c');
	mb_ptr(&m, (unsigned)own);
	mb_rr(&m, DNS_TYPE_A, DNS_CLASS_IN, 1, 4);
	mb32(&m, 1);
	is_int(dns_parse_response(m.b, m.n, &r), -DNS_E_POINTER, "pointer back to its own name: refused");
	/* a pointer in the question of a response */
	mb_hdr(&m, 1, 0x8180, 1, 0, 0, 0);
	mb_ptr(&m, 12);
	mb16(&m, 1);
	mb16(&m, 1);
	is_int(dns_parse_response(m.b, m.n, &r), -DNS_E_POINTER, "pointer in the response question: refused");
	/* CNAME target that points forward */
	mb_hdr(&m, 1, 0x8180, 1, 1, 0, 0);
	mb_question(&m, "q.test", DNS_TYPE_A);
	mb_ptr(&m, 12);
	mb_rr(&m, DNS_TYPE_CNAME, DNS_CLASS_IN, 1, 2);
	mb_ptr(&m, (unsigned)m.n + 2);
	mb8(&m, 0);
	is_int(dns_parse_response(m.b, m.n, &r), -DNS_E_POINTER, "CNAME target pointing forward: refused");

	/*
	 * Pointer to a pointer to a pointer...: each record's owner points at the
	 * previous owner. Legal until DNS_MAX_JUMPS hops, refused after.
	 */
	for (int over = 0; over < 2; over++) {
		unsigned n = DNS_MAX_JUMPS + (unsigned)over;
		size_t prev = 12;

		mb_hdr(&m, 1, 0x8180, 1, n, 0, 0);
		mb_question(&m, "j.test", DNS_TYPE_A);
		for (unsigned i = 0; i < n; i++) {
			size_t here = m.n;

			mb_ptr(&m, (unsigned)prev);
			mb_rr(&m, DNS_TYPE_TXT, DNS_CLASS_IN, 1, 0);
			prev = here;
		}
		is_int(dns_parse_response(m.b, m.n, &r), over ? -DNS_E_POINTER : 0,
		       "pointer chain of %u hops: %s", n, over ? "refused" : "accepted");
	}

	/* record data sizes */
	static const struct {
		const char *what;
		unsigned type, rdlen;
	} sizes[] = {
	    {"A of 5 bytes", DNS_TYPE_A, 5},
	    {"A of 0 bytes", DNS_TYPE_A, 0},
	    {"AAAA of 4 bytes", DNS_TYPE_AAAA, 4},
	    {"CNAME with a byte after the name", DNS_TYPE_CNAME, 4},
	};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		mb_hdr(&m, 1, 0x8180, 1, 1, 0, 0);
		mb_question(&m, "q.test", DNS_TYPE_A);
		mb_ptr(&m, 12);
		mb_rr(&m, sizes[i].type, DNS_CLASS_IN, 1, sizes[i].rdlen);
		if (sizes[i].type == DNS_TYPE_CNAME) {
			mb_ptr(&m, 12);
			mb16(&m, 0);
		} else {
			for (unsigned k = 0; k < sizes[i].rdlen; k++)
				mb8(&m, k);
		}
		is_int(dns_parse_response(m.b, m.n, &r), -DNS_E_RDATA, "%s: refused", sizes[i].what);
	}
	/* CNAME rdata shorter than its name */
	mb_hdr(&m, 1, 0x8180, 1, 1, 0, 0);
	mb_question(&m, "q.test", DNS_TYPE_A);
	mb_ptr(&m, 12);
	mb_rr(&m, DNS_TYPE_CNAME, DNS_CLASS_IN, 1, 1);
	mb8(&m, 1);
	mb8(&m, 'x');
	mb8(&m, 0);
	rc = dns_parse_response(m.b, m.n, &r);
	ok(rc == -DNS_E_RDATA || rc == -DNS_E_TRUNCATED || rc == -DNS_E_LABEL,
	   "CNAME name running past its record data: refused (%s)", dns_strerror(rc));
	/* OPT twice in a response */
	mb_hdr(&m, 1, 0x8180, 1, 0, 0, 2);
	mb_question(&m, "q.test", DNS_TYPE_A);
	mb8(&m, 0);
	mb_rr(&m, DNS_TYPE_OPT, 512, 0, 0);
	mb8(&m, 0);
	mb_rr(&m, DNS_TYPE_OPT, 512, 0, 0);
	is_int(dns_parse_response(m.b, m.n, &r), -DNS_E_OPT, "two OPT in a response: refused");
}

/* ---- builders ---------------------------------------------------------------------------- */

static void test_build_error(void)
{
	static const unsigned rcodes[] = {DNS_RCODE_NXDOMAIN, DNS_RCODE_REFUSED, DNS_RCODE_SERVFAIL,
	                                  DNS_RCODE_NOTIMP, DNS_RCODE_FORMERR};
	uint8_t out[512];
	int len;

	dns_parse_query(query_a, sizeof(query_a), &q);
	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++) {
		len = dns_build_error(&q, rcodes[i], out, sizeof(out));
		is_int(len, (int)sizeof(query_a), "error %u: header + question", rcodes[i]);
		is_int(dns_parse_response(out, (size_t)len, &r), 0, "error %u: parses as a response",
		       rcodes[i]);
		is_int(r.hdr.id, 0x1234, "error %u: id echoed", rcodes[i]);
		is_int(r.rcode, rcodes[i], "error %u: rcode", rcodes[i]);
		ok((r.hdr.flags & (DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA)) ==
		       (DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA),
		   "error %u: QR, RD copied, RA", rcodes[i]);
		ok(!(r.hdr.flags & (DNS_FLAG_AA | DNS_FLAG_TC)), "error %u: no AA, no TC", rcodes[i]);
		ok(dns_question_eq(&q.question, &r.question), "error %u: question echoed", rcodes[i]);
		ok(memcmp(out + 12, query_a + 12, sizeof(query_a) - 12) == 0, "error %u: question case kept",
		   rcodes[i]);
		ok(r.n_addrs == 0 && r.hdr.ancount == 0, "error %u: no records", rcodes[i]);
	}
	bool nospace = true;
	for (size_t cap = 0; cap < sizeof(query_a); cap++)
		nospace &= dns_build_error(&q, DNS_RCODE_NXDOMAIN, out, cap) == -DNS_E_NOSPACE;
	ok(nospace, "error: every short buffer gives NOSPACE");
	is_int(dns_build_error(&q, 16, out, sizeof(out)), -DNS_E_INVALID, "error rcode 16: invalid");

	/* RD clear stays clear */
	memcpy(m.b, query_a, sizeof(query_a));
	m.b[2] = 0;
	dns_parse_query(m.b, sizeof(query_a), &q);
	len = dns_build_error(&q, DNS_RCODE_REFUSED, out, sizeof(out));
	ok(len > 0 && dns_parse_response(out, (size_t)len, &r) == 0 && !(r.hdr.flags & DNS_FLAG_RD),
	   "error: RD clear copied");

	/* FORMERR for qdcount 2: header only */
	mb_hdr(&m, 0x5555, 0x0100, 2, 0, 0, 0);
	ok(dns_parse_query(m.b, m.n, &q) == -DNS_E_QDCOUNT, "qdcount 2 query");
	len = dns_build_error(&q, (unsigned)dns_err_rcode(-DNS_E_QDCOUNT), out, sizeof(out));
	is_int(len, DNS_HEADER_LEN, "FORMERR without question: header only");
	is_int(dns_parse_response(out, (size_t)len, &r), 0, "FORMERR: parses");
	ok(!r.has_question && r.rcode == DNS_RCODE_FORMERR && r.hdr.id == 0x5555,
	   "FORMERR: id, rcode, no question");

	/* NOTIMP for NOTIFY echoes opcode and question */
	memcpy(m.b, query_a, sizeof(query_a));
	m.b[2] = DNS_OPCODE_NOTIFY << 3;
	ok(dns_parse_query(m.b, sizeof(query_a), &q) == -DNS_E_OPCODE, "NOTIFY query");
	len = dns_build_error(&q, DNS_RCODE_NOTIMP, out, sizeof(out));
	is_int(len, (int)sizeof(query_a), "NOTIMP: header + question");
	is_int((out[2] >> 3) & 0xf, DNS_OPCODE_NOTIFY, "NOTIMP: opcode echoed");
	is_int(out[3] & 0xf, DNS_RCODE_NOTIMP, "NOTIMP: rcode");
	ok(out[2] & 0x80, "NOTIMP: QR");
}

static void test_build_answer(void)
{
	struct dns_ip ips[3] = {
	    {.family = AF_INET, .addr = {172, 16, 0, 1}},
	    {.family = AF_INET6, .addr = {0xfd, 0x42, 0x6d, 0x73, 0, 0x62, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
	    {.family = AF_INET, .addr = {172, 16, 0, 5}},
	};
	uint8_t out[512];
	int len;

	mb_hdr(&m, 0x0a0b, 0x0100, 1, 0, 0, 0);
	mb_question(&m, "Host.Microsandbox.Internal", DNS_TYPE_A);
	is_int(dns_parse_query(m.b, m.n, &q), 0, "host query parses");
	ok(dns_name_eq(q.question.name, "host.microsandbox.internal"), "host query: case-insensitive match");
	len = dns_build_answer(&q, ips, 3, 60, out, sizeof(out));
	ok(len > 0, "answer A: built");
	is_int(dns_parse_response(out, (size_t)len, &r), 0, "answer A: parses");
	is_int(r.hdr.id, 0x0a0b, "answer A: id");
	ok(r.hdr.flags & DNS_FLAG_AA, "answer A: AA");
	ok(r.hdr.flags & DNS_FLAG_RA, "answer A: RA");
	ok(r.hdr.flags & DNS_FLAG_RD, "answer A: RD copied");
	is_int(r.rcode, 0, "answer A: NOERROR");
	is_int(r.n_addrs, 2, "answer A: only the IPv4 addresses");
	ok(r.n_addrs == 2 && memcmp(r.addrs[0].ip.addr, ips[0].addr, 4) == 0 &&
	       memcmp(r.addrs[1].ip.addr, ips[2].addr, 4) == 0,
	   "answer A: addresses in order");
	ok(r.n_addrs == 2 && r.addrs[0].in_chain && r.addrs[1].in_chain, "answer A: owned by the qname");
	ok(r.n_addrs == 2 && r.addrs[0].ttl == 60, "answer A: ttl");
	ok(memcmp(out + 12, m.b + 12, m.n - 12) == 0, "answer A: question case kept");
	bool nospace = true;
	for (size_t cap = 0; cap < (size_t)len; cap++)
		nospace &= dns_build_answer(&q, ips, 3, 60, out, cap) == -DNS_E_NOSPACE;
	ok(nospace, "answer A: every short buffer gives NOSPACE");

	mb_hdr(&m, 0x0a0c, 0, 1, 0, 0, 0);
	mb_question(&m, "host.microsandbox.internal", DNS_TYPE_AAAA);
	dns_parse_query(m.b, m.n, &q);
	len = dns_build_answer(&q, ips, 3, 60, out, sizeof(out));
	ok(len > 0 && dns_parse_response(out, (size_t)len, &r) == 0, "answer AAAA: parses");
	ok(r.n_addrs == 1 && r.addrs[0].ip.family == AF_INET6 &&
	       memcmp(r.addrs[0].ip.addr, ips[1].addr, 16) == 0,
	   "answer AAAA: the IPv6 address");
	ok(!(r.hdr.flags & DNS_FLAG_RD), "answer AAAA: RD clear copied");
	len = dns_build_answer(&q, NULL, 0, 60, out, sizeof(out));
	ok(len > 0 && dns_parse_response(out, (size_t)len, &r) == 0 && r.n_addrs == 0 && r.rcode == 0 &&
	       r.has_question,
	   "answer with no address: empty NOERROR");
	is_int(dns_build_answer(&q, ips, 3, DNS_TTL_MAX + 1u, out, sizeof(out)), -DNS_E_INVALID,
	       "answer: TTL too large");
	struct dns_ip bad = {.family = 99};
	is_int(dns_build_answer(&q, &bad, 1, 1, out, sizeof(out)), -DNS_E_INVALID, "answer: unknown family");

	mb_hdr(&m, 1, 0, 1, 0, 0, 0);
	mb_question(&m, "host.microsandbox.internal", DNS_TYPE_TXT);
	dns_parse_query(m.b, m.n, &q);
	is_int(dns_build_answer(&q, ips, 3, 60, out, sizeof(out)), -DNS_E_INVALID,
	       "answer: TXT query refused");
	mb_hdr(&m, 1, 0, 1, 0, 0, 0);
	mb_name(&m, "host.microsandbox.internal");
	mb16(&m, DNS_TYPE_A);
	mb16(&m, 3);
	dns_parse_query(m.b, m.n, &q);
	is_int(dns_build_answer(&q, ips, 3, 60, out, sizeof(out)), -DNS_E_INVALID,
	       "answer: class CH refused");
	mb_hdr(&m, 1, 0, 0, 0, 0, 0);
	dns_parse_query(m.b, m.n, &q);
	is_int(dns_build_answer(&q, ips, 3, 60, out, sizeof(out)), -DNS_E_INVALID,
	       "answer: no question refused");
	mb_hdr(&m, 1, DNS_OPCODE_NOTIFY << 11, 1, 0, 0, 0);
	mb_question(&m, "host.microsandbox.internal", DNS_TYPE_A);
	ok(dns_parse_query(m.b, m.n, &q) == -DNS_E_OPCODE && q.has_question, "NOTIFY for an A name");
	is_int(dns_build_answer(&q, ips, 3, 60, out, sizeof(out)), -DNS_E_INVALID, "answer: NOTIFY refused");
}

static void test_build_misc(void)
{
	uint8_t out[600];
	int len;

	dns_parse_query(query_edns, sizeof(query_edns), &q);
	len = dns_build_truncated(&q, out, sizeof(out));
	is_int(len, DNS_HEADER_LEN, "truncated: header only");
	is_int(dns_parse_response(out, (size_t)len, &r), 0, "truncated: parses");
	ok(r.hdr.flags & DNS_FLAG_TC, "truncated: TC");
	ok(r.hdr.id == 0xbeef && r.rcode == 0 && !r.has_question, "truncated: id, NOERROR, no question");
	is_int(dns_build_truncated(&q, out, 11), -DNS_E_NOSPACE, "truncated: no space");

	/* query builder and name encoder round trip */
	static const char *const names[] = {"example.com", "Example.COM.", "a", "_dmarc.x-y.example",
	                                    "a\\.b.c",     "\\000\\255.x", "."};
	static const char *const texts[] = {"example.com", "example.com",  "a", "_dmarc.x-y.example",
	                                    "a\\.b.c",     "\\000\\255.x", ""};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		len = dns_build_query(0x77, names[i], DNS_TYPE_AAAA, true, out, sizeof(out));
		ok(len > 0, "build query %s", names[i]);
		is_int(dns_parse_query(out, (size_t)(len > 0 ? len : 0), &q), 0, "built query %s parses",
		       names[i]);
		is_str(q.question.name, texts[i], "built query %s: name", names[i]);
		ok(q.hdr.id == 0x77 && q.question.qtype == DNS_TYPE_AAAA && (q.hdr.flags & DNS_FLAG_RD),
		   "built query %s: id, qtype, RD", names[i]);
	}
	len = dns_build_query(1, "x", DNS_TYPE_A, false, out, sizeof(out));
	ok(len > 0 && dns_parse_query(out, (size_t)len, &q) == 0 && !(q.hdr.flags & DNS_FLAG_RD),
	   "built query: RD clear");

	char longlabel[80], longname[300];
	memset(longlabel, 'a', 64);
	longlabel[64] = '\0';
	for (size_t i = 0; i < 128; i++) {
		longname[2 * i] = 'a';
		longname[2 * i + 1] = '.';
	}
	longname[255] = '\0'; /* 128 labels: 257 octets */
	static const char *const bad[] = {"a..b", ".a", "a\\", "a\\25", "a\\2x5", "a\\256", "..", NULL, NULL};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *s = bad[i] ? bad[i] : i == 7 ? longlabel : longname;

		is_int(dns_build_query(1, s, DNS_TYPE_A, true, out, sizeof(out)), -DNS_E_INVALID,
		       "bad name text %.20s: invalid", s);
	}
	longlabel[63] = '\0';
	ok(dns_build_query(1, longlabel, DNS_TYPE_A, true, out, sizeof(out)) > 0, "63-octet label: fine");
	longname[253] = '\0'; /* 127 labels: 255 octets */
	ok(dns_build_query(1, longname, DNS_TYPE_A, true, out, sizeof(out)) > 0, "255-octet name: fine");
	is_int(dns_build_query(1, "example.com", DNS_TYPE_A, true, out, 20), -DNS_E_NOSPACE,
	       "build query: no space");
	uint8_t w[4];
	is_int(dns_name_to_wire("example.com", w, sizeof(w)), -DNS_E_NOSPACE, "name_to_wire: no space");
	is_int(dns_name_to_wire("", w, sizeof(w)), 1, "name_to_wire: root");

	/* id rewrite */
	memcpy(m.b, query_a, sizeof(query_a));
	is_int(dns_set_id(m.b, sizeof(query_a), 0xfffe), 0, "set_id");
	ok(dns_parse_query(m.b, sizeof(query_a), &q) == 0 && q.hdr.id == 0xfffe,
	   "set_id: new id parsed back");
	ok(memcmp(m.b + 2, query_a + 2, sizeof(query_a) - 2) == 0, "set_id: nothing else changed");
	is_int(dns_set_id(m.b, 11, 1), -DNS_E_TRUNCATED, "set_id on 11 bytes: refused");
}

/* ---- TCP framing ----------------------------------------------------------------------- */

static void test_tcp(void)
{
	uint8_t buf[2 * (2 + sizeof(query_a))];
	const uint8_t *msg = NULL;
	size_t mlen = 0, total = 2 + sizeof(query_a);

	is_int(dns_tcp_put_len(buf, sizeof(query_a)), 0, "put_len");
	memcpy(buf + 2, query_a, sizeof(query_a));
	memcpy(buf + total, buf, total);

	is_int(dns_tcp_frame(buf, 0, DNS_QUERY_MAX, &msg, &mlen), 0, "frame: empty needs more");
	is_int(dns_tcp_frame(buf, 1, DNS_QUERY_MAX, &msg, &mlen), 0, "frame: one byte needs more");
	is_int(dns_tcp_frame(buf, 2, DNS_QUERY_MAX, &msg, &mlen), 0, "frame: prefix only needs more");
	is_int(mlen, sizeof(query_a), "frame: announced length known from the prefix");
	bool partial_ok = true;
	for (size_t n = 3; n < total; n++)
		partial_ok &= dns_tcp_frame(buf, n, DNS_QUERY_MAX, NULL, NULL) == 0;
	ok(partial_ok, "frame: every partial message needs more");
	is_int(dns_tcp_frame(buf, total, DNS_QUERY_MAX, &msg, &mlen), (int)total, "frame: complete");
	ok(msg == buf + 2 && mlen == sizeof(query_a), "frame: message located");
	is_int(dns_tcp_frame(buf, sizeof(buf), DNS_QUERY_MAX, &msg, &mlen), (int)total,
	       "frame: two pipelined messages, first");
	is_int(dns_tcp_frame(buf + total, sizeof(buf) - total, DNS_QUERY_MAX, &msg, &mlen), (int)total,
	       "frame: two pipelined messages, second");
	is_int(dns_tcp_frame(buf, sizeof(buf), sizeof(query_a) - 1, &msg, &mlen), -DNS_E_TOOBIG,
	       "frame: over the caller's maximum");
	static const uint8_t zero[2] = {0, 0}, eleven[2] = {0, 11}, huge[2] = {0xff, 0xff};
	is_int(dns_tcp_frame(zero, 2, DNS_QUERY_MAX, NULL, NULL), -DNS_E_TRUNCATED, "frame: length 0");
	is_int(dns_tcp_frame(eleven, 2, DNS_QUERY_MAX, NULL, NULL), -DNS_E_TRUNCATED, "frame: length 11");
	is_int(dns_tcp_frame(huge, 2, DNS_QUERY_MAX, NULL, &mlen), -DNS_E_TOOBIG, "frame: 65535 over 4096");
	is_int(dns_tcp_frame(huge, 2, DNS_MSG_MAX, NULL, NULL), 0, "frame: 65535 allowed for responses");
	is_int(dns_tcp_put_len(buf, DNS_MSG_MAX), 0, "put_len 65535");
	ok(buf[0] == 0xff && buf[1] == 0xff, "put_len: big-endian");
	is_int(dns_tcp_put_len(buf, DNS_MSG_MAX + 1), -DNS_E_TOOBIG, "put_len 65536: too big");
}

/* ---- name helpers --------------------------------------------------------------------- */

static void test_names(void)
{
	ok(dns_name_eq("Example.COM", "example.com."), "eq: case and trailing dot");
	ok(dns_name_eq("", "."), "eq: root forms");
	ok(!dns_name_eq("example.com", "example.co"), "eq: prefix differs");
	ok(!dns_name_eq("a\\.", "a"), "eq: escaped trailing dot is part of the label");
	ok(dns_name_eq("a\\\\.", "a\\\\"), "eq: escaped backslash then a real trailing dot");
	ok(dns_name_in_zone("example.com", "example.com"), "zone: apex");
	ok(dns_name_in_zone("API.example.com.", "Example.com"), "zone: subdomain, case, dot");
	ok(dns_name_in_zone("a.b.c.example.com", "example.com."), "zone: deep subdomain");
	ok(!dns_name_in_zone("evilexample.com", "example.com"), "zone: not label-aligned");
	ok(!dns_name_in_zone("example.com.evil", "example.com"), "zone: suffix elsewhere");
	ok(!dns_name_in_zone("com", "example.com"), "zone: parent is not inside");
	ok(!dns_name_in_zone("evil\\.example.com", "example.com"), "zone: escaped dot is no boundary");
	ok(dns_name_in_zone("evil\\.example.com", "com"), "zone: escaped label under com");
	ok(dns_name_in_zone("x\\046y.example.com", "example.com"), "zone: \\DDD escape skipped");
	ok(!dns_name_in_zone("x\\046example.com", "example.com"), "zone: \\DDD dot is no boundary");
	ok(dns_name_in_zone("anything.at.all", ""), "zone: root contains everything");
	ok(dns_name_in_zone("", "."), "zone: root contains root");
	ok(!dns_name_in_zone("", "com"), "zone: root is in no zone");
	ok(!dns_name_in_zone("a\\", "a"), "zone: dangling escape handled");

	bool named = true;
	for (int e = 0; e < DNS_E_COUNT; e++)
		named &= dns_strerror(-e) != NULL && dns_strerror(e) == dns_strerror(-e);
	ok(named, "strerror: every code named, either sign");
	is_str(dns_strerror(-DNS_E_COUNT), "unknown DNS error", "strerror: out of range");
	is_int(dns_err_rcode(-DNS_E_LABEL), -1, "err_rcode: malformed dropped");
}

int main(void)
{
	test_query_valid();
	test_query_text();
	test_query_rejects();
	prefixes_query(query_a, sizeof(query_a), "query");
	prefixes_query(query_edns, sizeof(query_edns), "query with OPT");
	test_response_valid();
	test_response_chain_cases();
	test_response_rejects();
	test_build_error();
	test_build_answer();
	test_build_misc();
	test_tcp();
	test_names();
	return tap_done();
}
