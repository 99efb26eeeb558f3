/*
 * health.c - every simulated site publishing its signed health record, and
 * every node holding the fleet's records in a real health table on its
 * replica (health.h says what is modelled and why).
 *
 * Each site runs one chain of engine events on its own 5 s sample grid:
 * at a sample it applies the meaningful changes that arrived since the last
 * one, asks health_changes() and the pacer whether to publish, and sleeps
 * until the next change or the pacer's next due time, whichever is first.
 * A generation number retires a chain when its node goes down.
 *
 * Holders: a table only ever moves a site forward, so when node X accepts
 * version V of site S over the version P it held, X now holds every
 * publish of S with a version in (P, V]; those are counted. A publish
 * whose holders reach the number of live nodes is checked node by node.
 * Only full nodes count: a leaf holds no record but its own.
 */
#include "health.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "items.h"
#include "rollout.h"
#include "shoal/error.h"
#include "shoal/health.h"
#include "shoal/hlc.h"
#include "shoal/leaf.h"
#include "shoal/mp.h"

#define SAMPLE_US     SIM_SEC(5) /* shoald samples every 5 s */
#define HEALTH_STREAM 7          /* rng purpose: the sites' health draws */
#define MSG_USER      10         /* swim_proto.h: [10, payload bin] */
#define MSG_PULL      30         /* replica_proto.h */
#define MSG_ITEMS     31
#define MSG_AE_HELLO  32
#define MSG_AE_LIST   33
#define MSG_AE_ROOT   34
#define MSG_AE_DIFFER 35
#define NO_PUB        UINT32_MAX

struct hnode {
	struct sim_health *h;
	uint32_t node;
	struct health_table *table; /* created at the first start, kept over crashes */
	struct swim *sw;            /* NULL while down */
	struct replica *rep;
	struct health_pacer pacer;
	struct shoal_hlc hlc;
	struct sim_rng rng;   /* change times, sample phase, refresh jitter */
	uint64_t phase;       /* its sample grid: phase + k * SAMPLE_US */
	uint64_t next_change; /* absolute; UINT64_MAX = never */
	uint32_t gen;         /* current event chain */
	uint32_t changes;     /* meaningful changes so far: the state sampled */
	uint32_t pub_changes; /* the state of the last record it published */
	bool published;       /* it published in this life */
	uint32_t last_pub;    /* its newest publish, NO_PUB = none */
	uint64_t next_at;     /* its pending sample */
};

struct sim_health {
	struct sim_cluster *c;
	struct sim_health_config cfg;
	uint32_t n;
	struct hnode *nodes; /* [n] */
	struct sim_health_pub *pubs;
	uint32_t npubs, pubs_cap;
	struct sim_health_bytes *sent, *recv; /* [n] */
	bool started;
	uint64_t rejected, no_key;
	struct health_record *rec, *prev; /* scratch */
	struct shoal_env jitter;          /* env->prng of the node being paced */
	struct sim_rng *jitter_rng;
	char lat[16], lon[16];
	struct shoal_buf out;
	struct sim_rollout *rollout; /* App intents applied by the sites, or NULL */
	uint64_t bytes_total;        /* health bytes sent, all nodes, without ae_other */
	bool *leaf;                  /* [n] leaf sites, or NULL: none */
	uint32_t up_leaves;          /* leaves whose swim runs */
	uint64_t leaf_refused;       /* other sites' records refused by leaves */
};

static uint64_t wall_ms(uint64_t now)
{
	return SIM_ITEMS_EPOCH_MS + now / 1000;
}

static uint64_t jitter_prng(void *ctx)
{
	struct sim_health *h = ctx;
	return sim_rng_next(h->jitter_rng);
}

/* The next meaningful change after `t`: exponential gaps (a Poisson
 * process); UINT64_MAX = never. */
static uint64_t next_change(struct sim_rng *r, uint64_t t, double per_hour)
{
	if (per_hour <= 0 || t == UINT64_MAX)
		return UINT64_MAX;
	double u = sim_rng_double(r);
	double s = -log(1.0 - u) * 3600.0 / per_hour;
	return s > 1e9 ? UINT64_MAX : t + (uint64_t)(s * 1e6);
}

/* ---- the record --------------------------------------------------------- */

#define STR(lit) ((struct health_str){(lit), (uint32_t)(sizeof(lit) - 1)})

