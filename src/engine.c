/* SPDX-License-Identifier: ISC */
/* Per-copy requests on the connections: every request is its own acknowledged command to
 * its own server. Binary requests and meta TTL reads (`mg`, on an ASCII connection: the
 * binary protocol cannot read a TTL) are pipelined per server, all servers at once, in one
 * poll loop. A request the server did not answer before its connection was lost is sent
 * again once, on a new connection, when that cannot change anything: a read, or a write
 * that never left this process. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcr.h"

#include <memcached/protocol_binary.h>

#define GET_BODY_MAX   (((size_t)1 << 30) + ((size_t)1 << 20)) /* memcached's items stop at 1 GiB */
#define OTHER_BODY_MAX ((size_t)65536)                        /* an error message at most */
#define LINE_MAX_META  1024


void
mcr_req_clear(struct mcr_req *r)
{
	free(r->msg);
	free(r->rval);
	r->msg = r->rval = NULL;
	r->rlen = 0;
	r->result = MCR_UNSENT;
	r->tries = 0;
}

static void
fail(struct mcr_req *r, enum mcr_result res, const char *msg, size_t len)
{
	r->result = res;
	free(r->msg);
	r->msg = mcr_server_text(msg, len);
}

static uint32_t
get32(const char *p)
{
	return (uint32_t)(uint8_t)p[0] << 24 | (uint32_t)(uint8_t)p[1] << 16 | (uint32_t)(uint8_t)p[2] << 8 |
	       (uint8_t)p[3];
}

size_t mcr_value_largest;
bool mcr_value_seen;

static void
answer(struct mcr_req *r, const struct mcr_frame *f)
{
	if (r->op == MCR_GET) {
		mcr_value_seen = true;
		if (f->status == PROTOCOL_BINARY_RESPONSE_SUCCESS && f->vlen > mcr_value_largest)
			mcr_value_largest = f->vlen;
	}
	switch (f->status) {
	case PROTOCOL_BINARY_RESPONSE_SUCCESS:
		r->result = MCR_OK;
		r->rcas = f->cas;
		if (r->op == MCR_STATS && !r->rval)
			r->rval = mcr_xstrdup("");
		if (r->op == MCR_GET) {
			r->rflags = f->elen >= 4 ? get32(f->extras) : 0;
			r->rval = mcr_xmalloc(f->vlen + 1);
			memcpy(r->rval, f->value, f->vlen);
			r->rval[f->vlen] = '\0';
			r->rlen = f->vlen;
		}
		break;
	/* the result word says it all for these; the server's text would repeat it */
	case PROTOCOL_BINARY_RESPONSE_KEY_ENOENT: r->result = MCR_NOTFOUND; break;
	case PROTOCOL_BINARY_RESPONSE_KEY_EEXISTS: r->result = MCR_EXISTS; break;
	case PROTOCOL_BINARY_RESPONSE_NOT_STORED: r->result = MCR_NOTSTORED; break;
	case PROTOCOL_BINARY_RESPONSE_E2BIG: fail(r, MCR_TOOLARGE, f->value, f->vlen > 200 ? 200 : f->vlen); break;
	case PROTOCOL_BINARY_RESPONSE_AUTH_ERROR:
		fail(r, MCR_ERROR, "authentication required (give --username)", 41);
		break;
	default:
		if (f->vlen == 0)
			fail(r, MCR_ERROR, "server error", 12);
		else
			fail(r, MCR_ERROR, f->value, f->vlen > 200 ? 200 : f->vlen);
	}
}

static long
bin_consume(struct mcr_conn *cn, char **why)
{
	struct mcr_req *r = cn->pnext < cn->npend ? cn->pend[cn->pnext] : NULL;
	struct mcr_frame f;
	const char *bad;
	long len = mcr_frame_decode(cn->rbuf, cn->rlen, r && r->op == MCR_GET ? GET_BODY_MAX : OTHER_BODY_MAX, &f,
	                            &bad);

	if (len < 0) {
		*why = mcr_xstrdup(bad);
		return -1;
	}
	if (len == 0)
		return 0;
	if (!r || f.opaque != (uint32_t)cn->pnext || f.opcode != mcr_opcode(r->op)) {
		*why = mcr_xstrdup("protocol error: unexpected response");
		return -1;
	}
	if (r->op == MCR_STATS && f.status == PROTOCOL_BINARY_RESPONSE_SUCCESS && f.klen > 0) {
		/* one statistic per reply, as a "STAT name value" line; the last reply has no key */
		r->rval = mcr_xrealloc(r->rval, r->rlen + f.klen + f.vlen + 8);
		r->rlen += (size_t)snprintf(r->rval + r->rlen, f.klen + f.vlen + 8, "STAT %.*s %.*s\n", (int)f.klen,
		                            f.key, (int)f.vlen, f.value);
		return len;
	}
	answer(r, &f);
	cn->pnext++;
	return len;
}

static long
meta_consume(struct mcr_conn *cn, char **why)
{
	struct mcr_req *r = cn->pnext < cn->npend ? cn->pend[cn->pnext] : NULL;
	size_t len, used;
	const char *line = mcr_line(cn->rbuf, cn->rlen, LINE_MAX_META, &len, &used);

	if (!line) {
		if (cn->rlen <= LINE_MAX_META)
			return 0;
		*why = mcr_xstrdup("protocol error: reply line too long");
		return -1;
	}
	int rc = r ? mcr_mg_reply(line, len, &r->ttl) : -2;
	if (r && r->op == MCR_TTL && rc == 1)
		rc = -2; /* asked for a TTL, got none */
	if (rc == -2) {
		char *t = mcr_server_text(line, len > 60 ? 60 : len);
		*why = mcr_xasprintf("protocol error: unexpected answer \"%s\"", t);
		free(t);
		return -1;
	}
	if (rc > 0)
		r->result = MCR_OK;
	else if (rc == 0)
		r->result = MCR_NOTFOUND;
	else
		fail(r, MCR_ERROR, line, len > 200 ? 200 : len);
	cn->pnext++;
	return (long)used;
}

