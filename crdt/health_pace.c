/*
 * health_pace.c - when a site publishes its health record: at once on a
 * meaningful change, else at a slow refresh (docs/health.md, "Publishing").
 *
 * Every publish costs each node of the fleet an announcement relayed
 * mult*log10(N) times and one body pulled, whatever changed; so the
 * question is not how small a record is but how often one goes out. A
 * meaningful change is one an operator would want on the fleet view now
 * (an intent's state, the band, pods); figures that drift (CPU, memory,
 * the score) wait until they have moved far enough. The refresh interval
 * grows with the fleet, so refreshes cost every node a fixed share of the
 * budget at any fleet size.
 */
#include "shoal/health.h"

#include <string.h>

#define SEC_US UINT64_C(1000000)

static bool same_str(struct health_str a, struct health_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, a.len) == 0);
}

static const struct health_intent *find_intent(const struct health_record *r,
                                               const struct health_intent *want)
{
	for (uint32_t i = 0; i < r->n_intents; i++)
		if (r->intents[i].kind == want->kind && same_str(r->intents[i].name, want->name))
			return &r->intents[i];
	return NULL;
}

static bool intents_changed(const struct health_record *prev, const struct health_record *next)
{
	/* Same count and every intent of next found unchanged in prev means
	 * the same set: names are unique within a record. */
	if (prev->n_intents != next->n_intents)
		return true;
	for (uint32_t i = 0; i < next->n_intents; i++) {
		const struct health_intent *was = find_intent(prev, &next->intents[i]);
		if (was == NULL || was->state != next->intents[i].state ||
		    was->version != next->intents[i].version)
			return true;
	}
	return false;
}

static bool alerts_changed(const struct health_record *prev, const struct health_record *next)
{
	if (prev->n_alerts != next->n_alerts)
		return true;
	for (uint32_t i = 0; i < next->n_alerts; i++) {
		bool found = false;
		for (uint32_t j = 0; j < prev->n_alerts && !found; j++)
			found = same_str(prev->alerts[j], next->alerts[i]);
		if (!found)
			return true;
	}
	return false;
}

static bool labels_changed(const struct health_record *prev, const struct health_record *next)
{
	if (!same_str(prev->software, next->software) || prev->n_labels != next->n_labels)
		return true;
	for (uint32_t i = 0; i < next->n_labels; i++) {
		bool found = false;
		for (uint32_t j = 0; j < prev->n_labels && !found; j++)
			found = same_str(prev->labels[j].key, next->labels[i].key) &&
			        same_str(prev->labels[j].value, next->labels[i].value);
		if (!found)
			return true;
	}
	return false;
}

static unsigned moved(uint32_t a, uint32_t b, uint32_t by)
{
	return (a > b ? a - b : b - a) >= by;
}

unsigned health_changes(const struct health_record *prev, const struct health_record *next)
{
	unsigned ch = 0;

	if (intents_changed(prev, next))
		ch |= HEALTH_CH_INTENT;
	if (health_band_of(prev->score.score) != health_band_of(next->score.score))
		ch |= HEALTH_CH_BAND;
	if (moved(prev->score.score, next->score.score, 5))
		ch |= HEALTH_CH_SCORE;
	if (memcmp(prev->pods, next->pods, sizeof(prev->pods)) != 0)
		ch |= HEALTH_CH_PODS;
	if (moved(prev->cpu_pm, next->cpu_pm, 100))
		ch |= HEALTH_CH_CPU;
	if (moved(prev->mem_pm, next->mem_pm, 100))
		ch |= HEALTH_CH_MEM;
	if (alerts_changed(prev, next))
		ch |= HEALTH_CH_ALERTS;
	if (labels_changed(prev, next))
		ch |= HEALTH_CH_LABELS;
	return ch;
}

uint64_t health_refresh_interval(uint32_t sites)
{
	uint64_t us = (uint64_t)sites * SEC_US;
	return us < 60 * SEC_US ? 60 * SEC_US : us;
}

void health_pacer_create(struct health_pacer *p, uint64_t refresh_us)
{
	memset(p, 0, sizeof(*p));
	p->refresh_us = refresh_us;
	p->hold_us = HEALTH_HOLD_US;
}

uint64_t health_pacer_due(const struct health_pacer *p, unsigned changes)
{
	if (p->published == 0)
		return 0; /* nothing out yet: the first record goes at once */
	if (changes != 0) {
		uint64_t held = p->published + p->hold_us;
		return held < p->refresh_at ? held : p->refresh_at;
	}
	return p->refresh_at;
}

void health_pacer_published(struct health_pacer *p, const struct shoal_env *env, uint64_t now)
{
	/* Jitter spreads the refreshes of sites that started together (a
	 * fleet power cycle) instead of letting them arrive as one wave. */
	uint64_t tenth = p->refresh_us / 10;
	uint64_t jitter = tenth == 0 ? 0 : env->prng(env->ctx) % (2 * tenth);
	p->published = now;
	p->refresh_at = now + p->refresh_us - tenth + jitter;
}
