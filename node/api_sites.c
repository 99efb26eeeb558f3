/*
 * api_sites.c - GET /v1/sites?selector=S and GET /v1/virtual-sites/NAME:
 * label selectors evaluated over the replicated membership.
 *
 * A site is a member this node holds alive or suspect (a suspect may yet
 * refute; dead and left members are not sites anyone can reach). Its
 * labels are the ones in its signed member record, so every node that
 * holds the same records answers the same list, and a site started later
 * with matching labels appears everywhere as soon as its record spreads.
 *
 * Labels are decoded from the record's msgpack with the bounded reader into
 * a fixed buffer: SWIM_LABELS_MAX bounds the record, so one NUL per string
 * more than that always fits.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/intent.h"
#include "shoal/intent_store.h"
#include "shoal/mp.h"
#include "shoal/selector.h"

#include "node.h"

/* One member's labels as a view selectors can read. */
struct site_labels {
	struct shoal_label items[SWIM_LABELS_MAX / 2]; /* each entry takes >= 2 bytes */
	char text[2 * SWIM_LABELS_MAX];                /* the strings, NUL-terminated */
	struct shoal_labels view;                      /* items[0..n) */
};

/* false if the record's labels do not decode (such a site matches nothing). */
static bool decode_labels(const uint8_t *mp, size_t len, struct site_labels *out)
{
	const uint8_t *pos = mp, *end = mp + len;
	uint32_t count;
	size_t used = 0;
	out->view.items = out->items;
	out->view.n = 0;
	if (mp == NULL || len == 0)
		return true;
	if (shoal_mp_read_map(&pos, end, &count) != 0 ||
	    count > sizeof(out->items) / sizeof(out->items[0]))
		return false;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *k, *v;
		uint32_t kl, vl;
		if (shoal_mp_read_str(&pos, end, &k, &kl) != 0 ||
		    shoal_mp_read_str(&pos, end, &v, &vl) != 0 ||
		    used + kl + vl + 2 > sizeof(out->text))
			return false;
		char *key = out->text + used;
		memcpy(key, k, kl);
		key[kl] = '\0';
		char *value = key + kl + 1;
		memcpy(value, v, vl);
		value[vl] = '\0';
		used += kl + vl + 2;
		out->items[out->view.n++] = (struct shoal_label){key, value};
	}
	return true;
}

static int by_name(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;
	return strcmp(json_string_value(json_object_get(*x, "name")),
	              json_string_value(json_object_get(*y, "name")));
}

/* The live members matching sel, sorted by name. */
static json_t *matching_sites(struct node *n, const struct selector *sel)
{
	struct swim_member_info m;
	struct site_labels *labels = malloc(sizeof(*labels));
	uint32_t cursor = 0;
	size_t count = 0, cap = 0;
	json_t **items = NULL;
	json_t *arr = json_array();

	if (labels == NULL || arr == NULL) {
		free(labels);
		return arr;
	}
	while (swim_member_next(n->swim, &cursor, &m) == 0) {
		if (m.state != SWIM_ALIVE && m.state != SWIM_SUSPECT)
			continue;
		if (!decode_labels(m.labels, m.labels_len, labels) ||
		    !selector_matches(sel, &labels->view))
			continue;
		json_t *j = json_pack("{s:s,s:o,s:s,s:o}", "name", m.name, "address",
		                      node_api_addr(&m.addr), "state", swim_state_name(m.state),
		                      "labels", node_api_labels(m.labels, m.labels_len));
		if (j == NULL)
			continue;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			json_t **grown = realloc(items, ncap * sizeof(*items));
			if (grown == NULL) {
				json_decref(j);
				break;
			}
			items = grown;
			cap = ncap;
		}
		items[count++] = j;
	}
	free(labels);
	if (count > 0)
		qsort(items, count, sizeof(*items), by_name);
	for (size_t i = 0; i < count; i++)
		json_array_append_new(arr, items[i]);
	free(items);
	return arr;
}

void node_api_sites(struct node_http_req *req)
{
	struct node *n = req->ctx;
	const char *text = node_http_query(req, "selector");
	char err[SELECTOR_ERR_MAX];
	struct selector *sel = NULL;
	if (text == NULL)
		text = "";
	if (selector_parse(text, strlen(text), &sel, err, sizeof(err)) != 0) {
		node_http_error(req, 400, "bad_selector", err);
		return;
	}
	json_t *sites = matching_sites(n, sel);
	node_http_json(req, 200,
	               json_pack("{s:s,s:I,s:o}", "selector", selector_canonical(sel), "count",
	                         (json_int_t)json_array_size(sites), "sites", sites));
	selector_delete(sel);
}

void node_api_virtual_site(struct node_http_req *req)
{
	struct node *n = req->ctx;
	const char *name = req->path + strlen("/v1/virtual-sites/");
	char reason[SELECTOR_ERR_MAX + 160];
	const struct intent_item *it =
	        n->intents != NULL ? intent_store_get(n->intents, INTENT_VIRTUAL_SITE, name) : NULL;
	if (it == NULL || intent_store_status(n->intents, it) != INTENT_EFFECTIVE) {
		snprintf(reason, sizeof(reason),
		         "no virtual site %.100s (no effective VirtualSite "
		         "intent of that name)",
		         name);
		node_http_error(req, 404, "not_found", reason);
		return;
	}
	const uint8_t *text;
	uint32_t len;
	struct selector *sel = NULL;
	char err[SELECTOR_ERR_MAX];
	/* Every node validated the selector before storing the intent; a
	 * failure here is a bug, not the client's fault. */
	if (intent_virtual_site_read(it->env.body.spec, it->env.body.spec_len, &text, &len) != 0 ||
	    selector_parse((const char *)text, len, &sel, err, sizeof(err)) != 0) {
		snprintf(reason, sizeof(reason), "VirtualSite/%.100s: stored selector unreadable",
		         name);
		node_http_error(req, 500, "internal", reason);
		return;
	}
	json_t *sites = matching_sites(n, sel);
	node_http_json(req, 200,
	               json_pack("{s:s,s:s,s:I,s:I,s:o}", "name", name, "selector",
	                         selector_canonical(sel), "version", (json_int_t)it->env.body.hlc,
	                         "count", (json_int_t)json_array_size(sites), "sites", sites));
	selector_delete(sel);
}
