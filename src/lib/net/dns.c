// SPDX-License-Identifier: Apache-2.0
/*
 * dns.c - DNS message parser and builder (interface and limits in dns.h,
 * decisions in docs/dns.md).
 *
 * Theory of Operation
 *
 * Every length, count and pointer in a message is attacker-chosen, so the
 * parser keeps one invariant: a position is compared against the message
 * length before the byte at it is read, and lengths are compared by
 * subtraction from the remaining size (never "pos + n > len", which could
 * wrap). Counts in the header are only loop bounds; each record consumes at
 * least 11 bytes, so walking a section costs at most len / 11 iterations
 * whatever the header claims.
 *
 * Compression (RFC 1035 §4.1.4) is the dangerous part: a pointer can aim at
 * itself, at a later pointer that aims back, at the header, or past the end.
 * name_read() accepts a pointer only if its target lies in the message body
 * (at or after the header) and strictly before the start of the segment of
 * labels that contains it: the name's own start for the first pointer, the
 * previous pointer's target after that. Targets therefore strictly decrease,
 * so no sequence of pointers can revisit a byte and every loop is refused at
 * its first backward-to-forward turn. Real compressors always satisfy this
 * rule, because they only point at names written before the current one
 * began. DNS_MAX_JUMPS additionally bounds the work per name. A name in the
 * first question has nothing before it but the header, so any pointer there
 * is refused by the same rule.
 *
 * The decompressed name is limited to 255 octets as it is assembled, labels
 * to 63 (length octets 0x40-0xbf are the reserved label types and are
 * refused), and its text (see dns.h) is produced only for the names the
 * caller needs: the question, and the owners and targets of A, AAAA and
 * CNAME records. The text of a 255-octet name needs at most 1003 bytes when
 * every byte is escaped, so DNS_NAME_TEXT_MAX can never overflow.
 *
 * Parsing is strict: trailing bytes, a second OPT or record data of the
 * wrong size fail the whole message. For a query that means no reply (or
 * FORMERR); for an upstream response the caller answers SERVFAIL. Being
 * lenient would mean forwarding bytes nobody has looked at.
 */
#include <assert.h>
#include <sys/socket.h>

#include "net/dns.h"
#include "util.h"

static const char *const dns_err_names[] = {
    [DNS_OK] = "success",
    [DNS_E_TRUNCATED] = "message truncated",
    [DNS_E_TOOBIG] = "message too long",
    [DNS_E_QR] = "wrong QR bit for the direction",
    [DNS_E_OPCODE] = "opcode is not QUERY",
    [DNS_E_QDCOUNT] = "unsupported question count",
    [DNS_E_LABEL] = "label longer than 63 octets or of a reserved type",
    [DNS_E_NAMELEN] = "name longer than 255 octets",
    [DNS_E_POINTER] = "compression pointer into the header, forward or looping",
    [DNS_E_RDATA] = "record data of the wrong size",
    [DNS_E_OPT] = "misplaced, repeated or non-root OPT record",
    [DNS_E_TRAILING] = "bytes after the last record",
    [DNS_E_LIMIT] = "more records than the parser keeps",
    [DNS_E_NOSPACE] = "output buffer too small",
    [DNS_E_INVALID] = "invalid argument",
};
static_assert(ARRAY_SIZE(dns_err_names) == DNS_E_COUNT, "dns_err_names must cover enum dns_err");

const char *dns_strerror(int err)
{
	unsigned e = err < 0 ? (unsigned)-(long)err : (unsigned)err;

	if (e >= DNS_E_COUNT)
		return "unknown DNS error";
	return dns_err_names[e];
}

int dns_err_rcode(int err)
{
	switch (err < 0 ? -(long)err : err) {
	case DNS_E_OPCODE:
		return DNS_RCODE_NOTIMP;
	case DNS_E_QDCOUNT:
	case DNS_E_OPT:
		return DNS_RCODE_FORMERR;
	default:
		return -1;
	}
}

