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
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "tornwatch.h"

enum tw_verdict {
	TW_V_WHOLE,		/* all bytes in one request */
	TW_V_ATOMIC,		/* one request carrying REQ_ATOMIC */
	TW_V_SPLIT,		/* more than one request */
	TW_V_COW_ATOMIC,	/* several requests, made atomic by XFS's CoW remap */
	TW_V_SUPERSEDED,	/* rewritten before any of its bytes went to the device */
	TW_V_MODIFIED,		/* changed while its writeback I/O was in flight: torn in flight */
	TW_V_DISCARDED,		/* never written: its file was truncated below it or deleted */
	TW_V_PENDING,		/* not (all) on the device when tracing ended */
	TW_V_NR,
};

extern const char *const tw_verdict_names[TW_V_NR];

/* How a write went to the kernel, from the file's flags, pwritev2's and the kiocb's. */
enum tw_mode {
	TW_M_BUFFERED,
	TW_M_BUFFERED_DSYNC,
	TW_M_BUFFERED_SYNC,
	TW_M_DIRECT,
	TW_M_DIRECT_DSYNC,
	TW_M_ATOMIC_DIRECT,
	TW_M_ATOMIC_BUFFERED,
	TW_M_WRITETHROUGH,
	TW_M_MMAP,		/* a store through a shared mapping (no syscall): tw_mmap_ev */
	TW_M_NR,
};

extern const char *const tw_mode_names[TW_M_NR];

/* Latency stages of a unit that reached the device. */
enum tw_stage {
	TW_ST_SYSCALL,		/* write -> visible (the syscall returned) */
	TW_ST_CACHE,		/* visible -> writeback began (its first bio when not seen apart) */
	TW_ST_QUEUED,		/* writeback began -> first bio queued (a throttle's hold) */
	TW_ST_DEVICE,		/* first bio submitted -> last covering request completed */
	TW_ST_END_TO_END,	/* write -> device */
	TW_ST_DURABLE,		/* write -> persisted (FUA, or a flush issued after the device) */
	TW_ST_NR,
};

extern const char *const tw_stage_names[TW_ST_NR];
extern const char *const tw_trigger_names[TW_TRIG_NR];

#define TW_ERRNO_MAX 134

/* write flags -> mode (f_flags of the file, rwf of pwritev2) */
enum tw_mode tw_mode_of_write(uint32_t f_flags, uint32_t rwf);
/* a kiocb's ki_flags -> mode (io_uring, aio) */
enum tw_mode tw_mode_of_kiocb(uint32_t ki_flags);

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
	uint64_t modified;		/* modifications while under writeback (per file) */
	uint64_t whole_beyond_atomic;	/* whole/atomic, larger than the device's power-fail atomic size */
	uint64_t whole_atomic_unknown;	/* whole/atomic on a device whose atomic size is unknown */
};

/*
 * Torn exposure of a scope (the run, a file, a mode): while a unit is exposed, a power cut
 * could tear it. From its first request's issue until its last completed (split, modified,
 * or one request larger than the device's power-fail atomic size or on a device whose atomic
 * size is unknown), and on a volatile write cache until a flush persisted it; a unit in
 * flight at the end, from its first issue. Until the trace's end when that never came.
 */
struct tw_exposure {
	uint64_t units;			/* units exposed at all */
	uint64_t unit_ns;		/* their exposed time, summed, within the trace */
	uint64_t max_concurrent;	/* the most exposed at one moment */
};

struct tw_file_stat {
	uint32_t dev;
	uint64_t ino;
	char path[TW_PATH_LEN];
	bool deleted;		/* its inode was freed while traced */
	uint64_t writes;
	uint64_t bytes;
	struct tw_counts c;
	struct tw_exposure exposure;	/* filled by tracker__summary() */
};

#define TW_HIST_SLOTS 40	/* log2 buckets: [2^i, 2^(i+1)) ns */
#define TW_MAX_MODS_KEPT 1000	/* modifications listed one by one; all are counted */

