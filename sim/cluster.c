/*
 * cluster.c - a harness that runs N real SWIM state machines on the
 * simulator's engine and network: the unit-test rig for gossip/ and the
 * heart of shoalsim.
 *
 * Each node slot holds what a real site keeps between runs (name, key id,
 * keyring, last persisted incarnation: its "disk") plus its running swim,
 * its env (ctx points at the slot), two PRNG streams and an event log. Slots
 * live in one array allocated at creation and never moved, so the env ctx
 * pointers stay valid; the array is sized by `capacity`.
 *
 * The driver loop is the one shoald runs, made discrete: after any input
 * to a swim (datagram, stream message, stream error, join, leave, tick) the
 * harness re-reads swim_next_deadline and makes sure one timer event is
 * pending no later than that. Timers are lazy: a later deadline leaves the
 * pending (earlier) event in place, and when it fires the harness just
 * re-reads the deadline; an earlier deadline schedules a new event and
 * bumps the node's generation so the old one is ignored. That keeps the
 * heap small when every ack moves a deadline.
 *
 * Site keys come from crypto_sign_seed_keypair over a seed drawn from the
 * run seed and the node's key id, so they are reproducible and never
 * stored. All nodes share one swim_pool (records are interned once per
 * process) and one memo of signature checks.
 */
#include "shoal/sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "shoal/error.h"

#define LOG_INITIAL      16
#define DEFAULT_LOG_CAP  4096
#define DEFAULT_POLL_US  SIM_MS(10)
#define MIN_VERIFY_SLOTS 4096
#define DEFAULT_JOIN_GAP SIM_MS(1)

struct sim_node {
	struct swim *swim;         /* running state machine; NULL unless up/leaving */
	struct sim_cluster *c;     /* owner */
	struct shoal_env env;      /* ctx = this slot */
	struct sim_rng prng;       /* env->prng stream */
	struct sim_rng crng;       /* env->random_bytes stream */
	struct shoal_keyring kr;   /* this site's keyring (survives restarts) */
	char *custom_name;         /* set by sim_cluster_set_name, else NULL */
	struct sim_log_entry *log; /* swim events seen, oldest first */
	uint64_t key_id;           /* which deterministic keypair */
	uint64_t timer_at;         /* deadline of the pending timer event */
	uint32_t log_len;          /* entries in log */
	uint32_t log_alloc;        /* entries allocated */
	uint32_t timer_gen;        /* generation of the current timer event */
	uint32_t life;             /* starts so far; tags delayed leave stops */
	uint32_t index;            /* slot number = net node id */
	uint32_t incarnation;      /* last persisted incarnation */
	uint8_t state;             /* enum sim_node_state */
	uint8_t timer_pending;     /* a current timer event is queued */
	uint8_t started;           /* has run at least once */
	char gen_name[12];         /* "n%04u" of index + 1 */
};

/* A node's own labels (sim_cluster_set_start_labels), borrowed. */
struct start_labels {
	const struct shoal_label *labels;
	size_t n;
	bool set;
};

struct sim_cluster {
	struct sim_cluster_config cfg; /* as given, defaults filled */
	struct sim_engine *e;          /* clock and events */
	struct sim_net *net;           /* the wire */
	struct swim_pool *pool;        /* shared interned records */
	struct sim_verify_cache *vc;   /* memoized signature checks */
	struct shoal_keyring kr;       /* the cluster's starting keyring */
	struct sim_rng rng;            /* the harness's own draws */
	struct sim_node *nodes;        /* [cfg.capacity] */
	uint32_t n;                    /* slots in use */
	uint32_t up;                   /* nodes UP or LEAVING */
	uint32_t ncustom;              /* slots with custom names */
	struct sim_cluster_stats st;   /* harness counters */
	sim_observer_fn observer;      /* test hook, may be NULL */
	void *observer_ctx;
	sim_lifecycle_fn lifecycle; /* test hook around each swim's life, may be NULL */
	void *lifecycle_ctx;
	struct start_labels *labels; /* [cfg.capacity] once any node has its own, else NULL */
};

/* ---- config --------------------------------------------------------------- */

void sim_cluster_config_defaults(struct sim_cluster_config *cfg, uint32_t nodes, uint64_t seed)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nodes = nodes;
	cfg->capacity = nodes;
	cfg->seed = seed;
	swim_config_defaults(&cfg->swim);
	swim_config_scale(&cfg->swim, 1);
	if (cfg->swim.version == NULL)
		cfg->swim.version = "0.0.0-sim";
	cfg->net.latency = (struct sim_latency){.kind = SIM_LAT_UNIFORM, .a_us = 500, .b_us = 2000};
	cfg->net.loss = 0.0;
	cfg->net.stream_fail_us = SIM_SEC(1);
	cfg->net.seed = seed;
	cfg->log_mask = SIM_LOG_ALL;
	cfg->log_cap = DEFAULT_LOG_CAP;
	cfg->poll_us = DEFAULT_POLL_US;
	cfg->join_gap_us = DEFAULT_JOIN_GAP;
}

