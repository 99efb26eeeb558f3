/*
 * test_broadcast.c - the transmit-limited dissemination queue.
 *
 * A real swim (with an env that sends nowhere) owns the queue; the tests
 * queue news through the internal calls and read back which messages each
 * fill put into the datagram, in order: ours first, then fewest transmits,
 * newest first; one pending item per member; dropped after
 * mult * ceil(log10(N + 1)) transmissions; capped at SWIM_BCAST_MAX.
 */
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
#include "shoal/swim.h"

#include "../../gossip/swim_internal.h"

static uint64_t rng = 7;

static void no_send(void *ctx, const struct shoal_addr *to, const uint8_t *b, size_t n)
{
	(void)ctx, (void)to, (void)b, (void)n;
}
static int no_stream(void *ctx, uint64_t c, const struct shoal_addr *to, const uint8_t *b, size_t n)
{
	(void)ctx, (void)c, (void)to, (void)b, (void)n;
	return -1;
}
static void no_close(void *ctx, uint64_t c)
{
	(void)ctx, (void)c;
}
static uint64_t prng(void *ctx)
{
	(void)ctx;
	rng = rng * 6364136223846793005u + 1;
	return rng;
}
static void rnd(void *ctx, uint8_t *b, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(prng(NULL) >> 56);
}

static const struct shoal_env env = {
        .send_datagram = no_send,
        .stream_send = no_stream,
        .stream_close = no_close,
        .prng = prng,
        .random_bytes = rnd,
};

struct fixture {
	struct swim_pool *pool;
	struct shoal_keyring kr;
	struct swim *s;
};

static int setup(void **state)
{
	static struct fixture f;
	struct swim_config cfg;
	uint8_t seed[32] = {1};
	swim_config_defaults(&cfg);
	cfg.name = "self";
	cfg.advertise.family = 4;
	cfg.advertise.port = 1;
	crypto_sign_seed_keypair(cfg.site_pk, cfg.site_sk, seed);
	assert_int_equal(swim_pool_new(&f.pool), 0);
	shoal_keyring_create(&f.kr);
	assert_int_equal(swim_new(&f.s, &cfg, &env, &f.kr, f.pool, 1000), 0);
	sodium_memzero(cfg.site_sk, sizeof(cfg.site_sk));
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	swim_delete(f->s);
	/* Every reference the queue took was given back. */
	assert_int_equal(f->pool->names_live, 0);
	assert_int_equal(f->pool->recs_live, 0);
	swim_pool_delete(f->pool);
	return 0;
}

static uint32_t name(struct fixture *f, const char *s)
{
	uint32_t id;
	assert_int_equal(
	        swim_pool_name_intern(f->pool, (const uint8_t *)s, (uint32_t)strlen(s), &id), 0);
	return id;
}

/* One fill into a fresh datagram; decode what went in as "K:name" strings. */
static uint32_t fill(struct fixture *f, char out[][80], uint32_t max)
{
	struct swim_msg m;
	swim_tx_begin(f->s);
	uint32_t n = swim_bcast_fill(f->s);
	assert_true(f->s->tx.len <= swim_tx_budget(f->s));
	const uint8_t *pos = f->s->tx.data + SWIM_DGRAM_HDR_MAX;
	const uint8_t *end = f->s->tx.data + f->s->tx.len;
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(swim_proto_decode_msg(&pos, end, &m), 0);
		if (i >= max)
			continue;
		const struct swim_str *nm = m.type == SWIM_MSG_ALIVE ? &m.alive.name : &m.name;
		snprintf(out[i], 80, "%c:%.*s",
		         m.type == SWIM_MSG_ALIVE     ? 'A'
		         : m.type == SWIM_MSG_SUSPECT ? 'S'
		         : m.type == SWIM_MSG_DEAD    ? 'D'
		         : m.type == SWIM_MSG_LEAVE   ? 'L'
		                                      : 'K',
		         (int)nm->len, (const char *)nm->p);
	}
	assert_ptr_equal(pos, end);
	return n;
}