struct tw_modification {
	uint32_t dev;
	uint64_t ino;
	uint64_t index, off, len;
	uint32_t nr_pages;
	bool range_known;	/* off/len are the bytes changed, not the whole folio */
	bool mmap;		/* a store through a shared mapping */
	uint32_t pid, tid;
	char comm[TW_COMM_LEN];
	int stable_writes;	/* of the file's device, -1 unknown */
	const char *path;	/* valid with the summary */
};

struct tw_proc_waits {
	uint32_t pid;
	char comm[TW_COMM_LEN];
	uint64_t waits;
	uint64_t wait_ns;
};

struct tw_device {
	uint32_t dev;
	int stable_writes;
	uint32_t atomic_unit_min, atomic_unit_max, atomic_boundary, atomic_max;
	uint32_t write_cache;		/* TW_WC_* */
	int fua;			/* queue/fua: 1, 0, -1 unknown */
	uint32_t logical_block, physical_block;	/* bytes, 0: unknown */
	uint32_t atomic_size;		/* power-fail atomic size (devfacts.h), 0: unknown */
	int atomic_src;			/* enum tw_atomic_src: where atomic_size comes from */
	uint64_t whole_beyond_atomic;	/* whole/atomic units it carried, larger than atomic_size */
};

/* What an RWF_ATOMIC write broke of the rules the kernel enforces (it says only EINVAL). */
enum tw_atomic_violation {
	TW_AV_NOT_POW2,		/* length not a power of two */
	TW_AV_BELOW_MIN,	/* shorter than the file's atomic unit min */
	TW_AV_ABOVE_MAX,	/* longer than its atomic unit max */
	TW_AV_UNALIGNED,	/* offset not a multiple of the length */
	TW_AV_SEGMENTS,		/* more iovecs than atomic_write_segments_max */
	TW_AV_UNSUPPORTED,	/* the file has no atomic write support (statx min 0) */
	TW_AV_BUFFERED,		/* without O_DIRECT */
	TW_AV_NR,
};

extern const char *const tw_atomic_violation_names[TW_AV_NR];

struct tw_atomic {
	uint64_t checked;		/* atomic writes whose file limits were known */
	uint64_t violations[TW_AV_NR];
	uint64_t device_misaligned;	/* requests of atomic units crossing the device's limits */
};

struct tw_stable {
	uint64_t modified;		/* modifications of folios under writeback */
	uint64_t unit_unknown;		/* of those: the folio held several units, the page unknown */
	uint64_t waits;			/* stable-page waits (write or mmap store), timed */
	uint64_t waits_untimed;		/* ... begun before the wake-up hook was attached */
	uint64_t waits_by_ctx[TW_WAIT_OTHER + 1];	/* every writeback wait, by context */
	uint64_t hist[TW_HIST_SLOTS];	/* stable-page wait time */
	uint64_t wait_ns_total;
	size_t nr_mods;			/* kept; modified may be larger */
	const struct tw_modification *mods;
	size_t nr_procs;
	const struct tw_proc_waits *procs;
	size_t nr_devices;
	const struct tw_device *devices;
};

/* Records the join could not place: not data loss, but worth seeing. */
struct tw_join_stats {
	uint64_t records;
	uint64_t bad_records;		/* unknown type or wrong size */
	uint64_t unknown_bio;		/* request record for a bio never queued */
	uint64_t unknown_parent;	/* split of a bio never queued */
	uint64_t foreign_bytes;		/* bio bytes of files no traced write touched */
	uint64_t unmatched_bytes;	/* bio bytes of traced files outside any live unit */
	uint64_t reused_bio;		/* a bio id queued again before it was issued and completed */
	uint64_t completions_inferred;	/* issued requests whose completion record never came */
	uint64_t units_inferred;	/* units with a verdict whose device completion was inferred */
};

