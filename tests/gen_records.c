// SPDX-License-Identifier: GPL-2.0
/*
 * gen_records: write a --record file whose synthetic records give every verdict, for
 * tests that need a report with all of them (tests/e2e/schema.sh). `atomic` (REQ_ATOMIC)
 * and `modified` cannot be produced live without special hardware or a held writeback,
 * so the records are built here the way the BPF side would emit them (bpf/tornwatch.h),
 * and `tornwatch --replay FILE` turns them into a report.
 *
 *   gen_records FILE
 *
 * Unit size 8 KiB. The stream holds, for file "table" (buffered and direct writes):
 * whole (also rejoined by merging, and misaligned), split at writeback, split in the
 * block layer, superseded, modified (a rewrite while the unit is under writeback),
 * discarded (file "sort.0", deleted while cached), pending (cached and in flight), one unit of each write mode (mmap: a store through a mapping), a write that never
 * returned; and for file "atomic" (RWF_ATOMIC writes on a device with atomic limits):
 * atomic, cow-atomic, a request crossing the device's atomic boundary, and refused
 * atomic writes breaking each of the kernel's rules. Plus stable-page waits, a cache
 * flush, a device record with atomic limits, write cache, FUA and block sizes, and the BPF
 * counters (all zero).
 */
#include <stdio.h>
#include <string.h>
#include "record.h"
#include "tornwatch.h"

#define K 1024ULL
#define DEV ((259u << 20) | 0)	/* "259:0" */
#define PID 100
#define TID 101			/* the main writer */
#define TID2 102		/* rewrites a page under writeback */
#define TID3 103		/* a write whose return never comes */
#define INO_TABLE 12
#define INO_ATOMIC 13
#define INO_NOATOMIC 14		/* a file without atomic writes (statx min 0) */
#define INO_SORT 15		/* a temporary file, deleted before writeback */
#define INO_FOREIGN 99		/* never written by a traced process */

static struct tw_recorder *R;
static uint64_t now = 1000000000ULL;
static int failed;

static void tick_us(uint64_t us)
{
	now += us * 1000;
}

static void emit(void *rec, uint32_t type, uint32_t size, uint32_t tid)
{
	struct tw_hdr *h = rec;

	h->ts_ns = now;
	h->type = type;
	h->size = size;
	h->pid = PID;
	h->tid = tid;
	if (recorder__write(R, rec, size))
		failed = 1;
	now += 1000;
}

static void device(void)
{
	struct tw_device_ev e = { .dev = DEV, .stable_writes = 0, .atomic_unit_min = 4096,
				  .atomic_unit_max = 64 * K, .atomic_boundary = 64 * K,
				  .atomic_max = 64 * K, .write_cache = TW_WC_BACK, .fua = 1,
				  .logical_block = 512, .physical_block = 4096 };

	emit(&e, TW_EV_DEVICE, sizeof(e), 0);
}

static void task(uint32_t tid, const char *comm)
{
	struct tw_task_ev e = { 0 };

	snprintf(e.comm, sizeof(e.comm), "%s", comm);
	emit(&e, TW_EV_TASK, sizeof(e), tid);
}

/* The kernel's FILE record (path inside the filesystem) and user space's full PATH. */
static void file(uint64_t ino, const char *leaf, const char *full)
{
	struct tw_file_ev f = { .ino = ino, .dev = DEV, .fd = 3 };
	struct tw_path_ev p = { .ino = ino, .dev = DEV };
	size_t n = strlen(leaf);

	memcpy(f.rpath, leaf, n);		/* "leaf\0db\0\0": <mount>/db/leaf */
	memcpy(f.rpath + n + 1, "db", 2);
	emit(&f, TW_EV_FILE, sizeof(f), TID);
	snprintf(p.path, sizeof(p.path), "%s", full);
	emit(&p, TW_EV_PATH, sizeof(p), 0);
}

static void atomic_limits(uint64_t ino, uint32_t min, uint32_t max, uint32_t segments)
{
	struct tw_atomic_limits_ev e = { .ino = ino, .dev = DEV, .unit_min = min,
					 .unit_max = max, .segments_max = segments };

	emit(&e, TW_EV_ATOMIC_LIMITS, sizeof(e), 0);
}

static void wbegin(uint32_t tid, uint64_t ino, uint64_t pos, uint64_t count, uint32_t f_flags,
		   uint32_t rwf, uint32_t iovcnt)
{
	struct tw_write_ev e = { .ino = ino, .pos = pos, .count = count, .dev = DEV, .fd = 3,
				 .f_flags = f_flags, .rwf = rwf, .sysno = 18, .iovcnt = iovcnt };

	emit(&e, TW_EV_WRITE_BEGIN, sizeof(e), tid);
}

