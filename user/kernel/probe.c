// SPDX-License-Identifier: GPL-2.0
/* Feature probes, once, before load: which tracepoints this kernel has (tp_btf in BTF,
 * syscall tracepoints in tracefs, renamed ones), REQ_ATOMIC's bit, RWF_WRITETHROUGH. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/uio.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "tornwatch.skel.h"
#include "tornwatch.h"
#include "probe.h"

/* Is there a tracepoint of this name, in vmlinux or in a loaded module's BTF? */
static bool tp_btf_exists(struct btf *vmlinux, const char *tp, const char *module)
{
	char name[128];
	struct btf *mod;
	bool found;

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	if (btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF) > 0)
		return true;
	if (!module)
		return false;
	snprintf(name, sizeof(name), "/sys/kernel/btf/%s", module);
	if (access(name, R_OK))
		return false;
	mod = btf__parse_split(name, vmlinux);
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
static void probe_req_atomic(struct tornwatch_bpf *s, struct btf *vmlinux, bool verbose)
{
	long long bit = btf_enum_value(vmlinux, "req_flag_bits", "__REQ_ATOMIC");

	s->rodata->tw_req_atomic_bit_plus1 = bit >= 0 && bit < 32 ? bit + 1 : 0;
	if (!verbose)
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

#define TRACEFS "/sys/kernel/tracing"
#define SYSCALL_TP TRACEFS "/events/syscalls/sys_enter_pwrite64"

/*
 * The per-syscall tracepoints live in tracefs, which a fresh machine may not have mounted:
 * mount it where the kernel provides its mount point, and leave it (unmounting it would
 * pull it from under another tracer attaching at that moment).
 */
static bool have_syscall_tracepoints(bool verbose)
{
	if (!access(SYSCALL_TP, F_OK))
		return true;
	if (access(TRACEFS "/events", F_OK) && mount("tracefs", TRACEFS, "tracefs", 0, NULL) &&
	    verbose)
		fprintf(stderr, "tornwatch: cannot mount tracefs on %s: %s\n", TRACEFS,
			strerror(errno));
	return !access(SYSCALL_TP, F_OK);
}

/*
 * The syscall hooks: one program per followed syscall through its tracepoint (only those
 * syscalls pay), or the generic tp_btf sys_enter/sys_exit (every syscall of every process
 * runs the filter) where the kernel has no syscall tracepoints.
 */
static void choose_syscall_hooks(struct tornwatch_bpf *s, bool verbose)
{
	bool per_syscall = have_syscall_tracepoints(verbose);
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
	if (verbose)
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
static void choose_renamed(struct btf *vmlinux, bool verbose, const char *what,
			   struct bpf_program *now_prog, const char *now_tp,
			   struct bpf_program *old_prog, const char *old_tp, const char *without)
{
	bool now = tp_btf_exists(vmlinux, now_tp, NULL);
	bool old = !now && tp_btf_exists(vmlinux, old_tp, NULL);

	bpf_program__set_autoload(now_prog, now);
	bpf_program__set_autoload(old_prog, old);
	if (verbose || (!now && !old))
		fprintf(stderr, "tornwatch: %s: %s%s\n", what, now ? now_tp : old ? old_tp : without,
			now || old ? " (tp_btf)" : "");
}

/*
 * Direct writes: iomap_dio_rw_begin (6.2) names each one's kiocb. Without it (6.1),
 * iomap_iter places the bios of every direct write of ext4 and XFS from the writing
 * thread; the write itself is the syscall's, or io_submit's iocb.
 */
static void choose_direct(struct tornwatch_bpf *s, struct btf *vmlinux, bool verbose)
{
	bool begin = tp_btf_exists(vmlinux, "iomap_dio_rw_begin", NULL);
	bool iter = !begin && tp_btf_exists(vmlinux, "iomap_iter", NULL);

	bpf_program__set_autoload(s->progs.tw_dio_begin, begin);
	bpf_program__set_autoload(s->progs.tw_iomap_iter, iter);
	s->rodata->dio_by_iter = iter;
	if (verbose || !(begin || iter))
		fprintf(stderr, "tornwatch: direct writes: %s\n", begin ?
			"iomap_dio_rw_begin (tp_btf): each write's kiocb, from any path" : iter ?
			"no iomap_dio_rw_begin; iomap_iter (tp_btf) places the bios of the write "
			"syscalls', io_submit's and io_uring's direct writes" :
			"neither iomap_dio_rw_begin nor iomap_iter; direct writes are not followed");
}


/* Tracepoints a kernel may lack: each program is loaded only where its tracepoint is. */
static void choose_optional(struct tornwatch_bpf *s, struct btf *vmlinux, bool verbose)
{
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

	for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
		bool ok = tp_btf_exists(vmlinux, opt[i].tp, opt[i].module);

		bpf_program__set_autoload(opt[i].prog, ok);
		if (verbose || !ok)
			fprintf(stderr, "tornwatch: tracepoint %s: %s%s%s\n", opt[i].tp,
				ok ? "present, attached as tp_btf" : "absent; ",
				ok ? "" : opt[i].without, "");
	}
}

void probe_choose_programs(struct tornwatch_bpf *s, struct btf *vmlinux, bool verbose)
{
	probe_req_atomic(s, vmlinux, verbose);
	choose_syscall_hooks(s, verbose);
	choose_optional(s, vmlinux, verbose);
	choose_direct(s, vmlinux, verbose);
	/* iomap's per-folio writeback tracepoint was iomap_writepage before 6.17 */
	choose_renamed(vmlinux, verbose, "iomap writeback", s->progs.tw_iomap_wb_folio,
		       "iomap_writeback_folio", s->progs.tw_iomap_writepage, "iomap_writepage",
		       "no tracepoint; XFS writeback is seen from its bios only");
	/* io_uring's submission tracepoint was io_uring_submit_sqe before 6.4 */
	choose_renamed(vmlinux, verbose, "io_uring submission", s->progs.tw_uring_submit,
		       "io_uring_submit_req", s->progs.tw_uring_submit_sqe, "io_uring_submit_sqe",
		       "no tracepoint; io_uring writes are not followed");
}

/*
 * RWF_WRITETHROUGH (0x200, the 2026 RFC) is a macro, not in BTF: try it once on an
 * unlinked temporary file. Kernels without it refuse unknown flags with EOPNOTSUPP.
 */
void probe_writethrough(void)
{
	char tmpl[] = "/tmp/tornwatch-probe-XXXXXX";
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	int fd = mkstemp(tmpl);
	ssize_t n;

	if (fd < 0)
		return;
	unlink(tmpl);
	n = pwritev2(fd, &iov, 1, 0, TW_RWF_WRITETHROUGH);
	fprintf(stderr, "tornwatch: write mode writethrough (RWF_WRITETHROUGH): %s\n",
		n == 1 ? "supported by this kernel" : errno == EOPNOTSUPP ?
		"not supported by this kernel" : strerror(errno));
	close(fd);
}
