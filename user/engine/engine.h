/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The verdict engine's private types (units, their grid slots, files, writes) and the tracker
 * that holds each room's state. Only for user/engine/; tracker.h is the public API.
 */
#ifndef TW_ENGINE_H
#define TW_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "devfacts.h"
#include "expo.h"
#include "htab.h"
#include "tracker.h"

/* Each room's own types: in its header, or opaque in its file. */
struct bio_rec;
struct check;
struct devices;
struct durable;
struct exposure;
struct lat_sample;
struct rq_rec;
struct stable;
struct task_ent;
struct wb_pass;

/* unit.flags */
#define U_ATOMIC_WRITE	0x01	/* RWF_ATOMIC / IOCB_ATOMIC */
#define U_DIRECT	0x02
#define U_COW		0x04	/* XFS took the CoW path for it */
#define U_SPLIT_BLOCK	0x08	/* block_split cut inside it */
#define U_ERROR		0x10
#define U_MODIFIED	0x20	/* changed while its writeback was in flight */
#define U_NOT_FUA	0x40	/* a request carrying it had no FUA */
#define U_ATOMIC_MISFIT	0x80	/* a request of it broke the device's atomic limits */
#define U_WB		0x100	/* its writeback began (PG_writeback) before any bio was seen */
#define U_DISPLACED	0x200	/* a later write replaced it in the cache: superseded, unless
				   its writeback proves to have begun before (supersede_cached()) */
#define U_INFERRED	0x400	/* bytes of it were done by an inferred completion */
#define U_MMAP		0x800	/* made by stores through a mapping: its bytes are the dirtied
				   folios' part of its grid unit (on_mmap_dirty()) */

struct file_ent;
struct uslot;
struct wrec;

struct unit {
	struct unit *next;	/* slot chain (oldest first) or the file's atomic list */
	struct uslot *slot;	/* NULL for atomic units */
	struct file_ent *f;
	struct wrec *w;		/* the write that made it (a reference) */
	uint64_t off, len;
	uint64_t t_wb;		/* its writeback began (U_WB), 0: not seen before its bio */
	uint64_t t_submit;	/* its first bio queued */
	uint64_t t_issue;	/* its first request issued, 0: not seen */
	struct unit *if_prev, *if_next;	/* the tracker's in-flight list: t_submit set, no verdict */
	bool in_flight;
	uint64_t displaced_by;	/* U_DISPLACED: the id of the write that replaced it */
	struct unit *c_prev, *c_next;	/* the file's cached list: live, no byte queued */
	bool in_cached;
	uint32_t trigger;	/* what queued that bio: enum tw_trigger */
	uint32_t flags;
	uint32_t refs;		/* bio pieces that point here */
	bool live;		/* still waiting for a verdict */
	uint64_t queued, done;	/* bytes */
	uint32_t nbios, nreq, nreq_atomic;
	uint64_t last_bio, last_rq, scratch;
};

/* The instances of one grid unit (dev, ino, off), oldest first. */
struct uslot {
	struct hnode hn;
	struct file_ent *f;
	uint64_t off;
	struct unit *oldest;
	bool tail;		/* an instance completed at the device; its folio may still be
				   PG_writeback a moment (until a new writeback is seen) */
};

struct file_ent {
	struct hnode hn;
	struct tw_file_stat st;
	bool have_atomic;	/* statx atomic limits known */
	uint32_t atomic_min, atomic_max, atomic_segments;
	struct unit *atomics;	/* live atomic units */
	struct unit *cached;	/* grid units no bio has carried yet, newest first */
	bool have_path;
	uint64_t clean_from;	/* no discardable unit at or past it (UINT64_MAX: not known) */
	struct expo_scope xs;	/* its units' torn exposure */
};

/*
 * A write: open while its syscall (key: tid) or async direct write (key: kiocb) runs,
 * kept after that while units it made still wait for a verdict. Units that reach the
 * device before the write returns (dsync, direct) park their times here until then.
 */
