/* SPDX-License-Identifier: ISC */
/* Input: whole files (binary-safe) and memcached text-protocol storage items, every read
 * bounded: a file by its caller's limit, a command line by LINE_MAX_ITEM, an item's data by
 * its byte count (at most MCR_VALUE_MAX). So /dev/zero or a stream without a newline is
 * refused after a few kilobytes, not after gigabytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mcr.h"

#define LINE_MAX_ITEM 1024 /* "prepend", a 250-byte key, three numbers and noreply fit */

/* path ("-": stdin) whole, NUL-terminated; NULL and errno on error: EISDIR for a directory,
 * EFBIG when it holds more than max bytes (a regular file is not even read then). */
char *
mcr_read_file(const char *path, size_t max, size_t *len)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0, e = 0;
	size_t cap = 65536, n = 0;
	struct stat st;
	char *buf = NULL;
	ssize_t r;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		e = errno;
	else if (S_ISDIR(st.st_mode))
		e = EISDIR;
	else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max)
		e = EFBIG;
	if (!e) {
		buf = mcr_xmalloc(cap + 1);
		for (;;) {
			if (n == cap) {
				if (cap > max) {
					e = EFBIG;
					break;
				}
				cap = cap > max / 2 ? max + 1 : cap * 2;
				buf = mcr_xrealloc(buf, cap + 1);
			}
			r = read(fd, buf + n, cap - n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				e = errno;
			if (r <= 0)
				break;
			n += (size_t)r;
		}
		if (!e && n > max)
			e = EFBIG;
	}
	if (fd)
		close(fd);
	if (e) {
		free(buf);
		errno = e;
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* path ("-": stdin) open for reading; NULL and errno (EISDIR for a directory, which fopen
 * would open and then read as an empty file). */
FILE *
mcr_open_input(const char *path)
{
	FILE *fp = strcmp(path, "-") ? fopen(path, "r") : stdin;
	struct stat st;

	if (fp && fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		if (fp != stdin)
			fclose(fp);
		errno = EISDIR;
		return NULL;
	}
	return fp;
}

static const struct {
	const char *word;
	enum mcr_op op;
} commands[] = {
    {"set", MCR_SET},       {"add", MCR_ADD},         {"replace", MCR_REPLACE},
    {"append", MCR_APPEND}, {"prepend", MCR_PREPEND},
};

static size_t
count_lines(const char *p, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += p[i] == '\n';
	return k;
}

/* Splits the command line into at most 7 space-separated words, in place. */
static size_t
words(char *line, char **w)
{
	size_t n = 0;

	for (char *p = strtok(line, " "); p; p = strtok(NULL, " "))
		if (n < 7)
			w[n++] = p;
		else
			return 8;
	return n;
}

static const char *
parse_command(char *line, struct mcr_item *it)
{
	char *w[7];
	size_t n = words(line, w), i;
	uint64_t v;

	if (n == 0)
		return "empty command";
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(w[0], commands[i].word))
			break;
	if (i == sizeof(commands) / sizeof(commands[0]))
		return "unknown command (set, add, replace, append or prepend)";
	it->op = commands[i].op;
	if (n < 5)
		return "expected: <command> <key> <flags> <exptime> <bytes> [noreply]";
	if (n > 6 || (n == 6 && strcmp(w[5], "noreply")))
		return "trailing words after <bytes>";
	it->key = w[1];
	it->klen = strlen(w[1]);
	if (it->klen > MCR_KEY_MAX)
		return "key too long (at most 250 bytes)";
	for (const char *k = w[1]; *k; k++)
		if ((unsigned char)*k < 0x21 || *k == 0x7f)
			return "control character in key";
	if (mcr_parse_uint(w[2], UINT32_MAX, &v) < 0)
		return "bad flags (0 to 4294967295)";
	it->flags = (uint32_t)v;
	if (mcr_parse_uint(w[3], UINT32_MAX, &v) < 0)
		return "bad exptime (0 to 4294967295)";
	it->exptime = (uint32_t)v;
	if (mcr_parse_uint(w[4], MCR_VALUE_MAX, &v) < 0)
		return "bad byte count (0 to 1073741824, memcached's largest item)";
	it->dlen = (size_t)v;
	return NULL;
}

/* One line of at most max bytes, without its \n or \r\n: 1, 0 at the end of the input,
 * -1 and *err. */
static int
read_line(FILE *fp, char *buf, size_t max, size_t *len, const char **err)
{
	size_t n = 0;
	int ch;

	while ((ch = getc(fp)) != EOF && ch != '\n') {
		if (n == max) {
			*err = "command line too long (at most 1024 bytes)";
			return -1;
		}
		buf[n++] = (char)ch;
	}
	if (ch == EOF && ferror(fp)) {
		*err = strerror(errno);
		return -1;
	}
	if (ch == EOF && n == 0)
		return 0;
	if (ch == EOF) {
		*err = "command line not ended by a newline (truncated item)";
		return -1;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return 1;
}

/* The data of an item, read as it arrives (a byte count is only a claim until the bytes
 * are there), then its line end: \r\n, or \n alone. */
static const char *
read_data(FILE *fp, struct mcr_item *it)
{
	size_t have = 0, cap = it->dlen < 65536 ? it->dlen : 65536;
	int ch;

	it->data = mcr_xmalloc(cap);
	while (have < it->dlen) {
		if (have == cap) {
			cap = cap > it->dlen / 2 ? it->dlen : cap * 2;
			it->data = mcr_xrealloc(it->data, cap);
		}
		size_t r = fread(it->data + have, 1, cap - have, fp);
		if (r == 0)
			return ferror(fp) ? strerror(errno) : "data shorter than <bytes> (truncated item)";
		have += r;
	}
	ch = getc(fp);
	if (ch == '\r')
		ch = getc(fp);
	if (ch == '\n')
		return NULL;
	if (ch == EOF && ferror(fp))
		return strerror(errno);
	return ch == EOF ? "data not ended by \\r\\n (truncated item)"
	                 : "data longer than <bytes> or not ended by \\r\\n";
}

/* One item from a stream (a dump, a batch): the command line, then exactly <bytes> of data
 * and its line end. Lines may end in \r\n, as memcached's protocol has them, or in \n alone;
 * blank lines between items are skipped. Returns MCR_ITEM with a malloc'd it->key and
 * it->data, MCR_ITEM_MARK for the end mark (the no-op command `mn`), MCR_ITEM_END at the end
 * of the input, MCR_ITEM_BAD with *err; *line counts lines so errors can name the item. */
int
mcr_item_read(FILE *fp, struct mcr_item *it, size_t *line, const char **err)
{
	char cmd[LINE_MAX_ITEM + 1];
	size_t n;
	int rc;
	const char *why;

	do {
		rc = read_line(fp, cmd, LINE_MAX_ITEM, &n, err);
		if (rc == 0)
			return MCR_ITEM_END;
		++*line;
		if (rc < 0)
			return MCR_ITEM_BAD;
	} while (n == 0);
	if (n == 2 && !memcmp(cmd, "mn", 2))
		return MCR_ITEM_MARK;
	if (n != strlen(cmd)) {
		*err = "NUL byte in command line";
		return MCR_ITEM_BAD;
	}
	memset(it, 0, sizeof(*it));
	it->line = *line;
	if ((*err = parse_command(cmd, it)) != NULL)
		return MCR_ITEM_BAD;
	it->key = memcpy(mcr_xmalloc(it->klen + 1), it->key, it->klen + 1);
	if ((why = read_data(fp, it)) != NULL) {
		*err = why;
		*line = it->line;
		mcr_item_free(it);
		return MCR_ITEM_BAD;
	}
	*line += count_lines(it->data, it->dlen) + 1;
	return MCR_ITEM;
}

void
mcr_item_free(struct mcr_item *it)
{
	free(it->key);
	free(it->data);
	it->key = it->data = NULL;
}
