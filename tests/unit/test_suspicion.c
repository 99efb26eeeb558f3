/*
 * test_suspicion.c - Lifeguard's suspicion timeout and the suspect table.
 *
 * The timeout formula is checked against hand-computed values (memberlist's
 * defaults at N = 10k: min 16 s, max 96 s, k = 2), and the table against a
 * reference: many suspects with shuffled deadlines come out of the heap in
 * deadline order, confirmations only ever shorten a deadline and count each
 * accuser once, and every name reference taken is given back; a timer
 * scales up with the local health multiplier, never down.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shoal/error.h"
#include "shoal/swim.h"

#include "../../gossip/swim_internal.h"

#define SEC UINT64_C(1000000)

static void test_timeout_formula(void **state)
{
	(void)state;
	uint64_t min = 16 * SEC, max = 96 * SEC;
	/* No confirmation yet: the full max. */
	assert_true(swim_suspicion_timeout(0, 2, min, max) == max);
	/* One of two: max - 80 s * log 2 / log 3 = 96 - 50.474 s. */
	uint64_t t1 = swim_suspicion_timeout(1, 2, min, max);
	assert_true(t1 > 45525000 && t1 < 45527000);
	/* k reached, or more: min. */
	assert_true(swim_suspicion_timeout(2, 2, min, max) == min);
	assert_true(swim_suspicion_timeout(9, 2, min, max) == min);
	/* k = 0: nothing to wait for. */
	assert_true(swim_suspicion_timeout(0, 0, min, max) == min);
	/* Lifeguard off is max == min. */
	assert_true(swim_suspicion_timeout(0, 2, min, min) == min);
	/* Monotone in confirmations. */
	uint64_t prev = UINT64_MAX;
	for (uint32_t n = 0; n <= 7; n++) {
		uint64_t t = swim_suspicion_timeout(n, 7, min, max);
		assert_true(t <= prev && t >= min);
		prev = t;
	}
}

static uint32_t name(struct swim_pool *p, const char *s)
{
	uint32_t id;
	assert_int_equal(swim_pool_name_intern(p, (const uint8_t *)s, (uint32_t)strlen(s), &id), 0);
	return id;
}

static void test_confirmations(void **state)
{
	struct swim_pool *p;
	struct swim_susp_table t;
	(void)state;
	assert_int_equal(swim_pool_new(&p), 0);
	swim_susp_create(&t);
	uint32_t a = name(p, "a"), b = name(p, "b"), c = name(p, "c"), d = name(p, "d");

	int slot = swim_susp_start(&t, p, 99, a, 1000, 2, 16 * SEC, 96 * SEC, true);
	assert_true(slot >= 0);
	assert_true(swim_susp_next_deadline(&t) == 1000 + 96 * SEC);
	/* The first accuser again is not a confirmation. */
	assert_false(swim_susp_confirm(&t, p, (uint32_t)slot, a));
	assert_true(swim_susp_confirm(&t, p, (uint32_t)slot, b));
	uint64_t d1 = swim_susp_next_deadline(&t);
	assert_true(d1 < 1000 + 96 * SEC && d1 > 1000 + 16 * SEC);
	assert_false(swim_susp_confirm(&t, p, (uint32_t)slot, b));
	assert_true(swim_susp_confirm(&t, p, (uint32_t)slot, c));
	assert_true(swim_susp_next_deadline(&t) == 1000 + 16 * SEC);
	/* k reached: further accusers change nothing. */
	assert_false(swim_susp_confirm(&t, p, (uint32_t)slot, d));
	assert_int_equal(t.slots[slot].n, 2);
	/* References: one each for a, b, c held by the table. */
	assert_int_equal(p->names[a].refs, 2);
	assert_int_equal(p->names[d].refs, 1);
	swim_susp_remove(&t, p, (uint32_t)slot);
	assert_int_equal(p->names[a].refs, 1);
	assert_int_equal(p->names[c].refs, 1);
	assert_true(swim_susp_next_deadline(&t) == UINT64_MAX);
	assert_int_equal(swim_susp_top(&t), SWIM_NONE);

	swim_pool_name_unref(p, a);
	swim_pool_name_unref(p, b);
	swim_pool_name_unref(p, c);
	swim_pool_name_unref(p, d);
	assert_int_equal(p->names_live, 0);
	swim_susp_destroy(&t, p);
	swim_pool_delete(p);
}

/* Local health: a timer is scaled by how much our multiplier grew since it
 * was last scaled, never shrunk; a late reply keeps the slowest. */
