/* SPDX-License-Identifier: ISC */
/* The cluster: server lists and configuration strings turned into a memcached_st that
 * only computes placement (libmemcached's own code, so copies land where the
 * application puts them), plus the list of servers mcr talks to itself. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libhashkit-1.0/hashkit.h>

#include "mcr.h"

#define LIST_MAX          65536 /* bytes in a server list or configuration */
#define HOST_MAX          255   /* a DNS name; libmemcached crashes past 1024 */
#define SOCKPATH_MAX      107   /* sun_path, with its NUL */
#define TOKEN_MAX         1024
#define WEIGHT_MAX        1000000
#define REPLICAS_MAX      1000000
#define NS_MAX            (MEMCACHED_MAX_NAMESPACE - 1) /* libmemcached refuses more */
#define CONFIG_FILE_MAX   ((size_t)1 << 20)
#define PASSWORD_FILE_MAX ((size_t)65536)

static const char *const hashes[] = {"default",  "md5",   "crc",    "fnv1_64", "fnv1a_64", "fnv1_32",
                                     "fnv1a_32", "hsieh", "murmur", "jenkins", "murmur3"};

static const struct {
	const char *name;
	memcached_server_distribution_t d;
} distributions[] = {
    {"modula", MEMCACHED_DISTRIBUTION_MODULA},
    {"consistent", MEMCACHED_DISTRIBUTION_CONSISTENT},
    {"ketama", MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA},
    {"ketama-weighted", MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED},
    {"ketama-spy", MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA_SPY},
};

static bool
hostchar(int ch)
{
	return isalnum(ch) || ch == '.' || ch == '-' || ch == '_';
}

/* A unix socket path that fits sun_path (the connect code copies it there), absolute, and
 * without control characters (other bytes, spaces and invalid UTF-8 included, are the
 * file system's business, and output escapes them). */
static const char *
socket_problem(const char *s, size_t len)
{
	if (len == 0 || s[0] != '/')
		return "a socket path must start with /";
	if (len > SOCKPATH_MAX)
		return "socket path too long (at most 107 bytes)";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return "control character in socket path";
	return NULL;
}

/* One entry of a server list; returns NULL or what is wrong with it. */
const char *
mcr_parse_server(const char *s, size_t len, struct mcr_entry *e)
{
	const char *p, *end = s + len, *colon;
	uint64_t v;
	char num[32];
	size_t hl;
	const char *why;

	e->port = 11211;
	e->weight = 1;
	if (len == 0)
		return "empty entry";
	if (s[0] == '/') {
		if ((why = socket_problem(s, len)) != NULL)
			return why;
		memcpy(e->host, s, len);
		e->host[len] = '\0';
		e->port = 0;
		return NULL;
	}
	if (s[0] == '[') {
		p = memchr(s, ']', len);
		if (!p)
			return "missing ] after IPv6 address";
		hl = (size_t)(p - s - 1);
		if (hl == 0 || hl > 45)
			return "bad IPv6 address";
		for (size_t i = 1; i <= hl; i++)
			if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
				return "bad IPv6 address";
		memcpy(e->host, s + 1, hl);
		e->host[hl] = '\0';
		p++;
		if (p < end && *p != ':')
			return "expected :port after ]";
	} else {
		p = memchr(s, ':', len);
		if (!p)
			p = end;
		hl = (size_t)(p - s);
		if (hl == 0)
			return "empty host name";
		if (hl > HOST_MAX)
			return "host name too long";
		for (size_t i = 0; i < hl; i++)
			if (!hostchar((unsigned char)s[i]))
				return s[i] == ' ' ? "space in host name" : "bad character in host name";
		memcpy(e->host, s, hl);
		e->host[hl] = '\0';
	}
	if (p == end)
		return NULL;
	/* p points at ':' before the port */
	p++;
	colon = memchr(p, ':', (size_t)(end - p));
	if ((size_t)((colon ? colon : end) - p) >= sizeof(num))
		return "bad port";
	memcpy(num, p, (size_t)((colon ? colon : end) - p));
	num[(colon ? colon : end) - p] = '\0';
	if (mcr_parse_uint(num, UINT64_MAX, &v) < 0)
		return "bad port";
	if (v == 0 || v > 65535)
		return "port out of range (1 to 65535)";
	e->port = (unsigned)v;
	if (!colon)
		return NULL;
	p = colon + 1;
	if ((size_t)(end - p) >= sizeof(num))
		return "bad weight";
	memcpy(num, p, (size_t)(end - p));
	num[end - p] = '\0';
	if (mcr_parse_uint(num, WEIGHT_MAX, &v) < 0 || v == 0) {
		if (memchr(p, ':', (size_t)(end - p)))
			return "too many fields (IPv6 addresses go in brackets: [addr]:port)";
		return "bad weight (1 to 1000000)";
	}
	e->weight = (uint32_t)v;
	return NULL;
}

