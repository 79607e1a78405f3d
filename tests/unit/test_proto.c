// SPDX-License-Identifier: Apache-2.0
/*
 * test_proto.c - unit tests for the framed host<->agent protocol
 * (src/lib/proto.c).
 *
 * The first cases pin the wire format byte by byte, so that the decoder
 * tests below do not depend on our own encoder being right. Then every
 * field type makes an encode/decode round trip, several frames share one
 * buffer, and the incremental reader is fed one byte at a time through a
 * socketpair (and a maximum-size frame through a pipe). Every rejection
 * proto.h documents has a case: oversize length, type 0 and types past
 * PROTO_TYPE_COUNT, a field running past the payload, a truncated field
 * header, too many fields, bad strings and wrong integer sizes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"
#include "tap.h"

/* struct proto_msg holds PROTO_MAX_FIELDS fields: too big for the stack of a test. */
static struct proto_msg msg;

/* ---- a raw writer, independent of proto_enc ----------------------------------------- */

struct raw {
	uint8_t b[1 << 16];
	size_t n;
};

static void raw8(struct raw *r, unsigned v)
{
	if (r->n >= sizeof(r->b))
		abort();
	r->b[r->n++] = (uint8_t)v;
}

static void raw16(struct raw *r, unsigned v)
{
	raw8(r, v >> 8);
	raw8(r, v);
}

static void raw32(struct raw *r, uint32_t v)
{
	raw16(r, v >> 16);
	raw16(r, v & 0xffff);
}

static void raw_field(struct raw *r, unsigned tag, uint32_t len, const void *p, size_t n)
{
	raw16(r, tag);
	raw32(r, len);
	for (size_t i = 0; i < n; i++)
		raw8(r, ((const uint8_t *)p)[i]);
}

/* Parse a payload held in @r (no header) with the given type. */
static int parse_raw(const struct raw *r, uint16_t type)
{
	memset(&msg.hdr, 0, sizeof(msg.hdr));
	msg.hdr.type = type;
	msg.hdr.len = (uint32_t)r->n;
	return proto_parse_payload(r->b, r->n, &msg);
}

/* Parse the single whole frame at @p (header + payload) into msg. */
static int parse_frame(const uint8_t *p, size_t n)
{
	int rc = proto_parse_hdr(p, &msg.hdr);

	if (rc < 0)
		return rc;
	if (n < PROTO_HDR_LEN + (size_t)msg.hdr.len)
		return -EMSGSIZE;
	return proto_parse_payload(p + PROTO_HDR_LEN, msg.hdr.len, &msg);
}

/* ---- wire format ---------------------------------------------------------------------- */

static void test_wire_format(void)
{
	/* clang-format off */
	static const uint8_t want[] = {
		0x00, 0x00, 0x00, 0x12,				/* len 18 */
		0x01, 0x02, 0x03, 0x04,				/* session */
		0x00, 0x05,					/* type STDOUT */
		0x00, 0x00,					/* flags */
		0x00, T_DATA, 0x00, 0x00, 0x00, 0x02, 'h', 'i',	/* DATA "hi" */
		0x00, T_PID, 0x00, 0x00, 0x00, 0x04,		/* PID */
		0xde, 0xad, 0xbe, 0xef,
	};
	/* clang-format on */
	struct proto_enc e = {0};

	proto_enc_begin(&e, PROTO_STDOUT, 0x01020304);
	proto_enc_bytes(&e, T_DATA, "hi", 2);
	proto_enc_u32(&e, T_PID, 0xdeadbeef);
	proto_enc_end(&e);
	is_int(e.len, sizeof(want), "encoded frame has header + two fields");
	ok(e.len == sizeof(want) && memcmp(e.buf, want, sizeof(want)) == 0,
	   "encoded bytes are big-endian as documented");

	is_int(parse_frame(want, sizeof(want)), 0, "hand-written frame parses");
	is_int(msg.hdr.len, 18, "header len");
	is_int(msg.hdr.session, 0x01020304, "header session");
	is_int(msg.hdr.type, PROTO_STDOUT, "header type");
	is_int(msg.hdr.flags, 0, "header flags");
	is_int(msg.n, 2, "two fields");
	is_int(msg.f[0].tag, T_DATA, "field 0 tag");
	is_int(msg.f[0].len, 2, "field 0 len");
	ok(msg.f[0].val == want + 18, "field 0 points into the buffer (borrowed, not copied)");
	is_int(msg.f[1].tag, T_PID, "field 1 tag");
	proto_enc_free(&e);
	ok(e.buf == NULL && e.len == 0 && e.cap == 0, "proto_enc_free clears the encoder");
}

