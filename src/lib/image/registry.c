// SPDX-License-Identifier: Apache-2.0
/*
 * registry.c - the OCI distribution client: requests, auth, verified
 * downloads. See registry.h for the theory of operation; the pure parsers
 * live in registry_parse.c.
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>

#include "image/ref.h"
#include "image/registry.h"
#include "util.h"

#define REG_ERRBODY_MAX 4096 /* bytes of an error response kept for the message */
#define REG_HEADER_MAX  8192 /* bytes of WWW-Authenticate kept */
#define REG_TOKEN_LEN_MAX (64u << 10)

#define ACCEPT_MANIFESTS                                                                                      \
	"Accept: " IMG_MT_OCI_INDEX_STR ", " IMG_MT_OCI_MANIFEST_STR ", " IMG_MT_DOCKER_LIST_STR                 \
	", " IMG_MT_DOCKER_MANIFEST_STR

struct reg_client {
	char *registry;  /* as given, for messages */
	char *base;      /* "https://host[:port]" */
	char *host;      /* host of @base, for comparing with a token realm */
	long port;       /* port of @base, default filled in */
	bool insecure;
	char *ca_file;   /* for messages */
	char *ca_pem;    /* its contents, added to each TLS context */
	char *username, *password;
	char *user_agent;
	int parallel;
	void (*progress)(void *arg, int blob_index, uint64_t done, uint64_t total);
	void *progress_arg;
	CURL *easy;      /* serial requests; keeps its connection between them */
	/* cached credential */
	int auth_scheme; /* enum reg_auth_scheme */
	char *auth_header; /* "Authorization: ..." */
	char *auth_repo;   /* the repository a Bearer token is scoped to */
	unsigned auth_gen; /* bumped whenever @auth_header changes */
};

/* One HTTP exchange: what the callbacks collected. */
struct xfer {
	struct reg_client *c;
	CURL *h;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	unsigned auth_gen; /* the c->auth_gen its Authorization came from */
	bool started;      /* the first body byte arrived */
	long status;
	/* headers of the last response */
	struct buf www_auth;
	char *content_type;
	int64_t range_start; /* from Content-Range, -1 when absent */
	struct buf errbody;  /* body of a non-2xx response, bounded */
	/* memory sink */
	bool to_file;
	struct buf body;
	size_t max;
	bool too_big;
	/* file sink */
	int fd;
	EVP_MD_CTX *md;
	int64_t size, done, offset;
	bool overflow, bad_range;
	int write_errno;
	/* reg_get_blobs bookkeeping */
	size_t index;
	int64_t reported;
	int auth_tries;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- small helpers ---- */

static void hex_digest(const unsigned char *md, char out[IMG_DIGEST_LEN + 1])
{
	static const char hx[] = "0123456789abcdef";
	int i;

	memcpy(out, "sha256:", 7);
	for (i = 0; i < 32; i++) {
		out[7 + 2 * i] = hx[md[i] >> 4];
		out[8 + 2 * i] = hx[md[i] & 15];
	}
	out[IMG_DIGEST_LEN] = '\0';
}

static void sha256_mem(const void *p, size_t n, char out[IMG_DIGEST_LEN + 1])
{
	unsigned char md[32];
	unsigned int ml = 0;

	if (!EVP_Digest(p, n, md, &ml, EVP_sha256(), NULL))
		abort();
	hex_digest(md, out);
}

static void md_final(EVP_MD_CTX *ctx, char out[IMG_DIGEST_LEN + 1])
{
	unsigned char md[32];
	unsigned int ml = 0;

	if (!EVP_DigestFinal_ex(ctx, md, &ml))
		abort();
	hex_digest(md, out);
}

static void md_reset(EVP_MD_CTX *ctx)
{
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		abort();
}

/* Lowercase header name match at the start of @line; returns the trimmed value or NULL. */
static const char *header_value(const char *line, size_t len, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *v, *e = line + len;

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return NULL;
	v = line + nl + 1;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*vlen = (size_t)(e - v);
	return v;
}

/* ---- curl callbacks ---- */

static size_t on_header(char *p, size_t sz, size_t nm, void *arg)
{
	struct xfer *x = arg;
	size_t n = sz * nm, vl;
	const char *v;

	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new response (after a redirect or 100) */
		x->started = false;
		x->www_auth.len = 0;
		free(x->content_type);
		x->content_type = NULL;
		x->range_start = -1;
		return n;
	}
	if ((v = header_value(p, n, "www-authenticate", &vl))) {
		if (x->www_auth.len + vl + 2 <= REG_HEADER_MAX) {
			if (x->www_auth.len)
				buf_append(&x->www_auth, ", ", 2);
			buf_append(&x->www_auth, v, vl);
		}
	} else if ((v = header_value(p, n, "content-type", &vl))) {
		free(x->content_type);
		x->content_type = xstrndup(v, vl < 256 ? vl : 256);
	} else if ((v = header_value(p, n, "content-range", &vl))) {
		/* "bytes N-M/T" */
		char tmp[96];
		long long start;
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(vl < 95 ? vl : 95), v);
		if (sscanf(tmp, "bytes %lld-", &start) == 1 && start >= 0)
			x->range_start = start;
	}
	return n;
}