static struct health_str str_of(const char *s)
{
	return (struct health_str){s, (uint32_t)strlen(s)};
}

/* A typical site's record (tests/unit/health_fixture.h's shape) in state
 * `changes`: the running pod count steps through five values. With a
 * rollout, the App intents the site applies follow (as last published, or
 * as they are now). */
static void compose(struct sim_health *h, const struct hnode *hn, uint64_t now, uint32_t changes,
                    bool published, struct health_record *r)
{
	static const char *const regions[] = {"jp-north", "jp-south", "us-east", "eu-west"};
	static const struct health_intent intents[] = {
	        {INTENT_APP, STR("shop-frontend"), UINT64_C(1735689593000) << 16, HEALTH_READY},
	        {INTENT_APP, STR("telemetry-agent"), UINT64_C(1735689591000) << 16, HEALTH_READY},
	        {INTENT_EGRESS_POLICY, STR("default-deny"), UINT64_C(1735689592000) << 16,
	         HEALTH_READY},
	};
	uint32_t i = hn->node;
	memset(r, 0, sizeof(*r));
	r->site = str_of(sim_cluster_name(h->c, i));
	r->software = STR("shoal 0.4.0");
	r->labels[0] = (struct health_label){STR("region"), str_of(regions[i % 4])};
	r->labels[1] = (struct health_label){STR("env"), STR("prod")};
	r->labels[2] = (struct health_label){STR("sys.shoal.io/arch"), STR("amd64")};
	r->labels[3] = (struct health_label){STR("sys.shoal.io/cpus"), STR("8")};
	r->n_labels = 4;
	/* A leaf's record carries its member labels, the role among them, as
	 * shoald's does. */
	if (sim_health_is_leaf(h, i))
		r->labels[r->n_labels++] =
		        (struct health_label){STR(SHOAL_ROLE_LABEL), STR(SHOAL_ROLE_LEAF)};
	snprintf(h->lat, sizeof(h->lat), "%.4f", -60.0 + (double)(i * 7919u % 120000u) / 1000.0);
	snprintf(h->lon, sizeof(h->lon), "%.4f", -180.0 + (double)(i * 104729u % 360000u) / 1000.0);
	r->annotations[0] = (struct health_label){STR("geo.shoal.io/lat"), str_of(h->lat)};
	r->annotations[1] = (struct health_label){STR("geo.shoal.io/lon"), str_of(h->lon)};
	r->n_annotations = 2;
	r->uptime_s = 864000 + now / SIM_SEC(1) % 1000000;
	r->skew_ms = 3;
	r->cpu_pm = 230;
	r->mem_pm = 510;
	r->disk_pm = 420;
	uint32_t live = hn->sw != NULL ? swim_live_members(hn->sw) : 1;
	r->links = (struct health_links){.window_s = 60,
	                                 .known = live > 0 ? live - 1 : 0,
	                                 .probed = 60,
	                                 .reached = 60,
	                                 .rtt_p50_us = 12000,
	                                 .rtt_p99_us = 45000,
	                                 .loss_pm = 2};
	memcpy(r->intents, intents, sizeof(intents));
	r->n_intents = sizeof(intents) / sizeof(intents[0]);
	if (h->rollout != NULL)
		sim_rollout_fill(h->rollout, i, published, r);
	r->pods[HEALTH_POD_RUNNING] = 12 + changes % 5;
	memset(r->sec.roots, 0xab, HEALTH_ROOTS_LEN);
	r->sec.keyring = true;
	health_score_compute(r, NULL, &r->score);
}

/* ---- holders -------------------------------------------------------------- */

static uint64_t held_version(const struct hnode *hn, const char *site)
{
	struct health_entry e;
	if (hn->table == NULL || health_table_get(hn->table, site, strlen(site), &e) != 0)
		return 0;
	return e.version;
}

/* Live full nodes: every live node but the leaves. */
static uint32_t up_full(const struct sim_health *h)
{
	return sim_cluster_up_count(h->c) - h->up_leaves;
}

static void check_pub(struct sim_health *h, struct sim_health_pub *p)
{
	if (p->all_at != UINT64_MAX || p->holders < up_full(h))
		return;
	const char *site = sim_cluster_name(h->c, p->site);
	for (uint32_t i = 0; i < h->n; i++)
		if (sim_cluster_state(h->c, i) == SIM_NODE_UP && !sim_health_is_leaf(h, i) &&
		    held_version(&h->nodes[i], site) < p->version)
			return;
	p->all_at = sim_cluster_now(h->c);
}

