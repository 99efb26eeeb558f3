/*
 * test_intent_gossip.c - the intent store's half of its replication
 * mapping (intent_gossip.h), the code shoald and shoalsim both run: keys,
 * the id a pulled envelope hashes to, the held version (a parked envelope
 * included), bucket hashes folded from the store's own, and the checks
 * before a pulled envelope reaches the store.
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
#include "shoal/intent_gossip.h"
#include "shoal/intent_store.h"

#include "intent_fixture.h"

struct fx {
	struct trust_roots roots;
	struct fx_key root, op;
	struct shoal_env env;
	struct intent_store *s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	fx_key(&f->root, 1);
	fx_key(&f->op, 2);
	trust_roots_create(&f->roots);
	trust_roots_add(&f->roots, f->root.pk);
	struct intent_store_config cfg = {.roots = &f->roots};
	assert_int_equal(intent_store_new(&f->s, &cfg, &f->env, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	intent_store_delete(f->s);
	free(f);
	return 0;
}

/* Offer `b` as pulled under `key` with digest `id`. */
static enum intent_outcome pulled(struct fx *f, const struct shoal_buf *b, const char *key,
                                  const uint8_t id[32], struct intent_error *err, bool *other_key)
{
	struct intent_offer o = {.bytes = b->data,
	                         .len = b->len,
	                         .now_ms = FX_NOW_MS,
	                         .source = INTENT_FROM_PEER,
	                         .from = "peer-1"};
	return intent_gossip_offer(f->s, &o, (const uint8_t *)key, strlen(key), id, err, other_key);
}

