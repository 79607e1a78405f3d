// SPDX-License-Identifier: Apache-2.0
/*
 * seccomp.c - install the default seccomp filter: the BPF program compiled at
 * build time from tools/seccomp_rules.c (build/gen/seccomp_bpf.h). The
 * program starts with the audit-architecture check, so foreign system call
 * ABIs are killed. Loaded without no_new_privs: the caller holds
 * CAP_SYS_ADMIN in its own user namespace, and the default profile keeps
 * setuid semantics inside the sandbox.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "ns/ns.h"
#include "seccomp_bpf.h"

int ns_seccomp_install(const char **what)
{
	struct sock_fprog prog = {.len = (unsigned short)ARRAY_SIZE(ns_seccomp_prog),
				  .filter = (struct sock_filter *)ns_seccomp_prog};
	*what = "seccomp";
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}
