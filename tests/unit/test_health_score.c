/*
 * test_health_score.c - the score, its bands, the meaningful-change
 * detector, the publishing pacer and the observer's view.
 *
 * Each score component is moved through its real input on the typical
 * record (docs/health.md gives the curves): loss 0 -> 5 -> 30 % takes
 * connectivity green -> orange -> red, and likewise for failed intents,
 * crash loops, clock skew, trust roots, memory and disk. The expected
 * numbers are worked out from the curves in the comments, not read back
 * from the code.
 */
#include "shoal/health.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "health_fixture.h"

static struct health_record rec;

static struct health_score score_of(const struct health_record *r)
{
	struct health_score s;
	health_score_compute(r, NULL, &s);
	return s;
}

static void test_typical_site_is_green_everywhere(void **state)
{
	(void)state;
	hx_typical(&rec);
	struct health_score s = score_of(&rec);
	/* loss 2 pm -> 98; p99 45 ms -> 100; reached all -> 100. */
	assert_int_equal(s.connectivity, 98);
	assert_int_equal(s.reliability, 100);
	assert_int_equal(s.security, 100);
	assert_int_equal(s.performance, 100);
	/* (30*98 + 30*100 + 20*100 + 20*100 + 50) / 100 = 99. */
	assert_int_equal(s.score, 99);
	assert_int_equal(health_band_of(s.score), HEALTH_GREEN);
}

static void test_connectivity_follows_loss(void **state)
{
	(void)state;
	hx_typical(&rec);
	rec.links.loss_pm = 0;
	assert_int_equal(score_of(&rec).connectivity, 100);
	assert_int_equal(health_band_of(score_of(&rec).connectivity), HEALTH_GREEN);
	rec.links.loss_pm = 50; /* 5 %: the anchor at 60 */
	assert_int_equal(score_of(&rec).connectivity, 60);
	assert_int_equal(health_band_of(score_of(&rec).connectivity), HEALTH_ORANGE);
	rec.links.loss_pm = 300; /* 30 %: the anchor at 10 */
	assert_int_equal(score_of(&rec).connectivity, 10);
	assert_int_equal(health_band_of(score_of(&rec).connectivity), HEALTH_RED);
	/* The site score follows: min(weighted mean, 10 + 25) = 35, red. */
	assert_int_equal(score_of(&rec).score, 35);
}

static void test_connectivity_follows_rtt_and_reach(void **state)
{
	(void)state;
	hx_typical(&rec);
	rec.links.loss_pm = 0;
	rec.links.rtt_p99_us = 500000; /* 500 ms -> 55 */
	assert_int_equal(score_of(&rec).connectivity, 55);
	rec.links.rtt_p99_us = 2000000; /* 2 s: 30 - 30 * 1000 / 2000 = 15 */
	assert_int_equal(score_of(&rec).connectivity, 15);
	rec.links.rtt_p99_us = 45000;
	rec.links.reached = 45; /* 45 of 60 peers: 75 */
	assert_int_equal(score_of(&rec).connectivity, 75);
	rec.links.reached = 0;
	assert_int_equal(score_of(&rec).connectivity, 0);
	/* Knows peers, probed none in the window: cut off. */
	rec.links.probed = 0;
	assert_int_equal(score_of(&rec).connectivity, 0);
	/* A fleet of one: nothing to reach. */
	rec.links.known = 0;
	assert_int_equal(score_of(&rec).connectivity, 100);
}

