// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - msb's entry point: global flags, the command table, the option
 * parser and the output helpers every command uses. Commands live one per
 * file (cmd_*.c) and do their work through libmsb.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

struct cli_cmd {
	const char *name, *alias;
	int (*fn)(int argc, char **argv);
	const char *about;
	bool hidden;
};

static int cmd_sandbox(int argc, char **argv)
{
	return msb_supervisor_main(argc, argv);
}

static const struct cli_cmd commands[] = {
	{"run", NULL, cmd_run, "Create a sandbox from an image and run a command in it.", false},
	{"create", NULL, cmd_create, "Create a sandbox and boot it in the background.", false},
	{"start", NULL, cmd_start, "Start a stopped sandbox.", false},
	{"stop", NULL, cmd_stop, "Stop one or more running sandboxes.", false},
	{"restart", NULL, cmd_restart, "Restart one or more sandboxes.", false},
	{"ping", NULL, cmd_ping, "Check whether one or more sandbox agents are reachable.", false},
	{"touch", NULL, cmd_touch, "Refresh idle activity for one or more running sandboxes.", false},
	{"list", "ls", cmd_ls, "List all sandboxes.", false},
	{"status", "ps", cmd_ps, "Show sandbox status.", false},
	{"remove", "rm", cmd_rm, "Remove one or more sandboxes.", false},
	{"exec", NULL, cmd_exec, "Run a command in a running sandbox.", false},
	{"copy", "cp", cmd_cp, "Copy files between the host and a sandbox.", false},
	{"logs", NULL, cmd_logs, "Show captured output from a sandbox.", false},
	{"inspect", NULL, cmd_inspect, "Show detailed sandbox configuration and status.", false},
	{"policy", NULL, cmd_policy, "Explain which network rule decides a destination (policy check).", false},
	{"pull", NULL, cmd_pull, "Download an image from a registry.", false},
	{"image", NULL, cmd_image, "Manage cached images.", false},
	{"images", NULL, cmd_images, "List cached images.", true},
	{"rmi", NULL, cmd_rmi, "Remove cached images.", true},
	{"load", NULL, cmd_load, "Load an image archive from tar.", false},
	{"save", NULL, cmd_save, "Save cached images to a tar archive.", false},
	{"registry", NULL, cmd_registry, "Manage registry credentials.", false},
	{"registries", "regs", cmd_registries, "List registries with stored credentials.", true},
	{"sandbox", NULL, cmd_sandbox, "Run the sandbox process (internal).", true},
};

static msb_ctx *g_ctx;

msb_ctx *cli_ctx(void)
{
	msb_error err = {0};
	if (!g_ctx && msb_open(&g_ctx, NULL, &err) < 0) {
		cli_error(&err);
		exit(EXIT_MSB);
	}
	return g_ctx;
}

void cli_error(const msb_error *e)
{
	fprintf(stderr, "error: %s\n", e->msg[0] ? e->msg : msb_strerror(e->code));
}

void cli_errorf(const char *fmt, ...)
{
	va_list ap;
	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	fputs("warn: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_action(bool quiet, const char *verb, const char *target)
{
	if (!quiet)
		fprintf(stderr, "   \u2713 %-12s %s\n", verb, target);
}

void cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;
	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\nUsage: %s\n\nFor more information, try '--help'.\n", usage);
	exit(EXIT_USAGE);
}

void cli_help(const char *usage, const char *about, const struct cli_opt *opts, size_t nopts)
{
	printf("%s\n\nUsage: %s\n\nOptions:\n", about, usage);
	for (size_t i = 0; i < nopts; i++) {
		char flag[64];
		if (opts[i].shrt)
			snprintf(flag, sizeof(flag), "-%c, --%s%s", opts[i].shrt, opts[i].lng, opts[i].arg ? " <V>" : "");
		else
			snprintf(flag, sizeof(flag), "    --%s%s", opts[i].lng, opts[i].arg ? " <V>" : "");
		printf("  %-34s %s\n", flag, opts[i].help);
	}
	printf("  %-34s %s\n", "-h, --help", "Print help");
}

static const struct cli_opt *find_long(const struct cli_opt *opts, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(opts[i].lng) == len && strncmp(opts[i].lng, name, len) == 0)
			return &opts[i];
	return NULL;
}

static void push(struct cli_args *out, int id, const char *val, const char *usage)
{
	if (out->n >= CLI_MAX_VALUES)
		cli_usage_error(usage, "too many options");
	out->v[out->n].id = id;
	out->v[out->n].val = val;
	out->n++;
}

