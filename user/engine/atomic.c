// SPDX-License-Identifier: GPL-2.0
/*
 * RWF_ATOMIC: the kernel's rules for an atomic write against its file's limits, its requests
 * against the device's atomic limits, and XFS's CoW remap that makes it atomic.
 */
#include "atomic.h"
#include "common.h"
#include "devices.h"
#include "engine.h"
#include "intake.h"

const char *const tw_atomic_violation_names[TW_AV_NR] = {
	[TW_AV_NOT_POW2] = "not_pow2",	   [TW_AV_BELOW_MIN] = "below_min",
	[TW_AV_ABOVE_MAX] = "above_max",   [TW_AV_UNALIGNED] = "unaligned",
	[TW_AV_SEGMENTS] = "segments",	   [TW_AV_UNSUPPORTED] = "unsupported",
	[TW_AV_BUFFERED] = "buffered",
};

void on_atomic_limits(struct tracker *t, const struct tw_atomic_limits_ev *e)
{
	struct file_ent *f = file_get(t, e->dev, e->ino, true);

	if (!f)
		return;
	f->have_atomic = true;
	f->atomic_min = e->unit_min;
	f->atomic_max = e->unit_max;
	f->atomic_segments = e->segments_max;
}

/* The kernel's rules for an RWF_ATOMIC write, checked before its errno says only EINVAL. */
void check_atomic(struct tracker *t, struct file_ent *f, bool direct, uint64_t pos,
		  uint64_t len, uint32_t iovcnt)
{
	uint64_t *v = t->atomic.violations;

	if (!direct) {
		v[TW_AV_BUFFERED]++;
		return;
	}
	if (!f->have_atomic)
		return;
	t->atomic.checked++;
	if (!f->atomic_min) {
		v[TW_AV_UNSUPPORTED]++;
		return;
	}
	if (!is_pow2(len))
		v[TW_AV_NOT_POW2]++;
	if (len < f->atomic_min)
		v[TW_AV_BELOW_MIN]++;
	if (len > f->atomic_max)
		v[TW_AV_ABOVE_MAX]++;
	if (len && pos % len)
		v[TW_AV_UNALIGNED]++;
	if (iovcnt > (f->atomic_segments ? f->atomic_segments : 1))
		v[TW_AV_SEGMENTS]++;
}

/* An atomic unit's request must fit the device: no boundary crossed, not over unit max. */
bool rq_breaks_atomic_limits(struct tracker *t, const struct tw_rq_ev *e)
{
	uint64_t lo = e->sector * 512, hi = lo + e->rq_bytes;
	const struct tw_device *d = device_find(t, e->dev);	/* one entry per device */

	if (!d || !d->atomic_unit_max || !e->rq_bytes)
		return false;
	if (e->rq_bytes > d->atomic_unit_max)
		return true;
	return d->atomic_boundary && lo / d->atomic_boundary != (hi - 1) / d->atomic_boundary;
}

void on_cow(struct tracker *t, const struct tw_cow_ev *e)
{
	struct file_ent *f = file_get(t, e->dev, e->ino, false);

	if (!f)
		return;
	for (struct unit *u = f->atomics; u; u = u->next)
		if (u->off < e->off + e->count && e->off < u->off + u->len)
			u->flags |= U_COW;
}
