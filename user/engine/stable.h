/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stable pages (stable.c), its state opaque (struct stable): modifications under writeback
 * (the first TW_MAX_MODS_KEPT kept), writeback waits by context and process.
 */
#ifndef TW_ENGINE_STABLE_H
#define TW_ENGINE_STABLE_H

#include "engine.h"

struct stable *stable__new(void);
void stable__free(struct stable *sp);
void on_modified(struct tracker *t, const struct tw_modified_ev *e);
void on_wait_begin(struct tracker *t, const struct tw_wait_begin_ev *e);
void on_wait_end(struct tracker *t, const struct tw_wait_end_ev *e);
void summarize_stable(struct tracker *t, struct tw_summary *s);

#endif
