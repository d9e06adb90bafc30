/* SPDX-License-Identifier: GPL-2.0 */
/* The command line: parsed into one struct, validated, no side effects (opts.c); the
 * limits of what it holds (PIDs, --atomic-size devices). */
#ifndef TW_OPTS_H
#define TW_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "devfacts.h"

#define TW_MAX_PIDS 64

struct tw_opts {
	uint64_t unit_size;		/* 0: only RWF_ATOMIC writes are units */
	pid_t pids[TW_MAX_PIDS];
	int nr_pids;
	bool follow;			/* -f: descendants of -p PIDs too */
	char **cmd;			/* after "--": run and follow it */
	const char *json_path;		/* "-" for stdout */
	int json_version;		/* --json-version: the JSON schema written (docs/json.md) */
	const char *record_path;
	const char *replay_path;
	uint64_t duration_s;		/* 0: until signal / target exit */
	uint64_t interval_s;		/* -i: print every SECONDS, 0: only at the end */
	uint64_t interval_count;	/* -i SECONDS COUNT: stop after COUNT intervals */
	bool verbose;
	bool no_stable;			/* leave stablepage out */
	bool check;			/* --check: exit 1 when a unit failed */
	uint32_t fail_on;		/* mask of 1 << enum tw_fail_kind */
	int events;			/* 0, 1: units not whole, 2: every unit */
	const char *prom_path;		/* --prom FILE */
	int top_files;
	uint64_t max_units;		/* user-space unit table */
	uint64_t max_files;		/* BPF: traced files */
	uint64_t max_bios;		/* BPF: bios in flight */
	uint64_t max_procs;		/* BPF: traced processes */
	uint64_t ringbuf_bytes;
	struct tw_atomic_size_opt atomic_sizes[TW_MAX_ATOMIC_SIZES];	/* --atomic-size */
	int nr_atomic_sizes;
};

enum { OPTS_RUN = 0, OPTS_EXIT_OK = 1, OPTS_ERROR = -1 };

void opts_defaults(struct tw_opts *o);
/* Returns OPTS_RUN, OPTS_EXIT_OK (help/version printed) or OPTS_ERROR (message in err). */
int opts_parse(struct tw_opts *o, int argc, char **argv, char *err, size_t errlen);
void opts_usage(FILE *f);

#endif