/* First body byte of a 2xx response for a file: decide between resume and restart. */
static int file_begin(struct xfer *x)
{
	if (x->offset == 0)
		return 0;
	if (x->status == 206) {
		if (x->range_start != x->offset) {
			x->bad_range = true;
			return -1;
		}
		return 0;
	}
	/* 200: the server ignored the Range header and sends the whole blob */
	if (ftruncate(x->fd, 0) < 0) {
		x->write_errno = errno;
		return -1;
	}
	md_reset(x->md);
	x->done = 0;
	x->offset = 0;
	return 0;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *arg)
{
	struct xfer *x = arg;
	size_t n = sz * nm;

	if (!x->started) {
		x->started = true;
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
		if (x->status >= 200 && x->status < 300 && x->to_file && file_begin(x) < 0)
			return 0;
	}
	if (x->status < 200 || x->status >= 300) {
		if (x->errbody.len < REG_ERRBODY_MAX)
			buf_append(&x->errbody, p, n < REG_ERRBODY_MAX - x->errbody.len ? n : REG_ERRBODY_MAX - x->errbody.len);
		return n;
	}
	if (!x->to_file) {
		if (x->body.len + n > x->max) {
			x->too_big = true;
			return 0;
		}
		buf_append(&x->body, p, n);
		return n;
	}
	if ((uint64_t)x->done + n > (uint64_t)x->size) {
		x->overflow = true;
		return 0;
	}
	if (util_write_all(x->fd, p, n) < 0) {
		x->write_errno = errno;
		return 0;
	}
	if (!EVP_DigestUpdate(x->md, p, n))
		abort();
	x->done += (int64_t)n;
	return n;
}

/* Add the extra roots of ca_file to each new TLS context (keeps the system roots). */
static CURLcode on_ssl_ctx(CURL *h, void *sslctx, void *arg)
{
	struct reg_client *c = arg;
	X509_STORE *store = SSL_CTX_get_cert_store((SSL_CTX *)sslctx);
	BIO *bio = BIO_new_mem_buf(c->ca_pem, -1);
	X509 *cert;

	if (!bio)
		abort();
	while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		X509_STORE_add_cert(store, cert); /* a duplicate is harmless */
		X509_free(cert);
	}
	BIO_free(bio);
	return CURLE_OK;
}

/* ---- exchanges ---- */

static void xfer_reset_response(struct xfer *x)
{
	x->started = false;
	x->status = 0;
	x->www_auth.len = 0;
	free(x->content_type);
	x->content_type = NULL;
	x->range_start = -1;
	x->errbody.len = 0;
	x->body.len = 0;
	x->too_big = x->overflow = x->bad_range = false;
	x->write_errno = 0;
	x->errbuf[0] = '\0';
}

static void xfer_release(struct xfer *x)
{
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	buf_free(&x->www_auth);
	buf_free(&x->errbody);
	buf_free(&x->body);
	free(x->content_type);
	x->content_type = NULL;
}

static struct curl_slist *slist_add(struct curl_slist *l, const char *s)
{
	struct curl_slist *n = curl_slist_append(l, s);
	if (!n)
		abort();
	return n;
}

/* Whether the cached credential applies to @repository. */
static const char *auth_for(struct reg_client *c, const char *repository)
{
	if (!c->auth_header)
		return NULL;
	if (c->auth_scheme == REG_AUTH_BEARER && (!repository || !c->auth_repo || strcmp(c->auth_repo, repository)))
		return NULL;
	return c->auth_header;
}

/*
 * Options every request shares. Redirects are followed; libcurl keeps
 * CURLOPT_UNRESTRICTED_AUTH off, so Authorization stays with the first host.
 */
static void easy_common(struct reg_client *c, CURL *h, struct xfer *x, const char *url)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, c->insecure ? "http,https" : "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)REG_CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)REG_LOW_SPEED_BYTES);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)REG_LOW_SPEED_TIME_S);
	curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_PRIVATE, x);
	if (c->ca_pem) {
		curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
		curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, c);
	}
	if (getenv("MSB_REGISTRY_DEBUG"))
		curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
}

/* Set up @x->h for a request to the registry; @extra is one more header or NULL. */
static void xfer_setup(struct reg_client *c, struct xfer *x, const char *url, const char *repository,
		       const char *extra)
{
	const char *auth = auth_for(c, repository);

	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	if (auth)
		x->hdrs = slist_add(x->hdrs, auth);
	if (extra)
		x->hdrs = slist_add(x->hdrs, extra);
	x->auth_gen = c->auth_gen;
	easy_common(c, x->h, x, url);
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
	xfer_reset_response(x);
}

