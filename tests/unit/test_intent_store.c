/*
 * test_intent_store.c - the replicated intent map: merge order, tombstones
 * and their collection, the time rules, trust from replicated grants and
 * revokes, the pending set, and the anti-entropy digests.
 *
 * Every refusal is checked three ways: the outcome, the reason, and the
 * store digest before and after (nothing changed - not just "an error").
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
#include "shoal/intent_store.h"
#include "shoal/labels.h"
#include "shoal/selector.h"

#include "intent_fixture.h"

struct fx {
	struct trust_roots roots;
	struct fx_key root, op, stranger;
	struct shoal_env env;
	struct intent_store *s;
	int persists;     /* persist hook calls */
	int fail_persist; /* make the hook fail */
	int commits;      /* committed hook calls */
	int forgets;      /* forget hook calls */
};

static int hook_persist(void *ctx, const struct intent_item *it, const struct intent_item *old)
{
	struct fx *f = ctx;
	(void)it;
	(void)old;
	f->persists++;
	return f->fail_persist ? -5 : 0;
}

static int hook_forget(void *ctx, const struct intent_item *it)
{
	(void)it;
	((struct fx *)ctx)->forgets++;
	return 0;
}

static void hook_committed(void *ctx, const struct intent_item *it)
{
	(void)it;
	((struct fx *)ctx)->commits++;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	fx_key(&f->root, 1);
	fx_key(&f->op, 2);
	fx_key(&f->stranger, 3);
	trust_roots_create(&f->roots);
	trust_roots_add(&f->roots, f->root.pk);
	struct intent_store_config cfg = {.roots = &f->roots};
	struct intent_store_hooks hooks = {.ctx = f,
	                                   .persist = hook_persist,
	                                   .forget = hook_forget,
	                                   .committed = hook_committed};
	assert_int_equal(intent_store_new(&f->s, &cfg, &f->env, &hooks), 0);
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

static enum intent_outcome offer(struct fx *f, const struct shoal_buf *b, enum intent_source src,
                                 uint64_t now_ms, struct intent_error *err)
{
	struct intent_offer o = {.bytes = b->data,
	                         .len = b->len,
	                         .now_ms = now_ms,
	                         .source = src,
	                         .from = src == INTENT_FROM_API ? "api" : "peer-1"};
	return intent_store_offer(f->s, &o, err);
}

/* Offer and free; assert the outcome. */
static void offer_ok(struct fx *f, struct shoal_buf b, enum intent_source src,
                     enum intent_outcome want)
{
	struct intent_error err = {0};
	enum intent_outcome got = offer(f, &b, src, FX_NOW_MS, &err);
	if (got != want)
		fail_msg("outcome %d, want %d (%s: %s)", got, want, intent_reason_name(err.reason),
		         err.text);
	shoal_buf_destroy(&b);
}

/* Offer, expect a refusal for `reason`, and check that nothing changed. */
static void refused(struct fx *f, struct shoal_buf b, enum intent_source src, uint64_t now_ms,
                    enum intent_reason reason)
{
	uint8_t before[32], after[32];
	struct intent_error err = {0};
	size_t count = intent_store_count(f->s), pending = intent_store_pending(f->s);
	int persists = f->persists;
	intent_store_digest(f->s, before);
	enum intent_outcome got = offer(f, &b, src, now_ms, &err);
	if (got != INTENT_REJECTED || err.reason != reason)
		fail_msg("outcome %d reason %s (%s), want rejected %s", got,
		         intent_reason_name(err.reason), err.text, intent_reason_name(reason));
	assert_true(err.text[0] != '\0');
	intent_store_digest(f->s, after);
	assert_memory_equal(before, after, 32);
	assert_int_equal(intent_store_count(f->s), count);
	assert_int_equal(intent_store_pending(f->s), pending);
	assert_int_equal(f->persists, persists);
	shoal_buf_destroy(&b);
}

static struct shoal_buf grant(struct fx *f, const char *name, const struct fx_key *to,
                              const char *expires, uint64_t hlc, const struct fx_key *signer)
{
	struct shoal_buf spec;
	char pub[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	(void)f;
	sodium_bin2base64(pub, sizeof(pub), to->pk, 32, sodium_base64_VARIANT_ORIGINAL);
	const char *kv[] = {"pub", pub, "scope", "country=jp", "expires", expires, NULL};
	fx_spec(&spec, kv);
	struct intent_draft d = fx_draft(INTENT_KEY_GRANT, name, &spec, hlc, signer);
	d.target_type = INTENT_TARGET_NONE;
	struct shoal_buf env = fx_sign(&d, signer);
	shoal_buf_destroy(&spec);
	return env;
}

static struct shoal_buf revoke(const char *name, const struct fx_key *who, uint64_t hlc,
                               const struct fx_key *signer)
{
	struct shoal_buf spec;
	char pub[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(pub, sizeof(pub), who->pk, 32, sodium_base64_VARIANT_ORIGINAL);
	const char *kv[] = {"pub", pub, NULL};
	fx_spec(&spec, kv);
	struct intent_draft d = fx_draft(INTENT_KEY_REVOKE, name, &spec, hlc, signer);
	d.target_type = INTENT_TARGET_NONE;
	struct shoal_buf env = fx_sign(&d, signer);
	shoal_buf_destroy(&spec);
	return env;
}

static struct shoal_buf tombstone(const char *name, uint64_t hlc, uint64_t replaces,
                                  const struct fx_key *k)
{
	struct intent_draft d = fx_draft(INTENT_APP, name, NULL, hlc, k);
	d.op = INTENT_DELETE;
	d.target_type = INTENT_TARGET_NONE;
	d.replaces = replaces;
	return fx_sign(&d, k);
}

/* ---- merge ---- */

static void test_accept_get_and_duplicate(void **state)
{
	struct fx *f = *state;
	offer_ok(f, fx_app("kuard", fx_hlc(0, 0), &f->root, "a: 1\n"), INTENT_FROM_API,
	         INTENT_ACCEPTED);
	const struct intent_item *it = intent_store_get(f->s, INTENT_APP, "kuard");
	assert_non_null(it);
	assert_string_equal(it->from, "api");
	assert_true(it->received_ms == FX_NOW_MS);
	assert_ptr_equal(intent_store_get_id(f->s, it->env.id), it);
	assert_int_equal(intent_store_status(f->s, it), INTENT_EFFECTIVE);
	char key[INTENT_KEY_MAX];
	intent_store_key(it, key);
	assert_string_equal(key, "App/kuard");
	assert_int_equal(f->persists, 1);
	assert_int_equal(f->commits, 1);
	offer_ok(f, fx_app("kuard", fx_hlc(0, 0), &f->root, "a: 1\n"), INTENT_FROM_PEER,
	         INTENT_DUPLICATE);
	assert_int_equal(f->persists, 1);
	assert_int_equal(intent_store_stats(f->s)->duplicates, 1);
}

/* Apply the same set of envelopes in every order to fresh stores: one
 * winner per key and one digest, whatever the order. */
static void test_every_order_converges(void **state)
{
	struct fx *f = *state;
	struct fx_key k2;
	fx_key(&k2, 9);
	trust_roots_add(&f->roots, k2.pk);
	struct shoal_buf v[4] = {
	        fx_app("web", fx_hlc(0, 1), &f->root, "v: 1\n"),
	        fx_app("web", fx_hlc(0, 2), &f->root, "v: 2\n"),
	        fx_app("web", fx_hlc(0, 2), &k2, "v: 3\n"),  /* same hlc, other signer */
	        tombstone("web", fx_hlc(0, 2), 0, &f->root), /* same hlc and signer as v[1] */
	};
	static const int perms[][4] = {{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}, {1, 3, 0, 2}};
	uint8_t first[32], d[32], winner_id[32];
	for (size_t p = 0; p < 4; p++) {
		struct intent_store *s;
		struct intent_store_config cfg = {.roots = &f->roots};
		assert_int_equal(intent_store_new(&s, &cfg, &f->env, NULL), 0);
		for (int i = 0; i < 4; i++) {
			const struct shoal_buf *b = &v[perms[p][i]];
			struct intent_offer o = {.bytes = b->data,
			                         .len = b->len,
			                         .now_ms = FX_NOW_MS,
			                         .source = INTENT_FROM_PEER,
			                         .from = "x"};
			intent_store_offer(s, &o, NULL);
		}
		const struct intent_item *w = intent_store_get(s, INTENT_APP, "web");
		assert_non_null(w);
		intent_store_digest(s, d);
		if (p == 0) {
			memcpy(first, d, 32);
			memcpy(winner_id, w->env.id, 32);
			/* the larger signer wins at equal hlc, the larger id at equal signer */
			assert_true(w->env.body.hlc == fx_hlc(0, 2));
		}
		assert_memory_equal(d, first, 32);
		assert_memory_equal(w->env.id, winner_id, 32);
		intent_store_delete(s);
	}
	for (int i = 0; i < 4; i++)
		shoal_buf_destroy(&v[i]);
}

static void test_older_version_replayed_refused(void **state)
{
	struct fx *f = *state;
	struct shoal_buf old = fx_app("kuard", fx_hlc(0, 1), &f->root, "v: 1\n");
	struct shoal_buf copy;
	shoal_buf_create(&copy, old.len);
	shoal_buf_append(&copy, old.data, old.len);
	offer_ok(f, old, INTENT_FROM_API, INTENT_ACCEPTED);
	/* a peer's newer version (replicas merge; `replaces` is judged at the API) */
	offer_ok(f, fx_app("kuard", fx_hlc(10, 0), &f->root, "v: 2\n"), INTENT_FROM_PEER,
	         INTENT_ACCEPTED);
	refused(f, copy, INTENT_FROM_PEER, FX_NOW_MS, INTENT_R_STALE);
}

static void test_replaces_older_than_held_conflicts(void **state)
{
	struct fx *f = *state;
	struct shoal_buf spec;
	const char *kv[] = {"manifests", "v: 2\n", NULL};
	offer_ok(f, fx_app("kuard", fx_hlc(0, 5), &f->root, "v: 1\n"), INTENT_FROM_API,
	         INTENT_ACCEPTED);
	fx_spec(&spec, kv);
	/* replaces 0 while version (0,5) is held: 409 at the API */
	struct intent_draft d = fx_draft(INTENT_APP, "kuard", &spec, fx_hlc(1, 0), &f->root);
	refused(f, fx_sign(&d, &f->root), INTENT_FROM_API, FX_NOW_MS, INTENT_R_CONFLICT);
	/* replacing a version older than the one held: still 409 */
	d.replaces = fx_hlc(0, 4);
	struct shoal_buf b = fx_sign(&d, &f->root);
	refused(f, b, INTENT_FROM_API, FX_NOW_MS, INTENT_R_CONFLICT);
	d.force = true;
	offer_ok(f, fx_sign(&d, &f->root), INTENT_FROM_API, INTENT_ACCEPTED);
	d.force = false;
	d.hlc = fx_hlc(2, 0);
	d.replaces = fx_hlc(1, 0);
	offer_ok(f, fx_sign(&d, &f->root), INTENT_FROM_API, INTENT_ACCEPTED);
	shoal_buf_destroy(&spec);
}

static void test_tombstone_wins_and_is_collected(void **state)
{
	struct fx *f = *state;
	offer_ok(f, fx_app("kuard", fx_hlc(0, 0), &f->root, "v: 1\n"), INTENT_FROM_API,
	         INTENT_ACCEPTED);
	offer_ok(f, tombstone("kuard", fx_hlc(1, 0), fx_hlc(0, 0), &f->root), INTENT_FROM_API,
	         INTENT_ACCEPTED);
	const struct intent_item *it = intent_store_get(f->s, INTENT_APP, "kuard");
	assert_int_equal(it->env.body.op, INTENT_DELETE);
	assert_int_equal(intent_store_status(f->s, it), INTENT_DELETED);
	/* the put it deleted cannot come back */
	refused(f, fx_app("kuard", fx_hlc(0, 0), &f->root, "v: 1\n"), INTENT_FROM_PEER, FX_NOW_MS,
	        INTENT_R_STALE);
	/* not yet past the horizon: kept */
	assert_int_equal(intent_store_gc(f->s, FX_NOW_MS + INTENT_HORIZON_MS), 0);
	assert_int_equal(intent_store_count(f->s), 1);
	assert_int_equal(intent_store_gc(f->s, FX_NOW_MS + INTENT_HORIZON_MS + 2), 1);
	assert_int_equal(intent_store_count(f->s), 0);
	assert_int_equal(f->forgets, 1);
	uint8_t empty[32], d[32];
	struct intent_store *s;
	struct intent_store_config cfg = {.roots = &f->roots};
	intent_store_new(&s, &cfg, &f->env, NULL);
	intent_store_digest(s, empty);
	intent_store_digest(f->s, d);
	assert_memory_equal(d, empty, 32);
	intent_store_delete(s);
	/* after collection a replay is older than the horizon: refused */
	refused(f, fx_app("kuard", fx_hlc(0, 0), &f->root, "v: 1\n"), INTENT_FROM_PEER,
	        FX_NOW_MS + INTENT_HORIZON_MS + 2, INTENT_R_HORIZON);
}

static void test_resync_skips_horizon(void **state)
{
	struct fx *f = *state;
	uint64_t later = FX_NOW_MS + INTENT_HORIZON_MS + 1000;
	struct shoal_buf b = fx_app("old", fx_hlc(0, 0), &f->root, "v: 1\n");
	struct intent_error err;
	assert_int_equal(offer(f, &b, INTENT_FROM_RESYNC, later, &err), INTENT_ACCEPTED);
	shoal_buf_destroy(&b);
}

/* ---- bad input: each refused, the store unchanged ---- */

static void seed_store(struct fx *f)
{
	offer_ok(f, fx_app("one", fx_hlc(0, 0), &f->root, "v: 1\n"), INTENT_FROM_API,
	         INTENT_ACCEPTED);
	offer_ok(f, fx_app("two", fx_hlc(0, 1), &f->root, "v: 1\n"), INTENT_FROM_API,
	         INTENT_ACCEPTED);
}

static void test_bad_signature(void **state)
{
	struct fx *f = *state;
	seed_store(f);
	struct shoal_buf b = fx_app("one", fx_hlc(1, 0), &f->root, "v: 2\n");
	b.data[b.len - 3] ^= 0x40;
	refused(f, b, INTENT_FROM_API, FX_NOW_MS, INTENT_R_SIGNATURE);
}

static void test_body_hash_mismatch(void **state)
{
	struct fx *f = *state;
	seed_store(f);
	struct shoal_buf b = fx_app("one", fx_hlc(1, 0), &f->root, "v: 2\n");
	uint8_t announced[32] = {1};
	uint8_t before[32], after[32];
	struct intent_error err;
	struct intent_offer o = {.bytes = b.data,
	                         .len = b.len,
	                         .now_ms = FX_NOW_MS,
	                         .source = INTENT_FROM_PEER,
	                         .from = "p",
	                         .expect_id = announced};
	intent_store_digest(f->s, before);
	assert_int_equal(intent_store_offer(f->s, &o, &err), INTENT_REJECTED);
	assert_int_equal(err.reason, INTENT_R_HASH_MISMATCH);
	intent_store_digest(f->s, after);
	assert_memory_equal(before, after, 32);
	/* announced under its real id: accepted */
	o.expect_id = o.id;
	assert_int_equal(intent_store_offer(f->s, &o, &err), INTENT_ACCEPTED);
	shoal_buf_destroy(&b);
}

static void test_unknown_signer_at_api(void **state)
{
	struct fx *f = *state;
	seed_store(f);
	refused(f, fx_app("one", fx_hlc(1, 0), &f->stranger, "v: 2\n"), INTENT_FROM_API, FX_NOW_MS,
	        INTENT_R_UNKNOWN_SIGNER);
}

static void test_skew_bound_at_api(void **state)
{
	struct fx *f = *state;
	seed_store(f);
	refused(f, fx_app("three", fx_hlc(INTENT_SKEW_MS + 1, 0), &f->root, "v: 1\n"),
	        INTENT_FROM_API, FX_NOW_MS, INTENT_R_SKEW);
	/* behind by more than the bound, but inside the horizon: also skew */
	refused(f, fx_app("three", fx_hlc(0, 0), &f->root, "v: 1\n"), INTENT_FROM_API,
	        FX_NOW_MS + INTENT_SKEW_MS + 1, INTENT_R_SKEW);
	/* exactly at the bound: accepted */
	offer_ok(f, fx_app("three", fx_hlc(INTENT_SKEW_MS, 0), &f->root, "v: 1\n"), INTENT_FROM_API,
	         INTENT_ACCEPTED);
}

static void test_older_than_horizon(void **state)
{
	struct fx *f = *state;
	seed_store(f);
	refused(f, fx_app("three", fx_hlc(0, 0), &f->root, "v: 1\n"), INTENT_FROM_PEER,
	        FX_NOW_MS + INTENT_HORIZON_MS + 1, INTENT_R_HORIZON);
}

static void test_spec_over_size_and_schema(void **state)
{
	struct fx *f = *state;
	seed_store(f);
	char *big = malloc(INTENT_SPEC_MAX + 1);
	memset(big, 'y', INTENT_SPEC_MAX);
	big[INTENT_SPEC_MAX] = '\0';
	refused(f, fx_app("big", fx_hlc(1, 0), &f->root, big), INTENT_FROM_API, FX_NOW_MS,
	        INTENT_R_TOO_BIG);
	free(big);
	struct shoal_buf spec;
	const char *kv[] = {"image", "x", NULL};
	fx_spec(&spec, kv);
	struct intent_draft d = fx_draft(INTENT_APP, "bad", &spec, fx_hlc(1, 0), &f->root);
	refused(f, fx_sign(&d, &f->root), INTENT_FROM_API, FX_NOW_MS, INTENT_R_SCHEMA);
	shoal_buf_destroy(&spec);
}

static void test_malformed_and_unknown_kind(void **state)
{
	struct fx *f = *state;
	seed_store(f);
	struct shoal_buf junk;
	shoal_buf_create(&junk, 64);
	shoal_buf_append(&junk, "\x92\xc4\x05\x81\xa1k", 6); /* body bin cut short */
	refused(f, junk, INTENT_FROM_API, FX_NOW_MS, INTENT_R_MALFORMED);
	/* a body naming a kind that does not exist, properly signed */
	struct shoal_buf body, env;
	msgpack_packer pk;
	uint8_t sig[64];
	shoal_buf_create(&body, 4096);
	shoal_packer_init(&pk, &body);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str(&pk, 4);
	msgpack_pack_str_body(&pk, "kind", 4);
	msgpack_pack_str(&pk, 6);
	msgpack_pack_str_body(&pk, "Secret", 6);
	crypto_sign_detached(sig, NULL, body.data, body.len, f->root.sk);
	shoal_buf_create(&env, 8192);
	intent_envelope_pack(body.data, body.len, sig, &env);
	refused(f, env, INTENT_FROM_API, FX_NOW_MS, INTENT_R_UNKNOWN_KIND);
	shoal_buf_destroy(&body);
}

static void test_persist_failure_changes_nothing(void **state)
{
	struct fx *f = *state;
	seed_store(f);
	uint8_t before[32], after[32];
	intent_store_digest(f->s, before);
	f->fail_persist = 1;
	struct shoal_buf b = fx_app("one", fx_hlc(1, 0), &f->root, "v: 2\n");
	struct intent_error err;
	struct intent_offer o = {.bytes = b.data,
	                         .len = b.len,
	                         .now_ms = FX_NOW_MS,
	                         .source = INTENT_FROM_PEER,
	                         .from = "p"};
	assert_int_equal(intent_store_offer(f->s, &o, &err), INTENT_REJECTED);
	assert_int_equal(err.reason, INTENT_R_STORE);
	intent_store_digest(f->s, after);
	assert_memory_equal(before, after, 32);
	assert_true(intent_store_get(f->s, INTENT_APP, "one")->env.body.hlc == fx_hlc(0, 0));
	shoal_buf_destroy(&b);
}

/* ---- trust ---- */

static void test_grant_lets_operator_sign_until_expiry(void **state)
{
	struct fx *f = *state;
	seed_store(f);
	offer_ok(f, grant(f, "op", &f->op, "2025-01-02T00:00:00Z", fx_hlc(0, 9), &f->root),
	         INTENT_FROM_API, INTENT_ACCEPTED);
	struct intent_grant g;
	assert_int_equal(intent_store_judge(f->s, f->op.pk, fx_hlc(0, 0), &g),
	                 INTENT_TRUST_GRANTED);
	assert_memory_equal(g.scope, "country=jp", 10);
	offer_ok(f, fx_app("ops-app", fx_hlc(1, 0), &f->op, "v: 1\n"), INTENT_FROM_API,
	         INTENT_ACCEPTED);
	/* past the expiry (judged at the intent's HLC, here with a node clock
	 * that agrees with it) */
	uint64_t day = 24 * 3600 * 1000;
	refused(f, fx_app("late", fx_hlc(day + 1, 0), &f->op, "v: 1\n"), INTENT_FROM_API,
	        FX_NOW_MS + day + 1, INTENT_R_EXPIRED);
	assert_int_equal(intent_store_judge(f->s, f->op.pk, fx_hlc(day + 1, 0), NULL),
	                 INTENT_TRUST_EXPIRED);
}

static struct shoal_buf app_targeting(const char *name, const char *selector,
                                      const struct fx_key *k)
{
	struct shoal_buf spec;
	const char *kv[] = {"manifests", "v: 1\n", NULL};
	fx_spec(&spec, kv);
	struct intent_draft d = fx_draft(INTENT_APP, name, &spec, fx_hlc(1, 0), k);
	d.target = selector;
	struct shoal_buf env = fx_sign(&d, k);
	shoal_buf_destroy(&spec);
	return env;
}

/* The grant's scope is country=jp: a target no site in Japan can match is
 * refused at the API; one that overlaps is taken (the effective target,
 * target AND scope, is judged per site when applying); a replica never
 * judges it, so nodes cannot disagree about what they hold. */
static void test_target_outside_scope_refused_at_api(void **state)
{
	struct fx *f = *state;
	seed_store(f);
	offer_ok(f, grant(f, "op", &f->op, "2025-01-02T00:00:00Z", fx_hlc(0, 9), &f->root),
	         INTENT_FROM_API, INTENT_ACCEPTED);
	refused(f, app_targeting("us-app", "country=us", &f->op), INTENT_FROM_API, FX_NOW_MS,
	        INTENT_R_OUT_OF_SCOPE);
	refused(f, app_targeting("us-app", "country notin (jp), region=x", &f->op), INTENT_FROM_API,
	        FX_NOW_MS, INTENT_R_OUT_OF_SCOPE);
	refused(f, app_targeting("us-app", "!country", &f->op), INTENT_FROM_API, FX_NOW_MS,
	        INTENT_R_OUT_OF_SCOPE);
	offer_ok(f, app_targeting("both", "country in (jp,us)", &f->op), INTENT_FROM_API,
	         INTENT_ACCEPTED);
	offer_ok(f, app_targeting("gpus", "gpu", &f->op), INTENT_FROM_API, INTENT_ACCEPTED);
	offer_ok(f, app_targeting("us-app", "country=us", &f->op), INTENT_FROM_PEER,
	         INTENT_ACCEPTED);
	/* roots have no scope */
	offer_ok(f, app_targeting("root-us", "country=us", &f->root), INTENT_FROM_API,
	         INTENT_ACCEPTED);
}

static void test_bad_selector_target_refused(void **state)
{
	struct fx *f = *state;
	seed_store(f);
	refused(f, app_targeting("bad", "region in ()", &f->root), INTENT_FROM_API, FX_NOW_MS,
	        INTENT_R_MALFORMED);
	refused(f, app_targeting("bad", "Region!!=x", &f->root), INTENT_FROM_PEER, FX_NOW_MS,
	        INTENT_R_MALFORMED);
}

static void test_only_roots_grant_and_revoke(void **state)
{
	struct fx *f = *state;
	seed_store(f);
	offer_ok(f, grant(f, "op", &f->op, "2030-01-01T00:00:00Z", fx_hlc(0, 9), &f->root),
	         INTENT_FROM_API, INTENT_ACCEPTED);
	/* a granted operator cannot grant further, nor revoke */
	refused(f, grant(f, "friend", &f->stranger, "2030-01-01T00:00:00Z", fx_hlc(1, 0), &f->op),
	        INTENT_FROM_API, FX_NOW_MS, INTENT_R_NOT_ROOT);
	refused(f, revoke("rv", &f->op, fx_hlc(1, 0), &f->op), INTENT_FROM_PEER, FX_NOW_MS,
	        INTENT_R_NOT_ROOT);
}

static void test_revoke_is_retroactive(void **state)
{
	struct fx *f = *state;
	offer_ok(f, grant(f, "op", &f->op, "2030-01-01T00:00:00Z", fx_hlc(0, 1), &f->root),
	         INTENT_FROM_API, INTENT_ACCEPTED);
	offer_ok(f, fx_app("ops-app", fx_hlc(0, 2), &f->op, "v: 1\n"), INTENT_FROM_API,
	         INTENT_ACCEPTED);
	offer_ok(f, revoke("op-revoked", &f->op, fx_hlc(0, 3), &f->root), INTENT_FROM_API,
	         INTENT_ACCEPTED);
	const struct intent_item *it = intent_store_get(f->s, INTENT_APP, "ops-app");
	assert_non_null(it);                                             /* still stored ... */
	assert_int_equal(intent_store_status(f->s, it), INTENT_REVOKED); /* ... not effective */
	refused(f, fx_app("more", fx_hlc(0, 4), &f->op, "v: 1\n"), INTENT_FROM_API, FX_NOW_MS,
	        INTENT_R_REVOKED);
	/* from a peer it is kept (same set on every node) and reported revoked */
	offer_ok(f, fx_app("more", fx_hlc(0, 4), &f->op, "v: 1\n"), INTENT_FROM_PEER,
	         INTENT_ACCEPTED);
	assert_int_equal(intent_store_status(f->s, intent_store_get(f->s, INTENT_APP, "more")),
	                 INTENT_REVOKED);
	/* deleting the revoke restores the key */
	struct intent_draft d =
	        fx_draft(INTENT_KEY_REVOKE, "op-revoked", NULL, fx_hlc(0, 5), &f->root);
	d.op = INTENT_DELETE;
	d.target_type = INTENT_TARGET_NONE;
	d.replaces = fx_hlc(0, 3);
	offer_ok(f, fx_sign(&d, &f->root), INTENT_FROM_API, INTENT_ACCEPTED);
	assert_int_equal(intent_store_status(f->s, it), INTENT_EFFECTIVE);
}

static int selects(struct fx *f, const char *name, const char *const *kv)
{
	struct shoal_label l[4];
	size_t n = 0;
	for (; kv[2 * n] != NULL; n++)
		l[n] = (struct shoal_label){kv[2 * n], kv[2 * n + 1]};
	struct shoal_labels labels = {l, n};
	return intent_store_selects(f->s, intent_store_get(f->s, INTENT_APP, name), &labels);
}

/* The effective target is the target AND the signer's scope (roots have
 * none), a virtual site is resolved through the store, and an intent whose
 * signer was revoked selects nothing. */
static void test_effective_target(void **state)
{
	struct fx *f = *state;
	const char *jp_gpu[] = {"country", "jp", "gpu", "a100", NULL};
	const char *us_gpu[] = {"country", "us", "gpu", "a100", NULL};
	const char *jp[] = {"country", "jp", NULL};
	offer_ok(f, grant(f, "op", &f->op, "2030-01-01T00:00:00Z", fx_hlc(0, 1), &f->root),
	         INTENT_FROM_API, INTENT_ACCEPTED);
	offer_ok(f, app_targeting("gpus", "gpu", &f->op), INTENT_FROM_API, INTENT_ACCEPTED);
	offer_ok(f, app_targeting("root-gpus", "gpu", &f->root), INTENT_FROM_API, INTENT_ACCEPTED);
	assert_int_equal(selects(f, "gpus", jp_gpu), 1);
	assert_int_equal(selects(f, "gpus", us_gpu), 0); /* outside the scope */
	assert_int_equal(selects(f, "gpus", jp), 0);     /* outside the target */
	assert_int_equal(selects(f, "root-gpus", us_gpu), 1);

	struct selector *sel;
	char err[256];
	assert_int_equal(intent_store_effective_target(f->s,
	                                               intent_store_get(f->s, INTENT_APP, "gpus"),
	                                               &sel, err, sizeof(err)),
	                 0);
	assert_string_equal(selector_canonical(sel), "country=jp,gpu");
	selector_delete(sel);

	/* a virtual site: nothing until the store holds it */
	struct shoal_buf spec;
	const char *kv[] = {"manifests", "v: 1\n", NULL};
	fx_spec(&spec, kv);
	struct intent_draft d = fx_draft(INTENT_APP, "vs-app", &spec, fx_hlc(1, 0), &f->root);
	d.target_type = INTENT_TARGET_VIRTUAL_SITE;
	d.target = "japan";
	offer_ok(f, fx_sign(&d, &f->root), INTENT_FROM_API, INTENT_ACCEPTED);
	shoal_buf_destroy(&spec);
	assert_int_equal(selects(f, "vs-app", jp), SHOAL_E_NOT_FOUND);
	const char *vs[] = {"selector", "country=jp", NULL};
	fx_spec(&spec, vs);
	d = fx_draft(INTENT_VIRTUAL_SITE, "japan", &spec, fx_hlc(1, 1), &f->root);
	d.target_type = INTENT_TARGET_NONE;
	offer_ok(f, fx_sign(&d, &f->root), INTENT_FROM_API, INTENT_ACCEPTED);
	shoal_buf_destroy(&spec);
	assert_int_equal(selects(f, "vs-app", jp), 1);
	assert_int_equal(selects(f, "vs-app", us_gpu), 0);

	/* revoked: selects nothing, says why */
	offer_ok(f, revoke("op-revoked", &f->op, fx_hlc(2, 0), &f->root), INTENT_FROM_API,
	         INTENT_ACCEPTED);
	assert_int_equal(selects(f, "gpus", jp_gpu), SHOAL_E_STATE);
	assert_int_equal(intent_store_effective_target(f->s,
	                                               intent_store_get(f->s, INTENT_APP, "gpus"),
	                                               &sel, err, sizeof(err)),
	                 SHOAL_E_STATE);
	assert_null(sel);
	assert_string_equal(err, "signer revoked");
}

static void test_pending_until_grant_arrives(void **state)
{
	struct fx *f = *state;
	uint8_t before[32], after[32];
	intent_store_digest(f->s, before);
	offer_ok(f, fx_app("early", fx_hlc(0, 5), &f->op, "v: 1\n"), INTENT_FROM_PEER,
	         INTENT_PENDING);
	/* parked: not in the map, not in the digest, not persisted */
	assert_int_equal(intent_store_pending(f->s), 1);
	assert_null(intent_store_get(f->s, INTENT_APP, "early"));
	intent_store_digest(f->s, after);
	assert_memory_equal(before, after, 32);
	assert_int_equal(f->persists, 0);
	/* the same again is not parked twice */
	offer_ok(f, fx_app("early", fx_hlc(0, 5), &f->op, "v: 1\n"), INTENT_FROM_PEER,
	         INTENT_PENDING);
	assert_int_equal(intent_store_pending(f->s), 1);
	offer_ok(f, grant(f, "op", &f->op, "2030-01-01T00:00:00Z", fx_hlc(0, 1), &f->root),
	         INTENT_FROM_PEER, INTENT_ACCEPTED);
	assert_int_equal(intent_store_pending(f->s), 0);
	const struct intent_item *it = intent_store_get(f->s, INTENT_APP, "early");
	assert_non_null(it);
	assert_string_equal(it->from, "peer-1");
	assert_int_equal(f->commits, 2);
	assert_int_equal(f->persists, 2);
}

static void test_pending_is_bounded(void **state)
{
	struct fx *f = *state;
	struct intent_store *s;
	struct intent_store_config cfg = {.roots = &f->roots, .pending_max = 4};
	assert_int_equal(intent_store_new(&s, &cfg, &f->env, NULL), 0);
	for (int i = 0; i < 10; i++) {
		char name[16];
		snprintf(name, sizeof(name), "p%d", i);
		struct shoal_buf b = fx_app(name, fx_hlc(0, (uint16_t)i), &f->op, "v: 1\n");
		struct intent_offer o = {.bytes = b.data,
		                         .len = b.len,
		                         .now_ms = FX_NOW_MS,
		                         .source = INTENT_FROM_PEER,
		                         .from = "p"};
		assert_int_equal(intent_store_offer(s, &o, NULL), INTENT_PENDING);
		shoal_buf_destroy(&b);
	}
	assert_int_equal(intent_store_pending(s), 4);
	assert_true(intent_store_stats(s)->pending_dropped == 6);
	/* the newest four are the ones left: a grant commits exactly them */
	struct shoal_buf g = grant(f, "op", &f->op, "2030-01-01T00:00:00Z", fx_hlc(0, 0), &f->root);
	struct intent_offer o = {.bytes = g.data,
	                         .len = g.len,
	                         .now_ms = FX_NOW_MS,
	                         .source = INTENT_FROM_PEER,
	                         .from = "p"};
	assert_int_equal(intent_store_offer(s, &o, NULL), INTENT_ACCEPTED);
	assert_int_equal(intent_store_count(s), 5);
	assert_null(intent_store_get(s, INTENT_APP, "p5"));
	assert_non_null(intent_store_get(s, INTENT_APP, "p6"));
	assert_non_null(intent_store_get(s, INTENT_APP, "p9"));
	shoal_buf_destroy(&g);
	intent_store_delete(s);
}

/* ---- digests and reload ---- */

static void test_buckets_match_a_recount(void **state)
{
	struct fx *f = *state;
	for (int i = 0; i < 40; i++) {
		char name[16];
		snprintf(name, sizeof(name), "app-%d", i);
		offer_ok(f, fx_app(name, fx_hlc(0, (uint16_t)i), &f->root, "v: 1\n"),
		         INTENT_FROM_PEER, INTENT_ACCEPTED);
	}
	for (int i = 0; i < 40; i += 3) {
		char name[16];
		snprintf(name, sizeof(name), "app-%d", i);
		offer_ok(f, tombstone(name, fx_hlc(1, (uint16_t)i), 0, &f->root), INTENT_FROM_PEER,
		         INTENT_ACCEPTED);
	}
	uint8_t recount[INTENT_BUCKETS][32];
	memset(recount, 0, sizeof(recount));
	for (size_t i = 0; i < intent_store_count(f->s); i++) {
		const struct intent_item *it = intent_store_at(f->s, i);
		assert_int_equal(it->bucket,
		                 intent_store_key_bucket(it->env.body.kind, it->env.body.name));
		for (int j = 0; j < 32; j++)
			recount[it->bucket][j] ^= it->env.id[j];
	}
	for (int b = 0; b < INTENT_BUCKETS; b++)
		assert_memory_equal(intent_store_bucket(f->s, (uint16_t)b), recount[b], 32);
}

static void test_load_restores_the_same_digest(void **state)
{
	struct fx *f = *state;
	seed_store(f);
	offer_ok(f, tombstone("two", fx_hlc(1, 0), fx_hlc(0, 1), &f->root), INTENT_FROM_API,
	         INTENT_ACCEPTED);
	uint8_t d1[32], d2[32];
	intent_store_digest(f->s, d1);
	struct intent_store *s;
	struct intent_store_config cfg = {.roots = &f->roots};
	assert_int_equal(intent_store_new(&s, &cfg, &f->env, NULL), 0);
	for (size_t i = intent_store_count(f->s); i-- > 0;) {
		const struct intent_item *it = intent_store_at(f->s, i);
		assert_int_equal(
		        intent_store_load(s, it->bytes, it->len, it->received_ms, it->from, NULL),
		        0);
	}
	intent_store_digest(s, d2);
	assert_memory_equal(d1, d2, 32);
	assert_string_equal(intent_store_get(s, INTENT_APP, "one")->from, "api");
	/* a damaged record is refused on load */
	const struct intent_item *it = intent_store_at(f->s, 0);
	uint8_t *bad = malloc(it->len);
	memcpy(bad, it->bytes, it->len);
	bad[it->len - 1] ^= 1;
	assert_int_equal(intent_store_load(s, bad, it->len, 0, "api", NULL), SHOAL_E_SIGNATURE);
	free(bad);
	intent_store_delete(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_accept_get_and_duplicate, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_every_order_converges, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_older_version_replayed_refused, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_replaces_older_than_held_conflicts, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_tombstone_wins_and_is_collected, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_resync_skips_horizon, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_signature, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_body_hash_mismatch, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_unknown_signer_at_api, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_skew_bound_at_api, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_older_than_horizon, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_spec_over_size_and_schema, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_malformed_and_unknown_kind, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_persist_failure_changes_nothing, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_grant_lets_operator_sign_until_expiry, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_target_outside_scope_refused_at_api, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_bad_selector_target_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_only_roots_grant_and_revoke, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_revoke_is_retroactive, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_effective_target, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pending_until_grant_arrives, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pending_is_bounded, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_buckets_match_a_recount, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_load_restores_the_same_digest, setup,
	                                        teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
