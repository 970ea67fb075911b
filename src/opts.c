/* SPDX-License-Identifier: ISC */
/* Options every tool accepts, merged with the tool's own into one getopt_long table,
 * so that --help, parsing and the man pages have one list to agree with. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mcr.h"

enum {
	O_SERVERS = 1000,
	O_CONFIG,
	O_CONFIG_FILE,
	O_REPLICAS,
	O_DISTRIBUTION,
	O_HASH,
	O_KETAMA_COMPATIBLE,
	O_NAMESPACE,
	O_BEHAVIOR,
	O_SORT_HOSTS,
	O_TIMEOUT,
	O_USERNAME,
	O_PASSWORD_FILE,
	O_FORMAT,
	O_VERBOSE,
	O_QUIET,
	O_HELP,
	O_VERSION,
	O_KEYS_FROM,
	O_ALL,
	O_SHARD,
	O_RATE,
	O_BATCH,
	O_BATCH_BYTES,
	O_PROGRESS,
	O_NO_PROGRESS,
	O_MISPLACED_LIMIT,
	O_MATCH,
};

/* For the tools that take many keys (mcrverify, mcrcopy): where they come from, and how fast. */
static const struct mcr_option keyopts[] = {
    {"keys-from", 'k', "FILE", "the percent-encoded keys of FILE, one per line (- is stdin)", O_KEYS_FROM},
    {"all", 'a', NULL, "every key on every server (lru_crawler metadump)", O_ALL},
    {"shard", 0, "I/N", "only shard I of N of the keys", O_SHARD},
    {"match", 0, "GLOB", "only the keys whose name matches GLOB (fnmatch(3): * ? [...])", O_MATCH},
    {"rate", 0, "KEYS_PER_S", "at most this many keys per second", O_RATE},
    {"batch", 0, "N", "keys per round trip (default 500, or 64 per server)", O_BATCH},
    {"batch-bytes", 0, "SIZE", "bytes of values per round trip, as 16M (default), 512K, 1G", O_BATCH_BYTES},
    {"progress", 0, NULL, "show a progress line on stderr", O_PROGRESS},
    {"no-progress", 0, NULL, "no progress line, even on a terminal", O_NO_PROGRESS},
    {"misplaced-limit", 0, "PERCENT", "no write when more listed copies are outside their copy set (default 5)",
     O_MISPLACED_LIMIT},
    {NULL, 0, NULL, NULL, 0},
};

/* --batch-bytes: a whole number of bytes, or of KiB, MiB, GiB with K, M, G; 64K to 1G */
static size_t
batch_bytes(const char *arg)
{
	size_t len = strlen(arg);
	unsigned shift = 0;
	uint64_t v = 0;

	if (len && strchr("KkMmGg", arg[len - 1])) {
		shift = strchr("Kk", arg[len - 1]) ? 10 : strchr("Mm", arg[len - 1]) ? 20 : 30;
		len--;
	}
	for (size_t i = 0; i < len && v <= ((uint64_t)1 << 30); i++) {
		if (arg[i] < '0' || arg[i] > '9') {
			len = 0;
			break;
		}
		v = v * 10 + (uint64_t)(arg[i] - '0');
	}
	if (len == 0)
		mcr_usage_error("--batch-bytes: \"%s\" is not a size (bytes, or a number with K, M or G)", arg);
	if (v > ((uint64_t)1 << 30) || (v << shift) < 65536 || (v << shift) > ((uint64_t)1 << 30))
		mcr_usage_error("--batch-bytes: %s is not a size from 64K to 1G", arg);
	return (size_t)(v << shift);
}

