// SPDX-License-Identifier: GPL-2.0
/*
 * tornwatch: join the writes of traced processes to the bios and requests that
 * carry their bytes to the device. Tracepoints only (tp_btf).
 *
 * What this side decides: which writes are traced (by tgid), which bios carry
 * bytes of traced files (by page identity: folio -> mapping -> inode + index,
 * never by the pid at the block layer, since writeback runs in kworkers), and
 * for direct I/O, by the writer's own in-flight kiocb. It emits one record per
 * fact; the verdict per unit is pure logic in user space (user/tracker.c).
 */
#include "tw_common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define PAGE_SHIFT_4K	12
#define MAX_IOV_READ	8	/* iovecs summed at syscall entry */
#define MAX_BVEC_WALK	256	/* bvecs followed in one bio (BIO_MAX_VECS) */
#define MAX_RQ_WALK	512	/* bios followed in one request (more than any max_segments here) */

/* x86_64 syscall numbers of the writes followed here. */
#define NR_write	1
#define NR_pwrite64	18
#define NR_writev	20
#define NR_pwritev	296
#define NR_pwritev2	328
#define NR_msync	26
#define NR_fsync	74
#define NR_fdatasync	75
#define NR_sync		162
#define NR_sync_file_range 277
#define NR_io_submit	209
#define MAX_AIO_IOCBS	64	/* iocbs read per io_submit */
#define NR_syncfs	306

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

/* fd -> struct file *: direct BTF loads down to the fd array, one read for the slot. */
static __always_inline struct file *fd_to_file(__u32 fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = task->files->fdt;
	struct file **fda;
	struct file *f = NULL;

	if (!fdt || fd >= fdt->max_fds)
		return NULL;
	fda = fdt->fd;
	bpf_probe_read_kernel(&f, sizeof(f), &fda[fd]);
	return f;
}

static __always_inline bool inode_is_reg(struct inode *inode)
{
	return (BPF_CORE_READ(inode, i_mode) & 0170000) == 0100000;
}

static __always_inline bool inode_is_blk(struct inode *inode)
{
	return (BPF_CORE_READ(inode, i_mode) & 0170000) == 0060000;
}

/* What resolve_file found (task_state.c_ok). */
#define TW_FILE_REG	1	/* a regular file of a block-backed filesystem */
#define TW_FILE_BDEV	2	/* a block device opened O_DIRECT */

static __always_inline __u64 sum_iov(const struct iovec *uiov, __u32 cnt, __u32 *wflags)
{
	struct iovec iov;
	__u64 sum = 0;

	if (cnt > MAX_IOV_READ) {
		*wflags |= TW_W_COUNT_UNKNOWN;
		return 0;
	}
	for (int i = 0; i < MAX_IOV_READ; i++) {
		if (i >= cnt)
			break;
		if (bpf_probe_read_user(&iov, sizeof(iov), &uiov[i])) {
			*wflags |= TW_W_COUNT_UNKNOWN;
			return 0;
		}
		sum += iov.iov_len;
	}
	return sum;
}

static __always_inline bool is_write_nr(long id)
{
	return id == NR_write || id == NR_pwrite64 || id == NR_writev || id == NR_pwritev ||
	       id == NR_pwritev2;
}

/*
 * The file a write goes to, or 0 when it is not ours to follow. The thread's last
 * file is cached: a storm of writes to one file costs two reads here, not a dozen.
 */
static __always_inline int resolve_file(struct task_state *ts, struct file *file, __u32 fd,
					struct inode **inodep)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	__u64 ino;
	__u32 dev;

	*inodep = inode;
	if (!inode)
		return 0;
	if (ts->c_file == (__u64)file && ts->c_inode == (__u64)inode &&
	    ts->c_ino == BPF_CORE_READ(inode, i_ino))
		return ts->c_ok;
	ts->c_file = (__u64)file;
	ts->c_inode = (__u64)inode;
	ts->c_ino = BPF_CORE_READ(inode, i_ino);
	ts->c_ok = 0;
	/*
	 * Regular files of block-backed filesystems (tmpfs, sysfs, proc never reach a device),
	 * and block devices written with O_DIRECT: their dev is the disk's own (i_rdev), their
	 * offsets its bytes. Buffered writes to a block device are not followed.
	 */
	if (inode_is_blk(inode) && (BPF_CORE_READ(file, f_flags) & TW_O_DIRECT)) {
		dev = BPF_CORE_READ(inode, i_rdev);
		ts->c_ok = TW_FILE_BDEV;
	} else if (inode_is_reg(inode) && BPF_CORE_READ(inode, i_sb, s_bdev)) {
		dev = BPF_CORE_READ(inode, i_sb, s_dev);
		ts->c_ok = TW_FILE_REG;
	} else {
		return 0;
	}
	ino = ts->c_ino;
	if (!note_file(file, ino, dev, fd)) {
		ts->c_ok = 0;
		return 0;
	}
	ts->c_dev = dev;
	return ts->c_ok;
}

static __always_inline __u32 sync_trigger(long id)
{
	switch (id) {
	case NR_fsync:
	case NR_fdatasync:
		return TW_TRIG_FSYNC;
	case NR_sync_file_range:
		return TW_TRIG_SYNC_FILE_RANGE;
	case NR_msync:
		return TW_TRIG_MSYNC;
	case NR_sync:
	case NR_syncfs:
		return TW_TRIG_SYNC;
	}
	return 0;
}

/* The return of the thread's last full write, held back since (see tw_write_ev.prev_end_ns). */
static __always_inline void send_held_end(struct task_state *ts)
{
	struct tw_write_end_ev *ev;

	if (!ts->end_ns)
		return;
	ev = ev_reserve(sizeof(*ev), TW_EV_WRITE_END);
	if (ev) {
		ev->h.ts_ns = ts->end_ns;
		ev->ret = ts->w_count;
		ev_submit(ev);
	}
	ts->end_ns = 0;
}

/* fsync/fdatasync(fd) or msync enters: remember the file, if it is a traced one, and when. */
static __always_inline void note_sync_file(struct task_state *ts, struct file *file)
{
	struct file_key key = {};
	struct inode *inode;

	if (!file)
		return;
	inode = BPF_CORE_READ(file, f_inode);
	key.ino = BPF_CORE_READ(inode, i_ino);
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	if (!bpf_map_lookup_elem(&files, &key))
		return;
	ts->sync_ino = key.ino;
	ts->sync_dev = key.dev;
	ts->sync_t0 = bpf_ktime_get_ns();
}

static long vma_file(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	*(__u64 *)data = (__u64)vma->vm_file;
	return 0;
}

/* msync(addr, len, MS_SYNC): the file mapped at addr (MS_ASYNC starts no writeback). */
static __always_inline struct file *msync_file(unsigned long addr, unsigned long flags)
{
	__u64 file = 0;

	if (!(flags & 4 /* MS_SYNC */) ||
	    bpf_find_vma(bpf_get_current_task_btf(), addr, vma_file, &file, 0))
		return NULL;
	return (struct file *)file;
}

/* ... and returns: what it waited for has ended (tw_sync_ev). */
static __always_inline void send_sync_end(struct task_state *ts, long ret, __u32 flags)
{
	struct tw_sync_ev *ev;

	if (!ts->sync_t0)
		return;
	ev = ev_reserve(sizeof(*ev), TW_EV_SYNC_END);
	if (ev) {
		ev->ino = ts->sync_ino;
		ev->dev = ts->sync_dev;
		ev->t0 = ts->sync_t0;
		ev->ret = ret;
		ev->flags = flags;
		ev_submit(ev);
	}
	ts->sync_t0 = 0;
}

