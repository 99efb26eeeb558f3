/*
 * output.c - shoalsim's files: report.json, perf.json, CSV series and
 * gnuplot plots.
 *
 * JSON goes through jansson with insertion order kept and a fixed real
 * precision, so the same numbers always print the same bytes. Plots are
 * drawn by piping a script into gnuplot (Debian's gnuplot-nox has the
 * pngcairo terminal); a missing gnuplot costs the PNGs, never the data.
 */
#include "output.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <jansson.h>

#include "shoal/error.h"

#define FAULT_LIST_MAX      256 /* faults listed one by one in report.json */
#define SIM_CATCHUPS_LISTED 64  /* restarts listed one by one (all are in the figures) */

static double secs(uint64_t us)
{
	return (double)us / 1e6;
}

static json_t *time_or_null(uint64_t t, uint64_t at)
{
	return t == UINT64_MAX ? json_null() : json_real(secs(t - at));
}

json_t *sim_dist_json(const struct sim_dist *d, uint32_t n)
{
	json_t *o = json_object();
	if (n > 0)
		json_object_set_new(o, "n", json_integer(n));
	json_object_set_new(o, "mean", json_real(d->mean));
	json_object_set_new(o, "p50", json_real(d->p50));
	json_object_set_new(o, "p99", json_real(d->p99));
	json_object_set_new(o, "max", json_real(d->max));
	return o;
}

static json_t *protocol_json(const struct swim_config *c)
{
	json_t *o = json_object();
	json_object_set_new(o, "probe_interval_s", json_real(secs(c->probe_interval_us)));
	json_object_set_new(o, "probe_timeout_s", json_real(secs(c->probe_timeout_us)));
	json_object_set_new(o, "indirect_checks", json_integer(c->indirect_checks));
	json_object_set_new(o, "gossip_interval_s", json_real(secs(c->gossip_interval_us)));
	json_object_set_new(o, "gossip_nodes", json_integer(c->gossip_nodes));
	json_object_set_new(o, "suspicion_mult", json_integer(c->suspicion_mult));
	json_object_set_new(o, "suspicion_max_mult", json_integer(c->suspicion_max_mult));
	json_object_set_new(o, "suspicion_confirm", json_integer(c->suspicion_confirm));
	json_object_set_new(o, "retransmit_mult", json_integer(c->retransmit_mult));
	json_object_set_new(o, "pushpull_interval_s", json_real(secs(c->pushpull_interval_us)));
	json_object_set_new(o, "dead_keep_s", json_real(secs(c->dead_keep_us)));
	json_object_set_new(o, "reconnect_interval_s", json_real(secs(c->reconnect_interval_us)));
	json_object_set_new(o, "reconnect_timeout_s", json_real(secs(c->reconnect_timeout_us)));
	json_object_set_new(o, "awareness_max", json_integer(c->awareness_max));
	json_object_set_new(o, "lifeguard_lhm", json_boolean(c->lifeguard_lhm));
	json_object_set_new(o, "lifeguard_suspicion", json_boolean(c->lifeguard_suspicion));
	json_object_set_new(o, "lifeguard_buddy", json_boolean(c->lifeguard_buddy));
	json_object_set_new(o, "udp_max", json_integer((json_int_t)c->udp_max));
	return o;
}

static json_t *faults_json(const struct sim_run_result *r)
{
	json_t *o = json_object();
	struct sim_dist d;
	uint32_t n, unresolved = 0, restarted = 0, crashes = 0, leaves = 0;
	for (uint32_t i = 0; i < r->nfaults; i++) {
		const struct sim_fault *f = &r->fault[i];
		unresolved += f->agree == UINT64_MAX && !f->restarted;
		restarted += f->restarted && f->agree == UINT64_MAX;
		crashes += !f->leave;
		leaves += f->leave;
	}
	json_object_set_new(o, "count", json_integer(r->nfaults));
	json_object_set_new(o, "crashes", json_integer(crashes));
	json_object_set_new(o, "leaves", json_integer(leaves));
	json_object_set_new(o, "not_tracked", json_integer((json_int_t)r->faults_dropped));
	n = sim_run_fault_stats(r, SIM_FAULT_SUSPECT, &d);
	json_object_set_new(o, "first_suspicion_s", sim_dist_json(&d, n));
	if (r->swim.probe_interval_us > 0)
		json_object_set_new(o, "first_suspicion_mean_probe_periods",
		                    json_real(d.mean / secs(r->swim.probe_interval_us)));
	n = sim_run_fault_stats(r, SIM_FAULT_GONE, &d);
	json_object_set_new(o, "first_dead_s", sim_dist_json(&d, n));
	n = sim_run_fault_stats(r, SIM_FAULT_AGREE, &d);
	json_object_set_new(o, "all_live_agree_s", sim_dist_json(&d, n));
	json_object_set_new(o, "never_agreed", json_integer(unresolved));
	json_object_set_new(o, "restarted_before_agreement", json_integer(restarted));
	json_t *list = json_array();
	for (uint32_t i = 0; i < r->nfaults && i < FAULT_LIST_MAX; i++) {
		const struct sim_fault *f = &r->fault[i];
		json_t *e = json_object();
		json_object_set_new(e, "victim", json_integer(f->victim));
		json_object_set_new(e, "kind", json_string(f->leave ? "leave" : "crash"));
		json_object_set_new(e, "at_s", json_real(secs(f->at)));
		json_object_set_new(e, "first_suspicion_s", time_or_null(f->first_suspect, f->at));
		json_object_set_new(e, "first_dead_s", time_or_null(f->first_gone, f->at));
		json_object_set_new(e, "all_live_agree_s", time_or_null(f->agree, f->at));
		json_object_set_new(e, "restarted_before_agreement", json_boolean(f->restarted));
		json_array_append_new(list, e);
	}
	json_object_set_new(o, "list", list);
	return o;
}

