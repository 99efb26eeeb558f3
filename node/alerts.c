/*
 * alerts.c - AlertRule intents judged, shown and delivered (alerts.h).
 *
 * A timer (the health sample period) rebuilds the rule list when the
 * intents changed, walks the fleet once for every rule, follows each
 * rule's episode and drives its webhook delivery.
 *
 * Episodes and their start. Every node that sees a rule fire must name the
 * episode alike, because the webhook's idempotency key is derived from its
 * start and whichever node delivers must send the key the others would.
 * So the start is taken from replicated data, not from this node's clock:
 * for a per-site rule, the oldest version time among the fresh records
 * listing it when it began; for a fleet-wide rule, the version time of the
 * newest record on the side that made the aggregate true; and never
 * before the rule's own version (a condition already true when the rule
 * was written starts with the rule). Nodes that saw the same records at
 * the transition agree; a node that arrives in the middle of an episode
 * (restarted, or healed from a partition) may start it later and send its
 * own key, which is the "once per connected part of the mesh".
 */
#include "alerts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "shoal/alert.h"
#include "shoal/error.h"
#include "shoal/intent_store.h"
#include "shoal/selector.h"

#include "clock.h"
#include "fleet.h"
#include "node.h"
#include "webhook.h"

#define TICK_MS         5000  /* the health sample period; the fast profile divides by 10 */
#define BACKOFF_MIN_MS  1000  /* first retry; doubles (fast profile /10) */
#define BACKOFF_MAX_MS  60000 /* longest wait between attempts (fast profile /10) */
#define POST_TIMEOUT_MS 10000

/* One notification on its way: a firing or a resolved, retried until 2xx. */
struct send {
	bool active;
	bool resolved;
	uint64_t start_ms;
	char key[33];
	char *body;
	size_t len;
	unsigned attempts;
	uint64_t next_ms; /* monotonic ms of the next attempt */
	struct node_webhook_req *req;
};

struct rule {
	struct node_alerts *owner;
	char name[INTENT_NAME_MAX + 1];
	uint64_t version;
	bool live;
	struct alert_expr expr;
	char expr_text[ALERT_TEXT_MAX];
	char severity[16];
	char *webhook; /* NULL: shown, not delivered */
	uint64_t for_ms;
	struct selector *sel; /* effective target; NULL selects nothing here */

	/* this site, per-site rules */
	uint64_t local_since_ms; /* wall ms the condition began holding here; 0 = not */
	bool local_firing;

	/* the fleet view */
	bool holding;      /* the condition holds now */
	bool firing;       /* ... and has for `for` */
	uint64_t start_ms; /* the episode's start; 0 without one */
	uint32_t count, total;
	json_t *sites;            /* site names: listing it (per-site) or matching (fleet) */
	uint64_t t_true, t_false; /* walk scratch: newest record time on each side */
	uint64_t t_list;          /* walk scratch: oldest listing record time */

	/* delivery */
	bool sent_firing;     /* this node delivered the episode's firing */
	bool owe_resolved;    /* the episode ended: a resolved is due */
	uint64_t ended_start; /* ... for the episode that started then */
	json_t *ended_sites;  /* the sites it last fired for */
	struct send send;
};

struct node_alerts {
	struct node *n;
	struct rule **rules; /* in name order; pointers stable for callbacks */
	size_t nrules;
	bool built;
	uint64_t changes_seen;
	uv_timer_t timer;
	bool timer_open;
	struct node_webhook *webhook;
	uint64_t sent, failed, fired, resolved;
};

static uint64_t profile_div(const struct node *n)
{
	return n->cfg->profile == NODE_PROFILE_FAST ? 10 : 1;
}

static uint64_t mono_ms(void)
{
	return node_now() / 1000;
}

static json_t *time_json(uint64_t wall_ms)
{
	char text[NODE_RFC3339_LEN];
	if (wall_ms == 0 || node_clock_rfc3339(wall_ms * 1000, text, sizeof(text)) != 0)
		return json_null();
	return json_string(text);
}

