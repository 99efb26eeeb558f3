/*
 * output_leaf.c - the "leaves" part of report.json's health section and its
 * summary lines, when the scenario makes some sites leaves (health.leaves,
 * docs/health.md "Leaf mode"): health bytes of leaves and of full nodes
 * apart (and all their traffic, membership included), the announcements
 * leaves received (none expected), how long a
 * record took to reach every live full node (full sites' records and the
 * leaves' own), and what the leaves' tables held.
 */
#include <stdio.h>

#include "output.h"

static json_t *bytes_json(const struct sim_dist *sent, const struct sim_dist *recv,
                          const struct sim_dist *ann)
{
	json_t *o = json_object();
	json_object_set_new(o, "sent", sim_dist_json(sent, 0));
	json_object_set_new(o, "received", sim_dist_json(recv, 0));
	if (ann != NULL)
		json_object_set_new(o, "received_announce", sim_dist_json(ann, 0));
	return o;
}

json_t *sim_leaf_json(const struct sim_leaf_result *l)
{
	json_t *o = json_object(), *b = json_object(), *ann = json_object(), *full = json_object(),
	       *own = json_object(), *held = json_object(), *all = json_object();
	json_object_set_new(o, "leaves", json_integer(l->leaves));
	json_object_set_new(b, "full", bytes_json(&l->sent_full, &l->recv_full, &l->recv_ann_full));
	json_object_set_new(b, "leaf", bytes_json(&l->sent_leaf, &l->recv_leaf, &l->recv_ann_leaf));
	json_object_set_new(o, "bytes_per_node_per_s", b);
	json_object_set_new(all, "full", bytes_json(&l->all_sent_full, &l->all_recv_full, NULL));
	json_object_set_new(all, "leaf", bytes_json(&l->all_sent_leaf, &l->all_recv_leaf, NULL));
	json_object_set_new(o, "all_traffic_bytes_per_node_per_s", all);
	json_object_set_new(ann, "by_leaves", json_integer((json_int_t)l->ann_msgs_leaf));
	json_object_set_new(ann, "by_full_nodes", json_integer((json_int_t)l->ann_msgs_full));
	json_object_set_new(o, "announcements_received", ann);
	json_object_set_new(full, "published", json_integer(l->pubs_full));
	json_object_set_new(full, "reached", json_integer(l->reached_full));
	json_object_set_new(full, "all_full_s", sim_dist_json(&l->prop_full, l->reached_full));
	json_object_set_new(o, "full_records_to_every_full_node", full);
	json_object_set_new(own, "published", json_integer(l->pubs_leaf));
	json_object_set_new(own, "reached", json_integer(l->reached_leaf));
	json_object_set_new(own, "all_full_s", sim_dist_json(&l->prop_leaf, l->reached_leaf));
	json_object_set_new(o, "leaf_records_to_every_full_node", own);
	json_object_set_new(held, "full_node_mean", json_real(l->held_full_mean));
	json_object_set_new(held, "leaf_max", json_integer(l->held_leaf_max));
	json_object_set_new(held, "other_sites_on_leaves", json_integer((json_int_t)l->foreign));
	json_object_set_new(o, "records_held", held);
	json_object_set_new(o, "refused_by_leaves", json_integer((json_int_t)l->refused));
	return o;
}

void sim_leaf_print(FILE *f, const char *variant, const struct sim_leaf_result *l)
{
	fprintf(f,
	        "[%s] leaves: %u; health bytes per node per s, mean/p99/max: full nodes sent "
	        "%.0f/%.0f/%.0f received %.0f/%.0f/%.0f; leaves sent %.0f/%.0f/%.0f received "
	        "%.0f/%.0f/%.0f\n",
	        variant, l->leaves, l->sent_full.mean, l->sent_full.p99, l->sent_full.max,
	        l->recv_full.mean, l->recv_full.p99, l->recv_full.max, l->sent_leaf.mean,
	        l->sent_leaf.p99, l->sent_leaf.max, l->recv_leaf.mean, l->recv_leaf.p99,
	        l->recv_leaf.max);
	fprintf(f,
	        "[%s] leaves: all traffic per node per s, mean: full nodes sent %.0f received "
	        "%.0f; leaves sent %.0f received %.0f\n",
	        variant, l->all_sent_full.mean, l->all_recv_full.mean, l->all_sent_leaf.mean,
	        l->all_recv_leaf.mean);
	fprintf(f,
	        "[%s] leaves: %llu health announcements received by leaves (%llu by full "
	        "nodes); records per leaf table at most %u, %llu of other sites, %llu refused\n",
	        variant, (unsigned long long)l->ann_msgs_leaf, (unsigned long long)l->ann_msgs_full,
	        l->held_leaf_max, (unsigned long long)l->foreign, (unsigned long long)l->refused);
	fprintf(f,
	        "[%s] leaves: every live full node held full sites' records in p50 %.2f s p99 "
	        "%.2f s max %.2f s (%u of %u), the leaves' own in p50 %.2f s p99 %.2f s max "
	        "%.2f s (%u of %u)\n",
	        variant, l->prop_full.p50, l->prop_full.p99, l->prop_full.max, l->reached_full,
	        l->pubs_full, l->prop_leaf.p50, l->prop_leaf.p99, l->prop_leaf.max, l->reached_leaf,
	        l->pubs_leaf);
}
