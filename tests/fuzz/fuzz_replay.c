// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: bytes as a --record file, through the path `tornwatch --replay` takes
 * (replay_stream() -> tracker__feed() per record), then every report writer and the
 * per-unit event callback. A record file is untrusted input: no input may crash, hang,
 * leak or grow memory past --max-units' bound.
 */
#include <stdint.h>
#include <stdio.h>
#include "record.h"
#include "report.h"
#include "tracker.h"

static FILE *sink;

static void on_event(void *ctx, const struct tw_unit_event *ev)
{
	report_event_text(sink, ev);
	report_event_json(sink, ev, TW_JSON_SCHEMA);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tw_replay_opts ro = { .max_units = 4096 };
	struct tw_check check = { .fail_on = ~0u };
	struct tw_report_meta m = { .source = "replay", .duration_s = -1, .top_files = 5,
				    .check = &check };
	struct tw_replay_info info;
	struct tw_summary s;
	struct tracker *t;
	char err[320];
	FILE *f;

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (!size)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	t = replay_stream(f, "fuzz", &ro, &info, err, sizeof(err));
	fclose(f);
	if (!t)
		return 0;
	m.kernel = info.kernel;
	tracker__set_events(t, true, on_event, NULL);
	tracker__finish(t);
	tracker__summary(t, &s);
	check_evaluate(&check, &s);
	report_text(sink, &s, &m);
	report_json(sink, &s, &m);
	report_prom(sink, &s, 0);
	report_check_lines(sink, &s, &check);
	tracker__free(t);
	return 0;
}
