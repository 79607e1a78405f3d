// SPDX-License-Identifier: Apache-2.0
/*
 * creds.c - stored registry logins as JSON files under
 * $MSB_HOME/secrets/registries (see creds.h).
 */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>

#include "image/creds.h"
#include "image/ref.h"
#include "util.h"

#define CREDS_FILE_MAX (64u << 10)

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/* "<sanitised registry>.json", or -MSB_ERR_INVALID. */
static int creds_file_name(const char *registry, char *out, size_t size, msb_error *err)
{
	size_t n = registry ? strlen(registry) : 0, i;

	if (n == 0 || n > IMG_REF_NAME_MAX || n + 6 > size)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid registry name: expected host[:port]");
	for (i = 0; i < n; i++) {
		char ch = registry[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-'))
			ch = '_';
		out[i] = ch;
	}
	if (out[0] == '.') /* never a hidden file, never "." or ".." */
		out[0] = '_';
	memcpy(out + n, ".json", 6);
	return 0;
}

/* Open (creating with @create) $home/secrets/registries as a directory fd; mode 0700. */
static int open_dir(const char *home, bool create, msb_error *err)
{
	static const char *const parts[] = {"secrets", "registries"};
	_cleanup_close_ int dfd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t i;

	if (dfd < 0)
		return msb_err_sys(err, errno, "cannot open %s", home);
	for (i = 0; i < ARRAY_SIZE(parts); i++) {
		int next;
		if (create && mkdirat(dfd, parts[i], 0700) < 0 && errno != EEXIST)
			return msb_err_sys(err, errno, "cannot create %s/secrets/registries", home);
		next = openat(dfd, parts[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (next < 0)
			return errno == ENOENT && !create ? -MSB_ERR_NOT_FOUND
							  : msb_err_sys(err, errno, "cannot open %s/secrets/registries", home);
		close(dfd);
		dfd = next;
	}
	return util_steal_fd(&dfd);
}

static int write_atomic(int dfd, const char *name, const char *data, size_t len, msb_error *err)
{
	char tmp[300];
	_cleanup_close_ int fd = -1;
	int r = 0;

	snprintf(tmp, sizeof(tmp), ".%s.tmp.%d", name, (int)getpid());
	unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return msb_err_sys(err, errno, "cannot create the login file for %s", name);
	if (fchmod(fd, 0600) < 0 || (r = util_write_all(fd, data, len)) < 0 || fsync(fd) < 0)
		r = msb_err_sys(err, r < 0 ? -r : errno, "cannot write the login file %s", name);
	else if (renameat(dfd, tmp, dfd, name) < 0)
		r = msb_err_sys(err, errno, "cannot rename the login file into place as %s", name);
	else if (fsync(dfd) < 0)
		r = msb_err_sys(err, errno, "cannot sync the login directory");
	if (r < 0)
		unlinkat(dfd, tmp, 0);
	return r;
}

int creds_save(const char *home, const char *registry, const char *user, const char *password, msb_error *err)
{
	char name[IMG_REF_NAME_MAX + 8];
	_cleanup_close_ int dfd = -1;
	json_t *j;
	char *text;
	int r;

	if ((r = creds_file_name(registry, name, sizeof(name), err)) < 0)
		return r;
	if (!user || !*user || !password || !*password)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "a registry login needs a username and a password");
	if (strlen(user) > CREDS_FIELD_MAX || strlen(password) > CREDS_FIELD_MAX)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "registry username or password longer than %d bytes",
				   CREDS_FIELD_MAX);
	dfd = open_dir(home, true, err);
	if (dfd < 0)
		return dfd;
	j = json_pack("{s:s, s:s, s:s}", "registry", registry, "username", user, "password", password);
	if (!j)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "registry username and password must be valid UTF-8");
	text = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	if (!text)
		abort();
	r = write_atomic(dfd, name, text, strlen(text), err);
	explicit_bzero(text, strlen(text));
	free(text);
	return r;
}

/* Parse a login file; @registry (if not NULL) must match its "registry" field. */
static int parse_file(const char *text, size_t len, const char *registry, char **reg_out, char **user,
		      char **password)
{
	json_t *j = json_loadb(text, len, 0, NULL);
	const char *reg, *u, *p;
	int r = -MSB_ERR_INVALID;

	if (!j)
		return r;
	reg = json_string_value(json_object_get(j, "registry"));
	u = json_string_value(json_object_get(j, "username"));
	p = json_string_value(json_object_get(j, "password"));
	if (reg && u && p && *u && *p) {
		if (registry && strcasecmp(reg, registry) != 0) {
			r = -MSB_ERR_NOT_FOUND;
		} else {
			if (reg_out)
				*reg_out = xstrdup(reg);
			if (user)
				*user = xstrdup(u);
			if (password)
				*password = xstrdup(p);
			r = 0;
		}
	}
	json_decref(j);
	return r;
}

