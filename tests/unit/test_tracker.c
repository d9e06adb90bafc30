// SPDX-License-Identifier: GPL-2.0
/*
 * Verdicts from synthetic records: every case builds the record stream the BPF
 * side would emit for a workload whose truth is known, including what this
 * machine cannot produce (REQ_ATOMIC requests).
 */
#include <stdlib.h>
#include <unistd.h>
#include "devfacts.h"
#include "record.h"
#include "report.h"
#include "tracker.h"
#include "test.h"

#define DEV 0x700000	/* 7:0 */
#define INO 12
#define K 1024ULL

static struct tracker *T;
static struct tw_recorder *R;	/* when set, every record is also written here */
static uint64_t ts;

static void feed(void *rec)
{
	struct tw_hdr *h = rec;

	h->ts_ns = ++ts;
	if (R)
		recorder__write(R, rec, h->size);
	tracker__feed(T, rec, h->size);
}

#define HDR(ty, th) { .type = (ty), .size = 0, .pid = 100, .tid = (th) }

static void wbegin(uint32_t tid, uint64_t pos, uint64_t count, uint32_t f_flags, uint32_t rwf)
{
	struct tw_write_ev e = { .h = HDR(TW_EV_WRITE_BEGIN, tid), .ino = INO, .pos = pos,
				 .count = count, .dev = DEV, .f_flags = f_flags, .rwf = rwf };

	e.h.size = sizeof(e);
	feed(&e);
}

static void wend(uint32_t tid, int64_t ret)
{
	struct tw_write_end_ev e = { .h = HDR(TW_EV_WRITE_END, tid), .ret = ret };

	e.h.size = sizeof(e);
	feed(&e);
}

/* A write that wrote all it asked: the BPF side sends no WRITE_END for it. */
static void write_ok(uint64_t pos, uint64_t count)
{
	wbegin(1, pos, count, 0, 0);
}

/* A bio carrying one file extent per (off, len) pair. */
static void bioq(uint64_t bio, uint32_t flags, int next, const uint64_t *offlen)
{
	struct tw_bio_ev e = { .h = HDR(TW_EV_BIO_QUEUE, 0), .bio = bio, .dev = DEV,
			       .opf = 1, .flags = flags };

	e.h.size = sizeof(e);
	for (int i = 0; i < next; i++) {
		e.ext[i] = (struct tw_ext){ .ino = INO, .dev = DEV, .off = offlen[2 * i],
					    .len = offlen[2 * i + 1] };
		e.size += offlen[2 * i + 1];
	}
	e.nr_ext = next;
	feed(&e);
}

static void bio1(uint64_t bio, uint64_t off, uint64_t len)
{
	uint64_t x[2] = { off, len };

	bioq(bio, 0, 1, x);
}

static void split(uint64_t front, uint64_t parent, uint32_t size)
{
	struct tw_split_ev e = { .h = HDR(TW_EV_BIO_SPLIT, 0), .bio = front, .parent = parent,
				 .size = size, .dev = DEV };

	e.h.size = sizeof(e);
	feed(&e);
}

static void rq(uint32_t type, uint64_t rqp, uint64_t bio, uint32_t bytes, uint32_t flags)
{
	struct tw_rq_ev e = { .h = HDR(type, 0), .rq = rqp, .bio = bio, .dev = DEV,
			      .bio_bytes = bytes, .flags = flags };

	e.h.size = sizeof(e);
	feed(&e);
}

static void issue(uint64_t rqp, uint64_t bio, uint32_t bytes)
{
	rq(TW_EV_RQ_ISSUE, rqp, bio, bytes, 0);
}

static void done(uint64_t rqp, uint64_t bio, uint32_t bytes)
{
	rq(TW_EV_RQ_COMPLETE, rqp, bio, bytes, 0);
}

/* A bio of [off, off + len) queued, issued alone in request rqp, and completed. */
static void one_request(uint64_t rqp, uint64_t bio, uint64_t off, uint64_t len)
{
	bio1(bio, off, len);
	issue(rqp, bio, len);
	done(rqp, bio, len);
}

static struct tw_summary S;

static void start(uint64_t unit, uint64_t max_units)
{
	tracker__free(T);
	T = tracker__new(unit, max_units);
	ts = 0;
}

static const struct tw_counts *finish(void)
{
	tracker__finish(T);
	tracker__summary(T, &S);
	return &S.c;
}

static bool test_whole_two_units_one_request(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 16 * K);
	one_request(0xa1, 0xb1, 0, 16 * K);
	c = finish();
	ASSERT_EQ(tw_units_total(c), 2, "total");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "whole");
	ASSERT_EQ(c->verdict[TW_V_SPLIT], 0, "split");
	ASSERT_EQ(S.join.unknown_bio, 0, "unknown bio");
	return true;
}

static bool test_split_at_writeback(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	bio1(0xb1, 0, 4 * K);
	bio1(0xb2, 4 * K, 4 * K);
	issue(0xa1, 0xb1, 4 * K);
	issue(0xa2, 0xb2, 4 * K);
	done(0xa1, 0xb1, 4 * K);
	done(0xa2, 0xb2, 4 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_SPLIT], 1, "split");
	ASSERT_EQ(c->split_writeback, 1, "at writeback");
	ASSERT_EQ(c->split_block, 0, "not in the block layer");
	return true;
}

static bool test_merged_bios_are_whole(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	bio1(0xb1, 0, 4 * K);
	bio1(0xb2, 4 * K, 4 * K);
	issue(0xa1, 0xb1, 4 * K);	/* one request, both bios (back merge) */
	issue(0xa1, 0xb2, 4 * K);
	done(0xa1, 0xb1, 4 * K);
	done(0xa1, 0xb2, 4 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(c->rejoined, 1, "rejoined by merging");
	return true;
}

static bool test_block_split_inside_unit(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 16 * K);
	bio1(0xb1, 0, 16 * K);
	split(0xf1, 0xb1, 4 * K);	/* cuts unit [0,8k) at 4k */
	issue(0xa1, 0xf1, 4 * K);
	issue(0xa2, 0xb1, 12 * K);
	done(0xa1, 0xf1, 4 * K);
	done(0xa2, 0xb1, 12 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_SPLIT], 1, "split");
	ASSERT_EQ(c->split_block, 1, "in the block layer");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "the other unit is whole");
	return true;
}

static bool test_block_split_on_unit_boundary(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 16 * K);
	bio1(0xb1, 0, 16 * K);
	split(0xf1, 0xb1, 8 * K);
	issue(0xa1, 0xf1, 8 * K);
	issue(0xa2, 0xb1, 8 * K);
	done(0xa1, 0xf1, 8 * K);
	done(0xa2, 0xb1, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "whole");
	ASSERT_EQ(c->split_block, 0, "no unit cut");
	return true;
}

static bool test_repeated_split_four_pieces(void)
{
	const struct tw_counts *c;

	start(16 * K, 100);
	write_ok(0, 16 * K);
	bio1(0xb1, 0, 16 * K);
	for (int i = 0; i < 3; i++) {
		split(0xf0 + i, 0xb1, 4 * K);
		issue(0xa0, 0xf0 + i, 4 * K);	/* the same struct request, reused */
		done(0xa0, 0xf0 + i, 4 * K);
	}
	issue(0xa0, 0xb1, 4 * K);
	done(0xa0, 0xb1, 4 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_SPLIT], 1, "split despite a reused request pointer");
	ASSERT_EQ(c->split_block, 1, "block");
	return true;
}

static bool test_superseded(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	write_ok(0, 8 * K);
	one_request(0xa1, 0xb1, 0, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_SUPERSEDED], 1, "superseded");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(tw_units_total(c), 2, "total");
	return true;
}

static bool test_rewrite_while_in_flight_is_not_superseded(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	bio1(0xb1, 0, 8 * K);
	write_ok(0, 8 * K);		/* page re-dirtied while its I/O is queued */
	issue(0xa1, 0xb1, 8 * K);
	done(0xa1, 0xb1, 8 * K);
	one_request(0xa2, 0xb2, 0, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "both instances whole");
	ASSERT_EQ(c->verdict[TW_V_SUPERSEDED], 0, "none superseded");
	return true;
}

static bool test_pending_cached_and_inflight(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 16 * K);
	bio1(0xb1, 0, 8 * K);
	issue(0xa1, 0xb1, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_PENDING], 2, "pending");
	ASSERT_EQ(c->pending_inflight, 1, "in flight");
	ASSERT_EQ(c->pending_cached, 1, "cached");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 0, "never whole");
	return true;
}

static bool test_misaligned(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(4 * K, 12 * K);	/* covers [8k,16k) whole, [0,8k) partly */
	write_ok(16 * K, 8 * K);	/* aligned */
	write_ok(24 * K, 4 * K);	/* short: no unit */
	one_request(0xa1, 0xb1, 0, 28 * K);
	c = finish();
	ASSERT_EQ(c->misaligned, 2, "misaligned writes");
	ASSERT_EQ(tw_units_total(c), 2, "units");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "whole");
	return true;
}

static bool test_large_folio_many_units(void)
{
	const struct tw_counts *c;

	start(4 * K, 100);
	write_ok(0, 64 * K);
	bio1(0xb1, 0, 64 * K);		/* one bvec of a 64 KiB folio */
	split(0xf1, 0xb1, 32 * K);
	issue(0xa1, 0xf1, 32 * K);
	issue(0xa2, 0xb1, 32 * K);
	done(0xa1, 0xf1, 32 * K);
	done(0xa2, 0xb1, 32 * K);
	c = finish();
	ASSERT_EQ(tw_units_total(c), 16, "units");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 16, "all whole: cut on a unit boundary");
	return true;
}

static bool test_req_atomic(void)
{
	const struct tw_counts *c;

	start(0, 100);
	wbegin(1, 0, 16 * K, TW_O_DIRECT, TW_RWF_ATOMIC);
	bioq(0xb1, TW_BIO_ATOMIC | TW_BIO_DIO, 1, (uint64_t[]){ 0, 16 * K });
	rq(TW_EV_RQ_ISSUE, 0xa1, 0xb1, 16 * K, TW_RQ_ATOMIC);
	rq(TW_EV_RQ_COMPLETE, 0xa1, 0xb1, 16 * K, TW_RQ_ATOMIC);
	wend(1, 16 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_ATOMIC], 1, "atomic");
	ASSERT_EQ(tw_units_total(c), 1, "one unit, no --unit needed");
	return true;
}

