/*
 * test_replica.c - the replication service (replica.h) on the simulator:
 * real swim + replica state machines on a virtual network, each node with a
 * toy item store (a small hash map key -> version, digest, body) standing in
 * for the intent store.
 *
 * Bytes are counted by the simulated network's tap, independently of the
 * service's own stats: every stream message is opened with the cluster's
 * keyring and its type read, so "body bytes received" is the sealed size of
 * the ITEMS messages a node received. Seeds are fixed (SHOAL_SIM_SEED
 * replays another). Timers are the LAN profile, unscaled.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "../../gossip/replica_proto.h"
#include "../../gossip/swim_proto.h"
#include "shoal/error.h"
#include "shoal/replica.h"
#include "shoal/seal.h"
#include "shoal/sim.h"

/* ---- the toy store ------------------------------------------------------ */

#define TOY_SLOTS 4096 /* open-addressing index; items per store < TOY_SLOTS/2 */
#define TOY_KEY   24

enum toy_mode {
	TOY_HONEST = 0,
	TOY_TRUNCATE = 1, /* serves every body cut in half */
	TOY_CORRUPT = 2,  /* serves every body with one byte flipped */
};

struct toy_item {
	char key[TOY_KEY];
	uint32_t key_len;
	uint64_t version;
	uint8_t digest[REPLICA_DIGEST_LEN];
	const uint8_t *body; /* owned if `owned` */
	uint32_t size;
	bool owned;
	uint64_t at; /* virtual time it was committed */
};

struct toy_store {
	struct toy_item *items;
	uint32_t n, cap;
	uint32_t idx[TOY_SLOTS]; /* item index + 1; 0 = empty */
	enum toy_mode mode;
	uint8_t *served; /* the last (possibly damaged) body served */
	uint64_t offers_rejected;
	bool quiet; /* accepts as REPLICA_ACCEPTED_QUIET (a leaf keeping a stub) */
};

static uint32_t toy_slot(const struct toy_store *t, const uint8_t *key, uint32_t len)
{
	uint32_t i = replica_bucket(key, len, TOY_SLOTS);
	while (t->idx[i] != 0) {
		const struct toy_item *it = &t->items[t->idx[i] - 1];
		if (it->key_len == len && memcmp(it->key, key, len) == 0)
			break;
		i = (i + 1) & (TOY_SLOTS - 1);
	}
	return i;
}

static struct toy_item *toy_get(struct toy_store *t, const uint8_t *key, uint32_t len)
{
	uint32_t i = toy_slot(t, key, len);
	return t->idx[i] == 0 ? NULL : &t->items[t->idx[i] - 1];
}

/* Put (or replace) an item; the store takes `body` if owned. */
static void toy_put(struct toy_store *t, const char *key, uint64_t version, const uint8_t *body,
                    uint32_t size, bool owned, uint64_t now)
{
	uint32_t len = (uint32_t)strlen(key);
	uint32_t i = toy_slot(t, (const uint8_t *)key, len);
	struct toy_item *it;
	if (t->idx[i] == 0) {
		assert_true(t->n < TOY_SLOTS / 2);
		if (t->n == t->cap) {
			t->cap = t->cap == 0 ? 16 : t->cap * 2;
			t->items = realloc(t->items, t->cap * sizeof(*t->items));
			assert_non_null(t->items);
		}
		it = &t->items[t->n++];
		memset(it, 0, sizeof(*it));
		t->idx[i] = t->n;
		memcpy(it->key, key, len);
		it->key_len = len;
	} else {
		it = &t->items[t->idx[i] - 1];
		if (it->owned)
			free((void *)it->body);
	}
	it->version = version;
	it->body = body;
	it->size = size;
	it->owned = owned;
	it->at = now;
	replica_digest(body, size, it->digest);
}

static void toy_destroy(struct toy_store *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (t->items[i].owned)
			free((void *)t->items[i].body);
	free(t->items);
	free(t->served);
	memset(t, 0, sizeof(*t));
}

static int toy_lookup(void *ctx, const uint8_t *key, uint32_t key_len, uint64_t *version,
                      uint8_t digest[REPLICA_DIGEST_LEN])
{
	struct toy_item *it = toy_get(ctx, key, key_len);
	if (it == NULL)
		return SHOAL_E_NOT_FOUND;
	*version = it->version;
	memcpy(digest, it->digest, REPLICA_DIGEST_LEN);
	return 0;
}

static int toy_fetch(void *ctx, const uint8_t *key, uint32_t key_len, struct replica_item *out,
                     const uint8_t **body)
{
	struct toy_store *t = ctx;
	struct toy_item *it = toy_get(t, key, key_len);
	if (it == NULL)
		return SHOAL_E_NOT_FOUND;
	out->key = (const uint8_t *)it->key;
	out->key_len = it->key_len;
	out->version = it->version;
	memcpy(out->digest, it->digest, REPLICA_DIGEST_LEN);
	out->size = it->size;
	*body = it->body;
	if (t->mode != TOY_HONEST) {
		free(t->served);
		t->served = malloc(it->size);
		assert_non_null(t->served);
		memcpy(t->served, it->body, it->size);
		if (t->mode == TOY_TRUNCATE)
			out->size = it->size / 2;
		else
			t->served[it->size / 3] ^= 0x5a;
		*body = t->served;
	}
	return 0;
}

