/*
 * test_sim_engine.c - the simulator's own machinery: event order, clock,
 * random streams, latency models, loss, partitions, cuts, slow nodes,
 * streams, byte counting, signature memo and run-to-run determinism.
 *
 * Statistical checks use enough samples that the tolerance is at least four
 * standard errors, and fixed seeds, so they are exact replays, not flakes.
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
#include <sodium.h>

#include "shoal/error.h"
#include "shoal/sim.h"

/* ---- engine ---------------------------------------------------------------- */

struct fired {
	uint64_t at[4096];   /* clock when each event ran */
	uint64_t data[4096]; /* its data word */
	size_t n;
	struct sim_engine *e;
};

static void record(void *arg, uint64_t data)
{
	struct fired *f = arg;
	f->at[f->n] = sim_engine_now(f->e);
	f->data[f->n] = data;
	f->n++;
}

static void test_heap_order_and_ties(void **state)
{
	(void)state;
	struct sim_engine *e;
	static struct fired f;
	struct sim_rng r;

	memset(&f, 0, sizeof(f));
	assert_int_equal(sim_engine_new(&e, SIM_CLOCK_START, 0), 0);
	f.e = e;
	sim_rng_seed(&r, 7, 0);
	/* 4000 events over only 50 distinct deadlines: plenty of ties. The data
	 * word is the scheduling order. */
	uint64_t when[4000];
	for (uint64_t k = 0; k < 4000; k++) {
		when[k] = SIM_CLOCK_START + 10 * sim_rng_below(&r, 50);
		assert_int_equal(sim_engine_at(e, when[k], record, &f, k), 0);
	}
	assert_int_equal(sim_engine_pending(e), 4000);
	sim_engine_run_until(e, SIM_CLOCK_START + 1000);
	assert_int_equal(f.n, 4000);
	for (size_t k = 0; k < f.n; k++) {
		assert_int_equal(f.at[k], when[f.data[k]]);
		if (k > 0) {
			assert_true(f.at[k - 1] <= f.at[k]);
			if (f.at[k - 1] == f.at[k])
				assert_true(f.data[k - 1] < f.data[k]); /* FIFO among equals */
		}
	}
	assert_int_equal(sim_engine_fired(e), 4000);
	assert_int_equal(sim_engine_pending(e), 0);
	assert_int_equal(sim_engine_step(e), SHOAL_E_NOT_FOUND);
	sim_engine_delete(e);
}

static void schedule_more(void *arg, uint64_t data)
{
	struct fired *f = arg;
	record(arg, data);
	if (data < 5) /* an event scheduling another at the same instant */
		sim_engine_at(f->e, sim_engine_now(f->e), schedule_more, f, data + 1);
}

static void test_clock_start_and_past(void **state)
{
	(void)state;
	struct sim_engine *e;
	static struct fired f;
	uint64_t at;

	memset(&f, 0, sizeof(f));
	assert_int_equal(sim_engine_new(&e, SIM_CLOCK_START, 0), 0);
	f.e = e;
	/* Non-zero start catches code that treats 0 as "unset". */
	assert_int_equal(sim_engine_now(e), SIM_CLOCK_START);
	assert_true(SIM_CLOCK_START >= UINT64_C(1000000000000));
	assert_int_equal(sim_engine_peek(e, &at), SHOAL_E_NOT_FOUND);

	/* Running with nothing queued still moves the clock. */
	sim_engine_run_until(e, SIM_CLOCK_START + SIM_SEC(3));
	assert_int_equal(sim_engine_now(e), SIM_CLOCK_START + SIM_SEC(3));

	/* A deadline in the past runs now, and is counted. */
	assert_int_equal(sim_engine_at(e, 5, record, &f, 99), 0);
	assert_int_equal(sim_engine_late(e), 1);
	assert_int_equal(sim_engine_peek(e, &at), 0);
	assert_int_equal(at, SIM_CLOCK_START + SIM_SEC(3));
	assert_int_equal(sim_engine_step(e), 0);
	assert_int_equal(f.at[0], SIM_CLOCK_START + SIM_SEC(3));

	/* Events scheduled by events at the same instant run in the same
	 * run_until, and the clock never goes backwards. */
	sim_engine_at(e, sim_engine_now(e) + 10, schedule_more, &f, 0);
	sim_engine_run_until(e, sim_engine_now(e) + 10);
	assert_int_equal(f.n, 7);
	assert_int_equal(f.data[6], 5);
	sim_engine_delete(e);
}

static void test_engine_cap(void **state)
{
	(void)state;
	struct sim_engine *e;
	static struct fired f;
	assert_int_equal(sim_engine_new(&e, SIM_CLOCK_START, 3), 0);
	f.e = e;
	assert_int_equal(sim_engine_at(e, SIM_CLOCK_START, record, &f, 0), 0);
	assert_int_equal(sim_engine_at(e, SIM_CLOCK_START, record, &f, 1), 0);
	assert_int_equal(sim_engine_at(e, SIM_CLOCK_START, record, &f, 2), 0);
	assert_int_equal(sim_engine_at(e, SIM_CLOCK_START, record, &f, 3), SHOAL_E_TOO_BIG);
	sim_engine_delete(e);
}