/* A WRITE_BEGIN: these, and the file the thread resolved last (ts->c_ino, c_dev). */
struct write_begin {
	__u64 pos, count, req;
	__u32 fd, f_flags, rwf, sysno, wflags, iovcnt, aio_index;
};

static __always_inline bool send_write_begin(struct task_state *ts, const struct write_begin *wb)
{
	struct tw_write_ev *ev = ev_reserve(sizeof(*ev), TW_EV_WRITE_BEGIN);

	if (!ev)
		return false;
	ev->ino = ts->c_ino;
	ev->pos = wb->pos;
	ev->count = wb->count;
	ev->dev = ts->c_dev;
	ev->fd = wb->fd;
	ev->f_flags = wb->f_flags;
	ev->rwf = wb->rwf;
	ev->sysno = wb->sysno;
	ev->wflags = wb->wflags;
	ev->iovcnt = wb->iovcnt;
	ev->aio_index = wb->aio_index;
	ev->req = wb->req;
	ev->prev_end_ns = ts->end_ns;	/* the held return of the thread's last write */
	ts->end_ns = 0;
	ev_submit(ev);
	return true;
}

struct aio_batch {
	struct iocb **uiocbs;	/* io_submit's iocbpp (user memory) */
	__u32 nr;
	__u32 sent;
};

/*
 * One iocb of io_submit: a buffered PWRITE/PWRITEV to a traced file becomes a WRITE_BEGIN
 * (TW_W_AIO). Linux AIO runs buffered writes inside io_submit itself, in this thread,
 * and has no tracepoint of its own. Direct ones are followed from iomap_dio_rw_begin, or
 * where it is missing (dio_by_iter) from here too: their bios are queued inside io_submit
 * and joined by tw_iomap_iter; their completion is not seen.
 */
static long aio_one(__u64 i, void *data)
{
	struct aio_batch *b = data;
	struct task_state *ts = task_state_get(false);
	struct write_begin wb;
	struct iocb *up = NULL;
	struct iocb cb;
	struct inode *inode;
	struct file *file;
	__u32 wflags = TW_W_AIO, iovcnt = 1, f_flags;
	__u64 count;

	if (!ts || i >= b->nr)
		return 1;
	if (bpf_probe_read_user(&up, sizeof(up), &b->uiocbs[i]) ||
	    bpf_probe_read_user(&cb, sizeof(cb), up))
		return 1;
	if (cb.aio_lio_opcode != IOCB_CMD_PWRITE && cb.aio_lio_opcode != IOCB_CMD_PWRITEV)
		return 0;
	file = fd_to_file(cb.aio_fildes);
	if (!file || resolve_file(ts, file, cb.aio_fildes, &inode) != TW_FILE_REG)
		return 0;
	f_flags = BPF_CORE_READ(file, f_flags);
	if ((f_flags & TW_O_DIRECT) && !dio_by_iter)
		return 0;
	if (cb.aio_lio_opcode == IOCB_CMD_PWRITEV) {
		iovcnt = cb.aio_nbytes;
		count = sum_iov((void *)cb.aio_buf, iovcnt, &wflags);
		if (wflags & TW_W_COUNT_UNKNOWN) {	/* no return to learn it from */
			stat_inc(TW_LOST_AIO_IOCBS);
			return 0;
		}
	} else {
		count = cb.aio_nbytes;
	}
	wb = (struct write_begin){ .pos = cb.aio_offset, .count = count, .fd = cb.aio_fildes,
				   .f_flags = f_flags, .rwf = cb.aio_rw_flags,
				   .sysno = NR_io_submit, .wflags = wflags, .iovcnt = iovcnt,
				   .aio_index = i };
	if (send_write_begin(ts, &wb))
		b->sent++;
	return 0;
}

/* A syscall enters; a[] holds its arguments (x86_64: di, si, dx, r10, r8, r9). */
static __always_inline int sys_enter(long id, const unsigned long *a)
{
	struct task_state *ts;
	struct write_begin wb;
	struct file *file;
	struct inode *inode;
	__u64 pos, count = 0;
	__u32 fd, f_flags, rwf = 0, wflags = 0, iovcnt = 1;
	long pos_arg = -1;

	__u32 trig = sync_trigger(id);

	if (trig) {	/* a traced thread syncs: the bios it queues are this trigger's */
		ts = traced_task_state();
		if (ts) {
			ts->in_sync = trig;
			send_held_end(ts);
			ts->sync_t0 = 0;
			if (trig == TW_TRIG_FSYNC)
				note_sync_file(ts, fd_to_file(a[0]));
			else if (trig == TW_TRIG_MSYNC)
				note_sync_file(ts, msync_file(a[0], a[2]));
		}
		return 0;
	}
	if (id == NR_io_submit) {
		struct aio_batch b = { .uiocbs = (void *)a[2], .nr = a[1] };

		ts = traced_task_state();
		if (!ts || (long)a[1] <= 0)
			return 0;
		announce_task(ts);
		send_held_end(ts);
		if (b.nr > MAX_AIO_IOCBS) {
			stat_add(TW_LOST_AIO_IOCBS, b.nr - MAX_AIO_IOCBS);
			b.nr = MAX_AIO_IOCBS;
		}
		bpf_loop(MAX_AIO_IOCBS, aio_one, &b, 0);
		ts = task_state_get(false);
		if (ts)
			ts->aio_sent = b.sent;
		return 0;
	}
	if (!is_write_nr(id))
		return 0;
	ts = traced_task_state();
	if (!ts)
		return 0;
	ts->in_write = 0;
	announce_task(ts);

	fd = a[0];
	file = fd_to_file(fd);
	if (!file || !resolve_file(ts, file, fd, &inode))
		return 0;

	switch (id) {
	case NR_write:
		count = a[2];
		break;
	case NR_pwrite64:
		count = a[2];
		pos_arg = a[3];
		break;
	case NR_writev:
		iovcnt = a[2];
		count = sum_iov((void *)a[1], iovcnt, &wflags);
		break;
	case NR_pwritev:
	case NR_pwritev2:
		iovcnt = a[2];
		count = sum_iov((void *)a[1], iovcnt, &wflags);
		pos_arg = a[3];
		if (id == NR_pwritev2)
			rwf = a[5];
		break;
	}

	f_flags = BPF_CORE_READ(file, f_flags);
	if (pos_arg >= 0)
		pos = pos_arg;
	else
		pos = BPF_CORE_READ(file, f_pos);
	if ((pos_arg < 0 && (f_flags & TW_O_APPEND)) || (rwf & TW_RWF_APPEND)) {
		pos = BPF_CORE_READ(inode, i_size);
		wflags |= TW_W_APPEND;
	}
	ts->in_write = 1;
	ts->w_pos = pos;
	ts->w_count = count;
	ts->w_flags = wflags;
	/* No iomap_dio_rw_begin for a block device's direct writes: its bios are these bytes. */
	if (ts->c_ok == TW_FILE_BDEV) {
		ts->dio_ino = ts->c_ino;
		ts->dio_dev = ts->c_dev;
		ts->dio_pos = pos;
		ts->dio_count = count;
		ts->dio_consumed = 0;
	}

	wb = (struct write_begin){ .pos = pos, .count = count, .fd = fd, .f_flags = f_flags,
				   .rwf = rwf, .sysno = id, .wflags = wflags, .iovcnt = iovcnt };
	send_write_begin(ts, &wb);
	return 0;
}

