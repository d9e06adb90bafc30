// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "stablepage.skel.h"
#include "tornwatch.skel.h"
#include "tracer.h"

struct tracer {
	struct tracer_cfg cfg;
	struct tornwatch_bpf *skel;
	struct stablepage_bpf *stable;	/* NULL with --no-stable */
	struct ring_buffer *rb;
	tracer_sink_fn sink;
	void *ctx;
	struct btf *vmlinux_btf;
};

struct tracer *tracer__new(const struct tracer_cfg *cfg, tracer_sink_fn sink, void *ctx,
			   char *err, size_t errlen)
{
	struct tracer *tr = calloc(1, sizeof(*tr));

	if (!tr) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	tr->cfg = *cfg;
	tr->sink = sink;
	tr->ctx = ctx;
	libbpf_log_setup(cfg->verbose);
	tr->vmlinux_btf = btf__load_vmlinux_btf();
	if (!tr->vmlinux_btf) {
		snprintf(err, errlen, "cannot read kernel BTF (/sys/kernel/btf/vmlinux): tornwatch "
			 "needs a kernel built with CONFIG_DEBUG_INFO_BTF=y");
		goto fail;
	}
	tr->skel = tornwatch_bpf__open();
	if (!tr->skel) {
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	if (cfg->stable) {
		tr->stable = stablepage_bpf__open();
		if (!tr->stable) {
			snprintf(err, errlen, "cannot open the stablepage BPF object: %s",
				 strerror(errno));
			goto fail;
		}
	}
	return tr;
fail:
	tracer__free(tr);
	return NULL;
}

/* Is there a tracepoint of this name, in vmlinux or in a loaded module's BTF? */
static bool tp_btf_exists(struct tracer *tr, const char *tp, const char *module)
{
	char name[128];
	struct btf *mod;
	bool found;

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	if (btf__find_by_name_kind(tr->vmlinux_btf, name, BTF_KIND_TYPEDEF) > 0)
		return true;
	if (!module)
		return false;
	snprintf(name, sizeof(name), "/sys/kernel/btf/%s", module);
	if (access(name, R_OK))
		return false;
	mod = btf__parse_split(name, tr->vmlinux_btf);
	if (!mod)
		return false;
	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	found = btf__find_by_name_kind(mod, name, BTF_KIND_TYPEDEF) > 0;
	btf__free(mod);
	return found;
}

/* An enumerator's value in the kernel's BTF, or -1 when the kernel has no such value. */
static long long btf_enum_value(const struct btf *btf, const char *type, const char *name)
{
	const struct btf_type *t;
	const struct btf_enum *e;
	int id = btf__find_by_name_kind(btf, type, BTF_KIND_ENUM);

	if (id < 0)
		return -1;
	t = btf__type_by_id(btf, id);
	e = btf_enum(t);
	for (int i = 0; i < btf_vlen(t); i++, e++)
		if (!strcmp(btf__name_by_offset(btf, e->name_off), name))
			return e->val;
	return -1;
}

/* REQ_ATOMIC (6.11): its bit for the BPF side, 0 when no request can carry it. */
static void probe_req_atomic(struct tracer *tr)
{
	long long bit = btf_enum_value(tr->vmlinux_btf, "req_flag_bits", "__REQ_ATOMIC");

	tr->skel->rodata->tw_req_atomic_bit_plus1 = bit >= 0 && bit < 32 ? bit + 1 : 0;
	if (!tr->cfg.verbose)
		return;
	if (bit >= 0)
		fprintf(stderr, "tornwatch: probe: __REQ_ATOMIC is bit %lld of enum "
			"req_flag_bits\n", bit);
	else
		fprintf(stderr, "tornwatch: probe: enum req_flag_bits has no __REQ_ATOMIC; no "
			"request is atomic\n");
}

struct optional_prog {
	struct bpf_program *prog;
	const char *tp;
	const char *module;
	const char *without;	/* what the report loses when it is absent */
};

static int set_sizes(struct tracer *tr, char *err, size_t errlen)
{
	struct tornwatch_bpf *s = tr->skel;
	struct {
		struct bpf_map *map;
		uint64_t n;
	} sizes[] = {
		{ s->maps.traced, tr->cfg.max_procs },
		{ s->maps.files, tr->cfg.max_files },
		{ s->maps.bios, tr->cfg.max_bios },
		{ s->maps.iocbs, tr->cfg.max_bios },
		{ s->maps.urings, tr->cfg.max_bios },
		{ s->maps.events, tr->cfg.ringbuf_bytes },
	};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (bpf_map__set_max_entries(sizes[i].map, sizes[i].n)) {
			snprintf(err, errlen, "cannot size map %s to %llu",
				 bpf_map__name(sizes[i].map), (unsigned long long)sizes[i].n);
			return -EINVAL;
		}
		if (tr->cfg.verbose)
			fprintf(stderr, "tornwatch: map %-8s max_entries %llu\n",
				bpf_map__name(sizes[i].map), (unsigned long long)sizes[i].n);
	}
	return 0;
}

