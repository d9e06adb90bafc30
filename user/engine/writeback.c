// SPDX-License-Identifier: GPL-2.0
/*
 * Writeback start: when a unit's writeback began before any bio carried it (a folio's own
 * record, a writepages pass, PG_writeback seen by a writer), and which instance it was.
 */
#include "engine.h"
#include "intake.h"
#include "units.h"
#include "writeback.h"
#include "writes.h"

/*
 * The writeback's own record (a folio's start, a pass's end) began writeback on the slot's
 * oldest instance still waiting for bytes; displaced ones excepted (see wb_instance()).
 */
static struct unit *wb_start_instance(struct unit *list, uint64_t lo, uint64_t hi)
{
	for (struct unit *u = list; u; u = u->next)
		if (u->live && !displaced(u) && u->done < u->len && u->off < hi &&
		    lo < u->off + u->len)
			return u;
	return NULL;
}

/*
 * The instance whose bytes a folio under writeback holds, PG_writeback having been seen on
 * it by thread tid, inside its own write or fault (a modification, a wait). PG_writeback
 * alone never starts an instance's writeback: it may be the tail of a writeback whose
 * completion was already recorded (the folio's writeback ends just after). So, oldest first:
 * - an instance whose bio is in flight (queued, not all done);
 * - one the thread's open write displaced, unless the slot may be in such a tail: that write
 *   could not lock the folio before its writeback began, so the bytes in flight are older
 *   than the write's (a U_WB mark the writeback's record gave its successor moves back);
 * - one whose writeback began (U_WB).
 */
static struct unit *wb_instance(struct tracker *t, struct uslot *s, uint64_t lo, uint64_t hi,
				uint32_t tid)
{
	struct wrec *w = write_open_in(t, tid);
	struct unit *began = NULL, *disp = NULL;

	for (struct unit *u = s->oldest; u; u = u->next) {
		if (!u->live || u->off >= hi || lo >= u->off + u->len)
			continue;
		if (u->queued) {
			if (u->done < u->len)
				return u;
		} else if (u->flags & U_WB) {
			if (!began)
				began = u;
		} else if ((u->flags & U_DISPLACED) && w && u->displaced_by == w->id && !disp) {
			disp = u;
		}
	}
	if (disp && !s->tail) {
		if (began && began != disp) {
			began->flags &= ~U_WB;
			began->t_wb = 0;
		}
		return disp;
	}
	return began;
}

/* Its writeback began by ts: its bytes are in flight although no bio carried them yet. */
static void wb_began(struct unit *u, uint64_t ts)
{
	if (u->queued || (u->flags & U_WB))
		return;
	u->flags |= U_WB;
	u->t_wb = ts;
}

/* The writeback's own record: writeback began on [lo, hi) of f at ts. */
static void wb_started(struct tracker *t, struct file_ent *f, uint64_t lo, uint64_t hi,
		       uint64_t ts)
{
	uint64_t U = t->unit_size;
	struct unit *u;

	if (!U)
		return;
	for (uint64_t off = lo / U * U; off < hi; off += U) {
		struct uslot *s = slot_get(t, f, off, false);

		if (!s)
			continue;
		s->tail = false;	/* a new writeback: the last one ended */
		if ((u = wb_start_instance(s->oldest, lo, hi)))
			wb_began(u, ts);
	}
}

/* PG_writeback seen on [lo, hi) of f at ts by tid; mod: the bytes were changed. */
void wb_seen(struct tracker *t, struct file_ent *f, uint64_t lo, uint64_t hi, uint32_t tid,
	     uint64_t ts, bool mod)
{
	uint64_t U = t->unit_size;
	struct unit *u;

	if (mod)
		for (u = f->atomics; u; u = u->next)
			if (u->live && u->queued && u->done < u->len && u->off < hi &&
			    lo < u->off + u->len)
				u->flags |= U_MODIFIED;
	if (!U)
		return;
	for (uint64_t off = lo / U * U; off < hi; off += U) {
		struct uslot *s = slot_get(t, f, off, false);

		if (!s || !(u = wb_instance(t, s, lo, hi, tid)))
			continue;
		wb_began(u, ts);
		if (mod)
			u->flags |= U_MODIFIED;
	}
}

/*
 * A writepages pass ended well. Data-integrity writeback (or one without a page budget that
 * met no folio of an older instance still in flight) started writeback on every folio dirty
 * when it began: each cached unit in its range whose write had returned by then is in flight.
 * Its start is known only within the pass: the pass's begin is taken.
 */
static void wb_pass_done(struct tracker *t, const struct wb_pass *p)
{
	bool all = p->flags & TW_WB_SYNC_ALL;
	struct unit *u, *next;

	if (!all && !(p->flags & TW_WB_NO_LIMIT))
		return;
	for (u = p->f->cached; u; u = next) {
		next = u->c_next;
		if (u->off < p->lo || u->off + u->len > p->hi || (u->flags & (U_WB | U_DISPLACED)))
			continue;
		if (!u->w || u->w->open_in || !u->w->t_visible || u->w->t_visible > p->t)
			continue;
		if (!all && u->slot && u->slot->oldest != u)
			continue;
		if (u->slot)
			u->slot->tail = false;
		wb_began(u, p->t);
	}
}

void on_wb_start(struct tracker *t, const struct tw_wb_ev *e)
{
	struct file_ent *f = file_get(t, e->dev, e->ino, false);
	uint64_t hi = e->pos + e->len < e->pos ? UINT64_MAX : e->pos + e->len;
	struct task_ent *te;

	if (!f)
		return;
	if (!(e->flags & TW_WB_PASS)) {
		wb_started(t, f, e->pos, hi, e->h.ts_ns);
		return;
	}
	if (e->flags & TW_WB_PASS_WHOLE) {	/* sent at its end, stamped with its begin */
		struct wb_pass p = { .f = f, .t = e->h.ts_ns, .lo = e->pos, .hi = hi,
				     .flags = e->flags };

		if ((e->flags & TW_WB_PASS_END) && !e->ret)
			wb_pass_done(t, &p);
		return;
	}
	te = task_get(t, e->h.tid, e->h.pid);
	if (!te)
		return;
	if (!(e->flags & TW_WB_PASS_END)) {
		te->pass = (struct wb_pass){ .f = f, .t = e->h.ts_ns, .lo = e->pos, .hi = hi,
					     .flags = e->flags };
		return;
	}
	if (te->pass.f == f && !e->ret)
		wb_pass_done(t, &te->pass);
	te->pass.f = NULL;
}