static void test_rescale_and_late_reply(void **state)
{
	struct swim_pool *p;
	struct swim_susp_table t;
	(void)state;
	assert_int_equal(swim_pool_new(&p), 0);
	swim_susp_create(&t);
	uint32_t a = name(p, "a"), b = name(p, "b");

	int slot = swim_susp_start(&t, p, 99, a, 1000, 1, 3 * SEC, 30 * SEC, true);
	assert_true(slot >= 0);
	assert_true(swim_susp_confirm(&t, p, (uint32_t)slot, b));
	assert_true(swim_susp_next_deadline(&t) == 1000 + 3 * SEC);
	/* Healthy (awareness 0, factor 1): nothing moves. */
	assert_false(swim_susp_rescale(&t, (uint32_t)slot, 1));
	/* Factor 3: min, max and the deadline, counted from the start. */
	assert_true(swim_susp_rescale(&t, (uint32_t)slot, 3));
	assert_true(swim_susp_next_deadline(&t) == 1000 + 9 * SEC);
	assert_true(t.slots[slot].min == 9 * SEC && t.slots[slot].max == 90 * SEC);
	/* Back to factor 2: not shortened. */
	assert_false(swim_susp_rescale(&t, (uint32_t)slot, 2));
	assert_true(swim_susp_next_deadline(&t) == 1000 + 9 * SEC);
	/* Late replies: the slowest one is kept. */
	assert_true(t.slots[slot].late_rtt == 0);
	swim_susp_late_reply(&t, (uint32_t)slot, 1500000);
	swim_susp_late_reply(&t, (uint32_t)slot, 900000);
	assert_true(t.slots[slot].late_rtt == 1500000);

	swim_susp_remove(&t, p, (uint32_t)slot);
	swim_pool_name_unref(p, a);
	swim_pool_name_unref(p, b);
	assert_int_equal(p->names_live, 0);
	swim_susp_destroy(&t, p);
	swim_pool_delete(p);
}

static uint64_t lcg(uint64_t *x)
{
	*x = *x * 6364136223846793005u + 1442695040888963407u;
	return *x >> 33;
}

static void test_heap_order(void **state)
{
	struct swim_pool *p;
	struct swim_susp_table t;
	enum { N = 500 };
	static int slot_of[N];
	static bool live[N];
	uint64_t x = 42;
	(void)state;
	assert_int_equal(swim_pool_new(&p), 0);
	swim_susp_create(&t);
	uint32_t acc = name(p, "accuser");
	uint32_t acc2 = name(p, "second");

	/* k = 0 makes each deadline start + min, so deadlines are arbitrary. */
	for (uint32_t i = 0; i < N; i++) {
		uint64_t min = 1 + lcg(&x) % 1000000;
		slot_of[i] = swim_susp_start(&t, p, i, acc, 0, 0, min, min, false);
		assert_true(slot_of[i] >= 0);
		live[i] = true;
	}
	/* Remove a third at random positions, confirm (k = 0: no-op) others. */
	for (uint32_t i = 0; i < N; i += 3) {
		swim_susp_remove(&t, p, (uint32_t)slot_of[i]);
		live[i] = false;
	}
	for (uint32_t i = 1; i < N; i += 3)
		assert_false(swim_susp_confirm(&t, p, (uint32_t)slot_of[i], acc2));
	/* Pop in order. */
	uint64_t prev = 0;
	uint32_t popped = 0;
	while (swim_susp_top(&t) != SWIM_NONE) {
		uint32_t s = swim_susp_top(&t);
		uint64_t d = swim_susp_next_deadline(&t);
		assert_true(d >= prev);
		assert_true(t.slots[s].deadline == d);
		assert_true(live[t.slots[s].name_id]);
		live[t.slots[s].name_id] = false;
		prev = d;
		swim_susp_remove(&t, p, s);
		popped++;
	}
	assert_int_equal(popped, N - (N + 2) / 3);
	assert_int_equal(p->names[acc].refs, 1);
	/* Slots are reused: a new suspicion fits without growing. */
	uint32_t alloc = t.alloc;
	assert_true(swim_susp_start(&t, p, 1, acc, 0, 2, SEC, 6 * SEC, false) >= 0);
	assert_int_equal(t.alloc, alloc);
	swim_susp_destroy(&t, p);
	assert_int_equal(p->names[acc].refs, 1);
	swim_pool_name_unref(p, acc);
	swim_pool_name_unref(p, acc2);
	swim_pool_delete(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_timeout_formula),
	        cmocka_unit_test(test_confirmations),
	        cmocka_unit_test(test_rescale_and_late_reply),
	        cmocka_unit_test(test_heap_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
