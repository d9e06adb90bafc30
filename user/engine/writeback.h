/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Writeback start (writeback.c): when a unit's writeback began before a bio carried it;
 * wb_pass is the writepages pass a thread runs (in its task_ent).
 */
#ifndef TW_ENGINE_WRITEBACK_H
#define TW_ENGINE_WRITEBACK_H

#include "engine.h"

/* A writepages pass of a traced file that this thread runs (TW_WB_PASS). */
struct wb_pass {
	struct file_ent *f;		/* NULL: none open */
	uint64_t t, lo, hi;
	uint32_t flags;
};

void wb_seen(struct tracker *t, struct file_ent *f, uint64_t lo, uint64_t hi, uint32_t tid,
	     uint64_t ts, bool mod);
void on_wb_start(struct tracker *t, const struct tw_wb_ev *e);

#endif
