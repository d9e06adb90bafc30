// SPDX-License-Identifier: GPL-2.0
/* Torn exposure in every report: the EXPOSURE section of the text report, the JSON exposure
 * objects (run, mode, file) and the Prometheus exposure metrics. Pure formatting. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "report.h"

static void json_exposure_keys(FILE *f, const struct tw_exposure *x, const struct tw_summary *s)
{
	fprintf(f, "\"units\": %" PRIu64 ", \"unit_seconds\": %.9f, \"expected_torn_per_cut\": "
		"%.9g, \"max_concurrent\": %" PRIu64, x->units, x->unit_ns / 1e9,
		tw_exposure_per_cut(x, s), x->max_concurrent);
}

/* {"units": .., "unit_seconds": .., "expected_torn_per_cut": .., "max_concurrent": ..} */
void report_exposure_json(FILE *f, const struct tw_exposure *x, const struct tw_summary *s)
{
	fputc('{', f);
	json_exposure_keys(f, x, s);
	fputc('}', f);
}

/* The run's, with what may make its max_concurrent inexact. */
void report_exposure_run_json(FILE *f, const struct tw_summary *s)
{
	fputc('{', f);
	json_exposure_keys(f, &s->exposure, s);
	fprintf(f, ", \"inexact\": %" PRIu64 "}", s->exposure_inexact);
}

static int cmp_exposed_files(const void *a, const void *b)
{
	const struct tw_file_stat *x = *(const struct tw_file_stat *const *)a;
	const struct tw_file_stat *y = *(const struct tw_file_stat *const *)b;

	if (x->exposure.unit_ns != y->exposure.unit_ns)
		return x->exposure.unit_ns > y->exposure.unit_ns ? -1 : 1;
	if (x->exposure.units != y->exposure.units)
		return x->exposure.units > y->exposure.units ? -1 : 1;
	return strcmp(x->path, y->path);
}

static void exposure_row(FILE *f, const struct tw_exposure *x, const struct tw_summary *s,
			 const char *what, const char *name, const char *note)
{
	fprintf(f, "%10" PRIu64 " %14.6f %12.6f %8" PRIu64 "  %s%s%s\n", x->units, x->unit_ns / 1e9,
		tw_exposure_per_cut(x, s), x->max_concurrent, what, name, note);
}

/* The files with exposed units, most unit-seconds first, at most top. */
static void report_exposed_files_text(FILE *f, const struct tw_summary *s, int top)
{
	const struct tw_file_stat **v = calloc(s->nr_files + 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return;
	for (size_t i = 0; i < s->nr_files; i++)
		if (s->files[i]->exposure.units)
			v[n++] = s->files[i];
	qsort(v, n, sizeof(*v), cmp_exposed_files);
	for (size_t i = 0; i < n && i < (size_t)top; i++)
		exposure_row(f, &v[i]->exposure, s, "", v[i]->path[0] ? v[i]->path : "?",
			     v[i]->deleted ? " (deleted)" : "");
	if (n > (size_t)top)
		fprintf(f, "  (%zu more files)\n", n - top);
	free(v);
}

void report_exposure_text(FILE *f, const struct tw_summary *s, int top_files)
{
	fprintf(f, "\nEXPOSURE (while exposed a power cut can tear the unit; %.3f s traced)\n",
		s->end_ns > s->t0_ns ? (s->end_ns - s->t0_ns) / 1e9 : 0.0);
	fprintf(f, "%10s %14s %12s %8s  %s\n", "UNITS", "UNIT-SECONDS", "TORN-PER-CUT", "MOST",
		"OF");
	exposure_row(f, &s->exposure, s, "", "all", "");
	for (int m = 0; m < TW_M_NR; m++)
		if (s->modes[m].exposure.units)
			exposure_row(f, &s->modes[m].exposure, s, "mode ", tw_mode_names[m], "");
	report_exposed_files_text(f, s, top_files);
	fprintf(f, "  TORN-PER-CUT: torn units expected from a power cut at a random moment; MOST: "
		"exposed at once, the worst cut\n");
	if (s->exposure_inexact)
		fprintf(f, "  MOST may miss %" PRIu64 " interval ends that came over 100 ms out of "
			"order\n", s->exposure_inexact);
}

void report_exposure_prom(FILE *f, const struct tw_summary *s)
{
	report_prom_header(f, "tornwatch_exposure_units_total", "counter",
		    "Units a power cut could have torn (exposed at all), by write mode; the sum is "
		    "the run's.");
	for (int m = 0; m < TW_M_NR; m++)
		fprintf(f, "tornwatch_exposure_units_total{mode=\"%s\"} %" PRIu64 "\n",
			tw_mode_names[m], s->modes[m].exposure.units);
	report_prom_header(f, "tornwatch_exposure_unit_seconds_total", "counter",
		    "Seconds units were exposed to a tearing power cut, summed over units, by "
		    "write mode; the sum is the run's.");
	for (int m = 0; m < TW_M_NR; m++)
		fprintf(f, "tornwatch_exposure_unit_seconds_total{mode=\"%s\"} %.9f\n",
			tw_mode_names[m], s->modes[m].exposure.unit_ns / 1e9);
	report_prom_header(f, "tornwatch_exposure_expected_torn_per_cut", "gauge",
		    "Expected torn units for a power cut at a random moment of the trace (unit "
		    "seconds / seconds traced), by write mode; the sum is the run's.");
	for (int m = 0; m < TW_M_NR; m++)
		fprintf(f, "tornwatch_exposure_expected_torn_per_cut{mode=\"%s\"} %.9g\n",
			tw_mode_names[m], tw_exposure_per_cut(&s->modes[m].exposure, s));
	report_prom_header(f, "tornwatch_exposure_max_concurrent_units", "gauge",
		    "The most units of a write mode exposed at one moment.");
	for (int m = 0; m < TW_M_NR; m++)
		fprintf(f, "tornwatch_exposure_max_concurrent_units{mode=\"%s\"} %" PRIu64 "\n",
			tw_mode_names[m], s->modes[m].exposure.max_concurrent);
	report_prom_header(f, "tornwatch_exposure_run_max_concurrent_units", "gauge",
		    "The most units exposed at one moment, all modes: the worst single power cut.");
	fprintf(f, "tornwatch_exposure_run_max_concurrent_units %" PRIu64 "\n",
		s->exposure.max_concurrent);
}
