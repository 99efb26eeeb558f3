/*
 * test_sim_health.c - fleet health in shoalsim (sim/health.h): every
 * simulated site publishes its signed record through the real pacer, every
 * node's real health table converges to every site's newest record (a node
 * that crashed included), byte counts are taken, and a scenario without
 * `health:` runs exactly as before (no tables, no replica, same trace).
 *
 * Seeds are fixed, so each test is an exact replay. Sizes are kept small
 * for `make test` under ASan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../sim/run.h"
#include "../../sim/scenario.h"
#include "shoal/sim.h"

#include "sim_fixture.h"

/* 50 sites publish their first records at once (fresh start), no change
 * and no refresh afterwards (the first refresh is due 54-66 s later, after
 * the run): every node must end holding exactly those 50 records, node 7
 * too, which crashed at 10 s and came back at 20 s (publishing a new
 * first record at once, as shoald does after a restart). */
static void test_fleet_converges(void **state)
{
	(void)state;
	struct sim_scenario *sc = parse("nodes: 50\n"
	                                "duration: 45s\n"
	                                "start: converged\n"
	                                "health: {changes_per_site_hour: 0, start: fresh}\n"
	                                "timeline:\n"
	                                "  - {at: 10s, kill: {node: 7}}\n"
	                                "  - {at: 20s, restart: {node: 7}}\n");
	struct sim_run_result *r = run(sc, 11);
	assert_true(r->health);
	/* 50 first records, then node 7's after its restart. */
	assert_int_equal(r->hpubs, 51);
	assert_int_equal(r->hpubs_change, 0);
	assert_int_equal(r->hpubs_reached, 51);
	assert_true(r->hconverged);
	assert_true(r->hheld_mean > 49.99 && r->hheld_mean < 50.01);
	assert_int_equal(r->hrejected, 0);
	/* A typical record: ~370 bytes (docs/health.md, "Size"). */
	assert_true(r->hrecord_bytes > 330 && r->hrecord_bytes < 400);
	/* Announcements and pulls crossed the simulated network. */
	assert_true(r->hann > 0 && r->hpull > 0);
	assert_true(r->hbytes.mean > 0);
	/* Most records reach everyone in a few gossip rounds; a node that
	 * every announcement missed is repaired by anti-entropy, every 30 s
	 * jittered by +-50 % (replica.h). */
	assert_true(r->hprop.p50 < 2.0);
	assert_true(r->hprop.max < 45.0 + 5.0);
	sim_run_result_delete(r);
	sim_scenario_delete(sc);
}

/* Meaningful changes every 20 s per site on average are held to one
 * record per 30 s per site by the pacer, and every record published
 * before the last 10 s reached every node. */
static void test_changes_paced(void **state)
{
	(void)state;
	struct sim_scenario *sc = parse("nodes: 40\n"
	                                "duration: 90s\n"
	                                "start: converged\n"
	                                "health: {changes_per_site_hour: 180, start: fresh}\n");
	struct sim_run_result *r = run(sc, 5);
	assert_true(r->health);
	assert_true(r->hpubs_change > 40);
	/* First record, then at most one per 30 s hold-down, then the
	 * refresh (60 s, jittered): at most 5 per site in 90 s. */
	assert_true(r->hpubs <= 40 * 5);
	assert_true(r->hpubs_reached + 40 >= r->hpubs);
	assert_int_equal(r->hrejected, 0);
	sim_run_result_delete(r);
	sim_scenario_delete(sc);
}

/* A scenario without `health:` has no health part: nothing is attached
 * (a replay gives the same trace); a run with health differs (its
 * announcements ride the same datagrams) with membership as healthy. The
 * reports of the scenarios in sim/scenarios/ were compared byte for byte
 * against the tree before health existed (docs/benchmarks.md, "Health"). */
static void test_health_off_unchanged(void **state)
{
	(void)state;
	const char *base = "nodes: 60\n"
	                   "duration: 20s\n"
	                   "start: converged\n"
	                   "timeline:\n"
	                   "  - {at: 5s, kill: 1}\n";
	struct sim_scenario *off = parse(base);
	assert_false(off->health);
	struct sim_run_result *a = run(off, 3), *b = run(off, 3);
	assert_false(a->health);
	assert_int_equal(a->hpubs, 0);
	assert_true(a->trace == b->trace);

	char text[512];
	snprintf(text, sizeof(text), "%shealth: {changes_per_site_hour: 1}\n", base);
	struct sim_scenario *on = parse(text);
	struct sim_run_result *c = run(on, 3);
	assert_true(c->health);
	assert_true(c->trace != a->trace);
	/* Membership is as healthy either way. */
	assert_int_equal(c->fp_dead_nodes, 0);
	assert_int_equal(c->nfaults, a->nfaults);
	sim_run_result_delete(a);
	sim_run_result_delete(b);
	sim_run_result_delete(c);
	sim_scenario_delete(off);
	sim_scenario_delete(on);
}

