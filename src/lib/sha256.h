/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sha256.h - a small, dependency-free SHA-256 (FIPS 180-4).
 *
 * Used where a stable digest of a short string is part of a name or a path
 * (the hostname derived from a long sandbox name, the per-sandbox run
 * directory), so that agentd and the parsers need neither OpenSSL nor any
 * other library. It is not meant for bulk hashing of image blobs; those go
 * through the image store's own verifier.
 */
#ifndef MSB_SHA256_H
#define MSB_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_BLOCK_LEN  64

struct sha256_ctx {
	uint32_t h[8];
	uint64_t total; /* bytes hashed so far */
	uint8_t buf[SHA256_BLOCK_LEN];
	size_t buf_len;
};

void sha256_init(struct sha256_ctx *ctx);
void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len);
/* Finish and write the digest; @ctx must be re-initialised before reuse. */
void sha256_final(struct sha256_ctx *ctx, uint8_t out[SHA256_DIGEST_LEN]);

/* One-shot digest of @len bytes at @data. */
void sha256_digest(const void *data, size_t len, uint8_t out[SHA256_DIGEST_LEN]);
/* One-shot digest as 64 lowercase hex characters plus NUL. */
void sha256_hex(const void *data, size_t len, char out[2 * SHA256_DIGEST_LEN + 1]);

#endif
