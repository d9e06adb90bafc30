// SPDX-License-Identifier: GPL-2.0
/*
 * Intake: a record (ring buffer or replay) is checked against what the kernel can send, then
 * handed to the room of its type. Owns the record clock and the tables of files and threads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "atomic.h"
#include "devices.h"
#include "discard.h"
#include "durable.h"
#include "engine.h"
#include "exposure.h"
#include "infer.h"
#include "intake.h"
#include "join.h"
#include "stable.h"
#include "writeback.h"
#include "writes.h"

size_t tw_record_size(uint32_t type)
{
	switch (type) {
	case TW_EV_FILE: return sizeof(struct tw_file_ev);
	case TW_EV_WRITE_BEGIN: return sizeof(struct tw_write_ev);
	case TW_EV_WRITE_END: return sizeof(struct tw_write_end_ev);
	case TW_EV_DIO_BEGIN: return sizeof(struct tw_dio_ev);
	case TW_EV_BIO_QUEUE: return sizeof(struct tw_bio_ev);
	case TW_EV_BIO_SPLIT: return sizeof(struct tw_split_ev);
	case TW_EV_RQ_ISSUE:
	case TW_EV_RQ_COMPLETE: return sizeof(struct tw_rq_ev);
	case TW_EV_ATOMIC_COW: return sizeof(struct tw_cow_ev);
	case TW_EV_PATH: return sizeof(struct tw_path_ev);
	case TW_EV_STATS: return sizeof(struct tw_stats_ev);
	case TW_EV_TASK: return sizeof(struct tw_task_ev);
	case TW_EV_MODIFIED: return sizeof(struct tw_modified_ev);
	case TW_EV_WAIT_BEGIN: return sizeof(struct tw_wait_begin_ev);
	case TW_EV_WAIT_END: return sizeof(struct tw_wait_end_ev);
	case TW_EV_DEVICE: return sizeof(struct tw_device_ev);
	case TW_EV_DIO_END: return sizeof(struct tw_dio_end_ev);
	case TW_EV_FLUSH: return sizeof(struct tw_flush_ev);
	case TW_EV_ATOMIC_LIMITS: return sizeof(struct tw_atomic_limits_ev);
	case TW_EV_DISCARD: return sizeof(struct tw_discard_ev);
	case TW_EV_WB_START: return sizeof(struct tw_wb_ev);
	case TW_EV_BIO_GONE: return sizeof(struct tw_gone_ev);
	case TW_EV_SYNC_END: return sizeof(struct tw_sync_ev);
	case TW_EV_AIO_END: return sizeof(struct tw_write_end_ev);
	case TW_EV_URING_END: return sizeof(struct tw_uring_end_ev);
	case TW_EV_MMAP_DIRTY: return sizeof(struct tw_mmap_ev);
	}
	return 0;
}

static uint64_t file_hash(uint32_t dev, uint64_t ino)
{
	return hash_mix(dev, ino);
}

struct file_ent *file_get(struct tracker *t, uint32_t dev, uint64_t ino, bool create)
{
	uint64_t h = file_hash(dev, ino);
	struct hnode *n = NULL;
	struct file_ent *f;

	while ((n = htab_next_match(&t->files, h, n))) {
		f = container_of(n, struct file_ent, hn);
		if (f->st.dev == dev && f->st.ino == ino && !f->st.deleted)
			return f;
	}
	if (!create)
		return NULL;
	f = eng_zalloc(t, sizeof(*f));
	if (!f)
		return NULL;
	f->st.dev = dev;
	f->st.ino = ino;
	f->clean_from = UINT64_MAX;
	htab_add(&t->files, &f->hn, h);
	return f;
}

bool tw_rpath_join(const char *rpath, size_t len, const char *prefix, char *out, size_t outlen)
{
	const char *comp[TW_RPATH_LEN / 2];
	size_t n = 0, at = 0, used;
	bool whole = false;

	while (at < len && n < sizeof(comp) / sizeof(comp[0])) {
		size_t l = strnlen(rpath + at, len - at);

		if (!l) {
			whole = true;
			break;
		}
		if (at + l >= len)	/* no NUL: cut by the buffer's end */
			break;
		comp[n++] = rpath + at;
		at += l + 1;
	}
	used = snprintf(out, outlen, "%s", prefix);
	if (!whole && used < outlen)
		used += snprintf(out + used, outlen - used, "/...");
	while (n-- > 0 && used < outlen)
		used += snprintf(out + used, outlen - used, "/%s", comp[n]);
	return whole;
}

