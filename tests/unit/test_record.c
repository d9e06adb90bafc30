// SPDX-License-Identifier: GPL-2.0
/*
 * Untrusted records: tracker__feed() refuses a record whose fields go past what the kernel
 * can send (counted in join.bad_records, nothing else changes), and the --replay reader
 * names the byte offset where a file goes wrong. docs/record-format.md lists the limits.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "record.h"
#include "tornwatch.h"
#include "tracker.h"
#include "test.h"

#define DEV ((7u << 20) | 3)
#define INO 12ULL
#define SET(e, ty) ((e).h = (struct tw_hdr){ .type = (ty), .size = sizeof(e), .pid = 100, \
					     .tid = 101, .ts_ns = 1 })

/* feeds REC to a fresh tracker: 0 or -EINVAL, and how many bad records it counted */
static int feed_one(const void *rec, uint64_t *bad)
{
	struct tracker *t = tracker__new(8192, 100);
	const struct tw_hdr *h = rec;
	struct tw_summary s;
	int ret;

	ret = tracker__feed(t, rec, h->size);
	tracker__finish(t);
	tracker__summary(t, &s);
	*bad = s.join.bad_records;
	tracker__free(t);
	return ret;
}

#define EXPECT_FEED(rec, want, name)                                                      \
	do {                                                                               \
		uint64_t __bad;                                                            \
		int __r = feed_one(&(rec), &__bad);                                        \
		ASSERT_EQ(__r, (want) ? 0 : -EINVAL, name);                                \
		ASSERT_EQ(__bad, (want) ? 0 : 1, name ": bad_records");                    \
	} while (0)

static bool test_write_bounds(void)
{
	struct tw_write_ev w = { .ino = INO, .dev = DEV, .iovcnt = 1 };
	struct tw_dio_ev d = { .ino = INO, .dev = DEV };
	struct tw_cow_ev c = { .ino = INO, .dev = DEV };

	SET(w, TW_EV_WRITE_BEGIN);
	w.count = TW_MAX_RW;
	EXPECT_FEED(w, true, "a write of MAX_RW_COUNT");
	w.count = TW_MAX_RW + 1;
	EXPECT_FEED(w, false, "a write past MAX_RW_COUNT");
	w.count = 8192;
	w.pos = TW_MAX_LOFF - 8192;
	EXPECT_FEED(w, true, "a write ending at the largest offset");
	w.pos = TW_MAX_LOFF - 4096;
	EXPECT_FEED(w, false, "a write ending past it");
	w.pos = ~0ULL - 100;
	EXPECT_FEED(w, false, "a write whose end wraps");
	w.pos = 0;
	w.iovcnt = TW_MAX_IOV + 1;
	EXPECT_FEED(w, false, "more iovecs than UIO_MAXIOV");
	SET(d, TW_EV_DIO_BEGIN);
	d.count = 1ULL << 40;
	EXPECT_FEED(d, false, "a direct write of 1 TiB");
	SET(c, TW_EV_ATOMIC_COW);
	c.off = ~0ULL;
	c.count = 4096;
	EXPECT_FEED(c, false, "a CoW record whose end wraps");
	return true;
}

static bool test_bio_bounds(void)
{
	struct tw_bio_ev b = { .bio = 0xb1, .dev = DEV, .size = 16384, .nr_ext = 2 };
	struct tw_rq_ev r = { .rq = 0xa1, .bio = 0xb1, .dev = DEV };

	SET(b, TW_EV_BIO_QUEUE);
	b.ext[0] = (struct tw_ext){ .ino = INO, .off = 0, .len = 8192, .dev = DEV };
	b.ext[1] = (struct tw_ext){ .ino = INO, .off = 65536, .len = 8192, .dev = DEV };
	EXPECT_FEED(b, true, "two extents filling the bio");
	b.ext[1].len = 8193;
	EXPECT_FEED(b, false, "extents longer than the bio");
	b.ext[1].len = 8192;
	b.ext[1].off = ~0ULL - 4096;
	EXPECT_FEED(b, false, "an extent whose end wraps");
	b.ext[1].off = 65536;
	b.nr_ext = TW_MAX_EXT + 1;
	EXPECT_FEED(b, false, "more extents than a record holds");
	b.nr_ext = 2;
	b.sector = ~0ULL;
	EXPECT_FEED(b, false, "a sector past the largest byte offset");
	SET(r, TW_EV_RQ_ISSUE);
	r.sector = 1ULL << 60;
	EXPECT_FEED(r, false, "a request sector past the largest byte offset");
	return true;
}

