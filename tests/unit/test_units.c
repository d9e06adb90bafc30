// SPDX-License-Identifier: GPL-2.0
/*
 * Units: cutting writes into units (misaligned, large folios, a full table), superseding,
 * pending, discards (truncate, a freed inode), and units made by stores through a mapping.
 */
#include "fixture.h"
#include "test.h"

static bool test_superseded(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	write_ok(0, 8 * K);
	one_request(0xa1, 0xb1, 0, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_SUPERSEDED], 1, "superseded");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(tw_units_total(c), 2, "total");
	return true;
}

static bool test_rewrite_while_in_flight_is_not_superseded(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	bio1(0xb1, 0, 8 * K);
	write_ok(0, 8 * K);		/* page re-dirtied while its I/O is queued */
	issue(0xa1, 0xb1, 8 * K);
	done(0xa1, 0xb1, 8 * K);
	one_request(0xa2, 0xb2, 0, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "both instances whole");
	ASSERT_EQ(c->verdict[TW_V_SUPERSEDED], 0, "none superseded");
	return true;
}

static bool test_pending_cached_and_inflight(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 16 * K);
	bio1(0xb1, 0, 8 * K);
	issue(0xa1, 0xb1, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_PENDING], 2, "pending");
	ASSERT_EQ(c->pending_inflight, 1, "in flight");
	ASSERT_EQ(c->pending_cached, 1, "cached");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 0, "never whole");
	return true;
}

static bool test_misaligned(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(4 * K, 12 * K);	/* covers [8k,16k) whole, [0,8k) partly */
	write_ok(16 * K, 8 * K);	/* aligned */
	write_ok(24 * K, 4 * K);	/* short: no unit */
	one_request(0xa1, 0xb1, 0, 28 * K);
	c = finish();
	ASSERT_EQ(c->misaligned, 2, "misaligned writes");
	ASSERT_EQ(tw_units_total(c), 2, "units");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "whole");
	return true;
}

static bool test_large_folio_many_units(void)
{
	const struct tw_counts *c;

	start(4 * K, 100);
	write_ok(0, 64 * K);
	block_split(64 * K, 32 * K);	/* one bvec of a 64 KiB folio */
	c = finish();
	ASSERT_EQ(tw_units_total(c), 16, "units");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 16, "all whole: cut on a unit boundary");
	return true;
}

static bool test_untracked_when_full(void)
{
	const struct tw_counts *c;

	start(8 * K, 2);
	write_ok(0, 32 * K);
	one_request(0xa1, 0xb1, 0, 32 * K);
	c = finish();
	ASSERT_EQ(c->untracked, 2, "untracked");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "tracked ones whole");
	return true;
}