/* ---- names and keys ----------------------------------------------------- */

const char *sim_cluster_name(const struct sim_cluster *c, uint32_t i)
{
	const struct sim_node *nd = &c->nodes[i];
	return nd->custom_name != NULL ? nd->custom_name : nd->gen_name;
}

uint32_t sim_cluster_find(const struct sim_cluster *c, const char *name)
{
	/* Fast path: generated names encode their slot. */
	if (name[0] == 'n' && name[1] >= '0' && name[1] <= '9') {
		uint64_t v = 0;
		const char *p = name + 1;
		while (*p >= '0' && *p <= '9' && v < UINT32_MAX)
			v = v * 10 + (uint64_t)(*p++ - '0');
		/* "n%04u": the digits are v's, zero-padded to 4, and nothing
		 * else; checked by length so that the hot path (every event
		 * of every node) reads no other node's memory. */
		uint32_t ndig = 1;
		for (uint64_t t = v; t >= 10; t /= 10)
			ndig++;
		size_t len = (size_t)(p - (name + 1));
		if (*p == '\0' && v >= 1 && v <= c->n && len == (ndig < 4 ? 4 : ndig) &&
		    c->ncustom == 0) {
			/* A custom name on an earlier slot could claim it
			 * first; only look further when any exist. */
			return (uint32_t)(v - 1);
		}
	}
	for (uint32_t i = 0; i < c->n; i++)
		if (strcmp(sim_cluster_name(c, i), name) == 0)
			return i;
	return SIM_NO_NODE;
}

