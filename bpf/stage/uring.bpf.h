/* SPDX-License-Identifier: GPL-2.0 */
/* io_uring writes of traced processes: a WRITE_BEGIN at submission, and the request's end from
 * its CQE, its overflow, or the reuse of its slot. */
#ifndef TW_STAGE_URING_BPF_H
#define TW_STAGE_URING_BPF_H

#include "write.bpf.h"

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
int TW_PROG(tw_uring_submit, struct io_kiocb *req)
{
	return uring_submit(req);
}

/* The same tracepoint on 6.1..6.3: compat choice in user space. */
SEC("tp_btf/io_uring_submit_sqe")
int TW_PROG(tw_uring_submit_sqe, struct io_kiocb *req, bool force_nonblock)
{
	return uring_submit(req);
}

/*
 * A CQE is posted. The prototype changed in 6.13 ((ctx, req, cqe) from (ctx, req,
 * user_data, res, cflags, extra1, extra2)); both have the request second, and its
 * cqe.res is the result either way. Runs for every CQE: one hash lookup.
 */
SEC("tp_btf/io_uring_complete")
int TW_PROG(tw_uring_complete, void *ring, void *req)
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
int TW_PROG(tw_uring_overflow, void *ring, __u64 user_data, __s32 res, __u32 cflags, void *ocqe)
{
	struct uring_find f = { .ctx = (__u64)ring, .user_data = user_data };

	bpf_for_each_map_elem(&urings, uring_match, &f, 0);
	if (!f.req || f.twice)
		return 0;
	bpf_map_delete_elem(&urings, &f.req);
	send_uring_end(f.req, res, TW_URING_OVERFLOW);
	return 0;
}

#endif /* TW_STAGE_URING_BPF_H */