static const struct mcr_option common[] = {
    {"servers", 's', "LIST", "servers: host[:port[:weight]],[v6]:port,/socket ($MEMCACHED_SERVERS)",
     O_SERVERS},
    {"config", 0, "STRING", "libmemcached configuration string ($LIBMEMCACHED)", O_CONFIG},
    {"config-file", 0, "PATH", "read the configuration string from a file", O_CONFIG_FILE},
    {"replicas", 'r', "N", "copies beyond the primary (default 1)", O_REPLICAS},
    {"distribution", 0, "NAME", "modula, consistent, ketama, ketama-weighted, ketama-spy", O_DISTRIBUTION},
    {"hash", 0, "NAME", "key hash: default, md5, crc, fnv1_64, fnv1a_64, fnv1_32, fnv1a_32, ...", O_HASH},
    {"ketama-compatible", 0, NULL, "libmemcached KETAMA_WEIGHTED (PHP OPT_LIBKETAMA_COMPATIBLE)",
     O_KETAMA_COMPATIBLE},
    {"namespace", 0, "PREFIX", "prefix every key, as the application does", O_NAMESPACE},
    {"behavior", 0, "NAME=VALUE", "set a libmemcached behaviour (repeatable)", O_BEHAVIOR},
    {"sort-hosts", 0, NULL, "sort the server list (libmemcached SORT_HOSTS)", O_SORT_HOSTS},
    {"timeout", 't', "MS", "connect and I/O timeout per server (default 3000)", O_TIMEOUT},
    {"username", 'u', "NAME", "SASL user ($MEMCACHED_PASSWORD or --password-file)", O_USERNAME},
    {"password-file", 0, "PATH", "read the SASL password from a file", O_PASSWORD_FILE},
    {"format", 0, "FMT", "output format: text, tsv, json", O_FORMAT},
    {"verbose", 'v', NULL, "more records (see the tool's page); -vv: a trace on stderr", O_VERBOSE},
    {"quiet", 'q', NULL, "no diagnostics, only the exit status", O_QUIET},
    {"help", 'h', NULL, "show this help and exit", O_HELP},
    {"version", 'V', NULL, "show the version and exit", O_VERSION},
    {NULL, 0, NULL, NULL, 0},
};

static size_t
count(const struct mcr_option *o)
{
	size_t n = 0;

	while (o && o[n].name)
		n++;
	return n;
}

static void
print_options(FILE *fp, const struct mcr_option *o)
{
	char left[64];

	for (; o->name; o++) {
		/* an optional value, "[NAME]", is shown as --opt[=NAME] */
		bool optional = o->arg && o->arg[0] == '[';
		char sh[5] = "    ";
		if (o->shortopt)
			snprintf(sh, sizeof(sh), "-%c, ", o->shortopt);
		snprintf(left, sizeof(left), "%s--%s%s%.*s", sh, o->name,
		         optional ? "[="
		         : o->arg ? "="
		                  : "",
		         !o->arg ? 0 : optional ? (int)strcspn(o->arg + 1, "]") : (int)strlen(o->arg),
		         o->arg ? o->arg + optional : "");
		if (optional)
			strncat(left, "]", sizeof(left) - strlen(left) - 1);
		fprintf(fp, "  %-32s %s\n", left, o->help);
	}
}

void
mcr_usage(const struct mcr_tool *tool, int status)
{
	FILE *fp = status ? stderr : stdout;
	size_t i;

	for (i = 0; tool->synopsis[i]; i++)
		fprintf(fp, "%s %s [options]%s%s\n", i ? "      " : "usage:", tool->name, *tool->synopsis[i] ? " " : "",
		        tool->synopsis[i]);
	if (status) {
		fprintf(fp, "Try '%s --help' for more information.\n", tool->name);
		exit(status);
	}
	fprintf(fp, "%s\n", tool->summary);
	if (tool->options[0].name) {
		fprintf(fp, "\nOptions:\n");
		print_options(fp, tool->options);
	}
	if (tool->keys) {
		fprintf(fp, "\nKey options:\n");
		print_options(fp, keyopts);
	}
	fprintf(fp, "\nCommon options (mcr(7)):\n");
	print_options(fp, common);
	fprintf(fp, "\nExit status: 0 yes, 1 no, 2 trouble. See %s(1) and mcr(7).\n", tool->name);
	mcr_finish_stdout();
	exit(0);
}

