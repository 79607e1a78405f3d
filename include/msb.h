/* SPDX-License-Identifier: Apache-2.0 */
/*
 * msb.h - the public API of libmsb, the sandbox runtime library.
 *
 * Everything the msb CLI does goes through these functions. Conventions:
 *  - functions return 0 (or a non-negative value) on success and a negative
 *    msb_errc on failure, with @err (may be NULL) filled with the code and a
 *    message that names what was wrong;
 *  - the library never prints and never exits;
 *  - returned objects belong to the caller and are released with the matching
 *    msb_*_free(); string arguments are borrowed.
 */
#ifndef MSB_H
#define MSB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MSB_VERSION "0.1.0"
#define MSB_NAME_MAX 128

/* Typed error codes. Keep in sync with msb_strerror(). */
enum msb_errc {
	MSB_OK = 0,
	MSB_ERR_INVALID,     /* malformed argument, flag value, name, spec */
	MSB_ERR_NOT_FOUND,   /* no such sandbox, image, file */
	MSB_ERR_EXISTS,      /* name already taken */
	MSB_ERR_STATE,       /* operation not valid in the sandbox's current state */
	MSB_ERR_SYSTEM,      /* a system call failed (errno recorded) */
	MSB_ERR_PROTOCOL,    /* the agent or supervisor sent something malformed */
	MSB_ERR_TIMEOUT,     /* a deadline passed */
	MSB_ERR_UNSUPPORTED, /* host lacks a needed feature */
	MSB_ERR_PERMISSION,  /* not allowed (e.g. subordinate ids missing) */
	MSB_ERR_EXEC,        /* the command could not be started in the sandbox */
	MSB_ERR_COUNT
};

typedef struct msb_error {
	int code;      /* enum msb_errc */
	int sys_errno; /* errno when code == MSB_ERR_SYSTEM or MSB_ERR_EXEC, else 0 */
	char msg[1024];
} msb_error;

const char *msb_strerror(int code);

/* A handle on one msb home ($MSB_HOME, default ~/.msb): state store and paths. */
typedef struct msb_ctx msb_ctx;

/**
 * msb_open() - open (creating if needed) an msb home.
 * @out: receives the context
 * @home: directory, or NULL for $MSB_HOME, else ~/.msb
 * @err: error out
 */
int msb_open(msb_ctx **out, const char *home, msb_error *err);
void msb_close(msb_ctx *ctx);
const char *msb_home(const msb_ctx *ctx);

/*
 * Sandbox configuration, built by key/value so new options never break the
 * ABI. Keys (values are validated by msb_config_set and errors name the key):
 *   image, name, workdir, user, hostname, shell, security (default|restricted),
 *   cpus, memory (SIZE), max-duration, idle-timeout (DURATION),
 *   env (KEY=VALUE, repeatable), label (KEY[=VALUE], repeatable),
 *   cmd (one argv element, repeatable: the detached workload of `run -d`),
 *   entrypoint, ephemeral (0|1), replace (0|1), replace-timeout-ms
 */
typedef struct msb_config msb_config;
msb_config *msb_config_new(void);
void msb_config_free(msb_config *cfg);
int msb_config_set(msb_config *cfg, const char *key, const char *value, msb_error *err);

enum msb_status {
	MSB_STATUS_CREATED,
	MSB_STATUS_STARTING,
	MSB_STATUS_RUNNING,
	MSB_STATUS_DRAINING,
	MSB_STATUS_PAUSED,
	MSB_STATUS_STOPPED,
	MSB_STATUS_CRASHED,
	MSB_STATUS_COUNT
};
const char *msb_status_name(int status); /* "Running", ... */

typedef struct msb_sandbox_info {
	char name[MSB_NAME_MAX + 1];
	char *image;
	int status; /* enum msb_status */
	int ephemeral;
	int64_t created_at, updated_at; /* unix seconds */
	pid_t supervisor_pid;           /* 0 when not running */
	char *config_json;              /* the stored configuration as JSON */
	char *labels_json;              /* {"k":"v",...} */
} msb_sandbox_info;
void msb_sandbox_info_clear(msb_sandbox_info *info);

