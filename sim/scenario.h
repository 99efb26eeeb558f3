/*
 * scenario.h - a shoalsim scenario: what cluster to build, what network it
 * runs on, which protocol settings, and what happens to it when.
 *
 * A scenario is read from YAML (libyaml's document API, so every error can
 * name the line it is about) into plain fixed-size structs: the run code
 * never touches YAML. Times are virtual microseconds from the start of the
 * measured run (after the cluster is up).
 * The files in sim/scenarios/ show the format; in short:
 *
 *   name: steady-10k-lan
 *   seed: 1                      # default seed (--seed overrides)
 *   duration: 300s               # number = seconds, or "500ms", "5m", "1h"
 *   nodes: {count: 10000, labels: {region: {jp: 0.5, us: 0.5}}}
 *   start: converged             # everyone knows everyone (swim_adopt), or
 *                                # cold (boot_spread: 10s): boot and join
 *   network:
 *     latency: {dist: uniform, min: 0.5ms, max: 2ms}
 *     classes: {label: region, other: {dist: lognormal, median: 80ms, sigma: 0.2}}
 *     # or tiers, innermost first, each sampled per packet:
 *     # classes: {tiers: [{label: rack, latency: ...}, {label: region, latency: ...}],
 *     #           other: ...}
 *     loss: 0.01
 *   protocol: {probe_interval: 1s, lifeguard: false}
 *   compare: [{name: on}, {name: off, protocol: {lifeguard: false}}]
 *   timeline:
 *     - {at: 10s, kill: 1}
 *     - {at: 20s, partition: {by: region}}
 *     - {at: 40s, heal: true}
 *     - {at: 50s, intent: {node: random, kind: App, size: 20000}}
 *                                      # a signed intent (items.h); node: N or
 *                                      # random (the default); put: {node, size}
 *                                      # is the same with kind App
 *   k8s: {apply_ms: [2000, 20000], fail_rate: 0.02, observer: 0}
 *                                # every site applies the App intents
 *                                # that select it (timeline intents take
 *                                # target: "tier=a"), a simulated backend
 *                                # (sim/rollout.h); needs health
 *   health: {changes_per_site_hour: 0.33, start: steady}
 *                                # every site publishes a signed health
 *                                # record (health.h in sim/); off without
 *                                # this key. start: steady (default: the
 *                                # fleet has been up for a while, refreshes
 *                                # spread over the interval) or fresh (every
 *                                # site publishes its first record at t = 0)
 *                                # leaves: 0.3 (a share) or 300 (a count):
 *                                # those sites, drawn from the seed, are
 *                                # leaves (docs/health.md, "Leaf mode")
 *
 * Ownership: sim_scenario_load/parse allocate; sim_scenario_delete frees.
 */
#ifndef SHOAL_SIM_SCENARIO_H
#define SHOAL_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shoal/intent.h"
#include "shoal/sim.h"
#include "shoal/swim.h"

#define SIM_SC_NAME_MAX   64   /* scenario, variant, label key/value names */
#define SIM_SC_LABELS_MAX 4    /* label keys per node */
#define SIM_SC_VALUES_MAX 16   /* values per label key */
#define SIM_SC_OVERRIDES  32   /* protocol overrides per variant */
#define SIM_SC_VARIANTS   8    /* compare: entries */
#define SIM_SC_ACTIONS    4096 /* timeline entries */
#define SIM_SC_NODES_MAX  200000
#define SIM_SC_TEXT_MAX   (1u << 20) /* scenario file size cap */
#define SIM_SC_TARGET_MAX 128        /* an intent's target selector text */

/* One label key and how its values are spread over the nodes. */
struct sim_sc_label {
	char key[SIM_SC_NAME_MAX];                      /* e.g. "region" */
	uint32_t nvalues;                               /* entries in value/weight */
	char value[SIM_SC_VALUES_MAX][SIM_SC_NAME_MAX]; /* e.g. "jp" */
	double weight[SIM_SC_VALUES_MAX];               /* share of nodes, sums to ~1 */
};

/* Which swim_config field an override sets. */
enum sim_sc_field {
	SIM_SC_PROBE_INTERVAL,
	SIM_SC_PROBE_TIMEOUT,
	SIM_SC_INDIRECT_CHECKS,
	SIM_SC_GOSSIP_INTERVAL,
	SIM_SC_GOSSIP_NODES,
	SIM_SC_SUSPICION_MULT,
	SIM_SC_SUSPICION_MAX_MULT,
	SIM_SC_SUSPICION_CONFIRM,
	SIM_SC_RETRANSMIT_MULT,
	SIM_SC_PUSHPULL_INTERVAL,
	SIM_SC_DEAD_KEEP,
	SIM_SC_RECONNECT_INTERVAL,
	SIM_SC_RECONNECT_TIMEOUT,
	SIM_SC_AWARENESS_MAX,
	SIM_SC_LIFEGUARD_LHM,
	SIM_SC_LIFEGUARD_SUSPICION,
	SIM_SC_LIFEGUARD_BUDDY,
	SIM_SC_LIFEGUARD, /* all three switches at once */
	SIM_SC_UDP_MAX,
	SIM_SC_SCALE, /* swim_config_scale divisor, applied first */
};

struct sim_sc_override {
	enum sim_sc_field field; /* what to set */
	uint64_t value;          /* microseconds, a count, or 0/1 */
};

/* A protocol variant: the base overrides, then these. */
struct sim_sc_variant {
	char name[SIM_SC_NAME_MAX];                    /* "lifeguard-off" */
	uint32_t nover;                                /* entries in over */
	struct sim_sc_override over[SIM_SC_OVERRIDES]; /* applied in order */
};

