/* SPDX-License-Identifier: Apache-2.0 */
/*
 * install.h - putting verified image content into the store; shared by
 * pull.c and archive.c (the parts of libmsb that need libarchive/libcurl).
 */
#ifndef MSB_IMAGE_INSTALL_H
#define MSB_IMAGE_INSTALL_H

#include <jansson.h>
#include <stdbool.h>

#include "image/manifest.h"
#include "msb.h"

/**
 * img_layer_install() - unpack a layer blob into layers/<diff_id hex>.
 * @images_fd: the store (imgstore_open)
 * @blob_fd: the blob, read from its current offset to the end
 * @compression: enum img_compression
 * @diff_id: what the uncompressed stream must hash to
 * @err: error out
 *
 * Unpacks into tmp/ as the owner the store needs (root: the image's ids;
 * rootless: inside a user namespace with the sandbox map), syncs, renames
 * into place. A layer already present is left alone. Return: 0 or -MSB_ERR_*.
 */
int img_layer_install(int images_fd, int blob_fd, int compression, const char *diff_id, msb_error *err);

/**
 * img_as_store_owner() - run @fn as the owner of the store's layer files.
 * @fn: the job; @owners says whether it may set (unpack) or record (pack) file owners
 * @arg, @size: the job's argument block; copied to memory shared with the
 *              child that runs @fn when that is needed, and copied back
 * @err: error out, @fn's own error when it failed
 *
 * As root, or rootless without subordinate ids, @fn runs here. Rootless with
 * subordinate ids, it runs in a child that is root of a user namespace with
 * the sandboxes' id map (fds in @arg stay valid there).
 *
 * Return: @fn's result, or -MSB_ERR_*.
 */
int img_as_store_owner(int (*fn)(void *arg, bool owners, msb_error *err), void *arg, size_t size, msb_error *err);

/* The image record imgstore_put() stores (see docs/images.md). */
json_t *img_record_new(const char *manifest_digest, const char *raw_manifest, size_t manifest_len,
		       const char *raw_config, size_t config_len, const struct img_manifest *m,
		       const struct img_config *c);

#endif
