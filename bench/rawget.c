/* SPDX-License-Identifier: ISC */
/* rawget: the raw read limit that mcrverify is measured against. It reads every copy of
 * every key of a key file with libmemcached and does nothing else: one binary-protocol
 * connection per server, pipelined multi-gets of BATCH keys whose copy set includes that
 * server, every server's batch in flight at once, results only counted.
 *
 *   rawget SERVERS REPLICAS KEYFILE [BATCH]
 *
 * SERVERS is host:port,... in mcr's order; placement is mcr's: copy r of a key is on server
 * (memcached_generate_hash(key) + r) mod n, with libmemcached's default distribution (modula)
 * and hash. KEYFILE holds one raw key per line (no percent-decoding: the benchmark's keys
 * are plain ASCII). Prints the number of keys whose every copy was read, then details.
 * Exit 0 when every key was read on every copy, 1 when some copy was missing, 2 on trouble. */
#include "raw.h"

struct keys {
	char **keys;
	size_t *lens;
};

static const char *
key_at(const void *ctx, size_t i, size_t *len)
{
	const struct keys *k = ctx;

	*len = k->lens[i];
	return k->keys[i];
}

int
main(int argc, char **argv)
{
	raw_prog = "rawget";
	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: rawget SERVERS REPLICAS KEYFILE [BATCH]\n");
		return 2;
	}
	unsigned long replicas = strtoul(argv[2], NULL, 10);
	size_t batch = argc == 5 ? strtoul(argv[4], NULL, 10) : 500;
	if (batch == 0)
		die("BATCH", "must be at least 1");

	uint32_t n;
	unsigned copies;
	memcached_st *place = placement(argv[1], replicas, &n, &copies);

	/* the keys, split in place */
	size_t flen, nkeys = 0, cap = 1024;
	char *buf = read_file(argv[3], &flen);
	char **keys = xmalloc(cap * sizeof(*keys));
	size_t *lens = xmalloc(cap * sizeof(*lens));
	for (size_t off = 0; off < flen;) {
		char *nl = memchr(buf + off, '\n', flen - off);
		size_t end = nl ? (size_t)(nl - buf) : flen, len = end - off;
		if (len && buf[off + len - 1] == '\r')
			len--;
		if (len) {
			if (nkeys == cap) {
				cap *= 2;
				if (!(keys = realloc(keys, cap * sizeof(*keys))) ||
				    !(lens = realloc(lens, cap * sizeof(*lens))))
					die("realloc", strerror(errno));
			}
			keys[nkeys] = buf + off;
			lens[nkeys++] = len;
		}
		off = end + 1;
	}

	/* per server: the keys it holds a copy of, in file order */
	size_t **mine, *nmine;
	struct keys kv = {keys, lens};
	by_server(place, n, copies, nkeys, key_at, &kv, &mine, &nmine);
	unsigned char *got = calloc(nkeys ? nkeys : 1, 1);
	if (!got)
		die("calloc", strerror(errno));

	/* one connection per server, holding just that server */
	memcached_st **m = xmalloc(n * sizeof(*m));
	/* caller-owned results: fetch_result frees a heap result at the end of a batch and
	 * allocates a new one on every call when given none; one of these is reused */
	memcached_result_st *res = xmalloc(n * sizeof(*res));
	for (uint32_t s = 0; s < n; s++)
		m[s] = connect_one(place, s, &res[s]);

	const char **bk = xmalloc(n * batch * sizeof(*bk));
	size_t *bl = xmalloc(n * batch * sizeof(*bl)), *pos = calloc(n, sizeof(*pos));
	size_t *bn = calloc(n, sizeof(*bn)), copies_read = 0;
	if (!pos || !bn)
		die("calloc", strerror(errno));
	for (;;) {
		int busy = 0;
		/* a batch to every server first, so the servers work while we read */
		for (uint32_t s = 0; s < n; s++) {
			bn[s] = 0;
			while (bn[s] < batch && pos[s] + bn[s] < nmine[s]) {
				size_t i = mine[s][pos[s] + bn[s]];
				bk[s * batch + bn[s]] = keys[i];
				bl[s * batch + bn[s]] = lens[i];
				bn[s]++;
			}
			if (!bn[s])
				continue;
			busy = 1;
			memcached_return_t rc = memcached_mget(m[s], bk + s * batch, bl + s * batch, bn[s]);
			if (rc != MEMCACHED_SUCCESS)
				die(memcached_server_name(memcached_server_instance_by_position(m[s], 0)),
				    memcached_strerror(m[s], rc));
		}
		if (!busy)
			break;
		for (uint32_t s = 0; s < n; s++) {
			memcached_return_t rc;
			size_t j = 0;
			if (!bn[s])
				continue;
			/* hits come back in request order, misses say nothing: match by walking the batch */
			while (memcached_fetch_result(m[s], &res[s], &rc)) {
				const char *k = memcached_result_key_value(&res[s]);
				size_t kl = memcached_result_key_length(&res[s]);
				while (j < bn[s] &&
				       (bl[s * batch + j] != kl || memcmp(bk[s * batch + j], k, kl)))
					j++;
				if (j == bn[s])
					die("fetch", "a key that was not asked for");
				got[mine[s][pos[s] + j]]++;
				copies_read++;
				j++;
			}
			if (rc != MEMCACHED_END && rc != MEMCACHED_NOTFOUND && rc != MEMCACHED_SUCCESS)
				die(memcached_server_name(memcached_server_instance_by_position(m[s], 0)),
				    memcached_strerror(m[s], rc));
			pos[s] += bn[s];
		}
	}

	size_t full = 0;
	for (size_t i = 0; i < nkeys; i++)
		full += got[i] == copies;
	printf("%zu keys fully read (%u copies each), %zu keys in the file, %zu copies read\n", full, copies,
	       nkeys, copies_read);
	for (uint32_t s = 0; s < n; s++) {
		memcached_result_free(&res[s]);
		memcached_free(m[s]);
		free(mine[s]);
	}
	memcached_free(place);
	free(m);
	free(res);
	free(mine);
	free(nmine);
	free(got);
	free(bk);
	free(bl);
	free(pos);
	free(bn);
	free(keys);
	free(lens);
	free(buf);
	return full == nkeys ? 0 : 1;
}
