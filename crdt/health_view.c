/*
 * health_view.c - how an observer shows a site it holds a record of
 * (docs/health.md, "Staleness").
 *
 * A record says how a site was when it was signed. Once membership holds
 * the site suspect or dead, or no new version has come for three refresh
 * intervals (a refresh is jittered by at most 10 % and travels in seconds,
 * so three intervals without one is not bad luck), the last record no
 * longer vouches for the site: it must not show green (the site may be
 * burning) nor red or failed (an operator would act on a failure that may
 * not exist). Such a site shows as stale or unreachable instead.
 */
#include "shoal/health.h"

enum health_view health_view_of(uint64_t now, uint64_t received, uint64_t refresh_us,
                                bool reachable)
{
	if (!reachable)
		return HEALTH_VIEW_UNREACHABLE;
	/* A clock that stepped back (received in the future) is not stale. */
	if (now > received && now - received > 3 * refresh_us)
		return HEALTH_VIEW_STALE;
	return HEALTH_FRESH;
}

enum health_state health_view_state(enum health_view v, enum health_state held)
{
	/* Whether an intent selects a site is the observer's own judgement
	 * (its selector against membership's labels), not the site's claim. */
	if (held == HEALTH_NOT_SELECTED)
		return held;
	switch (v) {
	case HEALTH_FRESH:
		return held;
	case HEALTH_VIEW_STALE:
		return HEALTH_STALE;
	case HEALTH_VIEW_UNREACHABLE:
		return HEALTH_UNREACHABLE;
	}
	return HEALTH_STALE;
}

int health_view_band(enum health_view v, uint8_t score)
{
	return v == HEALTH_FRESH ? (int)health_band_of(score) : -1;
}
