/*
 * rollout.c - every simulated site applying the App intents that select
 * it through a simulated backend, and how far each rollout got
 * (rollout.h says what is modelled and measured).
 *
 * Per node: a k8s_sim backend and its entries, one per App intent it works
 * on (applied, or being removed), sorted by intent index. Per intent: one
 * flag byte per node (selected, held, published settled, observed
 * settled) and the counters the three measures complete on. A measure is
 * checked node by node only when its counter says it might be complete,
 * as items.c does for "every live node holds it".
 */
#include "rollout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "items.h"
#include "shoal/error.h"
#include "shoal/k8s.h"
#include "shoal/k8s_health.h"

#define NAME_PREFIX "intent-"

enum {
	F_SEL = 1,   /* the target selects this site */
	F_HELD = 2,  /* the site's store committed it */
	F_OWN = 4,   /* the site published it settled */
	F_OBS = 8,   /* the observer's table shows it settled */
	F_READY = 16 /* settled as ready (else failed), for F_OWN */
};

struct rentry {
	uint32_t index;   /* intent index: its name is "intent-<index>" */
	uint64_t version; /* HLC handed to the backend */
	enum health_state state, pub_state;
	uint64_t pub_version;
	bool removing;
	char name[24];
};

struct rnode {
	struct k8s_sim *sim;
	struct k8s_backend be;
	struct rentry *e; /* sorted by index */
	uint32_t n, cap;
	uint32_t gen; /* judge events: only the newest runs */
	bool judge_due;
};

struct rintent {
	struct sim_rollout_intent pub;
	uint8_t *flag; /* [nodes] */
	uint32_t *ms;  /* [SIM_ROLLOUT_STEPS * nodes]: ms from submit per step and site */
};

struct sim_rollout {
	struct sim_cluster *c;
	struct sim_rollout_config cfg;
	uint32_t n;
	struct rnode *nodes;
	struct rintent *in; /* [SIM_ITEMS_MAX] */
	uint32_t nin;
	const struct shoal_label *labels;
	size_t per_node;
	struct sim_items *items;
	struct sim_health *health;
	struct health_record *scratch;
	uint64_t unselected_listed, refused;
};

static uint64_t clock_ms(void *arg)
{
	struct sim_rollout *ro = arg;
	return sim_cluster_now(ro->c) / 1000;
}

static struct shoal_labels labels_of(const struct sim_rollout *ro, uint32_t node)
{
	return (struct shoal_labels){ro->labels != NULL ? ro->labels + node * ro->per_node : NULL,
	                             ro->labels != NULL ? ro->per_node : 0};
}

/* ---- lifecycle -------------------------------------------------------------- */

int sim_rollout_new(struct sim_rollout **out, struct sim_cluster *c,
                    const struct sim_rollout_config *cfg)
{
	*out = NULL;
	if (cfg->apply_max_ms < cfg->apply_min_ms || cfg->fail_rate < 0 || cfg->fail_rate > 1 ||
	    cfg->observer >= sim_cluster_size(c))
		return -EINVAL;
	struct sim_rollout *ro = calloc(1, sizeof(*ro));
	if (ro == NULL)
		return -ENOMEM;
	ro->c = c;
	ro->cfg = *cfg;
	ro->n = sim_cluster_size(c);
	ro->nodes = calloc(ro->n, sizeof(*ro->nodes));
	ro->in = calloc(SIM_ITEMS_MAX, sizeof(*ro->in));
	ro->scratch = malloc(sizeof(*ro->scratch));
	if (ro->nodes == NULL || ro->in == NULL || ro->scratch == NULL) {
		sim_rollout_delete(ro);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < ro->n; i++) {
		struct k8s_sim_config kc = {
		        .seed = sim_hash64(&i, sizeof(i),
		                           sim_cluster_seed(c) ^ UINT64_C(0x6b387321)),
		        .latency_min_ms = cfg->apply_min_ms,
		        .latency_max_ms = cfg->apply_max_ms,
		        .failure_rate = cfg->fail_rate,
		        .now_ms = clock_ms,
		        .clock_arg = ro};
		int rc = k8s_sim_new(&kc, &ro->nodes[i].sim);
		if (rc != 0) {
			sim_rollout_delete(ro);
			return rc;
		}
		ro->nodes[i].be = k8s_sim_backend(ro->nodes[i].sim);
	}
	*out = ro;
	return 0;
}