static const char *scope_name(const struct rule *r)
{
	return r->expr.scope == ALERT_SITE ? "site" : "fleet";
}

/* ---- the rule list ----------------------------------------------------- */

static void send_cancel(struct send *s)
{
	node_webhook_cancel(s->req);
	s->req = NULL;
	free(s->body);
	s->body = NULL;
	s->active = false;
}

static void rule_free(struct rule *r)
{
	send_cancel(&r->send);
	selector_delete(r->sel);
	free(r->webhook);
	json_decref(r->sites);
	json_decref(r->ended_sites);
	free(r);
}

static struct rule *find(struct node_alerts *a, const char *name)
{
	for (size_t i = 0; i < a->nrules; i++)
		if (strcmp(a->rules[i]->name, name) == 0)
			return a->rules[i];
	return NULL;
}

/* Fill a rule's definition from its intent; false if it cannot apply. */
static bool define(struct rule *r, const struct intent_item *it)
{
	const struct intent_body *b = &it->env.body;
	struct alert_rule spec;
	if (alert_rule_read(b->spec, b->spec_len, &spec) != 0 ||
	    alert_expr_parse(spec.expr, spec.expr_len, &r->expr, NULL, 0) != 0)
		return false; /* the schema let it in, so this does not happen */
	alert_expr_format(&r->expr, r->expr_text, sizeof(r->expr_text));
	snprintf(r->severity, sizeof(r->severity), "%.*s", (int)spec.severity_len, spec.severity);
	r->for_ms = spec.for_ms;
	free(r->webhook);
	r->webhook = NULL;
	if (spec.webhook != NULL && (r->webhook = malloc(spec.webhook_len + 1)) != NULL) {
		memcpy(r->webhook, spec.webhook, spec.webhook_len);
		r->webhook[spec.webhook_len] = '\0';
	}
	return true;
}

static void rebuild(struct node_alerts *a)
{
	struct node *n = a->n;
	size_t count = n->intents != NULL ? intent_store_count(n->intents) : 0;
	struct rule **next = calloc(count > 0 ? count : 1, sizeof(*next));
	size_t nnext = 0;
	if (next == NULL)
		return; /* try again at the next tick */
	for (size_t i = 0; i < a->nrules; i++)
		a->rules[i]->live = false;
	for (size_t i = 0; i < count; i++) {
		const struct intent_item *it = intent_store_at(n->intents, i);
		const struct intent_body *b = &it->env.body;
		if (b->kind != INTENT_ALERT_RULE || it->stub)
			continue; /* a leaf's stub: a rule that does not select it */
		struct selector *sel = NULL;
		int rc = intent_store_effective_target(n->intents, it, &sel, NULL, 0);
		if (rc == SHOAL_E_STATE)
			continue; /* deleted, revoked, unauthorized: no rule */
		struct rule *r = find(a, b->name);
		if (r != NULL && r->version != b->hlc) {
			/* A new version is a new rule: its episodes are its own. */
			r->live = false;
			r = NULL;
		}
		bool fresh = r == NULL;
		if (fresh && (r = calloc(1, sizeof(*r))) == NULL) {
			selector_delete(sel);
			continue;
		}
		if (fresh) {
			r->owner = a;
			snprintf(r->name, sizeof(r->name), "%s", b->name);
			r->version = b->hlc;
			r->sites = json_array();
			if (!define(r, it)) {
				selector_delete(sel);
				rule_free(r);
				continue;
			}
		}
		r->live = true;
		selector_delete(r->sel);
		r->sel = rc == 0 ? sel : NULL;
		next[nnext++] = r;
	}
	for (size_t i = 0; i < a->nrules; i++)
		if (!a->rules[i]->live)
			rule_free(a->rules[i]);
	free(a->rules);
	a->rules = next;
	a->nrules = nnext;
}

/* ---- judging on this site ---------------------------------------------- */

