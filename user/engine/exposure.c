// SPDX-License-Identifier: GPL-2.0
/*
 * Torn exposure of units: which a power cut could tear, from when until when, in the scopes
 * of the run, its mode and its file; owns the in-flight list that holds the sweep back.
 */
#include <stdlib.h>
#include "check.h"
#include "devices.h"
#include "durable.h"
#include "engine.h"
#include "exposure.h"
#include "latency.h"
#include "verdict.h"

#define TW_EXPO_REORDER_NS 100000000ULL	/* records come at most 100 ms out of time order */
#define TW_EXPO_SWEEP_MIN 4096		/* exposure events kept before a sweep is tried */
#define TW_EXPO_MAX_EVENTS (1 << 20)	/* past this, sweep despite a unit long in flight */

/* Torn exposure (t->exposure): the run's and each mode's scopes (each file has its own). */
struct exposure {
	struct expo *expo;		/* the intervals of every scope */
	struct expo_scope run_xs, mode_xs[TW_M_NR];
	struct unit *if_head, *if_tail;	/* units in flight without a verdict, oldest first */
	size_t next;			/* sweep when this many events wait */
	uint64_t peak;			/* the most events waiting at once */
};

struct exposure *exposure__new(void)
{
	struct exposure *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->expo = expo__new();
	x->next = TW_EXPO_SWEEP_MIN;
	if (!x->expo) {
		free(x);
		return NULL;
	}
	return x;
}

void exposure__free(struct exposure *x)
{
	if (!x)
		return;
	expo__free(x->expo);
	free(x);
}

void exposure__finish(struct tracker *t)
{
	struct exposure *xp = t->exposure;

	expo__sweep(xp->expo, UINT64_MAX);	/* nothing more comes: every maximum is final */
}

/* Units whose first bio was queued and that wait for a verdict: their exposure may begin then. */
void inflight_add(struct tracker *t, struct unit *u)
{
	struct exposure *xp = t->exposure;

	u->if_prev = xp->if_tail;
	u->if_next = NULL;
	if (xp->if_tail)
		xp->if_tail->if_next = u;
	else
		xp->if_head = u;
	xp->if_tail = u;
	u->in_flight = true;
}

void inflight_del(struct tracker *t, struct unit *u)
{
	struct exposure *xp = t->exposure;

	if (!u->in_flight)
		return;
	if (u->if_prev)
		u->if_prev->if_next = u->if_next;
	else
		xp->if_head = u->if_next;
	if (u->if_next)
		u->if_next->if_prev = u->if_prev;
	else
		xp->if_tail = u->if_prev;
	u->if_prev = u->if_next = NULL;
	u->in_flight = false;
}

/*
 * Can a power cut tear it? Split and modified units; one request beyond the device's
 * power-fail atomic size, or on a device whose size is unknown (nothing proves it safe);
 * a unit with bytes in flight at the end. What never reached the device is not torn (lost
 * at worst), nor is a cow-atomic unit (the remap is atomic).
 */
static bool unit_exposed(struct tracker *t, const struct unit *u, enum tw_verdict v, uint32_t dev)
{
	struct tw_device *d;

	switch (v) {
	case TW_V_SPLIT:
	case TW_V_MODIFIED:
		return true;
	case TW_V_WHOLE:
	case TW_V_ATOMIC:
		d = device_find(t, dev);
		return !d || !d->atomic_size || u->len > d->atomic_size;
	case TW_V_PENDING:
		return u->queued;
	default:
		return false;
	}
}

/* Its exposure begins with its first request's issue (unseen: its first bio's queueing). */
static uint64_t exposure_start(const struct tracker *t, const struct unit *u, uint64_t t_device)
{
	uint64_t from = u->t_issue ? u->t_issue : u->t_submit ? u->t_submit : t->now;

	if (t_device && from > t_device)
		from = t_device;
	return from > t->t0 ? from : t->t0;
}

static void expo_scopes(struct tracker *t, struct file_ent *f, enum tw_mode m,
		 struct expo_scope *sc[EXPO_SCOPES])
{
	struct exposure *xp = t->exposure;

	sc[0] = &xp->run_xs;
	sc[1] = &xp->mode_xs[m];
	sc[2] = &f->xs;
}

void exposure_end(struct tracker *t, struct file_ent *f, enum tw_mode m, uint64_t from,
		  uint64_t until)
{
	struct exposure *xp = t->exposure;
	struct expo_scope *sc[EXPO_SCOPES];

	expo_scopes(t, f, m, sc);
	expo__end(xp->expo, sc, from, until);
}

