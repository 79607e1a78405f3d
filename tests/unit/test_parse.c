// SPDX-License-Identifier: Apache-2.0
/*
 * test_parse.c - unit tests for the value grammars (src/lib/parse.c) and the
 * SHA-256 they rely on (src/lib/sha256.c): tables of accepted and rejected
 * inputs per grammar, the boundaries (overflow, 0, 128/129-byte names), and
 * the exact messages spec/cli.md quotes from the reference CLI.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "parse.h"
#include "sha256.h"
#include "tap.h"
#include "util.h"

#define ERR_INIT {.code = 0, .sys_errno = 0, .msg = ""}

/* ---- sha256 ------------------------------------------------------------------------ */

static void test_sha256(void)
{
	/* FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA2_Additional.pdf") plus block-boundary lengths. */
	static const struct {
		const char *in;
		size_t repeat; /* 0: @in as is; else @in is one byte repeated this often */
		const char *hex;
	} v[] = {
		{"", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", 0, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 0,
		 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
		{"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsm"
		 "nopqrstnopqrstu",
		 0, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
		{"a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
		{"a", 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
		{"a", 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
		{"a", 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
	};
	char hex[2 * SHA256_DIGEST_LEN + 1];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		size_t len = v[i].repeat ? v[i].repeat : strlen(v[i].in);
		char *buf = xmalloc(len + 1);

		if (v[i].repeat)
			memset(buf, v[i].in[0], len);
		else
			memcpy(buf, v[i].in, len);
		sha256_hex(buf, len, hex);
		is_str(hex, v[i].hex, "sha256 vector %zu (%zu bytes)", i, len);

		/* The same digest fed in odd-sized pieces. */
		{
			static const size_t steps[] = {1, 3, 63, 64, 65, 127};
			uint8_t d1[SHA256_DIGEST_LEN], d2[SHA256_DIGEST_LEN];
			struct sha256_ctx ctx;
			size_t off = 0, k = 0;

			sha256_init(&ctx);
			while (off < len) {
				size_t n = steps[k++ % ARRAY_SIZE(steps)];
				if (n > len - off)
					n = len - off;
				sha256_update(&ctx, buf + off, n);
				off += n;
			}
			sha256_final(&ctx, d1);
			sha256_digest(buf, len, d2);
			ok(!memcmp(d1, d2, sizeof(d1)), "sha256 vector %zu incremental == one-shot", i);
		}
		free(buf);
	}
	sha256_hex(NULL, 0, hex);
	is_str(hex, v[0].hex, "sha256 of (NULL, 0)");
}

/* ---- integers ------------------------------------------------------------------------ */

static void test_u64(void)
{
	static const struct {
		const char *s;
		uint64_t max;
		int r;
		uint64_t v;
	} t[] = {
		{"0", UINT64_MAX, 0, 0},
		{"007", UINT64_MAX, 0, 7},
		{"18446744073709551615", UINT64_MAX, 0, UINT64_MAX},
		{"18446744073709551616", UINT64_MAX, -ERANGE, 0},
		{"99999999999999999999999", UINT64_MAX, -ERANGE, 0},
		{"99999999999999999999999x", UINT64_MAX, -EINVAL, 0},
		{"65535", 65535, 0, 65535},
		{"65536", 65535, -ERANGE, 0},
		{"1", 0, -ERANGE, 0},
		{"0", 0, 0, 0},
		{"", UINT64_MAX, -EINVAL, 0},
		{"+1", UINT64_MAX, -EINVAL, 0},
		{"-1", UINT64_MAX, -EINVAL, 0},
		{" 1", UINT64_MAX, -EINVAL, 0},
		{"1 ", UINT64_MAX, -EINVAL, 0},
		{"0x10", UINT64_MAX, -EINVAL, 0},
		{"1e3", UINT64_MAX, -EINVAL, 0},
		{"\xd9\xa3", UINT64_MAX, -EINVAL, 0}, /* ARABIC-INDIC DIGIT THREE */
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		uint64_t v = 12345;
		int r = parse_u64(t[i].s, strlen(t[i].s), t[i].max, &v);
		is_int(r, t[i].r, "parse_u64(\"%s\", max %llu) -> %d", t[i].s, (unsigned long long)t[i].max, t[i].r);
		if (t[i].r == 0)
			ok(v == t[i].v, "parse_u64(\"%s\") = %llu", t[i].s, (unsigned long long)t[i].v);
	}
}

/* ---- names ---------------------------------------------------------------------------- */

static void test_names(void)
{
	static const char *const good[] = {
		"a", "Z", "0", "msb-0000abcd", "my.box_1-2", "a..b", "a-", "a.", "a_", "9lives", "ABC.def",
	};
	static const char *const bad[] = {
		"", ".a", "-a", "_a", ".", "..", "a b", "a/b", "a:b", "a@b", "a\tb", "ñame", "náme", "日本",
		"a\xff", "a\n", "a+b", " a", "a ",
	};
	char n128[MSB_NAME_MAX + 1], n129[MSB_NAME_MAX + 2], expect[512];
	msb_error err = ERR_INIT;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++)
		is_int(msb_name_valid(good[i], NULL), 0, "name '%s' accepted", good[i]);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		err.code = 0;
		is_int(msb_name_valid(bad[i], &err), -MSB_ERR_INVALID, "name #%zu rejected", i);
		is_int(err.code, MSB_ERR_INVALID, "name #%zu error code", i);
	}
	is_int(msb_name_valid(NULL, NULL), -MSB_ERR_INVALID, "NULL name rejected");

	memset(n128, 'a', MSB_NAME_MAX);
	n128[MSB_NAME_MAX] = '\0';
	is_int(msb_name_valid(n128, NULL), 0, "128-byte name accepted");
	memset(n129, 'a', MSB_NAME_MAX + 1);
	n129[MSB_NAME_MAX + 1] = '\0';
	is_int(msb_name_valid(n129, &err), -MSB_ERR_INVALID, "129-byte name rejected");
	snprintf(expect, sizeof(expect), "sandbox name is too long (129 bytes, maximum 128): '%s'", n129);
	is_str(err.msg, expect, "129-byte name message names the value");

	msb_name_valid("", &err);
	is_str(err.msg, "sandbox name must not be empty", "empty name message");
	msb_name_valid(".hidden", &err);
	is_str(err.msg, "invalid sandbox name '.hidden': must start with a letter or digit", "leading '.' message");
	msb_name_valid("a/b", &err);
	is_str(err.msg, "invalid sandbox name 'a/b': only letters, digits, '.', '_' and '-' are allowed",
	       "bad character message");
	msb_name_valid("a\x1b[31m", &err);
	is_str(err.msg, "invalid sandbox name 'a\\x1b[31m': only letters, digits, '.', '_' and '-' are allowed",
	       "control bytes are escaped in messages");
}

static void test_auto_name(void)
{
	char n[PARSE_AUTO_NAME_LEN + 1];

	parse_auto_name(0, n);
	is_str(n, "msb-00000000", "auto name of 0");
	parse_auto_name(0xdeadbeef, n);
	is_str(n, "msb-deadbeef", "auto name of 0xdeadbeef");
	parse_auto_name(UINT32_MAX, n);
	is_str(n, "msb-ffffffff", "auto name of UINT32_MAX");
	is_int(msb_name_valid(n, NULL), 0, "auto names are valid names");
}

/* ---- hostnames -------------------------------------------------------------------------- */

static void test_hostname_from_name(void)
{
	char h[PARSE_HOSTNAME_MAX + 1], name[MSB_NAME_MAX + 1];

	parse_hostname_from_name("box", h);
	is_str(h, "box", "short name is its own hostname");

	memset(name, 'a', 64);
	name[64] = '\0';
	parse_hostname_from_name(name, h);
	is_str(h, name, "64-byte name is its own hostname");

	memset(name, 'a', 65);
	name[65] = '\0';
	parse_hostname_from_name(name, h);
	is_str(h, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-635361c4", "65-byte name: prefix + hash");
	is_int(strlen(h), 64, "derived hostname is 64 bytes");

	memset(name, 'x', 128);
	name[128] = '\0';
	parse_hostname_from_name(name, h);
	is_str(h, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-24da1b81", "128-byte name: prefix + hash");

	parse_hostname_from_name("my-very-long-sandbox-name-for-the-integration-test-suite-number-0001", h);
	is_str(h, "my-very-long-sandbox-name-for-the-integration-test-suit-898bdabd", "68-byte name");
}

static void test_hostname_valid(void)
{
	static const char *const good[] = {
		"a", "box", "my-box", "a.b.c", "1box", "123", "web-01.example.internal", "A-Z",
		/* 63-byte label */
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk",
		/* 64 bytes in all */
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij.k",
	};
	static const char *const bad[] = {
		"", "-a", "a-", "a..b", ".a", "a.", "a_b", "a b", "ä", "a.-b", "a/b",
		/* 64-byte label */
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl",
		/* 65 bytes in all */
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij.kl",
	};
	msb_error err = ERR_INIT;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++)
		is_int(parse_hostname_valid(good[i], NULL), 0, "hostname '%s' accepted", good[i]);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		is_int(parse_hostname_valid(bad[i], NULL), -MSB_ERR_INVALID, "hostname '%s' rejected", bad[i]);
	parse_hostname_valid("a_b", &err);
	is_str(err.msg, "invalid hostname 'a_b': only letters, digits, '-' and '.' are allowed",
	       "hostname message names the value");
}

/* ---- durations -------------------------------------------------------------------------- */

struct dur_case {
	const char *s;
	int ok;
	uint64_t v;
};

static void run_durations(const char *what, const struct dur_case *t, size_t n,
			  int (*fn)(const char *, uint64_t *, msb_error *))
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t v = 777;
		msb_error err = ERR_INIT;
		int r = fn(t[i].s, &v, &err);

		if (t[i].ok) {
			is_int(r, 0, "%s('%s') accepted", what, t[i].s);
			ok(v == t[i].v, "%s('%s') = %llu", what, t[i].s, (unsigned long long)t[i].v);
			if (v != t[i].v)
				printf("#   got %llu\n", (unsigned long long)v);
		} else {
			is_int(r, -MSB_ERR_INVALID, "%s('%s') rejected", what, t[i].s);
			ok(v == 777, "%s('%s') leaves the output alone", what, t[i].s);
		}
	}
}

static void test_duration_s(void)
{
	static const struct dur_case t[] = {
		{"0", 1, 0},
		{"30", 1, 30},
		{"30s", 1, 30},
		{"5m", 1, 300},
		{"1h", 1, 3600},
		{"0h", 1, 0},
		{" 5m ", 1, 300},
		{"5 m", 1, 300},
		{"\t10 s\n", 1, 10},
		{"007s", 1, 7},
		{"18446744073709551615", 1, UINT64_MAX},
		{"18446744073709551615s", 1, UINT64_MAX},
		{"5124095576030431h", 1, 5124095576030431ULL * 3600},
		{"18446744073709551616", 0, 0},
		{"5124095576030432h", 0, 0},
		{"307445734561825861m", 0, 0},
		{"", 0, 0},
		{" ", 0, 0},
		{"s", 0, 0},
		{"m", 0, 0},
		{"500ms", 0, 0},
		{"1d", 0, 0},
		{"1.5s", 0, 0},
		{"1.5", 0, 0},
		{"-1", 0, 0},
		{"+1", 0, 0},
		{"-1s", 0, 0},
		{"1 0s", 0, 0},
		{"1sm", 0, 0},
		{"1ss", 0, 0},
		{"1S", 0, 0},
		{"1M", 0, 0},
		{"1H", 0, 0},
		{"5x", 0, 0},
		{"1h30m", 0, 0},
		{"0x10", 0, 0},
		{"٣s", 0, 0},
	};
	msb_error err = ERR_INIT;
	uint64_t v;

	run_durations("duration_s", t, ARRAY_SIZE(t), msb_parse_duration_s);
	msb_parse_duration_s("500ms", &v, &err);
	is_str(err.msg, "invalid duration: '500ms' (expected e.g. 30s, 5m, 1h)", "duration_s message");
	msb_parse_duration_s("99999999999999999999s", &v, &err);
	is_str(err.msg, "duration too large: '99999999999999999999s'", "duration_s overflow message");
}

static void test_duration_ms(void)
{
	static const struct dur_case t[] = {
		{"0", 1, 0},
		{"0ms", 1, 0},
		{"10", 1, 10000},
		{"500ms", 1, 500},
		{"5s", 1, 5000},
		{"2m", 1, 120000},
		{"1h", 1, 3600000},
		{" 500 ms ", 1, 500},
		{"18446744073709551615ms", 1, UINT64_MAX},
		{"18446744073709551s", 1, 18446744073709551000ULL},
		{"18446744073709552s", 0, 0},
		{"18446744073709552", 0, 0},
		{"18446744073709551616ms", 0, 0},
		{"", 0, 0},
		{"ms", 0, 0},
		{"1d", 0, 0},
		{"1.5s", 0, 0},
		{"0.5", 0, 0},
		{"-5ms", 0, 0},
		{"5MS", 0, 0},
		{"5 m s", 0, 0},
		{"5us", 0, 0},
		{"5ns", 0, 0},
		{"1m30s", 0, 0},
	};
	msb_error err = ERR_INIT;
	uint64_t v;

	run_durations("duration_ms", t, ARRAY_SIZE(t), msb_parse_duration_ms);
	msb_parse_duration_ms("1d", &v, &err);
	is_str(err.msg, "invalid duration: '1d' (expected e.g. 500ms, 30s, 5m, 1h)", "duration_ms message");
}

/* ---- sizes -------------------------------------------------------------------------------- */

static void test_size(void)
{
	static const struct dur_case t[] = {
		{"0", 1, 0},
		{"512", 1, 512},
		{"512M", 1, 512},
		{"512m", 1, 512},
		{"1G", 1, 1024},
		{"1g", 1, 1024},
		{"8G", 1, 8192},
		{"0G", 1, 0},
		{"1.5G", 1, 1536},
		{"1.5g", 1, 1536},
		{"0.5G", 1, 512},
		{"0.1G", 1, 102},     /* 102.4, truncated */
		{"0.999G", 1, 1022},  /* 1022.976 */
		{"0.0009765625G", 1, 1},         /* exactly 1/1024 */
		{"0.0009765624999999999999G", 1, 0}, /* just below: long fractions are not rounded up */
		{"2.00G", 1, 2048},
		{"4194303G", 1, 4194303ULL * 1024},
		{"4194303.999999999G", 1, UINT32_MAX},
		{"4294967295", 1, UINT32_MAX},
		{"4294967295M", 1, UINT32_MAX},
		{"4294967296", 0, 0},
		{"4294967296M", 0, 0},
		{"4194304G", 0, 0},
		{"18446744073709551616G", 0, 0},
		{"", 0, 0},
		{"G", 0, 0},
		{"M", 0, 0},
		{"8GiB", 0, 0},
		{"512MB", 0, 0},
		{"512Mi", 0, 0},
		{"1T", 0, 0},
		{"1K", 0, 0},
		{"1.5M", 0, 0},
		{"1.5", 0, 0},
		{"1.G", 0, 0},
		{".5G", 0, 0},
		{"1..5G", 0, 0},
		{"1.5.5G", 0, 0},
		{"-1G", 0, 0},
		{"+1G", 0, 0},
		{"-512", 0, 0},
		{"NaNG", 0, 0},
		{"infG", 0, 0},
		{"1e3G", 0, 0},
		{" 512M", 0, 0},
		{"512 M", 0, 0},
		{"512M ", 0, 0},
		{"1,5G", 0, 0},
		{"0x10", 0, 0},
	};
	msb_error err = ERR_INIT;
	uint64_t v;

	run_durations("size_mib", t, ARRAY_SIZE(t), msb_parse_size_mib);
	msb_parse_size_mib("8GiB", &v, &err);
	is_str(err.msg, "invalid size (expected e.g. 512M, 1G): '8GiB'", "size message quotes the reference");
	msb_parse_size_mib("4194304G", &v, &err);
	is_str(err.msg, "size too large: '4194304G'", "size overflow message");
}

/* ---- rlimits -------------------------------------------------------------------------------- */

static void test_rlimit_names(void)
{
	static const struct {
		const char *name;
		int res;
	} t[] = {
		{"cpu", RLIMIT_CPU},         {"fsize", RLIMIT_FSIZE},         {"data", RLIMIT_DATA},
		{"stack", RLIMIT_STACK},     {"core", RLIMIT_CORE},           {"rss", RLIMIT_RSS},
		{"nproc", RLIMIT_NPROC},     {"nofile", RLIMIT_NOFILE},       {"memlock", RLIMIT_MEMLOCK},
		{"as", RLIMIT_AS},           {"locks", RLIMIT_LOCKS},         {"sigpending", RLIMIT_SIGPENDING},
		{"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},         {"rtprio", RLIMIT_RTPRIO},
		{"rttime", RLIMIT_RTTIME},
	};
	static const char *const bad[] = {"", "nofiles", "nofil", "rlimit_nofile", "RLIMIT_NOFILE", "vmem",
					  "no file", "nofile\n", "ñofile"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		char upper[32];
		size_t j;

		is_int(parse_rlimit_resource(t[i].name), t[i].res, "rlimit '%s'", t[i].name);
		for (j = 0; t[i].name[j]; j++)
			upper[j] = (char)(t[i].name[j] - 'a' + 'A');
		upper[j] = '\0';
		is_int(parse_rlimit_resource(upper), t[i].res, "rlimit '%s' (case-insensitive)", upper);
		is_str(parse_rlimit_resource_name(t[i].res), t[i].name, "rlimit name of %d", t[i].res);
	}
	is_int(parse_rlimit_resource("NoFiLe"), RLIMIT_NOFILE, "mixed case");
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		is_int(parse_rlimit_resource(bad[i]), -1, "rlimit name '%s' unknown", bad[i]);
	ok(parse_rlimit_resource_name(-1) == NULL, "no name for -1");
	ok(parse_rlimit_resource_name(RLIM_NLIMITS) == NULL, "no name for RLIM_NLIMITS");
}

static void test_rlimit(void)
{
	static const struct {
		const char *s;
		int res;
		uint64_t soft, hard;
	} good[] = {
		{"nofile=1024", RLIMIT_NOFILE, 1024, 1024},
		{"NOFILE=65535", RLIMIT_NOFILE, 65535, 65535},
		{"nproc=64:128", RLIMIT_NPROC, 64, 128},
		{"as=1073741824", RLIMIT_AS, 1073741824, 1073741824},
		{"core=0", RLIMIT_CORE, 0, 0},
		{"core=0:0", RLIMIT_CORE, 0, 0},
		{"cpu=18446744073709551615", RLIMIT_CPU, UINT64_MAX, UINT64_MAX},
		{"cpu=5:18446744073709551615", RLIMIT_CPU, 5, UINT64_MAX},
	};
	static const struct {
		const char *s;
		const char *msg;
	} bad[] = {
		{"nofile", "rlimit must be in format RESOURCE=LIMIT (got 'nofile')"},
		{"", "rlimit must be in format RESOURCE=LIMIT (got '')"},
		{"nofile=", "invalid soft limit: ''"},
		{"nofile=abc", "invalid soft limit: 'abc'"},
		{"nofile=-1", "invalid soft limit: '-1'"},
		{"nofile=+1", "invalid soft limit: '+1'"},
		{"nofile= 1", "invalid soft limit: ' 1'"},
		{"nofile=unlimited", "invalid soft limit: 'unlimited'"},
		{"nofile=18446744073709551616", "invalid soft limit: '18446744073709551616'"},
		{"nofile=1:", "invalid hard limit: ''"},
		{"nofile=1:x", "invalid hard limit: 'x'"},
		{"nofile=1:2:3", "too many ':' separators (got 'nofile=1:2:3')"},
		{"nofile=1:2:", "too many ':' separators (got 'nofile=1:2:')"},
		{"nofile=10:5", "soft limit cannot exceed hard limit (got 'nofile=10:5')"},
		{"nofiles=1", "unknown rlimit resource: 'nofiles'"},
		{"=1", "unknown rlimit resource: ''"},
		{"nofile=1=2", "invalid soft limit: '1=2'"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		struct msb_rlimit rl = {-1, 0, 0};
		is_int(msb_parse_rlimit(good[i].s, &rl, NULL), 0, "rlimit '%s' accepted", good[i].s);
		is_int(rl.resource, good[i].res, "rlimit '%s' resource", good[i].s);
		ok(rl.soft == good[i].soft && rl.hard == good[i].hard, "rlimit '%s' soft/hard", good[i].s);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct msb_rlimit rl = {-7, 7, 7};
		msb_error err = ERR_INIT;
		is_int(msb_parse_rlimit(bad[i].s, &rl, &err), -MSB_ERR_INVALID, "rlimit '%s' rejected", bad[i].s);
		is_str(err.msg, bad[i].msg, "rlimit '%s' message", bad[i].s);
		ok(rl.resource == -7 && rl.soft == 7, "rlimit '%s' leaves the output alone", bad[i].s);
	}
}

/* ---- env and labels ---------------------------------------------------------------------- */

static void test_env(void)
{
	static const struct {
		const char *in, *out;
	} good[] = {
		{"A=1", "A=1"},
		{"A=", "A="},
		{"A==b", "A==b"},
		{"A=b=c", "A=b=c"},
		{"PATH=/usr/bin:/bin", "PATH=/usr/bin:/bin"},
		{"with space=x y", "with space=x y"},
		{"MSB_TEST_PARSE_SET", "MSB_TEST_PARSE_SET=from host"},
		{"MSB_TEST_PARSE_EMPTY", "MSB_TEST_PARSE_EMPTY="},
		{"ÜNICODE=ü", "ÜNICODE=ü"},
	};
	msb_error err = ERR_INIT;
	char *out = NULL;
	size_t i;

	setenv("MSB_TEST_PARSE_SET", "from host", 1);
	setenv("MSB_TEST_PARSE_EMPTY", "", 1);
	unsetenv("MSB_TEST_PARSE_UNSET");

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		out = NULL;
		is_int(parse_env(good[i].in, &out, NULL), 0, "env '%s' accepted", good[i].in);
		is_str(out, good[i].out, "env '%s' value", good[i].in);
		free(out);
	}
	out = NULL;
	is_int(parse_env("MSB_TEST_PARSE_UNSET", &out, &err), -MSB_ERR_INVALID, "unset bare KEY rejected");
	is_str(err.msg, "environment variable 'MSB_TEST_PARSE_UNSET' not set", "unset KEY message (reference)");
	ok(out == NULL, "nothing returned on error");
	is_int(parse_env("=value", &out, &err), -MSB_ERR_INVALID, "empty key rejected");
	is_str(err.msg, "environment variable name must not be empty (got '=value')", "empty key message");
	is_int(parse_env("", &out, &err), -MSB_ERR_INVALID, "empty string rejected");
	is_int(parse_env("=", &out, NULL), -MSB_ERR_INVALID, "'=' rejected");
	ok(out == NULL, "nothing returned on errors");
}

static void test_label(void)
{
	static const struct {
		const char *in, *key, *value;
	} good[] = {
		{"team=ml", "team", "ml"},
		{"marker", "marker", ""},
		{"k=", "k", ""},
		{"k=a=b", "k", "a=b"},
		{"sandboxed=1", "sandboxed", "1"},
		{"app.sandbox.x=1", "app.sandbox.x", "1"},
		{"Sandbox.x=1", "Sandbox.x", "1"},
		{"services=1", "services", "1"},
		{"sandbox", "sandbox", ""},
	};
	static const char *const bad[] = {
		"=v", "=", "", "sandbox.id=1", "sandbox.", "microsandbox.version=2", "service.name", "service.=x",
	};
	msb_error err = ERR_INIT;
	char *k = NULL, *v = NULL;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		k = v = NULL;
		is_int(parse_label(good[i].in, &k, &v, NULL), 0, "label '%s' accepted", good[i].in);
		is_str(k, good[i].key, "label '%s' key", good[i].in);
		is_str(v, good[i].value, "label '%s' value", good[i].in);
		free(k);
		free(v);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		k = v = NULL;
		is_int(parse_label(bad[i], &k, &v, NULL), -MSB_ERR_INVALID, "label '%s' rejected", bad[i]);
		ok(!k && !v, "label '%s' returns nothing", bad[i]);
	}
	parse_label("sandbox.id=1", &k, &v, &err);
	is_str(err.msg,
	       "label key 'sandbox.id' uses the reserved prefix 'sandbox.' (keys may not start with sandbox., "
	       "microsandbox. or service.)",
	       "reserved prefix message");
	parse_label("=v", &k, &v, &err);
	is_str(err.msg, "label key must not be empty (got '=v')", "empty label key message");
	is_int(parse_label_key_valid("microsandbox.x", NULL), -MSB_ERR_INVALID, "key check alone");
	is_int(parse_label_key_valid("x", NULL), 0, "key check alone accepts");
}

/* ---- shell, security, pull ------------------------------------------------------------------ */

static void test_shell(void)
{
	static const char *const good[] = {"/bin/sh", "bash", "/usr/bin/env", "zsh-5.9", "//", "/bin/", "ü"};
	static const char *const bad[] = {
		"", "/", "/bin/bash -l", " /bin/sh", "/bin/sh ", "a\tb", "a\nb", "a\rb", "a\vb", "a\fb",
		"a\xc2\xa0" "b",         /* U+00A0 */
		"a\xc2\x85" "b",         /* U+0085 */
		"a\xe1\x9a\x80" "b",     /* U+1680 */
		"a\xe2\x80\x80" "b",     /* U+2000 */
		"a\xe2\x80\x8a" "b",     /* U+200A */
		"a\xe2\x80\xa8" "b",     /* U+2028 */
		"a\xe2\x80\xa9" "b",     /* U+2029 */
		"a\xe2\x80\xaf" "b",     /* U+202F */
		"a\xe2\x81\x9f" "b",     /* U+205F */
		"a\xe3\x80\x80" "b",     /* U+3000 */
	};
	msb_error err = ERR_INIT;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++)
		is_int(parse_shell_valid(good[i], NULL), 0, "shell '%s' accepted", good[i]);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		is_int(parse_shell_valid(bad[i], NULL), -MSB_ERR_INVALID, "shell #%zu rejected", i);
	/* U+200B ZERO WIDTH SPACE is not White_Space (the reference accepts it too). */
	is_int(parse_shell_valid("a\xe2\x80\x8b" "b", NULL), 0, "U+200B is not whitespace");
	/* A truncated multi-byte sequence at the end must not be read past. */
	is_int(parse_shell_valid("a\xe2\x80", NULL), 0, "truncated UTF-8 accepted, not over-read");

	parse_shell_valid("", &err);
	is_str(err.msg, "--shell must not be empty", "empty shell message");
	parse_shell_valid("/bin/bash -l", &err);
	is_str(err.msg,
	       "--shell must not contain whitespace or NUL (got \"/bin/bash -l\"); use --script-raw or "
	       "--script-path if you need a custom shebang",
	       "whitespace shell message (reference)");
	parse_shell_valid("a\n\"b\\", &err);
	is_str(err.msg,
	       "--shell must not contain whitespace or NUL (got \"a\\n\\\"b\\\\\"); use --script-raw or "
	       "--script-path if you need a custom shebang",
	       "shell message escapes like the reference's {:?}");
	parse_shell_valid("/", &err);
	is_str(err.msg, "--shell \"/\" is not a valid interpreter", "'/' shell message");
}

static void test_security_pull(void)
{
	msb_error err = ERR_INIT;

	is_int(parse_security("default", NULL), PARSE_SECURITY_DEFAULT, "security default");
	is_int(parse_security("restricted", NULL), PARSE_SECURITY_RESTRICTED, "security restricted");
	is_int(parse_security("Restricted", &err), -MSB_ERR_INVALID, "security is case-sensitive");
	is_str(err.msg, "invalid security profile: Restricted (expected: default, restricted)", "security message");
	is_int(parse_security("", NULL), -MSB_ERR_INVALID, "empty security rejected");
	is_int(parse_security("default ", NULL), -MSB_ERR_INVALID, "trailing space rejected");
	is_str(parse_security_name(PARSE_SECURITY_RESTRICTED), "restricted", "security name");
	ok(parse_security_name(PARSE_SECURITY_COUNT) == NULL, "security name out of range");
	ok(parse_security_name(-1) == NULL, "security name negative");

	is_int(parse_pull_policy("always", NULL), PARSE_PULL_ALWAYS, "pull always");
	is_int(parse_pull_policy("if-missing", NULL), PARSE_PULL_IF_MISSING, "pull if-missing");
	is_int(parse_pull_policy("never", NULL), PARSE_PULL_NEVER, "pull never");
	is_int(parse_pull_policy("if_missing", &err), -MSB_ERR_INVALID, "pull if_missing rejected");
	is_str(err.msg, "invalid pull policy: if_missing (expected: always, if-missing, never)",
	       "pull policy message (reference)");
	is_int(parse_pull_policy("", &err), -MSB_ERR_INVALID, "empty pull rejected");
	is_str(err.msg, "invalid pull policy:  (expected: always, if-missing, never)", "empty pull message");
	is_int(parse_pull_policy("ALWAYS", NULL), -MSB_ERR_INVALID, "pull is case-sensitive");
	is_str(parse_pull_policy_name(PARSE_PULL_IF_MISSING), "if-missing", "pull name");
	ok(parse_pull_policy_name(PARSE_PULL_COUNT) == NULL, "pull name out of range");
}

/* ---- ports ------------------------------------------------------------------------------------ */

static void test_port(void)
{
	static const struct {
		const char *s;
		const char *bind; /* as inet_ntop prints it */
		uint16_t host, guest;
		int proto;
	} good[] = {
		{"8080:80", "127.0.0.1", 8080, 80, IPPROTO_TCP},
		{"8080:80/tcp", "127.0.0.1", 8080, 80, IPPROTO_TCP},
		{"5353:53/udp", "127.0.0.1", 5353, 53, IPPROTO_UDP},
		{"0.0.0.0:8080:80", "0.0.0.0", 8080, 80, IPPROTO_TCP},
		{"192.0.2.1:1:65535/udp", "192.0.2.1", 1, 65535, IPPROTO_UDP},
		{"[::]:8080:80", "::", 8080, 80, IPPROTO_TCP},
		{"[::1]:8080:80/udp", "::1", 8080, 80, IPPROTO_UDP},
		{"[2001:db8::5]:443:8443", "2001:db8::5", 443, 8443, IPPROTO_TCP},
		{"[127.0.0.1]:80:80", "127.0.0.1", 80, 80, IPPROTO_TCP},
		{"65535:65535", "127.0.0.1", 65535, 65535, IPPROTO_TCP},
		{"08080:080", "127.0.0.1", 8080, 80, IPPROTO_TCP},
	};
	static const struct {
		const char *s;
		const char *msg;
	} bad[] = {
		{"8080", "port must be in format HOST:GUEST[/udp] or BIND_ADDR:HOST:GUEST[/udp] (got '8080')"},
		{"", "port must be in format HOST:GUEST[/udp] or BIND_ADDR:HOST:GUEST[/udp] (got '')"},
		{"1:2:3:4", "port must be in format HOST:GUEST[/udp] or BIND_ADDR:HOST:GUEST[/udp] (got '1:2:3:4')"},
		{"::1:8080:80", "port must be in format HOST:GUEST[/udp] or BIND_ADDR:HOST:GUEST[/udp] "
				"(got '::1:8080:80')"},
		{"[::1]8080:80", "IPv6 port bind must be in format [ADDR]:HOST:GUEST[/udp] (got '[::1]8080:80')"},
		{"[::1:8080:80", "IPv6 port bind must be in format [ADDR]:HOST:GUEST[/udp] (got '[::1:8080:80')"},
		{"[", "IPv6 port bind must be in format [ADDR]:HOST:GUEST[/udp] (got '[')"},
		{"[::1]:8080", "port must be in format [ADDR]:HOST:GUEST[/udp] (got '[::1]:8080')"},
		{"[fe80::1%eth0]:80:80", "invalid bind address: 'fe80::1%eth0'"},
		{"[]:80:80", "invalid bind address: ''"},
		{"[localhost]:80:80", "invalid bind address: 'localhost'"},
		{"localhost:80:80", "invalid bind address: 'localhost'"},
		{"256.0.0.1:80:80", "invalid bind address: '256.0.0.1'"},
		{"01.2.3.4:80:80", "invalid bind address: '01.2.3.4'"},
		{":80:80", "invalid bind address: ''"},
		{"x:80", "invalid host port: 'x'"},
		{":80", "invalid host port: ''"},
		{"0:80", "invalid host port: '0'"},
		{"65536:80", "invalid host port: '65536'"},
		{"-1:80", "invalid host port: '-1'"},
		{"+80:80", "invalid host port: '+80'"},
		{" 80:80", "invalid host port: ' 80'"},
		{"80:", "invalid guest port: ''"},
		{"80:0", "invalid guest port: '0'"},
		{"80:65536", "invalid guest port: '65536'"},
		{"80:80 ", "invalid guest port: '80 '"},
		{"80:80/sctp", "invalid guest port: '80/sctp'"},
		{"80:80/UDP", "invalid guest port: '80/UDP'"},
		{"80:80/udp/udp", "invalid guest port: '80/udp'"},
		{"[::1]:80:80:80", "invalid guest port: '80:80'"},
		{"/udp", "port must be in format HOST:GUEST[/udp] or BIND_ADDR:HOST:GUEST[/udp] (got '/udp')"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		struct parse_port pm;
		char addr[INET6_ADDRSTRLEN] = "";

		memset(&pm, 0xa5, sizeof(pm));
		is_int(parse_port(good[i].s, &pm, NULL), 0, "port '%s' accepted", good[i].s);
		inet_ntop(pm.family, &pm.bind, addr, sizeof(addr));
		is_str(addr, good[i].bind, "port '%s' bind", good[i].s);
		is_int(pm.host_port, good[i].host, "port '%s' host", good[i].s);
		is_int(pm.guest_port, good[i].guest, "port '%s' guest", good[i].s);
		is_int(pm.proto, good[i].proto, "port '%s' proto", good[i].s);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct parse_port pm = {.host_port = 7};
		msb_error err = ERR_INIT;
		is_int(parse_port(bad[i].s, &pm, &err), -MSB_ERR_INVALID, "port '%s' rejected", bad[i].s);
		is_str(err.msg, bad[i].msg, "port '%s' message", bad[i].s);
		is_int(pm.host_port, 7, "port '%s' leaves the output alone", bad[i].s);
	}
}

/* ---- rate limits -------------------------------------------------------------------------------- */

static void test_rate(void)
{
	static const struct {
		const char *s;
		bool bytes;
		uint64_t amount, ms;
	} good[] = {
		{"1048576", true, 1048576, 1000}, {"1M", true, 1048576, 1000},	   {"1m/1s", true, 1048576, 1000},
		{"512K/500ms", true, 524288, 500}, {"2G/1m", true, 2147483648ull, 60000}, {"10k/2", true, 10240, 2000},
		{"1000/1s", false, 1000, 1000},	   {"5/1h", false, 5, 3600000},
	};
	static const char *const bad[] = {"", "1.5M", "1T", "0", "1M/0ms", "1M/1d", "-1", "1K/x", "1M/", "10k"};
	msb_error err = ERR_INIT;
	uint64_t v = 0;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct parse_rate r = {0};
		is_int(parse_rate(good[i].s, good[i].bytes, &r, NULL), 0, "rate '%s' accepted", good[i].s);
		ok(r.amount == good[i].amount && r.interval_ms == good[i].ms, "rate '%s' value", good[i].s);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct parse_rate r = {0};
		/* "10k" is a fine SIZE but not a COUNT */
		bool bytes = strcmp(bad[i], "10k") != 0;
		is_int(parse_rate(bad[i], bytes, &r, &err), -MSB_ERR_INVALID, "rate '%s' rejected", bad[i]);
	}
	is_int(parse_size_bytes("1.5M", &v, &err), -MSB_ERR_INVALID, "size 1.5M rejected");
	is_str(err.msg, "invalid size `1.5M` (expected raw bytes or K/M/G suffix): e.g. 1048576, 512K, 10M",
	       "size message");
	is_int(parse_size_bytes("3g", &v, NULL), 0, "size 3g");
	ok(v == 3ull << 30, "size 3g value");
}

/* ---- detach keys -------------------------------------------------------------------------------- */

static void test_detach_keys(void)
{
	static const struct {
		const char *s;
		size_t len;
		uint8_t seq[4];
	} good[] = {
		{"ctrl-]", 1, {0x1d}},
		{"ctrl-a", 1, {0x01}},
		{"ctrl-A", 1, {0x01}},
		{"ctrl-z", 1, {0x1a}},
		{"ctrl-Z", 1, {0x1a}},
		{"ctrl-[", 1, {0x1b}},
		{"ctrl-\\", 1, {0x1c}},
		{"ctrl-^", 1, {0x1e}},
		{"ctrl-_", 1, {0x1f}},
		{"ctrl-@", 1, {0x00}},
		{"ctrl-p,ctrl-q", 2, {0x10, 0x11}},
		{"ctrl-p, ctrl-q", 2, {0x10, 0x11}},
		{" ctrl-p ,\tctrl-q ", 2, {0x10, 0x11}},
		{"q", 1, {'q'}},
		{"ctrl-x,x", 2, {0x18, 'x'}},
		{"~,.", 2, {'~', '.'}},
	};
	static const struct {
		const char *s;
		const char *msg;
	} bad[] = {
		{"", "invalid detach key: ''"},
		{" ", "invalid detach key: ''"},
		{"ctrl-", "invalid detach key: 'ctrl-'"},
		{"ctrl-1", "invalid detach key: 'ctrl-1'"},
		{"ctrl-ab", "invalid detach key: 'ctrl-ab'"},
		{"ctrl-?", "invalid detach key: 'ctrl-?'"},
		{"Ctrl-a", "invalid detach key: 'Ctrl-a'"},
		{"CTRL-A", "invalid detach key: 'CTRL-A'"},
		{"ctrl+a", "invalid detach key: 'ctrl+a'"},
		{"ab", "invalid detach key: 'ab'"},
		{"ctrl-p,", "invalid detach key: ''"},
		{",ctrl-p", "invalid detach key: ''"},
		{"ctrl-p,,ctrl-q", "invalid detach key: ''"},
		{"ü", "invalid detach key: 'ü'"},
		{"ctrl-ü", "invalid detach key: 'ctrl-ü'"},
		{"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q",
		 "too many detach keys (maximum 16): 'a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q'"},
	};
	struct parse_detach_keys k;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		memset(&k, 0xee, sizeof(k));
		is_int(parse_detach_keys(good[i].s, &k, NULL), 0, "detach keys '%s' accepted", good[i].s);
		is_int(k.len, good[i].len, "detach keys '%s' length", good[i].s);
		ok(k.len == good[i].len && !memcmp(k.seq, good[i].seq, good[i].len), "detach keys '%s' bytes",
		   good[i].s);
	}
	is_int(parse_detach_keys("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", &k, NULL), 0, "16 detach keys accepted");
	is_int(k.len, 16, "16 detach keys kept");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		msb_error err = ERR_INIT;
		k.len = 99;
		is_int(parse_detach_keys(bad[i].s, &k, &err), -MSB_ERR_INVALID, "detach keys '%s' rejected",
		       bad[i].s);
		is_str(err.msg, bad[i].msg, "detach keys '%s' message", bad[i].s);
		is_int(k.len, 99, "detach keys '%s' leaves the output alone", bad[i].s);
	}
}

