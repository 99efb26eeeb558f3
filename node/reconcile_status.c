/*
 * reconcile_status.c - the apply engine's view of each App intent, as this
 * site's per-intent state (site_states.h) in the state vocabulary of
 * docs/intents.md.
 *
 * The engine's states and pod buckets map as shoal/k8s_health.h says
 * (one to one; succeeded/failed pods are history, not state, so they are
 * left out). A state change is logged (intent_state) with its reason; a
 * reason that only moves within a state (a retry count) is not.
 */
#include "node.h"

#include <stdio.h>
#include <string.h>

#include "shoal/error.h"
#include "shoal/k8s_health.h"

#include "reconcile.h"

static void log_state(struct node_reconcile *r, const struct node_site_state *st)
{
	enum node_log_level level = st->state == HEALTH_FAILED || st->state == HEALTH_DEGRADED
	                                    ? NODE_LOG_WARN
	                                    : NODE_LOG_INFO;
	node_log_event(&r->n->log, level, "intent_state",
	               json_pack("{s:s,s:s,s:I,s:s,s:s}", "kind", "App", "name", st->name,
	                         "version", (json_int_t)st->version, "state",
	                         health_state_name(st->state), "reason", st->reason));
}

bool rec_status_update(struct node_reconcile *r, struct rec_entry *e)
{
	struct node_site_state st;
	struct k8s_set_status ks;
	memset(&st, 0, sizeof(st));
	st.kind = INTENT_APP;
	snprintf(st.name, sizeof(st.name), "%s", e->name);
	st.version = e->version;
	switch (e->phase) {
	case REC_NO_CLUSTER:
		st.state = HEALTH_PENDING;
		snprintf(st.reason, sizeof(st.reason), "%s", RECONCILE_NO_CLUSTER);
		break;
	case REC_REFUSED:
		st.state = HEALTH_FAILED;
		snprintf(st.reason, sizeof(st.reason), "%s", e->refused);
		break;
	case REC_APPLIED:
	case REC_REMOVING:
		if (r->k8s == NULL || k8s_set_status(r->k8s, e->set_id, &ks) != 0) {
			if (e->phase == REC_REMOVING) {
				node_log_event(&r->n->log, NODE_LOG_INFO, "intent_prune",
				               json_pack("{s:s,s:s,s:I,s:s}", "kind", "App", "name",
				                         e->name, "version", (json_int_t)e->version,
				                         "status", "removed"));
				rec_entry_drop(r, e);
				return false;
			}
			/* Applied yet unknown to the engine: cannot happen while the
			 * engine lives; reported rather than hidden. */
			st.state = HEALTH_FAILED;
			snprintf(st.reason, sizeof(st.reason), "the apply engine lost this set");
			break;
		}
		st.state = k8s_health_state(ks.state);
		snprintf(st.reason, sizeof(st.reason), "%s", ks.reason);
		for (int b = 0; b < HEALTH_POD_COUNT; b++)
			st.pods[b] = ks.pods[b];
		st.restarts = ks.restarts;
		break;
	}
	st.since_ms = node_wall_ms();
	const struct node_site_state *old =
	        node_site_state_get(&r->n->site_states, INTENT_APP, e->name);
	bool moved = old == NULL || old->state != st.state || old->version != st.version;
	if (node_site_state_set(&r->n->site_states, &st) == 0 && moved)
		log_state(r, &st);
	return true;
}
