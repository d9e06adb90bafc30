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

#endif /* TW_STAGE_SHARED_BPF_H */
