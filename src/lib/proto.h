/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proto.h - the framed host<->agent protocol (docs/protocol.md).
 *
 * One frame = a 12-byte big-endian header {u32 len, u32 session, u16 type,
 * u16 flags} followed by @len bytes of payload. The payload is a sequence of
 * fields {u16 tag, u32 len, bytes}. The same frames run between the CLI and
 * the supervisor (control socket) and between the supervisor and agentd
 * (channel), so one parser serves both, and that parser treats every byte as
 * hostile: all lengths are checked against what was received.
 */
#ifndef MSB_PROTO_H
#define MSB_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION	  1
#define PROTO_HDR_LEN	  12
#define PROTO_MAX_PAYLOAD (1u << 20)
#define PROTO_MAX_FIELDS  4096
#define PROTO_CHUNK	  (64u * 1024) /* output/data chunk size */

enum proto_type {
	PROTO_HELLO = 1,     /* A->H {VERSION, PID}: agent ready */
	PROTO_EXEC = 2,	     /* H->A {ARG*, ENV*, CWD?, USER?, TTY?, ROWS?, COLS?, RLIMIT*, STDIN_NULL?} */
	PROTO_STARTED = 3,   /* A->H {PID} */
	PROTO_FAILED = 4,    /* A->H {ERRNO, STAGE, MSG}: terminal */
	PROTO_STDOUT = 5,    /* A->H {DATA} */
	PROTO_STDERR = 6,    /* A->H {DATA} */
	PROTO_EXITED = 7,    /* A->H {CODE, SIGNAL}: terminal */
	PROTO_STDIN = 8,     /* H->A {DATA}; empty DATA = end of input */
	PROTO_RESIZE = 9,    /* H->A {ROWS, COLS} */
	PROTO_SIGNAL = 10,   /* H->A {SIGNAL} */
	PROTO_PING = 11,     /* H->A {} */
	PROTO_PONG = 12,     /* A->H {}: terminal */
	PROTO_SHUTDOWN = 13, /* H->A {}: terminate every process */
	PROTO_FS_GET = 14,   /* H->A {PATH}: replies FS_STAT, then FS_DATA* (file) or FS_ENTRY* (dir), FS_END */
	PROTO_FS_PUT = 15,   /* H->A {PATH, KIND, MODE, TARGET?}; then FS_DATA* and an empty FS_DATA (file) */
	PROTO_FS_STAT = 16,  /* H->A {PATH}: replies FS_STAT (terminal) or FS_ERR */
	PROTO_FS_DATA = 17,  /* both {DATA} */
	PROTO_FS_ENTRY = 18, /* A->H {NAME} */
	PROTO_FS_END = 19,   /* A->H {}: terminal */
	PROTO_FS_ERR = 20,   /* A->H {ERRNO, MSG}: terminal */
	PROTO_FS_STATR = 21, /* A->H {KIND, MODE, SIZE, TARGET?} */
	PROTO_ERROR = 22,    /* any {MSG}: the peer rejected a frame */
	/* control socket only (CLI <-> supervisor) */
	PROTO_CTL_STOP = 40,  /* C->S {TIMEOUT_MS} : graceful stop; reply CTL_OK when the sandbox is gone */
	PROTO_CTL_OK = 41,    /* S->C {} */
	PROTO_CTL_OWN = 42,   /* C->S {}: this connection owns the sandbox; when it closes, stop */
	PROTO_TYPE_COUNT = 64
};

enum proto_tag {
	T_VERSION = 1,
	T_PID,
	T_ARG,
	T_ENV,
	T_CWD,
	T_USER,
	T_TTY,
	T_ROWS,
	T_COLS,
	T_RLIMIT, /* 20 bytes: u32 resource, u64 soft, u64 hard */
	T_STDIN_NULL,
	T_ERRNO,
	T_STAGE,
	T_MSG,
	T_DATA,
	T_CODE,
	T_SIGNAL,
	T_PATH,
	T_KIND,
	T_MODE,
	T_SIZE,
	T_TARGET,
	T_NAME,
	T_TIMEOUT_MS,
	T_FORGET, /* CTL_STOP: the owner removes the ephemeral sandbox's record itself */
	T_TOUCH,  /* PING: count it as activity for --idle-timeout (msb touch) */
	T_TAG_COUNT
};

