/* SPDX-License-Identifier: ISC */
/* mcrset: store an item on every copy and report each copy's result. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mcr.h"

#define CHUNK 512 /* items per pipelined round */

enum { O_FILE = 500, O_ADD, O_REPLACE, O_APPEND, O_PREPEND, O_EXPIRE, O_FLAGS, O_MIN_COPIES, O_BATCH };

static const struct mcr_option options[] = {
    {"file", 0, "PATH", "read the value from a file", O_FILE},
    {"add", 0, NULL, "store only if the primary does not hold the key", O_ADD},
    {"replace", 0, NULL, "store only if the primary holds the key", O_REPLACE},
    {"append", 0, NULL, "append to each copy", O_APPEND},
    {"prepend", 0, NULL, "prepend to each copy", O_PREPEND},
    {"expire", 'e', "SECONDS", "time to live (0: none)", O_EXPIRE},
    {"flags", 'f', "N", "client flags (0 to 4294967295)", O_FLAGS},
    {"min-copies", 'w', "N|majority|all", "copies that must be written (default all)", O_MIN_COPIES},
    {"batch", 0, NULL, "store items in memcached text format from FILE or stdin", O_BATCH},
    {NULL, 0, NULL, NULL, 0},
};

static const char *const synopsis[] = {"KEY [VALUE]", "--batch [FILE]", NULL};

static struct {
	const char *file;
	enum mcr_op op;
	bool op_given;
	uint32_t expire, flags;
	const char *min_copies;
	bool batch;
} opt = {.op = MCR_SET};

static void
set_op(enum mcr_op op)
{
	if (opt.op_given && opt.op != op)
		mcr_usage_error("--add, --replace, --append and --prepend: give at most one");
	opt.op = op;
	opt.op_given = true;
}

static void
handle(int id, const char *arg)
{
	switch (id) {
	case O_FILE: opt.file = arg; break;
	case O_ADD: set_op(MCR_ADD); break;
	case O_REPLACE: set_op(MCR_REPLACE); break;
	case O_APPEND: set_op(MCR_APPEND); break;
	case O_PREPEND: set_op(MCR_PREPEND); break;
	case O_EXPIRE: opt.expire = (uint32_t)mcr_number("--expire", arg, 0, UINT32_MAX); break;
	case O_FLAGS: opt.flags = (uint32_t)mcr_number("--flags", arg, 0, UINT32_MAX); break;
	case O_MIN_COPIES: opt.min_copies = arg; break;
	case O_BATCH: opt.batch = true; break;
	}
}

static unsigned
min_copies(const struct mcr_cluster *c)
{
	uint64_t v;

	if (!opt.min_copies || !strcmp(opt.min_copies, "all"))
		return c->copies;
	if (!strcmp(opt.min_copies, "majority"))
		return c->copies / 2 + 1;
	if (mcr_parse_uint(opt.min_copies, UINT32_MAX, &v) < 0 || v == 0)
		mcr_usage_error("--min-copies: \"%s\" is not a positive number, majority or all",
		                opt.min_copies);
	if (v > c->copies)
		mcr_usage_error("--min-copies: %s is more than the %u copies of each key", opt.min_copies,
		                c->copies);
	return (unsigned)v;
}

/* One item from the operands; *buf is the value when it was read from a file or stdin. */
static struct mcr_item *
single_item(const struct mcr_cluster *c, int argc, char **argv, char **buf)
{
	struct mcr_item *it = mcr_xmalloc(sizeof(*it));
	const char *src = NULL;

	memset(it, 0, sizeof(*it));
	if (argc < 1)
		mcr_usage_error("missing KEY (try --help)");
	if (argc > 2)
		mcr_usage_error("too many operands: one KEY and one VALUE");
	if (argc == 2 && opt.file)
		mcr_usage_error("a VALUE operand and --file: give one of them");
	it->op = opt.op;
	it->key = argv[0];
	it->klen = strlen(argv[0]);
	mcr_check_key(c, it->key, it->klen);
	it->flags = opt.flags;
	it->exptime = opt.expire;
	if (argc == 2 && strcmp(argv[1], "-")) {
		it->data = argv[1];
		it->dlen = strlen(argv[1]);
		return it;
	}
	src = opt.file ? opt.file : "-";
	/* memcached stores no item over 1 GiB; the binary protocol itself stops short of 4 GiB */
	if (!(it->data = *buf = mcr_read_file(src, MCR_VALUE_MAX, &it->dlen)))
		mcr_usage_error("%s: %s", opt.file ? opt.file : "stdin",
		                errno == EFBIG ? "value over 1 GiB, the largest item memcached stores"
		                               : strerror(errno));
	return it;
}