static json_t *fp_json(const struct sim_run_result *r)
{
	json_t *o = json_object();
	double h = r->node_hours > 0 ? r->node_hours : 1;
	json_object_set_new(o, "definition",
	                    json_string("SUSPECT/DEAD events about a member that was up, in the "
	                                "incarnation accused (events: one per observing node; "
	                                "suspicions / death_declarations: one per member and "
	                                "incarnation); healthy = not in a slow window, no "
	                                "partition in force, not within one probe (x "
	                                "awareness_max) of its restart"));
	json_object_set_new(o, "healthy_nodes_ever_suspected", json_integer(r->fp_suspected_nodes));
	json_object_set_new(o, "healthy_nodes_ever_declared_dead", json_integer(r->fp_dead_nodes));
	json_object_set_new(o, "suspicions", json_integer((json_int_t)r->fp_accusations));
	json_object_set_new(o, "death_declarations",
	                    json_integer((json_int_t)r->fp_dead_accusations));
	json_object_set_new(o, "suspicions_per_node_hour",
	                    json_real((double)r->fp_accusations / h));
	json_object_set_new(o, "death_declarations_per_node_hour",
	                    json_real((double)r->fp_dead_accusations / h));
	json_object_set_new(o, "suspect_events", json_integer((json_int_t)r->fp_suspect_events));
	json_object_set_new(o, "dead_events", json_integer((json_int_t)r->fp_dead_events));
	json_object_set_new(o, "node_hours", json_real(r->node_hours));
	json_object_set_new(o, "suspect_events_per_node_hour",
	                    json_real((double)r->fp_suspect_events / h));
	json_object_set_new(o, "dead_events_per_node_hour",
	                    json_real((double)r->fp_dead_events / h));
	json_object_set_new(o, "about_slowed_members_suspect",
	                    json_integer((json_int_t)r->slowed_suspect_events));
	json_object_set_new(o, "about_slowed_members_dead",
	                    json_integer((json_int_t)r->slowed_dead_events));
	json_object_set_new(o, "during_partition_suspect",
	                    json_integer((json_int_t)r->partition_suspect_events));
	json_object_set_new(o, "during_partition_dead",
	                    json_integer((json_int_t)r->partition_dead_events));
	json_object_set_new(o, "about_just_restarted_members_suspect",
	                    json_integer((json_int_t)r->restarting_suspect_events));
	json_object_set_new(o, "about_just_restarted_members_dead",
	                    json_integer((json_int_t)r->restarting_dead_events));
	json_object_set_new(o, "refutations", json_integer((json_int_t)r->refutations));
	json_object_set_new(o, "alive_events_about_down_members",
	                    json_integer((json_int_t)r->revived_events));
	json_object_set_new(o, "latest_alive_after_down_s", json_real(secs(r->revived_last_us)));
	return o;
}

