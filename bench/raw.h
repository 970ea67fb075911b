/* SPDX-License-Identifier: ISC */
/* What rawget.c and rawset.c share: errors, memory, the key file, mcr's placement and one
 * libmemcached connection per server. Static: each program includes it once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmemcached/memcached.h>

static const char *raw_prog;

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "%s: %s: %s\n", raw_prog, what, why);
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

/* Placement configured as mcr configures it: binary protocol, replicas, servers last. */
static memcached_st *
placement(const char *servers, unsigned long replicas, uint32_t *n, unsigned *copies)
{
	memcached_st *place = memcached_create(NULL);
	memcached_server_st *list = memcached_servers_parse(servers);

	if (!place || !list)
		die(servers, "cannot parse the server list");
	memcached_behavior_set(place, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
	memcached_behavior_set(place, MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS, replicas);
	if (memcached_server_push(place, list) != MEMCACHED_SUCCESS)
		die(servers, memcached_last_error_message(place));
	memcached_server_list_free(list);
	*n = memcached_server_count(place);
	*copies = replicas + 1 < *n ? (unsigned)replicas + 1 : *n;
	return place;
}

/* Per server, the indexes (in file order) of the keys it holds a copy of: mine[s][0..nmine[s]). */
static void
by_server(memcached_st *place, uint32_t n, unsigned copies, size_t nkeys,
          const char *(*key)(const void *ctx, size_t i, size_t *len), const void *ctx, size_t ***mine,
          size_t **nmine)
{
	*mine = xmalloc(n * sizeof(**mine));
	*nmine = calloc(n, sizeof(**nmine));
	if (!*nmine)
		die("calloc", strerror(errno));
	for (uint32_t s = 0; s < n; s++)
		(*mine)[s] = xmalloc(nkeys * sizeof(***mine));
	for (size_t i = 0; i < nkeys; i++) {
		size_t len;
		const char *k = key(ctx, i, &len);
		uint32_t first = memcached_generate_hash(place, k, len);
		for (unsigned r = 0; r < copies; r++) {
			uint32_t s = (first + r) % n;
			(*mine)[s][(*nmine)[s]++] = i;
		}
	}
}

/* A connection holding server s of the placement alone, with a caller-owned result:
 * fetch_result allocates a new result on every call when given none. */
static memcached_st *__attribute__((unused))
connect_one(memcached_st *place, uint32_t s, memcached_result_st *res)
{
	const memcached_instance_st *in = memcached_server_instance_by_position(place, s);
	memcached_st *m = memcached_create(NULL);

	if (!m)
		die("memcached_create", "out of memory");
	memcached_behavior_set(m, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
	memcached_behavior_set(m, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
	if (memcached_server_add(m, memcached_server_name(in), memcached_server_port(in)) !=
	    MEMCACHED_SUCCESS)
		die(memcached_server_name(in), memcached_last_error_message(m));
	if (!memcached_result_create(m, res))
		die("memcached_result_create", "out of memory");
	return m;
}

struct item {
	const char *key, *val;
	size_t klen, vlen;
};

/* The values: the benchmark's generator (bench/run.sh, which writes the load file), so the
 * i-th key of the key file gets the bytes mcrset loaded for it: a Park-Miller sequence from a
 * fixed seed gives each value's length (16 to BENCH_VALUE_MAX, default 1000, as run.sh has it)
 * and its offset into a fixed pattern. */
#define SEED 20240601u

static char pattern[2000];

static struct item *
items_of(const char *path, char *buf, size_t len, size_t *nitems, unsigned long long *bytes)
{
	size_t cap = 1024, n = 0;
	struct item *v = xmalloc(cap * sizeof(*v));
	uint64_t x = SEED;
	const char *env = getenv("BENCH_VALUE_MAX");
	unsigned long vmax = env ? strtoul(env, NULL, 10) : 1000;

	if (vmax < 17 || vmax > 1000)
		die("BENCH_VALUE_MAX", "from 17 to 1000");
	for (int i = 0; i < 2000; i++)
		pattern[i] = (char)(33 + (i * 7 + i / 94) % 94);
	*bytes = 0;
	for (size_t off = 0; off < len;) {
		char *nl = memchr(buf + off, '\n', len - off);
		size_t end = nl ? (size_t)(nl - buf) : len, klen = end - off;
		if (klen && buf[off + klen - 1] == '\r')
			klen--;
		if (klen) {
			if (klen > 250)
				die(path, "a key longer than 250 bytes");
			if (n == cap) {
				cap *= 2;
				if (!(v = realloc(v, cap * sizeof(*v))))
					die("realloc", strerror(errno));
			}
			x = x * 16807 % 2147483647;
			size_t vlen = 16 + x % (vmax - 15);
			x = x * 16807 % 2147483647;
			v[n++] = (struct item){
			    .key = buf + off, .klen = klen, .val = pattern + x % 1000, .vlen = vlen};
			*bytes += vlen;
		}
		off = end + 1;
	}
	*nitems = n;
	return v;
}
