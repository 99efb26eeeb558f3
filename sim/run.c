/*
 * run.c - playing a scenario on a simulated cluster and measuring it.
 *
 * The loop advances the engine to the next thing the harness must do (a
 * timeline action, a churn tick, a churned node's restart, a per-second
 * sample, the end) and does it; the harness's own choices (which nodes a
 * kill picks, label draws) come from a scenario stream of the run seed, so
 * a run replays exactly.
 *
 * Detection is measured two ways. Swim events give exact times of the first
 * suspicion and first death anywhere. Agreement ("every live node holds the
 * victim dead") is a property of all views at once, so it is checked once a
 * virtual second by looking the victim up in every live node (a node with no
 * record of it counts as agreeing: after reaping, or a node that joined
 * later); the time reported is that of the last DEAD event before the check
 * that confirmed it, so it is exact when the events tell the whole story.
 *
 * A false positive is a SUSPECT or DEAD event about a member that is up and
 * running the incarnation it is accused at. It counts as "healthy" unless
 * the member is in a slow window or a partition is in force, which are
 * counted apart.
 */
#include "run.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "items.h"
#include "rollout.h"
#include "shoal/error.h"
#include "shoal/health.h"
#include "shoal/intent_store.h"
#include "shoal/leaf.h"

#define SCENARIO_STREAM SIM_RNG_STREAM(6, 0) /* the harness's own draws */
#define LEAF_STREAM     SIM_RNG_STREAM(6, 1) /* which sites are leaves */

/* A leaf's member record says so (docs/health.md, "Leaf mode"). */
static const struct shoal_label leaf_labels[] = {{SHOAL_ROLE_LABEL, SHOAL_ROLE_LEAF}};

struct churn {
	uint64_t next;     /* next tick */
	uint64_t end;      /* no ticks at or after this */
	uint64_t interval; /* between ticks */
	uint64_t down;     /* how long a victim stays down */
	bool leave;        /* leave instead of crash */
};

struct pending_restart {
	uint64_t at;   /* when (absolute virtual us) */
	uint32_t node; /* who */
};

struct run {
	const struct sim_scenario *sc;
	struct sim_run_result *r;
	struct sim_cluster *c;
	struct sim_rng rng;
	uint32_t n;
	uint64_t t0;                   /* absolute virtual time of run start */
	uint8_t *label_value;          /* [n * nlabels] value index per label key */
	int32_t *open_fault;           /* [n] index of the victim's open fault, -1 */
	uint32_t *life_inc;            /* [n] incarnation of the current life */
	uint64_t *slow_until;          /* [n] absolute end of the slow window */
	uint64_t *up_since;            /* [n] absolute start of the current up time, 0 = down */
	uint64_t *down_at;             /* [n] absolute time it last went down */
	uint64_t *restarted_at;        /* [n] absolute time of the last restart, 0 = never */
	uint64_t grace_us;             /* how long after a restart accusations are not false */
	uint8_t *fp_flags;             /* [n] bit 0 ever falsely suspected, bit 1 dead */
	uint32_t *accused;             /* [n] 1 + incarnation last falsely suspected, 0 = never */
	uint32_t *accused_dead;        /* [n] 1 + incarnation last falsely declared dead */
	uint32_t *scratch;             /* [n] picks */
	struct sim_net_counters *base; /* [n] counters at run start */
	bool partitioned;              /* a partition is in force */
	struct churn churn[16];        /* churn processes */
	uint32_t nchurn;
	struct pending_restart *restarts; /* sorted by (at, node) insertion */
	uint32_t nrestarts, restarts_alloc;
	struct sim_items *items;     /* replicated items, if the timeline puts any */
	struct sim_health *health;   /* health records, if the scenario asks */
	struct sim_rollout *rollout; /* sites applying App intents, if the scenario asks */
	struct shoal_label *labels;  /* [n * nlabels] each node's labels, for the rollout */
	bool *leaf;                  /* [n] leaf sites (health.leaves) */
	uint32_t nleaves;
	double up_us;                 /* accumulated up time (us) */
	struct sim_net_counters prev; /* totals at the previous sample */
};

static uint64_t rel(const struct run *R, uint64_t abs_us)
{
	return abs_us - R->t0;
}

/* ---- events --------------------------------------------------------------- */

static void observe(void *ctx, uint32_t node, uint64_t now, const struct swim_event *ev)
{
	struct run *R = ctx;
	struct sim_run_result *r = R->r;
	if (ev->type == SWIM_EV_REFUTED) {
		r->refutations++;
		return;
	}
	if (ev->type == SWIM_EV_ALIVE && ev->name != NULL) {
		uint32_t a = sim_cluster_find(R->c, ev->name);
		if (a != SIM_NO_NODE && sim_cluster_state(R->c, a) == SIM_NODE_DOWN) {
			r->revived_events++;
			if (now - R->down_at[a] > r->revived_last_us)
				r->revived_last_us = now - R->down_at[a];
		}
		return;
	}
	if (ev->type != SWIM_EV_SUSPECT && ev->type != SWIM_EV_DEAD && ev->type != SWIM_EV_LEFT)
		return;
	if (ev->name == NULL)
		return;
	uint32_t m = sim_cluster_find(R->c, ev->name);
	if (m == SIM_NO_NODE || m == node)
		return;
	int32_t fi = R->open_fault[m];
	if (fi >= 0) {
		struct sim_fault *f = &r->fault[fi];
		uint64_t t = rel(R, now);
		if (ev->type == SWIM_EV_SUSPECT && f->first_suspect == UINT64_MAX)
			f->first_suspect = t;
		bool gone = f->leave ? ev->type == SWIM_EV_LEFT
		                     : (ev->type == SWIM_EV_DEAD || ev->type == SWIM_EV_LEFT);
		if (gone) {
			if (f->first_gone == UINT64_MAX)
				f->first_gone = t;
			f->last_gone = t;
		}
		return;
	}
	if (ev->type == SWIM_EV_LEFT)
		return;
	enum sim_node_state st = sim_cluster_state(R->c, m);
	if (st != SIM_NODE_UP || ev->incarnation < R->life_inc[m])
		return; /* about a crashed/leaving member or an older life: not false */
	bool dead = ev->type == SWIM_EV_DEAD;
	if (R->restarted_at[m] != 0 && now - R->restarted_at[m] < R->grace_us) {
		/* A probe that began before the restart ended after it, under
		 * the incarnation the member just announced: counted apart. */
		if (dead)
			r->restarting_dead_events++;
		else
			r->restarting_suspect_events++;
	} else if (R->partitioned) {
		if (dead)
			r->partition_dead_events++;
		else
			r->partition_suspect_events++;
	} else if (R->slow_until[m] > now) {
		if (dead)
			r->slowed_dead_events++;
		else
			r->slowed_suspect_events++;
	} else if (dead) {
		r->fp_dead_events++;
		if (R->accused_dead[m] != ev->incarnation + 1)
			r->fp_dead_accusations++;
		R->accused_dead[m] = ev->incarnation + 1;
		if (!(R->fp_flags[m] & 2))
			r->fp_dead_nodes++;
		R->fp_flags[m] |= 2;
	} else {
		r->fp_suspect_events++;
		if (R->accused[m] != ev->incarnation + 1)
			r->fp_accusations++;
		R->accused[m] = ev->incarnation + 1;
		if (!(R->fp_flags[m] & 1))
			r->fp_suspected_nodes++;
		R->fp_flags[m] |= 1;
	}
}

