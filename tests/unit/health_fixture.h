/*
 * health_fixture.h - a typical site's health record and a test env, for
 * the health suites. Header-only so each cmocka binary stays one
 * translation unit.
 *
 * The typical record is what docs/health.md sizes: a site with four
 * labels, three intents applied and ready, fourteen pods running, probing
 * sixty peers of a 10,000-site fleet. Keys come from fixed seeds.
 */
#ifndef SHOAL_TEST_HEALTH_FIXTURE_H
#define SHOAL_TEST_HEALTH_FIXTURE_H

#include <string.h>

#include <sodium.h>

#include "shoal/env.h"
#include "shoal/health.h"

#define HX_STR(lit) ((struct health_str){(lit), (uint32_t)(sizeof(lit) - 1)})

/* 2025-01-01T00:00:00Z as an HLC. */
#define HX_VERSION (UINT64_C(1735689600000) << 16)

struct hx_key {
	uint8_t pk[32];
	uint8_t sk[64];
};

static inline void hx_key(struct hx_key *k, uint8_t seed_byte)
{
	uint8_t seed[32];
	memset(seed, seed_byte, sizeof(seed));
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
}

/* A deterministic env: a counter for a PRNG, a fixed byte pattern for the
 * CSPRNG, libsodium for verification. */
struct hx_env {
	struct shoal_env env;
	uint64_t next; /* the PRNG's next value */
};

static inline uint64_t hx_prng(void *ctx)
{
	struct hx_env *e = ctx;
	return e->next++;
}

static inline void hx_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 31 + 7);
}

static inline void hx_env_create(struct hx_env *e)
{
	memset(e, 0, sizeof(*e));
	e->env.ctx = e;
	e->env.prng = hx_prng;
	e->env.random_bytes = hx_random;
}

static inline void hx_typical(struct health_record *r)
{
	static const struct health_label labels[] = {
	        {HX_STR("region"), HX_STR("jp-north")},
	        {HX_STR("env"), HX_STR("prod")},
	        {HX_STR("sys.shoal.io/arch"), HX_STR("amd64")},
	        {HX_STR("sys.shoal.io/cpus"), HX_STR("8")},
	};
	static const struct health_intent intents[] = {
	        {INTENT_APP, HX_STR("shop-frontend"), HX_VERSION - 7000, HEALTH_READY},
	        {INTENT_APP, HX_STR("telemetry-agent"), HX_VERSION - 9000, HEALTH_READY},
	        {INTENT_EGRESS_POLICY, HX_STR("default-deny"), HX_VERSION - 8000, HEALTH_READY},
	};
	static const struct health_label annotations[] = {
	        {HX_STR("geo.shoal.io/lat"), HX_STR("35.6762")},
	        {HX_STR("geo.shoal.io/lon"), HX_STR("139.6503")},
	};
	memset(r, 0, sizeof(*r));
	r->site = HX_STR("jp-robot-0042");
	r->n_annotations = sizeof(annotations) / sizeof(annotations[0]);
	memcpy(r->annotations, annotations, sizeof(annotations));
	r->version = HX_VERSION;
	r->software = HX_STR("shoal 0.4.0");
	r->n_labels = sizeof(labels) / sizeof(labels[0]);
	memcpy(r->labels, labels, sizeof(labels));
	r->uptime_s = 864000;
	r->skew_ms = 3;
	r->cpu_pm = 230;
	r->mem_pm = 510;
	r->disk_pm = 420;
	r->links = (struct health_links){.window_s = 60,
	                                 .known = 9999,
	                                 .probed = 60,
	                                 .reached = 60,
	                                 .rtt_p50_us = 12000,
	                                 .rtt_p99_us = 45000,
	                                 .loss_pm = 2};
	r->n_intents = sizeof(intents) / sizeof(intents[0]);
	memcpy(r->intents, intents, sizeof(intents));
	r->pods[HEALTH_POD_RUNNING] = 14;
	memset(r->sec.roots, 0xab, HEALTH_ROOTS_LEN);
	r->sec.keyring = true;
	health_score_compute(r, NULL, &r->score);
}

#endif
