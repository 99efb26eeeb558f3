/*
 * api_fleet_sites.c - one line per site (GET /v1/fleet/sites: what the
 * dashboard's map and `shoalctl top sites` draw), in pages when asked, and
 * one site's whole record (GET /v1/sites/{name}). docs/api.md is the
 * contract.
 *
 * The list is made in two passes so a page costs what it shows: the first
 * walks the fleet without decoding any record (fleet.h FLEET_WALK_NO_RECORD)
 * and keeps the names that the selector, the band and view filters and the
 * continue token let through; sorted, they give the page; the second looks
 * up each site of the page by name and writes its line straight as JSON
 * text (fleet_line.c). Both passes run in one turn of the loop, so they see
 * the same fleet.
 */
#include "api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "fleet_line.h"
#include "fleet_page.h"
#include "json_text.h"
#include "node.h"

#define PAGE_LIMIT_MAX 5000
/* The whole list of the largest fleet with long annotations stays under
 * this; past it a caller must take pages. */
#define LIST_TEXT_MAX (256u << 20)
#define BAND_NONE     3 /* band=none: sites shown without a band */

/* What the query asks for. */
struct list_query {
	struct selector *sel;
	size_t limit;                      /* 0: every site */
	char after[HEALTH_SITE_MAX + 1];   /* continue after this name; "" from the start */
	int band;                          /* -1 any, enum health_band, or BAND_NONE */
	int view;                          /* -1 any, or enum fleet_view */
	uint32_t fields;                   /* fleet_line.h mask */
	uint8_t hash[FLEET_PAGE_HASH_LEN]; /* binds continue tokens to the query */
	bool paged;                        /* limit or continue given: say where to go on */
};

typedef char site_name[HEALTH_SITE_MAX + 1];

/* The first pass: the names the query lets through. */
struct picked {
	const struct list_query *q;
	site_name *names;
	size_t n, cap;
	bool oom;
};

static bool band_passes(int want, const struct fleet_site *s)
{
	if (want < 0)
		return true;
	if (s->view != FLEET_FRESH || s->entry == NULL)
		return want == BAND_NONE;
	return want == (int)health_band_of(s->entry->score.score);
}

static void on_pick(void *ctx, const struct fleet_site *s)
{
	struct picked *p = ctx;
	const struct list_query *q = p->q;
	if ((q->after[0] != '\0' && strcmp(s->name, q->after) <= 0) ||
	    (q->view >= 0 && (int)s->view != q->view) || !band_passes(q->band, s))
		return;
	size_t len = strlen(s->name);
	if (len > HEALTH_SITE_MAX || p->oom)
		return; /* membership's names are never longer */
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		site_name *names = realloc(p->names, cap * sizeof(*names));
		if (names == NULL) {
			p->oom = true;
			return;
		}
		p->names = names;
		p->cap = cap;
	}
	memcpy(p->names[p->n], s->name, len + 1);
	p->n++;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names in order: pointers sorted, the names stay where they are. */
static const char **sorted_names(const struct picked *p)
{
	const char **order = malloc((p->n > 0 ? p->n : 1) * sizeof(*order));
	if (order == NULL)
		return NULL;
	for (size_t i = 0; i < p->n; i++)
		order[i] = p->names[i];
	if (p->n > 1)
		qsort(order, p->n, sizeof(*order), by_name);
	return order;
}

/* The second pass: one line per site of the page. */
struct lines {
	struct shoal_buf *b;
	uint32_t fields;
	size_t n;
};

static void on_line(void *ctx, const struct fleet_site *s)
{
	struct lines *l = ctx;
	if (l->n > 0)
		json_text_raw(l->b, ",");
	fleet_line_write(l->b, s, l->fields);
	l->n++;
}

/* ?limit=N: 1..PAGE_LIMIT_MAX in decimal digits, nothing else. */
static bool parse_limit(const char *text, size_t *out)
{
	size_t v = 0, len = strlen(text);
	if (len == 0 || len > 9)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		v = v * 10 + (size_t)(text[i] - '0');
	}
	if (v < 1 || v > PAGE_LIMIT_MAX)
		return false;
	*out = v;
	return true;
}

static int name_index(const char *text, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(text, names[i]) == 0)
			return i;
	return -1;
}