/* ---- byte helpers ----------------------------------------------------------- */

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline char ascii_lower(char c)
{
	return (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

static inline bool ascii_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ---- names ------------------------------------------------------------------- */

/* Where name_read() puts a decoded name. text or wire may be NULL when not wanted. */
struct name_out {
	char *text; /* DNS_NAME_TEXT_MAX bytes */
	size_t text_len;
	uint8_t *wire; /* DNS_NAME_WIRE_MAX bytes */
	size_t wire_len;
};

/*
 * Append one label to name text: lowercase letters, escape what would be
 * ambiguous or unprintable. The caller guarantees room (see the Theory of
 * Operation); a broken guarantee is a bug, so it aborts.
 */
static void text_put_label(char *text, size_t *tl, const uint8_t *label, size_t n)
{
	size_t t = *tl;

	if (t + 1 + 4 * n + 1 > DNS_NAME_TEXT_MAX)
		abort();
	if (t)
		text[t++] = '.';
	for (size_t i = 0; i < n; i++) {
		uint8_t b = label[i];

		if (b == '.' || b == '\\') {
			text[t++] = '\\';
			text[t++] = (char)b;
		} else if (b < 0x21 || b > 0x7e) {
			text[t++] = '\\';
			text[t++] = (char)('0' + b / 100);
			text[t++] = (char)('0' + b / 10 % 10);
			text[t++] = (char)('0' + b % 10);
		} else {
			text[t++] = ascii_lower((char)b);
		}
	}
	text[t] = '\0';
	*tl = t;
}

/**
 * name_read() - decode a possibly compressed name.
 * @msg: the whole message
 * @len: its length
 * @pos: offset of the name; on success advanced past it (past its first pointer)
 * @out: receives text and/or wire form, or NULL to validate only
 *
 * Return: 0, or -DNS_E_TRUNCATED, -DNS_E_LABEL, -DNS_E_NAMELEN, -DNS_E_POINTER.
 */
static int name_read(const uint8_t *msg, size_t len, size_t *pos, struct name_out *out)
{
	size_t p = *pos, end = 0, wl = 0, tl = 0;
	size_t seg = p; /* start of the current run of labels */
	unsigned jumps = 0;

	if (out && out->text)
		out->text[0] = '\0';
	for (;;) {
		uint8_t c;

		if (p >= len)
			return -DNS_E_TRUNCATED;
		c = msg[p];
		if ((c & 0xc0) == 0xc0) {
			size_t target;

			if (len - p < 2)
				return -DNS_E_TRUNCATED;
			target = (size_t)(c & 0x3f) << 8 | msg[p + 1];
			if (!end)
				end = p + 2;
			/* strictly before the current segment: targets decrease, no loop */
			if (target < DNS_HEADER_LEN || target >= seg || ++jumps > DNS_MAX_JUMPS)
				return -DNS_E_POINTER;
			seg = p = target;
			continue;
		}
		if (c & 0xc0)
			return -DNS_E_LABEL;
		if (c == 0)
			break;
		if (len - p - 1 < c)
			return -DNS_E_TRUNCATED;
		/* this label, its length octet, and the root octet still to come */
		if (wl + 1 + c + 1 > DNS_NAME_WIRE_MAX)
			return -DNS_E_NAMELEN;
		if (out && out->wire)
			memcpy(out->wire + wl, msg + p, 1 + (size_t)c);
		if (out && out->text)
			text_put_label(out->text, &tl, msg + p + 1, c);
		wl += 1 + (size_t)c;
		p += 1 + (size_t)c;
	}
	if (!end)
		end = p + 1;
	if (out) {
		if (out->wire)
			out->wire[wl] = 0;
		out->wire_len = wl + 1;
		out->text_len = tl;
	}
	*pos = end;
	return 0;
}

/* ---- records ------------------------------------------------------------------ */

struct rr {
	size_t owner; /* offset of the owner name */
	uint16_t type, rclass;
	uint32_t ttl; /* raw: OPT keeps flags here */
	size_t rdata, rdlen;
};

/*
 * Read one resource record's fixed part and bounds-check its data. The owner
 * name is validated, not decoded.
 */
static int rr_read(const uint8_t *msg, size_t len, size_t *pos, struct rr *rr)
{
	const uint8_t *p;
	int r;

	rr->owner = *pos;
	r = name_read(msg, len, pos, NULL);
	if (r < 0)
		return r;
	if (len - *pos < 10)
		return -DNS_E_TRUNCATED;
	p = msg + *pos;
	rr->type = get16(p);
	rr->rclass = get16(p + 2);
	rr->ttl = get32(p + 4);
	rr->rdlen = get16(p + 8);
	*pos += 10;
	if (len - *pos < rr->rdlen)
		return -DNS_E_TRUNCATED;
	rr->rdata = *pos;
	*pos += rr->rdlen;
	return 0;
}

static uint32_t ttl_norm(uint32_t ttl)
{
	return ttl > DNS_TTL_MAX ? 0 : ttl;
}

static void header_read(const uint8_t *msg, struct dns_header *h)
{
	h->id = get16(msg);
	h->flags = get16(msg + 2);
	h->opcode = (uint8_t)((h->flags >> 11) & 0xf);
	h->rcode = (uint8_t)(h->flags & 0xf);
	h->qdcount = get16(msg + 4);
	h->ancount = get16(msg + 6);
	h->nscount = get16(msg + 8);
	h->arcount = get16(msg + 10);
}

static int question_read(const uint8_t *msg, size_t len, size_t *pos, struct dns_question *qn)
{
	struct name_out o = {.text = qn->name, .wire = qn->wire};
	int r = name_read(msg, len, pos, &o);

	if (r < 0)
		return r;
	if (len - *pos < 4)
		return -DNS_E_TRUNCATED;
	qn->name_len = (uint16_t)o.text_len;
	qn->wire_len = (uint16_t)o.wire_len;
	qn->qtype = get16(msg + *pos);
	qn->qclass = get16(msg + *pos + 2);
	*pos += 4;
	return 0;
}

/* Record EDNS from an OPT record; RFC 6891 §6.1.1: one, owned by root, in the additional section. */
static int opt_take(const uint8_t *msg, size_t len, const struct rr *rr, int section, struct dns_edns *e)
{
	size_t p = rr->owner;
	struct name_out o = {0};

	if (section != DNS_SECTION_ADDITIONAL || e->present)
		return -DNS_E_OPT;
	if (name_read(msg, len, &p, &o) < 0 || o.wire_len != 1)
		return -DNS_E_OPT;
	e->present = true;
	e->udp_size = rr->rclass;
	e->ext_rcode = (uint8_t)(rr->ttl >> 24);
	e->version = (uint8_t)(rr->ttl >> 16);
	e->dnssec_ok = rr->ttl & 0x8000;
	return 0;
}

static void edns_clear(struct dns_edns *e)
{
	memset(e, 0, sizeof(*e));
}

static void question_clear(struct dns_question *qn)
{
	qn->name[0] = '\0';
	qn->name_len = 0;
	qn->wire_len = 0;
	qn->qtype = 0;
	qn->qclass = 0;
}

/* ---- queries -------------------------------------------------------------------- */

int dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *q)
{
	static const int sections[] = {DNS_SECTION_ANSWER, DNS_SECTION_AUTHORITY, DNS_SECTION_ADDITIONAL};
	size_t pos = DNS_HEADER_LEN;
	unsigned counts[3];
	int r;

	memset(&q->hdr, 0, sizeof(q->hdr));
	q->has_question = false;
	question_clear(&q->question);
	edns_clear(&q->edns);
	if (len > DNS_QUERY_MAX)
		return -DNS_E_TOOBIG;
	if (len < DNS_HEADER_LEN)
		return -DNS_E_TRUNCATED;
	header_read(msg, &q->hdr);
	if (q->hdr.flags & DNS_FLAG_QR)
		return -DNS_E_QR;
	if (q->hdr.opcode != DNS_OPCODE_QUERY) {
		/* best effort, so the NOTIMP reply can echo the question */
		if (q->hdr.qdcount == 1 && question_read(msg, len, &pos, &q->question) == 0)
			q->has_question = true;
		return -DNS_E_OPCODE;
	}
	if (q->hdr.qdcount != 1)
		return -DNS_E_QDCOUNT;
	r = question_read(msg, len, &pos, &q->question);
	if (r < 0)
		return r;
	q->has_question = true;

	counts[0] = q->hdr.ancount;
	counts[1] = q->hdr.nscount;
	counts[2] = q->hdr.arcount;
	for (size_t s = 0; s < ARRAY_SIZE(sections); s++) {
		for (unsigned i = 0; i < counts[s]; i++) {
			struct rr rr;

			r = rr_read(msg, len, &pos, &rr);
			if (r < 0)
				return r;
			if (rr.type == DNS_TYPE_OPT) {
				r = opt_take(msg, len, &rr, sections[s], &q->edns);
				if (r < 0)
					return r;
			}
		}
	}
	if (pos != len)
		return -DNS_E_TRAILING;
	return 0;
}

size_t dns_query_udp_limit(const struct dns_query *q)
{
	if (!q->edns.present || q->edns.udp_size < DNS_UDP_MIN)
		return DNS_UDP_MIN;
	return q->edns.udp_size;
}

/* ---- responses ------------------------------------------------------------------- */

/* FNV-1a: only a filter before memcmp when interning, so quality barely matters. */
static uint32_t text_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h;
}

