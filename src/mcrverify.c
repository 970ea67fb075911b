/* SPDX-License-Identifier: ISC */
/* mcrverify: check that every copy of every key holds the same value and flags, and repair
 * drift without ever undoing an application's write. Keys are read in batches, every copy
 * at once. A key that looks wrong is put aside and read once more at the end, after the
 * recheck delay (one delay for the whole run): a write in flight is not an alarm, and a
 * repair only ever starts from two reads that agree. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcr.h"

enum { O_RECHECK = 500, O_CONFIRM, O_PROMETHEUS, O_REPAIR, O_DRY_RUN, O_REMOVE_STRAYS, O_COMPARE_TTL, O_PROM_LABEL };

static const struct mcr_option options[] = {
    {"recheck-delay", 0, "MS", "read keys that look wrong again after MS (default 200)", O_RECHECK},
    {"confirm-delay", 0, "MS", "MS after the last fill, take back copies of keys deleted since "
                               "(default 1000, 0 at once)",
     O_CONFIRM},
    {"prometheus", 0, "FILE", "write node_exporter textfile metrics to FILE", O_PROMETHEUS},
    {"prometheus-label", 0, "NAME=VALUE", "a label on every metric (repeatable: cluster, shard...)", O_PROM_LABEL},
    {"repair", 0, "[POLICY]missing|primary|majority", "fill absent copies (missing, the default); primary or majority: also "
                              "replace differing ones",
     O_REPAIR},
    {"remove-strays", 0, NULL, "delete copies outside the copy set once the set holds them", O_REMOVE_STRAYS},
    {"compare-ttl", 0, "[SLACK]#", "a copy whose TTL differs from the primary's by more than SLACK s (default 2) "
                                   "differs",
     O_COMPARE_TTL},
    {"dry-run", 'n', NULL, "print the repairs without writing", O_DRY_RUN},
    {NULL, 0, NULL, NULL, 0},
};

static const char *const synopsis[] = {"[KEY...]", "-k FILE", "-a", NULL};

enum policy { P_NONE, P_MISSING, P_PRIMARY, P_MAJORITY };

/* What a record is about. The first five are the classes of keys, which add up to the keys
 * checked; a stray is a copy outside its key's copy set, counted apart. */
enum class { C_OK, C_MISSING, C_DIFFER, C_UNREACHABLE, C_MISPLACED, C_STRAY, C_UNRESOLVED, C_DUP, NCLASS };
static const char *const class_names[] = {"ok",    "missing",    "differ", "unreachable",
                                          "misplaced", "stray", "unresolved", "dup"};
enum outcome { R_NONE, R_REPAIRED, R_SKIPPED, R_FAILED, R_PLANNED };
static const char *const outcome_names[] = {NULL, "repaired", "skipped", "failed", "would-repair"};

static struct {
	unsigned recheck_ms, confirm_ms;
	const char *prometheus;
	enum policy policy;
	bool dry_run, remove_strays;
	long ttl_slack; /* --compare-ttl: seconds; -1: TTLs not compared */
} opt = {.recheck_ms = 200, .confirm_ms = 1000, .ttl_slack = -1};

static struct {
	uint64_t checked, cls[NCLASS], repaired, skipped, failed, planned;
	uint64_t fixed_keys, strays_removed; /* of the repairs: keys made whole, stray copies deleted */
	double start;
	bool interrupted;
	const char *stopped; /* why the run stopped before writing */
	struct mcr_guard guard;
	bool matching;      /* --match was given */
	uint64_t unmatched; /* keys it left out */
} tally;

/* node_exporter textfile: opened before the run, so a path that cannot be written stops it
 * before any work; written beside the target and renamed, so a scrape never sees half. */
static struct mcr_outfile promfile;
static struct mcr_prom prom;

/* Each server's copies of the keys checked, by state: which server lost its copies. */
enum { T_FOUND, T_ABSENT, T_DIFFERS, T_TTL, T_UNREACHABLE, T_STRAY, NTOTAL };
static const char *const total_names[] = {"found", "absent", "differs", "ttl-differs", "unreachable", "stray"};
static uint64_t *totals; /* NTOTAL per server */
static const struct mcr_cluster *totals_of;

static void
handle(int id, const char *arg)
{
	switch (id) {
	case O_RECHECK: opt.recheck_ms = (unsigned)mcr_number("--recheck-delay", arg, 0, 600000); break;
	case O_CONFIRM: opt.confirm_ms = (unsigned)mcr_number("--confirm-delay", arg, 0, 600000); break;
	case O_PROMETHEUS: opt.prometheus = arg; break;
	case O_PROM_LABEL: mcr_prom_add_label(&prom, arg); break;
	case O_REPAIR:
		if (!arg || !strcmp(arg, "missing"))
			opt.policy = P_MISSING;
		else if (!strcmp(arg, "primary"))
			opt.policy = P_PRIMARY;
		else if (!strcmp(arg, "majority"))
			opt.policy = P_MAJORITY;
		else
			mcr_usage_error("--repair: unknown policy \"%s\" (missing, primary or majority)", arg);
		break;
	case O_REMOVE_STRAYS: opt.remove_strays = true; break;
	case O_DRY_RUN: opt.dry_run = true; break;
	case O_COMPARE_TTL: opt.ttl_slack = arg ? (long)mcr_number("--compare-ttl", arg, 0, 31536000) : 2; break;
	}
}

/* A run that may write: a repair or stray removal, not a dry run. */
static bool
writing(void)
{
	return (opt.policy != P_NONE || opt.remove_strays) && !opt.dry_run;
}

/* One key of a batch: key i of the fan. Its copies are cells 0..k-1; cell k reads the server
 * that listed it when that server is outside the copy set (a stray copy). */
struct check {
	enum mcr_listed where;
	enum class cls, first; /* now, and at the first read */
	int ref;               /* first copy found, -1 none */
	enum outcome outcome;
	const char *why; /* for skipped/failed */
	char *msg;
	bool moving; /* a copy changed between the two reads: a write is in flight */
	bool ttl;    /* --compare-ttl: the copies hold one value, but not one expiry */
	bool again;  /* put aside at the first read: cas0 holds what it saw */
	int src;     /* the cell a repair copies from, -1 none */
	uint64_t src_cas;
	bool filled, unstray;
	bool unstrayed; /* its stray copy was deleted */
	bool held;      /* filled: held until the confirming pass, its states in st */
	uint8_t *st;
};

struct batch {
	struct mcr_fan f; /* the reads */
	struct mcr_fan w; /* the repairs */
	struct mcr_fan v; /* what repairs copied from, read again */
	struct mcr_fan p; /* probes of every server, for keys held only outside their copy set */
	unsigned k;       /* copies per key */
	struct mcr_key *keys;
	struct check *chk;
	uint64_t *cas0; /* (k + 1) per key: the first read's CAS, 0 for none */
	bool *ttld;     /* (k + 1) per key: --compare-ttl, this copy's TTL differs from the primary's */
	size_t n;
	enum mcr_format fmt;
	struct mcr_keysrc *ks;
};

/* What is put aside with a key: how it was listed, how it was classed, the CAS it had. */
struct aside {
	enum mcr_listed where;
	enum class first;
	bool again;
};

static struct mcr_req *
cell(const struct batch *b, size_t i, unsigned r)
{
	return mcr_cell(&b->f, i, r);
}