static void
add_entry(memcached_st *memc, const struct mcr_entry *e, const char *spec)
{
	memcached_return_t rc;

	if (e->port == 0)
		rc = memcached_server_add_unix_socket_with_weight(memc, e->host, e->weight);
	else
		rc = memcached_server_add_with_weight(memc, e->host, (in_port_t)e->port, e->weight);
	if (rc != MEMCACHED_SUCCESS)
		mcr_usage_error("server \"%s\": %s", spec, memcached_strerror(memc, rc));
}

/* The whole list is checked before anything is added: libmemcached's parser crashes on some.
 * Returns NULL and the entries, or what is wrong and in which entry (*which, 0: the list). */
const char *
mcr_parse_servers(const char *list, struct mcr_entry **out, size_t *n, size_t *which)
{
	size_t len = strlen(list);
	const char *s = list, *comma, *why;
	struct mcr_entry *es;

	*n = *which = 0;
	if (len == 0)
		return "empty server list";
	if (len > LIST_MAX)
		return "server list too long (at most 65536 bytes)";
	es = mcr_xmalloc((len / 2 + 1) * sizeof(*es));
	for (;;) {
		comma = strchr(s, ',');
		size_t el = comma ? (size_t)(comma - s) : strlen(s);
		if ((why = mcr_parse_server(s, el, &es[*n])) != NULL) {
			*which = *n + 1;
			free(es);
			return why;
		}
		++*n;
		if (!comma)
			break;
		s = comma + 1;
	}
	*out = es;
	return NULL;
}

/* The n-th entry of a list, percent-encoded and cut short, for a message. */
static char *
entry_shown(const char *list, size_t n)
{
	const char *s = list;

	while (--n > 0)
		s = strchr(s, ',') + 1;
	return mcr_key_shown(s, strcspn(s, ","));
}

static void
add_servers(memcached_st *memc, const char *list, const char *origin)
{
	struct mcr_entry *es;
	size_t n, which;
	const char *why = mcr_parse_servers(list, &es, &n, &which);

	if (why && which == 0)
		mcr_usage_error("%s: %s", origin, why);
	/* "-s 'a b'": one entry with a space, read as a bad port or host */
	if (why && strpbrk(list, " \t\n"))
		mcr_usage_error("%s: server %zu (\"%s\"): %s; separate servers with commas", origin, which,
		                entry_shown(list, which), why);
	if (why)
		mcr_usage_error("%s: server %zu (\"%s\"): %s", origin, which, entry_shown(list, which), why);
	for (size_t i = 0; i < n; i++)
		add_entry(memc, &es[i], list);
	free(es);
}

static char *
read_text_file(const char *what, const char *path, size_t max)
{
	size_t len;
	char *s = mcr_read_file(path, max, &len);

	if (!s && errno == EFBIG)
		mcr_usage_error("%s: %s: larger than %zu bytes", what, path, max);
	else if (!s)
		mcr_usage_error("%s: %s: %s", what, path, strerror(errno));
	else if (memchr(s, '\0', len))
		mcr_usage_error("%s: %s: contains a NUL byte", what, path);
	return s;
}

/* A configuration file as libmemcached's --CONFIGURE-FILE reads it: options on lines, blank
 * lines and # comments allowed; joined into one string, in place. */
char *
mcr_config_lines(char *text)
{
	char *out = text, *line = text, *end;

	while (*line) {
		size_t n = strcspn(line, "\n");
		end = line + n;
		char *hash = memchr(line, '#', n), *stop = hash ? hash : end;
		while (line < stop && isspace((unsigned char)*line))
			line++;
		while (stop > line && isspace((unsigned char)stop[-1]))
			stop--;
		if (stop > line) {
			if (out != text)
				*out++ = ' ';
			memmove(out, line, (size_t)(stop - line));
			out += stop - line;
		}
		line = *end ? end + 1 : end;
	}
	*out = '\0';
	return text;
}

static bool
mentions(const char *config, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = config; *p; p++)
		if (!strncasecmp(p, word, wl))
			return true;
	return false;
}

/* The library's message without its object addresses and source locations. */
static const char *
tidy(char *err)
{
	char *p = err, *at;

	while (p[0] == '(' && p[1] == '0' && p[2] == 'x' && (at = strstr(p, ") ")) != NULL)
		p = at + 2;
	if ((at = strstr(p, " -> ")) != NULL)
		*at = '\0';
	return p;
}

