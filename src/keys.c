/* SPDX-License-Identifier: ISC */
/* Key sources shared by mcrverify and mcrcopy: operands, a file of percent-encoded keys,
 * or every key on every server, server by server in list order; filtered to one shard. Keys
 * stream through one fixed-size slot at a time, so memory does not grow with the data set.
 * And the rule that handles a key listed by several servers once. */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mcr.h"

void
mcr_keys_init(struct mcr_keysrc *ks, const struct mcr_opts *o, char **args, size_t nargs)
{
	memset(ks, 0, sizeof(*ks));
	ks->args = args;
	ks->nargs = nargs;
	ks->file = o->keys_file;
	ks->all = o->all;
	ks->shard = o->shard;
	ks->nshards = o->nshards;
	ks->match = o->match;
}

/* --match: the key as the application names it (without the namespace); a key holding a
 * NUL byte matches no pattern */
static bool
matches(const char *pattern, struct mcr_key *k)
{
	if (!pattern)
		return true;
	if (memchr(k->key, '\0', k->klen))
		return false;
	k->key[k->klen] = '\0';
	return fnmatch(pattern, k->key, 0) == 0;
}

/* A key left out is not read, so it is counted without I/O: a named key once, a listed key
 * where a consistent cluster lists it first (the first of its copies in list order; a copy
 * outside its set, where it comes before them). */
static bool
counted_once(const struct mcr_cluster *c, const struct mcr_key *k)
{
	size_t idx[c->copies], first = SIZE_MAX;

	if (k->origin == SIZE_MAX)
		return true;
	for (unsigned r = mcr_place(c, k->key, k->klen, idx); r-- > 0;)
		if (idx[r] < first)
			first = idx[r];
	return k->origin <= first;
}

/* A named key (operand, key file) is in shard I of N by its hash: the split depends on the
 * key alone. */
static bool
in_shard(const struct mcr_keysrc *ks, const char *k, size_t n)
{
	return ks->nshards == 0 || mcr_fnv1a(k, n) % ks->nshards == ks->shard - 1;
}

/* With --all, shard I of N lists only its share of the servers, [n(I-1)/N, nI/N) in list
 * order: N shards list each server once. A key listed there is the shard's by the first-listing
 * rule (no server of its copy set before the one listing it holds it: those of other shards
 * are asked), so the shards still cover every key once. */
static bool
lists_server(const struct mcr_keysrc *ks, size_t nservers, size_t s)
{
	if (ks->nshards == 0)
		return true;
	return s >= (ks->shard - 1) * nservers / ks->nshards && s < ks->shard * nservers / ks->nshards;
}

#define KEY_LINE_MAX  (3 * MCR_KEY_MAX + 1) /* a key percent-encoded byte by byte, and a \r */
#define LIST_LINE_MAX 8192                  /* the spool holds what listing.c took, lines of 4 KiB */

/* One key line of a -k file, without its line end; returns NULL or what is wrong. */
static const char *
file_key(const struct mcr_cluster *c, const char *line, size_t len, struct mcr_key *k)
{
	if (mcr_pct_decode(line, len, k->key, MCR_KEY_MAX, &k->klen) < 0)
		return memchr(line, '%', len) ? "bad percent-encoding or key over 250 bytes"
		                              : "key over 250 bytes";
	return mcr_key_problem(c, k->key, k->klen);
}

/* The next line of fp, at most max bytes before its \n (or \r\n, which a key file written on
 * another system has: the \r goes too), into ks->line; NULL at the end of the input, or
 * with *why when the line is too long or cannot be read. */
static char *
next_line(struct mcr_keysrc *ks, FILE *fp, size_t max, size_t *len, const char **why)
{
	size_t n = 0;
	int ch;

	*why = NULL;
	if (!ks->line)
		ks->line = mcr_xmalloc((ks->linecap = LIST_LINE_MAX + 1));
	while ((ch = getc_unlocked(fp)) != EOF && ch != '\n') {
		if (n == max) {
			*why = "line too long (a key is at most 250 bytes, 750 percent-encoded)";
			return NULL;
		}
		ks->line[n++] = (char)ch;
	}
	if (ch == EOF && ferror(fp)) {
		*why = strerror(errno);
		return NULL;
	}
	if (ch == EOF && n == 0)
		return NULL;
	if (n > 0 && ks->line[n - 1] == '\r')
		n--;
	*len = n;
	return ks->line;
}

/* A line of a listing's spool, without its line end. listing.c wrote it, at most 4 KiB, so
 * getline(3) reads it whole (and faster than a byte at a time). */
