/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Durability (durable.c): what a flush persists; its state (struct durable) is opaque:
 * each device's units and --events lines waiting for a flush issued after them.
 */
#ifndef TW_ENGINE_DURABLE_H
#define TW_ENGINE_DURABLE_H

#include "engine.h"

struct durable *durable__new(void);
void durable__free(struct durable *du);
/* The end: what still waits for a flush was not persisted. */
void durable__finish(struct tracker *t);
bool durable_at_completion(struct tracker *t, const struct lat_sample *x);
void await_flush(struct tracker *t, enum tw_mode m, const struct lat_sample *x);
void on_flush(struct tracker *t, const struct tw_flush_ev *e);
bool expo_wait(struct tracker *t, uint32_t dev, struct unit *u, enum tw_mode m, uint64_t t_device,
	       uint64_t from, const struct tw_unit_event *ev);

#endif
