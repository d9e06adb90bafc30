// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "trace.h"

static bool log_verbose;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (!log_verbose && level != LIBBPF_WARN)
		return 0;
	if (!log_verbose)	/* warnings only with -v: failures are reported by tornwatch */
		return 0;
	return vfprintf(stderr, fmt, args);
}

void libbpf_log_setup(bool verbose)
{
	log_verbose = verbose;
	libbpf_set_print(print_fn);
}
