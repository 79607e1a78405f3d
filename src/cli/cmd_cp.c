// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_cp.c - `msb copy` / `msb cp` (spec/cli.md §3.5): SANDBOX:/abs/path
 * endpoints on one side, host paths on the other.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

enum { C_QUIET = 1 };
static const struct cli_opt opts[] = {{"quiet", 'q', false, C_QUIET, "Suppress progress output."}};
#define USAGE "msb copy [OPTIONS] <SOURCE> <DESTINATION>"

/* Host if it looks like a local path, else NAME:/abs. Returns 0 host, 1 sandbox, -1 error (printed). */
static int endpoint(const char *s, char name[MSB_NAME_MAX + 1], const char **path)
{
	const char *colon = strchr(s, ':');
	msb_error err = {0};
	if (s[0] == '/' || s[0] == '.' || !colon) {
		*path = s;
		return 0;
	}
	if ((size_t)(colon - s) > MSB_NAME_MAX) {
		cli_errorf("invalid sandbox endpoint \"%s\": name too long", s);
		return -1;
	}
	memcpy(name, s, (size_t)(colon - s));
	name[colon - s] = '\0';
	if (msb_name_valid(name, &err) < 0) {
		cli_errorf("invalid sandbox endpoint \"%s\": %s", s, err.msg);
		return -1;
	}
	if (colon[1] != '/') {
		cli_errorf("ambiguous copy endpoint \"%s\": use SANDBOX:/absolute/path for a sandbox path, or ./%s for "
			   "a local file",
			   s, s);
		return -1;
	}
	*path = colon + 1;
	return 1;
}

int cmd_cp(int argc, char **argv)
{
	struct cli_args a;
	char sn[MSB_NAME_MAX + 1], dn[MSB_NAME_MAX + 1];
	const char *sp, *dp;
	msb_error err = {0};
	int s, d, r;

	cli_parse(argc, argv, opts, 1, &a, USAGE);
	if (a.npos != 2)
		cli_usage_error(USAGE, "expected a source and a destination");
	s = endpoint(a.pos[0], sn, &sp);
	d = endpoint(a.pos[1], dn, &dp);
	if (s < 0 || d < 0)
		return EXIT_MSB;
	if (s == 0 && d == 0) {
		cli_errorf("msb copy requires at least one sandbox endpoint (SANDBOX:/path)");
		return EXIT_MSB;
	}
	if (s == 1 && d == 1) {
		cli_errorf("copying between two sandbox paths is not supported; copy through the host");
		return EXIT_MSB;
	}
	{
		/* like exec: a stopped sandbox is started for the copy and stopped again */
		const char *name = s == 1 ? sn : dn;
		bool started = false;
		if (!msb_running(cli_ctx(), name)) {
			msb_sandbox_info info;
			int st;
			if (msb_get(cli_ctx(), name, &info, &err) < 0) {
				cli_error(&err);
				return EXIT_MSB;
			}
			st = info.status;
			msb_sandbox_info_clear(&info);
			if (st != MSB_STATUS_STOPPED && st != MSB_STATUS_CRASHED && st != MSB_STATUS_RUNNING) {
				cli_errorf("sandbox '%s' is in state %s and cannot be started", name, msb_status_name(st));
				return EXIT_MSB;
			}
			if (st != MSB_STATUS_RUNNING) {
				if (msb_start(cli_ctx(), name, &err) < 0) {
					cli_error(&err);
					return EXIT_MSB;
				}
				started = true;
			}
		}
		r = s == 0 ? msb_copy_in(cli_ctx(), dn, sp, dp, &err) : msb_copy_out(cli_ctx(), sn, sp, dp, &err);
		if (started)
			msb_stop(cli_ctx(), name, 10, 0, NULL);
	}
	if (r < 0) {
		cli_error(&err);
		return EXIT_MSB;
	}
	return 0;
}
