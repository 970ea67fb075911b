/* mcrverify: check that every copy of every key holds the same value and flags, and
 * repair drift without ever overwriting an application's write (CAS-guarded sets,
 * adds for absent copies). Keys are checked in batches: every copy of a batch is read
 * with pipelined gets, all servers at once, and memory is bounded by the batch. */
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
	O_RECHECK,
	O_PROMETHEUS,
	O_PROGRESS,
	O_NO_PROGRESS,
	O_RATE,
	O_BATCH,
	O_REPAIR,
	O_DRY_RUN
};

static const struct mcr_option options[] = {
    {"keys-from", 'k', "FILE", "check the percent-encoded keys of FILE, one per line (- is stdin)",
     O_KEYS_FROM},
    {"all", 'a', NULL, "check every key on every server (lru_crawler metadump)", O_ALL},
    {"shard", 0, "I/N", "check only shard I of N of the keys", O_SHARD},
    {"recheck-delay", 0, "MS", "read a bad-looking key again after MS (default 200, 0: off)", O_RECHECK},
    {"prometheus", 0, "FILE", "write node_exporter textfile metrics to FILE", O_PROMETHEUS},
    {"progress", 0, NULL, "show a progress line on stderr", O_PROGRESS},
    {"no-progress", 0, NULL, "no progress line, even on a terminal", O_NO_PROGRESS},
    {"rate", 0, "KEYS_PER_S", "check at most this many keys per second", O_RATE},
    {"batch", 0, "N", "keys per round trip (default 500)", O_BATCH},
    {"repair", 0, "[POLICY]", "repair: primary (default), majority or missing", O_REPAIR},
    {"dry-run", 'n', NULL, "print the repairs without writing", O_DRY_RUN},
    {NULL, 0, NULL, NULL, 0},
};

static const char *const synopsis[] = {"[KEY...]", "-k FILE", "-a", NULL};

enum policy { P_NONE, P_PRIMARY, P_MAJORITY, P_MISSING };
enum class { C_OK, C_MISSING, C_DIFFER, C_UNREACHABLE, C_MISPLACED, C_DUP, NCLASS };
static const char *const class_names[] = {"ok", "missing", "differ", "unreachable", "misplaced", "dup"};
enum outcome { R_NONE, R_REPAIRED, R_SKIPPED, R_FAILED, R_PLANNED };

static struct {
	struct mcr_keysrc ks;
	unsigned recheck_ms;
	const char *prometheus;
	int progress; /* -1 auto */
	uint64_t rate;
	size_t batch;
	enum policy policy;
	bool dry_run;
} opt = {.recheck_ms = 200, .progress = -1, .batch = 500};

static struct {
	uint64_t checked, cls[NCLASS], repaired, skipped, failed, planned;
	double start;
} tally;

static void
handle(int id, const char *arg, void *ctx)
{
	(void)ctx;
	switch (id) {
	case O_KEYS_FROM: opt.ks.file = arg; break;
	case O_ALL: opt.ks.all = true; break;
	case O_SHARD: mcr_shard_parse(&opt.ks, arg); break;
	case O_RECHECK: opt.recheck_ms = (unsigned)mcr_number("--recheck-delay", arg, 0, 600000); break;
	case O_PROMETHEUS: opt.prometheus = arg; break;
	case O_PROGRESS: opt.progress = 1; break;
	case O_NO_PROGRESS: opt.progress = 0; break;
	case O_RATE: opt.rate = mcr_number("--rate", arg, 1, 100000000); break;
	case O_BATCH: opt.batch = (size_t)mcr_number("--batch", arg, 1, 100000); break;
	case O_REPAIR:
		if (!arg || !strcmp(arg, "primary"))
			opt.policy = P_PRIMARY;
		else if (!strcmp(arg, "majority"))
			opt.policy = P_MAJORITY;
		else if (!strcmp(arg, "missing"))
			opt.policy = P_MISSING;
		else
			mcr_usage_error("--repair: unknown policy \"%s\" (primary, majority or missing)",
			                arg);
		break;
	case O_DRY_RUN: opt.dry_run = true; break;
	}
}

