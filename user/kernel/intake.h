/* SPDX-License-Identifier: GPL-2.0 */
/* The live intake: each ring buffer record, with the facts only user space can add (paths,
 * atomic limits, device settings, why a wait), to --record's file and to the tracker. */
#ifndef TW_INTAKE_H
#define TW_INTAKE_H

#include <stddef.h>

struct tracker;
struct tracer;
struct tw_opts;

struct intake;

/*
 * Feed t; with --record, open its file now (kernel: uname -r for its header). NULL with
 * a one-line message in err.
 */
struct intake *intake__new(struct tracker *t, const struct tw_opts *o, const char *kernel,
			   char *err, size_t errlen);
/* The tracer's sink: one record as the ring buffer delivered it. */
void intake__record(void *ctx, const void *rec, size_t len);
/*
 * The trace's end, after the last poll: the held-back return times of threads still alive,
 * then the STATS record with the BPF counters.
 */
void intake__end(struct intake *in, struct tracer *tr);
/* Close --record's file, moved into place (record.h); 0 or -errno. */
int intake__close(struct intake *in);
/* A run that failed: --record's path is left as it was. */
void intake__free(struct intake *in);

#endif
