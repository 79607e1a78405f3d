// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_logs.c - `msb logs` (spec/cli.md §3.6): options to a msb_log_query,
 * entries printed raw (bodies decoded) or as JSON Lines.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	{"source", 0, true, G_SOURCE, "Sources to include (stdout, stderr, output, system, network, all)."},
	{"grep", 0, true, G_GREP, "Filter entries to those whose body matches this regex."},
	{"json", 0, false, G_JSON, "Emit JSON Lines to stdout without decoding."},
	{"color", 0, true, G_COLOR, "ANSI color handling (auto, always, never)."},
	{"no-color", 0, false, G_NO_COLOR, "Alias for --color=never."},
	{"show-id", 0, false, G_SHOW_ID, "Prefix each line with the session id."},
	{"color-sessions", 0, false, G_COLOR_SESSIONS, "Color each session's output a distinct color."},
};
#define USAGE "msb logs [OPTIONS] <NAME>"

struct print_opts {
	bool json, timestamps, show_id;
};

static int print_entry(const struct msb_log_entry *e, void *arg)
{
	const struct print_opts *p = arg;
	if (p->json) {
		/* keys always t, s, d, id, e in that order (id and e may be null), d as stored */
		json_t *in = json_loads(e->raw, 0, NULL);
		json_t *o = json_pack("{s:s,s:s,s:O,s:o,s:o}", "t", e->time, "s", e->source, "d",
				      json_object_get(in, "d"), "id", e->id >= 0 ? json_integer(e->id) : json_null(),
				      "e", e->b64 ? json_string("b64") : json_null());
		char *line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		if (line)
			printf("%s\n", line);
		free(line);
		json_decref(o);
		json_decref(in);
	} else {
		if (p->timestamps)
			printf("%s\t", e->time);
		if (p->show_id) {
			if (e->id >= 0)
				printf("[id:%3lld] ", (long long)e->id);
			else
				printf("[id:sys] ");
		}
		fwrite(e->data, 1, e->len, stdout);
	}
	fflush(stdout);
	return 0;
}

static unsigned source_bits(const char *list)
{
	char *copy = strdup(list), *save = NULL;
	unsigned bits = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned b = !strcmp(tok, "stdout")   ? MSB_LOG_STDOUT
			     : !strcmp(tok, "stderr") ? MSB_LOG_STDERR
			     : !strcmp(tok, "output") ? MSB_LOG_OUTPUT
			     : !strcmp(tok, "system") ? MSB_LOG_SYSTEM
			     : !strcmp(tok, "network") ? MSB_LOG_NETWORK
			     : !strcmp(tok, "all")    ? 15u
						      : 0;
		if (!b)
			cli_usage_error(USAGE,
					"invalid value '%s' for '--source' [possible values: stdout, stderr, output, "
					"system, network, all]",
					tok);
		bits |= b;
	}
	free(copy);
	return bits;
}

int cmd_logs(int argc, char **argv)
{
	struct cli_args a;
	struct msb_log_query q = {0};
	struct print_opts p = {0};
	msb_error err = {0};
	int64_t now = (int64_t)time(NULL) * 1000;

	cli_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), &a, USAGE);
	if (a.npos != 1)
		cli_usage_error(USAGE, "the sandbox name is required");
	for (int i = 0; i < a.n; i++)
		if (a.v[i].id == G_SOURCE)
			q.sources |= source_bits(a.v[i].val);
	for (int k = 0; k < 2; k++) {
		const char *v = cli_get(&a, k ? G_UNTIL : G_SINCE);
		int64_t ms;
		if (!v)
			continue;
		if (parse_time_point(v, now, &ms, &err) < 0) {
			cli_errorf("could not parse time \"%s\" (expected RFC 3339 or `5m` etc.)", v);
			return EXIT_MSB;
		}
		*(k ? &q.until_ms : &q.since_ms) = ms;
	}
	if (cli_get(&a, G_TAIL)) {
		char *end;
		const char *t = cli_get(&a, G_TAIL);
		unsigned long n = strtoul(t, &end, 10);
		if (!*t || *end || t[0] == '-')
			cli_usage_error(USAGE, "invalid value '%s' for '--tail <TAIL>': expected a number", t);
		q.tail = n;
	}
	q.grep = cli_get(&a, G_GREP);
	q.follow = cli_has(&a, G_FOLLOW);
	p.json = cli_has(&a, G_JSON);
	p.timestamps = cli_has(&a, G_TIMESTAMPS);
	p.show_id = cli_has(&a, G_SHOW_ID);
	if (msb_logs(cli_ctx(), a.pos[0], &q, print_entry, &p, &err) < 0) {
		cli_error(&err);
		return EXIT_MSB;
	}
	return 0;
}
