/* SPDX-License-Identifier: ISC */
/* Text encoders, each once: percent-encoding (keys, as memcached's metadump prints them),
 * backslash escapes (values and messages in records), base64 (JSON bytes, meta commands)
 * and server text made printable. */
#include <stdlib.h>
#include <string.h>

#include "mcr.h"

static const char hex[] = "0123456789ABCDEF";

/* A key byte that stands for itself: one token, reversible. */
static bool
key_plain(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && ch != '%';
}

size_t
mcr_pct_encode(char *out, const char *s, size_t len)
{
	char *p = out;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (key_plain(ch)) {
			*p++ = (char)ch;
		} else {
			*p++ = '%';
			*p++ = hex[ch >> 4];
			*p++ = hex[ch & 15];
		}
	}
	*p = '\0';
	return (size_t)(p - out);
}

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
mcr_pct_decode(const char *s, size_t len, char *out, size_t outmax, size_t *outlen)
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

char *
mcr_key_display(const char *key, size_t len)
{
	char *s = mcr_xmalloc(3 * len + 1);

	mcr_pct_encode(s, key, len);
	return s;
}

/* For messages: a key or a user's word, cut short. */
char *
mcr_key_shown(const char *key, size_t len)
{
	size_t n = len > 64 ? 64 : len;
	char *s = mcr_xmalloc(3 * n + 4);

	n = mcr_pct_encode(s, key, n);
	if (len > 64)
		memcpy(s + n, "...", 4);
	return s;
}

void
mcr_fput_pct(FILE *fp, const char *s, size_t len)
{
	char buf[3 * 64 + 1];

	while (len > 0) {
		size_t n = len > 64 ? 64 : len, m = mcr_pct_encode(buf, s, n);
		fwrite(buf, 1, m, fp);
		s += n;
		len -= n;
	}
}

static void
escape(FILE *fp, const char *s, size_t len, bool space)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		switch (ch) {
		case '\\': fputs("\\\\", fp); break;
		case '\t': fputs("\\t", fp); break;
		case '\n': fputs("\\n", fp); break;
		case '\r': fputs("\\r", fp); break;
		default:
			if (ch < 0x20 || ch >= 0x7f || (space && ch == ' ')) {
				putc('\\', fp);
				putc('x', fp);
				putc(hex[ch >> 4], fp);
				putc(hex[ch & 15], fp);
			} else {
				putc(ch, fp);
			}
		}
	}
}

void
mcr_fput_escaped(FILE *fp, const char *s, size_t len)
{
	escape(fp, s, len, false);
}

/* The same, and a space as \x20: one token of a space-separated record (a server name,
 * which a socket path can give any byte). */
void
mcr_fput_token(FILE *fp, const char *s, size_t len)
{
	escape(fp, s, len, true);
}

size_t
mcr_b64_encode(char *out, const char *s, size_t len)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *p = out;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v =
		    (uint32_t)(uint8_t)s[i] << 16 | (uint32_t)(uint8_t)s[i + 1] << 8 | (uint8_t)s[i + 2];
		*p++ = t[v >> 18];
		*p++ = t[v >> 12 & 63];
		*p++ = t[v >> 6 & 63];
		*p++ = t[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)(uint8_t)s[i] << 16 | (i + 1 < len ? (uint32_t)(uint8_t)s[i + 1] << 8 : 0);
		*p++ = t[v >> 18];
		*p++ = t[v >> 12 & 63];
		*p++ = i + 1 < len ? t[v >> 6 & 63] : '=';
		*p++ = '=';
	}
	*p = '\0';
	return (size_t)(p - out);
}

/* A server's words are shown to people: no control or non-ASCII byte gets through. */
char *
mcr_server_text(const char *s, size_t len)
{
	char *t = mcr_xmalloc(len + 1);

	for (size_t i = 0; i < len; i++)
		t[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ? '?' : s[i];
	t[len] = '\0';
	return t;
}

/* A key the ASCII protocol can carry as it is. */
bool
mcr_text_key(const char *key, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)key[i] <= 0x20 || key[i] == 0x7f)
			return false;
	return true;
}

/* FNV-1a 64: shards and fingerprints that are the same on every run and machine. */
uint64_t
mcr_fnv1a(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}
