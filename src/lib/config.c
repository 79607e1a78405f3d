// SPDX-License-Identifier: Apache-2.0
/*
 * config.c - msb_config: sandbox options set by key, each value checked by
 * the grammar spec/cli.md gives it, so a bad value is rejected before any
 * state exists, with a message naming the option and the value.
 */
#include <arpa/inet.h>
#include <stdio.h>

#include "config.h"
#include "msb.h"
#include "parse.h"

enum cfg_kind { K_STR, K_LIST, K_SIZE_MIB, K_DUR_S, K_DUR_MS, K_U8, K_BOOL, K_SECURITY, K_NAME, K_ENV, K_LABEL,
		K_SHELL, K_NET, K_MS, K_PORT, K_MAX_CONN, K_RATE_BYTES, K_RATE_OPS, K_BURST_BYTES, K_BURST_OPS };

struct cfg_key {
	const char *name;     /* msb_config_set key */
	const char *json_key; /* stored under */
	enum cfg_kind kind;
};

static const struct cfg_key keys[] = {
	{"image", "image", K_STR},
	{"name", "name", K_NAME},
	{"workdir", "workdir", K_STR},
	{"user", "user", K_STR},
	{"hostname", "hostname", K_STR},
	{"shell", "shell", K_SHELL},
	{"security", "security", K_SECURITY},
	{"cpus", "cpus", K_U8},
	{"memory", "memory_mib", K_SIZE_MIB},
	{"max-duration", "max_duration_s", K_DUR_S},
	{"idle-timeout", "idle_timeout_s", K_DUR_S},
	{"env", "env", K_ENV},
	{"label", "labels", K_LABEL},
	{"cmd", "cmd", K_LIST},
	{"entrypoint", "entrypoint", K_STR},
	{"ephemeral", "ephemeral", K_BOOL},
	{"replace", "replace", K_BOOL},
	{"replace-timeout-ms", "replace_timeout_ms", K_DUR_MS},
	/* network flags: kept in argv order under "net_flags", validated as a whole on each addition */
	{"net", "net_flags", K_NET},
	{"net-rule", "net_flags", K_NET},
	{"no-net", "net_flags", K_NET},
	{"net-default", "net_flags", K_NET},
	{"net-default-egress", "net_flags", K_NET},
	{"net-default-ingress", "net_flags", K_NET},
	/* DNS interceptor (spec/network.md §4) */
	{"dns-nameserver", "dns_nameservers", K_LIST},
	{"dns-query-timeout-ms", "dns_query_timeout_ms", K_MS},
	{"no-dns-rebind-protection", "no_dns_rebind_protection", K_BOOL},
	/* published ports, connection cap and rate limits (spec/network.md §7) */
	{"port", "ports", K_PORT},
	{"max-connections", "max_connections", K_MAX_CONN},
	{"net-egress-bandwidth", "net_egress_bandwidth", K_RATE_BYTES},
	{"net-egress-bandwidth-burst", "net_egress_bandwidth_burst", K_BURST_BYTES},
	{"net-egress-ops", "net_egress_ops", K_RATE_OPS},
	{"net-egress-ops-burst", "net_egress_ops_burst", K_BURST_OPS},
	{"net-ingress-bandwidth", "net_ingress_bandwidth", K_RATE_BYTES},
	{"net-ingress-bandwidth-burst", "net_ingress_bandwidth_burst", K_BURST_BYTES},
	{"net-ingress-ops", "net_ingress_ops", K_RATE_OPS},
	{"net-ingress-ops-burst", "net_ingress_ops_burst", K_BURST_OPS},
};

/* `-p/--port`: TCP only (UDP is not relayed, docs/network.md); one mapping per host address and port. */
static int set_port(msb_config *cfg, const char *json_key, const char *value, msb_error *err)
{
	struct parse_port pm;
	char bind[INET6_ADDRSTRLEN];
	json_t *arr = json_object_get(cfg->obj, json_key), *v;
	size_t i;
	int r = parse_port(value, &pm, err);

	if (r < 0)
		return r;
	if (pm.proto != IPPROTO_TCP)
		return msb_err_set(err, MSB_ERR_INVALID, 0,
				   "published UDP ports are not supported (-p %s): only TCP is relayed into the sandbox",
				   value);
	inet_ntop(pm.family, &pm.bind, bind, sizeof(bind));
	json_array_foreach(arr, i, v)
	{
		if (json_integer_value(json_object_get(v, "host_port")) == pm.host_port)
			return msb_err_set(err, MSB_ERR_INVALID, 0, "duplicate host port %u in -p %s", pm.host_port,
					   value);
	}
	if (!arr) {
		arr = json_array();
		json_object_set_new(cfg->obj, json_key, arr);
	}
	json_array_append_new(arr, json_pack("{s:s,s:i,s:i,s:s}", "host_ip", bind, "host_port", (int)pm.host_port,
					     "guest_port", (int)pm.guest_port, "protocol", "tcp"));
	return 0;
}

