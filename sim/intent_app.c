/*
 * intent_app.c - the intent store behind the replication service in
 * shoalsim (intent_app.h has the mapping and why).
 *
 * Anti-entropy walks the whole store per call: bucket_hashes once per
 * exchange, bucket_items once per differing bucket. A fleet holds tens of
 * thousands of intents at most and exchanges run every 30 s, so a walk of
 * pointers (and a short key string per item) costs far less than keeping a
 * second set of bucket hashes in step with every merge.
 */
#include "intent_app.h"

#include <stdio.h>
#include <string.h>

#include "shoal/error.h"

void sim_intent_app_item(const struct intent_item *item, char key[INTENT_KEY_MAX],
                         struct replica_item *out)
{
	intent_store_key(item, key);
	out->key = (const uint8_t *)key;
	out->key_len = (uint32_t)strlen(key);
	out->version = item->env.body.hlc;
	memcpy(out->digest, item->digest, REPLICA_DIGEST_LEN);
	out->size = (uint32_t)item->len;
}

/* "Kind/name" -> the held item, or NULL (also for a key that names none). */
static const struct intent_item *by_key(const struct intent_store *s, const uint8_t *key,
                                        uint32_t key_len)
{
	char name[INTENT_NAME_MAX + 1];
	const uint8_t *slash = memchr(key, '/', key_len);
	if (slash == NULL)
		return NULL;
	size_t klen = (size_t)(slash - key), nlen = key_len - klen - 1;
	enum intent_kind kind = intent_kind_parse((const char *)key, klen);
	if (kind == INTENT_KIND_NONE || nlen == 0 || nlen > INTENT_NAME_MAX)
		return NULL;
	memcpy(name, slash + 1, nlen);
	name[nlen] = '\0';
	return intent_store_get(s, kind, name);
}

static int app_lookup(void *ctx, const uint8_t *key, uint32_t key_len, uint64_t *version,
                      uint8_t digest[REPLICA_DIGEST_LEN])
{
	struct sim_intent_app *ir = ctx;
	const struct intent_item *it = by_key(ir->store, key, key_len);
	if (it == NULL)
		return SHOAL_E_NOT_FOUND;
	*version = it->env.body.hlc;
	memcpy(digest, it->digest, REPLICA_DIGEST_LEN);
	return 0;
}

static int app_fetch(void *ctx, const uint8_t *key, uint32_t key_len, struct replica_item *out,
                     const uint8_t **body)
{
	struct sim_intent_app *ir = ctx;
	const struct intent_item *it = by_key(ir->store, key, key_len);
	if (it == NULL)
		return SHOAL_E_NOT_FOUND;
	out->key = key;
	out->key_len = key_len;
	out->version = it->env.body.hlc;
	memcpy(out->digest, it->digest, REPLICA_DIGEST_LEN);
	out->size = (uint32_t)it->len;
	*body = it->bytes;
	return 0;
}

/* Does the offer's decoded identity match the announced key and version? */
static bool as_announced(const struct intent_offer *o, const struct replica_item *it)
{
	char key[INTENT_KEY_MAX];
	int n = snprintf(key, sizeof(key), "%s/%s", intent_kind_name(o->kind), o->name);
	return o->version == it->version && n > 0 && (uint32_t)n == it->key_len &&
	       memcmp(key, it->key, it->key_len) == 0;
}

static enum replica_verdict app_offer(void *ctx, uint64_t now, const struct replica_item *it,
                                      const uint8_t *body, const struct shoal_addr *from,
                                      const char **reason)
{
	struct sim_intent_app *ir = ctx;
	char peer[SHOAL_ADDR_STRLEN];
	if (from == NULL || shoal_addr_format(from, peer, sizeof(peer)) != 0)
		snprintf(peer, sizeof(peer), "peer");
	struct intent_offer o = {.bytes = body,
	                         .len = it->size,
	                         .now_ms = ir->wall_ms(ir->ctx, now),
	                         .source = INTENT_FROM_PEER,
	                         .from = peer};
	enum intent_outcome out = intent_store_offer(ir->store, &o, &ir->last_err);
	if (out == INTENT_REJECTED) {
		*reason = intent_reason_name(ir->last_err.reason);
		return REPLICA_REJECTED;
	}
	if (!as_announced(&o, it)) {
		ir->mismatched++;
		return REPLICA_DUPLICATE;
	}
	return out == INTENT_ACCEPTED ? REPLICA_ACCEPTED : REPLICA_DUPLICATE;
}

static int app_hashes(void *ctx, uint32_t buckets, uint64_t *out)
{
	struct sim_intent_app *ir = ctx;
	struct replica_item ri;
	char key[INTENT_KEY_MAX];
	memset(out, 0, buckets * sizeof(*out));
	for (size_t i = 0; i < intent_store_count(ir->store); i++) {
		sim_intent_app_item(intent_store_at(ir->store, i), key, &ri);
		out[replica_bucket(ri.key, ri.key_len, buckets)] ^= replica_item_hash(&ri);
	}
	return 0;
}

static int app_items(void *ctx, uint32_t buckets, uint32_t bucket, replica_item_fn fn, void *cbctx)
{
	struct sim_intent_app *ir = ctx;
	struct replica_item ri;
	char key[INTENT_KEY_MAX];
	for (size_t i = 0; i < intent_store_count(ir->store); i++) {
		sim_intent_app_item(intent_store_at(ir->store, i), key, &ri);
		if (replica_bucket(ri.key, ri.key_len, buckets) == bucket && fn(cbctx, &ri) != 0)
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
	                            .bucket_items = app_items};
}