/* Node now holds `site` at `now_v` instead of `was_v`. */
static void moved(struct sim_health *h, uint32_t site, uint64_t was_v, uint64_t now_v)
{
	uint32_t k = h->nodes[site].last_pub;
	while (k != NO_PUB && h->pubs[k].version > was_v) {
		struct sim_health_pub *p = &h->pubs[k];
		if (p->version <= now_v) {
			p->holders++;
			check_pub(h, p);
		}
		k = p->prev;
	}
}

/* ---- the table as this node's replica app ---------------------------------- */

static int key_of(void *ctx, const char *site, size_t len, uint8_t pk[32])
{
	struct hnode *hn = ctx;
	char name[HEALTH_SITE_MAX + 1];
	struct swim_member_info mi;
	if (hn->sw == NULL || len > HEALTH_SITE_MAX)
		return SHOAL_E_NOT_FOUND;
	memcpy(name, site, len);
	name[len] = '\0';
	if (swim_member_find(hn->sw, name, &mi) != 0 || mi.pubkey == NULL || mi.state == SWIM_LEFT)
		return SHOAL_E_NOT_FOUND;
	memcpy(pk, mi.pubkey, 32);
	return 0;
}

/* The site a body names, read without decoding the rest. */
static int body_site(const uint8_t *bytes, size_t len, const uint8_t **site, uint32_t *slen)
{
	const uint8_t *body, *sig, *pos;
	uint32_t body_len, n;
	uint64_t v;
	int rc = health_envelope_split(bytes, len, &body, &body_len, &sig);
	pos = body;
	if (rc == 0)
		rc = shoal_mp_read_array(&pos, body + body_len, &n);
	if (rc == 0)
		rc = shoal_mp_read_uint(&pos, body + body_len, &v);
	if (rc == 0)
		rc = shoal_mp_read_str(&pos, body + body_len, site, slen);
	return rc;
}

/* Offer an envelope to node hn's table as the record of `site` (a node
 * index); the holders follow. */
static int offer(struct hnode *hn, uint64_t now, uint32_t site, const uint8_t *bytes, size_t len)
{
	struct sim_health *h = hn->h;
	const char *name = sim_cluster_name(h->c, site);
	const uint8_t *s;
	uint32_t slen;
	int rc = body_site(bytes, len, &s, &slen);
	if (rc == 0 && (slen != strlen(name) || memcmp(s, name, slen) != 0))
		rc = SHOAL_E_MALFORMED; /* not the record of the site its key names */
	uint64_t was = held_version(hn, name);
	if (rc == 0)
		rc = health_table_offer(hn->table, now, bytes, len);
	if (rc == 0 && h->rollout != NULL && hn->node == sim_rollout_observer(h->rollout))
		sim_rollout_observed(h->rollout, site, bytes, len);
	/* Holders are full nodes: a leaf holds its own record only. */
	bool leaf_node = sim_health_is_leaf(h, hn->node);
	if (rc == 0 && !leaf_node)
		moved(h, site, was, held_version(hn, name));
	else if (rc == SHOAL_E_FORBIDDEN && !health_table_keeps(hn->table, name, strlen(name)))
		h->leaf_refused++;
	else if (rc == SHOAL_E_FORBIDDEN)
		h->no_key++;
	else if (rc != 0 && rc != SHOAL_E_STALE)
		h->rejected++;
	return rc;
}

/* "~site" -> the site's node index, or SIM_NO_NODE. */
static uint32_t site_of(const struct sim_health *h, const uint8_t *key, uint32_t len)
{
	char name[HEALTH_SITE_MAX + 1];
	if (len <= 1 || len - 1 > HEALTH_SITE_MAX || key[0] != '~')
		return SIM_NO_NODE;
	memcpy(name, key + 1, len - 1);
	name[len - 1] = '\0';
	return sim_cluster_find(h->c, name);
}

static int app_lookup(void *ctx, const uint8_t *key, uint32_t key_len, uint64_t *version,
                      uint8_t digest[REPLICA_DIGEST_LEN])
{
	struct hnode *hn = ctx;
	if (key_len <= 1 || key[0] != '~')
		return SHOAL_E_NOT_FOUND;
	/* A leaf's table answers "newer" for any other site (shoald's too). */
	return health_table_lookup(hn->table, (const char *)key + 1, key_len - 1, version, digest);
}

