/*
 * intents_replica.c - the intent store as an application of the
 * replication service (replica.h): what makes an intent applied at one
 * node arrive, verified, at every node.
 *
 * The mapping is include/shoal/intent_gossip.h's, computed there for
 * shoald and shoalsim alike:
 *
 *   key      "Kind/name" (intent_store_key)
 *   version  the envelope's HLC
 *   digest   the intent id, SHA-256 of the signed body. The service checks
 *            a pulled envelope against it through app.digest, which hashes
 *            the body inside the envelope - the same bytes the id covers.
 *            The signature around it is not covered by the digest; the store
 *            verifies it (a bad one is rejected, counted and logged).
 *   body     the binary envelope as stored (item->bytes)
 *   offer    intent_gossip_offer from PEER (or RESYNC), expect_id = the
 *            announced digest; the store's persist hook commits LMDB before
 *            memory changes
 *   buckets  the store's own: XOR of ids by the first 12 bits of
 *            SHA-256(key); for 2^k buckets the first k bits, the first 8
 *            bytes of each XOR as the hash
 *
 * What stays here is what only shoald has: peer names for logs, the
 * announce queue, the bucket index that lists one bucket without a walk.
 *
 * Every commit is announced, whatever brought it (API, peer, a pending
 * envelope whose grant arrived), except the envelope the service itself is
 * offering at that moment: the service re-announces it (or, for a bulk
 * anti-entropy catch-up, deliberately does not). Commits land inside store
 * calls that may run inside the service's own callbacks, which must not
 * call back into it; so they queue keys, and a zero-delay timer announces
 * them from the loop.
 *
 * Pending envelopes (signer's grant not here yet) are answered DUPLICATE
 * and reported as held by lookup while they are parked, so they are not
 * fetched again and again; one evicted from the bounded pending set, or
 * lost in a restart (the set is only in memory), is "lacking" again and
 * anti-entropy fetches it from a node that committed it - any node that
 * committed it holds its grant too. Once the grant arrives the parked
 * envelope commits and is announced like any other commit.
 *
 * Stubs (a leaf's intents that do not select it, leaf_intents.c) are held
 * at their version and id for lookup and in the bucket hashes, exactly as
 * a full node holds the envelope, so nothing is fetched again; but their
 * body cannot be served: fetch says the item is not here, an anti-entropy
 * answer does not list them, a commit that left a stub is not announced,
 * and a pulled envelope kept as a stub (or a stub filled in) is answered
 * REPLICA_ACCEPTED_QUIET so that the service does not announce it either.
 * A full node thus never learns of an item from a leaf that cannot serve
 * it, and never tries to pull one there.
 */
#include "node.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"
#include "shoal/intent_gossip.h"

struct announce_key {
	enum intent_kind kind;
	char name[INTENT_NAME_MAX + 1];
};

struct node_intents_wire {
	struct node *n;
	const uint8_t *offering; /* the id the service is offering now, or NULL */
	uint64_t rejected[INTENT_R_COUNT];

	/* items grouped by bucket, rebuilt when the store changed */
	const struct intent_item **by_bucket;
	uint32_t start[INTENT_BUCKETS + 1];
	size_t indexed, index_cap;
	uint64_t index_changes; /* n->intents_changes it was built at */
	bool index_valid;

	/* keys committed, to announce from the loop */
	struct announce_key *queue;
	size_t nqueue, queue_cap;
	uv_timer_t flush;
};

/* ---- keys -------------------------------------------------------------- */

static const struct intent_item *find(struct node *n, const uint8_t *key, uint32_t len)
{
	enum intent_kind kind;
	char name[INTENT_NAME_MAX + 1];
	if (intent_gossip_key_parse(key, len, &kind, name) != 0)
		return NULL;
	return intent_store_get(n->intents, kind, name);
}

/* A replica item view of a stored intent; `key` receives "Kind/name". */
static void describe(const struct intent_item *it, char key[INTENT_KEY_MAX],
                     struct replica_item *out)
{
	intent_store_key(it, key);
	out->key = (const uint8_t *)key;
	out->key_len = (uint32_t)strlen(key);
	out->version = it->env.body.hlc;
	memcpy(out->digest, it->env.id, REPLICA_DIGEST_LEN);
	out->size = (uint32_t)it->len;
}

/* The member at `addr`, for received_from and logs; else the address. */
static void peer_name(const struct node *n, const struct shoal_addr *addr, char *out, size_t cap)
{
	struct swim_member_info m;
	uint32_t cursor = 0;
	while (swim_member_next(n->swim, &cursor, &m) == 0) {
		if (shoal_addr_equal(&m.addr, addr)) {
			snprintf(out, cap, "%s", m.name);
			return;
		}
	}
	if (shoal_addr_format(addr, out, cap) != 0)
		snprintf(out, cap, "peer");
}

/* ---- the replica_app callbacks ---------------------------------------- */

