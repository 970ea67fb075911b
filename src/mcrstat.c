/* SPDX-License-Identifier: ISC */
/* mcrstat: the cluster at a glance, server by server: reachable or not, which memcached, how
 * long up and whether it restarted since a given time, how full, how much it evicts, and
 * the share of the copies placement gives it beside the share of the items it holds. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcr.h"

enum { O_SINCE = 500, O_SAMPLE };

static const struct mcr_option options[] = {
    {"since", 0, "TIME", "a restart after TIME (unix time, or 30m, 2h, 1d ago) is reported", O_SINCE},
    {"sample", 0, "N", "keys hashed to measure placement's shares (default 100000)", O_SAMPLE},
    {NULL, 0, NULL, NULL, 0},
};

static const char *const synopsis[] = {"", NULL};

static struct {
	int64_t since; /* unix time, 0: none */
	uint64_t sample;
} opt = {.sample = 100000};

/* TIME: a unix time, or a duration ago: N followed by s, m, h or d. */
static int64_t
since(const char *arg)
{
	size_t n = strlen(arg);
	uint64_t v, unit = 0;
	char num[24];

	if (n > 1 && strchr("smhd", arg[n - 1])) {
		unit = arg[n - 1] == 's' ? 1 : arg[n - 1] == 'm' ? 60 : arg[n - 1] == 'h' ? 3600 : 86400;
		n--;
	}
	if (n == 0 || n >= sizeof(num))
		mcr_usage_error("--since: \"%s\" is not a unix time nor a duration (30m, 2h, 1d)", mcr_key_shown(arg, strlen(arg)));
	snprintf(num, sizeof(num), "%.*s", (int)n, arg);
	if (mcr_parse_uint(num, unit ? UINT32_MAX : INT64_MAX, &v) < 0)
		mcr_usage_error("--since: \"%s\" is not a unix time nor a duration (30m, 2h, 1d)", mcr_key_shown(arg, strlen(arg)));
	return unit ? (int64_t)time(NULL) - (int64_t)(v * unit) : (int64_t)v;
}

static void
handle(int id, const char *arg)
{
	switch (id) {
	case O_SINCE: opt.since = since(arg); break;
	case O_SAMPLE: opt.sample = mcr_number("--sample", arg, 1, 100000000); break;
	}
}

/* What one server said. */
struct server {
	bool up;
	const char *why;
	char version[32];
	int64_t pid, uptime, now, items, bytes, limit, evictions, connections;
	bool restarted; /* started after --since */
	double share;   /* of the copies, by placement */
	double holds;   /* of the items the servers hold */
};

/* Placement's share of the copies for each server: sample keys hashed as the application
 * hashes them (libmemcached's own code). */
static void
shares(const struct mcr_cluster *c, struct server *sv)
{
	size_t *idx = mcr_xcalloc(c->copies, sizeof(*idx)), n = c->nservers;
	uint64_t *count = mcr_xcalloc(n, sizeof(*count)), total = 0;
	char key[32];

	for (uint64_t i = 0; i < opt.sample; i++) {
		int kl = snprintf(key, sizeof(key), "mcrstat:%llu", (unsigned long long)i);
		unsigned k = mcr_place(c, key, (size_t)kl, idx);
		for (unsigned r = 0; r < k; r++)
			count[idx[r]]++;
		total += k;
	}
	for (size_t s = 0; s < n; s++)
		sv[s].share = total ? (double)count[s] / (double)total : 0;
	free(idx);
	free(count);
}

