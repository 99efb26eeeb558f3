/*
 * test_swim_quiet.c - quiet members and bulk user messages, sans-IO: three
 * swims (two full, one whose labels say role=leaf) on the in-test loop of
 * swim_loop.h. A member's quiet flag follows its labels through the
 * is_quiet hook; a bulk user message never reaches a quiet member and a
 * datagram to one does not count as one of its transmits; other user
 * messages reach everyone. Bulk messages have a transmit limit of their own.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "shoal/error.h"
#include "shoal/mp.h"
#include "shoal/swim.h"

#include "../../gossip/swim_internal.h"

#include "swim_loop.h"

/* The is_quiet hook: a member whose labels hold role=leaf. */
static bool says_leaf(void *ctx, const uint8_t *labels, size_t len)
{
	const uint8_t *pos = labels, *end = labels + len;
	uint32_t count;
	(void)ctx;
	if (shoal_mp_read_map(&pos, end, &count) != 0)
		return false;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *k, *v;
		uint32_t kl, vl;
		if (shoal_mp_read_str(&pos, end, &k, &kl) != 0 ||
		    shoal_mp_read_str(&pos, end, &v, &vl) != 0)
			return false;
		if (kl == 4 && memcmp(k, "role", 4) == 0 && vl == 4 && memcmp(v, "leaf", 4) == 0)
			return true;
	}
	return false;
}

static void on_user(void *ctx, uint64_t now, const struct shoal_addr *from, const uint8_t *msg,
                    size_t len)
{
	struct node *n = ctx;
	(void)now;
	(void)from;
	if (len > 0 && n->ngot < USER_MAX)
		n->got[n->ngot++] = (char)msg[0];
}

static int got(int node, char kind)
{
	int c = 0;
	for (int i = 0; i < W.n[node].ngot; i++)
		c += W.n[node].got[i] == kind;
	return c;
}

static const struct shoal_label leaf_label[] = {{"role", "leaf"}};
static const struct shoal_label full_label[] = {{"role", "full"}};

/* alpha (0) and beta (1) full, leaf (2) quiet, all joined through alpha,
 * each with a user service that records what it hears. */
static void start_three(bool with_beta)
{
	W.is_quiet = says_leaf;
	node_start(0, "alpha", 1, full_label, 1);
	node_start(1, "beta", 2, full_label, 1);
	node_start(2, "leaf", 3, leaf_label, 1);
	if (!with_beta)
		W.n[1].up = false;
	for (int i = 0; i < 3; i++) {
		struct swim_user_hooks h = {.ctx = &W.n[i], .on_message = on_user};
		assert_int_equal(swim_set_user(W.n[i].swim, &h), 0);
	}
	if (with_beta)
		assert_int_equal(swim_join(W.n[1].swim, W.now, &W.n[0].addr, 1), 0);
	assert_int_equal(swim_join(W.n[2].swim, W.now, &W.n[0].addr, 1), 0);
	run_for(3000000);
}

static void test_quiet_follows_labels(void **state)
{
	(void)state;
	start_three(true);
	assert_true(swim_member_quiet(W.n[0].swim, "leaf"));
	assert_true(swim_member_quiet(W.n[1].swim, "leaf"));
	assert_false(swim_member_quiet(W.n[0].swim, "beta"));
	assert_false(swim_member_quiet(W.n[2].swim, "alpha"));
	assert_false(swim_member_quiet(W.n[0].swim, "nobody"));
	/* beta turns leaf, then back: the flag follows its newest record. */
	assert_int_equal(swim_set_labels(W.n[1].swim, W.now, leaf_label, 1), 0);
	run_for(3000000);
	assert_true(swim_member_quiet(W.n[0].swim, "beta"));
	assert_true(swim_member_quiet(W.n[2].swim, "beta"));
	assert_int_equal(swim_set_labels(W.n[1].swim, W.now, full_label, 1), 0);
	run_for(3000000);
	assert_false(swim_member_quiet(W.n[0].swim, "beta"));
}

