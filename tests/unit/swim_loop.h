/*
 * swim_loop.h - the in-test loop that wires two or three swims together,
 * shared by the sans-IO SWIM tests (test_swim_pair.c, test_swim_quiet.c):
 * every datagram and stream message goes into one FIFO and is handed to its
 * receiver at the current virtual time, and the clock jumps to the earliest
 * swim_next_deadline when the FIFO is empty. No loss, no latency.
 *
 * Timers are memberlist's LAN profile divided by 10 (probe 100 ms). A test
 * includes this once, after cmocka and sodium, and uses W, node_start,
 * run_for / run_until and setup / teardown.
 */
#ifndef SHOAL_TESTS_SWIM_LOOP_H
#define SHOAL_TESTS_SWIM_LOOP_H

#define NODES_MAX  3
#define QUEUE_MAX  4096
#define EVENTS_MAX 256
#define USER_MAX   64

struct node;

/* One message in flight. */
struct msg {
	int to;        /* node index */
	int from;      /* node index */
	bool stream;   /* stream message, else datagram */
	uint64_t conv; /* stream id as the receiver sees it */
	size_t len;
	uint8_t *buf;
};

struct event {
	enum swim_event_type type;
	char name[SWIM_NAME_MAX + 1];
	uint32_t inc;
	bool via_probe;
	enum swim_key_op key_op;
};

struct node {
	int idx;
	bool up; /* false: drops everything, never ticks */
	struct swim *swim;
	struct shoal_env env;
	struct shoal_keyring kr;
	struct shoal_addr addr;
	uint64_t rng;
	uint8_t pk[32], sk[64];
	struct event ev[EVENTS_MAX];
	int nev;
	int closes;         /* stream_close calls */
	char got[USER_MAX]; /* first byte of each user message received */
	int ngot;
};

static struct world {
	struct node n[NODES_MAX];
	int count;
	struct swim_pool *pool;
	struct msg q[QUEUE_MAX];
	int qhead, qlen;
	uint64_t now;
	/* swim_config.is_quiet of every node started, or NULL */
	bool (*is_quiet)(void *ctx, const uint8_t *labels, size_t len);
} W;

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static int node_by_addr(const struct shoal_addr *a)
{
	for (int i = 0; i < W.count; i++)
		if (shoal_addr_equal(&W.n[i].addr, a))
			return i;
	return -1;
}

static void enqueue(int from, int to, bool stream, uint64_t conv, const uint8_t *buf, size_t len)
{
	assert_true(W.qlen < QUEUE_MAX);
	struct msg *m = &W.q[(W.qhead + W.qlen++) % QUEUE_MAX];
	m->from = from;
	m->to = to;
	m->stream = stream;
	m->conv = conv;
	m->len = len;
	m->buf = malloc(len);
	assert_non_null(m->buf);
	memcpy(m->buf, buf, len);
}

static void env_send(void *ctx, const struct shoal_addr *to, const uint8_t *buf, size_t len)
{
	struct node *n = ctx;
	assert_true(len <= SWIM_UDP_MAX);
	int t = node_by_addr(to);
	if (t >= 0)
		enqueue(n->idx, t, false, 0, buf, len);
}

/* Like a driver, give every accepted stream its own inbound id: the
 * opener's index and its id, with the inbound bit. Answers on an inbound id
 * go back to the opener under the id it chose. */
static int env_stream_send(void *ctx, uint64_t conv, const struct shoal_addr *to,
                           const uint8_t *buf, size_t len)
{
	struct node *n = ctx;
	int t = node_by_addr(to);
	if (t < 0)
		return -ECONNREFUSED;
	if (conv & SHOAL_CONV_INBOUND)
		enqueue(n->idx, t, true, conv & UINT32_MAX, buf, len);
	else
		enqueue(n->idx, t, true, SHOAL_CONV_INBOUND | ((uint64_t)n->idx << 32) | conv, buf,
		        len);
	return 0;
}

static void env_stream_close(void *ctx, uint64_t conv)
{
	(void)conv;
	((struct node *)ctx)->closes++;
}

static uint64_t env_prng(void *ctx)
{
	return splitmix(&((struct node *)ctx)->rng);
}

static void env_random(void *ctx, uint8_t *buf, size_t len)
{
	struct node *n = ctx;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)splitmix(&n->rng);
}

static void on_event(void *ctx, const struct swim_event *ev)
{
	struct node *n = ctx;
	assert_true(n->nev < EVENTS_MAX);
	struct event *e = &n->ev[n->nev++];
	e->type = ev->type;
	snprintf(e->name, sizeof(e->name), "%s", ev->name);
	e->inc = ev->incarnation;
	e->via_probe = ev->via_probe;
	e->key_op = ev->key_op;
}

