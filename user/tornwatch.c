// SPDX-License-Identifier: GPL-2.0
/*
 * tornwatch: are your database pages reaching the disk whole?
 *
 * main() reads as: parse -> (replay | open -> load -> attach -> follow -> loop)
 * -> report -> cleanup.
 */

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common.h"
#include "devsysfs.h"
#include "follow.h"
#include "ksyms.h"
#include "opts.h"
#include "outfile.h"
#include "record.h"
#include "report.h"
#include "tracer.h"
#include "tracker.h"

static volatile sig_atomic_t stop;

struct intake {
	struct tracker *tracker;
	struct tw_recorder *rec;
	struct tracer *tracer;
	struct ksyms *ksyms;		/* loaded at the first writeback wait */
	bool ksyms_tried;
	uint32_t devs_seen[256];	/* block devices whose settings were recorded */
	const struct tw_opts *opts;
	int nr_devs_seen;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CLOCK_MONOTONIC in ns: bpf_ktime_get_ns()'s clock, the records' own. */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void deliver(struct intake *in, const void *rec, size_t len)
{
	if (in->rec)
		recorder__write(in->rec, rec, len);
	tracker__feed(in->tracker, rec, len);
}

static void note_atomic_limits(struct intake *in, const struct tw_path_ev *p);

/* Where a filesystem (kernel dev_t) is mounted with its root, from mountinfo. */
static bool mount_point(uint32_t kdev, char *out, size_t len)
{
	unsigned int maj, min;
	char line[4096], root[PATH_MAX], mnt[PATH_MAX];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*d %*d %u:%u %4095s %4095s", &maj, &min, root, mnt) != 4)
			continue;
		if (((maj << 20) | min) == kdev && !strcmp(root, "/")) {
			snprintf(out, len, "%s", strcmp(mnt, "/") ? mnt : "");
			found = true;
		}
	}
	fclose(f);
	return found;
}

/* The dev_t a traced file is followed by: a block device's own, else its filesystem's. */
static uint32_t followed_kdev(const struct stat *st)
{
	dev_t d = S_ISBLK(st->st_mode) ? st->st_rdev : st->st_dev;

	return (major(d) << 20) | minor(d);
}

/* A block device written directly (its dev is the disk's): /dev/NAME from sysfs's uevent. */
static bool bdev_node(uint32_t kdev, uint64_t ino, char *out, size_t len)
{
	char path[96], line[256];
	struct stat st;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", kdev >> 20, kdev & 0xfffff);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "DEVNAME=", 8))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(out, len, "/dev/%s", line + 8);
		found = !stat(out, &st) && S_ISBLK(st.st_mode) && followed_kdev(&st) == kdev &&
			st.st_ino == ino;
	}
	fclose(f);
	return found;
}

/*
 * A traced process wrote a file first: name it by its full path. The open fd
 * gives the path as the process sees it; a writer that already exited leaves
 * the kernel's own walk up the dentries, put under the filesystem's mount point
 * (a block device: its node in /dev).
 */
static void resolve_path(struct intake *in, const struct tw_file_ev *e)
{
	struct tw_path_ev p = {
		.h = { .ts_ns = e->h.ts_ns, .type = TW_EV_PATH, .size = sizeof(p),
		       .pid = e->h.pid, .tid = e->h.tid },
		.ino = e->ino,
		.dev = e->dev,
	};
	char link[64], mnt[PATH_MAX];
	struct stat st;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%u/fd/%u", e->h.pid, e->fd);
	n = readlink(link, p.path, sizeof(p.path) - 1);
	if (n > 0) {
		p.path[n] = '\0';
		/* The fd may already point elsewhere: trust it only for the same inode. */
		if (!stat(p.path, &st) && st.st_ino == e->ino && followed_kdev(&st) == e->dev) {
			deliver(in, &p, sizeof(p));
			note_atomic_limits(in, &p);
			return;
		}
	}
	if (mount_point(e->dev, mnt, sizeof(mnt)))
		tw_rpath_join(e->rpath, sizeof(e->rpath), mnt, p.path, sizeof(p.path));
	else if (!bdev_node(e->dev, e->ino, p.path, sizeof(p.path)))
		return;
	deliver(in, &p, sizeof(p));
	note_atomic_limits(in, &p);
}

