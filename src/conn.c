/* SPDX-License-Identifier: ISC */
/* Connections: one per server and kind (binary requests, meta commands, key listing),
 * all driven by one poll loop. Connecting and SASL are states of that loop, so every
 * server connects at once and a slow one delays nobody. A connection that fails is
 * closed and its server given up until one timeout has passed (the back-off): a dead
 * server costs one timeout per timeout, not one per request. The kind's handler decodes
 * replies and decides what becomes of the requests a lost connection did not answer. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mcr.h"

#include <memcached/protocol_binary.h>

#define READ_CHUNK ((size_t)65536)

enum { CS_CLOSED, CS_CONNECTING, CS_SASL, CS_READY };

struct mcr_net {
	struct mcr_conn **conn; /* nconn slots: server * MCR_NKINDS + kind */
	size_t nconn;
	struct pollfd *pfd;
	struct mcr_conn **who;
};

static void
free_addrs(struct mcr_conn *cn)
{
	if (cn->addrs && cn->c->servers[cn->server].port != 0)
		freeaddrinfo(cn->addrs);
	else
		free(cn->addrs);
	cn->addrs = cn->next_addr = NULL;
}

static void
net_close(struct mcr_net *net)
{
	for (size_t i = 0; i < net->nconn; i++) {
		struct mcr_conn *cn = net->conn[i];
		if (!cn)
			continue;
		if (cn->fd >= 0)
			close(cn->fd);
		free_addrs(cn);
		free(cn->why);
		free(cn->wbuf);
		free(cn->rbuf);
		free(cn->abuf);
		free(cn->pend);
		free(cn->ends);
		free(cn);
	}
	free(net->conn);
	free(net->pfd);
	free(net->who);
	free(net);
}

struct mcr_conn *
mcr_conn(struct mcr_cluster *c, size_t server, enum mcr_kind kind, const struct mcr_handler *h)
{
	struct mcr_net *net = c->net;
	size_t slot = server * MCR_NKINDS + kind;
	struct mcr_conn *cn;

	if (!net) {
		net = c->net = mcr_xcalloc(1, sizeof(*net));
		c->net_close = net_close;
	}
	if (slot >= net->nconn) {
		size_t n = c->nservers * MCR_NKINDS;
		net->conn = mcr_xrealloc(net->conn, n * sizeof(struct mcr_conn *));
		memset(net->conn + net->nconn, 0, (n - net->nconn) * sizeof(struct mcr_conn *));
		net->pfd = mcr_xrealloc(net->pfd, n * sizeof(*net->pfd));
		net->who = mcr_xrealloc(net->who, n * sizeof(struct mcr_conn *));
		net->nconn = n;
	}
	if (!(cn = net->conn[slot])) {
		cn = net->conn[slot] = mcr_xcalloc(1, sizeof(*cn));
		cn->c = c;
		cn->server = server;
		cn->kind = kind;
		cn->fd = -1;
	}
	cn->h = h;
	return cn;
}

static bool waiting(const struct mcr_conn *cn);
static void compact(struct mcr_conn *cn);

char *
mcr_conn_reserve(struct mcr_conn *cn, size_t n)
{
	compact(cn);
	if (cn->wlen + n > cn->wcap) {
		cn->wcap = (cn->wlen + n) * 2;
		cn->wbuf = mcr_xrealloc(cn->wbuf, cn->wcap);
	}
	cn->wlen += n;
	return cn->wbuf + cn->wlen - n;
}

/* r (NULL for a kind's own exchange) now waits for its answer; its bytes end at wlen. */
void
mcr_conn_push(struct mcr_conn *cn, struct mcr_req *r)
{
	if (cn->pnext == cn->npend) /* the wait starts now */
		cn->deadline = mcr_now() + cn->c->timeout_ms / 1000.0;
	if (cn->npend == cn->pcap) {
		cn->pcap = cn->pcap ? cn->pcap * 2 : 64;
		cn->pend = mcr_xrealloc(cn->pend, cn->pcap * sizeof(struct mcr_req *));
		cn->ends = mcr_xrealloc(cn->ends, cn->pcap * sizeof(*cn->ends));
	}
	cn->pend[cn->npend] = r;
	cn->ends[cn->npend++] = cn->wlen;
}

