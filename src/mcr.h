/* SPDX-License-Identifier: ISC */
/* mcr: the common module every tool is built on. One header, one file per concern, each
 * layer calling only the layers above it in this file:
 *
 *   util.c     errors, numbers, memory, clocks, pacing
 *   enc.c      text encoders: percent, backslash, base64, server text
 *   opts.c     the options every tool shares, merged with a tool's own
 *   cluster.c  server lists, configuration strings, placement (no sockets)
 *   conn.c     connections: sockets, connect and SASL as states, back-off, the poll loop
 *   frame.c    the binary protocol codec: requests to bytes, bytes to replies (no I/O)
 *   text.c     the ASCII protocol codec: mg replies, stats lines, metadump lines (no I/O)
 *   engine.c   per-copy requests on connections: binary and meta (mg), retried once
 *   listing.c  every key of a server (lru_crawler metadump), spooled to a temporary file
 *   fan.c      the key x copy matrix: every copy's request, skip flags, fallback reads
 *   keys.c     key sources (operands, files, listings, shards) and the first-listing rule
 *   input.c    files and memcached text-protocol storage items
 *   out.c      records in text, tsv or json
 */
#ifndef MCR_H
#define MCR_H

#include <signal.h>
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
extern volatile sig_atomic_t mcr_stop; /* the signal that asked the tool to stop, or 0 */
void mcr_setprog(const char *argv0);
FILE *mcr_tmpfile(void);
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
char *mcr_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double mcr_now(void);
void mcr_check_stdout(void);
_Noreturn void mcr_stdout_closed(void);
void mcr_finish_stdout(void);

struct mcr_outfile {
	const char *path, *option;
	char *tmp; /* being written; NULL once closed */
	FILE *fp;
};
void mcr_outfile_open(struct mcr_outfile *of, const char *path, const char *option);
void mcr_outfile_close(struct mcr_outfile *of, bool keep);

struct mcr_pace {
	double start, shown;
	uint64_t rate; /* keys per second, 0: no limit */
	bool show;     /* progress line */
	double fraction; /* of the keys read so far, for a percentage and an ETA; < 0: unknown */
};
void mcr_pace(struct mcr_pace *p, uint64_t done, uint64_t bad, const char *bad_word, bool last);

/* enc.c: every text encoding, once */
size_t mcr_pct_encode(char *out, const char *s, size_t len); /* out: 3 * len + 1; returns its length */
int mcr_pct_decode(const char *s, size_t len, char *out, size_t outmax, size_t *outlen);
char *mcr_key_display(const char *key, size_t len); /* percent-encoded, malloc'd */
char *mcr_key_shown(const char *key, size_t len);   /* the same, cut at 64 bytes with "..." */
void mcr_fput_pct(FILE *fp, const char *s, size_t len);
void mcr_fput_escaped(FILE *fp, const char *s, size_t len); /* \\ \t \n \r \xHH */
void mcr_fput_token(FILE *fp, const char *s, size_t len);   /* the same, a space as \x20 */
size_t mcr_b64_encode(char *out, const char *s, size_t len); /* out: 4 * ((len + 2) / 3) + 1 */
char *mcr_server_text(const char *s, size_t len);          /* control and non-ASCII bytes as ?, malloc'd */
bool mcr_text_key(const char *key, size_t len);             /* no byte <= 0x20 nor 0x7f */
uint64_t mcr_fnv1a(const char *s, size_t len);              /* stable across runs and machines */

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
	bool dest;   /* mcrcopy's destination: messages name --to and --to-replicas, -distribution, -hash */
	/* key sources, for the tools that take them (mcr_tool.keys) */
	const char *keys_file;
	bool all;
	uint64_t shard, nshards; /* shard I of N, 1-based; nshards 0: all */
	const char *match;       /* --match: fnmatch(3) pattern on the key, NULL: all */
	uint64_t rate;           /* keys per second, 0: no limit */
	size_t batch;            /* keys per round trip */
	size_t batch_bytes;      /* and bytes of values (an estimate made before reading) */
	bool batch_given;        /* --batch; else mcr_batch_default */
	int progress;            /* -1: when stderr is a terminal */
	unsigned misplaced_limit; /* percent of keys outside their copy set that stops writes */
};

