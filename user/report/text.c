// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common.h"
#include "outfile.h"
#include "devfacts.h"
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

/* "512ns", "16us", "2ms", "4s": a log2 bucket bound, readable. */
static void fmt_ns(uint64_t ns, char *buf, size_t len)
{
	static const struct {
		uint64_t div;
		const char *unit;
	} u[] = { { 1000000000ULL, "s" }, { 1000000, "ms" }, { 1000, "us" }, { 1, "ns" } };

	for (size_t i = 0; i < ARRAY_SIZE(u); i++) {
		if (ns >= u[i].div || u[i].div == 1) {
			snprintf(buf, len, "%" PRIu64 "%s", ns / u[i].div, u[i].unit);
			return;
		}
	}
}

/* The one log2 histogram printer: slot i counts values in [2^i, 2^(i+1)) x unit_ns. */
void report_log2_hist(FILE *f, const uint64_t *slots, int nr, uint64_t unit_ns, const char *indent)
{
	uint64_t max = 0;
	int first = -1, last = -1;
	char lo[32], hi[32];

	for (int i = 0; i < nr; i++) {
		if (!slots[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (slots[i] > max)
			max = slots[i];
	}
	if (first < 0) {
		fprintf(f, "%s(none)\n", indent);
		return;
	}
	for (int i = first; i <= last; i++) {
		int stars = (int)(slots[i] * 40 / max);

		fmt_ns(i ? (1ULL << i) * unit_ns : 0, lo, sizeof(lo));
		fmt_ns((1ULL << (i + 1)) * unit_ns, hi, sizeof(hi));
		fprintf(f, "%s%8s -> %-8s %10" PRIu64 " |%-40.*s|\n", indent, lo, hi, slots[i], stars,
			"****************************************");
	}
}

static uint64_t hist_sum(const uint64_t *h)
{
	uint64_t n = 0;

	for (int i = 0; i < TW_HIST_SLOTS; i++)
		n += h[i];
	return n;
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

		if (!hist_sum(ms->hist[TW_ST_END_TO_END]))
			continue;
		for (int st = 0; st < TW_ST_NR; st++) {
			fprintf(f, "\n  %s, %s latency (units: %" PRIu64 ")\n", tw_mode_names[m],
				tw_stage_names[st], hist_sum(ms->hist[st]));
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
				tw_stage_names[st], hist_sum(h));
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

void report_event_header(FILE *f)
{
	fprintf(f, "%-11s %-7s %-15s %-15s %-9s %12s %8s %-10s %4s %4s %9s %9s %11s %s\n",
		"TIME(s)", "PID", "COMM", "MODE", "DEV", "OFFSET", "LEN", "VERDICT", "BIOS", "REQS",
		"SYS(us)", "E2E(us)", "EXPOSED(us)", "PATH");
}

/* How long a power cut could have torn it: "-" never, "to-end" still at the end. */
static void fmt_exposed(const struct tw_unit_event *ev, char *buf, size_t len)
{
	if (!ev->exposed_from_ns)
		snprintf(buf, len, "-");
	else if (!ev->exposed_until_ns)
		snprintf(buf, len, "to-end");
	else
		snprintf(buf, len, "%.1f", (ev->exposed_until_ns - ev->exposed_from_ns) / 1e3);
}

void report_event_text(FILE *f, const struct tw_unit_event *ev)
{
	char dev[16], sys[24] = "-", e2e[24] = "-", exp[24];

	fmt_kdev(ev->dev, dev, sizeof(dev));
	if (ev->syscall_ns)
		snprintf(sys, sizeof(sys), "%.1f", ev->syscall_ns / 1e3);
	if (ev->end_to_end_ns)
		snprintf(e2e, sizeof(e2e), "%.1f", ev->end_to_end_ns / 1e3);
	fmt_exposed(ev, exp, sizeof(exp));
	fprintf(f, "%-11.6f %-7u %-15.15s %-15s %-9s %12" PRIu64 " %8" PRIu64
		" %-10s %4u %4u %9s %9s %11s %s\n", ev->t_ns / 1e9, ev->pid, ev->comm,
		tw_mode_names[ev->mode], dev, ev->off, ev->len, tw_verdict_names[ev->verdict], ev->bios,
		ev->requests, sys, e2e, exp, ev->path);
}

static void json_str(FILE *f, const char *s);

void report_event_json(FILE *f, const struct tw_unit_event *ev)
{
	char dev[16];

	fmt_kdev(ev->dev, dev, sizeof(dev));
	fprintf(f, "{\"time\": %.6f, \"pid\": %u, \"tid\": %u, \"comm\": ", ev->t_ns / 1e9,
		ev->pid, ev->tid);
	json_str(f, ev->comm);
	fprintf(f, ", \"mode\": \"%s\", \"dev\": \"%s\", \"ino\": %" PRIu64 ", \"path\": ",
		tw_mode_names[ev->mode], dev, ev->ino);
	json_str(f, ev->path);
	fprintf(f, ", \"off\": %" PRIu64 ", \"len\": %" PRIu64 ", \"verdict\": \"%s\", "
		"\"bios\": %u, \"requests\": %u, \"syscall_us\": %.3f, \"end_to_end_us\": %.3f",
		ev->off, ev->len, tw_verdict_names[ev->verdict], ev->bios, ev->requests,
		ev->syscall_ns / 1e3, ev->end_to_end_ns / 1e3);
	report_event_times_json(f, ev);
	fprintf(f, "}\n");
}

#define TW_PROM_BUCKETS 26	/* le = 2 us .. 2^26 us (67 s), then +Inf */

static void prom_header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void report_prom(FILE *f, const struct tw_summary *s)
{
	char dev[16];

	prom_header(f, "tornwatch_units_total", "counter",
		    "Write units with a verdict, by verdict, write mode and filesystem device.");
	for (size_t i = 0; i < s->nr_dev_units; i++) {
		fmt_kdev(s->dev_units[i].dev, dev, sizeof(dev));
		for (int m = 0; m < TW_M_NR; m++)
			for (int v = 0; v < TW_V_NR; v++)
				if (s->dev_units[i].n[m][v])
					fprintf(f, "tornwatch_units_total{verdict=\"%s\",mode=\"%s\","
						"device=\"%s\"} %" PRIu64 "\n", tw_verdict_names[v],
						tw_mode_names[m], dev, s->dev_units[i].n[m][v]);
	}
	prom_header(f, "tornwatch_writes_total", "counter", "Traced write calls, by write mode.");
	for (int m = 0; m < TW_M_NR; m++)
		fprintf(f, "tornwatch_writes_total{mode=\"%s\"} %" PRIu64 "\n", tw_mode_names[m],
			s->modes[m].writes);
	prom_header(f, "tornwatch_refused_writes_total", "counter",
		    "Writes the kernel refused, by write mode.");
	for (int m = 0; m < TW_M_NR; m++)
		fprintf(f, "tornwatch_refused_writes_total{mode=\"%s\"} %" PRIu64 "\n",
			tw_mode_names[m], s->modes[m].refused);
	prom_header(f, "tornwatch_misaligned_writes_total", "counter",
		    "Writes not aligned to the unit size.");
	fprintf(f, "tornwatch_misaligned_writes_total %" PRIu64 "\n", s->c.misaligned);
	prom_header(f, "tornwatch_lost_events_total", "counter",
		    "Records lost (ring buffer full, maps full, walks cut short): not 0 means "
		    "the counts are incomplete.");
	fprintf(f, "tornwatch_lost_events_total %" PRIu64 "\n", s->lost_total);
	prom_header(f, "tornwatch_stable_page_modifications_total", "counter",
		    "Folios changed by traced processes while under writeback.");
	fprintf(f, "tornwatch_stable_page_modifications_total %" PRIu64 "\n", s->stable.modified);
	prom_header(f, "tornwatch_stable_page_waits_total", "counter",
		    "Writers that waited for a folio's writeback (stable pages).");
	fprintf(f, "tornwatch_stable_page_waits_total %" PRIu64 "\n", s->stable.waits);
	report_devices_prom(f, s);
	report_exposure_prom(f, s);
	prom_header(f, "tornwatch_write_latency_seconds", "histogram",
		    "Latency of write units that reached the device, by write mode and stage.");
	for (int m = 0; m < TW_M_NR; m++) {
		for (int st = 0; st < TW_ST_NR; st++) {
			const uint64_t *h = s->modes[m].hist[st];
			uint64_t cum = 0, total = hist_sum(h);

			if (!total)
				continue;
			for (int i = 0; i < TW_PROM_BUCKETS; i++) {
				cum += h[i];
				fprintf(f, "tornwatch_write_latency_seconds_bucket{mode=\"%s\","
					"stage=\"%s\",le=\"%g\"} %" PRIu64 "\n", tw_mode_names[m],
					tw_stage_names[st], (double)(1ULL << (i + 1)) / 1e6, cum);
			}
			fprintf(f, "tornwatch_write_latency_seconds_bucket{mode=\"%s\",stage=\"%s\","
				"le=\"+Inf\"} %" PRIu64 "\n", tw_mode_names[m], tw_stage_names[st], total);
			fprintf(f, "tornwatch_write_latency_seconds_sum{mode=\"%s\",stage=\"%s\"} %.9f\n",
				tw_mode_names[m], tw_stage_names[st], s->modes[m].sum_ns[st] / 1e9);
			fprintf(f, "tornwatch_write_latency_seconds_count{mode=\"%s\",stage=\"%s\"} %"
				PRIu64 "\n", tw_mode_names[m], tw_stage_names[st], total);
		}
	}
}

/*
 * Write an output file the way outfile.c decides for its path (a regular file through
 * a temporary one and a rename, so a reader never sees half of it; a device or FIFO in
 * place). opt names the option in messages.
 */
static int write_file(const char *path, const char *opt, void (*fill)(FILE *f, const void *ctx),
		      const void *ctx, char *err, size_t errlen)
{
	struct outfile *of = outfile__open(path, opt, err, errlen);

	if (!of)
		return -EINVAL;
	fill(outfile__stream(of), ctx);
	return outfile__commit(of, err, errlen);
}

static void fill_prom(FILE *f, const void *ctx)
{
	report_prom(f, ctx);
}

int report_prom_file(const char *path, const struct tw_summary *s, char *err, size_t errlen)
{
	return write_file(path, "--prom", fill_prom, s, err, errlen);
}

void check_evaluate(struct tw_check *c, const struct tw_summary *s)
{
	c->passed = true;
	for (int k = 0; k < TW_F_NR; k++) {
		c->failures[k] = tw_fail_count(s, k);
		if ((c->fail_on & (1u << k)) && c->failures[k])
			c->passed = false;
	}
}

void report_check_lines(FILE *f, const struct tw_summary *s, const struct tw_check *c)
{
	for (int k = 0; k < TW_F_NR; k++) {
		if (!(c->fail_on & (1u << k)) || !c->failures[k])
			continue;
		fprintf(f, "tornwatch: check failed: %s %" PRIu64, tw_fail_names[k], c->failures[k]);
		for (uint32_t i = 0; i < s->nr_offenders[k]; i++) {
			const struct tw_offender *o = &s->offenders[k][i];

			fprintf(f, "%s %s@%" PRIu64 "+%" PRIu64, i ? "," : ":", o->path, o->off,
				o->len);
			if (o->err)
				fprintf(f, " (errno %" PRId64 ")", o->err);
		}
		if (c->failures[k] > s->nr_offenders[k] && s->nr_offenders[k])
			fprintf(f, ", ...");
		fprintf(f, "\n");
	}
	if (c->passed)
		fprintf(f, "tornwatch: check passed (%" PRIu64 " units)\n", tw_units_total(&s->c));
	if (c->has_command && c->command_status)
		fprintf(f, "tornwatch: the command itself failed with status %d\n", c->command_status);
}

/* Bytes of a valid UTF-8 sequence starting at s, or 0. */
static int utf8_len(const unsigned char *s)
{
	int n = *s >= 0xf0 && *s <= 0xf4 ? 4 : *s >= 0xe0 ? 3 : *s >= 0xc2 && *s <= 0xdf ? 2 : 0;

	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* A JSON string; bytes that are not UTF-8 (file names can hold any) become U+FFFD. */
static void json_str(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		int n;

		if (*s == '"' || *s == '\\') {
			fprintf(f, "\\%c", *s++);
		} else if (*s < 0x20) {
			fprintf(f, "\\u%04x", *s++);
		} else if (*s < 0x80) {
			fputc(*s++, f);
		} else if ((n = utf8_len(s))) {
			fwrite(s, 1, n, f);
			s += n;
		} else {
			fputs("\\ufffd", f);
			s++;
		}
	}
	fputc('"', f);
}

static void json_counts(FILE *f, const struct tw_counts *c, const char *ind)
{
	fprintf(f, "%s\"total\": %" PRIu64 ",\n", ind, tw_units_total(c));
	for (int v = 0; v < TW_V_NR; v++) {
		char key[32];

		/* JSON keys use underscores: cow-atomic -> cow_atomic */
		snprintf(key, sizeof(key), "%s", tw_verdict_names[v]);
		for (char *p = key; *p; p++)
			if (*p == '-')
				*p = '_';
		fprintf(f, "%s\"%s\": %" PRIu64 ",\n", ind, key, c->verdict[v]);
	}
	fprintf(f, "%s\"split_writeback\": %" PRIu64 ",\n", ind, c->split_writeback);
	fprintf(f, "%s\"split_dio\": %" PRIu64 ",\n", ind, c->split_dio);
	fprintf(f, "%s\"split_block\": %" PRIu64 ",\n", ind, c->split_block);
	fprintf(f, "%s\"rejoined\": %" PRIu64 ",\n", ind, c->rejoined);
	fprintf(f, "%s\"pending_cached\": %" PRIu64 ",\n", ind, c->pending_cached);
	fprintf(f, "%s\"pending_inflight\": %" PRIu64 ",\n", ind, c->pending_inflight);
	fprintf(f, "%s\"misaligned\": %" PRIu64 ",\n", ind, c->misaligned);
	fprintf(f, "%s\"untracked\": %" PRIu64 ",\n", ind, c->untracked);
	fprintf(f, "%s\"refused\": %" PRIu64 ",\n", ind, c->refused);
	fprintf(f, "%s\"io_errors\": %" PRIu64 ",\n", ind, c->io_errors);
	fprintf(f, "%s\"whole_beyond_device_atomic\": %" PRIu64 ",\n", ind, c->whole_beyond_atomic);
	fprintf(f, "%s\"whole_atomic_size_unknown\": %" PRIu64 ",\n", ind, c->whole_atomic_unknown);
	fprintf(f, "%s\"modifications\": %" PRIu64 "\n", ind, c->modified);
}

/* [{"lo": .., "hi": .., "count": ..}] for the non-empty slots, bounds in slot units. */
static void json_hist(FILE *f, const uint64_t *h, const char *lo_key, const char *hi_key,
		      const char *ind)
{
	bool first = true;

	fprintf(f, "[");
	for (int i = 0; i < TW_HIST_SLOTS; i++) {
		if (!h[i])
			continue;
		fprintf(f, "%s\n%s{\"%s\": %llu, \"%s\": %llu, \"count\": %" PRIu64 "}",
			first ? "" : ",", ind, lo_key, i ? 1ULL << i : 0ULL, hi_key,
			1ULL << (i + 1), h[i]);
		first = false;
	}
	fprintf(f, "%s]", first ? "" : "\n    ");
}

static void report_modes_json(FILE *f, const struct tw_summary *s)
{
	fprintf(f, "  \"modes\": {");
	for (int m = 0; m < TW_M_NR; m++) {
		const struct tw_mode_stats *ms = &s->modes[m];
		bool first = true;

		fprintf(f, "%s\n    \"%s\": {\"writes\": %" PRIu64 ", \"units\": %" PRIu64
			", \"refused\": %" PRIu64 ", \"incomplete\": %" PRIu64
			", \"not_persisted\": %" PRIu64 ",\n      \"refused_errno\": {", m ? "," : "",
			tw_mode_names[m], ms->writes, ms->units, ms->refused, ms->incomplete,
			ms->not_persisted);
		for (int e = 1; e < TW_ERRNO_MAX; e++) {
			if (!ms->refused_errno[e])
				continue;
			fprintf(f, "%s\"%d\": %" PRIu64, first ? "" : ", ", e, ms->refused_errno[e]);
			first = false;
		}
		fprintf(f, "},\n      \"exposure\": ");
		report_exposure_json(f, &ms->exposure, s);
		fprintf(f, ",\n      \"hist\": {");
		for (int st = 0; st < TW_ST_NR; st++) {
			fprintf(f, "%s\"%s\": ", st ? ", " : "", tw_stage_names[st]);
			json_hist(f, ms->hist[st], "lo", "hi", "        ");
		}
		fprintf(f, "}}");
	}
	fprintf(f, "\n  },\n  \"atomic\": {\"checked\": %" PRIu64 ", \"device_misaligned\": %" PRIu64
		", \"violations\": {", s->atomic.checked, s->atomic.device_misaligned);
	for (int k = 0; k < TW_AV_NR; k++)
		fprintf(f, "%s\"%s\": %" PRIu64, k ? ", " : "", tw_atomic_violation_names[k],
			s->atomic.violations[k]);
	fprintf(f, "}},\n  \"devices\": ");
	report_devices_json(f, s);
	fprintf(f, ",\n  \"writeback_triggers\": {");
	for (int k = 0; k < TW_TRIG_NR; k++)
		fprintf(f, "%s\"%s\": %" PRIu64, k ? ", " : "", tw_trigger_names[k], s->triggers[k]);
	fprintf(f, "},\n");
}

static void report_stable_json(FILE *f, const struct tw_summary *s)
{
	const struct tw_stable *st = &s->stable;
	char dev[16];
	size_t i;
	bool first = true;

	fprintf(f, "  \"stable\": {\n    \"modified\": %" PRIu64 ",\n", st->modified);
	fprintf(f, "    \"modified_unit_unknown\": %" PRIu64 ",\n", st->unit_unknown);
	fprintf(f, "    \"waits\": %" PRIu64 ",\n", st->waits);
	fprintf(f, "    \"waits_write\": %" PRIu64 ",\n    \"waits_mmap\": %" PRIu64 ",\n",
		st->waits_by_ctx[TW_WAIT_WRITE], st->waits_by_ctx[TW_WAIT_FAULT]);
	fprintf(f, "    \"waits_fsync\": %" PRIu64 ",\n    \"waits_other\": %" PRIu64 ",\n",
		st->waits_by_ctx[TW_WAIT_SYNC], st->waits_by_ctx[TW_WAIT_OTHER]);
	fprintf(f, "    \"waits_unclassified\": %" PRIu64 ",\n", st->waits_by_ctx[TW_WAIT_UNKNOWN]);
	fprintf(f, "    \"wait_ns_total\": %" PRIu64 ",\n    \"wait_hist\": [", st->wait_ns_total);
	for (i = 0; i < TW_HIST_SLOTS; i++) {
		if (!st->hist[i])
			continue;
		fprintf(f, "%s\n      {\"lo_ns\": %llu, \"hi_ns\": %llu, \"count\": %" PRIu64 "}",
			first ? "" : ",", i ? 1ULL << i : 0ULL, 1ULL << (i + 1), st->hist[i]);
		first = false;
	}
	fprintf(f, "%s],\n    \"waits_by_process\": [", first ? "" : "\n    ");
	for (i = 0; i < st->nr_procs; i++) {
		fprintf(f, "%s\n      {\"pid\": %u, \"comm\": ", i ? "," : "", st->procs[i].pid);
		json_str(f, st->procs[i].comm);
		fprintf(f, ", \"waits\": %" PRIu64 ", \"wait_ns\": %" PRIu64 "}", st->procs[i].waits,
			st->procs[i].wait_ns);
	}
	fprintf(f, "%s],\n    \"devices\": [", st->nr_procs ? "\n    " : "");
	for (i = 0; i < st->nr_devices; i++) {
		fmt_kdev(st->devices[i].dev, dev, sizeof(dev));
		fprintf(f, "%s\n      {\"dev\": \"%s\", \"stable_writes\": %d}", i ? "," : "", dev,
			st->devices[i].stable_writes);
	}
	fprintf(f, "%s],\n    \"modifications\": [", st->nr_devices ? "\n    " : "");
	for (i = 0; i < st->nr_mods; i++) {
		const struct tw_modification *md = &st->mods[i];

		fmt_kdev(md->dev, dev, sizeof(dev));
		fprintf(f, "%s\n      {\"dev\": \"%s\", \"ino\": %" PRIu64 ", \"path\": ",
			i ? "," : "", dev, md->ino);
		json_str(f, md->path ? md->path : "");
		fprintf(f, ", \"index\": %" PRIu64 ", \"pages\": %u, \"off\": %" PRIu64
			", \"len\": %" PRIu64 ", \"range_known\": %s, \"mmap\": %s, \"pid\": %u, \"tid\": %u, "
			"\"comm\": ", md->index, md->nr_pages, md->off, md->len,
			md->range_known ? "true" : "false", md->mmap ? "true" : "false", md->pid,
			md->tid);
		json_str(f, md->comm);
		fprintf(f, ", \"stable_writes\": %d}", md->stable_writes);
	}
	fprintf(f, "%s]\n  },\n", st->nr_mods ? "\n    " : "");
}

void report_json(FILE *f, const struct tw_summary *s, const struct tw_report_meta *m)
{
	char dev[16];
	size_t i;

	fprintf(f, "{\n  \"version\": ");
	json_str(f, TW_VERSION);
	fprintf(f, ",\n  \"schema\": 1,\n  \"source\": ");
	json_str(f, m->source);
	fprintf(f, ",\n  \"kernel\": ");
	json_str(f, m->kernel);
	if (m->duration_s >= 0)
		fprintf(f, ",\n  \"duration_s\": %.3f", m->duration_s);
	fprintf(f, ",\n  \"unit_size\": %" PRIu64 ",\n", s->unit_size);
	fprintf(f, "  \"writes\": %" PRIu64 ",\n  \"write_bytes\": %" PRIu64 ",\n", s->writes,
		s->write_bytes);
	if (s->t0_ns)
		fprintf(f, "  \"t0_ns\": %" PRIu64 ",\n  \"end_ns\": %" PRIu64 ",\n", s->t0_ns,
			s->end_ns);
	else
		fprintf(f, "  \"t0_ns\": null,\n  \"end_ns\": null,\n");
	fprintf(f, "  \"units\": {\n");
	json_counts(f, &s->c, "    ");
	fprintf(f, "  },\n  \"exposure\": ");
	report_exposure_run_json(f, s);
	fprintf(f, ",\n  \"lost\": {\n    \"total\": %" PRIu64 ",\n", s->lost_total);
	fprintf(f, "    \"counters_recorded\": %s", s->have_bpf_stats ? "true" : "false");
	for (i = 0; i < TW_NR_LOST; i++)
		fprintf(f, ",\n    \"%s\": %" PRIu64, stat_names[i], s->bpf_stats[i]);
	fprintf(f, "\n  },\n  \"bpf\": {\n");
	for (i = TW_NR_LOST; i < TW_NR_STATS; i++)
		fprintf(f, "    \"%s\": %" PRIu64 "%s\n", stat_names[i], s->bpf_stats[i],
			i + 1 < TW_NR_STATS ? "," : "");
	fprintf(f, "  },\n  \"join\": {\n");
	fprintf(f, "    \"records\": %" PRIu64 ",\n    \"bad_records\": %" PRIu64 ",\n",
		s->join.records, s->join.bad_records);
	fprintf(f, "    \"unknown_bio\": %" PRIu64 ",\n    \"unknown_parent\": %" PRIu64 ",\n",
		s->join.unknown_bio, s->join.unknown_parent);
	fprintf(f, "    \"foreign_bytes\": %" PRIu64 ",\n    \"unmatched_bytes\": %" PRIu64 ",\n",
		s->join.foreign_bytes, s->join.unmatched_bytes);
	fprintf(f, "    \"reused_bio\": %" PRIu64 ",\n    \"completions_inferred\": %" PRIu64 ",\n",
		s->join.reused_bio, s->join.completions_inferred);
	fprintf(f, "    \"units_inferred\": %" PRIu64 "\n  },\n", s->join.units_inferred);
	if (m->check) {
		const struct tw_check *c = m->check;
		bool first = true;

		fprintf(f, "  \"check\": {\"passed\": %s, \"fail_on\": [", c->passed ? "true" : "false");
		for (int k = 0; k < TW_F_NR; k++) {
			if (!(c->fail_on & (1u << k)))
				continue;
			fprintf(f, "%s\"%s\"", first ? "" : ", ", tw_fail_names[k]);
			first = false;
		}
		fprintf(f, "], \"failures\": {");
		for (int k = 0; k < TW_F_NR; k++)
			fprintf(f, "%s\"%s\": %" PRIu64, k ? ", " : "", tw_fail_names[k],
				c->failures[k]);
		if (c->has_command)
			fprintf(f, "}, \"command_status\": %d},\n", c->command_status);
		else
			fprintf(f, "}, \"command_status\": null},\n");
	}
	report_modes_json(f, s);
	report_stable_json(f, s);
	fprintf(f, "  \"files\": [");
	for (i = 0; i < s->nr_files; i++) {
		const struct tw_file_stat *fs = s->files[i];

		fmt_kdev(fs->dev, dev, sizeof(dev));
		fprintf(f, "%s\n    {\n      \"path\": ", i ? "," : "");
		json_str(f, fs->path);
		fprintf(f, ",\n      \"dev\": \"%s\",\n      \"ino\": %" PRIu64 ",\n", dev, fs->ino);
		fprintf(f, "      \"deleted\": %s,\n", fs->deleted ? "true" : "false");
		fprintf(f, "      \"writes\": %" PRIu64 ",\n      \"bytes\": %" PRIu64 ",\n",
			fs->writes, fs->bytes);
		fprintf(f, "      \"units\": %" PRIu64 ",\n", tw_units_total(&fs->c));
		fprintf(f, "      \"split\": %" PRIu64 ",\n", fs->c.verdict[TW_V_SPLIT]);
		fprintf(f, "      \"exposure\": ");
		report_exposure_json(f, &fs->exposure, s);
		fprintf(f, ",\n      \"verdicts\": {\n");
		json_counts(f, &fs->c, "        ");
		fprintf(f, "      }\n    }");
	}
	fprintf(f, "%s]\n}\n", s->nr_files ? "\n  " : "");
}

struct json_ctx {
	const struct tw_summary *s;
	const struct tw_report_meta *m;
};

static void fill_json(FILE *f, const void *ctx)
{
	const struct json_ctx *j = ctx;

	report_json(f, j->s, j->m);
}

int report_json_file(const char *path, const struct tw_summary *s,
		     const struct tw_report_meta *m, char *err, size_t errlen)
{
	struct json_ctx j = { .s = s, .m = m };

	return write_file(path, "--json", fill_json, &j, err, errlen);
}