/* ---- log time points ---------------------------------------------------------------------------- */

static void test_time_point(void)
{
	const int64_t now = 1777581179690; /* 2026-04-30T20:32:59.690Z */
	static const struct {
		const char *s;
		int64_t ms;
	} good[] = {
		{"2026-04-30T20:32:59.690Z", 1777581179690},
		{"2026-04-30t20:32:59.690z", 1777581179690},
		{"2026-04-30 20:32:59.690Z", 1777581179690},
		{"2026-04-30T22:32:59.690+02:00", 1777581179690},
		{"2026-04-30T20:02:59.690-00:30", 1777581179690},
		{"2026-04-30T20:32:59.6901234567891Z", 1777581179690},
		{"2026-04-30T20:32:59.6Z", 1777581179600},
		{"2026-04-30T20:32:59Z", 1777581179000},
		{"1970-01-01T00:00:00Z", 0},
		{"1970-01-01T00:00:00+00:00", 0},
		{"1969-12-31T23:59:59.999Z", -1},
		{"2000-02-29T12:00:00+02:00", 951818400000},
		{"2016-12-31T23:59:60Z", 1483228800000}, /* leap second */
		{"0000-01-01T00:00:00Z", -62167219200000},
		{"9999-12-31T23:59:59.999Z", 253402300799999},
		{"1970-01-01T00:00:00+23:59", -86340000},
	};
	static const struct {
		const char *s;
		int64_t ago_ms;
	} rel[] = {
		{"0s", 0},
		{"30s", 30000},
		{"5m", 300000},
		{"2h", 7200000},
		{"1d", 86400000},
		{"007d", 7 * 86400000LL},
		{"106751991167d", 9223372036828800000LL}, /* the largest that fits */
	};
	static const char *const bad[] = {
		"", "5", "m", "5ms", "5 m", " 5m", "5m ", "-5m", "+5m", "5w", "5M", "1.5h", "5m5s",
		"106751991168d", "18446744073709551616s", "2026-04-30", "2026-04-30T20:32:59",
		"2026-04-30T20:32Z", "2026-4-30T20:32:59Z", "26-04-30T20:32:59Z", "2026-04-30T20:32:59.Z",
		"2026-04-30T20:32:59,5Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z",
		"2026-00-01T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z",
		"2026-01-01T00:00:61Z", "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+01:60",
		"2026-01-01T00:00:00+0100", "2026-01-01T00:00:00+01", "2026-01-01T00:00:00Z ",
		" 2026-01-01T00:00:00Z", "2026-01-01X00:00:00Z", "1900-02-29T00:00:00Z", "+2026-01-01T00:00:00Z",
		"now", "yesterday",
	};
	msb_error err = ERR_INIT;
	int64_t out;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		out = 42;
		is_int(parse_time_point(good[i].s, now, &out, NULL), 0, "time '%s' accepted", good[i].s);
		is_int(out, good[i].ms, "time '%s' value", good[i].s);
	}
	for (i = 0; i < ARRAY_SIZE(rel); i++) {
		out = 42;
		is_int(parse_time_point(rel[i].s, now, &out, NULL), 0, "time '%s' accepted", rel[i].s);
		is_int(out, now - rel[i].ago_ms, "time '%s' = now - %lld ms", rel[i].s, (long long)rel[i].ago_ms);
	}
	is_int(parse_time_point("2000-02-29T00:00:00Z", now, &out, NULL), 0, "2000 is a leap year");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		out = 42;
		is_int(parse_time_point(bad[i], now, &out, NULL), -MSB_ERR_INVALID, "time '%s' rejected", bad[i]);
		is_int(out, 42, "time '%s' leaves the output alone", bad[i]);
	}

	/* Relative points far back from a negative "now" must not wrap around. */
	is_int(parse_time_point("1s", INT64_MIN + 999, &out, NULL), -MSB_ERR_INVALID, "underflow rejected");
	is_int(parse_time_point("1s", INT64_MIN + 1000, &out, NULL), 0, "exact INT64_MIN accepted");
	ok(out == INT64_MIN, "INT64_MIN reached exactly");

	parse_time_point("5ms", now, &out, &err);
	is_str(err.msg, "could not parse time \"5ms\" (expected RFC 3339 or `5m` etc.)", "time message (reference)");
}

int main(void)
{
	test_sha256();
	test_u64();
	test_names();
	test_auto_name();
	test_hostname_from_name();
	test_hostname_valid();
	test_duration_s();
	test_duration_ms();
	test_size();
	test_rlimit_names();
	test_rlimit();
	test_env();
	test_label();
	test_shell();
	test_security_pull();
	test_port();
	test_rate();
	test_detach_keys();
	test_time_point();
	return tap_done();
}
