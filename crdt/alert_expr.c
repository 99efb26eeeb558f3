/*
 * alert_expr.c - the AlertRule expression language: parse, format, judge
 * (grammar in include/shoal/alert.h and docs/intents.md).
 *
 * Parsed at ingress by the spec schema, so no node ever stores an expr
 * that some node would fail to read; parsed again by each node that
 * evaluates the rule (a few hundred nanoseconds). Numbers are fixed point
 * in thousandths and every comparison is on integers: the verdict is a
 * pure function of the record, the same on every node.
 */
#include "shoal/alert.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "shoal/error.h"

static const char *const metric_names[ALERT_METRIC_COUNT] = {
        [ALERT_CPU] = "cpu",
        [ALERT_MEM] = "mem",
        [ALERT_DISK] = "disk",
        [ALERT_LOSS] = "loss",
        [ALERT_SCORE] = "score",
        [ALERT_CONNECTIVITY] = "connectivity",
        [ALERT_RELIABILITY] = "reliability",
        [ALERT_SECURITY] = "security",
        [ALERT_PERFORMANCE] = "performance",
        [ALERT_RTT_P50_MS] = "rtt_p50_ms",
        [ALERT_RTT_P99_MS] = "rtt_p99_ms",
        [ALERT_RESTARTS] = "restarts",
        [ALERT_PODS + HEALTH_POD_RUNNING] = "pods.running",
        [ALERT_PODS + HEALTH_POD_CREATING] = "pods.creating",
        [ALERT_PODS + HEALTH_POD_WAITING_IMAGE] = "pods.waiting-image",
        [ALERT_PODS + HEALTH_POD_CONFIG_ERROR] = "pods.config-error",
        [ALERT_PODS + HEALTH_POD_CRASH_LOOP] = "pods.crash-loop",
        [ALERT_PODS + HEALTH_POD_OOM_KILLED] = "pods.oom-killed",
        [ALERT_PODS + HEALTH_POD_UNSCHEDULABLE] = "pods.unschedulable",
        [ALERT_PODS + HEALTH_POD_PENDING] = "pods.pending",
};

static const char *const op_names[] = {">", ">=", "<", "<=", "==", "!="};

const char *alert_metric_name(enum alert_metric m)
{
	return m < ALERT_METRIC_COUNT ? metric_names[m] : "?";
}

const char *alert_op_name(enum alert_op op)
{
	return op <= ALERT_NE ? op_names[op] : "?";
}

static bool is_percent(enum alert_metric m)
{
	return m == ALERT_CPU || m == ALERT_MEM || m == ALERT_DISK || m == ALERT_LOSS;
}

/* ---- parsing ----------------------------------------------------------- */

struct lex {
	const char *s;
	size_t len, pos;
	char *err;
	size_t errcap;
};

static int fail(struct lex *l, const char *fmt, ...)
{
	if (l->err != NULL && l->errcap > 0) {
		int n = snprintf(l->err, l->errcap, "expr: position %zu: ", l->pos + 1);
		if (n > 0 && (size_t)n < l->errcap) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(l->err + n, l->errcap - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return SHOAL_E_MALFORMED;
}

static void skip_space(struct lex *l)
{
	while (l->pos < l->len && (l->s[l->pos] == ' ' || l->s[l->pos] == '\t'))
		l->pos++;
}

/* What is at the cursor, for messages: a quoted character or the end. */
static const char *found(struct lex *l, char buf[8])
{
	if (l->pos >= l->len)
		return "end of expr";
	unsigned char c = (unsigned char)l->s[l->pos];
	if (c >= 0x21 && c < 0x7f)
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "0x%02x", c);
	return buf;
}

static bool ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || c == '_';
}

