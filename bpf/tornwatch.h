/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The contract between bpf/tornwatch.bpf.c and user space: the records the BPF
 * side emits into the ring buffer, and the loss counters it keeps. The same
 * records, prefixed by a file header, make the --record format (see
 * docs/record-format.md), so every layout change bumps TW_RECORD_VERSION.
 *
 * Fixed-width fields only; every struct's size is asserted.
 */
#ifndef TORNWATCH_H
#define TORNWATCH_H

#define TW_RECORD_VERSION 10
#define TW_RECORD_VERSION_MIN 9	/* version 9 files read the same: see docs/record-format.md */

#define TW_MAX_EXT	8	/* file extents carried in one bio record */
#define TW_RPATH_LEN	320	/* path inside its filesystem, components leaf first */
#define TW_RPATH_DEPTH	24	/* directory levels walked up */
#define TW_PATH_LEN	256	/* full path, resolved by user space */
#define TW_COMM_LEN	16
#define TW_FD_NONE	0xffffffffu	/* tw_file_ev.fd of a file first met through mmap */

enum tw_ev_type {
	TW_EV_FILE = 1,		/* a traced process wrote a file for the first time */
	TW_EV_WRITE_BEGIN,	/* write syscall entered (range requested) */
	TW_EV_WRITE_END,	/* write syscall returned */
	TW_EV_DIO_BEGIN,	/* iomap direct write started (from the kiocb) */
	TW_EV_BIO_QUEUE,	/* a write bio carrying traced file bytes was queued */
	TW_EV_BIO_SPLIT,	/* block_split: a front piece was cut off a tracked bio */
	TW_EV_RQ_ISSUE,		/* a request carrying a tracked bio went to the driver */
	TW_EV_RQ_COMPLETE,	/* ... and completed (bytes of that bio done) */
	TW_EV_ATOMIC_COW,	/* XFS took the software (CoW) path for an atomic write */
	TW_EV_PATH,		/* user space only: full path of a (dev, ino) */
	TW_EV_STATS,		/* user space only: the BPF counters at the end of a run */
	TW_EV_TASK,		/* a traced thread's first write: its name */
	TW_EV_MODIFIED,		/* stablepage: a traced thread dirtied a folio under writeback */
	TW_EV_WAIT_BEGIN,	/* stablepage: a traced thread waits for a folio's writeback */
	TW_EV_WAIT_END,		/* stablepage: ... and was woken */
	TW_EV_DEVICE,		/* user space only: a block device's settings */
	TW_EV_DIO_END,		/* iomap_dio_complete: a direct write of a traced task is done */
	TW_EV_FLUSH,		/* a cache flush request was issued or completed */
	TW_EV_ATOMIC_LIMITS,	/* user space only: a file's statx atomic write limits */
	TW_EV_DISCARD,		/* a traced file lost cached folios: truncated or unlinked */
	TW_EV_WB_START,		/* writeback of a traced file's folio, or a pass over a range, began */
	TW_EV_BIO_GONE,		/* a followed bio's address came back: that bio ended unseen */
	TW_EV_SYNC_END,		/* a traced thread's fsync/fdatasync of a traced file returned */
	TW_EV_AIO_END,		/* io_submit with buffered writes of a traced thread returned */
	TW_EV_URING_END,	/* an io_uring buffered write of a traced process completed */
	TW_EV_MMAP_DIRTY = 26,	/* stablepage: a traced thread's store through a mapping dirtied a folio */
	TW_EV_MAX,
};

/* tw_write_ev.wflags */
#define TW_W_COUNT_UNKNOWN	0x1	/* more iovecs than the BPF side reads: use ret */
#define TW_W_APPEND		0x2	/* position is the file size at entry */
#define TW_W_AIO		0x4	/* an io_submit iocb (buffered): its place in the batch in aio_index */
#define TW_W_URING		0x8	/* an io_uring request (buffered): its address in req */
#define TW_W_URING_NOCQE	0x10	/* ... with IOSQE_CQE_SKIP_SUCCESS: a full write posts nothing */