/* 15 of 50 sites are leaves (docs/health.md, "Leaf mode"), all publishing
 * their first record at once, three random sites crashing and coming back:
 * no health announcement ever reaches a leaf and a leaf's table holds its
 * own record only, while every full node ends holding every site's newest
 * record, the leaves' included. The run replays exactly, and `leaves: 0`
 * is the same run as no `leaves:` at all. */
static void test_leaves(void **state)
{
	(void)state;
	const char *text = "nodes: 50\n"
	                   "duration: 45s\n"
	                   "start: converged\n"
	                   "health: {changes_per_site_hour: 0, start: fresh, leaves: 15}\n"
	                   "timeline:\n"
	                   "  - {at: 10s, kill: 3}\n"
	                   "  - {at: 20s, restart: all}\n";
	struct sim_scenario *sc = parse(text);
	struct sim_run_result *r = run(sc, 21), *again = run(sc, 21);
	const struct sim_leaf_result *l = &r->hleaf;
	assert_int_equal(l->leaves, 15);
	/* 50 first records, then one per restarted site. */
	assert_int_equal(r->hpubs, 53);
	assert_int_equal(l->pubs_full + l->pubs_leaf, 53);
	assert_true(l->pubs_leaf >= 15);
	/* Leaves hear no health announcement; full nodes hear them all. */
	assert_int_equal(l->ann_msgs_leaf, 0);
	assert_true(l->recv_ann_leaf.max == 0);
	assert_true(l->ann_msgs_full > 0 && l->recv_ann_full.mean > 0);
	/* A leaf holds its own record only; none was offered another's. */
	assert_int_equal(l->held_leaf_max, 1);
	assert_int_equal(l->foreign, 0);
	assert_int_equal(l->refused, 0);
	/* Every full node holds every site's newest record: each publish,
	 * the leaves' own included, reached every live full node. */
	assert_true(r->hconverged);
	assert_int_equal(l->reached_full, l->pubs_full);
	assert_int_equal(l->reached_leaf, l->pubs_leaf);
	assert_true(l->held_full_mean > 49.99 && l->held_full_mean < 50.01);
	assert_int_equal(r->hrejected, 0);
	/* A leaf sends its own record and receives next to no health bytes. */
	assert_true(l->recv_leaf.mean * 10 < l->recv_full.mean);
	/* Deterministic: the same seed, the same run. */
	assert_true(r->trace == again->trace);
	assert_int_equal(again->hleaf.pubs_leaf, l->pubs_leaf);
	assert_true(again->hleaf.prop_leaf.max == l->prop_leaf.max);

	/* leaves: 0 adds nothing. */
	struct sim_scenario *none = parse("nodes: 30\nduration: 20s\nstart: converged\n"
	                                  "health: {changes_per_site_hour: 1}\n");
	struct sim_scenario *zero = parse("nodes: 30\nduration: 20s\nstart: converged\n"
	                                  "health: {changes_per_site_hour: 1, leaves: 0}\n");
	struct sim_run_result *a = run(none, 4), *b = run(zero, 4);
	assert_true(a->trace == b->trace);
	assert_int_equal(b->hleaf.leaves, 0);
	sim_run_result_delete(a);
	sim_run_result_delete(b);
	sim_scenario_delete(none);
	sim_scenario_delete(zero);
	sim_run_result_delete(r);
	sim_run_result_delete(again);
	sim_scenario_delete(sc);
}

static void test_bad_health_keys(void **state)
{
	(void)state;
	const char *bad[] = {
	        "nodes: 5\nduration: 1s\nhealth: {changes_per_site_hour: -1}\n",
	        "nodes: 5\nduration: 1s\nhealth: {changes_per_site_hour: lots}\n",
	        "nodes: 5\nduration: 1s\nhealth: {start: cold}\n",
	        "nodes: 5\nduration: 1s\nhealth: {rate: 1}\n",
	        "nodes: 5\nduration: 1s\nhealth: on\n",
	        "nodes: 5\nduration: 1s\nhealth: {leaves: 1.5}\n",
	        "nodes: 5\nduration: 1s\nhealth: {leaves: -0.3}\n",
	        "nodes: 5\nduration: 1s\nhealth: {leaves: many}\n",
	        "nodes: 5\nduration: 1s\nhealth: {leaves: 5}\n",
	        "nodes: 5\nduration: 1s\nhealth: {leaves: 0.95}\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sim_scenario *sc = NULL;
		char err[256] = "";
		assert_int_not_equal(
		        sim_scenario_parse(&sc, bad[i], strlen(bad[i]), "bad", err, sizeof(err)),
		        0);
		assert_non_null(strstr(err, "health"));
		assert_null(sc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_bad_health_keys),      cmocka_unit_test(test_fleet_converges),
	        cmocka_unit_test(test_changes_paced),        cmocka_unit_test(test_leaves),
	        cmocka_unit_test(test_health_off_unchanged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
