// SPDX-License-Identifier: Apache-2.0
/*
 * tarpath.c - decide whether one tar entry of a layer is safe to extract.
 *
 * Normalisation walks the name once, component by component: empty
 * components ("a//b", trailing '/') and "." vanish, ".." is refused outright
 * (even "a/../b", which stays inside: a layer never needs it and refusing is
 * simpler than proving), and the survivors are joined with single '/'. The
 * result can only name something at or below the layer root, whatever the
 * directories on disk turn out to be; symlinks already on disk are the
 * extractor's business (RESOLVE_IN_ROOT, no writes through symlinks).
 *
 * Whiteouts follow the OCI image spec's layer format: the basename decides.
 * ".wh..wh..opq" marks its parent opaque; other ".wh..wh." names are AUFS
 * bookkeeping that docker and containerd skip, along with anything under
 * such a directory; ".wh.NAME" deletes NAME from the layers below, so NAME
 * must be a real name (not empty, "." or ".."). A ".wh." component in the
 * middle of a path is refused: no tool writes one, and letting it through
 * would create a file that a later pass could mistake for a marker.
 */
#include <stdio.h>

#include "image/ref.h"
#include "image/tarpath.h"
#include "util.h"

/* "unsafe tar entry "<name>": <detail>" */
__attribute__((format(printf, 4, 5))) static void tp_fail_do(msb_error *err, const char *name, size_t len,
							 const char *fmt, ...)
{
	char q[300], detail[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	img_quote(q, sizeof(q), name, len);
	msb_err_set(err, MSB_ERR_INVALID, 0, "unsafe tar entry %s: %s", q, detail);
}

/* Fill the error and evaluate to -MSB_ERR_INVALID (a macro, so analyzers see the constant). */
#define tp_fail(...) (tp_fail_do(__VA_ARGS__), -MSB_ERR_INVALID)

static bool starts_with(const char *s, size_t n, const char *prefix)
{
	size_t m = strlen(prefix);
	return n >= m && memcmp(s, prefix, m) == 0;
}

static bool span_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(s, word, n) == 0;
}

/* The result of normalising one path. */
struct norm {
	char path[IMG_TAR_PATH_MAX]; /* "" for the root */
	unsigned depth;              /* components */
	bool dir_suffix;             /* ended in '/' or "/." (a directory spelling) */
	char *last;                  /* last component inside @path, or NULL for the root */
};

/*
 * Normalise @len bytes at @p into @n. @what ("name", "hard link target")
 * prefixes the reason; the message quotes @ename, the entry name.
 */
static int normalize(const char *p, size_t len, struct norm *n, const char *what, const char *ename,
		     size_t elen, msb_error *err)
{
	size_t i = 0, o = 0;

	n->path[0] = '\0';
	n->depth = 0;
	n->dir_suffix = false;
	n->last = NULL;
	if (len == 0)
		return tp_fail(err, ename, elen, "empty %s", what);
	if (memchr(p, '\0', len))
		return tp_fail(err, ename, elen, "%s contains a NUL byte", what);
	if (len >= IMG_TAR_PATH_MAX)
		return tp_fail(err, ename, elen, "%s is %zu bytes long (max %d)", what, len, IMG_TAR_PATH_MAX - 1);
	if (p[0] == '/')
		return tp_fail(err, ename, elen, "%s is an absolute path", what);
	while (i < len) {
		size_t start = i, clen;

		while (i < len && p[i] != '/')
			i++;
		clen = i - start;
		n->dir_suffix = i == len ? span_is(p + start, clen, ".") : i + 1 == len;
		if (i < len)
			i++; /* the '/' */
		if (clen == 0 || span_is(p + start, clen, "."))
			continue;
		if (span_is(p + start, clen, ".."))
			return tp_fail(err, ename, elen, "%s has a \"..\" component", what);
		if (clen > IMG_TAR_NAME_MAX)
			return tp_fail(err, ename, elen, "%s has a component longer than %d bytes", what,
				       IMG_TAR_NAME_MAX);
		if (++n->depth > IMG_TAR_DEPTH_MAX)
			return tp_fail(err, ename, elen, "%s is more than %d levels deep", what, IMG_TAR_DEPTH_MAX);
		if (o)
			n->path[o++] = '/';
		n->last = n->path + o;
		memcpy(n->path + o, p + start, clen);
		o += clen;
	}
	n->path[o] = '\0';
	return 0;
}

/* Does any component of @path start with @prefix? @skip_last: ignore the last component. */
static bool has_component_prefix(const char *path, const char *prefix, bool skip_last)
{
	const char *c = path;

	while (*c) {
		const char *slash = strchr(c, '/');
		size_t clen = slash ? (size_t)(slash - c) : strlen(c);
		if (!slash && skip_last)
			return false;
		if (starts_with(c, clen, prefix))
			return true;
		if (!slash)
			return false;
		c = slash + 1;
	}
	return false;
}

