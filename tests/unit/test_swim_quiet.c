/*
 * test_swim_quiet.c - quiet members and bulk user messages, sans-IO: three
 * swims (two full, one whose labels say role=leaf) on the in-test loop of
 * test_swim_pair.c. A member's quiet flag follows its labels through the
 * is_quiet hook; a bulk user message never reaches a quiet member and a
 * datagram to one does not count as one of its transmits; other user
 * messages reach everyone. Bulk messages have a transmit limit of their own.
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
#include <sodium.h>

#include "shoal/error.h"
#include "shoal/mp.h"
#include "shoal/swim.h"

#include "../../gossip/swim_internal.h"

#define NODES_MAX  3
#define USER_MAX   64
#define QUEUE_MAX  4096
#define EVENTS_MAX 256

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

/* The is_quiet hook: a member whose labels hold role=leaf. */
static bool says_leaf(void *ctx, const uint8_t *labels, size_t len)
{
	const uint8_t *pos = labels, *end = labels + len;
	uint32_t count;
	(void)ctx;
	if (shoal_mp_read_map(&pos, end, &count) != 0)
		return false;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *k, *v;
		uint32_t kl, vl;
		if (shoal_mp_read_str(&pos, end, &k, &kl) != 0 ||
		    shoal_mp_read_str(&pos, end, &v, &vl) != 0)
			return false;
		if (kl == 4 && memcmp(k, "role", 4) == 0 && vl == 4 && memcmp(v, "leaf", 4) == 0)
			return true;
	}
	return false;
}

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
	cfg->is_quiet = says_leaf;
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

static void on_user(void *ctx, uint64_t now, const struct shoal_addr *from, const uint8_t *msg,
                    size_t len)
{
	struct node *n = ctx;
	(void)now;
	(void)from;
	if (len > 0 && n->ngot < USER_MAX)
		n->got[n->ngot++] = (char)msg[0];
}

static int got(int node, char kind)
{
	int c = 0;
	for (int i = 0; i < W.n[node].ngot; i++)
		c += W.n[node].got[i] == kind;
	return c;
}

static const struct shoal_label leaf_label[] = {{"role", "leaf"}};
static const struct shoal_label full_label[] = {{"role", "full"}};

/* alpha (0) and beta (1) full, leaf (2) quiet, all joined through alpha,
 * each with a user service that records what it hears. */
static void start_three(bool with_beta)
{
	node_start(0, "alpha", 1, full_label, 1);
	node_start(1, "beta", 2, full_label, 1);
	node_start(2, "leaf", 3, leaf_label, 1);
	if (!with_beta)
		W.n[1].up = false;
	for (int i = 0; i < 3; i++) {
		struct swim_user_hooks h = {.ctx = &W.n[i], .on_message = on_user};
		assert_int_equal(swim_set_user(W.n[i].swim, &h), 0);
	}
	if (with_beta)
		assert_int_equal(swim_join(W.n[1].swim, W.now, &W.n[0].addr, 1), 0);
	assert_int_equal(swim_join(W.n[2].swim, W.now, &W.n[0].addr, 1), 0);
	run_for(3000000);
}

static void test_quiet_follows_labels(void **state)
{
	(void)state;
	start_three(true);
	assert_true(swim_member_quiet(W.n[0].swim, "leaf"));
	assert_true(swim_member_quiet(W.n[1].swim, "leaf"));
	assert_false(swim_member_quiet(W.n[0].swim, "beta"));
	assert_false(swim_member_quiet(W.n[2].swim, "alpha"));
	assert_false(swim_member_quiet(W.n[0].swim, "nobody"));
	/* beta turns leaf, then back: the flag follows its newest record. */
	assert_int_equal(swim_set_labels(W.n[1].swim, W.now, leaf_label, 1), 0);
	run_for(3000000);
	assert_true(swim_member_quiet(W.n[0].swim, "beta"));
	assert_true(swim_member_quiet(W.n[2].swim, "beta"));
	assert_int_equal(swim_set_labels(W.n[1].swim, W.now, full_label, 1), 0);
	run_for(3000000);
	assert_false(swim_member_quiet(W.n[0].swim, "beta"));
}

