/*
 * test_intent_stub.c - intents held as stubs (a leaf's intents that do not
 * select it): they merge, hash and judge exactly as the envelope they stand
 * for, a tombstone wins over one, the same envelope fills one back in (even
 * past the horizon), the fleet-wide kinds and tombstones are never stubs,
 * and a stub record survives a round trip through what LMDB stores.
 *
 * Each case runs a store whose keep_whole hook the test flips, next to a
 * plain store given the same envelopes: the digests must agree.
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

#include "intent_fixture.h"

struct fx {
	struct trust_roots roots;
	struct fx_key root;
	struct shoal_env env;
	struct intent_store *s;     /* keeps stubs when `stubbing` */
	struct intent_store *plain; /* keeps everything whole */
	bool stubbing;
	int persists, commits;
	uint8_t last[4096]; /* the last record persisted */
	size_t last_len;
	bool last_stub;
};

static int hook_persist(void *ctx, const struct intent_item *it, const struct intent_item *old)
{
	struct fx *f = ctx;
	(void)old;
	f->persists++;
	f->last_len = it->held < sizeof(f->last) ? it->held : 0;
	memcpy(f->last, it->bytes, f->last_len);
	f->last_stub = it->stub;
	return 0;
}

static void hook_committed(void *ctx, const struct intent_item *it)
{
	(void)it;
	((struct fx *)ctx)->commits++;
}

static bool hook_keep_whole(void *ctx, const struct intent_store *s, const struct intent_item *it)
{
	(void)s;
	(void)it;
	return !((struct fx *)ctx)->stubbing;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	fx_key(&f->root, 1);
	trust_roots_create(&f->roots);
	trust_roots_add(&f->roots, f->root.pk);
	struct intent_store_config cfg = {.roots = &f->roots};
	struct intent_store_hooks hooks = {.ctx = f,
	                                   .persist = hook_persist,
	                                   .committed = hook_committed,
	                                   .keep_whole = hook_keep_whole};
	assert_int_equal(intent_store_new(&f->s, &cfg, &f->env, &hooks), 0);
	assert_int_equal(intent_store_new(&f->plain, &cfg, &f->env, NULL), 0);
	f->stubbing = true;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	intent_store_delete(f->s);
	intent_store_delete(f->plain);
	free(f);
	return 0;
}

static enum intent_outcome offer_to(struct intent_store *s, const struct shoal_buf *b,
                                    uint64_t now_ms)
{
	struct intent_offer o = {
	        .bytes = b->data, .len = b->len, .now_ms = now_ms, .source = INTENT_FROM_PEER};
	o.from = "peer-1";
	return intent_store_offer(s, &o, NULL);
}

/* Offer to both stores; the stubbing store's outcome must be `want`. */
static void both(struct fx *f, struct shoal_buf b, enum intent_outcome want)
{
	enum intent_outcome got = offer_to(f->s, &b, FX_NOW_MS);
	if (got != want)
		fail_msg("outcome %d, want %d", got, want);
	offer_to(f->plain, &b, FX_NOW_MS);
	shoal_buf_destroy(&b);
}

static void assert_same_digest(struct fx *f)
{
	uint8_t a[32], b[32];
	intent_store_digest(f->s, a);
	intent_store_digest(f->plain, b);
	assert_memory_equal(a, b, 32);
	for (int i = 0; i < INTENT_BUCKETS; i++)
		assert_memory_equal(intent_store_bucket(f->s, (uint16_t)i),
		                    intent_store_bucket(f->plain, (uint16_t)i), 32);
}

static struct shoal_buf tombstone(const char *name, uint64_t hlc, const struct fx_key *k)
{
	struct intent_draft d = fx_draft(INTENT_APP, name, NULL, hlc, k);
	d.op = INTENT_DELETE;
	d.target_type = INTENT_TARGET_NONE;
	return fx_sign(&d, k);
}

static const char *MANIFEST = "kind: ConfigMap\ndata: {a: '1'}\n";

