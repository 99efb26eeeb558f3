/*
 * metrics_health.c - /metrics families for health: this site's own record
 * (score, components, use), the health table's traffic, and the fleet's
 * aggregates (sites by band and view, intents' sites by state) as this
 * node sees them, so any node's scrape shows the whole fleet.
 */
#include "api.h"

#include "shoal/mp.h"

#include "fleet_agg.h"
#include "node.h"

static void own_record(struct node *n, struct shoal_buf *b)
{
	const struct node_health *h = &n->health;
	if (h->last == NULL || h->last_len == 0)
		return;
	const struct health_record *r = h->last;
	node_metrics_family(b, "shoal_site_score", "gauge",
	                    "This site's health score (0-100) as last published.");
	node_metrics_emit(b, "shoal_site_score %u\n", r->score.score);
	node_metrics_family(b, "shoal_site_score_component", "gauge",
	                    "This site's score components (0-100).");
	const struct {
		const char *name;
		uint8_t v;
	} comps[] = {{"connectivity", r->score.connectivity},
	             {"reliability", r->score.reliability},
	             {"security", r->score.security},
	             {"performance", r->score.performance}};
	for (size_t i = 0; i < sizeof(comps) / sizeof(comps[0]); i++)
		node_metrics_emit(b, "shoal_site_score_component{component=\"%s\"} %u\n",
		                  comps[i].name, comps[i].v);
	node_metrics_family(b, "shoal_site_usage_ratio", "gauge",
	                    "This site's CPU, memory and disk use (0-1).");
	node_metrics_emit(b, "shoal_site_usage_ratio{resource=\"cpu\"} %.3f\n", r->cpu_pm / 1000.0);
	node_metrics_emit(b, "shoal_site_usage_ratio{resource=\"memory\"} %.3f\n",
	                  r->mem_pm / 1000.0);
	node_metrics_emit(b, "shoal_site_usage_ratio{resource=\"disk\"} %.3f\n",
	                  r->disk_pm / 1000.0);
	node_metrics_family(b, "shoal_site_link_loss_ratio", "gauge",
	                    "Share of this site's probes unanswered over the link window.");
	node_metrics_emit(b, "shoal_site_link_loss_ratio %.3f\n", r->links.loss_pm / 1000.0);
}

static void fleet(struct node *n, struct shoal_buf *b)
{
	struct fleet_agg a;
	if (node_fleet_aggregate(n, NULL, 0, &a) != 0)
		return;
	node_metrics_family(
	        b, "shoal_fleet_sites", "gauge",
	        "Sites by band (fresh records) or by view (stale, unreachable, unknown).");
	node_metrics_emit(b, "shoal_fleet_sites{band=\"green\"} %u\n", a.bands[HEALTH_GREEN]);
	node_metrics_emit(b, "shoal_fleet_sites{band=\"orange\"} %u\n", a.bands[HEALTH_ORANGE]);
	node_metrics_emit(b, "shoal_fleet_sites{band=\"red\"} %u\n", a.bands[HEALTH_RED]);
	for (int v = FLEET_STALE; v < FLEET_VIEWS; v++)
		node_metrics_emit(b, "shoal_fleet_sites{band=\"%s\"} %u\n",
		                  fleet_view_name((enum fleet_view)v), a.views[v]);
	uint64_t states[HEALTH_STATE_COUNT] = {0};
	for (size_t i = 0; i < a.nintents; i++)
		for (int s = 0; s < HEALTH_STATE_COUNT; s++)
			states[s] += a.intents[i].states[s];
	node_metrics_family(b, "shoal_fleet_intent_sites", "gauge",
	                    "Sites selected by applied intents, by state, summed over intents.");
	for (int s = HEALTH_PENDING; s < HEALTH_STATE_COUNT; s++)
		node_metrics_emit(b, "shoal_fleet_intent_sites{state=\"%s\"} %llu\n",
		                  health_state_name((enum health_state)s),
		                  (unsigned long long)states[s]);
	node_fleet_agg_free(&a);
}

void node_metrics_health(struct node *n, struct shoal_buf *b)
{
	const struct node_health *h = &n->health;
	node_metrics_counter(b, "shoal_health_published_total",
	                     "Health records this site signed and published.", h->published);
	node_metrics_counter(b, "shoal_health_accepted_total",
	                     "Health records verified and kept (newer than the one held).",
	                     h->accepted);
	node_metrics_counter(b, "shoal_health_rejected_total",
	                     "Health records refused (bad signature, unknown site, malformed).",
	                     h->rejected);
	node_metrics_family(b, "shoal_health_records", "gauge",
	                    "Sites whose health record is held.");
	node_metrics_emit(b, "shoal_health_records %u\n",
	                  h->table != NULL ? health_table_count(h->table) : 0);
	own_record(n, b);
	fleet(n, b);
}
