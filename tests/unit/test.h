/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny harness in the spirit of the BPF selftests' ASSERT_* macros: each
 * assertion prints what was expected and what came, and returns false from
 * the case so a failure stops only that case. Output is TAP-like, one line
 * per case, counted by tests/run.sh.
 */
#ifndef TW_TEST_H
#define TW_TEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Unused where only the assertions are (fixture.c's helpers): RUN() counts, in the tests. */
static int test_failed __attribute__((unused)), test_passed __attribute__((unused));

#define ASSERT_EQ(actual, expected, name)                                                          \
	do {                                                                                       \
		long long __a = (long long)(actual), __e = (long long)(expected);                  \
		if (__a != __e) {                                                                  \
			fprintf(stderr, "    %s:%d: %s: expected %lld, got %lld\n", __FILE__,          \
				__LINE__, name, __e, __a);                                         \
			return false;                                                              \
		}                                                                                  \
	} while (0)

#define ASSERT_TRUE(cond, name)                                                                    \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "    %s:%d: %s: expected true: %s\n", __FILE__, __LINE__,      \
				name, #cond);                                                      \
			return false;                                                              \
		}                                                                                  \
	} while (0)

#define ASSERT_STREQ(actual, expected, name)                                                       \
	do {                                                                                       \
		const char *__a = (actual), *__e = (expected);                                     \
		if (strcmp(__a, __e)) {                                                            \
			fprintf(stderr, "    %s:%d: %s: expected \"%s\", got \"%s\"\n", __FILE__,      \
				__LINE__, name, __e, __a);                                         \
			return false;                                                              \
		}                                                                                  \
	} while (0)

#define RUN(fn)                                                                                    \
	do {                                                                                       \
		if (fn()) {                                                                        \
			test_passed++;                                                             \
			printf("ok - %s\n", #fn);                                                  \
		} else {                                                                           \
			test_failed++;                                                             \
			printf("not ok - %s\n", #fn);                                              \
		}                                                                                  \
		fflush(stdout);                                                                    \
	} while (0)

#define TEST_EXIT() (test_failed ? 1 : 0)

#endif
