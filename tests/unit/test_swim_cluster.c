/*
 * test_swim_cluster.c - SWIM + Lifeguard behaviour, driven through the
 * simulator: clusters of real swim state machines on a virtual network,
 * in virtual seconds.
 *
 * Timers are memberlist's LAN profile unscaled (swim_config_scale(cfg, 1)):
 * virtual time costs nothing, so the tests run the product's real timers.
 * Every timing bound carries the reason it holds. Seeds are fixed (set
 * SHOAL_SIM_SEED to replay another), so each test is an exact replay.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "shoal/error.h"
#include "shoal/sim.h"

/* ---- helpers --------------------------------------------------------------- */

static uint64_t env_seed; /* SHOAL_SIM_SEED, 0 when unset */
static bool env_seed_set;

static uint64_t seed_for(uint64_t fallback)
{
	return env_seed_set ? env_seed : fallback;
}

static struct sim_cluster *cluster_new(uint32_t n, uint32_t extra, uint64_t seed,
                                       void (*tweak)(struct sim_cluster_config *))
{
	struct sim_cluster_config cfg;
	struct sim_cluster *c;
	sim_cluster_config_defaults(&cfg, n, seed);
	cfg.capacity = n + extra;
	if (tweak != NULL)
		tweak(&cfg);
	assert_int_equal(sim_cluster_new(&c, &cfg), 0);
	return c;
}

static const struct swim_config *lan(void)
{
	static struct swim_config cfg;
	static bool done;
	if (!done) {
		swim_config_defaults(&cfg);
		swim_config_scale(&cfg, 1);
		done = true;
	}
	return &cfg;
}

/* Suspicion bounds from swim.h: min = mult * max(1, log10 n) * probe
 * interval, max = max_mult * min. */
static uint64_t susp_min(uint32_t n)
{
	double f = log10((double)n);
	if (f < 1.0)
		f = 1.0;
	return (uint64_t)((double)lan()->suspicion_mult * f * (double)lan()->probe_interval_us);
}

static uint64_t susp_max(uint32_t n)
{
	return lan()->suspicion_max_mult * susp_min(n);
}

/* Pre-converged start; a healthy LAN of a few dozen nodes settles in well
 * under a virtual minute (two push-pull round trips plus gossip). */
static void converge(struct sim_cluster *c)
{
	uint64_t took;
	int rc = sim_cluster_converge(c, SIM_SEC(60), &took);
	if (rc != 0)
		fail_msg("cluster of %u did not converge in 60 s", sim_cluster_size(c));
}

/* Every node has started (boot spreads starts out) and all agree. */
static bool pred_converged(struct sim_cluster *c, void *ctx)
{
	(void)ctx;
	return sim_cluster_up_count(c) == sim_cluster_size(c) && sim_cluster_converged(c);
}

/* All up nodes but `member` see it in `state` at incarnation >= min_inc. */
struct see {
	uint32_t member;
	enum swim_state state;
	uint32_t min_inc;
};

static bool pred_all_see(struct sim_cluster *c, void *ctx)
{
	const struct see *s = ctx;
	for (uint32_t i = 0; i < sim_cluster_size(c); i++) {
		struct swim_member_info mi;
		if (i == s->member || sim_cluster_state(c, i) != SIM_NODE_UP)
			continue;
		if (sim_cluster_view(c, i, s->member, &mi) != 0 || mi.state != s->state ||
		    mi.incarnation < s->min_inc)
			return false;
	}
	return true;
}

/* Watches swim events of one type about one member, through the cluster's
 * observer hook. */
struct watch {
	struct sim_cluster *c;
	enum swim_event_type type;
	uint32_t member;   /* node index the event must name */
	bool hit;          /* seen at least once */
	uint64_t first_at; /* first time */
	uint32_t first_by; /* observer of the first */
	uint32_t count;    /* how many */
};

static void watch_observer(void *ctx, uint32_t node, uint64_t now, const struct swim_event *ev)
{
	struct watch *w = ctx;
	if (ev->type != w->type || ev->name == NULL ||
	    sim_cluster_find(w->c, ev->name) != w->member)
		return;
	w->count++;
	if (!w->hit) {
		w->hit = true;
		w->first_at = now;
		w->first_by = node;
	}
}

static bool pred_watch_hit(struct sim_cluster *c, void *ctx)
{
	(void)c;
	return ((struct watch *)ctx)->hit;
}

static void watch_on(struct sim_cluster *c, struct watch *w, enum swim_event_type type,
                     uint32_t member)
{
	memset(w, 0, sizeof(*w));
	w->c = c;
	w->type = type;
	w->member = member;
	sim_cluster_set_observer(c, watch_observer, w);
}

/* Earliest logged event of `type` about `member` at any node since `since`. */
static bool first_anywhere(struct sim_cluster *c, uint32_t member, enum swim_event_type type,
                           uint64_t since, uint64_t *at, uint32_t *by)
{
	bool found = false;
	for (uint32_t i = 0; i < sim_cluster_size(c); i++) {
		uint64_t t;
		if (sim_cluster_first_event(c, i, member, type, since, &t) == 0 &&
		    (!found || t < *at)) {
			*at = t;
			if (by != NULL)
				*by = i;
			found = true;
		}
	}
	return found;
}

/* Highest incarnation at which any node logged `member` dead since
 * `since`; false if none did. */
static bool max_dead_incarnation(struct sim_cluster *c, uint32_t member, uint64_t since,
                                 uint32_t *inc)
{
	bool found = false;
	for (uint32_t i = 0; i < sim_cluster_size(c); i++) {
		size_t len;
		const struct sim_log_entry *log = sim_cluster_log(c, i, &len);
		for (size_t k = 0; k < len; k++) {
			if (log[k].type != SWIM_EV_DEAD || log[k].member != member ||
			    log[k].at < since)
				continue;
			if (!found || log[k].incarnation > *inc)
				*inc = log[k].incarnation;
			found = true;
		}
	}
	return found;
}

static double secs(uint64_t us)
{
	return (double)us / 1e6;
}

