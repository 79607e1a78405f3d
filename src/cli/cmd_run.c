// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_run.c - `msb run` and `msb create` (spec/cli.md §3.1-3.3).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "parse.h"
#include "sandbox_opts.h"

const char *const sandbox_opt_key[O_COUNT] = {
	[O_NAME] = "name",	 [O_WORKDIR] = "workdir",     [O_SHELL] = "shell",
	[O_ENV] = "env",	 [O_LABEL] = "label",	      [O_SECURITY] = "security",
	[O_ENTRYPOINT] = "entrypoint", [O_HOSTNAME] = "hostname", [O_USER] = "user",
	[O_MAX_DURATION] = "max-duration", [O_IDLE_TIMEOUT] = "idle-timeout",
	[O_NO_NET] = "no-net", [O_NET] = "net", [O_NET_RULE] = "net-rule", [O_NET_DEFAULT] = "net-default",
	[O_NET_DEFAULT_EGRESS] = "net-default-egress", [O_NET_DEFAULT_INGRESS] = "net-default-ingress",
	[O_DNS_NAMESERVER] = "dns-nameserver", [O_DNS_QUERY_TIMEOUT] = "dns-query-timeout-ms",
	[O_PORT] = "port", [O_MAX_CONNECTIONS] = "max-connections",
	[O_EG_BW] = "net-egress-bandwidth", [O_EG_BW_BURST] = "net-egress-bandwidth-burst",
	[O_EG_OPS] = "net-egress-ops", [O_EG_OPS_BURST] = "net-egress-ops-burst",
	[O_IN_BW] = "net-ingress-bandwidth", [O_IN_BW_BURST] = "net-ingress-bandwidth-burst",
	[O_IN_OPS] = "net-ingress-ops", [O_IN_OPS_BURST] = "net-ingress-ops-burst",
};

/* A one-time burst needs its limiter (spec/network.md §7). */
static int check_bursts(const struct cli_args *a)
{
	static const int pairs[][2] = {{O_EG_BW_BURST, O_EG_BW}, {O_EG_OPS_BURST, O_EG_OPS},
				       {O_IN_BW_BURST, O_IN_BW}, {O_IN_OPS_BURST, O_IN_OPS}};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (cli_has(a, pairs[i][0]) && !cli_has(a, pairs[i][1])) {
			cli_errorf("--%s requires --%s", sandbox_opt_key[pairs[i][0]], sandbox_opt_key[pairs[i][1]]);
			return -1;
		}
	return 0;
}

/*
 * check_net_usage() - what the reference's argument parser rejects before any
 * value is read, so a script sees the same exit status 2: a single-use
 * network-mode flag given twice, the conflicts of spec/network.md §3 (the
 * first flag, in order of appearance, that clashes with another) and the
 * integer-typed --max-connections and --dns-query-timeout-ms. Values are
 * checked later (exit 1), as there.
 */
static void check_net_usage(const struct cli_args *a, const char *usage)
{
	static const struct {
		int id;
		const char *display;
		unsigned conflicts; /* bits: index into this table */
	} net[] = {
	    {O_NO_NET, "--no-net", 0x1e},
	    {O_NET, "--net <PROFILE>", 0x1d},
	    {O_NET_DEFAULT, "--net-default <ACTION>", 0x1b},
	    {O_NET_DEFAULT_EGRESS, "--net-default-egress <ACTION>", 0x07},
	    {O_NET_DEFAULT_INGRESS, "--net-default-ingress <ACTION>", 0x07},
	};
	static const struct {
		int id;
		const char *display;
	} ints[] = {{O_MAX_CONNECTIONS, "--max-connections <MAX_CONNECTIONS>"},
	            {O_DNS_QUERY_TIMEOUT, "--dns-query-timeout-ms <MS>"}};
	int order[sizeof(net) / sizeof(net[0])], n_order = 0;
	unsigned present = 0;

	for (int i = 0; i < a->n; i++)
		for (int f = 0; f < (int)(sizeof(net) / sizeof(net[0])); f++)
			if (a->v[i].id == net[f].id && (present & (1u << f)) && net[f].id != O_NET)
				cli_usage_error(usage, "the argument '%s' cannot be used multiple times",
				                net[f].display);
			else if (a->v[i].id == net[f].id && !(present & (1u << f))) {
				present |= 1u << f;
				order[n_order++] = f;
			}
	for (int i = 0; i < n_order; i++)
		for (int j = 0; j < n_order; j++)
			if (net[order[i]].conflicts & (1u << order[j]))
				cli_usage_error(usage, "the argument '%s' cannot be used with '%s'",
				                net[order[i]].display, net[order[j]].display);
	for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]); k++) {
		const char *v = cli_get(a, ints[k].id);
		if (v && (!*v || strspn(v, "0123456789") != strlen(v)))
			cli_usage_error(usage, "invalid value '%s' for '%s': %s", v, ints[k].display,
			                *v ? "invalid digit found in string"
			                   : "cannot parse integer from empty string");
	}
}