static enum replica_verdict toy_offer(void *ctx, uint64_t now, const struct replica_item *it,
                                      const uint8_t *body, const struct shoal_addr *from,
                                      const char **reason)
{
	struct toy_store *t = ctx;
	uint8_t d[REPLICA_DIGEST_LEN];
	char key[TOY_KEY + 1];
	(void)from;
	/* The store checks what it is given, as the intent store checks the
	 * signature: the service promised a body matching its digest. */
	replica_digest(body, it->size, d);
	if (memcmp(d, it->digest, REPLICA_DIGEST_LEN) != 0 || it->key_len > TOY_KEY) {
		t->offers_rejected++;
		*reason = "digest";
		return REPLICA_REJECTED;
	}
	struct toy_item *have = toy_get(t, it->key, it->key_len);
	if (have != NULL && have->version >= it->version)
		return REPLICA_DUPLICATE;
	uint8_t *copy = malloc(it->size ? it->size : 1);
	assert_non_null(copy);
	memcpy(copy, body, it->size);
	memcpy(key, it->key, it->key_len);
	key[it->key_len] = '\0';
	toy_put(t, key, it->version, copy, it->size, true, now);
	return t->quiet ? REPLICA_ACCEPTED_QUIET : REPLICA_ACCEPTED;
}

static void toy_item_of(const struct toy_item *ti, struct replica_item *out)
{
	out->key = (const uint8_t *)ti->key;
	out->key_len = ti->key_len;
	out->version = ti->version;
	memcpy(out->digest, ti->digest, REPLICA_DIGEST_LEN);
	out->size = ti->size;
}

static int toy_bucket_hashes(void *ctx, uint32_t buckets, uint64_t *out)
{
	struct toy_store *t = ctx;
	struct replica_item it;
	memset(out, 0, buckets * sizeof(*out));
	for (uint32_t i = 0; i < t->n; i++) {
		toy_item_of(&t->items[i], &it);
		out[replica_bucket(it.key, it.key_len, buckets)] ^= replica_item_hash(&it);
	}
	return 0;
}

static int toy_bucket_items(void *ctx, uint32_t buckets, uint32_t bucket, replica_item_fn fn,
                            void *cbctx)
{
	struct toy_store *t = ctx;
	struct replica_item it;
	for (uint32_t i = 0; i < t->n; i++) {
		toy_item_of(&t->items[i], &it);
		if (replica_bucket(it.key, it.key_len, buckets) == bucket && fn(cbctx, &it) != 0)
			break;
	}
	return 0;
}

/* ---- the world: a cluster, a store and a replica per node ---------------- */

struct world {
	struct sim_cluster *c;
	uint32_t n;
	struct replica_config rcfg;
	struct replica **rep;      /* per node, NULL while down */
	struct toy_store *st;      /* per node; survives crashes ("disk") */
	uint64_t *items_bytes_in;  /* sealed ITEMS bytes received, by the tap */
	uint64_t *ae_bytes_in;     /* sealed AE_LIST bytes received */
	uint64_t *stream_bytes_in; /* every stream byte received */
	struct replica_stats gone; /* stats of replicas deleted (crashes) */
	uint64_t user_dgrams;      /* datagrams carrying a USER message */
	uint64_t mixed_dgrams;     /* ... and a piggybacked membership message too */
	uint64_t order_violations; /* a membership message after a USER one */
	uint32_t watch;            /* a node whose anti-entropy roots are followed */
	uint32_t watch_root_to;    /* the first node it sent an AE_ROOT to; SIM_NO_NODE */
	int digest_mode;           /* app.digest: 0 none, 1 SHA-256 (counted), 2 refuses all */
	uint64_t digests, heard;   /* app.digest and app.heard calls */
};

static void add_stats(struct replica_stats *a, const struct replica_stats *b)
{
	a->bad_bodies += b->bad_bodies;
	a->accepted += b->accepted;
	a->rejected += b->rejected;
	a->ae_rounds += b->ae_rounds;
}

static struct world *W;

/* The app's own digest of a served body (the intent store hashes the body
 * inside its envelope); here SHA-256 of it all, or a refusal. */
static int app_digest(void *ctx, const uint8_t *key, uint32_t key_len, const uint8_t *body,
                      uint32_t len, uint8_t out[REPLICA_DIGEST_LEN])
{
	(void)key;
	(void)key_len;
	(void)ctx;
	W->digests++;
	if (W->digest_mode == 2)
		return -1;
	replica_digest(body, len, out);
	return 0;
}

static void app_heard(void *ctx, const struct replica_item *it, const struct shoal_addr *from)
{
	(void)ctx;
	assert_non_null(from);
	assert_true(it->key_len > 0);
	W->heard++;
}

static void lifecycle(void *ctx, uint32_t node, uint64_t now, struct swim *s,
                      const struct shoal_env *env, bool up)
{
	struct world *w = ctx;
	if (up) {
		struct replica_app app = {
		        .ctx = &w->st[node],
		        .lookup = toy_lookup,
		        .fetch = toy_fetch,
		        .offer = toy_offer,
		        .bucket_hashes = toy_bucket_hashes,
		        .bucket_items = toy_bucket_items,
		};
		if (w->digest_mode != 0) {
			app.digest = app_digest;
			app.heard = app_heard;
		}
		assert_int_equal(replica_new(&w->rep[node], &w->rcfg, s, env, &app, now), 0);
	} else {
		add_stats(&w->gone, replica_stats(w->rep[node]));
		replica_delete(w->rep[node]);
		w->rep[node] = NULL;
	}
}

/* Walk a datagram's messages: USER messages must all come after the
 * membership ones (ALIVE, SUSPECT, DEAD, LEAVE, KEYOP). */
static void check_order(struct world *w, const uint8_t *buf, size_t len)
{
	uint8_t plain[SWIM_UDP_MAX];
	size_t plen;
	uint32_t count;
	struct swim_msg m;
	bool user = false, news = false;
	if (shoal_open(sim_cluster_keyring(w->c), buf, len, plain, sizeof(plain), &plen) != 0)
		return;
	const uint8_t *pos = plain, *end = plain + plen;
	if (swim_proto_datagram_begin(&pos, end, &count) != 0)
		return;
	for (uint32_t i = 0; i < count && swim_proto_decode_msg(&pos, end, &m) == 0; i++) {
		if (m.type == SWIM_MSG_USER) {
			user = true;
		} else if (m.type >= SWIM_MSG_ALIVE) {
			news = true;
			w->order_violations += user;
		}
	}
	w->user_dgrams += user;
	w->mixed_dgrams += user && news;
}

