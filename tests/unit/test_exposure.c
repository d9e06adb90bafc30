// SPDX-License-Identifier: GPL-2.0
/*
 * Torn exposure: the sweep's maximum against a brute-force count on random intervals that
 * arrive out of order, and each unit's exposed interval from synthetic records with exact times.
 */
#include <stdlib.h>
#include <unistd.h>
#include "devfacts.h"
#include "expo.h"
#include "record.h"
#include "report.h"
#include "tracker.h"
#include "test.h"

/* ---- the sweep (user/exposure.c) ---- */

/* Like ASSERT_EQ, for a helper that counts failures instead of returning false. */
#define CHECK_EQ(actual, expected, name)                                                           \
	do {                                                                                       \
		long long __a = (long long)(actual), __e = (long long)(expected);                  \
		if (__a != __e) {                                                                  \
			fprintf(stderr, "    %s:%d: %s: expected %lld, got %lld\n", __FILE__,          \
				__LINE__, name, __e, __a);                                         \
			bad = 1;                                                                   \
		}                                                                                  \
	} while (0)

#define NIV 300
#define OPEN UINT64_MAX	/* never ends: open at the finish */

struct iv {
	uint64_t from, until;	/* [from, until) */
	uint64_t known;		/* when its begin is reported (its verdict): from <= known */
	int scope;		/* 1 or 2: its second scope, besides scope 0 */
	int state;		/* 0: not reported, 1: begun, 2: ended */
};

static uint64_t rnd(uint64_t n)
{
	return (uint64_t)rand() % n;
}

/* The most intervals of scope (-1: all) open at one moment, trying every start. */
static uint64_t brute_max(const struct iv *v, int n, int scope)
{
	uint64_t best = 0;

	for (int i = 0; i < n; i++) {
		uint64_t t = v[i].from, c = 0;

		for (int j = 0; j < n; j++)
			if ((scope < 0 || v[j].scope == scope) && v[j].from <= t && t < v[j].until)
				c++;
		if (c > best)
			best = c;
	}
	return best;
}

/*
 * Random intervals on [0, 1000): some of zero length, some sharing ends and starts, some
 * never ended. A clock runs through the timeline; an interval's begin is reported at its
 * "known" time (its start lies in the past then: out of order), its end when the clock
 * passes it. The sweep's mark is what the tracker gives it: the clock, or the earliest start
 * of an interval under way but not reported yet, whichever is earlier.
 */
static void make_intervals(struct iv *v, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t len = rnd(4) ? rnd(60) : rnd(400);

		v[i].from = rnd(1000);
		v[i].until = rnd(10) ? v[i].from + len : OPEN;
		v[i].known = v[i].from + rnd(v[i].until == OPEN ? 100 : len + 1);
		v[i].scope = 1 + (int)rnd(2);
		v[i].state = 0;
	}
}

static uint64_t safe_mark(const struct iv *v, int n, uint64_t now)
{
	uint64_t mark = now;

	for (int i = 0; i < n; i++)
		if (!v[i].state && v[i].from <= now && v[i].from < mark)
			mark = v[i].from;
	return mark;
}

/*
 * Feed seed's intervals, sweeping at random moments to the safe mark (or, unsafe, to the
 * clock alone); 0 when every maximum and sum matches the brute force, else 1. *inexact: what
 * the sweep counted as come too late.
 */