static bool curl_is_tls_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		return true;
	default:
		return false;
	}
}

/* Turn a libcurl failure into an error that says what to check. */
static int curl_error(struct reg_client *c, const struct xfer *x, CURLcode rc, const char *what, msb_error *err)
{
	const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);

	if (rc == CURLE_COULDNT_CONNECT)
		return msb_err_set(err, MSB_ERR_SYSTEM, ECONNREFUSED, "cannot connect to registry %s (port %ld): %s",
				   c->registry, c->port, detail);
	if (rc == CURLE_COULDNT_RESOLVE_HOST)
		return msb_err_set(err, MSB_ERR_SYSTEM, 0, "cannot resolve the host of registry %s: %s", c->registry,
				   detail);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return msb_err_set(err, MSB_ERR_TIMEOUT, 0,
				   "%s from registry %s timed out (no connection within %d s, or below %d bytes/s for "
				   "%d s): %s",
				   what, c->registry, REG_CONNECT_TIMEOUT_S, REG_LOW_SPEED_BYTES, REG_LOW_SPEED_TIME_S,
				   detail);
	if (curl_is_tls_error(rc))
		return msb_err_set(err, MSB_ERR_SYSTEM, REG_ERRNO_TLS,
				   "TLS connection to registry %s failed: %s; if it uses a private CA, add the CA to "
				   "registries.ca_certs%s%s%s; if it serves plain HTTP, set registries.hosts.%s.insecure",
				   c->registry, detail, c->ca_file ? " (now " : "", c->ca_file ? c->ca_file : "",
				   c->ca_file ? ")" : "", c->registry);
	return msb_err_set(err, MSB_ERR_SYSTEM, 0, "%s from registry %s failed: %s", what, c->registry, detail);
}

/* The first "message" of a distribution-spec error body, quoted, or "". */
static void registry_message(const struct xfer *x, char *out, size_t size)
{
	json_t *j = json_loadb(x->errbody.data ? x->errbody.data : "", x->errbody.len, 0, NULL);
	const char *m = NULL;

	out[0] = '\0';
	if (j)
		m = json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "message"));
	if (m) {
		char q[256];
		snprintf(out, size, " (registry says %s)", img_quote(q, sizeof(q), m, strlen(m)));
	}
	json_decref(j);
}

static int auth_error(struct reg_client *c, msb_error *err)
{
	return msb_err_set(err, MSB_ERR_PERMISSION, 0,
			   "authentication %s for registry %s; run `msb registry login %s`",
			   c->username ? "failed" : "required", c->registry, c->registry);
}

/* An HTTP status that is not success, for a request about @what (@what404 used for 404). */
static int http_error(struct reg_client *c, const struct xfer *x, const char *what, const char *what404,
		      msb_error *err)
{
	char msg[320];

	registry_message(x, msg, sizeof(msg));
	if (x->status == 401)
		return auth_error(c, err);
	if (x->status == 403)
		return msb_err_set(err, MSB_ERR_PERMISSION, 0, "registry %s denied access to %s%s", c->registry, what,
				   msg);
	if (x->status == 404)
		return msb_err_set(err, MSB_ERR_NOT_FOUND, 0, "%s%s", what404, msg);
	if (x->status == 429)
		return msb_err_set(err, MSB_ERR_SYSTEM, EAGAIN,
				   "registry %s is rate limiting requests (HTTP 429) for %s; try again later%s",
				   c->registry, what, msg);
	return msb_err_set(err, MSB_ERR_SYSTEM, EIO, "registry %s answered HTTP %ld for %s%s", c->registry,
			   x->status, what, msg);
}

/* ---- auth ---- */

/* Basic credentials as an Authorization header value. */
static char *basic_header(const char *user, const char *pass)
{
	_cleanup_free_ char *plain = xasprintf("%s:%s", user, pass);
	size_t n = strlen(plain);
	_cleanup_free_ char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
	char *h;

	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)plain, (int)n);
	h = xasprintf("Authorization: Basic %s", b64);
	explicit_bzero(plain, n);
	return h;
}

/* Whether credentials may go to @url: HTTPS, or plain HTTP to the registry's own host and port. */
static int realm_allows_credentials(struct reg_client *c, const char *url, msb_error *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	bool ok = false;
	int r = 0;

	if (!u)
		abort();
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		char q[128];
		r = msb_err_set(err, MSB_ERR_INVALID, 0, "registry %s sent an unusable token service URL %s",
				c->registry, img_quote(q, sizeof(q), url, strlen(url)));
		goto out;
	}
	ok = strcasecmp(scheme, "https") == 0 || (strcasecmp(host, c->host) == 0 && atol(port) == c->port);
	if (!ok) {
		char q[128];
		r = msb_err_set(err, MSB_ERR_PERMISSION, 0,
				"refusing to send the credentials for registry %s over plain HTTP to the token service "
				"%s on another host",
				c->registry, img_quote(q, sizeof(q), url, strlen(url)));
	}
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return r;
}