/* A tool's own option: `id` (500 to 999) is passed to the tool's handler. */
struct mcr_option {
	const char *name;
	int shortopt;    /* 0: long only */
	const char *arg; /* NULL: no argument; "[NAME]": optional, given as --opt=NAME; "[NAME]a|b":
	                  * its values, refused as the next word (--opt a would read a as a key);
	                  * "[NAME]#": any number is */
	const char *help;
	int id;
};

struct mcr_tool {
	const char *name;
	const char *const *synopsis; /* NULL-terminated operand lines, as in the man page */
	const char *summary;
	const struct mcr_option *options; /* terminated by a NULL name */
	void (*handle)(int id, const char *arg);
	bool keys; /* takes the key-source options: -k, -a, --shard, --rate, --batch, --progress */
};

int mcr_parse_options(const struct mcr_tool *tool, struct mcr_opts *o, int argc, char **argv);
const char *mcr_parse_shard(const char *arg, uint64_t *shard, uint64_t *nshards);
_Noreturn void mcr_usage(const struct mcr_tool *tool, int status);

/* cluster.c: the server list and libmemcached's placement; no sockets */
struct mcr_net; /* conn.c: the connections to the cluster's servers */

struct mcr_server {
	char *host;    /* host name, address or socket path */
	unsigned port; /* 0: unix socket */
	char *label;   /* host:port, [v6]:port or the socket path */
};