/* A syscall returns. */
static __always_inline int sys_exit(long id, long ret)
{
	struct tw_write_end_ev *ev;
	struct task_state *ts;

	if (sync_trigger(id)) {
		ts = task_state_get(false);
		if (ts) {
			ts->in_sync = 0;
			send_sync_end(ts, ret, id == NR_msync ? TW_SYNC_MSYNC : 0);
		}
		return 0;
	}
	if (id == NR_io_submit) {	/* its buffered writes are done: visible now */
		ts = task_state_get(false);
		if (!ts)
			return 0;
		ts->dio_count = 0;	/* its direct iocbs' bios are all queued */
		if (!ts->aio_sent)
			return 0;
		ts->aio_sent = 0;
		ev = ev_reserve(sizeof(*ev), TW_EV_AIO_END);
		if (ev) {
			ev->ret = ret;
			ev_submit(ev);
		}
		return 0;
	}
	if (!is_write_nr(id))
		return 0;
	ts = task_state_get(false);
	if (!ts)
		return 0;
	ts->dio_count = 0;
	if (!ts->in_write)
		return 0;
	ts->in_write = 0;
	/*
	 * Its time is the moment the bytes became visible: latency stages need it. A write
	 * that wrote all it asked sends it later, with what the thread does next: one
	 * ring-buffer record per write instead of two.
	 */
	if (ret >= 0 && (__u64)ret == ts->w_count && !(ts->w_flags & TW_W_COUNT_UNKNOWN)) {
		ts->end_ns = bpf_ktime_get_ns();
		return 0;
	}
	ev = ev_reserve(sizeof(*ev), TW_EV_WRITE_END);
	if (ev) {
		ev->ret = ret;
		ev_submit(ev);
	}
	return 0;
}

/*
 * Two ways in. The per-syscall tracepoints (syscalls:sys_enter_pwrite64 & co., through
 * tracefs) run a program only for the syscalls followed here; the generic tp_btf ones run
 * it for every syscall of every process, which a database with 80 syscalls per transaction
 * pays for. User space loads the first set when tracefs has them, else the second.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(tw_sys_enter, struct pt_regs *regs, long id)
{
	unsigned long a[6] = { regs->di, regs->si, regs->dx, regs->r10, regs->r8, regs->r9 };

	return sys_enter(id, a);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tw_sys_exit, struct pt_regs *regs, long ret)
{
	return sys_exit(regs->orig_ax, ret);
}

#define SYSCALL_TPS(name, nr)                                                              \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                        \
	int tw_enter_##name(struct trace_event_raw_sys_enter *ctx)                          \
	{                                                                                  \
		unsigned long a[6] = { ctx->args[0], ctx->args[1], ctx->args[2],            \
				       ctx->args[3], ctx->args[4], ctx->args[5] };           \
		return sys_enter(nr, a);                                                   \
	}                                                                                  \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                         \
	int tw_exit_##name(struct trace_event_raw_sys_exit *ctx)                            \
	{                                                                                  \
		return sys_exit(nr, ctx->ret);                                             \
	}

SYSCALL_TPS(write, NR_write)
SYSCALL_TPS(pwrite64, NR_pwrite64)
SYSCALL_TPS(writev, NR_writev)
SYSCALL_TPS(pwritev, NR_pwritev)
SYSCALL_TPS(pwritev2, NR_pwritev2)
SYSCALL_TPS(fsync, NR_fsync)
SYSCALL_TPS(fdatasync, NR_fdatasync)
SYSCALL_TPS(sync_file_range, NR_sync_file_range)
SYSCALL_TPS(msync, NR_msync)
SYSCALL_TPS(sync, NR_sync)
SYSCALL_TPS(syncfs, NR_syncfs)
SYSCALL_TPS(io_submit, NR_io_submit)

/* Direct writes of traced tasks in flight, by kiocb: their completion may run anywhere. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} iocbs SEC(".maps");

/* Direct writes from any path (pwrite, io_uring, aio): the kiocb is the truth. */
SEC("tp_btf/iomap_dio_rw_begin")
int BPF_PROG(tw_dio_begin, struct kiocb *iocb, struct iov_iter *iter, unsigned int dio_flags,
	     size_t done_before)
{
	struct task_state *st;
	struct tw_dio_ev *ev;
	struct inode *inode;
	__u64 key = (__u64)iocb;
	__u8 one = 1;

	if (!BPF_CORE_READ(iter, data_source) || !is_traced_tgid(bpf_get_current_pid_tgid() >> 32))
		return 0;
	inode = BPF_CORE_READ(iocb, ki_filp, f_inode);
	if (!inode)
		return 0;
	st = task_state_get(true);
	if (!st)
		return 0;
	st->dio_ino = BPF_CORE_READ(inode, i_ino);
	st->dio_dev = BPF_CORE_READ(inode, i_sb, s_dev);
	/* io_uring and aio writes make no write syscall: name their file from here. */
	note_file(BPF_CORE_READ(iocb, ki_filp), st->dio_ino, st->dio_dev, TW_FD_NONE);
	st->dio_pos = BPF_CORE_READ(iocb, ki_pos);
	st->dio_count = BPF_CORE_READ(iter, count);
	st->dio_consumed = 0;

	ev = ev_reserve(sizeof(*ev), TW_EV_DIO_BEGIN);
	if (!ev)
		return 0;
	ev->ino = st->dio_ino;
	ev->dev = st->dio_dev;
	ev->pos = st->dio_pos;
	ev->count = st->dio_count;
	ev->ki_flags = BPF_CORE_READ(iocb, ki_flags);
	ev->iocb = key;
	ev_submit(ev);
	if (bpf_map_update_elem(&iocbs, &key, &one, BPF_ANY))
		stat_inc(TW_LOST_BIOS_FULL);
	return 0;
}

/* A direct write completes: for io_uring and aio, the moment its result is known. */
SEC("tp_btf/iomap_dio_complete")
int BPF_PROG(tw_dio_complete, struct kiocb *iocb, int error, ssize_t ret)
{
	struct tw_dio_end_ev *ev;
	__u64 key = (__u64)iocb;

	if (!bpf_map_lookup_elem(&iocbs, &key))
		return 0;
	bpf_map_delete_elem(&iocbs, &key);
	ev = ev_reserve(sizeof(*ev), TW_EV_DIO_END);
	if (!ev)
		return 0;
	ev->iocb = key;
	ev->ret = error ? error : ret;
	ev_submit(ev);
	return 0;
}

/*
 * io_uring buffered writes. A request is prepared (its io_rw filled from the SQE) before
 * io_uring_submit_req; it is issued inline or by an io-wq worker of the same process; its
 * CQE is posted (io_uring_complete), or queued on the overflow list when the CQ ring is
 * full (io_uring_cqe_overflow, which names only ctx and user_data), or skipped on success
 * (IOSQE_CQE_SKIP_SUCCESS). Direct ones are followed from iomap_dio_rw_begin, and
 * without it (6.1) from here, their bios placed by iomap_iter.
 */
