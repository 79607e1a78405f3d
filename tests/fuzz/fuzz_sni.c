// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_sni.c - libFuzzer target for the ClientHello server-name reader
 * (src/lib/net/tls_sni.c). Every input and every prefix of it is read; a
 * found name must be a non-empty, lower-case, printable string of at most
 * NET_NAME_MAX bytes, and a complete input never asks for more than it has
 * announced. Seeds live in tests/fuzz/corpus/sni/.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc/lib \
 *        tests/fuzz/fuzz_sni.c src/lib/net/tls_sni.c -o fuzz_sni
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/tls_sni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[NET_NAME_MAX + 1];

	for (size_t k = size > 64 ? size - 64 : 0; k <= size; k++) {
		int r = net_tls_sni(data, k, name);
		size_t len = strlen(name);
		if (r == NET_SNI_FOUND) {
			if (len == 0 || len > NET_NAME_MAX)
				abort();
			for (size_t i = 0; i < len; i++)
				if (name[i] <= 0x20 || name[i] >= 0x7f || (name[i] >= 'A' && name[i] <= 'Z'))
					abort();
		} else if (len) {
			abort();
		}
	}
	return 0;
}
