/* SPDX-License-Identifier: ISC */
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
	O_TO = 500,
	O_TO_REPLICAS,
	O_TO_DISTRIBUTION,
	O_TO_HASH,
	O_FROM,
	O_REBUILD,
	O_CONFIRM,
	O_OVERWRITE,
	O_VERIFY,
	O_FAILED,
	O_DRY_RUN,
	O_NO_END_MARK,
	O_HEAL,
	O_STATE,
	O_WATCH,
	O_PROMETHEUS,
	O_PROM_LABEL,
};

static const struct mcr_option options[] = {
    {"to", 0, "DEST", "destination: server list, configuration string, or - for a dump on stdout", O_TO},
    {"to-replicas", 0, "N", "replicas at the destination", O_TO_REPLICAS},
    {"to-distribution", 0, "NAME", "distribution at the destination", O_TO_DISTRIBUTION},
    {"to-hash", 0, "NAME", "key hash at the destination", O_TO_HASH},
    {"from", 0, "-", "read a dump from stdin instead of a cluster", O_FROM},
    {"rebuild", 0, "HOST:PORT", "refill this server of the cluster from the other copies", O_REBUILD},
    {"confirm-delay", 0, "MS", "with --rebuild: MS after the last copy, take back copies of keys "
                               "deleted since (default 1000, 0 at once)",
     O_CONFIRM},
    {"overwrite", 0, NULL, "replace keys that exist at the destination (set, not add)", O_OVERWRITE},
    {"verify", 0, NULL, "read every written copy back and compare it", O_VERIFY},
    {"failed", 0, "FILE", "write the keys not copied to FILE, ready for -k", O_FAILED},
    {"dry-run", 'n', NULL, "read and count, write nothing", O_DRY_RUN},
    {"no-end-mark", 0, NULL, "restore a dump that has no end mark (cut short, or older)", O_NO_END_MARK},
    {"heal", 0, NULL, "rebuild every server that restarted since the last pass", O_HEAL},
    {"state", 0, "FILE", "with --heal: the process ids and start times of the servers, kept between passes", O_STATE},
    {"watch", 0, "SECONDS", "with --heal: a pass every SECONDS until a signal", O_WATCH},
    {"prometheus", 0, "FILE", "with --heal: node_exporter textfile metrics, written after every pass", O_PROMETHEUS},
    {"prometheus-label", 0, "NAME=VALUE", "a label on every metric (repeatable)", O_PROM_LABEL},
    {NULL, 0, NULL, NULL, 0},
};

static const char *const synopsis[] = {"--to=DEST [KEY...]", "--to=DEST -k FILE", "--to=DEST -a",
                                       "--from=- --to=DEST", "--rebuild=HOST:PORT [-a | -k FILE | KEY...]",
                                       "--heal --state=FILE [--watch=SECONDS]", NULL};

static struct {
	const char *to, *to_distribution, *to_hash, *from, *rebuild, *failed, *state, *prometheus;
	long to_replicas;
	unsigned confirm_ms, watch;
	bool overwrite, verify, dry_run, no_end_mark, heal;
	size_t batch;
} opt = {.to_replicas = -1, .confirm_ms = 1000};

enum outcome { COPIED, PRESENT, EXPIRED, FAILED, IGNORED, NOUTCOME };

static struct {
	uint64_t n[NOUTCOME];
	double start;
	bool interrupted;
	char *stopped; /* why the run stopped before its next write */
	struct mcr_guard guard;
	bool matching;      /* --match was given */
	uint64_t unmatched; /* keys it left out */
} tally;

static struct mcr_outfile failed_file;

/* --heal --prometheus: the heal's metrics, written after every pass */
static struct mcr_outfile promfile;
static struct mcr_prom prom;

