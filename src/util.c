/* SPDX-License-Identifier: ISC */
/* Errors, numbers and memory: the small things every tool needs. */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcr.h"

const char *mcr_prog = "mcr";
bool mcr_quiet;
int mcr_verbose;
volatile sig_atomic_t mcr_stop;

static struct timespec first_signal;

/* The first SIGINT or SIGTERM asks the tool to stop cleanly; another one a second or more
 * later kills it. One sent twice at once is one: timeout(1) signals the tool and then its
 * whole process group, and systemd may too. */
static void
on_signal(int sig)
{
	struct timespec now;
	int e = errno;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!mcr_stop) {
		mcr_stop = sig;
		first_signal = now;
	} else if (now.tv_sec - first_signal.tv_sec > 1 ||
	           (now.tv_sec - first_signal.tv_sec == 1 && now.tv_nsec >= first_signal.tv_nsec)) {
		signal(sig, SIG_DFL);
		raise(sig); /* delivered once the handler returns */
	}
	errno = e;
}

/* The tool starts: its name for messages, and SIGINT or SIGTERM asks it to stop cleanly
 * (on_signal). And a tool is a filter: a reader that closed its end of
 * standard output (`| head -1`) ends the run at once and quietly, by SIGPIPE, even when
 * the parent left SIGPIPE ignored or blocked. Sockets are written with MSG_NOSIGNAL. */
void
mcr_setprog(const char *argv0)
{
	const char *p = argv0 ? strrchr(argv0, '/') : NULL;
	struct sigaction sa;
	sigset_t set;

	if (argv0 && *argv0)
		mcr_prog = p ? p + 1 : argv0;
#ifdef __GLIBC__
	/* Buffers of a batch's size (values, a server's requests) come and go with every batch;
	 * glibc's mmap threshold would rise to the largest one freed and serve the next from a
	 * heap that fragments: with 64 servers a restore's RSS reached 120 MiB for 25 MiB in
	 * use. A fixed threshold gives each large buffer back when it is freed. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = 0; /* no SA_RESTART: a wait in poll() returns at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* A temporary file in $TMPDIR (default /tmp), gone once closed. */
FILE *
mcr_tmpfile(void)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	int fd;
	FILE *fp;

	if (!dir || !*dir)
		dir = "/tmp";
	path = mcr_xasprintf("%s/mcr.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd >= 0)
		unlink(path);
	free(path);
	if (fd < 0 || !(fp = fdopen(fd, "w+"))) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return fp;
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

char *
mcr_xasprintf(const char *fmt, ...)
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

double
mcr_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A closed standard output: the end of the run, quiet, as for any filter. */
_Noreturn void
mcr_stdout_closed(void)
{
	signal(SIGPIPE, SIG_DFL);
	raise(SIGPIPE);
	_exit(MCR_TROUBLE); /* not reached */
}

/* What is buffered for standard output goes out now: a reader that went away ends the
 * run (mcr_stdout_closed), and a full disk is trouble, reported at once rather than
 * after the rest of the run. */
void
mcr_check_stdout(void)
{
	int e;

	if (fflush(stdout) == EOF)
		e = errno;
	else if (ferror(stdout))
		e = EIO; /* an earlier write failed, its errno gone */
	else
		return;
	if (e == EPIPE)
		mcr_stdout_closed();
	if (!mcr_quiet)
		fprintf(stderr, "%s: write error on standard output: %s\n", mcr_prog, strerror(e));
	exit(MCR_TROUBLE);
}

/* A full disk or a closed pipe must not pass for success. */
void
mcr_finish_stdout(void)
{
	mcr_check_stdout();
}

/* After each batch: the batch's records out (so that a closed pipe or a full disk shows at
 * once), a progress line on stderr, at most twice a second (and the last one), then a sleep
 * that keeps the run at or below rate keys per second. */
void
mcr_pace(struct mcr_pace *p, uint64_t done, uint64_t bad, const char *bad_word, bool last)
{
	double now, el;

	mcr_check_stdout();
	now = mcr_now();
	el = now - p->start;
	if (p->show && !mcr_quiet && (last || now - p->shown >= 0.5)) {
		p->shown = now;
		char eta[48] = "";
		double f = p->fraction > 1 ? 1 : p->fraction;
		if (f >= 0 && (last || f == 0))
			snprintf(eta, sizeof(eta), ", %.0f%%", f * 100);
		else if (f > 0) {
			unsigned long s = (unsigned long)(el * (1 - f) / f + 0.5);
			snprintf(eta, sizeof(eta), ", %.0f%%, ETA %lu:%02lu:%02lu", f * 100, s / 3600, s / 60 % 60, s % 60);
		}
		fprintf(stderr, "\r%s: %llu keys, %llu %s, %.0f keys/s%s   %s", mcr_prog, (unsigned long long)done,
		        (unsigned long long)bad, bad_word, el > 0 ? (double)done / el : 0.0, eta, last ? "\n" : "");
	}
	if (p->rate && !last) {
		double ahead = (double)done / (double)p->rate - el;
		if (ahead > 0)
			usleep((useconds_t)(ahead * 1e6));
	}
}

/* Output files are written beside their path and renamed over it when done, so a run that
 * fails or finds nothing leaves what was there; one left unfinished is removed at exit. */
static struct mcr_outfile *outfiles[8];

static void
remove_unfinished(void)
{
	for (size_t i = 0; i < sizeof(outfiles) / sizeof(outfiles[0]); i++)
		if (outfiles[i] && outfiles[i]->tmp)
			unlink(outfiles[i]->tmp);
}

void
mcr_outfile_open(struct mcr_outfile *of, const char *path, const char *option)
{
	static bool registered;
	size_t i;

	of->path = path;
	of->option = option;
	of->tmp = mcr_xasprintf("%s.%ld.tmp", path, (long)getpid());
	if (!(of->fp = fopen(of->tmp, "w"))) {
		int e = errno;
		free(of->tmp);
		of->tmp = NULL;
		mcr_usage_error("%s: %s: %s", option, path, strerror(e));
	}
	/* reopened (a metrics file written after every pass): registered once */
	for (i = 0; i < sizeof(outfiles) / sizeof(outfiles[0]) && outfiles[i] && outfiles[i] != of; i++)
		;
	if (i < sizeof(outfiles) / sizeof(outfiles[0]))
		outfiles[i] = of;
	if (!registered)
		atexit(remove_unfinished);
	registered = true;
}

/* keep: rename over the path; otherwise the path is left as it was. */
void
mcr_outfile_close(struct mcr_outfile *of, bool keep)
{
	int e = 0;

	if (!of->tmp)
		return;
	if (fclose(of->fp) == EOF)
		e = errno;
	else if (keep && rename(of->tmp, of->path) < 0)
		e = errno;
	if (e || !keep)
		unlink(of->tmp);
	free(of->tmp);
	of->tmp = NULL;
	of->fp = NULL;
	if (e && keep)
		mcr_die(MCR_TROUBLE, "%s: %s: %s", of->option, of->path, strerror(e));
}
