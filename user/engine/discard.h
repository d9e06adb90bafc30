/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Discards: page-cache bytes dropped unwritten.
 */
#ifndef TW_ENGINE_DISCARD_H
#define TW_ENGINE_DISCARD_H

#include "engine.h"

void on_discard(struct tracker *t, const struct tw_discard_ev *e);

#endif