static int sweep_run(unsigned int seed, bool unsafe, uint64_t *inexact)
{
	struct expo_scope sc[3] = {};
	struct iv v[NIV];
	struct expo *x = expo__new();
	uint64_t sum[3] = {}, end = 1500;
	char name[64];
	int bad = 0;

	srand(seed);
	make_intervals(v, NIV);
	if (!x)
		return 1;
	for (uint64_t now = 0; now <= end; now++) {
		for (int i = 0; i < NIV; i++) {
			struct expo_scope *s[EXPO_SCOPES] = { &sc[0], &sc[v[i].scope], NULL };

			if (v[i].state == 0 && v[i].known <= now) {
				expo__begin(x, s, v[i].from);
				v[i].state = 1;
			}
			if (v[i].state == 1 && v[i].until <= now) {
				expo__end(x, s, v[i].from, v[i].until);
				v[i].state = 2;
			}
		}
		if (!rnd(7))
			expo__sweep(x, unsafe ? now : safe_mark(v, NIV, now));
	}
	expo__sweep(x, UINT64_MAX);
	for (int i = 0; i < NIV; i++) {
		uint64_t len = (v[i].until == OPEN ? end : v[i].until) - v[i].from;

		sum[0] += len;
		sum[v[i].scope] += len;
	}
	*inexact = expo__inexact(x);
	if (unsafe) {
		bad = expo__max(x, &sc[0]) != brute_max(v, NIV, -1);
		goto out;
	}
	snprintf(name, sizeof(name), "seed %u: max of all", seed);
	CHECK_EQ(expo__max(x, &sc[0]), brute_max(v, NIV, -1), name);
	snprintf(name, sizeof(name), "seed %u: max of scope 1", seed);
	CHECK_EQ(expo__max(x, &sc[1]), brute_max(v, NIV, 1), name);
	snprintf(name, sizeof(name), "seed %u: max of scope 2", seed);
	CHECK_EQ(expo__max(x, &sc[2]), brute_max(v, NIV, 2), name);
	snprintf(name, sizeof(name), "seed %u: unit ns", seed);
	CHECK_EQ(expo__unit_ns(&sc[0], end), sum[0], name);
	CHECK_EQ(expo__unit_ns(&sc[1], end) + expo__unit_ns(&sc[2], end), sum[0], name);
	CHECK_EQ(sc[0].units, NIV, "units");
	CHECK_EQ(expo__pending(x), 0, "all swept at the finish");
out:
	expo__free(x);
	return bad;
}

static bool test_sweep_max_equals_brute_force(void)
{
	uint64_t inexact;

	for (unsigned int seed = 1; seed <= 200; seed++) {
		ASSERT_EQ(sweep_run(seed, false, &inexact), 0, "sweep to the safe mark");
		ASSERT_EQ(inexact, 0, "every event came in time");
	}
	return true;
}

/* The data has intervals that arrive late: sweeping to the clock alone gets maxima wrong. */
static bool test_sweep_to_the_clock_alone_is_wrong(void)
{
	uint64_t inexact, late = 0;
	int wrong = 0;

	for (unsigned int seed = 1; seed <= 200; seed++) {
		wrong += sweep_run(seed, true, &inexact);
		late += inexact;
	}
	ASSERT_TRUE(late > 0, "late events counted");
	ASSERT_TRUE(wrong > 0, "some maximum missed");
	return true;
}

/* Mid-run, a peek counts what is known without dropping it; the sweep goes on exactly. */
static bool test_peek_then_sweep(void)
{
	struct expo_scope a = {};
	struct expo_scope *s[EXPO_SCOPES] = { &a };
	struct expo *x = expo__new();

	expo__begin(x, s, 10);
	expo__begin(x, s, 20);
	expo__end(x, s, 10, 30);
	expo__peek(x);
	ASSERT_EQ(expo__max(x, &a), 2, "peek: [10,30) and [20,..) overlap");
	ASSERT_EQ(expo__pending(x), 3, "peek drops nothing");
	expo__sweep(x, 25);
	ASSERT_EQ(expo__max(x, &a), 2, "swept to 25");
	ASSERT_EQ(expo__pending(x), 1, "the end at 30 is kept");
	expo__begin(x, s, 30);	/* begins as the other ends: never three */
	expo__sweep(x, UINT64_MAX);
	ASSERT_EQ(expo__max(x, &a), 2, "an end and a begin at one time");
	ASSERT_EQ(expo__unit_ns(&a, 100), 20 + 80 + 70, "sums up to the end");
	ASSERT_EQ(expo__inexact(x), 0, "in time");
	expo__free(x);
	return true;
}

/* An event before a mark already swept is counted as inexact, never lost from the sums. */
static bool test_late_event_is_counted(void)
{
	struct expo_scope a = {};
	struct expo_scope *s[EXPO_SCOPES] = { &a };
	struct expo *x = expo__new();

	expo__sweep(x, 50);
	expo__begin(x, s, 40);
	expo__end(x, s, 40, 60);
	expo__sweep(x, UINT64_MAX);
	ASSERT_EQ(expo__inexact(x), 1, "the begin at 40 came after the sweep to 50");
	ASSERT_EQ(expo__unit_ns(&a, 100), 20, "its length still counts");
	ASSERT_EQ(expo__max(x, &a), 1, "folded in at the mark");
	expo__free(x);
	return true;
}

/* ---- a unit's exposed interval, from records with exact times ---- */

