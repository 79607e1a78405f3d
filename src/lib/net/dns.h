/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dns.h - DNS message parser and builder for the supervisor's DNS interceptor
 * (spec/network.md §4, docs/dns.md).
 *
 * The interceptor sees two kinds of hostile input: every query a sandbox
 * sends, and every response an upstream resolver returns. This module turns
 * both into small fixed-size structs the caller owns, without allocating and
 * without trusting a single length or pointer in the message, and builds the
 * few messages the interceptor answers by itself (error replies, the local
 * host.microsandbox.internal answer, the truncation reply). It does no I/O
 * and holds no state; every function is safe to call from the supervisor's
 * steady-state loop.
 *
 * Names leave the parser as "text": labels joined by '.', no trailing dot,
 * the root name as "", ASCII letters lowercased, and every byte that would
 * make the text ambiguous escaped the way zone files do ("\." for a dot
 * inside a label, "\\" for a backslash, "\DDD" for bytes outside 0x21-0x7e).
 * So two names are the same name exactly when their texts are equal, and a
 * label "evil.example" can never pass for the two labels "evil" and
 * "example". A name that needed escapes contains a backslash and therefore
 * fails the policy's DomainName check.
 *
 * Error contract: functions return 0 (or a length) on success and a negative
 * enum dns_err on failure. DNS uses its own codes instead of errno because
 * the interceptor has to tell "drop it" from "answer FORMERR" from "answer
 * NOTIMP" and wants a precise reason to log; dns_err_rcode() maps a code to
 * the reply to send and dns_strerror() names it.
 */
#ifndef MSB_NET_DNS_H
#define MSB_NET_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- wire constants (RFC 1035, RFC 3596, RFC 6891) ------------------------ */

#define DNS_HEADER_LEN    12
#define DNS_MSG_MAX       65535 /* largest message: the TCP length prefix is 16 bits */
#define DNS_QUERY_MAX     4096  /* largest query accepted from a sandbox; see docs/dns.md */
#define DNS_UDP_MIN       512   /* UDP payload every client accepts (RFC 1035 §4.2.1, RFC 6891 §6.2.5) */
#define DNS_LABEL_MAX     63    /* octets in one label */
#define DNS_NAME_WIRE_MAX 255   /* octets in an uncompressed name, length octets and root included */
#define DNS_NAME_TEXT_MAX 1024  /* buffer for a name's text: fits 255 wire octets fully escaped, plus NUL */
#define DNS_MAX_JUMPS     128   /* compression pointers followed while reading one name */
#define DNS_TTL_MAX       0x7fffffffu /* RFC 2181 §8: larger TTLs are read as 0 */

/* Limits of struct dns_response; a response that needs more is refused (DNS_E_LIMIT). */
#define DNS_MAX_ADDRS  128   /* A/AAAA records, all sections together */
#define DNS_MAX_CNAMES 32    /* CNAME records in the answer section */
#define DNS_MAX_NAMES  256   /* distinct names kept (question, owners, CNAME targets) */
#define DNS_NAME_POOL  16384 /* bytes of name text, NUL terminators included */

/* Header flag bits, as in the second 16-bit word of the header. */
#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_AA 0x0400
#define DNS_FLAG_TC 0x0200
#define DNS_FLAG_RD 0x0100
#define DNS_FLAG_RA 0x0080
#define DNS_FLAG_Z  0x0040
#define DNS_FLAG_AD 0x0020
#define DNS_FLAG_CD 0x0010

#define DNS_OPCODE_QUERY  0
#define DNS_OPCODE_IQUERY 1
#define DNS_OPCODE_STATUS 2
#define DNS_OPCODE_NOTIFY 4
#define DNS_OPCODE_UPDATE 5

#define DNS_RCODE_NOERROR  0
#define DNS_RCODE_FORMERR  1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP   4
#define DNS_RCODE_REFUSED  5

