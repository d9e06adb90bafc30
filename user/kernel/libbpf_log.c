// SPDX-License-Identifier: GPL-2.0
/* libbpf's print callback: silent without -v (tornwatch reports every failure itself, in
 * one line), libbpf's debug output on stderr with it. */
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "tracer.h"

static bool log_verbose;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	/* Only with -v: without it, tornwatch reports every failure itself, in one line. */
	if (!log_verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

void libbpf_log_setup(bool verbose)
{
	log_verbose = verbose;
	libbpf_set_print(print_fn);
}
