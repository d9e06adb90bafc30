// SPDX-License-Identifier: GPL-2.0
/*
 * The unit tests' tracker and record builders (fixture.h), shared by the tests of each room
 * of the verdict engine.
 */
#include <stdlib.h>
#include <unistd.h>
#include "fixture.h"
#include "test.h"

struct tracker *T;
struct tw_recorder *R;
struct tw_summary S;
uint64_t ts;
static uint64_t next_t;	/* clock_at(): the next record's time, 0: the next tick */
static char rec_path[32];	/* record_start()'s file, until record_replay() removes it */

void start(uint64_t unit, uint64_t max_units)
{
	tracker__free(T);
	T = tracker__new(unit, max_units);
	ts = 0;
}

const struct tw_counts *finish(void)
{
	tracker__finish(T);
	tracker__summary(T, &S);
	return &S.c;
}

void clock_at(uint64_t t)
{
	next_t = t;
}

void feed(void *rec)
{
	struct tw_hdr *h = rec;

	h->ts_ns = next_t ? next_t : ts + 1;
	ts = h->ts_ns;
	next_t = 0;
	if (R)
		recorder__write(R, rec, h->size);
	tracker__feed(T, rec, h->size);
}

bool record_start(uint64_t unit)
{
	char err[256];
	int fd;

	strcpy(rec_path, "/tmp/tw-test-XXXXXX");
	fd = mkstemp(rec_path);
	ASSERT_TRUE(fd >= 0, "mkstemp");
	close(fd);
	R = recorder__open(rec_path, unit, "test-kernel", err, sizeof(err));
	ASSERT_TRUE(R != NULL, err);
	return true;
}

bool record_replay(uint64_t max_units, struct tracker **t2, struct tw_summary *again,
		   uint64_t *unit, char *kernel)
{
	char err[256], file_kernel[65];
	uint64_t file_unit;

	ASSERT_EQ(recorder__close(R), 0, "close");
	R = NULL;
	*t2 = replay_file(rec_path, max_units, &file_unit, file_kernel, sizeof(file_kernel), err,
			  sizeof(err));
	unlink(rec_path);
	ASSERT_TRUE(*t2 != NULL, err);
	if (unit)
		*unit = file_unit;
	if (kernel)
		memcpy(kernel, file_kernel, sizeof(file_kernel));
	tracker__finish(*t2);
	tracker__summary(*t2, again);
	return true;
}

void write_begin(uint32_t tid, uint64_t ino, uint64_t pos, uint64_t count, uint32_t f_flags,
		 uint32_t rwf)
{
	struct tw_write_ev e = { .h = HDR(TW_EV_WRITE_BEGIN, tid), .ino = ino, .pos = pos,
				 .count = count, .dev = DEV, .f_flags = f_flags, .rwf = rwf };

	e.h.size = sizeof(e);
	feed(&e);
}

void wbegin(uint32_t tid, uint64_t pos, uint64_t count, uint32_t f_flags, uint32_t rwf)
{
	write_begin(tid, INO, pos, count, f_flags, rwf);
}

void wend(uint32_t tid, int64_t ret)
{
	struct tw_write_end_ev e = { .h = HDR(TW_EV_WRITE_END, tid), .ret = ret };

	e.h.size = sizeof(e);
	feed(&e);
}

void write_ok(uint64_t pos, uint64_t count)
{
	wbegin(1, pos, count, 0, 0);
}

static void bio_ext(uint64_t bio, uint64_t ino, uint32_t flags, int next, const uint64_t *offlen)
{
	struct tw_bio_ev e = { .h = HDR(TW_EV_BIO_QUEUE, 0), .bio = bio, .dev = DEV,
			       .opf = 1, .flags = flags };

	e.h.size = sizeof(e);
	for (int i = 0; i < next; i++) {
		e.ext[i] = (struct tw_ext){ .ino = ino, .dev = DEV, .off = offlen[2 * i],
					    .len = offlen[2 * i + 1] };
		e.size += offlen[2 * i + 1];
	}
	e.nr_ext = next;
	feed(&e);
}

void bioq(uint64_t bio, uint32_t flags, int next, const uint64_t *offlen)
{
	bio_ext(bio, INO, flags, next, offlen);
}

void bio1(uint64_t bio, uint64_t off, uint64_t len)
{
	bio_of(bio, INO, off, len);
}

void bio_of(uint64_t bio, uint64_t ino, uint64_t off, uint64_t len)
{
	uint64_t x[2] = { off, len };

	bio_ext(bio, ino, 0, 1, x);
}

void split(uint64_t front, uint64_t parent, uint32_t size)
{
	struct tw_split_ev e = { .h = HDR(TW_EV_BIO_SPLIT, 0), .bio = front, .parent = parent,
				 .size = size, .dev = DEV };

	e.h.size = sizeof(e);
	feed(&e);
}

void rq(uint32_t type, uint64_t rqp, uint64_t bio, uint32_t bytes, uint32_t flags)
{
	struct tw_rq_ev e = { .h = HDR(type, 0), .rq = rqp, .bio = bio, .dev = DEV,
			      .bio_bytes = bytes, .flags = flags };

	e.h.size = sizeof(e);
	feed(&e);
}

void issue(uint64_t rqp, uint64_t bio, uint32_t bytes)
{
	rq(TW_EV_RQ_ISSUE, rqp, bio, bytes, 0);
}

