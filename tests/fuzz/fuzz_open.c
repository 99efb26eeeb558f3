/*
 * fuzz_open.c - libFuzzer target for opening sealed packets.
 *
 * Arbitrary bytes go to shoal_open under a fixed two-key ring and under an
 * empty ring (unsealed mode). Anything that opens must have the expected
 * length and must seal and open again to the same bytes. The keys are
 * fixed so the seed corpus can hold packets that really open: key i is
 * bytes i*32 .. i*32+31 (tests/fuzz/make_seeds.py writes those packets).
 */
#include "shoal/seal.h"

#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* Inputs beyond this are cut: a datagram is at most 1400 bytes, and a
 * stream message's sealing is the same code. */
#define MAX_IN 4096

/* A stand-in CSPRNG for re-sealing: a counter is as good as random here. */
static void counter_bytes(void *ctx, uint8_t *buf, size_t len)
{
	uint64_t *c = ctx;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(++*c * 0x9e3779b97f4a7c15u >> 56);
}

static void make_ring(struct shoal_keyring *kr, int nkeys)
{
	uint8_t key[SHOAL_KEY_LEN];
	shoal_keyring_create(kr);
	for (int k = 0; k < nkeys; k++) {
		for (int i = 0; i < SHOAL_KEY_LEN; i++)
			key[i] = (uint8_t)(k * SHOAL_KEY_LEN + i);
		CHECK(shoal_keyring_install(kr, key) == 0);
	}
}

static void try_ring(const struct shoal_keyring *kr, const uint8_t *data, size_t size)
{
	static uint8_t out[MAX_IN], again[MAX_IN + SHOAL_SEAL_OVERHEAD], back[MAX_IN];
	uint64_t counter = 0;
	struct shoal_env env = {.ctx = &counter, .random_bytes = counter_bytes};
	size_t n = 0, m = 0, k = 0;

	int rc = shoal_open(kr, data, size, out, sizeof(out), &n);
	if (rc != 0) {
		CHECK(rc == SHOAL_E_AUTH || rc == SHOAL_E_VERSION || rc == SHOAL_E_TRUNCATED);
		return;
	}
	if (kr->count == 0)
		CHECK(data[0] == 0 && n == size - 1);
	else
		CHECK(data[0] == SHOAL_SEAL_VERSION && n == size - SHOAL_SEAL_OVERHEAD);
	CHECK(shoal_seal(kr, &env, out, n, again, sizeof(again), &m) == 0);
	CHECK(shoal_open(kr, again, m, back, sizeof(back), &k) == 0);
	CHECK(k == n && memcmp(back, out, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shoal_keyring keyed, plain;

	if (size > MAX_IN)
		size = MAX_IN;
	make_ring(&keyed, 2);
	make_ring(&plain, 0);
	try_ring(&keyed, data, size);
	try_ring(&plain, data, size);
	shoal_keyring_destroy(&keyed);
	shoal_keyring_destroy(&plain);
	return 0;
}
