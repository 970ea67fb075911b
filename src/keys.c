/* Key sources shared by mcrverify and mcrcopy: operands, a file of percent-encoded keys,
 * or every key on every server through `lru_crawler metadump all` (memcached has no key
 * scan in the binary protocol, and `stats cachedump` is capped). Keys stream through one
 * fixed-size slot at a time, so memory does not grow with the data set. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mcr.h"

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int
mcr_percent_decode(const char *s, size_t len, char *out, size_t outmax, size_t *outlen)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		int ch = (unsigned char)s[i];
		if (ch == '%') {
			int hi, lo;
			if (i + 2 >= len || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0)
				return -1;
			ch = hi << 4 | lo;
			i += 2;
		}
		if (n == outmax)
			return -1;
		out[n++] = (char)ch;
	}
	*outlen = n;
	return 0;
}

/* FNV-1a: stable across runs and machines, so shards split a cluster the same way every time. */
static uint64_t
shard_hash(const char *k, size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)k[i];
		h *= 1099511628211ULL;
	}
	return h;
}

const char *
mcr_parse_shard(const char *arg, uint64_t *shard, uint64_t *nshards)
{
	const char *slash = strchr(arg, '/');
	char i[24];
	uint64_t a, b;

	if (!slash || (size_t)(slash - arg) >= sizeof(i))
		return "not I/N";
	memcpy(i, arg, (size_t)(slash - arg));
	i[slash - arg] = '\0';
	if (mcr_parse_uint(i, 1000000, &a) < 0 || mcr_parse_uint(slash + 1, 1000000, &b) < 0 || b == 0 ||
	    a == 0 || a > b)
		return "not I/N with 1 <= I <= N <= 1000000";
	*shard = a;
	*nshards = b;
	return NULL;
}

void
mcr_shard_parse(struct mcr_keysrc *ks, const char *arg)
{
	const char *why = mcr_parse_shard(arg, &ks->shard, &ks->nshards);

	if (why) {
		char *shown = mcr_key_display(arg, strlen(arg) > 40 ? 40 : strlen(arg));
		mcr_usage_error("--shard: \"%s\" is %s", shown, why);
	}
}

static bool
in_shard(const struct mcr_keysrc *ks, const char *k, size_t n)
{
	return ks->nshards == 0 || shard_hash(k, n) % ks->nshards == ks->shard - 1;
}

/* One key line of a -k file; returns NULL or what is wrong. */
static const char *
file_key(const struct mcr_cluster *c, const char *line, size_t len, struct mcr_key *k)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (mcr_percent_decode(line, len, k->key, MCR_KEY_MAX, &k->klen) < 0)
		return memchr(line, '%', len) ? "bad percent-encoding or key over 250 bytes"
		                              : "key over 250 bytes";
	return mcr_key_problem(c, k->key, k->klen);
}

static char *
next_line(FILE *fp, size_t *len)
{
	static char *line;
	static size_t cap;
	ssize_t n = getline(&line, &cap, fp);

	if (n < 0) {
		free(line);
		line = NULL;
		cap = 0;
		return NULL;
	}
	if (n > 0 && line[n - 1] == '\n')
		n--;
	*len = (size_t)n;
	return line;
}

/* A regular file is checked whole before any key is used: bad input sends nothing. */
static void
open_file(const struct mcr_cluster *c, struct mcr_keysrc *ks)
{
	struct stat st;
	struct mcr_key k;
	const char *why;
	char *line;
	size_t len, no = 0;

	ks->fp = strcmp(ks->file, "-") ? fopen(ks->file, "r") : stdin;
	if (!ks->fp)
		mcr_usage_error("%s: %s", ks->file, strerror(errno));
	if (fstat(fileno(ks->fp), &st) < 0 || !S_ISREG(st.st_mode))
		return;
	while ((line = next_line(ks->fp, &len)) != NULL) {
		no++;
		if (len && (why = file_key(c, line, len, &k)) != NULL)
			mcr_usage_error("%s:%zu: %s", ks->file, no, why);
	}
	if (ferror(ks->fp))
		mcr_usage_error("%s: %s", ks->file, strerror(errno));
	rewind(ks->fp);
}

