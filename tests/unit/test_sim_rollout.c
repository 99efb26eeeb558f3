/*
 * test_sim_rollout.c - simulated sites applying App intents in shoalsim
 * (sim/rollout.h): in a fleet of 50, an App intent targeting about half
 * of it reaches every selected site, each reports it ready in its own
 * published record, the observer's real health table shows every selected
 * site ready and no unselected site listing it; with a failure rate of 1
 * every selected site reports it failed; a bad `k8s:` is refused.
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

/* 50 sites, tier a or b at random; one App intent for tier=a at 10 s;
 * applies take 1-5 s. The run lasts long enough for the 30 s hold-down
 * between a site's "applying" and "ready" records, and for the observer
 * (node 3) to pull them. */
static const char *fleet(const char *fail_rate)
{
	static char text[1024];
	snprintf(text, sizeof(text),
	         "nodes: {count: 50, labels: {tier: {a: 0.5, b: 0.5}}}\n"
	         "duration: 90s\n"
	         "start: converged\n"
	         "health: {changes_per_site_hour: 0, start: steady}\n"
	         "k8s: {apply_ms: [1000, 5000], fail_rate: %s, observer: 3}\n"
	         "timeline:\n"
	         "  - {at: 10s, intent: {node: 0, kind: App, size: 1500, target: \"tier=a\"}}\n",
	         fail_rate);
	return text;
}

static void test_selected_sites_ready(void **state)
{
	(void)state;
	struct sim_scenario *sc = parse(fleet("0"));
	struct sim_run_result *r = run(sc, 5);
	assert_true(r->rollout);
	assert_int_equal(r->roll.nrows, 1);
	assert_int_equal(r->roll.observer, 3);
	const struct sim_rollout_row *w = &r->roll.row[0];
	/* About half the fleet, judged by the intent's target. */
	assert_true(w->selected > 10 && w->selected < 40);
	/* Every selected site committed it, applied it and said so in its
	 * own record; the observer's table shows all of them ready. */
	assert_int_equal(w->held, w->selected);
	assert_int_equal(w->own_ready, w->selected);
	assert_int_equal(w->own_failed, 0);
	assert_int_equal(w->obs_ready, w->selected);
	assert_int_equal(w->obs_failed, 0);
	for (int k = 0; k < SIM_ROLLOUT_STEPS; k++) {
		assert_true(w->all_s[k] >= 0);
		assert_int_equal(w->reached[k], w->selected);
	}
	/* In order: held before reported, reported before observed; an apply
	 * takes at least a second. */
	assert_true(w->all_s[0] < 2.0);
	assert_true(w->all_s[1] >= 1.0 && w->all_s[1] >= w->all_s[0]);
	assert_true(w->all_s[2] >= w->all_s[1] - 1e-9);
	assert_true(w->site[1].p50 >= 1.0);
	/* No unselected site ever listed it in a record the observer took. */
	assert_int_equal(r->roll.unselected_listed, 0);
	assert_int_equal(r->roll.refused, 0);
	/* The states were published: more records in the burst than the
	 * (change-free) steady run would give in the same time. */
	assert_true(r->roll.burst_pubs >= w->selected);
	assert_true(r->roll.burst_pubs_s > r->roll.steady_pubs_s);
	assert_int_equal(r->hrejected, 0);
	sim_run_result_delete(r);
	sim_scenario_delete(sc);
}

static void test_every_apply_fails(void **state)
{
	(void)state;
	struct sim_scenario *sc = parse(fleet("1.0"));
	struct sim_run_result *r = run(sc, 5);
	const struct sim_rollout_row *w = &r->roll.row[0];
	assert_true(w->selected > 10 && w->selected < 40);
	assert_int_equal(w->held, w->selected);
	assert_int_equal(w->own_failed, w->selected);
	assert_int_equal(w->own_ready, 0);
	assert_int_equal(w->obs_failed, w->selected);
	assert_int_equal(w->obs_ready, 0);
	assert_true(w->all_s[2] >= 0);
	assert_int_equal(r->roll.unselected_listed, 0);
	sim_run_result_delete(r);
	sim_scenario_delete(sc);
}

/* Same seed, same fleet: the failure rate changes what the sites report,
 * not which sites are selected nor how the intent spread. */
static void test_replay(void **state)
{
	(void)state;
	struct sim_scenario *sc = parse(fleet("0.5"));
	struct sim_run_result *a = run(sc, 9), *b = run(sc, 9);
	assert_int_equal(a->trace, b->trace);
	assert_int_equal(a->roll.row[0].own_failed, b->roll.row[0].own_failed);
	assert_memory_equal(a->roll.row[0].all_s, b->roll.row[0].all_s,
	                    sizeof(a->roll.row[0].all_s));
	assert_true(a->roll.row[0].own_failed > 0 &&
	            a->roll.row[0].own_failed < a->roll.row[0].selected);
	sim_run_result_delete(a);
	sim_run_result_delete(b);
	sim_scenario_delete(sc);
}

static void test_bad_k8s(void **state)
{
	(void)state;
	const char *bad[] = {
	        "nodes: 5\nduration: 1s\nk8s: {apply_ms: [1, 2]}\n", /* no health */
	        "nodes: 5\nduration: 1s\nhealth: {}\nk8s: {apply_ms: [5, 2]}\n",
	        "nodes: 5\nduration: 1s\nhealth: {}\nk8s: {apply_ms: 5}\n",
	        "nodes: 5\nduration: 1s\nhealth: {}\nk8s: {fail_rate: 2}\n",
	        "nodes: 5\nduration: 1s\nhealth: {}\nk8s: {observer: 5}\n",
	        "nodes: 5\nduration: 1s\nhealth: {}\nk8s: {latency: 1}\n",
	        "nodes: 5\nduration: 1s\nhealth: {}\nk8s: {}\ntimeline:\n"
	        "  - {at: 0s, intent: {node: 0, size: 10, target: \"a in (\"}}\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sim_scenario *sc = NULL;
		char err[256] = "";
		assert_int_not_equal(
		        sim_scenario_parse(&sc, bad[i], strlen(bad[i]), "bad", err, sizeof(err)),
		        0);
		if (strstr(err, "k8s") == NULL && strstr(err, "target") == NULL)
			fail_msg("case %zu: %s", i, err);
		assert_null(sc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_bad_k8s),
	        cmocka_unit_test(test_selected_sites_ready),
	        cmocka_unit_test(test_every_apply_fails),
	        cmocka_unit_test(test_replay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
