/*
 * test_swim_reconnect.c - partitions longer than dead_keep, through the
 * simulator: each side declares the other dead and reaps it, so nothing
 * but the reconnect attempts (gossip/tomb.c) can bring the halves
 * together again. Also: a seed that was down when the mesh formed is
 * found later, although the mesh no longer retries its seeds.
 *
 * Timers are the LAN profile unscaled; every bound carries its reason.
 * Seeds are fixed (SHOAL_SIM_SEED overrides).
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

#include "shoal/error.h"
#include "shoal/sim.h"

static uint64_t env_seed;
static bool env_seed_set;

static uint64_t seed_for(uint64_t fallback)
{
	return env_seed_set ? env_seed : fallback;
}

static double secs(uint64_t us)
{
	return (double)us / 1e6;
}

static struct sim_cluster *cluster_new(uint32_t n, uint64_t seed, bool reconnect)
{
	struct sim_cluster_config cfg;
	struct sim_cluster *c;
	sim_cluster_config_defaults(&cfg, n, seed);
	if (!reconnect)
		cfg.swim.reconnect_interval_us = 0;
	assert_int_equal(sim_cluster_new(&c, &cfg), 0);
	return c;
}

static bool pred_converged(struct sim_cluster *c, void *ctx)
{
	(void)ctx;
	return sim_cluster_up_count(c) == sim_cluster_size(c) && sim_cluster_converged(c);
}

/* Each node knows only the members of its own half, nodes [0, n/2) and
 * [n/2, n): the other half is reaped. */
static bool pred_sides_reaped(struct sim_cluster *c, void *ctx)
{
	(void)ctx;
	uint32_t n = sim_cluster_size(c);
	for (uint32_t i = 0; i < n; i++) {
		for (uint32_t j = 0; j < n; j++) {
			struct swim_member_info mi;
			bool known = sim_cluster_view(c, i, j, &mi) == 0;
			if (known != ((i < n / 2) == (j < n / 2)))
				return false;
		}
	}
	return true;
}

static void assert_harness_clean(struct sim_cluster *c)
{
	struct sim_cluster_stats st;
	sim_cluster_stats(c, &st);
	assert_int_equal(st.stuck_deadlines, 0);
}

/* Split n nodes into halves for `cut_us` and heal. */
static struct sim_cluster *long_partition(uint32_t n, uint64_t seed, uint64_t cut_us,
                                          bool reconnect)
{
	struct sim_cluster *c = cluster_new(n, seed, reconnect);
	struct sim_net *net = sim_cluster_net(c);
	uint64_t took;

	assert_int_equal(sim_cluster_converge(c, SIM_SEC(60), &took), 0);
	for (uint32_t i = n / 2; i < n; i++)
		sim_net_set_group(net, i, 1);
	sim_cluster_run_for(c, cut_us);
	/* Each side has declared the other dead and reaped it: the heal below
	 * starts from tables that do not know the other side at all. */
	if (!pred_sides_reaped(c, NULL))
		fail_msg("after %.0f s apart the sides have not reaped each other", secs(cut_us));
	sim_net_heal(net);
	return c;
}

/* Split, heal, and return how long after the heal every node saw every
 * other alive. */
static uint64_t long_partition_heal(uint32_t n, uint64_t seed, uint64_t cut_us)
{
	struct sim_cluster *c = long_partition(n, seed, cut_us, true);
	uint64_t heal_at = sim_cluster_now(c), took;
	int rc = sim_cluster_run_until(c, pred_converged, NULL, SIM_SEC(300), &took);
	if (rc != 0)
		fail_msg("halves of %u not merged %.0f s after the heal", n, secs(took));
	printf("# %u nodes, %.0f s apart: whole again %.1f s after the heal\n", n, secs(cut_us),
	       secs(sim_cluster_now(c) - heal_at));

	/* Somebody reconnected, and states were sorted out by refutation:
	 * every node that the other side had reaped bumped its incarnation. */
	uint64_t reconnects = 0;
	for (uint32_t i = 0; i < n; i++)
		reconnects += swim_stats(sim_cluster_swim(c, i))->reconnects;
	assert_true(reconnects > 0);
	for (uint32_t i = 0; i < n; i++)
		assert_true(swim_incarnation(sim_cluster_swim(c, i)) > 0);
	assert_harness_clean(c);
	sim_cluster_delete(c);
	return took;
}

