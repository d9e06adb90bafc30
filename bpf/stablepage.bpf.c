// SPDX-License-Identifier: GPL-2.0
/*
 * stablepage: pages a traced process changes while their writeback I/O is in
 * flight (what lands on the device may then mix old and new bytes), and the
 * time traced writers spend waiting for writeback (stable pages enforced). And
 * the writes that make no syscall: stores through a shared mapping that dirty a
 * clean folio (MMAP_DIRTY), seen from the same dirtying of a folio.
 *
 * Loaded after the core with the core's maps (traced set, files, task state,
 * ring buffer): its records interleave in order with the core's bio records.
 */
#include "tw_common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define PAGE_SHIFT_4K 12

__u32 waiters;	/* traced threads waiting for writeback now: gates sched_wakeup */
/*
 * sched_wakeup runs for every wake-up on the machine (20 per pgbench transaction), so user
 * space attaches it only once a traced thread has waited (wakeup_wanted); waits begun before
 * it set wakeup_armed are sent untimed.
 */
__u32 wakeup_wanted;
__u32 wakeup_armed;

/* A folio's file identity, for block-backed files only. */
static __always_inline bool folio_file(struct address_space *mapping, __u64 *ino, __u32 *dev)
{
	struct inode *host;

	if (!mapping)
		return false;
	host = BPF_CORE_READ(mapping, host);
	if (!host || !BPF_CORE_READ(host, i_sb, s_bdev))
		return false;
	*ino = BPF_CORE_READ(host, i_ino);
	*dev = BPF_CORE_READ(host, i_sb, s_dev);
	return true;
}

/*
 * Traced: the thread has state marked traced (it wrote), or its process is in the traced set
 * (mmap only). A flusher kworker's own state does not make it traced.
 */
static __always_inline bool current_traced(struct task_state **tsp)
{
	*tsp = task_state_get(false);
	return (*tsp && (*tsp)->traced) || is_traced_tgid(bpf_get_current_pid_tgid() >> 32);
}

/* A traced thread's write fault: remember where, to name the page an mmap store dirties. */
SEC("tp_btf/page_fault_user")
int TW_PROG(sp_write_fault, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	struct task_state *ts;

	if (!(error_code & 2 /* X86_PF_WRITE */))
		return 0;
	ts = traced_task_state();
	if (!ts)
		return 0;
	announce_task(ts);
	ts->fault_addr = address;
	return 0;
}

struct vma_query {
	__u64 addr;
	__u64 ino;
	__u32 dev;
	__u32 found;
	__u64 pos;		/* file offset of addr's page */
	__u64 file;		/* the vma's struct file * */
};

static long vma_file_pos(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_query *q = data;
	struct file *file = vma->vm_file;
	struct inode *inode;

	if (!file)
		return 0;
	inode = file->f_inode;
	if (!inode || inode->i_ino != q->ino || inode->i_sb->s_dev != q->dev)
		return 0;
	q->pos = ((q->addr - vma->vm_start) & ~4095ULL) + ((__u64)vma->vm_pgoff << PAGE_SHIFT_4K);
	q->file = (__u64)file;
	q->found = 1;
	return 0;
}

/*
 * The thread's last write fault, if its vma maps this file at a page of the folio [lo, hi):
 * that page's file offset. The fault is used once.
 */
static __always_inline bool fault_page(struct task_state *ts, __u64 ino, __u32 dev, __u64 lo,
				       __u64 hi, struct vma_query *q)
{
	*q = (struct vma_query){ .addr = ts->fault_addr, .ino = ino, .dev = dev };
	ts->fault_addr = 0;
	return !bpf_find_vma(bpf_get_current_task_btf(), q->addr, vma_file_pos, q, 0) &&
	       q->found && q->pos >= lo && q->pos < hi;
}

/*
 * A store through a shared mapping dirtied a clean folio: an mmap write. The file may be
 * met here first (never written through an fd): it becomes a traced file, so its
 * writeback bios are followed.
 */
static __always_inline void send_mmap_dirty(__u64 ino, __u32 dev, __u64 index, __u32 nr_pages,
					    const struct vma_query *q, bool wb)
{
	struct tw_mmap_ev *ev;

	if (!note_file((struct file *)q->file, ino, dev, TW_FD_NONE))
		return;
	ev = ev_reserve(sizeof(*ev), TW_EV_MMAP_DIRTY);
	if (!ev)
		return;
	ev->ino = ino;
	ev->dev = dev;
	ev->index = index;
	ev->pos = q->pos;
	ev->nr_pages = nr_pages;
	ev->flags = wb ? TW_MMAP_WRITEBACK : 0;
	ev->pad = 0;
	ev_submit(ev);
}

/*
 * A folio becomes dirty. In a traced thread's write fault, a store through a mapping: an
 * mmap write. Under writeback, its I/O is in flight: whoever dirties it now changes bytes
 * the device may still be reading.
 */