/* struct statx as the kernel fills it (glibc 2.36's lacks the atomic fields). */
struct tw_statx {
	uint32_t mask, blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode, spare0;
	uint64_t ino, size, blocks, attributes_mask;
	uint8_t times[64];
	uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
	uint64_t mnt_id;
	uint32_t dio_mem_align, dio_offset_align;
	uint64_t subvol;
	uint32_t atomic_write_unit_min, atomic_write_unit_max, atomic_write_segments_max;
	uint8_t rest[76];
};

_Static_assert(sizeof(struct tw_statx) == 256, "struct statx layout");
_Static_assert(offsetof(struct tw_statx, atomic_write_unit_min) == 168, "statx atomic fields");

#define TW_STATX_WRITE_ATOMIC 0x00010000U

/* The file's atomic write limits (what RWF_ATOMIC writes must fit), for the checks. */
static void note_atomic_limits(struct intake *in, const struct tw_path_ev *p)
{
	struct tw_atomic_limits_ev a = {
		.h = { .ts_ns = p->h.ts_ns, .type = TW_EV_ATOMIC_LIMITS, .size = sizeof(a),
		       .pid = p->h.pid, .tid = p->h.tid },
		.ino = p->ino,
		.dev = p->dev,
	};
	struct tw_statx sx = {};

	if (syscall(SYS_statx, AT_FDCWD, p->path, 0, TW_STATX_WRITE_ATOMIC, &sx) ||
	    sx.ino != p->ino)
		return;
	if (sx.mask & TW_STATX_WRITE_ATOMIC) {
		a.unit_min = sx.atomic_write_unit_min;
		a.unit_max = sx.atomic_write_unit_max;
		a.segments_max = sx.atomic_write_segments_max;
	}
	deliver(in, &a, sizeof(a));
}

/*
 * The first file of a filesystem, or the first request on a block device (a partition's
 * requests are its disk's): record its queue's settings as tracing sees them, and the
 * --atomic-size given for it, so a replay judges units as this run did.
 */
static void note_device(struct intake *in, const struct tw_hdr *h, uint32_t dev)
{
	struct tw_device_ev d = {
		.h = { .ts_ns = h->ts_ns, .type = TW_EV_DEVICE, .size = sizeof(d) },
		.dev = dev,
	};

	for (int i = 0; i < in->nr_devs_seen; i++)
		if (in->devs_seen[i] == dev)
			return;
	/* Full: later devices have no facts (their units count as whole_atomic_size_unknown). */
	if (in->nr_devs_seen >= (int)(sizeof(in->devs_seen) / sizeof(in->devs_seen[0])))
		return;
	in->devs_seen[in->nr_devs_seen++] = dev;
	devsysfs_fill(&d);
	d.atomic_size_opt = devsysfs_atomic_size(dev, in->opts->atomic_sizes,
						 in->opts->nr_atomic_sizes);
	deliver(in, &d, sizeof(d));
}

/* Why a thread waits for writeback: the innermost telling function on its stack. */
static void classify_wait(struct intake *in, struct tw_wait_begin_ev *w)
{
	if (w->context != TW_WAIT_UNKNOWN)	/* the kernel side knew already */
		return;
	if (!in->ksyms_tried) {
		in->ksyms_tried = true;
		in->ksyms = ksyms__load();
	}
	if (!in->ksyms)
		return;
	for (uint32_t i = 0; i < w->nr_stack && i < TW_STACK_DEPTH; i++) {
		const char *fn = ksyms__name(in->ksyms, w->stack[i]);
		enum tw_wait_context c = fn ? tw_wait_context_of(fn) : TW_WAIT_UNKNOWN;

		if (c != TW_WAIT_UNKNOWN) {
			w->context = c;
			return;
		}
	}
	w->context = TW_WAIT_OTHER;
}