static bool atomic_in_two_requests(bool cow)
{
	wbegin(1, 0, 16 * K, TW_O_DIRECT, TW_RWF_ATOMIC);
	if (cow) {
		struct tw_cow_ev e = { .h = HDR(TW_EV_ATOMIC_COW, 1), .ino = INO, .dev = DEV,
				       .off = 0, .count = 16 * K };

		e.h.size = sizeof(e);
		feed(&e);
	}
	bio1(0xb1, 0, 16 * K);
	split(0xf1, 0xb1, 8 * K);
	issue(0xa1, 0xf1, 8 * K);
	issue(0xa2, 0xb1, 8 * K);
	done(0xa1, 0xf1, 8 * K);
	done(0xa2, 0xb1, 8 * K);
	wend(1, 16 * K);
	return true;
}

static bool test_atomic_split_without_cow(void)
{
	const struct tw_counts *c;

	start(0, 100);
	atomic_in_two_requests(false);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_SPLIT], 1, "split: nothing made it atomic");
	return true;
}

static bool test_atomic_cow(void)
{
	const struct tw_counts *c;

	start(0, 100);
	atomic_in_two_requests(true);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_COW_ATOMIC], 1, "cow-atomic");
	ASSERT_EQ(c->verdict[TW_V_SPLIT], 0, "not split");
	return true;
}

static bool test_refused_atomic(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	wbegin(1, 0, 16 * K, 0, TW_RWF_ATOMIC);	/* buffered RWF_ATOMIC */
	wend(1, -95);
	c = finish();
	ASSERT_EQ(c->refused, 1, "refused");
	ASSERT_EQ(tw_units_total(c), 0, "no unit");
	return true;
}

static bool test_short_write(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	wbegin(1, 0, 32 * K, 0, 0);
	wend(1, 16 * K);
	c = finish();
	ASSERT_EQ(tw_units_total(c), 2, "units of the bytes written");
	ASSERT_EQ(c->pending_cached, 2, "cached");
	return true;
}

static bool test_untracked_when_full(void)
{
	const struct tw_counts *c;

	start(8 * K, 2);
	write_ok(0, 32 * K);
	one_request(0xa1, 0xb1, 0, 32 * K);
	c = finish();
	ASSERT_EQ(c->untracked, 2, "untracked");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "tracked ones whole");
	return true;
}

static bool test_partial_completion(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	bio1(0xb1, 0, 8 * K);
	issue(0xa1, 0xb1, 8 * K);
	done(0xa1, 0xb1, 4 * K);
	done(0xa1, 0xb1, 4 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(c->verdict[TW_V_PENDING], 0, "not pending");
	return true;
}

static bool test_io_uring_dio_begin_makes_units(void)
{
	struct tw_dio_ev e = { .h = HDR(TW_EV_DIO_BEGIN, 7), .ino = INO, .dev = DEV, .pos = 0,
			       .count = 16 * K, .ki_flags = TW_IOCB_DIRECT };
	const struct tw_counts *c;

	start(8 * K, 100);
	e.h.size = sizeof(e);
	feed(&e);
	one_request(0xa1, 0xb1, 0, 16 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "whole");
	ASSERT_EQ(S.writes, 1, "one write");
	return true;
}

static bool test_dio_after_a_finished_sync_write_makes_units(void)
{
	struct tw_dio_ev e = { .h = HDR(TW_EV_DIO_BEGIN, 1), .ino = INO, .dev = DEV,
			       .pos = 0, .count = 8 * K, .ki_flags = TW_IOCB_DIRECT };
	const struct tw_counts *c;

	start(8 * K, 100);
	wbegin(1, 0, 8 * K, TW_O_DIRECT, 0);	/* pwrite, O_DIRECT: its own kiocb follows */
	e.h.size = sizeof(e);
	feed(&e);
	feed(&e);				/* then an io_uring write from the same thread */
	c = finish();
	ASSERT_EQ(tw_units_total(c), 2, "two writes, two units");
	ASSERT_EQ(S.writes, 2, "writes");
	return true;
}

static bool test_write_bytes_follow_the_return(void)
{
	start(8 * K, 100);
	wbegin(1, 0, 32 * K, 0, 0);
	wend(1, 16 * K);
	wbegin(1, 0, 8 * K, 0, 0);
	wend(1, -5);
	wbegin(1, 0, 8 * K, 0, 0);
	finish();
	ASSERT_EQ(S.write_bytes, 24 * K, "16k + 0 + 8k");
	return true;
}

static void modified(uint32_t tid, uint64_t index, uint32_t pages, uint64_t off, uint64_t len,
		     bool range)
{
	struct tw_modified_ev e = { .h = HDR(TW_EV_MODIFIED, tid), .ino = INO, .dev = DEV,
				    .index = index, .nr_pages = pages, .off = off, .len = len,
				    .flags = range ? TW_MOD_RANGE : 0 };

	e.h.size = sizeof(e);
	feed(&e);
}

static bool test_modified_in_flight(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 16 * K);
	bio1(0xb1, 0, 16 * K);
	issue(0xa1, 0xb1, 16 * K);
	wbegin(2, 0, 4 * K, 0, 0);		/* a rewrite of the first page ... */
	modified(2, 0, 1, 0, 4 * K, true);	/* ... while it is under writeback */
	done(0xa1, 0xb1, 16 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_MODIFIED], 1, "the unit changed in flight");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "the other unit");
	ASSERT_EQ(S.stable.modified, 1, "modifications");
	ASSERT_EQ(S.stable.nr_mods, 1, "listed");
	ASSERT_EQ(S.stable.mods[0].off, 0, "offset");
	ASSERT_EQ(S.stable.mods[0].len, 4 * K, "length");
	return true;
}

static bool test_modified_without_io_marks_no_unit(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);			/* dirty, never queued */
	modified(2, 0, 2, 0, 8 * K, false);
	one_request(0xa1, 0xb1, 0, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_MODIFIED], 0, "no unit in flight to mark");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	return true;
}

static bool test_modified_page_unknown_claims_no_unit(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 32 * K);
	bio1(0xb1, 0, 32 * K);
	issue(0xa1, 0xb1, 32 * K);
	modified(2, 0, 8, 0, 32 * K, false);	/* a 32 KiB folio, the page not known */
	modified(2, 0, 8, 8 * K, 4 * K, true);	/* a store whose page is known */
	done(0xa1, 0xb1, 32 * K);
	c = finish();
	ASSERT_EQ(S.stable.modified, 2, "both counted");
	ASSERT_EQ(S.stable.unit_unknown, 1, "one could not be placed");
	ASSERT_EQ(c->verdict[TW_V_MODIFIED], 1, "only the known unit is modified");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 3, "the rest");
	return true;
}

static void wait_pair(uint32_t tid, enum tw_wait_context ctx, uint32_t in_write, uint64_t ns)
{
	struct tw_wait_begin_ev b = { .h = HDR(TW_EV_WAIT_BEGIN, tid), .ino = INO, .dev = DEV,
				      .context = ctx, .in_write = in_write };
	struct tw_wait_end_ev e = { .h = HDR(TW_EV_WAIT_END, tid), .wait_ns = ns };

	b.h.size = sizeof(b);
	e.h.size = sizeof(e);
	feed(&b);
	feed(&e);
}

/* A writeback record: one folio's start (iomap), or a pass's begin or end (ext4). */
static void wb(uint32_t tid, uint32_t flags, int ret, uint64_t pos, uint64_t len)
{
	struct tw_wb_ev e = { .h = HDR(TW_EV_WB_START, tid), .ino = INO, .dev = DEV, .pos = pos,
			      .len = len, .flags = flags, .ret = ret };

	e.h.size = sizeof(e);
	feed(&e);
}

static void wait_begin(uint32_t tid, uint32_t in_write, uint64_t index)
{
	struct tw_wait_begin_ev b = { .h = HDR(TW_EV_WAIT_BEGIN, tid), .ino = INO, .dev = DEV,
				      .index = index, .in_write = in_write,
				      .context = in_write ? TW_WAIT_WRITE : TW_WAIT_SYNC };

	b.h.size = sizeof(b);
	feed(&b);
}

static uint64_t samples(enum tw_stage st)
{
	uint64_t n = 0;

	for (int i = 0; i < TW_HIST_SLOTS; i++)
		n += S.modes[TW_M_BUFFERED].hist[st][i];
	return n;
}

/*
 * ext4, writeback held by blk-throttle: the fsync's writepages pass ends before any bio is
 * seen; a partial pwrite by another thread then changes a unit in flight.
 */
static bool test_pass_then_modified(void)
{
	const struct tw_counts *c;

	start(16 * K, 100);
	write_ok(0, 64 * K);
	wend(1, 64 * K);		/* sent at the fsync's entry */
	wb(1, TW_WB_PASS | TW_WB_SYNC_ALL | TW_WB_NO_LIMIT, 0, 0, ~0ULL);
	wb(1, TW_WB_PASS | TW_WB_PASS_END | TW_WB_SYNC_ALL, 0, 0, ~0ULL);
	wbegin(2, 16 * K, 4 * K, 0, 0);	/* changes unit 1: no unit of its own */
	modified(2, 4, 1, 16 * K, 4 * K, true);
	bio1(0xb1, 0, 64 * K);		/* the throttle lets the bio go */
	issue(0xa1, 0xb1, 64 * K);
	done(0xa1, 0xb1, 64 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_MODIFIED], 1, "the unit changed while held");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 3, "the others");
	ASSERT_EQ(samples(TW_ST_QUEUED), 4, "writeback seen apart: queued samples");
	ASSERT_EQ(samples(TW_ST_CACHE), 4, "cache samples");
	return true;
}

/* A pass that failed, or a budgeted background pass, proves nothing: no unit is blamed. */
static bool test_pass_that_proves_nothing(void)
{
	const struct tw_counts *c;
	uint32_t pass[2] = { TW_WB_PASS | TW_WB_SYNC_ALL, TW_WB_PASS };
	int ret[2] = { -5, 0 };

	for (int i = 0; i < 2; i++) {
		start(16 * K, 100);
		write_ok(0, 16 * K);
		wend(1, 16 * K);
		wb(3, pass[i], 0, 0, ~0ULL);
		wb(3, pass[i] | TW_WB_PASS_END, ret[i], 0, ~0ULL);
		wbegin(2, 0, 4 * K, 0, 0);
		modified(2, 0, 1, 0, 4 * K, true);
		one_request(0xa1, 0xb1, 0, 16 * K);
		c = finish();
		ASSERT_EQ(c->verdict[TW_V_MODIFIED], 0, "not proven in flight");
		ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
		ASSERT_EQ(samples(TW_ST_QUEUED), 0, "no writeback start known");
	}
	return true;
}