static void test_hdr_flags(void)
{
	uint8_t h[PROTO_HDR_LEN] = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, PROTO_PING, 0xab, 0xcd};
	struct proto_hdr out;

	is_int(proto_parse_hdr(h, &out), 0, "header with flags parses");
	is_int(out.flags, 0xabcd, "flags decoded");
	is_int(out.session, 0xffffffffu, "all-ones session decoded");
	is_int(out.len, 0, "empty payload");
}

/* ---- round trips ---------------------------------------------------------------------- */

static void test_roundtrip_types(void)
{
	static const uint8_t bin[] = {0, 1, 2, 0xff, 0, 0x80};
	struct proto_enc e = {0};
	char s[64];
	uint32_t u32;
	uint64_t u64;
	int32_t i32;
	const struct proto_field *f;

	proto_enc_begin(&e, PROTO_EXEC, 7);
	proto_enc_bytes(&e, T_DATA, bin, sizeof(bin));
	proto_enc_bytes(&e, T_STDIN_NULL, NULL, 0);
	proto_enc_str(&e, T_ARG, "/bin/echo");
	proto_enc_str(&e, T_ARG, "");
	proto_enc_str(&e, T_ENV, "A=b c\td\xc3\xa9");
	proto_enc_u32(&e, T_ROWS, 0);
	proto_enc_u32(&e, T_COLS, 0xffffffffu);
	proto_enc_u64(&e, T_SIZE, 0x0123456789abcdefULL);
	proto_enc_u64(&e, T_MODE, UINT64_MAX);
	proto_enc_i32(&e, T_CODE, -1);
	proto_enc_i32(&e, T_SIGNAL, INT32_MIN);
	proto_enc_i32(&e, T_ERRNO, INT32_MAX);
	proto_enc_end(&e);

	is_int(parse_frame(e.buf, e.len), 0, "frame with every field type parses");
	is_int(msg.hdr.type, PROTO_EXEC, "type survives");
	is_int(msg.hdr.session, 7, "session survives");
	is_int(msg.hdr.len, e.len - PROTO_HDR_LEN, "len is the payload length");
	is_int(msg.n, 12, "twelve fields");

	f = proto_get(&msg, T_DATA);
	ok(f && f->len == sizeof(bin) && memcmp(f->val, bin, sizeof(bin)) == 0, "binary bytes round-trip");
	ok(!proto_field_is_str(f), "binary field with NUL is not a string");
	f = proto_get(&msg, T_STDIN_NULL);
	ok(f && f->len == 0, "empty bytes field round-trips");
	ok(proto_field_is_str(f), "empty field is a valid string");
	is_int(proto_get_str(&msg, T_STDIN_NULL, s, sizeof(s)), 0, "empty field reads as a string");
	is_str(s, "", "empty string");

	is_int(proto_get_str(&msg, T_ARG, s, sizeof(s)), 0, "string reads");
	is_str(s, "/bin/echo", "proto_get returns the first of repeated tags");
	is_int(proto_count(&msg, T_ARG), 2, "proto_count counts repeated tags");
	is_int(proto_count(&msg, T_CWD), 0, "proto_count of an absent tag");
	ok(proto_get(&msg, T_CWD) == NULL, "absent tag: proto_get returns NULL");
	ok(!proto_field_is_str(NULL), "proto_field_is_str(NULL) is false");
	is_int(proto_get_str(&msg, T_ENV, s, sizeof(s)), 0, "string with UTF-8 and tab reads");
	is_str(s, "A=b c\td\xc3\xa9", "string bytes round-trip");

	is_int(proto_get_u32(&msg, T_ROWS, &u32), 0, "u32 0 reads");
	is_int(u32, 0, "u32 0 round-trips");
	is_int(proto_get_u32(&msg, T_COLS, &u32), 0, "u32 max reads");
	is_int(u32, 0xffffffffu, "u32 max round-trips");
	is_int(proto_get_u64(&msg, T_SIZE, &u64), 0, "u64 reads");
	ok(u64 == 0x0123456789abcdefULL, "u64 round-trips with both halves in order");
	is_int(proto_get_u64(&msg, T_MODE, &u64), 0, "u64 max reads");
	ok(u64 == UINT64_MAX, "u64 max round-trips");
	is_int(proto_get_i32(&msg, T_CODE, &i32), 0, "i32 -1 reads");
	is_int(i32, -1, "i32 -1 round-trips");
	is_int(proto_get_i32(&msg, T_SIGNAL, &i32), 0, "i32 min reads");
	is_int(i32, INT32_MIN, "i32 min round-trips");
	is_int(proto_get_i32(&msg, T_ERRNO, &i32), 0, "i32 max reads");
	is_int(i32, INT32_MAX, "i32 max round-trips");
	is_int(proto_get_u32(&msg, T_CODE, &u32), 0, "i32 field reads as u32");
	is_int(u32, 0xffffffffu, "i32 -1 is two's complement on the wire");
	proto_enc_free(&e);
}

