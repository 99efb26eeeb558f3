/*
 * seal.c - sealing and opening packets under the cluster keyring.
 *
 * One AEAD call per packet, XChaCha20-Poly1305 (IETF) from libsodium, with
 * the version byte as associated data so it cannot be swapped without the
 * tag failing. The 24-byte nonce is random; at 192 bits no counter or
 * per-peer state is needed, which keeps the core free of anything that must
 * survive a restart.
 *
 * Opening tries every installed key in order, primary first: the common case
 * costs one attempt, and during a rotation the old key is still tried.
 * An empty keyring means the cluster runs without encryption: the version
 * byte is 0 and the payload follows in the clear. A node that holds keys
 * never accepts such a packet, so installing a keyring cannot be undone by
 * a peer simply not sealing.
 *
 * Input and output buffers must not overlap: libsodium only allows a
 * ciphertext and plaintext to share memory at the same address, and the
 * header in front of the ciphertext shifts them apart.
 */
#include "shoal/seal.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "shoal/error.h"

#define NONCE_LEN     crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN       crypto_aead_xchacha20poly1305_ietf_ABYTES
#define PLAIN_VERSION 0

/* The layout in seal.h must agree with libsodium's sizes. */
_Static_assert(SHOAL_SEAL_OVERHEAD == 1 + NONCE_LEN + TAG_LEN, "seal overhead");
_Static_assert(SHOAL_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");

int shoal_seal(const struct shoal_keyring *kr, const struct shoal_env *env, const uint8_t *plain,
               size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
	if (kr->count == 0) {
		if (len > SIZE_MAX - 1 || cap < len + 1)
			return SHOAL_E_TOO_BIG;
		out[0] = PLAIN_VERSION;
		if (len > 0)
			memmove(out + 1, plain, len);
		*outlen = len + 1;
		return 0;
	}
	if (len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX ||
	    len > SIZE_MAX - SHOAL_SEAL_OVERHEAD || cap < len + SHOAL_SEAL_OVERHEAD)
		return SHOAL_E_TOO_BIG;
	if (env == NULL || env->random_bytes == NULL)
		return -EINVAL;

	uint8_t *nonce = out + 1;
	unsigned long long clen;
	out[0] = SHOAL_SEAL_VERSION;
	env->random_bytes(env->ctx, nonce, NONCE_LEN);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 + NONCE_LEN, &clen, plain, len, out,
	                                               1, NULL, nonce, kr->keys[0]) != 0)
		return -EINVAL; /* libsodium only fails on a too-long message */
	*outlen = 1 + NONCE_LEN + (size_t)clen;
	return 0;
}

int shoal_open(const struct shoal_keyring *kr, const uint8_t *in, size_t len, uint8_t *out,
               size_t cap, size_t *outlen)
{
	if (len < 1)
		return SHOAL_E_TRUNCATED;
	if (in[0] == PLAIN_VERSION) {
		/* Plain packets only while the cluster runs unsealed. */
		if (kr->count > 0)
			return SHOAL_E_VERSION;
		if (cap < len - 1)
			return SHOAL_E_TOO_BIG;
		if (len > 1)
			memmove(out, in + 1, len - 1);
		*outlen = len - 1;
		return 0;
	}
	if (in[0] != SHOAL_SEAL_VERSION)
		return SHOAL_E_VERSION;
	if (len < SHOAL_SEAL_OVERHEAD)
		return SHOAL_E_TRUNCATED;
	if (cap < len - SHOAL_SEAL_OVERHEAD)
		return SHOAL_E_TOO_BIG;

	const uint8_t *nonce = in + 1;
	const uint8_t *ct = in + 1 + NONCE_LEN;
	unsigned long long ctlen = len - 1 - NONCE_LEN;
	for (uint32_t i = 0; i < kr->count && i < SHOAL_KEYRING_MAX; i++) {
		unsigned long long mlen;
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL, ct, ctlen, in, 1,
		                                               nonce, kr->keys[i]) == 0) {
			*outlen = (size_t)mlen;
			return 0;
		}
	}
	return SHOAL_E_AUTH;
}