/* The batch's keys as fan rows: the copies, and the stray cell when the key was listed by
 * a server outside its copy set. */
static void
load(struct batch *b)
{
	mcr_fan_reset(&b->f);
	for (size_t i = 0; i < b->n; i++) {
		mcr_fan_add(&b->f, b->keys[i].key, b->keys[i].klen, MCR_GET);
		if (mcr_listed_where(&b->f, i, b->keys[i].origin) == MCR_OUTSIDE) {
			cell(b, i, b->k)->server = b->keys[i].origin;
			cell(b, i, b->k)->skip = false;
		}
	}
}

/* Reads the keys for which want[i] again, every copy (and the stray one). */
static void
read_again(struct batch *b, const bool *want)
{
	bool any = false;

	for (size_t i = 0; i < b->n; i++)
		for (unsigned r = 0; r <= b->k; r++) {
			cell(b, i, r)->skip = !want[i] || (r == b->k && b->chk[i].where != MCR_OUTSIDE);
			any |= !cell(b, i, r)->skip;
		}
	if (any)
		mcr_fan_run(&b->f);
}

/* Do two remaining TTLs (seconds, or MCR_TTL_NEVER) differ beyond the slack? */
static bool
ttl_drift(int64_t a, int64_t b)
{
	if (a < 0 || b < 0)
		return (a < 0) != (b < 0);
	return llabs((long long)(a - b)) > opt.ttl_slack;
}

/* --compare-ttl: the remaining TTL of every copy of the keys whose copies were all found with
 * one value, read at once; b->ttld marks the copies whose TTL differs from the primary's. A
 * copy whose TTL cannot be read (a server that requires SASL has no ASCII protocol) is not
 * compared. libmemcached replicates neither touch nor gat: the primary's is the one the
 * application set last. */
static void
read_ttl_drift(struct batch *b)
{
	const struct mcr_cluster *c = b->f.c;
	size_t *owner;

	if (opt.ttl_slack < 0 || b->k < 2)
		return;
	memset(b->ttld, 0, b->n * (b->k + 1) * sizeof(*b->ttld));
	owner = mcr_xcalloc(b->n, sizeof(*owner));
	mcr_fan_reset(&b->w);
	for (size_t i = 0; i < b->n; i++) {
		/* read whole (a key probed, listed earlier, is checked at its first listing) */
		bool whole = true;
		for (unsigned r = 0; r < b->k && whole; r++)
			whole = cell(b, i, r)->op == MCR_GET && cell(b, i, r)->result == MCR_OK &&
			        mcr_same_value(cell(b, i, 0), cell(b, i, r));
		if (!whole)
			continue;
		size_t j = mcr_fan_add(&b->w, b->keys[i].key, b->keys[i].klen, MCR_TTL);
		for (unsigned r = 0; r < b->w.width; r++) {
			struct mcr_req *t = mcr_cell(&b->w, j, r);
			t->server = cell(b, i, r)->server;
			t->skip = r >= b->k || (c->username && c->servers[t->server].port);
		}
		owner[j] = i;
	}
	mcr_fan_run(&b->w);
	for (size_t j = 0; j < b->w.n; j++) {
		const struct mcr_req *p = mcr_cell(&b->w, j, 0);
		for (unsigned r = 1; r < b->k && p->result == MCR_OK; r++) {
			const struct mcr_req *t = mcr_cell(&b->w, j, r);
			if (t->result == MCR_OK && ttl_drift(p->ttl, t->ttl))
				b->ttld[owner[j] * (b->k + 1) + r] = true;
		}
	}
	mcr_fan_reset(&b->w);
	free(owner);
}

static bool
ttl_differs(const struct batch *b, size_t i)
{
	for (unsigned r = 1; opt.ttl_slack >= 0 && r < b->k; r++)
		if (b->ttld[i * (b->k + 1) + r])
			return true;
	return false;
}

static void
classify(struct batch *b, size_t i)
{
	struct check *ch = &b->chk[i];
	unsigned found = 0;
	bool unreachable = false, differ = false;

	ch->ref = -1;
	ch->ttl = false;
	if (ch->where == MCR_EARLIER) {
		ch->cls = C_DUP;
		return;
	}
	if (ch->where == MCR_UNKNOWN) {
		ch->cls = C_UNRESOLVED;
		return;
	}
	for (unsigned r = 0; r < b->k; r++) {
		const struct mcr_req *q = cell(b, i, r);
		if (q->result == MCR_OK) {
			if (ch->ref < 0)
				ch->ref = (int)r;
			else if (!mcr_same_value(cell(b, i, (unsigned)ch->ref), q))
				differ = true;
			found++;
		} else if (q->result != MCR_NOTFOUND) {
			unreachable = true;
		}
	}
	if (ch->where == MCR_OUTSIDE) {
		enum mcr_result st = cell(b, i, b->k)->result;
		if (st == MCR_NOTFOUND || (st != MCR_OK && found > 0))
			ch->cls = C_DUP; /* gone, or not to be seen: its key has copies of its own */
		else if (found > 0 || ch->first == C_STRAY)
			ch->cls = st == MCR_OK ? C_STRAY : C_DUP; /* its key is checked at its own listing */
		else if (unreachable)
			ch->cls = C_UNRESOLVED; /* its copy set may hold it, and count it, or not */
		else if (st != MCR_OK)
			ch->cls = C_UNREACHABLE;
		else
			ch->cls = C_MISPLACED;
		return;
	}
	if (unreachable)
		ch->cls = C_UNREACHABLE;
	else if (differ)
		ch->cls = C_DIFFER;
	else if (found > 0 && found < b->k)
		ch->cls = C_MISSING;
	else if (found == b->k && ttl_differs(b, i))
		ch->cls = C_DIFFER, ch->ttl = true;
	else
		ch->cls = C_OK;
}

/* A key held only outside its copy set is a key of its own (misplaced) at the first listing,
 * in server order, that holds it; at a later one its copy is just one more stray. */
static void
first_outside(struct batch *b)
{
	struct mcr_fan *p = &b->p;
	size_t *owner = mcr_xcalloc(b->n, sizeof(*owner));

	mcr_fan_reset(p);
	for (size_t i = 0; i < b->n; i++) {
		if (b->chk[i].cls != C_MISPLACED)
			continue;
		size_t j = mcr_fan_add(p, b->keys[i].key, b->keys[i].klen, MCR_GET);
		owner[j] = i;
		for (unsigned r = 0; r < p->k; r++)
			mcr_cell(p, j, r)->skip = true; /* the copy set was read already */
		for (unsigned r = p->k; r < p->width; r++) {
			struct mcr_req *q = mcr_cell(p, j, r);
			size_t s = r - p->k;
			q->skip = s >= b->keys[i].origin;
			for (unsigned c = 0; c < p->k && !q->skip; c++)
				q->skip = mcr_cell(p, j, c)->server == s;
			q->server = s;
		}
	}
	mcr_fan_run(p);
	for (size_t j = 0; j < p->n; j++)
		for (unsigned r = p->k; r < p->width; r++)
			if (mcr_cell(p, j, r)->result == MCR_OK)
				b->chk[owner[j]].cls = C_STRAY;
	free(owner);
}

