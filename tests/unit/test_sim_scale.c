/*
 * test_sim_scale.c - a smoke run of many real swim nodes in one process.
 *
 * N nodes (SHOAL_SIM_NODES, default 500 so `make test` stays quick) start
 * pre-converged, run 60 virtual seconds during which one node crashes, and
 * every live node must hold it dead by the end. The run prints what it cost:
 * memory per member entry, harness bytes per node, events per second, the
 * real-time factor and peak RSS. Figures belong in docs/benchmarks.md, not
 * in assertions: only the protocol outcome is asserted here.
 *
 * SHOAL_SIM_SETTLE (virtual seconds, default 0) runs the cluster that long
 * after converging and before the measured minute, so the gossip of the
 * mass join drains and the minute shows the steady state.
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

#include "shoal/error.h"
#include "shoal/sim.h"

/* A decimal from the environment within [lo, hi], else `fallback`. */
static uint32_t env_number(const char *name, uint32_t fallback, uint32_t lo, uint32_t hi)
{
	const char *s = getenv(name);
	if (s == NULL || *s == '\0')
		return fallback;
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || end == NULL || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "bad %s '%s', using %u\n", name, s, fallback);
		return fallback;
	}
	return (uint32_t)v;
}

/* Heap growth since heap0, split into the shared pool, the harness, and
 * the rest: the swims' member tables, probe orders and broadcast queues. */
static void print_memory(struct sim_cluster *c, uint32_t n, size_t heap0, const char *when)
{
	size_t pool = swim_pool_bytes(sim_cluster_pool(c));
	size_t harness = sim_cluster_bytes(c);
	size_t heap = sim_heap_bytes() - heap0;
	size_t tables = heap > pool + harness ? heap - pool - harness : 0;
	double nn = (double)n * (double)n;
	printf("# memory %s: pool %.1f MB, swim tables+queues %.1f MB, harness %.1f MB "
	       "(%zu B per node slot)\n",
	       when, pool / 1e6, tables / 1e6, harness / 1e6, sim_cluster_node_bytes());
	printf("# bytes per member entry (pool + tables) / N^2 %s: %.1f\n", when,
	       ((double)pool + (double)tables) / nn);
}

static void test_scale_smoke(void **state)
{
	(void)state;
	const uint32_t n = env_number("SHOAL_SIM_NODES", 500, 3, 200000);
	const uint32_t settle = env_number("SHOAL_SIM_SETTLE", 0, 0, 100000);
	const uint64_t seed = sim_seed_from_env(2024);
	struct sim_cluster_config cfg;
	struct sim_cluster *c;
	uint64_t took;

	setvbuf(stdout, NULL, _IOLBF, 0); /* progress shows when redirected */
	size_t heap0 = sim_heap_bytes();
	sim_cluster_config_defaults(&cfg, n, seed);
	/* Only what the assertion and the report need: O(1) entries per node. */
	cfg.log_mask = SIM_LOG_BIT(SWIM_EV_SUSPECT) | SIM_LOG_BIT(SWIM_EV_DEAD);
	cfg.log_cap = 64;
	/* Convergence is checked in O(N) per poll; poll every 100 ms. */
	cfg.poll_us = SIM_MS(100);
	assert_int_equal(sim_cluster_new(&c, &cfg), 0);

	double w0 = sim_wall_seconds();
	uint64_t e0 = sim_engine_fired(sim_cluster_engine(c));
	int rc = sim_cluster_converge(c, SIM_SEC(600), &took);
	double w1 = sim_wall_seconds();
	uint64_t e1 = sim_engine_fired(sim_cluster_engine(c));
	printf("# N=%u seed=%llu: converged in %.2f virtual s, %.1f wall s, %llu events\n", n,
	       (unsigned long long)seed, (double)took / 1e6, w1 - w0,
	       (unsigned long long)(e1 - e0));
	assert_int_equal(rc, 0);
	print_memory(c, n, heap0, "after converging");
	if (settle > 0) {
		w0 = sim_wall_seconds();
		sim_cluster_run_for(c, SIM_SEC(settle));
		printf("# settled %u virtual s in %.1f wall s\n", settle, sim_wall_seconds() - w0);
		print_memory(c, n, heap0, "after settling");
	}

	/* 60 virtual seconds with one crash 5 s in. Lifeguard: first suspicion
	 * ~1.6 periods after the crash, dead after the minimum suspicion
	 * timeout (4 * log10 N s: 10.8 s at 500, 16 s at 10k) once two other
	 * nodes' probes confirm, then a few gossip rounds to reach all: well
	 * inside the remaining 55 s. */
	const uint32_t victim = n / 2;
	struct sim_net_counters before, after;
	sim_net_totals(sim_cluster_net(c), &before);
	w0 = sim_wall_seconds();
	e0 = sim_engine_fired(sim_cluster_engine(c));
	sim_cluster_run_for(c, SIM_SEC(5));
	assert_int_equal(sim_cluster_kill(c, victim), 0);
	sim_cluster_run_for(c, SIM_SEC(55));
	w1 = sim_wall_seconds();
	e1 = sim_engine_fired(sim_cluster_engine(c));
	sim_net_totals(sim_cluster_net(c), &after);

	double wall = w1 - w0;
	double events = (double)(e1 - e0);
	printf("# run: 60 virtual s in %.2f wall s: %.0f events, %.0f events/s, "
	       "real-time factor %.2f\n",
	       wall, events, events / wall, 60.0 / wall);
	printf("# traffic per node per second: %.2f datagrams, %.0f B datagram, %.0f B stream\n",
	       (double)(after.dgrams_sent - before.dgrams_sent) / n / 60.0,
	       (double)(after.dgram_bytes_sent - before.dgram_bytes_sent) / n / 60.0,
	       (double)(after.stream_bytes_sent - before.stream_bytes_sent) / n / 60.0);
	struct sim_cluster_stats st;
	sim_cluster_stats(c, &st);
	printf("# signature checks: %llu memo hits, %llu real verifications\n",
	       (unsigned long long)st.verify_hits, (unsigned long long)st.verify_misses);
	printf("# peak RSS (VmHWM) %.1f MB\n", sim_peak_rss() / 1e6);
	printf("# suspicion events %llu, dead events %llu\n",
	       (unsigned long long)sim_cluster_count_events(c, SWIM_EV_SUSPECT, SIM_NO_NODE),
	       (unsigned long long)sim_cluster_count_events(c, SWIM_EV_DEAD, SIM_NO_NODE));

	bool agree = sim_cluster_all_see(c, victim, SWIM_DEAD);
	if (!agree) {
		uint32_t holding = 0;
		for (uint32_t i = 0; i < n; i++) {
			struct swim_member_info mi;
			if (i != victim && sim_cluster_view(c, i, victim, &mi) == 0 &&
			    mi.state == SWIM_DEAD)
				holding++;
		}
		printf("# only %u of %u live nodes hold the crashed node dead\n", holding, n - 1);
	}
	assert_true(agree);
	/* Nobody else was declared dead. */
	assert_int_equal(sim_cluster_count_events(c, SWIM_EV_DEAD, SIM_NO_NODE),
	                 sim_cluster_count_events(c, SWIM_EV_DEAD, victim));
	assert_int_equal(st.stuck_deadlines, 0);
	sim_cluster_delete(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_scale_smoke),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