/* One option of a configuration string as libmemcached's scanner reads it (case-insensitive):
 * `--NAME=VALUE` or `--NAME`, separated by white space; a value in double quotes may hold
 * spaces and backslash escapes, kept as they are. */
struct copt {
	const char *name, *val, *tail; /* tail: what follows a closing quote, up to white space */
	size_t nlen, vlen, tlen;
	bool quoted;
};

static const char *
skip_word(const char *p)
{
	while (*p && !isspace((unsigned char)*p)) {
		if (*p++ != '"')
			continue;
		while (*p && *p != '"')
			p += p[0] == '\\' && p[1] ? 2 : 1;
		if (*p)
			p++;
	}
	return p;
}

/* The option at or after *p, which moves past it; false when none is left. Words that are
 * not options are libmemcached's to judge. */
static bool
next_option(const char **p, struct copt *o)
{
	const char *s = *p, *q;

	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			return false;
		if (s[0] == '-' && s[1] == '-')
			break;
		s = skip_word(s);
	}
	memset(o, 0, sizeof(*o));
	o->name = s + 2;
	o->nlen = strcspn(o->name, "= \t\r\n\v\f");
	q = o->name + o->nlen;
	if (*q == '=') {
		o->val = ++q;
		if (*q == '"') {
			o->quoted = true;
			o->val = ++q;
			while (*q && *q != '"')
				q += q[0] == '\\' && q[1] ? 2 : 1;
			o->vlen = (size_t)(q - o->val);
			if (*q)
				q++;
			o->tail = q;
			o->tlen = (size_t)(skip_word(q) - q);
			q += o->tlen;
		} else {
			o->vlen = (size_t)(skip_word(q) - q);
			q += o->vlen;
		}
	} else {
		q = skip_word(q);
	}
	*p = q;
	return true;
}

static bool
named(const struct copt *o, const char *name)
{
	return strlen(name) == o->nlen && !strncasecmp(o->name, name, o->nlen);
}

/* The configuration's options that take a number, and the largest value each keeps whole
 * (libmemcached reads them with atoi, and keeps some in 32 bits or less). */
static const struct {
	const char *name;
	uint64_t max;
} numbered[] = {
    {"NUMBER-OF-REPLICAS", REPLICAS_MAX},
    {"CONNECT-TIMEOUT", INT32_MAX},
    {"POLL-TIMEOUT", INT32_MAX},
    {"RETRY-TIMEOUT", INT32_MAX},
    {"RCV-TIMEOUT", INT32_MAX},
    {"SND-TIMEOUT", INT32_MAX},
    {"SOCKET-RECV-SIZE", INT32_MAX},
    {"SOCKET-SEND-SIZE", INT32_MAX},
    {"IO-MSG-WATERMARK", INT32_MAX},
    {"IO-BYTES-WATERMARK", INT32_MAX},
    {"IO-KEY-PREFETCH", INT32_MAX},
    {"REMOVE-FAILED-SERVERS", INT32_MAX},
    {"POOL-MIN", INT32_MAX},
    {"POOL-MAX", INT32_MAX},
};

/* A `/?WEIGHT` suffix; NULL or what is wrong. */
static const char *
weight_problem(const char *s, size_t len)
{
	char num[16];
	uint64_t v;

	if (len < 3 || s[0] != '/' || s[1] != '?' || len - 2 >= sizeof(num))
		return "bad weight (/?1 to /?99999)";
	memcpy(num, s + 2, len - 2);
	num[len - 2] = '\0';
	if (mcr_parse_uint(num, 99999, &v) < 0 || v == 0)
		return "bad weight (/?1 to /?99999)";
	return NULL;
}