/* ---- rng ------------------------------------------------------------------ */

static void test_rng_determinism(void **state)
{
	(void)state;
	struct sim_rng a, b, c;
	uint8_t ba[37], bb[37];

	sim_rng_seed(&a, 42, SIM_RNG_STREAM(SIM_RNG_PRNG, 3));
	sim_rng_seed(&b, 42, SIM_RNG_STREAM(SIM_RNG_PRNG, 3));
	sim_rng_seed(&c, 42, SIM_RNG_STREAM(SIM_RNG_PRNG, 4));
	int same_as_c = 0;
	for (int k = 0; k < 1000; k++) {
		uint64_t va = sim_rng_next(&a), vb = sim_rng_next(&b), vc = sim_rng_next(&c);
		assert_int_equal(va, vb);
		same_as_c += va == vc;
	}
	assert_int_equal(same_as_c, 0); /* streams of neighbouring nodes differ */

	sim_rng_seed(&a, 43, SIM_RNG_STREAM(SIM_RNG_PRNG, 3));
	sim_rng_seed(&b, 42, SIM_RNG_STREAM(SIM_RNG_PRNG, 3));
	assert_int_not_equal(sim_rng_next(&a), sim_rng_next(&b)); /* seeds differ */

	sim_rng_seed(&a, 9, 1);
	sim_rng_seed(&b, 9, 1);
	sim_rng_bytes(&a, ba, sizeof(ba));
	sim_rng_bytes(&b, bb, sizeof(bb));
	assert_memory_equal(ba, bb, sizeof(ba));

	/* Ranges. */
	uint64_t hist[10] = {0};
	for (int k = 0; k < 100000; k++) {
		double d = sim_rng_double(&a);
		assert_true(d >= 0.0 && d < 1.0);
		uint64_t v = sim_rng_below(&a, 10);
		assert_true(v < 10);
		hist[v]++;
	}
	/* Each bucket expects 10000 (sd ~95): 500 is over five sd. */
	for (int k = 0; k < 10; k++)
		assert_true(hist[k] > 9500 && hist[k] < 10500);
}

/* ---- latency models ------------------------------------------------------ */