uint32_t node_alerts_local(struct node *n, const struct health_record *rec,
                           const struct shoal_labels *labels, struct health_str *out)
{
	struct node_alerts *a = n->alerts;
	uint32_t k = 0;
	uint64_t wall = node_wall_ms();
	if (a == NULL)
		return 0;
	for (size_t i = 0; i < a->nrules; i++) {
		struct rule *r = a->rules[i];
		if (r->expr.scope != ALERT_SITE)
			continue;
		bool holds = r->sel != NULL && selector_matches(r->sel, labels) &&
		             alert_cond_holds(&r->expr.cond, rec);
		if (!holds) {
			r->local_since_ms = 0;
			r->local_firing = false;
			continue;
		}
		if (r->local_since_ms == 0)
			r->local_since_ms = wall;
		r->local_firing = wall - r->local_since_ms >= r->for_ms;
		if (r->local_firing && k < HEALTH_ALERTS_MAX)
			out[k++] = (struct health_str){r->name, (uint32_t)strlen(r->name)};
	}
	return k;
}

/* ---- judging over the fleet -------------------------------------------- */

static bool lists(const struct health_record *rec, const char *name)
{
	size_t len = strlen(name);
	for (uint32_t i = 0; i < rec->n_alerts; i++)
		if (rec->alerts[i].len == len && memcmp(rec->alerts[i].s, name, len) == 0)
			return true;
	return false;
}

static void on_site(void *ctx, const struct fleet_site *s)
{
	struct node_alerts *a = ctx;
	if (s->view != FLEET_FRESH || s->rec == NULL)
		return; /* only a fresh record vouches for a site */
	uint64_t t = shoal_hlc_ms(s->entry->version);
	for (size_t i = 0; i < a->nrules; i++) {
		struct rule *r = a->rules[i];
		if (r->expr.scope == ALERT_SITE) {
			if (!lists(s->rec, r->name))
				continue;
			json_array_append_new(r->sites, json_string(s->name));
			r->count++;
			if (r->t_list == 0 || t < r->t_list)
				r->t_list = t;
			continue;
		}
		if (r->sel == NULL || !selector_matches(r->sel, s->labels))
			continue;
		r->total++;
		if (alert_cond_holds(&r->expr.cond, s->rec)) {
			r->count++;
			json_array_append_new(r->sites, json_string(s->name));
			if (t > r->t_true)
				r->t_true = t;
		} else if (t > r->t_false) {
			r->t_false = t;
		}
	}
}

static void log_transition(struct node_alerts *a, struct rule *r, bool firing)
{
	json_t *f =
	        json_pack("{s:s,s:s,s:s,s:s,s:O,s:I,s:o}", "rule", r->name, "scope", scope_name(r),
	                  "severity", r->severity, "expr", r->expr_text, "sites", r->sites, "count",
	                  (json_int_t)r->count, "since", time_json(r->start_ms));
	node_log_event(&a->n->log, firing ? NODE_LOG_WARN : NODE_LOG_INFO,
	               firing ? "alert_firing" : "alert_resolved", f);
}

/* Follow one rule's episode from what the walk found. */
static void judge(struct node_alerts *a, struct rule *r, uint64_t wall)
{
	bool holding;
	uint64_t t;
	if (r->expr.scope == ALERT_SITE) {
		holding = r->count > 0;
		t = r->t_list;
	} else {
		holding = alert_aggregate_holds(&r->expr, r->count, r->total);
		bool more = r->expr.agg_op == ALERT_LT || r->expr.agg_op == ALERT_LE;
		t = more ? r->t_false : r->t_true;
	}
	uint64_t rule_ms = shoal_hlc_ms(r->version);
	if (holding && !r->holding)
		r->start_ms = t > rule_ms ? t : rule_ms;
	r->holding = holding;
	/* A per-site rule's `for` was served on the site before it listed it. */
	uint64_t wait = r->expr.scope == ALERT_SITE ? 0 : r->for_ms;
	bool firing = holding && wall >= r->start_ms + wait;
	if (firing && !r->firing) {
		a->fired++;
		log_transition(a, r, true);
		r->sent_firing = false;
		r->owe_resolved = false;
	} else if (!firing && r->firing) {
		a->resolved++;
		log_transition(a, r, false);
		r->owe_resolved = r->webhook != NULL;
		r->ended_start = r->start_ms;
		r->sent_firing = false;
	}
	if (firing && (r->ended_sites == NULL || !json_equal(r->ended_sites, r->sites))) {
		json_decref(r->ended_sites);
		r->ended_sites = json_copy(r->sites);
	}
	r->firing = firing;
	if (!holding)
		r->start_ms = 0;
}