static void test_reliability_follows_intents_and_pods(void **state)
{
	(void)state;
	hx_typical(&rec);
	rec.intents[0].state = HEALTH_DEGRADED; /* -20 */
	assert_int_equal(score_of(&rec).reliability, 80);
	rec.intents[0].state = HEALTH_FAILED; /* -40 */
	assert_int_equal(score_of(&rec).reliability, 60);
	assert_int_equal(health_band_of(score_of(&rec).reliability), HEALTH_ORANGE);
	rec.intents[1].state = HEALTH_FAILED; /* -80 */
	assert_int_equal(score_of(&rec).reliability, 20);
	assert_int_equal(health_band_of(score_of(&rec).reliability), HEALTH_RED);

	hx_typical(&rec);
	rec.pods[HEALTH_POD_CRASH_LOOP] = 3; /* -30 */
	assert_int_equal(score_of(&rec).reliability, 70);
	rec.pods[HEALTH_POD_OOM_KILLED] = 1; /* -40 */
	assert_int_equal(score_of(&rec).reliability, 60);
	rec.pods[HEALTH_POD_CRASH_LOOP] = 30; /* pods capped at -50 */
	assert_int_equal(score_of(&rec).reliability, 50);
	rec.restarts = 100; /* restarts capped at -20 */
	rec.uptime_s = 120; /* just booted: -10 */
	assert_int_equal(score_of(&rec).reliability, 20);
	/* Pending, waiting, applying are not failures. */
	hx_typical(&rec);
	rec.intents[0].state = HEALTH_APPLYING;
	rec.intents[1].state = HEALTH_WAITING;
	rec.intents[2].state = HEALTH_PENDING;
	assert_int_equal(score_of(&rec).reliability, 100);
}

static void test_security_follows_skew_roots_keyring_revokes(void **state)
{
	(void)state;
	struct health_fleet fleet = {.roots_known = true};
	struct health_score s;

	hx_typical(&rec);
	rec.skew_ms = -400;
	assert_int_equal(score_of(&rec).security, 100);
	rec.skew_ms = 10000; /* 25 + 25 * 5000 / 55000 = 27 -> 73 */
	assert_int_equal(score_of(&rec).security, 73);
	assert_int_equal(health_band_of(score_of(&rec).security), HEALTH_ORANGE);
	rec.skew_ms = -300000; /* the API's bound: -80 */
	assert_int_equal(score_of(&rec).security, 20);
	assert_int_equal(health_band_of(score_of(&rec).security), HEALTH_RED);

	hx_typical(&rec);
	rec.sec.keyring = false; /* plaintext gossip: -40 */
	assert_int_equal(score_of(&rec).security, 60);

	hx_typical(&rec);
	memcpy(fleet.roots, rec.sec.roots, HEALTH_ROOTS_LEN);
	health_score_compute(&rec, &fleet, &s);
	assert_int_equal(s.security, 100);
	fleet.roots[0] ^= 1; /* trusts other roots than the fleet: capped at 20 */
	health_score_compute(&rec, &fleet, &s);
	assert_int_equal(s.security, 20);
	fleet.roots_known = false;
	health_score_compute(&rec, &fleet, &s);
	assert_int_equal(s.security, 100);
	rec.sec.revoked_applied = 1; /* capped at 10 */
	assert_int_equal(score_of(&rec).security, 10);
}

static void test_performance_follows_memory_disk_cpu(void **state)
{
	(void)state;
	hx_typical(&rec);
	rec.mem_pm = 500;
	assert_int_equal(score_of(&rec).performance, 100);
	rec.mem_pm = 900;
	assert_int_equal(score_of(&rec).performance, 60);
	assert_int_equal(health_band_of(score_of(&rec).performance), HEALTH_ORANGE);
	rec.mem_pm = 970; /* 30 - 30 * 20 / 50 = 18 */
	assert_int_equal(score_of(&rec).performance, 18);
	assert_int_equal(health_band_of(score_of(&rec).performance), HEALTH_RED);

	hx_typical(&rec);
	rec.disk_pm = 1000;
	assert_int_equal(score_of(&rec).performance, 0);
	hx_typical(&rec);
	rec.cpu_pm = 1000; /* a busy CPU alone stays orange: 40 */
	assert_int_equal(score_of(&rec).performance, 40);
}

static void test_score_is_dragged_by_the_worst_component(void **state)
{
	(void)state;
	hx_typical(&rec);
	rec.links.loss_pm = 0;
	rec.disk_pm = 1000; /* performance 0, the rest 100 */
	struct health_score s = score_of(&rec);
	/* The mean would be 80 (green); min component + 25 caps it at 25. */
	assert_int_equal(s.score, 25);
	assert_int_equal(health_band_of(s.score), HEALTH_RED);
	/* Bands at their edges. */
	assert_int_equal(health_band_of(76), HEALTH_GREEN);
	assert_int_equal(health_band_of(75), HEALTH_ORANGE);
	assert_int_equal(health_band_of(40), HEALTH_ORANGE);
	assert_int_equal(health_band_of(39), HEALTH_RED);
}

