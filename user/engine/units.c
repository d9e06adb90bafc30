// SPDX-License-Identifier: GPL-2.0
/*
 * Units: the unit table (grid slots of instances, atomic lists), cutting a write into units,
 * and a newer write superseding an instance that no bio carried yet.
 */
#include <stdlib.h>
#include "check.h"
#include "engine.h"
#include "units.h"
#include "verdict.h"
#include "writes.h"

static uint64_t slot_hash(const struct file_ent *f, uint64_t off)
{
	return hash_mix(hash_mix(f->st.dev, f->st.ino), off);
}

struct uslot *slot_get(struct tracker *t, struct file_ent *f, uint64_t off, bool create)
{
	uint64_t h = slot_hash(f, off);
	struct hnode *n = NULL;
	struct uslot *s;

	while ((n = htab_next_match(&t->slots, h, n))) {
		s = container_of(n, struct uslot, hn);
		if (s->f == f && s->off == off)
			return s;
	}
	if (!create)
		return NULL;
	s = eng_zalloc(t, sizeof(*s));
	if (!s)
		return NULL;
	s->f = f;
	s->off = off;
	htab_add(&t->slots, &s->hn, h);
	return s;
}

static struct unit *unit_new(struct tracker *t, struct file_ent *f, uint64_t off, uint64_t len,
			     struct wrec *w, uint32_t flags)
{
	struct unit *u;

	if (t->live_units >= t->max_units || !(u = eng_zalloc(t, sizeof(*u)))) {
		t->c.untracked++;
		f->st.c.untracked++;
		return NULL;
	}
	if (++t->live_units > t->peak_units)
		t->peak_units = t->live_units;
	if (off + len > f->clean_from)
		f->clean_from = UINT64_MAX;
	u->f = f;
	u->off = off;
	u->len = len;
	u->w = w;
	w->refs++;
	u->flags = flags;
	u->live = true;
	u->last_bio = u->last_rq = u->scratch = UINT64_MAX;
	return u;
}

void unit_free(struct tracker *t, struct unit *u)
{
	t->live_units--;
	wrec_put(u->w);
	free(u);
}

void unit_put(struct tracker *t, struct unit *u)
{
	if (--u->refs == 0 && !u->live)
		unit_free(t, u);
}

/* The file's cached list: grid units no bio carried yet, for a writepages pass's end. */
static void cached_add(struct unit *u)
{
	struct file_ent *f = u->f;

	u->c_prev = NULL;
	u->c_next = f->cached;
	if (f->cached)
		f->cached->c_prev = u;
	f->cached = u;
	u->in_cached = true;
}

void cached_del(struct unit *u)
{
	if (!u->in_cached)
		return;
	if (u->c_prev)
		u->c_prev->c_next = u->c_next;
	else
		u->f->cached = u->c_next;
	if (u->c_next)
		u->c_next->c_prev = u->c_prev;
	u->c_prev = u->c_next = NULL;
	u->in_cached = false;
}

/* Take a unit out of its slot chain or atomic list; free the slot when empty. */
void unit_unlink(struct tracker *t, struct unit *u)
{
	struct unit **pp = u->slot ? &u->slot->oldest : &u->f->atomics;

	cached_del(u);
	for (; *pp; pp = &(*pp)->next) {
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	}
	u->next = NULL;
	if (u->slot && !u->slot->oldest) {
		htab_del(&t->slots, &u->slot->hn);
		free(u->slot);
	}
	u->slot = NULL;
}

static void list_append(struct unit **head, struct unit *u)
{
	while (*head)
		head = &(*head)->next;
	*head = u;
}

static bool wrec_hold(struct tracker *t, struct wrec *w, struct unit *u)
{
	if (w->ndisp == w->dcap) {
		uint32_t cap = w->dcap ? w->dcap * 2 : 4;
		struct unit **d = eng_realloc(t, w->disp, cap * sizeof(*d));

		if (!d)
			return false;
		w->disp = d;
		w->dcap = cap;
	}
	w->disp[w->ndisp++] = u;
	u->refs++;
	return true;
}