static void assert_no_events(struct sim_cluster *c, enum swim_event_type type)
{
	uint64_t n = sim_cluster_count_events(c, type, SIM_NO_NODE);
	if (n != 0)
		fail_msg("%llu unexpected %s events", (unsigned long long)n,
		         type == SWIM_EV_SUSPECT ? "SUSPECT"
		         : type == SWIM_EV_DEAD  ? "DEAD"
		                                 : "?");
}

static void assert_harness_clean(struct sim_cluster *c)
{
	struct sim_cluster_stats st;
	sim_cluster_stats(c, &st);
	/* A tick that leaves its own deadline in the past is a core bug. */
	assert_int_equal(st.stuck_deadlines, 0);
	assert_int_equal(st.log_overflow, 0);
}

/* ---- probe / ack ---------------------------------------------------------- */

static void test_probe_ack_three_nodes(void **state)
{
	(void)state;
	struct sim_cluster *c = cluster_new(3, 0, seed_for(101), NULL);
	uint64_t took;

	/* Cold start: node 0 first, the others within 1 s joining it. A join is
	 * one push-pull round trip (~ms) plus gossip of the newcomer (200 ms
	 * rounds), so 10 s is a generous bound. */
	assert_int_equal(sim_cluster_boot(c, SIM_SEC(1)), 0);
	assert_int_equal(sim_cluster_run_until(c, pred_converged, NULL, SIM_SEC(10), &took), 0);
	printf("# 3 nodes converged in %.3f s\n", secs(took));

	uint64_t p0[3];
	for (uint32_t i = 0; i < 3; i++)
		p0[i] = swim_stats(sim_cluster_swim(c, i))->probes;
	sim_cluster_run_for(c, SIM_SEC(60));
	assert_no_events(c, SWIM_EV_SUSPECT);
	assert_no_events(c, SWIM_EV_DEAD);
	assert_true(sim_cluster_converged(c));
	for (uint32_t i = 0; i < 3; i++) {
		const struct swim_stats *st = swim_stats(sim_cluster_swim(c, i));
		const struct sim_net_counters *nc = sim_net_counters(sim_cluster_net(c), i);
		/* One probe per period while healthy (awareness 0): 60 s worth
		 * of periods, give or take the probe in flight at each end. */
		uint64_t periods = SIM_SEC(60) / lan()->probe_interval_us;
		uint64_t probes = st->probes - p0[i];
		assert_true(probes + 2 >= periods && probes <= periods + 1);
		/* Every probe of a healthy peer is acked, bar one in flight. */
		assert_true(st->acks + 1 >= st->probes);
		assert_int_equal(st->indirect_probes, 0);
		assert_int_equal(swim_awareness(sim_cluster_swim(c, i)), 0);
		/* The protocol's own counters agree with the network's. */
		assert_int_equal(st->datagrams_out, nc->dgrams_sent);
		assert_int_equal(st->dgram_bytes_out, nc->dgram_bytes_sent);
		assert_int_equal(st->datagrams_in, nc->dgrams_recv);
		assert_int_equal(st->dgram_bytes_in, nc->dgram_bytes_recv);
		assert_int_equal(st->stream_msgs_out, nc->stream_msgs_sent);
		assert_int_equal(st->stream_bytes_out, nc->stream_bytes_sent);
		assert_int_equal(st->auth_failures, 0);
		assert_int_equal(st->decode_failures, 0);
	}
	assert_harness_clean(c);
	sim_cluster_delete(c);
}

/* A pre-converged start by swim_adopt: everyone knows everyone at once, with
 * no join traffic, and the mesh then runs as a settled one. */
static void test_preconverge_by_adoption(void **state)
{
	(void)state;
	const uint32_t n = 64;
	struct sim_cluster *c = cluster_new(n, 0, seed_for(131), NULL);

	assert_int_equal(sim_cluster_preconverge(c), 0);
	assert_int_equal(sim_cluster_up_count(c), n);
	assert_true(sim_cluster_converged(c));
	struct sim_net_counters tot;
	sim_net_totals(sim_cluster_net(c), &tot);
	assert_int_equal(tot.dgrams_sent + tot.stream_msgs_sent, 0);

	/* Same state a converged join leaves: every member alive at the
	 * incarnation it signed, no suspicion. */
	for (uint32_t i = 0; i < n; i++) {
		struct swim_member_info mi;
		uint32_t counts[4];
		swim_member_counts(sim_cluster_swim(c, i), counts);
		assert_int_equal(counts[SWIM_ALIVE], n);
		assert_int_equal(counts[SWIM_SUSPECT] + counts[SWIM_DEAD] + counts[SWIM_LEFT], 0);
		uint32_t j = (i * 7 + 3) % n;
		assert_int_equal(sim_cluster_view(c, i, j, &mi), 0);
		assert_int_equal(mi.incarnation, swim_incarnation(sim_cluster_swim(c, j)));
	}
	/* Adopting oneself is refused. */
	assert_int_equal(
	        swim_adopt(sim_cluster_swim(c, 0), sim_cluster_now(c), sim_cluster_swim(c, 0)),
	        -EINVAL);

	/* Nothing was queued for gossip: the first seconds carry probes and
	 * acks, about one probe per node per period, not a join storm. */
	uint64_t t0 = sim_cluster_now(c);
	sim_cluster_run_for(c, SIM_SEC(10));
	sim_net_totals(sim_cluster_net(c), &tot);
	double per_node_s = (double)tot.dgrams_sent / n / secs(sim_cluster_now(c) - t0);
	printf("# %u nodes adopted; %.2f datagrams per node per s in the first 10 s\n", n,
	       per_node_s);
	assert_true(per_node_s < 8.0);

	/* Push-pulls are phased over the interval (60 s at 64 members), not
	 * all at once: in its first 10 s about a sixth of the nodes exchanged. */
	uint64_t pp = 0;
	for (uint32_t i = 0; i < n; i++)
		pp += swim_stats(sim_cluster_swim(c, i))->pushpulls;
	assert_true(pp < n / 2);

	sim_cluster_run_for(c, SIM_SEC(50));
	assert_no_events(c, SWIM_EV_SUSPECT);
	assert_no_events(c, SWIM_EV_DEAD);
	assert_true(sim_cluster_converged(c));
	assert_harness_clean(c);
	sim_cluster_delete(c);
}

