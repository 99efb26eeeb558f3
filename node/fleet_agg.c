/*
 * fleet_agg.c - the fleet's aggregates in one walk (fleet_agg.h).
 */
#include "fleet_agg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"

#include "node.h"

static void dist_add(struct dist *d, uint16_t pm)
{
	if (pm > 1000)
		pm = 1000;
	d->counts[pm]++;
	d->n++;
	d->sum += pm;
	d->hist[pm >= 1000 ? 9 : pm / 100]++;
}

uint32_t node_fleet_dist_rank(const struct dist *d, size_t rank)
{
	size_t seen = 0;
	for (uint32_t v = 0; v <= 1000; v++) {
		seen += d->counts[v];
		if (seen >= rank)
			return v;
	}
	return 1000;
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

int node_fleet_worst_cmp(const void *x, const void *y)
{
	const struct worst *a = x, *b = y;
	int ra = worst_rank(a), rb = worst_rank(b);
	if (ra != rb)
		return ra - rb;
	if (a->has && b->has && a->score.score != b->score.score)
		return (int)a->score.score - (int)b->score.score;
	return strcmp(a->name, b->name);
}

int node_fleet_link_cmp(const void *x, const void *y)
{
	const struct link_worst *a = x, *b = y;
	if (a->l.loss_pm != b->l.loss_pm)
		return a->l.loss_pm > b->l.loss_pm ? -1 : 1;
	if (a->l.rtt_p99_us != b->l.rtt_p99_us)
		return a->l.rtt_p99_us > b->l.rtt_p99_us ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* Keep the `limit` entries that rank first, in order, in `kept` (*n of
 * them): both orders end on the unique site name, so this keeps exactly
 * what sorting every site would, and a site that does not beat the last
 * one kept costs one comparison. */
static void keep_first(void *kept, size_t *n, size_t limit, size_t size, const void *x,
                       int (*cmp)(const void *, const void *))
{
	uint8_t *base = kept;
	if (limit == 0 || (*n == limit && cmp(x, base + (limit - 1) * size) >= 0))
		return;
	size_t i = *n < limit ? (*n)++ : limit - 1;
	while (i > 0 && cmp(x, base + (i - 1) * size) < 0) {
		memcpy(base + i * size, base + (i - 1) * size, size);
		i--;
	}
	memcpy(base + i * size, x, size);
}

static void on_site(void *ctx, const struct fleet_site *s)
{
	struct fleet_agg *a = ctx;
	a->total++;
	a->views[s->view]++;
	const struct health_record *r = s->rec;
	if (s->view == FLEET_FRESH)
		a->bands[health_band_of(s->entry->score.score)]++;
	if (s->view == FLEET_FRESH && r != NULL) {
		dist_add(&a->cpu, r->cpu_pm);
		dist_add(&a->mem, r->mem_pm);
		dist_add(&a->disk, r->disk_pm);
		for (int p = 0; p < HEALTH_POD_COUNT; p++)
			a->pods[p] += r->pods[p];
		if (r->links.probed > 0) {
			a->links_reporting++;
			if (a->np50 == a->p50_cap) {
				size_t cap = a->p50_cap ? a->p50_cap * 2 : 256;
				uint32_t *grown = realloc(a->p50s, cap * sizeof(*grown));
				if (grown == NULL) {
					a->oom = true;
					return;
				}
				a->p50s = grown;
				a->p50_cap = cap;
			}
			a->p50s[a->np50++] = r->links.rtt_p50_us;
			if (r->links.rtt_p99_us > a->p99_max)
				a->p99_max = r->links.rtt_p99_us;
			a->loss_sum += r->links.loss_pm;
			struct link_worst lw;
			snprintf(lw.name, sizeof(lw.name), "%s", s->name);
			lw.l = r->links;
			keep_first(a->lworst, &a->nlworst, a->limit, sizeof(lw), &lw,
			           node_fleet_link_cmp);
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
	struct worst w = {.view = s->view, .has = s->entry != NULL};
	snprintf(w.name, sizeof(w.name), "%s", s->name);
	if (w.has)
		w.score = s->entry->score;
	keep_first(a->worst, &a->nworst, a->limit, sizeof(w), &w, node_fleet_worst_cmp);

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
static int collect_intents(struct node *n, struct fleet_agg *a)
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

void node_fleet_agg_free(struct fleet_agg *a)
{
	free(a->worst);
	for (size_t i = 0; i < a->nintents; i++)
		selector_delete(a->intents[i].sel);
	free(a->intents);
	free(a->p50s);
	free(a->lworst);
	json_decref(a->policy);
	json_decref(a->alerts);
}

int node_fleet_aggregate(struct node *n, const struct selector *sel, size_t worst,
                         struct fleet_agg *a)
{
	memset(a, 0, sizeof(*a));
	a->policy = json_object();
	a->alerts = json_object();
	a->limit = worst;
	a->worst = calloc(worst > 0 ? worst : 1, sizeof(*a->worst));
	a->lworst = calloc(worst > 0 ? worst : 1, sizeof(*a->lworst));
	if (a->policy == NULL || a->alerts == NULL || a->worst == NULL || a->lworst == NULL ||
	    collect_intents(n, a) != 0 || node_fleet_walk(n, sel, on_site, a) != 0 || a->oom) {
		node_fleet_agg_free(a);
		memset(a, 0, sizeof(*a));
		return -ENOMEM;
	}
	return 0;
}
