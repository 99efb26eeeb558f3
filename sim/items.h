/*
 * items.h - replicated items in shoalsim: a replica (replica.h) on every
 * simulated node, each backed by a toy item store, and the measures a put
 * is judged by: time until every live node holds it, and item body bytes
 * each node received, counted by the simulated network.
 *
 * Memory: bodies are held once per process (the simulator's nodes share
 * them, like the record pool); a node holds one bit per item. Item keys
 * are "put/<index>", version 1.
 *
 * Ownership: sim_items_new installs itself as the cluster's lifecycle hook
 * and network tap; sim_items_delete, called before sim_cluster_delete,
 * detaches every replica and removes both.
 */
#ifndef SHOAL_SIM_ITEMS_H
#define SHOAL_SIM_ITEMS_H

#include <stdint.h>

#include "shoal/replica.h"
#include "shoal/sim.h"

#define SIM_ITEMS_MAX 4096 /* puts per run */

/* One put and how far it got. Times are absolute virtual microseconds. */
struct sim_item {
	uint32_t origin;  /* node it was put at */
	uint32_t size;    /* body bytes */
	uint64_t put_at;  /* when */
	uint64_t all_at;  /* when every live node held it; UINT64_MAX = not yet */
	uint32_t holders; /* nodes holding it (ever, crashed ones included) */
	uint8_t digest[REPLICA_DIGEST_LEN];
	uint8_t *body; /* owned */
};

struct sim_items;

/* Attach a replica with `cfg` to every node of `c` as it starts: create
 * it before starting any node. -ENOMEM. */
int sim_items_new(struct sim_items **out, struct sim_cluster *c, const struct replica_config *cfg);
/* Detach every replica and free. */
void sim_items_delete(struct sim_items *s);

/* Put an item of `size` bytes (deterministic content) at `node`, which must
 * be up: commit it there and announce it. SHOAL_E_TOO_BIG past
 * SIM_ITEMS_MAX, SHOAL_E_STATE if the node is down. */
int sim_items_put(struct sim_items *s, uint32_t node, uint32_t size, uint32_t *index);
/* Check open puts for "every live node holds it" (O(live nodes) per open
 * put that every node might hold); call after the cluster changes. */
void sim_items_check(struct sim_items *s);

uint32_t sim_items_count(const struct sim_items *s);
const struct sim_item *sim_items_get(const struct sim_items *s, uint32_t index);
/* Sealed ITEMS (pull answer) bytes each node received, and their total. */
uint64_t sim_items_body_bytes(const struct sim_items *s, uint32_t node);
uint64_t sim_items_body_bytes_total(const struct sim_items *s);
/* Sum of the replicas' stats over every life of every node. */
void sim_items_stats(const struct sim_items *s, struct replica_stats *out);

#endif