static void test_empty_frame(void)
{
	struct proto_enc e = {0};

	proto_enc_begin(&e, PROTO_PING, 0);
	proto_enc_end(&e);
	is_int(e.len, PROTO_HDR_LEN, "empty frame is just a header");
	is_int(parse_frame(e.buf, e.len), 0, "empty frame parses");
	is_int(msg.n, 0, "no fields");
	ok(proto_get(&msg, T_PID) == NULL, "nothing to get");
	proto_enc_free(&e);
}

static void test_multiple_frames(void)
{
	struct proto_enc e = {0};
	size_t off = 0, k = 0;
	uint32_t v;
	char s[16];

	for (uint32_t i = 0; i < 5; i++) {
		proto_enc_begin(&e, (uint16_t)(PROTO_STDOUT + (i & 1)), 100 + i);
		for (uint32_t j = 0; j < i; j++)
			proto_enc_u32(&e, T_PID, i * 10 + j);
		snprintf(s, sizeof(s), "frame%u", (unsigned)i);
		proto_enc_str(&e, T_MSG, s);
		proto_enc_end(&e);
	}
	while (off < e.len) {
		char got[16];
		int rc = parse_frame(e.buf + off, e.len - off);

		if (rc < 0)
			break;
		snprintf(s, sizeof(s), "frame%u", (unsigned)k);
		ok(msg.hdr.session == 100 + k && msg.hdr.type == PROTO_STDOUT + (k & 1), "frame %zu header",
		   k);
		ok(msg.n == k + 1 && proto_count(&msg, T_PID) == k, "frame %zu has %zu fields", k, k + 1);
		ok(proto_get_str(&msg, T_MSG, got, sizeof(got)) == 0 && strcmp(got, s) == 0,
		   "frame %zu string", k);
		if (k)
			ok(proto_get_u32(&msg, T_PID, &v) == 0 && v == k * 10, "frame %zu first u32", k);
		off += PROTO_HDR_LEN + msg.hdr.len;
		k++;
	}
	is_int(k, 5, "five frames decoded from one buffer");
	is_int(off, e.len, "frames tile the buffer exactly");

	proto_enc_reset(&e);
	is_int(e.len, 0, "proto_enc_reset empties the encoder");
	ok(e.buf != NULL, "proto_enc_reset keeps the buffer");
	proto_enc_free(&e);
}