/* What is wrong with one option; err holds the message when it quotes the option. */
static const char *
option_problem(const struct copt *o, char *err, size_t errsize)
{
	const char *why = NULL, *what = NULL;
	size_t wl = 0;
	struct mcr_entry e;
	uint64_t v;

	if (named(o, "SERVER") && o->val) {
		/* host[:port][/?weight]: the host and port as a list entry */
		const char *q = memchr(o->val, '/', o->vlen);
		size_t el = q ? (size_t)(q - o->val) : o->vlen;
		what = o->val;
		wl = o->vlen;
		if (o->quoted)
			why = "a server is not quoted (--SERVER=host:port)";
		else if ((why = mcr_parse_server(o->val, el, &e)) == NULL && q)
			why = weight_problem(q, o->vlen - el);
	} else if (named(o, "SOCKET") && o->val) {
		what = o->val;
		wl = o->vlen;
		if (!o->quoted)
			why = "the socket path goes in double quotes (--SOCKET=\"/path\")";
		else if ((why = socket_problem(o->val, o->vlen)) == NULL && o->tlen)
			why = weight_problem(o->tail, o->tlen);
	} else if (named(o, "NAMESPACE") && o->val) {
		if (o->vlen > NS_MAX)
			why = "longer than 127 bytes, libmemcached's limit";
		else if (o->vlen == 0)
			why = "empty";
	} else {
		for (size_t i = 0; i < sizeof(numbered) / sizeof(numbered[0]); i++) {
			if (!named(o, numbered[i].name) || !o->val || o->quoted || o->vlen >= 32)
				continue;
			char num[32];
			memcpy(num, o->val, o->vlen);
			num[o->vlen] = '\0';
			if (mcr_parse_uint(num, UINT64_MAX, &v) == 0 && v > numbered[i].max) {
				snprintf(err, errsize, "--%s=%s: out of range (0 to %llu)", numbered[i].name,
				         num, (unsigned long long)numbered[i].max);
				return err;
			}
		}
	}
	if (!why)
		return NULL;
	if (!what) {
		snprintf(err, errsize, "--%.*s: %s", (int)o->nlen, o->name, why);
	} else {
		char *shown = mcr_key_shown(what, wl);
		snprintf(err, errsize, "--%.*s=%s%s%s: %s", (int)o->nlen, o->name, o->quoted ? "\"" : "",
		         shown, o->quoted ? "\"" : "", why);
		free(shown);
	}
	return err;
}

/* What is wrong with a configuration string, or NULL. Checked before libmemcached parses it,
 * since its parser wraps port 99999 and large numbers, takes over-long hosts and socket
 * paths, and crashes on some; err receives the message when it quotes the configuration. */
const char *
mcr_config_problem(const char *config, char *err, size_t errsize)
{
	size_t len = strlen(config), tok = 0;
	const char *why, *p = config;
	struct copt o;

	if (len == 0)
		return "empty configuration";
	if (len > LIST_MAX)
		return "configuration too long (at most 65536 bytes)";
	for (const char *c = config; *c; c++) {
		if ((unsigned char)*c < 0x20 && !isspace((unsigned char)*c))
			return "control character in the configuration";
		tok = isspace((unsigned char)*c) ? 0 : tok + 1;
		if (tok > TOKEN_MAX)
			return "configuration has an option longer than 1024 bytes";
	}
	while (next_option(&p, &o))
		if ((why = option_problem(&o, err, errsize)) != NULL)
			return why;
	if (mentions(config, "CONFIGURE-FILE"))
		return "--CONFIGURE-FILE is not supported; use --config-file";
	for (p = config; *p; p = skip_word(p)) {
		while (isspace((unsigned char)*p))
			p++;
		if (!strncasecmp(p, "INCLUDE", 7) && (!p[7] || isspace((unsigned char)p[7])))
			return "INCLUDE is not supported; use --config-file";
	}
	if (libmemcached_check_configuration(config, len, err, errsize) != MEMCACHED_SUCCESS)
		return tidy(err);
	return NULL;
}

/* Whether the configuration names the replica count (then the tools' default does not apply). */
static bool
config_replicas(const char *config)
{
	struct copt o;

	while (next_option(&config, &o))
		if (named(&o, "NUMBER-OF-REPLICAS"))
			return true;
	return false;
}

static memcached_st *
from_config(const char *config, const char *origin)
{
	char err[512];
	const char *why = mcr_config_problem(config, err, sizeof(err));
	memcached_st *memc;

	if (why)
		mcr_usage_error("%s: %s", origin, why);
	memc = memcached(config, strlen(config));
	if (!memc)
		mcr_usage_error("%s: libmemcached refused the configuration", origin);
	return memc;
}

static void
behave(memcached_st *memc, memcached_behavior_t b, uint64_t v, const char *what)
{
	memcached_return_t rc = memcached_behavior_set(memc, b, v);

	if (rc != MEMCACHED_SUCCESS)
		mcr_usage_error("%s: %s", what, memcached_strerror(memc, rc));
}

/* What is wrong with VALUE for behaviour b, or NULL: libmemcached keeps most behaviours in
 * 32 bits or in a bool, and takes a hash or distribution number it does not know for its
 * default, so every value is checked against what the behaviour can hold. */