/* ---- indirect probes ----------------------------------------------------- */

static void test_indirect_probe_around_cut(void **state)
{
	(void)state;
	struct sim_cluster *c = cluster_new(5, 0, seed_for(202), NULL);
	converge(c);
	const uint32_t a = 0, b = 1;
	uint64_t ind0 = swim_stats(sim_cluster_swim(c, a))->indirect_probes;

	/* Only A -> B is cut: A's pings (and A's acks to B) are lost, but
	 * ping-req through the other three reaches B and their relayed acks
	 * reach A, so nobody may be suspected. */
	assert_int_equal(sim_net_cut(sim_cluster_net(c), a, b, true), 0);
	sim_cluster_run_for(c, SIM_SEC(60));

	assert_no_events(c, SWIM_EV_SUSPECT);
	assert_no_events(c, SWIM_EV_DEAD);
	/* A probes B about every 4 periods (round-robin over 4 members), and
	 * each of those needs ping-req: well over 5 in 60 s. */
	uint64_t ind = swim_stats(sim_cluster_swim(c, a))->indirect_probes - ind0;
	printf("# A started %llu indirect probes in 60 s\n", (unsigned long long)ind);
	assert_true(ind >= 5);
	struct see alive_b = {b, SWIM_ALIVE, 0};
	assert_true(pred_all_see(c, &alive_b));
	assert_true(sim_net_counters(sim_cluster_net(c), a)->dropped_blocked > 0);
	assert_harness_clean(c);
	sim_cluster_delete(c);
}

/* ---- suspicion refuted ------------------------------------------------------ */

static void test_suspicion_refuted(void **state)
{
	(void)state;
	const uint32_t n = 5, b = 1;
	struct sim_cluster *c = cluster_new(n, 0, seed_for(303), NULL);
	struct watch mw;
	struct swim_member_info mi;
	uint64_t took;

	converge(c);
	assert_int_equal(sim_cluster_view(c, 0, b, &mi), 0);
	uint32_t inc0 = mi.incarnation;

	/* Cut B off from everyone until someone suspects it. Each of the 4
	 * others probes B once per round of 4 periods, so the first failed
	 * probe ends within 2*(n-1)+1 = 9 s even in the worst shuffle. */
	watch_on(c, &mw, SWIM_EV_SUSPECT, b);
	sim_net_set_group(sim_cluster_net(c), b, 1);
	assert_int_equal(sim_cluster_run_until(c, pred_watch_hit, &mw,
	                                       (2 * (n - 1) + 1) * lan()->probe_interval_us, &took),
	                 0);
	uint64_t suspected_at = mw.first_at;
	sim_net_heal(sim_cluster_net(c));
	sim_cluster_set_observer(c, NULL, NULL);
	printf("# B suspected %.3f s after the cut\n", secs(took));

	/* B hears it is suspected (gossip every 200 ms to 3 of its 4 peers,
	 * and the buddy system in the next ping it gets) and refutes with a
	 * higher incarnation. No suspicion can end before the minimum timeout
	 * (4 s here), so the refutation must be everywhere by then. */
	struct see refuted = {b, SWIM_ALIVE, inc0 + 1};
	uint64_t left = suspected_at + susp_min(n) - sim_cluster_now(c);
	assert_int_equal(sim_cluster_run_until(c, pred_all_see, &refuted, left, &took), 0);
	printf("# refutation everywhere %.3f s after the heal\n", secs(took));
	assert_true(swim_stats(sim_cluster_swim(c, b))->refutations >= 1);
	uint64_t at;
	assert_int_equal(sim_cluster_first_event(c, b, b, SWIM_EV_REFUTED, suspected_at, &at), 0);
	assert_true(sim_cluster_persisted_incarnation(c, b) > inc0);

	/* And nobody declares B dead afterwards. */
	sim_cluster_run_for(c, SIM_SEC(60));
	assert_int_equal(sim_cluster_count_events(c, SWIM_EV_DEAD, b), 0);
	/* While cut off, B itself suspected the members it probed. Its suspect
	 * broadcasts spent their transmits on the partition, and Lifeguard
	 * stretched B's probe period (awareness up after failed probes), so a
	 * member B suspects may not hear of it (buddy ping, gossip, or B's
	 * next push-pull) before B's suspicion timer runs out, and be declared
	 * dead by B, then refute at once. That is SWIM's rule (only the
	 * accused can clear an accusation), so it is reported, not forbidden;
	 * but every such member must end alive everywhere, above the
	 * incarnation it died at. */
	uint64_t others_dead = sim_cluster_count_events(c, SWIM_EV_DEAD, SIM_NO_NODE);
	printf("# DEAD events about members B suspected while cut off: %llu\n",
	       (unsigned long long)others_dead);
	for (uint32_t m = 0; m < n && others_dead > 0; m++) {
		uint32_t dead_inc;
		if (m == b || !max_dead_incarnation(c, m, suspected_at, &dead_inc))
			continue;
		struct see back = {m, SWIM_ALIVE, dead_inc + 1};
		assert_true(pred_all_see(c, &back));
	}
	assert_true(sim_cluster_converged(c));
	assert_harness_clean(c);
	sim_cluster_delete(c);
}

/* ---- suspicion to dead ---------------------------------------------------- */

struct crash_result {
	uint64_t to_suspect; /* crash -> first suspicion anywhere */
	uint64_t to_dead;    /* first suspicion -> first dead anywhere */
	uint64_t all_dead;   /* first suspicion -> everyone holds it dead */
};

static void crash_once(uint64_t seed, uint32_t n, struct crash_result *r)
{
	const uint32_t b = 2;
	struct sim_cluster *c = cluster_new(n, 0, seed, NULL);
	uint64_t took, ts, td;

	converge(c);
	sim_cluster_run_for(c, SIM_SEC(5)); /* settle: joins' gossip drains */
	uint64_t crash = sim_cluster_now(c);
	assert_int_equal(sim_cluster_kill(c, b), 0);

	/* Everyone holds B dead within max suspicion + a few periods after the
	 * worst-case first probe; 2 * max is a loose cap for the run. */
	struct see dead = {b, SWIM_DEAD, 0};
	assert_int_equal(sim_cluster_run_until(c, pred_all_see, &dead, 2 * susp_max(n), &took), 0);
	assert_true(first_anywhere(c, b, SWIM_EV_SUSPECT, crash, &ts, NULL));
	assert_true(first_anywhere(c, b, SWIM_EV_DEAD, crash, &td, NULL));
	r->to_suspect = ts - crash;
	r->to_dead = td - ts;
	r->all_dead = crash + took - ts;
	assert_harness_clean(c);
	sim_cluster_delete(c);
}