/* ---- the incremental reader ----------------------------------------------------------- */

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void test_reader_bytewise(void)
{
	struct proto_reader r = {0};
	struct proto_enc e = {0};
	uint8_t big[5000];
	int sv[2];
	size_t frames = 0, partial_zero = 0, bad = 0;
	long n;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		ok(0, "socketpair: %s", strerror(errno));
		return;
	}
	set_nonblock(sv[1]);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	proto_enc_begin(&e, PROTO_HELLO, 1);
	proto_enc_u32(&e, T_VERSION, PROTO_VERSION);
	proto_enc_u32(&e, T_PID, 42);
	proto_enc_end(&e);
	proto_enc_begin(&e, PROTO_PONG, 2);
	proto_enc_end(&e);
	proto_enc_begin(&e, PROTO_FS_DATA, 3);
	proto_enc_bytes(&e, T_DATA, big, sizeof(big));
	proto_enc_end(&e);

	is_int(proto_reader_fill(&r, sv[1]), -EAGAIN, "fill with nothing available: -EAGAIN");
	is_int(proto_reader_next(&r, &msg), 0, "next on an empty reader: incomplete");
	for (size_t i = 0; i < e.len; i++) {
		int rc;

		if (write(sv[0], e.buf + i, 1) != 1)
			break;
		n = proto_reader_fill(&r, sv[1]);
		if (n != 1)
			bad++;
		rc = proto_reader_next(&r, &msg);
		if (rc == 0) {
			partial_zero++;
			continue;
		}
		if (rc != 1) {
			bad++;
			break;
		}
		switch (frames++) {
		case 0: {
			uint32_t v = 0, p = 0;
			ok(msg.hdr.type == PROTO_HELLO && msg.hdr.session == 1, "bytewise: HELLO header");
			ok(proto_get_u32(&msg, T_VERSION, &v) == 0 && v == PROTO_VERSION,
			   "bytewise: HELLO version");
			ok(proto_get_u32(&msg, T_PID, &p) == 0 && p == 42, "bytewise: HELLO pid");
			is_int(r.len, PROTO_HDR_LEN + msg.hdr.len,
			       "frame completes exactly on its last byte");
			break;
		}
		case 1:
			ok(msg.hdr.type == PROTO_PONG && msg.n == 0,
			   "bytewise: empty PONG completes with its header");
			break;
		case 2: {
			const struct proto_field *f = proto_get(&msg, T_DATA);
			ok(msg.hdr.type == PROTO_FS_DATA && f && f->len == sizeof(big) &&
			       memcmp(f->val, big, sizeof(big)) == 0,
			   "bytewise: 5000-byte DATA intact");
			break;
		}
		}
		proto_reader_consume(&r, &msg);
		is_int(r.len, 0, "consume drops the frame");
	}
	is_int(bad, 0, "every one-byte fill returned 1 and no frame was rejected");
	is_int(frames, 3, "three frames out of one-byte reads");
	is_int(partial_zero, e.len - 3, "every other byte left the frame incomplete");

	/* Two frames arriving in one read: both come out before the next fill. */
	proto_enc_reset(&e);
	proto_enc_begin(&e, PROTO_SIGNAL, 9);
	proto_enc_i32(&e, T_SIGNAL, 15);
	proto_enc_end(&e);
	proto_enc_begin(&e, PROTO_RESIZE, 9);
	proto_enc_u32(&e, T_ROWS, 50);
	proto_enc_u32(&e, T_COLS, 132);
	proto_enc_end(&e);
	is_int(proto_write_enc(sv[0], &e), 0, "proto_write_enc writes queued frames");
	is_int(e.len, 0, "proto_write_enc resets the encoder");
	n = proto_reader_fill(&r, sv[1]);
	ok(n > 0, "fill reads both frames at once");
	ok(proto_reader_next(&r, &msg) == 1 && msg.hdr.type == PROTO_SIGNAL, "first of two frames");
	proto_reader_consume(&r, &msg);
	ok(proto_reader_next(&r, &msg) == 1 && msg.hdr.type == PROTO_RESIZE, "second of two frames");
	proto_reader_consume(&r, &msg);
	is_int(proto_reader_next(&r, &msg), 0, "nothing left");

	close(sv[0]);
	is_int(proto_reader_fill(&r, sv[1]), 0, "fill returns 0 on EOF");
	close(sv[1]);
	is_int(proto_reader_fill(&r, sv[1]), -EBADF, "fill on a closed fd returns -errno");
	proto_reader_free(&r);
	ok(r.buf == NULL && r.len == 0, "proto_reader_free clears the reader");
	proto_enc_free(&e);
}

