/* SPDX-License-Identifier: GPL-2.0 */
/* Requests: issue and completion of the followed bios they carry, cache flushes of the disks
 * those went to, and bios that end without a request. */
#ifndef TW_STAGE_REQUEST_BPF_H
#define TW_STAGE_REQUEST_BPF_H

#include "shared.bpf.h"

#define MAX_RQ_WALK	512	/* bios followed in one request (more than any max_segments here) */

static __always_inline void emit_rq(struct request *rq, __u32 dev, struct bio *bio, __u32 type,
				    __u32 bytes, int error)
{
	struct tw_rq_ev *ev = ev_reserve(sizeof(*ev), type);

	if (!ev)
		return;
	ev->rq = (__u64)rq;
	ev->bio = (__u64)bio;
	ev->sector = BPF_CORE_READ(rq, __sector);
	ev->dev = dev;
	ev->rq_bytes = BPF_CORE_READ(rq, __data_len);
	ev->bio_bytes = bytes;
	ev->error = error;
	ev->opf = BPF_CORE_READ(rq, cmd_flags);
	ev->flags = ((ev->opf & tw_req_atomic_mask()) ? TW_RQ_ATOMIC : 0) |
		    ((ev->opf & tw_req_fua_mask()) ? TW_RQ_FUA : 0);
	ev_submit(ev);
}

/* Cache flushes, from any process, of disks that carried followed bios: what makes completed
 * writes durable. */
static __always_inline bool emit_flush(struct request *rq, __u32 dev, __u32 done, int error)
{
	struct tw_flush_ev *ev;

	if ((BPF_CORE_READ(rq, cmd_flags) & TW_REQ_OP_MASK) != TW_REQ_OP_FLUSH)
		return false;
	ev = ev_reserve(sizeof(*ev), TW_EV_FLUSH);
	if (!ev)
		return true;
	ev->rq = (__u64)rq;
	ev->dev = dev;
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
	__u32 dev;
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
		emit_rq((struct request *)w->rq, w->dev, bio, w->type, done, w->error);
		if (complete && done == size)
			bpf_map_delete_elem(&bios, &key);
	}
	if (complete)
		w->left -= done;
	w->bio = (__u64)BPF_CORE_READ(bio, bi_next);
	return 0;
}

static __always_inline void walk_rq(struct request *rq, __u32 dev, __u32 type, __u32 nr_bytes,
				    int error)
{
	struct rq_walk w = {
		.rq = (__u64)rq,
		.bio = (__u64)BPF_CORE_READ(rq, bio),
		.type = type,
		.left = nr_bytes,
		.error = error,
		.dev = dev,
	};

	bpf_loop(MAX_RQ_WALK, rq_walk_one, &w, 0);
	if (w.bio && (type == TW_EV_RQ_ISSUE || w.left))
		stat_inc(TW_LOST_RQ_WALK);
}

/* Requests of disks no followed bio was queued on return at once. */
SEC("tp_btf/block_rq_issue")
int TW_PROG(tw_rq_issue, struct request *rq)
{
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);
	__u32 dev;

	if (!disk_followed(disk))
		return 0;
	dev = disk_dev(disk);
	if (!emit_flush(rq, dev, 0, 0))
		walk_rq(rq, dev, TW_EV_RQ_ISSUE, 0, 0);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int TW_PROG(tw_rq_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);
	__u32 dev;

	if (!disk_followed(disk))
		return 0;
	dev = disk_dev(disk);
	if (!emit_flush(rq, dev, 1, error))
		walk_rq(rq, dev, TW_EV_RQ_COMPLETE, nr_bytes, error);
	return 0;
}

/* A bio that ends without a request (bio-based device, error) leaves the table here. */
SEC("tp_btf/block_bio_complete")
int TW_PROG(tw_bio_complete, struct request_queue *q, struct bio *bio)
{
	__u64 key = (__u64)bio;

	if (!bpf_map_delete_elem(&bios, &key))
		stat_inc(TW_STAT_BIO_END_NO_RQ);
	return 0;
}

#endif /* TW_STAGE_REQUEST_BPF_H */
