/*
 * items.c - an intent store and a replica on every simulated node, for
 * shoalsim's intent action (items.h).
 *
 * The store is the real one, wired to the service through intent_app.c,
 * so what is measured is what shoald runs; only durability is simulated
 * (the store outlives its node's crash). The store's committed hook tells
 * which node holds which intent (names are "intent-<index>"), one bit per
 * node and intent. The network tap opens each stream message with the
 * cluster keyring to tell pull answers (ITEMS) from the rest, so body bytes
 * are counted by the network, not by the service being measured.
 *
 * With a rollout (rollout.h) the App specs are valid manifests (one
 * ConfigMap whose data fills the size asked for), so a simulated site's
 * backend accepts them, and commits and restarts are passed on to it.
 */
#include "items.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "health.h"
#include "intent_app.h"
#include "rollout.h"
#include "shoal/error.h"
#include "shoal/hlc.h"
#include "shoal/intent_store.h"
#include "shoal/seal.h"
#include "shoal/trust.h"

#define ITEMS_MSG_TYPE 31 /* replica_proto.h REPLICA_MSG_ITEMS */
#define NAME_PREFIX    "intent-"

struct node_store {
	struct sim_items *s;
	uint32_t node;
	struct intent_store *store; /* created at the node's first start; kept over crashes */
	struct sim_intent_app ir;   /* the app the node's replica is given */
	uint64_t committed_bytes;   /* envelope bytes committed from peers */
	uint32_t catching_up;       /* its open entry in catchups, or UINT32_MAX */
};

struct sim_items {
	struct sim_cluster *c;
	struct replica_config cfg;
	uint32_t n;                  /* node slots */
	struct replica **rep;        /* [n], NULL while down */
	struct sim_health *health;   /* health tables beside the stores, or NULL */
	struct sim_rollout *rollout; /* sites applying App intents, or NULL */
	struct replica_mux **mux;    /* [n] with health: "~" to the table, the rest to the store */
	struct node_store *stores;   /* [n] */
	uint8_t *held;               /* [n * SIM_ITEMS_MAX / 8] */
	struct sim_item *items;      /* [SIM_ITEMS_MAX] */
	uint32_t nitems;
	struct trust_roots roots; /* the one root every store trusts */
	uint8_t root_sk[64];      /* its secret half, for signing at the origin */
	struct shoal_hlc hlc;     /* versions of submitted intents */
	uint64_t *body_bytes;     /* [n] sealed ITEMS bytes received */
	uint64_t body_total;
	struct replica_stats gone; /* stats of replicas already deleted */
	uint8_t *plain;            /* tap scratch */
	size_t plain_cap;
	struct sim_catchup *catchups; /* [SIM_CATCHUPS_MAX], restarts in order */
	uint32_t ncatchups;
	uint64_t restarts; /* all of them, recorded or not */
};

static bool has(const struct sim_items *s, uint32_t node, uint32_t item)
{
	return (s->held[(size_t)node * (SIM_ITEMS_MAX / 8) + item / 8] >> (item % 8)) & 1;
}

static void set_held(struct sim_items *s, uint32_t node, uint32_t item)
{
	s->held[(size_t)node * (SIM_ITEMS_MAX / 8) + item / 8] |= (uint8_t)(1u << (item % 8));
}

/* "intent-<index>" -> index, or UINT32_MAX. */
static uint32_t name_index(const struct sim_items *s, const char *name)
{
	size_t plen = sizeof(NAME_PREFIX) - 1, len = strlen(name);
	uint32_t v = 0;
	if (len <= plen || len > plen + 9 || memcmp(name, NAME_PREFIX, plen) != 0)
		return UINT32_MAX;
	for (size_t i = plen; i < len; i++) {
		if (name[i] < '0' || name[i] > '9')
			return UINT32_MAX;
		v = v * 10 + (uint32_t)(name[i] - '0');
	}
	return v < s->nitems ? v : UINT32_MAX;
}

static uint64_t wall_ms(void *ctx, uint64_t now)
{
	(void)ctx;
	return SIM_ITEMS_EPOCH_MS + now / 1000;
}

/* ---- store hooks ---------------------------------------------------------- */

/* Intents submitted before `before` that `node` does not hold; with
 * `count` false, stop at the first. */
static uint32_t lacking(const struct sim_items *s, uint32_t node, uint64_t before, bool count)
{
	uint32_t n = 0;
	for (uint32_t k = 0; k < s->nitems && s->items[k].put_at < before; k++) {
		if (has(s, node, k))
			continue;
		n++;
		if (!count)
			break;
	}
	return n;
}

/* A restarted node committed intent i: caught up once it holds every
 * intent submitted before its restart. */