static void wend(uint32_t tid, int64_t ret)
{
	struct tw_write_end_ev e = { .ret = ret };

	tick_us(20);
	emit(&e, TW_EV_WRITE_END, sizeof(e), tid);
}

/* A whole write: begin, and its return. */
static void write_ok(uint32_t tid, uint64_t ino, uint64_t pos, uint64_t count, uint32_t f_flags,
		     uint32_t rwf)
{
	wbegin(tid, ino, pos, count, f_flags, rwf, 1);
	wend(tid, count);
}

static void dio_begin(uint32_t tid, uint64_t iocb, uint64_t ino, uint64_t pos, uint64_t count,
		      uint32_t ki_flags)
{
	struct tw_dio_ev e = { .ino = ino, .pos = pos, .count = count, .dev = DEV,
			       .ki_flags = ki_flags, .iocb = iocb };

	emit(&e, TW_EV_DIO_BEGIN, sizeof(e), tid);
}

static void dio_end(uint32_t tid, uint64_t iocb, int64_t ret)
{
	struct tw_dio_end_ev e = { .iocb = iocb, .ret = ret };

	emit(&e, TW_EV_DIO_END, sizeof(e), tid);
}

/* A bio carrying one extent of a file; its sector is the file offset's (one extent). */
static void bioq(uint64_t bio, uint64_t ino, uint64_t off, uint32_t len, uint32_t flags,
		 uint32_t trigger)
{
	struct tw_bio_ev e = { .bio = bio, .sector = off / 512, .dev = DEV, .size = len,
			       .opf = TW_REQ_OP_WRITE, .nr_ext = 1, .flags = flags,
			       .trigger = trigger };

	e.ext[0] = (struct tw_ext){ .ino = ino, .off = off, .len = len, .dev = DEV };
	tick_us(300);
	emit(&e, TW_EV_BIO_QUEUE, sizeof(e), 0);
}

static void split(uint64_t front, uint64_t parent, uint64_t sector, uint32_t size)
{
	struct tw_split_ev e = { .bio = front, .parent = parent, .sector = sector, .size = size,
				 .dev = DEV };

	emit(&e, TW_EV_BIO_SPLIT, sizeof(e), 0);
}

static void rq(uint32_t type, uint64_t rqp, uint64_t bio, uint64_t sector, uint32_t bytes,
	       uint32_t flags)
{
	struct tw_rq_ev e = { .rq = rqp, .bio = bio, .sector = sector, .dev = DEV,
			      .rq_bytes = bytes, .bio_bytes = bytes, .opf = TW_REQ_OP_WRITE,
			      .flags = flags };

	emit(&e, type, sizeof(e), 0);
}

static void issue(uint64_t rqp, uint64_t bio, uint64_t sector, uint32_t bytes, uint32_t flags)
{
	rq(TW_EV_RQ_ISSUE, rqp, bio, sector, bytes, flags);
}

static void done(uint64_t rqp, uint64_t bio, uint64_t sector, uint32_t bytes, uint32_t flags)
{
	tick_us(50);
	rq(TW_EV_RQ_COMPLETE, rqp, bio, sector, bytes, flags);
}

/* One bio, one request, completed: the unit(s) of [off, off+len) reach the device whole. */
static void to_device(uint64_t bio, uint64_t rqp, uint64_t ino, uint64_t off, uint32_t len,
		      uint32_t bflags, uint32_t rflags, uint32_t trigger)
{
	bioq(bio, ino, off, len, bflags, trigger);
	issue(rqp, bio, off / 512, len, rflags);
	done(rqp, bio, off / 512, len, rflags);
}

static void cow(uint64_t ino, uint64_t off, uint64_t count)
{
	struct tw_cow_ev e = { .ino = ino, .off = off, .count = count, .dev = DEV };

	emit(&e, TW_EV_ATOMIC_COW, sizeof(e), TID);
}

static void modified(uint32_t tid, uint64_t ino, uint64_t off, uint64_t len)
{
	struct tw_modified_ev e = { .ino = ino, .index = off / 4096, .off = off, .len = len,
				    .dev = DEV, .nr_pages = 1, .flags = TW_MOD_RANGE };

	emit(&e, TW_EV_MODIFIED, sizeof(e), tid);
}