/* One key of a batch. reqs[0..copies) read its copies; reqs[copies] reads the server that
 * listed it when that server is outside the copy set (a misplaced copy). */
struct check {
	struct mcr_key k;
	int pos; /* position of k.origin in the copy set; -1 outside it; -2 no origin */
	enum class cls;
	int ref; /* first copy found, -1 none */
	enum outcome outcome;
	const char *why; /* for skipped/failed */
	char *msg;
	bool moving; /* a copy changed between the two reads: a write is in flight */
};

struct batch {
	struct mcr_cluster *c;
	unsigned k, w; /* copies, request slots per key (copies + 1) */
	struct check *chk;
	size_t *idx;
	struct mcr_req *reqs;
	size_t n;
};

static bool
same_value(const struct mcr_req *a, const struct mcr_req *b)
{
	return a->rflags == b->rflags && a->rlen == b->rlen && !memcmp(a->rval, b->rval, a->rlen);
}

/* Sets up the reads of key i. partial: a key listed by replica p reads copies 0..p-1 only,
 * since it is checked there only when none of them holds it (usually one holds it). */
static void
prepare(struct batch *b, size_t i, bool partial)
{
	struct check *ch = &b->chk[i];
	size_t *idx = &b->idx[i * b->k];
	struct mcr_req *q = &b->reqs[i * b->w];

	/* listed by the first server of its copy set: nothing to probe, read every copy now */
	bool first = true;
	for (unsigned r = 0; r < b->k; r++)
		first &= !(ch->pos >= 0 && idx[r] < ch->k.origin);
	if (first)
		partial = false;
	for (unsigned r = 0; r <= b->k; r++) {
		mcr_req_clear(&q[r]);
		memset(&q[r], 0, sizeof(q[r]));
		q[r].op = MCR_GET;
		q[r].key = ch->k.key;
		q[r].klen = ch->k.klen;
		q[r].server = r < b->k ? idx[r] : ch->k.origin;
		if ((r == b->k && ch->pos != -1) ||
		    (partial && r < b->k && ch->pos >= 0 && idx[r] >= ch->k.origin))
			q[r].result = MCR_SKIPPED;
	}
}

/* Reads the keys which[0..n) again, every copy. */
static void
read_again(struct batch *b, const size_t *which, size_t n)
{
	struct mcr_req *r2 = mcr_xcalloc(n * b->w, sizeof(*r2));

	for (size_t j = 0; j < n; j++) {
		prepare(b, which[j], false);
		memcpy(&r2[j * b->w], &b->reqs[which[j] * b->w], b->w * sizeof(*r2));
	}
	mcr_run(b->c, r2, n * b->w);
	for (size_t j = 0; j < n; j++)
		memcpy(&b->reqs[which[j] * b->w], &r2[j * b->w], b->w * sizeof(*r2));
	free(r2);
}

/* With --all a key is listed by every server of its copy set that holds it, in server order,
 * and is checked at its first listing: when no server listed before this one holds it.
 * Checking early means a server restarted later in the run cannot hide the key. */
static bool
held_earlier(const struct batch *b, size_t i)
{
	const struct mcr_req *q = &b->reqs[i * b->w];

	for (unsigned r = 0; r < b->k; r++)
		if (q[r].server < b->chk[i].k.origin && q[r].result == MCR_OK)
			return true;
	return false;
}

/* Were all copies of key i read (none left skipped by the probe)? */
static bool
read_whole(const struct batch *b, size_t i)
{
	for (unsigned r = 0; r < b->k; r++)
		if (b->reqs[i * b->w + r].result == MCR_SKIPPED)
			return false;
	return true;
}