/* XFS: iomap's per-folio record; a whole-unit rewrite then changes the held unit. */
static bool test_folio_start_then_rewrite(void)
{
	const struct tw_counts *c;

	start(16 * K, 100);
	write_ok(0, 32 * K);
	wend(1, 32 * K);
	wb(0, 0, 0, 0, 16 * K);		/* unit 0's folio goes under writeback */
	wbegin(2, 0, 16 * K, 0, 0);	/* rewritten whole: in flight, so not superseded */
	modified(2, 0, 4, 0, 16 * K, true);
	wend(2, 16 * K);
	bio1(0xb1, 0, 16 * K);		/* the held bio: the old instance */
	issue(0xa1, 0xb1, 16 * K);
	done(0xa1, 0xb1, 16 * K);
	bio1(0xb2, 0, 32 * K);		/* later: the new instance and unit 1 */
	issue(0xa2, 0xb2, 32 * K);
	done(0xa2, 0xb2, 32 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_MODIFIED], 1, "the old instance");
	ASSERT_EQ(c->verdict[TW_V_SUPERSEDED], 0, "none superseded");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "the new instance and unit 1");
	ASSERT_EQ(S.join.unmatched_bytes, 0, "every byte had its unit");
	return true;
}

/* XFS: iomap's per-folio records; a 4 KiB pwrite and an mmap store change held units. */
static bool test_folio_start_then_partial_change(void)
{
	const struct tw_counts *c;

	start(16 * K, 100);
	write_ok(0, 48 * K);
	wend(1, 48 * K);
	wb(0, 0, 0, 0, 16 * K);		/* units 0 and 1 go under writeback, not unit 2 */
	wb(0, 0, 0, 16 * K, 16 * K);
	wbegin(2, 4 * K, 4 * K, 0, 0);
	modified(2, 0, 4, 4 * K, 4 * K, true);
	modified(3, 4, 4, 20 * K, 4 * K, true);	/* a store through a mapping */
	modified(3, 8, 4, 32 * K, 4 * K, true);	/* unit 2 is not under writeback: a tail */
	one_request(0xa1, 0xb1, 0, 48 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_MODIFIED], 2, "units 0 and 1");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "unit 2");
	ASSERT_EQ(samples(TW_ST_QUEUED), 2, "two writeback starts seen apart");
	return true;
}

/*
 * The folio's writeback record comes after the rewrite began (the rewrite waited for the
 * folio lock): it is given to the new instance, then the rewriter's modification moves it
 * back to the displaced one, whose bytes were in flight.
 */
static bool test_rewriter_names_the_displaced_instance(void)
{
	const struct tw_counts *c;

	start(16 * K, 100);
	write_ok(0, 16 * K);
	wend(1, 16 * K);
	wbegin(2, 0, 16 * K, 0, 0);
	wb(0, 0, 0, 0, 16 * K);
	modified(2, 0, 4, 0, 16 * K, true);
	wend(2, 16 * K);
	one_request(0xa1, 0xb1, 0, 16 * K);
	one_request(0xa2, 0xb2, 0, 16 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_MODIFIED], 1, "the displaced instance, in flight");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "the new instance");
	ASSERT_EQ(c->verdict[TW_V_SUPERSEDED], 0, "none superseded");
	return true;
}

/* Stable pages: the rewriter waits for the writeback; the displaced instance was in flight. */
static bool test_rewriter_waits_for_the_displaced_instance(void)
{
	const struct tw_counts *c;

	start(16 * K, 100);
	write_ok(0, 16 * K);
	wend(1, 16 * K);
	wbegin(2, 0, 16 * K, 0, 0);
	wait_begin(2, 1, 0);
	one_request(0xa1, 0xb1, 0, 16 * K);
	wend(2, 16 * K);
	one_request(0xa2, 0xb2, 0, 16 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "both instances reached the device");
	ASSERT_EQ(c->verdict[TW_V_SUPERSEDED], 0, "none superseded");
	ASSERT_EQ(S.join.unmatched_bytes, 0, "every byte had its unit");
	return true;
}

/* No sign of writeback while the rewrite ran: superseded; a bio meanwhile is the new one's. */
static bool test_displaced_without_evidence_is_superseded(void)
{
	const struct tw_counts *c;

	start(16 * K, 100);
	write_ok(0, 16 * K);
	wend(1, 16 * K);
	wbegin(2, 0, 16 * K, 0, 0);
	bio1(0xb1, 0, 16 * K);		/* the flusher, before the rewrite returned */
	issue(0xa1, 0xb1, 16 * K);
	done(0xa1, 0xb1, 16 * K);
	wend(2, 16 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_SUPERSEDED], 1, "the old instance");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "the new one");
	ASSERT_EQ(c->verdict[TW_V_PENDING], 0, "none pending");
	return true;
}

/*
 * PG_writeback right after an instance completed may be that writeback's tail: a rewrite's
 * modification then proves nothing about the instance it displaced.
 */
static bool test_writeback_tail_blames_nobody(void)
{
	const struct tw_counts *c;

	start(16 * K, 100);
	write_ok(0, 16 * K);
	wend(1, 16 * K);
	bio1(0xb1, 0, 16 * K);
	issue(0xa1, 0xb1, 16 * K);
	wbegin(3, 0, 16 * K, 0, 0);	/* rewritten in flight: modifies the first */
	modified(3, 0, 4, 0, 16 * K, true);
	wend(3, 16 * K);
	done(0xa1, 0xb1, 16 * K);	/* the first completes; its folio ends writeback later */
	wbegin(2, 0, 16 * K, 0, 0);	/* in that tail: displaces the second */
	modified(2, 0, 4, 0, 16 * K, true);
	wend(2, 16 * K);
	one_request(0xa2, 0xb2, 0, 16 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_MODIFIED], 1, "only the first, truly changed in flight");
	ASSERT_EQ(c->verdict[TW_V_SUPERSEDED], 1, "the second");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "the third");
	return true;
}

static bool test_stable_waits_by_context(void)
{
	start(8 * K, 100);
	wait_pair(3, TW_WAIT_WRITE, 1, 3000000);	/* 3 ms: slot 21 */
	wait_pair(3, TW_WAIT_FAULT, 0, 1000);		/* 1 us: slot 9 */
	wait_pair(3, TW_WAIT_SYNC, 0, 5000000);		/* fsync: not a stable-page wait */
	wait_pair(3, TW_WAIT_UNKNOWN, 1, 100);		/* no stack: inside a write counts */
	wait_pair(3, TW_WAIT_UNKNOWN, 0, 100);		/* no stack, no write: unclassified */
	finish();
	ASSERT_EQ(S.stable.waits, 3, "stable-page waits");
	ASSERT_EQ(S.stable.waits_by_ctx[TW_WAIT_SYNC], 1, "fsync waits");
	ASSERT_EQ(S.stable.waits_by_ctx[TW_WAIT_UNKNOWN], 1, "unclassified");
	ASSERT_EQ(S.stable.hist[21], 1, "3 ms in [2^21, 2^22) ns");
	ASSERT_EQ(S.stable.hist[9], 1, "1 us in [512, 1024) ns");
	ASSERT_EQ(S.stable.nr_procs, 1, "one process");
	ASSERT_EQ(S.stable.procs[0].waits, 3, "its waits");
	return true;
}

static bool test_wait_context_of_kernel_functions(void)
{
	ASSERT_EQ(tw_wait_context_of("ext4_da_write_begin"), TW_WAIT_WRITE, "ext4 write");
	ASSERT_EQ(tw_wait_context_of("iomap_write_begin"), TW_WAIT_WRITE, "iomap write");
	ASSERT_EQ(tw_wait_context_of("iomap_page_mkwrite"), TW_WAIT_FAULT, "xfs mmap");
	ASSERT_EQ(tw_wait_context_of("ext4_page_mkwrite"), TW_WAIT_FAULT, "ext4 mmap");
	ASSERT_EQ(tw_wait_context_of("file_write_and_wait_range"), TW_WAIT_SYNC, "fsync");
	ASSERT_EQ(tw_wait_context_of("__filemap_fdatawait_range"), TW_WAIT_SYNC, "fdatawait");
	ASSERT_EQ(tw_wait_context_of("truncate_inode_pages_range"), TW_WAIT_OTHER, "truncate");
	ASSERT_EQ(tw_wait_context_of("folio_wait_writeback"), TW_WAIT_UNKNOWN, "says nothing");
	ASSERT_EQ(tw_log2_slot(0), 0, "slot of 0");
	ASSERT_EQ(tw_log2_slot(1024), 10, "slot of 1024");
	ASSERT_EQ(tw_log2_slot(~0ULL), TW_HIST_SLOTS - 1, "clamped");
	return true;
}

/*
 * A device with atomic write limits (none exists on the test machines): REQ_ATOMIC requests
 * within them give `atomic`; one crossing the boundary is counted and is no promise. Fed
 * through a record file and replay_file(), the path `tornwatch --replay` takes.
 */
