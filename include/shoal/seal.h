/*
 * seal.h - the cluster keyring and packet sealing.
 *
 * Every datagram and stream message between nodes is sealed with
 * XChaCha20-Poly1305 (libsodium) under a key of the cluster keyring:
 *
 *    0        1                         25                         len
 *   +--------+-------------------------+----------------------------+
 *   | ver=1  | nonce (24 random bytes) | ciphertext + 16-byte tag   |
 *   +--------+-------------------------+----------------------------+
 *
 * The version byte is authenticated as associated data. Sealing uses the
 * primary key (keys[0]); opening tries every installed key, so a fleet can
 * rotate keys without a flag day: install everywhere, use everywhere, remove.
 * Nonces are random (192 bits make collisions negligible), drawn from the
 * env's CSPRNG.
 *
 * Key material lives in fixed arrays and is wiped with sodium_memzero when
 * removed or destroyed.
 * Thread-safety: none; a keyring belongs to its node's loop.
 */
#ifndef SHOAL_SEAL_H
#define SHOAL_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "shoal/env.h"

#define SHOAL_KEY_LEN       32
#define SHOAL_KEYRING_MAX   8
#define SHOAL_SEAL_VERSION  1
#define SHOAL_SEAL_OVERHEAD (1 + 24 + 16)

struct shoal_keyring {
	uint8_t keys[SHOAL_KEYRING_MAX][SHOAL_KEY_LEN]; /* keys[0] is primary */
	uint32_t count;                                 /* installed keys */
};

void shoal_keyring_create(struct shoal_keyring *kr);
/* Wipes every key. */
void shoal_keyring_destroy(struct shoal_keyring *kr);
/* Add a key (not primary). SHOAL_E_EXISTS if present (not an error for
 * callers that want idempotence), SHOAL_E_TOO_BIG if full. The first key
 * installed into an empty ring becomes primary. */
int shoal_keyring_install(struct shoal_keyring *kr, const uint8_t key[SHOAL_KEY_LEN]);
/* Make an installed key primary. SHOAL_E_NOT_FOUND if absent. */
int shoal_keyring_use(struct shoal_keyring *kr, const uint8_t key[SHOAL_KEY_LEN]);
/* Remove a non-primary key. SHOAL_E_LAST_KEY for the primary. */
int shoal_keyring_remove(struct shoal_keyring *kr, const uint8_t key[SHOAL_KEY_LEN]);
/* Index of `key` or -1. */
int shoal_keyring_find(const struct shoal_keyring *kr, const uint8_t key[SHOAL_KEY_LEN]);

/* Key text is standard base64 of 32 bytes (44 characters), like Serf's.
 * Parsed with sodium_base642bin; surrounding whitespace is ignored. */
int shoal_key_parse(uint8_t key[SHOAL_KEY_LEN], const char *text);
/* Writes 45 bytes including the NUL. */
void shoal_key_format(const uint8_t key[SHOAL_KEY_LEN], char out[45]);

/* Keyring file: one base64 key per line, primary first; '#' comments and
 * blank lines ignored. Load: SHOAL_E_CONFIG with a reason in err (may be
 * NULL) for a bad line. Save writes a temp file, fsyncs, renames (mode 0600). */
int shoal_keyring_load(struct shoal_keyring *kr, const char *path, char *err, size_t errcap);
int shoal_keyring_save(const struct shoal_keyring *kr, const char *path);

/* Seal `len` bytes into out (cap >= len + SHOAL_SEAL_OVERHEAD). With an
 * empty keyring, sealing is off: out = version 0 byte + plaintext (for
 * clusters configured without encryption). */
int shoal_seal(const struct shoal_keyring *kr, const struct shoal_env *env, const uint8_t *plain,
               size_t len, uint8_t *out, size_t cap, size_t *outlen);
/* Open a sealed message. SHOAL_E_AUTH if no installed key opens it,
 * SHOAL_E_VERSION for an unknown version byte (or a plain message while a
 * keyring is installed), SHOAL_E_TRUNCATED if shorter than the overhead.
 * `out` needs cap >= len. */
int shoal_open(const struct shoal_keyring *kr, const uint8_t *in, size_t len, uint8_t *out,
               size_t cap, size_t *outlen);

#endif
