// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_parse.c - libFuzzer target for the value grammars (src/lib/parse.c)
 * and SHA-256 (src/lib/sha256.c).
 *
 * Input: one selector byte choosing the grammar, then the value. The value
 * is handed to the parser as a C string (an embedded NUL ends it, as it
 * would on a command line); parse_u64 and SHA-256 get the raw bytes.
 * Besides crashes and sanitizer reports, the target checks invariants that
 * hold for every input: a failure sets MSB_ERR_INVALID with a non-empty
 * message free of raw control bytes, and each success satisfies its
 * grammar's postcondition (ranges, lengths, round trips).
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Iinclude -Isrc/lib
 *        tests/fuzz/fuzz_parse.c src/lib/parse.c src/lib/sha256.c src/lib/util.c
 * Seeds: tests/fuzz/corpus/parse/ (first byte = selector, see enum below).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "parse.h"
#include "sha256.h"
#include "util.h"

enum fuzz_sel {
	SEL_NAME,
	SEL_DURATION_S,
	SEL_DURATION_MS,
	SEL_SIZE,
	SEL_RLIMIT,
	SEL_ENV,
	SEL_LABEL,
	SEL_HOSTNAME,
	SEL_SHELL,
	SEL_PROFILE,
	SEL_PORT,
	SEL_DETACH,
	SEL_TIME,
	SEL_U64,
	SEL_SHA256,
	SEL_RLIMIT_NAME,
	SEL_COUNT
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                                                                                           \
	do {                                                                                                  \
		if (!(cond)) {                                                                                \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);         \
			abort();                                                                              \
		}                                                                                             \
	} while (0)

/* Every failure must carry a clean message; every success must leave @err alone. */
static void check_result(int r, const msb_error *err)
{
	size_t i;

	if (r >= 0) {
		check(err->code == 0 && err->msg[0] == '\0');
		return;
	}
	check(r == -MSB_ERR_INVALID && err->code == MSB_ERR_INVALID);
	check(err->msg[0] != '\0');
	for (i = 0; err->msg[i]; i++)
		check((unsigned char)err->msg[i] >= 0x20 && (unsigned char)err->msg[i] != 0x7f);
}

static void fuzz_name(const char *s)
{
	msb_error err = {0};
	char host[PARSE_HOSTNAME_MAX + 1];
	int r = msb_name_valid(s, &err);

	check_result(r, &err);
	parse_hostname_from_name(s, host);
	check(strlen(host) <= PARSE_HOSTNAME_MAX);
	check(strlen(s) > PARSE_HOSTNAME_MAX ? host[55] == '-' : !strcmp(host, s));
	if (r == 0)
		check(strlen(s) >= 1 && strlen(s) <= MSB_NAME_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz"
								      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
									       strlen(s));
}

static void fuzz_number(int sel, const char *s)
{
	int (*fn)(const char *, uint64_t *, msb_error *) =
		sel == SEL_DURATION_S ? msb_parse_duration_s
				      : (sel == SEL_DURATION_MS ? msb_parse_duration_ms : msb_parse_size_mib);
	msb_error err = {0};
	uint64_t v = 0, again = 0;
	char buf[32];
	int r = fn(s, &v, &err);

	check_result(r, &err);
	if (r < 0)
		return;
	if (sel == SEL_SIZE)
		check(v <= UINT32_MAX);
	/* A value printed in the grammar's finest unit parses back to itself. */
	snprintf(buf, sizeof(buf), sel == SEL_DURATION_MS ? "%llums" : "%llu", (unsigned long long)v);
	check(fn(buf, &again, NULL) == 0 && again == v);
}

static void fuzz_rlimit(const char *s)
{
	struct msb_rlimit rl;
	msb_error err = {0};
	int r = msb_parse_rlimit(s, &rl, &err);

	check_result(r, &err);
	if (r == 0) {
		check(rl.soft <= rl.hard);
		check(parse_rlimit_resource_name(rl.resource) != NULL);
		check(parse_rlimit_resource(parse_rlimit_resource_name(rl.resource)) == rl.resource);
	}
}

static void fuzz_env_label(int sel, const char *s)
{
	msb_error err = {0};
	char *a = NULL, *b = NULL;
	int r = sel == SEL_ENV ? parse_env(s, &a, &err) : parse_label(s, &a, &b, &err);

	check_result(r, &err);
	if (r < 0) {
		check(!a && !b);
		return;
	}
	check(a && a[0] != '\0' && a[0] != '=');
	if (sel == SEL_ENV)
		check(strchr(a, '=') != NULL);
	else
		check(b && parse_label_key_valid(a, NULL) == 0 && !strchr(a, '='));
	free(a);
	free(b);
}

