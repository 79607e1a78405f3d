// SPDX-License-Identifier: Apache-2.0
/*
 * test_tls_sni.c - the ClientHello server-name reader (src/lib/net/tls_sni.c).
 */
#include <stdint.h>
#include <string.h>

#include "net/tls_sni.h"
#include "tap.h"

/* A minimal ClientHello: one cipher suite, no compression, an optional SNI and one other extension. */
static size_t hello(uint8_t *out, const char *sni)
{
	uint8_t body[1024];
	size_t n = 0, ext_at, sl = sni ? strlen(sni) : 0;

	body[n++] = 0x03, body[n++] = 0x03;
	memset(body + n, 0xab, 32), n += 32;
	body[n++] = 0; /* session id */
	body[n++] = 0, body[n++] = 2, body[n++] = 0x13, body[n++] = 0x01;
	body[n++] = 1, body[n++] = 0;
	ext_at = n;
	n += 2;
	/* supported_versions, so SNI is not first */
	body[n++] = 0, body[n++] = 43, body[n++] = 0, body[n++] = 3, body[n++] = 2, body[n++] = 3, body[n++] = 4;
	if (sni) {
		body[n++] = 0, body[n++] = 0;
		body[n++] = (uint8_t)((sl + 5) >> 8), body[n++] = (uint8_t)(sl + 5);
		body[n++] = (uint8_t)((sl + 3) >> 8), body[n++] = (uint8_t)(sl + 3);
		body[n++] = 0;
		body[n++] = (uint8_t)(sl >> 8), body[n++] = (uint8_t)sl;
		memcpy(body + n, sni, sl), n += sl;
	}
	body[ext_at] = (uint8_t)((n - ext_at - 2) >> 8), body[ext_at + 1] = (uint8_t)(n - ext_at - 2);
	out[0] = 0x16, out[1] = 0x03, out[2] = 0x01;
	out[3] = (uint8_t)((n + 4) >> 8), out[4] = (uint8_t)(n + 4);
	out[5] = 1, out[6] = 0, out[7] = (uint8_t)(n >> 8), out[8] = (uint8_t)n;
	memcpy(out + 9, body, n);
	return n + 9;
}

int main(void)
{
	uint8_t m[2048];
	char name[NET_NAME_MAX + 1];
	size_t n = hello(m, "Pub3.Test.Example.");
	int more = 1;

	is_int(net_tls_sni(m, n, name), NET_SNI_FOUND, "SNI found");
	is_str(name, "pub3.test.example", "lower-cased, trailing dot dropped");
	for (size_t k = 0; k < n; k++)
		if (net_tls_sni(m, k, name) != NET_SNI_MORE)
			more = 0;
	ok(more, "every proper prefix asks for more bytes");
	is_int(net_tls_sni(m, n + 10, name), NET_SNI_FOUND, "bytes after the record are ignored");
	n = hello(m, NULL);
	is_int(net_tls_sni(m, n, name), NET_SNI_NONE, "no SNI extension");
	is_str(name, "", "no name");
	is_int(net_tls_sni((const uint8_t *)"GET / HTTP/1.1\r\n", 16, name), NET_SNI_NONE, "plain HTTP");
	is_int(net_tls_sni(m, 0, name), NET_SNI_MORE, "nothing yet");
	n = hello(m, "a b.example");
	is_int(net_tls_sni(m, n, name), NET_SNI_NONE, "a space in the name");
	n = hello(m, "x.example");
	m[8] += 1; /* handshake longer than the record */
	is_int(net_tls_sni(m, n, name), NET_SNI_NONE, "handshake spills out of its record");
	n = hello(m, "x.example");
	m[n - 10] = 0xff; /* server-name length points past the list */
	is_int(net_tls_sni(m, n, name), NET_SNI_NONE, "name length past the list");
	n = hello(m, "x.example");
	m[5] = 2; /* ServerHello */
	is_int(net_tls_sni(m, n, name), NET_SNI_NONE, "not a ClientHello");
	return tap_done();
}
