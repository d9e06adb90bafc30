// SPDX-License-Identifier: GPL-2.0
/*
 * Writes: a write's record from its syscall, kiocb, io_submit or io_uring request until it
 * returned (short, refused, retried), and stores through a mapping; owns the open writes.
 */
#include <stdlib.h>
#include "atomic.h"
#include "check.h"
#include "engine.h"
#include "intake.h"
#include "latency.h"
#include "units.h"
#include "writes.h"

/* WRITE_BEGIN makes the units of the bytes asked for; WRITE_END corrects short writes. */
static void write_returned(struct tracker *t, struct wrec *w, int64_t ret, uint64_t ts);

static struct wrec *wrec_find(struct htab *h, uint64_t key)
{
	struct hkey *k = hkey_find(h, key);

	return k ? container_of(k, struct wrec, k) : NULL;
}

/* The write syscall thread tid is inside, if any. */
struct wrec *write_open_in(struct tracker *t, uint32_t tid)
{
	return wrec_find(&t->writes, tid);
}

/* A write of f, counted; one reference, the caller's. */
static struct wrec *wrec_new(struct tracker *t, struct file_ent *f, const struct tw_hdr *hdr,
			     uint64_t pos, uint64_t count, uint32_t uflags, enum tw_mode mode)
{
	struct wrec *w = eng_zalloc(t, sizeof(*w));

	if (!w)
		return NULL;
	w->refs = 1;
	w->written = UINT64_MAX;
	w->f = f;
	w->pos = pos;
	w->count = count;
	w->uflags = uflags;
	w->mode = mode;
	w->id = ++t->next_id;
	w->t_write = hdr->ts_ns;
	w->pid = hdr->pid;
	w->tid = hdr->tid;
	f->st.writes++;
	t->writes_n++;
	t->modes[mode].writes++;
	return w;
}

void wrec_put(struct wrec *w)
{
	if (!w || --w->refs)
		return;
	free(w->parked);
	free(w->disp);
	free(w);
}

/* The write returned (t_visible), or is given up (0): the parked times are recorded. */
static void wrec_close(struct tracker *t, struct wrec *w, uint64_t t_visible)
{
	if (!w->open_in)
		return;
	htab_del(w->open_in, &w->k.hn);
	w->open_in = NULL;
	w->t_visible = t_visible;
	settle_displaced(t, w);
	for (uint32_t i = 0; i < w->nparked; i++)
		record_sample(t, w->mode, &w->parked[i], t_visible);
	w->nparked = 0;
	wrec_put(w);
}

/* A write begins: its record, open under key in h (tid, or kiocb for async direct). */
static struct wrec *write_start(struct tracker *t, struct htab *h, uint64_t key,
				const struct tw_hdr *hdr, uint32_t dev, uint64_t ino, uint64_t pos,
				uint64_t count, uint32_t uflags, enum tw_mode mode)
{
	struct wrec *w = wrec_find(h, key);
	struct file_ent *f = file_get(t, dev, ino, true);

	if (w)		/* the last one never returned (its END was lost): give it up */
		wrec_close(t, w, 0);
	if (!f || !(w = wrec_new(t, f, hdr, pos, count, uflags, mode)))
		return NULL;
	w->open_in = h;
	hkey_add(h, &w->k, key);
	return w;
}

/*
 * A buffered iocb of io_submit (TW_W_AIO) is open in the aio table under its thread and
 * place in the batch (bit 62: never a kernel kiocb address) until io_submit returns.
 */
#define AIO_KEY(tid, i) ((1ULL << 62) | ((uint64_t)(tid) << 8) | (i))

/*
 * A buffered io_uring write (TW_W_URING) is open in the aio table under its request's
 * address with bit 62 cleared: never a kernel kiocb address (bits 48..63 all set), never
 * an AIO_KEY (bit 63 clear).
 */
#define URING_KEY(req) ((req) & ~(1ULL << 62))

void on_write_begin(struct tracker *t, const struct tw_write_ev *e)
{
	uint32_t uflags = 0;
	struct htab *h = &t->writes;
	uint64_t key = e->h.tid;
	struct wrec *w;

	if (e->wflags & TW_W_AIO) {
		h = &t->aio;
		key = AIO_KEY(e->h.tid, e->aio_index);
	} else if (e->wflags & TW_W_URING) {
		h = &t->aio;
		key = URING_KEY(e->req);
	}

	/* The thread's previous write wrote all it asked; its return time comes only now. */
	if (e->prev_end_ns && (w = wrec_find(&t->writes, e->h.tid)))
		write_returned(t, w, w->count, e->prev_end_ns);

	if (e->f_flags & TW_O_DIRECT)
		uflags |= U_DIRECT;
	if (e->rwf & TW_RWF_ATOMIC)
		uflags |= U_ATOMIC_WRITE;
	w = write_start(t, h, key, &e->h, e->dev, e->ino, e->pos, e->count, uflags,
			tw_mode_of_write(e->f_flags, e->rwf));
	if (!w)
		return;
	if (uflags & U_ATOMIC_WRITE)
		check_atomic(t, w->f, uflags & U_DIRECT, e->pos, e->count, e->iovcnt);
	if (e->wflags & TW_W_COUNT_UNKNOWN) {
		w->count_unknown = true;
		return;
	}
	make_units(t, w, e->count);
	w->f->st.bytes += e->count;
	t->write_bytes += e->count;
}