/* Validate the network flags so far plus @flag=@value with the policy engine, then record them. */
static int set_net(msb_config *cfg, const char *flag, const char *value, msb_error *err)
{
	json_t *arr = json_object_get(cfg->obj, "net_flags");
	size_t n = json_array_size(arr), i;
	const char **flags = xcalloc(n + 1, sizeof(char *)), **values = xcalloc(n + 1, sizeof(char *));
	char *report = NULL;
	json_t *v;
	int r;

	json_array_foreach(arr, i, v)
	{
		flags[i] = json_string_value(json_array_get(v, 0));
		values[i] = json_string_value(json_array_get(v, 1));
	}
	flags[n] = flag;
	values[n] = strcmp(flag, "no-net") == 0 ? NULL : value;
	r = msb_policy_check(flags, values, n + 1, "192.0.2.1", NULL, 0, &report, err);
	free(report);
	free(flags);
	free(values);
	if (r < 0)
		return r;
	if (!arr) {
		arr = json_array();
		json_object_set_new(cfg->obj, "net_flags", arr);
	}
	json_array_append_new(arr, json_pack("[s,s?]", flag, strcmp(flag, "no-net") == 0 ? NULL : value));
	return 0;
}

MSB_EXPORT msb_config *msb_config_new(void)
{
	msb_config *c = xcalloc(1, sizeof(*c));
	c->obj = json_object();
	if (!c->obj)
		abort();
	return c;
}

MSB_EXPORT void msb_config_free(msb_config *cfg)
{
	if (!cfg)
		return;
	json_decref(cfg->obj);
	free(cfg);
}

static int set_u64(msb_config *cfg, const char *k, uint64_t v)
{
	json_object_set_new(cfg->obj, k, json_integer((json_int_t)v));
	return 0;
}

static void append(msb_config *cfg, const char *k, const char *v)
{
	json_t *a = json_object_get(cfg->obj, k);
	if (!a) {
		a = json_array();
		json_object_set_new(cfg->obj, k, a);
	}
	json_array_append_new(a, json_string(v));
}

