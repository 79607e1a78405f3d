/* SPDX-License-Identifier: Apache-2.0 */
/* seccomp_rules.h - the default filter's rules (see seccomp_rules.c). */
#ifndef MSB_SECCOMP_RULES_H
#define MSB_SECCOMP_RULES_H

#include <seccomp.h>

/* Build the default filter; NULL on failure. The caller releases it. */
scmp_filter_ctx seccomp_rules_build(void);

#endif
