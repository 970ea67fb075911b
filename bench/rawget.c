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
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmemcached/memcached.h>

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "rawget: %s: %s\n", what, why);
	exit(2);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("malloc", strerror(errno));
	return p;
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	size_t cap = 1 << 20, n = 0, r;
	char *buf = xmalloc(cap);

	if (!fp)
		die(path, strerror(errno));
	while ((r = fread(buf + n, 1, cap - n, fp)) > 0) {
		n += r;
		if (n == cap) {
			cap *= 2;
			if (!(buf = realloc(buf, cap)))
				die("realloc", strerror(errno));
		}
	}
	if (ferror(fp))
		die(path, strerror(errno));
	fclose(fp);
	*len = n;
	return buf;
}

int
main(int argc, char **argv)
{
	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: rawget SERVERS REPLICAS KEYFILE [BATCH]\n");
		return 2;
	}
	unsigned long replicas = strtoul(argv[2], NULL, 10);
	size_t batch = argc == 5 ? strtoul(argv[4], NULL, 10) : 500;
	if (batch == 0)
		die("BATCH", "must be at least 1");

	/* placement, configured as mcr configures it: binary protocol, replicas, servers last */
	memcached_st *place = memcached_create(NULL);
	memcached_server_st *list = memcached_servers_parse(argv[1]);
	if (!place || !list)
		die(argv[1], "cannot parse the server list");
	memcached_behavior_set(place, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
	memcached_behavior_set(place, MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS, replicas);
	if (memcached_server_push(place, list) != MEMCACHED_SUCCESS)
		die(argv[1], memcached_last_error_message(place));
	memcached_server_list_free(list);
	uint32_t n = memcached_server_count(place);
	unsigned copies = replicas + 1 < n ? (unsigned)replicas + 1 : n;

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
	size_t **mine = xmalloc(n * sizeof(*mine)), *nmine = calloc(n, sizeof(*nmine));
	unsigned char *got = calloc(nkeys ? nkeys : 1, 1);
	if (!nmine || !got)
		die("calloc", strerror(errno));
	for (uint32_t s = 0; s < n; s++)
		mine[s] = xmalloc(nkeys * sizeof(**mine));
	for (size_t i = 0; i < nkeys; i++) {
		uint32_t first = memcached_generate_hash(place, keys[i], lens[i]);
		for (unsigned r = 0; r < copies; r++) {
			uint32_t s = (first + r) % n;
			mine[s][nmine[s]++] = i;
		}
	}

	/* one connection per server, holding just that server */
	memcached_st **m = xmalloc(n * sizeof(*m));
	/* caller-owned results: fetch_result frees a heap result at the end of a batch and
	 * allocates a new one on every call when given none; one of these is reused */
	memcached_result_st *res = xmalloc(n * sizeof(*res));
	for (uint32_t s = 0; s < n; s++) {
		const memcached_instance_st *in = memcached_server_instance_by_position(place, s);
		m[s] = memcached_create(NULL);
		if (!m[s])
			die("memcached_create", "out of memory");
		memcached_behavior_set(m[s], MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
		memcached_behavior_set(m[s], MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
		if (memcached_server_add(m[s], memcached_server_name(in), memcached_server_port(in)) !=
		    MEMCACHED_SUCCESS)
			die(memcached_server_name(in), memcached_last_error_message(m[s]));
		if (!memcached_result_create(m[s], &res[s]))
			die("memcached_result_create", "out of memory");
	}

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