static bool test_page_bounds(void)
{
	struct tw_modified_ev m = { .ino = INO, .dev = DEV, .len = 4096, .nr_pages = 1 };
	struct tw_wait_begin_ev w = { .ino = INO, .dev = DEV };
	struct tw_discard_ev d = { .ino = INO, .dev = DEV, .len = 4096 };
	struct tw_wb_ev b = { .ino = INO, .dev = DEV, .len = 4096 };

	SET(m, TW_EV_MODIFIED);
	EXPECT_FEED(m, true, "a modified page");
	m.len = TW_MAX_FOLIO + 1;
	EXPECT_FEED(m, false, "a modified range larger than a folio");
	m.len = 4096;
	m.nr_pages = 1u << 30;
	EXPECT_FEED(m, false, "a folio of 2^30 pages");
	SET(w, TW_EV_WAIT_BEGIN);
	w.nr_stack = TW_STACK_DEPTH + 1;
	EXPECT_FEED(w, false, "a stack deeper than the record");
	w.nr_stack = 0;
	w.index = ~0ULL;
	EXPECT_FEED(w, false, "a page index past the largest offset");
	SET(d, TW_EV_DISCARD);
	EXPECT_FEED(d, true, "a discarded folio");
	d.len = 1ULL << 40;
	EXPECT_FEED(d, false, "a discarded folio of 1 TiB");
	SET(b, TW_EV_WB_START);
	b.len = 1ULL << 40;
	EXPECT_FEED(b, false, "a folio's writeback of 1 TiB");
	b.flags = TW_WB_PASS;
	b.len = ~0ULL;
	EXPECT_FEED(b, true, "a cyclic writepages pass (the whole file)");
	return true;
}

static bool test_device_table_bounded(void)
{
	struct tracker *t = tracker__new(8192, 100);
	struct tw_device_ev d = { 0 };
	struct tw_summary s;
	int refused = 0;

	SET(d, TW_EV_DEVICE);
	for (uint32_t i = 0; i < TW_MAX_DEVICES + 10; i++) {
		d.dev = i;
		refused += tracker__feed(t, &d, sizeof(d)) == -EINVAL;
	}
	d.dev = 5;	/* one already known: not a new entry */
	refused += tracker__feed(t, &d, sizeof(d)) == -EINVAL;
	tracker__summary(t, &s);
	tracker__free(t);
	ASSERT_EQ(refused, 10, "devices past the table's bound refused");
	ASSERT_EQ(s.join.bad_records, 10, "and counted");
	return true;
}

/* ---- the reader ---- */

static void *file_hdr(uint64_t unit, size_t *len)
{
	static struct tw_record_file_hdr h;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, TW_RECORD_MAGIC, sizeof(h.magic));
	h.version = TW_RECORD_VERSION;
	h.hdr_size = sizeof(h);
	h.unit_size = unit;
	snprintf(h.kernel, sizeof(h.kernel), "6.18-test");
	*len = sizeof(h);
	return &h;
}

/* Replays the bytes: returns the tracker (or NULL with err). */
static struct tracker *replay_bytes(const void *buf, size_t len, struct tw_replay_info *info,
				    char *err, size_t errlen)
{
	struct tw_replay_opts ro = { .max_units = 100 };
	FILE *f = fmemopen((void *)buf, len, "r");
	struct tracker *t;

	if (!f)
		return NULL;
	t = replay_stream(f, "r.twr", &ro, info, err, errlen);
	fclose(f);
	return t;
}

struct image {
	char b[4096];
	size_t n;
};

static void put(struct image *im, const void *p, size_t len)
{
	memcpy(im->b + im->n, p, len);
	im->n += len;
}

static void put_write(struct image *im, uint64_t pos, uint64_t count)
{
	struct tw_write_ev w = { .ino = INO, .dev = DEV, .pos = pos, .count = count,
				 .iovcnt = 1 };

	SET(w, TW_EV_WRITE_BEGIN);
	put(im, &w, sizeof(w));
}