static const struct cli_opt run_opts[] = {
	SANDBOX_OPTS,
	{"detach", 'd', false, O_DETACH, "Run the resolved image command in the background and print the sandbox name."},
	{"tty", 't', false, O_TTY, "Allocate a pseudo-terminal (enables colors, line editing)."},
	{"no-tty", 0, false, O_NO_TTY, "Disable pseudo-terminal allocation and run non-interactively."},
	{"timeout", 0, true, O_TIMEOUT, "Kill the command after this duration (e.g. 30s, 5m, 1h)."},
	{"rlimit", 0, true, O_RLIMIT, "Set a POSIX resource limit (e.g. nofile=1024, nproc=64)."},
	{"detach-keys", 0, true, O_DETACH_KEYS, "Key sequence to detach from an interactive session."},
};

static const struct cli_opt create_opts[] = {SANDBOX_OPTS};

#define RUN_USAGE    "msb run [OPTIONS] [IMAGE] [-- <COMMAND>...]"
#define CREATE_USAGE "msb create [OPTIONS] [IMAGE]"

static int set(msb_config *cfg, const char *key, const char *val)
{
	msb_error err = {0};
	if (msb_config_set(cfg, key, val, &err) < 0) {
		cli_error(&err);
		return -1;
	}
	return 0;
}

msb_config *sandbox_opts_config(const struct cli_args *a, const char *image)
{
	msb_config *cfg = msb_config_new();
	msb_error err = {0};
	bool replace = false;

	if (set(cfg, "image", image) < 0 || check_bursts(a) < 0)
		goto bad;
	for (int i = 0; i < a->n; i++) {
		int id = a->v[i].id;
		const char *v = a->v[i].val;
		uint64_t ms;
		if (id < O_COUNT && sandbox_opt_key[id]) {
			if (set(cfg, sandbox_opt_key[id], v ? v : "") < 0)
				goto bad;
			continue;
		}
		switch (id) {
		case O_REPLACE:
			replace = true;
			break;
		case O_NO_DNS_REBIND:
			if (set(cfg, "no-dns-rebind-protection", "1") < 0)
				goto bad;
			break;
		case O_REPLACE_TIMEOUT:
			if (msb_parse_duration_ms(v, &ms, &err) < 0) {
				cli_error(&err);
				goto bad;
			}
			replace = true;
			if (set(cfg, "replace-timeout-ms", v) < 0)
				goto bad;
			break;
		case O_CPUS:
		case O_MEMORY:
			if (set(cfg, id == O_CPUS ? "cpus" : "memory", v) < 0)
				goto bad;
			break;
		case O_PULL:
			if (parse_pull_policy(v, &err) < 0) {
				cli_error(&err);
				goto bad;
			}
			break;
		case O_LOG_LEVEL:
			if (strcmp(v, "error") && strcmp(v, "warn") && strcmp(v, "info") && strcmp(v, "debug") &&
			    strcmp(v, "trace")) {
				cli_errorf("invalid log level: %s (expected: error, warn, info, debug, trace)", v);
				goto bad;
			}
			break;
		default:
			break; /* command-specific or switches handled by the caller */
		}
	}
	if (replace && set(cfg, "replace", "1") < 0)
		goto bad;
	return cfg;
bad:
	msb_config_free(cfg);
	return NULL;
}

