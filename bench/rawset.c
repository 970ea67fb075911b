/* SPDX-License-Identifier: ISC */
/* rawset: the raw write limit that mcrcopy is measured against. It writes every copy of
 * every key of a key file with libmemcached and does nothing else: one binary-protocol
 * connection per server, pipelined batches of BATCH sets of the keys whose copy set includes
 * that server, every server's batch in flight at once.
 *
 *   rawset SERVERS REPLICAS KEYFILE [BATCH [ack|noreply]]
 *
 * ack (the default): NOREPLY off and MEMCACHED_BEHAVIOR_BUFFER_REQUESTS on: each set is
 * buffered, memcached_flush_buffers sends the batch, then every set's own reply is read back
 * (libmemcached hands a buffered set's reply out through memcached_fetch_result) and counted:
 * per-item acknowledgement. libmemcached's purge is moved out of the way (IO_MSG_WATERMARK and
 * IO_BYTES_WATERMARK at their maximum): once 65 KiB were sent without a read it reads and
 * throws away the replies of the batch being sent, with a 50 ms poll timeout, and the
 * connection falls out of step (CONNECTION FAILURE at a batch of 500 with the defaults).
 * noreply: NOREPLY and BUFFER_REQUESTS on (quiet SETQ, flushed per batch), no reply per item;
 * one acknowledged request per server at the end, so the time covers every write.
 *
 * SERVERS is host:port,... in mcr's order; placement is mcr's: copy r of a key is on server
 * (memcached_generate_hash(key) + r) mod n, with libmemcached's default distribution (modula)
 * and hash. KEYFILE holds one raw key per line, the benchmark's key file: the values are
 * generated as bench/run.sh generates the load file (flags 0, no expiry), so no load file
 * is held in memory. Prints the number of keys whose every copy was acknowledged, then details.
 * Exit 0 when every copy was acknowledged (noreply: sent), 1 when some copy was refused, 2 on
 * trouble. */
#include "raw.h"

static const char *
key_at(const void *ctx, size_t i, size_t *len)
{
	const struct item *it = (const struct item *)ctx + i;

	*len = it->klen;
	return it->key;
}

static const char *
name(memcached_st *m)
{
	return memcached_server_name(memcached_server_instance_by_position(m, 0));
}

