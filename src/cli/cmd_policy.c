// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_policy.c - `msb policy check`: which rule of a network policy decides a
 * destination, and why. The flags are the ones `run` and `create` take.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { P_RULE = 1, P_NET, P_NO_NET, P_DEFAULT, P_DEFAULT_EGRESS, P_DEFAULT_INGRESS, P_NAME, P_INGRESS };

static const struct cli_opt opts[] = {
	{"net-rule", 0, true, P_RULE, "Network rule (repeatable), as for run/create."},
	{"net", 0, true, P_NET, "High-level network profile (repeatable)."},
	{"no-net", 0, false, P_NO_NET, "Disable all network access."},
	{"net-default", 0, true, P_DEFAULT, "Default action in both directions."},
	{"net-default-egress", 0, true, P_DEFAULT_EGRESS, "Default action for egress."},
	{"net-default-ingress", 0, true, P_DEFAULT_INGRESS, "Default action for ingress."},
	{"name", 0, true, P_NAME, "A DNS name the destination address was resolved from."},
	{"ingress", 0, false, P_INGRESS, "Judge an inbound flow instead of an outbound one."},
};
#define USAGE "msb policy check [OPTIONS] <DESTINATION>   (DESTINATION = ADDR[:PORT][/PROTO])"

static const char *const flag_names[] = {
	[P_RULE] = "net-rule",		   [P_NET] = "net",
	[P_NO_NET] = "no-net",		   [P_DEFAULT] = "net-default",
	[P_DEFAULT_EGRESS] = "net-default-egress", [P_DEFAULT_INGRESS] = "net-default-ingress",
};

int cmd_policy(int argc, char **argv)
{
	struct cli_args a;
	const char *flags[CLI_MAX_VALUES], *values[CLI_MAX_VALUES];
	size_t n = 0;
	msb_error err = {0};
	char *report = NULL;
	int r;

	if (argc < 2 || strcmp(argv[1], "check") != 0)
		cli_usage_error(USAGE, "expected the subcommand 'check'");
	cli_parse(argc - 1, argv + 1, opts, sizeof(opts) / sizeof(opts[0]), &a, USAGE);
	if (a.npos != 1)
		cli_usage_error(USAGE, "one destination is required");
	for (int i = 0; i < a.n; i++) {
		if (a.v[i].id > P_DEFAULT_INGRESS)
			continue;
		flags[n] = flag_names[a.v[i].id];
		values[n++] = a.v[i].val;
	}
	r = msb_policy_check(flags, values, n, a.pos[0], cli_get(&a, P_NAME), cli_has(&a, P_INGRESS), &report,
			     &err);
	if (r < 0) {
		cli_error(&err);
		return EXIT_MSB;
	}
	fputs(report, stdout);
	free(report);
	return 0;
}
