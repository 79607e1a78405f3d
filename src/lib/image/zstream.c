// SPDX-License-Identifier: Apache-2.0
/*
 * zstream.c - decompress and hash a layer blob in a thread of its own.
 *
 * Theory of Operation
 *
 * libarchive with the "raw" format and one decompression filter turns the
 * blob into its uncompressed bytes. A producer thread copies those bytes
 * into a ring of ZS_NBUF buffers of ZS_BUFSZ bytes, counting and hashing
 * them on the way, and the consumer (the tar reader's read callback) takes
 * one full buffer at a time. The buffer the consumer was last given stays
 * its own until it asks for the next one, which is exactly the lifetime a
 * libarchive read callback must guarantee. gzip decompression costs about as
 * much CPU as writing the files, so the two overlap on two cores (like
 * `tar -xzf`, whose gzip runs in another process).
 *
 * One mutex and one condition variable guard the ring indexes and the
 * done/stop flags; the buffers themselves are touched outside the lock,
 * each by the side that owns it. A producer error (read, decompression,
 * limit) is recorded, and reported to the consumer after it has taken the
 * buffers filled before it. img_zstream_free() sets stop, wakes the
 * producer and joins it, whatever state either side is in.
 */
#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>

#include "image/zstream.h"
#include "util.h"

#define ZS_READ_BLOCK (1u << 20) /* bytes per read(2) of the compressed blob */
#define ZS_BUFSZ      (1u << 20)
#define ZS_NBUF       4

struct img_zstream {
	struct archive *raw;
	EVP_MD_CTX *md;
	uint64_t bytes, max_bytes; /* producer only (read by the consumer after the join) */
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	size_t len[ZS_NBUF];
	unsigned head, tail; /* filled by the producer: head - tail buffers, at tail % ZS_NBUF first */
	bool held;           /* the consumer holds buffer tail % ZS_NBUF */
	bool done, stop;
	char error[512]; /* written by the producer before done is set */
	char *buf[ZS_NBUF];
};

static const char *zs_comp_name(int compression)
{
	return compression == IMG_COMP_GZIP ? "gzip" : compression == IMG_COMP_ZSTD ? "zstd" : "none";
}

/* Fill @dst with up to ZS_BUFSZ bytes; @pend and @npend carry over a block that did not fit. */
static size_t zs_fill(struct img_zstream *z, char *dst, const char **pend, size_t *npend, bool *end)
{
	size_t got = 0;

	while (got < ZS_BUFSZ && !*end) {
		if (*npend == 0) {
			const void *p;
			la_int64_t off;
			int r = archive_read_data_block(z->raw, &p, npend, &off);
			if (r == ARCHIVE_EOF) {
				*end = true;
				break;
			}
			if (r < ARCHIVE_WARN) {
				snprintf(z->error, sizeof(z->error), "decompressing: %s", archive_error_string(z->raw));
				*end = true;
				break;
			}
			*pend = p;
			if (z->bytes + *npend > z->max_bytes) {
				snprintf(z->error, sizeof(z->error),
					 "uncompressed layer exceeds max_total_bytes (%llu): more than %llu bytes read",
					 (unsigned long long)z->max_bytes, (unsigned long long)z->bytes);
				*end = true;
				break;
			}
			z->bytes += *npend;
			EVP_DigestUpdate(z->md, p, *npend);
		}
		size_t n = *npend < ZS_BUFSZ - got ? *npend : ZS_BUFSZ - got;
		memcpy(dst + got, *pend, n);
		got += n;
		*pend += n;
		*npend -= n;
	}
	return got;
}

static void *zs_producer(void *arg)
{
	struct img_zstream *z = arg;
	const char *pend = NULL;
	size_t npend = 0;
	bool end = false;

	while (!end) {
		unsigned slot;
		pthread_mutex_lock(&z->mu);
		while (z->head - z->tail == ZS_NBUF && !z->stop)
			pthread_cond_wait(&z->cv, &z->mu);
		slot = z->head % ZS_NBUF;
		end = z->stop;
		pthread_mutex_unlock(&z->mu);
		if (end)
			break;
		size_t n = zs_fill(z, z->buf[slot], &pend, &npend, &end);
		pthread_mutex_lock(&z->mu);
		if (n) {
			z->len[slot] = n;
			z->head++;
		}
		pthread_cond_broadcast(&z->cv);
		pthread_mutex_unlock(&z->mu);
	}
	pthread_mutex_lock(&z->mu);
	z->done = true;
	pthread_cond_broadcast(&z->cv);
	pthread_mutex_unlock(&z->mu);
	return NULL;
}

