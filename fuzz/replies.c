/* SPDX-License-Identifier: ISC */
/* libFuzzer: ASCII replies as they arrive, in pieces: lines of `mg ... t` replies, `stats`
 * and `lru_crawler metadump`. The first byte chooses the size of the pieces; the rest is
 * what a server sent. Splitting lines piece by piece must find the same lines as the whole
 * stream, and each parser must accept or refuse a line without reading past it. */
#include <stdlib.h>
#include <string.h>

#include "../src/mcr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
parse(const char *line, size_t len)
{
	/* a copy exactly as long as the line: reading past it is caught by ASan */
	char *l = malloc(len ? len : 1);
	int64_t v;
	struct mcr_key k;

	memcpy(l, line, len);
	if (mcr_mg_reply(l, len, &v) == 2 && v < MCR_TTL_NEVER)
		__builtin_trap();
	mcr_stat_line(l, len, "time", &v);
	mcr_stat_line(l, len, "pid", &v);
	if (mcr_metadump_line(l, len, &k) == 0 && (k.klen == 0 || k.klen > MCR_KEY_MAX))
		__builtin_trap();
	free(l);
}

/* Lines of buf[0..len); returns the bytes they used; their lengths in lens. */
static size_t
lines(const char *buf, size_t len, size_t *lens, size_t *n, size_t cap)
{
	size_t off = 0, l, used;

	*n = 0;
	while (off < len && mcr_line(buf + off, len - off, 1024, &l, &used)) {
		if (used > len - off || l >= used)
			__builtin_trap();
		parse(buf + off, l);
		if (*n < cap)
			lens[(*n)++] = used;
		off += used;
	}
	return off;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t whole[128], part[128], got[128], nwhole, npart = 0, piece, have = 0, used = 0, n;

	if (size < 1)
		return 0;
	piece = (size_t)data[0] % 64 + 1;
	data++;
	size--;
	char *acc = malloc(size ? size : 1);
	lines((const char *)data, size, whole, &nwhole, 128);
	while (have < size && npart < 128) {
		size_t step = size - have < piece ? size - have : piece;
		memcpy(acc + have, data + have, step);
		have += step;
		used += lines(acc + used, have - used, got, &n, 128 - npart);
		memcpy(part + npart, got, n * sizeof(*got));
		npart += n;
	}
	if (npart < 128 && nwhole < 128 && (npart != nwhole || memcmp(part, whole, nwhole * sizeof(*whole))))
		__builtin_trap();
	free(acc);
	return 0;
}
