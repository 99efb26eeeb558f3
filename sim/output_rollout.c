/*
 * output_rollout.c - the "rollout" section of report.json and its summary
 * lines: per App intent, the time from submit until every selected site
 * held it, reported it settled in its own record, and showed settled in
 * the observer's table (sim/rollout.h), with the per-site spread of each;
 * then the health records and bytes of the burst against the steady run.
 */
#include <stdio.h>

#include "output.h"

static const char *const step_name[SIM_ROLLOUT_STEPS] = {"held", "own_record_settled",
                                                         "observer_settled"};

static json_t *all_s(double s)
{
	return s < 0 ? json_null() : json_real(s);
}

json_t *sim_rollout_json(const struct sim_rollout_result *ro)
{
	json_t *o = json_object(), *list = json_array(), *all = json_object(), *b = json_object();
	for (uint32_t i = 0; i < ro->nrows; i++) {
		const struct sim_rollout_row *w = &ro->row[i];
		json_t *e = json_object(), *every = json_object(), *site = json_object();
		json_object_set_new(e, "at_s", json_real((double)w->at_us / 1e6));
		json_object_set_new(e, "selected", json_integer(w->selected));
		json_object_set_new(e, "held", json_integer(w->held));
		json_object_set_new(e, "own_ready", json_integer(w->own_ready));
		json_object_set_new(e, "own_failed", json_integer(w->own_failed));
		json_object_set_new(e, "observer_ready", json_integer(w->obs_ready));
		json_object_set_new(e, "observer_failed", json_integer(w->obs_failed));
		for (int k = 0; k < SIM_ROLLOUT_STEPS; k++) {
			json_object_set_new(every, step_name[k], all_s(w->all_s[k]));
			json_object_set_new(site, step_name[k],
			                    sim_dist_json(&w->site[k], w->reached[k]));
		}
		json_object_set_new(e, "every_selected_live_site_s", every);
		json_object_set_new(e, "per_site_s", site);
		json_array_append_new(list, e);
	}
	for (int k = 0; k < SIM_ROLLOUT_STEPS; k++)
		json_object_set_new(all, step_name[k], sim_dist_json(&ro->all[k], ro->all_n[k]));
	json_object_set_new(o, "observer", json_integer(ro->observer));
	json_object_set_new(o, "settled_means", json_string("ready or failed, at the version"));
	json_object_set_new(o, "intents", list);
	json_object_set_new(o, "every_selected_live_site_s", all);
	json_object_set_new(o, "unselected_sites_listing_it", json_integer(ro->unselected_listed));
	json_object_set_new(o, "refused_by_backend", json_integer(ro->refused));
	json_object_set_new(b, "steady_s", json_real(ro->steady_s));
	json_object_set_new(b, "steady_records", json_integer(ro->steady_pubs));
	json_object_set_new(b, "steady_records_per_s", json_real(ro->steady_pubs_s));
	json_object_set_new(b, "steady_bytes_per_node_per_s", json_real(ro->steady_bytes));
	json_object_set_new(b, "burst_s", json_real(ro->burst_s));
	json_object_set_new(b, "burst_records", json_integer(ro->burst_pubs));
	json_object_set_new(b, "burst_records_per_s", json_real(ro->burst_pubs_s));
	json_object_set_new(b, "burst_bytes_per_node_per_s", json_real(ro->burst_bytes));
	json_object_set_new(b, "window",
	                    json_string("burst: first submit until the observer's table shows "
	                                "every selected site settled for the last intent; steady: "
	                                "run start until the first submit; bytes: announce, pull "
	                                "and AE_LIST shares of '~' keys, sent"));
	json_object_set_new(o, "health", b);
	return o;
}

void sim_rollout_print(FILE *f, const char *variant, const struct sim_rollout_result *ro)
{
	for (uint32_t i = 0; i < ro->nrows; i++) {
		const struct sim_rollout_row *w = &ro->row[i];
		fprintf(f,
		        "[%s] rollout of intent-%u at %.1f s: %u sites selected; every selected "
		        "site "
		        "held it in %.1f s, reported it settled in its own record in %.1f s (%u "
		        "ready, %u failed), and showed settled in node %u's table in %.1f s (-1 = "
		        "never)\n",
		        variant, i, (double)w->at_us / 1e6, w->selected, w->all_s[0], w->all_s[1],
		        w->own_ready, w->own_failed, ro->observer, w->all_s[2]);
		fprintf(f,
		        "[%s]   per site: held p50 %.1f p99 %.1f max %.1f s; own record p50 %.1f "
		        "p99 "
		        "%.1f max %.1f s; observer p50 %.1f p99 %.1f max %.1f s\n",
		        variant, w->site[0].p50, w->site[0].p99, w->site[0].max, w->site[1].p50,
		        w->site[1].p99, w->site[1].max, w->site[2].p50, w->site[2].p99,
		        w->site[2].max);
	}
	fprintf(f,
	        "[%s] rollout health: %.2f records/s and %.0f B/s per node in the burst (%.1f s), "
	        "%.2f records/s and %.0f B/s per node steady; %llu records listed an unselected "
	        "site, %llu applies refused\n",
	        variant, ro->burst_pubs_s, ro->burst_bytes, ro->burst_s, ro->steady_pubs_s,
	        ro->steady_bytes, (unsigned long long)ro->unselected_listed,
	        (unsigned long long)ro->refused);
}