static int app_fetch(void *ctx, const uint8_t *key, uint32_t key_len, struct replica_item *it,
                     const uint8_t **body)
{
	struct hnode *hn = ctx;
	struct health_entry e;
	if (key_len <= 1 || key[0] != '~' ||
	    health_table_get(hn->table, (const char *)key + 1, key_len - 1, &e) != 0)
		return SHOAL_E_NOT_FOUND;
	it->key = key;
	it->key_len = key_len;
	it->version = e.version;
	memcpy(it->digest, e.digest, REPLICA_DIGEST_LEN);
	it->size = e.len;
	*body = e.bytes;
	return 0;
}

static enum replica_verdict app_offer(void *ctx, uint64_t now, const struct replica_item *it,
                                      const uint8_t *body, const struct shoal_addr *from,
                                      const char **reason)
{
	struct hnode *hn = ctx;
	(void)from;
	uint32_t site = site_of(hn->h, it->key, it->key_len);
	if (site == SIM_NO_NODE) {
		*reason = "bad health key";
		return REPLICA_REJECTED;
	}
	int rc = offer(hn, now, site, body, it->size);
	if (rc == 0)
		return REPLICA_ACCEPTED;
	if (rc == SHOAL_E_STALE)
		return REPLICA_DUPLICATE;
	*reason = shoal_strerror(rc);
	return REPLICA_REJECTED;
}

static void item_of(const struct health_entry *e, uint8_t *keybuf, struct replica_item *it)
{
	size_t slen = strlen(e->site);
	keybuf[0] = '~';
	memcpy(keybuf + 1, e->site, slen);
	it->key = keybuf;
	it->key_len = (uint32_t)(1 + slen);
	it->version = e->version;
	memcpy(it->digest, e->digest, REPLICA_DIGEST_LEN);
	it->size = e->len;
}

static int app_bucket_hashes(void *ctx, uint32_t buckets, uint64_t *out)
{
	struct hnode *hn = ctx;
	struct health_entry e;
	struct replica_item it;
	uint8_t key[1 + HEALTH_SITE_MAX];
	uint32_t cursor = 0;
	memset(out, 0, buckets * sizeof(*out));
	while (health_table_next(hn->table, &cursor, &e) == 0) {
		item_of(&e, key, &it);
		out[replica_bucket(it.key, it.key_len, buckets)] ^= replica_item_hash(&it);
	}
	return 0;
}

static int app_bucket_items(void *ctx, uint32_t buckets, uint32_t bucket, replica_item_fn fn,
                            void *cbctx)
{
	struct hnode *hn = ctx;
	struct health_entry e;
	struct replica_item it;
	uint8_t key[1 + HEALTH_SITE_MAX];
	uint32_t cursor = 0;
	while (health_table_next(hn->table, &cursor, &e) == 0) {
		item_of(&e, key, &it);
		if (replica_bucket(it.key, it.key_len, buckets) == bucket && fn(cbctx, &it) != 0)
			break;
	}
	return 0;
}

/* ---- publishing ------------------------------------------------------------- */