/* Pick the token out of a token-service answer and check it is header-safe. */
static int token_from_json(struct reg_client *c, const struct buf *b, char **out, msb_error *err)
{
	json_t *j = json_loadb(b->data ? b->data : "", b->len, 0, NULL);
	const char *t = NULL, *p;
	int r = 0;

	if (j) {
		t = json_string_value(json_object_get(j, "token"));
		if (!t || !*t)
			t = json_string_value(json_object_get(j, "access_token"));
	}
	if (!t || !*t) {
		r = msb_err_set(err, MSB_ERR_SYSTEM, EPROTO,
				"the token service of registry %s answered without a token", c->registry);
		goto out;
	}
	for (p = t; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			break;
	if (*p || strlen(t) > REG_TOKEN_LEN_MAX) {
		r = msb_err_set(err, MSB_ERR_SYSTEM, EPROTO,
				"the token service of registry %s sent a malformed token", c->registry);
		goto out;
	}
	*out = xstrdup(t);
out:
	json_decref(j);
	return r;
}

static char *escape(CURL *h, const char *s)
{
	char *e = curl_easy_escape(h, s, 0), *r;

	if (!e)
		abort();
	r = xstrdup(e);
	curl_free(e);
	return r;
}

/* GET the Bearer token for pulling @repository, as @ch describes the token service. */
static int bearer_fetch(struct reg_client *c, const struct reg_challenge *ch, const char *repository,
			msb_error *err)
{
	struct xfer x = {.c = c, .fd = -1, .max = REG_TOKEN_MAX, .h = c->easy};
	_cleanup_free_ char *scope = xasprintf("repository:%s:pull", repository);
	_cleanup_free_ char *esc_scope = escape(c->easy, scope), *esc_service = NULL, *url = NULL;
	char *token = NULL;
	CURLcode rc;
	int r;

	esc_service = escape(c->easy, ch->service);
	url = xasprintf("%s%sservice=%s&scope=%s", ch->realm, strchr(ch->realm, '?') ? "&" : "?", esc_service,
			esc_scope);
	curl_easy_reset(c->easy);
	easy_common(c, c->easy, &x, url);
	xfer_reset_response(&x);
	if (c->username) {
		r = realm_allows_credentials(c, ch->realm, err);
		if (r < 0)
			return r;
		curl_easy_setopt(c->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c->easy, CURLOPT_USERNAME, c->username);
		curl_easy_setopt(c->easy, CURLOPT_PASSWORD, c->password);
	}
	rc = curl_easy_perform(c->easy);
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &x.status);
	if (rc != CURLE_OK)
		r = x.too_big ? msb_err_set(err, MSB_ERR_SYSTEM, EPROTO, "the token service of registry %s sent more than %u bytes",
					    c->registry, REG_TOKEN_MAX)
			      : curl_error(c, &x, rc, "token request", err);
	else if (x.status == 401 || x.status == 403)
		r = auth_error(c, err);
	else if (x.status != 200)
		r = http_error(c, &x, "the token request", "the token service was not found", err);
	else
		r = token_from_json(c, &x.body, &token, err);
	curl_easy_reset(c->easy);
	xfer_release(&x);
	if (r < 0)
		return r;
	free(c->auth_header);
	c->auth_header = xasprintf("Authorization: Bearer %s", token);
	free(c->auth_repo);
	c->auth_repo = xstrdup(repository);
	c->auth_scheme = REG_AUTH_BEARER;
	c->auth_gen++;
	explicit_bzero(token, strlen(token));
	free(token);
	return 0;
}

/*
 * Answer a 401: parse @www_auth and set up the credential for @repository.
 * Return: 0 (retry the request), or an error.
 */
static int authenticate(struct reg_client *c, const struct buf *www_auth, const char *repository, msb_error *err)
{
	struct reg_challenge ch;
	int r;

	if (!www_auth->len)
		return auth_error(c, err);
	r = reg_challenge_parse(www_auth->data, www_auth->len, &ch, err);
	if (r < 0)
		return msb_err_wrap(err, "registry %s", c->registry);
	if (ch.scheme == REG_AUTH_BEARER)
		return bearer_fetch(c, &ch, repository, err);
	if (!c->username)
		return auth_error(c, err);
	free(c->auth_header);
	c->auth_header = basic_header(c->username, c->password);
	c->auth_scheme = REG_AUTH_BASIC;
	c->auth_gen++;
	return 0;
}

/*
 * After a 401 on a request sent with credential generation @gen: decide
 * whether to retry. Another request may have refreshed the credential
 * meanwhile (parallel blobs); otherwise authenticate once per request.
 */
static int on_unauthorized(struct reg_client *c, struct xfer *x, const char *repository, msb_error *err)
{
	if (x->auth_gen != c->auth_gen && auth_for(c, repository))
		return 0;
	if (x->auth_tries++ > 0)
		return auth_error(c, err);
	return authenticate(c, &x->www_auth, repository, err);
}

