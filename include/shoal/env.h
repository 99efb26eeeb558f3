/*
 * env.h - the seam between Shoal's sans-IO core and whatever drives it.
 *
 * gossip/ and crdt/ never read a clock, touch a socket, call rand() or keep a
 * global. Everything they need from the world arrives through this struct,
 * which the driver fills in: node/ with libuv sockets and libsodium's CSPRNG,
 * sim/ with a virtual network and seeded generators. Time is passed into each
 * call as `now` (microseconds on the driver's monotonic clock) and never
 * re-read inside one call.
 *
 * Ownership: the env struct and its ctx are owned by the driver and must
 * outlive every core object created with them. Callbacks must not re-enter
 * the core object that invoked them.
 */
#ifndef SHOAL_ENV_H
#define SHOAL_ENV_H

#include <stddef.h>
#include <stdint.h>

/* A transport address: IPv4 or IPv6 plus port, in network-neutral form. */
struct shoal_addr {
	uint8_t family; /* 4 or 6; 0 means unset */
	uint8_t pad;
	uint16_t port;  /* host byte order */
	uint8_t ip[16]; /* IPv4 uses the first 4 bytes */
};

/* Conversation ids for streams: the core picks ids below this bit for the
 * streams it opens; the driver sets it on ids of streams a peer opened. */
#define SHOAL_CONV_INBOUND (UINT64_C(1) << 63)

struct shoal_env {
	void *ctx; /* handed back to every callback */

	/* Send one datagram (already sealed by the core) to `to`. Best effort:
	 * the core never learns whether it left, exactly like UDP. */
	void (*send_datagram)(void *ctx, const struct shoal_addr *to, const uint8_t *buf,
	                      size_t len);

	/* Send one message on conversation `conv` to `to`. For an id the core
	 * chose (no SHOAL_CONV_INBOUND bit) the driver opens a reliable stream
	 * on first use; for an inbound id it answers on the accepted stream.
	 * The message is already sealed; the driver frames it. Returns 0 or a
	 * negative code; on error the core treats the conversation as failed. */
	int (*stream_send)(void *ctx, uint64_t conv, const struct shoal_addr *to,
	                   const uint8_t *buf, size_t len);

	/* The core is finished with `conv`; the driver closes the stream. */
	void (*stream_close)(void *ctx, uint64_t conv);

	/* Seeded PRNG for protocol choices (probe order, gossip targets,
	 * jitter). Deterministic in the simulator. */
	uint64_t (*prng)(void *ctx);

	/* CSPRNG for nonces and keys. libsodium's randombytes in shoald; a
	 * seeded stream only inside the simulator. */
	void (*random_bytes)(void *ctx, uint8_t *buf, size_t len);

	/* Verify an Ed25519 signature: 0 if valid, SHOAL_E_SIGNATURE if not.
	 * A hook so the simulator can memoize by content hash. NULL means the
	 * core calls libsodium directly. */
	int (*verify)(void *ctx, const uint8_t sig[64], const uint8_t *msg, size_t len,
	              const uint8_t pk[32]);
};

/* Uniform integer in [0, n) from env->prng; n > 0. */
uint32_t shoal_env_uniform(const struct shoal_env *env, uint32_t n);

/* Verify through the hook if set, else libsodium. */
int shoal_env_verify(const struct shoal_env *env, const uint8_t sig[64], const uint8_t *msg,
                     size_t len, const uint8_t pk[32]);

/* Address helpers. Text form: "1.2.3.4:7000" or "[::1]:7000". */
int shoal_addr_parse(struct shoal_addr *out, const char *text);
/* Writes at most `cap` bytes including the NUL; returns 0 or -ENOSPC. */
int shoal_addr_format(const struct shoal_addr *a, char *buf, size_t cap);
int shoal_addr_equal(const struct shoal_addr *a, const struct shoal_addr *b);

#define SHOAL_ADDR_STRLEN 56

#endif