static void on_record(void *ctx, const void *rec, size_t len)
{
	struct intake *in = ctx;
	const struct tw_hdr *h = rec;

	if (h->type == TW_EV_WAIT_BEGIN && len >= sizeof(struct tw_wait_begin_ev)) {
		struct tw_wait_begin_ev w;

		memcpy(&w, rec, sizeof(w));
		classify_wait(in, &w);
		deliver(in, &w, sizeof(w));
		return;
	}
	if (h->type == TW_EV_FILE && len >= sizeof(struct tw_file_ev))
		note_device(in, h, ((const struct tw_file_ev *)rec)->dev);
	if (h->type == TW_EV_RQ_ISSUE && len >= sizeof(struct tw_rq_ev) &&
	    ((const struct tw_rq_ev *)rec)->dev)
		note_device(in, h, ((const struct tw_rq_ev *)rec)->dev);
	deliver(in, rec, len);
	if (h->type == TW_EV_FILE && len >= sizeof(struct tw_file_ev))
		resolve_path(in, rec);
}

static void print_event_text(void *ctx, const struct tw_unit_event *ev)
{
	report_event_text(stdout, ev);
}

static void print_event_json(void *ctx, const struct tw_unit_event *ev)
{
	report_event_json(stdout, ev);
}

/* --events: text columns, or NDJSON when a JSON report is asked for too. */
static void setup_events(struct tracker *t, const struct tw_opts *o)
{
	if (!o->events)
		return;
	if (o->json_path) {
		tracker__set_events(t, o->events == 2, print_event_json, NULL);
	} else {
		report_event_header(stdout);
		tracker__set_events(t, o->events == 2, print_event_text, NULL);
	}
}

static void kernel_release(char *buf, size_t len)
{
	struct utsname u;

	snprintf(buf, len, "%s", uname(&u) ? "unknown" : u.release);
}

/*
 * The reports, and with --check its verdict: written first, whatever the outcome.
 * Returns the exit status: 0, TW_EXIT_CHECK_FAILED, TW_EXIT_CMD_FAILED or TW_EXIT_ERROR.
 */
static int write_reports(struct tracker *t, const struct tw_opts *o, const char *source,
			 const char *kernel, double duration, bool has_cmd, int cmd_status)
{
	struct tw_check check = { .fail_on = o->fail_on, .has_command = has_cmd,
				  .command_status = cmd_status };
	struct tw_report_meta m = { .source = source, .kernel = kernel, .duration_s = duration,
				    .top_files = o->top_files, .check = o->check ? &check : NULL };
	struct tw_summary s;
	char err[256];
	int rc = TW_EXIT_OK;

	tracker__summary(t, &s);
	if (o->check)
		check_evaluate(&check, &s);
	if (!outfile_is_stdout(o->json_path))
		report_text(stdout, &s, &m);
	fflush(stdout);
	if (o->json_path && report_json_file(o->json_path, &s, &m, err, sizeof(err))) {
		fprintf(stderr, "tornwatch: %s\n", err);
		rc = TW_EXIT_ERROR;
	}
	if (o->prom_path && report_prom_file(o->prom_path, &s, err, sizeof(err))) {
		fprintf(stderr, "tornwatch: %s\n", err);
		rc = TW_EXIT_ERROR;
	}
	if (o->check) {
		report_check_lines(stderr, &s, &check);
		if (rc == TW_EXIT_OK && !check.passed)
			rc = TW_EXIT_CHECK_FAILED;
		else if (rc == TW_EXIT_OK && has_cmd && cmd_status)
			rc = TW_EXIT_CMD_FAILED;
	}
	return rc;
}

/*
 * Before a replay's first record: --atomic-size (exact MAJ:MIN of the recorded host, no
 * sysfs to ask there) and --events, as a live run has them.
 */
static void replay_prepare(struct tracker *t, void *ctx)
{
	const struct tw_opts *o = ctx;

	for (int i = 0; i < o->nr_atomic_sizes; i++)
		tracker__set_atomic_size(t, o->atomic_sizes[i].dev, o->atomic_sizes[i].bytes);
	setup_events(t, o);
}

