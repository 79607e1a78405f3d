// SPDX-License-Identifier: Apache-2.0
/*
 * test_imgref.c - image reference parsing: a table of valid references with
 * their canonical and familiar forms, a table of invalid ones with the part
 * of the message that names what is wrong, field checks, the local-path
 * classifier and the quoting helper.
 */
#include <stdio.h>

#include "image/ref.h"
#include "tap.h"
#include "util.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DG  "sha256:" H64

static const struct {
	const char *in, *canonical, *familiar;
} valid[] = {
	{"python", "docker.io/library/python:latest", "python:latest"},
	{"python:3.12", "docker.io/library/python:3.12", "python:3.12"},
	{"library/python", "docker.io/library/python:latest", "python:latest"},
	{"docker.io/python", "docker.io/library/python:latest", "python:latest"},
	{"docker.io/library/python:3", "docker.io/library/python:3", "python:3"},
	{"index.docker.io/library/alpine", "docker.io/library/alpine:latest", "alpine:latest"},
	{"index.docker.io/alpine:3.20", "docker.io/library/alpine:3.20", "alpine:3.20"},
	{"user/repo", "docker.io/user/repo:latest", "user/repo:latest"},
	{"docker.io/user/repo:v1", "docker.io/user/repo:v1", "user/repo:v1"},
	{"library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"},
	{"registry.example:5000/team/tool:1.2", "registry.example:5000/team/tool:1.2",
	 "registry.example:5000/team/tool:1.2"},
	{"localhost/x", "localhost/x:latest", "localhost/x:latest"},
	{"localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest"},
	{"localhost", "docker.io/library/localhost:latest", "localhost:latest"},
	{"localhost:5000", "docker.io/library/localhost:5000", "localhost:5000"},
	{"[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest"},
	{"[2001:db8::1]/a/b:v1", "[2001:db8::1]/a/b:v1", "[2001:db8::1]/a/b:v1"},
	{"[fe80::1]/x", "[fe80::1]/x:latest", "[fe80::1]/x:latest"},
	{"ghcr.io/org/tool@" DG, "ghcr.io/org/tool@" DG, "ghcr.io/org/tool@" DG},
	{"python:3.12@" DG, "docker.io/library/python:3.12@" DG, "python:3.12@" DG},
	{"python@" DG, "docker.io/library/python@" DG, "python@" DG},
	{"a/b/c/d/e", "docker.io/a/b/c/d/e:latest", "a/b/c/d/e:latest"},
	{"my_repo/a.b-c__d", "docker.io/my_repo/a.b-c__d:latest", "my_repo/a.b-c__d:latest"},
	{"a---b", "docker.io/library/a---b:latest", "a---b:latest"},
	{"python:Latest_V1.0-rc", "docker.io/library/python:Latest_V1.0-rc", "python:Latest_V1.0-rc"},
	{"python:_x", "docker.io/library/python:_x", "python:_x"},
	{"192.168.1.10:5000/x", "192.168.1.10:5000/x:latest", "192.168.1.10:5000/x:latest"},
	{"Registry.Example.COM/x", "Registry.Example.COM/x:latest", "Registry.Example.COM/x:latest"},
	{"quay.io/x", "quay.io/x:latest", "quay.io/x:latest"},
	{"registry-1.docker.io/library/x", "registry-1.docker.io/library/x:latest",
	 "registry-1.docker.io/library/x:latest"},
	{"docker.io/library/python:latest@" DG, "docker.io/library/python:latest@" DG, "python:latest@" DG},
	{"a.b/c", "a.b/c:latest", "a.b/c:latest"},
	{"x-y.example/z", "x-y.example/z:latest", "x-y.example/z:latest"},
	{"0/1", "docker.io/0/1:latest", "0/1:latest"},
	{"a:5000/b", "a:5000/b:latest", "a:5000/b:latest"},
	/* Hub paths whose first component looks like a host keep "docker.io/" when shown */
	{"docker.io/a.b/c", "docker.io/a.b/c:latest", "docker.io/a.b/c:latest"},
	{"docker.io/localhost/c", "docker.io/localhost/c:latest", "docker.io/localhost/c:latest"},
	{"docker.io/library.io/x", "docker.io/library.io/x:latest", "docker.io/library.io/x:latest"},
	{"docker.io/a.b", "docker.io/library/a.b:latest", "a.b:latest"},
};

