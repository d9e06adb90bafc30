// SPDX-License-Identifier: GPL-2.0
/*
 * Verdicts: how a unit's requests decide whole, atomic, split, cow-atomic or modified, and
 * what a verdict counts (run, file, device, mode) and tells (--events).
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "devices.h"
#include "engine.h"
#include "exposure.h"
#include "intake.h"
#include "latency.h"
#include "units.h"
#include "verdict.h"

const char *const tw_verdict_names[TW_V_NR] = {
	[TW_V_WHOLE] = "whole",		[TW_V_ATOMIC] = "atomic",
	[TW_V_SPLIT] = "split",		[TW_V_COW_ATOMIC] = "cow-atomic",
	[TW_V_SUPERSEDED] = "superseded", [TW_V_MODIFIED] = "modified",
	[TW_V_DISCARDED] = "discarded",	[TW_V_PENDING] = "pending",
};

uint64_t tw_units_total(const struct tw_counts *c)
{
	uint64_t n = 0;

	for (int i = 0; i < TW_V_NR; i++)
		n += c->verdict[i];
	return n;
}

enum tw_verdict done_verdict(const struct unit *u)
{
	if (u->flags & U_MODIFIED)
		return TW_V_MODIFIED;
	if (u->nreq <= 1)
		return u->nreq == 1 && u->nreq_atomic == 1 ? TW_V_ATOMIC : TW_V_WHOLE;
	/*
	 * An inference never decides a verdict it cannot prove. One bio that block_split never
	 * cut sits in one request; a second request id for it can only come from the tracker's
	 * own reuse inference (a request struct or bio address taken for reused), so it is not
	 * evidence of a split. The unit counts as whole, and apart in join.units_inferred.
	 */
	if ((u->flags & U_INFERRED) && u->nbios <= 1 && !(u->flags & U_SPLIT_BLOCK))
		return TW_V_WHOLE;
	if ((u->flags & (U_ATOMIC_WRITE | U_COW)) == (U_ATOMIC_WRITE | U_COW))
		return TW_V_COW_ATOMIC;
	return TW_V_SPLIT;
}

static void count_dev_unit(struct tracker *t, uint32_t dev, enum tw_mode m, enum tw_verdict v)
{
	struct tw_dev_units *d;
	size_t i;

	for (i = 0; i < t->nr_dev_units; i++)
		if (t->dev_units[i].dev == dev)
			break;
	if (i == t->nr_dev_units) {
		d = eng_realloc(t, t->dev_units, (i + 1) * sizeof(*d));
		if (!d)
			return;
		t->dev_units = d;
		memset(&d[i], 0, sizeof(d[i]));
		d[i].dev = dev;
		t->nr_dev_units++;
	}
	t->dev_units[i].n[m][v]++;
}

static void count_verdict(struct tracker *t, struct unit *u, enum tw_verdict v)
{
	count_dev_unit(t, u->f->st.dev, u->w ? u->w->mode : TW_M_BUFFERED, v);
	if (v == TW_V_SPLIT)
		note_offender(t, TW_F_SPLIT, u->f, u->off, u->len, 0);
	else if (v == TW_V_MODIFIED)
		note_offender(t, TW_F_MODIFIED, u->f, u->off, u->len, 0);
	else if (v == TW_V_PENDING)
		note_offender(t, TW_F_PENDING, u->f, u->off, u->len, 0);
	struct tw_counts *cs[2] = { &t->c, &u->f->st.c };

	if (u->w)
		t->modes[u->w->mode].units++;

	for (int i = 0; i < 2; i++) {
		struct tw_counts *c = cs[i];

		c->verdict[v]++;
		if (v == TW_V_SPLIT) {
			if (u->flags & U_SPLIT_BLOCK)
				c->split_block++;
			if (u->nbios > 1)
				(u->flags & U_DIRECT) ? c->split_dio++ : c->split_writeback++;
		}
		if ((v == TW_V_WHOLE || v == TW_V_ATOMIC) && u->nbios > 1)
			c->rejoined++;
		if (v == TW_V_PENDING)
			u->queued || (u->flags & U_WB) ? c->pending_inflight++ :
							  c->pending_cached++;
		if (u->flags & U_ERROR)
			c->io_errors++;
	}
}

/*
 * A verdict's --events line, when one is wanted (false: none). t_device: when its last bytes
 * completed at the device, 0 for no device. unit_exposure() adds its persistence and exposure.
 */
static bool unit_event(struct tracker *t, struct unit *u, enum tw_verdict v, uint64_t t_device,
		       struct tw_unit_event *ev)
{
	struct wrec *w = u->w;
	struct task_ent *te;

	if (!t->event_fn || (!t->events_all && (v == TW_V_WHOLE || v == TW_V_ATOMIC)))
		return false;
	*ev = (struct tw_unit_event){
		.t_ns = (t_device ? t_device : t->now) - t->t0,
		.mode = w ? w->mode : TW_M_BUFFERED,
		.dev = u->f->st.dev, .ino = u->f->st.ino,
		.path = u->f->st.path[0] ? u->f->st.path : "?",
		.off = u->off, .len = u->len, .verdict = v,
		.bios = u->nbios, .requests = u->nreq, .comm = "",
		.issue_ns = u->t_issue, .complete_ns = t_device,
	};
	if (w) {
		te = task_find(t, w->tid);
		ev->pid = w->pid;
		ev->tid = w->tid;
		ev->write_ns = w->t_write;
		if (te)
			ev->comm = te->comm;
		if (w->t_visible && w->t_visible > w->t_write)
			ev->syscall_ns = w->t_visible - w->t_write;
		if (t_device && t_device > w->t_write)
			ev->end_to_end_ns = t_device - w->t_write;
	}
	return true;
}

void event_emit(struct tracker *t, const struct tw_unit_event *ev)
{
	t->event_fn(t->event_ctx, ev);
}

void unit_finalize(struct tracker *t, struct unit *u, enum tw_verdict v, uint64_t t_device,
		   uint32_t dev)
{
	struct tw_unit_event ev;

	inflight_del(t, u);
	unit_exposure(t, u, v, t_device, dev, unit_event(t, u, v, t_device, &ev) ? &ev : NULL);
	count_verdict(t, u, v);
	count_beyond_atomic(t, u, v, dev);
	if (u->flags & U_INFERRED) {
		t->join.units_inferred++;
		note_offender(t, TW_F_INFERRED, u->f, u->off, u->len, 0);
	}
	if (t_device)
		unit_latency(t, u, t_device, dev);
	if (t_device && !(u->flags & U_DIRECT))
		t->triggers[u->trigger]++;
	u->live = false;
	unit_unlink(t, u);
	if (!u->refs)
		unit_free(t, u);
}