static void
classify(struct batch *b, size_t i)
{
	struct check *ch = &b->chk[i];
	const struct mcr_req *q = &b->reqs[i * b->w];
	unsigned found = 0;
	bool unreachable = false, differ = false;

	ch->ref = -1;
	for (unsigned r = 0; r < b->k; r++) {
		if (q[r].result == MCR_OK) {
			if (ch->ref < 0)
				ch->ref = (int)r;
			else if (!same_value(&q[ch->ref], &q[r]))
				differ = true;
			found++;
		} else if (q[r].result != MCR_NOTFOUND) {
			unreachable = true;
		}
	}
	if (ch->pos == -1) {
		ch->cls = q[b->k].result == MCR_OK ? C_MISPLACED : C_DUP;
		if (q[b->k].result != MCR_OK && q[b->k].result != MCR_NOTFOUND)
			ch->cls = C_UNREACHABLE;
		return;
	}
	if (unreachable)
		ch->cls = C_UNREACHABLE;
	else if (differ)
		ch->cls = C_DIFFER;
	else if (found > 0 && found < b->k)
		ch->cls = C_MISSING;
	else
		ch->cls = C_OK;
}

/* The copy repairs copy from, or -1 with *why. */
static int
source(const struct batch *b, size_t i, const char **why)
{
	const struct mcr_req *q = &b->reqs[i * b->w];
	unsigned best = 0;
	int src = -1;

	switch (opt.policy) {
	case P_PRIMARY:
		if (q[0].result != MCR_OK) {
			*why = "the primary has no copy (try --repair=majority or --repair=missing)";
			return -1;
		}
		return 0;
	case P_MISSING: return b->chk[i].ref;
	case P_MAJORITY:
		/* the value most copies hold; a tie goes to the earliest copy, the primary first */
		for (unsigned r = 0; r < b->k; r++) {
			unsigned votes = 0;
			if (q[r].result != MCR_OK)
				continue;
			for (unsigned t = 0; t < b->k; t++)
				votes += q[t].result == MCR_OK && same_value(&q[r], &q[t]);
			if (votes > best) {
				best = votes;
				src = (int)r;
			}
		}
		return src;
	case P_NONE: break;
	}
	return -1;
}

/* Exptime that gives a copy the source's remaining time to live. */
static int
exptime_of(struct mcr_cluster *c, size_t server, const struct check *ch, uint32_t *exptime)
{
	int64_t ttl;
	const char *key = ch->k.key;

	if (mcr_ttls(c, server, &key, &ch->k.klen, 1, &ttl) < 0 || ttl == MCR_TTL_ABSENT)
		return -1;
	if (ttl < 0)
		*exptime = 0;
	else if (ttl <= 2592000) /* memcached reads larger values as a unix time */
		*exptime = ttl == 0 ? 1 : (uint32_t)ttl;
	else
		*exptime = (uint32_t)(time(NULL) + ttl);
	return 0;
}

