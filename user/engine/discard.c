// SPDX-License-Identifier: GPL-2.0
/*
 * Discards: page-cache bytes dropped unwritten (truncate, hole punch, a freed inode) end
 * the units there that will never reach the device.
 */
#include <stdlib.h>
#include "discard.h"
#include "engine.h"
#include "intake.h"
#include "units.h"
#include "verdict.h"

/*
 * Page-cache bytes dropped unwritten: a unit there that no bio carried yet never will reach
 * the device. Past a file's end (cut), even a unit with bytes in flight is gone from the
 * file: XFS on 6.1 writes the block at the new end out before it truncates.
 */
static bool discardable(const struct unit *u, uint64_t lo, uint64_t hi, bool cut)
{
	return u->live && (cut || !(u->queued || (u->flags & U_WB))) && !(u->flags & U_DIRECT) &&
	       u->off < hi &&
	       lo < u->off + u->len;
}

static void discard_list(struct tracker *t, struct unit *u, uint64_t lo, uint64_t hi, bool cut)
{
	struct unit *next;

	for (; u; u = next) {	/* the last unit out may free the list's slot: next first */
		next = u->next;
		if (discardable(u, lo, hi, cut))
			unit_finalize(t, u, TW_V_DISCARDED, 0, 0);
	}
}

static void discard_range(struct tracker *t, struct file_ent *f, uint64_t lo, uint64_t hi)
{
	uint64_t U = t->unit_size;
	struct uslot *s;

	discard_list(t, f->atomics, lo, hi, false);
	for (uint64_t off = U ? lo - lo % U : hi; off < hi; off += U)
		if ((s = slot_get(t, f, off, false)))
			discard_list(t, s->oldest, lo, hi, false);
}

struct slot_range {
	const struct file_ent *f;
	uint64_t lo;
};

static bool slot_in_range(const struct hnode *n, const void *ctx)
{
	const struct uslot *s = container_of(n, struct uslot, hn);
	const struct slot_range *r = ctx;

	return s->f == r->f && s->off >= r->lo;	/* lo is on the unit grid */
}

/*
 * Every unit of the file at or past lo: a truncation (the file ends before lo) or a freed
 * inode (lo 0). A truncation sends a record per folio: after the first, the file is known
 * clean past lo until a unit is made there. Finalizing a slot's last unit frees only it.
 */
static void discard_from(struct tracker *t, struct file_ent *f, uint64_t lo)
{
	struct slot_range r = { .f = f, .lo = lo - lo % (t->unit_size ? t->unit_size : 1) };
	struct hnode **v;
	size_t nr;

	if (lo >= f->clean_from)
		return;
	v = eng_select(t, &t->slots, slot_in_range, &r, &nr);
	discard_list(t, f->atomics, lo, UINT64_MAX, true);
	for (size_t i = 0; i < nr; i++)
		discard_list(t, container_of(v[i], struct uslot, hn)->oldest, lo, UINT64_MAX, true);
	free(v);
	f->clean_from = lo;
}

void on_discard(struct tracker *t, const struct tw_discard_ev *e)
{
	struct file_ent *f = file_get(t, e->dev, e->ino, false);

	if (!f)
		return;
	if (e->flags & TW_DISCARD_GONE) {
		discard_from(t, f, 0);
		f->st.deleted = true;	/* (dev, ino) names another file from now on */
	} else if (e->flags & TW_DISCARD_EOF) {
		discard_from(t, f, e->pos);
	} else {
		discard_range(t, f, e->pos, e->pos + e->len);
	}
}
