/*
 * items.c - a replica and a toy item store on every simulated node, for
 * shoalsim's put action (items.h).
 *
 * The store is the least an application must be: lookup, fetch, offer
 * (which re-checks the digest, as the intent store checks a signature) and
 * the anti-entropy bucket summaries, over a bitmap of the items a node
 * holds. Bodies live once in the process. The network tap opens each
 * stream message with the cluster keyring to tell pull answers (ITEMS)
 * from the rest, so body bytes are counted by the network, not by the
 * service being measured.
 */
#include "items.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"
#include "shoal/seal.h"

#define ITEMS_MSG_TYPE 31 /* replica_proto.h REPLICA_MSG_ITEMS */

struct node_store {
	struct sim_items *s;
	uint32_t node;
};

struct sim_items {
	struct sim_cluster *c;
	struct replica_config cfg;
	uint32_t n;                /* node slots */
	struct replica **rep;      /* [n], NULL while down */
	struct node_store *stores; /* [n]: the app ctx of each node */
	uint8_t *held;             /* [n * SIM_ITEMS_MAX / 8] */
	struct sim_item *items;    /* [SIM_ITEMS_MAX] */
	uint32_t nitems;
	uint64_t *body_bytes; /* [n] sealed ITEMS bytes received */
	uint64_t body_total;
	struct replica_stats gone; /* stats of replicas already deleted */
	uint8_t *plain;            /* tap scratch */
	size_t plain_cap;
};

static bool has(const struct sim_items *s, uint32_t node, uint32_t item)
{
	return (s->held[(size_t)node * (SIM_ITEMS_MAX / 8) + item / 8] >> (item % 8)) & 1;
}

static void set_held(struct sim_items *s, uint32_t node, uint32_t item)
{
	s->held[(size_t)node * (SIM_ITEMS_MAX / 8) + item / 8] |= (uint8_t)(1u << (item % 8));
}

/* "put/<index>" -> index, or UINT32_MAX. */
static uint32_t key_index(const struct sim_items *s, const uint8_t *key, uint32_t len)
{
	uint32_t v = 0;
	if (len < 5 || len > 14 || memcmp(key, "put/", 4) != 0)
		return UINT32_MAX;
	for (uint32_t i = 4; i < len; i++) {
		if (key[i] < '0' || key[i] > '9')
			return UINT32_MAX;
		v = v * 10 + (uint32_t)(key[i] - '0');
	}
	return v < s->nitems ? v : UINT32_MAX;
}

static uint32_t key_of(uint32_t index, char *buf, size_t cap)
{
	return (uint32_t)snprintf(buf, cap, "put/%u", index);
}

static void item_of(const struct sim_items *s, uint32_t index, char *keybuf,
                    struct replica_item *it)
{
	it->key = (const uint8_t *)keybuf;
	it->key_len = key_of(index, keybuf, 16);
	it->version = 1;
	memcpy(it->digest, s->items[index].digest, REPLICA_DIGEST_LEN);
	it->size = s->items[index].size;
}

/* ---- the app ------------------------------------------------------------- */

static int app_lookup(void *ctx, const uint8_t *key, uint32_t key_len, uint64_t *version,
                      uint8_t digest[REPLICA_DIGEST_LEN])
{
	struct node_store *ns = ctx;
	uint32_t i = key_index(ns->s, key, key_len);
	if (i == UINT32_MAX || !has(ns->s, ns->node, i))
		return SHOAL_E_NOT_FOUND;
	*version = 1;
	memcpy(digest, ns->s->items[i].digest, REPLICA_DIGEST_LEN);
	return 0;
}

static int app_fetch(void *ctx, const uint8_t *key, uint32_t key_len, struct replica_item *it,
                     const uint8_t **body)
{
	struct node_store *ns = ctx;
	uint32_t i = key_index(ns->s, key, key_len);
	if (i == UINT32_MAX || !has(ns->s, ns->node, i))
		return SHOAL_E_NOT_FOUND;
	it->key = key;
	it->key_len = key_len;
	it->version = 1;
	memcpy(it->digest, ns->s->items[i].digest, REPLICA_DIGEST_LEN);
	it->size = ns->s->items[i].size;
	*body = ns->s->items[i].body;
	return 0;
}