static bool test_device_atomic_limits_through_replay(void)
{
	char path[] = "/tmp/tw-test-XXXXXX", err[256], kernel[65];
	struct tw_device_ev d = { .h = HDR(TW_EV_DEVICE, 0), .dev = DEV, .atomic_unit_min = 4096,
				  .atomic_unit_max = 65536, .atomic_boundary = 16384,
				  .atomic_max = 65536 };
	struct tw_atomic_limits_ev l = { .h = HDR(TW_EV_ATOMIC_LIMITS, 0), .ino = INO, .dev = DEV,
					 .unit_min = 4096, .unit_max = 65536, .segments_max = 1 };
	struct tw_write_ev w = { .h = HDR(TW_EV_WRITE_BEGIN, 1), .ino = INO, .dev = DEV,
				 .f_flags = TW_O_DIRECT, .rwf = TW_RWF_ATOMIC, .iovcnt = 1 };
	struct tw_summary again;
	struct tracker *t2;
	uint64_t unit;
	int fd = mkstemp(path);

	ASSERT_TRUE(fd >= 0, "mkstemp");
	close(fd);
	R = recorder__open(path, 0, "test-kernel", err, sizeof(err));
	ASSERT_TRUE(R != NULL, err);
	start(0, 100);
	d.h.size = sizeof(d);
	l.h.size = sizeof(l);
	w.h.size = sizeof(w);
	feed(&d);
	feed(&l);
	/* 16 KiB at 16 KiB, sectors 32..63: inside one boundary, REQ_ATOMIC -> atomic */
	w.pos = 16 * K, w.count = 16 * K;
	feed(&w);
	bioq(0xb1, TW_BIO_ATOMIC | TW_BIO_DIO, 1, (uint64_t[]){ 16 * K, 16 * K });
	{
		struct tw_rq_ev r = { .h = HDR(TW_EV_RQ_ISSUE, 0), .rq = 0xa1, .bio = 0xb1,
				      .dev = DEV, .sector = 32, .rq_bytes = 16 * K,
				      .bio_bytes = 16 * K, .flags = TW_RQ_ATOMIC };

		r.h.size = sizeof(r);
		feed(&r);
		r.h.type = TW_EV_RQ_COMPLETE;
		feed(&r);
	}
	wend(1, 16 * K);
	/* 16 KiB whose request starts at 8 KiB: crosses the 16 KiB boundary */
	w.pos = 64 * K;
	feed(&w);
	bioq(0xb2, TW_BIO_ATOMIC | TW_BIO_DIO, 1, (uint64_t[]){ 64 * K, 16 * K });
	{
		struct tw_rq_ev r = { .h = HDR(TW_EV_RQ_ISSUE, 0), .rq = 0xa2, .bio = 0xb2,
				      .dev = DEV, .sector = 16, .rq_bytes = 16 * K,
				      .bio_bytes = 16 * K, .flags = TW_RQ_ATOMIC };

		r.h.size = sizeof(r);
		feed(&r);
		r.h.type = TW_EV_RQ_COMPLETE;
		feed(&r);
	}
	wend(1, 16 * K);
	/* the syscall-level rules, each broken once */
	w.pos = 0, w.count = 12 * K;			/* not a power of two */
	feed(&w);
	wend(1, -22);
	w.count = 128 * K;				/* above the max */
	feed(&w);
	wend(1, -22);
	w.pos = 8 * K, w.count = 16 * K;		/* unaligned */
	feed(&w);
	wend(1, -22);
	w.pos = 0, w.iovcnt = 2;			/* two segments */
	feed(&w);
	wend(1, -22);
	ASSERT_EQ(recorder__close(R), 0, "close");
	R = NULL;

	t2 = replay_file(path, 100, &unit, kernel, sizeof(kernel), err, sizeof(err));
	unlink(path);
	ASSERT_TRUE(t2 != NULL, err);
	tracker__finish(t2);
	tracker__summary(t2, &again);
	ASSERT_EQ(again.c.verdict[TW_V_ATOMIC], 1, "the fitting one is atomic");
	ASSERT_EQ(again.c.verdict[TW_V_WHOLE], 1, "the one crossing the boundary is only whole");
	ASSERT_EQ(again.atomic.device_misaligned, 1, "requests breaking device limits");
	ASSERT_EQ(again.atomic.violations[TW_AV_NOT_POW2], 1, "not_pow2");
	ASSERT_EQ(again.atomic.violations[TW_AV_ABOVE_MAX], 1, "above_max");
	ASSERT_EQ(again.atomic.violations[TW_AV_UNALIGNED], 1, "unaligned");
	ASSERT_EQ(again.atomic.violations[TW_AV_SEGMENTS], 1, "segments");
	ASSERT_EQ(again.modes[TW_M_ATOMIC_DIRECT].refused_errno[22], 4, "EINVAL refusals");
	ASSERT_EQ(again.modes[TW_M_ATOMIC_DIRECT].units, 2, "units");
	tracker__free(t2);
	return true;
}

static bool test_modes_of_flags(void)
{
	ASSERT_EQ(tw_mode_of_write(0, 0), TW_M_BUFFERED, "buffered");
	ASSERT_EQ(tw_mode_of_write(TW_O_DSYNC, 0), TW_M_BUFFERED_DSYNC, "O_DSYNC");
	ASSERT_EQ(tw_mode_of_write(0, TW_RWF_DSYNC), TW_M_BUFFERED_DSYNC, "RWF_DSYNC");
	ASSERT_EQ(tw_mode_of_write(TW_O_SYNC, 0), TW_M_BUFFERED_SYNC, "O_SYNC");
	ASSERT_EQ(tw_mode_of_write(TW_O_DIRECT, 0), TW_M_DIRECT, "direct");
	ASSERT_EQ(tw_mode_of_write(TW_O_DIRECT | TW_O_DSYNC, 0), TW_M_DIRECT_DSYNC, "direct dsync");
	ASSERT_EQ(tw_mode_of_write(TW_O_DIRECT, TW_RWF_ATOMIC), TW_M_ATOMIC_DIRECT, "atomic");
	ASSERT_EQ(tw_mode_of_write(0, TW_RWF_ATOMIC), TW_M_ATOMIC_BUFFERED, "atomic buffered");
	ASSERT_EQ(tw_mode_of_write(0, TW_RWF_WRITETHROUGH), TW_M_WRITETHROUGH, "writethrough");
	ASSERT_EQ(tw_mode_of_kiocb(TW_IOCB_DIRECT | TW_IOCB_ATOMIC), TW_M_ATOMIC_DIRECT, "kiocb");
	ASSERT_EQ(tw_mode_of_kiocb(TW_IOCB_DIRECT | TW_IOCB_DSYNC), TW_M_DIRECT_DSYNC, "kiocb dsync");
	return true;
}

/* io_uring's NOWAIT attempt ends in -EAGAIN and the same kiocb begins again. */
static bool test_io_uring_eagain_retry_is_one_write(void)
{
	struct tw_dio_ev b = { .h = HDR(TW_EV_DIO_BEGIN, 7), .ino = INO, .dev = DEV, .pos = 0,
			       .count = 16 * K, .ki_flags = TW_IOCB_DIRECT, .iocb = 0xc1 };
	struct tw_dio_end_ev again = { .h = HDR(TW_EV_DIO_END, 0), .iocb = 0xc1, .ret = -11 };
	struct tw_dio_end_ev ok = { .h = HDR(TW_EV_DIO_END, 0), .iocb = 0xc1, .ret = 16 * K };
	const struct tw_counts *c;

	start(8 * K, 100);
	b.h.size = sizeof(b);
	again.h.size = ok.h.size = sizeof(again);
	feed(&b);
	feed(&again);
	b.h.tid = 8;			/* the io-wq worker */
	feed(&b);
	one_request(0xa1, 0xb1, 0, 16 * K);
	feed(&ok);
	c = finish();
	ASSERT_EQ(S.writes, 1, "one write");
	ASSERT_EQ(S.modes[TW_M_DIRECT].refused, 0, "no refusal");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "its two units whole");
	ASSERT_EQ(c->verdict[TW_V_SUPERSEDED], 0, "nothing superseded");
	return true;
}

/* ---- stores through a shared mapping (tw_mmap_ev) ---- */

/* A traced thread's store at page pos dirtied the clean folio [index, index + pages). */
static int mmap_dirty(uint32_t tid, uint64_t index, uint32_t pages, uint64_t pos, uint32_t flags)
{
	struct tw_mmap_ev e = { .h = HDR(TW_EV_MMAP_DIRTY, tid), .ino = INO, .dev = DEV,
				.index = index, .nr_pages = pages, .pos = pos, .flags = flags };

	e.h.size = sizeof(e);
	e.h.ts_ns = ++ts;
	return tracker__feed(T, &e, sizeof(e));
}

static bool test_mmap_store_makes_a_unit(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	mmap_dirty(1, 2, 2, 12 * K, 0);		/* folio [8k, 16k), the store at 12k */
	one_request(0xa1, 0xb1, 8 * K, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(tw_units_total(c), 1, "total");
	ASSERT_EQ(S.modes[TW_M_MMAP].units, 1, "mmap units");
	ASSERT_EQ(S.modes[TW_M_MMAP].writes, 1, "mmap writes");
	ASSERT_EQ(S.modes[TW_M_BUFFERED].units, 0, "buffered units");
	ASSERT_EQ(S.join.unmatched_bytes, 0, "unmatched");
	ASSERT_STREQ(tw_mode_names[TW_M_MMAP], "mmap", "mode name");
	return true;
}

/* A folio smaller than the unit: the unit's bytes are the folio's, the rest is clean. */
static bool test_mmap_unit_of_a_small_folio(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	mmap_dirty(1, 1, 1, 4 * K, 0);
	one_request(0xa1, 0xb1, 4 * K, 4 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole, of its 4 KiB");
	ASSERT_EQ(c->verdict[TW_V_PENDING], 0, "the clean half waits for nothing");
	/* the same, carried in two requests of 2 KiB: split */
	start(8 * K, 100);
	mmap_dirty(1, 1, 1, 4 * K, 0);
	bio1(0xb1, 4 * K, 4 * K);
	split(0xb2, 0xb1, 2 * K);
	issue(0xa1, 0xb2, 2 * K);
	done(0xa1, 0xb2, 2 * K);
	issue(0xa2, 0xb1, 2 * K);
	done(0xa2, 0xb1, 2 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_SPLIT], 1, "split");
	ASSERT_EQ(tw_units_total(c), 1, "total");
	return true;
}

/* Stores to neighbouring folios of a unit before any left the cache: one instance. */
static bool test_mmap_stores_grow_one_instance(void)
{
	const struct tw_counts *c;

	start(16 * K, 100);
	mmap_dirty(1, 1, 1, 4 * K, 0);
	mmap_dirty(1, 0, 1, 0, 0);		/* below it */
	mmap_dirty(1, 2, 1, 8 * K, 0);		/* above it */
	one_request(0xa1, 0xb1, 0, 12 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(tw_units_total(c), 1, "one unit");
	ASSERT_EQ(S.modes[TW_M_MMAP].writes, 3, "three stores");
	/* a memcpy that faults each 8 KiB from its last page (seen on the 6.1 guest) */
	start(16 * K, 100);
	mmap_dirty(1, 1, 1, 4 * K, 0);
	mmap_dirty(1, 0, 1, 0, 0);
	mmap_dirty(1, 3, 1, 12 * K, 0);		/* not touching [0, 8k) yet: a second instance */
	mmap_dirty(1, 2, 1, 8 * K, 0);		/* joins both */
	one_request(0xa1, 0xb1, 0, 16 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole, in any order");
	ASSERT_EQ(tw_units_total(c), 1, "one unit, in any order");
	/* once its bytes left the cache, a store to the unit's next folio is a new instance */
	start(16 * K, 100);
	mmap_dirty(1, 0, 1, 0, 0);
	bio1(0xb1, 0, 4 * K);
	mmap_dirty(1, 1, 1, 4 * K, 0);
	issue(0xa1, 0xb1, 4 * K);
	done(0xa1, 0xb1, 4 * K);
	one_request(0xa2, 0xb2, 4 * K, 4 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "two instances, each whole");
	return true;
}

/* Units smaller than a page: every unit inside the page stored to, none elsewhere. */
static bool test_mmap_units_smaller_than_a_page(void)
{
	const struct tw_counts *c;

	start(1 * K, 100);
	mmap_dirty(1, 0, 4, 8 * K, 0);		/* folio [0, 16k), the store at 8k */
	one_request(0xa1, 0xb1, 0, 16 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 4, "the page's four units");
	ASSERT_EQ(tw_units_total(c), 4, "total");
	ASSERT_EQ(S.join.unmatched_bytes, 12 * K, "the folio's other pages");
	/* no --unit: no units, the store still counts as a write */
	start(0, 100);
	mmap_dirty(1, 0, 1, 0, 0);
	c = finish();
	ASSERT_EQ(tw_units_total(c), 0, "no units");
	ASSERT_EQ(S.modes[TW_M_MMAP].writes, 1, "one write");
	return true;
}

/* A write of the whole unit before a partial mmap instance left the cache supersedes it. */
static bool test_mmap_instance_superseded_by_a_write(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	mmap_dirty(1, 0, 1, 0, 0);
	write_ok(0, 8 * K);
	write_ok(64 * K, 8 * K);		/* the first write returned: settled */
	one_request(0xa1, 0xb1, 0, 8 * K);
	one_request(0xa2, 0xb2, 64 * K, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_SUPERSEDED], 1, "the mmap instance");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "the writes' units");
	ASSERT_EQ(S.modes[TW_M_MMAP].units, 1, "counted as mmap");
	return true;
}

/* A store to a folio under writeback: the unit in flight is modified, the store a new unit. */
static bool test_mmap_store_in_flight(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	bio1(0xb1, 0, 8 * K);
	issue(0xa1, 0xb1, 8 * K);
	modified(2, 0, 2, 4 * K, 4 * K, true);
	mmap_dirty(2, 0, 2, 4 * K, TW_MMAP_WRITEBACK);
	done(0xa1, 0xb1, 8 * K);
	one_request(0xa2, 0xb2, 0, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_MODIFIED], 1, "the unit in flight");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "the store's unit, written back after");
	ASSERT_EQ(S.modes[TW_M_MMAP].units, 1, "mmap units");
	ASSERT_EQ(S.modes[TW_M_BUFFERED].units, 1, "buffered units");
	return true;
}

