/*
 * trust.h - the root keys a node trusts, read from its --trust file.
 *
 * Roots are configuration; everything below them (KeyGrant, KeyRevoke) is
 * replicated as intents and judged by the intent store
 * (intent_store_judge), so validity is a pure function of the replicated
 * set and converged nodes agree. Every node's roots must be the same set;
 * trust_roots_hash gives a value a member record can carry so a mismatch
 * can be reported.
 *
 * File format: one public key per line, base64 or hex (32 bytes); blank
 * lines and lines starting with '#' are ignored.
 *
 * Thread-safety: pure functions over caller-owned memory.
 */
#ifndef SHOAL_TRUST_H
#define SHOAL_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRUST_ROOTS_MAX 64

struct trust_roots {
	uint8_t keys[TRUST_ROOTS_MAX][32]; /* Ed25519 public keys, in file order */
	size_t n;                          /* keys in use */
};

void trust_roots_create(struct trust_roots *r);
/* Parse the file's text (len bytes, need not be NUL-terminated). Returns 0,
 * -EINVAL with `err` naming the line, or -ENOSPC past TRUST_ROOTS_MAX. A
 * key listed twice is kept once. */
int trust_roots_parse(struct trust_roots *r, const char *text, size_t len, char *err,
                      size_t errcap);
/* Add one key; 0, or -ENOSPC. */
int trust_roots_add(struct trust_roots *r, const uint8_t pk[32]);
bool trust_is_root(const struct trust_roots *r, const uint8_t pk[32]);
/* SHA-256 over the keys in sorted order: the same set hashes the same
 * whatever the file's order. */
void trust_roots_hash(const struct trust_roots *r, uint8_t out[32]);

#endif