#define IORING_OP_WRITEV	2	/* uapi: stable numbers */
#define IORING_OP_WRITE_FIXED	5
#define IORING_OP_WRITE		23
#define IORING_OP_WRITEV_FIXED	61
#define NR_io_uring_enter	426
#define TW_REQ_F_FIXED_FILE	(1ULL << 0)	/* = IOSQE_FIXED_FILE */
#define TW_REQ_F_CQE_SKIP	(1ULL << 6)	/* = IOSQE_CQE_SKIP_SUCCESS */

struct uring_req {
	__u64 ctx;
	__u64 user_data;
};

/* Followed requests in flight, by io_kiocb address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct uring_req);
} urings SEC(".maps");

/* The registered file table before 6.13: an array of tagged file pointers. */
struct io_fixed_file___old {
	unsigned long file_ptr;
};

struct io_file_table___old {
	struct io_fixed_file___old *files;
};

struct io_ring_ctx___old {
	struct io_file_table___old file_table;
	unsigned int nr_user_files;
};

/* A registered file (IOSQE_FIXED_FILE): the ring's table, whichever shape it has. */
static __always_inline struct file *uring_fixed_file(struct io_kiocb *req, __u32 idx)
{
	struct io_ring_ctx *ctx = BPF_CORE_READ(req, ctx);
	unsigned long ptr = 0;

	if (bpf_core_field_exists(ctx->file_table.data)) {
		struct io_rsrc_node **nodes = BPF_CORE_READ(ctx, file_table.data.nodes);
		struct io_rsrc_node *node = NULL;

		if (idx >= BPF_CORE_READ(ctx, file_table.data.nr) ||
		    bpf_probe_read_kernel(&node, sizeof(node), &nodes[idx]) || !node)
			return NULL;
		ptr = BPF_CORE_READ(node, file_ptr);
	} else {
		struct io_ring_ctx___old *old = (void *)ctx;
		struct io_fixed_file___old *files = BPF_CORE_READ(old, file_table.files);

		if (idx >= BPF_CORE_READ(old, nr_user_files) ||
		    bpf_probe_read_kernel(&ptr, sizeof(ptr), &files[idx].file_ptr))
			return NULL;
	}
	return (struct file *)(ptr & ~7UL);	/* low bits: FFS_NOWAIT, FFS_ISREG */
}

static __always_inline void send_uring_end(__u64 req, __s64 ret, __u32 flags)
{
	struct tw_uring_end_ev *ev = ev_reserve(sizeof(*ev), TW_EV_URING_END);

	if (!ev)
		return;
	ev->req = req;
	ev->ret = ret;
	ev->flags = flags;
	ev->pad = 0;
	ev_submit(ev);
}

/*
 * A write request of a traced process, after prep: its io_rw (at &req->cmd) holds the
 * SQE's offset, buffer, length and RWF flags. req->file is set only at issue, so the
 * file comes from the submitter's fd table or the ring's registered files.
 */
