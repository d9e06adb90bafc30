// SPDX-License-Identifier: GPL-2.0
/*
 * Stable pages and writeback start: units modified under writeback, the instance a
 * writeback or a waiting writer names, and the waits by context.
 */
#include "fixture.h"
#include "test.h"

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
				      .index = index, .flags = in_write ? TW_WAIT_IN_WRITE : 0,
				      .context = in_write ? TW_WAIT_WRITE : TW_WAIT_SYNC };

	b.h.size = sizeof(b);
	feed(&b);
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

/*
 * A writepages pass over the whole file: its begin and end records (records before
 * 2026-12-03), or one record at its end stamped with its begin (TW_WB_PASS_WHOLE).
 */
static void pass(uint32_t tid, bool whole, uint32_t flags, int ret)
{
	if (whole) {
		wb(tid, flags | TW_WB_PASS | TW_WB_PASS_END | TW_WB_PASS_WHOLE, ret, 0, ~0ULL);
		return;
	}
	wb(tid, flags | TW_WB_PASS, 0, 0, ~0ULL);
	wb(tid, flags | TW_WB_PASS | TW_WB_PASS_END, ret, 0, ~0ULL);
}

/*
 * ext4, writeback held by blk-throttle: the fsync's writepages pass ends before any bio is
 * seen; a partial pwrite by another thread then changes a unit in flight.
 */
static bool test_pass_then_modified(void)
{
	const struct tw_counts *c;

	for (int whole = 0; whole < 2; whole++) {
		start(16 * K, 100);
		write_ok(0, 64 * K);
		wend(1, 64 * K);	/* sent at the fsync's entry */
		pass(1, whole, TW_WB_SYNC_ALL | TW_WB_NO_LIMIT, 0);
		wbegin(2, 16 * K, 4 * K, 0, 0);	/* changes unit 1: no unit of its own */
		modified(2, 4, 1, 16 * K, 4 * K, true);
		bio1(0xb1, 0, 64 * K);	/* the throttle lets the bio go */
		issue(0xa1, 0xb1, 64 * K);
		done(0xa1, 0xb1, 64 * K);
		c = finish();
		ASSERT_EQ(c->verdict[TW_V_MODIFIED], 1, "the unit changed while held");
		ASSERT_EQ(c->verdict[TW_V_WHOLE], 3, "the others");
		ASSERT_EQ(samples(TW_ST_QUEUED), 4, "writeback seen apart: queued samples");
		ASSERT_EQ(samples(TW_ST_CACHE), 4, "cache samples");
	}
	return true;
}

/* A pass that failed, or a budgeted background pass, proves nothing: no unit is blamed. */
static bool test_pass_that_proves_nothing(void)
{
	const struct tw_counts *c;
	uint32_t passes[2] = { TW_WB_SYNC_ALL, 0 };
	int ret[2] = { -5, 0 };

	for (int i = 0; i < 4; i++) {
		start(16 * K, 100);
		write_ok(0, 16 * K);
		wend(1, 16 * K);
		pass(3, i >= 2, passes[i % 2], ret[i % 2]);
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
	wait_pair(3, TW_WAIT_WRITE, TW_WAIT_IN_WRITE, 3000000);	/* 3 ms: slot 21 */
	wait_pair(3, TW_WAIT_FAULT, 0, 1000);		/* 1 us: slot 9 */
	wait_pair(3, TW_WAIT_SYNC, 0, 5000000);		/* fsync: not a stable-page wait */
	wait_pair(3, TW_WAIT_UNKNOWN, TW_WAIT_IN_WRITE, 100);	/* no stack: inside a write */
	wait_pair(3, TW_WAIT_UNKNOWN, 0, 100);		/* no stack, no write: unclassified */
	finish();
	ASSERT_EQ(S.stable.waits, 3, "stable-page waits");
	ASSERT_EQ(S.stable.waits_by_ctx[TW_WAIT_SYNC], 1, "fsync waits");
	ASSERT_EQ(S.stable.waits_by_ctx[TW_WAIT_UNKNOWN], 1, "unclassified");
	ASSERT_EQ(S.stable.hist[21], 1, "3 ms in [2^21, 2^22) ns");
	ASSERT_EQ(S.stable.hist[9], 1, "1 us in [512, 1024) ns");
	ASSERT_EQ(S.stable.nr_procs, 1, "one process");
	ASSERT_EQ(S.stable.procs[0].waits, 3, "its waits");
	ASSERT_EQ(S.stable.waits_untimed, 0, "every stable-page wait timed");
	return true;
}

/*
 * sched_wakeup is attached at the first wait: waits begun before it are counted by context
 * and as untimed, and no wake-up (a stray one, say) times them.
 */
static bool test_waits_before_the_wakeup_hook_are_untimed(void)
{
	start(8 * K, 100);
	wait_pair(3, TW_WAIT_WRITE, TW_WAIT_IN_WRITE | TW_WAIT_UNTIMED, 3000000);
	wait_pair(4, TW_WAIT_FAULT, TW_WAIT_UNTIMED, 1000);
	wait_pair(5, TW_WAIT_SYNC, TW_WAIT_UNTIMED, 1000);	/* not a stable-page wait */
	wait_pair(3, TW_WAIT_WRITE, TW_WAIT_IN_WRITE, 2000);	/* armed: timed */
	finish();
	ASSERT_EQ(S.stable.waits, 1, "timed stable-page waits");
	ASSERT_EQ(S.stable.waits_untimed, 2, "untimed stable-page waits");
	ASSERT_EQ(S.stable.waits_by_ctx[TW_WAIT_WRITE], 2, "in a write, timed or not");
	ASSERT_EQ(S.stable.waits_by_ctx[TW_WAIT_FAULT], 1, "mmap store");
	ASSERT_EQ(S.stable.waits_by_ctx[TW_WAIT_SYNC], 1, "fsync");
	ASSERT_EQ(S.stable.wait_ns_total, 2000, "only the timed wait's time");
	ASSERT_EQ(S.stable.hist[10], 1, "2 us in [1024, 2048) ns");
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

int main(void)
{
	RUN(test_modified_in_flight);
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
	RUN(test_waits_before_the_wakeup_hook_are_untimed);
	RUN(test_wait_context_of_kernel_functions);
	tracker__free(T);
	return TEST_EXIT();
}