enum sim_sc_action_kind {
	SIM_ACT_KILL,      /* crash nodes */
	SIM_ACT_RESTART,   /* restart crashed nodes */
	SIM_ACT_LEAVE,     /* graceful leave */
	SIM_ACT_PARTITION, /* split the net into groups */
	SIM_ACT_HEAL,      /* one group again */
	SIM_ACT_LOSS,      /* set global iid loss */
	SIM_ACT_SLOW,      /* slow receivers for a while */
	SIM_ACT_CHURN,     /* crash a node every interval, restart it later */
	SIM_ACT_INTENT,    /* sign and submit an intent at a node (items.h) */
};

/* One timeline entry. Which fields matter depends on kind. */
struct sim_sc_action {
	uint64_t at;                    /* virtual us after the run starts */
	enum sim_sc_action_kind kind;   /* what happens */
	uint32_t line;                  /* line in the scenario file, for messages */
	uint32_t count;                 /* nodes picked at random (0: see fraction) */
	double fraction;                /* share of nodes picked, if count is 0 */
	uint32_t node;                  /* a fixed node index, or SIM_NO_NODE */
	bool all;                       /* RESTART: every crashed node */
	char key[SIM_SC_NAME_MAX];      /* pick only nodes with label key=value, or
				       * PARTITION: split by this label key */
	char value[SIM_SC_NAME_MAX];    /* label value for picking ("" = any) */
	uint32_t groups;                /* PARTITION: random groups (>= 2) */
	double loss;                    /* LOSS: new global loss */
	uint64_t extra_us;              /* SLOW: added delay of each arrival */
	uint64_t for_us;                /* SLOW/CHURN: how long */
	uint64_t interval_us;           /* CHURN: one node every interval */
	uint64_t down_us;               /* CHURN: how long a churned node stays down */
	bool leave;                     /* CHURN: leave gracefully instead of crashing */
	uint32_t size;                  /* INTENT: spec payload bytes (App: manifests) */
	enum intent_kind intent_kind;   /* INTENT: its kind */
	char target[SIM_SC_TARGET_MAX]; /* INTENT: target selector ("" = SIM_ITEMS_TARGET) */
};

struct sim_scenario {
	char name[SIM_SC_NAME_MAX]; /* from the file, else its base name */
	uint64_t seed;              /* default seed */
	uint32_t nodes;             /* cluster size */
	uint64_t duration_us;       /* measured run, virtual */
	bool cold;                  /* cold start (boot + join) instead of converged */
	uint64_t boot_spread_us;    /* cold: nodes start within this window */
	uint64_t start_timeout_us;  /* give up waiting for convergence after this */
	uint64_t settle_us;         /* run this long after the start, unmeasured, so
				    * the join gossip drains before the timeline */

	uint32_t nlabels;                              /* entries in labels */
	struct sim_sc_label labels[SIM_SC_LABELS_MAX]; /* per-node label draws */

	struct sim_latency latency; /* every pair's latency without classes */
	uint32_t ntiers;            /* latency tiers (network.classes), 0 = none */
	char tier_key[SIM_NET_TIERS_MAX][SIM_SC_NAME_MAX]; /* label of each tier,
							     * innermost first */
	struct sim_latency tier_lat[SIM_NET_TIERS_MAX];    /* nodes sharing that label value */
	bool tier0_same;          /* `label:` form: tier 0 is network.latency */
	struct sim_latency other; /* nodes that share no tier */
	double loss;              /* initial global iid loss */

	uint32_t nbase;                                /* base protocol overrides */
	struct sim_sc_override base[SIM_SC_OVERRIDES]; /* applied to every variant */
	uint32_t nvariants;                            /* >= 1 (a lone "default") */
	struct sim_sc_variant variants[SIM_SC_VARIANTS];

	uint32_t nactions;            /* timeline length */
	struct sim_sc_action *action; /* [nactions], sorted by at (stable) */

	bool health;                    /* every site publishes a health record */
	double health_changes_per_hour; /* meaningful changes per site per hour */
	bool health_fresh;              /* first records at t = 0, not a steady fleet */
	double health_leaf_share;       /* share of the sites that are leaves, or */
	uint32_t health_leaf_count;     /* their number (0: the share) */

	bool k8s;                  /* sites apply App intents (sim/rollout.h) */
	uint32_t k8s_apply_min_ms; /* each apply's latency, uniform in [min, max] */
	uint32_t k8s_apply_max_ms;
	double k8s_fail_rate;  /* share of applies that end failed */
	uint32_t k8s_observer; /* node whose health table is watched */

	char *echo_json; /* the scenario document as JSON text, for report.json */
};

/* Parse a scenario from YAML text. On error returns SHOAL_E_CONFIG (or
 * -ENOMEM) and writes "line N: what is wrong" into err. `fallback_name`
 * names the scenario if the text does not. */
int sim_scenario_parse(struct sim_scenario **out, const char *text, size_t len,
                       const char *fallback_name, char *err, size_t errlen);
/* Read and parse a file (at most SIM_SC_TEXT_MAX bytes). */
int sim_scenario_load(struct sim_scenario **out, const char *path, char *err, size_t errlen);
void sim_scenario_delete(struct sim_scenario *sc);

/* The swim_config a variant runs with: cluster defaults, then the base
 * overrides, then the variant's. */
void sim_scenario_swim_config(const struct sim_scenario *sc, const struct sim_sc_variant *v,
                              struct swim_config *cfg);

/* Leaf sites among `nodes` (health.leaves as a count, or the share of
 * `nodes` rounded); 0 without health. */
uint32_t sim_scenario_leaves(const struct sim_scenario *sc, uint32_t nodes);

/* Parse "1.5s", "500ms", "250us", "5m", "1h" or a bare number of seconds. */
int sim_scenario_duration(const char *s, uint64_t *us);

#endif