static void
ask(struct mcr_cluster *c, struct server *sv)
{
	struct mcr_req *q = mcr_xcalloc(c->nservers, sizeof(*q));
	int64_t items = 0, started;

	for (size_t s = 0; s < c->nservers; s++)
		q[s] = (struct mcr_req){.server = s, .op = MCR_STATS};
	mcr_run(c, q, c->nservers);
	for (size_t s = 0; s < c->nservers; s++) {
		struct server *v = &sv[s];
		const char *st = q[s].rval;
		size_t len = q[s].rlen;
		v->up = q[s].result == MCR_OK;
		if (!v->up) {
			v->why = mcr_xstrdup(q[s].msg ? q[s].msg : mcr_result_word(q[s].result, q[s].op));
			continue;
		}
		mcr_stat(st, len, "pid", &v->pid);
		mcr_stat(st, len, "uptime", &v->uptime);
		mcr_stat(st, len, "time", &v->now);
		mcr_stat(st, len, "curr_items", &v->items);
		mcr_stat(st, len, "bytes", &v->bytes);
		mcr_stat(st, len, "limit_maxbytes", &v->limit);
		mcr_stat(st, len, "evictions", &v->evictions);
		mcr_stat(st, len, "curr_connections", &v->connections);
		const char *ver = strstr(st, "STAT version ");
		if (ver) {
			size_t vl = strcspn(ver + 13, "\n");
			char *t = mcr_server_text(ver + 13, vl < sizeof(v->version) ? vl : sizeof(v->version) - 1);
			snprintf(v->version, sizeof(v->version), "%s", t);
			free(t);
		}
		started = v->now - v->uptime;
		v->restarted = opt.since && started > opt.since;
		items += v->items;
	}
	for (size_t s = 0; s < c->nservers; s++)
		sv[s].holds = sv[s].up && items ? (double)sv[s].items / (double)items : 0;
	for (size_t s = 0; s < c->nservers; s++)
		mcr_req_clear(&q[s]);
	free(q);
}

static void
report(const struct mcr_cluster *c, const struct server *sv, enum mcr_format fmt)
{
	if (fmt == MCR_TEXT)
		printf("SERVER STATUS VERSION UPTIME STARTED ITEMS BYTES LIMIT EVICTIONS SHARE HOLDS\n");
	for (size_t s = 0; s < c->nservers; s++) {
		const struct server *v = &sv[s];
		const char *label = c->servers[s].label, *status = !v->up ? "down" : v->restarted ? "restarted" : "up";
		bool up = v->up;
		struct mcr_field f[] = {
		    {"server", MCR_F_STR, label, strlen(label), 0},
		    {"status", MCR_F_STR, status, strlen(status), 0},
		    {"version", MCR_F_STR, up ? v->version : NULL, strlen(v->version), 0},
		    {"uptime", up ? MCR_F_UINT : MCR_F_STR, NULL, 0, (uint64_t)v->uptime},
		    {"started", up ? MCR_F_UINT : MCR_F_STR, NULL, 0, (uint64_t)(v->now - v->uptime)},
		    {"items", up ? MCR_F_UINT : MCR_F_STR, NULL, 0, (uint64_t)v->items},
		    {"bytes", up ? MCR_F_UINT : MCR_F_STR, NULL, 0, (uint64_t)v->bytes},
		    {"limit", up ? MCR_F_UINT : MCR_F_STR, NULL, 0, (uint64_t)v->limit},
		    {"evictions", up ? MCR_F_UINT : MCR_F_STR, NULL, 0, (uint64_t)v->evictions},
		    {"share", MCR_F_REAL, NULL, 0, (uint64_t)(v->share * 1000 + 0.5)},
		    {"holds", up ? MCR_F_REAL : MCR_F_STR, NULL, 0, (uint64_t)(v->holds * 1000 + 0.5)},
		    {"message", MCR_F_MSG, v->why, v->why ? strlen(v->why) : 0, 0},
		};
		mcr_emit(stdout, fmt, f, sizeof(f) / sizeof(f[0]));
	}
}

int
main(int argc, char **argv)
{
	struct mcr_tool tool = {"mcrstat", synopsis,
	                        "Show every server of a replicated memcached cluster: up, restarted, full, its share.",
	                        options, handle, false};
	struct mcr_opts o;
	struct mcr_cluster c;
	struct server *sv;
	int status = MCR_YES, i;

	mcr_setprog(argv[0]);
	i = mcr_parse_options(&tool, &o, argc, argv);
	if (i < argc)
		mcr_usage_error("mcrstat takes no operands (try --help)");
	mcr_cluster_open(&c, &o);
	sv = mcr_xcalloc(c.nservers, sizeof(*sv));
	shares(&c, sv);
	ask(&c, sv);
	report(&c, sv, o.format);
	for (size_t s = 0; s < c.nservers; s++) {
		if (!sv[s].up || sv[s].restarted)
			status = MCR_NO;
		if (!sv[s].up)
			mcr_warn("%s: down: %s", c.servers[s].label, sv[s].why);
		else if (sv[s].restarted)
			mcr_warn("%s: restarted %lld s ago, after --since", c.servers[s].label, (long long)sv[s].uptime);
		free((char *)sv[s].why);
	}
	free(sv);
	mcr_cluster_close(&c);
	mcr_finish_stdout();
	if (mcr_stop)
		status = MCR_TROUBLE;
	return status;
}