struct tw_mode_stats {
	uint64_t writes;
	uint64_t units;			/* with any verdict */
	uint64_t refused;		/* writes the kernel refused */
	uint64_t refused_errno[TW_ERRNO_MAX];
	uint64_t incomplete;		/* reached the device, but the write's return never came */
	uint64_t not_persisted;		/* reached the device, no flush after it when tracing ended */
	uint64_t hist[TW_ST_NR][TW_HIST_SLOTS];	/* log2 microseconds */
	uint64_t sum_ns[TW_ST_NR];		/* of the samples in hist */
	struct tw_exposure exposure;
};

/* Units by verdict and mode on one filesystem's device, for Prometheus. */
struct tw_dev_units {
	uint32_t dev;
	uint64_t n[TW_M_NR][TW_V_NR];
};

/* What --check can fail on. */
enum tw_fail_kind {
	TW_F_SPLIT,
	TW_F_MODIFIED,
	TW_F_MISALIGNED,
	TW_F_REFUSED,
	TW_F_PENDING,
	TW_F_LOST,
	TW_F_UNTRACKED,
	TW_F_INFERRED,		/* units whose device completion was inferred (not by default) */
	TW_F_EXPOSED,		/* units a power cut could have torn (not by default) */
	TW_F_NR,
};

extern const char *const tw_fail_names[TW_F_NR];

#define TW_DEFAULT_FAIL_ON                                                                         \
	((1u << TW_F_SPLIT) | (1u << TW_F_MODIFIED) | (1u << TW_F_MISALIGNED) |                  \
	 (1u << TW_F_LOST) | (1u << TW_F_UNTRACKED))

#define TW_MAX_OFFENDERS 5

/* One offending unit or write, for the check's message. */
struct tw_offender {
	const char *path;	/* valid with the summary */
	uint64_t off, len;
	int64_t err;		/* refused: the errno */
};

struct tw_summary {
	uint64_t unit_size;
	uint64_t writes;
	uint64_t write_bytes;
	struct tw_counts c;
	struct tw_join_stats join;
	struct tw_stable stable;
	struct tw_mode_stats modes[TW_M_NR];
	uint64_t triggers[TW_TRIG_NR];	/* buffered units on the device, by what wrote them back */
	struct tw_atomic atomic;
	struct tw_offender offenders[TW_F_NR][TW_MAX_OFFENDERS];
	size_t nr_dev_units;
	const struct tw_dev_units *dev_units;
	uint32_t nr_offenders[TW_F_NR];
	bool have_bpf_stats;
	uint64_t bpf_stats[TW_NR_STATS];
	uint64_t lost_total;		/* sum of the TW_LOST_* counters and lost_memory */
	uint64_t lost_memory;		/* the engine's allocations that failed: what they would
					   have kept (a file, write, unit, bio, request, sample) */
	size_t nr_files;
	const struct tw_file_stat *const *files;	/* by split count, then units */
	uint64_t t0_ns, end_ns;		/* the first record's time, the latest (ktime ns; 0: none) */
	struct tw_exposure exposure;
	uint64_t exposure_inexact;	/* interval ends that came too late for an exact maximum */
};

uint64_t tw_units_total(const struct tw_counts *c);
/* Expected torn units for a power cut at a random moment of the trace: unit_ns / its length. */
double tw_exposure_per_cut(const struct tw_exposure *x, const struct tw_summary *s);

/*
 * One unit's verdict, for --events. Times in ns; 0 when not known (yet). A unit waiting for
 * a flush on a volatile write cache is told when the flush completed, or at the end.
 */
struct tw_unit_event {
	uint64_t t_ns;			/* since the first record */
	uint32_t pid, tid;
	const char *comm;
	enum tw_mode mode;
	uint32_t dev;
	uint64_t ino;
	const char *path;
	uint64_t off, len;
	enum tw_verdict verdict;
	uint32_t bios, requests;
	uint64_t syscall_ns, end_to_end_ns;
	/* absolute record times (bpf_ktime_get_ns, CLOCK_MONOTONIC); 0: unknown, none */
	uint64_t write_ns;		/* the write's entry; an mmap store: its fault */
	uint64_t issue_ns;		/* its first request issued */
	uint64_t complete_ns;		/* its last request completed */
	uint64_t persisted_ns;		/* what persisted it completed: itself, or a flush */
	uint64_t exposed_from_ns;	/* 0: never exposed */
	uint64_t exposed_until_ns;	/* 0: never exposed, or still exposed at the end */
};