/* Set up libarchive on @fd and check that the blob is in the declared format. */
static int zs_open_archive(struct img_zstream *z, int fd, int compression, msb_error *err)
{
	struct archive_entry *ae;
	int r, want = ARCHIVE_FILTER_NONE;

	if (compression == IMG_COMP_GZIP) {
		want = ARCHIVE_FILTER_GZIP;
		r = archive_read_support_filter_gzip(z->raw);
	} else if (compression == IMG_COMP_ZSTD) {
		want = ARCHIVE_FILTER_ZSTD;
		r = archive_read_support_filter_zstd(z->raw);
	} else if (compression == IMG_COMP_NONE) {
		r = ARCHIVE_OK;
	} else {
		return msb_err_set(err, MSB_ERR_INVALID, 0, "unknown layer compression %d", compression);
	}
	if (r < ARCHIVE_WARN || archive_read_support_format_raw(z->raw) != ARCHIVE_OK)
		return msb_err_set(err, MSB_ERR_UNSUPPORTED, 0, "libarchive cannot read %s: %s",
				   zs_comp_name(compression), archive_error_string(z->raw));
	if (archive_read_open_fd(z->raw, fd, ZS_READ_BLOCK) != ARCHIVE_OK)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "reading layer: %s", archive_error_string(z->raw));
	if (archive_filter_code(z->raw, 0) != want)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "layer is not %s-compressed (found %s)",
				   zs_comp_name(compression), archive_filter_name(z->raw, 0));
	r = archive_read_next_header(z->raw, &ae);
	if (r == ARCHIVE_EOF)
		z->done = true; /* an empty blob: the producer has nothing to do */
	else if (r < ARCHIVE_WARN)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "reading layer: %s", archive_error_string(z->raw));
	return 0;
}

int img_zstream_open(struct img_zstream **out, int fd, int compression, uint64_t max_bytes, msb_error *err)
{
	struct img_zstream *z = xcalloc(1, sizeof(*z));
	int r;

	*out = NULL;
	z->max_bytes = max_bytes;
	z->raw = archive_read_new();
	z->md = EVP_MD_CTX_new();
	if (!z->raw || !z->md || EVP_DigestInit_ex(z->md, EVP_sha256(), NULL) != 1)
		abort();
	pthread_mutex_init(&z->mu, NULL);
	pthread_cond_init(&z->cv, NULL);
	for (int i = 0; i < ZS_NBUF; i++)
		z->buf[i] = xmalloc(ZS_BUFSZ);
	r = zs_open_archive(z, fd, compression, err);
	if (r == 0 && !z->done) {
		r = pthread_create(&z->thread, NULL, zs_producer, z);
		if (r != 0)
			r = msb_err_sys(err, r, "starting the decompression thread");
		z->started = r == 0;
	}
	if (r < 0) {
		img_zstream_free(z);
		return r;
	}
	*out = z;
	return 0;
}

ssize_t img_zstream_read(struct img_zstream *z, const void **buf)
{
	ssize_t n;

	pthread_mutex_lock(&z->mu);
	if (z->held) {
		z->tail++;
		z->held = false;
		pthread_cond_broadcast(&z->cv);
	}
	while (z->head == z->tail && !z->done)
		pthread_cond_wait(&z->cv, &z->mu);
	if (z->head == z->tail) {
		n = z->error[0] ? -1 : 0;
	} else {
		unsigned slot = z->tail % ZS_NBUF;
		*buf = z->buf[slot];
		n = (ssize_t)z->len[slot];
		z->held = true;
	}
	pthread_mutex_unlock(&z->mu);
	return n;
}

const char *img_zstream_error(struct img_zstream *z)
{
	bool done;

	pthread_mutex_lock(&z->mu);
	done = z->done;
	pthread_mutex_unlock(&z->mu);
	return done ? z->error : "";
}

/* Stop and join the producer; afterwards every field is the caller's. */
static void zs_join(struct img_zstream *z)
{
	if (!z->started)
		return;
	pthread_mutex_lock(&z->mu);
	z->stop = true;
	pthread_cond_broadcast(&z->cv);
	pthread_mutex_unlock(&z->mu);
	pthread_join(z->thread, NULL);
	z->started = false;
}

int img_zstream_finish(struct img_zstream *z, char diff_id[IMG_DIGEST_LEN + 1], uint64_t *bytes, msb_error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	const void *buf;
	ssize_t n;
	char *p;

	while ((n = img_zstream_read(z, &buf)) > 0)
		;
	zs_join(z);
	if (n < 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "%s", z->error);
	EVP_DigestFinal_ex(z->md, md, &mdlen);
	p = diff_id + sprintf(diff_id, "sha256:");
	for (unsigned i = 0; i < mdlen; i++)
		p += sprintf(p, "%02x", md[i]);
	*bytes = z->bytes;
	return 0;
}

void img_zstream_free(struct img_zstream *z)
{
	if (!z)
		return;
	zs_join(z);
	archive_read_free(z->raw);
	EVP_MD_CTX_free(z->md);
	for (int i = 0; i < ZS_NBUF; i++)
		free(z->buf[i]);
	pthread_mutex_destroy(&z->mu);
	pthread_cond_destroy(&z->cv);
	free(z);
}
