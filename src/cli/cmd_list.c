// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_list.c - `msb list|ls`, `msb status|ps` and `msb inspect`
 * (spec/cli.md §3.7, §3.8, §3.10).
 */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { L_RUNNING = 1, L_STOPPED, L_LABEL, L_FORMAT, L_QUIET, L_ALL };

static int load(msb_sandbox_info **list, size_t *n)
{
	msb_error err = {0};
	if (msb_list(cli_ctx(), list, n, &err) < 0) {
		cli_error(&err);
		return -1;
	}
	return 0;
}

static bool check_format(const struct cli_args *a, const char *usage)
{
	const char *f = cli_get(a, L_FORMAT);
	if (f && strcmp(f, "json") != 0)
		cli_usage_error(usage, "invalid value '%s' for '--format <FORMAT>' [possible values: json]", f);
	return f != NULL;
}

static size_t labels_of(const struct cli_args *a, const char **sel)
{
	size_t n = 0;
	for (int i = 0; i < a->n && n < 64; i++)
		if (a->v[i].id == L_LABEL)
			sel[n++] = a->v[i].val;
	return n;
}

static void lower(const char *in, char *out, size_t len)
{
	size_t i;
	for (i = 0; in[i] && i + 1 < len; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
}

int cmd_ls(int argc, char **argv)
{
	static const struct cli_opt opts[] = {
		{"running", 0, false, L_RUNNING, "Show only running sandboxes."},
		{"stopped", 0, false, L_STOPPED, "Show only stopped sandboxes."},
		{"label", 0, true, L_LABEL, "Show only sandboxes carrying this label (KEY=VALUE)."},
		{"format", 0, true, L_FORMAT, "Output format (json)."},
		{"quiet", 'q', false, L_QUIET, "Show only sandbox names."},
	};
	const char *usage = "msb list [OPTIONS]", *sel[64];
	static const char *const hdr[] = {"NAME", "IMAGE", "STATUS", "CREATED"};
	struct cli_args a;
	msb_sandbox_info *list;
	size_t n, nsel;
	struct table t;
	json_t *arr = json_array();
	bool json;

	cli_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), &a, usage);
	json = check_format(&a, usage);
	nsel = labels_of(&a, sel);
	if (load(&list, &n) < 0)
		return EXIT_MSB;
	table_init(&t, 4, hdr);
	for (size_t i = 0; i < n; i++) {
		char created[32], st[16], rfc[40];
		if (cli_has(&a, L_RUNNING) && list[i].status != MSB_STATUS_RUNNING)
			continue;
		if (cli_has(&a, L_STOPPED) && list[i].status != MSB_STATUS_STOPPED)
			continue;
		if (!cli_labels_match(list[i].labels_json, sel, nsel))
			continue;
		if (cli_has(&a, L_QUIET)) {
			printf("%s\n", list[i].name);
			continue;
		}
		format_local_time(list[i].created_at, created);
		format_rfc3339(list[i].created_at, rfc);
		lower(msb_status_name(list[i].status), st, sizeof(st));
		table_add(&t, (const char *const[]){list[i].name, list[i].image, st, created});
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s}", "name", list[i].name, "status",
						     msb_status_name(list[i].status), "created_at", rfc, "image",
						     list[i].image));
	}
	if (json) {
		char *s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
		free(s);
	} else if (!cli_has(&a, L_QUIET)) {
		if (t.nrows <= 1)
			fprintf(stderr, "No sandboxes found.\n");
		table_print(&t);
	}
	table_free(&t);
	json_decref(arr);
	msb_sandbox_list_free(list, n);
	return 0;
}

/* "127.0.0.1:8000->8000/tcp" for one published port (spec/cli.md §3.8). */
static void port_text(json_t *p, char *out, size_t cap)
{
	const char *ip = json_string_value(json_object_get(p, "host_ip"));
	const char *proto = json_string_value(json_object_get(p, "protocol"));
	bool v6 = ip && strchr(ip, ':');

	snprintf(out, cap, "%s%s%s:%lld->%lld/%s", v6 ? "[" : "", ip ? ip : "127.0.0.1", v6 ? "]" : "",
		 (long long)json_integer_value(json_object_get(p, "host_port")),
		 (long long)json_integer_value(json_object_get(p, "guest_port")), proto ? proto : "tcp");
}