static int add_pub(struct sim_health *h, const struct sim_health_pub *p)
{
	if (h->npubs == h->pubs_cap) {
		uint32_t cap = h->pubs_cap ? h->pubs_cap * 2 : 1024;
		struct sim_health_pub *grown = realloc(h->pubs, cap * sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		h->pubs = grown;
		h->pubs_cap = cap;
	}
	h->pubs[h->npubs++] = *p;
	return 0;
}

static void publish(struct sim_health *h, struct hnode *hn, uint64_t now, bool change)
{
	struct health_record *r = h->rec;
	uint8_t pk[32], sk[64];
	r->version = shoal_hlc_now(&hn->hlc, wall_ms(now));
	sim_cluster_keypair(h->c, hn->node, pk, sk);
	int rc = health_seal(r, sk, &h->out);
	sodium_memzero(sk, sizeof(sk));
	struct sim_health_pub p = {.site = hn->node,
	                           .env_len = (uint32_t)h->out.len,
	                           .version = r->version,
	                           .at = now,
	                           .all_at = UINT64_MAX,
	                           .prev = hn->last_pub,
	                           .change = change};
	if (rc != 0 || add_pub(h, &p) != 0)
		return;
	hn->last_pub = h->npubs - 1;
	/* Into its own table first, as shoald does: the node answers for
	 * itself like for anyone, and serves the body from there. */
	if (offer(hn, now, hn->node, h->out.data, h->out.len) != 0)
		return;
	hn->published = true;
	hn->pub_changes = hn->changes;
	if (h->rollout != NULL)
		sim_rollout_published(h->rollout, hn->node);
	h->jitter_rng = &hn->rng;
	health_pacer_published(&hn->pacer, &h->jitter, now);

	uint8_t key[1 + HEALTH_SITE_MAX];
	const char *name = sim_cluster_name(h->c, hn->node);
	size_t slen = strlen(name);
	key[0] = '~';
	memcpy(key + 1, name, slen);
	struct replica_item it = {.key = key,
	                          .key_len = (uint32_t)(1 + slen),
	                          .version = r->version,
	                          .size = (uint32_t)h->out.len};
	replica_digest(h->out.data, h->out.len, it.digest);
	if (hn->rep != NULL) {
		replica_announce(hn->rep, now, &it);
		sim_cluster_rearm(h->c, hn->node);
	}
}

static void on_sample(void *arg, uint64_t data);

/* The first sample at or after `at` on the node's grid. */
static void schedule(struct sim_health *h, struct hnode *hn, uint64_t at)
{
	uint64_t t = hn->phase;
	if (at > t)
		t += (at - t + SAMPLE_US - 1) / SAMPLE_US * SAMPLE_US;
	hn->next_at = t;
	sim_engine_at(sim_cluster_engine(h->c), t, on_sample, h,
	              (uint64_t)hn->gen << 32 | hn->node);
}

static void on_sample(void *arg, uint64_t data)
{
	struct sim_health *h = arg;
	uint32_t node = (uint32_t)data;
	if (node >= h->n)
		return;
	struct hnode *hn = &h->nodes[node];
	if ((uint32_t)(data >> 32) != hn->gen || hn->sw == NULL)
		return;
	uint64_t now = sim_cluster_now(h->c);
	while (hn->next_change <= now) {
		hn->changes++;
		hn->next_change = next_change(&hn->rng, hn->next_change, h->cfg.changes_per_hour);
	}
	/* An apply in flight: its state is read again at the next sample. */
	bool busy = h->rollout != NULL && sim_rollout_sample(h->rollout, node);
	compose(h, hn, now, hn->changes, false, h->rec);
	hn->pacer.refresh_us = health_refresh_interval(swim_live_members(hn->sw));
	unsigned mask = HEALTH_CH_LABELS; /* nothing out yet in this life */
	if (hn->published) {
		compose(h, hn, now, hn->pub_changes, true, h->prev);
		mask = health_changes(h->prev, h->rec);
	}
	if (!hn->published || now >= health_pacer_due(&hn->pacer, mask)) {
		publish(h, hn, now, hn->published && mask != 0);
		mask = 0;
	}
	uint64_t next = hn->published ? health_pacer_due(&hn->pacer, mask) : now + SAMPLE_US;
	if (hn->next_change < next)
		next = hn->next_change;
	if (busy && now + SAMPLE_US < next)
		next = now + SAMPLE_US;
	schedule(h, hn, next > now ? next : now + 1);
}

void sim_health_wake(struct sim_health *h, uint32_t node)
{
	struct hnode *hn = node < h->n ? &h->nodes[node] : NULL;
	uint64_t now = sim_cluster_now(h->c);
	if (hn == NULL || !h->started || hn->sw == NULL)
		return;
	uint64_t t = hn->phase;
	if (now > t)
		t += (now - t + SAMPLE_US - 1) / SAMPLE_US * SAMPLE_US;
	if (t >= hn->next_at)
		return; /* a sample comes sooner anyway */
	hn->gen++;      /* the later one is void */
	schedule(h, hn, now);
}

/* A site's pacer as a fleet that has been up a while leaves it: the last
 * publish one interval before the next refresh, the next refresh a
 * uniform residual of a jittered interval away (the renewal process's
 * steady state, so refreshes arrive at the fleet rate from the start). */
static void steady(struct sim_health *h, struct hnode *hn, uint64_t now)
{
	struct health_pacer *p = &hn->pacer;
	uint64_t interval = health_refresh_interval(swim_live_members(hn->sw));
	double len = (double)interval * (0.9 + 0.2 * sim_rng_double(&hn->rng));
	uint64_t residual = (uint64_t)(len * sim_rng_double(&hn->rng));
	health_pacer_create(p, interval);
	p->published = now + residual - (uint64_t)len;
	p->refresh_at = now + residual;
	hn->published = true;
	hn->pub_changes = hn->changes;
	(void)h;
}

static void begin(struct sim_health *h, struct hnode *hn, uint64_t now, bool fresh)
{
	hn->gen++;
	health_pacer_create(&hn->pacer, health_refresh_interval(swim_live_members(hn->sw)));
	hn->published = false;
	if (!fresh)
		steady(h, hn, now);
	hn->phase = now + sim_rng_below(&hn->rng, SAMPLE_US);
	if (hn->next_change == 0)
		hn->next_change = next_change(&hn->rng, now, h->cfg.changes_per_hour);
	uint64_t at = fresh ? now : health_pacer_due(&hn->pacer, 0);
	schedule(h, hn, hn->next_change < at ? hn->next_change : at);
}

/* ---- lifecycle ------------------------------------------------------------- */

int sim_health_new(struct sim_health **out, struct sim_cluster *c,
                   const struct sim_health_config *cfg)
{
	struct sim_health *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	h->c = c;
	h->cfg = *cfg;
	h->n = sim_cluster_size(c);
	h->nodes = calloc(h->n, sizeof(*h->nodes));
	h->sent = calloc(h->n, sizeof(*h->sent));
	h->recv = calloc(h->n, sizeof(*h->recv));
	h->rec = malloc(sizeof(*h->rec));
	h->prev = malloc(sizeof(*h->prev));
	if (cfg->leaf != NULL && (h->leaf = malloc(h->n * sizeof(*h->leaf))) != NULL)
		memcpy(h->leaf, cfg->leaf, h->n * sizeof(*h->leaf));
	h->cfg.leaf = NULL; /* h->leaf is the copy */
	if (!h->nodes || !h->sent || !h->recv || !h->rec || !h->prev ||
	    (cfg->leaf != NULL && h->leaf == NULL)) {
		sim_health_delete(h);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < h->n; i++) {
		struct hnode *hn = &h->nodes[i];
		hn->h = h;
		hn->node = i;
		hn->last_pub = NO_PUB;
		shoal_hlc_create(&hn->hlc);
		sim_rng_seed(&hn->rng, sim_cluster_seed(c), SIM_RNG_STREAM(HEALTH_STREAM, i));
	}
	h->jitter = (struct shoal_env){.ctx = h, .prng = jitter_prng};
	shoal_buf_create(&h->out, HEALTH_ENVELOPE_MAX);
	*out = h;
	return 0;
}

void sim_health_delete(struct sim_health *h)
{
	if (h == NULL)
		return;
	for (uint32_t i = 0; h->nodes != NULL && i < h->n; i++)
		health_table_delete(h->nodes[i].table);
	free(h->nodes);
	free(h->sent);
	free(h->recv);
	free(h->rec);
	free(h->prev);
	free(h->pubs);
	free(h->leaf);
	shoal_buf_destroy(&h->out);
	free(h);
}

int sim_health_attach(struct sim_health *h, uint32_t node, struct swim *sw,
                      const struct shoal_env *env, struct replica_app *app)
{
	struct hnode *hn = &h->nodes[node];
	int rc;
	/* The env is the node's slot's, the same over all its lives. */
	bool leaf = sim_health_is_leaf(h, node);
	if (hn->table == NULL) {
		const char *name = sim_cluster_name(h->c, node);
		if ((rc = health_table_new(&hn->table, env, key_of, hn)) != 0)
			return rc;
		/* A leaf's table keeps its own record only, as shoald's. */
		if (leaf && (rc = health_table_keep_only(hn->table, name, strlen(name))) != 0) {
			health_table_delete(hn->table);
			hn->table = NULL;
			return rc;
		}
	}
	if (leaf && hn->sw == NULL)
		h->up_leaves++;
	hn->sw = sw;
	*app = (struct replica_app){.ctx = hn,
	                            .lookup = app_lookup,
	                            .fetch = app_fetch,
	                            .offer = app_offer,
	                            .bucket_hashes = app_bucket_hashes,
	                            .bucket_items = app_bucket_items};
	return 0;
}

void sim_health_set_replica(struct sim_health *h, uint32_t node, struct replica *r)
{
	struct hnode *hn = &h->nodes[node];
	hn->rep = r;
	/* A restart during the run: shoald publishes its first record at once. */
	if (h->started && hn->sw != NULL)
		begin(h, hn, sim_cluster_now(h->c), true);
}

void sim_health_detach(struct sim_health *h, uint32_t node)
{
	struct hnode *hn = &h->nodes[node];
	hn->gen++; /* its pending sample is void */
	if (hn->sw != NULL && sim_health_is_leaf(h, node))
		h->up_leaves--;
	hn->sw = NULL;
	hn->rep = NULL;
}

void sim_health_start(struct sim_health *h)
{
	uint64_t now = sim_cluster_now(h->c);
	h->started = true;
	memset(h->sent, 0, h->n * sizeof(*h->sent));
	memset(h->recv, 0, h->n * sizeof(*h->recv));
	for (uint32_t i = 0; i < h->n; i++)
		if (h->nodes[i].sw != NULL)
			begin(h, &h->nodes[i], now, h->cfg.fresh);
}

void sim_health_check(struct sim_health *h)
{
	uint32_t up = sim_cluster_up_count(h->c);
	for (uint32_t i = 0; i < h->npubs; i++)
		if (h->pubs[i].all_at == UINT64_MAX && h->pubs[i].holders >= up)
			check_pub(h, &h->pubs[i]);
}

/* ---- bytes on the network ---------------------------------------------------- */

static bool health_key(const uint8_t *key, uint32_t len)
{
	return len > 1 && key[0] == '~';
}

/* A datagram: [1, [msg, ...]]; USER messages announcing "~" keys. */
static void count_datagram(const uint8_t *p, const uint8_t *end, size_t sealed, uint64_t *announce,
                           uint64_t *msgs)
{
	uint32_t n, cnt, plen, klen;
	uint64_t v;
	uint64_t bytes = 0;
	bool other = false, any = false;
	const uint8_t *payload, *key;
	if (shoal_mp_read_array(&p, end, &n) != 0 || n != 2 ||
	    shoal_mp_read_uint(&p, end, &v) != 0 || shoal_mp_read_array(&p, end, &n) != 0)
		return;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *m = p, *q;
		if (shoal_mp_read_array(&p, end, &cnt) == 0 && cnt == 2 &&
		    shoal_mp_read_uint(&p, end, &v) == 0 && v == MSG_USER &&
		    shoal_mp_read_bin(&p, end, &payload, &plen) == 0) {
			q = payload;
			if (shoal_mp_read_array(&q, payload + plen, &cnt) == 0 &&
			    shoal_mp_read_uint(&q, payload + plen, &v) == 0 &&
			    shoal_mp_read_bin(&q, payload + plen, &key, &klen) == 0 &&
			    health_key(key, klen)) {
				bytes += (uint64_t)(p - m);
				any = true;
				(*msgs)++;
				continue;
			}
		}
		p = m;
		if (shoal_mp_skip(&p, end, 8) != 0)
			return;
		other = true;
	}
	if (any)
		*announce += other ? bytes : sealed;
}

