// SPDX-License-Identifier: Apache-2.0
/*
 * proto.c - encoder and bounds-checked decoder for msb's framed protocol.
 *
 * The decoder never trusts a length: a header whose length exceeds
 * PROTO_MAX_PAYLOAD is rejected before anything is buffered, and each field
 * must fit inside the payload that was actually received. Fields point into
 * the reader's buffer; nothing is copied until a caller asks for a string.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "util.h"

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void enc_reserve(struct proto_enc *e, size_t n)
{
	if (e->len + n > e->cap) {
		size_t cap = e->cap ? e->cap : 256;
		while (cap < e->len + n)
			cap *= 2;
		e->buf = xrealloc(e->buf, cap);
		e->cap = cap;
	}
}

void proto_enc_begin(struct proto_enc *e, uint16_t type, uint32_t session)
{
	enc_reserve(e, PROTO_HDR_LEN);
	e->frame_start = e->len;
	put_u32(e->buf + e->len, 0);
	put_u32(e->buf + e->len + 4, session);
	put_u16(e->buf + e->len + 8, type);
	put_u16(e->buf + e->len + 10, 0);
	e->len += PROTO_HDR_LEN;
}

void proto_enc_bytes(struct proto_enc *e, uint16_t tag, const void *p, size_t n)
{
	enc_reserve(e, 6 + n);
	put_u16(e->buf + e->len, tag);
	put_u32(e->buf + e->len + 2, (uint32_t)n);
	if (n)
		memcpy(e->buf + e->len + 6, p, n);
	e->len += 6 + n;
}

void proto_enc_str(struct proto_enc *e, uint16_t tag, const char *s)
{
	proto_enc_bytes(e, tag, s, strlen(s));
}

void proto_enc_u32(struct proto_enc *e, uint16_t tag, uint32_t v)
{
	uint8_t b[4];
	put_u32(b, v);
	proto_enc_bytes(e, tag, b, 4);
}

void proto_enc_i32(struct proto_enc *e, uint16_t tag, int32_t v)
{
	proto_enc_u32(e, tag, (uint32_t)v);
}

void proto_enc_u64(struct proto_enc *e, uint16_t tag, uint64_t v)
{
	uint8_t b[8];
	put_u32(b, (uint32_t)(v >> 32));
	put_u32(b + 4, (uint32_t)v);
	proto_enc_bytes(e, tag, b, 8);
}

void proto_enc_end(struct proto_enc *e)
{
	size_t plen = e->len - e->frame_start - PROTO_HDR_LEN;
	/* Our own encoders never build oversize frames; data is chunked by callers. */
	if (plen > PROTO_MAX_PAYLOAD)
		abort();
	put_u32(e->buf + e->frame_start, (uint32_t)plen);
}

void proto_enc_reset(struct proto_enc *e)
{
	e->len = 0;
	e->frame_start = 0;
}

void proto_enc_free(struct proto_enc *e)
{
	free(e->buf);
	memset(e, 0, sizeof(*e));
}

int proto_parse_hdr(const uint8_t hdr[PROTO_HDR_LEN], struct proto_hdr *out)
{
	out->len = get_u32(hdr);
	out->session = get_u32(hdr + 4);
	out->type = get_u16(hdr + 8);
	out->flags = get_u16(hdr + 10);
	if (out->len > PROTO_MAX_PAYLOAD || out->type == 0 || out->type >= PROTO_TYPE_COUNT)
		return -EBADMSG;
	return 0;
}

int proto_parse_payload(const uint8_t *p, size_t len, struct proto_msg *msg)
{
	size_t off = 0;

	msg->n = 0;
	while (off < len) {
		uint32_t flen;
		if (len - off < 6 || msg->n >= PROTO_MAX_FIELDS)
			return -EBADMSG;
		flen = get_u32(p + off + 2);
		if (flen > len - off - 6)
			return -EBADMSG;
		msg->f[msg->n].tag = get_u16(p + off);
		msg->f[msg->n].len = flen;
		msg->f[msg->n].val = p + off + 6;
		msg->n++;
		off += 6 + (size_t)flen;
	}
	return 0;
}

const struct proto_field *proto_get(const struct proto_msg *m, uint16_t tag)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->f[i].tag == tag)
			return &m->f[i];
	return NULL;
}

size_t proto_count(const struct proto_msg *m, uint16_t tag)
{
	size_t c = 0;
	for (size_t i = 0; i < m->n; i++)
		c += m->f[i].tag == tag;
	return c;
}

int proto_field_is_str(const struct proto_field *f)
{
	return f && memchr(f->val, '\0', f->len) == NULL;
}

int proto_get_str(const struct proto_msg *m, uint16_t tag, char *out, size_t outlen)
{
	const struct proto_field *f = proto_get(m, tag);
	if (!proto_field_is_str(f))
		return -EBADMSG;
	if (f->len >= outlen)
		return -ENAMETOOLONG;
	memcpy(out, f->val, f->len);
	out[f->len] = '\0';
	return 0;
}

int proto_get_u32(const struct proto_msg *m, uint16_t tag, uint32_t *out)
{
	const struct proto_field *f = proto_get(m, tag);
	if (!f || f->len != 4)
		return -EBADMSG;
	*out = get_u32(f->val);
	return 0;
}

int proto_get_i32(const struct proto_msg *m, uint16_t tag, int32_t *out)
{
	uint32_t v;
	int r = proto_get_u32(m, tag, &v);
	if (r == 0)
		*out = (int32_t)v;
	return r;
}

int proto_get_u64(const struct proto_msg *m, uint16_t tag, uint64_t *out)
{
	const struct proto_field *f = proto_get(m, tag);
	if (!f || f->len != 8)
		return -EBADMSG;
	*out = ((uint64_t)get_u32(f->val) << 32) | get_u32(f->val + 4);
	return 0;
}

long proto_reader_fill(struct proto_reader *r, int fd)
{
	ssize_t n;
	size_t want = PROTO_HDR_LEN + PROTO_MAX_PAYLOAD;

	if (!r->buf) {
		r->cap = want;
		r->buf = xmalloc(r->cap);
	}
	if (r->len >= r->cap)
		return -ENOBUFS;
	do
		n = read(fd, r->buf + r->len, r->cap - r->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	r->len += (size_t)n;
	return n;
}

int proto_reader_next(struct proto_reader *r, struct proto_msg *msg)
{
	if (r->len < PROTO_HDR_LEN)
		return 0;
	if (proto_parse_hdr(r->buf, &msg->hdr) < 0)
		return -EBADMSG;
	if (r->len < PROTO_HDR_LEN + (size_t)msg->hdr.len)
		return 0;
	if (proto_parse_payload(r->buf + PROTO_HDR_LEN, msg->hdr.len, msg) < 0)
		return -EBADMSG;
	return 1;
}

void proto_reader_consume(struct proto_reader *r, const struct proto_msg *msg)
{
	size_t used = PROTO_HDR_LEN + (size_t)msg->hdr.len;
	if (used > r->len)
		abort();
	memmove(r->buf, r->buf + used, r->len - used);
	r->len -= used;
}

void proto_reader_free(struct proto_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

int proto_write_enc(int fd, struct proto_enc *e)
{
	int r = util_write_all(fd, e->buf, e->len);
	proto_enc_reset(e);
	return r;
}