/* GET @url into memory, at most @max bytes, answering auth challenges. */
static int fetch_mem(struct reg_client *c, const char *url, const char *repository, const char *accept,
		     size_t max, struct xfer *x, const char *what, const char *what404, msb_error *err)
{
	CURLcode rc;
	int r;

	x->c = c;
	x->h = c->easy;
	x->max = max;
	x->fd = -1;
	for (;;) {
		curl_easy_reset(c->easy);
		xfer_setup(c, x, url, repository, accept);
		rc = curl_easy_perform(c->easy);
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &x->status);
		if (rc != CURLE_OK) {
			if (x->too_big)
				return msb_err_set(err, MSB_ERR_INVALID, 0, "%s from registry %s is larger than %zu bytes",
						   what, c->registry, max);
			return curl_error(c, x, rc, what, err);
		}
		if (x->status == 401) {
			r = on_unauthorized(c, x, repository, err);
			if (r < 0)
				return r;
			continue;
		}
		if (x->status != 200)
			return http_error(c, x, what, what404, err);
		return 0;
	}
}

/* ---- public: client ---- */

static int read_ca_file(struct reg_client *c, const char *path, msb_error *err)
{
	size_t len = 0;
	BIO *bio;
	X509 *cert;
	int n = 0;

	c->ca_pem = util_read_file_at(AT_FDCWD, path, 4u << 20, &len);
	if (!c->ca_pem)
		return msb_err_sys(err, errno, "cannot read the registry CA file %s", path);
	bio = BIO_new_mem_buf(c->ca_pem, (int)len);
	if (!bio)
		abort();
	while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		X509_free(cert);
		n++;
	}
	BIO_free(bio);
	if (n == 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "registry CA file %s holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)",
				   path);
	return 0;
}

/* Host and port of @c->base, for comparing with token realms and for messages. */
static int split_base(struct reg_client *c, msb_error *err)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	int r = 0;

	if (!u)
		abort();
	if (curl_url_set(u, CURLUPART_URL, c->base, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		r = msb_err_set(err, MSB_ERR_INVALID, 0, "invalid registry \"%s\": expected host[:port]", c->registry);
	else {
		c->host = xstrdup(host);
		c->port = atol(port);
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return r;
}

int reg_client_new(const struct reg_opts *o, struct reg_client **out, msb_error *err)
{
	struct reg_client *c;
	int r;

	*out = NULL;
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return msb_err_set(err, MSB_ERR_SYSTEM, 0, "cannot initialise libcurl: %s",
				   curl_easy_strerror(curl_init_rc));
	if (o->parallel < 0 || o->parallel > REG_PARALLEL_MAX)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "parallel downloads must be between 1 and %d, not %d",
				   REG_PARALLEL_MAX, o->parallel);
	if (!o->username != !o->password)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "registry credentials need both a username and a password");
	c = xcalloc(1, sizeof(*c));
	c->base = reg_base_url(o->registry, o->insecure, err);
	if (!c->base) {
		reg_client_free(c);
		return -MSB_ERR_INVALID;
	}
	c->registry = xstrdup(o->registry);
	c->insecure = o->insecure;
	c->username = o->username ? xstrdup(o->username) : NULL;
	c->password = o->password ? xstrdup(o->password) : NULL;
	c->user_agent = xstrdup(o->user_agent ? o->user_agent : "msb");
	c->parallel = o->parallel ? o->parallel : REG_PARALLEL_DEFAULT;
	c->progress = o->progress;
	c->progress_arg = o->progress_arg;
	r = split_base(c, err);
	if (r == 0 && o->ca_file) {
		c->ca_file = xstrdup(o->ca_file);
		r = read_ca_file(c, o->ca_file, err);
	}
	if (r == 0 && !(c->easy = curl_easy_init()))
		r = msb_err_set(err, MSB_ERR_SYSTEM, 0, "cannot create a libcurl handle");
	if (r < 0) {
		reg_client_free(c);
		return r;
	}
	*out = c;
	return 0;
}

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void reg_client_free(struct reg_client *c)
{
	if (!c)
		return;
	if (c->easy)
		curl_easy_cleanup(c->easy);
	free(c->registry);
	free(c->base);
	free(c->host);
	free(c->ca_file);
	free(c->ca_pem);
	free(c->username);
	free_secret(c->password);
	free_secret(c->auth_header);
	free(c->auth_repo);
	free(c->user_agent);
	free(c);
}

/* ---- public: manifests and small blobs ---- */

