/* SPDX-License-Identifier: ISC */
/* libFuzzer: server lists, as given to --servers or MEMCACHED_SERVERS. */
#include <stdlib.h>
#include <string.h>

#include "../src/mcr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = mcr_xmalloc(size + 1);
	struct mcr_entry *es, e;
	size_t n, which;

	memcpy(s, data, size);
	s[size] = '\0';
	if (!mcr_parse_servers(s, &es, &n, &which))
		free(es);
	mcr_parse_server((const char *)data, size, &e);
	free(s);
	return 0;
}
