/*
 * test_alert.c - the AlertRule expression language, its evaluation on
 * health records, the `for` and webhook checks of the schema, and the
 * delivery choices every node must make alike (the sender by rendezvous
 * hashing, the idempotency key).
 */
#include "shoal/alert.h"

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
#include "shoal/intent.h"

static struct alert_expr parse(const char *text)
{
	struct alert_expr e;
	char err[ALERT_ERR_MAX];
	if (alert_expr_parse(text, strlen(text), &e, err, sizeof(err)) != 0)
		fail_msg("parse \"%s\": %s", text, err);
	return e;
}

static void canon(const char *text, const char *want)
{
	struct alert_expr e = parse(text);
	char out[ALERT_TEXT_MAX];
	assert_true(alert_expr_format(&e, out, sizeof(out)) > 0);
	assert_string_equal(out, want);
	struct alert_expr again = parse(out);
	assert_memory_equal(&again, &e, sizeof(e));
}

static void refused(const char *text, const char *want_in_message)
{
	struct alert_expr e;
	char err[ALERT_ERR_MAX] = "";
	int rc = alert_expr_parse(text, strlen(text), &e, err, sizeof(err));
	if (rc == 0)
		fail_msg("\"%s\" parsed; want a refusal", text);
	assert_int_equal(rc, SHOAL_E_MALFORMED);
	if (strstr(err, want_in_message) == NULL)
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", text, err, want_in_message);
}

static void test_parse_and_canonical_form(void **state)
{
	(void)state;
	canon("mem > 90", "mem > 90");
	canon("  mem>90%  ", "mem > 90");
	canon("cpu >= 80.50", "cpu >= 80.5");
	canon("rtt_p99_ms<=250.125", "rtt_p99_ms <= 250.125");
	canon("pods.crash-loop != 0", "pods.crash-loop != 0");
	canon("score==40", "score == 40");
	canon("count(mem > 90) >= 1", "count(mem > 90) >= 1");
	canon("count ( disk>=95 )>2", "count(disk >= 95) > 2");
	canon("fraction(mem > 75) > 0.5", "fraction(mem > 75) > 0.5");
	canon("fraction(mem > 75) > 50%", "fraction(mem > 75) > 0.5");
	canon("fraction(loss > 5%) >= 12.5%", "fraction(loss > 5) >= 0.125");

	struct alert_expr e = parse("fraction(pods.waiting-image > 0) < 0.25");
	assert_int_equal(e.scope, ALERT_FRACTION);
	assert_int_equal(e.cond.metric, ALERT_PODS + HEALTH_POD_WAITING_IMAGE);
	assert_int_equal(e.cond.op, ALERT_GT);
	assert_int_equal(e.agg_op, ALERT_LT);
	assert_int_equal(e.agg_milli, 250);
}

static void test_refusals_say_where_and_why(void **state)
{
	(void)state;
	refused("", "position 1: empty expression");
	refused("   ", "empty expression");
	refused("up == 0", "position 1: unknown metric \"up\"");
	refused("mem", "position 4: expected a comparison");
	refused("mem >", "position 6: expected a number, found end of expr");
	refused("mem > x", "found 'x'");
	refused("mem => 9", "position 5: expected a comparison (>, >=, <, <=, ==, !=), found '='");
	refused("mem = 9", "expected a comparison");
	refused("mem > 90 and cpu > 9", "position 10: unexpected 'a' after the expression");
	refused("mem > 1.2345", "at most 3 decimals");
	refused("mem > 1.", "expected a digit after '.'");
	refused("mem > 99999999999999", "number too large");
	refused("score > 40%", "not a percentage");
	refused("sum(mem > 1) > 1", "unknown function \"sum\"");
	refused("count mem > 1", "position 7: expected '(' after count, found 'm'");
	refused("count(mem > 1)", "expected a comparison");
	refused("count(mem > 1 > 1", "expected ')'");
	refused("count(mem > 90) > 1.5", "whole number of sites");
	refused("count(mem > 90) > 50%", "whole number of sites");
	refused("fraction(mem > 90) > 1.5", "a fraction is 0-1");
	refused("fraction(mem > 90) > 150%", "0-100 with at most 1 decimal");
	refused("fraction(mem > 90) > 12.25%", "at most 1 decimal");
	refused("count(count(mem > 1) > 1) > 1", "position 7: unknown metric \"count\"");
	refused("mem > 9\x01", "0x01");

	char *big = malloc(ALERT_EXPR_MAX + 2);
	memset(big, ' ', ALERT_EXPR_MAX + 1);
	big[ALERT_EXPR_MAX + 1] = '\0';
	struct alert_expr e;
	char err[ALERT_ERR_MAX];
	assert_int_equal(alert_expr_parse(big, ALERT_EXPR_MAX + 1, &e, err, sizeof(err)),
	                 SHOAL_E_TOO_BIG);
	free(big);
}

