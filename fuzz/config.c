/* SPDX-License-Identifier: ISC */
/* libFuzzer: libmemcached configuration strings and configuration files, checked by mcr
 * before (and then by) libmemcached's own parser. A configuration mcr accepts is parsed by
 * libmemcached, and every server it names must pass mcr's server checks; a socket path that
 * passed is then copied into sun_path exactly as the connect code does, so a path the checks
 * let through too long is a stack-buffer-overflow under ASan (the crash of issue 13). */
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "../src/mcr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
servers(const char *config)
{
	char err[512];
	memcached_st *memc;

	if (mcr_config_problem(config, err, sizeof(err)) || !(memc = memcached(config, strlen(config))))
		return;
	if (!mcr_servers_problem(memc, err, sizeof(err))) {
		for (uint32_t i = 0; i < memcached_server_count(memc); i++) {
			const memcached_instance_st *in = memcached_server_instance_by_position(memc, i);
			struct sockaddr_un sun;
			const char *name = memcached_server_name(in);
			if (strcmp(memcached_server_type(in), "SOCKET"))
				continue;
			memcpy(sun.sun_path, name, strlen(name) + 1);
			if (sun.sun_path[0] != '/')
				__builtin_trap();
		}
	}
	memcached_free(memc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = mcr_xmalloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	if (!memchr(data, '\0', size)) {
		servers(s);
		servers(mcr_config_lines(s));
	}
	free(s);
	return 0;
}
