// SPDX-License-Identifier: GPL-2.0
/*
 * Intake: records refused (unknown, foreign), a stream recorded and replayed, record
 * files refused, and the JSON report's documented keys.
 */
#include <stdlib.h>
#include <unistd.h>
#include "report.h"
#include "fixture.h"
#include "test.h"

static bool test_foreign_and_bad_records(void)
{
	struct tw_hdr junk = { .type = 99, .size = sizeof(junk) };

	start(8 * K, 100);
	bio1(0xb1, 0, 8 * K);		/* no traced write to this file */
	ASSERT_EQ(tracker__feed(T, &junk, sizeof(junk)), -22, "unknown type refused");
	finish();
	ASSERT_EQ(S.join.foreign_bytes, 8 * K, "foreign bytes");
	ASSERT_EQ(S.join.bad_records, 1, "bad records");
	ASSERT_EQ(tw_units_total(&S.c), 0, "no units");
	return true;
}

/* A BIO_QUEUE record of room for N extents (TW_BIO_EV_SIZE(N)), carrying one. */
static int bio_short(uint64_t bio, uint32_t room, uint32_t nr_ext, uint32_t size)
{
	struct tw_bio_ev e = { .h = HDR(TW_EV_BIO_QUEUE, 0), .bio = bio, .dev = DEV, .opf = 1,
			       .size = 8 * K, .nr_ext = nr_ext };

	e.ext[0] = (struct tw_ext){ .ino = INO, .dev = DEV, .off = 0, .len = 8 * K };
	e.h.size = size ? size : TW_BIO_EV_SIZE(room);
	return tracker__feed(T, &e, e.h.size);
}

/*
 * BIO_QUEUE records come with room for 1 extent (most) or TW_MAX_EXT: one with less room is
 * read as a whole one. Its extents must fit its room, and the room be whole extents.
 */
static bool test_short_bio_records(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	ASSERT_EQ(bio_short(0xb1, 1, 1, 0), 0, "88 bytes, one extent: taken");
	issue(0xa1, 0xb1, 8 * K);
	done(0xa1, 0xb1, 8 * K);
	ASSERT_EQ(bio_short(0xb2, 1, 2, 0), -22, "two extents in the room of one: refused");
	ASSERT_EQ(bio_short(0xb3, 1, 1, TW_BIO_EV_SIZE(1) + 8), -22, "room not whole extents");
	ASSERT_EQ(bio_short(0xb4, 1, 0, TW_BIO_EV_SIZE(0)), -22, "room for no extent");
	ASSERT_EQ(bio_short(0xb5, 9, 1, 0), -22, "more room than TW_MAX_EXT");
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "the unit, whole");
	ASSERT_EQ(S.join.bad_records, 4, "bad records");
	return true;
}

/* The same stream, recorded and replayed, gives the same summary. */
static bool test_record_replay_round_trip(void)
{
	struct tw_summary live, again;
	struct tracker *t2;
	char kernel[65];
	uint64_t unit;

	if (!record_start(8 * K))
		return false;
	start(8 * K, 100);
	write_ok(0, 8 * K);
	write_ok(0, 8 * K);
	write_ok(4 * K, 12 * K);
	block_split(16 * K, 4 * K);
	finish();
	live = S;

	if (!record_replay(100, &t2, &again, &unit, kernel))
		return false;
	ASSERT_EQ(unit, 8 * K, "unit from the header");
	ASSERT_STREQ(kernel, "test-kernel", "kernel from the header");
	ASSERT_TRUE(!memcmp(&live.c, &again.c, sizeof(live.c)), "same counts");
	ASSERT_EQ(again.join.records, live.join.records, "same records");
	ASSERT_EQ(again.nr_files, live.nr_files, "same files");
	ASSERT_EQ(live.c.verdict[TW_V_SPLIT], 1, "the stream has a split");
	tracker__free(t2);
	return true;
}

/* A record file of the len bytes at buf is refused; why, in err. */
static bool replay_refuses(const void *buf, size_t len, char *err, size_t errlen)
{
	char path[] = "/tmp/tw-test-XXXXXX", kernel[65];
	uint64_t unit;
	int fd = mkstemp(path);

	ASSERT_TRUE(fd >= 0, "mkstemp");
	ASSERT_EQ(write(fd, buf, len), len, "write");
	close(fd);
	ASSERT_TRUE(replay_file(path, 100, &unit, kernel, sizeof(kernel), err, errlen) == NULL,
		    "refused");
	unlink(path);
	return true;
}

