/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fusehold's request log (--log, --log-data): what the "device" received, in the order of
 * the replies, for tests/crash/ to rebuild disk images after simulated power cuts.
 * The caller serialises the append calls (fusehold holds its mutex around each request's
 * apply-and-log), so the log's order is the order the backing file saw the changes.
 *
 * Lines (times: CLOCK_MONOTONIC ns, the clock of bpf_ktime_get_ns):
 *   # fusehold-log 1 size SIZE            first line
 *   # max_write BYTES max_background N    once FUSE is initialised
 *   W SEQ RECV_NS REPLY_NS OFF LEN DATA_OFF CRC32   a write; its bytes at DATA_OFF of --log-data
 *   F SEQ RECV_NS REPLY_NS                a fsync (the loop driver's REQ_OP_FLUSH)
 *   Z SEQ RECV_NS REPLY_NS OFF LEN MODE   a fallocate (discard, write-zeroes); MODE in hex
 * CRC32 is zlib's crc32 of the written bytes, in hex. SEQ is taken when the request arrives.
 */
#ifndef TW_TESTS_FUSEHOLD_LOG_H
#define TW_TESTS_FUSEHOLD_LOG_H

#include <stddef.h>
#include <stdint.h>

struct devlog;

uint64_t devlog_now_ns(void);

/* Both files created or truncated; NULL (a message printed) on failure. */
struct devlog *devlog__open(const char *log_path, const char *data_path, uint64_t size);
void devlog__free(struct devlog *l);

/* The next sequence number (thread safe, no lock needed). */
uint64_t devlog__next_seq(struct devlog *l);

/* A comment line ("# ..." is added): facts about the device. 0 or -1. */
int devlog__note(struct devlog *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append the bytes of a write to the data file: their offset there, or -1 (printed). */
int64_t devlog__data(struct devlog *l, const void *buf, size_t len);

/* Append one line each; 0, or -1 with the reason printed on stderr. */
int devlog__write(struct devlog *l, uint64_t seq, uint64_t recv_ns, uint64_t reply_ns,
		  uint64_t off, uint64_t len, int64_t data_off, const void *buf);
int devlog__fsync(struct devlog *l, uint64_t seq, uint64_t recv_ns, uint64_t reply_ns);
int devlog__fallocate(struct devlog *l, uint64_t seq, uint64_t recv_ns, uint64_t reply_ns,
		      uint64_t off, uint64_t len, int mode);

#endif
