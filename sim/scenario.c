/*
 * scenario.c - reading shoalsim scenario files.
 *
 * libyaml's document API loads the whole file as a node tree whose nodes
 * keep their start line, so every complaint names the line it is about.
 * The tree is walked once into the fixed structs of scenario.h (every list
 * has a cap), and once more into JSON (jansson) so report.json can echo
 * exactly what was asked. Unknown keys are errors: a misspelt option that
 * is silently ignored makes a benchmark lie.
 */
#include "scenario.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>

#include "shoal/error.h"
#include "shoal/selector.h"

/* Parsing state: the document, the output, and where errors go. */
struct ps {
	yaml_document_t *doc;    /* loaded tree */
	struct sim_scenario *sc; /* being filled */
	char *err;               /* message buffer */
	size_t errlen;           /* its size */
};

static int fail(struct ps *p, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	int off = snprintf(p->err, p->errlen,
	                   "line %lu: ", n != NULL ? (unsigned long)n->start_mark.line + 1 : 0UL);
	if (off < 0 || (size_t)off >= p->errlen)
		return SHOAL_E_CONFIG;
	va_start(ap, fmt);
	vsnprintf(p->err + off, p->errlen - (size_t)off, fmt, ap);
	va_end(ap);
	return SHOAL_E_CONFIG;
}