static const struct {
	const char *in, *msg; /* msg: a substring the error must contain */
} invalid[] = {
	{"", "empty"},
	{"Foo/bar", "invalid image reference \"Foo/bar\": repository name must be lowercase"},
	{"Python", "must be lowercase"},
	{"user/Repo", "must be lowercase"},
	{"LOCALHOST/x", "must be lowercase"},
	{"python:", "empty tag"},
	{"python:-x", "invalid tag \"-x\""},
	{"python:.x", "invalid tag \".x\""},
	{"python:a+b", "invalid tag \"a+b\""},
	{"a//b", "empty path component"},
	{"/python", "empty path component"},
	{"python/", "empty path component"},
	{"a__-b", "invalid path component \"a__-b\""},
	{"a___b", "invalid path component \"a___b\""},
	{"-a", "invalid path component \"-a\""},
	{"a-", "invalid path component \"a-\""},
	{"a.-b", "invalid path component \"a.-b\""},
	{"a..b", "invalid path component \"a..b\""},
	{"x/.a", "invalid path component \".a\""},
	{"python@sha256:abc", "3 hex digits, expected 64"},
	{"python@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", "lowercase hex"},
	{"python@md5:0123", "unsupported digest algorithm \"md5\""},
	{"python@", "invalid digest"},
	{"python@" DG "0", "65 hex digits"},
	{"@" DG, "missing repository name before '@'"},
	{":tag", "missing repository name before ':'"},
	{"registry.example:99999/x", "invalid port \"99999\""},
	{"registry.example:0/x", "invalid port \"0\""},
	{"registry.example:abc/x", "invalid port \"abc\""},
	{"localhost:/x", "invalid port \"\""},
	{"-bad.example/x", "invalid registry host \"-bad.example\""},
	{"bad-.example/x", "invalid registry host \"bad-.example\""},
	{"a..b.com/x", "invalid registry host \"a..b.com\""},
	{"example.com./x", "invalid registry host \"example.com.\""},
	{"ex_ample.com/x", "invalid registry host \"ex_ample.com\""},
	{"[::1/x", "invalid IPv6 registry host"},
	{"[zz::1]/x", "invalid IPv6 registry host \"[zz::1]\""},
	{"[1:2:3:4:5:6:7:8:9]/x", "invalid IPv6 registry host"},
	{"[::1]x/y", "expected ':' and a port after ']'"},
	{"python 3", "invalid character \" \" at offset 6"},
	{"pyth\x01on", "invalid character \"\\x01\" at offset 4"},
	{"pyth\xc3\xa9on", "invalid character \"\\xc3\" at offset 4"},
	{H64, "image ID"},
	{"a@b@c", "more than one '@'"},
	{"python:tag:x", "invalid path component \"python:tag\""},
	{"a/b:c/d", "invalid path component \"b:c\""},
	{"a/b$c", "may contain only"},
};

static void test_valid(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(valid); i++) {
		struct img_ref r;
		msb_error err = {0};
		int rc = img_ref_parse(valid[i].in, &r, &err);

		is_int(rc, 0, "parse \"%s\"%s%s", valid[i].in, rc ? ": " : "", rc ? err.msg : "");
		is_str(r.canonical, valid[i].canonical, "  canonical of \"%s\"", valid[i].in);
		is_str(r.familiar, valid[i].familiar, "  familiar of \"%s\"", valid[i].in);
		img_ref_clear(&r);
	}
}

static void test_invalid(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(invalid); i++) {
		struct img_ref r;
		msb_error err = {0};
		int rc = img_ref_parse(invalid[i].in, &r, &err);

		is_int(rc, -MSB_ERR_INVALID, "reject \"%s\"", invalid[i].in);
		ok(err.code == MSB_ERR_INVALID && strstr(err.msg, invalid[i].msg), "  message names the problem");
		if (!strstr(err.msg, invalid[i].msg))
			printf("#   message: %s\n#   wanted:  %s\n", err.msg, invalid[i].msg);
		ok(r.canonical == NULL && r.registry == NULL, "  output zeroed on failure");
	}
}

static void test_fields(void)
{
	struct img_ref r;
	msb_error err = {0};

	ok(img_ref_parse("registry.example:5000/team/tool:1.2", &r, &err) == 0, "fields: registry with port");
	is_str(r.registry, "registry.example:5000", "  registry");
	is_str(r.repository, "team/tool", "  repository");
	is_str(r.tag, "1.2", "  tag");
	ok(r.digest == NULL, "  no digest");
	is_str(img_ref_api_host(&r), "registry.example:5000", "  api host is the registry");
	img_ref_clear(&r);

	ok(img_ref_parse("python", &r, &err) == 0, "fields: short name");
	is_str(r.registry, "docker.io", "  registry docker.io");
	is_str(r.repository, "library/python", "  library/ added");
	is_str(r.tag, "latest", "  default tag");
	is_str(img_ref_api_host(&r), "index.docker.io", "  Hub API host");
	img_ref_clear(&r);

	ok(img_ref_parse("ghcr.io/o/t@" DG, &r, &err) == 0, "fields: digest only");
	ok(r.tag == NULL, "  no tag when pinned by digest only");
	is_str(r.digest, DG, "  digest");
	img_ref_clear(&r);

	ok(img_ref_parse("[::1]:5000/x:y@" DG, &r, &err) == 0, "fields: IPv6, tag and digest");
	is_str(r.registry, "[::1]:5000", "  registry");
	is_str(r.repository, "x", "  repository (no library/ off the Hub)");
	is_str(r.tag, "y", "  tag");
	is_str(r.digest, DG, "  digest");
	img_ref_clear(&r);
	img_ref_clear(&r);
	ok(r.canonical == NULL, "clear twice is harmless");
}

