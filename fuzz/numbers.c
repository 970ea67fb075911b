/* SPDX-License-Identifier: ISC */
/* libFuzzer: numbers and shard specifications. */
#include <stdlib.h>
#include <string.h>

#include "../src/mcr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = mcr_xmalloc(size + 1);
	uint64_t v, i, n;

	memcpy(s, data, size);
	s[size] = '\0';
	if (mcr_parse_uint(s, 65535, &v) == 0 && v > 65535)
		__builtin_trap();
	mcr_parse_uint(s, UINT64_MAX, &v);
	if (!mcr_parse_shard(s, &i, &n) && (i == 0 || i > n))
		__builtin_trap();
	free(s);
	return 0;
}