/* ---- delivery ---------------------------------------------------------- */

/* The member that delivers this rule's episodes, among those alive here
 * and not leaves: a leaf holds no other site's record, so it judges the
 * fleet from its own alone, and every node leaves it out alike. */
static bool deliverer(struct node *n, const char *rule, char *who, size_t cap)
{
	const char **names = NULL;
	size_t count = 0, capn = 0;
	struct swim_member_info m;
	uint32_t cursor = 0;
	int pick = -1;
	while (n->swim != NULL && swim_member_next(n->swim, &cursor, &m) == 0) {
		if (m.state != SWIM_ALIVE || shoal_labels_say_leaf(NULL, m.labels, m.labels_len))
			continue;
		if (count == capn) {
			size_t c = capn ? capn * 2 : 16;
			const char **grown = realloc(names, c * sizeof(*names));
			if (grown == NULL)
				break;
			names = grown;
			capn = c;
		}
		names[count++] = m.name;
	}
	pick = alert_pick_sender(rule, names, count);
	if (pick >= 0)
		snprintf(who, cap, "%s", names[pick]);
	else
		snprintf(who, cap, "%s", "");
	free(names);
	return pick >= 0 && strcmp(who, n->cfg->name) == 0;
}

static uint64_t backoff_ms(const struct node *n, unsigned attempts)
{
	uint64_t d = BACKOFF_MIN_MS / profile_div(n), max = BACKOFF_MAX_MS / profile_div(n);
	for (unsigned i = 1; i < attempts && d < max; i++)
		d *= 2;
	if (d > max)
		d = max;
	/* Equal jitter: half fixed, half random, so senders that failed
	 * together (a receiver's outage) do not come back together. */
	return d / 2 + randombytes_uniform((uint32_t)(d / 2 + 1));
}

static void prepare(struct node_alerts *a, struct rule *r, bool resolved)
{
	struct send *s = &r->send;
	const char *state = resolved ? "resolved" : "firing";
	uint64_t start = resolved ? r->ended_start : r->start_ms;
	json_t *sites = resolved ? r->ended_sites : r->sites;
	memset(s, 0, sizeof(*s));
	alert_idempotency_key(r->name, r->version, start, state, s->key);
	json_t *body = json_pack(
	        "{s:s,s:s,s:s,s:s,s:s,s:O,s:I,s:o,s:s,s:s}", "rule", r->name, "severity",
	        r->severity, "expr", r->expr_text, "scope", scope_name(r), "state", state, "sites",
	        sites != NULL ? sites : json_array(), "version", (json_int_t)r->version, "since",
	        time_json(start), "idempotency_key", s->key, "sender", a->n->cfg->name);
	char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (text == NULL)
		return;
	s->body = text;
	s->len = strlen(text);
	s->resolved = resolved;
	s->start_ms = start;
	s->active = true;
	s->next_ms = mono_ms();
}

