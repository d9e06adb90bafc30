// SPDX-License-Identifier: GPL-2.0
/* The --record file (docs/record-format.md): the recorder that writes the records behind a
 * header, and the replay that reads them back, untrusted, into a tracker. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "common.h"
#include "outfile.h"
#include "record.h"
#include "tornwatch.h"
#include "tracker.h"

struct tw_recorder {
	struct outfile *of;	/* a regular file grows under a temporary name until the end */
	FILE *f;
	int err;
};

struct tw_recorder *recorder__open(const char *path, uint64_t unit_size, const char *kernel,
				   char *err, size_t errlen)
{
	struct tw_record_file_hdr h = { .version = TW_RECORD_VERSION, .hdr_size = sizeof(h) };
	struct tw_recorder *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "--record: out of memory");
		return NULL;
	}
	r->of = outfile__open(path, "--record", err, errlen);
	if (!r->of) {
		free(r);
		return NULL;
	}
	r->f = outfile__stream(r->of);
	memcpy(h.magic, TW_RECORD_MAGIC, sizeof(h.magic));
	h.unit_size = unit_size;
	h.start_realtime_ns = clock_ns(CLOCK_REALTIME);
	snprintf(h.kernel, sizeof(h.kernel), "%s", kernel);
	recorder__write(r, &h, sizeof(h));
	return r;
}

int recorder__write(struct tw_recorder *r, const void *rec, size_t len)
{
	if (!r->err && fwrite(rec, len, 1, r->f) != 1)
		r->err = outfile__error(r->of) ? -outfile__error(r->of) : -EIO;
	return r->err;
}

int recorder__close(struct tw_recorder *r)
{
	char msg[256];
	int err;

	if (!r)
		return 0;
	if (r->err) {
		err = r->err;
		outfile__discard(r->of);
	} else {
		err = outfile__commit(r->of, msg, sizeof(msg));
	}
	free(r);
	return err;
}

void recorder__discard(struct tw_recorder *r)
{
	if (!r)
		return;
	outfile__discard(r->of);
	free(r);
}

struct tracker *replay_file(const char *path, uint64_t max_units, uint64_t *unit_size,
			    char *kernel, size_t kernel_len, char *err, size_t errlen)
{
	struct tw_replay_opts ro = { .max_units = max_units };
	struct tw_replay_info info;
	struct tracker *t = replay_file_prepared(path, &ro, &info, err, errlen);

	*unit_size = info.unit_size;
	snprintf(kernel, kernel_len, "%s", info.kernel);
	return t;
}

/* A --unit from a file header: what opts.c accepts (0, or a power of two 512..1 MiB). */
static bool unit_ok(uint64_t u)
{
	return !u || (u >= TW_UNIT_MIN && u <= TW_UNIT_MAX && !(u & (u - 1)));
}

/* The file header, checked: a tornwatch record of this format and a sane unit size. */
static int read_header(FILE *f, const char *name, struct tw_record_file_hdr *h, char *err,
		       size_t errlen)
{
	size_t n;

	n = fread(h, 1, sizeof(*h), f);
	if (n == 0) {
		snprintf(err, errlen, "--replay: %s is empty; give a file made by --record", name);
		return -1;
	}
	if (n < sizeof(h->magic) || memcmp(h->magic, TW_RECORD_MAGIC, sizeof(h->magic))) {
		snprintf(err, errlen, "--replay: %s is not a tornwatch record; give a file made by "
			 "--record", name);
		return -1;
	}
	if (n >= offsetof(struct tw_record_file_hdr, hdr_size) && h->version > TW_RECORD_VERSION) {
		snprintf(err, errlen, "--replay: %s has record format %u, newer than this "
			 "tornwatch's %u: replay it with the tornwatch that recorded it", name,
			 h->version, TW_RECORD_VERSION);
		return -1;
	}
	if (n < offsetof(struct tw_record_file_hdr, hdr_size) ||
	    h->version < TW_RECORD_VERSION_MIN) {
		snprintf(err, errlen, "--replay: %s has record format %u; this tornwatch reads %u "
			 "to %u only: replay it with the tornwatch that recorded it, or record again",
			 name, n < offsetof(struct tw_record_file_hdr, hdr_size) ? 0 : h->version,
			 TW_RECORD_VERSION_MIN, TW_RECORD_VERSION);
		return -1;
	}
	if (n < sizeof(*h) || h->hdr_size != sizeof(*h)) {
		snprintf(err, errlen, "--replay: %s: the file header is truncated or corrupt "
			 "(%zu of %zu bytes, header size %u)", name, n, sizeof(*h),
			 n < offsetof(struct tw_record_file_hdr, unit_size) ? 0 : h->hdr_size);
		return -1;
	}
	if (!unit_ok(h->unit_size)) {
		snprintf(err, errlen, "--replay: %s: the header's unit size %" PRIu64 " is corrupt "
			 "(0 or a power of two from 512 to 1m)", name, (uint64_t)h->unit_size);
		return -1;
	}
	return 0;
}