/* A list of entries [[key bin, ...], ...]: the "~" entries' share of
 * `sealed`; *entries says whether there were any. */
static uint64_t list_share(const uint8_t *p, const uint8_t *end, size_t sealed, bool *entries)
{
	uint32_t n, cnt, klen;
	uint64_t all = 0, mine = 0;
	const uint8_t *key;
	*entries = false;
	if (shoal_mp_read_array(&p, end, &n) != 0)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = p;
		bool is = shoal_mp_read_array(&p, end, &cnt) == 0 &&
		          shoal_mp_read_bin(&p, end, &key, &klen) == 0 && health_key(key, klen);
		p = e;
		if (shoal_mp_skip(&p, end, 4) != 0)
			break;
		all += (uint64_t)(p - e);
		mine += is ? (uint64_t)(p - e) : 0;
	}
	*entries = n > 0;
	return all > 0 ? sealed * mine / all : 0;
}

static void count_stream(const uint8_t *p, const uint8_t *end, size_t sealed,
                         struct sim_health_bytes *b)
{
	uint32_t n;
	uint64_t type, buckets;
	bool entries;
	if (shoal_mp_read_array(&p, end, &n) != 0 || n == 0 ||
	    shoal_mp_read_uint(&p, end, &type) != 0)
		return;
	switch (type) {
	case MSG_PULL:
	case MSG_ITEMS:
		b->pull += list_share(p, end, sealed, &entries);
		break;
	case MSG_AE_LIST:
		if (shoal_mp_read_uint(&p, end, &buckets) != 0)
			return;
		b->ae_list += list_share(p, end, sealed, &entries);
		if (!entries)
			b->ae_other += sealed;
		break;
	case MSG_AE_HELLO:
	case MSG_AE_ROOT:
	case MSG_AE_DIFFER:
		b->ae_other += sealed;
		break;
	default:
		break; /* membership's own push-pull */
	}
}