static void node_keypair(const struct sim_cluster *c, const struct sim_node *nd, uint8_t pk[32],
                         uint8_t sk[64])
{
	struct sim_rng r;
	uint8_t seed[32];
	sim_rng_seed(&r, c->cfg.seed, SIM_RNG_STREAM(SIM_RNG_KEY, nd->key_id));
	sim_rng_bytes(&r, seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(&r, sizeof(r));
}

void sim_cluster_pubkey(const struct sim_cluster *c, uint32_t i, uint8_t pk[32])
{
	uint8_t sk[64];
	node_keypair(c, &c->nodes[i], pk, sk);
	sodium_memzero(sk, sizeof(sk));
}

void sim_cluster_keypair(const struct sim_cluster *c, uint32_t i, uint8_t pk[32], uint8_t sk[64])
{
	node_keypair(c, &c->nodes[i], pk, sk);
}

/* ---- env ---------------------------------------------------------------- */

static void env_send_datagram(void *ctx, const struct shoal_addr *to, const uint8_t *buf,
                              size_t len)
{
	struct sim_node *nd = ctx;
	sim_net_send_datagram(nd->c->net, nd->index, to, buf, len);
}

static int env_stream_send(void *ctx, uint64_t conv, const struct shoal_addr *to,
                           const uint8_t *buf, size_t len)
{
	struct sim_node *nd = ctx;
	return sim_net_stream_send(nd->c->net, nd->index, conv, to, buf, len);
}

static void env_stream_close(void *ctx, uint64_t conv)
{
	struct sim_node *nd = ctx;
	sim_net_stream_close(nd->c->net, nd->index, conv);
}

static uint64_t env_prng(void *ctx)
{
	struct sim_node *nd = ctx;
	return sim_rng_next(&nd->prng);
}

static void env_random_bytes(void *ctx, uint8_t *buf, size_t len)
{
	struct sim_node *nd = ctx;
	sim_rng_bytes(&nd->crng, buf, len);
}

static int env_verify(void *ctx, const uint8_t sig[64], const uint8_t *msg, size_t len,
                      const uint8_t pk[32])
{
	struct sim_node *nd = ctx;
	return sim_verify_cache_check(nd->c->vc, sig, msg, len, pk);
}

/* ---- events --------------------------------------------------------------- */

static void log_append(struct sim_cluster *c, struct sim_node *nd, const struct sim_log_entry *le)
{
	if (nd->log_len == nd->log_alloc) {
		uint32_t alloc = nd->log_alloc ? nd->log_alloc * 2 : LOG_INITIAL;
		if (alloc > c->cfg.log_cap)
			alloc = c->cfg.log_cap;
		if (alloc <= nd->log_alloc) {
			c->st.log_overflow++;
			return;
		}
		struct sim_log_entry *l = realloc(nd->log, alloc * sizeof(*l));
		if (l == NULL) {
			c->st.log_overflow++;
			return;
		}
		nd->log = l;
		nd->log_alloc = alloc;
	}
	nd->log[nd->log_len++] = *le;
}

static void on_swim_event(void *ctx, const struct swim_event *ev)
{
	struct sim_node *nd = ctx;
	struct sim_cluster *c = nd->c;
	uint64_t now = sim_engine_now(c->e);
	uint32_t member = ev->name != NULL ? sim_cluster_find(c, ev->name) : SIM_NO_NODE;

	if (ev->type == SWIM_EV_INCARNATION)
		nd->incarnation = ev->incarnation; /* what shoald writes to LMDB */
	sim_engine_trace_mix(c->e, ((uint64_t)nd->index << 40) ^ ((uint64_t)ev->type << 32) ^
	                                   ((uint64_t)member << 8) ^ ev->incarnation);
	if (c->cfg.log_mask & SIM_LOG_BIT(ev->type)) {
		struct sim_log_entry le = {
		        .at = now,
		        .member = member,
		        .incarnation = ev->incarnation,
		        .type = (uint8_t)ev->type,
		        .via_probe = ev->via_probe ? 1 : 0,
		};
		log_append(c, nd, &le);
	}
	if (c->observer != NULL)
		c->observer(c->observer_ctx, nd->index, now, ev);
}

/* ---- timers -------------------------------------------------------------- */

static void node_timer_fire(void *arg, uint64_t gen);

static void schedule_timer(struct sim_node *nd, uint64_t at)
{
	struct sim_cluster *c = nd->c;
	nd->timer_gen++;
	nd->timer_at = at;
	nd->timer_pending = 1;
	if (sim_engine_at(c->e, at, node_timer_fire, nd, nd->timer_gen) != 0) {
		nd->timer_pending = 0;
		c->st.swim_errors++;
	}
}

static void node_rearm(struct sim_node *nd)
{
	if (nd->swim == NULL)
		return;
	uint64_t now = sim_engine_now(nd->c->e);
	uint64_t d = swim_next_deadline(nd->swim);
	if (d == UINT64_MAX)
		return;
	if (d < now)
		d = now;
	if (nd->timer_pending && nd->timer_at <= d)
		return; /* the pending event fires first and re-reads */
	schedule_timer(nd, d);
}

static void node_timer_fire(void *arg, uint64_t gen)
{
	struct sim_node *nd = arg;
	struct sim_cluster *c = nd->c;

	if ((uint32_t)gen != nd->timer_gen || !nd->timer_pending) {
		c->st.stale_timers++;
		return;
	}
	nd->timer_pending = 0;
	if (nd->swim == NULL)
		return;
	c->st.timer_fires++;
	uint64_t now = sim_engine_now(c->e);
	if (swim_next_deadline(nd->swim) <= now) {
		swim_tick(nd->swim, now);
		c->st.ticks++;
		if (swim_next_deadline(nd->swim) <= now) {
			/* The core asked to run now yet had nothing left to
			 * do: count it, and let virtual time move on rather
			 * than spin at this instant. */
			c->st.stuck_deadlines++;
			schedule_timer(nd, now + 1);
			return;
		}
	}
	node_rearm(nd);
}

void sim_cluster_rearm(struct sim_cluster *c, uint32_t i)
{
	if (i < c->n)
		node_rearm(&c->nodes[i]);
}

/* ---- network callbacks -------------------------------------------------- */

static void net_datagram(void *ctx, uint32_t to, uint32_t from, const uint8_t *buf, size_t len)
{
	struct sim_cluster *c = ctx;
	struct sim_node *nd = &c->nodes[to];
	struct shoal_addr a;
	if (nd->swim == NULL)
		return;
	sim_net_addr(from, &a);
	swim_on_datagram(nd->swim, sim_engine_now(c->e), &a, buf, len);
	node_rearm(nd);
}

static void net_stream(void *ctx, uint32_t to, uint64_t conv, uint32_t from, const uint8_t *buf,
                       size_t len)
{
	struct sim_cluster *c = ctx;
	struct sim_node *nd = &c->nodes[to];
	struct shoal_addr a;
	if (nd->swim == NULL)
		return;
	sim_net_addr(from, &a);
	swim_on_stream(nd->swim, sim_engine_now(c->e), conv, &a, buf, len);
	node_rearm(nd);
}

static void net_stream_error(void *ctx, uint32_t node, uint64_t conv)
{
	struct sim_cluster *c = ctx;
	struct sim_node *nd = &c->nodes[node];
	if (nd->swim == NULL)
		return;
	swim_on_stream_error(nd->swim, sim_engine_now(c->e), conv);
	node_rearm(nd);
}

/* ---- lifecycle ------------------------------------------------------------ */

static void node_init(struct sim_cluster *c, uint32_t i)
{
	struct sim_node *nd = &c->nodes[i];
	memset(nd, 0, sizeof(*nd));
	nd->c = c;
	nd->index = i;
	nd->key_id = i;
	nd->kr = c->kr;
	nd->state = SIM_NODE_IDLE;
	snprintf(nd->gen_name, sizeof(nd->gen_name), "n%04u", (unsigned)(i + 1));
	nd->env = (struct shoal_env){
	        .ctx = nd,
	        .send_datagram = env_send_datagram,
	        .stream_send = env_stream_send,
	        .stream_close = env_stream_close,
	        .prng = env_prng,
	        .random_bytes = env_random_bytes,
	        .verify = env_verify,
	};
	sim_rng_seed(&nd->prng, c->cfg.seed, SIM_RNG_STREAM(SIM_RNG_PRNG, i));
	sim_rng_seed(&nd->crng, c->cfg.seed, SIM_RNG_STREAM(SIM_RNG_CRNG, i));
}

int sim_cluster_new(struct sim_cluster **out, const struct sim_cluster_config *cfg)
{
	static const struct sim_net_ops ops = {
	        .datagram = net_datagram,
	        .stream = net_stream,
	        .stream_error = net_stream_error,
	};
	int rc;

	if (cfg->nodes == 0)
		return -EINVAL;
	struct sim_cluster *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->cfg = *cfg;
	if (c->cfg.capacity < c->cfg.nodes)
		c->cfg.capacity = c->cfg.nodes;
	if (c->cfg.poll_us == 0)
		c->cfg.poll_us = DEFAULT_POLL_US;
	if (c->cfg.join_gap_us == 0)
		c->cfg.join_gap_us = DEFAULT_JOIN_GAP;
	if (c->cfg.log_cap == 0)
		c->cfg.log_cap = DEFAULT_LOG_CAP;
	if (c->cfg.verify_slots == 0) {
		c->cfg.verify_slots = (size_t)c->cfg.capacity * 4;
		if (c->cfg.verify_slots < MIN_VERIFY_SLOTS)
			c->cfg.verify_slots = MIN_VERIFY_SLOTS;
	}
	sim_rng_seed(&c->rng, cfg->seed, SIM_RNG_STREAM(SIM_RNG_HARNESS, 0));

	shoal_keyring_create(&c->kr);
	uint8_t key[SHOAL_KEY_LEN];
	struct sim_rng kr_rng;
	sim_rng_seed(&kr_rng, cfg->seed, SIM_RNG_STREAM(SIM_RNG_HARNESS, 1));
	sim_rng_bytes(&kr_rng, key, sizeof(key));
	rc = shoal_keyring_install(&c->kr, key);
	sodium_memzero(key, sizeof(key));
	if (rc != 0)
		goto fail;

	rc = sim_engine_new(&c->e, SIM_CLOCK_START, cfg->max_events);
	if (rc != 0)
		goto fail;
	rc = sim_net_new(&c->net, c->e, c->cfg.capacity, &c->cfg.net, &ops, c);
	if (rc != 0)
		goto fail;
	rc = swim_pool_new(&c->pool);
	if (rc != 0)
		goto fail;
	rc = sim_verify_cache_new(&c->vc, c->cfg.verify_slots);
	if (rc != 0)
		goto fail;
	c->nodes = calloc(c->cfg.capacity, sizeof(*c->nodes));
	if (c->nodes == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < c->cfg.capacity; i++) {
		node_init(c, i);
		/* Not started yet: nothing listens at its address. */
		sim_net_set_up(c->net, i, false);
	}
	c->n = c->cfg.nodes;
	*out = c;
	return 0;
fail:
	sim_cluster_delete(c);
	return rc;
}

void sim_cluster_delete(struct sim_cluster *c)
{
	if (c == NULL)
		return;
	if (c->nodes != NULL) {
		/* Swims first: deleting one may still close streams on the net. */
		for (uint32_t i = 0; i < c->cfg.capacity; i++) {
			struct sim_node *nd = &c->nodes[i];
			if (nd->swim != NULL && c->lifecycle != NULL)
				c->lifecycle(c->lifecycle_ctx, i, sim_engine_now(c->e), nd->swim,
				             &nd->env, false);
			if (nd->swim != NULL)
				swim_delete(nd->swim);
			nd->swim = NULL;
		}
		for (uint32_t i = 0; i < c->cfg.capacity; i++) {
			struct sim_node *nd = &c->nodes[i];
			shoal_keyring_destroy(&nd->kr);
			free(nd->custom_name);
			free(nd->log);
		}
		free(c->nodes);
	}
	free(c->labels);
	if (c->pool != NULL)
		swim_pool_delete(c->pool);
	sim_net_delete(c->net);
	sim_engine_delete(c->e);
	sim_verify_cache_delete(c->vc);
	shoal_keyring_destroy(&c->kr);
	free(c);
}

struct sim_engine *sim_cluster_engine(struct sim_cluster *c)
{
	return c->e;
}

struct sim_net *sim_cluster_net(struct sim_cluster *c)
{
	return c->net;
}

struct swim_pool *sim_cluster_pool(struct sim_cluster *c)
{
	return c->pool;
}

uint64_t sim_cluster_now(const struct sim_cluster *c)
{
	return sim_engine_now(c->e);
}

uint64_t sim_cluster_seed(const struct sim_cluster *c)
{
	return c->cfg.seed;
}

uint32_t sim_cluster_size(const struct sim_cluster *c)
{
	return c->n;
}

uint32_t sim_cluster_up_count(const struct sim_cluster *c)
{
	return c->up;
}

const struct shoal_keyring *sim_cluster_keyring(const struct sim_cluster *c)
{
	return &c->kr;
}

int sim_cluster_add_node(struct sim_cluster *c, uint32_t *index)
{
	if (c->n >= c->cfg.capacity)
		return SHOAL_E_TOO_BIG;
	*index = c->n++;
	return 0;
}

static int check_idle(const struct sim_cluster *c, uint32_t i)
{
	if (i >= c->n)
		return -EINVAL;
	return c->nodes[i].started ? SHOAL_E_STATE : 0;
}

int sim_cluster_set_name(struct sim_cluster *c, uint32_t i, const char *name)
{
	int rc = check_idle(c, i);
	if (rc != 0)
		return rc;
	size_t len = name != NULL ? strlen(name) : 0;
	if (len == 0 || len > SWIM_NAME_MAX)
		return -EINVAL;
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, name, len + 1);
	if (c->nodes[i].custom_name == NULL)
		c->ncustom++;
	free(c->nodes[i].custom_name);
	c->nodes[i].custom_name = copy;
	return 0;
}