static int app_lookup(void *ctx, const uint8_t *key, uint32_t key_len, uint64_t *version,
                      uint8_t digest[REPLICA_DIGEST_LEN])
{
	struct node_intents_wire *w = ctx;
	enum intent_kind kind;
	char name[INTENT_NAME_MAX + 1];
	if (intent_gossip_key_parse(key, key_len, &kind, name) != 0)
		return SHOAL_E_NOT_FOUND;
	return intent_gossip_held(w->n->intents, kind, name, version, digest);
}

static int app_fetch(void *ctx, const uint8_t *key, uint32_t key_len, struct replica_item *out,
                     const uint8_t **body)
{
	struct node_intents_wire *w = ctx;
	const struct intent_item *it = find(w->n, key, key_len);
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

/* The id an envelope claims: SHA-256 of its body (structure only; the
 * signature is the store's to verify). */
static int app_digest(void *ctx, const uint8_t *key, uint32_t key_len, const uint8_t *body,
                      uint32_t len, uint8_t out[REPLICA_DIGEST_LEN])
{
	(void)ctx;
	(void)key;
	(void)key_len;
	return intent_gossip_envelope_id(body, len, out);
}

static void log_rejected(struct node *n, const struct intent_offer *o,
                         const struct intent_error *err, const char *from)
{
	char id[65] = "";
	if (o->version != 0)
		node_intents_hex(o->id, 32, id);
	node_log_event(&n->log, NODE_LOG_WARN, "intent_rejected",
	               json_pack("{s:s,s:s,s:s,s:s,s:s}", "reason", intent_reason_name(err->reason),
	                         "detail", err->text, "id", id, "name", o->name, "from", from));
}

static enum replica_verdict app_offer(void *ctx, uint64_t now, const struct replica_item *it,
                                      const uint8_t *body, const struct shoal_addr *from,
                                      const char **reason)
{
	struct node_intents_wire *w = ctx;
	struct node *n = w->n;
	struct intent_error err = {0};
	char peer[SWIM_NAME_MAX + SHOAL_ADDR_STRLEN];
	(void)now;

	peer_name(n, from, peer, sizeof(peer));
	struct intent_offer o = {.bytes = body,
	                         .len = it->size,
	                         .now_ms = node_wall_ms(),
	                         .source = node_intents_peer_source(n),
	                         .from = peer};
	w->offering = it->digest;
	enum intent_outcome out =
	        intent_gossip_offer(n->intents, &o, it->key, it->key_len, it->digest, &err, NULL);
	w->offering = NULL;
	const struct intent_item *held = NULL;
	if (out == INTENT_ACCEPTED)
		held = intent_store_get(n->intents, o.kind, o.name);
	switch (out) {
	case INTENT_ACCEPTED:
		/* Kept as a stub: held, but not to be served, so not announced. */
		return held != NULL && held->stub && memcmp(held->env.id, o.id, 32) == 0
		               ? REPLICA_ACCEPTED_QUIET
		               : REPLICA_ACCEPTED;
	case INTENT_FILLED:
		/* A leaf's stub made whole: the fleet has it already. */
		return REPLICA_ACCEPTED_QUIET;
	case INTENT_DUPLICATE:
		return REPLICA_DUPLICATE;
	case INTENT_PENDING:
		/* Parked for its grant: committed (and announced) when the grant
		 * arrives; not announced before, since it is not held. */
		node_log_event(&n->log, NODE_LOG_INFO, "intent_pending",
		               json_pack("{s:s,s:I,s:s}", "name", o.name, "version",
		                         (json_int_t)o.version, "from", peer));
		return REPLICA_DUPLICATE;
	default:
		w->rejected[err.reason]++;
		log_rejected(n, &o, &err, peer);
		*reason = intent_reason_name(err.reason);
		return REPLICA_REJECTED;
	}
}

/* Rebuild the bucket index if the store changed since it was built. */
static int index_items(struct node_intents_wire *w)
{
	struct node *n = w->n;
	size_t count = intent_store_count(n->intents);
	if (w->index_valid && w->index_changes == n->intents_changes && w->indexed == count)
		return 0;
	if (count > w->index_cap) {
		const struct intent_item **grown = realloc(w->by_bucket, count * sizeof(*grown));
		if (grown == NULL)
			return -1;
		w->by_bucket = grown;
		w->index_cap = count;
	}
	/* Counting sort by bucket: O(n), stable in (kind, name) order. */
	uint32_t fill[INTENT_BUCKETS];
	memset(w->start, 0, sizeof(w->start));
	for (size_t i = 0; i < count; i++)
		w->start[intent_store_at(n->intents, i)->bucket + 1]++;
	for (uint32_t b = 0; b < INTENT_BUCKETS; b++)
		w->start[b + 1] += w->start[b];
	memcpy(fill, w->start, sizeof(fill));
	for (size_t i = 0; i < count; i++) {
		const struct intent_item *it = intent_store_at(n->intents, i);
		w->by_bucket[fill[it->bucket]++] = it;
	}
	w->indexed = count;
	w->index_changes = n->intents_changes;
	w->index_valid = true;
	return 0;
}

static int app_bucket_hashes(void *ctx, uint32_t buckets, uint64_t *out)
{
	struct node_intents_wire *w = ctx;
	return intent_gossip_bucket_hashes(w->n->intents, buckets, out);
}

static int app_bucket_items(void *ctx, uint32_t buckets, uint32_t bucket, replica_item_fn fn,
                            void *cbctx)
{
	struct node_intents_wire *w = ctx;
	uint32_t shift;
	char key[INTENT_KEY_MAX];
	struct replica_item ri;
	if (intent_gossip_fold_shift(buckets, &shift) != 0 || bucket >= buckets)
		return SHOAL_E_RANGE;
	if (index_items(w) != 0)
		return -ENOMEM;
	uint32_t lo = w->start[bucket << shift], hi = w->start[(bucket + 1) << shift];
	for (uint32_t i = lo; i < hi; i++) {
		if (w->by_bucket[i]->stub)
			continue; /* hashed like the envelope, but not offered to be pulled */
		describe(w->by_bucket[i], key, &ri);
		if (fn(cbctx, &ri) != 0)
			break;
	}
	return 0;
}

static void app_heard(void *ctx, const struct replica_item *it, const struct shoal_addr *from)
{
	struct node_intents_wire *w = ctx;
	char peer[SWIM_NAME_MAX + SHOAL_ADDR_STRLEN], id[65], name[INTENT_NAME_MAX + 1];
	enum intent_kind kind;
	if (intent_gossip_key_parse(it->key, it->key_len, &kind, name) != 0)
		return; /* not an intent's key: the offer will say so */
	node_intents_hex(it->digest, REPLICA_DIGEST_LEN, id);
	peer_name(w->n, from, peer, sizeof(peer));
	node_log_event(&w->n->log, NODE_LOG_INFO, "intent_announced",
	               json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "id", id, "kind",
	                         intent_kind_name(kind), "name", name, "version",
	                         (json_int_t)it->version, "size", (json_int_t)it->size, "from",
	                         peer));
}