int
main(int argc, char **argv)
{
	raw_prog = "rawset";
	if (argc < 4 || argc > 6) {
		fprintf(stderr, "usage: rawset SERVERS REPLICAS KEYFILE [BATCH [ack|noreply]]\n");
		return 2;
	}
	unsigned long replicas = strtoul(argv[2], NULL, 10);
	size_t batch = argc >= 5 ? strtoul(argv[4], NULL, 10) : 500;
	int noreply = 0;
	if (batch == 0)
		die("BATCH", "must be at least 1");
	if (argc == 6 && !strcmp(argv[5], "noreply"))
		noreply = 1;
	else if (argc == 6 && strcmp(argv[5], "ack"))
		die(argv[5], "MODE is ack or noreply");

	uint32_t n;
	unsigned copies;
	memcached_st *place = placement(argv[1], replicas, &n, &copies);

	size_t flen, nitems;
	unsigned long long bytes;
	char *buf = read_file(argv[3], &flen);
	struct item *items = items_of(argv[3], buf, flen, &nitems, &bytes);

	/* per server: the items it holds a copy of, in file order */
	size_t **mine, *nmine;
	by_server(place, n, copies, nitems, key_at, items, &mine, &nmine);
	unsigned char *acked = calloc(nitems ? nitems : 1, 1);
	if (!acked)
		die("calloc", strerror(errno));

	/* one connection per server, holding just that server */
	memcached_st **m = xmalloc(n * sizeof(*m));
	memcached_result_st *res = xmalloc(n * sizeof(*res));
	for (uint32_t s = 0; s < n; s++) {
		m[s] = connect_one(place, s, &res[s]);
		memcached_behavior_set(m[s], MEMCACHED_BEHAVIOR_NOREPLY, (uint64_t)noreply);
		memcached_behavior_set(m[s], MEMCACHED_BEHAVIOR_BUFFER_REQUESTS, 1);
		/* no purge: it would read and drop the replies of a batch while it is being sent */
		memcached_behavior_set(m[s], MEMCACHED_BEHAVIOR_IO_MSG_WATERMARK, UINT32_MAX);
		memcached_behavior_set(m[s], MEMCACHED_BEHAVIOR_IO_BYTES_WATERMARK, UINT32_MAX);
	}

	size_t *pos = calloc(n, sizeof(*pos)), *bn = calloc(n, sizeof(*bn));
	size_t copies_acked = 0, copies_sent = 0, copies_failed = 0;
	memcached_return_t first_failure = MEMCACHED_SUCCESS;
	if (!pos || !bn)
		die("calloc", strerror(errno));
	for (;;) {
		int busy = 0;
		/* a batch to every server first, so the servers work while we read */
		for (uint32_t s = 0; s < n; s++) {
			memcached_return_t rc;
			for (bn[s] = 0; bn[s] < batch && pos[s] + bn[s] < nmine[s]; bn[s]++) {
				const struct item *it = &items[mine[s][pos[s] + bn[s]]];
				rc = memcached_set(m[s], it->key, it->klen, it->val, it->vlen, 0, 0);
				if (rc != MEMCACHED_BUFFERED && rc != MEMCACHED_SUCCESS)
					die(name(m[s]), memcached_strerror(m[s], rc));
			}
			if (!bn[s])
				continue;
			busy = 1;
			if ((rc = memcached_flush_buffers(m[s])) != MEMCACHED_SUCCESS)
				die(name(m[s]), memcached_strerror(m[s], rc));
			copies_sent += bn[s];
		}
		if (!busy)
			break;
		for (uint32_t s = 0; s < n && !noreply; s++) {
			/* the replies come in request order, one per set */
			for (size_t j = 0; j < bn[s]; j++) {
				memcached_return_t rc;
				if (memcached_fetch_result(m[s], &res[s], &rc)) {
					acked[mine[s][pos[s] + j]]++;
					copies_acked++;
				} else if (rc == MEMCACHED_CONNECTION_FAILURE || rc == MEMCACHED_TIMEOUT ||
				           rc == MEMCACHED_ERRNO || rc == MEMCACHED_UNKNOWN_READ_FAILURE ||
				           rc == MEMCACHED_READ_FAILURE) {
					die(name(m[s]), memcached_strerror(m[s], rc));
				} else {
					/* a refused set; libmemcached may report it as NOTFOUND */
					if (first_failure == MEMCACHED_SUCCESS)
						first_failure = rc;
					copies_failed++;
				}
			}
		}
		for (uint32_t s = 0; s < n; s++)
			pos[s] += bn[s];
	}
	if (noreply) {
		/* one acknowledged request per server: the server has handled every set before it */
		for (uint32_t s = 0; s < n; s++) {
			memcached_return_t rc;
			memcached_behavior_set(m[s], MEMCACHED_BEHAVIOR_NOREPLY, 0);
			memcached_behavior_set(m[s], MEMCACHED_BEHAVIOR_BUFFER_REQUESTS, 0);
			rc = memcached_exist(m[s], "rawset:end", 10);
			if (rc != MEMCACHED_NOTFOUND && rc != MEMCACHED_SUCCESS)
				die(name(m[s]), memcached_strerror(m[s], rc));
		}
		for (size_t i = 0; i < nitems; i++)
			acked[i] = (unsigned char)copies;
	}

	size_t full = 0;
	for (size_t i = 0; i < nitems; i++)
		full += acked[i] == copies;
	if (noreply)
		printf(
		    "%zu keys fully written (%u copies each, noreply: sent, not acknowledged), %zu keys in "
		    "the file, %llu value bytes, %zu copies sent\n",
		    full, copies, nitems, bytes, copies_sent);
	else
		printf("%zu keys fully written (%u copies each, every copy acknowledged), %zu keys in the "
		       "file, %llu value bytes, %zu copies sent, %zu acknowledged, %zu refused%s%s\n",
		       full, copies, nitems, bytes, copies_sent, copies_acked, copies_failed,
		       copies_failed ? ", first: " : "",
		       copies_failed ? memcached_strerror(place, first_failure) : "");
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
	free(acked);
	free(pos);
	free(bn);
	free(items);
	free(buf);
	return full == nitems ? 0 : 1;
}
