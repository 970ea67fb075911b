/* mcr: the common module shared by every tool (options, cluster and placement,
 * per-copy binary-protocol operations, input, output). */
#ifndef MCR_H
#define MCR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libmemcached/memcached.h>

/* Exit statuses, as cmp(1) and diff(1). */
enum { MCR_YES = 0, MCR_NO = 1, MCR_TROUBLE = 2 };

#define MCR_KEY_MAX         250
#define MCR_DEFAULT_TIMEOUT 3000

/* util.c */
extern const char *mcr_prog;
extern bool mcr_quiet;
extern int mcr_verbose;
void mcr_setprog(const char *argv0);
void mcr_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mcr_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void mcr_die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void mcr_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int mcr_parse_uint(const char *s, uint64_t max, uint64_t *out);
uint64_t mcr_number(const char *what, const char *s, uint64_t min, uint64_t max);
void *mcr_xmalloc(size_t n);
void *mcr_xrealloc(void *p, size_t n);
void *mcr_xcalloc(size_t n, size_t size);
char *mcr_xstrdup(const char *s);
double mcr_now(void);
void mcr_finish_stdout(void);

struct mcr_pace {
	double start, shown;
	uint64_t rate; /* keys per second, 0: no limit */
	bool show;     /* progress line */
};
void mcr_pace(struct mcr_pace *p, uint64_t done, uint64_t bad, const char *bad_word, bool last);

/* opts.c: options every tool accepts, merged with a tool's own */
enum mcr_format { MCR_TEXT, MCR_TSV, MCR_JSON };

struct mcr_opts {
	const char *servers;
	const char *config;
	const char *config_file;
	long replicas; /* -1: not given */
	const char *distribution;
	const char *hash;
	bool ketama_compatible;
	const char *namespace;
	const char *behaviors[64];
	size_t nbehaviors;
	bool sort_hosts;
	unsigned timeout_ms;
	const char *username;
	const char *password_file;
	enum mcr_format format;
	bool no_env; /* ignore MEMCACHED_SERVERS and LIBMEMCACHED (mcrcopy's destination) */
};

/* A tool's own option: `id` (500 to 999) is passed to the tool's handler. */
struct mcr_option {
	const char *name;
	int shortopt;    /* 0: long only */
	const char *arg; /* NULL: no argument; "[NAME]": optional, given as --opt=NAME */
	const char *help;
	int id;
};

struct mcr_tool {
	const char *name;
	const char *const *synopsis; /* NULL-terminated operand lines */
	const char *summary;
	const struct mcr_option *options; /* terminated by a NULL name */
	void (*handle)(int id, const char *arg, void *ctx);
	void *ctx;
};

int mcr_parse_options(const struct mcr_tool *tool, struct mcr_opts *o, int argc, char **argv);
_Noreturn void mcr_usage(const struct mcr_tool *tool, int status);

/* cluster.c: the server list and libmemcached's placement */
struct mcr_conn;

struct mcr_server {
	char *host;    /* host name, address or socket path */
	unsigned port; /* 0: unix socket */
	char *label;   /* host:port, [v6]:port or the socket path */
	struct mcr_conn *conn;
	int afd; /* ASCII side connection for meta commands; 0: not opened, -1: failed */
};

struct mcr_cluster {
	memcached_st *memc; /* holds the placement settings, never does I/O */
	struct mcr_server *servers;
	size_t nservers;
	unsigned replicas;
	unsigned copies; /* min(replicas + 1, nservers) */
	char *ns;
	size_t nslen;
	unsigned timeout_ms;
	char *username;
	char *password;
};

/* One server list entry. */
struct mcr_entry {
	char host[256]; /* a host name (at most 255 bytes), an address, or a socket path */
	unsigned port;  /* 0: unix socket */
	uint32_t weight;
};

/* The parsers return NULL or what is wrong; they never exit (fuzz/ drives them). */
const char *mcr_parse_server(const char *s, size_t len, struct mcr_entry *e);
const char *mcr_parse_servers(const char *list, struct mcr_entry **out, size_t *n, size_t *which);
const char *mcr_config_problem(const char *config, char *err, size_t errsize);
char *mcr_config_lines(char *text);
void mcr_cluster_open(struct mcr_cluster *c, const struct mcr_opts *o);
void mcr_cluster_close(struct mcr_cluster *c);
void mcr_check_key(const struct mcr_cluster *c, const char *key, size_t len);
const char *mcr_key_problem(const struct mcr_cluster *c, const char *key, size_t len);
/* Fills idx[0..copies-1] with server indexes, primary first; returns copies. */
unsigned mcr_place(const struct mcr_cluster *c, const char *key, size_t len, size_t *idx);
size_t mcr_server_add(struct mcr_cluster *c, const char *spec); /* an extra server, for --server */
void mcr_role(unsigned copy, char *buf, size_t size);

/* proto.c: pipelined binary-protocol requests, every one acknowledged */
enum mcr_op { MCR_GET, MCR_SET, MCR_ADD, MCR_REPLACE, MCR_APPEND, MCR_PREPEND, MCR_DELETE };