enum proto_fs_kind { FS_KIND_FILE = 1, FS_KIND_DIR = 2, FS_KIND_SYMLINK = 3, FS_KIND_OTHER = 4 };

struct proto_hdr {
	uint32_t len;
	uint32_t session;
	uint16_t type;
	uint16_t flags;
};

struct proto_field {
	uint16_t tag;
	uint32_t len;
	const uint8_t *val;
};

/* A decoded payload: fields point into the frame buffer (borrowed). */
struct proto_msg {
	struct proto_hdr hdr;
	size_t n;
	struct proto_field f[PROTO_MAX_FIELDS];
};

/* Encoder: appends to a growable buffer. */
struct proto_enc {
	uint8_t *buf;
	size_t len, cap;
	size_t frame_start;
};

void proto_enc_begin(struct proto_enc *e, uint16_t type, uint32_t session);
void proto_enc_bytes(struct proto_enc *e, uint16_t tag, const void *p, size_t n);
void proto_enc_str(struct proto_enc *e, uint16_t tag, const char *s);
void proto_enc_u32(struct proto_enc *e, uint16_t tag, uint32_t v);
void proto_enc_u64(struct proto_enc *e, uint16_t tag, uint64_t v);
void proto_enc_i32(struct proto_enc *e, uint16_t tag, int32_t v);
/* Finish the current frame (patches its length). Several frames may be queued in one encoder. */
void proto_enc_end(struct proto_enc *e);
void proto_enc_reset(struct proto_enc *e);
void proto_enc_free(struct proto_enc *e);

/**
 * proto_parse_hdr() - decode a frame header.
 * Return: 0, or -EBADMSG when the length exceeds PROTO_MAX_PAYLOAD or the type is out of range
 * (0 or >= PROTO_TYPE_COUNT). Unassigned types in range pass; receivers answer them with ERROR.
 */
int proto_parse_hdr(const uint8_t hdr[PROTO_HDR_LEN], struct proto_hdr *out);

/**
 * proto_parse_payload() - split a payload into fields.
 * @msg: receives the fields; @msg->hdr must already be set
 * Return: 0, or -EBADMSG if any field length runs past the payload or there are too many fields.
 */
int proto_parse_payload(const uint8_t *p, size_t len, struct proto_msg *msg);

/* Accessors: return the first field with @tag. */
const struct proto_field *proto_get(const struct proto_msg *m, uint16_t tag);
/* Copy a string field (no NUL inside allowed) into @out; -EBADMSG on bad/absent, -ENAMETOOLONG if too long. */
int proto_get_str(const struct proto_msg *m, uint16_t tag, char *out, size_t outlen);
int proto_get_u32(const struct proto_msg *m, uint16_t tag, uint32_t *out);
int proto_get_u64(const struct proto_msg *m, uint16_t tag, uint64_t *out);
int proto_get_i32(const struct proto_msg *m, uint16_t tag, int32_t *out);
/* Count fields with @tag. */
size_t proto_count(const struct proto_msg *m, uint16_t tag);
/* True when a field is a valid string (no NUL bytes). */
int proto_field_is_str(const struct proto_field *f);

/*
 * Incremental reader for a stream socket: accumulate bytes, hand out complete
 * frames. Holds at most one maximum-size frame.
 */
struct proto_reader {
	uint8_t *buf;
	size_t len, cap;
};
/* Read what is available from @fd. Return bytes read, 0 on EOF, -errno (-EAGAIN when nothing). */
long proto_reader_fill(struct proto_reader *r, int fd);
/* If a whole frame is buffered, parse it into @msg and return 1; 0 if incomplete; -EBADMSG if malformed. */
int proto_reader_next(struct proto_reader *r, struct proto_msg *msg);
/* Drop the frame last returned by proto_reader_next (call before the next fill). */
void proto_reader_consume(struct proto_reader *r, const struct proto_msg *msg);
void proto_reader_free(struct proto_reader *r);

/* Blocking helpers for simple clients: write all queued frames; read exactly one frame. */
int proto_write_enc(int fd, struct proto_enc *e);

#endif