static const char *
behavior_value_problem(memcached_behavior_t b, uint64_t v)
{
	switch (b) {
	case MEMCACHED_BEHAVIOR_HASH:
	case MEMCACHED_BEHAVIOR_KETAMA_HASH:
		if (v >= MEMCACHED_HASH_CUSTOM)
			return "is not a hash number (0 to 10: default, md5, crc, fnv1_64, fnv1a_64, "
			       "fnv1_32, fnv1a_32, hsieh, murmur, jenkins, murmur3)";
		if (!libhashkit_has_algorithm((hashkit_hash_algorithm_t)v))
			return "is a hash this libmemcached is built without";
		return NULL;
	case MEMCACHED_BEHAVIOR_DISTRIBUTION:
		if (v >= MEMCACHED_DISTRIBUTION_CONSISTENT_MAX)
			return "is not a distribution number (0 modula, 1 consistent, 2 ketama, "
			       "4 ketama-spy, 5 ketama-weighted)";
		return NULL;
	case MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS:
		return v > REPLICAS_MAX ? "is out of range (0 to 1000000)" : NULL;
	case MEMCACHED_BEHAVIOR_NO_BLOCK:
	case MEMCACHED_BEHAVIOR_TCP_NODELAY:
	case MEMCACHED_BEHAVIOR_KETAMA:
	case MEMCACHED_BEHAVIOR_SUPPORT_CAS:
	case MEMCACHED_BEHAVIOR_BUFFER_REQUESTS:
	case MEMCACHED_BEHAVIOR_SORT_HOSTS:
	case MEMCACHED_BEHAVIOR_VERIFY_KEY:
	case MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED:
	case MEMCACHED_BEHAVIOR_BINARY_PROTOCOL:
	case MEMCACHED_BEHAVIOR_HASH_WITH_PREFIX_KEY:
	case MEMCACHED_BEHAVIOR_NOREPLY:
	case MEMCACHED_BEHAVIOR_USE_UDP:
	case MEMCACHED_BEHAVIOR_AUTO_EJECT_HOSTS:
	case MEMCACHED_BEHAVIOR_RANDOMIZE_REPLICA_READ:
	case MEMCACHED_BEHAVIOR_TCP_KEEPALIVE:
	case MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS: return v > 1 ? "is not 0 (off) or 1 (on)" : NULL;
	case MEMCACHED_BEHAVIOR_SOCKET_SEND_SIZE:
	case MEMCACHED_BEHAVIOR_SOCKET_RECV_SIZE:
	case MEMCACHED_BEHAVIOR_POLL_TIMEOUT:
	case MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT:
	case MEMCACHED_BEHAVIOR_RETRY_TIMEOUT:
	case MEMCACHED_BEHAVIOR_SND_TIMEOUT:
	case MEMCACHED_BEHAVIOR_RCV_TIMEOUT:
	case MEMCACHED_BEHAVIOR_DEAD_TIMEOUT:
		return v > INT32_MAX ? "is out of range (0 to 2147483647)" : NULL;
	default: return v > UINT32_MAX ? "is out of range (0 to 4294967295)" : NULL;
	}
}

static bool
apply_behavior(memcached_st *memc, const char *spec)
{
	const char *eq = strchr(spec, '=');
	size_t nl = eq ? (size_t)(eq - spec) : 0;
	const char *why;
	uint64_t v;

	if (!eq || nl == 0)
		mcr_usage_error("--behavior: \"%s\" is not NAME=VALUE", spec);
	for (int b = 0; b < MEMCACHED_BEHAVIOR_MAX; b++) {
		const char *name = libmemcached_string_behavior((memcached_behavior_t)b);
		if (!name || strncmp(name, "MEMCACHED_BEHAVIOR_", 19))
			continue;
		name += 19;
		if (strlen(name) != nl || strncasecmp(name, spec, nl))
			continue;
		if (mcr_parse_uint(eq + 1, UINT64_MAX, &v) < 0)
			mcr_usage_error("--behavior: %.*s: \"%s\" is not a non-negative whole number",
			                (int)nl, spec, eq + 1);
		if ((why = behavior_value_problem((memcached_behavior_t)b, v)) != NULL)
			mcr_usage_error("--behavior: %.*s: %s %s", (int)nl, spec, eq + 1, why);
		behave(memc, (memcached_behavior_t)b, v, spec);
		return b == MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS;
	}
	mcr_usage_error("--behavior: unknown behaviour \"%.*s\"", (int)nl, spec);
}

static void
set_distribution(memcached_st *memc, const char *name, const char *opt)
{
	for (size_t i = 0; i < sizeof(distributions) / sizeof(distributions[0]); i++)
		if (!strcmp(name, distributions[i].name)) {
			behave(memc, MEMCACHED_BEHAVIOR_DISTRIBUTION, distributions[i].d, opt);
			return;
		}
	if (!strcmp(name, "random") || !strcmp(name, "vbucket") || !strcmp(name, "virtual-bucket"))
		mcr_usage_error("%s: %s places keys without a fixed server; copies cannot be located", opt,
		                name);
	mcr_usage_error("%s: unknown distribution \"%s\" (modula, consistent, ketama, "
	                "ketama-weighted, ketama-spy)",
	                opt, name);
}

