// SPDX-License-Identifier: GPL-2.0
/*
 * Devices: the block devices' facts from DEVICE records (atomic limits, write cache, FUA,
 * stable writes, power-fail atomic size or --atomic-size), and whole units beyond that size.
 */
#include <errno.h>
#include <stdlib.h>
#include "devices.h"
#include "engine.h"

/* The block devices' facts (t->devices), in the order their DEVICE records came. */
struct devices {
	struct tw_device *d;
	size_t n;
	struct tw_atomic_size_opt sizes[TW_MAX_ATOMIC_SIZES];	/* --atomic-size */
	int nr_sizes;
};

struct devices *devices__new(void)
{
	return calloc(1, sizeof(struct devices));
}

void devices__free(struct devices *ds)
{
	if (!ds)
		return;
	free(ds->d);
	free(ds);
}

struct tw_device *device_find(struct tracker *t, uint32_t dev)
{
	struct devices *ds = t->devices;

	for (size_t i = 0; i < ds->n; i++)
		if (ds->d[i].dev == dev)
			return &ds->d[i];
	return NULL;
}

/* A DEVICE record for dev is kept: a new device within TW_MAX_DEVICES, or one known. */
bool device_record_ok(struct tracker *t, uint32_t dev)
{
	struct devices *ds = t->devices;

	return ds->n < TW_MAX_DEVICES || device_find(t, dev);
}

/* Every device's facts, for the summary. */
const struct tw_device *devices_all(const struct tracker *t, size_t *n)
{
	struct devices *ds = t->devices;

	*n = ds->n;
	return ds->d;
}

int tracker__set_atomic_size(struct tracker *t, uint32_t dev, uint32_t bytes)
{
	struct devices *ds = t->devices;

	if (ds->nr_sizes >= TW_MAX_ATOMIC_SIZES)
		return -ENOSPC;
	ds->sizes[ds->nr_sizes++] = (struct tw_atomic_size_opt){ dev, bytes };
	return 0;
}

/* The power-fail atomic size given by hand: the option's, else the record's own. */
static uint32_t atomic_size_override(const struct tracker *t, const struct tw_device_ev *e)
{
	struct devices *ds = t->devices;

	for (int i = ds->nr_sizes - 1; i >= 0; i--)
		if (ds->sizes[i].dev == e->dev)
			return ds->sizes[i].bytes;
	return e->atomic_size_opt;
}

void on_device(struct tracker *t, const struct tw_device_ev *e)
{
	struct devices *ds = t->devices;
	struct tw_device *d;

	if (device_find(t, e->dev))
		return;
	d = eng_realloc(t, ds->d, (ds->n + 1) * sizeof(*d));
	if (!d)
		return;
	ds->d = d;
	d = &d[ds->n++];
	*d = (struct tw_device){
		.dev = e->dev, .stable_writes = e->stable_writes,
		.atomic_unit_min = e->atomic_unit_min, .atomic_unit_max = e->atomic_unit_max,
		.atomic_boundary = e->atomic_boundary, .atomic_max = e->atomic_max,
		.write_cache = e->write_cache, .fua = e->fua,
		.logical_block = e->logical_block, .physical_block = e->physical_block,
	};
	tw_device_set_atomic_size(d, atomic_size_override(t, e));
}

int device_stable_writes(const struct tracker *t, uint32_t dev)
{
	struct devices *ds = t->devices;

	for (size_t i = 0; i < ds->n; i++)
		if (ds->d[i].dev == dev)
			return ds->d[i].stable_writes;
	return -1;
}

/*
 * A unit that reached the device in one request (whole, atomic) is still exposed when it is
 * larger than what that device writes atomically across a power cut. dev: the device of the
 * request that carried it; without its facts the unit is not judged, only counted apart.
 */
void count_beyond_atomic(struct tracker *t, struct unit *u, enum tw_verdict v, uint32_t dev)
{
	struct tw_device *d = device_find(t, dev);
	struct tw_counts *cs[2] = { &t->c, &u->f->st.c };
	bool unknown = !d || !d->atomic_size, beyond = !unknown && u->len > d->atomic_size;

	if (v != TW_V_WHOLE && v != TW_V_ATOMIC)
		return;
	for (int i = 0; i < 2; i++) {
		cs[i]->whole_atomic_unknown += unknown;
		cs[i]->whole_beyond_atomic += beyond;
	}
	if (beyond)
		d->whole_beyond_atomic++;
}