static json_t *traffic_json(const struct sim_run_result *r)
{
	json_t *o = json_object(), *pn = json_object();
	json_object_set_new(pn, "packets_sent", sim_dist_json(&r->pkts_sent, 0));
	json_object_set_new(pn, "bytes_sent", sim_dist_json(&r->bytes_sent, 0));
	json_object_set_new(pn, "packets_received", sim_dist_json(&r->pkts_recv, 0));
	json_object_set_new(pn, "bytes_received", sim_dist_json(&r->bytes_recv, 0));
	json_object_set_new(o, "per_node_per_second", pn);
	json_object_set_new(o, "counted_by", json_string("simulated network, over the timeline"));
	json_object_set_new(o, "datagrams", json_integer((json_int_t)r->total_dgrams));
	json_object_set_new(o, "datagram_bytes", json_integer((json_int_t)r->total_dgram_bytes));
	json_object_set_new(o, "stream_bytes", json_integer((json_int_t)r->total_stream_bytes));
	json_object_set_new(o, "dropped_loss", json_integer((json_int_t)r->dropped_loss));
	json_object_set_new(o, "dropped_blocked", json_integer((json_int_t)r->dropped_blocked));
	json_object_set_new(o, "dropped_down", json_integer((json_int_t)r->dropped_down));
	return o;
}

/* Time from submission to 100 % of live nodes, over the intents that got
 * there. */