/* Lifecycle. msb_create boots the sandbox and returns once its agent is ready. */
int msb_create(msb_ctx *ctx, const msb_config *cfg, char name_out[MSB_NAME_MAX + 1], msb_error *err);
int msb_start(msb_ctx *ctx, const char *name, msb_error *err);
/* Graceful stop: SIGTERM to processes, @timeout_s grace, then kill. @force kills at once. */
int msb_stop(msb_ctx *ctx, const char *name, unsigned timeout_s, int force, msb_error *err);
/* Remove a sandbox; @force stops it first if running. */
int msb_remove(msb_ctx *ctx, const char *name, int force, msb_error *err);
int msb_get(msb_ctx *ctx, const char *name, msb_sandbox_info *out, msb_error *err);
/* List all sandboxes, newest first. *out is an array of *n entries; free with msb_sandbox_list_free. */
int msb_list(msb_ctx *ctx, msb_sandbox_info **out, size_t *n, msb_error *err);
void msb_sandbox_list_free(msb_sandbox_info *list, size_t n);
/*
 * Hold the sandbox: returns an fd; when it is closed (or this process dies)
 * the sandbox is stopped. `msb run` uses it for ephemeral sandboxes.
 */
int msb_own(msb_ctx *ctx, const char *name, msb_error *err);
/*
 * Stop an owned sandbox through its owner fd (see msb_own) and wait up to
 * @timeout_s (+5 s) until it is gone; closes @fd. Cheaper than msb_stop: no
 * state lookup, no new connection. An ephemeral sandbox is removed.
 */
int msb_release(msb_ctx *ctx, int fd, const char *name, unsigned timeout_s, msb_error *err);
/*
 * Why sandboxes of this user are limited, if they are (e.g. no subordinate ids
 * configured: only uid 0 exists inside). Returns 1 and fills @buf, or 0.
 */
int msb_host_note(char *buf, size_t len);

/* 1 if the sandbox's supervisor answers on its control socket, else 0 (no state-store access). */
int msb_running(msb_ctx *ctx, const char *name);
/* Sandbox directory (logs/ lives under it); caller frees. */
char *msb_sandbox_dir(msb_ctx *ctx, const char *name);

/* ---- exec ---------------------------------------------------------------- */

struct msb_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard;
};

struct msb_exec_opts {
	const char *const *argv; /* argv[0] is looked up in PATH */
	size_t argc;
	const char *const *env; /* "KEY=VALUE", applied over the sandbox env */
	size_t n_env;
	const char *cwd;  /* NULL = sandbox default */
	const char *user; /* NULL = sandbox default */
	int tty;          /* allocate a pty */
	unsigned short rows, cols;
	const struct msb_rlimit *rlimits;
	size_t n_rlimits;
	int stdin_null; /* no stdin will be sent: the command sees EOF at once */
};

enum msb_exec_event_type {
	MSB_EV_STARTED, /* pid */
	MSB_EV_STDOUT,  /* data, len */
	MSB_EV_STDERR,  /* data, len */
	MSB_EV_EXITED,  /* exit_code, signal (terminal) */
	MSB_EV_FAILED,  /* fail_errno, message (terminal: the command never started) */
};

struct msb_exec_event {
	int type;
	int pid;
	const void *data; /* valid until the next call on the session */
	size_t len;
	int exit_code; /* valid when type == MSB_EV_EXITED and signal == 0 */
	int signal;    /* killing signal, 0 if it exited */
	int fail_errno;
	const char *message;
};

typedef struct msb_exec msb_exec;
int msb_exec_start(msb_ctx *ctx, const char *name, const struct msb_exec_opts *opts, msb_exec **out,
		   msb_error *err);
/* A file descriptor that becomes readable when msb_exec_next may have an event. */
int msb_exec_fd(const msb_exec *ex);
/* Wait up to @timeout_ms (-1 forever) for the next event. Returns 1 with an event, 0 on timeout. */
int msb_exec_next(msb_exec *ex, struct msb_exec_event *ev, int timeout_ms, msb_error *err);
int msb_exec_write_stdin(msb_exec *ex, const void *data, size_t len, msb_error *err);
int msb_exec_close_stdin(msb_exec *ex, msb_error *err);
int msb_exec_resize(msb_exec *ex, unsigned short rows, unsigned short cols, msb_error *err);
int msb_exec_signal(msb_exec *ex, int sig, msb_error *err);
void msb_exec_free(msb_exec *ex);