static void test_bulk_skips_quiet_members(void **state)
{
	(void)state;
	start_three(true);
	static const uint8_t bulk[] = "Bhealth news", normal[] = "Nintent news";
	assert_int_equal(swim_user_broadcast_bulk(W.n[0].swim, 1, bulk, sizeof(bulk)), 0);
	assert_int_equal(swim_user_broadcast(W.n[0].swim, 2, normal, sizeof(normal)), 0);
	run_for(5000000);
	assert_true(got(1, 'B') >= 1);
	assert_true(got(1, 'N') >= 1);
	assert_int_equal(got(2, 'B'), 0); /* never to the leaf */
	assert_true(got(2, 'N') >= 1);
	/* Both were sent their transmits to beta and alpha's queue drained. */
	assert_int_equal(swim_user_queued(W.n[0].swim), 0);
}

static void test_bulk_to_quiet_is_not_a_transmit(void **state)
{
	(void)state;
	start_three(false); /* beta never up: alpha knows only the leaf */
	static const uint8_t bulk[] = "Bhealth news", normal[] = "Nintent news";
	assert_int_equal(swim_user_broadcast_bulk(W.n[0].swim, 1, bulk, sizeof(bulk)), 0);
	assert_int_equal(swim_user_broadcast(W.n[0].swim, 2, normal, sizeof(normal)), 0);
	run_for(5000000);
	assert_int_equal(got(2, 'B'), 0);
	assert_true(got(2, 'N') >= 1);
	/* The normal message used its transmits up; the bulk one is still
	 * waiting for a member that takes it. */
	assert_int_equal(swim_user_queued(W.n[0].swim), 1);
}

/*
 * Bulk messages have their own transmit limit (bulk_retransmit_mult, by
 * default the user messages' mult); other user messages keep theirs. Three
 * members: limit = mult * ceil(log10(3 + 1)) = mult. Every
 * transmit is one datagram to one member and nothing is lost here, so the
 * receivers together hear each message exactly its limit of times (the
 * leaf hears no bulk, and a datagram to it is not a bulk transmit).
 */
static void transmits_with(uint32_t mult, uint32_t bulk_mult, int want_bulk, int want_normal)
{
	start_three(true);
	for (int i = 0; i < 3; i++) {
		struct swim_user_hooks h = {.ctx = &W.n[i],
		                            .on_message = on_user,
		                            .retransmit_mult = mult,
		                            .bulk_retransmit_mult = bulk_mult};
		assert_int_equal(swim_set_user(W.n[i].swim, NULL), 0);
		assert_int_equal(swim_set_user(W.n[i].swim, &h), 0);
	}
	static const uint8_t bulk[] = "Bhealth news", normal[] = "Nintent news";
	assert_int_equal(swim_user_broadcast_bulk(W.n[0].swim, 1, bulk, sizeof(bulk)), 0);
	assert_int_equal(swim_user_broadcast(W.n[0].swim, 2, normal, sizeof(normal)), 0);
	run_for(10000000);
	assert_int_equal(swim_user_queued(W.n[0].swim), 0);
	assert_int_equal(got(1, 'B'), want_bulk);
	assert_int_equal(got(2, 'B'), 0);
	assert_int_equal(got(1, 'N') + got(2, 'N'), want_normal);
}

static void test_bulk_transmit_limit(void **state)
{
	(void)state;
	transmits_with(12, 9, 9, 12);
}

/* A bulk message is sent at least 8 times, or as often as the others when
 * they are sent fewer times than that (a small fleet). */
static void test_bulk_limit_floor(void **state)
{
	(void)state;
	transmits_with(12, 2, 8, 12);
	teardown(NULL);
	setup(NULL);
	transmits_with(4, 2, 4, 4);
}

static void test_bulk_limit_defaults_to_mult(void **state)
{
	(void)state;
	transmits_with(3, 0, 3, 3);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_quiet_follows_labels, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bulk_skips_quiet_members, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bulk_to_quiet_is_not_a_transmit, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_bulk_transmit_limit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bulk_limit_floor, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bulk_limit_defaults_to_mult, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
