/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --check: the offenders of each kind.
 */
#ifndef TW_ENGINE_CHECK_H
#define TW_ENGINE_CHECK_H

#include "engine.h"

void note_offender(struct tracker *t, enum tw_fail_kind k, struct file_ent *f, uint64_t off,
		   uint64_t len, int64_t err);

#endif
