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

static void
vmessage(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", mcr_prog);
	vfprintf(stderr, fmt, ap);
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