static void on_file(struct tracker *t, const struct tw_file_ev *e)
{
	struct file_ent *f = file_get(t, e->dev, e->ino, true);
	char prefix[32];

	if (f && !f->have_path) {
		/* Until a PATH record names the mount: "[7:0]/dir/file". */
		snprintf(prefix, sizeof(prefix), "[%u:%u]", e->dev >> 20, e->dev & 0xfffff);
		tw_rpath_join(e->rpath, sizeof(e->rpath), prefix, f->st.path, sizeof(f->st.path));
	}
}

static void on_path(struct tracker *t, const struct tw_path_ev *e)
{
	struct file_ent *f = file_get(t, e->dev, e->ino, true);

	if (f) {
		memcpy(f->st.path, e->path, sizeof(f->st.path));
		f->st.path[sizeof(f->st.path) - 1] = '\0';
		f->have_path = true;
	}
}

/* The thread tid, when a record named it. */
struct task_ent *task_find(struct tracker *t, uint32_t tid)
{
	struct hkey *k = hkey_find(&t->tasks, tid);

	return k ? container_of(k, struct task_ent, k) : NULL;
}

struct task_ent *task_get(struct tracker *t, uint32_t tid, uint32_t pid)
{
	struct hkey *k = hkey_find(&t->tasks, tid);
	struct task_ent *e;

	if (k)
		return container_of(k, struct task_ent, k);
	e = eng_zalloc(t, sizeof(*e));
	if (!e)
		return NULL;
	e->pid = pid;
	hkey_add(&t->tasks, &e->k, tid);
	return e;
}

static void on_task(struct tracker *t, const struct tw_task_ev *e)
{
	struct task_ent *te = task_get(t, e->h.tid, e->h.pid);

	if (te)
		memcpy(te->comm, e->comm, sizeof(te->comm));
}

static void on_stats(struct tracker *t, const struct tw_stats_ev *e)
{
	t->have_bpf_stats = true;
	for (int i = 0; i < TW_NR_STATS; i++)
		t->bpf_stats[i] = e->stats[i];
}

/*
 * Records may come from a file of another host (--replay): each is checked against what
 * the kernel can send before anything uses it, so that no field drives a loop, an index
 * or an allocation past what a real run could. docs/record-format.md lists these limits.
 */
static bool range_ok(uint64_t pos, uint64_t len, uint64_t max_len)
{
	return len <= max_len && pos <= TW_MAX_LOFF && len <= TW_MAX_LOFF - pos;
}

