// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: bytes as a command line (arguments split at NUL) through opts_parse().
 * Every input either parses or yields one error line; none may crash or read past argv.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "opts.h"

#define MAX_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *argv[MAX_ARGS + 2], err[256];
	struct tw_opts o;
	int argc = 0;
	size_t at = 0;

	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = "tornwatch";
	while (at <= size && argc < MAX_ARGS + 1) {
		argv[argc++] = buf + at;
		at += strlen(buf + at) + 1;
	}
	argv[argc] = NULL;
	opts_defaults(&o);
	err[0] = '\0';
	if (opts_parse(&o, argc, argv, err, sizeof(err)) == OPTS_ERROR &&
	    (!err[0] || strchr(err, '\n')))
		abort();	/* an error is exactly one line */
	free(buf);
	return 0;
}