static void
set_hash(memcached_st *memc, const char *name, const char *opt)
{
	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (!strcmp(name, hashes[i])) {
			if (!libhashkit_has_algorithm((hashkit_hash_algorithm_t)i))
				mcr_usage_error("%s: %s is not built into this libmemcached", opt, name);
			behave(memc, MEMCACHED_BEHAVIOR_HASH, i, opt);
			return;
		}
	mcr_usage_error("%s: unknown hash \"%s\" (default, md5, crc, fnv1_64, fnv1a_64, fnv1_32, "
	                "fnv1a_32, hsieh, murmur, jenkins, murmur3)",
	                opt, name);
}

static char *
label_of(const char *host, unsigned port)
{
	size_t n = strlen(host) + 16;
	char *l = mcr_xmalloc(n);

	if (port == 0)
		snprintf(l, n, "%s", host);
	else if (strchr(host, ':'))
		snprintf(l, n, "[%s]:%u", host, port);
	else
		snprintf(l, n, "%s:%u", host, port);
	return l;
}

struct named_server {
	const char *host;
	unsigned port; /* 0: unix socket */
};

/* Sockets first, then by host (a host name in any case is one name), then by port. */
static int
cmp_server(const void *a, const void *b)
{
	const struct named_server *x = a, *y = b;
	int d;

	if ((x->port == 0) != (y->port == 0))
		return x->port == 0 ? -1 : 1;
	d = x->port == 0 ? strcmp(x->host, y->host) : strcasecmp(x->host, y->host);
	if (d)
		return d;
	return x->port < y->port ? -1 : x->port > y->port;
}

/* What is wrong with the servers of memc, wherever they came from (a list, a configuration,
 * the environment): every one passes the checks of a list entry, and none is named twice
 * (by name: a host name and its address are two names; the port 11211 given or left out is
 * one). NULL, or the message in err. */
const char *
mcr_servers_problem(memcached_st *memc, char *err, size_t errsize)
{
	uint32_t n = memcached_server_count(memc);
	struct named_server *v = mcr_xcalloc(n, sizeof(*v));
	const char *why = NULL;
	char *shown;
	uint32_t i;

	for (i = 0; i < n && !why; i++) {
		const memcached_instance_st *in = memcached_server_instance_by_position(memc, i);
		const char *type = memcached_server_type(in);
		v[i].host = memcached_server_name(in);
		v[i].port = strcmp(type, "SOCKET") ? memcached_server_port(in) : 0;
		if (!strcmp(type, "UDP"))
			why = "UDP is not supported";
		else if (v[i].port == 0 && strcmp(type, "SOCKET"))
			why = "port out of range (1 to 65535)";
		else if (v[i].port == 0)
			why = socket_problem(v[i].host, strlen(v[i].host));
		else if (strlen(v[i].host) > HOST_MAX || !*v[i].host)
			why = strlen(v[i].host) ? "host name too long" : "empty host name";
	}
	if (why) {
		shown = mcr_key_shown(v[i - 1].host, strlen(v[i - 1].host));
		snprintf(err, errsize, "server \"%s\": %s", shown, why);
		free(shown);
		free(v);
		return err;
	}
	qsort(v, n, sizeof(*v), cmp_server);
	for (i = 1; i < n && !why; i++)
		if (!cmp_server(&v[i - 1], &v[i])) {
			char *label = label_of(v[i].host, v[i].port);
			shown = mcr_key_shown(label, strlen(label));
			snprintf(err, errsize, "server \"%s\" is listed twice", shown);
			why = err;
			free(shown);
			free(label);
		}
	free(v);
	return why;
}

static void
push_server(struct mcr_cluster *c, const char *host, unsigned port)
{
	struct mcr_server *s;

	c->servers = mcr_xrealloc(c->servers, (c->nservers + 1) * sizeof(*c->servers));
	s = &c->servers[c->nservers++];
	s->host = mcr_xstrdup(host);
	s->port = port;
	s->label = label_of(host, port);
}