static void test_suspicion_to_dead(void **state)
{
	(void)state;
	const uint32_t n = 5;
	const int runs = 8;
	const uint64_t period = lan()->probe_interval_us;
	double mean = 0;

	for (int k = 0; k < runs; k++) {
		struct crash_result r;
		crash_once(seed_for(400) + (uint64_t)k, n, &r);
		printf("# run %d: suspect after %.3f s, dead %.3f s later, all %.3f s\n", k,
		       secs(r.to_suspect), secs(r.to_dead), secs(r.all_dead));
		/* Worst case: a node's two probes of B are at most 2(n-1)-1
		 * periods apart (randomized round-robin), plus the period in
		 * which that probe times out. */
		assert_true(r.to_suspect <= (2 * (n - 1) + 1) * period);
		/* Every suspicion timer is >= min and starts no earlier than the
		 * first suspicion; the first suspecter's is <= max. */
		assert_true(r.to_dead >= susp_min(n));
		assert_true(r.to_dead <= susp_max(n) + period);
		/* Dead news spreads by gossip (200 ms rounds) in a few rounds. */
		assert_true(r.all_dead <= r.to_dead + SIM_SEC(2));
		mean += (double)r.to_suspect / runs;
	}
	/* SWIM: the first probe of a crashed member comes e/(e-1) ~ 1.58
	 * periods after the crash on average, then up to 1 period to time out.
	 * Round-robin only tightens it. Mean under 3 periods. */
	printf("# mean crash -> first suspicion %.3f s\n", secs((uint64_t)mean));
	assert_true(mean <= 3.0 * (double)period);
}

/* ---- Lifeguard: confirmations shorten the timeout ---------------------------- */

struct confirm_probe {
	uint32_t observer, member;
	uint32_t max_confirmations;
};

static bool pred_observer_dead(struct sim_cluster *c, void *ctx)
{
	struct confirm_probe *p = ctx;
	struct swim_member_info mi;
	if (sim_cluster_view(c, p->observer, p->member, &mi) != 0)
		return false;
	if (mi.state == SWIM_SUSPECT && mi.confirmations > p->max_confirmations)
		p->max_confirmations = mi.confirmations;
	return mi.state == SWIM_DEAD;
}

static void lifeguard_off(struct sim_cluster_config *cfg)
{
	cfg->swim.lifeguard_suspicion = false;
}

/* Crash B in a 16-node cluster; at the first node X to suspect it, return
 * the timeout it started with, the confirmations it got, and how long the
 * suspicion lasted. */
static void confirmations_run(bool lifeguard, uint64_t *start_timeout, uint32_t *confirmations,
                              uint64_t *lasted)
{
	const uint32_t n = 16, b = 5;
	struct sim_cluster *c = cluster_new(n, 0, seed_for(505), lifeguard ? NULL : lifeguard_off);
	struct watch mw;
	struct swim_member_info mi;
	uint64_t took;

	converge(c);
	sim_cluster_run_for(c, SIM_SEC(10));
	watch_on(c, &mw, SWIM_EV_SUSPECT, b);
	assert_int_equal(sim_cluster_kill(c, b), 0);
	assert_int_equal(sim_cluster_run_until(c, pred_watch_hit, &mw, SIM_SEC(40), &took), 0);
	uint32_t x = mw.first_by;
	sim_cluster_set_observer(c, NULL, NULL);
	assert_int_equal(sim_cluster_view(c, x, b, &mi), 0);
	assert_int_equal(mi.state, SWIM_SUSPECT);
	*start_timeout = mi.suspect_deadline - mi.since;
	struct confirm_probe p = {x, b, mi.confirmations};
	assert_int_equal(sim_cluster_run_until(c, pred_observer_dead, &p, 2 * susp_max(n), &took),
	                 0);
	uint64_t dead_at;
	assert_int_equal(sim_cluster_first_event(c, x, b, SWIM_EV_DEAD, mw.first_at, &dead_at), 0);
	*confirmations = p.max_confirmations;
	*lasted = dead_at - mw.first_at;
	assert_harness_clean(c);
	sim_cluster_delete(c);
}

static void test_confirmations_shorten_timeout(void **state)
{
	(void)state;
	const uint32_t n = 16;
	uint64_t t_on, t_off, lasted_on, lasted_off;
	uint32_t conf_on, conf_off;
	/* The node counts itself and the dead member may or may not be in n
	 * yet: accept the bounds for n-1 and n. */
	uint64_t min_lo = susp_min(n - 1), min_hi = susp_min(n);
	uint64_t max_lo = susp_max(n - 1), max_hi = susp_max(n);

	confirmations_run(true, &t_on, &conf_on, &lasted_on);
	confirmations_run(false, &t_off, &conf_off, &lasted_off);
	printf("# lifeguard on: started at %.3f s, %u confirmations, dead after %.3f s\n",
	       secs(t_on), conf_on, secs(lasted_on));
	printf("# lifeguard off: started at %.3f s, dead after %.3f s\n", secs(t_off),
	       secs(lasted_off));
	printf("# bounds: min %.3f..%.3f s, max %.3f..%.3f s\n", secs(min_lo), secs(min_hi),
	       secs(max_lo), secs(max_hi));

	/* With no confirmation yet, Lifeguard starts the timer at max. */
	assert_true(t_on >= max_lo && t_on <= max_hi);
	/* Other nodes' own probes of B confirm it (each of 15 probes B about
	 * once per 15 s), so the timer shrinks: dead well before max. */
	assert_true(conf_on >= 1);
	assert_true(lasted_on < max_lo);
	assert_true(lasted_on >= min_lo);
	/* Switched off, the timeout is the fixed minimum. */
	assert_true(t_off >= min_lo && t_off <= min_hi);
	assert_true(lasted_off >= min_lo && lasted_off <= min_hi + SIM_MS(10));
}