/* Eight nodes, 150 s apart. Bound on the heal: a node tries a reconnect
 * every reconnect_interval jittered to [15, 45) s, with probability
 * reaped / live = 1 on each side, so the first attempt after the heal
 * starts within 45 s (8 nodes: in practice a few seconds). That exchange
 * reinstates the other side as dead in both tables; the participants and
 * then everyone they gossip to refute (a gossip round is 200 ms, the
 * suspicion of the pushed DEAD entries at most 6 * 4 s), and the periodic
 * push-pulls (30 s) fill in any member the epidemic missed. 45 + 24 + 30
 * s, rounded up to two minutes. Measured over seeds 1-40: 8 nodes at most
 * 34 s, 40 nodes at most 45 s. */
static void test_partition_longer_than_dead_keep(void **state)
{
	(void)state;
	/* dead_keep 60 s + suspicion at most 24 s + reap scan 15 s < 150 s. */
	uint64_t took = long_partition_heal(8, seed_for(3101), SIM_SEC(150));
	assert_true(took <= SIM_SEC(120));
}

/* Without reconnect attempts nothing ever crosses again: what the first
 * test heals is a real split, not one that gossip would mend anyway. */
static void test_without_reconnect_halves_stay_apart(void **state)
{
	(void)state;
	struct sim_cluster *c = long_partition(8, seed_for(3101), SIM_SEC(150), false);
	sim_cluster_run_for(c, SIM_SEC(300));
	assert_false(sim_cluster_converged(c));
	assert_true(pred_sides_reaped(c, NULL));
	sim_cluster_delete(c);
}

/* Same with 40 nodes and other seeds: the throttle (one attempt per
 * candidate per interval fleet-wide) must not leave a larger mesh apart.
 * Suspicion at 40 nodes: min 4 * log10(40) s = 6.4 s, max 38 s. */
static void test_partition_longer_than_dead_keep_40(void **state)
{
	(void)state;
	uint64_t took = long_partition_heal(40, seed_for(3102), SIM_SEC(180));
	assert_true(took <= SIM_SEC(120));
}

/* A node whose seed was down when it started, and that meanwhile formed
 * a mesh with others, still finds the seed once it comes up: the seeds
 * stay reconnect candidates. */
static void test_late_seed_found(void **state)
{
	(void)state;
	struct sim_cluster *c = cluster_new(3, seed_for(3103), true);
	uint64_t took;
	uint32_t seed;

	/* Node 1 starts with node 0 as its seed, but node 0 is not up yet;
	 * node 2 joins node 1. Node 1 now knows a live member, so its join
	 * retry (only while alone) stops. */
	seed = 0;
	assert_int_equal(sim_cluster_start(c, 1, &seed, 1), 0);
	seed = 1;
	assert_int_equal(sim_cluster_start(c, 2, &seed, 1), 0);
	sim_cluster_run_for(c, SIM_SEC(10));
	/* Node 0 starts alone, with no seed of its own. */
	assert_int_equal(sim_cluster_start(c, 0, NULL, 0), 0);
	uint64_t up_at = sim_cluster_now(c);
	/* Node 1 tries its seed with probability 1 / 1 live other member
	 * every reconnect interval (at most 45 s with jitter); gossip then
	 * carries node 0 to node 2 within a few rounds. */
	assert_int_equal(sim_cluster_run_until(c, pred_converged, NULL, SIM_SEC(50), &took), 0);
	printf("# the late seed joined %.1f s after it started\n",
	       secs(sim_cluster_now(c) - up_at));
	assert_true(swim_stats(sim_cluster_swim(c, 1))->reconnects > 0);
	assert_harness_clean(c);
	sim_cluster_delete(c);
}

int main(void)
{
	const char *s = getenv("SHOAL_SIM_SEED");
	if (s != NULL && *s != '\0') {
		env_seed = sim_seed_from_env(0);
		env_seed_set = true;
	} else {
		fprintf(stderr, "sim seeds: fixed per test (set SHOAL_SIM_SEED to override)\n");
	}
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_partition_longer_than_dead_keep),
	        cmocka_unit_test(test_without_reconnect_halves_stay_apart),
	        cmocka_unit_test(test_partition_longer_than_dead_keep_40),
	        cmocka_unit_test(test_late_seed_found),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
