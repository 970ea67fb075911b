/* SPDX-License-Identifier: ISC */
/* The ASCII protocol as pure functions over byte buffers: meta `mg` requests and replies,
 * reply lines, `stats` lines, `lru_crawler metadump` lines. No I/O: fuzz/replies.c feeds
 * them any bytes, split anywhere. */
#include <string.h>

#include "mcr.h"

/* The meta commands take a key of at most 250 bytes as sent: a key that is plain text
 * goes as it is, any other in base64 (flag b), which only fits when it is at most 186
 * bytes. Returns NULL, or why this key's TTL cannot be read. */
const char *
mcr_mg_problem(const char *ns, size_t nslen, const char *key, size_t klen)
{
	if (nslen + klen <= MCR_KEY_MAX && mcr_text_key(ns, nslen) && mcr_text_key(key, klen))
		return NULL;
	if (4 * ((nslen + klen + 2) / 3) <= MCR_KEY_MAX)
		return NULL;
	return "a key of more than 186 bytes with spaces or control bytes cannot be sent in a meta command";
}

size_t
mcr_mg_size(size_t nslen, size_t klen)
{
	return 3 + 4 * ((nslen + klen + 2) / 3) + nslen + klen + 8;
}

/* n bytes of s (a piece of a command, no NUL) at out; returns n. */
static size_t
put(char *out, const char *s, size_t n)
{
	memcpy(out, s, n); /* NOLINT(bugprone-not-null-terminated-result): not a string */
	return n;
}

/* `mg <key> t` or `mg <base64 key> b t` (ttl), or the same without t (does it exist?); out:
 * mcr_mg_size() bytes. Returns the length. */
size_t
mcr_mg_encode(char *out, const char *ns, size_t nslen, const char *key, size_t klen, bool ttl)
{
	char full[2 * MCR_KEY_MAX + 2];
	size_t n = 3;
	bool plain = mcr_text_key(ns, nslen) && mcr_text_key(key, klen) && nslen + klen <= MCR_KEY_MAX;

	put(out, "mg ", 3);
	if (nslen)
		memcpy(full, ns, nslen);
	memcpy(full + nslen, key, klen);
	if (plain) {
		memcpy(out + n, full, nslen + klen);
		n += nslen + klen;
		return n + (ttl ? put(out + n, " t\r\n", 4) : put(out + n, "\r\n", 2));
	}
	n += mcr_b64_encode(out + n, full, nslen + klen);
	return n + (ttl ? put(out + n, " b t\r\n", 6) : put(out + n, " b\r\n", 4));
}

/* One reply to `mg ...`: 2 found with its TTL (*ttl: seconds left or MCR_TTL_NEVER), 1 found
 * (no t flag in the reply), 0 not found, -1 the server refused this command alone
 * (CLIENT_ERROR, SERVER_ERROR), -2 not a reply to it (the connection cannot be trusted). */
int
mcr_mg_reply(const char *line, size_t len, int64_t *ttl)
{
	char num[24];
	uint64_t v;

	if (len == 2 && !memcmp(line, "EN", 2))
		return 0;
	if ((len >= 12 && !memcmp(line, "CLIENT_ERROR", 12)) || (len >= 12 && !memcmp(line, "SERVER_ERROR", 12)))
		return -1;
	if (len < 2 || memcmp(line, "HD", 2))
		return -2;
	/* flags follow as space-separated tokens; t carries the TTL */
	for (size_t i = 2; i < len; i++) {
		if (line[i] != ' ' || i + 1 >= len || line[i + 1] != 't')
			continue;
		size_t s = i + 2, e = s;
		while (e < len && line[e] != ' ')
			e++;
		if (e - s == 0 || e - s >= sizeof(num))
			return -2;
		memcpy(num, line + s, e - s);
		num[e - s] = '\0';
		if (!strcmp(num, "-1")) {
			*ttl = MCR_TTL_NEVER;
			return 2;
		}
		/* memcached keeps times in 32 bits: anything more is not a memcached */
		if (mcr_parse_uint(num, UINT32_MAX, &v) < 0)
			return -2;
		*ttl = (int64_t)v;
		return 2;
	}
	return len == 2 || line[2] == ' ' ? 1 : -2;
}

/* The first line of p[0..len): the line without its \r\n, or NULL while it is incomplete.
 * *used counts its bytes with the line end. */
const char *
mcr_line(const char *p, size_t len, size_t max, size_t *linelen, size_t *used)
{
	const char *nl = memchr(p, '\n', len < max + 2 ? len : max + 2);

	if (!nl)
		return NULL;
	*used = (size_t)(nl - p) + 1;
	*linelen = (size_t)(nl - p) - (nl > p && nl[-1] == '\r');
	return p;
}

