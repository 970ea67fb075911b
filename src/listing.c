/* SPDX-License-Identifier: ISC */
/* Every key of one server: `lru_crawler metadump hash` (memcached has no key scan in the
 * binary protocol, and `stats cachedump` is capped), falling back to `metadump all` on a
 * server that knows only that, after `stats` for the server's clock (metadump's expiry
 * times are on it). The whole listing goes to a temporary file as fast as the server sends
 * it: memcached 1.6.18 holds a lock of its item table while a metadump reader is slow
 * (fixed in 1.6.19), which would stall this tool's reads and the applications'. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcr.h"

#define DUMP_HASH "lru_crawler metadump hash\r\n"
#define DUMP_ALL  "lru_crawler metadump all\r\n"
#define LINE_MAX_LIST 4096

struct state {
	struct mcr_listing *l;
	int64_t now, uptime; /* the server's clock and how long it has been up */
	bool stats_done, fallback;
	unsigned busy; /* BUSY answers so far */
};

/* The server's clock minus ours. memcached's clock ticks once a second and lags up to a
 * second behind the time it ticks to: a difference of a second is that lag, not another
 * clock, and counting it would move every expiry time listed by a second. */
static int64_t
offset(int64_t server, int64_t now)
{
	return server - now >= -1 && server - now <= 1 ? 0 : server - now;
}

static void
send_text(struct mcr_conn *cn, const char *cmd)
{
	memcpy(mcr_conn_reserve(cn, strlen(cmd)), cmd, strlen(cmd));
}

static void
set_why(struct mcr_listing *l, const char *fmt, const char *what)
{
	snprintf(l->whybuf, sizeof(l->whybuf), fmt, what);
	l->why = l->whybuf;
}

/* A listing line other than a key: the end, a retry, the end of the stats. 0 or -1 (*why). */
static int
control_line(struct mcr_conn *cn, struct state *st, const char *line, size_t l, char **why)
{
	int64_t v;

	if (!st->stats_done) {
		if (mcr_stat_line(line, l, "time", &v)) {
			st->l->clock_offset = offset(v, (int64_t)time(NULL));
			st->now = v;
		} else if (mcr_stat_line(line, l, "uptime", &v)) {
			st->uptime = v;
		} else if (mcr_stat_line(line, l, "pid", &v)) {
			st->l->pid = v;
		} else if (l == 3 && !memcmp(line, "END", 3)) {
			/* memcached refuses a metadump pipelined after another command */
			st->stats_done = true;
			st->l->started = st->now - st->uptime;
			send_text(cn, DUMP_HASH);
		} else if (l < 5 || memcmp(line, "STAT ", 5)) {
			goto unexpected;
		}
		return 0;
	}
	if (l == 3 && !memcmp(line, "END", 3)) {
		cn->pnext++; /* the listing is whole */
	} else if (l >= 5 && !memcmp(line, "ERROR", 5) && !st->fallback) {
		/* a server before `metadump hash`: the LRU walk may miss keys that move */
		st->fallback = true;
		send_text(cn, DUMP_ALL);
	} else if (l >= 4 && !memcmp(line, "BUSY", 4) && st->busy++ < 50) {
		/* another crawl is running: ask again shortly */
		usleep(100000);
		send_text(cn, st->fallback ? DUMP_ALL : DUMP_HASH);
	} else {
		goto unexpected;
	}
	return 0;
unexpected:;
	char *t = mcr_server_text(line, l > 60 ? 60 : l);
	*why = mcr_xasprintf("unexpected answer \"%s\"", t);
	free(t);
	return -1;
}

/* Every complete line at the front of the read buffer: key lines go to the spool as they came
 * (and their fingerprints beside), the others are answered. Bytes used, or -1 and *why. */
