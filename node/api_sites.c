/*
 * api_sites.c - GET /v1/sites?selector=S and GET /v1/virtual-sites/NAME:
 * label selectors evaluated over the replicated membership.
 *
 * A site is a member this node holds alive or suspect (a suspect may yet
 * refute; dead and left members are not sites anyone can reach). Its
 * labels are the ones in its signed member record, so every node that
 * holds the same records answers the same list, and a site started later
 * with matching labels appears everywhere as soon as its record spreads.
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
	struct node_site_labels *labels = malloc(sizeof(*labels));
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
		if (!node_site_labels_decode(m.labels, m.labels_len, labels) ||
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
	struct selector *sel = node_api_selector_param(req);
	if (sel == NULL)
		return;
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