static bool test_mmap_bad_records(void)
{
	start(8 * K, 100);
	ASSERT_EQ(mmap_dirty(1, 0, 0, 0, 0), -22, "no pages");
	ASSERT_EQ(mmap_dirty(1, 1, 1, 0, 0), -22, "store before the folio");
	ASSERT_EQ(mmap_dirty(1, 1, 1, 8 * K, 0), -22, "store past the folio");
	ASSERT_EQ(mmap_dirty(1, 1, 2, 6 * K, 0), -22, "store not on a page");
	ASSERT_EQ(mmap_dirty(1, 0, (TW_MAX_FOLIO >> 12) + 1, 0, 0), -22, "folio too big");
	ASSERT_EQ(mmap_dirty(1, TW_MAX_LOFF >> 12, 1, TW_MAX_LOFF, 0), -22, "past loff_t");
	ASSERT_EQ(mmap_dirty(1, 1, 2, 8 * K, 0), 0, "a good one");
	finish();
	ASSERT_EQ(S.join.bad_records, 6, "bad records");
	ASSERT_EQ(tw_units_total(&S.c), 1, "the good one's unit (pending)");
	return true;
}

/* A bio issued again on its own request at another sector (fuzzer: a use after free). */
static bool test_bio_reissued_on_its_reused_request(void)
{
	struct tw_rq_ev e = { .h = HDR(TW_EV_RQ_ISSUE, 0), .rq = 0xa1, .bio = 0xb1, .dev = DEV,
			      .sector = 64, .bio_bytes = 8 * K };
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	bio1(0xb1, 0, 8 * K);
	issue(0xa1, 0xb1, 8 * K);
	e.h.size = sizeof(e);
	feed(&e);
	c = finish();
	ASSERT_EQ(S.join.completions_inferred, 1, "its completion inferred");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	return true;
}

static bool test_foreign_and_bad_records(void)
{
	struct tw_hdr junk = { .type = 99, .size = sizeof(junk) };

	start(8 * K, 100);
	bio1(0xb1, 0, 8 * K);		/* no traced write to this file */
	ASSERT_EQ(tracker__feed(T, &junk, sizeof(junk)), -22, "unknown type refused");
	finish();
	ASSERT_EQ(S.join.foreign_bytes, 8 * K, "foreign bytes");
	ASSERT_EQ(S.join.bad_records, 1, "bad records");
	ASSERT_EQ(tw_units_total(&S.c), 0, "no units");
	return true;
}

/* The same stream, recorded and replayed, gives the same summary. */
static bool test_record_replay_round_trip(void)
{
	char path[] = "/tmp/tw-test-XXXXXX", err[256], kernel[65];
	struct tw_summary live, again;
	struct tracker *t2;
	uint64_t unit;
	int fd = mkstemp(path);

	ASSERT_TRUE(fd >= 0, "mkstemp");
	close(fd);
	R = recorder__open(path, 8 * K, "test-kernel", err, sizeof(err));
	ASSERT_TRUE(R != NULL, err);
	start(8 * K, 100);
	write_ok(0, 8 * K);
	write_ok(0, 8 * K);
	write_ok(4 * K, 12 * K);
	bio1(0xb1, 0, 16 * K);
	split(0xf1, 0xb1, 4 * K);
	issue(0xa1, 0xf1, 4 * K);
	issue(0xa2, 0xb1, 12 * K);
	done(0xa1, 0xf1, 4 * K);
	done(0xa2, 0xb1, 12 * K);
	ASSERT_EQ(recorder__close(R), 0, "close");
	R = NULL;
	finish();
	live = S;

	t2 = replay_file(path, 100, &unit, kernel, sizeof(kernel), err, sizeof(err));
	unlink(path);
	ASSERT_TRUE(t2 != NULL, err);
	ASSERT_EQ(unit, 8 * K, "unit from the header");
	ASSERT_STREQ(kernel, "test-kernel", "kernel from the header");
	tracker__finish(t2);
	tracker__summary(t2, &again);
	ASSERT_TRUE(!memcmp(&live.c, &again.c, sizeof(live.c)), "same counts");
	ASSERT_EQ(again.join.records, live.join.records, "same records");
	ASSERT_EQ(again.nr_files, live.nr_files, "same files");
	ASSERT_EQ(live.c.verdict[TW_V_SPLIT], 1, "the stream has a split");
	tracker__free(t2);
	return true;
}

static bool test_replay_refuses_garbage(void)
{
	char path[] = "/tmp/tw-test-XXXXXX", err[256] = "", kernel[65];
	uint64_t unit;
	int fd = mkstemp(path);

	ASSERT_TRUE(fd >= 0, "mkstemp");
	ASSERT_EQ(write(fd, "hello, not a record at all, just some text....................."
			"...................................\n", 100), 100, "write");
	close(fd);
	ASSERT_TRUE(replay_file(path, 100, &unit, kernel, sizeof(kernel), err, sizeof(err)) ==
			    NULL, "refused");
	unlink(path);
	ASSERT_TRUE(strstr(err, "not a tornwatch record") != NULL, err);
	return true;
}

static void discard(uint64_t pos, uint64_t len, uint32_t flags)
{
	struct tw_discard_ev e = { .h = HDR(TW_EV_DISCARD, 0), .ino = INO, .dev = DEV,
				   .pos = pos, .len = len, .flags = flags };

	e.h.size = sizeof(e);
	feed(&e);
}

/* Truncation drops the cached units past it; a unit already in a bio is not discarded. */
static bool test_truncate_discards_cached_units(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 32 * K);		/* units at 0, 8k, 16k, 24k */
	bio1(0xb1, 16 * K, 8 * K);	/* 16k is in flight */
	discard(16 * K, 16 * K, 0);	/* a 16 KiB folio at 16k dropped */
	done(0xa1, 0xb1, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_DISCARDED], 1, "24k discarded");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "16k whole");
	ASSERT_EQ(c->verdict[TW_V_PENDING], 2, "0 and 8k still cached");
	return true;
}

/* A freed inode: all its cached units discarded; its number then names a new file. */
static bool test_freed_inode_is_a_new_file(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 16 * K);
	discard(0, 4 * K, TW_DISCARD_GONE);
	write_ok(0, 8 * K);		/* a new file with the same (dev, ino) */
	one_request(0xa1, 0xb1, 0, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_DISCARDED], 2, "both units of the freed file");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "the new file's unit");
	ASSERT_EQ(S.nr_files, 2, "two files");
	ASSERT_EQ(S.files[0]->deleted + S.files[1]->deleted, 1, "one deleted");
	return true;
}

/* An issued request whose completion record never came: its bio's address is queued again. */
static bool test_completion_inferred_from_bio_reuse(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	bio1(0xb1, 0, 8 * K);
	issue(0xa1, 0xb1, 8 * K);	/* no completion record */
	write_ok(8 * K, 8 * K);
	bio1(0xb1, 8 * K, 8 * K);	/* the kernel freed and reused the bio */
	issue(0xa2, 0xb1, 8 * K);
	done(0xa2, 0xb1, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "both whole");
	ASSERT_EQ(c->verdict[TW_V_PENDING], 0, "none pending");
	ASSERT_EQ(S.join.completions_inferred, 1, "one inferred");
	ASSERT_EQ(S.join.reused_bio, 0, "not a reuse before issue");
	return true;
}

/* ... or its request is issued again at another sector with another bio: both pieces done. */
static bool test_completion_inferred_from_request_reuse(void)
{
	struct tw_rq_ev e = { .h = HDR(TW_EV_RQ_ISSUE, 0), .rq = 0xa1, .bio = 0xb3, .dev = DEV,
			      .sector = 64, .bio_bytes = 8 * K };
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	bio1(0xb1, 0, 8 * K);
	split(0xb2, 0xb1, 4 * K);	/* front 4k in 0xb2, the rest in 0xb1 */
	issue(0xa1, 0xb2, 4 * K);	/* sector 0 */
	issue(0xa0, 0xb1, 4 * K);
	done(0xa0, 0xb1, 4 * K);
	write_ok(16 * K, 8 * K);
	bio1(0xb3, 16 * K, 8 * K);
	e.h.size = sizeof(e);
	feed(&e);			/* 0xa1 again, sector 64: its first request completed */
	done(0xa1, 0xb3, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_SPLIT], 1, "the split unit has its verdict");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "the new one whole");
	ASSERT_EQ(c->verdict[TW_V_PENDING], 0, "none pending");
	ASSERT_EQ(S.join.completions_inferred, 1, "one inferred");
	return true;
}

/* A request issued again at the same sector (a requeue) infers nothing. */
static bool test_requeue_infers_nothing(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	bio1(0xb1, 0, 8 * K);
	issue(0xa1, 0xb1, 8 * K);
	issue(0xa1, 0xb1, 8 * K);	/* requeued, dispatched again */
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_PENDING], 1, "still in flight");
	ASSERT_EQ(S.join.completions_inferred, 0, "nothing inferred");
	return true;
}

#define VDA 0xfd00000	/* 253:0: the disk under the loop device's backing file */

