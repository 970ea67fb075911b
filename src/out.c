/* SPDX-License-Identifier: ISC */
/* Output: one record per line in text, tsv or json, with keys and values escaped
 * wherever they are listed, so no byte of a key reaches a terminal raw. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mcr.h"

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
	b = mcr_xmalloc(4 * ((len + 2) / 3) + 1);
	mcr_b64_encode(b, s, len);
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
		case MCR_F_INT: json_object_set_new(obj, f[i].name, json_integer((json_int_t)(int64_t)f[i].u)); break;
		case MCR_F_BOOL: json_object_set_new(obj, f[i].name, json_boolean(f[i].u)); break;
		case MCR_F_REAL: json_object_set_new(obj, f[i].name, json_real((double)f[i].u / 1000)); break;
		case MCR_F_TOTALS: {
			const struct mcr_totals *t = (const struct mcr_totals *)(const void *)f[i].s;
			json_t *a = json_array();
			for (size_t s = 0; s < t->nservers; s++) {
				json_t *o = json_object();
				json_bytes(o, "server", t->servers[s], strlen(t->servers[s]));
				for (size_t j = 0; j < t->nnames; j++)
					json_object_set_new(o, t->names[j], json_integer((json_int_t)t->n[s * t->nnames + j]));
				json_array_append_new(a, o);
			}
			json_object_set_new(obj, f[i].name, a);
			break;
		}
		case MCR_F_COPIES: {
			const struct mcr_copystate *cs = (const struct mcr_copystate *)(const void *)f[i].s;
			json_t *a = json_array();
			/* a server name that is not UTF-8 (a socket path can hold any byte) is
			 * "server_base64", as keys are: no copy is ever left out */
			for (size_t j = 0; j < f[i].len; j++) {
				json_t *o = json_object();
				json_bytes(o, "server", cs[j].server, strlen(cs[j].server));
				json_bytes(o, "role", cs[j].role, strlen(cs[j].role));
				json_bytes(o, "state", cs[j].state, strlen(cs[j].state));
				json_array_append_new(a, o);
			}
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
		if (f[i].type == MCR_F_TOTALS)
			continue;
		if (fmt == MCR_TEXT && f[i].type == MCR_F_MSG) {
			if (f[i].s && f[i].len) {
				fputs(": ", fp);
				mcr_fput_escaped(fp, f[i].s, f[i].len);
			}
			continue;
		}
		if (i)
			putc(sep, fp);
		if (f[i].type == MCR_F_UINT || f[i].type == MCR_F_BOOL) {
			fprintf(fp, "%llu", (unsigned long long)f[i].u);
		} else if (f[i].type == MCR_F_INT) {
			fprintf(fp, "%lld", (long long)(int64_t)f[i].u);
		} else if (f[i].type == MCR_F_REAL) {
			fprintf(fp, "%.3f", (double)f[i].u / 1000);
		} else if (f[i].type == MCR_F_COPIES) {
			/* a space-separated list in both formats: each server one token */
			const struct mcr_copystate *cs = (const struct mcr_copystate *)(const void *)f[i].s;
			for (size_t j = 0; j < f[i].len; j++) {
				if (j)
					putc(' ', fp);
				mcr_fput_token(fp, cs[j].server, strlen(cs[j].server));
				fprintf(fp, "(%s)=%s", cs[j].role, cs[j].state);
			}
		} else if (!f[i].s)
			putc('-', fp);
		else if (f[i].type == MCR_F_KEY)
			mcr_fput_pct(fp, f[i].s, f[i].len);
		else if (fmt == MCR_TEXT && f[i].type == MCR_F_STR)
			mcr_fput_token(fp, f[i].s, f[i].len); /* text fields are single tokens */
		else
			mcr_fput_escaped(fp, f[i].s, f[i].len);
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
	} else if (failed) {
		/* escaped as every diagnostic is: a server name may hold any byte */
		char *k = mcr_key_display(r->key, r->klen);
		mcr_warn("%s: %s (%s): %s%s%s", k, label, role, word, r->msg ? ": " : "",
		         r->msg ? r->msg : "");
		free(k);
	}
}