static void
handle(int id, const char *arg)
{
	switch (id) {
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
	case O_CONFIRM: opt.confirm_ms = (unsigned)mcr_number("--confirm-delay", arg, 0, 600000); break;
	case O_OVERWRITE: opt.overwrite = true; break;
	case O_VERIFY: opt.verify = true; break;
	case O_FAILED: opt.failed = arg; break;
	case O_DRY_RUN: opt.dry_run = true; break;
	case O_NO_END_MARK: opt.no_end_mark = true; break;
	case O_HEAL: opt.heal = true; break;
	case O_STATE: opt.state = arg; break;
	case O_WATCH: opt.watch = (unsigned)mcr_number("--watch", arg, 1, 86400); break;
	case O_PROMETHEUS: opt.prometheus = arg; break;
	case O_PROM_LABEL: mcr_prom_add_label(&prom, arg); break;
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
	size_t src;      /* the server the value was read from, and its CAS then */
	uint64_t src_cas;
	bool again;      /* failed only because a server could not be reached: worth a second try */
	bool relative;   /* expires was seconds left (mg, or a dump's relative exptime) */
	uint64_t added;  /* --rebuild: the CAS of the copy added, 0 none */
};

/* Where items go: a cluster (every copy), one server of the source (--rebuild), or stdout. */
struct dest {
	struct mcr_cluster *c;
	long only; /* --rebuild: the one server index; -1 every copy */
	enum mcr_format fmt;
	struct mcr_fan w, v; /* the writes, and --verify's reads */
};

static void
fail(struct item *it, const char *why)
{
	it->outcome = FAILED;
	it->why = why;
	it->again = false;
}

/* A failure a second try may not see: a copy that could not be reached. */
static void
fail_unreachable(struct item *it, const char *why)
{
	fail(it, why);
	it->again = true;
}

/* The exptime of a destination copy. An expiry that metadump listed, or that a dump holds,
 * is an absolute time, written as it is: memcached keeps it exactly (any exptime over 30
 * days is one), so a copy expires in the same second as its source however many copies,
 * dumps and restores lie between them. Seconds left would be added to the destination's
 * clock, which ticks once a second and lags up to a second: each hop could move the expiry
 * by a second. A TTL read with mg (for a named key, or a copy changed since it was listed)
 * and a dump's relative exptime are seconds left: they go as seconds left again, for the
 * destination's clock to count them down. */
static uint32_t
exptime(const struct item *it, int64_t now)
{
	if (it->expires <= 0)
		return 0;
	if (it->relative && it->expires - now <= 2592000)
		return it->expires > now ? (uint32_t)(it->expires - now) : 1;
	return it->expires > UINT32_MAX ? UINT32_MAX : (uint32_t)it->expires;
}

/* Why the dump could not be written (errno), 0 while it can. */
static int dump_error;

/* A dump holds absolute expiry times, so a restore later does not extend a TTL. Each batch
 * goes out whole before the next is read: a batch that could not be written has failed,
 * and the run stops there. */
static void
dump(struct item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		if (it->outcome != COPIED)
			continue;
		if (!mcr_text_key(it->k.key, it->k.klen)) {
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
	if (fflush(stdout) == EOF)
		dump_error = errno;
	else if (ferror(stdout))
		dump_error = EIO; /* an earlier write failed, its errno gone */
	else
		return;
	if (dump_error == EPIPE)
		mcr_stdout_closed();
	for (size_t i = 0; i < n; i++)
		if (items[i].outcome == COPIED)
			fail(&items[i], "the dump could not be written");
	/* nothing more goes to standard output; the run stops, and its summary says why */
	if (!freopen("/dev/null", "w", stdout))
		mcr_die(MCR_TROUBLE, "/dev/null: %s", strerror(errno));
}

/* The end mark: memcached's no-op command, so a dump replayed with nc(1) is still memcached's
 * protocol, and a restore can tell a whole dump from one cut short at an item's end. Only a
 * run that listed every server it was asked to gets one. Returns the run's status. */
static int
dump_end(bool trouble, int status)
{
	if (dump_error) {
		mcr_warn("standard output: %s: the dump is incomplete", strerror(dump_error));
		return MCR_TROUBLE;
	}
	if (!trouble && !opt.dry_run) {
		fputs("mn\r\n", stdout);
		mcr_check_stdout();
	}
	return status;
}

/* --verify: every copy written is read back and compared. */
static void
verify_written(struct dest *d, struct item *items, const size_t *owner)
{
	struct mcr_fan *w = &d->w, *v = &d->v;

	mcr_fan_reset(v);
	for (size_t j = 0; j < w->n; j++) {
		mcr_fan_add(v, mcr_cell(w, j, 0)->key, mcr_cell(w, j, 0)->klen, MCR_GET);
		for (unsigned r = 0; r < v->width; r++)
			mcr_cell(v, j, r)->skip = mcr_cell(w, j, r)->skip || mcr_cell(w, j, r)->result != MCR_OK ||
			                          mcr_cell(w, j, r)->op == MCR_DELETE; /* taken back */
	}
	mcr_fan_run(v);
	for (size_t j = 0; j < v->n; j++)
		for (unsigned r = 0; r < v->width; r++) {
			const struct mcr_req *src = mcr_cell(w, j, r), *back = mcr_cell(v, j, r);
			if (back->skip)
				continue;
			if (back->result != MCR_OK || back->rflags != src->flags || back->rlen != src->vlen ||
			    (src->vlen && memcmp(back->rval, src->val, src->vlen)))
				fail(&items[owner[j]], "--verify: a written copy reads back different or absent");
		}
}

/* --rebuild: right after an add, the source copy is read again. If it was deleted or changed
 * meanwhile, the copy made from it could bring back what the application deleted: it is
 * deleted in turn at once (only if unchanged since it was added) and the key reported failed,
 * for the next run to copy again. What arrives later is for the confirming pass
 * (confirm_held). */
static void
confirm_adds(struct dest *d, struct item *items, const size_t *owner)
{
	struct mcr_fan *w = &d->w, *v = &d->v;
	bool any = false;

	mcr_fan_reset(v);
	for (size_t j = 0; j < w->n; j++) {
		const struct item *it = &items[owner[j]];
		mcr_fan_add(v, it->k.key, it->k.klen, MCR_GET);
		bool added = false;
		for (unsigned r = 0; r < w->k; r++)
			added |= !mcr_cell(w, j, r)->skip && mcr_cell(w, j, r)->op == MCR_ADD &&
			         mcr_cell(w, j, r)->result == MCR_OK;
		for (unsigned r = 0; r < v->width; r++)
			mcr_cell(v, j, r)->skip = true;
		/* the source is in the copy set: the cell on its server reads it */
		for (unsigned r = 0; r < v->k; r++)
			if (added && mcr_cell(v, j, r)->server == it->src)
				mcr_cell(v, j, r)->skip = false;
	}
	mcr_fan_run(v);
	for (size_t j = 0; j < w->n; j++) {
		struct item *it = &items[owner[j]];
		bool read = false, gone = false;
		for (unsigned r = 0; r < v->k; r++) {
			const struct mcr_req *q = mcr_cell(v, j, r);
			if (q->skip)
				continue;
			read = true;
			gone = q->result == MCR_NOTFOUND || (q->result == MCR_OK && q->rcas != it->src_cas);
		}
		for (unsigned r = 0; r < w->k; r++) {
			struct mcr_req *q = mcr_cell(w, j, r);
			bool added = !q->skip && q->op == MCR_ADD && q->result == MCR_OK;
			q->skip = !(read && gone && added);
			if (q->skip)
				continue;
			q->op = MCR_DELETE;
			q->cas = q->rcas;
			any = true;
		}
		if (read && gone)
			fail(it, "the source changed while it was being copied (a write or a delete in flight): "
			         "the copy made from it was taken back");
	}
	if (any)
		mcr_fan_run(w);
}

/* Writes the COPIED items to their destination copies; add unless --overwrite. */
static void
write_cluster(struct dest *d, struct item *items, size_t n)
{
	struct mcr_fan *w = &d->w;
	size_t *owner = mcr_xcalloc(n, sizeof(*owner));
	int64_t now = (int64_t)time(NULL);

	mcr_fan_reset(w);
	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		if (it->outcome != COPIED)
			continue;
		if (it->expires > 0 && it->expires <= now) {
			it->outcome = EXPIRED;
			continue;
		}
		size_t j = mcr_fan_add(w, it->k.key, it->k.klen, opt.overwrite ? MCR_SET : MCR_ADD);
		mcr_fan_value(w, j, it->val, it->vlen, it->flags, exptime(it, now));
		for (unsigned r = 0; r < w->k; r++)
			mcr_cell(w, j, r)->skip = opt.dry_run || (d->only >= 0 && mcr_cell(w, j, r)->server != (size_t)d->only);
		owner[j] = i;
	}
	mcr_fan_run(w);
	/* a key is copied if a copy was written, present if every copy already held it */
	for (size_t j = 0; j < w->n; j++) {
		struct item *it = &items[owner[j]];
		if (opt.dry_run)
			continue;
		it->outcome = PRESENT;
		for (unsigned r = 0; r < w->k; r++) {
			struct mcr_req *q = mcr_cell(w, j, r);
			if (q->skip)
				continue;
			if (q->result == MCR_OK) {
				if (it->outcome == PRESENT)
					it->outcome = COPIED;
			} else if (q->result != MCR_EXISTS && q->result != MCR_NOTSTORED) {
				if (q->msg && !it->msg) {
					it->msg = q->msg; /* kept for the report */
					q->msg = NULL;
				}
				if (q->result == MCR_UNREACHABLE && (it->outcome != FAILED || it->again))
					fail_unreachable(it, it->msg ? it->msg : mcr_result_word(q->result, q->op));
				else
					fail(it, it->msg ? it->msg : mcr_result_word(q->result, q->op));
			}
		}
	}
	/* --rebuild: the copy added, for the confirming pass (confirm_held) if it stays */
	for (size_t j = 0; d->only >= 0 && !opt.dry_run && j < w->n; j++)
		for (unsigned r = 0; r < w->k; r++) {
			const struct mcr_req *q = mcr_cell(w, j, r);
			if (!q->skip && q->op == MCR_ADD && q->result == MCR_OK)
				items[owner[j]].added = q->rcas;
		}
	if (opt.verify && !opt.dry_run)
		verify_written(d, items, owner);
	if (d->only >= 0 && !opt.dry_run)
		confirm_adds(d, items, owner);
	free(owner);
}

/* The copies read_source put off (deferred): read for each key to be copied for which one
 * comes, in placement order, before the first copy found; so the copy taken is the one
 * reading every copy at once would take. Unread, a copy stays MCR_UNSENT. */
static void
read_deferred(struct mcr_fan *f, const struct item *items, const enum mcr_listed *where, const bool *deferred)
{
	size_t cells = f->n * f->width;
	bool *skip = mcr_xmalloc(cells * sizeof(*skip)), any = false;

	for (size_t j = 0; j < cells; j++)
		skip[j] = f->req[j].skip;
	for (size_t i = 0; i < f->n; i++) {
		bool want = false;
		for (unsigned r = 0; r < f->k && items[i].outcome != IGNORED && where[i] != MCR_EARLIER; r++) {
			if (mcr_cell(f, i, r)->result == MCR_OK)
				break;
			want |= deferred[i * f->width + r];
		}
		for (unsigned r = 0; r < f->width; r++) {
			mcr_cell(f, i, r)->skip = !(want && deferred[i * f->width + r]);
			any |= !mcr_cell(f, i, r)->skip;
		}
	}
	if (any)
		mcr_fan_run(f);
	for (size_t j = 0; j < cells; j++)
		f->req[j].skip = skip[j];
	free(skip);
}

/* Reads the batch's source copies (--rebuild: never the one rebuilt), takes the first copy
 * found in placement order, and learns its remaining TTL. */
static void
read_source(struct mcr_fan *f, struct mcr_keysrc *ks, struct item *items, size_t n, long rebuilt)
{
	struct mcr_cluster *c = f->c;
	struct mcr_key *keys = mcr_xcalloc(n, sizeof(*keys));
	enum mcr_listed *where = mcr_xcalloc(n, sizeof(*where));
	int *src = mcr_xcalloc(n, sizeof(*src));
	bool *listed_ttl = mcr_xcalloc(n, sizeof(*listed_ttl));
	bool *deferred = mcr_xcalloc(n * f->width, sizeof(*deferred));
	int64_t now = (int64_t)time(NULL);

	mcr_fan_reset(f);
	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		keys[i] = it->k;
		mcr_fan_add(f, it->k.key, it->k.klen, MCR_GET);
		it->outcome = COPIED;
		it->why = NULL;
		it->added = 0;
		bool member = rebuilt < 0;
		mcr_guard_count(&tally.guard, mcr_listed_where(f, i, it->k.origin));
		for (unsigned r = 0; r < f->k; r++)
			if ((long)mcr_cell(f, i, r)->server == rebuilt)
				member = mcr_cell(f, i, r)->skip = true;
		/* misplaced copies are never copied; --rebuild: a key the rebuilt server holds no
		 * copy of, or listed by the rebuilt server itself */
		if (!member || (rebuilt >= 0 && it->k.origin == (size_t)rebuilt) ||
		    mcr_listed_where(f, i, it->k.origin) == MCR_OUTSIDE) {
			it->outcome = IGNORED;
			for (unsigned r = 0; r < f->k; r++)
				mcr_cell(f, i, r)->skip = true;
		}
	}
	/* The value copied is the first copy found in placement order. Read first: that
	 * copy, the copy that listed the key (its expiry can come from the listing) and those
	 * on servers listed before it (the first-listing rule asks them); the others only for
	 * a key whose first copies read missed. */
	for (size_t i = 0; i < n; i++) {
		bool first = true;
		for (unsigned r = 0; r < f->k && items[i].outcome != IGNORED; r++) {
			struct mcr_req *q = mcr_cell(f, i, r);
			if (q->skip)
				continue;
			if (first) {
				first = false; /* the first copy read in placement order */
				continue;
			}
			if (items[i].k.origin == SIZE_MAX || q->server > items[i].k.origin)
				q->skip = deferred[i * f->width + r] = true;
		}
	}
	/* a key a server listed before may have copied, or not, is copied here: an add twice
	 * is harmless, a key missed is not */
	mcr_read_listed(f, ks, keys, where, true);
	read_deferred(f, items, where, deferred);

	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		const struct mcr_req *s = NULL;
		bool unreachable = false;
		src[i] = -1;
		if (it->outcome == IGNORED)
			continue;
		if (where[i] == MCR_EARLIER) {
			it->outcome = IGNORED;
			continue;
		}

		for (unsigned r = 0; r < f->k && !s; r++) {
			const struct mcr_req *q = mcr_cell(f, i, r);
			if (q->result == MCR_OK) {
				s = q;
				src[i] = (int)r;
			} else if (q->result != MCR_NOTFOUND && q->result != MCR_UNSENT) {
				unreachable = true;
			}
		}

		if (!s && unreachable) {
			fail_unreachable(it, "no copy could be read");
		} else if (!s && it->k.origin == SIZE_MAX) {
			fail(it, "not found at the source");
		} else if (!s) {
			/* listed, then gone: expired, or deleted meanwhile (nothing to copy) */
			it->outcome = it->k.expires > 0 && it->k.expires <= now ? EXPIRED : IGNORED;
		}
		if (!s)
			continue;
		it->val = s->rval;
		it->vlen = s->rlen;
		it->flags = s->rflags;
		it->src = s->server;
		it->src_cas = s->rcas;
		/* the listing's expiry is the listed copy's as it was then: it goes with this value
		 * only if that copy is unchanged since and holds this value */
		listed_ttl[i] = mcr_listing_holds(f, i, &it->k, s);
		it->expires = listed_ttl[i] ? it->k.expires : 0;
		it->relative = false;
	}

	/* the others: the source copy's TTL, read from its server, all at once */
	struct mcr_fan t;
	size_t *owner = mcr_xcalloc(n, sizeof(*owner));
	mcr_fan_init(&t, c, 0);
	for (size_t i = 0; i < n; i++) {
		if (items[i].outcome != COPIED || listed_ttl[i])
			continue;
		size_t j = mcr_fan_add(&t, items[i].k.key, items[i].k.klen, MCR_TTL);
		for (unsigned r = 0; r < t.k; r++)
			mcr_cell(&t, j, r)->skip = (int)r != src[i];
		owner[j] = i;
	}
	mcr_fan_run(&t);
	for (size_t j = 0; j < t.n; j++) {
		struct item *it = &items[owner[j]];
		const struct mcr_req *q = mcr_cell(&t, j, (unsigned)src[owner[j]]);
		if (q->result == MCR_NOTFOUND)
			it->outcome = EXPIRED;
		else if (q->result == MCR_UNREACHABLE)
			fail_unreachable(it, "cannot read the remaining time to live");
		else if (q->result != MCR_OK)
			fail(it, "cannot read the remaining time to live");
		else {
			it->expires = q->ttl < 0 ? -1 : now + (q->ttl ? q->ttl : 1);
			it->relative = true;
		}
	}
	mcr_fan_free(&t);
	free(owner);
	free(keys);
	free(where);
	free(src);
	free(listed_ttl);
	free(deferred);
}