static void rq_on(uint32_t type, uint64_t rqp, uint64_t bio, uint32_t bytes, uint32_t dev,
		  uint64_t sector)
{
	struct tw_rq_ev e = { .h = HDR(type, 0), .rq = rqp, .bio = bio, .dev = dev,
			      .sector = sector, .bio_bytes = bytes };

	e.h.size = sizeof(e);
	feed(&e);
}

static void gone(uint64_t bio, uint32_t dev)
{
	struct tw_gone_ev e = { .h = HDR(TW_EV_BIO_GONE, 0), .bio = bio, .dev = dev };

	e.h.size = sizeof(e);
	feed(&e);
}

/*
 * Seen on the 6.18 guest (record version 6, before BIO_GONE): a loop request's completion ran
 * where no BPF program runs, so its bio stayed in the BPF map; the freed address came back as
 * a bio of the loop file's own writeback on the disk below, and that request's issue and
 * completion were taken for the old bio: a second request, a false split. A bio never changes
 * device: the old one ended (inferred), the disk's records are of an unknown bio.
 */
static bool test_stale_bio_on_another_device_is_not_a_split(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	bio1(0xb1, 0, 8 * K);
	rq_on(TW_EV_RQ_ISSUE, 0xa1, 0xb1, 8 * K, DEV, 0);	/* its completion never came */
	rq_on(TW_EV_RQ_ISSUE, 0xa9, 0xb1, 40 * K, VDA, 36378112);
	rq_on(TW_EV_RQ_COMPLETE, 0xa9, 0xb1, 40 * K, VDA, 36378112);
	c = finish();
	ASSERT_EQ(tw_units_total(c), 1, "total");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(c->verdict[TW_V_SPLIT], 0, "split");
	ASSERT_EQ(c->verdict[TW_V_PENDING], 0, "pending");
	ASSERT_EQ(S.join.completions_inferred, 1, "completions inferred");
	ASSERT_EQ(S.join.units_inferred, 1, "units decided by an inference");
	ASSERT_EQ(S.join.unknown_bio, 2, "the disk's issue and completion");
	return true;
}

/* BIO_GONE: the BPF side saw the address queued again and dropped its key. */
static bool test_bio_gone_infers_the_completion(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	bio1(0xb1, 0, 8 * K);
	issue(0xa1, 0xb1, 8 * K);	/* its completion never came */
	gone(0xb1, VDA);		/* reused by a bio nobody follows */
	gone(0xb1, VDA);		/* a second one changes nothing */
	write_ok(8 * K, 8 * K);
	bio1(0xb1, 8 * K, 8 * K);	/* and later by a followed one */
	issue(0xa1, 0xb1, 8 * K);
	done(0xa1, 0xb1, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "whole");
	ASSERT_EQ(c->verdict[TW_V_PENDING], 0, "pending");
	ASSERT_EQ(S.join.completions_inferred, 1, "completions inferred");
	ASSERT_EQ(S.join.units_inferred, 1, "units decided by an inference");
	ASSERT_EQ(S.join.reused_bio, 0, "reused before issue");
	return true;
}

/*
 * An inference never decides a verdict it cannot prove: one bio taken for issued in two
 * requests, then its completion inferred, is whole (one bio sits in one request), counted
 * apart, and fails --check only with --fail-on inferred.
 */
static bool test_inference_never_splits(void)
{
	struct tw_check chk = { .fail_on = TW_DEFAULT_FAIL_ON };
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	bio1(0xb1, 0, 8 * K);
	rq_on(TW_EV_RQ_ISSUE, 0xa1, 0xb1, 8 * K, DEV, 0);
	rq_on(TW_EV_RQ_ISSUE, 0xa2, 0xb1, 8 * K, DEV, 0);
	gone(0xb1, DEV);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_SPLIT], 0, "split");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(S.join.units_inferred, 1, "units decided by an inference");
	check_evaluate(&chk, &S);
	ASSERT_TRUE(chk.passed, "default --check passes");
	ASSERT_EQ(chk.failures[TW_F_INFERRED], 1, "failures.inferred");
	chk.fail_on |= 1u << TW_F_INFERRED;
	check_evaluate(&chk, &S);
	ASSERT_TRUE(!chk.passed, "--fail-on inferred fails");
	return true;
}

/* A truncation drops everything past the new size, whatever folio size its record names. */
static bool test_truncate_past_eof_discards_all_beyond(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 32 * K);			/* units at 0, 8k, 16k, 24k */
	discard(16 * K, 4 * K, TW_DISCARD_EOF);	/* a 4 KiB folio at 16k, past the new size */
	discard(20 * K, 4 * K, TW_DISCARD_EOF);	/* the next folio: nothing more to do */
	write_ok(24 * K, 8 * K);		/* the file grows again */
	discard(16 * K, 4 * K, TW_DISCARD_EOF);	/* and is truncated again */
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_DISCARDED], 3, "16k, 24k, then the new 24k");
	ASSERT_EQ(c->verdict[TW_V_PENDING], 2, "0 and 8k still cached");
	return true;
}

/* Past the new end even a unit with bytes in flight is gone (XFS on 6.1 writes that block first). */
static bool test_truncate_cuts_a_unit_in_flight(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 16 * K);			/* units at 0 and 8k */
	bio1(0xb1, 8 * K, 4 * K);		/* the block at the new end, written out first */
	discard(8 * K, 4 * K, TW_DISCARD_EOF);
	done(0xa1, 0xb1, 4 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_DISCARDED], 1, "8k discarded");
	ASSERT_EQ(c->verdict[TW_V_PENDING], 1, "0 still cached");
	ASSERT_EQ(tw_units_total(c), 2, "one verdict each");
	return true;
}

static bool test_json_has_the_documented_keys(void)
{
	struct tw_report_meta m = { .source = "live", .kernel = "k", .duration_s = 1,
				    .top_files = 10 };
	const char *keys[] = { "\"version\"", "\"units\"", "\"total\"", "\"whole\"", "\"split\"",
			       "\"superseded\"", "\"pending\"", "\"misaligned\"", "\"untracked\"",
			       "\"lost\"", "\"files\"", "\"path\"" };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	finish();
	f = open_memstream(&buf, &len);
	report_json(f, &S, &m);
	fclose(f);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ASSERT_TRUE(strstr(buf, keys[i]) != NULL, keys[i]);
	free(buf);
	return true;
}

/* ---- device facts: power-fail atomic size, write cache ---- */

