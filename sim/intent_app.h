/*
 * intent_app.h - the intent store as an application of the replication
 * service (replica.h) in shoalsim: how intents map onto announced items.
 *
 * The mapping is the contract of docs/intents.md ("Replication"), which
 * shoald's wiring follows too. It lives beside its driver, not in the
 * core: crdt/ sits below gossip/ and gossip/ never includes an application
 * header (docs/architecture.md), so the glue between the two belongs to
 * whoever attaches the store.
 *
 * Mapping, per held intent:
 *
 *   item key      "Kind/name" (intent_store_key): one LWW register per key
 *   item version  the envelope's HLC (env.body.hlc)
 *   item body     the binary envelope [body, sig], exactly as stored
 *   item digest   SHA-256 of those envelope bytes (intent_item.digest)
 *
 * The digest covers the signature too, not only the body the intent id
 * hashes: the service promises that bytes matching a digest are the bytes
 * announced, and refuses to retry an item the application rejected because
 * "another source would serve the same bytes". With a body-only digest a
 * peer could serve a good body with a bad signature under a good
 * announcement, and the item would never be pulled again from an honest
 * one. The intent id stays what the API and logs show.
 *
 * A pulled envelope goes through intent_store_offer as INTENT_FROM_PEER,
 * which decodes it, verifies the signature, judges trust and merges. If it
 * is not for the key and version it was announced under, it is still a
 * validly signed intent and the store keeps whatever it decided, but the
 * service is told "duplicate", so this node does not re-announce it under
 * the wrong key (counted in `mismatched`; anti-entropy spreads it under its
 * own). An envelope the store parks for its signer's grant also counts as a
 * duplicate (not re-announced, not pulled again): the store commits it
 * when the grant arrives.
 *
 * Anti-entropy buckets follow replica.h (replica_bucket of the key, XOR of
 * replica_item_hash), computed by walking the store; the store's own
 * 256 id buckets serve its digest, not the service.
 *
 * Ownership: the caller owns struct sim_intent_app and the store, which
 * must outlive the replica the app is given to. Thread-safety: that of the
 * store. Sans-IO: wall time comes from the driver's wall_ms callback.
 */
#ifndef SHOAL_SIM_INTENT_APP_H
#define SHOAL_SIM_INTENT_APP_H

#include <stdint.h>

#include "shoal/intent_store.h"
#include "shoal/replica.h"

struct sim_intent_app {
	struct intent_store *store; /* borrowed */
	/* The driver's wall clock (unix ms) at the service's `now`: the store
	 * judges horizons against wall time, the service runs on the driver's
	 * monotonic clock. */
	uint64_t (*wall_ms)(void *ctx, uint64_t now);
	void *ctx;                    /* for wall_ms */
	struct intent_error last_err; /* why the last offer was refused */
	uint64_t mismatched;          /* envelopes not for the key/version announced */
};

/* Fill `app` with callbacks over `ir` (app->ctx = ir). */
void sim_intent_app(struct sim_intent_app *ir, struct replica_app *app);

/* The announcement of a held item: key into `key` (which `out->key`
 * points at), version, digest and size. For the driver to pass to
 * replica_announce after a commit at its API. */
void sim_intent_app_item(const struct intent_item *item, char key[INTENT_KEY_MAX],
                         struct replica_item *out);

#endif