static const char *const outcome_names[] = {"copied", "present", "expired", "failed", "ignored"};

/* Counts each key; -v prints a record per key (on stderr when a dump owns stdout). */
static struct mcr_spool second; /* keys worth a second try, at the end of the run */
static bool second_pass;

/* --rebuild: a key copied onto the rebuilt server is held, not yet counted, until the
 * confirming pass at the end of the run: the server of the source copy it came from, and
 * the CAS of the copy added. */
struct held {
	size_t src;
	uint64_t added;
};
static struct mcr_spool held;
static bool confirming;

static void
account(struct item *items, size_t n, enum mcr_format fmt)
{
	FILE *out = opt.to && !strcmp(opt.to, "-") ? stderr : stdout;

	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		const char *word = outcome_names[it->outcome];
		if (it->outcome == FAILED && it->again && !second_pass && !opt.from && !mcr_stop) {
			struct mcr_key k = it->k;
			k.origin = SIZE_MAX; /* read again as a named key: its listing is old by then */
			mcr_spool_put(&second, &k, NULL, 0);
			free(it->msg);
			it->msg = NULL;
			continue;
		}
		if (it->outcome == COPIED && it->added && !confirming) {
			struct held h = {it->src, it->added};
			mcr_spool_put(&held, &it->k, &h, sizeof(h));
			continue;
		}
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
			if (failed_file.fp)
				fprintf(failed_file.fp, "%s\n", key);
			if (!mcr_verbose && !opt.heal) /* --heal: one line per server, with the counts */
				mcr_warn("%s: not copied: %s", key, it->why ? it->why : "failed");
			free(key);
		}
		free(it->msg);
		it->msg = NULL;
	}
}

