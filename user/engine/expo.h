/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Torn exposure: the intervals during which a power cut could tear a unit, summed per scope
 * (the run, a file, a mode), and the most open at one moment, in memory bounded by a sweep.
 */
#ifndef TW_EXPO_H
#define TW_EXPO_H

#include <stddef.h>
#include <stdint.h>

#define EXPO_SCOPES 3	/* the scopes one interval counts in, at most */

/* One set of intervals; owned by the caller, zeroed to begin. */
struct expo_scope {
	uint64_t units;		/* intervals begun */
	uint64_t closed_ns;	/* length of those that ended */
	uint64_t open;		/* begun, not ended */
	uint64_t open_from;	/* sum of their starts */
	int64_t cur;		/* open at the sweep's mark */
	uint64_t max;		/* the most open at once before the mark */
	uint64_t peek_epoch;	/* expo__peek(): its pass's values are valid for this epoch */
	int64_t peek_cur;
	uint64_t peek_max;
};

struct expo;

struct expo *expo__new(void);
void expo__free(struct expo *x);
/* An interval begins at from in each scope of sc (NULL entries are skipped). */
void expo__begin(struct expo *x, struct expo_scope *const sc[EXPO_SCOPES], uint64_t from);
/* The interval that began at from in the same scopes ends at until (>= from). */
void expo__end(struct expo *x, struct expo_scope *const sc[EXPO_SCOPES], uint64_t from,
	       uint64_t until);
/*
 * No begin or end before mark can come any more: fold the events before it into each scope's
 * running count and maximum, and drop them. An event that comes later with a time before the
 * mark is counted in expo__inexact() and folded in at the mark.
 */
void expo__sweep(struct expo *x, uint64_t mark);
/* Events kept, waiting for a sweep. */
size_t expo__pending(const struct expo *x);
/* Read the maxima with every event known so far, without dropping any (a report mid-run). */
void expo__peek(struct expo *x);
/* The most intervals of sc open at one moment: after expo__peek(), or the swept part. */
uint64_t expo__max(const struct expo *x, const struct expo_scope *sc);
/* Exposed time of sc up to end: the ended intervals, and the open ones until end. */
uint64_t expo__unit_ns(const struct expo_scope *sc, uint64_t end);
/* Events out of order by more than the sweep allowed, or lost for memory: 0 when exact. */
uint64_t expo__inexact(const struct expo *x);
/* Events not kept because an allocation failed (also counted in expo__inexact()). */
uint64_t expo__nomem(const struct expo *x);

#endif
