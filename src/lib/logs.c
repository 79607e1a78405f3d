// SPDX-License-Identifier: Apache-2.0
/*
 * logs.c - msb_logs(): read a sandbox's exec.log (rotations first, oldest to
 * newest), decode each JSON line, filter by source, time and regex, keep the
 * last N, and optionally follow the file as the supervisor appends to it
 * (including across a rotation). Entries are handed to a callback; the
 * caller decides how to print them.
 */
#include <fcntl.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "msb.h"
#include "util.h"

struct query {
	const struct msb_log_query *q;
	unsigned sources;
	regex_t re;
	bool grep;
};

static unsigned source_bit(const char *s)
{
	return !strcmp(s, "stdout") ? MSB_LOG_STDOUT
	       : !strcmp(s, "stderr") ? MSB_LOG_STDERR
	       : !strcmp(s, "output") ? MSB_LOG_OUTPUT
	       : !strcmp(s, "system") ? MSB_LOG_SYSTEM
	       : !strcmp(s, "network") ? MSB_LOG_NETWORK
				      : 0;
}

static int64_t parse_t(const char *t)
{
	struct tm tm = {0};
	int ms = 0;
	if (sscanf(t, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec, &ms) < 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

static size_t b64_decode(const char *in, unsigned char *out)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;
	for (; *in && *in != '='; in++) {
		const char *p = strchr(tbl, *in);
		if (!p)
			continue;
		acc = (acc << 6) | (uint32_t)(p - tbl);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return n;
}

/* Decode and filter one line; call @cb when it passes. Returns the callback's verdict (nonzero = stop). */
static int deliver(const char *line, const struct query *f, msb_log_fn cb, void *arg)
{
	json_t *o = json_loads(line, 0, NULL);
	struct msb_log_entry e = {0};
	const char *d, *enc;
	unsigned char *body = NULL;
	int r = 0;

	if (!o)
		return 0; /* a damaged line is skipped, not fatal */
	e.time = json_string_value(json_object_get(o, "t"));
	e.source = json_string_value(json_object_get(o, "s"));
	d = json_string_value(json_object_get(o, "d"));
	enc = json_string_value(json_object_get(o, "e"));
	e.id = json_is_integer(json_object_get(o, "id")) ? (int64_t)json_integer_value(json_object_get(o, "id")) : -1;
	if (!e.time || !e.source || !d || !(source_bit(e.source) & f->sources))
		goto out;
	e.t_ms = parse_t(e.time);
	if ((f->q->since_ms && e.t_ms < f->q->since_ms) || (f->q->until_ms && e.t_ms >= f->q->until_ms))
		goto out;
	body = (unsigned char *)xstrdup(d);
	e.b64 = enc && !strcmp(enc, "b64");
	e.len = e.b64 ? b64_decode(d, body) : strlen(d);
	body[e.len] = '\0';
	if (f->grep && regexec(&f->re, (char *)body, 0, NULL, 0) != 0)
		goto out;
	e.data = body;
	e.raw = line;
	r = cb(&e, arg);
out:
	free(body);
	json_decref(o);
	return r;
}

struct lines {
	char **v;
	size_t n;
};

/* Append the complete lines of @path; *end receives the offset after the last one. */
static void read_lines(const char *path, struct lines *l, off_t *end)
{
	FILE *fp = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	if (!fp)
		return;
	while ((n = getline(&line, &cap, fp)) > 0) {
		if (line[n - 1] != '\n')
			break; /* a partial last line: the writer is mid-entry */
		line[n - 1] = '\0';
		l->v = xrealloc(l->v, (l->n + 1) * sizeof(char *));
		l->v[l->n++] = xstrdup(line);
		if (end)
			*end += n;
	}
	free(line);
	fclose(fp);
}

/* Keep the entries that pass the filter, then hand over the last q->tail of them. */
struct tail_buf {
	struct lines kept;
};

static int keep_entry(const struct msb_log_entry *e, void *arg)
{
	struct tail_buf *t = arg;
	t->kept.v = xrealloc(t->kept.v, (t->kept.n + 1) * sizeof(char *));
	t->kept.v[t->kept.n++] = xstrdup(e->raw);
	return 0;
}

static int follow(const char *path, off_t pos, const struct query *f, msb_log_fn cb, void *arg)
{
	struct stat st0, st;
	struct buf pending = {0};

	if (stat(path, &st0) < 0)
		memset(&st0, 0, sizeof(st0));
	for (;;) {
		int fd;
		usleep(200000);
		if (stat(path, &st) < 0)
			continue;
		if (st.st_ino != st0.st_ino || st.st_size < pos) { /* rotated: start the new file */
			pos = 0;
			st0 = st;
		}
		if (st.st_size == pos)
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (lseek(fd, pos, SEEK_SET) == pos) {
			char chunk[65536];
			ssize_t n;
			while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
				pos += n;
				buf_append(&pending, chunk, (size_t)n);
			}
		}
		close(fd);
		for (;;) {
			char *nl = pending.len ? memchr(pending.data, '\n', pending.len) : NULL;
			size_t k;
			if (!nl)
				break;
			k = (size_t)(nl - pending.data) + 1;
			*nl = '\0';
			if (deliver(pending.data, f, cb, arg)) {
				buf_free(&pending);
				return 0;
			}
			memmove(pending.data, pending.data + k, pending.len - k);
			pending.len -= k;
		}
	}
}

/*
 * The network decision log (written by the supervisor, supervisor/netlog.c),
 * merged in time order with the exec.log lines already in @l. Lines of both
 * logs begin {"t":"<RFC 3339 UTC ms>", so their text orders them; on a tie
 * exec.log comes first.
 */
static void merge_network_log(const char *dir, struct lines *l)
{
	char *path = xasprintf("%s/logs/network.log", dir);
	size_t a = 0, n_exec = l->n, b = l->n, k = 0;
	char **v;

	read_lines(path, l, NULL);
	free(path);
	if (l->n == n_exec)
		return;
	v = xcalloc(l->n, sizeof(*v));
	while (a < n_exec || b < l->n) {
		if (b == l->n || (a < n_exec && strncmp(l->v[a], l->v[b], 32) <= 0))
			v[k++] = l->v[a++];
		else
			v[k++] = l->v[b++];
	}
	free(l->v);
	l->v = v;
}

MSB_EXPORT int msb_logs(msb_ctx *ctx, const char *name, const struct msb_log_query *q, msb_log_fn cb, void *arg,
			msb_error *err)
{
	struct query f = {.q = q};
	struct lines l = {0};
	struct tail_buf t = {0};
	char *dir, *path;
	struct stat st;
	off_t end = 0;
	size_t start = 0;
	int r = msb_name_valid(name, err), stop = 0;

	if (r < 0)
		return r;
	f.sources = q->sources ? q->sources : (MSB_LOG_STDOUT | MSB_LOG_STDERR | MSB_LOG_OUTPUT);
	if (q->grep) {
		if (regcomp(&f.re, q->grep, REG_EXTENDED | REG_NOSUB) != 0)
			return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid --grep regex \"%s\"", q->grep);
		f.grep = true;
	}
	dir = msb_sandbox_dir(ctx, name);
	path = xasprintf("%s/logs", dir);
	if (stat(path, &st) < 0) {
		r = msb_err_set(err, MSB_ERR_NOT_FOUND, 0, "no logs directory for sandbox \"%s\" (sandbox not found?)",
				name);
		goto out;
	}
	for (int i = 3; i >= 1; i--) {
		free(path);
		path = xasprintf("%s/logs/exec.log.%d", dir, i);
		read_lines(path, &l, NULL);
	}
	free(path);
	path = xasprintf("%s/logs/exec.log", dir);
	read_lines(path, &l, &end);
	if (f.sources & MSB_LOG_NETWORK)
		merge_network_log(dir, &l);
	for (size_t i = 0; i < l.n; i++)
		deliver(l.v[i], &f, keep_entry, &t);
	if (q->tail && q->tail < t.kept.n)
		start = t.kept.n - q->tail;
	for (size_t i = start; i < t.kept.n && !stop; i++)
		stop = deliver(t.kept.v[i], &f, cb, arg);
	if (q->follow && !stop)
		follow(path, end, &f, cb, arg);
out:
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i]);
	for (size_t i = 0; i < t.kept.n; i++)
		free(t.kept.v[i]);
	free(l.v);
	free(t.kept.v);
	free(path);
	free(dir);
	if (f.grep)
		regfree(&f.re);
	return r;
}
