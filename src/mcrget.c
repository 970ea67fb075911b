/* SPDX-License-Identifier: ISC */
/* mcrget: read a key with fallback across its copies, or show every copy side by side. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mcr.h"

enum { O_OUTPUT = 500, O_ALL, O_WHERE, O_COPY, O_SERVER };

static const struct mcr_option options[] = {
    {"output", 'o', "FILE", "write the value to FILE (one key)", O_OUTPUT},
    {"all", 0, NULL, "show every copy side by side", O_ALL},
    {"where", 0, NULL, "print the copy servers in order, without reading", O_WHERE},
    {"copy", 0, "N", "read copy N only (0 is the primary)", O_COPY},
    {"server", 0, "HOST:PORT", "read from this server only", O_SERVER},
    {NULL, 0, NULL, NULL, 0},
};

static const char *const synopsis[] = {"KEY...", NULL};

static struct {
	const char *output;
	bool all, where;
	const char *copy;
	const char *server;
} opt;

static void
handle(int id, const char *arg)
{
	switch (id) {
	case O_OUTPUT: opt.output = arg; break;
	case O_ALL: opt.all = true; break;
	case O_WHERE: opt.where = true; break;
	case O_COPY: opt.copy = arg; break;
	case O_SERVER: opt.server = arg; break;
	}
}

/* What one key came to: the request that found it, or why not. */
struct answer {
	const char *key;
	size_t klen;
	const struct mcr_req *hit; /* the copy that answered with the value */
	int status;
};

static int
worst(int a, int b)
{
	return a > b ? a : b;
}

static void
where(const struct mcr_cluster *c, struct answer *a, size_t n, enum mcr_format fmt)
{
	size_t *idx = mcr_xcalloc(c->copies, sizeof(*idx));
	char role[32];

	for (size_t i = 0; i < n; i++) {
		unsigned k = mcr_place(c, a[i].key, a[i].klen, idx);
		for (unsigned r = 0; r < k; r++) {
			const char *label = c->servers[idx[r]].label;
			mcr_role(r, role, sizeof(role));
			struct mcr_field f[] = {
			    {"key", MCR_F_KEY, a[i].key, a[i].klen, 0},
			    {"server", MCR_F_STR, label, strlen(label), 0},
			    {"role", MCR_F_STR, role, strlen(role), 0},
			};
			mcr_emit(stdout, fmt, f, 3);
		}
	}
	free(idx);
}

static bool
same(const struct mcr_req *a, const struct mcr_req *b)
{
	if (a->result != b->result)
		return false;
	if (a->result != MCR_OK)
		return true;
	return mcr_same_value(a, b);
}