int sim_cluster_set_key_id(struct sim_cluster *c, uint32_t i, uint64_t key_id)
{
	int rc = check_idle(c, i);
	if (rc == 0)
		c->nodes[i].key_id = key_id;
	return rc;
}

int sim_cluster_set_keyring(struct sim_cluster *c, uint32_t i, const struct shoal_keyring *kr)
{
	int rc = check_idle(c, i);
	if (rc == 0) {
		shoal_keyring_destroy(&c->nodes[i].kr);
		c->nodes[i].kr = *kr;
	}
	return rc;
}

int sim_cluster_set_start_labels(struct sim_cluster *c, uint32_t i,
                                 const struct shoal_label *labels, size_t n)
{
	int rc = check_idle(c, i);
	if (rc != 0)
		return rc;
	/* Kept apart from the node slots: most runs give no node its own. */
	if (c->labels == NULL && (c->labels = calloc(c->cfg.capacity, sizeof(*c->labels))) == NULL)
		return -ENOMEM;
	c->labels[i] = (struct start_labels){labels, n, true};
	return 0;
}

static int join_nodes(struct sim_cluster *c, struct sim_node *nd, const uint32_t *seeds,
                      size_t nseeds)
{
	struct shoal_addr *addrs;
	int rc;

	if (nseeds == 0)
		return 0;
	addrs = calloc(nseeds, sizeof(*addrs));
	if (addrs == NULL)
		return -ENOMEM;
	for (size_t k = 0; k < nseeds; k++)
		sim_net_addr(seeds[k], &addrs[k]);
	rc = swim_join(nd->swim, sim_engine_now(c->e), addrs, nseeds);
	free(addrs);
	if (rc != 0)
		c->st.swim_errors++;
	node_rearm(nd);
	return rc;
}

