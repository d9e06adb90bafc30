// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "devfacts.h"
#include "expo.h"
#include "htab.h"
#include "tracker.h"

const char *const tw_verdict_names[TW_V_NR] = {
	[TW_V_WHOLE] = "whole",		[TW_V_ATOMIC] = "atomic",
	[TW_V_SPLIT] = "split",		[TW_V_COW_ATOMIC] = "cow-atomic",
	[TW_V_SUPERSEDED] = "superseded", [TW_V_MODIFIED] = "modified",
	[TW_V_DISCARDED] = "discarded",	[TW_V_PENDING] = "pending",
};

const char *const tw_mode_names[TW_M_NR] = {
	[TW_M_BUFFERED] = "buffered",		[TW_M_BUFFERED_DSYNC] = "buffered-dsync",
	[TW_M_BUFFERED_SYNC] = "buffered-sync",	[TW_M_DIRECT] = "direct",
	[TW_M_DIRECT_DSYNC] = "direct-dsync",	[TW_M_ATOMIC_DIRECT] = "atomic-direct",
	[TW_M_ATOMIC_BUFFERED] = "atomic-buffered", [TW_M_WRITETHROUGH] = "writethrough",
	[TW_M_MMAP] = "mmap",
};

const char *const tw_stage_names[TW_ST_NR] = {
	[TW_ST_SYSCALL] = "syscall", [TW_ST_CACHE] = "cache", [TW_ST_QUEUED] = "queued",
	[TW_ST_DEVICE] = "device",
	[TW_ST_END_TO_END] = "end_to_end", [TW_ST_DURABLE] = "durable",
};

const char *const tw_trigger_names[TW_TRIG_NR] = {
	[TW_TRIG_UNKNOWN] = "unknown",		[TW_TRIG_WRITE] = "write",
	[TW_TRIG_FSYNC] = "fsync",		[TW_TRIG_SYNC_FILE_RANGE] = "sync_file_range",
	[TW_TRIG_MSYNC] = "msync",		[TW_TRIG_SYNC] = "sync",
	[TW_TRIG_BACKGROUND] = "background",	[TW_TRIG_PERIODIC] = "periodic",
	[TW_TRIG_PRESSURE] = "memory_pressure",	[TW_TRIG_FLUSHER_OTHER] = "flusher_other",
};

const char *const tw_fail_names[TW_F_NR] = {
	[TW_F_SPLIT] = "split",		  [TW_F_MODIFIED] = "modified",
	[TW_F_MISALIGNED] = "misaligned", [TW_F_REFUSED] = "refused",
	[TW_F_PENDING] = "pending",	  [TW_F_LOST] = "lost",
	[TW_F_UNTRACKED] = "untracked",	  [TW_F_INFERRED] = "inferred",
	[TW_F_EXPOSED] = "exposed",
};

int tw_parse_fail_on(const char *list, uint32_t *mask, char *err, size_t errlen)
{
	const char *p = list;

	*mask = 0;
	while (p && *p) {
		size_t n = strcspn(p, ",");
		int k;

		if (!n || (p[n] == ',' && !p[n + 1])) {
			snprintf(err, errlen, "--fail-on: '%s' has an empty kind; give a comma list "
				 "without empty items, e.g. split,modified,lost", list);
			return -1;
		}
		for (k = 0; k < TW_F_NR; k++)
			if (strlen(tw_fail_names[k]) == n && !strncmp(p, tw_fail_names[k], n))
				break;
		if (k == TW_F_NR) {
			snprintf(err, errlen, "--fail-on: unknown kind '%.*s'; give a comma list of "
				 "split,modified,misaligned,refused,pending,lost,untracked,inferred,"
				 "exposed", (int)n, p);
			return -1;
		}
		*mask |= 1u << k;
		p += n;
		if (*p == ',')
			p++;
	}
	if (!*mask) {
		snprintf(err, errlen, "--fail-on: empty list; give e.g. split,modified,lost");
		return -1;
	}
	return 0;
}

uint64_t tw_fail_count(const struct tw_summary *s, enum tw_fail_kind k)
{
	switch (k) {
	case TW_F_SPLIT: return s->c.verdict[TW_V_SPLIT];
	case TW_F_MODIFIED: return s->c.verdict[TW_V_MODIFIED];
	case TW_F_MISALIGNED: return s->c.misaligned + s->atomic.device_misaligned;
	case TW_F_REFUSED: return s->c.refused;
	case TW_F_PENDING: return s->c.verdict[TW_V_PENDING];
	case TW_F_LOST: return s->lost_total;
	case TW_F_UNTRACKED: return s->c.untracked;
	case TW_F_INFERRED: return s->join.units_inferred;
	case TW_F_EXPOSED: return s->exposure.units;
	case TW_F_NR: break;
	}
	return 0;
}

const char *const tw_atomic_violation_names[TW_AV_NR] = {
	[TW_AV_NOT_POW2] = "not_pow2",	   [TW_AV_BELOW_MIN] = "below_min",
	[TW_AV_ABOVE_MAX] = "above_max",   [TW_AV_UNALIGNED] = "unaligned",
	[TW_AV_SEGMENTS] = "segments",	   [TW_AV_UNSUPPORTED] = "unsupported",
	[TW_AV_BUFFERED] = "buffered",
};

static enum tw_mode mode_of(bool direct, bool atomic, bool sync, bool dsync, bool wt)
{
	if (atomic)
		return direct ? TW_M_ATOMIC_DIRECT : TW_M_ATOMIC_BUFFERED;
	if (wt)
		return TW_M_WRITETHROUGH;
	if (direct)
		return sync || dsync ? TW_M_DIRECT_DSYNC : TW_M_DIRECT;
	if (sync)
		return TW_M_BUFFERED_SYNC;
	return dsync ? TW_M_BUFFERED_DSYNC : TW_M_BUFFERED;
}

enum tw_mode tw_mode_of_write(uint32_t f_flags, uint32_t rwf)
{
	return mode_of(f_flags & TW_O_DIRECT, rwf & TW_RWF_ATOMIC,
		       (f_flags & TW___O_SYNC) || (rwf & TW_RWF_SYNC),
		       (f_flags & TW_O_DSYNC) || (rwf & TW_RWF_DSYNC), rwf & TW_RWF_WRITETHROUGH);
}

enum tw_mode tw_mode_of_kiocb(uint32_t ki_flags)
{
	return mode_of(ki_flags & TW_IOCB_DIRECT, ki_flags & TW_IOCB_ATOMIC,
		       ki_flags & TW_IOCB_SYNC, ki_flags & TW_IOCB_DSYNC, false);
}

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

struct piece {
	struct unit *u;
	uint64_t start, len;	/* in the byte coordinates of the original bio */
};

struct bio_rec {
	struct hkey k;		/* the kernel's bio address */
	uint64_t id;
	uint64_t ts;		/* queued at */
	uint32_t trigger;
	uint32_t tid;		/* the thread it was queued in */
	bool dio;		/* a direct write's (TW_BIO_DIO) */
	uint64_t cur, end;	/* the bytes this bio still carries */
	struct piece *p;
	uint32_t np, cap;
	uint64_t rq_id;		/* the request that carries it now, 0: not issued */
	uint32_t dev;		/* that request's device */
};

struct rq_rec {
	struct hkey k;		/* the kernel's request address */
	uint64_t id;
	uint64_t sector;	/* where it starts on the device */
	bool completed;
};

struct lat_sample {
	uint64_t t_write, t_wb, t_submit, t_device;
	uint32_t dev;
	bool fua;		/* every request carrying it had FUA: durable on completion */
};

/* Units on a device's volatile cache, waiting for a flush issued after them. */
struct unflushed {
	uint64_t t_write, t_device;
	enum tw_mode mode;
};

#define TW_MAX_UNFLUSHED (1 << 20)	/* per device; beyond, not_persisted at once */
#define TW_MAX_FLUSHES 64		/* flushes in flight per device */

/*
 * A unit on a device's volatile cache, exposed or with an event to print, waiting for a flush
 * issued after it. Beyond TW_MAX_UNFLUSHED per device: exposed until the end, its event at once.
 */
struct expo_wait {
	uint64_t t_device, from;	/* from: its exposure's start, 0: not exposed */
	struct file_ent *f;
	enum tw_mode mode;
	struct tw_unit_event *ev;	/* NULL: no --events line wanted */
};

struct dev_ent {
	uint32_t dev;
	struct unflushed *u;
	size_t n, cap;
	struct expo_wait *xw;
	size_t nxw, capxw;
	struct {
		uint64_t rq, t_issue;
	} fl[TW_MAX_FLUSHES];
	int nfl;
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

struct tracker {
	uint64_t unit_size;
	uint64_t max_units;
	uint64_t live_units;	/* allocated, verdict or not, still referenced */
	uint64_t peak_units;	/* the most live_units at once */
	uint64_t next_id;
	struct htab files, slots, bios, rqs, writes, aio;
	struct tw_counts c;
	struct tw_join_stats join;
	uint64_t writes_n, write_bytes;
	bool have_bpf_stats;
	uint64_t bpf_stats[TW_NR_STATS];
	const struct tw_file_stat **sorted;
	bool finished;
	struct tw_stable st;
	struct tw_mode_stats modes[TW_M_NR];
	uint64_t triggers[TW_TRIG_NR];
	struct tw_atomic atomic;
	struct {
		struct file_ent *f;
		uint64_t off, len;
		int64_t err;
	} offenders[TW_F_NR][TW_MAX_OFFENDERS];
	uint32_t nr_offenders[TW_F_NR];
	struct dev_ent *devs;		/* block devices with unflushed units or flushes */
	struct tw_dev_units *dev_units;	/* filesystems' devices: units by mode and verdict */
	size_t nr_dev_units;
	size_t nr_devs;
	struct tw_modification *mods;	/* the first TW_MAX_MODS_KEPT */
	struct htab tasks;		/* tid -> struct task_ent: names, open waits */
	struct htab procs;		/* pid -> struct proc_ent: waits per process */
	struct tw_device *devices;
	size_t nr_devices;
	struct tw_atomic_size_opt atomic_sizes[TW_MAX_ATOMIC_SIZES];	/* --atomic-size */
	int nr_atomic_sizes;
	struct tw_proc_waits *procs_flat;
	tw_event_fn event_fn;
	void *event_ctx;
	bool events_all;
	uint64_t t0;			/* the first record's time */
	uint64_t now;			/* the current record's time */
	uint64_t max_ts;		/* the latest record time */
	struct expo *expo;		/* torn exposure: the run's, each mode's and file's scopes */
	struct expo_scope run_xs, mode_xs[TW_M_NR];
	struct unit *if_head, *if_tail;	/* units in flight without a verdict, oldest first */
	size_t expo_next;		/* sweep when this many events wait */
	uint64_t expo_peak;		/* the most events waiting at once */
};

/* A writepages pass of a traced file that this thread runs (TW_WB_PASS). */
struct wb_pass {
	struct file_ent *f;		/* NULL: none open */
	uint64_t t, lo, hi;
	uint32_t flags;
};

struct task_ent {
	struct hkey k;			/* tid */
	uint32_t pid;
	char comm[TW_COMM_LEN];
	bool waiting;
	enum tw_wait_context ctx;
	struct wb_pass pass;
};

struct proc_ent {
	struct hkey k;			/* pid */
	struct tw_proc_waits w;
};

uint64_t tw_units_total(const struct tw_counts *c)
{
	uint64_t n = 0;

	for (int i = 0; i < TW_V_NR; i++)
		n += c->verdict[i];
	return n;
}

size_t tw_record_size(uint32_t type)
{
	switch (type) {
	case TW_EV_FILE: return sizeof(struct tw_file_ev);
	case TW_EV_WRITE_BEGIN: return sizeof(struct tw_write_ev);
	case TW_EV_WRITE_END: return sizeof(struct tw_write_end_ev);
	case TW_EV_DIO_BEGIN: return sizeof(struct tw_dio_ev);
	case TW_EV_BIO_QUEUE: return sizeof(struct tw_bio_ev);
	case TW_EV_BIO_SPLIT: return sizeof(struct tw_split_ev);
	case TW_EV_RQ_ISSUE:
	case TW_EV_RQ_COMPLETE: return sizeof(struct tw_rq_ev);
	case TW_EV_ATOMIC_COW: return sizeof(struct tw_cow_ev);
	case TW_EV_PATH: return sizeof(struct tw_path_ev);
	case TW_EV_STATS: return sizeof(struct tw_stats_ev);
	case TW_EV_TASK: return sizeof(struct tw_task_ev);
	case TW_EV_MODIFIED: return sizeof(struct tw_modified_ev);
	case TW_EV_WAIT_BEGIN: return sizeof(struct tw_wait_begin_ev);
	case TW_EV_WAIT_END: return sizeof(struct tw_wait_end_ev);
	case TW_EV_DEVICE: return sizeof(struct tw_device_ev);
	case TW_EV_DIO_END: return sizeof(struct tw_dio_end_ev);
	case TW_EV_FLUSH: return sizeof(struct tw_flush_ev);
	case TW_EV_ATOMIC_LIMITS: return sizeof(struct tw_atomic_limits_ev);
	case TW_EV_DISCARD: return sizeof(struct tw_discard_ev);
	case TW_EV_WB_START: return sizeof(struct tw_wb_ev);
	case TW_EV_BIO_GONE: return sizeof(struct tw_gone_ev);
	case TW_EV_SYNC_END: return sizeof(struct tw_sync_ev);
	case TW_EV_AIO_END: return sizeof(struct tw_write_end_ev);
	case TW_EV_URING_END: return sizeof(struct tw_uring_end_ev);
	case TW_EV_MMAP_DIRTY: return sizeof(struct tw_mmap_ev);
	}
	return 0;
}

/* ---- tables ---- */

static uint64_t file_hash(uint32_t dev, uint64_t ino)
{
	return hash_mix(dev, ino);
}

static struct file_ent *file_get(struct tracker *t, uint32_t dev, uint64_t ino, bool create)
{
	uint64_t h = file_hash(dev, ino);
	struct hnode *n = NULL;
	struct file_ent *f;

