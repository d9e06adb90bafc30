// SPDX-License-Identifier: GPL-2.0
/*
 * The join: bios queued with the file extents they carry, block-layer splits, requests; each
 * bio's pieces name the units whose bytes it carries, until all of a unit's bytes are done.
 */
#include <errno.h>
#include <stdlib.h>
#include "atomic.h"
#include "engine.h"
#include "exposure.h"
#include "infer.h"
#include "intake.h"
#include "join.h"
#include "units.h"
#include "verdict.h"

struct bio_rec *bio_get(struct tracker *t, uint64_t ptr)
{
	struct hkey *k = hkey_find(&t->bios, ptr);

	return k ? container_of(k, struct bio_rec, k) : NULL;
}

static struct rq_rec *rq_get(struct tracker *t, uint64_t ptr)
{
	struct hkey *k = hkey_find(&t->rqs, ptr);

	return k ? container_of(k, struct rq_rec, k) : NULL;
}

static int piece_add(struct tracker *t, struct bio_rec *b, struct unit *u, uint64_t start,
		     uint64_t len)
{
	if (b->np == b->cap) {
		uint32_t cap = b->cap ? b->cap * 2 : 4;
		struct piece *p = eng_realloc(t, b->p, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	b->p[b->np++] = (struct piece){ .u = u, .start = start, .len = len };
	u->refs++;
	return 0;
}

/* The oldest live instance that still waits for bytes takes them. */
static struct unit *instance_for(struct unit *list, uint64_t lo, uint64_t hi)
{
	for (struct unit *u = list; u; u = u->next)
		if (u->live && !displaced(u) && u->queued < u->len && u->off < hi &&
		    lo < u->off + u->len)
			return u;
	return NULL;
}

static void claim(struct tracker *t, struct bio_rec *b, struct unit *u, uint64_t lo, uint64_t hi,
		  uint64_t ext_off, uint64_t bio_off)
{
	uint64_t a = lo > u->off ? lo : u->off;
	uint64_t z = hi < u->off + u->len ? hi : u->off + u->len;

	if (a >= z || piece_add(t, b, u, bio_off + (a - ext_off), z - a))
		return;
	cached_del(u);
	if (u->slot)
		u->slot->tail = false;	/* a new writeback: the last one ended */
	u->queued += z - a;
	if (!u->t_submit) {
		u->t_submit = b->ts;
		u->trigger = b->trigger;
	}
	if (!u->in_flight)	/* once: a record without a time leaves t_submit 0 */
		inflight_add(t, u);
	if (u->last_bio != b->id) {
		u->nbios++;
		u->last_bio = b->id;
	}
}

static void assign_extent(struct tracker *t, struct bio_rec *b, const struct tw_ext *x,
			  uint64_t bio_off)
{
	struct file_ent *f = file_get(t, x->dev, x->ino, false);
	uint64_t lo = x->off, hi = x->off + x->len, claimed = 0, U = t->unit_size;
	uint32_t np0 = b->np;
	struct unit *u;

	if (!f) {
		t->join.foreign_bytes += x->len;
		return;
	}
	while ((u = instance_for(f->atomics, lo, hi))) {
		uint64_t q = u->queued;

		claim(t, b, u, lo, hi, lo, bio_off);
		if (u->queued == q)
			break;
	}
	if (U) {
		for (uint64_t off = lo / U * U; off < hi; off += U) {
			struct uslot *s = slot_get(t, f, off, false);

			if (s && (u = instance_for(s->oldest, lo, hi)))
				claim(t, b, u, lo, hi, lo, bio_off);
		}
	}
	for (uint32_t i = np0; i < b->np; i++)
		claimed += b->p[i].len;
	if (claimed < x->len)
		t->join.unmatched_bytes += x->len - claimed;
}

static struct bio_rec *bio_new(struct tracker *t, uint64_t ptr, uint64_t cur, uint64_t end,
			       uint64_t ts)
{
	struct bio_rec *b = bio_get(t, ptr);

	if (b)
		bio_forget(t, b, ts);
	b = eng_zalloc(t, sizeof(*b));
	if (!b)
		return NULL;
	b->id = ++t->next_id;
	b->ts = ts;
	b->cur = cur;
	b->end = end;
	hkey_add(&t->bios, &b->k, ptr);
	return b;
}

void bio_free(struct tracker *t, struct bio_rec *b)
{
	for (uint32_t i = 0; i < b->np; i++)
		unit_put(t, b->p[i].u);
	htab_del(&t->bios, &b->k.hn);
	free(b->p);
	free(b);
}

void on_bio_queue(struct tracker *t, const struct tw_bio_ev *e)
{
	struct bio_rec *b = bio_new(t, e->bio, 0, e->size, e->h.ts_ns);
	uint64_t off = 0;

	if (!b)
		return;
	b->trigger = e->trigger < TW_TRIG_NR ? e->trigger : TW_TRIG_UNKNOWN;
	b->tid = e->h.tid;
	b->dio = e->flags & TW_BIO_DIO;
	for (uint32_t i = 0; i < e->nr_ext && i < TW_MAX_EXT; i++) {
		assign_extent(t, b, &e->ext[i], off);
		off += e->ext[i].len;
	}
}

void on_bio_split(struct tracker *t, const struct tw_split_ev *e)
{
	struct bio_rec *p = bio_get(t, e->parent), *f;
	uint64_t cut;

	if (!p) {
		t->join.unknown_parent++;
		return;
	}
	cut = p->cur + e->size < p->end ? p->cur + e->size : p->end;
	f = bio_new(t, e->bio, p->cur, cut, e->h.ts_ns);
	if (!f)
		return;
	p = bio_get(t, e->parent); /* bio_new never frees the parent: ids differ */
	for (uint32_t i = 0; i < p->np; i++) {
		struct piece *pc = &p->p[i];
		uint64_t a = pc->start > f->cur ? pc->start : f->cur;
		uint64_t z = pc->start + pc->len < cut ? pc->start + pc->len : cut;

		if (a < z) {
			piece_add(t, f, pc->u, a, z - a);
			pc->u->scratch = f->id;
		}
	}
	/* A unit with bytes on both sides of the cut was split by the block layer. */
	for (uint32_t i = 0; i < p->np; i++) {
		struct piece *pc = &p->p[i];

		if (pc->start + pc->len > cut && pc->u->scratch == f->id)
			pc->u->flags |= U_SPLIT_BLOCK;
	}
	p->cur = cut;
}

bool piece_window(const struct piece *pc, uint64_t lo, uint64_t hi, uint64_t *len)
{
	uint64_t a = pc->start > lo ? pc->start : lo;
	uint64_t z = pc->start + pc->len < hi ? pc->start + pc->len : hi;

	*len = a < z ? z - a : 0;
	return a < z;
}

void on_rq_issue(struct tracker *t, const struct tw_rq_ev *e)
{
	struct bio_rec *b = bio_get(t, e->bio);
	struct rq_rec *r;
	uint64_t len;

	if (b && b->rq_id && b->dev != e->dev) {
		/*
		 * A bio never changes device: this is a new bio at the address of one that ended
		 * unseen (records without BIO_GONE: the BPF map kept the stale key).
		 */
		bio_infer_done(t, b, e->h.ts_ns);
		b = NULL;
	}
	if (!b) {
		t->join.unknown_bio++;
		return;
	}
	r = rq_get(t, e->rq);
	if (!r) {
		r = eng_zalloc(t, sizeof(*r));
		if (!r)
			return;
		hkey_add(&t->rqs, &r->k, e->rq);
		r->completed = true;
	}
	if (!r->completed && r->sector != e->sector) {	/* reused before its completion came */
		rq_infer_done(t, r, e->h.ts_ns);
		/* the bio itself was on that request: its bytes are done, its record gone */
		if (!(b = bio_get(t, e->bio))) {
			t->join.unknown_bio++;
			return;
		}
	}
	if (r->completed) {	/* a new request in a reused struct request */
		r->id = ++t->next_id;
		r->sector = e->sector;
		r->completed = false;
	}
	b->rq_id = r->id;
	b->dev = e->dev;
	for (uint32_t i = 0; i < b->np; i++) {
		struct unit *u = b->p[i].u;

		if (!piece_window(&b->p[i], b->cur, b->end, &len))
			continue;
		if (!u->t_issue || e->h.ts_ns < u->t_issue)
			u->t_issue = e->h.ts_ns;
		if (u->last_rq == r->id)
			continue;
		u->last_rq = r->id;
		u->nreq++;
		if (!(e->flags & TW_RQ_FUA))
			u->flags |= U_NOT_FUA;
		if ((u->flags & U_ATOMIC_WRITE) && rq_breaks_atomic_limits(t, e)) {
			t->atomic.device_misaligned++;
			u->flags |= U_ATOMIC_MISFIT;
		} else if (e->flags & TW_RQ_ATOMIC) {
			u->nreq_atomic++;
		}
	}
}

/* Bytes of a bio done at the device: the units whose last bytes these were get a verdict. */
void bio_done_bytes(struct tracker *t, struct bio_rec *b, uint64_t bytes, int error,
		    uint64_t ts, uint32_t dev)
{
	uint64_t hi = b->cur + bytes < b->end ? b->cur + bytes : b->end, len;

	for (uint32_t i = 0; i < b->np; i++) {
		struct unit *u = b->p[i].u;

		if (!piece_window(&b->p[i], b->cur, hi, &len))
			continue;
		u->done += len;
		if (error)
			u->flags |= U_ERROR;
		if (u->live && u->done >= u->len) {
			if (!u->nreq) {	/* never saw its issue: one request at least */
				u->nreq = 1;
				u->flags |= U_NOT_FUA;	/* whose FUA is unknown */
			}
			if (u->slot)
				u->slot->tail = true;
			unit_finalize(t, u, done_verdict(u), ts, dev);
		}
	}
	b->cur = hi;
	if (b->cur >= b->end)
		bio_free(t, b);
}

void on_rq_complete(struct tracker *t, const struct tw_rq_ev *e)
{
	struct bio_rec *b = bio_get(t, e->bio);
	struct rq_rec *r = rq_get(t, e->rq);

	if (r)
		r->completed = true;
	if (!b) {
		t->join.unknown_bio++;
		return;
	}
	bio_done_bytes(t, b, e->bio_bytes, e->error, e->h.ts_ns, e->dev);
}
