// SPDX-License-Identifier: GPL-2.0
/* What each block device promises, in every report: the DEVICES section of the text report,
 * the JSON devices[] array and the Prometheus device metrics. Pure formatting. */
#include <inttypes.h>
#include <stdio.h>
#include "common.h"
#include "devfacts.h"
#include "report.h"

static const char *src_name(const struct tw_device *d)
{
	return d->atomic_src >= 0 && d->atomic_src < TW_AS_NR ? tw_atomic_src_names[d->atomic_src]
							       : "unknown";
}

void report_devices_text(FILE *f, const struct tw_summary *s)
{
	const struct tw_stable *st = &s->stable;
	char dev[16], unit[32], fua[16];

	if (!st->nr_devices)
		return;
	fprintf(f, "\nDEVICES (queue settings when first seen; POWER-FAIL: the bytes of one request "
		"a power cut cannot tear)\n");
	fprintf(f, "  %-9s %-13s %3s %7s %8s %15s %10s  %-14s %8s\n", "DEV", "WRITE-CACHE", "FUA",
		"LOGICAL", "PHYSICAL", "ATOMIC-UNIT", "POWER-FAIL", "SOURCE", "BEYOND");
	for (size_t i = 0; i < st->nr_devices; i++) {
		const struct tw_device *d = &st->devices[i];

		fmt_kdev(d->dev, dev, sizeof(dev));
		if (d->atomic_unit_max)
			snprintf(unit, sizeof(unit), "%u..%u", d->atomic_unit_min, d->atomic_unit_max);
		else
			snprintf(unit, sizeof(unit), "none");
		if (d->fua < 0)
			snprintf(fua, sizeof(fua), "?");
		else
			snprintf(fua, sizeof(fua), "%d", d->fua);
		fprintf(f, "  %-9s %-13s %3s %7u %8u %15s %10u  %-14s %8" PRIu64 "\n", dev,
			tw_write_cache_name(d->write_cache), fua, d->logical_block, d->physical_block,
			unit, d->atomic_size, src_name(d), d->whole_beyond_atomic);
	}
	fprintf(f, "  BEYOND: whole units larger than POWER-FAIL; SOURCE option: --atomic-size; "
		"write through: completion is persistence\n");
}

void report_devices_json(FILE *f, const struct tw_summary *s, int json_version)
{
	const struct tw_stable *st = &s->stable;
	char dev[16];

	fprintf(f, "[");
	for (size_t i = 0; i < st->nr_devices; i++) {
		const struct tw_device *d = &st->devices[i];

		fmt_kdev(d->dev, dev, sizeof(dev));
		fprintf(f, "%s\n    {\"dev\": \"%s\", \"stable_writes\": %d, \"atomic_write_unit_min\": "
			"%u, \"atomic_write_unit_max\": %u, \"atomic_write_boundary\": %u, "
			"\"atomic_write_max\": %u,\n     \"write_cache\": \"%s\", \"fua\": %d, "
			"\"logical_block_size\": %u, \"physical_block_size\": %u,\n     "
			"\"power_fail_atomic_size\": %u, \"atomic_size_source\": ", i ? "," : "", dev,
			d->stable_writes, d->atomic_unit_min, d->atomic_unit_max, d->atomic_boundary,
			d->atomic_max, tw_write_cache_name(d->write_cache), d->fua < 0 ? -1 : d->fua,
			d->logical_block, d->physical_block, d->atomic_size);
		report_json_name(f, src_name(d), json_version);
		fprintf(f, ", \"whole_beyond_device_atomic\": %" PRIu64 "}", d->whole_beyond_atomic);
	}
	fprintf(f, "%s]", st->nr_devices ? "\n  " : "");
}

/* One gauge per device, its value read by get. */
static void prom_device_gauge(FILE *f, const struct tw_stable *st, const char *name,
			      const char *help, uint32_t (*get)(const struct tw_device *d))
{
	char dev[16];

	report_prom_header(f, name, "gauge", help);
	for (size_t i = 0; i < st->nr_devices; i++) {
		fmt_kdev(st->devices[i].dev, dev, sizeof(dev));
		fprintf(f, "%s{device=\"%s\"} %u\n", name, dev, get(&st->devices[i]));
	}
}

