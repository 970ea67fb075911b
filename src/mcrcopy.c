/* mcrcopy: copy items between clusters, rebuild a replaced server from the surviving
 * copies, dump a cluster to memcached's text protocol and restore it. Every item keeps
 * its flags and its remaining time to live; every destination copy is its own
 * acknowledged write; by default nothing that exists at the destination is overwritten. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcr.h"

enum {
	O_KEYS_FROM = 500,
	O_ALL,
	O_SHARD,
	O_TO,
	O_TO_REPLICAS,
	O_TO_DISTRIBUTION,
	O_TO_HASH,
	O_FROM,
	O_REBUILD,
	O_OVERWRITE,
	O_VERIFY,
	O_FAILED,
	O_DRY_RUN,
	O_RATE,
	O_BATCH,
	O_PROGRESS,
	O_NO_PROGRESS
};

static const struct mcr_option options[] = {
    {"keys-from", 'k', "FILE", "copy the percent-encoded keys of FILE, one per line (- is stdin)",
     O_KEYS_FROM},
    {"all", 'a', NULL, "copy every key on every source server", O_ALL},
    {"shard", 0, "I/N", "copy only shard I of N of the keys", O_SHARD},
    {"to", 0, "DEST", "destination: server list, configuration string, or - for a dump on stdout", O_TO},
    {"to-replicas", 0, "N", "replicas at the destination", O_TO_REPLICAS},
    {"to-distribution", 0, "NAME", "distribution at the destination", O_TO_DISTRIBUTION},
    {"to-hash", 0, "NAME", "key hash at the destination", O_TO_HASH},
    {"from", 0, "-", "read a dump from stdin instead of a cluster", O_FROM},
    {"rebuild", 0, "HOST:PORT", "refill this server of the cluster from the other copies", O_REBUILD},
    {"overwrite", 0, NULL, "replace keys that exist at the destination (set, not add)", O_OVERWRITE},
    {"verify", 0, NULL, "read every written copy back and compare it", O_VERIFY},
    {"failed", 0, "FILE", "write the keys not copied to FILE, ready for -k", O_FAILED},
    {"dry-run", 'n', NULL, "read and count, write nothing", O_DRY_RUN},
    {"rate", 0, "KEYS_PER_S", "copy at most this many keys per second", O_RATE},
    {"batch", 0, "N", "keys per round trip (default 500)", O_BATCH},
    {"progress", 0, NULL, "show a progress line on stderr", O_PROGRESS},
    {"no-progress", 0, NULL, "no progress line, even on a terminal", O_NO_PROGRESS},
    {NULL, 0, NULL, NULL, 0},
};

static const char *const synopsis[] = {"--to=DEST [KEY...] | -k FILE | -a", "--from=- --to=DEST",
                                       "--rebuild=HOST:PORT [-a | -k FILE | KEY...]", NULL};

static struct {
	struct mcr_keysrc ks;
	const char *to, *to_distribution, *to_hash, *from, *rebuild, *failed;
	long to_replicas;
	bool overwrite, verify, dry_run;
	uint64_t rate;
	size_t batch;
	int progress;
} opt = {.to_replicas = -1, .batch = 500, .progress = -1};

enum outcome { COPIED, PRESENT, EXPIRED, FAILED, IGNORED, NOUTCOME };

static struct {
	uint64_t n[NOUTCOME];
	double start;
} tally;

static FILE *failed_fp;

static void
handle(int id, const char *arg, void *ctx)
{
	(void)ctx;
	switch (id) {
	case O_KEYS_FROM: opt.ks.file = arg; break;
	case O_ALL: opt.ks.all = true; break;
	case O_SHARD: mcr_shard_parse(&opt.ks, arg); break;
	case O_TO: opt.to = arg; break;
	case O_TO_REPLICAS: opt.to_replicas = (long)mcr_number("--to-replicas", arg, 0, 1000000); break;
	case O_TO_DISTRIBUTION: opt.to_distribution = arg; break;
	case O_TO_HASH: opt.to_hash = arg; break;
	case O_FROM:
		if (strcmp(arg, "-"))
			mcr_usage_error(
			    "--from: only - (a dump on stdin) is supported; give a cluster with --servers");
		opt.from = arg;
		break;
	case O_REBUILD: opt.rebuild = arg; break;
	case O_OVERWRITE: opt.overwrite = true; break;
	case O_VERIFY: opt.verify = true; break;
	case O_FAILED: opt.failed = arg; break;
	case O_DRY_RUN: opt.dry_run = true; break;
	case O_RATE: opt.rate = mcr_number("--rate", arg, 1, 100000000); break;
	case O_BATCH: opt.batch = (size_t)mcr_number("--batch", arg, 1, 100000); break;
	case O_PROGRESS: opt.progress = 1; break;
	case O_NO_PROGRESS: opt.progress = 0; break;
	}
}

/* One item on its way: where it came from and what became of it. */
struct item {
	struct mcr_key k;
	const char *val;
	size_t vlen;
	uint32_t flags;
	int64_t expires; /* unix time, -1 never */
	enum outcome outcome;
	const char *why;
	char *msg;       /* a server's message, owned */
	char *owned_val; /* from a dump */
};