static bool test_mmap_store_makes_a_unit(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	mmap_dirty(1, 2, 2, 12 * K, 0);		/* folio [8k, 16k), the store at 12k */
	one_request(0xa1, 0xb1, 8 * K, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(tw_units_total(c), 1, "total");
	ASSERT_EQ(S.modes[TW_M_MMAP].units, 1, "mmap units");
	ASSERT_EQ(S.modes[TW_M_MMAP].writes, 1, "mmap writes");
	ASSERT_EQ(S.modes[TW_M_BUFFERED].units, 0, "buffered units");
	ASSERT_EQ(S.join.unmatched_bytes, 0, "unmatched");
	ASSERT_STREQ(tw_mode_names[TW_M_MMAP], "mmap", "mode name");
	return true;
}

/* A folio smaller than the unit: the unit's bytes are the folio's, the rest is clean. */
static bool test_mmap_unit_of_a_small_folio(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	mmap_dirty(1, 1, 1, 4 * K, 0);
	one_request(0xa1, 0xb1, 4 * K, 4 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole, of its 4 KiB");
	ASSERT_EQ(c->verdict[TW_V_PENDING], 0, "the clean half waits for nothing");
	/* the same, carried in two requests of 2 KiB: split */
	start(8 * K, 100);
	mmap_dirty(1, 1, 1, 4 * K, 0);
	bio1(0xb1, 4 * K, 4 * K);
	split(0xb2, 0xb1, 2 * K);
	issue(0xa1, 0xb2, 2 * K);
	done(0xa1, 0xb2, 2 * K);
	issue(0xa2, 0xb1, 2 * K);
	done(0xa2, 0xb1, 2 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_SPLIT], 1, "split");
	ASSERT_EQ(tw_units_total(c), 1, "total");
	return true;
}

/* Stores to neighbouring folios of a unit before any left the cache: one instance. */
static bool test_mmap_stores_grow_one_instance(void)
{
	const struct tw_counts *c;

	start(16 * K, 100);
	mmap_dirty(1, 1, 1, 4 * K, 0);
	mmap_dirty(1, 0, 1, 0, 0);		/* below it */
	mmap_dirty(1, 2, 1, 8 * K, 0);		/* above it */
	one_request(0xa1, 0xb1, 0, 12 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole");
	ASSERT_EQ(tw_units_total(c), 1, "one unit");
	ASSERT_EQ(S.modes[TW_M_MMAP].writes, 3, "three stores");
	/* a memcpy that faults each 8 KiB from its last page (seen on the 6.1 guest) */
	start(16 * K, 100);
	mmap_dirty(1, 1, 1, 4 * K, 0);
	mmap_dirty(1, 0, 1, 0, 0);
	mmap_dirty(1, 3, 1, 12 * K, 0);		/* not touching [0, 8k) yet: a second instance */
	mmap_dirty(1, 2, 1, 8 * K, 0);		/* joins both */
	one_request(0xa1, 0xb1, 0, 16 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "whole, in any order");
	ASSERT_EQ(tw_units_total(c), 1, "one unit, in any order");
	/* once its bytes left the cache, a store to the unit's next folio is a new instance */
	start(16 * K, 100);
	mmap_dirty(1, 0, 1, 0, 0);
	bio1(0xb1, 0, 4 * K);
	mmap_dirty(1, 1, 1, 4 * K, 0);
	issue(0xa1, 0xb1, 4 * K);
	done(0xa1, 0xb1, 4 * K);
	one_request(0xa2, 0xb2, 4 * K, 4 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "two instances, each whole");
	return true;
}

/* Units smaller than a page: every unit inside the page stored to, none elsewhere. */
static bool test_mmap_units_smaller_than_a_page(void)
{
	const struct tw_counts *c;

	start(1 * K, 100);
	mmap_dirty(1, 0, 4, 8 * K, 0);		/* folio [0, 16k), the store at 8k */
	one_request(0xa1, 0xb1, 0, 16 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 4, "the page's four units");
	ASSERT_EQ(tw_units_total(c), 4, "total");
	ASSERT_EQ(S.join.unmatched_bytes, 12 * K, "the folio's other pages");
	/* no --unit: no units, the store still counts as a write */
	start(0, 100);
	mmap_dirty(1, 0, 1, 0, 0);
	c = finish();
	ASSERT_EQ(tw_units_total(c), 0, "no units");
	ASSERT_EQ(S.modes[TW_M_MMAP].writes, 1, "one write");
	return true;
}

/* A write of the whole unit before a partial mmap instance left the cache supersedes it. */
static bool test_mmap_instance_superseded_by_a_write(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	mmap_dirty(1, 0, 1, 0, 0);
	write_ok(0, 8 * K);
	write_ok(64 * K, 8 * K);		/* the first write returned: settled */
	one_request(0xa1, 0xb1, 0, 8 * K);
	one_request(0xa2, 0xb2, 64 * K, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_SUPERSEDED], 1, "the mmap instance");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 2, "the writes' units");
	ASSERT_EQ(S.modes[TW_M_MMAP].units, 1, "counted as mmap");
	return true;
}

/* A store to a folio under writeback: the unit in flight is modified, the store a new unit. */
static bool test_mmap_store_in_flight(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 8 * K);
	bio1(0xb1, 0, 8 * K);
	issue(0xa1, 0xb1, 8 * K);
	modified(2, 0, 2, 4 * K, 4 * K, true);
	mmap_dirty(2, 0, 2, 4 * K, TW_MMAP_WRITEBACK);
	done(0xa1, 0xb1, 8 * K);
	one_request(0xa2, 0xb2, 0, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_MODIFIED], 1, "the unit in flight");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "the store's unit, written back after");
	ASSERT_EQ(S.modes[TW_M_MMAP].units, 1, "mmap units");
	ASSERT_EQ(S.modes[TW_M_BUFFERED].units, 1, "buffered units");
	return true;
}