/* Stores items[0..n) on every copy; returns how many fell short of `need` copies. */
static size_t
store(struct mcr_fan *f, const struct mcr_item *items, size_t n, unsigned need, enum mcr_format fmt)
{
	bool decide = false;
	size_t failed = 0;

	mcr_fan_reset(f);
	for (size_t i = 0; i < n; i++) {
		const struct mcr_item *it = &items[i];
		mcr_fan_add(f, it->key, it->klen, it->op);
		mcr_fan_value(f, i, it->data, it->dlen, it->flags, it->exptime);
		/* add and replace: the primary decides; the replicas are made to match it */
		if (it->op == MCR_ADD || it->op == MCR_REPLACE)
			for (unsigned r = 1; r < f->k; r++) {
				mcr_cell(f, i, r)->op = MCR_SET;
				mcr_cell(f, i, r)->skip = decide = true;
			}
	}
	mcr_fan_run(f);
	if (decide) {
		for (size_t i = 0; i < n; i++) {
			bool follow = (items[i].op == MCR_ADD || items[i].op == MCR_REPLACE) &&
			              mcr_cell(f, i, 0)->result == MCR_OK;
			for (unsigned r = 0; r < f->k; r++)
				mcr_cell(f, i, r)->skip = !(r > 0 && follow);
		}
		mcr_fan_run(f);
	}

	for (size_t i = 0; i < n; i++) {
		unsigned stored = 0;
		for (unsigned r = 0; r < f->k; r++)
			stored += mcr_cell(f, i, r)->result == MCR_OK;
		bool ok = stored >= need;
		for (unsigned r = 0; r < f->k; r++) {
			const struct mcr_req *q = mcr_cell(f, i, r);
			mcr_report(f->c, fmt, q, r, q->result != MCR_OK && !(q->result == MCR_UNSENT && ok));
		}
		failed += !ok;
	}
	return failed;
}

static const char *
op_name(enum mcr_op op)
{
	switch (op) {
	case MCR_ADD: return "add";
	case MCR_REPLACE: return "replace";
	case MCR_APPEND: return "append";
	case MCR_PREPEND: return "prepend";
	default: return "set";
	}
}

/* --batch: the items are read twice, once whole to check them (bad input sends nothing),
 * then a chunk at a time to store them, so that memory holds one chunk, not the batch. Input
 * that cannot be read twice (a pipe, a terminal) is copied to a temporary file first. */
