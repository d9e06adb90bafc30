// SPDX-License-Identifier: GPL-2.0
/* Helpers every stage shares (common.h): size and number parsing with range checks and
 * messages that name the option, SIGINT/SIGTERM, dev_t formatting. No libbpf. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common.h"

uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

int parse_uint(const char *s, const char *opt, uint64_t min, uint64_t max, uint64_t *out,
	       char *err, size_t errlen)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		goto bad;
	v = strtoull(s, &end, 10);
	if (*end || end == s)
		goto bad;
	if (errno == ERANGE || v < min || v > max) {
		snprintf(err, errlen, "%s: %s is out of range; give %llu to %llu", opt, s,
			 (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
bad:
	snprintf(err, errlen, "%s: '%s' is not a number; give a decimal such as 10", opt,
		 s ? s : "");
	return -1;
}

void fmt_size_arg(uint64_t bytes, char *buf, size_t len)
{
	static const char sfx[] = "kmg";
	int i = -1;

	while (i < 2 && bytes && !(bytes & 1023)) {
		bytes >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)bytes, sfx[i]);
}

int parse_size(const char *s, const char *opt, uint64_t min, uint64_t max, uint64_t *out,
	       char *err, size_t errlen)
{
	unsigned long long v;
	uint64_t mult = 1;
	char *end, lo[24], hi[24];

	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		goto bad;
	v = strtoull(s, &end, 10);
	if (end == s)
		goto bad;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K': mult = 1ULL << 10; end++; break;
	case 'm': case 'M': mult = 1ULL << 20; end++; break;
	case 'g': case 'G': mult = 1ULL << 30; end++; break;
	default:
		goto bad;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end)
		goto bad;
	if (errno == ERANGE || v > UINT64_MAX / mult)
		goto range;
	v *= mult;
	if (v < min || v > max)
		goto range;
	*out = v;
	return 0;
range:
	fmt_size_arg(min, lo, sizeof(lo));
	fmt_size_arg(max, hi, sizeof(hi));
	snprintf(err, errlen, "%s: %s is out of range; give %s to %s", opt, s, lo, hi);
	return -ERANGE;
bad:
	snprintf(err, errlen, "%s: '%s' is not a size; give a number with an optional k/m suffix "
		 "such as 8k", opt, s ? s : "");
	return -1;
}

static volatile sig_atomic_t *stop_flagp;
static volatile sig_atomic_t signals_seen;

/*
 * The first signal stops tracing and writes the report; a second one ends tornwatch at
 * once (STYLE.md), for a tornwatch stuck at its end, e.g. on an output FIFO nobody reads.
 * Nothing stays attached either way: the kernel drops the links with the last fd.
 */
static void on_signal(int sig)
{
	if (++signals_seen >= 2)
		_exit(128 + sig);
	*stop_flagp = 1;
}

void signals_install(volatile sig_atomic_t *stop_flag)
{
	struct sigaction sa = { .sa_handler = on_signal };

	stop_flagp = stop_flag;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void fmt_kdev(uint32_t kdev, char *buf, size_t len)
{
	snprintf(buf, len, "%u:%u", kdev >> 20, kdev & ((1U << 20) - 1));
}