static uint32_t put_times(const struct sim_run_result *r, struct sim_dist *d)
{
	double *v = calloc(r->nputs + 1, sizeof(*v));
	uint32_t n = 0;
	memset(d, 0, sizeof(*d));
	if (v == NULL)
		return 0;
	for (uint32_t i = 0; i < r->nputs; i++)
		if (r->put[i].all_us != UINT64_MAX)
			v[n++] = secs(r->put[i].all_us);
	for (uint32_t i = 1; i < n; i++) /* insertion sort: puts are few */
		for (uint32_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	for (uint32_t i = 0; i < n; i++)
		d->mean += v[i] / n;
	/* Ranks as everywhere else in the report (sim_dist_of, dist.h): p99 rounds
	 * up, so with fewer than 100 intents it is the slowest one. */
	if (n > 0) {
		d->p50 = v[(n - 1) / 2];
		d->p99 = v[(uint32_t)ceil((n - 1) * 0.99)];
		d->max = v[n - 1];
	}
	free(v);
	return n;
}

/* Nodes that restarted while intents existed: how long each took to hold
 * every intent submitted before its restart. */
static json_t *catchups_json(const struct sim_run_result *r, double round)
{
	json_t *o = json_object(), *list = json_array();
	double *v = calloc(r->nput_catchups + 1, sizeof(*v));
	uint32_t n = 0;
	struct sim_dist d;
	for (uint32_t i = 0; i < r->nput_catchups; i++) {
		const struct sim_put_catchup *c = &r->put_catchup[i];
		bool done = c->took_us != UINT64_MAX;
		if (v != NULL && done && c->missed > 0)
			v[n++] = secs(c->took_us);
		if (i >= SIM_CATCHUPS_LISTED)
			continue;
		json_array_append_new(
		        list,
		        json_pack("{s:I,s:o,s:I,s:o,s:o,s:o}", "node", (json_int_t)c->node, "at_s",
		                  json_real(secs(c->at)), "missed", (json_int_t)c->missed,
		                  "caught_up_s", done ? json_real(secs(c->took_us)) : json_null(),
		                  "caught_up_gossip_intervals",
		                  done && round > 0 ? json_real(secs(c->took_us) / round)
		                                    : json_null(),
		                  "last_intent",
		                  c->last_intent == UINT32_MAX ? json_null()
		                                               : json_integer(c->last_intent)));
	}
	sim_dist_of(v, n, &d);
	free(v);
	json_object_set_new(o, "count", json_integer((json_int_t)r->put_restarts));
	json_object_set_new(o, "recorded", json_integer(r->nput_catchups));
	json_object_set_new(o, "missing_some", json_integer(n));
	json_object_set_new(o, "caught_up_s", sim_dist_json(&d, n));
	json_object_set_new(o, "list", list);
	return o;
}

static json_t *puts_json(const struct sim_run_result *r)
{
	json_t *o = json_object(), *list = json_array();
	struct sim_dist d;
	uint32_t n = put_times(r, &d);
	double round = secs(r->swim.gossip_interval_us);
	json_object_set_new(o, "count", json_integer(r->nputs));
	json_object_set_new(o, "reached_all_live", json_integer(n));
	json_object_set_new(o, "all_live_s", sim_dist_json(&d, n));
	if (round > 0) {
		struct sim_dist g = {d.mean / round, d.p50 / round, d.p99 / round, d.max / round};
		json_object_set_new(o, "all_live_gossip_intervals", sim_dist_json(&g, n));
	}
	json_object_set_new(o, "body_bytes_received", json_integer((json_int_t)r->put_body_bytes));
	json_object_set_new(o, "body_bytes_per_copy_over_body_size", json_real(r->put_body_ratio));
	json_object_set_new(o, "per_node_body_bytes_received_over_body_bytes_committed",
	                    sim_dist_json(&r->put_node_ratio, 0));
	json_object_set_new(o, "body_counted_by",
	                    json_string("simulated network: sealed pull answers (ITEMS) per "
	                                "receiver; body = the signed envelope"));
	json_object_set_new(o, "bad_bodies", json_integer((json_int_t)r->put_stats.bad_bodies));
	json_object_set_new(o, "pull_failures",
	                    json_integer((json_int_t)r->put_stats.pull_failures));
	json_object_set_new(o, "abandoned", json_integer((json_int_t)r->put_stats.abandoned));
	json_object_set_new(o, "antientropy_rounds",
	                    json_integer((json_int_t)r->put_stats.ae_rounds));
	json_object_set_new(o, "store_rejections", json_integer((json_int_t)r->put_rejected));
	json_object_set_new(o, "mismatched", json_integer((json_int_t)r->put_mismatched));
	json_object_set_new(o, "store_bytes", json_integer((json_int_t)r->put_store_bytes));
	for (uint32_t i = 0; i < r->nputs; i++) {
		const struct sim_put *p = &r->put[i];
		json_t *e = json_object();
		json_object_set_new(e, "origin", json_integer(p->origin));
		json_object_set_new(e, "size", json_integer(p->size));
		json_object_set_new(e, "envelope_bytes", json_integer(p->env_len));
		json_object_set_new(e, "at_s", json_real(secs(p->at)));
		json_object_set_new(e, "all_live_s",
		                    p->all_us == UINT64_MAX ? json_null()
		                                            : json_real(secs(p->all_us)));
		if (round > 0)
			json_object_set_new(e, "all_live_gossip_intervals",
			                    p->all_us == UINT64_MAX
			                            ? json_null()
			                            : json_real(secs(p->all_us) / round));
		json_object_set_new(e, "holders", json_integer(p->holders));
		/* Which node made it complete, and which committed it last
		 * (later than all_live_s for a node that caught up after a
		 * restart), so a slow figure can be traced to a node. */
		json_object_set_new(e, "completed_by",
		                    p->completed_by == SIM_NO_NODE ? json_null()
		                                                   : json_integer(p->completed_by));
		json_object_set_new(e, "last_commit",
		                    p->last_node == SIM_NO_NODE
		                            ? json_null()
		                            : json_pack("{s:I,s:o,s:o}", "node",
		                                        (json_int_t)p->last_node, "after_put_s",
		                                        json_real(secs(p->last_us)), "at_s",
		                                        json_real(secs(p->at + p->last_us))));
		json_array_append_new(list, e);
	}
	json_object_set_new(o, "list", list);
	json_object_set_new(o, "restarts", catchups_json(r, round));
	return o;
}

static json_t *health_json(const struct sim_run_result *r)
{
	json_t *o = json_object(), *b = json_object();
	double round = secs(r->swim.gossip_interval_us);
	json_object_set_new(o, "published", json_integer(r->hpubs));
	json_object_set_new(o, "on_change", json_integer(r->hpubs_change));
	json_object_set_new(o, "on_refresh", json_integer(r->hpubs - r->hpubs_change));
	json_object_set_new(o, "publishes_per_s",
	                    json_real(r->duration_us ? r->hpubs / secs(r->duration_us) : 0));
	json_object_set_new(o, "record_bytes_mean", json_real(r->hrecord_bytes));
	json_object_set_new(o, "reached_all_live", json_integer(r->hpubs_reached));
	json_object_set_new(o, "all_live_s", sim_dist_json(&r->hprop, r->hpubs_reached));
	if (round > 0) {
		const struct sim_dist *d = &r->hprop;
		struct sim_dist g = {d->mean / round, d->p50 / round, d->p99 / round,
		                     d->max / round};
		json_object_set_new(o, "all_live_gossip_intervals",
		                    sim_dist_json(&g, r->hpubs_reached));
	}
	json_object_set_new(b, "sent", sim_dist_json(&r->hbytes, 0));
	json_object_set_new(b, "received", sim_dist_json(&r->hbytes_recv, 0));
	json_object_set_new(b, "sent_mean_announce", json_real(r->hann));
	json_object_set_new(b, "sent_mean_pull", json_real(r->hpull));
	json_object_set_new(b, "sent_mean_ae_list", json_real(r->hae_list));
	json_object_set_new(b, "sent_mean_ae_other", json_real(r->hae_other));
	json_object_set_new(
	        b, "counted_by",
	        json_string("simulated network, sealed bytes: USER messages announcing '~' keys "
	                    "(the whole datagram when it carried nothing else), the '~' entries' "
	                    "share of PULL, ITEMS and AE_LIST, and AE_ROOT/HELLO/DIFFER (in the "
	                    "totals only when the run has no intents: they serve every app)"));
	json_object_set_new(o, "bytes_per_node_per_s", b);
	json_t *slow = json_array();
	for (uint32_t i = 0; i < r->nhslow; i++)
		json_array_append_new(slow, json_pack("{s:I,s:o,s:o,s:b}", "site",
		                                      (json_int_t)r->hslow[i].site, "at_s",
		                                      json_real(secs(r->hslow[i].at)), "all_live_s",
		                                      r->hslow[i].all_us == UINT64_MAX
		                                              ? json_null()
		                                              : json_real(secs(r->hslow[i].all_us)),
		                                      "change", r->hslow[i].change));
	json_object_set_new(o, "slowest", slow);
	json_object_set_new(o, "rejected", json_integer((json_int_t)r->hrejected));
	/* What the announcement epidemic missed and anti-entropy repaired (the
	 * replica's counters, summed over nodes; intents too when the run has
	 * any). */
	const struct replica_stats *st = &r->put_stats;
	json_object_set_new(o, "copies_accepted", json_integer((json_int_t)st->accepted));
	json_object_set_new(o, "copies_via_antientropy_only",
	                    json_integer((json_int_t)st->ae_only));
	json_object_set_new(o, "antientropy_rounds", json_integer((json_int_t)st->ae_rounds));
	json_object_set_new(o, "antientropy_roots_differed",
	                    json_integer((json_int_t)st->ae_root_differ));
	json_object_set_new(o, "pull_failures", json_integer((json_int_t)st->pull_failures));
	json_object_set_new(o, "abandoned", json_integer((json_int_t)st->abandoned));
	json_object_set_new(o, "refused_no_member_key", json_integer((json_int_t)r->hno_key));
	json_object_set_new(o, "records_held_mean", json_real(r->hheld_mean));
	json_object_set_new(o, "converged_at_end", json_boolean(r->hconverged));
	if (r->hleaf.leaves > 0)
		json_object_set_new(o, "leaves", sim_leaf_json(&r->hleaf));
	return o;
}

static json_t *run_json(const struct sim_scenario *sc, const struct sim_run_result *r)
{
	json_t *o = json_object(), *st = json_object(), *mem = json_object(), *h = json_object();
	char hex[32];
	json_object_set_new(o, "variant", json_string(r->variant));
	json_object_set_new(o, "protocol", protocol_json(&r->swim));
	json_object_set_new(st, "mode", json_string(sc->cold ? "cold" : "converged"));
	json_object_set_new(st, "converged", json_boolean(r->start_ok));
	json_object_set_new(st, "join_convergence_s", json_real(secs(r->start_us)));
	json_object_set_new(st, "settle_s", json_real(secs(sc->settle_us)));
	json_object_set_new(o, "start", st);
	json_object_set_new(o, "faults", faults_json(r));
	json_object_set_new(o, "false_positives", fp_json(r));
	json_object_set_new(o, "traffic", traffic_json(r));
	if (r->nputs > 0)
		json_object_set_new(o, "intents", puts_json(r));
	if (r->health)
		json_object_set_new(o, "health", health_json(r));
	if (r->rollout)
		json_object_set_new(o, "rollout", sim_rollout_json(&r->roll));
	double nn = (double)r->nodes * (double)r->nodes;
	json_object_set_new(mem, "pool_bytes", json_integer((json_int_t)r->pool_bytes));
	json_object_set_new(mem, "pool_bytes_per_member_entry",
	                    json_real((double)r->pool_bytes / nn));
	json_object_set_new(mem, "note",
	                    json_string("total bytes per member entry (pool + swim "
	                                "tables, from the heap) is in perf.json"));
	json_object_set_new(o, "memory", mem);
	json_object_set_new(o, "converged_at_end", json_boolean(r->end_converged));
	json_object_set_new(h, "events", json_integer((json_int_t)r->events));
	json_object_set_new(h, "signature_checks", json_integer((json_int_t)r->verify_misses));
	json_object_set_new(h, "signature_memo_hits", json_integer((json_int_t)r->verify_hits));
	json_object_set_new(h, "stuck_deadlines", json_integer((json_int_t)r->stuck_deadlines));
	json_object_set_new(h, "swim_errors", json_integer((json_int_t)r->swim_errors));
	json_object_set_new(h, "actions_skipped", json_integer((json_int_t)r->actions_skipped));
	json_object_set_new(o, "harness", h);
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)r->trace);
	json_object_set_new(o, "trace_hash", json_string(hex));
	return o;
}

