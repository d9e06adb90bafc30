// SPDX-License-Identifier: GPL-2.0
/*
 * Inferred completions: a bio or request reused, a bio gone, an fsync or msync that returned
 * prove a completion whose record never came; an inference never makes a split.
 */
#include "report.h"
#include "fixture.h"
#include "test.h"

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

int main(void)
{
	RUN(test_fsync_infers_a_lost_completion);
	RUN(test_fsync_infers_only_what_it_waited_for);
	RUN(test_msync_infers_only_its_own_bios);
	RUN(test_completion_inferred_from_bio_reuse);
	RUN(test_completion_inferred_from_request_reuse);
	RUN(test_requeue_infers_nothing);
	RUN(test_stale_bio_on_another_device_is_not_a_split);
	RUN(test_bio_gone_infers_the_completion);
	RUN(test_inference_never_splits);
	RUN(test_bio_reissued_on_its_reused_request);
	tracker__free(T);
	return TEST_EXIT();
}