void sim_rollout_delete(struct sim_rollout *ro)
{
	if (ro == NULL)
		return;
	for (uint32_t i = 0; ro->nodes != NULL && i < ro->n; i++) {
		k8s_sim_delete(ro->nodes[i].sim);
		free(ro->nodes[i].e);
	}
	for (uint32_t i = 0; ro->in != NULL && i < ro->nin; i++) {
		free(ro->in[i].flag);
		free(ro->in[i].ms);
	}
	free(ro->nodes);
	free(ro->in);
	free(ro->scratch);
	free(ro);
}

void sim_rollout_set_labels(struct sim_rollout *ro, const struct shoal_label *labels,
                            size_t per_node)
{
	ro->labels = labels;
	ro->per_node = per_node;
}

void sim_rollout_set_items(struct sim_rollout *ro, struct sim_items *items)
{
	ro->items = items;
}

void sim_rollout_set_health(struct sim_rollout *ro, struct sim_health *health)
{
	ro->health = health;
}

uint32_t sim_rollout_observer(const struct sim_rollout *ro)
{
	return ro->cfg.observer;
}

/* ---- the measures ------------------------------------------------------------ */

/* Site `node` reached step `step` of intent x now. */
static void reached(struct sim_rollout *ro, struct rintent *x, int step, uint32_t node)
{
	x->ms[(size_t)step * ro->n + node] =
	        (uint32_t)((sim_cluster_now(ro->c) - x->pub.put_at) / 1000);
}

/* Every selected live node has `bit` set: then *at = now. */
static void check(struct sim_rollout *ro, struct rintent *x, uint32_t count, uint8_t bit,
                  uint64_t *at)
{
	uint32_t down = ro->n - sim_cluster_up_count(ro->c);
	if (*at != UINT64_MAX || count + down < x->pub.selected)
		return;
	for (uint32_t i = 0; i < ro->n; i++)
		if ((x->flag[i] & (F_SEL | bit)) == F_SEL &&
		    sim_cluster_state(ro->c, i) == SIM_NODE_UP)
			return;
	*at = sim_cluster_now(ro->c);
	if (at == &x->pub.obs_at && ro->health != NULL)
		x->pub.bytes_at_obs = sim_health_bytes_total(ro->health);
}

void sim_rollout_submitted(struct sim_rollout *ro, uint32_t index, uint32_t origin,
                           const struct intent_store *store, const struct intent_item *item)
{
	if (index >= SIM_ITEMS_MAX)
		return;
	while (ro->nin <= index) {
		struct rintent *x = &ro->in[ro->nin++];
		x->pub.held_at = x->pub.own_at = x->pub.obs_at = UINT64_MAX;
	}
	struct rintent *x = &ro->in[index];
	if (x->flag != NULL)
		return; /* submitted once */
	x->flag = calloc(ro->n, 1);
	x->ms = malloc((size_t)SIM_ROLLOUT_STEPS * ro->n * sizeof(*x->ms));
	if (x->flag == NULL || x->ms == NULL) {
		free(x->flag);
		free(x->ms);
		x->flag = NULL;
		x->ms = NULL;
		return;
	}
	memset(x->ms, 0xff, (size_t)SIM_ROLLOUT_STEPS * ro->n * sizeof(*x->ms));
	x->pub.put_at = sim_cluster_now(ro->c);
	x->pub.version = item->env.body.hlc;
	x->pub.bytes_at_put = ro->health != NULL ? sim_health_bytes_total(ro->health) : 0;
	for (uint32_t i = 0; i < ro->n; i++) {
		struct shoal_labels l = labels_of(ro, i);
		if (intent_store_selects(store, item, &l) == 1) {
			x->flag[i] |= F_SEL;
			x->pub.selected++;
		}
	}
	/* The origin committed it before it was known here. */
	sim_rollout_committed(ro, origin, index);
}