int reg_get_manifest(struct reg_client *c, const char *repository, const char *reference, char **body,
		     size_t *len, char **content_type, char digest[IMG_DIGEST_LEN + 1], msb_error *err)
{
	struct xfer x = {0};
	_cleanup_free_ char *url = reg_url(c->base, repository, "manifests", reference, err);
	_cleanup_free_ char *what = NULL, *what404 = NULL;
	int r;

	*body = NULL;
	*len = 0;
	if (content_type)
		*content_type = NULL;
	if (!url)
		return -MSB_ERR_INVALID;
	what = xasprintf("manifest %s%s%s", repository, img_digest_valid(reference) ? "@" : ":", reference);
	what404 = xasprintf("image not found in registry %s: %s%s%s", c->registry, repository,
			    img_digest_valid(reference) ? "@" : ":", reference);
	r = fetch_mem(c, url, repository, ACCEPT_MANIFESTS, IMG_MANIFEST_MAX, &x, what, what404, err);
	if (r == 0) {
		sha256_mem(x.body.data ? x.body.data : "", x.body.len, digest);
		if (img_digest_valid(reference) && strcmp(reference, digest) != 0)
			r = msb_err_set(err, MSB_ERR_INVALID, 0,
					"%s: registry %s sent a manifest with digest %s instead of the requested %s",
					what, c->registry, digest, reference);
	}
	if (r == 0) {
		buf_append(&x.body, "", 1);
		*len = x.body.len - 1;
		*body = steal_ptr(&x.body.data);
		if (content_type)
			*content_type = x.content_type ? steal_ptr(&x.content_type) : xstrdup("");
	}
	xfer_release(&x);
	return r;
}

static int desc_check(const struct img_descriptor *d, int64_t max, msb_error *err)
{
	if (!d || img_digest_check(d->digest, err) < 0)
		return -MSB_ERR_INVALID;
	if (d->size < 0 || d->size > max)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "blob %s: size %lld is out of range (0..%lld)", d->digest,
				   (long long)d->size, (long long)max);
	return 0;
}

int reg_get_blob_mem(struct reg_client *c, const char *repository, const struct img_descriptor *desc,
		     size_t max_len, char **body, size_t *len, msb_error *err)
{
	struct xfer x = {0};
	_cleanup_free_ char *url = NULL, *what = NULL, *what404 = NULL;
	char got[IMG_DIGEST_LEN + 1];
	int r;

	*body = NULL;
	*len = 0;
	if (desc_check(desc, (int64_t)max_len, err) < 0)
		return -MSB_ERR_INVALID;
	url = reg_url(c->base, repository, "blobs", desc->digest, err);
	if (!url)
		return -MSB_ERR_INVALID;
	what = xasprintf("blob %s of %s", desc->digest, repository);
	what404 = xasprintf("blob %s of %s not found in registry %s", desc->digest, repository, c->registry);
	/* one byte more than the descriptor says, so a longer body is seen as such */
	r = fetch_mem(c, url, repository, NULL, (size_t)desc->size + 1, &x, what, what404, err);
	if (r == -MSB_ERR_INVALID && x.too_big)
		r = msb_err_set(err, MSB_ERR_INVALID, 0, "%s: registry %s sent more than the %lld bytes the descriptor says",
				what, c->registry, (long long)desc->size);
	else if (r == 0 && x.body.len != (size_t)desc->size)
		r = msb_err_set(err, MSB_ERR_INVALID, 0, "%s: registry %s sent %zu bytes, the descriptor says %lld",
				what, c->registry, x.body.len, (long long)desc->size);
	if (r == 0) {
		sha256_mem(x.body.data ? x.body.data : "", x.body.len, got);
		if (strcmp(got, desc->digest) != 0)
			r = msb_err_set(err, MSB_ERR_INVALID, 0, "%s: digest mismatch: expected %s, got %s", what,
					desc->digest, got);
	}
	if (r == 0) {
		buf_append(&x.body, "", 1);
		*len = x.body.len - 1;
		*body = steal_ptr(&x.body.data);
	}
	xfer_release(&x);
	return r;
}

/* ---- public: blobs into files ---- */

/* What a blob transfer holds beyond the exchange; fields of struct xfer do the streaming. */
struct blobs {
	struct reg_client *c;
	const char *repository;
	const struct img_descriptor *descs;
	int dirfd;
	const char *const *part_names;
	const char *const *final_names;
	struct xfer *xs;
	CURLM *multi;
};

