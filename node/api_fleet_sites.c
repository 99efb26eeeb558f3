/*
 * api_fleet_sites.c - one line per site (GET /v1/fleet/sites?selector=S,
 * what the dashboard's map and `shoalctl top sites` draw) and one site's
 * whole record (GET /v1/sites/{name}). docs/api.md is the contract.
 */
#include "api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "node.h"

#define GEO_LAT "geo.shoal.io/lat"
#define GEO_LON "geo.shoal.io/lon"

static json_t *str_json(struct health_str t)
{
	return json_stringn(t.s != NULL ? t.s : "", t.len);
}

static json_t *pairs_json(const struct health_label *p, uint32_t n)
{
	json_t *o = json_object();
	for (uint32_t i = 0; i < n; i++) {
		char key[SHOAL_LABEL_KEY_MAX + 1];
		memcpy(key, p[i].key.s, p[i].key.len);
		key[p[i].key.len] = '\0';
		json_t *v = str_json(p[i].value);
		if (v != NULL)
			json_object_set_new(o, key, v);
	}
	return o;
}

static json_t *labels_json(const struct shoal_labels *l)
{
	json_t *o = json_object();
	for (size_t i = 0; i < l->n; i++)
		json_object_set_new(o, l->items[i].key, json_string(l->items[i].value));
	return o;
}

/* A coordinate annotation as a number in [-lim, lim], or null. */
static json_t *coordinate(const struct health_record *r, const char *key, double lim)
{
	size_t klen = strlen(key);
	for (uint32_t i = 0; i < r->n_annotations; i++) {
		const struct health_label *a = &r->annotations[i];
		if (a->key.len != klen || memcmp(a->key.s, key, klen) != 0)
			continue;
		char text[64];
		if (a->value.len == 0 || a->value.len >= sizeof(text))
			return json_null();
		memcpy(text, a->value.s, a->value.len);
		text[a->value.len] = '\0';
		char *end;
		double v = strtod(text, &end);
		if (*end != '\0' || !(v >= -lim && v <= lim))
			return json_null();
		return json_real(v);
	}
	return json_null();
}

static json_t *intent_counts(const struct fleet_site *s)
{
	uint32_t counts[HEALTH_STATE_COUNT] = {0};
	json_t *o = json_object();
	for (uint32_t i = 0; i < s->rec->n_intents; i++) {
		enum health_state st = s->rec->intents[i].state;
		if (s->view == FLEET_STALE)
			st = HEALTH_STALE;
		else if (s->view == FLEET_UNREACHABLE)
			st = HEALTH_UNREACHABLE;
		counts[st]++;
	}
	for (int st = 0; st < HEALTH_STATE_COUNT; st++)
		if (counts[st] > 0)
			json_object_set_new(o, health_state_name((enum health_state)st),
			                    json_integer(counts[st]));
	return o;
}

static json_t *links_json(const struct health_links *l)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "window_s", (json_int_t)l->window_s,
	                 "known", (json_int_t)l->known, "probed", (json_int_t)l->probed, "reached",
	                 (json_int_t)l->reached, "rtt_p50_us", (json_int_t)l->rtt_p50_us,
	                 "rtt_p99_us", (json_int_t)l->rtt_p99_us, "loss_pm",
	                 (json_int_t)l->loss_pm);
}

static json_t *pods_json(const struct health_record *r)
{
	uint64_t pods[HEALTH_POD_COUNT];
	for (int p = 0; p < HEALTH_POD_COUNT; p++)
		pods[p] = r->pods[p];
	return node_api_pods_json(pods);
}

static json_t *components_json(const struct health_score *sc)
{
	return json_pack("{s:i,s:i,s:i,s:i}", "connectivity", sc->connectivity, "reliability",
	                 sc->reliability, "security", sc->security, "performance", sc->performance);
}

/* The line GET /v1/fleet/sites gives a site. */
static json_t *site_line(const struct fleet_site *s)
{
	const char *band = fleet_band_name(s);
	json_t *j = json_pack("{s:s,s:s,s:s,s:o,s:o}", "name", s->name, "state", s->member_state,
	                      "view", fleet_view_name(s->view), "band",
	                      band != NULL ? json_string(band) : json_null(), "labels",
	                      labels_json(s->labels));
	const struct health_record *r = s->rec;
	if (r == NULL) {
		const char *nulls[] = {"score",    "components", "cpu_pct", "mem_pct",
		                       "disk_pct", "version",    "age_s",   "annotations",
		                       "lat",      "lon",        "intents", "pods",
		                       "links"};
		for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
			json_object_set_new(j, nulls[i], json_null());
		return j;
	}
	json_object_set_new(j, "score", json_integer(s->entry->score.score));
	json_object_set_new(j, "components", components_json(&s->entry->score));
	json_object_set_new(j, "cpu_pct", json_real(r->cpu_pm / 10.0));
	json_object_set_new(j, "mem_pct", json_real(r->mem_pm / 10.0));
	json_object_set_new(j, "disk_pct", json_real(r->disk_pm / 10.0));
	json_object_set_new(j, "version", json_integer((json_int_t)r->version));
	json_object_set_new(j, "age_s", json_integer((json_int_t)(s->age_us / 1000000)));
	json_object_set_new(j, "annotations", pairs_json(r->annotations, r->n_annotations));
	json_object_set_new(j, "lat", coordinate(r, GEO_LAT, 90.0));
	json_object_set_new(j, "lon", coordinate(r, GEO_LON, 180.0));
	json_object_set_new(j, "intents", intent_counts(s));
	json_object_set_new(j, "pods", pods_json(r));
	json_object_set_new(j, "links", links_json(&r->links));
	return j;
}

