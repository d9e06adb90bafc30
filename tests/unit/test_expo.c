// SPDX-License-Identifier: GPL-2.0
/*
 * Torn exposure's arithmetic (expo.c): the sweep's maximum against a brute-force count on
 * random intervals that arrive out of order, a peek mid-run, and events that come too late.
 */
#include <stdlib.h>
#include "expo.h"
#include "test.h"

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

int main(void)
{
	RUN(test_sweep_max_equals_brute_force);
	RUN(test_sweep_to_the_clock_alone_is_wrong);
	RUN(test_peek_then_sweep);
	RUN(test_late_event_is_counted);
	return TEST_EXIT();
}