/* ---- judging, as node/reconcile_judge.c ----------------------------------------- */

static struct rentry *find(struct rnode *rn, uint32_t index, uint32_t *at)
{
	uint32_t lo = 0, hi = rn->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (rn->e[mid].index == index) {
			*at = mid;
			return &rn->e[mid];
		}
		if (rn->e[mid].index < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return NULL;
}

static struct rentry *add(struct rnode *rn, uint32_t index, uint32_t at)
{
	if (rn->n == rn->cap) {
		uint32_t cap = rn->cap ? rn->cap * 2 : 4;
		struct rentry *e = realloc(rn->e, cap * sizeof(*e));
		if (e == NULL)
			return NULL;
		rn->e = e;
		rn->cap = cap;
	}
	memmove(&rn->e[at + 1], &rn->e[at], (rn->n - at) * sizeof(*rn->e));
	rn->n++;
	struct rentry *e = &rn->e[at];
	memset(e, 0, sizeof(*e));
	e->index = index;
	e->state = e->pub_state = HEALTH_NOT_SELECTED;
	snprintf(e->name, sizeof(e->name), NAME_PREFIX "%u", index);
	return e;
}

/* Selected: hand a new version to the backend. A version it refuses is
 * failed on this site, as the reconciler reports a refusal. */
static void want(struct sim_rollout *ro, struct rnode *rn, struct rentry *e,
                 const struct intent_item *it)
{
	struct intent_app_spec app;
	char err[256], id[8 + sizeof(e->name)];
	if (e->version == it->env.body.hlc && !e->removing)
		return;
	e->version = it->env.body.hlc;
	e->removing = false;
	snprintf(id, sizeof(id), "App/%s", e->name);
	if (intent_app_spec_read(it->env.body.spec, it->env.body.spec_len, &app) != 0 ||
	    rn->be.ops->apply(rn->be.impl, id, app.manifests, app.manifests_len, err,
	                      sizeof(err)) != 0) {
		e->state = HEALTH_FAILED;
		ro->refused++;
		return;
	}
	e->state = HEALTH_PENDING;
}

static void judge(struct sim_rollout *ro, uint32_t node)
{
	struct rnode *rn = &ro->nodes[node];
	const struct intent_store *s = sim_items_store(ro->items, node);
	struct shoal_labels labels = labels_of(ro, node);
	char id[8 + sizeof(rn->e[0].name)];
	if (s == NULL)
		return;
	for (size_t i = 0; i < intent_store_count(s); i++) {
		const struct intent_item *it = intent_store_at(s, i);
		uint32_t index = sim_items_index(ro->items, it->env.body.name), at;
		if (it->env.body.kind != INTENT_APP || index == UINT32_MAX)
			continue;
		struct rentry *e = find(rn, index, &at);
		int sel = it->env.body.op == INTENT_PUT ? intent_store_selects(s, it, &labels)
		                                        : SHOAL_E_STATE;
		if (sel == 1) {
			if (e == NULL && (e = add(rn, index, at)) == NULL)
				continue;
			want(ro, rn, e, it);
		} else if (e != NULL && !e->removing) {
			snprintf(id, sizeof(id), "App/%s", e->name);
			e->removing = rn->be.ops->remove(rn->be.impl, id) == 0;
		}
	}
}

static void on_judge(void *arg, uint64_t data)
{
	struct sim_rollout *ro = arg;
	uint32_t node = (uint32_t)data;
	if (node >= ro->n || (uint32_t)(data >> 32) != ro->nodes[node].gen)
		return;
	ro->nodes[node].judge_due = false;
	if (sim_cluster_state(ro->c, node) != SIM_NODE_UP)
		return;
	judge(ro, node);
	if (ro->health != NULL)
		sim_health_wake(ro->health, node);
}

void sim_rollout_committed(struct sim_rollout *ro, uint32_t node, uint32_t index)
{
	if (node >= ro->n)
		return;
	struct rintent *x = index < ro->nin ? &ro->in[index] : NULL;
	if (x != NULL && x->flag != NULL && (x->flag[node] & (F_SEL | F_HELD)) == F_SEL) {
		x->pub.held++;
		x->flag[node] |= F_HELD;
		reached(ro, x, SIM_ROLLOUT_HELD, node);
		check(ro, x, x->pub.held, F_HELD, &x->pub.held_at);
	}
	sim_rollout_kick(ro, node);
}

void sim_rollout_kick(struct sim_rollout *ro, uint32_t node)
{
	/* A store's hook runs inside the store: judge right after. */
	if (node >= ro->n)
		return;
	struct rnode *rn = &ro->nodes[node];
	if (!rn->judge_due) {
		rn->judge_due = true;
		rn->gen++;
		sim_engine_at(sim_cluster_engine(ro->c), sim_cluster_now(ro->c), on_judge, ro,
		              (uint64_t)rn->gen << 32 | node);
	}
}

/* ---- states into the record -------------------------------------------------------- */

bool sim_rollout_sample(struct sim_rollout *ro, uint32_t node)
{
	struct rnode *rn = &ro->nodes[node];
	struct k8s_set_status st;
	char id[8 + sizeof(rn->e[0].name)];
	bool busy = false;
	for (uint32_t i = 0; i < rn->n;) {
		struct rentry *e = &rn->e[i];
		snprintf(id, sizeof(id), "App/%s", e->name);
		int rc = rn->be.ops->status(rn->be.impl, id, &st);
		if (rc == SHOAL_E_NOT_FOUND && e->removing) {
			memmove(e, e + 1, (rn->n - i - 1) * sizeof(*e));
			rn->n--;
			continue;
		}
		if (rc == 0)
			e->state = k8s_health_state(st.state);
		busy |= e->removing || e->state == HEALTH_PENDING || e->state == HEALTH_APPLYING;
		i++;
	}
	return busy;
}

void sim_rollout_fill(const struct sim_rollout *ro, uint32_t node, bool published,
                      struct health_record *r)
{
	const struct rnode *rn = &ro->nodes[node];
	for (uint32_t i = 0; i < rn->n && r->n_intents < HEALTH_INTENTS_MAX; i++) {
		const struct rentry *e = &rn->e[i];
		enum health_state s = published ? e->pub_state : e->state;
		if (s == HEALTH_NOT_SELECTED || (!published && e->removing))
			continue; /* not out yet, or going */
		r->intents[r->n_intents++] =
		        (struct health_intent){INTENT_APP,
		                               {e->name, (uint32_t)strlen(e->name)},
		                               published ? e->pub_version : e->version,
		                               s};
	}
}

void sim_rollout_published(struct sim_rollout *ro, uint32_t node)
{
	struct rnode *rn = &ro->nodes[node];
	for (uint32_t i = 0; i < rn->n; i++) {
		struct rentry *e = &rn->e[i];
		e->pub_state = e->removing ? HEALTH_NOT_SELECTED : e->state;
		e->pub_version = e->version;
		struct rintent *x = e->index < ro->nin ? &ro->in[e->index] : NULL;
		bool settled = e->state == HEALTH_READY || e->state == HEALTH_FAILED;
		if (x == NULL || x->flag == NULL || !settled || e->removing ||
		    e->version != x->pub.version || (x->flag[node] & (F_SEL | F_OWN)) != F_SEL)
			continue;
		x->flag[node] |= F_OWN | (e->state == HEALTH_READY ? F_READY : 0);
		reached(ro, x, SIM_ROLLOUT_OWN, node);
		if (e->state == HEALTH_READY)
			x->pub.own_ready++;
		else
			x->pub.own_failed++;
		check(ro, x, x->pub.own_ready + x->pub.own_failed, F_OWN, &x->pub.own_at);
	}
}

/* ---- the observer's table ------------------------------------------------------------ */

void sim_rollout_observed(struct sim_rollout *ro, uint32_t site, const uint8_t *env, size_t len)
{
	const uint8_t *body, *sig;
	uint32_t body_len;
	struct health_record *r = ro->scratch;
	if (site >= ro->n || health_envelope_split(env, len, &body, &body_len, &sig) != 0 ||
	    health_body_decode(body, body_len, r) != 0)
		return;
	for (uint32_t i = 0; i < r->n_intents; i++) {
		const struct health_intent *hi = &r->intents[i];
		char name[INTENT_NAME_MAX + 1];
		if (hi->kind != INTENT_APP || hi->name.len > INTENT_NAME_MAX)
			continue;
		memcpy(name, hi->name.s, hi->name.len);
		name[hi->name.len] = '\0';
		uint32_t index = sim_items_index(ro->items, name);
		if (index == UINT32_MAX || index >= ro->nin || ro->in[index].flag == NULL)
			continue;
		struct rintent *x = &ro->in[index];
		if (!(x->flag[site] & F_SEL)) {
			ro->unselected_listed++;
			continue;
		}
		bool settled = hi->state == HEALTH_READY || hi->state == HEALTH_FAILED;
		if (!settled || hi->version != x->pub.version || (x->flag[site] & F_OBS))
			continue;
		x->flag[site] |= F_OBS;
		reached(ro, x, SIM_ROLLOUT_OBS, site);
		if (hi->state == HEALTH_READY)
			x->pub.obs_ready++;
		else
			x->pub.obs_failed++;
		check(ro, x, x->pub.obs_ready + x->pub.obs_failed, F_OBS, &x->pub.obs_at);
	}
}

/* ---- results ---------------------------------------------------------------------------- */

uint32_t sim_rollout_count(const struct sim_rollout *ro)
{
	return ro->nin;
}

const struct sim_rollout_intent *sim_rollout_get(const struct sim_rollout *ro, uint32_t i)
{
	return i < ro->nin ? &ro->in[i].pub : NULL;
}

uint32_t sim_rollout_site_ms(const struct sim_rollout *ro, uint32_t i, int step, uint32_t node)
{
	if (i >= ro->nin || ro->in[i].ms == NULL || node >= ro->n || step < 0 ||
	    step >= SIM_ROLLOUT_STEPS || !(ro->in[i].flag[node] & F_SEL))
		return UINT32_MAX;
	return ro->in[i].ms[(size_t)step * ro->n + node];
}

uint64_t sim_rollout_unselected_listed(const struct sim_rollout *ro)
{
	return ro->unselected_listed;
}

uint64_t sim_rollout_refused(const struct sim_rollout *ro)
{
	return ro->refused;
}

/* ---- the report ------------------------------------------------------------------------ */

static uint64_t step_at(const struct sim_rollout_intent *x, int step)
{
	return step == SIM_ROLLOUT_HELD  ? x->held_at
	       : step == SIM_ROLLOUT_OWN ? x->own_at
	                                 : x->obs_at;
}

/* Records published in [from, to), absolute us. */
static uint32_t pubs_between(const struct sim_health *h, uint64_t from, uint64_t to)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < sim_health_count_pubs(h); i++) {
		const struct sim_health_pub *p = sim_health_pub(h, i);
		k += p->at >= from && p->at < to;
	}
	return k;
}