static struct mcr_pace pace;
static struct mcr_sizer sizer; /* every batch's end: --batch keys or --batch-bytes */

static struct mcr_keysrc *progress_of; /* the keys, for a percentage; NULL: a restore */

static void
progress(bool last)
{
	uint64_t done = tally.n[COPIED] + tally.n[PRESENT] + tally.n[EXPIRED] + tally.n[FAILED];

	pace.fraction = progress_of ? mcr_keys_fraction(progress_of) : -1;
	mcr_pace(&pace, done, tally.n[FAILED], "failed", last);
}

static void
deliver(struct dest *d, struct item *items, size_t n)
{
	if (d->c)
		write_cluster(d, items, n);
	else
		dump(items, n);
	account(items, n, d->fmt);
	progress(false);
}

/* --from=-: items stream from a dump; an item is written only once it was read whole, and a
 * bad item stops the run before anything after it is written. A dump ends with its end mark:
 * without one, it was cut short (at an item's end, or it would be a truncated item), unless
 * --no-end-mark says the dump never had one. */
static void
restore(struct dest *d, struct item *items)
{
	struct mcr_item mi;
	size_t line = 0, n = 0;
	const char *err = NULL;
	int rc;
	bool marked = false;
	int64_t now = (int64_t)time(NULL);

	for (;;) {
		rc = mcr_item_read(stdin, &mi, &line, &err);
		if (rc == MCR_ITEM_MARK) {
			marked = true; /* another dump may follow it: cat a.dump b.dump */
			continue;
		}
		if (rc == MCR_ITEM && mi.op != MCR_SET) {
			mcr_item_free(&mi);
			err = "a dump holds set commands only";
			line = mi.line;
			rc = MCR_ITEM_BAD;
		}
		if (rc == MCR_ITEM) {
			const char *why = mcr_key_problem(d->c, mi.key, mi.klen);
			if (why) {
				mcr_item_free(&mi);
				err = why;
				line = mi.line;
				rc = MCR_ITEM_BAD;
			}
		}
		if (rc == MCR_ITEM) {
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
			it->relative = mi.exptime > 0 && mi.exptime <= 2592000;
			it->outcome = COPIED;
			marked = false;
			mcr_sizer_bytes(&sizer, (mi.dlen + 64) * d->c->copies);
		}
		if (n && (!mcr_sizer_room(&sizer, n) || rc <= MCR_ITEM_END)) {
			deliver(d, items, n);
			for (size_t i = 0; i < n; i++)
				free(items[i].owned_val);
			n = 0;
			mcr_sizer_room(&sizer, 0); /* the next batch starts empty */
		}
		if (rc == MCR_ITEM_END && !marked && !opt.no_end_mark)
			mcr_usage_error(
			    "stdin: the dump ends without its end mark (a line \"mn\"): it was cut "
			    "short; the items before were written (--no-end-mark restores a "
			    "dump that never had one)");
		if (rc == MCR_ITEM_END)
			return;
		if (rc == MCR_ITEM_BAD)
			mcr_usage_error("stdin: item at line %zu: %s", line, err);
	}
}

static struct mcr_cluster *
open_dest(const struct mcr_opts *so, struct mcr_cluster *dc)
{
	struct mcr_opts o = *so;

	/* the destination is named by --to alone, never by the environment */
	o.servers = o.config = o.config_file = NULL;
	o.no_env = o.dest = true;
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
	    {"interrupted", MCR_F_BOOL, NULL, 0, tally.interrupted},
	    {"stopped", MCR_F_BOOL, NULL, 0, tally.stopped != NULL},
	    {"seconds", MCR_F_REAL, NULL, 0, (uint64_t)(secs * 1000)},
	    {"unmatched", MCR_F_UINT, NULL, 0, tally.unmatched}, /* with --match only */
	};
	/* a dump owns stdout: the summary goes to stderr then */
	FILE *fp = opt.to && !strcmp(opt.to, "-") ? stderr : stdout;

	if (mcr_quiet)
		return;
	if (fmt != MCR_TEXT) {
		mcr_emit(fp, fmt, f, sizeof(f) / sizeof(f[0]) - !tally.matching);
		return;
	}
	fprintf(fp, "%s%llu copied, %llu already present, %llu expired, %llu failed in %.3f s",
	        opt.dry_run ? "dry run: would have " : "", (unsigned long long)tally.n[COPIED],
	        (unsigned long long)tally.n[PRESENT], (unsigned long long)tally.n[EXPIRED],
	        (unsigned long long)tally.n[FAILED], secs);
	if (tally.matching)
		fprintf(fp, "; %llu not matching", (unsigned long long)tally.unmatched);
	fprintf(fp, "%s%s\n", tally.stopped ? "; stopped before writing" : "", tally.interrupted ? "; interrupted" : "");
}

