/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ref.h - image references in the docker/distribution grammar.
 *
 * A reference names an image in a registry: `python`, `ghcr.io/org/tool:1.2`,
 * `localhost:5000/x@sha256:...`. This module turns the text a user (or an
 * image archive) gave into its parts and its canonical spelling
 * (`docker.io/library/python:latest`), rejecting anything the grammar does not
 * allow with a message that quotes the bad part. It also tells a local rootfs
 * path (`./rootfs`, `/srv/img.qcow2`) apart from a reference. Pure: no I/O.
 */
#ifndef MSB_IMAGE_REF_H
#define MSB_IMAGE_REF_H

#include <stdbool.h>
#include <stddef.h>

#include "msb.h"

#define IMG_REF_NAME_MAX  255 /* registry + "/" + repository, after normalisation */
#define IMG_REF_TAG_MAX   128
#define IMG_REF_INPUT_MAX 512 /* longer text cannot be a valid reference */

#define IMG_REF_DOCKER_HUB      "docker.io"
#define IMG_REF_DOCKER_HUB_API  "index.docker.io"
#define IMG_REF_DEFAULT_TAG     "latest"

/**
 * struct img_ref - a parsed, normalised image reference; all strings owned.
 * @registry: registry host with optional port: "docker.io", "localhost:5000", "[::1]:5000"
 * @repository: path in the registry: "library/python", "team/tool"
 * @tag: "latest", "3.12"; NULL when the reference is pinned by digest only
 * @digest: "sha256:<64 hex>" or NULL
 * @canonical: "registry/repository[:tag][@digest]", the key the store uses
 * @familiar: short form for display: "python:latest", "ghcr.io/org/x:1@sha256:..."
 */
struct img_ref {
	char *registry;
	char *repository;
	char *tag;
	char *digest;
	char *canonical;
	char *familiar;
};

/**
 * img_ref_parse() - parse and normalise an image reference.
 * @s: the reference as typed (borrowed)
 * @out: receives the parts; zeroed on failure, release with img_ref_clear()
 * @err: error out; the message quotes @s and names the bad part, e.g.
 *       `invalid image reference "Foo/bar": repository name must be lowercase`
 *
 * Normalisation follows docker: a first component without '.' or ':' that is
 * not "localhost" is part of the repository on docker.io; one-component Hub
 * repositories get "library/"; "index.docker.io" becomes "docker.io"; no tag
 * and no digest means tag "latest".
 *
 * Return: 0, or -MSB_ERR_INVALID.
 */
int img_ref_parse(const char *s, struct img_ref *out, msb_error *err);

/**
 * img_ref_clear() - free the strings of @ref and zero it. Safe on a zeroed struct.
 * @ref: reference to clear
 */
void img_ref_clear(struct img_ref *ref);

/**
 * img_ref_api_host() - the host to contact for the registry API.
 * @ref: a parsed reference
 *
 * Return: "index.docker.io" for Docker Hub, else @ref->registry (borrowed from @ref).
 */
const char *img_ref_api_host(const struct img_ref *ref);

enum img_local_kind {
	IMG_LOCAL_NONE = 0, /* not a path: parse it as a reference */
	IMG_LOCAL_DIR,      /* a rootfs directory */
	IMG_LOCAL_DISK,     /* a disk image file (.qcow2, .raw, .vmdk) */
};

/**
 * img_local_kind() - classify an image argument as a local path or a reference.
 * @s: the argument
 *
 * A local path is exactly ".", "..", or starts with "/", "./" or "../"
 * (spec/cli.md §4); everything else is a reference, even if a file of that
 * name exists. A path ending in .qcow2, .raw or .vmdk names a disk image.
 *
 * Return: enum img_local_kind.
 */
int img_local_kind(const char *s);

/**
 * img_ref_is_local_path() - shorthand for img_local_kind(@s) != IMG_LOCAL_NONE.
 * @s: the argument
 */
bool img_ref_is_local_path(const char *s);

/**
 * img_quote() - quote untrusted text for an error message.
 * @buf: output buffer, at least 16 bytes
 * @size: its size
 * @s: the text (may contain any byte, including NUL)
 * @len: bytes of @s
 *
 * Writes @s in double quotes with '"', '\\', control bytes and non-ASCII
 * bytes escaped (\xNN), so a hostile name cannot forge terminal output. Text
 * that does not fit ends in "..." before the closing quote.
 *
 * Return: @buf.
 */
const char *img_quote(char *buf, size_t size, const char *s, size_t len);

#endif
