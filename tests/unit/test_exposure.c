// SPDX-License-Identifier: GPL-2.0
/*
 * Torn exposure of units (exposure.c, durable.c): each unit's exposed interval from synthetic
 * records with exact times, per run, mode and file, the sweep bounded, and the reports.
 */
#include <stdlib.h>
#include "devfacts.h"
#include "report.h"
#include "fixture.h"
#include "test.h"

#define INO2 13
#define B 5000000000ULL	/* the first record's ktime: 5 s after boot */
#define US 1000ULL

static struct tw_unit_event EV[16];
static int nev;

static void capture(void *ctx, const struct tw_unit_event *ev)
{
	if (nev < 16)
		EV[nev++] = *ev;
}

/* A tracker that tells every verdict (--events=all) into EV. */
static void start_events(uint64_t unit)
{
	start(unit, 1000);
	tracker__set_events(T, true, capture, NULL);
	nev = 0;
}

/* The next record comes at B + us microseconds. */
static void at(uint64_t us)
{
	clock_at(B + us * US);
}

static void device(uint32_t write_cache, uint32_t physical)
{
	at(0);
	device_facts(0, physical, write_cache, 0);
}

static void wbegin_at(uint64_t us, uint32_t tid, uint64_t ino, uint64_t pos, uint64_t count,
		      uint32_t f_flags)
{
	at(us);
	write_begin(tid, ino, pos, count, f_flags, 0);
}

static void wend_at(uint64_t us, uint32_t tid, int64_t ret)
{
	at(us);
	wend(tid, ret);
}

static void bio_at(uint64_t us, uint64_t bio, uint64_t ino, uint64_t off, uint64_t len)
{
	at(us);
	bio_of(bio, ino, off, len);
}

static void rq_at(uint64_t us, uint32_t type, uint64_t rqp, uint64_t bio, uint32_t bytes)
{
	at(us);
	rq(type, rqp, bio, bytes, 0);
}

static void flush_at(uint64_t us, uint64_t rqp, uint32_t is_done)
{
	at(us);
	flush_ev(rqp, is_done);
}

/* The last record: the trace's end (live: the STATS record at the stop). */
static void end_at(uint64_t us)
{
	struct tw_stats_ev e = { .h = HDR(TW_EV_STATS, 0) };

	e.h.size = sizeof(e);
	at(us);
	feed(&e);
}

/* An 8 KiB buffered write at 0 that returned, carried by two bios in two requests. */
static void split_unit(void)
{
	wbegin_at(0, 1, INO, 0, 8 * K, 0);
	wend_at(1000, 1, 8 * K);
	bio_at(2000, 0xb1, INO, 0, 4 * K);
	bio_at(2100, 0xb2, INO, 4 * K, 4 * K);
	rq_at(3000, TW_EV_RQ_ISSUE, 0xa1, 0xb1, 4 * K);
	rq_at(3500, TW_EV_RQ_ISSUE, 0xa2, 0xb2, 4 * K);
	rq_at(5000, TW_EV_RQ_COMPLETE, 0xa1, 0xb1, 4 * K);
	rq_at(6000, TW_EV_RQ_COMPLETE, 0xa2, 0xb2, 4 * K);
}

/* An 8 KiB buffered write at pos of ino that returned, in one request issued at us. */
static void whole_unit(uint64_t us, uint64_t ino, uint64_t pos, uint64_t bioid, uint64_t rqp)
{
	wbegin_at(us - 500, 2, ino, pos, 8 * K, 0);
	wend_at(us - 400, 2, 8 * K);
	bio_at(us - 100, bioid, ino, pos, 8 * K);
	rq_at(us, TW_EV_RQ_ISSUE, rqp, bioid, 8 * K);
	rq_at(us + 1000, TW_EV_RQ_COMPLETE, rqp, bioid, 8 * K);
}

