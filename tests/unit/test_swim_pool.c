/*
 * test_swim_pool.c - interned names and signed records.
 *
 * What the pool promises: one id per name while referenced, ids reused after
 * release; one record per exact signed bytes, shared by reference count;
 * a signature checked once per distinct record however often its bytes
 * arrive; nothing unverified ever stored; memory given back at zero.
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
#include "shoal/swim.h"

#include "../../gossip/swim_internal.h"

static int verify_calls;

static int counting_verify(void *ctx, const uint8_t sig[64], const uint8_t *msg, size_t len,
                           const uint8_t pk[32])
{
	(void)ctx;
	verify_calls++;
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : SHOAL_E_SIGNATURE;
}

static const struct shoal_env env = {.verify = counting_verify};

/* A signed ALIVE body for `name` at `inc`. */
struct signed_rec {
	uint8_t body[SWIM_BODY_MAX];
	uint32_t len;
	uint8_t sig[64];
	struct swim_alive_body a;
};

static void make_rec(struct signed_rec *r, const char *name, uint32_t inc, const uint8_t *pk,
                     const uint8_t *sk)
{
	struct shoal_buf b;
	struct swim_alive_body a;
	memset(&a, 0, sizeof(a));
	a.name.p = (const uint8_t *)name;
	a.name.len = (uint32_t)strlen(name);
	a.incarnation = inc;
	a.addr.family = 4;
	a.addr.ip[0] = 10;
	a.addr.port = 7946;
	a.pubkey = pk;
	a.labels = (const uint8_t *)"\x81\xa1k\xa1v";
	a.labels_len = 5;
	a.version.p = (const uint8_t *)"1.2.3";
	a.version.len = 5;
	shoal_buf_create(&b, SWIM_BODY_MAX);
	assert_int_equal(swim_proto_encode_alive_body(&b, &a), 0);
	memcpy(r->body, b.data, b.len);
	r->len = (uint32_t)b.len;
	shoal_buf_destroy(&b);
	crypto_sign_detached(r->sig, NULL, r->body, r->len, sk);
	assert_int_equal(swim_proto_decode_alive_body(r->body, r->len, &r->a), 0);
}

static void test_names(void **state)
{
	struct swim_pool *p;
	uint32_t a, a2, b, c;
	char buf[32];
	(void)state;
	assert_int_equal(swim_pool_new(&p), 0);
	assert_int_equal(swim_pool_name_intern(p, (const uint8_t *)"alpha", 5, &a), 0);
	assert_int_equal(swim_pool_name_intern(p, (const uint8_t *)"alpha", 5, &a2), 0);
	assert_int_equal(a, a2);
	assert_int_equal(p->names[a].refs, 2);
	assert_string_equal(swim_pool_name(p, a)->str, "alpha");
	assert_int_equal(swim_pool_name_intern(p, (const uint8_t *)"beta", 4, &b), 0);
	assert_true(a != b);
	assert_int_equal(swim_pool_name_find(p, (const uint8_t *)"beta", 4), b);
	assert_int_equal(swim_pool_name_find(p, (const uint8_t *)"bet", 3), SWIM_NONE);
	assert_int_equal(swim_pool_name_intern(p, (const uint8_t *)"", 0, &c), -EINVAL);

	/* Released ids are reused and the name is gone. */
	swim_pool_name_unref(p, b);
	assert_int_equal(swim_pool_name_find(p, (const uint8_t *)"beta", 4), SWIM_NONE);
	assert_int_equal(swim_pool_name_intern(p, (const uint8_t *)"gamma", 5, &c), 0);
	assert_int_equal(c, b);

	/* Thousands of names: every one found after the tables grew, and the
	 * chains stay intact when names in the middle of them are released. */
	static uint32_t ids[5000];
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(buf, sizeof(buf), "site-%d", i);
		assert_int_equal(
		        swim_pool_name_intern(p, (const uint8_t *)buf, (uint32_t)n, &ids[i]), 0);
	}
	for (int i = 0; i < 5000; i += 2)
		swim_pool_name_unref(p, ids[i]);
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(buf, sizeof(buf), "site-%d", i);
		uint32_t f = swim_pool_name_find(p, (const uint8_t *)buf, (uint32_t)n);
		assert_int_equal(f, i % 2 ? ids[i] : SWIM_NONE);
	}
	assert_int_equal(p->names_live, 2 + 2500);
	swim_pool_delete(p);
}