/* tw_uring_end_ev.flags */
#define TW_URING_OVERFLOW	0x1	/* its CQE went to the overflow list (CQ ring full) */
#define TW_URING_SILENT		0x2	/* no CQE (skip on success): the request was reused or freed */

/* tw_bio_ev.flags */
#define TW_BIO_DIO		0x1	/* extents come from the writer's direct I/O */
#define TW_BIO_EXT_TRUNC	0x2	/* more extents than TW_MAX_EXT: the rest is lost */
#define TW_BIO_INEXACT		0x4	/* a bvec spans folios of unknown order */
#define TW_BIO_ATOMIC		0x8	/* REQ_ATOMIC set */

/* tw_rq_ev.flags */
#define TW_RQ_ATOMIC		0x1	/* REQ_ATOMIC set on the request */
#define TW_RQ_FUA		0x2	/* REQ_FUA: durable when it completes */

/* tw_discard_ev.flags */
#define TW_DISCARD_GONE		0x1	/* the inode is being freed: unlinked, last reference gone */
#define TW_DISCARD_EOF		0x2	/* the folio lies past the file's size: all past pos is gone */

/* tw_wb_ev.flags */
#define TW_WB_PASS		0x1	/* a writepages pass over [pos, pos + len), not one folio */
#define TW_WB_PASS_END		0x2	/* ... that pass returned (ret) */
#define TW_WB_SYNC_ALL		0x4	/* the pass is data-integrity writeback (WB_SYNC_ALL) */
#define TW_WB_NO_LIMIT		0x8	/* the pass may write every dirty folio (nr_to_write max) */
#define TW_WB_PASS_WHOLE	0x10	/* with PASS_END: the whole pass in one record, sent at its
					   end with the time it began (no record at its begin) */

/* Kernel flag values the records carry as they are (not in BTF: macros). */
#define TW_RWF_DSYNC	0x02
#define TW_RWF_SYNC	0x04
#define TW_RWF_APPEND	0x10
#define TW_RWF_ATOMIC	0x40
#define TW_RWF_WRITETHROUGH 0x200	/* the 2026 RFC; not in every kernel */
#define TW_O_DIRECT	040000
#define TW_O_DSYNC	010000
#define TW_O_SYNC	04010000	/* __O_SYNC | O_DSYNC */
#define TW___O_SYNC	04000000
#define TW_O_APPEND	02000
#define TW_IOCB_DSYNC	0x2
#define TW_IOCB_SYNC	0x4
#define TW_IOCB_ATOMIC	0x40
#define TW_IOCB_DIRECT	0x20000
#define TW_REQ_OP_MASK	0xff
#define TW_REQ_OP_WRITE	1
#define TW_REQ_OP_FLUSH	2

struct tw_hdr {
	__u64 ts_ns;		/* bpf_ktime_get_ns() */
	__u32 type;		/* enum tw_ev_type */
	__u32 size;		/* of the whole record, header included */
	__u32 pid;		/* tgid of the task that emitted it */
	__u32 tid;
};

struct tw_file_ev {
	struct tw_hdr h;
	__u64 ino;
	__u32 dev;		/* kernel dev_t of the superblock */
	__u32 fd;		/* TW_FD_NONE: first met through a mapping, not an fd */
	/*
	 * The file's path inside its filesystem, as NUL-terminated components from
	 * the file up to the filesystem root: "f\0dir\0" is <mount>/dir/f. An empty
	 * component ends the list; a full buffer means the path was cut short.
	 */
	char rpath[TW_RPATH_LEN];
};

