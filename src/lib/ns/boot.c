// SPDX-License-Identifier: Apache-2.0
/*
 * boot.c - the ns backend's boot sequence: from the supervisor to agentd.
 *
 * Theory of operation. Three processes take part:
 *
 *   supervisor (host namespaces, trusted)
 *     └─ H, the helper: enters a new user namespace U1, whose id maps the
 *        supervisor writes; then unshares mount, net, ipc, uts, cgroup and
 *        pid namespaces (all owned by U1) and forks
 *          └─ P1, PID 1 of the new PID namespace: builds the root
 *             (mounts.c), sets the hostname and brings `lo` up, pivots,
 *             then unshares a nested user namespace U2 plus a new mount
 *             namespace. H, still in U1, writes U2's maps (an identity map:
 *             the writer must hold CAP_SETUID in U2's parent). P1 drops the
 *             bounding set, installs the seccomp filter and execs agentd.
 *
 * Invariants this gives (DESIGN.md §3): the network namespace has only `lo`
 * and belongs to U1, so nothing in U2 can change its addresses, routes or
 * nftables rules; the mounts were made in U1 and U2 got a copy, so they are
 * locked (read-only binds stay read-only, masks cannot be peeled off).
 * Lifetime: H dies with the supervisor (PR_SET_PDEATHSIG) and P1 with H; when
 * P1 dies the kernel kills every process of the PID namespace.
 *
 * Failures inside are reported over a CLOEXEC pipe as one text line naming
 * the step; a successful exec closes the pipe, which is how the supervisor
 * knows agentd is running.
 */
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/mount.h>

#include "ns/ns.h"

static _Noreturn void fail(int errfd, int e, const char *what)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "%s: %s", what, strerror(e));
	(void)!write(errfd, msg, (size_t)n);
	_exit(1);
}

static int sync_expect(int fd, char want)
{
	char c;
	return read(fd, &c, 1) == 1 && c == want ? 0 : -1;
}

static int sync_wait(int fd)
{
	return sync_expect(fd, 'G');
}

static int sync_send(int fd, char c)
{
	return write(fd, &c, 1) == 1 ? 0 : -1;
}

static int lo_up(void)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = -1;
	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return r;
}

/*
 * Close every fd >= 3 except those in @keep: nothing of the supervisor's
 * leaks into the sandbox. close_range(2) over the gaps between kept fds.
 */
static void close_all_except(const int *keep, size_t n)
{
	int sorted[16];
	unsigned lo = 3;

	if (n > ARRAY_SIZE(sorted))
		abort();
	memcpy(sorted, keep, n * sizeof(int));
	for (size_t i = 1; i < n; i++) /* insertion sort: n is tiny */
		for (size_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
			int t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		if (sorted[i] < (int)lo)
			continue;
		if ((unsigned)sorted[i] > lo)
			syscall(SYS_close_range, lo, (unsigned)sorted[i] - 1, 0);
		lo = (unsigned)sorted[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0u, 0);
}

/* P1: the sandbox's first process. Never returns. */
static _Noreturn void p1_main(const struct ns_boot *b, int errfd, int hsync)
{
	const char *what = "setup";
	char *const argv_default[] = {(char *)"agentd", NULL};
	char *const argv_restricted[] = {(char *)"agentd", (char *)"--restricted", NULL};
	char *const envp[] = {NULL};
	int r;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		fail(errfd, errno, "set parent-death signal");
	if (sethostname(b->hostname, strlen(b->hostname)) < 0)
		fail(errfd, errno, "set hostname");
	if (lo_up() < 0)
		fail(errfd, errno, "bring up lo");
	r = ns_setup_root(b, &what);
	if (r == 0)
		r = ns_finish_root(&what);
	if (r < 0)
		fail(errfd, -r, what);
	/*
	 * Process cap without cgroups: since Linux 5.14 RLIMIT_NPROC is counted
	 * per user namespace, and the limit in force when U2 is created bounds
	 * every process below it, whatever its uid. Nothing inside can raise it
	 * (that needs CAP_SYS_RESOURCE in the initial namespace).
	 */
	{
		struct rlimit rl = {.rlim_cur = b->limits.pids, .rlim_max = b->limits.pids};
		if (b->limits.pids && setrlimit(RLIMIT_NPROC, &rl) < 0)
			fail(errfd, errno, "set the process limit");
	}
	/* U2: from here on nothing can undo the mounts or touch the network namespace. */
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		fail(errfd, errno, "create nested user namespace");
	if (sync_send(hsync, 'U') < 0 || sync_wait(hsync) < 0)
		fail(errfd, EPROTO, "nested user namespace id map");
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		fail(errfd, errno, "become root of the nested user namespace");
	if (b->map.multi && !b->map.rootless)
		setgroups(0, NULL);
	if (ns_caps_limit(b->restricted) < 0)
		fail(errfd, errno, "limit capabilities");
	if (dup2(b->chan_fd, 3) < 0)
		fail(errfd, errno, "channel fd");
	{
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(b->log_fd >= 0 ? b->log_fd : nul, 2) < 0)
			fail(errfd, errno, "stdio");
		close(nul);
	}
	/* Everything but stdio, the channel, the error pipe and agentd itself goes. */
	{
		const int keep[] = {3, errfd, b->agentd_fd};
		close_all_except(keep, ARRAY_SIZE(keep));
	}
	/* credentials changed above: make sure the parent-death signal is still armed */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		fail(errfd, errno, "parent-death signal");
	r = ns_seccomp_install(&what);
	if (r < 0)
		fail(errfd, -r, what);
	syscall(SYS_execveat, b->agentd_fd, "", b->restricted ? argv_restricted : argv_default, envp, AT_EMPTY_PATH);
	fail(errfd, errno, "exec agentd");
}

