// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_logs.c - `msb logs` (spec/cli.md §3.6): read <sandbox>/logs/exec.log
 * and its rotations, filter, print; -f follows new entries.
 */
#include <fcntl.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "parse.h"

enum { G_TAIL = 1, G_SINCE, G_UNTIL, G_FOLLOW, G_TIMESTAMPS, G_SOURCE, G_GREP, G_JSON, G_COLOR, G_NO_COLOR,
       G_SHOW_ID, G_COLOR_SESSIONS };

static const struct cli_opt opts[] = {
	{"tail", 0, true, G_TAIL, "Show only the last N entries."},
	{"since", 0, true, G_SINCE, "Show only entries at or after this point."},
	{"until", 0, true, G_UNTIL, "Show only entries strictly before this point."},
	{"follow", 'f', false, G_FOLLOW, "Follow the log: keep reading new entries as they are written."},
	{"timestamps", 0, false, G_TIMESTAMPS, "Prefix each line with the entry's timestamp."},
	{"source", 0, true, G_SOURCE, "Sources to include (stdout, stderr, output, system, all)."},
	{"grep", 0, true, G_GREP, "Filter entries to those whose body matches this regex."},
	{"json", 0, false, G_JSON, "Emit JSON Lines to stdout without decoding."},
	{"color", 0, true, G_COLOR, "ANSI color handling (auto, always, never)."},
	{"no-color", 0, false, G_NO_COLOR, "Alias for --color=never."},
	{"show-id", 0, false, G_SHOW_ID, "Prefix each line with the session id."},
	{"color-sessions", 0, false, G_COLOR_SESSIONS, "Color each session's output a distinct color."},
};
#define USAGE "msb logs [OPTIONS] <NAME>"

struct filter {
	unsigned sources; /* bit per source */
	int64_t since_ms, until_ms;
	bool has_since, has_until, json, timestamps, show_id, grep;
	regex_t re;
};

enum { S_STDOUT = 1, S_STDERR = 2, S_OUTPUT = 4, S_SYSTEM = 8 };

static unsigned source_bit(const char *s)
{
	return !strcmp(s, "stdout") ? S_STDOUT : !strcmp(s, "stderr") ? S_STDERR : !strcmp(s, "output") ? S_OUTPUT
	       : !strcmp(s, "system") ? S_SYSTEM : !strcmp(s, "all") ? 15u : 0;
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

/* Print one entry if it passes the filter. */
static void emit(const char *line, const struct filter *f)
{
	json_t *o = json_loads(line, 0, NULL);
	const char *t, *s, *d, *e;
	json_int_t id;
	unsigned char *body;
	size_t blen;
	int64_t tms;

	if (!o)
		return;
	t = json_string_value(json_object_get(o, "t"));
	s = json_string_value(json_object_get(o, "s"));
	d = json_string_value(json_object_get(o, "d"));
	e = json_string_value(json_object_get(o, "e"));
	id = json_integer_value(json_object_get(o, "id"));
	if (!t || !s || !d || !(source_bit(s) & f->sources))
		goto out;
	tms = parse_t(t);
	if ((f->has_since && tms < f->since_ms) || (f->has_until && tms >= f->until_ms))
		goto out;
	body = (unsigned char *)strdup(d);
	blen = e && !strcmp(e, "b64") ? b64_decode(d, body) : strlen(d);
	if (f->grep) {
		char *z = strndup((char *)body, blen);
		bool m = regexec(&f->re, z, 0, NULL, 0) == 0;
		free(z);
		if (!m) {
			free(body);
			goto out;
		}
	}
	if (f->json) {
		printf("{\"t\":\"%s\",\"s\":\"%s\",\"d\":", t, s);
		char *dj = json_dumps(json_object_get(o, "d"), JSON_ENCODE_ANY);
		printf("%s,\"id\":", dj);
		free(dj);
		if (json_is_integer(json_object_get(o, "id")))
			printf("%lld", (long long)id);
		else
			printf("null");
		printf(",\"e\":%s%s%s}\n", e ? "\"" : "", e ? e : "null", e ? "\"" : "");
	} else {
		if (f->timestamps)
			printf("%s\t", t);
		if (f->show_id) {
			if (json_is_integer(json_object_get(o, "id")))
				printf("[id:%3lld] ", (long long)id);
			else
				printf("[id:sys] ");
		}
		fwrite(body, 1, blen, stdout);
	}
	free(body);
out:
	json_decref(o);
}

struct lines {
	char **v;
	size_t n;
};

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
		l->v = realloc(l->v, (l->n + 1) * sizeof(char *));
		l->v[l->n++] = strndup(line, (size_t)n);
		if (end)
			*end += n;
	}
	free(line);
	fclose(fp);
}

