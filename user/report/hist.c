// SPDX-License-Identifier: GPL-2.0
/* The one log2 histogram printer, biolatency's shape, for the text reports; and the slot
 * sum that the text, interval and Prometheus writers take of a histogram. Pure formatting. */
#include <inttypes.h>
#include "common.h"
#include "report.h"

/* "512ns", "16us", "2ms", "4s": a log2 bucket bound, readable. */
static void fmt_ns(uint64_t ns, char *buf, size_t len)
{
	static const struct {
		uint64_t div;
		const char *unit;
	} u[] = { { 1000000000ULL, "s" }, { 1000000, "ms" }, { 1000, "us" }, { 1, "ns" } };

	for (size_t i = 0; i < ARRAY_SIZE(u); i++) {
		if (ns >= u[i].div || u[i].div == 1) {
			snprintf(buf, len, "%" PRIu64 "%s", ns / u[i].div, u[i].unit);
			return;
		}
	}
}

/* The one log2 histogram printer: slot i counts values in [2^i, 2^(i+1)) x unit_ns. */
void report_log2_hist(FILE *f, const uint64_t *slots, int nr, uint64_t unit_ns, const char *indent)
{
	uint64_t max = 0;
	int first = -1, last = -1;
	char lo[32], hi[32];

	for (int i = 0; i < nr; i++) {
		if (!slots[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (slots[i] > max)
			max = slots[i];
	}
	if (first < 0) {
		fprintf(f, "%s(none)\n", indent);
		return;
	}
	for (int i = first; i <= last; i++) {
		int stars = (int)(slots[i] * 40 / max);

		fmt_ns(i ? (1ULL << i) * unit_ns : 0, lo, sizeof(lo));
		fmt_ns((1ULL << (i + 1)) * unit_ns, hi, sizeof(hi));
		fprintf(f, "%s%8s -> %-8s %10" PRIu64 " |%-40.*s|\n", indent, lo, hi, slots[i], stars,
			"****************************************");
	}
}

uint64_t report_hist_sum(const uint64_t *h)
{
	uint64_t n = 0;

	for (int i = 0; i < TW_HIST_SLOTS; i++)
		n += h[i];
	return n;
}