static __always_inline int uring_submit(struct io_kiocb *req)
{
	struct io_rw *rw = (void *)__builtin_preserve_access_index(&req->cmd);
	__u8 op = BPF_CORE_READ(req, opcode);
	struct uring_req val = {};
	struct task_state *ts;
	struct write_begin wb;
	struct inode *inode;
	struct file *file;
	__u64 key = (__u64)req, rflags, count;
	__u32 fd, wflags = TW_W_URING, iovcnt = 1, f_flags, rwf;
	__s64 pos;

	if (!is_traced_tgid(bpf_get_current_pid_tgid() >> 32))
		return 0;
	/*
	 * A request that posts no CQE on success ended unseen when its slot comes back, for
	 * whatever opcode: else the new request's CQE would be taken for the old one's.
	 */
	if (bpf_map_lookup_elem(&urings, &key)) {
		bpf_map_delete_elem(&urings, &key);
		send_uring_end(key, 0, TW_URING_SILENT);
	}
	if (op != IORING_OP_WRITE && op != IORING_OP_WRITEV && op != IORING_OP_WRITE_FIXED &&
	    op != IORING_OP_WRITEV_FIXED)
		return 0;
	ts = traced_task_state();
	if (!ts)
		return 0;
	announce_task(ts);
	rflags = BPF_CORE_READ_BITFIELD_PROBED(req, flags);
	fd = BPF_CORE_READ(req, cqe.fd);
	file = rflags & TW_REQ_F_FIXED_FILE ? uring_fixed_file(req, fd) : fd_to_file(fd);
	if (!file || resolve_file(ts, file, fd, &inode) != TW_FILE_REG)
		return 0;
	f_flags = BPF_CORE_READ(file, f_flags);
	/* Direct ones have their kiocb's iomap_dio_rw_begin; 6.1 has none: made here too. */
	if ((f_flags & TW_O_DIRECT) && !dio_by_iter)
		return 0;
	pos = BPF_CORE_READ(rw, kiocb.ki_pos);
	rwf = BPF_CORE_READ(rw, flags);
	count = BPF_CORE_READ(rw, len);
	if (op == IORING_OP_WRITEV || op == IORING_OP_WRITEV_FIXED) {
		iovcnt = count;
		count = sum_iov((void *)BPF_CORE_READ(rw, addr), iovcnt, &wflags);
	}
	if (rflags & TW_REQ_F_CQE_SKIP)
		wflags |= TW_W_URING_NOCQE;
	/*
	 * Not followed, and counted: a write at the file position or appending (its offset
	 * is known only at issue, and several may be in flight), or one whose length only
	 * its CQE could tell, when it posts none.
	 */
	if (pos < 0 || (rwf & TW_RWF_APPEND) || (f_flags & TW_O_APPEND) ||
	    ((wflags & TW_W_COUNT_UNKNOWN) && (wflags & TW_W_URING_NOCQE))) {
		stat_inc(TW_LOST_URING_WRITES);
		return 0;
	}
	val.ctx = (__u64)BPF_CORE_READ(req, ctx);
	val.user_data = BPF_CORE_READ(req, cqe.user_data);
	if (bpf_map_update_elem(&urings, &key, &val, BPF_ANY)) {
		stat_inc(TW_LOST_URING_WRITES);
		return 0;
	}
	wb = (struct write_begin){ .pos = pos, .count = count, .fd = fd, .f_flags = f_flags,
				   .rwf = rwf, .sysno = NR_io_uring_enter, .wflags = wflags,
				   .iovcnt = iovcnt, .req = key };
	if (!send_write_begin(ts, &wb))
		bpf_map_delete_elem(&urings, &key);
	return 0;
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(tw_uring_submit, struct io_kiocb *req)
{
	return uring_submit(req);
}

/* The same tracepoint on 6.1..6.3: compat choice in user space. */
SEC("tp_btf/io_uring_submit_sqe")
int BPF_PROG(tw_uring_submit_sqe, struct io_kiocb *req, bool force_nonblock)
{
	return uring_submit(req);
}

/*
 * A CQE is posted. The prototype changed in 6.13 ((ctx, req, cqe) from (ctx, req,
 * user_data, res, cflags, extra1, extra2)); both have the request second, and its
 * cqe.res is the result either way. Runs for every CQE: one hash lookup.
 */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(tw_uring_complete, void *ring, void *req)
{
	struct io_kiocb *r = req;
	struct uring_req *val;
	__u64 key = (__u64)req;
	bool same;

	if (!req || !(val = bpf_map_lookup_elem(&urings, &key)))
		return 0;
	/* Another request in a silently ended one's slot (another ring, another process). */
	same = val->ctx == (__u64)BPF_CORE_READ(r, ctx) &&
	       val->user_data == BPF_CORE_READ(r, cqe.user_data);
	bpf_map_delete_elem(&urings, &key);
	send_uring_end(key, same ? BPF_CORE_READ(r, cqe.res) : 0, same ? 0 : TW_URING_SILENT);
	return 0;
}

struct uring_find {
	__u64 ctx;
	__u64 user_data;
	__u64 req;	/* the first match */
	__u32 twice;	/* a second one: ambiguous */
	__u32 pad;
};

static long uring_match(struct bpf_map *map, __u64 *key, struct uring_req *val,
			struct uring_find *f)
{
	if (val->ctx != f->ctx || val->user_data != f->user_data)
		return 0;
	if (f->req) {
		f->twice = 1;
		return 1;
	}
	f->req = *key;
	return 0;
}

/*
 * The CQ ring is full: the CQE goes to the overflow list, and this tracepoint names only
 * the ring and the user_data. The request is the followed one with both, if exactly one
 * has them; with two alike in flight, neither is closed here (each closes when its slot
 * is reused, or at the end, without a return time).
 */
SEC("tp_btf/io_uring_cqe_overflow")
int BPF_PROG(tw_uring_overflow, void *ring, __u64 user_data, __s32 res, __u32 cflags, void *ocqe)
{
	struct uring_find f = { .ctx = (__u64)ring, .user_data = user_data };

	bpf_for_each_map_elem(&urings, uring_match, &f, 0);
	if (!f.req || f.twice)
		return 0;
	bpf_map_delete_elem(&urings, &f.req);
	send_uring_end(f.req, res, TW_URING_OVERFLOW);
	return 0;
}

/* iomap_iter's flags: macros of 6.1's include/linux/iomap.h (not in BTF). */
#define TW_IOMAP_WRITE	(1u << 0)
#define TW_IOMAP_DIRECT	(1u << 4)

/*
 * Kernels without iomap_dio_rw_begin (6.1): iomap_iter() fires in the writing thread
 * before each extent of a direct write is mapped, and that extent's bios are queued
 * before the next call, by this thread (pwrite, io_submit, an io_uring submitter or
 * worker alike, on ext4 and XFS). The bios that follow carry the bytes from the extent's
 * start on: the thread's dio state is set here, exactly, for a file that is traced.
 */
SEC("tp_btf/iomap_iter")
int BPF_PROG(tw_iomap_iter, struct iomap_iter *iter, const void *ops, unsigned long caller)
{
	struct file_key key = {};
	struct task_state *st;
	struct inode *inode;
	__u32 flags = BPF_CORE_READ(iter, flags);
	__u64 pos, left;

	if ((flags & (TW_IOMAP_WRITE | TW_IOMAP_DIRECT)) != (TW_IOMAP_WRITE | TW_IOMAP_DIRECT))
		return 0;
	st = traced_task_state();
	if (!st)
		return 0;
	if (!tw_iomap_iter_next(iter, &pos, &left)) {
		st->dio_count = 0;
		return 0;
	}
	inode = BPF_CORE_READ(iter, inode);
	key.ino = BPF_CORE_READ(inode, i_ino);
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	if (!bpf_map_lookup_elem(&files, &key)) {
		st->dio_count = 0;
		return 0;
	}
	st->dio_ino = key.ino;
	st->dio_dev = key.dev;
	st->dio_pos = pos;
	st->dio_count = left;
	st->dio_consumed = 0;
	return 0;
}

/* XFS software atomic writes: remapped at completion, atomic whatever the bio count. */
SEC("tp_btf/xfs_iomap_atomic_write_cow")
int BPF_PROG(tw_xfs_atomic_cow, struct xfs_inode *ip, xfs_off_t offset, ssize_t count)
{
	struct tw_cow_ev *ev;

	if (!is_traced_tgid(bpf_get_current_pid_tgid() >> 32))
		return 0;
	ev = ev_reserve(sizeof(*ev), TW_EV_ATOMIC_COW);
	if (!ev)
		return 0;
	ev->ino = BPF_CORE_READ(ip, i_vnode.i_ino);
	ev->dev = BPF_CORE_READ(ip, i_vnode.i_sb, s_dev);
	ev->off = offset;
	ev->count = count;
	ev_submit(ev);
	return 0;
}

/*
 * File identity of a page-cache page: its folio's mapping -> host inode, and the
 * folio's index plus the page's place inside the folio. Anonymous, movable and
 * unmapped pages (user pages of direct I/O, metadata buffers) give -1.
 */
static __always_inline int page_file_pos(struct page *page, __u64 *ino, __u32 *dev, __u64 *pos,
					 struct page **headp)
{
	struct page *head = tw_compound_head(page);
	struct folio *folio = (struct folio *)head;
	struct address_space *mapping = BPF_CORE_READ(folio, mapping);
	struct inode *host;
	__u64 sub;

	*headp = head;
	if (!mapping || ((unsigned long)mapping & 3))
		return -1;
	host = BPF_CORE_READ(mapping, host);
	if (!host)
		return -1;
	*ino = BPF_CORE_READ(host, i_ino);
	*dev = BPF_CORE_READ(host, i_sb, s_dev);
	sub = ((__u64)page - (__u64)head) / bpf_core_type_size(struct page);
	*pos = (BPF_CORE_READ(folio, index) + sub) << PAGE_SHIFT_4K;
	return 0;
}

/* The page's owner is a file of a filesystem on a block device (not shmem, not hugetlbfs). */
static __always_inline bool page_on_bdev(struct page *head)
{
	struct folio *folio = (struct folio *)head;

	return BPF_CORE_READ(folio, mapping, host, i_sb, s_bdev) != NULL;
}

static __always_inline struct page *page_at(struct page *base, __u64 nth)
{
	return (struct page *)((__u64)base + nth * bpf_core_type_size(struct page));
}

static __always_inline bool track_bio(__u64 bio)
{
	__u8 one = 1;

	if (bpf_map_update_elem(&bios, &bio, &one, BPF_ANY)) {
		stat_inc(TW_LOST_BIOS_FULL);
		return false;
	}
	return true;
}

/* State of one bio's bvec walk, in a per-CPU scratch slot (too big for the stack). */
struct bvec_walk {
	struct bio_vec *vecs;
	__u32 idx;
	__u32 skip;
	__u32 left;
	__u32 n;
	__u32 flags;
	__u32 c_dev;		/* cache: the file of the last folio's mapping */
	__u64 c_mapping;
	__u64 c_ino;
	struct tw_ext ext[TW_MAX_EXT];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bvec_walk);
} walk_scratch SEC(".maps");

/*
 * page_file_pos for the walk: the bvecs of a bio mostly belong to one file, so the file of
 * the last mapping seen is kept, and a folio of the same mapping costs two reads, not six.
 */
static __always_inline int walk_page_pos(struct bvec_walk *w, struct page *page, __u64 *ino,
					 __u32 *dev, __u64 *pos, struct page **headp)
{
	struct page *head = tw_compound_head(page);
	struct folio *folio = (struct folio *)head;
	struct address_space *mapping = BPF_CORE_READ(folio, mapping);
	__u64 sub;

	*headp = head;
	if (!mapping || ((unsigned long)mapping & 3))
		return -1;
	if ((__u64)mapping != w->c_mapping) {
		struct inode *host = BPF_CORE_READ(mapping, host);

		if (!host)
			return -1;
		w->c_mapping = (__u64)mapping;
		w->c_ino = BPF_CORE_READ(host, i_ino);
		w->c_dev = BPF_CORE_READ(host, i_sb, s_dev);
	}
	*ino = w->c_ino;
	*dev = w->c_dev;
	sub = ((__u64)page - (__u64)head) / bpf_core_type_size(struct page);
	*pos = (BPF_CORE_READ(folio, index) + sub) << PAGE_SHIFT_4K;
	return 0;
}

