/*
 * reconcile_orphans.c - App sets on the cluster that this process was
 * never handed: nothing Shoal applied is left behind.
 *
 * The reconciler's entries come from the intent store, so after a restart
 * it knows only the intents that select the site now. A set whose removal
 * a crash cut short, or whose intent was deleted (or stopped selecting the
 * site) while the node was down, would stay on the cluster for good. The
 * engine lists the sets whose records the cluster holds (k8s/records.c)
 * once it answers after start; this file keeps the App ones ("App/<name>")
 * until the store walk (reconcile_judge.c) decides each:
 *
 *   - the store holds the intent and it selects the site: the entry the
 *     walk makes applies it as it would anyway (server-side apply of the
 *     same content changes nothing on the cluster);
 *   - the store holds it and it does not select the site (a tombstone, a
 *     narrowed target, a revoked signer): removed, with that cause;
 *   - the store does not hold it at all (its tombstone collected, or never
 *     seen here): removed as "orphaned", but only once the node is not
 *     resyncing (intents_resync.c): a node that starts from an empty store
 *     does not know yet what the fleet holds, and must not tear down what
 *     it is about to be told to keep.
 *
 * A record written before records named their set carries only the label
 * (a hash of the set id): it is matched against the App intents the store
 * holds, tombstones included, and left alone if none hashes to it by the
 * first judge after any resync, since it may belong to a set that is not
 * an App's (logged as reconcile_unclaimed).
 */
#include "node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile.h"

#define APP_PREFIX "App/"

bool rec_orphans_take(struct node_reconcile *r)
{
	size_t n = 0;
	const struct k8s_found_set *f =
	        r->found_taken || r->k8s == NULL ? NULL : k8s_ctx_found_sets(r->k8s, &n);
	if (f == NULL)
		return false;
	r->found_taken = true;
	r->orphans = calloc(n + 1, sizeof(*r->orphans));
	if (r->orphans == NULL) {
		/* Taken is taken: the sets the store selects are applied anyway,
		 * only the leftovers are missed, and the log says so. */
		node_log_event(
		        &r->n->log, NODE_LOG_WARN, "reconcile_found",
		        json_pack("{s:I,s:s}", "sets", (json_int_t)n, "error", "out of memory"));
		return false;
	}
	size_t unnamed = 0, plen = strlen(APP_PREFIX);
	for (size_t i = 0; i < n; i++) {
		struct rec_orphan *o = &r->orphans[r->norphans];
		if (f[i].id[0] == '\0') {
			unnamed++;
		} else if (strncmp(f[i].id, APP_PREFIX, plen) != 0 ||
		           strlen(f[i].id + plen) > INTENT_NAME_MAX || f[i].id[plen] == '\0') {
			continue; /* not an App's set: not the reconciler's */
		} else {
			memcpy(o->name, f[i].id + plen, strlen(f[i].id + plen) + 1);
		}
		memcpy(o->label, f[i].label, sizeof(o->label));
		r->norphans++;
	}
	node_log_event(&r->n->log, NODE_LOG_INFO, "reconcile_found",
	               json_pack("{s:I,s:I,s:I}", "sets", (json_int_t)n, "apps",
	                         (json_int_t)(r->norphans - unnamed), "unnamed",
	                         (json_int_t)unnamed));
	return true;
}

static void drop(struct node_reconcile *r, size_t i)
{
	r->orphans[i] = r->orphans[--r->norphans];
}

bool rec_orphans_claim(struct node_reconcile *r, const char *name)
{
	char label[K8S_SET_LABEL_LEN + 1] = "";
	for (size_t i = 0; i < r->norphans; i++) {
		struct rec_orphan *o = &r->orphans[i];
		if (o->name[0] == '\0' && label[0] == '\0') {
			char id[sizeof(APP_PREFIX) + INTENT_NAME_MAX];
			snprintf(id, sizeof(id), APP_PREFIX "%s", name);
			k8s_set_label(id, label);
		}
		if (o->name[0] != '\0' ? strcmp(o->name, name) == 0
		                       : strcmp(o->label, label) == 0) {
			drop(r, i);
			return true;
		}
	}
	return false;
}

bool rec_orphans_pop_unheld(struct node_reconcile *r, char name[INTENT_NAME_MAX + 1])
{
	if (r->n->intents_resync)
		return false;
	for (size_t i = 0; i < r->norphans; i++) {
		if (r->orphans[i].name[0] != '\0') {
			memcpy(name, r->orphans[i].name, INTENT_NAME_MAX + 1);
			drop(r, i);
			return true;
		}
	}
	/* What is left names no set and no intent held hashes to it: not
	 * known to be an App's, so not touched, and not hashed against every
	 * intent at every judge from now on either. */
	if (r->norphans > 0)
		node_log_event(&r->n->log, NODE_LOG_WARN, "reconcile_unclaimed",
		               json_pack("{s:I}", "sets", (json_int_t)r->norphans));
	r->norphans = 0;
	return false;
}