static int dump(const char *dir, const char *file, json_t *root)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path)) {
		json_decref(root);
		return -ENAMETOOLONG;
	}
	int rc = json_dump_file(root, path,
	                        JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
	json_decref(root);
	return rc == 0 ? 0 : -EIO;
}

int sim_output_report(const char *dir, const struct sim_scenario *sc, uint64_t seed,
                      struct sim_run_result *const *runs, size_t nruns)
{
	json_t *root = json_object(), *vars = json_array();
	json_object_set_new(root, "format", json_string("shoalsim-report/1"));
	json_object_set_new(root, "scenario", json_string(sc->name));
	json_object_set_new(root, "seed", json_integer((json_int_t)seed));
	json_object_set_new(root, "nodes", json_integer(nruns > 0 ? runs[0]->nodes : sc->nodes));
	json_object_set_new(root, "duration_s", json_real(secs(sc->duration_us)));
	json_t *echo = sc->echo_json != NULL ? json_loads(sc->echo_json, 0, NULL) : NULL;
	json_object_set_new(root, "scenario_echo", echo != NULL ? echo : json_null());
	for (size_t i = 0; i < nruns; i++)
		json_array_append_new(vars, run_json(sc, runs[i]));
	json_object_set_new(root, "variants", vars);
	return dump(dir, "report.json", root);
}