	while ((n = htab_next_match(&t->files, h, n))) {
		f = container_of(n, struct file_ent, hn);
		if (f->st.dev == dev && f->st.ino == ino && !f->st.deleted)
			return f;
	}
	if (!create)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->st.dev = dev;
	f->st.ino = ino;
	f->clean_from = UINT64_MAX;
	htab_add(&t->files, &f->hn, h);
	return f;
}

static uint64_t slot_hash(const struct file_ent *f, uint64_t off)
{
	return hash_mix(hash_mix(f->st.dev, f->st.ino), off);
}

static struct uslot *slot_get(struct tracker *t, struct file_ent *f, uint64_t off, bool create)
{
	uint64_t h = slot_hash(f, off);
	struct hnode *n = NULL;
	struct uslot *s;

	while ((n = htab_next_match(&t->slots, h, n))) {
		s = container_of(n, struct uslot, hn);
		if (s->f == f && s->off == off)
			return s;
	}
	if (!create)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->f = f;
	s->off = off;
	htab_add(&t->slots, &s->hn, h);
	return s;
}

static struct bio_rec *bio_get(struct tracker *t, uint64_t ptr)
{
	struct hkey *k = hkey_find(&t->bios, ptr);

	return k ? container_of(k, struct bio_rec, k) : NULL;
}

static struct rq_rec *rq_get(struct tracker *t, uint64_t ptr)
{
	struct hkey *k = hkey_find(&t->rqs, ptr);

	return k ? container_of(k, struct rq_rec, k) : NULL;
}

static struct wrec *wrec_find(struct htab *h, uint64_t key)
{
	struct hkey *k = hkey_find(h, key);

	return k ? container_of(k, struct wrec, k) : NULL;
}

/* ---- device facts ---- */

static struct tw_device *device_find(struct tracker *t, uint32_t dev)
{
	for (size_t i = 0; i < t->nr_devices; i++)
		if (t->devices[i].dev == dev)
			return &t->devices[i];
	return NULL;
}

/*
 * A unit that reached the device in one request (whole, atomic) is still exposed when it is
 * larger than what that device writes atomically across a power cut. dev: the device of the
 * request that carried it; without its facts the unit is not judged, only counted apart.
 */
static void count_beyond_atomic(struct tracker *t, struct unit *u, enum tw_verdict v, uint32_t dev)
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

/*
 * Completion is persistence for a request with FUA, and for any request on a device without
 * a volatile cache (write_cache "write through": the block layer strips FUA and flushes
 * there, and none will come). Elsewhere, and on a device whose facts are unknown, a flush
 * issued after the completion is needed.
 */
static bool durable_at_completion(struct tracker *t, const struct lat_sample *x)
{
	return x->fua || tw_device_write_through(device_find(t, x->dev));
}

/* ---- latency ---- */

static void stage_add(struct tw_mode_stats *m, enum tw_stage st, uint64_t ns)
{
	m->hist[st][tw_log2_slot(ns / 1000)]++;
	m->sum_ns[st] += ns;
}

static struct dev_ent *dev_get(struct tracker *t, uint32_t dev)
{
	struct dev_ent *d;

	for (size_t i = 0; i < t->nr_devs; i++)
		if (t->devs[i].dev == dev)
			return &t->devs[i];
	d = realloc(t->devs, (t->nr_devs + 1) * sizeof(*d));
	if (!d)
		return NULL;
	t->devs = d;
	d = &t->devs[t->nr_devs++];
	memset(d, 0, sizeof(*d));
	d->dev = dev;
	return d;
}

static void await_flush(struct tracker *t, enum tw_mode m, const struct lat_sample *x)
{
	struct dev_ent *d = dev_get(t, x->dev);

	if (!d || d->n >= TW_MAX_UNFLUSHED) {
		t->modes[m].not_persisted++;
		return;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct unflushed *u = realloc(d->u, cap * sizeof(*u));

		if (!u) {
			t->modes[m].not_persisted++;
			return;
		}
		d->u = u;
		d->cap = cap;
	}
	d->u[d->n++] = (struct unflushed){ .t_write = x->t_write, .t_device = x->t_device,
					   .mode = m };
}

static void expo_persisted(struct tracker *t, struct dev_ent *d, uint64_t t_issue, uint64_t ts);

/* A flush issued at t_issue completed at ts: what reached the device before it is durable. */
static void flush_done(struct tracker *t, struct dev_ent *d, uint64_t t_issue, uint64_t ts)
{
	size_t kept = 0;

	expo_persisted(t, d, t_issue, ts);
	for (size_t i = 0; i < d->n; i++) {
		struct unflushed *u = &d->u[i];

		if (u->t_device <= t_issue)
			stage_add(&t->modes[u->mode], TW_ST_DURABLE, ts - u->t_write);
		else
			d->u[kept++] = *u;
	}
	d->n = kept;
}

static void on_flush(struct tracker *t, const struct tw_flush_ev *e)
{
	struct dev_ent *d = dev_get(t, e->dev);

	if (!d)
		return;
	if (!e->done) {
		if (d->nfl < TW_MAX_FLUSHES) {
			d->fl[d->nfl].rq = e->rq;
			d->fl[d->nfl++].t_issue = e->h.ts_ns;
		}
		return;
	}
	for (int i = 0; i < d->nfl; i++) {
		if (d->fl[i].rq != e->rq)
			continue;
		if (!e->error)
			flush_done(t, d, d->fl[i].t_issue, e->h.ts_ns);
		d->fl[i] = d->fl[--d->nfl];
		return;
	}
}

static void record_sample(struct tracker *t, enum tw_mode m, const struct lat_sample *x,
			  uint64_t t_visible)
{
	struct tw_mode_stats *ms = &t->modes[m];
	uint64_t submit = x->t_submit ? x->t_submit : x->t_device;
	uint64_t wb = x->t_wb && x->t_wb < submit ? x->t_wb : submit;

	if (!t_visible) {
		ms->incomplete++;
		return;
	}
	stage_add(ms, TW_ST_SYSCALL, t_visible > x->t_write ? t_visible - x->t_write : 0);
	stage_add(ms, TW_ST_CACHE, wb > t_visible ? wb - t_visible : 0);
	if (x->t_wb)	/* writeback seen apart from its bio */
		stage_add(ms, TW_ST_QUEUED, submit - wb);
	stage_add(ms, TW_ST_DEVICE, x->t_device > submit ? x->t_device - submit : 0);
	stage_add(ms, TW_ST_END_TO_END, x->t_device > x->t_write ? x->t_device - x->t_write : 0);
	if (durable_at_completion(t, x))
		stage_add(ms, TW_ST_DURABLE, x->t_device - x->t_write);
	else
		await_flush(t, m, x);
}

static void wrec_put(struct wrec *w)
{
	if (!w || --w->refs)
		return;
	free(w->parked);
	free(w->disp);
	free(w);
}

static void settle_displaced(struct tracker *t, struct wrec *w);

/* The write returned (t_visible), or is given up (0): the parked times are recorded. */
static void wrec_close(struct tracker *t, struct wrec *w, uint64_t t_visible)
{
	if (!w->open_in)
		return;
	htab_del(w->open_in, &w->k.hn);
	w->open_in = NULL;
	w->t_visible = t_visible;
	settle_displaced(t, w);
	for (uint32_t i = 0; i < w->nparked; i++)
		record_sample(t, w->mode, &w->parked[i], t_visible);
	w->nparked = 0;
	wrec_put(w);
}

/* A unit reached the device: its stages now, or when its write returns. */
static void unit_latency(struct tracker *t, struct unit *u, uint64_t t_device, uint32_t dev)
{
	struct wrec *w = u->w;
	struct lat_sample x = { .t_wb = u->t_wb, .t_submit = u->t_submit, .t_device = t_device,
				.dev = dev,
				.fua = !(u->flags & U_NOT_FUA) };

	if (!w)
		return;
	x.t_write = w->t_write;
	if (!w->open_in) {
		record_sample(t, w->mode, &x, w->t_visible);
		return;
	}
	if (w->nparked == w->cap) {
		uint32_t cap = w->cap ? w->cap * 2 : 4;
		struct lat_sample *p = realloc(w->parked, cap * sizeof(*p));

		if (!p) {
			t->modes[w->mode].incomplete++;
			return;
		}
		w->parked = p;
		w->cap = cap;
	}
	w->parked[w->nparked++] = x;
}

/* ---- units ---- */

static void unit_free(struct tracker *t, struct unit *u)
{
	t->live_units--;
	wrec_put(u->w);
	free(u);
}

static void unit_put(struct tracker *t, struct unit *u)
{
	if (--u->refs == 0 && !u->live)
		unit_free(t, u);
}

/* The file's cached list: grid units no bio carried yet, for a writepages pass's end. */
static void cached_add(struct unit *u)
{
	struct file_ent *f = u->f;

	u->c_prev = NULL;
	u->c_next = f->cached;
	if (f->cached)
		f->cached->c_prev = u;
	f->cached = u;
	u->in_cached = true;
}

static void cached_del(struct unit *u)
{
	if (!u->in_cached)
		return;
	if (u->c_prev)
		u->c_prev->c_next = u->c_next;
	else
		u->f->cached = u->c_next;
	if (u->c_next)
		u->c_next->c_prev = u->c_prev;
	u->c_prev = u->c_next = NULL;
	u->in_cached = false;
}

/* Take a unit out of its slot chain or atomic list; free the slot when empty. */
static void unit_unlink(struct tracker *t, struct unit *u)
{
	struct unit **pp = u->slot ? &u->slot->oldest : &u->f->atomics;

	cached_del(u);
	for (; *pp; pp = &(*pp)->next) {
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	}
	u->next = NULL;
	if (u->slot && !u->slot->oldest) {
		htab_del(&t->slots, &u->slot->hn);
		free(u->slot);
	}
	u->slot = NULL;
}

static void note_offender(struct tracker *t, enum tw_fail_kind k, struct file_ent *f, uint64_t off,
			  uint64_t len, int64_t err)
{
	uint32_t n = t->nr_offenders[k];

	if (n >= TW_MAX_OFFENDERS)
		return;
	t->offenders[k][n].f = f;
	t->offenders[k][n].off = off;
	t->offenders[k][n].len = len;
	t->offenders[k][n].err = err;
	t->nr_offenders[k] = n + 1;
}

static void count_dev_unit(struct tracker *t, uint32_t dev, enum tw_mode m, enum tw_verdict v)
{
	struct tw_dev_units *d;
	size_t i;

	for (i = 0; i < t->nr_dev_units; i++)
		if (t->dev_units[i].dev == dev)
			break;
	if (i == t->nr_dev_units) {
		d = realloc(t->dev_units, (i + 1) * sizeof(*d));
		if (!d)
			return;
		t->dev_units = d;
		memset(&d[i], 0, sizeof(d[i]));
		d[i].dev = dev;
		t->nr_dev_units++;
	}
	t->dev_units[i].n[m][v]++;
}

static void count_verdict(struct tracker *t, struct unit *u, enum tw_verdict v)
{
	count_dev_unit(t, u->f->st.dev, u->w ? u->w->mode : TW_M_BUFFERED, v);
	if (v == TW_V_SPLIT)
		note_offender(t, TW_F_SPLIT, u->f, u->off, u->len, 0);
	else if (v == TW_V_MODIFIED)
		note_offender(t, TW_F_MODIFIED, u->f, u->off, u->len, 0);
	else if (v == TW_V_PENDING)
		note_offender(t, TW_F_PENDING, u->f, u->off, u->len, 0);
	struct tw_counts *cs[2] = { &t->c, &u->f->st.c };

	if (u->w)
		t->modes[u->w->mode].units++;

	for (int i = 0; i < 2; i++) {
		struct tw_counts *c = cs[i];

		c->verdict[v]++;
		if (v == TW_V_SPLIT) {
			if (u->flags & U_SPLIT_BLOCK)
				c->split_block++;
			if (u->nbios > 1)
				(u->flags & U_DIRECT) ? c->split_dio++ : c->split_writeback++;
		}
		if ((v == TW_V_WHOLE || v == TW_V_ATOMIC) && u->nbios > 1)
			c->rejoined++;
		if (v == TW_V_PENDING)
			u->queued || (u->flags & U_WB) ? c->pending_inflight++ :
							  c->pending_cached++;
		if (u->flags & U_ERROR)
			c->io_errors++;
	}
}

/*
 * A verdict's --events line, when one is wanted (false: none). t_device: when its last bytes
 * completed at the device, 0 for no device. unit_exposure() adds its persistence and exposure.
 */
static bool unit_event(struct tracker *t, struct unit *u, enum tw_verdict v, uint64_t t_device,
		       struct tw_unit_event *ev)
{
	struct wrec *w = u->w;
	struct task_ent *te;

