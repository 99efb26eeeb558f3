/*
 * api_fleet.c - GET /v1/fleet?selector=S&worst=N: the whole fleet (or a
 * selection of it) at a glance, from this node's replicated health table:
 * sites by band and view, CPU/memory/disk distributions, the worst sites,
 * each applied intent's states over the sites it selects, pod states, link
 * health, policy hits and alerts. docs/api.md is the contract.
 *
 * One walk over the selection (fleet.c) feeds every aggregate. An intent
 * selects a site by its effective target (target AND signer scope) over the
 * site's member labels, the same judgement the site's own reconciler makes,
 * so "selected" agrees with what the sites do.
 */
#include "api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"
#include "shoal/intent_store.h"
#include "shoal/selector.h"

#include "fleet.h"
#include "node.h"

#define WORST_DEFAULT 10
#define WORST_MAX     100

struct dist {
	uint32_t hist[10];
	uint16_t *values; /* per mille, one per fresh site */
	size_t n, cap;
	uint64_t sum;
};

struct fleet_intent {
	const struct intent_item *item;
	struct selector *sel; /* effective target; NULL selects nothing here */
	uint32_t selected, replicated;
	uint32_t states[HEALTH_STATE_COUNT];
};

struct worst {
	char name[SWIM_NAME_MAX + 1];
	enum fleet_view view;
	bool has;
	struct health_score score;
};

struct link_worst {
	char name[SWIM_NAME_MAX + 1];
	struct health_links l;
};

struct agg {
	uint32_t total, bands[3], views[FLEET_VIEWS];
	struct dist cpu, mem, disk;
	struct worst *worst;
	size_t nworst, worst_cap;
	struct fleet_intent *intents;
	size_t nintents;
	uint64_t pods[HEALTH_POD_COUNT];
	uint32_t links_reporting;
	uint32_t *p50s;
	size_t np50;
	uint32_t p99_max;
	uint64_t loss_sum;
	struct link_worst *lworst;
	size_t nlworst;
	json_t *policy; /* {rule: hits} */
	json_t *alerts; /* {name: [sites]} */
	bool oom;
};

static void dist_add(struct agg *a, struct dist *d, uint16_t pm)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		uint16_t *v = realloc(d->values, cap * sizeof(*v));
		if (v == NULL) {
			a->oom = true;
			return;
		}
		d->values = v;
		d->cap = cap;
	}
	d->values[d->n++] = pm;
	d->sum += pm;
	d->hist[pm >= 1000 ? 9 : pm / 100]++;
}

static int cmp_u16(const void *x, const void *y)
{
	uint16_t a = *(const uint16_t *)x, b = *(const uint16_t *)y;
	return (a > b) - (a < b);
}

static json_t *pct(uint32_t pm)
{
	return json_real((double)pm / 10.0);
}

static json_t *dist_json(struct dist *d)
{
	json_t *hist = json_array();
	for (int i = 0; i < 10; i++)
		json_array_append_new(hist, json_integer(d->hist[i]));
	if (d->n == 0)
		return json_pack("{s:o,s:n,s:n,s:n,s:n}", "histogram", hist, "p50", "p90", "max",
		                 "mean");
	qsort(d->values, d->n, sizeof(*d->values), cmp_u16);
	size_t r50 = (d->n * 50 + 99) / 100, r90 = (d->n * 90 + 99) / 100;
	return json_pack("{s:o,s:o,s:o,s:o,s:o}", "histogram", hist, "p50",
	                 pct(d->values[r50 ? r50 - 1 : 0]), "p90",
	                 pct(d->values[r90 ? r90 - 1 : 0]), "max", pct(d->values[d->n - 1]), "mean",
	                 json_real((double)(d->sum * 10 / d->n) / 100.0));
}

/* Sites that need attention first: not fresh, then by ascending score. */
static int worst_rank(const struct worst *w)
{
	switch (w->view) {
	case FLEET_UNREACHABLE:
		return 0;
	case FLEET_STALE:
		return 1;
	case FLEET_UNKNOWN:
		return 2;
	default:
		return 3;
	}
}

