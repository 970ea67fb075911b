/* Per-copy operations over memcached's binary protocol. Every request is its own
 * acknowledged command to its own server: requests to a server are pipelined, all
 * servers are in flight at once, and each request gets its own result. A server that
 * refuses, stalls past the timeout or closes fails only its own requests, once: it
 * is not tried again by this process, so a dead server costs one timeout, not one
 * per key. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <memcached/protocol_binary.h>

#include "mcr.h"

#define HDR        24
#define BODY_MAX   (((size_t)1 << 30) + ((size_t)1 << 20)) /* memcached's items stop at 1 GiB */
#define READ_CHUNK ((size_t)65536)

struct mcr_conn {
	int fd;
	char *why; /* set once the server is given up */
	char *wbuf;
	size_t wlen, woff, wcap;
	char *rbuf;
	size_t rlen, rcap;
	size_t *pending; /* request indexes in the order sent */
	size_t npending, pcap, next;
	double deadline;
};

static const uint8_t opcodes[] = {
    [MCR_GET] = PROTOCOL_BINARY_CMD_GET,       [MCR_SET] = PROTOCOL_BINARY_CMD_SET,
    [MCR_ADD] = PROTOCOL_BINARY_CMD_ADD,       [MCR_REPLACE] = PROTOCOL_BINARY_CMD_REPLACE,
    [MCR_APPEND] = PROTOCOL_BINARY_CMD_APPEND, [MCR_PREPEND] = PROTOCOL_BINARY_CMD_PREPEND,
    [MCR_DELETE] = PROTOCOL_BINARY_CMD_DELETE,
};

static void
put16(char *p, uint16_t v)
{
	p[0] = (char)(v >> 8);
	p[1] = (char)v;
}

static void
put32(char *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (char)v;
}

static void
put64(char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (char)v;
}

static uint64_t
get(const char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | (uint8_t)p[i];
	return v;
}

static char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	s = mcr_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static void
give_up(struct mcr_server *s, char *why)
{
	struct mcr_conn *cn = s->conn;

	if (cn->fd >= 0)
		close(cn->fd);
	cn->fd = -1;
	if (!cn->why)
		cn->why = why;
	else
		free(why);
	mcr_trace("%s: %s", s->label, cn->why);
}

/* Reserve room for n more bytes at the end of the write buffer. */
static char *
wreserve(struct mcr_conn *cn, size_t n)
{
	if (cn->wlen + n > cn->wcap) {
		cn->wcap = (cn->wlen + n) * 2;
		cn->wbuf = mcr_xrealloc(cn->wbuf, cn->wcap);
	}
	cn->wlen += n;
	return cn->wbuf + cn->wlen - n;
}

static void
header(char *h, uint8_t op, size_t klen, size_t elen, size_t vlen, uint32_t opaque, uint64_t cas)
{
	memset(h, 0, HDR);
	h[0] = (char)PROTOCOL_BINARY_REQ;
	h[1] = (char)op;
	put16(h + 2, (uint16_t)klen);
	h[4] = (char)elen;
	put32(h + 8, (uint32_t)(elen + klen + vlen));
	put32(h + 12, opaque);
	put64(h + 16, cas);
}

static void
encode(const struct mcr_cluster *c, struct mcr_conn *cn, const struct mcr_req *r, uint32_t opaque)
{
	size_t elen = (r->op == MCR_SET || r->op == MCR_ADD || r->op == MCR_REPLACE) ? 8 : 0;
	size_t vlen = r->op == MCR_GET || r->op == MCR_DELETE ? 0 : r->vlen;
	size_t klen = c->nslen + r->klen;
	char *p = wreserve(cn, HDR + elen + klen + vlen);

	header(p, opcodes[r->op], klen, elen, vlen, opaque, r->cas);
	p += HDR;
	if (elen) {
		put32(p, r->flags);
		put32(p + 4, r->exptime);
		p += elen;
	}
	if (c->nslen)
		memcpy(p, c->ns, c->nslen);
	memcpy(p + c->nslen, r->key, r->klen);
	if (vlen)
		memcpy(p + klen, r->val, vlen);
}

