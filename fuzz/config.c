/* libFuzzer: libmemcached configuration strings and configuration files, checked by mcr
 * before (and then by) libmemcached's own parser. */
#include <stdlib.h>
#include <string.h>

#include "../src/mcr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = mcr_xmalloc(size + 1), err[512];

	memcpy(s, data, size);
	s[size] = '\0';
	if (!memchr(data, '\0', size)) {
		mcr_config_problem(s, err, sizeof(err));
		mcr_config_problem(mcr_config_lines(s), err, sizeof(err));
	}
	free(s);
	return 0;
}