/* Writes: a syscall, kiocb or io_uring request, a store through a mapping. */
static bool write_record_valid(const void *rec)
{
	const struct tw_hdr *h = rec;

	switch (h->type) {
	case TW_EV_WRITE_BEGIN: {
		const struct tw_write_ev *e = rec;

		return range_ok(e->pos, e->count, TW_MAX_RW) && e->iovcnt <= TW_MAX_IOV &&
		       (!(e->wflags & TW_W_AIO) || e->aio_index < TW_MAX_AIO_BATCH) &&
		       !((e->wflags & TW_W_AIO) && (e->wflags & TW_W_URING)) &&
		       !((e->wflags & TW_W_URING_NOCQE) && (e->wflags & TW_W_COUNT_UNKNOWN));
	}
	case TW_EV_URING_END: {
		const struct tw_uring_end_ev *e = rec;

		return !(e->flags & ~(TW_URING_OVERFLOW | TW_URING_SILENT));
	}
	case TW_EV_DIO_BEGIN: {
		const struct tw_dio_ev *e = rec;

		return range_ok(e->pos, e->count, TW_MAX_RW);
	}
	case TW_EV_ATOMIC_COW: {
		const struct tw_cow_ev *e = rec;

		return range_ok(e->off, e->count, TW_MAX_RW);
	}
	case TW_EV_MMAP_DIRTY: {
		const struct tw_mmap_ev *e = rec;
		uint64_t lo = e->index << 12;

		return e->nr_pages && e->nr_pages <= TW_MAX_FOLIO >> 12 &&
		       e->index <= TW_MAX_LOFF >> 12 &&
		       range_ok(lo, (uint64_t)e->nr_pages << 12, TW_MAX_FOLIO) && !(e->pos & 4095) &&
		       e->pos >= lo && e->pos - lo < (uint64_t)e->nr_pages << 12;
	}
	}
	return true;
}

/* The block layer: bios, their splits, requests. */
static bool block_record_valid(const void *rec)
{
	const struct tw_hdr *h = rec;

	switch (h->type) {
	case TW_EV_BIO_QUEUE: {
		const struct tw_bio_ev *e = rec;
		uint64_t sum = 0;

		if (e->nr_ext > TW_MAX_EXT || e->sector > TW_MAX_LOFF >> 9)
			return false;
		for (uint32_t i = 0; i < e->nr_ext; i++) {
			if (!range_ok(e->ext[i].off, e->ext[i].len, e->size))
				return false;
			sum += e->ext[i].len;
		}
		return sum <= e->size;
	}
	case TW_EV_BIO_SPLIT: {
		const struct tw_split_ev *e = rec;

		return e->sector <= TW_MAX_LOFF >> 9;
	}
	case TW_EV_RQ_ISSUE:
	case TW_EV_RQ_COMPLETE: {
		const struct tw_rq_ev *e = rec;

		return e->sector <= TW_MAX_LOFF >> 9;
	}
	}
	return true;
}

/* The page cache: modifications, waits, discards, writeback. */
static bool page_record_valid(const void *rec)
{
	const struct tw_hdr *h = rec;

	switch (h->type) {
	case TW_EV_MODIFIED: {
		const struct tw_modified_ev *e = rec;

		return range_ok(e->off, e->len, TW_MAX_FOLIO) && e->index <= TW_MAX_LOFF >> 12 &&
		       e->nr_pages <= TW_MAX_FOLIO >> 12;
	}
	case TW_EV_WAIT_BEGIN: {
		const struct tw_wait_begin_ev *e = rec;

		return e->index <= TW_MAX_LOFF >> 12 && e->nr_stack <= TW_STACK_DEPTH;
	}
	case TW_EV_DISCARD: {
		const struct tw_discard_ev *e = rec;

		return range_ok(e->pos, e->len, TW_MAX_FOLIO);
	}
	case TW_EV_WB_START: {
		const struct tw_wb_ev *e = rec;

		/* a pass may cover the whole file: ~0 for a cyclic one (on_wb_start clamps) */
		if (e->flags & TW_WB_PASS)
			return e->pos <= TW_MAX_LOFF;
		return range_ok(e->pos, e->len, TW_MAX_FOLIO);
	}
	}
	return true;
}

static bool record_valid(struct tracker *t, const void *rec)
{
	const struct tw_hdr *h = rec;

	if (h->type == TW_EV_DEVICE) {
		const struct tw_device_ev *e = rec;

		return device_record_ok(t, e->dev);
	}
	return write_record_valid(rec) && block_record_valid(rec) && page_record_valid(rec);
}