#define DEV 0x700000	/* 7:0 */
#define INO 12
#define INO2 13
#define K 1024ULL
#define B 5000000000ULL	/* the first record's ktime: 5 s after boot */
#define US 1000ULL

static struct tracker *T;
static struct tw_recorder *R;	/* when set, every record is also written here */
static struct tw_summary S;
static struct tw_unit_event EV[16];
static int nev;

static void capture(void *ctx, const struct tw_unit_event *ev)
{
	if (nev < 16)
		EV[nev++] = *ev;
}

static void start(uint64_t unit)
{
	tracker__free(T);
	T = tracker__new(unit, 1000);
	tracker__set_events(T, true, capture, NULL);
	nev = 0;
}

/* Feed rec with its time: B + us microseconds. */
static void at(uint64_t us, void *rec, uint32_t type, uint32_t size, uint32_t tid)
{
	struct tw_hdr *h = rec;

	h->ts_ns = B + us * US;
	h->type = type;
	h->size = size;
	h->pid = 100;
	h->tid = tid;
	if (R)
		recorder__write(R, rec, size);
	tracker__feed(T, rec, size);
}

static void device(uint32_t write_cache, uint32_t physical)
{
	struct tw_device_ev d = { .dev = DEV, .write_cache = write_cache, .fua = 0,
				  .logical_block = 512, .physical_block = physical };

	at(0, &d, TW_EV_DEVICE, sizeof(d), 0);
}

static void wbegin(uint64_t us, uint32_t tid, uint64_t ino, uint64_t pos, uint64_t count,
		   uint32_t f_flags)
{
	struct tw_write_ev e = { .ino = ino, .pos = pos, .count = count, .dev = DEV,
				 .f_flags = f_flags };

	at(us, &e, TW_EV_WRITE_BEGIN, sizeof(e), tid);
}

static void wend(uint64_t us, uint32_t tid, int64_t ret)
{
	struct tw_write_end_ev e = { .ret = ret };

	at(us, &e, TW_EV_WRITE_END, sizeof(e), tid);
}

static void bio(uint64_t us, uint64_t bio, uint64_t ino, uint64_t off, uint64_t len)
{
	struct tw_bio_ev e = { .bio = bio, .dev = DEV, .opf = 1, .size = len, .nr_ext = 1 };

	e.ext[0] = (struct tw_ext){ .ino = ino, .dev = DEV, .off = off, .len = len };
	at(us, &e, TW_EV_BIO_QUEUE, sizeof(e), 0);
}

static void rq(uint64_t us, uint32_t type, uint64_t rqp, uint64_t bio, uint32_t bytes)
{
	struct tw_rq_ev e = { .rq = rqp, .bio = bio, .dev = DEV, .bio_bytes = bytes };

	at(us, &e, type, sizeof(e), 0);
}

static void flush(uint64_t us, uint64_t rqp, uint32_t is_done)
{
	struct tw_flush_ev e = { .rq = rqp, .dev = DEV, .done = is_done };

	at(us, &e, TW_EV_FLUSH, sizeof(e), 0);
}

/* The last record: the trace's end (live: the STATS record at the stop). */
static void end_at(uint64_t us)
{
	struct tw_stats_ev e = {};

	at(us, &e, TW_EV_STATS, sizeof(e), 0);
}

static void finish(void)
{
	tracker__finish(T);
	tracker__summary(T, &S);
}

/* An 8 KiB buffered write at 0 that returned, carried by two bios in two requests. */
static void split_unit(void)
{
	wbegin(0, 1, INO, 0, 8 * K, 0);
	wend(1000, 1, 8 * K);
	bio(2000, 0xb1, INO, 0, 4 * K);
	bio(2100, 0xb2, INO, 4 * K, 4 * K);
	rq(3000, TW_EV_RQ_ISSUE, 0xa1, 0xb1, 4 * K);
	rq(3500, TW_EV_RQ_ISSUE, 0xa2, 0xb2, 4 * K);
	rq(5000, TW_EV_RQ_COMPLETE, 0xa1, 0xb1, 4 * K);
	rq(6000, TW_EV_RQ_COMPLETE, 0xa2, 0xb2, 4 * K);
}

