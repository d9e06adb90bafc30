/* SPDX-License-Identifier: GPL-2.0 */
/* The --record file: a header, then the records exactly as the ring buffer delivered them
 * (bpf/tornwatch.h, docs/record-format.md); the recorder's lifecycle and the replay. */
#ifndef TW_RECORD_H
#define TW_RECORD_H

#include <stddef.h>
#include <stdio.h>
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

/* The largest record: every record type fits (their sizes are in engine/intake.c). */
#define TW_RECORD_MAX 512

struct tw_replay_opts {
	uint64_t max_units;
	void (*prepare)(struct tracker *t, void *ctx);	/* before the first record, or NULL */
	void *ctx;
};

struct tw_replay_info {
	uint64_t unit_size;	/* of the recorded run */
	char kernel[65];	/* uname -r of the recorded host */
	uint64_t records;
	uint64_t bad;		/* records refused by tracker__feed(): skipped, counted */
	uint64_t first_bad;	/* byte offset of the first of them */
	/* When the recorded run ended, CLOCK_REALTIME: its start (the file's header) plus the
	 * span of its records' times; the replay's Prometheus timestamp. */
	uint64_t end_realtime_ns;
};

/*
 * Read a record file (untrusted: it may come from another host) into a new tracker built
 * with the file's unit size. A record that fails validation is counted and skipped; a
 * record whose size cannot be trusted ends the replay. Returns NULL with a one-line
 * message in err, naming the byte offset where the file went wrong.
 */
struct tracker *replay_file_prepared(const char *path, const struct tw_replay_opts *ro,
				     struct tw_replay_info *info, char *err, size_t errlen);
/* The same from an open stream; name is for messages. */
struct tracker *replay_stream(FILE *f, const char *name, const struct tw_replay_opts *ro,
			      struct tw_replay_info *info, char *err, size_t errlen);
/* The simple form, for tests. */
struct tracker *replay_file(const char *path, uint64_t max_units, uint64_t *unit_size,
			    char *kernel, size_t kernel_len, char *err, size_t errlen);

#endif