/* stablepage shares the core's maps: one traced set, one ordered ring buffer. */
static int load_stable(struct tracer *tr, char *err, size_t errlen)
{
	struct stablepage_bpf *sp = tr->stable;
	struct tornwatch_bpf *core = tr->skel;
	struct {
		struct bpf_map *mine, *core;
	} shared[] = {
		{ sp->maps.traced, core->maps.traced },
		{ sp->maps.files, core->maps.files },
		{ sp->maps.tstate, core->maps.tstate },
		{ sp->maps.events, core->maps.events },
	};
	int e;

	for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
		e = bpf_map__reuse_fd(shared[i].mine, bpf_map__fd(shared[i].core));
		if (e) {
			snprintf(err, errlen, "stablepage: cannot share map %s: %s",
				 bpf_map__name(shared[i].mine), strerror(-e));
			return e;
		}
	}
	sp->rodata->self_tgid = getpid();
	e = stablepage_bpf__load(sp);
	if (e) {
		snprintf(err, errlen, "cannot load the stablepage programs (%s); run with -v for "
			 "the verifier log, or --no-stable to trace without them", strerror(-e));
		return e;
	}
	if (tr->cfg.verbose)
		fprintf(stderr, "tornwatch: stablepage loaded: writeback_dirty_folio, "
			"page_fault_user (mmap stores), folio_wait_writeback, sched_wakeup "
			"(tp_btf)\n");
	return 0;
}

#define TRACEFS "/sys/kernel/tracing"
#define SYSCALL_TP TRACEFS "/events/syscalls/sys_enter_pwrite64"

/*
 * The per-syscall tracepoints live in tracefs, which a fresh machine may not have mounted:
 * mount it where the kernel provides its mount point, and leave it (unmounting it would
 * pull it from under another tracer attaching at that moment).
 */
static bool have_syscall_tracepoints(struct tracer *tr)
{
	if (!access(SYSCALL_TP, F_OK))
		return true;
	if (access(TRACEFS "/events", F_OK) && mount("tracefs", TRACEFS, "tracefs", 0, NULL) &&
	    tr->cfg.verbose)
		fprintf(stderr, "tornwatch: cannot mount tracefs on %s: %s\n", TRACEFS,
			strerror(errno));
	return !access(SYSCALL_TP, F_OK);
}

/*
 * The syscall hooks: one program per followed syscall through its tracepoint (only those
 * syscalls pay), or the generic tp_btf sys_enter/sys_exit (every syscall of every process
 * runs the filter) where the kernel has no syscall tracepoints.
 */
static void choose_syscall_hooks(struct tracer *tr)
{
	bool per_syscall = have_syscall_tracepoints(tr);
	struct tornwatch_bpf *s = tr->skel;
	struct bpf_program *p;

	bpf_object__for_each_program(p, s->obj) {
		const char *name = bpf_program__name(p);

		if (!strncmp(name, "tw_enter_", 9) || !strncmp(name, "tw_exit_", 8))
			bpf_program__set_autoload(p, per_syscall);
	}
	/* A kernel without CONFIG_AIO has no io_submit (nor its tracepoints). */
	if (per_syscall && access(TRACEFS "/events/syscalls/sys_enter_io_submit", F_OK)) {
		bpf_program__set_autoload(s->progs.tw_enter_io_submit, false);
		bpf_program__set_autoload(s->progs.tw_exit_io_submit, false);
	}
	bpf_program__set_autoload(s->progs.tw_sys_enter, !per_syscall);
	bpf_program__set_autoload(s->progs.tw_sys_exit, !per_syscall);
	if (tr->cfg.verbose)
		fprintf(stderr, "tornwatch: syscalls: %s\n", per_syscall ?
			"per-syscall tracepoints (syscalls:sys_enter_write ...) from tracefs, "
			"mounted on " TRACEFS " if it was not" :
			"no syscall tracepoints in tracefs; generic sys_enter/sys_exit (tp_btf), "
			"run for every syscall");
}

