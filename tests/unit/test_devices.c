// SPDX-License-Identifier: GPL-2.0
/*
 * The devices' facts: whole units beyond the power-fail atomic size (sysfs, physical block,
 * --atomic-size), and durability by write cache, FUA and flushes.
 */
#include "devfacts.h"
#include "fixture.h"
#include "test.h"

/* One unit of len bytes (--unit len), written and carried to DEV by one bio, one request. */
static const struct tw_counts *unit_in_one_request(uint64_t len)
{
	write_ok(0, len);
	one_request(0xa1, 0xb1, 0, len);
	return finish();
}

static uint64_t hist_total(const uint64_t *h)
{
	uint64_t n = 0;

	for (int i = 0; i < TW_HIST_SLOTS; i++)
		n += h[i];
	return n;
}

/* A buffered 8 KiB write that returned, then reached DEV in one request without FUA. */
static void returned_then_on_device(void)
{
	wbegin(1, 0, 8 * K, 0, 0);
	wend(1, 8 * K);
	one_request(0xa1, 0xb1, 0, 8 * K);
}

static bool test_whole_beyond_sysfs_atomic_unit_max(void)
{
	const struct tw_counts *c;

	start(16 * K, 100);
	device_facts(4096, 4096, TW_WC_BACK, 0);
	c = unit_in_one_request(16 * K);
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole: one request");
	ASSERT_EQ(c->whole_beyond_atomic, 1, "16 KiB > atomic_write_unit_max 4 KiB");
	ASSERT_EQ(c->whole_atomic_unknown, 0, "device known");
	ASSERT_EQ(S.files[0]->c.whole_beyond_atomic, 1, "per file too");
	ASSERT_EQ(S.stable.nr_devices, 1, "one device");
	ASSERT_EQ(S.stable.devices[0].atomic_size, 4096, "power-fail atomic size");
	ASSERT_EQ(S.stable.devices[0].atomic_src, TW_AS_SYSFS_ATOMIC, "from sysfs atomic");
	ASSERT_EQ(S.stable.devices[0].whole_beyond_atomic, 1, "per device too");
	return true;
}

static bool test_whole_within_sysfs_atomic_unit_max(void)
{
	const struct tw_counts *c;

	start(16 * K, 100);
	device_facts(16384, 4096, TW_WC_BACK, 0);
	c = unit_in_one_request(16 * K);
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(c->whole_beyond_atomic, 0, "16 KiB fits atomic_write_unit_max 16 KiB");
	return true;
}

static bool test_whole_beyond_physical_block(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	device_facts(0, 512, TW_WC_BACK, 0);
	c = unit_in_one_request(8 * K);
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(c->whole_beyond_atomic, 1, "8 KiB > physical block 512");
	ASSERT_EQ(S.stable.devices[0].atomic_src, TW_AS_PHYSICAL_BLOCK, "from the physical block");
	return true;
}

/* --atomic-size: from the option on replay (tracker), or carried by the live record. */
static bool test_atomic_size_option_overrides(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	tracker__set_atomic_size(T, DEV, 8 * K);
	device_facts(0, 512, TW_WC_BACK, 0);
	c = unit_in_one_request(8 * K);
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(c->whole_beyond_atomic, 0, "8 KiB fits the 8 KiB given by hand");
	ASSERT_EQ(S.stable.devices[0].atomic_size, 8 * K, "power-fail atomic size");
	ASSERT_EQ(S.stable.devices[0].atomic_src, TW_AS_OPTION, "given by hand");

	start(8 * K, 100);
	device_facts(0, 512, TW_WC_BACK, 8 * K);	/* the live run's option, in the record */
	c = unit_in_one_request(8 * K);
	ASSERT_EQ(c->whole_beyond_atomic, 0, "the record's option");
	ASSERT_EQ(S.stable.devices[0].atomic_src, TW_AS_OPTION, "given by hand, recorded");

	start(8 * K, 100);
	tracker__set_atomic_size(T, DEV, 4 * K);	/* a replay's option wins over the record's */
	device_facts(0, 512, TW_WC_BACK, 8 * K);
	c = unit_in_one_request(8 * K);
	ASSERT_EQ(c->whole_beyond_atomic, 1, "8 KiB > the 4 KiB given on replay");
	return true;
}

static bool test_whole_on_unknown_device_not_judged(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	c = unit_in_one_request(8 * K);	/* no DEVICE record */
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(c->whole_beyond_atomic, 0, "not judged");
	ASSERT_EQ(c->whole_atomic_unknown, 1, "counted as unknown");
	start(8 * K, 100);
	device_facts(0, 0, TW_WC_UNKNOWN, 0);	/* a record without block sizes */
	c = unit_in_one_request(8 * K);
	ASSERT_EQ(c->whole_atomic_unknown, 1, "no size, not judged");
	ASSERT_EQ(S.stable.devices[0].atomic_src, TW_AS_UNKNOWN, "source unknown");
	return true;
}

