// SPDX-License-Identifier: GPL-2.0
/*
 * Writes: syscalls, kiocbs, io_submit batches and io_uring requests; short, refused and
 * retried writes; a write's mode from its flags.
 */
#include <unistd.h>
#include "fixture.h"
#include "test.h"

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

/*
 * io_uring's NOWAIT attempt of a 16 KiB direct write fails and a worker begins the same kiocb
 * again, which completes: with a DIO_END of -EAGAIN for the attempt (end_seen), or without
 * (the attempt failed before any bio and before iomap_dio_complete: pages of the range in
 * the cache; seen live on ext4 and XFS, where the attempt was taken for a write of its own).
 */
static void uring_retried(bool end_seen)
{
	struct tw_dio_ev b = { .h = HDR(TW_EV_DIO_BEGIN, 7), .ino = INO, .dev = DEV, .pos = 0,
			       .count = 16 * K, .ki_flags = TW_IOCB_DIRECT, .iocb = 0xc1 };
	struct tw_dio_end_ev again = { .h = HDR(TW_EV_DIO_END, 0), .iocb = 0xc1, .ret = -11 };
	struct tw_dio_end_ev ok = { .h = HDR(TW_EV_DIO_END, 0), .iocb = 0xc1, .ret = 16 * K };

	start(8 * K, 100);
	b.h.size = sizeof(b);
	again.h.size = ok.h.size = sizeof(again);
	feed(&b);
	if (end_seen)
		feed(&again);
	b.h.tid = 8;			/* the io-wq worker */
	feed(&b);
	one_request(0xa1, 0xb1, 0, 16 * K);
	feed(&ok);
	finish();
}

static bool test_io_uring_eagain_retry_is_one_write(void)
{
	for (int end_seen = 1; end_seen >= 0; end_seen--) {
		uring_retried(end_seen);
		ASSERT_EQ(S.writes, 1, "one write");
		ASSERT_EQ(S.modes[TW_M_DIRECT].refused, 0, "no refusal");
		ASSERT_EQ(S.c.verdict[TW_V_WHOLE], 2, "its two units whole");
		ASSERT_EQ(S.c.verdict[TW_V_SUPERSEDED], 0, "nothing superseded");
	}
	return true;
}

/* The same kiocb begun again is a retry only at the same place with nothing of it queued. */
static bool test_io_uring_kiocb_reused_is_a_new_write(void)
{
	struct tw_dio_ev b = { .h = HDR(TW_EV_DIO_BEGIN, 7), .ino = INO, .dev = DEV, .pos = 0,
			       .count = 16 * K, .ki_flags = TW_IOCB_DIRECT, .iocb = 0xc1 };
	const struct tw_counts *c;

	b.h.size = sizeof(b);
	start(8 * K, 100);		/* a kiocb reused after a write whose end was lost */
	b.h.tid = 7;
	feed(&b);
	one_request(0xa1, 0xb1, 0, 16 * K);
	b.pos = 64 * K;
	feed(&b);
	one_request(0xa2, 0xb2, 64 * K, 16 * K);
	c = finish();
	ASSERT_EQ(S.writes, 2, "two writes");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 4, "four units whole");

	start(8 * K, 100);		/* the same place again, but the first had queued a bio */
	b.pos = 0;
	feed(&b);
	bio1(0xb1, 0, 8 * K);
	feed(&b);
	finish();
	ASSERT_EQ(S.writes, 2, "not a retry: two writes");
	return true;
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
	RUN(test_short_write);
	RUN(test_io_uring_dio_begin_makes_units);
	RUN(test_dio_after_a_finished_sync_write_makes_units);
	RUN(test_write_bytes_follow_the_return);
	RUN(test_modes_of_flags);
	RUN(test_io_uring_eagain_retry_is_one_write);
	RUN(test_io_uring_kiocb_reused_is_a_new_write);
	tracker__free(T);
	return TEST_EXIT();
}