int creds_load(const char *home, const char *registry, char **user, char **password, msb_error *err)
{
	char name[IMG_REF_NAME_MAX + 8];
	_cleanup_close_ int dfd = -1, fd = -1;
	_cleanup_free_ char *text = NULL;
	struct stat st;
	size_t len = 0;
	int r;

	*user = *password = NULL;
	if ((r = creds_file_name(registry, name, sizeof(name), err)) < 0)
		return r;
	dfd = open_dir(home, false, err);
	if (dfd == -MSB_ERR_NOT_FOUND)
		goto none;
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		goto none;
	if (fd < 0 || fstat(fd, &st) < 0)
		return msb_err_sys(err, errno, "cannot open the login file for registry %s", registry);
	if (st.st_mode & 077)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "the login file for registry %s is readable by other users (mode %04o); run `msb "
				   "registry login %s` again",
				   registry, (unsigned)(st.st_mode & 07777), registry);
	if (st.st_size > CREDS_FILE_MAX)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "the login file for registry %s is too large", registry);
	text = xmalloc((size_t)st.st_size + 1);
	r = (int)util_read_full(fd, text, (size_t)st.st_size);
	if (r < 0)
		return msb_err_sys(err, -r, "cannot read the login file for registry %s", registry);
	len = (size_t)r;
	r = parse_file(text, len, registry, NULL, user, password);
	explicit_bzero(text, len);
	if (r == -MSB_ERR_NOT_FOUND)
		goto none;
	if (r < 0)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "the login file for registry %s is malformed; run `msb registry login %s` again",
				   registry, registry);
	return 0;
none:
	return msb_err_set(err, MSB_ERR_NOT_FOUND, 0, "no login stored for registry %s", registry);
}

int creds_remove(const char *home, const char *registry, msb_error *err)
{
	char name[IMG_REF_NAME_MAX + 8];
	_cleanup_close_ int dfd = -1;
	char *u = NULL, *p = NULL;
	int r;

	r = creds_load(home, registry, &u, &p, err);
	if (p)
		explicit_bzero(p, strlen(p));
	free(u);
	free(p);
	if (r == -MSB_ERR_NOT_FOUND)
		return r;
	/* a malformed file is still removed: that is how the user gets rid of it */
	if ((r = creds_file_name(registry, name, sizeof(name), err)) < 0)
		return r;
	dfd = open_dir(home, false, err);
	if (dfd < 0)
		return dfd == -MSB_ERR_NOT_FOUND ? msb_err_set(err, MSB_ERR_NOT_FOUND, 0, "no login stored for registry %s", registry)
						 : dfd;
	if (unlinkat(dfd, name, 0) < 0)
		return errno == ENOENT ? msb_err_set(err, MSB_ERR_NOT_FOUND, 0, "no login stored for registry %s", registry)
				       : msb_err_sys(err, errno, "cannot remove the login for registry %s", registry);
	if (fsync(dfd) < 0)
		return msb_err_sys(err, errno, "cannot sync the login directory");
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int creds_list(const char *home, char ***registries, size_t *n, msb_error *err)
{
	_cleanup_close_ int dfd = -1;
	__attribute__((cleanup(closedirp))) DIR *d = NULL;
	struct dirent *de;
	char **v = xcalloc(1, sizeof(*v));
	size_t cnt = 0;

	*registries = NULL;
	*n = 0;
	dfd = open_dir(home, false, err);
	if (dfd == -MSB_ERR_NOT_FOUND)
		goto out;
	if (dfd < 0) {
		free(v);
		return dfd;
	}
	d = fdopendir(dfd);
	if (!d) {
		free(v);
		return msb_err_sys(err, errno, "cannot list %s/secrets/registries", home);
	}
	dfd = -1; /* owned by d now */
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name), len = 0;
		char *text, *reg = NULL;
		if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
			continue;
		text = util_read_file_at(dirfd(d), de->d_name, CREDS_FILE_MAX, &len);
		if (!text)
			continue;
		if (parse_file(text, len, NULL, &reg, NULL, NULL) == 0) {
			v = xrealloc(v, (cnt + 2) * sizeof(*v));
			v[cnt++] = reg;
			v[cnt] = NULL;
		}
		explicit_bzero(text, len);
		free(text);
	}
	qsort(v, cnt, sizeof(*v), cmp_str);
out:
	*registries = v;
	*n = cnt;
	return 0;
}

void creds_list_free(char **registries)
{
	char **p;

	if (!registries)
		return;
	for (p = registries; *p; p++)
		free(*p);
	free(registries);
}
