/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls_sni.h - the server name of a TLS ClientHello (net/tls_sni.c).
 */
#ifndef MSB_NET_TLS_SNI_H
#define MSB_NET_TLS_SNI_H

#include <stddef.h>
#include <stdint.h>

#include "net/policy.h"

#define NET_SNI_PEEK_MAX 16384 /* bytes of first flight examined (spec/network.md §3) */
#define NET_SNI_PEEK_MS  5000

enum { NET_SNI_MORE = -1, NET_SNI_NONE = 0, NET_SNI_FOUND = 1 };

/**
 * net_tls_sni() - the SNI host name of a ClientHello at the start of @p.
 * @p: bytes the client sent first (borrowed)
 * @n: how many
 * @out: receives the name, lower-cased, without a trailing dot ("" unless found)
 *
 * Return: NET_SNI_FOUND; NET_SNI_MORE when the ClientHello's record is not
 * complete yet; NET_SNI_NONE when the bytes are not a TLS ClientHello, carry
 * no host name, are malformed, or span several records.
 */
int net_tls_sni(const uint8_t *p, size_t n, char out[NET_NAME_MAX + 1]);

#endif