/* The DEVICE record user space sends for DEV (atomic limits 0: none advertised). */
static void device_facts(uint32_t unit_max, uint32_t physical, uint32_t write_cache,
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

/* One unit of len bytes (--unit len), written and carried to DEV by one bio, one request. */
static const struct tw_counts *unit_in_one_request(uint64_t len)
{
	write_ok(0, len);
	one_request(0xa1, 0xb1, 0, len);
	return finish();
}

static bool test_whole_beyond_sysfs_atomic_unit_max(void)
{
	const struct tw_counts *c;

	start(16 * K, 100);
	device_facts(4096, 4096, TW_WC_BACK, 0);
	c = unit_in_one_request(16 * K);
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole: one request");
	ASSERT_EQ(c->whole_beyond_atomic, 1, "16 KiB > atomic_write_unit_max 4 KiB");
	ASSERT_EQ(c->whole_atomic_unknown, 0, "device known");
	ASSERT_EQ(S.files[0]->c.whole_beyond_atomic, 1, "per file too");
	ASSERT_EQ(S.stable.nr_devices, 1, "one device");
	ASSERT_EQ(S.stable.devices[0].atomic_size, 4096, "power-fail atomic size");
	ASSERT_EQ(S.stable.devices[0].atomic_src, TW_AS_SYSFS_ATOMIC, "from sysfs atomic");
	ASSERT_EQ(S.stable.devices[0].whole_beyond_atomic, 1, "per device too");
	return true;
}

static bool test_whole_within_sysfs_atomic_unit_max(void)
{
	const struct tw_counts *c;

	start(16 * K, 100);
	device_facts(16384, 4096, TW_WC_BACK, 0);
	c = unit_in_one_request(16 * K);
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(c->whole_beyond_atomic, 0, "16 KiB fits atomic_write_unit_max 16 KiB");
	return true;
}

static bool test_whole_beyond_physical_block(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	device_facts(0, 512, TW_WC_BACK, 0);
	c = unit_in_one_request(8 * K);
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(c->whole_beyond_atomic, 1, "8 KiB > physical block 512");
	ASSERT_EQ(S.stable.devices[0].atomic_src, TW_AS_PHYSICAL_BLOCK, "from the physical block");
	return true;
}

/* --atomic-size: from the option on replay (tracker), or carried by the live record. */
static bool test_atomic_size_option_overrides(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	tracker__set_atomic_size(T, DEV, 8 * K);
	device_facts(0, 512, TW_WC_BACK, 0);
	c = unit_in_one_request(8 * K);
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(c->whole_beyond_atomic, 0, "8 KiB fits the 8 KiB given by hand");
	ASSERT_EQ(S.stable.devices[0].atomic_size, 8 * K, "power-fail atomic size");
	ASSERT_EQ(S.stable.devices[0].atomic_src, TW_AS_OPTION, "given by hand");

	start(8 * K, 100);
	device_facts(0, 512, TW_WC_BACK, 8 * K);	/* the live run's option, in the record */
	c = unit_in_one_request(8 * K);
	ASSERT_EQ(c->whole_beyond_atomic, 0, "the record's option");
	ASSERT_EQ(S.stable.devices[0].atomic_src, TW_AS_OPTION, "given by hand, recorded");

	start(8 * K, 100);
	tracker__set_atomic_size(T, DEV, 4 * K);	/* a replay's option wins over the record's */
	device_facts(0, 512, TW_WC_BACK, 8 * K);
	c = unit_in_one_request(8 * K);
	ASSERT_EQ(c->whole_beyond_atomic, 1, "8 KiB > the 4 KiB given on replay");
	return true;
}

static bool test_whole_on_unknown_device_not_judged(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	c = unit_in_one_request(8 * K);	/* no DEVICE record */
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(c->whole_beyond_atomic, 0, "not judged");
	ASSERT_EQ(c->whole_atomic_unknown, 1, "counted as unknown");
	start(8 * K, 100);
	device_facts(0, 0, TW_WC_UNKNOWN, 0);	/* a record without block sizes */
	c = unit_in_one_request(8 * K);
	ASSERT_EQ(c->whole_atomic_unknown, 1, "no size, not judged");
	ASSERT_EQ(S.stable.devices[0].atomic_src, TW_AS_UNKNOWN, "source unknown");
	return true;
}

static uint64_t hist_total(const uint64_t *h)
{
	uint64_t n = 0;

	for (int i = 0; i < TW_HIST_SLOTS; i++)
		n += h[i];
	return n;
}

static void flush_ev(uint64_t rqp, uint32_t is_done)
{
	struct tw_flush_ev e = { .h = HDR(TW_EV_FLUSH, 0), .rq = rqp, .dev = DEV, .done = is_done };

	e.h.size = sizeof(e);
	feed(&e);
}

/* A buffered 8 KiB write that returned, then reached DEV in one request without FUA. */
static void returned_then_on_device(void)
{
	wbegin(1, 0, 8 * K, 0, 0);
	wend(1, 8 * K);
	one_request(0xa1, 0xb1, 0, 8 * K);
}

static bool test_write_through_persists_at_completion(void)
{
	const struct tw_mode_stats *m = &S.modes[TW_M_BUFFERED];

	start(8 * K, 100);
	device_facts(0, 512, TW_WC_THROUGH, 0);
	returned_then_on_device();
	finish();
	ASSERT_EQ(S.c.verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(m->not_persisted, 0, "write through: persisted at completion, no flush");
	ASSERT_EQ(hist_total(m->hist[TW_ST_DURABLE]), 1, "durable sample");

	start(8 * K, 100);
	device_facts(0, 512, TW_WC_BACK, 0);	/* write back: a flush is needed */
	returned_then_on_device();
	finish();
	ASSERT_EQ(m->not_persisted, 1, "write back, no flush: not persisted");
	ASSERT_EQ(hist_total(m->hist[TW_ST_DURABLE]), 0, "no durable sample");

	start(8 * K, 100);
	device_facts(0, 512, TW_WC_BACK, 0);
	returned_then_on_device();
	flush_ev(0xf1, 0);
	flush_ev(0xf1, 1);
	finish();
	ASSERT_EQ(m->not_persisted, 0, "write back, flushed after: persisted");
	ASSERT_EQ(hist_total(m->hist[TW_ST_DURABLE]), 1, "durable at the flush");

	start(8 * K, 100);	/* no facts: like write back */
	returned_then_on_device();
	finish();
	ASSERT_EQ(m->not_persisted, 1, "unknown device: a flush is needed");
	return true;
}

/* A unit whose request issue never came cannot count as FUA. */
static bool test_unseen_issue_is_not_fua(void)
{
	start(8 * K, 100);
	device_facts(0, 512, TW_WC_BACK, 0);
	wbegin(1, 0, 8 * K, 0, 0);
	wend(1, 8 * K);
	bio1(0xb1, 0, 8 * K);
	done(0xa1, 0xb1, 8 * K);	/* completion without its issue record */
	finish();
	ASSERT_EQ(S.c.verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(S.modes[TW_M_BUFFERED].not_persisted, 1, "not persisted without a flush");
	return true;
}

static bool test_device_facts_through_replay(void)
{
	char path[] = "/tmp/tw-test-XXXXXX", err[256], kernel[65];
	struct tw_summary again;
	struct tracker *t2;
	uint64_t unit;
	int fd = mkstemp(path);

	ASSERT_TRUE(fd >= 0, "mkstemp");
	close(fd);
	R = recorder__open(path, 8 * K, "test-kernel", err, sizeof(err));
	ASSERT_TRUE(R != NULL, err);
	start(8 * K, 100);
	device_facts(0, 512, TW_WC_THROUGH, 0);
	returned_then_on_device();
	ASSERT_EQ(recorder__close(R), 0, "close");
	R = NULL;
	finish();

	t2 = replay_file(path, 100, &unit, kernel, sizeof(kernel), err, sizeof(err));
	ASSERT_TRUE(t2 != NULL, err);
	tracker__finish(t2);
	tracker__summary(t2, &again);
	ASSERT_TRUE(!memcmp(&S.c, &again.c, sizeof(S.c)), "same counts");
	ASSERT_EQ(again.c.whole_beyond_atomic, 1, "beyond, as live");
	ASSERT_EQ(again.modes[TW_M_BUFFERED].not_persisted, 0, "persisted, as live");
	ASSERT_EQ(again.stable.devices[0].write_cache, TW_WC_THROUGH, "write cache");
	ASSERT_EQ(again.stable.devices[0].physical_block, 512, "physical block");
	tracker__free(t2);
	return true;
}

/* A record of the previous format is refused, with what to do. */
static bool test_replay_refuses_old_format(void)
{
	char path[] = "/tmp/tw-test-XXXXXX", err[256] = "", kernel[65];
	struct tw_record_file_hdr h = { .version = TW_RECORD_VERSION - 1, .hdr_size = sizeof(h) };
	uint64_t unit;
	int fd = mkstemp(path);

	ASSERT_TRUE(fd >= 0, "mkstemp");
	memcpy(h.magic, TW_RECORD_MAGIC, sizeof(h.magic));
	ASSERT_EQ(write(fd, &h, sizeof(h)), sizeof(h), "write");
	close(fd);
	ASSERT_TRUE(replay_file(path, 100, &unit, kernel, sizeof(kernel), err, sizeof(err)) ==
			    NULL, "refused");
	unlink(path);
	ASSERT_TRUE(strstr(err, "record format") != NULL, err);
	ASSERT_TRUE(strstr(err, "record again") != NULL, err);
	return true;
}

/* fsync/fdatasync of the file (ino) by tid returned ret; it began at t0. */
static void sync_end(uint32_t tid, uint64_t ino, uint64_t t0, int64_t ret)
{
	struct tw_sync_ev e = { .h = HDR(TW_EV_SYNC_END, tid), .ino = ino, .dev = DEV, .t0 = t0,
				.ret = ret };

	e.h.size = sizeof(e);
	feed(&e);
}

/*
 * A request completion no BPF program ran for (an interrupt on this platform's init
 * threads): the fsync that waited for it returns 0, so the bio ended. Its units get their
 * verdicts, counted as inferred; the fsync's return bounds their device time.
 */
static bool test_fsync_infers_a_lost_completion(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 16 * K);
	bio1(0xb1, 0, 16 * K);		/* queued before the fsync (the flusher) */
	issue(0xa1, 0xb1, 16 * K);	/* ... and its completion never comes */
	sync_end(1, INO, ts, 0);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "whole: one request carried both units");
	ASSERT_EQ(c->verdict[TW_V_PENDING], 0, "none pending");
	ASSERT_EQ(S.join.completions_inferred, 1, "the completion, inferred");
	ASSERT_EQ(S.join.units_inferred, 2, "counted apart");
	return true;
}

/*
 * msync waits only for the writeback of its range: of the file's bios in flight, only those
 * its thread queued inside it are known ended. An fsync would have waited for both.
 */
static bool test_msync_infers_only_its_own_bios(void)
{
	for (int msync = 1; msync >= 0; msync--) {
		struct tw_bio_ev b = { .h = HDR(TW_EV_BIO_QUEUE, 1), .bio = 0xb1, .dev = DEV,
				       .opf = 1, .size = 8 * K, .nr_ext = 1 };
		struct tw_sync_ev e = { .h = HDR(TW_EV_SYNC_END, 1), .ino = INO, .dev = DEV,
					.flags = msync ? TW_SYNC_MSYNC : 0 };
		const struct tw_counts *c;

		start(8 * K, 100);
		mmap_dirty(1, 0, 2, 0, 0);
		mmap_dirty(1, 4, 2, 16 * K, 0);
		bio1(0xb2, 16 * K, 8 * K);	/* the flusher's, before */
		issue(0xa2, 0xb2, 8 * K);
		e.t0 = ts + 1;
		b.h.size = sizeof(b);
		b.ext[0] = (struct tw_ext){ .ino = INO, .dev = DEV, .off = 0, .len = 8 * K };
		feed(&b);			/* queued by the msync itself */
		issue(0xa1, 0xb1, 8 * K);
		e.h.size = sizeof(e);
		feed(&e);
		c = finish();
		ASSERT_EQ(S.join.completions_inferred, msync ? 1 : 2, "inferred");
		ASSERT_EQ(c->verdict[TW_V_WHOLE], msync ? 1 : 2, "whole");
		ASSERT_EQ(c->verdict[TW_V_PENDING], msync ? 1 : 0, "pending");
	}
	return true;
}

static bool test_fsync_infers_only_what_it_waited_for(void)
{
	const struct tw_counts *c;
	uint64_t t0;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	bio1(0xb1, 0, 8 * K);		/* before the fsync, never issued: no request to judge */
	t0 = ts;
	write_ok(8 * K, 8 * K);
	bio1(0xb2, 8 * K, 8 * K);	/* another thread (the flusher), after the fsync began */
	issue(0xa2, 0xb2, 8 * K);
	sync_end(1, INO, t0, 0);
	sync_end(1, INO + 1, 0, 0);	/* a file nobody traced */
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_PENDING], 2, "both pending: nothing proven");
	ASSERT_EQ(S.join.completions_inferred, 0, "nothing inferred");

	start(8 * K, 100);		/* nor does it wait for a direct write in flight (aio) */
	{
		struct tw_dio_ev d = { .h = HDR(TW_EV_DIO_BEGIN, 7), .ino = INO, .dev = DEV,
				       .pos = 0, .count = 8 * K, .ki_flags = TW_IOCB_DIRECT };
		struct tw_bio_ev b = { .h = HDR(TW_EV_BIO_QUEUE, 7), .bio = 0xb1, .dev = DEV,
				       .opf = 1, .flags = TW_BIO_DIO, .size = 8 * K, .nr_ext = 1 };

		d.h.size = sizeof(d);
		feed(&d);
		b.h.size = sizeof(b);
		b.ext[0] = (struct tw_ext){ .ino = INO, .dev = DEV, .off = 0, .len = 8 * K };
		feed(&b);
		issue(0xa1, 0xb1, 8 * K);
	}
	sync_end(1, INO, ts, 0);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_PENDING], 1, "an aio direct write stays pending");
	ASSERT_EQ(S.join.completions_inferred, 0, "nothing inferred for a direct write");

	start(8 * K, 100);		/* a failed fsync proves nothing either */
	write_ok(0, 8 * K);
	bio1(0xb1, 0, 8 * K);
	issue(0xa1, 0xb1, 8 * K);
	sync_end(1, INO, ts, -5);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_PENDING], 1, "pending after -EIO");
	ASSERT_EQ(S.join.completions_inferred, 0, "nothing inferred after -EIO");
	return true;
}

/* One buffered iocb of an io_submit batch (TW_W_AIO), at its place i. */
static void aio_iocb_flags(uint32_t i, uint64_t pos, uint64_t count, uint32_t f_flags)
{
	struct tw_write_ev e = { .h = HDR(TW_EV_WRITE_BEGIN, 1), .ino = INO, .pos = pos,
				 .count = count, .dev = DEV, .f_flags = f_flags, .wflags = TW_W_AIO,
				 .iovcnt = 1, .aio_index = i };

	e.h.size = sizeof(e);
	feed(&e);
}