static int by_name(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;
	return strcmp(json_string_value(json_object_get(*x, "name")),
	              json_string_value(json_object_get(*y, "name")));
}

struct lines {
	json_t **items;
	size_t n, cap;
	bool oom;
};

static void on_line(void *ctx, const struct fleet_site *s)
{
	struct lines *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		json_t **items = realloc(l->items, cap * sizeof(*items));
		if (items == NULL) {
			l->oom = true;
			return;
		}
		l->items = items;
		l->cap = cap;
	}
	json_t *j = site_line(s);
	if (j != NULL)
		l->items[l->n++] = j;
}

void node_api_fleet_sites(struct node_http_req *req)
{
	struct node *n = req->ctx;
	struct lines l = {0};
	if (node_api_proxied(req))
		return; /* a leaf: a full node answers */
	struct selector *sel = node_api_selector_param(req);
	if (sel == NULL)
		return;
	int rc = node_fleet_walk(n, sel, on_line, &l);
	if (rc != 0 || l.oom) {
		for (size_t i = 0; i < l.n; i++)
			json_decref(l.items[i]);
		free(l.items);
		selector_delete(sel);
		node_http_error(req, 503, "unavailable", "out of memory");
		return;
	}
	if (l.n > 0)
		qsort(l.items, l.n, sizeof(*l.items), by_name);
	json_t *arr = json_array();
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(arr, l.items[i]);
	free(l.items);
	node_http_json(req, 200,
	               json_pack("{s:s,s:I,s:o}", "selector", selector_canonical(sel), "count",
	                         (json_int_t)l.n, "sites", arr));
	selector_delete(sel);
}

/* ---- one site ----------------------------------------------------------- */

static json_t *record_json(const struct health_record *r)
{
	json_t *intents = json_array();
	for (uint32_t i = 0; i < r->n_intents; i++) {
		const struct health_intent *it = &r->intents[i];
		json_array_append_new(intents, json_pack("{s:s,s:o,s:I,s:s}", "kind",
		                                         intent_kind_name(it->kind), "name",
		                                         str_json(it->name), "version",
		                                         (json_int_t)it->version, "state",
		                                         health_state_name(it->state)));
	}
	json_t *policy = json_object();
	for (uint32_t i = 0; i < r->n_policy; i++) {
		char rule[HEALTH_POLICY_ID_MAX + 1];
		memcpy(rule, r->policy[i].rule.s, r->policy[i].rule.len);
		rule[r->policy[i].rule.len] = '\0';
		json_object_set_new(policy, rule, json_integer((json_int_t)r->policy[i].hits));
	}
	json_t *alerts = json_array();
	for (uint32_t i = 0; i < r->n_alerts; i++)
		json_array_append_new(alerts, str_json(r->alerts[i]));
	char roots[2 * HEALTH_ROOTS_LEN + 1];
	node_intents_hex(r->sec.roots, HEALTH_ROOTS_LEN, roots);
	return json_pack(
	        "{s:I,s:o,s:o,s:o,s:I,s:i,s:{s:o,s:o,s:o},s:o,s:o,s:o,s:I,s:{s:s,s:b,s:I},s:o,s:o,"
	        "s:i,s:o}",
	        "version", (json_int_t)r->version, "software", str_json(r->software), "labels",
	        pairs_json(r->labels, r->n_labels), "annotations",
	        pairs_json(r->annotations, r->n_annotations), "uptime_s", (json_int_t)r->uptime_s,
	        "skew_ms", (int)r->skew_ms, "usage", "cpu_pct", json_real(r->cpu_pm / 10.0),
	        "mem_pct", json_real(r->mem_pm / 10.0), "disk_pct", json_real(r->disk_pm / 10.0),
	        "links", links_json(&r->links), "intents", intents, "pods", pods_json(r),
	        "restarts", (json_int_t)r->restarts, "security", "roots", roots, "keyring",
	        r->sec.keyring, "revoked_applied", (json_int_t)r->sec.revoked_applied, "policy",
	        policy, "alerts", alerts, "score", r->score.score, "components",
	        components_json(&r->score));
}

struct one {
	const char *name;
	json_t *out;
};

static void on_one(void *ctx, const struct fleet_site *s)
{
	struct one *o = ctx;
	if (o->out != NULL || strcmp(s->name, o->name) != 0)
		return;
	const char *band = fleet_band_name(s);
	o->out = json_pack("{s:s,s:s,s:s,s:o,s:I,s:o}", "name", s->name, "state", s->member_state,
	                   "view", fleet_view_name(s->view), "band",
	                   band != NULL ? json_string(band) : json_null(), "age_s",
	                   (json_int_t)(s->age_us / 1000000), "record",
	                   s->rec != NULL ? record_json(s->rec) : json_null());
}

void node_api_site(struct node_http_req *req)
{
	struct node *n = req->ctx;
	const char *name = req->path + strlen("/v1/sites/");
	struct one o = {.name = name};
	char reason[160];
	if (!health_site_name_valid(name, strlen(name))) {
		node_http_error(req, 400, "bad_request", "not a site name");
		return;
	}
	/* A leaf holds its own record only: another site's comes from a full
	 * node. */
	if (strcmp(name, n->cfg->name) != 0 && node_api_proxied(req))
		return;
	if (node_fleet_walk(n, NULL, on_one, &o) != 0) {
		node_http_error(req, 503, "unavailable", "out of memory");
		return;
	}
	if (o.out == NULL) {
		snprintf(reason, sizeof(reason), "no site %.64s in membership or the health table",
		         name);
		node_http_error(req, 404, "not_found", reason);
		return;
	}
	node_http_json(req, 200, o.out);
}