	if (!t->event_fn || (!t->events_all && (v == TW_V_WHOLE || v == TW_V_ATOMIC)))
		return false;
	*ev = (struct tw_unit_event){
		.t_ns = (t_device ? t_device : t->now) - t->t0,
		.mode = w ? w->mode : TW_M_BUFFERED,
		.dev = u->f->st.dev, .ino = u->f->st.ino,
		.path = u->f->st.path[0] ? u->f->st.path : "?",
		.off = u->off, .len = u->len, .verdict = v,
		.bios = u->nbios, .requests = u->nreq, .comm = "",
		.issue_ns = u->t_issue, .complete_ns = t_device,
	};
	if (w) {
		struct hkey *k = hkey_find(&t->tasks, w->tid);

		te = k ? container_of(k, struct task_ent, k) : NULL;
		ev->pid = w->pid;
		ev->tid = w->tid;
		ev->write_ns = w->t_write;
		if (te)
			ev->comm = te->comm;
		if (w->t_visible && w->t_visible > w->t_write)
			ev->syscall_ns = w->t_visible - w->t_write;
		if (t_device && t_device > w->t_write)
			ev->end_to_end_ns = t_device - w->t_write;
	}
	return true;
}

/* ---- torn exposure ---- */

#define TW_EXPO_REORDER_NS 100000000ULL	/* records come at most 100 ms out of time order */
#define TW_EXPO_SWEEP_MIN 4096		/* exposure events kept before a sweep is tried */
#define TW_EXPO_MAX_EVENTS (1 << 20)	/* past this, sweep despite a unit long in flight */

/* Units whose first bio was queued and that wait for a verdict: their exposure may begin then. */
static void inflight_add(struct tracker *t, struct unit *u)
{
	u->if_prev = t->if_tail;
	u->if_next = NULL;
	if (t->if_tail)
		t->if_tail->if_next = u;
	else
		t->if_head = u;
	t->if_tail = u;
	u->in_flight = true;
}

static void inflight_del(struct tracker *t, struct unit *u)
{
	if (!u->in_flight)
		return;
	if (u->if_prev)
		u->if_prev->if_next = u->if_next;
	else
		t->if_head = u->if_next;
	if (u->if_next)
		u->if_next->if_prev = u->if_prev;
	else
		t->if_tail = u->if_prev;
	u->if_prev = u->if_next = NULL;
	u->in_flight = false;
}

/*
 * Can a power cut tear it? Split and modified units; one request beyond the device's
 * power-fail atomic size, or on a device whose size is unknown (nothing proves it safe);
 * a unit with bytes in flight at the end. What never reached the device is not torn (lost
 * at worst), nor is a cow-atomic unit (the remap is atomic).
 */
static bool unit_exposed(struct tracker *t, const struct unit *u, enum tw_verdict v, uint32_t dev)
{
	struct tw_device *d;

	switch (v) {
	case TW_V_SPLIT:
	case TW_V_MODIFIED:
		return true;
	case TW_V_WHOLE:
	case TW_V_ATOMIC:
		d = device_find(t, dev);
		return !d || !d->atomic_size || u->len > d->atomic_size;
	case TW_V_PENDING:
		return u->queued;
	default:
		return false;
	}
}

/* Its exposure begins with its first request's issue (unseen: its first bio's queueing). */
static uint64_t exposure_start(const struct tracker *t, const struct unit *u, uint64_t t_device)
{
	uint64_t from = u->t_issue ? u->t_issue : u->t_submit ? u->t_submit : t->now;

	if (t_device && from > t_device)
		from = t_device;
	return from > t->t0 ? from : t->t0;
}

static void expo_scopes(struct tracker *t, struct file_ent *f, enum tw_mode m,
			struct expo_scope *sc[EXPO_SCOPES])
{
	sc[0] = &t->run_xs;
	sc[1] = &t->mode_xs[m];
	sc[2] = &f->xs;
}

static void event_emit(struct tracker *t, const struct tw_unit_event *ev)
{
	t->event_fn(t->event_ctx, ev);
}

/* Exposed from; waits on d's volatile cache for a flush issued after t_device. */
static bool expo_wait(struct dev_ent *d, struct unit *u, enum tw_mode m, uint64_t t_device,
		      uint64_t from, const struct tw_unit_event *ev)
{
	struct expo_wait *w;

	if (!d || d->nxw >= TW_MAX_UNFLUSHED)
		return false;
	if (d->nxw == d->capxw) {
		size_t cap = d->capxw ? d->capxw * 2 : 64;

		w = realloc(d->xw, cap * sizeof(*w));
		if (!w)
			return false;
		d->xw = w;
		d->capxw = cap;
	}
	w = &d->xw[d->nxw];
	*w = (struct expo_wait){ .t_device = t_device, .from = from, .f = u->f, .mode = m };
	if (ev) {
		w->ev = malloc(sizeof(*w->ev));
		if (!w->ev)
			return false;
		*w->ev = *ev;
	}
	d->nxw++;
	return true;
}

static struct dev_ent *dev_get(struct tracker *t, uint32_t dev);

/*
 * Its verdict came: is it exposed, from when, until when? Its --events line (ev, when
 * wanted) is printed now, or once a flush persisted it, or at the end.
 */
static void unit_exposure(struct tracker *t, struct unit *u, enum tw_verdict v, uint64_t t_device,
			  uint32_t dev, struct tw_unit_event *ev)
{
	enum tw_mode m = u->w ? u->w->mode : TW_M_BUFFERED;
	struct lat_sample x = { .dev = dev, .fua = !(u->flags & U_NOT_FUA) };
	struct expo_scope *sc[EXPO_SCOPES];
	uint64_t from = 0;

	expo_scopes(t, u->f, m, sc);
	if (unit_exposed(t, u, v, dev)) {
		from = exposure_start(t, u, t_device);
		expo__begin(t->expo, sc, from);
		note_offender(t, TW_F_EXPOSED, u->f, u->off, u->len, 0);
		if (ev)
			ev->exposed_from_ns = from;
	}
	if (t_device && durable_at_completion(t, &x)) {
		if (from)
			expo__end(t->expo, sc, from, t_device);
		if (ev) {
			ev->persisted_ns = t_device;
			ev->exposed_until_ns = from ? t_device : 0;
		}
	} else if (t_device && (from || ev) &&
		   expo_wait(dev_get(t, dev), u, m, t_device, from, ev)) {
		return;		/* told at the flush */
	}
	if (ev)
		event_emit(t, ev);
}

/* A flush issued at t_issue completed at ts: what reached d before it is persisted now. */
static void expo_persisted(struct tracker *t, struct dev_ent *d, uint64_t t_issue, uint64_t ts)
{
	size_t kept = 0;

	for (size_t i = 0; i < d->nxw; i++) {
		struct expo_wait *w = &d->xw[i];
		struct expo_scope *sc[EXPO_SCOPES];

		if (w->t_device > t_issue) {
			d->xw[kept++] = *w;
			continue;
		}
		if (w->from) {
			expo_scopes(t, w->f, w->mode, sc);
			expo__end(t->expo, sc, w->from, ts);
		}
		if (w->ev) {
			w->ev->persisted_ns = ts;
			w->ev->exposed_until_ns = w->from ? ts : 0;
			event_emit(t, w->ev);
			free(w->ev);
		}
	}
	d->nxw = kept;
}

/* The end: units still waiting for a flush were not persisted; their lines are printed. */
static void expo_unpersisted(struct tracker *t)
{
	for (size_t i = 0; i < t->nr_devs; i++) {
		struct dev_ent *d = &t->devs[i];

		for (size_t k = 0; k < d->nxw; k++) {
			if (d->xw[k].ev)
				event_emit(t, d->xw[k].ev);
			free(d->xw[k].ev);
		}
		d->nxw = 0;
	}
}

/*
 * Fold the exposure events no record still to come can precede: before the latest record
 * time, or the first bio of the oldest unit in flight (whose exposure may begin there), less
 * the records' reordering. A unit in flight so long that TW_EXPO_MAX_EVENTS wait no longer
 * holds the sweep back: its interval, if it comes, counts in exposure_inexact.
 */
static void expo_maybe_sweep(struct tracker *t)
{
	size_t n = expo__pending(t->expo);
	uint64_t mark = t->max_ts;

	if (n > t->expo_peak)
		t->expo_peak = n;
	if (n < t->expo_next)
		return;
	if (t->if_head && t->if_head->t_submit < mark && n < TW_EXPO_MAX_EVENTS)
		mark = t->if_head->t_submit;
	expo__sweep(t->expo, mark > TW_EXPO_REORDER_NS ? mark - TW_EXPO_REORDER_NS : 0);
	n = expo__pending(t->expo);
	t->expo_next = 2 * n > TW_EXPO_SWEEP_MIN ? 2 * n : TW_EXPO_SWEEP_MIN;
}

uint64_t tracker__peak_exposure_events(const struct tracker *t)
{
	return t->expo_peak;
}

static void unit_finalize(struct tracker *t, struct unit *u, enum tw_verdict v, uint64_t t_device,
			  uint32_t dev)
{
	struct tw_unit_event ev;

	inflight_del(t, u);
	unit_exposure(t, u, v, t_device, dev, unit_event(t, u, v, t_device, &ev) ? &ev : NULL);
	count_verdict(t, u, v);
	count_beyond_atomic(t, u, v, dev);
	if (u->flags & U_INFERRED) {
		t->join.units_inferred++;
		note_offender(t, TW_F_INFERRED, u->f, u->off, u->len, 0);
	}
	if (t_device)
		unit_latency(t, u, t_device, dev);
	if (t_device && !(u->flags & U_DIRECT))
		t->triggers[u->trigger]++;
	u->live = false;
	unit_unlink(t, u);
	if (!u->refs)
		unit_free(t, u);
}

static enum tw_verdict done_verdict(const struct unit *u)
{
	if (u->flags & U_MODIFIED)
		return TW_V_MODIFIED;
	if (u->nreq <= 1)
		return u->nreq == 1 && u->nreq_atomic == 1 ? TW_V_ATOMIC : TW_V_WHOLE;
	/*
	 * An inference never decides a verdict it cannot prove. One bio that block_split never
	 * cut sits in one request; a second request id for it can only come from the tracker's
	 * own reuse inference (a request struct or bio address taken for reused), so it is not
	 * evidence of a split. The unit counts as whole, and apart in join.units_inferred.
	 */
	if ((u->flags & U_INFERRED) && u->nbios <= 1 && !(u->flags & U_SPLIT_BLOCK))
		return TW_V_WHOLE;
	if ((u->flags & (U_ATOMIC_WRITE | U_COW)) == (U_ATOMIC_WRITE | U_COW))
		return TW_V_COW_ATOMIC;
	return TW_V_SPLIT;
}

static struct unit *unit_new(struct tracker *t, struct file_ent *f, uint64_t off, uint64_t len,
			     struct wrec *w, uint32_t flags)
{
	struct unit *u;

	if (t->live_units >= t->max_units || !(u = calloc(1, sizeof(*u)))) {
		t->c.untracked++;
		f->st.c.untracked++;
		return NULL;
	}
	if (++t->live_units > t->peak_units)
		t->peak_units = t->live_units;
	if (off + len > f->clean_from)
		f->clean_from = UINT64_MAX;
	u->f = f;
	u->off = off;
	u->len = len;
	u->w = w;
	w->refs++;
	u->flags = flags;
	u->live = true;
	u->last_bio = u->last_rq = u->scratch = UINT64_MAX;
	return u;
}

static void list_append(struct unit **head, struct unit *u)
{
	while (*head)
		head = &(*head)->next;
	*head = u;
}

static bool wrec_hold(struct wrec *w, struct unit *u)
{
	if (w->ndisp == w->dcap) {
		uint32_t cap = w->dcap ? w->dcap * 2 : 4;
		struct unit **d = realloc(w->disp, cap * sizeof(*d));

		if (!d)
			return false;
		w->disp = d;
		w->dcap = cap;
	}
	w->disp[w->ndisp++] = u;
	u->refs++;
	return true;
}

/*
 * A new write of a whole unit whose previous instance no bio carried yet (a grid instance
 * made by mmap stores may hold only part of the unit: one inside the range counts). Whose writeback
 * began (U_WB) is in flight, not superseded. One not known to be is displaced (w given):
 * its folio may be under writeback already, its bio held before the block layer (blk-throttle)
 * or not yet built. While w writes, its own thread finds such a folio under writeback (a
 * modification, a stable-page wait: see wb_instance()); when w returns without that, the
 * instance was superseded (settle_displaced()). Without w, superseded at once.
 */
static void supersede_cached(struct tracker *t, struct unit *list, uint64_t off, uint64_t len,
			     struct wrec *w)
{
	struct unit *u, *next;