static uint32_t get_logical(const struct tw_device *d) { return d->logical_block; }
static uint32_t get_physical(const struct tw_device *d) { return d->physical_block; }
static uint32_t get_unit_min(const struct tw_device *d) { return d->atomic_unit_min; }
static uint32_t get_unit_max(const struct tw_device *d) { return d->atomic_unit_max; }
static uint32_t get_boundary(const struct tw_device *d) { return d->atomic_boundary; }
static uint32_t get_atomic_max(const struct tw_device *d) { return d->atomic_max; }
static uint32_t get_atomic_size(const struct tw_device *d) { return d->atomic_size; }

void report_devices_prom(FILE *f, const struct tw_summary *s)
{
	const struct tw_stable *st = &s->stable;
	char dev[16];

	report_prom_header(f, "tornwatch_device_info", "gauge",
		    "Block device facts from sysfs when tracing first saw it (always 1): write "
		    "cache, FUA (-1 unknown), where the power-fail atomic size comes from.");
	for (size_t i = 0; i < st->nr_devices; i++) {
		const struct tw_device *d = &st->devices[i];

		fmt_kdev(d->dev, dev, sizeof(dev));
		fprintf(f, "tornwatch_device_info{device=\"%s\",write_cache=\"%s\",fua=\"%d\","
			"atomic_size_source=\"%s\"} 1\n", dev, tw_write_cache_name(d->write_cache),
			d->fua < 0 ? -1 : d->fua, src_name(d));
	}
	prom_device_gauge(f, st, "tornwatch_device_logical_block_size_bytes",
			  "queue/logical_block_size (0: unknown).", get_logical);
	prom_device_gauge(f, st, "tornwatch_device_physical_block_size_bytes",
			  "queue/physical_block_size (0: unknown).", get_physical);
	prom_device_gauge(f, st, "tornwatch_device_atomic_write_unit_min_bytes",
			  "queue/atomic_write_unit_min_bytes (0: no atomic writes).", get_unit_min);
	prom_device_gauge(f, st, "tornwatch_device_atomic_write_unit_max_bytes",
			  "queue/atomic_write_unit_max_bytes (0: no atomic writes).", get_unit_max);
	prom_device_gauge(f, st, "tornwatch_device_atomic_write_boundary_bytes",
			  "queue/atomic_write_boundary_bytes (0: none).", get_boundary);
	prom_device_gauge(f, st, "tornwatch_device_atomic_write_max_bytes",
			  "queue/atomic_write_max_bytes (0: no atomic writes).", get_atomic_max);
	prom_device_gauge(f, st, "tornwatch_device_power_fail_atomic_size_bytes",
			  "The bytes of one request a power cut cannot tear: atomic_write_unit_max, "
			  "else the physical block, or --atomic-size (0: unknown).", get_atomic_size);
	report_prom_header(f, "tornwatch_units_whole_beyond_device_atomic_total", "counter",
		    "Whole (or atomic) units, one request each, larger than the power-fail atomic "
		    "size of the device that carried them: a power cut can still tear them.");
	for (size_t i = 0; i < st->nr_devices; i++) {
		fmt_kdev(st->devices[i].dev, dev, sizeof(dev));
		fprintf(f, "tornwatch_units_whole_beyond_device_atomic_total{device=\"%s\"} %" PRIu64
			"\n", dev, st->devices[i].whole_beyond_atomic);
	}
	report_prom_header(f, "tornwatch_units_whole_atomic_size_unknown_total", "counter",
		    "Whole (or atomic) units on a device whose power-fail atomic size is unknown: "
		    "not judged.");
	fprintf(f, "tornwatch_units_whole_atomic_size_unknown_total %" PRIu64 "\n",
		s->c.whole_atomic_unknown);
}
