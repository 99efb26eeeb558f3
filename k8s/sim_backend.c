/*
 * sim_backend.c - a site that applies sets without a cluster.
 *
 * For shoalsim: the same apply/remove/status verbs as a real context, the
 * same manifest checks (a set the real engine would refuse is refused
 * here too), but the cluster is a latency and a coin: each apply settles
 * after a delay drawn from [latency_min_ms, latency_max_ms] and then is
 * failed with probability failure_rate, else ready with every workload
 * current. Time is the caller's virtual clock and the draws come from a
 * seeded splitmix64, so a simulation replays from its seed. Status is
 * computed when asked, so the backend needs no timers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kstatus.h"
#include "manifest.h"
#include "shoal/error.h"
#include "shoal/k8s.h"

struct sim_set {
	struct sim_set *next;
	char *id;
	uint32_t objects;
	uint32_t workloads;
	uint64_t settle_at; /* virtual ms when the apply (or removal) is done */
	bool fails;         /* the apply ends failed */
	bool removing;
};

struct k8s_sim {
	struct k8s_sim_config cfg;
	uint64_t rng;
	struct sim_set *sets;
};

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static uint64_t latency(struct k8s_sim *sim)
{
	uint32_t lo = sim->cfg.latency_min_ms, hi = sim->cfg.latency_max_ms;
	if (hi <= lo)
		return lo;
	return lo + splitmix(&sim->rng) % ((uint64_t)hi - lo + 1);
}

static struct sim_set **find(struct k8s_sim *sim, const char *id)
{
	struct sim_set **p = &sim->sets;
	while (*p != NULL && strcmp((*p)->id, id) != 0)
		p = &(*p)->next;
	return p;
}

static uint64_t now_of(const struct k8s_sim *sim)
{
	return sim->cfg.now_ms(sim->cfg.clock_arg);
}

int k8s_sim_new(const struct k8s_sim_config *cfg, struct k8s_sim **out)
{
	*out = NULL;
	if (cfg->now_ms == NULL || cfg->failure_rate < 0 || cfg->failure_rate > 1)
		return -EINVAL;
	struct k8s_sim *sim = calloc(1, sizeof(*sim));
	if (sim == NULL)
		return -ENOMEM;
	sim->cfg = *cfg;
	sim->rng = cfg->seed;
	*out = sim;
	return 0;
}

void k8s_sim_delete(struct k8s_sim *sim)
{
	if (sim == NULL)
		return;
	while (sim->sets != NULL) {
		struct sim_set *s = sim->sets;
		sim->sets = s->next;
		free(s->id);
		free(s);
	}
	free(sim);
}

static int sim_apply(void *impl, const char *id, const char *manifests, size_t len, char *err,
                     size_t errcap)
{
	struct k8s_sim *sim = impl;
	if (id == NULL || id[0] == '\0' || strlen(id) > K8S_SET_ID_MAX) {
		snprintf(err, errcap, "set id must be 1 to %u characters", K8S_SET_ID_MAX);
		return SHOAL_E_MALFORMED;
	}
	char label[K8S_SET_LABEL_LEN + 1];
	k8s_set_label(id, label);
	json_t *objs;
	int rc = k8s_manifests_parse(manifests, len, label, &objs, err, errcap);
	if (rc != 0)
		return rc;
	struct sim_set **p = find(sim, id);
	struct sim_set *s = *p;
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL || (s->id = strdup(id)) == NULL) {
			free(s);
			json_decref(objs);
			return -ENOMEM;
		}
		*p = s;
	}
	s->objects = (uint32_t)json_array_size(objs);
	s->workloads = 0;
	size_t i;
	json_t *o;
	json_array_foreach(objs, i, o)
	{
		if (k8s_is_workload(json_string_value(json_object_get(o, "apiVersion")),
		                    json_string_value(json_object_get(o, "kind"))))
			s->workloads++;
	}
	json_decref(objs);
	s->removing = false;
	s->settle_at = now_of(sim) + latency(sim);
	/* 53 random bits make a uniform double in [0, 1). */
	s->fails = (double)(splitmix(&sim->rng) >> 11) / 9007199254740992.0 < sim->cfg.failure_rate;
	return 0;
}

static int sim_remove(void *impl, const char *id)
{
	struct k8s_sim *sim = impl;
	struct sim_set *s = *find(sim, id);
	if (s == NULL)
		return SHOAL_E_NOT_FOUND;
	s->removing = true;
	s->settle_at = now_of(sim) + latency(sim);
	return 0;
}

static int sim_status(const void *impl, const char *id, struct k8s_set_status *out)
{
	struct k8s_sim *sim = (struct k8s_sim *)impl;
	struct sim_set **p = find(sim, id);
	struct sim_set *s = *p;
	if (s == NULL)
		return SHOAL_E_NOT_FOUND;
	uint64_t now = now_of(sim);
	if (s->removing && now >= s->settle_at) {
		*p = s->next;
		free(s->id);
		free(s);
		return SHOAL_E_NOT_FOUND;
	}
	memset(out, 0, sizeof(*out));
	out->objects = s->objects;
	out->workloads = s->workloads;
	if (s->removing) {
		out->state = K8S_APPLYING;
		snprintf(out->reason, sizeof(out->reason), "removing");
	} else if (now < s->settle_at) {
		out->state = K8S_APPLYING;
		snprintf(out->reason, sizeof(out->reason), "applying objects (simulated)");
	} else if (s->fails) {
		out->state = K8S_FAILED;
		out->passes = 1;
		snprintf(out->reason, sizeof(out->reason),
		         "simulated rejection: the API server refused an object");
	} else {
		out->state = K8S_READY;
		out->applied = s->objects;
		out->workloads_ready = s->workloads;
		out->passes = 1;
	}
	return 0;
}

static const struct k8s_backend_ops sim_ops = {sim_apply, sim_remove, sim_status};

struct k8s_backend k8s_sim_backend(struct k8s_sim *sim)
{
	return (struct k8s_backend){&sim_ops, sim};
}