static bool test_write_through_persists_at_completion(void)
{
	const struct tw_mode_stats *m = &S.modes[TW_M_BUFFERED];

	start(8 * K, 100);
	device_facts(0, 512, TW_WC_THROUGH, 0);
	returned_then_on_device();
	finish();
	ASSERT_EQ(S.c.verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(m->not_persisted, 0, "write through: persisted at completion, no flush");
	ASSERT_EQ(hist_total(m->hist[TW_ST_DURABLE]), 1, "durable sample");

	start(8 * K, 100);
	device_facts(0, 512, TW_WC_BACK, 0);	/* write back: a flush is needed */
	returned_then_on_device();
	finish();
	ASSERT_EQ(m->not_persisted, 1, "write back, no flush: not persisted");
	ASSERT_EQ(hist_total(m->hist[TW_ST_DURABLE]), 0, "no durable sample");

	start(8 * K, 100);
	device_facts(0, 512, TW_WC_BACK, 0);
	returned_then_on_device();
	flush_ev(0xf1, 0);
	flush_ev(0xf1, 1);
	finish();
	ASSERT_EQ(m->not_persisted, 0, "write back, flushed after: persisted");
	ASSERT_EQ(hist_total(m->hist[TW_ST_DURABLE]), 1, "durable at the flush");

	start(8 * K, 100);	/* no facts: like write back */
	returned_then_on_device();
	finish();
	ASSERT_EQ(m->not_persisted, 1, "unknown device: a flush is needed");
	return true;
}

/*
 * A full write's return is held back and comes with the thread's next write (prev_end_ns):
 * its unit may have been written back and persisted by a flush before that. The flush that
 * came first persisted it, not the next one.
 */
static bool test_late_return_persisted_by_an_earlier_flush(void)
{
	const struct tw_mode_stats *m = &S.modes[TW_M_BUFFERED];
	struct tw_write_ev next = { .h = HDR(TW_EV_WRITE_BEGIN, 1), .ino = INO, .pos = 64 * K,
				    .count = 8 * K, .dev = DEV };

	start(8 * K, 100);
	device_facts(0, 512, TW_WC_BACK, 0);
	clock_at(1000);
	wbegin(1, 0, 8 * K, 0, 0);	/* returns at 2000: held */
	clock_at(3000);
	one_request(0xa1, 0xb1, 0, 8 * K);	/* the flusher writes it back */
	clock_at(10000);
	flush_ev(0xf1, 0);
	clock_at(11000);
	flush_ev(0xf1, 1);		/* persisted at 11000 */
	clock_at(50000);
	next.h.size = sizeof(next);
	next.prev_end_ns = 2000;
	feed(&next);
	finish();
	ASSERT_EQ(S.c.verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(m->not_persisted, 0, "persisted by the flush before its return came");
	ASSERT_EQ(samples(TW_ST_DURABLE), 1, "one durable sample");
	ASSERT_EQ(m->sum_ns[TW_ST_DURABLE], 11000 - 1000, "durable at the flush's completion");
	return true;
}

/* A unit whose request issue never came cannot count as FUA. */
static bool test_unseen_issue_is_not_fua(void)
{
	start(8 * K, 100);
	device_facts(0, 512, TW_WC_BACK, 0);
	wbegin(1, 0, 8 * K, 0, 0);
	wend(1, 8 * K);
	bio1(0xb1, 0, 8 * K);
	done(0xa1, 0xb1, 8 * K);	/* completion without its issue record */
	finish();
	ASSERT_EQ(S.c.verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(S.modes[TW_M_BUFFERED].not_persisted, 1, "not persisted without a flush");
	return true;
}

static bool test_device_facts_through_replay(void)
{
	struct tw_summary again;
	struct tracker *t2;

	if (!record_start(8 * K))
		return false;
	start(8 * K, 100);
	device_facts(0, 512, TW_WC_THROUGH, 0);
	returned_then_on_device();
	finish();

	if (!record_replay(100, &t2, &again, NULL, NULL))
		return false;
	ASSERT_TRUE(!memcmp(&S.c, &again.c, sizeof(S.c)), "same counts");
	ASSERT_EQ(again.c.whole_beyond_atomic, 1, "beyond, as live");
	ASSERT_EQ(again.modes[TW_M_BUFFERED].not_persisted, 0, "persisted, as live");
	ASSERT_EQ(again.stable.devices[0].write_cache, TW_WC_THROUGH, "write cache");
	ASSERT_EQ(again.stable.devices[0].physical_block, 512, "physical block");
	tracker__free(t2);
	return true;
}

int main(void)
{
	RUN(test_whole_beyond_sysfs_atomic_unit_max);
	RUN(test_whole_within_sysfs_atomic_unit_max);
	RUN(test_whole_beyond_physical_block);
	RUN(test_atomic_size_option_overrides);
	RUN(test_whole_on_unknown_device_not_judged);
	RUN(test_write_through_persists_at_completion);
	RUN(test_unseen_issue_is_not_fua);
	RUN(test_late_return_persisted_by_an_earlier_flush);
	RUN(test_device_facts_through_replay);
	tracker__free(T);
	return TEST_EXIT();
}