static bool test_mmap_bad_records(void)
{
	start(8 * K, 100);
	ASSERT_EQ(mmap_dirty(1, 0, 0, 0, 0), -22, "no pages");
	ASSERT_EQ(mmap_dirty(1, 1, 1, 0, 0), -22, "store before the folio");
	ASSERT_EQ(mmap_dirty(1, 1, 1, 8 * K, 0), -22, "store past the folio");
	ASSERT_EQ(mmap_dirty(1, 1, 2, 6 * K, 0), -22, "store not on a page");
	ASSERT_EQ(mmap_dirty(1, 0, (TW_MAX_FOLIO >> 12) + 1, 0, 0), -22, "folio too big");
	ASSERT_EQ(mmap_dirty(1, TW_MAX_LOFF >> 12, 1, TW_MAX_LOFF, 0), -22, "past loff_t");
	ASSERT_EQ(mmap_dirty(1, 1, 2, 8 * K, 0), 0, "a good one");
	finish();
	ASSERT_EQ(S.join.bad_records, 6, "bad records");
	ASSERT_EQ(tw_units_total(&S.c), 1, "the good one's unit (pending)");
	return true;
}

/* Truncation drops the cached units past it; a unit already in a bio is not discarded. */
static bool test_truncate_discards_cached_units(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 32 * K);		/* units at 0, 8k, 16k, 24k */
	bio1(0xb1, 16 * K, 8 * K);	/* 16k is in flight */
	discard(16 * K, 16 * K, 0);	/* a 16 KiB folio at 16k dropped */
	done(0xa1, 0xb1, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_DISCARDED], 1, "24k discarded");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "16k whole");
	ASSERT_EQ(c->verdict[TW_V_PENDING], 2, "0 and 8k still cached");
	return true;
}

/* A freed inode: all its cached units discarded; its number then names a new file. */
static bool test_freed_inode_is_a_new_file(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 16 * K);
	discard(0, 4 * K, TW_DISCARD_GONE);
	write_ok(0, 8 * K);		/* a new file with the same (dev, ino) */
	one_request(0xa1, 0xb1, 0, 8 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_DISCARDED], 2, "both units of the freed file");
	ASSERT_EQ(c->verdict[TW_V_WHOLE], 1, "the new file's unit");
	ASSERT_EQ(S.nr_files, 2, "two files");
	ASSERT_EQ(S.files[0]->deleted + S.files[1]->deleted, 1, "one deleted");
	return true;
}

/* A truncation drops everything past the new size, whatever folio size its record names. */
static bool test_truncate_past_eof_discards_all_beyond(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 32 * K);			/* units at 0, 8k, 16k, 24k */
	discard(16 * K, 4 * K, TW_DISCARD_EOF);	/* a 4 KiB folio at 16k, past the new size */
	discard(20 * K, 4 * K, TW_DISCARD_EOF);	/* the next folio: nothing more to do */
	write_ok(24 * K, 8 * K);		/* the file grows again */
	discard(16 * K, 4 * K, TW_DISCARD_EOF);	/* and is truncated again */
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_DISCARDED], 3, "16k, 24k, then the new 24k");
	ASSERT_EQ(c->verdict[TW_V_PENDING], 2, "0 and 8k still cached");
	return true;
}

/* Past the new end even a unit with bytes in flight is gone (XFS on 6.1 writes that block first). */
static bool test_truncate_cuts_a_unit_in_flight(void)
{
	const struct tw_counts *c;

	start(8 * K, 100);
	write_ok(0, 16 * K);			/* units at 0 and 8k */
	bio1(0xb1, 8 * K, 4 * K);		/* the block at the new end, written out first */
	discard(8 * K, 4 * K, TW_DISCARD_EOF);
	done(0xa1, 0xb1, 4 * K);
	c = finish();
	ASSERT_EQ(c->verdict[TW_V_DISCARDED], 1, "8k discarded");
	ASSERT_EQ(c->verdict[TW_V_PENDING], 1, "0 still cached");
	ASSERT_EQ(tw_units_total(c), 2, "one verdict each");
	return true;
}

int main(void)
{
	RUN(test_superseded);
	RUN(test_rewrite_while_in_flight_is_not_superseded);
	RUN(test_truncate_discards_cached_units);
	RUN(test_truncate_past_eof_discards_all_beyond);
	RUN(test_truncate_cuts_a_unit_in_flight);
	RUN(test_freed_inode_is_a_new_file);
	RUN(test_pending_cached_and_inflight);
	RUN(test_misaligned);
	RUN(test_large_folio_many_units);
	RUN(test_untracked_when_full);
	RUN(test_mmap_store_makes_a_unit);
	RUN(test_mmap_unit_of_a_small_folio);
	RUN(test_mmap_stores_grow_one_instance);
	RUN(test_mmap_units_smaller_than_a_page);
	RUN(test_mmap_instance_superseded_by_a_write);
	RUN(test_mmap_store_in_flight);
	RUN(test_mmap_bad_records);
	tracker__free(T);
	return TEST_EXIT();
}
