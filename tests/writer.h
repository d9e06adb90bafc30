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

#define STAMP_SECTOR 512
#define STAMP_MAGIC 0x31504d5453575400ULL	/* "\0TWSTMP1" */

uint64_t parse_sz(const char *s);
void die(const char *what);
/* buf holds depth slots of size bytes when stamped (then write i is version i + 1). */
void uring_writes(int fd, char *buf, uint64_t size, uint64_t count, uint64_t off0,
		  uint64_t stride, unsigned depth, const char *opts, int stamped);
/* writer_stamp.c: stamp each 512-byte sector of buf, a write of version at file offset off. */
void stamp_fill(char *buf, uint64_t size, uint64_t off, uint64_t version);

#endif