/* Split on a volatile cache: from its first issue until the flush issued after it completed. */
static bool test_split_exposed_until_the_flush(void)
{
	start_events(8 * K);
	device(TW_WC_BACK, 512);
	split_unit();
	flush_at(5500, 0xf0, 0);	/* issued before the unit completed: persists nothing of it */
	flush_at(6500, 0xf0, 1);
	ASSERT_EQ(nev, 0, "its line waits for a flush");
	flush_at(7000, 0xf1, 0);
	flush_at(9000, 0xf1, 1);
	ASSERT_EQ(nev, 1, "told at the flush");
	end_at(10000);
	finish();
	ASSERT_EQ(EV[0].verdict, TW_V_SPLIT, "split");
	ASSERT_EQ(EV[0].write_ns, B, "write_ns: the write's entry");
	ASSERT_EQ(EV[0].issue_ns, B + 3000 * US, "issue_ns: the first request");
	ASSERT_EQ(EV[0].complete_ns, B + 6000 * US, "complete_ns: the last completion");
	ASSERT_EQ(EV[0].persisted_ns, B + 9000 * US, "persisted_ns: the second flush");
	ASSERT_EQ(EV[0].exposed_from_ns, B + 3000 * US, "exposed from the first issue");
	ASSERT_EQ(EV[0].exposed_until_ns, B + 9000 * US, "until persisted");
	ASSERT_EQ(S.t0_ns, B, "t0_ns");
	ASSERT_EQ(S.end_ns, B + 10000 * US, "end_ns");
	ASSERT_EQ(S.exposure.units, 1, "units");
	ASSERT_EQ(S.exposure.unit_ns, 6000 * US, "unit_ns");
	ASSERT_EQ(S.exposure.max_concurrent, 1, "max_concurrent");
	ASSERT_EQ((int)(tw_exposure_per_cut(&S.exposure, &S) * 1000), 600, "per cut: 6 of 10 ms");
	ASSERT_EQ(S.exposure_inexact, 0, "exact");
	return true;
}

/* Write through: completion is persistence; the exposure ends there. */
static bool test_split_on_write_through_ends_at_completion(void)
{
	start_events(8 * K);
	device(TW_WC_THROUGH, 512);
	split_unit();
	ASSERT_EQ(nev, 1, "told at once");
	end_at(10000);
	finish();
	ASSERT_EQ(EV[0].persisted_ns, B + 6000 * US, "persisted at its completion");
	ASSERT_EQ(EV[0].exposed_from_ns, B + 3000 * US, "from the first issue");
	ASSERT_EQ(EV[0].exposed_until_ns, B + 6000 * US, "until the last completion");
	ASSERT_EQ(S.exposure.unit_ns, 3000 * US, "unit_ns");
	ASSERT_EQ(S.exposure.max_concurrent, 1, "max_concurrent");
	return true;
}