static void test_records_shared_and_verified_once(void **state)
{
	struct swim_pool *p;
	struct signed_rec r1, r2;
	uint8_t pk[32], sk[64];
	uint32_t rid, rid2, rid3;
	bool verified;
	(void)state;
	crypto_sign_keypair(pk, sk);
	make_rec(&r1, "alpha", 1, pk, sk);
	make_rec(&r2, "alpha", 2, pk, sk);
	assert_int_equal(swim_pool_new(&p), 0);
	verify_calls = 0;

	assert_int_equal(
	        swim_pool_record_get(p, &env, r1.body, r1.len, r1.sig, &r1.a, &rid, &verified), 0);
	assert_true(verified);
	/* The same bytes again (another node, another copy): no new check. */
	assert_int_equal(
	        swim_pool_record_get(p, &env, r1.body, r1.len, r1.sig, &r1.a, &rid2, &verified), 0);
	assert_false(verified);
	assert_int_equal(rid, rid2);
	assert_int_equal(verify_calls, 1);
	assert_int_equal(swim_pool_record(p, rid)->refs, 2);

	/* A newer record of the same member is another record, same name. */
	assert_int_equal(
	        swim_pool_record_get(p, &env, r2.body, r2.len, r2.sig, &r2.a, &rid3, &verified), 0);
	assert_true(rid3 != rid);
	assert_int_equal(swim_pool_record(p, rid3)->name_id, swim_pool_record(p, rid)->name_id);
	assert_int_equal(verify_calls, 2);

	const struct swim_record *r = swim_pool_record(p, rid);
	assert_int_equal(r->incarnation, 1);
	assert_string_equal(r->version, "1.2.3");
	assert_memory_equal(swim_record_pubkey(r), pk, 32);
	assert_int_equal(r->labels_len, 5);
	assert_memory_equal(r->body + r->labels_off, "\x81\xa1k\xa1v", 5);
	/* The digest hash of the member alive at this incarnation is cached
	 * in the record, equal to computing it; the newer record's differs. */
	const struct swim_pool_name *nm = swim_pool_name(p, r->name_id);
	assert_true(r->alive_hash == swim_pp_member_hash(nm, 1, SWIM_ALIVE));
	assert_true(swim_pool_record(p, rid3)->alive_hash ==
	            swim_pp_member_hash(nm, 2, SWIM_ALIVE));
	assert_true(r->alive_hash != swim_pool_record(p, rid3)->alive_hash);

	size_t with = swim_pool_bytes(p);
	assert_true(with > 2 * r1.len);
	swim_pool_record_unref(p, rid);
	swim_pool_record_unref(p, rid2);
	/* The first record is freed; its bytes again need a fresh check. */
	assert_true(swim_pool_bytes(p) < with);
	assert_int_equal(p->recs_live, 1);
	assert_int_equal(
	        swim_pool_record_get(p, &env, r1.body, r1.len, r1.sig, &r1.a, &rid, &verified), 0);
	assert_true(verified);
	swim_pool_record_unref(p, rid);
	swim_pool_record_unref(p, rid3);
	assert_int_equal(p->recs_live, 0);
	assert_int_equal(p->names_live, 0);
	swim_pool_delete(p);
}

static void test_forgery_never_stored(void **state)
{
	struct swim_pool *p;
	struct signed_rec good, forged;
	uint8_t pk[32], sk[64], pk2[32], sk2[64];
	uint32_t rid;
	bool verified;
	(void)state;
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	make_rec(&good, "alpha", 1, pk, sk);
	/* Claims pk but is signed by sk2. */
	make_rec(&forged, "alpha", 1, pk, sk2);
	assert_int_equal(swim_pool_new(&p), 0);
	assert_int_equal(swim_pool_record_get(p, &env, forged.body, forged.len, forged.sig,
	                                      &forged.a, &rid, &verified),
	                 SHOAL_E_SIGNATURE);
	assert_int_equal(p->recs_live, 0);
	assert_int_equal(p->names_live, 0);
	/* The good record's signature pasted onto other bytes. */
	memcpy(forged.sig, good.sig, 64);
	forged.body[forged.len - 1] ^= 1; /* version "1.2.3" -> "1.2.2" */
	assert_int_equal(swim_proto_decode_alive_body(forged.body, forged.len, &forged.a), 0);
	assert_int_equal(swim_pool_record_get(p, &env, good.body, good.len, good.sig, &good.a, &rid,
	                                      &verified),
	                 0);
	uint32_t rid2;
	/* Same signature, so the same bucket: the full comparison refuses it. */
	assert_int_equal(swim_pool_record_get(p, &env, forged.body, forged.len, forged.sig,
	                                      &forged.a, &rid2, &verified),
	                 SHOAL_E_SIGNATURE);
	assert_true(verified);
	assert_int_equal(p->recs_live, 1);
	swim_pool_record_unref(p, rid);
	swim_pool_delete(p);
}

static void test_many_records(void **state)
{
	struct swim_pool *p;
	uint8_t pk[32], sk[64];
	static struct signed_rec r;
	static uint32_t rids[2000];
	char nm[32];
	bool verified;
	(void)state;
	crypto_sign_keypair(pk, sk);
	assert_int_equal(swim_pool_new(&p), 0);
	for (int i = 0; i < 2000; i++) {
		snprintf(nm, sizeof(nm), "n%d", i);
		make_rec(&r, nm, (uint32_t)i, pk, sk);
		assert_int_equal(swim_pool_record_get(p, &env, r.body, r.len, r.sig, &r.a, &rids[i],
		                                      &verified),
		                 0);
	}
	/* Every record found again by its bytes after the table grew. */
	verify_calls = 0;
	for (int i = 0; i < 2000; i += 7) {
		uint32_t again;
		snprintf(nm, sizeof(nm), "n%d", i);
		make_rec(&r, nm, (uint32_t)i, pk, sk);
		assert_int_equal(swim_pool_record_get(p, &env, r.body, r.len, r.sig, &r.a, &again,
		                                      &verified),
		                 0);
		assert_int_equal(again, rids[i]);
		swim_pool_record_unref(p, again);
	}
	assert_int_equal(verify_calls, 0);
	print_message("pool with 2000 records of ~%u bytes: %zu bytes (%zu per record)\n", r.len,
	              swim_pool_bytes(p), swim_pool_bytes(p) / 2000);
	for (int i = 0; i < 2000; i++)
		swim_pool_record_unref(p, rids[i]);
	assert_int_equal(p->recs_live, 0);
	assert_int_equal(p->names_live, 0);
	assert_int_equal(p->rec_bytes, 0);
	swim_pool_delete(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_names),
	        cmocka_unit_test(test_records_shared_and_verified_once),
	        cmocka_unit_test(test_forgery_never_stored),
	        cmocka_unit_test(test_many_records),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