/* ---- node lifecycle ------------------------------------------------------- */

static bool is_up(const struct run *R, uint32_t i)
{
	return sim_cluster_state(R->c, i) == SIM_NODE_UP;
}

static void mark_down(struct run *R, uint32_t i)
{
	uint64_t now = sim_cluster_now(R->c);
	if (R->up_since[i] != 0)
		R->up_us += (double)(now - R->up_since[i]);
	R->up_since[i] = 0;
	R->down_at[i] = now;
}

static void mark_up(struct run *R, uint32_t i)
{
	struct swim *s = sim_cluster_swim(R->c, i);
	R->life_inc[i] = s != NULL ? swim_incarnation(s) : 0;
	R->up_since[i] = sim_cluster_now(R->c);
}

static void open_fault(struct run *R, uint32_t victim, bool leave)
{
	struct sim_run_result *r = R->r;
	if (r->nfaults == SIM_RUN_FAULTS_MAX) {
		r->faults_dropped++;
		return;
	}
	struct sim_fault *f = &r->fault[r->nfaults];
	memset(f, 0, sizeof(*f));
	f->victim = victim;
	f->leave = leave;
	f->open = true;
	f->at = rel(R, sim_cluster_now(R->c));
	f->first_suspect = f->first_gone = f->last_gone = f->agree = UINT64_MAX;
	if (r->nfaults < SIM_RUN_CURVES) {
		f->curve = calloc(SIM_RUN_CURVE_SECS, sizeof(float));
		/* Without memory the curve is simply not kept. */
	}
	R->open_fault[victim] = (int32_t)r->nfaults++;
}

static void close_fault(struct run *R, uint32_t victim)
{
	int32_t fi = R->open_fault[victim];
	if (fi >= 0)
		R->r->fault[fi].open = false;
	R->open_fault[victim] = -1;
}

static int do_kill(struct run *R, uint32_t i, bool leave)
{
	int rc = leave ? sim_cluster_leave(R->c, i) : sim_cluster_kill(R->c, i);
	if (rc != 0) {
		R->r->swim_errors++;
		return rc;
	}
	mark_down(R, i);
	close_fault(R, i); /* an older fault about it is superseded */
	open_fault(R, i, leave);
	return 0;
}

static int do_restart(struct run *R, uint32_t i)
{
	enum sim_node_state st = sim_cluster_state(R->c, i);
	if (st == SIM_NODE_UP || st == SIM_NODE_LEAVING)
		return 0;
	int32_t fi = R->open_fault[i];
	if (fi >= 0 && R->r->fault[fi].open)
		R->r->fault[fi].restarted = true;
	close_fault(R, i);
	int rc = sim_cluster_restart(R->c, i, NULL, 0);
	if (rc != 0) {
		R->r->swim_errors++;
		return rc;
	}
	mark_up(R, i);
	R->restarted_at[i] = sim_cluster_now(R->c);
	return 0;
}

/* ---- picking nodes -------------------------------------------------------- */

static int label_index(const struct sim_scenario *sc, const char *key)
{
	for (uint32_t k = 0; k < sc->nlabels; k++)
		if (strcmp(sc->labels[k].key, key) == 0)
			return (int)k;
	return -1;
}

static bool label_matches(const struct run *R, uint32_t i, const struct sim_sc_action *a)
{
	if (a->key[0] == '\0')
		return true;
	int k = label_index(R->sc, a->key);
	if (k < 0)
		return false;
	const struct sim_sc_label *l = &R->sc->labels[k];
	uint8_t v = R->label_value[(size_t)i * R->sc->nlabels + (size_t)k];
	return strcmp(l->value[v], a->value) == 0;
}

/* Fill R->scratch with the nodes the action names, among those for which
 * want(state) holds; returns how many. */
static uint32_t pick(struct run *R, const struct sim_sc_action *a, bool want_down)
{
	uint32_t n = 0;
	if (a->node != SIM_NO_NODE) {
		if (a->node >= R->n) /* --nodes made the cluster smaller */
			return 0;
		enum sim_node_state st = sim_cluster_state(R->c, a->node);
		bool down = st == SIM_NODE_DOWN;
		if (down == want_down && st != SIM_NODE_IDLE && st != SIM_NODE_LEAVING)
			R->scratch[n++] = a->node;
		return n;
	}
	for (uint32_t i = 0; i < R->n; i++) {
		enum sim_node_state st = sim_cluster_state(R->c, i);
		bool ok = want_down ? st == SIM_NODE_DOWN : st == SIM_NODE_UP;
		if (ok && label_matches(R, i, a))
			R->scratch[n++] = i;
	}
	if (a->all)
		return n;
	uint32_t want = a->count;
	if (want == 0)
		want = (uint32_t)llround(a->fraction * (double)n);
	if (want > n)
		want = n;
	/* Partial Fisher-Yates: the first `want` entries are a uniform pick. */
	for (uint32_t i = 0; i < want; i++) {
		uint32_t j = i + (uint32_t)sim_rng_below(&R->rng, n - i);
		uint32_t t = R->scratch[i];
		R->scratch[i] = R->scratch[j];
		R->scratch[j] = t;
	}
	return want;
}

/* ---- actions ------------------------------------------------------------- */