/* Find or add a name; the text form is canonical, so equal names have equal text. */
static int name_intern(struct dns_response *r, const char *text, size_t tl, uint16_t *idx)
{
	uint32_t h = text_hash(text, tl);
	struct dns_name_ref *n;

	for (size_t i = 0; i < r->n_names; i++) {
		n = &r->names[i];
		if (n->hash == h && n->len == tl && memcmp(r->pool + n->off, text, tl) == 0) {
			*idx = (uint16_t)i;
			return 0;
		}
	}
	if (r->n_names == DNS_MAX_NAMES || DNS_NAME_POOL - r->pool_used < tl + 1)
		return -DNS_E_LIMIT;
	n = &r->names[r->n_names];
	n->off = (uint16_t)r->pool_used;
	n->len = (uint16_t)tl;
	n->hash = h;
	n->in_chain = false;
	n->chain_ttl = 0;
	memcpy(r->pool + r->pool_used, text, tl);
	r->pool[r->pool_used + tl] = '\0';
	r->pool_used += tl + 1;
	*idx = (uint16_t)r->n_names++;
	return 0;
}

/* Decode the name at @pos and intern it. */
static int name_take(struct dns_response *r, const uint8_t *msg, size_t len, size_t *pos, uint16_t *idx)
{
	char text[DNS_NAME_TEXT_MAX];
	struct name_out o = {.text = text};
	int e = name_read(msg, len, pos, &o);

	if (e < 0)
		return e;
	return name_intern(r, text, o.text_len, idx);
}