/* The options' combinations, checked before anything is opened. */
static void
check_options(struct mcr_opts *o, size_t nargs)
{
	bool keys = o->all || o->keys_file || nargs;

	if (opt.heal && (opt.to || opt.from || opt.rebuild || keys || o->match || o->nshards))
		mcr_usage_error("--heal rebuilds the cluster's restarted servers, every key: give no --to, "
		                "--from, --rebuild, KEY, --keys-from, --all, --match or --shard");
	if (opt.heal && !opt.state)
		mcr_usage_error("--heal needs --state=FILE, where it keeps what it saw between passes");
	if (opt.heal && opt.failed)
		mcr_usage_error("--failed lists the keys of one run: --heal reports each server's counts");
	if (!opt.heal && (opt.state || opt.watch || opt.prometheus))
		mcr_usage_error("--state, --watch and --prometheus are for --heal");
	if (prom.nlabels && !opt.prometheus)
		mcr_usage_error("--prometheus-label labels the metrics of --prometheus=FILE: give it too");
	if (opt.rebuild && opt.to)
		mcr_usage_error("--rebuild refills a server of the source cluster: give no --to");
	if (opt.rebuild && opt.from)
		mcr_usage_error("--rebuild reads the cluster: give no --from");
	if (!opt.rebuild && !opt.to && !opt.heal)
		mcr_usage_error("no destination: give --to=DEST, --rebuild=HOST:PORT or --heal (try --help)");
	if (opt.from && (keys || o->nshards || o->match))
		mcr_usage_error("--from=- restores every item of the dump: give no keys, --all, --shard or --match");
	if (opt.from && !strcmp(opt.to, "-"))
		mcr_usage_error("--from=- and --to=-: nothing to do");
	if (opt.no_end_mark && !opt.from)
		mcr_usage_error("--no-end-mark is for a restore: give --from=- too");
	if (o->all && (o->keys_file || nargs))
		mcr_usage_error("--all copies every key: give no KEY and no --keys-from");
	if (!opt.from && !keys && !opt.rebuild && !opt.heal)
		mcr_usage_error("no keys: give KEY operands, --keys-from=FILE or --all (try --help)");
	if ((opt.to_replicas >= 0 || opt.to_distribution || opt.to_hash) && (!opt.to || !strcmp(opt.to, "-")))
		mcr_usage_error("--to-replicas, --to-distribution and --to-hash describe a destination cluster");
	if (!opt.from && !keys)
		o->all = true; /* a rebuild refills every key by default */
	opt.batch = o->batch;
	mcr_sizer_init(&sizer, o);
}

/* Every key of the source, batch by batch, to the destination. */
/* --rebuild's confirming pass: once the copies are made, and --confirm-delay later, each
 * source copy is read again. If it was deleted meanwhile, the copy made from it would bring
 * back what the application deleted: it is deleted in turn (only if unchanged since it was
 * added) and the key reported failed, for the next run to copy again. (A source changed,
 * not deleted, was written again by the application: its replicated write replaces the
 * copy made.) The replicas' quiet deletes of a replicated delete wait in the application's
 * write buffer for its next request to their server, and reach them after the primary's. A source
 * that cannot be read again (down, or the run interrupted) leaves the key copied, with a
 * message that it could not be confirmed. */
static void
confirm_held(struct mcr_fan *f, struct dest *d, struct item *items)
{
	struct held *hs = mcr_xcalloc(opt.batch, sizeof(*hs));
	struct mcr_fan *w = &d->w;
	size_t n;

	confirming = true;
	if (held.n && !mcr_stop && opt.confirm_ms)
		usleep(opt.confirm_ms * 1000);
	mcr_spool_rewind(&held);
	for (;;) {
		for (n = 0; mcr_sizer_room(&sizer, n) && mcr_spool_get(&held, &items[n].k, &hs[n]); n++) {
			struct item *it = &items[n];
			mcr_sizer_add(&sizer, &it->k, 1);
			it->outcome = COPIED;
			it->why = NULL;
			it->msg = NULL;
		}
		if (n == 0)
			break;
		mcr_fan_reset(f);
		for (size_t i = 0; i < n; i++) {
			mcr_fan_add(f, items[i].k.key, items[i].k.klen, MCR_GET);
			for (unsigned r = 0; r < f->width; r++)
				mcr_cell(f, i, r)->skip = mcr_stop || r >= f->k || mcr_cell(f, i, r)->server != hs[i].src;
		}
		if (!mcr_stop)
			mcr_fan_run(f);
		mcr_fan_reset(w);
		for (size_t i = 0; i < n; i++) {
			struct item *it = &items[i];
			const struct mcr_req *s = NULL;
			for (unsigned r = 0; r < f->k && !s; r++)
				if (!mcr_cell(f, i, r)->skip)
					s = mcr_cell(f, i, r);
			bool gone = s && s->result == MCR_NOTFOUND;
			size_t j = mcr_fan_add(w, it->k.key, it->k.klen, MCR_DELETE);
			for (unsigned r = 0; r < w->width; r++) {
				struct mcr_req *q = mcr_cell(w, j, r);
				q->skip = !gone || r >= w->k || (long)q->server != d->only;
				q->cas = hs[i].added; /* only if unchanged since it was added */
			}
			if (gone)
				fail(it, "the source changed while it was being copied (a write or a delete in flight): "
				         "the copy made from it was taken back");
			else if (!s || s->result != MCR_OK)
				it->why = mcr_stop ? "not confirmed: the run was interrupted before the source was read again"
				                   : "not confirmed: the source could not be read again";
		}
		if (!mcr_stop)
			mcr_fan_run(w);
		account(items, n, d->fmt);
		progress(false);
	}
	mcr_spool_close(&held);
	free(hs);
}

