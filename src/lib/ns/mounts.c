// SPDX-License-Identifier: Apache-2.0
/*
 * mounts.c - build the sandbox's root inside its mount namespace.
 *
 * Runs in the sandbox's first process (PID 1, outer user namespace U1),
 * before agentd is exec'd. Steps, in order:
 *   1. make every inherited mount private (nothing propagates back to the host);
 *   2. overlay the image's lower dir with the sandbox's private upper dir;
 *   3. host image: bind the host's /usr read-only (and /etc/ssl/certs,
 *      /etc/alternatives, which the generated /etc refers to);
 *   4. fresh /proc for the new PID namespace, with the OCI-style masked paths;
 *      /sys read-only; a minimal /dev (tmpfs + bound null, zero, full,
 *      random, urandom, tty; private devpts; /dev/shm);
 *   5. pivot_root into it and detach the old root.
 * Afterwards the process enters a nested user namespace U2 (boot.c), which
 * locks all of these mounts: U2 cannot remount the read-only binds writable or
 * unmount the masks (mount_too_revealing / MNT_LOCKED in the kernel).
 *
 * The sandbox's own directories are reached relative to the cwd (see
 * mount_root); host system directories by their absolute paths.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <linux/mount.h>

#include "ns/ns.h"

#define STEP(what_ptr, label, expr)                                                                           \
	do {                                                                                                  \
		if ((expr) < 0) {                                                                             \
			*(what_ptr) = (label);                                                                \
			return -errno;                                                                        \
		}                                                                                             \
	} while (0)

/* Flags a bind remount must keep: the kernel refuses to drop locked ones. */
static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

/* Bind @src onto @dst (relative to the new root, our cwd) read-only. */
static int bind_ro(const char *src, const char *dst, unsigned long extra)
{
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -1;
	return mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags(dst) | extra, NULL);
}

/*
 * Make sure @rel (relative to the new root, our cwd) is a real directory,
 * component by component. The writable layer persists across boots, so a
 * sandbox can leave a symlink where a mount point belongs; before the pivot
 * an absolute link would resolve on the host, so it is replaced by an empty
 * directory (a whiteout in the upper layer) instead of being followed. No
 * sandbox process exists during boot, so nothing can race this check.
 */