/* One request larger than the power-fail atomic size: exposed during it. */
static bool test_whole_beyond_atomic_size_exposed_during_its_request(void)
{
	start_events(8 * K);
	device(TW_WC_THROUGH, 512);
	whole_unit(3000, INO, 0, 0xb1, 0xa1);
	end_at(10000);
	finish();
	ASSERT_EQ(S.c.verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(S.c.whole_beyond_atomic, 1, "beyond 512");
	ASSERT_EQ(EV[0].exposed_from_ns, B + 3000 * US, "from its issue");
	ASSERT_EQ(EV[0].exposed_until_ns, B + 4000 * US, "until its completion");
	ASSERT_EQ(S.exposure.unit_ns, 1000 * US, "unit_ns");
	ASSERT_EQ(S.exposure.units, 1, "units");
	return true;
}

/* Within the atomic size: a power cut may lose it, never tear it. Persisted still told. */
static bool test_whole_within_atomic_size_never_exposed(void)
{
	start_events(8 * K);
	tracker__set_atomic_size(T, DEV, 8 * K);
	device(TW_WC_BACK, 512);
	whole_unit(3000, INO, 0, 0xb1, 0xa1);
	flush_at(5000, 0xf1, 0);
	flush_at(6000, 0xf1, 1);
	end_at(10000);
	finish();
	ASSERT_EQ(S.c.whole_beyond_atomic, 0, "fits 8 KiB");
	ASSERT_EQ(nev, 1, "one line");
	ASSERT_EQ(EV[0].exposed_from_ns, 0, "never exposed");
	ASSERT_EQ(EV[0].exposed_until_ns, 0, "never exposed");
	ASSERT_EQ(EV[0].persisted_ns, B + 6000 * US, "persisted at the flush");
	ASSERT_EQ(S.exposure.units, 0, "units");
	ASSERT_EQ(S.exposure.unit_ns, 0, "unit_ns");
	ASSERT_EQ(S.exposure.max_concurrent, 0, "max_concurrent");
	return true;
}

/* No facts of the device: nothing proves one request safe, and a flush is needed. */
static bool test_unknown_atomic_size_is_exposed(void)
{
	start_events(8 * K);
	whole_unit(3000, INO, 0, 0xb1, 0xa1);
	flush_at(5000, 0xf1, 0);
	flush_at(6000, 0xf1, 1);
	end_at(10000);
	finish();
	ASSERT_EQ(S.c.whole_atomic_unknown, 1, "not judged");
	ASSERT_EQ(EV[0].exposed_from_ns, B + 3000 * US, "exposed from its issue");
	ASSERT_EQ(EV[0].exposed_until_ns, B + 6000 * US, "until the flush");
	ASSERT_EQ(S.exposure.unit_ns, 3000 * US, "unit_ns");
	return true;
}

/* Never persisted: exposed until the end of the trace; its line comes at the end. */
static bool test_never_persisted_exposed_until_the_end(void)
{
	start_events(8 * K);
	device(TW_WC_BACK, 512);
	split_unit();
	end_at(10000);
	wend_at(9990, 1, 8 * K);	/* a record late by 10 us: the end is the latest time */
	ASSERT_EQ(nev, 0, "no line before the end");
	finish();
	ASSERT_EQ(S.end_ns, B + 10000 * US, "end_ns: the latest record");
	ASSERT_EQ(nev, 1, "its line at the end");
	ASSERT_EQ(EV[0].persisted_ns, 0, "not persisted");
	ASSERT_EQ(EV[0].exposed_from_ns, B + 3000 * US, "exposed from its first issue");
	ASSERT_EQ(EV[0].exposed_until_ns, 0, "still exposed at the end");
	ASSERT_EQ(S.exposure.unit_ns, 7000 * US, "unit_ns: to the end");
	ASSERT_EQ(S.exposure.units, 1, "units");
	return true;
}

/* Rewritten before writeback: never on the device, not exposed. Pending: by what left. */
static bool test_superseded_and_pending(void)
{
	start_events(8 * K);
	device(TW_WC_THROUGH, 512);
	wbegin_at(100, 1, INO, 0, 8 * K, 0);
	wend_at(200, 1, 8 * K);
	wbegin_at(300, 1, INO, 0, 8 * K, 0);	/* supersedes the first */
	wend_at(400, 1, 8 * K);
	wbegin_at(500, 1, INO, 8 * K, 16 * K, 0);	/* two units: one in flight, one cached */
	wend_at(600, 1, 16 * K);
	bio_at(700, 0xb1, INO, 8 * K, 8 * K);
	rq_at(800, TW_EV_RQ_ISSUE, 0xa1, 0xb1, 8 * K);
	end_at(10000);
	finish();
	ASSERT_EQ(S.c.verdict[TW_V_SUPERSEDED], 1, "superseded");
	ASSERT_EQ(S.c.pending_inflight, 1, "in flight");
	ASSERT_EQ(S.c.pending_cached, 2, "cached");
	ASSERT_EQ(nev, 4, "four lines");
	ASSERT_EQ(EV[0].verdict, TW_V_SUPERSEDED, "first: superseded");
	ASSERT_EQ(EV[0].exposed_from_ns, 0, "superseded: not exposed");
	ASSERT_EQ(EV[0].write_ns, B + 100 * US, "its write");
	ASSERT_EQ(EV[0].issue_ns, 0, "never issued");
	ASSERT_EQ(EV[0].complete_ns, 0, "never completed");
	for (int i = 1; i < nev; i++) {
		bool inflight = EV[i].off == 8 * K;

		ASSERT_EQ(EV[i].verdict, TW_V_PENDING, "pending");
		ASSERT_EQ(EV[i].exposed_from_ns, inflight ? B + 800 * US : 0, "from its issue");
		ASSERT_EQ(EV[i].exposed_until_ns, 0, "until the end");
	}
	ASSERT_EQ(S.exposure.units, 1, "the one in flight");
	ASSERT_EQ(S.exposure.unit_ns, 9200 * US, "from its issue to the end");
	return true;
}

/*
 * Three units at once: a buffered split unit of file INO [3000, 6000) and a direct 16 KiB
 * write of INO2 whose two units share one request [4000, 5000). Per file, per mode, exact.
 */
static bool test_max_concurrent_per_file_and_mode(void)
{
	const struct tw_file_stat *a = NULL, *b = NULL;

	start_events(8 * K);
	device(TW_WC_THROUGH, 512);
	split_unit();
	wbegin_at(3600, 3, INO2, 0, 16 * K, TW_O_DIRECT);
	bio_at(3700, 0xb3, INO2, 0, 16 * K);
	rq_at(4000, TW_EV_RQ_ISSUE, 0xa3, 0xb3, 16 * K);
	rq_at(5000, TW_EV_RQ_COMPLETE, 0xa3, 0xb3, 16 * K);
	wend_at(5100, 3, 16 * K);
	whole_unit(8000, INO, 8 * K, 0xb4, 0xa4);	/* alone: [8000, 9000) */
	end_at(10000);
	finish();
	for (size_t i = 0; i < S.nr_files; i++)
		*(S.files[i]->ino == INO ? &a : &b) = S.files[i];
	ASSERT_TRUE(a && b, "two files");
	ASSERT_EQ(S.exposure.units, 4, "units");
	ASSERT_EQ(S.exposure.unit_ns, (3000 + 1000 + 1000 + 1000) * US, "unit_ns");
	ASSERT_EQ(S.exposure.max_concurrent, 3, "at 4000..5000: the split and both direct");
	ASSERT_EQ(a->exposure.units, 2, "INO: units");
	ASSERT_EQ(a->exposure.unit_ns, 4000 * US, "INO: unit_ns");
	ASSERT_EQ(a->exposure.max_concurrent, 1, "INO: one at a time");
	ASSERT_EQ(b->exposure.units, 2, "INO2: units");
	ASSERT_EQ(b->exposure.unit_ns, 2000 * US, "INO2: unit_ns");
	ASSERT_EQ(b->exposure.max_concurrent, 2, "INO2: both at once");
	ASSERT_EQ(S.modes[TW_M_BUFFERED].exposure.units, 2, "buffered: units");
	ASSERT_EQ(S.modes[TW_M_BUFFERED].exposure.max_concurrent, 1, "buffered: max");
	ASSERT_EQ(S.modes[TW_M_DIRECT].exposure.units, 2, "direct: units");
	ASSERT_EQ(S.modes[TW_M_DIRECT].exposure.unit_ns, 2000 * US, "direct: unit_ns");
	ASSERT_EQ(S.modes[TW_M_DIRECT].exposure.max_concurrent, 2, "direct: max");
	ASSERT_EQ(S.modes[TW_M_MMAP].exposure.units, 0, "mmap: none");
	return true;
}

/*
 * A long run of split units, one after the other, each exposed 2 ms: the sweep keeps the
 * events of about the last 100 ms (the records' reordering bound), not the run's.
 */
static bool test_long_run_keeps_bounded_events(void)
{
	const uint64_t n = 20000;

	start_events(8 * K);
	device(TW_WC_THROUGH, 512);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = 1000 + i * 3000, off = (i % 64) * 8 * K;

		wbegin_at(t0, 1, INO, off, 8 * K, 0);
		wend_at(t0 + 10, 1, 8 * K);
		bio_at(t0 + 20, 0xb1, INO, off, 4 * K);
		bio_at(t0 + 30, 0xb2, INO, off + 4 * K, 4 * K);
		rq_at(t0 + 100, TW_EV_RQ_ISSUE, 0xa1, 0xb1, 4 * K);
		rq_at(t0 + 200, TW_EV_RQ_ISSUE, 0xa2, 0xb2, 4 * K);
		rq_at(t0 + 2000, TW_EV_RQ_COMPLETE, 0xa1, 0xb1, 4 * K);
		rq_at(t0 + 2100, TW_EV_RQ_COMPLETE, 0xa2, 0xb2, 4 * K);
	}
	finish();
	ASSERT_EQ(S.c.verdict[TW_V_SPLIT], n, "split");
	ASSERT_EQ(S.exposure.units, n, "units");
	ASSERT_EQ(S.exposure.unit_ns, n * 2000 * US, "unit_ns");
	ASSERT_EQ(S.exposure.max_concurrent, 1, "one at a time");
	ASSERT_TRUE(tracker__peak_exposure_events(T) < 2 * 4096 + 200, "events kept, bounded");
	ASSERT_EQ(S.exposure_inexact, 0, "exact");
	return true;
}