static void tap(void *ctx, uint32_t from, uint32_t to, bool stream, const uint8_t *buf, size_t len)
{
	struct world *w = ctx;
	if (!stream) {
		check_order(w, buf, len);
		return;
	}
	w->stream_bytes_in[to] += len;
	/* Open it to read the type: [type, ...] as fixarray + positive fixint. */
	uint8_t *plain = malloc(len);
	size_t plen;
	assert_non_null(plain);
	if (shoal_open(sim_cluster_keyring(w->c), buf, len, plain, len, &plen) == 0 && plen >= 2) {
		if (plain[1] == 31)
			w->items_bytes_in[to] += len;
		else if (plain[1] == 33)
			w->ae_bytes_in[to] += len;
		else if (plain[1] == 34 && from == w->watch && w->watch_root_to == SIM_NO_NODE)
			w->watch_root_to = to;
	}
	free(plain);
}

static struct world *world_new(uint32_t n, uint64_t seed)
{
	struct world *w = calloc(1, sizeof(*w));
	struct sim_cluster_config cfg;
	assert_non_null(w);
	sim_cluster_config_defaults(&cfg, n, seed);
	w->n = n;
	w->rep = calloc(n, sizeof(*w->rep));
	w->st = calloc(n, sizeof(*w->st));
	w->items_bytes_in = calloc(n, sizeof(uint64_t));
	w->ae_bytes_in = calloc(n, sizeof(uint64_t));
	w->stream_bytes_in = calloc(n, sizeof(uint64_t));
	assert_true(w->rep && w->st && w->items_bytes_in && w->ae_bytes_in && w->stream_bytes_in);
	replica_config_defaults(&w->rcfg);
	w->watch = w->watch_root_to = SIM_NO_NODE;
	assert_int_equal(sim_cluster_new(&w->c, &cfg), 0);
	sim_cluster_set_lifecycle(w->c, lifecycle, w);
	sim_net_set_tap(sim_cluster_net(w->c), tap, w);
	W = w;
	return w;
}

static void world_delete(struct world *w)
{
	struct sim_cluster_stats st;
	sim_cluster_stats(w->c, &st);
	/* A tick that leaves its own deadline due is a core timer bug. */
	assert_int_equal(st.stuck_deadlines, 0);
	sim_cluster_delete(w->c); /* detaches every replica first */
	for (uint32_t i = 0; i < w->n; i++)
		toy_destroy(&w->st[i]);
	free(w->rep);
	free(w->st);
	free(w->items_bytes_in);
	free(w->ae_bytes_in);
	free(w->stream_bytes_in);
	free(w);
	W = NULL;
}

static void converge(struct world *w)
{
	uint64_t took;
	if (sim_cluster_converge(w->c, SIM_SEC(600), &took) != 0)
		fail_msg("cluster of %u did not converge", w->n);
}

static void zero_counters(struct world *w)
{
	memset(w->items_bytes_in, 0, w->n * sizeof(uint64_t));
	memset(w->ae_bytes_in, 0, w->n * sizeof(uint64_t));
	memset(w->stream_bytes_in, 0, w->n * sizeof(uint64_t));
}

/* A deterministic body for (key, version). */
static uint8_t *make_body(const char *key, uint64_t version, uint32_t size)
{
	uint8_t *b = malloc(size ? size : 1);
	uint64_t h = sim_hash64(key, strlen(key), version);
	assert_non_null(b);
	for (uint32_t i = 0; i < size; i++) {
		h = sim_hash_mix(h, i);
		b[i] = (uint8_t)h;
	}
	return b;
}

/* A local put at node i: commit in its store, then announce. */
static void put(struct world *w, uint32_t i, const char *key, uint64_t version, uint32_t size)
{
	struct replica_item it;
	uint64_t now = sim_cluster_now(w->c);
	toy_put(&w->st[i], key, version, make_body(key, version, size), size, true, now);
	toy_item_of(toy_get(&w->st[i], (const uint8_t *)key, (uint32_t)strlen(key)), &it);
	assert_int_equal(replica_announce(w->rep[i], now, &it), 0);
	sim_cluster_rearm(w->c, i);
}

struct want_key {
	struct world *w;
	const char *key;
	uint64_t version;
	uint32_t count; /* items every up node must hold (0: ignore) */
	uint32_t only;  /* SIM_NO_NODE: all up nodes, else this node */
};

static bool holds(struct world *w, uint32_t i, const struct want_key *k)
{
	if (k->count != 0)
		return w->st[i].n >= k->count;
	struct toy_item *it = toy_get(&w->st[i], (const uint8_t *)k->key, (uint32_t)strlen(k->key));
	return it != NULL && it->version >= k->version;
}

static bool pred_held(struct sim_cluster *c, void *ctx)
{
	const struct want_key *k = ctx;
	if (k->only != SIM_NO_NODE)
		return holds(k->w, k->only, k);
	for (uint32_t i = 0; i < sim_cluster_size(c); i++)
		if (sim_cluster_state(c, i) == SIM_NODE_UP && !holds(k->w, i, k))
			return false;
	return true;
}

/* ---- dissemination: each node receives a body about once ----------------- */

/*
 * A 20 KB item put at one node of 200 reaches every node, and each node
 * receives about one body's worth of ITEMS bytes: the announcement rides
 * gossip, the body is pulled once. Piggybacked gossip would deliver it
 * mult*ceil(log10(N+1)) = 12 times per node.
 */