static yaml_node_t *node_at(struct ps *p, int id)
{
	return yaml_document_get_node(p->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* ---- scalars ------------------------------------------------------------ */

int sim_scenario_duration(const char *s, uint64_t *us)
{
	char *end = NULL;
	if (s == NULL || *s == '\0')
		return SHOAL_E_CONFIG;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || end == s || !isfinite(v) || v < 0)
		return SHOAL_E_CONFIG;
	double mult = 1e6;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1e6;
	else if (strcmp(end, "ms") == 0)
		mult = 1e3;
	else if (strcmp(end, "us") == 0)
		mult = 1.0;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mult = 60e6;
	else if (strcmp(end, "h") == 0)
		mult = 3600e6;
	else
		return SHOAL_E_CONFIG;
	double r = v * mult;
	if (r > 1e15) /* ~31 virtual years */
		return SHOAL_E_CONFIG;
	*us = (uint64_t)llround(r);
	return 0;
}

static int get_duration(struct ps *p, const yaml_node_t *n, const char *what, uint64_t *us)
{
	if (sim_scenario_duration(scalar(n), us) != 0)
		return fail(p, n, "%s: expected a duration like 10s, 500ms, 5m or 1h", what);
	return 0;
}

static int get_double(struct ps *p, const yaml_node_t *n, const char *what, double lo, double hi,
                      double *out)
{
	const char *s = scalar(n);
	char *end = NULL;
	if (s == NULL || *s == '\0')
		return fail(p, n, "%s: expected a number", what);
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return fail(p, n, "%s: expected a number, got '%s'", what, s);
	if (v < lo || v > hi)
		return fail(p, n, "%s: %g is outside [%g, %g]", what, v, lo, hi);
	*out = v;
	return 0;
}

static int get_u32(struct ps *p, const yaml_node_t *n, const char *what, uint32_t lo, uint32_t hi,
                   uint32_t *out)
{
	const char *s = scalar(n);
	char *end = NULL;
	if (s == NULL || *s == '\0' || *s == '-')
		return fail(p, n, "%s: expected a whole number", what);
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return fail(p, n, "%s: expected a whole number, got '%s'", what, s);
	if (v < lo || v > hi)
		return fail(p, n, "%s: %llu is outside [%u, %u]", what, v, lo, hi);
	*out = (uint32_t)v;
	return 0;
}

static int get_bool(struct ps *p, const yaml_node_t *n, const char *what, bool *out)
{
	const char *s = scalar(n);
	if (s != NULL &&
	    (strcmp(s, "true") == 0 || strcmp(s, "on") == 0 || strcmp(s, "yes") == 0)) {
		*out = true;
		return 0;
	}
	if (s != NULL &&
	    (strcmp(s, "false") == 0 || strcmp(s, "off") == 0 || strcmp(s, "no") == 0)) {
		*out = false;
		return 0;
	}
	return fail(p, n, "%s: expected true or false", what);
}

static int get_name(struct ps *p, const yaml_node_t *n, const char *what, char *out)
{
	const char *s = scalar(n);
	if (s == NULL || *s == '\0')
		return fail(p, n, "%s: expected a name", what);
	size_t len = strlen(s);
	if (len >= SIM_SC_NAME_MAX)
		return fail(p, n, "%s: longer than %d bytes", what, SIM_SC_NAME_MAX - 1);
	memcpy(out, s, len + 1);
	return 0;
}

static int need_map(struct ps *p, const yaml_node_t *n, const char *what)
{
	if (n == NULL || n->type != YAML_MAPPING_NODE)
		return fail(p, n, "%s: expected a mapping", what);
	return 0;
}

/* Iterate a mapping: *k, *v get the i-th pair; false past the end. */
static bool map_pair(struct ps *p, const yaml_node_t *m, size_t i, yaml_node_t **k, yaml_node_t **v)
{
	yaml_node_pair_t *pair = m->data.mapping.pairs.start + i;
	if (pair >= m->data.mapping.pairs.top)
		return false;
	*k = node_at(p, pair->key);
	*v = node_at(p, pair->value);
	return true;
}

/* ---- latency ------------------------------------------------------------ */

static int parse_latency(struct ps *p, const yaml_node_t *m, const char *what,
                         struct sim_latency *l)
{
	yaml_node_t *k, *v;
	const char *dist = NULL;
	uint64_t value = 0, lo = 0, hi = 0, median = 0, cap = 0;
	bool has_value = false, has_lo = false, has_hi = false, has_median = false;
	double sigma = 0.5;
	int rc;

	if ((rc = need_map(p, m, what)) != 0)
		return rc;
	for (size_t i = 0; map_pair(p, m, i, &k, &v); i++) {
		const char *key = scalar(k);
		if (key == NULL)
			return fail(p, k, "%s: keys must be plain words", what);
		if (strcmp(key, "dist") == 0) {
			dist = scalar(v);
			if (dist == NULL)
				return fail(p, v, "%s: dist must be constant, uniform or lognormal",
				            what);
		} else if (strcmp(key, "value") == 0) {
			rc = get_duration(p, v, "latency value", &value);
			has_value = true;
		} else if (strcmp(key, "min") == 0) {
			rc = get_duration(p, v, "latency min", &lo);
			has_lo = true;
		} else if (strcmp(key, "max") == 0) {
			rc = get_duration(p, v, "latency max", &hi);
			has_hi = true;
		} else if (strcmp(key, "median") == 0) {
			rc = get_duration(p, v, "latency median", &median);
			has_median = true;
		} else if (strcmp(key, "cap") == 0) {
			rc = get_duration(p, v, "latency cap", &cap);
		} else if (strcmp(key, "sigma") == 0) {
			rc = get_double(p, v, "latency sigma", 0.0, 5.0, &sigma);
		} else {
			return fail(p, k,
			            "%s: unknown key '%s' (dist, value, min, max, median, "
			            "sigma, cap)",
			            what, key);
		}
		if (rc != 0)
			return rc;
	}
	if (dist == NULL)
		return fail(p, m, "%s: missing dist (constant, uniform or lognormal)", what);
	memset(l, 0, sizeof(*l));
	if (strcmp(dist, "constant") == 0) {
		if (!has_value)
			return fail(p, m, "%s: constant latency needs value", what);
		l->kind = SIM_LAT_CONST;
		l->a_us = value;
	} else if (strcmp(dist, "uniform") == 0) {
		if (!has_lo || !has_hi || hi < lo)
			return fail(p, m, "%s: uniform latency needs min <= max", what);
		l->kind = SIM_LAT_UNIFORM;
		l->a_us = lo;
		l->b_us = hi;
	} else if (strcmp(dist, "lognormal") == 0) {
		if (!has_median)
			return fail(p, m, "%s: lognormal latency needs median (and sigma)", what);
		l->kind = SIM_LAT_LOGNORMAL;
		l->a_us = median;
		l->b_us = cap;
		l->sigma = sigma;
	} else {
		return fail(p, m, "%s: unknown dist '%s' (constant, uniform, lognormal)", what,
		            dist);
	}
	return 0;
}

/* ---- nodes ------------------------------------------------------------- */

static int parse_labels(struct ps *p, const yaml_node_t *m)
{
	yaml_node_t *k, *v, *vk, *vv;
	int rc;
	if ((rc = need_map(p, m, "nodes.labels")) != 0)
		return rc;
	for (size_t i = 0; map_pair(p, m, i, &k, &v); i++) {
		if (p->sc->nlabels == SIM_SC_LABELS_MAX)
			return fail(p, k, "nodes.labels: at most %d keys", SIM_SC_LABELS_MAX);
		struct sim_sc_label *l = &p->sc->labels[p->sc->nlabels++];
		if ((rc = get_name(p, k, "label key", l->key)) != 0)
			return rc;
		if ((rc = need_map(p, v, "label values (value: share)")) != 0)
			return rc;
		double sum = 0;
		for (size_t j = 0; map_pair(p, v, j, &vk, &vv); j++) {
			if (l->nvalues == SIM_SC_VALUES_MAX)
				return fail(p, vk, "label %s: at most %d values", l->key,
				            SIM_SC_VALUES_MAX);
			if ((rc = get_name(p, vk, "label value", l->value[l->nvalues])) != 0 ||
			    (rc = get_double(p, vv, "label share", 0.0, 1.0,
			                     &l->weight[l->nvalues])) != 0)
				return rc;
			sum += l->weight[l->nvalues++];
		}
		if (l->nvalues == 0 || fabs(sum - 1.0) > 1e-6)
			return fail(p, v, "label %s: shares must add up to 1 (they add up to %g)",
			            l->key, sum);
	}
	return 0;
}

static int parse_nodes(struct ps *p, const yaml_node_t *n)
{
	yaml_node_t *k, *v;
	int rc;
	if (scalar(n) != NULL)
		return get_u32(p, n, "nodes", 2, SIM_SC_NODES_MAX, &p->sc->nodes);
	if ((rc = need_map(p, n, "nodes")) != 0)
		return rc;
	for (size_t i = 0; map_pair(p, n, i, &k, &v); i++) {
		const char *key = scalar(k);
		if (key != NULL && strcmp(key, "count") == 0)
			rc = get_u32(p, v, "nodes.count", 2, SIM_SC_NODES_MAX, &p->sc->nodes);
		else if (key != NULL && strcmp(key, "labels") == 0)
			rc = parse_labels(p, v);
		else
			return fail(p, k, "nodes: unknown key '%s' (count, labels)",
			            key ? key : "?");
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- network ------------------------------------------------------------ */

/* One entry of network.classes.tiers: {label: rack, latency: {...}}. */
static int parse_tier(struct ps *p, const yaml_node_t *e)
{
	yaml_node_t *k, *v;
	int rc;
	bool has_label = false, has_lat = false;
	if ((rc = need_map(p, e, "network.classes.tiers entry")) != 0)
		return rc;
	if (p->sc->ntiers == SIM_NET_TIERS_MAX)
		return fail(p, e, "network.classes.tiers: at most %d tiers", SIM_NET_TIERS_MAX);
	uint32_t t = p->sc->ntiers;
	for (size_t i = 0; map_pair(p, e, i, &k, &v); i++) {
		const char *key = scalar(k);
		if (key != NULL && strcmp(key, "label") == 0) {
			rc = get_name(p, v, "network.classes.tiers.label", p->sc->tier_key[t]);
			has_label = true;
		} else if (key != NULL && strcmp(key, "latency") == 0) {
			rc = parse_latency(p, v, "network.classes.tiers.latency",
			                   &p->sc->tier_lat[t]);
			has_lat = true;
		} else {
			return fail(p, k,
			            "network.classes.tiers: unknown key '%s' (label, latency)",
			            key ? key : "?");
		}
		if (rc != 0)
			return rc;
	}
	if (!has_label || !has_lat)
		return fail(p, e, "network.classes.tiers entry needs label and latency");
	p->sc->ntiers++;
	return 0;
}

static int parse_tiers(struct ps *p, const yaml_node_t *s)
{
	int rc;
	if (s->type != YAML_SEQUENCE_NODE ||
	    s->data.sequence.items.start == s->data.sequence.items.top)
		return fail(p, s,
		            "network.classes.tiers: expected a list of {label, latency}, "
		            "innermost first");
	for (yaml_node_item_t *it = s->data.sequence.items.start; it < s->data.sequence.items.top;
	     it++)
		if ((rc = parse_tier(p, node_at(p, *it))) != 0)
			return rc;
	return 0;
}

/* network.classes: one tier by `label` (its latency is network.latency, or
 * `same`), or `tiers` innermost first; `other` between nodes sharing none. */
static int parse_classes(struct ps *p, const yaml_node_t *m)
{
	yaml_node_t *k, *v;
	int rc;
	bool has_label = false, has_tiers = false, has_other = false;
	if ((rc = need_map(p, m, "network.classes")) != 0)
		return rc;
	for (size_t i = 0; map_pair(p, m, i, &k, &v); i++) {
		const char *key = scalar(k);
		if (key != NULL && strcmp(key, "label") == 0) {
			rc = get_name(p, v, "network.classes.label", p->sc->tier_key[0]);
			has_label = true;
		} else if (key != NULL && strcmp(key, "same") == 0) {
			rc = parse_latency(p, v, "network.classes.same", &p->sc->latency);
		} else if (key != NULL && strcmp(key, "tiers") == 0) {
			rc = parse_tiers(p, v);
			has_tiers = true;
		} else if (key != NULL && strcmp(key, "other") == 0) {
			rc = parse_latency(p, v, "network.classes.other", &p->sc->other);
			has_other = true;
		} else {
			return fail(p, k,
			            "network.classes: unknown key '%s' (label, same, tiers, other)",
			            key ? key : "?");
		}
		if (rc != 0)
			return rc;
	}
	if (has_label == has_tiers || !has_other)
		return fail(p, m, "network.classes needs other and either label or tiers");
	if (has_label) {
		p->sc->ntiers = 1;
		p->sc->tier0_same = true;
	}
	return 0;
}

static int parse_network(struct ps *p, const yaml_node_t *m)
{
	yaml_node_t *k, *v;
	int rc;
	if ((rc = need_map(p, m, "network")) != 0)
		return rc;
	for (size_t i = 0; map_pair(p, m, i, &k, &v); i++) {
		const char *key = scalar(k);
		if (key != NULL && strcmp(key, "latency") == 0)
			rc = parse_latency(p, v, "network.latency", &p->sc->latency);
		else if (key != NULL && strcmp(key, "classes") == 0)
			rc = parse_classes(p, v);
		else if (key != NULL && strcmp(key, "loss") == 0)
			rc = get_double(p, v, "network.loss", 0.0, 1.0, &p->sc->loss);
		else
			return fail(p, k, "network: unknown key '%s' (latency, classes, loss)",
			            key ? key : "?");
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- health -------------------------------------------------------------- */

/* leaves: a share of the sites below 1 (0.3) or a whole number of them
 * (300). */
static int get_leaves(struct ps *p, const yaml_node_t *v)
{
	double x;
	int rc = get_double(p, v, "health.leaves", 0.0, SIM_SC_NODES_MAX, &x);
	if (rc != 0)
		return rc;
	if (x < 1.0) {
		p->sc->health_leaf_share = x;
		p->sc->health_leaf_count = 0;
		return 0;
	}
	if (x != floor(x))
		return fail(p, v,
		            "health.leaves: expected a share below 1 (0.3) or a whole number of "
		            "sites (300), got %g",
		            x);
	p->sc->health_leaf_share = 0;
	p->sc->health_leaf_count = (uint32_t)x;
	return 0;
}

uint32_t sim_scenario_leaves(const struct sim_scenario *sc, uint32_t nodes)
{
	if (!sc->health)
		return 0;
	if (sc->health_leaf_count > 0)
		return sc->health_leaf_count;
	return (uint32_t)lround(sc->health_leaf_share * (double)nodes);
}

static int parse_health(struct ps *p, const yaml_node_t *m)
{
	yaml_node_t *k, *v;
	int rc;
	if ((rc = need_map(p, m, "health")) != 0)
		return rc;
	p->sc->health = true;
	for (size_t i = 0; map_pair(p, m, i, &k, &v); i++) {
		const char *key = scalar(k);
		if (key != NULL && strcmp(key, "changes_per_site_hour") == 0) {
			rc = get_double(p, v, "health.changes_per_site_hour", 0.0, 3600.0,
			                &p->sc->health_changes_per_hour);
		} else if (key != NULL && strcmp(key, "start") == 0) {
			const char *s = scalar(v);
			if (s != NULL && strcmp(s, "steady") == 0)
				p->sc->health_fresh = false;
			else if (s != NULL && strcmp(s, "fresh") == 0)
				p->sc->health_fresh = true;
			else
				rc = fail(p, v, "health.start: expected steady or fresh");
		} else if (key != NULL && strcmp(key, "leaves") == 0) {
			rc = get_leaves(p, v);
		} else {
			return fail(
			        p, k,
			        "health: unknown key '%s' (changes_per_site_hour, start, leaves)",
			        key ? key : "?");
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- k8s ------------------------------------------------------------------ */

/* k8s: {apply_ms: [MIN, MAX], fail_rate: P, observer: N}: every site
 * applies the App intents that select it through a simulated backend
 * (sim/rollout.h); needs health (the states go in the records). */
static int parse_k8s(struct ps *p, const yaml_node_t *m)
{
	yaml_node_t *k, *v;
	int rc = 0;
	if ((rc = need_map(p, m, "k8s")) != 0)
		return rc;
	p->sc->k8s = true;
	for (size_t i = 0; map_pair(p, m, i, &k, &v); i++) {
		const char *key = scalar(k);
		if (key != NULL && strcmp(key, "apply_ms") == 0) {
			yaml_node_item_t *it =
			        v->type == YAML_SEQUENCE_NODE ? v->data.sequence.items.start : NULL;
			if (it == NULL || v->data.sequence.items.top - it != 2)
				return fail(p, v, "k8s.apply_ms: expected [MIN, MAX] milliseconds");
			if ((rc = get_u32(p, node_at(p, it[0]), "k8s.apply_ms", 0, 3600000,
			                  &p->sc->k8s_apply_min_ms)) != 0 ||
			    (rc = get_u32(p, node_at(p, it[1]), "k8s.apply_ms", 0, 3600000,
			                  &p->sc->k8s_apply_max_ms)) != 0)
				return rc;
			if (p->sc->k8s_apply_max_ms < p->sc->k8s_apply_min_ms)
				return fail(p, v, "k8s.apply_ms: MAX is below MIN");
		} else if (key != NULL && strcmp(key, "fail_rate") == 0) {
			rc = get_double(p, v, "k8s.fail_rate", 0.0, 1.0, &p->sc->k8s_fail_rate);
		} else if (key != NULL && strcmp(key, "observer") == 0) {
			rc = get_u32(p, v, "k8s.observer", 0, SIM_SC_NODES_MAX - 1,
			             &p->sc->k8s_observer);
		} else {
			return fail(p, k, "k8s: unknown key '%s' (apply_ms, fail_rate, observer)",
			            key ? key : "?");
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- protocol ------------------------------------------------------------ */

/* How each protocol key is read. */
enum ov_kind { OV_DURATION, OV_COUNT, OV_BOOL };
static const struct {
	const char *key;
	enum sim_sc_field field;
	enum ov_kind kind;
} overrides[] = {
        {"probe_interval", SIM_SC_PROBE_INTERVAL, OV_DURATION},
        {"probe_timeout", SIM_SC_PROBE_TIMEOUT, OV_DURATION},
        {"indirect_checks", SIM_SC_INDIRECT_CHECKS, OV_COUNT},
        {"gossip_interval", SIM_SC_GOSSIP_INTERVAL, OV_DURATION},
        {"gossip_nodes", SIM_SC_GOSSIP_NODES, OV_COUNT},
        {"suspicion_mult", SIM_SC_SUSPICION_MULT, OV_COUNT},
        {"suspicion_max_mult", SIM_SC_SUSPICION_MAX_MULT, OV_COUNT},
        {"suspicion_confirm", SIM_SC_SUSPICION_CONFIRM, OV_COUNT},
        {"retransmit_mult", SIM_SC_RETRANSMIT_MULT, OV_COUNT},
        {"pushpull_interval", SIM_SC_PUSHPULL_INTERVAL, OV_DURATION},
        {"dead_keep", SIM_SC_DEAD_KEEP, OV_DURATION},
        {"reconnect_interval", SIM_SC_RECONNECT_INTERVAL, OV_DURATION},
        {"reconnect_timeout", SIM_SC_RECONNECT_TIMEOUT, OV_DURATION},
        {"awareness_max", SIM_SC_AWARENESS_MAX, OV_COUNT},
        {"lifeguard_lhm", SIM_SC_LIFEGUARD_LHM, OV_BOOL},
        {"lifeguard_suspicion", SIM_SC_LIFEGUARD_SUSPICION, OV_BOOL},
        {"lifeguard_buddy", SIM_SC_LIFEGUARD_BUDDY, OV_BOOL},
        {"lifeguard", SIM_SC_LIFEGUARD, OV_BOOL},
        {"udp_max", SIM_SC_UDP_MAX, OV_COUNT},
        {"scale", SIM_SC_SCALE, OV_COUNT},
};

static int parse_protocol(struct ps *p, const yaml_node_t *m, struct sim_sc_override *over,
                          uint32_t *nover)
{
	yaml_node_t *k, *v;
	int rc;
	if ((rc = need_map(p, m, "protocol")) != 0)
		return rc;
	for (size_t i = 0; map_pair(p, m, i, &k, &v); i++) {
		const char *key = scalar(k);
		size_t j;
		for (j = 0; j < sizeof(overrides) / sizeof(overrides[0]); j++)
			if (key != NULL && strcmp(key, overrides[j].key) == 0)
				break;
		if (j == sizeof(overrides) / sizeof(overrides[0]))
			return fail(p, k, "protocol: unknown setting '%s'", key ? key : "?");
		if (*nover == SIM_SC_OVERRIDES)
			return fail(p, k, "protocol: at most %d settings", SIM_SC_OVERRIDES);
		struct sim_sc_override *o = &over[(*nover)++];
		o->field = overrides[j].field;
		if (overrides[j].kind == OV_DURATION) {
			rc = get_duration(p, v, key, &o->value);
		} else if (overrides[j].kind == OV_COUNT) {
			uint32_t c;
			rc = get_u32(p, v, key, 0, 1000000, &c);
			o->value = c;
		} else {
			bool b;
			rc = get_bool(p, v, key, &b);
			o->value = b;
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int parse_compare(struct ps *p, const yaml_node_t *s)
{
	yaml_node_t *k, *v;
	int rc;
	if (s->type != YAML_SEQUENCE_NODE)
		return fail(p, s, "compare: expected a list of {name, protocol}");
	for (yaml_node_item_t *it = s->data.sequence.items.start; it < s->data.sequence.items.top;
	     it++) {
		yaml_node_t *e = node_at(p, *it);
		if ((rc = need_map(p, e, "compare entry")) != 0)
			return rc;
		if (p->sc->nvariants == SIM_SC_VARIANTS)
			return fail(p, e, "compare: at most %d variants", SIM_SC_VARIANTS);
		struct sim_sc_variant *var = &p->sc->variants[p->sc->nvariants++];
		for (size_t i = 0; map_pair(p, e, i, &k, &v); i++) {
			const char *key = scalar(k);
			if (key != NULL && strcmp(key, "name") == 0)
				rc = get_name(p, v, "compare name", var->name);
			else if (key != NULL && strcmp(key, "protocol") == 0)
				rc = parse_protocol(p, v, var->over, &var->nover);
			else
				return fail(p, k, "compare: unknown key '%s' (name, protocol)",
				            key ? key : "?");
			if (rc != 0)
				return rc;
		}
		if (var->name[0] == '\0')
			return fail(p, e, "compare entry needs a name");
	}
	return 0;
}

/* ---- timeline ------------------------------------------------------------ */

/* Node selection shared by kill/leave/slow: an integer count, or a mapping
 * with count | fraction | node and an optional label filter. */
static int parse_pick(struct ps *p, const yaml_node_t *n, struct sim_sc_action *a, bool slow)
{
	yaml_node_t *k, *v;
	int rc;
	a->node = SIM_NO_NODE;
	if (scalar(n) != NULL)
		return get_u32(p, n, "count", 1, SIM_SC_NODES_MAX, &a->count);
	if ((rc = need_map(p, n, "node selection")) != 0)
		return rc;
	for (size_t i = 0; map_pair(p, n, i, &k, &v); i++) {
		const char *key = scalar(k);
		if (key == NULL)
			return fail(p, k, "expected a key");
		if (strcmp(key, "count") == 0) {
			rc = get_u32(p, v, "count", 1, SIM_SC_NODES_MAX, &a->count);
		} else if (strcmp(key, "fraction") == 0) {
			rc = get_double(p, v, "fraction", 0.0, 1.0, &a->fraction);
		} else if (strcmp(key, "node") == 0) {
			rc = get_u32(p, v, "node", 0, SIM_SC_NODES_MAX - 1, &a->node);
		} else if (strcmp(key, "label") == 0) {
			yaml_node_t *lk, *lv;
			if ((rc = need_map(p, v, "label filter {key: value}")) != 0)
				return rc;
			if (!map_pair(p, v, 0, &lk, &lv) || map_pair(p, v, 1, &lk, &lv))
				return fail(p, v, "label filter: exactly one key: value");
			map_pair(p, v, 0, &lk, &lv);
			if ((rc = get_name(p, lk, "label key", a->key)) == 0)
				rc = get_name(p, lv, "label value", a->value);
		} else if (slow && strcmp(key, "extra") == 0) {
			rc = get_duration(p, v, "slow extra", &a->extra_us);
		} else if (slow && strcmp(key, "for") == 0) {
			rc = get_duration(p, v, "slow for", &a->for_us);
		} else {
			return fail(p, k, "unknown key '%s' (count, fraction, node, label%s)", key,
			            slow ? ", extra, for" : "");
		}
		if (rc != 0)
			return rc;
	}
	if (a->count == 0 && a->fraction <= 0 && a->node == SIM_NO_NODE)
		return fail(p, n, "say which nodes: count, fraction or node");
	return 0;
}

static int parse_partition(struct ps *p, const yaml_node_t *n, struct sim_sc_action *a)
{
	yaml_node_t *k, *v;
	int rc;
	if ((rc = need_map(p, n, "partition ({by: label} | {groups: K} | {fraction: f})")) != 0)
		return rc;
	for (size_t i = 0; map_pair(p, n, i, &k, &v); i++) {
		const char *key = scalar(k);
		if (key != NULL && strcmp(key, "by") == 0)
			rc = get_name(p, v, "partition by", a->key);
		else if (key != NULL && strcmp(key, "groups") == 0)
			rc = get_u32(p, v, "partition groups", 2, 1000, &a->groups);
		else if (key != NULL && strcmp(key, "fraction") == 0)
			rc = get_double(p, v, "partition fraction", 0.0, 1.0, &a->fraction);
		else
			return fail(p, k, "partition: unknown key '%s' (by, groups, fraction)",
			            key ? key : "?");
		if (rc != 0)
			return rc;
	}
	if (a->key[0] != '\0') {
		bool found = false;
		for (uint32_t i = 0; i < p->sc->nlabels; i++)
			found |= strcmp(p->sc->labels[i].key, a->key) == 0;
		if (!found)
			return fail(p, n, "partition by '%s': no such label in nodes.labels",
			            a->key);
	} else if (a->groups == 0 && a->fraction <= 0) {
		return fail(p, n, "partition needs by, groups or fraction");
	}
	return 0;
}

static int parse_churn(struct ps *p, const yaml_node_t *n, struct sim_sc_action *a)
{
	yaml_node_t *k, *v;
	int rc;
	if ((rc = need_map(p, n, "churn")) != 0)
		return rc;
	for (size_t i = 0; map_pair(p, n, i, &k, &v); i++) {
		const char *key = scalar(k);
		if (key != NULL && strcmp(key, "interval") == 0)
			rc = get_duration(p, v, "churn interval", &a->interval_us);
		else if (key != NULL && strcmp(key, "for") == 0)
			rc = get_duration(p, v, "churn for", &a->for_us);
		else if (key != NULL && strcmp(key, "down") == 0)
			rc = get_duration(p, v, "churn down", &a->down_us);
		else if (key != NULL && strcmp(key, "leave") == 0)
			rc = get_bool(p, v, "churn leave", &a->leave);
		else
			return fail(p, k, "churn: unknown key '%s' (interval, for, down, leave)",
			            key ? key : "?");
		if (rc != 0)
			return rc;
	}
	if (a->interval_us < SIM_MS(10) || a->for_us == 0)
		return fail(p, n, "churn needs interval (>= 10ms) and for");
	return 0;
}

/* intent: {node: N | random, kind: App, size: BYTES, target: SELECTOR}: an
 * App intent whose manifests are BYTES long, signed and submitted at node N
 * (default: a random live node), targeting the sites whose labels the
 * selector matches (default: none of them, SIM_ITEMS_TARGET). put: {node:
 * N, size: BYTES} is the same with kind App. Sizes up to the fleet's spec
 * limit less the spec map's framing. */
/* A label selector (selector.h), checked now so a bad one names its line. */
static int get_target(struct ps *p, const yaml_node_t *n, char *out)
{
	const char *s = scalar(n);
	struct selector *sel;
	char why[SELECTOR_ERR_MAX];
	if (s == NULL || strlen(s) >= SIM_SC_TARGET_MAX)
		return fail(p, n, "target: expected a label selector of at most %d bytes",
		            SIM_SC_TARGET_MAX - 1);
	if (selector_parse(s, strlen(s), &sel, why, sizeof(why)) != 0)
		return fail(p, n, "target: %s", why);
	selector_delete(sel);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int parse_intent(struct ps *p, const yaml_node_t *n, struct sim_sc_action *a,
                        const char *what)
{
	yaml_node_t *k, *v;
	int rc;
	bool is_put = strcmp(what, "put") == 0;
	if ((rc = need_map(p, n,
	                   is_put ? "put {node: N, size: BYTES}"
	                          : "intent {node: N | random, kind: App, size: BYTES}")) != 0)
		return rc;
	a->intent_kind = INTENT_APP;
	for (size_t i = 0; map_pair(p, n, i, &k, &v); i++) {
		const char *key = scalar(k);
		const char *val = scalar(v);
		if (key != NULL && strcmp(key, "node") == 0 && val != NULL &&
		    strcmp(val, "random") == 0 && !is_put)
			a->node = SIM_NO_NODE;
		else if (key != NULL && strcmp(key, "node") == 0)
			rc = get_u32(p, v, "node", 0, SIM_SC_NODES_MAX - 1, &a->node);
		else if (key != NULL && strcmp(key, "size") == 0)
			rc = get_u32(p, v, "size", 1, INTENT_SPEC_MAX - 64, &a->size);
		else if (key != NULL && strcmp(key, "target") == 0 && !is_put)
			rc = get_target(p, v, a->target);
		else if (key != NULL && strcmp(key, "kind") == 0 && !is_put) {
			if (val == NULL || strcmp(val, "App") != 0)
				return fail(p, v, "intent kind: '%s' is not simulated (App)",
				            val ? val : "?");
		} else
			return fail(p, k, "%s: unknown key '%s' (%s)", what, key ? key : "?",
			            is_put ? "node, size" : "node, kind, size, target");
		if (rc != 0)
			return rc;
	}
	if (a->size == 0)
		return fail(p, n, "%s needs size", what);
	return 0;
}

static int parse_action(struct ps *p, const yaml_node_t *e, struct sim_sc_action *a)
{
	yaml_node_t *k, *v;
	yaml_node_t *what = NULL, *what_k = NULL;
	bool has_at = false;
	int rc;
	if ((rc = need_map(p, e, "timeline entry")) != 0)
		return rc;
	memset(a, 0, sizeof(*a));
	a->node = SIM_NO_NODE;
	a->line = (uint32_t)e->start_mark.line + 1;
	for (size_t i = 0; map_pair(p, e, i, &k, &v); i++) {
		const char *key = scalar(k);
		if (key != NULL && strcmp(key, "at") == 0) {
			if ((rc = get_duration(p, v, "at", &a->at)) != 0)
				return rc;
			has_at = true;
		} else if (what != NULL) {
			return fail(p, k, "one action per timeline entry ('%s' and '%s')",
			            scalar(what_k), key ? key : "?");
		} else {
			what = v;
			what_k = k;
		}
	}
	if (!has_at || what == NULL)
		return fail(p, e, "a timeline entry needs at: and one action");
	const char *name = scalar(what_k);
	if (name == NULL)
		return fail(p, what_k, "expected an action name");
	if (strcmp(name, "kill") == 0) {
		a->kind = SIM_ACT_KILL;
		return parse_pick(p, what, a, false);
	}
	if (strcmp(name, "leave") == 0) {
		a->kind = SIM_ACT_LEAVE;
		return parse_pick(p, what, a, false);
	}
	if (strcmp(name, "restart") == 0) {
		a->kind = SIM_ACT_RESTART;
		if (scalar(what) != NULL && strcmp(scalar(what), "all") == 0) {
			a->all = true;
			return 0;
		}
		return parse_pick(p, what, a, false);
	}
	if (strcmp(name, "partition") == 0) {
		a->kind = SIM_ACT_PARTITION;
		return parse_partition(p, what, a);
	}
	if (strcmp(name, "heal") == 0) {
		a->kind = SIM_ACT_HEAL;
		return 0;
	}
	if (strcmp(name, "loss") == 0) {
		a->kind = SIM_ACT_LOSS;
		return get_double(p, what, "loss", 0.0, 1.0, &a->loss);
	}
	if (strcmp(name, "slow") == 0) {
		a->kind = SIM_ACT_SLOW;
		if ((rc = parse_pick(p, what, a, true)) != 0)
			return rc;
		if (a->extra_us == 0 || a->for_us == 0)
			return fail(p, what, "slow needs extra and for");
		return 0;
	}
	if (strcmp(name, "churn") == 0) {
		a->kind = SIM_ACT_CHURN;
		return parse_churn(p, what, a);
	}
	if (strcmp(name, "intent") == 0 || strcmp(name, "put") == 0) {
		a->kind = SIM_ACT_INTENT;
		return parse_intent(p, what, a, name);
	}
	return fail(p, what_k,
	            "unknown action '%s' (kill, restart, leave, partition, heal, loss, slow, "
	            "churn, intent, put)",
	            name);
}

static int cmp_action(const void *x, const void *y)
{
	const struct sim_sc_action *a = x, *b = y;
	if (a->at != b->at)
		return a->at < b->at ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line; /* stable: file order */
}

static int parse_timeline(struct ps *p, const yaml_node_t *s)
{
	int rc;
	if (s->type != YAML_SEQUENCE_NODE)
		return fail(p, s, "timeline: expected a list of {at: T, action: ...}");
	size_t n = (size_t)(s->data.sequence.items.top - s->data.sequence.items.start);
	if (n > SIM_SC_ACTIONS)
		return fail(p, s, "timeline: at most %d entries", SIM_SC_ACTIONS);
	if (n == 0)
		return 0;
	p->sc->action = calloc(n, sizeof(*p->sc->action));
	if (p->sc->action == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *e = node_at(p, s->data.sequence.items.start[i]);
		if ((rc = parse_action(p, e, &p->sc->action[i])) != 0)
			return rc;
		p->sc->nactions++;
	}
	qsort(p->sc->action, n, sizeof(*p->sc->action), cmp_action);
	return 0;
}

/* ---- the document -------------------------------------------------------- */

static json_t *to_json(struct ps *p, const yaml_node_t *n, int depth)
{
	if (n == NULL || depth > 32)
		return json_null();
	if (n->type == YAML_SCALAR_NODE) {
		const char *s = scalar(n);
		char *end = NULL;
		if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && *s != '\0') {
			errno = 0;
			long long iv = strtoll(s, &end, 10);
			if (errno == 0 && *end == '\0')
				return json_integer(iv);
			double dv = strtod(s, &end);
			if (errno == 0 && *end == '\0' && isfinite(dv))
				return json_real(dv);
			if (strcmp(s, "true") == 0)
				return json_true();
			if (strcmp(s, "false") == 0)
				return json_false();
		}
		return json_string(s);
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		json_t *a = json_array();
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++)
			json_array_append_new(a, to_json(p, node_at(p, *it), depth + 1));
		return a;
	}
	json_t *o = json_object();
	yaml_node_t *k, *v;
	for (size_t i = 0; map_pair(p, n, i, &k, &v); i++) {
		const char *key = scalar(k);
		json_object_set_new(o, key != NULL ? key : "?", to_json(p, v, depth + 1));
	}
	return o;
}

static int parse_root(struct ps *p, const yaml_node_t *root)
{
	yaml_node_t *k, *v;
	bool has_nodes = false, has_duration = false;
	int rc;
	if (root == NULL)
		return fail(p, NULL, "empty scenario");
	if ((rc = need_map(p, root, "scenario")) != 0)
		return rc;
	for (size_t i = 0; map_pair(p, root, i, &k, &v); i++) {
		const char *key = scalar(k);
		if (key == NULL)
			return fail(p, k, "expected a key");
		if (strcmp(key, "name") == 0) {
			rc = get_name(p, v, "name", p->sc->name);
		} else if (strcmp(key, "seed") == 0) {
			const char *s = scalar(v);
			char *end = NULL;
			errno = 0;
			p->sc->seed = s != NULL ? strtoull(s, &end, 0) : 0;
			rc = (s == NULL || *s == '\0' || *s == '-' || errno != 0 || *end != '\0')
			             ? fail(p, v, "seed: expected a whole number")
			             : 0;
		} else if (strcmp(key, "duration") == 0) {
			rc = get_duration(p, v, "duration", &p->sc->duration_us);
			has_duration = true;
		} else if (strcmp(key, "nodes") == 0) {
			rc = parse_nodes(p, v);
			has_nodes = true;
		} else if (strcmp(key, "start") == 0) {
			const char *s = scalar(v);
			if (s != NULL && strcmp(s, "cold") == 0)
				p->sc->cold = true;
			else if (s != NULL && strcmp(s, "converged") == 0)
				p->sc->cold = false;
			else
				rc = fail(p, v, "start: expected cold or converged");
		} else if (strcmp(key, "boot_spread") == 0) {
			rc = get_duration(p, v, "boot_spread", &p->sc->boot_spread_us);
		} else if (strcmp(key, "settle") == 0) {
			rc = get_duration(p, v, "settle", &p->sc->settle_us);
		} else if (strcmp(key, "start_timeout") == 0) {
			rc = get_duration(p, v, "start_timeout", &p->sc->start_timeout_us);
		} else if (strcmp(key, "network") == 0) {
			rc = parse_network(p, v);
		} else if (strcmp(key, "protocol") == 0) {
			rc = parse_protocol(p, v, p->sc->base, &p->sc->nbase);
		} else if (strcmp(key, "compare") == 0) {
			rc = parse_compare(p, v);
		} else if (strcmp(key, "timeline") == 0) {
			rc = parse_timeline(p, v);
		} else if (strcmp(key, "health") == 0) {
			rc = parse_health(p, v);
		} else if (strcmp(key, "k8s") == 0) {
			rc = parse_k8s(p, v);
		} else {
			return fail(p, k,
			            "unknown key '%s' (name, seed, duration, nodes, start, "
			            "boot_spread, start_timeout, settle, network, protocol, "
			            "compare, timeline, health, k8s)",
			            key);
		}
		if (rc != 0)
			return rc;
	}
	if (!has_nodes)
		return fail(p, root, "missing nodes");
	if (!has_duration || p->sc->duration_us == 0)
		return fail(p, root, "missing duration");
	if (p->sc->k8s && !p->sc->health)
		return fail(p, root,
		            "k8s needs health: the sites report their intents' states there");
	if (sim_scenario_leaves(p->sc, p->sc->nodes) >= p->sc->nodes)
		return fail(p, root, "health.leaves: %u of %u sites leave no full node",
		            sim_scenario_leaves(p->sc, p->sc->nodes), p->sc->nodes);
	if (p->sc->k8s && p->sc->k8s_observer >= p->sc->nodes)
		return fail(p, root, "k8s.observer: node %u does not exist (nodes: %u)",
		            p->sc->k8s_observer, p->sc->nodes);
	for (uint32_t i = 0; i < p->sc->nactions; i++) {
		const struct sim_sc_action *a = &p->sc->action[i];
		if (a->at > p->sc->duration_us)
			return fail(p, NULL, "line %u: action at %.3f s is after the end (%.3f s)",
			            a->line, (double)a->at / 1e6, (double)p->sc->duration_us / 1e6);
		if (a->node != SIM_NO_NODE && a->node >= p->sc->nodes)
			return fail(p, NULL, "line %u: node %u does not exist (nodes: %u)", a->line,
			            a->node, p->sc->nodes);
	}
	for (uint32_t t = 0; t < p->sc->ntiers; t++) {
		bool found = false;
		for (uint32_t i = 0; i < p->sc->nlabels; i++)
			found |= strcmp(p->sc->labels[i].key, p->sc->tier_key[t]) == 0;
		if (!found)
			return fail(p, root, "network.classes: label '%s' is not in nodes.labels",
			            p->sc->tier_key[t]);
	}
	/* The one-label form's tier runs at network.latency (or `same`),
	 * whichever order the keys came in. */
	if (p->sc->tier0_same)
		p->sc->tier_lat[0] = p->sc->latency;
	if (p->sc->nvariants == 0) {
		p->sc->nvariants = 1;
		memcpy(p->sc->variants[0].name, "default", sizeof("default"));
	}
	json_t *echo = to_json(p, root, 0);
	p->sc->echo_json = json_dumps(echo, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(echo);
	return p->sc->echo_json != NULL ? 0 : -ENOMEM;
}

int sim_scenario_parse(struct sim_scenario **out, const char *text, size_t len,
                       const char *fallback_name, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct sim_scenario *sc = calloc(1, sizeof(*sc));
	int rc;

	*out = NULL;
	if (sc == NULL)
		return -ENOMEM;
	/* Defaults: memberlist's LAN net figures, converged start. */
	sc->seed = 1;
	sc->latency = (struct sim_latency){.kind = SIM_LAT_UNIFORM, .a_us = 500, .b_us = 2000};
	sc->boot_spread_us = SIM_SEC(10);
	sc->start_timeout_us = SIM_SEC(600);
	snprintf(sc->name, sizeof(sc->name), "%s", fallback_name ? fallback_name : "scenario");

	if (!yaml_parser_initialize(&parser)) {
		free(sc);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "line %lu: %s%s%s",
		         (unsigned long)parser.problem_mark.line + 1,
		         parser.problem ? parser.problem : "YAML error", parser.context ? " " : "",
		         parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		free(sc);
		return SHOAL_E_CONFIG;
	}
	struct ps p = {.doc = &doc, .sc = sc, .err = err, .errlen = errlen};
	rc = parse_root(&p, yaml_document_get_root_node(&doc));
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (rc != 0) {
		sim_scenario_delete(sc);
		return rc;
	}
	*out = sc;
	return 0;
}

int sim_scenario_load(struct sim_scenario **out, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	*out = NULL;
	if (f == NULL) {
		int e = errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		return -e;
	}
	char *buf = malloc(SIM_SC_TEXT_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		return -ENOMEM;
	}
	size_t len = fread(buf, 1, SIM_SC_TEXT_MAX + 1, f);
	fclose(f);
	if (len > SIM_SC_TEXT_MAX) {
		snprintf(err, errlen, "%s: larger than %u bytes", path, SIM_SC_TEXT_MAX);
		free(buf);
		return SHOAL_E_TOO_BIG;
	}
	/* Fallback name: the file's base name without .yaml. */
	char name[SIM_SC_NAME_MAX];
	const char *base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	snprintf(name, sizeof(name), "%s", base);
	char *dot = strrchr(name, '.');
	if (dot != NULL && dot != name)
		*dot = '\0';
	int rc = sim_scenario_parse(out, buf, len, name, err, errlen);
	free(buf);
	return rc;
}

void sim_scenario_delete(struct sim_scenario *sc)
{
	if (sc == NULL)
		return;
	free(sc->action);
	free(sc->echo_json);
	free(sc);
}

static void apply(struct swim_config *cfg, const struct sim_sc_override *o)
{
	switch (o->field) {
	case SIM_SC_PROBE_INTERVAL:
		cfg->probe_interval_us = o->value;
		break;
	case SIM_SC_PROBE_TIMEOUT:
		cfg->probe_timeout_us = o->value;
		break;
	case SIM_SC_INDIRECT_CHECKS:
		cfg->indirect_checks = (uint32_t)o->value;
		break;
	case SIM_SC_GOSSIP_INTERVAL:
		cfg->gossip_interval_us = o->value;
		break;
	case SIM_SC_GOSSIP_NODES:
		cfg->gossip_nodes = (uint32_t)o->value;
		break;
	case SIM_SC_SUSPICION_MULT:
		cfg->suspicion_mult = (uint32_t)o->value;
		break;
	case SIM_SC_SUSPICION_MAX_MULT:
		cfg->suspicion_max_mult = (uint32_t)o->value;
		break;
	case SIM_SC_SUSPICION_CONFIRM:
		cfg->suspicion_confirm = (uint32_t)o->value;
		break;
	case SIM_SC_RETRANSMIT_MULT:
		cfg->retransmit_mult = (uint32_t)o->value;
		break;
	case SIM_SC_PUSHPULL_INTERVAL:
		cfg->pushpull_interval_us = o->value;
		break;
	case SIM_SC_DEAD_KEEP:
		cfg->dead_keep_us = o->value;
		break;
	case SIM_SC_RECONNECT_INTERVAL:
		cfg->reconnect_interval_us = o->value;
		break;
	case SIM_SC_RECONNECT_TIMEOUT:
		cfg->reconnect_timeout_us = o->value;
		break;
	case SIM_SC_AWARENESS_MAX:
		cfg->awareness_max = (uint32_t)o->value;
		break;
	case SIM_SC_LIFEGUARD_LHM:
		cfg->lifeguard_lhm = o->value != 0;
		break;
	case SIM_SC_LIFEGUARD_SUSPICION:
		cfg->lifeguard_suspicion = o->value != 0;
		break;
	case SIM_SC_LIFEGUARD_BUDDY:
		cfg->lifeguard_buddy = o->value != 0;
		break;
	case SIM_SC_LIFEGUARD:
		cfg->lifeguard_lhm = cfg->lifeguard_suspicion = cfg->lifeguard_buddy =
		        o->value != 0;
		break;
	case SIM_SC_UDP_MAX:
		cfg->udp_max = (size_t)o->value;
		break;
	case SIM_SC_SCALE:
		break; /* applied first, below */
	}
}

static void apply_list(struct swim_config *cfg, const struct sim_sc_override *o, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (o[i].field == SIM_SC_SCALE && o[i].value > 1)
			swim_config_scale(cfg, (uint32_t)o[i].value);
	for (uint32_t i = 0; i < n; i++)
		apply(cfg, &o[i]);
}

void sim_scenario_swim_config(const struct sim_scenario *sc, const struct sim_sc_variant *v,
                              struct swim_config *cfg)
{
	struct sim_cluster_config cc;
	sim_cluster_config_defaults(&cc, 2, 0);
	*cfg = cc.swim;
	apply_list(cfg, sc->base, sc->nbase);
	if (v != NULL)
		apply_list(cfg, v->over, v->nover);
}