/* Does sandbox @name exist? Its status, and its image's ENTRYPOINT/CMD as {"entrypoint", "cmd"}, come back. */
static bool sandbox_exists(const char *name, int *status, json_t **image_defaults)
{
	msb_sandbox_info info;
	json_t *cfg;
	if (msb_get(cli_ctx(), name, &info, NULL) < 0)
		return false;
	*status = info.status;
	cfg = info.config_json ? json_loads(info.config_json, 0, NULL) : NULL;
	*image_defaults = json_pack("{s:O*, s:O*}", "entrypoint", json_object_get(cfg, "image_entrypoint"), "cmd",
				    json_object_get(cfg, "image_cmd"));
	json_decref(cfg);
	msb_sandbox_info_clear(&info);
	return true;
}

/*
 * Make sure an OCI image is in the store, per --pull (spec/cli.md §3.1):
 * if-missing pulls only what is not cached (and then touches no network),
 * always re-resolves, never refuses to pull.
 */
static int ensure_image(const struct cli_args *a, const char *image)
{
	msb_image_info im;
	msb_error err = {0};
	int policy = PARSE_PULL_IF_MISSING;

	if (strcmp(image, "host") == 0 || image[0] == '.' || image[0] == '/')
		return 0;
	if (cli_get(a, O_PULL))
		policy = parse_pull_policy(cli_get(a, O_PULL), NULL);
	if (policy != PARSE_PULL_ALWAYS) {
		if (msb_image_get(cli_ctx(), image, &im, &err) == 0) {
			msb_image_info_clear(&im);
			return 0;
		}
		if (err.code != MSB_ERR_NOT_FOUND || policy == PARSE_PULL_NEVER) {
			if (policy == PARSE_PULL_NEVER && err.code == MSB_ERR_NOT_FOUND)
				cli_errorf("image not found: %s (not pulled: the pull policy is never)", image);
			else
				cli_error(&err);
			return -1;
		}
	}
	return cli_pull_image(image, !isatty(STDERR_FILENO), policy == PARSE_PULL_ALWAYS);
}

/*
 * The default command of an image: ENTRYPOINT + CMD, or ENTRYPOINT + the
 * given args (spec/cli.md §3.1). Strings from the JSON are copied; the
 * command line's are borrowed (msb exits soon after: not freed).
 */
static char **resolve_argv(const json_t *entry, const json_t *cmd, const char *ep_override, char **rest, int nrest,
			   int *n)
{
	char **v = calloc(json_array_size(entry) + json_array_size(cmd) + (size_t)nrest + 2, sizeof(char *));
	size_t i;
	json_t *x;
	int k = 0;

	if (ep_override)
		v[k++] = (char *)ep_override;
	else
		json_array_foreach(entry, i, x) if (json_string_value(x)) v[k++] = strdup(json_string_value(x));
	if (nrest)
		for (int j = 0; j < nrest; j++)
			v[k++] = rest[j];
	else if (!ep_override)
		json_array_foreach(cmd, i, x) if (json_string_value(x)) v[k++] = strdup(json_string_value(x));
	*n = k;
	return v;
}

static json_t *image_config(const char *image)
{
	msb_image_info im;
	json_t *rec, *cfg;
	if (strcmp(image, "host") == 0 || msb_image_get(cli_ctx(), image, &im, NULL) < 0)
		return NULL;
	rec = json_loads(im.record_json, 0, NULL);
	msb_image_info_clear(&im);
	cfg = json_incref(json_object_get(rec, "config"));
	json_decref(rec);
	return cfg;
}

