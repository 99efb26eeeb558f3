/*
 * intent_app.c - the intent store behind the replication service in
 * shoalsim (intent_app.h has the mapping and why).
 *
 * Keys, digests, bucket hashes and the checks on a pulled envelope are
 * intent_gossip.h's, the code shoald's node/intents_replica.c calls too.
 * One difference, in cost only: listing one bucket walks the store (shoald
 * keeps an index by bucket). A fleet holds tens of thousands of intents at
 * most and exchanges run every 30 s, so a walk of pointers costs far less
 * than keeping an index in step with every merge at every simulated node.
 */
#include "intent_app.h"

#include <stdio.h>
#include <string.h>

#include "shoal/error.h"
#include "shoal/intent_gossip.h"

void sim_intent_app_item(const struct intent_item *item, char key[INTENT_KEY_MAX],
                         struct replica_item *out)
{
	intent_store_key(item, key);
	out->key = (const uint8_t *)key;
	out->key_len = (uint32_t)strlen(key);
	out->version = item->env.body.hlc;
	memcpy(out->digest, item->env.id, REPLICA_DIGEST_LEN);
	out->size = (uint32_t)item->len;
}

/* "Kind/name" -> the held item, or NULL (also for a key that names none). */
static const struct intent_item *by_key(const struct intent_store *s, const uint8_t *key,
                                        uint32_t key_len)
{
	enum intent_kind kind;
	char name[INTENT_NAME_MAX + 1];
	if (intent_gossip_key_parse(key, key_len, &kind, name) != 0)
		return NULL;
	return intent_store_get(s, kind, name);
}

static int app_lookup(void *ctx, const uint8_t *key, uint32_t key_len, uint64_t *version,
                      uint8_t digest[REPLICA_DIGEST_LEN])
{
	struct sim_intent_app *ir = ctx;
	enum intent_kind kind;
	char name[INTENT_NAME_MAX + 1];
	if (intent_gossip_key_parse(key, key_len, &kind, name) != 0)
		return SHOAL_E_NOT_FOUND;
	return intent_gossip_held(ir->store, kind, name, version, digest);
}

static int app_fetch(void *ctx, const uint8_t *key, uint32_t key_len, struct replica_item *out,
                     const uint8_t **body)
{
	struct sim_intent_app *ir = ctx;
	const struct intent_item *it = by_key(ir->store, key, key_len);
	if (it == NULL || it->stub)
		return SHOAL_E_NOT_FOUND; /* a stub's body is not here to serve */
	out->key = key;
	out->key_len = key_len;
	out->version = it->env.body.hlc;
	memcpy(out->digest, it->env.id, REPLICA_DIGEST_LEN);
	out->size = (uint32_t)it->len;
	*body = it->bytes;
	return 0;
}

/* The id an envelope claims: the body inside it hashed (intent_gossip.h). */
static int app_digest(void *ctx, const uint8_t *key, uint32_t key_len, const uint8_t *body,
                      uint32_t len, uint8_t out[REPLICA_DIGEST_LEN])
{
	(void)ctx;
	(void)key;
	(void)key_len;
	return intent_gossip_envelope_id(body, len, out);
}

static enum replica_verdict app_offer(void *ctx, uint64_t now, const struct replica_item *it,
                                      const uint8_t *body, const struct shoal_addr *from,
                                      const char **reason)
{
	struct sim_intent_app *ir = ctx;
	char peer[SHOAL_ADDR_STRLEN];
	bool other_key;
	if (from == NULL || shoal_addr_format(from, peer, sizeof(peer)) != 0)
		snprintf(peer, sizeof(peer), "peer");
	struct intent_offer o = {.bytes = body,
	                         .len = it->size,
	                         .now_ms = ir->wall_ms(ir->ctx, now),
	                         .source = INTENT_FROM_PEER,
	                         .from = peer};
	enum intent_outcome out = intent_gossip_offer(ir->store, &o, it->key, it->key_len,
	                                              it->digest, &ir->last_err, &other_key);
	switch (out) {
	case INTENT_ACCEPTED:
		return REPLICA_ACCEPTED;
	case INTENT_FILLED: /* a stub made whole (shoald's leaves): not news */
		return REPLICA_ACCEPTED_QUIET;
	case INTENT_DUPLICATE:
	case INTENT_PENDING: /* parked: committed and announced when its grant arrives */
		return REPLICA_DUPLICATE;
	default:
		if (other_key)
			ir->mismatched++;
		*reason = intent_reason_name(ir->last_err.reason);
		return REPLICA_REJECTED;
	}
}

static int app_hashes(void *ctx, uint32_t buckets, uint64_t *out)
{
	struct sim_intent_app *ir = ctx;
	return intent_gossip_bucket_hashes(ir->store, buckets, out);
}

static int app_items(void *ctx, uint32_t buckets, uint32_t bucket, replica_item_fn fn, void *cbctx)
{
	struct sim_intent_app *ir = ctx;
	struct replica_item ri;
	char key[INTENT_KEY_MAX];
	uint32_t shift;
	if (intent_gossip_fold_shift(buckets, &shift) != 0 || bucket >= buckets)
		return SHOAL_E_RANGE;
	for (size_t i = 0; i < intent_store_count(ir->store); i++) {
		const struct intent_item *item = intent_store_at(ir->store, i);
		if ((uint32_t)item->bucket >> shift != bucket || item->stub)
			continue; /* a stub is hashed like its envelope, not listed */
		sim_intent_app_item(item, key, &ri);
		if (fn(cbctx, &ri) != 0)
			break;
	}
	return 0;
}

void sim_intent_app(struct sim_intent_app *ir, struct replica_app *app)
{
	*app = (struct replica_app){.ctx = ir,
	                            .lookup = app_lookup,
	                            .fetch = app_fetch,
	                            .offer = app_offer,
	                            .bucket_hashes = app_hashes,
	                            .bucket_items = app_items,
	                            .digest = app_digest};
}