int sim_cluster_start(struct sim_cluster *c, uint32_t i, const uint32_t *seeds, size_t nseeds)
{
	if (i >= c->n)
		return -EINVAL;
	struct sim_node *nd = &c->nodes[i];
	if (nd->state == SIM_NODE_UP || nd->state == SIM_NODE_LEAVING)
		return SHOAL_E_STATE;

	struct swim_config cfg = c->cfg.swim;
	cfg.name = sim_cluster_name(c, i);
	sim_net_addr(i, &cfg.advertise);
	node_keypair(c, nd, cfg.site_pk, cfg.site_sk);
	/* A restarted site comes back above anything it ever announced. */
	cfg.incarnation = nd->started ? nd->incarnation + 1 : c->cfg.swim.incarnation;
	cfg.on_event = on_swim_event;
	cfg.event_ctx = nd;
	if (c->labels != NULL && c->labels[i].set) {
		cfg.labels = c->labels[i].labels;
		cfg.nlabels = c->labels[i].n;
	}

	sim_net_set_up(c->net, i, true);
	int rc = swim_new(&nd->swim, &cfg, &nd->env, &nd->kr, c->pool, sim_engine_now(c->e));
	sodium_memzero(cfg.site_sk, sizeof(cfg.site_sk));
	if (rc != 0) {
		nd->swim = NULL;
		sim_net_set_up(c->net, i, false);
		c->st.swim_errors++;
		return rc;
	}
	nd->incarnation = swim_incarnation(nd->swim);
	if (c->lifecycle != NULL)
		c->lifecycle(c->lifecycle_ctx, i, sim_engine_now(c->e), nd->swim, &nd->env, true);
	nd->started = 1;
	nd->life++;
	nd->state = SIM_NODE_UP;
	c->up++;
	node_rearm(nd);
	return join_nodes(c, nd, seeds, nseeds);
}

static void boot_fire(void *arg, uint64_t data)
{
	struct sim_node *nd = arg;
	uint32_t seed = (uint32_t)data;
	if (nd->state == SIM_NODE_IDLE)
		sim_cluster_start(nd->c, nd->index, &seed, 1);
}

