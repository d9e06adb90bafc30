/* SPDX-License-Identifier: GPL-2.0 */
/* What the write entry points share (syscalls, io_submit, io_uring): the file a write goes to,
 * the WRITE_BEGIN record, and the held return of a thread's last write. */
#ifndef TW_STAGE_WRITE_BPF_H
#define TW_STAGE_WRITE_BPF_H

#include "shared.bpf.h"

#define MAX_IOV_READ	8	/* iovecs summed at syscall entry */

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
#define NR_syncfs	306

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

#endif /* TW_STAGE_WRITE_BPF_H */