static char *
spool_line(struct mcr_keysrc *ks, FILE *fp, size_t *len, const char **why)
{
	ssize_t n = getline(&ks->line, &ks->linecap, fp);

	*why = NULL;
	if (n < 0) {
		if (ferror(fp))
			*why = strerror(errno);
		return NULL;
	}
	if (n > 0 && ks->line[n - 1] == '\n')
		n--;
	if (n > 0 && ks->line[n - 1] == '\r')
		n--;
	*len = (size_t)n;
	return ks->line;
}

/* The key file opened; a regular file is checked whole before any key is used: bad input
 * sends nothing. A directory, or a file that cannot be read, is trouble too. */
static void
open_file(const struct mcr_cluster *c, struct mcr_keysrc *ks)
{
	struct stat st;
	struct mcr_key k;
	const char *why;
	char *line;
	size_t len, no = 0;

	if (!(ks->fp = mcr_open_input(ks->file)))
		mcr_usage_error("%s: %s", ks->file, strerror(errno));
	if (fstat(fileno(ks->fp), &st) < 0 || !S_ISREG(st.st_mode))
		return;
	while ((line = next_line(ks, ks->fp, KEY_LINE_MAX, &len, &why)) != NULL) {
		ks->total = ++no;
		if (len && (why = file_key(c, line, len, &k)) != NULL)
			mcr_usage_error("%s:%zu: %s", ks->file, no, why);
	}
	if (why)
		mcr_usage_error("%s:%zu: %s", ks->file, no + 1, why);
	rewind(ks->fp);
}

/* In place (qsort may take a copy as large as the set) and in O(n log n) whatever the keys:
 * a heap sort, for one bucket of a set (below). */
static void
sift(uint64_t *v, size_t i, size_t n)
{
	uint64_t x = v[i];

	for (size_t c; (c = 2 * i + 1) < n; i = c) {
		if (c + 1 < n && v[c + 1] > v[c])
			c++;
		if (v[c] <= x)
			break;
		v[i] = v[c];
	}
	v[i] = x;
}

static void
heap_sort(uint64_t *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift(v, i, n);
	for (size_t m = n; m-- > 1;) {
		uint64_t t = v[0];
		v[0] = v[m];
		v[m] = t;
		sift(v, 0, m);
	}
}

#define SMALL_BUCKET 32 /* sorted by insertion up to this many */

/* The bucket of fingerprint x: its top bits (fingerprints are hashes, spread evenly). */
static size_t
bucket(const struct mcr_lister *ld, uint64_t x)
{
	return ld->bits ? (size_t)(x >> (64 - ld->bits)) : 0;
}

/* Sorts the set in place, bucket by bucket, and keeps each bucket's start (ld->idx, one
 * 32-bit offset per 8 to 16 fingerprints, a 16th of the set's memory at most, and as much
 * again while sorting): a lookup then searches one bucket of a few fingerprints, not the
 * whole set, which was a tenth of the client's time in a listing run. The buckets
 * are filled by moving each fingerprint along the cycle of places it displaces (in place:
 * the set may be tens of MiB); a bucket a crafted key list made large is heap sorted. */
static void
sort_set(struct mcr_lister *ld)
{
	uint64_t *v = ld->set;
	size_t n = ld->nset, nb;
	uint32_t *next;

	ld->bits = 0;
	while (ld->bits < 24 && ((size_t)16 << ld->bits) < n)
		ld->bits++;
	nb = (size_t)1 << ld->bits;
	free(ld->idx);
	ld->idx = mcr_xcalloc(nb + 1, sizeof(*ld->idx));
	next = mcr_xcalloc(nb, sizeof(*next));
	for (size_t j = 0; j < n; j++)
		ld->idx[bucket(ld, v[j]) + 1]++;
	for (size_t b = 0; b < nb; b++) {
		next[b] = ld->idx[b];
		ld->idx[b + 1] += ld->idx[b];
	}
	for (size_t b = 0; b < nb; b++)
		while (next[b] < ld->idx[b + 1]) {
			uint64_t x = v[next[b]];
			size_t d;
			while ((d = bucket(ld, x)) != b) {
				uint64_t t = v[next[d]];
				v[next[d]++] = x;
				x = t;
			}
			v[next[b]++] = x;
		}
	free(next);
	for (size_t b = 0; b < nb; b++) {
		uint64_t *w = v + ld->idx[b];
		size_t m = ld->idx[b + 1] - ld->idx[b];
		if (m > SMALL_BUCKET) {
			heap_sort(w, m);
			continue;
		}
		for (size_t j = 1; j < m; j++) {
			uint64_t x = w[j];
			size_t k = j;
			for (; k > 0 && w[k - 1] > x; k--)
				w[k] = w[k - 1];
			w[k] = x;
		}
	}
}