static int add_restart(struct run *R, uint64_t at, uint32_t node)
{
	if (R->nrestarts == R->restarts_alloc) {
		uint32_t alloc = R->restarts_alloc ? R->restarts_alloc * 2 : 64;
		if (alloc > (1u << 20))
			return SHOAL_E_TOO_BIG;
		struct pending_restart *p = realloc(R->restarts, alloc * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		R->restarts = p;
		R->restarts_alloc = alloc;
	}
	/* Keep sorted by time; equal times keep insertion order. */
	uint32_t k = R->nrestarts;
	while (k > 0 && R->restarts[k - 1].at > at) {
		R->restarts[k] = R->restarts[k - 1];
		k--;
	}
	R->restarts[k] = (struct pending_restart){.at = at, .node = node};
	R->nrestarts++;
	return 0;
}

static void do_partition(struct run *R, const struct sim_sc_action *a)
{
	struct sim_net *net = sim_cluster_net(R->c);
	if (a->key[0] != '\0') {
		int k = label_index(R->sc, a->key);
		for (uint32_t i = 0; i < R->n; i++)
			sim_net_set_group(net, i,
			                  R->label_value[(size_t)i * R->sc->nlabels + (size_t)k]);
	} else if (a->groups >= 2) {
		for (uint32_t i = 0; i < R->n; i++)
			sim_net_set_group(net, i, (uint16_t)sim_rng_below(&R->rng, a->groups));
	} else {
		/* An isolated fraction: group 1, the rest stays in 0. */
		uint32_t want = (uint32_t)llround(a->fraction * (double)R->n);
		for (uint32_t i = 0; i < R->n; i++)
			R->scratch[i] = i;
		for (uint32_t i = 0; i < want && i < R->n; i++) {
			uint32_t j = i + (uint32_t)sim_rng_below(&R->rng, R->n - i);
			uint32_t t = R->scratch[i];
			R->scratch[i] = R->scratch[j];
			R->scratch[j] = t;
			sim_net_set_group(net, R->scratch[i], 1);
		}
	}
	R->partitioned = true;
}

static int do_action(struct run *R, const struct sim_sc_action *a)
{
	uint64_t now = sim_cluster_now(R->c);
	uint32_t k;
	switch (a->kind) {
	case SIM_ACT_KILL:
	case SIM_ACT_LEAVE:
		k = pick(R, a, false);
		if (k == 0)
			R->r->actions_skipped++;
		for (uint32_t i = 0; i < k; i++)
			do_kill(R, R->scratch[i], a->kind == SIM_ACT_LEAVE);
		return 0;
	case SIM_ACT_RESTART:
		k = pick(R, a, true);
		if (k == 0)
			R->r->actions_skipped++;
		for (uint32_t i = 0; i < k; i++)
			do_restart(R, R->scratch[i]);
		return 0;
	case SIM_ACT_PARTITION:
		do_partition(R, a);
		return 0;
	case SIM_ACT_HEAL:
		sim_net_heal(sim_cluster_net(R->c));
		R->partitioned = false;
		return 0;
	case SIM_ACT_LOSS:
		sim_net_set_loss(sim_cluster_net(R->c), a->loss);
		return 0;
	case SIM_ACT_SLOW:
		k = pick(R, a, false);
		if (k == 0)
			R->r->actions_skipped++;
		for (uint32_t i = 0; i < k; i++) {
			sim_net_slow(sim_cluster_net(R->c), R->scratch[i], a->extra_us,
			             now + a->for_us);
			R->slow_until[R->scratch[i]] = now + a->for_us;
		}
		return 0;
	case SIM_ACT_INTENT: {
		struct sim_sc_action one = *a;
		one.count = 1;
		if (R->items == NULL || pick(R, &one, false) == 0 ||
		    sim_items_submit_to(R->items, R->scratch[0], a->intent_kind, a->size,
		                        a->target[0] != '\0' ? a->target : SIM_ITEMS_TARGET,
		                        NULL) != 0)
			R->r->actions_skipped++;
		return 0;
	}
	case SIM_ACT_CHURN:
		if (R->nchurn == sizeof(R->churn) / sizeof(R->churn[0]))
			return SHOAL_E_TOO_BIG;
		R->churn[R->nchurn++] = (struct churn){
		        .next = now,
		        .end = now + a->for_us,
		        .interval = a->interval_us,
		        .down = a->down_us,
		        .leave = a->leave,
		};
		return 0;
	}
	return 0;
}

static int churn_tick(struct run *R, struct churn *ch)
{
	uint64_t now = sim_cluster_now(R->c);
	struct sim_sc_action any = {.count = 1, .node = SIM_NO_NODE};
	ch->next = now + ch->interval;
	if (pick(R, &any, false) == 0) {
		R->r->actions_skipped++;
		return 0;
	}
	uint32_t v = R->scratch[0];
	if (do_kill(R, v, ch->leave) != 0)
		return 0;
	/* A leaving node lingers; restart it only once it has stopped. */
	uint64_t down = ch->down;
	if (ch->leave) {
		uint64_t linger = SIM_SEC(1);
		struct swim *s = sim_cluster_swim(R->c, v);
		if (s != NULL)
			linger = swim_leave_linger_us(s);
		if (down < linger + 1)
			down = linger + 1;
	}
	return ch->down > 0 || ch->leave ? add_restart(R, now + down, v) : 0;
}

/* ---- sampling ------------------------------------------------------------ */

static void scan_fault(struct run *R, struct sim_fault *f)
{
	uint32_t live = 0, gone = 0;
	for (uint32_t i = 0; i < R->n; i++) {
		struct swim_member_info mi;
		if (i == f->victim || !is_up(R, i))
			continue;
		live++;
		int rc = sim_cluster_view(R->c, i, f->victim, &mi);
		if (rc != 0 || mi.state == SWIM_DEAD || mi.state == SWIM_LEFT)
			gone++;
	}
	uint64_t t = rel(R, sim_cluster_now(R->c));
	uint64_t sec = (t - f->at) / SIM_SEC(1);
	if (f->curve != NULL && sec >= 1 && sec <= SIM_RUN_CURVE_SECS) {
		f->curve[sec - 1] = live > 0 ? (float)gone / (float)live : 1.0f;
		f->ncurve = (uint32_t)sec;
	}
	if (gone == live) {
		f->agree = f->last_gone != UINT64_MAX ? f->last_gone : t;
		f->open = false;
		R->open_fault[f->victim] = -1;
	}
}

static int take_sample(struct run *R)
{
	struct sim_run_result *r = R->r;
	if (r->nsamples == SIM_RUN_SAMPLES_MAX)
		return 0;
	struct sim_sample *s = &r->sample[r->nsamples++];
	memset(s, 0, sizeof(*s));
	s->t_us = rel(R, sim_cluster_now(R->c));
	double sum[4] = {0, 0, 0, 0};
	for (uint32_t i = 0; i < R->n; i++) {
		struct swim *sw = sim_cluster_swim(R->c, i);
		if (sw == NULL)
			continue;
		uint32_t counts[4];
		swim_member_counts(sw, counts);
		for (int k = 0; k < 4; k++)
			sum[k] += counts[k];
		s->up++;
	}
	if (s->up > 0) {
		s->alive = sum[SWIM_ALIVE] / s->up;
		s->suspect = sum[SWIM_SUSPECT] / s->up;
		s->dead = sum[SWIM_DEAD] / s->up;
		s->left = sum[SWIM_LEFT] / s->up;
	}
	struct sim_net_counters tot;
	sim_net_totals(sim_cluster_net(R->c), &tot);
	s->dgrams = tot.dgrams_sent - R->prev.dgrams_sent;
	s->dgram_bytes = tot.dgram_bytes_sent - R->prev.dgram_bytes_sent;
	s->stream_bytes = tot.stream_bytes_sent - R->prev.stream_bytes_sent;
	R->prev = tot;
	for (uint32_t i = 0; i < r->nfaults; i++) {
		if (r->fault[i].open)
			scan_fault(R, &r->fault[i]);
		s->faults_open += r->fault[i].open;
	}
	if (R->items != NULL)
		sim_items_check(R->items); /* a crash may have completed a put */
	if (R->health != NULL)
		sim_health_check(R->health);
	return 0;
}

static bool has_puts(const struct sim_scenario *sc)
{
	for (uint32_t i = 0; i < sc->nactions; i++)
		if (sc->action[i].kind == SIM_ACT_INTENT)
			return true;
	return false;
}

/* The replicas' timers follow the swim profile as shoald's do: a probe
 * interval k times shorter than the default (shoald's fast profile divides
 * both by 10) divides them by k; the default one leaves them at
 * replica_config_defaults, as shoald's LAN profile does. The rest is
 * shoald's service as node/wire.c sets it:
 * the intents' 4096 anti-entropy buckets (intent_gossip.h folds the store's
 * own) and bodies up to the larger of an intent's and a health record's
 * envelope. */
static void replica_cfg_for(const struct swim_config *swim, struct replica_config *out)
{
	struct swim_config lan;
	swim_config_defaults(&lan);
	replica_config_defaults(out);
	if (swim->probe_interval_us > 0 && swim->probe_interval_us < lan.probe_interval_us)
		replica_config_scale(out,
		                     (uint32_t)(lan.probe_interval_us / swim->probe_interval_us));
	out->ae_buckets = INTENT_BUCKETS;
	out->body_max = INTENT_ENVELOPE_MAX > HEALTH_ENVELOPE_MAX ? INTENT_ENVELOPE_MAX
	                                                          : HEALTH_ENVELOPE_MAX;
}

/* Copy what the intents did into the result. */
static int collect_puts(struct run *R)
{
	struct sim_run_result *r = R->r;
	uint32_t n = sim_items_count(R->items), k = 0;
	double delivered = 0;
	/* The counters serve the health report too, which may have no puts. */
	sim_items_stats(R->items, &r->put_stats);
	if (n == 0)
		return 0;
	double *ratio = calloc(R->n, sizeof(*ratio));
	if ((r->put = calloc(n, sizeof(*r->put))) == NULL || ratio == NULL) {
		free(ratio);
		return -ENOMEM;
	}
	r->nputs = n;
	for (uint32_t i = 0; i < n; i++) {
		const struct sim_item *x = sim_items_get(R->items, i);
		r->put[i] = (struct sim_put){
		        .origin = x->origin,
		        .size = x->size,
		        .env_len = x->env_len,
		        .at = rel(R, x->put_at),
		        .all_us = x->all_at == UINT64_MAX ? UINT64_MAX : x->all_at - x->put_at,
		        .holders = x->holders,
		        .completed_by = x->completed_by,
		        .last_node = x->last_node,
		        .last_us = x->last_node == SIM_NO_NODE ? 0 : x->last_at - x->put_at,
		};
		delivered += (double)x->env_len * (double)(x->holders > 0 ? x->holders - 1 : 0);
	}
	for (uint32_t i = 0; i < R->n; i++) {
		uint64_t c = sim_items_committed_bytes(R->items, i);
		if (c > 0)
			ratio[k++] = (double)sim_items_body_bytes(R->items, i) / (double)c;
	}
	sim_dist_of(ratio, k, &r->put_node_ratio);
	free(ratio);
	r->put_body_bytes = sim_items_body_bytes_total(R->items);
	r->put_body_ratio = delivered > 0 ? (double)r->put_body_bytes / delivered : 0;
	r->put_rejected = sim_items_rejected(R->items);
	r->put_mismatched = sim_items_mismatched(R->items);
	r->put_store_bytes = sim_items_store_bytes(R->items);
	uint32_t nc;
	const struct sim_catchup *cu = sim_items_catchups(R->items, &nc, &r->put_restarts);
	if (nc > 0 && (r->put_catchup = calloc(nc, sizeof(*r->put_catchup))) == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < nc; i++)
		r->put_catchup[r->nput_catchups++] = (struct sim_put_catchup){
		        .node = cu[i].node,
		        .at = rel(R, cu[i].at),
		        .missed = cu[i].missed,
		        .took_us = cu[i].caught_up == UINT64_MAX ? UINT64_MAX
		                                                 : cu[i].caught_up - cu[i].at,
		        .last_intent = cu[i].last_intent,
		};
	return 0;
}

/* Per node per second: health bytes sent, received, announcement bytes
 * received, over the leaves (leaf) or the full nodes; into d[0..2]. */
static void leaf_bytes(struct run *R, bool intents, bool leaf, double *v, struct sim_dist *d)
{
	double secs = (double)R->r->duration_us / 1e6;
	uint64_t shared = intents ? 0 : 1;
	for (int which = 0; which < 3; which++) {
		uint32_t k = 0;
		for (uint32_t i = 0; i < R->n; i++) {
			struct sim_health_bytes s, rv;
			if (R->leaf[i] != leaf)
				continue;
			sim_health_node_bytes(R->health, i, &s, &rv);
			const struct sim_health_bytes *b = which == 0 ? &s : &rv;
			uint64_t x = b->announce;
			if (which < 2)
				x += b->pull + b->ae_list + shared * b->ae_other;
			v[k++] = (double)x / secs;
		}
		sim_dist_of(v, k, &d[which]);
	}
}

/* All traffic the net counted (membership and health), sent and received
 * per node per second, over the leaves (leaf) or the full nodes. */
static void leaf_traffic(struct run *R, bool leaf, double *v, struct sim_dist *sent,
                         struct sim_dist *recv)
{
	struct sim_net *net = sim_cluster_net(R->c);
	double secs = (double)R->r->duration_us / 1e6;
	for (int which = 0; which < 2; which++) {
		uint32_t k = 0;
		for (uint32_t i = 0; i < R->n; i++) {
			const struct sim_net_counters *c = sim_net_counters(net, i),
			                              *b = &R->base[i];
			if (R->leaf[i] != leaf)
				continue;
			uint64_t x = which == 0
			                     ? c->dgram_bytes_sent - b->dgram_bytes_sent +
			                               c->stream_bytes_sent - b->stream_bytes_sent
			                     : c->dgram_bytes_recv - b->dgram_bytes_recv +
			                               c->stream_bytes_recv - b->stream_bytes_recv;
			v[k++] = (double)x / secs;
		}
		sim_dist_of(v, k, which == 0 ? sent : recv);
	}
}

/* Publishes of leaves (or of full sites): how many, how many reached every
 * live full node, and how long that took. */
static uint32_t leaf_pubs(struct run *R, bool leaf, double *v, uint32_t *reached,
                          struct sim_dist *d)
{
	uint32_t n = sim_health_count_pubs(R->health), all = 0, k = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct sim_health_pub *p = sim_health_pub(R->health, i);
		if (R->leaf[p->site] != leaf)
			continue;
		all++;
		if (p->all_at != UINT64_MAX)
			v[k++] = (double)(p->all_at - p->at) / 1e6;
	}
	*reached = k;
	sim_dist_of(v, k, d);
	return all;
}