static bool
copy_keys(struct mcr_cluster *src, struct mcr_keysrc *ks, struct dest *d, struct item *items)
{
	struct mcr_fan f;
	size_t n;

	char buf[400];

	mcr_fan_init(&f, src, 0);
	for (;;) {
		for (n = 0; mcr_sizer_room(&sizer, n) && !mcr_stop && mcr_keys_next(src, ks, &items[n].k); n++)
			mcr_sizer_add(&sizer, &items[n].k, src->copies);
		if (n == 0)
			break;
		read_source(&f, ks, items, n, opt.rebuild ? d->only : -1);
		if (mcr_guard_problem(&tally.guard, buf, sizeof(buf))) {
			tally.stopped = mcr_xstrdup(buf);
			mcr_warn("stopped before writing: %s", buf);
			break;
		}
		deliver(d, items, n);
		if (dump_error)
			break;
	}
	/* keys a server could not answer: once more, a timeout later (an add twice is harmless);
	 * stopped or interrupted first, they are reported failed as they are */
	second_pass = true;
	if (second.n && !mcr_stop && !tally.stopped)
		usleep(src->timeout_ms * 1000);
	mcr_spool_rewind(&second);
	for (;;) {
		for (n = 0; mcr_sizer_room(&sizer, n) && mcr_spool_get(&second, &items[n].k, NULL); n++)
			mcr_sizer_add(&sizer, &items[n].k, src->copies);
		if (n == 0)
			break;
		if (!mcr_stop && !tally.stopped && !dump_error) {
			read_source(&f, ks, items, n, opt.rebuild ? d->only : -1);
			deliver(d, items, n);
			continue;
		}
		for (size_t i = 0; i < n; i++)
			fail(&items[i], "a server could not be reached, and the run ended before a second try");
		account(items, n, d->fmt);
	}
	mcr_spool_close(&second);
	confirm_held(&f, d, items);
	mcr_fan_free(&f);
	return ks->trouble;
}

/* --heal: a pass asks every server for its process id and start time (STATS pid, time -
 * uptime), compares them with what the previous pass saw (--state=FILE), and rebuilds each
 * server that restarted, as --rebuild does. A server that does not answer keeps its old
 * entry, so that it is rebuilt at the first pass that reaches it; an entry is replaced only
 * once its server's rebuild has run to the end. */
struct seen {
	bool known;          /* an entry from an earlier pass */
	bool up;             /* answered this pass */
	bool was_down;       /* did not answer at the previous pass (one line per change) */
	int64_t pid, start;  /* as last recorded */
	int64_t npid, nstart, uptime, items; /* as this pass saw them */
	/* for the metrics, since this process started */
	uint64_t restarts, refilled;
	double pending;      /* when a restart not yet healed was seen, 0: none */
	double last_heal;    /* seconds from restart seen to healed, the last time; -1: never */
};

/* The state file: a comment, then one line per server, "PID START SERVER". A line for a
 * server not in the list is dropped; a line that is not of this form stops the run. */
static void
state_read(const struct mcr_cluster *c, struct seen *sv)
{
	size_t len, lineno = 0;
	char *buf = mcr_read_file(opt.state, 1 << 20, &len), *p, *nl;

	if (!buf) {
		if (errno != ENOENT)
			mcr_usage_error("--state: %s: %s", mcr_key_shown(opt.state, strlen(opt.state)), strerror(errno));
		return; /* a first pass */
	}
	for (p = buf; p < buf + len; p = nl + 1) {
		long long pid, start;
		int off = 0;
		lineno++;
		if (!(nl = memchr(p, '\n', (size_t)(buf + len - p))))
			mcr_usage_error("--state: %s: line %zu has no end: not a state file of mcrcopy --heal",
			                mcr_key_shown(opt.state, strlen(opt.state)), lineno);
		*nl = '\0';
		if (*p == '#')
			continue;
		if (sscanf(p, "%lld %lld %n", &pid, &start, &off) != 2 || off == 0 || pid < 0 || start < 0)
			mcr_usage_error("--state: %s: line %zu is not \"PID START SERVER\": not a state file "
			                "of mcrcopy --heal", mcr_key_shown(opt.state, strlen(opt.state)), lineno);
		for (size_t s = 0; s < c->nservers; s++)
			if (!strcmp(c->servers[s].label, p + off)) {
				sv[s] = (struct seen){.known = true, .pid = pid, .start = start};
				break;
			}
	}
	free(buf);
}

static void
state_write(const struct mcr_cluster *c, const struct seen *sv)
{
	struct mcr_outfile of;

	mcr_outfile_open(&of, opt.state, "--state");
	fprintf(of.fp, "# mcrcopy --heal: PID START SERVER (START: the server's unix time less its uptime)\n");
	for (size_t s = 0; s < c->nservers; s++)
		if (sv[s].known && !strchr(c->servers[s].label, '\n'))
			fprintf(of.fp, "%lld %lld %s\n", (long long)sv[s].pid, (long long)sv[s].start,
			        c->servers[s].label);
	mcr_outfile_close(&of, true);
}

/* Every server's STATS: up, process id, start time, items. */
static void
state_ask(struct mcr_cluster *c, struct seen *sv)
{
	struct mcr_req *q = mcr_xcalloc(c->nservers, sizeof(*q));

	for (size_t s = 0; s < c->nservers; s++)
		q[s] = (struct mcr_req){.server = s, .op = MCR_STATS};
	mcr_run(c, q, c->nservers);
	for (size_t s = 0; s < c->nservers; s++) {
		struct seen *v = &sv[s];
		int64_t now = 0;
		v->up = q[s].result == MCR_OK && mcr_stat(q[s].rval, q[s].rlen, "pid", &v->npid) &&
		        mcr_stat(q[s].rval, q[s].rlen, "time", &now) &&
		        mcr_stat(q[s].rval, q[s].rlen, "uptime", &v->uptime) &&
		        mcr_stat(q[s].rval, q[s].rlen, "curr_items", &v->items);
		v->nstart = now - v->uptime;
		if (!v->up && !v->was_down)
			mcr_warn("%s: down: %s; rebuilt once it answers if it restarted", c->servers[s].label,
			         q[s].result == MCR_OK ? "its stats lack pid, time, uptime or curr_items"
			         : q[s].msg ? q[s].msg : mcr_result_word(q[s].result, q[s].op));
		v->was_down = !v->up;
		mcr_req_clear(&q[s]);
	}
	free(q);
}

/* --rebuild of a server the list does not name: the list, to pick from. */
static _Noreturn void
not_in_cluster(const struct mcr_cluster *c, size_t n, const char *spec)
{
	char list[512] = "";
	size_t i;

	for (i = 0; i < n && strlen(list) + strlen(c->servers[i].label) + 8 < sizeof(list); i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
		         c->servers[i].label);
	mcr_usage_error("--rebuild: %s is not a server of the cluster (%s%s)", spec, list, i < n ? ", ..." : "");
}