static int ensure_dir(const char *rel, mode_t mode)
{
	char path[256];
	struct stat st;
	size_t n = strlen(rel);

	if (n >= sizeof(path))
		return -1;
	for (size_t i = 0; i <= n; i++) {
		if (rel[i] != '/' && rel[i] != '\0')
			continue;
		memcpy(path, rel, i);
		path[i] = '\0';
		if (lstat(path, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				continue;
			if (unlink(path) < 0)
				return -1;
		} else if (errno != ENOENT) {
			return -1;
		}
		if (mkdir(path, 0755) < 0 || (i == n && chmod(path, mode) < 0))
			return -1;
	}
	return 0;
}

static int bind_optional_ro(const char *src, const char *dst)
{
	struct stat st;
	if (stat(src, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (ensure_dir(dst, 0755) < 0)
		return -1;
	return bind_ro(src, dst, MS_NOSUID | MS_NODEV);
}

static int setup_dev(const char **what)
{
	static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
	char src[64], dst[64];

	STEP(what, "mount /dev", mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=65536k"));
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		int fd;
		snprintf(src, sizeof(src), "/dev/%s", nodes[i]);
		snprintf(dst, sizeof(dst), "dev/%s", nodes[i]);
		fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
		if (fd >= 0)
			close(fd);
		STEP(what, "bind /dev node", mount(src, dst, NULL, MS_BIND, NULL));
	}
	mkdir("dev/pts", 0755);
	mkdir("dev/shm", 01777);
	if (mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5") <
	    0)
		STEP(what, "mount devpts",
		     mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"));
	STEP(what, "symlink /dev/ptmx", symlink("pts/ptmx", "dev/ptmx"));
	STEP(what, "mount /dev/shm",
	     mount("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=1g,nr_inodes=65536"));
	symlink("/proc/self/fd", "dev/fd");
	symlink("/proc/self/fd/0", "dev/stdin");
	symlink("/proc/self/fd/1", "dev/stdout");
	symlink("/proc/self/fd/2", "dev/stderr");
	return 0;
}

/*
 * Masks as mainstream OCI runtimes apply them. Directories that must stay
 * readable become read-only binds of themselves; the rest are covered. These
 * are unconditional: a W_OK probe on /proc/sys fails for everyone, so a
 * "remount only if writable" check would never fire.
 */
static int mask_proc(const char **what)
{
	static const char *const ro_dirs[] = {"proc/sys", "proc/sysrq-trigger", "proc/irq", "proc/bus", "proc/fs"};
	static const char *const null_files[] = {"proc/kcore", "proc/keys", "proc/timer_list", "proc/sched_debug",
						 "proc/latency_stats", "proc/timer_stats", "proc/kallsyms",
						 "proc/kmsg", "proc/kpagecount", "proc/kpageflags", "proc/config.gz"};
	static const char *const empty_dirs[] = {"proc/acpi", "proc/scsi", "proc/asound", "proc/firmware",
						 "proc/driver"};
	struct stat st;

	for (size_t i = 0; i < ARRAY_SIZE(ro_dirs); i++) {
		if (lstat(ro_dirs[i], &st) < 0)
			continue;
		STEP(what, "mask /proc (read-only)", bind_ro(ro_dirs[i], ro_dirs[i], MS_NOSUID | MS_NODEV | MS_NOEXEC));
	}
	for (size_t i = 0; i < ARRAY_SIZE(null_files); i++) {
		if (lstat(null_files[i], &st) < 0)
			continue;
		STEP(what, "mask /proc file", mount("dev/null", null_files[i], NULL, MS_BIND, NULL));
	}
	for (size_t i = 0; i < ARRAY_SIZE(empty_dirs); i++) {
		if (lstat(empty_dirs[i], &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		STEP(what, "mask /proc dir",
		     mount("tmpfs", empty_dirs[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0"));
	}
	return 0;
}

/*
 * An OCI image: the tmpfs at @lower holds g/, the generated layer on top
 * (rootfs_oci_gen), and s/<i>, where each image layer is attached: as root
 * the id-mapped tree the supervisor made (move_mount), rootless a bind of
 * the store's directory. @dirs receives overlay's lowerdir list, relative
 * to the cwd, top layer first.
 */
static int stage_layers(const struct ns_boot *b, const char *lower, char *dirs, size_t size, const char **what)
{
	char path[128];
	size_t off;
	int r;

	snprintf(path, sizeof(path), "%s/g", lower);
	STEP(what, "create the generated layer", mkdir(path, 0755));
	r = rootfs_oci_gen(path, b->hostname);
	if (r < 0) {
		*what = "write the generated layer";
		return r;
	}
	snprintf(path, sizeof(path), "%s/s", lower);
	STEP(what, "create the layer mount points", mkdir(path, 0700));
	off = (size_t)snprintf(dirs, size, "%s/g", lower);
	for (size_t i = b->n_layers; i-- > 0;) {
		snprintf(path, sizeof(path), "%s/s/%zu", lower, i);
		STEP(what, "create a layer mount point", mkdir(path, 0755));
		if (b->layer_fds && b->layer_fds[i] >= 0) {
			STEP(what, "attach an image layer",
			     syscall(SYS_move_mount, b->layer_fds[i], "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH));
			close(b->layer_fds[i]);
		} else {
			/* read-only like the id-mapped trees: the store is never written through a sandbox */
			STEP(what, "bind an image layer read-only", bind_ro(b->layers[i], path, MS_NOSUID | MS_NODEV));
		}
		off += (size_t)snprintf(dirs + off, off < size ? size - off : 0, ":%s", path);
	}
	if (off >= size) {
		*what = "mount overlay root (too many image layers)";
		return -E2BIG;
	}
	return 0;
}

/*
 * Our cwd is the sandbox's fs/ directory (boot.c fchdir'd there before the
 * namespaces were created; unshare(CLONE_NEWNS) moved it to the new copy).
 * Overlay options are resolved relative to it: an fd from the host's mount
 * namespace would not do, overlayfs refuses layers outside the mounter's
 * namespace, and the sandbox's ids cannot search $MSB_HOME's ancestors.
 */
static int mount_root(const struct ns_boot *b, const char **what)
{
	const char *lower = "lower", *upper = "upper", *work = "work", *target = "merged";
	char dirs[3800], opts[4096];
	int r;

	if (b->ephemeral) {
		/*
		 * Ephemeral: our cwd is the sandbox directory and every layer lives
		 * in one tmpfs over fs/ (its pages count against the sandbox's
		 * memory cgroup); nothing is written to disk, nothing left to delete.
		 */
		/*
		 * Bounded like the reference's default root disk (4 GiB), and never
		 * more than half the host's memory: without --memory, nothing else
		 * would stop a sandbox from filling RAM through its root.
		 */
		struct sysinfo si;
		unsigned long long cap = 4096ULL << 20;
		char opts_buf[64];
		if (sysinfo(&si) == 0 && (unsigned long long)si.totalram * si.mem_unit / 2 < cap)
			cap = (unsigned long long)si.totalram * si.mem_unit / 2;
		snprintf(opts_buf, sizeof(opts_buf), "mode=0755,size=%llu", cap);
		STEP(what, "mount the sandbox's memory filesystem",
		     mount("tmpfs", "fs", "tmpfs", MS_NOSUID | MS_NODEV, opts_buf));
		STEP(what, "create the layers",
		     (mkdir("fs/l", 0755) || mkdir("fs/u", 0755) || mkdir("fs/w", 0755) || mkdir("fs/m", 0755)) ? -1 : 0);
		lower = "fs/l";
		upper = "fs/u";
		work = "fs/w";
		target = "fs/m";
	} else {
		/*
		 * Our cwd is fs/. The image layer is generated at every boot, so it
		 * lives in memory: a small tmpfs over fs/lower; the writable layer is
		 * fs/upper on disk and survives restarts.
		 */
		STEP(what, "mount the image layer", mount("tmpfs", "lower", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=4m"));
	}
	if (b->host_image) {
		r = rootfs_host_build_lower(lower, b->hostname, b->map.multi);
		if (r < 0) {
			*what = "build the host image layer";
			return r;
		}
		snprintf(dirs, sizeof(dirs), "%s", lower);
	} else {
		r = stage_layers(b, lower, dirs, sizeof(dirs), what);
		if (r < 0)
			return r;
	}
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s,userxattr", dirs, upper, work);
	STEP(what, "mount overlay root", mount("overlay", target, "overlay", MS_NOSUID | MS_NODEV, opts));
	STEP(what, "enter new root", chdir(target));
	return 0;
}

int ns_setup_root(const struct ns_boot *b, const char **what)
{
	int r;

	STEP(what, "make mounts private", mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	r = mount_root(b, what);
	if (r < 0)
		return r;
	for (const char *const *d = (const char *const[]){"usr", "proc", "sys", "dev", NULL}; *d; d++)
		STEP(what, "repair a mount point in the sandbox root", ensure_dir(*d, 0755));
	STEP(what, "repair /tmp", ensure_dir("tmp", 01777));
	if (b->host_image) {
		STEP(what, "bind /usr read-only", bind_ro("/usr", "usr", MS_NOSUID | MS_NODEV));
		STEP(what, "bind /etc/ssl/certs", bind_optional_ro("/etc/ssl/certs", "etc/ssl/certs"));
		STEP(what, "bind /etc/alternatives", bind_optional_ro("/etc/alternatives", "etc/alternatives"));
	}
	STEP(what, "mount /proc", mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
	if (mount("sysfs", "sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		STEP(what, "bind /sys read-only", bind_ro("/sys", "sys", MS_NOSUID | MS_NODEV | MS_NOEXEC));
	r = setup_dev(what);
	if (r < 0)
		return r;
	r = mask_proc(what);
	if (r < 0)
		return r;
	return 0;
}

int ns_finish_root(const char **what)
{
	/* pivot_root(".", ".") stacks the old root under the new one; detach it. */
	STEP(what, "pivot_root", syscall(SYS_pivot_root, ".", "."));
	STEP(what, "detach old root", umount2(".", MNT_DETACH));
	STEP(what, "chdir /", chdir("/"));
	return 0;
}
