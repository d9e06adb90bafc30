/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Torn exposure of units.
 */
#ifndef TW_ENGINE_EXPOSURE_H
#define TW_ENGINE_EXPOSURE_H

#include "engine.h"

#define TW_EXPO_REORDER_NS 100000000ULL	/* records come at most 100 ms out of time order */
#define TW_EXPO_SWEEP_MIN 4096		/* exposure events kept before a sweep is tried */
#define TW_EXPO_MAX_EVENTS (1 << 20)	/* past this, sweep despite a unit long in flight */

void inflight_add(struct tracker *t, struct unit *u);
void inflight_del(struct tracker *t, struct unit *u);
void expo_scopes(struct tracker *t, struct file_ent *f, enum tw_mode m,
		 struct expo_scope *sc[EXPO_SCOPES]);
void unit_exposure(struct tracker *t, struct unit *u, enum tw_verdict v, uint64_t t_device,
		   uint32_t dev, struct tw_unit_event *ev);
void expo_maybe_sweep(struct tracker *t);
void summarize_exposure(struct tracker *t, struct tw_summary *s);

#endif