static void count_refused(struct tracker *t, struct wrec *w, int64_t err)
{
	struct tw_mode_stats *m = &t->modes[w->mode];

	m->refused++;
	if (-err > 0 && -err < TW_ERRNO_MAX)
		m->refused_errno[-err]++;
	if (w->uflags & U_ATOMIC_WRITE) {
		t->c.refused++;
		w->f->st.c.refused++;
		note_offender(t, TW_F_REFUSED, w->f, w->pos, w->count, -err);
	}
}

/* The write returned ret: units it did not write are dropped; its times are now known. */
static void write_returned(struct tracker *t, struct wrec *w, int64_t ret, uint64_t ts)
{
	uint64_t counted = w->count_unknown ? 0 : w->count;	/* taken at WRITE_BEGIN */

	w->written = ret < 0 ? 0 : (uint64_t)ret;
	if (ret < 0) {
		if (!w->count_unknown)
			drop_unwritten(t, w, 0);
		count_refused(t, w, ret);
		w->f->st.bytes -= counted;
		t->write_bytes -= counted;
	} else {
		uint64_t n = ret;

		if (w->count_unknown) {
			w->count = n;
			make_units(t, w, n);
		} else if (n < w->count) {
			drop_unwritten(t, w, n);
		}
		w->f->st.bytes += n - counted;
		t->write_bytes += n - counted;
	}
	wrec_close(t, w, ts);
}

void on_write_end(struct tracker *t, const struct tw_write_end_ev *e)
{
	struct wrec *w = wrec_find(&t->writes, e->h.tid);

	if (w)
		write_returned(t, w, e->ret, e->h.ts_ns);
}

/*
 * io_uring tries a write with IOCB_NOWAIT first; -EAGAIN sends the same kiocb to a
 * worker, which begins it again. That attempt was no write and no refusal.
 */
static void write_retried(struct tracker *t, struct wrec *w)
{
	drop_unwritten(t, w, 0);
	w->f->st.writes--;
	w->f->st.bytes -= w->count;
	t->writes_n--;
	t->write_bytes -= w->count;
	t->modes[w->mode].writes--;
	w->written = 0;
	wrec_close(t, w, 0);
}

void on_dio_begin(struct tracker *t, const struct tw_dio_ev *e)
{
	struct wrec *w = wrec_find(&t->writes, e->h.tid);
	uint32_t uflags = U_DIRECT;

	/* A write syscall already made the units; this is its kiocb. */
	if (w && !w->dio_seen && (w->uflags & U_DIRECT) && w->f->st.dev == e->dev &&
	    w->f->st.ino == e->ino && w->pos == e->pos) {
		w->dio_seen = true;
		return;
	}
	/*
	 * The same kiocb begun again at the same place, nothing of it queued, its end not seen:
	 * io_uring's IOCB_NOWAIT attempt failed with -EAGAIN before any bio and before
	 * iomap_dio_complete (pages of the range in the cache), and a worker retries it.
	 */
	w = wrec_find(&t->aio, e->iocb);
	if (w && w->f->st.dev == e->dev && w->f->st.ino == e->ino && w->pos == e->pos &&
	    w->count == e->count && !write_queued(t, w))
		write_retried(t, w);
	/* io_uring, aio: the kiocb is the only record of the write, DIO_END its return. */
	if (e->ki_flags & TW_IOCB_ATOMIC)
		uflags |= U_ATOMIC_WRITE;
	w = write_start(t, &t->aio, e->iocb, &e->h, e->dev, e->ino, e->pos, e->count, uflags,
			tw_mode_of_kiocb(e->ki_flags));
	if (!w)
		return;
	if (uflags & U_ATOMIC_WRITE)	/* the iovecs are not known here: counted as one */
		check_atomic(t, w->f, true, e->pos, e->count, 1);
	make_units(t, w, e->count);
	w->f->st.bytes += e->count;
	t->write_bytes += e->count;
}

void on_dio_end(struct tracker *t, const struct tw_dio_end_ev *e)
{
	struct wrec *w = wrec_find(&t->aio, e->iocb);

	if (!w)
		return;
	if (e->ret == -11 /* EAGAIN */)
		write_retried(t, w);
	else
		write_returned(t, w, e->ret, e->h.ts_ns);
}

