/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Units (units.c): the unit table (t->slots), a unit's life from its write to its verdict,
 * cutting writes into units, and superseding instances no bio carried.
 */
#ifndef TW_ENGINE_UNITS_H
#define TW_ENGINE_UNITS_H

#include "engine.h"

struct uslot *slot_get(struct tracker *t, struct file_ent *f, uint64_t off, bool create);
void unit_free(struct tracker *t, struct unit *u);
void unit_put(struct tracker *t, struct unit *u);
void cached_del(struct unit *u);
void unit_unlink(struct tracker *t, struct unit *u);
bool displaced(const struct unit *u);
void settle_displaced(struct tracker *t, struct wrec *w);
void make_units(struct tracker *t, struct wrec *w, uint64_t len);
void drop_unwritten(struct tracker *t, struct wrec *w, uint64_t written);
/* Some byte of a unit w made has been queued in a bio. */
bool write_queued(struct tracker *t, const struct wrec *w);
void mmap_unit(struct tracker *t, struct file_ent *f, struct wrec *w, uint64_t off,
	       uint64_t lo, uint64_t hi);

#endif
