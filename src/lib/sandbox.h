/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sandbox.h - internals shared by the lifecycle (sandbox.c), exec/copy
 * clients and the supervisor: paths, the control socket, supervisor spawn.
 */
#ifndef MSB_SANDBOX_H
#define MSB_SANDBOX_H

#include "store.h"
#include "util.h"

#define CTL_SOCK_NAME "control.sock"

/* Connect to a running sandbox's control socket. Return fd or negative msb error. */
int sandbox_ctl_connect(struct msb_ctx *ctx, const char *name, msb_error *err);
/*
 * Start the supervisor with @config_json and wait until its agent is ready.
 * @record (may be NULL) runs while the sandbox boots and must create the
 * sandbox's row; the supervisor records the run only after it returned 0.
 */
int sandbox_spawn_supervisor(struct msb_ctx *ctx, const char *name, const char *config_json,
			     int (*record)(void *arg), void *record_arg, msb_error *err);
/* Reconciled lookup: a Running row whose supervisor is gone becomes Crashed (or Stopped). */
int sandbox_get(struct msb_ctx *ctx, const char *name, msb_sandbox_info *out, msb_error *err);
/* Remove the sandbox directory tree (works for trees owned by subordinate ids too). */
int sandbox_remove_dir(struct msb_ctx *ctx, const char *name, msb_error *err);

/*
 * Move a sandbox's directory to $MSB_HOME/trash/ (one rename); returns the new
 * name (caller frees) or NULL. sandbox_remove_trash() deletes it; leftovers of
 * an interrupted removal are swept by the next msb_remove/ephemeral cleanup.
 */
char *sandbox_trash_dir(struct msb_ctx *ctx, const char *name);
void sandbox_remove_trash(struct msb_ctx *ctx, const char *trash_name);

/* supervisor.c: run a sandbox's supervisor in this process (see msb_supervisor_main). */
int supervisor_run(const char *home, const char *name, const char *config, int ready, int gate);

/* fsutil.c */
int fs_rm_rf_at(int dirfd, const char *name);
/* Bind or connect a unix socket at dirfd/name, whatever the length of the directory's path. */
int fs_unix_listen_at(int dirfd, const char *name);
int fs_unix_connect_at(int dirfd, const char *name);

#endif
