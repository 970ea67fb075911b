/* SPDX-License-Identifier: ISC */
/*
 * lmrepl: write and read through libmemcached's OWN replication, so that the
 * tests can cross-check where mcr places copies against what the library does.
 *
 * Placement settings are applied to a fresh handle (or to the one that a
 * configuration string built) in a fixed order: binary protocol, replicas,
 * distribution, KETAMA_WEIGHTED, hash, SORT_HOSTS, HASH_WITH_PREFIX_KEY,
 * namespace, then the servers, as libmemcached's own tools do. The order
 * matters: a hash set after the servers does not rebuild a consistent
 * continuum, and a distribution set after weighted servers drops the
 * weighting. -L adds the servers first instead, to show the difference.
 *
 * Commands:
 *   set KEY VALUE         memcached_set() with the replicas, then flush and quit
 *   setmany PREFIX COUNT  the same for PREFIX0 .. PREFIX<COUNT-1>, each value its key
 *   deletemany PREFIX FROM TO  memcached_delete() of PREFIX<FROM> .. PREFIX<TO-1>, replicated
 *   get KEY               libmemcached's replicated get: the value, no newline
 *   incr KEY N            memcached_increment(): the new value
 *   where KEY...          KEY, memcached_generate_hash() index, that server
 *   copies KEY...         every copy as `mcrget --where --format=tsv` prints it
 *   servers               the server list in the library's order (after SORT_HOSTS)
 *   hashes                the hashes this libmemcached build accepts
 *
 * Exit status: 0 done, 1 not found / not stored, 2 trouble.
 */
#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libmemcached/memcached.h>

static const struct {
	const char *name;
	memcached_server_distribution_t dist;
} dists[] = {
    {"modula", MEMCACHED_DISTRIBUTION_MODULA},
    {"consistent", MEMCACHED_DISTRIBUTION_CONSISTENT},
    {"ketama", MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA},
    {"ketama-weighted", MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED},
    {"ketama-spy", MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA_SPY},
};

static const struct {
	const char *name;
	memcached_hash_t hash;
} hashes[] = {
    {"default", MEMCACHED_HASH_DEFAULT},   {"md5", MEMCACHED_HASH_MD5},
    {"crc", MEMCACHED_HASH_CRC},           {"fnv1_64", MEMCACHED_HASH_FNV1_64},
    {"fnv1a_64", MEMCACHED_HASH_FNV1A_64}, {"fnv1_32", MEMCACHED_HASH_FNV1_32},
    {"fnv1a_32", MEMCACHED_HASH_FNV1A_32}, {"hsieh", MEMCACHED_HASH_HSIEH},
    {"murmur", MEMCACHED_HASH_MURMUR},     {"jenkins", MEMCACHED_HASH_JENKINS},
    {"murmur3", MEMCACHED_HASH_MURMUR3},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct settings {
	const char *config;
	const char *servers;
	const char *namespace;
	long long replicas; /* -1: not given */
	int dist;           /* index into dists, -1: not given */
	int hash;           /* index into hashes, -1: not given */
	int ketama_weighted;
	int sort_hosts;
	int hash_with_prefix;
	int servers_first;
};

static void
usage(void)
{
	fprintf(stderr, "usage: lmrepl [-kLPS] [-c config] [-d distribution] [-H hash] "
	                "[-n namespace] [-r replicas] [-s servers] command [arg ...]\n"
	                "commands: set key value | setmany prefix count | deletemany prefix from to | "
	                "get key | "
	                "incr key n | where key ... | copies key ... | servers | hashes\n");
	exit(2);
}

static unsigned long long
number(const char *s, unsigned long long max, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (*s < '0' || *s > '9')
		errx(2, "%s: \"%s\" is not a number", what, s);
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v > max)
		errx(2, "%s: \"%s\" is not a number up to %llu", what, s, max);
	return v;
}

static void
check(memcached_st *memc, memcached_return_t rc, const char *what)
{
	if (memcached_failed(rc))
		errx(2, "%s: %s", what, memcached_last_error_message(memc));
}

