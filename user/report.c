// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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
	fprintf(f, "  %-31s %12" PRIu64 "\n", "split", c->verdict[TW_V_SPLIT]);
	fprintf(f, "    %-29s %12" PRIu64 "\n", "at writeback (several bios)", c->split_writeback);
	fprintf(f, "    %-29s %12" PRIu64 "\n", "at direct I/O (several bios)", c->split_dio);
	fprintf(f, "    %-29s %12" PRIu64 "\n", "in the block layer (split)", c->split_block);
	fprintf(f, "  %-31s %12" PRIu64 "\n", "cow-atomic (XFS)", c->verdict[TW_V_COW_ATOMIC]);
	fprintf(f, "  %-31s %12" PRIu64 "\n", "superseded", c->verdict[TW_V_SUPERSEDED]);
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
		fprintf(f, "%8s %8s %8s %8s %8s %8s  %-9s %s\n", "UNITS", "WHOLE", "SPLIT", "SUPERS",
			"PENDING", "MISALIGN", "DEV", "PATH");
		for (i = 0; i < n; i++) {
			const struct tw_file_stat *fs = s->files[i];

			fmt_kdev(fs->dev, dev, sizeof(dev));
			fprintf(f, "%8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64
				" %8" PRIu64 "  %-9s %s\n",
				tw_units_total(&fs->c),
				fs->c.verdict[TW_V_WHOLE] + fs->c.verdict[TW_V_ATOMIC],
				fs->c.verdict[TW_V_SPLIT], fs->c.verdict[TW_V_SUPERSEDED],
				fs->c.verdict[TW_V_PENDING], fs->c.misaligned, dev,
				fs->path[0] ? fs->path : "?");
		}
	}

	fprintf(f, "\nLOST %-29s %12" PRIu64 "%s\n", "total", s->lost_total,
		s->have_bpf_stats ? "" : "  (no counters recorded)");
	for (i = 0; i < TW_NR_LOST; i++)
		if (s->bpf_stats[i])
			fprintf(f, "  %-31s %12" PRIu64 "\n", stat_names[i], s->bpf_stats[i]);
	fprintf(f, "JOIN records %" PRIu64 ", bad %" PRIu64 ", unknown bio %" PRIu64
		", foreign bytes %" PRIu64 ", unmatched bytes %" PRIu64 "\n",
		s->join.records, s->join.bad_records, s->join.unknown_bio, s->join.foreign_bytes,
		s->join.unmatched_bytes);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = *s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
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
	fprintf(f, "%s\"io_errors\": %" PRIu64 "\n", ind, c->io_errors);
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
	fprintf(f, "  \"units\": {\n");
	json_counts(f, &s->c, "    ");
	fprintf(f, "  },\n  \"lost\": {\n    \"total\": %" PRIu64 ",\n", s->lost_total);
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
	fprintf(f, "    \"reused_bio\": %" PRIu64 "\n  },\n", s->join.reused_bio);
	fprintf(f, "  \"files\": [");
	for (i = 0; i < s->nr_files; i++) {
		const struct tw_file_stat *fs = s->files[i];

		fmt_kdev(fs->dev, dev, sizeof(dev));
		fprintf(f, "%s\n    {\n      \"path\": ", i ? "," : "");
		json_str(f, fs->path);
		fprintf(f, ",\n      \"dev\": \"%s\",\n      \"ino\": %" PRIu64 ",\n", dev, fs->ino);
		fprintf(f, "      \"writes\": %" PRIu64 ",\n      \"bytes\": %" PRIu64 ",\n",
			fs->writes, fs->bytes);
		fprintf(f, "      \"units\": %" PRIu64 ",\n", tw_units_total(&fs->c));
		fprintf(f, "      \"split\": %" PRIu64 ",\n", fs->c.verdict[TW_V_SPLIT]);
		fprintf(f, "      \"verdicts\": {\n");
		json_counts(f, &fs->c, "        ");
		fprintf(f, "      }\n    }");
	}
	fprintf(f, "%s]\n}\n", s->nr_files ? "\n  " : "");
}

int report_json_file(const char *path, const struct tw_summary *s,
		     const struct tw_report_meta *m, char *err, size_t errlen)
{
	char *tmp = NULL;
	FILE *f;
	int rc = 0;

	if (!strcmp(path, "-")) {
		report_json(stdout, s, m);
		return fflush(stdout) ? -errno : 0;
	}
	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return -ENOMEM;
	f = fopen(tmp, "w");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "--json: cannot create %s: %s", tmp, strerror(errno));
		free(tmp);
		return rc;
	}
	report_json(f, s, m);
	if (fflush(f) || ferror(f))
		rc = -EIO;
	if (fclose(f) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc) {
		snprintf(err, errlen, "--json: cannot write %s: %s", path, strerror(-rc));
		unlink(tmp);
	}
	free(tmp);
	return rc;
}
