/* SPDX-License-Identifier: GPL-2.0 */
/* The sync syscalls (fsync, fdatasync, msync, sync_file_range, sync, syncfs) of traced threads:
 * the trigger of the bios they queue, the file they wait for, and when their wait ends. */
#ifndef TW_STAGE_SYNC_BPF_H
#define TW_STAGE_SYNC_BPF_H

#include "write.bpf.h"

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

/* A sync syscall enters; a[] holds its arguments. */
static __always_inline void sync_enter(__u32 trig, const unsigned long *a)
{
	struct task_state *ts = traced_task_state();

	if (!ts)
		return;
	ts->in_sync = trig;
	send_held_end(ts);
	ts->sync_t0 = 0;
	if (trig == TW_TRIG_FSYNC)
		note_sync_file(ts, fd_to_file(a[0]));
	else if (trig == TW_TRIG_MSYNC)
		note_sync_file(ts, msync_file(a[0], a[2]));
}

/* ... and returns. */
static __always_inline void sync_exit(long id, long ret)
{
	struct task_state *ts = task_state_get(false);

	if (!ts)
		return;
	ts->in_sync = 0;
	send_sync_end(ts, ret, id == NR_msync ? TW_SYNC_MSYNC : 0);
}

#endif /* TW_STAGE_SYNC_BPF_H */
