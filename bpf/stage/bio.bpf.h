/* SPDX-License-Identifier: GPL-2.0 */
/* Bios that carry bytes of traced writes: queued (page cache or a traced direct write), split,
 * and stale entries of bios that ended unseen. */
#ifndef TW_STAGE_BIO_BPF_H
#define TW_STAGE_BIO_BPF_H

#include "bvec.bpf.h"

/* The page's owner is a file of a filesystem on a block device (not shmem, not hugetlbfs). */
static __always_inline bool page_on_bdev(struct page *head)
{
	struct folio *folio = (struct folio *)head;

	return BPF_CORE_READ(folio, mapping, host, i_sb, s_bdev) != NULL;
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

/* Who queues this bio, and why: a traced thread's write or sync, or the flusher's work. */
static __always_inline __u32 bio_trigger(struct task_state *ts)
{
	if (!ts)
		return TW_TRIG_UNKNOWN;
	if (ts->in_write)
		return TW_TRIG_WRITE;
	if (ts->in_sync)
		return ts->in_sync;
	return ts->wb_reason;
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

/* A writepages pass of this thread's (ts->pass_*) put these bytes of its file in a bio. */
static __always_inline void count_pass_bytes(struct task_state *ts, const struct bvec_walk *walk)
{
	if (!ts || !ts->pass_t0)
		return;
	for (int i = 0; i < TW_MAX_EXT; i++) {
		if (i >= walk->n)
			break;
		if (walk->ext[i].ino == ts->pass_ino && walk->ext[i].dev == ts->pass_dev)
			ts->pass_bytes += walk->ext[i].len;
	}
}

/* A traced thread's direct write queues a bio: it carries the write's next bytes. */
static __always_inline void dio_bio_ext(struct tw_bio_ev *ev, struct task_state *st, __u32 size)
{
	__u64 left = st->dio_count - st->dio_consumed;

	ev->flags |= TW_BIO_DIO;
	ev->nr_ext = 1;
	ev->ext[0].ino = st->dio_ino;
	ev->ext[0].dev = st->dio_dev;
	ev->ext[0].off = st->dio_pos + st->dio_consumed;
	ev->ext[0].len = size < left ? size : left;
	st->dio_consumed += size;
}

/* What a BIO_QUEUE record says before its extents. */
static __always_inline void bio_head(struct tw_bio_ev *ev, struct bio *bio, __u32 size, __u32 opf,
				     struct task_state *st)
{
	ev->bio = (__u64)bio;
	ev->sector = BPF_CORE_READ(bio, bi_iter.bi_sector);
	ev->dev = BPF_CORE_READ(bio, bi_bdev, bd_dev);
	ev->size = size;
	ev->opf = opf;
	ev->flags = (opf & tw_req_atomic_mask()) ? TW_BIO_ATOMIC : 0;
	ev->trigger = bio_trigger(st);
}

/*
 * The record of a followed bio: room for one extent when it has one (a direct write's, one
 * run of a file's pages: most bios), else for TW_MAX_EXT. A 256-byte record touches four
 * cold lines of the ring: 375 ns more per direct write than the 88-byte one, measured.
 */
static __always_inline struct tw_bio_ev *bio_record(struct bio *bio, __u32 size, __u32 opf,
						    struct task_state *st, struct bvec_walk *walk)
{
	struct tw_bio_ev *ev;

	if (!walk) {
		if (!st)
			return NULL;
		ev = ev_reserve(TW_BIO_EV_SIZE(1), TW_EV_BIO_QUEUE);
		if (!ev)
			return NULL;
		bio_head(ev, bio, size, opf, st);
		dio_bio_ext(ev, st, size);
	} else if (walk->n <= 1) {
		ev = ev_reserve(TW_BIO_EV_SIZE(1), TW_EV_BIO_QUEUE);
		if (!ev)
			return NULL;
		bio_head(ev, bio, size, opf, st);
		ev->ext[0] = walk->ext[0];
		if (!walk->n)
			__builtin_memset(&ev->ext[0], 0, sizeof(ev->ext[0]));
		ev->nr_ext = walk->n;
		ev->flags |= walk->flags;
	} else {
		ev = ev_reserve(sizeof(*ev), TW_EV_BIO_QUEUE);
		if (!ev)
			return NULL;
		bio_head(ev, bio, size, opf, st);
		__builtin_memcpy(ev->ext, walk->ext, sizeof(ev->ext));
		ev->nr_ext = walk->n;
		ev->flags |= walk->flags;
	}
	return ev;
}

SEC("tp_btf/block_bio_queue")
int TW_PROG(tw_bio_queue, struct bio *bio)
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
		st = task_state_get(false);
	}
	ev = bio_record(bio, size, opf, st, walk);
	if (!ev)
		return 0;
	if (!track_bio((__u64)bio)) {
		ev_discard(ev);
		return 0;
	}
	if (walk)
		count_pass_bytes(st, walk);
	note_disk(BPF_CORE_READ(bio, bi_bdev, bd_disk));
	ev_submit(ev);
	return 0;
}

/* bio_chain(split, parent) runs before the tracepoint: split->bi_private is the parent. */
SEC("tp_btf/block_split")
int TW_PROG(tw_bio_split, struct bio *split, unsigned int new_sector)
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

#endif /* TW_STAGE_BIO_BPF_H */