/* ---- leave ---------------------------------------------------------------- */

static void test_leave_is_not_death(void **state)
{
	(void)state;
	const uint32_t n = 5, b = 2;
	struct sim_cluster *c = cluster_new(n, 0, seed_for(606), NULL);
	uint64_t took;

	converge(c);
	uint64_t t0 = sim_cluster_now(c);
	uint64_t linger = swim_leave_linger_us(sim_cluster_swim(c, b));
	assert_int_equal(sim_cluster_leave(c, b), 0);
	/* The leaving node stays up for the linger time precisely so its
	 * signed leave reaches everyone before it goes. */
	struct see left = {b, SWIM_LEFT, 0};
	assert_int_equal(sim_cluster_run_until(c, pred_all_see, &left, linger, &took), 0);
	printf("# leave seen everywhere after %.3f s (linger %.3f s)\n", secs(took), secs(linger));

	/* Past the linger the node is gone; run on (inside dead_keep, 60 s,
	 * so the record is still held) and check it stays LEFT, never DEAD. */
	sim_cluster_run_for(c, linger + SIM_SEC(30));
	assert_int_equal(sim_cluster_state(c, b), SIM_NODE_DOWN);
	assert_true(pred_all_see(c, &left));
	assert_int_equal(sim_cluster_count_events(c, SWIM_EV_DEAD, b), 0);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t at;
		if (i == b)
			continue;
		assert_int_equal(sim_cluster_first_event(c, i, b, SWIM_EV_LEFT, t0, &at), 0);
		const struct swim_stats *st = swim_stats(sim_cluster_swim(c, i));
		assert_int_equal(st->deaths, 0);
	}
	assert_harness_clean(c);
	sim_cluster_delete(c);
}

/* ---- restart --------------------------------------------------------------- */

static void test_restart_rejoins_higher_incarnation(void **state)
{
	(void)state;
	const uint32_t n = 5, b = 3;
	struct sim_cluster *c = cluster_new(n, 0, seed_for(707), NULL);
	struct swim_member_info mi;
	uint64_t took;

	converge(c);
	assert_int_equal(sim_cluster_view(c, 0, b, &mi), 0);
	uint32_t inc0 = mi.incarnation;
	uint8_t pk[32];
	sim_cluster_pubkey(c, b, pk);
	assert_memory_equal(mi.pubkey, pk, 32);

	assert_int_equal(sim_cluster_kill(c, b), 0);
	struct see dead = {b, SWIM_DEAD, 0};
	/* Dead everywhere by max suspicion plus detection and spread. */
	assert_int_equal(
	        sim_cluster_run_until(c, pred_all_see, &dead, susp_max(n) + SIM_SEC(15), &took), 0);
	uint64_t dead_at = sim_cluster_now(c);

	uint32_t seed = 0;
	assert_int_equal(sim_cluster_restart(c, b, &seed, 1), 0);
	assert_true(swim_incarnation(sim_cluster_swim(c, b)) > inc0);
	/* The join's push-pull tells node 0 at once; gossip takes it to the
	 * other three within a few 200 ms rounds. */
	struct see back = {b, SWIM_ALIVE, inc0 + 1};
	assert_int_equal(sim_cluster_run_until(c, pred_all_see, &back, SIM_SEC(5), &took), 0);
	printf("# restarted node alive everywhere after %.3f s\n", secs(took));
	for (uint32_t i = 0; i < n; i++) {
		uint64_t at;
		if (i == b)
			continue;
		assert_int_equal(sim_cluster_first_event(c, i, b, SWIM_EV_ALIVE, dead_at, &at), 0);
		assert_int_equal(sim_cluster_view(c, i, b, &mi), 0);
		assert_memory_equal(mi.pubkey, pk, 32); /* same key */
	}
	/* And it sees everyone. */
	sim_cluster_run_for(c, SIM_SEC(5));
	assert_true(sim_cluster_converged(c));
	assert_harness_clean(c);
	sim_cluster_delete(c);
}

/* ---- retransmit limit --------------------------------------------------------- */

#define MARKER "xyzzy-marker-4217"

struct marker_tap {
	struct sim_cluster *c;
	uint64_t count[16];   /* datagrams carrying the marker, per sender */
	uint64_t last_at;     /* last time one was sent */
	uint64_t all[16];     /* all datagrams per sender */
	uint64_t undecodable; /* datagrams the test could not open */
};

static bool contains(const uint8_t *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return true;
	return false;
}

static void marker_tap_fn(void *ctx, uint32_t from, uint32_t to, bool stream, const uint8_t *buf,
                          size_t len)
{
	struct marker_tap *t = ctx;
	uint8_t plain[2048];
	size_t plen;
	(void)to;
	if (stream || from >= 16)
		return;
	t->all[from]++;
	if (len > sizeof(plain) ||
	    shoal_open(sim_cluster_keyring(t->c), buf, len, plain, sizeof(plain), &plen) != 0) {
		t->undecodable++;
		return;
	}
	if (contains(plain, plen, MARKER)) {
		t->count[from]++;
		t->last_at = sim_cluster_now(t->c);
	}
}

