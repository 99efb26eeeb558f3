/*
 * intent_gossip.h - the intent store's half of its mapping onto the item
 * replication service (docs/intents.md, "Replication"), shared by every
 * driver that attaches a store to a replica: shoald (node/intents_replica.c)
 * and shoalsim (sim/intent_app.c). Both compute keys, digests, bucket
 * hashes and the checks on a pulled envelope here, so the simulator
 * measures the mapping shoald runs, not a copy of it.
 *
 * The mapping, per held intent:
 *
 *   key      "Kind/name" (intent_store_key)
 *   version  the envelope's HLC
 *   digest   the intent id, SHA-256 of the signed body. A pulled envelope
 *            is checked against it by hashing the body inside the envelope
 *            (intent_gossip_envelope_id); the signature around it is not
 *            covered, the store verifies it. So an envelope whose signature
 *            a peer altered is refused by the store and asked of the next
 *            source, not mistaken for "the same bytes from anyone".
 *   body     the binary envelope as stored (item->bytes)
 *   buckets  the store's own: XOR of ids by the first 12 bits of
 *            SHA-256(key); for 2^k buckets the first k bits, the first 8
 *            bytes of each XOR as the hash (big-endian)
 *
 * It lives in crdt/ and speaks only of the store: the replication types
 * (struct replica_item, struct replica_app) stay in gossip/, and the thin
 * callbacks that fill them stay with each driver.
 *
 * Thread-safety: that of the store. Sans-IO.
 */
#ifndef SHOAL_INTENT_GOSSIP_H
#define SHOAL_INTENT_GOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shoal/intent.h"
#include "shoal/intent_store.h"

/* "Kind/name" (len bytes, not NUL-terminated) -> kind and NUL-terminated
 * name. 0, or -1 for a key that names no intent (no slash, unknown kind,
 * empty or over-long name, a NUL inside). */
int intent_gossip_key_parse(const uint8_t *key, size_t len, enum intent_kind *kind,
                            char name[INTENT_NAME_MAX + 1]);

/* The digest of an envelope's bytes: the id its body hashes to (structure
 * only; the signature is the store's to verify). 0, or -1 if the bytes do
 * not decode as an envelope. */
int intent_gossip_envelope_id(const uint8_t *bytes, size_t len, uint8_t id[32]);

/* What this node holds under (kind, name) as far as fetching goes: the
 * committed item's HLC and id, or those of a newer envelope parked for its
 * signer's grant (held while parked, so it is not pulled again and again).
 * 0, or SHOAL_E_NOT_FOUND. */
int intent_gossip_held(const struct intent_store *s, enum intent_kind kind, const char *name,
                       uint64_t *version, uint8_t id[32]);

/* log2 of the fold from INTENT_BUCKETS down to `buckets`: store bucket b
 * belongs to bucket b >> shift. SHOAL_E_RANGE unless `buckets` is a power
 * of two in 1..INTENT_BUCKETS. */
int intent_gossip_fold_shift(uint32_t buckets, uint32_t *shift);

/* The hash of each of `buckets` buckets (see the mapping above) into
 * out[buckets]. 0 or SHOAL_E_RANGE. */
int intent_gossip_bucket_hashes(const struct intent_store *s, uint32_t buckets, uint64_t *out);

/* Offer an envelope pulled from a peer, announced under `key` with digest
 * `id`: it must decode and be that key's envelope, else it is refused as
 * INTENT_R_MALFORMED with nothing offered (*other_key, if not NULL, set
 * when it was a well-formed envelope of another key); then it goes to
 * intent_store_offer with o->expect_id = id. The caller fills o->bytes,
 * len, now_ms, source and from. */
enum intent_outcome intent_gossip_offer(struct intent_store *s, struct intent_offer *o,
                                        const uint8_t *key, size_t key_len, const uint8_t id[32],
                                        struct intent_error *err, bool *other_key);

#endif