/* --all: every copy of every key side by side. */
static int
all(struct mcr_fan *f, struct answer *a, size_t n, enum mcr_format fmt)
{
	const struct mcr_cluster *c = f->c;
	char role[32];
	int status = MCR_YES;

	struct mcr_fan t;

	for (size_t i = 0; i < n; i++)
		mcr_fan_add(f, a[i].key, a[i].klen, MCR_GET);
	mcr_fan_run(f);
	/* the remaining time to live of each copy found (mg: the ASCII protocol; unknown where it
	 * cannot go, as to a server that requires SASL) */
	mcr_fan_init(&t, f->c, 0);
	for (size_t i = 0; i < n; i++) {
		mcr_fan_add(&t, a[i].key, a[i].klen, MCR_TTL);
		for (unsigned r = 0; r < f->k; r++) {
			const struct mcr_req *q = mcr_cell(f, i, r);
			bool sasl = c->username && c->servers[q->server].port;
			mcr_cell(&t, i, r)->skip = q->result != MCR_OK || sasl;
		}
	}
	mcr_fan_run(&t);
	for (size_t i = 0; i < n; i++) {
		const struct mcr_req *p = mcr_cell(f, i, 0);
		bool answered = false;
		for (unsigned r = 0; r < f->k; r++) {
			const struct mcr_req *q = mcr_cell(f, i, r);
			const char *label = c->servers[q->server].label, *word = mcr_result_word(q->result, q->op);
			const char *sm = NULL;
			bool found = q->result == MCR_OK;
			const struct mcr_req *tq = mcr_cell(&t, i, r);
			bool ttl = found && !tq->skip && tq->result == MCR_OK;
			bool known = q->result == MCR_OK || q->result == MCR_NOTFOUND;

			if (r > 0 && known && (p->result == MCR_OK || p->result == MCR_NOTFOUND))
				sm = same(p, q) ? "yes" : "no";
			answered |= known;
			if (!found || (sm && *sm == 'n'))
				status = worst(status, MCR_NO);
			mcr_role(r, role, sizeof(role));
			struct mcr_field fl[] = {
			    {"key", MCR_F_KEY, a[i].key, a[i].klen, 0},
			    {"server", MCR_F_STR, label, strlen(label), 0},
			    {"role", MCR_F_STR, role, strlen(role), 0},
			    {"status", MCR_F_STR, word, strlen(word), 0},
			    {"flags", found ? MCR_F_UINT : MCR_F_STR, NULL, 0, q->rflags},
			    {"size", found ? MCR_F_UINT : MCR_F_STR, NULL, 0, q->rlen},
			    {"cas", found ? MCR_F_UINT : MCR_F_STR, NULL, 0, q->rcas},
			    {"ttl", ttl ? MCR_F_INT : MCR_F_STR, NULL, 0, (uint64_t)(ttl ? tq->ttl : 0)},
			    {"same", MCR_F_STR, sm, sm ? strlen(sm) : 0, 0},
			    {"message", MCR_F_MSG, q->msg, q->msg ? strlen(q->msg) : 0, 0},
			};
			mcr_emit(stdout, fmt, fl, sizeof(fl) / sizeof(fl[0]));
		}
		/* one copy down is a copy not found; every copy down is an outage, not a miss */
		if (!answered)
			status = MCR_TROUBLE;
	}
	mcr_fan_free(&t);
	return status;
}

/* Normal reads: copy 0 of every key, then copy 1 of the keys still unanswered, and so on.
 * With `only` >= 0, that copy alone; with `server` set, that server alone. */
static void
fetch(struct mcr_fan *f, struct answer *a, size_t n, long only, const size_t *server)
{
	const struct mcr_cluster *c = f->c;
	char role[32];

	for (size_t i = 0; i < n; i++) {
		mcr_fan_add(f, a[i].key, a[i].klen, MCR_GET);
		for (unsigned r = 0; r < f->width; r++) {
			struct mcr_req *q = mcr_cell(f, i, r);
			if (server && r == f->k)
				q->server = *server;
			q->skip = server ? r != f->k : only >= 0 ? r != (unsigned)only : r >= f->k;
		}
	}
	if (server || only >= 0)
		mcr_fan_run(f);
	else
		mcr_fan_fallback(f);
	for (size_t i = 0; i < n; i++) {
		unsigned answered = 0, unanswered = 0;
		char *key = mcr_key_display(a[i].key, a[i].klen);
		for (unsigned r = 0; r < f->width; r++) {
			const struct mcr_req *q = mcr_cell(f, i, r);
			if (q->result == MCR_UNSENT)
				continue;
			answered += q->result == MCR_NOTFOUND;
			unanswered += q->result != MCR_NOTFOUND && q->result != MCR_OK;
			if (mcr_verbose) {
				mcr_role(only >= 0 ? (unsigned)only : r, role, sizeof(role));
				mcr_warn("%s: %s (%s): %s%s%s", key, c->servers[q->server].label,
				         server ? "server" : role, mcr_result_word(q->result, q->op),
				         q->msg ? ": " : "", q->msg ? q->msg : "");
			}
			if (q->result == MCR_OK)
				a[i].hit = q;
		}
		/* a key is not found only when every copy said so: an outage is never a miss */
		a[i].status = a[i].hit ? MCR_YES : answered && !unanswered ? MCR_NO : MCR_TROUBLE;
		for (unsigned r = 0; r < f->width && a[i].status == MCR_TROUBLE && !mcr_quiet; r++) {
			const struct mcr_req *q = mcr_cell(f, i, r);
			if (q->result != MCR_UNSENT && q->result != MCR_NOTFOUND)
				mcr_warn("%s: cannot read from %s: %s", key, c->servers[q->server].label,
				         q->msg ? q->msg : mcr_result_word(q->result, q->op));
		}
		if (a[i].status == MCR_TROUBLE && answered)
			mcr_warn("%s: not found on %u cop%s, and %u could not be read: not known to be missing", key,
			         answered, answered == 1 ? "y" : "ies", unanswered);
		free(key);
	}
}