/* One bvec of the walk; bpf_loop keeps the verifier's work per bvec, not per bio. */
static long walk_one_bvec(__u64 i, void *unused)
{
	__u32 zero = 0;
	struct bvec_walk *w = bpf_map_lookup_elem(&walk_scratch, &zero);
	struct page *head, *last_head, *page;
	struct bio_vec bv;
	__u64 ino, pos, lpos, lino;
	__u32 dev, ldev, off, len, n;

	if (!w || !w->left)
		return 1;
	if (bpf_probe_read_kernel(&bv, sizeof(bv), &w->vecs[w->idx + i]))
		return 1;
	if (bv.bv_len <= w->skip) {
		w->skip -= bv.bv_len;
		return 0;
	}
	off = bv.bv_offset + w->skip;
	len = bv.bv_len - w->skip;
	w->skip = 0;
	if (len > w->left)
		len = w->left;
	w->left -= len;

	page = page_at(bv.bv_page, off >> PAGE_SHIFT_4K);
	if (walk_page_pos(w, page, &ino, &dev, &pos, &head))
		return 0;
	pos += off & ((1 << PAGE_SHIFT_4K) - 1);

	/* A bvec may join physically adjacent folios; they are file-adjacent almost always. */
	page = page_at(bv.bv_page, (off + len - 1) >> PAGE_SHIFT_4K);
	if (tw_compound_head(page) != head) {
		if (page_file_pos(page, &lino, &ldev, &lpos, &last_head) || lino != ino ||
		    lpos + ((off + len - 1) & 4095) != pos + len - 1) {
			stat_inc(TW_STAT_BIO_INEXACT);
			w->flags |= TW_BIO_INEXACT;
		}
	}

	n = w->n;
	if (n > 0 && n <= TW_MAX_EXT) {
		struct tw_ext *prev = &w->ext[n - 1];

		if (prev->ino == ino && prev->dev == dev && prev->off + prev->len == pos) {
			prev->len += len;
			return 0;
		}
	}
	if (n >= TW_MAX_EXT) {
		w->flags |= TW_BIO_EXT_TRUNC;
		stat_inc(TW_LOST_EXT_TRUNC);
		return 1;
	}
	w->ext[n].ino = ino;
	w->ext[n].dev = dev;
	w->ext[n].off = pos;
	w->ext[n].len = len;
	w->n = n + 1;
	return 0;
}

/* Walk the bio's bvecs from its iterator and collect the file extents it carries. */
static __always_inline struct bvec_walk *walk_page_extents(struct bio *bio, __u32 size)
{
	__u32 zero = 0;
	struct bvec_walk *w = bpf_map_lookup_elem(&walk_scratch, &zero);
	long n;

	if (!w)
		return NULL;
	w->vecs = BPF_CORE_READ(bio, bi_io_vec);
	w->idx = BPF_CORE_READ(bio, bi_iter.bi_idx);
	w->skip = BPF_CORE_READ(bio, bi_iter.bi_bvec_done);
	w->left = size;
	w->n = 0;
	w->flags = 0;
	w->c_mapping = 0;
	n = bpf_loop(MAX_BVEC_WALK, walk_one_bvec, NULL, 0);
	if (w->left && n == MAX_BVEC_WALK)
		stat_inc(TW_LOST_BVEC_WALK);
	return w;
}

static __always_inline struct page *bio_first_page(struct bio *bio)
{
	struct bio_vec *vecs = BPF_CORE_READ(bio, bi_io_vec);
	__u32 idx = BPF_CORE_READ(bio, bi_iter.bi_idx);
	__u32 done = BPF_CORE_READ(bio, bi_iter.bi_bvec_done);
	struct bio_vec bv;

	if (bpf_probe_read_kernel(&bv, sizeof(bv), &vecs[idx]))
		return NULL;
	return page_at(bv.bv_page, (bv.bv_offset + done) >> PAGE_SHIFT_4K);
}

/* Who queues this bio, and why: a traced thread's write or sync, or the flusher's work. */
static __always_inline __u32 bio_trigger(void)
{
	struct task_state *ts = task_state_get(false);

	if (!ts)
		return TW_TRIG_UNKNOWN;
	if (ts->in_write)
		return TW_TRIG_WRITE;
	if (ts->in_sync)
		return ts->in_sync;
	return ts->wb_reason;
}

/* The flusher starts a piece of work: its reason holds for the bios it queues until done. */
SEC("tp_btf/writeback_start")
int BPF_PROG(tw_wb_start, struct bdi_writeback *wb, struct wb_writeback_work *work)
{
	struct task_state *ts = task_state_get(true);
	int reason = BPF_CORE_READ(work, reason);

	if (!ts)
		return 0;
	if (reason == bpf_core_enum_value(enum wb_reason, WB_REASON_BACKGROUND))
		ts->wb_reason = TW_TRIG_BACKGROUND;
	else if (reason == bpf_core_enum_value(enum wb_reason, WB_REASON_PERIODIC))
		ts->wb_reason = TW_TRIG_PERIODIC;
	else if (reason == bpf_core_enum_value(enum wb_reason, WB_REASON_VMSCAN))
		ts->wb_reason = TW_TRIG_PRESSURE;
	else if (reason == bpf_core_enum_value(enum wb_reason, WB_REASON_SYNC))
		ts->wb_reason = TW_TRIG_SYNC;
	else
		ts->wb_reason = TW_TRIG_FLUSHER_OTHER;
	return 0;
}

SEC("tp_btf/writeback_written")
int BPF_PROG(tw_wb_written, struct bdi_writeback *wb, struct wb_writeback_work *work)
{
	struct task_state *ts = task_state_get(false);

	if (ts)
		ts->wb_reason = 0;
	return 0;
}

/*
 * Writeback begins for a traced file: one folio, or a pass over a range. Its bio may wait
 * in blk-throttle before block_bio_queue fires, while the folio is already PG_writeback.
 */
static __always_inline void emit_wb(struct inode *inode, __u64 pos, __u64 len, __u32 flags,
				    int ret)
{
	struct file_key key = {};
	struct tw_wb_ev *ev;

	if (!inode)
		return;
	key.ino = BPF_CORE_READ(inode, i_ino);
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	if (!bpf_map_lookup_elem(&files, &key))
		return;
	ev = ev_reserve(sizeof(*ev), TW_EV_WB_START);
	if (!ev)
		return;
	ev->ino = key.ino;
	ev->dev = key.dev;
	ev->pos = pos;
	ev->len = len;
	ev->flags = flags;
	ev->ret = ret;
	ev->pad = 0;
	ev_submit(ev);
}

/*
 * A bio queued or split at an address the map still holds: the kernel frees a bio only after
 * bio_endio, so the followed bio there ended, and its block_rq_complete ran without this
 * program (seen on the project's 6.18 guest: no BPF program at all, tp_btf, raw_tp or classic,
 * runs in the softirqs that land on its init process's threads, and no miss is counted; ftrace
 * records those completions). Drop the stale key, or the new bio's requests would be taken for
 * the old bio's (a false split), and tell user space, which infers the completion.
 */
