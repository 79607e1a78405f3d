// SPDX-License-Identifier: Apache-2.0
/*
 * cgroup.c - CPU, memory and process-count caps for a sandbox.
 *
 * One directory per sandbox, "msb-<name>", under the caller's own cgroup in
 * each hierarchy we use. On cgroup v2 (a unified mount with controllers) the
 * files are cpu.max, memory.max, memory.swap.max and pids.max; on hosts that
 * mount the v1 controllers (this project's CI machine does), the v1
 * equivalents in the cpu, memory and pids hierarchies. The supervisor moves
 * the boot helper in before it creates the sandbox's first process, so every
 * sandbox process is inside from its first instruction.
 *
 * Without write access to a cgroup (rootless, no delegation) a requested cap
 * is refused with an error, never silently dropped. The default process cap
 * is not a cgroup: it is RLIMIT_NPROC at the nested user namespace (boot.c).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "ns/ns.h"

#define CG_ROOT "/sys/fs/cgroup"

static bool cg_v2(void)
{
	char *c = util_read_file_at(AT_FDCWD, CG_ROOT "/cgroup.controllers", 4096, NULL);
	bool v2 = c && strstr(c, "pids") && strstr(c, "memory");
	free(c);
	return v2;
}

/* Is @ctrl one of the comma-separated controllers in @list ("cpu" must not match "cpuset")? */
static bool has_controller(const char *list, const char *ctrl)
{
	size_t n = strlen(ctrl);
	for (const char *p = list; *p;) {
		size_t l = strcspn(p, ",");
		if (l == n && strncmp(p, ctrl, n) == 0)
			return true;
		p += l + (p[l] == ',');
	}
	return false;
}

/* The caller's cgroup path in hierarchy @ctrl ("" for v2), from /proc/self/cgroup. */
static char *own_path(const char *ctrl)
{
	char *text = util_read_file_at(AT_FDCWD, "/proc/self/cgroup", 65536, NULL), *line, *save = NULL, *r = NULL;
	if (!text)
		return NULL;
	for (line = strtok_r(text, "\n", &save); line && !r; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		if (ctrl[0] == '\0' ? strcmp(c1 + 1, "") == 0 : has_controller(c1 + 1, ctrl))
			r = xstrdup(c2 + 1);
	}
	free(text);
	return r;
}

static char *cg_dir(const char *ctrl, const char *name)
{
	char *own = own_path(ctrl);
	char *d;
	if (!own)
		return NULL;
	if (ctrl[0])
		d = xasprintf(CG_ROOT "/%s%s/msb-%s", ctrl, strcmp(own, "/") == 0 ? "" : own, name);
	else
		d = xasprintf(CG_ROOT "%s/msb-%s", strcmp(own, "/") == 0 ? "" : own, name);
	free(own);
	return d;
}

static int put(const char *dir, const char *file, unsigned long long v)
{
	char path[4096], val[64];
	int fd, n;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	/* cpu.max takes "quota period"; every other file a plain number */
	if (strcmp(file, "cpu.max") == 0)
		n = snprintf(val, sizeof(val), "%llu 100000", v);
	else
		n = snprintf(val, sizeof(val), "%llu", v);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, (size_t)n) != n) {
		int e = errno;
		close(fd);
		return -e;
	}
	close(fd);
	return 0;
}

struct cg_step {
	const char *ctrl;	    /* v1 hierarchy, "" for v2 */
	const char *file;	    /* limit file */
	unsigned long long value;   /* 0 = not requested */
	bool required;		    /* the user asked for it */
};

static int apply(const struct cg_step *st, size_t n, const char *name, pid_t pid, msb_error *err)
{
	for (size_t i = 0; i < n; i++) {
		char *dir;
		int r;
		if (!st[i].value)
			continue;
		dir = cg_dir(st[i].ctrl, name);
		r = dir ? 0 : -ENOENT;
		if (r == 0 && mkdir(dir, 0755) < 0 && errno != EEXIST)
			r = -errno;
		if (r == 0)
			r = put(dir, st[i].file, st[i].value);
		if (r == 0)
			r = put(dir, "cgroup.procs", (unsigned long long)pid);
		if (r < 0 && st[i].required) {
			int e = -r;
			free(dir);
			return msb_err_set(err, MSB_ERR_UNSUPPORTED, e,
					   "cannot apply the %s cap (%s%s%s: %s): resource caps need root or a delegated "
					   "cgroup; refusing to run without the cap you asked for",
					   st[i].file, CG_ROOT, st[i].ctrl[0] ? "/" : "", st[i].ctrl, strerror(e));
		}
		free(dir);
	}
	return 0;
}

int ns_cgroup_apply(const char *name, const struct ns_limits *lim, pid_t pid, msb_error *err)
{
	unsigned long long mem = lim->memory_mib * 1024ULL * 1024ULL;
	unsigned long long quota = lim->cpus * 100000ULL;

	if (cg_v2()) {
		const struct cg_step st[] = {

			{"", "memory.max", mem, lim->memory_mib != 0},
			{"", "cpu.max", quota, lim->cpus != 0},
		};
		int r = apply(st, ARRAY_SIZE(st), name, pid, err);
		if (r == 0 && mem) {
			char *dir = cg_dir("", name);
			if (dir)
				put(dir, "memory.swap.max", 0); /* the cap is on memory, not memory + swap */
			free(dir);
		}
		return r;
	}
	{
		const struct cg_step st[] = {

			{"memory", "memory.limit_in_bytes", mem, lim->memory_mib != 0},
			{"memory", "memory.memsw.limit_in_bytes", mem, false},
			{"cpu", "cpu.cfs_quota_us", quota, lim->cpus != 0},
		};
		return apply(st, ARRAY_SIZE(st), name, pid, err);
	}
}

void ns_cgroup_remove(const char *name)
{
	static const char *const ctrls[] = {"", "pids", "memory", "cpu"};
	for (size_t i = 0; i < ARRAY_SIZE(ctrls); i++) {
		char *dir = cg_dir(ctrls[i], name);
		if (dir)
			rmdir(dir);
		free(dir);
	}
}
