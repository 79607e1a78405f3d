/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent.h - agentd's internal modules: request decoding and process spawning
 * (spawn.c), user lookup in the sandbox's own /etc (users.c), file transfer
 * (fs.c).
 */
#ifndef MSB_AGENT_H
#define MSB_AGENT_H

#include <stdbool.h>
#include <sys/types.h>

#include "proto.h"

struct agent_conf {
	bool restricted; /* --security restricted */
};

void agent_conf_load(struct agent_conf *c, int argc, char **argv);

#define AGENT_MAX_RLIMITS 16

struct agent_exec_req {
	char **argv; /* NULL-terminated */
	char **envp; /* NULL-terminated */
	char *cwd;
	char *user;
	bool tty, stdin_null;
	unsigned short rows, cols;
	size_t n_rlimits;
	struct {
		int resource;
		uint64_t soft, hard;
	} rlimits[AGENT_MAX_RLIMITS];
};

/* Decode an EXEC frame. Return 0 or -errno with @msg filled. */
int agent_exec_req_decode(const struct proto_msg *m, struct agent_exec_req *req, char *msg, size_t msglen);
void agent_exec_req_free(struct agent_exec_req *req);

struct agent_spawn_result {
	pid_t pid;
	bool tty;
	int out_fd, err_fd, in_fd; /* non-blocking, CLOEXEC; err_fd -1 with a tty; in_fd == out_fd with a tty */
	const char *stage;	   /* on failure: cwd, user, rlimit, security, exec, pty, fork */
};

/* Start the command. Return 0, or -errno with @msg and res->stage filled. */
int agent_spawn(const struct agent_conf *conf, const struct agent_exec_req *req, struct agent_spawn_result *res,
		char *msg, size_t msglen);

/* Users from the sandbox's /etc/passwd and /etc/group (never NSS). */
struct agent_user {
	uid_t uid;
	gid_t gid;
	bool known; /* has a passwd entry */
	char name[256];
	char home[1024];
	gid_t groups[64];
	int n_groups;
};
/* Resolve NAME|UID[:GROUP|GID]. Return 0 or -errno with @msg ("guest user not found: x"). */
int agent_resolve_user(const char *spec, struct agent_user *u, char *msg, size_t msglen);

/* File transfer for msb cp (fs.c). Replies are appended to @out. */
void agent_fs_get(const struct proto_msg *m, struct proto_enc *out, int chan_fd);
void agent_fs_put_begin(const struct proto_msg *m, int *fd, char **path, struct proto_enc *out);
void agent_fs_put_data(uint32_t session, int *fd, char **path, const struct proto_msg *m, struct proto_enc *out);

#endif