struct mcr_cluster {
	memcached_st *memc; /* holds the placement settings, never does I/O */
	struct mcr_server *servers;
	size_t nservers;
	unsigned replicas;
	bool replicas_stated; /* by -r, a configuration or --behavior, not the default */
	unsigned copies;      /* min(replicas + 1, nservers) */
	char *ns;
	size_t nslen;
	unsigned timeout_ms;
	char *username;
	char *password;
	struct mcr_net *net;                /* opened by conn.c on first use */
	void (*net_close)(struct mcr_net *); /* set by conn.c: cluster.c never calls it by name */
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
const char *mcr_servers_problem(memcached_st *memc, char *err, size_t errsize);
char *mcr_config_lines(char *text);
void mcr_cluster_open(struct mcr_cluster *c, const struct mcr_opts *o);
void mcr_cluster_close(struct mcr_cluster *c);
void mcr_check_key(const struct mcr_cluster *c, const char *key, size_t len);
const char *mcr_key_problem(const struct mcr_cluster *c, const char *key, size_t len);
/* Fills idx[0..copies-1] with server indexes, primary first; returns copies. */
unsigned mcr_place(const struct mcr_cluster *c, const char *key, size_t len, size_t *idx);
size_t mcr_server_add(struct mcr_cluster *c, const char *spec); /* an extra server, for --server */
void mcr_need_replicas(const struct mcr_cluster *c, const char *what, const char *option);
void mcr_role(unsigned copy, char *buf, size_t size);

/* Requests: what the engine sends, one per copy, and what it hands back. */
enum mcr_op {
	MCR_GET,
	MCR_SET,
	MCR_ADD,
	MCR_REPLACE,
	MCR_APPEND,
	MCR_PREPEND,
	MCR_DELETE,
	MCR_TTL,   /* remaining time to live: the meta command mg, on an ASCII connection */
	MCR_STATS, /* the server's statistics: rval holds "STAT name value" lines */
	MCR_HAS,   /* does the copy exist? (mg, no value); a get where mg cannot go */
};

enum mcr_result {
	MCR_UNSENT, /* not sent (yet): skipped by the tool */
	MCR_OK,     /* stored, deleted, found */
	MCR_NOTFOUND,
	MCR_EXISTS,
	MCR_NOTSTORED,
	MCR_TOOLARGE,
	MCR_ERROR,       /* any other server error; msg says which */
	MCR_UNREACHABLE, /* no answer: refused, timed out, closed */
};

#define MCR_TTL_NEVER (-1)

struct mcr_req {
	/* the request */
	size_t server;
	enum mcr_op op;
	bool skip; /* not sent by the next run: its answer stays as it was */
	const char *key;
	size_t klen;
	const void *val;
	size_t vlen;
	uint32_t flags;
	uint32_t exptime;
	uint64_t cas;
	/* the answer */
	enum mcr_result result;
	char *msg;  /* why, when not OK (malloc'd) */
	char *rval; /* value read (malloc'd) */
	size_t rlen;
	uint32_t rflags;
	uint64_t rcas;
	int64_t ttl; /* MCR_TTL: seconds left, MCR_TTL_NEVER */
	/* the engine's */
	unsigned tries;
};

/* conn.c: one connection per server and kind, driven by one poll loop */
enum mcr_kind { MCR_CONN_BIN, MCR_CONN_META, MCR_CONN_LIST, MCR_NKINDS };

struct mcr_conn;
struct mcr_handler {
	/* complete replies at the front of the read buffer: bytes used, or -1 and *why */
	long (*consume)(struct mcr_conn *cn, char **why);
	/* the connection is gone (cn->why says why): fail or retry what it did not answer,
	 * req[i] fully sent to the server when sent[i] */
	void (*lost)(struct mcr_conn *cn, struct mcr_req **req, const bool *sent, size_t n);
};

struct mcr_conn {
	struct mcr_cluster *c;
	size_t server;
	enum mcr_kind kind;
	const struct mcr_handler *h;
	int fd; /* -1: none */
	int state;
	char *why;           /* why the server is given up for now; NULL when it is not */
	bool fatal;          /* given up for good (authentication, protocol) */
	double next_connect; /* no new connection before (back-off after a failure) */
	double deadline;     /* of the current wait */
	void *addrs, *next_addr;
	char *wbuf;
	size_t wlen, woff, wcap;
	char *rbuf;
	size_t rlen, rcap;
	char *abuf; /* the SASL request, sent before anything else */
	size_t alen, aoff;
	/* the requests sent and not yet answered, in order; ends[i]: where their bytes end in wbuf */
	struct mcr_req **pend;
	size_t *ends;
	size_t npend, pnext, pcap;
	void *ctx; /* the kind's own state (listing.c) */
};

struct mcr_conn *mcr_conn(struct mcr_cluster *c, size_t server, enum mcr_kind kind,
                          const struct mcr_handler *h);
bool mcr_conn_open(struct mcr_conn *cn, bool now);
void mcr_conn_retry_all(struct mcr_cluster *c);
char *mcr_conn_reserve(struct mcr_conn *cn, size_t n);
void mcr_conn_push(struct mcr_conn *cn, struct mcr_req *r);
void mcr_conn_fail(struct mcr_conn *cn, char *why, bool fatal);
void mcr_conn_close(struct mcr_conn *cn);
void mcr_loop(struct mcr_cluster *c);

/* frame.c: the binary protocol, as pure functions over byte buffers */
#define MCR_HDR 24

struct mcr_frame {
	uint8_t opcode;
	uint16_t status;
	uint32_t opaque;
	uint64_t cas;
	const char *extras, *key, *value;
	size_t elen, klen, vlen;
};

uint8_t mcr_opcode(enum mcr_op op);
size_t mcr_frame_size(const struct mcr_req *r, size_t nslen);
void mcr_frame_encode(char *out, const struct mcr_req *r, const char *ns, size_t nslen, uint32_t opaque);
size_t mcr_frame_sasl(char *out, size_t size, const char *user, const char *password);
long mcr_frame_decode(const char *p, size_t len, size_t body_max, struct mcr_frame *f,
                      const char **why);

/* text.c: the ASCII protocol, as pure functions over byte buffers */
struct mcr_key; /* keys.c */
size_t mcr_mg_encode(char *out, const char *ns, size_t nslen, const char *key, size_t klen, bool ttl);
size_t mcr_mg_size(size_t nslen, size_t klen);
const char *mcr_mg_problem(const char *ns, size_t nslen, const char *key, size_t klen);
int mcr_mg_reply(const char *line, size_t len, int64_t *ttl);
const char *mcr_line(const char *p, size_t len, size_t max, size_t *linelen, size_t *used);
int mcr_stat_line(const char *line, size_t len, const char *name, int64_t *v);
int mcr_stat(const char *stats, size_t len, const char *name, int64_t *v);
int mcr_metadump_line(const char *line, size_t len, struct mcr_key *k);
uint64_t mcr_metadump_fp(const char *line, size_t len); /* its key's fingerprint; 0: no key */

/* engine.c: requests over the network, every one acknowledged. Requests to a server are
 * pipelined, all servers at once; a request with `skip` set is not sent. */
void mcr_run(struct mcr_cluster *c, struct mcr_req *reqs, size_t n);
void mcr_req_clear(struct mcr_req *r);
const char *mcr_result_word(enum mcr_result r, enum mcr_op op);
uint32_t mcr_exptime(int64_t ttl, int64_t now); /* seconds left -> exptime memcached reads back */

/* listing.c: one server's keys, whole, into a temporary file */
struct mcr_listing {
	FILE *spool;          /* metadump lines, one per key */
	FILE *fps;            /* an 8-byte fingerprint (mcr_fnv1a) of each key listed, as listed */
	int64_t clock_offset; /* the server's clock minus ours */
	int64_t pid, started; /* who answered: a restart changes them */
	const char *why;      /* when it could not be listed */
	bool again;           /* and trying again may help (not refused for good) */
	char whybuf[160];
};
void mcr_list_servers(struct mcr_cluster *c, const bool *want, struct mcr_listing *l);

/* fan.c: the key x copy matrix. Key i's copy r is request f->req[i * f->width + r]; copies
 * 0..k-1 are placed by mcr_fan_add, slots k..width-1 are the tool's own (skipped until set). */
struct mcr_fan {
	struct mcr_cluster *c;
	unsigned k, width;
	size_t n, cap;
	struct mcr_req *req;
	size_t *idx;
};

void mcr_fan_init(struct mcr_fan *f, struct mcr_cluster *c, unsigned extra);
size_t mcr_fan_add(struct mcr_fan *f, const char *key, size_t klen, enum mcr_op op);
struct mcr_req *mcr_cell(const struct mcr_fan *f, size_t key, unsigned copy);
bool mcr_same_value(const struct mcr_req *a, const struct mcr_req *b);
void mcr_fan_value(struct mcr_fan *f, size_t key, const void *val, size_t vlen, uint32_t flags,
                   uint32_t exptime);
void mcr_fan_run(struct mcr_fan *f);
void mcr_fan_fallback(struct mcr_fan *f);
void mcr_fan_reset(struct mcr_fan *f);
void mcr_fan_free(struct mcr_fan *f);

/* keys.c: where the keys to work on come from (operands, a key file, every key on every
 * server), filtered to one shard, and the rule that handles a listed key once. */
struct mcr_key {
	char key[MCR_KEY_MAX + 1];
	size_t klen;
	size_t origin;   /* the server whose metadump listed it, or SIZE_MAX */
	int64_t exp;     /* metadump's exp, on the server's clock; -1: never; 0: unknown */
	int64_t expires; /* the same on this machine's clock (unix time); -1: never; 0: unknown */
	uint64_t cas;    /* metadump's cas: the listed copy's, at listing time; 0: unknown */
	uint64_t size;   /* metadump's size: the item's bytes on its server; 0: unknown */
};

struct mcr_keysrc {
	char **args; /* operands */
	size_t nargs;
	const char *file;        /* -k: one percent-encoded key per line, "-" is stdin */
	bool all;                /* -a: every key of every server */
	uint64_t shard, nshards; /* shard I of N, 1-based; nshards 0: all */
	const char *match;       /* --match GLOB, NULL: every key */
	uint64_t unmatched;      /* keys --match left out */
	/* state */
	size_t next;
	FILE *fp;
	size_t lineno;
	size_t server; /* the server whose listing is being read */
	struct mcr_listing *listing; /* per server, all listed at once */
	char *line;
	size_t linecap;
	size_t skipped_foreign; /* keys outside the namespace */
	bool trouble;           /* a server could not be listed */
	struct mcr_lister *listed; /* per server, what its listing was */
	size_t nlisted;
	uint64_t total, seen; /* lines of the key file or of the listings, and read so far; 0: unknown */
	unsigned passes, pass; /* over the listings, each with its share of the fingerprints; 0: none kept */
};

/* What a server listed, kept for the run: a key it listed was handled at its listing, and
 * after a restart the server itself can no longer say which keys those were. */
struct mcr_lister {
	bool done, failed; /* listed whole; could not be listed (it handled no key) */
	FILE *fps;
	int64_t pid, started;
	bool restarted; /* since its listing */
	bool known;     /* its set is loaded from the start: membership, not a probe, decides */
	bool whole;     /* its set holds every pass's fingerprints (loaded once it is seen restarted) */
	uint64_t *set;  /* its fingerprints of the pass, sorted: known from the start, or once restarted */
	size_t nset;
	uint32_t *idx;  /* where each bucket of the set starts (keys.c, sort_set); idx[buckets] = nset */
	unsigned bits;  /* a bucket is a fingerprint's top bits, 0 to 24 of them */
};

#define MCR_KNOWN_MAX ((size_t)32 << 20) /* bytes of fingerprints kept in memory for the rule */
#define MCR_PASSES_MAX 4 /* passes over the listings, each with its share of them (more: a probe costs less) */
/* A batch ends at --batch keys, or once the values its keys may bring back reach --batch-bytes:
 * a listed key's by the size its server listed, another's by the largest value read so far
 * in the run (1 MiB, memcached's default item limit, until a first value is read). */
#define MCR_BATCH_BYTES ((size_t)16 << 20)
struct mcr_sizer {
	size_t budget, max; /* bytes, keys */
	size_t used;
};
size_t mcr_batch_default(const struct mcr_opts *o, size_t nservers);
void mcr_sizer_init(struct mcr_sizer *z, const struct mcr_opts *o);
bool mcr_sizer_room(struct mcr_sizer *z, size_t n);
void mcr_sizer_add(struct mcr_sizer *z, const struct mcr_key *k, unsigned copies);
void mcr_sizer_bytes(struct mcr_sizer *z, size_t bytes);
extern size_t mcr_value_largest; /* engine.c: the largest value read so far */
extern bool mcr_value_seen;      /* and whether any get was answered */
void mcr_keys_init(struct mcr_keysrc *ks, const struct mcr_opts *o, char **args, size_t nargs);
int mcr_keys_next(struct mcr_cluster *c, struct mcr_keysrc *ks, struct mcr_key *k);
void mcr_keys_close(struct mcr_keysrc *ks);
double mcr_keys_fraction(const struct mcr_keysrc *ks); /* of the keys read so far; < 0: unknown */

/* The first-listing rule: a key listed by several servers is handled once, at the first
 * listing in server order whose server is in its copy set and sees no copy on a server
 * listed before it. */
enum mcr_listed {
	MCR_UNLISTED, /* an operand or a key file's: not from a listing */
	MCR_HERE,     /* handled at this listing */
	MCR_EARLIER,  /* a server listed before holds it: handled there */
	MCR_OUTSIDE,  /* listed by a server outside its copy set: a stray copy */
	MCR_UNKNOWN,  /* a server listed before could not be asked whether it holds it */
};
enum mcr_listed mcr_listed_where(const struct mcr_fan *f, size_t i, size_t origin);
bool mcr_listing_holds(const struct mcr_fan *f, size_t i, const struct mcr_key *k, const struct mcr_req *s);
void mcr_read_listed(struct mcr_fan *f, struct mcr_keysrc *ks, const struct mcr_key *keys, enum mcr_listed *v,
                     bool unknown_here);

/* The placement guard: copies listed outside their key's copy set, as a share of all copies
 * listed. Many of them mean the settings differ from the application's (a copy set
 * computed wrong); a run that writes stops then. */
struct mcr_guard {
	unsigned limit; /* percent */
	uint64_t listed, outside;
};
void mcr_guard_count(struct mcr_guard *g, enum mcr_listed v);
const char *mcr_guard_problem(const struct mcr_guard *g, char *buf, size_t size);

/* Keys put aside for later in a temporary file (memory does not grow with them), each with
 * `extra` bytes of the tool's own. */
struct mcr_spool {
	FILE *fp;
	size_t extra, n;
};
void mcr_spool_put(struct mcr_spool *s, const struct mcr_key *k, const void *extra, size_t size);
void mcr_spool_rewind(struct mcr_spool *s);
bool mcr_spool_get(struct mcr_spool *s, struct mcr_key *k, void *extra);
void mcr_spool_close(struct mcr_spool *s);

/* input.c: every read bounded */
#define MCR_VALUE_MAX ((size_t)1 << 30) /* memcached's largest item: its -I is at most 1 GiB */
char *mcr_read_file(const char *path, size_t max, size_t *len); /* "-" is stdin; NULL and errno */
FILE *mcr_open_input(const char *path);                         /* "-" is stdin; NULL and errno */

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
enum { MCR_ITEM_BAD = -1, MCR_ITEM_END = 0, MCR_ITEM = 1, MCR_ITEM_MARK = 2 };
int mcr_item_read(FILE *fp, struct mcr_item *it, size_t *line, const char **err);
void mcr_item_free(struct mcr_item *it);

/* prom.c: node_exporter textfile metrics, with the operator's labels */
struct mcr_prom {
	FILE *fp;
	const char *labels[16]; /* NAME=VALUE, checked */
	size_t nlabels;
};
const char *mcr_prom_label_problem(const char *nv);
void mcr_prom_add_label(struct mcr_prom *p, const char *nv);
void mcr_prom_help(const struct mcr_prom *p, const char *name, const char *type, const char *help);
void mcr_prom_sample(const struct mcr_prom *p, const char *name, const char *k1, const char *v1, const char *k2,
                     const char *v2, const char *val);

/* out.c: one record in text, tsv or json */
enum mcr_ftype {
	MCR_F_KEY,
	MCR_F_STR,
	MCR_F_UINT,
	MCR_F_VALUE,
	MCR_F_MSG,
	MCR_F_COPIES,
	MCR_F_REAL,
	MCR_F_BOOL,
	MCR_F_INT,
	MCR_F_TOTALS, /* json only (text and tsv leave it out): `s` points to a struct mcr_totals */
};

/* MCR_F_TOTALS: per server, n[server * nnames + i] of each of names[] */
struct mcr_totals {
	const char *const *servers;
	size_t nservers;
	const char *const *names;
	size_t nnames;
	const uint64_t *n;
};

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
	uint64_t u; /* MCR_F_UINT; MCR_F_REAL: thousandths, shown as a decimal; MCR_F_INT: (uint64_t)int64 */
};

void mcr_emit(FILE *fp, enum mcr_format fmt, const struct mcr_field *f, size_t n);
void mcr_report(const struct mcr_cluster *c, enum mcr_format fmt, const struct mcr_req *r, unsigned copy,
                bool failed);

#endif