static __always_inline void forget_stale_bio(struct bio *bio)
{
	__u64 key = (__u64)bio;
	struct tw_gone_ev *ev;

	if (!bpf_map_lookup_elem(&bios, &key))
		return;
	/*
	 * Even if the delete fails (a contended bucket), user space must forget the old bio:
	 * records of the new one then count as unknown bios, never as the old one's.
	 */
	bpf_map_delete_elem(&bios, &key);
	ev = ev_reserve(sizeof(*ev), TW_EV_BIO_GONE);
	if (!ev)
		return;
	ev->bio = key;
	ev->dev = BPF_CORE_READ(bio, bi_bdev, bd_dev);
	ev->pad = 0;
	ev_submit(ev);
}

/* iomap (XFS): one folio, locked and clean, just before folio_start_writeback(). */
SEC("tp_btf/iomap_writeback_folio")
int BPF_PROG(tw_iomap_wb_folio, struct inode *inode, loff_t pos, __u64 len)
{
	emit_wb(inode, pos, len, 0, 0);
	return 0;
}

/* The same tracepoint before 6.17 (iomap_writepage_map): compat choice in user space. */
SEC("tp_btf/iomap_writepage")
int BPF_PROG(tw_iomap_writepage, struct inode *inode, loff_t pos, __u64 len)
{
	emit_wb(inode, pos, len, 0, 0);
	return 0;
}

static __always_inline void emit_wb_pass(struct inode *inode, struct writeback_control *wbc,
					 __u32 flags, int ret)
{
	__u64 lo = 0, hi = ~0ULL;

	/* 6.12's verifier types these tp_btf args as maybe NULL: no arithmetic before a check. */
	if (!inode || !wbc)
		return;
	if (!BPF_CORE_READ_BITFIELD_PROBED(wbc, range_cyclic)) {
		lo = BPF_CORE_READ(wbc, range_start);
		hi = BPF_CORE_READ(wbc, range_end);
	}
	if (BPF_CORE_READ(wbc, sync_mode) == WB_SYNC_ALL)
		flags |= TW_WB_SYNC_ALL;
	if (BPF_CORE_READ(wbc, nr_to_write) == 0x7fffffffffffffffLL)
		flags |= TW_WB_NO_LIMIT;
	emit_wb(inode, lo, hi - lo < ~0ULL ? hi - lo + 1 : hi - lo, flags | TW_WB_PASS, ret);
}

/* ext4 has no per-folio writeback tracepoint: its writepages pass, begin and end. */
SEC("tp_btf/ext4_writepages")
int BPF_PROG(tw_ext4_writepages, struct inode *inode, struct writeback_control *wbc)
{
	emit_wb_pass(inode, wbc, 0, 0);
	return 0;
}

SEC("tp_btf/ext4_writepages_result")
int BPF_PROG(tw_ext4_writepages_result, struct inode *inode, struct writeback_control *wbc,
	     int ret, int pages_written)
{
	emit_wb_pass(inode, wbc, TW_WB_PASS_END, ret);
	return 0;
}

SEC("tp_btf/block_bio_queue")
int BPF_PROG(tw_bio_queue, struct bio *bio)
{
	struct file_key key = {};
	struct task_state *st = NULL;
	struct bvec_walk *walk = NULL;
	struct tw_bio_ev *ev;
	struct page *page, *head;
	__u32 opf = BPF_CORE_READ(bio, bi_opf);
	__u32 size = BPF_CORE_READ(bio, bi_iter.bi_size);
	__u64 pos;
	bool dio = false, owned;

	forget_stale_bio(bio);
	if ((opf & TW_REQ_OP_MASK) != TW_REQ_OP_WRITE || !size)
		return 0;
	page = bio_first_page(bio);
	if (!page)
		return 0;
	owned = page_file_pos(page, &key.ino, &key.dev, &pos, &head) == 0;
	if (owned && bpf_map_lookup_elem(&files, &key)) {
		/* a page-cache page of a traced file: its writeback */
	} else {
		/*
		 * Not a traced file's page cache: a direct write of a traced thread, or nothing
		 * of ours. The context decides, not the page: a direct write's buffer may be
		 * anonymous memory, or shmem, SysV shm, memfd or hugetlbfs pages, which belong
		 * to a mapping of their own (PostgreSQL's shared buffers). A page cached by a
		 * block-device filesystem is that file's writeback (a traced thread's fsync of
		 * a file it never wrote), not a buffer.
		 */
		if (opf & tw_req_flag_mask(bpf_core_enum_value(enum req_flag_bits, __REQ_META)))
			return 0;
		if (!is_traced_tgid(bpf_get_current_pid_tgid() >> 32))
			return 0;
		if (owned && page_on_bdev(head))
			return 0;
		st = task_state_get(false);
		if (!st || st->dio_consumed >= st->dio_count) {
			stat_inc(TW_STAT_DIO_NO_STATE);
			return 0;
		}
		dio = true;
	}

	if (!dio) {
		walk = walk_page_extents(bio, size);
		if (!walk)
			return 0;
	}
	ev = ev_reserve(sizeof(*ev), TW_EV_BIO_QUEUE);
	if (!ev)
		return 0;
	ev->bio = (__u64)bio;
	ev->sector = BPF_CORE_READ(bio, bi_iter.bi_sector);
	ev->dev = BPF_CORE_READ(bio, bi_bdev, bd_dev);
	ev->size = size;
	ev->opf = opf;
	ev->flags = (opf & tw_req_atomic_mask()) ? TW_BIO_ATOMIC : 0;
	ev->trigger = bio_trigger();
	if (dio && st) {
		__u64 left = st->dio_count - st->dio_consumed;

		__builtin_memset(ev->ext, 0, sizeof(ev->ext));
		ev->flags |= TW_BIO_DIO;
		ev->nr_ext = 1;
		ev->ext[0].ino = st->dio_ino;
		ev->ext[0].dev = st->dio_dev;
		ev->ext[0].off = st->dio_pos + st->dio_consumed;
		ev->ext[0].len = size < left ? size : left;
		st->dio_consumed += size;
	} else if (walk) {
		__builtin_memcpy(ev->ext, walk->ext, sizeof(ev->ext));
		ev->nr_ext = walk->n;
		ev->flags |= walk->flags;
	}
	if (!track_bio((__u64)bio)) {
		bpf_ringbuf_discard(ev, 0);
		return 0;
	}
	ev_submit(ev);
	return 0;
}

/* bio_chain(split, parent) runs before the tracepoint: split->bi_private is the parent. */
SEC("tp_btf/block_split")
int BPF_PROG(tw_bio_split, struct bio *split, unsigned int new_sector)
{
	struct tw_split_ev *ev;
	__u64 parent = (__u64)BPF_CORE_READ(split, bi_private);

	if (!parent || !bpf_map_lookup_elem(&bios, &parent)) {
		forget_stale_bio(split);
		return 0;
	}
	if (!track_bio((__u64)split))
		return 0;
	ev = ev_reserve(sizeof(*ev), TW_EV_BIO_SPLIT);
	if (!ev)
		return 0;
	ev->bio = (__u64)split;
	ev->parent = parent;
	ev->sector = BPF_CORE_READ(split, bi_iter.bi_sector);
	ev->size = BPF_CORE_READ(split, bi_iter.bi_size);
	ev->dev = BPF_CORE_READ(split, bi_bdev, bd_dev);
	ev_submit(ev);
	return 0;
}