static void test_one_body_per_node(void **state)
{
	(void)state;
	const uint32_t n = 200, size = 20000;
	struct world *w = world_new(n, sim_seed_from_env(0x5eed0001));
	converge(w);
	/* Drain the mass join's gossip first: announcements ride after
	 * membership news, so during a mass join they wait their turn. */
	sim_cluster_run_for(w->c, SIM_SEC(30));
	zero_counters(w);

	uint64_t took;
	put(w, 0, "app/kuard", 1, size);
	struct want_key k = {.w = w, .key = "app/kuard", .version = 1, .only = SIM_NO_NODE};
	assert_int_equal(sim_cluster_run_until(w->c, pred_held, &k, SIM_SEC(30), &took), 0);
	/* Let every pull and retransmission finish before counting. */
	sim_cluster_run_for(w->c, SIM_SEC(5));

	uint64_t max = 0, sum = 0;
	uint32_t over = 0;
	for (uint32_t i = 1; i < n; i++) {
		uint64_t b = w->items_bytes_in[i];
		sum += b;
		max = b > max ? b : max;
		over += b > size * 3 / 2;
		struct toy_item *it = toy_get(&w->st[i], (const uint8_t *)"app/kuard", 9);
		assert_memory_equal(it->digest, w->st[0].items[0].digest, REPLICA_DIGEST_LEN);
	}
	double mean = (double)sum / (n - 1) / size;
	printf("# N=%u: 100%% after %.3f s (%.1f gossip rounds of 200 ms); body bytes per node: "
	       "mean %.3fx, max %.3fx of %u B; gossip alone would be %ux\n",
	       n, (double)took / 1e6, (double)took / 200000.0, mean, (double)max / size, size,
	       4 * 3);
	/* Each node pulls once; the sealed ITEMS message is the body plus ~100
	 * bytes of framing. A second pull only follows a failure, and there are
	 * none on a loss-free LAN. */
	assert_true(max <= size * 3 / 2);
	assert_int_equal(over, 0);
	assert_true(mean < 1.05);
	world_delete(w);
}

/*
 * Time to 100 % at 1,000 nodes, in gossip rounds. Bound: announcements
 * spread as SWIM's piggybacked gossip does, a push epidemic with fanout
 * f = gossip_nodes (3) per 200 ms round plus the probe piggyback, which
 * reaches all N in log_{f+1} N + ln N / f rounds w.h.p. (Pittel): 5.0 + 2.3
 * = 7.3 at N = 1000. Each hop adds one pull (two one-way trips of <= 2 ms
 * plus a 20 KB transfer) and the wait for the next gossip round before the
 * puller announces in turn, i.e. up to one round per hop. So the bound is
 * about 2 * 7.3 ~ 15 rounds (3 s), which is what we assert.
 */
static void test_rounds_at_1k(void **state)
{
	(void)state;
	const uint32_t n = 1000, size = 20000;
	struct world *w = world_new(n, sim_seed_from_env(0x5eed0002));
	converge(w);
	sim_cluster_run_for(w->c, SIM_SEC(30)); /* drain the mass join's gossip */
	zero_counters(w);
	uint64_t took;
	put(w, 17, "app/big", 7, size);
	struct want_key k = {.w = w, .key = "app/big", .version = 7, .only = SIM_NO_NODE};
	assert_int_equal(sim_cluster_run_until(w->c, pred_held, &k, SIM_SEC(30), &took), 0);
	sim_cluster_run_for(w->c, SIM_SEC(5));
	uint64_t max = 0, sum = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (i == 17)
			continue;
		sum += w->items_bytes_in[i];
		max = w->items_bytes_in[i] > max ? w->items_bytes_in[i] : max;
	}
	double rounds = (double)took / 200000.0;
	printf("# N=%u: 100%% of nodes hold the item after %.3f s = %.1f gossip rounds "
	       "(bound 15); body bytes per node mean %.3fx max %.3fx\n",
	       n, (double)took / 1e6, rounds, (double)sum / (n - 1) / size, (double)max / size);
	assert_true(rounds <= 15.0);
	assert_true(max <= size * 3 / 2);
	world_delete(w);
}

/* ---- anti-entropy: catching up in proportion to what was missed --------- */

#define AE_NODES  20
#define AE_STORED 1000
#define AE_BODY   1000

/* Every node holds the same AE_STORED items (bodies shared, not owned). */
static uint8_t **preload(struct world *w)
{
	uint8_t **bodies = calloc(AE_STORED, sizeof(*bodies));
	char key[TOY_KEY];
	assert_non_null(bodies);
	for (uint32_t j = 0; j < AE_STORED; j++) {
		snprintf(key, sizeof(key), "site/%05u", j);
		bodies[j] = make_body(key, 1, AE_BODY);
		for (uint32_t i = 0; i < w->n; i++)
			toy_put(&w->st[i], key, 1, bodies[j], AE_BODY, false, 0);
	}
	return bodies;
}

/*
 * Node 5 is offline while `missed` items are put at other nodes; it comes
 * back (its store intact, as LMDB would keep it) and must catch up through
 * anti-entropy. Returns the stream bytes it received until it held all.
 */