static json_t *ps_json(const msb_sandbox_info *s)
{
	json_t *cfg = json_loads(s->config_json, 0, NULL);
	json_t *cmd = json_object_get(cfg, "cmd");
	char *command = NULL;
	json_t *o;
	if (json_is_array(cmd) && json_array_size(cmd)) {
		size_t i;
		json_t *v;
		size_t len = 0;
		json_array_foreach(cmd, i, v) len += strlen(json_string_value(v)) + 1;
		command = calloc(1, len + 1);
		json_array_foreach(cmd, i, v)
		{
			if (i)
				strcat(command, " ");
			strcat(command, json_string_value(v));
		}
	}
	/* cpus and memory as configured; 0 means "not capped" (the host's) */
	json_int_t cpus = json_integer_value(json_object_get(cfg, "cpus"));
	json_int_t mem = json_integer_value(json_object_get(cfg, "memory_mib"));
	json_t *ports = json_object_get(cfg, "ports");
	ports = json_is_array(ports) ? json_incref(ports) : json_array();
	o = json_pack("{s:s,s:s,s:s,s:o,s:I,s:I,s:I,s:I,s:o,s:o}", "name", s->name, "status",
		      msb_status_name(s->status), "image", s->image, "command",
		      command ? json_string(command) : json_null(), "cpus", cpus, "max_cpus", cpus, "memory_mib", mem,
		      "max_memory_mib", mem, "thp", json_null(), "ports", ports);
	free(command);
	json_decref(cfg);
	return o;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const msb_sandbox_info *)a)->name, ((const msb_sandbox_info *)b)->name);
}

int cmd_ps(int argc, char **argv)
{
	static const struct cli_opt opts[] = {
		{"all", 'a', false, L_ALL, "Show all sandboxes, not just running ones."},
		{"label", 0, true, L_LABEL, "Show only sandboxes carrying this label (KEY=VALUE)."},
		{"format", 0, true, L_FORMAT, "Output format (json)."},
		{"quiet", 'q', false, L_QUIET, "Show only sandbox names."},
	};
	static const char *const hdr[] = {"NAME", "IMAGE", "COMMAND", "CPUS", "MEM", "STATUS", "PORTS"};
	const char *usage = "msb status [OPTIONS] [NAME]", *sel[64];
	struct cli_args a;
	msb_sandbox_info *list;
	size_t n, nsel, shown = 0;
	struct table t;
	json_t *arr = json_array(), *one = NULL;
	bool json;

	cli_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), &a, usage);
	json = check_format(&a, usage);
	if (a.npos > 1)
		cli_usage_error(usage, "unexpected argument '%s' found", a.pos[1]);
	if (a.npos && (cli_has(&a, L_ALL) || cli_has(&a, L_LABEL)))
		cli_usage_error(usage, "the argument '[NAME]' cannot be used with '--all' or '--label'");
	nsel = labels_of(&a, sel);
	if (load(&list, &n) < 0)
		return EXIT_MSB;
	qsort(list, n, sizeof(*list), by_name); /* ps lists by name (ls: newest first) */
	table_init(&t, 7, hdr);
	for (size_t i = 0; i < n; i++) {
		msb_sandbox_info *s = &list[i];
		json_t *o;
		char st[16], cmd[64];
		if (a.npos ? strcmp(s->name, a.pos[0]) != 0
			   : (!cli_has(&a, L_ALL) && s->status != MSB_STATUS_RUNNING && s->status != MSB_STATUS_DRAINING))
			continue;
		if (!cli_labels_match(s->labels_json, sel, nsel))
			continue;
		shown++;
		if (cli_has(&a, L_QUIET)) {
			printf("%s\n", s->name);
			continue;
		}
		o = ps_json(s);
		lower(msb_status_name(s->status), st, sizeof(st));
		if (json_is_string(json_object_get(o, "command")))
			snprintf(cmd, sizeof(cmd), "\"%.38s\"", json_string_value(json_object_get(o, "command")));
		else
			snprintf(cmd, sizeof(cmd), "-");
		{
			char cpus[32], mem[48];
			json_int_t c = json_integer_value(json_object_get(o, "cpus"));
			json_int_t m = json_integer_value(json_object_get(o, "memory_mib"));
			if (c)
				snprintf(cpus, sizeof(cpus), "%lld / %lld", (long long)c, (long long)c);
			else
				snprintf(cpus, sizeof(cpus), "-");
			if (m && m % 1024 == 0)
				snprintf(mem, sizeof(mem), "%lld GiB", (long long)m / 1024);
			else if (m)
				snprintf(mem, sizeof(mem), "%lld MiB", (long long)m);
			else
				snprintf(mem, sizeof(mem), "-");
			char ports[64] = "-", pt[80];
			json_t *pv;
			size_t pi;
			json_array_foreach(json_object_get(o, "ports"), pi, pv)
			{
				port_text(pv, pt, sizeof(pt));
				if (pi == 0)
					snprintf(ports, sizeof(ports), "%s", pt);
				else
					snprintf(ports + strlen(ports), sizeof(ports) - strlen(ports), ", %s", pt);
			}
			if (strlen(ports) > 32) /* truncated to 32 (spec/cli.md §3.8) */
				snprintf(ports + 31, sizeof(ports) - 31, "\u2026");
			table_add(&t, (const char *const[]){s->name, s->image, cmd, cpus, mem, st, ports});
		}
		if (a.npos)
			one = o;
		else
			json_array_append_new(arr, o);
	}
	if (a.npos && !shown) {
		cli_errorf("sandbox \"%s\" not found", a.pos[0]);
		msb_sandbox_list_free(list, n);
		return EXIT_MSB;
	}
	if (json) {
		char *s = json_dumps(one ? one : arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
		free(s);
	} else if (!cli_has(&a, L_QUIET)) {
		if (!shown)
			fprintf(stderr, cli_has(&a, L_ALL) ? "No sandboxes found.\n" : "No running sandboxes.\n");
		table_print(&t);
	}
	json_decref(one);
	json_decref(arr);
	table_free(&t);
	msb_sandbox_list_free(list, n);
	return 0;
}