void done(uint64_t rqp, uint64_t bio, uint32_t bytes)
{
	rq(TW_EV_RQ_COMPLETE, rqp, bio, bytes, 0);
}

void one_request(uint64_t rqp, uint64_t bio, uint64_t off, uint64_t len)
{
	bio1(bio, off, len);
	issue(rqp, bio, len);
	done(rqp, bio, len);
}

void block_split(uint64_t len, uint32_t front)
{
	bio1(0xb1, 0, len);
	split(0xf1, 0xb1, front);
	issue(0xa1, 0xf1, front);
	issue(0xa2, 0xb1, len - front);
	done(0xa1, 0xf1, front);
	done(0xa2, 0xb1, len - front);
}

void flush_ev(uint64_t rqp, uint32_t is_done)
{
	struct tw_flush_ev e = { .h = HDR(TW_EV_FLUSH, 0), .rq = rqp, .dev = DEV, .done = is_done };

	e.h.size = sizeof(e);
	feed(&e);
}

void device_facts(uint32_t unit_max, uint32_t physical, uint32_t write_cache,
		  uint32_t atomic_size_opt)
{
	struct tw_device_ev d = { .h = HDR(TW_EV_DEVICE, 0), .dev = DEV,
				  .atomic_unit_min = unit_max ? 512 : 0, .atomic_unit_max = unit_max,
				  .atomic_max = unit_max, .write_cache = write_cache, .fua = 0,
				  .logical_block = 512, .physical_block = physical,
				  .atomic_size_opt = atomic_size_opt };

	d.h.size = sizeof(d);
	feed(&d);
}

void modified(uint32_t tid, uint64_t index, uint32_t pages, uint64_t off, uint64_t len,
	      bool range)
{
	struct tw_modified_ev e = { .h = HDR(TW_EV_MODIFIED, tid), .ino = INO, .dev = DEV,
				    .index = index, .nr_pages = pages, .off = off, .len = len,
				    .flags = range ? TW_MOD_RANGE : 0 };

	e.h.size = sizeof(e);
	feed(&e);
}

uint64_t samples(enum tw_stage st)
{
	uint64_t n = 0;

	for (int i = 0; i < TW_HIST_SLOTS; i++)
		n += S.modes[TW_M_BUFFERED].hist[st][i];
	return n;
}

/* A traced thread's store at page pos dirtied the clean folio [index, index + pages). */
int mmap_dirty(uint32_t tid, uint64_t index, uint32_t pages, uint64_t pos, uint32_t flags)
{
	struct tw_mmap_ev e = { .h = HDR(TW_EV_MMAP_DIRTY, tid), .ino = INO, .dev = DEV,
				.index = index, .nr_pages = pages, .pos = pos, .flags = flags };

	e.h.size = sizeof(e);
	e.h.ts_ns = ++ts;
	return tracker__feed(T, &e, sizeof(e));
}

/* One buffered iocb of an io_submit batch (TW_W_AIO), at its place i. */
void aio_iocb_flags(uint32_t i, uint64_t pos, uint64_t count, uint32_t f_flags)
{
	struct tw_write_ev e = { .h = HDR(TW_EV_WRITE_BEGIN, 1), .ino = INO, .pos = pos,
				 .count = count, .dev = DEV, .f_flags = f_flags, .wflags = TW_W_AIO,
				 .iovcnt = 1, .aio_index = i };

	e.h.size = sizeof(e);
	feed(&e);
}

void aio_iocb(uint32_t i, uint64_t pos, uint64_t count)
{
	aio_iocb_flags(i, pos, count, 0);
}

void aio_end(int64_t ret)
{
	struct tw_write_end_ev e = { .h = HDR(TW_EV_AIO_END, 1), .ret = ret };

	e.h.size = sizeof(e);
	feed(&e);
}

/* fsync/fdatasync of the file (ino) by tid returned ret; it began at t0. */
void sync_end(uint32_t tid, uint64_t ino, uint64_t t0, int64_t ret)
{
	struct tw_sync_ev e = { .h = HDR(TW_EV_SYNC_END, tid), .ino = ino, .dev = DEV, .t0 = t0,
				.ret = ret };

	e.h.size = sizeof(e);
	feed(&e);
}

/* DEV's INO: [pos, pos + len) dropped from the cache (truncate, punch, ...; flags TW_DISCARD_*). */
void discard(uint64_t pos, uint64_t len, uint32_t flags)
{
	struct tw_discard_ev e = { .h = HDR(TW_EV_DISCARD, 0), .ino = INO, .dev = DEV,
				   .pos = pos, .len = len, .flags = flags };

	e.h.size = sizeof(e);
	feed(&e);
}

/* Thread tid waited ns for a folio of INO under writeback, in context ctx (flags: TW_WAIT_*). */
void wait_pair(uint32_t tid, enum tw_wait_context ctx, uint32_t flags, uint64_t ns)
{
	struct tw_wait_begin_ev b = { .h = HDR(TW_EV_WAIT_BEGIN, tid), .ino = INO, .dev = DEV,
				      .context = ctx, .flags = flags };
	struct tw_wait_end_ev e = { .h = HDR(TW_EV_WAIT_END, tid), .wait_ns = ns };

	b.h.size = sizeof(b);
	e.h.size = sizeof(e);
	feed(&b);
	feed(&e);
}