/* Where items go: a cluster (every copy), one server of the source (--rebuild), or stdout. */
struct dest {
	struct mcr_cluster *c;
	long only; /* --rebuild: the one server index; -1 every copy */
	enum mcr_format fmt;
};

static void
fail(struct item *it, const char *why)
{
	it->outcome = FAILED;
	it->why = why;
}

/* memcached reads an exptime over 30 days as a unix time. */
static uint32_t
exptime(int64_t expires, int64_t now)
{
	if (expires <= 0)
		return 0;
	if (expires - now <= 2592000)
		return (uint32_t)(expires - now);
	return (uint32_t)expires;
}

static bool
text_key(const char *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)k[i] <= 0x20 || k[i] == 0x7f)
			return false;
	return true;
}

/* A dump holds absolute expiry times, so a restore later does not extend a TTL. */
static void
dump(struct item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		if (it->outcome != COPIED)
			continue;
		if (!text_key(it->k.key, it->k.klen)) {
			fail(it, "key has spaces or control bytes, which the text protocol cannot carry");
			continue;
		}
		if (opt.dry_run)
			continue;
		printf("set %.*s %u %lld %zu\r\n", (int)it->k.klen, it->k.key, it->flags,
		       it->expires > 0 ? (long long)it->expires : 0LL, it->vlen);
		fwrite(it->val, 1, it->vlen, stdout);
		fputs("\r\n", stdout);
	}
}

/* Writes the COPIED items to their destination copies; add unless --overwrite. */
static void
write_cluster(const struct dest *d, struct item *items, size_t n)
{
	struct mcr_cluster *c = d->c;
	unsigned k = c->copies;
	struct mcr_req *w = mcr_xcalloc(n * k, sizeof(*w));
	size_t *idx = mcr_xcalloc(k, sizeof(*idx)), *owner = mcr_xcalloc(n * k, sizeof(*owner)), nw = 0;
	int64_t now = (int64_t)time(NULL);

	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		if (it->outcome != COPIED)
			continue;
		if (it->expires > 0 && it->expires <= now) {
			it->outcome = EXPIRED;
			continue;
		}
		mcr_place(c, it->k.key, it->k.klen, idx);
		for (unsigned r = 0; r < k; r++) {
			if (d->only >= 0 && idx[r] != (size_t)d->only)
				continue;
			w[nw] = (struct mcr_req){.server = idx[r],
			                         .op = opt.overwrite ? MCR_SET : MCR_ADD,
			                         .key = it->k.key,
			                         .klen = it->k.klen,
			                         .val = it->val,
			                         .vlen = it->vlen,
			                         .flags = it->flags,
			                         .exptime = exptime(it->expires, now)};
			owner[nw++] = i;
		}
	}
	if (opt.dry_run)
		nw = 0;
	mcr_run(c, w, nw);
	/* a key is copied if a copy was written, present if every copy already held it */
	for (size_t i = 0; i < n; i++)
		if (items[i].outcome == COPIED)
			items[i].outcome = opt.dry_run ? COPIED : PRESENT;
	for (size_t j = 0; j < nw; j++) {
		struct item *it = &items[owner[j]];
		if (w[j].result == MCR_OK) {
			if (it->outcome == PRESENT)
				it->outcome = COPIED;
		} else if (w[j].result != MCR_EXISTS && w[j].result != MCR_NOTSTORED) {
			if (w[j].msg && !it->msg) {
				it->msg = w[j].msg; /* kept for the report */
				w[j].msg = NULL;
			}
			fail(it, it->msg ? it->msg : mcr_result_word(w[j].result, w[j].op));
		}
	}
	if (opt.verify && nw) {
		struct mcr_req *v = mcr_xcalloc(nw, sizeof(*v));
		size_t nv = 0, *vo = mcr_xcalloc(nw, sizeof(*vo));
		for (size_t j = 0; j < nw; j++)
			if (w[j].result == MCR_OK) {
				v[nv] = (struct mcr_req){
				    .server = w[j].server, .op = MCR_GET, .key = w[j].key, .klen = w[j].klen};
				vo[nv++] = j;
			}
		mcr_run(c, v, nv);
		for (size_t j = 0; j < nv; j++) {
			const struct mcr_req *src = &w[vo[j]];
			struct item *it = &items[owner[vo[j]]];
			if (v[j].result != MCR_OK || v[j].rflags != src->flags || v[j].rlen != src->vlen ||
			    memcmp(v[j].rval, src->val, src->vlen))
				fail(it, "--verify: a written copy reads back different or absent");
			mcr_req_clear(&v[j]);
		}
		free(v);
		free(vo);
	}
	for (size_t j = 0; j < nw; j++)
		mcr_req_clear(&w[j]);
	free(w);
	free(idx);
	free(owner);
}

