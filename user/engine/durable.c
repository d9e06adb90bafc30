// SPDX-License-Identifier: GPL-2.0
/*
 * Durability: when a unit on the device is persisted (FUA, a write-through cache, or a flush
 * issued after it completed); owns each device's units and events waiting for a flush.
 */
#include <stdlib.h>
#include <string.h>
#include "devices.h"
#include "durable.h"
#include "engine.h"
#include "exposure.h"
#include "latency.h"
#include "verdict.h"

/* Units on a device's volatile cache, waiting for a flush issued after them. */
struct unflushed {
	uint64_t t_write, t_device;
	enum tw_mode mode;
};

#define TW_MAX_UNFLUSHED (1 << 20)	/* per device; beyond, not_persisted at once */
#define TW_MAX_FLUSHES (1 << 16)	/* in flight per device, more than any queue holds;
					   beyond (a record stream that never completes them),
					   counted as memory lost */

/*
 * A unit on a device's volatile cache, exposed or with an event to print, waiting for a flush
 * issued after it. Beyond TW_MAX_UNFLUSHED per device: exposed until the end, its event at once.
 */
struct expo_wait {
	uint64_t t_device, from;	/* from: its exposure's start, 0: not exposed */
	struct file_ent *f;
	enum tw_mode mode;
	struct tw_unit_event *ev;	/* NULL: no --events line wanted */
};

/* A device with units waiting for a flush, or flushes in flight. */
struct dev_ent {
	uint32_t dev;
	struct unflushed *u;
	size_t n, cap;
	struct expo_wait *xw;
	size_t nxw, capxw;
	struct flush {
		uint64_t rq, t_issue;
	} *fl;				/* flushes in flight */
	size_t nfl, capfl;
};

/* Each device's units and events waiting for a flush (t->durable). */
struct durable {
	struct dev_ent *devs;
	size_t n;
};

static void expo_persisted(struct tracker *t, struct dev_ent *d, uint64_t t_issue, uint64_t ts);

/*
 * Completion is persistence for a request with FUA, and for any request on a device without
 * a volatile cache (write_cache "write through": the block layer strips FUA and flushes
 * there, and none will come). Elsewhere, and on a device whose facts are unknown, a flush
 * issued after the completion is needed.
 */
bool durable_at_completion(struct tracker *t, const struct lat_sample *x)
{
	return x->fua || tw_device_write_through(device_find(t, x->dev));
}

static struct dev_ent *dev_get(struct tracker *t, uint32_t dev)
{
	struct durable *du = t->durable;
	struct dev_ent *d;

	for (size_t i = 0; i < du->n; i++)
		if (du->devs[i].dev == dev)
			return &du->devs[i];
	d = eng_realloc(t, du->devs, (du->n + 1) * sizeof(*d));
	if (!d)
		return NULL;
	du->devs = d;
	d = &du->devs[du->n++];
	memset(d, 0, sizeof(*d));
	d->dev = dev;
	return d;
}

void await_flush(struct tracker *t, enum tw_mode m, const struct lat_sample *x)
{
	struct dev_ent *d = dev_get(t, x->dev);

	if (!d || d->n >= TW_MAX_UNFLUSHED) {
		t->modes[m].not_persisted++;
		return;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct unflushed *u = eng_realloc(t, d->u, cap * sizeof(*u));

		if (!u) {
			t->modes[m].not_persisted++;
			return;
		}
		d->u = u;
		d->cap = cap;
	}
	d->u[d->n++] = (struct unflushed){ .t_write = x->t_write, .t_device = x->t_device,
					   .mode = m };
}

/* A flush issued at t_issue completed at ts: what reached the device before it is durable. */
static void flush_done(struct tracker *t, struct dev_ent *d, uint64_t t_issue, uint64_t ts)
{
	size_t kept = 0;

	expo_persisted(t, d, t_issue, ts);
	for (size_t i = 0; i < d->n; i++) {
		struct unflushed *u = &d->u[i];

		if (u->t_device <= t_issue)
			stage_add(&t->modes[u->mode], TW_ST_DURABLE, ts - u->t_write);
		else
			d->u[kept++] = *u;
	}
	d->n = kept;
}

