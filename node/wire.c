/*
 * wire.c - what shoald replicates, on one replication service: the intent
 * store (keys "Kind/name") and the health table (keys "~site"), joined by
 * a replica_mux. Both ride the same announcements, pulls and anti-entropy
 * rounds; docs/protocol.md, "Item replication", has the messages.
 *
 * The service's settings are the intents' (4096 buckets, bodies up to an
 * intent envelope): a health record is far smaller than the body limit,
 * and the bucket count only has to be the same on every node.
 */
#include "node.h"

#include "shoal/error.h"

int node_wire_attach(struct node *n)
{
	struct replica_app intents, health;
	struct replica_config rc;
	int err = node_intents_wire_open(n, &intents);
	if (err != 0)
		return err;
	node_health_app(n, &health);
	/* The apps are copied by the mux: the locals may go. */
	/* Health is bulk: its announcements never go to a leaf, and an
	 * anti-entropy round with a leaf compares intents only. */
	struct replica_mux_route routes[] = {
	        {NODE_HEALTH_KEY_PREFIX, &health, true},
	        {"", &intents, false},
	};
	if ((err = replica_mux_new(&n->mux, routes, 2)) != 0)
		return err;
	replica_config_defaults(&rc);
	if (n->cfg->profile == NODE_PROFILE_FAST)
		replica_config_scale(&rc, 10);
	rc.body_max = INTENT_ENVELOPE_MAX > HEALTH_ENVELOPE_MAX ? INTENT_ENVELOPE_MAX
	                                                        : HEALTH_ENVELOPE_MAX;
	rc.ae_buckets = INTENT_BUCKETS;
	rc.quiet = n->cfg->leaf;
	if ((err = node_replica_attach(n, replica_mux_app(n->mux), &rc)) != 0)
		return err;
	node_health_local_start(n);
	return 0;
}

void node_wire_detach(struct node *n)
{
	node_health_local_stop(n);
	node_replica_detach(n);
	node_intents_wire_close(n);
	replica_mux_delete(n->mux);
	n->mux = NULL;
}