/* Hash the bytes already in the part file into @x->md. */
static int rehash_part(struct xfer *x, int64_t have)
{
	char chunk[1 << 16];
	int64_t off = 0;

	md_reset(x->md);
	while (off < have) {
		size_t want = (size_t)(have - off < (int64_t)sizeof(chunk) ? have - off : (int64_t)sizeof(chunk));
		ssize_t n = pread(x->fd, chunk, want, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		if (!EVP_DigestUpdate(x->md, chunk, (size_t)n))
			abort();
		off += n;
	}
	return 0;
}

/* fsync the part file and give it its final name. */
static int blob_finish(struct blobs *b, struct xfer *x, msb_error *err)
{
	size_t i = x->index;

	if (fsync(x->fd) < 0)
		return msb_err_sys(err, errno, "cannot sync %s", b->part_names[i]);
	if (renameat(b->dirfd, b->part_names[i], b->dirfd, b->final_names[i]) < 0)
		return msb_err_sys(err, errno, "cannot rename %s to %s", b->part_names[i], b->final_names[i]);
	if (b->c->progress)
		b->c->progress(b->c->progress_arg, (int)i, (uint64_t)x->done, (uint64_t)x->size);
	return 0;
}

/* Check a finished download; on a mismatch remove the part file. */
static int blob_verify(struct blobs *b, struct xfer *x, msb_error *err)
{
	const struct img_descriptor *d = &b->descs[x->index];
	char got[IMG_DIGEST_LEN + 1];

	if (x->done != x->size) {
		unlinkat(b->dirfd, b->part_names[x->index], 0);
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "blob %s of %s: registry %s sent %lld bytes, the descriptor says %lld; the partial "
				   "download was removed",
				   d->digest, b->repository, b->c->registry, (long long)x->done, (long long)x->size);
	}
	md_final(x->md, got);
	if (strcmp(got, d->digest) != 0) {
		unlinkat(b->dirfd, b->part_names[x->index], 0);
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "blob %s of %s: digest mismatch: expected %s, got %s; the corrupt download was removed",
				   d->digest, b->repository, d->digest, got);
	}
	return blob_finish(b, x, err);
}

/*
 * Open (or reopen) blob @x's part file and queue its request.
 * Return: 0 queued, 1 already complete (verified and renamed), or an error.
 */
static int blob_start(struct blobs *b, struct xfer *x, msb_error *err)
{
	const struct img_descriptor *d = &b->descs[x->index];
	const char *part = b->part_names[x->index];
	_cleanup_free_ char *url = NULL, *range = NULL;
	struct stat st;
	int r;

	if (x->fd < 0) {
		x->fd = openat(b->dirfd, part, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (x->fd < 0)
			return msb_err_sys(err, errno, "cannot open %s", part);
	}
	if (fstat(x->fd, &st) < 0)
		return msb_err_sys(err, errno, "cannot stat %s", part);
	x->size = d->size;
	x->offset = st.st_size <= d->size ? st.st_size : 0;
	if (st.st_size > d->size && ftruncate(x->fd, 0) < 0)
		return msb_err_sys(err, errno, "cannot truncate %s", part);
	r = rehash_part(x, x->offset);
	if (r < 0)
		return msb_err_sys(err, -r, "cannot read %s", part);
	x->done = x->offset;
	if (x->offset == x->size) {
		EVP_MD_CTX *copy = EVP_MD_CTX_new();
		char got[IMG_DIGEST_LEN + 1];
		if (!copy || !EVP_MD_CTX_copy_ex(copy, x->md))
			abort();
		md_final(copy, got);
		EVP_MD_CTX_free(copy);
		if (strcmp(got, d->digest) == 0)
			return blob_finish(b, x, err) < 0 ? -err->code : 1;
		/* complete but wrong: start over */
		if (ftruncate(x->fd, 0) < 0)
			return msb_err_sys(err, errno, "cannot truncate %s", part);
		md_reset(x->md);
		x->offset = x->done = 0;
	}
	url = reg_url(b->c->base, b->repository, "blobs", d->digest, err);
	if (!url)
		return -MSB_ERR_INVALID;
	if (x->offset > 0)
		range = xasprintf("Range: bytes=%lld-", (long long)x->offset);
	if (!x->h && !(x->h = curl_easy_init()))
		return msb_err_set(err, MSB_ERR_SYSTEM, 0, "cannot create a libcurl handle");
	curl_easy_reset(x->h);
	xfer_setup(b->c, x, url, b->repository, range);
	if (curl_multi_add_handle(b->multi, x->h) != CURLM_OK)
		return msb_err_set(err, MSB_ERR_SYSTEM, 0, "cannot queue the download of blob %s", d->digest);
	return 0;
}

/*
 * A transfer ended. Return: 0 done (verified and renamed), 1 to be restarted
 * (after authenticating), or an error.
 */
static int blob_done(struct blobs *b, struct xfer *x, CURLcode rc, msb_error *err)
{
	const struct img_descriptor *d = &b->descs[x->index];
	_cleanup_free_ char *what = xasprintf("blob %s of %s", d->digest, b->repository);
	int r;

	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->overflow) {
		unlinkat(b->dirfd, b->part_names[x->index], 0);
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "%s: registry %s sent more than the %lld bytes the descriptor says; the download was "
				   "removed",
				   what, b->c->registry, (long long)x->size);
	}
	if (x->write_errno)
		return msb_err_sys(err, x->write_errno, "cannot write %s", b->part_names[x->index]);
	if (x->bad_range)
		return msb_err_set(err, MSB_ERR_SYSTEM, EPROTO,
				   "%s: registry %s answered a resume from byte %lld with another range", what,
				   b->c->registry, (long long)x->offset);
	if (rc != CURLE_OK)
		return curl_error(b->c, x, rc, what, err);
	if (x->status == 401) {
		r = on_unauthorized(b->c, x, b->repository, err);
		return r < 0 ? r : 1;
	}
	if (x->status != 200 && x->status != 206) {
		_cleanup_free_ char *what404 =
			xasprintf("blob %s of %s not found in registry %s", d->digest, b->repository, b->c->registry);
		return http_error(b->c, x, what, what404, err);
	}
	return blob_verify(b, x, err);
}

