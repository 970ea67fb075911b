/* SPDX-License-Identifier: ISC */
/* rawsock: the ceiling, on sockets alone. No client library on the I/O path and nothing
 * kept: every copy of every key of a key file is read (get) or written (set, each
 * acknowledged) with binary-protocol frames written straight to one socket per server, up
 * to DEPTH requests in flight per server, all servers at once; a reply is looked at as far
 * as its 24-byte header. The most this machine and these servers can do, which the tools
 * and libmemcached are both measured against.
 *
 *   rawsock get|set SERVERS REPLICAS KEYFILE [DEPTH]
 *
 * Placement and the values written are those of rawget and rawset (bench/raw.h). Prints
 * the number of copies answered, then details. Exit 0 when every copy was found (get) or
 * stored (set), 1 when some was not, 2 on trouble. */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "raw.h"

#define HDR 24

struct conn {
	int fd;
	size_t *mine, nmine; /* the items of this server, and how many were sent and answered */
	size_t sent, answered;
	char *wbuf;
	size_t wlen, woff, wcap;
	char *rbuf;
	size_t rlen;
	unsigned long long ok, other;
};

static const char *
key_at(const void *ctx, size_t i, size_t *len)
{
	const struct item *it = (const struct item *)ctx + i;

	*len = it->klen;
	return it->key;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* The frames of items mine[from..to) at the end of the write buffer. */
static void
encode(struct conn *c, const struct item *items, size_t from, size_t to, int set)
{
	for (size_t j = from; j < to; j++) {
		const struct item *it = &items[c->mine[j]];
		size_t elen = set ? 8 : 0, vlen = set ? it->vlen : 0, len = HDR + elen + it->klen + vlen;
		if (c->wlen + len > c->wcap) {
			c->wcap = (c->wlen + len) * 2;
			if (!(c->wbuf = realloc(c->wbuf, c->wcap)))
				die("realloc", strerror(errno));
		}
		unsigned char *p = (unsigned char *)c->wbuf + c->wlen;
		memset(p, 0, HDR + elen);
		p[0] = 0x80;
		p[1] = set ? 0x01 : 0x00;
		p[2] = (unsigned char)(it->klen >> 8);
		p[3] = (unsigned char)it->klen;
		p[4] = (unsigned char)elen;
		put32(p + 8, (uint32_t)(elen + it->klen + vlen));
		memcpy(p + HDR + elen, it->key, it->klen);
		if (vlen)
			memcpy(p + HDR + elen + it->klen, it->val, vlen);
		c->wlen += len;
	}
}

static int
dial(const char *host, unsigned port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	char p[12];
	int fd, one = 1;

	snprintf(p, sizeof(p), "%u", port);
	if (getaddrinfo(host, p, &hints, &res) != 0)
		die(host, "cannot resolve");
	fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0)
		die(host, strerror(errno));
	freeaddrinfo(res);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

int
main(int argc, char **argv)
{
	raw_prog = "rawsock";
	if (argc < 5 || argc > 6 || (strcmp(argv[1], "get") && strcmp(argv[1], "set"))) {
		fprintf(stderr, "usage: rawsock get|set SERVERS REPLICAS KEYFILE [DEPTH]\n");
		return 2;
	}
	int set = !strcmp(argv[1], "set");
	unsigned long replicas = strtoul(argv[3], NULL, 10);
	size_t depth = argc == 6 ? strtoul(argv[5], NULL, 10) : 1000;
	if (depth < 2)
		die("DEPTH", "must be at least 2");

	uint32_t n;
	unsigned copies;
	memcached_st *place = placement(argv[2], replicas, &n, &copies);
	size_t flen, nitems;
	unsigned long long bytes;
	char *buf = read_file(argv[4], &flen);
	struct item *items = items_of(argv[4], buf, flen, &nitems, &bytes);
	size_t **mine, *nmine;
	by_server(place, n, copies, nitems, key_at, items, &mine, &nmine);

	struct conn *c = calloc(n, sizeof(*c));
	struct pollfd *pfd = xmalloc(n * sizeof(*pfd));
	if (!c)
		die("calloc", strerror(errno));
	for (uint32_t s = 0; s < n; s++) {
		const memcached_instance_st *in = memcached_server_instance_by_position(place, s);
		c[s].fd = dial(memcached_server_name(in), memcached_server_port(in));
		c[s].mine = mine[s];
		c[s].nmine = nmine[s];
		c[s].rbuf = xmalloc(1 << 20);
	}
	for (;;) {
		uint32_t busy = 0;
		for (uint32_t s = 0; s < n; s++) {
			struct conn *k = &c[s];
			/* keep up to depth in flight: top up once half of them were answered */
			if (k->sent < k->nmine && k->sent - k->answered <= depth / 2) {
				size_t to = k->sent + depth - (k->sent - k->answered);
				if (to > k->nmine)
					to = k->nmine;
				if (k->woff == k->wlen)
					k->woff = k->wlen = 0;
				encode(k, items, k->sent, to, set);
				k->sent = to;
			}
			pfd[s] = (struct pollfd){.fd = k->fd, .events = (short)(POLLIN | (k->woff < k->wlen ? POLLOUT : 0))};
			busy += k->answered < k->nmine;
		}
		if (!busy)
			break;
		if (poll(pfd, n, 10000) <= 0)
			die("poll", "no answer within 10 s");
		for (uint32_t s = 0; s < n; s++) {
			struct conn *k = &c[s];
			if (pfd[s].revents & POLLOUT) {
				ssize_t w = send(k->fd, k->wbuf + k->woff, k->wlen - k->woff, MSG_NOSIGNAL);
				if (w < 0 && errno != EAGAIN)
					die("send", strerror(errno));
				k->woff += w > 0 ? (size_t)w : 0;
			}
			if (!(pfd[s].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t r = recv(k->fd, k->rbuf + k->rlen, (1 << 20) - k->rlen, 0);
			if (r == 0 || (r < 0 && errno != EAGAIN))
				die("recv", r == 0 ? "connection closed" : strerror(errno));
			k->rlen += r > 0 ? (size_t)r : 0;
			size_t off = 0;
			for (;;) {
				const unsigned char *h = (const unsigned char *)k->rbuf + off;
				if (k->rlen - off < HDR)
					break;
				size_t body = (size_t)h[8] << 24 | (size_t)h[9] << 16 | (size_t)h[10] << 8 | h[11];
				if (h[0] != 0x81 || HDR + body > (1 << 20))
					die("reply", "not a binary reply this benchmark can read");
				if (k->rlen - off < HDR + body)
					break;
				if (h[6] == 0 && h[7] == 0)
					k->ok++;
				else
					k->other++;
				k->answered++;
				off += HDR + body;
			}
			memmove(k->rbuf, k->rbuf + off, k->rlen - off);
			k->rlen -= off;
		}
	}
	unsigned long long ok = 0, other = 0;
	for (uint32_t s = 0; s < n; s++) {
		ok += c[s].ok;
		other += c[s].other;
		close(c[s].fd);
	}
	printf("%llu\n%s %llu copies of %zu keys on %u servers (%llu not %s), %llu bytes of values\n", ok,
	       set ? "stored" : "found", ok, nitems, n, other, set ? "stored" : "found", bytes);
	return other ? 1 : 0;
}