struct aio_of_tid {
	uint64_t key0;
};

static bool aio_of_tid(const struct hnode *n, const void *ctx)
{
	const struct wrec *w = container_of(n, struct wrec, k.hn);

	return (w->k.key & ~0xffULL) == ((const struct aio_of_tid *)ctx)->key0;
}

/*
 * io_submit returned ret, the number of iocbs it took (or -errno): those ran inside it
 * (buffered AIO is synchronous), so their bytes are visible now; the rest wrote nothing.
 * Each taken one counts as a full write: AIO reports its own result only in the ring.
 * A direct iocb (only kernels without iomap_dio_rw_begin send these) has queued its bios
 * but completes later, unseen: taken, it is closed without a return time, so its units'
 * latency samples are incomplete; their verdicts come from the bios.
 */
void on_aio_end(struct tracker *t, const struct tw_write_end_ev *e)
{
	struct aio_of_tid sel = { AIO_KEY(e->h.tid, 0) };
	struct hnode **v;
	size_t nr;

	v = eng_select(t, &t->aio, aio_of_tid, &sel, &nr);
	for (size_t i = 0; i < nr; i++) {
		struct wrec *w = container_of(v[i], struct wrec, k.hn);
		int64_t idx = w->k.key & 0xff;
		bool taken = e->ret >= 0 && idx < e->ret;

		if (taken && (w->uflags & U_DIRECT)) {
			wrec_close(t, w, 0);	/* its result is unknown: written stays "all" */
			continue;
		}
		write_returned(t, w, e->ret < 0 ? e->ret : taken ? (int64_t)w->count : 0,
			       e->h.ts_ns);
	}
	free(v);
}

/*
 * Its CQE was posted (or queued on the overflow list): ret is what it wrote, or -errno.
 * TW_URING_SILENT: its request was reused without a CQE seen. With IOSQE_CQE_SKIP_SUCCESS
 * it wrote all it asked (a short or failed write posts a CQE). Without, its CQE went
 * unseen: its units stay as asked, for their bios to judge. Either way the time it
 * returned is unknown, and its latency samples count as incomplete.
 */
void on_uring_end(struct tracker *t, const struct tw_uring_end_ev *e)
{
	struct wrec *w = wrec_find(&t->aio, URING_KEY(e->req));

	if (!w)
		return;
	if (e->flags & TW_URING_SILENT)
		wrec_close(t, w, 0);
	else
		write_returned(t, w, e->ret, e->h.ts_ns);
}

/*
 * A store through a shared mapping dirtied a clean folio (tw_mmap_ev): an mmap write, visible
 * at once. Its units are the grid units holding the page stored to. Of each, the bytes that
 * writeback will carry are the dirty folio's: the whole unit when the folio holds it, else
 * the folio (units and folios are naturally aligned powers of two). The unit's other folios
 * are clean: the device already holds their bytes, unless a store dirties them too (then the
 * instance grows), or they were dirty already (stores to them were not seen).
 */
void on_mmap_dirty(struct tracker *t, const struct tw_mmap_ev *e)
{
	uint64_t U = t->unit_size, flo = e->index << 12, fhi = flo + ((uint64_t)e->nr_pages << 12);
	struct file_ent *f = file_get(t, e->dev, e->ino, true);
	struct wrec *w;

	if (!f || !(w = wrec_new(t, f, &e->h, flo, fhi - flo, 0, TW_M_MMAP)))
		return;
	w->t_visible = e->h.ts_ns;
	f->st.bytes += fhi - flo;
	t->write_bytes += fhi - flo;
	for (uint64_t off = U ? e->pos / U * U : UINT64_MAX; off < e->pos + 4096; off += U) {
		uint64_t lo = off > flo ? off : flo, hi = off + U < fhi ? off + U : fhi;

		mmap_unit(t, f, w, off, lo, hi);
	}
	wrec_put(w);
}

/* Writes still open: closed without a return time (their parked times are incomplete). */
void close_open_writes(struct tracker *t, struct htab *h)
{
	size_t bkt;
	struct hnode *n;

	/* closing frees the write: each bucket's head again, never back to bucket 0 */
	for (bkt = 0; h->buckets && (n = htab_next(h, &bkt, NULL));)
		wrec_close(t, container_of(n, struct wrec, k.hn), 0);
}

size_t tracker__open_writes(struct tracker *t, struct tw_open_write *out, size_t max)
{
	struct hnode *n = NULL;
	size_t bkt = 0, nr = 0;

	while ((n = htab_next(&t->writes, &bkt, n))) {
		struct wrec *w = container_of(n, struct wrec, k.hn);

		if (w->count_unknown)
			continue;
		if (nr < max)
			out[nr] = (struct tw_open_write){ .pid = w->pid, .tid = w->tid,
							  .count = w->count };
		nr++;
	}
	return nr;
}
