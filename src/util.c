/* Errors, numbers and memory: the small things every tool needs. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcr.h"

const char *mcr_prog = "mcr";
bool mcr_quiet;
int mcr_verbose;

void
mcr_setprog(const char *argv0)
{
	const char *p = argv0 ? strrchr(argv0, '/') : NULL;

	if (argv0 && *argv0)
		mcr_prog = p ? p + 1 : argv0;
}

/* Length of the valid UTF-8 sequence at s that is not a C1 control, or 0. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;

	if (len == 0 || len > n || s[0] >= 0xf5 || (len == 2 && s[0] == 0xc2 && s[1] < 0xa0))
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* Messages quote what users and servers typed: control bytes, escape sequences and broken
 * UTF-8 are written as \xHH, so nothing in a message can drive the terminal. */
static void
vmessage(const char *fmt, va_list ap)
{
	char buf[2048];
	const unsigned char *p = (const unsigned char *)buf;
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;

	fprintf(stderr, "%s: ", mcr_prog);
	for (size_t i = 0; i < len;) {
		size_t u = p[i] >= 0x80 ? utf8_len(p + i, len - i) : 0;
		if (u) {
			fwrite(p + i, 1, u, stderr);
			i += u;
		} else if (p[i] < 0x20 || p[i] >= 0x7f) {
			fprintf(stderr, "\\x%02X", p[i++]);
		} else {
			fputc(p[i++], stderr);
		}
	}
	fputc('\n', stderr);
}

void
mcr_warn(const char *fmt, ...)
{
	va_list ap;

	if (mcr_quiet)
		return;
	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

void
mcr_trace(const char *fmt, ...)
{
	va_list ap;

	if (mcr_verbose < 2 || mcr_quiet)
		return;
	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

void
mcr_die(int status, const char *fmt, ...)
{
	va_list ap;

	if (!mcr_quiet) {
		va_start(ap, fmt);
		vmessage(fmt, ap);
		va_end(ap);
	}
	exit(status);
}

/* Bad usage is always reported, even with -q: the caller must learn why nothing was done. */
void
mcr_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	exit(MCR_TROUBLE);
}

/* Decimal digits only: no sign, no spaces, no trailing garbage, no overflow. */
int
mcr_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

uint64_t
mcr_number(const char *what, const char *s, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (mcr_parse_uint(s, UINT64_MAX, &v) < 0)
		mcr_usage_error("%s: \"%s\" is not a non-negative whole number", what, s);
	if (v < min || v > max)
		mcr_usage_error("%s: %s is out of range (%llu to %llu)", what, s, (unsigned long long)min,
		                (unsigned long long)max);
	return v;
}

void *
mcr_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		mcr_die(MCR_TROUBLE, "out of memory");
	return p;
}

void *
mcr_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		mcr_die(MCR_TROUBLE, "out of memory");
	return p;
}

void *
mcr_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		mcr_die(MCR_TROUBLE, "out of memory");
	return p;
}

char *
mcr_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(mcr_xmalloc(n), s, n);
}

double
mcr_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A full disk or a closed pipe must not pass for success. */
void
mcr_finish_stdout(void)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		if (!mcr_quiet)
			fprintf(stderr, "%s: write error on standard output: %s\n", mcr_prog,
			        strerror(errno));
		exit(MCR_TROUBLE);
	}
}

/* After each batch: a progress line on stderr, at most twice a second (and the last one),
 * then a sleep that keeps the run at or below rate keys per second. */
void
mcr_pace(struct mcr_pace *p, uint64_t done, uint64_t bad, const char *bad_word, bool last)
{
	double now = mcr_now(), el = now - p->start;

	if (p->show && !mcr_quiet && (last || now - p->shown >= 0.5)) {
		p->shown = now;
		fprintf(stderr, "\r%s: %llu keys, %llu %s, %.0f keys/s   %s", mcr_prog,
		        (unsigned long long)done, (unsigned long long)bad, bad_word,
		        el > 0 ? (double)done / el : 0.0, last ? "\n" : "");
	}
	if (p->rate && !last) {
		double ahead = (double)done / (double)p->rate - el;
		if (ahead > 0)
			usleep((useconds_t)(ahead * 1e6));
	}
}
