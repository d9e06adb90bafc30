/* SPDX-License-Identifier: GPL-2.0 */
/* What tests/writer.c and tests/writer_uring.c (-m uring) share. */
#ifndef TW_TESTS_WRITER_H
#define TW_TESTS_WRITER_H

#include <stdint.h>

#ifndef RWF_ATOMIC
#define RWF_ATOMIC 0x00000040
#endif
#ifndef RWF_DSYNC
#define RWF_DSYNC 0x00000002
#endif

uint64_t parse_sz(const char *s);
void die(const char *what);
void uring_writes(int fd, char *buf, uint64_t size, uint64_t count, uint64_t off0,
		  uint64_t stride, unsigned depth, const char *opts);

#endif
