// SPDX-License-Identifier: Apache-2.0
/*
 * execlog.c - append exec output to the sandbox's exec.log (see execlog.h).
 * Each entry is one write(2) of one line, so concurrent readers (`msb logs
 * -f`) never see half a line.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "execlog.h"
#include "util.h"

#define ROTATE_AT (10u << 20)

int utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = p[i];
		size_t need;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			need = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + need >= n)
			return 0;
		for (size_t k = 1; k <= need; k++) {
			if (i + k >= n || (p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

void json_escape_append(struct buf *b, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		switch (c) {
		case '"':
			buf_append(b, "\\\"", 2);
			break;
		case '\\':
			buf_append(b, "\\\\", 2);
			break;
		case '\n':
			buf_append(b, "\\n", 2);
			break;
		case '\r':
			buf_append(b, "\\r", 2);
			break;
		case '\t':
			buf_append(b, "\\t", 2);
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				buf_printf(b, "\\u%04x", c);
			else
				buf_append(b, &p[i], 1);
		}
	}
}

void base64_append(struct buf *b, const uint8_t *p, size_t n)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		char o[4];
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		o[0] = tbl[(v >> 18) & 63];
		o[1] = tbl[(v >> 12) & 63];
		o[2] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		o[3] = i + 2 < n ? tbl[v & 63] : '=';
		buf_append(b, o, 4);
	}
}

int rotlog_open(struct execlog *l, int logs_dirfd, const char *name)
{
	struct stat st;
	l->dirfd = logs_dirfd;
	l->name = name;
	l->fd = openat(logs_dirfd, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (l->fd < 0)
		return -errno;
	l->size = fstat(l->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

int execlog_open(struct execlog *l, int logs_dirfd)
{
	return rotlog_open(l, logs_dirfd, "exec.log");
}

static void rotate(struct execlog *l)
{
	char from[64], to[64];
	for (int i = 2; i >= 1; i--) {
		snprintf(from, sizeof(from), "%s.%d", l->name, i);
		snprintf(to, sizeof(to), "%s.%d", l->name, i + 1);
		renameat(l->dirfd, from, l->dirfd, to);
	}
	snprintf(to, sizeof(to), "%s.1", l->name);
	renameat(l->dirfd, l->name, l->dirfd, to);
	close(l->fd);
	l->fd = openat(l->dirfd, l->name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	l->size = 0;
}

void rotlog_append(struct execlog *l, const void *data, size_t len)
{
	if (l->fd < 0)
		return;
	if (util_write_all(l->fd, data, len) == 0)
		l->size += len;
	if (l->size >= ROTATE_AT)
		rotate(l);
}

void execlog_write(struct execlog *l, const char *source, uint32_t id, const void *data, size_t len)
{
	struct buf b = {0};
	char t[32];

	if (l->fd < 0)
		return;
	util_format_rfc3339_ms(util_wall_ms(), t);
	buf_printf(&b, "{\"t\":\"%s\",\"s\":\"%s\",\"d\":\"", t, source);
	if (utf8_valid(data, len)) {
		json_escape_append(&b, data, len);
		buf_append(&b, "\"", 1);
	} else {
		base64_append(&b, data, len);
		buf_append(&b, "\",\"e\":\"b64\"", 11);
	}
	if (id)
		buf_printf(&b, ",\"id\":%u", id);
	buf_append(&b, "}\n", 2);
	rotlog_append(l, b.data, b.len);
	buf_free(&b);
}

void execlog_close(struct execlog *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}