/* ---- meaningful change ----------------------------------------------- */

static struct health_record prev, next;

static void fresh_pair(void)
{
	hx_typical(&prev);
	hx_typical(&next);
	next.version = prev.version + 1;
	next.uptime_s = prev.uptime_s + 60;
}

static void test_changes_that_publish_now(void **state)
{
	(void)state;
	fresh_pair();
	/* Uptime and version always move: not a change. */
	assert_int_equal(health_changes(&prev, &next), 0);

	next.intents[1].state = HEALTH_DEGRADED;
	assert_true(health_changes(&prev, &next) & HEALTH_CH_INTENT);
	fresh_pair();
	next.intents[2].version++; /* a new version held */
	assert_int_equal(health_changes(&prev, &next), HEALTH_CH_INTENT);
	fresh_pair();
	next.n_intents = 2; /* an intent no longer held */
	assert_int_equal(health_changes(&prev, &next), HEALTH_CH_INTENT);
	fresh_pair();
	/* Reordered but the same: no change. */
	next.intents[0] = prev.intents[2];
	next.intents[2] = prev.intents[0];
	assert_int_equal(health_changes(&prev, &next), 0);

	fresh_pair();
	next.pods[HEALTH_POD_RUNNING]--;
	next.pods[HEALTH_POD_CREATING]++;
	assert_int_equal(health_changes(&prev, &next), HEALTH_CH_PODS);

	fresh_pair();
	next.cpu_pm = prev.cpu_pm + 99;
	next.mem_pm = prev.mem_pm - 99;
	assert_int_equal(health_changes(&prev, &next), 0);
	next.cpu_pm = prev.cpu_pm + 100;
	next.mem_pm = prev.mem_pm - 100;
	assert_int_equal(health_changes(&prev, &next), HEALTH_CH_CPU | HEALTH_CH_MEM);

	fresh_pair();
	prev.score.score = 80;
	next.score.score = 76; /* moved 4, same band */
	assert_int_equal(health_changes(&prev, &next), 0);
	next.score.score = 75; /* moved 5 and crossed into orange */
	assert_int_equal(health_changes(&prev, &next), HEALTH_CH_SCORE | HEALTH_CH_BAND);
	prev.score.score = 77;
	next.score.score = 74; /* moved 3 but crossed a band */
	assert_int_equal(health_changes(&prev, &next), HEALTH_CH_BAND);

	fresh_pair();
	next.n_alerts = 1;
	next.alerts[0] = HX_STR("memory-high");
	assert_int_equal(health_changes(&prev, &next), HEALTH_CH_ALERTS);
	fresh_pair();
	next.labels[0].value = HX_STR("jp-south");
	assert_int_equal(health_changes(&prev, &next), HEALTH_CH_LABELS);
}

static void test_refresh_interval_scales_with_the_fleet(void **state)
{
	(void)state;
	/* One refresh per second across the fleet, never under a minute. */
	assert_true(health_refresh_interval(1) == 60 * UINT64_C(1000000));
	assert_true(health_refresh_interval(60) == 60 * UINT64_C(1000000));
	assert_true(health_refresh_interval(1000) == 1000 * UINT64_C(1000000));
	assert_true(health_refresh_interval(10000) == 10000 * UINT64_C(1000000));
}

