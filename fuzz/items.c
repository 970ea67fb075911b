/* libFuzzer: memcached text-protocol storage items, as mcrset --batch (whole buffer) and
 * mcrcopy --from=- (a stream) read them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/mcr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = mcr_xmalloc(size + 1);
	struct mcr_item *items, it;
	size_t n, line = 0;
	const char *err;
	FILE *fp;

	memcpy(buf, data, size);
	buf[size] = '\0';
	if (mcr_parse_items(buf, size, &items, &n, &err, &line) == 0) {
		for (size_t i = 0; i < n; i++)
			if (items[i].data < buf || items[i].data + items[i].dlen > buf + size)
				__builtin_trap();
		free(items);
	}
	memcpy(buf, data, size);
	line = 0;
	if ((fp = fmemopen(buf, size ? size : 1, "r")) != NULL) {
		while (mcr_item_read(fp, &it, &line, &err) == 1) {
			free(it.key);
			free(it.data);
		}
		fclose(fp);
	}
	free(buf);
	return 0;
}
