/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parse.h - the value grammars the CLI and the library share (spec/cli.md §4):
 * names, durations, sizes, rlimits, env and label pairs, hostnames, shells,
 * profiles, pull policies, port mappings, detach keys and log time points.
 *
 * Everything here is pure: no I/O, no globals, no allocation except where a
 * function hands the caller a string (documented per function). The only
 * outside input is getenv() for a bare `-e KEY`. The public parsers are
 * declared in msb.h; this header adds the internal ones, all prefixed
 * parse_.
 *
 * Error contract: on failure a function returns -MSB_ERR_INVALID and fills
 * @err with a message that starts with the reference CLI's own wording where
 * spec/cli.md quotes one, and always names the offending value (appended as
 * "(got 'X')" when the reference wording does not already contain it). Bytes
 * below 0x20 and 0x7f in a quoted value are shown escaped so a hostile value
 * cannot drive the user's terminal.
 *
 * Integers are ASCII digits only: no sign, no spaces, no empty string, no
 * trailing junk, no overflow. Leading zeros are accepted, as by the
 * reference. Only DURATION allows spaces (spec: "inner spaces trimmed").
 */
#ifndef MSB_PARSE_H
#define MSB_PARSE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msb.h"

/* The library builds with -fvisibility=hidden; public API definitions carry this. */
#ifndef MSB_EXPORT
#define MSB_EXPORT __attribute__((visibility("default")))
#endif

#define PARSE_HOSTNAME_MAX    64 /* Linux HOST_NAME_MAX: the longest derived or given hostname */
#define PARSE_AUTO_NAME_LEN   12 /* strlen("msb-%08x") */
#define PARSE_DETACH_KEYS_MAX 16 /* longest --detach-keys sequence we keep */

/**
 * parse_u64() - parse a strict unsigned decimal integer.
 * @s: the digits (need not be NUL-terminated)
 * @len: number of bytes at @s
 * @max: largest accepted value
 * @out: receives the value on success
 *
 * Return: 0; -EINVAL for an empty string or any non-digit byte; -ERANGE when
 * the digits are valid but the value exceeds @max.
 */
int parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out);

/**
 * parse_env() - parse one `-e/--env` value.
 * @spec: `KEY=VALUE` (split at the first '=') or a bare `KEY`, whose value is
 *        copied from the host environment
 * @out: receives a newly allocated "KEY=VALUE" string; the caller frees it
 * @err: error out
 *
 * Return: 0, or -MSB_ERR_INVALID for an empty key or a bare KEY that is not
 * set on the host (`environment variable 'KEY' not set`).
 */
int parse_env(const char *spec, char **out, msb_error *err);

/**
 * parse_label() - parse one `--label KEY[=VALUE]` value.
 * @spec: `KEY=VALUE` (split at the first '=') or a bare `KEY` (empty value)
 * @key_out: receives a newly allocated key; the caller frees it
 * @value_out: receives a newly allocated value; the caller frees it
 * @err: error out
 *
 * Nothing is allocated on failure. Return: 0, or -MSB_ERR_INVALID for a key
 * that is empty or uses a reserved prefix (see parse_label_key_valid()).
 */
int parse_label(const char *spec, char **key_out, char **value_out, msb_error *err);

/*
 * Check a label key on its own: non-empty and not starting with one of the
 * reserved prefixes `sandbox.`, `microsandbox.`, `service.` (case-sensitive).
 */
int parse_label_key_valid(const char *key, msb_error *err);

/**
 * parse_hostname_from_name() - the default guest hostname of a sandbox.
 * @name: the sandbox name (any length; normally already valid)
 * @out: receives the hostname, at most PARSE_HOSTNAME_MAX bytes plus NUL
 *
 * A name of up to 64 bytes is its own hostname. A longer one becomes its
 * first 55 bytes, '-', and the first 8 hex digits of sha256(name), 64 bytes
 * in all, so distinct long names sharing a prefix still get distinct hosts.
 */
void parse_hostname_from_name(const char *name, char out[PARSE_HOSTNAME_MAX + 1]);

/*
 * Validate a `-H/--hostname` value: 1-64 bytes (Linux's limit), dot-separated
 * RFC 1123 labels of 1-63 bytes of [A-Za-z0-9-], none starting or ending
 * with '-'.
 */
int parse_hostname_valid(const char *s, msb_error *err);

/*
 * Validate a `--shell` value: not empty, no whitespace (ASCII or Unicode
 * White_Space) and not `/`, since it becomes a shebang line.
 */
int parse_shell_valid(const char *s, msb_error *err);

enum parse_security {
	PARSE_SECURITY_DEFAULT,
	PARSE_SECURITY_RESTRICTED,
	PARSE_SECURITY_COUNT
};
/* `--security default|restricted`. Return: enum parse_security (>= 0) or -MSB_ERR_INVALID. */
int parse_security(const char *s, msb_error *err);
/* The spelling of an enum parse_security value, or NULL when out of range. */
const char *parse_security_name(int profile);