static void test_metrics_read_the_record(void **state)
{
	(void)state;
	static struct health_record r;
	memset(&r, 0, sizeof(r));
	r.cpu_pm = 805;
	r.mem_pm = 950;
	r.disk_pm = 100;
	r.links.loss_pm = 25;
	r.links.rtt_p99_us = 250500;
	r.score = (struct health_score){40, 100, 60, 100, 30};
	r.restarts = 3;
	r.pods[HEALTH_POD_CRASH_LOOP] = 2;

	struct {
		const char *expr;
		bool holds;
	} cases[] = {
	        {"mem > 90", true},           {"mem > 95", false},
	        {"mem >= 95", true},          {"cpu > 80.4", true},
	        {"cpu > 80.5", false},        {"disk < 10", false},
	        {"disk <= 10", true},         {"loss == 2.5", true},
	        {"score < 40", false},        {"score == 40", true},
	        {"performance <= 30", true},  {"reliability != 60", false},
	        {"rtt_p99_ms > 250.4", true}, {"rtt_p99_ms > 250.5", false},
	        {"restarts >= 3", true},      {"pods.crash-loop > 1", true},
	        {"pods.running > 0", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct alert_expr e = parse(cases[i].expr);
		if (alert_cond_holds(&e.cond, &r) != cases[i].holds)
			fail_msg("\"%s\" on the record: want %s", cases[i].expr,
			         cases[i].holds ? "true" : "false");
	}
}

static void test_aggregates(void **state)
{
	(void)state;
	struct alert_expr count = parse("count(mem > 90) >= 1");
	assert_false(alert_aggregate_holds(&count, 0, 5));
	assert_true(alert_aggregate_holds(&count, 1, 5));
	struct alert_expr half = parse("fraction(mem > 75) > 50%");
	assert_false(alert_aggregate_holds(&half, 2, 4)); /* exactly half is not more */
	assert_true(alert_aggregate_holds(&half, 3, 5));
	assert_false(alert_aggregate_holds(&half, 0, 0)); /* nothing to judge */
	struct alert_expr third = parse("fraction(mem > 75) >= 0.333");
	assert_true(alert_aggregate_holds(&third, 1, 3));
	assert_false(alert_aggregate_holds(&third, 332, 1000));
	struct alert_expr few = parse("count(score > 75) < 3");
	assert_true(alert_aggregate_holds(&few, 2, 10));
	assert_false(alert_aggregate_holds(&few, 3, 10));
}

static void test_duration_and_webhook(void **state)
{
	(void)state;
	struct {
		const char *text;
		uint64_t ms;
	} good[] = {{"5m", 300000},   {"30s", 30000}, {"1h30m", 5400000}, {"250ms", 250},
	            {"1d", 86400000}, {"0s", 0},      {"7d", 604800000}};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t ms = 1;
		assert_int_equal(alert_duration_parse(good[i].text, strlen(good[i].text), &ms), 0);
		assert_true(ms == good[i].ms);
	}
	const char *bad[] = {"", "5", "m", "5x", "5 m", "-5m", "8d", "1m5", "99999999999999d"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t ms;
		if (alert_duration_parse(bad[i], strlen(bad[i]), &ms) == 0)
			fail_msg("duration \"%s\" accepted", bad[i]);
	}
	assert_true(alert_webhook_valid("http://127.0.0.1:9000/hook", 26));
	assert_true(alert_webhook_valid("https://hooks.example.com", 25));
	const char *urls[] = {"ftp://x",     "http://",       "http:///path",
	                      "https://a b", "hooks.example", "http://:80/x"};
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
		if (alert_webhook_valid(urls[i], strlen(urls[i])))
			fail_msg("webhook \"%s\" accepted", urls[i]);
	char *long_url = malloc(ALERT_WEBHOOK_MAX + 2);
	memcpy(long_url, "http://h/", 9);
	memset(long_url + 9, 'a', ALERT_WEBHOOK_MAX - 8);
	assert_false(alert_webhook_valid(long_url, ALERT_WEBHOOK_MAX + 1));
	assert_true(alert_webhook_valid(long_url, ALERT_WEBHOOK_MAX));
	free(long_url);
}