int sim_cluster_boot(struct sim_cluster *c, uint64_t spread_us)
{
	uint64_t now = sim_engine_now(c->e);
	int rc = 0;

	if (c->nodes[0].state == SIM_NODE_IDLE)
		rc = sim_cluster_start(c, 0, NULL, 0);
	if (rc != 0)
		return rc;
	for (uint32_t i = 1; i < c->n && rc == 0; i++) {
		if (c->nodes[i].state != SIM_NODE_IDLE)
			continue;
		uint64_t at = now + (spread_us > 0 ? sim_rng_below(&c->rng, spread_us) : 0);
		rc = sim_engine_at(c->e, at, boot_fire, &c->nodes[i], 0);
	}
	return rc;
}

static uint32_t first_up(const struct sim_cluster *c, uint32_t except)
{
	for (uint32_t i = 0; i < c->n; i++)
		if (i != except && c->nodes[i].state == SIM_NODE_UP)
			return i;
	return SIM_NO_NODE;
}

static uint32_t alive_count(const struct sim_node *nd)
{
	uint32_t counts[4];
	swim_member_counts(nd->swim, counts);
	return counts[SWIM_ALIVE];
}

struct hub_wait {
	uint32_t hub;      /* the node everyone joins */
	uint32_t expected; /* nodes that will be up once all have started */
};

static bool hub_knows_all(struct sim_cluster *c, void *ctx)
{
	const struct hub_wait *w = ctx;
	const struct sim_node *hub = &c->nodes[w->hub];
	return c->up >= w->expected && hub->swim != NULL && alive_count(hub) >= c->up;
}

static bool converged_pred(struct sim_cluster *c, void *ctx)
{
	(void)ctx;
	return sim_cluster_converged(c);
}

static void converge_start_fire(void *arg, uint64_t hub)
{
	struct sim_node *nd = arg;
	uint32_t seed = (uint32_t)hub;
	if (nd->state == SIM_NODE_IDLE)
		sim_cluster_start(nd->c, nd->index, &seed, 1);
}

static void converge_join_fire(void *arg, uint64_t hub)
{
	struct sim_node *nd = arg;
	uint32_t seed = (uint32_t)hub;
	if (nd->state == SIM_NODE_UP && alive_count(nd) < nd->c->up)
		join_nodes(nd->c, nd, &seed, 1);
}

int sim_cluster_converge(struct sim_cluster *c, uint64_t timeout_us, uint64_t *took)
{
	uint64_t t0 = sim_engine_now(c->e);
	uint64_t spent, at;
	struct hub_wait w = {first_up(c, SIM_NO_NODE), c->up};
	int rc;

	if (w.hub == SIM_NO_NODE) {
		w.hub = 0;
		rc = sim_cluster_start(c, w.hub, NULL, 0);
		if (rc != 0)
			return rc;
		w.expected = c->up;
	}
	/* The hub serves a bounded number of push-pulls at once, as a real
	 * node would; spacing the joins keeps them under that bound instead of
	 * turning most away to retry a push-pull interval later. */
	at = t0;
	for (uint32_t i = 0; i < c->n; i++) {
		if (c->nodes[i].state != SIM_NODE_IDLE)
			continue;
		rc = sim_engine_at(c->e, at, converge_start_fire, &c->nodes[i], w.hub);
		if (rc != 0)
			return rc;
		at += c->cfg.join_gap_us;
		w.expected++;
	}
	rc = sim_cluster_run_until(c, hub_knows_all, &w, timeout_us, &spent);
	if (rc != 0)
		goto out;
	/* Whoever pulled the hub's state before the hub knew everyone pulls
	 * again: one exchange each instead of waiting for gossip. */
	at = sim_engine_now(c->e);
	for (uint32_t i = 0; i < c->n; i++) {
		struct sim_node *nd = &c->nodes[i];
		if (i == w.hub || nd->state != SIM_NODE_UP || alive_count(nd) >= c->up)
			continue;
		rc = sim_engine_at(c->e, at, converge_join_fire, nd, w.hub);
		if (rc != 0)
			goto out;
		at += c->cfg.join_gap_us;
	}
	rc = sim_cluster_run_until(c, converged_pred, NULL, timeout_us - spent, &spent);
out:
	if (took != NULL)
		*took = sim_engine_now(c->e) - t0;
	return rc;
}

int sim_cluster_preconverge(struct sim_cluster *c)
{
	uint64_t now = sim_engine_now(c->e);
	uint32_t hub = first_up(c, SIM_NO_NODE);
	int rc;

	for (uint32_t i = 0; i < c->n; i++) {
		if (c->nodes[i].state != SIM_NODE_IDLE)
			continue;
		if ((rc = sim_cluster_start(c, i, NULL, 0)) != 0)
			return rc;
		if (hub == SIM_NO_NODE)
			hub = i;
	}
	if (hub == SIM_NO_NODE)
		return 0;
	/* The hub learns every node's own record, then every node the hub's
	 * table: one pass each way instead of N^2 pairwise adoptions. */
	struct sim_node *h = &c->nodes[hub];
	for (uint32_t i = 0; i < c->n; i++)
		if (i != hub && c->nodes[i].state == SIM_NODE_UP &&
		    (rc = swim_adopt(h->swim, now, c->nodes[i].swim)) != 0)
			return rc;
	node_rearm(h);
	for (uint32_t i = 0; i < c->n; i++) {
		struct sim_node *nd = &c->nodes[i];
		if (i == hub || nd->state != SIM_NODE_UP)
			continue;
		if ((rc = swim_adopt(nd->swim, now, h->swim)) != 0)
			return rc;
		node_rearm(nd);
	}
	return 0;
}