/* `STAT <name> <integer>`: 1 and *v when the line is that statistic, 0 otherwise. */
int
mcr_stat_line(const char *line, size_t len, const char *name, int64_t *v)
{
	size_t nl = strlen(name);
	char num[24];
	uint64_t u;

	if (len < 5 + nl + 2 || memcmp(line, "STAT ", 5) || memcmp(line + 5, name, nl) || line[5 + nl] != ' ')
		return 0;
	len -= 6 + nl;
	if (len == 0 || len >= sizeof(num))
		return 0;
	memcpy(num, line + 6 + nl, len);
	num[len] = '\0';
	if (mcr_parse_uint(num, INT64_MAX, &u) < 0)
		return 0;
	*v = (int64_t)u;
	return 1;
}

/* A number after ` name=` in a metadump line: 1 found (*v, -1 for "-1"), 0 absent, -1 bad. */
static int
field(const char *line, size_t len, const char *name, uint64_t max, int64_t *v)
{
	size_t nl = strlen(name);
	char num[24];
	uint64_t u;

	for (const char *e = line; e + nl + 2 <= line + len; e++) {
		e = memchr(e, ' ', (size_t)(line + len - e));
		if (!e || e + nl + 2 > line + len)
			break;
		if (memcmp(e + 1, name, nl) || e[nl + 1] != '=')
			continue;
		e += nl + 2;
		/* the line is not NUL-terminated: scan within it (found by fuzz/keys.c) */
		const char *end = memchr(e, ' ', (size_t)(line + len - e));
		size_t n = (size_t)((end ? end : line + len) - e);
		if (n == 0 || n >= sizeof(num))
			return -1;
		memcpy(num, e, n);
		num[n] = '\0';
		if (!strcmp(num, "-1")) {
			*v = -1;
			return 1;
		}
		if (mcr_parse_uint(num, max, &u) < 0)
			return -1;
		*v = (int64_t)u;
		return 1;
	}
	return 0;
}

/* `key=<percent-encoded> exp=<unix time or -1> la=... cas=<n> ...`; 0 and k, or -1. */
int
mcr_metadump_line(const char *line, size_t len, struct mcr_key *k)
{
	const char *sp;
	int64_t v;
	int rc;

	if (len < 4 || memcmp(line, "key=", 4))
		return -1;
	sp = memchr(line, ' ', len);
	if (!sp)
		sp = line + len;
	if (mcr_pct_decode(line + 4, (size_t)(sp - line - 4), k->key, MCR_KEY_MAX, &k->klen) < 0 ||
	    k->klen == 0)
		return -1;
	k->exp = 0;
	k->cas = 0;
	if ((rc = field(sp, (size_t)(line + len - sp), "exp", UINT32_MAX, &v)) < 0)
		return -1;
	if (rc)
		k->exp = v;
	if ((rc = field(sp, (size_t)(line + len - sp), "cas", INT64_MAX, &v)) < 0 || (rc && v < 0))
		return -1;
	if (rc)
		k->cas = (uint64_t)v;
	k->size = 0;
	if ((rc = field(sp, (size_t)(line + len - sp), "size", UINT32_MAX, &v)) < 0)
		return -1;
	if (rc)
		k->size = (uint64_t)v;
	return 0;
}

/* The fingerprint of a metadump line's key, as listing.c keeps it beside the line (FNV-1a
 * of the key with its namespace); 0 when the line has no key that decodes. */
uint64_t
mcr_metadump_fp(const char *line, size_t len)
{
	char k[MCR_KEY_MAX];
	const char *sp;
	size_t kl;

	if (len < 4 || memcmp(line, "key=", 4))
		return 0;
	sp = memchr(line + 4, ' ', len - 4);
	if (!sp)
		sp = line + len;
	return mcr_pct_decode(line + 4, (size_t)(sp - line - 4), k, sizeof(k), &kl) == 0 ? mcr_fnv1a(k, kl) : 0;
}

/* Statistic NAME in "STAT name value" lines (the answer to MCR_STATS): 1 and *v, or 0. */
int
mcr_stat(const char *stats, size_t len, const char *name, int64_t *v)
{
	size_t off = 0, l, used;

	while (off < len && mcr_line(stats + off, len - off, len, &l, &used)) {
		if (mcr_stat_line(stats + off, l, name, v))
			return 1;
		off += used;
	}
	return 0;
}