static uint64_t catch_up(uint32_t missed, uint64_t seed, uint64_t *items_bytes)
{
	struct world *w = world_new(AE_NODES, seed);
	uint8_t **bodies = preload(w);
	const uint32_t x = 5;
	char key[TOY_KEY];
	uint64_t took;

	converge(w);
	sim_cluster_run_for(w->c, SIM_SEC(5));
	assert_int_equal(sim_cluster_kill(w->c, x), 0);
	for (uint32_t j = 0; j < missed; j++) {
		snprintf(key, sizeof(key), "new/%05u", j);
		uint32_t at = j % AE_NODES == x ? (x + 1) : j % AE_NODES;
		put(w, at, key, 1, AE_BODY);
		sim_cluster_run_for(w->c, SIM_MS(20));
	}
	struct want_key all = {.w = w, .count = AE_STORED + missed, .only = SIM_NO_NODE};
	assert_int_equal(sim_cluster_run_until(w->c, pred_held, &all, SIM_SEC(60), &took), 0);
	/* The announcements die out (12 sends each) before the node returns:
	 * what it gets now, it gets from anti-entropy. */
	sim_cluster_run_for(w->c, SIM_SEC(20));
	assert_int_equal(w->st[x].n, AE_STORED);

	zero_counters(w);
	assert_int_equal(sim_cluster_restart(w->c, x, NULL, 0), 0);
	struct want_key mine = {.w = w, .count = AE_STORED + missed, .only = x};
	assert_int_equal(sim_cluster_run_until(w->c, pred_held, &mine, SIM_SEC(60), &took), 0);
	printf("# missed %u of %u items: caught up %.2f s after restart; received %llu stream "
	       "bytes (%llu in bodies, %llu in anti-entropy lists); store holds %u B of bodies\n",
	       missed, AE_STORED + missed, (double)took / 1e6,
	       (unsigned long long)w->stream_bytes_in[x], (unsigned long long)w->items_bytes_in[x],
	       (unsigned long long)w->ae_bytes_in[x], (AE_STORED + missed) * AE_BODY);
	assert_true(replica_stats(w->rep[x])->ae_rounds >= 1);
	/* No announcement of them reached it: every one is counted as what
	 * the epidemic missed and anti-entropy brought. */
	assert_int_equal(replica_stats(w->rep[x])->ae_only, missed);
	uint64_t got = w->stream_bytes_in[x];
	*items_bytes = w->items_bytes_in[x];
	world_delete(w);
	for (uint32_t j = 0; j < AE_STORED; j++)
		free(bodies[j]);
	free(bodies);
	return got;
}

static void test_catch_up_proportional(void **state)
{
	(void)state;
	uint64_t items10, items100;
	uint64_t b10 = catch_up(10, sim_seed_from_env(0x5eed0003), &items10);
	uint64_t b100 = catch_up(100, sim_seed_from_env(0x5eed0003), &items100);
	/* Bodies: one pull per missed item, ~1x each. */
	assert_true(items10 <= 10 * AE_BODY * 3 / 2);
	assert_true(items100 <= 100 * AE_BODY * 3 / 2);
	assert_true(items10 >= 10 * AE_BODY && items100 >= 100 * AE_BODY);
	/* Everything received, join push-pull and anti-entropy digests included,
	 * stays far below the store (1 MB) and grows with what was missed: the
	 * fixed part is the join (~20 member records) and the 2 KB digests. */
	assert_true(b100 < (AE_STORED * AE_BODY) / 4);
	assert_true(b100 > 4 * b10);
	assert_true(b10 < 10 * AE_BODY * 4);
}

/*
 * A node that rejoins exchanges with the member it joined through as soon
 * as the join completes, not ae_first (1 s) later: node 5 misses 10 of 110
 * items while down, the announcements die out, and it restarts through
 * node 3. Its first AE_ROOT goes to node 3 and it holds everything within
 * a quarter of ae_first; the exchange scheduled at ae_first still runs.
 * With anti-entropy off (ae_interval 0) a join starts no exchange either.
 */
static uint64_t rejoin(uint64_t ae_interval_us, uint64_t seed, uint32_t *root_to, bool *caught_up)
{
	const uint32_t n = 12, x = 5, via = 3, stored = 100, missed = 10;
	struct world *w = world_new(n, seed);
	char key[TOY_KEY];
	uint64_t took = 0;
	w->rcfg.ae_interval_us = ae_interval_us;
	for (uint32_t j = 0; j < stored; j++) {
		snprintf(key, sizeof(key), "site/%05u", j);
		for (uint32_t i = 0; i < n; i++)
			toy_put(&w->st[i], key, 1, make_body(key, 1, 200), 200, true, 0);
	}
	converge(w);
	assert_int_equal(sim_cluster_kill(w->c, x), 0);
	for (uint32_t j = 0; j < missed; j++) {
		snprintf(key, sizeof(key), "new/%05u", j);
		put(w, j % n == x ? x + 1 : j % n, key, 1, 500);
	}
	struct want_key all = {.w = w, .count = stored + missed, .only = SIM_NO_NODE};
	assert_int_equal(sim_cluster_run_until(w->c, pred_held, &all, SIM_SEC(60), &took), 0);
	sim_cluster_run_for(w->c, SIM_SEC(20)); /* the announcements die out */
	assert_int_equal(w->st[x].n, stored);

	w->watch = x;
	assert_int_equal(sim_cluster_restart(w->c, x, &via, 1), 0);
	struct want_key mine = {.w = w, .count = stored + missed, .only = x};
	*caught_up =
	        sim_cluster_run_until(w->c, pred_held, &mine, w->rcfg.ae_first_us / 4, &took) == 0;
	*root_to = w->watch_root_to;
	if (*caught_up) {
		/* The scheduled first exchange still ran, once the pulls were
		 * done (at ae_first): two in all, the next 15-45 s later. */
		sim_cluster_run_for(w->c, 3 * w->rcfg.ae_first_us);
		assert_int_equal(replica_stats(w->rep[x])->ae_rounds, 2);
	}
	world_delete(w);
	return took;
}

static void test_catch_up_at_join(void **state)
{
	(void)state;
	struct replica_config d;
	uint32_t root_to;
	bool caught_up;
	replica_config_defaults(&d);
	uint64_t took =
	        rejoin(d.ae_interval_us, sim_seed_from_env(0x5eed000b), &root_to, &caught_up);
	printf("# rejoined through node 3: first exchange with node %u, held all %.3f s after "
	       "the restart (ae_first %.1f s)\n",
	       root_to, (double)took / 1e6, (double)d.ae_first_us / 1e6);
	assert_true(caught_up);
	assert_int_equal(root_to, 3);
	assert_true(took < d.ae_first_us / 4);

	rejoin(0, sim_seed_from_env(0x5eed000b), &root_to, &caught_up);
	assert_false(caught_up);
	assert_int_equal(root_to, SIM_NO_NODE);
}

