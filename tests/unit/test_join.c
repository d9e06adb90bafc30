// SPDX-License-Identifier: GPL-2.0
/*
 * The join: bios carrying units' bytes, block-layer splits, requests, merges; a unit's
 * verdict from the requests that carried it (whole, split, partial completions).
 */
#include "fixture.h"
#include "test.h"

static bool test_whole_two_units_one_request(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 16 * K);
	one_request(0xa1, 0xb1, 0, 16 * K);
	c = finish();
	ASSERT_EQ(tw_units_total(c), 2, "total");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "whole");
	ASSERT_EQ(c->verdict[TW_V_SPLIT], 0, "split");
	ASSERT_EQ(S.join.unknown_bio, 0, "unknown bio");
	return true;
}

static bool test_split_at_writeback(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	bio1(0xb1, 0, 4 * K);
	bio1(0xb2, 4 * K, 4 * K);
	issue(0xa1, 0xb1, 4 * K);
	issue(0xa2, 0xb2, 4 * K);
	done(0xa1, 0xb1, 4 * K);
	done(0xa2, 0xb2, 4 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_SPLIT], 1, "split");
	ASSERT_EQ(c->split_writeback, 1, "at writeback");
	ASSERT_EQ(c->split_block, 0, "not in the block layer");
	return true;
}

static bool test_merged_bios_are_whole(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	bio1(0xb1, 0, 4 * K);
	bio1(0xb2, 4 * K, 4 * K);
	issue(0xa1, 0xb1, 4 * K);	/* one request, both bios (back merge) */
	issue(0xa1, 0xb2, 4 * K);
	done(0xa1, 0xb1, 4 * K);
	done(0xa1, 0xb2, 4 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(c->rejoined, 1, "rejoined by merging");
	return true;
}

static bool test_block_split_inside_unit(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 16 * K);
	block_split(16 * K, 4 * K);	/* cuts unit [0,8k) at 4k */
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_SPLIT], 1, "split");
	ASSERT_EQ(c->split_block, 1, "in the block layer");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "the other unit is whole");
	return true;
}

static bool test_block_split_on_unit_boundary(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 16 * K);
	block_split(16 * K, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "whole");
	ASSERT_EQ(c->split_block, 0, "no unit cut");
	return true;
}

static bool test_repeated_split_four_pieces(void)
{
	const struct tw_counts *c;

	start(16 * K, 100);
	write_ok(0, 16 * K);
	bio1(0xb1, 0, 16 * K);
	for (int i = 0; i < 3; i++) {
		split(0xf0 + i, 0xb1, 4 * K);
		issue(0xa0, 0xf0 + i, 4 * K);	/* the same struct request, reused */
		done(0xa0, 0xf0 + i, 4 * K);
	}
	issue(0xa0, 0xb1, 4 * K);
	done(0xa0, 0xb1, 4 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_SPLIT], 1, "split despite a reused request pointer");
	ASSERT_EQ(c->split_block, 1, "block");
	return true;
}

static bool test_partial_completion(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	bio1(0xb1, 0, 8 * K);
	issue(0xa1, 0xb1, 8 * K);
	done(0xa1, 0xb1, 4 * K);
	done(0xa1, 0xb1, 4 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(c->verdict[TW_V_PENDING], 0, "not pending");
	return true;
}

int main(void)
{
	RUN(test_whole_two_units_one_request);
	RUN(test_split_at_writeback);
	RUN(test_merged_bios_are_whole);
	RUN(test_block_split_inside_unit);
	RUN(test_block_split_on_unit_boundary);
	RUN(test_repeated_split_four_pieces);
	RUN(test_partial_completion);
	tracker__free(T);
	return TEST_EXIT();
}