static void
add(struct option *lo, size_t *nlo, char *so, size_t *nso, const struct mcr_option *o)
{
	lo[*nlo].name = o->name;
	lo[*nlo].has_arg = !o->arg ? no_argument : o->arg[0] == '[' ? optional_argument : required_argument;
	lo[*nlo].flag = NULL;
	lo[*nlo].val = o->id;
	(*nlo)++;
	if (o->shortopt) {
		so[(*nso)++] = (char)o->shortopt;
		if (o->arg)
			so[(*nso)++] = ':';
	}
}

static int
short_to_id(const struct mcr_option *o, int c)
{
	for (; o->name; o++)
		if (o->shortopt == c)
			return o->id;
	return -1;
}

static void
common_option(const struct mcr_tool *tool, struct mcr_opts *o, int id, const char *value)
{
	/* getopt gives every option that takes a value its value, and NULL to the others, which
	 * do not read it: an empty string keeps that plain to the static analysers too */
	const char *arg = value ? value : "";

	switch (id) {
	case O_SERVERS: o->servers = arg; break;
	case O_CONFIG: o->config = arg; break;
	case O_CONFIG_FILE: o->config_file = arg; break;
	case O_REPLICAS: o->replicas = (long)mcr_number("--replicas", arg, 0, 1000000); break;
	case O_DISTRIBUTION: o->distribution = arg; break;
	case O_HASH: o->hash = arg; break;
	case O_KETAMA_COMPATIBLE: o->ketama_compatible = true; break;
	case O_NAMESPACE: o->namespace = arg; break;
	case O_BEHAVIOR:
		if (o->nbehaviors == sizeof(o->behaviors) / sizeof(o->behaviors[0]))
			mcr_usage_error("--behavior: at most 64 of them");
		o->behaviors[o->nbehaviors++] = arg;
		break;
	case O_SORT_HOSTS: o->sort_hosts = true; break;
	case O_TIMEOUT: o->timeout_ms = (unsigned)mcr_number("--timeout", arg, 1, 3600000); break;
	case O_USERNAME: o->username = arg; break;
	case O_PASSWORD_FILE: o->password_file = arg; break;
	case O_FORMAT:
		if (!strcmp(arg, "text"))
			o->format = MCR_TEXT;
		else if (!strcmp(arg, "tsv"))
			o->format = MCR_TSV;
		else if (!strcmp(arg, "json"))
			o->format = MCR_JSON;
		else
			mcr_usage_error("--format: unknown format \"%s\" (text, tsv or json)", arg);
		break;
	case O_VERBOSE: mcr_verbose++; break;
	case O_QUIET: mcr_quiet = true; break;
	case O_HELP: mcr_usage(tool, 0);
	case O_VERSION:
		printf("%s (mcr) %s\n", tool->name, VERSION);
		mcr_finish_stdout();
		exit(0);
	case O_KEYS_FROM:
		/* a second file would silently replace the first: one file, as cat(1) joins them */
		if (o->keys_file)
			mcr_usage_error("--keys-from: given twice; give one file (cat A B | %s -k -)",
			                tool->name);
		o->keys_file = arg;
		break;
	case O_ALL: o->all = true; break;
	case O_SHARD: {
		const char *why = mcr_parse_shard(arg, &o->shard, &o->nshards);
		if (why)
			mcr_usage_error("--shard: \"%s\" is %s", mcr_key_shown(arg, strlen(arg)), why);
		break;
	}
	case O_MATCH:
		if (!*arg)
			mcr_usage_error("--match: empty pattern (--match='*' is every key)");
		if (strlen(arg) > 4096)
			mcr_usage_error("--match: pattern longer than 4096 bytes");
		o->match = arg;
		break;
	case O_RATE: o->rate = mcr_number("--rate", arg, 1, 100000000); break;
	case O_BATCH:
		o->batch = (size_t)mcr_number("--batch", arg, 1, 100000);
		o->batch_given = true;
		break;
	case O_BATCH_BYTES: o->batch_bytes = batch_bytes(arg); break;
	case O_PROGRESS: o->progress = 1; break;
	case O_NO_PROGRESS: o->progress = 0; break;
	case O_MISPLACED_LIMIT:
		o->misplaced_limit = (unsigned)mcr_number("--misplaced-limit", arg, 0, 100);
		break;
	}
}

