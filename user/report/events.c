// SPDX-License-Identifier: GPL-2.0
/* --events: a line per unit in fixed columns like biosnoop, or an NDJSON object with the
 * unit's raw record times. Pure formatting. */
#include <inttypes.h>
#include "common.h"
#include "report.h"

/* An absolute time as JSON: 0 is unknown, null. */
static void json_ns(FILE *f, const char *key, uint64_t ns)
{
	if (ns)
		fprintf(f, ", \"%s\": %" PRIu64, key, ns);
	else
		fprintf(f, ", \"%s\": null", key);
}

/* An --events object's times, raw record times for an outside clock to compare with. */
static void report_event_times_json(FILE *f, const struct tw_unit_event *ev)
{
	json_ns(f, "write_ns", ev->write_ns);
	json_ns(f, "issue_ns", ev->issue_ns);
	json_ns(f, "complete_ns", ev->complete_ns);
	json_ns(f, "persisted_ns", ev->persisted_ns);
	json_ns(f, "exposed_from_ns", ev->exposed_from_ns);
	json_ns(f, "exposed_until_ns", ev->exposed_from_ns ? ev->exposed_until_ns : 0);
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

/* An NDJSON line; mode and verdict spelled as the report's keys of json_version. */
void report_event_json(FILE *f, const struct tw_unit_event *ev, int json_version)
{
	char dev[16];

	fmt_kdev(ev->dev, dev, sizeof(dev));
	fprintf(f, "{\"time\": %.6f, \"pid\": %u, \"tid\": %u, \"comm\": ", ev->t_ns / 1e9,
		ev->pid, ev->tid);
	report_json_str(f, ev->comm);
	fprintf(f, ", \"mode\": ");
	report_json_name(f, tw_mode_names[ev->mode], json_version);
	fprintf(f, ", \"dev\": \"%s\", \"ino\": %" PRIu64 ", \"path\": ", dev, ev->ino);
	report_json_str(f, ev->path);
	fprintf(f, ", \"off\": %" PRIu64 ", \"len\": %" PRIu64 ", \"verdict\": ", ev->off,
		ev->len);
	report_json_name(f, tw_verdict_names[ev->verdict], json_version);
	fprintf(f, ", \"bios\": %u, \"requests\": %u, \"syscall_us\": %.3f, \"end_to_end_us\": %.3f",
		ev->bios, ev->requests, ev->syscall_ns / 1e3, ev->end_to_end_ns / 1e3);
	report_event_times_json(f, ev);
	fprintf(f, "}\n");
}