static void test_retransmit_limit(void **state)
{
	(void)state;
	const uint32_t n = 12, origin = 3;
	struct sim_cluster *c = cluster_new(n, 0, seed_for(808), NULL);
	static struct marker_tap tap;
	struct swim_member_info mi;
	uint64_t took;

	converge(c);
	/* Let the joins' own broadcasts run out first. */
	sim_cluster_run_for(c, SIM_SEC(30));

	memset(&tap, 0, sizeof(tap));
	tap.c = c;
	sim_net_set_tap(sim_cluster_net(c), marker_tap_fn, &tap);

	/* Idle baseline: with empty broadcast queues gossip sends nothing, so
	 * each node sends only its own ping (1 per period) and acks to the
	 * pings it receives (1 per period on average): ~2 per period. */
	const double per_s = 1e6 / (double)lan()->probe_interval_us;
	sim_cluster_run_for(c, SIM_SEC(10));
	uint64_t idle = 0;
	for (uint32_t i = 0; i < n; i++)
		idle += tap.all[i];
	double rate = (double)idle / n / 10.0;
	printf("# idle datagrams per node per second: %.2f\n", rate);
	assert_true(rate <= 2.5 * per_s);

	assert_int_equal(sim_cluster_view(c, 0, origin, &mi), 0);
	uint32_t inc0 = mi.incarnation;
	struct shoal_label label = {"marker", MARKER};
	uint64_t t0 = sim_cluster_now(c);
	assert_int_equal(sim_cluster_set_labels(c, origin, &label, 1), 0);
	struct see updated = {origin, SWIM_ALIVE, inc0 + 1};
	assert_int_equal(sim_cluster_run_until(c, pred_all_see, &updated, SIM_SEC(10), &took), 0);
	sim_cluster_run_for(c, SIM_SEC(30));

	/* Each node passes an update on at most mult * ceil(log10(n + 1))
	 * times; piggybacked or in gossip, every send is one datagram. */
	uint32_t limit = lan()->retransmit_mult * (uint32_t)ceil(log10((double)n + 1));
	uint64_t total = 0;
	for (uint32_t i = 0; i < n; i++) {
		printf("# node %u sent the update %llu times (limit %u)\n", i,
		       (unsigned long long)tap.count[i], limit);
		assert_true(tap.count[i] <= limit);
		total += tap.count[i];
	}
	/* n-1 nodes had to receive it at least once. */
	assert_true(total >= n - 1);
	assert_int_equal(tap.undecodable, 0);
	/* Queues drain: nothing carries it after the limit's worth of rounds
	 * (limit / gossip_nodes rounds of 200 ms, plus pings: well under 10 s). */
	assert_true(tap.last_at < t0 + SIM_SEC(10));

	/* Back to the idle rate. */
	memset(tap.all, 0, sizeof(tap.all));
	sim_cluster_run_for(c, SIM_SEC(10));
	idle = 0;
	for (uint32_t i = 0; i < n; i++)
		idle += tap.all[i];
	assert_true((double)idle / n / 10.0 <= 2.5 * per_s);
	sim_net_set_tap(sim_cluster_net(c), NULL, NULL);
	assert_harness_clean(c);
	sim_cluster_delete(c);
}

/* ---- wrong key, impersonation ------------------------------------------------- */

static void test_wrong_key_never_admitted(void **state)
{
	(void)state;
	const uint32_t n = 5;
	struct sim_cluster *c = cluster_new(n, 1, seed_for(909), NULL);
	struct shoal_keyring other;
	uint8_t key[32];
	uint32_t x;
	struct swim_member_info mi;

	converge(c);
	assert_int_equal(sim_cluster_add_node(c, &x), 0);
	shoal_keyring_create(&other);
	memset(key, 0x5a, sizeof(key));
	assert_int_equal(shoal_keyring_install(&other, key), 0);
	assert_int_equal(sim_cluster_set_keyring(c, x, &other), 0);
	uint32_t seed = 0;
	assert_int_equal(sim_cluster_start(c, x, &seed, 1), 0);
	sim_cluster_run_for(c, SIM_SEC(60));

	uint64_t auth = 0;
	for (uint32_t i = 0; i < n; i++) {
		int rc = sim_cluster_view(c, i, x, &mi);
		assert_true(rc == SHOAL_E_NOT_FOUND || mi.state != SWIM_ALIVE);
		auth += swim_stats(sim_cluster_swim(c, i))->auth_failures;
		uint32_t counts[4];
		swim_member_counts(sim_cluster_swim(c, i), counts);
		assert_int_equal(counts[SWIM_ALIVE], n);
	}
	printf("# auth failures at the members: %llu\n", (unsigned long long)auth);
	assert_true(auth > 0);
	uint32_t counts[4];
	swim_member_counts(sim_cluster_swim(c, x), counts);
	assert_int_equal(counts[SWIM_ALIVE], 1); /* only itself */
	for (uint32_t i = 0; i < n; i++) {
		uint64_t at;
		assert_int_equal(sim_cluster_first_event(c, i, x, SWIM_EV_ALIVE, 0, &at),
		                 SHOAL_E_NOT_FOUND);
	}
	shoal_keyring_destroy(&other);
	assert_harness_clean(c);
	sim_cluster_delete(c);
}

static void test_impersonation_refused(void **state)
{
	(void)state;
	const uint32_t n = 5, victim = 1;
	struct sim_cluster *c = cluster_new(n, 1, seed_for(1010), NULL);
	struct swim_member_info mi;
	uint32_t x;
	uint8_t pk[32];
	struct shoal_addr addr;

	converge(c);
	sim_cluster_pubkey(c, victim, pk);
	sim_net_addr(victim, &addr);
	assert_int_equal(sim_cluster_add_node(c, &x), 0);
	assert_int_equal(sim_cluster_set_name(c, x, sim_cluster_name(c, victim)), 0);
	assert_int_equal(sim_cluster_set_key_id(c, x, 1000), 0);
	uint32_t seed = 0;
	assert_int_equal(sim_cluster_start(c, x, &seed, 1), 0);
	sim_cluster_run_for(c, SIM_SEC(60));

	uint64_t conflicts = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (i == victim)
			continue;
		assert_int_equal(sim_cluster_view(c, i, victim, &mi), 0);
		assert_int_equal(mi.state, SWIM_ALIVE);
		assert_memory_equal(mi.pubkey, pk, 32);
		assert_true(shoal_addr_equal(&mi.addr, &addr));
		conflicts += swim_stats(sim_cluster_swim(c, i))->name_conflicts;
	}
	printf("# name conflicts at the members: %llu\n", (unsigned long long)conflicts);
	assert_true(conflicts > 0);
	assert_int_equal(sim_cluster_count_events(c, SWIM_EV_DEAD, SIM_NO_NODE), 0);
	assert_harness_clean(c);
	sim_cluster_delete(c);
}

/* ---- join through a seed that is down --------------------------------------- */