/* ---- announcing commits ----------------------------------------------- */

static void on_flush(uv_timer_t *t)
{
	struct node_intents_wire *w = t->data;
	struct node *n = w->n;
	char key[INTENT_KEY_MAX];
	struct replica_item ri;
	for (size_t i = 0; i < w->nqueue; i++) {
		const struct intent_item *it =
		        intent_store_get(n->intents, w->queue[i].kind, w->queue[i].name);
		if (it == NULL || it->stub)
			continue; /* collected since, or a stub: nothing to serve */
		describe(it, key, &ri);
		node_replica_announce(n, &ri);
	}
	w->nqueue = 0;
}

void node_intents_wire_committed(struct node *n, const struct intent_item *it)
{
	struct node_intents_wire *w = n->wire;
	if (w == NULL)
		return;
	if (w->offering != NULL && memcmp(w->offering, it->env.id, 32) == 0)
		return; /* the service announces what it pulled itself */
	if (it->stub)
		return; /* a leaf's stub: its body cannot be served from here */
	if (w->nqueue == w->queue_cap) {
		size_t cap = w->queue_cap ? w->queue_cap * 2 : 16;
		struct announce_key *grown = realloc(w->queue, cap * sizeof(*grown));
		if (grown == NULL)
			return; /* anti-entropy carries it instead */
		w->queue = grown;
		w->queue_cap = cap;
	}
	struct announce_key *k = &w->queue[w->nqueue++];
	k->kind = it->env.body.kind;
	memcpy(k->name, it->env.body.name, sizeof(k->name));
	if (w->nqueue == 1)
		uv_timer_start(&w->flush, on_flush, 0, 0);
}

/* ---- lifecycle --------------------------------------------------------- */

int node_intents_wire_open(struct node *n, struct replica_app *app)
{
	struct node_intents_wire *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->n = n;
	*app = (struct replica_app){.ctx = w,
	                            .lookup = app_lookup,
	                            .fetch = app_fetch,
	                            .offer = app_offer,
	                            .bucket_hashes = app_bucket_hashes,
	                            .bucket_items = app_bucket_items,
	                            .digest = app_digest,
	                            .heard = app_heard};
	uv_timer_init(n->loop, &w->flush);
	w->flush.data = w;
	n->wire = w;
	return 0;
}

static void free_wire(uv_handle_t *h)
{
	struct node_intents_wire *w = h->data;
	free(w->queue);
	free(w->by_bucket);
	free(w);
}

void node_intents_wire_close(struct node *n)
{
	struct node_intents_wire *w = n->wire;
	if (w == NULL)
		return;
	n->wire = NULL;
	uv_close((uv_handle_t *)&w->flush, free_wire);
}

uint64_t node_intents_gossip_rejected(const struct node *n, enum intent_reason r)
{
	return n->wire != NULL && r < INTENT_R_COUNT ? n->wire->rejected[r] : 0;
}