static int addr_take(struct dns_response *r, const uint8_t *msg, size_t len, const struct rr *rr, int section)
{
	size_t alen = rr->type == DNS_TYPE_A ? 4 : 16, p = rr->owner;
	struct dns_addr *a;
	int e;

	if (rr->rdlen != alen)
		return -DNS_E_RDATA;
	if (r->n_addrs == DNS_MAX_ADDRS)
		return -DNS_E_LIMIT;
	a = &r->addrs[r->n_addrs];
	e = name_take(r, msg, len, &p, &a->owner);
	if (e < 0)
		return e;
	memset(&a->ip, 0, sizeof(a->ip));
	a->ip.family = alen == 4 ? AF_INET : AF_INET6;
	memcpy(a->ip.addr, msg + rr->rdata, alen);
	a->section = (uint8_t)section;
	a->in_chain = false;
	a->ttl = ttl_norm(rr->ttl);
	a->chain_ttl = a->ttl;
	r->n_addrs++;
	return 0;
}

static int cname_take(struct dns_response *r, const uint8_t *msg, size_t len, const struct rr *rr)
{
	size_t p = rr->owner;
	struct dns_cname *c;
	int e;

	if (r->n_cnames == DNS_MAX_CNAMES)
		return -DNS_E_LIMIT;
	c = &r->cnames[r->n_cnames];
	e = name_take(r, msg, len, &p, &c->owner);
	if (e < 0)
		return e;
	p = rr->rdata;
	e = name_take(r, msg, len, &p, &c->target);
	if (e < 0)
		return e;
	/* the target must fill the record data exactly */
	if (p != rr->rdata + rr->rdlen)
		return -DNS_E_RDATA;
	c->ttl = ttl_norm(rr->ttl);
	r->n_cnames++;
	return 0;
}

static int rr_take(struct dns_response *r, const uint8_t *msg, size_t len, const struct rr *rr, int section)
{
	if (rr->type == DNS_TYPE_OPT)
		return opt_take(msg, len, rr, section, &r->edns);
	/* a type's meaning depends on the class: a Chaosnet "A" is no IP address */
	if (rr->rclass != DNS_CLASS_IN)
		return 0;
	switch (rr->type) {
	case DNS_TYPE_A:
	case DNS_TYPE_AAAA:
		return addr_take(r, msg, len, rr, section);
	case DNS_TYPE_CNAME:
		return section == DNS_SECTION_ANSWER ? cname_take(r, msg, len, rr) : 0;
	default:
		return 0;
	}
}

