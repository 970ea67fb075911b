/* SPDX-License-Identifier: ISC */
/* libFuzzer: binary protocol replies as a stream arrives, in pieces. The first byte of the
 * input chooses the size of the pieces and the body bound; the rest is what a server sent.
 * Decoding piece by piece must find the same replies, at the same places, as decoding
 * the whole stream at once, and never read outside what has arrived. */
#include <stdlib.h>
#include <string.h>

#include "../src/mcr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes buf[0..len) reply by reply; returns how many bytes made whole replies. */
static size_t
decode_all(const char *buf, size_t len, size_t body_max, long *lens, size_t *n, size_t cap, int *bad)
{
	size_t off = 0;
	struct mcr_frame f;
	const char *why;

	*n = 0;
	*bad = 0;
	while (off < len) {
		long l = mcr_frame_decode(buf + off, len - off, body_max, &f, &why);
		if (l < 0) {
			*bad = 1;
			break;
		}
		if (l == 0)
			break;
		if ((size_t)l > len - off || (size_t)l < MCR_HDR || f.elen + f.klen + f.vlen + MCR_HDR != (size_t)l ||
		    f.value + f.vlen != buf + off + l || f.klen > MCR_KEY_MAX)
			__builtin_trap();
		if (*n < cap)
			lens[(*n)++] = l;
		off += (size_t)l;
	}
	return off;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long whole[64], part[64], got[64];
	size_t nwhole, npart = 0, piece, body_max;
	int bad, badp = 0;

	if (size < 1)
		return 0;
	piece = (size_t)(data[0] & 31) + 1;
	body_max = data[0] & 0x80 ? 65536 : 64;
	data++;
	size--;
	char *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	decode_all(buf, size, body_max, whole, &nwhole, 64, &bad);

	/* the same bytes arriving piece bytes at a time, each arrival decoded as the engine does */
	char *acc = malloc(size ? size : 1);
	size_t have = 0, used = 0;
	while (have < size && !badp && npart < 64) {
		size_t step = size - have < piece ? size - have : piece;
		memcpy(acc + have, buf + have, step); /* a fresh copy: nothing past `have` is readable */
		have += step;
		size_t n;
		used += decode_all(acc + used, have - used, body_max, got, &n, 64 - npart, &badp);
		memcpy(part + npart, got, n * sizeof(*got));
		npart += n;
	}
	if (!badp && !bad && npart < 64 && nwhole < 64 &&
	    (npart != nwhole || memcmp(part, whole, nwhole * sizeof(*whole))))
		__builtin_trap();
	free(acc);
	free(buf);
	return 0;
}
