/* SPDX-License-Identifier: ISC */
/* The node_exporter textfile format: samples with the operator's labels (--prometheus-label)
 * first, label values escaped so that no server name or value can break a line. */
#include <stdio.h>
#include <string.h>

#include "mcr.h"

static const char *const reserved[] = {"class", "result", "server", "state", "le", "quantile", NULL};

/* NAME=VALUE: a label name as Prometheus allows it, not one the metrics use themselves. */
const char *
mcr_prom_label_problem(const char *nv)
{
	const char *eq = strchr(nv, '=');
	size_t n = eq ? (size_t)(eq - nv) : 0;

	if (!eq)
		return "not NAME=VALUE";
	if (n == 0 || n > 64)
		return "a label name has 1 to 64 characters";
	for (size_t i = 0; i < n; i++) {
		char ch = nv[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || (i > 0 && ch >= '0' && ch <= '9');
		if (!ok)
			return "a label name is letters, digits and _, not starting with a digit";
	}
	if (n >= 2 && nv[0] == '_' && nv[1] == '_')
		return "label names starting with __ are Prometheus's own";
	for (size_t i = 0; reserved[i]; i++)
		if (strlen(reserved[i]) == n && !strncmp(nv, reserved[i], n))
			return "the metrics use this label name themselves";
	if (strlen(eq + 1) > 1024)
		return "a label value has at most 1024 bytes";
	return NULL;
}

/* A label value: \, " and newline escaped as the format asks; other control bytes, DEL and
 * bytes outside ASCII percent-encoded (a socket path may hold anything), and % too. */
static void
value(FILE *fp, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\\' || ch == '"')
			fprintf(fp, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", fp);
		else if (ch < 0x20 || ch >= 0x7f || ch == '%')
			fprintf(fp, "%%%02X", ch);
		else
			putc(ch, fp);
	}
}

void
mcr_prom_help(const struct mcr_prom *p, const char *name, const char *type, const char *help)
{
	fprintf(p->fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample: NAME{operator's labels, k1="v1", k2="v2"} VALUE; k1 and k2 may be NULL. */
void
mcr_prom_sample(const struct mcr_prom *p, const char *name, const char *k1, const char *v1, const char *k2,
                const char *v2, const char *val)
{
	const char *k[2] = {k1, k2}, *v[2] = {v1, v2};
	bool any = false;

	fputs(name, p->fp);
	for (size_t i = 0; i < p->nlabels; i++) {
		const char *eq = strchr(p->labels[i], '=');
		fprintf(p->fp, "%c%.*s=\"", any ? ',' : '{', (int)(eq - p->labels[i]), p->labels[i]);
		value(p->fp, eq + 1, strlen(eq + 1));
		putc('"', p->fp);
		any = true;
	}
	for (size_t i = 0; i < 2; i++) {
		if (!k[i])
			continue;
		fprintf(p->fp, "%c%s=\"", any ? ',' : '{', k[i]);
		value(p->fp, v[i], strlen(v[i]));
		putc('"', p->fp);
		any = true;
	}
	fprintf(p->fp, "%s %s\n", any ? "}" : "", val);
}

/* --prometheus-label=NAME=VALUE, once per label, a name once. */
void
mcr_prom_add_label(struct mcr_prom *p, const char *nv)
{
	const char *why = mcr_prom_label_problem(nv);
	size_t n = strcspn(nv, "=");

	if (why)
		mcr_usage_error("--prometheus-label: \"%s\": %s", mcr_key_shown(nv, strlen(nv)), why);
	for (size_t i = 0; i < p->nlabels; i++)
		if (strcspn(p->labels[i], "=") == n && !strncmp(p->labels[i], nv, n))
			mcr_usage_error("--prometheus-label: %.*s given twice", (int)n, nv);
	if (p->nlabels == sizeof(p->labels) / sizeof(p->labels[0]))
		mcr_usage_error("--prometheus-label: at most %zu labels", sizeof(p->labels) / sizeof(p->labels[0]));
	p->labels[p->nlabels++] = nv;
}