/* ---- the user-message path in SWIM ------------------------------------------ */

/*
 * Announcements ride SWIM datagrams behind membership news, never before:
 * a burst of puts cannot delay a refutation. Node 0 changes its labels (an
 * ALIVE to gossip) and puts 40 items at once; every datagram carrying both
 * kinds has the membership messages first.
 */
static void test_user_messages_after_membership(void **state)
{
	(void)state;
	struct world *w = world_new(8, sim_seed_from_env(0x5eed0006));
	char key[TOY_KEY];
	converge(w);
	sim_cluster_run_for(w->c, SIM_SEC(10));
	struct shoal_label l = {"tier", "2"};
	assert_int_equal(sim_cluster_set_labels(w->c, 0, &l, 1), 0);
	for (uint32_t j = 0; j < 40; j++) {
		snprintf(key, sizeof(key), "burst/%02u", j);
		put(w, 0, key, 1, 100);
	}
	struct want_key all = {.w = w, .count = 40, .only = SIM_NO_NODE};
	uint64_t took;
	assert_int_equal(sim_cluster_run_until(w->c, pred_held, &all, SIM_SEC(30), &took), 0);
	printf("# %llu datagrams carried announcements, %llu of them membership news too\n",
	       (unsigned long long)w->user_dgrams, (unsigned long long)w->mixed_dgrams);
	assert_true(w->mixed_dgrams > 0);
	assert_int_equal(w->order_violations, 0);

	/* Bad input to the queue: refused, nothing queued. */
	struct swim *s = sim_cluster_swim(w->c, 1);
	uint8_t big[SWIM_USER_MSG_MAX + 1] = {0};
	uint32_t before = swim_user_queued(s);
	assert_int_equal(swim_user_broadcast(s, 0, big, sizeof(big)), SHOAL_E_TOO_BIG);
	assert_int_equal(swim_user_broadcast(s, 0, big, 0), SHOAL_E_TOO_BIG);
	assert_int_equal(swim_user_queued(s), before);
	/* One service per swim. */
	struct swim_user_hooks h = {0};
	assert_int_equal(swim_set_user(s, &h), SHOAL_E_STATE);
	world_delete(w);
}

/* ---- accepted quietly, and wanted without an announcement ----------------- */

/*
 * Node 1 accepts what it pulls as REPLICA_ACCEPTED_QUIET (a leaf that keeps
 * only a stub): it never announces it in turn, yet every other node still
 * gets the item. Then node 1 drops one body and wants it back with
 * replica_want, no announcement anywhere: pulled from the source given.
 */
static void test_quiet_accept_and_want(void **state)
{
	(void)state;
	struct world *w = world_new(8, sim_seed_from_env(0x5eed0009));
	converge(w);
	sim_cluster_run_for(w->c, SIM_SEC(10));
	w->st[1].quiet = true;
	uint64_t out0 = replica_stats(w->rep[1])->announces_out;
	put(w, 0, "quiet/a", 1, 2000);
	struct want_key all = {.w = w, .key = "quiet/a", .version = 1, .only = SIM_NO_NODE};
	uint64_t took;
	assert_int_equal(sim_cluster_run_until(w->c, pred_held, &all, SIM_SEC(30), &took), 0);
	const struct replica_stats *st = replica_stats(w->rep[1]);
	assert_int_equal(st->accepted_quiet, 1);
	assert_int_equal(st->announces_out, out0);

	/* Node 1 forgets the body (keeps no item); nobody announces it again. */
	struct toy_item *it = toy_get(&w->st[1], (const uint8_t *)"quiet/a", 7);
	it->version = 0;
	struct replica_item want;
	toy_item_of(toy_get(&w->st[0], (const uint8_t *)"quiet/a", 7), &want);
	struct shoal_addr src;
	sim_net_addr(2, &src);
	uint64_t pulls = st->pulls, served = replica_stats(w->rep[2])->served_items;
	assert_int_equal(replica_want(w->rep[1], sim_cluster_now(w->c), &want, &src, 1), 0);
	sim_cluster_rearm(w->c, 1);
	all.only = 1;
	assert_int_equal(sim_cluster_run_until(w->c, pred_held, &all, SIM_SEC(10), &took), 0);
	assert_true(st->pulls > pulls);
	assert_int_equal(st->accepted_quiet, 2);
	assert_int_equal(st->announces_out, out0);
	assert_int_equal(replica_stats(w->rep[2])->served_items, served + 1); /* the source given */
	/* Bad input: refused. */
	want.key_len = 0;
	assert_int_equal(replica_want(w->rep[1], sim_cluster_now(w->c), &want, NULL, 0), -EINVAL);
	world_delete(w);
}

/* ---- a malicious peer ---------------------------------------------------- */

/*
 * Node 1 holds the item but serves it damaged; node 2 holds it intact. Both
 * announce. Every node must end with the intact body: a damaged one is
 * counted and pulled again from another source, never offered to the store.
 */
static void malicious(enum toy_mode mode, uint64_t seed)
{
	const uint32_t n = 12, size = 5000;
	struct world *w = world_new(n, seed);
	uint64_t took;
	converge(w);
	w->st[1].mode = mode;
	put(w, 1, "app/evil", 3, size);
	put(w, 2, "app/evil", 3, size);
	struct want_key k = {.w = w, .key = "app/evil", .version = 3, .only = SIM_NO_NODE};
	assert_int_equal(sim_cluster_run_until(w->c, pred_held, &k, SIM_SEC(60), &took), 0);
	sim_cluster_run_for(w->c, SIM_SEC(5));
	uint64_t bad = 0, rejected = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct toy_item *it = toy_get(&w->st[i], (const uint8_t *)"app/evil", 8);
		assert_non_null(it);
		assert_int_equal(it->size, size);
		assert_memory_equal(it->digest, w->st[2].items[0].digest, REPLICA_DIGEST_LEN);
		bad += replica_stats(w->rep[i])->bad_bodies;
		rejected += w->st[i].offers_rejected;
	}
	printf("# %s peer: all %u nodes hold the intact body after %.2f s; %llu damaged "
	       "bodies refused\n",
	       mode == TOY_TRUNCATE ? "truncating" : "corrupting", n, (double)took / 1e6,
	       (unsigned long long)bad);
	assert_true(bad >= 1);         /* someone did pull from node 1 */
	assert_int_equal(rejected, 0); /* and no damaged body reached a store */
	world_delete(w);
}