#define DNS_TYPE_A     1
#define DNS_TYPE_NS    2
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_SOA   6
#define DNS_TYPE_PTR   12
#define DNS_TYPE_MX    15
#define DNS_TYPE_TXT   16
#define DNS_TYPE_AAAA  28
#define DNS_TYPE_OPT   41
#define DNS_TYPE_IXFR  251
#define DNS_TYPE_AXFR  252
#define DNS_TYPE_ANY   255

#define DNS_CLASS_IN  1
#define DNS_CLASS_ANY 255

/* ---- errors ----------------------------------------------------------------- */

enum dns_err {
	DNS_OK = 0,
	DNS_E_TRUNCATED, /* the message ends inside a field, or is shorter than a header */
	DNS_E_TOOBIG,    /* longer than DNS_QUERY_MAX (queries) or DNS_MSG_MAX */
	DNS_E_QR,        /* QR bit set in a query, or clear in a response */
	DNS_E_OPCODE,    /* opcode is not QUERY */
	DNS_E_QDCOUNT,   /* question count is not 1 (query) or above 1 (response) */
	DNS_E_LABEL,     /* label length octet above 63 (reserved label types 01/10) */
	DNS_E_NAMELEN,   /* name longer than 255 octets once decompressed */
	DNS_E_POINTER,   /* compression pointer into the header, to itself, forward, or looping */
	DNS_E_RDATA,     /* record data of the wrong size for its type */
	DNS_E_OPT,       /* OPT record not in the additional section, not owned by root, or repeated */
	DNS_E_TRAILING,  /* bytes after the last record the header announced */
	DNS_E_LIMIT,     /* more addresses, CNAMEs or name text than struct dns_response holds */
	DNS_E_NOSPACE,   /* builder: output buffer too small */
	DNS_E_INVALID,   /* builder or helper: argument not usable (bad name text, wrong qtype, ...) */
	DNS_E_COUNT
};

/**
 * dns_strerror() - name an error for logs.
 * @err: a value returned by this module, negative or not
 *
 * Return: a static string; "unknown DNS error" for values out of range.
 */
const char *dns_strerror(int err);

/**
 * dns_err_rcode() - decide how the interceptor answers a query it could not parse.
 * @err: the negative value dns_parse_query() returned
 *
 * Return: DNS_RCODE_NOTIMP for DNS_E_OPCODE, DNS_RCODE_FORMERR for
 * DNS_E_QDCOUNT and DNS_E_OPT (the header, and for DNS_E_OPT the question,
 * were read), and -1 for everything else: the message is not DNS we can
 * answer and is dropped without a reply.
 */
int dns_err_rcode(int err);

/* ---- parsed messages ---------------------------------------------------------- */

struct dns_header {
	uint16_t id;
	uint16_t flags; /* the raw second word: DNS_FLAG_* plus opcode and rcode */
	uint8_t opcode; /* (flags >> 11) & 0xf */
	uint8_t rcode;  /* flags & 0xf, the header's 4 bits only */
	uint16_t qdcount, ancount, nscount, arcount;
};

struct dns_question {
	char name[DNS_NAME_TEXT_MAX];    /* text form, see the top of this file */
	uint16_t name_len;               /* strlen(name) */
	uint8_t wire[DNS_NAME_WIRE_MAX]; /* the name uncompressed, original letter case */
	uint16_t wire_len;
	uint16_t qtype, qclass;
};

/* EDNS(0) as announced by an OPT record (RFC 6891). */
struct dns_edns {
	bool present;
	bool dnssec_ok; /* the DO bit */
	uint8_t version;
	uint8_t ext_rcode; /* upper 8 bits of the 12-bit rcode */
	uint16_t udp_size; /* as sent, not clamped */
};

struct dns_query {
	struct dns_header hdr;
	bool has_question;
	struct dns_question question;
	struct dns_edns edns;
};

enum dns_section {
	DNS_SECTION_ANSWER = 1,
	DNS_SECTION_AUTHORITY = 2,
	DNS_SECTION_ADDITIONAL = 3,
};

