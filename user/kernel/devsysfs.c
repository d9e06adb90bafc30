// SPDX-License-Identifier: GPL-2.0
/* A block device's queue settings from /sys/dev/block/MAJ:MIN/queue (a partition's are its
 * disk's), for the DEVICE record, and which --atomic-size applies to it. Live runs only. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "devsysfs.h"

/* /sys/dev/block/MAJ:MIN/queue/ATTR, or for a partition its disk's. */
static void queue_path(uint32_t kdev, const char *attr, char *path, size_t len)
{
	unsigned int maj = kdev >> 20, min = kdev & 0xfffff;

	snprintf(path, len, "/sys/dev/block/%u:%u/partition", maj, min);
	snprintf(path, len, access(path, F_OK) ? "/sys/dev/block/%u:%u/queue/%s"
			: "/sys/dev/block/%u:%u/../queue/%s", maj, min, attr);
}

long long devsysfs_queue_ll(uint32_t kdev, const char *attr)
{
	char path[160];
	long long v = -1;
	FILE *f;

	queue_path(kdev, attr, path, sizeof(path));
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

uint32_t devsysfs_queue_u32(uint32_t kdev, const char *attr)
{
	long long v = devsysfs_queue_ll(kdev, attr);

	return v > 0 && v <= UINT32_MAX ? (uint32_t)v : 0;
}

/* queue/write_cache: "write back" or "write through" (TW_WC_*). */
static uint32_t queue_write_cache(uint32_t kdev)
{
	char path[160], buf[32] = "";
	FILE *f;

	queue_path(kdev, "write_cache", path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return TW_WC_UNKNOWN;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	if (!strncmp(buf, "write back", 10))
		return TW_WC_BACK;
	if (!strncmp(buf, "write through", 13))
		return TW_WC_THROUGH;
	return TW_WC_UNKNOWN;
}

void devsysfs_fill(struct tw_device_ev *d)
{
	long long fua = devsysfs_queue_ll(d->dev, "fua");

	d->stable_writes = devsysfs_queue_ll(d->dev, "stable_writes");
	d->atomic_unit_min = devsysfs_queue_u32(d->dev, "atomic_write_unit_min_bytes");
	d->atomic_unit_max = devsysfs_queue_u32(d->dev, "atomic_write_unit_max_bytes");
	d->atomic_boundary = devsysfs_queue_u32(d->dev, "atomic_write_boundary_bytes");
	d->atomic_max = devsysfs_queue_u32(d->dev, "atomic_write_max_bytes");
	d->write_cache = queue_write_cache(d->dev);
	d->fua = fua == 0 || fua == 1 ? (int)fua : -1;
	d->logical_block = devsysfs_queue_u32(d->dev, "logical_block_size");
	d->physical_block = devsysfs_queue_u32(d->dev, "physical_block_size");
}

/* The whole disk a device belongs to: itself, or a partition's parent (its "dev" file). */
static uint32_t whole_disk(uint32_t kdev)
{
	unsigned int maj = kdev >> 20, min = kdev & 0xfffff, pmaj, pmin;
	char path[96];
	uint32_t disk = kdev;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition", maj, min);
	if (access(path, F_OK))
		return kdev;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev", maj, min);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%u:%u", &pmaj, &pmin) == 2)
			disk = (pmaj << 20) | pmin;
		fclose(f);
	}
	return disk;
}

uint32_t devsysfs_atomic_size(uint32_t kdev, const struct tw_atomic_size_opt *opts, int nr)
{
	uint32_t disk = whole_disk(kdev);

	for (int i = nr - 1; i >= 0; i--)	/* the last one given wins */
		if (opts[i].dev == kdev || whole_disk(opts[i].dev) == disk)
			return opts[i].bytes;
	return 0;
}
