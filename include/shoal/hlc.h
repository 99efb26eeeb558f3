/*
 * hlc.h - hybrid logical clock as one uint64.
 *
 *   63                                16 15             0
 *   +-----------------------------------+----------------+
 *   |  wall time, ms since Unix epoch   |  counter       |
 *   +-----------------------------------+----------------+
 *
 * An HLC value is an intent's version: it orders like a number, stays close
 * to wall time (so a horizon and a skew bound can be judged against it), and
 * still increases when the wall clock stalls or steps back. The clock never
 * reads time itself: its driver passes the wall time in (sans-IO), and
 * observed remote values push it forward (Kulkarni et al., "Logical
 * Physical Clocks", 2014, with the physical and logical parts packed into
 * one integer the way CockroachDB's tooling prints them).
 *
 * Thread-safety: a struct shoal_hlc belongs to one thread.
 */
#ifndef SHOAL_HLC_H
#define SHOAL_HLC_H

#include <stdint.h>

#define SHOAL_HLC_COUNTER_BITS 16
#define SHOAL_HLC_COUNTER_MAX  0xffffu
/* 48 bits of milliseconds reach the year 10889. */
#define SHOAL_HLC_MS_MAX ((UINT64_C(1) << 48) - 1)

struct shoal_hlc {
	uint64_t last; /* the largest value issued or observed */
};

static inline uint64_t shoal_hlc_make(uint64_t ms, uint16_t counter)
{
	return (ms & SHOAL_HLC_MS_MAX) << SHOAL_HLC_COUNTER_BITS | counter;
}

static inline uint64_t shoal_hlc_ms(uint64_t hlc)
{
	return hlc >> SHOAL_HLC_COUNTER_BITS;
}

/* Start at zero: the first now() follows the wall clock. */
void shoal_hlc_create(struct shoal_hlc *c);

/* A fresh value, larger than every value issued or observed so far:
 * max(wall_ms << 16, last + 1). */
uint64_t shoal_hlc_now(struct shoal_hlc *c, uint64_t wall_ms);

/* Take in a value seen from elsewhere (an intent's version), so the next
 * now() is after it. Values from the API are bounded by the skew check
 * before they get here, so a wild remote clock cannot drag this one far. */
void shoal_hlc_observe(struct shoal_hlc *c, uint64_t remote);

#endif
