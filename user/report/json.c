// SPDX-License-Identifier: GPL-2.0
/* The JSON report for programs (docs/json.md, docs/tornwatch.schema.json) and --json's file
 * written through outfile.c; the JSON string escaper the NDJSON events share. Pure formatting. */
#include <inttypes.h>
#include <string.h>
#include "common.h"
#include "outfile.h"
#include "report.h"

static const char *const stat_names[] = TW_STAT_NAMES;

_Static_assert(ARRAY_SIZE(stat_names) == TW_NR_STATS, "a name for every BPF counter");

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
void report_json_str(FILE *f, const char *str)
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

void report_json_name(FILE *f, const char *name, int json_version)
{
	fputc('"', f);
	for (const char *p = name; *p; p++)
		fputc(*p == '-' && json_version >= 2 ? '_' : *p, f);
	fputc('"', f);
}

/* Units by verdict and their details; schema 1 also had "refused" (atomic writes refused:
 * writes, not units; schema 2 has them in "atomic" and files[].atomic_refused). */
static void json_counts(FILE *f, const struct tw_counts *c, const char *ind, int version)
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
	if (version < 2)
		fprintf(f, "%s\"refused\": %" PRIu64 ",\n", ind, c->refused);
	fprintf(f, "%s\"io_errors\": %" PRIu64 ",\n", ind, c->io_errors);
	fprintf(f, "%s\"whole_beyond_device_atomic\": %" PRIu64 ",\n", ind, c->whole_beyond_atomic);
	fprintf(f, "%s\"whole_atomic_size_unknown\": %" PRIu64 ",\n", ind, c->whole_atomic_unknown);
	fprintf(f, "%s\"modifications\": %" PRIu64 "\n", ind, c->modified);
}

/*
 * [{"lo": .., "hi": .., "count": ..}] for the non-empty slots, bounds in slot units. The last
 * slot also holds everything above it: from schema 2 its "hi" is null (no bound).
 */
static void json_hist(FILE *f, const uint64_t *h, const char *lo_key, const char *hi_key,
		      const char *ind, int version)
{
	bool first = true;

	fprintf(f, "[");
	for (int i = 0; i < TW_HIST_SLOTS; i++) {
		if (!h[i])
			continue;
		fprintf(f, "%s\n%s{\"%s\": %llu, \"%s\": ", first ? "" : ",", ind, lo_key,
			i ? 1ULL << i : 0ULL, hi_key);
		if (i == TW_HIST_SLOTS - 1 && version >= 2)
			fprintf(f, "null");
		else
			fprintf(f, "%llu", 1ULL << (i + 1));
		fprintf(f, ", \"count\": %" PRIu64 "}", h[i]);
		first = false;
	}
	fprintf(f, "%s]", first ? "" : "\n    ");
}

static void report_modes_json(FILE *f, const struct tw_summary *s, int version)
{
	fprintf(f, "  \"modes\": {");
	for (int m = 0; m < TW_M_NR; m++) {
		const struct tw_mode_stats *ms = &s->modes[m];
		bool first = true;

		fprintf(f, "%s\n    ", m ? "," : "");
		report_json_name(f, tw_mode_names[m], version);
		fprintf(f, ": {\"writes\": %" PRIu64 ", \"units\": %" PRIu64 ", \"refused\": %"
			PRIu64 ", \"incomplete\": %" PRIu64 ", \"not_persisted\": %" PRIu64
			",\n      \"refused_errno\": {", ms->writes, ms->units, ms->refused,
			ms->incomplete, ms->not_persisted);
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
			json_hist(f, ms->hist[st], "lo", "hi", "        ", version);
		}
		fprintf(f, "}}");
	}
	fprintf(f, "\n  },\n  \"atomic\": {\"checked\": %" PRIu64 ", \"device_misaligned\": %" PRIu64,
		s->atomic.checked, s->atomic.device_misaligned);
	if (version >= 2)	/* schema 1: units.refused */
		fprintf(f, ", \"refused\": %" PRIu64, s->c.refused);
	fprintf(f, ", \"violations\": {");
	for (int k = 0; k < TW_AV_NR; k++)
		fprintf(f, "%s\"%s\": %" PRIu64, k ? ", " : "", tw_atomic_violation_names[k],
			s->atomic.violations[k]);
	fprintf(f, "}},\n  \"devices\": ");
	report_devices_json(f, s, version);
	fprintf(f, ",\n  \"writeback_triggers\": {");
	for (int k = 0; k < TW_TRIG_NR; k++)
		fprintf(f, "%s\"%s\": %" PRIu64, k ? ", " : "", tw_trigger_names[k], s->triggers[k]);
	fprintf(f, "},\n");
}

