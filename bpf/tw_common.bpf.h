/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What bpf/tornwatch.bpf.c and bpf/stablepage.bpf.c share: the maps (user space
 * creates them with the core and hands the same fds to stablepage before its
 * load, so both write one ordered ring buffer and see one traced set), the
 * per-thread state, and record emission with its loss counters (one set per
 * object: user space adds them up).
 */
#ifndef TW_COMMON_BPF_H
#define TW_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "compat.bpf.h"
#include "tornwatch.h"

const volatile __u32 self_tgid = 0;

/*
 * Bench only ('make FLOOR=1', build-floor/tornwatch): every program returns at once, so
 * bench/compare.sh measures what tornwatch's hooks cost before any work, the floor under any
 * design that keeps them. Compiled out of tornwatch itself.
 */
#ifdef TW_BENCH_FLOOR
#define TW_FLOOR_RETURN() return 0
#else
#define TW_FLOOR_RETURN() do { } while (0)
#endif

/* libbpf's BPF_PROG, with the floor's early return. */
#define TW_PROG(name, args...)								\
name(unsigned long long *ctx);								\
static __always_inline typeof(name(0)) ____##name(unsigned long long *ctx, ##args);	\
typeof(name(0)) name(unsigned long long *ctx)						\
{											\
	TW_FLOOR_RETURN();								\
	_Pragma("GCC diagnostic push")							\
	_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")				\
	return ____##name(___bpf_ctx_cast(args));					\
	_Pragma("GCC diagnostic pop")							\
}											\
static __always_inline typeof(name(0)) ____##name(unsigned long long *ctx, ##args)

__u64 tw_stats[TW_NR_STATS] = {};

struct file_key {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

/* Sizes are set by user space before load (see user/kernel/tracer.c); these are floors. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} traced SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct file_key);
	__type(value, __u8);
} files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
} events SEC(".maps");

static __always_inline void stat_add(int i, __u64 n)
{
	if (i >= 0 && i < TW_NR_STATS)
		__sync_fetch_and_add(&tw_stats[i], n);
}

static __always_inline void stat_inc(int i)
{
	stat_add(i, 1);
}

/* struct task_state: bpf/tornwatch.h */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_state);
} tstate SEC(".maps");

static __always_inline struct task_state *task_state_get(bool create)
{
	struct task_state *ts;

	ts = bpf_task_storage_get(&tstate, bpf_get_current_task_btf(), 0,
				  create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	if (!ts && create)
		stat_inc(TW_LOST_TASK_STATE);
	return ts;
}

static __always_inline bool is_traced_tgid(__u32 tgid)
{
	return tgid != self_tgid && bpf_map_lookup_elem(&traced, &tgid);
}

/*
 * The current thread's state if its process is traced, made on first need. Finding it
 * marked traced spares the traced-process lookup. Flusher kworkers have state of their own
 * (the reason of their writeback work), unmarked: a kworker runs other work too (a loop
 * device's fsync of its backing file), whose waits and writes are not a traced process's.
 */
static __always_inline struct task_state *traced_task_state(void)
{
	struct task_state *ts = task_state_get(false);

	if (ts && ts->traced)
		return ts;
	if (!is_traced_tgid(bpf_get_current_pid_tgid() >> 32))
		return NULL;
	ts = task_state_get(true);
	if (ts)
		ts->traced = 1;
	return ts;
}

/*
 * Bench only ('make NOREC=1', build-norec/tornwatch): records are written to a per-CPU
 * scratch instead of the ring buffer, so bench/compare.sh measures what tornwatch's programs
 * cost apart from their records. User space gets nothing. Compiled out of tornwatch itself.
 */
#ifdef TW_BENCH_NOREC
#define TW_NOREC_MAX	1024	/* more than any record */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[TW_NOREC_MAX]);
} norec_scratch SEC(".maps");