int
mcr_metadump_line(const char *line, size_t len, struct mcr_key *k)
{
	const char *sp, *e;
	char num[24];
	size_t nl;

	if (len < 4 || memcmp(line, "key=", 4))
		return -1;
	sp = memchr(line, ' ', len);
	if (!sp)
		sp = line + len;
	if (mcr_percent_decode(line + 4, (size_t)(sp - line - 4), k->key, MCR_KEY_MAX, &k->klen) < 0 ||
	    k->klen == 0)
		return -1;
	k->exp = 0;
	for (e = sp; e + 5 <= line + len; e++) {
		if (memcmp(e, " exp=", 5))
			continue;
		e += 5;
		/* the line is not NUL-terminated: scan within it (found by fuzz/keys.c) */
		const char *end = memchr(e, ' ', (size_t)(line + len - e));
		nl = (size_t)((end ? end : line + len) - e);
		if (nl == 0 || nl >= sizeof(num))
			return -1;
		memcpy(num, e, nl);
		num[nl] = '\0';
		uint64_t v;
		if (!strcmp(num, "-1"))
			k->exp = -1;
		else if (mcr_parse_uint(num, INT64_MAX, &v) == 0)
			k->exp = (int64_t)v;
		else
			return -1;
		break;
	}
	return 0;
}

#define DUMP_HASH "lru_crawler metadump hash\r\n"
#define DUMP_ALL  "lru_crawler metadump all\r\n"

/* Reads from the socket into the buffer; returns -1 with *why on timeout, error or EOF. */
static int
fill(const struct mcr_cluster *c, struct mcr_keysrc *ks, const char **why)
{
	struct pollfd p = {.fd = ks->fd, .events = POLLIN};
	ssize_t n;

	if (ks->bcap - ks->blen < 65536) {
		ks->bcap = ks->blen + 262144;
		ks->buf = mcr_xrealloc(ks->buf, ks->bcap);
	}
	for (;;) {
		if (poll(&p, 1, (int)c->timeout_ms) <= 0) {
			*why = "no answer within the timeout";
			return -1;
		}
		n = recv(ks->fd, ks->buf + ks->blen, ks->bcap - ks->blen, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			*why = "connection closed by the server";
			return -1;
		}
		ks->blen += (size_t)n;
		return 0;
	}
}

/* Handles every complete line in the buffer; returns 1 at END, 0 for more, -1 with *why. */
static int
spool_lines(const struct mcr_cluster *c, struct mcr_keysrc *ks, const char **why)
{
	size_t off = 0;
	char *nl;
	int rc = 0;

	while (rc == 0 && (nl = memchr(ks->buf + off, '\n', ks->blen - off)) != NULL) {
		char *line = ks->buf + off;
		size_t len = (size_t)(nl - line), l = len && line[len - 1] == '\r' ? len - 1 : len;
		off += len + 1;
		if (l >= 4 && !memcmp(line, "key=", 4)) {
			if (fwrite(line, 1, len + 1, ks->spool) != len + 1) {
				*why = "cannot write the key list to a temporary file";
				rc = -1;
			}
		} else if (l == 3 && !memcmp(line, "END", 3)) {
			rc = 1;
		} else if (l >= 5 && !memcmp(line, "ERROR", 5) && !ks->fallback) {
			/* a server before `metadump hash`: the LRU walk may miss keys that move */
			ks->fallback = true;
			if (mcr_send_all(ks->fd, DUMP_ALL, strlen(DUMP_ALL), c->timeout_ms) < 0) {
				*why = "cannot send the metadump command";
				rc = -1;
			}
		} else if (l >= 4 && !memcmp(line, "BUSY", 4) && ks->busy++ < 50) {
			/* another crawl is running: ask again shortly */
			usleep(100000);
			const char *cmd = ks->fallback ? DUMP_ALL : DUMP_HASH;
			if (mcr_send_all(ks->fd, cmd, strlen(cmd), c->timeout_ms) < 0) {
				*why = "cannot send the metadump command";
				rc = -1;
			}
		} else {
			snprintf(ks->why, sizeof(ks->why), "unexpected answer \"%.*s\"",
			         (int)(l > 60 ? 60 : l), line);
			for (char *q = ks->why; *q; q++)
				if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
					*q = '?';
			*why = ks->why;
			rc = -1;
		}
	}
	memmove(ks->buf, ks->buf + off, ks->blen - off);
	ks->blen -= off;
	return rc;
}

/* metadump's exp is on the server's clock: learn its offset from ours with `stats`. */
static int
server_clock(const struct mcr_cluster *c, struct mcr_keysrc *ks, const char **why)
{
	char *nl;
	uint64_t v;

	if (mcr_send_all(ks->fd, "stats\r\n", 7, c->timeout_ms) < 0) {
		*why = "cannot send stats";
		return -1;
	}
	ks->clock_offset = 0;
	for (;;) {
		while ((nl = memchr(ks->buf, '\n', ks->blen)) != NULL) {
			size_t len = (size_t)(nl - ks->buf);
			if (len && ks->buf[len - 1] == '\r')
				ks->buf[len - 1] = '\0';
			*nl = '\0';
			bool end = !strcmp(ks->buf, "END");
			if (!strncmp(ks->buf, "STAT time ", 10) &&
			    mcr_parse_uint(ks->buf + 10, INT64_MAX, &v) == 0)
				ks->clock_offset = (int64_t)v - (int64_t)time(NULL);
			memmove(ks->buf, nl + 1, ks->blen - len - 1);
			ks->blen -= len + 1;
			if (end)
				return 0;
		}
		if (ks->blen > 65536) {
			*why = "protocol error: stats line too long";
			return -1;
		}
		if (fill(c, ks, why) < 0)
			return -1;
	}
}