enum parse_pull {
	PARSE_PULL_ALWAYS,
	PARSE_PULL_IF_MISSING,
	PARSE_PULL_NEVER,
	PARSE_PULL_COUNT
};
/* `--pull always|if-missing|never`. Return: enum parse_pull (>= 0) or -MSB_ERR_INVALID. */
int parse_pull_policy(const char *s, msb_error *err);
/* The spelling of an enum parse_pull value, or NULL when out of range. */
const char *parse_pull_policy_name(int policy);

/* One `-p/--port` mapping. */
struct parse_port {
	int family; /* AF_INET or AF_INET6: which member of bind is set */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} bind;              /* host address to listen on; default 127.0.0.1 */
	uint16_t host_port;  /* 1-65535 */
	uint16_t guest_port; /* 1-65535 */
	int proto;           /* IPPROTO_TCP (default, or /tcp) or IPPROTO_UDP (/udp) */
};

/**
 * parse_port() - parse one `-p/--port` value.
 * @spec: `HOST:GUEST`, `BIND:HOST:GUEST` (IPv4 bind) or `[ADDR]:HOST:GUEST`
 *        (bracketed IPv6 or IPv4 bind), optionally followed by `/tcp` or `/udp`
 * @out: receives the mapping
 * @err: error out
 *
 * Return: 0 or -MSB_ERR_INVALID with the reference's messages (`port must be
 * in format …`, `invalid bind address: X`, `invalid host port: X`,
 * `invalid guest port: X`).
 */
int parse_port(const char *spec, struct parse_port *out, msb_error *err);

/*
 * parse_size_bytes() - SIZE for the rate-limit flags: an integer with an
 * optional K/M/G suffix (any case, x1024^n). Fractions are rejected with
 * ``invalid size `X` (expected raw bytes or K/M/G suffix): …``.
 */
int parse_size_bytes(const char *s, uint64_t *out, msb_error *err);

/* A `--net-*-bandwidth` (SIZE[/DUR]) or `--net-*-ops` (COUNT[/DUR]) value. */
struct parse_rate {
	uint64_t amount;      /* bytes or frames, > 0 */
	uint64_t interval_ms; /* refill time, >= 1; default 1000 */
};
/* @bytes: SIZE (bandwidth) rather than COUNT (ops). DUR: N (s), Nms, Ns, Nm, Nh. */
int parse_rate(const char *s, bool bytes, struct parse_rate *out, msb_error *err);

/* A `--detach-keys` byte sequence. */
struct parse_detach_keys {
	uint8_t seq[PARSE_DETACH_KEYS_MAX];
	size_t len; /* >= 1 on success */
};

/**
 * parse_detach_keys() - parse a `--detach-keys` value.
 * @spec: comma-separated keys, each (after trimming spaces) `ctrl-X` with X in
 *        a-z, A-Z or one of `] [ \ ^ _ @`, or a single literal ASCII character
 * @out: receives the byte sequence (`ctrl-a` is 0x01, `ctrl-]` 0x1d, …)
 * @err: error out
 *
 * Return: 0 or -MSB_ERR_INVALID (`invalid detach key: X`).
 */
int parse_detach_keys(const char *spec, struct parse_detach_keys *out, msb_error *err);

/**
 * parse_time_point() - parse a `msb logs --since/--until` value.
 * @s: an RFC 3339 timestamp (`2026-04-30T20:32:59.690Z`, `…+02:00`; 'T', 't'
 *     or ' ' between date and time; fractions truncated to milliseconds), or
 *     `N` followed by one of s, m, h, d meaning that long before @now_ms
 * @now_ms: the current wall-clock time in unix milliseconds
 * @out_ms: receives the point in unix milliseconds (may be negative)
 * @err: error out
 *
 * Return: 0 or -MSB_ERR_INVALID
 * (``could not parse time "X" (expected RFC 3339 or `5m` etc.)``).
 */
int parse_time_point(const char *s, int64_t now_ms, int64_t *out_ms, msb_error *err);

/* Format the automatic sandbox name `msb-%08x` from a caller-supplied random value. */
void parse_auto_name(uint32_t rnd, char out[PARSE_AUTO_NAME_LEN + 1]);

/*
 * Map an rlimit resource name (cpu fsize data stack core rss nproc nofile
 * memlock as locks sigpending msgqueue nice rtprio rttime; ASCII
 * case-insensitive) to its RLIMIT_* value. Return: RLIMIT_* (>= 0) or -1.
 */
int parse_rlimit_resource(const char *name);
/* The lowercase name of an RLIMIT_* value, or NULL when it has none. */
const char *parse_rlimit_resource_name(int resource);

#endif