static void test_bulk_skips_quiet_members(void **state)
{
	(void)state;
	start_three(true);
	static const uint8_t bulk[] = "Bhealth news", normal[] = "Nintent news";
	assert_int_equal(swim_user_broadcast_bulk(W.n[0].swim, 1, bulk, sizeof(bulk)), 0);
	assert_int_equal(swim_user_broadcast(W.n[0].swim, 2, normal, sizeof(normal)), 0);
	run_for(5000000);
	assert_true(got(1, 'B') >= 1);
	assert_true(got(1, 'N') >= 1);
	assert_int_equal(got(2, 'B'), 0); /* never to the leaf */
	assert_true(got(2, 'N') >= 1);
	/* Both were sent their transmits to beta and alpha's queue drained. */
	assert_int_equal(swim_user_queued(W.n[0].swim), 0);
}

static void test_bulk_to_quiet_is_not_a_transmit(void **state)
{
	(void)state;
	start_three(false); /* beta never up: alpha knows only the leaf */
	static const uint8_t bulk[] = "Bhealth news", normal[] = "Nintent news";
	assert_int_equal(swim_user_broadcast_bulk(W.n[0].swim, 1, bulk, sizeof(bulk)), 0);
	assert_int_equal(swim_user_broadcast(W.n[0].swim, 2, normal, sizeof(normal)), 0);
	run_for(5000000);
	assert_int_equal(got(2, 'B'), 0);
	assert_true(got(2, 'N') >= 1);
	/* The normal message used its transmits up; the bulk one is still
	 * waiting for a member that takes it. */
	assert_int_equal(swim_user_queued(W.n[0].swim), 1);
}

/*
 * Bulk messages have their own transmit limit (bulk_retransmit_mult, by
 * default the user messages' mult); other user messages keep theirs. Three
 * members: limit = mult * ceil(log10(3 + 1)) = mult. Every
 * transmit is one datagram to one member and nothing is lost here, so the
 * receivers together hear each message exactly its limit of times (the
 * leaf hears no bulk, and a datagram to it is not a bulk transmit).
 */
static void transmits_with(uint32_t mult, uint32_t bulk_mult, int want_bulk, int want_normal)
{
	start_three(true);
	for (int i = 0; i < 3; i++) {
		struct swim_user_hooks h = {.ctx = &W.n[i],
		                            .on_message = on_user,
		                            .retransmit_mult = mult,
		                            .bulk_retransmit_mult = bulk_mult};
		assert_int_equal(swim_set_user(W.n[i].swim, NULL), 0);
		assert_int_equal(swim_set_user(W.n[i].swim, &h), 0);
	}
	static const uint8_t bulk[] = "Bhealth news", normal[] = "Nintent news";
	assert_int_equal(swim_user_broadcast_bulk(W.n[0].swim, 1, bulk, sizeof(bulk)), 0);
	assert_int_equal(swim_user_broadcast(W.n[0].swim, 2, normal, sizeof(normal)), 0);
	run_for(10000000);
	assert_int_equal(swim_user_queued(W.n[0].swim), 0);
	assert_int_equal(got(1, 'B'), want_bulk);
	assert_int_equal(got(2, 'B'), 0);
	assert_int_equal(got(1, 'N') + got(2, 'N'), want_normal);
}

static void test_bulk_transmit_limit(void **state)
{
	(void)state;
	transmits_with(12, 9, 9, 12);
}

/* A bulk message is sent at least 8 times, or as often as the others when
 * they are sent fewer times than that (a small fleet). */
static void test_bulk_limit_floor(void **state)
{
	(void)state;
	transmits_with(12, 2, 8, 12);
	teardown(NULL);
	setup(NULL);
	transmits_with(4, 2, 4, 4);
}

static void test_bulk_limit_defaults_to_mult(void **state)
{
	(void)state;
	transmits_with(3, 0, 3, 3);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_quiet_follows_labels, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bulk_skips_quiet_members, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bulk_to_quiet_is_not_a_transmit, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_bulk_transmit_limit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bulk_limit_floor, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bulk_limit_defaults_to_mult, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
