/* SPDX-License-Identifier: ISC */
/* libFuzzer: percent-encoded key lines (-k files) and metadump lines. */
#include <string.h>

#include "../src/mcr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[MCR_KEY_MAX];
	size_t n;
	struct mcr_key k;

	if (mcr_pct_decode((const char *)data, size, out, sizeof(out), &n) == 0 && n > sizeof(out))
		__builtin_trap();
	if (mcr_metadump_line((const char *)data, size, &k) == 0 && (k.klen == 0 || k.klen > MCR_KEY_MAX))
		__builtin_trap();
	return 0;
}
