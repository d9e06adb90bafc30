/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Torn exposure of units (exposure.c), its state opaque (struct exposure): the sweep of
 * intervals (expo.c), the run's and modes' scopes, the units in flight.
 */
#ifndef TW_ENGINE_EXPOSURE_H
#define TW_ENGINE_EXPOSURE_H

#include "engine.h"

struct exposure *exposure__new(void);
void exposure__free(struct exposure *x);
/* The end: nothing more comes, every maximum is final. */
void exposure__finish(struct tracker *t);
void inflight_add(struct tracker *t, struct unit *u);
void inflight_del(struct tracker *t, struct unit *u);
/* An exposure that began at from (f's unit, written in mode m) ends at until. */
void exposure_end(struct tracker *t, struct file_ent *f, enum tw_mode m, uint64_t from,
		  uint64_t until);
void unit_exposure(struct tracker *t, struct unit *u, enum tw_verdict v, uint64_t t_device,
		   uint32_t dev, struct tw_unit_event *ev);
void expo_maybe_sweep(struct tracker *t);
void summarize_exposure(struct tracker *t, struct tw_summary *s);

#endif