static void on_posted(void *arg, long status, const char *error)
{
	struct rule *r = arg;
	struct node_alerts *a = r->owner;
	struct send *s = &r->send;
	const char *state = s->resolved ? "resolved" : "firing";
	s->req = NULL;
	s->attempts++;
	if (status >= 200 && status < 300) {
		a->sent++;
		node_log_event(&a->n->log, NODE_LOG_INFO, "webhook_sent",
		               json_pack("{s:s,s:s,s:I,s:I,s:s}", "rule", r->name, "state", state,
		                         "status", (json_int_t)status, "attempts",
		                         (json_int_t)s->attempts, "idempotency_key", s->key));
		if (s->resolved)
			r->owe_resolved = false;
		else if (s->start_ms == r->start_ms)
			r->sent_firing = true;
		send_cancel(s);
		return;
	}
	a->failed++;
	uint64_t wait = backoff_ms(a->n, s->attempts);
	s->next_ms = mono_ms() + wait;
	char why[64];
	if (error == NULL)
		snprintf(why, sizeof(why), "HTTP %ld", status);
	node_log_event(&a->n->log, NODE_LOG_WARN, "webhook_failed",
	               json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "rule", r->name, "state", state,
	                         "reason", error != NULL ? error : why, "attempts",
	                         (json_int_t)s->attempts, "retry_in_ms", (json_int_t)wait,
	                         "idempotency_key", s->key));
}

static void deliver(struct node_alerts *a, struct rule *r)
{
	char who[SWIM_NAME_MAX + 1];
	struct send *s = &r->send;
	if (r->webhook == NULL)
		return;
	if (!deliverer(a->n, r->name, who, sizeof(who))) {
		/* Another member delivers: whatever this node had queued is its. */
		send_cancel(s);
		r->owe_resolved = false;
		return;
	}
	if (r->owe_resolved && s->active && !s->resolved)
		send_cancel(s); /* the episode ended before its firing got through */
	if (!s->active && r->owe_resolved)
		prepare(a, r, true);
	else if (!s->active && r->firing && !r->sent_firing)
		prepare(a, r, false);
	if (!s->active || s->req != NULL || mono_ms() < s->next_ms)
		return;
	if (node_webhook_post(a->webhook, r->webhook, s->key, s->body, s->len, POST_TIMEOUT_MS,
	                      on_posted, r, &s->req) != 0) {
		s->req = NULL;
		s->next_ms = mono_ms() + backoff_ms(a->n, ++s->attempts);
	}
}

static void on_tick(uv_timer_t *t)
{
	struct node_alerts *a = t->data;
	struct node *n = a->n;
	if (n->stopped || n->intents == NULL)
		return;
	if (!a->built || a->changes_seen != n->intents_changes) {
		rebuild(a);
		a->built = true;
		a->changes_seen = n->intents_changes;
	}
	if (a->nrules == 0)
		return;
	for (size_t i = 0; i < a->nrules; i++) {
		struct rule *r = a->rules[i];
		json_array_clear(r->sites);
		r->count = r->total = 0;
		r->t_true = r->t_false = r->t_list = 0;
	}
	if (node_fleet_walk(n, NULL, on_site, a) != 0)
		return;
	uint64_t wall = node_wall_ms();
	for (size_t i = 0; i < a->nrules; i++) {
		judge(a, a->rules[i], wall);
		deliver(a, a->rules[i]);
	}
}

int node_alerts_start(struct node *n)
{
	struct node_alerts *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	a->n = n;
	int rc = node_webhook_new(n->loop, &a->webhook);
	if (rc != 0) {
		free(a);
		return rc;
	}
	uv_timer_init(n->loop, &a->timer);
	a->timer.data = a;
	a->timer_open = true;
	uint64_t every = TICK_MS / profile_div(n);
	uv_timer_start(&a->timer, on_tick, every, every);
	n->alerts = a;
	return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

void node_alerts_stop(struct node *n)
{
	struct node_alerts *a = n->alerts;
	if (a == NULL)
		return;
	n->alerts = NULL;
	for (size_t i = 0; i < a->nrules; i++)
		rule_free(a->rules[i]);
	free(a->rules);
	node_webhook_delete(a->webhook);
	uv_close((uv_handle_t *)&a->timer, on_timer_closed);
}

/* ---- what the API shows ------------------------------------------------ */

static json_t *rule_json(struct node *n, struct rule *r)
{
	char who[SWIM_NAME_MAX + 1] = "";
	if (r->webhook != NULL)
		deliverer(n, r->name, who, sizeof(who));
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:o,s:O,s:I}", "name", r->name, "severity",
	                      r->severity, "expr", r->expr_text, "scope", scope_name(r), "version",
	                      (json_int_t)r->version, "firing", r->firing, "since",
	                      time_json(r->firing ? r->start_ms : 0), "sites", r->sites, "count",
	                      (json_int_t)r->count);
	if (r->expr.scope != ALERT_SITE)
		json_object_set_new(o, "total", json_integer(r->total));
	json_object_set_new(o, "for_s", json_real((double)r->for_ms / 1000.0));
	json_object_set_new(o, "webhook", r->webhook != NULL ? json_true() : json_false());
	json_object_set_new(o, "deliverer", who[0] != '\0' ? json_string(who) : json_null());
	return o;
}