/* What leaves changed: bytes of leaves and full nodes apart, the records'
 * spread to the full nodes, what leaves' tables hold. */
static int collect_leaves(struct run *R, bool intents)
{
	struct sim_run_result *r = R->r;
	uint32_t n = sim_health_count_pubs(R->health);
	double *v = calloc((n > R->n ? n : R->n) + 1, sizeof(*v)), held = 0;
	struct sim_dist full[3], leaf[3];
	if (v == NULL)
		return -ENOMEM;
	r->hleaf.leaves = R->nleaves;
	leaf_bytes(R, intents, false, v, full);
	leaf_bytes(R, intents, true, v, leaf);
	r->hleaf.sent_full = full[0];
	r->hleaf.recv_full = full[1];
	r->hleaf.recv_ann_full = full[2];
	r->hleaf.sent_leaf = leaf[0];
	r->hleaf.recv_leaf = leaf[1];
	r->hleaf.recv_ann_leaf = leaf[2];
	leaf_traffic(R, false, v, &r->hleaf.all_sent_full, &r->hleaf.all_recv_full);
	leaf_traffic(R, true, v, &r->hleaf.all_sent_leaf, &r->hleaf.all_recv_leaf);
	for (uint32_t i = 0; i < R->n; i++) {
		struct sim_health_bytes s, rv;
		sim_health_node_bytes(R->health, i, &s, &rv);
		uint32_t count = sim_health_held(R->health, i);
		if (R->leaf[i]) {
			r->hleaf.ann_msgs_leaf += rv.announce_msgs;
			if (count > r->hleaf.held_leaf_max)
				r->hleaf.held_leaf_max = count;
		} else {
			r->hleaf.ann_msgs_full += rv.announce_msgs;
			held += count;
		}
	}
	r->hleaf.held_full_mean = held / (R->n - R->nleaves);
	r->hleaf.pubs_full = leaf_pubs(R, false, v, &r->hleaf.reached_full, &r->hleaf.prop_full);
	r->hleaf.pubs_leaf = leaf_pubs(R, true, v, &r->hleaf.reached_leaf, &r->hleaf.prop_leaf);
	r->hleaf.foreign = sim_health_leaf_foreign(R->health);
	r->hleaf.refused = sim_health_leaf_refused(R->health);
	free(v);
	return 0;
}