typedef void (*tw_event_fn)(void *ctx, const struct tw_unit_event *ev);

struct tracker;

/*
 * Bounds on what a record may claim (tracker__feed counts a record past them in
 * join.bad_records and skips it): what the kernel can produce.
 */
#define TW_UNIT_MIN	512ULL
#define TW_UNIT_MAX	(1ULL << 20)
#define TW_MAX_LOFF	(1ULL << 63)		/* loff_t: file offsets and ends */
#define TW_MAX_RW	0x7ffff000ULL		/* MAX_RW_COUNT: one write syscall's bytes */
#define TW_MAX_IOV	1024			/* UIO_MAXIOV */
#define TW_MAX_FOLIO	(1ULL << 30)		/* a folio's bytes (PUD order at most) */
#define TW_MAX_DEVICES	4096			/* DEVICE records kept; more are bad records */
#define TW_MAX_AIO_BATCH 64			/* iocbs of one io_submit the BPF side reads */

struct tracker *tracker__new(uint64_t unit_size, uint64_t max_units);
/* Call fn at each unit's verdict: all, or only those that are not whole/atomic. */
void tracker__set_events(struct tracker *t, bool all, tw_event_fn fn, void *ctx);
/*
 * --atomic-size: the power-fail atomic size of block device dev, given by hand; it wins over
 * the device's own facts and over the value a DEVICE record carries. Before the first feed.
 */
int tracker__set_atomic_size(struct tracker *t, uint32_t dev, uint32_t bytes);
/* Feed one record; the record's own size field says how long it is (<= len). */
int tracker__feed(struct tracker *t, const void *rec, size_t len);
/* The most units followed at once (at most --max-units): what the unit table's memory held. */
uint64_t tracker__peak_units(const struct tracker *t);
/* The most exposure events kept at once for the sweep of max_concurrent. */
uint64_t tracker__peak_exposure_events(const struct tracker *t);
/* Tracing ended: what is not on the device is pending. */
/* Syscall writes still open (no return seen): up to max of them in out; returns how many. */
struct tw_open_write {
	uint32_t pid, tid;
	uint64_t count;
};
size_t tracker__open_writes(struct tracker *t, struct tw_open_write *out, size_t max);
void tracker__finish(struct tracker *t);
/* Valid until the next feed or free. */
void tracker__summary(struct tracker *t, struct tw_summary *s);
void tracker__free(struct tracker *t);

/*
 * Join a TW_EV_FILE rpath (components leaf first, NUL-separated) into
 * "<prefix>/dir/file". Returns false when the kernel's walk was cut short.
 */
bool tw_rpath_join(const char *rpath, size_t len, const char *prefix, char *out, size_t outlen);

/* Which wait a kernel function on the waiter's stack makes it (TW_WAIT_UNKNOWN: no clue). */
enum tw_wait_context tw_wait_context_of(const char *fn);
bool tw_wait_is_stable(enum tw_wait_context c);
int tw_log2_slot(uint64_t v);

/*
 * --fail-on: "split,modified" -> a mask of (1 << enum tw_fail_kind). Returns -1 and names
 * the bad word in err.
 */
int tw_parse_fail_on(const char *list, uint32_t *mask, char *err, size_t errlen);
/* How many of kind k the run had (units, writes, or lost records). */
uint64_t tw_fail_count(const struct tw_summary *s, enum tw_fail_kind k);

/* The expected size of a record type, 0 for an unknown type. */
size_t tw_record_size(uint32_t type);

#endif
