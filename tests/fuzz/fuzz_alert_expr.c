/*
 * fuzz_alert_expr.c - libFuzzer target for the AlertRule expression parser
 * (and the `for` and webhook checks beside it in the schema).
 *
 * Checks the contract, not just "no crash": a refusal is
 * SHOAL_E_MALFORMED or SHOAL_E_TOO_BIG with an "expr: position N: "
 * message inside the input's bounds; an accepted expression has fields in
 * range, a canonical text that parses back to the same expression and the
 * same text, and a verdict on a record that follows the comparison it
 * names (a value on the threshold holds exactly for >=, <=, ==).
 */
#include "shoal/alert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static void check_refusal(int rc, const char *err, size_t size)
{
	CHECK(rc == SHOAL_E_MALFORMED || rc == SHOAL_E_TOO_BIG);
	CHECK(strncmp(err, "expr: position ", 15) == 0);
	unsigned long pos = strtoul(err + 15, NULL, 10);
	CHECK(pos >= 1 && pos <= size + 1);
}

/* A record whose every metric sits exactly on the condition's number when
 * the number is representable in that metric's unit. */
static void check_verdict(const struct alert_expr *e)
{
	static struct health_record r;
	memset(&r, 0, sizeof(r));
	CHECK(alert_metric_value(&r, e->cond.metric) == 0);
	bool zero = alert_cond_holds(&e->cond, &r);
	bool want = alert_compare(0, e->cond.op, e->cond.milli);
	CHECK(zero == want);
	if (e->cond.milli == 0)
		CHECK(zero ==
		      (e->cond.op == ALERT_GE || e->cond.op == ALERT_LE || e->cond.op == ALERT_EQ));
	if (e->scope != ALERT_SITE) {
		CHECK(!(e->scope == ALERT_FRACTION && alert_aggregate_holds(e, 0, 0)));
		bool all = alert_aggregate_holds(e, 3, 3), none = alert_aggregate_holds(e, 0, 3);
		if (e->agg_op == ALERT_GE && e->agg_milli == 0)
			CHECK(all && none);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alert_expr e, again;
	char err[ALERT_ERR_MAX], text[ALERT_TEXT_MAX], text2[ALERT_TEXT_MAX];
	uint64_t ms;
	err[0] = '\0';

	/* The schema's other two string checks must never crash either. */
	if (alert_duration_parse((const char *)data, size, &ms) == 0)
		CHECK(ms <= ALERT_FOR_MAX_MS);
	(void)alert_webhook_valid((const char *)data, size);

	int rc = alert_expr_parse((const char *)data, size, &e, err, sizeof(err));
	if (rc != 0) {
		check_refusal(rc, err, size);
		return 0;
	}
	CHECK(e.cond.metric < ALERT_METRIC_COUNT && e.cond.op <= ALERT_NE);
	CHECK(e.cond.milli >= 0 && (uint64_t)e.cond.milli <= ALERT_NUMBER_LIMIT);
	if (e.scope == ALERT_FRACTION)
		CHECK(e.agg_milli >= 0 && e.agg_milli <= 1000);
	if (e.scope == ALERT_COUNT)
		CHECK(e.agg_milli % 1000 == 0);

	int n = alert_expr_format(&e, text, sizeof(text));
	CHECK(n > 0 && (size_t)n < sizeof(text));
	CHECK(alert_expr_parse(text, (size_t)n, &again, err, sizeof(err)) == 0);
	CHECK(again.scope == e.scope && again.cond.metric == e.cond.metric &&
	      again.cond.op == e.cond.op && again.cond.milli == e.cond.milli);
	if (e.scope != ALERT_SITE)
		CHECK(again.agg_op == e.agg_op && again.agg_milli == e.agg_milli);
	CHECK(alert_expr_format(&again, text2, sizeof(text2)) == n);
	CHECK(strcmp(text, text2) == 0);
	check_verdict(&e);
	return 0;
}
