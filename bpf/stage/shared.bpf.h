/* SPDX-License-Identifier: GPL-2.0 */
/* What several stages of tornwatch.bpf.c share, stablepage.bpf.c not: the options user space sets
 * before load, and the table of followed bios (bio.bpf.h fills it, request.bpf.h empties it). */
#ifndef TW_STAGE_SHARED_BPF_H
#define TW_STAGE_SHARED_BPF_H

#include "tw_common.bpf.h"

#define PAGE_SHIFT_4K	12

const volatile __u32 follow_forks = 0;
/*
 * No iomap_dio_rw_begin (6.1): direct writes are joined to their bios from iomap_iter
 * (tw_iomap_iter), and io_submit's direct iocbs make their own WRITE_BEGINs (aio_one).
 */
const volatile __u32 dio_by_iter = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} bios SEC(".maps");

/*
 * Disks a followed bio was queued on, by their struct gendisk (no read of the disk itself),
 * noted before any request can carry it: the request hooks return at once for every other
 * disk (a loop device's backing disk, the host's own), and only these disks' cache flushes
 * can persist a followed unit. Full: every disk is followed.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u64);
	__type(value, __u8);
} disks SEC(".maps");

__u32 all_disks;	/* disks overflowed */
__u64 last_disk;	/* a disk in the map: spares the lookup for the common one-disk case */

static __always_inline __u32 disk_dev(struct gendisk *disk)
{
	if (!disk)
		return 0;
	return (BPF_CORE_READ(disk, major) << 20) | BPF_CORE_READ(disk, first_minor);
}

static __always_inline void note_disk(struct gendisk *disk)
{
	__u64 key = (__u64)disk;
	__u8 one = 1;

	if (!key || key == last_disk || all_disks)
		return;
	if (!bpf_map_lookup_elem(&disks, &key) &&
	    bpf_map_update_elem(&disks, &key, &one, BPF_ANY)) {
		all_disks = 1;
		return;
	}
	last_disk = key;	/* only once it is in the map */
}

static __always_inline bool disk_followed(struct gendisk *disk)
{
	__u64 key = (__u64)disk;

	return (key && key == last_disk) || all_disks || bpf_map_lookup_elem(&disks, &key);
}

#endif /* TW_STAGE_SHARED_BPF_H */
