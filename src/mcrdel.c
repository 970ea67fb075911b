/* SPDX-License-Identifier: ISC */
/* mcrdel: delete every copy of keys, each with its own acknowledged delete. */
#include <stdlib.h>
#include <string.h>

#include "mcr.h"

enum { O_FORCE = 500, O_DRY_RUN };

static const struct mcr_option options[] = {
    {"force", 'f', NULL, "a key no copy holds is not an error (as rm -f)", O_FORCE},
    {"dry-run", 'n', NULL, "read every copy and report it; delete nothing", O_DRY_RUN},
    {NULL, 0, NULL, NULL, 0},
};
static const char *const synopsis[] = {"KEY...", NULL};

static bool force, dry_run;

static void
handle(int id, const char *arg)
{
	(void)arg;
	if (id == O_FORCE)
		force = true;
	else if (id == O_DRY_RUN)
		dry_run = true;
}

/* One record per copy; 0 when every copy of every key is gone (or, with -n, answered) and
 * each key was found, or -f. A dry run's reads (found, not-found) stand for the deletes. */
static int
report(struct mcr_fan *f, enum mcr_format fmt)
{
	int status = MCR_YES;

	for (size_t i = 0; i < f->n; i++) {
		unsigned deleted = 0, gone = 0;
		for (unsigned r = 0; r < f->k; r++) {
			const struct mcr_req *q = mcr_cell(f, i, r);
			deleted += q->result == MCR_OK;
			gone += q->result == MCR_OK || q->result == MCR_NOTFOUND;
			mcr_report(f->c, fmt, q, r, q->result != MCR_OK && q->result != MCR_NOTFOUND);
		}
		const struct mcr_req *p = mcr_cell(f, i, 0);
		if (deleted == 0 && gone == f->k && !force && mcr_verbose == 0 && fmt == MCR_TEXT && !mcr_quiet) {
			char *key = mcr_key_display(p->key, p->klen);
			fprintf(stderr, "%s: %s: not found\n", mcr_prog, key);
			free(key);
		}
		if ((deleted == 0 && !force) || gone < f->k)
			status = MCR_NO;
	}
	return status;
}

int
main(int argc, char **argv)
{
	struct mcr_tool tool = {"mcrdel", synopsis, "Delete every copy of keys in a replicated memcached cluster.",
	                        options, handle, false};
	struct mcr_opts o;
	struct mcr_cluster c;
	struct mcr_fan f;
	int status, i;

	mcr_setprog(argv[0]);
	i = mcr_parse_options(&tool, &o, argc, argv);
	argc -= i;
	argv += i;
	if (argc < 1)
		mcr_usage_error("missing KEY (try --help)");
	mcr_cluster_open(&c, &o);
	for (i = 0; i < argc; i++)
		mcr_check_key(&c, argv[i], strlen(argv[i]));

	/* a dry run shows every copy, as -v does */
	if (dry_run && mcr_verbose == 0)
		mcr_verbose = 1;
	mcr_fan_init(&f, &c, 0);
	for (i = 0; i < argc; i++)
		mcr_fan_add(&f, argv[i], strlen(argv[i]), dry_run ? MCR_HAS : MCR_DELETE);
	mcr_fan_run(&f);
	status = report(&f, o.format);

	mcr_fan_free(&f);
	mcr_cluster_close(&c);
	mcr_finish_stdout();
	if (mcr_stop) {
		mcr_warn("interrupted: copies reported skipped were not sent");
		return MCR_TROUBLE;
	}
	return status;
}
