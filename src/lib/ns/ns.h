/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ns.h - the `ns` backend: user-namespace id maps, the sandbox root, the
 * seccomp filter and the boot sequence that turns a supervisor's request into
 * a running agentd (PID 1 of the sandbox).
 */
#ifndef MSB_NS_H
#define MSB_NS_H

#include <stdbool.h>
#include <sys/types.h>

#include "util.h"

/* How sandbox ids 0..count-1 map to host ids. */
struct ns_idmap {
	bool rootless;
	bool multi;	    /* more than one id mapped */
	bool use_helpers;   /* rootless with subordinate ids: newuidmap/newgidmap */
	uid_t root_uid;	    /* host uid of sandbox uid 0 */
	gid_t root_gid;	    /* host gid of sandbox gid 0 */
	uid_t sub_uid;	    /* host start of sandbox ids 1.. (rootless), or root_uid + 1 */
	gid_t sub_gid;
	unsigned count;	    /* ids mapped (65536, or 1 without subordinate ids) */
	char warning[512];  /* why the map is limited, when it is */
};

/**
 * ns_idmap_plan() - decide the id map for the calling user.
 * Root maps a dedicated range (root's /etc/subuid entry, else NS_ROOT_ID_BASE);
 * others use their subordinate ids, or only their own id when none are configured.
 */
int ns_idmap_plan(struct ns_idmap *m, msb_error *err);
#define NS_ROOT_ID_BASE 1000000000u
/* Per-sandbox ranges for root: NS_ROOT_ID_BASE + slot * NS_ID_COUNT, slot < NS_ROOT_ID_SLOTS. */
#define NS_ROOT_ID_SLOTS 32768u
#define NS_ROOT_ID_LAST	 (NS_ROOT_ID_BASE + (NS_ROOT_ID_SLOTS - 1) * NS_ID_COUNT)
#define NS_ID_COUNT	65536u

/* Run @fn(@arg) as root of a user namespace with the sandbox id map (fn returns 0 on success). */
int ns_userns_call(int (*fn)(void *), void *arg, msb_error *err);

/*
 * fs_rm_rf_at(), and where the user may not (a rootless tree holds files of
 * subordinate ids) again as root of a user namespace with the sandbox map.
 * 0 or -errno.
 */
int ns_rm_rf_at(int dirfd, const char *name);

/* Write the maps of @pid's (new) user namespace per @m. */
int ns_idmap_apply(const struct ns_idmap *m, pid_t pid, msb_error *err);

/* Resource caps; 0 = none. */
struct ns_limits {
	unsigned cpus;
	unsigned long long memory_mib;
	unsigned long long pids; /* RLIMIT_NPROC for the whole sandbox */
};
#define NS_DEFAULT_PIDS 4096

/* cgroup.c: create the sandbox's cgroups, apply @lim and move @pid in. Requested caps that cannot be applied fail. */
int ns_cgroup_apply(const char *name, const struct ns_limits *lim, pid_t pid, msb_error *err);
void ns_cgroup_remove(const char *name);

/* net.c: the sandbox's network namespace (docs/network.md). */
enum { NS_NET_TCP4, NS_NET_TCP6, NS_NET_UDP4, NS_NET_UDP6, NS_NET_NFDS };
#define NS_NET_MAGIC 0x6d73626eu
/* What the helper sends with the sockets. */
struct ns_net_info {
	uint32_t magic;
	uint32_t v6; /* IPv6 is configured; else the *6 sockets are placeholders */
};
/* The supervisor's sockets inside the sandbox's namespace; -1 for an inactive family. */
struct ns_net_fds {
	int fd[NS_NET_NFDS];
	bool v6;
	int ctl; /* SOCK_SEQPACKET to H's socket service (ns_net_serve()), or -1 */
};
/* In H, inside the new network namespace: configure it, apply the nftables rules (nft.c), send the
 * sockets over @sock. Returns 0 or -errno with @what naming the step.
 * *@ctl_out receives H's end of the socket service (ns_net_serve()). */
