// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_wwwauth.c - libFuzzer target for the WWW-Authenticate challenge
 * parser of the registry client (a registry, or anything on the path to it,
 * controls that header).
 *
 * The input is the header value, not NUL-terminated. Beyond "no crash, no
 * leak, no UB" the target checks every accepted result and traps when a
 * property fails: the scheme is Basic or Bearer, every field is terminated
 * inside its buffer, a Bearer realm is an http(s) URL without blanks or
 * control bytes, and the challenge written back out (quoted, escaped) parses
 * to the same fields. A rejected input leaves a zeroed result and a message.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Iinclude -Isrc/lib \
 *        tests/fuzz/fuzz_wwwauth.c src/lib/image/registry_parse.c src/lib/image/ref.c \
 *        src/lib/image/manifest.c src/lib/util.c -ljansson
 */
#include <stdint.h>
#include <stdio.h>
#include <strings.h>

#include "image/registry.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                              \
	do {                                                                                                  \
		if (!(c)) {                                                                                   \
			fprintf(stderr, "property failed: %s (%s:%d)\n", #c, __FILE__, __LINE__);            \
			__builtin_trap();                                                                     \
		}                                                                                             \
	} while (0)

/* Append @sep name="value" with '"' and '\\' escaped. */
static void quoted(struct buf *b, const char *sep, const char *name, const char *v)
{
	buf_printf(b, "%s%s=\"", sep, name);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			buf_append(b, "\\", 1);
		buf_append(b, v, 1);
	}
	buf_append(b, "\"", 1);
}

static void check_roundtrip(const struct reg_challenge *ch)
{
	static struct reg_challenge again; /* large: keep it off the stack */
	struct buf b = {0};
	msb_error err;

	buf_printf(&b, "%s", ch->scheme == REG_AUTH_BEARER ? "Bearer" : "Basic");
	quoted(&b, " ", "realm", ch->realm);
	if (ch->service[0])
		quoted(&b, ", ", "service", ch->service);
	if (ch->scope[0])
		quoted(&b, ", ", "scope", ch->scope);
	CHECK(reg_challenge_parse(b.data, b.len, &again, &err) == 0);
	CHECK(again.scheme == ch->scheme);
	CHECK(strcmp(again.realm, ch->realm) == 0);
	CHECK(strcmp(again.service, ch->service) == 0);
	CHECK(strcmp(again.scope, ch->scope) == 0);
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct reg_challenge ch;
	msb_error err;
	const char *p;
	int r;

	err.msg[0] = '\0';
	r = reg_challenge_parse((const char *)data, size, &ch, &err);
	if (r < 0) {
		CHECK(r == -MSB_ERR_INVALID || r == -MSB_ERR_UNSUPPORTED);
		CHECK(err.msg[0] && err.code == -r);
		CHECK(ch.scheme == REG_AUTH_NONE && !ch.realm[0] && !ch.service[0] && !ch.scope[0]);
		return 0;
	}
	CHECK(ch.scheme == REG_AUTH_BASIC || ch.scheme == REG_AUTH_BEARER);
	CHECK(memchr(ch.realm, 0, sizeof(ch.realm)) && memchr(ch.service, 0, sizeof(ch.service)) &&
	      memchr(ch.scope, 0, sizeof(ch.scope)));
	if (ch.scheme == REG_AUTH_BEARER) {
		CHECK(strncasecmp(ch.realm, "https://", 8) == 0 || strncasecmp(ch.realm, "http://", 7) == 0);
		for (p = ch.realm; *p; p++)
			CHECK((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f && *p != '#');
	}
	for (p = ch.service; *p; p++)
		CHECK((unsigned char)*p >= 0x20 || *p == '\t');
	check_roundtrip(&ch);
	return 0;
}
