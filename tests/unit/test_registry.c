// SPDX-License-Identifier: Apache-2.0
/*
 * test_registry.c - the pure parts of the registry client and the login
 * store: WWW-Authenticate challenges (Bearer and Basic, quoting, several
 * challenges, token68, malformed and over-long input), base and object URLs
 * (what may and may not reach a URL), and creds_* in a temporary home (file
 * modes, atomic replace, case-insensitive lookup, listing, removal).
 * The network side is tested against a real registry by tests/registry/.
 */
#include <stdio.h>
#include <sys/stat.h>

#include "image/creds.h"
#include "image/ref.h"
#include "image/registry.h"
#include "tap.h"
#include "util.h"

#define D64 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int chal(const char *s, struct reg_challenge *ch, msb_error *err)
{
	return reg_challenge_parse(s, strlen(s), ch, err);
}

static void test_bearer(void)
{
	struct reg_challenge ch;
	msb_error err;

	is_int(chal("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
		    "scope=\"repository:library/alpine:pull\"",
		    &ch, &err),
	       0, "docker hub challenge");
	is_int(ch.scheme, REG_AUTH_BEARER, "scheme bearer");
	is_str(ch.realm, "https://auth.docker.io/token", "realm");
	is_str(ch.service, "registry.docker.io", "service");
	is_str(ch.scope, "repository:library/alpine:pull", "scope");

	is_int(chal("bearer  REALM = \"https://h/t\" , Service=\"a \\\"b\\\\\"", &ch, &err), 0, "tokens, BWS, escapes");
	is_str(ch.realm, "https://h/t", "token realm");
	is_str(ch.service, "a \"b\\", "quoted-pair unescaped");

	is_int(chal("Basic realm=\"r\", Bearer realm=\"https://x/t\"", &ch, &err), 0, "two challenges");
	is_int(ch.scheme, REG_AUTH_BEARER, "bearer preferred over basic");
	is_str(ch.realm, "https://x/t", "realm of the bearer challenge");

	is_int(chal("Negotiate abc==, Bearer realm=\"https://x/t\", Basic realm=x", &ch, &err), 0,
	       "token68 of an unknown scheme skipped");
	is_int(ch.scheme, REG_AUTH_BEARER, "bearer found after token68");

	is_int(chal("Bearer realm=\"https://x/t\",,  ,error=\"invalid_token\"", &ch, &err), 0, "empty list elements");
	is_int(chal("Bearer realm=\"https://x/t?a=b\"", &ch, &err), 0, "realm with a query");
}

static void test_basic(void)
{
	struct reg_challenge ch;
	msb_error err;

	is_int(chal("Basic realm=\"Registry Realm\"", &ch, &err), 0, "distribution htpasswd challenge");
	is_int(ch.scheme, REG_AUTH_BASIC, "scheme basic");
	is_str(ch.realm, "Registry Realm", "basic realm");
	is_int(chal("Basic", &ch, &err), 0, "bare scheme");
	is_int(ch.scheme, REG_AUTH_BASIC, "bare basic");
	is_int(chal("Basic dXNlcjpwdw==", &ch, &err), 0, "token68");
	is_int(chal("Basic a/b+c=", &ch, &err), 0, "token68 with / and +");
}

static void test_bad(void)
{
	static const char *const bad[] = {
		"Bearer realm=\"https://x/t",          /* unterminated */
		"Bearer realm=\"https://x/t\\",        /* escape at the end */
		"Bearer service=x",                     /* no realm */
		"Bearer realm=\"ftp://x/t\"",          /* not http(s) */
		"Bearer realm=\"https://x/ t\"",       /* blank */
		"Bearer realm=\"https://x/t\r\nX: y\"", /* header injection */
		"Bearer realm=\"https://x/t#f\"",      /* fragment */
		"Bearer realm=a, realm=b",              /* repeated */
		"Bearer realm=\"https://x/t\" junk",   /* missing comma */
		"Bearer realm=https://x/t",             /* URL unquoted: not a token */
		"=Bearer",
		"Bearer; realm=x",
	};
	struct reg_challenge ch;
	msb_error err;
	size_t i;
	char big[4096];

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		char q[96];
		err.msg[0] = '\0';
		is_int(chal(bad[i], &ch, &err), -MSB_ERR_INVALID, "rejected: %s", img_quote(q, sizeof(q), bad[i], strlen(bad[i])));
		ok(err.msg[0] && ch.scheme == REG_AUTH_NONE, "  message: %s", err.msg);
	}
	is_int(chal("", &ch, &err), -MSB_ERR_UNSUPPORTED, "empty header");
	is_int(chal("Digest realm=\"x\", nonce=\"y\"", &ch, &err), -MSB_ERR_UNSUPPORTED, "digest only");
	ok(strstr(err.msg, "Basic and Bearer") != NULL, "unsupported message names the schemes: %s", err.msg);
	snprintf(big, sizeof(big), "Bearer realm=\"https://x/%03000d\"", 0);
	is_int(chal(big, &ch, &err), -MSB_ERR_INVALID, "over-long realm");
	ok(strstr(err.msg, "longer than") != NULL, "over-long message: %s", err.msg);
	/* not NUL-terminated: the parser must stop at len */
	is_int(reg_challenge_parse("Basic realm=\"abc\"XYZ", 17, &ch, &err), 0, "bounded by len");
	is_str(ch.realm, "abc", "bounded realm");
}

