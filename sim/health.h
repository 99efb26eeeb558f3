/*
 * health.h - fleet health in shoalsim: on every simulated node a real
 * health table (crdt/health_table.c) on the node's one replica, beside the
 * intents (items.h joins both with a replica_mux, keys "~site" and
 * "Kind/name", as shoald's node/wire.c does), every site publishing its own
 * record signed with its real site key, paced by the real pacer, and the
 * measures the budget in docs/health.md is judged by.
 *
 * What a site publishes: a typical record (four labels, two geo
 * annotations, three intents ready, pods running, link figures; about 370
 * bytes as an envelope, like tests/unit/health_fixture.h). A meaningful
 * change is one pod moving (the running count steps through five values),
 * arriving as a Poisson process at `changes_per_hour` per site. Each site
 * samples every 5 s (a phase of its own) as shoald does; at a sample it asks
 * health_changes() against the record it last published and the pacer
 * (health_pacer_*) whether to publish; the refresh interval is
 * health_refresh_interval() of the live members it knows.
 *
 * Steady start (the default): the fleet has been up for a while. Each
 * site's last publish is placed uniformly over the refresh interval before
 * the run, so refreshes arrive at the fleet's steady rate from the first
 * second. The tables start empty: at 10,000 sites full tables would take
 * 10^8 records (~50 GB) in one process, so a table holds only the records
 * published during the run. Announcements and pulls are the same either
 * way (a node lacking a version pulls it whether it held an older one or
 * none); anti-entropy lists are shorter (fewer entries per differing
 * bucket). Fresh start: every site publishes its first record at once (the
 * first record goes out at once in shoald), a fleet power cycle.
 *
 * Verification is real: a pulled record is opened with the key the
 * receiving node's membership binds to the site's name (swim_member_find),
 * through the node's env->verify, memoized by content in the simulator.
 * Tables survive their node's crash (shoald reloads them from LMDB).
 *
 * Bytes: counted by the simulated network (items.c's tap hands over every
 * opened datagram and stream message): USER messages announcing a "~" key
 * (the whole sealed datagram when it carried nothing else), the share of
 * PULL / ITEMS / AE_LIST messages that is "~" entries, and anti-entropy
 * messages without entries (AE_ROOT, AE_HELLO, AE_DIFFER) counted apart:
 * they serve every app on the service.
 *
 * Leaves (docs/health.md, "Leaf mode"): a leaf site's member record carries
 * sys.shoal.io/role=leaf (run.c gives it to the cluster), every node's SWIM
 * has shoald's is_quiet hook (shoal_labels_say_leaf), the health route of
 * the replica is bulk and a leaf's replica is quiet (items.c, as
 * node/wire.c), and a leaf's table keeps its own record only
 * (health_table_keep_only, as node/health_store.c). Nothing here decides
 * what a leaf receives: the real SWIM and replica do. With leaves, "every
 * live node" below means every live full node: a leaf holds no other
 * site's record, and its own reaches the full nodes like any other.
 *
 * Ownership: sim_health_new before the cluster's nodes start; items.c calls
 * attach/detach from its lifecycle hook; sim_health_delete after
 * sim_items_delete. Determinism: every draw comes from per-node streams of
 * the run seed.
 */
#ifndef SHOAL_SIM_HEALTH_H
#define SHOAL_SIM_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "shoal/replica.h"
#include "shoal/sim.h"

#define SIM_HEALTH_PREFIX "~"

struct sim_health_config {
	double changes_per_hour; /* meaningful changes per site per hour */
	bool fresh;              /* every site publishes at the start */
	const bool *leaf;        /* [nodes] which sites are leaves (copied), or NULL */
};

