/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --check (check.c), its state opaque (struct check): the first offending units or writes
 * of each kind, for the check's message.
 */
#ifndef TW_ENGINE_CHECK_H
#define TW_ENGINE_CHECK_H

#include "engine.h"

struct check *check__new(void);
void check__free(struct check *c);
void note_offender(struct tracker *t, enum tw_fail_kind k, struct file_ent *f, uint64_t off,
		   uint64_t len, int64_t err);
void summarize_check(struct tracker *t, struct tw_summary *s);

#endif