/* With --all a key is listed by every server that holds it, in server order, and is copied at
 * its first listing: when no server listed before this one holds it. Copying early means a
 * server restarted later in the run cannot take the key with it. */
static bool
listed_before(const struct mcr_req *q, unsigned k, size_t origin)
{
	bool member = false;

	for (unsigned r = 0; r < k; r++) {
		member |= q[r].server == origin;
		if (q[r].server < origin && q[r].result == MCR_OK)
			return true;
	}
	return !member; /* a misplaced copy: never read by applications, never copied */
}

/* With --all, first only the copies on servers listed before the one that listed the key:
 * if one holds it, the key was copied there and nothing more is read for it (one read
 * instead of every copy for most keys listed by a second server). */
static void
skip_listed_before(struct mcr_cluster *c, struct item *items, size_t n, struct mcr_req *reqs)
{
	unsigned k = c->copies;
	struct mcr_req *probe = mcr_xcalloc(n * k, sizeof(*probe));
	size_t *who = mcr_xcalloc(n * k, sizeof(*who)), m = 0;

	for (size_t i = 0; i < n; i++) {
		if (items[i].k.origin == SIZE_MAX || items[i].outcome == IGNORED)
			continue;
		for (unsigned r = 0; r < k; r++) {
			const struct mcr_req *q = &reqs[i * k + r];
			if (q->result != MCR_SKIPPED && q->server < items[i].k.origin) {
				probe[m] = *q;
				who[m++] = i;
			}
		}
	}
	mcr_run(c, probe, m);
	for (size_t j = 0; j < m; j++) {
		if (probe[j].result == MCR_OK && items[who[j]].outcome != IGNORED) {
			items[who[j]].outcome = IGNORED;
			for (unsigned r = 0; r < k; r++)
				reqs[who[j] * k + r].result = MCR_SKIPPED;
		}
		mcr_req_clear(&probe[j]);
	}
	free(probe);
	free(who);
}

/* Reads every source copy of the batch (--rebuild: every copy but the one rebuilt), takes the
 * first copy found in placement order, and learns its remaining TTL. */
