// SPDX-License-Identifier: GPL-2.0
/* The Prometheus text exposition (node_exporter's textfile collector reads it), and --prom's
 * file written through outfile.c. Pure formatting. */
#include <inttypes.h>
#include "common.h"
#include "outfile.h"
#include "report.h"

#define TW_PROM_BUCKETS 26	/* le = 2 us .. 2^26 us (67 s), then +Inf */

/* # HELP and # TYPE of a metric: every writer's metrics start with it. */
void report_prom_header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void report_prom(FILE *f, const struct tw_summary *s, uint64_t written_ns)
{
	char dev[16];

	report_prom_header(f, "tornwatch_report_timestamp_seconds", "gauge",
		    "When tornwatch wrote this report (Unix time; a replay: the recorded run's end).");
	fprintf(f, "tornwatch_report_timestamp_seconds %" PRIu64 ".%03" PRIu64 "\n",
		written_ns / 1000000000, written_ns / 1000000 % 1000);
	report_prom_header(f, "tornwatch_units_total", "counter",
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
	report_prom_header(f, "tornwatch_writes_total", "counter", "Traced write calls, by write mode.");
	for (int m = 0; m < TW_M_NR; m++)
		fprintf(f, "tornwatch_writes_total{mode=\"%s\"} %" PRIu64 "\n", tw_mode_names[m],
			s->modes[m].writes);
	report_prom_header(f, "tornwatch_refused_writes_total", "counter",
		    "Writes the kernel refused, by write mode.");
	for (int m = 0; m < TW_M_NR; m++)
		fprintf(f, "tornwatch_refused_writes_total{mode=\"%s\"} %" PRIu64 "\n",
			tw_mode_names[m], s->modes[m].refused);
	report_prom_header(f, "tornwatch_misaligned_writes_total", "counter",
		    "Writes not aligned to the unit size.");
	fprintf(f, "tornwatch_misaligned_writes_total %" PRIu64 "\n", s->c.misaligned);
	report_prom_header(f, "tornwatch_lost_events_total", "counter",
		    "Records lost (ring buffer full, maps full, walks cut short): not 0 means "
		    "the counts are incomplete.");
	fprintf(f, "tornwatch_lost_events_total %" PRIu64 "\n", s->lost_total);
	report_prom_header(f, "tornwatch_stable_page_modifications_total", "counter",
		    "Folios changed by traced processes while under writeback.");
	fprintf(f, "tornwatch_stable_page_modifications_total %" PRIu64 "\n", s->stable.modified);
	report_prom_header(f, "tornwatch_stable_page_waits_total", "counter",
		    "Writers that waited for a folio's writeback (stable pages).");
	fprintf(f, "tornwatch_stable_page_waits_total %" PRIu64 "\n", s->stable.waits);
	report_prom_header(f, "tornwatch_stable_page_waits_untimed_total", "counter",
		    "Stable-page waits begun before the wake-up hook was attached (at the first "
		    "wait): not in tornwatch_stable_page_waits_total.");
	fprintf(f, "tornwatch_stable_page_waits_untimed_total %" PRIu64 "\n",
		s->stable.waits_untimed);
	report_devices_prom(f, s);
	report_exposure_prom(f, s);
	report_prom_header(f, "tornwatch_write_latency_seconds", "histogram",
		    "Latency of write units that reached the device, by write mode and stage.");
	for (int m = 0; m < TW_M_NR; m++) {
		for (int st = 0; st < TW_ST_NR; st++) {
			const uint64_t *h = s->modes[m].hist[st];
			uint64_t cum = 0, total = report_hist_sum(h);

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

struct prom_ctx {
	const struct tw_summary *s;
	uint64_t written_ns;
};

static void fill_prom(FILE *f, const void *ctx)
{
	const struct prom_ctx *c = ctx;

	report_prom(f, c->s, c->written_ns);
}

int report_prom_file(const char *path, const struct tw_summary *s, uint64_t written_ns,
		     char *err, size_t errlen)
{
	struct prom_ctx c = { .s = s, .written_ns = written_ns };

	return outfile_write(path, "--prom", fill_prom, &c, err, errlen);
}