static void test_join_retries_dead_seed(void **state)
{
	(void)state;
	struct sim_cluster *c = cluster_new(3, 0, seed_for(1515), NULL);
	uint64_t took;
	uint32_t counts[4];

	/* Node 2's only seed (node 1) is not running: the stream to it fails
	 * (after the net's 1 s connect timeout) and node 2 stays alone. */
	assert_int_equal(sim_cluster_start(c, 0, NULL, 0), 0);
	uint32_t seed = 1;
	assert_int_equal(sim_cluster_start(c, 2, &seed, 1), 0);
	sim_cluster_run_for(c, SIM_SEC(3));
	assert_true(sim_net_counters(sim_cluster_net(c), 2)->stream_errors >= 1);
	swim_member_counts(sim_cluster_swim(c, 2), counts);
	assert_int_equal(counts[SWIM_ALIVE], 1);

	/* The seed comes up. A node that knows nobody retries its seeds every
	 * 5 probe periods (swim.h: "retried ... while we know no other
	 * member"), so within 5 s + the 1 s a failing attempt may still take +
	 * 1 s of gossip, all three know each other. */
	seed = 0;
	assert_int_equal(sim_cluster_start(c, 1, &seed, 1), 0);
	assert_int_equal(sim_cluster_run_until(c, pred_converged, NULL, SIM_SEC(7), &took), 0);
	printf("# joined through the revived seed %.3f s after it started\n", secs(took));
	assert_harness_clean(c);
	sim_cluster_delete(c);
}

/* ---- scale-ish behaviour --------------------------------------------------------- */

static void test_cold_join_30(void **state)
{
	(void)state;
	const uint64_t spread = SIM_SEC(5);
	struct sim_cluster *c = cluster_new(30, 0, seed_for(1111), NULL);
	uint64_t took;

	/* Every node joins node 0 at a random time in the first 5 s. The last
	 * joiner learns everyone from node 0's push-pull answer (one round
	 * trip); earlier ones hear of later ones by gossip, which reaches 30
	 * nodes in about log4(30) + ln(30)/3 ~ 4 rounds of 200 ms. So all
	 * converge within the spread plus a few seconds; 5 s of slack. */
	assert_int_equal(sim_cluster_boot(c, spread), 0);
	assert_int_equal(sim_cluster_run_until(c, pred_converged, NULL, spread + SIM_SEC(5), &took),
	                 0);
	printf("# 30 nodes converged %.3f s after boot began\n", secs(took));
	sim_cluster_run_for(c, SIM_SEC(30));
	assert_true(sim_cluster_converged(c));
	assert_no_events(c, SWIM_EV_SUSPECT);
	assert_harness_clean(c);
	sim_cluster_delete(c);
}

static void test_dissemination_log_n(void **state)
{
	(void)state;
	const uint32_t n = 100, origin = 7;
	struct sim_cluster *c = cluster_new(n, 0, seed_for(1212), NULL);
	struct swim_member_info mi;
	uint64_t took;

	converge(c);
	sim_cluster_run_for(c, SIM_SEC(30)); /* drain the joins' broadcasts */
	assert_int_equal(sim_cluster_view(c, 0, origin, &mi), 0);
	struct shoal_label label = {"zone", "b"};
	assert_int_equal(sim_cluster_set_labels(c, origin, &label, 1), 0);

	/* Push gossip with fanout f = 3 every 200 ms reaches n nodes in about
	 * log_{f+1}(n) + ln(n)/f ~ 5 rounds (Pittel-style bound); allow
	 * 2 * ceil(log2 n) rounds (2.8 s at n = 100) for latency and the
	 * randomness of who has transmits left. */
	uint64_t bound = 2 * (uint64_t)ceil(log2((double)n)) * lan()->gossip_interval_us;
	struct see updated = {origin, SWIM_ALIVE, mi.incarnation + 1};
	assert_int_equal(sim_cluster_run_until(c, pred_all_see, &updated, bound, &took), 0);
	printf("# label change reached all %u nodes in %.3f s (bound %.3f s)\n", n, secs(took),
	       secs(bound));
	assert_harness_clean(c);
	sim_cluster_delete(c);
}

static void lognormal_lan(struct sim_cluster_config *cfg)
{
	/* Median 2 ms, a long tail capped at 200 ms: still far below the
	 * 500 ms probe timeout. */
	cfg->net.latency = (struct sim_latency){
	        .kind = SIM_LAT_LOGNORMAL, .a_us = 2000, .b_us = 200000, .sigma = 0.8};
	cfg->log_mask = SIM_LOG_BIT(SWIM_EV_SUSPECT) | SIM_LOG_BIT(SWIM_EV_DEAD);
}

static void test_no_false_positives(void **state)
{
	(void)state;
	const uint32_t n = 50;
	struct sim_cluster *c = cluster_new(n, 0, seed_for(1313), lognormal_lan);

	converge(c);
	sim_cluster_run_for(c, SIM_SEC(600));
	/* 0 % loss, latencies under the probe timeout, no slow nodes: any
	 * suspicion would be a false positive. */
	assert_no_events(c, SWIM_EV_SUSPECT);
	assert_no_events(c, SWIM_EV_DEAD);
	assert_true(sim_cluster_converged(c));
	struct sim_net_counters tot;
	sim_net_totals(sim_cluster_net(c), &tot);
	printf("# 50 nodes, 600 s: %.1f datagrams and %.0f bytes per node per second\n",
	       (double)tot.dgrams_sent / n / 600.0, (double)tot.dgram_bytes_sent / n / 600.0);
	assert_harness_clean(c);
	sim_cluster_delete(c);
}

/* ---- Lifeguard: a slow node, and lossy links ------------------------------------ */

