// SPDX-License-Identifier: GPL-2.0
/* tornwatch: are your database pages reaching the disk whole? main() as the pipeline: parse
 * -> (replay | open -> configure -> load -> attach -> loop -> drain) -> report -> cleanup. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "common.h"
#include "follow.h"
#include "enrich.h"
#include "opts.h"
#include "outfile.h"
#include "probe.h"
#include "record.h"
#include "report.h"
#include "tracer.h"
#include "tracker.h"

static volatile sig_atomic_t stop;

/* A live run: what each step makes, cleanup() frees. */
struct run {
	const struct tw_opts *o;
	struct targets *targets;
	struct tracker *tracker;
	struct enrich *enrich;
	struct tracer *tracer;
	char kernel[65];
	char err[512];		/* the failed step's message */
	double t0;		/* tracing began (now_s()) */
	unsigned int intervals;	/* -i: printed so far */
	struct tw_summary prev;	/* -i: the counters at the last interval */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_event_text(void *ctx, const struct tw_unit_event *ev)
{
	report_event_text(stdout, ev);
}

static void print_event_json(void *ctx, const struct tw_unit_event *ev)
{
	const struct tw_opts *o = ctx;

	report_event_json(stdout, ev, o->json_version);
}

/* --events: text columns, or NDJSON when a JSON report is asked for too. */
static void setup_events(struct tracker *t, const struct tw_opts *o)
{
	if (!o->events)
		return;
	if (o->json_path) {
		tracker__set_events(t, o->events == 2, print_event_json, (void *)o);
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
			 const char *kernel, double duration, uint64_t written_ns, bool has_cmd,
			 int cmd_status)
{
	struct tw_check check = { .fail_on = o->fail_on, .has_command = has_cmd,
				  .command_status = cmd_status };
	struct tw_report_meta m = { .json_version = o->json_version, .source = source,
				    .kernel = kernel, .duration_s = duration,
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
	if (o->prom_path && report_prom_file(o->prom_path, &s, written_ns, err, sizeof(err))) {
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

/* --replay FILE: the records of another run, into the same reports. */
static int replay(const struct tw_opts *o)
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
	rc = write_reports(t, o, "replay", info.kernel, -1, info.end_realtime_ns, false, 0);
	tracker__free(t);
	return rc;
}

static void write_prom(const struct tw_opts *o, const struct tw_summary *s)
{
	char err[256];

	if (o->prom_path &&
	    report_prom_file(o->prom_path, s, clock_ns(CLOCK_REALTIME), err, sizeof(err)))
		fprintf(stderr, "tornwatch: %s\n", err);
}

/* -i: the interval's verdicts and histograms, as differences of growing counters. */
static void print_interval(struct run *r, bool finished)
{
	uint64_t counters[TW_NR_STATS];
	struct tw_summary cur;

	tracker__summary(r->tracker, &cur);
	if (!finished) {	/* the STATS record comes at the end: read the counters now */
		tracer__stats(r->tracer, counters);
		cur.lost_total = 0;
		for (int i = 0; i < TW_NR_LOST; i++)
			cur.lost_total += counters[i];
	}
	report_interval_text(stdout, ++r->intervals, now_s() - r->t0, &r->prev, &cur);
	fflush(stdout);
	r->prev = cur;
	write_prom(r->o, &cur);
}

/* The command line, and every output file checked before any BPF, any command. */
static bool parse(struct tw_opts *o, int argc, char **argv, int *rc)
{
	char err[256];

	switch (opts_parse(o, argc, argv, err, sizeof(err))) {
	case OPTS_EXIT_OK:
		*rc = TW_EXIT_OK;
		return false;
	case OPTS_ERROR:
		fprintf(stderr, "tornwatch: %s\n", err);
		*rc = TW_EXIT_ERROR;
		return false;
	}
	if (outputs_check(o, err, sizeof(err))) {
		fprintf(stderr, "tornwatch: %s\n", err);
		*rc = TW_EXIT_ERROR;
		return false;
	}
	return true;
}

/*
 * Root, the traced processes held, the tracker (with --events set up), the enricher (with
 * --record's file open) and the BPF objects opened. Each failure says what failed.
 */
static int open_live(struct run *r)
{
	const struct tw_opts *o = r->o;
	struct tracer_cfg cfg = {
		.verbose = o->verbose,
		.follow_forks = o->follow || o->cmd,
		.stable = !o->no_stable,
		.max_files = o->max_files,
		.max_bios = o->max_bios,
		.max_procs = o->max_procs,
		.ringbuf_bytes = o->ringbuf_bytes,
	};

	if (geteuid() != 0) {
		fprintf(stderr, "tornwatch: needs root (CAP_BPF, CAP_PERFMON); run it with sudo\n");
		return TW_EXIT_ERROR;
	}
	r->targets = targets__new(o);
	if (!r->targets)
		return TW_EXIT_ERROR;
	kernel_release(r->kernel, sizeof(r->kernel));
	r->tracker = tracker__new(o->unit_size, o->max_units);
	if (!r->tracker) {
		fprintf(stderr, "tornwatch: out of memory\n");
		return TW_EXIT_ERROR;
	}
	setup_events(r->tracker, o);
	r->enrich = enrich__new(r->tracker, o, r->kernel, r->err, sizeof(r->err));
	if (r->enrich)
		r->tracer = tracer__new(&cfg, enrich__record, r->enrich, r->err, sizeof(r->err));
	return r->tracer ? TW_EXIT_OK : TW_EXIT_ERROR;
}

/* Map sizes and rodata from the options; the programs this kernel can take. */
static int configure(struct run *r)
{
	return tracer__configure(r->tracer, r->err, sizeof(r->err)) ? TW_EXIT_ERROR : TW_EXIT_OK;
}

static int load(struct run *r)
{
	return tracer__load(r->tracer, r->err, sizeof(r->err)) ? TW_EXIT_ERROR : TW_EXIT_OK;
}

/* The programs attached, then the processes put in the traced set. */
static int attach(struct run *r)
{
	const struct tw_opts *o = r->o;

	if (tracer__attach(r->tracer, r->err, sizeof(r->err)) ||
	    targets__attach(r->targets, r->tracer, r->err, sizeof(r->err)))
		return TW_EXIT_ERROR;
	if (o->verbose)
		probe_writethrough();
	if (o->verbose)
		fprintf(stderr, "tornwatch: tracing; unit %llu, follow children %s\n",
			(unsigned long long)o->unit_size, o->follow || o->cmd ? "yes" : "no");
	return TW_EXIT_OK;
}

/* Poll the ring buffer until a signal, -d, -i's count, or the traced processes' end. */
static void loop(struct run *r)
{
	const struct tw_opts *o = r->o;
	double deadline, next_interval = 0;

	signals_install(&stop);
	r->t0 = now_s();
	deadline = o->duration_s ? r->t0 + o->duration_s : 0;
	if (o->interval_s)
		next_interval = r->t0 + o->interval_s;
	while (!stop) {
		if (tracer__poll(r->tracer, 100) < 0)
			break;
		if (next_interval && now_s() >= next_interval) {
			print_interval(r, false);
			next_interval += o->interval_s;
			if (o->interval_count && r->intervals >= o->interval_count)
				break;
		}
		if (targets__ended(r->targets))
			break;
		if (deadline && now_s() >= deadline)
			break;
	}
	if (stop)
		targets__grace(r->targets, r->tracer);
}

/* Whatever the kernel emitted up to now is read before the verdicts. */
static void drain(struct run *r)
{
	const struct tw_opts *o = r->o;

	tracer__poll(r->tracer, 0);
	enrich__end(r->enrich, r->tracer);
	tracker__finish(r->tracker);
	if (o->verbose)
		fprintf(stderr, "tornwatch: unit table: at most %llu units followed at once "
			"(--max-units %llu); exposure: at most %llu interval events kept\n",
			(unsigned long long)tracker__peak_units(r->tracker),
			(unsigned long long)o->max_units,
			(unsigned long long)tracker__peak_exposure_events(r->tracker));
	/* The rest since the last interval, pending verdicts included: intervals sum to totals. */
	if (o->interval_s)
		print_interval(r, true);
}

/* The reports, --record's file moved into place, and the exit status. */
static int report(struct run *r)
{
	const struct tw_opts *o = r->o;
	int cmd_status = 0, rc, e;
	bool cmd_ended = targets__command_ended(r->targets, &cmd_status);

	rc = write_reports(r->tracker, o, "live", r->kernel, now_s() - r->t0,
			   clock_ns(CLOCK_REALTIME), cmd_ended, cmd_status);
	e = enrich__close(r->enrich);
	if (e) {
		fprintf(stderr, "tornwatch: --record %s: %s\n", o->record_path, strerror(-e));
		rc = TW_EXIT_ERROR;
	}
	targets__say_running(r->targets);
	if (cmd_ended && rc == TW_EXIT_OK && !o->check)	/* without --check: its status is ours */
		rc = cmd_status;
	return rc;
}

static void cleanup(struct run *r)
{
	targets__free(r->targets);
	tracer__free(r->tracer);
	enrich__free(r->enrich);
	tracker__free(r->tracker);
}

int main(int argc, char **argv)
{
	struct tw_opts o;
	struct run r = { .o = &o };
	int rc;

	if (!parse(&o, argc, argv, &rc))
		return rc;
	if (o.replay_path)
		return replay(&o);
	rc = open_live(&r);
	if (rc == TW_EXIT_OK)
		rc = configure(&r) ?: load(&r) ?: attach(&r);
	if (rc == TW_EXIT_OK) {
		loop(&r);
		drain(&r);
		rc = report(&r);
	} else if (r.err[0]) {
		fprintf(stderr, "tornwatch: %s\n", r.err);
	}
	cleanup(&r);
	return rc;
}