/* Report progress of running transfers whose byte count moved. */
static void blobs_progress(struct blobs *b, size_t n)
{
	size_t i;

	if (!b->c->progress)
		return;
	for (i = 0; i < n; i++) {
		struct xfer *x = &b->xs[i];
		if (x->h && x->done != x->reported) {
			x->reported = x->done;
			b->c->progress(b->c->progress_arg, (int)i, (uint64_t)x->done, (uint64_t)x->size);
		}
	}
}

/* Collect finished transfers; restart those that only needed auth. Return: transfers still active. */
static int blobs_reap(struct blobs *b, int *active, msb_error *err)
{
	CURLMsg *msg;
	int left, r;

	while ((msg = curl_multi_info_read(b->multi, &left))) {
		struct xfer *x = NULL;
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		CURLcode rc = msg->data.result;
		curl_multi_remove_handle(b->multi, x->h);
		(*active)--;
		r = blob_done(b, x, rc, err);
		if (r == 1) {
			r = blob_start(b, x, err);
			if (r == 0)
				(*active)++;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int blobs_run(struct blobs *b, size_t n, msb_error *err)
{
	size_t next = 0;
	int active = 0, running = 0, r = 0;

	while (next < n || active > 0) {
		while (next < n && active < b->c->parallel) {
			r = blob_start(b, &b->xs[next++], err);
			if (r < 0)
				return r;
			if (r == 0)
				active++;
		}
		if (curl_multi_perform(b->multi, &running) != CURLM_OK)
			return msb_err_set(err, MSB_ERR_SYSTEM, 0, "libcurl multi transfer failed");
		r = blobs_reap(b, &active, err);
		if (r < 0)
			return r;
		blobs_progress(b, n);
		if (running > 0 && curl_multi_poll(b->multi, NULL, 0, 1000, NULL) != CURLM_OK)
			return msb_err_set(err, MSB_ERR_SYSTEM, 0, "libcurl multi poll failed");
	}
	if (fsync(b->dirfd) < 0 && errno != EINVAL)
		return msb_err_sys(err, errno, "cannot sync the download directory");
	return 0;
}

int reg_get_blobs(struct reg_client *c, const char *repository, const struct img_descriptor *descs, size_t n,
		  int dirfd, const char *const *part_names, const char *const *final_names, msb_error *err)
{
	struct blobs b = {.c = c, .repository = repository, .descs = descs, .dirfd = dirfd,
			  .part_names = part_names, .final_names = final_names};
	size_t i;
	int r = 0;

	for (i = 0; i < n; i++) {
		size_t k;
		if (desc_check(&descs[i], IMG_LAYER_SIZE_MAX, err) < 0)
			return -MSB_ERR_INVALID;
		for (k = 0; k < i; k++) /* two transfers must never append to one part file */
			if (part_names[k] && part_names[i] && strcmp(part_names[k], part_names[i]) == 0)
				return msb_err_set(err, MSB_ERR_INVALID, 0,
						   "blobs %zu and %zu share the part file %s; pass each blob once", k, i,
						   part_names[i]);
		if (!part_names[i] || !final_names[i] || !*part_names[i] || !*final_names[i] ||
		    strcmp(part_names[i], final_names[i]) == 0)
			return msb_err_set(err, MSB_ERR_INVALID, 0, "blob %s: part and final file names must differ",
					   descs[i].digest);
	}
	if (n == 0)
		return 0;
	b.multi = curl_multi_init();
	if (!b.multi)
		return msb_err_set(err, MSB_ERR_SYSTEM, 0, "cannot create a libcurl multi handle");
	b.xs = xcalloc(n, sizeof(*b.xs));
	for (i = 0; i < n; i++) {
		b.xs[i] = (struct xfer){.c = c, .fd = -1, .index = i, .to_file = true, .reported = -1};
		if (!(b.xs[i].md = EVP_MD_CTX_new()))
			abort();
	}
	r = blobs_run(&b, n, err);
	for (i = 0; i < n; i++) {
		struct xfer *x = &b.xs[i];
		if (x->h) {
			curl_multi_remove_handle(b.multi, x->h);
			curl_easy_cleanup(x->h);
		}
		if (x->fd >= 0)
			close(x->fd);
		EVP_MD_CTX_free(x->md);
		xfer_release(x);
	}
	free(b.xs);
	curl_multi_cleanup(b.multi);
	return r;
}