static void test_truncated_body_rejected(void **state)
{
	(void)state;
	malicious(TOY_TRUNCATE, sim_seed_from_env(0x5eed0004));
}

static void test_corrupt_body_rejected(void **state)
{
	(void)state;
	malicious(TOY_CORRUPT, sim_seed_from_env(0x5eed0005));
}

/* ---- the app's own digest, and being told what is wanted ------------------ */

/*
 * With app.digest set the service checks bodies with it instead of SHA-256
 * of the bytes: a digest that matches lets every node take the item (each
 * told once through app.heard that it wants it); a digest the app refuses
 * makes every body a bad one, never offered.
 */
static void app_digest_case(int mode, uint64_t seed)
{
	const uint32_t n = 8;
	struct world *w = world_new(n, seed);
	w->digest_mode = mode;
	uint64_t took;
	converge(w);
	put(w, 0, "app/own", 5, 3000);
	struct want_key k = {.w = w, .key = "app/own", .version = 5, .only = SIM_NO_NODE};
	int rc = sim_cluster_run_until(w->c, pred_held, &k, SIM_SEC(mode == 1 ? 60 : 10), &took);
	uint64_t bad = 0;
	uint32_t holders = 0;
	for (uint32_t i = 0; i < n; i++) {
		bad += replica_stats(w->rep[i])->bad_bodies;
		holders += toy_get(&w->st[i], (const uint8_t *)"app/own", 7) != NULL;
	}
	if (mode == 1) {
		assert_int_equal(rc, 0);
		assert_int_equal(bad, 0);
		assert_true(w->digests >= n - 1);
		assert_true(w->heard >= n - 1); /* every other node heard of it */
	} else {
		assert_int_not_equal(rc, 0);
		assert_int_equal(holders, 1); /* only the origin */
		assert_true(bad >= 1);
	}
	world_delete(w);
}

static void test_app_digest_used(void **state)
{
	(void)state;
	app_digest_case(1, sim_seed_from_env(0x5eed0006));
}

static void test_app_digest_refusal_is_a_bad_body(void **state)
{
	(void)state;
	app_digest_case(2, sim_seed_from_env(0x5eed0007));
}

/* ---- the wire: one malformed input per field ------------------------------ */

static const uint8_t digest32[REPLICA_DIGEST_LEN] = {1, 2, 3};

/* An ANNOUNCE with each part overridable: arity, type, key, digest, size,
 * trailing bytes. */
static size_t craft_announce(uint8_t *out, size_t cap, uint32_t arity, uint64_t type,
                             uint32_t key_len, bool key_as_str, uint32_t digest_len, uint64_t size,
                             bool trailing)
{
	struct shoal_buf b;
	msgpack_packer pk;
	uint8_t key[300];
	memset(key, 'k', sizeof(key));
	shoal_buf_create(&b, 4096);
	shoal_packer_init(&pk, &b);
	msgpack_pack_array(&pk, arity);
	msgpack_pack_uint64(&pk, type);
	if (key_as_str) {
		msgpack_pack_str(&pk, key_len);
		msgpack_pack_str_body(&pk, key, key_len);
	} else {
		msgpack_pack_bin(&pk, key_len);
		msgpack_pack_bin_body(&pk, key, key_len);
	}
	msgpack_pack_uint64(&pk, 9);
	msgpack_pack_bin(&pk, digest_len);
	msgpack_pack_bin_body(&pk, digest32, digest_len);
	if (arity >= 5)
		msgpack_pack_uint64(&pk, size);
	if (trailing)
		msgpack_pack_nil(&pk);
	assert_int_equal(b.err, 0);
	assert_true(b.len <= cap);
	memcpy(out, b.data, b.len);
	size_t n = b.len;
	shoal_buf_destroy(&b);
	return n;
}

static void test_announce_decode(void **state)
{
	(void)state;
	uint8_t buf[4096];
	struct replica_wire_item it;
	size_t n = craft_announce(buf, sizeof(buf), 5, 1, 9, false, 32, 20000, false);
	assert_int_equal(replica_proto_decode_announce(buf, n, &it), 0);
	assert_int_equal(it.key_len, 9);
	assert_int_equal(it.version, 9);
	assert_int_equal(it.size, 20000);
	assert_memory_equal(it.digest, digest32, REPLICA_DIGEST_LEN);
	/* Every prefix is truncated. */
	for (size_t k = 0; k < n; k++)
		assert_true(replica_proto_decode_announce(buf, k, &it) < 0);

	struct {
		uint32_t arity, key_len, digest_len;
		uint64_t type, size;
		bool str, trailing;
		int want;
	} bad[] = {
	        {4, 9, 32, 1, 0, false, false, SHOAL_E_MALFORMED},      /* arity */
	        {5, 9, 32, 2, 1, false, false, SHOAL_E_MALFORMED},      /* type */
	        {5, 0, 32, 1, 1, false, false, SHOAL_E_RANGE},          /* empty key */
	        {5, 256, 32, 1, 1, false, false, SHOAL_E_RANGE},        /* key too long */
	        {5, 9, 32, 1, 1, true, false, SHOAL_E_TYPE},            /* key not bin */
	        {5, 9, 31, 1, 1, false, false, SHOAL_E_RANGE},          /* digest length */
	        {5, 9, 32, 1, 1ull << 32, false, false, SHOAL_E_RANGE}, /* size > u32 */
	        {5, 9, 32, 1, 1, false, true, SHOAL_E_MALFORMED},       /* trailing bytes */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = craft_announce(buf, sizeof(buf), bad[i].arity, bad[i].type, bad[i].key_len,
		                   bad[i].str, bad[i].digest_len, bad[i].size, bad[i].trailing);
		assert_int_equal(replica_proto_decode_announce(buf, n, &it), bad[i].want);
	}
}

