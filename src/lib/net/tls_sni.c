// SPDX-License-Identifier: Apache-2.0
/*
 * tls_sni.c - find the server name in a TLS ClientHello (RFC 8446 §4.1.2,
 * RFC 6066 §3), for the egress policy's SNI check (spec/network.md §3). The
 * input is the first bytes a sandbox sent on a new connection: hostile,
 * possibly incomplete. Pure, no allocation; every length is checked against
 * the bytes present.
 */
#include "net/policy.h"
#include "net/tls_sni.h"

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

int net_tls_sni(const uint8_t *p, size_t n, char out[NET_NAME_MAX + 1])
{
	size_t rec_len, hs_len, off, end, ext_end;

	out[0] = '\0';
	if (n < 1)
		return NET_SNI_MORE;
	if (p[0] != 0x16) /* not a TLS handshake record */
		return NET_SNI_NONE;
	if (n < 5)
		return NET_SNI_MORE;
	if (p[1] != 0x03)
		return NET_SNI_NONE;
	rec_len = be16(p + 3);
	if (rec_len < 4 || rec_len > 16384)
		return NET_SNI_NONE;
	if (n < 5 + 4)
		return NET_SNI_MORE;
	if (p[5] != 0x01) /* ClientHello */
		return NET_SNI_NONE;
	hs_len = (size_t)p[6] << 16 | (size_t)p[7] << 8 | p[8];
	if (hs_len + 4 > rec_len)
		return NET_SNI_NONE; /* spread over several records: not followed */
	if (n < 5 + rec_len)
		return NET_SNI_MORE;
	off = 9;
	end = 9 + hs_len;
	/* version, random */
	if (off + 2 + 32 > end)
		return NET_SNI_NONE;
	off += 34;
	/* session id */
	if (off + 1 > end || off + 1 + p[off] > end)
		return NET_SNI_NONE;
	off += 1 + p[off];
	/* cipher suites */
	if (off + 2 > end || off + 2 + be16(p + off) > end)
		return NET_SNI_NONE;
	off += 2 + be16(p + off);
	/* compression methods */
	if (off + 1 > end || off + 1 + p[off] > end)
		return NET_SNI_NONE;
	off += 1 + p[off];
	if (off + 2 > end)
		return NET_SNI_NONE; /* no extensions */
	ext_end = off + 2 + be16(p + off);
	if (ext_end > end)
		return NET_SNI_NONE;
	off += 2;
	while (off + 4 <= ext_end) {
		unsigned type = be16(p + off), len = be16(p + off + 2);
		size_t d = off + 4, list_end;
		if (d + len > ext_end)
			return NET_SNI_NONE;
		if (type != 0) {
			off = d + len;
			continue;
		}
		if (len < 2 || d + 2 + be16(p + d) > d + len)
			return NET_SNI_NONE;
		list_end = d + 2 + be16(p + d);
		d += 2;
		while (d + 3 <= list_end) {
			unsigned nt = p[d], nl = be16(p + d + 1);
			if (d + 3 + nl > list_end)
				return NET_SNI_NONE;
			if (nt == 0) {
				size_t k = nl;
				if (k && p[d + 3 + k - 1] == '.')
					k--; /* one trailing dot is not part of the name */
				if (k == 0 || k > NET_NAME_MAX)
					return NET_SNI_NONE;
				for (size_t i = 0; i < k; i++) {
					uint8_t c = p[d + 3 + i];
					if (c <= 0x20 || c >= 0x7f) {
						out[0] = '\0';
						return NET_SNI_NONE;
					}
					out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
				}
				out[k] = '\0';
				return NET_SNI_FOUND;
			}
			d += 3 + nl;
		}
		return NET_SNI_NONE;
	}
	return NET_SNI_NONE;
}