void cli_parse(int argc, char **argv, const struct cli_opt *opts, size_t nopts, struct cli_args *out,
	       const char *usage)
{
	memset(out, 0, sizeof(*out));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			out->dashdash = true;
			out->rest = argv + i + 1;
			out->nrest = argc - i - 1;
			return;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			cli_help(usage, "", opts, nopts);
			exit(0);
		}
		if (a[0] == '-' && a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			const struct cli_opt *o = find_long(opts, nopts, a + 2, len);
			if (!o)
				cli_usage_error(usage, "unexpected argument '%.*s' found", (int)(len + 2), a);
			if (o->arg) {
				const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
				if (!v)
					cli_usage_error(usage, "a value is required for '--%s <%s>' but none was supplied",
							o->lng, o->lng);
				push(out, o->id, v, usage);
			} else {
				if (eq)
					cli_usage_error(usage, "unexpected value '%s' for '--%s' found; no more were expected",
							eq + 1, o->lng);
				push(out, o->id, NULL, usage);
			}
			continue;
		}
		if (a[0] == '-' && a[1]) {
			/* clustered short flags: -it, -e K=V, -eK=V */
			for (const char *p = a + 1; *p; p++) {
				const struct cli_opt *o = NULL;
				for (size_t k = 0; k < nopts; k++)
					if (opts[k].shrt == *p)
						o = &opts[k];
				if (!o)
					cli_usage_error(usage, "unexpected argument '-%c' found", *p);
				if (o->arg) {
					const char *v = p[1] ? p + 1 : (i + 1 < argc ? argv[++i] : NULL);
					if (!v)
						cli_usage_error(usage, "a value is required for '-%c' but none was supplied",
								*p);
					push(out, o->id, v, usage);
					break;
				}
				push(out, o->id, NULL, usage);
			}
			continue;
		}
		if (out->npos >= (int)(sizeof(out->pos) / sizeof(out->pos[0])))
			cli_usage_error(usage, "too many arguments");
		out->pos[out->npos++] = a;
	}
}

bool cli_has(const struct cli_args *a, int id)
{
	for (int i = 0; i < a->n; i++)
		if (a->v[i].id == id)
			return true;
	return false;
}

const char *cli_get(const struct cli_args *a, int id)
{
	const char *v = NULL;
	for (int i = 0; i < a->n; i++)
		if (a->v[i].id == id)
			v = a->v[i].val;
	return v;
}

bool cli_labels_match(const char *labels_json, const char *const *sel, size_t nsel)
{
	json_t *o = json_loads(labels_json ? labels_json : "{}", 0, NULL);
	bool ok = true;
	for (size_t i = 0; ok && i < nsel; i++) {
		const char *eq = strchr(sel[i], '=');
		char *key = eq ? strndup(sel[i], (size_t)(eq - sel[i])) : strdup(sel[i]);
		const char *v = json_string_value(json_object_get(o, key));
		ok = v && (!eq || strcmp(v, eq + 1) == 0);
		free(key);
	}
	json_decref(o);
	return ok;
}

int cli_select(const struct cli_args *a, int label_id, char ***names, size_t *n)
{
	const char *sel[64];
	size_t nsel = 0;
	*names = NULL;
	*n = 0;
	for (int i = 0; i < a->npos; i++) {
		*names = realloc(*names, (*n + 1) * sizeof(char *));
		(*names)[(*n)++] = strdup(a->pos[i]);
	}
	for (int i = 0; i < a->n && nsel < 64; i++)
		if (a->v[i].id == label_id)
			sel[nsel++] = a->v[i].val;
	if (nsel) {
		msb_sandbox_info *list;
		size_t k;
		msb_error err = {0};
		if (msb_list(cli_ctx(), &list, &k, &err) < 0) {
			cli_error(&err);
			return -1;
		}
		for (size_t i = 0; i < k; i++) {
			if (!cli_labels_match(list[i].labels_json, sel, nsel))
				continue;
			*names = realloc(*names, (*n + 1) * sizeof(char *));
			(*names)[(*n)++] = strdup(list[i].name);
		}
		msb_sandbox_list_free(list, k);
		if (*n == 0)
			cli_warn("no sandboxes matched the given labels");
	}
	return 0;
}

static void print_help(void)
{
	printf("msb %s — run untrusted code in disposable sandboxes\n\nUsage: msb [OPTIONS] <COMMAND>\n\n"
	       "Sandboxes:\n",
	       MSB_VERSION);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char alias[32] = "";
		if (commands[i].hidden)
			continue;
		if (commands[i].alias)
			snprintf(alias, sizeof(alias), " [aliases: %s]", commands[i].alias);
		printf("  %-10s %s%s\n", commands[i].name, commands[i].about, alias);
	}
	printf("\nOptions:\n  -h, --help     Print help\n  -V, --version  Print version\n");
}

int main(int argc, char **argv)
{
	int i = 1;
	/* global verbosity flags are accepted before the command */
	while (i < argc && (strcmp(argv[i], "--error") == 0 || strcmp(argv[i], "--warn") == 0 ||
			    strcmp(argv[i], "--info") == 0 || strcmp(argv[i], "--debug") == 0 ||
			    strcmp(argv[i], "--trace") == 0))
		i++;
	if (i >= argc || strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "help") == 0) {
		print_help();
		return 0;
	}
	if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
		printf("msb %s\n", MSB_VERSION);
		return 0;
	}
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
		if (strcmp(argv[i], commands[k].name) == 0 || (commands[k].alias && strcmp(argv[i], commands[k].alias) == 0)) {
			int r = commands[k].fn(argc - i, argv + i);
			fflush(stdout);
			msb_close(g_ctx);
			return r;
		}
	}
	fprintf(stderr, "error: unrecognized subcommand '%s'\n\nUsage: msb [OPTIONS] <COMMAND>\n\n"
			"For more information, try '--help'.\n",
		argv[i]);
	return EXIT_USAGE;
}