static void test_pacer_publishes_on_change_after_hold_else_refresh(void **state)
{
	(void)state;
	const uint64_t s = 1000000, t0 = UINT64_C(1000000000000);
	struct hx_env e;
	struct health_pacer p;

	hx_env_create(&e);
	health_pacer_create(&p, 100 * s);
	/* The first record goes at once. */
	assert_true(health_pacer_due(&p, 0) == 0);
	health_pacer_published(&p, &e.env, t0);
	/* PRNG drew 0: refresh at now + 0.9 * 100 s. */
	assert_true(health_pacer_due(&p, 0) == t0 + 90 * s);
	/* A change right after: held until 30 s after the last publish. */
	assert_true(health_pacer_due(&p, HEALTH_CH_INTENT) == t0 + 30 * s);

	/* Jitter stays within [0.9, 1.1) of the interval over many draws. */
	uint64_t lo = UINT64_MAX, hi = 0;
	e.next = 0;
	for (int i = 0; i < 1000; i++) {
		e.next = (uint64_t)i * 7919 * 1237;
		health_pacer_published(&p, &e.env, t0);
		uint64_t d = health_pacer_due(&p, 0) - t0;
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_true(lo >= 90 * s);
	assert_true(hi < 110 * s);
	assert_true(hi - lo > 10 * s); /* it does spread */

	/* A refresh due before the hold ends is not delayed by a change. */
	health_pacer_create(&p, 10 * s);
	e.next = 0;
	health_pacer_published(&p, &e.env, t0);
	assert_true(health_pacer_due(&p, HEALTH_CH_PODS) == t0 + 9 * s);
}

/* ---- the observer's view --------------------------------------------- */

static void test_view_stale_and_unreachable_never_healthy_nor_failed(void **state)
{
	(void)state;
	const uint64_t s = 1000000, t0 = UINT64_C(1000000000000), refresh = 100 * s;

	assert_int_equal(health_view_of(t0 + 300 * s, t0, refresh, true), HEALTH_FRESH);
	assert_int_equal(health_view_of(t0 + 300 * s + 1, t0, refresh, true), HEALTH_VIEW_STALE);
	assert_int_equal(health_view_of(t0 + 1, t0, refresh, false), HEALTH_VIEW_UNREACHABLE);
	assert_int_equal(health_view_of(t0 + 900 * s, t0, refresh, false), HEALTH_VIEW_UNREACHABLE);
	/* A record received "later" than now (a clock step) is fresh. */
	assert_int_equal(health_view_of(t0, t0 + 5 * s, refresh, true), HEALTH_FRESH);

	for (int v = HEALTH_VIEW_STALE; v <= HEALTH_VIEW_UNREACHABLE; v++) {
		for (int st = HEALTH_PENDING; st < HEALTH_OWNER_STATES; st++) {
			enum health_state shown = health_view_state((enum health_view)v, st);
			assert_int_not_equal(shown, HEALTH_READY);
			assert_int_not_equal(shown, HEALTH_FAILED);
			assert_int_equal(shown, v == HEALTH_VIEW_STALE ? HEALTH_STALE
			                                               : HEALTH_UNREACHABLE);
		}
		assert_int_equal(health_view_band((enum health_view)v, 100), -1);
		assert_int_equal(health_view_band((enum health_view)v, 0), -1);
	}
	/* Fresh: the record speaks for itself. */
	assert_int_equal(health_view_state(HEALTH_FRESH, HEALTH_FAILED), HEALTH_FAILED);
	assert_int_equal(health_view_band(HEALTH_FRESH, 90), HEALTH_GREEN);
	/* Selection is the observer's own judgement, kept in any view. */
	assert_int_equal(health_view_state(HEALTH_VIEW_STALE, HEALTH_NOT_SELECTED),
	                 HEALTH_NOT_SELECTED);
	assert_string_equal(health_state_name(HEALTH_STALE), "stale");
	assert_string_equal(health_state_name(HEALTH_NOT_SELECTED), "not-selected");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_typical_site_is_green_everywhere),
	        cmocka_unit_test(test_connectivity_follows_loss),
	        cmocka_unit_test(test_connectivity_follows_rtt_and_reach),
	        cmocka_unit_test(test_reliability_follows_intents_and_pods),
	        cmocka_unit_test(test_security_follows_skew_roots_keyring_revokes),
	        cmocka_unit_test(test_performance_follows_memory_disk_cpu),
	        cmocka_unit_test(test_score_is_dragged_by_the_worst_component),
	        cmocka_unit_test(test_changes_that_publish_now),
	        cmocka_unit_test(test_refresh_interval_scales_with_the_fleet),
	        cmocka_unit_test(test_pacer_publishes_on_change_after_hold_else_refresh),
	        cmocka_unit_test(test_view_stale_and_unreachable_never_healthy_nor_failed),
	};
	return cmocka_run_group_tests_name("health_score", tests, NULL, NULL);
}