/* Displaced, and not known to be in flight: its bytes left the cache with its successor's. */
bool displaced(const struct unit *u)
{
	return (u->flags & (U_DISPLACED | U_WB)) == U_DISPLACED;
}

/*
 * A new write of a whole unit whose previous instance no bio carried yet (a grid instance
 * made by mmap stores may hold only part of the unit: one inside the range counts). Whose writeback
 * began (U_WB) is in flight, not superseded. One not known to be is displaced (w given):
 * its folio may be under writeback already, its bio held before the block layer (blk-throttle)
 * or not yet built. While w writes, its own thread finds such a folio under writeback (a
 * modification, a stable-page wait: see wb_instance()); when w returns without that, the
 * instance was superseded (settle_displaced()). Without w, superseded at once.
 */
static void supersede_cached(struct tracker *t, struct unit *list, uint64_t off, uint64_t len,
			     struct wrec *w)
{
	struct unit *u, *next;

	for (u = list; u; u = next) {
		next = u->next;
		if (!u->live || u->off < off || u->off + u->len > off + len ||
		    (!u->slot && u->off + u->len != off + len) || u->queued ||
		    (u->flags & (U_WB | U_DISPLACED)))
			continue;
		if (w && wrec_hold(t, w, u)) {
			u->flags |= U_DISPLACED;
			u->displaced_by = w->id;
		} else {
			unit_finalize(t, u, TW_V_SUPERSEDED, 0, 0);
		}
	}
}

/* w returned (written: the bytes it wrote, UINT64_MAX all): what it displaced is settled. */
void settle_displaced(struct tracker *t, struct wrec *w)
{
	for (uint32_t i = 0; i < w->ndisp; i++) {
		struct unit *u = w->disp[i];

		if (u->live && (u->flags & U_DISPLACED) && u->displaced_by == w->id) {
			if (u->flags & U_WB)	/* in flight: its bio is still to come */
				u->flags &= ~U_DISPLACED;
			else if (w->written != UINT64_MAX && u->off + u->len > w->pos + w->written)
				u->flags &= ~U_DISPLACED;	/* not rewritten after all */
			else
				unit_finalize(t, u, TW_V_SUPERSEDED, 0, 0);
		}
		unit_put(t, u);
	}
	w->ndisp = 0;
}

void make_units(struct tracker *t, struct wrec *w, uint64_t len)
{
	uint64_t U = t->unit_size, off, end;
	struct file_ent *f = w->f;
	struct unit *u;

	if (w->uflags & U_ATOMIC_WRITE) {
		if (!len)
			return;
		supersede_cached(t, f->atomics, w->pos, len, NULL);
		u = unit_new(t, f, w->pos, len, w, w->uflags);
		if (u)
			list_append(&f->atomics, u);
		return;
	}
	if (!U)
		return;
	if ((w->pos % U) || (len % U)) {
		t->c.misaligned++;
		f->st.c.misaligned++;
		note_offender(t, TW_F_MISALIGNED, f, w->pos, len, 0);
	}
	off = (w->pos + U - 1) / U * U;
	end = (w->pos + len) / U * U;
	for (; off + U <= end; off += U) {
		/* a full table: only a unit already here can change (superseded), at no cost */
		struct uslot *s = slot_get(t, f, off, t->live_units < t->max_units);

		if (!s) {
			t->c.untracked++;
			f->st.c.untracked++;
			continue;
		}
		supersede_cached(t, s->oldest, off, U, w);
		s = slot_get(t, f, off, true); /* superseding may have freed it */
		if (!s)
			continue;
		u = unit_new(t, f, off, U, w, w->uflags);
		if (!u) {
			if (!s->oldest) {
				htab_del(&t->slots, &s->hn);
				free(s);
			}
			continue;
		}
		u->slot = s;
		list_append(&s->oldest, u);
		cached_add(u);
	}
}