/* An IP address: family is AF_INET (first 4 bytes of addr used) or AF_INET6. */
struct dns_ip {
	uint8_t family;
	uint8_t addr[16];
};

/* One A or AAAA record of class IN. */
struct dns_addr {
	struct dns_ip ip;
	uint8_t section;    /* enum dns_section */
	bool in_chain;      /* answer section, owner is the qname or a CNAME target reachable from it */
	uint16_t owner;     /* index into dns_response.names */
	uint32_t ttl;       /* RFC 2181 §8 applied: above DNS_TTL_MAX reads as 0 */
	uint32_t chain_ttl; /* in_chain: min(ttl, every CNAME TTL on the way from the qname); else ttl */
};

/* One CNAME record of class IN in the answer section. */
struct dns_cname {
	uint16_t owner, target; /* indexes into dns_response.names */
	uint32_t ttl;
};

/* A distinct name of a response; its text lives in dns_response.pool. */
struct dns_name_ref {
	uint16_t off, len; /* text at pool + off, NUL-terminated, strlen len */
	uint32_t hash;
	bool in_chain;      /* the qname itself, or reachable from it through answer CNAMEs */
	uint32_t chain_ttl; /* smallest CNAME TTL on the way (UINT32_MAX for the qname) */
};

/*
 * A parsed response. Names are interned: two records with the same owner
 * share an index, so comparing indexes compares names. When the response has
 * a question, names[0] is the qname. About 24 KiB: keep one per interceptor,
 * not on a small stack.
 */
struct dns_response {
	struct dns_header hdr;
	uint16_t rcode; /* full 12-bit rcode: hdr.rcode | edns.ext_rcode << 4 */
	bool has_question;
	struct dns_question question;
	struct dns_edns edns;
	size_t n_addrs, n_cnames, n_names, pool_used;
	struct dns_addr addrs[DNS_MAX_ADDRS];
	struct dns_cname cnames[DNS_MAX_CNAMES];
	struct dns_name_ref names[DNS_MAX_NAMES];
	char pool[DNS_NAME_POOL];
};

/* ---- parsers ------------------------------------------------------------------- */

/**
 * dns_parse_query() - parse and validate a query sent by a sandbox.
 * @msg: the message (borrowed; nothing points into it afterwards)
 * @len: its length in bytes
 * @q: receives the result
 *
 * Checks, in this order: length (DNS_E_TOOBIG above DNS_QUERY_MAX,
 * DNS_E_TRUNCATED below a header), QR clear (DNS_E_QR), opcode QUERY
 * (DNS_E_OPCODE; the question is still read when there is exactly one, so
 * the NOTIMP reply can echo it), exactly one question (DNS_E_QDCOUNT), the
 * question itself, then every record of the other three sections for
 * framing and names (a query may carry EDNS OPT and, rarely, other records),
 * and finally that nothing follows the last record (DNS_E_TRAILING).
 * Compression pointers in the question are always refused (nothing before it
 * but the header); elsewhere they must point backwards as described in
 * dns.c. @q->hdr is valid whenever @len >= DNS_HEADER_LEN, and
 * @q->has_question says whether @q->question is.
 *
 * Return: 0, or a negative enum dns_err; dns_err_rcode() says how to answer.
 */
int dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *q);

/**
 * dns_query_udp_limit() - the largest UDP response the querier accepts.
 * @q: a parsed query
 *
 * Return: DNS_UDP_MIN without EDNS, else the OPT payload size but never less
 * than DNS_UDP_MIN (RFC 6891 §6.2.5).
 */
size_t dns_query_udp_limit(const struct dns_query *q);