static void catchup_committed(struct sim_items *s, struct node_store *ns, uint32_t i, uint64_t now)
{
	struct sim_catchup *cu = &s->catchups[ns->catching_up];
	if (s->items[i].put_at >= cu->at)
		return;
	cu->last_intent = i;
	if (lacking(s, ns->node, cu->at, false) == 0) {
		cu->caught_up = now;
		ns->catching_up = UINT32_MAX;
	}
}

static void on_committed(void *ctx, const struct intent_item *item)
{
	struct node_store *ns = ctx;
	struct sim_items *s = ns->s;
	uint64_t now = sim_cluster_now(s->c);
	uint32_t i = name_index(s, item->env.body.name);
	if (i == UINT32_MAX || has(s, ns->node, i))
		return;
	set_held(s, ns->node, i);
	struct sim_item *x = &s->items[i];
	x->holders++;
	if (x->holders > 1) { /* the first is its origin, at submission */
		x->last_node = ns->node;
		x->last_at = now;
	}
	if (strcmp(item->from, "api") != 0)
		ns->committed_bytes += item->len;
	if (x->all_at == UINT64_MAX && x->holders >= sim_cluster_up_count(s->c)) {
		sim_items_check(s);
		if (x->all_at != UINT64_MAX)
			x->completed_by = ns->node;
	}
	if (ns->catching_up != UINT32_MAX)
		catchup_committed(s, ns, i, now);
	if (s->rollout != NULL)
		sim_rollout_committed(s->rollout, ns->node, i);
}

/* A node whose store survived a crash starts again: record what it lacks
 * of the intents submitted so far, to time its catch-up. */
static void restarted(struct sim_items *s, uint32_t node, uint64_t now)
{
	struct node_store *ns = &s->stores[node];
	if (s->nitems == 0)
		return;
	s->restarts++;
	ns->catching_up = UINT32_MAX;
	if (s->ncatchups == SIM_CATCHUPS_MAX)
		return;
	struct sim_catchup *cu = &s->catchups[s->ncatchups];
	*cu = (struct sim_catchup){.node = node,
	                           .at = now,
	                           .missed = lacking(s, node, now + 1, true),
	                           .caught_up = now,
	                           .last_intent = UINT32_MAX};
	if (cu->missed > 0) {
		cu->caught_up = UINT64_MAX;
		ns->catching_up = s->ncatchups;
	}
	s->ncatchups++;
}

static int store_open(struct sim_items *s, uint32_t node, const struct shoal_env *env)
{
	struct node_store *ns = &s->stores[node];
	struct intent_store_config cfg = {.roots = &s->roots};
	struct intent_store_hooks hooks = {.ctx = ns, .committed = on_committed};
	if (ns->store != NULL)
		return 0;
	int rc = intent_store_new(&ns->store, &cfg, env, &hooks);
	if (rc != 0)
		return rc;
	ns->ir = (struct sim_intent_app){.store = ns->store, .wall_ms = wall_ms, .ctx = s};
	return 0;
}

/* ---- lifecycle -------------------------------------------------------------- */

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
	a->ae_root_differ += b->ae_root_differ;
	a->ae_only += b->ae_only;
	a->malformed += b->malformed;
}

static void attach(struct sim_items *s, uint32_t node, uint64_t now, struct swim *sw,
                   const struct shoal_env *env)
{
	struct replica_app app, health;
	const struct replica_app *use = &app;
	/* The env is the node's slot's, the same over all its lives. */
	s->rep[node] = NULL;
	if (s->stores[node].store != NULL)
		restarted(s, node, now);
	if (store_open(s, node, env) != 0)
		return; /* the node runs without; its intents fail */
	sim_intent_app(&s->stores[node].ir, &app);
	if (s->health != NULL) {
		/* As shoald's node/wire.c: one service, routed by key prefix. */
		struct replica_mux_route routes[] = {{SIM_HEALTH_PREFIX, &health, true},
		                                     {"", &app, false}};
		if (sim_health_attach(s->health, node, sw, env, &health) != 0 ||
		    replica_mux_new(&s->mux[node], routes, 2) != 0)
			return;
		use = replica_mux_app(s->mux[node]);
	}
	/* A leaf's service is quiet, as node/wire.c sets it for --leaf. */
	struct replica_config cfg = s->cfg;
	cfg.quiet = s->health != NULL && sim_health_is_leaf(s->health, node);
	if (replica_new(&s->rep[node], &cfg, sw, env, use, now) != 0)
		s->rep[node] = NULL;
	if (s->health != NULL)
		sim_health_set_replica(s->health, node, s->rep[node]);
	if (s->rollout != NULL)
		sim_rollout_kick(s->rollout, node); /* shoald judges at start */
}