/* A frame of exactly PROTO_MAX_PAYLOAD bytes fits the reader's buffer. */
static void test_reader_max_frame(void)
{
	struct proto_reader r = {0};
	struct proto_enc e = {0};
	uint8_t *data = calloc(1, PROTO_MAX_PAYLOAD);
	size_t off = 0, idle = 0;
	int p[2], got = 0;

	if (!data || pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		ok(0, "setup: %s", strerror(errno));
		free(data);
		return;
	}
	data[0] = 0x5a;
	data[PROTO_MAX_PAYLOAD - 7] = 0xa5;
	proto_enc_begin(&e, PROTO_STDOUT, 5);
	proto_enc_bytes(&e, T_DATA, data, PROTO_MAX_PAYLOAD - 6);
	proto_enc_end(&e);
	proto_enc_begin(&e, PROTO_EXITED, 5);
	proto_enc_i32(&e, T_CODE, 3);
	proto_enc_end(&e);
	is_int(e.len, 2 * PROTO_HDR_LEN + PROTO_MAX_PAYLOAD + 10, "maximum frame and a small one encoded");
	/* Write what the pipe takes, read what it holds, until both frames are out. */
	while (got < 2 && idle < 2) {
		ssize_t w = off < e.len ? write(p[1], e.buf + off, e.len - off) : 0;
		long n = proto_reader_fill(&r, p[0]);
		int rc;

		if (w > 0)
			off += (size_t)w;
		if (n < 0 && n != -EAGAIN)
			break;
		idle = w <= 0 && n <= 0 ? idle + 1 : 0;
		while ((rc = proto_reader_next(&r, &msg)) == 1) {
			const struct proto_field *f = proto_get(&msg, T_DATA);
			int32_t code;

			if (got == 0)
				ok(f && f->len == PROTO_MAX_PAYLOAD - 6 && f->val[0] == 0x5a &&
				       f->val[PROTO_MAX_PAYLOAD - 7] == 0xa5,
				   "maximum-size frame read whole");
			else
				ok(proto_get_i32(&msg, T_CODE, &code) == 0 && code == 3,
				   "frame after it intact");
			got++;
			proto_reader_consume(&r, &msg);
		}
		if (rc < 0) {
			ok(0, "reader rejected a valid stream: %d", rc);
			break;
		}
	}
	is_int(got, 2, "both frames delivered");
	close(p[0]);
	close(p[1]);
	proto_reader_free(&r);
	proto_enc_free(&e);
	free(data);
}

/* The reader rejects a bad header as soon as the 12 bytes are in, before any payload. */
static void test_reader_rejects(void)
{
	struct proto_reader r = {0};
	uint8_t h[PROTO_HDR_LEN] = {0};
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		ok(0, "socketpair: %s", strerror(errno));
		return;
	}
	h[0] = 0x00, h[1] = 0x10, h[2] = 0x00, h[3] = 0x01; /* PROTO_MAX_PAYLOAD + 1 */
	h[9] = PROTO_STDIN;
	ok(write(sv[0], h, sizeof(h)) == (ssize_t)sizeof(h), "write oversize header");
	is_int(proto_reader_fill(&r, sv[1]), PROTO_HDR_LEN, "fill reads the header");
	is_int(proto_reader_next(&r, &msg), -EBADMSG,
	       "reader rejects len > PROTO_MAX_PAYLOAD from the header alone");
	proto_reader_free(&r);

	memset(h, 0, sizeof(h));
	h[3] = 7; /* payload: a 6-byte field header and one value byte */
	h[9] = PROTO_STDIN;
	ok(write(sv[0], h, sizeof(h)) == (ssize_t)sizeof(h), "write header of a 7-byte payload");
	ok(write(sv[0], "\x00\x0f\x00\x00\x00\x02Z", 7) == 7,
	   "write a field claiming 2 bytes with 1 present");
	is_int(proto_reader_fill(&r, sv[1]), PROTO_HDR_LEN + 7, "fill reads the whole frame");
	is_int(proto_reader_next(&r, &msg), -EBADMSG, "reader rejects a field running past the payload");
	proto_reader_free(&r);
	close(sv[0]);
	close(sv[1]);
}