static void mmap_dirty(uint32_t tid, uint64_t ino, uint64_t folio, uint32_t pages, uint64_t pos)
{
	struct tw_mmap_ev e = { .ino = ino, .index = folio / 4096, .pos = pos, .dev = DEV,
				.nr_pages = pages };

	emit(&e, TW_EV_MMAP_DIRTY, sizeof(e), tid);
}

static void wait_pair(uint32_t tid, uint32_t ctx, uint32_t in_write, uint64_t ns)
{
	struct tw_wait_begin_ev b = { .ino = INO_TABLE, .dev = DEV, .context = ctx,
				      .flags = in_write ? TW_WAIT_IN_WRITE : 0, .nr_stack = 1 };
	struct tw_wait_end_ev e = { .wait_ns = ns };

	emit(&b, TW_EV_WAIT_BEGIN, sizeof(b), tid);
	emit(&e, TW_EV_WAIT_END, sizeof(e), tid);
}

static void flush(uint64_t rqp)
{
	struct tw_flush_ev e = { .rq = rqp, .dev = DEV };

	emit(&e, TW_EV_FLUSH, sizeof(e), 0);
	tick_us(900);
	e.done = 1;
	emit(&e, TW_EV_FLUSH, sizeof(e), 0);
}

static void stats(void)
{
	struct tw_stats_ev e = { 0 };	/* nothing lost */

	emit(&e, TW_EV_STATS, sizeof(e), 0);
}

/* File "table", 8 KiB units: every non-atomic verdict and every write mode. */
static void table_units(void)
{
	const uint64_t T = INO_TABLE;

	/* whole */
	write_ok(TID, T, 0, 8 * K, 0, 0);
	to_device(0xb01, 0xa01, T, 0, 8 * K, 0, 0, TW_TRIG_FSYNC);
	/* split at writeback: two bios, two requests */
	write_ok(TID, T, 8 * K, 8 * K, 0, 0);
	bioq(0xb02, T, 8 * K, 4 * K, 0, TW_TRIG_SYNC_FILE_RANGE);
	bioq(0xb03, T, 12 * K, 4 * K, 0, TW_TRIG_SYNC_FILE_RANGE);
	issue(0xa02, 0xb02, 16, 4 * K, 0);
	issue(0xa03, 0xb03, 24, 4 * K, 0);
	done(0xa02, 0xb02, 16, 4 * K, 0);
	done(0xa03, 0xb03, 24, 4 * K, 0);
	/* split in the block layer: block_split cuts the bio inside the unit */
	write_ok(TID, T, 16 * K, 8 * K, 0, 0);
	bioq(0xb04, T, 16 * K, 8 * K, 0, TW_TRIG_BACKGROUND);
	split(0xb05, 0xb04, 32, 4 * K);
	issue(0xa04, 0xb05, 32, 4 * K, 0);
	issue(0xa05, 0xb04, 40, 4 * K, 0);
	done(0xa04, 0xb05, 32, 4 * K, 0);
	done(0xa05, 0xb04, 40, 4 * K, 0);
	/* rejoined: two bios merged back into one request (whole) */
	write_ok(TID, T, 24 * K, 8 * K, 0, 0);
	bioq(0xb06, T, 24 * K, 4 * K, 0, TW_TRIG_PERIODIC);
	bioq(0xb07, T, 28 * K, 4 * K, 0, TW_TRIG_PERIODIC);
	issue(0xa06, 0xb06, 48, 8 * K, 0);
	issue(0xa06, 0xb07, 48, 8 * K, 0);
	done(0xa06, 0xb06, 48, 4 * K, 0);
	done(0xa06, 0xb07, 48, 4 * K, 0);
	/* superseded: written twice before writeback; the second instance is whole */
	write_ok(TID, T, 32 * K, 8 * K, 0, 0);
	write_ok(TID, T, 32 * K, 8 * K, 0, 0);
	to_device(0xb08, 0xa08, T, 32 * K, 8 * K, 0, 0, TW_TRIG_MSYNC);
	/* modified: another thread rewrites its first page while its request is in flight */
	write_ok(TID, T, 40 * K, 8 * K, 0, 0);
	bioq(0xb09, T, 40 * K, 8 * K, 0, TW_TRIG_SYNC);
	issue(0xa09, 0xb09, 80, 8 * K, 0);
	write_ok(TID2, T, 40 * K, 4 * K, 0, 0);	/* 4 KiB: also a misaligned write */
	modified(TID2, T, 40 * K, 4 * K);
	done(0xa09, 0xb09, 80, 8 * K, 0);
	/* misaligned: 12 KiB at 52 KiB holds one whole unit, [56k, 64k) */
	write_ok(TID, T, 52 * K, 12 * K, 0, 0);
	to_device(0xb0a, 0xa0a, T, 52 * K, 12 * K, 0, 0, TW_TRIG_PRESSURE);
	/* direct: the write syscall, then its kiocb; two units */
	wbegin(TID, T, 64 * K, 16 * K, TW_O_DIRECT, 0, 1);
	dio_begin(TID, 0xc01, T, 64 * K, 16 * K, TW_IOCB_DIRECT);
	to_device(0xb0b, 0xa0b, T, 64 * K, 16 * K, TW_BIO_DIO, 0, TW_TRIG_WRITE);
	wend(TID, 16 * K);
	/* buffered-dsync: written out by the write itself, FUA: durable at once */
	wbegin(TID, T, 80 * K, 8 * K, TW_O_DSYNC, 0, 1);
	to_device(0xb0c, 0xa0c, T, 80 * K, 8 * K, 0, TW_RQ_FUA, TW_TRIG_WRITE);
	wend(TID, 8 * K);
	/* buffered-sync */
	wbegin(TID, T, 88 * K, 8 * K, TW_O_SYNC, 0, 1);
	to_device(0xb0d, 0xa0d, T, 88 * K, 8 * K, 0, TW_RQ_FUA, TW_TRIG_WRITE);
	wend(TID, 8 * K);
	/* direct-dsync through aio: the kiocb alone, DIO_END its return */
	dio_begin(TID, 0xc02, T, 96 * K, 8 * K, TW_IOCB_DIRECT | TW_IOCB_DSYNC);
	to_device(0xb0e, 0xa0e, T, 96 * K, 8 * K, TW_BIO_DIO, TW_RQ_FUA, TW_TRIG_WRITE);
	dio_end(TID, 0xc02, 8 * K);
	/* writethrough (pwritev2 RWF_WRITETHROUGH) */
	wbegin(TID, T, 104 * K, 8 * K, 0, TW_RWF_WRITETHROUGH, 1);
	to_device(0xb0f, 0xa0f, T, 104 * K, 8 * K, 0, 0, TW_TRIG_WRITE);
	wend(TID, 8 * K);
	/* a write that never returned, its unit on the device: incomplete */
	wbegin(TID3, T, 112 * K, 8 * K, 0, 0, 1);
	to_device(0xb10, 0xa10, T, 112 * K, 8 * K, 0, 0, TW_TRIG_FLUSHER_OTHER);
	/* bytes of a file no traced process wrote: join.foreign_bytes */
	to_device(0xb11, 0xa11, INO_FOREIGN, 0, 4 * K, 0, 0, TW_TRIG_UNKNOWN);
	/* mmap: a store at 148k dirtied the clean folio [144k, 152k); msync wrote it back */
	mmap_dirty(TID, T, 144 * K, 2, 148 * K);
	to_device(0xb12, 0xa12, T, 144 * K, 8 * K, 0, 0, TW_TRIG_MSYNC);
}

