/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Verdicts (verdict.c): deciding a unit's verdict and counting it (t->c, t->dev_units,
 * t->triggers), and the --events line of each.
 */
#ifndef TW_ENGINE_VERDICT_H
#define TW_ENGINE_VERDICT_H

#include "engine.h"

enum tw_verdict done_verdict(const struct unit *u);
void event_emit(struct tracker *t, const struct tw_unit_event *ev);
void unit_finalize(struct tracker *t, struct unit *u, enum tw_verdict v, uint64_t t_device,
		   uint32_t dev);

#endif