const char *
mcr_parse_shard(const char *arg, uint64_t *shard, uint64_t *nshards)
{
	const char *slash = strchr(arg, '/');
	char i[24];
	uint64_t a, b;

	if (!slash || (size_t)(slash - arg) >= sizeof(i))
		return "not I/N";
	memcpy(i, arg, (size_t)(slash - arg));
	i[slash - arg] = '\0';
	if (mcr_parse_uint(i, 1000000, &a) < 0 || mcr_parse_uint(slash + 1, 1000000, &b) < 0 || b == 0 ||
	    a == 0 || a > b)
		return "not I/N with 1 <= I <= N <= 1000000";
	*shard = a;
	*nshards = b;
	return NULL;
}

static const struct mcr_option *
find_option(const struct mcr_tool *tool, int id)
{
	const struct mcr_option *tables[] = {tool->options, tool->keys ? keyopts : NULL, common};

	for (size_t t = 0; t < 3; t++)
		for (const struct mcr_option *o = tables[t]; o && o->name; o++)
			if (o->id == id)
				return o;
	return NULL;
}

/* Is word one of the values an optional value lists after its "[NAME]" ("#": a number)? */
static bool
listed_value(const struct mcr_option *o, const char *word)
{
	const char *v = o && o->arg && o->arg[0] == '[' ? strchr(o->arg, ']') : NULL;
	size_t n = strlen(word), l;

	if (v && !strcmp(v, "]#"))
		return n > 0 && strspn(word, "0123456789") == n;

	for (v = v ? v + 1 : NULL; v && *v; v += l + (v[l] == '|')) {
		l = strcspn(v, "|");
		if (l == n && !strncmp(v, word, n))
			return true;
	}
	return false;
}

/* Edit distance with adjacent transpositions (--wehre is one from --where); names are short. */
static size_t
distance(const char *a, size_t n, const char *b)
{
	size_t m = strlen(b), d[3][65], *prev2 = d[0], *prev = d[1], *cur = d[2];

	if (n > 64 || m > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= m; j++)
		prev[j] = j;
	for (size_t i = 1; i <= n; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= m; j++) {
			size_t c = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < c)
				c = prev[j] + 1;
			if (cur[j - 1] + 1 < c)
				c = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < c)
				c = prev2[j - 2] + 1;
			cur[j] = c;
		}
		size_t *t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[m];
}

/* A long option getopt refused: say why, and what was meant. Only the name is shown: the value
 * of a mistyped option may be a secret. */
static _Noreturn void
bad_long_option(const struct option *lo, const char *arg)
{
	const char *name = arg + 2;
	size_t n = strcspn(name, "="), best = SIZE_MAX, i, k = 0;
	char list[256] = "";

	for (i = 0; lo[i].name; i++)
		if (strlen(lo[i].name) == n && !strncmp(lo[i].name, name, n))
			mcr_usage_error("option --%s takes no value", lo[i].name);
	/* an abbreviation of several options */
	for (i = 0; lo[i].name; i++)
		if (!strncmp(lo[i].name, name, n) && k++ < 6)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s--%s", k > 1 ? ", " : "",
			         lo[i].name);
	if (k > 1)
		mcr_usage_error("ambiguous option --%.*s: %s%s", (int)n, name, list, k > 6 ? ", ..." : "");
	/* a typo: the nearest names, one or two edits away (one for a short name) */
	for (i = 0; lo[i].name; i++) {
		size_t d = distance(name, n, lo[i].name);
		if (d < best)
			best = d;
	}
	if (best > (n < 5 ? 1u : 2u))
		mcr_usage_error("unknown option --%s (try --help)", mcr_key_shown(name, n < 64 ? n : 64));
	k = 0;
	for (i = 0; lo[i].name; i++)
		if (distance(name, n, lo[i].name) == best && k++ < 3)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s--%s", k > 1 ? " or " : "",
			         lo[i].name);
	mcr_usage_error("unknown option --%.*s; did you mean %s? (try --help)", (int)n, name, list);
}