/*
 * A split unit whose last piece stays in flight 8 s, while 3000 short ones come and go (more
 * events than a sweep waits for): its exposure is known only at its completion, far behind
 * the records, so the sweep must not pass its first bio before then.
 */
static bool test_unit_long_in_flight_holds_the_sweep(void)
{
	start_events(8 * K);
	device(TW_WC_THROUGH, 512);
	wbegin_at(500, 1, INO, 0, 8 * K, 0);
	wend_at(600, 1, 8 * K);
	bio_at(900, 0xb1, INO, 0, 4 * K);
	bio_at(950, 0xb2, INO, 4 * K, 4 * K);
	rq_at(1000, TW_EV_RQ_ISSUE, 0xa1, 0xb1, 4 * K);
	rq_at(1100, TW_EV_RQ_ISSUE, 0xa2, 0xb2, 4 * K);
	rq_at(2000, TW_EV_RQ_COMPLETE, 0xa1, 0xb1, 4 * K);
	for (uint64_t i = 0; i < 3000; i++)	/* [t + 500, t + 1500), t = 10 ms .. 6008 ms */
		whole_unit(10000 + i * 2000 + 500, INO2, (i % 8) * 8 * K, 0xc1, 0xd1);
	rq_at(8001000, TW_EV_RQ_COMPLETE, 0xa2, 0xb2, 4 * K);
	end_at(9000000);
	finish();
	ASSERT_EQ(S.c.verdict[TW_V_SPLIT], 1, "split");
	ASSERT_EQ(S.exposure.units, 3001, "units");
	ASSERT_EQ(S.exposure.unit_ns, (8000000 + 3000 * 1000) * US, "unit_ns");
	ASSERT_EQ(S.exposure.max_concurrent, 2, "the long one and each short one");
	ASSERT_EQ(S.exposure_inexact, 0, "exact");
	return true;
}