static int
wait_fd(int fd, short events, unsigned timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int n;

	do
		n = poll(&pfd, 1, (int)timeout_ms);
	while (n < 0 && errno == EINTR);
	return n;
}

static int
connect_addr(const struct sockaddr *sa, socklen_t salen, unsigned timeout_ms, char **why)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), err = 0, one = 1;
	socklen_t el = sizeof(err);

	if (fd < 0) {
		*why = xasprintf("cannot connect: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, sa, salen) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
		} else if (wait_fd(fd, POLLOUT, timeout_ms) <= 0) {
			*why = xasprintf("cannot connect: no answer within %u ms", timeout_ms);
			close(fd);
			return -1;
		} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) {
			err = errno;
		}
	}
	if (err) {
		*why = xasprintf("cannot connect: %s", strerror(err));
		close(fd);
		return -1;
	}
	if (sa->sa_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int
mcr_connect(const struct mcr_server *s, unsigned timeout_ms, char **why)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char port[12];
	int fd = -1, rc;

	if (s->port == 0) {
		memcpy(sun.sun_path, s->host, strlen(s->host) + 1);
		return connect_addr((struct sockaddr *)&sun, sizeof(sun), timeout_ms, why);
	}
	snprintf(port, sizeof(port), "%u", s->port);
	if ((rc = getaddrinfo(s->host, port, &hints, &res)) != 0) {
		*why = xasprintf("cannot resolve host: %s", gai_strerror(rc));
		return -1;
	}
	*why = NULL;
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		free(*why);
		fd = connect_addr(ai->ai_addr, ai->ai_addrlen, timeout_ms, why);
	}
	freeaddrinfo(res);
	return fd;
}