static bool test_replay_refuses_garbage(void)
{
	char err[256] = "";

	if (!replay_refuses("hello, not a record at all, just some text....................."
			    "...................................\n", 100, err, sizeof(err)))
		return false;
	ASSERT_TRUE(strstr(err, "not a tornwatch record") != NULL, err);
	return true;
}

static char *json_of_version(int version);

static bool test_json_has_the_documented_keys(void)
{
	const char *keys[] = { "\"version\"", "\"units\"", "\"total\"", "\"whole\"", "\"split\"",
			       "\"superseded\"", "\"pending\"", "\"misaligned\"", "\"untracked\"",
			       "\"lost\"", "\"files\"", "\"path\"" };
	char *buf = json_of_version(0);	/* the default */

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ASSERT_TRUE(strstr(buf, keys[i]) != NULL, keys[i]);
	free(buf);
	return true;
}

/* The report of schema VERSION, with a write of 2^39 us and a wait of 2^39 ns (the last slots). */
static char *json_of_version(int version)
{
	struct tw_report_meta m = { .json_version = version, .source = "live", .kernel = "k",
				    .duration_s = 1, .top_files = 10 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	finish();
	S.modes[TW_M_BUFFERED_DSYNC].hist[TW_ST_END_TO_END][TW_HIST_SLOTS - 1] = 1;
	S.stable.hist[TW_HIST_SLOTS - 1] = 2;
	f = open_memstream(&buf, &len);
	report_json(f, &S, &m);
	fclose(f);
	return buf;
}

/*
 * Schema 2 against 1 (docs/json.md): snake-case mode keys, refused atomic writes under
 * "atomic" (not "units"), no stable.devices[], and the last histogram slot unbounded.
 */
static bool test_json_schema_2_and_1(void)
{
	char *v2 = json_of_version(2), *v1 = json_of_version(1);

	ASSERT_TRUE(strstr(v2, "\"schema\": 2,") && strstr(v1, "\"schema\": 1,"), "schema");
	ASSERT_TRUE(strstr(v2, "\"buffered_dsync\": {") && !strstr(v2, "\"buffered-dsync\""),
		    "v2 mode keys");
	ASSERT_TRUE(strstr(v1, "\"buffered-dsync\": {"), "v1 mode keys");
	ASSERT_TRUE(strstr(v2, "{\"lo\": 549755813888, \"hi\": null, \"count\": 1}"), v2);
	ASSERT_TRUE(strstr(v1, "{\"lo\": 549755813888, \"hi\": 1099511627776, \"count\": 1}"), v1);
	ASSERT_TRUE(strstr(v2, "{\"lo_ns\": 549755813888, \"hi_ns\": null, \"count\": 2}"), v2);
	ASSERT_TRUE(strstr(v1, "{\"lo_ns\": 549755813888, \"hi_ns\": 1099511627776, \"count\": 2}"),
		    v1);
	ASSERT_TRUE(strstr(v2, "\"device_misaligned\": 0, \"refused\": 0, \"violations\""), v2);
	ASSERT_TRUE(strstr(v2, "\"atomic_refused\": 0,") && !strstr(v1, "\"atomic_refused\""),
		    "files[].atomic_refused");
	ASSERT_TRUE(!strstr(v2, "    \"devices\": [") && strstr(v1, "    \"devices\": ["),
		    "stable.devices[] in schema 1 only");
	ASSERT_TRUE(!strstr(v2, "\n    \"refused\": ") && strstr(v1, "\n    \"refused\": 0,"),
		    "units.refused in schema 1 only");
	free(v2);
	free(v1);
	return true;
}

/* A record of the previous format is refused, with what to do. */
static bool test_replay_refuses_old_format(void)
{
	struct tw_record_file_hdr h = { .version = TW_RECORD_VERSION_MIN - 1,
					.hdr_size = sizeof(h) };
	char err[256] = "";

	memcpy(h.magic, TW_RECORD_MAGIC, sizeof(h.magic));
	if (!replay_refuses(&h, sizeof(h), err, sizeof(err)))
		return false;
	ASSERT_TRUE(strstr(err, "record format") != NULL, err);
	ASSERT_TRUE(strstr(err, "record again") != NULL, err);
	return true;
}

int main(void)
{
	RUN(test_foreign_and_bad_records);
	RUN(test_short_bio_records);
	RUN(test_record_replay_round_trip);
	RUN(test_replay_refuses_garbage);
	RUN(test_json_has_the_documented_keys);
	RUN(test_json_schema_2_and_1);
	RUN(test_replay_refuses_old_format);
	tracker__free(T);
	return TEST_EXIT();
}
