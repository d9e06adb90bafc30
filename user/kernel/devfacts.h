/* SPDX-License-Identifier: GPL-2.0 */
/* What a block device promises (write cache, FUA, block sizes, atomic write limits) and
 * what follows: the power-fail atomic size, completion as persistence. Pure logic. */
/*
 * The facts as the queue's sysfs attributes say them; the power-fail atomic size is the most
 * bytes of one request a power cut cannot tear. The report writers print them per device.
 */
#ifndef TW_DEVFACTS_H
#define TW_DEVFACTS_H

#include <stdbool.h>
#include <stdint.h>
#include "tracker.h"

/* Where a device's power-fail atomic size comes from. */
enum tw_atomic_src {
	TW_AS_UNKNOWN,		/* no block size known: units on it are not judged */
	TW_AS_SYSFS_ATOMIC,	/* queue/atomic_write_unit_max_bytes (the device advertises it) */
	TW_AS_PHYSICAL_BLOCK,	/* queue/physical_block_size (no atomic writes advertised) */
	TW_AS_OPTION,		/* --atomic-size, given by hand (a vendor's promise) */
	TW_AS_NR,
};

extern const char *const tw_atomic_src_names[TW_AS_NR];

#define TW_MAX_ATOMIC_SIZES 16	/* --atomic-size options */

/* One --atomic-size DEV=SIZE. */
struct tw_atomic_size_opt {
	uint32_t dev;		/* kernel dev_t (major << 20 | minor) */
	uint32_t bytes;
};

/* "write back", "write through" or "unknown" (TW_WC_*). */
const char *tw_write_cache_name(uint32_t write_cache);

/*
 * A device's power-fail atomic size from its facts: override (bytes, 0: none) when given,
 * else atomic_write_unit_max_bytes when the device advertises atomic writes, else its
 * physical block size; sets d->atomic_size and d->atomic_src.
 */
void tw_device_set_atomic_size(struct tw_device *d, uint32_t override);

/* Completion is persistence: the queue has no volatile write cache ("write through"). */
bool tw_device_write_through(const struct tw_device *d);

/*
 * --atomic-size DEV=SIZE: DEV is MAJ:MIN or a block device path (/dev/NAME, resolved with
 * stat), SIZE a size ("16k"), 512 bytes to 1 GiB, a multiple of 512. Returns -1 with a
 * message that names the option and the fix in err.
 */
int tw_parse_atomic_size(const char *arg, struct tw_atomic_size_opt *out, char *err,
			 size_t errlen);

#endif
