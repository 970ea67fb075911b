/* SPDX-License-Identifier: ISC */
/* The fan-out: for a batch of keys, one request per copy, placed as libmemcached places
 * them, each with its own skip flag and its own answer. Tools say what each key needs
 * (which op, which copies, which value); how copies are reached lives here and in the
 * engine, once. */
#include <stdlib.h>
#include <string.h>

#include "mcr.h"

/* extra: request slots per key beyond its copies, for the tool's own use. */
void
mcr_fan_init(struct mcr_fan *f, struct mcr_cluster *c, unsigned extra)
{
	memset(f, 0, sizeof(*f));
	f->c = c;
	f->k = c->copies;
	f->width = c->copies + extra;
	f->idx = mcr_xcalloc(f->k, sizeof(*f->idx));
}

struct mcr_req *
mcr_cell(const struct mcr_fan *f, size_t key, unsigned copy)
{
	return &f->req[key * f->width + copy];
}

/* Two answers hold the same value: the same bytes and flags. An empty value, or a probe's
 * answer, has no bytes (rval NULL). */
bool
mcr_same_value(const struct mcr_req *a, const struct mcr_req *b)
{
	return a->rflags == b->rflags && a->rlen == b->rlen && (a->rlen == 0 || !memcmp(a->rval, b->rval, a->rlen));
}

/* A key: op on every copy, nothing skipped; the extra slots skipped until the tool sets them.
 * Returns the key's index. key must live as long as the fan's answers are used. */
size_t
mcr_fan_add(struct mcr_fan *f, const char *key, size_t klen, enum mcr_op op)
{
	size_t i = f->n++;

	if (f->n > f->cap) {
		size_t old = f->cap;
		f->cap = f->cap ? f->cap * 2 : 64;
		f->req = mcr_xrealloc(f->req, f->cap * f->width * sizeof(*f->req));
		memset(f->req + old * f->width, 0, (f->cap - old) * f->width * sizeof(*f->req));
	}
	mcr_place(f->c, key, klen, f->idx);
	for (unsigned r = 0; r < f->width; r++) {
		struct mcr_req *q = mcr_cell(f, i, r);
		mcr_req_clear(q);
		*q = (struct mcr_req){.server = r < f->k ? f->idx[r] : 0,
		                      .op = op,
		                      .skip = r >= f->k,
		                      .key = key,
		                      .klen = klen};
	}
	return i;
}

/* The same value, flags and exptime for every copy of key i. */
void
mcr_fan_value(struct mcr_fan *f, size_t i, const void *val, size_t vlen, uint32_t flags, uint32_t exptime)
{
	for (unsigned r = 0; r < f->width; r++) {
		struct mcr_req *q = mcr_cell(f, i, r);
		q->val = val;
		q->vlen = vlen;
		q->flags = flags;
		q->exptime = exptime;
	}
}

/* Every request not skipped, all servers at once; the others keep their answers. */
void
mcr_fan_run(struct mcr_fan *f)
{
	mcr_run(f->c, f->req, f->n * f->width);
}

/* Reads with fallback, as libmemcached reads but past a miss or an error: copy 0 of every
 * key not skipped, then the next copy of the keys not yet found, and so on. The copies
 * not read keep result MCR_UNSENT. */
void
mcr_fan_fallback(struct mcr_fan *f)
{
	size_t n = f->n * f->width;
	bool *skip = mcr_xmalloc(n * sizeof(*skip));
	bool *found = mcr_xcalloc(f->n, sizeof(*found));

	for (size_t j = 0; j < n; j++)
		skip[j] = f->req[j].skip;
	for (unsigned r = 0; r < f->k; r++) {
		bool any = false;
		for (size_t i = 0; i < f->n; i++)
			for (unsigned s = 0; s < f->width; s++) {
				struct mcr_req *q = mcr_cell(f, i, s);
				q->skip = s != r || skip[i * f->width + s] || found[i];
				any |= !q->skip;
			}
		if (!any)
			continue;
		mcr_fan_run(f);
		for (size_t i = 0; i < f->n; i++)
			found[i] |= mcr_cell(f, i, r)->result == MCR_OK;
	}
	for (size_t j = 0; j < n; j++)
		f->req[j].skip = skip[j];
	free(skip);
	free(found);
}

/* No keys; every answer freed, the memory kept for the next batch. */
void
mcr_fan_reset(struct mcr_fan *f)
{
	for (size_t i = 0; i < f->n * f->width; i++)
		mcr_req_clear(&f->req[i]);
	f->n = 0;
}

void
mcr_fan_free(struct mcr_fan *f)
{
	mcr_fan_reset(f);
	free(f->req);
	free(f->idx);
	memset(f, 0, sizeof(*f));
}
