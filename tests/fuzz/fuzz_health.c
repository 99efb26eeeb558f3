/*
 * fuzz_health.c - libFuzzer target for the health record decoder
 * (crdt/health_codec.c): the envelope, the body, and the open path.
 *
 * Each input is tried as an envelope (split, then opened with a fixed site
 * key, so the seeds signed by it reach the full decode) and as a bare body.
 * Beyond "no crash" it checks the contract: whatever the decoder accepts
 * the encoder accepts too (both run the same rules), and a record sealed
 * from a decoded one decodes to a body that seals to the same bytes.
 */
#include "shoal/health.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "shoal/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static uint8_t site_pk[32], site_sk[64];

static int key_fixed(void *ctx, const char *site, size_t len, uint8_t pk[32])
{
	(void)ctx;
	CHECK(len >= 1 && len <= HEALTH_SITE_MAX);
	CHECK(health_site_name_valid(site, len));
	memcpy(pk, site_pk, 32);
	return 0;
}

static void keys_once(void)
{
	static int done;
	if (!done) {
		uint8_t seed[32];
		memset(seed, 1, sizeof(seed));
		CHECK(sodium_init() >= 0);
		crypto_sign_seed_keypair(site_pk, site_sk, seed);
		done = 1;
	}
}

/* Seal `r`, open the result, seal again: the same envelope both times. */
static void roundtrip(const struct health_record *r)
{
	static struct health_record again;
	struct shoal_buf a, b;
	const uint8_t *body, *sig;
	uint32_t body_len;

	shoal_buf_create(&a, HEALTH_ENVELOPE_MAX);
	shoal_buf_create(&b, HEALTH_ENVELOPE_MAX);
	int rc = health_seal(r, site_sk, &a);
	/* A record is refused at seal only for its size (a body within the
	 * cap may grow by re-encoding wider fields; never by much). */
	CHECK(rc == 0 || rc == SHOAL_E_TOO_BIG);
	if (rc == 0) {
		CHECK(health_envelope_split(a.data, a.len, &body, &body_len, &sig) == 0);
		CHECK(health_body_decode(body, body_len, &again) == 0);
		CHECK(health_seal(&again, site_sk, &b) == 0);
		CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	}
	shoal_buf_destroy(&a);
	shoal_buf_destroy(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct health_record r;
	static const struct shoal_env env = {0};
	const uint8_t *body, *sig;
	uint32_t body_len;

	keys_once();
	if (health_envelope_split(data, size, &body, &body_len, &sig) == 0) {
		CHECK(body >= data && body + body_len <= data + size);
		CHECK(sig >= data && sig + HEALTH_SIG_LEN <= data + size);
		if (health_open(&env, key_fixed, NULL, data, size, &r) == 0) {
			CHECK(r.version > 0 && r.n_intents <= HEALTH_INTENTS_MAX);
			roundtrip(&r);
		}
	}
	if (health_body_decode(data, size, &r) == 0) {
		CHECK(r.site.s >= (const char *)data &&
		      r.site.s + r.site.len <= (const char *)data + size);
		for (uint32_t i = 0; i < r.n_intents; i++)
			CHECK(r.intents[i].state < HEALTH_OWNER_STATES);
		roundtrip(&r);
	}
	return 0;
}
