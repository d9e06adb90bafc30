// SPDX-License-Identifier: GPL-2.0
/*
 * RWF_ATOMIC: REQ_ATOMIC requests, XFS's CoW remap, refused writes and the kernel's rules,
 * the device's atomic limits (none of which the test machines can produce).
 */
#include "devfacts.h"
#include "fixture.h"
#include "test.h"

static bool atomic_in_two_requests(bool cow)
{
	wbegin(1, 0, 16 * K, TW_O_DIRECT, TW_RWF_ATOMIC);
	if (cow) {
		struct tw_cow_ev e = { .h = HDR(TW_EV_ATOMIC_COW, 1), .ino = INO, .dev = DEV,
				       .off = 0, .count = 16 * K };

		e.h.size = sizeof(e);
		feed(&e);
	}
	block_split(16 * K, 8 * K);
	wend(1, 16 * K);
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

/* A 16 KiB REQ_ATOMIC request rqp of bio at sector, issued and completed. */
static void atomic_request(uint64_t rqp, uint64_t bio, uint64_t sector)
{
	struct tw_rq_ev r = { .h = HDR(TW_EV_RQ_ISSUE, 0), .rq = rqp, .bio = bio, .dev = DEV,
			      .sector = sector, .rq_bytes = 16 * K, .bio_bytes = 16 * K,
			      .flags = TW_RQ_ATOMIC };

	r.h.size = sizeof(r);
	feed(&r);
	r.h.type = TW_EV_RQ_COMPLETE;
	feed(&r);
}

/* The syscall-level rules, each broken once by a write like w: each refused with EINVAL. */
static void break_each_atomic_rule(struct tw_write_ev *w)
{
	w->pos = 0, w->count = 12 * K;			/* not a power of two */
	feed(w);
	wend(1, -22);
	w->count = 128 * K;				/* above the max */
	feed(w);
	wend(1, -22);
	w->pos = 8 * K, w->count = 16 * K;		/* unaligned */
	feed(w);
	wend(1, -22);
	w->pos = 0, w->iovcnt = 2;			/* two segments */
	feed(w);
	wend(1, -22);
}

/*
 * A device with atomic write limits (none exists on the test machines): REQ_ATOMIC requests
 * within them give `atomic`; one crossing the boundary is counted and is no promise. Fed
 * through a record file and replay_file(), the path `tornwatch --replay` takes.
 */
static bool test_device_atomic_limits_through_replay(void)
{
	struct tw_device_ev d = { .h = HDR(TW_EV_DEVICE, 0), .dev = DEV, .atomic_unit_min = 4096,
				  .atomic_unit_max = 65536, .atomic_boundary = 16384,
				  .atomic_max = 65536 };
	struct tw_atomic_limits_ev l = { .h = HDR(TW_EV_ATOMIC_LIMITS, 0), .ino = INO, .dev = DEV,
					 .unit_min = 4096, .unit_max = 65536, .segments_max = 1 };
	struct tw_write_ev w = { .h = HDR(TW_EV_WRITE_BEGIN, 1), .ino = INO, .dev = DEV,
				 .f_flags = TW_O_DIRECT, .rwf = TW_RWF_ATOMIC, .iovcnt = 1 };
	struct tw_summary again;
	struct tracker *t2;

	if (!record_start(0))
		return false;
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
	atomic_request(0xa1, 0xb1, 32);
	wend(1, 16 * K);
	/* 16 KiB whose request starts at 8 KiB: crosses the 16 KiB boundary */
	w.pos = 64 * K;
	feed(&w);
	bioq(0xb2, TW_BIO_ATOMIC | TW_BIO_DIO, 1, (uint64_t[]){ 64 * K, 16 * K });
	atomic_request(0xa2, 0xb2, 16);
	wend(1, 16 * K);
	break_each_atomic_rule(&w);

	if (!record_replay(100, &t2, &again, NULL, NULL))
		return false;
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

int main(void)
{
	RUN(test_req_atomic);
	RUN(test_atomic_split_without_cow);
	RUN(test_atomic_cow);
	RUN(test_refused_atomic);
	RUN(test_device_atomic_limits_through_replay);
	tracker__free(T);
	return TEST_EXIT();
}