static void
repair(struct batch *b)
{
	struct mcr_cluster *c = b->c;
	struct mcr_req *w = mcr_xcalloc(b->n * b->k, sizeof(*w));
	size_t *owner = mcr_xcalloc(b->n * b->k, sizeof(*owner)), nw = 0;

	for (size_t i = 0; i < b->n; i++) {
		struct check *ch = &b->chk[i];
		struct mcr_req *q = &b->reqs[i * b->w];
		const char *why = NULL;
		uint32_t exptime;
		int s;

		if (ch->cls == C_MISPLACED) {
			/* never read by applications; deleted only if unchanged since read */
			ch->outcome = opt.dry_run ? R_PLANNED : R_NONE;
			if (opt.dry_run)
				continue;
			w[nw] = (struct mcr_req){.server = ch->k.origin,
			                         .op = MCR_DELETE,
			                         .key = ch->k.key,
			                         .klen = ch->k.klen,
			                         .cas = q[b->k].rcas};
			owner[nw++] = i;
			continue;
		}
		if (ch->cls != C_MISSING && ch->cls != C_DIFFER)
			continue;
		if (ch->moving) {
			ch->outcome = R_SKIPPED;
			ch->why = "copies changed while being read (a write in flight)";
			continue;
		}
		if (ch->cls == C_DIFFER && opt.policy == P_MISSING) {
			ch->outcome = R_SKIPPED;
			ch->why = "copies differ; --repair=missing only fills absent copies";
			continue;
		}
		if ((s = source(b, i, &why)) < 0) {
			ch->outcome = R_SKIPPED;
			ch->why = why;
			continue;
		}
		if (opt.dry_run) {
			ch->outcome = R_PLANNED;
			continue;
		}
		if (exptime_of(c, q[s].server, ch, &exptime) < 0) {
			ch->outcome = R_FAILED;
			ch->why = "cannot read the remaining time to live of the source copy";
			continue;
		}
		for (unsigned r = 0; r < b->k; r++) {
			bool absent = q[r].result == MCR_NOTFOUND;
			if ((int)r == s || (!absent && same_value(&q[s], &q[r])))
				continue;
			if (!absent && opt.policy == P_MISSING)
				continue;
			/* an absent copy is added, a present one replaced only if its CAS is unchanged */
			w[nw] = (struct mcr_req){.server = q[r].server,
			                         .op = absent ? MCR_ADD : MCR_SET,
			                         .key = ch->k.key,
			                         .klen = ch->k.klen,
			                         .val = q[s].rval,
			                         .vlen = q[s].rlen,
			                         .flags = q[s].rflags,
			                         .exptime = exptime,
			                         .cas = absent ? 0 : q[r].rcas};
			owner[nw++] = i;
		}
		ch->outcome = R_REPAIRED;
	}
	mcr_run(c, w, nw);
	for (size_t j = 0; j < nw; j++) {
		struct check *ch = &b->chk[owner[j]];
		if (w[j].result == MCR_OK || (w[j].op == MCR_DELETE && w[j].result == MCR_NOTFOUND)) {
			if (ch->outcome == R_NONE)
				ch->outcome = R_REPAIRED;
		} else if (w[j].result == MCR_EXISTS || w[j].result == MCR_NOTSTORED ||
		           w[j].result == MCR_NOTFOUND) {
			if (ch->outcome != R_FAILED) {
				ch->outcome = R_SKIPPED;
				ch->why = "a copy changed since it was read (an application wrote it)";
			}
		} else {
			ch->outcome = R_FAILED;
			free(ch->msg);
			ch->msg = w[j].msg;
			w[j].msg = NULL;
			ch->why = mcr_result_word(w[j].result, w[j].op);
		}
		mcr_req_clear(&w[j]);
	}
	free(w);
	free(owner);
}

static const char *
state(const struct batch *b, size_t i, unsigned r)
{
	const struct check *ch = &b->chk[i];
	const struct mcr_req *q = &b->reqs[i * b->w];

	switch (q[r].result) {
	case MCR_OK:
		if (r == b->k)
			return "stray";
		if ((int)r == ch->ref)
			return "found";
		return same_value(&q[ch->ref], &q[r]) ? "same" : "differs";
	case MCR_NOTFOUND: return "absent";
	default: return "unreachable";
	}
}

static const char *const outcome_names[] = {NULL, "repaired", "skipped", "failed", "would-repair"};

static void
report(const struct batch *b, size_t i, enum mcr_format fmt)
{
	const struct check *ch = &b->chk[i];
	struct mcr_copystate cs[b->k + 1];
	char roles[b->k + 1][24];
	const char *cls = class_names[ch->cls], *out = outcome_names[ch->outcome];
	char msg[300] = "";
	size_t n = 0;

	for (unsigned r = 0; r <= b->k; r++) {
		const struct mcr_req *q = &b->reqs[i * b->w + r];
		if (q->result == MCR_SKIPPED)
			continue;
		if (r < b->k)
			mcr_role(r, roles[n], sizeof(roles[n]));
		else
			snprintf(roles[n], sizeof(roles[n]), "outside");
		cs[n] = (struct mcr_copystate){b->c->servers[q->server].label, roles[n], state(b, i, r)};
		n++;
	}
	if (ch->why)
		snprintf(msg, sizeof(msg), "%s%s%s", ch->why, ch->msg ? ": " : "", ch->msg ? ch->msg : "");
	struct mcr_field f[] = {
	    {"key", MCR_F_KEY, ch->k.key, ch->k.klen, 0},
	    {"class", MCR_F_STR, cls, strlen(cls), 0},
	    {"copies", MCR_F_COPIES, (const char *)(const void *)cs, n, 0},
	    {"repair", MCR_F_STR, out, out ? strlen(out) : 0, 0},
	    {"message", MCR_F_MSG, *msg ? msg : NULL, strlen(msg), 0},
	};
	mcr_emit(stdout, fmt, f, fmt == MCR_TEXT && !out ? 3 : 5);
}

