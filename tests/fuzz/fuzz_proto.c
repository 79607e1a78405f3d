// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_proto.c - libFuzzer target for the framed host<->agent protocol
 * (src/lib/proto.c) and the agent's EXEC request decoder
 * (agent_exec_req_decode in src/agent/spawn.c).
 *
 * Input layout: byte 0 picks the largest read size (low 3 bits index
 * chunk_max[] below, 0 = the whole stream in one read), byte 1 seeds the
 * generator that draws each read size, the rest is the byte stream a peer
 * sends. The stream goes through a pipe into proto_reader_fill() in chunks
 * of those sizes, and every frame proto_reader_next() hands out is checked
 * and consumed before the next read, as agentd and libmsb do. Beyond "no
 * crash, no leak, no UB" the target traps when a promise breaks:
 *  - the reader's output does not depend on how the stream was cut: the
 *    frames and the final state (rejected or waiting for more) equal those
 *    of a reference parser written here from the format in proto.h;
 *  - fields tile the payload and point into it; each accessor (proto_get,
 *    proto_count, proto_get_str/u32/u64/i32, proto_field_is_str) agrees with
 *    a direct reading of the fields, for every tag and several buffer sizes;
 *  - re-encoding a frame's fields, once with the typed encoders and once
 *    with proto_enc_bytes, gives back its bytes (flags cleared), and the
 *    copy parses to the same fields;
 *  - an EXEC frame decodes (or fails with a message) into a request that
 *    keeps agent_exec_req_decode's promises; its USER, if any, goes through
 *    agent_resolve_user against this host's /etc/passwd and /etc/group.
 * spawn.c needs users.c (agent_resolve_user); neither needs agentd.c, and
 * agent_spawn is linked but never called.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE \
 *        -Iinclude -Isrc/lib -Isrc/agent tests/fuzz/fuzz_proto.c src/lib/proto.c src/lib/util.c \
 *        src/agent/spawn.c src/agent/users.c -o fuzz_proto
 * Seeds: tests/fuzz/corpus/proto/, written by this file's seed writer:
 *        clang -std=gnu11 -D_GNU_SOURCE -DFUZZ_PROTO_SEEDS -Iinclude -Isrc/lib -Isrc/agent \
 *        tests/fuzz/fuzz_proto.c src/lib/proto.c src/lib/util.c src/agent/spawn.c src/agent/users.c \
 *        -o /tmp/proto-seeds && /tmp/proto-seeds tests/fuzz/corpus/proto
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "proto.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                             \
	do {                                                                                                 \
		if (!(c)) {                                                                                  \
			fprintf(stderr, "property failed: %s (%s:%d)\n", #c, __FILE__, __LINE__);            \
			__builtin_trap();                                                                    \
		}                                                                                            \
	} while (0)

/* Largest read per fill; a pipe holds at least 4096 bytes, so one write always fits. */
static const size_t chunk_max[8] = {0, 1, 2, 3, 7, 16, 300, 4096};

/* Frames are big (PROTO_MAX_FIELDS fields): keep them out of the stack. */
static struct proto_msg msg, again;

static uint32_t rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* ---- reference parser ----------------------------------------------------------------- */

enum ref_end { REF_MORE, REF_BAD };

/*
 * Walk @p as proto.h describes the format. Return the number of whole,
 * valid frames before the first bad or incomplete one; *end says which.
 */
static size_t ref_frames(const uint8_t *p, size_t n, enum ref_end *end)
{
	size_t off = 0, frames = 0;

	for (;;) {
		uint32_t len;
		uint16_t type;
		size_t fields = 0, q;

		if (n - off < PROTO_HDR_LEN) {
			*end = REF_MORE;
			return frames;
		}
		len = rd32(p + off);
		type = rd16(p + off + 8);
		if (len > PROTO_MAX_PAYLOAD || type == 0 || type >= PROTO_TYPE_COUNT) {
			*end = REF_BAD;
			return frames;
		}
		if (n - off - PROTO_HDR_LEN < len) {
			*end = REF_MORE;
			return frames;
		}
		q = off + PROTO_HDR_LEN;
		while (q < off + PROTO_HDR_LEN + len) {
			size_t left = off + PROTO_HDR_LEN + len - q;

			if (left < 6 || rd32(p + q + 2) > left - 6 || ++fields > PROTO_MAX_FIELDS) {
				*end = REF_BAD;
				return frames;
			}
			q += 6 + rd32(p + q + 2);
		}
		off = q;
		frames++;
	}
}