enum mcr_result {
	MCR_PENDING,
	MCR_OK, /* stored, deleted, found */
	MCR_NOTFOUND,
	MCR_EXISTS,
	MCR_NOTSTORED,
	MCR_TOOLARGE,
	MCR_ERROR,       /* any other server error; msg says which */
	MCR_UNREACHABLE, /* no answer: refused, timed out, closed */
	MCR_SKIPPED      /* not sent, by decision of the tool */
};

struct mcr_req {
	size_t server;
	enum mcr_op op;
	const char *key;
	size_t klen;
	const void *val;
	size_t vlen;
	uint32_t flags;
	uint32_t exptime;
	uint64_t cas;
	/* results */
	enum mcr_result result;
	char *msg;  /* why, when not OK (malloc'd) */
	char *rval; /* value read (malloc'd) */
	size_t rlen;
	uint32_t rflags;
	uint64_t rcas;
};

void mcr_run(struct mcr_cluster *c, struct mcr_req *reqs, size_t n);
int mcr_connect(const struct mcr_server *s, unsigned timeout_ms, char **why); /* a socket, or -1 and why */
int mcr_send_all(int fd, const char *buf, size_t len, unsigned timeout_ms);
void mcr_disconnect(struct mcr_server *s);
#define MCR_TTL_ABSENT (-2)
int mcr_ttls(struct mcr_cluster *c, size_t server, const char *const *keys, const size_t *klens, size_t n,
             int64_t *ttl);
void mcr_req_clear(struct mcr_req *r);
const char *mcr_result_word(enum mcr_result r, enum mcr_op op);

/* input.c */
char *mcr_read_file(const char *path, size_t *len); /* "-" is stdin; NULL and errno on error */

struct mcr_item {
	enum mcr_op op;
	char *key;
	size_t klen;
	uint32_t flags;
	uint32_t exptime;
	char *data;
	size_t dlen;
	size_t line;
};
/* Parses text-protocol storage items from buf; returns 0, or -1 with *err and *line set. */
int mcr_parse_items(char *buf, size_t len, struct mcr_item **items, size_t *nitems, const char **err,
                    size_t *line);
int mcr_item_read(FILE *fp, struct mcr_item *it, size_t *line, const char **err);

/* keys.c: where the keys to work on come from (operands, a key file, every key on every
 * server), filtered to one shard; shared by mcrverify and mcrcopy. */
struct mcr_key {
	char key[MCR_KEY_MAX + 1];
	size_t klen;
	size_t origin;   /* the server whose metadump listed it, or SIZE_MAX */
	int64_t exp;     /* metadump's exp, on the server's clock; -1: never; 0: unknown */
	int64_t expires; /* the same on this machine's clock (unix time); -1: never; 0: unknown */
};

struct mcr_keysrc {
	char **args; /* operands */
	size_t nargs;
	const char *file;        /* -k: one percent-encoded key per line, "-" is stdin */
	bool all;                /* -a: lru_crawler metadump all on every server */
	uint64_t shard, nshards; /* shard I of N, 1-based; nshards 0: all */
	/* state */
	size_t next;
	FILE *fp;
	size_t lineno;
	size_t server; /* the server being listed */
	FILE *spool;   /* its listing, read whole into a temporary file */
	int fd;
	char *buf;
	size_t blen, bcap;
	char *line;
	size_t linecap;
	bool fallback;        /* the server knows only metadump all */
	unsigned busy;        /* BUSY answers so far */
	int64_t clock_offset; /* server time minus local time, from `stats` */
	char why[128];
	size_t skipped_foreign; /* keys outside the namespace */
	bool trouble;           /* a server could not be listed */
};

const char *mcr_parse_shard(const char *arg, uint64_t *shard, uint64_t *nshards);
void mcr_shard_parse(struct mcr_keysrc *ks, const char *arg);
int mcr_keys_next(struct mcr_cluster *c, struct mcr_keysrc *ks, struct mcr_key *k);
void mcr_keys_close(struct mcr_keysrc *ks);
int mcr_percent_decode(const char *s, size_t len, char *out, size_t outmax, size_t *outlen);
int mcr_metadump_line(const char *line, size_t len, struct mcr_key *k);

/* out.c: one record in text, tsv or json */
enum mcr_ftype { MCR_F_KEY, MCR_F_STR, MCR_F_UINT, MCR_F_VALUE, MCR_F_MSG, MCR_F_COPIES, MCR_F_REAL };

/* MCR_F_COPIES: `s` points to `len` of these */
struct mcr_copystate {
	const char *server;
	const char *role;
	const char *state;
};

struct mcr_field {
	const char *name;
	enum mcr_ftype type;
	const char *s;
	size_t len;
	uint64_t u; /* MCR_F_UINT; MCR_F_REAL: thousandths, shown as a decimal */
};

void mcr_emit(FILE *fp, enum mcr_format fmt, const struct mcr_field *f, size_t n);
void mcr_key_encode(FILE *fp, const char *key, size_t len);
void mcr_escape(FILE *fp, const char *s, size_t len);
char *mcr_key_display(const char *key, size_t len); /* percent-encoded, malloc'd */
void mcr_report(const struct mcr_cluster *c, enum mcr_format fmt, const struct mcr_req *r, unsigned copy,
                bool failed);

#endif
