/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Durability: flushes, and what waits for one.
 */
#ifndef TW_ENGINE_DURABLE_H
#define TW_ENGINE_DURABLE_H

#include "engine.h"

/* Units on a device's volatile cache, waiting for a flush issued after them. */
struct unflushed {
	uint64_t t_write, t_device;
	enum tw_mode mode;
};

#define TW_MAX_UNFLUSHED (1 << 20)	/* per device; beyond, not_persisted at once */
#define TW_MAX_FLUSHES 64		/* flushes in flight per device */

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

struct dev_ent {
	uint32_t dev;
	struct unflushed *u;
	size_t n, cap;
	struct expo_wait *xw;
	size_t nxw, capxw;
	struct {
		uint64_t rq, t_issue;
	} fl[TW_MAX_FLUSHES];
	int nfl;
};

bool durable_at_completion(struct tracker *t, const struct lat_sample *x);
struct dev_ent *dev_get(struct tracker *t, uint32_t dev);
void await_flush(struct tracker *t, enum tw_mode m, const struct lat_sample *x);
void on_flush(struct tracker *t, const struct tw_flush_ev *e);
bool expo_wait(struct dev_ent *d, struct unit *u, enum tw_mode m, uint64_t t_device,
	       uint64_t from, const struct tw_unit_event *ev);
void expo_unpersisted(struct tracker *t);

#endif
