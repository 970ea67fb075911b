/* SPDX-License-Identifier: ISC */
/* libFuzzer: memcached text-protocol storage items and dump streams, as mcrset --batch and
 * mcrcopy --from=- read them (item by item, with end marks). Every item read has its data
 * whole, no more than its byte count; every read is bounded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/mcr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = mcr_xmalloc(size + 1);
	struct mcr_item it;
	size_t line = 0;
	const char *err;
	FILE *fp;
	int rc;

	memcpy(buf, data, size);
	buf[size] = '\0';
	if ((fp = fmemopen(buf, size ? size : 1, "r")) != NULL) {
		while ((rc = mcr_item_read(fp, &it, &line, &err)) != MCR_ITEM_END && rc != MCR_ITEM_BAD) {
			if (rc == MCR_ITEM && (it.dlen > size || it.klen == 0 || it.klen > MCR_KEY_MAX))
				__builtin_trap();
			if (rc == MCR_ITEM)
				mcr_item_free(&it);
		}
		fclose(fp);
	}
	free(buf);
	return 0;
}
