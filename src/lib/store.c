// SPDX-License-Identifier: Apache-2.0
/*
 * store.c - the SQLite state store.
 *
 * One database per msb home, in WAL mode with a busy timeout so concurrent
 * commands wait instead of failing. Names are UNIQUE in the schema: two
 * racing `msb create --name x` both try the INSERT and exactly one wins; the
 * loser gets MSB_ERR_EXISTS and has created nothing else yet (callers insert
 * before they touch the filesystem).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "store.h"

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"BEGIN IMMEDIATE;"
	"CREATE TABLE IF NOT EXISTS sandbox ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL UNIQUE,"
	" image TEXT NOT NULL,"
	" config TEXT NOT NULL,"
	" status TEXT NOT NULL,"
	" ephemeral INTEGER NOT NULL DEFAULT 0,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" pid INTEGER NOT NULL DEFAULT 0,"
	" pid_start INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS sandbox_label ("
	" sandbox_id INTEGER NOT NULL REFERENCES sandbox(id) ON DELETE CASCADE,"
	" key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (sandbox_id, key));"
	"CREATE TABLE IF NOT EXISTS run ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" sandbox_id INTEGER NOT NULL REFERENCES sandbox(id) ON DELETE CASCADE,"
	" pid INTEGER NOT NULL, status TEXT NOT NULL, exit_code INTEGER,"
	" termination_reason TEXT, started_at INTEGER NOT NULL, terminated_at INTEGER);"
	"PRAGMA user_version = 1;"
	"COMMIT;";

/*
 * The schema is created once; later opens only read user_version, which
 * keeps every short-lived command from re-parsing the DDL. journal_mode=WAL
 * is persistent in the database file, so it is set with the schema too.
 */
#define STORE_SCHEMA_VERSION 1

