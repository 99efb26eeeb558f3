/*
 * verify.c - a memo of Ed25519 verification results for the simulator.
 *
 * At 10,000 simulated nodes every signed member record reaches every node,
 * often several times; checking each copy would spend the run in
 * crypto_sign_verify_detached (~50 us each). The result of a check is a pure
 * function of (sig, pk, msg), so it is cached under a 128-bit BLAKE2b digest
 * of the three (well under a microsecond for a record-sized message).
 * 128 bits make an accidental collision, the only way the memo could lie,
 * negligible. The table is 4-way set-associative with round-robin eviction,
 * so its memory is fixed at creation whatever the run does.
 */
#include "shoal/sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "shoal/error.h"

#define WAYS 4

struct slot {
	uint8_t digest[16]; /* BLAKE2b-128 of (sig, pk, msg) */
	int32_t result;     /* 0 or SHOAL_E_SIGNATURE */
	uint32_t used;      /* slot holds an entry */
};

struct sim_verify_cache {
	struct slot *slots; /* nsets * WAYS */
	size_t nsets;       /* power of two */
	uint64_t hits;      /* answered from the memo */
	uint64_t misses;    /* really verified */
	uint32_t victim;    /* round-robin eviction cursor */
};

int sim_verify_cache_new(struct sim_verify_cache **out, size_t slots)
{
	size_t nsets = 16;
	while (nsets * WAYS < slots && nsets < ((size_t)1 << 28))
		nsets *= 2;
	struct sim_verify_cache *vc = calloc(1, sizeof(*vc));
	if (vc == NULL)
		return -ENOMEM;
	vc->slots = calloc(nsets * WAYS, sizeof(*vc->slots));
	if (vc->slots == NULL) {
		free(vc);
		return -ENOMEM;
	}
	vc->nsets = nsets;
	*out = vc;
	return 0;
}

void sim_verify_cache_delete(struct sim_verify_cache *vc)
{
	if (vc == NULL)
		return;
	free(vc->slots);
	free(vc);
}

int sim_verify_cache_check(struct sim_verify_cache *vc, const uint8_t sig[64], const uint8_t *msg,
                           size_t len, const uint8_t pk[32])
{
	crypto_generichash_state st;
	uint8_t d[16];
	uint64_t idx;

	crypto_generichash_init(&st, NULL, 0, sizeof(d));
	crypto_generichash_update(&st, sig, 64);
	crypto_generichash_update(&st, pk, 32);
	crypto_generichash_update(&st, msg, len);
	crypto_generichash_final(&st, d, sizeof(d));
	memcpy(&idx, d, sizeof(idx));

	struct slot *set = &vc->slots[(idx & (vc->nsets - 1)) * WAYS];
	for (int w = 0; w < WAYS; w++) {
		if (set[w].used && memcmp(set[w].digest, d, sizeof(d)) == 0) {
			vc->hits++;
			return set[w].result;
		}
	}
	vc->misses++;
	int rc = crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : SHOAL_E_SIGNATURE;
	struct slot *s = NULL;
	for (int w = 0; w < WAYS && s == NULL; w++)
		if (!set[w].used)
			s = &set[w];
	if (s == NULL)
		s = &set[vc->victim++ % WAYS];
	memcpy(s->digest, d, sizeof(d));
	s->result = rc;
	s->used = 1;
	return rc;
}

void sim_verify_cache_stats(const struct sim_verify_cache *vc, uint64_t *hits, uint64_t *misses)
{
	*hits = vc->hits;
	*misses = vc->misses;
}

size_t sim_verify_cache_bytes(const struct sim_verify_cache *vc)
{
	return sizeof(*vc) + vc->nsets * WAYS * sizeof(struct slot);
}
