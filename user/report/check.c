// SPDX-License-Identifier: GPL-2.0
/* --check: its verdict from the summary (which failure kinds counted, passed or not) and the
 * lines on stderr that name each failing kind's first offenders. Pure logic. */
#include <inttypes.h>
#include "report.h"

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
