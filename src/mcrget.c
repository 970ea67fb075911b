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
handle(int id, const char *arg, void *ctx)
{
	(void)ctx;
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
	struct mcr_req hit; /* the copy that answered with the value */
	bool found;
	bool answered; /* some copy said "not found" */
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
	return a->rflags == b->rflags && a->rlen == b->rlen && !memcmp(a->rval, b->rval, a->rlen);
}

/* --all: every copy of every key, read at once. */
static int
all(struct mcr_cluster *c, struct answer *a, size_t n, enum mcr_format fmt)
{
	unsigned k = c->copies;
	struct mcr_req *reqs = mcr_xcalloc(n * k, sizeof(*reqs));
	size_t *idx = mcr_xcalloc(k, sizeof(*idx));
	char role[32];
	int status = MCR_YES;

	for (size_t i = 0; i < n; i++) {
		mcr_place(c, a[i].key, a[i].klen, idx);
		for (unsigned r = 0; r < k; r++) {
			struct mcr_req *q = &reqs[i * k + r];
			q->server = idx[r];
			q->op = MCR_GET;
			q->key = a[i].key;
			q->klen = a[i].klen;
		}
	}
	mcr_run(c, reqs, n * k);
	for (size_t i = 0; i < n; i++) {
		const struct mcr_req *p = &reqs[i * k];
		bool answered = false;
		for (unsigned r = 0; r < k; r++) {
			const struct mcr_req *q = &reqs[i * k + r];
			const char *label = c->servers[q->server].label,
			           *word = mcr_result_word(q->result, q->op);
			const char *sm = NULL;
			bool found = q->result == MCR_OK;
			bool known = q->result == MCR_OK || q->result == MCR_NOTFOUND;

			if (r > 0 && known && (p->result == MCR_OK || p->result == MCR_NOTFOUND))
				sm = same(p, q) ? "yes" : "no";
			answered |= known;
			if (!found || (sm && *sm == 'n'))
				status = worst(status, MCR_NO);
			mcr_role(r, role, sizeof(role));
			struct mcr_field f[] = {
			    {"key", MCR_F_KEY, a[i].key, a[i].klen, 0},
			    {"server", MCR_F_STR, label, strlen(label), 0},
			    {"role", MCR_F_STR, role, strlen(role), 0},
			    {"status", MCR_F_STR, word, strlen(word), 0},
			    {"flags", found ? MCR_F_UINT : MCR_F_STR, NULL, 0, q->rflags},
			    {"size", found ? MCR_F_UINT : MCR_F_STR, NULL, 0, q->rlen},
			    {"cas", found ? MCR_F_UINT : MCR_F_STR, NULL, 0, q->rcas},
			    {"same", MCR_F_STR, sm, sm ? strlen(sm) : 0, 0},
			    {"message", MCR_F_MSG, q->msg, q->msg ? strlen(q->msg) : 0, 0},
			};
			mcr_emit(stdout, fmt, f, sizeof(f) / sizeof(f[0]));
		}
		/* one copy down is a copy not found; every copy down is an outage, not a miss */
		if (!answered)
			status = MCR_TROUBLE;
	}
	for (size_t i = 0; i < n * k; i++)
		mcr_req_clear(&reqs[i]);
	free(reqs);
	free(idx);
	return status;
}

/* Normal reads: copy 0 of every key, then copy 1 of the keys still unanswered, and so on.
 * With `only` >= 0, that copy alone; with `server` set, that server alone. */
