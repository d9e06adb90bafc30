// SPDX-License-Identifier: GPL-2.0
/*
 * Latency: a write's mode, and the stages of a unit that reached the device (syscall, cache,
 * queued, device, end to end), parked on its write until the write returned.
 */
#include <stdlib.h>
#include "durable.h"
#include "engine.h"
#include "latency.h"

const char *const tw_mode_names[TW_M_NR] = {
	[TW_M_BUFFERED] = "buffered",		[TW_M_BUFFERED_DSYNC] = "buffered-dsync",
	[TW_M_BUFFERED_SYNC] = "buffered-sync",	[TW_M_DIRECT] = "direct",
	[TW_M_DIRECT_DSYNC] = "direct-dsync",	[TW_M_ATOMIC_DIRECT] = "atomic-direct",
	[TW_M_ATOMIC_BUFFERED] = "atomic-buffered", [TW_M_WRITETHROUGH] = "writethrough",
	[TW_M_MMAP] = "mmap",
};

const char *const tw_stage_names[TW_ST_NR] = {
	[TW_ST_SYSCALL] = "syscall", [TW_ST_CACHE] = "cache", [TW_ST_QUEUED] = "queued",
	[TW_ST_DEVICE] = "device",
	[TW_ST_END_TO_END] = "end_to_end", [TW_ST_DURABLE] = "durable",
};

const char *const tw_trigger_names[TW_TRIG_NR] = {
	[TW_TRIG_UNKNOWN] = "unknown",		[TW_TRIG_WRITE] = "write",
	[TW_TRIG_FSYNC] = "fsync",		[TW_TRIG_SYNC_FILE_RANGE] = "sync_file_range",
	[TW_TRIG_MSYNC] = "msync",		[TW_TRIG_SYNC] = "sync",
	[TW_TRIG_BACKGROUND] = "background",	[TW_TRIG_PERIODIC] = "periodic",
	[TW_TRIG_PRESSURE] = "memory_pressure",	[TW_TRIG_FLUSHER_OTHER] = "flusher_other",
};

static enum tw_mode mode_of(bool direct, bool atomic, bool sync, bool dsync, bool wt)
{
	if (atomic)
		return direct ? TW_M_ATOMIC_DIRECT : TW_M_ATOMIC_BUFFERED;
	if (wt)
		return TW_M_WRITETHROUGH;
	if (direct)
		return sync || dsync ? TW_M_DIRECT_DSYNC : TW_M_DIRECT;
	if (sync)
		return TW_M_BUFFERED_SYNC;
	return dsync ? TW_M_BUFFERED_DSYNC : TW_M_BUFFERED;
}

enum tw_mode tw_mode_of_write(uint32_t f_flags, uint32_t rwf)
{
	return mode_of(f_flags & TW_O_DIRECT, rwf & TW_RWF_ATOMIC,
		       (f_flags & TW___O_SYNC) || (rwf & TW_RWF_SYNC),
		       (f_flags & TW_O_DSYNC) || (rwf & TW_RWF_DSYNC), rwf & TW_RWF_WRITETHROUGH);
}

enum tw_mode tw_mode_of_kiocb(uint32_t ki_flags)
{
	return mode_of(ki_flags & TW_IOCB_DIRECT, ki_flags & TW_IOCB_ATOMIC,
		       ki_flags & TW_IOCB_SYNC, ki_flags & TW_IOCB_DSYNC, false);
}

int tw_log2_slot(uint64_t v)
{
	int slot = 0;

	while (v > 1 && slot < TW_HIST_SLOTS - 1) {
		v >>= 1;
		slot++;
	}
	return slot;
}

void stage_add(struct tw_mode_stats *m, enum tw_stage st, uint64_t ns)
{
	m->hist[st][tw_log2_slot(ns / 1000)]++;
	m->sum_ns[st] += ns;
}

void record_sample(struct tracker *t, enum tw_mode m, const struct lat_sample *x,
		   uint64_t t_visible)
{
	struct tw_mode_stats *ms = &t->modes[m];
	uint64_t submit = x->t_submit ? x->t_submit : x->t_device;
	uint64_t wb = x->t_wb && x->t_wb < submit ? x->t_wb : submit;

	if (!t_visible) {
		ms->incomplete++;
		return;
	}
	stage_add(ms, TW_ST_SYSCALL, t_visible > x->t_write ? t_visible - x->t_write : 0);
	stage_add(ms, TW_ST_CACHE, wb > t_visible ? wb - t_visible : 0);
	if (x->t_wb)	/* writeback seen apart from its bio */
		stage_add(ms, TW_ST_QUEUED, submit - wb);
	stage_add(ms, TW_ST_DEVICE, x->t_device > submit ? x->t_device - submit : 0);
	stage_add(ms, TW_ST_END_TO_END, x->t_device > x->t_write ? x->t_device - x->t_write : 0);
}

/*
 * A unit reached the device: its stages up to there now, or when its write returns; its
 * durability now, whether the return has come or not (a full write's return comes with the
 * thread's next write, and a flush may have persisted the unit before that).
 */
void unit_latency(struct tracker *t, struct unit *u, uint64_t t_device, uint32_t dev)
{
	struct wrec *w = u->w;
	struct lat_sample x = { .t_wb = u->t_wb, .t_submit = u->t_submit, .t_device = t_device,
				.dev = dev,
				.fua = !(u->flags & U_NOT_FUA) };

	if (!w)
		return;
	x.t_write = w->t_write;
	if (durable_at_completion(t, &x))
		stage_add(&t->modes[w->mode], TW_ST_DURABLE, x.t_device - x.t_write);
	else
		await_flush(t, w->mode, &x);
	if (!w->open_in) {
		record_sample(t, w->mode, &x, w->t_visible);
		return;
	}
	if (w->nparked == w->cap) {
		uint32_t cap = w->cap ? w->cap * 2 : 4;
		struct lat_sample *p = eng_realloc(t, w->parked, cap * sizeof(*p));

		if (!p) {
			t->modes[w->mode].incomplete++;
			return;
		}
		w->parked = p;
		w->cap = cap;
	}
	w->parked[w->nparked++] = x;
}
