/*
 * rng.c - the simulator's randomness: splitmix64 to expand seeds,
 * xoshiro256** for streams, a latency sampler, and small hashes.
 *
 * Every draw in a run comes from a stream derived from (run seed, stream
 * id), never from a shared generator: node 17's probe order does not change
 * because node 3 drew one more nonce, so a scenario stays comparable when
 * an unrelated part of it changes, and the whole run replays from its seed.
 * xoshiro256** is fast, passes BigCrush, and its state (32 bytes) is small
 * enough to keep two per node at 10,000 nodes. It is not cryptographic:
 * inside the simulator nonces only have to be unique and reproducible.
 */
#include "shoal/sim.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t sim_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream)
{
	/* Two rounds of splitmix so that nearby (seed, stream) pairs land far
	 * apart; splitmix never yields four zero words in a row. */
	uint64_t st = seed;
	uint64_t k = sim_splitmix64(&st) ^ stream;
	st = k;
	for (int i = 0; i < 4; i++)
		r->s[i] = sim_splitmix64(&st);
}

uint64_t sim_rng_next(struct sim_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double sim_rng_double(struct sim_rng *r)
{
	return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t sim_rng_below(struct sim_rng *r, uint64_t n)
{
	/* Reject the top sliver that would make small results more likely. */
	uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
	uint64_t v;
	do
		v = sim_rng_next(r);
	while (v >= limit);
	return v % n;
}

double sim_rng_normal(struct sim_rng *r)
{
	/* Box-Muller; 1 - u keeps the log argument in (0, 1]. The second
	 * value is discarded so the stream never carries hidden state. */
	double u1 = 1.0 - sim_rng_double(r);
	double u2 = sim_rng_double(r);
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void sim_rng_bytes(struct sim_rng *r, uint8_t *buf, size_t len)
{
	while (len >= 8) {
		uint64_t v = sim_rng_next(r);
		memcpy(buf, &v, 8);
		buf += 8;
		len -= 8;
	}
	if (len > 0) {
		uint64_t v = sim_rng_next(r);
		memcpy(buf, &v, len);
	}
}

uint64_t sim_hash_mix(uint64_t h, uint64_t v)
{
	uint64_t st = h ^ (v * UINT64_C(0xD6E8FEB86659FD93));
	return sim_splitmix64(&st);
}

uint64_t sim_hash64(const void *p, size_t len, uint64_t seed)
{
	/* Word at a time multiply-xorshift; good enough for trace hashes and
	 * table slots, never used where an adversary picks the input. */
	const uint8_t *b = p;
	uint64_t h = seed ^ (len * UINT64_C(0x9E3779B97F4A7C15));
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		h = (h ^ w) * UINT64_C(0xFF51AFD7ED558CCD);
		h ^= h >> 32;
		b += 8;
		len -= 8;
	}
	if (len > 0) {
		uint64_t w = 0;
		memcpy(&w, b, len);
		h = (h ^ w) * UINT64_C(0xC4CEB9FE1A85EC53);
		h ^= h >> 29;
	}
	return sim_hash_mix(h, 0);
}

uint64_t sim_latency_sample(const struct sim_latency *l, struct sim_rng *r)
{
	switch (l->kind) {
	case SIM_LAT_UNIFORM:
		if (l->b_us <= l->a_us)
			return l->a_us;
		return l->a_us + sim_rng_below(r, l->b_us - l->a_us + 1);
	case SIM_LAT_LOGNORMAL: {
		double v = (double)l->a_us * exp(l->sigma * sim_rng_normal(r));
		if (l->b_us > 0 && v > (double)l->b_us)
			v = (double)l->b_us;
		if (v > 1e15) /* keep the conversion defined */
			v = 1e15;
		return (uint64_t)(v + 0.5);
	}
	case SIM_LAT_CONST:
	default:
		return l->a_us;
	}
}

uint64_t sim_seed_from_env(uint64_t fallback)
{
	const char *s = getenv("SHOAL_SIM_SEED");
	uint64_t seed = fallback;

	if (s != NULL && *s != '\0') {
		char *end = NULL;
		errno = 0;
		unsigned long long v = strtoull(s, &end, 0);
		if (errno == 0 && end != NULL && *end == '\0')
			seed = (uint64_t)v;
		else
			fprintf(stderr, "sim: ignoring bad SHOAL_SIM_SEED '%s'\n", s);
	}
	fprintf(stderr, "sim seed: %llu (replay with SHOAL_SIM_SEED=%llu)\n",
	        (unsigned long long)seed, (unsigned long long)seed);
	return seed;
}
