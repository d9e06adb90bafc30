// SPDX-License-Identifier: GPL-2.0
/* Enrich, the live side of intake (see enrich.h): owns --record's recorder, the kernel
 * symbols loaded at the first writeback wait and the devices whose settings were recorded. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common.h"
#include "devsysfs.h"
#include "filefacts.h"
#include "ksyms.h"
#include "opts.h"
#include "record.h"
#include "tracer.h"
#include "tracker.h"
#include "enrich.h"

struct enrich {
	struct tracker *tracker;
	struct tw_recorder *rec;	/* --record, or NULL */
	struct ksyms *ksyms;		/* loaded at the first writeback wait */
	bool ksyms_tried;
	uint32_t devs_seen[256];	/* block devices whose settings were recorded */
	const struct tw_opts *opts;
	int nr_devs_seen;
};


static void deliver(struct enrich *in, const void *rec, size_t len)
{
	if (in->rec)
		recorder__write(in->rec, rec, len);
	tracker__feed(in->tracker, rec, len);
}

/* The file's atomic write limits (what RWF_ATOMIC writes must fit), for the checks. */
static void note_atomic_limits(struct enrich *in, const struct tw_path_ev *p)
{
	struct tw_atomic_limits_ev a = {
		.h = { .ts_ns = p->h.ts_ns, .type = TW_EV_ATOMIC_LIMITS, .size = sizeof(a),
		       .pid = p->h.pid, .tid = p->h.tid },
		.ino = p->ino,
		.dev = p->dev,
	};

	if (filefacts_atomic_limits(p->path, &a))
		deliver(in, &a, sizeof(a));
}

/* A traced process wrote a file first: name it by its full path (filefacts.h). */
static void resolve_path(struct enrich *in, const struct tw_file_ev *e)
{
	struct tw_path_ev p = {
		.h = { .ts_ns = e->h.ts_ns, .type = TW_EV_PATH, .size = sizeof(p),
		       .pid = e->h.pid, .tid = e->h.tid },
		.ino = e->ino,
		.dev = e->dev,
	};

	if (!filefacts_path(e, p.path, sizeof(p.path)))
		return;
	deliver(in, &p, sizeof(p));
	note_atomic_limits(in, &p);
}

/*
 * The first file of a filesystem, or the first request on a block device (a partition's
 * requests are its disk's): record its queue's settings as tracing sees them, and the
 * --atomic-size given for it, so a replay judges units as this run did.
 */
static void note_device(struct enrich *in, const struct tw_hdr *h, uint32_t dev)
{
	struct tw_device_ev d = {
		.h = { .ts_ns = h->ts_ns, .type = TW_EV_DEVICE, .size = sizeof(d) },
		.dev = dev,
	};

	for (int i = 0; i < in->nr_devs_seen; i++)
		if (in->devs_seen[i] == dev)
			return;
	/* Full: later devices have no facts (their units count as whole_atomic_size_unknown). */
	if (in->nr_devs_seen >= (int)(sizeof(in->devs_seen) / sizeof(in->devs_seen[0])))
		return;
	in->devs_seen[in->nr_devs_seen++] = dev;
	devsysfs_fill(&d);
	d.atomic_size_opt = devsysfs_atomic_size(dev, in->opts->atomic_sizes,
						 in->opts->nr_atomic_sizes);
	deliver(in, &d, sizeof(d));
}

/* Why a thread waits for writeback: the innermost telling function on its stack. */
static void classify_wait(struct enrich *in, struct tw_wait_begin_ev *w)
{
	if (w->context != TW_WAIT_UNKNOWN)	/* the kernel side knew already */
		return;
	if (!in->ksyms_tried) {
		in->ksyms_tried = true;
		in->ksyms = ksyms__load();
	}
	if (!in->ksyms)
		return;
	for (uint32_t i = 0; i < w->nr_stack && i < TW_STACK_DEPTH; i++) {
		const char *fn = ksyms__name(in->ksyms, w->stack[i]);
		enum tw_wait_context c = fn ? tw_wait_context_of(fn) : TW_WAIT_UNKNOWN;

		if (c != TW_WAIT_UNKNOWN) {
			w->context = c;
			return;
		}
	}
	w->context = TW_WAIT_OTHER;
}