struct tracker *replay_stream(FILE *f, const char *name, const struct tw_replay_opts *ro,
			      struct tw_replay_info *info, char *err, size_t errlen)
{
	struct tw_record_file_hdr h;
	union {
		struct tw_hdr h;
		char buf[TW_RECORD_MAX];
	} rec;
	struct tracker *t;
	uint64_t at = sizeof(h), first_ts = 0, last_ts = 0;
	size_t n;

	memset(info, 0, sizeof(*info));
	if (read_header(f, name, &h, err, errlen))
		return NULL;
	info->unit_size = h.unit_size;
	snprintf(info->kernel, sizeof(info->kernel), "%.*s", (int)sizeof(h.kernel), h.kernel);
	t = tracker__new(h.unit_size, ro ? ro->max_units : 0);
	if (!t) {
		snprintf(err, errlen, "--replay: out of memory");
		return NULL;
	}
	if (ro && ro->prepare)
		ro->prepare(t, ro->ctx);
	while ((n = fread(&rec.h, 1, sizeof(rec.h), f)) == sizeof(rec.h)) {
		/* The size field decides where the next record starts: a wrong one ends the file. */
		if (rec.h.size < sizeof(rec.h) || rec.h.size > sizeof(rec)) {
			snprintf(err, errlen, "--replay: %s: corrupt record at byte %" PRIu64
				 ": size %u (records are %zu to %zu bytes); the rest cannot be read",
				 name, at, rec.h.size, sizeof(rec.h), sizeof(rec));
			goto bad;
		}
		if (rec.h.size > sizeof(rec.h) &&
		    fread(rec.buf + sizeof(rec.h), rec.h.size - sizeof(rec.h), 1, f) != 1) {
			snprintf(err, errlen, "--replay: %s is truncated: the record at byte %" PRIu64
				 " (%u bytes) ends early", name, at, rec.h.size);
			goto bad;
		}
		if (tracker__feed(t, &rec, rec.h.size)) {
			if (!info->bad++)
				info->first_bad = at;
		} else if (rec.h.ts_ns) {
			if (!first_ts || rec.h.ts_ns < first_ts)
				first_ts = rec.h.ts_ns;
			if (rec.h.ts_ns > last_ts)
				last_ts = rec.h.ts_ns;
		}
		info->records++;
		at += rec.h.size;
	}
	if (n) {
		snprintf(err, errlen, "--replay: %s is truncated: %zu bytes at byte %" PRIu64
			 " are not a whole record header", name, n, at);
		goto bad;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "--replay: %s: read error at byte %" PRIu64, name, at);
		goto bad;
	}
	info->end_realtime_ns = h.start_realtime_ns + (last_ts > first_ts ? last_ts - first_ts : 0);
	return t;
bad:
	tracker__free(t);
	return NULL;
}

struct tracker *replay_file_prepared(const char *path, const struct tw_replay_opts *ro,
				     struct tw_replay_info *info, char *err, size_t errlen)
{
	struct tracker *t;
	struct stat st;
	FILE *f;
	int fd;

	/* Defined on every failure too: replay_file() copies it out before looking at t. */
	memset(info, 0, sizeof(*info));
	/* A FIFO is fine (replay from a pipe); a directory or a device is not a record. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "--replay: cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st)) {
		snprintf(err, errlen, "--replay: cannot stat %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (!(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))) {
		snprintf(err, errlen, "--replay: %s is %s, not a record file; give a file made "
			 "by --record", path, S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
		close(fd);
		return NULL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	f = fdopen(fd, "r");
	if (!f) {
		snprintf(err, errlen, "--replay: %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	t = replay_stream(f, path, ro, info, err, errlen);
	fclose(f);
	return t;
}