/* A rebuild target that does not answer would fail key by key: one line before any work. */
static void
target_answers(struct mcr_cluster *c, size_t s)
{
	struct mcr_req q = {.server = s, .op = MCR_STATS};

	mcr_run(c, &q, 1);
	if (q.result != MCR_OK)
		mcr_die(MCR_TROUBLE, "--rebuild: %s does not answer (%s): start it, then rebuild it; nothing was copied",
		        c->servers[s].label, q.msg ? q.msg : mcr_result_word(q.result, q.op));
	mcr_req_clear(&q);
}

/* After a rebuild with failures: is the server still the process that was rebuilt? */
static bool
still_there(struct mcr_cluster *c, size_t s, const struct seen *v)
{
	struct mcr_req q = {.server = s, .op = MCR_STATS};
	int64_t pid = -1, now = 0, uptime = 0;

	mcr_run(c, &q, 1);
	bool same = q.result == MCR_OK && mcr_stat(q.rval, q.rlen, "pid", &pid) &&
	            mcr_stat(q.rval, q.rlen, "time", &now) && mcr_stat(q.rval, q.rlen, "uptime", &uptime) &&
	            pid == v->npid && llabs((long long)(now - uptime - v->nstart)) <= 2;
	mcr_req_clear(&q);
	return same;
}

/* One server rebuilt as --rebuild does, every key; false when it did not run to the end. */
static bool
heal_rebuild(struct mcr_cluster *c, struct mcr_opts *o, size_t s, const struct seen *v, struct item *items)
{
	struct dest d = {.c = c, .only = (long)s, .fmt = o->format};
	struct mcr_keysrc ks;
	bool trouble, done, gone;

	memset(tally.n, 0, sizeof(tally.n));
	free(tally.stopped);
	tally.stopped = NULL;
	tally.interrupted = false;
	tally.guard = (struct mcr_guard){.limit = o->misplaced_limit};
	second_pass = confirming = false;
	opt.rebuild = c->servers[s].label;
	mcr_fan_init(&d.w, c, 0);
	mcr_fan_init(&d.v, c, 0);
	mcr_keys_init(&ks, o, NULL, 0);
	tally.start = pace.start = mcr_now();
	pace.shown = 0;
	trouble = copy_keys(c, &ks, &d, items);
	tally.interrupted = mcr_stop != 0;
	gone = tally.n[FAILED] && !tally.interrupted && !still_there(c, s, v);
	done = !trouble && !tally.interrupted && !tally.stopped && !gone;
	mcr_warn("%s: %s in %.3f s: %llu copied, %llu already present, %llu expired, %llu failed%s%s",
	         c->servers[s].label, done ? "healed" : "rebuild not finished", mcr_now() - tally.start,
	         (unsigned long long)tally.n[COPIED], (unsigned long long)tally.n[PRESENT],
	         (unsigned long long)tally.n[EXPIRED], (unsigned long long)tally.n[FAILED],
	         tally.stopped ? "; stopped before writing: "
	         : gone      ? "; the server went away during it: rebuilt again once it answers"
	         : trouble   ? "; a server could not be asked"
	         : tally.interrupted ? "; interrupted" : "",
	         tally.stopped ? tally.stopped : "");
	if (o->format != MCR_TEXT) /* the text summary is the line above */
		summary(o->format, mcr_now() - tally.start);
	mcr_keys_close(&ks);
	mcr_fan_free(&d.w);
	mcr_fan_free(&d.v);
	opt.rebuild = NULL;
	return done;
}

/* After each pass, the metrics of the heal so far, written beside the file and renamed. */
static void
heal_metrics(const struct mcr_cluster *c, const struct seen *sv, int status)
{
	char v[64];

	if (!promfile.fp)
		mcr_outfile_open(&promfile, opt.prometheus, "--prometheus");
	prom.fp = promfile.fp;
	mcr_prom_help(&prom, "mcr_heal_restarts_total", "counter",
	              "Restarts seen (a server that came back, or empty with no state yet) by this heal process.");
	for (size_t s = 0; s < c->nservers; s++) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)sv[s].restarts);
		mcr_prom_sample(&prom, "mcr_heal_restarts_total", "server", c->servers[s].label, NULL, NULL, v);
	}
	mcr_prom_help(&prom, "mcr_heal_keys_refilled_total", "counter", "Keys copied to restarted servers by this heal process.");
	for (size_t s = 0; s < c->nservers; s++) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)sv[s].refilled);
		mcr_prom_sample(&prom, "mcr_heal_keys_refilled_total", "server", c->servers[s].label, NULL, NULL, v);
	}
	mcr_prom_help(&prom, "mcr_heal_last_heal_seconds", "gauge",
	              "Seconds from a restart seen to the server healed, the last time (-1: never healed).");
	for (size_t s = 0; s < c->nservers; s++) {
		snprintf(v, sizeof(v), "%.3f", sv[s].last_heal);
		mcr_prom_sample(&prom, "mcr_heal_last_heal_seconds", "server", c->servers[s].label, NULL, NULL, v);
	}
	mcr_prom_help(&prom, "mcr_heal_restart_pending", "gauge",
	              "1 while a restart seen is not yet healed (down again, or its rebuild did not finish).");
	for (size_t s = 0; s < c->nservers; s++)
		mcr_prom_sample(&prom, "mcr_heal_restart_pending", "server", c->servers[s].label, NULL, NULL,
		                sv[s].pending > 0 ? "1" : "0");
	mcr_prom_help(&prom, "mcr_heal_server_up", "gauge", "1 when the server answered the last pass.");
	for (size_t s = 0; s < c->nservers; s++)
		mcr_prom_sample(&prom, "mcr_heal_server_up", "server", c->servers[s].label, NULL, NULL,
		                sv[s].up ? "1" : "0");
	mcr_prom_help(&prom, "mcr_heal_pass_exit_status", "gauge",
	              "The last pass's status (0 healthy or healed, 1 some key failed, 2 a server down or a rebuild unfinished).");
	snprintf(v, sizeof(v), "%d", status);
	mcr_prom_sample(&prom, "mcr_heal_pass_exit_status", NULL, NULL, NULL, NULL, v);
	mcr_prom_help(&prom, "mcr_heal_last_pass_timestamp_seconds", "gauge", "When the last pass ended.");
	snprintf(v, sizeof(v), "%lld", (long long)time(NULL));
	mcr_prom_sample(&prom, "mcr_heal_last_pass_timestamp_seconds", NULL, NULL, NULL, NULL, v);
	mcr_outfile_close(&promfile, true);
}

/* One pass: which servers restarted, each one rebuilt; the state written. Returns the
 * pass's exit status. */
