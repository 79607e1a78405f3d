/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sandbox_opts.h - the options `run` and `create` share (spec/cli.md §3.1),
 * as a table: flags that map 1:1 onto msb_config keys carry the key.
 */
#ifndef MSB_CLI_SANDBOX_OPTS_H
#define MSB_CLI_SANDBOX_OPTS_H

#include "cli.h"

enum {
	O_NAME = 1, O_CPUS, O_MEMORY, O_WORKDIR, O_SHELL, O_ENV, O_LABEL, O_REPLACE, O_REPLACE_TIMEOUT, O_QUIET,
	O_SECURITY, O_ENTRYPOINT, O_HOSTNAME, O_USER, O_PULL, O_MAX_DURATION, O_IDLE_TIMEOUT, O_NO_NET,
	O_LOG_LEVEL, O_NET, O_NET_RULE, O_NET_DEFAULT, O_NET_DEFAULT_EGRESS, O_NET_DEFAULT_INGRESS,
	O_DNS_NAMESERVER, O_DNS_QUERY_TIMEOUT, O_NO_DNS_REBIND,
	O_PORT, O_MAX_CONNECTIONS, O_EG_BW, O_EG_BW_BURST, O_EG_OPS, O_EG_OPS_BURST, O_IN_BW, O_IN_BW_BURST,
	O_IN_OPS, O_IN_OPS_BURST,
	/* run only */
	O_DETACH, O_TTY, O_NO_TTY, O_TIMEOUT, O_RLIMIT, O_DETACH_KEYS,
	O_COUNT
};

/* msb_config key for options that set one (NULL: handled by the command). */
extern const char *const sandbox_opt_key[O_COUNT];

#define SANDBOX_OPTS                                                                                          \
	{"name", 'n', true, O_NAME, "Name for the sandbox. Auto-generated if omitted."},                      \
	{"cpus", 'c', true, O_CPUS, "Number of virtual CPUs to allocate."},                                   \
	{"memory", 'm', true, O_MEMORY, "Amount of memory to allocate (e.g. 512M, 1G)."},                     \
	{"workdir", 'w', true, O_WORKDIR, "Set the default working directory for commands."},                 \
	{"shell", 0, true, O_SHELL, "Shell to use for interactive sessions (default: /bin/sh)."},             \
	{"env", 'e', true, O_ENV, "Set an environment variable (KEY=value)."},                                \
	{"label", 0, true, O_LABEL, "Attach a label to the sandbox (KEY=VALUE, or bare KEY)."},               \
	{"replace", 0, false, O_REPLACE, "Replace an existing sandbox with the same name."},                  \
	{"replace-with-timeout", 0, true, O_REPLACE_TIMEOUT, "Grace period for the replaced sandbox."},       \
	{"quiet", 'q', false, O_QUIET, "Suppress progress output."},                                          \
	{"security", 0, true, O_SECURITY, "In-guest security profile (default or restricted)."},              \
	{"entrypoint", 0, true, O_ENTRYPOINT, "Override the image's default entrypoint command."},            \
	{"hostname", 'H', true, O_HOSTNAME, "Set the guest hostname."},                                       \
	{"user", 'u', true, O_USER, "Run commands as the specified user (e.g. nobody, 1000, 1000:1000)."},    \
	{"pull", 0, true, O_PULL, "When to pull the image: always, if-missing (default), never."},            \
	{"max-duration", 0, true, O_MAX_DURATION, "Kill the sandbox after this duration (e.g. 30s, 5m, 1h)."}, \
	{"idle-timeout", 0, true, O_IDLE_TIMEOUT, "Stop the sandbox after this period of inactivity."},       \
	{"no-net", 0, false, O_NO_NET, "Disable all network access."},                                        \
	{"net", 0, true, O_NET, "High-level network profile (public, private, host, all, none)."},           \
	{"net-rule", 0, true, O_NET_RULE, "Network rule (ACTION[:DIR]@TARGET[:PROTO[:PORTS]], comma list)."}, \
	{"net-default", 0, true, O_NET_DEFAULT, "Default action in both directions (allow, deny)."},          \
	{"net-default-egress", 0, true, O_NET_DEFAULT_EGRESS, "Default action for egress."},                  \
	{"net-default-ingress", 0, true, O_NET_DEFAULT_INGRESS, "Default action for ingress."},               \
	{"dns-nameserver", 0, true, O_DNS_NAMESERVER, "Upstream DNS server (IP[:PORT], [IPv6]:PORT; repeatable)."}, \
	{"dns-query-timeout-ms", 0, true, O_DNS_QUERY_TIMEOUT, "Per-attempt upstream DNS timeout in ms (default 5000)."}, \
	{"no-dns-rebind-protection", 0, false, O_NO_DNS_REBIND, "Let DNS answers carry private and reserved addresses."}, \
	{"log-level", 0, true, O_LOG_LEVEL, "Log verbosity for the sandbox runtime."},                        \
	{"port", 'p', true, O_PORT, "Forward a host port to the sandbox (HOST:GUEST, BIND_ADDR:HOST:GUEST)."}, \
	{"max-connections", 0, true, O_MAX_CONNECTIONS, "Limit the number of concurrent network connections."}, \
	{"net-egress-bandwidth", 0, true, O_EG_BW, "Limit outbound (egress) bandwidth, e.g. 1M/1s."},         \
	{"net-egress-bandwidth-burst", 0, true, O_EG_BW_BURST, "One-time startup burst for the egress bandwidth limit."}, \
	{"net-egress-ops", 0, true, O_EG_OPS, "Limit outbound (egress) packet rate, e.g. 1000/1s."},          \
	{"net-egress-ops-burst", 0, true, O_EG_OPS_BURST, "One-time startup burst for the egress packet-rate limit."}, \
	{"net-ingress-bandwidth", 0, true, O_IN_BW, "Limit inbound (ingress) bandwidth, e.g. 1M/1s."},        \
	{"net-ingress-bandwidth-burst", 0, true, O_IN_BW_BURST, "One-time startup burst for the ingress bandwidth limit."}, \
	{"net-ingress-ops", 0, true, O_IN_OPS, "Limit inbound (ingress) packet rate, e.g. 1000/1s."},         \
	{"net-ingress-ops-burst", 0, true, O_IN_OPS_BURST, "One-time startup burst for the ingress packet-rate limit."}

/* Build a config from parsed options; prints the error and returns -1 on bad input. */
msb_config *sandbox_opts_config(const struct cli_args *a, const char *image);

#endif