/* --output: opened before anything is read, renamed over FILE only when the key was found */
static struct mcr_outfile output;

static void
print(const struct mcr_cluster *c, const struct answer *a, size_t n, enum mcr_format fmt)
{
	FILE *out = opt.output ? output.fp : stdout;

	for (size_t i = 0; i < n; i++) {
		const struct mcr_req *q = a[i].hit;
		const char *status = a[i].status == MCR_YES  ? "found"
		                     : a[i].status == MCR_NO ? "not-found"
		                                             : "unreachable";
		if (fmt == MCR_TEXT) {
			if (q) {
				fwrite(q->rval, 1, q->rlen, out);
				if (n > 1)
					putc('\n', out);
			} else if (a[i].status == MCR_NO && !mcr_quiet) {
				char *key = mcr_key_display(a[i].key, a[i].klen);
				fprintf(stderr, "%s: %s: not found\n", mcr_prog, key);
				free(key);
			}
			continue;
		}
		const char *label = q ? c->servers[q->server].label : NULL;
		struct mcr_field f[] = {
		    {"key", MCR_F_KEY, a[i].key, a[i].klen, 0},
		    {"status", MCR_F_STR, status, strlen(status), 0},
		    {"flags", q ? MCR_F_UINT : MCR_F_STR, NULL, 0, q ? q->rflags : 0},
		    {"server", MCR_F_STR, label, label ? strlen(label) : 0, 0},
		    {"value", MCR_F_VALUE, q ? q->rval : NULL, q ? q->rlen : 0, 0},
		};
		mcr_emit(out, fmt, f, 5);
	}
	if (opt.output)
		mcr_outfile_close(&output, a[0].status == MCR_YES);
}

int
main(int argc, char **argv)
{
	struct mcr_tool tool = {"mcrget", synopsis, "Read keys from a replicated memcached cluster, copy by copy.",
	                        options, handle, false};
	struct mcr_opts o;
	struct mcr_cluster c;
	struct mcr_fan f;
	struct answer *a;
	size_t n, server = 0;
	long only = -1;
	int status = MCR_YES, i;

	mcr_setprog(argv[0]);
	i = mcr_parse_options(&tool, &o, argc, argv);
	argc -= i;
	argv += i;
	if (opt.all + opt.where + !!opt.copy + !!opt.server > 1)
		mcr_usage_error("--all, --where, --copy and --server: give at most one");
	if (argc < 1)
		mcr_usage_error("missing KEY (try --help)");
	if (opt.output && (argc > 1 || opt.all || opt.where))
		mcr_usage_error("--output takes the value of one key");
	mcr_cluster_open(&c, &o);
	if (opt.copy)
		only = (long)mcr_number("--copy", opt.copy, 0, c.copies - 1);
	if (opt.server)
		server = mcr_server_add(&c, opt.server);
	n = (size_t)argc;
	a = mcr_xcalloc(n, sizeof(*a));
	for (size_t j = 0; j < n; j++) {
		a[j].key = argv[j];
		a[j].klen = strlen(argv[j]);
		mcr_check_key(&c, a[j].key, a[j].klen);
	}
	if (opt.output)
		mcr_outfile_open(&output, opt.output, "--output");
	if (opt.where) {
		where(&c, a, n, o.format);
	} else if (opt.all) {
		mcr_fan_init(&f, &c, 0);
		status = all(&f, a, n, o.format);
		mcr_fan_free(&f);
	} else {
		mcr_fan_init(&f, &c, 1);
		fetch(&f, a, n, only, opt.server ? &server : NULL);
		print(&c, a, n, o.format);
		for (size_t j = 0; j < n; j++)
			status = worst(status, a[j].status);
		mcr_fan_free(&f);
	}
	free(a);
	mcr_cluster_close(&c);
	mcr_finish_stdout();
	if (mcr_stop) {
		mcr_warn("interrupted");
		status = MCR_TROUBLE;
	}
	return status;
}
