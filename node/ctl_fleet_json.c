/*
 * ctl_fleet_json.c - reading /v1/fleet and /v1/fleet/sites answers.
 *
 * The answers come from the network, so nothing is trusted: a missing or
 * mistyped optional field reads as zero (or NAN, "no figure"), and only
 * what a command cannot work without (the site counts, the intents list,
 * the sites list) makes the answer refused, with a sentence saying which
 * part is missing. Strings stay in the json_t; nothing is copied.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl_fleet.h"

const char *const ctl_slot_names[CTL_SLOT_COUNT] = {"green", "orange",      "red",
                                                    "stale", "unreachable", "unknown"};

const char *const ctl_istate_names[CTL_IS_COUNT] = {"pending",  "waiting", "applying",    "ready",
                                                    "degraded", "failed",  "unreachable", "stale"};

const char *const ctl_pod_names[CTL_POD_BUCKETS] = {"running",       "creating",   "waiting-image",
                                                    "config-error",  "crash-loop", "oom-killed",
                                                    "unschedulable", "pending"};

/* An integer field, `dflt` when absent or not an integer. */
static long long int_or(const json_t *obj, const char *key, long long dflt)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

/* A number field (integer or real), NAN when absent or null. */
static double num_or_nan(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static void parse_dist(const json_t *d, struct ctl_dist *out)
{
	memset(out, 0, sizeof(*out));
	const json_t *h = json_object_get(d, "histogram");
	for (size_t i = 0; i < CTL_HIST_BUCKETS; i++) {
		const json_t *v = json_array_get(h, i);
		long long c = json_is_integer(v) ? (long long)json_integer_value(v) : 0;
		out->hist[i] = c > 0 ? c : 0;
	}
	out->p50 = num_or_nan(d, "p50");
	out->p90 = num_or_nan(d, "p90");
	out->max = num_or_nan(d, "max");
	out->mean = num_or_nan(d, "mean");
}

static int parse_intent(const json_t *it, struct ctl_fleet_intent *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = json_string_value(json_object_get(it, "kind"));
	out->name = json_string_value(json_object_get(it, "name"));
	if (out->kind == NULL || out->name == NULL)
		return -EINVAL;
	out->version = int_or(it, "version", 0);
	out->selected = int_or(it, "selected", 0);
	out->replicated = int_or(it, "replicated", 0);
	const json_t *states = json_object_get(it, "states");
	for (int s = 0; s < CTL_IS_COUNT; s++)
		out->state[s] = int_or(states, ctl_istate_names[s], 0);
	return 0;
}

int ctl_fleet_parse(json_t *body, struct ctl_fleet *f, char *err, size_t errcap)
{
	memset(f, 0, sizeof(*f));
	f->body = body;
	const json_t *sites = json_object_get(body, "sites");
	if (!json_is_object(sites) || !json_is_integer(json_object_get(sites, "total"))) {
		snprintf(err, errcap, "the node's answer has no \"sites\" counts");
		return -EINVAL;
	}
	const json_t *intents = json_object_get(body, "intents");
	if (!json_is_array(intents)) {
		snprintf(err, errcap, "the node's answer has no \"intents\" list");
		return -EINVAL;
	}
	const char *sel = json_string_value(json_object_get(body, "selector"));
	f->selector = sel != NULL ? sel : "";
	f->refresh_s = int_or(body, "refresh_s", -1);
	f->total = int_or(sites, "total", 0);
	for (int s = 0; s < CTL_SLOT_COUNT; s++)
		f->slot[s] = int_or(sites, ctl_slot_names[s], 0);
	parse_dist(json_object_get(body, "cpu"), &f->cpu);
	parse_dist(json_object_get(body, "memory"), &f->memory);
	parse_dist(json_object_get(body, "disk"), &f->disk);

	size_t n = json_array_size(intents);
	if (n > 0) {
		f->intents = calloc(n, sizeof(*f->intents));
		if (f->intents == NULL) {
			snprintf(err, errcap, "out of memory");
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (parse_intent(json_array_get(intents, i), &f->intents[f->nintents]) == 0)
			f->nintents++;
	}
	return 0;
}

void ctl_fleet_free(struct ctl_fleet *f)
{
	free(f->intents);
	f->intents = NULL;
	f->nintents = 0;
}

const struct ctl_fleet_intent *ctl_fleet_find(const struct ctl_fleet *f, const char *kind,
                                              const char *name)
{
	for (size_t i = 0; i < f->nintents; i++)
		if (strcasecmp(f->intents[i].kind, kind) == 0 &&
		    strcmp(f->intents[i].name, name) == 0)
			return &f->intents[i];
	return NULL;
}

int ctl_sites_parse(const json_t *body, struct ctl_site_row **rows, size_t *n, char *err,
                    size_t errcap)
{
	*rows = NULL;
	*n = 0;
	const json_t *list = json_object_get(body, "sites");
	if (!json_is_array(list)) {
		snprintf(err, errcap, "the node's answer has no \"sites\" list");
		return -EINVAL;
	}
	size_t cap = json_array_size(list);
	if (cap == 0)
		return 0;
	struct ctl_site_row *r = calloc(cap, sizeof(*r));
	if (r == NULL) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < cap; i++) {
		const json_t *s = json_array_get(list, i);
		const char *name = json_string_value(json_object_get(s, "name"));
		if (name == NULL)
			continue; /* a row without a name cannot be shown or sorted */
		const json_t *links = json_object_get(s, "links");
		r[k] = (struct ctl_site_row){
		        .site = s,
		        .name = name,
		        .state = json_string_value(json_object_get(s, "state")),
		        .view = json_string_value(json_object_get(s, "view")),
		        .band = json_string_value(json_object_get(s, "band")),
		        .score = num_or_nan(s, "score"),
		        .cpu = num_or_nan(s, "cpu_pct"),
		        .mem = num_or_nan(s, "mem_pct"),
		        .disk = num_or_nan(s, "disk_pct"),
		        .loss_pm = num_or_nan(links, "loss_pm"),
		        .rtt_p99_us = num_or_nan(links, "rtt_p99_us"),
		        .age_s = num_or_nan(s, "age_s"),
		};
		k++;
	}
	*rows = r;
	*n = k;
	return 0;
}