/* An 8 KiB buffered write at pos of ino that returned, in one request issued at us. */
static void whole_unit(uint64_t us, uint64_t ino, uint64_t pos, uint64_t bioid, uint64_t rqp)
{
	wbegin(us - 500, 2, ino, pos, 8 * K, 0);
	wend(us - 400, 2, 8 * K);
	bio(us - 100, bioid, ino, pos, 8 * K);
	rq(us, TW_EV_RQ_ISSUE, rqp, bioid, 8 * K);
	rq(us + 1000, TW_EV_RQ_COMPLETE, rqp, bioid, 8 * K);
}

/* Split on a volatile cache: from its first issue until the flush issued after it completed. */
static bool test_split_exposed_until_the_flush(void)
{
	start(8 * K);
	device(TW_WC_BACK, 512);
	split_unit();
	flush(5500, 0xf0, 0);	/* issued before the unit completed: persists nothing of it */
	flush(6500, 0xf0, 1);
	ASSERT_EQ(nev, 0, "its line waits for a flush");
	flush(7000, 0xf1, 0);
	flush(9000, 0xf1, 1);
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
	start(8 * K);
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
	start(8 * K);
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
	start(8 * K);
	tracker__set_atomic_size(T, DEV, 8 * K);
	device(TW_WC_BACK, 512);
	whole_unit(3000, INO, 0, 0xb1, 0xa1);
	flush(5000, 0xf1, 0);
	flush(6000, 0xf1, 1);
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
	start(8 * K);
	whole_unit(3000, INO, 0, 0xb1, 0xa1);
	flush(5000, 0xf1, 0);
	flush(6000, 0xf1, 1);
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
	start(8 * K);
	device(TW_WC_BACK, 512);
	split_unit();
	end_at(10000);
	wend(9990, 1, 8 * K);	/* a record late by 10 us: the end is the latest time */
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
	start(8 * K);
	device(TW_WC_THROUGH, 512);
	wbegin(100, 1, INO, 0, 8 * K, 0);
	wend(200, 1, 8 * K);
	wbegin(300, 1, INO, 0, 8 * K, 0);	/* supersedes the first */
	wend(400, 1, 8 * K);
	wbegin(500, 1, INO, 8 * K, 16 * K, 0);	/* two units: one in flight, one cached */
	wend(600, 1, 16 * K);
	bio(700, 0xb1, INO, 8 * K, 8 * K);
	rq(800, TW_EV_RQ_ISSUE, 0xa1, 0xb1, 8 * K);
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

	start(8 * K);
	device(TW_WC_THROUGH, 512);
	split_unit();
	wbegin(3600, 3, INO2, 0, 16 * K, TW_O_DIRECT);
	bio(3700, 0xb3, INO2, 0, 16 * K);
	rq(4000, TW_EV_RQ_ISSUE, 0xa3, 0xb3, 16 * K);
	rq(5000, TW_EV_RQ_COMPLETE, 0xa3, 0xb3, 16 * K);
	wend(5100, 3, 16 * K);
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

	start(8 * K);
	device(TW_WC_THROUGH, 512);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = 1000 + i * 3000, off = (i % 64) * 8 * K;

		wbegin(t0, 1, INO, off, 8 * K, 0);
		wend(t0 + 10, 1, 8 * K);
		bio(t0 + 20, 0xb1, INO, off, 4 * K);
		bio(t0 + 30, 0xb2, INO, off + 4 * K, 4 * K);
		rq(t0 + 100, TW_EV_RQ_ISSUE, 0xa1, 0xb1, 4 * K);
		rq(t0 + 200, TW_EV_RQ_ISSUE, 0xa2, 0xb2, 4 * K);
		rq(t0 + 2000, TW_EV_RQ_COMPLETE, 0xa1, 0xb1, 4 * K);
		rq(t0 + 2100, TW_EV_RQ_COMPLETE, 0xa2, 0xb2, 4 * K);
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
	start(8 * K);
	device(TW_WC_THROUGH, 512);
	wbegin(500, 1, INO, 0, 8 * K, 0);
	wend(600, 1, 8 * K);
	bio(900, 0xb1, INO, 0, 4 * K);
	bio(950, 0xb2, INO, 4 * K, 4 * K);
	rq(1000, TW_EV_RQ_ISSUE, 0xa1, 0xb1, 4 * K);
	rq(1100, TW_EV_RQ_ISSUE, 0xa2, 0xb2, 4 * K);
	rq(2000, TW_EV_RQ_COMPLETE, 0xa1, 0xb1, 4 * K);
	for (uint64_t i = 0; i < 3000; i++)	/* [t + 500, t + 1500), t = 10 ms .. 6008 ms */
		whole_unit(10000 + i * 2000 + 500, INO2, (i % 8) * 8 * K, 0xc1, 0xd1);
	rq(8001000, TW_EV_RQ_COMPLETE, 0xa2, 0xb2, 4 * K);
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

	start(8 * K);
	device(TW_WC_THROUGH, 512);
	wbegin(100, 1, INO, 0, 8 * K, 0);
	wend(200, 1, 8 * K);
	e.ext[0] = (struct tw_ext){ .ino = INO, .dev = DEV, .off = 0, .len = 4 * K };
	e.h = (struct tw_hdr){ .ts_ns = 0, .type = TW_EV_BIO_QUEUE, .size = sizeof(e) };
	tracker__feed(T, &e, sizeof(e));
	bio(300, 0xb2, INO, 4 * K, 4 * K);
	rq(400, TW_EV_RQ_ISSUE, 0xa1, 0xb1, 4 * K);
	rq(500, TW_EV_RQ_ISSUE, 0xa2, 0xb2, 4 * K);
	rq(600, TW_EV_RQ_COMPLETE, 0xa1, 0xb1, 4 * K);
	rq(700, TW_EV_RQ_COMPLETE, 0xa2, 0xb2, 4 * K);
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
	char path[] = "/tmp/tw-test-XXXXXX", err[256], kernel[65];
	struct tw_summary again;
	struct tracker *t2;
	uint64_t unit;
	int fd = mkstemp(path);

	ASSERT_TRUE(fd >= 0, "mkstemp");
	close(fd);
	R = recorder__open(path, 8 * K, "test-kernel", err, sizeof(err));
	ASSERT_TRUE(R != NULL, err);
	start(8 * K);
	device(TW_WC_BACK, 512);
	split_unit();
	whole_unit(8000, INO, 8 * K, 0xb4, 0xa4);
	flush(7000, 0xf1, 0);
	flush(9500, 0xf1, 1);
	end_at(10000);
	ASSERT_EQ(recorder__close(R), 0, "close");
	R = NULL;
	finish();

	t2 = replay_file(path, 1000, &unit, kernel, sizeof(kernel), err, sizeof(err));
	unlink(path);
	ASSERT_TRUE(t2 != NULL, err);
	tracker__finish(t2);
	tracker__summary(t2, &again);
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
	start(8 * K);
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

	start(8 * K);
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
		"\"split\": 1,\n      \"exposure\": {\"units\": 1, \"unit_seconds\": 0.006000000, "
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

	start(8 * K);
	device(TW_WC_BACK, 512);
	split_unit();
	flush(7000, 0xf1, 0);
	flush(9000, 0xf1, 1);
	end_at(10000);
	finish();
	f = open_memstream(&buf, &len);
	report_json(f, &S, &m);
	fclose(f);
	for (size_t i = 0; i < sizeof(json_want) / sizeof(json_want[0]); i++)
		ASSERT_TRUE(strstr(buf, json_want[i]) != NULL, json_want[i]);
	free(buf);

	f = open_memstream(&buf, &len);
	report_event_json(f, &EV[0]);
	fclose(f);
	ASSERT_TRUE(strstr(buf, "\"syscall_us\": 1000.000, \"end_to_end_us\": 6000.000, "
			   "\"write_ns\": 5000000000, \"issue_ns\": 5003000000, \"complete_ns\": "
			   "5006000000, \"persisted_ns\": 5009000000, \"exposed_from_ns\": "
			   "5003000000, \"exposed_until_ns\": 5009000000}\n") != NULL, buf);
	free(buf);
	EV[0].persisted_ns = EV[0].exposed_until_ns = 0;	/* never persisted */
	f = open_memstream(&buf, &len);
	report_event_json(f, &EV[0]);
	report_event_text(f, &EV[0]);
	fclose(f);
	ASSERT_TRUE(strstr(buf, "\"persisted_ns\": null, \"exposed_from_ns\": 5003000000, "
			   "\"exposed_until_ns\": null}") != NULL, buf);
	ASSERT_TRUE(strstr(buf, " split         2    2    1000.0    6000.0      to-end ?\n"), buf);
	free(buf);

	f = open_memstream(&buf, &len);
	report_prom(f, &S);
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
	RUN(test_sweep_max_equals_brute_force);
	RUN(test_sweep_to_the_clock_alone_is_wrong);
	RUN(test_peek_then_sweep);
	RUN(test_late_event_is_counted);
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
