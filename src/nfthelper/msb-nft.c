// SPDX-License-Identifier: Apache-2.0
/*
 * msb-nft.c - apply one nftables ruleset through libnftables.
 *
 * Usage: msb-nft RULESET. Run by the boot helper inside a sandbox's new
 * network namespace (ns/net.c) with an empty environment. It is a separate,
 * dynamically linked program because msb itself is static and Debian ships
 * libnftables only as a shared library. The ruleset is applied as one
 * transaction: all of it or nothing. Prints libnftables' message and exits 1
 * on failure.
 */
#include <nftables/libnftables.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	struct nft_ctx *nft;
	int r;

	if (argc != 2) {
		fputs("usage: msb-nft RULESET\n", stderr);
		return 2;
	}
	nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft) {
		fputs("msb-nft: cannot create an nftables context\n", stderr);
		return 1;
	}
	nft_ctx_buffer_error(nft);
	r = nft_run_cmd_from_buffer(nft, argv[1]);
	if (r != 0)
		fprintf(stderr, "msb-nft: %s", nft_ctx_get_error_buffer(nft));
	nft_ctx_free(nft);
	return r ? 1 : 0;
}