/* Create a sandbox of @image (already in the store: ensure_image) from the command line's flags. */
static int create_from(const struct cli_args *a, const char *image, bool ephemeral, char **cmd, int ncmd,
		       char name[MSB_NAME_MAX + 1])
{
	msb_config *cfg = sandbox_opts_config(a, image);
	msb_error err = {0};
	char note[600];
	int r;
	if (!cfg)
		return EXIT_MSB;
	if (msb_host_note(note, sizeof(note)))
		cli_warn("%s", note);
	if (ephemeral && set(cfg, "ephemeral", "1") < 0) {
		msb_config_free(cfg);
		return EXIT_MSB;
	}
	for (int i = 0; i < ncmd; i++)
		if (set(cfg, "cmd", cmd[i]) < 0) {
			msb_config_free(cfg);
			return EXIT_MSB;
		}
	r = msb_create(cli_ctx(), cfg, name, &err);
	msb_config_free(cfg);
	if (r < 0) {
		cli_error(&err);
		return EXIT_MSB;
	}
	return 0;
}

int cmd_create(int argc, char **argv)
{
	struct cli_args a;
	char name[MSB_NAME_MAX + 1];
	int r;

	cli_parse(argc, argv, create_opts, sizeof(create_opts) / sizeof(create_opts[0]), &a, CREATE_USAGE);
	if (a.npos > 1 || a.dashdash)
		cli_usage_error(CREATE_USAGE, "unexpected argument '%s' found", a.npos > 1 ? a.pos[1] : "--");
	check_net_usage(&a, CREATE_USAGE);
	if (ensure_image(&a, a.npos ? a.pos[0] : "host") < 0)
		return EXIT_MSB;
	r = create_from(&a, a.npos ? a.pos[0] : "host", false, NULL, 0, name);
	if (r)
		return r;
	cli_action(cli_has(&a, O_QUIET), "Created", name);
	if (!cli_has(&a, O_NAME))
		printf("%s\n", name);
	return 0;
}

static int parse_rlimits(const struct cli_args *a, struct msb_rlimit *rl, size_t *n)
{
	msb_error err = {0};
	*n = 0;
	for (int i = 0; i < a->n; i++) {
		if (a->v[i].id != O_RLIMIT)
			continue;
		if (*n >= 16) {
			cli_errorf("too many --rlimit options");
			return -1;
		}
		if (msb_parse_rlimit(a->v[i].val, &rl[(*n)++], &err) < 0) {
			cli_error(&err);
			return -1;
		}
	}
	return 0;
}

/* Own the sandbox for the length of this command: if we die, the supervisor stops it. */
static int own_sandbox(const char *name);

