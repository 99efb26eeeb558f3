/*
 * reconcile_judge.c - which App intents this site runs, and handing them
 * to the apply engine.
 *
 * For every App intent the store holds: intent_store_selects() over this
 * site's own labels (crdt/intent_target.c: the intent's target AND its
 * signer's scope, a virtual site resolved through the store; a deleted,
 * revoked or no longer authorised intent selects nothing). Selected: its
 * manifests become the content of apply set "App/<name>", again only when
 * the version changes (the engine keeps a set there by itself). Not
 * selected any more, or gone from the store: the set is removed, which
 * prunes everything it put on the cluster, and the entry goes once the
 * engine has finished.
 *
 * Sets found on the cluster that no entry holds (reconcile_orphans.c) get
 * an entry here when their intent does not select the site, and are
 * removed like any other.
 *
 * A leaf's stub that selects the site (its body dropped while it did not;
 * leaf_intents.c is fetching it) is left as it is until the body is in.
 *
 * Each intent is its own set with its own backoff in the engine, and a
 * refusal here only marks that one entry: one intent's failure never
 * blocks another.
 */
#include "node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"
#include "shoal/labels.h"

#include "reconcile.h"

static struct rec_entry *find(struct node_reconcile *r, const char *name, size_t *at)
{
	size_t lo = 0, hi = r->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(r->items[mid].name, name);
		if (c == 0) {
			*at = mid;
			return &r->items[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return NULL;
}

static struct rec_entry *add(struct node_reconcile *r, const char *name, size_t at)
{
	if (r->count == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct rec_entry *items = realloc(r->items, cap * sizeof(*items));
		if (items == NULL)
			return NULL;
		r->items = items;
		r->cap = cap;
	}
	memmove(&r->items[at + 1], &r->items[at], (r->count - at) * sizeof(*r->items));
	r->count++;
	struct rec_entry *e = &r->items[at];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->set_id, sizeof(e->set_id), "App/%s", name);
	return e;
}

void rec_entry_drop(struct node_reconcile *r, struct rec_entry *e)
{
	size_t at = (size_t)(e - r->items);
	node_site_state_remove(&r->n->site_states, INTENT_APP, e->name);
	memmove(&r->items[at], &r->items[at + 1], (r->count - at - 1) * sizeof(*r->items));
	r->count--;
}

static void log_apply(struct node_reconcile *r, const struct rec_entry *e, const char *error)
{
	node_log_event(&r->n->log, error != NULL ? NODE_LOG_WARN : NODE_LOG_INFO, "intent_apply",
	               json_pack("{s:s,s:s,s:I,s:s?}", "kind", "App", "name", e->name, "version",
	                         (json_int_t)e->version, "error", error));
}

/* Selected: hand this version to the engine (or note there is no cluster). */
static void want(struct node_reconcile *r, struct rec_entry *e, const struct intent_item *it)
{
	if (e->version == it->env.body.hlc && e->phase != REC_REMOVING)
		return; /* the engine has it; it keeps it there by itself */
	e->version = it->env.body.hlc;
	if (r->k8s == NULL) {
		e->phase = REC_NO_CLUSTER;
		return;
	}
	struct intent_app_spec app;
	char ns[64], err[NODE_SITE_REASON_MAX - 32];
	int rc = SHOAL_E_MALFORMED;
	snprintf(err, sizeof(err), "the App spec does not read");
	if (intent_app_spec_read(it->env.body.spec, it->env.body.spec_len, &app) == 0) {
		if (app.ns != NULL && app.ns_len >= sizeof(ns)) {
			snprintf(err, sizeof(err), "spec.namespace is longer than 63 characters");
		} else {
			if (app.ns != NULL) {
				memcpy(ns, app.ns, app.ns_len);
				ns[app.ns_len] = '\0';
			}
			rc = k8s_set_apply_in(r->k8s, e->set_id, app.ns != NULL ? ns : NULL,
			                      app.manifests, app.manifests_len, err, sizeof(err));
		}
	}
	if (rc != 0) {
		/* What the engine held before (an older version) stays as it was:
		 * a version that cannot be applied does not tear down the last
		 * one that could. */
		e->phase = REC_REFUSED;
		snprintf(e->refused, sizeof(e->refused), "manifests refused: %s", err);
		log_apply(r, e, e->refused);
		return;
	}
	e->phase = REC_APPLIED;
	log_apply(r, e, NULL);
}

/* Not selected (any more): prune what the set put on the cluster. */
static void unwant(struct node_reconcile *r, struct rec_entry *e, const char *cause)
{
	if (e->phase == REC_REMOVING)
		return;
	if (r->k8s == NULL || k8s_set_remove(r->k8s, e->set_id) != 0) {
		/* Nothing on the cluster for it (no cluster, or a first version
		 * the engine refused): nothing to wait for. */
		rec_entry_drop(r, e);
		return;
	}
	e->phase = REC_REMOVING;
	node_log_event(&r->n->log, NODE_LOG_INFO, "intent_prune",
	               json_pack("{s:s,s:s,s:I,s:s,s:s}", "kind", "App", "name", e->name, "version",
	                         (json_int_t)e->version, "cause", cause, "status", "removing"));
}

/* Why an App intent does not select this site, in a few words. */
static const char *cause_of(const struct intent_store *s, const struct intent_item *it, int sel)
{
	if (it->env.body.op != INTENT_PUT)
		return "deleted";
	if (sel == 0)
		return "not selected";
	switch (intent_store_status(s, it)) {
	case INTENT_REVOKED:
		return "signer revoked";
	case INTENT_UNAUTHORIZED:
		return "signer not authorized";
	default:
		return sel == SHOAL_E_NOT_FOUND ? "virtual site not held" : "not effective";
	}
}

void rec_judge(struct node_reconcile *r)
{
	struct node *n = r->n;
	struct shoal_label own[NODE_ALL_LABELS_MAX];
	struct shoal_labels labels = {own, node_labels_compose(n, &n->sys, own)};

	for (size_t i = 0; i < r->count; i++)
		r->items[i].seen = false;
	size_t total = n->intents != NULL ? intent_store_count(n->intents) : 0;
	for (size_t i = 0; i < total; i++) {
		const struct intent_item *it = intent_store_at(n->intents, i);
		if (it->env.body.kind != INTENT_APP)
			continue;
		size_t at;
		struct rec_entry *e = find(r, it->env.body.name, &at);
		int sel = it->env.body.op == INTENT_PUT
		                  ? intent_store_selects(n->intents, it, &labels)
		                  : SHOAL_E_STATE;
		/* Found on the cluster, unknown to this process: now an entry's. */
		bool found = r->norphans > 0 && rec_orphans_claim(r, it->env.body.name);
		if (sel == 1 && it->stub) {
			/* A leaf's stub that selects it now: its body is on the way
			 * (leaf_intents.c); what the engine holds stays until it
			 * arrives. */
			if (e != NULL)
				e->seen = true;
		} else if (sel == 1) {
			if (e == NULL && (e = add(r, it->env.body.name, at)) == NULL)
				continue; /* out of memory: judged again at the next change */
			e->seen = true;
			want(r, e, it);
		} else if (e != NULL || found) {
			if (e == NULL && (e = add(r, it->env.body.name, at)) == NULL)
				continue;
			if (e->version == 0)
				e->version = it->env.body.hlc;
			e->seen = true;
			unwant(r, e, cause_of(n->intents, it, sel));
		}
	}
	/* Entries whose intent left the store (a collected tombstone). */
	for (size_t i = r->count; i-- > 0;)
		if (!r->items[i].seen)
			unwant(r, &r->items[i], "deleted");
	/* Sets found on the cluster whose intent the store does not hold. */
	char name[INTENT_NAME_MAX + 1];
	while (rec_orphans_pop_unheld(r, name)) {
		size_t at;
		struct rec_entry *e = find(r, name, &at);
		if (e == NULL && (e = add(r, name, at)) != NULL) {
			e->seen = true;
			unwant(r, e, "orphaned");
		}
	}
	for (size_t i = 0; i < r->count;)
		if (rec_status_update(r, &r->items[i]))
			i++;
}