/* Is x in the set? A binary search of its bucket. */
static bool
in_sorted_set(const struct mcr_lister *ld, uint64_t x)
{
	if (!ld->idx)
		return false; /* no set: it could not be read back */
	size_t b = bucket(ld, x), lo = ld->idx[b], hi = ld->idx[b + 1];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ld->set[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ld->idx[b + 1] && ld->set[lo] == x;
}

/* How many fingerprints a server's listing kept; -1 when its file cannot say. */
static int
fps_count(struct mcr_lister *ld, size_t *n)
{
	long end;

	if (fflush(ld->fps) == EOF || fseek(ld->fps, 0, SEEK_END) < 0 || (end = ftell(ld->fps)) < 0)
		return -1;
	*n = (size_t)end / sizeof(uint64_t);
	return 0;
}

/* Is a listed key, by its fingerprint, handled in this pass over the listings? */
static bool
in_pass(const struct mcr_keysrc *ks, uint64_t fp)
{
	return ks->passes <= 1 || fp % ks->passes == ks->pass;
}

/* Server s's fingerprints of this pass, read back: counted (set NULL), or stored into set,
 * which the count sized: the set takes what it needs and no more. Returns how many, or -1. */
static long
read_fps(struct mcr_lister *ld, const struct mcr_keysrc *ks, uint64_t *set, size_t cap)
{
	uint64_t buf[4096];
	size_t got, n = 0;

	rewind(ld->fps);
	while ((got = fread(buf, sizeof(*buf), sizeof(buf) / sizeof(*buf), ld->fps)) > 0)
		for (size_t i = 0; i < got; i++)
			if (ld->whole || in_pass(ks, buf[i])) {
				if (set && n < cap)
					set[n] = buf[i];
				n++;
			}
	return ferror(ld->fps) || (set && n != cap) ? -1 : (long)n;
}

/* Server s's fingerprints of this pass (every pass's, once it is whole), sorted, into its
 * lister's set: membership then answers "did s list this key" without asking s. Returns -1,
 * the set left empty, when they cannot be read back. */
static int
load_set(struct mcr_lister *ld, const struct mcr_keysrc *ks)
{
	long n;

	free(ld->set);
	free(ld->idx);
	ld->set = NULL;
	ld->idx = NULL;
	ld->nset = 0;
	if (fflush(ld->fps) == EOF || (n = read_fps(ld, ks, NULL, 0)) < 0)
		return -1;
	if ((uint64_t)n > UINT32_MAX) {
		errno = EFBIG; /* sort_set's offsets are 32 bits: 32 GiB of fingerprints */
		return -1;
	}
	ld->set = mcr_xmalloc((n ? (size_t)n : 1) * sizeof(*ld->set));
	if (read_fps(ld, ks, ld->set, (size_t)n) < 0) {
		free(ld->set);
		ld->set = NULL;
		return -1;
	}
	ld->nset = (size_t)n;
	sort_set(ld);
	return 0;
}

/* The sets of the servers whose listings decide the rule (known), and of those seen
 * restarted, for this pass. */
static void
load_pass(struct mcr_cluster *c, struct mcr_keysrc *ks)
{
	for (size_t s = 0; s < c->nservers; s++) {
		struct mcr_lister *ld = &ks->listed[s];
		if (!ld->known || ld->whole)
			continue; /* a restarted server's set is whole already */
		if (load_set(ld, ks) < 0) {
			mcr_warn("%s: cannot read the key list's fingerprints back: %s", c->servers[s].label,
			         strerror(errno));
			ks->trouble = true;
			ld->known = false; /* asked instead */
		}
	}
}

/* When the listings' fingerprints (all but the last server's: no key is listed after it) fit
 * MCR_KNOWN_MAX bytes, each is loaded once, sorted: the first-listing rule is then decided by
 * what each server listed, without asking it. When they fit MCR_PASSES_MAX times that, the
 * listings are read in as many passes, each handling the keys whose fingerprint falls in its
 * share and loading only that share of the fingerprints: memory stays bounded, and a few
 * reads of the temporary files cost less than a probe per key. Above that, the servers are
 * asked (a probe per key and earlier server). */
static void
load_sets(struct mcr_cluster *c, struct mcr_keysrc *ks)
{
	size_t total = 0, last = SIZE_MAX, *n = mcr_xcalloc(c->nservers, sizeof(*n));
	const char *env = getenv("MCR_KNOWN_MAX"); /* the tests' way to passes, or to the servers asked */
	uint64_t max = MCR_KNOWN_MAX, per;

	if (env && mcr_parse_uint(env, MCR_KNOWN_MAX, &max) < 0)
		max = MCR_KNOWN_MAX;
	per = max / sizeof(uint64_t);

	for (size_t s = 0; s < c->nservers; s++) {
		struct mcr_lister *ld = &ks->listed[s];
		if (!ld->done)
			continue;
		if (fps_count(ld, &n[s]) < 0)
			goto out;
		ks->total += n[s]; /* for --progress */
		last = s;
	}
	for (size_t s = 0; s < c->nservers; s++)
		if (s != last)
			total += n[s];
	if (total > per * MCR_PASSES_MAX) {
		mcr_trace("first-listing rule: the servers are asked (%zu keys listed)", total);
		goto out;
	}
	ks->passes = total <= per ? 1 : (unsigned)((total + per - 1) / per);
	ks->total *= ks->passes;
	for (size_t s = 0; s < c->nservers; s++)
		ks->listed[s].known = ks->listed[s].done && s != last;
	load_pass(c, ks);
	mcr_trace("first-listing rule decided by the listings' fingerprints (%zu keys, %zu KiB%s%u passes)", total,
	          total * sizeof(uint64_t) / 1024, ks->passes > 1 ? ", in " : "; ", ks->passes);
out:
	free(n);
}

/* The end of a server's listing in this pass; its spool is kept for the next pass, unless
 * it broke (what it still held is lost: the run is trouble). */
static void
listing_end(struct mcr_keysrc *ks, bool broken)
{
	struct mcr_listing *l = &ks->listing[ks->server];

	if (l->spool && (broken || ks->pass + 1 >= ks->passes)) {
		fclose(l->spool);
		l->spool = NULL;
	}
	ks->server++;
}

/* The next pass over the listings, if any: every spool read again from its start, with the
 * fingerprints of that pass's share. */
static bool
next_pass(struct mcr_cluster *c, struct mcr_keysrc *ks)
{
	if (ks->pass + 1 >= ks->passes)
		return false;
	ks->pass++;
	ks->server = 0;
	for (size_t s = 0; s < c->nservers; s++)
		if (ks->listing[s].spool)
			rewind(ks->listing[s].spool);
	load_pass(c, ks);
	mcr_trace("pass %u of %u over the listings", ks->pass + 1, ks->passes);
	return true;
}

/* Every server listed at once, into temporary files: a listing takes as long as the slowest
 * server's, not the sum of them. A listing that failed on a stall or a restart is tried once
 * more, a timeout later. */
static void
list_all(struct mcr_cluster *c, struct mcr_keysrc *ks)
{
	bool *want = mcr_xcalloc(c->nservers, sizeof(*want)), again = false;

	ks->listing = mcr_xcalloc(c->nservers, sizeof(*ks->listing));
	ks->nlisted = c->nservers;
	ks->listed = mcr_xcalloc(ks->nlisted, sizeof(*ks->listed));
	size_t mine = 0;
	for (size_t s = 0; s < c->nservers; s++)
		mine += want[s] = lists_server(ks, c->nservers, s);
	if (ks->nshards)
		mcr_trace("shard %llu/%llu lists %zu of the %zu servers", (unsigned long long)ks->shard,
		          (unsigned long long)ks->nshards, mine, c->nservers);
	mcr_list_servers(c, want, ks->listing);
	for (size_t s = 0; s < c->nservers; s++)
		again |= want[s] = !ks->listing[s].spool && ks->listing[s].again;
	if (again) {
		usleep(c->timeout_ms * 1000);
		mcr_list_servers(c, want, ks->listing);
	}
	for (size_t s = 0; s < c->nservers; s++) {
		struct mcr_listing *l = &ks->listing[s];
		struct mcr_lister *ld = &ks->listed[s];
		if (!lists_server(ks, c->nservers, s))
			continue; /* another shard's: asked, never listed */
		if (!l->spool) {
			mcr_warn("%s: cannot list keys: %s", c->servers[s].label, l->why);
			ks->trouble = ld->failed = true;
			continue;
		}
		ld->done = true;
		ld->fps = l->fps; /* kept until the run ends */
		l->fps = NULL;
		ld->pid = l->pid;
		ld->started = l->started;
	}
	load_sets(c, ks);
	free(want);
}

static int
listed_next(struct mcr_cluster *c, struct mcr_keysrc *ks, struct mcr_key *k)
{
	size_t len;
	char *line;
	const char *why;

	if (!ks->listing)
		list_all(c, ks);
	while (ks->server < c->nservers || next_pass(c, ks)) {
		struct mcr_listing *l = &ks->listing[ks->server];
		if (!l->spool) {
			ks->server++;
			continue;
		}
		if ((line = spool_line(ks, l->spool, &len, &why)) == NULL) {
			if (why) {
				mcr_warn("%s: cannot list keys: the temporary file: %s",
				         c->servers[ks->server].label, why);
				ks->trouble = true;
			}
			listing_end(ks, why != NULL);
			continue;
		}
		ks->seen++;
		if (ks->passes > 1 && !in_pass(ks, mcr_metadump_fp(line, len)))
			continue; /* another pass's */
		if (mcr_metadump_line(line, len, k) < 0) {
			char *shown = mcr_key_shown(line, len);
			mcr_warn("%s: cannot list keys: unexpected line \"%s\"", c->servers[ks->server].label,
			         shown);
			free(shown);
			ks->trouble = true;
			listing_end(ks, true);
			continue;
		}
		k->origin = ks->server;
		k->expires = k->exp <= 0 ? k->exp : k->exp - l->clock_offset;
		if (k->exp > 0 && k->expires < 1)
			k->expires = 1; /* long past on our clock (a server whose clock is far ahead) */
		/* only keys of this namespace belong to the application */
		if (c->nslen) {
			if (k->klen <= c->nslen || memcmp(k->key, c->ns, c->nslen)) {
				ks->skipped_foreign++;
				continue;
			}
			memmove(k->key, k->key + c->nslen, k->klen - c->nslen);
			k->klen -= c->nslen;
		}
		return 1;
	}
	return 0;
}

int
mcr_keys_next(struct mcr_cluster *c, struct mcr_keysrc *ks, struct mcr_key *k)
{
	for (;;) {
		k->origin = SIZE_MAX;
		k->exp = k->expires = 0;
		if (ks->next < ks->nargs) {
			const char *a = ks->args[ks->next++];
			k->klen = strlen(a);
			mcr_check_key(c, a, k->klen);
			memcpy(k->key, a, k->klen);
		} else if (ks->file) {
			char *line;
			size_t len;
			const char *why;
			if (!ks->fp)
				open_file(c, ks);
			if ((line = next_line(ks, ks->fp, KEY_LINE_MAX, &len, &why)) == NULL) {
				/* a read error ends the keys as trouble; only a bad line is bad usage */
				if (why && ferror(ks->fp)) {
					mcr_warn("%s: %s", ks->file, why);
					ks->trouble = true;
				} else if (why) {
					mcr_usage_error("%s:%zu: %s", ks->file, ks->lineno + 1, why);
				}
				if (ks->fp != stdin)
					fclose(ks->fp);
				ks->fp = NULL;
				ks->file = NULL;
				continue;
			}
			ks->lineno++;
			ks->seen++;
			if (len == 0)
				continue; /* a blank line, \r\n ones too */
			if ((why = file_key(c, line, len, k)) != NULL)
				mcr_usage_error("%s:%zu: %s", ks->file, ks->lineno, why);
		} else if (ks->all) {
			if (!listed_next(c, ks, k))
				return 0;
		} else {
			return 0;
		}
		if (k->origin == SIZE_MAX && !in_shard(ks, k->key, k->klen))
			continue; /* a listed key is the shard's by the server that listed it */
		if (matches(ks->match, k))
			return 1;
		if (counted_once(c, k))
			ks->unmatched++;
	}
}

void
mcr_keys_close(struct mcr_keysrc *ks)
{
	for (size_t i = 0; ks->listing && i < ks->nlisted; i++)
		if (ks->listing[i].spool)
			fclose(ks->listing[i].spool);
	free(ks->listing);
	if (ks->fp && ks->fp != stdin)
		fclose(ks->fp);
	free(ks->line);
	for (size_t i = 0; ks->listed && i < ks->nlisted; i++) {
		if (ks->listed[i].fps)
			fclose(ks->listed[i].fps);
		free(ks->listed[i].set);
		free(ks->listed[i].idx);
	}
	free(ks->listed);
}

/* What the listing says of key i of the fan (k, its expiry) holds for the value s read: the
 * copy that listed it is unchanged since (the CAS metadump gave), and is s or holds the same
 * value and flags (another copy of the same write). */
bool
mcr_listing_holds(const struct mcr_fan *f, size_t i, const struct mcr_key *k, const struct mcr_req *s)
{
	for (unsigned r = 0; r < f->k && k->cas; r++) {
		const struct mcr_req *q = mcr_cell(f, i, r);
		if (q->server == k->origin && q->result == MCR_OK && q->rcas == k->cas && (q == s || mcr_same_value(q, s)))
			return true;
	}
	return false;
}

/* Where key i of the fan, listed by server origin, stands before anything is read. */
enum mcr_listed
mcr_listed_where(const struct mcr_fan *f, size_t i, size_t origin)
{
	if (origin == SIZE_MAX)
		return MCR_UNLISTED;
	for (unsigned r = 0; r < f->k; r++)
		if (mcr_cell(f, i, r)->server == origin)
			return MCR_HERE;
	return MCR_OUTSIDE;
}

/* What server s's fingerprints of this pass say of a key: 1 listed, 0 not, -1 they cannot
 * tell (the key is another pass's: a batch that began in the last pass, or a key read again
 * after every pass). */
static int
in_set(const struct mcr_cluster *c, const struct mcr_keysrc *ks, const struct mcr_lister *ld, const char *key,
       size_t klen)
{
	char full[2 * MCR_KEY_MAX];
	uint64_t fp;

	memcpy(full, c->ns ? c->ns : "", c->nslen);
	memcpy(full + c->nslen, key, klen);
	fp = mcr_fnv1a(full, c->nslen + klen);
	if (!ld->whole && !in_pass(ks, fp))
		return -1;
	return in_sorted_set(ld, fp);
}

/* Does server s's listing, known, decide for this key? */
static bool
decides(const struct mcr_cluster *c, const struct mcr_keysrc *ks, size_t s, const struct mcr_req *q)
{
	return ks->listed[s].known && (ks->passes <= 1 || in_set(c, ks, &ks->listed[s], q->key, q->klen) >= 0);
}

/* A probe: a copy of key i on a server listed before the one that listed it (and listed
 * whole: a server that could not be listed handled no key) whose fingerprints do not decide. */
static bool
probe(const struct mcr_fan *f, const struct mcr_keysrc *ks, size_t i, unsigned r, size_t origin)
{
	size_t s = r < f->k ? mcr_cell(f, i, r)->server : SIZE_MAX;

	return s < origin &&
	       !(ks && ks->listed && (ks->listed[s].failed || decides(f->c, ks, s, mcr_cell(f, i, r))));
}

/* Key i listed by origin: was it listed, by their fingerprints, by a server of its copy set
 * listed before origin whose listing is known? A copy the caller skips is not asked either
 * way (--rebuild: the server rebuilt handles no key). */
static bool
known_earlier(const struct mcr_fan *f, const struct mcr_keysrc *ks, size_t i, size_t origin)
{
	for (unsigned r = 0; r < f->k && ks && ks->listed; r++) {
		const struct mcr_req *q = mcr_cell(f, i, r);
		const struct mcr_lister *ld = &ks->listed[q->server];
		if (!q->skip && q->server < origin && ld->known && in_set(f->c, ks, ld, q->key, q->klen) == 1)
			return true;
	}
	return false;
}

/* Has server s restarted since it was listed? It is asked (stats: its pid and start time)
 * once per batch in which it said "not found" to a probe; once it has, what it listed is
 * read back from its fingerprints, since it can no longer tell. A server that cannot say
 * (its stats unanswered: the probes and the stats go on different connections, and one may
 * reach a new process while the other cannot) leaves asked[s] set: its "not found" answers
 * of this batch prove nothing. */
static void
check_restarts(struct mcr_cluster *c, struct mcr_keysrc *ks, bool *asked)
{
	struct mcr_req *q = mcr_xcalloc(c->nservers, sizeof(*q));
	int64_t pid, up, now;

	for (size_t s = 0; s < c->nservers; s++)
		q[s] = (struct mcr_req){.server = s, .op = MCR_STATS, .skip = !asked[s]};
	mcr_run(c, q, c->nservers);
	for (size_t s = 0; s < c->nservers; s++) {
		struct mcr_lister *ld = &ks->listed[s];
		if (asked[s] && q[s].result == MCR_OK && mcr_stat(q[s].rval, q[s].rlen, "pid", &pid) &&
		    mcr_stat(q[s].rval, q[s].rlen, "uptime", &up) && mcr_stat(q[s].rval, q[s].rlen, "time", &now) &&
		    (pid != ld->pid || now - up > ld->started + 1)) {
			mcr_trace("%s: restarted since it was listed", c->servers[s].label);
			/* whole: it can no longer say, for a key of any pass, a batch straddling two, or
			 * a key read again at the end */
			ld->whole = true;
			/* what it listed cannot be read back: taken as having listed nothing */
			(void)load_set(ld, ks);
			ld->restarted = true;
		}
		asked[s] = asked[s] && q[s].result != MCR_OK; /* unsure: it could not say */
		mcr_req_clear(&q[s]);
	}
	free(q);
}

/* Did server s list key i? For a server restarted since its listing, by its fingerprints
 * (-1: they cannot tell, the key being another pass's); otherwise by what it answered to the
 * probe. */
static int
listed_by(const struct mcr_fan *f, const struct mcr_keysrc *ks, size_t i, unsigned r)
{
	const struct mcr_req *q = mcr_cell(f, i, r);
	const struct mcr_lister *ld = ks && ks->listed ? &ks->listed[q->server] : NULL;

	if (!ld || !ld->restarted)
		return q->result == MCR_OK;
	return in_set(f->c, ks, ld, q->key, q->klen);
}

/* Reads every request of the fan not skipped, keys[i] being key i. For a key listed by a
 * server of its copy set, the copies on servers listed before that one go first: if one
 * holds the key, the key was handled at that earlier listing (v[i] = MCR_EARLIER) and
 * nothing more is read for it; if one of them cannot answer, nobody can tell (MCR_UNKNOWN)
 * and nothing more is read either, unless unknown_here. Handling a key at its first listing, rather than its
 * last, means a server restarted later in the run cannot hide it. Every copy read for a key
 * that stays here is read whole (a GET), never left as a probe's bare "found". */
void
mcr_read_listed(struct mcr_fan *f, struct mcr_keysrc *ks, const struct mcr_key *keys, enum mcr_listed *v,
                bool unknown_here)
{
	size_t n = f->n * f->width;
	bool *skip = mcr_xmalloc(n * sizeof(*skip)), *probed = mcr_xcalloc(f->n, sizeof(*probed)), more = false;
	/* pr[j]: cell j is a probe, decided once before anything is sent: a restart seen on the
	 * way loads the server's whole set, which would change the answer of probe() */
	bool *pr = mcr_xcalloc(n, sizeof(*pr));

	for (size_t j = 0; j < n; j++)
		skip[j] = f->req[j].skip;
	for (size_t i = 0; i < f->n; i++) {
		v[i] = mcr_listed_where(f, i, keys[i].origin);
		if (v[i] == MCR_HERE && known_earlier(f, ks, i, keys[i].origin)) {
			v[i] = MCR_EARLIER; /* nothing to read */
			for (unsigned r = 0; r < f->width; r++)
				mcr_cell(f, i, r)->skip = true;
		}
		if (v[i] != MCR_HERE)
			continue;
		for (unsigned r = 0; r < f->k; r++)
			probed[i] |= pr[i * f->width + r] = !skip[i * f->width + r] && probe(f, ks, i, r, keys[i].origin);
		if (probed[i])
			for (unsigned r = 0; r < f->width; r++) {
				struct mcr_req *q = mcr_cell(f, i, r);
				q->skip = !pr[i * f->width + r];
				if (!q->skip && q->op == MCR_GET)
					q->op = MCR_HAS; /* the answer is all a probe needs, not the value */
			}
	}
	mcr_fan_run(f);
	for (size_t j = 0; j < n; j++)
		if (f->req[j].op == MCR_HAS)
			f->req[j].op = MCR_GET;
	/* a server that says it does not hold a key may have restarted since it listed it */
	bool *asked = mcr_xcalloc(f->c->nservers, sizeof(*asked)), ask = false;
	for (size_t i = 0; i < f->n && ks && ks->listed; i++)
		for (unsigned r = 0; r < f->k && probed[i]; r++) {
			const struct mcr_req *q = mcr_cell(f, i, r);
			if (pr[i * f->width + r] && q->result == MCR_NOTFOUND && ks->listed[q->server].done &&
			    !ks->listed[q->server].restarted)
				ask = asked[q->server] = true;
		}
	if (ask)
		check_restarts(f->c, ks, asked);
	for (size_t i = 0; i < f->n; i++) {
		bool unknown = false;
		for (unsigned r = 0; r < f->width && probed[i]; r++) {
			const struct mcr_req *q = mcr_cell(f, i, r);
			if (!pr[i * f->width + r])
				continue;
			int by = listed_by(f, ks, i, r);
			if (by == 1)
				v[i] = MCR_EARLIER;
			else if (by < 0 || (q->result != MCR_NOTFOUND && q->result != MCR_OK) ||
			         (q->result == MCR_NOTFOUND && asked[q->server]))
				unknown = true;
		}
		/* no answer from a server listed before: it may have handled the key, or not;
		 * unknown_here: the caller would rather handle it twice than not at all */
		if (v[i] == MCR_HERE && unknown && !unknown_here)
			v[i] = MCR_UNKNOWN;
		if (!probed[i] || v[i] != MCR_HERE) {
			for (unsigned r = 0; r < f->width; r++)
				mcr_cell(f, i, r)->skip = true;
			continue;
		}
		/* the rest is read now; a probe that found the key is read again whole: it said
		 * only that the copy is there (a server restarted since its listing, which did
		 * not list the key, or one whose fingerprints cannot tell), and the copy's value,
		 * flags and CAS are what the caller compares or copies */
		for (unsigned r = 0; r < f->width; r++) {
			struct mcr_req *q = mcr_cell(f, i, r);
			q->skip = skip[i * f->width + r] || (pr[i * f->width + r] && q->result != MCR_OK);
			more |= !q->skip;
		}
	}
	if (more)
		mcr_fan_run(f);
	for (size_t j = 0; j < n; j++)
		f->req[j].skip = skip[j];
	free(asked);
	free(skip);
	free(probed);
	free(pr);
}

/* One listing of a key (before any dedupe: every copy a server listed counts). */
void
mcr_guard_count(struct mcr_guard *g, enum mcr_listed v)
{
	g->listed += v != MCR_UNLISTED;
	g->outside += v == MCR_OUTSIDE;
}

const char *
mcr_guard_problem(const struct mcr_guard *g, char *buf, size_t size)
{
	if (g->listed == 0 || g->outside * 100 <= (uint64_t)g->limit * g->listed)
		return NULL;
	snprintf(buf, size,
	         "%llu of the %llu copies listed (%llu%%, more than --misplaced-limit=%u) are outside their "
	         "key's copy set: the settings likely differ from the application's (the replica count -r, "
	         "--distribution, --hash, --namespace or the order of the servers)",
	         (unsigned long long)g->outside, (unsigned long long)g->listed,
	         (unsigned long long)(g->outside * 100 / g->listed), g->limit);
	return buf;
}

void
mcr_spool_put(struct mcr_spool *s, const struct mcr_key *k, const void *extra, size_t size)
{
	if (!s->fp) {
		if (!(s->fp = mcr_tmpfile()))
			mcr_die(MCR_TROUBLE, "cannot create a temporary file: %s", strerror(errno));
		s->extra = size;
	}
	if (fwrite(k, sizeof(*k), 1, s->fp) != 1 || (size && fwrite(extra, size, 1, s->fp) != 1))
		mcr_die(MCR_TROUBLE, "cannot write a temporary file: %s", strerror(errno));
	s->n++;
}

void
mcr_spool_rewind(struct mcr_spool *s)
{
	if (s->fp && (fflush(s->fp) == EOF || fseek(s->fp, 0, SEEK_SET) < 0))
		mcr_die(MCR_TROUBLE, "cannot read a temporary file back: %s", strerror(errno));
}

bool
mcr_spool_get(struct mcr_spool *s, struct mcr_key *k, void *extra)
{
	if (!s->fp || fread(k, sizeof(*k), 1, s->fp) != 1)
		return false;
	if (s->extra && fread(extra, s->extra, 1, s->fp) != 1)
		mcr_die(MCR_TROUBLE, "cannot read a temporary file back: %s", strerror(errno));
	return true;
}

void
mcr_spool_close(struct mcr_spool *s)
{
	if (s->fp)
		fclose(s->fp);
	memset(s, 0, sizeof(*s));
}

/* Keys per batch: --batch, or 500, or 64 per server when that is more. A round trip waits for
 * its slowest server, and every server of a large cluster must be woken for every round:
 * with 64 servers, batches of 4096 keys take -k twice as fast as batches of 500. */
size_t
mcr_batch_default(const struct mcr_opts *o, size_t nservers)
{
	size_t n = o->batch;

	if (!o->batch_given)
		n = nservers > 100000 / 64 ? 100000 : nservers * 64 > 500 ? nservers * 64 : 500;

	mcr_trace("batches of up to %zu keys and %zu bytes of values", n, o->batch_bytes);
	return n;
}

void
mcr_sizer_init(struct mcr_sizer *z, const struct mcr_opts *o)
{
	z->budget = o->batch_bytes ? o->batch_bytes : MCR_BATCH_BYTES;
	z->max = o->batch;
	z->used = 0;
}

/* Is there room for key n (0-based) of the batch? The first always fits. */
bool
mcr_sizer_room(struct mcr_sizer *z, size_t n)
{
	if (n == 0)
		z->used = 0;
	return n == 0 || (n < z->max && z->used < z->budget);
}

void
mcr_sizer_add(struct mcr_sizer *z, const struct mcr_key *k, unsigned copies)
{
	size_t v = k->size               ? (size_t)k->size
	           : !mcr_value_seen     ? (size_t)1 << 20
	           : mcr_value_largest;
	mcr_sizer_bytes(z, (v + 64) * copies); /* 64: what a request and its reply cost besides */
}

void
mcr_sizer_bytes(struct mcr_sizer *z, size_t bytes)
{
	z->used += bytes;
}

double
mcr_keys_fraction(const struct mcr_keysrc *ks)
{
	if (ks->total) /* a key file's lines, or the listings' */
		return (double)ks->seen / (double)ks->total;
	return ks->nargs && !ks->file && !ks->all ? (double)ks->next / (double)ks->nargs : -1;
}