struct tw_write_ev {
	struct tw_hdr h;
	__u64 ino;
	__u64 pos;
	__u64 count;		/* bytes requested */
	__u32 dev;
	__u32 fd;
	__u32 f_flags;		/* file->f_flags */
	__u32 rwf;		/* pwritev2 flags */
	__u32 sysno;
	__u32 wflags;		/* TW_W_* */
	__u32 iovcnt;		/* segments: 1 for write and pwrite64 */
	__u32 aio_index;	/* TW_W_AIO: the iocb's place in its io_submit batch */
	/*
	 * The thread's previous traced write wrote all it asked and returned at this time
	 * (0: no such write pending). A full write sends no WRITE_END of its own: its return
	 * rides on the thread's next write, sync or exit, or is read at the end of tracing.
	 */
	__u64 prev_end_ns;
	__u64 req;		/* TW_W_URING: the io_kiocb's address, its URING_END's key */
};

struct tw_task_ev {
	struct tw_hdr h;
	char comm[TW_COMM_LEN];
};

struct tw_write_end_ev {
	struct tw_hdr h;
	__s64 ret;
};

struct tw_dio_ev {
	struct tw_hdr h;
	__u64 ino;
	__u64 pos;
	__u64 count;
	__u32 dev;
	__u32 ki_flags;
	__u64 iocb;		/* kernel address of the kiocb: pairs with DIO_END */
};

struct tw_flush_ev {
	struct tw_hdr h;
	__u64 rq;
	__u32 dev;
	__u32 done;		/* 0: issued, 1: completed */
	__s32 error;
	__u32 pad;
};

struct tw_dio_end_ev {
	struct tw_hdr h;
	__u64 iocb;
	__s64 ret;
};

struct tw_uring_end_ev {
	struct tw_hdr h;
	__u64 req;		/* the io_kiocb of a TW_W_URING write */
	__s64 ret;		/* the CQE's res; TW_URING_SILENT: none */
	__u32 flags;		/* TW_URING_* */
	__u32 pad;
};

struct tw_ext {
	__u64 ino;
	__u64 off;		/* file offset of the extent's first byte */
	__u32 len;
	__u32 dev;
};

/* What made a bio go out: tw_bio_ev.trigger */
enum tw_trigger {
	TW_TRIG_UNKNOWN,	/* an untraced task outside the flusher */
	TW_TRIG_WRITE,		/* the write itself (O_DSYNC, O_SYNC, RWF_DSYNC, direct) */
	TW_TRIG_FSYNC,		/* fsync or fdatasync of a traced task */
	TW_TRIG_SYNC_FILE_RANGE, /* sync_file_range of a traced task */
	TW_TRIG_MSYNC,		/* msync of a traced task */
	TW_TRIG_SYNC,		/* sync/syncfs, or the flusher working for one */
	TW_TRIG_BACKGROUND,	/* the flusher: too much dirty memory */
	TW_TRIG_PERIODIC,	/* the flusher: dirty data grew old */
	TW_TRIG_PRESSURE,	/* the flusher for reclaim (memory pressure) */
	TW_TRIG_FLUSHER_OTHER,	/* the flusher for another reason */
	TW_TRIG_NR,
};

struct tw_bio_ev {
	struct tw_hdr h;
	__u64 bio;		/* kernel address: an id, valid until completion */
	__u64 sector;
	__u32 dev;		/* block device */
	__u32 size;		/* bytes */
	__u32 opf;
	__u32 nr_ext;
	__u32 flags;		/* TW_BIO_* */
	__u32 trigger;		/* enum tw_trigger */
	struct tw_ext ext[TW_MAX_EXT];
};

struct tw_split_ev {
	struct tw_hdr h;
	__u64 bio;		/* the front piece, a new bio */
	__u64 parent;		/* the bio it was cut from, which keeps the rest */
	__u64 sector;
	__u32 size;		/* bytes of the front piece */
	__u32 dev;
};