static int run_replay(const struct tw_opts *o)
{
	struct tw_replay_opts ro = { .max_units = o->max_units, .prepare = replay_prepare,
				     .ctx = (void *)o };
	struct tw_replay_info info;
	struct tracker *t;
	char err[320];
	int rc;

	t = replay_file_prepared(o->replay_path, &ro, &info, err, sizeof(err));
	if (!t) {
		fprintf(stderr, "tornwatch: %s\n", err);
		return TW_EXIT_ERROR;
	}
	if (info.bad)
		fprintf(stderr, "tornwatch: --replay: %s: %" PRIu64 " of %" PRIu64 " records are "
			"corrupt and were skipped (the first at byte %" PRIu64 "); the report "
			"counts them as join.bad_records\n", o->replay_path, info.bad, info.records,
			info.first_bad);
	tracker__finish(t);
	rc = write_reports(t, o, "replay", info.kernel, -1, false, 0);
	tracker__free(t);
	return rc;
}

static int add_pid_cb(void *ctx, pid_t pid)
{
	return tracer__add_pid(ctx, pid);
}

/*
 * Put the -p PIDs (and with -f their descendants) in the traced set. A process that ended
 * since its pidfd was opened may have left its pid to another one by now: that pid is taken
 * out again (the kernel side drops a pid when its process exits, but that may have been
 * before it was put in), and nothing is followed under it.
 */
static int trace_pids(struct tracer *tr, const struct tw_opts *o, const int *pidfds, char *err,
		      size_t errlen)
{
	for (int i = 0; i < o->nr_pids; i++) {
		int n;

		if (tracer__add_pid(tr, o->pids[i])) {
			snprintf(err, errlen, "cannot trace pid %d: %s; raise --max-procs",
				 o->pids[i], strerror(errno));
			return -1;
		}
		if (pidfds[i] >= 0 && pid_watch_exited(pidfds[i])) {
			tracer__del_pid(tr, o->pids[i]);
			fprintf(stderr, "tornwatch: -p %d ended before tracing began\n", o->pids[i]);
			continue;
		}
		if (!o->follow)
			continue;
		n = follow_descendants(o->pids[i], add_pid_cb, tr);
		if (o->verbose)
			fprintf(stderr, "tornwatch: pid %d: %d descendants traced\n", o->pids[i],
				n < 0 ? 0 : n);
	}
	return 0;
}

/* By pidfd: a pid reused by another process once ours was reaped does not keep us going. */
static bool any_pid_alive(const struct tw_opts *o, const int *pidfds)
{
	for (int i = 0; i < o->nr_pids; i++)
		if (pidfds[i] >= 0 ? !pid_watch_exited(pidfds[i]) : pid_alive(o->pids[i]))
			return true;
	return false;
}

static void write_prom(const struct tw_opts *o, const struct tw_summary *s)
{
	char err[256];

	if (o->prom_path && report_prom_file(o->prom_path, s, err, sizeof(err)))
		fprintf(stderr, "tornwatch: %s\n", err);
}

/*
 * A full write sends its return time with its thread's next write, sync or exit
 * (tw_write_ev.prev_end_ns): for threads that are still alive, read it from their
 * task storage now, or their last write would count as never returned.
 */
static void deliver_held_ends(struct intake *in)
{
	size_t n = tracker__open_writes(in->tracker, NULL, 0);
	struct tw_open_write *ow = n ? calloc(n, sizeof(*ow)) : NULL;

	if (!ow)
		return;
	n = tracker__open_writes(in->tracker, ow, n);
	for (size_t i = 0; i < n; i++) {
		struct tw_write_end_ev e = {
			.h = { .type = TW_EV_WRITE_END, .size = sizeof(e), .pid = ow[i].pid,
			       .tid = ow[i].tid },
			.ret = ow[i].count,
		};
		uint64_t end_ns;

		if (!tracer__held_end(in->tracer, ow[i].tid, &end_ns) && end_ns) {
			e.h.ts_ns = end_ns;
			deliver(in, &e, sizeof(e));
		}
	}
	free(ow);
}

/* -i: the interval's verdicts and histograms, as differences of growing counters. */
static void print_interval(struct intake *in, unsigned int n, double t_s, struct tw_summary *prev,
			   bool finished)
{
	uint64_t counters[TW_NR_STATS];
	struct tw_summary cur;

	tracker__summary(in->tracker, &cur);
	if (!finished) {	/* the STATS record comes at the end: read the counters now */
		tracer__stats(in->tracer, counters);
		cur.lost_total = 0;
		for (int i = 0; i < TW_NR_LOST; i++)
			cur.lost_total += counters[i];
	}
	report_interval_text(stdout, n, t_s, prev, &cur);
	fflush(stdout);
	*prev = cur;
	write_prom(in->opts, &cur);
}