static bool
waiting(const struct mcr_conn *cn)
{
	return cn->pnext < cn->npend;
}

/* A new round of requests starts with empty buffers once everything before was answered.
 * A buffer grown past BUF_KEEP is given back then, and at the end of every round
 * (mcr_loop): with many servers, each server's largest round (a batch of keys listed
 * together lands on a few servers) would otherwise stay allocated; 64 of them took 150 MiB. */
#define BUF_KEEP ((size_t)256 << 10)
static void
compact(struct mcr_conn *cn)
{
	if (waiting(cn))
		return;
	cn->wlen = cn->woff = 0;
	cn->npend = cn->pnext = 0;
	if (cn->wcap > BUF_KEEP) {
		free(cn->wbuf);
		cn->wbuf = NULL;
		cn->wcap = 0;
	}
	if (cn->rcap > BUF_KEEP && cn->rlen == 0) {
		free(cn->rbuf);
		cn->rbuf = NULL;
		cn->rcap = 0;
	}
}

static void
start_sasl(struct mcr_conn *cn)
{
	const struct mcr_cluster *c = cn->c;
	size_t size = MCR_HDR + 6 + strlen(c->username) + 1 + strlen(c->password);

	free(cn->abuf);
	cn->abuf = mcr_xmalloc(size);
	cn->alen = mcr_frame_sasl(cn->abuf, size, c->username, c->password);
	cn->aoff = 0;
	cn->state = CS_SASL;
}

static void
connected(struct mcr_conn *cn)
{
	const struct mcr_cluster *c = cn->c;
	int one = 1;

	if (c->servers[cn->server].port != 0)
		setsockopt(cn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	free_addrs(cn);
	cn->deadline = mcr_now() + c->timeout_ms / 1000.0;
	/* libmemcached authenticates every TCP connection; unix sockets skip it */
	if (cn->kind == MCR_CONN_BIN && c->username && c->servers[cn->server].port != 0) {
		start_sasl(cn);
		return;
	}
	cn->state = CS_READY;
	free(cn->why);
	cn->why = NULL;
	mcr_trace("%s: connected", c->servers[cn->server].label);
}

/* Starts a non-blocking connect to the next address; false when none is left. */
static bool
try_next(struct mcr_conn *cn, int *err)
{
	while (cn->next_addr) {
		const struct sockaddr *sa;
		socklen_t salen;
		if (cn->c->servers[cn->server].port == 0) {
			sa = cn->next_addr;
			salen = sizeof(struct sockaddr_un);
			cn->next_addr = NULL;
		} else {
			struct addrinfo *ai = cn->next_addr;
			sa = ai->ai_addr;
			salen = ai->ai_addrlen;
			cn->next_addr = ai->ai_next;
		}
		int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			*err = errno;
			continue;
		}
		if (connect(fd, sa, salen) == 0) {
			cn->fd = fd;
			connected(cn);
			return true;
		}
		if (errno == EINPROGRESS) {
			cn->fd = fd;
			cn->state = CS_CONNECTING;
			cn->deadline = mcr_now() + cn->c->timeout_ms / 1000.0;
			return true;
		}
		*err = errno;
		close(fd);
	}
	return false;
}

static void
give_up(struct mcr_conn *cn, char *why, bool fatal)
{
	if (cn->fd >= 0)
		close(cn->fd);
	cn->fd = -1;
	cn->state = CS_CLOSED;
	free_addrs(cn);
	free(cn->why);
	cn->why = why;
	cn->fatal |= fatal;
	cn->next_connect = mcr_now() + cn->c->timeout_ms / 1000.0;
	mcr_trace("%s: %s", cn->c->servers[cn->server].label, why);
}

/* Every server given up for now (not for good) may be tried again at once: a new pass of a
 * long-running tool (mcrcopy --heal --watch) asks every server afresh. */
void
mcr_conn_retry_all(struct mcr_cluster *c)
{
	for (size_t i = 0; c->net && i < c->net->nconn; i++)
		if (c->net->conn[i] && !c->net->conn[i]->fatal)
			c->net->conn[i]->next_connect = 0;
}

