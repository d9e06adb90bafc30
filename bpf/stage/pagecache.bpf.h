/* SPDX-License-Identifier: GPL-2.0 */
/* The page cache of traced files: writeback that begins (its reason, its folio or pass) and
 * folios that leave the cache unwritten (truncation, unlink). */
#ifndef TW_STAGE_PAGECACHE_BPF_H
#define TW_STAGE_PAGECACHE_BPF_H

#include "shared.bpf.h"

/* The flusher starts a piece of work: its reason holds for the bios it queues until done. */
SEC("tp_btf/writeback_start")
int TW_PROG(tw_wb_start, struct bdi_writeback *wb, struct wb_writeback_work *work)
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
int TW_PROG(tw_wb_written, struct bdi_writeback *wb, struct wb_writeback_work *work)
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
				    int ret, __u64 t0)
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
	if (t0)		/* a whole pass: its time is its begin */
		ev->h.ts_ns = t0;
	ev->ino = key.ino;
	ev->dev = key.dev;
	ev->pos = pos;
	ev->len = len;
	ev->flags = flags;
	ev->ret = ret;
	ev->pad = 0;
	ev_submit(ev);
}

/* iomap (XFS): one folio, locked and clean, just before folio_start_writeback(). */
SEC("tp_btf/iomap_writeback_folio")
int TW_PROG(tw_iomap_wb_folio, struct inode *inode, loff_t pos, __u64 len)
{
	emit_wb(inode, pos, len, 0, 0, 0);
	return 0;
}

/* The same tracepoint before 6.17 (iomap_writepage_map): compat choice in user space. */
SEC("tp_btf/iomap_writepage")
int TW_PROG(tw_iomap_writepage, struct inode *inode, loff_t pos, __u64 len)
{
	emit_wb(inode, pos, len, 0, 0, 0);
	return 0;
}

static __always_inline void emit_wb_pass(struct inode *inode, struct writeback_control *wbc,
					 __u32 flags, int ret, __u64 t0)
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
	emit_wb(inode, lo, hi - lo < ~0ULL ? hi - lo + 1 : hi - lo, flags | TW_WB_PASS, ret, t0);
}

/*
 * ext4 has no per-folio writeback tracepoint: its writepages pass. Its begin is only noted
 * in the thread's state; one record at its end says the pass and when it began. A
 * data-integrity pass whose every written page went into a bio this thread queued (counted
 * by tw_bio_queue in pass_bytes) sends none: its bios say all it did. One whose bios wait
 * before the block layer (blk-throttle) does, and so does any pass that wrote nothing.
 */
SEC("tp_btf/ext4_writepages")
int TW_PROG(tw_ext4_writepages, struct inode *inode, struct writeback_control *wbc)
{
	struct file_key key = {};
	struct task_state *ts;

	if (!inode)
		return 0;
	key.ino = BPF_CORE_READ(inode, i_ino);
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	if (!bpf_map_lookup_elem(&files, &key) || !(ts = task_state_get(true)))
		return 0;
	ts->pass_t0 = bpf_ktime_get_ns();
	ts->pass_ino = key.ino;
	ts->pass_dev = key.dev;
	ts->pass_bytes = 0;
	return 0;
}

SEC("tp_btf/ext4_writepages_result")
int TW_PROG(tw_ext4_writepages_result, struct inode *inode, struct writeback_control *wbc,
	     int ret, int pages_written)
{
	struct task_state *ts = task_state_get(false);
	__u64 t0;

	if (!inode || !ts || !(t0 = ts->pass_t0))
		return 0;
	ts->pass_t0 = 0;
	if (ts->pass_ino != BPF_CORE_READ(inode, i_ino) ||
	    ts->pass_dev != BPF_CORE_READ(inode, i_sb, s_dev))
		return 0;
	if (!ret && pages_written > 0 && wbc &&
	    BPF_CORE_READ(wbc, sync_mode) == WB_SYNC_ALL &&
	    ts->pass_bytes == (__u64)pages_written << PAGE_SHIFT_4K)
		return 0;
	emit_wb_pass(inode, wbc, TW_WB_PASS_END | TW_WB_PASS_WHOLE, ret, t0);
	return 0;
}

/*
 * A folio of a traced file leaves the page cache. Reclaim and invalidation drop clean copies
 * of bytes the file keeps: ignored before the map lookup. A truncation (the folio lies at or
 * past the new size) or an unlinked file drops bytes that will never be written; when the
 * unlinked inode is being freed (AS_EXITING), its number is free for another file.
 */
SEC("tp_btf/mm_filemap_delete_from_page_cache")
int TW_PROG(tw_cache_delete, struct folio *folio)
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

#endif /* TW_STAGE_PAGECACHE_BPF_H */