static void test_slow_node_not_killed(void **state)
{
	(void)state;
	const uint32_t n = 8, slow = 3;
	/* With seed 2, a node that missed a refutation gets the next
	 * suspicion at a newer incarnation while its old timer still runs:
	 * the timer must restart, not carry over (swim_apply_suspect). */
	struct sim_cluster *c = cluster_new(n, 0, seed_for(2), NULL);

	converge(c);
	/* Node 3 handles every packet 1.5 periods late for 30 s (a
	 * CPU-starved process): its acks miss every prober's period, and the
	 * acks it awaits arrive after its own period ends. Others suspect it;
	 * it hears of that 1.5 periods late and refutes, inside the minimum
	 * suspicion timeout (2 periods below 10 members). Its own failed
	 * probes raise its local health multiplier, which stretches its
	 * timeouts until its probes succeed. */
	uint64_t t0 = sim_cluster_now(c);
	sim_net_slow(sim_cluster_net(c), slow, lan()->probe_interval_us * 3 / 2, t0 + SIM_SEC(30));
	sim_cluster_run_for(c, SIM_SEC(15));
	uint32_t aw = swim_awareness(sim_cluster_swim(c, slow));
	sim_cluster_run_for(c, SIM_SEC(15));
	printf("# slow node: awareness %u mid-way, suspected %llu times, refuted %llu\n", aw,
	       (unsigned long long)sim_cluster_count_events(c, SWIM_EV_SUSPECT, slow),
	       (unsigned long long)swim_stats(sim_cluster_swim(c, slow))->refutations);
	assert_true(aw > 0);
	/* After it recovers, each timely ack lowers awareness by one. */
	sim_cluster_run_for(c, SIM_SEC(60));
	assert_int_equal(swim_awareness(sim_cluster_swim(c, slow)), 0);
	assert_no_events(c, SWIM_EV_DEAD);
	assert_true(sim_cluster_converged(c));
	assert_harness_clean(c);
	sim_cluster_delete(c);
}

static void test_lossy_links_refuted(void **state)
{
	(void)state;
	const uint32_t n = 20;
	/* Seed 60 has produced a lone false DEAD, exercising the checks below. */
	struct sim_cluster *c = cluster_new(n, 0, seed_for(60), NULL);

	converge(c);
	/* 10 % iid loss on every datagram. A probe fails only if the direct
	 * round trip fails (p = 0.19) and all 3 indirect paths of 4 packets
	 * fail (0.34^3): ~0.8 % of probes, so suspicions are expected. Each is
	 * refuted once the accused hears of it, which gossip does within a few
	 * 200 ms rounds, far inside the 5.2 s minimum timeout. A member can
	 * still be declared dead by a node that lost every copy of the
	 * refutation sent to it (rare: each copy is lost with p = 0.1), but
	 * the others hold the newer incarnation and ignore that stale DEAD.
	 * So: whoever is declared dead outbids it, and at the end every member
	 * is alive everywhere. */
	uint64_t t0 = sim_cluster_now(c);
	sim_net_set_loss(sim_cluster_net(c), 0.10);
	sim_cluster_run_for(c, SIM_SEC(300));
	uint64_t dead = sim_cluster_count_events(c, SWIM_EV_DEAD, SIM_NO_NODE);
	printf("# 10 %% loss, 300 s, %u nodes: %llu suspicion events, %llu dead events\n", n,
	       (unsigned long long)sim_cluster_count_events(c, SWIM_EV_SUSPECT, SIM_NO_NODE),
	       (unsigned long long)dead);
	for (uint32_t m = 0; m < n && dead > 0; m++) {
		uint32_t dead_inc;
		if (!max_dead_incarnation(c, m, t0, &dead_inc))
			continue;
		/* Nobody but a lone accuser took it: fewer than half the nodes
		 * logged it dead... */
		uint32_t holders = 0;
		for (uint32_t i = 0; i < n; i++) {
			uint64_t at;
			holders += sim_cluster_first_event(c, i, m, SWIM_EV_DEAD, t0, &at) == 0;
		}
		assert_true(holders < n / 2);
		/* ...and the member outbid it: alive everywhere, above the
		 * incarnation it was declared dead at. */
		struct see back = {m, SWIM_ALIVE, dead_inc + 1};
		assert_true(pred_all_see(c, &back));
	}
	sim_net_set_loss(sim_cluster_net(c), 0.0);
	/* Without loss, one push-pull round (30 s) repairs any view that
	 * missed news while the links were lossy. */
	sim_cluster_run_for(c, SIM_SEC(30));
	assert_true(sim_cluster_converged(c));
	assert_harness_clean(c);
	sim_cluster_delete(c);
}

/* ---- determinism --------------------------------------------------------------- */

static uint64_t scenario_trace(uint64_t seed)
{
	struct sim_cluster *c = cluster_new(10, 0, seed, NULL);
	converge(c);
	sim_net_set_loss(sim_cluster_net(c), 0.05);
	sim_cluster_kill(c, 4);
	sim_cluster_run_for(c, SIM_SEC(40));
	uint64_t h = sim_cluster_trace(c);
	sim_cluster_delete(c);
	return h;
}

static void test_same_seed_same_run(void **state)
{
	(void)state;
	uint64_t a = scenario_trace(seed_for(1414));
	uint64_t b = scenario_trace(seed_for(1414));
	uint64_t d = scenario_trace(seed_for(1414) + 1);
	assert_int_equal(a, b);
	assert_int_not_equal(a, d);
}

int main(void)
{
	const char *s = getenv("SHOAL_SIM_SEED");
	if (s != NULL && *s != '\0') {
		env_seed = sim_seed_from_env(0);
		env_seed_set = true;
	} else {
		fprintf(stderr, "sim seeds: fixed per test (set SHOAL_SIM_SEED to override)\n");
	}
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_probe_ack_three_nodes),
	        cmocka_unit_test(test_preconverge_by_adoption),
	        cmocka_unit_test(test_indirect_probe_around_cut),
	        cmocka_unit_test(test_suspicion_refuted),
	        cmocka_unit_test(test_suspicion_to_dead),
	        cmocka_unit_test(test_confirmations_shorten_timeout),
	        cmocka_unit_test(test_leave_is_not_death),
	        cmocka_unit_test(test_restart_rejoins_higher_incarnation),
	        cmocka_unit_test(test_retransmit_limit),
	        cmocka_unit_test(test_wrong_key_never_admitted),
	        cmocka_unit_test(test_impersonation_refused),
	        cmocka_unit_test(test_join_retries_dead_seed),
	        cmocka_unit_test(test_cold_join_30),
	        cmocka_unit_test(test_dissemination_log_n),
	        cmocka_unit_test(test_no_false_positives),
	        cmocka_unit_test(test_slow_node_not_killed),
	        cmocka_unit_test(test_lossy_links_refuted),
	        cmocka_unit_test(test_same_seed_same_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