struct tw_rq_ev {
	struct tw_hdr h;
	__u64 rq;		/* kernel address: reused, user space makes ids */
	__u64 bio;
	__u64 sector;		/* of the request */
	__u32 dev;
	__u32 rq_bytes;
	__u32 bio_bytes;	/* issue: bio size; complete: bytes of this bio done */
	__s32 error;
	__u32 opf;		/* request cmd_flags, as the kernel has them */
	__u32 flags;		/* TW_RQ_* */
};

struct tw_cow_ev {
	struct tw_hdr h;
	__u64 ino;
	__u64 off;
	__u64 count;
	__u32 dev;
	__u32 pad;
};

struct tw_path_ev {
	struct tw_hdr h;
	__u64 ino;
	__u32 dev;
	__u32 pad;
	char path[TW_PATH_LEN];
};

_Static_assert(sizeof(struct tw_hdr) == 24, "tw_hdr layout");
_Static_assert(sizeof(struct tw_file_ev) == 40 + TW_RPATH_LEN, "tw_file_ev layout");
_Static_assert(sizeof(struct tw_write_ev) == 96, "tw_write_ev layout");
_Static_assert(sizeof(struct tw_task_ev) == 40, "tw_task_ev layout");
_Static_assert(sizeof(struct tw_write_end_ev) == 32, "tw_write_end_ev layout");
_Static_assert(sizeof(struct tw_dio_ev) == 64, "tw_dio_ev layout");
_Static_assert(sizeof(struct tw_dio_end_ev) == 40, "tw_dio_end_ev layout");
_Static_assert(sizeof(struct tw_uring_end_ev) == 48, "tw_uring_end_ev layout");
_Static_assert(sizeof(struct tw_flush_ev) == 48, "tw_flush_ev layout");
_Static_assert(sizeof(struct tw_ext) == 24, "tw_ext layout");
_Static_assert(sizeof(struct tw_bio_ev) == 64 + 24 * TW_MAX_EXT, "tw_bio_ev layout");

/* A BIO_QUEUE record holds room for N extents: 1 (a direct write's, a single run of one
 * file's pages: most) or TW_MAX_EXT. */
#define TW_BIO_EV_SIZE(n)	(64 + 24 * (n))
_Static_assert(sizeof(struct tw_split_ev) == 56, "tw_split_ev layout");
_Static_assert(sizeof(struct tw_rq_ev) == 72, "tw_rq_ev layout");
_Static_assert(sizeof(struct tw_cow_ev) == 56, "tw_cow_ev layout");
_Static_assert(sizeof(struct tw_path_ev) == 296, "tw_path_ev layout");

struct tw_stats_ev {
	struct tw_hdr h;
	__u64 stats[16];	/* enum tw_stat order; unused slots are 0 */
};

_Static_assert(sizeof(struct tw_stats_ev) == 24 + 8 * 16, "tw_stats_ev layout");

#define TW_STACK_DEPTH	12

/* tw_modified_ev.flags */
#define TW_MOD_RANGE	0x1	/* off/len are the bytes changed, not the whole folio */
#define TW_MOD_MMAP	0x2	/* a store through a shared mapping (off/len: its page) */

struct tw_modified_ev {
	struct tw_hdr h;
	__u64 ino;
	__u64 index;		/* the folio's first page */
	__u64 off;		/* byte range modified, when known (TW_MOD_RANGE) */
	__u64 len;
	__u32 dev;
	__u32 nr_pages;		/* the folio's size */
	__u32 flags;
	__u32 pad;
};

/* tw_wait_begin_ev.context, set by user space from the kernel stack */
enum tw_wait_context {
	TW_WAIT_UNKNOWN,
	TW_WAIT_WRITE,		/* a write waiting for stable pages (write_begin) */
	TW_WAIT_FAULT,		/* a store through mmap waiting for stable pages (page_mkwrite) */
	TW_WAIT_SYNC,		/* fsync, fdatasync, sync_file_range, msync: not a stable-page wait */
	TW_WAIT_OTHER,		/* truncate, fallocate, ...: not a stable-page wait */
};

