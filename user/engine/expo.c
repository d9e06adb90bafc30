// SPDX-License-Identifier: GPL-2.0
/*
 * Torn exposure bookkeeping: sums in O(1) per interval; the most intervals open at once by a
 * sweep over begin (+1) and end (-1) events that drops what no later event can change.
 */
#include <stdlib.h>
#include <string.h>
#include "expo.h"

struct expo_ev {
	uint64_t ts;
	int32_t delta;		/* +1: an interval begins, -1: one ends */
	struct expo_scope *sc[EXPO_SCOPES];
};

struct expo {
	struct expo_ev *ev;
	size_t n, cap;
	uint64_t mark;		/* every event before it is folded in */
	uint64_t epoch;		/* of the last expo__peek() */
	uint64_t inexact;
	uint64_t nomem;		/* events not kept: realloc failed */
};

struct expo *expo__new(void)
{
	return calloc(1, sizeof(struct expo));
}

void expo__free(struct expo *x)
{
	if (!x)
		return;
	free(x->ev);
	free(x);
}

static void add_event(struct expo *x, struct expo_scope *const sc[EXPO_SCOPES], uint64_t ts,
		      int32_t delta)
{
	struct expo_ev *e;

	x->epoch++;	/* what expo__peek() read is out of date */
	if (ts < x->mark) {	/* the sweep passed it already: counted where it can be */
		x->inexact++;
		ts = x->mark;
	}
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 1024;

		e = realloc(x->ev, cap * sizeof(*e));
		if (!e) {
			x->inexact++;
			x->nomem++;
			return;
		}
		x->ev = e;
		x->cap = cap;
	}
	e = &x->ev[x->n++];
	e->ts = ts;
	e->delta = delta;
	memcpy(e->sc, sc, sizeof(e->sc));
}

void expo__begin(struct expo *x, struct expo_scope *const sc[EXPO_SCOPES], uint64_t from)
{
	for (int i = 0; i < EXPO_SCOPES; i++) {
		if (!sc[i])
			continue;
		sc[i]->units++;
		sc[i]->open++;
		sc[i]->open_from += from;
	}
	add_event(x, sc, from, +1);
}

void expo__end(struct expo *x, struct expo_scope *const sc[EXPO_SCOPES], uint64_t from,
	       uint64_t until)
{
	if (until < from)
		until = from;
	for (int i = 0; i < EXPO_SCOPES; i++) {
		if (!sc[i])
			continue;
		sc[i]->open--;
		sc[i]->open_from -= from;
		sc[i]->closed_ns += until - from;
	}
	add_event(x, sc, until, -1);
}

/* Time order; at one time ends first: an interval [from, until) is not open at until. */
static int cmp_ev(const void *a, const void *b)
{
	const struct expo_ev *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (x->delta > y->delta) - (x->delta < y->delta);
}

static void sort_events(struct expo *x)
{
	if (x->n > 1)	/* qsort's base may not be NULL, even for nothing */
		qsort(x->ev, x->n, sizeof(*x->ev), cmp_ev);
}

static void fold(struct expo_scope *s, int32_t delta)
{
	s->cur += delta;
	if (s->cur > 0 && (uint64_t)s->cur > s->max)
		s->max = s->cur;
}

void expo__sweep(struct expo *x, uint64_t mark)
{
	size_t i;

	if (mark <= x->mark)
		return;
	x->epoch++;
	sort_events(x);
	for (i = 0; i < x->n && x->ev[i].ts < mark; i++)
		for (int k = 0; k < EXPO_SCOPES; k++)
			if (x->ev[i].sc[k])
				fold(x->ev[i].sc[k], x->ev[i].delta);
	if (i && i < x->n)
		memmove(x->ev, x->ev + i, (x->n - i) * sizeof(*x->ev));
	x->n -= i;
	x->mark = mark;
}

size_t expo__pending(const struct expo *x)
{
	return x->n;
}

static void peek_fold(struct expo_scope *s, uint64_t epoch, int32_t delta)
{
	if (s->peek_epoch != epoch) {
		s->peek_epoch = epoch;
		s->peek_cur = s->cur;
		s->peek_max = s->max;
	}
	s->peek_cur += delta;
	if (s->peek_cur > 0 && (uint64_t)s->peek_cur > s->peek_max)
		s->peek_max = s->peek_cur;
}

void expo__peek(struct expo *x)
{
	x->epoch++;	/* a new pass: every scope starts again from its swept values */
	sort_events(x);
	for (size_t i = 0; i < x->n; i++)
		for (int k = 0; k < EXPO_SCOPES; k++)
			if (x->ev[i].sc[k])
				peek_fold(x->ev[i].sc[k], x->epoch, x->ev[i].delta);
}

uint64_t expo__max(const struct expo *x, const struct expo_scope *sc)
{
	return sc->peek_epoch && sc->peek_epoch == x->epoch ? sc->peek_max : sc->max;
}

/*
 * open_from may wrap (a million starts of 2^50 ns each): the difference, modulo 2^64 like
 * the sum, is the true sum of (end - from), which fits.
 */
uint64_t expo__unit_ns(const struct expo_scope *sc, uint64_t end)
{
	return sc->closed_ns + (sc->open * end - sc->open_from);
}

uint64_t expo__inexact(const struct expo *x)
{
	return x->inexact;
}

uint64_t expo__nomem(const struct expo *x)
{
	return x->nomem;
}
