/*
 * rollout.h - simulated sites applying App intents in shoalsim: with `k8s:`
 * in a scenario, every node judges the App intents its real intent store
 * holds as shoald's reconciler does (node/reconcile_judge.c), hands the
 * ones that select it to a simulated apply backend (k8s_sim_*, one per
 * node, on the virtual clock, draws from the run seed), and puts each
 * intent's state (pending, applying, ready, failed; the version held) into
 * the node's health record (health.h), which the real pacer publishes: an
 * intent state change is a meaningful change (HEALTH_CH_INTENT).
 *
 * Judging: whether an intent selects a site is intent_store_selects() over
 * the node's scenario labels (its target AND its signer's scope), asked of
 * the node's own store. A commit at a node judges it at once (an engine
 * event right after, as shoald's commit hook kicks a zero-delay timer);
 * a site's states are read from the backend at its health samples (every
 * 5 s while an apply is in flight, as shoald samples).
 *
 * What is measured, per App intent submitted: its selected sites (the
 * target judged over every node's labels at submit), and the time from
 * submit until (a) every selected live node holds it, (b) every selected
 * live node has published a record with it settled (ready or failed) at
 * its version, (c) the observer node's health table shows every selected
 * site settled: the fleet-wide view `shoalctl wait` reads. The observer's
 * table is read as it is: each record it accepts is decoded, and a site
 * listing an intent that does not select it is counted.
 *
 * Ownership: sim_rollout_new after the health and before the items (items
 * and health call in); sim_rollout_delete after both are gone.
 */
#ifndef SHOAL_SIM_ROLLOUT_H
#define SHOAL_SIM_ROLLOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shoal/health.h"
#include "shoal/intent_store.h"
#include "shoal/labels.h"
#include "shoal/sim.h"

#include "dist.h"

struct sim_rollout_config {
	uint32_t apply_min_ms, apply_max_ms; /* each apply's latency, uniform */
	double fail_rate;                    /* share of applies that end failed */
	uint32_t observer;                   /* node whose table is watched */
};

/* One App intent and how far its rollout got. Times absolute virtual us;
 * UINT64_MAX = not (yet). */
struct sim_rollout_intent {
	uint64_t put_at;       /* submitted */
	uint64_t version;      /* its HLC */
	uint32_t selected;     /* sites its target selects */
	uint32_t held;         /* selected sites that committed it */
	uint32_t own_ready;    /* selected sites that published it ready */
	uint32_t own_failed;   /* ... failed */
	uint32_t obs_ready;    /* selected sites the observer's table shows ready */
	uint32_t obs_failed;   /* ... failed */
	uint64_t held_at;      /* (a) every selected live site holds it */
	uint64_t own_at;       /* (b) every selected live site published it settled */
	uint64_t obs_at;       /* (c) the observer's table shows every selected site settled */
	uint64_t bytes_at_put; /* fleet health bytes sent when it was submitted */
	uint64_t bytes_at_obs; /* ... when (c) was reached */
};

/* The steps a rollout is measured at. */
#define SIM_ROLLOUT_HELD  0 /* committed it */
#define SIM_ROLLOUT_OWN   1 /* published it settled */
#define SIM_ROLLOUT_OBS   2 /* the observer's table shows it settled */
#define SIM_ROLLOUT_STEPS 3

/* What a run reports (run.h): per intent, then the burst. Times in s. */
struct sim_rollout_row {
	uint64_t at_us;                  /* submitted, since the start of the measured run */
	uint32_t selected;               /* sites its target selects */
	uint32_t held;                   /* of them: committed it */
	uint32_t own_ready;              /* published it ready */
	uint32_t own_failed;             /* published it failed */
	uint32_t obs_ready;              /* shown ready in the observer's table */
	uint32_t obs_failed;             /* shown failed there */
	double all_s[SIM_ROLLOUT_STEPS]; /* until every selected live site; -1 = never */
	struct sim_dist site[SIM_ROLLOUT_STEPS]; /* per selected site that got there, s */
	uint32_t reached[SIM_ROLLOUT_STEPS];     /* sites that got there */
};

