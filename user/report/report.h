/* SPDX-License-Identifier: GPL-2.0 */
/* The report writers, one file each under user/report/: text for people, JSON for programs,
 * Prometheus for fleets, --events lines, --check's verdict. Pure formatting, no libbpf. */
#ifndef TW_REPORT_H
#define TW_REPORT_H

#include <stdio.h>
#include "tracker.h"

/* check.c: --check's outcome. */
struct tw_check {
	uint32_t fail_on;		/* mask of 1 << enum tw_fail_kind */
	uint64_t failures[TW_F_NR];	/* counts of the kinds in fail_on */
	bool passed;
	bool has_command;
	int command_status;		/* with -- COMMAND: its exit status (128 + signal) */
};

/* Decide the check from a summary. */
void check_evaluate(struct tw_check *c, const struct tw_summary *s);
/* One line per failing kind: counts and the first offenders. */
void report_check_lines(FILE *f, const struct tw_summary *s, const struct tw_check *c);

/* The JSON report's schema (docs/json.md): what --json writes by default, and the oldest
 * --json-version still written. */
#define TW_JSON_SCHEMA		2
#define TW_JSON_SCHEMA_MIN	1

struct tw_report_meta {
	int json_version;	/* TW_JSON_SCHEMA_MIN..TW_JSON_SCHEMA; 0: TW_JSON_SCHEMA */
	const char *source;	/* "live" or "replay" */
	const char *kernel;	/* release of the traced host */
	double duration_s;	/* < 0: unknown (replay) */
	int top_files;
	const struct tw_check *check;	/* NULL without --check */
};

/* text.c: the report, and one -i interval: what cur has that prev had not (both are
 * snapshots of growing counters). */
void report_text(FILE *f, const struct tw_summary *s, const struct tw_report_meta *m);
void report_interval_text(FILE *f, unsigned int n, double t_s, const struct tw_summary *prev,
			  const struct tw_summary *cur);

/* hist.c: slot i counts values in [2^i, 2^(i+1)) x unit_ns; printed like biolatency. */
void report_log2_hist(FILE *f, const uint64_t *slots, int nr, uint64_t unit_ns, const char *indent);
/* The count in a TW_HIST_SLOTS histogram. */
uint64_t report_hist_sum(const uint64_t *h);

/* json.c: the report; written to path ("-": stdout) as outfile.h says. */
void report_json(FILE *f, const struct tw_summary *s, const struct tw_report_meta *m);
int report_json_file(const char *path, const struct tw_summary *s,
		     const struct tw_report_meta *m, char *err, size_t errlen);
/* A JSON string; bytes that are not UTF-8 become U+FFFD. */
void report_json_str(FILE *f, const char *str);
/* One of tornwatch's names (a mode, a verdict, a source) as a JSON string: from schema 2 in
 * snake case (buffered-dsync -> buffered_dsync), as every key is. */
void report_json_name(FILE *f, const char *name, int json_version);

/* prom.c: Prometheus text exposition (node_exporter's textfile collector reads it), written
 * to path as outfile.h says (a regular file: temporary file and rename). written_ns is the
 * report's time, CLOCK_REALTIME (a replay: the recording's); its metric says when the file
 * was last written, so an alert can tell a stopped tornwatch from a quiet one. */
void report_prom(FILE *f, const struct tw_summary *s, uint64_t written_ns);
int report_prom_file(const char *path, const struct tw_summary *s, uint64_t written_ns,
		     char *err, size_t errlen);
/* A metric's # HELP and # TYPE lines. */
void report_prom_header(FILE *f, const char *name, const char *type, const char *help);

/* events.c: --events, one unit per line, fixed columns like biosnoop, or NDJSON. */
void report_event_header(FILE *f);
void report_event_text(FILE *f, const struct tw_unit_event *ev);
void report_event_json(FILE *f, const struct tw_unit_event *ev, int json_version);

/* exposure.c: torn exposure, the EXPOSURE section, JSON objects, Prometheus. */
void report_exposure_text(FILE *f, const struct tw_summary *s, int top_files);
void report_exposure_json(FILE *f, const struct tw_exposure *x, const struct tw_summary *s);
void report_exposure_run_json(FILE *f, const struct tw_summary *s);
void report_exposure_prom(FILE *f, const struct tw_summary *s);

/* devices.c: what each device promises, the DEVICES section, devices[], device metrics. */
void report_devices_text(FILE *f, const struct tw_summary *s);
void report_devices_json(FILE *f, const struct tw_summary *s, int json_version);
void report_devices_prom(FILE *f, const struct tw_summary *s);

#endif