/* One entry: host[:port[:weight]], [v6]:port[:weight] or /socket[:weight]. */
static void
add_server(memcached_st *memc, char *entry)
{
	char *host = entry, *port = NULL, *weight = NULL, *p;
	unsigned long long w = 1, pt = MEMCACHED_DEFAULT_PORT;

	if (*entry == '\0')
		errx(2, "-s: empty server entry");
	if (*entry == '/') {
		if ((p = strrchr(entry, ':')) != NULL && p[1] >= '0' && p[1] <= '9') {
			*p = '\0';
			w = number(p + 1, UINT32_MAX, "weight");
		}
		check(memc, memcached_server_add_unix_socket_with_weight(memc, entry, (uint32_t)w), entry);
		return;
	}
	if (*entry == '[') {
		if ((p = strchr(entry, ']')) == NULL)
			errx(2, "-s: \"%s\": missing ]", entry);
		host = entry + 1;
		*p++ = '\0';
		if (*p == ':')
			port = p + 1;
		else if (*p != '\0')
			errx(2, "-s: \"%s\": junk after ]", host);
	} else if ((p = strchr(entry, ':')) != NULL) {
		*p = '\0';
		port = p + 1;
	}
	if (port != NULL && (p = strchr(port, ':')) != NULL) {
		*p = '\0';
		weight = p + 1;
	}
	if (port != NULL)
		pt = number(port, 65535, "port");
	if (weight != NULL)
		w = number(weight, UINT32_MAX, "weight");
	check(memc, memcached_server_add_with_weight(memc, host, (in_port_t)pt, (uint32_t)w), host);
}

static void
add_servers(memcached_st *memc, const char *list)
{
	char *copy, *rest, *entry;

	if ((copy = rest = strdup(list)) == NULL)
		err(2, "strdup");
	while ((entry = strsep(&rest, ",")) != NULL)
		add_server(memc, entry);
	free(copy);
}

static void
apply_behaviors(memcached_st *memc, const struct settings *s)
{
	if (s->replicas >= 0)
		check(memc,
		      memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS,
		                             (uint64_t)s->replicas),
		      "NUMBER_OF_REPLICAS");
	if (s->dist >= 0)
		check(memc,
		      memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_DISTRIBUTION,
		                             (uint64_t)dists[s->dist].dist),
		      "DISTRIBUTION");
	if (s->ketama_weighted)
		check(memc, memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1),
		      "KETAMA_WEIGHTED");
	if (s->hash >= 0)
		check(memc,
		      memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_HASH, (uint64_t)hashes[s->hash].hash),
		      "HASH");
	if (s->sort_hosts)
		check(memc, memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_SORT_HOSTS, 1), "SORT_HOSTS");
	if (s->hash_with_prefix)
		check(memc, memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_HASH_WITH_PREFIX_KEY, 1),
		      "HASH_WITH_PREFIX_KEY");
	if (s->namespace != NULL)
		check(memc, memcached_callback_set(memc, MEMCACHED_CALLBACK_NAMESPACE, s->namespace),
		      "NAMESPACE");
}

static memcached_st *
open_cluster(const struct settings *s)
{
	memcached_st *memc;
	char msg[512];

	if (s->config != NULL) {
		if (libmemcached_check_configuration(s->config, strlen(s->config), msg, sizeof(msg)) !=
		    MEMCACHED_SUCCESS)
			errx(2, "-c: %s", msg);
		memc = memcached(s->config, strlen(s->config));
	} else {
		memc = memcached_create(NULL);
	}
	if (memc == NULL)
		errx(2, "cannot create a libmemcached handle");
	/* replication needs the binary protocol; it does not change placement */
	check(memc, memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1), "BINARY_PROTOCOL");
	if (s->servers_first && s->servers != NULL)
		add_servers(memc, s->servers);
	apply_behaviors(memc, s);
	if (!s->servers_first && s->servers != NULL)
		add_servers(memc, s->servers);
	if (memcached_server_count(memc) == 0)
		errx(2, "no servers (-s or a configuration with --SERVER)");
	return memc;
}

static void
print_server(memcached_st *memc, uint32_t index)
{
	const memcached_instance_st *in = memcached_server_instance_by_position(memc, index);

	const char *name = memcached_server_name(in);

	if (strcmp(memcached_server_type(in), "SOCKET") == 0)
		printf("%s", name);
	else if (strchr(name, ':') != NULL)
		printf("[%s]:%u", name, (unsigned)memcached_server_port(in));
	else
		printf("%s:%u", name, (unsigned)memcached_server_port(in));
}