SEC("tp_btf/writeback_dirty_folio")
int TW_PROG(sp_dirty_folio, struct folio *folio, struct address_space *mapping)
{
	unsigned long flags = tw_folio_flags(folio);
	struct task_state *ts = task_state_get(false);
	struct tw_modified_ev *ev;
	struct vma_query q;
	__u64 ino, index, lo, hi, wlo, whi;
	__u32 dev, nr_pages;
	bool wb, in_own_write, mmap = false;

	if (!mapping)
		return 0;
	wb = tw_folio_test(folio, flags, bpf_core_enum_value(enum pageflags, PG_writeback));
	if (!wb && !(ts && ts->fault_addr))
		return 0;
	if (!current_traced(&ts) || !folio_file(mapping, &ino, &dev))
		return 0;
	index = BPF_CORE_READ(folio, index);
	nr_pages = tw_folio_nr_pages(folio, flags);
	lo = index << PAGE_SHIFT_4K;
	hi = lo + ((__u64)nr_pages << PAGE_SHIFT_4K);
	in_own_write = ts && ts->in_write && ts->c_ino == ino && ts->c_dev == dev;
	if (!in_own_write && ts && ts->fault_addr)
		mmap = fault_page(ts, ino, dev, lo, hi, &q);
	/*
	 * Stable writes: the writer waits for the writeback before its bytes go in (some
	 * page_mkwrite paths mark the folio dirty first, then wait): nothing changes in flight.
	 * A store's new instance comes after the modification of the one in flight.
	 */
	if (!wb || tw_mapping_stable_writes(mapping))
		goto out;
	ev = ev_reserve(sizeof(*ev), TW_EV_MODIFIED);
	if (!ev)
		goto out;
	ev->ino = ino;
	ev->dev = dev;
	ev->index = index;
	ev->nr_pages = nr_pages;
	ev->flags = 0;
	ev->pad = 0;
	ev->off = lo;
	ev->len = hi - lo;
	/* Inside a write to this file: its bytes in this folio are what changed. */
	if (in_own_write) {
		wlo = ts->w_pos > lo ? ts->w_pos : lo;
		whi = ts->w_pos + ts->w_count < hi ? ts->w_pos + ts->w_count : hi;
		if (wlo < whi) {
			ev->off = wlo;
			ev->len = whi - wlo;
			ev->flags = TW_MOD_RANGE;
		}
	} else if (mmap) {
		/* A store through a mapping: the faulting page, found through the vma. */
		ev->off = q.pos;
		ev->len = 1 << PAGE_SHIFT_4K;
		ev->flags = TW_MOD_RANGE | TW_MOD_MMAP;
	}
	ev_submit(ev);
out:
	if (mmap)
		send_mmap_dirty(ino, dev, index, nr_pages, &q, wb);
	return 0;
}

/*
 * A traced thread waits for a folio's writeback. The kernel stack tells a
 * stable-page wait (write_begin, page_mkwrite) from fsync's; user space reads it.
 */
SEC("tp_btf/folio_wait_writeback")
int TW_PROG(sp_wait_writeback, struct folio *folio, struct address_space *mapping)
{
	struct task_state *ts;
	struct tw_wait_begin_ev *ev;
	long n;

	ts = traced_task_state();
	if (!ts)
		return 0;
	/*
	 * Inside fsync & co. (known from its syscall): only counted, here (stable.waits_fsync),
	 * no record. PostgreSQL's fdatasync waits twice per transaction.
	 */
	if (ts->in_sync && !ts->in_write) {
		stat_inc(TW_COUNT_WAITS_SYNC);
		return 0;
	}
	announce_task(ts);
	ev = ev_reserve(sizeof(*ev), TW_EV_WAIT_BEGIN);
	if (!ev)
		return 0;
	if (!folio_file(mapping, &ev->ino, &ev->dev)) {
		ev->ino = 0;
		ev->dev = 0;
	}
	ev->index = BPF_CORE_READ(folio, index);
	ev->flags = ts->in_write ? TW_WAIT_IN_WRITE : 0;
	ev->context = TW_WAIT_UNKNOWN;
	n = bpf_get_stack(ctx, ev->stack, sizeof(ev->stack), 0);
	ev->nr_stack = n > 0 ? n / sizeof(__u64) : 0;
	if (!wakeup_armed) {
		ev->flags |= TW_WAIT_UNTIMED;
		wakeup_wanted = 1;
		ev_submit(ev);
		return 0;
	}
	ev_submit(ev);
	if (!ts->wait_t0)
		__sync_fetch_and_add(&waiters, 1);
	ts->wait_t0 = bpf_ktime_get_ns();
	return 0;
}

/* The waiter runs again: its wait ends. Nothing to do while no traced thread waits. */
SEC("tp_btf/sched_wakeup")
int TW_PROG(sp_wakeup, struct task_struct *p)
{
	struct task_state *ts;
	struct tw_wait_end_ev *ev;
	__u64 t0;

	if (!waiters)
		return 0;
	ts = bpf_task_storage_get(&tstate, p, 0, 0);
	if (!ts || !(t0 = ts->wait_t0))
		return 0;
	ts->wait_t0 = 0;
	__sync_fetch_and_add(&waiters, -1);
	ev = ev_reserve(sizeof(*ev), TW_EV_WAIT_END);
	if (!ev)
		return 0;
	ev->h.pid = p->tgid;
	ev->h.tid = p->pid;
	ev->wait_ns = ev->h.ts_ns - t0;
	ev_submit(ev);
	return 0;
}