static void
read_source(struct mcr_cluster *c, struct item *items, size_t n, long rebuilt, struct mcr_req *reqs)
{
	unsigned k = c->copies;
	size_t *idx = mcr_xcalloc(n * k, sizeof(*idx));
	int64_t now = (int64_t)time(NULL);

	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		mcr_place(c, it->k.key, it->k.klen, &idx[i * k]);
		it->outcome = COPIED;
		it->why = NULL;
		bool member = rebuilt < 0;
		for (unsigned r = 0; r < k; r++) {
			struct mcr_req *q = &reqs[i * k + r];
			mcr_req_clear(q);
			*q = (struct mcr_req){
			    .server = idx[i * k + r], .op = MCR_GET, .key = it->k.key, .klen = it->k.klen};
			if ((long)q->server == rebuilt) {
				q->result = MCR_SKIPPED;
				member = true;
			}
		}
		/* --rebuild: a key the server holds no copy of, or listed by the rebuilt server itself */
		if (!member || (rebuilt >= 0 && it->k.origin == (size_t)rebuilt)) {
			it->outcome = IGNORED;
			for (unsigned r = 0; r < k; r++)
				reqs[i * k + r].result = MCR_SKIPPED; /* nothing to read for it */
		}
	}
	skip_listed_before(c, items, n, reqs);
	mcr_run(c, reqs, n * k);

	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		struct mcr_req *src = NULL;
		bool unreachable = false;
		if (it->outcome == IGNORED)
			continue;
		for (unsigned r = 0; r < k && !src; r++) {
			struct mcr_req *q = &reqs[i * k + r];
			if (q->result == MCR_OK)
				src = q;
			else if (q->result != MCR_NOTFOUND && q->result != MCR_SKIPPED)
				unreachable = true;
		}
		if (!src && unreachable) {
			fail(it, "no copy could be read");
		} else if (!src && it->k.origin == SIZE_MAX) {
			fail(it, "not found at the source");
		} else if (!src) {
			/* listed, then gone: expired, or deleted meanwhile (nothing to copy) */
			it->outcome = it->k.expires > 0 && it->k.expires <= now ? EXPIRED : IGNORED;
		}
		if (!src)
			continue;
		if (it->k.origin != SIZE_MAX && listed_before(&reqs[i * k], k, it->k.origin)) {
			it->outcome = IGNORED;
			continue;
		}
		it->val = src->rval;
		it->vlen = src->rlen;
		it->flags = src->rflags;
		it->expires = it->k.expires;
	}

	/* keys not listed by metadump: ask the source server for the TTL, pipelined */
	for (size_t s = 0; s < c->nservers; s++) {
		const char **keys = mcr_xcalloc(n, sizeof(*keys));
		size_t *lens = mcr_xcalloc(n, sizeof(*lens)), *who = mcr_xcalloc(n, sizeof(*who)), m = 0;
		int64_t *ttl = mcr_xcalloc(n, sizeof(*ttl));
		for (size_t i = 0; i < n; i++) {
			struct item *it = &items[i];
			if (it->outcome != COPIED || it->k.origin != SIZE_MAX)
				continue;
			for (unsigned r = 0; r < k; r++)
				if (reqs[i * k + r].rval == it->val && reqs[i * k + r].server == s) {
					keys[m] = it->k.key;
					lens[m] = it->k.klen;
					who[m++] = i;
				}
		}
		if (m && mcr_ttls(c, s, keys, lens, m, ttl) < 0) {
			for (size_t j = 0; j < m; j++)
				fail(&items[who[j]], "cannot read the remaining time to live");
		} else {
			for (size_t j = 0; j < m; j++) {
				struct item *it = &items[who[j]];
				if (ttl[j] == MCR_TTL_ABSENT)
					it->outcome = EXPIRED;
				else
					it->expires = ttl[j] < 0 ? -1 : now + (ttl[j] ? ttl[j] : 1);
			}
		}
		free(keys);
		free(lens);
		free(who);
		free(ttl);
	}
	free(idx);
}

static const char *const outcome_names[] = {"copied", "present", "expired", "failed", "ignored"};

/* Counts each key; -v prints a record per key (on stderr when a dump owns stdout). */
static void
account(struct item *items, size_t n, enum mcr_format fmt)
{
	FILE *out = opt.to && !strcmp(opt.to, "-") ? stderr : stdout;

	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		const char *word = outcome_names[it->outcome];
		tally.n[it->outcome]++;
		if (mcr_verbose && it->outcome != IGNORED && !mcr_quiet) {
			struct mcr_field f[] = {
			    {"key", MCR_F_KEY, it->k.key, it->k.klen, 0},
			    {"result", MCR_F_STR, word, strlen(word), 0},
			    {"message", MCR_F_MSG, it->why, it->why ? strlen(it->why) : 0, 0},
			};
			mcr_emit(out, fmt, f, 3);
		}
		if (it->outcome == FAILED) {
			char *key = mcr_key_display(it->k.key, it->k.klen);
			if (failed_fp)
				fprintf(failed_fp, "%s\n", key);
			if (!mcr_verbose)
				mcr_warn("%s: not copied: %s", key, it->why ? it->why : "failed");
			free(key);
		}
		free(it->msg);
		it->msg = NULL;
	}
}

static struct mcr_pace pace;

static void
progress(bool last)
{
	uint64_t done = tally.n[COPIED] + tally.n[PRESENT] + tally.n[EXPIRED] + tally.n[FAILED];

	mcr_pace(&pace, done, tally.n[FAILED], "failed", last);
}