/*
 * A bio record without a time (a fuzzed or foreign record) leaves the unit's first-bio time 0:
 * its next bio must not put it on the in-flight list again (a freed unit stayed linked: found
 * by the replay fuzzer, ASan's heap-use-after-free at the next unit's first bio).
 */
static bool test_untimed_bio_joins_in_flight_once(void)
{
	struct tw_bio_ev e = { .bio = 0xb1, .dev = DEV, .opf = 1, .size = 4 * K, .nr_ext = 1 };

	start_events(8 * K);
	device(TW_WC_THROUGH, 512);
	wbegin_at(100, 1, INO, 0, 8 * K, 0);
	wend_at(200, 1, 8 * K);
	e.ext[0] = (struct tw_ext){ .ino = INO, .dev = DEV, .off = 0, .len = 4 * K };
	e.h = (struct tw_hdr){ .ts_ns = 0, .type = TW_EV_BIO_QUEUE, .size = sizeof(e) };
	tracker__feed(T, &e, sizeof(e));
	bio_at(300, 0xb2, INO, 4 * K, 4 * K);
	rq_at(400, TW_EV_RQ_ISSUE, 0xa1, 0xb1, 4 * K);
	rq_at(500, TW_EV_RQ_ISSUE, 0xa2, 0xb2, 4 * K);
	rq_at(600, TW_EV_RQ_COMPLETE, 0xa1, 0xb1, 4 * K);
	rq_at(700, TW_EV_RQ_COMPLETE, 0xa2, 0xb2, 4 * K);
	whole_unit(2000, INO, 8 * K, 0xb3, 0xa3);	/* its first bio: the in-flight list again */
	end_at(10000);
	finish();
	ASSERT_EQ(S.c.verdict[TW_V_SPLIT], 1, "split");
	ASSERT_EQ(S.exposure.units, 2, "units");
	ASSERT_EQ(S.exposure.unit_ns, (300 + 1000) * US, "unit_ns");
	return true;
}