static const uint8_t key1[32] = {1, 2, 3, 4, 5, 6, 7, 8};

static void node_config(struct swim_config *cfg, int i, const char *name)
{
	swim_config_defaults(cfg);
	/* These cases time the rules against memberlist's LAN profile (the
	 * comments' periods and timeouts); the defaults' own failure detector
	 * is exercised in test_swim_cluster.c and test_shoalsim_run.c. */
	cfg->probe_interval_us = 1000000;
	cfg->probe_timeout_us = 500000;
	cfg->indirect_checks = 3;
	cfg->suspicion_mult = 4;
	cfg->suspicion_max_mult = 6;
	cfg->suspicion_confirm = 2;
	swim_config_scale(cfg, 10);
	cfg->name = name;
	cfg->advertise = W.n[i].addr;
	cfg->version = "1.0.0";
	memcpy(cfg->site_pk, W.n[i].pk, 32);
	memcpy(cfg->site_sk, W.n[i].sk, 64);
	cfg->on_event = on_event;
	cfg->event_ctx = &W.n[i];
	cfg->is_quiet = W.is_quiet;
}

/* Node i with its own key pair from `key_seed`. */
static void node_start(int i, const char *name, uint8_t key_seed, const struct shoal_label *l,
                       size_t nl)
{
	struct node *n = &W.n[i];
	uint8_t seed[32] = {key_seed};
	struct swim_config cfg;

	memset(n, 0, sizeof(*n));
	n->idx = i;
	n->up = true;
	n->rng = 1000 + (uint64_t)i;
	n->addr.family = 4;
	n->addr.ip[0] = 10;
	n->addr.ip[3] = (uint8_t)(i + 1);
	n->addr.port = 7946;
	crypto_sign_seed_keypair(n->pk, n->sk, seed);
	n->env.ctx = n;
	n->env.send_datagram = env_send;
	n->env.stream_send = env_stream_send;
	n->env.stream_close = env_stream_close;
	n->env.prng = env_prng;
	n->env.random_bytes = env_random;
	shoal_keyring_create(&n->kr);
	assert_int_equal(shoal_keyring_install(&n->kr, key1), 0);
	node_config(&cfg, i, name);
	cfg.labels = l;
	cfg.nlabels = nl;
	assert_int_equal(swim_new(&n->swim, &cfg, &n->env, &n->kr, W.pool, W.now), 0);
	sodium_memzero(cfg.site_sk, sizeof(cfg.site_sk));
	if (i >= W.count)
		W.count = i + 1;
}

static void deliver_all(void)
{
	while (W.qlen > 0) {
		struct msg m = W.q[W.qhead];
		W.qhead = (W.qhead + 1) % QUEUE_MAX;
		W.qlen--;
		struct node *to = &W.n[m.to];
		if (to->up && W.n[m.from].up) {
			if (m.stream)
				swim_on_stream(to->swim, W.now, m.conv, &W.n[m.from].addr, m.buf,
				               m.len);
			else
				swim_on_datagram(to->swim, W.now, &W.n[m.from].addr, m.buf, m.len);
		}
		free(m.buf);
	}
}

/* Run until virtual time `until`. */
static void run_until(uint64_t until)
{
	for (;;) {
		deliver_all();
		uint64_t next = UINT64_MAX;
		for (int i = 0; i < W.count; i++) {
			if (!W.n[i].up)
				continue;
			uint64_t d = swim_next_deadline(W.n[i].swim);
			if (d < next)
				next = d;
		}
		if (next > until) {
			W.now = until;
			return;
		}
		if (next > W.now)
			W.now = next;
		for (int i = 0; i < W.count; i++) {
			if (!W.n[i].up || swim_next_deadline(W.n[i].swim) > W.now)
				continue;
			swim_tick(W.n[i].swim, W.now);
			/* A tick must move every deadline it was due for. */
			assert_true(swim_next_deadline(W.n[i].swim) > W.now);
		}
	}
}

static void run_for(uint64_t us)
{
	run_until(W.now + us);
}

static int setup(void **state)
{
	(void)state;
	memset(&W, 0, sizeof(W));
	W.now = 5000000; /* non-zero start catches "0 means unset" bugs */
	assert_int_equal(swim_pool_new(&W.pool), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < W.count; i++) {
		swim_delete(W.n[i].swim);
		shoal_keyring_destroy(&W.n[i].kr);
	}
	while (W.qlen > 0) {
		free(W.q[W.qhead].buf);
		W.qhead = (W.qhead + 1) % QUEUE_MAX;
		W.qlen--;
	}
	swim_pool_delete(W.pool);
	return 0;
}

#endif