static __always_inline void *ring_reserve(__u32 size)
{
	__u32 zero = 0;

	return size <= TW_NOREC_MAX ? bpf_map_lookup_elem(&norec_scratch, &zero) : NULL;
}
#define ev_submit(ev)	do { (void)(ev); } while (0)
#define ev_discard(ev)	do { (void)(ev); } while (0)
#else
#define ring_reserve(size)	bpf_ringbuf_reserve(&events, (size), 0)
/* A reserved record not sent after all. */
#define ev_discard(ev)		bpf_ringbuf_discard((ev), 0)

/* Wake the reader only when a good share of the buffer waits: it also polls. */
static __always_inline void ev_submit(void *ev)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 cap = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);

	bpf_ringbuf_submit(ev, avail > cap / 8 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}
#endif

static __always_inline void *ev_reserve(__u32 size, __u32 type)
{
	struct tw_hdr *h = ring_reserve(size);
	__u64 id;

	if (!h) {
		stat_inc(TW_LOST_RINGBUF);
		return NULL;
	}
	id = bpf_get_current_pid_tgid();
	h->ts_ns = bpf_ktime_get_ns();
	h->type = type;
	h->size = size;
	h->pid = id >> 32;
	h->tid = (__u32)id;
	return h;
}

/* A traced thread's name, once: the TASK record. */
static __always_inline void announce_task(struct task_state *ts)
{
	struct tw_task_ev *ev;

	if (ts->announced)
		return;
	ev = ev_reserve(sizeof(*ev), TW_EV_TASK);
	if (!ev)
		return;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	ev_submit(ev);
	ts->announced = 1;
}

/*
 * A traced file's first sight (a write through an fd, a direct write's kiocb, a store through a
 * mapping): its FILE record, with the path walked up from its dentry.
 */
#define TW_NAME_MAX 256	/* NAME_MAX + 1 */

struct path_walk {
	struct dentry *d;
	__u32 off;
	__u32 pad;
	char buf[TW_RPATH_LEN + TW_NAME_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_walk);
} path_scratch SEC(".maps");

/* One level up: copy this dentry's name, move to its parent; stop at the root. */
static long path_one_level(__u64 i, void *unused)
{
	__u32 zero = 0;
	struct path_walk *w = bpf_map_lookup_elem(&path_scratch, &zero);
	struct dentry *d, *parent;
	__u32 off;
	long n;

	/* Locals, not w->d inside BPF_CORE_READ: this struct is ours, not the kernel's. */
	if (!w || !(d = w->d))
		return 1;
	off = w->off;
	if (off >= TW_RPATH_LEN)
		return 1;
	parent = BPF_CORE_READ(d, d_parent);
	if (!parent || parent == d)
		return 1;
	n = bpf_probe_read_kernel_str(&w->buf[off], TW_NAME_MAX, BPF_CORE_READ(d, d_name.name));
	if (n <= 0)
		return 1;
	w->off += n;
	w->d = parent;
	return 0;
}

/* Remember a traced file; the first time, tell user space where it is. */
static __always_inline bool note_file(struct file *file, __u64 ino, __u32 dev, __u32 fd)
{
	struct file_key key = { .ino = ino, .dev = dev };
	struct path_walk *w;
	struct tw_file_ev *ev;
	__u32 zero = 0;
	__u8 one = 1;
	int err;

	if (bpf_map_lookup_elem(&files, &key))
		return true;
	err = bpf_map_update_elem(&files, &key, &one, BPF_NOEXIST);
	if (err == -17 /* EEXIST: another CPU won */)
		return true;
	if (err) {
		stat_inc(TW_LOST_FILES_FULL);
		return false;
	}
	w = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!w)
		return true;
	w->d = BPF_CORE_READ(file, f_path.dentry);
	w->off = 0;
	__builtin_memset(w->buf, 0, TW_RPATH_LEN);
	bpf_loop(TW_RPATH_DEPTH, path_one_level, NULL, 0);

	ev = ev_reserve(sizeof(*ev), TW_EV_FILE);
	if (!ev)
		return true;
	ev->ino = ino;
	ev->dev = dev;
	ev->fd = fd;
	__builtin_memcpy(ev->rpath, w->buf, TW_RPATH_LEN);
	ev_submit(ev);
	return true;
}

#endif /* TW_COMMON_BPF_H */
