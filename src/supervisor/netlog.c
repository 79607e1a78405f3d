// SPDX-License-Identifier: Apache-2.0
/*
 * netlog.c - the network decision log: one JSON line per allow or deny in
 * <sandbox>/logs/network.log, e.g.
 *   {"t":"2026-11-23T16:30:00.123Z","s":"network","d":"deny egress tcp 10.77.0.10:80\n",
 *    "dir":"egress","proto":"tcp","dst":"10.77.0.10","port":80,"name":null,
 *    "rule":null,"action":"deny","reason":"no rule matched; egress default is deny"}
 * "t", "s" and "d" follow exec.log's shape so `msb logs --source network`
 * reads it with the same code; the other keys are for tools. Each line is
 * one write(2).
 */
#include <fcntl.h>
#include <stdio.h>

#include "execlog.h"
#include "netproxy.h"

static void str_or_null(struct buf *b, const char *key, const char *v)
{
	buf_printf(b, ",\"%s\":", key);
	if (!v) {
		buf_append(b, "null", 4);
		return;
	}
	buf_append(b, "\"", 1);
	json_escape_append(b, (const uint8_t *)v, strlen(v));
	buf_append(b, "\"", 1);
}

/*
 * The guest decides how many lines there are (one per connection and per DNS
 * query): network.log is a rotating log like exec.log (execlog.c), so the
 * disk it can fill is bounded.
 */
void np_log(struct netproxy *np, const char *dir, const char *proto, const struct net_addr *dst, unsigned port,
	    const char *name, const struct net_decision *d, const char *action, const char *note)
{
	char t[32], ip[NET_ADDR_STRLEN];
	struct buf b = {0};

	if (np->log.fd < 0)
		return;
	util_format_rfc3339_ms(util_wall_ms(), t);
	net_addr_format(dst, ip, sizeof(ip));
	buf_printf(&b, "{\"t\":\"%s\",\"s\":\"network\"", t);
	{
		/*
		 * A DNS name's text is up to DNS_NAME_TEXT_MAX bytes (escapes): the
		 * summary grows with it (a fixed buffer and snprintf() offsets
		 * overflowed the stack once).
		 */
		struct buf sb = {0};
		buf_printf(&sb, "%s %s %s %s%s%s:%u", action, dir, proto, name ? name : "", name ? " " : "", ip, port);
		if (d && d->rule >= 0)
			buf_printf(&sb, " (rule %d)", d->rule);
		if (note)
			buf_printf(&sb, " (%s)", note);
		buf_append(&sb, "\n", 1); /* bodies are lines, as in exec.log */
		buf_append(&sb, "", 1);
		str_or_null(&b, "d", sb.data);
		buf_free(&sb);
	}
	buf_printf(&b, ",\"dir\":\"%s\",\"proto\":\"%s\",\"dst\":\"%s\",\"port\":%u", dir, proto, ip, port);
	str_or_null(&b, "name", name);
	if (d && d->rule >= 0)
		buf_printf(&b, ",\"rule\":%d", d->rule);
	else
		buf_printf(&b, ",\"rule\":null");
	buf_printf(&b, ",\"action\":\"%s\"", action);
	str_or_null(&b, "reason", note ? note : d ? d->reason : NULL);
	buf_append(&b, "}\n", 2);
	rotlog_append(&np->log, b.data, b.len);
	buf_free(&b);
}