static int cmp_worst(const void *x, const void *y)
{
	const struct worst *a = x, *b = y;
	int ra = worst_rank(a), rb = worst_rank(b);
	if (ra != rb)
		return ra - rb;
	if (a->has && b->has && a->score.score != b->score.score)
		return (int)a->score.score - (int)b->score.score;
	return strcmp(a->name, b->name);
}

static void on_site(void *ctx, const struct fleet_site *s)
{
	struct agg *a = ctx;
	a->total++;
	a->views[s->view]++;
	const struct health_record *r = s->rec;
	if (s->view == FLEET_FRESH)
		a->bands[health_band_of(s->entry->score.score)]++;
	if (s->view == FLEET_FRESH && r != NULL) {
		dist_add(a, &a->cpu, r->cpu_pm);
		dist_add(a, &a->mem, r->mem_pm);
		dist_add(a, &a->disk, r->disk_pm);
		for (int p = 0; p < HEALTH_POD_COUNT; p++)
			a->pods[p] += r->pods[p];
		if (r->links.probed > 0) {
			a->links_reporting++;
			uint32_t *grown = realloc(a->p50s, (a->np50 + 1) * sizeof(*grown));
			if (grown != NULL) {
				a->p50s = grown;
				a->p50s[a->np50++] = r->links.rtt_p50_us;
			}
			if (r->links.rtt_p99_us > a->p99_max)
				a->p99_max = r->links.rtt_p99_us;
			a->loss_sum += r->links.loss_pm;
			struct link_worst *lw =
			        realloc(a->lworst, (a->nlworst + 1) * sizeof(*a->lworst));
			if (lw != NULL) {
				a->lworst = lw;
				snprintf(lw[a->nlworst].name, sizeof(lw->name), "%s", s->name);
				lw[a->nlworst++].l = r->links;
			}
		}
		for (uint32_t i = 0; i < r->n_policy; i++) {
			char rule[HEALTH_POLICY_ID_MAX + 1];
			memcpy(rule, r->policy[i].rule.s, r->policy[i].rule.len);
			rule[r->policy[i].rule.len] = '\0';
			json_t *old = json_object_get(a->policy, rule);
			json_int_t sum = (old != NULL ? json_integer_value(old) : 0) +
			                 (json_int_t)r->policy[i].hits;
			json_object_set_new(a->policy, rule, json_integer(sum));
		}
		for (uint32_t i = 0; i < r->n_alerts; i++) {
			char name[INTENT_NAME_MAX + 1];
			memcpy(name, r->alerts[i].s, r->alerts[i].len);
			name[r->alerts[i].len] = '\0';
			json_t *sites = json_object_get(a->alerts, name);
			if (sites == NULL) {
				sites = json_array();
				json_object_set_new(a->alerts, name, sites);
			}
			json_array_append_new(sites, json_string(s->name));
		}
	}
	if (a->nworst == a->worst_cap) {
		size_t cap = a->worst_cap ? a->worst_cap * 2 : 64;
		struct worst *w = realloc(a->worst, cap * sizeof(*w));
		if (w == NULL) {
			a->oom = true;
			return;
		}
		a->worst = w;
		a->worst_cap = cap;
	}
	struct worst *w = &a->worst[a->nworst++];
	snprintf(w->name, sizeof(w->name), "%s", s->name);
	w->view = s->view;
	w->has = s->entry != NULL;
	if (w->has)
		w->score = s->entry->score;

	for (size_t i = 0; i < a->nintents; i++) {
		struct fleet_intent *fi = &a->intents[i];
		if (fi->sel == NULL || !selector_matches(fi->sel, s->labels))
			continue;
		const struct intent_body *b = &fi->item->env.body;
		uint64_t held;
		enum health_state st = fleet_intent_state(s, b->kind, b->name, &held);
		fi->selected++;
		fi->states[st]++;
		if (held >= b->hlc)
			fi->replicated++;
	}
}