/* tw_wait_begin_ev.flags */
#define TW_WAIT_IN_WRITE	0x1	/* the thread was inside a write syscall */
#define TW_WAIT_UNTIMED		0x2	/* begun before sched_wakeup was attached: no WAIT_END */

struct tw_wait_begin_ev {
	struct tw_hdr h;
	__u64 ino;
	__u64 index;
	__u32 dev;
	__u32 context;		/* enum tw_wait_context; 0 from the kernel */
	__u32 flags;		/* TW_WAIT_* */
	__u32 nr_stack;
	__u64 stack[TW_STACK_DEPTH];
};

struct tw_wait_end_ev {
	struct tw_hdr h;	/* pid/tid: the waiter's, not the waker's */
	__u64 wait_ns;
};

struct tw_device_ev {
	struct tw_hdr h;
	__u32 dev;		/* block device (kernel dev_t) */
	__s32 stable_writes;	/* queue/stable_writes when tracing started; -1 unknown */
	__u32 atomic_unit_min;	/* queue/atomic_write_unit_min_bytes, 0: none */
	__u32 atomic_unit_max;	/* queue/atomic_write_unit_max_bytes */
	__u32 atomic_boundary;	/* queue/atomic_write_boundary_bytes, 0: none */
	__u32 atomic_max;	/* queue/atomic_write_max_bytes */
	__u32 write_cache;	/* queue/write_cache: TW_WC_* */
	__s32 fua;		/* queue/fua: 1 the device does FUA itself, 0 not, -1 unknown */
	__u32 logical_block;	/* queue/logical_block_size, 0: unknown */
	__u32 physical_block;	/* queue/physical_block_size, 0: unknown */
	__u32 atomic_size_opt;	/* --atomic-size given for this device (bytes), 0: none */
	__u32 pad;
};

/* tw_device_ev.write_cache */
#define TW_WC_UNKNOWN	0
#define TW_WC_BACK	1	/* "write back": completion is not persistence, flushes are */
#define TW_WC_THROUGH	2	/* "write through": completion is persistence */

struct tw_atomic_limits_ev {
	struct tw_hdr h;
	__u64 ino;
	__u32 dev;
	__u32 unit_min;		/* statx STATX_WRITE_ATOMIC; 0: no atomic writes here */
	__u32 unit_max;
	__u32 segments_max;
};

/*
 * A folio of a traced file was removed from the page cache where its data goes with it: the
 * file was truncated below it, or the file is unlinked. Units it held that never left the
 * cache will never reach the device. With TW_DISCARD_GONE the inode itself is being freed
 * (sent once): its number may name another file from now on.
 */
struct tw_discard_ev {
	struct tw_hdr h;
	__u64 ino;
	__u64 pos;		/* the folio's bytes in the file */
	__u64 len;
	__u32 dev;
	__u32 flags;		/* TW_DISCARD_* */
};

/*
 * Writeback begins before any bio is queued: the folio gets PG_writeback, then its bio may
 * wait in blk-throttle (cgroup io.max) before block_bio_queue fires. One folio (iomap, the
 * folio lock held: nothing can change it before PG_writeback), or a filesystem's writepages
 * pass over a range (ext4, which has no per-folio tracepoint): its end says what it did.
 */
struct tw_wb_ev {
	struct tw_hdr h;
	__u64 ino;
	__u64 pos;		/* the folio's bytes in the file, or the pass's range */
	__u64 len;
	__u32 dev;
	__u32 flags;		/* TW_WB_* */
	__s32 ret;		/* TW_WB_PASS_END: what the pass returned */
	__u32 pad;
};

/*
 * A bio address still in the followed-bio map was queued again (block_bio_queue) or made a
 * new split piece (block_split): the kernel frees a bio only after it ended, so the followed
 * bio there ended although no request completion carrying it was seen (a completion no BPF
 * program ran for). Its key is dropped, so the new bio's requests are not taken for it.
 */
