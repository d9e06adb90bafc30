/* SPDX-License-Identifier: GPL-2.0 */
/* The BPF side's lifecycle, mirroring the skeleton: new (open), configure (map sizes, probed
 * programs), load, attach, poll, free. Records go to a sink (the intake). */
#ifndef TW_TRACER_H
#define TW_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>
#include "tornwatch.h"

struct tracer_cfg {
	bool verbose;
	bool follow_forks;
	bool stable;		/* load stablepage too */
	uint64_t max_files, max_bios, max_procs, ringbuf_bytes;
};

typedef void (*tracer_sink_fn)(void *ctx, const void *rec, size_t len);

struct tracer;

struct tracer *tracer__new(const struct tracer_cfg *cfg, tracer_sink_fn sink, void *ctx,
			   char *err, size_t errlen);
/* Between open and load: rodata from the options, map sizes, the programs (probe.h). */
int tracer__configure(struct tracer *tr, char *err, size_t errlen);
int tracer__load(struct tracer *tr, char *err, size_t errlen);
int tracer__attach(struct tracer *tr, char *err, size_t errlen);
/* Trace this process (all its threads); with follow_forks, its future children too. */
int tracer__add_pid(struct tracer *tr, pid_t pid);
/* No longer trace this pid (its process ended before it was added: the pid may be another's). */
int tracer__del_pid(struct tracer *tr, pid_t pid);
/* Deliver what is in the ring buffer; wait up to timeout_ms for more. */
int tracer__poll(struct tracer *tr, int timeout_ms);
void tracer__stats(struct tracer *tr, uint64_t out[TW_NR_STATS]);
/* A live thread's held-back write return time (task_state.end_ns; 0: none). */
int tracer__held_end(struct tracer *tr, uint32_t tid, uint64_t *end_ns);
void tracer__free(struct tracer *tr);

void libbpf_log_setup(bool verbose);

#endif