static void detach(struct sim_items *s, uint32_t node)
{
	if (s->health != NULL)
		sim_health_detach(s->health, node);
	if (s->rep[node] != NULL) {
		add_stats(&s->gone, replica_stats(s->rep[node]));
		replica_delete(s->rep[node]);
		s->rep[node] = NULL;
	}
	if (s->mux != NULL) {
		replica_mux_delete(s->mux[node]);
		s->mux[node] = NULL;
	}
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
	if ((!stream && s->health == NULL) || to >= s->n)
		return;
	if (len > s->plain_cap) {
		uint8_t *p = realloc(s->plain, len);
		if (p == NULL)
			return;
		s->plain = p;
		s->plain_cap = len;
	}
	/* [type, ...]: a fixarray header, then the type as a positive fixint. */
	if (shoal_open(sim_cluster_keyring(s->c), buf, len, s->plain, s->plain_cap, &plen) != 0)
		return;
	if (stream && plen >= 2 && s->plain[1] == ITEMS_MSG_TYPE) {
		s->body_bytes[to] += len;
		s->body_total += len;
	}
	if (s->health != NULL)
		sim_health_count(s->health, from, to, stream, s->plain, plen, len);
}

/* ---- api ------------------------------------------------------------------- */

int sim_items_new(struct sim_items **out, struct sim_cluster *c, const struct replica_config *cfg,
                  struct sim_health *health)
{
	struct sim_items *s = calloc(1, sizeof(*s));
	uint8_t seed[32];
	uint8_t pk[32];
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
	s->catchups = calloc(SIM_CATCHUPS_MAX, sizeof(*s->catchups));
	s->health = health;
	if (health != NULL)
		s->mux = calloc(s->n, sizeof(*s->mux));
	if (!s->rep || !s->stores || !s->held || !s->items || !s->body_bytes || !s->catchups ||
	    (health != NULL && s->mux == NULL)) {
		sim_items_delete(s);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < s->n; i++)
		s->stores[i] = (struct node_store){.s = s, .node = i, .catching_up = UINT32_MAX};
	/* The root key from the run seed: a replayed run signs the same bytes. */
	for (uint32_t i = 0; i < sizeof(seed); i += 8) {
		uint64_t h = sim_hash64(&i, sizeof(i), sim_cluster_seed(c) ^ UINT64_C(0x726f6f74));
		memcpy(seed + i, &h, 8);
	}
	crypto_sign_seed_keypair(pk, s->root_sk, seed);
	sodium_memzero(seed, sizeof(seed));
	trust_roots_create(&s->roots);
	trust_roots_add(&s->roots, pk);
	shoal_hlc_create(&s->hlc);
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
	for (uint32_t i = 0; s->stores != NULL && i < s->n; i++)
		intent_store_delete(s->stores[i].store);
	sodium_memzero(s->root_sk, sizeof(s->root_sk));
	free(s->rep);
	free(s->mux);
	free(s->stores);
	free(s->held);
	free(s->items);
	free(s->body_bytes);
	free(s->plain);
	free(s->catchups);
	free(s);
}

/* An App spec whose manifests string is `size` bytes of YAML-ish text,
 * or, for a rollout, one ConfigMap of about `size` bytes (at least its
 * header) that a simulated site's backend accepts. */
static int app_spec(struct shoal_buf *spec, uint32_t index, uint32_t size, uint64_t seed,
                    bool valid)
{
	msgpack_packer pk;
	char head[128];
	int hlen =
	        valid ? snprintf(head, sizeof(head),
	                         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " NAME_PREFIX
	                         "%u\ndata:\n  blob: x",
	                         index)
	              : 0;
	if (hlen < 0 || (size_t)hlen >= sizeof(head))
		return -EINVAL;
	if (size < (uint32_t)hlen + 1)
		size = (uint32_t)hlen + 1;
	char *text = malloc(size);
	if (text == NULL)
		return -ENOMEM;
	memcpy(text, head, (size_t)hlen);
	uint64_t h = sim_hash64(&index, sizeof(index), seed);
	for (uint32_t i = (uint32_t)hlen; i < size; i++) {
		h = sim_hash_mix(h, i);
		text[i] = valid          ? (i + 1 == size ? '\n' : (char)('a' + h % 26))
		          : i % 64 == 63 ? '\n'
		                         : (char)('a' + h % 26);
	}
	shoal_packer_init(&pk, spec);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str(&pk, 9);
	msgpack_pack_str_body(&pk, "manifests", 9);
	msgpack_pack_str(&pk, size);
	msgpack_pack_str_body(&pk, text, size);
	free(text);
	return spec->err;
}

int sim_items_submit(struct sim_items *s, uint32_t node, enum intent_kind kind, uint32_t size,
                     uint32_t *index)
{
	return sim_items_submit_to(s, node, kind, size, SIM_ITEMS_TARGET, index);
}

