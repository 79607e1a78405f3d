/* SPDX-License-Identifier: Apache-2.0 */
/*
 * imgstore.h - the local image store under $MSB_HOME/images.
 *
 * Layout (docs/images.md):
 *   refs/<sha256 of the canonical reference>.json  reference -> manifest digest
 *   manifests/<manifest hex>.json                  the image record: config,
 *                                                  layers, raw manifest/config
 *   layers/<diff_id hex>/                          an unpacked layer (overlay lower dir)
 *   tmp/                                           downloads and unpacks in progress
 *   locks/                                         flock files
 *
 * Every file is written under a temporary name and renamed into place, and a
 * layer directory is renamed to its final name only after its content hashed
 * to its diff_id: whatever a crash leaves behind is either complete and
 * verified or sits in tmp/ where nothing looks. Records are immutable
 * (content-addressed) except the small ref files. This part has no network
 * and no archive code: it links into the static msb binary.
 */
#ifndef MSB_IMAGE_IMGSTORE_H
#define MSB_IMAGE_IMGSTORE_H

#include <jansson.h>
#include <stdbool.h>

#include "store.h"

#define IMGSTORE_DIR "images"

/**
 * imgstore_open() - create the store's directories if needed and open them.
 * @ctx: the msb home
 * @err: error out
 *
 * Return: an O_DIRECTORY fd of $MSB_HOME/images (caller closes), or -MSB_ERR_*.
 */
int imgstore_open(struct msb_ctx *ctx, msb_error *err);

/**
 * imgstore_lock() - take a flock on locks/<kind>-<key>.lock.
 * @images_fd: from imgstore_open()
 * @kind, @key: what is locked, e.g. "ref" + hash, "layer" + diff_id hex
 * @op: LOCK_EX or LOCK_SH. Pulls hold "store-pull" shared for their whole
 *      run; garbage collection takes it exclusively, so it never deletes a
 *      layer a pull has just unpacked but not yet recorded.
 * @err: error out
 *
 * Blocks until the lock is free. Return: the lock fd (close to release) or -MSB_ERR_*.
 */
int imgstore_lock(int images_fd, const char *kind, const char *key, int op, msb_error *err);

/* "sha256:<hex>" -> "<hex>" (the input when it has no prefix). */
const char *imgstore_hex(const char *digest);

/* Does record @rec answer to pin @digest (its manifest or index digest)? true when @digest is NULL. */
bool imgstore_pin_matches(const json_t *rec, const char *digest);

/**
 * imgstore_find() - look up a cached image by reference.
 * @ctx: the msb home
 * @text: the reference as typed ("python", "localhost:5000/x:1", "x@sha256:...")
 * @canonical_out: receives the canonical reference (malloc'd), may be NULL
 * @rec_out: receives the image record (json_decref it)
 * @err: error out; MSB_ERR_NOT_FOUND "image not found: <ref>" when absent or
 *       incomplete (a layer missing) or when @text pins a digest the stored
 *       image does not have, MSB_ERR_INVALID for a bad reference
 *
 * Return: 0 or -MSB_ERR_*.
 */
int imgstore_find(struct msb_ctx *ctx, const char *text, char **canonical_out, json_t **rec_out, msb_error *err);

/* Is layer @diff_id ("sha256:<hex>") unpacked in the store? (Only complete, verified layers have a name there.) */
bool imgstore_has_layer(int images_fd, const char *diff_id);

/* Is the record's every layer unpacked? */
bool imgstore_complete(int images_fd, const json_t *rec);

/**
 * imgstore_put() - store an image record and point @canonical at it.
 * @images_fd: from imgstore_open()
 * @canonical: the canonical reference
 * @rec: the record (needs "manifest_digest"); written to manifests/ first
 * @err: error out
 *
 * Return: 0 or -MSB_ERR_*.
 */
int imgstore_put(int images_fd, const char *canonical, const json_t *rec, msb_error *err);

/* Path of layer @diff_id's directory (malloc'd): $MSB_HOME/images/layers/<hex>. */
char *imgstore_layer_path(struct msb_ctx *ctx, const char *diff_id);

/* Every reference in the store: an array of {"reference", "manifest_digest", "created_at"}. */
json_t *imgstore_refs(int images_fd);

/* The record of manifest @digest, or NULL. */
json_t *imgstore_record(int images_fd, const char *digest);

/* Remove the ref file of @canonical. 0 or -errno. */
int imgstore_unref(int images_fd, const char *canonical);

/**
 * imgstore_gc() - delete manifests no reference points at, and layers no
 * remaining manifest uses (nor a sandbox config in @keep_layers, an object
 * whose keys are diff_id hexes).
 * @ctx, @images_fd: the store
 * @keep_layers: layers to keep regardless, may be NULL
 * @removed: receives the number of layers removed, may be NULL
 *
 * Return: 0 or -MSB_ERR_*.
 */
int imgstore_gc(struct msb_ctx *ctx, int images_fd, const json_t *keep_layers, size_t *removed, msb_error *err);

#endif