static void test_latency_distributions(void **state)
{
	(void)state;
	struct sim_rng r;
	const int n = 200000;
	sim_rng_seed(&r, 1234, 0);

	struct sim_latency cst = {.kind = SIM_LAT_CONST, .a_us = 1500};
	for (int k = 0; k < 100; k++)
		assert_int_equal(sim_latency_sample(&cst, &r), 1500);

	/* Uniform [1000, 5000]: mean 3000, sd 1155; the standard error of the
	 * mean over 200k samples is ~2.6 us, so 1 % (30 us) is ~11 se. */
	struct sim_latency uni = {.kind = SIM_LAT_UNIFORM, .a_us = 1000, .b_us = 5000};
	double sum = 0;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (int k = 0; k < n; k++) {
		uint64_t v = sim_latency_sample(&uni, &r);
		sum += (double)v;
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	assert_true(lo >= 1000 && hi <= 5000);
	assert_true(lo < 1010 && hi > 4990);
	assert_true(fabs(sum / n - 3000.0) < 30.0);

	/* Lognormal median 2 ms, sigma 0.5: mean 2 ms * e^(0.125) = 2266 us.
	 * sd of one sample ~1208 us -> se ~2.7 us; allow 1 % (~8 se). The
	 * median is checked by counting samples below it. */
	struct sim_latency ln = {.kind = SIM_LAT_LOGNORMAL, .a_us = 2000, .sigma = 0.5};
	double expect = 2000.0 * exp(0.125);
	int below = 0;
	sum = 0;
	for (int k = 0; k < n; k++) {
		uint64_t v = sim_latency_sample(&ln, &r);
		sum += (double)v;
		below += v < 2000;
	}
	assert_true(fabs(sum / n - expect) < expect * 0.01);
	/* Binomial(200k, 0.5): sd ~224; 1 % is ~9 sd. */
	assert_true(abs(below - n / 2) < n / 100);

	/* The cap bounds the tail. */
	struct sim_latency capped = {
	        .kind = SIM_LAT_LOGNORMAL, .a_us = 2000, .b_us = 3000, .sigma = 1.0};
	for (int k = 0; k < 10000; k++)
		assert_true(sim_latency_sample(&capped, &r) <= 3000);
}

/* ---- network --------------------------------------------------------------- */

struct delivery {
	uint64_t at;
	uint32_t to, from;
	uint64_t conv; /* stream only */
	size_t len;
	uint8_t first; /* first byte, to check order */
	bool stream;
};

struct rig {
	struct sim_engine *e;
	struct sim_net *net;
	struct delivery d[8192];
	size_t nd;
	struct {
		uint32_t node;
		uint64_t conv;
		uint64_t at;
	} err[64];
	size_t nerr;
	uint64_t trace_ctr; /* determinism workload: messages left */
	struct sim_rng wl;  /* determinism workload choices */
};

static void rig_datagram(void *ctx, uint32_t to, uint32_t from, const uint8_t *buf, size_t len)
{
	struct rig *g = ctx;
	if (g->nd < 8192)
		g->d[g->nd++] = (struct delivery){sim_engine_now(g->e), to,   from, 0, len,
		                                  len ? buf[0] : 0,     false};
}

static void rig_stream(void *ctx, uint32_t to, uint64_t conv, uint32_t from, const uint8_t *buf,
                       size_t len)
{
	struct rig *g = ctx;
	if (g->nd < 8192)
		g->d[g->nd++] = (struct delivery){sim_engine_now(g->e), to,  from, conv, len,
		                                  len ? buf[0] : 0,     true};
}

static void rig_stream_error(void *ctx, uint32_t node, uint64_t conv)
{
	struct rig *g = ctx;
	if (g->nerr < 64) {
		g->err[g->nerr].node = node;
		g->err[g->nerr].conv = conv;
		g->err[g->nerr].at = sim_engine_now(g->e);
		g->nerr++;
	}
}

static const struct sim_net_ops rig_ops = {rig_datagram, rig_stream, rig_stream_error};

static struct rig *rig_new(uint32_t nodes, const struct sim_latency *lat, double loss,
                           uint64_t seed)
{
	struct rig *g = calloc(1, sizeof(*g));
	assert_non_null(g);
	struct sim_net_config cfg = {
	        .latency = *lat, .loss = loss, .stream_fail_us = SIM_SEC(1), .seed = seed};
	assert_int_equal(sim_engine_new(&g->e, SIM_CLOCK_START, 0), 0);
	assert_int_equal(sim_net_new(&g->net, g->e, nodes, &cfg, &rig_ops, g), 0);
	return g;
}

static void rig_delete(struct rig *g)
{
	sim_net_delete(g->net);
	sim_engine_delete(g->e);
	free(g);
}

static void send_dgram(struct rig *g, uint32_t from, uint32_t to, uint8_t tag, size_t len)
{
	uint8_t buf[1400];
	struct shoal_addr a;
	memset(buf, tag, sizeof(buf));
	sim_net_addr(to, &a);
	assert_int_equal(sim_net_send_datagram(g->net, from, &a, buf, len), 0);
}

static const struct sim_latency lat_1ms = {.kind = SIM_LAT_CONST, .a_us = 1000};

static void test_addresses(void **state)
{
	(void)state;
	struct rig *g = rig_new(70000, &lat_1ms, 0.0, 1);
	struct shoal_addr a;
	uint32_t node;
	char text[SHOAL_ADDR_STRLEN];

	sim_net_addr(65793, &a);
	assert_int_equal(shoal_addr_format(&a, text, sizeof(text)), 0);
	assert_string_equal(text, "10.1.1.1:7946");
	assert_int_equal(sim_net_node_of(g->net, &a, &node), 0);
	assert_int_equal(node, 65793);
	sim_net_addr(70000, &a); /* one past the last node */
	assert_int_equal(sim_net_node_of(g->net, &a, &node), SHOAL_E_NOT_FOUND);
	rig_delete(g);
}

static void test_latency_and_byte_counting(void **state)
{
	(void)state;
	struct rig *g = rig_new(3, &lat_1ms, 0.0, 1);
	uint64_t t0 = sim_engine_now(g->e);

	send_dgram(g, 0, 1, 'a', 100);
	send_dgram(g, 0, 2, 'b', 200);
	send_dgram(g, 1, 0, 'c', 1400);
	sim_engine_run_until(g->e, t0 + 999);
	assert_int_equal(g->nd, 0); /* nothing before the 1 ms latency */
	sim_engine_run_until(g->e, t0 + 1000);
	assert_int_equal(g->nd, 3);
	for (size_t k = 0; k < 3; k++)
		assert_int_equal(g->d[k].at, t0 + 1000);

	const struct sim_net_counters *c0 = sim_net_counters(g->net, 0);
	const struct sim_net_counters *c1 = sim_net_counters(g->net, 1);
	const struct sim_net_counters *c2 = sim_net_counters(g->net, 2);
	assert_int_equal(c0->dgrams_sent, 2);
	assert_int_equal(c0->dgram_bytes_sent, 300);
	assert_int_equal(c0->dgrams_recv, 1);
	assert_int_equal(c0->dgram_bytes_recv, 1400);
	assert_int_equal(c1->dgrams_sent, 1);
	assert_int_equal(c1->dgram_bytes_recv, 100);
	assert_int_equal(c2->dgram_bytes_recv, 200);

	/* A per-link latency overrides the default on that direction only. */
	struct sim_latency slow = {.kind = SIM_LAT_CONST, .a_us = 50000};
	assert_int_equal(sim_net_set_link_latency(g->net, 0, 1, &slow), 0);
	g->nd = 0;
	t0 = sim_engine_now(g->e);
	send_dgram(g, 0, 1, 'd', 10);
	send_dgram(g, 1, 0, 'e', 10);
	sim_engine_run_until(g->e, t0 + SIM_SEC(1));
	assert_int_equal(g->nd, 2);
	assert_int_equal(g->d[0].to, 0);
	assert_int_equal(g->d[0].at, t0 + 1000);
	assert_int_equal(g->d[1].to, 1);
	assert_int_equal(g->d[1].at, t0 + 50000);
	assert_int_equal(sim_net_set_link_latency(g->net, 0, 1, NULL), 0);

	struct sim_net_counters tot;
	sim_net_totals(g->net, &tot);
	assert_int_equal(tot.dgrams_sent, tot.dgrams_recv);
	assert_int_equal(tot.dgram_bytes_sent, tot.dgram_bytes_recv);
	rig_delete(g);
}

/* Latency tiers: a packet draws from the innermost tier both ends share. */
static void test_latency_tiers(void **state)
{
	(void)state;
	struct rig *g = rig_new(4, &lat_1ms, 0.0, 1);
	const struct sim_latency tiers[2] = {
	        {.kind = SIM_LAT_CONST, .a_us = 100},  /* same rack */
	        {.kind = SIM_LAT_CONST, .a_us = 2000}, /* same region */
	};
	const struct sim_latency other = {.kind = SIM_LAT_UNIFORM, .a_us = 70000, .b_us = 90000};
	/* racks 0 0 1 2; regions 0 0 0 1 */
	const uint16_t rack[4] = {0, 0, 1, 2}, region[4] = {0, 0, 0, 1};
	assert_int_equal(sim_net_set_tiers(g->net, 2, tiers, &other), 0);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(sim_net_set_place(g->net, i, 0, rack[i]), 0);
		assert_int_equal(sim_net_set_place(g->net, i, 1, region[i]), 0);
	}
	assert_int_equal(sim_net_set_place(g->net, 4, 0, 0), -EINVAL);
	assert_int_equal(sim_net_set_place(g->net, 0, SIM_NET_TIERS_MAX, 0), -EINVAL);
	assert_int_equal(sim_net_set_tiers(g->net, SIM_NET_TIERS_MAX + 1, tiers, &other), -EINVAL);

	uint64_t t0 = sim_engine_now(g->e);
	send_dgram(g, 0, 1, 'r', 10); /* same rack */
	send_dgram(g, 0, 2, 'g', 10); /* same region, other rack */
	sim_engine_run_until(g->e, t0 + SIM_SEC(1));
	assert_int_equal(g->nd, 2);
	assert_int_equal(g->d[0].to, 1);
	assert_int_equal(g->d[0].at, t0 + 100);
	assert_int_equal(g->d[1].to, 2);
	assert_int_equal(g->d[1].at, t0 + 2000);

	/* Across regions: drawn per packet from `other`, so they differ. */
	g->nd = 0;
	t0 = sim_engine_now(g->e);
	for (int k = 0; k < 20; k++)
		send_dgram(g, 3, 0, 'o', 10);
	sim_engine_run_until(g->e, t0 + SIM_SEC(1));
	assert_int_equal(g->nd, 20);
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t k = 0; k < g->nd; k++) {
		uint64_t d = g->d[k].at - t0;
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_true(lo >= 70000 && hi <= 90000 && hi > lo);

	/* A per-link latency still overrides the tiers; no tiers = default. */
	struct sim_latency slow = {.kind = SIM_LAT_CONST, .a_us = 50000};
	assert_int_equal(sim_net_set_link_latency(g->net, 0, 1, &slow), 0);
	assert_int_equal(sim_net_set_tiers(g->net, 0, NULL, NULL), 0);
	g->nd = 0;
	t0 = sim_engine_now(g->e);
	send_dgram(g, 0, 1, 'l', 10);
	send_dgram(g, 3, 0, 'd', 10);
	sim_engine_run_until(g->e, t0 + SIM_SEC(1));
	assert_int_equal(g->nd, 2);
	assert_int_equal(g->d[0].at, t0 + 1000);
	assert_int_equal(g->d[1].at, t0 + 50000);
	rig_delete(g);
}