/* Collected exec: run to completion, gather output. */
struct msb_exec_result {
	int exit_code, signal;
	char *out, *errout; /* NUL-terminated, caller frees */
	size_t out_len, err_len;
};
int msb_exec_collect(msb_ctx *ctx, const char *name, const struct msb_exec_opts *opts, const void *stdin_data,
		     size_t stdin_len, uint64_t timeout_ms, struct msb_exec_result *res, msb_error *err);
void msb_exec_result_clear(struct msb_exec_result *res);

/* ---- files ---------------------------------------------------------------- */

/* Copy a host file or directory tree into the sandbox, or out of it. Paths in the sandbox are absolute. */
int msb_copy_in(msb_ctx *ctx, const char *name, const char *host_path, const char *guest_path, msb_error *err);
int msb_copy_out(msb_ctx *ctx, const char *name, const char *guest_path, const char *host_path, msb_error *err);

/* ---- logs ----------------------------------------------------------------- */

/* MSB_LOG_NETWORK: the network decision log (logs/network.log, docs/network.md); not part of "all" */
enum { MSB_LOG_STDOUT = 1, MSB_LOG_STDERR = 2, MSB_LOG_OUTPUT = 4, MSB_LOG_SYSTEM = 8, MSB_LOG_NETWORK = 16 };

struct msb_log_query {
	unsigned sources;	  /* MSB_LOG_* bits; 0 = stdout, stderr and output */
	int64_t since_ms, until_ms; /* unix ms; 0 = unbounded */
	const char *grep;	  /* POSIX extended regex on the body, or NULL */
	size_t tail;		  /* only the last N matching entries; 0 = all */
	int follow;		  /* keep delivering new entries until the callback returns nonzero */
};

struct msb_log_entry {
	const char *time;   /* RFC 3339 UTC with milliseconds */
	int64_t t_ms;	    /* the same, unix ms */
	const char *source; /* stdout, stderr, output (pty) or system */
	const void *data;   /* decoded body (NUL-terminated for convenience) */
	size_t len;
	int64_t id; /* exec session id, -1 for system entries */
	int b64;    /* the body is stored base64 (it was not UTF-8) */
	const char *raw; /* the stored JSON line */
};

/* Called per entry; return nonzero to stop. Pointers are valid during the call only. */
typedef int (*msb_log_fn)(const struct msb_log_entry *entry, void *arg);

/* Read a sandbox's exec log (works on stopped sandboxes; no guest traffic). */
int msb_logs(msb_ctx *ctx, const char *name, const struct msb_log_query *q, msb_log_fn cb, void *arg,
	     msb_error *err);

/* Ping the agent; returns round-trip microseconds (>= 0) or a negative error. */
int64_t msb_ping(msb_ctx *ctx, const char *name, msb_error *err);
/* Count as activity for the sandbox's idle timeout (a ping does not). */
int msb_touch(msb_ctx *ctx, const char *name, msb_error *err);

/* ---- value grammars shared with the CLI (see docs/cli.md) ------------------ */

int msb_name_valid(const char *name, msb_error *err);
/* DURATION in seconds: N, Ns, Nm, Nh. */
int msb_parse_duration_s(const char *s, uint64_t *out, msb_error *err);
/* DURATION in milliseconds: N (s), Nms, Ns, Nm, Nh. */
int msb_parse_duration_ms(const char *s, uint64_t *out, msb_error *err);
/* SIZE in MiB: N, NM, Nm, N[.f]G. */
int msb_parse_size_mib(const char *s, uint64_t *out, msb_error *err);
/* RES=SOFT[:HARD] */
int msb_parse_rlimit(const char *s, struct msb_rlimit *out, msb_error *err);

