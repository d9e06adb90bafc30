/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Devices (devices.c): the block devices' facts, opaque (struct devices): DEVICE records
 * and --atomic-size, read by the rooms that judge atomicity, durability and stable pages.
 */
#ifndef TW_ENGINE_DEVICES_H
#define TW_ENGINE_DEVICES_H

#include "engine.h"

struct devices *devices__new(void);
void devices__free(struct devices *ds);
struct tw_device *device_find(struct tracker *t, uint32_t dev);
bool device_record_ok(struct tracker *t, uint32_t dev);
const struct tw_device *devices_all(const struct tracker *t, size_t *n);
void on_device(struct tracker *t, const struct tw_device_ev *e);
int device_stable_writes(const struct tracker *t, uint32_t dev);
void count_beyond_atomic(struct tracker *t, struct unit *u, enum tw_verdict v, uint32_t dev);

#endif