/* Copy what the health records did into the result. */
static int collect_health(struct run *R, bool intents)
{
	struct sim_run_result *r = R->r;
	uint32_t n = sim_health_count_pubs(R->health), k = 0;
	double secs = (double)r->duration_us / 1e6, env = 0, held = 0;
	double *v = calloc((n > R->n ? n : R->n) + 1, sizeof(*v));
	double *w = calloc(R->n + 1, sizeof(*w));
	double sum[4] = {0, 0, 0, 0};
	if (v == NULL || w == NULL) {
		free(v);
		free(w);
		return -ENOMEM;
	}
	r->health = true;
	r->hpubs = n;
	for (uint32_t i = 0; i < n; i++) {
		const struct sim_health_pub *p = sim_health_pub(R->health, i);
		env += p->env_len;
		r->hpubs_change += p->change;
		if (p->all_at != UINT64_MAX)
			v[k++] = (double)(p->all_at - p->at) / 1e6;
	}
	r->hpubs_reached = k;
	/* The slowest publishes (never reaching everyone counts as slowest). */
	for (uint32_t i = 0; i < n; i++) {
		const struct sim_health_pub *p = sim_health_pub(R->health, i);
		uint64_t us = p->all_at == UINT64_MAX ? UINT64_MAX : p->all_at - p->at;
		uint32_t j = r->nhslow < SIM_RUN_HSLOW ? r->nhslow++ : SIM_RUN_HSLOW;
		if (j == SIM_RUN_HSLOW && us <= r->hslow[SIM_RUN_HSLOW - 1].all_us)
			continue;
		if (j == SIM_RUN_HSLOW)
			j--;
		while (j > 0 && r->hslow[j - 1].all_us < us) {
			r->hslow[j] = r->hslow[j - 1];
			j--;
		}
		r->hslow[j].site = p->site;
		r->hslow[j].at = rel(R, p->at);
		r->hslow[j].all_us = us;
		r->hslow[j].change = p->change;
	}
	r->hrecord_bytes = n > 0 ? env / n : 0;
	sim_dist_of(v, k, &r->hprop);
	for (uint32_t i = 0; i < R->n; i++) {
		struct sim_health_bytes s, rv;
		sim_health_node_bytes(R->health, i, &s, &rv);
		uint64_t shared = intents ? 0 : 1;
		v[i] = (double)(s.announce + s.pull + s.ae_list + shared * s.ae_other) / secs;
		w[i] = (double)(rv.announce + rv.pull + rv.ae_list + shared * rv.ae_other) / secs;
		sum[0] += (double)s.announce;
		sum[1] += (double)s.pull;
		sum[2] += (double)s.ae_list;
		sum[3] += (double)s.ae_other;
		held += sim_health_held(R->health, i);
	}
	sim_dist_of(v, R->n, &r->hbytes);
	sim_dist_of(w, R->n, &r->hbytes_recv);
	r->hann = sum[0] / R->n / secs;
	r->hpull = sum[1] / R->n / secs;
	r->hae_list = sum[2] / R->n / secs;
	r->hae_other = sum[3] / R->n / secs;
	r->hrejected = sim_health_rejected(R->health);
	r->hno_key = sim_health_no_key(R->health);
	r->hconverged = sim_health_converged(R->health);
	r->hheld_mean = held / R->n;
	free(v);
	free(w);
	return R->nleaves > 0 ? collect_leaves(R, intents) : 0;
}

/* ---- setup ---------------------------------------------------------------- */

static void draw_labels(struct run *R)
{
	const struct sim_scenario *sc = R->sc;
	for (uint32_t i = 0; i < R->n; i++) {
		for (uint32_t k = 0; k < sc->nlabels; k++) {
			const struct sim_sc_label *l = &sc->labels[k];
			double u = sim_rng_double(&R->rng), acc = 0;
			uint8_t v = (uint8_t)(l->nvalues - 1);
			for (uint32_t j = 0; j < l->nvalues; j++) {
				acc += l->weight[j];
				if (u < acc) {
					v = (uint8_t)j;
					break;
				}
			}
			R->label_value[(size_t)i * sc->nlabels + k] = v;
		}
	}
}

/* health.leaves: that many sites, drawn from a stream of their own (the
 * other draws stay as they were), are leaves: their member records carry
 * the role label from the first start. The rollout's observer watches a
 * full table, so it is never one. */