static __always_inline __u32 rq_dev(struct request *rq)
{
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);

	if (!disk)
		return 0;
	return (BPF_CORE_READ(disk, major) << 20) | BPF_CORE_READ(disk, first_minor);
}

static __always_inline void emit_rq(struct request *rq, struct bio *bio, __u32 type, __u32 bytes,
				    int error)
{
	struct tw_rq_ev *ev = ev_reserve(sizeof(*ev), type);

	if (!ev)
		return;
	ev->rq = (__u64)rq;
	ev->bio = (__u64)bio;
	ev->sector = BPF_CORE_READ(rq, __sector);
	ev->dev = rq_dev(rq);
	ev->rq_bytes = BPF_CORE_READ(rq, __data_len);
	ev->bio_bytes = bytes;
	ev->error = error;
	ev->opf = BPF_CORE_READ(rq, cmd_flags);
	ev->flags = ((ev->opf & tw_req_atomic_mask()) ? TW_RQ_ATOMIC : 0) |
		    ((ev->opf & tw_req_fua_mask()) ? TW_RQ_FUA : 0);
	ev_submit(ev);
}

/* Cache flushes, from any process: what makes completed writes durable. */
static __always_inline bool emit_flush(struct request *rq, __u32 done, int error)
{
	struct tw_flush_ev *ev;

	if ((BPF_CORE_READ(rq, cmd_flags) & TW_REQ_OP_MASK) != TW_REQ_OP_FLUSH)
		return false;
	ev = ev_reserve(sizeof(*ev), TW_EV_FLUSH);
	if (!ev)
		return true;
	ev->rq = (__u64)rq;
	ev->dev = rq_dev(rq);
	ev->done = done;
	ev->error = error;
	ev->pad = 0;
	ev_submit(ev);
	return true;
}

/*
 * A request's bios, walked by bpf_loop: the verifier's work is per bio, not per request
 * (the open-coded 512-step loop exceeded 6.1's verifier limit of 1M instructions).
 */
struct rq_walk {
	__u64 rq;
	__u64 bio;
	__u32 type;	/* TW_EV_RQ_ISSUE or TW_EV_RQ_COMPLETE */
	__u32 left;	/* completion: bytes still to attribute */
	int error;
	__u32 pad;
};

static long rq_walk_one(__u64 i, void *data)
{
	struct rq_walk *w = data;
	struct bio *bio = (struct bio *)w->bio;
	bool complete = w->type == TW_EV_RQ_COMPLETE;
	__u64 key = w->bio;
	__u32 size, done;

	if (!bio || (complete && !w->left))
		return 1;
	size = BPF_CORE_READ(bio, bi_iter.bi_size);
	done = complete && w->left < size ? w->left : size;
	if (bpf_map_lookup_elem(&bios, &key)) {
		emit_rq((struct request *)w->rq, bio, w->type, done, w->error);
		if (complete && done == size)
			bpf_map_delete_elem(&bios, &key);
	}
	if (complete)
		w->left -= done;
	w->bio = (__u64)BPF_CORE_READ(bio, bi_next);
	return 0;
}

static __always_inline void walk_rq(struct request *rq, __u32 type, __u32 nr_bytes, int error)
{
	struct rq_walk w = {
		.rq = (__u64)rq,
		.bio = (__u64)BPF_CORE_READ(rq, bio),
		.type = type,
		.left = nr_bytes,
		.error = error,
	};

	bpf_loop(MAX_RQ_WALK, rq_walk_one, &w, 0);
	if (w.bio && (type == TW_EV_RQ_ISSUE || w.left))
		stat_inc(TW_LOST_RQ_WALK);
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(tw_rq_issue, struct request *rq)
{
	if (!emit_flush(rq, 0, 0))
		walk_rq(rq, TW_EV_RQ_ISSUE, 0, 0);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(tw_rq_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	if (!emit_flush(rq, 1, error))
		walk_rq(rq, TW_EV_RQ_COMPLETE, nr_bytes, error);
	return 0;
}

/* A bio that ends without a request (bio-based device, error) leaves the table here. */
SEC("tp_btf/block_bio_complete")
int BPF_PROG(tw_bio_complete, struct request_queue *q, struct bio *bio)
{
	__u64 key = (__u64)bio;

	if (!bpf_map_delete_elem(&bios, &key))
		stat_inc(TW_STAT_BIO_END_NO_RQ);
	return 0;
}

/*
 * A folio of a traced file leaves the page cache. Reclaim and invalidation drop clean copies
 * of bytes the file keeps: ignored before the map lookup. A truncation (the folio lies at or
 * past the new size) or an unlinked file drops bytes that will never be written; when the
 * unlinked inode is being freed (AS_EXITING), its number is free for another file.
 */
SEC("tp_btf/mm_filemap_delete_from_page_cache")
int BPF_PROG(tw_cache_delete, struct folio *folio)
{
	struct address_space *mapping = folio->mapping;
	struct file_key key = {};
	struct tw_discard_ev *ev;
	struct inode *host;
	__u32 nlink, flags = 0;
	__u64 pos;
	bool eof;

	if (!mapping)
		return 0;
	host = BPF_CORE_READ(mapping, host);
	if (!host)
		return 0;
	nlink = BPF_CORE_READ(host, __i_nlink);
	pos = folio->index << PAGE_SHIFT_4K;
	eof = pos >= BPF_CORE_READ(host, i_size);
	if (nlink && !eof)
		return 0;
	key.ino = BPF_CORE_READ(host, i_ino);
	key.dev = BPF_CORE_READ(host, i_sb, s_dev);
	if (!bpf_map_lookup_elem(&files, &key))
		return 0;
	if (!nlink && (BPF_CORE_READ(mapping, flags) &
		       (1UL << bpf_core_enum_value(enum mapping_flags, AS_EXITING)))) {
		/* Once per inode: the next folios of its final truncation find no entry. */
		if (bpf_map_delete_elem(&files, &key))
			return 0;
		flags = TW_DISCARD_GONE;
	}
	if (eof)
		flags |= TW_DISCARD_EOF;
	ev = ev_reserve(sizeof(*ev), TW_EV_DISCARD);
	if (!ev)
		return 0;
	ev->ino = key.ino;
	ev->dev = key.dev;
	ev->pos = pos;
	ev->len = (__u64)tw_folio_nr_pages(folio, tw_folio_flags(folio)) << PAGE_SHIFT_4K;
	ev->flags = flags;
	ev_submit(ev);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tw_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid, ctgid;
	__u8 one = 1;

	if (!follow_forks)
		return 0;
	ptgid = BPF_CORE_READ(parent, tgid);
	ctgid = BPF_CORE_READ(child, tgid);
	if (ptgid == ctgid || !is_traced_tgid(ptgid))
		return 0;
	if (bpf_map_update_elem(&traced, &ctgid, &one, BPF_ANY))
		stat_inc(TW_LOST_TRACED_FULL);
	return 0;
}

/* A traced thread that execs gets a new name: announce it again at its next record. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(tw_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct task_state *ts = task_state_get(false);

	if (ts)
		ts->announced = 0;
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tw_exit, struct task_struct *task)
{
	struct task_state *ts = task_state_get(false);
	__u32 tid = task->pid;

	if (ts)
		send_held_end(ts);

	/* The group leader ends last: its tgid slot is free for the next follower. */
	if (tid == task->tgid)
		bpf_map_delete_elem(&traced, &tid);
	return 0;
}
