// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_lifecycle.c - bulk commands over names and --label selectors:
 * start, stop, restart, remove, ping (spec/cli.md §3.11-3.16). Each target
 * is attempted; failures print one error line and make the exit status 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { B_LABEL = 1, B_FORCE, B_TIMEOUT, B_QUIET, B_TOUCH };

enum verb { V_START, V_STOP, V_RESTART, V_RM, V_PING, V_TOUCH };

static int do_one(enum verb v, const char *name, const struct cli_args *a, unsigned timeout, char *detail,
		  size_t dlen, msb_error *err)
{
	bool force = cli_has(a, B_FORCE);
	msb_sandbox_info info;
	int64_t us;
	int st;

	switch (v) {
	case V_START:
		return msb_start(cli_ctx(), name, err);
	case V_STOP:
		return msb_stop(cli_ctx(), name, timeout, force, err);
	case V_RM:
		return msb_remove(cli_ctx(), name, force, err);
	case V_RESTART:
		if (msb_get(cli_ctx(), name, &info, err) < 0)
			return -1;
		st = info.status;
		msb_sandbox_info_clear(&info);
		if (st == MSB_STATUS_STARTING) {
			snprintf(err->msg, sizeof(err->msg), "sandbox '%s' is already starting", name);
			err->code = MSB_ERR_STATE;
			return -1;
		}
		if (st == MSB_STATUS_RUNNING || st == MSB_STATUS_DRAINING || st == MSB_STATUS_PAUSED) {
			if (msb_stop(cli_ctx(), name, timeout, force, err) < 0)
				return -1;
			cli_action(cli_has(a, B_QUIET), "Stopped", name);
		}
		return msb_start(cli_ctx(), name, err);
	case V_PING:
		us = msb_ping(cli_ctx(), name, err);
		if (us < 0)
			return -1;
		if (us >= 1000000)
			snprintf(detail, dlen, "%s (%.1fs)", name, (double)us / 1e6);
		else if (us >= 1000)
			snprintf(detail, dlen, "%s (%lldms)", name, (long long)us / 1000);
		else
			snprintf(detail, dlen, "%s (%lldus)", name, (long long)us);
		if (cli_has(a, B_TOUCH)) {
			if (msb_touch(cli_ctx(), name, err) < 0)
				return -1;
			cli_action(cli_has(a, B_QUIET), "Touched", name);
		}
		return 0;
	case V_TOUCH:
		return msb_touch(cli_ctx(), name, err);
	}
	return -1;
}

static int bulk(int argc, char **argv, enum verb v, const char *usage)
{
	static const struct cli_opt opts[] = {
		{"label", 0, true, B_LABEL, "Select every sandbox carrying this label (KEY=VALUE)."},
		{"force", 'f', false, B_FORCE, "Immediately kill the sandbox without graceful shutdown."},
		{"timeout", 't', true, B_TIMEOUT, "Seconds to wait for graceful shutdown before force-killing."},
		{"quiet", 'q', false, B_QUIET, "Suppress progress output."},
		{"touch", 0, false, B_TOUCH, "Refresh the sandbox idle timer after a successful ping."},
	};
	static const char *const done[] = {"Started", "Stopped", "Started", "Removed", "Reachable", "Touched"};
	struct cli_args a;
	char **names;
	size_t n;
	unsigned long timeout = 10;
	int failed = 0;

	cli_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), &a, usage);
	if ((cli_has(&a, B_FORCE) && (v == V_START || v == V_PING || v == V_TOUCH)) ||
	    (cli_has(&a, B_TIMEOUT) && v != V_STOP && v != V_RESTART) || (cli_has(&a, B_TOUCH) && v != V_PING))
		cli_usage_error(usage, "unexpected argument for this command");
	if (cli_get(&a, B_TIMEOUT)) {
		char *end;
		const char *t = cli_get(&a, B_TIMEOUT);
		timeout = strtoul(t, &end, 10);
		if (!*t || *end || t[0] == '-' || timeout > 86400 * 365)
			cli_usage_error(usage, "invalid value '%s' for '--timeout <TIMEOUT>': expected seconds", t);
	}
	if (a.npos == 0 && !cli_has(&a, B_LABEL)) {
		cli_errorf("specify one or more sandbox names or --label selectors");
		return EXIT_MSB;
	}
	if (cli_select(&a, B_LABEL, &names, &n) < 0)
		return EXIT_MSB;
	for (size_t i = 0; i < n; i++) {
		msb_error err = {0};
		char detail[256];
		snprintf(detail, sizeof(detail), "%s", names[i]);
		if (do_one(v, names[i], &a, (unsigned)timeout, detail, sizeof(detail), &err) < 0) {
			cli_error(&err);
			failed = 1;
		} else {
			cli_action(cli_has(&a, B_QUIET), done[v], detail);
		}
		free(names[i]);
	}
	free(names);
	return failed ? EXIT_MSB : 0;
}

int cmd_start(int argc, char **argv)
{
	return bulk(argc, argv, V_START, "msb start [OPTIONS] [NAMES]...");
}

int cmd_stop(int argc, char **argv)
{
	return bulk(argc, argv, V_STOP, "msb stop [OPTIONS] [NAMES]...");
}

int cmd_restart(int argc, char **argv)
{
	return bulk(argc, argv, V_RESTART, "msb restart [OPTIONS] [NAMES]...");
}

int cmd_rm(int argc, char **argv)
{
	return bulk(argc, argv, V_RM, "msb remove [OPTIONS] [NAMES]...");
}

int cmd_ping(int argc, char **argv)
{
	return bulk(argc, argv, V_PING, "msb ping [OPTIONS] [NAMES]...");
}

int cmd_touch(int argc, char **argv)
{
	return bulk(argc, argv, V_TOUCH, "msb touch [OPTIONS] [NAMES]...");
}