/*
 * Write the identity map of P1's nested namespace U2. The writer must be in
 * U2's parent (U1) with CAP_SETUID/CAP_SETGID there, which is why H does it.
 * Returns NULL, or the failed step with errno set.
 */
static const char *write_nested_map(int procfd, pid_t p1, const struct ns_idmap *m)
{
	char path[64], map[64];
	const char *step = NULL;
	int fd;

	/*
	 * Each extent must fall inside one extent of U1's map, so mirror its
	 * shape: rootless U1 maps uid 0 and the subordinate range separately.
	 */
	if (m->use_helpers)
		snprintf(map, sizeof(map), "0 0 1\n1 1 %u\n", m->count - 1);
	else
		snprintf(map, sizeof(map), "0 0 %u\n", m->count);
	if (m->rootless && !m->multi) {
		snprintf(path, sizeof(path), "%d/setgroups", (int)p1);
		fd = openat(procfd, path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "deny", 4) != 4)
			step = "deny setgroups";
		if (fd >= 0)
			close(fd);
	}
	for (int i = 0; !step && i < 2; i++) {
		snprintf(path, sizeof(path), "%d/%s", (int)p1, i ? "gid_map" : "uid_map");
		fd = openat(procfd, path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, map, strlen(map)) != (ssize_t)strlen(map))
			step = i ? "write gid_map" : "write uid_map";
		if (fd >= 0) {
			int e = errno;
			close(fd);
			errno = e;
		}
	}
	return step;
}

/* SCM_RIGHTS carries at most 253 fds per message. */
#define FDS_PER_MSG 200

static int send_fds(int sock, const int *fds, size_t n)
{
	for (size_t off = 0; off < n; off += FDS_PER_MSG) {
		size_t k = n - off < FDS_PER_MSG ? n - off : FDS_PER_MSG;
		char ctl[CMSG_SPACE(sizeof(int) * FDS_PER_MSG)] = {0}, c = 'F';
		struct iovec io = {&c, 1};
		struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = ctl,
				   .msg_controllen = CMSG_SPACE(sizeof(int) * k)};
		struct cmsghdr *h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int) * k);
		memcpy(CMSG_DATA(h), fds + off, sizeof(int) * k);
		if (sendmsg(sock, &m, MSG_NOSIGNAL) != 1)
			return -1;
	}
	return 0;
}