static void test_order(void **state)
{
	struct fixture *f = *state;
	char got[16][80];
	uint32_t a = name(f, "aa"), b = name(f, "bb"), c = name(f, "cc"), d = name(f, "dd");
	uint32_t acc = name(f, "accuser");

	swim_bcast_accuse(f->s, SWIM_MSG_SUSPECT, a, 1, acc);
	swim_bcast_accuse(f->s, SWIM_MSG_SUSPECT, b, 1, acc);
	swim_bcast_accuse(f->s, SWIM_MSG_SUSPECT, c, 1, acc);
	/* The queue holds our own ALIVE from swim_new plus three. */
	assert_int_equal(f->s->bcast.len, 4);
	assert_int_equal(fill(f, got, 16), 4);
	assert_string_equal(got[0], "A:self");
	assert_string_equal(got[1], "S:cc");
	assert_string_equal(got[2], "S:bb");
	assert_string_equal(got[3], "S:aa");

	/* A new item (0 transmits) goes before the ones sent once. */
	swim_bcast_accuse(f->s, SWIM_MSG_DEAD, d, 2, acc);
	assert_int_equal(fill(f, got, 16), 5);
	assert_string_equal(got[0], "A:self");
	assert_string_equal(got[1], "D:dd");
	assert_string_equal(got[2], "S:cc");

	/* Newer news about bb supersedes the pending SUSPECT. */
	swim_bcast_accuse(f->s, SWIM_MSG_DEAD, b, 1, acc);
	assert_int_equal(f->s->bcast.len, 5);
	assert_int_equal(fill(f, got, 16), 5);
	assert_string_equal(got[1], "D:bb");
	for (int i = 2; i < 5; i++)
		assert_string_not_equal(got[i], "S:bb");

	uint32_t ids[] = {a, b, c, d, acc};
	for (int i = 0; i < 5; i++)
		swim_pool_name_unref(f->pool, ids[i]);
}

static void test_transmit_limit(void **state)
{
	struct fixture *f = *state;
	char got[4][80];
	uint32_t a = name(f, "aa");
	/* N = 1 (just us): limit = 4 * ceil(log10 2) = 4. */
	assert_int_equal(swim_retransmit_limit(4, 1), 4);
	assert_int_equal(swim_retransmit_limit(4, 9), 4);
	assert_int_equal(swim_retransmit_limit(4, 10), 8);
	assert_int_equal(swim_retransmit_limit(4, 10000), 20);
	swim_bcast_accuse(f->s, SWIM_MSG_SUSPECT, a, 1, a);
	for (int i = 0; i < 4; i++)
		assert_int_equal(fill(f, got, 4), 2);
	assert_int_equal(f->s->bcast.len, 0);
	assert_int_equal(fill(f, got, 4), 0);
	swim_pool_name_unref(f->pool, a);
}

static void test_budget_and_cap(void **state)
{
	struct fixture *f = *state;
	char nm[32];
	static char got[1][80];
	uint32_t acc = name(f, "accuser");
	for (int i = 0; i < SWIM_BCAST_MAX + 50; i++) {
		uint32_t id;
		int n = snprintf(nm, sizeof(nm), "member-%05d", i);
		assert_int_equal(
		        swim_pool_name_intern(f->pool, (const uint8_t *)nm, (uint32_t)n, &id), 0);
		assert_int_equal(swim_bcast_accuse(f->s, SWIM_MSG_SUSPECT, id, 1, acc), 0);
		swim_pool_name_unref(f->pool, id);
	}
	assert_int_equal(f->s->bcast.len, SWIM_BCAST_MAX);
	/* Our own ALIVE survived the evictions (it sorts first). */
	uint32_t n = fill(f, got, 1);
	assert_string_equal(got[0], "A:self");
	/* [6, "member-00000", 1, "accuser"] is 23 bytes; after our ALIVE the
	 * rest of 1359 - 5 bytes holds as many as fit. */
	assert_true(n > 40 && n < 60);
	assert_true(f->s->tx.len > swim_tx_budget(f->s) - 23);
	swim_pool_name_unref(f->pool, acc);
}

static void test_blob_items(void **state)
{
	struct fixture *f = *state;
	char got[4][80];
	static const uint8_t key[32] = {1};
	/* A key op rides the queue as a stored message. */
	assert_int_equal(shoal_keyring_install(&f->kr, key), 0);
	assert_int_equal(swim_keyring_op(f->s, 2000, SWIM_KEY_INSTALL, (uint8_t[32]){2}), 0);
	assert_int_equal(f->s->bcast.len, 2);
	assert_int_equal(fill(f, got, 4), 2);
	assert_string_equal(got[0], "A:self");
	assert_true(got[1][0] == 'K');
	/* Leaving replaces our pending ALIVE with the signed LEAVE. */
	assert_int_equal(swim_leave(f->s, 3000), 0);
	assert_int_equal(fill(f, got, 4), 2);
	assert_string_equal(got[0], "L:self");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_order, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_transmit_limit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_budget_and_cap, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_blob_items, setup, teardown),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