/* All of buf, each wait bounded by the timeout; 0, or -1. */
int
mcr_send_all(int fd, const char *buf, size_t len, unsigned timeout_ms)
{
	ssize_t n;

	while (len > 0) {
		if (wait_fd(fd, POLLOUT, timeout_ms) <= 0)
			return -1;
		if ((n = send(fd, buf, len, MSG_NOSIGNAL)) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One request and its answer, before the pipeline starts (SASL). Returns the status or -1. */
static int
exchange(int fd, const char *req, size_t len, unsigned timeout_ms)
{
	char h[HDR], skip[256];
	size_t off = 0, body;
	ssize_t n;

	if (mcr_send_all(fd, req, len, timeout_ms) < 0)
		return -1;
	for (off = 0; off < HDR; off += (size_t)n) {
		if (wait_fd(fd, POLLIN, timeout_ms) <= 0)
			return -1;
		if ((n = recv(fd, h + off, HDR - off, 0)) <= 0) {
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				n = 0;
				continue;
			}
			return -1;
		}
	}
	if ((uint8_t)h[0] != PROTOCOL_BINARY_RES)
		return -1;
	for (body = get(h + 8, 4); body > 0; body -= (size_t)n) {
		if (wait_fd(fd, POLLIN, timeout_ms) <= 0)
			return -1;
		n = recv(fd, skip, body < sizeof(skip) ? body : sizeof(skip), 0);
		if (n <= 0) {
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				n = 0;
				continue;
			}
			return -1;
		}
	}
	return (int)get(h + 6, 2);
}

/* SASL PLAIN, as libmemcached does on every TCP connection (unix sockets skip it). */
static char *
authenticate(const struct mcr_cluster *c, int fd)
{
	size_t ul = strlen(c->username), pl = strlen(c->password), vlen = ul + pl + 2;
	size_t len = HDR + 5 + vlen;
	char *req = mcr_xmalloc(len);
	int st;

	header(req, PROTOCOL_BINARY_CMD_SASL_AUTH, 5, 0, vlen, 0, 0);
	memcpy(req + HDR, "PLAIN", 5);
	req[HDR + 5] = '\0';
	memcpy(req + HDR + 6, c->username, ul);
	req[HDR + 6 + ul] = '\0';
	memcpy(req + HDR + 7 + ul, c->password, pl);
	st = exchange(fd, req, len, c->timeout_ms);
	memset(req, 0, len);
	free(req);
	if (st == PROTOCOL_BINARY_RESPONSE_SUCCESS)
		return NULL;
	if (st == PROTOCOL_BINARY_RESPONSE_UNKNOWN_COMMAND)
		return mcr_xstrdup("authentication failed: the server does not use SASL");
	if (st < 0)
		return xasprintf("authentication failed: no answer within %u ms", c->timeout_ms);
	return mcr_xstrdup("authentication failed: wrong user name or password");
}

static void
open_conn(struct mcr_cluster *c, struct mcr_server *s)
{
	struct mcr_conn *cn = mcr_xmalloc(sizeof(*cn));
	char *why = NULL;

	memset(cn, 0, sizeof(*cn));
	s->conn = cn;
	cn->fd = mcr_connect(s, c->timeout_ms, &why);
	if (cn->fd < 0) {
		give_up(s, why);
		return;
	}
	mcr_trace("%s: connected", s->label);
	if (c->username && s->port != 0 && (why = authenticate(c, cn->fd)) != NULL)
		give_up(s, why);
}

void
mcr_req_clear(struct mcr_req *r)
{
	free(r->msg);
	free(r->rval);
	r->msg = r->rval = NULL;
	r->rlen = 0;
	r->result = MCR_PENDING;
}

/* A server's words are shown to people: no control or non-ASCII byte gets through. */
static void
fail(struct mcr_req *r, enum mcr_result res, const char *msg, size_t len)
{
	r->result = res;
	r->msg = mcr_xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		r->msg[i] = (unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] >= 0x7f ? '?' : msg[i];
	r->msg[len] = '\0';
}

/* One complete response p[0..HDR+body) for the next pending request. */
static int
answer(struct mcr_conn *cn, struct mcr_req *reqs, const char *p)
{
	size_t elen = (uint8_t)p[4], klen = get(p + 2, 2), body = get(p + 8, 4);
	unsigned st = (unsigned)get(p + 6, 2);
	struct mcr_req *r;

	if ((uint8_t)p[0] != PROTOCOL_BINARY_RES || cn->next >= cn->npending ||
	    get(p + 12, 4) != (uint32_t)cn->next || elen + klen > body)
		return -1;
	r = &reqs[cn->pending[cn->next++]];
	const char *val = p + HDR + elen + klen;
	size_t vlen = body - elen - klen;
	switch (st) {
	case PROTOCOL_BINARY_RESPONSE_SUCCESS:
		r->result = MCR_OK;
		r->rcas = get(p + 16, 8);
		if (r->op == MCR_GET) {
			r->rflags = elen >= 4 ? (uint32_t)get(p + HDR, 4) : 0;
			r->rval = mcr_xmalloc(vlen + 1);
			memcpy(r->rval, val, vlen);
			r->rval[vlen] = '\0';
			r->rlen = vlen;
		}
		return 0;
	/* the result word says it all for these; the server's text would repeat it */
	case PROTOCOL_BINARY_RESPONSE_KEY_ENOENT: r->result = MCR_NOTFOUND; break;
	case PROTOCOL_BINARY_RESPONSE_KEY_EEXISTS: r->result = MCR_EXISTS; break;
	case PROTOCOL_BINARY_RESPONSE_NOT_STORED: r->result = MCR_NOTSTORED; break;
	case PROTOCOL_BINARY_RESPONSE_E2BIG: fail(r, MCR_TOOLARGE, val, vlen); break;
	case PROTOCOL_BINARY_RESPONSE_AUTH_ERROR:
		fail(r, MCR_ERROR, "authentication required (give --username)", 41);
		break;
	default:
		if (vlen == 0)
			fail(r, MCR_ERROR, "server error", 12);
		else
			fail(r, MCR_ERROR, val, vlen > 200 ? 200 : vlen);
	}
	return 0;
}

static int
read_some(struct mcr_conn *cn, struct mcr_req *reqs, char **why)
{
	ssize_t n;
	size_t off = 0, body;

	if (cn->rcap - cn->rlen < READ_CHUNK) {
		cn->rcap = cn->rlen + READ_CHUNK * 2;
		cn->rbuf = mcr_xrealloc(cn->rbuf, cn->rcap);
	}
	n = recv(cn->fd, cn->rbuf + cn->rlen, cn->rcap - cn->rlen, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		*why = xasprintf("read failed: %s", strerror(errno));
		return -1;
	}
	if (n == 0) {
		*why = mcr_xstrdup("connection closed by the server");
		return -1;
	}
	cn->rlen += (size_t)n;
	while (cn->rlen - off >= HDR || (cn->rlen > off && (uint8_t)cn->rbuf[off] != PROTOCOL_BINARY_RES)) {
		if ((uint8_t)cn->rbuf[off] != PROTOCOL_BINARY_RES) {
			/* a line of text, such as memcached's refusal at its connection limit: say it, do
			 * not read it as a header (its "length" would ask for gigabytes) */
			size_t l = cn->rlen - off, k;
			char text[81];
			for (k = 0; k < l && k < sizeof(text) - 1 && cn->rbuf[off + k] != '\r' &&
			            cn->rbuf[off + k] != '\n';
			     k++)
				text[k] =
				    (uint8_t)cn->rbuf[off + k] < 0x20 || (uint8_t)cn->rbuf[off + k] >= 0x7f
				        ? '?'
				        : cn->rbuf[off + k];
			text[k] = '\0';
			*why = xasprintf("the server answered in text: %s", text);
			return -1;
		}
		body = get(cn->rbuf + off + 8, 4);
		if (body > BODY_MAX) {
			*why = mcr_xstrdup("protocol error: oversized response");
			return -1;
		}
		if (cn->rlen - off < HDR + body) {
			/* make room for a large value in one go */
			if (cn->rcap < HDR + body + READ_CHUNK) {
				memmove(cn->rbuf, cn->rbuf + off, cn->rlen - off);
				cn->rlen -= off;
				off = 0;
				cn->rcap = HDR + body + READ_CHUNK;
				cn->rbuf = mcr_xrealloc(cn->rbuf, cn->rcap);
			}
			break;
		}
		if (answer(cn, reqs, cn->rbuf + off) < 0) {
			*why = mcr_xstrdup("protocol error: unexpected response");
			return -1;
		}
		off += HDR + body;
	}
	memmove(cn->rbuf, cn->rbuf + off, cn->rlen - off);
	cn->rlen -= off;
	return 1;
}

static int
write_some(struct mcr_conn *cn, char **why)
{
	ssize_t n = send(cn->fd, cn->wbuf + cn->woff, cn->wlen - cn->woff, MSG_NOSIGNAL);

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		*why = xasprintf("write failed: %s", strerror(errno));
		return -1;
	}
	cn->woff += (size_t)n;
	return 1;
}