	for (u = list; u; u = next) {
		next = u->next;
		if (!u->live || u->off < off || u->off + u->len > off + len ||
		    (!u->slot && u->off + u->len != off + len) || u->queued ||
		    (u->flags & (U_WB | U_DISPLACED)))
			continue;
		if (w && wrec_hold(w, u)) {
			u->flags |= U_DISPLACED;
			u->displaced_by = w->id;
		} else {
			unit_finalize(t, u, TW_V_SUPERSEDED, 0, 0);
		}
	}
}

/* w returned (written: the bytes it wrote, UINT64_MAX all): what it displaced is settled. */
static void settle_displaced(struct tracker *t, struct wrec *w)
{
	for (uint32_t i = 0; i < w->ndisp; i++) {
		struct unit *u = w->disp[i];

		if (u->live && (u->flags & U_DISPLACED) && u->displaced_by == w->id) {
			if (u->flags & U_WB)	/* in flight: its bio is still to come */
				u->flags &= ~U_DISPLACED;
			else if (w->written != UINT64_MAX && u->off + u->len > w->pos + w->written)
				u->flags &= ~U_DISPLACED;	/* not rewritten after all */
			else
				unit_finalize(t, u, TW_V_SUPERSEDED, 0, 0);
		}
		unit_put(t, u);
	}
	w->ndisp = 0;
}

static void make_units(struct tracker *t, struct wrec *w, uint64_t len)
{
	uint64_t U = t->unit_size, off, end;
	struct file_ent *f = w->f;
	struct unit *u;

	if (w->uflags & U_ATOMIC_WRITE) {
		if (!len)
			return;
		supersede_cached(t, f->atomics, w->pos, len, NULL);
		u = unit_new(t, f, w->pos, len, w, w->uflags);
		if (u)
			list_append(&f->atomics, u);
		return;
	}
	if (!U)
		return;
	if ((w->pos % U) || (len % U)) {
		t->c.misaligned++;
		f->st.c.misaligned++;
		note_offender(t, TW_F_MISALIGNED, f, w->pos, len, 0);
	}
	off = (w->pos + U - 1) / U * U;
	end = (w->pos + len) / U * U;
	for (; off + U <= end; off += U) {
		/* a full table: only a unit already here can change (superseded), at no cost */
		struct uslot *s = slot_get(t, f, off, t->live_units < t->max_units);

		if (!s) {
			t->c.untracked++;
			f->st.c.untracked++;
			continue;
		}
		supersede_cached(t, s->oldest, off, U, w);
		s = slot_get(t, f, off, true); /* superseding may have freed it */
		if (!s)
			continue;
		u = unit_new(t, f, off, U, w, w->uflags);
		if (!u) {
			if (!s->oldest) {
				htab_del(&t->slots, &s->hn);
				free(s);
			}
			continue;
		}
		u->slot = s;
		list_append(&s->oldest, u);
		cached_add(u);
	}
}

/* The write returned less than asked (or failed): units it never wrote are not units. */
static void drop_unwritten(struct tracker *t, struct wrec *w, uint64_t written)
{
	uint64_t U = t->unit_size, off;
	struct unit *u, *next;

	for (u = w->f->atomics; u; u = next) {
		next = u->next;
		if (u->w == w && !u->queued && u->off + u->len > w->pos + written) {
			unit_unlink(t, u);
			u->live = false;
			if (!u->refs)
				unit_free(t, u);
		}
	}
	if (!U || (w->uflags & U_ATOMIC_WRITE))
		return;
	for (off = (w->pos + written) / U * U; off < w->pos + w->count; off += U) {
		struct uslot *s = slot_get(t, w->f, off, false);

		if (!s)
			continue;
		for (u = s->oldest; u; u = next) {
			next = u->next;
			if (u->w == w && !u->queued) {
				/* unlinking the only instance frees the slot */
				bool only = s->oldest == u && !u->next;

				unit_unlink(t, u);
				u->live = false;
				if (!u->refs)
					unit_free(t, u);
				if (only)
					break;
			}
		}
	}
}

/* ---- records ---- */

/* A write of f, counted; one reference, the caller's. */
static struct wrec *wrec_new(struct tracker *t, struct file_ent *f, const struct tw_hdr *hdr,
			     uint64_t pos, uint64_t count, uint32_t uflags, enum tw_mode mode)
{
	struct wrec *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->refs = 1;
	w->written = UINT64_MAX;
	w->f = f;
	w->pos = pos;
	w->count = count;
	w->uflags = uflags;
	w->mode = mode;
	w->id = ++t->next_id;
	w->t_write = hdr->ts_ns;
	w->pid = hdr->pid;
	w->tid = hdr->tid;
	f->st.writes++;
	t->writes_n++;
	t->modes[mode].writes++;
	return w;
}

/* A write begins: its record, open under key in h (tid, or kiocb for async direct). */
static struct wrec *write_start(struct tracker *t, struct htab *h, uint64_t key,
				const struct tw_hdr *hdr, uint32_t dev, uint64_t ino, uint64_t pos,
				uint64_t count, uint32_t uflags, enum tw_mode mode)
{
	struct wrec *w = wrec_find(h, key);
	struct file_ent *f = file_get(t, dev, ino, true);

	if (w)		/* the last one never returned (its END was lost): give it up */
		wrec_close(t, w, 0);
	if (!f || !(w = wrec_new(t, f, hdr, pos, count, uflags, mode)))
		return NULL;
	w->open_in = h;
	hkey_add(h, &w->k, key);
	return w;
}

static void on_atomic_limits(struct tracker *t, const struct tw_atomic_limits_ev *e)
{
	struct file_ent *f = file_get(t, e->dev, e->ino, true);

	if (!f)
		return;
	f->have_atomic = true;
	f->atomic_min = e->unit_min;
	f->atomic_max = e->unit_max;
	f->atomic_segments = e->segments_max;
}

/* The kernel's rules for an RWF_ATOMIC write, checked before its errno says only EINVAL. */
static void check_atomic(struct tracker *t, struct file_ent *f, bool direct, uint64_t pos,
			 uint64_t len, uint32_t iovcnt)
{
	uint64_t *v = t->atomic.violations;

	if (!direct) {
		v[TW_AV_BUFFERED]++;
		return;
	}
	if (!f->have_atomic)
		return;
	t->atomic.checked++;
	if (!f->atomic_min) {
		v[TW_AV_UNSUPPORTED]++;
		return;
	}
	if (!is_pow2(len))
		v[TW_AV_NOT_POW2]++;
	if (len < f->atomic_min)
		v[TW_AV_BELOW_MIN]++;
	if (len > f->atomic_max)
		v[TW_AV_ABOVE_MAX]++;
	if (len && pos % len)
		v[TW_AV_UNALIGNED]++;
	if (iovcnt > (f->atomic_segments ? f->atomic_segments : 1))
		v[TW_AV_SEGMENTS]++;
}

/* An atomic unit's request must fit the device: no boundary crossed, not over unit max. */
static bool rq_breaks_atomic_limits(const struct tracker *t, const struct tw_rq_ev *e)
{
	uint64_t lo = e->sector * 512, hi = lo + e->rq_bytes;

	for (size_t i = 0; i < t->nr_devices; i++) {
		const struct tw_device *d = &t->devices[i];

		if (d->dev != e->dev || !d->atomic_unit_max || !e->rq_bytes)
			continue;
		if (e->rq_bytes > d->atomic_unit_max)
			return true;
		return d->atomic_boundary && lo / d->atomic_boundary != (hi - 1) / d->atomic_boundary;
	}
	return false;
}

/* WRITE_BEGIN makes the units of the bytes asked for; WRITE_END corrects short writes. */
static void write_returned(struct tracker *t, struct wrec *w, int64_t ret, uint64_t ts);

/*
 * A buffered iocb of io_submit (TW_W_AIO) is open in the aio table under its thread and
 * place in the batch (bit 62: never a kernel kiocb address) until io_submit returns.
 */
#define AIO_KEY(tid, i) ((1ULL << 62) | ((uint64_t)(tid) << 8) | (i))

struct aio_of_tid {
	uint64_t key0;
};

static bool aio_of_tid(const struct hnode *n, const void *ctx)
{
	const struct wrec *w = container_of(n, struct wrec, k.hn);

	return (w->k.key & ~0xffULL) == ((const struct aio_of_tid *)ctx)->key0;
}

/*
 * io_submit returned ret, the number of iocbs it took (or -errno): those ran inside it
 * (buffered AIO is synchronous), so their bytes are visible now; the rest wrote nothing.
 * Each taken one counts as a full write: AIO reports its own result only in the ring.
 * A direct iocb (only kernels without iomap_dio_rw_begin send these) has queued its bios
 * but completes later, unseen: taken, it is closed without a return time, so its units'
 * latency samples are incomplete; their verdicts come from the bios.
 */
static void on_aio_end(struct tracker *t, const struct tw_write_end_ev *e)
{
	struct aio_of_tid sel = { AIO_KEY(e->h.tid, 0) };
	struct hnode **v;
	size_t nr;

	v = htab_select(&t->aio, aio_of_tid, &sel, &nr);
	for (size_t i = 0; i < nr; i++) {
		struct wrec *w = container_of(v[i], struct wrec, k.hn);
		int64_t idx = w->k.key & 0xff;
		bool taken = e->ret >= 0 && idx < e->ret;

		if (taken && (w->uflags & U_DIRECT)) {
			wrec_close(t, w, 0);	/* its result is unknown: written stays "all" */
			continue;
		}
		write_returned(t, w, e->ret < 0 ? e->ret : taken ? (int64_t)w->count : 0,
			       e->h.ts_ns);
	}
	free(v);
}

/*
 * A buffered io_uring write (TW_W_URING) is open in the aio table under its request's
 * address with bit 62 cleared: never a kernel kiocb address (bits 48..63 all set), never
 * an AIO_KEY (bit 63 clear).
 */
#define URING_KEY(req) ((req) & ~(1ULL << 62))

/*
 * Its CQE was posted (or queued on the overflow list): ret is what it wrote, or -errno.
 * TW_URING_SILENT: its request was reused without a CQE seen. With IOSQE_CQE_SKIP_SUCCESS
 * it wrote all it asked (a short or failed write posts a CQE). Without, its CQE went
 * unseen: its units stay as asked, for their bios to judge. Either way the time it
 * returned is unknown, and its latency samples count as incomplete.
 */
static void on_uring_end(struct tracker *t, const struct tw_uring_end_ev *e)
{
	struct wrec *w = wrec_find(&t->aio, URING_KEY(e->req));

	if (!w)
		return;
	if (e->flags & TW_URING_SILENT)
		wrec_close(t, w, 0);
	else
		write_returned(t, w, e->ret, e->h.ts_ns);
}

static void on_write_begin(struct tracker *t, const struct tw_write_ev *e)
{
	uint32_t uflags = 0;
	struct htab *h = &t->writes;
	uint64_t key = e->h.tid;
	struct wrec *w;

	if (e->wflags & TW_W_AIO) {
		h = &t->aio;
		key = AIO_KEY(e->h.tid, e->aio_index);
	} else if (e->wflags & TW_W_URING) {
		h = &t->aio;
		key = URING_KEY(e->req);
	}

	/* The thread's previous write wrote all it asked; its return time comes only now. */
	if (e->prev_end_ns && (w = wrec_find(&t->writes, e->h.tid)))
		write_returned(t, w, w->count, e->prev_end_ns);

	if (e->f_flags & TW_O_DIRECT)
		uflags |= U_DIRECT;
	if (e->rwf & TW_RWF_ATOMIC)
		uflags |= U_ATOMIC_WRITE;
	w = write_start(t, h, key, &e->h, e->dev, e->ino, e->pos, e->count, uflags,
			tw_mode_of_write(e->f_flags, e->rwf));
	if (!w)
		return;
	if (uflags & U_ATOMIC_WRITE)
		check_atomic(t, w->f, uflags & U_DIRECT, e->pos, e->count, e->iovcnt);
	if (e->wflags & TW_W_COUNT_UNKNOWN) {
		w->count_unknown = true;
		return;
	}
	make_units(t, w, e->count);
	w->f->st.bytes += e->count;
	t->write_bytes += e->count;
}

static void count_refused(struct tracker *t, struct wrec *w, int64_t err)
{
	struct tw_mode_stats *m = &t->modes[w->mode];

	m->refused++;
	if (-err > 0 && -err < TW_ERRNO_MAX)
		m->refused_errno[-err]++;
	if (w->uflags & U_ATOMIC_WRITE) {
		t->c.refused++;
		w->f->st.c.refused++;
		note_offender(t, TW_F_REFUSED, w->f, w->pos, w->count, -err);
	}
}

/* The write returned ret: units it did not write are dropped; its times are now known. */
static void write_returned(struct tracker *t, struct wrec *w, int64_t ret, uint64_t ts)
{
	uint64_t counted = w->count_unknown ? 0 : w->count;	/* taken at WRITE_BEGIN */

	w->written = ret < 0 ? 0 : (uint64_t)ret;
	if (ret < 0) {
		if (!w->count_unknown)
			drop_unwritten(t, w, 0);
		count_refused(t, w, ret);
		w->f->st.bytes -= counted;
		t->write_bytes -= counted;
	} else {
		uint64_t n = ret;

		if (w->count_unknown) {
			w->count = n;
			make_units(t, w, n);
		} else if (n < w->count) {
			drop_unwritten(t, w, n);
		}
		w->f->st.bytes += n - counted;
		t->write_bytes += n - counted;
	}
	wrec_close(t, w, ts);
}

static void on_write_end(struct tracker *t, const struct tw_write_end_ev *e)
{
	struct wrec *w = wrec_find(&t->writes, e->h.tid);

	if (w)
		write_returned(t, w, e->ret, e->h.ts_ns);
}

static void on_dio_begin(struct tracker *t, const struct tw_dio_ev *e)
{
	struct wrec *w = wrec_find(&t->writes, e->h.tid);
	uint32_t uflags = U_DIRECT;

	/* A write syscall already made the units; this is its kiocb. */
	if (w && !w->dio_seen && (w->uflags & U_DIRECT) && w->f->st.dev == e->dev &&
	    w->f->st.ino == e->ino && w->pos == e->pos) {
		w->dio_seen = true;
		return;
	}
	/* io_uring, aio: the kiocb is the only record of the write, DIO_END its return. */
	if (e->ki_flags & TW_IOCB_ATOMIC)
		uflags |= U_ATOMIC_WRITE;
	w = write_start(t, &t->aio, e->iocb, &e->h, e->dev, e->ino, e->pos, e->count, uflags,
			tw_mode_of_kiocb(e->ki_flags));
	if (!w)
		return;
	if (uflags & U_ATOMIC_WRITE)	/* the iovecs are not known here: counted as one */
		check_atomic(t, w->f, true, e->pos, e->count, 1);
	make_units(t, w, e->count);
	w->f->st.bytes += e->count;
	t->write_bytes += e->count;
}

/*
 * io_uring tries a write with IOCB_NOWAIT first; -EAGAIN sends the same kiocb to a
 * worker, which begins it again. That attempt was no write and no refusal.
 */
static void write_retried(struct tracker *t, struct wrec *w)
{
	drop_unwritten(t, w, 0);
	w->f->st.writes--;
	w->f->st.bytes -= w->count;
	t->writes_n--;
	t->write_bytes -= w->count;
	t->modes[w->mode].writes--;
	w->written = 0;
	wrec_close(t, w, 0);
}

static void on_dio_end(struct tracker *t, const struct tw_dio_end_ev *e)
{
	struct wrec *w = wrec_find(&t->aio, e->iocb);

	if (!w)
		return;
	if (e->ret == -11 /* EAGAIN */)
		write_retried(t, w);
	else
		write_returned(t, w, e->ret, e->h.ts_ns);
}

/* An instance made by stores, all still in the cache (no bio, no writeback seen). */
static bool mmap_growable(const struct unit *u)
{
	return u->live && (u->flags & U_MMAP) && u->in_cached && !(u->flags & (U_WB | U_DISPLACED));
}

/*
 * One grid unit's bytes [lo, hi) dirtied by a store. Instances the stores of this unit made
 * before, still all in the cache, that touch them become one instance covering them all
 * (stores come in any order: a memcpy may fault its pages from the last); else a new one.
 */
static void mmap_unit(struct tracker *t, struct file_ent *f, struct wrec *w, uint64_t off,
		      uint64_t lo, uint64_t hi)
{
	struct uslot *s = slot_get(t, f, off, t->live_units < t->max_units);
	struct unit *u, *next, *keep = NULL;
	bool grew = true;

	if (!s) {
		t->c.untracked++;
		f->st.c.untracked++;
		return;
	}
	while (grew) {
		grew = false;
		for (u = s->oldest; u; u = next) {
			next = u->next;
			if (u == keep || !mmap_growable(u) || u->off > hi || lo > u->off + u->len)
				continue;
			lo = lo < u->off ? lo : u->off;
			hi = hi > u->off + u->len ? hi : u->off + u->len;
			grew = true;
			if (!keep) {
				keep = u;
			} else {	/* absorbed: never judged, never counted */
				unit_unlink(t, u);
				u->live = false;
				if (!u->refs)
					unit_free(t, u);
			}
		}
		if (keep) {
			keep->off = lo;
			keep->len = hi - lo;
		}
	}
	if (keep) {
		if (hi > f->clean_from)
			f->clean_from = UINT64_MAX;
		return;
	}
	u = unit_new(t, f, lo, hi - lo, w, U_MMAP);
	if (!u) {
		if (!s->oldest) {
			htab_del(&t->slots, &s->hn);
			free(s);
		}
		return;
	}
	u->slot = s;
	list_append(&s->oldest, u);
	cached_add(u);
}

/*
 * A store through a shared mapping dirtied a clean folio (tw_mmap_ev): an mmap write, visible
 * at once. Its units are the grid units holding the page stored to. Of each, the bytes that
 * writeback will carry are the dirty folio's: the whole unit when the folio holds it, else
 * the folio (units and folios are naturally aligned powers of two). The unit's other folios
 * are clean: the device already holds their bytes, unless a store dirties them too (then the
 * instance grows), or they were dirty already (stores to them were not seen).
 */
static void on_mmap_dirty(struct tracker *t, const struct tw_mmap_ev *e)
{
	uint64_t U = t->unit_size, flo = e->index << 12, fhi = flo + ((uint64_t)e->nr_pages << 12);
	struct file_ent *f = file_get(t, e->dev, e->ino, true);
	struct wrec *w;

	if (!f || !(w = wrec_new(t, f, &e->h, flo, fhi - flo, 0, TW_M_MMAP)))
		return;
	w->t_visible = e->h.ts_ns;
	f->st.bytes += fhi - flo;
	t->write_bytes += fhi - flo;
	for (uint64_t off = U ? e->pos / U * U : UINT64_MAX; off < e->pos + 4096; off += U) {
		uint64_t lo = off > flo ? off : flo, hi = off + U < fhi ? off + U : fhi;

		mmap_unit(t, f, w, off, lo, hi);
	}
	wrec_put(w);
}

static void on_cow(struct tracker *t, const struct tw_cow_ev *e)
{
	struct file_ent *f = file_get(t, e->dev, e->ino, false);

	if (!f)
		return;
	for (struct unit *u = f->atomics; u; u = u->next)
		if (u->off < e->off + e->count && e->off < u->off + u->len)
			u->flags |= U_COW;
}

static int piece_add(struct bio_rec *b, struct unit *u, uint64_t start, uint64_t len)
{
	if (b->np == b->cap) {
		uint32_t cap = b->cap ? b->cap * 2 : 4;
		struct piece *p = realloc(b->p, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	b->p[b->np++] = (struct piece){ .u = u, .start = start, .len = len };
	u->refs++;
	return 0;
}

/* Displaced, and not known to be in flight: its bytes left the cache with its successor's. */
static bool displaced(const struct unit *u)
{
	return (u->flags & (U_DISPLACED | U_WB)) == U_DISPLACED;
}

/* The oldest live instance that still waits for bytes takes them. */
static struct unit *instance_for(struct unit *list, uint64_t lo, uint64_t hi)
{
	for (struct unit *u = list; u; u = u->next)
		if (u->live && !displaced(u) && u->queued < u->len && u->off < hi &&
		    lo < u->off + u->len)
			return u;
	return NULL;
}

static void claim(struct tracker *t, struct bio_rec *b, struct unit *u, uint64_t lo, uint64_t hi,
		  uint64_t ext_off, uint64_t bio_off)
{
	uint64_t a = lo > u->off ? lo : u->off;
	uint64_t z = hi < u->off + u->len ? hi : u->off + u->len;

	if (a >= z || piece_add(b, u, bio_off + (a - ext_off), z - a))
		return;
	cached_del(u);
	if (u->slot)
		u->slot->tail = false;	/* a new writeback: the last one ended */
	u->queued += z - a;
	if (!u->t_submit) {
		u->t_submit = b->ts;
		u->trigger = b->trigger;
	}
	if (!u->in_flight)	/* once: a record without a time leaves t_submit 0 */
		inflight_add(t, u);
	if (u->last_bio != b->id) {
		u->nbios++;
		u->last_bio = b->id;
	}
}

static void assign_extent(struct tracker *t, struct bio_rec *b, const struct tw_ext *x,
			  uint64_t bio_off)
{
	struct file_ent *f = file_get(t, x->dev, x->ino, false);
	uint64_t lo = x->off, hi = x->off + x->len, claimed = 0, U = t->unit_size;
	uint32_t np0 = b->np;
	struct unit *u;

	if (!f) {
		t->join.foreign_bytes += x->len;
		return;
	}
	while ((u = instance_for(f->atomics, lo, hi))) {
		uint64_t q = u->queued;

		claim(t, b, u, lo, hi, lo, bio_off);
		if (u->queued == q)
			break;
	}
	if (U) {
		for (uint64_t off = lo / U * U; off < hi; off += U) {
			struct uslot *s = slot_get(t, f, off, false);

			if (s && (u = instance_for(s->oldest, lo, hi)))
				claim(t, b, u, lo, hi, lo, bio_off);
		}
	}
	for (uint32_t i = np0; i < b->np; i++)
		claimed += b->p[i].len;
	if (claimed < x->len)
		t->join.unmatched_bytes += x->len - claimed;
}

static void bio_free(struct tracker *t, struct bio_rec *b)
{
	for (uint32_t i = 0; i < b->np; i++)
		unit_put(t, b->p[i].u);
	htab_del(&t->bios, &b->k.hn);
	free(b->p);
	free(b);
}

static void bio_done_bytes(struct tracker *t, struct bio_rec *b, uint64_t bytes, int error,
			   uint64_t ts, uint32_t dev);
static bool piece_window(const struct piece *pc, uint64_t lo, uint64_t hi, uint64_t *len);

/*
 * The kernel frees a bio only after it completed, and reuses a request only after it
 * completed: an issued bio whose address comes back, or whose request is issued again
 * elsewhere, did complete although its record never came (seen rarely under load, on XFS
 * with split bios). Its units get their verdicts (requests are what decide them); the
 * device time is when the reuse was seen, an upper bound, and the inference is counted.
 */
static void bio_infer_done(struct tracker *t, struct bio_rec *b, uint64_t ts)
{
	uint64_t len;

	t->join.completions_inferred++;
	for (uint32_t i = 0; i < b->np; i++)
		if (piece_window(&b->p[i], b->cur, b->end, &len))
			b->p[i].u->flags |= U_INFERRED;
	bio_done_bytes(t, b, b->end - b->cur, 0, ts, b->dev);
}

/* The bio at this address ended: issued, its completion is inferred; never issued, dropped. */
static void bio_forget(struct tracker *t, struct bio_rec *b, uint64_t ts)
{
	if (b->rq_id) {
		bio_infer_done(t, b, ts);
	} else {
		t->join.reused_bio++;
		bio_free(t, b);
	}
}

static struct bio_rec *bio_new(struct tracker *t, uint64_t ptr, uint64_t cur, uint64_t end,
			       uint64_t ts)
{
	struct bio_rec *b = bio_get(t, ptr);

	if (b)
		bio_forget(t, b, ts);
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->id = ++t->next_id;
	b->ts = ts;
	b->cur = cur;
	b->end = end;
	hkey_add(&t->bios, &b->k, ptr);
	return b;
}

static void on_bio_queue(struct tracker *t, const struct tw_bio_ev *e)
{
	struct bio_rec *b = bio_new(t, e->bio, 0, e->size, e->h.ts_ns);
	uint64_t off = 0;

	if (!b)
		return;
	b->trigger = e->trigger < TW_TRIG_NR ? e->trigger : TW_TRIG_UNKNOWN;
	b->tid = e->h.tid;
	b->dio = e->flags & TW_BIO_DIO;
	for (uint32_t i = 0; i < e->nr_ext && i < TW_MAX_EXT; i++) {
		assign_extent(t, b, &e->ext[i], off);
		off += e->ext[i].len;
	}
}

struct sync_scope {
	const struct file_ent *f;
	uint64_t t0;
	uint32_t tid;
	bool own;		/* msync: only the bios the thread queued inside it */
};

/* An issued bio of the file that the sync waited for: queued before it, or by it. */
static bool bio_synced(const struct hnode *n, const void *ctx)
{
	const struct bio_rec *b = container_of(n, struct bio_rec, k.hn);
	const struct sync_scope *sc = ctx;

	/* fsync waits for page writeback, not for direct writes in flight (aio) */
	if (!b->rq_id || b->dio || !(b->ts < sc->t0 || b->tid == sc->tid))
		return false;
	if (sc->own && !(b->tid == sc->tid && b->ts >= sc->t0))
		return false;
	for (uint32_t i = 0; i < b->np; i++)
		if (b->p[i].u->f == sc->f && !(b->p[i].u->flags & U_DIRECT))
			return true;
	return false;
}

/*
 * fsync/fdatasync returned 0 (tw_sync_ev): every bio of the file it waited for has ended;
 * msync (TW_SYNC_MSYNC) waited only for those it queued itself, for its range.
 * One still open lost its completion record (a completion no program ran for); it is
 * inferred now, with the return as the upper bound of its device time.
 */
static void on_sync_end(struct tracker *t, const struct tw_sync_ev *e)
{
	struct file_ent *f = file_get(t, e->dev, e->ino, false);
	struct sync_scope sc = { .f = f, .t0 = e->t0, .tid = e->h.tid,
				 .own = e->flags & TW_SYNC_MSYNC };
	struct hnode **v;
	size_t nr;

	if (!f || e->ret)
		return;
	v = htab_select(&t->bios, bio_synced, &sc, &nr);
	for (size_t i = 0; i < nr; i++)	/* each frees only itself */
		bio_infer_done(t, container_of(v[i], struct bio_rec, k.hn), e->h.ts_ns);
	free(v);
}

/* BPF found the address of a followed bio queued again: that bio ended unseen (tw_gone_ev). */
static void on_bio_gone(struct tracker *t, const struct tw_gone_ev *e)
{
	struct bio_rec *b = bio_get(t, e->bio);

	if (b)
		bio_forget(t, b, e->h.ts_ns);
}

static void on_bio_split(struct tracker *t, const struct tw_split_ev *e)
{
	struct bio_rec *p = bio_get(t, e->parent), *f;
	uint64_t cut;

	if (!p) {
		t->join.unknown_parent++;
		return;
	}
	cut = p->cur + e->size < p->end ? p->cur + e->size : p->end;
	f = bio_new(t, e->bio, p->cur, cut, e->h.ts_ns);
	if (!f)
		return;
	p = bio_get(t, e->parent); /* bio_new never frees the parent: ids differ */
	for (uint32_t i = 0; i < p->np; i++) {
		struct piece *pc = &p->p[i];
		uint64_t a = pc->start > f->cur ? pc->start : f->cur;
		uint64_t z = pc->start + pc->len < cut ? pc->start + pc->len : cut;

		if (a < z) {
			piece_add(f, pc->u, a, z - a);
			pc->u->scratch = f->id;
		}
	}
	/* A unit with bytes on both sides of the cut was split by the block layer. */
	for (uint32_t i = 0; i < p->np; i++) {
		struct piece *pc = &p->p[i];

		if (pc->start + pc->len > cut && pc->u->scratch == f->id)
			pc->u->flags |= U_SPLIT_BLOCK;
	}
	p->cur = cut;
}

static bool piece_window(const struct piece *pc, uint64_t lo, uint64_t hi, uint64_t *len)
{
	uint64_t a = pc->start > lo ? pc->start : lo;
	uint64_t z = pc->start + pc->len < hi ? pc->start + pc->len : hi;

	*len = a < z ? z - a : 0;
	return a < z;
}

static bool bio_on_request(const struct hnode *n, const void *r)
{
	return container_of(n, struct bio_rec, k.hn)->rq_id == ((const struct rq_rec *)r)->id;
}

/* Every issued bio of a request that was reused before its completion record came. */
static void rq_infer_done(struct tracker *t, struct rq_rec *r, uint64_t ts)
{
	size_t nr;
	struct hnode **v = htab_select(&t->bios, bio_on_request, r, &nr);

	for (size_t i = 0; i < nr; i++)	/* each frees only itself */
		bio_infer_done(t, container_of(v[i], struct bio_rec, k.hn), ts);
	free(v);
	r->completed = true;
}

static void on_rq_issue(struct tracker *t, const struct tw_rq_ev *e)
{
	struct bio_rec *b = bio_get(t, e->bio);
	struct rq_rec *r;
	uint64_t len;

	if (b && b->rq_id && b->dev != e->dev) {
		/*
		 * A bio never changes device: this is a new bio at the address of one that ended
		 * unseen (records without BIO_GONE: the BPF map kept the stale key).
		 */
		bio_infer_done(t, b, e->h.ts_ns);
		b = NULL;
	}
	if (!b) {
		t->join.unknown_bio++;
		return;
	}
	r = rq_get(t, e->rq);
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return;
		hkey_add(&t->rqs, &r->k, e->rq);
		r->completed = true;
	}
	if (!r->completed && r->sector != e->sector) {	/* reused before its completion came */
		rq_infer_done(t, r, e->h.ts_ns);
		/* the bio itself was on that request: its bytes are done, its record gone */
		if (!(b = bio_get(t, e->bio))) {
			t->join.unknown_bio++;
			return;
		}
	}
	if (r->completed) {	/* a new request in a reused struct request */
		r->id = ++t->next_id;
		r->sector = e->sector;
		r->completed = false;
	}
	b->rq_id = r->id;
	b->dev = e->dev;
	for (uint32_t i = 0; i < b->np; i++) {
		struct unit *u = b->p[i].u;

		if (!piece_window(&b->p[i], b->cur, b->end, &len))
			continue;
		if (!u->t_issue || e->h.ts_ns < u->t_issue)
			u->t_issue = e->h.ts_ns;
		if (u->last_rq == r->id)
			continue;
		u->last_rq = r->id;
		u->nreq++;
		if (!(e->flags & TW_RQ_FUA))
			u->flags |= U_NOT_FUA;
		if ((u->flags & U_ATOMIC_WRITE) && rq_breaks_atomic_limits(t, e)) {
			t->atomic.device_misaligned++;
			u->flags |= U_ATOMIC_MISFIT;
		} else if (e->flags & TW_RQ_ATOMIC) {
			u->nreq_atomic++;
		}
	}
}

/* Bytes of a bio done at the device: the units whose last bytes these were get a verdict. */
static void bio_done_bytes(struct tracker *t, struct bio_rec *b, uint64_t bytes, int error,
			   uint64_t ts, uint32_t dev)
{
	uint64_t hi = b->cur + bytes < b->end ? b->cur + bytes : b->end, len;

	for (uint32_t i = 0; i < b->np; i++) {
		struct unit *u = b->p[i].u;

		if (!piece_window(&b->p[i], b->cur, hi, &len))
			continue;
		u->done += len;
		if (error)
			u->flags |= U_ERROR;
		if (u->live && u->done >= u->len) {
			if (!u->nreq) {	/* never saw its issue: one request at least */
				u->nreq = 1;
				u->flags |= U_NOT_FUA;	/* whose FUA is unknown */
			}
			if (u->slot)
				u->slot->tail = true;
			unit_finalize(t, u, done_verdict(u), ts, dev);
		}
	}
	b->cur = hi;
	if (b->cur >= b->end)
		bio_free(t, b);
}

static void on_rq_complete(struct tracker *t, const struct tw_rq_ev *e)
{
	struct bio_rec *b = bio_get(t, e->bio);
	struct rq_rec *r = rq_get(t, e->rq);

	if (r)
		r->completed = true;
	if (!b) {
		t->join.unknown_bio++;
		return;
	}
	bio_done_bytes(t, b, e->bio_bytes, e->error, e->h.ts_ns, e->dev);
}

/*
 * Page-cache bytes dropped unwritten: a unit there that no bio carried yet never will reach
 * the device. Past a file's end (cut), even a unit with bytes in flight is gone from the
 * file: XFS on 6.1 writes the block at the new end out before it truncates.
 */
static bool discardable(const struct unit *u, uint64_t lo, uint64_t hi, bool cut)
{
	return u->live && (cut || !(u->queued || (u->flags & U_WB))) && !(u->flags & U_DIRECT) &&
	       u->off < hi &&
	       lo < u->off + u->len;
}

static void discard_list(struct tracker *t, struct unit *u, uint64_t lo, uint64_t hi, bool cut)
{
	struct unit *next;

	for (; u; u = next) {	/* the last unit out may free the list's slot: next first */
		next = u->next;
		if (discardable(u, lo, hi, cut))
			unit_finalize(t, u, TW_V_DISCARDED, 0, 0);
	}
}

static void discard_range(struct tracker *t, struct file_ent *f, uint64_t lo, uint64_t hi)
{
	uint64_t U = t->unit_size;
	struct uslot *s;

	discard_list(t, f->atomics, lo, hi, false);
	for (uint64_t off = U ? lo - lo % U : hi; off < hi; off += U)
		if ((s = slot_get(t, f, off, false)))
			discard_list(t, s->oldest, lo, hi, false);
}

struct slot_range {
	const struct file_ent *f;
	uint64_t lo;
};

static bool slot_in_range(const struct hnode *n, const void *ctx)
{
	const struct uslot *s = container_of(n, struct uslot, hn);
	const struct slot_range *r = ctx;

	return s->f == r->f && s->off >= r->lo;	/* lo is on the unit grid */
}

/*
 * Every unit of the file at or past lo: a truncation (the file ends before lo) or a freed
 * inode (lo 0). A truncation sends a record per folio: after the first, the file is known
 * clean past lo until a unit is made there. Finalizing a slot's last unit frees only it.
 */
static void discard_from(struct tracker *t, struct file_ent *f, uint64_t lo)
{
	struct slot_range r = { .f = f, .lo = lo - lo % (t->unit_size ? t->unit_size : 1) };
	struct hnode **v;
	size_t nr;

	if (lo >= f->clean_from)
		return;
	v = htab_select(&t->slots, slot_in_range, &r, &nr);
	discard_list(t, f->atomics, lo, UINT64_MAX, true);
	for (size_t i = 0; i < nr; i++)
		discard_list(t, container_of(v[i], struct uslot, hn)->oldest, lo, UINT64_MAX, true);
	free(v);
	f->clean_from = lo;
}

static void on_discard(struct tracker *t, const struct tw_discard_ev *e)
{
	struct file_ent *f = file_get(t, e->dev, e->ino, false);

	if (!f)
		return;
	if (e->flags & TW_DISCARD_GONE) {
		discard_from(t, f, 0);
		f->st.deleted = true;	/* (dev, ino) names another file from now on */
	} else if (e->flags & TW_DISCARD_EOF) {
		discard_from(t, f, e->pos);
	} else {
		discard_range(t, f, e->pos, e->pos + e->len);
	}
}

bool tw_rpath_join(const char *rpath, size_t len, const char *prefix, char *out, size_t outlen)
{
	const char *comp[TW_RPATH_LEN / 2];
	size_t n = 0, at = 0, used;
	bool whole = false;

	while (at < len && n < sizeof(comp) / sizeof(comp[0])) {
		size_t l = strnlen(rpath + at, len - at);

		if (!l) {
			whole = true;
			break;
		}
		if (at + l >= len)	/* no NUL: cut by the buffer's end */
			break;
		comp[n++] = rpath + at;
		at += l + 1;
	}
	used = snprintf(out, outlen, "%s", prefix);
	if (!whole && used < outlen)
		used += snprintf(out + used, outlen - used, "/...");
	while (n-- > 0 && used < outlen)
		used += snprintf(out + used, outlen - used, "/%s", comp[n]);
	return whole;
}

static void on_file(struct tracker *t, const struct tw_file_ev *e)
{
	struct file_ent *f = file_get(t, e->dev, e->ino, true);
	char prefix[32];

	if (f && !f->have_path) {
		/* Until a PATH record names the mount: "[7:0]/dir/file". */
		snprintf(prefix, sizeof(prefix), "[%u:%u]", e->dev >> 20, e->dev & 0xfffff);
		tw_rpath_join(e->rpath, sizeof(e->rpath), prefix, f->st.path, sizeof(f->st.path));
	}
}

static void on_path(struct tracker *t, const struct tw_path_ev *e)
{
	struct file_ent *f = file_get(t, e->dev, e->ino, true);

	if (f) {
		memcpy(f->st.path, e->path, sizeof(f->st.path));
		f->st.path[sizeof(f->st.path) - 1] = '\0';
		f->have_path = true;
	}
}

static void on_stats(struct tracker *t, const struct tw_stats_ev *e)
{
	t->have_bpf_stats = true;
	for (int i = 0; i < TW_NR_STATS; i++)
		t->bpf_stats[i] = e->stats[i];
}

/* ---- stable pages ---- */

static struct task_ent *task_get(struct tracker *t, uint32_t tid, uint32_t pid)
{
	struct hkey *k = hkey_find(&t->tasks, tid);
	struct task_ent *e;

	if (k)
		return container_of(k, struct task_ent, k);
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->pid = pid;
	hkey_add(&t->tasks, &e->k, tid);
	return e;
}

static void on_task(struct tracker *t, const struct tw_task_ev *e)
{
	struct task_ent *te = task_get(t, e->h.tid, e->h.pid);

	if (te)
		memcpy(te->comm, e->comm, sizeof(te->comm));
}

static int device_stable_writes(const struct tracker *t, uint32_t dev)
{
	for (size_t i = 0; i < t->nr_devices; i++)
		if (t->devices[i].dev == dev)
			return t->devices[i].stable_writes;
	return -1;
}

int tracker__set_atomic_size(struct tracker *t, uint32_t dev, uint32_t bytes)
{
	if (t->nr_atomic_sizes >= TW_MAX_ATOMIC_SIZES)
		return -ENOSPC;
	t->atomic_sizes[t->nr_atomic_sizes++] = (struct tw_atomic_size_opt){ dev, bytes };
	return 0;
}

/* The power-fail atomic size given by hand: the option's, else the record's own. */
static uint32_t atomic_size_override(const struct tracker *t, const struct tw_device_ev *e)
{
	for (int i = t->nr_atomic_sizes - 1; i >= 0; i--)
		if (t->atomic_sizes[i].dev == e->dev)
			return t->atomic_sizes[i].bytes;
	return e->atomic_size_opt;
}

static void on_device(struct tracker *t, const struct tw_device_ev *e)
{
	struct tw_device *d;

	if (device_find(t, e->dev))
		return;
	d = realloc(t->devices, (t->nr_devices + 1) * sizeof(*d));
	if (!d)
		return;
	t->devices = d;
	d = &d[t->nr_devices++];
	*d = (struct tw_device){
		.dev = e->dev, .stable_writes = e->stable_writes,
		.atomic_unit_min = e->atomic_unit_min, .atomic_unit_max = e->atomic_unit_max,
		.atomic_boundary = e->atomic_boundary, .atomic_max = e->atomic_max,
		.write_cache = e->write_cache, .fua = e->fua,
		.logical_block = e->logical_block, .physical_block = e->physical_block,
	};
	tw_device_set_atomic_size(d, atomic_size_override(t, e));
}

/*
 * The writeback's own record (a folio's start, a pass's end) began writeback on the slot's
 * oldest instance still waiting for bytes; displaced ones excepted (see wb_instance()).
 */
static struct unit *wb_start_instance(struct unit *list, uint64_t lo, uint64_t hi)
{
	for (struct unit *u = list; u; u = u->next)
		if (u->live && !displaced(u) && u->done < u->len && u->off < hi &&
		    lo < u->off + u->len)
			return u;
	return NULL;
}

/*
 * The instance whose bytes a folio under writeback holds, PG_writeback having been seen on
 * it by thread tid, inside its own write or fault (a modification, a wait). PG_writeback
 * alone never starts an instance's writeback: it may be the tail of a writeback whose
 * completion was already recorded (the folio's writeback ends just after). So, oldest first:
 * - an instance whose bio is in flight (queued, not all done);
 * - one the thread's open write displaced, unless the slot may be in such a tail: that write
 *   could not lock the folio before its writeback began, so the bytes in flight are older
 *   than the write's (a U_WB mark the writeback's record gave its successor moves back);
 * - one whose writeback began (U_WB).
 */
static struct unit *wb_instance(struct tracker *t, struct uslot *s, uint64_t lo, uint64_t hi,
				uint32_t tid)
{
	struct wrec *w = wrec_find(&t->writes, tid);
	struct unit *began = NULL, *disp = NULL;

	for (struct unit *u = s->oldest; u; u = u->next) {
		if (!u->live || u->off >= hi || lo >= u->off + u->len)
			continue;
		if (u->queued) {
			if (u->done < u->len)
				return u;
		} else if (u->flags & U_WB) {
			if (!began)
				began = u;
		} else if ((u->flags & U_DISPLACED) && w && u->displaced_by == w->id && !disp) {
			disp = u;
		}
	}
	if (disp && !s->tail) {
		if (began && began != disp) {
			began->flags &= ~U_WB;
			began->t_wb = 0;
		}
		return disp;
	}
	return began;
}

/* Its writeback began by ts: its bytes are in flight although no bio carried them yet. */
static void wb_began(struct unit *u, uint64_t ts)
{
	if (u->queued || (u->flags & U_WB))
		return;
	u->flags |= U_WB;
	u->t_wb = ts;
}

/* The writeback's own record: writeback began on [lo, hi) of f at ts. */
static void wb_started(struct tracker *t, struct file_ent *f, uint64_t lo, uint64_t hi,
		       uint64_t ts)
{
	uint64_t U = t->unit_size;
	struct unit *u;

	if (!U)
		return;
	for (uint64_t off = lo / U * U; off < hi; off += U) {
		struct uslot *s = slot_get(t, f, off, false);

		if (!s)
			continue;
		s->tail = false;	/* a new writeback: the last one ended */
		if ((u = wb_start_instance(s->oldest, lo, hi)))
			wb_began(u, ts);
	}
}

/* PG_writeback seen on [lo, hi) of f at ts by tid; mod: the bytes were changed. */
static void wb_seen(struct tracker *t, struct file_ent *f, uint64_t lo, uint64_t hi, uint32_t tid,
		    uint64_t ts, bool mod)
{
	uint64_t U = t->unit_size;
	struct unit *u;

	if (mod)
		for (u = f->atomics; u; u = u->next)
			if (u->live && u->queued && u->done < u->len && u->off < hi &&
			    lo < u->off + u->len)
				u->flags |= U_MODIFIED;
	if (!U)
		return;
	for (uint64_t off = lo / U * U; off < hi; off += U) {
		struct uslot *s = slot_get(t, f, off, false);

		if (!s || !(u = wb_instance(t, s, lo, hi, tid)))
			continue;
		wb_began(u, ts);
		if (mod)
			u->flags |= U_MODIFIED;
	}
}

/*
 * A writepages pass ended well. Data-integrity writeback (or one without a page budget that
 * met no folio of an older instance still in flight) started writeback on every folio dirty
 * when it began: each cached unit in its range whose write had returned by then is in flight.
 * Its start is known only within the pass: the pass's begin is taken.
 */
static void wb_pass_done(struct tracker *t, const struct wb_pass *p)
{
	bool all = p->flags & TW_WB_SYNC_ALL;
	struct unit *u, *next;

	if (!all && !(p->flags & TW_WB_NO_LIMIT))
		return;
	for (u = p->f->cached; u; u = next) {
		next = u->c_next;
		if (u->off < p->lo || u->off + u->len > p->hi || (u->flags & (U_WB | U_DISPLACED)))
			continue;
		if (!u->w || u->w->open_in || !u->w->t_visible || u->w->t_visible > p->t)
			continue;
		if (!all && u->slot && u->slot->oldest != u)
			continue;
		if (u->slot)
			u->slot->tail = false;
		wb_began(u, p->t);
	}
}

static void on_wb_start(struct tracker *t, const struct tw_wb_ev *e)
{
	struct file_ent *f = file_get(t, e->dev, e->ino, false);
	uint64_t hi = e->pos + e->len < e->pos ? UINT64_MAX : e->pos + e->len;
	struct task_ent *te;

	if (!f)
		return;
	if (!(e->flags & TW_WB_PASS)) {
		wb_started(t, f, e->pos, hi, e->h.ts_ns);
		return;
	}
	te = task_get(t, e->h.tid, e->h.pid);
	if (!te)
		return;
	if (!(e->flags & TW_WB_PASS_END)) {
		te->pass = (struct wb_pass){ .f = f, .t = e->h.ts_ns, .lo = e->pos, .hi = hi,
					     .flags = e->flags };
		return;
	}
	if (te->pass.f == f && !e->ret)
		wb_pass_done(t, &te->pass);
	te->pass.f = NULL;
}

static void on_modified(struct tracker *t, const struct tw_modified_ev *e)
{
	struct file_ent *f = file_get(t, e->dev, e->ino, true);
	struct task_ent *te = task_get(t, e->h.tid, e->h.pid);

	t->st.modified++;
	t->c.modified++;
	if (!f)
		return;
	f->st.c.modified++;
	/*
	 * Only what is known is claimed: without the changed bytes (a folio of several
	 * units, the page not found), no unit is called modified.
	 */
	if ((e->flags & TW_MOD_RANGE) || !t->unit_size || e->len <= t->unit_size)
		wb_seen(t, f, e->off, e->off + e->len, e->h.tid, e->h.ts_ns, true);
	else
		t->st.unit_unknown++;
	if (t->st.nr_mods < TW_MAX_MODS_KEPT) {
		struct tw_modification *m = &t->mods[t->st.nr_mods++];

		*m = (struct tw_modification){
			.dev = e->dev, .ino = e->ino, .index = e->index, .off = e->off,
			.len = e->len, .nr_pages = e->nr_pages,
			.range_known = e->flags & TW_MOD_RANGE, .mmap = e->flags & TW_MOD_MMAP,
			.pid = e->h.pid, .tid = e->h.tid,
			.stable_writes = device_stable_writes(t, e->dev),
		};
		if (te)
			memcpy(m->comm, te->comm, sizeof(m->comm));
	}
}

bool tw_wait_is_stable(enum tw_wait_context c)
{
	return c == TW_WAIT_WRITE || c == TW_WAIT_FAULT;
}

int tw_log2_slot(uint64_t v)
{
	int slot = 0;

	while (v > 1 && slot < TW_HIST_SLOTS - 1) {
		v >>= 1;
		slot++;
	}
	return slot;
}

static void on_wait_begin(struct tracker *t, const struct tw_wait_begin_ev *e)
{
	struct task_ent *te = task_get(t, e->h.tid, e->h.pid);
	enum tw_wait_context c = e->context;
	struct file_ent *f;

	if (!te)
		return;
	/* Without a stack to read (no kallsyms): inside a write, it waits for stable pages. */
	if (c == TW_WAIT_UNKNOWN && e->in_write)
		c = TW_WAIT_WRITE;
	if (c > TW_WAIT_OTHER)
		c = TW_WAIT_UNKNOWN;
	/* A wait inside fsync & co. is counted only: no wake-up timing follows it. */
	te->waiting = c != TW_WAIT_SYNC || e->nr_stack;
	/* The folio is under writeback: from inside a write, that may name what is in flight. */
	if (e->in_write && (f = file_get(t, e->dev, e->ino, false)))
		wb_seen(t, f, e->index << 12, (e->index << 12) + 4096, e->h.tid, e->h.ts_ns, false);
	te->ctx = c;
	t->st.waits_by_ctx[c]++;
}

static void on_wait_end(struct tracker *t, const struct tw_wait_end_ev *e)
{
	struct task_ent *te = task_get(t, e->h.tid, e->h.pid);
	struct hkey *k;
	struct proc_ent *p;

	if (!te || !te->waiting)
		return;
	te->waiting = false;
	if (!tw_wait_is_stable(te->ctx))
		return;
	t->st.waits++;
	t->st.wait_ns_total += e->wait_ns;
	t->st.hist[tw_log2_slot(e->wait_ns)]++;
	k = hkey_find(&t->procs, te->pid);
	if (!k) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return;
		p->w.pid = te->pid;
		hkey_add(&t->procs, &p->k, te->pid);
	} else {
		p = container_of(k, struct proc_ent, k);
	}
	memcpy(p->w.comm, te->comm, sizeof(p->w.comm));
	p->w.waits++;
	p->w.wait_ns += e->wait_ns;
}

/* Kernel functions that say why a thread waits for writeback, innermost first. */
enum tw_wait_context tw_wait_context_of(const char *fn)
{
	static const struct {
		const char *part;
		enum tw_wait_context ctx;
	} marks[] = {
		{ "page_mkwrite", TW_WAIT_FAULT },	{ "write_fault", TW_WAIT_FAULT },
		{ "write_begin", TW_WAIT_WRITE },	{ "perform_write", TW_WAIT_WRITE },
		{ "fsync", TW_WAIT_SYNC },		{ "fdatawait", TW_WAIT_SYNC },
		{ "write_and_wait", TW_WAIT_SYNC },	{ "sync_file_range", TW_WAIT_SYNC },
		{ "msync", TW_WAIT_SYNC },		{ "sync_fs", TW_WAIT_SYNC },
		{ "truncate", TW_WAIT_OTHER },		{ "fallocate", TW_WAIT_OTHER },
		{ "punch_hole", TW_WAIT_OTHER },	{ "evict", TW_WAIT_OTHER },
		{ "invalidate", TW_WAIT_OTHER },	{ "migrate", TW_WAIT_OTHER },
	};

	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (strstr(fn, marks[i].part))
			return marks[i].ctx;
	return TW_WAIT_UNKNOWN;
}

/*
 * ---- validation ----
 * Records may come from a file of another host (--replay): each is checked against what
 * the kernel can send before anything uses it, so that no field drives a loop, an index
 * or an allocation past what a real run could. docs/record-format.md lists these limits.
 */
static bool range_ok(uint64_t pos, uint64_t len, uint64_t max_len)
{
	return len <= max_len && pos <= TW_MAX_LOFF && len <= TW_MAX_LOFF - pos;
}

static bool record_valid(struct tracker *t, const void *rec)
{
	const struct tw_hdr *h = rec;

	switch (h->type) {
	case TW_EV_DEVICE: {
		const struct tw_device_ev *e = rec;

		return t->nr_devices < TW_MAX_DEVICES || device_find(t, e->dev);
	}
	case TW_EV_WRITE_BEGIN: {
		const struct tw_write_ev *e = rec;

		return range_ok(e->pos, e->count, TW_MAX_RW) && e->iovcnt <= TW_MAX_IOV &&
		       (!(e->wflags & TW_W_AIO) || e->aio_index < TW_MAX_AIO_BATCH) &&
		       !((e->wflags & TW_W_AIO) && (e->wflags & TW_W_URING)) &&
		       !((e->wflags & TW_W_URING_NOCQE) && (e->wflags & TW_W_COUNT_UNKNOWN));
	}
	case TW_EV_URING_END: {
		const struct tw_uring_end_ev *e = rec;

		return !(e->flags & ~(TW_URING_OVERFLOW | TW_URING_SILENT));
	}
	case TW_EV_DIO_BEGIN: {
		const struct tw_dio_ev *e = rec;

		return range_ok(e->pos, e->count, TW_MAX_RW);
	}
	case TW_EV_ATOMIC_COW: {
		const struct tw_cow_ev *e = rec;

		return range_ok(e->off, e->count, TW_MAX_RW);
	}
	case TW_EV_BIO_QUEUE: {
		const struct tw_bio_ev *e = rec;
		uint64_t sum = 0;

		if (e->nr_ext > TW_MAX_EXT || e->sector > TW_MAX_LOFF >> 9)
			return false;
		for (uint32_t i = 0; i < e->nr_ext; i++) {
			if (!range_ok(e->ext[i].off, e->ext[i].len, e->size))
				return false;
			sum += e->ext[i].len;
		}
		return sum <= e->size;
	}
	case TW_EV_BIO_SPLIT: {
		const struct tw_split_ev *e = rec;

		return e->sector <= TW_MAX_LOFF >> 9;
	}
	case TW_EV_RQ_ISSUE:
	case TW_EV_RQ_COMPLETE: {
		const struct tw_rq_ev *e = rec;

		return e->sector <= TW_MAX_LOFF >> 9;
	}
	case TW_EV_MODIFIED: {
		const struct tw_modified_ev *e = rec;

		return range_ok(e->off, e->len, TW_MAX_FOLIO) && e->index <= TW_MAX_LOFF >> 12 &&
		       e->nr_pages <= TW_MAX_FOLIO >> 12;
	}
	case TW_EV_MMAP_DIRTY: {
		const struct tw_mmap_ev *e = rec;
		uint64_t lo = e->index << 12;

		return e->nr_pages && e->nr_pages <= TW_MAX_FOLIO >> 12 &&
		       e->index <= TW_MAX_LOFF >> 12 &&
		       range_ok(lo, (uint64_t)e->nr_pages << 12, TW_MAX_FOLIO) && !(e->pos & 4095) &&
		       e->pos >= lo && e->pos - lo < (uint64_t)e->nr_pages << 12;
	}
	case TW_EV_WAIT_BEGIN: {
		const struct tw_wait_begin_ev *e = rec;

		return e->index <= TW_MAX_LOFF >> 12 && e->nr_stack <= TW_STACK_DEPTH;
	}
	case TW_EV_DISCARD: {
		const struct tw_discard_ev *e = rec;

		return range_ok(e->pos, e->len, TW_MAX_FOLIO);
	}
	case TW_EV_WB_START: {
		const struct tw_wb_ev *e = rec;

		/* a pass may cover the whole file: ~0 for a cyclic one (on_wb_start clamps) */
		if (e->flags & TW_WB_PASS)
			return e->pos <= TW_MAX_LOFF;
		return range_ok(e->pos, e->len, TW_MAX_FOLIO);
	}
	}
	return true;
}

int tracker__feed(struct tracker *t, const void *rec, size_t len)
{
	const struct tw_hdr *h = rec;
	size_t want;

	t->join.records++;
	if (len < sizeof(*h) || h->size > len || !(want = tw_record_size(h->type)) ||
	    h->size != want || !record_valid(t, rec)) {
		t->join.bad_records++;
		return -EINVAL;
	}
	if (h->ts_ns) {
		if (!t->t0)
			t->t0 = h->ts_ns;
		t->now = h->ts_ns;
		if (h->ts_ns > t->max_ts)
			t->max_ts = h->ts_ns;
	}
	switch (h->type) {
	case TW_EV_FILE: on_file(t, rec); break;
	case TW_EV_WRITE_BEGIN: on_write_begin(t, rec); break;
	case TW_EV_WRITE_END: on_write_end(t, rec); break;
	case TW_EV_DIO_BEGIN: on_dio_begin(t, rec); break;
	case TW_EV_BIO_QUEUE: on_bio_queue(t, rec); break;
	case TW_EV_BIO_SPLIT: on_bio_split(t, rec); break;
	case TW_EV_RQ_ISSUE: on_rq_issue(t, rec); break;
	case TW_EV_RQ_COMPLETE: on_rq_complete(t, rec); break;
	case TW_EV_ATOMIC_COW: on_cow(t, rec); break;
	case TW_EV_PATH: on_path(t, rec); break;
	case TW_EV_STATS: on_stats(t, rec); break;
	case TW_EV_TASK: on_task(t, rec); break;
	case TW_EV_MODIFIED: on_modified(t, rec); break;
	case TW_EV_WAIT_BEGIN: on_wait_begin(t, rec); break;
	case TW_EV_WAIT_END: on_wait_end(t, rec); break;
	case TW_EV_DEVICE: on_device(t, rec); break;
	case TW_EV_DIO_END: on_dio_end(t, rec); break;
	case TW_EV_FLUSH: on_flush(t, rec); break;
	case TW_EV_ATOMIC_LIMITS: on_atomic_limits(t, rec); break;
	case TW_EV_DISCARD: on_discard(t, rec); break;
	case TW_EV_WB_START: on_wb_start(t, rec); break;
	case TW_EV_BIO_GONE: on_bio_gone(t, rec); break;
	case TW_EV_SYNC_END: on_sync_end(t, rec); break;
	case TW_EV_AIO_END: on_aio_end(t, rec); break;
	case TW_EV_URING_END: on_uring_end(t, rec); break;
	case TW_EV_MMAP_DIRTY: on_mmap_dirty(t, rec); break;
	}
	expo_maybe_sweep(t);
	return 0;
}

/* ---- lifecycle ---- */

void tracker__set_events(struct tracker *t, bool all, tw_event_fn fn, void *ctx)
{
	t->event_fn = fn;
	t->event_ctx = ctx;
	t->events_all = all;
}

struct tracker *tracker__new(uint64_t unit_size, uint64_t max_units)
{
	struct tracker *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->unit_size = unit_size;
	t->max_units = max_units;
	t->mods = calloc(TW_MAX_MODS_KEPT, sizeof(*t->mods));
	t->expo = expo__new();
	t->expo_next = TW_EXPO_SWEEP_MIN;
	if (!t->mods || !t->expo || htab_init(&t->files) || htab_init(&t->slots) || htab_init(&t->bios) ||
	    htab_init(&t->rqs) || htab_init(&t->writes) || htab_init(&t->aio) ||
	    htab_init(&t->tasks) ||
	    htab_init(&t->procs)) {
		tracker__free(t);
		return NULL;
	}
	return t;
}

/* Writes still open: closed without a return time (their parked times are incomplete). */
static void close_open_writes(struct tracker *t, struct htab *h)
{
	size_t bkt;
	struct hnode *n;

	/* closing frees the write: each bucket's head again, never back to bucket 0 */
	for (bkt = 0; h->buckets && (n = htab_next(h, &bkt, NULL));)
		wrec_close(t, container_of(n, struct wrec, k.hn), 0);
}

uint64_t tracker__peak_units(const struct tracker *t)
{
	return t->peak_units;
}

size_t tracker__open_writes(struct tracker *t, struct tw_open_write *out, size_t max)
{
	struct hnode *n = NULL;
	size_t bkt = 0, nr = 0;

	while ((n = htab_next(&t->writes, &bkt, n))) {
		struct wrec *w = container_of(n, struct wrec, k.hn);

		if (w->count_unknown)
			continue;
		if (nr < max)
			out[nr] = (struct tw_open_write){ .pid = w->pid, .tid = w->tid,
							  .count = w->count };
		nr++;
	}
	return nr;
}

void tracker__finish(struct tracker *t)
{
	struct hnode *n;
	size_t bkt;

	if (t->finished)
		return;
	t->finished = true;
	close_open_writes(t, &t->writes);
	close_open_writes(t, &t->aio);
	expo_unpersisted(t);
	for (size_t i = 0; i < t->nr_devs; i++) {
		for (size_t k = 0; k < t->devs[i].n; k++)
			t->modes[t->devs[i].u[k].mode].not_persisted++;
		t->devs[i].n = 0;
	}
	/*
	 * Finalizing frees slots under the iterator: take each bucket's head again, but never
	 * go back to bucket 0 (a table only grows on add, and finalizing adds nothing), so that
	 * a million pending units end in linear time, not quadratic.
	 */
	for (bkt = 0;;) {
		n = htab_next(&t->slots, &bkt, NULL);
		if (!n)
			break;
		unit_finalize(t, container_of(n, struct uslot, hn)->oldest, TW_V_PENDING, 0, 0);
	}
	bkt = 0;
	for (n = htab_next(&t->files, &bkt, NULL); n; n = htab_next(&t->files, &bkt, n)) {
		struct file_ent *f = container_of(n, struct file_ent, hn);

		while (f->atomics)
			unit_finalize(t, f->atomics, TW_V_PENDING, 0, 0);
	}
	expo__sweep(t->expo, UINT64_MAX);	/* nothing more comes: every maximum is final */
}

static int cmp_files(const void *a, const void *b)
{
	const struct tw_file_stat *x = *(const struct tw_file_stat *const *)a;
	const struct tw_file_stat *y = *(const struct tw_file_stat *const *)b;
	uint64_t ux = tw_units_total(&x->c), uy = tw_units_total(&y->c);

	if (x->c.verdict[TW_V_SPLIT] != y->c.verdict[TW_V_SPLIT])
		return x->c.verdict[TW_V_SPLIT] > y->c.verdict[TW_V_SPLIT] ? -1 : 1;
	if (ux != uy)
		return ux > uy ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int cmp_procs(const void *a, const void *b)
{
	const struct tw_proc_waits *x = a, *y = b;

	if (x->waits != y->waits)
		return x->waits > y->waits ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static void summarize_stable(struct tracker *t, struct tw_summary *s)
{
	struct hnode *n;
	size_t bkt = 0, i = 0;

	for (size_t m = 0; m < t->st.nr_mods; m++) {
		struct file_ent *f = file_get(t, t->mods[m].dev, t->mods[m].ino, false);

		t->mods[m].path = f && f->st.path[0] ? f->st.path : NULL;
		if (t->mods[m].stable_writes < 0)
			t->mods[m].stable_writes = device_stable_writes(t, t->mods[m].dev);
	}
	free(t->procs_flat);
	t->procs_flat = calloc(t->procs.count + 1, sizeof(*t->procs_flat));
	if (t->procs_flat) {
		for (n = htab_next(&t->procs, &bkt, NULL); n; n = htab_next(&t->procs, &bkt, n))
			t->procs_flat[i++] = container_of(n, struct proc_ent, k.hn)->w;
		qsort(t->procs_flat, i, sizeof(*t->procs_flat), cmp_procs);
	}
	s->stable = t->st;
	s->stable.mods = t->mods;
	s->stable.procs = t->procs_flat;
	s->stable.nr_procs = i;
	s->stable.devices = t->devices;
	s->stable.nr_devices = t->nr_devices;
}

static struct tw_exposure exposure_of(const struct tracker *t, const struct expo_scope *sc)
{
	return (struct tw_exposure){ .units = sc->units, .unit_ns = expo__unit_ns(sc, t->max_ts),
				     .max_concurrent = expo__max(t->expo, sc) };
}

/* Exposure up to the latest record: final after tracker__finish, a reading mid-run. */
static void summarize_exposure(struct tracker *t, struct tw_summary *s)
{
	struct hnode *n;
	size_t bkt = 0;

	if (!t->finished)
		expo__peek(t->expo);
	s->t0_ns = t->t0;
	s->end_ns = t->max_ts;
	s->exposure = exposure_of(t, &t->run_xs);
	s->exposure_inexact = expo__inexact(t->expo);
	for (int m = 0; m < TW_M_NR; m++)
		s->modes[m].exposure = exposure_of(t, &t->mode_xs[m]);
	for (n = htab_next(&t->files, &bkt, NULL); n; n = htab_next(&t->files, &bkt, n)) {
		struct file_ent *f = container_of(n, struct file_ent, hn);

		f->st.exposure = exposure_of(t, &f->xs);
	}
}

double tw_exposure_per_cut(const struct tw_exposure *x, const struct tw_summary *s)
{
	return s->end_ns > s->t0_ns ? (double)x->unit_ns / (double)(s->end_ns - s->t0_ns) : 0;
}

void tracker__summary(struct tracker *t, struct tw_summary *s)
{
	struct hnode *n;
	size_t bkt = 0, i = 0;

	memset(s, 0, sizeof(*s));
	s->unit_size = t->unit_size;
	s->writes = t->writes_n;
	s->write_bytes = t->write_bytes;
	s->c = t->c;
	s->join = t->join;
	memcpy(s->modes, t->modes, sizeof(s->modes));
	memcpy(s->triggers, t->triggers, sizeof(s->triggers));
	s->atomic = t->atomic;
	s->dev_units = t->dev_units;
	s->nr_dev_units = t->nr_dev_units;
	for (int k = 0; k < TW_F_NR; k++) {
		s->nr_offenders[k] = t->nr_offenders[k];
		for (uint32_t i = 0; i < t->nr_offenders[k]; i++) {
			struct file_ent *f = t->offenders[k][i].f;

			s->offenders[k][i] = (struct tw_offender){
				.path = f && f->st.path[0] ? f->st.path : "?",
				.off = t->offenders[k][i].off, .len = t->offenders[k][i].len,
				.err = t->offenders[k][i].err,
			};
		}
	}
	s->have_bpf_stats = t->have_bpf_stats;
	memcpy(s->bpf_stats, t->bpf_stats, sizeof(s->bpf_stats));
	for (int k = 0; k < TW_NR_LOST; k++)
		s->lost_total += t->bpf_stats[k];

	summarize_stable(t, s);
	summarize_exposure(t, s);
	free(t->sorted);
	t->sorted = calloc(t->files.count + 1, sizeof(*t->sorted));
	if (!t->sorted)
		return;
	for (n = htab_next(&t->files, &bkt, NULL); n; n = htab_next(&t->files, &bkt, n)) {
		struct file_ent *f = container_of(n, struct file_ent, hn);

		/* Files only seen through other records (a path, a read) have nothing to say. */
		if (f->st.writes || tw_units_total(&f->st.c) || f->st.c.untracked || f->st.c.modified)
			t->sorted[i++] = &f->st;
	}
	qsort(t->sorted, i, sizeof(*t->sorted), cmp_files);
	s->nr_files = i;
	s->files = t->sorted;
}

static void free_all(struct htab *h, size_t off, void (*fn)(void *))
{
	struct hnode *n, *next;

	for (size_t b = 0; b < h->nbuckets; b++) {
		for (n = h->buckets[b]; n; n = next) {
			next = n->next;
			fn((char *)n - off);
		}
	}
	htab_fini(h);
}

static void unit_release(struct unit *u)
{
	wrec_put(u->w);
	free(u);
}

static void free_slot(void *p)
{
	struct uslot *s = p;
	struct unit *u, *next;

	for (u = s->oldest; u; u = next) {
		next = u->next;
		if (!u->refs)
			unit_release(u);
		else
			u->live = false; /* freed with the last bio that points at it */
	}
	free(s);
}

static void free_file(void *p)
{
	struct file_ent *f = p;
	struct unit *u, *next;

	for (u = f->atomics; u; u = next) {
		next = u->next;
		if (!u->refs)
			unit_release(u);
		else
			u->live = false;
	}
	free(f);
}

static void free_bio(void *p)
{
	struct bio_rec *b = p;

	for (uint32_t i = 0; i < b->np; i++) {
		struct unit *u = b->p[i].u;

		if (--u->refs == 0 && !u->live)
			unit_release(u);
	}
	free(b->p);
	free(b);
}

void tracker__free(struct tracker *t)
{
	if (!t)
		return;
	close_open_writes(t, &t->writes);
	close_open_writes(t, &t->aio);
	/* Units not live are owned by the bios that point at them: free those last. */
	if (t->slots.buckets)
		free_all(&t->slots, offsetof(struct uslot, hn), free_slot);
	if (t->files.buckets)
		free_all(&t->files, offsetof(struct file_ent, hn), free_file);
	if (t->bios.buckets)
		free_all(&t->bios, offsetof(struct bio_rec, k.hn), free_bio);
	if (t->rqs.buckets)
		free_all(&t->rqs, offsetof(struct rq_rec, k.hn), free);
	htab_fini(&t->writes);
	htab_fini(&t->aio);
	if (t->tasks.buckets)
		free_all(&t->tasks, offsetof(struct task_ent, k.hn), free);
	if (t->procs.buckets)
		free_all(&t->procs, offsetof(struct proc_ent, k.hn), free);
	for (size_t i = 0; i < t->nr_devs; i++) {
		for (size_t k = 0; k < t->devs[i].nxw; k++)
			free(t->devs[i].xw[k].ev);
		free(t->devs[i].xw);
		free(t->devs[i].u);
	}
	free(t->devs);
	expo__free(t->expo);
	free(t->dev_units);
	free(t->mods);
	free(t->devices);
	free(t->procs_flat);
	free(t->sorted);
	free(t);
}