static void node_stop(struct sim_cluster *c, struct sim_node *nd)
{
	sim_net_set_up(c->net, nd->index, false);
	nd->timer_gen++;
	nd->timer_pending = 0;
	if (nd->swim != NULL) {
		/* nd->incarnation already holds what the events persisted. */
		if (c->lifecycle != NULL)
			c->lifecycle(c->lifecycle_ctx, nd->index, sim_engine_now(c->e), nd->swim,
			             &nd->env, false);
		swim_delete(nd->swim);
		nd->swim = NULL;
	}
	if (nd->state == SIM_NODE_UP || nd->state == SIM_NODE_LEAVING)
		c->up--;
	nd->state = SIM_NODE_DOWN;
}

int sim_cluster_kill(struct sim_cluster *c, uint32_t i)
{
	if (i >= c->n)
		return -EINVAL;
	struct sim_node *nd = &c->nodes[i];
	if (nd->state != SIM_NODE_UP && nd->state != SIM_NODE_LEAVING)
		return SHOAL_E_STATE;
	node_stop(c, nd);
	return 0;
}

int sim_cluster_restart(struct sim_cluster *c, uint32_t i, const uint32_t *seeds, size_t nseeds)
{
	if (i >= c->n)
		return -EINVAL;
	struct sim_node *nd = &c->nodes[i];
	if (nd->state == SIM_NODE_UP || nd->state == SIM_NODE_LEAVING)
		node_stop(c, nd);
	uint32_t seed;
	if (seeds == NULL) {
		seed = first_up(c, i);
		seeds = &seed;
		nseeds = seed == SIM_NO_NODE ? 0 : 1;
	}
	return sim_cluster_start(c, i, seeds, nseeds);
}

static void leave_done(void *arg, uint64_t life)
{
	struct sim_node *nd = arg;
	if (nd->state == SIM_NODE_LEAVING && nd->life == (uint32_t)life)
		node_stop(nd->c, nd);
}

int sim_cluster_leave(struct sim_cluster *c, uint32_t i)
{
	if (i >= c->n || c->nodes[i].state != SIM_NODE_UP)
		return i >= c->n ? -EINVAL : SHOAL_E_STATE;
	struct sim_node *nd = &c->nodes[i];
	uint64_t now = sim_engine_now(c->e);
	int rc = swim_leave(nd->swim, now);
	if (rc != 0) {
		c->st.swim_errors++;
		return rc;
	}
	nd->state = SIM_NODE_LEAVING;
	node_rearm(nd);
	return sim_engine_at(c->e, now + swim_leave_linger_us(nd->swim), leave_done, nd, nd->life);
}

enum sim_node_state sim_cluster_state(const struct sim_cluster *c, uint32_t i)
{
	return i < c->n ? (enum sim_node_state)c->nodes[i].state : SIM_NODE_IDLE;
}

struct swim *sim_cluster_swim(struct sim_cluster *c, uint32_t i)
{
	return i < c->n ? c->nodes[i].swim : NULL;
}

int sim_cluster_join(struct sim_cluster *c, uint32_t i, const uint32_t *seeds, size_t nseeds)
{
	if (i >= c->n || c->nodes[i].swim == NULL)
		return SHOAL_E_STATE;
	return join_nodes(c, &c->nodes[i], seeds, nseeds);
}

int sim_cluster_set_labels(struct sim_cluster *c, uint32_t i, const struct shoal_label *labels,
                           size_t n)
{
	if (i >= c->n || c->nodes[i].swim == NULL)
		return SHOAL_E_STATE;
	int rc = swim_set_labels(c->nodes[i].swim, sim_engine_now(c->e), labels, n);
	node_rearm(&c->nodes[i]);
	return rc;
}

int sim_cluster_keyring_op(struct sim_cluster *c, uint32_t i, enum swim_key_op op,
                           const uint8_t key[32])
{
	if (i >= c->n || c->nodes[i].swim == NULL)
		return SHOAL_E_STATE;
	int rc = swim_keyring_op(c->nodes[i].swim, sim_engine_now(c->e), op, key);
	node_rearm(&c->nodes[i]);
	return rc;
}

uint32_t sim_cluster_persisted_incarnation(const struct sim_cluster *c, uint32_t i)
{
	return i < c->n ? c->nodes[i].incarnation : 0;
}

/* ---- running ------------------------------------------------------------- */

void sim_cluster_run_for(struct sim_cluster *c, uint64_t us)
{
	sim_engine_run_until(c->e, sim_engine_now(c->e) + us);
}