/* ---- accessor checks ------------------------------------------------------------------ */

static const struct proto_field *first(const struct proto_msg *m, uint16_t tag, size_t *count)
{
	const struct proto_field *f = NULL;

	*count = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (m->f[i].tag != tag)
			continue;
		if (!f)
			f = &m->f[i];
		++*count;
	}
	return f;
}

static void check_tag(const struct proto_msg *m, uint16_t tag)
{
	static const size_t outlens[] = {0, 1, 2, 16, 256, 4096};
	static char out[4096];
	size_t count;
	const struct proto_field *f = first(m, tag, &count);
	bool is_str = f && !memchr(f->val, '\0', f->len);
	uint32_t u32;
	uint64_t u64;
	int32_t i32;
	int rc;

	CHECK(proto_get(m, tag) == f);
	CHECK(proto_count(m, tag) == count);
	CHECK(proto_field_is_str(f) == is_str);
	for (size_t k = 0; k < ARRAY_SIZE(outlens); k++) {
		size_t ol = outlens[k];

		memset(out, 0x7f, sizeof(out));
		rc = proto_get_str(m, tag, out, ol);
		if (!is_str) {
			CHECK(rc == -EBADMSG);
		} else if (f->len >= ol) {
			CHECK(rc == -ENAMETOOLONG);
		} else {
			CHECK(rc == 0 && memcmp(out, f->val, f->len) == 0 && out[f->len] == '\0');
			CHECK(strlen(out) == f->len);
		}
		if (rc != 0 && ol)
			CHECK(out[0] == 0x7f);
	}
	rc = proto_get_u32(m, tag, &u32);
	CHECK(rc == (f && f->len == 4 ? 0 : -EBADMSG));
	if (rc == 0)
		CHECK(u32 == rd32(f->val));
	rc = proto_get_i32(m, tag, &i32);
	CHECK(rc == (f && f->len == 4 ? 0 : -EBADMSG));
	if (rc == 0)
		CHECK((uint32_t)i32 == rd32(f->val));
	rc = proto_get_u64(m, tag, &u64);
	CHECK(rc == (f && f->len == 8 ? 0 : -EBADMSG));
	if (rc == 0)
		CHECK(u64 == (((uint64_t)rd32(f->val) << 32) | rd32(f->val + 4)));
}

/* Fields tile the payload in order and every accessor agrees with them. */
static void check_fields(const struct proto_msg *m, const uint8_t *frame)
{
	const uint8_t *p = frame + PROTO_HDR_LEN;
	size_t off = 0;

	CHECK(m->n <= PROTO_MAX_FIELDS);
	for (size_t i = 0; i < m->n; i++) {
		CHECK(off + 6 <= m->hdr.len);
		CHECK(m->f[i].tag == rd16(p + off) && m->f[i].len == rd32(p + off + 2));
		CHECK(m->f[i].val == p + off + 6);
		off += 6 + (size_t)m->f[i].len;
		CHECK(off <= m->hdr.len);
	}
	CHECK(off == m->hdr.len);

	/*
	 * Every known tag, two unknown ones and the tags actually present; each check is O(n), so a
	 * frame with hundreds of fields gets a sample, or one input would take tens of milliseconds.
	 */
	check_tag(m, 0);
	check_tag(m, 0xffff);
	if (m->n) {
		check_tag(m, m->f[0].tag);
		check_tag(m, m->f[m->n - 1].tag);
	}
	if (m->n > 256) {
		check_tag(m, T_DATA);
		return;
	}
	for (uint16_t t = 1; t <= T_TAG_COUNT; t++)
		check_tag(m, t);
	for (size_t i = 1; i < m->n && i < 32; i++)
		check_tag(m, m->f[i].tag);
}

/* Append @f with the typed encoder its size and content allow, so that each of them is exercised. */
static void enc_typed(struct proto_enc *e, const struct proto_field *f, size_t i)
{
	static char str[PROTO_MAX_PAYLOAD + 1];

	if (f->len == 4 && i % 2)
		proto_enc_i32(e, f->tag, (int32_t)rd32(f->val));
	else if (f->len == 4)
		proto_enc_u32(e, f->tag, rd32(f->val));
	else if (f->len == 8)
		proto_enc_u64(e, f->tag, ((uint64_t)rd32(f->val) << 32) | rd32(f->val + 4));
	else if (proto_field_is_str(f)) {
		memcpy(str, f->val, f->len);
		str[f->len] = '\0';
		proto_enc_str(e, f->tag, str);
	} else
		proto_enc_bytes(e, f->tag, f->val, f->len);
}

