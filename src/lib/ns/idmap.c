// SPDX-License-Identifier: Apache-2.0
/*
 * idmap.c - which host ids a sandbox's ids map to, and writing the maps.
 *
 * In-sandbox uid 0 is never host uid 0. As root we map 65536 ids starting at
 * root's /etc/subuid range (or NS_ROOT_ID_BASE when root has none). As an
 * unprivileged user, sandbox root is the user itself and ids 1..65535 come
 * from the user's subordinate ranges through the setuid newuidmap/newgidmap
 * helpers (Debian's uidmap package); without configured ranges only the
 * user's own id is mapped and the reason is kept as a warning.
 */
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <stdio.h>
#include <sys/wait.h>

#include "ns/ns.h"
#include "sandbox.h"

/* Find the first range of >= @need ids for @name/@id in an /etc/subuid-style file. */
static bool subid_lookup(const char *file, const char *name, unsigned long id, unsigned long need,
			 unsigned long *start)
{
	FILE *fp = fopen(file, "re");
	char line[512];
	bool found = false;

	if (!fp)
		return false;
	while (!found && fgets(line, sizeof(line), fp)) {
		char owner[256];
		unsigned long s, n;
		if (sscanf(line, "%255[^:]:%lu:%lu", owner, &s, &n) != 3 || n < need)
			continue;
		if (strcmp(owner, name) == 0 || (strspn(owner, "0123456789") == strlen(owner) &&
						 strtoul(owner, NULL, 10) == id)) {
			*start = s;
			found = true;
		}
	}
	fclose(fp);
	return found;
}

int ns_idmap_plan(struct ns_idmap *m, msb_error *err)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char name[256] = "";
	unsigned long su = 0, sg = 0;

	memset(m, 0, sizeof(*m));
	if (uid == 0) {
		if (!subid_lookup("/etc/subuid", "root", 0, NS_ID_COUNT, &su) ||
		    !subid_lookup("/etc/subgid", "root", 0, NS_ID_COUNT, &sg))
			su = sg = NS_ROOT_ID_BASE;
		m->root_uid = (uid_t)su;
		m->root_gid = (gid_t)sg;
		m->sub_uid = (uid_t)su + 1;
		m->sub_gid = (gid_t)sg + 1;
		m->count = NS_ID_COUNT;
		m->multi = true;
		return 0;
	}
	/* users only known to NSS (LDAP...) still match their numeric /etc/subuid entries */
	util_passwd_lookup(uid, name, sizeof(name), NULL, 0);
	m->rootless = true;
	m->root_uid = uid;
	m->root_gid = gid;
	m->count = 1;
	if (subid_lookup("/etc/subuid", name, uid, NS_ID_COUNT - 1, &su) &&
	    subid_lookup("/etc/subgid", name, uid, NS_ID_COUNT - 1, &sg) && access("/usr/bin/newuidmap", X_OK) == 0 &&
	    access("/usr/bin/newgidmap", X_OK) == 0) {
		m->sub_uid = (uid_t)su;
		m->sub_gid = (gid_t)sg;
		m->count = NS_ID_COUNT;
		m->multi = true;
		m->use_helpers = true;
	} else {
		snprintf(m->warning, sizeof(m->warning),
			 "no subordinate ids for user \"%s\": the sandbox maps only uid 0, so other users "
			 "inside it will not work; add \"%s:100000:65536\" to /etc/subuid and /etc/subgid "
			 "(and install the uidmap package) to enable them",
			 name, name);
	}
	(void)err;
	return 0;
}

static int write_proc(pid_t pid, const char *file, const char *text, msb_error *err)
{
	char path[64];
	_cleanup_close_ int fd = -1;
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return msb_err_sys(err, errno, "cannot write %s \"%s\"", path, text);
	return 0;
}

