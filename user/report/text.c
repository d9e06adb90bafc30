// SPDX-License-Identifier: GPL-2.0
/* The text report for people: UNITS, FILES, EXPOSURE, MODES, DEVICES, STABLE PAGES, LOST,
 * JOIN; and the -i interval lines. Pure formatting. */
#include <inttypes.h>
#include <string.h>
#include "common.h"
#include "report.h"

static const char *const stat_names[] = TW_STAT_NAMES;

_Static_assert(ARRAY_SIZE(stat_names) == TW_NR_STATS, "a name for every BPF counter");

static void fmt_size(uint64_t v, char *buf, size_t len)
{
	if (!v)
		snprintf(buf, len, "atomic writes only");
	else if (v >= (1 << 20) && !(v % (1 << 20)))
		snprintf(buf, len, "%" PRIu64 "M", v >> 20);
	else if (v >= 1024 && !(v % 1024))
		snprintf(buf, len, "%" PRIu64 "K", v >> 10);
	else
		snprintf(buf, len, "%" PRIu64, v);
}

static void report_modes_text(FILE *f, const struct tw_summary *s)
{
	int nviol = 0;

	fprintf(f, "\nMODES %12s %10s %10s %12s %14s\n", "WRITES", "UNITS", "REFUSED", "INCOMPLETE",
		"NOT-PERSISTED");
	for (int m = 0; m < TW_M_NR; m++) {
		const struct tw_mode_stats *ms = &s->modes[m];

		if (!ms->writes && !ms->units)
			continue;
		fprintf(f, "  %-16s %8" PRIu64 " %10" PRIu64 " %10" PRIu64 " %12" PRIu64 " %14" PRIu64
			"\n", tw_mode_names[m], ms->writes, ms->units, ms->refused, ms->incomplete,
			ms->not_persisted);
		for (int e = 1; e < TW_ERRNO_MAX; e++)
			if (ms->refused_errno[e])
				fprintf(f, "    refused with errno %d (%s): %" PRIu64 "\n", e,
					strerror(e), ms->refused_errno[e]);
	}
	fprintf(f, "  atomic writes checked %" PRIu64 "; violations:", s->atomic.checked);
	for (int k = 0; k < TW_AV_NR; k++)
		if (s->atomic.violations[k])
			nviol += fprintf(f, " %s %" PRIu64, tw_atomic_violation_names[k],
					 s->atomic.violations[k]) > 0;
	if (!nviol)
		fputs(" none", f);
	fprintf(f, "; requests breaking device atomic limits %" PRIu64 "\n",
		s->atomic.device_misaligned);
	for (size_t i = 0; i < s->stable.nr_devices; i++) {
		const struct tw_device *d = &s->stable.devices[i];
		char dev[16];

		if (!d->atomic_unit_max)
			continue;
		fmt_kdev(d->dev, dev, sizeof(dev));
		fprintf(f, "  device %s atomic writes: unit %u..%u, boundary %u, max %u\n", dev,
			d->atomic_unit_min, d->atomic_unit_max, d->atomic_boundary, d->atomic_max);
	}
	fprintf(f, "  buffered units written back by:");
	for (int k = 0; k < TW_TRIG_NR; k++)
		if (s->triggers[k])
			fprintf(f, " %s %" PRIu64, tw_trigger_names[k], s->triggers[k]);
	fprintf(f, "\n");
	for (int m = 0; m < TW_M_NR; m++) {
		const struct tw_mode_stats *ms = &s->modes[m];

		if (!report_hist_sum(ms->hist[TW_ST_END_TO_END]))
			continue;
		for (int st = 0; st < TW_ST_NR; st++) {
			fprintf(f, "\n  %s, %s latency (units: %" PRIu64 ")\n", tw_mode_names[m],
				tw_stage_names[st], report_hist_sum(ms->hist[st]));
			report_log2_hist(f, ms->hist[st], TW_HIST_SLOTS, 1000, "    ");
		}
	}
}

void report_interval_text(FILE *f, unsigned int n, double t_s, const struct tw_summary *prev,
			  const struct tw_summary *cur)
{
	uint64_t d[TW_V_NR], h[TW_HIST_SLOTS];

	fprintf(f, "\nINTERVAL %u (%.1f s): writes %" PRIu64 ", units %" PRIu64, n, t_s,
		cur->writes - prev->writes, tw_units_total(&cur->c) - tw_units_total(&prev->c));
	for (int v = 0; v < TW_V_NR; v++) {
		d[v] = cur->c.verdict[v] - prev->c.verdict[v];
		fprintf(f, ", %s %" PRIu64, tw_verdict_names[v], d[v]);
	}
	fprintf(f, ", misaligned %" PRIu64 ", lost %" PRIu64 "\n",
		cur->c.misaligned - prev->c.misaligned, cur->lost_total - prev->lost_total);
	for (int m = 0; m < TW_M_NR; m++) {
		for (int st = 0; st < TW_ST_NR; st++) {
			uint64_t any = 0;

			for (int i = 0; i < TW_HIST_SLOTS; i++)
				any |= h[i] = cur->modes[m].hist[st][i] - prev->modes[m].hist[st][i];
			if (!any)
				continue;
			fprintf(f, "  %s, %s latency (units: %" PRIu64 ")\n", tw_mode_names[m],
				tw_stage_names[st], report_hist_sum(h));
			report_log2_hist(f, h, TW_HIST_SLOTS, 1000, "    ");
		}
	}
}