/* Opens the connection unless it is open or connecting. A server given up is tried again
 * only once its back-off has passed, or at once when `now` (a retry of requests in
 * flight). Returns false, with cn->why, when it cannot be used. */
bool
mcr_conn_open(struct mcr_conn *cn, bool now)
{
	const struct mcr_cluster *c = cn->c;
	const struct mcr_server *s = &c->servers[cn->server];
	int err = 0, rc;

	if (cn->state == CS_READY && !waiting(cn)) {
		/* an idle connection the server closed (a restart, an idle timeout) is replaced
		 * before anything is sent on it: what was sent on it could not be accounted for */
		char b;
		ssize_t n = recv(cn->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			mcr_conn_close(cn);
	}
	if (cn->state != CS_CLOSED)
		return true;
	if (cn->fatal || (!now && cn->why && mcr_now() < cn->next_connect))
		return false;
	if (cn->kind != MCR_CONN_BIN && c->username && s->port != 0) {
		give_up(cn, mcr_xstrdup("a SASL server refuses the ASCII protocol that key listing and "
		                        "TTL reads need"),
		        true);
		return false;
	}
	if (s->port == 0) {
		struct sockaddr_un *sun = mcr_xcalloc(1, sizeof(*sun));
		if (strlen(s->host) >= sizeof(sun->sun_path)) {
			free(sun);
			give_up(cn, mcr_xstrdup("cannot connect: socket path too long"), true);
			return false;
		}
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, s->host, strlen(s->host) + 1);
		cn->addrs = cn->next_addr = sun;
	} else {
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
		char port[12];
		snprintf(port, sizeof(port), "%u", s->port);
		if ((rc = getaddrinfo(s->host, port, &hints, &res)) != 0) {
			give_up(cn, mcr_xasprintf("cannot resolve host: %s", gai_strerror(rc)), false);
			return false;
		}
		cn->addrs = cn->next_addr = res;
	}
	if (try_next(cn, &err))
		return true;
	give_up(cn, mcr_xasprintf("cannot connect: %s", strerror(err ? err : ECONNREFUSED)), false);
	return false;
}

/* The connection failed: it is closed, its server given up for one timeout (for good when
 * fatal), and its handler decides what becomes of the requests it did not answer. */
void
mcr_conn_fail(struct mcr_conn *cn, char *why, bool fatal)
{
	size_t n = cn->npend - cn->pnext;
	struct mcr_req **req = mcr_xmalloc(n * sizeof(struct mcr_req *));
	bool *sent = mcr_xmalloc(n * sizeof(*sent));

	for (size_t i = 0; i < n; i++) {
		req[i] = cn->pend[cn->pnext + i];
		sent[i] = cn->ends[cn->pnext + i] <= cn->woff;
	}
	give_up(cn, why, fatal);
	cn->wlen = cn->woff = cn->rlen = 0;
	cn->npend = cn->pnext = 0;
	cn->h->lost(cn, req, sent, n);
	free(req);
	free(sent);
}

/* Closed on purpose: nothing is outstanding, the server is not given up. */
void
mcr_conn_close(struct mcr_conn *cn)
{
	if (cn->fd >= 0)
		close(cn->fd);
	cn->fd = -1;
	cn->state = CS_CLOSED;
	free_addrs(cn);
	cn->wlen = cn->woff = cn->rlen = 0;
	cn->npend = cn->pnext = 0;
}

/* Replies at the front of the read buffer, handed to the kind's handler. */
static int
consume(struct mcr_conn *cn, char **why)
{
	size_t off = 0;

	while (off < cn->rlen) {
		char *save = cn->rbuf;
		size_t len = cn->rlen;
		/* the handler sees the unread part only */
		cn->rbuf = save + off;
		cn->rlen = len - off;
		long used = cn->h->consume(cn, why);
		cn->rbuf = save;
		cn->rlen = len;
		if (used < 0)
			return -1;
		if (used == 0)
			break;
		off += (size_t)used;
	}
	memmove(cn->rbuf, cn->rbuf + off, cn->rlen - off);
	cn->rlen -= off;
	return 0;
}