static struct mcr_pace pace;

static void
progress(bool last)
{
	mcr_pace(&pace, tally.checked, tally.checked - tally.cls[C_OK] + tally.cls[C_MISPLACED],
	         "with problems", last);
}

static void
check_batch(struct batch *b, enum mcr_format fmt)
{
	size_t *again = mcr_xmalloc(b->n * sizeof(*again)), na = 0;

	for (size_t i = 0; i < b->n; i++) {
		struct check *ch = &b->chk[i];
		ch->pos = ch->k.origin == SIZE_MAX ? -2 : -1;
		mcr_place(b->c, ch->k.key, ch->k.klen, &b->idx[i * b->k]);
		for (unsigned r = 0; r < b->k; r++)
			if (ch->k.origin == b->idx[i * b->k + r])
				ch->pos = (int)r;
		ch->outcome = R_NONE;
		ch->why = NULL;
		ch->moving = false;
		prepare(b, i, true);
	}
	mcr_run(b->c, b->reqs, b->n * b->w);
	for (size_t i = 0; i < b->n; i++)
		if (b->chk[i].pos >= 0 && !held_earlier(b, i) && !read_whole(b, i))
			again[na++] = i;
	if (na)
		read_again(b, again, na);
	na = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (b->chk[i].pos >= 0 && held_earlier(b, i)) {
			b->chk[i].cls = C_DUP;
			continue;
		}
		classify(b, i);
		if (b->chk[i].cls != C_OK && b->chk[i].cls != C_DUP)
			again[na++] = i;
	}
	/* a write in flight is not an alarm: look again at what looked wrong. A repair needs
	 * the second look too: its copies read at slightly different moments can catch a write
	 * half-way, and only copies unchanged (same CAS) across both reads are a safe source */
	if (na && (opt.recheck_ms || opt.policy != P_NONE)) {
		uint64_t *cas = mcr_xcalloc(na * b->w, sizeof(*cas));
		for (size_t j = 0; j < na; j++)
			for (unsigned r = 0; r < b->w; r++) {
				const struct mcr_req *q = &b->reqs[again[j] * b->w + r];
				cas[j * b->w + r] = q->result == MCR_OK ? q->rcas : 0;
			}
		usleep(opt.recheck_ms * 1000);
		read_again(b, again, na);
		for (size_t j = 0; j < na; j++) {
			struct check *ch = &b->chk[again[j]];
			ch->moving = false;
			for (unsigned r = 0; r < b->w; r++) {
				const struct mcr_req *q = &b->reqs[again[j] * b->w + r];
				ch->moving |= (q->result == MCR_OK ? q->rcas : 0) != cas[j * b->w + r];
			}
			classify(b, again[j]);
		}
		free(cas);
	}
	if (opt.policy != P_NONE)
		repair(b);
	for (size_t i = 0; i < b->n; i++) {
		struct check *ch = &b->chk[i];
		if (ch->cls == C_DUP)
			continue;
		/* a stray copy is not another key: its key is checked through its own copies */
		tally.checked += ch->cls != C_MISPLACED;
		tally.cls[ch->cls]++;
		tally.repaired += ch->outcome == R_REPAIRED;
		tally.skipped += ch->outcome == R_SKIPPED;
		tally.failed += ch->outcome == R_FAILED;
		tally.planned += ch->outcome == R_PLANNED;
		if (ch->cls != C_OK || mcr_verbose)
			report(b, i, fmt);
		free(ch->msg);
		ch->msg = NULL;
	}
	free(again);
	progress(false);
}