struct tw_gone_ev {
	struct tw_hdr h;
	__u64 bio;
	__u32 dev;		/* the new bio's device */
	__u32 pad;
};

/*
 * A traced thread's fsync or fdatasync of a traced file returned (sys_exit), or its msync
 * (TW_SYNC_MSYNC). Returning 0, it
 * waited for the writeback of every page of the file that was under writeback or dirty when
 * it began: each page-writeback bio of the file queued before t0, or by this thread since,
 * has ended (not a direct write's: fsync does not wait for aio in flight), seen
 * or not (user space infers a completion no program ran for; join.completions_inferred).
 */
struct tw_sync_ev {
	struct tw_hdr h;
	__u64 ino;
	__u64 t0;		/* the syscall's entry (ns) */
	__s64 ret;
	__u32 dev;
	__u32 flags;		/* TW_SYNC_*; 0 in records of version 8 (a pad then) */
};

/*
 * tw_sync_ev.flags: msync(MS_SYNC) of a mapping of the file. It waits only for the writeback
 * of its range: of the file's bios, only those this thread queued inside it are known ended.
 */
#define TW_SYNC_MSYNC	0x1

/* tw_mmap_ev.flags */
#define TW_MMAP_WRITEBACK	0x1	/* the folio was under writeback (PG_writeback) */

/*
 * A traced thread's write fault made a clean folio of a file dirty: a store through a shared
 * mapping (page_mkwrite). Its bytes will reach the device by writeback, like a buffered
 * write's. Only a clean folio's first store is seen: once dirty (and its page table entry
 * writable), further stores to it fire nothing until its writeback write-protects it again.
 */
struct tw_mmap_ev {
	struct tw_hdr h;
	__u64 ino;
	__u64 index;		/* the folio's first page */
	__u64 pos;		/* file offset of the page the store faulted on */
	__u32 dev;
	__u32 nr_pages;		/* the folio's size: all of it is dirty now */
	__u32 flags;		/* TW_MMAP_* */
	__u32 pad;
};

_Static_assert(sizeof(struct tw_mmap_ev) == 64, "tw_mmap_ev layout");
_Static_assert(sizeof(struct tw_sync_ev) == 56, "tw_sync_ev layout");
_Static_assert(sizeof(struct tw_discard_ev) == 56, "tw_discard_ev layout");
_Static_assert(sizeof(struct tw_wb_ev) == 64, "tw_wb_ev layout");
_Static_assert(sizeof(struct tw_gone_ev) == 40, "tw_gone_ev layout");
_Static_assert(sizeof(struct tw_modified_ev) == 72, "tw_modified_ev layout");
_Static_assert(sizeof(struct tw_wait_begin_ev) == 56 + 8 * TW_STACK_DEPTH, "tw_wait_begin_ev");
_Static_assert(sizeof(struct tw_wait_end_ev) == 32, "tw_wait_end_ev layout");
_Static_assert(sizeof(struct tw_device_ev) == 72, "tw_device_ev layout");
_Static_assert(sizeof(struct tw_atomic_limits_ev) == 48, "tw_atomic_limits_ev layout");

/*
 * What a thread is doing, in task-local storage (no hash update per write): the
 * write syscall in progress, the last file it wrote (so a storm of writes to one
 * file resolves the fd cheaply), and a direct write being submitted. User space
 * reads end_ns of live threads when tracing ends.
 */