static void test_loss_rate(void **state)
{
	(void)state;
	const int n = 40000;
	struct rig *g = rig_new(3, &lat_1ms, 0.2, 5);

	for (int k = 0; k < n; k++) {
		send_dgram(g, 0, 1, 'x', 10);
		if (g->nd > 4000) { /* keep the recorder small */
			sim_engine_run_until(g->e, sim_engine_now(g->e) + SIM_MS(2));
			g->nd = 0;
		}
	}
	sim_engine_run_until(g->e, sim_engine_now(g->e) + SIM_MS(2));
	const struct sim_net_counters *c0 = sim_net_counters(g->net, 0);
	const struct sim_net_counters *c1 = sim_net_counters(g->net, 1);
	double lost = (double)c0->dropped_loss / n;
	/* Binomial sd sqrt(.2*.8/40000) = 0.002; 0.01 is five sd. */
	assert_true(fabs(lost - 0.2) < 0.01);
	assert_int_equal(c0->dropped_loss + c1->dgrams_recv, n);

	/* Link loss 0.5 on top of global 0.2: independent, 1-.8*.5 = 0.6. */
	assert_int_equal(sim_net_set_link_loss(g->net, 0, 2, 0.5), 0);
	uint64_t before = c0->dropped_loss;
	for (int k = 0; k < n; k++) {
		send_dgram(g, 0, 2, 'y', 10);
		if (k % 4000 == 0) {
			sim_engine_run_until(g->e, sim_engine_now(g->e) + SIM_MS(2));
			g->nd = 0;
		}
	}
	lost = (double)(c0->dropped_loss - before) / n;
	assert_true(fabs(lost - 0.6) < 0.0125); /* sd 0.00245 */
	assert_int_equal(sim_net_set_link_loss(g->net, 0, 2, 1.5), -EINVAL);
	rig_delete(g);
}