/* The requests a dead server never answered. */
static void
fail_pending(struct mcr_server *s, struct mcr_req *reqs)
{
	struct mcr_conn *cn = s->conn;

	for (; cn->next < cn->npending; cn->next++) {
		struct mcr_req *r = &reqs[cn->pending[cn->next]];
		fail(r, MCR_UNREACHABLE, cn->why, strlen(cn->why));
	}
}

void
mcr_run(struct mcr_cluster *c, struct mcr_req *reqs, size_t n)
{
	struct pollfd *pfd = mcr_xmalloc(c->nservers * sizeof(*pfd));
	size_t *who = mcr_xmalloc(c->nservers * sizeof(*who));
	size_t i, np;
	double now;

	for (i = 0; i < c->nservers; i++)
		if (c->servers[i].conn) {
			struct mcr_conn *cn = c->servers[i].conn;
			cn->wlen = cn->woff = cn->rlen = cn->npending = cn->next = 0;
		}
	for (i = 0; i < n; i++) {
		struct mcr_req *r = &reqs[i];
		struct mcr_server *s = &c->servers[r->server];
		if (r->result == MCR_SKIPPED)
			continue;
		mcr_req_clear(r);
		if (!s->conn)
			open_conn(c, s);
		if (s->conn->why) {
			fail(r, MCR_UNREACHABLE, s->conn->why, strlen(s->conn->why));
			continue;
		}
		struct mcr_conn *cn = s->conn;
		if (cn->npending == cn->pcap) {
			cn->pcap = cn->pcap ? cn->pcap * 2 : 64;
			cn->pending = mcr_xrealloc(cn->pending, cn->pcap * sizeof(*cn->pending));
		}
		encode(c, cn, r, (uint32_t)cn->npending);
		cn->pending[cn->npending++] = i;
	}

	now = mcr_now();
	for (i = 0; i < c->nservers; i++)
		if (c->servers[i].conn)
			c->servers[i].conn->deadline = now + c->timeout_ms / 1000.0;
	for (;;) {
		double wait = -1;
		np = 0;
		for (i = 0; i < c->nservers; i++) {
			struct mcr_conn *cn = c->servers[i].conn;
			if (!cn || cn->why || cn->next == cn->npending)
				continue;
			pfd[np].fd = cn->fd;
			pfd[np].events = POLLIN | (cn->woff < cn->wlen ? POLLOUT : 0);
			pfd[np].revents = 0;
			who[np++] = i;
			if (wait < 0 || cn->deadline - now < wait)
				wait = cn->deadline - now;
		}
		if (np == 0)
			break;
		if (poll(pfd, np, wait < 0 ? 0 : (int)(wait * 1000) + 1) < 0 && errno != EINTR)
			mcr_die(MCR_TROUBLE, "poll: %s", strerror(errno));
		now = mcr_now();
		for (size_t k = 0; k < np; k++) {
			struct mcr_server *s = &c->servers[who[k]];
			struct mcr_conn *cn = s->conn;
			char *why = NULL;
			int rc = 0, progress = 0;
			if (pfd[k].revents & POLLOUT) {
				rc = write_some(cn, &why);
				progress |= rc > 0;
			}
			if (rc >= 0 && (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))) {
				rc = read_some(cn, reqs, &why);
				progress |= rc > 0;
			}
			if (rc < 0) {
				give_up(s, why);
				fail_pending(s, reqs);
			} else if (progress) {
				cn->deadline = now + c->timeout_ms / 1000.0;
			} else if (now >= cn->deadline) {
				give_up(s, xasprintf("no answer within %u ms", c->timeout_ms));
				fail_pending(s, reqs);
			}
		}
	}
	free(pfd);
	free(who);
}