/* ---- header rejections ---------------------------------------------------------------- */

static void hdr(uint8_t h[PROTO_HDR_LEN], uint32_t len, uint16_t type)
{
	memset(h, 0, PROTO_HDR_LEN);
	h[0] = (uint8_t)(len >> 24);
	h[1] = (uint8_t)(len >> 16);
	h[2] = (uint8_t)(len >> 8);
	h[3] = (uint8_t)len;
	h[8] = (uint8_t)(type >> 8);
	h[9] = (uint8_t)type;
}

static void test_hdr_rejects(void)
{
	uint8_t h[PROTO_HDR_LEN];
	struct proto_hdr out;

	hdr(h, PROTO_MAX_PAYLOAD, PROTO_STDOUT);
	is_int(proto_parse_hdr(h, &out), 0, "len == PROTO_MAX_PAYLOAD accepted");
	hdr(h, PROTO_MAX_PAYLOAD + 1, PROTO_STDOUT);
	is_int(proto_parse_hdr(h, &out), -EBADMSG, "len == PROTO_MAX_PAYLOAD + 1 rejected");
	hdr(h, 0xffffffffu, PROTO_STDOUT);
	is_int(proto_parse_hdr(h, &out), -EBADMSG, "len == 0xffffffff rejected");
	hdr(h, 0x80000000u, PROTO_STDOUT);
	is_int(proto_parse_hdr(h, &out), -EBADMSG, "len with the top bit set rejected");
	hdr(h, 0, 0);
	is_int(proto_parse_hdr(h, &out), -EBADMSG, "type 0 rejected");
	hdr(h, 0, 1);
	is_int(proto_parse_hdr(h, &out), 0, "type 1 accepted");
	hdr(h, 0, PROTO_TYPE_COUNT - 1);
	is_int(proto_parse_hdr(h, &out), 0, "type PROTO_TYPE_COUNT - 1 accepted");
	hdr(h, 0, PROTO_TYPE_COUNT);
	is_int(proto_parse_hdr(h, &out), -EBADMSG, "type PROTO_TYPE_COUNT rejected");
	hdr(h, 0, 0x100 | PROTO_PING);
	is_int(proto_parse_hdr(h, &out), -EBADMSG, "type with a high byte rejected (big-endian type)");
	hdr(h, 0, 0xffff);
	is_int(proto_parse_hdr(h, &out), -EBADMSG, "type 0xffff rejected");
}

/* ---- payload rejections --------------------------------------------------------------- */

static void test_payload_rejects(void)
{
	struct raw r;

	r.n = 0;
	raw_field(&r, T_DATA, 5, "abcd", 4);
	is_int(parse_raw(&r, PROTO_STDOUT), -EBADMSG, "field len one past the payload rejected");
	r.n = 0;
	raw_field(&r, T_DATA, 4, "abcd", 4);
	is_int(parse_raw(&r, PROTO_STDOUT), 0, "field len exactly the payload accepted");
	r.n = 0;
	raw_field(&r, T_DATA, 0xffffffffu, "abcd", 4);
	is_int(parse_raw(&r, PROTO_STDOUT), -EBADMSG, "field len 0xffffffff rejected");
	r.n = 0;
	raw_field(&r, T_DATA, 0xfffffffau, "abcd", 4);
	is_int(parse_raw(&r, PROTO_STDOUT), -EBADMSG, "field len that wraps with the header size rejected");
	r.n = 0;
	raw_field(&r, T_PID, 4, "\0\0\0\1", 4);
	raw_field(&r, T_DATA, 3, "ab", 2);
	is_int(parse_raw(&r, PROTO_STDOUT), -EBADMSG, "second field running past the payload rejected");

	for (size_t cut = 1; cut < 6; cut++) {
		r.n = 0;
		raw_field(&r, T_DATA, 0, NULL, 0);
		r.n = cut;
		is_int(parse_raw(&r, PROTO_STDOUT), -EBADMSG,
		       "truncated field header (%zu of 6 bytes) rejected", cut);
	}
	r.n = 0;
	raw_field(&r, T_DATA, 2, "ok", 2);
	raw16(&r, T_PID);
	raw8(&r, 0);
	is_int(parse_raw(&r, PROTO_STDOUT), -EBADMSG, "valid field then a truncated header rejected");

	/* A length that would be accepted by a check against the whole frame, but not the payload. */
	{
		uint8_t frame[PROTO_HDR_LEN + 6 + 4 + 8];

		hdr(frame, 10, PROTO_STDOUT);
		frame[12] = 0, frame[13] = T_DATA, frame[14] = 0, frame[15] = 0, frame[16] = 0, frame[17] = 8;
		memset(frame + 18, 'x', sizeof(frame) - 18);
		is_int(parse_frame(frame, sizeof(frame)), -EBADMSG,
		       "field longer than the declared payload rejected even with bytes after it");
	}
}

