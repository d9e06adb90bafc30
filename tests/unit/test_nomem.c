// SPDX-License-Identifier: GPL-2.0
/*
 * Nothing lost silently in user space: every allocation of the engine that fails is counted in
 * lost.engine_memory (and lost.total), and the engine goes on. Linked with --wrap=calloc,realloc.
 */
#include <stdlib.h>
#include "fixture.h"
#include "test.h"

void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);

/*
 * While armed, the engine's allocations are numbered: calloc(1, size) (every room's
 * allocation of one object, eng_zalloc) and realloc; the fail_at-th returns NULL. The tables'
 * bucket arrays (calloc(n > 1, ...)) lose nothing when they cannot grow and are left alone.
 */
static bool armed;
static unsigned long numbered, fail_at, injected;

static bool fail_now(void)
{
	if (!armed || ++numbered != fail_at)
		return false;
	injected++;
	return true;
}

void *__wrap_calloc(size_t n, size_t size)
{
	return n == 1 && fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	return fail_now() ? NULL : __real_realloc(p, size);
}

/*
 * Every path that allocates: buffered writes cut into units (one displaced by a rewrite, so
 * superseded), their bios (one split by the block layer, one with two extents), requests,
 * a flush, a stable-page wait, an AIO batch, a sync that infers a completion, discards.
 */
static void workload(void)
{
	device_facts(0, 512, TW_WC_BACK, 0);
	wbegin(1, 0, 16 * K, 0, 0);
	wend(1, 16 * K);
	wbegin(1, 32 * K, 8 * K, 0, 0);
	wend(1, 8 * K);
	wbegin(1, 32 * K, 8 * K, 0, 0);	/* displaces the cached unit at 32 KiB */
	wend(1, 8 * K);
	bioq(0xb1, 0, 2, (const uint64_t[]){ 0, 8 * K, 8 * K, 8 * K });
	split(0xb2, 0xb1, 4096);
	issue(0xa1, 0xb2, 4096);
	issue(0xa2, 0xb1, 12 * K);
	done(0xa1, 0xb2, 4096);
	done(0xa2, 0xb1, 12 * K);
	flush_ev(0xf1, 0);
	flush_ev(0xf1, 1);
	wait_pair(2, TW_WAIT_WRITE, TW_WAIT_IN_WRITE, 1000);
	bio1(0xb3, 32 * K, 8 * K);
	issue(0xa3, 0xb3, 8 * K);	/* its completion never comes: the sync infers it */
	sync_end(1, INO, ts, 0);	/* began after the bio was queued */
	aio_iocb(0, 64 * K, 8 * K);
	aio_iocb(1, 72 * K, 8 * K);
	aio_end(2);
	discard(64 * K, 16 * K, 0);	/* the AIO batch's units, still cached */
	write_ok(96 * K, 8 * K);
	discard(88 * K, 0, TW_DISCARD_EOF);	/* truncated to 88 KiB */
}

/* The workload, its fail-th allocation failing (0: none); how many it numbered. */
static unsigned long run_failing(unsigned long fail)
{
	start(8 * K, 100);
	armed = true;
	numbered = injected = 0;
	fail_at = fail;
	workload();
	finish();
	armed = false;
	return numbered;
}

/* A clean run: nothing lost. The engine allocates; count how often. */
static bool test_clean_run_loses_nothing(void)
{
	run_failing(0);
	ASSERT_TRUE(numbered > 20, "the workload allocates");
	ASSERT_EQ(S.lost_memory, 0, "no allocation failed");
	ASSERT_EQ(S.lost_total, 0, "lost.total");
	ASSERT_EQ(S.c.verdict[TW_V_SPLIT], 1, "the split unit");
	ASSERT_EQ(S.c.verdict[TW_V_SUPERSEDED], 1, "the displaced unit");
	ASSERT_EQ(S.c.verdict[TW_V_WHOLE], 2, "two whole units");
	ASSERT_EQ(S.c.verdict[TW_V_DISCARDED], 3, "the AIO batch's units and the truncated one");
	ASSERT_EQ(S.join.completions_inferred, 1, "the sync inferred one completion");
	ASSERT_EQ(S.stable.waits, 1, "one stable-page wait");
	ASSERT_EQ(S.writes, 6, "six writes");
	return true;
}

/* Each allocation of the workload failed in turn: each failure counted once, never a crash. */
static bool test_each_failed_allocation_is_counted(void)
{
	unsigned long total = run_failing(0);

	for (unsigned long i = 1; i <= total; i++) {
		run_failing(i);
		if (injected != 1 || S.lost_memory != 1 || S.lost_total != 1)
			fprintf(stderr, "    allocation %lu of %lu failed\n", i, total);
		ASSERT_EQ(injected, 1, "one allocation failed");
		ASSERT_EQ(S.lost_memory, 1, "counted in lost.engine_memory");
		ASSERT_EQ(S.lost_total, 1, "and in lost.total");
		ASSERT_EQ(tw_fail_count(&S, TW_F_LOST), 1, "--check fails on lost");
	}
	return true;
}

/* A device with more flushes in flight than a fixed table held (64): the last one counts. */
static bool test_many_flushes_in_flight(void)
{
	const struct tw_mode_stats *m = &S.modes[TW_M_BUFFERED];

	start(8 * K, 100);
	device_facts(0, 512, TW_WC_BACK, 0);
	wbegin(1, 0, 8 * K, 0, 0);
	wend(1, 8 * K);
	one_request(0xa1, 0xb1, 0, 8 * K);
	for (uint64_t i = 0; i < 100; i++)
		flush_ev(0xf000 + i, 0);
	flush_ev(0xf000 + 99, 1);	/* only the last one issued completes */
	finish();
	ASSERT_EQ(m->not_persisted, 0, "persisted by the 100th flush");
	ASSERT_EQ(S.lost_total, 0, "nothing lost");
	return true;
}

int main(void)
{
	RUN(test_clean_run_loses_nothing);
	RUN(test_each_failed_allocation_is_counted);
	RUN(test_many_flushes_in_flight);
	tracker__free(T);
	return TEST_EXIT();
}
