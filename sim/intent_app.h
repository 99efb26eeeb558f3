/*
 * intent_app.h - the intent store as an application of the replication
 * service (replica.h) in shoalsim: how intents map onto announced items.
 *
 * The mapping is shoald's (docs/intents.md, "Replication";
 * node/intents_replica.c), computed by the same code, intent_gossip.h:
 *
 *   item key      "Kind/name" (intent_store_key): one LWW register per key
 *   item version  the envelope's HLC (env.body.hlc), or that of a newer
 *                 envelope parked for its signer's grant (held while parked)
 *   item digest   the intent id, SHA-256 of the signed body (env.id); a
 *                 pulled envelope is checked by hashing the body inside it
 *                 (app.digest), and the store verifies the signature
 *   item body     the binary envelope [body, sig], exactly as stored
 *   buckets       the store's own, folded to the service's count
 *
 * A pulled envelope that is not the key it was announced under is refused
 * before the store sees it (counted in `mismatched`); one that is goes
 * through intent_store_offer as INTENT_FROM_PEER with expect_id = the
 * announced digest, which decodes it, verifies the signature, judges trust
 * and merges. A store refusal is REPLICA_REJECTED, and since the digest
 * leaves the signature out the service asks the next source rather than
 * give the item up. An envelope the store parks for its signer's grant
 * counts as a duplicate (not re-announced, not pulled again): the store
 * commits it when the grant arrives.
 *
 * It lives beside its driver, not in the core: crdt/ sits below gossip/ and
 * gossip/ never includes an application header (docs/architecture.md), so
 * the thin callbacks that fill replica types belong to whoever attaches the
 * store; what they compute is shared in crdt/intent_gossip.c.
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
	uint64_t mismatched;          /* envelopes refused: not the key they were announced as */
};

/* Fill `app` with callbacks over `ir` (app->ctx = ir). */
void sim_intent_app(struct sim_intent_app *ir, struct replica_app *app);

/* The announcement of a held item: key into `key` (which `out->key`
 * points at), version, digest and size. For the driver to pass to
 * replica_announce after a commit at its API. */
void sim_intent_app_item(const struct intent_item *item, char key[INTENT_KEY_MAX],
                         struct replica_item *out);

#endif