/* The encoder's output is the frame: same header (flags cleared) and the same payload bytes. */
static void check_same(const struct proto_enc *e, const struct proto_msg *m, const uint8_t *frame)
{
	CHECK(e->len == PROTO_HDR_LEN + (size_t)m->hdr.len);
	CHECK(memcmp(e->buf, frame, 10) == 0 && e->buf[10] == 0 && e->buf[11] == 0);
	CHECK(memcmp(e->buf + PROTO_HDR_LEN, frame + PROTO_HDR_LEN, m->hdr.len) == 0);
}

/*
 * proto_enc rebuilds the frame byte for byte (flags aside), once with the typed encoders and once
 * with raw bytes after a reset, and the copy parses to the same fields.
 */
static void check_reencode(const struct proto_msg *m, const uint8_t *frame)
{
	struct proto_enc e = {0};

	proto_enc_begin(&e, m->hdr.type, m->hdr.session);
	for (size_t i = 0; i < m->n; i++)
		enc_typed(&e, &m->f[i], i);
	proto_enc_end(&e);
	check_same(&e, m, frame);

	proto_enc_reset(&e);
	CHECK(e.len == 0);
	proto_enc_begin(&e, m->hdr.type, m->hdr.session);
	for (size_t i = 0; i < m->n; i++)
		proto_enc_bytes(&e, m->f[i].tag, m->f[i].val, m->f[i].len);
	proto_enc_end(&e);
	check_same(&e, m, frame);

	CHECK(proto_parse_hdr(e.buf, &again.hdr) == 0);
	CHECK(again.hdr.len == m->hdr.len && again.hdr.type == m->hdr.type &&
	      again.hdr.session == m->hdr.session);
	CHECK(again.hdr.flags == 0);
	CHECK(proto_parse_payload(e.buf + PROTO_HDR_LEN, again.hdr.len, &again) == 0);
	CHECK(again.n == m->n);
	for (size_t i = 0; i < m->n; i++)
		CHECK(again.f[i].tag == m->f[i].tag && again.f[i].len == m->f[i].len);
	proto_enc_free(&e);
}

/* ---- the EXEC decoder ----------------------------------------------------------------- */

