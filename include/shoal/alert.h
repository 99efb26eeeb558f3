/*
 * alert.h - AlertRule intents: the expression language, the spec reader,
 * and the deterministic choices every node must make alike (who delivers
 * an episode to the webhook, its idempotency key).
 *
 * Grammar (docs/intents.md, "AlertRule"):
 *
 *   expr      = condition | aggregate
 *   condition = METRIC OP NUMBER ["%"]
 *   aggregate = ("count" | "fraction") "(" condition ")" OP NUMBER ["%"]
 *   OP        = ">" | ">=" | "<" | "<=" | "==" | "!="
 *   NUMBER    = digits ["." 1-3 digits]
 *
 * A condition alone is a per-site rule: each site the rule selects judges
 * it against its own figures. count()/fraction() make a fleet-wide rule,
 * judged by every node over the fresh sites the rule selects. Numbers are
 * kept in thousandths and compared as integers, so every node gets the
 * same verdict from the same records. "%" is allowed after a percent
 * metric's number and after a fraction's (50% = 0.5).
 *
 * All functions are pure (sans-IO): time comes in as arguments.
 * Thread-safety: no shared state.
 */
#ifndef SHOAL_ALERT_H
#define SHOAL_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shoal/health.h"

#define ALERT_EXPR_MAX     4096 /* bytes of an expr (the schema's bound) */
#define ALERT_ERR_MAX      160  /* room for a parse error message */
#define ALERT_TEXT_MAX     96   /* room for a canonical expr */
#define ALERT_FOR_MAX_MS   (7 * 24 * 3600 * UINT64_C(1000)) /* longest `for` */
#define ALERT_WEBHOOK_MAX  2048                             /* bytes of a webhook URL */
#define ALERT_NUMBER_LIMIT (UINT64_C(1000000000000))        /* largest number, in thousandths */

enum alert_metric {
	ALERT_CPU = 0, /* percent */
	ALERT_MEM,
	ALERT_DISK,
	ALERT_LOSS,  /* probes unanswered, percent */
	ALERT_SCORE, /* 0-100 */
	ALERT_CONNECTIVITY,
	ALERT_RELIABILITY,
	ALERT_SECURITY,
	ALERT_PERFORMANCE,
	ALERT_RTT_P50_MS,
	ALERT_RTT_P99_MS,
	ALERT_RESTARTS,
	ALERT_PODS, /* + enum health_pod: pods.running ... pods.pending */
	ALERT_METRIC_COUNT = ALERT_PODS + HEALTH_POD_COUNT,
};

enum alert_op { ALERT_GT = 0, ALERT_GE, ALERT_LT, ALERT_LE, ALERT_EQ, ALERT_NE };

enum alert_scope {
	ALERT_SITE = 0, /* a condition on each site */
	ALERT_COUNT,    /* count(condition) OP N over the selected sites */
	ALERT_FRACTION, /* fraction(condition) OP F over the selected sites */
};

struct alert_cond {
	enum alert_metric metric;
	enum alert_op op;
	int64_t milli; /* the number, in thousandths */
};

struct alert_expr {
	enum alert_scope scope;
	struct alert_cond cond;
	enum alert_op agg_op; /* count/fraction only */
	int64_t agg_milli;    /* count: N x 1000; fraction: 0-1000 */
};

/* Parse `len` bytes. 0, or SHOAL_E_MALFORMED (SHOAL_E_TOO_BIG past
 * ALERT_EXPR_MAX) with "expr: position N: ..." in err. */
int alert_expr_parse(const char *text, size_t len, struct alert_expr *out, char *err,
                     size_t errcap);
/* The canonical text ("mem > 90", "count(cpu >= 80.5) >= 3"); it parses
 * back to an equal expression. Returns the length, or -1 if cap is short. */
int alert_expr_format(const struct alert_expr *e, char *out, size_t cap);
const char *alert_metric_name(enum alert_metric m);
const char *alert_op_name(enum alert_op op);

/* A metric of a record, in thousandths of its unit. */
int64_t alert_metric_value(const struct health_record *r, enum alert_metric m);
/* Whether the record satisfies the condition. */
bool alert_cond_holds(const struct alert_cond *c, const struct health_record *r);
/* An aggregate's verdict from `matching` of `total` sites. A fraction over
 * no site is never true (there is nothing to judge). */
bool alert_aggregate_holds(const struct alert_expr *e, uint32_t matching, uint32_t total);
bool alert_compare(int64_t value, enum alert_op op, int64_t milli);

/* `for`: one or more <digits><unit> with unit ms, s, m, h, d ("1h30m"),
 * at most ALERT_FOR_MAX_MS. 0 or SHOAL_E_MALFORMED. */
int alert_duration_parse(const char *text, size_t len, uint64_t *ms);
/* A webhook URL: http:// or https://, a host, <= ALERT_WEBHOOK_MAX bytes of
 * printable ASCII without spaces. */
bool alert_webhook_valid(const char *text, size_t len);

/* An AlertRule spec as read from its msgpack map (strings point into it). */
struct alert_rule {
	const char *expr;
	uint32_t expr_len;
	uint64_t for_ms;      /* 0 when absent */
	const char *severity; /* "warning" when absent */
	uint32_t severity_len;
	const char *webhook; /* NULL when absent */
	uint32_t webhook_len;
};

/* Read a spec that passed the schema; 0 or -EINVAL. */
int alert_rule_read(const uint8_t *spec, uint32_t len, struct alert_rule *out);

/* Rendezvous hashing: the member among `names` with the highest
 * SHA-256(rule NUL member) weight delivers the rule's episodes. Every node
 * that sees the same members picks the same one; when it goes, only the
 * rule's that it held move. -1 when n == 0. */
int alert_pick_sender(const char *rule, const char *const *names, size_t n);
/* The Idempotency-Key of one notification: 32 lower-case hex digits of
 * SHA-256(rule NUL version start_ms state). Retries and another node's
 * send of the same episode and state carry the same key. */
void alert_idempotency_key(const char *rule, uint64_t version, uint64_t start_ms, const char *state,
                           char out[33]);

#endif
