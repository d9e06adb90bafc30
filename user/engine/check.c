// SPDX-License-Identifier: GPL-2.0
/*
 * --check: the kinds --fail-on names, how many of each a run had, and the first offending
 * units or writes of each kind for the check's message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "engine.h"

const char *const tw_fail_names[TW_F_NR] = {
	[TW_F_SPLIT] = "split",		  [TW_F_MODIFIED] = "modified",
	[TW_F_MISALIGNED] = "misaligned", [TW_F_REFUSED] = "refused",
	[TW_F_PENDING] = "pending",	  [TW_F_LOST] = "lost",
	[TW_F_UNTRACKED] = "untracked",	  [TW_F_INFERRED] = "inferred",
	[TW_F_EXPOSED] = "exposed",
};

int tw_parse_fail_on(const char *list, uint32_t *mask, char *err, size_t errlen)
{
	const char *p = list;

	*mask = 0;
	while (p && *p) {
		size_t n = strcspn(p, ",");
		int k;

		if (!n || (p[n] == ',' && !p[n + 1])) {
			snprintf(err, errlen, "--fail-on: '%s' has an empty kind; give a comma list "
				 "without empty items, e.g. split,modified,lost", list);
			return -1;
		}
		for (k = 0; k < TW_F_NR; k++)
			if (strlen(tw_fail_names[k]) == n && !strncmp(p, tw_fail_names[k], n))
				break;
		if (k == TW_F_NR) {
			snprintf(err, errlen, "--fail-on: unknown kind '%.*s'; give a comma list of "
				 "split,modified,misaligned,refused,pending,lost,untracked,inferred,"
				 "exposed", (int)n, p);
			return -1;
		}
		*mask |= 1u << k;
		p += n;
		if (*p == ',')
			p++;
	}
	if (!*mask) {
		snprintf(err, errlen, "--fail-on: empty list; give e.g. split,modified,lost");
		return -1;
	}
	return 0;
}

uint64_t tw_fail_count(const struct tw_summary *s, enum tw_fail_kind k)
{
	switch (k) {
	case TW_F_SPLIT: return s->c.verdict[TW_V_SPLIT];
	case TW_F_MODIFIED: return s->c.verdict[TW_V_MODIFIED];
	case TW_F_MISALIGNED: return s->c.misaligned + s->atomic.device_misaligned;
	case TW_F_REFUSED: return s->c.refused;
	case TW_F_PENDING: return s->c.verdict[TW_V_PENDING];
	case TW_F_LOST: return s->lost_total;
	case TW_F_UNTRACKED: return s->c.untracked;
	case TW_F_INFERRED: return s->join.units_inferred;
	case TW_F_EXPOSED: return s->exposure.units;
	case TW_F_NR: break;
	}
	return 0;
}

/* The first TW_MAX_OFFENDERS offending units or writes of each kind (t->check). */
struct check {
	struct {
		struct file_ent *f;
		uint64_t off, len;
		int64_t err;
	} offenders[TW_F_NR][TW_MAX_OFFENDERS];
	uint32_t nr_offenders[TW_F_NR];
};

struct check *check__new(void)
{
	return calloc(1, sizeof(struct check));
}

void check__free(struct check *c)
{
	free(c);
}

void note_offender(struct tracker *t, enum tw_fail_kind k, struct file_ent *f, uint64_t off,
		   uint64_t len, int64_t err)
{
	struct check *c = t->check;
	uint32_t n = c->nr_offenders[k];

	if (n >= TW_MAX_OFFENDERS)
		return;
	c->offenders[k][n].f = f;
	c->offenders[k][n].off = off;
	c->offenders[k][n].len = len;
	c->offenders[k][n].err = err;
	c->nr_offenders[k] = n + 1;
}

/* The offenders for the summary: their files' paths, valid with it. */
void summarize_check(struct tracker *t, struct tw_summary *s)
{
	struct check *c = t->check;

	for (int k = 0; k < TW_F_NR; k++) {
		s->nr_offenders[k] = c->nr_offenders[k];
		for (uint32_t i = 0; i < c->nr_offenders[k]; i++) {
			struct file_ent *f = c->offenders[k][i].f;

			s->offenders[k][i] = (struct tw_offender){
				.path = f && f->st.path[0] ? f->st.path : "?",
				.off = c->offenders[k][i].off, .len = c->offenders[k][i].len,
				.err = c->offenders[k][i].err,
			};
		}
	}
}