static void test_partition_and_heal(void **state)
{
	(void)state;
	struct rig *g = rig_new(4, &lat_1ms, 0.0, 1);

	sim_net_set_group(g->net, 2, 1);
	sim_net_set_group(g->net, 3, 1);
	assert_true(sim_net_reachable(g->net, 0, 1));
	assert_true(sim_net_reachable(g->net, 2, 3));
	assert_false(sim_net_reachable(g->net, 0, 2));
	assert_false(sim_net_reachable(g->net, 3, 1));
	send_dgram(g, 0, 1, 'a', 10);
	send_dgram(g, 0, 2, 'b', 10);
	send_dgram(g, 3, 2, 'c', 10);
	send_dgram(g, 3, 1, 'd', 10);
	sim_engine_run_until(g->e, sim_engine_now(g->e) + SIM_MS(5));
	assert_int_equal(g->nd, 2);
	assert_int_equal(g->d[0].first, 'a');
	assert_int_equal(g->d[1].first, 'c');
	assert_int_equal(sim_net_counters(g->net, 0)->dropped_blocked, 1);
	assert_int_equal(sim_net_counters(g->net, 3)->dropped_blocked, 1);

	sim_net_heal(g->net);
	assert_true(sim_net_reachable(g->net, 0, 2));
	g->nd = 0;
	send_dgram(g, 0, 2, 'e', 10);
	sim_engine_run_until(g->e, sim_engine_now(g->e) + SIM_MS(5));
	assert_int_equal(g->nd, 1);

	/* A partition starting while a packet is in the air loses it. */
	g->nd = 0;
	send_dgram(g, 0, 2, 'f', 10);
	sim_engine_run_until(g->e, sim_engine_now(g->e) + 500);
	sim_net_set_group(g->net, 2, 7);
	sim_engine_run_until(g->e, sim_engine_now(g->e) + SIM_MS(5));
	assert_int_equal(g->nd, 0);
	assert_int_equal(sim_net_counters(g->net, 0)->dropped_blocked, 2);
	rig_delete(g);
}

static void test_one_way_cut(void **state)
{
	(void)state;
	struct rig *g = rig_new(2, &lat_1ms, 0.0, 1);

	assert_int_equal(sim_net_cut(g->net, 0, 1, true), 0);
	assert_false(sim_net_reachable(g->net, 0, 1));
	assert_true(sim_net_reachable(g->net, 1, 0));
	send_dgram(g, 0, 1, 'a', 10);
	send_dgram(g, 1, 0, 'b', 10);
	sim_engine_run_until(g->e, sim_engine_now(g->e) + SIM_MS(5));
	assert_int_equal(g->nd, 1);
	assert_int_equal(g->d[0].first, 'b');
	assert_int_equal(g->d[0].to, 0);

	/* A cut is independent of partitions: heal leaves it, uncut lifts it. */
	sim_net_heal(g->net);
	assert_false(sim_net_reachable(g->net, 0, 1));
	assert_int_equal(sim_net_cut(g->net, 0, 1, false), 0);
	g->nd = 0;
	send_dgram(g, 0, 1, 'c', 10);
	sim_engine_run_until(g->e, sim_engine_now(g->e) + SIM_MS(5));
	assert_int_equal(g->nd, 1);
	rig_delete(g);
}