/* The whole listing of one server goes to a temporary file as fast as the server sends it:
 * memcached 1.6.18 holds a lock of the item table while a metadump reader is slow (fixed in
 * 1.6.19), which would stall this tool's own reads and the applications'. */
static int
spool_server(const struct mcr_cluster *c, struct mcr_keysrc *ks, const char **why)
{
	const struct mcr_server *s = &c->servers[ks->server];
	char *cwhy = NULL;
	int rc, fd;

	if (c->username && s->port != 0) {
		*why = "a SASL server refuses the ASCII protocol that key listing needs";
		return -1;
	}
	if (!(ks->spool = tmpfile())) {
		*why = "cannot create a temporary file for the key list";
		return -1;
	}
	fd = mcr_connect(s, c->timeout_ms, &cwhy);
	if (fd < 0) {
		snprintf(ks->why, sizeof(ks->why), "%s", cwhy);
		free(cwhy);
		*why = ks->why;
		return -1;
	}
	ks->fd = fd;
	ks->blen = 0;
	if (!ks->buf)
		ks->buf = mcr_xmalloc(ks->bcap = 262144);
	ks->fallback = false;
	ks->busy = 0;
	rc = server_clock(c, ks, why);
	if (rc == 0 && mcr_send_all(fd, DUMP_HASH, strlen(DUMP_HASH), c->timeout_ms) < 0) {
		*why = "cannot send the metadump command";
		rc = -1;
	}
	while (rc == 0 && (rc = fill(c, ks, why)) == 0)
		rc = spool_lines(c, ks, why);
	close(fd);
	if (rc < 0 || fflush(ks->spool) == EOF) {
		if (rc >= 0)
			*why = "cannot write the key list to a temporary file";
		return -1;
	}
	rewind(ks->spool);
	return 0;
}

static void
spool_end(struct mcr_keysrc *ks)
{
	if (ks->spool)
		fclose(ks->spool);
	ks->spool = NULL;
	ks->server++;
}

static int
dump_next(const struct mcr_cluster *c, struct mcr_keysrc *ks, struct mcr_key *k)
{
	const char *why;
	ssize_t n;

	while (ks->server < c->nservers) {
		if (!ks->spool) {
			if (spool_server(c, ks, &why) < 0) {
				mcr_warn("%s: cannot list keys: %s", c->servers[ks->server].label, why);
				ks->trouble = true;
				spool_end(ks);
			}
			continue;
		}
		if ((n = getline(&ks->line, &ks->linecap, ks->spool)) <= 0) {
			spool_end(ks);
			continue;
		}
		size_t l = (size_t)n - (ks->line[n - 1] == '\n');
		if (l && ks->line[l - 1] == '\r')
			l--;
		if (mcr_metadump_line(ks->line, l, k) < 0) {
			char *shown = mcr_key_display(ks->line, l > 60 ? 60 : l);
			mcr_warn("%s: cannot list keys: unexpected line \"%s\"", c->servers[ks->server].label,
			         shown);
			free(shown);
			ks->trouble = true;
			spool_end(ks);
			continue;
		}
		k->origin = ks->server;
		k->expires = k->exp <= 0 ? k->exp : k->exp - ks->clock_offset;
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
			if ((line = next_line(ks->fp, &len)) == NULL) {
				if (ks->fp != stdin)
					fclose(ks->fp);
				ks->fp = NULL;
				ks->file = NULL;
				continue;
			}
			ks->lineno++;
			if (len == 0)
				continue;
			if ((why = file_key(c, line, len, k)) != NULL)
				mcr_usage_error("%s:%zu: %s", ks->file, ks->lineno, why);
		} else if (ks->all) {
			if (!dump_next(c, ks, k))
				return 0;
		} else {
			return 0;
		}
		if (in_shard(ks, k->key, k->klen))
			return 1;
	}
}

void
mcr_keys_close(struct mcr_keysrc *ks)
{
	if (ks->spool)
		fclose(ks->spool);
	if (ks->fp && ks->fp != stdin)
		fclose(ks->fp);
	free(ks->buf);
	free(ks->line);
}
