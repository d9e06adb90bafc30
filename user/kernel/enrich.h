/* SPDX-License-Identifier: GPL-2.0 */
/* Enrich, the live side of intake: each ring buffer record, with the facts only user space
 * can add (paths, atomic limits, device settings, why a wait), to --record and the tracker. */
#ifndef TW_KERNEL_ENRICH_H
#define TW_KERNEL_ENRICH_H

#include <stddef.h>

struct tracker;
struct tracer;
struct tw_opts;

struct enrich;

/*
 * Feed t; with --record, open its file now (kernel: uname -r for its header). NULL with
 * a one-line message in err.
 */
struct enrich *enrich__new(struct tracker *t, const struct tw_opts *o, const char *kernel,
			   char *err, size_t errlen);
/* The tracer's sink: one record as the ring buffer delivered it. */
void enrich__record(void *ctx, const void *rec, size_t len);
/*
 * The trace's end, after the last poll: the held-back return times of threads still alive,
 * then the STATS record with the BPF counters.
 */
void enrich__end(struct enrich *in, struct tracer *tr);
/* Close --record's file, moved into place (record.h); 0 or -errno. */
int enrich__close(struct enrich *in);
/* A run that failed: --record's path is left as it was. */
void enrich__free(struct enrich *in);

#endif
