/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util.h - small helpers shared by every module: cleanup attributes, the
 * error object, EINTR retry, string builders. Pure libc; agentd links it too.
 */
#ifndef MSB_UTIL_H
#define MSB_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msb.h"

#ifndef MSB_EXPORT
#define MSB_EXPORT __attribute__((visibility("default")))
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Retry a syscall expression while it fails with EINTR. */
#define TEMP_FAILURE_RETRY_INT(expr)                                                                          \
	({                                                                                                    \
		long _r;                                                                                      \
		do                                                                                            \
			_r = (long)(expr);                                                                    \
		while (_r == -1 && errno == EINTR);                                                           \
		_r;                                                                                           \
	})

/* Scoped cleanup. Every local resource starts at -1/NULL and is released on scope exit. */
static inline void util_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
static inline void util_freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_close_ __attribute__((cleanup(util_closep)))
#define _cleanup_free_ __attribute__((cleanup(util_freep)))

/* Move ownership out of a cleanup variable. */
static inline int util_steal_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}
#define steal_ptr(pp)                                                                                         \
	({                                                                                                    \
		__typeof__(*(pp)) _p = *(pp);                                                                 \
		*(pp) = NULL;                                                                                 \
		_p;                                                                                           \
	})

/* OOM is not recoverable: abort. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Error helpers. msb_err_set() fills @err (may be NULL) and returns -code so
 * callers can write `return msb_err_set(err, MSB_ERR_INVALID, 0, "...")`.
 * msb_err_sys() records errno and appends strerror.
 */
int msb_err_set(msb_error *err, int code, int sys_errno, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int msb_err_sys(msb_error *err, int sys_errno, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefix existing message with context: "context: old message". Returns -err->code. */
int msb_err_wrap(msb_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* I/O helpers: full read/write with EINTR handling. Return 0 / -errno (read_full: bytes or -errno). */
int util_write_all(int fd, const void *buf, size_t len);
ssize_t util_read_full(int fd, void *buf, size_t len);
/* Write a whole file atomically (tmp + rename) relative to dirfd. Returns 0 or -errno. */
int util_write_file_at(int dirfd, const char *name, const void *data, size_t len, int mode);
/* Read a whole (small) file; NUL-terminated; *len_out optional. Returns NULL with errno on failure. */
char *util_read_file_at(int dirfd, const char *path, size_t max, size_t *len_out);

/*
 * Name and home directory of @uid from /etc/passwd, read directly (msb is a
 * static binary: no NSS). Either output may be NULL. 0 or -ENOENT.
 */
int util_passwd_lookup(uid_t uid, char *name, size_t nlen, char *home, size_t hlen);

/* Growable byte buffer. */
struct buf {
	char *data;
	size_t len, cap;
};
void buf_append(struct buf *b, const void *p, size_t n);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(struct buf *b);

/* Monotonic and wall clocks in milliseconds / nanoseconds. */
uint64_t util_now_ms(void);
uint64_t util_wall_ms(void);
/* Format wall-clock ms as RFC 3339 UTC with milliseconds ("2026-04-30T20:32:59.688Z"). */
void util_format_rfc3339_ms(uint64_t wall_ms, char out[32]);

#endif