/* File "atomic": RWF_ATOMIC writes, O_DIRECT, on a device with atomic limits. */
static void atomic_units(void)
{
	const uint64_t A = INO_ATOMIC;
	const uint32_t D = TW_O_DIRECT, AT = TW_RWF_ATOMIC;

	/* atomic: one REQ_ATOMIC request inside the device's 64 KiB boundary */
	wbegin(TID, A, 0, 16 * K, D, AT, 1);
	dio_begin(TID, 0xc03, A, 0, 16 * K, TW_IOCB_DIRECT | TW_IOCB_ATOMIC);
	to_device(0xb20, 0xa20, A, 0, 16 * K, TW_BIO_DIO | TW_BIO_ATOMIC, TW_RQ_ATOMIC,
		  TW_TRIG_WRITE);
	wend(TID, 16 * K);
	/* cow-atomic: XFS's CoW path, two requests made atomic by the remap */
	wbegin(TID, A, 16 * K, 16 * K, D, AT, 1);
	cow(A, 16 * K, 16 * K);
	bioq(0xb21, A, 16 * K, 16 * K, TW_BIO_DIO, TW_TRIG_WRITE);
	split(0xb22, 0xb21, 32, 8 * K);
	issue(0xa21, 0xb22, 32, 8 * K, 0);
	issue(0xa22, 0xb21, 48, 8 * K, 0);
	done(0xa21, 0xb22, 32, 8 * K, 0);
	done(0xa22, 0xb21, 48, 8 * K, 0);
	wend(TID, 16 * K);
	/* a REQ_ATOMIC request at 56 KiB on the device, crossing its 64 KiB boundary: only whole */
	wbegin(TID, A, 64 * K, 16 * K, D, AT, 1);
	bioq(0xb23, A, 64 * K, 16 * K, TW_BIO_DIO | TW_BIO_ATOMIC, TW_TRIG_WRITE);
	issue(0xa23, 0xb23, 112, 16 * K, TW_RQ_ATOMIC);
	done(0xa23, 0xb23, 112, 16 * K, TW_RQ_ATOMIC);
	wend(TID, 16 * K);
	/* refused atomic writes, one per rule the kernel enforces */
	wbegin(TID, A, 0, 12 * K, D, AT, 1);		/* not a power of two */
	wend(TID, -22);
	wbegin(TID, A, 0, 2 * K, D, AT, 1);		/* below the file's 4 KiB min */
	wend(TID, -22);
	wbegin(TID, A, 0, 128 * K, D, AT, 1);		/* above its 64 KiB max */
	wend(TID, -22);
	wbegin(TID, A, 8 * K, 16 * K, D, AT, 1);	/* offset not a multiple of the length */
	wend(TID, -22);
	wbegin(TID, A, 0, 16 * K, D, AT, 2);		/* two iovecs, one allowed */
	wend(TID, -22);
	wbegin(TID, INO_NOATOMIC, 0, 16 * K, D, AT, 1);	/* the file has no atomic writes */
	wend(TID, -95);
	wbegin(TID, A, 0, 16 * K, 0, AT, 1);		/* without O_DIRECT */
	wend(TID, -95);
}