/*
 * RWF_WRITETHROUGH (0x200, the 2026 RFC) is a macro, not in BTF: try it once on an
 * unlinked temporary file. Kernels without it refuse unknown flags with EOPNOTSUPP.
 */
static void probe_writethrough(void)
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

/* Root, and each -p PID a live process, held by a pidfd from now on (-1: no pidfds here). */
static int check_live_preconditions(const struct tw_opts *o, int *pidfds)
{
	char err[256];

	if (geteuid() != 0) {
		fprintf(stderr, "tornwatch: needs root (CAP_BPF, CAP_PERFMON); run it with sudo\n");
		return -1;
	}
	for (int i = 0; i < o->nr_pids; i++) {
		if (pid_traceable(o->pids[i], err, sizeof(err))) {
			fprintf(stderr, "tornwatch: %s\n", err);
			return -1;
		}
		pidfds[i] = pid_watch(o->pids[i]);
		if (pidfds[i] < 0 && errno != ENOSYS) {
			fprintf(stderr, "tornwatch: -p %d: no such process; check the pid with "
				"'ps -p %d'\n", o->pids[i], o->pids[i]);
			return -1;
		}
	}
	return 0;
}

static void close_pidfds(int *pidfds, int n)
{
	for (int i = 0; i < n; i++)
		if (pidfds[i] >= 0)
			close(pidfds[i]);
}