static void test_stub_keeps_the_header_and_merges_alike(void **state)
{
	struct fx *f = *state;
	both(f, fx_app("one", fx_hlc(0, 0), &f->root, MANIFEST), INTENT_ACCEPTED);
	const struct intent_item *it = intent_store_get(f->s, INTENT_APP, "one");
	const struct intent_item *w = intent_store_get(f->plain, INTENT_APP, "one");
	assert_true(it->stub);
	assert_false(w->stub);
	assert_null(it->env.body_bytes);
	assert_null(it->env.sig);
	assert_null(it->env.body.spec);
	assert_int_equal(it->len, w->len); /* the envelope's size, for pulls */
	assert_true(it->held < it->len);
	assert_memory_equal(it->env.id, w->env.id, 32);
	assert_memory_equal(it->digest, w->digest, 32);
	assert_memory_equal(it->env.body.signer, w->env.body.signer, 32);
	assert_int_equal(it->env.body.target_type, INTENT_TARGET_SELECTOR);
	assert_int_equal(it->env.body.target_len, w->env.body.target_len);
	assert_memory_equal(it->env.body.target, w->env.body.target, w->env.body.target_len);
	assert_true(it->env.body.hlc == w->env.body.hlc);
	assert_int_equal(intent_store_status(f->s, it), INTENT_EFFECTIVE);
	assert_true(f->last_stub);
	assert_int_equal(f->commits, 1);
	assert_same_digest(f);

	/* Selection reads the header only: same answer as the whole item. */
	struct shoal_label jp[] = {{"region", "jp-north"}}, eu[] = {{"region", "eu"}};
	struct shoal_labels in = {jp, 1}, out = {eu, 1};
	assert_int_equal(intent_store_selects(f->s, it, &in), 1);
	assert_int_equal(intent_store_selects(f->s, it, &out), 0);

	/* A newer version replaces the stub (as a stub); an older one and a
	 * concurrent loser are refused against it as against the envelope. */
	both(f, fx_app("one", fx_hlc(5, 0), &f->root, "kind: ConfigMap\ndata: {a: '2'}\n"),
	     INTENT_ACCEPTED);
	assert_true(intent_store_get(f->s, INTENT_APP, "one")->stub);
	struct shoal_buf old = fx_app("one", fx_hlc(1, 0), &f->root, MANIFEST);
	assert_int_equal(offer_to(f->s, &old, FX_NOW_MS), INTENT_REJECTED);
	shoal_buf_destroy(&old);
	/* Still wanted as a stub: the same envelope again is a duplicate. */
	both(f, fx_app("one", fx_hlc(5, 0), &f->root, "kind: ConfigMap\ndata: {a: '2'}\n"),
	     INTENT_DUPLICATE);
	assert_same_digest(f);
	assert_int_equal(intent_store_stats(f->s)->stubbed, 2);
}

static void test_tombstone_wins_over_a_stub(void **state)
{
	struct fx *f = *state;
	both(f, fx_app("one", fx_hlc(0, 0), &f->root, MANIFEST), INTENT_ACCEPTED);
	assert_true(intent_store_get(f->s, INTENT_APP, "one")->stub);
	both(f, tombstone("one", fx_hlc(1, 0), &f->root), INTENT_ACCEPTED);
	const struct intent_item *it = intent_store_get(f->s, INTENT_APP, "one");
	assert_false(it->stub); /* tombstones stay whole */
	assert_int_equal(it->env.body.op, INTENT_DELETE);
	assert_int_equal(intent_store_status(f->s, it), INTENT_DELETED);
	assert_same_digest(f);
	assert_int_equal(intent_store_gc(f->s, FX_NOW_MS + INTENT_HORIZON_MS + 2), 1);
	assert_int_equal(intent_store_count(f->s), 0);
}

static void test_fleet_wide_kinds_are_never_stubs(void **state)
{
	struct fx *f = *state;
	struct shoal_buf spec;
	const char *kv[] = {"selector", "region=jp", NULL};
	fx_spec(&spec, kv);
	struct intent_draft d =
	        fx_draft(INTENT_VIRTUAL_SITE, "edge", &spec, fx_hlc(0, 0), &f->root);
	d.target_type = INTENT_TARGET_NONE;
	both(f, fx_sign(&d, &f->root), INTENT_ACCEPTED);
	shoal_buf_destroy(&spec);
	const struct intent_item *vs = intent_store_get(f->s, INTENT_VIRTUAL_SITE, "edge");
	assert_false(vs->stub);
	assert_int_equal(intent_store_cut(f->s, INTENT_VIRTUAL_SITE, "edge"), SHOAL_E_STATE);
	assert_false(intent_kind_stubbable(INTENT_KEY_GRANT));
	assert_false(intent_kind_stubbable(INTENT_KEY_REVOKE));
	assert_true(intent_kind_stubbable(INTENT_ALERT_RULE));
	assert_same_digest(f);
}