/* Read the query; false after answering 400 (nothing allocated then). */
static bool parse_query(struct node_http_req *req, struct list_query *q)
{
	static const char *const bands[] = {"red", "orange", "green", "none"};
	static const char *const views[] = {"fresh", "stale", "unreachable", "unknown"};
	char err[320];
	const char *limit = node_http_query(req, "limit");
	const char *band = node_http_query(req, "band");
	const char *view = node_http_query(req, "view");
	const char *fields = node_http_query(req, "fields");
	const char *token = node_http_query(req, "continue");
	memset(q, 0, sizeof(*q));
	q->band = q->view = -1;
	q->fields = FLEET_LINE_ALL;
	if (limit != NULL && !parse_limit(limit, &q->limit)) {
		node_http_error(req, 400, "bad_request", "limit: a number from 1 to 5000");
		return false;
	}
	if (band != NULL && (q->band = name_index(band, bands, 4)) < 0) {
		node_http_error(req, 400, "bad_request", "band: green, orange, red or none");
		return false;
	}
	if (view != NULL && (q->view = name_index(view, views, 4)) < 0) {
		node_http_error(req, 400, "bad_request",
		                "view: fresh, stale, unreachable or unknown");
		return false;
	}
	if (fields != NULL && fleet_line_fields_parse(fields, &q->fields, err, sizeof(err)) != 0) {
		node_http_error(req, 400, "bad_request", err);
		return false;
	}
	if ((q->sel = node_api_selector_param(req)) == NULL)
		return false;
	fleet_page_query_hash(selector_canonical(q->sel), band, view, q->hash);
	if (token != NULL) {
		int rc = fleet_page_token_decode(token, q->hash, q->after, err, sizeof(err));
		if (rc != 0) {
			selector_delete(q->sel);
			node_http_error(req, 400, "bad_continue", err);
			return false;
		}
	}
	q->paged = limit != NULL || token != NULL;
	return true;
}

/* The answer's text: {"selector", "count", "sites"[, "continue",
 * "remaining"]}, the bytes json_dumps would give. 0 or -ENOMEM/-E2BIG. */
static int write_list(struct node *n, const struct list_query *q, const struct picked *p,
                      const char **order, struct shoal_buf *out)
{
	struct shoal_buf lines;
	size_t page = q->limit > 0 && q->limit < p->n ? q->limit : p->n;
	struct lines l = {&lines, q->fields, 0};
	shoal_buf_create(&lines, LIST_TEXT_MAX);
	for (size_t i = 0; i < page; i++) {
		if (node_fleet_site(n, order[i], on_line, &l) < 0) {
			shoal_buf_destroy(&lines);
			return -ENOMEM;
		}
	}
	const char *sel = selector_canonical(q->sel);
	json_text_raw(out, "{\"selector\":");
	json_text_str(out, sel, strlen(sel));
	json_text_raw(out, ",\"count\":");
	json_text_int(out, (int64_t)l.n);
	json_text_raw(out, ",\"sites\":[");
	if (lines.len > 0)
		shoal_buf_append(out, lines.data, lines.len);
	json_text_raw(out, "]");
	if (q->paged) {
		char token[FLEET_PAGE_TOKEN_MAX];
		json_text_raw(out, ",\"continue\":");
		if (page < p->n && page > 0 &&
		    fleet_page_token_encode(q->hash, order[page - 1], token) == 0) {
			json_text_raw(out, "\"");
			json_text_raw(out, token);
			json_text_raw(out, "\"");
		} else {
			json_text_raw(out, "null");
		}
		json_text_raw(out, ",\"remaining\":");
		json_text_int(out, (int64_t)(p->n - page));
	}
	json_text_raw(out, "}\n");
	int err = lines.err != 0 ? lines.err : out->err;
	shoal_buf_destroy(&lines);
	return err == 0 ? 0 : err == -ENOMEM ? -ENOMEM : -E2BIG;
}

void node_api_fleet_sites(struct node_http_req *req)
{
	struct node *n = req->ctx;
	struct list_query q;
	if (node_api_proxied(req))
		return; /* a leaf: a full node answers */
	if (!parse_query(req, &q))
		return;
	struct picked p = {.q = &q};
	struct shoal_buf out;
	shoal_buf_create(&out, LIST_TEXT_MAX);
	int rc = node_fleet_walk_flags(n, q.sel, FLEET_WALK_NO_RECORD, on_pick, &p);
	if (rc == 0 && p.oom)
		rc = -ENOMEM;
	const char **order = rc == 0 ? sorted_names(&p) : NULL;
	if (rc == 0 && order == NULL)
		rc = -ENOMEM;
	if (rc == 0)
		rc = write_list(n, &q, &p, order, &out);
	free(order);
	free(p.names);
	selector_delete(q.sel);
	if (rc != 0) {
		shoal_buf_destroy(&out);
		node_http_error(req, 503, "unavailable",
		                rc == -ENOMEM
		                        ? "out of memory"
		                        : "the list is too large for one answer: ask with limit");
		return;
	}
	req->status = 200;
	req->text = (char *)out.data; /* handed over: the server frees it */
	req->text_len = out.len;
	req->content_type = "application/json";
}

/* ---- one site ----------------------------------------------------------- */

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
	if (node_fleet_site(n, name, on_one, &o) < 0) {
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
