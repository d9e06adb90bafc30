/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers every stage shares: exit codes, number and size parsing, signals, dev_t
 * formatting. No libbpf here. */
#ifndef TW_COMMON_H
#define TW_COMMON_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Exit codes (documented in README, --help and tornwatch.8). */
#define TW_EXIT_OK		0
#define TW_EXIT_CHECK_FAILED	1	/* --check: a unit failed */
#define TW_EXIT_ERROR		2	/* the tool itself failed: bad option, cannot load, not root */
#define TW_EXIT_CMD_FAILED	3	/* --check passed, but the command itself failed */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Parse "8k", "16K", "1m", "4096" into bytes (k/m/g are powers of 1024).
 * On error returns -1 (not a size) or -ERANGE (out of [min, max]) and writes a message
 * naming the option into err.
 */
int parse_size(const char *s, const char *opt, uint64_t min, uint64_t max, uint64_t *out,
	       char *err, size_t errlen);
/* A plain unsigned decimal in [min, max]. */
int parse_uint(const char *s, const char *opt, uint64_t min, uint64_t max, uint64_t *out,
	       char *err, size_t errlen);
bool is_pow2(uint64_t x);
/* clk (CLOCK_MONOTONIC: the records' clock; CLOCK_REALTIME: wall time) in ns. */
uint64_t clock_ns(clockid_t clk);
/* Bytes as parse_size() reads them back: 65536 -> "64k", 1 << 30 -> "1g", 1000 -> "1000". */
void fmt_size_arg(uint64_t bytes, char *buf, size_t len);

/* SIGINT/SIGTERM set the flag; a second one changes nothing, a third ends the process. */
void signals_install(volatile sig_atomic_t *stop_flag);

/* Kernel dev_t (major << 20 | minor) to "maj:min". */
void fmt_kdev(uint32_t kdev, char *buf, size_t len);

#endif