/* One record published and how far it got. Times absolute virtual us. */
struct sim_health_pub {
	uint32_t site;    /* node index of its owner */
	uint32_t env_len; /* envelope bytes */
	uint64_t version; /* its HLC */
	uint64_t at;      /* when */
	uint64_t all_at;  /* every live full node held it (or newer); UINT64_MAX = not yet */
	uint32_t holders; /* full nodes that held it or newer (crashed ones included) */
	uint32_t prev;    /* the site's previous publish, UINT32_MAX = none */
	bool change;      /* a meaningful change, not the refresh */
};

/* Bytes counted by the network, per direction. */
struct sim_health_bytes {
	uint64_t announce;      /* USER messages with "~" keys (whole datagram if alone) */
	uint64_t pull;          /* "~" share of PULL and ITEMS */
	uint64_t ae_list;       /* "~" share of AE_LIST */
	uint64_t ae_other;      /* AE_ROOT, AE_HELLO, AE_DIFFER, and AE_LIST without entries */
	uint64_t announce_msgs; /* USER messages announcing a "~" key */
};

struct sim_health;

/* -ENOMEM. */
int sim_health_new(struct sim_health **out, struct sim_cluster *c,
                   const struct sim_health_config *cfg);
void sim_health_delete(struct sim_health *h);

/* Lifecycle (items.c): the node's app for its replica (table created at
 * the first start, kept over crashes), then the replica it got (NULL if
 * none), and detach before the swim goes. */
int sim_health_attach(struct sim_health *h, uint32_t node, struct swim *sw,
                      const struct shoal_env *env, struct replica_app *app);
void sim_health_set_replica(struct sim_health *h, uint32_t node, struct replica *r);
void sim_health_detach(struct sim_health *h, uint32_t node);

/* Start publishing now (steady or fresh) and count bytes from now. */
void sim_health_start(struct sim_health *h);
/* An opened network message (plaintext of a sealed datagram or stream
 * message of `sealed` bytes) from -> to. */
void sim_health_count(struct sim_health *h, uint32_t from, uint32_t to, bool stream,
                      const uint8_t *plain, size_t plen, size_t sealed);
/* With a rollout (rollout.h): each site's record carries the states of
 * the App intents it applies; a site with an apply in flight samples every
 * 5 s; the observer's table tells the rollout what it accepts. */
struct sim_rollout;
void sim_health_set_rollout(struct sim_health *h, struct sim_rollout *rollout);
/* Sample `node` at its next grid point if none is due sooner (its states
 * may have moved). */
void sim_health_wake(struct sim_health *h, uint32_t node);
/* Health bytes sent by all nodes since start (announce, pull, ae_list). */
uint64_t sim_health_bytes_total(const struct sim_health *h);
/* Look again at publishes every node might hold (after crashes). */
void sim_health_check(struct sim_health *h);

uint32_t sim_health_count_pubs(const struct sim_health *h);
const struct sim_health_pub *sim_health_pub(const struct sim_health *h, uint32_t i);
/* Per node, bytes sent and received since start. */
void sim_health_node_bytes(const struct sim_health *h, uint32_t node, struct sim_health_bytes *sent,
                           struct sim_health_bytes *recv);
/* Offers refused by tables (not stale: forged, unknown key, bad key). */
uint64_t sim_health_rejected(const struct sim_health *h);
/* Offers refused because the site was not (yet) in the node's membership. */
uint64_t sim_health_no_key(const struct sim_health *h);
/* Every up full node holds every site's newest published record, and
 * every up leaf its own and no other. */
bool sim_health_converged(const struct sim_health *h);
/* Is site `node` a leaf? */
bool sim_health_is_leaf(const struct sim_health *h, uint32_t node);
/* Offers of another site's record that leaves' tables refused. */
uint64_t sim_health_leaf_refused(const struct sim_health *h);
/* Records of other sites in leaves' tables now (0 when leaves work). */
uint64_t sim_health_leaf_foreign(const struct sim_health *h);
/* Records held by node `node`'s table (0 if it has none). */
uint32_t sim_health_held(const struct sim_health *h, uint32_t node);

#endif