static void test_list_decode(void **state)
{
	(void)state;
	struct shoal_buf b;
	struct replica_wire_list l;
	struct replica_wire_item e;
	struct replica_item it = {
	        .key = (const uint8_t *)"a/b", .key_len = 3, .version = 5, .size = 4};
	const uint8_t body[4] = {9, 8, 7, 6};
	uint64_t hashes[4] = {1, 2, 3, 4};
	const uint8_t *h;
	uint32_t buckets, scope;

	shoal_buf_create(&b, 1 << 20);
	/* A PULL must ask for something. */
	replica_proto_encode_list_head(&b, REPLICA_MSG_PULL, 0, 0);
	assert_int_equal(replica_proto_decode_list(b.data, b.len, REPLICA_MSG_PULL, 64, &l),
	                 SHOAL_E_RANGE);
	/* ITEMS: good, then more entries than asked for, then the wrong type. */
	shoal_buf_reset(&b);
	replica_proto_encode_list_head(&b, REPLICA_MSG_ITEMS, 0, 2);
	replica_proto_encode_items_entry(&b, &it, body);
	replica_proto_encode_items_entry(&b, &it, body);
	assert_int_equal(replica_proto_decode_list(b.data, b.len, REPLICA_MSG_ITEMS, 2, &l), 0);
	assert_int_equal(replica_proto_next(&l, &e), 0);
	assert_int_equal(e.size, 4);
	assert_memory_equal(e.body, body, 4);
	assert_int_equal(replica_proto_decode_list(b.data, b.len, REPLICA_MSG_ITEMS, 1, &l),
	                 SHOAL_E_RANGE);
	assert_int_equal(replica_proto_decode_list(b.data, b.len, REPLICA_MSG_AE_LIST, 2, &l),
	                 SHOAL_E_MALFORMED);
	for (size_t k = 0; k < b.len; k++)
		assert_true(replica_proto_decode_list(b.data, k, REPLICA_MSG_ITEMS, 2, &l) < 0);
	/* A count that claims more entries than follow. */
	shoal_buf_reset(&b);
	replica_proto_encode_list_head(&b, REPLICA_MSG_ITEMS, 0, 3);
	replica_proto_encode_items_entry(&b, &it, body);
	assert_true(replica_proto_decode_list(b.data, b.len, REPLICA_MSG_ITEMS, 64, &l) < 0);
	/* AE_LIST buckets must be a power of two in range. */
	uint32_t bad_buckets[] = {0, 3, 8192};
	for (size_t i = 0; i < 3; i++) {
		shoal_buf_reset(&b);
		replica_proto_encode_list_head(&b, REPLICA_MSG_AE_LIST, bad_buckets[i], 0);
		assert_int_equal(
		        replica_proto_decode_list(b.data, b.len, REPLICA_MSG_AE_LIST, 64, &l),
		        SHOAL_E_RANGE);
	}
	/* AE_HELLO: the hashes must cover exactly the buckets. */
	shoal_buf_reset(&b);
	replica_proto_encode_hello(&b, 4, hashes, 0);
	assert_int_equal(replica_proto_decode_hello(b.data, b.len, &buckets, &h, &scope), 0);
	assert_int_equal(buckets, 4);
	assert_int_equal(h[15], 2);
	b.data[2] = 2; /* buckets 4 -> 2 (a fixint): 32 hash bytes for 2 buckets */
	assert_int_equal(replica_proto_decode_hello(b.data, b.len, &buckets, &h, &scope),
	                 SHOAL_E_RANGE);
	/* A scope travels as a fourth element, only when it narrows; a message
	 * without one (an older peer's) means every item. */
	shoal_buf_reset(&b);
	replica_proto_encode_hello(&b, 4, hashes, REPLICA_SCOPE_NO_BULK);
	assert_int_equal(replica_proto_decode_hello(b.data, b.len, &buckets, &h, &scope), 0);
	assert_int_equal(scope, REPLICA_SCOPE_NO_BULK);
	uint64_t root = 0;
	shoal_buf_reset(&b);
	replica_proto_encode_root(&b, 8, 77, 0);
	assert_int_equal(b.data[0], 0x93); /* three elements, as before */
	assert_int_equal(replica_proto_decode_root(b.data, b.len, &buckets, &root, &scope), 0);
	assert_int_equal(scope, 0);
	assert_int_equal(root, 77);
	shoal_buf_reset(&b);
	replica_proto_encode_root(&b, 8, 77, REPLICA_SCOPE_NO_BULK);
	assert_int_equal(replica_proto_decode_root(b.data, b.len, &buckets, &root, &scope), 0);
	assert_int_equal(scope, REPLICA_SCOPE_NO_BULK);
	shoal_buf_destroy(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_announce_decode),
	        cmocka_unit_test(test_list_decode),
	        cmocka_unit_test(test_user_messages_after_membership),
	        cmocka_unit_test(test_one_body_per_node),
	        cmocka_unit_test(test_truncated_body_rejected),
	        cmocka_unit_test(test_corrupt_body_rejected),
	        cmocka_unit_test(test_app_digest_used),
	        cmocka_unit_test(test_app_digest_refusal_is_a_bad_body),
	        cmocka_unit_test(test_quiet_accept_and_want),
	        cmocka_unit_test(test_catch_up_proportional),
	        cmocka_unit_test(test_catch_up_at_join),
	        cmocka_unit_test(test_rounds_at_1k),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