/* A replay of the recorded stream says what the live run said. */
static bool test_replay_gives_the_same_exposure(void)
{
	struct tw_summary again;
	struct tracker *t2;

	if (!record_start(8 * K))
		return false;
	start_events(8 * K);
	device(TW_WC_BACK, 512);
	split_unit();
	whole_unit(8000, INO, 8 * K, 0xb4, 0xa4);
	flush_at(7000, 0xf1, 0);
	flush_at(9500, 0xf1, 1);
	end_at(10000);
	finish();

	if (!record_replay(1000, &t2, &again, NULL, NULL))
		return false;
	ASSERT_EQ(S.exposure.units, 2, "live: units");
	ASSERT_EQ(S.exposure.unit_ns, (9500 - 3000 + 10000 - 8000) * US, "live: unit_ns");
	ASSERT_TRUE(!memcmp(&S.exposure, &again.exposure, sizeof(S.exposure)), "same exposure");
	ASSERT_EQ(again.t0_ns, S.t0_ns, "same t0");
	ASSERT_EQ(again.end_ns, S.end_ns, "same end");
	ASSERT_TRUE(!memcmp(&S.modes[TW_M_BUFFERED].exposure, &again.modes[TW_M_BUFFERED].exposure,
			    sizeof(S.exposure)), "same per mode");
	ASSERT_TRUE(!memcmp(&S.files[0]->exposure, &again.files[0]->exposure, sizeof(S.exposure)),
		    "same per file");
	tracker__free(t2);
	return true;
}

/* --fail-on exposed: not by default; fails with the offenders named. */
static bool test_fail_on_exposed(void)
{
	struct tw_check c = {};
	char err[256], *buf = NULL;
	size_t len = 0;
	FILE *f;

	ASSERT_EQ(tw_parse_fail_on("exposed", &c.fail_on, err, sizeof(err)), 0, "parsed");
	ASSERT_EQ(c.fail_on, 1u << TW_F_EXPOSED, "its bit");
	ASSERT_TRUE(!(TW_DEFAULT_FAIL_ON & (1u << TW_F_EXPOSED)), "not by default");
	start_events(8 * K);
	device(TW_WC_THROUGH, 512);
	split_unit();
	end_at(10000);
	finish();
	check_evaluate(&c, &S);
	ASSERT_TRUE(!c.passed, "fails");
	ASSERT_EQ(c.failures[TW_F_EXPOSED], 1, "one exposed");
	f = open_memstream(&buf, &len);
	report_check_lines(f, &S, &c);
	fclose(f);
	ASSERT_TRUE(strstr(buf, "check failed: exposed 1: [7:0]?@0+8192") ||
		    strstr(buf, "check failed: exposed 1: ?@0+8192"), buf);
	free(buf);

	start_events(8 * K);
	tracker__set_atomic_size(T, DEV, 8 * K);
	device(TW_WC_THROUGH, 512);
	whole_unit(3000, INO, 0, 0xb1, 0xa1);
	finish();
	check_evaluate(&c, &S);
	ASSERT_TRUE(c.passed, "a whole unit within the atomic size passes");
	return true;
}