static void
deliver(const struct dest *d, struct item *items, size_t n)
{
	if (d->c)
		write_cluster(d, items, n);
	else
		dump(items, n);
	account(items, n, d->fmt);
	progress(false);
}

/* --from=-: items stream from a dump; an item is written only once it was read whole, and a
 * bad item stops the run before anything after it is written. */
static int
restore(const struct dest *d, struct item *items)
{
	struct mcr_item mi;
	size_t line = 0, n = 0;
	const char *err = NULL;
	int rc;
	int64_t now = (int64_t)time(NULL);

	for (;;) {
		rc = mcr_item_read(stdin, &mi, &line, &err);
		if (rc == 1 && mi.op != MCR_SET) {
			free(mi.key);
			free(mi.data);
			err = "a dump holds set commands only";
			line = mi.line;
			rc = -1;
		}
		if (rc == 1) {
			const char *why = mcr_key_problem(d->c, mi.key, mi.klen);
			if (why) {
				free(mi.key);
				free(mi.data);
				err = why;
				line = mi.line;
				rc = -1;
			}
		}
		if (rc == 1) {
			struct item *it = &items[n++];
			memset(it, 0, sizeof(*it));
			memcpy(it->k.key, mi.key, mi.klen);
			it->k.klen = mi.klen;
			it->k.origin = SIZE_MAX;
			free(mi.key);
			it->val = it->owned_val = mi.data;
			it->vlen = mi.dlen;
			it->flags = mi.flags;
			it->expires = mi.exptime == 0        ? -1
			              : mi.exptime > 2592000 ? (int64_t)mi.exptime
			                                     : now + (int64_t)mi.exptime;
			it->outcome = COPIED;
		}
		if (n && (n == opt.batch || rc <= 0)) {
			deliver(d, items, n);
			for (size_t i = 0; i < n; i++)
				free(items[i].owned_val);
			n = 0;
		}
		if (rc == 0)
			return MCR_YES;
		if (rc < 0) {
			mcr_usage_error("stdin: item at line %zu: %s", line, err);
		}
	}
}

static struct mcr_cluster *
open_dest(const struct mcr_opts *so, struct mcr_cluster *dc)
{
	struct mcr_opts o = *so;

	/* the destination is named by --to alone, never by the environment */
	o.servers = o.config = o.config_file = NULL;
	o.no_env = true;
	if (!strncmp(opt.to, "--", 2))
		o.config = opt.to;
	else
		o.servers = opt.to;
	o.replicas = opt.to_replicas;
	o.distribution = opt.to_distribution;
	o.hash = opt.to_hash;
	o.nbehaviors = 0;
	o.ketama_compatible = o.sort_hosts = false;
	mcr_cluster_open(dc, &o);
	return dc;
}

static void
summary(enum mcr_format fmt, double secs)
{
	struct mcr_field f[] = {
	    {"summary", MCR_F_STR, "summary", 7, 0},
	    {"copied", MCR_F_UINT, NULL, 0, tally.n[COPIED]},
	    {"present", MCR_F_UINT, NULL, 0, tally.n[PRESENT]},
	    {"expired", MCR_F_UINT, NULL, 0, tally.n[EXPIRED]},
	    {"failed", MCR_F_UINT, NULL, 0, tally.n[FAILED]},
	    {"seconds", MCR_F_REAL, NULL, 0, (uint64_t)(secs * 1000)},
	};
	/* a dump owns stdout: the summary goes to stderr then */
	FILE *fp = opt.to && !strcmp(opt.to, "-") ? stderr : stdout;

	if (mcr_quiet)
		return;
	if (fmt != MCR_TEXT) {
		mcr_emit(fp, fmt, f, sizeof(f) / sizeof(f[0]));
		return;
	}
	fprintf(fp, "%s%llu copied, %llu already present, %llu expired, %llu failed in %.3f s\n",
	        opt.dry_run ? "dry run: would have " : "", (unsigned long long)tally.n[COPIED],
	        (unsigned long long)tally.n[PRESENT], (unsigned long long)tally.n[EXPIRED],
	        (unsigned long long)tally.n[FAILED], secs);
}

