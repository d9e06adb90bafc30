// SPDX-License-Identifier: GPL-2.0
/* The BPF side's lifecycle, the skeletons' mirrored: open, configure (rodata, map sizes),
 * load, attach, poll the ring buffer into the sink, read the counters, free. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "stablepage.skel.h"
#include "tornwatch.skel.h"
#include "probe.h"
#include "tracer.h"

struct tracer {
	struct tracer_cfg cfg;
	struct tornwatch_bpf *skel;
	struct stablepage_bpf *stable;	/* NULL with --no-stable */
	struct ring_buffer *rb;
	tracer_sink_fn sink;
	void *ctx;
	struct btf *vmlinux_btf;
	bool wakeup_tried;	/* sched_wakeup attached, or its attach failed (said once) */
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
/* Between open and load: options into rodata, map sizes, the programs this kernel takes. */
int tracer__configure(struct tracer *tr, char *err, size_t errlen)
{
	struct tornwatch_bpf *s = tr->skel;

#ifdef TW_BENCH_FLOOR
	fprintf(stderr, "tornwatch: a floor build ('make FLOOR=1'): every BPF program returns at "
		"once, nothing is followed; for bench/compare.sh, not a trace\n");
#endif
	s->rodata->follow_forks = tr->cfg.follow_forks;
	s->rodata->self_tgid = getpid();
	if (set_sizes(tr, err, errlen))
		return -EINVAL;
	probe_choose_programs(s, tr->vmlinux_btf, tr->cfg.verbose);
	return 0;
}

int tracer__load(struct tracer *tr, char *err, size_t errlen)
{
	int err_load = tornwatch_bpf__load(tr->skel);

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

	if (!e && tr->stable) {
		/* sched_wakeup: only once a traced thread waits for writeback (arm_wakeup) */
		bpf_program__set_autoattach(tr->stable->progs.sp_wakeup, false);
		e = stablepage_bpf__attach(tr->stable);
	}
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

/*
 * A traced thread waited for writeback: from now on its wake-up is timed. Waits begun before
 * wakeup_armed are sent untimed (stable.waits_untimed).
 */
static void arm_wakeup(struct tracer *tr)
{
	struct stablepage_bpf *sp = tr->stable;

	if (!sp || tr->wakeup_tried || !__atomic_load_n(&sp->bss->wakeup_wanted, __ATOMIC_RELAXED))
		return;
	tr->wakeup_tried = true;
	sp->links.sp_wakeup = bpf_program__attach(sp->progs.sp_wakeup);
	if (!sp->links.sp_wakeup) {
		fprintf(stderr, "tornwatch: cannot attach sched_wakeup (%s): stable-page waits "
			"stay untimed\n", strerror(errno));
		return;
	}
	__atomic_store_n(&sp->bss->wakeup_armed, 1, __ATOMIC_RELEASE);
	if (tr->cfg.verbose)
		fprintf(stderr, "tornwatch: a traced thread waited for writeback: sched_wakeup "
			"attached\n");
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
	arm_wakeup(tr);
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