/* Every writer says it: JSON keys, the --events object's raw times, Prometheus, text. */
static bool test_reports_carry_the_exposure(void)
{
	struct tw_report_meta m = { .source = "replay", .kernel = "k", .duration_s = -1,
				    .top_files = 10 };
	const char *json_want[] = {
		"\"t0_ns\": 5000000000,\n  \"end_ns\": 5010000000,",
		"\"exposure\": {\"units\": 1, \"unit_seconds\": 0.006000000, "
		"\"expected_torn_per_cut\": 0.6, \"max_concurrent\": 1, \"inexact\": 0},",
		"\"buffered\": {\"writes\": 1, \"units\": 1,",
		"\"exposure\": {\"units\": 0, \"unit_seconds\": 0.000000000, "
		"\"expected_torn_per_cut\": 0, \"max_concurrent\": 0},\n      \"hist\"",
		"\"split\": 1,\n      \"atomic_refused\": 0,\n      \"exposure\": {\"units\": 1, "
		"\"unit_seconds\": 0.006000000, "
		"\"expected_torn_per_cut\": 0.6, \"max_concurrent\": 1},",
	};
	const char *prom_want[] = {
		"tornwatch_exposure_units_total{mode=\"buffered\"} 1\n",
		"tornwatch_exposure_unit_seconds_total{mode=\"buffered\"} 0.006000000\n",
		"tornwatch_exposure_expected_torn_per_cut{mode=\"buffered\"} 0.6\n",
		"tornwatch_exposure_max_concurrent_units{mode=\"direct\"} 0\n",
		"tornwatch_exposure_run_max_concurrent_units 1\n",
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	start_events(8 * K);
	device(TW_WC_BACK, 512);
	split_unit();
	flush_at(7000, 0xf1, 0);
	flush_at(9000, 0xf1, 1);
	end_at(10000);
	finish();
	f = open_memstream(&buf, &len);
	report_json(f, &S, &m);
	fclose(f);
	for (size_t i = 0; i < sizeof(json_want) / sizeof(json_want[0]); i++)
		ASSERT_TRUE(strstr(buf, json_want[i]) != NULL, json_want[i]);
	free(buf);

	f = open_memstream(&buf, &len);
	report_event_json(f, &EV[0], TW_JSON_SCHEMA);
	fclose(f);
	ASSERT_TRUE(strstr(buf, "\"syscall_us\": 1000.000, \"end_to_end_us\": 6000.000, "
			   "\"write_ns\": 5000000000, \"issue_ns\": 5003000000, \"complete_ns\": "
			   "5006000000, \"persisted_ns\": 5009000000, \"exposed_from_ns\": "
			   "5003000000, \"exposed_until_ns\": 5009000000}\n") != NULL, buf);
	free(buf);
	EV[0].persisted_ns = EV[0].exposed_until_ns = 0;	/* never persisted */
	f = open_memstream(&buf, &len);
	report_event_json(f, &EV[0], TW_JSON_SCHEMA);
	report_event_text(f, &EV[0]);
	fclose(f);
	ASSERT_TRUE(strstr(buf, "\"persisted_ns\": null, \"exposed_from_ns\": 5003000000, "
			   "\"exposed_until_ns\": null}") != NULL, buf);
	ASSERT_TRUE(strstr(buf, " split         2    2    1000.0    6000.0      to-end ?\n"), buf);
	free(buf);

	f = open_memstream(&buf, &len);
	report_prom(f, &S, 0);
	fclose(f);
	for (size_t i = 0; i < sizeof(prom_want) / sizeof(prom_want[0]); i++)
		ASSERT_TRUE(strstr(buf, prom_want[i]) != NULL, prom_want[i]);
	free(buf);

	f = open_memstream(&buf, &len);
	report_text(f, &S, &m);
	fclose(f);
	ASSERT_TRUE(strstr(buf, "EXPOSURE (while exposed a power cut can tear the unit; 0.010 s "
			   "traced)\n") != NULL, "text: the section");
	ASSERT_TRUE(strstr(buf, "         1       0.006000     0.600000        1  all\n") != NULL,
		    "text: the run's row");
	ASSERT_TRUE(strstr(buf, "         1       0.006000     0.600000        1  mode buffered\n"),
		    "text: the mode's row");
	free(buf);
	return true;
}

int main(void)
{
	RUN(test_split_exposed_until_the_flush);
	RUN(test_split_on_write_through_ends_at_completion);
	RUN(test_whole_beyond_atomic_size_exposed_during_its_request);
	RUN(test_whole_within_atomic_size_never_exposed);
	RUN(test_unknown_atomic_size_is_exposed);
	RUN(test_never_persisted_exposed_until_the_end);
	RUN(test_superseded_and_pending);
	RUN(test_max_concurrent_per_file_and_mode);
	RUN(test_long_run_keeps_bounded_events);
	RUN(test_unit_long_in_flight_holds_the_sweep);
	RUN(test_untimed_bio_joins_in_flight_once);
	RUN(test_replay_gives_the_same_exposure);
	RUN(test_fail_on_exposed);
	RUN(test_reports_carry_the_exposure);
	tracker__free(T);
	return TEST_EXIT();
}
