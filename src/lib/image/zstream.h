/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zstream.h - the decompress-and-hash stage of layer extraction.
 *
 * A layer blob is read, decompressed (gzip, zstd or none, by libarchive's
 * filters), counted against a byte limit and hashed with SHA-256 in a
 * thread of its own, so decompression overlaps with the file-system work of
 * the extractor on another core. The consumer takes the uncompressed stream
 * in blocks of up to 1 MiB, without copying, through img_zstream_read(),
 * whose contract matches a libarchive read callback.
 */
#ifndef MSB_IMAGE_ZSTREAM_H
#define MSB_IMAGE_ZSTREAM_H

#include <stdint.h>
#include <sys/types.h>

#include "image/manifest.h"
#include "msb.h"

struct img_zstream;

/**
 * img_zstream_open() - start decompressing @fd.
 * @out: receives the stream; free with img_zstream_free()
 * @fd: the compressed blob, read sequentially to its end (borrowed; must stay open until free)
 * @compression: enum img_compression; the blob must really be in that format
 * @max_bytes: the uncompressed stream may not be longer
 * @err: error out
 *
 * Return: 0, -MSB_ERR_INVALID (not in the declared format),
 * -MSB_ERR_UNSUPPORTED (libarchive lacks the filter) or -MSB_ERR_SYSTEM.
 */
int img_zstream_open(struct img_zstream **out, int fd, int compression, uint64_t max_bytes, msb_error *err);

/**
 * img_zstream_read() - the next block of the uncompressed stream.
 * @z: the stream
 * @buf: receives a pointer valid until the next call or img_zstream_free()
 *
 * Return: bytes (> 0), 0 at the end, -1 on a read, decompression or limit
 * error (see img_zstream_error()). Only ever called from one thread.
 */
ssize_t img_zstream_read(struct img_zstream *z, const void **buf);

/**
 * img_zstream_error() - why img_zstream_read() returned -1.
 * @z: the stream
 *
 * Return: a message ("decompressing: ...", "... exceeds max_total_bytes ..."), or "" when there was none.
 */
const char *img_zstream_error(struct img_zstream *z);

/**
 * img_zstream_finish() - read the rest of the stream and report its digest.
 * @z: the stream
 * @diff_id: receives "sha256:<hex>" of every uncompressed byte
 * @bytes: receives the uncompressed length
 * @err: error out, when the rest could not be read
 *
 * Return: 0 or -MSB_ERR_INVALID.
 */
int img_zstream_finish(struct img_zstream *z, char diff_id[IMG_DIGEST_LEN + 1], uint64_t *bytes, msb_error *err);

/**
 * img_zstream_free() - stop the reader thread (if still running) and free @z. NULL is fine.
 * @z: the stream (taken)
 */
void img_zstream_free(struct img_zstream *z);

#endif