/* The schema runs the same checks: a bad expr is refused with the parser's
 * position and reason. */
static void test_schema_refuses_bad_rules(void **state)
{
	(void)state;
	/* {"expr": "mem >> 9"} */
	const uint8_t spec[] = {0x81, 0xa4, 'e', 'x', 'p', 'r', 0xa8, 'm',
	                        'e',  'm',  ' ', '>', '>', ' ', '9'};
	/* {"expr": "mem > 90", "for": "5m"} */
	const uint8_t good[] = {0x82, 0xa4, 'e', 'x', 'p',  'r', 0xa8, 'm', 'e',  'm', ' ',
	                        '>',  ' ',  '9', '0', 0xa3, 'f', 'o',  'r', 0xa2, '5', 'm'};
	struct intent_body b = {.kind = INTENT_ALERT_RULE,
	                        .op = INTENT_PUT,
	                        .spec = spec,
	                        .spec_len = sizeof(spec)};
	struct intent_error err = {0};
	assert_int_not_equal(intent_spec_validate(&b, &err), 0);
	assert_int_equal(err.reason, INTENT_R_SCHEMA);
	assert_string_equal(err.text, "spec.expr: position 6: expected a number, found '>'");
	b.spec = good;
	b.spec_len = sizeof(good);
	assert_int_equal(intent_spec_validate(&b, &err), 0);
	struct alert_rule rule;
	assert_int_equal(alert_rule_read(good, sizeof(good), &rule), 0);
	assert_int_equal(rule.expr_len, 8);
	assert_true(rule.for_ms == 300000);
	assert_int_equal(rule.severity_len, 7); /* warning by default */
	assert_null(rule.webhook);
}

static void test_sender_is_agreed_and_moves_minimally(void **state)
{
	(void)state;
	const char *names[] = {"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"};
	const char *reversed[8];
	for (int i = 0; i < 8; i++)
		reversed[i] = names[7 - i];
	assert_int_equal(alert_pick_sender("r", names, 0), -1);
	int moved = 0, spread[8] = {0};
	for (int rule = 0; rule < 200; rule++) {
		char name[32];
		snprintf(name, sizeof(name), "rule-%d", rule);
		int a = alert_pick_sender(name, names, 8);
		assert_true(a >= 0 && a < 8);
		/* the order the members are listed in does not matter */
		assert_string_equal(reversed[alert_pick_sender(name, reversed, 8)], names[a]);
		spread[a]++;
		/* remove the chosen one: another takes over */
		const char *rest[7];
		for (int i = 0, k = 0; i < 8; i++)
			if (i != a)
				rest[k++] = names[i];
		int b = alert_pick_sender(name, rest, 7);
		assert_string_not_equal(rest[b], names[a]);
		/* remove someone else: the chosen one stays */
		int other = (a + 1) % 8;
		for (int i = 0, k = 0; i < 8; i++)
			if (i != other)
				rest[k++] = names[i];
		if (strcmp(rest[alert_pick_sender(name, rest, 7)], names[a]) != 0)
			moved++;
	}
	assert_int_equal(moved, 0);
	for (int i = 0; i < 8; i++) /* each member delivers some rules (200/8 = 25 each) */
		assert_true(spread[i] >= 8);
}

static void test_idempotency_key(void **state)
{
	(void)state;
	char k1[33], k2[33], k3[33], k4[33], k5[33];
	alert_idempotency_key("mem-high", 7, 1000, "firing", k1);
	alert_idempotency_key("mem-high", 7, 1000, "firing", k2);
	alert_idempotency_key("mem-high", 7, 1001, "firing", k3);
	alert_idempotency_key("mem-high", 8, 1000, "firing", k4);
	alert_idempotency_key("mem-high", 7, 1000, "resolved", k5);
	assert_int_equal(strlen(k1), 32);
	assert_string_equal(k1, k2);
	assert_string_not_equal(k1, k3);
	assert_string_not_equal(k1, k4);
	assert_string_not_equal(k1, k5);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_and_canonical_form),
	        cmocka_unit_test(test_refusals_say_where_and_why),
	        cmocka_unit_test(test_metrics_read_the_record),
	        cmocka_unit_test(test_aggregates),
	        cmocka_unit_test(test_duration_and_webhook),
	        cmocka_unit_test(test_schema_refuses_bad_rules),
	        cmocka_unit_test(test_sender_is_agreed_and_moves_minimally),
	        cmocka_unit_test(test_idempotency_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
