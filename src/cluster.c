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

#define LIST_MAX     65536 /* bytes in a server list or configuration */
#define HOST_MAX     255   /* a DNS name; libmemcached crashes past 1024 */
#define SOCKPATH_MAX 107   /* sun_path */
#define TOKEN_MAX    1024

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

/* One entry of a server list; returns NULL or what is wrong with it. */
const char *
mcr_parse_server(const char *s, size_t len, struct mcr_entry *e)
{
	const char *p, *end = s + len, *colon;
	uint64_t v;
	char num[32];
	size_t hl;

	e->port = 11211;
	e->weight = 1;
	if (len == 0)
		return "empty entry";
	if (s[0] == '/') {
		if (len > SOCKPATH_MAX)
			return "socket path too long";
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return "control character in socket path";
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
	if (mcr_parse_uint(num, 1000000, &v) < 0 || v == 0) {
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
	size_t el = strcspn(s, ",");
	return mcr_key_display(s, el > 64 ? 64 : el);
}

static void
add_servers(memcached_st *memc, const char *list, const char *origin)
{
	struct mcr_entry *es;
	size_t n, which;
	const char *why = mcr_parse_servers(list, &es, &n, &which);

	if (why && which == 0)
		mcr_usage_error("%s: %s", origin, why);
	if (why)
		mcr_usage_error("%s: server %zu (\"%s\"): %s", origin, which, entry_shown(list, which), why);
	for (size_t i = 0; i < n; i++)
		add_entry(memc, &es[i], list);
	free(es);
}

static char *
read_text_file(const char *what, const char *path)
{
	size_t len;
	char *s = mcr_read_file(path, &len);

	if (!s)
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

/* The library's message without its object address and source location. */
static const char *
tidy(char *err)
{
	char *p = err, *at;

	if (*p == '(' && (at = strstr(p, ") ")) != NULL)
		p = at + 2;
	if ((at = strstr(p, " -> ")) != NULL)
		*at = '\0';
	return p;
}

/* What is wrong with a configuration string, or NULL; checked before libmemcached parses it,
 * since its parser wraps port 99999 and would take over-long hosts. err receives the parser's
 * own message when that is the problem. */
const char *
mcr_config_problem(const char *config, char *err, size_t errsize)
{
	size_t len = strlen(config), tok = 0;
	struct mcr_entry e;
	const char *why;

	if (len == 0)
		return "empty configuration";
	if (len > LIST_MAX)
		return "configuration too long (at most 65536 bytes)";
	for (const char *p = config; *p; p++) {
		if ((unsigned char)*p < 0x20 && !isspace((unsigned char)*p))
			return "control character in the configuration";
		tok = isspace((unsigned char)*p) ? 0 : tok + 1;
		if (tok > TOKEN_MAX)
			return "configuration has an option longer than 1024 bytes";
	}
	for (const char *p = config; *p; p++) {
		if (strncasecmp(p, "--SERVER=", 9) || (p > config && !isspace((unsigned char)p[-1])))
			continue;
		const char *v = p + 9;
		size_t vl = strcspn(v, " \t\r\n\v\f"), el = vl;
		const char *q = memchr(v, '/', vl);
		if (q && q > v && q + 1 < v + vl && q[1] == '?')
			el = (size_t)(q - v);
		if ((why = mcr_parse_server(v, el, &e)) != NULL) {
			char *shown = mcr_key_display(v, el > 64 ? 64 : el);
			snprintf(err, errsize, "--SERVER=%s: %s", shown, why);
			free(shown);
			return err;
		}
	}
	if (mentions(config, "CONFIGURE-FILE"))
		return "--CONFIGURE-FILE is not supported; use --config-file";
	if (libmemcached_check_configuration(config, len, err, errsize) != MEMCACHED_SUCCESS)
		return tidy(err);
	return NULL;
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

static bool
apply_behavior(memcached_st *memc, const char *spec)
{
	const char *eq = strchr(spec, '=');
	size_t nl = eq ? (size_t)(eq - spec) : 0;
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
		behave(memc, (memcached_behavior_t)b, v, spec);
		return b == MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS;
	}
	mcr_usage_error("--behavior: unknown behaviour \"%.*s\"", (int)nl, spec);
}

static void
set_distribution(memcached_st *memc, const char *name)
{
	for (size_t i = 0; i < sizeof(distributions) / sizeof(distributions[0]); i++)
		if (!strcmp(name, distributions[i].name)) {
			behave(memc, MEMCACHED_BEHAVIOR_DISTRIBUTION, distributions[i].d, "--distribution");
			return;
		}
	if (!strcmp(name, "random") || !strcmp(name, "vbucket") || !strcmp(name, "virtual-bucket"))
		mcr_usage_error(
		    "--distribution: %s places keys without a fixed server; copies cannot be located", name);
	mcr_usage_error("--distribution: unknown distribution \"%s\" (modula, consistent, ketama, "
	                "ketama-weighted, ketama-spy)",
	                name);
}

static void
set_hash(memcached_st *memc, const char *name)
{
	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (!strcmp(name, hashes[i])) {
			if (!libhashkit_has_algorithm((hashkit_hash_algorithm_t)i))
				mcr_usage_error("--hash: %s is not built into this libmemcached", name);
			behave(memc, MEMCACHED_BEHAVIOR_HASH, i, "--hash");
			return;
		}
	mcr_usage_error("--hash: unknown hash \"%s\" (default, md5, crc, fnv1_64, fnv1a_64, fnv1_32, "
	                "fnv1a_32, hsieh, murmur, jenkins, murmur3)",
	                name);
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

static void
push_server(struct mcr_cluster *c, const char *host, unsigned port)
{
	struct mcr_server *s;

	c->servers = mcr_xrealloc(c->servers, (c->nservers + 1) * sizeof(*c->servers));
	s = &c->servers[c->nservers++];
	s->host = mcr_xstrdup(host);
	s->port = port;
	s->label = label_of(host, port);
	s->conn = NULL;
	s->afd = 0;
}

static char *
password(const struct mcr_opts *o)
{
	char *p, *nl;
	const char *env;

	if (o->password_file) {
		p = read_text_file("--password-file", o->password_file);
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
	const char *config = o->config, *origin = "--config", *servers = o->servers;
	const char *sorigin = "--servers";
	char *owned = NULL;
	bool replicas_set = false;
	memcached_return_t rc;
	memcached_server_distribution_t d;

	memset(c, 0, sizeof(*c));
	c->timeout_ms = o->timeout_ms;
	if (o->config && o->config_file)
		mcr_usage_error("--config and --config-file: give one of them");
	if (o->config_file) {
		config = owned = mcr_config_lines(read_text_file("--config-file", o->config_file));
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
		replicas_set = mentions(config, "NUMBER-OF-REPLICAS");
		if (memcached_server_count(c->memc) > 0 && servers)
			mcr_usage_error(
			    "--servers and a configuration naming servers: give the servers once");
	} else {
		c->memc = memcached_create(NULL);
		if (!c->memc)
			mcr_die(MCR_TROUBLE, "out of memory");
	}
	free(owned);
	if (!servers && !o->no_env && memcached_server_count(c->memc) == 0 &&
	    (servers = getenv("MEMCACHED_SERVERS")) != NULL)
		sorigin = "MEMCACHED_SERVERS";
	if (o->username)
		c->password = password(o);

	/* Settings first, servers last, as libmemcached's own tools do. */
	behave(c->memc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1, "binary protocol");
	if (o->replicas >= 0) {
		behave(c->memc, MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS, (uint64_t)o->replicas, "--replicas");
		replicas_set = true;
	}
	if (o->distribution)
		set_distribution(c->memc, o->distribution);
	if (o->hash)
		set_hash(c->memc, o->hash);
	if (o->ketama_compatible)
		behave(c->memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1, "--ketama-compatible");
	if (o->sort_hosts)
		behave(c->memc, MEMCACHED_BEHAVIOR_SORT_HOSTS, 1, "--sort-hosts");
	if (o->namespace) {
		if (!*o->namespace || strlen(o->namespace) >= MCR_KEY_MAX)
			mcr_usage_error("--namespace: must be 1 to %d bytes", MCR_KEY_MAX - 1);
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
	if (n == 0)
		mcr_usage_error(
		    "no servers: give --servers, MEMCACHED_SERVERS or a configuration with --SERVER");
	for (uint32_t i = 0; i < n; i++) {
		const memcached_instance_st *in = memcached_server_instance_by_position(c->memc, i);
		bool sock = !strcmp(memcached_server_type(in), "SOCKET");
		if (!strcmp(memcached_server_type(in), "UDP"))
			mcr_usage_error("server %s: UDP is not supported", memcached_server_name(in));
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
			mcr_usage_error("%llu replica%s need%s at least %llu servers, the list has %u",
			                (unsigned long long)r, r == 1 ? "" : "s", r == 1 ? "s" : "",
			                (unsigned long long)r + 1, n);
		c->replicas = (unsigned)r;
	} else {
		/* default: one replica, none on a single server */
		c->replicas = n > 1 ? 1 : 0;
		behave(c->memc, MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS, c->replicas, "--replicas");
	}
	c->copies = c->replicas + 1;

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
	for (size_t i = 0; i < c->nservers; i++) {
		mcr_disconnect(&c->servers[i]);
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
	char *shown;

	if (!why)
		return;
	shown = mcr_key_display(key, len > 64 ? 64 : len);
	mcr_usage_error("key \"%s%s\": %s", shown, len > 64 ? "..." : "", why);
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
	if ((why = mcr_parse_server(spec, strlen(spec), &e)) != NULL) {
		char *shown = mcr_key_display(spec, strlen(spec) > 64 ? 64 : strlen(spec));
		mcr_usage_error("--server: \"%s\": %s", shown, why);
	}
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