static void follow(const char *path, off_t pos, const struct filter *f)
{
	struct stat st0, st;
	char *pending = NULL;
	size_t plen = 0;
	if (stat(path, &st0) < 0)
		memset(&st0, 0, sizeof(st0));
	for (;;) {
		int fd;
		fflush(stdout);
		usleep(200000);
		if (stat(path, &st) < 0)
			continue;
		if (st.st_ino != st0.st_ino || st.st_size < pos) { /* rotated */
			pos = 0;
			st0 = st;
		}
		if (st.st_size == pos)
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		lseek(fd, pos, SEEK_SET);
		for (;;) {
			char buf[65536];
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				break;
			pos += n;
			pending = realloc(pending, plen + (size_t)n + 1);
			memcpy(pending + plen, buf, (size_t)n);
			plen += (size_t)n;
		}
		close(fd);
		for (;;) {
			char *nl = pending ? memchr(pending, '\n', plen) : NULL;
			size_t k;
			if (!nl)
				break;
			k = (size_t)(nl - pending) + 1;
			*nl = '\0';
			emit(pending, f);
			memmove(pending, pending + k, plen - k);
			plen -= k;
		}
	}
}

int cmd_logs(int argc, char **argv)
{
	struct cli_args a;
	struct filter f = {0};
	struct lines l = {0};
	struct stat st;
	msb_error err = {0};
	char *dir, *path;
	size_t start = 0;
	off_t end = 0;
	int64_t now = (int64_t)time(NULL) * 1000;

	cli_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), &a, USAGE);
	if (a.npos != 1)
		cli_usage_error(USAGE, "the sandbox name is required");
	if (msb_name_valid(a.pos[0], &err) < 0) {
		cli_error(&err);
		return EXIT_MSB;
	}
	for (int i = 0; i < a.n; i++) {
		if (a.v[i].id != G_SOURCE)
			continue;
		char *list = strdup(a.v[i].val), *save = NULL;
		for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			unsigned b = source_bit(tok);
			if (!b)
				cli_usage_error(USAGE, "invalid value '%s' for '--source' [possible values: stdout, "
						       "stderr, output, system, all]", tok);
			f.sources |= b;
		}
		free(list);
	}
	if (!f.sources)
		f.sources = S_STDOUT | S_STDERR | S_OUTPUT;
	for (int k = 0; k < 2; k++) {
		const char *v = cli_get(&a, k ? G_UNTIL : G_SINCE);
		int64_t ms;
		if (!v)
			continue;
		if (parse_time_point(v, now, &ms, &err) < 0) {
			cli_errorf("could not parse time \"%s\" (expected RFC 3339 or `5m` etc.)", v);
			return EXIT_MSB;
		}
		if (k) {
			f.until_ms = ms;
			f.has_until = true;
		} else {
			f.since_ms = ms;
			f.has_since = true;
		}
	}
	if (cli_get(&a, G_GREP)) {
		if (regcomp(&f.re, cli_get(&a, G_GREP), REG_EXTENDED | REG_NOSUB) != 0) {
			cli_errorf("invalid --grep regex");
			return EXIT_MSB;
		}
		f.grep = true;
	}
	f.json = cli_has(&a, G_JSON);
	f.timestamps = cli_has(&a, G_TIMESTAMPS);
	f.show_id = cli_has(&a, G_SHOW_ID);
	dir = msb_sandbox_dir(cli_ctx(), a.pos[0]);
	path = malloc(strlen(dir) + 32);
	sprintf(path, "%s/logs", dir);
	if (stat(path, &st) < 0) {
		cli_errorf("no logs directory for sandbox \"%s\" (sandbox not found?)", a.pos[0]);
		free(path);
		free(dir);
		return EXIT_MSB;
	}
	for (int r = 3; r >= 1; r--) {
		sprintf(path, "%s/logs/exec.log.%d", dir, r);
		read_lines(path, &l, NULL);
	}
	sprintf(path, "%s/logs/exec.log", dir);
	read_lines(path, &l, &end);
	if (cli_get(&a, G_TAIL)) {
		unsigned long t = strtoul(cli_get(&a, G_TAIL), NULL, 10);
		if (t < l.n)
			start = l.n - t;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (i >= start)
			emit(l.v[i], &f);
		free(l.v[i]);
	}
	free(l.v);
	if (cli_has(&a, G_FOLLOW))
		follow(path, end, &f);
	free(path);
	free(dir);
	return 0;
}
