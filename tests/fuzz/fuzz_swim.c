/*
 * fuzz_swim.c - arbitrary bytes into a live swim, as datagrams and as stream
 * messages, then its timers.
 *
 * The keyring is empty, so a datagram is "version 0 + plaintext" and the
 * fuzzer reaches the message decoders and the SWIM merge rules directly
 * instead of spending its time against the AEAD tag. The first input byte
 * picks the path (even: datagram, odd: stream message on an inbound
 * conversation); the rest is the packet. Each input gets a fresh swim and
 * pool, so no state leaks between inputs and leaks show up per input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "shoal/env.h"
#include "shoal/seal.h"
#include "shoal/swim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fuzz_state = 0x5eed;

static void fuzz_send_datagram(void *ctx, const struct shoal_addr *to, const uint8_t *buf,
                               size_t len)
{
	(void)ctx, (void)to, (void)buf, (void)len;
}

static int fuzz_stream_send(void *ctx, uint64_t conv, const struct shoal_addr *to,
                            const uint8_t *buf, size_t len)
{
	(void)ctx, (void)conv, (void)to, (void)buf, (void)len;
	return 0;
}

static void fuzz_stream_close(void *ctx, uint64_t conv)
{
	(void)ctx, (void)conv;
}

/* splitmix64: deterministic, so a crash replays exactly. */
static uint64_t fuzz_prng(void *ctx)
{
	(void)ctx;
	uint64_t z = (fuzz_state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void fuzz_random_bytes(void *ctx, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)fuzz_prng(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pk[32], sk[64];
	static int ready;
	struct shoal_env env = {
	        .send_datagram = fuzz_send_datagram,
	        .stream_send = fuzz_stream_send,
	        .stream_close = fuzz_stream_close,
	        .prng = fuzz_prng,
	        .random_bytes = fuzz_random_bytes,
	};
	struct swim_config cfg;
	struct shoal_keyring kr;
	struct swim_pool *pool = NULL;
	struct swim *s = NULL;
	struct shoal_addr from;
	uint64_t now = UINT64_C(1000000000000);

	if (!ready) {
		uint8_t seed[32] = {1};
		if (sodium_init() < 0)
			return 0;
		crypto_sign_seed_keypair(pk, sk, seed);
		ready = 1;
	}
	if (size < 1)
		return 0;

	fuzz_state = 0x5eed;
	swim_config_defaults(&cfg);
	cfg.name = "fuzz-node";
	shoal_addr_parse(&cfg.advertise, "127.0.0.1:7600");
	shoal_addr_parse(&from, "127.0.0.1:7601");
	cfg.version = "fuzz";
	memcpy(cfg.site_pk, pk, sizeof(pk));
	memcpy(cfg.site_sk, sk, sizeof(sk));
	cfg.incarnation = 1;
	shoal_keyring_create(&kr);

	if (swim_pool_new(&pool) != 0)
		return 0;
	if (swim_new(&s, &cfg, &env, &kr, pool, now) == 0) {
		if (data[0] & 1)
			swim_on_stream(s, now, SHOAL_CONV_INBOUND | 1, &from, data + 1, size - 1);
		else
			swim_on_datagram(s, now, &from, data + 1, size - 1);
		/* Let whatever the input started (suspicions, pushes) run its
		 * course through a few protocol periods. */
		for (int i = 0; i < 8; i++) {
			uint64_t next = swim_next_deadline(s);
			if (next <= now)
				next = now + 1;
			now = next;
			swim_tick(s, now);
		}
		swim_delete(s);
	}
	swim_pool_delete(pool);
	shoal_keyring_destroy(&kr);
	return 0;
}