static void test_limits(void)
{
	char name[600], tag[200];
	struct img_ref r;
	msb_error err = {0};

	/* docker.io/library/ + 237 = 255: the longest Hub short name */
	memset(name, 'a', 237);
	name[237] = '\0';
	ok(img_ref_parse(name, &r, &err) == 0, "name of exactly 255 characters after normalisation");
	img_ref_clear(&r);
	name[237] = 'a';
	name[238] = '\0';
	ok(img_ref_parse(name, &r, &err) < 0 && strstr(err.msg, "256 characters long (max 255)"),
	   "256 characters rejected: %s", err.msg);

	memset(tag, 'x', 128);
	tag[128] = '\0';
	snprintf(name, sizeof(name), "python:%s", tag);
	ok(img_ref_parse(name, &r, &err) == 0, "128-character tag accepted");
	img_ref_clear(&r);
	snprintf(name, sizeof(name), "python:%sx", tag);
	ok(img_ref_parse(name, &r, &err) < 0 && strstr(err.msg, "129 characters long (max 128)"),
	   "129-character tag rejected");

	memset(name, 'a', 599);
	name[599] = '\0';
	ok(img_ref_parse(name, &r, &err) < 0 && strstr(err.msg, "599 characters long (max 512)"),
	   "over-long input rejected early");
	ok(strlen(err.msg) < sizeof(err.msg) - 1 && strstr(err.msg, "...\""), "  and quoted truncated");

	ok(img_ref_parse("a/b", &r, NULL) == 0, "NULL error object on success");
	img_ref_clear(&r);
	ok(img_ref_parse("A", &r, NULL) == -MSB_ERR_INVALID, "NULL error object on failure");
}

static void test_roundtrip(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(valid); i++) {
		struct img_ref a, b, c;
		msb_error err = {0};

		if (img_ref_parse(valid[i].in, &a, &err) < 0)
			continue;
		ok(img_ref_parse(a.canonical, &b, &err) == 0 && strcmp(a.canonical, b.canonical) == 0 &&
			   img_ref_parse(a.familiar, &c, &err) == 0 && strcmp(a.canonical, c.canonical) == 0,
		   "canonical and familiar forms of \"%s\" re-parse to the same reference", valid[i].in);
		img_ref_clear(&a);
		img_ref_clear(&b);
		img_ref_clear(&c);
	}
}

static void test_local(void)
{
	static const struct {
		const char *s;
		int kind;
	} t[] = {
		{".", IMG_LOCAL_DIR},          {"..", IMG_LOCAL_DIR},          {"/", IMG_LOCAL_DIR},
		{"./rootfs", IMG_LOCAL_DIR},   {"../r", IMG_LOCAL_DIR},        {"/srv/root", IMG_LOCAL_DIR},
		{"/srv/a.qcow2", IMG_LOCAL_DISK}, {"./d.raw", IMG_LOCAL_DISK}, {"../x.vmdk", IMG_LOCAL_DISK},
		{"python", IMG_LOCAL_NONE},    {"x.vmdk", IMG_LOCAL_NONE},     {".x", IMG_LOCAL_NONE},
		{"..x", IMG_LOCAL_NONE},       {"", IMG_LOCAL_NONE},           {"~/x", IMG_LOCAL_NONE},
		{"localhost:5000/x", IMG_LOCAL_NONE}, {".hidden/x", IMG_LOCAL_NONE}, {"./a.qcow2/", IMG_LOCAL_DIR},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++)
		is_int(img_local_kind(t[i].s), t[i].kind, "local kind of \"%s\"", t[i].s);
	ok(img_ref_is_local_path("./x") && !img_ref_is_local_path("x"), "img_ref_is_local_path");
	is_int(img_local_kind(NULL), IMG_LOCAL_NONE, "NULL is not a path");
}

static void test_quote(void)
{
	char buf[32];

	is_str(img_quote(buf, sizeof(buf), "a\"b\\c\n", 6), "\"a\\\"b\\\\c\\x0a\"", "quote escapes");
	is_str(img_quote(buf, sizeof(buf), "a\0b", 3), "\"a\\x00b\"", "quote shows NUL");
	is_str(img_quote(buf, 16, "abcdefghijklmnopqrstuvwxyz", 26), "\"abcdefghij...\"", "quote truncates");
	ok(strlen(img_quote(buf, 16, "\x01\x02\x03\x04\x05\x06", 6)) < 16, "quote never overflows");
}

int main(void)
{
	ok(ARRAY_SIZE(valid) + ARRAY_SIZE(invalid) >= 40, "table has %zu cases",
	   ARRAY_SIZE(valid) + ARRAY_SIZE(invalid));
	test_valid();
	test_invalid();
	test_fields();
	test_limits();
	test_roundtrip();
	test_local();
	test_quote();
	return tap_done();
}