static void report_stable_text(FILE *f, const struct tw_summary *s)
{
	const struct tw_stable *st = &s->stable;
	char dev[16];
	size_t i, n;

	fprintf(f, "\nSTABLE PAGES\n");
	fprintf(f, "  %-31s %12" PRIu64 "\n", "modified under writeback", st->modified);
	fprintf(f, "  %-31s %12" PRIu64 "\n", "stable-page waits", st->waits);
	fprintf(f, "    %-29s %12" PRIu64 "\n", "not timed (before the hook)", st->waits_untimed);
	fprintf(f, "    %-29s %12" PRIu64 "\n", "in a write", st->waits_by_ctx[TW_WAIT_WRITE]);
	fprintf(f, "    %-29s %12" PRIu64 "\n", "in an mmap store", st->waits_by_ctx[TW_WAIT_FAULT]);
	fprintf(f, "  %-31s %12" PRIu64 "\n", "other writeback waits (fsync..)",
		st->waits_by_ctx[TW_WAIT_SYNC] + st->waits_by_ctx[TW_WAIT_OTHER] +
			st->waits_by_ctx[TW_WAIT_UNKNOWN]);
	for (i = 0; i < st->nr_devices; i++) {
		fmt_kdev(st->devices[i].dev, dev, sizeof(dev));
		fprintf(f, "  device %-9s stable_writes %d\n", dev, st->devices[i].stable_writes);
	}
	if (st->waits) {
		fprintf(f, "  stable-page wait time:\n");
		report_log2_hist(f, st->hist, TW_HIST_SLOTS, 1, "    ");
		for (i = 0; i < st->nr_procs && i < 10; i++)
			fprintf(f, "    pid %-8u %-16s waits %" PRIu64 "\n", st->procs[i].pid,
				st->procs[i].comm, st->procs[i].waits);
	}
	n = st->nr_mods < 20 ? st->nr_mods : 20;
	if (n) {
		fprintf(f, "  MODIFIED (first %zu of %" PRIu64 ")\n", n, st->modified);
		fprintf(f, "  %-9s %10s %12s %8s %8s %-16s %6s  %s\n", "DEV", "INDEX", "OFFSET",
			"LEN", "PID", "COMM", "STABLE", "PATH");
		for (i = 0; i < n; i++) {
			const struct tw_modification *md = &st->mods[i];

			fmt_kdev(md->dev, dev, sizeof(dev));
			fprintf(f, "  %-9s %10" PRIu64 " %12" PRIu64 " %8" PRIu64 " %8u %-16s %6d  %s%s%s\n",
				dev, md->index, md->off, md->len, md->pid, md->comm,
				md->stable_writes, md->path ? md->path : "?",
				md->mmap ? " (mmap)" : "",
				md->range_known ? "" : " (page unknown: whole folio)");
		}
	}
}

/* Whole and atomic units that one request carried, but more than the device keeps atomic. */
static void report_beyond_atomic_text(FILE *f, const struct tw_counts *c)
{
	fprintf(f, "    %-29s %12" PRIu64 "  one request, but a power cut during the request can "
		"still tear it\n", "beyond device atomic size", c->whole_beyond_atomic);
	fprintf(f, "    %-29s %12" PRIu64 "  not judged: no facts of the device\n",
		"device atomic size unknown", c->whole_atomic_unknown);
}