static void test_down_and_slow(void **state)
{
	(void)state;
	struct rig *g = rig_new(2, &lat_1ms, 0.0, 1);
	uint64_t t0 = sim_engine_now(g->e);

	sim_net_set_up(g->net, 1, false);
	send_dgram(g, 0, 1, 'a', 10);
	send_dgram(g, 1, 0, 'b', 10); /* a down node sends nothing */
	sim_engine_run_until(g->e, t0 + SIM_MS(5));
	assert_int_equal(g->nd, 0);
	assert_int_equal(sim_net_counters(g->net, 0)->dropped_down, 1);
	assert_int_equal(sim_net_counters(g->net, 1)->dgrams_sent, 0);
	sim_net_set_up(g->net, 1, true);

	/* Slow receiver: arrivals before `until` are handled 100 ms late. */
	t0 = sim_engine_now(g->e);
	sim_net_slow(g->net, 1, SIM_MS(100), t0 + SIM_MS(50));
	send_dgram(g, 0, 1, 'c', 10);
	send_dgram(g, 1, 0, 'd', 10); /* its own sends are not delayed */
	sim_engine_run_until(g->e, t0 + SIM_MS(200));
	assert_int_equal(g->nd, 2);
	assert_int_equal(g->d[0].first, 'd');
	assert_int_equal(g->d[0].at, t0 + 1000);
	assert_int_equal(g->d[1].at, t0 + 1000 + SIM_MS(100));
	/* After the window, normal again. */
	g->nd = 0;
	t0 = sim_engine_now(g->e);
	send_dgram(g, 0, 1, 'e', 10);
	sim_engine_run_until(g->e, t0 + SIM_MS(5));
	assert_int_equal(g->nd, 1);
	assert_int_equal(g->d[0].at, t0 + 1000);
	rig_delete(g);
}

static void stream_send(struct rig *g, uint32_t from, uint64_t conv, uint32_t to, uint8_t tag,
                        size_t len, int expect)
{
	uint8_t buf[4096];
	struct shoal_addr a;
	memset(buf, tag, sizeof(buf));
	sim_net_addr(to, &a);
	assert_int_equal(sim_net_stream_send(g->net, from, conv, &a, buf, len), expect);
}

static void test_streams_ordered_and_answered(void **state)
{
	(void)state;
	/* Widely varying latency: datagrams would reorder, streams must not. */
	struct sim_latency wild = {.kind = SIM_LAT_UNIFORM, .a_us = 1000, .b_us = 50000};
	struct rig *g = rig_new(2, &wild, 0.5, 3);

	for (int k = 0; k < 100; k++)
		stream_send(g, 0, 7, 1, (uint8_t)k, 100 + (size_t)k, 0);
	sim_engine_run_until(g->e, sim_engine_now(g->e) + SIM_SEC(1));
	assert_int_equal(g->nd, 100); /* loss never touches streams */
	uint64_t inbound = g->d[0].conv;
	assert_true(inbound & SHOAL_CONV_INBOUND);
	for (int k = 0; k < 100; k++) {
		assert_true(g->d[k].stream);
		assert_int_equal(g->d[k].first, (uint8_t)k);
		assert_int_equal(g->d[k].to, 1);
		assert_int_equal(g->d[k].from, 0);
		assert_int_equal(g->d[k].conv, inbound);
		if (k > 0)
			assert_true(g->d[k - 1].at <= g->d[k].at);
	}
	/* The acceptor answers on its inbound id; the opener sees its own id. */
	g->nd = 0;
	stream_send(g, 1, inbound, 0, 'r', 50, 0);
	sim_engine_run_until(g->e, sim_engine_now(g->e) + SIM_SEC(1));
	assert_int_equal(g->nd, 1);
	assert_int_equal(g->d[0].to, 0);
	assert_int_equal(g->d[0].conv, 7);

	const struct sim_net_counters *c0 = sim_net_counters(g->net, 0);
	const struct sim_net_counters *c1 = sim_net_counters(g->net, 1);
	assert_int_equal(c0->stream_msgs_sent, 100);
	assert_int_equal(c0->stream_bytes_sent, 100 * 100 + 99 * 100 / 2);
	assert_int_equal(c1->stream_bytes_recv, c0->stream_bytes_sent);
	assert_int_equal(c1->stream_msgs_sent, 1);
	assert_int_equal(c0->stream_bytes_recv, 50);

	/* Unknown inbound ids are refused; closing both ends frees the stream. */
	stream_send(g, 1, SHOAL_CONV_INBOUND | 999, 0, 'z', 1, -ENOTCONN);
	assert_int_equal(sim_net_streams(g->net), 1);
	sim_net_stream_close(g->net, 1, inbound);
	stream_send(g, 1, inbound, 0, 'z', 1, -ENOTCONN); /* closed: gone */
	sim_net_stream_close(g->net, 0, 7);
	assert_int_equal(sim_net_streams(g->net), 0);
	assert_int_equal(g->nerr, 0);
	rig_delete(g);
}

