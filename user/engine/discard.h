/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Discards (discard.c): page-cache bytes dropped unwritten end the units there.
 * Its record comes from intake; the units it ends get their verdict in verdict.c.
 */
#ifndef TW_ENGINE_DISCARD_H
#define TW_ENGINE_DISCARD_H

#include "engine.h"

void on_discard(struct tracker *t, const struct tw_discard_ev *e);

#endif