static void test_stub_filled_in_when_wanted_whole(void **state)
{
	struct fx *f = *state;
	struct shoal_buf b = fx_app("one", fx_hlc(0, 0), &f->root, MANIFEST);
	assert_int_equal(offer_to(f->s, &b, FX_NOW_MS), INTENT_ACCEPTED);
	offer_to(f->plain, &b, FX_NOW_MS);
	int commits = f->commits, persists = f->persists;
	f->stubbing = false; /* re-selected */
	/* Past the horizon: a fresh envelope would be a replay, but this is
	 * the body of the stub held, judged when it was committed. */
	assert_int_equal(offer_to(f->s, &b, FX_NOW_MS + INTENT_HORIZON_MS + 10), INTENT_FILLED);
	const struct intent_item *it = intent_store_get(f->s, INTENT_APP, "one");
	assert_false(it->stub);
	assert_int_equal(it->held, it->len);
	struct intent_app_spec app;
	assert_int_equal(intent_app_spec_read(it->env.body.spec, it->env.body.spec_len, &app), 0);
	assert_string_equal(it->from, "peer-1");
	assert_true(it->received_ms == FX_NOW_MS); /* when it was first committed */
	assert_int_equal(f->commits, commits + 1);
	assert_int_equal(f->persists, persists + 1);
	assert_false(f->last_stub);
	assert_int_equal(intent_store_stats(f->s)->filled, 1);
	assert_same_digest(f);
	/* Once whole, the same envelope is a duplicate. */
	assert_int_equal(offer_to(f->s, &b, FX_NOW_MS), INTENT_DUPLICATE);
	/* A damaged body of the stub's id does not fill it: the signature is
	 * still checked. */
	f->stubbing = true;
	assert_int_equal(intent_store_cut(f->s, INTENT_APP, "one"), 0);
	b.data[b.len - 1] ^= 1;
	assert_int_equal(offer_to(f->s, &b, FX_NOW_MS), INTENT_REJECTED);
	assert_true(intent_store_get(f->s, INTENT_APP, "one")->stub);
	shoal_buf_destroy(&b);
}

static void test_cut_and_reload_round_trip(void **state)
{
	struct fx *f = *state;
	f->stubbing = false;
	both(f, fx_app("one", fx_hlc(0, 0), &f->root, MANIFEST), INTENT_ACCEPTED);
	both(f, fx_app("two", fx_hlc(1, 0), &f->root, MANIFEST), INTENT_ACCEPTED);
	both(f, tombstone("three", fx_hlc(2, 0), &f->root), INTENT_ACCEPTED);
	int persists = f->persists, commits = f->commits;
	assert_int_equal(intent_store_cut(f->s, INTENT_APP, "two"), 0);
	assert_int_equal(f->persists, persists + 1);
	assert_int_equal(f->commits, commits); /* not a commit: nothing new */
	assert_true(f->last_stub);
	assert_int_equal(intent_store_cut(f->s, INTENT_APP, "two"), SHOAL_E_STATE);
	assert_int_equal(intent_store_cut(f->s, INTENT_APP, "three"), SHOAL_E_STATE);
	assert_int_equal(intent_store_cut(f->s, INTENT_APP, "four"), SHOAL_E_NOT_FOUND);
	assert_same_digest(f);

	/* What LMDB holds, loaded into a fresh store: the same digest, the
	 * stub still a stub with its header. */
	struct intent_store *s;
	struct intent_store_config cfg = {.roots = &f->roots};
	assert_int_equal(intent_store_new(&s, &cfg, &f->env, NULL), 0);
	for (size_t i = 0; i < intent_store_count(f->s); i++) {
		const struct intent_item *it = intent_store_at(f->s, i);
		int rc = it->stub ? intent_store_load_stub(s, it->bytes, it->held, it->received_ms,
		                                           it->from, NULL)
		                  : intent_store_load(s, it->bytes, it->len, it->received_ms,
		                                      it->from, NULL);
		assert_int_equal(rc, 0);
	}
	uint8_t a[32], b[32];
	intent_store_digest(s, a);
	intent_store_digest(f->s, b);
	assert_memory_equal(a, b, 32);
	const struct intent_item *two = intent_store_get(s, INTENT_APP, "two");
	const struct intent_item *orig = intent_store_get(f->plain, INTENT_APP, "two");
	assert_true(two->stub);
	assert_int_equal(two->len, orig->len);
	assert_memory_equal(two->digest, orig->digest, 32);
	assert_memory_equal(two->env.body.target, orig->env.body.target, orig->env.body.target_len);
	assert_string_equal(two->from, "peer-1");

	/* A damaged record is refused and changes nothing. */
	size_t count = intent_store_count(s);
	uint8_t bad[4096];
	memcpy(bad, two->bytes, two->held);
	assert_int_not_equal(intent_store_load_stub(s, bad, two->held - 1, 0, "x", NULL), 0);
	bad[1] = 0x7f; /* a record format this build does not know */
	struct intent_error err = {0};
	assert_int_not_equal(intent_store_load_stub(s, bad, two->held, 0, "x", &err), 0);
	assert_int_equal(err.reason, INTENT_R_MALFORMED);
	assert_int_equal(intent_store_count(s), count);
	intent_store_digest(s, b);
	assert_memory_equal(a, b, 32);
	intent_store_delete(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_stub_keeps_the_header_and_merges_alike, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_tombstone_wins_over_a_stub, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_fleet_wide_kinds_are_never_stubs, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_stub_filled_in_when_wanted_whole, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_cut_and_reload_round_trip, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