/* Flushes the quiet replica SETQs and waits until every server has read them. */
static void
finish(memcached_st *memc)
{
	(void)memcached_flush_buffers(memc);
	memcached_quit(memc);
}

static int
cmd_set(memcached_st *memc, const char *key, const char *value)
{
	memcached_return_t rc = memcached_set(memc, key, strlen(key), value, strlen(value), 0, 0);

	finish(memc);
	if (memcached_failed(rc)) {
		warnx("set %s: %s", key, memcached_strerror(memc, rc));
		return 1;
	}
	return 0;
}

static int
cmd_setmany(memcached_st *memc, const char *prefix, unsigned long long count)
{
	char key[MEMCACHED_MAX_KEY];
	unsigned long long i;
	int status = 0;

	for (i = 0; i < count; i++) {
		memcached_return_t rc;
		int len = snprintf(key, sizeof(key), "%s%llu", prefix, i);

		if (len < 0 || (size_t)len >= sizeof(key))
			errx(2, "setmany: prefix \"%s\" is too long", prefix);
		rc = memcached_set(memc, key, (size_t)len, key, (size_t)len, 0, 0);
		if (memcached_failed(rc)) {
			warnx("set %s: %s", key, memcached_strerror(memc, rc));
			status = 1;
		}
	}
	finish(memc);
	return status;
}

/* libmemcached's own replicated delete (delete.cc): the primary's DELETE and then the replicas'
 * quiet DELETEQs are sent at once, and only the primary's answer is waited for. A copy already
 * gone is fine: the answers are not looked at (a replica's "not found" to a quiet delete is read
 * as the next command's answer, upstream issue #142). */
static int
cmd_deletemany(memcached_st *memc, const char *prefix, unsigned long long from, unsigned long long to)
{
	char key[MEMCACHED_MAX_KEY];

	for (unsigned long long i = from; i < to; i++) {
		int len = snprintf(key, sizeof(key), "%s%llu", prefix, i);
		if (len < 0 || (size_t)len >= sizeof(key))
			errx(2, "deletemany: prefix \"%s\" is too long", prefix);
		memcached_return_t rc = memcached_delete(memc, key, (size_t)len, 0);
		if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND)
			warnx("delete %s: %s", key, memcached_last_error_message(memc));
	}
	finish(memc);
	return 0;
}

static int
cmd_get(memcached_st *memc, const char *key)
{
	memcached_return_t rc;
	size_t len;
	uint32_t flags;
	char *value = memcached_get(memc, key, strlen(key), &len, &flags, &rc);

	if (value == NULL) {
		if (rc == MEMCACHED_NOTFOUND)
			return 1;
		errx(2, "get %s: %s", key, memcached_strerror(memc, rc));
	}
	if (fwrite(value, 1, len, stdout) != len)
		err(2, "stdout");
	free(value);
	return 0;
}

static int
cmd_incr(memcached_st *memc, const char *key, const char *n)
{
	uint64_t value;
	memcached_return_t rc;

	rc = memcached_increment(memc, key, strlen(key), (uint32_t)number(n, UINT32_MAX, "incr"), &value);
	if (rc == MEMCACHED_NOTFOUND)
		return 1;
	if (memcached_failed(rc))
		errx(2, "incr %s: %s", key, memcached_strerror(memc, rc));
	printf("%" PRIu64 "\n", value);
	return 0;
}

/* KEY, index that memcached_generate_hash() returns, that server */
static int
cmd_where(memcached_st *memc, char **keys)
{
	for (; *keys != NULL; keys++) {
		uint32_t i = memcached_generate_hash(memc, *keys, strlen(*keys));

		printf("%s\t%" PRIu32 "\t", *keys, i);
		print_server(memc, i);
		putchar('\n');
	}
	return 0;
}

/*
 * Every copy as `mcrget --where --format=tsv` prints it: copy r on server
 * (index + r) mod n, for r < min(replicas + 1, n) (storage.cc, get.cc).
 */
