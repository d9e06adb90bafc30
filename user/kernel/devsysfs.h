/* SPDX-License-Identifier: GPL-2.0 */
/* A block device's queue settings, read from /sys/dev/block/MAJ:MIN (live runs only), and
 * the --atomic-size that applies to it. */
#ifndef TW_DEVSYSFS_H
#define TW_DEVSYSFS_H

#include <stdint.h>
#include <linux/types.h>
#include "devfacts.h"
#include "tornwatch.h"

/* A queue attribute as a number (a partition's is its disk's), -1: unknown. */
long long devsysfs_queue_ll(uint32_t kdev, const char *attr);
/* The same, 0 when unknown or out of range. */
uint32_t devsysfs_queue_u32(uint32_t kdev, const char *attr);
/* d->dev's stable_writes, write cache, FUA, block sizes and atomic limits. */
void devsysfs_fill(struct tw_device_ev *d);
/*
 * The --atomic-size given for kdev (bytes, 0: none): an option names the device itself, or
 * another partition of the same disk, or the disk (the promise is the drive's).
 */
uint32_t devsysfs_atomic_size(uint32_t kdev, const struct tw_atomic_size_opt *opts, int nr);

#endif