/* The intents that apply to sites, with their effective targets. */
static int collect_intents(struct node *n, struct agg *a)
{
	size_t count = n->intents != NULL ? intent_store_count(n->intents) : 0;
	a->intents = calloc(count > 0 ? count : 1, sizeof(*a->intents));
	if (a->intents == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const struct intent_item *it = intent_store_at(n->intents, i);
		enum intent_kind k = it->env.body.kind;
		if (k != INTENT_APP && k != INTENT_EGRESS_POLICY && k != INTENT_UPGRADE)
			continue;
		struct selector *sel = NULL;
		int rc = intent_store_effective_target(n->intents, it, &sel, NULL, 0);
		if (rc == SHOAL_E_STATE)
			continue; /* deleted, revoked, unauthorized: applies nowhere */
		a->intents[a->nintents].item = it;
		a->intents[a->nintents++].sel = rc == 0 ? sel : NULL;
	}
	return 0;
}

static json_t *states_json(const uint32_t *states)
{
	json_t *o = json_object();
	for (int s = HEALTH_PENDING; s < HEALTH_STATE_COUNT; s++)
		json_object_set_new(o, health_state_name((enum health_state)s),
		                    json_integer(states[s]));
	return o;
}

static json_t *intents_json(struct agg *a)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < a->nintents; i++) {
		const struct fleet_intent *fi = &a->intents[i];
		const struct intent_body *b = &fi->item->env.body;
		json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:I,s:I,s:o}", "kind",
		                                     intent_kind_name(b->kind), "name", b->name,
		                                     "version", (json_int_t)b->hlc, "selected",
		                                     (json_int_t)fi->selected, "replicated",
		                                     (json_int_t)fi->replicated, "states",
		                                     states_json(fi->states)));
	}
	return arr;
}

static json_t *score_or_null(const struct worst *w, uint8_t v)
{
	return w->has ? json_integer(v) : json_null();
}

static json_t *worst_json(struct agg *a, size_t limit)
{
	json_t *arr = json_array();
	if (a->nworst > 0)
		qsort(a->worst, a->nworst, sizeof(*a->worst), cmp_worst);
	for (size_t i = 0; i < a->nworst && i < limit; i++) {
		const struct worst *w = &a->worst[i];
		const char *band = w->has && w->view == FLEET_FRESH
		                           ? health_band_name(health_band_of(w->score.score))
		                           : NULL;
		json_array_append_new(
		        arr, json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o}", "name", w->name, "view",
		                       fleet_view_name(w->view), "band",
		                       band != NULL ? json_string(band) : json_null(), "score",
		                       score_or_null(w, w->score.score), "connectivity",
		                       score_or_null(w, w->score.connectivity), "reliability",
		                       score_or_null(w, w->score.reliability), "security",
		                       score_or_null(w, w->score.security), "performance",
		                       score_or_null(w, w->score.performance)));
	}
	return arr;
}

json_t *node_api_pods_json(const uint64_t *pods)
{
	json_t *o = json_object();
	for (int p = 0; p < HEALTH_POD_COUNT; p++)
		json_object_set_new(o, health_pod_name((enum health_pod)p),
		                    json_integer((json_int_t)pods[p]));
	return o;
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return (a > b) - (a < b);
}

static int cmp_link(const void *x, const void *y)
{
	const struct link_worst *a = x, *b = y;
	if (a->l.loss_pm != b->l.loss_pm)
		return a->l.loss_pm > b->l.loss_pm ? -1 : 1;
	if (a->l.rtt_p99_us != b->l.rtt_p99_us)
		return a->l.rtt_p99_us > b->l.rtt_p99_us ? -1 : 1;
	return strcmp(a->name, b->name);
}

static json_t *links_json(struct agg *a, size_t limit)
{
	json_t *worst = json_array();
	uint32_t p50 = 0;
	if (a->np50 > 0) {
		qsort(a->p50s, a->np50, sizeof(*a->p50s), cmp_u32);
		p50 = a->p50s[(a->np50 - 1) / 2];
	}
	if (a->nlworst > 0)
		qsort(a->lworst, a->nlworst, sizeof(*a->lworst), cmp_link);
	for (size_t i = 0; i < a->nlworst && i < limit; i++) {
		const struct link_worst *w = &a->lworst[i];
		json_array_append_new(worst, json_pack("{s:s,s:I,s:I,s:I,s:I}", "name", w->name,
		                                       "loss_pm", (json_int_t)w->l.loss_pm,
		                                       "rtt_p99_us", (json_int_t)w->l.rtt_p99_us,
		                                       "probed", (json_int_t)w->l.probed, "reached",
		                                       (json_int_t)w->l.reached));
	}
	return json_pack("{s:I,s:I,s:I,s:I,s:o}", "reporting", (json_int_t)a->links_reporting,
	                 "rtt_p50_us", (json_int_t)p50, "rtt_p99_us", (json_int_t)a->p99_max,
	                 "loss_pm",
	                 (json_int_t)(a->links_reporting ? a->loss_sum / a->links_reporting : 0),
	                 "worst", worst);
}