void report_text(FILE *f, const struct tw_summary *s, const struct tw_report_meta *m)
{
	const struct tw_counts *c = &s->c;
	char unit[32], dev[16];
	size_t i, n;

	fmt_size(s->unit_size, unit, sizeof(unit));
	fprintf(f, "\ntornwatch %s report (%s, kernel %s", TW_VERSION, m->source, m->kernel);
	if (m->duration_s >= 0)
		fprintf(f, ", %.1f s", m->duration_s);
	fprintf(f, ")\nunit: %s; writes: %" PRIu64 " (%" PRIu64 " bytes)\n\n", unit, s->writes,
		s->write_bytes);

	fprintf(f, "UNITS %-28s %12" PRIu64 "\n", "total", tw_units_total(c));
	fprintf(f, "  %-31s %12" PRIu64 "\n", "whole", c->verdict[TW_V_WHOLE]);
	fprintf(f, "  %-31s %12" PRIu64 "\n", "atomic (REQ_ATOMIC)", c->verdict[TW_V_ATOMIC]);
	report_beyond_atomic_text(f, c);
	fprintf(f, "  %-31s %12" PRIu64 "\n", "split", c->verdict[TW_V_SPLIT]);
	fprintf(f, "    %-29s %12" PRIu64 "\n", "at writeback (several bios)", c->split_writeback);
	fprintf(f, "    %-29s %12" PRIu64 "\n", "at direct I/O (several bios)", c->split_dio);
	fprintf(f, "    %-29s %12" PRIu64 "\n", "in the block layer (split)", c->split_block);
	fprintf(f, "  %-31s %12" PRIu64 "\n", "cow-atomic (XFS)", c->verdict[TW_V_COW_ATOMIC]);
	fprintf(f, "  %-31s %12" PRIu64 "\n", "superseded", c->verdict[TW_V_SUPERSEDED]);
	fprintf(f, "  %-31s %12" PRIu64 "\n", "modified (torn in flight)", c->verdict[TW_V_MODIFIED]);
	fprintf(f, "  %-31s %12" PRIu64 "\n", "discarded (truncated, deleted)",
		c->verdict[TW_V_DISCARDED]);
	fprintf(f, "  %-31s %12" PRIu64 "\n", "pending", c->verdict[TW_V_PENDING]);
	fprintf(f, "    %-29s %12" PRIu64 "\n", "still cached", c->pending_cached);
	fprintf(f, "    %-29s %12" PRIu64 "\n", "in flight", c->pending_inflight);
	fprintf(f, "  %-31s %12" PRIu64 "\n", "rejoined by merging (whole)", c->rejoined);
	fprintf(f, "  %-31s %12" PRIu64 "\n", "untracked (unit table full)", c->untracked);
	fprintf(f, "  %-31s %12" PRIu64 "\n", "with I/O errors", c->io_errors);
	fprintf(f, "WRITES %-27s %12" PRIu64 "\n", "misaligned to the unit", c->misaligned);
	fprintf(f, "  %-31s %12" PRIu64 "\n", "refused (atomic)", c->refused);

	n = s->nr_files < (size_t)m->top_files ? s->nr_files : (size_t)m->top_files;
	if (n) {
		fprintf(f, "\nFILES (top %zu of %zu, by split)\n", n, s->nr_files);
		fprintf(f, "%8s %8s %8s %8s %8s %8s %8s %8s  %-9s %s\n", "UNITS", "WHOLE", "SPLIT",
			"MODIFIED", "SUPERS", "DISCARD", "PENDING", "MISALIGN", "DEV", "PATH");
		for (i = 0; i < n; i++) {
			const struct tw_file_stat *fs = s->files[i];

			fmt_kdev(fs->dev, dev, sizeof(dev));
			fprintf(f, "%8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64
				" %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "  %-9s %s%s\n",
				tw_units_total(&fs->c),
				fs->c.verdict[TW_V_WHOLE] + fs->c.verdict[TW_V_ATOMIC],
				fs->c.verdict[TW_V_SPLIT], fs->c.verdict[TW_V_MODIFIED],
				fs->c.verdict[TW_V_SUPERSEDED], fs->c.verdict[TW_V_DISCARDED],
				fs->c.verdict[TW_V_PENDING], fs->c.misaligned, dev,
				fs->path[0] ? fs->path : "?", fs->deleted ? " (deleted)" : "");
		}
	}

	report_exposure_text(f, s, m->top_files);
	report_modes_text(f, s);
	report_devices_text(f, s);
	report_stable_text(f, s);

	fprintf(f, "\nLOST %-29s %12" PRIu64 "%s\n", "total", s->lost_total,
		s->have_bpf_stats ? "" : "  (no counters recorded)");
	for (i = 0; i < TW_NR_LOST; i++)
		if (s->bpf_stats[i])
			fprintf(f, "  %-31s %12" PRIu64 "\n", stat_names[i], s->bpf_stats[i]);
	if (s->lost_memory)
		fprintf(f, "  %-31s %12" PRIu64 "  (tornwatch's allocations failed)\n",
			"engine_memory", s->lost_memory);
	fprintf(f, "JOIN records %" PRIu64 ", bad %" PRIu64 ", unknown bio %" PRIu64
		", foreign bytes %" PRIu64 ", unmatched bytes %" PRIu64 "\n",
		s->join.records, s->join.bad_records, s->join.unknown_bio, s->join.foreign_bytes,
		s->join.unmatched_bytes);
	if (s->join.reused_bio || s->join.completions_inferred)
		fprintf(f, "  bios reused before issue %" PRIu64 ", request completions inferred %"
			PRIu64 " (their record never came), units they decided %" PRIu64
			" (never split by it)\n", s->join.reused_bio, s->join.completions_inferred,
			s->join.units_inferred);
}
