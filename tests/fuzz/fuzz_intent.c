/*
 * fuzz_intent.c - libFuzzer target for the intent envelope decoder and the
 * store's offer path.
 *
 * The input is a binary envelope. Decoding must either fail with a reason
 * and a message, or succeed with every view inside the input. A decoded
 * envelope is then offered to a fresh store whose verify hook accepts any
 * signature, so fuzzed bodies reach the schema checks, the trust rules and
 * the merge instead of stopping at Ed25519; the store's digest must change
 * exactly when the offer says it was accepted.
 */
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"
#include "shoal/hlc.h"
#include "shoal/intent_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static int accept_any(void *ctx, const uint8_t sig[64], const uint8_t *msg, size_t len,
                      const uint8_t pk[32])
{
	(void)ctx;
	(void)sig;
	(void)msg;
	(void)len;
	(void)pk;
	return 0;
}

static int inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
	return n == 0 || (p >= data && p + n <= data + size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct intent_envelope e;
	struct intent_error err = {0};

	int rc = intent_envelope_decode(data, size, &e, &err);
	if (rc != 0) {
		CHECK(err.reason > INTENT_OK && err.reason < INTENT_R_COUNT && err.text[0] != '\0');
		return 0;
	}
	CHECK(inside(e.body_bytes, e.body_len, data, size));
	CHECK(inside(e.sig, 64, data, size));
	CHECK(inside(e.body.spec, e.body.spec_len, data, size));
	CHECK(inside(e.body.strategy, e.body.strategy_len, data, size));
	CHECK(inside(e.body.target, e.body.target_len, data, size));
	CHECK(strlen(e.body.name) > 0 && strlen(e.body.name) <= INTENT_NAME_MAX);
	CHECK(e.body.kind > INTENT_KIND_NONE && e.body.kind < INTENT_KIND_COUNT);

	/* The signer is made a root so trust does not stop the walk. */
	struct trust_roots roots;
	trust_roots_create(&roots);
	trust_roots_add(&roots, e.body.signer);
	struct shoal_env env = {.verify = accept_any};
	struct intent_store_config cfg = {.roots = &roots};
	struct intent_store *s;
	uint8_t before[32], after[32];
	CHECK(intent_store_new(&s, &cfg, &env, NULL) == 0);
	intent_store_digest(s, before);
	struct intent_offer o = {.bytes = data,
	                         .len = size,
	                         .now_ms = shoal_hlc_ms(e.body.hlc),
	                         .source = INTENT_FROM_API,
	                         .from = "fuzz"};
	enum intent_outcome out = intent_store_offer(s, &o, &err);
	intent_store_digest(s, after);
	if (out == INTENT_ACCEPTED) {
		CHECK(memcmp(before, after, 32) != 0);
		const struct intent_item *it = intent_store_get(s, e.body.kind, e.body.name);
		CHECK(it != NULL && memcmp(it->env.id, e.id, 32) == 0);
		CHECK(intent_store_status(s, it) <= INTENT_UNAUTHORIZED);
		/* the same bytes again: a duplicate */
		CHECK(intent_store_offer(s, &o, &err) == INTENT_DUPLICATE);
	} else {
		CHECK(memcmp(before, after, 32) == 0 && intent_store_count(s) == 0);
	}
	if (e.body.kind == INTENT_KEY_GRANT) {
		struct intent_grant g;
		if (intent_grant_read(e.body.spec, e.body.spec_len, &g) == 0)
			CHECK(inside(g.scope, g.scope_len, data, size));
	}
	intent_store_delete(s);
	return 0;
}