void sim_health_count(struct sim_health *h, uint32_t from, uint32_t to, bool stream,
                      const uint8_t *plain, size_t plen, size_t sealed)
{
	struct sim_health_bytes b = {0};
	if (!h->started || from >= h->n || to >= h->n)
		return;
	if (stream)
		count_stream(plain, plain + plen, sealed, &b);
	else
		count_datagram(plain, plain + plen, sealed, &b.announce, &b.announce_msgs);
	h->sent[from].announce += b.announce;
	h->sent[from].pull += b.pull;
	h->sent[from].ae_list += b.ae_list;
	h->sent[from].ae_other += b.ae_other;
	h->sent[from].announce_msgs += b.announce_msgs;
	h->recv[to].announce += b.announce;
	h->recv[to].pull += b.pull;
	h->recv[to].ae_list += b.ae_list;
	h->recv[to].ae_other += b.ae_other;
	h->recv[to].announce_msgs += b.announce_msgs;
	h->bytes_total += b.announce + b.pull + b.ae_list;
}

uint64_t sim_health_bytes_total(const struct sim_health *h)
{
	return h->bytes_total;
}

void sim_health_set_rollout(struct sim_health *h, struct sim_rollout *rollout)
{
	h->rollout = rollout;
}

/* ---- results ------------------------------------------------------------------ */