const char *
mcr_result_word(enum mcr_result r, enum mcr_op op)
{
	switch (r) {
	case MCR_PENDING: return "pending";
	case MCR_OK: return op == MCR_GET ? "found" : op == MCR_DELETE ? "deleted" : "stored";
	case MCR_NOTFOUND: return "not-found";
	case MCR_EXISTS: return "exists";
	case MCR_NOTSTORED: return "not-stored";
	case MCR_TOOLARGE: return "too-large";
	case MCR_ERROR: return "error";
	case MCR_UNREACHABLE: return "unreachable";
	case MCR_SKIPPED: return "skipped";
	}
	return "?";
}

/* Sends one ASCII command and reads one reply line (without \r\n) into reply. */
static int
exchange_line(int fd, const char *cmd, size_t len, char *reply, size_t size, size_t *n, unsigned timeout_ms)
{
	ssize_t r;

	if (mcr_send_all(fd, cmd, len, timeout_ms) < 0)
		return -1;
	for (*n = 0;;) {
		if (*n >= 2 && reply[*n - 2] == '\r' && reply[*n - 1] == '\n') {
			*n -= 2;
			reply[*n] = '\0';
			return 0;
		}
		if (*n + 1 >= size || wait_fd(fd, POLLIN, timeout_ms) <= 0)
			return -1;
		if ((r = recv(fd, reply + *n, 1, 0)) <= 0) {
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			return -1;
		}
		*n += 1;
	}
}