int sim_output_perf(const char *dir, const struct sim_scenario *sc, uint64_t seed,
                    struct sim_run_result *const *runs, size_t nruns)
{
	json_t *root = json_object(), *vars = json_array();
	size_t rss = 0;
	json_object_set_new(root, "scenario", json_string(sc->name));
	json_object_set_new(root, "seed", json_integer((json_int_t)seed));
	json_object_set_new(root, "nodes", json_integer(nruns > 0 ? runs[0]->nodes : sc->nodes));
	json_object_set_new(root, "virtual_s", json_real(secs(sc->duration_us)));
	for (size_t i = 0; i < nruns; i++) {
		const struct sim_run_result *r = runs[i];
		json_t *o = json_object();
		json_object_set_new(o, "variant", json_string(r->variant));
		json_object_set_new(o, "wall_start_s", json_real(r->perf.wall_start_s));
		json_object_set_new(o, "wall_run_s", json_real(r->perf.wall_run_s));
		json_object_set_new(o, "run_events", json_integer((json_int_t)r->perf.run_events));
		json_object_set_new(o, "events_per_s", json_real(r->perf.events_per_s));
		json_object_set_new(o, "realtime_factor", json_real(r->perf.realtime_factor));
		json_object_set_new(o, "heap_after_start_bytes",
		                    json_integer((json_int_t)r->perf.heap_after_start));
		json_object_set_new(o, "bytes_per_member_entry",
		                    json_real(r->perf.bytes_per_member));
		json_object_set_new(o, "peak_rss_bytes",
		                    json_integer((json_int_t)r->perf.peak_rss));
		json_array_append_new(vars, o);
		if (r->perf.peak_rss > rss)
			rss = r->perf.peak_rss;
	}
	json_object_set_new(root, "variants", vars);
	json_object_set_new(root, "peak_rss_bytes", json_integer((json_int_t)rss));
	return dump(dir, "perf.json", root);
}

static FILE *open_out(const char *dir, const char *stem, const struct sim_run_result *r,
                      bool suffix, const char *ext)
{
	char path[4096];
	int len = snprintf(path, sizeof(path), "%s/%s%s%s.%s", dir, stem, suffix ? "-" : "",
	                   suffix ? r->variant : "", ext);
	if (len < 0 || (size_t)len >= sizeof(path))
		return NULL;
	return fopen(path, "w");
}