/*
 * Its verdict came: is it exposed, from when, until when? Its --events line (ev, when
 * wanted) is printed now, or once a flush persisted it, or at the end.
 */
void unit_exposure(struct tracker *t, struct unit *u, enum tw_verdict v, uint64_t t_device,
		   uint32_t dev, struct tw_unit_event *ev)
{
	struct exposure *xp = t->exposure;
	enum tw_mode m = u->w ? u->w->mode : TW_M_BUFFERED;
	struct lat_sample x = { .dev = dev, .fua = !(u->flags & U_NOT_FUA) };
	struct expo_scope *sc[EXPO_SCOPES];
	uint64_t from = 0;

	expo_scopes(t, u->f, m, sc);
	if (unit_exposed(t, u, v, dev)) {
		from = exposure_start(t, u, t_device);
		expo__begin(xp->expo, sc, from);
		note_offender(t, TW_F_EXPOSED, u->f, u->off, u->len, 0);
		if (ev)
			ev->exposed_from_ns = from;
	}
	if (t_device && durable_at_completion(t, &x)) {
		if (from)
			expo__end(xp->expo, sc, from, t_device);
		if (ev) {
			ev->persisted_ns = t_device;
			ev->exposed_until_ns = from ? t_device : 0;
		}
	} else if (t_device && (from || ev) &&
		   expo_wait(t, dev, u, m, t_device, from, ev)) {
		return;		/* told at the flush */
	}
	if (ev)
		event_emit(t, ev);
}

/*
 * Fold the exposure events no record still to come can precede: before the latest record
 * time, or the first bio of the oldest unit in flight (whose exposure may begin there), less
 * the records' reordering. A unit in flight so long that TW_EXPO_MAX_EVENTS wait no longer
 * holds the sweep back: its interval, if it comes, counts in exposure_inexact.
 */
void expo_maybe_sweep(struct tracker *t)
{
	struct exposure *xp = t->exposure;
	size_t n = expo__pending(xp->expo);
	uint64_t mark = t->max_ts;

	if (n > xp->peak)
		xp->peak = n;
	if (n < xp->next)
		return;
	if (xp->if_head && xp->if_head->t_submit < mark && n < TW_EXPO_MAX_EVENTS)
		mark = xp->if_head->t_submit;
	expo__sweep(xp->expo, mark > TW_EXPO_REORDER_NS ? mark - TW_EXPO_REORDER_NS : 0);
	n = expo__pending(xp->expo);
	xp->next = 2 * n > TW_EXPO_SWEEP_MIN ? 2 * n : TW_EXPO_SWEEP_MIN;
}

uint64_t tracker__peak_exposure_events(const struct tracker *t)
{
	struct exposure *xp = t->exposure;

	return xp->peak;
}

static struct tw_exposure exposure_of(const struct tracker *t, const struct expo_scope *sc)
{
	struct exposure *xp = t->exposure;

	return (struct tw_exposure){ .units = sc->units, .unit_ns = expo__unit_ns(sc, t->max_ts),
				     .max_concurrent = expo__max(xp->expo, sc) };
}

/* Exposure up to the latest record: final after tracker__finish, a reading mid-run. */
void summarize_exposure(struct tracker *t, struct tw_summary *s)
{
	struct exposure *xp = t->exposure;
	struct hnode *n;
	size_t bkt = 0;

	if (!t->finished)
		expo__peek(xp->expo);
	s->t0_ns = t->t0;
	s->end_ns = t->max_ts;
	s->exposure = exposure_of(t, &xp->run_xs);
	s->exposure_inexact = expo__inexact(xp->expo);
	s->lost_memory += expo__nomem(xp->expo);	/* the summary adds the tracker's */
	for (int m = 0; m < TW_M_NR; m++)
		s->modes[m].exposure = exposure_of(t, &xp->mode_xs[m]);
	for (n = htab_next(&t->files, &bkt, NULL); n; n = htab_next(&t->files, &bkt, n)) {
		struct file_ent *f = container_of(n, struct file_ent, hn);

		f->st.exposure = exposure_of(t, &f->xs);
	}
}

double tw_exposure_per_cut(const struct tw_exposure *x, const struct tw_summary *s)
{
	return s->end_ns > s->t0_ns ? (double)x->unit_ns / (double)(s->end_ns - s->t0_ns) : 0;
}