static void burst(const struct sim_rollout *ro, uint64_t t0, struct sim_rollout_result *out)
{
	uint64_t now = sim_cluster_now(ro->c), first = UINT64_MAX, last = 0;
	uint64_t bytes_first = 0, bytes_last = 0;
	for (uint32_t i = 0; i < ro->nin; i++) {
		const struct sim_rollout_intent *x = &ro->in[i].pub;
		if (ro->in[i].flag == NULL)
			continue;
		if (x->put_at < first) {
			first = x->put_at;
			bytes_first = x->bytes_at_put;
		}
		uint64_t end = x->obs_at != UINT64_MAX ? x->obs_at : now;
		if (end >= last) {
			last = end;
			bytes_last = x->obs_at != UINT64_MAX ? x->bytes_at_obs
			                                     : sim_health_bytes_total(ro->health);
		}
	}
	if (first == UINT64_MAX || ro->health == NULL)
		return;
	out->steady_s = (double)(first - t0) / 1e6;
	out->burst_s = (double)(last - first) / 1e6;
	out->steady_pubs = pubs_between(ro->health, t0, first);
	out->burst_pubs = pubs_between(ro->health, first, last);
	if (out->steady_s > 0) {
		out->steady_pubs_s = out->steady_pubs / out->steady_s;
		out->steady_bytes = (double)bytes_first / ro->n / out->steady_s;
	}
	if (out->burst_s > 0) {
		out->burst_pubs_s = out->burst_pubs / out->burst_s;
		out->burst_bytes = (double)(bytes_last - bytes_first) / ro->n / out->burst_s;
	}
}