static void test_max_fields(void)
{
	static struct raw r;
	struct proto_enc e = {0};

	r.n = 0;
	for (int i = 0; i < PROTO_MAX_FIELDS; i++)
		raw_field(&r, (unsigned)i, 0, NULL, 0);
	is_int(parse_raw(&r, PROTO_STDOUT), 0, "PROTO_MAX_FIELDS fields accepted");
	is_int(msg.n, PROTO_MAX_FIELDS, "all of them decoded");
	is_int(msg.f[PROTO_MAX_FIELDS - 1].tag, PROTO_MAX_FIELDS - 1, "last field intact");
	raw_field(&r, 1, 0, NULL, 0);
	is_int(parse_raw(&r, PROTO_STDOUT), -EBADMSG, "PROTO_MAX_FIELDS + 1 fields rejected");

	/* and through the encoder with the count query */
	proto_enc_begin(&e, PROTO_EXEC, 0);
	for (int i = 0; i < PROTO_MAX_FIELDS + 1; i++)
		proto_enc_str(&e, T_ARG, "x");
	proto_enc_end(&e);
	is_int(parse_frame(e.buf, e.len), -EBADMSG, "encoded frame with too many fields rejected");
	proto_enc_free(&e);
}

/* ---- accessors ------------------------------------------------------------------------ */

static void test_get_str(void)
{
	struct raw r;
	char out[8];

	r.n = 0;
	raw_field(&r, T_MSG, 5, "ab\0cd", 5);
	raw_field(&r, T_PATH, 7, "1234567", 7);
	raw_field(&r, T_NAME, 8, "12345678", 8);
	raw_field(&r, T_CWD, 1, "\0", 1);
	raw_field(&r, T_USER, 3, "ab\0", 3);
	is_int(parse_raw(&r, PROTO_STDOUT), 0, "string fields parse");

	memcpy(out, "XXXXXXX", 8);
	is_int(proto_get_str(&msg, T_MSG, out, sizeof(out)), -EBADMSG, "embedded NUL rejected");
	is_int(proto_get_str(&msg, T_CWD, out, sizeof(out)), -EBADMSG, "lone NUL rejected");
	is_int(proto_get_str(&msg, T_USER, out, sizeof(out)), -EBADMSG, "trailing NUL rejected");
	is_str(out, "XXXXXXX", "output untouched on rejection");
	is_int(proto_get_str(&msg, T_PATH, out, sizeof(out)), 0, "string of outlen - 1 fits");
	is_str(out, "1234567", "and is NUL-terminated");
	is_int(proto_get_str(&msg, T_NAME, out, sizeof(out)), -ENAMETOOLONG,
	       "string of outlen rejected as too long");
	is_int(proto_get_str(&msg, T_PATH, out, 7), -ENAMETOOLONG, "string longer than outlen rejected");
	is_int(proto_get_str(&msg, T_PATH, out, 0), -ENAMETOOLONG, "outlen 0 rejected");
	is_int(proto_get_str(&msg, T_DATA, out, sizeof(out)), -EBADMSG, "absent string field rejected");
}