/*
 * Mark the names reachable from the qname through answer-section CNAMEs, with
 * the smallest CNAME TTL on any path (the conservative choice when a hostile
 * response offers several). Each pass only lowers a TTL or marks a name, and
 * values propagate one edge per pass, so n_cnames + 1 passes reach the fixed
 * point; CNAME loops just stop changing anything.
 */
static void chain_mark(struct dns_response *r)
{
	bool changed = true;

	if (!r->has_question)
		return;
	r->names[0].in_chain = true;
	r->names[0].chain_ttl = UINT32_MAX;
	for (size_t pass = 0; changed && pass <= r->n_cnames; pass++) {
		changed = false;
		for (size_t i = 0; i < r->n_cnames; i++) {
			const struct dns_cname *c = &r->cnames[i];
			const struct dns_name_ref *from = &r->names[c->owner];
			struct dns_name_ref *to = &r->names[c->target];
			uint32_t t;

			if (!from->in_chain)
				continue;
			t = from->chain_ttl < c->ttl ? from->chain_ttl : c->ttl;
			if (!to->in_chain || t < to->chain_ttl) {
				to->in_chain = true;
				to->chain_ttl = t;
				changed = true;
			}
		}
	}
	for (size_t i = 0; i < r->n_addrs; i++) {
		struct dns_addr *a = &r->addrs[i];
		const struct dns_name_ref *n = &r->names[a->owner];

		if (a->section != DNS_SECTION_ANSWER || !n->in_chain)
			continue;
		a->in_chain = true;
		if (n->chain_ttl < a->chain_ttl)
			a->chain_ttl = n->chain_ttl;
	}
}

int dns_parse_response(const uint8_t *msg, size_t len, struct dns_response *r)
{
	size_t pos = DNS_HEADER_LEN;
	unsigned counts[3];
	int e;

	memset(&r->hdr, 0, sizeof(r->hdr));
	r->rcode = 0;
	r->has_question = false;
	question_clear(&r->question);
	edns_clear(&r->edns);
	r->n_addrs = r->n_cnames = r->n_names = r->pool_used = 0;
	if (len > DNS_MSG_MAX)
		return -DNS_E_TOOBIG;
	if (len < DNS_HEADER_LEN)
		return -DNS_E_TRUNCATED;
	header_read(msg, &r->hdr);
	if (!(r->hdr.flags & DNS_FLAG_QR))
		return -DNS_E_QR;
	if (r->hdr.opcode != DNS_OPCODE_QUERY)
		return -DNS_E_OPCODE;
	if (r->hdr.qdcount > 1)
		return -DNS_E_QDCOUNT;
	if (r->hdr.qdcount == 1) {
		uint16_t idx;

		e = question_read(msg, len, &pos, &r->question);
		if (e < 0)
			return e;
		e = name_intern(r, r->question.name, r->question.name_len, &idx);
		if (e < 0)
			return e;
		r->has_question = true; /* and the qname is names[0] */
	}

	counts[0] = r->hdr.ancount;
	counts[1] = r->hdr.nscount;
	counts[2] = r->hdr.arcount;
	for (int s = 0; s < 3; s++) {
		for (unsigned i = 0; i < counts[s]; i++) {
			struct rr rr;

			e = rr_read(msg, len, &pos, &rr);
			if (e < 0)
				return e;
			e = rr_take(r, msg, len, &rr, DNS_SECTION_ANSWER + s);
			if (e < 0)
				return e;
		}
	}
	if (pos != len)
		return -DNS_E_TRAILING;
	r->rcode = (uint16_t)(r->hdr.rcode | r->edns.ext_rcode << 4);
	chain_mark(r);
	return 0;
}

const char *dns_response_name(const struct dns_response *r, uint16_t idx)
{
	if (idx >= r->n_names)
		return "";
	return r->pool + r->names[idx].off;
}

bool dns_question_eq(const struct dns_question *a, const struct dns_question *b)
{
	return a->qtype == b->qtype && a->qclass == b->qclass && a->name_len == b->name_len &&
	       memcmp(a->name, b->name, a->name_len) == 0;
}

/* ---- builders ------------------------------------------------------------------- */

/* A bounded writer: once something does not fit, everything after is dropped and done() fails. */
struct wr {
	uint8_t *p;
	size_t cap, len;
	bool full;
};

static void wr_init(struct wr *w, uint8_t *out, size_t cap)
{
	w->p = out;
	w->cap = cap < DNS_MSG_MAX ? cap : DNS_MSG_MAX;
	w->len = 0;
	w->full = false;
}

