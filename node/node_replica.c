/*
 * node_replica.c - the hook through which an application store (the intent
 * store, later the health table) puts the replication service (replica.h)
 * on a running shoald.
 *
 * Nothing else in node/ changes for it: the service's announcements travel
 * inside SWIM datagrams and its pulls and anti-entropy exchanges on the same
 * sealed TCP conversations as push-pull (stream types 30..33), which the
 * transport already frames and SWIM already routes; its timers are folded
 * into swim_next_deadline, which the driver's one timer follows. Until an
 * application attaches, shoald behaves exactly as before (a datagram USER
 * message from a peer that runs a service is ignored, a stream of a service
 * type is closed).
 *
 * The service's timers follow the node's profile, like SWIM's: the fast
 * profile divides them by 10.
 */
#include "node.h"

#include "shoal/error.h"

int node_replica_attach(struct node *n, const struct replica_app *app,
                        const struct replica_config *cfg)
{
	struct replica_config rc;
	uint64_t now = node_now();
	int err;

	if (n->swim == NULL || n->stopped)
		return SHOAL_E_STATE;
	if (n->replica != NULL)
		return SHOAL_E_EXISTS;
	if (cfg != NULL) {
		rc = *cfg;
	} else {
		replica_config_defaults(&rc);
		if (n->cfg->profile == NODE_PROFILE_FAST)
			replica_config_scale(&rc, 10);
	}
	if ((err = replica_new(&n->replica, &rc, n->swim, node_transport_env(&n->transport), app,
	                       now)) != 0) {
		n->replica = NULL;
		return err;
	}
	node_driver_arm(n, now);
	return 0;
}

void node_replica_detach(struct node *n)
{
	if (n->replica == NULL)
		return;
	replica_delete(n->replica);
	n->replica = NULL;
	if (n->swim != NULL)
		node_driver_arm(n, node_now());
}

int node_replica_announce(struct node *n, const struct replica_item *it)
{
	uint64_t now = node_now();
	if (n->replica == NULL)
		return SHOAL_E_STATE;
	int rc = replica_announce(n->replica, now, it);
	node_driver_arm(n, now);
	return rc;
}

int node_replica_want(struct node *n, const struct replica_item *it, const struct shoal_addr *srcs,
                      uint32_t nsrc)
{
	uint64_t now = node_now();
	if (n->replica == NULL)
		return SHOAL_E_STATE;
	int rc = replica_want(n->replica, now, it, srcs, nsrc);
	node_driver_arm(n, now);
	return rc;
}