/*
 * A BIO_QUEUE record has room for 1 to TW_MAX_EXT extents (TW_BIO_EV_SIZE): one with fewer is
 * read as a whole one, the rest zero. Its extents must fit the room it has. A whole one is
 * taken as it is.
 */
static const void *bio_whole(const void *rec, struct tw_bio_ev *whole)
{
	const struct tw_bio_ev *e = rec;
	uint32_t size = e->h.size;

	if (size < TW_BIO_EV_SIZE(1) || size > sizeof(*whole) ||
	    (size - TW_BIO_EV_SIZE(0)) % sizeof(struct tw_ext) ||
	    e->nr_ext > (size - TW_BIO_EV_SIZE(0)) / sizeof(struct tw_ext))
		return NULL;
	if (size == sizeof(*whole))
		return rec;
	memset(whole, 0, sizeof(*whole));
	memcpy(whole, rec, size);
	whole->h.size = sizeof(*whole);
	return whole;
}

int tracker__feed(struct tracker *t, const void *rec, size_t len)
{
	const struct tw_hdr *h = rec;
	struct tw_bio_ev whole;
	size_t want;

	t->join.records++;
	if (len >= sizeof(*h) && h->size <= len && h->type == TW_EV_BIO_QUEUE &&
	    h->size >= TW_BIO_EV_SIZE(0)) {
		rec = bio_whole(rec, &whole);
		h = rec ? rec : h;
		len = rec == &whole ? sizeof(whole) : len;
	}
	if (!rec || len < sizeof(*h) || h->size > len || !(want = tw_record_size(h->type)) ||
	    h->size != want || !record_valid(t, rec)) {
		t->join.bad_records++;
		return -EINVAL;
	}
	if (h->ts_ns) {
		if (!t->t0)
			t->t0 = h->ts_ns;
		t->now = h->ts_ns;
		if (h->ts_ns > t->max_ts)
			t->max_ts = h->ts_ns;
	}
	switch (h->type) {
	case TW_EV_FILE: on_file(t, rec); break;
	case TW_EV_WRITE_BEGIN: on_write_begin(t, rec); break;
	case TW_EV_WRITE_END: on_write_end(t, rec); break;
	case TW_EV_DIO_BEGIN: on_dio_begin(t, rec); break;
	case TW_EV_BIO_QUEUE: on_bio_queue(t, rec); break;
	case TW_EV_BIO_SPLIT: on_bio_split(t, rec); break;
	case TW_EV_RQ_ISSUE: on_rq_issue(t, rec); break;
	case TW_EV_RQ_COMPLETE: on_rq_complete(t, rec); break;
	case TW_EV_ATOMIC_COW: on_cow(t, rec); break;
	case TW_EV_PATH: on_path(t, rec); break;
	case TW_EV_STATS: on_stats(t, rec); break;
	case TW_EV_TASK: on_task(t, rec); break;
	case TW_EV_MODIFIED: on_modified(t, rec); break;
	case TW_EV_WAIT_BEGIN: on_wait_begin(t, rec); break;
	case TW_EV_WAIT_END: on_wait_end(t, rec); break;
	case TW_EV_DEVICE: on_device(t, rec); break;
	case TW_EV_DIO_END: on_dio_end(t, rec); break;
	case TW_EV_FLUSH: on_flush(t, rec); break;
	case TW_EV_ATOMIC_LIMITS: on_atomic_limits(t, rec); break;
	case TW_EV_DISCARD: on_discard(t, rec); break;
	case TW_EV_WB_START: on_wb_start(t, rec); break;
	case TW_EV_BIO_GONE: on_bio_gone(t, rec); break;
	case TW_EV_SYNC_END: on_sync_end(t, rec); break;
	case TW_EV_AIO_END: on_aio_end(t, rec); break;
	case TW_EV_URING_END: on_uring_end(t, rec); break;
	case TW_EV_MMAP_DIRTY: on_mmap_dirty(t, rec); break;
	}
	expo_maybe_sweep(t);
	return 0;
}