static char *
password(const struct mcr_opts *o)
{
	char *p, *nl;
	const char *env;

	if (o->password_file) {
		p = read_text_file("--password-file", o->password_file, PASSWORD_FILE_MAX);
		if ((nl = strpbrk(p, "\r\n")) != NULL)
			*nl = '\0';
	} else if ((env = getenv("MEMCACHED_PASSWORD")) != NULL) {
		p = mcr_xstrdup(env);
	} else {
		mcr_usage_error("--username: no password: set MEMCACHED_PASSWORD or give --password-file");
	}
	if (strlen(p) > 1024)
		mcr_usage_error("SASL password too long");
	return p;
}

void
mcr_cluster_open(struct mcr_cluster *c, const struct mcr_opts *o)
{
	/* messages name the options the user gave: mcrcopy's destination is --to and --to-* */
	const char *config = o->config, *origin = o->dest ? "--to" : "--config", *servers = o->servers;
	const char *sorigin = o->dest ? "--to" : "--servers", *named_by;
	char *owned = NULL, err[512];
	bool replicas_set = false;
	memcached_return_t rc;
	memcached_server_distribution_t d;

	memset(c, 0, sizeof(*c));
	c->timeout_ms = o->timeout_ms;
	if (o->config && o->config_file)
		mcr_usage_error("--config and --config-file: give one of them");
	if (o->config_file) {
		config = owned =
		    mcr_config_lines(read_text_file("--config-file", o->config_file, CONFIG_FILE_MAX));
		origin = o->config_file;
	} else if (!config && !o->no_env && (config = getenv("LIBMEMCACHED")) != NULL) {
		origin = "LIBMEMCACHED";
	}
	if (config) {
		if (!owned)
			config = owned = mcr_xstrdup(config);
		for (size_t n = strlen(owned); n && isspace((unsigned char)owned[n - 1]); n--)
			owned[n - 1] = '\0'; /* libmemcached's parser fails on a trailing space */
		c->memc = from_config(config, origin);
		replicas_set = config_replicas(config);
		if (memcached_server_count(c->memc) > 0 && servers)
			mcr_usage_error(
			    "--servers and a configuration naming servers: give the servers once");
	} else {
		c->memc = memcached_create(NULL);
		if (!c->memc)
			mcr_die(MCR_TROUBLE, "out of memory");
	}
	free(owned);
	named_by = memcached_server_count(c->memc) > 0 ? origin : sorigin;
	if (!servers && !o->no_env && memcached_server_count(c->memc) == 0 &&
	    (servers = getenv("MEMCACHED_SERVERS")) != NULL)
		named_by = sorigin = "MEMCACHED_SERVERS";
	if (o->username)
		c->password = password(o);

	/* Settings first, servers last, as libmemcached's own tools do. */
	behave(c->memc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1, "binary protocol");
	if (o->replicas >= 0) {
		behave(c->memc, MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS, (uint64_t)o->replicas,
		       o->dest ? "--to-replicas" : "--replicas");
		replicas_set = true;
	}
	if (o->distribution)
		set_distribution(c->memc, o->distribution, o->dest ? "--to-distribution" : "--distribution");
	if (o->hash)
		set_hash(c->memc, o->hash, o->dest ? "--to-hash" : "--hash");
	if (o->ketama_compatible)
		behave(c->memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1, "--ketama-compatible");
	if (o->sort_hosts)
		behave(c->memc, MEMCACHED_BEHAVIOR_SORT_HOSTS, 1, "--sort-hosts");
	if (o->namespace) {
		/* libmemcached refuses a longer one with a message about keys from the server */
		if (!*o->namespace || strlen(o->namespace) > NS_MAX)
			mcr_usage_error("--namespace: must be 1 to %d bytes (libmemcached's limit)", NS_MAX);
		rc = memcached_callback_set(c->memc, MEMCACHED_CALLBACK_NAMESPACE, o->namespace);
		if (rc != MEMCACHED_SUCCESS)
			mcr_usage_error("--namespace: %s", memcached_strerror(c->memc, rc));
	}
	for (size_t i = 0; i < o->nbehaviors; i++)
		replicas_set |= apply_behavior(c->memc, o->behaviors[i]);
	if (servers)
		add_servers(c->memc, servers, sorigin);

	c->nservers = 0;
	uint32_t n = memcached_server_count(c->memc);
	if (n == 0 && o->dest)
		mcr_usage_error("--to: no servers: give a server list, or a configuration with --SERVER");
	if (n == 0)
		mcr_usage_error(
		    "no servers: give --servers, MEMCACHED_SERVERS or a configuration with --SERVER");
	/* every server, from wherever it came, passes the same checks before anything is sent */
	if (mcr_servers_problem(c->memc, err, sizeof(err)))
		mcr_usage_error("%s: %s", named_by, err);
	for (uint32_t i = 0; i < n; i++) {
		const memcached_instance_st *in = memcached_server_instance_by_position(c->memc, i);
		bool sock = !strcmp(memcached_server_type(in), "SOCKET");
		push_server(c, memcached_server_name(in), sock ? 0 : memcached_server_port(in));
	}

	d = (memcached_server_distribution_t)memcached_behavior_get(c->memc, MEMCACHED_BEHAVIOR_DISTRIBUTION);
	if (d == MEMCACHED_DISTRIBUTION_RANDOM || d == MEMCACHED_DISTRIBUTION_VIRTUAL_BUCKET)
		mcr_usage_error(
		    "distribution %s places keys without a fixed server; copies cannot be located",
		    libmemcached_string_distribution(d));
	if (replicas_set) {
		uint64_t r = memcached_behavior_get(c->memc, MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS);
		if (r > n - 1)
			mcr_usage_error("%s%llu replica%s need%s at least %llu servers, the list has %u",
			                o->dest ? "--to: " : "", (unsigned long long)r, r == 1 ? "" : "s",
			                r == 1 ? "s" : "", (unsigned long long)r + 1, n);
		c->replicas = (unsigned)r;
	} else {
		/* default: one replica, none on a single server */
		c->replicas = n > 1 ? 1 : 0;
		behave(c->memc, MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS, c->replicas, "--replicas");
	}
	c->copies = c->replicas + 1;
	c->replicas_stated = replicas_set || n == 1; /* one server: nothing to guess */

	const char *ns = memcached_callback_get(c->memc, MEMCACHED_CALLBACK_NAMESPACE, &rc);
	if (ns && *ns) {
		c->ns = mcr_xstrdup(ns);
		c->nslen = strlen(ns);
	}
	if (o->username)
		c->username = mcr_xstrdup(o->username);
}

