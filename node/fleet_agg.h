/*
 * fleet_agg.h - the fleet's aggregates over a selection of sites, in one
 * walk (fleet.c): sites by band and view, use distributions, the sites and
 * links that need attention, each applied intent's states over the sites
 * it selects, pods, policy hits and alerts. GET /v1/fleet renders them as
 * JSON (api_fleet.c), /metrics as gauges (metrics_health.c).
 *
 * An intent selects a site by its effective target (target AND signer
 * scope) over the site's member labels, the judgement the site's own
 * reconciler makes, so "selected" agrees with what the sites do.
 */
#ifndef SHOAL_NODE_FLEET_AGG_H
#define SHOAL_NODE_FLEET_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "shoal/health.h"
#include "shoal/intent_store.h"
#include "shoal/selector.h"
#include "shoal/swim.h"

#include "fleet.h"

struct node;

/* Per mille values (0-1000, the decoder's range) counted, not kept: the
 * percentiles are read off the counts (node_fleet_dist_rank), which at
 * 10,000 sites is far cheaper than sorting. */
struct dist {
	uint32_t hist[10];
	uint32_t counts[1001];
	size_t n;
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

struct fleet_agg {
	uint32_t total, bands[3], views[FLEET_VIEWS];
	struct dist cpu, mem, disk;
	size_t limit;        /* sites kept in worst and lworst */
	struct worst *worst; /* [limit]: the first by node_fleet_worst_cmp, in order */
	size_t nworst;
	struct fleet_intent *intents;
	size_t nintents;
	uint64_t pods[HEALTH_POD_COUNT];
	uint32_t links_reporting;
	uint32_t *p50s;
	size_t np50, p50_cap;
	uint32_t p99_max;
	uint64_t loss_sum;
	struct link_worst *lworst; /* [limit]: the first by node_fleet_link_cmp, in order */
	size_t nlworst;
	json_t *policy; /* {rule: hits} */
	json_t *alerts; /* {name: [sites]} */
	bool oom;
};

/* Aggregate the sites `sel` selects (NULL: all) into *a (zeroed first),
 * keeping the `worst` sites and links that need attention first (0: none).
 * 0, or -ENOMEM (then *a is freed already). */
int node_fleet_aggregate(struct node *n, const struct selector *sel, size_t worst,
                         struct fleet_agg *a);
void node_fleet_agg_free(struct fleet_agg *a);
/* Sites needing attention first: unreachable, stale, unknown, then fresh
 * by ascending score (ties by name). */
int node_fleet_worst_cmp(const void *x, const void *y);
/* Links needing attention first: by loss, then p99 RTT, descending (ties
 * by name). */
int node_fleet_link_cmp(const void *x, const void *y);
/* The rank-th smallest value of a distribution (1 <= rank <= d->n). */
uint32_t node_fleet_dist_rank(const struct dist *d, size_t rank);

#endif
