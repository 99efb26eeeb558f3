/*
 * items.h - signed intents replicated in shoalsim: on every simulated node
 * a real intent store (intent_store.h) behind a real replica (replica.h),
 * wired by intent_app.h with the mapping shoald follows, and the measures
 * an intent is judged by: time until every live node has committed it, and
 * envelope bytes each node received, counted by the simulated network.
 *
 * Trust: one root key, drawn from the run seed, is every node's only trust
 * root; the timeline's intents are signed with it at their origin node and
 * submitted there as at the API (INTENT_FROM_API: the strict checks), then
 * replicated. Every node verifies every envelope it pulls through its
 * env->verify, which the simulator memoizes by content hash (verify.c), so
 * a signature is really checked once per run, and its outcome is the one
 * libsodium gave.
 *
 * Stores survive their node's crash (shoald keeps its intents in LMDB and
 * reloads them; here the store simply outlives the swim), so a restarted
 * node holds what it committed and catches up the rest.
 *
 * Memory: each store owns a copy of every envelope it holds (the store's
 * contract); at 10k nodes x 20 intents of 2-20 KB that is about 2.3 GB.
 *
 * Wall clock: the stores judge time in unix ms; the simulation's wall
 * clock is SIM_ITEMS_EPOCH_MS plus the virtual time.
 *
 * Ownership: sim_items_new installs itself as the cluster's lifecycle hook
 * and network tap; sim_items_delete, called before sim_cluster_delete,
 * detaches every replica, frees the stores and removes both.
 */
#ifndef SHOAL_SIM_ITEMS_H
#define SHOAL_SIM_ITEMS_H

#include <stdint.h>

#include "shoal/intent.h"
#include "shoal/intent_store.h"
#include "shoal/replica.h"
#include "shoal/sim.h"

#define SIM_ITEMS_MAX      4096                    /* intents per run */
#define SIM_ITEMS_EPOCH_MS UINT64_C(1735689600000) /* 2025-01-01T00:00:00Z */

/* One intent and how far it got. Times are absolute virtual microseconds. */
struct sim_item {
	uint32_t origin;       /* node it was submitted at */
	enum intent_kind kind; /* its kind */
	uint32_t size;         /* spec payload bytes asked for (App: manifests) */
	uint32_t env_len;      /* binary envelope bytes: what each node pulls */
	uint64_t put_at;       /* when */
	uint64_t all_at;       /* when every live node had committed it; UINT64_MAX = not yet */
	uint32_t holders;      /* nodes holding it (ever, crashed ones included) */
	uint8_t id[32];        /* the intent id (SHA-256 of the body) */
	/* Evidence for all_at: the node whose commit completed it (SIM_NO_NODE
	 * when a departure did, or it was complete at submission), and the
	 * latest commit of it over the run, by which node and when (later
	 * than all_at for a node that was down and caught up after). */
	uint32_t completed_by;
	uint32_t last_node; /* SIM_NO_NODE: only its origin holds it */
	uint64_t last_at;
};

/* A node that started again while intents existed, and how long it took
 * to hold every intent submitted before its restart (the ones it missed
 * while down, caught up by announcements still circulating or by
 * anti-entropy). Times are absolute virtual microseconds. */
struct sim_catchup {
	uint32_t node;
	uint64_t at;          /* restart */
	uint32_t missed;      /* intents submitted before `at` it did not hold then */
	uint64_t caught_up;   /* when it held all of them; UINT64_MAX = not in the run */
	uint32_t last_intent; /* the index of the one it committed last (with missed > 0) */
};
#define SIM_CATCHUPS_MAX 4096 /* restarts recorded per run; later ones are counted only */

struct sim_items;
struct sim_health;

/* Attach a store and a replica with `cfg` to every node of `c` as it
 * starts: create it before starting any node. With `health` (health.h,
 * which must outlive this), each node's health table shares the replica
 * through a replica_mux (keys "~site"), as in shoald, and the tap hands
 * it every opened datagram and stream message to count. -ENOMEM. */
int sim_items_new(struct sim_items **out, struct sim_cluster *c, const struct replica_config *cfg,
                  struct sim_health *health);
/* Detach every replica, free the stores. */
void sim_items_delete(struct sim_items *s);

/* Sign an intent of `kind` (only INTENT_APP: a manifests string of `size`
 * bytes, deterministic content) with the root key and submit it at `node`,
 * which must be up: committed there, then announced. SHOAL_E_TOO_BIG past
 * SIM_ITEMS_MAX, SHOAL_E_STATE if the node is down, -EINVAL for another
 * kind, SHOAL_E_FORBIDDEN if the node's store refused it. */
int sim_items_submit(struct sim_items *s, uint32_t node, enum intent_kind kind, uint32_t size,
                     uint32_t *index);
/* The same with another target (selector text); sim_items_submit targets
 * SIM_ITEMS_TARGET, a label no scenario node has. */
#define SIM_ITEMS_TARGET "shoal.io/sim"
int sim_items_submit_to(struct sim_items *s, uint32_t node, enum intent_kind kind, uint32_t size,
                        const char *target, uint32_t *index);
/* Sites apply App intents (rollout.h): specs become valid manifests and
 * commits and restarts are passed on. Set before any submit. */
struct sim_rollout;
void sim_items_set_rollout(struct sim_items *s, struct sim_rollout *rollout);
/* A node's store (NULL before its first start), and an intent's index
 * from its name ("intent-<index>"; UINT32_MAX for another name). */
const struct intent_store *sim_items_store(const struct sim_items *s, uint32_t node);
uint32_t sim_items_index(const struct sim_items *s, const char *name);
/* Check open intents for "every live node holds it" (O(live nodes) per
 * open intent that every node might hold); call after the cluster changes. */
void sim_items_check(struct sim_items *s);

uint32_t sim_items_count(const struct sim_items *s);
const struct sim_item *sim_items_get(const struct sim_items *s, uint32_t index);
/* Sealed ITEMS (pull answer) bytes each node received, and their total. */
uint64_t sim_items_body_bytes(const struct sim_items *s, uint32_t node);
uint64_t sim_items_body_bytes_total(const struct sim_items *s);
/* Envelope bytes a node committed from peers (not at its own API): what
 * it had to receive at least. */
uint64_t sim_items_committed_bytes(const struct sim_items *s, uint32_t node);
/* Sum of the replicas' stats over every life of every node. */
void sim_items_stats(const struct sim_items *s, struct replica_stats *out);
/* The restarts recorded (in the order they happened) and how many there
 * were in all (beyond SIM_CATCHUPS_MAX only counted). */
const struct sim_catchup *sim_items_catchups(const struct sim_items *s, uint32_t *n,
                                             uint64_t *total);
/* Refusals by the stores, summed over nodes (intent_store_stats.rejected),
 * and envelopes that were not what they were announced as. */
uint64_t sim_items_rejected(const struct sim_items *s);
uint64_t sim_items_mismatched(const struct sim_items *s);
/* Heap bytes the stores' envelopes take (sum of envelope lengths held). */
uint64_t sim_items_store_bytes(const struct sim_items *s);

#endif