static int pick_leaves(struct run *R, char *err, size_t errlen)
{
	const struct sim_scenario *sc = R->sc;
	uint32_t k = sim_scenario_leaves(sc, R->n), pool = 0;
	struct sim_rng rng;
	if (k == 0)
		return 0;
	if (k >= R->n) {
		snprintf(err, errlen, "health.leaves: %u of %u sites leave no full node", k, R->n);
		return SHOAL_E_CONFIG;
	}
	for (uint32_t i = 0; i < R->n; i++)
		if (!sc->k8s || i != sc->k8s_observer)
			R->scratch[pool++] = i;
	if (k > pool)
		k = pool;
	sim_rng_seed(&rng, R->r->seed, LEAF_STREAM);
	for (uint32_t j = 0; j < k; j++) {
		uint32_t x = j + (uint32_t)sim_rng_below(&rng, pool - j), i = R->scratch[x];
		R->scratch[x] = R->scratch[j];
		R->scratch[j] = i;
		R->leaf[i] = true;
		int rc = sim_cluster_set_start_labels(R->c, i, leaf_labels, 1);
		if (rc != 0) {
			snprintf(err, errlen, "cannot make site %u a leaf (%d)", i, rc);
			return rc;
		}
	}
	R->nleaves = k;
	return 0;
}

/* Sites apply App intents (k8s: in the scenario): each node's labels as
 * drawn, for judging targets. */
static int rollout_new(struct run *R)
{
	const struct sim_scenario *sc = R->sc;
	struct sim_rollout_config cfg = {.apply_min_ms = sc->k8s_apply_min_ms,
	                                 .apply_max_ms = sc->k8s_apply_max_ms,
	                                 .fail_rate = sc->k8s_fail_rate,
	                                 .observer = sc->k8s_observer};
	if (cfg.observer >= R->n)
		cfg.observer = 0; /* --nodes made the fleet smaller */
	R->labels = calloc((size_t)R->n * (sc->nlabels ? sc->nlabels : 1), sizeof(*R->labels));
	if (R->labels == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < R->n; i++)
		for (uint32_t k = 0; k < sc->nlabels; k++) {
			uint8_t v = R->label_value[(size_t)i * sc->nlabels + k];
			R->labels[(size_t)i * sc->nlabels + k] =
			        (struct shoal_label){sc->labels[k].key, sc->labels[k].value[v]};
		}
	int rc = sim_rollout_new(&R->rollout, R->c, &cfg);
	if (rc == 0)
		sim_rollout_set_labels(R->rollout, R->labels, sc->nlabels);
	return rc;
}

/* Links between nodes whose class label differs get the `other` latency.
 * The net keeps per-link settings in a table of at most ~2M links, which
 * bounds this to about 1.4k nodes split evenly. */
/* Latency tiers: each node's place is its value of each tier's label. */
static int set_classes(struct run *R, char *err, size_t errlen)
{
	const struct sim_scenario *sc = R->sc;
	if (sc->ntiers == 0)
		return 0;
	struct sim_net *net = sim_cluster_net(R->c);
	int rc = sim_net_set_tiers(net, sc->ntiers, sc->tier_lat, &sc->other);
	for (uint32_t t = 0; t < sc->ntiers && rc == 0; t++) {
		int k = label_index(sc, sc->tier_key[t]);
		for (uint32_t i = 0; i < R->n && rc == 0; i++)
			rc = sim_net_set_place(net, i, t,
			                       R->label_value[(size_t)i * sc->nlabels + (size_t)k]);
	}
	if (rc != 0)
		snprintf(err, errlen, "network.classes: cannot set latency tiers (%d)", rc);
	return rc;
}