static void wr_bytes(struct wr *w, const void *b, size_t n)
{
	if (w->full || w->cap - w->len < n) {
		w->full = true;
		return;
	}
	memcpy(w->p + w->len, b, n);
	w->len += n;
}

static void wr16(struct wr *w, uint16_t v)
{
	uint8_t b[2];

	put16(b, v);
	wr_bytes(w, b, 2);
}

static void wr32(struct wr *w, uint32_t v)
{
	wr16(w, (uint16_t)(v >> 16));
	wr16(w, (uint16_t)v);
}

static int wr_done(const struct wr *w)
{
	return w->full ? -DNS_E_NOSPACE : (int)w->len;
}

/* Reply header: id, opcode and RD from the query; QR and RA set. */
static void wr_reply_header(struct wr *w, const struct dns_query *q, uint16_t flags, uint16_t qd, uint16_t an)
{
	flags |= DNS_FLAG_QR | DNS_FLAG_RA | (uint16_t)((q->hdr.opcode & 0xf) << 11) |
	         (q->hdr.flags & DNS_FLAG_RD);
	wr16(w, q->hdr.id);
	wr16(w, flags);
	wr16(w, qd);
	wr16(w, an);
	wr16(w, 0);
	wr16(w, 0);
}

static void wr_question(struct wr *w, const struct dns_question *qn)
{
	wr_bytes(w, qn->wire, qn->wire_len);
	wr16(w, qn->qtype);
	wr16(w, qn->qclass);
}

int dns_build_error(const struct dns_query *q, unsigned rcode, uint8_t *out, size_t cap)
{
	struct wr w;

	if (rcode > 15)
		return -DNS_E_INVALID;
	wr_init(&w, out, cap);
	wr_reply_header(&w, q, (uint16_t)rcode, q->has_question ? 1 : 0, 0);
	if (q->has_question)
		wr_question(&w, &q->question);
	return wr_done(&w);
}

int dns_build_answer(const struct dns_query *q, const struct dns_ip *ips, size_t n, uint32_t ttl,
                     uint8_t *out, size_t cap)
{
	const struct dns_question *qn = &q->question;
	uint8_t family;
	size_t alen, count = 0;
	struct wr w;

	if (!q->has_question || q->hdr.opcode != DNS_OPCODE_QUERY || qn->qclass != DNS_CLASS_IN ||
	    ttl > DNS_TTL_MAX)
		return -DNS_E_INVALID;
	if (qn->qtype == DNS_TYPE_A) {
		family = AF_INET;
		alen = 4;
	} else if (qn->qtype == DNS_TYPE_AAAA) {
		family = AF_INET6;
		alen = 16;
	} else {
		return -DNS_E_INVALID;
	}
	for (size_t i = 0; i < n; i++) {
		if (ips[i].family != AF_INET && ips[i].family != AF_INET6)
			return -DNS_E_INVALID;
		count += ips[i].family == family;
	}
	if (count > UINT16_MAX)
		return -DNS_E_NOSPACE;

	wr_init(&w, out, cap);
	wr_reply_header(&w, q, DNS_FLAG_AA, 1, (uint16_t)count);
	wr_question(&w, qn);
	for (size_t i = 0; i < n && !w.full; i++) {
		if (ips[i].family != family)
			continue;
		wr16(&w, 0xc000 | DNS_HEADER_LEN); /* owner: the question's name */
		wr16(&w, qn->qtype);
		wr16(&w, DNS_CLASS_IN);
		wr32(&w, ttl);
		wr16(&w, (uint16_t)alen);
		wr_bytes(&w, ips[i].addr, alen);
	}
	return wr_done(&w);
}

int dns_build_truncated(const struct dns_query *q, uint8_t *out, size_t cap)
{
	struct wr w;

	wr_init(&w, out, cap);
	wr_reply_header(&w, q, DNS_FLAG_TC | DNS_RCODE_NOERROR, 0, 0);
	return wr_done(&w);
}

