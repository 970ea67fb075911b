/* mcrdel: delete every copy of keys, each with its own acknowledged delete. */
#include <stdlib.h>
#include <string.h>

#include "mcr.h"

static const struct mcr_option options[] = {{NULL, 0, NULL, NULL, 0}};
static const char *const synopsis[] = {"KEY...", NULL};

static void
handle(int id, const char *arg, void *ctx)
{
	(void)id;
	(void)arg;
	(void)ctx;
}

int
main(int argc, char **argv)
{
	struct mcr_tool tool = {
	    "mcrdel", synopsis, "Delete every copy of keys in a replicated memcached cluster.",
	    options,  handle,   NULL};
	struct mcr_opts o;
	struct mcr_cluster c;
	struct mcr_req *reqs;
	size_t *idx, n;
	unsigned k;
	int status = MCR_YES, i;

	mcr_setprog(argv[0]);
	i = mcr_parse_options(&tool, &o, argc, argv);
	argc -= i;
	argv += i;
	if (argc < 1)
		mcr_usage_error("missing KEY (try --help)");
	mcr_cluster_open(&c, &o);
	n = (size_t)argc;
	k = c.copies;
	for (size_t j = 0; j < n; j++)
		mcr_check_key(&c, argv[j], strlen(argv[j]));
	reqs = mcr_xcalloc(n * k, sizeof(*reqs));
	idx = mcr_xcalloc(k, sizeof(*idx));
	for (size_t j = 0; j < n; j++) {
		mcr_place(&c, argv[j], strlen(argv[j]), idx);
		for (unsigned r = 0; r < k; r++) {
			struct mcr_req *q = &reqs[j * k + r];
			q->server = idx[r];
			q->op = MCR_DELETE;
			q->key = argv[j];
			q->klen = strlen(argv[j]);
		}
	}
	mcr_run(&c, reqs, n * k);
	for (size_t j = 0; j < n; j++) {
		unsigned deleted = 0, gone = 0;
		for (unsigned r = 0; r < k; r++) {
			struct mcr_req *q = &reqs[j * k + r];
			deleted += q->result == MCR_OK;
			gone += q->result == MCR_OK || q->result == MCR_NOTFOUND;
			mcr_report(&c, o.format, q, r, q->result != MCR_OK && q->result != MCR_NOTFOUND);
		}
		if (deleted == 0 && gone == k && mcr_verbose == 0 && o.format == MCR_TEXT && !mcr_quiet) {
			char *key = mcr_key_display(argv[j], strlen(argv[j]));
			fprintf(stderr, "%s: %s: not found\n", mcr_prog, key);
			free(key);
		}
		if (deleted == 0 || gone < k)
			status = MCR_NO;
	}
	for (size_t j = 0; j < n * k; j++)
		mcr_req_clear(&reqs[j]);
	free(reqs);
	free(idx);
	mcr_cluster_close(&c);
	mcr_finish_stdout();
	return status;
}