static FILE *
batch_open(const struct mcr_cluster *c, const char *path, const char *name)
{
	FILE *fp = mcr_open_input(path), *spool;
	struct mcr_item it;
	struct stat st;
	const char *err = NULL, *why;
	size_t line = 0;
	int rc;

	if (!fp)
		mcr_usage_error("%s: %s", name, strerror(errno));
	/* a pipe is copied item by item as it is checked, so that its reads stay bounded as
	 * the parser bounds them (/dev/zero is refused at its first line, not copied) */
	spool = NULL;
	if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode) || fseeko(fp, 0, SEEK_SET) < 0)
		if (!(spool = mcr_tmpfile()))
			mcr_die(MCR_TROUBLE, "cannot create a temporary file for %s: %s", name, strerror(errno));
	while ((rc = mcr_item_read(fp, &it, &line, &err)) != MCR_ITEM_END) {
		if (rc == MCR_ITEM_BAD)
			mcr_usage_error("%s:%zu: %s", name, line, err);
		if (rc != MCR_ITEM)
			continue;
		why = mcr_key_problem(c, it.key, it.klen);
		if (!why && spool &&
		    (fprintf(spool, "%s %.*s %" PRIu32 " %" PRIu32 " %zu\r\n", op_name(it.op), (int)it.klen, it.key,
		             it.flags, it.exptime, it.dlen) < 0 ||
		     fwrite(it.data, 1, it.dlen, spool) != it.dlen || fputs("\r\n", spool) == EOF))
			mcr_die(MCR_TROUBLE, "cannot copy %s to a temporary file: %s", name, strerror(errno));
		mcr_item_free(&it);
		if (why)
			mcr_usage_error("%s:%zu: %s", name, it.line, why);
	}
	if (ferror(fp))
		mcr_usage_error("%s: %s", name, strerror(errno));
	if (spool) {
		if (fp != stdin)
			fclose(fp);
		fp = spool;
		if (fflush(fp) == EOF)
			mcr_die(MCR_TROUBLE, "cannot copy %s to a temporary file: %s", name, strerror(errno));
	}
	if (fseeko(fp, 0, SEEK_SET) < 0)
		mcr_usage_error("%s: %s", name, strerror(errno));
	return fp;
}

/* Stores the batch checked by batch_open, a chunk at a time (CHUNK items or MCR_BATCH_BYTES
 * of values on their copies); returns how many items fell short of `need` copies. */
static size_t
batch_store(struct mcr_fan *f, FILE *fp, const char *name, unsigned need, enum mcr_format fmt)
{
	struct mcr_item *items = mcr_xcalloc(CHUNK, sizeof(*items));
	size_t n = 0, bytes = 0, line = 0, failed = 0;
	const char *err = NULL;
	int rc;

	do {
		rc = mcr_item_read(fp, &items[n], &line, &err);
		if (rc == MCR_ITEM_BAD)
			mcr_die(MCR_TROUBLE, "%s:%zu: %s: the file changed while it was being stored; the items "
			        "before were stored as reported", name, line, err);
		if (rc == MCR_ITEM)
			bytes += (items[n++].dlen + 64) * f->c->copies;
		if (n && (n == CHUNK || bytes >= MCR_BATCH_BYTES || rc == MCR_ITEM_END)) {
			failed += store(f, items, n, need, fmt);
			for (size_t i = 0; i < n; i++)
				mcr_item_free(&items[i]);
			n = bytes = 0;
		}
	} while (rc != MCR_ITEM_END);
	free(items);
	return failed;
}

int
main(int argc, char **argv)
{
	struct mcr_tool tool = {"mcrset", synopsis, "Store an item on every copy of a replicated memcached cluster.",
	                        options, handle, false};
	struct mcr_opts o;
	struct mcr_cluster c;
	struct mcr_fan f;
	struct mcr_item *items;
	char *buf = NULL;
	size_t failed = 0;
	unsigned need;
	int i;

	mcr_setprog(argv[0]);
	i = mcr_parse_options(&tool, &o, argc, argv);
	argc -= i;
	argv += i;
	if (opt.batch && (opt.file || opt.op_given || opt.expire || opt.flags))
		mcr_usage_error("--batch: the items carry their own command, flags and exptime");
	if (opt.batch && argc > 1)
		mcr_usage_error("--batch takes at most one FILE");
	mcr_cluster_open(&c, &o);
	need = min_copies(&c);
	mcr_fan_init(&f, &c, 0);
	if (opt.batch) {
		const char *path = argc ? argv[0] : "-", *name = strcmp(path, "-") ? path : "stdin";
		FILE *fp = batch_open(&c, path, name);
		failed = batch_store(&f, fp, name, need, o.format);
		if (fp != stdin)
			fclose(fp);
	} else {
		items = single_item(&c, argc, argv, &buf);
		failed = store(&f, items, 1, need, o.format);
		free(items);
	}
	mcr_fan_free(&f);
	free(buf);
	mcr_cluster_close(&c);
	mcr_finish_stdout();
	if (mcr_stop) {
		mcr_warn("interrupted: the copies reported skipped were not written");
		return MCR_TROUBLE;
	}
	return failed ? MCR_NO : MCR_YES;
}
