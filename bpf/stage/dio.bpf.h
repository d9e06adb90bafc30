/* SPDX-License-Identifier: GPL-2.0 */
/* Direct writes by kiocb, from any path (pwrite, io_uring, aio): their start, their completion,
 * where 6.1 places their bios (iomap_iter), and XFS software atomic writes. */
#ifndef TW_STAGE_DIO_BPF_H
#define TW_STAGE_DIO_BPF_H

#include "shared.bpf.h"

/* Direct writes of traced tasks in flight, by kiocb: their completion may run anywhere. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} iocbs SEC(".maps");

/* Direct writes from any path (pwrite, io_uring, aio): the kiocb is the truth. */
SEC("tp_btf/iomap_dio_rw_begin")
int TW_PROG(tw_dio_begin, struct kiocb *iocb, struct iov_iter *iter, unsigned int dio_flags,
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
	st->traced = 1;
	st->dio_ino = BPF_CORE_READ(inode, i_ino);
	st->dio_dev = BPF_CORE_READ(inode, i_sb, s_dev);
	/* io_uring and aio writes make no write syscall: name their file from here. */
	note_file(BPF_CORE_READ(iocb, ki_filp), st->dio_ino, st->dio_dev, TW_FD_NONE);
	st->dio_pos = BPF_CORE_READ(iocb, ki_pos);
	st->dio_count = BPF_CORE_READ(iter, count);
	st->dio_consumed = 0;
	/*
	 * A write syscall's own kiocb (synchronous: no ki_complete) at the start of the write it
	 * announced: its WRITE_BEGIN and return say all, and this kiocb ends before the return.
	 * Two records and a map entry fewer per direct pwrite.
	 */
	if (st->in_write && st->c_ino == st->dio_ino && st->c_dev == st->dio_dev &&
	    st->w_pos == st->dio_pos && !BPF_CORE_READ(iocb, ki_complete))
		return 0;

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
int TW_PROG(tw_dio_complete, struct kiocb *iocb, int error, ssize_t ret)
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
int TW_PROG(tw_iomap_iter, struct iomap_iter *iter, const void *ops, unsigned long caller)
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
int TW_PROG(tw_xfs_atomic_cow, struct xfs_inode *ip, xfs_off_t offset, ssize_t count)
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

#endif /* TW_STAGE_DIO_BPF_H */
