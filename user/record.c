// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
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
	struct timespec ts;

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
	clock_gettime(CLOCK_REALTIME, &ts);
	h.start_realtime_ns = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
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
	return replay_file_prepared(path, max_units, NULL, NULL, unit_size, kernel, kernel_len,
				    err, errlen);
}

struct tracker *replay_file_prepared(const char *path, uint64_t max_units,
				     void (*prepare)(struct tracker *t, void *ctx), void *ctx,
				     uint64_t *unit_size, char *kernel, size_t kernel_len,
				     char *err, size_t errlen)
{
	struct tw_record_file_hdr h;
	union {
		struct tw_hdr h;
		char buf[512];
	} rec;
	struct tracker *t = NULL;
	FILE *f = fopen(path, "r");
	struct stat st;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "--replay: cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (!fstat(fileno(f), &st) && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "--replay: %s is a directory; give a file made by --record",
			 path);
		goto out;
	}
	n = fread(&h, 1, sizeof(h), f);
	if (!n) {
		snprintf(err, errlen, "--replay: %s is empty; give a file made by --record (a run "
			 "that failed leaves none)", path);
		goto out;
	}
	if (n < sizeof(h.magic) || memcmp(h.magic, TW_RECORD_MAGIC, 8)) {
		snprintf(err, errlen, "--replay: %s is not a tornwatch record; give a file made by "
			 "--record", path);
		goto out;
	}
	if (n < sizeof(h)) {
		snprintf(err, errlen, "--replay: %s ends inside its header (%zu of %zu bytes); "
			 "record again", path, n, sizeof(h));
		goto out;
	}
	if (h.version > TW_RECORD_VERSION) {
		snprintf(err, errlen, "--replay: %s has record format %u, newer than this "
			 "tornwatch's %u: replay it with the tornwatch that recorded it", path,
			 h.version, TW_RECORD_VERSION);
		goto out;
	}
	if (h.version != TW_RECORD_VERSION || h.hdr_size != sizeof(h)) {
		snprintf(err, errlen, "--replay: %s has record format %u; this tornwatch reads %u "
			 "only: replay it with the tornwatch that recorded it, or record again",
			 path, h.version, TW_RECORD_VERSION);
		goto out;
	}
	*unit_size = h.unit_size;
	snprintf(kernel, kernel_len, "%.*s", (int)sizeof(h.kernel), h.kernel);
	t = tracker__new(h.unit_size, max_units);
	if (!t) {
		snprintf(err, errlen, "--replay: out of memory");
		goto out;
	}
	if (prepare)
		prepare(t, ctx);
	while ((n = fread(&rec.h, 1, sizeof(rec.h), f)) == sizeof(rec.h)) {
		if (rec.h.size < sizeof(rec.h) || rec.h.size > sizeof(rec) ||
		    (rec.h.size > sizeof(rec.h) &&
		     fread(rec.buf + sizeof(rec.h), rec.h.size - sizeof(rec.h), 1, f) != 1)) {
			snprintf(err, errlen, "--replay: %s is truncated or corrupt", path);
			tracker__free(t);
			t = NULL;
			goto out;
		}
		tracker__feed(t, &rec, rec.h.size);
	}
	if (n) {
		snprintf(err, errlen, "--replay: %s ends inside a record", path);
		tracker__free(t);
		t = NULL;
	}
out:
	fclose(f);
	return t;
}
