/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The --record file: a header, then the records exactly as the ring buffer
 * delivered them (see bpf/tornwatch.h and docs/record-format.md).
 */
#ifndef TW_RECORD_H
#define TW_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#define TW_RECORD_MAGIC "TORNWREC"

struct tw_record_file_hdr {
	char magic[8];		/* "TORNWREC" */
	__u32 version;		/* TW_RECORD_VERSION */
	__u32 hdr_size;		/* sizeof(struct tw_record_file_hdr) */
	__u64 unit_size;	/* --unit of the run, 0 for atomic writes only */
	__u64 start_realtime_ns;
	char kernel[64];	/* uname -r of the traced host */
};

_Static_assert(sizeof(struct tw_record_file_hdr) == 96, "record file header layout");

struct tw_recorder;

struct tw_recorder *recorder__open(const char *path, uint64_t unit_size, const char *kernel,
				   char *err, size_t errlen);
int recorder__write(struct tw_recorder *r, const void *rec, size_t len);
/*
 * Flush and move into place (outfile.h: a regular file is renamed over the path, a
 * FIFO was written in place); returns -errno (a temporary file is then removed).
 */
int recorder__close(struct tw_recorder *r);
/* A failed run: remove the temporary file, leave the path as it was. */
void recorder__discard(struct tw_recorder *r);

struct tracker;

/*
 * Read a record file into a new tracker built with the file's unit size.
 * Returns NULL with a message in err. *kernel gets the recorded release.
 */
struct tracker *replay_file(const char *path, uint64_t max_units, uint64_t *unit_size,
			    char *kernel, size_t kernel_len, char *err, size_t errlen);
/* The same, with prepare(tracker, ctx) called before the first record is fed. */
struct tracker *replay_file_prepared(const char *path, uint64_t max_units,
				     void (*prepare)(struct tracker *t, void *ctx), void *ctx,
				     uint64_t *unit_size, char *kernel, size_t kernel_len,
				     char *err, size_t errlen);

#endif