static void
summary(enum mcr_format fmt, double secs)
{
	struct mcr_field f[] = {
	    {"summary", MCR_F_STR, "summary", 7, 0},
	    {"checked", MCR_F_UINT, NULL, 0, tally.checked},
	    {"ok", MCR_F_UINT, NULL, 0, tally.cls[C_OK]},
	    {"missing", MCR_F_UINT, NULL, 0, tally.cls[C_MISSING]},
	    {"differ", MCR_F_UINT, NULL, 0, tally.cls[C_DIFFER]},
	    {"unreachable", MCR_F_UINT, NULL, 0, tally.cls[C_UNREACHABLE]},
	    {"misplaced", MCR_F_UINT, NULL, 0, tally.cls[C_MISPLACED]},
	    {"repaired", MCR_F_UINT, NULL, 0, tally.repaired},
	    {"skipped", MCR_F_UINT, NULL, 0, tally.skipped},
	    {"failed", MCR_F_UINT, NULL, 0, tally.failed},
	    {"would_repair", MCR_F_UINT, NULL, 0, tally.planned},
	    {"seconds", MCR_F_REAL, NULL, 0, (uint64_t)(secs * 1000)},
	};

	if (mcr_quiet)
		return;
	if (fmt != MCR_TEXT) {
		mcr_emit(stdout, fmt, f, sizeof(f) / sizeof(f[0]));
		return;
	}
	printf(
	    "checked %llu key%s in %.3f s: ok %llu, missing %llu, differ %llu, unreachable %llu, misplaced "
	    "%llu",
	    (unsigned long long)tally.checked, tally.checked == 1 ? "" : "s", secs,
	    (unsigned long long)tally.cls[C_OK], (unsigned long long)tally.cls[C_MISSING],
	    (unsigned long long)tally.cls[C_DIFFER], (unsigned long long)tally.cls[C_UNREACHABLE],
	    (unsigned long long)tally.cls[C_MISPLACED]);
	if (opt.policy != P_NONE && opt.dry_run)
		printf("; would repair %llu, would skip %llu", (unsigned long long)tally.planned,
		       (unsigned long long)tally.skipped);
	else if (opt.policy != P_NONE)
		printf("; repaired %llu, skipped %llu, failed %llu", (unsigned long long)tally.repaired,
		       (unsigned long long)tally.skipped, (unsigned long long)tally.failed);
	putchar('\n');
}

/* node_exporter textfile: written beside the target and renamed, so a scrape never sees half. */
static void
prometheus(const char *path, double secs, int status)
{
	size_t n = strlen(path) + 32;
	char *tmp = mcr_xmalloc(n);
	FILE *fp;

	snprintf(tmp, n, "%s.%ld.tmp", path, (long)getpid());
	if (!(fp = fopen(tmp, "w")))
		mcr_die(MCR_TROUBLE, "--prometheus: %s: %s", tmp, strerror(errno));
	fprintf(fp, "# HELP mcr_verify_keys Keys found in each class by the last mcrverify run.\n"
	            "# TYPE mcr_verify_keys gauge\n");
	for (int k = C_OK; k < C_DUP; k++)
		fprintf(fp, "mcr_verify_keys{class=\"%s\"} %llu\n", class_names[k],
		        (unsigned long long)tally.cls[k]);
	fprintf(fp,
	        "# HELP mcr_verify_keys_checked Keys checked by the last mcrverify run.\n"
	        "# TYPE mcr_verify_keys_checked gauge\nmcr_verify_keys_checked %llu\n",
	        (unsigned long long)tally.checked);
	fprintf(fp,
	        "# HELP mcr_verify_repairs Keys repaired, skipped or failed by the last run.\n"
	        "# TYPE mcr_verify_repairs gauge\n"
	        "mcr_verify_repairs{result=\"repaired\"} %llu\nmcr_verify_repairs{result=\"skipped\"} %llu\n"
	        "mcr_verify_repairs{result=\"failed\"} %llu\n",
	        (unsigned long long)tally.repaired, (unsigned long long)tally.skipped,
	        (unsigned long long)tally.failed);
	fprintf(fp,
	        "# HELP mcr_verify_duration_seconds How long the last run took.\n"
	        "# TYPE mcr_verify_duration_seconds gauge\nmcr_verify_duration_seconds %.3f\n",
	        secs);
	fprintf(
	    fp,
	    "# HELP mcr_verify_exit_status Exit status of the last run (0 consistent, 1 not, 2 trouble).\n"
	    "# TYPE mcr_verify_exit_status gauge\nmcr_verify_exit_status %d\n",
	    status);
	fprintf(fp,
	        "# HELP mcr_verify_last_run_timestamp_seconds When the last run ended.\n"
	        "# TYPE mcr_verify_last_run_timestamp_seconds gauge\n"
	        "mcr_verify_last_run_timestamp_seconds %lld\n",
	        (long long)time(NULL));
	if (fclose(fp) == EOF || rename(tmp, path) < 0) {
		unlink(tmp);
		mcr_die(MCR_TROUBLE, "--prometheus: %s: %s", path, strerror(errno));
	}
	free(tmp);
}