static void test_key_parse(void **state)
{
	(void)state;
	enum intent_kind kind;
	char name[INTENT_NAME_MAX + 1];
	const char *good = "App/web";
	assert_int_equal(intent_gossip_key_parse((const uint8_t *)good, strlen(good), &kind, name),
	                 0);
	assert_int_equal(kind, INTENT_APP);
	assert_string_equal(name, "web");
	/* Only the first len bytes count: the same key inside a longer buffer. */
	const char *longer = "App/webXYZ";
	assert_int_equal(intent_gossip_key_parse((const uint8_t *)longer, 7, &kind, name), 0);
	assert_string_equal(name, "web");

	const char *bad[] = {"App", "App/", "/web", "Nope/web", "~site", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(intent_gossip_key_parse((const uint8_t *)bad[i], strlen(bad[i]),
		                                         &kind, name),
		                 -1);
	const uint8_t nul[] = {'A', 'p', 'p', '/', 'w', 0, 'b'};
	assert_int_equal(intent_gossip_key_parse(nul, sizeof(nul), &kind, name), -1);
	char big[INTENT_NAME_MAX + 8];
	memcpy(big, "App/", 4);
	memset(big + 4, 'a', INTENT_NAME_MAX + 1);
	assert_int_equal(
	        intent_gossip_key_parse((const uint8_t *)big, 4 + INTENT_NAME_MAX + 1, &kind, name),
	        -1);
	assert_int_equal(
	        intent_gossip_key_parse((const uint8_t *)big, 4 + INTENT_NAME_MAX, &kind, name), 0);
}

/* The digest of the bytes is the intent id, whatever the signature says:
 * an envelope with its signature altered hashes to the same id (and the
 * store, not the digest, refuses it). */
static void test_envelope_id_is_the_intent_id(void **state)
{
	struct fx *f = *state;
	struct shoal_buf b = fx_app("web", fx_hlc(0, 1), &f->root, "v: 1\n");
	uint8_t id[32], damaged_id[32];
	struct intent_envelope e;
	assert_int_equal(intent_envelope_decode(b.data, b.len, &e, NULL), 0);
	assert_int_equal(intent_gossip_envelope_id(b.data, b.len, id), 0);
	assert_memory_equal(id, e.id, 32);

	b.data[b.len - 5] ^= 0x40; /* inside the 64-byte signature, the last field */
	assert_int_equal(intent_gossip_envelope_id(b.data, b.len, damaged_id), 0);
	assert_memory_equal(id, damaged_id, 32);
	struct intent_error err = {0};
	bool other = true;
	assert_int_equal(pulled(f, &b, "App/web", id, &err, &other), INTENT_REJECTED);
	assert_false(other);
	assert_int_equal(err.reason, INTENT_R_SIGNATURE);
	assert_null(intent_store_get(f->s, INTENT_APP, "web"));

	assert_int_equal(intent_gossip_envelope_id(b.data, b.len / 2, id), -1);
	const uint8_t junk[] = {0x93, 0x01, 0x02, 0x03};
	assert_int_equal(intent_gossip_envelope_id(junk, sizeof(junk), id), -1);
	shoal_buf_destroy(&b);
}

static void test_offer_checks_key_and_id(void **state)
{
	struct fx *f = *state;
	struct shoal_buf b = fx_app("web", fx_hlc(0, 1), &f->root, "v: 1\n");
	struct shoal_buf other = fx_app("db", fx_hlc(0, 2), &f->root, "v: 2\n");
	uint8_t id[32], other_id[32], before[32], after[32];
	struct intent_error err = {0};
	bool other_key = false;
	assert_int_equal(intent_gossip_envelope_id(b.data, b.len, id), 0);
	assert_int_equal(intent_gossip_envelope_id(other.data, other.len, other_id), 0);
	intent_store_digest(f->s, before);

	/* Another key's envelope: refused before the store, nothing changed. */
	assert_int_equal(pulled(f, &other, "App/web", other_id, &err, &other_key), INTENT_REJECTED);
	assert_true(other_key);
	assert_int_equal(err.reason, INTENT_R_MALFORMED);
	assert_non_null(strstr(err.text, "App/db"));
	/* The right key under another id: the store refuses it. */
	assert_int_equal(pulled(f, &b, "App/web", other_id, &err, &other_key), INTENT_REJECTED);
	assert_false(other_key);
	/* Bytes that are no envelope. */
	struct shoal_buf cut = b;
	cut.len = b.len / 2;
	assert_int_equal(pulled(f, &cut, "App/web", id, &err, &other_key), INTENT_REJECTED);
	assert_int_equal(err.reason, INTENT_R_MALFORMED);
	intent_store_digest(f->s, after);
	assert_memory_equal(before, after, 32);
	assert_int_equal(intent_store_count(f->s), 0);

	/* As announced: committed, then held at its version and id. */
	assert_int_equal(pulled(f, &b, "App/web", id, &err, NULL), INTENT_ACCEPTED);
	assert_int_equal(pulled(f, &b, "App/web", id, &err, NULL), INTENT_DUPLICATE);
	uint64_t version;
	uint8_t held[32];
	assert_int_equal(intent_gossip_held(f->s, INTENT_APP, "web", &version, held), 0);
	assert_int_equal(version, fx_hlc(0, 1));
	assert_memory_equal(held, id, 32);
	assert_int_equal(intent_gossip_held(f->s, INTENT_APP, "db", &version, held),
	                 SHOAL_E_NOT_FOUND);
	shoal_buf_destroy(&b);
	shoal_buf_destroy(&other);
}

/* An envelope parked for its signer's grant is held as far as fetching
 * goes, at its own version, when it is newer than the committed one. */
static void test_parked_counts_as_held(void **state)
{
	struct fx *f = *state;
	struct shoal_buf old = fx_app("web", fx_hlc(0, 1), &f->root, "v: 1\n");
	struct shoal_buf early = fx_app("web", fx_hlc(0, 9), &f->op, "v: 2\n");
	uint8_t id_old[32], id_early[32], held[32];
	uint64_t version;
	struct intent_error err = {0};
	assert_int_equal(intent_gossip_envelope_id(old.data, old.len, id_old), 0);
	assert_int_equal(intent_gossip_envelope_id(early.data, early.len, id_early), 0);
	assert_int_equal(pulled(f, &old, "App/web", id_old, &err, NULL), INTENT_ACCEPTED);
	assert_int_equal(pulled(f, &early, "App/web", id_early, &err, NULL), INTENT_PENDING);
	assert_int_equal(intent_gossip_held(f->s, INTENT_APP, "web", &version, held), 0);
	assert_int_equal(version, fx_hlc(0, 9));
	assert_memory_equal(held, id_early, 32);
	/* What the store itself holds is unchanged. */
	assert_memory_equal(intent_store_get(f->s, INTENT_APP, "web")->env.id, id_old, 32);
	shoal_buf_destroy(&old);
	shoal_buf_destroy(&early);
}

/* Folding: at INTENT_BUCKETS each hash is the first 8 bytes of the store's
 * bucket; at 2^k each is the XOR of the 2^(12-k) store buckets it covers;
 * at 1 it is the XOR of all. Counts that are not a power of two in range
 * are refused. */
static void test_bucket_hashes_fold(void **state)
{
	struct fx *f = *state;
	char name[16];
	struct intent_error err = {0};
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "app-%02d", i);
		struct shoal_buf b = fx_app(name, fx_hlc(0, (uint16_t)(i + 1)), &f->root, "v: 1\n");
		struct intent_offer o = {.bytes = b.data,
		                         .len = b.len,
		                         .now_ms = FX_NOW_MS,
		                         .source = INTENT_FROM_PEER,
		                         .from = "peer-1"};
		assert_int_equal(intent_store_offer(f->s, &o, &err), INTENT_ACCEPTED);
		shoal_buf_destroy(&b);
	}
	uint64_t *full = calloc(INTENT_BUCKETS, sizeof(*full));
	uint64_t part[256], one, all = 0;
	assert_non_null(full);
	assert_int_equal(intent_gossip_bucket_hashes(f->s, INTENT_BUCKETS, full), 0);
	uint32_t nonzero = 0;
	for (uint32_t b = 0; b < INTENT_BUCKETS; b++) {
		const uint8_t *x = intent_store_bucket(f->s, (uint16_t)b);
		uint64_t h = 0;
		for (int i = 0; i < 8; i++)
			h = h << 8 | x[i];
		assert_true(full[b] == h);
		nonzero += h != 0;
		all ^= h;
	}
	assert_true(nonzero > 30); /* 40 keys over 4096 buckets: few collide */
	assert_int_equal(intent_gossip_bucket_hashes(f->s, 256, part), 0);
	for (uint32_t p = 0; p < 256; p++) {
		uint64_t x = 0;
		for (uint32_t b = p * 16; b < (p + 1) * 16; b++)
			x ^= full[b];
		assert_true(part[p] == x);
	}
	assert_int_equal(intent_gossip_bucket_hashes(f->s, 1, &one), 0);
	assert_true(one == all);
	uint32_t shift;
	assert_int_equal(intent_gossip_fold_shift(256, &shift), 0);
	assert_int_equal(shift, 4);
	assert_int_equal(intent_gossip_fold_shift(INTENT_BUCKETS, &shift), 0);
	assert_int_equal(shift, 0);
	const uint32_t bad[] = {0, 3, 100, INTENT_BUCKETS * 2};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(intent_gossip_fold_shift(bad[i], &shift), SHOAL_E_RANGE);
		assert_int_equal(intent_gossip_bucket_hashes(f->s, bad[i], part), SHOAL_E_RANGE);
	}
	free(full);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_key_parse),
	        cmocka_unit_test_setup_teardown(test_envelope_id_is_the_intent_id, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_offer_checks_key_and_id, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_parked_counts_as_held, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bucket_hashes_fold, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