static size_t strv_len(char **v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static void check_user(const char *spec)
{
	struct agent_user u;
	char err[300] = "";
	int rc = agent_resolve_user(spec, &u, err, sizeof(err));

	CHECK(rc == 0 || rc == -EINVAL || rc == -ENOENT);
	if (rc < 0) {
		CHECK(err[0] != '\0');
		return;
	}
	CHECK(u.n_groups >= 0 && u.n_groups <= (int)ARRAY_SIZE(u.groups));
	CHECK(memchr(u.name, '\0', sizeof(u.name)) && memchr(u.home, '\0', sizeof(u.home)));
	CHECK(u.known || u.n_groups == 0);
}

static void check_exec(const struct proto_msg *m)
{
	struct agent_exec_req req;
	char err[600];
	int rc;

	err[0] = '\0';
	rc = agent_exec_req_decode(m, &req, err, sizeof(err));
	CHECK(rc == 0 || rc == -EINVAL);
	/* argv and envp are always allocated, one entry per field, even on failure */
	CHECK(req.argv && req.envp);
	CHECK(strv_len(req.argv) == proto_count(m, T_ARG));
	CHECK(strv_len(req.envp) == proto_count(m, T_ENV));
	if (rc < 0) {
		CHECK(err[0] != '\0');
	} else {
		CHECK(req.argv[0][0] != '\0');
		for (char **e = req.envp; *e; e++)
			CHECK(**e != '=' && strchr(*e, '='));
		CHECK(req.n_rlimits == proto_count(m, T_RLIMIT) && req.n_rlimits <= AGENT_MAX_RLIMITS);
		CHECK(!req.cwd || (req.cwd[0] && proto_field_is_str(proto_get(m, T_CWD))));
		CHECK(!req.user || (req.user[0] && proto_field_is_str(proto_get(m, T_USER))));
		CHECK(req.tty == (proto_get(m, T_TTY) != NULL));
		CHECK(req.stdin_null == (proto_get(m, T_STDIN_NULL) != NULL));
		CHECK(req.rows > 0 && req.cols > 0);
		if (req.user)
			check_user(req.user);
	}
	agent_exec_req_free(&req);
	CHECK(!req.argv && !req.envp && !req.cwd && !req.user);
}

/* ---- the stream ----------------------------------------------------------------------- */

static uint32_t rng_next(uint32_t *s)
{
	/* xorshift32; the state is never 0 */
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void check_frame(const struct proto_msg *m, const uint8_t *frame)
{
	CHECK(m->hdr.len <= PROTO_MAX_PAYLOAD && m->hdr.type > 0 && m->hdr.type < PROTO_TYPE_COUNT);
	check_fields(m, frame);
	check_reencode(m, frame);
	if (m->hdr.type == PROTO_EXEC)
		check_exec(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_reader r = {0};
	_cleanup_close_ int rfd = -1;
	_cleanup_close_ int wfd = -1;
	const uint8_t *s;
	size_t n, pos = 0, frames = 0, seen = 0, cmax;
	uint32_t seed;
	enum ref_end end;
	size_t want;
	int rc = 0, p[2];

	if (size < 2)
		return 0;
	cmax = chunk_max[data[0] & 7];
	seed = 0x9e3779b9u ^ data[1];
	s = data + 2;
	n = size - 2;
	want = ref_frames(s, n, &end);

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		abort();
	rfd = p[0];
	wfd = p[1];
	while (pos < n && rc >= 0) {
		size_t c = cmax ? 1 + rng_next(&seed) % cmax : n - pos, left;

		if (c > n - pos)
			c = n - pos;
		if (c > 4096)
			c = 4096;
		CHECK(write(wfd, s + pos, c) == (ssize_t)c);
		/* one fill takes the whole chunk, unless the buffer is nearly full with a maximum frame */
		for (left = c; left && rc >= 0;) {
			long got = proto_reader_fill(&r, rfd);

			CHECK(got > 0 && (size_t)got <= left);
			left -= (size_t)got;
			pos += (size_t)got;
			CHECK(r.len == pos - seen);
			while ((rc = proto_reader_next(&r, &msg)) == 1) {
				check_frame(&msg, r.buf);
				seen += PROTO_HDR_LEN + msg.hdr.len;
				frames++;
				proto_reader_consume(&r, &msg);
				CHECK(r.len == pos - seen);
			}
			CHECK(rc == 0 || rc == -EBADMSG);
		}
	}
	/* whatever the cuts, the same frames and the same verdict as the reference */
	CHECK(frames == want);
	CHECK(end == REF_BAD ? rc == -EBADMSG : rc == 0);
	if (rc == 0 && n) {
		CHECK(proto_reader_fill(&r, rfd) == -EAGAIN);
		close(util_steal_fd(&wfd));
		CHECK(proto_reader_fill(&r, rfd) == 0);
		CHECK(proto_reader_next(&r, &msg) == 0);
	}
	proto_reader_free(&r);
	CHECK(r.buf == NULL && r.len == 0);
	return 0;
}

#ifdef FUZZ_PROTO_SEEDS
/* ---- seed writer: main(dir) writes tests/fuzz/corpus/proto/ ------------------------ */
#include <sys/stat.h>

static struct proto_enc se;
static char seed_dir[512];

static void seed_rlimit(uint32_t res, uint64_t soft, uint64_t hard)
{
	uint8_t b[20];

	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(res >> (24 - 8 * i));
	for (int i = 0; i < 8; i++) {
		b[4 + i] = (uint8_t)(soft >> (56 - 8 * i));
		b[12 + i] = (uint8_t)(hard >> (56 - 8 * i));
	}
	proto_enc_bytes(&se, T_RLIMIT, b, sizeof(b));
}

/* Write "<mode><seed>" + the frames queued in se (plus @extra raw bytes) as @name. */
static void seed_write(const char *name, uint8_t mode, const void *extra, size_t extra_len)
{
	char path[1024];
	uint8_t pre[2] = {mode, (uint8_t)(mode * 37 + 11)};
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", seed_dir, name);
	fp = fopen(path, "we");
	if (!fp || fwrite(pre, 1, 2, fp) != 2 || fwrite(se.buf, 1, se.len, fp) != se.len ||
	    (extra_len && fwrite(extra, 1, extra_len, fp) != extra_len) || fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
	proto_enc_reset(&se);
}

static void seed_exec_basic(void)
{
	proto_enc_begin(&se, PROTO_EXEC, 1);
	proto_enc_str(&se, T_ARG, "/bin/sh");
	proto_enc_str(&se, T_ARG, "-c");
	proto_enc_str(&se, T_ARG, "echo hi");
	proto_enc_str(&se, T_ENV, "PATH=/usr/bin:/bin");
	proto_enc_str(&se, T_ENV, "LANG=C.UTF-8");
	proto_enc_str(&se, T_CWD, "/");
	proto_enc_end(&se);
}

static void seeds(void)
{
	/* header of a 4-byte STDIN payload, then 4 bytes: less than a field header */
	static const uint8_t junk[] = "\0\0\0\x04\0\0\0\1\0\x08\0\0\0\x0f\0\0";

	seed_exec_basic();
	seed_write("exec-basic", 0, NULL, 0);

	proto_enc_begin(&se, PROTO_EXEC, 2);
	proto_enc_str(&se, T_ARG, "top");
	proto_enc_str(&se, T_ENV, "TERM=xterm-256color");
	proto_enc_str(&se, T_USER, "root:root");
	proto_enc_bytes(&se, T_TTY, NULL, 0);
	proto_enc_u32(&se, T_ROWS, 50);
	proto_enc_u32(&se, T_COLS, 132);
	proto_enc_bytes(&se, T_STDIN_NULL, NULL, 0);
	seed_rlimit(7, 1024, 4096);
	seed_rlimit(3, UINT64_MAX, UINT64_MAX);
	proto_enc_end(&se);
	seed_write("exec-full", 5, NULL, 0);

	proto_enc_begin(&se, PROTO_EXEC, 3);
	proto_enc_str(&se, T_ARG, "id");
	proto_enc_str(&se, T_USER, "65534:0");
	proto_enc_u32(&se, T_ROWS, 70000);
	proto_enc_u64(&se, T_COLS, 80);
	proto_enc_end(&se);
	seed_write("exec-uid-gid", 7, NULL, 0);

	proto_enc_begin(&se, PROTO_EXEC, 4);
	proto_enc_str(&se, T_ARG, "true");
	proto_enc_str(&se, T_ENV, "NOEQUALS");
	proto_enc_end(&se);
	seed_write("exec-bad-env", 1, NULL, 0);

	proto_enc_begin(&se, PROTO_EXEC, 5);
	proto_enc_bytes(&se, T_ARG, "a\0b", 3);
	proto_enc_bytes(&se, T_CWD, "", 0);
	proto_enc_end(&se);
	seed_write("exec-nul-arg", 2, NULL, 0);

	proto_enc_begin(&se, PROTO_EXEC, 6);
	proto_enc_str(&se, T_ARG, "x");
	for (int i = 0; i < AGENT_MAX_RLIMITS + 1; i++)
		seed_rlimit((uint32_t)i, 1, 2);
	proto_enc_bytes(&se, T_RLIMIT, "short", 5);
	proto_enc_end(&se);
	seed_write("exec-rlimits", 6, NULL, 0);

	proto_enc_begin(&se, PROTO_EXEC, 7);
	proto_enc_end(&se);
	seed_write("exec-empty", 3, NULL, 0);

	{
		char user[600];

		memset(user, 'u', sizeof(user) - 1);
		user[sizeof(user) - 1] = '\0';
		proto_enc_begin(&se, PROTO_EXEC, 8);
		proto_enc_str(&se, T_ARG, "sh");
		proto_enc_str(&se, T_USER, user);
		proto_enc_end(&se);
		seed_write("exec-user-long", 6, NULL, 0);
	}
	proto_enc_begin(&se, PROTO_EXEC, 9);
	proto_enc_str(&se, T_ARG, "sh");
	proto_enc_str(&se, T_USER, "4294967295:nosuchgroup");
	proto_enc_end(&se);
	proto_enc_begin(&se, PROTO_EXEC, 10);
	proto_enc_str(&se, T_ARG, "sh");
	proto_enc_str(&se, T_USER, ":0");
	proto_enc_end(&se);
	seed_write("exec-user-odd", 2, NULL, 0);

	proto_enc_begin(&se, PROTO_HELLO, 0);
	proto_enc_u32(&se, T_VERSION, PROTO_VERSION);
	proto_enc_i32(&se, T_PID, 1);
	proto_enc_end(&se);
	seed_write("hello", 4, NULL, 0);

	proto_enc_begin(&se, PROTO_FAILED, 9);
	proto_enc_i32(&se, T_ERRNO, 2);
	proto_enc_str(&se, T_STAGE, "exec");
	proto_enc_str(&se, T_MSG, "nosuch: No such file or directory");
	proto_enc_end(&se);
	seed_write("failed", 0, NULL, 0);

	proto_enc_begin(&se, PROTO_STDOUT, 1);
	proto_enc_bytes(&se, T_DATA, "hello\n\0\xff", 8);
	proto_enc_end(&se);
	proto_enc_begin(&se, PROTO_STDIN, 1);
	proto_enc_bytes(&se, T_DATA, NULL, 0);
	proto_enc_end(&se);
	proto_enc_begin(&se, PROTO_RESIZE, 1);
	proto_enc_u32(&se, T_ROWS, 24);
	proto_enc_u32(&se, T_COLS, 80);
	proto_enc_end(&se);
	proto_enc_begin(&se, PROTO_SIGNAL, 1);
	proto_enc_i32(&se, T_SIGNAL, 15);
	proto_enc_end(&se);
	proto_enc_begin(&se, PROTO_EXITED, 1);
	proto_enc_i32(&se, T_CODE, -1);
	proto_enc_i32(&se, T_SIGNAL, 9);
	proto_enc_end(&se);
	seed_write("session-stream", 4, NULL, 0);

	proto_enc_begin(&se, PROTO_FS_PUT, 2);
	proto_enc_str(&se, T_PATH, "/tmp/x");
	proto_enc_u32(&se, T_KIND, FS_KIND_SYMLINK);
	proto_enc_u32(&se, T_MODE, 0777);
	proto_enc_str(&se, T_TARGET, "../etc/passwd");
	proto_enc_end(&se);
	proto_enc_begin(&se, PROTO_FS_STATR, 2);
	proto_enc_u32(&se, T_KIND, FS_KIND_FILE);
	proto_enc_u32(&se, T_MODE, 0644);
	proto_enc_u64(&se, T_SIZE, 1ULL << 40);
	proto_enc_end(&se);
	proto_enc_begin(&se, PROTO_FS_ENTRY, 2);
	proto_enc_str(&se, T_NAME, "file.txt");
	proto_enc_end(&se);
	proto_enc_begin(&se, PROTO_FS_END, 2);
	proto_enc_end(&se);
	seed_write("fs-stream", 6, NULL, 0);

	proto_enc_begin(&se, PROTO_CTL_STOP, 0);
	proto_enc_u32(&se, T_TIMEOUT_MS, 5000);
	proto_enc_end(&se);
	proto_enc_begin(&se, PROTO_CTL_OWN, 0);
	proto_enc_end(&se);
	proto_enc_begin(&se, PROTO_PING, 0);
	proto_enc_end(&se);
	seed_write("control", 1, NULL, 0);

	/* the same EXEC, then a header with len > PROTO_MAX_PAYLOAD */
	seed_exec_basic();
	seed_write("bad-len", 5, "\x00\x10\x00\x01\0\0\0\0\0\x05\0\0", 12);
	seed_exec_basic();
	seed_write("bad-type", 7, "\0\0\0\0\0\0\0\0\0\x40\0\0", 12);
	/* a frame whose field claims more than the payload, and one with half a field header */
	seed_write("field-overrun", 3,
	           "\0\0\0\x08\0\0\0\1\0\x05\0\0\0\x0f\0\0\0\x03"
	           "ab",
	           20);
	seed_write("field-truncated", 0, junk, sizeof(junk) - 1);
	/* PROTO_MAX_FIELDS fields (accepted), then PROTO_MAX_FIELDS + 1 (rejected) */
	for (int k = 0; k < 2; k++) {
		proto_enc_begin(&se, PROTO_STDOUT, 11);
		for (int i = 0; i < PROTO_MAX_FIELDS + k; i++)
			proto_enc_bytes(&se, (uint16_t)(i % 3 ? T_DATA : i), NULL, 0);
		proto_enc_end(&se);
	}
	seed_write("max-fields", 0, NULL, 0);
	/* an incomplete frame at the end of the stream */
	proto_enc_begin(&se, PROTO_PONG, 1);
	proto_enc_end(&se);
	seed_write("incomplete", 2, "\0\0\0\x20\0\0\0\1\0\x05\0\0\0\x0f", 14);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	snprintf(seed_dir, sizeof(seed_dir), "%s", argv[1]);
	mkdir(seed_dir, 0755);
	seeds();
	proto_enc_free(&se);
	return 0;
}
#endif