static int recv_layer_fds(int sock, int *fds, size_t n)
{
	for (size_t off = 0; off < n;) {
		char ctl[CMSG_SPACE(sizeof(int) * FDS_PER_MSG)], c;
		struct iovec io = {&c, 1};
		struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
		struct cmsghdr *h;
		size_t k;
		errno = 0;
		if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1 || c != 'F' || (m.msg_flags & MSG_CTRUNC))
			return -1;
		h = CMSG_FIRSTHDR(&m);
		if (!h || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			return -1;
		k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (k == 0 || k > n - off)
			return -1;
		memcpy(fds + off, CMSG_DATA(h), sizeof(int) * k);
		off += k;
	}
	return 0;
}

/*
 * Root: each layer of the store becomes a detached, read-only tree whose ids
 * are mapped through the sandbox's user namespace (an id-mapped mount), so
 * the image's uid 0 is the sandbox's root on the host and no two sandboxes
 * share host ids, while the store keeps one copy of every layer.
 */
static int make_layer_trees(const struct ns_boot *b, pid_t h, int *fds, msb_error *err)
{
	char path[64];
	_cleanup_close_ int userns = -1;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)h);
	userns = open(path, O_RDONLY | O_CLOEXEC);
	if (userns < 0)
		return msb_err_sys(err, errno, "open the sandbox's user namespace");
	for (size_t i = 0; i < b->n_layers && r == 0; i++) {
		struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV |
						   MOUNT_ATTR_NOSUID,
				       .userns_fd = (uint64_t)userns};
		fds[i] = (int)syscall(SYS_open_tree, AT_FDCWD, b->layers[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
										 AT_RECURSIVE | AT_SYMLINK_NOFOLLOW);
		if (fds[i] < 0)
			r = msb_err_sys(err, errno, "open image layer %s (run `msb pull` again)", b->layers[i]);
		else if (syscall(SYS_mount_setattr, fds[i], "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
			r = msb_err_sys(err, errno, "id-map image layer %s (the filesystem of $MSB_HOME must "
						    "support id-mapped mounts: ext4, xfs, btrfs, tmpfs)",
					b->layers[i]);
	}
	return r;
}

/* H: owns U1; forks P1 and writes U2's id map for it. Never returns. */
static _Noreturn void helper_main(const struct ns_boot *b, int errfd, int ssync)
{
	int hs[2], status, procfd, ctl = -1;
	char c;
	pid_t p1;

	const int keep[] = {errfd, ssync, b->fs_dirfd, b->agentd_fd, b->chan_fd, b->log_fd};

	close_all_except(keep, ARRAY_SIZE(keep));
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		fail(errfd, errno, "set parent-death signal");
	if (fchdir(b->fs_dirfd) < 0)
		fail(errfd, errno, "enter the sandbox directory");
	if (unshare(CLONE_NEWUSER) < 0)
		fail(errfd, errno, "create user namespace (are user namespaces enabled?)");
	if (sync_send(ssync, 'U') < 0 || sync_wait(ssync) < 0)
		_exit(1); /* the supervisor reports why */
	if (b->n_layers && !b->map.rootless && recv_layer_fds(ssync, b->layer_fds, b->n_layers) < 0)
		fail(errfd, errno ? errno : EPROTO, "receive the image layers");
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		fail(errfd, errno, "become root of the user namespace");
	/*
	 * Changing our host uid cleared the dumpable flag, which would make
	 * /proc/<pid> of P1 (a fork of us) root-owned and its id map
	 * unwritable for us. Nothing untrusted runs in this process or in P1
	 * before agentd, which clears the flag again.
	 */
	if (prctl(PR_SET_DUMPABLE, 1) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		fail(errfd, errno, "prctl");
	if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP) < 0)
		fail(errfd, errno, "create namespaces");
	if (unshare(CLONE_NEWPID) < 0)
		fail(errfd, errno, "create PID namespace");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, hs) < 0)
		fail(errfd, errno, "socketpair");
	/*
	 * P1's pivot_root will move our root too (same mount namespace), so keep a
	 * handle on the host's /proc, where P1 is known by its host pid.
	 */
	procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		fail(errfd, errno, "open /proc");
	p1 = fork();
	if (p1 < 0)
		fail(errfd, errno, "fork sandbox init");
	if (p1 == 0) {
		close(hs[0]);
		p1_main(b, errfd, hs[1]);
	}
	close(hs[1]);
	/*
	 * The network namespace is set up while P1 builds the root (they run in
	 * parallel); P1 cannot exec anything before H has answered its request
	 * for the nested id map below, which comes after this, so no workload
	 * ever runs before the rules are in place.
	 */
	if (b->net) {
		const char *what;
		int r = ns_net_setup(ssync, &ctl, &what);
		if (r < 0)
			fail(errfd, -r, what);
	}
	/*
	 * From here H only writes P1's map and waits. It runs as the sandbox's
	 * root on the host: make it non-dumpable (its /proc becomes root-owned,
	 * out of reach of the same host uid inside) and drop the environment it
	 * inherited from the starter.
	 */
	prctl(PR_SET_DUMPABLE, 0);
	clearenv();
	if (read(hs[0], &c, 1) == 1 && c == 'U') {
		const char *step = write_nested_map(procfd, p1, &b->map);
		if (step) {
			char msg[256];
			int n = snprintf(msg, sizeof(msg), "nested user namespace: %s: %s", step, strerror(errno));
			(void)!write(errfd, msg, (size_t)n);
		}
		sync_send(hs[0], step ? 'X' : 'G');
	}
	close(errfd);
	close(procfd);
	close(hs[0]);
	/* H stays in the sandbox's network namespace: it creates the sockets published ports connect with */
	status = ns_net_serve(ctl, p1);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int ns_boot_start(const struct ns_boot *b, pid_t *helper_out, msb_error *err)
{
	int ep[2], ss[2], r, *trees = NULL;
	char msg[600];
	ssize_t n;
	pid_t h;

	if (pipe2(ep, O_CLOEXEC) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ss) < 0)
		return msb_err_sys(err, errno, "cannot create boot pipes");
	h = fork();
	if (h < 0)
		return msb_err_sys(err, errno, "cannot fork the sandbox helper");
	if (h == 0) {
		close(ep[0]);
		close(ss[0]);
		helper_main(b, ep[1], ss[1]);
	}
	close(ep[1]);
	close(ss[1]);
	if (sync_expect(ss[0], 'U') == 0) {
		r = ns_idmap_apply(&b->map, h, err);
		/*
		 * Into the cgroups before the helper creates any sandbox process,
		 * only when a cap was asked for: a v1 cgroup move waits for an RCU
		 * grace period (~10 ms), too much to pay by default.
		 */
		if (r == 0 && b->cgroup_name && (b->limits.cpus || b->limits.memory_mib))
			r = ns_cgroup_apply(b->cgroup_name, &b->limits, h, err);
	} else
		r = 0; /* the helper failed before unsharing; its message is on the error pipe */
	if (r == 0 && b->n_layers && !b->map.rootless) {
		trees = xmalloc(b->n_layers * sizeof(int));
		for (size_t i = 0; i < b->n_layers; i++)
			trees[i] = -1;
		r = make_layer_trees(b, h, trees, err);
	}
	sync_send(ss[0], r == 0 ? 'G' : 'X');
	if (trees) {
		if (r == 0 && send_fds(ss[0], trees, b->n_layers) < 0)
			r = msb_err_sys(err, errno, "hand the image layers to the sandbox");
		for (size_t i = 0; i < b->n_layers; i++)
			if (trees[i] >= 0)
				close(trees[i]);
		free(trees);
	}
	if (r == 0 && b->net && ns_net_receive(ss[0], b->net_out) < 0)
		r = 0; /* no sockets: the helper failed and says why on the error pipe (checked below) */
	close(ss[0]);
	/* the sandbox builds itself now; let the caller use the wait */
	if (r == 0 && b->while_booting)
		b->while_booting(b->while_booting_arg);
	n = util_read_full(ep[0], msg, sizeof(msg) - 1);
	close(ep[0]);
	if (r == 0 && n > 0) {
		msg[n] = '\0';
		r = msb_err_set(err, MSB_ERR_SYSTEM, 0, "sandbox boot failed: %s", msg);
	}
	if (r < 0) {
		kill(h, SIGKILL);
		waitpid(h, NULL, 0);
		return r;
	}
	*helper_out = h;
	return 0;
}