void
mcr_cluster_close(struct mcr_cluster *c)
{
	if (c->net && c->net_close)
		c->net_close(c->net);
	for (size_t i = 0; i < c->nservers; i++) {
		free(c->servers[i].host);
		free(c->servers[i].label);
	}
	free(c->servers);
	free(c->ns);
	free(c->username);
	if (c->password) {
		memset(c->password, 0, strlen(c->password));
		free(c->password);
	}
	memcached_free(c->memc);
	memset(c, 0, sizeof(*c));
}

const char *
mcr_key_problem(const struct mcr_cluster *c, const char *key, size_t len)
{
	(void)key; /* the binary protocol takes any byte in a key */
	if (len == 0)
		return "empty key";
	if (len + c->nslen > MCR_KEY_MAX)
		return c->nslen ? "key too long with the namespace (at most 250 bytes)"
		                : "key too long (at most 250 bytes)";
	return NULL;
}

void
mcr_check_key(const struct mcr_cluster *c, const char *key, size_t len)
{
	const char *why = mcr_key_problem(c, key, len);

	if (why)
		mcr_usage_error("key \"%s\": %s", mcr_key_shown(key, len), why);
}

unsigned
mcr_place(const struct mcr_cluster *c, const char *key, size_t len, size_t *idx)
{
	uint32_t n = memcached_server_count(c->memc);
	uint32_t first = memcached_generate_hash(c->memc, key, len);

	for (unsigned r = 0; r < c->copies; r++)
		idx[r] = (first + r) % n;
	return c->copies;
}

size_t
mcr_server_add(struct mcr_cluster *c, const char *spec)
{
	struct mcr_entry e;
	const char *why;

	if (strchr(spec, ','))
		mcr_usage_error("--server: \"%s\": one server only", spec);
	if ((why = mcr_parse_server(spec, strlen(spec), &e)) != NULL)
		mcr_usage_error("--server: \"%s\": %s", mcr_key_shown(spec, strlen(spec)), why);
	for (size_t i = 0; i < c->nservers; i++) {
		if (c->servers[i].port == e.port && !strcmp(c->servers[i].host, e.host))
			return i;
	}
	push_server(c, e.host, e.port);
	return c->nservers - 1;
}

void
mcr_role(unsigned copy, char *buf, size_t size)
{
	if (copy == 0)
		snprintf(buf, size, "primary");
	else
		snprintf(buf, size, "replica%u", copy);
}

/* A run that writes where placement puts copies needs the replica count the application
 * uses: a wrong one makes copies look missing or stray. It is never guessed for a write. */
void
mcr_need_replicas(const struct mcr_cluster *c, const char *what, const char *option)
{
	if (!c->replicas_stated)
		mcr_usage_error("%s writes copies where the replica count puts them: give it with %s N "
		                "(or --NUMBER-OF-REPLICAS in the configuration), as the application sets it",
		                what, option);
}