uint32_t sim_health_count_pubs(const struct sim_health *h)
{
	return h->npubs;
}

const struct sim_health_pub *sim_health_pub(const struct sim_health *h, uint32_t i)
{
	return i < h->npubs ? &h->pubs[i] : NULL;
}

void sim_health_node_bytes(const struct sim_health *h, uint32_t node, struct sim_health_bytes *sent,
                           struct sim_health_bytes *recv)
{
	*sent = h->sent[node];
	*recv = h->recv[node];
}

uint64_t sim_health_rejected(const struct sim_health *h)
{
	return h->rejected;
}

uint64_t sim_health_no_key(const struct sim_health *h)
{
	return h->no_key;
}

bool sim_health_converged(const struct sim_health *h)
{
	for (uint32_t s = 0; s < h->n; s++) {
		uint32_t k = h->nodes[s].last_pub;
		if (k == NO_PUB)
			continue;
		const char *site = sim_cluster_name(h->c, s);
		for (uint32_t i = 0; i < h->n; i++)
			if (sim_cluster_state(h->c, i) == SIM_NODE_UP &&
			    (!sim_health_is_leaf(h, i) || i == s) &&
			    held_version(&h->nodes[i], site) != h->pubs[k].version)
				return false;
	}
	return sim_health_leaf_foreign(h) == 0;
}

bool sim_health_is_leaf(const struct sim_health *h, uint32_t node)
{
	return h->leaf != NULL && node < h->n && h->leaf[node];
}

uint64_t sim_health_leaf_refused(const struct sim_health *h)
{
	return h->leaf_refused;
}

uint64_t sim_health_leaf_foreign(const struct sim_health *h)
{
	uint64_t foreign = 0;
	for (uint32_t i = 0; i < h->n; i++) {
		const struct hnode *hn = &h->nodes[i];
		if (!sim_health_is_leaf(h, i) || hn->table == NULL)
			continue;
		uint32_t count = health_table_count(hn->table);
		foreign += count - (held_version(hn, sim_cluster_name(h->c, i)) > 0 ? 1 : 0);
	}
	return foreign;
}

uint32_t sim_health_held(const struct sim_health *h, uint32_t node)
{
	return node < h->n && h->nodes[node].table != NULL
	               ? health_table_count(h->nodes[node].table)
	               : 0;
}
