/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h - persistent state in $MSB_HOME/msb.db (SQLite, WAL, busy timeout).
 */
#ifndef MSB_STORE_H
#define MSB_STORE_H

#include <sqlite3.h>

#include "util.h"

struct msb_ctx {
	char *home;
	int home_fd;
	sqlite3 *db;
};

/* Opened lazily by the first store_* call; commands that only talk to a running sandbox never open it. */
int store_open(struct msb_ctx *ctx, msb_error *err);
int store_begin(struct msb_ctx *ctx);
int store_commit(struct msb_ctx *ctx);
/* Fold the WAL back into the database (off any client's path: it fsyncs). */
void store_checkpoint(struct msb_ctx *ctx);
void store_close(struct msb_ctx *ctx);

/* Insert a sandbox row; MSB_ERR_EXISTS when the name is taken (the UNIQUE constraint decides races). */
int store_insert_sandbox(struct msb_ctx *ctx, const char *name, const char *image, const char *config_json,
			 int ephemeral, const char *const *labels_kv, size_t n_labels, msb_error *err);
int store_set_status(struct msb_ctx *ctx, const char *name, int status, pid_t pid, uint64_t pid_start,
		     msb_error *err);
int store_delete_sandbox(struct msb_ctx *ctx, const char *name, msb_error *err);
/* Delete the row only if it is an ephemeral sandbox's (one statement, no read). */
void store_delete_ephemeral(struct msb_ctx *ctx, const char *name);
/* Fetch one row (does not reconcile). MSB_ERR_NOT_FOUND when absent. */
int store_get_sandbox(struct msb_ctx *ctx, const char *name, msb_sandbox_info *out, uint64_t *pid_start,
		      msb_error *err);
/* All rows, newest first. */
int store_list_sandboxes(struct msb_ctx *ctx, msb_sandbox_info **out, size_t *n, msb_error *err);

/* Runs: one row per boot. */
int store_run_begin(struct msb_ctx *ctx, const char *name, pid_t pid, msb_error *err);
int store_run_end(struct msb_ctx *ctx, const char *name, const char *reason, int exit_code, msb_error *err);

/* Process identity that survives pid reuse: start time in clock ticks from /proc/PID/stat. */
uint64_t proc_start_time(pid_t pid);
bool proc_alive(pid_t pid, uint64_t start);

#endif