json_t *node_alerts_json(struct node *n)
{
	struct node_alerts *a = n->alerts;
	json_t *arr = json_array();
	size_t firing = 0;
	for (size_t i = 0; a != NULL && i < a->nrules; i++) {
		json_array_append_new(arr, rule_json(n, a->rules[i]));
		firing += a->rules[i]->firing;
	}
	return json_pack("{s:o,s:I,s:I}", "alerts", arr, "count", (json_int_t)json_array_size(arr),
	                 "firing", (json_int_t)firing);
}

void node_alerts_fleet_append(struct node *n, json_t *arr)
{
	struct node_alerts *a = n->alerts;
	for (size_t i = 0; a != NULL && i < a->nrules; i++) {
		struct rule *r = a->rules[i];
		if (r->expr.scope == ALERT_SITE || !r->firing)
			continue;
		json_array_append_new(arr,
		                      json_pack("{s:s,s:s,s:I,s:I,s:O}", "name", r->name, "scope",
		                                "fleet", "count", (json_int_t)r->count, "total",
		                                (json_int_t)r->total, "sites", r->sites));
	}
}

static void line(struct shoal_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(struct shoal_buf *b, const char *fmt, ...)
{
	char text[256];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (k > 0)
		shoal_buf_append(b, text, (size_t)k < sizeof(text) ? (size_t)k : sizeof(text) - 1);
}

void node_alerts_metrics(const struct node *n, struct shoal_buf *b)
{
	const struct node_alerts *a = n->alerts;
	uint64_t rules = 0, firing[2] = {0, 0};
	for (size_t i = 0; a != NULL && i < a->nrules; i++) {
		rules++;
		if (a->rules[i]->firing)
			firing[a->rules[i]->expr.scope == ALERT_SITE ? 0 : 1]++;
	}
	line(b,
	     "# HELP shoal_alert_rules AlertRule intents in effect here.\n"
	     "# TYPE shoal_alert_rules gauge\nshoal_alert_rules %llu\n",
	     (unsigned long long)rules);
	line(b, "# HELP shoal_alerts_firing AlertRules firing, by scope.\n"
	        "# TYPE shoal_alerts_firing gauge\n");
	line(b,
	     "shoal_alerts_firing{scope=\"site\"} %llu\nshoal_alerts_firing{scope=\"fleet\"} "
	     "%llu\n",
	     (unsigned long long)firing[0], (unsigned long long)firing[1]);
	line(b, "# HELP shoal_alert_transitions_total Episodes this node saw start and end.\n"
	        "# TYPE shoal_alert_transitions_total counter\n");
	line(b,
	     "shoal_alert_transitions_total{to=\"firing\"} %llu\n"
	     "shoal_alert_transitions_total{to=\"resolved\"} %llu\n",
	     (unsigned long long)(a ? a->fired : 0), (unsigned long long)(a ? a->resolved : 0));
	line(b, "# HELP shoal_webhook_posts_total Webhook POSTs this node made, by outcome.\n"
	        "# TYPE shoal_webhook_posts_total counter\n");
	line(b,
	     "shoal_webhook_posts_total{result=\"sent\"} %llu\n"
	     "shoal_webhook_posts_total{result=\"failed\"} %llu\n",
	     (unsigned long long)(a ? a->sent : 0), (unsigned long long)(a ? a->failed : 0));
}