static int set_value(msb_config *cfg, const struct cfg_key *ck, const char *value, msb_error *err)
{
	uint64_t v;
	char *s;
	int r;

	switch (ck->kind) {
	case K_STR:
		if (!*value)
			return msb_err_set(err, MSB_ERR_INVALID, 0, "%s must not be empty", ck->name);
		json_object_set_new(cfg->obj, ck->json_key, json_string(value));
		return 0;
	case K_NAME:
		r = msb_name_valid(value, err);
		if (r < 0)
			return r;
		json_object_set_new(cfg->obj, ck->json_key, json_string(value));
		return 0;
	case K_SHELL:
		r = parse_shell_valid(value, err);
		if (r < 0)
			return r;
		json_object_set_new(cfg->obj, ck->json_key, json_string(value));
		return 0;
	case K_SECURITY:
		if (strcmp(value, "default") != 0 && strcmp(value, "restricted") != 0)
			return msb_err_set(err, MSB_ERR_INVALID, 0,
					   "invalid security profile \"%s\" (expected: default, restricted)", value);
		json_object_set_new(cfg->obj, ck->json_key, json_string(value));
		return 0;
	case K_LIST:
		append(cfg, ck->json_key, value);
		return 0;
	case K_ENV:
		r = parse_env(value, &s, err);
		if (r < 0)
			return r;
		append(cfg, ck->json_key, s);
		free(s);
		return 0;
	case K_LABEL: {
		char *key, *val;
		json_t *o;
		r = parse_label(value, &key, &val, err);
		if (r < 0)
			return r;
		o = json_object_get(cfg->obj, ck->json_key);
		if (!o) {
			o = json_object();
			json_object_set_new(cfg->obj, ck->json_key, o);
		}
		json_object_set_new(o, key, json_string(val));
		free(key);
		free(val);
		return 0;
	}
	case K_SIZE_MIB:
		r = msb_parse_size_mib(value, &v, err);
		return r < 0 ? r : set_u64(cfg, ck->json_key, v);
	case K_DUR_S:
		r = msb_parse_duration_s(value, &v, err);
		return r < 0 ? r : set_u64(cfg, ck->json_key, v);
	case K_DUR_MS:
		r = msb_parse_duration_ms(value, &v, err);
		return r < 0 ? r : set_u64(cfg, ck->json_key, v);
	case K_U8: {
		char *end;
		unsigned long u = strtoul(value, &end, 10);
		if (!*value || *end || u == 0 || u > 255 || value[0] == '-' || value[0] == '+')
			return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid %s \"%s\" (expected 1-255)", ck->name,
					   value);
		return set_u64(cfg, ck->json_key, u);
	}
	case K_NET:
		return set_net(cfg, ck->name, value, err);
	case K_MS: {
		char *end;
		unsigned long long u = strtoull(value, &end, 10);
		if (!*value || *end || u == 0 || u > 3600000 || value[0] == '-' || value[0] == '+')
			return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid %s \"%s\" (expected milliseconds, 1-3600000)",
					   ck->name, value);
		return set_u64(cfg, ck->json_key, u);
	}
	case K_PORT:
		return set_port(cfg, ck->json_key, value, err);
	case K_MAX_CONN: {
		uint64_t u;
		r = parse_u64(value, strlen(value), UINT64_MAX, &u);
		if (r < 0 || u == 0)
			return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid --max-connections \"%s\" (expected 1-4096)",
					   value);
		if (u > 4096)
			return msb_err_set(err, MSB_ERR_INVALID, 0,
					   "--max-connections %s is too large: at most 4096 concurrent connections",
					   value);
		return set_u64(cfg, ck->json_key, u);
	}
	case K_RATE_BYTES:
	case K_RATE_OPS: {
		struct parse_rate pr;
		r = parse_rate(value, ck->kind == K_RATE_BYTES, &pr, err);
		if (r < 0)
			return r;
		json_object_set_new(cfg->obj, ck->json_key,
				    json_pack("{s:I,s:I}", "size", (json_int_t)pr.amount, "interval_ms",
					      (json_int_t)pr.interval_ms));
		return 0;
	}
	case K_BURST_BYTES:
		r = parse_size_bytes(value, &v, err);
		return r < 0 ? r : set_u64(cfg, ck->json_key, v);
	case K_BURST_OPS:
		r = parse_u64(value, strlen(value), UINT64_MAX, &v);
		if (r < 0)
			return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid %s \"%s\" (expected a whole number)",
					   ck->name, value);
		return set_u64(cfg, ck->json_key, v);
	case K_BOOL:
		if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
			return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid %s \"%s\" (expected 0 or 1)", ck->name,
					   value);
		json_object_set_new(cfg->obj, ck->json_key, json_boolean(value[0] == '1'));
		return 0;
	}
	return msb_err_set(err, MSB_ERR_INVALID, 0, "unknown option kind");
}

MSB_EXPORT int msb_config_set(msb_config *cfg, const char *key, const char *value, msb_error *err)
{
	if (!cfg || !key || !value)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "msb_config_set: missing argument");
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].name, key) == 0)
			return set_value(cfg, &keys[i], value, err);
	return msb_err_set(err, MSB_ERR_INVALID, 0, "unknown sandbox option \"%s\"", key);
}

const char *config_str(const json_t *cfg, const char *key)
{
	return json_string_value(json_object_get(cfg, key));
}

uint64_t config_u64(const json_t *cfg, const char *key, uint64_t dflt)
{
	json_t *v = json_object_get(cfg, key);
	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : dflt;
}

const char **config_strv(const json_t *cfg, const char *key, size_t *n)
{
	json_t *a = json_object_get(cfg, key);
	size_t k = json_is_array(a) ? json_array_size(a) : 0;
	const char **v = xcalloc(k + 1, sizeof(char *));
	size_t j = 0;
	for (size_t i = 0; i < k; i++) {
		const char *s = json_string_value(json_array_get(a, i));
		if (s)
			v[j++] = s;
	}
	if (n)
		*n = j;
	return v;
}
