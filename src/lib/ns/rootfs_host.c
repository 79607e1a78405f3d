// SPDX-License-Identifier: Apache-2.0
/*
 * rootfs_host.c - the built-in `host` image (DESIGN.md §5).
 *
 * The lower layer is a small generated skeleton: top-level directories, the
 * merged-/usr symlinks copied from the host (/bin -> usr/bin, ...), and empty
 * mount points. At boot the host's /usr is bound read-only over it and a
 * minimal /etc is generated in the sandbox's private upper layer: passwd,
 * group, hosts, hostname, resolv.conf, nsswitch.conf, profile, copies of
 * ld.so.cache and os-release, and read-only binds of /etc/ssl/certs and
 * /etc/alternatives. Nothing of /home, /root, /etc/shadow or the host's
 * other /etc files exists inside.
 *
 * The lower layer is built at each boot on a small tmpfs mounted over the
 * sandbox's fs/lower (inside the sandbox's mount namespace, by its first
 * process, so it is owned by sandbox root): nothing is allocated on disk for
 * it and nothing is left to delete. The sandbox's own changes, /etc edits
 * included, live in the upper layer on disk and win over the fresh lower.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "net/netcfg.h"
#include "ns/ns.h"
#include "sandbox.h"

struct skel_entry {
	const char *path;
	mode_t mode; /* 0 = symlink copied from the host if it is one there */
};

static const struct skel_entry skeleton[] = {
	{"usr", 0755},	   {"etc", 0755},     {"etc/ssl", 0755},  {"etc/ssl/certs", 0755}, {"etc/alternatives", 0755},
	{"tmp", 01777},	   {"var", 0755},     {"var/tmp", 01777}, {"var/lib", 0755},       {"var/cache", 0755},
	{"var/log", 0755}, {"proc", 0555},    {"sys", 0555},	  {"dev", 0755},	   {"run", 0755},
	{"root", 0700},	   {"mnt", 0755},     {"opt", 0755},	  {"srv", 0755},	   {"bin", 0},
	{"sbin", 0},	   {"lib", 0},	      {"lib32", 0},	  {"lib64", 0},		   {"libx32", 0},
};

static int build_skeleton(int dfd)
{
	char target[256];

	for (size_t i = 0; i < ARRAY_SIZE(skeleton); i++) {
		const char *p = skeleton[i].path;
		if (skeleton[i].mode == 0) {
			char host[64];
			ssize_t n;
			snprintf(host, sizeof(host), "/%s", p);
			n = readlink(host, target, sizeof(target) - 1);
			if (n < 0)
				continue; /* absent, or a real directory: not merged-/usr, not offered */
			target[n] = '\0';
			if (symlinkat(target, dfd, p) < 0)
				return -errno;
		} else if (mkdirat(dfd, p, skeleton[i].mode) < 0 || fchmodat(dfd, p, skeleton[i].mode, 0) < 0) {
			return -errno;
		}
	}
	return 0;
}

int rootfs_host_build_lower(const char *dir, const char *hostname, bool multi_ids)
{
	int dfd, etc, r;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	r = build_skeleton(dfd);
	if (r == 0) {
		etc = openat(dfd, "etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = etc < 0 ? -errno : rootfs_host_write_etc(etc, hostname, multi_ids);
		if (etc >= 0)
			close(etc);
	}
	close(dfd);
	return r;
}

static int put(int dirfd, const char *name, const char *text, int mode)
{
	return util_write_file_at(dirfd, name, text, strlen(text), mode);
}

static int copy_host_file(int dirfd, const char *host, const char *name)
{
	size_t len;
	char *data = util_read_file_at(AT_FDCWD, host, 64u << 20, &len);
	int r;
	if (!data)
		return errno == ENOENT ? 0 : -errno;
	r = util_write_file_at(dirfd, name, data, len, 0644);
	free(data);
	return r;
}

/* hostname, hosts (with host.microsandbox.internal) and resolv.conf: what describes this sandbox. */
static int write_sandbox_etc(int etc, const char *hostname)
{
	char hosts[1024], hn[300];
	int r = 0;

	snprintf(hn, sizeof(hn), "%s\n", hostname);
	r |= put(etc, "hostname", hn, 0644);
	snprintf(hosts, sizeof(hosts),
		 "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t%s\n"
		 NET_GW4 "\t" NET_HOST_NAME "\n" NET_GW6 "\t" NET_HOST_NAME "\n",
		 hostname);
	r |= put(etc, "hosts", hosts, 0644);
	/* the gateways: every query to any resolver is intercepted by the supervisor anyway (docs/network.md) */
	r |= put(etc, "resolv.conf", "nameserver " NET_GW4 "\nnameserver " NET_GW6 "\n", 0644);
	return r;
}

int rootfs_host_write_etc(int etc, const char *hostname, bool multi_ids)
{
	int r = 0;

	/* Users: only what the sandbox owns. With a single mapped id, other users could not exist. */
	{
		r |= put(etc, "passwd",
			 multi_ids ? "root:x:0:0:root:/root:/bin/sh\n"
				     "app:x:1000:1000:app:/home/app:/bin/sh\n"
				     "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
				   : "root:x:0:0:root:/root:/bin/sh\n",
			 0644);
		r |= put(etc, "group",
			 multi_ids ? "root:x:0:\ntty:x:5:\nusers:x:100:app\napp:x:1000:\nnogroup:x:65534:\n"
				   : "root:x:0:\n",
			 0644);
		r |= put(etc, "nsswitch.conf", "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n", 0644);
		r |= put(etc, "profile",
			 "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
			 "PS1='\\u@\\h:\\w\\$ '\n",
			 0644);
		r |= copy_host_file(etc, "/etc/ld.so.cache", "ld.so.cache");
		r |= copy_host_file(etc, "/usr/lib/os-release", "os-release");
		symlinkat("/usr/share/zoneinfo/Etc/UTC", etc, "localtime");
	}
	/* Regenerated at every boot: they describe this sandbox. */
	r |= write_sandbox_etc(etc, hostname);
	return r ? -EIO : 0;
}

/*
 * Over an OCI image the runtime owns only the files that describe this
 * sandbox (hostname, hosts, resolv.conf). They sit in a small generated layer above the image's layers, so
 * the image's own /etc shows through and the sandbox's edits (upper layer)
 * still win.
 */
int rootfs_oci_gen(const char *dir, const char *hostname)
{
	int dfd, etc, r;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (mkdirat(dfd, "etc", 0755) < 0 || (etc = openat(dfd, "etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = -errno;
		close(dfd);
		return r;
	}
	r = write_sandbox_etc(etc, hostname);
	close(etc);
	close(dfd);
	return r ? -EIO : 0;
}