int
mcr_parse_options(const struct mcr_tool *tool, struct mcr_opts *o, int argc, char **argv)
{
	size_t ntool = count(tool->options), ncommon = count(common), nkeys = tool->keys ? count(keyopts) : 0;
	size_t nall = ntool + ncommon + nkeys, nlo = 0, nso = 0, i;
	struct option *lo = mcr_xmalloc((nall + 1) * sizeof(*lo));
	char *so = mcr_xmalloc(3 * nall + 2);
	int c, id;

	memset(o, 0, sizeof(*o));
	o->replicas = -1;
	o->timeout_ms = MCR_DEFAULT_TIMEOUT;
	o->batch = 500;
	o->batch_bytes = MCR_BATCH_BYTES;
	o->progress = -1;
	o->misplaced_limit = 5;
	so[nso++] = ':';
	for (i = 0; i < ntool; i++)
		add(lo, &nlo, so, &nso, &tool->options[i]);
	for (i = 0; i < nkeys; i++)
		add(lo, &nlo, so, &nso, &keyopts[i]);
	for (i = 0; i < ncommon; i++)
		add(lo, &nlo, so, &nso, &common[i]);
	memset(&lo[nlo], 0, sizeof(*lo));
	so[nso] = '\0';

	/* getopt would take --password=X as --password-file=X: this option is spelled out, so a
	 * password typed by mistake is neither used as a path nor echoed in a message */
	for (int a = 1; a < argc && strcmp(argv[a], "--"); a++) {
		size_t n = strcspn(argv[a], "=");
		if (n > 2 && n < 15 && !strncmp(argv[a], "--password-file", n))
			mcr_usage_error("unknown option %.*s (try --help)", (int)n, argv[a]);
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		if (c == '?') {
			if (optopt && optopt < 256)
				mcr_usage_error("unknown option -%c (try --help)", optopt);
			const char *bad = argv[optind - 1];
			if (!strncmp(bad, "--", 2))
				bad_long_option(lo, bad);
			/* only the name: the value of a mistyped option may be a secret */
			mcr_usage_error("unknown option %.*s (try --help)", (int)strcspn(bad, "="), bad);
		}
		if (c == ':')
			mcr_usage_error("option %s needs a value", argv[optind - 1]);
		/* tool ids are 500 and up, so a value below 256 is a short option */
		id = c;
		if (c < 256) {
			id = short_to_id(tool->options, c);
			if (id < 0 && tool->keys)
				id = short_to_id(keyopts, c);
			if (id < 0)
				id = short_to_id(common, c);
		}
		/* --repair majority: the word would be read as a key, the value as absent */
		if (!optarg && optind < argc && argv[optind] && listed_value(find_option(tool, id), argv[optind])) {
			const char *name = find_option(tool, id)->name;
			mcr_usage_error("--%s %s: give the value with '=' (--%s=%s), or a key of that name after --",
			                name, argv[optind], name, argv[optind]);
		}
		if (id >= O_SERVERS)
			common_option(tool, o, id, optarg);
		else
			tool->handle(id, optarg);
	}
	free(lo);
	free(so);
	if (o->progress < 0)
		o->progress = isatty(2);
	return optind;
}
