/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The unit tests' tracker and the records they feed it: each builder makes the record the BPF
 * side would send for one event, stamped with the next tick of the clock (or clock_at()'s time).
 */
#ifndef TW_TEST_FIXTURE_H
#define TW_TEST_FIXTURE_H

#include <stdint.h>
#include "record.h"
#include "tracker.h"

#define DEV 0x700000	/* 7:0 */
#define INO 12
#define K 1024ULL

/* A record's header: its time and size are set when it is fed. */
#define HDR(ty, th) { .type = (ty), .size = 0, .pid = 100, .tid = (th) }

extern struct tracker *T;	/* the tracker under test */
extern struct tw_recorder *R;	/* when set, every record fed is also written here */
extern struct tw_summary S;	/* T's summary, after finish() */
extern uint64_t ts;		/* the last record's time */

/* A new tracker (the last one freed), the clock at 0. */
void start(uint64_t unit, uint64_t max_units);
/* Tracing ended: T's summary in S; its counts. */
const struct tw_counts *finish(void);
/* The next record fed comes at t (ktime ns) instead of the next tick. */
void clock_at(uint64_t t);
/* Feed rec (its header's size set) to T, and to R when set. */
void feed(void *rec);

/*
 * The path `tornwatch --record` then `--replay` takes: record_start() opens R on a new
 * temporary file whose header says unit, so every record fed from then on is also written
 * there. record_replay() closes R, replays the file into a second tracker of max_units,
 * finishes it and removes the file: the tracker in *t2 (the caller frees it), its summary in
 * *again, and, when not NULL, the file header's unit size in *unit and kernel in kernel
 * (65 bytes). Both fail as an assertion does: said on stderr, false returned.
 */
bool record_start(uint64_t unit);
bool record_replay(uint64_t max_units, struct tracker **t2, struct tw_summary *again,
		   uint64_t *unit, char *kernel);

/* A write by thread tid of count bytes at pos of file ino (WRITE_BEGIN), and its return. */
void write_begin(uint32_t tid, uint64_t ino, uint64_t pos, uint64_t count, uint32_t f_flags,
		 uint32_t rwf);
void wbegin(uint32_t tid, uint64_t pos, uint64_t count, uint32_t f_flags, uint32_t rwf);
void wend(uint32_t tid, int64_t ret);
/* A write that wrote all it asked: the BPF side sends no WRITE_END for it. */
void write_ok(uint64_t pos, uint64_t count);

/* A bio carrying one extent of INO per (off, len) pair. */
void bioq(uint64_t bio, uint32_t flags, int next, const uint64_t *offlen);
void bio1(uint64_t bio, uint64_t off, uint64_t len);
/* A bio carrying [off, off + len) of file ino. */
void bio_of(uint64_t bio, uint64_t ino, uint64_t off, uint64_t len);
void split(uint64_t front, uint64_t parent, uint32_t size);
void rq(uint32_t type, uint64_t rqp, uint64_t bio, uint32_t bytes, uint32_t flags);
void issue(uint64_t rqp, uint64_t bio, uint32_t bytes);
void done(uint64_t rqp, uint64_t bio, uint32_t bytes);
/* A bio of [off, off + len) queued, issued alone in request rqp, and completed. */
void one_request(uint64_t rqp, uint64_t bio, uint64_t off, uint64_t len);
/*
 * Bio 0xb1 of [0, len) split by the block layer: its first front bytes go in bio 0xf1,
 * each piece is issued in a request of its own (0xa1, 0xa2), and both complete.
 */
void block_split(uint64_t len, uint32_t front);
/* A cache flush on DEV issued (is_done 0) or completed (1). */
void flush_ev(uint64_t rqp, uint32_t is_done);
/* The DEVICE record user space sends for DEV (atomic limits 0: none advertised). */
void device_facts(uint32_t unit_max, uint32_t physical, uint32_t write_cache,
		  uint32_t atomic_size_opt);

/* One buffered iocb of an io_submit batch by thread 1 (TW_W_AIO), at its place i; the batch's
 * io_submit returned ret. */
void aio_iocb_flags(uint32_t i, uint64_t pos, uint64_t count, uint32_t f_flags);
void aio_iocb(uint32_t i, uint64_t pos, uint64_t count);
void aio_end(int64_t ret);
/* fsync/fdatasync of the file (ino) by tid returned ret; it began at t0. */
void sync_end(uint32_t tid, uint64_t ino, uint64_t t0, int64_t ret);
/* DEV's INO: [pos, pos + len) dropped from the cache (flags: TW_DISCARD_*). */
void discard(uint64_t pos, uint64_t len, uint32_t flags);
/* Thread tid waited ns for a folio of INO under writeback, in context ctx. */
void wait_pair(uint32_t tid, enum tw_wait_context ctx, uint32_t flags, uint64_t ns);

/* Thread tid changed [off, off + len) of INO's folio at index under writeback (range: known). */
void modified(uint32_t tid, uint64_t index, uint32_t pages, uint64_t off, uint64_t len,
	      bool range);
/* Latency samples of buffered writes at stage st, in S. */
uint64_t samples(enum tw_stage st);
/* A traced thread's store at page pos dirtied the clean folio [index, index + pages). */
int mmap_dirty(uint32_t tid, uint64_t index, uint32_t pages, uint64_t pos, uint32_t flags);

#endif