static int run_helper(const char *prog, pid_t pid, unsigned long root, unsigned long sub, unsigned count,
		      msb_error *err)
{
	char a[5][32];
	pid_t c;
	int st;
	snprintf(a[0], 32, "%d", (int)pid);
	snprintf(a[1], 32, "%lu", root);
	snprintf(a[2], 32, "%lu", sub);
	snprintf(a[3], 32, "%u", count - 1);
	c = fork();
	if (c < 0)
		return msb_err_sys(err, errno, "fork %s", prog);
	if (c == 0) {
		int nul = open("/dev/null", O_WRONLY);
		if (nul >= 0)
			dup2(nul, 1);
		execl(prog, prog, a[0], "0", a[1], "1", "1", a[2], a[3], (char *)NULL);
		_exit(127);
	}
	if (waitpid(c, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return msb_err_set(err, MSB_ERR_PERMISSION, 0,
				   "%s failed for the sandbox (check /etc/subuid and /etc/subgid)", prog);
	return 0;
}

int ns_idmap_apply(const struct ns_idmap *m, pid_t pid, msb_error *err)
{
	char text[128];
	int r;

	if (m->use_helpers) {
		r = run_helper("/usr/bin/newuidmap", pid, m->root_uid, m->sub_uid, m->count, err);
		if (r == 0)
			r = run_helper("/usr/bin/newgidmap", pid, m->root_gid, m->sub_gid, m->count, err);
		return r;
	}
	if (m->rootless) {
		r = write_proc(pid, "setgroups", "deny", err);
		if (r < 0)
			return r;
	}
	snprintf(text, sizeof(text), "0 %u %u\n", (unsigned)m->root_uid, m->count);
	r = write_proc(pid, "uid_map", text, err);
	if (r < 0)
		return r;
	snprintf(text, sizeof(text), "0 %u %u\n", (unsigned)m->root_gid, m->count);
	return write_proc(pid, "gid_map", text, err);
}

/*
 * Run @fn in a child that is root of a fresh user namespace with the
 * sandbox id map. Rootless sandboxes leave files owned by subordinate ids,
 * which the user can only remove from inside such a namespace.
 */
int ns_userns_call(int (*fn)(void *), void *arg, msb_error *err)
{
	struct ns_idmap m;
	int sv[2], st, r;
	char c = 0;
	pid_t pid;

	r = ns_idmap_plan(&m, err);
	if (r < 0)
		return r;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return msb_err_sys(err, errno, "socketpair");
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return msb_err_sys(err, errno, "fork");
	}
	if (pid == 0) {
		close(sv[0]);
		if (unshare(CLONE_NEWUSER) < 0 || write(sv[1], "u", 1) != 1 || read(sv[1], &c, 1) != 1 || c != 'G')
			_exit(125);
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			_exit(125);
		_exit(fn(arg) == 0 ? 0 : 1);
	}
	close(sv[1]);
	r = 0;
	if (read(sv[0], &c, 1) == 1)
		r = ns_idmap_apply(&m, pid, err);
	(void)!write(sv[0], r == 0 ? "G" : "X", 1);
	close(sv[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return r;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return msb_err_set(err, MSB_ERR_SYSTEM, 0, "operation inside the user namespace failed");
	return 0;
}

struct rm_arg {
	int dirfd;
	const char *name;
};

static int rm_in_userns(void *p)
{
	struct rm_arg *a = p;
	return fs_rm_rf_at(a->dirfd, a->name);
}

int ns_rm_rf_at(int dirfd, const char *name)
{
	struct rm_arg a = {.dirfd = dirfd, .name = name};
	int r = fs_rm_rf_at(dirfd, name);
	if (r < 0 && geteuid() != 0 && ns_userns_call(rm_in_userns, &a, NULL) == 0)
		r = fs_rm_rf_at(dirfd, name); /* gone now: 0 */
	return r;
}

MSB_EXPORT int msb_host_note(char *buf, size_t len)
{
	struct ns_idmap m;
	if (ns_idmap_plan(&m, NULL) < 0 || !m.warning[0])
		return 0;
	snprintf(buf, len, "%s", m.warning);
	return 1;
}