static enum replica_verdict app_offer(void *ctx, uint64_t now, const struct replica_item *it,
                                      const uint8_t *body, const struct shoal_addr *from,
                                      const char **reason)
{
	struct node_store *ns = ctx;
	struct sim_items *s = ns->s;
	uint8_t d[REPLICA_DIGEST_LEN];
	uint32_t i = key_index(s, it->key, it->key_len);
	(void)now;
	(void)from;
	replica_digest(body, it->size, d);
	if (i == UINT32_MAX || it->version != 1 ||
	    memcmp(d, s->items[i].digest, REPLICA_DIGEST_LEN) != 0) {
		*reason = "unknown item or wrong body";
		return REPLICA_REJECTED;
	}
	if (has(s, ns->node, i))
		return REPLICA_DUPLICATE;
	set_held(s, ns->node, i);
	s->items[i].holders++;
	if (s->items[i].all_at == UINT64_MAX && s->items[i].holders >= sim_cluster_up_count(s->c))
		sim_items_check(s);
	return REPLICA_ACCEPTED;
}

static int app_hashes(void *ctx, uint32_t buckets, uint64_t *out)
{
	struct node_store *ns = ctx;
	struct replica_item it;
	char key[16];
	memset(out, 0, buckets * sizeof(*out));
	for (uint32_t i = 0; i < ns->s->nitems; i++) {
		if (!has(ns->s, ns->node, i))
			continue;
		item_of(ns->s, i, key, &it);
		out[replica_bucket(it.key, it.key_len, buckets)] ^= replica_item_hash(&it);
	}
	return 0;
}

static int app_items(void *ctx, uint32_t buckets, uint32_t bucket, replica_item_fn fn, void *cbctx)
{
	struct node_store *ns = ctx;
	struct replica_item it;
	char key[16];
	for (uint32_t i = 0; i < ns->s->nitems; i++) {
		if (!has(ns->s, ns->node, i))
			continue;
		item_of(ns->s, i, key, &it);
		if (replica_bucket(it.key, it.key_len, buckets) == bucket && fn(cbctx, &it) != 0)
			break;
	}
	return 0;
}

/* ---- hooks --------------------------------------------------------------- */

static void add_stats(struct replica_stats *a, const struct replica_stats *b)
{
	a->announces_in += b->announces_in;
	a->announces_out += b->announces_out;
	a->pulls += b->pulls;
	a->pull_failures += b->pull_failures;
	a->items_in += b->items_in;
	a->body_bytes_in += b->body_bytes_in;
	a->accepted += b->accepted;
	a->duplicates += b->duplicates;
	a->rejected += b->rejected;
	a->bad_bodies += b->bad_bodies;
	a->not_held += b->not_held;
	a->abandoned += b->abandoned;
	a->wants_dropped += b->wants_dropped;
	a->served_items += b->served_items;
	a->served_bytes += b->served_bytes;
	a->ae_rounds += b->ae_rounds;
	a->ae_entries_in += b->ae_entries_in;
	a->malformed += b->malformed;
}

static void attach(struct sim_items *s, uint32_t node, uint64_t now, struct swim *sw,
                   const struct shoal_env *env)
{
	struct replica_app app = {.ctx = &s->stores[node],
	                          .lookup = app_lookup,
	                          .fetch = app_fetch,
	                          .offer = app_offer,
	                          .bucket_hashes = app_hashes,
	                          .bucket_items = app_items};
	if (replica_new(&s->rep[node], &s->cfg, sw, env, &app, now) != 0)
		s->rep[node] = NULL; /* the node runs without; its puts fail */
}

static void detach(struct sim_items *s, uint32_t node)
{
	if (s->rep[node] == NULL)
		return;
	add_stats(&s->gone, replica_stats(s->rep[node]));
	replica_delete(s->rep[node]);
	s->rep[node] = NULL;
}

static void lifecycle(void *ctx, uint32_t node, uint64_t now, struct swim *sw,
                      const struct shoal_env *env, bool up)
{
	struct sim_items *s = ctx;
	if (node >= s->n)
		return;
	if (up)
		attach(s, node, now, sw, env);
	else
		detach(s, node);
}

static void tap(void *ctx, uint32_t from, uint32_t to, bool stream, const uint8_t *buf, size_t len)
{
	struct sim_items *s = ctx;
	size_t plen;
	(void)from;
	if (!stream || to >= s->n)
		return;
	if (len > s->plain_cap) {
		uint8_t *p = realloc(s->plain, len);
		if (p == NULL)
			return;
		s->plain = p;
		s->plain_cap = len;
	}
	/* [type, ...]: a fixarray header, then the type as a positive fixint. */
	if (shoal_open(sim_cluster_keyring(s->c), buf, len, s->plain, s->plain_cap, &plen) == 0 &&
	    plen >= 2 && s->plain[1] == ITEMS_MSG_TYPE) {
		s->body_bytes[to] += len;
		s->body_total += len;
	}
}

