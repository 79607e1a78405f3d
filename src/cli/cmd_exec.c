// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_exec.c - `msb exec` (spec/cli.md §3.4). A stopped sandbox is started
 * for the command and stopped again afterwards.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum { E_ENV = 1, E_WORKDIR, E_USER, E_TTY, E_NO_TTY, E_TIMEOUT, E_RLIMIT, E_QUIET, E_STREAM };

static const struct cli_opt opts[] = {
	{"env", 'e', true, E_ENV, "Set an environment variable (KEY=value)."},
	{"workdir", 'w', true, E_WORKDIR, "Set the working directory for the command."},
	{"user", 'u', true, E_USER, "Run the command as the specified guest user."},
	{"tty", 't', false, E_TTY, "Allocate a pseudo-terminal (enables colors, line editing)."},
	{"no-tty", 0, false, E_NO_TTY, "Disable pseudo-terminal allocation and run non-interactively."},
	{"timeout", 0, true, E_TIMEOUT, "Kill the command after this duration (e.g. 30s, 5m, 1h)."},
	{"rlimit", 0, true, E_RLIMIT, "Set a POSIX resource limit (e.g. nofile=1024, nproc=64)."},
	{"quiet", 'q', false, E_QUIET, "Suppress progress output."},
	{"stream", 0, false, E_STREAM, "Stream stdin/stdout bidirectionally without a PTY."},
};
#define USAGE "msb exec [OPTIONS] <NAME> [-- <COMMAND>...]"

#include "parse.h"

int cmd_exec(int argc, char **argv)
{
	struct cli_args a;
	struct cli_session s = {0};
	struct msb_rlimit rl[16];
	const char *envv[256];
	const char *shell[2] = {"/bin/sh", NULL};
	msb_sandbox_info info;
	msb_error err = {0};
	uint64_t timeout = 0;
	bool started = false, interactive;
	int status, nenv = 0;

	cli_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), &a, USAGE);
	if (a.npos != 1)
		cli_usage_error(USAGE, a.npos ? "unexpected argument '%s' found" : "the sandbox name is required%s",
				a.npos ? a.pos[1] : "");
	if (cli_has(&a, E_TTY) && cli_has(&a, E_NO_TTY))
		cli_usage_error(USAGE, "the argument '--tty' cannot be used with '--no-tty'");
	if (cli_has(&a, E_STREAM) && cli_has(&a, E_TTY))
		cli_usage_error(USAGE, "the argument '--stream' cannot be used with '--tty'");
	if (cli_has(&a, E_STREAM) && isatty(STDIN_FILENO)) {
		cli_errorf("`--stream` requires piped (non-terminal) stdin; use `--tty` for an interactive terminal "
			   "session");
		return EXIT_MSB;
	}
	/* validate everything before touching the sandbox */
	if (cli_get(&a, E_TIMEOUT) && msb_parse_duration_s(cli_get(&a, E_TIMEOUT), &timeout, &err) < 0)
		goto bad;
	for (int i = 0; i < a.n; i++) {
		char *kv;
		if (a.v[i].id == E_RLIMIT) {
			if (s.opts.n_rlimits >= 16 || msb_parse_rlimit(a.v[i].val, &rl[s.opts.n_rlimits++], &err) < 0)
				goto bad;
		} else if (a.v[i].id == E_ENV) {
			if (nenv >= 255 || parse_env(a.v[i].val, &kv, &err) < 0)
				goto bad;
			envv[nenv++] = kv;
		}
	}
	/* fast path: a running sandbox answers on its socket, no state lookup needed */
	status = MSB_STATUS_RUNNING;
	if (!msb_running(cli_ctx(), a.pos[0])) {
		if (msb_get(cli_ctx(), a.pos[0], &info, &err) < 0)
			goto bad;
		status = info.status;
		msb_sandbox_info_clear(&info);
	}
	if (status == MSB_STATUS_STOPPED || status == MSB_STATUS_CRASHED) {
		if (msb_start(cli_ctx(), a.pos[0], &err) < 0)
			goto bad;
		started = true;
	} else if (status != MSB_STATUS_RUNNING && status != MSB_STATUS_DRAINING) {
		cli_errorf("sandbox '%s' is in state %s and cannot be started", a.pos[0], msb_status_name(status));
		return EXIT_MSB;
	}
	interactive = isatty(STDIN_FILENO) && !cli_has(&a, E_NO_TTY) && !cli_has(&a, E_STREAM);
	s.name = a.pos[0];
	s.opts.env = envv;
	s.opts.n_env = (size_t)nenv;
	s.opts.cwd = cli_get(&a, E_WORKDIR);
	s.opts.user = cli_get(&a, E_USER);
	s.opts.rlimits = rl;
	s.opts.tty = interactive || cli_has(&a, E_TTY);
	s.forward_stdin = !isatty(STDIN_FILENO) || !cli_has(&a, E_NO_TTY);
	s.timeout_s = timeout;
	s.timeout_msg = "exec timed out";
	if (a.nrest) {
		s.opts.argv = (const char *const *)a.rest;
		s.opts.argc = (size_t)a.nrest;
	} else {
		s.opts.argv = shell;
		s.opts.argc = 1;
	}
	status = cli_run_session(&s);
	if (started)
		msb_stop(cli_ctx(), a.pos[0], 10, 0, NULL);
	return status;
bad:
	cli_error(&err);
	return EXIT_MSB;
}