static void test_get_ints(void)
{
	struct raw r;
	uint32_t u32 = 0xaaaaaaaa;
	uint64_t u64 = 0xaaaaaaaaaaaaaaaaULL;
	int32_t i32 = 0x55555555;

	r.n = 0;
	raw_field(&r, T_PID, 3, "\1\2\3", 3);
	raw_field(&r, T_ROWS, 5, "\1\2\3\4\5", 5);
	raw_field(&r, T_COLS, 8, "\1\2\3\4\5\6\7\10", 8);
	raw_field(&r, T_SIZE, 4, "\1\2\3\4", 4);
	raw_field(&r, T_MODE, 7, "\1\2\3\4\5\6\7", 7);
	raw_field(&r, T_TIMEOUT_MS, 9, "\1\2\3\4\5\6\7\10\11", 9);
	raw_field(&r, T_CODE, 0, NULL, 0);
	is_int(parse_raw(&r, PROTO_STDOUT), 0, "integer fields parse");

	is_int(proto_get_u32(&msg, T_PID, &u32), -EBADMSG, "u32 of 3 bytes rejected");
	is_int(proto_get_u32(&msg, T_ROWS, &u32), -EBADMSG, "u32 of 5 bytes rejected");
	is_int(proto_get_u32(&msg, T_COLS, &u32), -EBADMSG, "u32 of 8 bytes rejected");
	is_int(proto_get_u32(&msg, T_CODE, &u32), -EBADMSG, "u32 of 0 bytes rejected");
	is_int(proto_get_u32(&msg, T_VERSION, &u32), -EBADMSG, "absent u32 rejected");
	is_int(u32, 0xaaaaaaaa, "u32 output untouched on rejection");
	is_int(proto_get_u32(&msg, T_SIZE, &u32), 0, "u32 of 4 bytes accepted");
	is_int(u32, 0x01020304, "u32 is big-endian");

	is_int(proto_get_u64(&msg, T_SIZE, &u64), -EBADMSG, "u64 of 4 bytes rejected");
	is_int(proto_get_u64(&msg, T_MODE, &u64), -EBADMSG, "u64 of 7 bytes rejected");
	is_int(proto_get_u64(&msg, T_TIMEOUT_MS, &u64), -EBADMSG, "u64 of 9 bytes rejected");
	is_int(proto_get_u64(&msg, T_CODE, &u64), -EBADMSG, "u64 of 0 bytes rejected");
	is_int(proto_get_u64(&msg, T_VERSION, &u64), -EBADMSG, "absent u64 rejected");
	ok(u64 == 0xaaaaaaaaaaaaaaaaULL, "u64 output untouched on rejection");
	is_int(proto_get_u64(&msg, T_COLS, &u64), 0, "u64 of 8 bytes accepted");
	ok(u64 == 0x0102030405060708ULL, "u64 is big-endian");

	is_int(proto_get_i32(&msg, T_PID, &i32), -EBADMSG, "i32 of 3 bytes rejected");
	is_int(proto_get_i32(&msg, T_COLS, &i32), -EBADMSG, "i32 of 8 bytes rejected");
	is_int(i32, 0x55555555, "i32 output untouched on rejection");
}

/* Only the first field of a tag counts: a later, valid duplicate does not rescue a bad first one. */
static void test_first_field_wins(void)
{
	struct raw r;
	uint32_t v = 0;
	char s[8];

	r.n = 0;
	raw_field(&r, T_PID, 2, "\0\1", 2);
	raw_field(&r, T_PID, 4, "\0\0\0\1", 4);
	raw_field(&r, T_MSG, 2, "a\0", 2);
	raw_field(&r, T_MSG, 1, "b", 1);
	is_int(parse_raw(&r, PROTO_STDOUT), 0, "duplicates parse");
	is_int(proto_get_u32(&msg, T_PID, &v), -EBADMSG, "bad first u32 wins over a good duplicate");
	is_int(proto_get_str(&msg, T_MSG, s, sizeof(s)), -EBADMSG,
	       "bad first string wins over a good duplicate");
	is_int(proto_count(&msg, T_PID), 2, "both duplicates counted");
}

int main(void)
{
	test_wire_format();
	test_hdr_flags();
	test_roundtrip_types();
	test_empty_frame();
	test_multiple_frames();
	test_reader_bytewise();
	test_reader_max_frame();
	test_reader_rejects();
	test_hdr_rejects();
	test_payload_rejects();
	test_max_fields();
	test_get_str();
	test_get_ints();
	test_first_field_wins();
	return tap_done();
}