int cmd_inspect(int argc, char **argv)
{
	static const struct cli_opt opts[] = {{"format", 0, true, L_FORMAT, "Output format (json)."}};
	const char *usage = "msb inspect [OPTIONS] <NAME>";
	struct cli_args a;
	msb_sandbox_info s;
	msb_error err = {0};
	json_t *cfg, *labels;
	char c[40], u[40];

	cli_parse(argc, argv, opts, 1, &a, usage);
	if (a.npos != 1)
		cli_usage_error(usage, "the sandbox name is required");
	if (msb_get(cli_ctx(), a.pos[0], &s, &err) < 0) {
		cli_error(&err);
		return EXIT_MSB;
	}
	cfg = json_loads(s.config_json, 0, NULL);
	labels = json_loads(s.labels_json, 0, NULL);
	if (check_format(&a, usage)) {
		json_t *o;
		char *out;
		format_rfc3339(s.created_at, c);
		format_rfc3339(s.updated_at, u);
		o = json_pack("{s:s,s:s,s:O,s:s,s:s,s:O,s:[],s:O,s:i}", "name", s.name, "status",
			      msb_status_name(s.status), "config", cfg, "created_at", c, "updated_at", u,
			      "active_config", s.status == MSB_STATUS_RUNNING ? cfg : json_null(), "pending_changes",
			      "labels", labels, "pid", (int)s.supervisor_pid);
		out = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", out);
		free(out);
		json_decref(o);
	} else {
		const char *k;
		json_t *v;
		size_t i;
		format_local_time(s.created_at, c);
		format_local_time(s.updated_at, u);
		printf("%-16s%s\n%-16s%s\n%-16s%s\n%-16s%s\n%-16s%s\n", "Name:", s.name, "Status:",
		       msb_status_name(s.status), "Created:", c, "Updated:", u, "Image:", s.image);
		printf("%-16s%s\n", "Security:",
		       json_string_value(json_object_get(cfg, "security")) ?: "default");
		printf("%-16s%s\n", "Workdir:", json_string_value(json_object_get(cfg, "workdir")) ?: "/");
		printf("%-16s%s\n", "Shell:", json_string_value(json_object_get(cfg, "shell")) ?: "/bin/sh");
		if (json_array_size(json_object_get(cfg, "env"))) {
			printf("\nEnvironment\n");
			json_array_foreach(json_object_get(cfg, "env"), i, v) printf("  %s\n", json_string_value(v));
		}
		if (json_array_size(json_object_get(cfg, "ports"))) {
			char one[80];
			printf("\nPorts\n");
			json_array_foreach(json_object_get(cfg, "ports"), i, v)
			{
				port_text(v, one, sizeof(one));
				printf("  %s\n", one);
			}
		}
		if (json_object_size(labels)) {
			printf("\nLabels\n");
			json_object_foreach(labels, k, v) printf("  %s=%s\n", k, json_string_value(v));
		}
	}
	json_decref(cfg);
	json_decref(labels);
	msb_sandbox_info_clear(&s);
	return 0;
}
