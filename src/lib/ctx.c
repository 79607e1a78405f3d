// SPDX-License-Identifier: Apache-2.0
/*
 * ctx.c - msb_open(): find and prepare the msb home, open the state store.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "msb.h"
#include "parse.h"
#include "store.h"

static int mkdir_p(const char *path, mode_t mode)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			int e = errno;
			free(p);
			return -e;
		}
		*s = '/';
	}
	free(p);
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

MSB_EXPORT int msb_open(msb_ctx **out, const char *home, msb_error *err)
{
	struct msb_ctx *ctx;
	const char *env = getenv("MSB_HOME");
	char *h;
	int r;

	if (home && *home)
		h = xstrdup(home);
	else if (env && *env)
		h = xstrdup(env);
	else {
		const char *hd = getenv("HOME");
		char pwhome[1024];
		if ((!hd || !*hd) && util_passwd_lookup(getuid(), NULL, 0, pwhome, sizeof(pwhome)) == 0)
			hd = pwhome;
		if (!hd || !*hd)
			return msb_err_set(err, MSB_ERR_INVALID, 0, "cannot find a home directory: set MSB_HOME");
		h = xasprintf("%s/.msb", hd);
	}
	if (h[0] != '/') {
		char cwd[4096];
		char *abs;
		if (!getcwd(cwd, sizeof(cwd))) {
			free(h);
			return msb_err_sys(err, errno, "getcwd");
		}
		abs = xasprintf("%s/%s", cwd, h);
		free(h);
		h = abs;
	}
	r = mkdir_p(h, 0700);
	if (r < 0) {
		r = msb_err_sys(err, -r, "cannot create msb home %s", h);
		free(h);
		return r;
	}
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->home = h;
	ctx->home_fd = open(h, O_PATH | O_DIRECTORY | O_CLOEXEC);
	mkdirat(ctx->home_fd, "sandboxes", 0700);
	*out = ctx;
	return 0;
}

MSB_EXPORT void msb_close(msb_ctx *ctx)
{
	if (!ctx)
		return;
	store_close(ctx);
	if (ctx->home_fd >= 0)
		close(ctx->home_fd);
	free(ctx->home);
	free(ctx);
}

MSB_EXPORT const char *msb_home(const msb_ctx *ctx)
{
	return ctx->home;
}

MSB_EXPORT const char *msb_status_name(int status)
{
	static const char *const names[MSB_STATUS_COUNT] = {
		[MSB_STATUS_CREATED] = "Created",   [MSB_STATUS_STARTING] = "Starting", [MSB_STATUS_RUNNING] = "Running",
		[MSB_STATUS_DRAINING] = "Draining", [MSB_STATUS_PAUSED] = "Paused",     [MSB_STATUS_STOPPED] = "Stopped",
		[MSB_STATUS_CRASHED] = "Crashed",
	};
	return status >= 0 && status < MSB_STATUS_COUNT ? names[status] : "Unknown";
}

MSB_EXPORT void msb_sandbox_info_clear(msb_sandbox_info *info)
{
	if (!info)
		return;
	free(info->image);
	free(info->config_json);
	free(info->labels_json);
	memset(info, 0, sizeof(*info));
}

MSB_EXPORT void msb_sandbox_list_free(msb_sandbox_info *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		msb_sandbox_info_clear(&list[i]);
	free(list);
}

MSB_EXPORT char *msb_sandbox_dir(msb_ctx *ctx, const char *name)
{
	return xasprintf("%s/sandboxes/%s", ctx->home, name);
}