/**
 * dns_parse_response() - parse and validate a response from an upstream resolver.
 * @msg: the message (borrowed)
 * @len: its length in bytes
 * @r: receives the result (large: see struct dns_response)
 *
 * Requires QR set, opcode QUERY, at most one question; walks every record of
 * every section with bounded, loop-free decompression, and rejects trailing
 * bytes. Collects every class-IN A and AAAA record of every section (so the
 * caller can check each address for rebinding) and every class-IN CNAME of
 * the answer section, then marks which answer addresses belong to the qname
 * directly or through a CNAME chain, with the chain's smallest TTL (for the
 * pin set). Other types are skipped after a bounds check; names inside their
 * data are not inspected. More records than the limits is an error
 * (DNS_E_LIMIT), never a silent cut: a caller that checks every address must
 * see every address. @r->hdr is valid whenever @len >= DNS_HEADER_LEN, so a
 * caller can look at TC after a failure.
 *
 * Return: 0, or a negative enum dns_err.
 */
int dns_parse_response(const uint8_t *msg, size_t len, struct dns_response *r);

/**
 * dns_response_name() - the text of an interned name.
 * @r: a parsed response
 * @idx: an index from a dns_addr or dns_cname of @r
 *
 * Return: the NUL-terminated text (inside @r), or "" for an index out of range.
 */
const char *dns_response_name(const struct dns_response *r, uint16_t idx);

/**
 * dns_question_eq() - whether two questions ask the same thing.
 * @a: a question
 * @b: another question
 *
 * Compares type, class and name, ignoring letter case (the texts are
 * lowercase already). The interceptor uses it to check that an upstream
 * response answers the question it forwarded.
 *
 * Return: true when equal.
 */
bool dns_question_eq(const struct dns_question *a, const struct dns_question *b);

/* ---- builders ------------------------------------------------------------------- */

/*
 * Every builder writes into @out, at most @cap bytes, and returns the length
 * written, or -DNS_E_NOSPACE when @cap is too small (nothing useful is left in
 * @out then), or -DNS_E_INVALID. Replies built from a query echo its id,
 * opcode, RD bit and (when @q->has_question) its question with the name in its
 * original letter case, set QR and RA, and carry no OPT record.
 */

/**
 * dns_build_error() - build an error reply to a query.
 * @q: the query, as filled by dns_parse_query() even if that failed with
 *     DNS_E_OPCODE, DNS_E_QDCOUNT or DNS_E_OPT
 * @rcode: DNS_RCODE_* (0-15): NXDOMAIN for denied names, SERVFAIL, REFUSED,
 *         NOTIMP, FORMERR
 * @out: output buffer
 * @cap: its size
 *
 * The reply has no records; the question is echoed when known.
 *
 * Return: length, or -DNS_E_NOSPACE, or -DNS_E_INVALID for @rcode > 15.
 */
int dns_build_error(const struct dns_query *q, unsigned rcode, uint8_t *out, size_t cap);

/**
 * dns_build_answer() - build an authoritative answer from given addresses.
 * @q: a successfully parsed query for class IN, type A or AAAA
 * @ips: addresses; those whose family does not match the qtype are skipped
 * @n: number of entries in @ips
 * @ttl: TTL of every record, at most DNS_TTL_MAX
 * @out: output buffer
 * @cap: its size
 *
 * For names the supervisor answers itself (host.microsandbox.internal). AA is
 * set, rcode NOERROR; with no matching address the reply is an empty NOERROR
 * (what an inactive family gets). Owner names point at the echoed question.
 *
 * Return: length, or -DNS_E_NOSPACE, or -DNS_E_INVALID (no question, opcode
 * not QUERY, qclass not IN, qtype neither A nor AAAA, @ttl too large,
 * unknown family).
 */
int dns_build_answer(const struct dns_query *q, const struct dns_ip *ips, size_t n, uint32_t ttl,
                     uint8_t *out, size_t cap);

/**
 * dns_build_truncated() - build the header-only TC reply for an oversize UDP answer.
 * @q: the query
 * @out: output buffer
 * @cap: its size
 *
 * NOERROR, TC set, no question (spec/network.md §4): the client retries over TCP.
 *
 * Return: DNS_HEADER_LEN, or -DNS_E_NOSPACE.
 */
int dns_build_truncated(const struct dns_query *q, uint8_t *out, size_t cap);