static void
fetch(struct mcr_cluster *c, struct answer *a, size_t n, long only, const size_t *server)
{
	unsigned k = c->copies;
	struct mcr_req *reqs = mcr_xcalloc(n * k, sizeof(*reqs));
	size_t *idx = mcr_xmalloc(n * k * sizeof(*idx));
	size_t *batch = mcr_xmalloc(n * sizeof(*batch));
	struct mcr_req *round = mcr_xcalloc(n, sizeof(*round));
	char role[32];

	for (size_t i = 0; i < n; i++)
		mcr_place(c, a[i].key, a[i].klen, idx + i * k);
	for (unsigned r = 0; r < k; r++) {
		size_t m = 0;
		if ((only >= 0 || server) && r > 0)
			break;
		for (size_t i = 0; i < n; i++) {
			if (a[i].found)
				continue;
			struct mcr_req *q = &reqs[i * k + r];
			q->server = server ? *server : idx[i * k + (only >= 0 ? (unsigned)only : r)];
			q->op = MCR_GET;
			q->key = a[i].key;
			q->klen = a[i].klen;
			round[m] = *q;
			batch[m++] = i;
		}
		if (m == 0)
			break;
		mcr_run(c, round, m);
		for (size_t j = 0; j < m; j++) {
			size_t i = batch[j];
			struct mcr_req *q = &reqs[i * k + r];
			*q = round[j];
			memset(&round[j], 0, sizeof(round[j]));
			if (mcr_verbose) {
				char *key = mcr_key_display(q->key, q->klen);
				mcr_role(only >= 0 ? (unsigned)only : r, role, sizeof(role));
				if (!mcr_quiet)
					fprintf(stderr, "%s: %s: %s (%s): %s%s%s\n", mcr_prog, key,
					        c->servers[q->server].label, server ? "server" : role,
					        mcr_result_word(q->result, q->op), q->msg ? ": " : "",
					        q->msg ? q->msg : "");
				free(key);
			}
			if (q->result == MCR_OK) {
				a[i].hit = *q; /* the value moves to the answer */
				a[i].found = true;
				q->rval = NULL;
			} else if (q->result == MCR_NOTFOUND)
				a[i].answered = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		a[i].status = a[i].found ? MCR_YES : a[i].answered ? MCR_NO : MCR_TROUBLE;
		if (a[i].status != MCR_TROUBLE)
			continue;
		/* an outage is never a miss: say what each copy did */
		char *key = mcr_key_display(a[i].key, a[i].klen);
		for (unsigned r = 0; r < k; r++) {
			struct mcr_req *q = &reqs[i * k + r];
			if (q->result != MCR_PENDING && !mcr_quiet)
				fprintf(stderr, "%s: %s: cannot read from %s: %s\n", mcr_prog, key,
				        c->servers[q->server].label,
				        q->msg ? q->msg : mcr_result_word(q->result, q->op));
		}
		free(key);
	}
	for (size_t i = 0; i < n * k; i++)
		mcr_req_clear(&reqs[i]);
	free(reqs);
	free(idx);
	free(batch);
	free(round);
}

static void
print(const struct mcr_cluster *c, const struct answer *a, size_t n, enum mcr_format fmt)
{
	FILE *out = stdout;

	if (opt.output && !(out = fopen(opt.output, "wb")))
		mcr_die(MCR_TROUBLE, "%s: %s", opt.output, strerror(errno));
	for (size_t i = 0; i < n; i++) {
		const struct mcr_req *q = a[i].found ? &a[i].hit : NULL;
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
	if (out != stdout && fclose(out) == EOF)
		mcr_die(MCR_TROUBLE, "%s: %s", opt.output, strerror(errno));
}

int
main(int argc, char **argv)
{
	struct mcr_tool tool = {
	    "mcrget", synopsis, "Read keys from a replicated memcached cluster, copy by copy.",
	    options,  handle,   NULL};
	struct mcr_opts o;
	struct mcr_cluster c;
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
	if (opt.where) {
		where(&c, a, n, o.format);
	} else if (opt.all) {
		status = all(&c, a, n, o.format);
	} else {
		fetch(&c, a, n, only, opt.server ? &server : NULL);
		print(&c, a, n, o.format);
		for (size_t j = 0; j < n; j++) {
			status = worst(status, a[j].status);
			mcr_req_clear(&a[j].hit);
		}
	}
	free(a);
	mcr_cluster_close(&c);
	mcr_finish_stdout();
	return status;
}