static bool ident_char(char c)
{
	return ident_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* An identifier at the cursor: its length (0 if none). */
static size_t ident(struct lex *l)
{
	size_t n = 0;
	if (l->pos < l->len && ident_start(l->s[l->pos]))
		while (l->pos + n < l->len && ident_char(l->s[l->pos + n]) && n < 64)
			n++;
	return n;
}

static bool ident_is(struct lex *l, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(l->s + l->pos, word, n) == 0;
}

static int parse_metric(struct lex *l, enum alert_metric *out)
{
	char b[8];
	skip_space(l);
	size_t n = ident(l);
	for (int m = 0; n > 0 && m < ALERT_METRIC_COUNT; m++)
		if (ident_is(l, n, metric_names[m])) {
			*out = (enum alert_metric)m;
			l->pos += n;
			return 0;
		}
	if (n == 0)
		return fail(l, "expected a metric (cpu, mem, disk, score, ...), found %s",
		            found(l, b));
	return fail(l, "unknown metric \"%.*s\" (docs/intents.md lists them)",
	            (int)(n > 32 ? 32 : n), l->s + l->pos);
}

static int parse_op(struct lex *l, enum alert_op *out)
{
	char b[8];
	skip_space(l);
	const char *p = l->s + l->pos;
	size_t left = l->len - l->pos;
	bool eq = left >= 2 && p[1] == '=';
	if (left >= 1 && p[0] == '>') {
		*out = eq ? ALERT_GE : ALERT_GT;
	} else if (left >= 1 && p[0] == '<') {
		*out = eq ? ALERT_LE : ALERT_LT;
	} else if (left >= 2 && p[0] == '=' && eq) {
		*out = ALERT_EQ;
	} else if (left >= 2 && p[0] == '!' && eq) {
		*out = ALERT_NE;
	} else {
		return fail(l, "expected a comparison (>, >=, <, <=, ==, !=), found %s",
		            found(l, b));
	}
	l->pos += eq ? 2 : 1;
	return 0;
}

/* digits ["." 1-3 digits] ["%"], in thousandths. */
static int parse_number(struct lex *l, int64_t *milli, bool *percent)
{
	char b[8];
	uint64_t v = 0;
	size_t digits = 0;
	skip_space(l);
	while (l->pos < l->len && l->s[l->pos] >= '0' && l->s[l->pos] <= '9') {
		v = v * 10 + (uint64_t)(l->s[l->pos++] - '0');
		if (++digits > 13)
			return fail(l, "number too large (at most %llu)",
			            (unsigned long long)(ALERT_NUMBER_LIMIT / 1000));
	}
	if (digits == 0)
		return fail(l, "expected a number, found %s", found(l, b));
	v *= 1000;
	if (l->pos < l->len && l->s[l->pos] == '.') {
		l->pos++;
		uint64_t scale = 100;
		size_t decimals = 0;
		while (l->pos < l->len && l->s[l->pos] >= '0' && l->s[l->pos] <= '9') {
			if (++decimals > 3)
				return fail(l, "at most 3 decimals");
			v += (uint64_t)(l->s[l->pos++] - '0') * scale;
			scale /= 10;
		}
		if (decimals == 0)
			return fail(l, "expected a digit after '.', found %s", found(l, b));
	}
	if (v > ALERT_NUMBER_LIMIT)
		return fail(l, "number too large (at most %llu)",
		            (unsigned long long)(ALERT_NUMBER_LIMIT / 1000));
	*percent = false;
	skip_space(l);
	if (l->pos < l->len && l->s[l->pos] == '%') {
		*percent = true;
		l->pos++;
	}
	*milli = (int64_t)v;
	return 0;
}

static int parse_cond(struct lex *l, struct alert_cond *c)
{
	bool percent;
	int rc;
	if ((rc = parse_metric(l, &c->metric)) != 0 || (rc = parse_op(l, &c->op)) != 0)
		return rc;
	size_t at = l->pos;
	if ((rc = parse_number(l, &c->milli, &percent)) != 0)
		return rc;
	if (percent && !is_percent(c->metric)) {
		l->pos = at;
		return fail(l, "'%%' after a number of %s, which is not a percentage",
		            metric_names[c->metric]);
	}
	return 0;
}

static int parse_aggregate(struct lex *l, struct alert_expr *e)
{
	char b[8];
	bool percent;
	int rc;
	skip_space(l);
	if (l->pos >= l->len || l->s[l->pos] != '(')
		return fail(l, "expected '(' after %s, found %s",
		            e->scope == ALERT_COUNT ? "count" : "fraction", found(l, b));
	l->pos++;
	if ((rc = parse_cond(l, &e->cond)) != 0)
		return rc;
	skip_space(l);
	if (l->pos >= l->len || l->s[l->pos] != ')')
		return fail(l, "expected ')', found %s", found(l, b));
	l->pos++;
	if ((rc = parse_op(l, &e->agg_op)) != 0)
		return rc;
	size_t at = l->pos;
	if ((rc = parse_number(l, &e->agg_milli, &percent)) != 0)
		return rc;
	size_t end = l->pos;
	l->pos = at; /* a refusal below points at the number */
	skip_space(l);
	if (e->scope == ALERT_COUNT) {
		if (percent || e->agg_milli % 1000 != 0)
			return fail(l, "count() compares with a whole number of sites");
	} else if (percent) {
		if (e->agg_milli % 100 != 0 || e->agg_milli > 100000)
			return fail(l, "a fraction in percent is 0-100 with at most 1 decimal");
		e->agg_milli /= 100;
	} else if (e->agg_milli > 1000) {
		return fail(l, "a fraction is 0-1 (or 0-100%%)");
	}
	l->pos = end;
	return 0;
}

int alert_expr_parse(const char *text, size_t len, struct alert_expr *out, char *err, size_t errcap)
{
	struct lex l = {text, len, 0, err, errcap};
	char b[8];
	int rc;
	memset(out, 0, sizeof(*out));
	if (len > ALERT_EXPR_MAX) {
		fail(&l, "longer than %d bytes", ALERT_EXPR_MAX);
		return SHOAL_E_TOO_BIG;
	}
	skip_space(&l);
	if (l.pos >= l.len)
		return fail(&l, "empty expression");
	size_t n = ident(&l);
	size_t after = l.pos + n;
	while (after < len && (text[after] == ' ' || text[after] == '\t'))
		after++;
	bool call = after < len && text[after] == '(';
	if (ident_is(&l, n, "count")) {
		out->scope = ALERT_COUNT;
		l.pos += n;
		rc = parse_aggregate(&l, out);
	} else if (ident_is(&l, n, "fraction")) {
		out->scope = ALERT_FRACTION;
		l.pos += n;
		rc = parse_aggregate(&l, out);
	} else if (call) {
		rc = fail(&l, "unknown function \"%.*s\" (count or fraction)", (int)n,
		          text + l.pos);
	} else {
		out->scope = ALERT_SITE;
		rc = parse_cond(&l, &out->cond);
	}
	if (rc != 0)
		return rc;
	skip_space(&l);
	if (l.pos < l.len)
		return fail(&l, "unexpected %s after the expression", found(&l, b));
	return 0;
}

/* ---- formatting -------------------------------------------------------- */

static int format_number(int64_t milli, char *out, size_t cap)
{
	int64_t whole = milli / 1000, frac = milli % 1000;
	if (frac == 0)
		return snprintf(out, cap, "%lld", (long long)whole);
	char f[4] = {(char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
	             (char)('0' + frac % 10), '\0'};
	for (int i = 2; i > 0 && f[i] == '0'; i--)
		f[i] = '\0';
	return snprintf(out, cap, "%lld.%s", (long long)whole, f);
}

int alert_expr_format(const struct alert_expr *e, char *out, size_t cap)
{
	char num[32], agg[32];
	format_number(e->cond.milli, num, sizeof(num));
	int n;
	if (e->scope == ALERT_SITE) {
		n = snprintf(out, cap, "%s %s %s", alert_metric_name(e->cond.metric),
		             alert_op_name(e->cond.op), num);
	} else {
		format_number(e->agg_milli, agg, sizeof(agg));
		n = snprintf(out, cap, "%s(%s %s %s) %s %s",
		             e->scope == ALERT_COUNT ? "count" : "fraction",
		             alert_metric_name(e->cond.metric), alert_op_name(e->cond.op), num,
		             alert_op_name(e->agg_op), agg);
	}
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* ---- judging ----------------------------------------------------------- */

int64_t alert_metric_value(const struct health_record *r, enum alert_metric m)
{
	switch (m) {
	case ALERT_CPU:
		return (int64_t)r->cpu_pm * 100; /* per mille -> thousandths of a percent */
	case ALERT_MEM:
		return (int64_t)r->mem_pm * 100;
	case ALERT_DISK:
		return (int64_t)r->disk_pm * 100;
	case ALERT_LOSS:
		return (int64_t)r->links.loss_pm * 100;
	case ALERT_SCORE:
		return (int64_t)r->score.score * 1000;
	case ALERT_CONNECTIVITY:
		return (int64_t)r->score.connectivity * 1000;
	case ALERT_RELIABILITY:
		return (int64_t)r->score.reliability * 1000;
	case ALERT_SECURITY:
		return (int64_t)r->score.security * 1000;
	case ALERT_PERFORMANCE:
		return (int64_t)r->score.performance * 1000;
	case ALERT_RTT_P50_MS:
		return (int64_t)r->links.rtt_p50_us; /* microseconds = thousandths of a ms */
	case ALERT_RTT_P99_MS:
		return (int64_t)r->links.rtt_p99_us;
	case ALERT_RESTARTS:
		return (int64_t)r->restarts * 1000;
	default:
		if (m >= ALERT_PODS && m < ALERT_METRIC_COUNT)
			return (int64_t)r->pods[m - ALERT_PODS] * 1000;
		return 0;
	}
}

bool alert_compare(int64_t value, enum alert_op op, int64_t milli)
{
	switch (op) {
	case ALERT_GT:
		return value > milli;
	case ALERT_GE:
		return value >= milli;
	case ALERT_LT:
		return value < milli;
	case ALERT_LE:
		return value <= milli;
	case ALERT_EQ:
		return value == milli;
	case ALERT_NE:
		return value != milli;
	}
	return false;
}

bool alert_cond_holds(const struct alert_cond *c, const struct health_record *r)
{
	return alert_compare(alert_metric_value(r, c->metric), c->op, c->milli);
}

bool alert_aggregate_holds(const struct alert_expr *e, uint32_t matching, uint32_t total)
{
	if (e->scope == ALERT_COUNT)
		return alert_compare((int64_t)matching * 1000, e->agg_op, e->agg_milli);
	if (e->scope != ALERT_FRACTION || total == 0)
		return false;
	/* matching/total OP agg/1000, cross-multiplied to stay in integers. */
	return alert_compare((int64_t)matching * 1000, e->agg_op, e->agg_milli * (int64_t)total);
}