/*
 * A tracepoint the kernel renamed: the program for the name it has is loaded, the other
 * not; -v (or neither name) says which.
 */
static void choose_renamed(struct tracer *tr, const char *what, struct bpf_program *now_prog,
			   const char *now_tp, struct bpf_program *old_prog, const char *old_tp,
			   const char *without)
{
	bool now = tp_btf_exists(tr, now_tp, NULL);
	bool old = !now && tp_btf_exists(tr, old_tp, NULL);

	bpf_program__set_autoload(now_prog, now);
	bpf_program__set_autoload(old_prog, old);
	if (tr->cfg.verbose || (!now && !old))
		fprintf(stderr, "tornwatch: %s: %s%s\n", what, now ? now_tp : old ? old_tp : without,
			now || old ? " (tp_btf)" : "");
}

/*
 * Direct writes: iomap_dio_rw_begin (6.2) names each one's kiocb. Without it (6.1),
 * iomap_iter places the bios of every direct write of ext4 and XFS from the writing
 * thread; the write itself is the syscall's, or io_submit's iocb.
 */
static void choose_direct(struct tracer *tr)
{
	struct tornwatch_bpf *s = tr->skel;
	bool begin = tp_btf_exists(tr, "iomap_dio_rw_begin", NULL);
	bool iter = !begin && tp_btf_exists(tr, "iomap_iter", NULL);

	bpf_program__set_autoload(s->progs.tw_dio_begin, begin);
	bpf_program__set_autoload(s->progs.tw_iomap_iter, iter);
	s->rodata->dio_by_iter = iter;
	if (tr->cfg.verbose || !(begin || iter))
		fprintf(stderr, "tornwatch: direct writes: %s\n", begin ?
			"iomap_dio_rw_begin (tp_btf): each write's kiocb, from any path" : iter ?
			"no iomap_dio_rw_begin; iomap_iter (tp_btf) places the bios of the write "
			"syscalls', io_submit's and io_uring's direct writes" :
			"neither iomap_dio_rw_begin nor iomap_iter; direct writes are not followed");
}

int tracer__load(struct tracer *tr, char *err, size_t errlen)
{
	struct tornwatch_bpf *s = tr->skel;
	struct optional_prog opt[] = {
		{ s->progs.tw_dio_complete, "iomap_dio_complete", NULL,
		  "io_uring and aio direct writes have no completion time" },
		{ s->progs.tw_xfs_atomic_cow, "xfs_iomap_atomic_write_cow", "xfs",
		  "XFS software atomic writes are reported as split, not cow-atomic" },
		{ s->progs.tw_cache_delete, "mm_filemap_delete_from_page_cache", NULL,
		  "units of truncated or deleted files stay pending, not discarded" },
		{ s->progs.tw_ext4_writepages, "ext4_writepages", "ext4",
		  "ext4 writeback is seen from its bios only" },
		{ s->progs.tw_ext4_writepages_result, "ext4_writepages_result", "ext4",
		  "ext4 writeback is seen from its bios only" },
		{ s->progs.tw_uring_complete, "io_uring_complete", NULL,
		  "io_uring buffered writes have no return time" },
		{ s->progs.tw_uring_overflow, "io_uring_cqe_overflow", NULL,
		  "an io_uring write whose CQE overflows has no return time" },
	};
	int err_load;

	s->rodata->follow_forks = tr->cfg.follow_forks;
	s->rodata->self_tgid = getpid();
	if (set_sizes(tr, err, errlen))
		return -EINVAL;
	probe_req_atomic(tr);
	choose_syscall_hooks(tr);
	for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
		bool ok = tp_btf_exists(tr, opt[i].tp, opt[i].module);

		bpf_program__set_autoload(opt[i].prog, ok);
		if (tr->cfg.verbose || !ok)
			fprintf(stderr, "tornwatch: tracepoint %s: %s%s%s\n", opt[i].tp,
				ok ? "present, attached as tp_btf" : "absent; ",
				ok ? "" : opt[i].without, "");
	}
	choose_direct(tr);
	/* iomap's per-folio writeback tracepoint was iomap_writepage before 6.17 */
	choose_renamed(tr, "iomap writeback", s->progs.tw_iomap_wb_folio, "iomap_writeback_folio",
		       s->progs.tw_iomap_writepage, "iomap_writepage",
		       "no tracepoint; XFS writeback is seen from its bios only");
	/* io_uring's submission tracepoint was io_uring_submit_sqe before 6.4 */
	choose_renamed(tr, "io_uring submission", s->progs.tw_uring_submit, "io_uring_submit_req",
		       s->progs.tw_uring_submit_sqe, "io_uring_submit_sqe",
		       "no tracepoint; io_uring writes are not followed");
	err_load = tornwatch_bpf__load(s);
	if (err_load) {
		snprintf(err, errlen, "cannot load the BPF programs (%s); run with -v for the "
			 "verifier log", strerror(-err_load));
		return err_load;
	}
	if (tr->cfg.verbose)
		fprintf(stderr, "tornwatch: loaded; tp_btf for the iomap, block, writeback and "
			"sched tracepoints\n");
	return tr->stable ? load_stable(tr, err, errlen) : 0;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct tracer *tr = ctx;

	tr->sink(tr->ctx, data, size);
	return 0;
}

