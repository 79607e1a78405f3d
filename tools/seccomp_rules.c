// SPDX-License-Identifier: Apache-2.0
/*
 * seccomp_rules.c - the rules of the default seccomp filter every sandbox
 * gets (both profiles), expressed with libseccomp. tools/gen_seccomp.c
 * compiles them to BPF at build time (build/gen/seccomp_bpf.h); seccomp.c
 * loads that program, so no sandbox start pays for compiling the filter.
 *
 * The kernel is shared with the host, so syscalls that only widen its attack
 * surface are refused with EPERM (ENOSYS for clone3, so libc falls back to
 * clone, whose flags we can inspect). The list follows what mainstream
 * container runtimes deny; SECURITY.md publishes it. Foreign architectures
 * (i386 via int 0x80, x32) kill the process: the filter checks the audit arch
 * first (libseccomp's BADARCH action).
 */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "seccomp_rules.h"
#include "util.h"

static const char *const denied[] = {
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "create_module",
	"bpf", "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd", "io_uring_setup",
	"io_uring_enter", "io_uring_register", "open_by_handle_at", "name_to_handle_at", "reboot", "swapon",
	"swapoff", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "acct", "quotactl",
	"quotactl_fd", "lookup_dcookie", "nfsservctl", "syslog", "vhangup", "uselib", "ustat", "sysfs",
	"_sysctl", "get_kernel_syms", "query_module", "iopl", "ioperm", "fanotify_init", "kcmp",
	"pidfd_getfd", "mount_setattr", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
};

scmp_filter_ctx seccomp_rules_build(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r = 0;

	if (!ctx)
		return NULL;
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	/*
	 * libseccomp sets no_new_privs by default. The default profile keeps
	 * setuid semantics inside the sandbox (we hold CAP_SYS_ADMIN in our own
	 * user namespace, which lets us load the filter without it); the
	 * restricted profile sets no_new_privs per command in agentd.
	 */
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(denied); i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	}
	/* no nested user namespaces: a fresh one would hand the workload a full capability set again */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/*
	 * Socket families: unix, inet, inet6 and netlink only. The others are
	 * kernel attack surface, and some are not confined by the network
	 * namespace at all (AF_VSOCK reaches the hypervisor and other guests).
	 * The kernel reads the domain as a 32-bit int, so compare masked.
	 */
	for (int d = 0; r == 0 && d < 64; d++) {
		if (d == AF_UNIX || d == AF_INET || d == AF_INET6 || d == AF_NETLINK)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, (scmp_datum_t)d));
		if (r == 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socketpair), 1,
					     SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, (scmp_datum_t)d));
	}
	/* terminal injection: TIOCSTI pushes input into a terminal, TIOCLINUX can too */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX));
	if (r < 0) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}