int
main(int argc, char **argv)
{
	struct mcr_tool tool = {"mcrverify",
	                        synopsis,
	                        "Check that every copy of every key holds the same value, and repair drift.",
	                        options,
	                        handle,
	                        NULL};
	struct mcr_opts o;
	struct mcr_cluster c;
	struct batch b;
	int status, i;
	double secs;

	mcr_setprog(argv[0]);
	i = mcr_parse_options(&tool, &o, argc, argv);
	opt.ks.args = argv + i;
	opt.ks.nargs = (size_t)(argc - i);
	if (opt.ks.all && (opt.ks.nargs || opt.ks.file))
		mcr_usage_error("--all checks every key: give no KEY and no --keys-from");
	if (!opt.ks.all && !opt.ks.nargs && !opt.ks.file)
		mcr_usage_error("no keys: give KEY operands, --keys-from=FILE or --all (try --help)");
	if (opt.dry_run && opt.policy == P_NONE)
		mcr_usage_error("--dry-run shows repairs: give --repair too");
	if (opt.progress < 0)
		opt.progress = isatty(2);
	mcr_cluster_open(&c, &o);

	memset(&b, 0, sizeof(b));
	b.c = &c;
	b.k = c.copies;
	b.w = c.copies + 1;
	b.chk = mcr_xcalloc(opt.batch, sizeof(*b.chk));
	b.idx = mcr_xcalloc(opt.batch * b.k, sizeof(*b.idx));
	b.reqs = mcr_xcalloc(opt.batch * b.w, sizeof(*b.reqs));
	tally.start = pace.start = mcr_now();
	pace.rate = opt.rate;
	pace.show = opt.progress;
	for (;;) {
		b.n = 0;
		while (b.n < opt.batch && mcr_keys_next(&c, &opt.ks, &b.chk[b.n].k))
			b.n++;
		if (b.n == 0)
			break;
		check_batch(&b, o.format);
	}
	progress(true);
	secs = mcr_now() - tally.start;
	if (tally.cls[C_UNREACHABLE] || opt.ks.trouble)
		status = MCR_TROUBLE;
	else if (opt.policy == P_NONE || opt.dry_run)
		status = tally.checked > tally.cls[C_OK] || tally.cls[C_MISPLACED] ? MCR_NO : MCR_YES;
	else
		status = tally.checked - tally.cls[C_OK] + tally.cls[C_MISPLACED] > tally.repaired ? MCR_NO
		                                                                                   : MCR_YES;
	summary(o.format, secs);
	if (opt.prometheus)
		prometheus(opt.prometheus, secs, status);
	for (size_t j = 0; j < opt.batch * b.w; j++)
		mcr_req_clear(&b.reqs[j]);
	free(b.chk);
	free(b.idx);
	free(b.reqs);
	mcr_keys_close(&opt.ks);
	mcr_cluster_close(&c);
	mcr_finish_stdout();
	return status;
}