static void report_stable_json(FILE *f, const struct tw_summary *s, int version)
{
	const struct tw_stable *st = &s->stable;
	char dev[16];
	size_t i;

	fprintf(f, "  \"stable\": {\n    \"modified\": %" PRIu64 ",\n", st->modified);
	fprintf(f, "    \"modified_unit_unknown\": %" PRIu64 ",\n", st->unit_unknown);
	fprintf(f, "    \"waits\": %" PRIu64 ",\n", st->waits);
	fprintf(f, "    \"waits_untimed\": %" PRIu64 ",\n", st->waits_untimed);
	fprintf(f, "    \"waits_write\": %" PRIu64 ",\n    \"waits_mmap\": %" PRIu64 ",\n",
		st->waits_by_ctx[TW_WAIT_WRITE], st->waits_by_ctx[TW_WAIT_FAULT]);
	fprintf(f, "    \"waits_fsync\": %" PRIu64 ",\n    \"waits_other\": %" PRIu64 ",\n",
		st->waits_by_ctx[TW_WAIT_SYNC], st->waits_by_ctx[TW_WAIT_OTHER]);
	fprintf(f, "    \"waits_unclassified\": %" PRIu64 ",\n", st->waits_by_ctx[TW_WAIT_UNKNOWN]);
	fprintf(f, "    \"wait_ns_total\": %" PRIu64 ",\n    \"wait_hist\": ", st->wait_ns_total);
	json_hist(f, st->hist, "lo_ns", "hi_ns", "      ", version);
	fprintf(f, ",\n    \"waits_by_process\": [");
	for (i = 0; i < st->nr_procs; i++) {
		fprintf(f, "%s\n      {\"pid\": %u, \"comm\": ", i ? "," : "", st->procs[i].pid);
		report_json_str(f, st->procs[i].comm);
		fprintf(f, ", \"waits\": %" PRIu64 ", \"wait_ns\": %" PRIu64 "}", st->procs[i].waits,
			st->procs[i].wait_ns);
	}
	fprintf(f, "%s],\n", st->nr_procs ? "\n    " : "");
	if (version < 2) {	/* schema 2: devices[] has each one's stable_writes */
		fprintf(f, "    \"devices\": [");
		for (i = 0; i < st->nr_devices; i++) {
			fmt_kdev(st->devices[i].dev, dev, sizeof(dev));
			fprintf(f, "%s\n      {\"dev\": \"%s\", \"stable_writes\": %d}", i ? "," : "",
				dev, st->devices[i].stable_writes);
		}
		fprintf(f, "%s],\n", st->nr_devices ? "\n    " : "");
	}
	fprintf(f, "    \"modifications\": [");
	for (i = 0; i < st->nr_mods; i++) {
		const struct tw_modification *md = &st->mods[i];

		fmt_kdev(md->dev, dev, sizeof(dev));
		fprintf(f, "%s\n      {\"dev\": \"%s\", \"ino\": %" PRIu64 ", \"path\": ",
			i ? "," : "", dev, md->ino);
		report_json_str(f, md->path ? md->path : "");
		fprintf(f, ", \"index\": %" PRIu64 ", \"pages\": %u, \"off\": %" PRIu64
			", \"len\": %" PRIu64 ", \"range_known\": %s, \"mmap\": %s, \"pid\": %u, \"tid\": %u, "
			"\"comm\": ", md->index, md->nr_pages, md->off, md->len,
			md->range_known ? "true" : "false", md->mmap ? "true" : "false", md->pid,
			md->tid);
		report_json_str(f, md->comm);
		fprintf(f, ", \"stable_writes\": %d}", md->stable_writes);
	}
	fprintf(f, "%s]\n  },\n", st->nr_mods ? "\n    " : "");
}