/* Reads what there is; 1 progress, 0 nothing yet, -1 closed or failed (*why). */
static int
read_some(struct mcr_conn *cn, char **why)
{
	if (cn->rcap - cn->rlen < READ_CHUNK) {
		cn->rcap = cn->rlen + READ_CHUNK * 2;
		cn->rbuf = mcr_xrealloc(cn->rbuf, cn->rcap);
	}
	ssize_t n = recv(cn->fd, cn->rbuf + cn->rlen, cn->rcap - cn->rlen, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		*why = mcr_xasprintf("read failed: %s", strerror(errno));
		return -1;
	}
	if (n == 0) {
		*why = mcr_xstrdup("connection closed by the server");
		return -1;
	}
	cn->rlen += (size_t)n;
	return consume(cn, why) < 0 ? -1 : 1;
}

static int
write_some(struct mcr_conn *cn, char *buf, size_t len, size_t *off, char **why)
{
	ssize_t n = send(cn->fd, buf + *off, len - *off, MSG_NOSIGNAL);

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		*why = mcr_xasprintf("write failed: %s", strerror(errno));
		return -1;
	}
	*off += (size_t)n;
	return 1;
}

/* Answers already received are read before a connection is given up. */
static void
drain(struct mcr_conn *cn)
{
	char *why = NULL;

	while (cn->fd >= 0 && waiting(cn) && read_some(cn, &why) > 0)
		;
	free(why);
}

