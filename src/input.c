/* Input: whole files (binary-safe) and memcached text-protocol storage items. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcr.h"

char *
mcr_read_file(const char *path, size_t *len)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	size_t cap = 65536, n = 0;
	char *buf;
	ssize_t r;

	if (fd < 0)
		return NULL;
	buf = mcr_xmalloc(cap + 1);
	for (;;) {
		if (n == cap)
			buf = mcr_xrealloc(buf, (cap *= 2) + 1);
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (r < 0) {
		int e = errno;
		free(buf);
		if (fd)
			close(fd);
		errno = e;
		return NULL;
	}
	if (fd)
		close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
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
	if (mcr_parse_uint(w[4], (uint64_t)1 << 30, &v) < 0)
		return "bad byte count (0 to 1073741824)";
	it->dlen = (size_t)v;
	return NULL;
}

int
mcr_parse_items(char *buf, size_t len, struct mcr_item **items, size_t *nitems, const char **err,
                size_t *line)
{
	size_t off = 0, n = 0, cap = 0, lineno = 1;
	struct mcr_item *v = NULL;

	while (off < len) {
		char *p = buf + off, *nl = memchr(p, '\n', len - off);
		size_t ll;
		struct mcr_item it;

		*line = lineno;
		if (!nl) {
			*err = "command line not ended by a newline";
			goto bad;
		}
		ll = (size_t)(nl - p);
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (ll == 0) { /* blank line between items */
			off += (size_t)(nl - p) + 1;
			lineno++;
			continue;
		}
		if (memchr(p, '\0', ll)) {
			*err = "NUL byte in command line";
			goto bad;
		}
		p[ll] = '\0';
		memset(&it, 0, sizeof(it));
		if ((*err = parse_command(p, &it)) != NULL)
			goto bad;
		it.line = lineno;
		off += (size_t)(nl - p) + 1;
		lineno++;
		if (len - off < it.dlen) {
			*err = "data shorter than <bytes> (truncated item)";
			goto bad;
		}
		it.data = buf + off;
		lineno += count_lines(it.data, it.dlen);
		off += it.dlen;
		if (len - off >= 2 && buf[off] == '\r' && buf[off + 1] == '\n') {
			off += 2;
		} else if (len - off >= 1 && buf[off] == '\n') {
			off += 1;
		} else {
			*line = it.line;
			*err = len - off == 0 ? "data not ended by \\r\\n (truncated item)"
			                      : "data longer than <bytes> or not ended by \\r\\n";
			goto bad;
		}
		lineno++;
		if (n == cap)
			v = mcr_xrealloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));
		v[n++] = it;
	}
	*items = v;
	*nitems = n;
	return 0;
bad:
	free(v);
	return -1;
}

/* One item from a stream (a dump on stdin): the command line, then exactly <bytes> of data and
 * \r\n. Returns 1 with a malloc'd it->key and it->data, 0 at the end, -1 with *err; *line counts
 * lines so errors can name the item. */
int
mcr_item_read(FILE *fp, struct mcr_item *it, size_t *line, const char **err)
{
	static char *cmd;
	static size_t cap;
	ssize_t n;
	char *key;

	do {
		n = getline(&cmd, &cap, fp);
		if (n < 0) {
			free(cmd);
			cmd = NULL;
			cap = 0;
			if (ferror(fp)) {
				*err = "read error";
				return -1;
			}
			return 0;
		}
		++*line;
		if (cmd[n - 1] != '\n') {
			*err = "command line not ended by a newline (truncated item)";
			return -1;
		}
		cmd[--n] = '\0';
		if (n > 0 && cmd[n - 1] == '\r')
			cmd[--n] = '\0';
	} while (n == 0);
	if ((size_t)n != strlen(cmd)) {
		*err = "NUL byte in command line";
		return -1;
	}
	memset(it, 0, sizeof(*it));
	it->line = *line;
	if ((*err = parse_command(cmd, it)) != NULL)
		return -1;
	key = mcr_xmalloc(it->klen + 1);
	memcpy(key, it->key, it->klen + 1);
	it->key = key;
	it->data = mcr_xmalloc(it->dlen + 2);
	if (fread(it->data, 1, it->dlen + 2, fp) != it->dlen + 2 || it->data[it->dlen] != '\r' ||
	    it->data[it->dlen + 1] != '\n') {
		*err = feof(fp) ? "data shorter than <bytes> (truncated item)"
		                : "data longer than <bytes> or not ended by \\r\\n";
		free(it->key);
		free(it->data);
		return -1;
	}
	*line += count_lines(it->data, it->dlen) + 1;
	return 1;
}