struct sim_rollout_result {
	uint32_t nrows;                         /* App intents submitted */
	struct sim_rollout_row *row;            /* [nrows] */
	struct sim_dist all[SIM_ROLLOUT_STEPS]; /* all_s over the intents that got there */
	uint32_t all_n[SIM_ROLLOUT_STEPS];
	uint64_t unselected_listed; /* records listing an intent that does not select the site */
	uint64_t refused;           /* applies the backend refused */
	uint32_t observer;
	/* The burst: from the first submit until the last intent's (c) (or
	 * the end), against the steady run before the first submit. */
	double burst_s, steady_s;           /* window lengths */
	uint32_t burst_pubs, steady_pubs;   /* records published in each */
	double burst_pubs_s, steady_pubs_s; /* fleet-wide per second */
	double burst_bytes, steady_bytes;   /* health bytes sent per node per s */
};

struct sim_rollout;
struct sim_items;
struct sim_health;

/* -ENOMEM; -EINVAL for a bad config. */
int sim_rollout_new(struct sim_rollout **out, struct sim_cluster *c,
                    const struct sim_rollout_config *cfg);
void sim_rollout_delete(struct sim_rollout *ro);

/* Wiring. `labels` holds `per_node` labels for each node in turn; it must
 * outlive the rollout. */
void sim_rollout_set_labels(struct sim_rollout *ro, const struct shoal_label *labels,
                            size_t per_node);
void sim_rollout_set_items(struct sim_rollout *ro, struct sim_items *items);
void sim_rollout_set_health(struct sim_rollout *ro, struct sim_health *health);

/* items.c: intent `index` (an App) was submitted at `origin` and is held
 * by its `store`; `node`'s store committed intent `index`. */
void sim_rollout_submitted(struct sim_rollout *ro, uint32_t index, uint32_t origin,
                           const struct intent_store *store, const struct intent_item *item);
void sim_rollout_committed(struct sim_rollout *ro, uint32_t node, uint32_t index);
/* Judge `node`'s store right after this event (a commit, a restart). */
void sim_rollout_kick(struct sim_rollout *ro, uint32_t node);

/* health.c, at a node's sample: read the backend's states; true while an
 * apply is in flight (sample again soon). */
bool sim_rollout_sample(struct sim_rollout *ro, uint32_t node);
/* Append the node's App intent states to `r` (current ones, or as last
 * published); the names point into the rollout until its next call. */
void sim_rollout_fill(const struct sim_rollout *ro, uint32_t node, bool published,
                      struct health_record *r);
/* The node published its current states. */
void sim_rollout_published(struct sim_rollout *ro, uint32_t node);
/* The observer's table accepted `site`'s record (envelope bytes). */
void sim_rollout_observed(struct sim_rollout *ro, uint32_t site, const uint8_t *env, size_t len);
/* The observer node. */
uint32_t sim_rollout_observer(const struct sim_rollout *ro);

/* Results. */
uint32_t sim_rollout_count(const struct sim_rollout *ro); /* App intents submitted */
const struct sim_rollout_intent *sim_rollout_get(const struct sim_rollout *ro, uint32_t i);
/* When selected site `node` reached a step of intent i, ms after submit;
 * UINT32_MAX = not (yet), or not selected. */
uint32_t sim_rollout_site_ms(const struct sim_rollout *ro, uint32_t i, int step, uint32_t node);
/* Fill `out` at the end of a run that started at t0 (absolute us); free
 * with sim_rollout_result_free. -ENOMEM. */
int sim_rollout_collect(const struct sim_rollout *ro, uint64_t t0, struct sim_rollout_result *out);
void sim_rollout_result_free(struct sim_rollout_result *out);
/* Records the observer saw listing an intent that does not select their
 * site, and backend applies refused (manifests the engine would refuse). */
uint64_t sim_rollout_unselected_listed(const struct sim_rollout *ro);
uint64_t sim_rollout_refused(const struct sim_rollout *ro);

#endif
