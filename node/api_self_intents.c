/*
 * api_self_intents.c - GET /v1/self/intents: what this site says about each
 * intent that concerns it (n->site_states, written by the reconciler).
 *
 * Only intents this site works on are listed: the ones whose effective
 * target selects it, and the ones it is still removing. "cluster" says
 * whether the site has a Kubernetes cluster at all; without one every
 * selected App intent is pending with that reason.
 */
#include "api.h"

#include "clock.h"
#include "node.h"

static json_t *state_json(const struct node_site_state *st)
{
	char since[NODE_RFC3339_LEN];
	json_t *pods = json_object();
	for (int b = 0; b < HEALTH_POD_COUNT; b++)
		json_object_set_new(pods, health_pod_name(b), json_integer(st->pods[b]));
	json_t *when = node_clock_rfc3339(st->since_ms * 1000, since, sizeof(since)) == 0
	                       ? json_string(since)
	                       : json_null();
	return json_pack("{s:s,s:s,s:I,s:s,s:s,s:o,s:o,s:I}", "kind", intent_kind_name(st->kind),
	                 "name", st->name, "version", (json_int_t)st->version, "state",
	                 health_state_name(st->state), "reason", st->reason, "since", when, "pods",
	                 pods, "restarts", (json_int_t)st->restarts);
}

void node_api_self_intents(struct node_http_req *req)
{
	struct node *n = req->ctx;
	json_t *list = json_array();
	for (size_t i = 0; i < n->site_states.n; i++)
		json_array_append_new(list, state_json(&n->site_states.items[i]));
	node_http_json(req, 200,
	               json_pack("{s:s,s:b,s:o}", "site", n->cfg->name, "cluster",
	                         node_reconcile_has_cluster(n), "intents", list));
}
