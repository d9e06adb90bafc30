/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Latency (latency.c): a unit's stages, recorded when its write has returned, and the
 * samples that need a flush handed to durable.c.
 */
#ifndef TW_ENGINE_LATENCY_H
#define TW_ENGINE_LATENCY_H

#include "engine.h"

struct lat_sample {
	uint64_t t_write, t_wb, t_submit, t_device;
	uint32_t dev;
	bool fua;		/* every request carrying it had FUA: durable on completion */
};

void stage_add(struct tw_mode_stats *m, enum tw_stage st, uint64_t ns);
void record_sample(struct tracker *t, enum tw_mode m, const struct lat_sample *x,
		   uint64_t t_visible);
void unit_latency(struct tracker *t, struct unit *u, uint64_t t_device, uint32_t dev);

#endif