int sim_output_csv(const char *dir, const struct sim_run_result *r, bool suffix)
{
	FILE *f = open_out(dir, "timeseries", r, suffix, "csv");
	if (f == NULL)
		return -errno;
	fprintf(f, "t_s,up,alive_seen,suspect_seen,dead_seen,left_seen,datagrams,datagram_bytes,"
	           "stream_bytes,faults_open\n");
	for (uint32_t i = 0; i < r->nsamples; i++) {
		const struct sim_sample *s = &r->sample[i];
		fprintf(f, "%.3f,%u,%.3f,%.4f,%.4f,%.4f,%llu,%llu,%llu,%u\n", secs(s->t_us), s->up,
		        s->alive, s->suspect, s->dead, s->left, (unsigned long long)s->dgrams,
		        (unsigned long long)s->dgram_bytes, (unsigned long long)s->stream_bytes,
		        s->faults_open);
	}
	if (fclose(f) != 0)
		return -EIO;

	/* Detection curves: one column per kept fault, seconds since it. */
	f = open_out(dir, "detection", r, suffix, "csv");
	if (f == NULL)
		return -errno;
	uint32_t cols = 0, rows = 0;
	fprintf(f, "t_s");
	for (uint32_t i = 0; i < r->nfaults && i < SIM_RUN_CURVES; i++) {
		if (r->fault[i].curve == NULL)
			continue;
		fprintf(f, ",%s_%u_at_%.0fs", r->fault[i].leave ? "leave" : "crash",
		        r->fault[i].victim, secs(r->fault[i].at));
		cols++;
		if (r->fault[i].ncurve > rows)
			rows = r->fault[i].ncurve;
	}
	fprintf(f, "\n");
	for (uint32_t t = 0; t < rows; t++) {
		fprintf(f, "%u", t + 1);
		for (uint32_t i = 0; i < r->nfaults && i < SIM_RUN_CURVES; i++) {
			const struct sim_fault *fl = &r->fault[i];
			if (fl->curve == NULL)
				continue;
			/* After agreement the curve stays at 1 (until a restart). */
			if (t < fl->ncurve)
				fprintf(f, ",%.4f", fl->curve[t]);
			else if (fl->agree != UINT64_MAX)
				fprintf(f, ",1");
			else
				fprintf(f, ",");
		}
		fprintf(f, "\n");
	}
	(void)cols;
	return fclose(f) == 0 ? 0 : -EIO;
}

int sim_output_plots(const char *dir, const struct sim_run_result *r, bool suffix)
{
	const char *sfx = suffix ? r->variant : "";
	const char *dash = suffix ? "-" : "";
	FILE *g = popen("gnuplot 2>/dev/null", "w");
	if (g == NULL)
		return SHOAL_E_NOT_FOUND;
	fprintf(g, "set terminal pngcairo size 1000,600 noenhanced\n");
	fprintf(g, "set datafile separator ','\nset key outside right\nset grid\n");
	fprintf(g, "set output '%s/membership%s%s.png'\n", dir, dash, sfx);
	fprintf(g, "set title 'membership as the average live node sees it (%u nodes, %s)'\n",
	        r->nodes, r->variant);
	fprintf(g, "set xlabel 'virtual seconds'\nset ylabel 'members'\nset y2label 'suspect / "
	           "dead'\n");
	fprintf(g, "set y2tics\nset ytics nomirror\n");
	fprintf(g,
	        "plot '%s/timeseries%s%s.csv' using 1:3 skip 1 with lines lw 2 title 'alive', "
	        "'' using 1:2 skip 1 with lines dt 2 title 'up (truth)', "
	        "'' using 1:4 skip 1 axes x1y2 with lines title 'suspect', "
	        "'' using 1:5 skip 1 axes x1y2 with lines title 'dead'\n",
	        dir, dash, sfx);
	fprintf(g, "unset y2tics\nunset y2label\nset ytics mirror\n");
	uint32_t curves = 0;
	for (uint32_t i = 0; i < r->nfaults && i < SIM_RUN_CURVES; i++)
		curves += r->fault[i].curve != NULL;
	if (curves > 0) {
		fprintf(g, "set output '%s/detection%s%s.png'\n", dir, dash, sfx);
		fprintf(g,
		        "set title 'detection: fraction of live nodes holding the victim dead "
		        "(%s)'\n",
		        r->variant);
		fprintf(g, "set xlabel 'virtual seconds after the fault'\nset ylabel 'fraction'\n");
		fprintf(g, "set yrange [0:1.05]\n");
		fprintf(g,
		        "plot for [i=2:%u] '%s/detection%s%s.csv' using 1:i with lines "
		        "title columnhead(i)\n",
		        curves + 1, dir, dash, sfx);
	}
	int st = pclose(g);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return SHOAL_E_NOT_FOUND;
	return 0;
}