int sim_items_submit_to(struct sim_items *s, uint32_t node, enum intent_kind kind, uint32_t size,
                        const char *target, uint32_t *index)
{
	char name[32];
	struct shoal_buf spec, env;
	struct replica_item it;
	char key[INTENT_KEY_MAX];
	int rc;

	if (s->nitems >= SIM_ITEMS_MAX)
		return SHOAL_E_TOO_BIG;
	if (kind != INTENT_APP || size == 0 || size > INTENT_SPEC_MAX - 64)
		return -EINVAL;
	if (node >= s->n || s->rep[node] == NULL)
		return SHOAL_E_STATE;
	uint32_t i = s->nitems;
	uint64_t now = sim_cluster_now(s->c);
	uint64_t ms = wall_ms(s, now);
	snprintf(name, sizeof(name), NAME_PREFIX "%u", i);
	struct intent_draft d = {.kind = kind,
	                         .op = INTENT_PUT,
	                         .name = name,
	                         .target_type = INTENT_TARGET_SELECTOR,
	                         .target = target,
	                         .hlc = shoal_hlc_now(&s->hlc, ms)};
	memcpy(d.signer, s->roots.keys[0], 32);
	shoal_buf_create(&spec, INTENT_SPEC_MAX);
	shoal_buf_create(&env, INTENT_ENVELOPE_MAX);
	if ((rc = app_spec(&spec, i, size, sim_cluster_seed(s->c), s->rollout != NULL)) == 0) {
		d.spec = spec.data;
		d.spec_len = spec.len;
		rc = intent_sign(&d, s->root_sk, &env);
	}
	shoal_buf_destroy(&spec);
	if (rc != 0) {
		shoal_buf_destroy(&env);
		return rc;
	}

	struct sim_item *x = &s->items[i];
	memset(x, 0, sizeof(*x));
	x->origin = node;
	x->kind = kind;
	x->size = size;
	x->env_len = (uint32_t)env.len;
	x->put_at = now;
	x->all_at = UINT64_MAX;
	x->completed_by = SIM_NO_NODE;
	x->last_node = SIM_NO_NODE;
	s->nitems++; /* before the offer: the committed hook looks the name up */

	struct intent_offer o = {.bytes = env.data,
	                         .len = env.len,
	                         .now_ms = ms,
	                         .source = INTENT_FROM_API,
	                         .from = "api"};
	struct intent_error err;
	enum intent_outcome out = intent_store_offer(s->stores[node].store, &o, &err);
	shoal_buf_destroy(&env);
	if (out != INTENT_ACCEPTED) {
		s->nitems--;
		return SHOAL_E_FORBIDDEN;
	}
	memcpy(x->id, o.id, sizeof(x->id));
	const struct intent_item *held = intent_store_get(s->stores[node].store, kind, name);
	if (s->rollout != NULL)
		sim_rollout_submitted(s->rollout, i, node, s->stores[node].store, held);
	sim_intent_app_item(held, key, &it);
	rc = replica_announce(s->rep[node], now, &it);
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

void sim_items_set_rollout(struct sim_items *s, struct sim_rollout *rollout)
{
	s->rollout = rollout;
}

const struct intent_store *sim_items_store(const struct sim_items *s, uint32_t node)
{
	return node < s->n ? s->stores[node].store : NULL;
}

uint32_t sim_items_index(const struct sim_items *s, const char *name)
{
	return name_index(s, name);
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

uint64_t sim_items_committed_bytes(const struct sim_items *s, uint32_t node)
{
	return node < s->n ? s->stores[node].committed_bytes : 0;
}

void sim_items_stats(const struct sim_items *s, struct replica_stats *out)
{
	*out = s->gone;
	for (uint32_t i = 0; i < s->n; i++)
		if (s->rep[i] != NULL)
			add_stats(out, replica_stats(s->rep[i]));
}

const struct sim_catchup *sim_items_catchups(const struct sim_items *s, uint32_t *n,
                                             uint64_t *total)
{
	*n = s->ncatchups;
	*total = s->restarts;
	return s->catchups;
}

uint64_t sim_items_rejected(const struct sim_items *s)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		if (s->stores[i].store == NULL)
			continue;
		const struct intent_store_stats *st = intent_store_stats(s->stores[i].store);
		for (int r = 0; r < INTENT_R_COUNT; r++)
			n += st->rejected[r];
	}
	return n;
}

uint64_t sim_items_mismatched(const struct sim_items *s)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < s->n; i++)
		n += s->stores[i].ir.mismatched;
	return n;
}

uint64_t sim_items_store_bytes(const struct sim_items *s)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		if (s->stores[i].store == NULL)
			continue;
		for (size_t k = 0; k < intent_store_count(s->stores[i].store); k++)
			n += intent_store_at(s->stores[i].store, k)->len;
	}
	return n;
}