int tracer__attach(struct tracer *tr, char *err, size_t errlen)
{
	int e = tornwatch_bpf__attach(tr->skel);

	if (!e && tr->stable)
		e = stablepage_bpf__attach(tr->stable);
	if (e) {
		snprintf(err, errlen, "cannot attach the BPF programs: %s", strerror(-e));
		return e;
	}
	tr->rb = ring_buffer__new(bpf_map__fd(tr->skel->maps.events), on_record, tr, NULL);
	if (!tr->rb) {
		e = -errno;
		snprintf(err, errlen, "cannot open the ring buffer: %s", strerror(errno));
		return e;
	}
	return 0;
}

int tracer__add_pid(struct tracer *tr, pid_t pid)
{
	__u32 key = pid;
	__u8 one = 1;

	return bpf_map_update_elem(bpf_map__fd(tr->skel->maps.traced), &key, &one, BPF_ANY);
}

int tracer__del_pid(struct tracer *tr, pid_t pid)
{
	__u32 key = pid;

	if (bpf_map_delete_elem(bpf_map__fd(tr->skel->maps.traced), &key) && errno != ENOENT)
		return -errno;
	return 0;
}

int tracer__poll(struct tracer *tr, int timeout_ms)
{
	int n = ring_buffer__poll(tr->rb, timeout_ms);

	if (n == -EINTR)
		n = 0;
	if (n >= 0) {
		/* Records submitted without a wakeup are read here. */
		int m = ring_buffer__consume(tr->rb);

		n = m < 0 ? m : n + m;
	}
	return n;
}

/* Runs the kernel skipped because the program was already running on that CPU. */
static uint64_t recursion_misses(struct bpf_object *obj)
{
	struct bpf_program *p;
	uint64_t n = 0;

	bpf_object__for_each_program(p, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			n += info.recursion_misses;
	}
	return n;
}

void tracer__stats(struct tracer *tr, uint64_t out[TW_NR_STATS])
{
	for (int i = 0; i < TW_NR_STATS; i++) {
		out[i] = __atomic_load_n(&tr->skel->bss->tw_stats[i], __ATOMIC_RELAXED);
		if (tr->stable)
			out[i] += __atomic_load_n(&tr->stable->bss->tw_stats[i], __ATOMIC_RELAXED);
	}
	out[TW_LOST_PROG_MISSES] = recursion_misses(tr->skel->obj);
	if (tr->stable)
		out[TW_LOST_PROG_MISSES] += recursion_misses(tr->stable->obj);
}

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL	/* 6.9: a pidfd for a thread, not only a group leader */
#endif

int tracer__held_end(struct tracer *tr, uint32_t tid, uint64_t *end_ns)
{
	struct task_state ts;
	int fd, err;

	fd = syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	if (fd < 0)	/* before 6.9: group leaders only */
		fd = syscall(SYS_pidfd_open, tid, 0);
	if (fd < 0)
		return -errno;
	err = bpf_map_lookup_elem(bpf_map__fd(tr->skel->maps.tstate), &fd, &ts);
	err = err ? -errno : 0;
	close(fd);
	*end_ns = err ? 0 : ts.end_ns;
	return err;
}

void tracer__free(struct tracer *tr)
{
	if (!tr)
		return;
	ring_buffer__free(tr->rb);
	stablepage_bpf__destroy(tr->stable);
	tornwatch_bpf__destroy(tr->skel);
	btf__free(tr->vmlinux_btf);
	free(tr);
}