/* "lost" (records lost, whether counters came), "bpf" (the other BPF counters), "join". */
static void json_lost_join(FILE *f, const struct tw_summary *s)
{
	size_t i;

	fprintf(f, ",\n  \"lost\": {\n    \"total\": %" PRIu64 ",\n", s->lost_total);
	fprintf(f, "    \"counters_recorded\": %s", s->have_bpf_stats ? "true" : "false");
	for (i = 0; i < TW_NR_LOST; i++)
		fprintf(f, ",\n    \"%s\": %" PRIu64, stat_names[i], s->bpf_stats[i]);
	fprintf(f, ",\n    \"engine_memory\": %" PRIu64, s->lost_memory);
	fprintf(f, "\n  },\n  \"bpf\": {\n");
	for (i = TW_NR_LOST; i < TW_NR_BPF_REPORTED; i++)
		fprintf(f, "    \"%s\": %" PRIu64 "%s\n", stat_names[i], s->bpf_stats[i],
			i + 1 < TW_NR_BPF_REPORTED ? "," : "");
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
}

/* --check's "check" object. */
static void json_check(FILE *f, const struct tw_check *c)
{
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
		fprintf(f, "%s\"%s\": %" PRIu64, k ? ", " : "", tw_fail_names[k], c->failures[k]);
	if (c->has_command)
		fprintf(f, "}, \"command_status\": %d},\n", c->command_status);
	else
		fprintf(f, "}, \"command_status\": null},\n");
}

/* "files": each traced file's counts, exposure and verdicts. */
static void json_files(FILE *f, const struct tw_summary *s, int version)
{
	char dev[16];

	fprintf(f, "  \"files\": [");
	for (size_t i = 0; i < s->nr_files; i++) {
		const struct tw_file_stat *fs = s->files[i];

		fmt_kdev(fs->dev, dev, sizeof(dev));
		fprintf(f, "%s\n    {\n      \"path\": ", i ? "," : "");
		report_json_str(f, fs->path);
		fprintf(f, ",\n      \"dev\": \"%s\",\n      \"ino\": %" PRIu64 ",\n", dev, fs->ino);
		fprintf(f, "      \"deleted\": %s,\n", fs->deleted ? "true" : "false");
		fprintf(f, "      \"writes\": %" PRIu64 ",\n      \"bytes\": %" PRIu64 ",\n",
			fs->writes, fs->bytes);
		fprintf(f, "      \"units\": %" PRIu64 ",\n", tw_units_total(&fs->c));
		fprintf(f, "      \"split\": %" PRIu64 ",\n", fs->c.verdict[TW_V_SPLIT]);
		if (version >= 2)
			fprintf(f, "      \"atomic_refused\": %" PRIu64 ",\n", fs->c.refused);
		fprintf(f, "      \"exposure\": ");
		report_exposure_json(f, &fs->exposure, s);
		fprintf(f, ",\n      \"verdicts\": {\n");
		json_counts(f, &fs->c, "        ", version);
		fprintf(f, "      }\n    }");
	}
	fprintf(f, "%s]\n}\n", s->nr_files ? "\n  " : "");
}

void report_json(FILE *f, const struct tw_summary *s, const struct tw_report_meta *m)
{
	int version = m->json_version ? m->json_version : TW_JSON_SCHEMA;

	fprintf(f, "{\n  \"version\": ");
	report_json_str(f, TW_VERSION);
	fprintf(f, ",\n  \"schema\": %d,\n  \"source\": ", version);
	report_json_str(f, m->source);
	fprintf(f, ",\n  \"kernel\": ");
	report_json_str(f, m->kernel);
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
	json_counts(f, &s->c, "    ", version);
	fprintf(f, "  },\n  \"exposure\": ");
	report_exposure_run_json(f, s);
	json_lost_join(f, s);
	if (m->check)
		json_check(f, m->check);
	report_modes_json(f, s, version);
	report_stable_json(f, s, version);
	json_files(f, s, version);
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

	return outfile_write(path, "--json", fill_json, &j, err, errlen);
}