/* The write returned less than asked (or failed): units it never wrote are not units. */
void drop_unwritten(struct tracker *t, struct wrec *w, uint64_t written)
{
	uint64_t U = t->unit_size, off;
	struct unit *u, *next;

	for (u = w->f->atomics; u; u = next) {
		next = u->next;
		if (u->w == w && !u->queued && u->off + u->len > w->pos + written) {
			unit_unlink(t, u);
			u->live = false;
			if (!u->refs)
				unit_free(t, u);
		}
	}
	if (!U || (w->uflags & U_ATOMIC_WRITE))
		return;
	for (off = (w->pos + written) / U * U; off < w->pos + w->count; off += U) {
		struct uslot *s = slot_get(t, w->f, off, false);

		if (!s)
			continue;
		for (u = s->oldest; u; u = next) {
			next = u->next;
			if (u->w == w && !u->queued) {
				/* unlinking the only instance frees the slot */
				bool only = s->oldest == u && !u->next;

				unit_unlink(t, u);
				u->live = false;
				if (!u->refs)
					unit_free(t, u);
				if (only)
					break;
			}
		}
	}
}

bool write_queued(struct tracker *t, const struct wrec *w)
{
	uint64_t U = t->unit_size, off;
	struct unit *u;

	for (u = w->f->atomics; u; u = u->next)
		if (u->w == w && u->queued)
			return true;
	if (!U || (w->uflags & U_ATOMIC_WRITE))
		return false;
	for (off = w->pos / U * U; off < w->pos + w->count; off += U) {
		struct uslot *s = slot_get(t, w->f, off, false);

		for (u = s ? s->oldest : NULL; u; u = u->next)
			if (u->w == w && u->queued)
				return true;
	}
	return false;
}

/* An instance made by stores, all still in the cache (no bio, no writeback seen). */
static bool mmap_growable(const struct unit *u)
{
	return u->live && (u->flags & U_MMAP) && u->in_cached && !(u->flags & (U_WB | U_DISPLACED));
}

/*
 * One grid unit's bytes [lo, hi) dirtied by a store. Instances the stores of this unit made
 * before, still all in the cache, that touch them become one instance covering them all
 * (stores come in any order: a memcpy may fault its pages from the last); else a new one.
 */
void mmap_unit(struct tracker *t, struct file_ent *f, struct wrec *w, uint64_t off,
	       uint64_t lo, uint64_t hi)
{
	struct uslot *s = slot_get(t, f, off, t->live_units < t->max_units);
	struct unit *u, *next, *keep = NULL;
	bool grew = true;

	if (!s) {
		t->c.untracked++;
		f->st.c.untracked++;
		return;
	}
	while (grew) {
		grew = false;
		for (u = s->oldest; u; u = next) {
			next = u->next;
			if (u == keep || !mmap_growable(u) || u->off > hi || lo > u->off + u->len)
				continue;
			lo = lo < u->off ? lo : u->off;
			hi = hi > u->off + u->len ? hi : u->off + u->len;
			grew = true;
			if (!keep) {
				keep = u;
			} else {	/* absorbed: never judged, never counted */
				unit_unlink(t, u);
				u->live = false;
				if (!u->refs)
					unit_free(t, u);
			}
		}
		if (keep) {
			keep->off = lo;
			keep->len = hi - lo;
		}
	}
	if (keep) {
		if (hi > f->clean_from)
			f->clean_from = UINT64_MAX;
		return;
	}
	u = unit_new(t, f, lo, hi - lo, w, U_MMAP);
	if (!u) {
		if (!s->oldest) {
			htab_del(&t->slots, &s->hn);
			free(s);
		}
		return;
	}
	u->slot = s;
	list_append(&s->oldest, u);
	cached_add(u);
}