static int schema_version(struct msb_ctx *ctx)
{
	sqlite3_stmt *st = NULL;
	int v = 0;
	if (sqlite3_prepare_v2(ctx->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int db_err(struct msb_ctx *ctx, msb_error *err, const char *what)
{
	return msb_err_set(err, MSB_ERR_SYSTEM, 0, "state database in %s: %s: %s", ctx->home, what,
			   ctx->db ? sqlite3_errmsg(ctx->db) : "cannot open it");
}

/*
 * Run @sql, retrying while the database is busy. The busy timeout covers
 * ordinary lock waits, but SQLite returns SQLITE_BUSY at once in a few
 * transitions (another connection switching the file to WAL or recovering
 * it), which racing first commands on a fresh home do hit.
 */
static int exec_retry(sqlite3 *db, const char *sql, char **emsg)
{
	uint64_t until = util_now_ms() + 30000;
	unsigned delay = 200;
	for (;;) {
		int rc = sqlite3_exec(db, sql, NULL, NULL, emsg);
		if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
			return rc;
		if (util_now_ms() >= until)
			return rc;
		if (emsg && *emsg) {
			sqlite3_free(*emsg);
			*emsg = NULL;
		}
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		usleep(delay);
		if (delay < 20000)
			delay *= 2;
	}
}

int store_begin(struct msb_ctx *ctx)
{
	if (!ctx->db && store_open(ctx, NULL) < 0)
		return -1;
	return exec_retry(ctx->db, "BEGIN IMMEDIATE", NULL) == SQLITE_OK ? 0 : -1;
}

int store_commit(struct msb_ctx *ctx)
{
	return ctx->db && sqlite3_exec(ctx->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int store_open(struct msb_ctx *ctx, msb_error *err)
{
	char *path = xasprintf("%s/msb.db", ctx->home);
	char *emsg = NULL;
	int r;

	r = sqlite3_open_v2(path, &ctx->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	free(path);
	if (r != SQLITE_OK) {
		r = msb_err_set(err, MSB_ERR_SYSTEM, 0, "cannot open state database in %s: %s", ctx->home,
				ctx->db ? sqlite3_errmsg(ctx->db) : "out of memory");
		sqlite3_close(ctx->db);
		ctx->db = NULL;
		return r;
	}
	sqlite3_busy_timeout(ctx->db, 30000);
	/*
	 * Every msb command is a short-lived connection: do not checkpoint (and
	 * fsync) at each close; SQLite checkpoints when the WAL grows instead.
	 */
	sqlite3_db_config(ctx->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	/*
	 * No command checkpoints at commit (wal_autocheckpoint=0): a checkpoint
	 * fsyncs. Supervisors checkpoint when their sandbox has stopped, after
	 * releasing their clients (store_checkpoint), which keeps the WAL short
	 * and so every later open cheap.
	 */
	if (exec_retry(ctx->db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=0;",
		       &emsg) != SQLITE_OK ||
	    (schema_version(ctx) < STORE_SCHEMA_VERSION && exec_retry(ctx->db, schema, &emsg) != SQLITE_OK)) {
		r = msb_err_set(err, MSB_ERR_SYSTEM, 0, "cannot initialise state database: %s",
				emsg ? emsg : "unknown error");
		sqlite3_free(emsg);
		return r;
	}
	return 0;
}

void store_close(struct msb_ctx *ctx)
{
	if (ctx->db)
		sqlite3_close(ctx->db);
	ctx->db = NULL;
}

static sqlite3_stmt *prep(struct msb_ctx *ctx, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (!ctx->db && store_open(ctx, NULL) < 0)
		return NULL;
	if (sqlite3_prepare_v2(ctx->db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	return st;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

int store_insert_sandbox(struct msb_ctx *ctx, const char *name, const char *image, const char *config_json,
			 int ephemeral, const char *const *labels_kv, size_t n_labels, msb_error *err)
{
	sqlite3_stmt *st;
	int64_t id;
	int r;

	if (store_begin(ctx) < 0)
		return db_err(ctx, err, "begin");
	st = prep(ctx, "INSERT INTO sandbox (name, image, config, status, ephemeral, created_at, updated_at)"
		       " VALUES (?, ?, ?, 'Created', ?, ?, ?)");
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, image, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, config_json, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, ephemeral);
	sqlite3_bind_int64(st, 5, now_s());
	sqlite3_bind_int64(st, 6, now_s());
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r == SQLITE_CONSTRAINT) {
		sqlite3_exec(ctx->db, "ROLLBACK", NULL, NULL, NULL);
		return msb_err_set(err, MSB_ERR_EXISTS, 0,
				   "sandbox \"%s\" already exists (use --replace to recreate it, or pick another name)",
				   name);
	}
	if (r != SQLITE_DONE)
		goto fail;
	id = sqlite3_last_insert_rowid(ctx->db);
	for (size_t i = 0; i < 2 * n_labels; i += 2) {
		st = prep(ctx, "INSERT OR REPLACE INTO sandbox_label (sandbox_id, key, value) VALUES (?, ?, ?)");
		if (!st)
			goto fail;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, labels_kv[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, labels_kv[i + 1], -1, SQLITE_STATIC);
		r = sqlite3_step(st);
		sqlite3_finalize(st);
		if (r != SQLITE_DONE)
			goto fail;
	}
	if (sqlite3_exec(ctx->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	r = db_err(ctx, err, "insert sandbox");
	sqlite3_exec(ctx->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

int store_set_status(struct msb_ctx *ctx, const char *name, int status, pid_t pid, uint64_t pid_start,
		     msb_error *err)
{
	sqlite3_stmt *st = prep(ctx, "UPDATE sandbox SET status = ?, pid = ?, pid_start = ?, updated_at = ?"
				     " WHERE name = ?");
	int r;
	if (!st)
		return db_err(ctx, err, "update status");
	sqlite3_bind_text(st, 1, msb_status_name(status), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, pid);
	sqlite3_bind_int64(st, 3, (int64_t)pid_start);
	sqlite3_bind_int64(st, 4, now_s());
	sqlite3_bind_text(st, 5, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : db_err(ctx, err, "update status");
}

int store_delete_sandbox(struct msb_ctx *ctx, const char *name, msb_error *err)
{
	sqlite3_stmt *st = prep(ctx, "DELETE FROM sandbox WHERE name = ?");
	int r;
	if (!st)
		return db_err(ctx, err, "delete sandbox");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : db_err(ctx, err, "delete sandbox");
}

void store_delete_ephemeral(struct msb_ctx *ctx, const char *name)
{
	sqlite3_stmt *st = prep(ctx, "DELETE FROM sandbox WHERE name = ? AND ephemeral = 1");
	if (!st)
		return;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

static int status_from_name(const char *s)
{
	for (int i = 0; i < MSB_STATUS_COUNT; i++)
		if (s && strcmp(s, msb_status_name(i)) == 0)
			return i;
	return MSB_STATUS_CRASHED;
}

static char *labels_json(struct msb_ctx *ctx, int64_t id)
{
	sqlite3_stmt *st = prep(ctx, "SELECT json_group_object(key, value) FROM"
				     " (SELECT key, value FROM sandbox_label WHERE sandbox_id = ? ORDER BY key)");
	char *r = NULL;
	if (!st)
		return xstrdup("{}");
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		r = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return r ? r : xstrdup("{}");
}

#define ROW_COLS "id, name, image, config, status, ephemeral, created_at, updated_at, pid, pid_start"

static void row_to_info(struct msb_ctx *ctx, sqlite3_stmt *st, msb_sandbox_info *out, uint64_t *pid_start)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", (const char *)sqlite3_column_text(st, 1));
	out->image = xstrdup((const char *)sqlite3_column_text(st, 2));
	out->config_json = xstrdup((const char *)sqlite3_column_text(st, 3));
	out->status = status_from_name((const char *)sqlite3_column_text(st, 4));
	out->ephemeral = sqlite3_column_int(st, 5);
	out->created_at = sqlite3_column_int64(st, 6);
	out->updated_at = sqlite3_column_int64(st, 7);
	out->supervisor_pid = sqlite3_column_int(st, 8);
	if (pid_start)
		*pid_start = (uint64_t)sqlite3_column_int64(st, 9);
	out->labels_json = labels_json(ctx, sqlite3_column_int64(st, 0));
}

int store_get_sandbox(struct msb_ctx *ctx, const char *name, msb_sandbox_info *out, uint64_t *pid_start,
		      msb_error *err)
{
	sqlite3_stmt *st = prep(ctx, "SELECT " ROW_COLS " FROM sandbox WHERE name = ?");
	int r;
	if (!st)
		return db_err(ctx, err, "get sandbox");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		row_to_info(ctx, st, out, pid_start);
		sqlite3_finalize(st);
		return 0;
	}
	sqlite3_finalize(st);
	if (r == SQLITE_DONE)
		return msb_err_set(err, MSB_ERR_NOT_FOUND, 0, "sandbox \"%s\" not found", name);
	return db_err(ctx, err, "get sandbox");
}

int store_list_sandboxes(struct msb_ctx *ctx, msb_sandbox_info **out, size_t *n, msb_error *err)
{
	sqlite3_stmt *st = prep(ctx, "SELECT " ROW_COLS " FROM sandbox ORDER BY created_at DESC, id DESC");
	msb_sandbox_info *v = NULL;
	size_t k = 0;
	int r;
	if (!st)
		return db_err(ctx, err, "list sandboxes");
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		v = xrealloc(v, (k + 1) * sizeof(*v));
		row_to_info(ctx, st, &v[k++], NULL);
	}
	sqlite3_finalize(st);
	if (r != SQLITE_DONE) {
		msb_sandbox_list_free(v, k);
		return db_err(ctx, err, "list sandboxes");
	}
	*out = v;
	*n = k;
	return 0;
}

int store_run_begin(struct msb_ctx *ctx, const char *name, pid_t pid, msb_error *err)
{
	sqlite3_stmt *st = prep(ctx, "INSERT INTO run (sandbox_id, pid, status, started_at)"
				     " SELECT id, ?, 'Running', ? FROM sandbox WHERE name = ?");
	int r;
	if (!st)
		return db_err(ctx, err, "record run");
	sqlite3_bind_int(st, 1, pid);
	sqlite3_bind_int64(st, 2, now_s());
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : db_err(ctx, err, "record run");
}

int store_run_end(struct msb_ctx *ctx, const char *name, const char *reason, int exit_code, msb_error *err)
{
	sqlite3_stmt *st = prep(ctx, "UPDATE run SET status = 'Terminated', termination_reason = ?, exit_code = ?,"
				     " terminated_at = ? WHERE status = 'Running' AND sandbox_id ="
				     " (SELECT id FROM sandbox WHERE name = ?)");
	int r;
	if (!st)
		return db_err(ctx, err, "record run end");
	sqlite3_bind_text(st, 1, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, exit_code);
	sqlite3_bind_int64(st, 3, now_s());
	sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : db_err(ctx, err, "record run end");
}

/* Start time of @pid, or 0 if it does not exist or has exited (a zombie is not alive). */
uint64_t proc_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may contain spaces and parentheses: fields restart after the last ')' */
	p = strrchr(buf, ')');
	if (!p || !p[1] || !p[2] || p[2] == 'Z' || p[2] == 'X')
		return 0;
	/* after ") " come fields 3..; starttime is field 22 */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &start) != 1)
		return 0;
	return start;
}

bool proc_alive(pid_t pid, uint64_t start)
{
	uint64_t now;
	if (pid <= 0)
		return false;
	now = proc_start_time(pid);
	return now != 0 && (start == 0 || now == start);
}

void store_checkpoint(struct msb_ctx *ctx)
{
	if (ctx->db)
		sqlite3_wal_checkpoint_v2(ctx->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}