/* Set @out for a whiteout-family basename; returns the action or a negative error. */
static int classify_whiteout(struct norm *n, struct img_tar_entry *out, const char *name, size_t len,
			     msb_error *err)
{
	char *base = n->last;
	const char *target = base + strlen(IMG_WHITEOUT_PREFIX);
	size_t dir_len = base == n->path ? 0 : (size_t)(base - n->path) - 1;

	if (strcmp(base, IMG_WHITEOUT_OPAQUE) == 0) {
		n->path[dir_len] = '\0';
		out->path = xstrdup(n->path);
		out->depth = n->depth - 1;
		return out->action = IMG_TAR_OPAQUE;
	}
	if (strncmp(base, ".wh..wh.", 8) == 0) {
		out->path = xstrdup(n->path);
		out->depth = n->depth;
		return out->action = IMG_TAR_SKIP;
	}
	if (!*target || strcmp(target, ".") == 0 || strcmp(target, "..") == 0)
		return tp_fail(err, name, len, "malformed whiteout: \"%s\" does not name a file", base);
	/* drop the prefix in place: "dir/.wh.x" -> "dir/x" */
	memmove(base, target, strlen(target) + 1);
	out->path = xstrdup(n->path);
	out->depth = n->depth;
	return out->action = IMG_TAR_WHITEOUT;
}

static int check_hardlink(const struct norm *n, const char *link, size_t link_len, struct img_tar_entry *out,
			  const char *name, size_t len, msb_error *err)
{
	char what[300], q[280];
	struct norm t;
	int r;

	if (!link)
		return tp_fail(err, name, len, "hard link without a target");
	snprintf(what, sizeof(what), "hard link target %s", img_quote(q, sizeof(q), link, link_len));
	r = normalize(link, link_len, &t, what, name, len, err);
	if (r < 0)
		return r;
	if (!t.path[0])
		return tp_fail(err, name, len, "%s is the layer root", what);
	if (has_component_prefix(t.path, IMG_WHITEOUT_PREFIX, false))
		return tp_fail(err, name, len, "%s is a whiteout name", what);
	if (strcmp(t.path, n->path) == 0)
		return tp_fail(err, name, len, "hard link to itself");
	out->link = xstrdup(t.path);
	return 0;
}

static int check_symlink(const char *link, size_t link_len, struct img_tar_entry *out, const char *name,
			 size_t len, msb_error *err)
{
	size_t i = 0;

	if (!link || link_len == 0)
		return tp_fail(err, name, len, "symlink without a target");
	if (memchr(link, '\0', link_len))
		return tp_fail(err, name, len, "symlink target contains a NUL byte");
	if (link_len >= IMG_TAR_LINK_MAX)
		return tp_fail(err, name, len, "symlink target is %zu bytes long (max %d)", link_len,
			       IMG_TAR_LINK_MAX - 1);
	out->link = xstrndup(link, link_len);
	out->link_absolute = link[0] == '/';
	while (i < link_len && !out->link_dotdot) {
		size_t start = i;
		while (i < link_len && link[i] != '/')
			i++;
		out->link_dotdot = span_is(link + start, i - start, "..");
		i++;
	}
	return 0;
}

static int tarpath_check_do(struct norm *n, int type, const char *link, size_t link_len,
			    struct img_tar_entry *out, const char *name, size_t len, msb_error *err)
{
	/* AUFS bookkeeping directories (".wh..wh.plnk/...") are skipped whole */
	if (has_component_prefix(n->path, ".wh..wh.", true)) {
		out->path = xstrdup(n->path);
		out->depth = n->depth;
		return out->action = IMG_TAR_SKIP;
	}
	if (has_component_prefix(n->path, IMG_WHITEOUT_PREFIX, true))
		return tp_fail(err, name, len, "whiteout name used as a directory");
	if (n->last && strncmp(n->last, IMG_WHITEOUT_PREFIX, 4) == 0)
		return classify_whiteout(n, out, name, len, err);

	if (!n->path[0]) {
		if (type != IMG_TAR_DIR)
			return tp_fail(err, name, len, "empty name");
		out->path = xstrdup(n->path);
		return out->action = IMG_TAR_ROOT;
	}
	if (n->dir_suffix && type != IMG_TAR_DIR)
		return tp_fail(err, name, len, "trailing '/' on a non-directory");
	if (type == IMG_TAR_HARDLINK) {
		int r = check_hardlink(n, link, link_len, out, name, len, err);
		if (r < 0)
			return r;
	} else if (type == IMG_TAR_SYMLINK) {
		int r = check_symlink(link, link_len, out, name, len, err);
		if (r < 0)
			return r;
	}
	out->depth = n->depth;
	out->path = xstrdup(n->path);
	return out->action = IMG_TAR_CREATE;
}

int img_tarpath_check(const char *name, size_t name_len, int type, const char *link, size_t link_len,
		      struct img_tar_entry *out, msb_error *err)
{
	struct norm n;
	int r;

	memset(out, 0, sizeof(*out));
	if (type < 0 || type >= IMG_TAR_TYPE_COUNT)
		return tp_fail(err, name, name_len, "unsupported entry type %d", type);
	out->type = type;
	r = normalize(name, name_len, &n, "name", name, name_len, err);
	if (r < 0)
		return r;
	r = tarpath_check_do(&n, type, link, link_len, out, name, name_len, err);
	if (r < 0)
		img_tar_entry_clear(out);
	return r;
}

void img_tar_entry_clear(struct img_tar_entry *e)
{
	if (!e)
		return;
	free(e->path);
	free(e->link);
	memset(e, 0, sizeof(*e));
}