/*
 * Explain how the policy built from network flags decides one destination.
 * @flags/@values: n flag names ("net-rule", "net", "no-net", "net-default",
 * "net-default-egress", "net-default-ingress") and their values (NULL for
 * no-net), in command-line order; @dest: ADDR[:PORT][/PROTO], IPv6 as [ADDR]:PORT;
 * @name: a DNS name the address was resolved from, or NULL; @ingress: judge an
 * inbound flow. *@report receives the explanation (caller frees).
 * Return: 0 allowed, 1 denied, negative on a bad flag, rule or destination.
 */
int msb_policy_check(const char *const *flags, const char *const *values, size_t n, const char *dest,
		     const char *name, int ingress, char **report, msb_error *err);

/*
 * Images (docs/images.md). References follow the docker grammar: `python`
 * is docker.io/library/python:latest. The store lives in $MSB_HOME/images.
 */
typedef struct msb_image_info {
	char *reference;      /* canonical reference */
	char *digest;         /* manifest digest, "sha256:<hex>" */
	uint64_t size_bytes;  /* compressed size of the layers */
	char *architecture;
	char *os;
	unsigned layer_count;
	int64_t created_at;   /* unix seconds, when it entered the store */
	char *record_json;    /* the stored record: config, layers, raw manifest and config */
} msb_image_info;
void msb_image_info_clear(msb_image_info *info);
/* A cached image by reference; MSB_ERR_NOT_FOUND "image not found: REF" when absent. */
int msb_image_get(msb_ctx *ctx, const char *ref, msb_image_info *out, msb_error *err);
/* All cached images, newest first; free with msb_image_list_free. */
int msb_image_list(msb_ctx *ctx, msb_image_info **out, size_t *n, msb_error *err);
void msb_image_list_free(msb_image_info *list, size_t n);
/* Remove a reference, and the layers no other image or sandbox uses. Refused (MSB_ERR_STATE) while a sandbox uses it, unless @force. */
int msb_image_remove(msb_ctx *ctx, const char *ref, int force, msb_error *err);
/* Remove images no sandbox uses (@all) or only unreferenced data (!@all). */
int msb_image_prune(msb_ctx *ctx, int all, size_t *images_removed, size_t *layers_removed, msb_error *err);

enum msb_pull_policy { MSB_PULL_IF_MISSING = 0, MSB_PULL_ALWAYS, MSB_PULL_NEVER };
typedef struct msb_pull_opts {
	int policy;           /* enum msb_pull_policy */
	int insecure;         /* plain HTTP to the reference's registry */
	const char *platform; /* "os/arch[/variant]", NULL = this host */
	/* progress: @what is "resolve", "download", "unpack", "done"; layer index or -1 */
	void (*progress)(void *arg, const char *what, int layer, int n_layers, uint64_t done, uint64_t total);
	void *progress_arg;
} msb_pull_opts;
/*
 * Pull an image into the store (registry API over HTTPS, every blob and
 * layer verified). @out (may be NULL) receives the stored image. Needs the
 * full libmsb (libcurl, libarchive); the static msb binary runs `msb-image`.
 */
int msb_image_pull(msb_ctx *ctx, const char *ref, const msb_pull_opts *opts, msb_image_info *out, msb_error *err);
/* Import a docker-archive or OCI-layout tar read from @fd; @tags name the first image. *refs: what was stored. */
int msb_image_load(msb_ctx *ctx, int fd, const char *const *tags, size_t n_tags, char ***refs, size_t *n_refs,
		   msb_error *err);
/* Export images as a tar to @fd: docker-archive (@oci = 0) or OCI layout, uncompressed layers. */
int msb_image_save(msb_ctx *ctx, const char *const *refs, size_t n, int oci, int fd, msb_error *err);
/* Registry credentials, stored in $MSB_HOME/secrets/registries (0600). */
int msb_registry_login(msb_ctx *ctx, const char *registry, const char *username, const char *password,
		       msb_error *err);
int msb_registry_logout(msb_ctx *ctx, const char *registry, msb_error *err);
/* Registries with a stored login, sorted; *users[i] is the login name. Free both with msb_strv_free. */
int msb_registry_list(msb_ctx *ctx, char ***registries, char ***users, size_t *n, msb_error *err);
void msb_strv_free(char **v, size_t n);

/* Entry point of the per-sandbox supervisor process (the hidden `msb sandbox` command). */
int msb_supervisor_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