/* The SASL exchange: PLAIN, as libmemcached does. */
static int
sasl_step(struct mcr_conn *cn, short revents, char **why, bool *fatal)
{
	struct mcr_frame fr;
	int rc = 0;

	if ((revents & POLLOUT) && cn->aoff < cn->alen &&
	    (rc = write_some(cn, cn->abuf, cn->alen, &cn->aoff, why)) < 0)
		return -1;
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return rc;
	if (cn->rcap - cn->rlen < 4096) {
		cn->rcap = cn->rlen + READ_CHUNK;
		cn->rbuf = mcr_xrealloc(cn->rbuf, cn->rcap);
	}
	ssize_t n = recv(cn->fd, cn->rbuf + cn->rlen, cn->rcap - cn->rlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return rc;
	if (n <= 0) {
		*why = mcr_xstrdup("authentication failed: connection closed by the server");
		return -1;
	}
	cn->rlen += (size_t)n;
	const char *bad;
	long len = mcr_frame_decode(cn->rbuf, cn->rlen, 4096, &fr, &bad);
	if (len < 0) {
		*why = mcr_xasprintf("authentication failed: %s", bad);
		return -1;
	}
	if (len == 0)
		return 1;
	memset(cn->abuf, 0, cn->alen);
	memmove(cn->rbuf, cn->rbuf + len, cn->rlen - (size_t)len);
	cn->rlen -= (size_t)len;
	*fatal = true;
	if (fr.status == PROTOCOL_BINARY_RESPONSE_SUCCESS) {
		cn->state = CS_READY;
		free(cn->why);
		cn->why = NULL;
		mcr_trace("%s: connected", cn->c->servers[cn->server].label);
		return 1;
	}
	if (fr.status == PROTOCOL_BINARY_RESPONSE_UNKNOWN_COMMAND)
		*why = mcr_xstrdup("authentication failed: the server does not use SASL");
	else
		*why = mcr_xstrdup("authentication failed: wrong user name or password");
	return -1;
}

static int
connect_step(struct mcr_conn *cn, char **why)
{
	int err = 0;
	socklen_t el = sizeof(err);

	if (getsockopt(cn->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		err = errno;
	if (err == 0) {
		connected(cn);
		return 1;
	}
	close(cn->fd);
	cn->fd = -1;
	if (try_next(cn, &err))
		return 1;
	*why = mcr_xasprintf("cannot connect: %s", strerror(err));
	return -1;
}

static bool
active(const struct mcr_conn *cn)
{
	return cn && cn->fd >= 0 && (cn->state != CS_READY || waiting(cn));
}

/* One connection's turn after poll: 1 progress, 0 none, -1 failed (*why, *fatal). */
static int
step(struct mcr_conn *cn, short revents, char **why, bool *fatal)
{
	int rc = 0, progress = 0;

	switch (cn->state) {
	case CS_CONNECTING:
		return revents ? connect_step(cn, why) : 0;
	case CS_SASL: return sasl_step(cn, revents, why, fatal);
	}
	if ((revents & POLLOUT) && cn->woff < cn->wlen) {
		rc = write_some(cn, cn->wbuf, cn->wlen, &cn->woff, why);
		if (rc < 0) {
			drain(cn);
			return -1;
		}
		progress |= rc;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		rc = read_some(cn, why);
		if (rc < 0)
			return -1;
		progress |= rc;
	}
	return progress;
}

static const char *
waited_for(const struct mcr_conn *cn)
{
	switch (cn->state) {
	case CS_CONNECTING: return "cannot connect: ";
	case CS_SASL: return "authentication failed: ";
	}
	return "";
}

/* Asked to stop: what has not started to go out is not sent (its request stays MCR_UNSENT,
 * "interrupted"); what went out, even in part, still gets its answer. */
static void
interrupt(struct mcr_conn *cn)
{
	size_t keep = cn->pnext;

	while (keep < cn->npend && (keep ? cn->ends[keep - 1] : 0) < cn->woff)
		keep++;
	for (size_t i = keep; i < cn->npend; i++) {
		struct mcr_req *r = cn->pend[i];
		if (!r)
			continue;
		r->result = MCR_UNSENT;
		free(r->msg);
		r->msg = mcr_xstrdup("interrupted");
	}
	cn->npend = keep;
	cn->wlen = keep ? cn->ends[keep - 1] : 0;
	if (cn->woff > cn->wlen)
		cn->woff = cn->wlen;
	if (keep == cn->pnext && cn->state != CS_READY)
		mcr_conn_close(cn);
}

/* Runs every connection with work until none has any left. */
void
mcr_loop(struct mcr_cluster *c)
{
	struct mcr_net *net = c->net;
	double now;

	if (!net)
		return;
	for (;;) {
		size_t np = 0;
		double wait = -1;
		now = mcr_now();
		for (size_t i = 0; i < net->nconn; i++) {
			struct mcr_conn *cn = net->conn[i];
			if (mcr_stop && cn && cn->fd >= 0)
				interrupt(cn);
			if (!active(cn))
				continue;
			short ev = cn->state == CS_CONNECTING ? POLLOUT
			           : cn->state == CS_SASL     ? POLLIN | (cn->aoff < cn->alen ? POLLOUT : 0)
			                                      : POLLIN | (cn->woff < cn->wlen ? POLLOUT : 0);
			net->pfd[np] = (struct pollfd){.fd = cn->fd, .events = ev};
			net->who[np++] = cn;
			if (wait < 0 || cn->deadline - now < wait)
				wait = cn->deadline - now;
		}
		if (np == 0)
			break;
		if (poll(net->pfd, np, wait < 0 ? 0 : (int)(wait * 1000) + 1) < 0 && errno != EINTR)
			mcr_die(MCR_TROUBLE, "poll: %s", strerror(errno));
		now = mcr_now();
		for (size_t k = 0; k < np; k++) {
			struct mcr_conn *cn = net->who[k];
			char *why = NULL;
			bool fatal = false;
			int rc = step(cn, net->pfd[k].revents, &why, &fatal);
			if (rc < 0) {
				mcr_conn_fail(cn, why, fatal);
			} else if (rc > 0) {
				cn->deadline = now + c->timeout_ms / 1000.0;
			} else if (now >= cn->deadline) {
				mcr_conn_fail(cn,
				              mcr_xasprintf("%sno answer within %u ms", waited_for(cn),
				                            c->timeout_ms),
				              false);
			}
		}
	}
	/* the round is over: what it grew is given back (a connection may not be used again
	 * for many rounds) */
	for (size_t i = 0; i < net->nconn; i++)
		if (net->conn[i])
			compact(net->conn[i]);
}