static void fuzz_port(const char *s)
{
	struct parse_port pm;
	msb_error err = {0};
	int r = parse_port(s, &pm, &err);

	check_result(r, &err);
	if (r == 0)
		check(pm.host_port && pm.guest_port && (pm.family == AF_INET || pm.family == AF_INET6) &&
		      (pm.proto == IPPROTO_TCP || pm.proto == IPPROTO_UDP));
}

static void fuzz_misc(int sel, const char *s)
{
	struct parse_detach_keys k;
	msb_error err = {0};
	int64_t t;
	int r;

	switch (sel) {
	case SEL_HOSTNAME:
		r = parse_hostname_valid(s, &err);
		check_result(r, &err);
		check(r < 0 || (strlen(s) >= 1 && strlen(s) <= PARSE_HOSTNAME_MAX));
		break;
	case SEL_SHELL:
		r = parse_shell_valid(s, &err);
		check_result(r, &err);
		check(r < 0 || (s[0] && !strpbrk(s, " \t\n\r\v\f") && strcmp(s, "/")));
		break;
	case SEL_PROFILE:
		r = parse_security(s, &err);
		check_result(r, &err);
		check(r < 0 || !strcmp(parse_security_name(r), s));
		memset(&err, 0, sizeof(err));
		r = parse_pull_policy(s, &err);
		check_result(r, &err);
		check(r < 0 || !strcmp(parse_pull_policy_name(r), s));
		break;
	case SEL_DETACH:
		r = parse_detach_keys(s, &k, &err);
		check_result(r, &err);
		check(r < 0 || (k.len >= 1 && k.len <= PARSE_DETACH_KEYS_MAX));
		break;
	case SEL_TIME: {
		static const int64_t nows[] = {1777581179690, 0, INT64_MIN, INT64_MAX, -1};
		size_t i;
		for (i = 0; i < ARRAY_SIZE(nows); i++) {
			memset(&err, 0, sizeof(err));
			r = parse_time_point(s, nows[i], &t, &err);
			check_result(r, &err);
			/* A relative point never lies after "now". */
			check(r < 0 || s[0] < '0' || s[0] > '9' || strchr(s, '-') || t <= nows[i]);
		}
		break;
	}
	case SEL_RLIMIT_NAME:
		r = parse_rlimit_resource(s);
		check(r < 0 || parse_rlimit_resource(parse_rlimit_resource_name(r)) == r);
		break;
	default:
		break;
	}
}

static void fuzz_raw(int sel, const uint8_t *p, size_t n)
{
	if (sel == SEL_U64) {
		uint64_t max = n ? (uint64_t)p[0] * 0x0101010101010101ULL : 0, v = 0;
		int r = parse_u64((const char *)p, n, max, &v);
		check(r == 0 || r == -EINVAL || r == -ERANGE);
		check(r < 0 || v <= max);
		return;
	}
	{
		uint8_t d1[SHA256_DIGEST_LEN], d2[SHA256_DIGEST_LEN];
		struct sha256_ctx ctx;
		size_t off = 0, step = n ? (size_t)p[0] % 97 + 1 : 1;

		sha256_digest(p, n, d1);
		sha256_init(&ctx);
		while (off < n) {
			size_t m = n - off < step ? n - off : step;
			sha256_update(&ctx, p + off, m);
			off += m;
		}
		sha256_final(&ctx, d2);
		check(!memcmp(d1, d2, sizeof(d1)));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	int sel;

	if (size < 1)
		return 0;
	sel = data[0] % SEL_COUNT;
	if (sel == SEL_U64 || sel == SEL_SHA256) {
		fuzz_raw(sel, data + 1, size - 1);
		return 0;
	}
	s = xmalloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (sel) {
	case SEL_NAME:
		fuzz_name(s);
		break;
	case SEL_DURATION_S:
	case SEL_DURATION_MS:
	case SEL_SIZE:
		fuzz_number(sel, s);
		break;
	case SEL_RLIMIT:
		fuzz_rlimit(s);
		break;
	case SEL_ENV:
	case SEL_LABEL:
		fuzz_env_label(sel, s);
		break;
	case SEL_PORT:
		fuzz_port(s);
		break;
	default:
		fuzz_misc(sel, s);
		break;
	}
	free(s);
	return 0;
}