void on_flush(struct tracker *t, const struct tw_flush_ev *e)
{
	struct dev_ent *d = dev_get(t, e->dev);

	if (!d)
		return;
	if (!e->done) {
		if (d->nfl == TW_MAX_FLUSHES) {
			t->nomem++;
			return;
		}
		if (d->nfl == d->capfl) {
			size_t cap = d->capfl ? d->capfl * 2 : 8;
			struct flush *fl = eng_realloc(t, d->fl, cap * sizeof(*fl));

			if (!fl)
				return;
			d->fl = fl;
			d->capfl = cap;
		}
		d->fl[d->nfl++] = (struct flush){ .rq = e->rq, .t_issue = e->h.ts_ns };
		return;
	}
	for (size_t i = 0; i < d->nfl; i++) {
		if (d->fl[i].rq != e->rq)
			continue;
		if (!e->error)
			flush_done(t, d, d->fl[i].t_issue, e->h.ts_ns);
		d->fl[i] = d->fl[--d->nfl];
		return;
	}
}

/* Exposed from; waits on dev's volatile cache for a flush issued after t_device. */
bool expo_wait(struct tracker *t, uint32_t dev, struct unit *u, enum tw_mode m, uint64_t t_device,
	       uint64_t from, const struct tw_unit_event *ev)
{
	struct dev_ent *d = dev_get(t, dev);
	struct expo_wait *w;

	if (!d || d->nxw >= TW_MAX_UNFLUSHED)
		return false;
	if (d->nxw == d->capxw) {
		size_t cap = d->capxw ? d->capxw * 2 : 64;

		w = eng_realloc(t, d->xw, cap * sizeof(*w));
		if (!w)
			return false;
		d->xw = w;
		d->capxw = cap;
	}
	w = &d->xw[d->nxw];
	*w = (struct expo_wait){ .t_device = t_device, .from = from, .f = u->f, .mode = m };
	if (ev) {
		w->ev = eng_zalloc(t, sizeof(*w->ev));
		if (!w->ev)
			return false;
		*w->ev = *ev;
	}
	d->nxw++;
	return true;
}

/* A flush issued at t_issue completed at ts: what reached d before it is persisted now. */
static void expo_persisted(struct tracker *t, struct dev_ent *d, uint64_t t_issue, uint64_t ts)
{
	size_t kept = 0;

	for (size_t i = 0; i < d->nxw; i++) {
		struct expo_wait *w = &d->xw[i];

		if (w->t_device > t_issue) {
			d->xw[kept++] = *w;
			continue;
		}
		if (w->from)
			exposure_end(t, w->f, w->mode, w->from, ts);
		if (w->ev) {
			w->ev->persisted_ns = ts;
			w->ev->exposed_until_ns = w->from ? ts : 0;
			event_emit(t, w->ev);
			free(w->ev);
		}
	}
	d->nxw = kept;
}

/* The end: units still waiting for a flush were not persisted; their lines are printed. */
static void expo_unpersisted(struct tracker *t)
{
	struct durable *du = t->durable;

	for (size_t i = 0; i < du->n; i++) {
		struct dev_ent *d = &du->devs[i];

		for (size_t k = 0; k < d->nxw; k++) {
			if (d->xw[k].ev)
				event_emit(t, d->xw[k].ev);
			free(d->xw[k].ev);
		}
		d->nxw = 0;
	}
}

/* The end: units still waiting for a flush were not persisted. */
void durable__finish(struct tracker *t)
{
	struct durable *du = t->durable;

	expo_unpersisted(t);
	for (size_t i = 0; i < du->n; i++) {
		for (size_t k = 0; k < du->devs[i].n; k++)
			t->modes[du->devs[i].u[k].mode].not_persisted++;
		du->devs[i].n = 0;
	}
}

struct durable *durable__new(void)
{
	return calloc(1, sizeof(struct durable));
}

void durable__free(struct durable *du)
{
	if (!du)
		return;
	for (size_t i = 0; i < du->n; i++) {
		for (size_t k = 0; k < du->devs[i].nxw; k++)
			free(du->devs[i].xw[k].ev);
		free(du->devs[i].xw);
		free(du->devs[i].u);
		free(du->devs[i].fl);
	}
	free(du->devs);
	free(du);
}