void enrich__record(void *ctx, const void *rec, size_t len)
{
	struct enrich *in = ctx;
	const struct tw_hdr *h = rec;

	if (h->type == TW_EV_WAIT_BEGIN && len >= sizeof(struct tw_wait_begin_ev)) {
		struct tw_wait_begin_ev w;

		memcpy(&w, rec, sizeof(w));
		classify_wait(in, &w);
		deliver(in, &w, sizeof(w));
		return;
	}
	if (h->type == TW_EV_FILE && len >= sizeof(struct tw_file_ev))
		note_device(in, h, ((const struct tw_file_ev *)rec)->dev);
	if (h->type == TW_EV_RQ_ISSUE && len >= sizeof(struct tw_rq_ev) &&
	    ((const struct tw_rq_ev *)rec)->dev)
		note_device(in, h, ((const struct tw_rq_ev *)rec)->dev);
	deliver(in, rec, len);
	if (h->type == TW_EV_FILE && len >= sizeof(struct tw_file_ev))
		resolve_path(in, rec);
}

struct enrich *enrich__new(struct tracker *t, const struct tw_opts *o, const char *kernel,
			   char *err, size_t errlen)
{
	struct enrich *in = calloc(1, sizeof(*in));

	if (!in) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	in->tracker = t;
	in->opts = o;
	if (o->record_path) {
		in->rec = recorder__open(o->record_path, o->unit_size, kernel, err, errlen);
		if (!in->rec) {
			free(in);
			return NULL;
		}
	}
	return in;
}

/*
 * A full write sends its return time with its thread's next write, sync or exit
 * (tw_write_ev.prev_end_ns): for threads that are still alive, read it from their
 * task storage now, or their last write would count as never returned.
 */
static void deliver_held_ends(struct enrich *in, struct tracer *tr)
{
	size_t n = tracker__open_writes(in->tracker, NULL, 0);
	struct tw_open_write *ow = n ? calloc(n, sizeof(*ow)) : NULL;

	if (!ow)
		return;
	n = tracker__open_writes(in->tracker, ow, n);
	for (size_t i = 0; i < n; i++) {
		struct tw_write_end_ev e = {
			.h = { .type = TW_EV_WRITE_END, .size = sizeof(e), .pid = ow[i].pid,
			       .tid = ow[i].tid },
			.ret = ow[i].count,
		};
		uint64_t end_ns;

		if (!tracer__held_end(tr, ow[i].tid, &end_ns) && end_ns) {
			e.h.ts_ns = end_ns;
			deliver(in, &e, sizeof(e));
		}
	}
	free(ow);
}

void enrich__end(struct enrich *in, struct tracer *tr)
{
	struct tw_stats_ev stats = { .h = { .type = TW_EV_STATS, .size = sizeof(stats) } };
	uint64_t counters[TW_NR_STATS];

	deliver_held_ends(in, tr);
	tracer__stats(tr, counters);
	for (int i = 0; i < TW_NR_STATS; i++)
		stats.stats[i] = counters[i];
	stats.h.ts_ns = clock_ns(CLOCK_MONOTONIC);	/* the trace's end, on the records' clock */
	deliver(in, &stats, sizeof(stats));
}

int enrich__close(struct enrich *in)
{
	int e = recorder__close(in->rec);

	in->rec = NULL;
	return e;
}

void enrich__free(struct enrich *in)
{
	if (!in)
		return;
	ksyms__free(in->ksyms);
	recorder__discard(in->rec);	/* a failed run leaves the path as it was */
	free(in);
}