/* ---- api ----------------------------------------------------------------- */

int sim_items_new(struct sim_items **out, struct sim_cluster *c, const struct replica_config *cfg)
{
	struct sim_items *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->c = c;
	s->cfg = *cfg;
	s->n = sim_cluster_size(c);
	s->rep = calloc(s->n, sizeof(*s->rep));
	s->stores = calloc(s->n, sizeof(*s->stores));
	s->held = calloc((size_t)s->n, SIM_ITEMS_MAX / 8);
	s->items = calloc(SIM_ITEMS_MAX, sizeof(*s->items));
	s->body_bytes = calloc(s->n, sizeof(*s->body_bytes));
	if (!s->rep || !s->stores || !s->held || !s->items || !s->body_bytes) {
		sim_items_delete(s);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < s->n; i++)
		s->stores[i] = (struct node_store){.s = s, .node = i};
	sim_cluster_set_lifecycle(c, lifecycle, s);
	sim_net_set_tap(sim_cluster_net(c), tap, s);
	*out = s;
	return 0;
}

void sim_items_delete(struct sim_items *s)
{
	if (s == NULL)
		return;
	if (s->rep != NULL) {
		for (uint32_t i = 0; i < s->n; i++)
			detach(s, i);
		sim_cluster_set_lifecycle(s->c, NULL, NULL);
		sim_net_set_tap(sim_cluster_net(s->c), NULL, NULL);
	}
	for (uint32_t i = 0; s->items != NULL && i < s->nitems; i++)
		free(s->items[i].body);
	free(s->rep);
	free(s->stores);
	free(s->held);
	free(s->items);
	free(s->body_bytes);
	free(s->plain);
	free(s);
}

int sim_items_put(struct sim_items *s, uint32_t node, uint32_t size, uint32_t *index)
{
	struct replica_item it;
	char key[16];
	if (s->nitems >= SIM_ITEMS_MAX)
		return SHOAL_E_TOO_BIG;
	if (node >= s->n || s->rep[node] == NULL)
		return SHOAL_E_STATE;
	struct sim_item *x = &s->items[s->nitems];
	memset(x, 0, sizeof(*x));
	if ((x->body = malloc(size ? size : 1)) == NULL)
		return -ENOMEM;
	uint64_t h = sim_hash64(&s->nitems, sizeof(s->nitems), sim_cluster_seed(s->c));
	for (uint32_t i = 0; i < size; i++) {
		h = sim_hash_mix(h, i);
		x->body[i] = (uint8_t)h;
	}
	x->origin = node;
	x->size = size;
	x->put_at = sim_cluster_now(s->c);
	x->all_at = UINT64_MAX;
	replica_digest(x->body, size, x->digest);
	uint32_t i = s->nitems++;
	set_held(s, node, i);
	x->holders = 1;
	item_of(s, i, key, &it);
	int rc = replica_announce(s->rep[node], x->put_at, &it);
	sim_cluster_rearm(s->c, node);
	if (index != NULL)
		*index = i;
	sim_items_check(s);
	return rc;
}

void sim_items_check(struct sim_items *s)
{
	uint32_t up = sim_cluster_up_count(s->c);
	for (uint32_t k = 0; k < s->nitems; k++) {
		struct sim_item *x = &s->items[k];
		if (x->all_at != UINT64_MAX || x->holders < up)
			continue;
		bool all = true;
		for (uint32_t i = 0; i < s->n && all; i++)
			if (sim_cluster_state(s->c, i) == SIM_NODE_UP && !has(s, i, k))
				all = false;
		if (all)
			x->all_at = sim_cluster_now(s->c);
	}
}

uint32_t sim_items_count(const struct sim_items *s)
{
	return s->nitems;
}

const struct sim_item *sim_items_get(const struct sim_items *s, uint32_t index)
{
	return index < s->nitems ? &s->items[index] : NULL;
}

uint64_t sim_items_body_bytes(const struct sim_items *s, uint32_t node)
{
	return node < s->n ? s->body_bytes[node] : 0;
}

uint64_t sim_items_body_bytes_total(const struct sim_items *s)
{
	return s->body_total;
}

void sim_items_stats(const struct sim_items *s, struct replica_stats *out)
{
	*out = s->gone;
	for (uint32_t i = 0; i < s->n; i++)
		if (s->rep[i] != NULL)
			add_stats(out, replica_stats(s->rep[i]));
}