/**
 * dns_build_query() - build a standard query (one question, no EDNS).
 * @id: message id
 * @name: name text (escapes allowed, trailing dot optional; see dns_name_to_wire())
 * @qtype: DNS_TYPE_*
 * @rd: set the RD bit
 * @out: output buffer
 * @cap: its size
 *
 * Return: length, or -DNS_E_NOSPACE, or -DNS_E_INVALID for a bad name.
 */
int dns_build_query(uint16_t id, const char *name, uint16_t qtype, bool rd, uint8_t *out, size_t cap);

/**
 * dns_name_to_wire() - encode name text as an uncompressed wire name.
 * @text: labels separated by '.', optional trailing dot, "" or "." for the
 *        root; "\X" stands for the byte X and "\DDD" for a decimal byte value
 * @wire: output, DNS_NAME_WIRE_MAX bytes are enough
 * @cap: size of @wire
 *
 * The inverse of the parser's text form: encoding a parsed name's text gives
 * its wire form with letters lowercased. Letter case of @text is kept.
 *
 * Return: wire length, or -DNS_E_INVALID (empty label, label over 63, name
 * over 255, bad escape), or -DNS_E_NOSPACE.
 */
int dns_name_to_wire(const char *text, uint8_t *wire, size_t cap);

/**
 * dns_set_id() - rewrite the id of a message in place.
 * @msg: the message
 * @len: its length
 * @id: new id
 *
 * The interceptor forwards queries upstream under its own ids and restores
 * the sandbox's id on the way back.
 *
 * Return: 0, or -DNS_E_TRUNCATED when @len is below a header.
 */
int dns_set_id(uint8_t *msg, size_t len, uint16_t id);

/* ---- DNS over TCP framing (RFC 1035 §4.2.2, RFC 7766 §8) ------------------------- */

/**
 * dns_tcp_frame() - find a complete length-prefixed message at the start of a stream buffer.
 * @buf: bytes received so far (borrowed)
 * @len: how many
 * @max: largest message length the caller accepts (DNS_QUERY_MAX for guests)
 * @msg: receives a pointer into @buf at the message when complete (may be NULL)
 * @msg_len: receives the announced message length as soon as the 2-byte
 *           prefix is present, so the caller knows how much to wait for (may be NULL)
 *
 * Return: the frame size (2 + message length) to consume when a whole
 * message is present; 0 when more bytes are needed; -DNS_E_TRUNCATED when
 * the announced length is below a header; -DNS_E_TOOBIG above @max. An error
 * means the stream cannot be resynchronised: close it.
 */
int dns_tcp_frame(const uint8_t *buf, size_t len, size_t max, const uint8_t **msg, size_t *msg_len);

/**
 * dns_tcp_put_len() - write the 2-byte length prefix for a message.
 * @out: two bytes
 * @msg_len: message length
 *
 * Return: 0, or -DNS_E_TOOBIG above DNS_MSG_MAX.
 */
int dns_tcp_put_len(uint8_t out[2], size_t msg_len);

/* ---- name helpers ---------------------------------------------------------------- */

/*
 * Both take names in the text form above (what the parser produces, or a
 * policy's DomainName) and treat one trailing unescaped dot as absent. Letter
 * case is ignored (ASCII only); escapes are compared as written, so pass
 * canonical text: the parser never escapes a letter or a digit.
 */

/**
 * dns_name_eq() - whether two names are the same.
 * @a: a name
 * @b: another name
 *
 * Return: true when equal ignoring ASCII case and a trailing dot.
 */
bool dns_name_eq(const char *a, const char *b);

/**
 * dns_name_in_zone() - whether a name equals a suffix or lies below it.
 * @name: the name asked about, e.g. "api.example.com"
 * @zone: the suffix, e.g. "example.com"
 *
 * Label-aligned: "evilexample.com" is not in "example.com", nor is
 * "evil\.example.com" (one label "evil.example" under "com"). The root zone
 * ("" or ".") contains every name.
 *
 * Return: true when @name is @zone or a subdomain of it.
 */
bool dns_name_in_zone(const char *name, const char *zone);

#endif