static void
b64(const char *s, size_t len, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v =
		    (uint32_t)(uint8_t)s[i] << 16 | (uint32_t)(uint8_t)s[i + 1] << 8 | (uint8_t)s[i + 2];
		*out++ = t[v >> 18];
		*out++ = t[v >> 12 & 63];
		*out++ = t[v >> 6 & 63];
		*out++ = t[v & 63];
	}
	if (i < len) {
		uint32_t v =
		    (uint32_t)(uint8_t)s[i] << 16 | (i + 1 < len ? (uint32_t)(uint8_t)s[i + 1] << 8 : 0);
		*out++ = t[v >> 18];
		*out++ = t[v >> 12 & 63];
		*out++ = i + 1 < len ? t[v >> 6 & 63] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

/* The binary protocol cannot read an item's remaining time to live; the meta command
 * `mg <base64 key> b t` can, on a separate ASCII connection (a connection speaks one
 * protocol), pipelined: all n commands go out, then the n one-line replies are read.
 * ttl[i]: seconds left, -1 never expires, MCR_TTL_ABSENT. Returns 0, or -1 on trouble. */
int
mcr_ttls(struct mcr_cluster *c, size_t server, const char *const *keys, const size_t *klens, size_t n,
         int64_t *ttl)
{
	struct mcr_server *s = &c->servers[server];
	char full[MCR_KEY_MAX + 1], reply[64], *why = NULL, *cmd;
	size_t len = 0, got;
	uint64_t v;

	if (c->username && s->port != 0)
		return -1;
	if (s->afd < 0)
		return -1;
	if (s->afd == 0 && (s->afd = mcr_connect(s, c->timeout_ms, &why)) < 0) {
		free(why);
		return -1;
	}
	cmd = mcr_xmalloc(n * (16 + 4 * (MCR_KEY_MAX + 2) / 3) + 1);
	for (size_t i = 0; i < n; i++) {
		if (c->nslen)
			memcpy(full, c->ns, c->nslen);
		memcpy(full + c->nslen, keys[i], klens[i]);
		memcpy(cmd + len, "mg ", 3);
		b64(full, c->nslen + klens[i], cmd + len + 3);
		len += strlen(cmd + len);
		memcpy(cmd + len, " b t\r\n", 6);
		len += 6;
	}
	for (size_t i = 0; i < n; i++) {
		if (exchange_line(s->afd, cmd, i == 0 ? len : 0, reply, sizeof(reply), &got, c->timeout_ms) <
		    0)
			goto bad;
		if (got >= 2 && !memcmp(reply, "EN", 2))
			ttl[i] = MCR_TTL_ABSENT;
		else if (got < 5 || memcmp(reply, "HD t", 4))
			goto bad;
		else if (!strcmp(reply + 4, "-1"))
			ttl[i] = -1;
		else if (mcr_parse_uint(reply + 4, INT64_MAX, &v) == 0)
			ttl[i] = (int64_t)v;
		else
			goto bad;
	}
	free(cmd);
	return 0;
bad:
	free(cmd);
	close(s->afd);
	s->afd = -1;
	return -1;
}

void
mcr_disconnect(struct mcr_server *s)
{
	struct mcr_conn *cn = s->conn;

	if (s->afd > 0)
		close(s->afd);
	s->afd = 0;
	if (!cn)
		return;
	if (cn->fd >= 0)
		close(cn->fd);
	free(cn->why);
	free(cn->wbuf);
	free(cn->rbuf);
	free(cn->pending);
	free(cn);
	s->conn = NULL;
}
