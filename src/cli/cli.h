/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h - the msb command line: an option table parser, output helpers
 * shared by the one-file-per-command handlers, and the exit codes
 * (docs/cli.md):
 *   0 success; 1 msb error; 2 usage error;
 *   run/exec: the command's exit status, 128+N when killed by signal N,
 *   124 when --timeout killed it, 125 when msb failed before the command
 *   ran, 126 command not executable, 127 command not found.
 */
#ifndef MSB_CLI_H
#define MSB_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "msb.h"

enum { EXIT_MSB = 1, EXIT_USAGE = 2, EXIT_TIMEOUT = 124, EXIT_PRESTART = 125, EXIT_NOEXEC = 126,
       EXIT_NOTFOUND = 127 };

struct cli_opt {
	const char *lng; /* without the leading "--" */
	char shrt;	 /* 0 if none */
	bool arg;	 /* takes a value */
	int id;
	const char *help;
};

#define CLI_MAX_VALUES 512
struct cli_args {
	int n;
	struct {
		int id;
		const char *val; /* NULL for switches */
	} v[CLI_MAX_VALUES];
	const char *pos[64];
	int npos;
	char **rest; /* after "--" */
	int nrest;
	bool dashdash;
};

/* Parse @argv (argv[0] = the command name). Usage errors print and exit 2. */
void cli_parse(int argc, char **argv, const struct cli_opt *opts, size_t nopts, struct cli_args *out,
	       const char *usage);
bool cli_has(const struct cli_args *a, int id);
const char *cli_get(const struct cli_args *a, int id); /* last value */
void cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
void cli_help(const char *usage, const char *about, const struct cli_opt *opts, size_t nopts);

/* The context, opened on first use; failure prints and exits 1. */
msb_ctx *cli_ctx(void);
void cli_error(const msb_error *e);
void cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "   ✓ Verb         target" on stderr unless quiet. */
void cli_action(bool quiet, const char *verb, const char *target);

/* Resolve sandbox names from positionals and/or --label selectors (KEY[=VALUE]). */
int cli_select(const struct cli_args *a, int label_id, char ***names, size_t *n);
bool cli_labels_match(const char *labels_json, const char *const *sel, size_t nsel);

/* Run an exec session attached to this terminal or these pipes; returns the exit status to use. */
struct cli_session {
	const char *name;
	struct msb_exec_opts opts;
	bool forward_stdin;
	unsigned long long timeout_s;
	const char *timeout_msg; /* "exec timed out" / "command timed out" */
};
int cli_run_session(struct cli_session *s);

/* Commands. */
int cmd_run(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_cp(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_touch(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_images(int argc, char **argv);
int cmd_image_inspect(int argc, char **argv);
int cmd_image_prune(int argc, char **argv);
int cmd_rmi(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_registry(int argc, char **argv);
int cmd_registries(int argc, char **argv);
/* Pull @ref into the store (through msb-image in the static binary); @always re-resolves a cached image. 0, or -1 after printing why. */
int cli_pull_image(const char *ref, bool quiet, bool always);
void cli_format_size(uint64_t bytes, char out[32]);

/* table.c: aligned tables with 4 spaces between columns. */
struct table {
	size_t ncols, nrows;
	char **cells; /* row-major, nrows * ncols, owned */
};
void table_init(struct table *t, size_t ncols, const char *const *header);
void table_add(struct table *t, const char *const *row);
void table_print(const struct table *t);
void table_free(struct table *t);
void format_local_time(long long unix_s, char out[32]);
void format_rfc3339(long long unix_s, char out[40]);

#endif
