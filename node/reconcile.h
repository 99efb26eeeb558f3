/*
 * reconcile.h - the reconciler's insides, shared by reconcile.c (lifecycle,
 * timers, the k8s-version label), reconcile_judge.c (which App intents this
 * site runs: apply, re-apply, remove) and reconcile_status.c (the engine's
 * status as this site's per-intent states).
 *
 * One entry per App intent the site works on: selected and applied (or
 * refused, or waiting for a cluster), or still being removed. An intent
 * that never selected the site has no entry, and neither does one whose
 * removal finished. reconcile_orphans.c holds the App sets found on the
 * cluster at start that no entry has taken over yet.
 *
 * Thread-safety: belongs to the node's loop thread.
 */
#ifndef SHOAL_NODE_RECONCILE_H
#define SHOAL_NODE_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "shoal/intent.h"
#include "shoal/k8s.h"

#include "site_states.h"

/* Status poll and judge period (fast profile: a tenth). */
#define RECONCILE_POLL_MS 1000
/* The reason reported for a selected App intent on a site without a cluster. */
#define RECONCILE_NO_CLUSTER "no Kubernetes cluster configured (--kubeconfig)"
/* "App/" + name: the apply set an App intent owns on the cluster. */
#define RECONCILE_SET_ID_MAX (4 + INTENT_NAME_MAX)

enum rec_phase {
	REC_NO_CLUSTER = 0, /* selected, but this site has no cluster */
	REC_APPLIED,        /* handed to the engine; its status is the state */
	REC_REFUSED,        /* the engine refused the manifests of this version */
	REC_REMOVING,       /* not selected any more: the engine is deleting it */
};

struct rec_entry {
	char name[INTENT_NAME_MAX + 1];
	char set_id[RECONCILE_SET_ID_MAX + 1];
	uint64_t version; /* HLC of the version applied (or refused) */
	enum rec_phase phase;
	char refused[NODE_SITE_REASON_MAX]; /* REC_REFUSED: the engine's words */
	bool seen;                          /* held in the store at the last judge */
};

/* An App set whose record the cluster holds, not yet an entry's. */
struct rec_orphan {
	char label[K8S_SET_LABEL_LEN + 1];
	char name[INTENT_NAME_MAX + 1]; /* "" when the record does not name its set */
};

struct node;

struct node_reconcile {
	struct node *n;
	struct k8s_ctx *k8s;     /* NULL: no cluster configured */
	uv_timer_t poll;         /* status poll; also judges when something changed */
	uv_timer_t kick;         /* zero-delay judge after a commit or a label change */
	int open_handles;        /* closed handles free the struct once both are gone */
	uint64_t changes_seen;   /* n->intents_changes at the last judge */
	uint8_t labels_seen[32]; /* hash of the labels at the last judge */
	bool judged;             /* a judge ran (changes_seen means something) */
	char version_seen[64];   /* the server version last set as a label */
	struct rec_entry *items; /* sorted by name */
	size_t count, cap;
	bool resync_seen;           /* n->intents_resync at the last judge */
	bool found_taken;           /* the engine's listing of records was taken */
	struct rec_orphan *orphans; /* found, not (yet) an entry's */
	size_t norphans;
};

/* reconcile_judge.c: walk the store's App intents against this site's
 * labels and apply, re-apply or remove; every entry ends with its site
 * state refreshed. */
void rec_judge(struct node_reconcile *r);
/* Forget an entry (its site state too). */
void rec_entry_drop(struct node_reconcile *r, struct rec_entry *e);

/* reconcile_orphans.c: take the engine's listing of the sets found on the
 * cluster (once it has one; true when taken now, so a judge should run);
 * hand the found set of App `name` over to the store walk (true if there
 * was one); after a full walk, pop a found set whose intent the store does
 * not hold at all (false when none is left, and the unnamed records no
 * intent claimed are then let go). Nothing is popped while resyncing. */
bool rec_orphans_take(struct node_reconcile *r);
bool rec_orphans_claim(struct node_reconcile *r, const char *name);
bool rec_orphans_pop_unheld(struct node_reconcile *r, char name[INTENT_NAME_MAX + 1]);

/* reconcile_status.c: one entry's state from the engine into
 * n->site_states, logging state changes; false when the entry is gone (a
 * removal finished), so the caller must not touch it again. */
bool rec_status_update(struct node_reconcile *r, struct rec_entry *e);

#endif
