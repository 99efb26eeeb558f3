/*
 * intent_fixture.h - keys, specs and signed envelopes for the intent
 * suites. Header-only so each cmocka binary stays one translation unit.
 *
 * Keys come from fixed seeds (key i: 32 bytes of value i), so a failing
 * run signs the very same bytes when replayed.
 */
#ifndef SHOAL_TEST_INTENT_FIXTURE_H
#define SHOAL_TEST_INTENT_FIXTURE_H

#include <string.h>

#include <sodium.h>

#include "shoal/hlc.h"
#include "shoal/intent.h"
#include "shoal/mp.h"

/* A wall clock in the fixture's world: 2025-01-01T00:00:00Z. */
#define FX_NOW_MS UINT64_C(1735689600000)

struct fx_key {
	uint8_t pk[32];
	uint8_t sk[64];
};

static inline void fx_key(struct fx_key *k, uint8_t seed_byte)
{
	uint8_t seed[32];
	memset(seed, seed_byte, sizeof(seed));
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
}

/* Build a flat spec map from NULL-terminated key/value string pairs. */
static inline void fx_spec(struct shoal_buf *out, const char *const *kv)
{
	msgpack_packer pk;
	size_t n = 0;
	while (kv[2 * n] != NULL)
		n++;
	shoal_buf_create(out, INTENT_BODY_MAX);
	shoal_packer_init(&pk, out);
	msgpack_pack_map(&pk, n);
	for (size_t i = 0; i < 2 * n; i++) {
		msgpack_pack_str(&pk, strlen(kv[i]));
		msgpack_pack_str_body(&pk, kv[i], strlen(kv[i]));
	}
}

static inline struct intent_draft fx_draft(enum intent_kind kind, const char *name,
                                           const struct shoal_buf *spec, uint64_t hlc,
                                           const struct fx_key *k)
{
	struct intent_draft d = {.kind = kind,
	                         .op = INTENT_PUT,
	                         .name = name,
	                         .target_type = INTENT_TARGET_SELECTOR,
	                         .target = "region in (jp-north,jp-south)",
	                         .spec = spec != NULL ? spec->data : NULL,
	                         .spec_len = spec != NULL ? spec->len : 0,
	                         .hlc = hlc};
	memcpy(d.signer, k->pk, 32);
	return d;
}

/* Sign a draft into a fresh buffer the caller destroys. */
static inline struct shoal_buf fx_sign(const struct intent_draft *d, const struct fx_key *k)
{
	struct shoal_buf b;
	shoal_buf_create(&b, INTENT_ENVELOPE_MAX + 4096);
	if (intent_sign(d, k->sk, &b) != 0)
		b.err = -1;
	return b;
}

/* An App at `hlc` with the given manifests, signed by k. */
static inline struct shoal_buf fx_app(const char *name, uint64_t hlc, const struct fx_key *k,
                                      const char *manifests)
{
	struct shoal_buf spec;
	const char *kv[] = {"manifests", manifests, NULL};
	fx_spec(&spec, kv);
	struct intent_draft d = fx_draft(INTENT_APP, name, &spec, hlc, k);
	struct shoal_buf env = fx_sign(&d, k);
	shoal_buf_destroy(&spec);
	return env;
}

static inline uint64_t fx_hlc(uint64_t ms_after_now, uint16_t counter)
{
	return shoal_hlc_make(FX_NOW_MS + ms_after_now, counter);
}

#endif
