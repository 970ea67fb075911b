/* Output: one record per line in text, tsv or json, with keys and values escaped
 * wherever they are listed, so no byte of a key reaches a terminal raw. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mcr.h"

static const char hex[] = "0123456789ABCDEF";

/* Percent-encoding as memcached's metadump prints keys: reversible, one token. */
static bool
key_plain(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && ch != '%';
}

void
mcr_key_encode(FILE *fp, const char *key, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)key[i];
		if (key_plain(ch)) {
			putc(ch, fp);
		} else {
			putc('%', fp);
			putc(hex[ch >> 4], fp);
			putc(hex[ch & 15], fp);
		}
	}
}

char *
mcr_key_display(const char *key, size_t len)
{
	char *s = mcr_xmalloc(3 * len + 1), *p = s;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)key[i];
		if (key_plain(ch)) {
			*p++ = (char)ch;
		} else {
			*p++ = '%';
			*p++ = hex[ch >> 4];
			*p++ = hex[ch & 15];
		}
	}
	*p = '\0';
	return s;
}

/* Backslash escapes for values and messages: \\ \t \n \r, \xHH for other control and non-ASCII bytes. */
void
mcr_escape(FILE *fp, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		switch (ch) {
		case '\\': fputs("\\\\", fp); break;
		case '\t': fputs("\\t", fp); break;
		case '\n': fputs("\\n", fp); break;
		case '\r': fputs("\\r", fp); break;
		default:
			if (ch < 0x20 || ch >= 0x7f)
				fprintf(fp, "\\x%c%c", hex[ch >> 4], hex[ch & 15]);
			else
				putc(ch, fp);
		}
	}
}

static char *
base64(const char *s, size_t len)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = mcr_xmalloc((len + 2) / 3 * 4 + 1), *p = out;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)s[i] << 16 | (uint32_t)(unsigned char)s[i + 1] << 8 |
		             (unsigned char)s[i + 2];
		*p++ = b64[v >> 18];
		*p++ = b64[v >> 12 & 63];
		*p++ = b64[v >> 6 & 63];
		*p++ = b64[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)(unsigned char)s[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)(unsigned char)s[i + 1] << 8;
		*p++ = b64[v >> 18];
		*p++ = b64[v >> 12 & 63];
		*p++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
		*p++ = '=';
	}
	*p = '\0';
	return out;
}

/* Text when the bytes are UTF-8 without NUL, else NAME_base64: any key or value gives
 * valid JSON that C-string consumers can read too. */
static void
json_bytes(json_t *obj, const char *name, const char *s, size_t len)
{
	json_t *v = memchr(s, '\0', len) ? NULL : json_stringn(s, len);
	char *b, alt[64];

	if (v) {
		json_object_set_new(obj, name, v);
		return;
	}
	b = base64(s, len);
	snprintf(alt, sizeof(alt), "%s_base64", name);
	json_object_set_new(obj, alt, json_string(b));
	free(b);
}

static void
emit_json(FILE *fp, const struct mcr_field *f, size_t n)
{
	json_t *obj = json_object();

	for (size_t i = 0; i < n; i++) {
		switch (f[i].type) {
		case MCR_F_UINT: json_object_set_new(obj, f[i].name, json_integer((json_int_t)f[i].u)); break;
		case MCR_F_REAL: json_object_set_new(obj, f[i].name, json_real((double)f[i].u / 1000)); break;
		case MCR_F_COPIES: {
			const struct mcr_copystate *cs = (const struct mcr_copystate *)(const void *)f[i].s;
			json_t *a = json_array();
			for (size_t j = 0; j < f[i].len; j++)
				json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "server", cs[j].server,
				                                   "role", cs[j].role, "state", cs[j].state));
			json_object_set_new(obj, f[i].name, a);
			break;
		}
		default:
			if (!f[i].s && f[i].type == MCR_F_MSG)
				break; /* a message only when there is one */
			if (!f[i].s)
				json_object_set_new(obj, f[i].name, json_null());
			else
				json_bytes(obj, f[i].name, f[i].s, f[i].len);
		}
	}
	json_dumpf(obj, fp, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	putc('\n', fp);
	json_decref(obj);
}

void
mcr_emit(FILE *fp, enum mcr_format fmt, const struct mcr_field *f, size_t n)
{
	char sep = fmt == MCR_TSV ? '\t' : ' ';

	if (fmt == MCR_JSON) {
		emit_json(fp, f, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (fmt == MCR_TEXT && f[i].type == MCR_F_MSG) {
			if (f[i].s && f[i].len) {
				fputs(": ", fp);
				mcr_escape(fp, f[i].s, f[i].len);
			}
			continue;
		}
		if (i)
			putc(sep, fp);
		if (f[i].type == MCR_F_UINT) {
			fprintf(fp, "%llu", (unsigned long long)f[i].u);
		} else if (f[i].type == MCR_F_REAL) {
			fprintf(fp, "%.3f", (double)f[i].u / 1000);
		} else if (f[i].type == MCR_F_COPIES) {
			const struct mcr_copystate *cs = (const struct mcr_copystate *)(const void *)f[i].s;
			for (size_t j = 0; j < f[i].len; j++)
				fprintf(fp, "%s%s(%s)=%s", j ? " " : "", cs[j].server, cs[j].role,
				        cs[j].state);
		} else if (!f[i].s)
			putc('-', fp);
		else if (f[i].type == MCR_F_KEY)
			mcr_key_encode(fp, f[i].s, f[i].len);
		else
			mcr_escape(fp, f[i].s, f[i].len);
	}
	putc('\n', fp);
}

/* One copy's outcome: a record on stdout when asked for (-v or tsv/json), otherwise
 * a warning on stderr when the copy failed. */
void
mcr_report(const struct mcr_cluster *c, enum mcr_format fmt, const struct mcr_req *r, unsigned copy,
           bool failed)
{
	char role[32];
	const char *word = mcr_result_word(r->result, r->op);
	const char *label = c->servers[r->server].label;

	mcr_role(copy, role, sizeof(role));
	if (mcr_verbose || fmt != MCR_TEXT) {
		struct mcr_field f[] = {
		    {"key", MCR_F_KEY, r->key, r->klen, 0},
		    {"server", MCR_F_STR, label, strlen(label), 0},
		    {"role", MCR_F_STR, role, strlen(role), 0},
		    {"result", MCR_F_STR, word, strlen(word), 0},
		    {"message", MCR_F_MSG, r->msg, r->msg ? strlen(r->msg) : 0, 0},
		};
		mcr_emit(stdout, fmt, f, sizeof(f) / sizeof(f[0]));
	} else if (failed && !mcr_quiet) {
		char *k = mcr_key_display(r->key, r->klen);
		fprintf(stderr, "%s: %s: %s (%s): %s%s", mcr_prog, k, label, role, word, r->msg ? ": " : "");
		if (r->msg)
			mcr_escape(stderr, r->msg, strlen(r->msg));
		putc('\n', stderr);
		free(k);
	}
}
