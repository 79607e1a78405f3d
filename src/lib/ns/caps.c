// SPDX-License-Identifier: Apache-2.0
/*
 * caps.c - the capability bounding set of every sandbox process.
 *
 * Sandbox root keeps, inside its own user namespace only, the set that
 * mainstream container runtimes grant by default: enough to chown, switch
 * users, bind low ports and kill its own processes, nothing that mounts,
 * loads modules or reconfigures the network. The bounding set is dropped
 * before agentd is exec'd, so agentd and everything it spawns inherit it.
 */
#include <linux/capability.h>
#include <sys/prctl.h>

#include "ns/ns.h"

static const int keep[] = {
	CAP_CHOWN,	  CAP_DAC_OVERRIDE, CAP_FSETID,	    CAP_FOWNER, CAP_MKNOD,   CAP_NET_RAW,	CAP_SETGID,
	CAP_SETUID,	  CAP_SETFCAP,	    CAP_SETPCAP,    CAP_NET_BIND_SERVICE,   CAP_SYS_CHROOT, CAP_KILL,
	CAP_AUDIT_WRITE,
};

int ns_caps_limit(bool restricted)
{
	(void)restricted; /* the restricted profile's extra drops happen per exec in agentd */
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
		bool k = false;
		for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
			k |= keep[i] == cap;
		if (!k && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	}
	return 0;
}
