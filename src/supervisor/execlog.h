/* SPDX-License-Identifier: Apache-2.0 */
/*
 * execlog.h - <sandbox>/logs/exec.log, JSON Lines:
 *   {"t":"2026-04-30T20:32:59.688Z","s":"stdout|stderr|output|system","d":"...","id":N}
 * Bodies that are not valid UTF-8 are base64 with "e":"b64".
 *
 * The file itself is a rotating log (also used for network.log): appended
 * to, and at 10 MiB renamed to NAME.1 (older ones shift up to NAME.3), so
 * the disk a sandbox's output can fill is bounded.
 */
#ifndef MSB_EXECLOG_H
#define MSB_EXECLOG_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct execlog {
	int dirfd;	  /* logs/, borrowed */
	int fd;
	uint64_t size;
	const char *name; /* "exec.log", "network.log" */
};

/* Open logs/@name (static string) for appending. 0 or -errno; l->fd is -1 on failure. */
int rotlog_open(struct execlog *l, int logs_dirfd, const char *name);
/* Append one whole line (or several), rotating when the file has grown past the limit. */
void rotlog_append(struct execlog *l, const void *data, size_t len);

int execlog_open(struct execlog *l, int logs_dirfd);
/* @id 0 = no session id (system entries). */
void execlog_write(struct execlog *l, const char *source, uint32_t id, const void *data, size_t len);
void execlog_close(struct execlog *l);

/* JSON string body helpers, shared with `msb logs`. */
int utf8_valid(const uint8_t *p, size_t n);
void json_escape_append(struct buf *b, const uint8_t *p, size_t n);
void base64_append(struct buf *b, const uint8_t *p, size_t n);

#endif