int ns_net_setup(int sock, int *ctl_out, const char **what);
/* nft.c: the redirect/filter ruleset for the supervisor's sockets at @port, as one atomic batch. 0 or -errno. */
int ns_nft_apply(const uint16_t port[NS_NET_NFDS], bool v6);

/*
 * The socket service: sockets of the sandbox's network namespace can only be
 * created by a process inside it, and a rootless supervisor cannot enter it.
 * H, which lives there for the sandbox's whole life, answers each request on
 * a SOCK_SEQPACKET pair with a new TCP socket (SCM_RIGHTS), which the
 * supervisor then connects into the sandbox (published ports).
 */
struct ns_sock_req {
	uint32_t id;	 /* echoed in the reply */
	int32_t family;	 /* AF_INET or AF_INET6 */
};
struct ns_sock_rep {
	uint32_t id;
	int32_t err; /* 0: the socket travels with this message; else an errno */
};
/* In H: serve socket requests on @ctl until @child exits; returns its wait status. */
int ns_net_serve(int ctl, pid_t child);
/* In the supervisor: receive what ns_net_setup() sent. 0 or -errno (-EPIPE: the helper failed). */
int ns_net_receive(int sock, struct ns_net_fds *out);

struct ns_boot {
	int fs_dirfd;	 /* sandbox fs dir: lower/, upper/, work/, merged/ (owned by sandbox root) */
	int agentd_fd;	 /* the agentd executable */
	int chan_fd;	 /* agent end of the channel socketpair; becomes fd 3 */
	int log_fd;	 /* where agentd's stderr goes, or -1 */
	const char *hostname;
	bool restricted;
	bool host_image; /* bind the host's /usr read-only */
	bool ephemeral;	 /* the writable layer lives in memory and vanishes with the sandbox */
	struct ns_idmap map;
	const char *cgroup_name; /* sandbox name for its cgroups */
	/* called while the sandbox builds its root (the supervisor records its state meanwhile) */
	void (*while_booting)(void *arg);
	void *while_booting_arg;
	struct ns_limits limits;
	/*
	 * OCI image: the unpacked layers, bottom first, as absolute host paths.
	 * As root, ns_boot_start() turns each into a read-only tree id-mapped
	 * into the sandbox's user namespace (the store keeps the image's own
	 * ids, the sandbox has a range of its own); rootless, the store already
	 * holds them in the user's subordinate ids and they are bound as they are.
	 */
	const char *const *layers;
	size_t n_layers;
	int *layer_fds; /* n_layers slots, -1 = bind by path; filled in the helper */
	/* network: true for a namespace with the guest interface and the chokepoint (net.c), whose
	 * sockets ns_boot_start() puts in *net_out; false for one with only lo */
	bool net;
	struct ns_net_fds *net_out;
};

/**
 * ns_boot_start() - create the sandbox and exec agentd in it.
 * @b: what to build; all fds are borrowed
 * @helper_out: pid of the helper process whose exit means the sandbox is gone
 *
 * Returns once agentd has been exec'd, or with the stage and reason of the
 * failure in @err. The helper is our child; the sandbox dies with us
 * (PR_SET_PDEATHSIG at every level).
 */
int ns_boot_start(const struct ns_boot *b, pid_t *helper_out, msb_error *err);

/* Inside the sandbox during boot (mounts.c). Return 0 or -errno with @what naming the step. */
int ns_setup_root(const struct ns_boot *b, const char **what);
int ns_finish_root(const char **what);

/* seccomp.c: install the default filter in the calling process. */
int ns_seccomp_install(const char **what);
/* caps.c: limit the bounding set to the documented default set. */
int ns_caps_limit(bool restricted);

/* rootfs_host.c: the built-in `host` image, and the files generated over an OCI image. */
/* Write etc/hostname, etc/hosts and etc/resolv.conf into the (fresh, empty) directory @dir. -errno. */
int rootfs_oci_gen(const char *dir, const char *hostname);
/* Build the image's lower layer in directory @dir (a fresh tmpfs, inside the sandbox during boot). -errno. */
int rootfs_host_build_lower(const char *dir, const char *hostname, bool multi_ids);
int rootfs_host_write_etc(int etc_dirfd, const char *hostname, bool multi_ids);

#endif