static bool pred_cold(struct sim_cluster *c, void *ctx)
{
	(void)ctx;
	return sim_cluster_up_count(c) == sim_cluster_size(c) && sim_cluster_converged(c);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

void sim_dist_of(double *v, uint32_t n, struct sim_dist *d)
{
	memset(d, 0, sizeof(*d));
	if (n == 0)
		return;
	double sum = 0;
	for (uint32_t i = 0; i < n; i++)
		sum += v[i];
	qsort(v, n, sizeof(*v), cmp_double);
	d->mean = sum / n;
	d->p50 = v[(size_t)((n - 1) * 0.50)];
	d->p99 = v[(size_t)ceil((n - 1) * 0.99)];
	d->max = v[n - 1];
}

static void traffic(struct run *R)
{
	struct sim_run_result *r = R->r;
	struct sim_net *net = sim_cluster_net(R->c);
	double secs = (double)r->duration_us / 1e6;
	double *v = malloc(sizeof(double) * R->n);
	if (v == NULL)
		return;
	for (int which = 0; which < 4; which++) {
		for (uint32_t i = 0; i < R->n; i++) {
			const struct sim_net_counters *c = sim_net_counters(net, i),
			                              *b = &R->base[i];
			uint64_t x;
			switch (which) {
			case 0:
				x = c->dgrams_sent - b->dgrams_sent;
				break;
			case 1:
				x = c->dgram_bytes_sent - b->dgram_bytes_sent +
				    c->stream_bytes_sent - b->stream_bytes_sent;
				break;
			case 2:
				x = c->dgrams_recv - b->dgrams_recv;
				break;
			default:
				x = c->dgram_bytes_recv - b->dgram_bytes_recv +
				    c->stream_bytes_recv - b->stream_bytes_recv;
				break;
			}
			v[i] = (double)x / secs;
		}
		struct sim_dist *d[4] = {&r->pkts_sent, &r->bytes_sent, &r->pkts_recv,
		                         &r->bytes_recv};
		sim_dist_of(v, R->n, d[which]);
	}
	free(v);
	struct sim_net_counters tot, b0 = {0};
	sim_net_totals(net, &tot);
	for (uint32_t i = 0; i < R->n; i++) {
		b0.dgrams_sent += R->base[i].dgrams_sent;
		b0.dgram_bytes_sent += R->base[i].dgram_bytes_sent;
		b0.stream_bytes_sent += R->base[i].stream_bytes_sent;
		b0.dropped_loss += R->base[i].dropped_loss;
		b0.dropped_blocked += R->base[i].dropped_blocked;
		b0.dropped_down += R->base[i].dropped_down;
	}
	r->total_dgrams = tot.dgrams_sent - b0.dgrams_sent;
	r->total_dgram_bytes = tot.dgram_bytes_sent - b0.dgram_bytes_sent;
	r->total_stream_bytes = tot.stream_bytes_sent - b0.stream_bytes_sent;
	r->dropped_loss = tot.dropped_loss - b0.dropped_loss;
	r->dropped_blocked = tot.dropped_blocked - b0.dropped_blocked;
	r->dropped_down = tot.dropped_down - b0.dropped_down;
}

static void progress(const struct sim_run_options *o, const char *fmt, double a, double b)
{
	if (o->progress == NULL)
		return;
	fprintf(o->progress, fmt, a, b);
	fflush(o->progress);
}

/* ---- the loop ------------------------------------------------------------- */

static int play(struct run *R, const struct sim_run_options *o)
{
	const struct sim_scenario *sc = R->sc;
	uint64_t end = R->t0 + sc->duration_us;
	uint64_t next_sample = R->t0 + SIM_SEC(1);
	uint64_t next_report = R->t0 + sc->duration_us / 10;
	uint32_t ai = 0;
	double w0 = sim_wall_seconds();
	int rc;

	for (;;) {
		uint64_t now = sim_cluster_now(R->c);
		/* Everything due now, in a fixed order: restarts, churn, the
		 * timeline, then the sample (which sees their effect). */
		while (R->nrestarts > 0 && R->restarts[0].at <= now) {
			uint32_t node = R->restarts[0].node;
			memmove(R->restarts, R->restarts + 1,
			        (R->nrestarts - 1) * sizeof(*R->restarts));
			R->nrestarts--;
			do_restart(R, node);
		}
		for (uint32_t i = 0; i < R->nchurn; i++)
			while (R->churn[i].next <= now && R->churn[i].next < R->churn[i].end)
				if ((rc = churn_tick(R, &R->churn[i])) != 0)
					return rc;
		while (ai < sc->nactions && R->t0 + sc->action[ai].at <= now)
			if ((rc = do_action(R, &sc->action[ai++])) != 0)
				return rc;
		if (next_sample <= now) {
			take_sample(R);
			next_sample += SIM_SEC(1);
		}
		if (now >= next_report && now < end) {
			double w = sim_wall_seconds() - w0;
			progress(o, "  %5.1f%% of the run, %.1f wall s\n",
			         100.0 * (double)(now - R->t0) / (double)sc->duration_us, w);
			next_report += sc->duration_us / 10;
		}
		if (now >= end)
			break;
		uint64_t wake = end;
		if (next_sample < wake)
			wake = next_sample;
		if (R->nrestarts > 0 && R->restarts[0].at < wake)
			wake = R->restarts[0].at;
		for (uint32_t i = 0; i < R->nchurn; i++)
			if (R->churn[i].next < R->churn[i].end && R->churn[i].next < wake)
				wake = R->churn[i].next;
		if (ai < sc->nactions && R->t0 + sc->action[ai].at < wake)
			wake = R->t0 + sc->action[ai].at;
		sim_cluster_run_for(R->c, wake > now ? wake - now : 0);
	}
	return 0;
}

static void run_free(struct run *R)
{
	sim_items_delete(R->items);   /* before the cluster: it detaches the replicas */
	sim_health_delete(R->health); /* after the items, whose detach reaches it */
	sim_rollout_delete(R->rollout);
	free(R->labels);
	free(R->leaf);
	free(R->label_value);
	free(R->open_fault);
	free(R->life_inc);
	free(R->slow_until);
	free(R->up_since);
	free(R->down_at);
	free(R->restarted_at);
	free(R->fp_flags);
	free(R->accused);
	free(R->accused_dead);
	free(R->scratch);
	free(R->base);
	free(R->restarts);
	if (R->c != NULL)
		sim_cluster_delete(R->c);
}

int sim_run(const struct sim_scenario *sc, const struct sim_sc_variant *v,
            const struct sim_run_options *o, struct sim_run_result **out, char *err, size_t errlen)
{
	struct run R;
	struct sim_cluster_config cfg;
	struct sim_run_result *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	memset(&R, 0, sizeof(R));
	if (r == NULL)
		return -ENOMEM;
	R.sc = sc;
	R.r = r;
	R.n = o->nodes != 0 ? o->nodes : sc->nodes;
	snprintf(r->variant, sizeof(r->variant), "%s", v->name);
	r->seed = o->seed;
	r->nodes = R.n;
	r->duration_us = sc->duration_us;
	sim_rng_seed(&R.rng, o->seed, SCENARIO_STREAM);

	size_t n = R.n;
	R.label_value = calloc(n * (sc->nlabels ? sc->nlabels : 1), 1);
	R.open_fault = malloc(n * sizeof(int32_t));
	R.life_inc = calloc(n, sizeof(uint32_t));
	R.slow_until = calloc(n, sizeof(uint64_t));
	R.up_since = calloc(n, sizeof(uint64_t));
	R.down_at = calloc(n, sizeof(uint64_t));
	R.restarted_at = calloc(n, sizeof(uint64_t));
	R.fp_flags = calloc(n, 1);
	R.accused = calloc(n, sizeof(uint32_t));
	R.accused_dead = calloc(n, sizeof(uint32_t));
	R.scratch = calloc(n, sizeof(uint32_t));
	R.base = calloc(n, sizeof(*R.base));
	R.leaf = calloc(n, sizeof(*R.leaf));
	r->fault = calloc(SIM_RUN_FAULTS_MAX, sizeof(*r->fault));
	uint64_t nsamples = sc->duration_us / SIM_SEC(1) + 2;
	if (nsamples > SIM_RUN_SAMPLES_MAX)
		nsamples = SIM_RUN_SAMPLES_MAX;
	r->sample = calloc(nsamples, sizeof(*r->sample));
	if (!R.label_value || !R.open_fault || !R.life_inc || !R.slow_until || !R.up_since ||
	    !R.down_at || !R.restarted_at || !R.fp_flags || !R.accused || !R.accused_dead ||
	    !R.scratch || !R.base || !R.leaf || !r->fault || !r->sample) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		R.open_fault[i] = -1;

	double w0 = sim_wall_seconds();
	size_t heap0 = sim_heap_bytes();
	sim_cluster_config_defaults(&cfg, R.n, o->seed);
	sim_scenario_swim_config(sc, v, &cfg.swim);
	r->swim = cfg.swim;
	/* A probe lasts at most one interval stretched by the worst local
	 * health multiplier. */
	R.grace_us = cfg.swim.probe_interval_us *
	             (cfg.swim.awareness_max > 1 ? cfg.swim.awareness_max : 1);
	/* As shoald's: a member whose record says leaf takes no bulk news. */
	cfg.swim.is_quiet = shoal_labels_say_leaf;
	r->swim.name = NULL;
	r->swim.labels = NULL;
	r->swim.version = NULL;
	cfg.net.latency = sc->latency;
	/* A converged start is reached on a clean network (with loss, some
	 * node always suspects someone and "converged" never holds); the
	 * scenario's loss applies from the start of the measured run. A cold
	 * start is measured under the scenario's loss. */
	cfg.net.loss = sc->cold ? sc->loss : 0.0;
	cfg.log_mask = 0; /* the observer measures; per-node logs would cost N^2 */
	cfg.log_cap = 16;
	cfg.poll_us = R.n > 2000 ? SIM_MS(200) : SIM_MS(50);
	if ((rc = sim_cluster_new(&R.c, &cfg)) != 0) {
		snprintf(err, errlen, "cannot build a cluster of %u nodes (%d)", R.n, rc);
		goto fail;
	}
	draw_labels(&R);
	if ((rc = set_classes(&R, err, errlen)) != 0)
		goto fail;
	if (sc->k8s && (rc = rollout_new(&R)) != 0)
		goto fail;
	if ((rc = pick_leaves(&R, err, errlen)) != 0)
		goto fail;
	if (sc->health) {
		struct sim_health_config hcfg = {.changes_per_hour = sc->health_changes_per_hour,
		                                 .fresh = sc->health_fresh,
		                                 .leaf = R.nleaves > 0 ? R.leaf : NULL};
		if ((rc = sim_health_new(&R.health, R.c, &hcfg)) != 0)
			goto fail;
	}
	if (has_puts(sc) || sc->health) {
		struct replica_config rcfg;
		replica_cfg_for(&cfg.swim, &rcfg); /* as shoald's node/wire.c */
		if ((rc = sim_items_new(&R.items, R.c, &rcfg, R.health)) != 0)
			goto fail;
	}
	if (R.rollout != NULL) {
		sim_rollout_set_items(R.rollout, R.items);
		sim_rollout_set_health(R.rollout, R.health);
		sim_health_set_rollout(R.health, R.rollout);
		sim_items_set_rollout(R.items, R.rollout);
	}

	/* Start. */
	uint64_t took = 0;
	progress(o, "  starting %.0f nodes (cold start: %.0f)\n", (double)R.n,
	         sc->cold ? 1.0 : 0.0);
	if (sc->cold) {
		rc = sim_cluster_boot(R.c, sc->boot_spread_us);
		if (rc == 0)
			rc = sim_cluster_run_until(R.c, pred_cold, NULL, sc->start_timeout_us,
			                           &took);
	} else {
		rc = sim_cluster_preconverge(R.c);
	}
	r->start_ok = rc == 0;
	r->start_us = took;
	if (rc != 0 && rc != -ETIMEDOUT) {
		snprintf(err, errlen, "starting the cluster failed (%d)", rc);
		goto fail;
	}
	/* Whatever never started (a cold start that timed out) starts now. */
	for (uint32_t i = 0; i < R.n; i++)
		if (sim_cluster_state(R.c, i) == SIM_NODE_UP)
			mark_up(&R, i);
	r->pool_bytes = swim_pool_bytes(sim_cluster_pool(R.c));
	size_t heap = sim_heap_bytes() - heap0;
	size_t harness = sim_cluster_bytes(R.c);
	r->perf.heap_after_start = heap;
	size_t tables = heap > r->pool_bytes + harness ? heap - r->pool_bytes - harness : 0;
	r->perf.bytes_per_member =
	        ((double)r->pool_bytes + (double)tables) / ((double)R.n * (double)R.n);
	r->perf.wall_start_s = sim_wall_seconds() - w0;
	progress(o, "  started in %.1f virtual s, %.1f wall s\n", (double)took / 1e6,
	         r->perf.wall_start_s);

	/* Unmeasured settling: the join gossip drains. */
	if (sc->settle_us > 0) {
		progress(o, "  settling %.0f virtual s after a %.1f s start\n",
		         (double)sc->settle_us / 1e6, (double)took / 1e6);
		sim_cluster_run_for(R.c, sc->settle_us);
	}

	/* The measured run. */
	R.t0 = sim_cluster_now(R.c);
	struct sim_net *net = sim_cluster_net(R.c);
	sim_net_set_loss(net, sc->loss);
	for (uint32_t i = 0; i < R.n; i++)
		R.base[i] = *sim_net_counters(net, i);
	sim_net_totals(net, &R.prev);
	sim_cluster_set_observer(R.c, observe, &R);
	if (R.health != NULL)
		sim_health_start(R.health);
	uint64_t e0 = sim_engine_fired(sim_cluster_engine(R.c));
	double w1 = sim_wall_seconds();
	if ((rc = play(&R, o)) != 0) {
		snprintf(err, errlen, "the timeline failed (%d)", rc);
		goto fail;
	}
	double w2 = sim_wall_seconds();
	sim_cluster_set_observer(R.c, NULL, NULL);

	/* Wrap up. */
	for (uint32_t i = 0; i < R.n; i++)
		mark_down(&R, i);
	r->node_hours = R.up_us / 3.6e9;
	r->trace = sim_cluster_trace(R.c);
	r->events = sim_engine_fired(sim_cluster_engine(R.c));
	r->end_converged = sim_cluster_converged(R.c);
	traffic(&R);
	if (R.items != NULL && (rc = collect_puts(&R)) != 0)
		goto fail;
	if (R.health != NULL && (rc = collect_health(&R, has_puts(sc))) != 0)
		goto fail;
	if (R.rollout != NULL) {
		if ((rc = sim_rollout_collect(R.rollout, R.t0, &r->roll)) != 0)
			goto fail;
		r->rollout = true;
	}
	struct sim_cluster_stats st;
	sim_cluster_stats(R.c, &st);
	r->verify_hits = st.verify_hits;
	r->verify_misses = st.verify_misses;
	r->stuck_deadlines = st.stuck_deadlines;
	r->swim_errors += st.swim_errors;
	r->perf.run_events = r->events - e0;
	r->perf.wall_run_s = w2 - w1;
	r->perf.events_per_s = w2 > w1 ? (double)r->perf.run_events / (w2 - w1) : 0;
	r->perf.realtime_factor = w2 > w1 ? ((double)sc->duration_us / 1e6) / (w2 - w1) : 0;
	r->perf.peak_rss = sim_peak_rss();
	run_free(&R);
	*out = r;
	return 0;
fail:
	run_free(&R);
	sim_run_result_delete(r);
	return rc;
}

void sim_run_result_delete(struct sim_run_result *r)
{
	if (r == NULL)
		return;
	if (r->fault != NULL)
		for (uint32_t i = 0; i < r->nfaults; i++)
			free(r->fault[i].curve);
	free(r->fault);
	free(r->sample);
	free(r->put);
	free(r->put_catchup);
	sim_rollout_result_free(&r->roll);
	free(r);
}

uint32_t sim_run_fault_stats(const struct sim_run_result *r, int which, struct sim_dist *out)
{
	double *v = malloc(sizeof(double) * (r->nfaults ? r->nfaults : 1));
	uint32_t k = 0;
	memset(out, 0, sizeof(*out));
	if (v == NULL)
		return 0;
	for (uint32_t i = 0; i < r->nfaults; i++) {
		const struct sim_fault *f = &r->fault[i];
		uint64_t t = which == SIM_FAULT_SUSPECT ? f->first_suspect
		             : which == SIM_FAULT_GONE  ? f->first_gone
		                                        : f->agree;
		if (t != UINT64_MAX)
			v[k++] = (double)(t - f->at) / 1e6;
	}
	sim_dist_of(v, k, out);
	free(v);
	return k;
}