int
main(int argc, char **argv)
{
	struct mcr_tool tool = {
	    "mcrcopy",
	    synopsis,
	    "Copy, rebuild, dump and restore the items of a replicated memcached cluster.",
	    options,
	    handle,
	    NULL};
	struct mcr_opts o;
	struct mcr_cluster src = {0}, dst = {0};
	struct dest d = {NULL, -1, MCR_TEXT};
	struct item *items;
	struct mcr_req *reqs = NULL;
	bool to_stdout;
	size_t n;
	int i, status;

	mcr_setprog(argv[0]);
	i = mcr_parse_options(&tool, &o, argc, argv);
	opt.ks.args = argv + i;
	opt.ks.nargs = (size_t)(argc - i);
	bool keys = opt.ks.all || opt.ks.file || opt.ks.nargs;
	if (opt.rebuild && opt.to)
		mcr_usage_error("--rebuild refills a server of the source cluster: give no --to");
	if (opt.rebuild && opt.from)
		mcr_usage_error("--rebuild reads the cluster: give no --from");
	if (!opt.rebuild && !opt.to)
		mcr_usage_error("no destination: give --to=DEST or --rebuild=HOST:PORT (try --help)");
	if (opt.from && (keys || opt.ks.nshards))
		mcr_usage_error("--from=- restores every item of the dump: give no keys, --all or --shard");
	if (opt.from && !strcmp(opt.to, "-"))
		mcr_usage_error("--from=- and --to=-: nothing to do");
	if (opt.ks.all && (opt.ks.file || opt.ks.nargs))
		mcr_usage_error("--all copies every key: give no KEY and no --keys-from");
	if (!opt.from && !keys) {
		if (!opt.rebuild)
			mcr_usage_error("no keys: give KEY operands, --keys-from=FILE or --all (try --help)");
		opt.ks.all = true; /* a rebuild refills every key by default */
	}
	if ((opt.to_replicas >= 0 || opt.to_distribution || opt.to_hash) && (!opt.to || !strcmp(opt.to, "-")))
		mcr_usage_error(
		    "--to-replicas, --to-distribution and --to-hash describe a destination cluster");
	to_stdout = opt.to && !strcmp(opt.to, "-");
	if (to_stdout)
		setvbuf(stdout, NULL, _IOFBF, 1 << 16); /* a dump is bulk output */
	d.fmt = o.format;
	if (opt.progress < 0)
		opt.progress = isatty(2);
	if (opt.failed && !(failed_fp = fopen(opt.failed, "w")))
		mcr_usage_error("--failed: %s: %s", opt.failed, strerror(errno));

	if (!opt.from)
		mcr_cluster_open(&src, &o);
	if (opt.rebuild) {
		size_t before = src.nservers, t = mcr_server_add(&src, opt.rebuild);
		if (src.nservers != before)
			mcr_usage_error("--rebuild: %s is not a server of the cluster", opt.rebuild);
		d = (struct dest){&src, (long)t, o.format};
	} else if (!to_stdout) {
		d = (struct dest){open_dest(&o, &dst), -1, o.format};
	}

	items = mcr_xcalloc(opt.batch, sizeof(*items));
	tally.start = pace.start = mcr_now();
	pace.rate = opt.rate;
	pace.show = opt.progress;
	if (opt.from) {
		status = restore(&d, items);
	} else {
		reqs = mcr_xcalloc(opt.batch * src.copies, sizeof(*reqs));
		for (;;) {
			n = 0;
			while (n < opt.batch && mcr_keys_next(&src, &opt.ks, &items[n].k))
				n++;
			if (n == 0)
				break;
			read_source(&src, items, n, opt.rebuild ? d.only : -1, reqs);
			deliver(&d, items, n);
		}
		for (size_t j = 0; j < opt.batch * src.copies; j++)
			mcr_req_clear(&reqs[j]);
		free(reqs);
		status = MCR_YES;
	}
	progress(true);
	if (tally.n[FAILED])
		status = MCR_NO;
	if (!opt.from && opt.ks.trouble)
		status = MCR_TROUBLE;
	summary(o.format, mcr_now() - tally.start);
	if (failed_fp && fclose(failed_fp) == EOF)
		mcr_die(MCR_TROUBLE, "--failed: %s: %s", opt.failed, strerror(errno));
	free(items);
	if (!opt.from)
		mcr_keys_close(&opt.ks);
	if (d.c && d.c != &src)
		mcr_cluster_close(d.c);
	if (!opt.from)
		mcr_cluster_close(&src);
	mcr_finish_stdout();
	return status;
}
