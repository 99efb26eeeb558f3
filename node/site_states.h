/*
 * site_states.h - what this site says about each intent that concerns it.
 *
 * The reconciler writes one entry per intent whose effective target selects
 * this site (or that it is still removing); the health record carries them
 * to the fleet (node/health_local.c) and GET /v1/self/intents shows them
 * with their reasons. Intents that do not select the site are not listed:
 * observers know which sites an intent selects from the replicated store
 * and the sites' labels. The state vocabulary is enum health_state
 * (docs/intents.md); only owner states belong here.
 *
 * Thread-safety: belongs to the node's loop thread.
 */
#ifndef SHOAL_NODE_SITE_STATES_H
#define SHOAL_NODE_SITE_STATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shoal/health.h"
#include "shoal/intent.h"

#define NODE_SITE_STATES_MAX HEALTH_INTENTS_MAX /* what one health record carries */
#define NODE_SITE_REASON_MAX 512                /* as K8S_REASON_MAX */

struct node_site_state {
	enum intent_kind kind;
	char name[INTENT_NAME_MAX + 1];
	uint64_t version;                  /* HLC of the version this site works on */
	enum health_state state;           /* an owner state */
	char reason[NODE_SITE_REASON_MAX]; /* why this state; "" when ready */
	uint32_t pods[HEALTH_POD_COUNT];   /* pods of the intent's workloads, per bucket */
	uint32_t restarts;                 /* container restarts seen in its pods */
	uint64_t since_ms;                 /* wall ms when state or version last changed */
};

struct node_site_states {
	struct node_site_state *items; /* sorted by (kind, name) */
	size_t n, cap;
	uint64_t generation; /* bumped by every change, so readers notice one */
};

void node_site_states_init(struct node_site_states *t);
void node_site_states_free(struct node_site_states *t);

/* Insert or replace the entry for (st->kind, st->name); since_ms is kept
 * when neither the state nor the version changed. 0; -EINVAL for a bad
 * kind, name or state (observer states are not a site's to report);
 * SHOAL_E_TOO_BIG with NODE_SITE_STATES_MAX entries held; -ENOMEM. */
int node_site_state_set(struct node_site_states *t, const struct node_site_state *st);
/* Drop an entry: 0 or SHOAL_E_NOT_FOUND. */
int node_site_state_remove(struct node_site_states *t, enum intent_kind kind, const char *name);
/* NULL if absent. Valid until the next set or remove. */
const struct node_site_state *node_site_state_get(const struct node_site_states *t,
                                                  enum intent_kind kind, const char *name);

#endif
