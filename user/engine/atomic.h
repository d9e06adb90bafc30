/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RWF_ATOMIC (atomic.c): the kernel's rules for an atomic write, the device's atomic limits
 * for its requests, XFS's CoW remap.
 */
#ifndef TW_ENGINE_ATOMIC_H
#define TW_ENGINE_ATOMIC_H

#include "engine.h"

void on_atomic_limits(struct tracker *t, const struct tw_atomic_limits_ev *e);
void check_atomic(struct tracker *t, struct file_ent *f, bool direct, uint64_t pos,
		  uint64_t len, uint32_t iovcnt);
bool rq_breaks_atomic_limits(struct tracker *t, const struct tw_rq_ev *e);
void on_cow(struct tracker *t, const struct tw_cow_ev *e);

#endif