int cmd_run(int argc, char **argv)
{
	struct cli_args a;
	struct msb_rlimit rl[16];
	struct cli_session s = {0};
	char name[MSB_NAME_MAX + 1];
	const char *argv_shell[2] = {NULL, NULL};
	uint64_t timeout = 0;
	msb_error err = {0};
	bool ephemeral, started_here = true, interactive;
	int status = 0, r, owner_fd = -1, run_argc = 0;
	char **run_argv = NULL;
	json_t *image_defaults = NULL; /* the image's {"entrypoint", "cmd"} */

	cli_parse(argc, argv, run_opts, sizeof(run_opts) / sizeof(run_opts[0]), &a, RUN_USAGE);
	if (a.npos > 1)
		cli_usage_error(RUN_USAGE, "unexpected argument '%s' found", a.pos[1]);
	if (cli_has(&a, O_TTY) && cli_has(&a, O_NO_TTY))
		cli_usage_error(RUN_USAGE, "the argument '--tty' cannot be used with '--no-tty'");
	check_net_usage(&a, RUN_USAGE);
	if (cli_get(&a, O_TIMEOUT) && msb_parse_duration_s(cli_get(&a, O_TIMEOUT), &timeout, &err) < 0) {
		cli_error(&err);
		return EXIT_MSB;
	}
	if (parse_rlimits(&a, rl, &s.opts.n_rlimits) < 0)
		return EXIT_MSB;
	if (cli_get(&a, O_DETACH_KEYS)) {
		struct parse_detach_keys dk;
		if (parse_detach_keys(cli_get(&a, O_DETACH_KEYS), &dk, &err) < 0) {
			cli_error(&err);
			return EXIT_MSB;
		}
	}
	ephemeral = !cli_has(&a, O_NAME);
	if (!ephemeral && !cli_has(&a, O_REPLACE) && !cli_has(&a, O_REPLACE_TIMEOUT) &&
	    sandbox_exists(cli_get(&a, O_NAME), &r, &image_defaults)) {
		snprintf(name, sizeof(name), "%s", cli_get(&a, O_NAME));
		if (a.n > 1)
			cli_warn("sandbox '%s' already exists; creation flags ignored (use --replace to recreate)", name);
		if (r == MSB_STATUS_RUNNING || r == MSB_STATUS_DRAINING) {
			started_here = false;
		} else if (msb_start(cli_ctx(), name, &err) < 0) {
			cli_error(&err);
			return EXIT_PRESTART;
		}
		if (cli_has(&a, O_DETACH)) {
			if (a.nrest)
				cli_warn("command after -- is not applied when reusing existing sandbox '%s' in --detach "
					 "mode",
					 name);
			printf("%s\n", name);
			return 0;
		}
	} else {
		bool detach = cli_has(&a, O_DETACH);
		const char *image = a.npos ? a.pos[0] : "host";
		char **dv = NULL;
		int dn = 0;
		if (ensure_image(&a, image) < 0)
			return EXIT_PRESTART;
		image_defaults = image_config(image);
		if (detach) /* the background workload: the resolved command, or the image's ENTRYPOINT + CMD */
			dv = resolve_argv(json_object_get(image_defaults, "entrypoint"),
					  json_object_get(image_defaults, "cmd"), cli_get(&a, O_ENTRYPOINT), a.rest,
					  a.nrest, &dn);
		r = create_from(&a, image, ephemeral && !detach, dv, dn, name);
		free(dv);
		if (r)
			return r == EXIT_MSB ? EXIT_PRESTART : r;
		if (detach) {
			printf("%s\n", name);
			return 0;
		}
	}
	if (ephemeral)
		owner_fd = own_sandbox(name);
	interactive = isatty(STDIN_FILENO) && !cli_has(&a, O_NO_TTY);
	s.name = name;
	s.opts.rlimits = rl;
	s.timeout_s = timeout;
	s.timeout_msg = "command timed out";
	/* explicit args replace CMD and keep ENTRYPOINT; none: the image's ENTRYPOINT + CMD */
	run_argv = resolve_argv(json_object_get(image_defaults, "entrypoint"), json_object_get(image_defaults, "cmd"),
				cli_get(&a, O_ENTRYPOINT), a.rest, a.nrest, &run_argc);
	json_decref(image_defaults);
	if (run_argc) {
		s.opts.argv = (const char *const *)run_argv;
		s.opts.argc = (size_t)run_argc;
		s.opts.tty = interactive || cli_has(&a, O_TTY);
		s.forward_stdin = interactive;
		status = cli_run_session(&s);
	} else if (interactive) {
		argv_shell[0] = cli_get(&a, O_SHELL) ? cli_get(&a, O_SHELL) : "/bin/sh";
		s.opts.argv = argv_shell;
		s.opts.argc = 1;
		s.opts.tty = true;
		s.forward_stdin = true;
		status = cli_run_session(&s);
	} else {
		cli_warn("no command provided and stdin is not a terminal");
	}
	if (owner_fd >= 0) {
		if (msb_release(cli_ctx(), owner_fd, name, 10, &err) < 0)
			cli_error(&err);
	} else if (started_here && msb_stop(cli_ctx(), name, 10, 0, &err) < 0 && err.code != MSB_ERR_STATE) {
		cli_error(&err);
	}
	return status;
}

static int own_sandbox(const char *name)
{
	return msb_own(cli_ctx(), name, NULL);
}
