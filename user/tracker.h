/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The verdict logic: records in (live from the ring buffer, or replayed from a
 * file), units with verdicts out. Pure C, no libbpf, no system calls.
 *
 * A unit is an RWF_ATOMIC write's whole range, or with a unit size U, each
 * U-aligned U-long piece of a write that the write fully covers. Each unit is
 * followed from the write through the bios that carry its bytes (page identity
 * for buffered writes, the writer's kiocb for direct ones), block-layer splits,
 * and the requests that reach the device, until all its bytes completed there.
 */
#ifndef TW_TRACKER_H
#define TW_TRACKER_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "tornwatch.h"

enum tw_verdict {
	TW_V_WHOLE,		/* all bytes in one request */
	TW_V_ATOMIC,		/* one request carrying REQ_ATOMIC */
	TW_V_SPLIT,		/* more than one request */
	TW_V_COW_ATOMIC,	/* several requests, made atomic by XFS's CoW remap */
	TW_V_SUPERSEDED,	/* rewritten before any of its bytes went to the device */
	TW_V_PENDING,		/* not (all) on the device when tracing ended */
	TW_V_NR,
};

extern const char *const tw_verdict_names[TW_V_NR];

struct tw_counts {
	uint64_t verdict[TW_V_NR];
	uint64_t split_writeback;	/* pages of the unit went into different bios */
	uint64_t split_dio;		/* a direct write carried it in different bios */
	uint64_t split_block;		/* block_split cut a bio inside the unit */
	uint64_t rejoined;		/* several bios, merged back into one request */
	uint64_t pending_cached;	/* no byte left the page cache */
	uint64_t pending_inflight;	/* some bytes queued, not all completed */
	uint64_t misaligned;		/* writes not aligned to the unit size */
	uint64_t untracked;		/* units not followed: the unit table was full */
	uint64_t refused;		/* writes the kernel refused (atomic) */
	uint64_t io_errors;		/* units whose request completed with an error */
};

struct tw_file_stat {
	uint32_t dev;
	uint64_t ino;
	char path[TW_PATH_LEN];
	uint64_t writes;
	uint64_t bytes;
	struct tw_counts c;
};

/* Records the join could not place: not data loss, but worth seeing. */
struct tw_join_stats {
	uint64_t records;
	uint64_t bad_records;		/* unknown type or wrong size */
	uint64_t unknown_bio;		/* request record for a bio never queued */
	uint64_t unknown_parent;	/* split of a bio never queued */
	uint64_t foreign_bytes;		/* bio bytes of files no traced write touched */
	uint64_t unmatched_bytes;	/* bio bytes of traced files outside any live unit */
	uint64_t reused_bio;		/* a bio id queued again before it completed */
};

struct tw_summary {
	uint64_t unit_size;
	uint64_t writes;
	uint64_t write_bytes;
	struct tw_counts c;
	struct tw_join_stats join;
	bool have_bpf_stats;
	uint64_t bpf_stats[TW_NR_STATS];
	uint64_t lost_total;		/* sum of the TW_LOST_* counters */
	size_t nr_files;
	const struct tw_file_stat *const *files;	/* by split count, then units */
};

uint64_t tw_units_total(const struct tw_counts *c);

struct tracker;

struct tracker *tracker__new(uint64_t unit_size, uint64_t max_units);
/* Feed one record; the record's own size field says how long it is (<= len). */
int tracker__feed(struct tracker *t, const void *rec, size_t len);
/* Tracing ended: what is not on the device is pending. */
void tracker__finish(struct tracker *t);
/* Valid until the next feed or free. */
void tracker__summary(struct tracker *t, struct tw_summary *s);
void tracker__free(struct tracker *t);

/*
 * Join a TW_EV_FILE rpath (components leaf first, NUL-separated) into
 * "<prefix>/dir/file". Returns false when the kernel's walk was cut short.
 */
bool tw_rpath_join(const char *rpath, size_t len, const char *prefix, char *out, size_t outlen);

/* The expected size of a record type, 0 for an unknown type. */
size_t tw_record_size(uint32_t type);

#endif