static int
cmd_copies(memcached_st *memc, char **keys)
{
	uint32_t n = memcached_server_count(memc), r, copies;
	uint64_t replicas = memcached_behavior_get(memc, MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS);

	copies = replicas + 1 < n ? (uint32_t)replicas + 1 : n;
	for (; *keys != NULL; keys++) {
		uint32_t i = memcached_generate_hash(memc, *keys, strlen(*keys));

		for (r = 0; r < copies; r++) {
			printf("%s\t", *keys);
			print_server(memc, (i + r) % n);
			if (r == 0)
				printf("\tprimary\n");
			else
				printf("\treplica%" PRIu32 "\n", r);
		}
	}
	return 0;
}

/* the server list in the library's order (after SORT_HOSTS): index, server */
static int
cmd_servers(memcached_st *memc)
{
	uint32_t i;

	for (i = 0; i < memcached_server_count(memc); i++) {
		printf("%" PRIu32 "\t", i);
		print_server(memc, i);
		putchar('\n');
	}
	return 0;
}

/* the hashes this build accepts (hashkit_set_function() refuses missing ones) */
static int
cmd_hashes(void)
{
	memcached_st *memc = memcached_create(NULL);
	size_t i;

	if (memc == NULL)
		errx(2, "cannot create a libmemcached handle");
	for (i = 0; i < NELEM(hashes); i++)
		if (memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_HASH, hashes[i].hash) ==
		    MEMCACHED_SUCCESS)
			printf("%s\n", hashes[i].name);
	memcached_free(memc);
	return 0;
}

static int
lookup_dist(const char *name)
{
	size_t i;

	for (i = 0; i < NELEM(dists); i++)
		if (strcasecmp(name, dists[i].name) == 0)
			return (int)i;
	errx(2, "-d: unknown distribution \"%s\"", name);
}

static int
lookup_hash(const char *name)
{
	size_t i;

	for (i = 0; i < NELEM(hashes); i++)
		if (strcasecmp(name, hashes[i].name) == 0)
			return (int)i;
	errx(2, "-H: unknown hash \"%s\"", name);
}

int
main(int argc, char *argv[])
{
	struct settings s = {.replicas = -1, .dist = -1, .hash = -1};
	memcached_st *memc;
	const char *cmd;
	int ch, status;

	while ((ch = getopt(argc, argv, "H:LPSc:d:kn:r:s:")) != -1) {
		switch (ch) {
		case 'H': s.hash = lookup_hash(optarg); break;
		case 'L': s.servers_first = 1; break;
		case 'P': s.hash_with_prefix = 1; break;
		case 'S': s.sort_hosts = 1; break;
		case 'c': s.config = optarg; break;
		case 'd': s.dist = lookup_dist(optarg); break;
		case 'k': s.ketama_weighted = 1; break;
		case 'n': s.namespace = optarg; break;
		case 'r': s.replicas = (long long)number(optarg, UINT32_MAX, "-r"); break;
		case 's': s.servers = optarg; break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	cmd = argv[0];
	if (strcmp(cmd, "hashes") == 0 && argc == 1)
		return cmd_hashes();

	if (s.servers == NULL && s.config == NULL)
		s.servers = getenv("MEMCACHED_SERVERS");
	/* like mcr: one replica unless told otherwise */
	if (s.replicas < 0 && s.config == NULL)
		s.replicas = 1;
	memc = open_cluster(&s);

	if (strcmp(cmd, "set") == 0 && argc == 3)
		status = cmd_set(memc, argv[1], argv[2]);
	else if (strcmp(cmd, "setmany") == 0 && argc == 3)
		status = cmd_setmany(memc, argv[1], number(argv[2], 1000000000, "setmany"));
	else if (strcmp(cmd, "deletemany") == 0 && argc == 4)
		status = cmd_deletemany(memc, argv[1], number(argv[2], 1000000000, "deletemany"),
		                        number(argv[3], 1000000000, "deletemany"));
	else if (strcmp(cmd, "get") == 0 && argc == 2)
		status = cmd_get(memc, argv[1]);
	else if (strcmp(cmd, "incr") == 0 && argc == 3)
		status = cmd_incr(memc, argv[1], argv[2]);
	else if (strcmp(cmd, "where") == 0 && argc >= 2)
		status = cmd_where(memc, argv + 1);
	else if (strcmp(cmd, "copies") == 0 && argc >= 2)
		status = cmd_copies(memc, argv + 1);
	else if (strcmp(cmd, "servers") == 0 && argc == 1)
		status = cmd_servers(memc);
	else
		usage();

	memcached_free(memc);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(2, "stdout");
	return status;
}
