/*
 * api_fleet.c - GET /v1/fleet?selector=S&worst=N: the whole fleet (or a
 * selection of it) at a glance, from this node's replicated health table:
 * sites by band and view, CPU/memory/disk distributions, the worst sites,
 * each applied intent's states over the sites it selects, pod states, link
 * health, policy hits and alerts. docs/api.md is the contract.
 * The aggregates come from one walk (fleet_agg.c); this file renders them.
 */
#include "api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"
#include "shoal/intent_store.h"
#include "shoal/selector.h"

#include "fleet_agg.h"
#include "node.h"

#define WORST_DEFAULT 10
#define WORST_MAX     100

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
	size_t r50 = (d->n * 50 + 99) / 100, r90 = (d->n * 90 + 99) / 100;
	return json_pack("{s:o,s:o,s:o,s:o,s:o}", "histogram", hist, "p50",
	                 pct(node_fleet_dist_rank(d, r50 ? r50 : 1)), "p90",
	                 pct(node_fleet_dist_rank(d, r90 ? r90 : 1)), "max",
	                 pct(node_fleet_dist_rank(d, d->n)), "mean",
	                 json_real((double)(d->sum * 10 / d->n) / 100.0));
}

static json_t *states_json(const uint32_t *states)
{
	json_t *o = json_object();
	for (int s = HEALTH_PENDING; s < HEALTH_STATE_COUNT; s++)
		json_object_set_new(o, health_state_name((enum health_state)s),
		                    json_integer(states[s]));
	return o;
}

static json_t *intents_json(struct fleet_agg *a)
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

static json_t *worst_json(struct fleet_agg *a, size_t limit)
{
	json_t *arr = json_array();
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

static json_t *links_json(struct fleet_agg *a, size_t limit)
{
	json_t *worst = json_array();
	uint32_t p50 = 0;
	if (a->np50 > 0) {
		qsort(a->p50s, a->np50, sizeof(*a->p50s), cmp_u32);
		p50 = a->p50s[(a->np50 - 1) / 2];
	}
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
	struct fleet_agg a;
	if (node_api_proxied(req))
		return; /* a leaf: a full node answers */
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
	if (node_fleet_aggregate(n, sel, limit, &a) != 0) {
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
	node_fleet_agg_free(&a);
	selector_delete(sel);
}