static void test_streams_broken_by_cut_and_crash(void **state)
{
	(void)state;
	struct rig *g = rig_new(3, &lat_1ms, 0.0, 1);
	uint64_t t0 = sim_engine_now(g->e);

	/* Established 0 <-> 1, then 1 -> 0 is cut: 1's answer breaks it and
	 * both ends (whose cores know the conversation) hear after 1 s. */
	stream_send(g, 0, 1, 1, 'a', 10, 0);
	sim_engine_run_until(g->e, t0 + SIM_MS(5));
	assert_int_equal(g->nd, 1);
	uint64_t inbound = g->d[0].conv;
	assert_int_equal(sim_net_cut(g->net, 1, 0, true), 0);
	stream_send(g, 1, inbound, 0, 'b', 10, 0);
	uint64_t tcut = sim_engine_now(g->e);
	sim_engine_run_until(g->e, tcut + SIM_MS(999));
	assert_int_equal(g->nerr, 0);
	sim_engine_run_until(g->e, tcut + SIM_SEC(1));
	assert_int_equal(g->nerr, 2);
	for (size_t k = 0; k < 2; k++) {
		assert_int_equal(g->err[k].at, tcut + SIM_SEC(1));
		if (g->err[k].node == 0)
			assert_int_equal(g->err[k].conv, 1);
		else
			assert_int_equal(g->err[k].conv, inbound);
	}
	assert_int_equal(sim_net_streams(g->net), 0);
	/* Further sends on the broken conversation are refused at once. */
	stream_send(g, 0, 1, 1, 'c', 10, 0); /* id 1 is free again: a new stream */
	sim_engine_run_until(g->e, sim_engine_now(g->e) + SIM_MS(5));
	assert_int_equal(g->nd, 2);
	sim_net_stream_close(g->net, 0, 1);
	sim_net_stream_close(g->net, 1, g->d[1].conv);
	assert_int_equal(sim_net_streams(g->net), 0);
	sim_net_cut(g->net, 1, 0, false);

	/* A message to a crashed peer: the sender hears, the dead end does not. */
	g->nerr = 0;
	sim_net_set_up(g->net, 2, false);
	stream_send(g, 0, 9, 2, 'd', 10, 0);
	stream_send(g, 0, 9, 2, 'e', 10, -EPIPE); /* already broken */
	sim_engine_run_until(g->e, sim_engine_now(g->e) + SIM_SEC(2));
	assert_int_equal(g->nerr, 0); /* the sync -EPIPE retired this end */

	stream_send(g, 0, 10, 2, 'd', 10, 0);
	sim_engine_run_until(g->e, sim_engine_now(g->e) + SIM_SEC(2));
	assert_int_equal(g->nerr, 1);
	assert_int_equal(g->err[0].node, 0);
	assert_int_equal(g->err[0].conv, 10);

	/* A crash while a conversation is open: the survivor hears. */
	sim_net_set_up(g->net, 2, true);
	g->nerr = 0;
	g->nd = 0;
	stream_send(g, 0, 11, 2, 'f', 10, 0);
	sim_engine_run_until(g->e, sim_engine_now(g->e) + SIM_MS(5));
	assert_int_equal(g->nd, 1);
	sim_net_set_up(g->net, 2, false);
	sim_engine_run_until(g->e, sim_engine_now(g->e) + SIM_SEC(2));
	assert_int_equal(g->nerr, 1);
	assert_int_equal(g->err[0].node, 0);
	assert_int_equal(sim_net_counters(g->net, 0)->stream_errors, 3);

	/* A stream to an address no node has fails like a connect timeout. */
	struct shoal_addr nowhere;
	assert_int_equal(shoal_addr_parse(&nowhere, "192.0.2.1:7946"), 0);
	g->nerr = 0;
	assert_int_equal(sim_net_stream_send(g->net, 0, 12, &nowhere, (const uint8_t *)"x", 1), 0);
	sim_engine_run_until(g->e, sim_engine_now(g->e) + SIM_SEC(2));
	assert_int_equal(g->nerr, 1);
	assert_int_equal(g->err[0].conv, 12);
	assert_int_equal(sim_net_streams(g->net), 0);
	rig_delete(g);
}

/* Determinism workload: every delivery makes the receiver send to a node
 * its own stream picks, with lognormal latency and 10 % loss. */