static int run_live(const struct tw_opts *o)
{
	struct tracer_cfg cfg = {
		.verbose = o->verbose,
		.follow_forks = o->follow || o->cmd,
		.stable = !o->no_stable,
		.max_files = o->max_files,
		.max_bios = o->max_bios,
		.max_procs = o->max_procs,
		.ringbuf_bytes = o->ringbuf_bytes,
	};
	struct intake in = {};
	struct tw_stats_ev stats = { .h = { .type = TW_EV_STATS, .size = sizeof(stats) } };
	uint64_t counters[TW_NR_STATS];
	char err[512], kernel[65];
	int rc = TW_EXIT_ERROR, release_fd = -1, status = 0, cmd_status = 0;
	pid_t child = -1;
	double t0, deadline, next_interval = 0;
	bool child_done = false;
	struct tw_summary prev = {};
	unsigned int intervals = 0;
	int pidfds[TW_MAX_PIDS];

	for (int i = 0; i < TW_MAX_PIDS; i++)
		pidfds[i] = -1;
	if (check_live_preconditions(o, pidfds)) {
		close_pidfds(pidfds, o->nr_pids);
		return TW_EXIT_ERROR;
	}
	kernel_release(kernel, sizeof(kernel));
	in.tracker = tracker__new(o->unit_size, o->max_units);
	if (!in.tracker) {
		fprintf(stderr, "tornwatch: out of memory\n");
		close_pidfds(pidfds, o->nr_pids);
		return TW_EXIT_ERROR;
	}
	setup_events(in.tracker, o);
	in.opts = o;
	if (o->record_path) {
		in.rec = recorder__open(o->record_path, o->unit_size, kernel, err, sizeof(err));
		if (!in.rec)
			goto fail;
	}
	in.tracer = tracer__new(&cfg, on_record, &in, err, sizeof(err));
	if (!in.tracer || tracer__load(in.tracer, err, sizeof(err)) ||
	    tracer__attach(in.tracer, err, sizeof(err)))
		goto fail;

	if (o->cmd) {
		child = spawn_held(o->cmd, &release_fd);
		if (child < 0) {
			snprintf(err, sizeof(err), "cannot start %s: %s", o->cmd[0], strerror(errno));
			goto fail;
		}
		if (tracer__add_pid(in.tracer, child)) {
			snprintf(err, sizeof(err), "cannot trace the command: %s", strerror(errno));
			goto fail;
		}
		spawn_release(release_fd);
		release_fd = -1;
	} else if (trace_pids(in.tracer, o, pidfds, err, sizeof(err))) {
		goto fail;
	}
	if (o->verbose)
		probe_writethrough();
	if (o->verbose)
		fprintf(stderr, "tornwatch: tracing; unit %llu, follow children %s\n",
			(unsigned long long)o->unit_size, cfg.follow_forks ? "yes" : "no");

	signals_install(&stop);
	t0 = now_s();
	deadline = o->duration_s ? t0 + o->duration_s : 0;
	if (o->interval_s)
		next_interval = t0 + o->interval_s;
	while (!stop) {
		if (tracer__poll(in.tracer, 100) < 0)
			break;
		if (next_interval && now_s() >= next_interval) {
			print_interval(&in, ++intervals, now_s() - t0, &prev, false);
			next_interval += o->interval_s;
			if (o->interval_count && intervals >= o->interval_count)
				break;
		}
		if (child > 0 && waitpid(child, &status, WNOHANG) == child) {
			child_done = true;
			break;
		}
		if (o->nr_pids && !any_pid_alive(o, pidfds))
			break;
		if (deadline && now_s() >= deadline)
			break;
	}
	/* Ctrl-C reaches the command too: give it a moment to end with us. */
	if (child > 0 && !child_done && stop) {
		for (int i = 0; i < 20 && !child_done; i++) {
			child_done = waitpid(child, &status, WNOHANG) == child;
			if (!child_done)
				tracer__poll(in.tracer, 10);
		}
	}
	/* Whatever the kernel emitted up to now is read before the verdicts. */
	tracer__poll(in.tracer, 0);
	deliver_held_ends(&in);
	tracer__stats(in.tracer, counters);
	for (int i = 0; i < TW_NR_STATS; i++)
		stats.stats[i] = counters[i];
	stats.h.ts_ns = mono_ns();	/* the trace's end, on the records' clock */
	deliver(&in, &stats, sizeof(stats));
	tracker__finish(in.tracker);
	if (o->verbose)
		fprintf(stderr, "tornwatch: unit table: at most %llu units followed at once "
			"(--max-units %llu); exposure: at most %llu interval events kept\n",
			(unsigned long long)tracker__peak_units(in.tracker),
			(unsigned long long)o->max_units,
			(unsigned long long)tracker__peak_exposure_events(in.tracker));
	/* The rest since the last interval, pending verdicts included: intervals sum to totals. */
	if (o->interval_s)
		print_interval(&in, ++intervals, now_s() - t0, &prev, true);

	if (child > 0 && child_done)
		cmd_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	rc = write_reports(in.tracker, o, "live", kernel, now_s() - t0, child > 0 && child_done,
			   cmd_status);
	if (in.rec) {
		int e = recorder__close(in.rec);

		in.rec = NULL;
		if (e) {
			fprintf(stderr, "tornwatch: --record %s: %s\n", o->record_path, strerror(-e));
			rc = TW_EXIT_ERROR;
		}
	}
	if (child > 0) {
		if (!child_done)	/* stopped by a signal or -d: the command goes on alone */
			fprintf(stderr, "tornwatch: stopped; %s (pid %d) keeps running\n",
				o->cmd[0], child);
		else if (rc == TW_EXIT_OK && !o->check)	/* without --check: its status is ours */
			rc = cmd_status;
	}
	goto out;
fail:
	fprintf(stderr, "tornwatch: %s\n", err);
	if (child > 0) {
		if (release_fd >= 0)
			close(release_fd);	/* the held child exits without running */
		waitpid(child, NULL, 0);
	}
out:
	close_pidfds(pidfds, o->nr_pids);
	tracer__free(in.tracer);
	ksyms__free(in.ksyms);
	recorder__discard(in.rec);	/* a failed run leaves the path as it was */
	tracker__free(in.tracker);
	return rc;
}

int main(int argc, char **argv)
{
	struct tw_opts o;
	char err[256];

	switch (opts_parse(&o, argc, argv, err, sizeof(err))) {
	case OPTS_EXIT_OK:
		return TW_EXIT_OK;
	case OPTS_ERROR:
		fprintf(stderr, "tornwatch: %s\n", err);
		return TW_EXIT_ERROR;
	}
	if (outputs_check(&o, err, sizeof(err))) {	/* before any BPF, any command */
		fprintf(stderr, "tornwatch: %s\n", err);
		return TW_EXIT_ERROR;
	}
	if (o.replay_path)
		return run_replay(&o);
	return run_live(&o);
}