static void test_urls(void)
{
	msb_error err;
	char *u;

	u = reg_base_url("docker.io", false, &err);
	is_str(u, "https://index.docker.io", "docker hub api host");
	free(u);
	u = reg_base_url("localhost:5000", true, &err);
	is_str(u, "http://localhost:5000", "insecure with port");
	free(u);
	u = reg_base_url("[::1]:5000", false, &err);
	is_str(u, "https://[::1]:5000", "ipv6");
	free(u);
	ok(reg_base_url("a/b", false, &err) == NULL, "slash in registry rejected");
	ok(reg_base_url("h:0", false, &err) == NULL, "port 0 rejected");
	ok(reg_base_url("h:99999", false, &err) == NULL, "port too large rejected");
	ok(reg_base_url("h@evil", false, &err) == NULL, "userinfo rejected");
	ok(reg_base_url("", false, &err) == NULL, "empty rejected");

	u = reg_url("https://r", "library/alpine", "manifests", "3.19", &err);
	is_str(u, "https://r/v2/library/alpine/manifests/3.19", "manifest by tag");
	free(u);
	u = reg_url("https://r", "a/b-c/d_e.f", "blobs", D64, &err);
	is_str(u, "https://r/v2/a/b-c/d_e.f/blobs/" D64, "blob by digest");
	free(u);
	ok(reg_url("https://r", "a/../b", "blobs", D64, &err) == NULL, "dot-dot component rejected");
	ok(reg_url("https://r", "./a", "blobs", D64, &err) == NULL, "dot component rejected");
	ok(reg_url("https://r", "A/b", "blobs", D64, &err) == NULL, "uppercase repository rejected");
	ok(reg_url("https://r", "a//b", "blobs", D64, &err) == NULL, "empty component rejected");
	ok(reg_url("https://r", "a?x=1", "blobs", D64, &err) == NULL, "query rejected");
	ok(reg_url("https://r", "a", "manifests", "t?x", &err) == NULL, "query in tag rejected");
	ok(reg_url("https://r", "a", "manifests", "sha256:abc", &err) == NULL, "short digest rejected");
	ok(reg_url("https://r", "a", "manifests", ".t", &err) == NULL, "tag starting with . rejected");
	ok(strstr(err.msg, "\".t\"") != NULL, "message quotes the tag: %s", err.msg);
}

static void test_creds(void)
{
	char home[] = "/tmp/msb-creds-XXXXXX", path[256];
	char *u = NULL, *p = NULL, **list = NULL;
	struct stat st;
	msb_error err;
	size_t n = 0;

	if (!mkdtemp(home)) {
		ok(0, "mkdtemp");
		return;
	}
	is_int(creds_load(home, "r.example", &u, &p, &err), -MSB_ERR_NOT_FOUND, "nothing stored yet");
	is_int(creds_list(home, &list, &n, &err), 0, "list without directory");
	is_int(n, 0, "empty list");
	creds_list_free(list);
	is_int(creds_save(home, "localhost:5000", "alice", "s3cret", &err), 0, "save");
	snprintf(path, sizeof(path), "%s/secrets/registries/localhost_5000.json", home);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "file 0600");
	snprintf(path, sizeof(path), "%s/secrets/registries", home);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700, "dir 0700");
	is_int(creds_save(home, "LocalHost:5000", "bob", "pw2", &err), 0, "replace (case-insensitive)");
	is_int(creds_load(home, "localhost:5000", &u, &p, &err), 0, "load");
	is_str(u, "bob", "user");
	is_str(p, "pw2", "password");
	free(u);
	free(p);
	is_int(creds_load(home, "localhost_5000", &u, &p, &err), -MSB_ERR_NOT_FOUND,
	       "a name that sanitises alike does not match");
	is_int(creds_save(home, "ghcr.io", "carol", "tok", &err), 0, "second registry");
	is_int(creds_save(home, "ghcr.io", "", "tok", &err), -MSB_ERR_INVALID, "empty user rejected");
	is_int(creds_list(home, &list, &n, &err), 0, "list");
	is_int(n, 2, "two logins");
	if (n == 2) {
		is_str(list[0], "LocalHost:5000", "first sorted");
		is_str(list[1], "ghcr.io", "second sorted");
	}
	creds_list_free(list);
	snprintf(path, sizeof(path), "%s/secrets/registries/ghcr.io.json", home);
	chmod(path, 0644);
	is_int(creds_load(home, "ghcr.io", &u, &p, &err), -MSB_ERR_INVALID, "group/world-readable file refused");
	ok(strstr(err.msg, "readable by other users") && !strstr(err.msg, "tok"), "message, no password: %s", err.msg);
	is_int(creds_remove(home, "ghcr.io", &err), 0, "remove");
	is_int(creds_remove(home, "ghcr.io", &err), -MSB_ERR_NOT_FOUND, "remove again");
	is_int(creds_remove(home, "localhost:5000", &err), 0, "remove the other");
	snprintf(path, sizeof(path), "rm -rf '%s'", home);
	if (system(path) != 0)
		ok(0, "cleanup");
}

int main(void)
{
	test_bearer();
	test_basic();
	test_bad();
	test_urls();
	test_creds();
	return tap_done();
}