static void wl_datagram(void *ctx, uint32_t to, uint32_t from, const uint8_t *buf, size_t len)
{
	struct rig *g = ctx;
	(void)from;
	(void)buf;
	if (g->trace_ctr == 0)
		return;
	g->trace_ctr--;
	uint32_t dst = (uint32_t)sim_rng_below(&g->wl, sim_net_size(g->net));
	uint8_t out[64];
	struct shoal_addr a;
	sim_rng_bytes(&g->wl, out, sizeof(out));
	sim_net_addr(dst, &a);
	sim_net_send_datagram(g->net, to, &a, out, 1 + (len + out[0]) % 63);
	sim_net_send_datagram(g->net, to, &a, out, 8);
}

static uint64_t run_workload(uint64_t seed, struct sim_net_counters *tot)
{
	static const struct sim_net_ops ops = {wl_datagram, rig_stream, rig_stream_error};
	struct sim_latency ln = {.kind = SIM_LAT_LOGNORMAL, .a_us = 2000, .sigma = 0.8};
	struct sim_net_config cfg = {
	        .latency = ln, .loss = 0.1, .stream_fail_us = SIM_SEC(1), .seed = seed};
	struct rig *g = calloc(1, sizeof(*g));
	assert_non_null(g);
	assert_int_equal(sim_engine_new(&g->e, SIM_CLOCK_START, 0), 0);
	assert_int_equal(sim_net_new(&g->net, g->e, 50, &cfg, &ops, g), 0);
	sim_rng_seed(&g->wl, seed, 77);
	g->trace_ctr = 20000;
	for (uint32_t k = 0; k < 50; k++)
		send_dgram(g, k, (k + 1) % 50, 's', 20);
	sim_engine_run_until(g->e, sim_engine_now(g->e) + SIM_SEC(600));
	uint64_t h = sim_engine_trace(g->e);
	sim_net_totals(g->net, tot);
	sim_net_delete(g->net);
	sim_engine_delete(g->e);
	free(g);
	return h;
}

static void test_determinism_trace(void **state)
{
	(void)state;
	struct sim_net_counters a, b, c;
	uint64_t h1 = run_workload(11, &a);
	uint64_t h2 = run_workload(11, &b);
	uint64_t h3 = run_workload(12, &c);
	assert_int_equal(h1, h2);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_true(a.dgrams_recv > 10000); /* the workload really ran */
	assert_int_not_equal(h1, h3);
}

/* ---- signature memo ------------------------------------------------------ */

static void test_verify_cache(void **state)
{
	(void)state;
	struct sim_verify_cache *vc;
	uint8_t pk[32], sk[64], sig[64], seed[32] = {1};
	uint8_t msg[100];
	uint64_t hits, misses;

	memset(msg, 'm', sizeof(msg));
	crypto_sign_seed_keypair(pk, sk, seed);
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
	assert_int_equal(sim_verify_cache_new(&vc, 100), 0);
	for (int k = 0; k < 5; k++)
		assert_int_equal(sim_verify_cache_check(vc, sig, msg, sizeof(msg), pk), 0);
	sim_verify_cache_stats(vc, &hits, &misses);
	assert_int_equal(misses, 1);
	assert_int_equal(hits, 4);
	/* A tampered message is its own entry, and is refused every time. */
	msg[3] ^= 1;
	for (int k = 0; k < 3; k++)
		assert_int_equal(sim_verify_cache_check(vc, sig, msg, sizeof(msg), pk),
		                 SHOAL_E_SIGNATURE);
	sim_verify_cache_stats(vc, &hits, &misses);
	assert_int_equal(misses, 2);
	/* Far more distinct entries than slots: still right, memory fixed. */
	size_t bytes = sim_verify_cache_bytes(vc);
	for (int k = 0; k < 2000; k++) {
		msg[0] = (uint8_t)k;
		msg[1] = (uint8_t)(k >> 8);
		int expect = crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) == 0
		                     ? 0
		                     : SHOAL_E_SIGNATURE;
		assert_int_equal(sim_verify_cache_check(vc, sig, msg, sizeof(msg), pk), expect);
	}
	assert_int_equal(sim_verify_cache_bytes(vc), bytes);
	sim_verify_cache_delete(vc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_heap_order_and_ties),
	        cmocka_unit_test(test_clock_start_and_past),
	        cmocka_unit_test(test_engine_cap),
	        cmocka_unit_test(test_rng_determinism),
	        cmocka_unit_test(test_latency_distributions),
	        cmocka_unit_test(test_addresses),
	        cmocka_unit_test(test_latency_and_byte_counting),
	        cmocka_unit_test(test_loss_rate),
	        cmocka_unit_test(test_partition_and_heal),
	        cmocka_unit_test(test_one_way_cut),
	        cmocka_unit_test(test_down_and_slow),
	        cmocka_unit_test(test_streams_ordered_and_answered),
	        cmocka_unit_test(test_streams_broken_by_cut_and_crash),
	        cmocka_unit_test(test_determinism_trace),
	        cmocka_unit_test(test_latency_tiers),
	        cmocka_unit_test(test_verify_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