static void lost(struct mcr_conn *cn, struct mcr_req **req, const bool *sent, size_t n);

static const struct mcr_handler bin_handler = {bin_consume, lost};
static const struct mcr_handler meta_handler = {meta_consume, lost};

static void
enqueue(struct mcr_conn *cn, struct mcr_req *r)
{
	const struct mcr_cluster *c = cn->c;

	if (r->op == MCR_TTL || r->op == MCR_HAS) {
		char *p = mcr_conn_reserve(cn, mcr_mg_size(c->nslen, r->klen));
		size_t n = mcr_mg_encode(p, c->ns, c->nslen, r->key, r->klen, r->op == MCR_TTL);
		cn->wlen -= mcr_mg_size(c->nslen, r->klen) - n;
	} else {
		char *p = mcr_conn_reserve(cn, mcr_frame_size(r, c->nslen));
		mcr_frame_encode(p, r, c->ns, c->nslen, (uint32_t)cn->npend);
	}
	mcr_conn_push(cn, r);
}

/* What a lost connection did not answer: reads, and writes it never sent, go again once on
 * a new connection; anything else is unreachable, since it may or may not have happened. */
static void
lost(struct mcr_conn *cn, struct mcr_req **req, const bool *sent, size_t n)
{
	size_t again = 0;

	for (size_t i = 0; i < n; i++) {
		struct mcr_req *r = req[i];
		bool read = r->op == MCR_GET || r->op == MCR_TTL || r->op == MCR_STATS || r->op == MCR_HAS;
		if (mcr_stop && !sent[i]) {
			r->result = MCR_UNSENT;
			free(r->msg);
			r->msg = mcr_xstrdup("interrupted");
		} else if (r->tries == 0 && !cn->fatal && !mcr_stop && (!sent[i] || read)) {
			r->tries++;
			req[again++] = r;
		} else {
			fail(r, MCR_UNREACHABLE, cn->why, strlen(cn->why));
		}
	}
	if (again == 0)
		return;
	if (!mcr_conn_open(cn, true)) {
		for (size_t i = 0; i < again; i++)
			fail(req[i], MCR_UNREACHABLE, cn->why, strlen(cn->why));
		return;
	}
	mcr_trace("%s: sending %zu request%s again", cn->c->servers[cn->server].label, again,
	          again == 1 ? "" : "s");
	for (size_t i = 0; i < again; i++)
		enqueue(cn, req[i]);
}

void
mcr_run(struct mcr_cluster *c, struct mcr_req *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct mcr_req *r = &reqs[i];
		if (r->skip)
			continue;
		mcr_req_clear(r);
		if (mcr_stop) {
			r->msg = mcr_xstrdup("interrupted");
			continue;
		}
		if (r->op == MCR_TTL) {
			const char *why = mcr_mg_problem(c->ns, c->nslen, r->key, r->klen);
			if (why) {
				fail(r, MCR_ERROR, why, strlen(why));
				continue;
			}
		}
		/* an existence check goes as mg, where mg can go: not to a SASL server, not for a key
		 * past base64's limit; a get there */
		if (r->op == MCR_HAS && ((c->username && c->servers[r->server].port) ||
		                         mcr_mg_problem(c->ns, c->nslen, r->key, r->klen)))
			r->op = MCR_GET;
		bool meta = r->op == MCR_TTL || r->op == MCR_HAS;
		struct mcr_conn *cn = meta ? mcr_conn(c, r->server, MCR_CONN_META, &meta_handler)
		                           : mcr_conn(c, r->server, MCR_CONN_BIN, &bin_handler);
		if (!mcr_conn_open(cn, false)) {
			fail(r, MCR_UNREACHABLE, cn->why, strlen(cn->why));
			continue;
		}
		enqueue(cn, r);
	}
	mcr_loop(c);
}

const char *
mcr_result_word(enum mcr_result r, enum mcr_op op)
{
	switch (r) {
	case MCR_UNSENT: return "skipped";
	case MCR_OK:
		return op == MCR_GET || op == MCR_TTL || op == MCR_STATS || op == MCR_HAS ? "found"
		       : op == MCR_DELETE                                                   ? "deleted"
		                                                                            : "stored";
	case MCR_NOTFOUND: return "not-found";
	case MCR_EXISTS: return "exists";
	case MCR_NOTSTORED: return "not-stored";
	case MCR_TOOLARGE: return "too-large";
	case MCR_ERROR: return "error";
	case MCR_UNREACHABLE: return "unreachable";
	}
	return "?";
}

/* The exptime that gives an item ttl more seconds: memcached reads a value over 30 days as a
 * unix time, and 0 as never. */
uint32_t
mcr_exptime(int64_t ttl, int64_t now)
{
	if (ttl < 0)
		return 0;
	if (ttl == 0)
		return 1;
	if (ttl <= 2592000)
		return (uint32_t)ttl;
	return (uint32_t)(now + ttl);
}