void sim_output_summary(FILE *f, const struct sim_run_result *r)
{
	struct sim_dist d;
	uint32_t n;
	fprintf(f, "[%s] start: %s in %.2f virtual s\n", r->variant,
	        r->start_ok ? "converged" : "NOT converged", secs(r->start_us));
	n = sim_run_fault_stats(r, SIM_FAULT_SUSPECT, &d);
	fprintf(f, "[%s] faults %u: first suspicion p50 %.2f s p99 %.2f s max %.2f s (n=%u)\n",
	        r->variant, r->nfaults, d.p50, d.p99, d.max, n);
	n = sim_run_fault_stats(r, SIM_FAULT_AGREE, &d);
	fprintf(f, "[%s] all live agree: p50 %.2f s p99 %.2f s max %.2f s (n=%u)\n", r->variant,
	        d.p50, d.p99, d.max, n);
	fprintf(f,
	        "[%s] false positives: %u healthy nodes suspected, %u declared dead; %llu "
	        "suspicions, %llu death declarations (%llu / %llu events) in %.2f node-hours; "
	        "events about slowed members %llu / %llu\n",
	        r->variant, r->fp_suspected_nodes, r->fp_dead_nodes,
	        (unsigned long long)r->fp_accusations, (unsigned long long)r->fp_dead_accusations,
	        (unsigned long long)r->fp_suspect_events, (unsigned long long)r->fp_dead_events,
	        r->node_hours, (unsigned long long)r->slowed_suspect_events,
	        (unsigned long long)r->slowed_dead_events);
	if (r->nputs > 0) {
		n = put_times(r, &d);
		fprintf(f,
		        "[%s] intents %u: 100%% of live nodes in p50 %.2f s p99 %.2f s max %.2f s "
		        "(n=%u, p99 = %.1f gossip intervals); body bytes received per copy %.3fx "
		        "the envelope (per node max %.3fx); %llu bad bodies, %llu abandoned, %llu "
		        "refused by stores\n",
		        r->variant, r->nputs, d.p50, d.p99, d.max, n,
		        r->swim.gossip_interval_us ? d.p99 / secs(r->swim.gossip_interval_us) : 0,
		        r->put_body_ratio, r->put_node_ratio.max,
		        (unsigned long long)r->put_stats.bad_bodies,
		        (unsigned long long)r->put_stats.abandoned,
		        (unsigned long long)r->put_rejected);
		double slow = -1;
		uint32_t slow_node = 0, behind = 0;
		for (uint32_t i = 0; i < r->nput_catchups; i++) {
			const struct sim_put_catchup *c = &r->put_catchup[i];
			if (c->missed == 0)
				continue;
			behind++;
			double t = c->took_us == UINT64_MAX ? INFINITY : secs(c->took_us);
			if (t > slow) {
				slow = t;
				slow_node = c->node;
			}
		}
		if (behind > 0)
			fprintf(f,
			        "[%s] intents: %u of %llu restarted nodes had missed some; the "
			        "slowest (node %u) held them all %.2f s after its restart\n",
			        r->variant, behind, (unsigned long long)r->put_restarts, slow_node,
			        slow);
	}
	if (r->health) {
		double round = secs(r->swim.gossip_interval_us);
		fprintf(f,
		        "[%s] health: %u records published (%u on change, %.2f/s), %.0f bytes "
		        "each; "
		        "every live node held them in p50 %.2f s p99 %.2f s max %.2f s (%u of %u; "
		        "p99 = %.1f gossip intervals); %u records per table at the end, converged "
		        "%s, %llu refused\n",
		        r->variant, r->hpubs, r->hpubs_change,
		        r->duration_us ? r->hpubs / secs(r->duration_us) : 0, r->hrecord_bytes,
		        r->hprop.p50, r->hprop.p99, r->hprop.max, r->hpubs_reached, r->hpubs,
		        round > 0 ? r->hprop.p99 / round : 0, (unsigned)(r->hheld_mean + 0.5),
		        r->hconverged ? "yes" : "no", (unsigned long long)r->hrejected);
		fprintf(f,
		        "[%s] health bytes per node: %.0f B/s sent (p99 %.0f), %.0f B/s received "
		        "(p99 %.0f); sent by kind: announce %.0f, pull %.0f, ae list %.0f, ae "
		        "other "
		        "%.0f B/s\n",
		        r->variant, r->hbytes.mean, r->hbytes.p99, r->hbytes_recv.mean,
		        r->hbytes_recv.p99, r->hann, r->hpull, r->hae_list, r->hae_other);
		if (r->hleaf.leaves > 0)
			sim_leaf_print(f, r->variant, &r->hleaf);
	}
	if (r->rollout)
		sim_rollout_print(f, r->variant, &r->roll);
	fprintf(f, "[%s] down members seen alive: %llu events, latest %.1f s after going down\n",
	        r->variant, (unsigned long long)r->revived_events, secs(r->revived_last_us));
	fprintf(f, "[%s] per node: %.2f pkt/s sent (p99 %.2f), %.0f B/s sent (p99 %.0f)\n",
	        r->variant, r->pkts_sent.mean, r->pkts_sent.p99, r->bytes_sent.mean,
	        r->bytes_sent.p99);
	fprintf(f,
	        "[%s] perf: %.1f wall s, %.0f events/s, real-time factor %.2f, %.1f bytes per "
	        "member entry, peak RSS %.1f MB, trace %016llx\n",
	        r->variant, r->perf.wall_run_s, r->perf.events_per_s, r->perf.realtime_factor,
	        r->perf.bytes_per_member, (double)r->perf.peak_rss / 1e6,
	        (unsigned long long)r->trace);
}