int dns_name_to_wire(const char *text, uint8_t *wire, size_t cap)
{
	uint8_t buf[DNS_NAME_WIRE_MAX];
	const char *s = text;
	size_t wl = 0;

	if (s[0] == '.' && s[1] == '\0')
		s++;
	while (*s) {
		size_t len_at = wl++, n = 0;

		while (*s && *s != '.') {
			unsigned b;

			if (*s == '\\') {
				s++;
				if (ascii_digit(s[0])) {
					if (!ascii_digit(s[1]) || !ascii_digit(s[2]))
						return -DNS_E_INVALID;
					b = (unsigned)(s[0] - '0') * 100 + (unsigned)(s[1] - '0') * 10 +
					    (unsigned)(s[2] - '0');
					if (b > 255)
						return -DNS_E_INVALID;
					s += 3;
				} else if (*s) {
					b = (uint8_t)*s++;
				} else {
					return -DNS_E_INVALID;
				}
			} else {
				b = (uint8_t)*s++;
			}
			/* label limit, and room for this byte plus the root octet */
			if (n == DNS_LABEL_MAX || wl + 2 > DNS_NAME_WIRE_MAX)
				return -DNS_E_INVALID;
			buf[wl++] = (uint8_t)b;
			n++;
		}
		if (n == 0)
			return -DNS_E_INVALID; /* empty label: leading dot or ".." */
		buf[len_at] = (uint8_t)n;
		if (*s == '.')
			s++;
	}
	buf[wl++] = 0;
	if (cap < wl)
		return -DNS_E_NOSPACE;
	memcpy(wire, buf, wl);
	return (int)wl;
}

int dns_build_query(uint16_t id, const char *name, uint16_t qtype, bool rd, uint8_t *out, size_t cap)
{
	uint8_t wire[DNS_NAME_WIRE_MAX];
	int wl = dns_name_to_wire(name, wire, sizeof(wire));
	struct wr w;

	if (wl < 0)
		return wl;
	wr_init(&w, out, cap);
	wr16(&w, id);
	wr16(&w, rd ? DNS_FLAG_RD : 0);
	wr16(&w, 1);
	wr16(&w, 0);
	wr16(&w, 0);
	wr16(&w, 0);
	wr_bytes(&w, wire, (size_t)wl);
	wr16(&w, qtype);
	wr16(&w, DNS_CLASS_IN);
	return wr_done(&w);
}

int dns_set_id(uint8_t *msg, size_t len, uint16_t id)
{
	if (len < DNS_HEADER_LEN)
		return -DNS_E_TRUNCATED;
	put16(msg, id);
	return 0;
}

/* ---- TCP framing ------------------------------------------------------------------ */

int dns_tcp_frame(const uint8_t *buf, size_t len, size_t max, const uint8_t **msg, size_t *msg_len)
{
	size_t n;

	if (len < 2)
		return 0;
	n = get16(buf);
	if (msg_len)
		*msg_len = n;
	if (n < DNS_HEADER_LEN)
		return -DNS_E_TRUNCATED;
	if (n > max)
		return -DNS_E_TOOBIG;
	if (len - 2 < n)
		return 0;
	if (msg)
		*msg = buf + 2;
	return (int)(n + 2);
}

int dns_tcp_put_len(uint8_t out[2], size_t msg_len)
{
	if (msg_len > DNS_MSG_MAX)
		return -DNS_E_TOOBIG;
	put16(out, (uint16_t)msg_len);
	return 0;
}

/* ---- name helpers ------------------------------------------------------------------ */

/* Length of name text without one trailing dot, unless that dot is escaped ("a\."). */
static size_t text_len_sans_dot(const char *s)
{
	size_t n = strlen(s), k = 0;

	if (n == 0 || s[n - 1] != '.')
		return n;
	/* an odd run of backslashes before the dot escapes it; escapes never end in a backslash otherwise */
	while (k < n - 1 && s[n - 2 - k] == '\\')
		k++;
	return k % 2 ? n : n - 1;
}

static bool text_eq_n(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

bool dns_name_eq(const char *a, const char *b)
{
	size_t la = text_len_sans_dot(a), lb = text_len_sans_dot(b);

	return la == lb && text_eq_n(a, b, la);
}

bool dns_name_in_zone(const char *name, const char *zone)
{
	size_t ln = text_len_sans_dot(name), lz = text_len_sans_dot(zone), i = 0;

	if (lz == 0)
		return true;
	/* visit each label start; only the one leaving exactly lz bytes can match */
	while (i < ln) {
		if (ln - i == lz)
			return text_eq_n(name + i, zone, lz);
		if (ln - i < lz)
			return false;
		while (i < ln && name[i] != '.') {
			if (name[i] == '\\')
				i += ascii_digit(name[i + 1]) ? 4 : 2;
			else
				i++;
		}
		i++;
	}
	return false;
}