static long
list_consume(struct mcr_conn *cn, char **why)
{
	struct state *st = cn->ctx;
	size_t off = 0, keys = 0; /* keys: bytes of key lines at off not yet written */
	uint64_t fps[256];
	size_t nfp = 0;

	if (mcr_stop) {
		*why = mcr_xstrdup("interrupted");
		return -1;
	}
	for (;;) {
		const char *p = cn->rbuf + off + keys;
		size_t l, used;
		const char *line = mcr_line(p, cn->rlen - off - keys, LINE_MAX_LIST, &l, &used);
		bool key = line && l >= 4 && !memcmp(line, "key=", 4) && st->stats_done && cn->pnext < cn->npend;
		if (key) {
			fps[nfp++] = mcr_metadump_fp(line, l);
			keys += used;
			if (nfp < sizeof(fps) / sizeof(fps[0]))
				continue;
		}
		/* the key lines so far, in one write each */
		if (keys && (fwrite(cn->rbuf + off, 1, keys, st->l->spool) != keys ||
		             fwrite(fps, sizeof(fps[0]), nfp, st->l->fps) != nfp)) {
			*why = mcr_xasprintf("cannot write the key list to a temporary file: %s", strerror(errno));
			return -1;
		}
		off += keys;
		keys = nfp = 0;
		if (key)
			continue;
		if (!line) {
			if (cn->rlen - off <= LINE_MAX_LIST)
				return (long)off;
			*why = mcr_xstrdup("protocol error: listing line too long");
			return -1;
		}
		if (control_line(cn, st, line, l, why) < 0)
			return -1;
		off += used;
		if (cn->pnext == cn->npend)
			return (long)off;
	}
}

static void
list_lost(struct mcr_conn *cn, struct mcr_req **req, const bool *sent, size_t n)
{
	struct state *st = cn->ctx;

	(void)req;
	(void)sent;
	(void)n;
	set_why(st->l, "%s", cn->why);
}

static const struct mcr_handler list_handler = {list_consume, list_lost};

static void
end(struct mcr_listing *l, bool again)
{
	l->again = again && !mcr_stop;
	if (l->spool)
		fclose(l->spool);
	if (l->fps)
		fclose(l->fps);
	l->spool = l->fps = NULL;
}

/* Lists every server s for which want[s], all at once, each into l[s].spool (rewound) and
 * its fingerprints into l[s].fps; a listing that failed has no spool and a why. */
void
mcr_list_servers(struct mcr_cluster *c, const bool *want, struct mcr_listing *l)
{
	struct state *st = mcr_xcalloc(c->nservers, sizeof(*st));
	struct mcr_conn **cn = mcr_xcalloc(c->nservers, sizeof(void *)); /* pointers to structs: one size (POSIX) */

	for (size_t s = 0; s < c->nservers; s++) {
		if (!want[s])
			continue;
		memset(&l[s], 0, sizeof(l[s]));
		st[s].l = &l[s];
		l[s].spool = mcr_tmpfile();
		l[s].fps = mcr_tmpfile();
		if (!l[s].spool || !l[s].fps) {
			const char *dir = getenv("TMPDIR");
			snprintf(l[s].whybuf, sizeof(l[s].whybuf),
			         "cannot create a temporary file for the key list in %s: %s",
			         dir && *dir ? dir : "/tmp", strerror(errno));
			l[s].why = l[s].whybuf;
			end(&l[s], false);
			continue;
		}
		cn[s] = mcr_conn(c, s, MCR_CONN_LIST, &list_handler);
		if (!mcr_conn_open(cn[s], true)) {
			set_why(&l[s], "%s", cn[s]->why);
			end(&l[s], !cn[s]->fatal);
			cn[s] = NULL;
			continue;
		}
		cn[s]->ctx = &st[s];
		send_text(cn[s], "stats\r\n");
		mcr_conn_push(cn[s], NULL);
	}
	mcr_loop(c);
	for (size_t s = 0; s < c->nservers; s++) {
		if (!cn[s])
			continue;
		bool fatal = cn[s]->fatal;
		mcr_conn_close(cn[s]);
		cn[s]->ctx = NULL;
		if (!l[s].why && (fflush(l[s].spool) == EOF || fflush(l[s].fps) == EOF))
			set_why(&l[s], "cannot write the key list to a temporary file: %s", strerror(errno));
		if (l[s].why)
			end(&l[s], !fatal);
		else
			rewind(l[s].spool);
	}
	free(st);
	free(cn);
}