static json_t *alerts_json(struct node *n, json_t *alerts)
{
	json_t *arr = json_array();
	const char *name;
	json_t *sites;
	json_object_foreach(alerts, name, sites)
	{
		json_array_append_new(arr, json_pack("{s:s,s:s,s:O}", "name", name, "scope", "site",
		                                     "sites", sites));
	}
	node_alerts_fleet_append(n, arr); /* fleet-wide rules firing (alerts.c) */
	return arr;
}

static void agg_free(struct agg *a)
{
	free(a->cpu.values);
	free(a->mem.values);
	free(a->disk.values);
	free(a->worst);
	for (size_t i = 0; i < a->nintents; i++)
		selector_delete(a->intents[i].sel);
	free(a->intents);
	free(a->p50s);
	free(a->lworst);
	json_decref(a->policy);
	json_decref(a->alerts);
}

/* ?selector=S as a compiled selector; answers 400 itself on error. */
struct selector *node_api_selector_param(struct node_http_req *req)
{
	const char *text = node_http_query(req, "selector");
	char err[SELECTOR_ERR_MAX];
	struct selector *sel = NULL;
	if (text == NULL)
		text = "";
	if (selector_parse(text, strlen(text), &sel, err, sizeof(err)) != 0) {
		node_http_error(req, 400, "bad_selector", err);
		return NULL;
	}
	return sel;
}

void node_api_fleet(struct node_http_req *req)
{
	struct node *n = req->ctx;
	struct agg a;
	size_t limit = WORST_DEFAULT;
	const char *w = node_http_query(req, "worst");
	if (w != NULL) {
		char *end;
		unsigned long v = strtoul(w, &end, 10);
		if (*w == '\0' || *end != '\0' || v == 0 || v > WORST_MAX) {
			node_http_error(req, 400, "bad_request", "worst: a number from 1 to 100");
			return;
		}
		limit = v;
	}
	struct selector *sel = node_api_selector_param(req);
	if (sel == NULL)
		return;
	memset(&a, 0, sizeof(a));
	a.policy = json_object();
	a.alerts = json_object();
	if (collect_intents(n, &a) != 0 || node_fleet_walk(n, sel, on_site, &a) != 0 || a.oom) {
		agg_free(&a);
		selector_delete(sel);
		node_http_error(req, 503, "unavailable", "out of memory");
		return;
	}
	json_t *sites = json_pack(
	        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "total", (json_int_t)a.total, "green",
	        (json_int_t)a.bands[HEALTH_GREEN], "orange", (json_int_t)a.bands[HEALTH_ORANGE],
	        "red", (json_int_t)a.bands[HEALTH_RED], "stale", (json_int_t)a.views[FLEET_STALE],
	        "unreachable", (json_int_t)a.views[FLEET_UNREACHABLE], "unknown",
	        (json_int_t)a.views[FLEET_UNKNOWN]);
	json_t *body = json_pack("{s:s,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:O,s:o}", "selector",
	                         selector_canonical(sel), "refresh_s",
	                         (json_int_t)(node_health_refresh_us(n) / 1000000), "sites", sites,
	                         "cpu", dist_json(&a.cpu), "memory", dist_json(&a.mem), "disk",
	                         dist_json(&a.disk), "worst", worst_json(&a, limit), "intents",
	                         intents_json(&a), "pods", node_api_pods_json(a.pods), "links",
	                         links_json(&a, limit), "policy", a.policy, "alerts",
	                         alerts_json(n, a.alerts));
	node_http_json(req, 200, body);
	agg_free(&a);
	selector_delete(sel);
}
