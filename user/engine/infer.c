// SPDX-License-Identifier: GPL-2.0
/*
 * Inferred completions: a bio or request reused, a bio gone, an fsync that returned prove a
 * completion whose record never came; its units get their verdicts, the inference counted.
 */
#include <stdlib.h>
#include "engine.h"
#include "infer.h"
#include "intake.h"
#include "join.h"

/*
 * The kernel frees a bio only after it completed, and reuses a request only after it
 * completed: an issued bio whose address comes back, or whose request is issued again
 * elsewhere, did complete although its record never came (seen rarely under load, on XFS
 * with split bios). Its units get their verdicts (requests are what decide them); the
 * device time is when the reuse was seen, an upper bound, and the inference is counted.
 */
void bio_infer_done(struct tracker *t, struct bio_rec *b, uint64_t ts)
{
	uint64_t len;

	t->join.completions_inferred++;
	for (uint32_t i = 0; i < b->np; i++)
		if (piece_window(&b->p[i], b->cur, b->end, &len))
			b->p[i].u->flags |= U_INFERRED;
	bio_done_bytes(t, b, b->end - b->cur, 0, ts, b->dev);
}

/* The bio at this address ended: issued, its completion is inferred; never issued, dropped. */
void bio_forget(struct tracker *t, struct bio_rec *b, uint64_t ts)
{
	if (b->rq_id) {
		bio_infer_done(t, b, ts);
	} else {
		t->join.reused_bio++;
		bio_free(t, b);
	}
}

/* BPF found the address of a followed bio queued again: that bio ended unseen (tw_gone_ev). */
void on_bio_gone(struct tracker *t, const struct tw_gone_ev *e)
{
	struct bio_rec *b = bio_get(t, e->bio);

	if (b)
		bio_forget(t, b, e->h.ts_ns);
}

static bool bio_on_request(const struct hnode *n, const void *r)
{
	return container_of(n, struct bio_rec, k.hn)->rq_id == ((const struct rq_rec *)r)->id;
}

/* Every issued bio of a request that was reused before its completion record came. */
void rq_infer_done(struct tracker *t, struct rq_rec *r, uint64_t ts)
{
	size_t nr;
	struct hnode **v = eng_select(t, &t->bios, bio_on_request, r, &nr);

	for (size_t i = 0; i < nr; i++)	/* each frees only itself */
		bio_infer_done(t, container_of(v[i], struct bio_rec, k.hn), ts);
	free(v);
	r->completed = true;
}

struct sync_scope {
	const struct file_ent *f;
	uint64_t t0;
	uint32_t tid;
	bool own;		/* msync: only the bios the thread queued inside it */
};

/* An issued bio of the file that the sync waited for: queued before it, or by it. */
static bool bio_synced(const struct hnode *n, const void *ctx)
{
	const struct bio_rec *b = container_of(n, struct bio_rec, k.hn);
	const struct sync_scope *sc = ctx;

	/* fsync waits for page writeback, not for direct writes in flight (aio) */
	if (!b->rq_id || b->dio || !(b->ts < sc->t0 || b->tid == sc->tid))
		return false;
	if (sc->own && !(b->tid == sc->tid && b->ts >= sc->t0))
		return false;
	for (uint32_t i = 0; i < b->np; i++)
		if (b->p[i].u->f == sc->f && !(b->p[i].u->flags & U_DIRECT))
			return true;
	return false;
}

/*
 * fsync/fdatasync returned 0 (tw_sync_ev): every bio of the file it waited for has ended;
 * msync (TW_SYNC_MSYNC) waited only for those it queued itself, for its range.
 * One still open lost its completion record (a completion no program ran for); it is
 * inferred now, with the return as the upper bound of its device time.
 */
void on_sync_end(struct tracker *t, const struct tw_sync_ev *e)
{
	struct file_ent *f = file_get(t, e->dev, e->ino, false);
	struct sync_scope sc = { .f = f, .t0 = e->t0, .tid = e->h.tid,
				 .own = e->flags & TW_SYNC_MSYNC };
	struct hnode **v;
	size_t nr;

	if (!f || e->ret)
		return;
	v = eng_select(t, &t->bios, bio_synced, &sc, &nr);
	for (size_t i = 0; i < nr; i++)	/* each frees only itself */
		bio_infer_done(t, container_of(v[i], struct bio_rec, k.hn), e->h.ts_ns);
	free(v);
}