static bool expect_refused(struct image *im, const char *needle)
{
	struct tw_replay_info info;
	char err[320] = "";
	struct tracker *t = replay_bytes(im->b, im->n, &info, err, sizeof(err));

	tracker__free(t);
	ASSERT_TRUE(t == NULL, needle);
	if (!strstr(err, needle)) {
		fprintf(stderr, "    message '%s' lacks '%s'\n", err, needle);
		return false;
	}
	ASSERT_TRUE(!strchr(err, '\n'), "one line");
	return true;
}

static bool test_reader_names_the_offset(void)
{
	struct image im = { .n = 0 };
	struct tw_hdr h = { .type = TW_EV_WRITE_BEGIN, .size = 4096 };
	size_t len;
	void *fh = file_hdr(8192, &len);

	ASSERT_TRUE(expect_refused(&im, "r.twr is empty"), "empty");
	put(&im, fh, len);
	put_write(&im, 0, 8192);
	put(&im, &h, sizeof(h));	/* at byte 96 + 96 = 192 */
	ASSERT_TRUE(expect_refused(&im, "corrupt record at byte 192: size 4096"), "bad size");
	im.n = len + sizeof(struct tw_write_ev);
	put_write(&im, 8192, 8192);
	im.n -= 10;			/* the second write, cut */
	ASSERT_TRUE(expect_refused(&im, "truncated: the record at byte 192 (96 bytes)"), "cut");
	im.n = len + sizeof(struct tw_write_ev) + 10;	/* ten stray bytes */
	ASSERT_TRUE(expect_refused(&im, "10 bytes at byte 192 are not a whole record header"),
		    "stray bytes");
	im.n = 0;
	put(&im, file_hdr(3, &len), len);
	ASSERT_TRUE(expect_refused(&im, "the header's unit size 3 is corrupt"), "unit 3");
	im.n = 0;
	put(&im, file_hdr(8192, &len), 50);
	ASSERT_TRUE(expect_refused(&im, "file header is truncated"), "short header");
	return true;
}

static bool test_reader_skips_bad_records(void)
{
	struct image im = { .n = 0 };
	struct tw_replay_info info;
	struct tw_summary s;
	struct tracker *t;
	char err[320] = "";
	size_t len;
	void *fh = file_hdr(8192, &len);

	put(&im, fh, len);
	put_write(&im, 0, 8192);
	put_write(&im, 0, 1ULL << 40);	/* at byte 192: refused, skipped */
	put_write(&im, 8192, 8192);
	put_write(&im, ~0ULL, 8192);	/* at byte 360 */
	t = replay_bytes(im.b, im.n, &info, err, sizeof(err));
	ASSERT_TRUE(t != NULL, err);
	tracker__finish(t);
	tracker__summary(t, &s);
	tracker__free(t);
	ASSERT_EQ(info.records, 4, "records read");
	ASSERT_EQ(info.bad, 2, "records skipped");
	ASSERT_EQ(info.first_bad, 192, "the first skipped, by byte offset");
	ASSERT_EQ(s.join.bad_records, 2, "counted in the report");
	ASSERT_EQ(s.c.verdict[TW_V_PENDING], 2, "the good writes are units");
	return true;
}

static bool test_reader_refuses_a_directory(void)
{
	char dir[] = "/tmp/tw-rec-XXXXXX", err[320] = "", kernel[65];
	uint64_t unit;
	struct tracker *t;

	ASSERT_TRUE(mkdtemp(dir) != NULL, "mkdtemp");
	t = replay_file(dir, 100, &unit, kernel, sizeof(kernel), err, sizeof(err));
	rmdir(dir);
	ASSERT_TRUE(t == NULL, "refused");
	ASSERT_TRUE(strstr(err, "is a directory, not a record file") != NULL, err);
	return true;
}

int main(void)
{
	RUN(test_write_bounds);
	RUN(test_bio_bounds);
	RUN(test_page_bounds);
	RUN(test_device_table_bounded);
	RUN(test_reader_names_the_offset);
	RUN(test_reader_skips_bad_records);
	RUN(test_reader_refuses_a_directory);
	return TEST_EXIT();
}
