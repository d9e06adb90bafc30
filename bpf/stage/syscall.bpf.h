/* SPDX-License-Identifier: GPL-2.0 */
/* The syscall entry points: write, pwrite64, writev, pwritev(2) and io_submit of traced threads
 * become WRITE_BEGIN/WRITE_END records; the sync syscalls go to sync.bpf.h. */
#ifndef TW_STAGE_SYSCALL_BPF_H
#define TW_STAGE_SYSCALL_BPF_H

#include "write.bpf.h"
#include "sync.bpf.h"

#define MAX_AIO_IOCBS	64	/* iocbs read per io_submit */

static __always_inline bool is_write_nr(long id)
{
	return id == NR_write || id == NR_pwrite64 || id == NR_writev || id == NR_pwritev ||
	       id == NR_pwritev2;
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

/* io_submit enters: each iocb that writes to a traced file is a WRITE_BEGIN (aio_one). */
static __always_inline void aio_enter(const unsigned long *a)
{
	struct aio_batch b = { .uiocbs = (void *)a[2], .nr = a[1] };
	struct task_state *ts = traced_task_state();

	if (!ts || (long)a[1] <= 0)
		return;
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
}

/* ... and returns: its buffered writes are done, visible now. */
static __always_inline void aio_exit(long ret)
{
	struct task_state *ts = task_state_get(false);
	struct tw_write_end_ev *ev;

	if (!ts)
		return;
	ts->dio_count = 0;	/* its direct iocbs' bios are all queued */
	if (!ts->aio_sent)
		return;
	ts->aio_sent = 0;
	ev = ev_reserve(sizeof(*ev), TW_EV_AIO_END);
	if (ev) {
		ev->ret = ret;
		ev_submit(ev);
	}
}

/* A write syscall enters (write, pwrite64, writev, pwritev, pwritev2): its WRITE_BEGIN. */
static __always_inline void write_enter(long id, const unsigned long *a)
{
	struct task_state *ts;
	struct write_begin wb;
	struct file *file;
	struct inode *inode;
	__u64 pos, count = 0;
	__u32 fd, f_flags, rwf = 0, wflags = 0, iovcnt = 1;
	long pos_arg = -1;

	ts = traced_task_state();
	if (!ts)
		return;
	ts->in_write = 0;
	announce_task(ts);

	fd = a[0];
	file = fd_to_file(fd);
	if (!file || !resolve_file(ts, file, fd, &inode))
		return;

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
}

/* ... and returns. */
static __always_inline void write_exit(long ret)
{
	struct tw_write_end_ev *ev;
	struct task_state *ts;

	ts = task_state_get(false);
	if (!ts)
		return;
	ts->dio_count = 0;
	if (!ts->in_write)
		return;
	ts->in_write = 0;
	/*
	 * Its time is the moment the bytes became visible: latency stages need it. A write
	 * that wrote all it asked sends it later, with what the thread does next: one
	 * ring-buffer record per write instead of two.
	 */
	if (ret >= 0 && (__u64)ret == ts->w_count && !(ts->w_flags & TW_W_COUNT_UNKNOWN)) {
		ts->end_ns = bpf_ktime_get_ns();
		return;
	}
	ev = ev_reserve(sizeof(*ev), TW_EV_WRITE_END);
	if (ev) {
		ev->ret = ret;
		ev_submit(ev);
	}
}

/* A syscall enters; a[] holds its arguments (x86_64: di, si, dx, r10, r8, r9). */
static __always_inline int sys_enter(long id, const unsigned long *a)
{
	__u32 trig = sync_trigger(id);

	if (trig)	/* a traced thread syncs: the bios it queues are this trigger's */
		sync_enter(trig, a);
	else if (id == NR_io_submit)
		aio_enter(a);
	else if (is_write_nr(id))
		write_enter(id, a);
	return 0;
}

/* A syscall returns. */
static __always_inline int sys_exit(long id, long ret)
{
	if (sync_trigger(id))
		sync_exit(id, ret);
	else if (id == NR_io_submit)
		aio_exit(ret);
	else if (is_write_nr(id))
		write_exit(ret);
	return 0;
}

/*
 * Two ways in. The per-syscall tracepoints (syscalls:sys_enter_pwrite64 & co., through
 * tracefs) run a program only for the syscalls followed here; the generic tp_btf ones run
 * it for every syscall of every process, which a database with 80 syscalls per transaction
 * pays for. User space loads the first set when tracefs has them, else the second.
 */
SEC("tp_btf/sys_enter")
int TW_PROG(tw_sys_enter, struct pt_regs *regs, long id)
{
	unsigned long a[6] = { regs->di, regs->si, regs->dx, regs->r10, regs->r8, regs->r9 };

	return sys_enter(id, a);
}

SEC("tp_btf/sys_exit")
int TW_PROG(tw_sys_exit, struct pt_regs *regs, long ret)
{
	return sys_exit(regs->orig_ax, ret);
}

#define SYSCALL_TPS(name, nr)                                                              \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                        \
	int tw_enter_##name(struct trace_event_raw_sys_enter *ctx)                          \
	{                                                                                  \
		TW_FLOOR_RETURN();                                                         \
		unsigned long a[6] = { ctx->args[0], ctx->args[1], ctx->args[2],            \
				       ctx->args[3], ctx->args[4], ctx->args[5] };           \
		return sys_enter(nr, a);                                                   \
	}                                                                                  \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                         \
	int tw_exit_##name(struct trace_event_raw_sys_exit *ctx)                            \
	{                                                                                  \
		TW_FLOOR_RETURN();                                                         \
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

#endif /* TW_STAGE_SYSCALL_BPF_H */