struct task_state {
	__u64 w_count;		/* bytes the write syscall asked for */
	__u32 in_write;
	__u32 w_flags;		/* TW_W_* */
	__u64 c_file;		/* cache: struct file * and inode * last written ... */
	__u64 c_inode;
	__u64 c_ino;		/* ... and what they resolved to */
	__u32 c_dev;
	__u32 c_ok;		/* 1: regular file of a block-backed fs, 2: O_DIRECT block device */
	__u32 announced;	/* its TASK record (name) was sent */
	__u32 traced;		/* its process is traced (a flusher kworker has state too) */
	__u64 w_pos;		/* where the write syscall in progress starts */
	__u64 wait_t0;		/* stablepage: waiting for writeback since (ns), 0: not */
	__u64 fault_addr;	/* stablepage: the last user write fault's address */
	__u32 in_sync;		/* enum tw_trigger of the sync syscall in progress, 0: none */
	__u32 wb_reason;	/* flusher kworker: enum tw_trigger of its work, 0: none */
	__u64 dio_ino;
	__u64 dio_pos;
	__u64 dio_count;
	__u64 dio_consumed;
	__u32 dio_dev;
	__u32 pad;
	__u64 end_ns;		/* the last full write returned then; not yet sent (0: none) */
	__u64 sync_t0;		/* fsync/fdatasync of a traced file in progress since (ns), 0: none */
	__u64 sync_ino;		/* ... of that file */
	__u32 sync_dev;
	__u32 aio_sent;		/* io_submit in progress: buffered-write iocbs sent (TW_W_AIO) */
	__u64 pass_t0;		/* a writepages pass of a traced file began then (ns), 0: none */
	__u64 pass_ino;		/* ... of that file */
	__u32 pass_dev;
	__u32 pad2;
	__u64 pass_bytes;	/* ... bytes of it this thread queued in bios since */
};

_Static_assert(sizeof(struct task_state) == 192, "task_state layout");

/* Counters the BPF side keeps; TW_LOST_* are data lost, summed into lost.total. */
enum tw_stat {
	TW_LOST_RINGBUF,	/* ring buffer reserve failed */
	TW_LOST_TRACED_FULL,	/* traced-process map full: a child is not followed */
	TW_LOST_FILES_FULL,	/* traced-file map full: its I/O is not joined */
	TW_LOST_TASK_STATE,	/* no task-local storage for a thread's write/dio state */
	TW_LOST_BIOS_FULL,	/* tracked-bio map full: a bio is not followed */
	TW_LOST_EXT_TRUNC,	/* a bio had more file extents than a record holds */
	TW_LOST_RQ_WALK,	/* a request had more bios than the walk follows */
	TW_LOST_BVEC_WALK,	/* a bio had more bvecs than the walk follows */
	TW_LOST_AIO_IOCBS,	/* io_submit iocbs not followed: past the 64 read, or > 8 iovecs */
	TW_LOST_URING_WRITES,	/* io_uring buffered writes not followed (see uring_submit) */
	TW_LOST_PROG_MISSES,	/* user space: program runs the kernel skipped (recursion_misses) */
	TW_NR_LOST,
	TW_STAT_BIO_INEXACT = TW_NR_LOST, /* bvec spanning folios, attributed by its first page */
	TW_STAT_DIO_NO_STATE,	/* anonymous write bio from a traced thread without dio state */
	TW_STAT_BIO_END_NO_RQ,	/* a tracked bio ended (block_bio_complete) before any request completion */
	TW_NR_BPF_REPORTED,	/* the counters above are the report's "bpf" object */
	/* Events counted instead of sent, one record fewer each; reported where they belong. */
	TW_COUNT_WAITS_SYNC = TW_NR_BPF_REPORTED, /* writeback waits inside fsync & co. */
	TW_NR_STATS,
};

_Static_assert(TW_NR_STATS <= 16, "tw_stats_ev holds every counter");

#define TW_STAT_NAMES                                                                              \
	{                                                                                          \
		"ringbuf_full", "traced_map_full", "files_map_full", "task_state_failed",              \
		"bios_map_full", "bio_extents_truncated", "rq_walk_truncated",                     \
		"bvec_walk_truncated", "aio_iocbs_unread", "uring_writes_unfollowed",                \
		"prog_recursion_misses", "bio_inexact", "dio_no_state",     \
		"bio_end_no_request", "waits_sync",                                                \
	}

#endif /* TORNWATCH_H */
