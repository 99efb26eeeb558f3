/*
 * fleet.h - the fleet as this node sees it: every site membership knows
 * (not left) and every site whose record we still hold, each with its
 * member state, its newest health record and how an observer must show it.
 *
 * The selection is a label selector over the labels in the site's member
 * record (what /v1/sites matches), or its health record's labels for a site
 * membership has forgotten. The views:
 *   fresh        a record newer than 3 refresh intervals from a live site
 *   stale        no new record version within 3 refresh intervals
 *   unreachable  membership holds the site suspect or dead, or forgot it
 *   unknown      alive, but no record has arrived yet
 * A site that is not fresh has no band: never shown healthy, never failed.
 */
#ifndef SHOAL_NODE_FLEET_H
#define SHOAL_NODE_FLEET_H

#include <stdbool.h>
#include <stdint.h>

#include "shoal/health.h"
#include "shoal/labels.h"
#include "shoal/selector.h"

struct node;

enum fleet_view {
	FLEET_FRESH = 0,
	FLEET_STALE,
	FLEET_UNREACHABLE,
	FLEET_UNKNOWN,
	FLEET_VIEWS,
};

struct fleet_site {
	const char *name;
	const char *member_state; /* "alive", "suspect", "dead"; "gone" once forgotten */
	enum fleet_view view;
	const struct health_entry *entry; /* NULL without a record */
	const struct health_record *rec;  /* decoded entry; NULL without a record */
	const struct shoal_labels *labels;
	uint64_t age_us; /* since the record arrived; 0 without one */
};

typedef void (*fleet_site_fn)(void *ctx, const struct fleet_site *s);

/* Visit every site `sel` selects (NULL: all). Pointers are valid during
 * the call only. 0, or -ENOMEM. */
int node_fleet_walk(struct node *n, const struct selector *sel, fleet_site_fn fn, void *ctx);

/* Walk flags. */
enum {
	/* Leave records undecoded (`rec` NULL; entry, view and band as
	 * usual; labels only when a selector reads them, else none): a walk
	 * that only picks sites by name, view or band costs a tenth of one
	 * that decodes every record. */
	FLEET_WALK_NO_RECORD = 1,
};
int node_fleet_walk_flags(struct node *n, const struct selector *sel, unsigned flags,
                          fleet_site_fn fn, void *ctx);

/* Visit the site `name` as node_fleet_walk shows it (any labels): 1 if it
 * was visited, 0 if the fleet holds no such site, or -ENOMEM. */
int node_fleet_site(struct node *n, const char *name, fleet_site_fn fn, void *ctx);

const char *fleet_view_name(enum fleet_view v);
/* The band to show: "green", "orange", "red"; NULL unless fresh. */
const char *fleet_band_name(const struct fleet_site *s);
/* An intent's state on a site as an observer shows it: the record's own
 * when fresh; stale/unreachable otherwise; pending when the record does
 * not list it (or there is none yet). */
enum health_state fleet_intent_state(const struct fleet_site *s, enum intent_kind kind,
                                     const char *name, uint64_t *version);

#endif