struct wrec {
	struct hkey k;
	struct htab *open_in;	/* writes or aio while open, NULL after */
	struct file_ent *f;
	uint64_t pos, count;
	uint64_t id;
	uint32_t uflags;
	enum tw_mode mode;
	uint64_t t_write, t_visible;	/* 0: not known (yet) */
	bool count_unknown;
	bool dio_seen;		/* its kiocb's DIO_BEGIN came */
	uint32_t refs;		/* its units, + 1 while open */
	uint32_t pid, tid;
	struct lat_sample *parked;
	uint32_t nparked, cap;
	uint64_t written;	/* bytes it wrote, once returned (UINT64_MAX: all it asked) */
	struct unit **disp;	/* instances it displaced, settled when it returns */
	uint32_t ndisp, dcap;
};

/* Free every node of h (fn on its container, off bytes before the node), then the table. */
void free_all(struct htab *h, size_t off, void (*fn)(void *));
/*
 * calloc(1, size) and realloc for the rooms: a failure is counted in t->nomem (lost
 * "engine_memory"), so what the engine could not keep is never lost silently.
 */
void *eng_zalloc(struct tracker *t, size_t size);
void *eng_realloc(struct tracker *t, void *p, size_t size);
/* htab_select(), a failure counted likewise: NULL with *nr 0 when none or out of memory. */
struct hnode **eng_select(struct tracker *t, const struct htab *h,
			  bool (*keep)(const struct hnode *, const void *), const void *ctx,
			  size_t *nr);

/*
 * The tracker: the tables the pipeline's rooms share, by room, and the rooms that own their
 * state behind a pointer (x__new/x__free; only their own file reads inside).
 */
struct tracker {
	/* intake.c: the record clock, the files and threads records name */
	uint64_t t0;			/* the first record's time */
	uint64_t now;			/* the current record's time */
	uint64_t max_ts;		/* the latest record time */
	struct htab files;		/* (dev, ino) -> struct file_ent */
	struct htab tasks;		/* tid -> struct task_ent: names, open waits, passes */
	bool have_bpf_stats;
	uint64_t bpf_stats[TW_NR_STATS];
	/* writes.c: writes open (syscall by tid, async by kiocb or request), counted */
	struct htab writes, aio;
	uint64_t writes_n, write_bytes;
	uint64_t next_id;		/* ids of writes, bios and requests */
	/* units.c: the unit table */
	uint64_t unit_size;
	uint64_t max_units;
	uint64_t live_units;	/* allocated, verdict or not, still referenced */
	uint64_t peak_units;	/* the most live_units at once */
	struct htab slots;		/* (file, off) -> struct uslot */
	/* join.c, infer.c: bios and requests in flight, what the join could not place */
	struct htab bios, rqs;
	struct tw_join_stats join;
	/* verdict.c: what the verdicts count, and --events */
	struct tw_counts c;
	struct tw_dev_units *dev_units;	/* filesystems' devices: units by mode and verdict */
	size_t nr_dev_units;
	uint64_t triggers[TW_TRIG_NR];
	tw_event_fn event_fn;
	void *event_ctx;
	bool events_all;
	/* latency.c (and the rooms that count writes, units and persistence by mode) */
	struct tw_mode_stats modes[TW_M_NR];
	/* atomic.c */
	struct tw_atomic atomic;
	/* rooms with their own state */
	struct devices *devices;	/* devices.c: the block devices' facts */
	struct durable *durable;	/* durable.c: what waits for a flush, per device */
	struct exposure *exposure;	/* exposure.c: torn exposure, the units in flight */
	struct stable *stable;		/* stable.c: modifications under writeback, waits */
	struct check *check;		/* check.c: the offenders of each kind */
	/* tracker.c */
	uint64_t nomem;			/* allocations that failed: what they would have kept */
	bool finished;
	const struct tw_file_stat **sorted;	/* the summary's files */
};

#endif