static void aio_iocb(uint32_t i, uint64_t pos, uint64_t count)
{
	aio_iocb_flags(i, pos, count, 0);
}

static void aio_end(int64_t ret)
{
	struct tw_write_end_ev e = { .h = HDR(TW_EV_AIO_END, 1), .ret = ret };

	e.h.size = sizeof(e);
	feed(&e);
}

/* io_submit took 2 of 3 buffered iocbs: two writes' units, the third wrote nothing. */
static bool test_aio_buffered_batch(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	aio_iocb(0, 0, 8 * K);
	aio_iocb(1, 8 * K, 16 * K);
	aio_iocb(2, 64 * K, 8 * K);
	aio_end(2);
	one_request(0xa1, 0xb1, 0, 24 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 3, "the units of the iocbs taken");
	ASSERT_EQ(tw_units_total(c), 3, "none for the one not taken");
	ASSERT_EQ(S.modes[TW_M_BUFFERED].incomplete, 0, "their return is known");
	ASSERT_EQ(samples(TW_ST_SYSCALL), 3, "syscall stage: io_submit's return");

	start(8 * K, 100);		/* io_submit failed: nothing was written */
	aio_iocb(0, 0, 8 * K);
	aio_end(-11);
	c = finish();
	ASSERT_EQ(tw_units_total(c), 0, "no units after -EAGAIN");
	return true;
}

/* A buffered io_uring write (TW_W_URING) of request req, submitted by thread tid. */
static void uring_write(uint32_t tid, uint64_t req, uint64_t pos, uint64_t count, uint32_t wflags)
{
	struct tw_write_ev e = { .h = HDR(TW_EV_WRITE_BEGIN, tid), .ino = INO, .pos = pos,
				 .count = count, .dev = DEV, .wflags = TW_W_URING | wflags,
				 .iovcnt = 1, .req = req };

	e.h.size = sizeof(e);
	feed(&e);
}

/* Its CQE, posted by whichever thread ran the completion. */
static void uring_end(uint32_t tid, uint64_t req, int64_t ret, uint32_t flags)
{
	struct tw_uring_end_ev e = { .h = HDR(TW_EV_URING_END, tid), .req = req, .ret = ret,
				     .flags = flags };

	e.h.size = sizeof(e);
	feed(&e);
}

#define REQ(n) (0xffff888000100000ULL + (n) * 0x100)

/*
 * Requests in flight together end in any order, from any thread; a short one keeps what it
 * wrote, a failed one nothing; an overflowed CQE is a return like any other.
 */
static bool test_io_uring_buffered(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	uring_write(1, REQ(1), 0, 16 * K, 0);
	uring_write(1, REQ(2), 16 * K, 16 * K, 0);
	uring_write(1, REQ(3), 32 * K, 16 * K, 0);
	uring_write(1, REQ(4), 48 * K, 16 * K, 0);
	uring_end(9, REQ(3), 16 * K, TW_URING_OVERFLOW);
	uring_end(1, REQ(2), 8 * K, 0);		/* short: its first unit only */
	uring_end(9, REQ(4), -27, 0);		/* EFBIG: nothing */
	uring_end(1, REQ(1), 16 * K, 0);
	one_request(0xa1, 0xb1, 0, 48 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 5, "2 + 1 (short) + 2 (overflowed CQE)");
	ASSERT_EQ(tw_units_total(c), 5, "none for the failed one");
	ASSERT_EQ(S.writes, 4, "four writes");
	ASSERT_EQ(S.modes[TW_M_BUFFERED].refused, 1, "one refused");
	ASSERT_EQ(S.modes[TW_M_BUFFERED].incomplete, 0, "every return known");
	ASSERT_EQ(samples(TW_ST_SYSCALL), 5, "syscall stage: submit to CQE");
	return true;
}

/*
 * IOSQE_CQE_SKIP_SUCCESS: no CQE; the request's slot reused (SILENT) closes the write with
 * all its units, at a time nobody saw. A CQE never seen, likewise: its units stay as asked.
 */
static bool test_io_uring_cqe_skipped(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	uring_write(1, REQ(1), 0, 16 * K, TW_W_URING_NOCQE);
	uring_end(1, REQ(1), 0, TW_URING_SILENT);
	uring_write(1, REQ(1), 16 * K, 8 * K, 0);	/* the slot's next request */
	uring_end(1, REQ(1), 8 * K, 0);
	one_request(0xa1, 0xb1, 0, 24 * K);		/* written back after both returned */
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 3, "every unit judged");
	ASSERT_EQ(S.modes[TW_M_BUFFERED].incomplete, 2, "the skipped one's: no return time");
	ASSERT_EQ(samples(TW_ST_SYSCALL), 1, "the second one's return is known");
	return true;
}

/*
 * Direct iocbs from io_submit (kernels without iomap_dio_rw_begin, 6.1): their bios,
 * queued inside io_submit, give the verdicts; their completion is never seen, so io_submit's
 * return is no end time: every sample is incomplete. The iocb not taken has no units.
 */
static bool test_aio_direct_batch_without_kiocb(void)
{
	const struct tw_counts *c;
	uint64_t a[] = { 0, 8 * K }, b1[] = { 8 * K, 4 * K }, b2[] = { 12 * K, 4 * K };

	start(8 * K, 100);
	aio_iocb_flags(0, 0, 8 * K, TW_O_DIRECT);
	aio_iocb_flags(1, 8 * K, 8 * K, TW_O_DIRECT);
	aio_iocb_flags(2, 64 * K, 8 * K, TW_O_DIRECT);
	bioq(0xb1, TW_BIO_DIO, 1, a);
	bioq(0xb2, TW_BIO_DIO, 1, b1);	/* the second iocb went out in two bios */
	bioq(0xb3, TW_BIO_DIO, 1, b2);
	aio_end(2);
	for (uint64_t i = 1; i <= 3; i++) {
		issue(0xa0 + i, 0xb0 + i, i == 1 ? 8 * K : 4 * K);
		done(0xa0 + i, 0xb0 + i, i == 1 ? 8 * K : 4 * K);
	}
	c = finish();
	ASSERT_EQ(tw_units_total(c), 2, "units of the two iocbs taken");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "the first: one bio");
	ASSERT_EQ(c->verdict[TW_V_SPLIT], 1, "the second: two bios");
	ASSERT_EQ(S.modes[TW_M_DIRECT].units, 2, "direct units");
	ASSERT_EQ(S.modes[TW_M_DIRECT].incomplete, 2, "no end time: incomplete, not invented");
	ASSERT_EQ(samples(TW_ST_SYSCALL), 0, "no syscall stage from io_submit's return");
	return true;
}

int main(void)
{
	RUN(test_io_uring_buffered);
	RUN(test_io_uring_cqe_skipped);
	RUN(test_aio_direct_batch_without_kiocb);
	RUN(test_aio_buffered_batch);
	RUN(test_fsync_infers_a_lost_completion);
	RUN(test_fsync_infers_only_what_it_waited_for);
	RUN(test_msync_infers_only_its_own_bios);
	RUN(test_whole_two_units_one_request);
	RUN(test_split_at_writeback);
	RUN(test_merged_bios_are_whole);
	RUN(test_block_split_inside_unit);
	RUN(test_block_split_on_unit_boundary);
	RUN(test_repeated_split_four_pieces);
	RUN(test_superseded);
	RUN(test_rewrite_while_in_flight_is_not_superseded);
	RUN(test_truncate_discards_cached_units);
	RUN(test_truncate_past_eof_discards_all_beyond);
	RUN(test_truncate_cuts_a_unit_in_flight);
	RUN(test_completion_inferred_from_bio_reuse);
	RUN(test_completion_inferred_from_request_reuse);
	RUN(test_requeue_infers_nothing);
	RUN(test_stale_bio_on_another_device_is_not_a_split);
	RUN(test_bio_gone_infers_the_completion);
	RUN(test_inference_never_splits);
	RUN(test_freed_inode_is_a_new_file);
	RUN(test_pending_cached_and_inflight);
	RUN(test_misaligned);
	RUN(test_large_folio_many_units);
	RUN(test_req_atomic);
	RUN(test_atomic_split_without_cow);
	RUN(test_atomic_cow);
	RUN(test_refused_atomic);
	RUN(test_short_write);
	RUN(test_untracked_when_full);
	RUN(test_partial_completion);
	RUN(test_io_uring_dio_begin_makes_units);
	RUN(test_dio_after_a_finished_sync_write_makes_units);
	RUN(test_write_bytes_follow_the_return);
	RUN(test_modified_in_flight);
	RUN(test_mmap_store_makes_a_unit);
	RUN(test_mmap_unit_of_a_small_folio);
	RUN(test_mmap_stores_grow_one_instance);
	RUN(test_mmap_units_smaller_than_a_page);
	RUN(test_mmap_instance_superseded_by_a_write);
	RUN(test_mmap_store_in_flight);
	RUN(test_mmap_bad_records);
	RUN(test_modified_without_io_marks_no_unit);
	RUN(test_modified_page_unknown_claims_no_unit);
	RUN(test_pass_then_modified);
	RUN(test_pass_that_proves_nothing);
	RUN(test_folio_start_then_rewrite);
	RUN(test_folio_start_then_partial_change);
	RUN(test_rewriter_names_the_displaced_instance);
	RUN(test_rewriter_waits_for_the_displaced_instance);
	RUN(test_displaced_without_evidence_is_superseded);
	RUN(test_writeback_tail_blames_nobody);
	RUN(test_stable_waits_by_context);
	RUN(test_wait_context_of_kernel_functions);
	RUN(test_device_atomic_limits_through_replay);
	RUN(test_modes_of_flags);
	RUN(test_io_uring_eagain_retry_is_one_write);
	RUN(test_foreign_and_bad_records);
	RUN(test_bio_reissued_on_its_reused_request);
	RUN(test_record_replay_round_trip);
	RUN(test_replay_refuses_garbage);
	RUN(test_json_has_the_documented_keys);
	RUN(test_whole_beyond_sysfs_atomic_unit_max);
	RUN(test_whole_within_sysfs_atomic_unit_max);
	RUN(test_whole_beyond_physical_block);
	RUN(test_atomic_size_option_overrides);
	RUN(test_whole_on_unknown_device_not_judged);
	RUN(test_write_through_persists_at_completion);
	RUN(test_unseen_issue_is_not_fua);
	RUN(test_device_facts_through_replay);
	RUN(test_replay_refuses_old_format);
	tracker__free(T);
	return TEST_EXIT();
}
