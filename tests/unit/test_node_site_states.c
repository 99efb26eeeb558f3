/*
 * test_node_site_states.c - this site's per-intent states: kept sorted,
 * replaced in place, `since` kept while nothing moves, bounded, and
 * refusing what a site may not say about itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "shoal/error.h"

#include "../../node/site_states.h"

static struct node_site_state entry(enum intent_kind kind, const char *name, uint64_t version,
                                    enum health_state state, uint64_t since)
{
	struct node_site_state st;
	memset(&st, 0, sizeof(st));
	st.kind = kind;
	snprintf(st.name, sizeof(st.name), "%s", name);
	st.version = version;
	st.state = state;
	st.since_ms = since;
	return st;
}

static void test_set_get_sorted_and_since(void **state)
{
	(void)state;
	struct node_site_states t;
	node_site_states_init(&t);
	struct node_site_state a = entry(INTENT_APP, "web", 5, HEALTH_APPLYING, 100);
	assert_int_equal(node_site_state_set(&t, &a), 0);
	struct node_site_state b = entry(INTENT_APP, "api", 7, HEALTH_PENDING, 100);
	assert_int_equal(node_site_state_set(&t, &b), 0);
	assert_int_equal(t.n, 2);
	assert_string_equal(t.items[0].name, "api");
	uint64_t gen = t.generation;

	/* same state and version, new pods: since kept, generation moves */
	a.pods[HEALTH_POD_RUNNING] = 2;
	a.since_ms = 900;
	assert_int_equal(node_site_state_set(&t, &a), 0);
	assert_int_equal(node_site_state_get(&t, INTENT_APP, "web")->since_ms, 100);
	assert_true(t.generation > gen);
	/* nothing new: generation stays */
	gen = t.generation;
	assert_int_equal(node_site_state_set(&t, &a), 0);
	assert_int_equal(t.generation, gen);
	/* state moved: since taken */
	a.state = HEALTH_READY;
	assert_int_equal(node_site_state_set(&t, &a), 0);
	assert_int_equal(node_site_state_get(&t, INTENT_APP, "web")->since_ms, 900);

	assert_int_equal(node_site_state_remove(&t, INTENT_APP, "api"), 0);
	assert_int_equal(node_site_state_remove(&t, INTENT_APP, "api"), SHOAL_E_NOT_FOUND);
	assert_null(node_site_state_get(&t, INTENT_APP, "api"));
	assert_int_equal(t.n, 1);
	node_site_states_free(&t);
}

static void test_refuses_bad_entries_and_is_bounded(void **state)
{
	(void)state;
	struct node_site_states t;
	node_site_states_init(&t);
	struct node_site_state st = entry(INTENT_APP, "web", 1, HEALTH_STALE, 0);
	assert_int_equal(node_site_state_set(&t, &st), -EINVAL); /* an observer's state */
	st = entry(INTENT_APP, "Web_1", 1, HEALTH_READY, 0);
	assert_int_equal(node_site_state_set(&t, &st), -EINVAL);
	st = entry(INTENT_KIND_NONE, "web", 1, HEALTH_READY, 0);
	assert_int_equal(node_site_state_set(&t, &st), -EINVAL);
	assert_int_equal(t.n, 0);
	for (int i = 0; i < NODE_SITE_STATES_MAX; i++) {
		char name[16];
		snprintf(name, sizeof(name), "app-%d", i);
		st = entry(INTENT_APP, name, 1, HEALTH_READY, 0);
		assert_int_equal(node_site_state_set(&t, &st), 0);
	}
	st = entry(INTENT_APP, "one-more", 1, HEALTH_READY, 0);
	assert_int_equal(node_site_state_set(&t, &st), SHOAL_E_TOO_BIG);
	for (size_t i = 1; i < t.n; i++)
		assert_true(strcmp(t.items[i - 1].name, t.items[i].name) < 0);
	node_site_states_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_set_get_sorted_and_since),
	        cmocka_unit_test(test_refuses_bad_entries_and_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
