/* SPDX-License-Identifier: GPL-2.0 */
/* The safe output writer: every option that writes a file opens it here, checked before
 * tracing, replaced by a rename or written in place. Pure C, no libbpf. */
/*
 * Output files: every option that writes a file (--json, --prom, --record, and any
 * later one) opens it here, so that all of them treat a path the same way:
 *
 * - a regular file, or a path that does not exist yet, is written through a temporary
 *   file created exclusively (O_CREAT|O_EXCL|O_NOFOLLOW, random name) in the same
 *   directory, fsync'ed, renamed over the path, and the directory fsync'ed: a reader
 *   sees the old file or the whole new one, never half of it;
 * - a character device (/dev/null), a FIFO or a socket is written in place: no
 *   temporary file, no rename, no truncation;
 * - "-", /dev/stdout and /dev/fd/1 are standard output, /dev/stderr and /dev/fd/2
 *   standard error;
 * - a symbolic link as the last component, a directory or a block device is refused.
 *
 * Pure C, no libbpf: unit-tested without root.
 */
#ifndef TW_OUTFILE_H
#define TW_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

enum outfile_kind {
	OUTFILE_REPLACE,	/* regular file, or not there yet: temporary file + rename */
	OUTFILE_STDOUT,		/* "-", /dev/stdout, /dev/fd/1 */
	OUTFILE_STDERR,		/* /dev/stderr, /dev/fd/2 */
	OUTFILE_IN_PLACE,	/* character device, FIFO, socket: written as it is */
	OUTFILE_REFUSED,	/* symbolic link, directory, block device, no file name */
};

/* "-", /dev/stdout or /dev/fd/1. NULL is not. */
bool outfile_is_stdout(const char *path);

/*
 * How path is written, from its name and what lstat() said of it: lstat_errno is 0
 * (then mode is st_mode) or lstat's errno. For OUTFILE_REFUSED, *why says why (a
 * phrase such as "is a symbolic link; ..."), for the others NULL.
 */
enum outfile_kind outfile_kind_of(const char *path, int lstat_errno, mode_t mode,
				  const char **why);

/*
 * Can path be written, without writing it? Nothing is created or truncated at path;
 * for a file to replace, a temporary file is created exclusively in its directory and
 * removed. 0, or -errno with a one-line message naming opt and path in err.
 */
int outfile_check(const char *path, const char *opt, char *err, size_t errlen);

/* Create name in dirfd, O_CREAT|O_EXCL|O_NOFOLLOW: an existing name (a planted link) is -EEXIST. */
int outfile_open_excl(int dirfd, const char *name, mode_t mode);

struct outfile;

/* Open path for writing as its kind says (a FIFO blocks until a reader opens it). */
struct outfile *outfile__open(const char *path, const char *opt, char *err, size_t errlen);
/* The stream to write to; its write errors are kept and reported by outfile__commit(). */
FILE *outfile__stream(const struct outfile *of);
/* The first write error (an errno), or 0. */
int outfile__error(const struct outfile *of);
/*
 * Flush, and for a replaced file fsync, rename over the path and fsync the directory.
 * Frees of. 0, or -errno of the first failure with a one-line message in err; the path
 * is then left as it was (a replaced file's temporary file is removed).
 */
int outfile__commit(struct outfile *of, char *err, size_t errlen);
/* Give up: remove the temporary file, leave the path as it was. Frees of. */
void outfile__discard(struct outfile *of);

/*
 * Write path whole as its kind says: open it, let fill() write the stream, commit (a
 * regular file through a temporary one and a rename, so a reader never sees half of it; a
 * device or FIFO in place). opt names the option in messages. 0, or -errno with err set.
 */
int outfile_write(const char *path, const char *opt, void (*fill)(FILE *f, const void *ctx),
		  const void *ctx, char *err, size_t errlen);

struct tw_opts;

/* Check every output option before tracing starts (a new output option goes here). */
int outputs_check(const struct tw_opts *o, char *err, size_t errlen);

#endif