static int
heal_pass(struct mcr_cluster *c, struct mcr_opts *o, struct seen *sv, struct item *items)
{
	int status = MCR_YES;
	bool peers_hold = false;

	mcr_conn_retry_all(c);
	state_ask(c, sv);
	for (size_t s = 0; s < c->nservers; s++)
		peers_hold |= sv[s].up && sv[s].items > 0;
	for (size_t s = 0; s < c->nservers && !mcr_stop; s++) {
		struct seen *v = &sv[s];
		const char *label = c->servers[s].label;
		bool restarted;
		if (!v->up) {
			status = MCR_TROUBLE;
			continue;
		}
		/* a start time moves by a second with the rounding of time and uptime */
		restarted = v->known ? v->npid != v->pid || llabs((long long)(v->nstart - v->start)) > 2
		                     : v->items == 0 && peers_hold;
		if (!restarted) {
			if (!v->known && !opt.dry_run)
				v->known = true, v->pid = v->npid, v->start = v->nstart;
			continue;
		}
		if (v->pending == 0) {
			v->pending = mcr_now();
			v->restarts++;
		}
		if (!v->known)
			mcr_warn("%s: empty while other servers hold items, and no state of it yet: rebuilding", label);
		else if (v->items > 0)
			mcr_warn("%s: restarted (pid %lld, was %lld) holding %lld items, a warm restart: topping up",
			         label, (long long)v->npid, (long long)v->pid, (long long)v->items);
		else
			mcr_warn("%s: restarted (pid %lld, was %lld), up %lld s: rebuilding", label, (long long)v->npid,
			         (long long)v->pid, (long long)v->uptime);
		bool done = heal_rebuild(c, o, s, v, items);
		v->refilled += tally.n[COPIED];
		if (!done) {
			status = MCR_TROUBLE;
			continue;
		}
		v->last_heal = mcr_now() - v->pending;
		v->pending = 0;
		if (tally.n[FAILED] && status == MCR_YES)
			status = MCR_NO;
		if (!opt.dry_run)
			v->known = true, v->pid = v->npid, v->start = v->nstart;
	}
	if (!opt.dry_run)
		state_write(c, sv);
	if (opt.prometheus)
		heal_metrics(c, sv, status);
	return status;
}

static int
heal(struct mcr_opts *o)
{
	struct mcr_cluster c = {0};
	struct seen *sv;
	struct item *items;
	int status;

	mcr_cluster_open(&c, o);
	mcr_need_replicas(&c, "--heal", "-r");
	sv = mcr_xcalloc(c.nservers, sizeof(*sv));
	state_read(&c, sv);
	for (size_t s = 0; s < c.nservers; s++)
		sv[s].last_heal = -1;
	/* a metrics file that cannot be written stops the run before any work */
	if (opt.prometheus)
		mcr_outfile_open(&promfile, opt.prometheus, "--prometheus");
	if (!opt.dry_run)
		state_write(&c, sv); /* a state file that cannot be written stops the run before any work */
	opt.batch = sizer.max = mcr_batch_default(o, c.nservers);
	items = mcr_xcalloc(opt.batch, sizeof(*items));
	pace.rate = o->rate;
	for (;;) {
		status = heal_pass(&c, o, sv, items);
		if (!opt.watch || mcr_stop)
			break;
		for (unsigned ms = 0; ms < opt.watch * 1000 && !mcr_stop; ms += 50)
			usleep(50000);
		if (mcr_stop)
			break;
	}
	if (opt.watch)
		status = MCR_YES; /* ended by a signal, as a service is */
	else if (mcr_stop)
		status = MCR_TROUBLE;
	free(items);
	free(sv);
	free(tally.stopped);
	mcr_cluster_close(&c);
	mcr_finish_stdout();
	return status;
}

int
main(int argc, char **argv)
{
	struct mcr_tool tool = {"mcrcopy", synopsis,
	                        "Copy, rebuild, dump and restore the items of a replicated memcached cluster.",
	                        options, handle, true};
	struct mcr_opts o;
	struct mcr_cluster src = {0}, dst = {0};
	struct mcr_keysrc ks;
	struct dest d = {.only = -1};
	struct item *items;
	bool trouble = false;
	int i, status;

	mcr_setprog(argv[0]);
	i = mcr_parse_options(&tool, &o, argc, argv);
	check_options(&o, (size_t)(argc - i));
	if (opt.heal)
		return heal(&o);
	if (opt.to && !strcmp(opt.to, "-"))
		setvbuf(stdout, NULL, _IOFBF, 1 << 16); /* a dump is bulk output */
	if (opt.failed)
		mcr_outfile_open(&failed_file, opt.failed, "--failed");

	if (!opt.from) {
		mcr_cluster_open(&src, &o);
		mcr_keys_init(&ks, &o, argv + i, (size_t)(argc - i));
	}
	d.fmt = o.format;
	if (opt.rebuild) {
		size_t before = src.nservers;
		d.only = (long)mcr_server_add(&src, opt.rebuild);
		if (src.nservers != before)
			not_in_cluster(&src, before, opt.rebuild);
		mcr_need_replicas(&src, "--rebuild", "-r");
		target_answers(&src, (size_t)d.only);
		d.c = &src;
	} else if (strcmp(opt.to, "-")) {
		d.c = open_dest(&o, &dst);
		mcr_need_replicas(&dst, "--to", "--to-replicas");
	}
	tally.guard.limit = o.misplaced_limit;
	if (d.c) {
		mcr_fan_init(&d.w, d.c, 0);
		mcr_fan_init(&d.v, d.c, 0);
	}

	opt.batch = sizer.max = mcr_batch_default(&o, d.c && d.c->nservers > src.nservers ? d.c->nservers : src.nservers);
	items = mcr_xcalloc(opt.batch, sizeof(*items));
	tally.start = pace.start = mcr_now();
	pace.rate = o.rate;
	pace.show = o.progress;
	progress_of = opt.from ? NULL : &ks;
	if (opt.from)
		restore(&d, items);
	else
		trouble = copy_keys(&src, &ks, &d, items);
	tally.interrupted = mcr_stop != 0;
	if (tally.interrupted)
		mcr_warn("interrupted: the counts cover the keys handled so far");
	progress(true);
	status = trouble || tally.interrupted || tally.stopped ? MCR_TROUBLE : tally.n[FAILED] ? MCR_NO : MCR_YES;
	if (!d.c)
		status = dump_end(trouble, status);
	tally.matching = o.match != NULL;
	tally.unmatched = opt.from ? 0 : ks.unmatched;
	summary(o.format, mcr_now() - tally.start);
	if (opt.failed)
		mcr_outfile_close(&failed_file, true);

	free(items);
	if (d.c) {
		mcr_fan_free(&d.w);
		mcr_fan_free(&d.v);
	}
	if (!opt.from)
		mcr_keys_close(&ks);
	if (d.c == &dst)
		mcr_cluster_close(&dst);
	if (!opt.from)
		mcr_cluster_close(&src);
	mcr_finish_stdout();
	return status;
}