/* Pending units: one never left the cache, one is still in flight at the end. */
static void pending_units(void)
{
	write_ok(TID, INO_TABLE, 120 * K, 8 * K, 0, 0);
	write_ok(TID, INO_TABLE, 128 * K, 8 * K, 0, 0);
	bioq(0xb30, INO_TABLE, 128 * K, 8 * K, 0, TW_TRIG_FSYNC);
	issue(0xa30, 0xb30, 256, 8 * K, 0);
}

/* discarded: a sort's temporary file, unlinked while its two units were still cached */
static void discarded_units(void)
{
	struct tw_discard_ev d = { .ino = INO_SORT, .dev = DEV, .pos = 0, .len = 16 * K,
				   .flags = TW_DISCARD_GONE };

	write_ok(TID, INO_SORT, 0, 16 * K, 0, 0);
	emit(&d, TW_EV_DISCARD, sizeof(d), TID);
}

/* Writeback waits of a traced thread, one per context. */
static void waits(void)
{
	wait_pair(TID, TW_WAIT_WRITE, 1, 3000000);	/* stable-page wait in a write: 3 ms */
	wait_pair(TID2, TW_WAIT_FAULT, 0, 1500);	/* in an mmap store: 1.5 us */
	wait_pair(TID, TW_WAIT_SYNC, 0, 5000000);	/* in fsync: counted apart */
	wait_pair(TID, TW_WAIT_OTHER, 0, 1000);		/* truncate & co. */
	wait_pair(TID, TW_WAIT_UNKNOWN, 0, 100);	/* no clue from the stack */
}

int main(int argc, char **argv)
{
	char err[256];

	if (argc != 2) {
		fprintf(stderr, "usage: gen_records FILE\n");
		return 2;
	}
	R = recorder__open(argv[1], 8 * K, "synthetic", err, sizeof(err));
	if (!R) {
		fprintf(stderr, "gen_records: %s\n", err);
		return 1;
	}
	device();
	task(TID, "gen_records");
	task(TID2, "rewriter");
	task(TID3, "stuck");
	file(INO_TABLE, "table", "/synthetic/db/table");
	file(INO_ATOMIC, "atomic", "/synthetic/db/atomic");
	file(INO_NOATOMIC, "noatomic", "/synthetic/db/noatomic");
	file(INO_SORT, "sort.0", "/synthetic/db/tmp/sort.0");
	atomic_limits(INO_ATOMIC, 4096, 64 * K, 1);
	atomic_limits(INO_NOATOMIC, 0, 0, 0);
	table_units();
	atomic_units();
	waits();
	flush(0xf01);		/* what reached the device so far is durable */
	pending_units();
	discarded_units();
	write_ok(TID, INO_TABLE, 136 * K, 8 * K, 0, 0);	/* on the device after the flush */
	to_device(0xb31, 0xa31, INO_TABLE, 136 * K, 8 * K, 0, 0, TW_TRIG_FSYNC);
	stats();
	if (recorder__close(R) || failed) {
		fprintf(stderr, "gen_records: cannot write %s\n", argv[1]);
		return 1;
	}
	return 0;
}