int sim_cluster_run_until(struct sim_cluster *c, sim_pred_fn pred, void *ctx, uint64_t timeout_us,
                          uint64_t *took)
{
	uint64_t t0 = sim_engine_now(c->e);
	uint64_t deadline = t0 + timeout_us;

	for (;;) {
		uint64_t now = sim_engine_now(c->e);
		if (pred(c, ctx)) {
			if (took != NULL)
				*took = now - t0;
			return 0;
		}
		if (now >= deadline) {
			if (took != NULL)
				*took = timeout_us;
			return -ETIMEDOUT;
		}
		uint64_t next = now + c->cfg.poll_us;
		sim_engine_run_until(c->e, next < deadline ? next : deadline);
	}
}

/* ---- views ---------------------------------------------------------------- */

bool sim_cluster_converged(const struct sim_cluster *c)
{
	uint32_t live = 0;
	for (uint32_t i = 0; i < c->n; i++)
		if (c->nodes[i].state == SIM_NODE_UP)
			live++;
	for (uint32_t i = 0; i < c->n; i++) {
		const struct sim_node *nd = &c->nodes[i];
		if (nd->state != SIM_NODE_UP)
			continue;
		uint32_t counts[4];
		swim_member_counts(nd->swim, counts);
		if (counts[SWIM_ALIVE] != live || counts[SWIM_SUSPECT] != 0)
			return false;
	}
	return true;
}

int sim_cluster_view(const struct sim_cluster *c, uint32_t observer, uint32_t member,
                     struct swim_member_info *out)
{
	if (observer >= c->n || member >= c->n || c->nodes[observer].swim == NULL)
		return SHOAL_E_STATE;
	return swim_member_find(c->nodes[observer].swim, sim_cluster_name(c, member), out);
}

bool sim_cluster_all_see(const struct sim_cluster *c, uint32_t member, enum swim_state state)
{
	for (uint32_t i = 0; i < c->n; i++) {
		struct swim_member_info mi;
		if (i == member || c->nodes[i].state != SIM_NODE_UP)
			continue;
		if (sim_cluster_view(c, i, member, &mi) != 0 || mi.state != state)
			return false;
	}
	return true;
}

const struct sim_log_entry *sim_cluster_log(const struct sim_cluster *c, uint32_t i, size_t *n)
{
	if (i >= c->n) {
		*n = 0;
		return NULL;
	}
	*n = c->nodes[i].log_len;
	return c->nodes[i].log;
}

int sim_cluster_first_event(const struct sim_cluster *c, uint32_t observer, uint32_t member,
                            enum swim_event_type type, uint64_t since, uint64_t *at)
{
	size_t n;
	const struct sim_log_entry *log = sim_cluster_log(c, observer, &n);
	for (size_t k = 0; k < n; k++) {
		if (log[k].type == type && log[k].member == member && log[k].at >= since) {
			*at = log[k].at;
			return 0;
		}
	}
	return SHOAL_E_NOT_FOUND;
}

uint64_t sim_cluster_count_events(const struct sim_cluster *c, enum swim_event_type type,
                                  uint32_t member)
{
	uint64_t count = 0;
	for (uint32_t i = 0; i < c->n; i++) {
		const struct sim_node *nd = &c->nodes[i];
		for (uint32_t k = 0; k < nd->log_len; k++)
			if (nd->log[k].type == type &&
			    (member == SIM_NO_NODE || nd->log[k].member == member))
				count++;
	}
	return count;
}

void sim_cluster_set_lifecycle(struct sim_cluster *c, sim_lifecycle_fn fn, void *ctx)
{
	c->lifecycle = fn;
	c->lifecycle_ctx = ctx;
}

void sim_cluster_set_observer(struct sim_cluster *c, sim_observer_fn fn, void *ctx)
{
	c->observer = fn;
	c->observer_ctx = ctx;
}

void sim_cluster_stats(const struct sim_cluster *c, struct sim_cluster_stats *out)
{
	*out = c->st;
	sim_verify_cache_stats(c->vc, &out->verify_hits, &out->verify_misses);
}

uint64_t sim_cluster_trace(const struct sim_cluster *c)
{
	return sim_engine_trace(c->e);
}

size_t sim_cluster_node_bytes(void)
{
	return sizeof(struct sim_node) + sim_net_node_bytes();
}

size_t sim_cluster_bytes(const struct sim_cluster *c)
{
	size_t b = sizeof(*c) + (size_t)c->cfg.capacity * sim_cluster_node_bytes();
	for (uint32_t i = 0; i < c->cfg.capacity; i++) {
		b += (size_t)c->nodes[i].log_alloc * sizeof(struct sim_log_entry);
		if (c->nodes[i].custom_name != NULL)
			b += strlen(c->nodes[i].custom_name) + 1;
	}
	if (c->labels != NULL)
		b += (size_t)c->cfg.capacity * sizeof(*c->labels);
	return b + sim_verify_cache_bytes(c->vc) + sim_engine_bytes(c->e);
}