int sim_rollout_collect(const struct sim_rollout *ro, uint64_t t0, struct sim_rollout_result *out)
{
	memset(out, 0, sizeof(*out));
	out->observer = ro->cfg.observer;
	out->unselected_listed = ro->unselected_listed;
	out->refused = ro->refused;
	double *v = malloc(((ro->n > ro->nin ? ro->n : ro->nin) + 1) * sizeof(*v));
	out->row = calloc(ro->nin + 1, sizeof(*out->row));
	if (v == NULL || out->row == NULL) {
		free(v);
		sim_rollout_result_free(out);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < ro->nin; i++) {
		const struct rintent *x = &ro->in[i];
		if (x->flag == NULL)
			continue;
		struct sim_rollout_row *w = &out->row[out->nrows++];
		w->at_us = x->pub.put_at - t0;
		w->selected = x->pub.selected;
		w->held = x->pub.held;
		w->own_ready = x->pub.own_ready;
		w->own_failed = x->pub.own_failed;
		w->obs_ready = x->pub.obs_ready;
		w->obs_failed = x->pub.obs_failed;
		for (int step = 0; step < SIM_ROLLOUT_STEPS; step++) {
			uint64_t at = step_at(&x->pub, step);
			w->all_s[step] = at == UINT64_MAX ? -1 : (double)(at - x->pub.put_at) / 1e6;
			uint32_t k = 0;
			for (uint32_t node = 0; node < ro->n; node++) {
				uint32_t ms = sim_rollout_site_ms(ro, i, step, node);
				if (ms != UINT32_MAX)
					v[k++] = ms / 1e3;
			}
			w->reached[step] = k;
			sim_dist_of(v, k, &w->site[step]);
		}
	}
	for (int step = 0; step < SIM_ROLLOUT_STEPS; step++) {
		uint32_t k = 0;
		for (uint32_t i = 0; i < out->nrows; i++)
			if (out->row[i].all_s[step] >= 0)
				v[k++] = out->row[i].all_s[step];
		out->all_n[step] = k;
		sim_dist_of(v, k, &out->all[step]);
	}
	free(v);
	burst(ro, t0, out);
	return 0;
}

void sim_rollout_result_free(struct sim_rollout_result *out)
{
	free(out->row);
	out->row = NULL;
	out->nrows = 0;
}
