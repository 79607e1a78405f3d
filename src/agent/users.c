// SPDX-License-Identifier: Apache-2.0
/*
 * users.c - resolve NAME|UID[:GROUP|GID] against the sandbox's own
 * /etc/passwd and /etc/group. We parse the files ourselves (no NSS: agentd is
 * static, and the image decides its users, not the host's resolver).
 */
#include <stdio.h>

#include "agent.h"
#include "util.h"

/* Split one colon-separated line into at most @max fields, in place. */
static int split_fields(char *line, char **f, int max)
{
	int n = 0;
	char *p = line;
	line[strcspn(line, "\n")] = '\0';
	while (n < max) {
		f[n++] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = '\0';
	}
	return n;
}

static bool parse_id(const char *s, unsigned *out)
{
	unsigned long v = 0;
	if (!*s)
		return false;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 0xfffffffeUL)
			return false;
	}
	*out = (unsigned)v;
	return true;
}

/* Find a passwd entry by name (when @name) or by uid. */
static bool lookup_passwd(const char *name, uid_t uid, struct agent_user *u)
{
	FILE *fp = fopen("/etc/passwd", "re");
	char line[2048], *f[7];
	bool found = false;
	if (!fp)
		return false;
	while (!found && fgets(line, sizeof(line), fp)) {
		unsigned id, gid;
		if (split_fields(line, f, 7) < 7 || !parse_id(f[2], &id) || !parse_id(f[3], &gid))
			continue;
		if (name ? strcmp(f[0], name) != 0 : id != uid)
			continue;
		u->uid = id;
		u->gid = gid;
		u->known = true;
		snprintf(u->name, sizeof(u->name), "%s", f[0]);
		snprintf(u->home, sizeof(u->home), "%s", f[5]);
		found = true;
	}
	fclose(fp);
	return found;
}

/* Group by name -> gid; and collect supplementary groups of @user. */
static bool scan_groups(const char *gname, gid_t *gid_out, struct agent_user *u)
{
	FILE *fp = fopen("/etc/group", "re");
	char line[8192], *f[4];
	bool found = false;
	if (!fp)
		return false;
	while (fgets(line, sizeof(line), fp)) {
		unsigned gid;
		if (split_fields(line, f, 4) < 4 || !parse_id(f[2], &gid))
			continue;
		if (gname && strcmp(f[0], gname) == 0) {
			*gid_out = gid;
			found = true;
		}
		if (u && u->known) {
			for (char *m = strtok(f[3], ","); m; m = strtok(NULL, ","))
				if (strcmp(m, u->name) == 0 && u->n_groups < (int)ARRAY_SIZE(u->groups))
					u->groups[u->n_groups++] = gid;
		}
	}
	fclose(fp);
	return found;
}

int agent_resolve_user(const char *spec, struct agent_user *u, char *msg, size_t msglen)
{
	char buf[512], *colon, *user, *group;
	unsigned id;

	memset(u, 0, sizeof(*u));
	if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf)) {
		snprintf(msg, msglen, "user spec too long");
		return -EINVAL;
	}
	user = buf;
	colon = strchr(buf, ':');
	group = NULL;
	if (colon) {
		*colon = '\0';
		group = colon + 1;
		if (!*group) {
			snprintf(msg, msglen, "invalid user spec \"%s\": empty group", spec);
			return -EINVAL;
		}
	}
	if (!*user) {
		snprintf(msg, msglen, "invalid user spec \"%s\": empty user", spec);
		return -EINVAL;
	}
	if (parse_id(user, &id)) {
		if (!lookup_passwd(NULL, id, u)) {
			u->uid = id;
			u->gid = 0;
		}
	} else if (!lookup_passwd(user, 0, u)) {
		snprintf(msg, msglen, "guest user not found: %s", user);
		return -ENOENT;
	}
	if (u->known)
		u->groups[u->n_groups++] = u->gid;
	if (group) {
		gid_t g;
		if (parse_id(group, &id)) {
			u->gid = id;
			scan_groups(NULL, NULL, u);
		} else if (scan_groups(group, &g, u)) {
			u->gid = g;
		} else {
			snprintf(msg, msglen, "guest group not found: %s", group);
			return -ENOENT;
		}
	} else {
		scan_groups(NULL, NULL, u);
	}
	return 0;
}
