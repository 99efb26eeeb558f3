/*
 * health_score.c - a site's score from its record (docs/health.md, "Score").
 *
 * Four components, 0-100 each, each the worst of its own sub-scores or 100
 * less its penalties; then a weighted mean pulled down towards the worst
 * component, so one red component cannot hide behind three green ones.
 * Curves are piecewise linear through anchor points chosen where an
 * operator would change their mind (5 % loss is already a bad link for
 * SWIM, whose probes then start to time out; a failed intent is worse than
 * a degraded one). Only integers: every node that recomputes a score from
 * the same record gets the same number.
 */
#include "shoal/health.h"

#include <string.h>

/* One anchor of a curve: at input x the sub-score is y. */
struct point {
	int64_t x;
	int64_t y;
};

/* The curve through `pts` (x ascending) at x, flat beyond both ends. */
static int64_t curve(const struct point *pts, size_t n, int64_t x)
{
	if (x <= pts[0].x)
		return pts[0].y;
	for (size_t i = 1; i < n; i++)
		if (x <= pts[i].x)
			return pts[i - 1].y + (pts[i].y - pts[i - 1].y) * (x - pts[i - 1].x) /
			                              (pts[i].x - pts[i - 1].x);
	return pts[n - 1].y;
}

#define CURVE(pts, x) curve((pts), sizeof(pts) / sizeof((pts)[0]), (x))

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static uint8_t clamp100(int64_t v)
{
	return (uint8_t)(v < 0 ? 0 : v > 100 ? 100 : v);
}

/* Probe loss, per mille. */
static const struct point loss_curve[] = {{0, 100},  {10, 90},  {50, 60},
                                          {150, 35}, {300, 10}, {500, 0}};
/* Tail round trip, milliseconds (p99 over every answered probe). */
static const struct point rtt_curve[] = {{50, 100}, {200, 80}, {500, 55}, {1000, 30}, {3000, 0}};

static uint8_t connectivity(const struct health_links *l)
{
	/* Alone in its table and probing no one: nothing is wrong with a
	 * one-site fleet. A site that knows peers but probed none in the
	 * window is cut off (SWIM stops probing peers it holds dead). */
	if (l->known == 0 && l->probed == 0)
		return 100;
	int64_t reach = l->probed == 0 ? 0 : 100 * (int64_t)l->reached / l->probed;
	int64_t loss = CURVE(loss_curve, l->loss_pm);
	int64_t rtt = l->reached == 0 ? 0 : CURVE(rtt_curve, l->rtt_p99_us / 1000);
	return clamp100(min64(reach, min64(loss, rtt)));
}

static uint8_t reliability(const struct health_record *r)
{
	int64_t intents = 0, pods, restarts, fresh_boot;

	for (uint32_t i = 0; i < r->n_intents; i++) {
		if (r->intents[i].state == HEALTH_FAILED)
			intents += 40;
		else if (r->intents[i].state == HEALTH_DEGRADED)
			intents += 20;
	}
	/* Pods that will not get better on their own weigh double those
	 * that may (an image still pulling, a pod waiting for a node). */
	pods = 10 * ((int64_t)r->pods[HEALTH_POD_CRASH_LOOP] + r->pods[HEALTH_POD_OOM_KILLED] +
	             r->pods[HEALTH_POD_CONFIG_ERROR]) +
	       5 * ((int64_t)r->pods[HEALTH_POD_WAITING_IMAGE] + r->pods[HEALTH_POD_UNSCHEDULABLE]);
	restarts = 2 * (int64_t)r->restarts;
	fresh_boot = r->uptime_s < 600 ? 10 : 0;
	return clamp100(100 - min64(intents, 100) - min64(pods, 50) - min64(restarts, 20) -
	                fresh_boot);
}

/* Clock skew against peers, |ms| -> penalty. 5 minutes is the API's bound
 * on an intent's HLC: a site that far off can no longer sign in. */
static const struct point skew_penalty[] = {{500, 0}, {5000, 25}, {60000, 50}, {300000, 80}};

static uint8_t security(const struct health_record *r, const struct health_fleet *fleet)
{
	int64_t skew = r->skew_ms < 0 ? -(int64_t)r->skew_ms : r->skew_ms;
	int64_t s = 100 - CURVE(skew_penalty, skew) - (r->sec.keyring ? 0 : 40);

	/* Caps, not penalties: applying a revoked signer's intents, or
	 * trusting other roots than the fleet, is red whatever else holds. */
	if (fleet != NULL && fleet->roots_known &&
	    memcmp(fleet->roots, r->sec.roots, HEALTH_ROOTS_LEN) != 0)
		s = min64(s, 20);
	if (r->sec.revoked_applied > 0)
		s = min64(s, 10);
	return clamp100(s);
}

/* Use, per mille -> sub-score. A busy CPU is often just work; full memory
 * or disk is what makes pods die. */
static const struct point cpu_curve[] = {{800, 100}, {950, 60}, {1000, 40}};
static const struct point mem_curve[] = {{750, 100}, {900, 60}, {950, 30}, {1000, 0}};
static const struct point disk_curve[] = {{800, 100}, {900, 60}, {950, 30}, {1000, 0}};

static uint8_t performance(const struct health_record *r)
{
	int64_t cpu = CURVE(cpu_curve, r->cpu_pm);
	int64_t mem = CURVE(mem_curve, r->mem_pm);
	int64_t disk = CURVE(disk_curve, r->disk_pm);
	return clamp100(min64(cpu, min64(mem, disk)));
}

void health_score_compute(const struct health_record *r, const struct health_fleet *fleet,
                          struct health_score *out)
{
	out->connectivity = connectivity(&r->links);
	out->reliability = reliability(r);
	out->security = security(r, fleet);
	out->performance = performance(r);

	int64_t mean = (30 * (int64_t)out->connectivity + 30 * (int64_t)out->reliability +
	                20 * (int64_t)out->security + 20 * (int64_t)out->performance + 50) /
	               100;
	int64_t worst = min64(min64(out->connectivity, out->reliability),
	                      min64(out->security, out->performance));
	out->score = clamp100(min64(mean, worst + 25));
}

enum health_band health_band_of(uint8_t score)
{
	if (score > 75)
		return HEALTH_GREEN;
	return score >= 40 ? HEALTH_ORANGE : HEALTH_RED;
}