/* The cell repairs copy from, or -1 with *why. */
static int
source(const struct batch *b, size_t i, const char **why)
{
	unsigned best = 0;
	int src = -1;

	if (b->chk[i].cls == C_MISPLACED)
		return (int)b->k; /* its only copies are outside: the set is filled from one */
	switch (opt.policy) {
	case P_PRIMARY:
		if (cell(b, i, 0)->result != MCR_OK) {
			*why = "the primary has no copy (--repair, the default, fills it from a replica)";
			return -1;
		}
		return 0;
	case P_MISSING: return b->chk[i].ref;
	case P_MAJORITY:
		/* the value most copies hold; a tie goes to the earliest copy, the primary first */
		for (unsigned r = 0; r < b->k; r++) {
			const struct mcr_req *q = cell(b, i, r);
			unsigned votes = 0;
			if (q->result != MCR_OK)
				continue;
			for (unsigned t = 0; t < b->k; t++)
				votes += cell(b, i, t)->result == MCR_OK && mcr_same_value(q, cell(b, i, t));
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

/* Does every copy of key i in the set read as the stray copy (cell k) does? */
static bool
set_holds_stray(const struct mcr_fan *f, unsigned k, size_t i)
{
	for (unsigned r = 0; r < k; r++)
		if (mcr_cell(f, i, r)->result != MCR_OK || !mcr_same_value(mcr_cell(f, i, r), mcr_cell(f, i, k)))
			return false;
	return true;
}

/* What a repair of key i would do, before anything is written: its source, or the outcome
 * that stops it. */
static void
plan(struct batch *b, size_t i)
{
	struct check *ch = &b->chk[i];
	const char *why = NULL;

	ch->src = -1;
	ch->outcome = R_NONE;
	if (ch->cls == C_STRAY) {
		if (!opt.remove_strays)
			return;
		if (ch->moving) {
			ch->outcome = R_SKIPPED;
			ch->why = "copies changed while being read (a write in flight)";
		} else if (!set_holds_stray(&b->f, b->k, i)) {
			ch->outcome = R_SKIPPED;
			ch->why = "the copy set does not hold this value: the stray copy is kept";
		} else {
			ch->outcome = opt.dry_run ? R_PLANNED : R_NONE;
			ch->unstray = !opt.dry_run;
		}
		return;
	}
	if (opt.policy == P_NONE || (ch->cls != C_MISSING && ch->cls != C_DIFFER && ch->cls != C_MISPLACED))
		return;
	if (ch->moving) {
		ch->outcome = R_SKIPPED;
		ch->why = "copies changed while being read (a write in flight)";
	} else if (ch->ttl) {
		/* one value, expiries apart: the primary's wins, whatever the policy (only it
		 * saw the application's touches), and no value changes */
		ch->src = opt.dry_run ? -1 : 0;
		ch->outcome = opt.dry_run ? R_PLANNED : R_NONE;
		if (!opt.dry_run)
			ch->src_cas = cell(b, i, 0)->rcas;
	} else if (ch->cls == C_DIFFER && opt.policy == P_MISSING) {
		ch->outcome = R_SKIPPED;
		ch->why = "copies differ: --repair fills absent copies only; --repair=primary or "
		          "--repair=majority says which copy wins";
	} else if ((ch->src = source(b, i, &why)) < 0) {
		ch->outcome = R_SKIPPED;
		ch->why = why;
	} else if (opt.dry_run) {
		ch->outcome = R_PLANNED;
		ch->src = -1;
	} else {
		ch->src_cas = cell(b, i, (unsigned)ch->src)->rcas;
	}
}

/* The expiry of key i's source copy as the listing gave it, as an exptime in *exptime, when
 * the copy listed is unchanged since (its CAS) and the source is it or holds its value, and
 * the expiry is known and not yet past. Written as seconds left, as a TTL read with mg is:
 * the server written counts them down on its own clock, whatever its wall clock says. A
 * touch leaves the CAS as it was: --compare-ttl, which repairs expiries, reads them, never
 * takes the listing's. */
static bool
listed_expiry(const struct batch *b, size_t i, int64_t now, uint32_t *exptime)
{
	const struct mcr_key *k = &b->keys[i];

	if (opt.ttl_slack >= 0 || k->expires == 0 || (k->expires > 0 && k->expires <= now + 1) ||
	    !mcr_listing_holds(&b->f, i, k, cell(b, i, (unsigned)b->chk[i].src)))
		return false;
	*exptime = mcr_exptime(k->expires < 0 ? -1 : k->expires - now, now);
	return true;
}

/* The remaining TTL of each repair's source copy as an exptime in exptime[i]: the listing's,
 * where it still holds, else read from the source's server, all at once; a key whose source
 * TTL cannot be read fails. */
static void
read_ttls(struct batch *b, uint32_t *exptime)
{
	int64_t now = (int64_t)time(NULL);
	size_t *owner = mcr_xcalloc(b->n, sizeof(*owner));

	mcr_fan_reset(&b->w);
	for (size_t i = 0; i < b->n; i++) {
		const struct check *ch = &b->chk[i];
		if (ch->src < 0 || listed_expiry(b, i, now, &exptime[i]))
			continue;
		size_t j = mcr_fan_add(&b->w, b->keys[i].key, b->keys[i].klen, MCR_TTL);
		for (unsigned r = 0; r < b->w.width; r++) {
			struct mcr_req *t = mcr_cell(&b->w, j, r);
			t->skip = (int)r != ch->src;
			t->server = cell(b, i, r)->server;
		}
		owner[j] = i;
	}
	if (b->w.n)
		mcr_fan_run(&b->w);
	for (size_t j = 0; j < b->w.n; j++) {
		struct check *ch = &b->chk[owner[j]];
		const struct mcr_req *t = mcr_cell(&b->w, j, (unsigned)ch->src);
		if (t->result != MCR_OK) {
			ch->outcome = R_FAILED;
			ch->why = "cannot read the remaining time to live of the source copy";
			ch->src = -1;
			continue;
		}
		exptime[owner[j]] = mcr_exptime(t->ttl, now);
	}
	free(owner);
}

/* A write's answer: the key's outcome. */
static void
settle(struct check *ch, struct mcr_req *w, const char *changed)
{
	if (w->result == MCR_OK || (w->op == MCR_DELETE && w->result == MCR_NOTFOUND)) {
		if (ch->outcome == R_NONE)
			ch->outcome = R_REPAIRED;
	} else if (w->result == MCR_EXISTS || w->result == MCR_NOTSTORED || w->result == MCR_NOTFOUND) {
		if (ch->outcome != R_FAILED) {
			ch->outcome = R_SKIPPED;
			ch->why = changed;
		}
	} else {
		ch->outcome = R_FAILED;
		free(ch->msg);
		ch->msg = w->msg;
		w->msg = NULL;
		ch->why = mcr_result_word(w->result, w->op);
	}
}

/* The writes: absent copies added, differing ones replaced if their CAS is unchanged, stray
 * copies deleted if theirs is. Returns the row of key i in b->w, through row[]. */
static void
write_copies(struct batch *b, const uint32_t *exptime, size_t *row)
{
	mcr_fan_reset(&b->w);
	for (size_t i = 0; i < b->n; i++) {
		struct check *ch = &b->chk[i];
		row[i] = SIZE_MAX;
		if (ch->src < 0 && !ch->unstray)
			continue;
		size_t j = row[i] = mcr_fan_add(&b->w, b->keys[i].key, b->keys[i].klen, MCR_SET);
		for (unsigned r = 0; r <= b->k; r++) {
			const struct mcr_req *q = cell(b, i, r);
			struct mcr_req *w = mcr_cell(&b->w, j, r);
			w->server = q->server;
			if (r == b->k) {
				/* a stray: deleted only if unchanged since it was read */
				w->skip = !ch->unstray;
				w->op = MCR_DELETE;
				w->cas = q->rcas;
				continue;
			}
			const struct mcr_req *s = ch->src >= 0 ? cell(b, i, (unsigned)ch->src) : NULL;
			bool absent = q->result == MCR_NOTFOUND;
			bool ttl = ch->ttl && b->ttld[i * (b->k + 1) + r];
			w->skip = !s || (int)r == ch->src || (!absent && mcr_same_value(s, q) && !ttl) ||
			          (!absent && opt.policy == P_MISSING && !ttl);
			if (w->skip)
				continue;
			/* an absent copy is added, a present one replaced only if its CAS is unchanged */
			w->op = absent ? MCR_ADD : MCR_SET;
			w->cas = absent ? 0 : q->rcas;
			w->val = s->rval;
			w->vlen = s->rlen;
			w->flags = s->rflags;
			w->exptime = exptime[i];
		}
	}
	mcr_fan_run(&b->w);
	for (size_t i = 0; i < b->n; i++) {
		if (row[i] == SIZE_MAX)
			continue;
		for (unsigned r = 0; r <= b->k; r++) {
			struct mcr_req *w = mcr_cell(&b->w, row[i], r);
			if (w->skip)
				continue;
			b->chk[i].filled |= w->op == MCR_ADD && w->result == MCR_OK;
			b->chk[i].unstrayed |= w->op == MCR_DELETE && (w->result == MCR_OK || w->result == MCR_NOTFOUND);
			settle(&b->chk[i], w, "a copy changed since it was read (an application wrote it)");
		}
	}
}

/* Right after the adds, each filled key's source is read again: a delete or a write that
 * landed between the second read and the add shows now, and the copies added from it are
 * taken back at once (each only if unchanged since the add), before an application reads
 * them for long. What arrives later is for the confirming pass (confirm_held). */
static void
confirm_now(struct batch *b, const size_t *row)
{
	struct mcr_fan *v = &b->v;
	bool *gone = mcr_xcalloc(b->n, sizeof(*gone)), any = false;

	mcr_fan_reset(v);
	for (size_t i = 0; i < b->n; i++) {
		const struct check *ch = &b->chk[i];
		bool want = ch->filled && ch->outcome == R_REPAIRED;
		mcr_fan_add(v, b->keys[i].key, b->keys[i].klen, MCR_GET);
		for (unsigned r = 0; r <= b->k; r++) {
			mcr_cell(v, i, r)->server = cell(b, i, r)->server;
			mcr_cell(v, i, r)->skip = !want || (int)r != ch->src;
		}
		any |= want;
	}
	if (!any) {
		free(gone);
		return;
	}
	mcr_fan_run(v);
	for (size_t i = 0; i < b->n; i++) {
		struct check *ch = &b->chk[i];
		const struct mcr_req *s = ch->src >= 0 ? mcr_cell(v, i, (unsigned)ch->src) : NULL;
		gone[i] = s && !s->skip &&
		          (s->result == MCR_NOTFOUND || (s->result == MCR_OK && s->rcas != ch->src_cas));
	}
	/* the take-backs, in the same fan: a delete of each copy added, on its CAS */
	mcr_fan_reset(v);
	any = false;
	for (size_t i = 0; i < b->n; i++) {
		mcr_fan_add(v, b->keys[i].key, b->keys[i].klen, MCR_DELETE);
		for (unsigned r = 0; r <= b->k; r++) {
			const struct mcr_req *w = row[i] == SIZE_MAX ? NULL : mcr_cell(&b->w, row[i], r);
			struct mcr_req *d = mcr_cell(v, i, r);
			d->server = cell(b, i, r)->server;
			d->skip = !gone[i] || !w || w->skip || w->op != MCR_ADD || w->result != MCR_OK;
			d->cas = w ? w->rcas : 0;
			any |= !d->skip;
		}
	}
	if (any)
		mcr_fan_run(v);
	for (size_t i = 0; i < b->n; i++) {
		struct check *ch = &b->chk[i];
		if (!gone[i])
			continue;
		ch->outcome = R_SKIPPED;
		ch->why = "the source changed while it was being copied (a write or a delete in flight): the "
		          "copies made from it were taken back";
		for (unsigned r = 0; r <= b->k; r++) {
			struct mcr_req *d = mcr_cell(v, i, r);
			if (!d->skip && d->result != MCR_OK && d->result != MCR_EXISTS && d->result != MCR_NOTFOUND)
				settle(ch, d, NULL);
		}
	}
	free(gone);
}

/* A copy's state in a report, as a byte: what a held key keeps until it is reported. */
enum { S_UNREAD, S_FOUND, S_SAME, S_DIFFERS, S_ABSENT, S_UNREACHABLE, S_STRAY, S_TTL };
static const char *const state_names[] = {NULL,          "found", "same", "differs", "absent",
                                          "unreachable", "stray", "ttl-differs"};

static uint8_t
state(const struct batch *b, size_t i, unsigned r)
{
	const struct check *ch = &b->chk[i];
	const struct mcr_req *q = cell(b, i, r);

	switch (q->result) {
	case MCR_UNSENT: return S_UNREAD;
	case MCR_OK:
		if (r == b->k)
			return S_STRAY;
		if ((int)r == ch->ref || ch->ref < 0)
			return S_FOUND; /* the reference, or a key not compared (unresolved) */
		if (!mcr_same_value(cell(b, i, (unsigned)ch->ref), q))
			return S_DIFFERS;
		return ch->ttl && b->ttld[i * (b->k + 1) + r] ? S_TTL : S_SAME;
	case MCR_NOTFOUND: return S_ABSENT;
	default: return S_UNREACHABLE;
	}
}

/* Key i of the batch, its copies in the states st[0..k] (cell k: the stray, on its origin). */
static void
report(const struct batch *b, size_t i, const uint8_t *st)
{
	const struct check *ch = &b->chk[i];
	struct mcr_copystate cs[b->k + 1];
	char roles[b->k + 1][24];
	const char *cls = class_names[ch->cls], *out = outcome_names[ch->outcome];
	char msg[400] = "";
	size_t n = 0;

	for (unsigned r = 0; r <= b->k; r++) {
		if (st[r] == S_UNREAD)
			continue;
		if (r < b->k)
			mcr_role(r, roles[n], sizeof(roles[n]));
		else
			snprintf(roles[n], sizeof(roles[n]), "outside");
		cs[n] = (struct mcr_copystate){b->f.c->servers[cell(b, i, r)->server].label, roles[n], state_names[st[r]]};
		n++;
	}
	if (ch->cls == C_UNRESOLVED && ch->where == MCR_OUTSIDE)
		snprintf(msg, sizeof(msg), "a server of its copy set could not be asked whether it holds it");
	else if (ch->cls == C_UNRESOLVED)
		snprintf(msg, sizeof(msg), "a server listed before could not be asked whether it holds it");
	else if (ch->why)
		snprintf(msg, sizeof(msg), "%s%s%s", ch->why, ch->msg ? ": " : "", ch->msg ? ch->msg : "");
	struct mcr_field f[] = {
	    {"key", MCR_F_KEY, b->keys[i].key, b->keys[i].klen, 0},
	    {"class", MCR_F_STR, cls, strlen(cls), 0},
	    {"copies", MCR_F_COPIES, (const char *)(const void *)cs, n, 0},
	    {"repair", MCR_F_STR, out, out ? strlen(out) : 0, 0},
	    {"message", MCR_F_MSG, *msg ? msg : NULL, strlen(msg), 0},
	};
	if (b->fmt == MCR_TEXT && !out) {
		f[3] = f[4]; /* text: KEY CLASS COPIES[: why] when there is no repair word */
		mcr_emit(stdout, b->fmt, f, *msg ? 4 : 3);
		return;
	}
	mcr_emit(stdout, b->fmt, f, 5);
}

static struct mcr_pace pace;
static struct mcr_sizer sizer; /* every batch's end: --batch keys or --batch-bytes */

static struct mcr_keysrc *progress_of; /* the keys, for a percentage */

static void
progress(bool last)
{
	pace.fraction = progress_of ? mcr_keys_fraction(progress_of) : -1;
	mcr_pace(&pace, tally.checked, tally.checked - tally.cls[C_OK], "with problems", last);
}

/* Each copy of a key checked, on its server; absent copies only of keys held somewhere. */
static void
count_servers(const struct batch *b, size_t i, const uint8_t *st)
{
	static const int of[] = {[S_FOUND] = T_FOUND,     [S_SAME] = T_FOUND,
	                         [S_DIFFERS] = T_DIFFERS, [S_ABSENT] = T_ABSENT,
	                         [S_UNREACHABLE] = T_UNREACHABLE, [S_STRAY] = T_STRAY, [S_TTL] = T_TTL};
	bool held = false;

	for (unsigned r = 0; r <= b->k; r++)
		held |= st[r] == S_FOUND;
	for (unsigned r = 0; r <= b->k; r++) {
		if (st[r] == S_UNREAD || (st[r] == S_ABSENT && !held))
			continue;
		totals[cell(b, i, r)->server * NTOTAL + (size_t)of[st[r]]]++;
	}
}

/* A key's last word: counted, reported, its memory freed. */
static void
settle_key(struct batch *b, size_t i)
{
	struct check *ch = &b->chk[i];

	if (ch->cls == C_DUP)
		return;
	tally.checked += ch->cls <= C_MISPLACED;
	tally.cls[ch->cls]++;
	tally.repaired += ch->outcome == R_REPAIRED;
	tally.skipped += ch->outcome == R_SKIPPED;
	tally.failed += ch->outcome == R_FAILED;
	tally.planned += ch->outcome == R_PLANNED;
	tally.fixed_keys += ch->outcome == R_REPAIRED && ch->cls != C_STRAY;
	tally.strays_removed += ch->unstrayed;
	uint8_t st[b->k + 1];
	for (unsigned r = 0; r <= b->k; r++)
		st[r] = ch->held ? ch->st[r] : state(b, i, r);
	count_servers(b, i, st);
	if (ch->cls != C_OK || mcr_verbose)
		report(b, i, st);
	free(ch->msg);
	ch->msg = NULL;
}

/* What a filled key's confirmation needs, kept in a temporary file: its class, how it was
 * listed, its source, then each copy's state as first reported and the CAS of each copy
 * added (0: none). */
struct held {
	enum class cls;
	enum mcr_listed where;
	int src;
	bool unstray; /* a key held only outside: its stray goes once the set holds it */
};

static struct mcr_spool held;

static size_t
held_size(unsigned k)
{
	return sizeof(struct held) + (k + 1) + (k + 1) * sizeof(uint64_t);
}

/* A key whose copies were added is held for the confirming pass at the end of the run: its
 * source is read again then, after a wait, and what was added taken back if the source has
 * changed or gone (an application's delete reaches the replicas before the primary). */
static void
hold_adds(struct batch *b, const size_t *row)
{
	unsigned char *rec = mcr_xcalloc(1, held_size(b->k));

	for (size_t i = 0; i < b->n; i++) {
		struct check *ch = &b->chk[i];
		if (!ch->filled || ch->outcome != R_REPAIRED)
			continue;
		struct held h = {ch->cls, ch->where, ch->src, ch->cls == C_MISPLACED && opt.remove_strays};
		uint8_t *st = rec + sizeof(h);
		uint64_t added[b->k + 1];
		for (unsigned r = 0; r <= b->k; r++) {
			const struct mcr_req *w = mcr_cell(&b->w, row[i], r);
			st[r] = state(b, i, r);
			added[r] = !w->skip && w->op == MCR_ADD && w->result == MCR_OK ? w->rcas : 0;
		}
		memcpy(rec, &h, sizeof(h));
		memcpy(st + b->k + 1, added, sizeof(added));
		mcr_spool_put(&held, &b->keys[i], rec, held_size(b->k));
		ch->cls = C_DUP; /* reported and counted once confirmed */
	}
	free(rec);
}

/* The confirming pass: every key held, its source read again after one wait for the run.
 * A source gone: the copies added from it are taken back (each only if unchanged since it
 * was added), the key skipped. A source that cannot be read again (down, or the run
 * interrupted) leaves the key repaired, and says it could not be confirmed. */
static void
confirm_held(struct batch *b, size_t batch)
{
	unsigned char *rec = mcr_xmalloc(held_size(b->k));
	uint64_t *added = mcr_xcalloc((size_t)batch * (b->k + 1), sizeof(*added));
	struct held *hs = mcr_xcalloc(batch, sizeof(*hs));
	/* the replicas' quiet deletes of a replicated delete wait in the application's write
	 * buffer for its next request to their server, and reach them after the primary's */
	if (held.n && !mcr_stop && opt.confirm_ms)
		usleep(opt.confirm_ms * 1000);
	mcr_spool_rewind(&held);
	for (;;) {
		for (b->n = 0; b->n < batch && mcr_sizer_room(&sizer, b->n); b->n++) {
			struct check *ch = &b->chk[b->n];
			if (!mcr_spool_get(&held, &b->keys[b->n], rec))
				break;
			mcr_sizer_add(&sizer, &b->keys[b->n], b->k + 1);
			memcpy(&hs[b->n], rec, sizeof(hs[b->n]));
			free(ch->st);
			memset(ch, 0, sizeof(*ch));
			ch->st = mcr_xmalloc(b->k + 1);
			memcpy(ch->st, rec + sizeof(struct held), b->k + 1);
			memcpy(added + b->n * (b->k + 1), rec + sizeof(struct held) + b->k + 1,
			       (b->k + 1) * sizeof(*added));
			ch->cls = hs[b->n].cls;
			ch->where = hs[b->n].where;
			ch->src = hs[b->n].src;
			ch->held = true;
			ch->outcome = R_REPAIRED;
		}
		if (b->n == 0)
			break;
		/* the source, and for a stray to go the whole set with it */
		load(b);
		for (size_t i = 0; i < b->n; i++)
			for (unsigned r = 0; r <= b->k; r++)
				cell(b, i, r)->skip = mcr_stop || !((int)r == hs[i].src || hs[i].unstray);
		if (!mcr_stop)
			mcr_fan_run(&b->f);
		mcr_fan_reset(&b->w);
		for (size_t i = 0; i < b->n; i++) {
			struct check *ch = &b->chk[i];
			const struct mcr_req *s = cell(b, i, (unsigned)ch->src);
			/* deleted: the copies added bring it back. Changed (another CAS): the application
			 * wrote it again, and its replicated write replaces the copies added */
			bool gone = s->result == MCR_NOTFOUND;
			mcr_fan_add(&b->w, b->keys[i].key, b->keys[i].klen, MCR_DELETE);
			for (unsigned r = 0; r <= b->k; r++) {
				struct mcr_req *w = mcr_cell(&b->w, i, r);
				uint64_t a = added[i * (b->k + 1) + r];
				w->server = cell(b, i, r)->server;
				w->skip = true;
				if (gone && a) {
					w->cas = a; /* each added copy taken back only if unchanged since */
					w->skip = false;
				} else if (!gone && s->result == MCR_OK && r == b->k && hs[i].unstray &&
				           set_holds_stray(&b->f, b->k, i)) {
					w->cas = s->rcas;
					w->skip = false;
				}
			}
			if (gone) {
				ch->outcome = R_SKIPPED;
				ch->why = "the source changed while it was being copied (a write or a delete in "
				          "flight): the copies made from it were taken back";
			} else if (s->result != MCR_OK) {
				ch->why = mcr_stop ? "not confirmed: the run was interrupted before the source was read again"
				                   : "not confirmed: the source could not be read again";
			}
		}
		if (!mcr_stop)
			mcr_fan_run(&b->w);
		for (size_t i = 0; i < b->n; i++) {
			for (unsigned r = 0; r <= b->k; r++) {
				struct mcr_req *w = mcr_cell(&b->w, i, r);
				if (w->skip)
					continue;
				b->chk[i].unstrayed |= r == b->k && (w->result == MCR_OK || w->result == MCR_NOTFOUND);
				if (w->result != MCR_OK && w->result != MCR_EXISTS && w->result != MCR_NOTFOUND)
					settle(&b->chk[i], w, NULL);
			}
			settle_key(b, i);
		}
		progress(false);
	}
	free(rec);
	free(added);
	free(hs);
}

static void
repair(struct batch *b)
{
	uint32_t *exptime = mcr_xcalloc(b->n, sizeof(*exptime));
	size_t *row = mcr_xcalloc(b->n, sizeof(*row));
	bool any = false;

	for (size_t i = 0; i < b->n; i++) {
		plan(b, i);
		any |= b->chk[i].src >= 0 || b->chk[i].unstray;
	}
	if (any) {
		read_ttls(b, exptime);
		write_copies(b, exptime, row);
		confirm_now(b, row);
		hold_adds(b, row);
	}
	free(exptime);
	free(row);
}

static void
save_cas(const struct batch *b, size_t i, uint64_t *cas)
{
	for (unsigned r = 0; r <= b->k; r++) {
		const struct mcr_req *q = cell(b, i, r);
		cas[r] = q->result == MCR_OK ? q->rcas : 0;
	}
}

/* The first read of a batch of keys: the ok ones are done; the others are put aside for
 * the second read (or reported now, when nothing asks for one). */
static void
first_read(struct batch *b, struct mcr_spool *aside)
{
	enum mcr_listed *where = mcr_xmalloc(b->n * sizeof(*where));
	size_t size = sizeof(struct aside) + (b->k + 1) * sizeof(uint64_t);
	unsigned char *rec = mcr_xcalloc(1, size);
	uint64_t *cas = mcr_xcalloc(b->k + 1, sizeof(*cas));
	bool later = opt.recheck_ms > 0 || opt.policy != P_NONE || opt.remove_strays;

	load(b);
	mcr_read_listed(&b->f, b->ks, b->keys, where, false);
	read_ttl_drift(b);
	for (size_t i = 0; i < b->n; i++) {
		memset(&b->chk[i], 0, sizeof(b->chk[i]));
		b->chk[i].where = where[i];
		classify(b, i);
	}
	first_outside(b);
	for (size_t i = 0; i < b->n; i++) {
		struct check *ch = &b->chk[i];
		struct aside a = {ch->where, ch->cls, ch->cls != C_UNRESOLVED};
		mcr_guard_count(&tally.guard, ch->where);
		if (ch->cls == C_DUP)
			continue;
		if (ch->cls == C_OK || (!later && ch->cls != C_UNRESOLVED)) {
			settle_key(b, i);
			continue;
		}
		/* the record is packed: the CAS values follow the header unaligned */
		save_cas(b, i, cas);
		memcpy(rec, &a, sizeof(a));
		memcpy(rec + sizeof(a), cas, (b->k + 1) * sizeof(*cas));
		mcr_spool_put(aside, &b->keys[i], rec, size);
	}
	free(where);
	free(rec);
	free(cas);
	progress(false);
}

/* The second read of the keys put aside: they are read whole again, classed, and repaired
 * only when every copy reads as it did the first time. A key put aside because a server
 * listed before could not be asked is asked again first. */
static void
second_read(struct batch *b)
{
	bool *want = mcr_xcalloc(b->n, sizeof(*want));
	enum mcr_listed *where = mcr_xmalloc(b->n * sizeof(*where));
	struct mcr_key *probe = mcr_xmalloc(b->n * sizeof(*probe));
	uint64_t *cas = mcr_xmalloc((b->k + 1) * sizeof(*cas));

	/* a key seen whole at the first read is read whole now; the others are probed again */
	for (size_t i = 0; i < b->n; i++) {
		probe[i] = b->keys[i];
		if (b->chk[i].again)
			probe[i].origin = b->chk[i].where == MCR_OUTSIDE ? b->keys[i].origin : SIZE_MAX;
	}
	load(b);
	mcr_read_listed(&b->f, b->ks, probe, where, false);
	read_ttl_drift(b);
	for (size_t i = 0; i < b->n; i++) {
		struct check *ch = &b->chk[i];
		if (!ch->again)
			ch->where = where[i];
		classify(b, i);
		if (ch->again) {
			save_cas(b, i, cas);
			ch->moving = memcmp(cas, b->cas0 + i * (b->k + 1), (b->k + 1) * sizeof(*cas)) != 0;
		} else if (ch->cls != C_OK && ch->cls != C_DUP && ch->cls != C_UNRESOLVED && writing()) {
			/* its first whole read: a repair needs a second one that agrees */
			save_cas(b, i, b->cas0 + i * (b->k + 1));
			want[i] = true;
		}
	}
	read_again(b, want);
	read_ttl_drift(b);
	for (size_t i = 0; i < b->n; i++) {
		if (!want[i])
			continue;
		save_cas(b, i, cas);
		b->chk[i].moving = memcmp(cas, b->cas0 + i * (b->k + 1), (b->k + 1) * sizeof(*cas)) != 0;
		classify(b, i);
	}
	if ((opt.policy != P_NONE || opt.remove_strays) && !tally.stopped)
		repair(b);
	for (size_t i = 0; i < b->n; i++)
		settle_key(b, i);
	free(want);
	free(where);
	free(probe);
	free(cas);
	progress(false);
}

/* The keys put aside, once the recheck delay has passed: one wait for the whole run. */
static void
recheck(struct batch *b, struct mcr_spool *aside, size_t batch)
{
	char buf[400];
	struct aside a;
	size_t size = sizeof(a) + (b->k + 1) * sizeof(uint64_t);
	unsigned char *rec;

	if (aside->n == 0)
		return;
	rec = mcr_xmalloc(size);
	/* the keys are still read and reported: only the writes are not made */
	if (writing() && mcr_guard_problem(&tally.guard, buf, sizeof(buf))) {
		tally.stopped = mcr_xstrdup(buf);
		mcr_warn("stopped before writing anything: %s", buf);
	}
	if (opt.recheck_ms)
		usleep(opt.recheck_ms * 1000);
	mcr_spool_rewind(aside);
	for (;;) {
		for (b->n = 0; b->n < batch && mcr_sizer_room(&sizer, b->n) && !mcr_stop; b->n++) {
			struct check *ch = &b->chk[b->n];
			if (!mcr_spool_get(aside, &b->keys[b->n], rec))
				break;
			mcr_sizer_add(&sizer, &b->keys[b->n], b->k + 1);
			memcpy(&a, rec, sizeof(a));
			memcpy(b->cas0 + b->n * (b->k + 1), rec + sizeof(a), (b->k + 1) * sizeof(uint64_t));
			memset(ch, 0, sizeof(*ch));
			ch->where = a.where;
			ch->first = a.first;
			ch->again = a.again;
		}
		if (b->n == 0)
			break;
		second_read(b);
	}
	free(rec);
}

static void
summary(enum mcr_format fmt, double secs)
{
	size_t ns = totals_of->nservers;
	const char *labels[ns];
	for (size_t s = 0; s < ns; s++)
		labels[s] = totals_of->servers[s].label;
	struct mcr_totals per = {labels, ns, total_names, NTOTAL, totals};
	struct mcr_field f[] = {
	    {"summary", MCR_F_STR, "summary", 7, 0},
	    {"checked", MCR_F_UINT, NULL, 0, tally.checked},
	    {"ok", MCR_F_UINT, NULL, 0, tally.cls[C_OK]},
	    {"missing", MCR_F_UINT, NULL, 0, tally.cls[C_MISSING]},
	    {"differ", MCR_F_UINT, NULL, 0, tally.cls[C_DIFFER]},
	    {"unreachable", MCR_F_UINT, NULL, 0, tally.cls[C_UNREACHABLE]},
	    {"misplaced", MCR_F_UINT, NULL, 0, tally.cls[C_MISPLACED]},
	    {"strays", MCR_F_UINT, NULL, 0, tally.cls[C_STRAY]},
	    {"unresolved", MCR_F_UINT, NULL, 0, tally.cls[C_UNRESOLVED]},
	    {"repaired", MCR_F_UINT, NULL, 0, tally.repaired},
	    {"skipped", MCR_F_UINT, NULL, 0, tally.skipped},
	    {"failed", MCR_F_UINT, NULL, 0, tally.failed},
	    {"would_repair", MCR_F_UINT, NULL, 0, tally.planned},
	    {"interrupted", MCR_F_BOOL, NULL, 0, tally.interrupted},
	    {"stopped", MCR_F_BOOL, NULL, 0, tally.stopped != NULL},
	    {"seconds", MCR_F_REAL, NULL, 0, (uint64_t)(secs * 1000)},
	    {"servers", MCR_F_TOTALS, (const char *)(const void *)&per, 0, 0}, /* json only */
	    {"unmatched", MCR_F_UINT, NULL, 0, tally.unmatched},                 /* with --match only */
	};

	if (mcr_quiet)
		return;
	/* -v, in text and tsv: each server's copies, a line each before the summary (json has them
	 * in the summary) */
	for (size_t s = 0; s < ns && mcr_verbose && fmt != MCR_JSON; s++) {
		const uint64_t *t = totals + s * NTOTAL;
		fputs(fmt == MCR_TSV ? "server\t" : "server ", stdout);
		mcr_fput_token(stdout, labels[s], strlen(labels[s]));
		for (size_t j = 0; j < NTOTAL; j++)
			if (fmt == MCR_TSV)
				printf("\t%llu", (unsigned long long)t[j]);
			else
				printf("%s %s %llu", j ? "," : ":", total_names[j], (unsigned long long)t[j]);
		putchar('\n');
	}
	if (fmt != MCR_TEXT) {
		mcr_emit(stdout, fmt, f, sizeof(f) / sizeof(f[0]) - !tally.matching);
		return;
	}
	printf("checked %llu key%s in %.3f s: ok %llu, missing %llu, differ %llu, unreachable %llu, misplaced "
	       "%llu",
	       (unsigned long long)tally.checked, tally.checked == 1 ? "" : "s", secs,
	       (unsigned long long)tally.cls[C_OK], (unsigned long long)tally.cls[C_MISSING],
	       (unsigned long long)tally.cls[C_DIFFER], (unsigned long long)tally.cls[C_UNREACHABLE],
	       (unsigned long long)tally.cls[C_MISPLACED]);
	if (tally.cls[C_STRAY])
		printf(", strays %llu", (unsigned long long)tally.cls[C_STRAY]);
	if (tally.cls[C_UNRESOLVED])
		printf(", unresolved %llu", (unsigned long long)tally.cls[C_UNRESOLVED]);
	if ((opt.policy != P_NONE || opt.remove_strays) && opt.dry_run)
		printf("; would repair %llu, would skip %llu", (unsigned long long)tally.planned,
		       (unsigned long long)tally.skipped);
	else if (opt.policy != P_NONE || opt.remove_strays)
		printf("; repaired %llu, skipped %llu, failed %llu", (unsigned long long)tally.repaired,
		       (unsigned long long)tally.skipped, (unsigned long long)tally.failed);
	if (tally.matching)
		printf("; %llu not matching", (unsigned long long)tally.unmatched);
	if (tally.stopped)
		printf("; stopped before writing");
	if (tally.interrupted)
		printf("; interrupted");
	putchar('\n');
}

static void
prometheus(const struct mcr_cluster *c, double secs, int status)
{
	char v[64];

#define NUM(x) (snprintf(v, sizeof(v), "%llu", (unsigned long long)(x)), v)
	prom.fp = promfile.fp;
	mcr_prom_help(&prom, "mcr_verify_keys", "gauge",
	              "Keys found in each class by the last mcrverify run; the classes add up to the keys checked.");
	for (int k = C_OK; k <= C_MISPLACED; k++)
		mcr_prom_sample(&prom, "mcr_verify_keys", "class", class_names[k], NULL, NULL, NUM(tally.cls[k]));
	mcr_prom_help(&prom, "mcr_verify_keys_checked", "gauge", "Keys checked by the last mcrverify run.");
	mcr_prom_sample(&prom, "mcr_verify_keys_checked", NULL, NULL, NULL, NULL, NUM(tally.checked));
	mcr_prom_help(&prom, "mcr_verify_copies", "gauge",
	              "Copies of the keys checked on each server, by state, in the last run.");
	for (size_t s = 0; s < c->nservers; s++)
		for (int t = 0; t < NTOTAL; t++)
			mcr_prom_sample(&prom, "mcr_verify_copies", "server", c->servers[s].label, "state", total_names[t],
			                NUM(totals[s * NTOTAL + (size_t)t]));
	mcr_prom_help(&prom, "mcr_verify_stray_copies", "gauge",
	              "Copies found outside their key's copy set by the last run.");
	mcr_prom_sample(&prom, "mcr_verify_stray_copies", NULL, NULL, NULL, NULL, NUM(tally.cls[C_STRAY]));
	mcr_prom_help(&prom, "mcr_verify_keys_unresolved", "gauge",
	              "Keys not checked: a server listed before could not be asked.");
	mcr_prom_sample(&prom, "mcr_verify_keys_unresolved", NULL, NULL, NULL, NULL, NUM(tally.cls[C_UNRESOLVED]));
	mcr_prom_help(&prom, "mcr_verify_repairs", "gauge", "Keys repaired, skipped or failed by the last run.");
	mcr_prom_sample(&prom, "mcr_verify_repairs", "result", "repaired", NULL, NULL, NUM(tally.repaired));
	mcr_prom_sample(&prom, "mcr_verify_repairs", "result", "skipped", NULL, NULL, NUM(tally.skipped));
	mcr_prom_sample(&prom, "mcr_verify_repairs", "result", "failed", NULL, NULL, NUM(tally.failed));
	mcr_prom_help(&prom, "mcr_verify_duration_seconds", "gauge", "How long the last run took.");
	snprintf(v, sizeof(v), "%.3f", secs);
	mcr_prom_sample(&prom, "mcr_verify_duration_seconds", NULL, NULL, NULL, NULL, v);
	mcr_prom_help(&prom, "mcr_verify_interrupted", "gauge",
	              "1 when the last run was interrupted or stopped before writing.");
	mcr_prom_sample(&prom, "mcr_verify_interrupted", NULL, NULL, NULL, NULL, NUM(tally.interrupted || tally.stopped));
	mcr_prom_help(&prom, "mcr_verify_exit_status", "gauge",
	              "Exit status of the last run (0 consistent, 1 not, 2 trouble).");
	mcr_prom_sample(&prom, "mcr_verify_exit_status", NULL, NULL, NULL, NULL, NUM(status));
	mcr_prom_help(&prom, "mcr_verify_last_run_timestamp_seconds", "gauge", "When the last run ended.");
	mcr_prom_sample(&prom, "mcr_verify_last_run_timestamp_seconds", NULL, NULL, NULL, NULL, NUM(time(NULL)));
#undef NUM
	mcr_outfile_close(&promfile, true);
}

/* The options' combinations, checked before anything is opened. */
static void
check_options(const struct mcr_opts *o, size_t nargs)
{
	if (o->all && (nargs || o->keys_file))
		mcr_usage_error("--all checks every key: give no KEY and no --keys-from");
	if (!o->all && !nargs && !o->keys_file)
		mcr_usage_error("no keys: give KEY operands, --keys-from=FILE or --all (try --help)");
	if (opt.dry_run && opt.policy == P_NONE && !opt.remove_strays)
		mcr_usage_error("--dry-run shows repairs: give --repair or --remove-strays too");
}

/* 2 trouble; 1 when keys or stray copies are left that are not as they should be (a key held
 * only outside its copy set leaves a stray copy even once repaired, unless it was removed). */
static int
exit_status(bool trouble)
{
	uint64_t keys = tally.cls[C_MISSING] + tally.cls[C_DIFFER] + tally.cls[C_MISPLACED];
	uint64_t strays = tally.cls[C_STRAY] + tally.cls[C_MISPLACED];

	if (tally.cls[C_UNREACHABLE] || tally.cls[C_UNRESOLVED] || trouble || tally.interrupted || tally.stopped)
		return MCR_TROUBLE;
	if (!writing())
		return keys || strays ? MCR_NO : MCR_YES;
	return keys > tally.fixed_keys || strays > tally.strays_removed ? MCR_NO : MCR_YES;
}

int
main(int argc, char **argv)
{
	struct mcr_tool tool = {"mcrverify", synopsis,
	                        "Check that every copy of every key holds the same value, and repair drift.",
	                        options, handle, true};
	struct mcr_opts o;
	struct mcr_cluster c;
	struct mcr_keysrc ks;
	struct mcr_spool aside = {0};
	struct batch b;
	int status, i;
	double secs;

	mcr_setprog(argv[0]);
	i = mcr_parse_options(&tool, &o, argc, argv);
	check_options(&o, (size_t)(argc - i));
	mcr_cluster_open(&c, &o);
	o.batch = mcr_batch_default(&o, c.nservers);
	if (writing())
		mcr_need_replicas(&c, opt.remove_strays && opt.policy == P_NONE ? "--remove-strays" : "--repair",
		                  "-r");
	if (opt.prometheus)
		mcr_outfile_open(&promfile, opt.prometheus, "--prometheus");
	else if (prom.nlabels)
		mcr_usage_error("--prometheus-label labels the metrics of --prometheus=FILE: give it too");
	mcr_keys_init(&ks, &o, argv + i, (size_t)(argc - i));

	memset(&b, 0, sizeof(b));
	mcr_fan_init(&b.f, &c, 1);
	mcr_fan_init(&b.w, &c, 1);
	mcr_fan_init(&b.v, &c, 1);
	mcr_fan_init(&b.p, &c, (unsigned)c.nservers);
	b.k = c.copies;
	b.fmt = o.format;
	b.ks = &ks;
	b.keys = mcr_xcalloc(o.batch, sizeof(*b.keys));
	b.chk = mcr_xcalloc(o.batch, sizeof(*b.chk));
	b.cas0 = mcr_xcalloc(o.batch * (b.k + 1), sizeof(*b.cas0));
	b.ttld = mcr_xcalloc(o.batch * (b.k + 1), sizeof(*b.ttld));
	totals = mcr_xcalloc(c.nservers * NTOTAL, sizeof(*totals));
	totals_of = &c;
	tally.guard.limit = o.misplaced_limit;
	tally.start = pace.start = mcr_now();
	pace.rate = o.rate;
	pace.show = o.progress;
	progress_of = &ks;
	mcr_sizer_init(&sizer, &o);
	for (;;) {
		for (b.n = 0; mcr_sizer_room(&sizer, b.n) && !mcr_stop && mcr_keys_next(&c, &ks, &b.keys[b.n]); b.n++)
			mcr_sizer_add(&sizer, &b.keys[b.n], b.k + 1);
		if (b.n == 0)
			break;
		first_read(&b, &aside);
	}
	if (!mcr_stop)
		recheck(&b, &aside, o.batch);
	confirm_held(&b, o.batch);
	tally.interrupted = mcr_stop != 0;
	if (tally.interrupted)
		mcr_warn("interrupted: the counts cover the keys checked so far");
	progress(true);
	secs = mcr_now() - tally.start;
	status = exit_status(ks.trouble);
	tally.matching = o.match != NULL;
	tally.unmatched = ks.unmatched;
	summary(o.format, secs);
	if (opt.prometheus)
		prometheus(&c, secs, status);

	mcr_spool_close(&aside);
	mcr_spool_close(&held);
	for (size_t j = 0; j < o.batch; j++)
		free(b.chk[j].st);
	mcr_fan_free(&b.f);
	mcr_fan_free(&b.w);
	mcr_fan_free(&b.v);
	mcr_fan_free(&b.p);
	free(b.keys);
	free(b.chk);
	free(b.cas0);
	free(b.ttld);
	free(totals);
	mcr_keys_close(&ks);
	mcr_cluster_close(&c);
	mcr_finish_stdout();
	return status;
}
